//! `ferrex run --commands FILE.csv`: replay a command script through the engine and print every
//! event.
//!
//! The CSV has a header naming at least these columns (empty where unused; extra columns are
//! allowed and ignored; lines starting with `#` are comments):
//! `action,time,account,instrument,order_id,side,type,tif,price,qty,display_qty,stop_price,expire_time,stp`
//!
//! - `action`: `new | cancel | modify | mass_cancel` (risk actions: `kill`, `set_state`,
//!   `set_limit`, `set_ref`, `reset_mmp`, with the optional columns `state`, `limit`, `value`)
//! - `side`: `buy | sell`; `type`: `limit | market | stop | stop_limit` (default limit);
//!   `tif`: `gtc | ioc | fok | gtd | post_only` (default gtc);
//!   `stp`: `cancel_resting | cancel_aggressor | cancel_both | decrement | none`
//!   (default cancel_resting); optional `flags`: `reduce_only`, `mmp` (joined with `|`)
//! - prices in ticks, quantities in lots, `time` in engine nanoseconds (non-decreasing).
//!
//! An invalid line is reported on stderr with its line number and the run goes on.
//!
//! With `--journal DIR` the sequenced commands are recorded (see `journal.rs`); with
//! `--snapshot-every N` as well, an engine snapshot is written next to them every N commands.

use crate::config;
use crate::output::{EventFormat, print_event};
use anyhow::{Context, anyhow, bail};
use ferrex_book::BookConfig;
use ferrex_engine::{Engine, EngineConfig};
use ferrex_types::*;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// Column positions found in the header.
struct Columns {
    idx: HashMap<String, usize>,
}

impl Columns {
    fn get<'r>(&self, rec: &'r csv::StringRecord, name: &str) -> &'r str {
        self.idx
            .get(name)
            .and_then(|&i| rec.get(i))
            .map(str::trim)
            .unwrap_or("")
    }
}

/// Maps instrument names to ids.
pub struct Names {
    fixed: bool,
    names: Vec<String>,
}

impl Names {
    fn id(&mut self, name: &str) -> anyhow::Result<InstrumentId> {
        if name.is_empty() {
            bail!("instrument: missing");
        }
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return Ok(InstrumentId(i as u32));
        }
        if self.fixed {
            bail!("instrument: `{name}` is not in the config");
        }
        self.names.push(name.to_string());
        Ok(InstrumentId(self.names.len() as u32 - 1))
    }
    /// The name of an instrument id.
    pub fn name(&self, id: InstrumentId) -> &str {
        self.names.get(id.0 as usize).map_or("?", |s| s.as_str())
    }
}

fn num<T: std::str::FromStr>(
    cols: &Columns,
    rec: &csv::StringRecord,
    name: &str,
) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    let s = cols.get(rec, name);
    if s.is_empty() {
        bail!("{name}: missing");
    }
    s.parse::<T>().map_err(|e| anyhow!("{name}: `{s}`: {e}"))
}

fn opt_num<T: std::str::FromStr + Default>(
    cols: &Columns,
    rec: &csv::StringRecord,
    name: &str,
) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    if cols.get(rec, name).is_empty() {
        Ok(T::default())
    } else {
        num(cols, rec, name)
    }
}

fn side(s: &str) -> anyhow::Result<Side> {
    match s.to_ascii_lowercase().as_str() {
        "buy" | "b" => Ok(Side::Buy),
        "sell" | "s" => Ok(Side::Sell),
        "" => bail!("side: missing"),
        o => bail!("side: `{o}` is not buy|sell"),
    }
}

fn ord_type(s: &str) -> anyhow::Result<OrdType> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "" | "limit" => OrdType::Limit,
        "market" => OrdType::Market,
        "stop" => OrdType::Stop,
        "stop_limit" => OrdType::StopLimit,
        o => bail!("type: `{o}` is not limit|market|stop|stop_limit"),
    })
}

fn tif(s: &str) -> anyhow::Result<TimeInForce> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "" | "gtc" => TimeInForce::Gtc,
        "ioc" => TimeInForce::Ioc,
        "fok" => TimeInForce::Fok,
        "gtd" => TimeInForce::Gtd,
        "post_only" => TimeInForce::PostOnly,
        o => bail!("tif: `{o}` is not gtc|ioc|fok|gtd|post_only"),
    })
}

fn stp(s: &str) -> anyhow::Result<StpMode> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "" | "cancel_resting" => StpMode::CancelResting,
        "cancel_aggressor" => StpMode::CancelAggressor,
        "cancel_both" => StpMode::CancelBoth,
        "decrement" | "decrement_and_cancel" => StpMode::DecrementAndCancel,
        "none" => StpMode::None,
        o => bail!("stp: `{o}` is not cancel_resting|cancel_aggressor|cancel_both|decrement|none"),
    })
}

