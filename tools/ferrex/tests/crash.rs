//! Crash and corruption tests of the journal, end to end through the `ferrex` binary.
//!
//! - Crash: `ferrex journal-load --durability sync` runs the threaded runtime under load and
//!   prints every order whose `Accepted` the release gate let through; it is killed with SIGKILL
//!   after a random 50–400 ms, several times, each in a fresh directory. After each kill the
//!   journal is recovered (torn tail cut) and replayed through a fresh engine: every order the
//!   child saw acknowledged must be accepted in the replay, at the same command sequence number,
//!   and the state hash must equal a clean second replay (`ferrex recover` in a new process).
//! - Crash with runtime snapshots: the same, with the child's engine thread also taking
//!   snapshots (`--snapshot-every`); every snapshot file left behind covers only commands the
//!   journal kept, and recovery goes through the latest snapshot + the journal tail (in process
//!   with `ferrex_engine::recover_into`, and with `ferrex recover`), reaching the state hash of
//!   a replay of the whole journal from scratch.
//! - Corruption: a completed journal with a byte flipped in the middle of its last segment, or
//!   its tail cut: recovery stops at the last good record and says so, and the replay covers
//!   exactly the good prefix. (Record-level cases — every truncation offset, flips in the last
//!   record, corrupt non-last segments — are in `crates/journal/tests/journal.rs`.)

use ferrex_book::BookConfig;
use ferrex_engine::{Engine, EngineConfig};
use ferrex_journal::{HEADER_LEN, JournalEntry, open_dir};
use ferrex_types::{Event, EventKind};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("ferrex-crash-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The engine `ferrex journal-load` runs and `ferrex recover` rebuilds by default.
fn engine() -> Engine {
    Engine::new(EngineConfig::single(BookConfig {
        level_events: false,
        max_orders: 1 << 16,
        dense_levels: 4096,
        ..BookConfig::default()
    }))
    .unwrap()
}

fn replay(entries: &[JournalEntry]) -> (Vec<Event>, Engine) {
    let mut e = engine();
    let mut out = Vec::new();
    for x in entries {
        e.process(&x.command, &mut out);
        assert_eq!(e.cmd_seq(), x.seq, "journal seq and engine seq agree");
    }
    (out, e)
}

/// `ferrex recover --journal DIR` in a new process: (stdout, state hash).
fn ferrex_recover(dir: &Path) -> (String, u64) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrex"))
        .args(["recover", "--journal"])
        .arg(dir)
        .output()
        .expect("run ferrex recover");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hash = text
        .split("state hash ")
        .nth(1)
        .and_then(|s| u64::from_str_radix(s.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no state hash in: {text}"));
    (text, hash)
}

/// SplitMix64: the kill delays come from a fixed seed (override with FERREX_CRASH_SEED).
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Complete `<order_id> <cmd_seq>` lines of the child's output (a line cut by the kill is
/// ignored).
fn acked(out: &[u8]) -> Vec<(u64, u64)> {
    let text = String::from_utf8_lossy(out);
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    complete
        .lines()
        .map(|l| {
            let mut it = l.split(' ');
            let id = it.next().and_then(|x| x.parse().ok());
            let seq = it.next().and_then(|x| x.parse().ok());
            match (id, seq) {
                (Some(i), Some(s)) => (i, s),
                _ => panic!("bad line from journal-load: {l:?}"),
            }
        })
        .collect()
}

#[test]
fn sigkill_under_sync_load_loses_no_acknowledged_order() {
    let seed = std::env::var("FERREX_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64);
    let mut rng = seed;
    let mut total_acked = 0usize;
    let mut total_records = 0usize;
    for round in 0..8 {
        let dir = TempDir::new(&format!("kill{round}"));
        let jdir = dir.0.join("journal");
        let delay = 50 + next(&mut rng) % 351;
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrex"))
            .args(["journal-load", "--durability", "sync", "--journal"])
            .arg(&jdir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ferrex journal-load");
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = stdout.read_to_end(&mut v);
            v
        });
        std::thread::sleep(Duration::from_millis(delay));
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().expect("SIGKILL the child");
        let status = child.wait().unwrap();
        let out = reader.join().unwrap();
        assert!(
            still_running,
            "round {round}: journal-load exited by itself ({status:?}) before the kill"
        );
        let acks = acked(&out);

        // Recover: cut a torn tail, replay through a fresh engine.
        let rec = open_dir(&jdir).unwrap();
        let (events, recovered) = replay(&rec.entries);
        let accepted: HashMap<u64, u64> = events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Accepted { order_id, .. } => Some((order_id.0, e.cmd_seq)),
                _ => None,
            })
            .collect();
        for &(id, cmd_seq) in &acks {
            assert_eq!(
                accepted.get(&id),
                Some(&cmd_seq),
                "round {round} (seed {seed:#x}, kill after {delay} ms): order {id} was \
                 acknowledged at cmd {cmd_seq} but the recovered journal (last seq {:?}) \
                 does not accept it there",
                rec.last_seq
            );
        }
        if let Some(&(_, hi)) = acks.iter().max_by_key(|a| a.1) {
            assert!(rec.last_seq.unwrap_or(0) >= hi);
        }
        // A clean second replay of the same (now cut) journal, in a new process.
        if jdir.exists() {
            let (text, hash) = ferrex_recover(&jdir);
            assert_eq!(hash, recovered.state_hash(), "round {round}: {text}");
            assert!(
                text.contains(&format!("replayed {} commands", rec.entries.len())),
                "{text}"
            );
        }
        eprintln!(
            "round {round}: killed after {delay} ms; {} acks printed, {} records recovered{}",
            acks.len(),
            rec.entries.len(),
            rec.truncated
                .as_ref()
                .map_or(String::new(), |t| format!(", torn tail cut: {t}"))
        );
        total_acked += acks.len();
        total_records += rec.entries.len();
    }
    // The kills landed under load, not only before start-up.
    assert!(total_acked > 0, "no round acknowledged anything");
    assert!(total_records >= total_acked);
}

