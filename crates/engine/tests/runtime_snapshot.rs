//! Snapshots taken by the running engine ([`JournalConfig::snapshot_every`]): every snapshot
//! file written while running restores to exactly the state a replay reaches at its sequence
//! number, and recovery (latest snapshot + the journal after it) reproduces the engine the
//! runtime returned on stop — also across a restart that continues the same journal.

#[path = "support/drive.rs"]
mod drive;
#[path = "support/flow.rs"]
mod flow;

use ferrex_engine::{
    BookConfig, Durability, Engine, EngineConfig, JournalConfig, Runtime, RuntimeConfig,
    recover_into,
};
use ferrex_journal::snapshot::list_snapshots;
use ferrex_types::*;
use std::path::{Path, PathBuf};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "ferrex-rt-snapshot-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        TempDir(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn engine() -> Engine {
    Engine::new(EngineConfig::single(BookConfig {
        max_orders: 1 << 16,
        dense_levels: 1024,
        level_events: true,
        ..BookConfig::default()
    }))
    .unwrap()
}

fn config(dir: &Path, durability: Durability, every: u64) -> RuntimeConfig {
    let mut j = JournalConfig::new(dir, durability).with_snapshot_every(every);
    j.max_batch = 64;
    j.ring_capacity = 256;
    j.segment_bytes = 64 << 10;
    RuntimeConfig {
        engine_core: None,
        ring_capacity: 1024,
        md_capacity: 0,
        batch: 16,
        max_accounts: 64,
        journal: Some(j),
    }
}

/// Every snapshot file in `dir` restores into a fresh engine at its own sequence number with
/// the state hash a replay of `cmds` reaches there. Returns the sequence numbers.
fn check_snapshot_files(dir: &Path, cmds: &[Command]) -> Vec<u64> {
    let files = list_snapshots(dir).unwrap();
    let mut seqs = Vec::new();
    for (seq, path) in files {
        let bytes = std::fs::read(&path).unwrap();
        let mut restored = engine();
        restored.restore_from(&bytes).unwrap();
        assert_eq!(restored.cmd_seq(), seq, "{}", path.display());
        let mut replayed = engine();
        replayed.process_all(&cmds[..seq as usize], &mut ());
        assert_eq!(
            restored.state_hash(),
            replayed.state_hash(),
            "snapshot at seq {seq} differs from the replay"
        );
        seqs.push(seq);
    }
    seqs
}

#[test]
fn runtime_snapshots_are_loadable_and_recovery_matches_the_stopped_engine() {
    let dir = TempDir::new("sync");
    let cmds = flow::mixed_flow(5_000, 21);
    let (rt, mut sessions, _md) =
        Runtime::start(engine(), 1, &config(dir.path(), Durability::Sync, 500)).unwrap();
    drive::drive_session(&mut sessions[0], &cmds, 0);
    drop(sessions);
    let (stopped, report) = rt.stop();
    let snaps = report.snapshots.clone().expect("snapshots were on");
    assert_eq!(snaps.taken + snaps.skipped, 10, "{snaps:?}");
    assert!(snaps.taken >= 1, "{snaps:?}");
    assert_eq!(snaps.written, snaps.taken, "{snaps:?}");
    assert_eq!(snaps.failed, 0, "{snaps:?}");
    assert!(snaps.error.is_none());
    assert!(snaps.max_pause_ns > 0 && snaps.total_pause_ns >= snaps.max_pause_ns);
    assert!(snaps.last_seq > 0 && snaps.last_seq.is_multiple_of(500));
    assert!(snaps.last_bytes > 0);

    let seqs = check_snapshot_files(dir.path(), &cmds);
    assert_eq!(seqs.len() as u64, snaps.written);
    assert_eq!(seqs.last().copied(), Some(snaps.last_seq));

    // Recovery: latest snapshot + the journal tail after it.
    let mut recovered = engine();
    let rec = recover_into(&mut recovered, dir.path()).unwrap();
    assert_eq!(rec.snapshot.as_ref().map(|s| s.1), Some(snaps.last_seq));
    assert!(rec.skipped.is_empty());
    assert_eq!(rec.replayed, 5_000 - snaps.last_seq);
    assert_eq!(rec.final_seq, 5_000);
    assert_eq!(recovered.cmd_seq(), stopped.cmd_seq());
    assert_eq!(recovered.event_seq(), stopped.event_seq());
    assert_eq!(rec.state_hash, stopped.state_hash());
    assert_eq!(recovered.state_hash(), stopped.state_hash());
    assert!(rec.max_order_id > 0);
}

#[test]
fn a_recovered_engine_continues_the_journal_and_snapshots_across_a_restart() {
    let dir = TempDir::new("restart");
    let cmds = flow::mixed_flow(3_000, 5);
    let (first, second) = cmds.split_at(1_700);
    let cfg = config(dir.path(), Durability::Batch, 400);
    let (rt, mut sessions, _md) = Runtime::start(engine(), 1, &cfg).unwrap();
    drive::drive_session(&mut sessions[0], first, 0);
    drop(sessions);
    let (stopped1, r1) = rt.stop();
    assert!(r1.snapshots.unwrap().written >= 1);

    let mut e = engine();
    let rec = recover_into(&mut e, dir.path()).unwrap();
    assert_eq!(rec.state_hash, stopped1.state_hash());
    assert_eq!(rec.final_seq, 1_700);
    let (rt, mut sessions, _md) = Runtime::start(e, 1, &cfg).unwrap();
    drive::drive_session(&mut sessions[0], second, 1_700);
    drop(sessions);
    let (stopped2, r2) = rt.stop();
    let s2 = r2.snapshots.unwrap();
    assert!(s2.written >= 1, "{s2:?}");
    assert!(s2.last_seq > 1_700 && s2.last_seq <= 3_000);

    check_snapshot_files(dir.path(), &cmds);
    let mut e = engine();
    let rec = recover_into(&mut e, dir.path()).unwrap();
    assert_eq!(rec.snapshot.as_ref().map(|s| s.1), Some(s2.last_seq));
    assert_eq!(rec.final_seq, 3_000);
    assert_eq!(rec.state_hash, stopped2.state_hash());
    let mut full = engine();
    full.process_all(&cmds, &mut ());
    assert_eq!(full.state_hash(), stopped2.state_hash());
    // An engine that has already run is refused.
    assert!(recover_into(&mut full, dir.path()).is_err());
}

#[test]
fn an_empty_directory_recovers_nothing() {
    let dir = TempDir::new("empty");
    let mut e = engine();
    let rec = recover_into(&mut e, dir.path()).unwrap();
    assert!(rec.is_empty());
    assert_eq!((rec.final_seq, e.cmd_seq()), (0, 0));
}
