//! `ferrex`: the command-line tool of the ferrex matching and risk engine.
//!
//! With no subcommand it runs `ferrex demo` on the bundled data.

mod bench;
mod benchout;
mod config;
mod demo;
mod flow;
mod journal;
mod journal_load;
mod loadgen;
mod md_capture;
mod memory;
mod output;
mod paths;
mod plot;
mod quantcup;
mod replay;
mod riskcfg;
mod run;
mod serve;
mod simulate;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// ferrex: low-latency matching and pre-trade risk engine.
#[derive(Parser, Debug)]
#[command(name = "ferrex", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// The main job: replay the bundled data through the engine and print a summary.
    Demo(demo::DemoArgs),
    /// Network order entry: OUCH 5.0 (SoupBinTCP) and FIX 4.4 servers in front of the engine.
    Serve(serve::ServeArgs),
    /// Capture the ITCH 5.0 / MoldUDP64 market-data feed of `ferrex serve` into an ITCH file.
    MdCapture(md_capture::MdCaptureArgs),
    /// Open-loop OUCH/FIX load generator: wire-to-wire latency percentiles and throughput.
    Loadgen(loadgen::LoadgenArgs),
    /// Order->ack latency through the threaded pipeline, beside the core-to-core floor.
    Bench(bench::BenchArgs),
    /// Bytes per resting order and peak RSS with 1,000,000 resting orders.
    Memory(memory::MemoryArgs),
    /// Replay a CSV script of commands through the engine and print every event.
    Run {
        /// The command script (CSV with a header; see README).
        #[arg(long)]
        commands: PathBuf,
        /// One JSON object per event instead of text.
        #[arg(long)]
        json: bool,
        /// Instrument configuration (TOML). Without it every instrument named in the script
        /// exists with tick size 1 and lot size 1.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Also print market-data level changes.
        #[arg(long)]
        levels: bool,
        /// Record the sequenced commands into a new journal directory.
        #[arg(long)]
        journal: Option<PathBuf>,
        /// With `--journal`: also write an engine snapshot (`snapshot-<seq>.snap`, next to the
        /// journal) every N commands; `ferrex recover` starts from the latest good one.
        #[arg(long, value_name = "N")]
        snapshot_every: Option<u64>,
        /// Apply the pre-trade risk layer with this config (TOML). Its `[[instruments]] id = k`
        /// is the k-th instrument: `--config` order, else order of first appearance in the script.
        #[arg(long)]
        risk_config: Option<PathBuf>,
    },
    /// Replay captured market data (ITCH 5.0, LOBSTER, Binance depth) and verify the books.
    #[command(subcommand)]
    Replay(replay::ReplayCmd),
    /// Simulate a parent order on replayed market data and measure its execution cost.
    Simulate(simulate::SimulateArgs),
    /// Run every execution algorithm on the same parent order, side by side.
    CompareAlgos(simulate::SimulateArgs),
    /// Rebuild the engine from the latest good snapshot and the journal after it (torn tail
    /// truncated and reported) and print the final sequence number and state hash.
    Recover {
        /// The journal directory.
        #[arg(long)]
        journal: PathBuf,
        #[command(flatten)]
        engine: journal::ReplayEngineArgs,
    },
    /// Journal tools.
    #[command(subcommand)]
    Journal(JournalCmd),
    /// Run the threaded runtime with a journal under load, printing each acknowledged order
    /// id (used by the crash test).
    #[command(hide = true)]
    JournalLoad(journal_load::JournalLoadArgs),
    /// Validate a risk config and print the limits it would apply.
    RiskCheck {
        /// The risk config (TOML).
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum JournalCmd {
    /// Replay a journal from scratch and from its latest snapshot and compare the event-stream
    /// and state hashes (exit non-zero on a mismatch).
    Verify {
        /// The journal directory.
        dir: PathBuf,
        #[command(flatten)]
        engine: journal::ReplayEngineArgs,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => demo::run(&demo::DemoArgs::default()),
        Some(Cmd::Demo(args)) => demo::run(&args),
        Some(Cmd::Serve(args)) => serve::run(&args),
        Some(Cmd::Loadgen(args)) => loadgen::run(&args),
        Some(Cmd::MdCapture(args)) => md_capture::run(&args),
        Some(Cmd::Bench(args)) => bench::run(&args),
        Some(Cmd::Memory(args)) => memory::run(&args),
        Some(Cmd::Run {
            commands,
            json,
            config,
            levels,
            risk_config,
            journal,
            snapshot_every,
        }) => run::run(
            &commands,
            config.as_deref(),
            risk_config.as_deref(),
            json,
            levels,
            journal.as_deref(),
            snapshot_every,
        ),
        Some(Cmd::Recover { journal, engine }) => journal::recover(&journal, &engine),
        Some(Cmd::Journal(JournalCmd::Verify { dir, engine })) => journal::verify(&dir, &engine),
        Some(Cmd::RiskCheck { config }) => riskcfg::check(&config),
        Some(Cmd::JournalLoad(args)) => journal_load::run(&args),
        Some(Cmd::Replay(cmd)) => replay::run(&cmd),
        Some(Cmd::Simulate(args)) => simulate::run(&args),
        Some(Cmd::CompareAlgos(args)) => simulate::compare_algos(&args),
    }
}
