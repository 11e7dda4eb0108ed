//! The journal writer: appends batches of entries to segment files with one `write` and (per
//! [`Durability`]) one `fdatasync` per batch.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::codec::{JournalEntry, MAX_PAYLOAD};
use crate::record::{FRAME_HEADER, write_record};
use crate::segment::{HEADER_LEN, SegmentHeader, segment_name, sync_dir};

/// When appended records reach the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// Never `fdatasync`: records reach the OS page cache with each batch's `write`; a machine
    /// crash can lose them (a process crash cannot).
    None,
    /// One `fdatasync` per batch; acknowledgements may be released before it (no release gate).
    #[default]
    Batch,
    /// One `fdatasync` per batch; execution reports are released only once their sequence
    /// number is synced (the release gate reads [`JournalThread::durable`](crate::JournalThread::durable)).
    Sync,
}

impl Durability {
    /// `true` when batches are `fdatasync`ed.
    pub fn syncs(self) -> bool {
        !matches!(self, Durability::None)
    }
}

/// Writer configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterConfig {
    /// Sync policy.
    pub durability: Durability,
    /// A new segment is started before a batch that would take the current one past this many
    /// bytes (a segment always takes at least one batch, so it may exceed the limit by one).
    pub segment_bytes: u64,
}

impl Default for WriterConfig {
    fn default() -> WriterConfig {
        WriterConfig {
            durability: Durability::Batch,
            segment_bytes: 64 << 20,
        }
    }
}

/// What an [`JournalWriter::append_batch`] made safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncedUpTo {
    /// Highest sequence number written (to the OS) so far.
    pub written: u64,
    /// `true` when everything up to `written` has been `fdatasync`ed.
    pub synced: bool,
}

/// Appends entries to the segment files of one directory.
///
/// Entries must arrive with consecutive sequence numbers (`next_seq`, `next_seq + 1`, ...); the
/// writer checks this so that a journal it produced always recovers without gaps.
#[derive(Debug)]
pub struct JournalWriter {
    dir: PathBuf,
    cfg: WriterConfig,
    file: File,
    path: PathBuf,
    seg_len: u64,
    next_seq: u64,
    buf: Vec<u8>,
    bytes_written: u64,
    syncs: u64,
    segments_created: u64,
    failed: bool,
}

impl JournalWriter {
    /// Opens a writer that will append entries starting at `next_seq` (after a recovery: its
    /// `last_seq + 1`; for an empty journal, the first sequence number, e.g. 1).
    ///
    /// It starts a new segment `journal-{next_seq:020}.log`. If that file exists and holds
    /// only a header (a segment created just before a crash), it is reused; any other existing
    /// file of that name is an `AlreadyExists` error.
    pub fn open(dir: &Path, next_seq: u64, cfg: WriterConfig) -> io::Result<JournalWriter> {
        std::fs::create_dir_all(dir)?;
        let (file, path) = create_segment(dir, next_seq, cfg.durability)?;
        Ok(JournalWriter {
            dir: dir.to_path_buf(),
            cfg,
            file,
            path,
            seg_len: HEADER_LEN as u64,
            next_seq,
            buf: Vec::with_capacity(1024 * (FRAME_HEADER + MAX_PAYLOAD)),
            bytes_written: 0,
            syncs: 0,
            segments_created: 1,
            failed: false,
        })
    }

    /// The sequence number the next appended entry must carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The segment currently appended to.
    pub fn current_segment(&self) -> &Path {
        &self.path
    }

    /// The configuration.
    pub fn config(&self) -> WriterConfig {
        self.cfg
    }

    /// Record bytes written so far (framing included, headers excluded).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// `fdatasync` calls made for batches so far.
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// Segments this writer created (including the first).
    pub fn segments_created(&self) -> u64 {
        self.segments_created
    }