#[test]
fn sigkill_with_runtime_snapshots_recovers_through_snapshot_and_tail() {
    let seed = std::env::var("FERREX_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64)
        ^ 0x5a5a;
    let mut rng = seed;
    let mut via_snapshot = 0;
    for round in 0..4 {
        let dir = TempDir::new(&format!("snapkill{round}"));
        let jdir = dir.0.join("journal");
        let delay = 300 + next(&mut rng) % 501;
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrex"))
            .args([
                "journal-load",
                "--durability",
                "sync",
                "--snapshot-every",
                "2000",
                "--journal",
            ])
            .arg(&jdir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ferrex journal-load");
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = stdout.read_to_end(&mut v);
            v
        });
        std::thread::sleep(Duration::from_millis(delay));
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().expect("SIGKILL the child");
        let status = child.wait().unwrap();
        let out = reader.join().unwrap();
        assert!(
            still_running,
            "round {round}: journal-load exited by itself ({status:?}) before the kill"
        );
        let acks = acked(&out);
        let rec = open_dir(&jdir).unwrap();
        let last = rec.last_seq.unwrap_or(0);
        let (events, scratch) = replay(&rec.entries);
        let accepted: HashMap<u64, u64> = events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Accepted { order_id, .. } => Some((order_id.0, e.cmd_seq)),
                _ => None,
            })
            .collect();
        for &(id, cmd_seq) in &acks {
            assert_eq!(
                accepted.get(&id),
                Some(&cmd_seq),
                "round {round} (seed {seed:#x}): acknowledged order {id} lost"
            );
        }
        // A snapshot never covers commands the journal lost.
        let snaps = ferrex_journal::snapshot::list_snapshots(&jdir).unwrap();
        for (seq, path) in &snaps {
            assert!(
                *seq <= last,
                "round {round}: {} covers seq {seq}, the journal ends at {last}",
                path.display()
            );
        }
        let newest = snaps.last().map(|s| s.0);
        // In process: latest snapshot + tail equals the replay from scratch.
        let mut e = engine();
        let r = ferrex_engine::recover_into(&mut e, &jdir).unwrap();
        assert_eq!(r.snapshot.as_ref().map(|s| s.1), newest, "{:?}", r.skipped);
        assert_eq!(r.final_seq, last);
        assert_eq!(r.state_hash, scratch.state_hash(), "round {round}");
        // And through the CLI in a new process.
        if jdir.exists() {
            let (text, hash) = ferrex_recover(&jdir);
            assert_eq!(hash, scratch.state_hash(), "round {round}: {text}");
            if let Some(s) = newest {
                assert!(
                    text.contains(&format!("replayed {} commands after seq {s}", last - s)),
                    "{text}"
                );
                via_snapshot += 1;
            }
        }
        eprintln!(
            "round {round}: killed after {delay} ms; {} acks, {} records, {} snapshot file(s), newest {newest:?}",
            acks.len(),
            rec.entries.len(),
            snaps.len()
        );
    }
    assert!(
        via_snapshot > 0,
        "no round got far enough to write a snapshot"
    );
}

