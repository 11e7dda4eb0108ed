//! `ferrex demo`: the main job. Replays the bundled data through the engine and prints what
//! happened and how fast.

use crate::paths;
use crate::quantcup;
use clap::Args;
use ferrex_book::BookConfig;
use ferrex_engine::{Engine, EngineConfig};
use ferrex_types::{CountingSink, HashingSink, InstrumentId, Side};
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
    let mut per_msg = Vec::with_capacity(passes);
    for _ in 0..passes {
        let mut e = qc_engine();
        let mut s = CountingSink::default();
        let t = Instant::now();
        e.process_all(&cmds, &mut s);
        let dt = t.elapsed();
        std::hint::black_box(&s);
        per_msg.push(dt.as_nanos() as f64 / cmds.len() as f64);
    }
    per_msg.sort_by(f64::total_cmp);
    println!(
        "   speed: {:.1} ns/message (median of {passes} passes; min {:.1}, max {:.1})",
        per_msg[passes / 2],
        per_msg[0],
        per_msg[passes - 1]
    );
    Ok(())
}
