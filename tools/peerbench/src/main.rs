//! `peerbench`: replay one order feed through ferrex, `lobster` 0.7.0 and `orderbook-rs` 0.15.3
//! in one run and print, per engine, ns per message (median of several passes), per-message
//! latency percentiles and the final resting quantity, and whether the final books agree.
//!
//! ```text
//! cargo run -p peerbench --release -- [--feed FILE] [--passes 7] [--repeat 1] [--json]
//! ```
//!
//! Instructions per message (the noise-free figure on shared VMs): `tools/peerbench/callgrind.sh
//! [ENGINE ...]` runs the `qc_one` binary (one engine, one pass, nothing else) under
//! `valgrind --tool=callgrind --toggle-collect='*measure::run*'` and divides the collected `Ir`
//! by the message count.

use anyhow::{Context, bail};
use clap::Parser;
use peerbench::measure::{Bench, BenchOf, EngineResult, measure_all};
use peerbench::{Feed, default_feed_path};
use serde::Serialize;
use std::path::PathBuf;

/// Replays one order feed through ferrex and peer Rust order books, side by side.
#[derive(Parser, Debug)]
#[command(name = "peerbench", version)]
struct Args {
    /// Feed file (QuantCup CSV: `trader_id,side,price,qty`; price 0 = cancel order number `qty`).
    /// Default: the copy shipped in the repository, `tests/data/qc_orders.csv`.
    #[arg(long)]
    feed: Option<PathBuf>,
    /// Timed passes per engine; ns/msg is their median. Each pass uses a fresh engine.
    #[arg(long, default_value_t = 7)]
    passes: usize,
    /// Replay the feed this many times back to back (fresh order ids per copy).
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Engines to run, comma separated (ferrex, lobster, orderbook-rs).
    #[arg(long, value_delimiter = ',', default_values_t = default_engines())]
    engines: Vec<String>,
    /// Leave out the cancels whose target order was not issued yet (no-ops in every engine).
    /// By default they are sent, as in the original feed.
    #[arg(long)]
    skip_unissued_cancels: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

fn default_engines() -> Vec<String> {
    let mut v = Vec::new();
    if cfg!(feature = "ferrex") {
        v.push("ferrex".to_string());
    }
    v.push("lobster".to_string());
    v.push("orderbook-rs".to_string());
    v
}

fn engine(name: &str) -> anyhow::Result<Box<dyn Bench>> {
    Ok(match name {
        #[cfg(feature = "ferrex")]
        "ferrex" => Box::new(BenchOf::<peerbench::ferrex::Ferrex>::default()),
        "lobster" => Box::new(BenchOf::<peerbench::lobster::Lobster>::default()),
        "orderbook-rs" => Box::new(BenchOf::<peerbench::orderbook_rs::OrderbookRs>::default()),
        other => bail!(
            "unknown engine `{other}` (known: {})",
            default_engines().join(", ")
        ),
    })
}

#[derive(Serialize)]
struct JsonOut<'a> {
    feed_messages: usize,
    books_agree: bool,
    engines: Vec<JsonEngine<'a>>,
}

#[derive(Serialize)]
struct JsonEngine<'a> {
    name: &'a str,
    ns_per_msg: f64,
    p50_ns: f64,
    p99_ns: f64,
    p999_ns: f64,
    final_bid_qty: u64,
    final_ask_qty: u64,
}

/// All engines end with the same resting bid and ask quantity and the same price levels.
fn books_agree(results: &[EngineResult]) -> bool {
    results.windows(2).all(|w| w[0].levels == w[1].levels)
}

