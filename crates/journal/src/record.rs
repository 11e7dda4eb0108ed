//! Record framing: `[len: u32 LE][crc32c: u32 LE over the payload][payload: len bytes]`, and a
//! reader over a byte slice that stops cleanly at a torn or corrupt tail.

use crate::codec::{self, DecodeError, JournalEntry, MAX_PAYLOAD};

/// Bytes of framing before each payload.
pub const FRAME_HEADER: usize = 8;

/// Appends one framed record holding the encoding of `entry` to `out`.
/// Cost: encoding plus one CRC32C over at most [`MAX_PAYLOAD`] bytes.
pub fn write_record(entry: &JournalEntry, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER]);
    codec::encode(entry, out);
    let payload = &out[start + FRAME_HEADER..];
    let len = payload.len() as u32;
    let crc = crc32c::crc32c(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Why a reader stopped before the end of its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TailReason {
    /// Fewer than the 8 framing bytes were left.
    #[error("torn record header: {have} of {FRAME_HEADER} bytes present")]
    ShortHeader {
        /// Bytes present.
        have: usize,
    },
    /// The length field is 0 or larger than any command encodes to.
    #[error("invalid record length {len} (expected 1..={MAX_PAYLOAD})")]
    BadLength {
        /// The length read.
        len: u32,
    },
    /// The length runs past the end of the data.
    #[error("torn record: length {len} but only {have} payload bytes present")]
    Torn {
        /// The length read.
        len: u32,
        /// Payload bytes present.
        have: usize,
    },
    /// The CRC32C of the payload does not match the stored one.
    #[error("CRC32C mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// CRC stored in the frame.
        stored: u32,
        /// CRC of the payload bytes present.
        computed: u32,
    },
    /// The CRC matched but the payload is not a valid command.
    #[error("undecodable payload: {0}")]
    Decode(DecodeError),
}

/// Where and why a reader stopped: `offset` is the end of the last good record (relative to the
/// start of the reader's data plus its base offset), i.e. where the file should be cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad record at byte {offset}: {reason}")]
pub struct Tail {
    /// End of the last good record; the first byte not trusted.
    pub offset: u64,
    /// What was wrong with the bytes at `offset`.
    pub reason: TailReason,
}

/// Iterates the records of a byte slice, yielding `(offset, entry)` for each good record, and
/// stopping at the end of the data or at the first bad record; [`tail`](Self::tail) then says
/// which. A half record is never yielded.
///
/// Cost per record: one CRC32C over the payload and one decode; no allocation.
#[derive(Debug)]
pub struct RecordReader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
    tail: Option<Tail>,
}

impl<'a> RecordReader<'a> {
    /// A reader over `buf`, whose first byte sits at file offset `base` (reported offsets are
    /// file offsets).
    pub fn new(buf: &'a [u8], base: u64) -> RecordReader<'a> {
        RecordReader {
            buf,
            pos: 0,
            base,
            tail: None,
        }
    }

    /// `Some` once the reader stopped at a bad record; `None` while reading or after a clean end.
    pub fn tail(&self) -> Option<Tail> {
        self.tail
    }

    /// File offset of the end of the last good record returned so far.
    pub fn good_end(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn stop(&mut self, reason: TailReason) -> Option<(u64, JournalEntry)> {
        self.tail = Some(Tail {
            offset: self.good_end(),
            reason,
        });
        None
    }
}

impl Iterator for RecordReader<'_> {
    type Item = (u64, JournalEntry);

    fn next(&mut self) -> Option<(u64, JournalEntry)> {
        if self.tail.is_some() {
            return None;
        }
        let rest = &self.buf[self.pos..];
        if rest.is_empty() {
            return None;
        }
        if rest.len() < FRAME_HEADER {
            return self.stop(TailReason::ShortHeader { have: rest.len() });
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let stored = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len == 0 || len as usize > MAX_PAYLOAD {
            return self.stop(TailReason::BadLength { len });
        }
        let have = rest.len() - FRAME_HEADER;
        if (len as usize) > have {
            return self.stop(TailReason::Torn { len, have });
        }
        let payload = &rest[FRAME_HEADER..FRAME_HEADER + len as usize];
        let computed = crc32c::crc32c(payload);
        if computed != stored {
            return self.stop(TailReason::CrcMismatch { stored, computed });
        }
        match codec::decode(payload) {
            Ok(entry) => {
                let at = self.good_end();
                self.pos += FRAME_HEADER + len as usize;
                Some((at, entry))
            }
            Err(e) => self.stop(TailReason::Decode(e)),
        }
    }
}