fn flags(s: &str) -> anyhow::Result<OrderFlags> {
    let mut f = OrderFlags::NONE;
    for part in s.split('|').map(str::trim).filter(|p| !p.is_empty()) {
        f = f.with(match part.to_ascii_lowercase().as_str() {
            "reduce_only" => OrderFlags::REDUCE_ONLY,
            "mmp" => OrderFlags::MMP,
            o => bail!("flags: `{o}` is not reduce_only|mmp"),
        });
    }
    Ok(f)
}

fn trading_state(s: &str) -> anyhow::Result<TradingState> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "active" => TradingState::Active,
        "reducing" => TradingState::Reducing,
        "halted" => TradingState::Halted,
        o => bail!("state: `{o}` is not active|reducing|halted"),
    })
}

fn limit_kind(s: &str) -> anyhow::Result<LimitKind> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "max_order_qty" => LimitKind::MaxOrderQty,
        "max_order_notional" => LimitKind::MaxOrderNotional,
        "credit_limit" => LimitKind::CreditLimit,
        "max_long" => LimitKind::MaxLong,
        "max_short" => LimitKind::MaxShort,
        "max_open_orders" => LimitKind::MaxOpenOrders,
        "throttle_rate" => LimitKind::ThrottleRate,
        "price_band" => LimitKind::PriceBand,
        "max_open_orders_per_instrument" => LimitKind::MaxOpenOrdersPerInstrument,
        o => bail!(
            "limit: `{o}` is not max_order_qty|max_order_notional|credit_limit|max_long|max_short|max_open_orders|max_open_orders_per_instrument|throttle_rate|price_band"
        ),
    })
}

/// Parse one CSV record into a command.
fn parse_record(
    cols: &Columns,
    rec: &csv::StringRecord,
    names: &mut Names,
) -> anyhow::Result<Command> {
    let action = cols.get(rec, "action").to_ascii_lowercase();
    let time: u64 = num(cols, rec, "time")?;
    let account = || -> anyhow::Result<AccountId> { Ok(AccountId(num(cols, rec, "account")?)) };
    let order_id = || -> anyhow::Result<OrderId> { Ok(OrderId(num(cols, rec, "order_id")?)) };
    let kind = match action.as_str() {
        "new" => {
            let ord_type = ord_type(cols.get(rec, "type"))?;
            let tif = tif(cols.get(rec, "tif"))?;
            let needs_price = matches!(ord_type, OrdType::Limit | OrdType::StopLimit);
            let needs_stop = matches!(ord_type, OrdType::Stop | OrdType::StopLimit);
            CommandKind::New(NewOrder {
                order_id: order_id()?,
                account: account()?,
                instrument: names.id(cols.get(rec, "instrument"))?,
                side: side(cols.get(rec, "side"))?,
                ord_type,
                tif,
                price: Price(if needs_price {
                    num(cols, rec, "price")?
                } else {
                    opt_num(cols, rec, "price")?
                }),
                stop_price: Price(if needs_stop {
                    num(cols, rec, "stop_price")?
                } else {
                    opt_num(cols, rec, "stop_price")?
                }),
                qty: Qty(num(cols, rec, "qty")?),
                display_qty: Qty(opt_num(cols, rec, "display_qty")?),
                expire_time: if tif == TimeInForce::Gtd {
                    num(cols, rec, "expire_time")?
                } else {
                    opt_num(cols, rec, "expire_time")?
                },
                stp: stp(cols.get(rec, "stp"))?,
                stp_group: opt_num(cols, rec, "stp_group")?,
                flags: flags(cols.get(rec, "flags"))?,
            })
        }
        "cancel" => CommandKind::Cancel(CancelOrder {
            order_id: order_id()?,
            account: account()?,
            instrument: names.id(cols.get(rec, "instrument"))?,
        }),
        "modify" => CommandKind::Modify(ModifyOrder {
            order_id: order_id()?,
            account: account()?,
            instrument: names.id(cols.get(rec, "instrument"))?,
            price: Price(num(cols, rec, "price")?),
            qty: Qty(num(cols, rec, "qty")?),
        }),
        "mass_cancel" => CommandKind::MassCancel(MassCancel {
            account: account()?,
            instrument: match cols.get(rec, "instrument") {
                "" => None,
                n => Some(names.id(n)?),
            },
        }),
        "kill" => CommandKind::Risk(RiskControl::Kill {
            account: account()?,
        }),
        "reset_mmp" => CommandKind::Risk(RiskControl::ResetMmp {
            account: account()?,
        }),
        "set_state" => {
            let state = trading_state(cols.get(rec, "state"))?;
            if cols.get(rec, "account").is_empty() {
                CommandKind::Risk(RiskControl::SetInstrumentState {
                    instrument: names.id(cols.get(rec, "instrument"))?,
                    state,
                })
            } else {
                CommandKind::Risk(RiskControl::SetAccountState {
                    account: account()?,
                    state,
                })
            }
        }
        "set_limit" => CommandKind::Risk(RiskControl::SetLimit(SetLimit {
            kind: limit_kind(cols.get(rec, "limit"))?,
            value: num(cols, rec, "value")?,
            account: AccountId(opt_num(cols, rec, "account")?),
            instrument: match cols.get(rec, "instrument") {
                "" => InstrumentId(0),
                n => names.id(n)?,
            },
        })),
        "set_ref" => CommandKind::Risk(RiskControl::SetReferencePrice {
            instrument: names.id(cols.get(rec, "instrument"))?,
            price: Price(num(cols, rec, "price")?),
        }),
        "" => bail!("action: missing"),
        o => bail!(
            "action: `{o}` is not new|cancel|modify|mass_cancel|kill|set_state|set_limit|set_ref|reset_mmp"
        ),
    };
    Ok(Command::new(time, kind))
}

