//! ferrex journal: the sequenced command log of the LMAX design — journal every sequenced input,
//! replay it to recover.
//!
//! - [`codec`]: the versioned little-endian encoding of `(seq, time, CommandKind)`.
//! - [`record`]: `[len u32][crc32c u32][payload]` framing and a reader that stops at a torn tail.
//! - [`segment`]: `journal-{first_seq:020}.log` files with a magic + version header.
//! - [`writer`]: [`JournalWriter`], group commit (one `write` + one `fdatasync` per batch).
//! - [`thread`]: [`JournalThread`], draining an SPSC ring and publishing the durable sequence number.
//! - [`recover`]: [`open_dir`], reading all segments and truncating a torn tail.
//!
//! # Example
//! ```
//! use ferrex_journal::{JournalEntry, JournalWriter, WriterConfig, open_dir};
//! use ferrex_types::{AccountId, Command, CommandKind, RiskControl};
//!
//! let dir = std::env::temp_dir().join(format!("ferrex-journal-doc-{}", std::process::id()));
//! let _ = std::fs::remove_dir_all(&dir);
//! let mut w = JournalWriter::open(&dir, 1, WriterConfig::default()).unwrap();
//! let kill = CommandKind::Risk(RiskControl::Kill { account: AccountId(7) });
//! w.append_batch(&[JournalEntry::new(1, Command::new(10, kill))]).unwrap();
//! let rec = open_dir(&dir).unwrap();
//! assert_eq!(rec.last_seq, Some(1));
//! assert_eq!(rec.entries[0].command.kind, kill);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod codec;
pub mod record;
pub mod recover;
pub mod segment;
pub mod snapshot;
pub mod thread;
pub mod writer;

pub use codec::{DecodeError, FORMAT_VERSION, JournalEntry, MAX_PAYLOAD, decode, encode};
pub use record::{RecordReader, Tail, TailReason};
pub use recover::{RecoverError, Recovery, TruncatedTail, open_dir};
pub use segment::{HEADER_LEN, HeaderError, MAGIC, SegmentHeader, segment_name};
pub use thread::{JournalStats, JournalThread};
pub use writer::{Durability, JournalWriter, SyncedUpTo, WriterConfig};
