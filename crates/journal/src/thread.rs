//! The journal thread: drains sequenced entries from an SPSC ring in batches, appends and syncs
//! them (group commit), and publishes the highest durable sequence number.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use ferrex_ring::Consumer;

use crate::codec::JournalEntry;
use crate::writer::{Durability, JournalWriter};

/// Counters of a journal thread's life, returned by [`JournalThread::join`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Entries appended.
    pub entries: u64,
    /// Batches appended (one `write`, and one `fdatasync` when the mode syncs, each).
    pub batches: u64,
    /// Record bytes written.
    pub bytes: u64,
    /// Highest sequence number appended (the writer's `next_seq - 1`).
    pub last_seq: u64,
    /// `fdatasync` calls made for batches (0 with [`Durability::None`]).
    pub syncs: u64,
    /// Largest batch appended, in entries.
    pub max_batch: u64,
}

/// A running journal thread. It owns the [`JournalWriter`] and the ring's consumer end.
///
/// The engine pushes each sequenced [`JournalEntry`] into the ring (never waiting on I/O: a full
/// ring is back-pressure the engine decides on). The thread takes whatever is in the ring, up to
/// `max_batch` entries, as one batch, appends it with one `write` + one `fdatasync`, then stores
/// the batch's last sequence number into [`durable`](Self::durable) (Release). In
/// [`Durability::Sync`] the release gate holds an execution report until its sequence number is
/// `<=` that value. With [`Durability::None`] the published value is the highest *written*
/// sequence number (nothing is ever synced).
///
/// The thread stops when the producer end is dropped and the ring is drained; it also stops at
/// the first I/O error, which [`join`](Self::join) returns (the durable sequence number then
/// stops advancing and the consumer end is dropped, so the producer sees the ring abandoned).
#[derive(Debug)]
pub struct JournalThread {
    handle: JoinHandle<io::Result<JournalStats>>,
    durable: Arc<AtomicU64>,
}

impl JournalThread {
    /// Spawns the thread, named `ferrex-journal`. `max_batch` caps entries per batch (>= 1).
    /// The durable sequence number starts at `writer.next_seq() - 1`.
    pub fn spawn(
        mut writer: JournalWriter,
        mut rx: Consumer<JournalEntry>,
        max_batch: usize,
    ) -> io::Result<JournalThread> {
        let max_batch = max_batch.max(1);
        let durable = Arc::new(AtomicU64::new(writer.next_seq().wrapping_sub(1)));
        let published = Arc::clone(&durable);
        let handle = std::thread::Builder::new()
            .name("ferrex-journal".into())
            .spawn(move || {
                let mut batch: Vec<JournalEntry> = Vec::with_capacity(max_batch);
                let mut stats = JournalStats {
                    last_seq: writer.next_seq().wrapping_sub(1),
                    ..JournalStats::default()
                };
                let mut idle = 0u32;
                loop {
                    batch.clear();
                    rx.read_batch(max_batch, |e| batch.push(e));
                    if batch.is_empty() {
                        if rx.is_abandoned() {
                            // The flag is acquired: one more read sees everything pushed.
                            rx.read_batch(max_batch, |e| batch.push(e));
                            if batch.is_empty() {
                                break;
                            }
                        } else {
                            idle = idle.saturating_add(1);
                            if idle < 64 {
                                std::hint::spin_loop();
                            } else if idle < 128 {
                                std::thread::yield_now();
                            } else {
                                std::thread::sleep(Duration::from_micros(50));
                            }
                            continue;
                        }
                    }
                    idle = 0;
                    let up_to = writer.append_batch(&batch)?;
                    stats.entries += batch.len() as u64;
                    stats.batches += 1;
                    stats.max_batch = stats.max_batch.max(batch.len() as u64);
                    stats.last_seq = up_to.written;
                    if up_to.synced || writer.config().durability == Durability::None {
                        published.store(up_to.written, Ordering::Release);
                    }
                }
                stats.bytes = writer.bytes_written();
                stats.syncs = writer.syncs();
                Ok(stats)
            })?;
        Ok(JournalThread { handle, durable })
    }

    /// The published durable sequence number (shared; read it with `Ordering::Acquire`).
    /// Cost of a read: one atomic load of a line the journal thread writes once per batch.
    pub fn durable(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.durable)
    }

    /// The durable sequence number now (Acquire load).
    pub fn durable_seq(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Waits for the thread to finish (drop the producer first) and returns its counters or its
    /// I/O error. A panic in the thread is reported as an `io::Error` of kind `Other`.
    pub fn join(self) -> io::Result<JournalStats> {
        match self.handle.join() {
            Ok(r) => r,
            Err(_) => Err(io::Error::other("journal thread panicked")),
        }
    }
}
