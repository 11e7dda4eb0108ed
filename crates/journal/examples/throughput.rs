//! Journal throughput on this machine's disk: records/s and MB/s for each durability mode and
//! batch sizes 1, 64, 1024, through `JournalWriter::append_batch` (one `write` + one
//! `fdatasync` per batch when the mode syncs).
//!
//! ```text
//! cargo run --release -p ferrex-journal --example throughput [DIR] [SECONDS_PER_CASE]
//! ```
//! DIR defaults to the system temp directory; each case runs for ~1 s (or 2M records), then the same
//! through a `JournalThread` fed by an SPSC ring (the batch is whatever accumulated, up to 1024).

use std::time::{Duration, Instant};

use ferrex_journal::{Durability, JournalEntry, JournalThread, JournalWriter, WriterConfig};
use ferrex_types::{
    AccountId, CancelOrder, Command, CommandKind, InstrumentId, NewOrder, OrderId, Price, Qty, Side,
};

fn entry(seq: u64) -> JournalEntry {
    let kind = if seq.is_multiple_of(3) {
        CommandKind::Cancel(CancelOrder {
            order_id: OrderId(seq - 1),
            account: AccountId(1),
            instrument: InstrumentId(1),
        })
    } else {
        CommandKind::New(NewOrder {
            order_id: OrderId(seq),
            price: Price(10_000 + (seq % 50) as i64),
            qty: Qty(1 + seq % 10),
            account: AccountId((seq % 8) as u32),
            instrument: InstrumentId(1),
            side: if seq.is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            },
            ..NewOrder::default()
        })
    };
    JournalEntry::new(seq, Command::new(seq * 100, kind))
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("ferrex-journal-bench-{}", std::process::id()));
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let budget = Duration::from_secs_f64(secs);
    println!("dir: {}", base.display());
    println!(
        "{:<6} {:>6} {:>12} {:>9} {:>10} {:>12}",
        "mode", "batch", "records/s", "MB/s", "syncs/s", "us/batch"
    );
    for mode in [Durability::None, Durability::Batch, Durability::Sync] {
        for batch in [1usize, 64, 1024] {
            let _ = std::fs::remove_dir_all(&base);
            let cfg = WriterConfig {
                durability: mode,
                segment_bytes: 64 << 20,
            };
            let mut w = JournalWriter::open(&base, 1, cfg)?;
            let entries: Vec<JournalEntry> = (1..=batch as u64).map(entry).collect();
            let mut buf = entries.clone();
            let mut seq = 1u64;
            let start = Instant::now();
            let mut batches = 0u64;
            while start.elapsed() < budget && seq < 2_000_000 {
                for (i, e) in buf.iter_mut().enumerate() {
                    *e = entries[i];
                    e.seq = seq + i as u64;
                }
                w.append_batch(&buf)?;
                seq += batch as u64;
                batches += 1;
            }
            let el = start.elapsed().as_secs_f64();
            let records = seq - 1;
            println!(
                "{:<6} {:>6} {:>12.0} {:>9.1} {:>10.0} {:>12.1}",
                format!("{mode:?}"),
                batch,
                records as f64 / el,
                w.bytes_written() as f64 / el / 1e6,
                w.syncs() as f64 / el,
                el * 1e6 / batches as f64,
            );
        }
    }
    println!();
    println!("through JournalThread (ring 4096, max_batch 1024), 200k entries pushed flat out:");
    println!(
        "{:<6} {:>12} {:>9} {:>10} {:>12}",
        "mode", "records/s", "MB/s", "batches", "avg batch"
    );
    for mode in [Durability::None, Durability::Batch, Durability::Sync] {
        let _ = std::fs::remove_dir_all(&base);
        let cfg = WriterConfig {
            durability: mode,
            segment_bytes: 64 << 20,
        };
        let w = JournalWriter::open(&base, 1, cfg)?;
        let (mut tx, rx) = ferrex_ring::channel::<JournalEntry>(4096);
        let t = JournalThread::spawn(w, rx, 1024)?;
        let n = 200_000u64;
        let start = Instant::now();
        let mut seq = 1;
        while seq <= n {
            match tx.try_push(entry(seq)) {
                Ok(()) => seq += 1,
                Err(_) => std::hint::spin_loop(),
            }
        }
        while t.durable_seq() < n {
            std::hint::spin_loop();
        }
        let el = start.elapsed().as_secs_f64();
        drop(tx);
        let stats = t.join()?;
        println!(
            "{:<6} {:>12.0} {:>9.1} {:>10} {:>12.1}",
            format!("{mode:?}"),
            n as f64 / el,
            stats.bytes as f64 / el / 1e6,
            stats.batches,
            stats.entries as f64 / stats.batches as f64,
        );
    }
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}
