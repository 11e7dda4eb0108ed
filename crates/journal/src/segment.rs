//! Segment files: naming, the file header, and listing a journal directory.
//!
//! A segment is `journal-{first_seq:020}.log`: a 24-byte header followed by records.
//!
//! ```text
//! magic: [u8; 8] = b"FRXJRNL\0" | version: u32 LE | reserved: u32 (0) | first_seq: u64 LE
//! ```

use std::path::{Path, PathBuf};
use std::{fs, io};

use crate::codec::FORMAT_VERSION;

/// The 8 bytes every segment starts with.
pub const MAGIC: [u8; 8] = *b"FRXJRNL\0";

/// Bytes of the segment header.
pub const HEADER_LEN: usize = 24;

/// A decoded segment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Format version of the records that follow.
    pub version: u32,
    /// Sequence number of the first record the segment holds (or will hold).
    pub first_seq: u64,
}

/// What is wrong with a segment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Fewer than [`HEADER_LEN`] bytes.
    #[error("file header truncated: {have} of {HEADER_LEN} bytes")]
    Short {
        /// Bytes present.
        have: usize,
    },
    /// The first 8 bytes are not [`MAGIC`].
    #[error("bad magic {found:02x?} (expected {MAGIC:02x?}): not a ferrex journal segment")]
    BadMagic {
        /// The bytes found.
        found: [u8; 8],
    },
    /// A format version this build does not read.
    #[error("unsupported format version {found} (this build reads version {FORMAT_VERSION})")]
    BadVersion {
        /// The version found.
        found: u32,
    },
}

impl SegmentHeader {
    /// The header of a new segment in the current format.
    pub fn new(first_seq: u64) -> SegmentHeader {
        SegmentHeader {
            version: FORMAT_VERSION,
            first_seq,
        }
    }

    /// The 24 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[16..24].copy_from_slice(&self.first_seq.to_le_bytes());
        b
    }

    /// Parses and validates the header at the start of `buf`.
    pub fn parse(buf: &[u8]) -> Result<SegmentHeader, HeaderError> {
        if buf.len() < HEADER_LEN {
            return Err(HeaderError::Short { have: buf.len() });
        }
        let mut found = [0u8; 8];
        found.copy_from_slice(&buf[..8]);
        if found != MAGIC {
            return Err(HeaderError::BadMagic { found });
        }
        let version = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]);
        if version != FORMAT_VERSION {
            return Err(HeaderError::BadVersion { found: version });
        }
        let mut s = [0u8; 8];
        s.copy_from_slice(&buf[16..24]);
        Ok(SegmentHeader {
            version,
            first_seq: u64::from_le_bytes(s),
        })
    }
}

/// The file name of the segment whose first record is `first_seq`.
pub fn segment_name(first_seq: u64) -> String {
    format!("journal-{first_seq:020}.log")
}

/// The first sequence number encoded in a segment file name, or `None` if `name` is not one.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("journal-")?.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segments of `dir`, sorted by first sequence number. Other files are ignored.
pub fn list_segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        if let Some(seq) = e.file_name().to_str().and_then(parse_segment_name) {
            out.push((seq, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Flushes the directory entry of newly created files (`fsync` on the directory).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}
