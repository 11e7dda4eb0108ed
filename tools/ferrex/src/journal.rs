//! Journal commands of the CLI: `ferrex run --journal DIR [--snapshot-every N]` records the
//! sequenced commands (and engine snapshots); `ferrex recover --journal DIR` rebuilds the engine
//! from the latest good snapshot plus the journal after it; `ferrex journal verify DIR` replays
//! from scratch and from the snapshot and compares event-stream and state hashes.
//!
//! The journal holds commands only: recovery must be given the same `--config`,
//! `--risk-config` and `--levels` as the recorded run (without `--config`, one default book per
//! instrument id seen in the journal or held by the snapshot). A snapshot taken with another
//! configuration is refused (config fingerprint) and the previous one, or the journal from its
//! first command, is used instead; every skipped snapshot is reported.

use crate::config;
use anyhow::{Context, bail};
use ferrex_engine::{Engine, SnapshotInfo};
use ferrex_journal::snapshot::{Latest, Loaded, load_latest, write_snapshot};
use ferrex_journal::{Durability, JournalEntry, JournalWriter, WriterConfig, open_dir};
use ferrex_types::{
    Command, CommandKind, CountingSink, Event, EventSink, HashingSink, RiskControl,
};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Records sequenced commands into a new journal directory, in batches (group commit), and
/// optionally a snapshot of the engine every N commands.
pub struct Recorder {
    dir: PathBuf,
    writer: JournalWriter,
    batch: Vec<JournalEntry>,
    written: u64,
    snapshot_every: Option<u64>,
    snap_buf: Vec<u8>,
    snapshots: SnapshotStats,
}

/// What the recorder's snapshots cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct SnapshotStats {
    /// Snapshots written.
    pub count: u64,
    /// Sequence number of the last one.
    pub last_seq: u64,
    /// Its size.
    pub last_bytes: usize,
    /// Longest time the engine was held for one `Engine::snapshot` (the copy), in µs.
    pub max_copy_us: u128,
}

impl Recorder {
    /// Start a journal in `dir`, which must not hold one already. With `snapshot_every`,
    /// [`Recorder::after_command`] writes a snapshot every that many commands.
    pub fn create(dir: &Path, snapshot_every: Option<u64>) -> anyhow::Result<Recorder> {
        if snapshot_every == Some(0) {
            bail!("--snapshot-every must be at least 1");
        }
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
            dir: dir.to_path_buf(),
            writer,
            batch: Vec::with_capacity(1024),
            written: 0,
            snapshot_every,
            snap_buf: Vec::new(),
            snapshots: SnapshotStats::default(),
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

    /// Call after the engine processed (and the recorder recorded) a command: every
    /// `snapshot_every` commands, syncs the journal up to that command (so the snapshot never
    /// covers commands the journal could lose) and writes `snapshot-<seq>.snap` atomically.
    pub fn after_command(&mut self, engine: &Engine) -> anyhow::Result<()> {
        let seq = engine.cmd_seq();
        let Some(every) = self.snapshot_every else {
            return Ok(());
        };
        if seq == 0 || !seq.is_multiple_of(every) {
            return Ok(());
        }
        self.flush()?;
        self.snap_buf.clear();
        let t = Instant::now();
        engine.snapshot(&mut self.snap_buf);
        let us = t.elapsed().as_micros();
        write_snapshot(&self.dir, seq, &self.snap_buf)
            .with_context(|| format!("writing the snapshot at seq {seq}"))?;
        let s = &mut self.snapshots;
        s.count += 1;
        s.last_seq = seq;
        s.last_bytes = self.snap_buf.len();
        s.max_copy_us = s.max_copy_us.max(us);
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

    /// Write and sync what is left; returns the number of commands recorded and the snapshot
    /// statistics.
    pub fn finish(mut self) -> anyhow::Result<(u64, SnapshotStats)> {
        self.flush()?;
        Ok((self.written, self.snapshots))
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

/// Builds engines for one journal directory the way the recorded run did.
struct Factory<'a> {
    instruments: Option<config::Instruments>,
    /// Books needed by the journal's commands (without `--config`).
    journal_books: usize,
    args: &'a ReplayEngineArgs,
}

impl Factory<'_> {
    fn build(&self, books: usize) -> anyhow::Result<Engine> {
        crate::run::build_engine(
            self.instruments.as_ref(),
            books.max(self.journal_books),
            self.args.risk_config.as_deref(),
            self.args.levels,
        )
    }
}

/// A journal directory opened for recovery: the good entries (torn tail cut and reported) and
/// the latest snapshot the configured engine accepts.
struct Opened<'a> {
    entries: Vec<JournalEntry>,
    truncated: Option<String>,
    factory: Factory<'a>,
    latest: Latest<(Engine, SnapshotInfo, u128)>,
}

fn open<'a>(dir: &Path, args: &'a ReplayEngineArgs) -> anyhow::Result<Opened<'a>> {
    let rec = open_dir(dir).with_context(|| format!("journal {}", dir.display()))?;
    let factory = Factory {
        instruments: args.config.as_deref().map(config::load).transpose()?,
        journal_books: rec
            .entries
            .iter()
            .map(|e| max_instrument(&e.command) as usize + 1)
            .max()
            .unwrap_or(1),
        args,
    };
    let max_seq = rec.last_seq.unwrap_or(0);
    let latest = load_latest(dir, Some(max_seq), |_, bytes| {
        let t = Instant::now();
        let info = SnapshotInfo::parse(bytes)?;
        let mut engine = factory.build(info.books as usize)?;
        engine.restore_from(bytes)?;
        Ok::<_, anyhow::Error>((engine, info, t.elapsed().as_millis()))
    })
    .with_context(|| format!("snapshots in {}", dir.display()))?;
    let truncated = rec.truncated.as_ref().map(|t| {
        format!(
            "torn tail: {} at byte {}: {}; truncated {} bytes (never replayed)",
            t.path.display(),
            t.offset,
            t.reason,
            t.dropped_bytes
        )
    });
    Ok(Opened {
        entries: rec.entries,
        truncated,
        factory,
        latest,
    })
}

