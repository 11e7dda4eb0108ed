//! Recovery: read every segment of a journal directory in order, check sequence continuity, and
//! cut a torn tail off the last segment.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use crate::codec::JournalEntry;
use crate::record::{RecordReader, TailReason};
use crate::segment::{HEADER_LEN, HeaderError, SegmentHeader, list_segments};

/// A torn tail cut off the last segment during recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TruncatedTail {
    /// The segment that was cut.
    pub path: PathBuf,
    /// The new length of the file: the end of its last good record.
    pub offset: u64,
    /// Bytes removed.
    pub dropped_bytes: u64,
    /// What was wrong at `offset`.
    pub reason: TailReason,
}

impl std::fmt::Display for TruncatedTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: torn tail at byte {}: {}; truncated {} bytes",
            self.path.display(),
            self.offset,
            self.reason,
            self.dropped_bytes
        )
    }
}

/// The result of [`open_dir`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Every good entry, in sequence order.
    pub entries: Vec<JournalEntry>,
    /// Sequence number of the last entry, `None` for an empty journal.
    pub last_seq: Option<u64>,
    /// The tail cut off the last segment, if there was one.
    pub truncated: Option<TruncatedTail>,
    /// Segments read.
    pub segments: usize,
}

impl Recovery {
    /// The sequence number a writer continuing this journal starts at (`last_seq + 1`), or
    /// `default` for an empty journal.
    pub fn next_seq_or(&self, default: u64) -> u64 {
        self.last_seq.map_or(default, |s| s + 1)
    }
}

/// Why a journal could not be recovered.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// An I/O error on `path`.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A segment header is invalid (bad magic, version, or a short header in a non-last segment).
    #[error("{}: {source}", path.display())]
    Header {
        /// The segment.
        path: PathBuf,
        /// What is wrong.
        source: HeaderError,
    },
    /// The header's first sequence number disagrees with the file name.
    #[error("{}: header says first seq {header}, file name says {name}", path.display())]
    NameMismatch {
        /// The segment.
        path: PathBuf,
        /// First seq in the header.
        header: u64,
        /// First seq in the name.
        name: u64,
    },
    /// A sequence number is not the one expected (a gap, a repeat, or a reordering).
    #[error("{}: sequence gap at byte {offset}: expected seq {expected}, found {found}", path.display())]
    Gap {
        /// The segment.
        path: PathBuf,
        /// Byte offset of the record (or 0 for the header's first seq).
        offset: u64,
        /// The sequence number expected.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// A bad record in a segment that is not the last: not a torn tail, real corruption.
    #[error("{}: corrupt record at byte {offset} in a non-final segment: {reason}", path.display())]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// End of the last good record.
        offset: u64,
        /// What is wrong.
        reason: TailReason,
    },
}

/// Reads the journal in `dir`: all segments in sequence order, checking that sequence numbers
/// run on without a gap within and across segments. A bad record in the **last** segment is a
/// torn tail: the file is cut (`set_len` + `fdatasync`) to the end of the last good record and
/// the cut is reported in [`Recovery::truncated`]. A bad record anywhere else is an error, as is
/// a bad header. A last segment shorter than its header (created just before a crash) is cut to
/// zero bytes and reported; the writer completes it when it reopens at that sequence number.
///
/// A missing directory is an empty journal. Cost: reads every segment once (one CRC32C and one
/// decode per record) and holds all entries in memory.
pub fn open_dir(dir: &Path) -> Result<Recovery, RecoverError> {
    let mut rec = Recovery::default();
    let segs = match list_segments(dir) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(rec),
        Err(source) => {
            return Err(RecoverError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let n = segs.len();
    let mut expected: Option<u64> = None;
    for (i, (name_seq, path)) in segs.into_iter().enumerate() {
        let last = i + 1 == n;
        let io_err = |source| RecoverError::Io {
            path: path.clone(),
            source,
        };
        let bytes = std::fs::read(&path).map_err(io_err)?;
        rec.segments += 1;
        let header = match SegmentHeader::parse(&bytes) {
            Ok(h) => h,
            Err(HeaderError::Short { have })
                if last && bytes[..] == SegmentHeader::new(name_seq).to_bytes()[..have] =>
            {
                // A segment created just before a crash: nothing in it was ever acknowledged.
                if have > 0 {
                    truncate(&path, 0).map_err(io_err)?;
                }
                rec.truncated = (have > 0).then(|| TruncatedTail {
                    path: path.clone(),
                    offset: 0,
                    dropped_bytes: have as u64,
                    reason: TailReason::ShortHeader { have },
                });
                if let Some(exp) = expected
                    && exp != name_seq
                {
                    return Err(RecoverError::Gap {
                        path,
                        offset: 0,
                        expected: exp,
                        found: name_seq,
                    });
                }
                continue;
            }
            Err(source) => return Err(RecoverError::Header { path, source }),
        };
        if header.first_seq != name_seq {
            return Err(RecoverError::NameMismatch {
                path,
                header: header.first_seq,
                name: name_seq,
            });
        }
        let mut exp = match expected {
            Some(e) if e != header.first_seq => {
                return Err(RecoverError::Gap {
                    path,
                    offset: 0,
                    expected: e,
                    found: header.first_seq,
                });
            }
            _ => header.first_seq,
        };
        let mut reader = RecordReader::new(&bytes[HEADER_LEN..], HEADER_LEN as u64);
        for (offset, entry) in reader.by_ref() {
            if entry.seq != exp {
                return Err(RecoverError::Gap {
                    path,
                    offset,
                    expected: exp,
                    found: entry.seq,
                });
            }
            exp = exp.wrapping_add(1);
            rec.last_seq = Some(entry.seq);
            rec.entries.push(entry);
        }
        expected = Some(exp);
        if let Some(tail) = reader.tail() {
            if !last {
                return Err(RecoverError::Corrupt {
                    path,
                    offset: tail.offset,
                    reason: tail.reason,
                });
            }
            truncate(&path, tail.offset).map_err(io_err)?;
            rec.truncated = Some(TruncatedTail {
                dropped_bytes: bytes.len() as u64 - tail.offset,
                path,
                offset: tail.offset,
                reason: tail.reason,
            });
        }
    }
    Ok(rec)
}

/// Cuts `path` to `len` bytes and syncs it.
fn truncate(path: &Path, len: u64) -> io::Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()
}