/// A parsed script: the commands with their line numbers, and the invalid lines.
pub struct Script {
    /// (line number, command)
    pub commands: Vec<(u64, Command)>,
    /// (line number, message)
    pub errors: Vec<(u64, String)>,
    /// Instrument names.
    pub names: Names,
}

/// Parse a script. `known` fixes the instrument names (from a config); otherwise names are
/// created in order of first appearance.
pub fn parse_script(text: &str, known: Option<Vec<String>>) -> anyhow::Result<Script> {
    let mut names = Names {
        fixed: known.is_some(),
        names: known.unwrap_or_default(),
    };
    // Comment and blank lines become a lone comma (an all-empty record, skipped below): the
    // reader does not count lines it skips, and line numbers must stay exact.
    let text: String = text
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with('#') || t.is_empty() {
                ","
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr.headers().context("reading the CSV header")?.clone();
    let idx: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
        .collect();
    for required in ["action", "time"] {
        if !idx.contains_key(required) {
            bail!(
                "CSV header: missing column `{required}` (header: {:?})",
                headers
            );
        }
    }
    let cols = Columns { idx };
    let mut commands = Vec::new();
    let mut errors = Vec::new();
    let mut last_time = 0u64;
    for rec in rdr.records() {
        match rec {
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push((line, e.to_string()));
            }
            Ok(rec) => {
                let line = rec.position().map_or(0, |p| p.line());
                if rec.iter().all(str::is_empty) {
                    continue;
                }
                match parse_record(&cols, &rec, &mut names) {
                    Ok(c) if c.time < last_time => errors.push((
                        line,
                        format!("time: {} is before the previous line's {last_time}", c.time),
                    )),
                    Ok(c) => {
                        last_time = c.time;
                        commands.push((line, c));
                    }
                    Err(e) => errors.push((line, e.to_string())),
                }
            }
        }
    }
    Ok(Script {
        commands,
        errors,
        names,
    })
}

/// The engine `ferrex run` (and `ferrex recover`) builds: the instruments of `--config`, else
/// `n_instruments` books with tick 1 and lot 1; the risk layer with `--risk-config`.
pub fn build_engine(
    instruments: Option<&config::Instruments>,
    n_instruments: usize,
    risk_config: Option<&Path>,
    levels: bool,
) -> anyhow::Result<Engine> {
    let mut books: Vec<BookConfig> = match instruments {
        Some(i) => i.books.clone(),
        None => vec![
            BookConfig {
                level_events: false,
                max_orders: 1 << 16,
                dense_levels: 4096,
                ..BookConfig::default()
            };
            n_instruments.max(1)
        ],
    };
    for b in &mut books {
        b.level_events = levels;
    }
    let cfg = EngineConfig { instruments: books };
    Ok(match risk_config {
        Some(p) => Engine::with_risk(cfg, crate::riskcfg::load(p)?.1)?,
        None => Engine::new(cfg)?,
    })
}

