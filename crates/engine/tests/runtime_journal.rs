//! The threaded runtime with a journal: write-ahead journaling from the engine thread, the
//! `sync` release gate on sessions and market data, draining on stop, continuing a recovered
//! journal.

#[path = "support/drive.rs"]
mod drive;
#[path = "support/flow.rs"]
mod flow;

use ferrex_engine::{
    BookConfig, Durability, Engine, EngineConfig, JournalConfig, Runtime, RuntimeConfig,
    RuntimeReport, Session, SubmitError,
};
use ferrex_journal::open_dir;
use ferrex_types::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "ferrex-rt-journal-{tag}-{}-{:?}",
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

fn config(dir: &Path, durability: Durability, md: usize) -> RuntimeConfig {
    let mut j = JournalConfig::new(dir, durability);
    j.max_batch = 64;
    j.ring_capacity = 256;
    j.segment_bytes = 64 << 10;
    RuntimeConfig {
        engine_core: None,
        ring_capacity: 1024,
        md_capacity: md,
        batch: 16,
        max_accounts: 64,
        journal: Some(j),
    }
}

/// Replays `cmds` through a fresh engine; returns every event (index = seq - 1) and the engine.
fn replay(cmds: &[Command]) -> (Vec<Event>, Engine) {
    let mut e = engine();
    let mut out = Vec::new();
    e.process_all(cmds, &mut out);
    (out, e)
}

/// Sends `cmds` round-robin over the sessions, polling as it goes (alternating `poll` and
/// `poll_batch`); after every event received, checks it against `check`. Returns the events
/// each session received once each command has its first event.
fn drive(
    sessions: &mut [Session],
    cmds: &[Command],
    mut check: impl FnMut(&Event),
) -> Vec<Vec<Event>> {
    let n = sessions.len();
    let mut got: Vec<Vec<Event>> = vec![Vec::new(); n];
    let mut evbuf = [Event {
        seq: 0,
        cmd_seq: 0,
        time: 0,
        kind: EventKind::Expired {
            order_id: OrderId(0),
            account: AccountId(0),
            instrument: InstrumentId(0),
            qty: Qty(0),
            side: Side::Buy,
            price: Price(0),
        },
    }; 32];
    let mut poll_all = |sessions: &mut [Session], got: &mut Vec<Vec<Event>>, round: usize| {
        for (k, s) in sessions.iter_mut().enumerate() {
            if round.is_multiple_of(2) {
                while let Some(e) = s.poll() {
                    check(&e);
                    got[k].push(e);
                }
            } else {
                loop {
                    let m = s.poll_batch(&mut evbuf);
                    if m == 0 {
                        break;
                    }
                    for e in &evbuf[..m] {
                        check(e);
                        got[k].push(*e);
                    }
                }
            }
        }
    };
    let mut round = 0usize;
    for (i, c) in cmds.iter().enumerate() {
        let t0 = Instant::now();
        while let Err(e) = sessions[i % n].submit(*c) {
            assert!(
                matches!(e, SubmitError::Full(_)),
                "the engine thread is gone"
            );
            assert!(t0.elapsed() < Duration::from_secs(60), "ring full for 60 s");
            poll_all(sessions, &mut got, round);
            round += 1;
            std::thread::yield_now();
        }
        if i.is_multiple_of(97) {
            poll_all(sessions, &mut got, round);
            round += 1;
        }
    }
    // Every command yields at least one event to its sender: wait until the last one has.
    let last = cmds.len() as u64;
    let t0 = Instant::now();
    while !got.iter().flatten().any(|e| e.cmd_seq == last) {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no event for the last command after 60 s"
        );
        poll_all(sessions, &mut got, round);
        round += 1;
        std::thread::yield_now();
    }
    std::thread::sleep(Duration::from_millis(20));
    poll_all(sessions, &mut got, round);
    got
}

fn assert_journal_matches(dir: &Path, report: &RuntimeReport, stopped: &Engine, n: u64) {
    let jr = report.journal.as_ref().expect("journal report");
    assert!(jr.error.is_none(), "{:?}", jr.error);
    assert_eq!(jr.records, n);
    assert_eq!(jr.last_seq, n);
    assert_eq!(jr.durable_seq, n, "stop drains and publishes everything");
    assert!(jr.max_batch >= 1 && jr.max_batch <= 64, "{jr:?}");
    assert!(jr.bytes > 0);
    assert_eq!(report.journal_unrecorded, 0);
    let rec = open_dir(dir).unwrap();
    assert!(rec.truncated.is_none());
    assert_eq!(rec.last_seq, Some(n));
    let cmds: Vec<Command> = rec.entries.iter().map(|e| e.command).collect();
    for (i, e) in rec.entries.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
    }
    let (_, replayed) = replay(&cmds);
    assert_eq!(replayed.cmd_seq(), stopped.cmd_seq());
    assert_eq!(replayed.state_hash(), stopped.state_hash());
}