/// The event hash of each command of a replay, and of the whole replay.
#[derive(Default)]
struct Trace {
    total: HashingSink<CountingSink>,
    /// (command seq, hash of its events).
    per_command: Vec<(u64, u64)>,
}

/// Feeds `entries` to `engine`, checking that the engine numbers them as the journal did.
fn replay(engine: &mut Engine, entries: &[JournalEntry], trace: &mut Trace) -> anyhow::Result<()> {
    let mut events: Vec<Event> = Vec::with_capacity(64);
    for e in entries {
        events.clear();
        engine.process(&e.command, &mut events);
        if engine.cmd_seq() != e.seq {
            bail!(
                "journal seq {} replayed as engine seq {}: the journal does not continue the starting state",
                e.seq,
                engine.cmd_seq()
            );
        }
        let mut one = HashingSink::new(());
        for ev in &events {
            trace.total.on_event(ev);
            one.on_event(ev);
        }
        trace.per_command.push((e.seq, one.hash()));
    }
    Ok(())
}

fn print_skipped<T>(latest: &Latest<T>) {
    for s in &latest.skipped {
        println!("  skipped snapshot {}: {}", s.path.display(), s.reason);
    }
}

/// `ferrex recover --journal DIR`: latest good snapshot + the journal after it (the library
/// function [`ferrex_engine::recover_with`], which `ferrex serve` uses too).
pub fn recover(dir: &Path, args: &ReplayEngineArgs) -> anyhow::Result<()> {
    let instruments = args.config.as_deref().map(config::load).transpose()?;
    let t = Instant::now();
    let (engine, rec) = ferrex_engine::recover_with(dir, |info, entries| {
        let journal_books = entries
            .iter()
            .map(|e| max_instrument(&e.command) as usize + 1)
            .max()
            .unwrap_or(1);
        let books = info.map_or(1, |i| i.books as usize);
        crate::run::build_engine(
            instruments.as_ref(),
            books.max(journal_books),
            args.risk_config.as_deref(),
            args.levels,
        )
    })
    .with_context(|| format!("recovering {}", dir.display()))?;
    println!(
        "ferrex recover {}: {} segment(s), {} commands",
        dir.display(),
        rec.segments,
        rec.journal_commands
    );
    if let Some(t) = &rec.truncated {
        println!(
            "  torn tail: {} at byte {}: {}; truncated {} bytes (never replayed)",
            t.path.display(),
            t.offset,
            t.reason,
            t.dropped_bytes
        );
    }
    for s in &rec.skipped {
        println!("  skipped snapshot {}: {}", s.path.display(), s.reason);
    }
    let from = match &rec.snapshot {
        Some((path, seq)) => {
            println!("  snapshot used: {} (seq {seq})", path.display());
            *seq
        }
        None => {
            println!("  snapshot used: none (replaying from the first command)");
            0
        }
    };
    println!(
        "  replayed {} commands after seq {from}: {} events ({} trades, {} rejects) in {} ms",
        rec.replayed,
        rec.events,
        rec.trades,
        rec.rejects,
        t.elapsed().as_millis()
    );
    println!(
        "  final seq {}, event seq {}, event-stream hash {:016x} (events of the replayed commands), state hash {:016x}",
        rec.final_seq,
        engine.event_seq(),
        rec.event_hash,
        rec.state_hash
    );
    Ok(())
}