    /// Appends `entries` as one batch: encodes them into one buffer, rolls to a new segment
    /// first if the batch would take the current one past the size limit, issues one `write`
    /// and, unless [`Durability::None`], one `fdatasync`.
    ///
    /// An empty batch is a no-op. A sequence number out of order is an `InvalidInput` error and
    /// nothing of the batch is written. After an I/O error the file may hold part of the batch,
    /// so the writer is poisoned: every later call fails with `BrokenPipe`; recover the journal
    /// (which truncates the partial tail) and open a new writer.
    ///
    /// Cost: encoding (~100 ns per entry), one `write` syscall, one `fdatasync` (the dominant
    /// cost: 0.1–10 ms depending on the disk), plus a segment creation on roll-over.
    pub fn append_batch(&mut self, entries: &[JournalEntry]) -> io::Result<SyncedUpTo> {
        if self.failed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "journal writer poisoned by an earlier I/O error; recover and reopen",
            ));
        }
        if entries.is_empty() {
            return Ok(SyncedUpTo {
                written: self.next_seq.wrapping_sub(1),
                synced: true,
            });
        }
        self.buf.clear();
        let mut expect = self.next_seq;
        for e in entries {
            if e.seq != expect {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "journal append out of sequence: expected seq {expect}, got {}",
                        e.seq
                    ),
                ));
            }
            expect = expect.wrapping_add(1);
            write_record(e, &mut self.buf);
        }
        let r = self.write_buf(entries[0].seq, expect);
        self.failed = r.is_err();
        r
    }

    /// Writes the encoded batch in `buf` (first seq `first`, next seq `next`), rolling first
    /// if needed, and syncs per the mode.
    fn write_buf(&mut self, first: u64, next: u64) -> io::Result<SyncedUpTo> {
        let n = self.buf.len() as u64;
        if self.seg_len > HEADER_LEN as u64 && self.seg_len + n > self.cfg.segment_bytes {
            self.roll(first)?;
        }
        self.file.write_all(&self.buf)?;
        self.seg_len += n;
        self.bytes_written += n;
        self.next_seq = next;
        let synced = if self.cfg.durability.syncs() {
            self.file.sync_data()?;
            self.syncs += 1;
            true
        } else {
            false
        };
        Ok(SyncedUpTo {
            written: next.wrapping_sub(1),
            synced,
        })
    }

    /// Closes the current segment (synced unless `Durability::None`) and starts the next one.
    fn roll(&mut self, first_seq: u64) -> io::Result<()> {
        if self.cfg.durability.syncs() {
            self.file.sync_data()?;
        }
        let (file, path) = create_segment(&self.dir, first_seq, self.cfg.durability)?;
        self.file = file;
        self.path = path;
        self.seg_len = HEADER_LEN as u64;
        self.segments_created += 1;
        Ok(())
    }

    /// Syncs the current segment (whatever the durability mode). Cost: one `fdatasync`.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// Creates (or reuses an empty) segment with its header, synced along with the directory entry
/// when the mode syncs.
fn create_segment(dir: &Path, first_seq: u64, d: Durability) -> io::Result<(File, PathBuf)> {
    let path = dir.join(segment_name(first_seq));
    let header = SegmentHeader::new(first_seq).to_bytes();
    let file = match OpenOptions::new().append(true).create_new(true).open(&path) {
        Ok(mut f) => {
            f.write_all(&header)?;
            f
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let existing = std::fs::read(&path)?;
            if existing.len() > HEADER_LEN
                || (!existing.is_empty() && existing[..] != header[..existing.len()])
            {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{}: segment already exists and holds records; recover the journal and \
                         open the writer at its last_seq + 1",
                        path.display()
                    ),
                ));
            }
            let mut f = OpenOptions::new().append(true).open(&path)?;
            f.write_all(&header[existing.len()..])?;
            f
        }
        Err(e) => return Err(e),
    };
    if d.syncs() {
        file.sync_all()?;
        sync_dir(dir)?;
    }
    Ok((file, path))
}
