//! `ferrex demo`: the main job. Replays the bundled data through the engine and prints what
//! happened and how fast.

use crate::paths;
use crate::quantcup;
use clap::Args;
use ferrex_book::BookConfig;
use ferrex_engine::{Engine, EngineConfig};
use ferrex_types::{
    CountingSink, Event, EventKind, EventSink, HashingSink, InstrumentId, RejectReason, Side,
};
use std::path::PathBuf;
use std::time::Instant;

/// Options of `ferrex demo`.
#[derive(Args, Debug, Default)]
pub struct DemoArgs {
    /// The QuantCup feed (default: the bundled tests/data/qc_orders.csv).
    #[arg(long)]
    pub quantcup: Option<PathBuf>,
    /// Timed passes over the feed (the median is reported).
    #[arg(long, default_value_t = 0)]
    pub passes: usize,
    /// Risk config for section 2 (default: the bundled config/quantcup-risk.toml).
    #[arg(long)]
    pub risk_config: Option<PathBuf>,
}

/// Counts rejects by reason code (and everything `CountingSink` counts).
struct RejectTally {
    counts: CountingSink,
    by_reason: [u64; 64],
    state_changes: u64,
}

impl EventSink for RejectTally {
    fn on_event(&mut self, ev: &Event) {
        self.counts.on_event(ev);
        match ev.kind {
            EventKind::Rejected { reason, .. } => self.by_reason[reason as usize & 63] += 1,
            EventKind::AccountState { .. } | EventKind::InstrumentState { .. } => {
                self.state_changes += 1
            }
            _ => {}
        }
    }
}

fn reason_name(code: usize) -> &'static str {
    u8::try_from(code)
        .ok()
        .and_then(RejectReason::from_code)
        .map_or("?", |r| r.as_str())
}

/// ns/message of `passes` timed passes (fresh prefaulted engine each, construction untimed),
/// sorted ascending.
fn timed_passes(
    mut make: impl FnMut() -> Engine,
    cmds: &[ferrex_types::Command],
    passes: usize,
) -> Vec<f64> {
    let mut v = Vec::with_capacity(passes);
    for _ in 0..passes {
        let mut e = make();
        e.prefault();
        let mut s = CountingSink::default();
        let t = Instant::now();
        e.process_all(cmds, &mut s);
        let dt = t.elapsed();
        std::hint::black_box(&s);
        v.push(dt.as_nanos() as f64 / cmds.len() as f64);
    }
    v.sort_by(f64::total_cmp);
    v
}

fn median_ns_per_msg(
    make: impl FnMut() -> Engine,
    cmds: &[ferrex_types::Command],
    passes: usize,
) -> f64 {
    let v = timed_passes(make, cmds, passes);
    v[v.len() / 2]
}

fn qc_engine() -> Engine {
    Engine::new(EngineConfig::single(BookConfig {
        max_orders: 1 << 16,
        dense_levels: 4096,
        level_events: false,
        ..BookConfig::default()
    }))
    .expect("static demo config is valid")
}

/// Run the demo.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let path = args
        .quantcup
        .clone()
        .unwrap_or_else(|| paths::bundled("qc_orders.csv"));
    let cmds = quantcup::load(&path)?;
    println!("ferrex demo");
    println!("===========");
    println!();
    println!("1. QuantCup order feed through the matching engine");
    println!("   feed: {} ({} messages)", path.display(), cmds.len());

    // One pass with a hashing sink for the summary.
    let mut engine = qc_engine();
    let mut sink = HashingSink::new(CountingSink::default());
    engine.process_all(&cmds, &mut sink);
    let c = sink.inner;
    let book = engine.book(InstrumentId(0)).expect("instrument 0");
    let side_total = |s: Side| {
        let mut q = 0u64;
        let mut n = 0u32;
        book.for_each_level(s, |l| {
            q += l.qty.0;
            n += l.orders;
        });
        (q, n)
    };
    let fmt_level = |s: Side| {
        match s {
            Side::Buy => book.best_bid(),
            Side::Sell => book.best_ask(),
        }
        .and_then(|p| book.level(s, p))
        .map_or("empty".to_string(), |l| {
            format!("{} x {} ({} orders)", l.price, l.qty, l.orders)
        })
    };
    println!(
        "   events {}  trades {}  volume {} lots  rejects {} (cancels of unknown ids)  cancels {}",
        c.events, c.trades, c.volume, c.rejects, c.cancels
    );
    println!(
        "   best bid {}   best ask {}",
        fmt_level(Side::Buy),
        fmt_level(Side::Sell)
    );
    let (bq, bn) = side_total(Side::Buy);
    let (aq, an) = side_total(Side::Sell);
    println!("   resting: bids {bq} lots in {bn} orders, asks {aq} lots in {an} orders");
    println!(
        "   event-stream hash {:016x}, state hash {:016x}",
        sink.hash(),
        engine.state_hash()
    );

    // Timed passes: fresh engine each pass, construction outside the timing.
    let passes = if args.passes == 0 { 25 } else { args.passes };
    let per_msg = timed_passes(qc_engine, &cmds, passes);
    println!(
        "   speed: {:.1} ns/message (median of {passes} passes; min {:.1}, max {:.1})",
        per_msg[passes / 2],
        per_msg[0],
        per_msg[passes - 1]
    );
    risk_section(args, &cmds, passes)?;
    lobster_section()?;
    exec_section()?;
    Ok(())
}

