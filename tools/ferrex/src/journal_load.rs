//! `ferrex journal-load` (hidden; used by the crash test): runs the threaded runtime with a
//! journal under closed-loop load and prints, for every `Accepted` event the session receives
//! (in `sync` mode: only once the release gate let it through, i.e. once its command is
//! fdatasync'ed), one line `<order_id> <cmd_seq>`, flushing stdout after each batch of events.
//!
//! A process killed at any point has therefore printed only orders whose commands are in the
//! journal. The engine is the one `ferrex recover --journal DIR` rebuilds by default (one
//! instrument, default book configuration, no level events), so the journal recovers with it.

use crate::bench::DurabilityArg;
use crate::flow::{self, Mix};
use anyhow::{Context, bail};
use clap::Args;
use ferrex_engine::{JournalConfig, Runtime, RuntimeConfig, Session, SubmitError};
use ferrex_types::{AccountId, Event, EventKind, InstrumentId, OrderId, Qty};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Options of `ferrex journal-load`.
#[derive(Args, Debug, Clone)]
pub struct JournalLoadArgs {
    /// The journal directory (new or empty).
    #[arg(long)]
    pub journal: PathBuf,
    /// Durability mode of the journal.
    #[arg(long, value_enum, default_value = "sync")]
    pub durability: DurabilityArg,
    /// Commands to send (generated in chunks of 50,000); the default runs for many seconds.
    #[arg(long, default_value_t = 20_000_000)]
    pub orders: usize,
    /// Seed of the generated flow.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// The engine thread takes a snapshot every N commands, written next to the journal
    /// (0 = none).
    #[arg(long, default_value_t = 0)]
    pub snapshot_every: u64,
}

const CHUNK: usize = 50_000;
const SUBMIT: usize = 256;

fn blank() -> Event {
    Event {
        seq: 0,
        cmd_seq: 0,
        time: 0,
        kind: EventKind::Expired {
            order_id: OrderId(0),
            account: AccountId(0),
            instrument: InstrumentId(0),
            qty: Qty(0),
            side: ferrex_types::Side::Buy,
            price: ferrex_types::Price(0),
        },
    }
}

/// Reads every released event; prints the accepted ones and flushes. Returns the highest
/// `cmd_seq` seen.
fn drain(s: &mut Session, out: &mut impl Write, buf: &mut [Event]) -> anyhow::Result<u64> {
    let mut hi = 0;
    loop {
        let n = s.poll_batch(buf);
        if n == 0 {
            return Ok(hi);
        }
        for e in &buf[..n] {
            hi = hi.max(e.cmd_seq);
            if let EventKind::Accepted { order_id, .. } = e.kind {
                writeln!(out, "{} {}", order_id.0, e.cmd_seq)?;
            }
        }
        out.flush().context("writing to stdout")?;
    }
}

/// `ferrex journal-load`.
pub fn run(args: &JournalLoadArgs) -> anyhow::Result<()> {
    if args.orders == 0 {
        bail!("--orders must be at least 1");
    }
    let engine = crate::run::build_engine(None, 1, None, false)?;
    let cfg = RuntimeConfig {
        engine_core: None,
        ring_capacity: 1 << 12,
        md_capacity: 0,
        batch: SUBMIT,
        max_accounts: 1 << 10,
        journal: Some(
            JournalConfig::new(&args.journal, args.durability.mode())
                .with_snapshot_every(args.snapshot_every),
        ),
    };
    let (rt, mut sessions, _md) = Runtime::start(engine, 1, &cfg)
        .with_context(|| format!("journal {}", args.journal.display()))?;
    let s = &mut sessions[0];
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut buf = vec![blank(); 1024];
    let mut sent = 0usize;
    let mut seen = 0u64;
    let mut chunk_no = 0u64;
    while sent < args.orders {
        let n = (args.orders - sent).min(CHUNK);
        let cmds = flow::generate(
            n,
            args.seed.wrapping_add(chunk_no),
            1 + sent as u64,
            1,
            Mix::default(),
        );
        chunk_no += 1;
        let mut rest = &cmds[..];
        while !rest.is_empty() {
            let k = s.submit_batch(&rest[..rest.len().min(SUBMIT)]);
            rest = &rest[k..];
            seen = seen.max(drain(s, &mut out, &mut buf)?);
            if k == 0 {
                match s.submit(rest[0]) {
                    Ok(()) => rest = &rest[1..],
                    Err(SubmitError::Full(_)) => std::thread::yield_now(),
                    Err(SubmitError::EngineGone(_)) => bail!("engine thread stopped"),
                }
            }
        }
        sent += n;
    }
    // Every command gives its sender at least one event: wait for the last one's.
    let t0 = Instant::now();
    while seen < args.orders as u64 {
        seen = seen.max(drain(s, &mut out, &mut buf)?);
        if t0.elapsed() > Duration::from_secs(60) {
            bail!("no event for command {} after 60 s", args.orders);
        }
        std::thread::yield_now();
    }
    drop(sessions);
    let (engine, report) = rt.stop();
    let j = report.journal.unwrap_or_default();
    if let Some(e) = &j.error {
        bail!("journal thread failed: {e}");
    }
    eprintln!(
        "ferrex journal-load: {} commands, journal {} records in {} batches ({} fdatasync), state hash {:016x}",
        report.commands,
        j.records,
        j.batches,
        j.syncs,
        engine.state_hash()
    );
    if let Some(sn) = &report.snapshots {
        eprintln!(
            "snapshots: {} written, {} skipped, {} failed, last seq {}, max pause {} ns",
            sn.written, sn.skipped, sn.failed, sn.last_seq, sn.max_pause_ns
        );
    }
    Ok(())
}