/// `ferrex journal verify DIR`: replays from scratch and from the latest snapshot must agree
/// (the state at the snapshot point, every command's events after it, the final state); without
/// a snapshot, two replays from scratch must agree.
pub fn verify(dir: &Path, args: &ReplayEngineArgs) -> anyhow::Result<()> {
    let o = open(dir, args)?;
    let last = o.entries.last().map_or(0, |e| e.seq);
    println!(
        "ferrex journal verify {}: {} commands (last seq {last})",
        dir.display(),
        o.entries.len()
    );
    if let Some(t) = &o.truncated {
        println!("  {t}");
    }
    print_skipped(&o.latest);
    let (snap_books, snap) = match o.latest.loaded {
        Some(Loaded {
            path,
            seq,
            value: (engine, info, _),
            ..
        }) => (info.books as usize, Some((path, seq, engine))),
        None => (1, None),
    };
    // From scratch, with the same books as the snapshot holds.
    let mut scratch = o.factory.build(snap_books)?;
    let split = snap.as_ref().map_or(0, |s| s.1);
    let cut = o.entries.partition_point(|e| e.seq <= split);
    let mut head = Trace::default();
    replay(&mut scratch, &o.entries[..cut], &mut head)?;
    let state_at_split = scratch.state_hash();
    let mut full_a = Vec::new();
    scratch.snapshot(&mut full_a);
    let mut tail_a = Trace::default();
    replay(&mut scratch, &o.entries[cut..], &mut tail_a)?;
    println!(
        "  from scratch:  {} commands, state hash at seq {split} {state_at_split:016x}, events after it {:016x}, final seq {} state {:016x}",
        o.entries.len(),
        tail_a.total.hash(),
        scratch.cmd_seq(),
        scratch.state_hash()
    );
    let (label, mut other) = match snap {
        Some((path, seq, engine)) => (
            format!("from snapshot {} (seq {seq})", path.display()),
            engine,
        ),
        None => ("replay 2 (no snapshot)".to_string(), {
            let mut e = o.factory.build(snap_books)?;
            replay(&mut e, &o.entries[..cut], &mut Trace::default())?;
            e
        }),
    };
    let other_at_split = other.state_hash();
    let mut full_b = Vec::new();
    other.snapshot(&mut full_b);
    let mut tail_b = Trace::default();
    replay(&mut other, &o.entries[cut..], &mut tail_b)?;
    println!(
        "  {label}: state hash at seq {split} {other_at_split:016x}, events after it {:016x}, final seq {} state {:016x}",
        tail_b.total.hash(),
        other.cmd_seq(),
        other.state_hash()
    );
    if state_at_split != other_at_split {
        bail!(
            "MISMATCH: the state at seq {split} differs ({state_at_split:016x} from scratch, {other_at_split:016x} from the snapshot)"
        );
    }
    if full_a != full_b {
        let at = full_a
            .iter()
            .zip(&full_b)
            .position(|(x, y)| x != y)
            .unwrap_or(full_a.len().min(full_b.len()));
        bail!(
            "MISMATCH: the full engine state at seq {split} (books and risk, as snapshot bytes) differs from byte {at}"
        );
    }
    if let Some((a, b)) = tail_a
        .per_command
        .iter()
        .zip(&tail_b.per_command)
        .find(|(a, b)| a != b)
    {
        bail!(
            "MISMATCH: the events of command seq {} differ (hash {:016x} from scratch, {:016x} {label})",
            a.0,
            a.1,
            b.1
        );
    }
    if (tail_a.total.hash(), scratch.state_hash()) != (tail_b.total.hash(), other.state_hash()) {
        bail!(
            "MISMATCH: the final states differ after seq {}",
            scratch.cmd_seq()
        );
    }
    match split {
        0 => println!(
            "  deterministic: both replays agree (no snapshot: both replay from the first command)"
        ),
        s => println!(
            "  deterministic: the snapshot at seq {s} matches the replay from scratch, and the {} commands after it give the same events and final state",
            o.entries.len() - cut
        ),
    }
    Ok(())
}
