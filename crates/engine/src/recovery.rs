//! Recovery of an engine from a journal directory: the latest good snapshot
//! (`snapshot-<seq>.snap`, see [`ferrex_journal::snapshot`]) plus a replay of the journal after
//! it. Used by `ferrex recover` and by `ferrex serve` at start; the runtime can then continue the
//! same journal ([`crate::JournalConfig`]: the writer starts at `cmd_seq + 1`).
//!
//! The journal holds commands only, so the engine must be built from the same configuration as
//! the recorded run; a snapshot taken with another configuration is refused by
//! [`Engine::restore_from`] (config fingerprint) and the previous one, or the journal from its
//! first command, is used instead. Every refused snapshot is reported in
//! [`Recovered::skipped`]; a torn journal tail is cut and reported in [`Recovered::truncated`].

use crate::{Engine, SnapshotInfo};
use ferrex_journal::snapshot::{Skipped, load_latest};
use ferrex_journal::{JournalEntry, RecoverError, TruncatedTail, open_dir};
use ferrex_types::{CommandKind, CountingSink, HashingSink};
use std::fmt::Display;
use std::path::{Path, PathBuf};

/// What [`recover_into`] / [`recover_with`] did.
#[derive(Clone, Debug, Default)]
pub struct Recovered {
    /// Journal segments read.
    pub segments: usize,
    /// Good commands in the journal.
    pub journal_commands: usize,
    /// The torn tail cut off the journal, if there was one (never replayed).
    pub truncated: Option<TruncatedTail>,
    /// The snapshot restored (its file and the last sequence number it covers), if any.
    pub snapshot: Option<(PathBuf, u64)>,
    /// Newer snapshots that were refused, newest first, with the reason.
    pub skipped: Vec<Skipped>,
    /// Commands replayed after the snapshot (or from the first command).
    pub replayed: u64,
    /// Events the replayed commands produced.
    pub events: u64,
    /// Trades among them.
    pub trades: u64,
    /// Rejects among them.
    pub rejects: u64,
    /// FNV hash of the replayed commands' events.
    pub event_hash: u64,
    /// The engine's command sequence number at the end.
    pub final_seq: u64,
    /// The engine's state hash at the end.
    pub state_hash: u64,
    /// Highest order id named by any journaled command (new orders and modify targets) or
    /// resting in the recovered books: an order-id allocator continuing after recovery must
    /// start above it.
    pub max_order_id: u64,
}

impl Recovered {
    /// `true` when the directory held nothing to recover (no commands, no snapshot).
    pub fn is_empty(&self) -> bool {
        self.journal_commands == 0 && self.snapshot.is_none()
    }
}

/// Why recovery failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// The journal could not be read (bad header, gap, corruption before the last segment).
    #[error("journal {}: {source}", dir.display())]
    Journal {
        /// The directory.
        dir: PathBuf,
        /// The error.
        source: RecoverError,
    },
    /// The snapshot directory could not be listed.
    #[error("snapshots in {}: {source}", dir.display())]
    Snapshots {
        /// The directory.
        dir: PathBuf,
        /// The error.
        source: ferrex_journal::snapshot::SnapshotFileError,
    },
    /// The engine to replay into could not be built.
    #[error("building the engine: {0}")]
    Build(String),
    /// The journal does not continue the restored state.
    #[error(
        "journal seq {journal} replayed as engine seq {engine}: the journal does not continue the starting state"
    )]
    Sequence {
        /// The journal's sequence number.
        journal: u64,
        /// The engine's.
        engine: u64,
    },
    /// [`recover_into`] was given an engine that has already processed commands.
    #[error("the engine to recover into must be fresh (it has processed {0} commands)")]
    NotFresh(u64),
}

/// Recovers into `engine`, which must be fresh (no command processed) and built from the
/// configuration of the recorded run: the latest snapshot it accepts is restored into it, then
/// the journal after that snapshot is replayed. A missing or empty directory recovers nothing
/// (see [`Recovered::is_empty`]). Cost: reads the whole journal once and replays its tail.
pub fn recover_into(engine: &mut Engine, dir: &Path) -> Result<Recovered, RecoveryError> {
    if engine.cmd_seq() != 0 {
        return Err(RecoveryError::NotFresh(engine.cmd_seq()));
    }
    let (entries, mut out) = open(dir)?;
    let max_seq = entries.last().map_or(0, |e| e.seq);
    let latest = load_latest(dir, Some(max_seq), |_, bytes| engine.restore_from(bytes)).map_err(
        |source| RecoveryError::Snapshots {
            dir: dir.to_path_buf(),
            source,
        },
    )?;
    out.skipped = latest.skipped;
    out.snapshot = latest.loaded.map(|l| (l.path, l.seq));
    replay_tail(engine, &entries, &mut out)?;
    Ok(out)
}