/// `ferrex run`.
pub fn run(
    path: &Path,
    config: Option<&Path>,
    risk_config: Option<&Path>,
    json: bool,
    levels: bool,
    journal: Option<&Path>,
    snapshot_every: Option<u64>,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let instruments = config.map(config::load).transpose()?;
    let script = parse_script(&text, instruments.as_ref().map(|i| i.names.clone()))?;
    let mut engine = build_engine(
        instruments.as_ref(),
        script.names.names.len(),
        risk_config,
        levels,
    )?;
    if snapshot_every.is_some() && journal.is_none() {
        bail!("--snapshot-every needs --journal DIR (snapshots are written next to the journal)");
    }
    let mut journal = journal
        .map(|d| crate::journal::Recorder::create(d, snapshot_every))
        .transpose()?;
    let mut hash = ferrex_types::HashingSink::new(());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let fmt = if json {
        EventFormat::Json
    } else {
        EventFormat::Text
    };
    let mut errors = script.errors.iter().peekable();
    let mut events: Vec<Event> = Vec::with_capacity(64);
    for (line, cmd) in &script.commands {
        while let Some((eline, msg)) = errors.next_if(|(l, _)| l < line) {
            out.flush()?;
            eprintln!("{}: line {eline}: {msg}", path.display());
        }
        events.clear();
        engine.process(cmd, &mut events);
        if let Some(j) = journal.as_mut() {
            j.record(engine.cmd_seq(), cmd)?;
            j.after_command(&engine)?;
        }
        for e in &events {
            hash.on_event(e);
            print_event(&mut out, e, &script.names, fmt)?;
        }
    }
    if let Some(j) = journal {
        let (n, snaps) = j.finish()?;
        eprintln!(
            "journal: {n} commands, last seq {}, event-stream hash {:016x}, state hash {:016x}",
            engine.cmd_seq(),
            hash.hash(),
            engine.state_hash()
        );
        if snaps.count > 0 {
            eprintln!(
                "snapshots: {} written, last at seq {} ({} bytes); longest engine copy {} us",
                snaps.count, snaps.last_seq, snaps.last_bytes, snaps.max_copy_us
            );
        }
    }
    out.flush()?;
    for (eline, msg) in errors {
        eprintln!("{}: line {eline}: {msg}", path.display());
    }
    if !script.errors.is_empty() {
        eprintln!(
            "{}: {} invalid line(s) skipped, {} command(s) run",
            path.display(),
            script.errors.len(),
            script.commands.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HDR: &str = "action,time,account,instrument,order_id,side,type,tif,price,qty,display_qty,stop_price,expire_time,stp\n";

    #[test]
    fn parses_every_action_and_reports_bad_lines() {
        let text = format!(
            "{HDR}new,1,1,X,1,buy,limit,gtc,100,10,,,,\n\
             new,2,2,X,2,sell,market,ioc,,5,,,,none\n\
             bogus,3,1,X,3,buy,,,100,1,,,,\n\
             cancel,4,1,X,1,,,,,,,,,\n\
             modify,5,1,X,1,,,,101,5,,,,\n\
             new,6,1,Y,7,sell,stop_limit,gtd,99,10,,98,100,cancel_both\n\
             mass_cancel,7,1,,,,,,,,,,,\n\
             new,3,1,X,9,buy,limit,gtc,100,10,,,,\n\
             # a comment line\n\
             new,8,1,X,10,sell,limit,gtc,,1,,,,\n"
        );
        let s = parse_script(&text, None).unwrap();
        assert_eq!(s.commands.len(), 6);
        assert_eq!(s.errors.len(), 3);
        assert_eq!(s.errors[2].0, 11, "{:?}", s.errors);
        assert_eq!(s.errors[0].0, 4, "{:?}", s.errors);
        assert!(s.errors[0].1.contains("action"));
        assert_eq!(s.errors[1].0, 9);
        assert!(s.errors[1].1.contains("before"));
        assert_eq!(s.names.names, vec!["X".to_string(), "Y".to_string()]);
        match s.commands[4].1.kind {
            CommandKind::New(o) => {
                assert_eq!(o.instrument, InstrumentId(1));
                assert_eq!(o.ord_type, OrdType::StopLimit);
                assert_eq!(o.tif, TimeInForce::Gtd);
                assert_eq!(
                    (o.price, o.stop_price, o.expire_time),
                    (Price(99), Price(98), 100)
                );
                assert_eq!(o.stp, StpMode::CancelBoth);
            }
            k => panic!("{k:?}"),
        }
        assert!(matches!(
            s.commands[5].1.kind,
            CommandKind::MassCancel(MassCancel {
                account: AccountId(1),
                instrument: None
            })
        ));
    }

    #[test]
    fn missing_fields_name_the_column() {
        let text =
            format!("{HDR}new,1,1,X,1,buy,limit,gtc,,10,,,,\nnew,1,1,X,1,up,limit,gtc,5,10,,,,\n");
        let s = parse_script(&text, None).unwrap();
        assert!(s.errors[0].1.contains("price: missing"), "{:?}", s.errors);
        assert!(s.errors[1].1.contains("side"), "{:?}", s.errors);
    }

    #[test]
    fn fixed_names_refuse_unknown_instruments() {
        let text = format!("{HDR}new,1,1,Z,1,buy,limit,gtc,100,10,,,,\n");
        let s = parse_script(&text, Some(vec!["X".into()])).unwrap();
        assert!(s.errors[0].1.contains("not in the config"));
    }
}
