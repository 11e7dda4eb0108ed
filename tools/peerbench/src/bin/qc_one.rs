//! `qc_one`: run one engine over the feed once, with nothing else timed or measured, for
//! instruction counting under callgrind.
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect='*measure::run*' \
//!     target/release/qc_one ferrex
//! ```
//! Total `Ir` of the collected loop ÷ the printed message count = instructions per message.
//! `--msgs N` runs only the first N messages (0: build the engine and stop, for a baseline).

use anyhow::bail;
use clap::Parser;
use peerbench::adapter::{Adapter, BookSizing};
use peerbench::measure::run;
use peerbench::{Feed, default_feed_path};
use std::hint::black_box;
use std::path::PathBuf;

/// Runs one engine over the feed once (for `valgrind --tool=callgrind`).
#[derive(Parser, Debug)]
#[command(name = "qc_one")]
struct Args {
    /// Engine: ferrex, lobster or orderbook-rs.
    #[arg(default_value = "ferrex")]
    engine: String,
    /// Feed file. Default: the shipped `tests/data/qc_orders.csv`.
    #[arg(long)]
    feed: Option<PathBuf>,
    /// Replay the feed this many times back to back.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Leave out the cancels whose target order was not issued yet (no-ops in every engine).
    #[arg(long)]
    skip_unissued_cancels: bool,
    /// Run only the first N messages.
    #[arg(long)]
    msgs: Option<usize>,
}

fn go<A: Adapter>(feed: &Feed, n: usize) -> (u64, u64) {
    let mut engine = A::new(BookSizing::of(feed));
    run(&mut engine, black_box(&feed.msgs[..n]));
    engine.resting_qty()
}

fn main() -> std::process::ExitCode {
    match run_main(Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qc_one: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_main(args: Args) -> anyhow::Result<()> {
    let path = args.feed.unwrap_or_else(default_feed_path);
    let mut feed = Feed::load_repeated(&path, args.repeat)?;
    if args.skip_unissued_cancels {
        feed = feed.without_unissued_cancels();
    }
    let n = args.msgs.unwrap_or(feed.msgs.len()).min(feed.msgs.len());
    let (bid, ask) = match args.engine.as_str() {
        #[cfg(feature = "ferrex")]
        "ferrex" => go::<peerbench::ferrex::Ferrex>(&feed, n),
        "lobster" => go::<peerbench::lobster::Lobster>(&feed, n),
        "orderbook-rs" => go::<peerbench::orderbook_rs::OrderbookRs>(&feed, n),
        other => bail!("unknown engine `{other}`"),
    };
    println!(
        "engine {} messages {} final_bid_qty {} final_ask_qty {}",
        args.engine, n, bid, ask
    );
    Ok(())
}
