//! Writer → recovery round trips, group commit, roll-over, torn tails and corruption, the thread.

#[path = "support/mixed.rs"]
mod mixed;

use std::fs;
use std::path::{Path, PathBuf};

use ferrex_journal::{
    Durability, HEADER_LEN, HeaderError, JournalEntry, JournalThread, JournalWriter, MAGIC,
    RecoverError, TailReason, WriterConfig, open_dir, segment_name,
};

fn cfg(durability: Durability, segment_bytes: u64) -> WriterConfig {
    WriterConfig {
        durability,
        segment_bytes,
    }
}

fn write_all(dir: &Path, entries: &[JournalEntry], batch: usize, c: WriterConfig) -> JournalWriter {
    let mut w = JournalWriter::open(dir, entries[0].seq, c).unwrap();
    for chunk in entries.chunks(batch) {
        let up = w.append_batch(chunk).unwrap();
        assert_eq!(up.written, chunk.last().unwrap().seq);
        assert_eq!(up.synced, c.durability.syncs());
    }
    w
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn round_trip_thousands_of_mixed_commands() {
    for (i, d) in [Durability::None, Durability::Batch, Durability::Sync]
        .into_iter()
        .enumerate()
    {
        let dir = mixed::temp_dir(&format!("rt{i}"));
        let entries = mixed::entries(11 + i as u64, 1, 5000);
        let w = write_all(&dir, &entries, 97, cfg(d, 64 << 20));
        assert_eq!(w.next_seq(), 5001);
        drop(w);
        let rec = open_dir(&dir).unwrap();
        assert_eq!(rec.entries, entries);
        assert_eq!(rec.last_seq, Some(5000));
        assert_eq!(rec.truncated, None);
        assert_eq!(rec.segments, 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn group_commit_one_sync_per_batch() {
    let dir = mixed::temp_dir("group");
    let entries = mixed::entries(3, 1, 1000);
    let w = write_all(&dir, &entries, 64, cfg(Durability::Sync, 64 << 20));
    assert_eq!(w.syncs(), 1000u64.div_ceil(64));
    drop(w);
    let w = write_all(
        &dir.join("none"),
        &entries,
        64,
        cfg(Durability::None, 64 << 20),
    );
    assert_eq!(w.syncs(), 0);
    assert_eq!(open_dir(&dir.join("none")).unwrap().entries, entries);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn out_of_sequence_append_is_rejected_and_writes_nothing() {
    let dir = mixed::temp_dir("oos");
    let entries = mixed::entries(5, 10, 4);
    let mut w = JournalWriter::open(&dir, 10, WriterConfig::default()).unwrap();
    w.append_batch(&entries[..2]).unwrap();
    let err = w.append_batch(&entries[3..]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("expected seq 12, got 13"), "{err}");
    w.append_batch(&entries[2..]).unwrap();
    drop(w);
    assert_eq!(open_dir(&dir).unwrap().entries, entries);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn segments_roll_over_and_recover_in_order() {
    let dir = mixed::temp_dir("roll");
    let entries = mixed::entries(8, 1, 3000);
    let w = write_all(&dir, &entries, 50, cfg(Durability::None, 16 << 10));
    let created = w.segments_created();
    drop(w);
    let segs = segments(&dir);
    assert!(segs.len() >= 5, "{segs:?}");
    assert_eq!(segs.len() as u64, created);
    assert!(segs[0].ends_with(segment_name(1)));
    for s in &segs[1..] {
        // Every later segment starts at a batch boundary.
        let n =
            ferrex_journal::segment::parse_segment_name(s.file_name().unwrap().to_str().unwrap())
                .unwrap();
        assert_eq!((n - 1) % 50, 0, "{s:?}");
    }
    for s in &segs {
        // Each segment stays within the limit plus one batch.
        assert!(fs::metadata(s).unwrap().len() <= (16 << 10) + 50 * 90);
    }
    let rec = open_dir(&dir).unwrap();
    assert_eq!(rec.entries, entries);
    assert_eq!(rec.segments, segs.len());
    // Continue writing after recovery: a new segment at last_seq + 1.
    let more = mixed::entries(9, rec.next_seq_or(1), 10);
    let mut w = JournalWriter::open(&dir, rec.next_seq_or(1), WriterConfig::default()).unwrap();
    w.append_batch(&more).unwrap();
    drop(w);
    let rec2 = open_dir(&dir).unwrap();
    assert_eq!(rec2.last_seq, Some(3010));
    assert_eq!(&rec2.entries[3000..], &more[..]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn gap_between_segments_is_an_error_naming_file_and_seq() {
    let dir = mixed::temp_dir("gap");
    let entries = mixed::entries(8, 1, 2000);
    drop(write_all(
        &dir,
        &entries,
        100,
        cfg(Durability::None, 8 << 10),
    ));
    let segs = segments(&dir);
    assert!(segs.len() >= 3);
    fs::remove_file(&segs[1]).unwrap();
    let err = open_dir(&dir).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RecoverError::Gap { .. }), "{msg}");
    assert!(
        msg.contains(segs[2].file_name().unwrap().to_str().unwrap()),
        "{msg}"
    );
    assert!(msg.contains("sequence gap"), "{msg}");
    fs::remove_dir_all(&dir).unwrap();
}

/// Offsets (file offsets) where each record of a single-segment journal starts, plus the end.
fn record_bounds(path: &Path) -> Vec<u64> {
    let bytes = fs::read(path).unwrap();
    let mut r = ferrex_journal::RecordReader::new(&bytes[HEADER_LEN..], HEADER_LEN as u64);
    let mut v: Vec<u64> = r.by_ref().map(|(o, _)| o).collect();
    assert!(r.tail().is_none());
    v.push(r.good_end());
    v
}

#[test]
fn flipped_byte_in_last_record_stops_at_previous_record() {
    let dir = mixed::temp_dir("flip");
    let entries = mixed::entries(21, 1, 200);
    drop(write_all(
        &dir,
        &entries,
        200,
        cfg(Durability::None, 64 << 20),
    ));
    let path = segments(&dir)[0].clone();
    let bounds = record_bounds(&path);
    let last_start = bounds[bounds.len() - 2];
    let end = bounds[bounds.len() - 1];
    let clean = fs::read(&path).unwrap();
    // Every byte of the last record (framing and payload), every kind of flip.
    for at in last_start..end {
        for x in [0x01u8, 0x80, 0xff] {
            let mut b = clean.clone();
            b[at as usize] ^= x;
            fs::write(&path, &b).unwrap();
            let rec = open_dir(&dir).unwrap();
            assert_eq!(rec.entries, entries[..199], "flip at {at}");
            let t = rec.truncated.expect("a tail");
            assert_eq!(t.offset, last_start);
            assert_eq!(t.dropped_bytes, end - last_start);
            assert_eq!(fs::metadata(&path).unwrap().len(), last_start);
            let msg = t.to_string();
            assert!(
                msg.contains(path.file_name().unwrap().to_str().unwrap()),
                "{msg}"
            );
            assert!(msg.contains(&format!("at byte {last_start}")), "{msg}");
        }
    }
    // A flip in the middle of the last record's payload is a CRC mismatch, with a clear message.
    let mut b = clean.clone();
    let mid = (last_start + 8 + (end - last_start - 8) / 2) as usize;
    b[mid] ^= 0x10;
    fs::write(&path, &b).unwrap();
    let t = open_dir(&dir).unwrap().truncated.unwrap();
    assert!(matches!(t.reason, TailReason::CrcMismatch { .. }));
    let msg = t.to_string();
    assert!(msg.contains("CRC32C mismatch"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
    eprintln!("example message: {msg}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncation_at_every_offset_of_last_two_records() {
    let dir = mixed::temp_dir("trunc");
    let entries = mixed::entries(33, 1, 50);
    drop(write_all(
        &dir,
        &entries,
        7,
        cfg(Durability::None, 64 << 20),
    ));
    let path = segments(&dir)[0].clone();
    let bounds = record_bounds(&path);
    let clean = fs::read(&path).unwrap();
    let from = bounds[bounds.len() - 3];
    let end = *bounds.last().unwrap();
    for cut in from..=end {
        fs::write(&path, &clean[..cut as usize]).unwrap();
        let rec = open_dir(&dir).unwrap();
        // The last complete record at or before `cut`.
        let good = bounds.iter().rposition(|&b| b <= cut).unwrap();
        assert_eq!(rec.entries, entries[..good], "cut at {cut}");
        assert_eq!(rec.last_seq, Some(good as u64));
        assert_eq!(fs::metadata(&path).unwrap().len(), bounds[good]);
        match rec.truncated {
            None => assert_eq!(cut, bounds[good]),
            Some(t) => {
                assert_ne!(cut, bounds[good]);
                assert_eq!(t.offset, bounds[good]);
                assert_eq!(t.dropped_bytes, cut - bounds[good]);
                assert!(matches!(
                    t.reason,
                    TailReason::ShortHeader { .. } | TailReason::Torn { .. }
                ));
            }
        }
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corruption_in_a_non_last_segment_is_an_error() {
    let dir = mixed::temp_dir("midcorrupt");
    let entries = mixed::entries(8, 1, 2000);
    drop(write_all(
        &dir,
        &entries,
        100,
        cfg(Durability::None, 8 << 10),
    ));
    let segs = segments(&dir);
    let mut b = fs::read(&segs[0]).unwrap();
    let n = b.len();
    b[n - 10] ^= 0x55;
    fs::write(&segs[0], &b).unwrap();
    let err = open_dir(&dir).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RecoverError::Corrupt { .. }), "{msg}");
    assert!(
        msg.contains(segs[0].file_name().unwrap().to_str().unwrap()),
        "{msg}"
    );
    assert!(msg.contains("non-final segment"), "{msg}");
    // Nothing was truncated.
    assert_eq!(fs::read(&segs[0]).unwrap().len(), n);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wrong_magic_or_version_is_a_clear_error() {
    let dir = mixed::temp_dir("header");
    let entries = mixed::entries(8, 1, 10);
    drop(write_all(
        &dir,
        &entries,
        10,
        cfg(Durability::None, 64 << 20),
    ));
    let path = segments(&dir)[0].clone();
    let clean = fs::read(&path).unwrap();

    let mut b = clean.clone();
    b[0] = b'X';
    fs::write(&path, &b).unwrap();
    let err = open_dir(&dir).unwrap_err();
    assert!(
        matches!(
            err,
            RecoverError::Header {
                source: HeaderError::BadMagic { .. },
                ..
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("bad magic") && msg.contains("not a ferrex journal segment"),
        "{msg}"
    );
    assert!(
        msg.contains(path.file_name().unwrap().to_str().unwrap()),
        "{msg}"
    );

    let mut b = clean.clone();
    b[8..12].copy_from_slice(&7u32.to_le_bytes());
    fs::write(&path, &b).unwrap();
    let err = open_dir(&dir).unwrap_err();
    assert!(
        matches!(
            err,
            RecoverError::Header {
                source: HeaderError::BadVersion { found: 7 },
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("unsupported format version 7"),
        "{err}"
    );

    let mut b = clean.clone();
    b[16] = 9; // first_seq in the header no longer matches the name
    fs::write(&path, &b).unwrap();
    assert!(matches!(
        open_dir(&dir).unwrap_err(),
        RecoverError::NameMismatch {
            header: 9,
            name: 1,
            ..
        }
    ));
    assert_eq!(&clean[..8], &MAGIC);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn torn_header_of_a_fresh_last_segment_is_cut_and_reused() {
    let dir = mixed::temp_dir("freshseg");
    let entries = mixed::entries(8, 1, 20);
    drop(write_all(
        &dir,
        &entries,
        20,
        cfg(Durability::None, 64 << 20),
    ));
    // A crash right after creating the next segment, mid-header.
    let next = dir.join(segment_name(21));
    let header = ferrex_journal::SegmentHeader::new(21).to_bytes();
    fs::write(&next, &header[..10]).unwrap();
    let rec = open_dir(&dir).unwrap();
    assert_eq!(rec.last_seq, Some(20));
    let t = rec.truncated.unwrap();
    assert_eq!(t.dropped_bytes, 10);
    assert_eq!(fs::metadata(&next).unwrap().len(), 0);
    // The writer reuses the empty segment.
    let more = mixed::entries(9, 21, 5);
    let mut w = JournalWriter::open(&dir, 21, WriterConfig::default()).unwrap();
    w.append_batch(&more).unwrap();
    drop(w);
    let rec = open_dir(&dir).unwrap();
    assert_eq!(rec.last_seq, Some(25));
    assert_eq!(rec.truncated, None);
    // But a writer never clobbers a segment that holds records.
    let err = JournalWriter::open(&dir, 21, WriterConfig::default()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_or_missing_directory_is_an_empty_journal() {
    let dir = mixed::temp_dir("empty");
    let rec = open_dir(&dir).unwrap();
    assert_eq!(rec.last_seq, None);
    assert_eq!(rec.next_seq_or(1), 1);
    let rec = open_dir(&dir.join("missing")).unwrap();
    assert!(rec.entries.is_empty());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn thread_drains_ring_publishes_durable_seq_and_joins_on_drop() {
    for d in [Durability::Sync, Durability::None] {
        let dir = mixed::temp_dir(&format!("thread-{d:?}"));
        let entries = mixed::entries(77, 1, 20_000);
        let (mut tx, rx) = ferrex_ring::channel::<JournalEntry>(1024);
        let w = JournalWriter::open(&dir, 1, cfg(d, 256 << 10)).unwrap();
        let t = JournalThread::spawn(w, rx, 256).unwrap();
        let durable = t.durable();
        assert_eq!(t.durable_seq(), 0);
        let mut i = 0;
        let t0 = std::time::Instant::now();
        while i < entries.len() {
            i += tx.push_slice(&entries[i..]);
            assert!(!tx.is_abandoned(), "the journal thread is gone");
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(120),
                "journal stuck at {i}"
            );
            if i < entries.len() {
                std::thread::yield_now();
            }
            // The gate never runs ahead of what was pushed.
            assert!(durable.load(std::sync::atomic::Ordering::Acquire) <= i as u64);
        }
        let start = std::time::Instant::now();
        while t.durable_seq() < 20_000 {
            assert!(
                start.elapsed().as_secs() < 30,
                "durable seq stuck at {}",
                t.durable_seq()
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drop(tx);
        let stats = t.join().unwrap();
        assert_eq!(stats.entries, 20_000);
        assert_eq!(stats.last_seq, 20_000);
        assert!(stats.batches >= 20_000 / 256);
        assert!(stats.max_batch >= 1 && stats.max_batch <= 256, "{stats:?}");
        assert_eq!(stats.syncs, if d.syncs() { stats.batches } else { 0 });
        let rec = open_dir(&dir).unwrap();
        assert_eq!(rec.entries, entries);
        assert!(rec.segments > 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn thread_exits_when_producer_dropped_with_entries_pending() {
    let dir = mixed::temp_dir("thread-drop");
    let entries = mixed::entries(78, 1, 500);
    let (mut tx, rx) = ferrex_ring::channel::<JournalEntry>(1024);
    assert_eq!(tx.push_slice(&entries), 500);
    drop(tx);
    let w = JournalWriter::open(&dir, 1, WriterConfig::default()).unwrap();
    let t = JournalThread::spawn(w, rx, 64).unwrap();
    let durable = t.durable();
    let stats = t.join().unwrap();
    assert_eq!(stats.entries, 500);
    assert_eq!(durable.load(std::sync::atomic::Ordering::Acquire), 500);
    assert_eq!(open_dir(&dir).unwrap().entries, entries);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn thread_reports_io_error_on_join() {
    let dir = mixed::temp_dir("thread-err");
    let (mut tx, rx) = ferrex_ring::channel::<JournalEntry>(16);
    let w = JournalWriter::open(&dir, 1, WriterConfig::default()).unwrap();
    let t = JournalThread::spawn(w, rx, 8).unwrap();
    // Seq 5 when 1 is expected: the writer refuses, the thread stops with the error.
    tx.try_push(mixed::entries(1, 5, 1)[0]).unwrap();
    let err = t.join().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(tx.is_abandoned());
    fs::remove_dir_all(&dir).unwrap();
}