fn main() -> std::process::ExitCode {
    match run_main(Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peerbench: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_main(args: Args) -> anyhow::Result<()> {
    if args.passes == 0 {
        bail!("--passes must be at least 1");
    }
    let path = args.feed.clone().unwrap_or_else(default_feed_path);
    let mut feed = Feed::load_repeated(&path, args.repeat)?;
    if args.skip_unissued_cancels {
        feed = feed.without_unissued_cancels();
    }
    let engines = args
        .engines
        .iter()
        .map(|n| engine(n.trim()))
        .collect::<anyhow::Result<Vec<_>>>()
        .context("--engines")?;
    if engines.is_empty() {
        bail!("--engines: no engine selected");
    }

    let (results, overhead) = measure_all(&feed, &engines, args.passes);
    let agree = books_agree(&results);

    if args.json {
        let out = json_out(feed.msgs.len(), &results);
        println!("{}", serde_json::to_string(&out)?);
        return Ok(());
    }

    let (limits, cancels) = feed.counts();
    println!(
        "feed {}: {} messages ({} limit orders, {} cancels of which {} target an order already \
         issued), repeat {}, {} timed passes per engine",
        path.canonicalize().unwrap_or(path.clone()).display(),
        feed.msgs.len(),
        limits,
        cancels,
        feed.issued_cancels(),
        args.repeat,
        args.passes
    );
    let base = results.first().map(|r| r.ns_per_msg).unwrap_or(1.0);
    println!(
        "{:<13} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8} {:>12} {:>12} {:>8}",
        "engine",
        "ns/msg",
        "min",
        "max",
        "p50 ns",
        "p99 ns",
        "p99.9 ns",
        "bid qty",
        "ask qty",
        "vs first"
    );
    for r in &results {
        let (bid, ask) = r.levels.totals();
        let min = r
            .pass_ns_per_msg
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let max = r.pass_ns_per_msg.iter().copied().fold(0.0, f64::max);
        println!(
            "{:<13} {:>9.2} {:>9.2} {:>9.2} {:>8} {:>8} {:>8} {:>12} {:>12} {:>7.2}x",
            r.name,
            r.ns_per_msg,
            min,
            max,
            r.p50_ns,
            r.p99_ns,
            r.p999_ns,
            bid,
            ask,
            r.ns_per_msg / base
        );
    }
    println!(
        "ns/msg: median of {} passes (fresh engine each, construction not timed). Latency: one \
         extra pass, Instant::now() around each message, timer overhead {} ns (mean of \
         back-to-back pairs) subtracted from each sample.",
        args.passes, overhead
    );
    println!(
        "books agree: {} (final resting bid/ask quantity and every price level)",
        agree
    );
    if !agree {
        for r in &results {
            println!(
                "  {}: {} bid levels, {} ask levels; best bid {:?}, best ask {:?}",
                r.name,
                r.levels.bids.len(),
                r.levels.asks.len(),
                r.levels.bids.first(),
                r.levels.asks.first()
            );
        }
    }
    Ok(())
}

/// The `--json` object.
fn json_out(feed_messages: usize, results: &[EngineResult]) -> JsonOut<'_> {
    JsonOut {
        feed_messages,
        books_agree: books_agree(results),
        engines: results
            .iter()
            .map(|r| {
                let (bid, ask) = r.levels.totals();
                JsonEngine {
                    name: r.name,
                    ns_per_msg: round2(r.ns_per_msg),
                    p50_ns: r.p50_ns,
                    p99_ns: r.p99_ns,
                    p999_ns: r.p999_ns,
                    final_bid_qty: bid,
                    final_ask_qty: ask,
                }
            })
            .collect(),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerbench::Levels;

    fn result(name: &'static str, bids: Vec<(u64, u64)>, asks: Vec<(u64, u64)>) -> EngineResult {
        EngineResult {
            name,
            pass_ns_per_msg: vec![10.0, 12.0, 11.0],
            ns_per_msg: 11.0,
            p50_ns: 9.0,
            p99_ns: 40.0,
            p999_ns: 90.0,
            levels: Levels { bids, asks },
        }
    }

    #[test]
    fn json_has_the_documented_shape() {
        let r = vec![
            result("ferrex", vec![(4800, 5)], vec![(4801, 7)]),
            result("lobster", vec![(4800, 5)], vec![(4801, 7)]),
        ];
        let s = serde_json::to_string(&json_out(3, &r)).unwrap();
        assert_eq!(
            s,
            r#"{"feed_messages":3,"books_agree":true,"engines":[{"name":"ferrex","ns_per_msg":11.0,"p50_ns":9.0,"p99_ns":40.0,"p999_ns":90.0,"final_bid_qty":5,"final_ask_qty":7},{"name":"lobster","ns_per_msg":11.0,"p50_ns":9.0,"p99_ns":40.0,"p999_ns":90.0,"final_bid_qty":5,"final_ask_qty":7}]}"#
        );
    }

    #[test]
    fn books_agree_compares_levels_not_only_totals() {
        let a = result("a", vec![(4800, 5), (4799, 5)], vec![]);
        let b = result("b", vec![(4800, 10)], vec![]);
        assert_eq!(a.levels.totals(), b.levels.totals());
        assert!(!books_agree(&[a.clone(), b]));
        assert!(books_agree(&[a.clone(), a]));
    }
}