#[test]
fn sync_mode_releases_no_event_before_its_command_is_durable() {
    let dir = TempDir::new("sync");
    let cmds = flow::mixed_flow(3_000, 11);
    // The md ring holds every market-data event of the run (about 3 per command): this test
    // drains it only when a session event arrives, and a full md ring stalls the engine (by
    // design), which would starve the sessions of events and deadlock the test.
    let (rt, mut sessions, md) =
        Runtime::start(engine(), 2, &config(dir.path(), Durability::Sync, 1 << 15)).unwrap();
    let durable = rt.durable().expect("journal configured");
    assert_eq!(durable.load(Ordering::Acquire), 0);
    assert_eq!(sessions[0].durable_seq(), Some(0));
    let mut md = md.expect("md ring");
    let mut md_events = Vec::new();
    let mut checked = 0u64;
    let got = drive(&mut sessions, &cmds, |e| {
        // The durable sequence number only grows, so it was at least this when the gate
        // released the event; an ungated event would often be seen ahead of the fsync.
        let d = durable.load(Ordering::Acquire);
        assert!(
            e.cmd_seq <= d,
            "event of cmd {} released at durable {d}",
            e.cmd_seq
        );
        checked += 1;
        while let Some(m) = md.try_pop() {
            let d = durable.load(Ordering::Acquire);
            assert!(
                m.cmd_seq <= d,
                "md event of cmd {} at durable {d}",
                m.cmd_seq
            );
            md_events.push(m);
        }
    });
    assert!(checked > 3_000);
    assert!(sessions.iter().all(|s| s.held() == 0));
    drop(sessions);
    let (stopped, report) = rt.stop();
    while let Some(m) = md.try_pop() {
        md_events.push(m);
    }
    assert_eq!(report.commands, 3_000);
    assert_journal_matches(dir.path(), &report, &stopped, 3_000);
    let jr = report.journal.as_ref().unwrap();
    assert_eq!(jr.durability, Durability::Sync);
    assert_eq!(jr.syncs, jr.batches, "one fdatasync per batch");
    // The journal holds each command sent exactly once (the two sessions interleave).
    let journaled: Vec<Command> = open_dir(dir.path())
        .unwrap()
        .entries
        .iter()
        .map(|e| e.command)
        .collect();
    // (with the engine time it was stamped with: clamped, so non-decreasing).
    let mut count: HashMap<CommandKind, i64> = HashMap::new();
    for c in &cmds {
        *count.entry(c.kind).or_default() += 1;
    }
    for c in &journaled {
        *count.entry(c.kind).or_default() -= 1;
    }
    assert!(count.values().all(|&v| v == 0));
    assert!(journaled.windows(2).all(|w| w[0].time <= w[1].time));
    // Every event a session got is the replay's event of the same seq, byte for byte.
    let (all, _) = replay(&journaled);
    for e in got.iter().flatten() {
        assert_eq!(*e, all[e.seq as usize - 1]);
    }
    // Market data: every book and instrument event, in order, none lost to the gate.
    let want: Vec<Event> = all
        .iter()
        .filter(|e| ferrex_engine::is_market_data(&e.kind))
        .copied()
        .collect();
    assert!(!want.is_empty());
    assert_eq!(md_events, want);
    assert_eq!(report.md_events, want.len() as u64);
}

#[test]
fn batch_and_none_modes_journal_everything_without_a_gate() {
    for mode in [Durability::Batch, Durability::None] {
        let dir = TempDir::new(&format!("{mode:?}"));
        let cmds = flow::mixed_flow(2_000, 12);
        let (rt, mut sessions, _md) =
            Runtime::start(engine(), 1, &config(dir.path(), mode, 0)).unwrap();
        assert_eq!(sessions[0].durable_seq(), None, "no gate outside sync mode");
        let got = drive(&mut sessions, &cmds, |_| {});
        drop(sessions);
        let (stopped, report) = rt.stop();
        assert_journal_matches(dir.path(), &report, &stopped, 2_000);
        let jr = report.journal.as_ref().unwrap();
        match mode {
            Durability::None => assert_eq!(jr.syncs, 0),
            _ => assert_eq!(jr.syncs, jr.batches),
        }
        let (all, _) = replay(&cmds);
        for e in got.iter().flatten() {
            assert_eq!(*e, all[e.seq as usize - 1]);
        }
    }
}

