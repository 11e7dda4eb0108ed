//! The QuantCup order feed (`trader_id,side,price,qty`; price 0 = cancel order number `qty`)
//! as engine commands.

use anyhow::{Context, bail};
use ferrex_types::*;
use std::path::Path;

/// Parse the feed into commands for instrument 0; trader t is account t + 1 (account 0 is the
/// anonymous account). Orders are numbered 1, 2, … in file order
/// (cancel rows take no number); a cancel names the order by number and uses its owner's account
/// (the feed's trader id on cancel rows is noise). No self-trade prevention: the contest has none.
/// Times are the row index (ns).
pub fn load(path: &Path) -> anyhow::Result<Vec<Command>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Parse feed text (see [`load`]).
pub fn parse(text: &str) -> anyhow::Result<Vec<Command>> {
    let mut cmds = Vec::new();
    let mut owners: Vec<(AccountId, Side)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if i == 0 && line.starts_with("trader_id") {
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 4 {
            bail!(
                "line {lineno}: expected 4 fields trader_id,side,price,qty, got {}",
                f.len()
            );
        }
        let trader: u32 = f[0]
            .trim_start_matches('T')
            .parse::<u32>()
            .ok()
            .and_then(|t| t.checked_add(1))
            .with_context(|| format!("line {lineno}: trader_id `{}`", f[0]))?;
        let side = match f[1] {
            "Bid" | "bid" | "0" => Side::Buy,
            "Ask" | "ask" | "1" => Side::Sell,
            s => bail!("line {lineno}: side `{s}` is not Bid|Ask"),
        };
        let price: i64 = f[2]
            .parse()
            .with_context(|| format!("line {lineno}: price `{}`", f[2]))?;
        let qty: u64 = f[3]
            .parse()
            .with_context(|| format!("line {lineno}: qty `{}`", f[3]))?;
        let time = lineno as u64;
        if price == 0 {
            let (account, _) = owners
                .get((qty as usize).wrapping_sub(1))
                .copied()
                .unwrap_or((AccountId(trader), side));
            cmds.push(Command::new(
                time,
                CommandKind::Cancel(CancelOrder {
                    order_id: OrderId(qty),
                    account,
                    instrument: InstrumentId(0),
                }),
            ));
        } else {
            owners.push((AccountId(trader), side));
            cmds.push(Command::new(
                time,
                CommandKind::New(NewOrder {
                    order_id: OrderId(owners.len() as u64),
                    price: Price(price),
                    qty: Qty(qty),
                    account: AccountId(trader),
                    side,
                    stp: StpMode::None,
                    ..NewOrder::default()
                }),
            ));
        }
    }
    Ok(cmds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_orders_and_maps_cancels_to_owner() {
        let cmds =
            parse("trader_id,side,price,qty\n3,Bid,4800,100\n5,Ask,0,1\n4,Ask,4801,200\n").unwrap();
        assert_eq!(cmds.len(), 3);
        match cmds[1].kind {
            CommandKind::Cancel(c) => {
                assert_eq!(c.order_id, OrderId(1));
                assert_eq!(c.account, AccountId(4));
            }
            k => panic!("{k:?}"),
        }
        match cmds[2].kind {
            CommandKind::New(o) => assert_eq!(
                (o.order_id, o.side, o.price),
                (OrderId(2), Side::Sell, Price(4801))
            ),
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn bad_rows_name_the_line() {
        let e = parse("trader_id,side,price,qty\n1,Up,1,1\n").unwrap_err();
        assert!(format!("{e:#}").contains("line 2"));
    }
}
