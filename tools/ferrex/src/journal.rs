//! Journal commands of the CLI: `ferrex run --journal DIR` records the sequenced commands;
//! `ferrex recover --journal DIR` rebuilds the engine from them; `ferrex journal verify DIR`
//! replays twice and compares the event-stream and state hashes.
//!
//! The journal holds commands only: recovery must be given the same `--config`,
//! `--risk-config` and `--levels` as the recorded run (without `--config`, one default book per
//! instrument id seen in the journal). Snapshots are not built yet, so recovery replays from the
//! first command.

use crate::config;
use anyhow::{Context, bail};
use ferrex_engine::Engine;
use ferrex_journal::{Durability, JournalEntry, JournalWriter, WriterConfig, open_dir};
use ferrex_types::{Command, CommandKind, CountingSink, HashingSink, RiskControl};
use std::path::Path;

/// Records sequenced commands into a new journal directory, in batches (group commit).
pub struct Recorder {
    writer: JournalWriter,
    batch: Vec<JournalEntry>,
    written: u64,
}

impl Recorder {
    /// Start a journal in `dir`, which must not hold one already.
    pub fn create(dir: &Path) -> anyhow::Result<Recorder> {
        let existing = open_dir(dir).with_context(|| format!("journal {}", dir.display()))?;
        if let Some(last) = existing.last_seq {
            bail!(
                "journal {}: already holds commands up to seq {last}; use a new directory",
                dir.display()
            );
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let writer = JournalWriter::open(
            dir,
            1,
            WriterConfig {
                durability: Durability::Batch,
                ..WriterConfig::default()
            },
        )
        .with_context(|| format!("journal {}", dir.display()))?;
        Ok(Recorder {
            writer,
            batch: Vec::with_capacity(1024),
            written: 0,
        })
    }

    /// Record the command the engine sequenced as `seq`.
    pub fn record(&mut self, seq: u64, command: &Command) -> anyhow::Result<()> {
        self.batch.push(JournalEntry {
            seq,
            command: *command,
        });
        if self.batch.len() == self.batch.capacity() {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if !self.batch.is_empty() {
            self.writer
                .append_batch(&self.batch)
                .context("writing the journal")?;
            self.written += self.batch.len() as u64;
            self.batch.clear();
        }
        Ok(())
    }

    /// Write and sync what is left; returns the number of commands recorded.
    pub fn finish(mut self) -> anyhow::Result<u64> {
        self.flush()?;
        Ok(self.written)
    }
}

/// Engine options shared by `recover` and `journal verify`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReplayEngineArgs {
    /// The instrument config the run used (`ferrex run --config`).
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// The risk config the run used (`ferrex run --risk-config`).
    #[arg(long)]
    pub risk_config: Option<std::path::PathBuf>,
    /// The run printed level changes (`ferrex run --levels`).
    #[arg(long)]
    pub levels: bool,
}

/// Result of one replay of a journal.
struct Replayed {
    commands: u64,
    last_seq: u64,
    event_hash: u64,
    state_hash: u64,
    events: CountingSink,
}

fn max_instrument(c: &Command) -> u32 {
    match c.kind {
        CommandKind::New(o) => o.instrument.0,
        CommandKind::Cancel(x) => x.instrument.0,
        CommandKind::Modify(m) => m.instrument.0,
        CommandKind::MassCancel(m) => m.instrument.map_or(0, |i| i.0),
        CommandKind::Risk(RiskControl::SetInstrumentState { instrument, .. })
        | CommandKind::Risk(RiskControl::SetReferencePrice { instrument, .. }) => instrument.0,
        CommandKind::Risk(RiskControl::SetLimit(l)) => l.instrument.0,
        CommandKind::Risk(_) => 0,
    }
}

fn replay(entries: &[JournalEntry], args: &ReplayEngineArgs) -> anyhow::Result<Replayed> {
    let instruments = args.config.as_deref().map(config::load).transpose()?;
    let n = entries
        .iter()
        .map(|e| max_instrument(&e.command) as usize + 1)
        .max()
        .unwrap_or(1);
    let mut engine: Engine = crate::run::build_engine(
        instruments.as_ref(),
        n,
        args.risk_config.as_deref(),
        args.levels,
    )?;
    let mut sink = HashingSink::new(CountingSink::default());
    for e in entries {
        engine.process(&e.command, &mut sink);
        if engine.cmd_seq() != e.seq {
            bail!(
                "journal seq {} replayed as engine seq {}: the journal does not start at 1",
                e.seq,
                engine.cmd_seq()
            );
        }
    }
    Ok(Replayed {
        commands: entries.len() as u64,
        last_seq: engine.cmd_seq(),
        event_hash: sink.hash(),
        state_hash: engine.state_hash(),
        events: sink.inner,
    })
}

/// `ferrex recover --journal DIR`.
pub fn recover(dir: &Path, args: &ReplayEngineArgs) -> anyhow::Result<()> {
    let rec = open_dir(dir).with_context(|| format!("journal {}", dir.display()))?;
    println!(
        "ferrex recover {}: {} segment(s), {} commands",
        dir.display(),
        rec.segments,
        rec.entries.len()
    );
    if let Some(t) = &rec.truncated {
        println!(
            "  torn tail: {} at byte {}: {:?}; truncated {} bytes (never replayed)",
            t.path.display(),
            t.offset,
            t.reason,
            t.dropped_bytes
        );
    }
    let r = replay(&rec.entries, args)?;
    println!(
        "  replayed {} commands: last seq {}, {} events ({} trades, {} rejects)",
        r.commands, r.last_seq, r.events.events, r.events.trades, r.events.rejects
    );
    println!(
        "  event-stream hash {:016x}, state hash {:016x}",
        r.event_hash, r.state_hash
    );
    Ok(())
}

/// `ferrex journal verify DIR`: two replays from scratch must agree.
pub fn verify(dir: &Path, args: &ReplayEngineArgs) -> anyhow::Result<()> {
    let rec = open_dir(dir).with_context(|| format!("journal {}", dir.display()))?;
    let a = replay(&rec.entries, args)?;
    let b = replay(&rec.entries, args)?;
    println!(
        "ferrex journal verify {}: {} commands; replay 1 {:016x}/{:016x}, replay 2 {:016x}/{:016x} (event/state hash)",
        dir.display(),
        a.commands,
        a.event_hash,
        a.state_hash,
        b.event_hash,
        b.state_hash
    );
    if (a.event_hash, a.state_hash) != (b.event_hash, b.state_hash) {
        bail!("the two replays differ: the engine is not deterministic on this journal");
    }
    println!(
        "  deterministic: both replays agree (no snapshots yet: both replay from the first command)"
    );
    Ok(())
}