/// Runs `journal-load` to completion (batch mode) in `dir`; returns the printed acks.
fn complete_journal(dir: &Path, orders: usize) -> Vec<(u64, u64)> {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrex"))
        .args(["journal-load", "--durability", "batch", "--orders"])
        .arg(orders.to_string())
        .arg("--journal")
        .arg(dir)
        .output()
        .expect("run journal-load");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    acked(&out.stdout)
}

/// Byte offsets where each record of a segment's bytes starts, and the end of the last.
fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut v = vec![HEADER_LEN];
    let mut at = HEADER_LEN;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 8 + len;
        v.push(at);
    }
    assert_eq!(at, bytes.len(), "a clean segment ends on a record boundary");
    v
}

fn only_segment(dir: &Path) -> PathBuf {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segs.sort();
    assert_eq!(segs.len(), 1, "{segs:?}");
    segs.pop().unwrap()
}

#[test]
fn corrupt_or_cut_tail_recovers_exactly_the_good_prefix() {
    let dir = TempDir::new("corrupt");
    let jdir = dir.0.join("journal");
    let acks = complete_journal(&jdir, 20_000);
    assert!(!acks.is_empty());
    let clean = open_dir(&jdir).unwrap();
    assert_eq!(clean.entries.len(), 20_000);
    assert!(clean.truncated.is_none());
    let (_, full) = replay(&clean.entries);
    assert_eq!(ferrex_recover(&jdir).1, full.state_hash());
    let seg = only_segment(&jdir);
    let pristine = std::fs::read(&seg).unwrap();
    let starts = record_starts(&pristine);

    // (offset to damage, how) for: a flipped byte in the middle, a flipped CRC byte, a cut
    // in the middle of the last record.
    let mid = starts[starts.len() / 2] + 13;
    let crc_of_k = starts[12_345] + 5;
    let cut = starts[starts.len() - 2] + 3;
    for (pos, flip) in [(mid, true), (crc_of_k, true), (cut, false)] {
        std::fs::write(&seg, &pristine).unwrap();
        let mut bytes = pristine.clone();
        if flip {
            bytes[pos] ^= 0x5a;
        } else {
            bytes.truncate(pos);
        }
        std::fs::write(&seg, &bytes).unwrap();
        // Records wholly before the damaged one are the good prefix.
        let good = starts.iter().filter(|&&s| s <= pos).count() - 1;
        let rec = open_dir(&jdir).unwrap();
        let t = rec.truncated.clone().expect("the damage is reported");
        assert_eq!(
            t.offset, starts[good] as u64,
            "cut at the last good record's end"
        );
        assert_eq!(rec.entries.len(), good);
        assert_eq!(rec.entries[..], clean.entries[..good]);
        assert_eq!(std::fs::metadata(&seg).unwrap().len(), starts[good] as u64);
        let (_, prefix) = replay(&clean.entries[..good]);
        let (_, recovered) = replay(&rec.entries);
        assert_eq!(recovered.state_hash(), prefix.state_hash());
        assert_eq!(recovered.cmd_seq(), good as u64);
        // The CLI, given the damaged journal again, names the cut and replays the prefix.
        std::fs::write(&seg, &bytes).unwrap();
        let (text, hash) = ferrex_recover(&jdir);
        assert!(
            text.contains("torn tail") && text.contains(&format!("at byte {}", starts[good])),
            "{text}"
        );
        assert!(
            text.contains(&format!("replayed {good} commands")),
            "{text}"
        );
        assert_eq!(hash, prefix.state_hash());
    }
}
