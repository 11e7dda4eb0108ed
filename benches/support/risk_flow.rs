//! The mixed risk-cost stream shared by `benches/risk.rs` (criterion) and
//! `crates/engine/examples/risk_cost.rs` (callgrind), so both measure the same commands.

use ferrex_types::{
    AccountId, CancelOrder, Command, CommandKind, InstrumentId, NewOrder, OrderId, Price, Qty,
    Side, StpMode, TimeInForce,
};

/// `n` commands for accounts 1..=8 on instrument 0 around price 10,000 (1/100 ticks = 100.00):
/// 35% cancels of live orders, 55% passive adds, 10% marketable IOCs; seeded, reproducible.
pub fn stream(n: usize) -> Vec<Command> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut live: Vec<(u64, u32)> = Vec::with_capacity(1024);
    let mut out = Vec::with_capacity(n);
    let mut id = 1u64;
    for t in 0..n as u64 {
        let r = next() % 100;
        let account = 1 + (next() % 8) as u32;
        let kind = if r < 35 && !live.is_empty() {
            let (oid, acct) = live.swap_remove((next() % live.len() as u64) as usize);
            CommandKind::Cancel(CancelOrder {
                order_id: OrderId(oid),
                account: AccountId(acct),
                instrument: InstrumentId(0),
            })
        } else {
            let side = if next() % 2 == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let marketable = r >= 90;
            let off = if marketable {
                -3
            } else {
                1 + (next() % 10) as i64
            };
            let price = match side {
                Side::Buy => 10_000 - off,
                Side::Sell => 10_000 + off,
            };
            if !marketable {
                if live.len() == 1024 {
                    live.swap_remove(0);
                }
                live.push((id, account));
            }
            id += 1;
            CommandKind::New(NewOrder {
                order_id: OrderId(id - 1),
                account: AccountId(account),
                side,
                price: Price(price),
                qty: Qty(1 + next() % 20),
                tif: if marketable {
                    TimeInForce::Ioc
                } else {
                    TimeInForce::Gtc
                },
                stp: StpMode::None,
                ..NewOrder::default()
            })
        };
        out.push(Command::new(t * 1_000, kind));
    }
    out
}