/// Recovers an engine built by `build`: for each snapshot candidate, newest first,
/// `build(Some(info), journal)` gives an engine to restore it into (an error or a refused
/// snapshot skips it); with no usable snapshot, `build(None, journal)` gives the engine the
/// whole journal is replayed into. `journal` is every good journaled command (to size the
/// engine from them, for example). Returns the engine and the report.
pub fn recover_with<E: Display>(
    dir: &Path,
    mut build: impl FnMut(Option<&SnapshotInfo>, &[JournalEntry]) -> Result<Engine, E>,
) -> Result<(Engine, Recovered), RecoveryError> {
    let (entries, mut out) = open(dir)?;
    let max_seq = entries.last().map_or(0, |e| e.seq);
    let latest = load_latest(dir, Some(max_seq), |_, bytes| {
        let info = SnapshotInfo::parse(bytes).map_err(|e| e.to_string())?;
        let mut engine = build(Some(&info), &entries).map_err(|e| e.to_string())?;
        engine.restore_from(bytes).map_err(|e| e.to_string())?;
        Ok::<_, String>(engine)
    })
    .map_err(|source| RecoveryError::Snapshots {
        dir: dir.to_path_buf(),
        source,
    })?;
    out.skipped = latest.skipped;
    let mut engine = match latest.loaded {
        Some(l) => {
            out.snapshot = Some((l.path, l.seq));
            l.value
        }
        None => build(None, &entries).map_err(|e| RecoveryError::Build(e.to_string()))?,
    };
    replay_tail(&mut engine, &entries, &mut out)?;
    Ok((engine, out))
}

/// Reads the journal (cutting a torn tail) and fills the journal part of the report.
fn open(dir: &Path) -> Result<(Vec<JournalEntry>, Recovered), RecoveryError> {
    let rec = open_dir(dir).map_err(|source| RecoveryError::Journal {
        dir: dir.to_path_buf(),
        source,
    })?;
    let max_order_id = rec
        .entries
        .iter()
        .map(|e| match e.command.kind {
            CommandKind::New(o) => o.order_id.0,
            CommandKind::Modify(m) => m.order_id.0,
            CommandKind::Cancel(c) => c.order_id.0,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    let out = Recovered {
        segments: rec.segments,
        journal_commands: rec.entries.len(),
        truncated: rec.truncated,
        max_order_id,
        ..Recovered::default()
    };
    Ok((rec.entries, out))
}

/// Replays the entries after the restored snapshot (or all of them), checking that the engine
/// numbers them as the journal did, and fills the rest of the report.
fn replay_tail(
    engine: &mut Engine,
    entries: &[JournalEntry],
    out: &mut Recovered,
) -> Result<(), RecoveryError> {
    let from = out.snapshot.as_ref().map_or(0, |s| s.1);
    let cut = entries.partition_point(|e| e.seq <= from);
    let mut sink = HashingSink::new(CountingSink::default());
    for e in &entries[cut..] {
        engine.process(&e.command, &mut sink);
        if engine.cmd_seq() != e.seq {
            return Err(RecoveryError::Sequence {
                journal: e.seq,
                engine: engine.cmd_seq(),
            });
        }
        out.replayed += 1;
    }
    out.event_hash = sink.hash();
    out.events = sink.inner.events;
    out.trades = sink.inner.trades;
    out.rejects = sink.inner.rejects;
    out.final_seq = engine.cmd_seq();
    out.state_hash = engine.state_hash();
    for b in engine.books() {
        for side in [ferrex_types::Side::Buy, ferrex_types::Side::Sell] {
            b.for_each_level(side, |l| {
                b.for_each_order_in_level(side, l.price, |o| {
                    out.max_order_id = out.max_order_id.max(o.order_id.0);
                });
            });
        }
    }
    Ok(())
}