/// Section 4: every execution algorithm on the same parent order on the AMZN day.
fn exec_section() -> anyhow::Result<()> {
    #[derive(clap::Parser)]
    struct Wrap {
        #[command(flatten)]
        a: crate::simulate::SimulateArgs,
    }
    use clap::Parser;
    let m = paths::bundled("AMZN_2012-06-21_34200000_57600000_message_1.csv");
    let m = m.to_string_lossy().into_owned();
    println!();
    println!(
        "4. Execution risk: buy 2,000 AMZN over 10 minutes from 10:00, 50 us order-entry latency,"
    );
    println!("   taker 0.3 bps, maker rebate 0.2 bps: every algorithm on the same replayed market");
    let w = Wrap::try_parse_from([
        "demo",
        "--data",
        m.as_str(),
        "--side",
        "buy",
        "--qty",
        "2000",
        "--horizon",
        "10m",
        "--start",
        "10:00:00",
        "--latency",
        "50us",
        "--taker-bps",
        "0.3",
        "--maker-bps",
        "-0.2",
    ])?;
    crate::simulate::compare_algos(&w.a)
}

fn lobster_section() -> anyhow::Result<()> {
    let m = paths::bundled("AMZN_2012-06-21_34200000_57600000_message_1.csv");
    let o = paths::bundled("AMZN_2012-06-21_34200000_57600000_orderbook_1.csv");
    println!();
    println!("3. LOBSTER replay: AMZN 2012-06-21, full day, level 1, verified after every message");
    let s = crate::replay::lobster_summary(&m, &o, None)?;
    crate::replay::print_lobster(&s);
    Ok(())
}

fn risk_section(
    args: &DemoArgs,
    cmds: &[ferrex_types::Command],
    passes: usize,
) -> anyhow::Result<()> {
    let path = args
        .risk_config
        .clone()
        .unwrap_or_else(|| paths::workspace_root().join("config/quantcup-risk.toml"));
    let (cfg, risk) = crate::riskcfg::load(&path)?;
    println!();
    println!("2. The same feed through the pre-trade risk layer");
    println!("   risk config: {}", path.display());
    let book_cfg = || BookConfig {
        max_orders: 1 << 16,
        dense_levels: 4096,
        level_events: false,
        ..BookConfig::default()
    };
    let mut engine = Engine::with_risk(EngineConfig::single(book_cfg()), risk)?;
    let mut tally = RejectTally {
        counts: CountingSink::default(),
        by_reason: [0; 64],
        state_changes: 0,
    };
    engine.process_all(cmds, &mut tally);
    let c = tally.counts;
    println!(
        "   events {}  trades {}  volume {} lots  rejects {}  risk state changes {}",
        c.events, c.trades, c.volume, c.rejects, tally.state_changes
    );
    let mut reasons: Vec<(usize, u64)> = tally
        .by_reason
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (i, *n))
        .collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    println!("   rejects by reason:");
    for (code, n) in reasons {
        println!("     {:<22} {n:>7}", reason_name(code));
    }
    let with = median_ns_per_msg(
        || {
            let r = ferrex_risk::Risk::new(&cfg).expect("validated above");
            Engine::with_risk(EngineConfig::single(book_cfg()), r).expect("valid")
        },
        cmds,
        passes,
    );
    let without = median_ns_per_msg(
        || Engine::new(EngineConfig::single(book_cfg())).expect("valid"),
        cmds,
        passes,
    );
    println!(
        "   speed: {with:.1} ns/message with every risk control on, {without:.1} without (median of {passes} passes each)"
    );
    Ok(())
}