#[test]
fn a_tiny_journal_ring_is_back_pressure_not_loss() {
    let dir = TempDir::new("tiny");
    let mut cfg = config(dir.path(), Durability::Sync, 4);
    if let Some(j) = cfg.journal.as_mut() {
        j.ring_capacity = 2;
        j.max_batch = 1;
    }
    let cmds = flow::mixed_flow(300, 13);
    let (rt, mut sessions, md) = Runtime::start(engine(), 1, &cfg).unwrap();
    // A market-data consumer that drains concurrently: the 4-slot pending queue fills often.
    let mut md = md.unwrap();
    let md_thread = std::thread::spawn(move || {
        let mut n = 0u64;
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(60) {
            match md.try_pop_or_closed() {
                Ok(_) => n += 1,
                Err(ferrex_ring::PopError::Abandoned) => break,
                Err(_) => std::thread::yield_now(),
            }
        }
        n
    });
    let got = drive(&mut sessions, &cmds, |_| {});
    drop(sessions);
    let (stopped, report) = rt.stop();
    let md_n = md_thread.join().unwrap();
    assert_journal_matches(dir.path(), &report, &stopped, 300);
    let jr = report.journal.as_ref().unwrap();
    assert_eq!(jr.max_batch, 1);
    assert_eq!(jr.batches, 300);
    assert_eq!(md_n, report.md_events);
    let (all, _) = replay(&cmds);
    let want_md = all
        .iter()
        .filter(|e| ferrex_engine::is_market_data(&e.kind))
        .count() as u64;
    assert_eq!(md_n, want_md);
    assert_eq!(report.undeliverable, 0);
    assert!(got.iter().flatten().count() > 300);
}

#[test]
fn a_recovered_journal_is_continued_by_a_new_runtime() {
    let dir = TempDir::new("continue");
    let cmds = flow::mixed_flow(2_000, 14);
    let (first, second) = cmds.split_at(1_200);
    let (rt, mut sessions, _md) =
        Runtime::start(engine(), 1, &config(dir.path(), Durability::Sync, 0)).unwrap();
    drive(&mut sessions, first, |_| {});
    drop(sessions);
    let (_, report) = rt.stop();
    assert_eq!(report.journal.unwrap().records, 1_200);
    // Recover: replay the journal into a fresh engine, then continue it.
    let rec = open_dir(dir.path()).unwrap();
    let (_, recovered) = replay(&rec.entries.iter().map(|e| e.command).collect::<Vec<_>>());
    assert_eq!(recovered.cmd_seq(), 1_200);
    // A fresh engine over the same directory would write seq 1 again: refused.
    assert!(Runtime::start(engine(), 1, &config(dir.path(), Durability::Sync, 0)).is_err());
    let (rt, mut sessions, _md) =
        Runtime::start(recovered, 1, &config(dir.path(), Durability::Sync, 0)).unwrap();
    assert_eq!(rt.durable_seq(), Some(1_200));
    drive::drive_session(&mut sessions[0], second, 1_200);
    drop(sessions);
    let (stopped, report) = rt.stop();
    assert_eq!(report.journal.as_ref().unwrap().records, 800);
    let rec = open_dir(dir.path()).unwrap();
    assert_eq!(rec.last_seq, Some(2_000));
    assert!(rec.segments >= 2);
    let (_, replayed) = replay(&cmds);
    assert_eq!(replayed.state_hash(), stopped.state_hash());
    let (_, again) = replay(&rec.entries.iter().map(|e| e.command).collect::<Vec<_>>());
    assert_eq!(again.state_hash(), stopped.state_hash());
}

#[test]
fn durable_counter_is_shared_with_the_sessions() {
    let dir = TempDir::new("shared");
    let (rt, mut sessions, _md) =
        Runtime::start(engine(), 1, &config(dir.path(), Durability::Sync, 0)).unwrap();
    let d: std::sync::Arc<AtomicU64> = rt.durable().unwrap();
    drive(&mut sessions, &flow::mixed_flow(100, 15), |_| {});
    assert_eq!(d.load(Ordering::Acquire), 100);
    assert_eq!(sessions[0].durable_seq(), Some(100));
    assert_eq!(rt.durable_seq(), Some(100));
    drop(sessions);
    let (_, report) = rt.stop();
    assert_eq!(report.journal.unwrap().durable_seq, 100);
}
