//! MoldUDP64 framing: downstream packets, request packets, a packetizer and a receiver-side
//! reassembler.
//!
//! A downstream packet is a 20-byte header — session (10 bytes, ASCII, space padded), sequence
//! number of the first message (u64, big-endian), message count (u16, big-endian) — followed by
//! `count` message blocks, each a u16 big-endian length and that many bytes. Sequence numbers
//! start at 1. A packet with count 0 is a heartbeat and carries the next sequence number the
//! transmitter will use; count `0xFFFF` marks the end of the session (also with the next
//! sequence number, no messages). A request packet is session + first sequence number + count
//! (20 bytes); the answer is the original messages in ordinary downstream packets.
//!
//! Decoding checks every length against the buffer and never panics.

use std::collections::BTreeMap;

/// Bytes of the session field.
pub const SESSION_LEN: usize = 10;
/// Bytes of a downstream packet header (and of a whole request packet).
pub const HEADER_LEN: usize = 20;
/// Bytes of a request packet.
pub const REQUEST_LEN: usize = 20;
/// Message count of an end-of-session packet.
pub const END_OF_SESSION: u16 = 0xFFFF;
/// Most messages a data packet may carry (0xFFFF is reserved for end of session).
pub const MAX_COUNT: u16 = 0xFFFE;

/// A MoldUDP64 session name: 10 ASCII bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Session(pub [u8; SESSION_LEN]);

impl Session {
    /// A session from text: printable ASCII, at most 10 characters, space padded on the right.
    /// `None` for anything else. O(1).
    pub fn new(name: &str) -> Option<Session> {
        let b = name.as_bytes();
        if b.len() > SESSION_LEN || !b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            return None;
        }
        let mut s = [b' '; SESSION_LEN];
        s[..b.len()].copy_from_slice(b);
        Some(Session(s))
    }
}

/// What a malformed MoldUDP64 packet or request looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoldError {
    /// Fewer bytes than a header.
    #[error("packet of {len} bytes is shorter than the 20-byte MoldUDP64 header")]
    ShortHeader {
        /// Bytes received.
        len: usize,
    },
    /// A message block runs past the end of the packet.
    #[error("message block {index} at byte offset {offset} runs past the end of the packet")]
    TruncatedBlock {
        /// Index of the block in the packet.
        index: u16,
        /// Byte offset of its length field.
        offset: usize,
    },
    /// Bytes left over after the announced message blocks.
    #[error("{extra} trailing bytes after {count} message blocks")]
    TrailingBytes {
        /// The message count.
        count: u16,
        /// Bytes left over.
        extra: usize,
    },
    /// An end-of-session packet or heartbeat that carries a payload.
    #[error("control packet (count {count}) carries {extra} payload bytes")]
    ControlWithPayload {
        /// The count field.
        count: u16,
        /// Payload bytes.
        extra: usize,
    },
    /// A request packet that is not exactly 20 bytes.
    #[error("request packet must be 20 bytes, got {len}")]
    RequestLength {
        /// Bytes received.
        len: usize,
    },
}

/// The kind of a downstream packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketKind {
    /// Carries messages.
    Data,
    /// Count 0: nothing new; `seq` is the next sequence number.
    Heartbeat,
    /// Count 0xFFFF: the session is over; `seq` is the next sequence number.
    EndOfSession,
}

/// A decoded downstream packet (borrowing the buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Session.
    pub session: Session,
    /// Sequence number of the first message (for control packets: the next sequence number).
    pub seq: u64,
    /// The count field as sent.
    pub count: u16,
    /// The message blocks (lengths included), validated.
    blocks: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Data, heartbeat or end of session.
    pub fn kind(&self) -> PacketKind {
        match self.count {
            0 => PacketKind::Heartbeat,
            END_OF_SESSION => PacketKind::EndOfSession,
            _ => PacketKind::Data,
        }
    }

    /// Number of messages carried (0 for control packets).
    pub fn message_count(&self) -> u16 {
        if self.count == END_OF_SESSION {
            0
        } else {
            self.count
        }
    }

    /// The messages with their sequence numbers, in order.
    pub fn messages(&self) -> Messages<'a> {
        Messages {
            rest: self.blocks,
            seq: self.seq,
        }
    }
}

/// Iterator over `(sequence number, message bytes)` of a validated packet.
#[derive(Clone, Debug)]
pub struct Messages<'a> {
    rest: &'a [u8],
    seq: u64,
}

impl<'a> Iterator for Messages<'a> {
    type Item = (u64, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let len_bytes = self.rest.get(..2)?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        let msg = self.rest.get(2..2 + len)?;
        self.rest = &self.rest[2 + len..];
        let s = self.seq;
        self.seq = self.seq.wrapping_add(1);
        Some((s, msg))
    }
}

fn read_header(buf: &[u8]) -> Option<(Session, u64, u16)> {
    let s: [u8; SESSION_LEN] = buf.get(..SESSION_LEN)?.try_into().ok()?;
    let seq = u64::from_be_bytes(buf.get(10..18)?.try_into().ok()?);
    let count = u16::from_be_bytes(buf.get(18..20)?.try_into().ok()?);
    Some((Session(s), seq, count))
}

/// Decodes and validates one downstream packet. O(count).
pub fn decode_packet(buf: &[u8]) -> Result<Packet<'_>, MoldError> {
    let (session, seq, count) =
        read_header(buf).ok_or(MoldError::ShortHeader { len: buf.len() })?;
    let body = &buf[HEADER_LEN..];
    if count == 0 || count == END_OF_SESSION {
        if !body.is_empty() {
            return Err(MoldError::ControlWithPayload {
                count,
                extra: body.len(),
            });
        }
        return Ok(Packet {
            session,
            seq,
            count,
            blocks: body,
        });
    }
    let mut off = 0usize;
    for index in 0..count {
        let Some(l) = body.get(off..off + 2) else {
            return Err(MoldError::TruncatedBlock {
                index,
                offset: HEADER_LEN + off,
            });
        };
        let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
        if body.len() < off + 2 + len {
            return Err(MoldError::TruncatedBlock {
                index,
                offset: HEADER_LEN + off,
            });
        }
        off += 2 + len;
    }
    if off != body.len() {
        return Err(MoldError::TrailingBytes {
            count,
            extra: body.len() - off,
        });
    }
    Ok(Packet {
        session,
        seq,
        count,
        blocks: body,
    })
}

/// Writes a control packet (heartbeat: `count` 0; end of session: [`END_OF_SESSION`]).
pub fn encode_control(out: &mut Vec<u8>, session: &Session, next_seq: u64, count: u16) {
    out.extend_from_slice(&session.0);
    out.extend_from_slice(&next_seq.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
}

/// A retransmission request: `count` messages from sequence number `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Session.
    pub session: Session,
    /// First sequence number wanted.
    pub seq: u64,
    /// How many messages.
    pub count: u16,
}

impl Request {
    /// The 20-byte wire form.
    pub fn encode(&self) -> [u8; REQUEST_LEN] {
        let mut b = [0u8; REQUEST_LEN];
        b[..10].copy_from_slice(&self.session.0);
        b[10..18].copy_from_slice(&self.seq.to_be_bytes());
        b[18..20].copy_from_slice(&self.count.to_be_bytes());
        b
    }

    /// Decodes exactly 20 bytes.
    pub fn decode(buf: &[u8]) -> Result<Request, MoldError> {
        if buf.len() != REQUEST_LEN {
            return Err(MoldError::RequestLength { len: buf.len() });
        }
        let (session, seq, count) =
            read_header(buf).ok_or(MoldError::RequestLength { len: buf.len() })?;
        Ok(Request {
            session,
            seq,
            count,
        })
    }
}

/// Packs sequenced messages into downstream packets of at most `max_packet` bytes (header
/// included; a single message larger than that still goes out alone in its own packet).
#[derive(Clone, Debug)]
pub struct Packetizer {
    session: Session,
    max_packet: usize,
    /// Sequence number of the next message pushed.
    next_seq: u64,
    buf: Vec<u8>,
    count: u16,
}

impl Packetizer {
    /// A packetizer whose first message gets sequence number `first_seq` (1 for a new session).
    pub fn new(session: Session, max_packet: usize, first_seq: u64) -> Packetizer {
        let mut p = Packetizer {
            session,
            max_packet: max_packet.max(HEADER_LEN + 2),
            next_seq: first_seq,
            buf: Vec::with_capacity(max_packet.max(HEADER_LEN + 2)),
            count: 0,
        };
        p.reset();
        p
    }

    fn reset(&mut self) {
        self.buf.clear();
        encode_control(&mut self.buf, &self.session, self.next_seq, 0);
        self.count = 0;
    }

    /// Sequence number the next pushed message will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Messages waiting in the open packet.
    pub fn pending(&self) -> u16 {
        self.count
    }

    /// Adds one message (at most 65,535 bytes; longer input is cut to that length). Calls
    /// `emit` with a finished packet when the open one is full. Returns the message's sequence
    /// number. O(message length).
    pub fn push(&mut self, msg: &[u8], mut emit: impl FnMut(&[u8])) -> u64 {
        let msg = &msg[..msg.len().min(usize::from(u16::MAX))];
        if self.count > 0
            && (self.buf.len() + 2 + msg.len() > self.max_packet || self.count == MAX_COUNT)
        {
            self.flush(&mut emit);
        }
        if self.count == 0 {
            // The header's sequence number is the first message's.
            self.buf[10..18].copy_from_slice(&self.next_seq.to_be_bytes());
        }
        self.buf
            .extend_from_slice(&(msg.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(msg);
        self.count += 1;
        self.buf[18..20].copy_from_slice(&self.count.to_be_bytes());
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Emits the open packet if it has messages.
    pub fn flush(&mut self, mut emit: impl FnMut(&[u8])) {
        if self.count > 0 {
            emit(&self.buf);
            self.reset();
        }
    }

    /// The heartbeat packet for the current position.
    pub fn heartbeat(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER_LEN);
        encode_control(&mut v, &self.session, self.next_seq, 0);
        v
    }

    /// The end-of-session packet for the current position.
    pub fn end_of_session(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER_LEN);
        encode_control(&mut v, &self.session, self.next_seq, END_OF_SESSION);
        v
    }
}

/// Receiver side: puts the messages of packets that may arrive out of order, duplicated or not at
/// all back into sequence, and says which range is missing.
///
/// Packets of another session than the first one seen are ignored (counted). Messages before
/// the next expected sequence number are duplicates and dropped; messages after a gap are held
/// until the gap is filled (by later packets or by a retransmission fed through
/// [`Reassembler::on_packet`] as well).
#[derive(Clone, Debug, Default)]
pub struct Reassembler {
    session: Option<Session>,
    next_seq: u64,
    /// Highest sequence number + 1 announced by any packet (data or control).
    horizon: u64,
    held: BTreeMap<u64, Vec<u8>>,
    ended: bool,
    /// Packets of another session.
    pub foreign_packets: u64,
    /// Messages received more than once.
    pub duplicates: u64,
}

impl Reassembler {
    /// Expects the stream to start at sequence number 1.
    pub fn new() -> Reassembler {
        Reassembler {
            next_seq: 1,
            horizon: 1,
            ..Reassembler::default()
        }
    }

    /// The session, once a packet was seen.
    pub fn session(&self) -> Option<Session> {
        self.session
    }

    /// Next sequence number to deliver.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// True once an end-of-session packet was seen.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// One past the highest sequence number any packet announced.
    pub fn horizon(&self) -> u64 {
        self.horizon
    }

    /// True when everything announced so far was delivered.
    pub fn complete(&self) -> bool {
        self.next_seq >= self.horizon
    }

    /// Feeds one packet; `deliver` gets each message that is now in sequence, in order.
    pub fn on_packet(&mut self, p: &Packet<'_>, mut deliver: impl FnMut(u64, &[u8])) {
        match self.session {
            None => self.session = Some(p.session),
            Some(s) if s != p.session => {
                self.foreign_packets += 1;
                return;
            }
            Some(_) => {}
        }
        match p.kind() {
            PacketKind::Heartbeat => self.horizon = self.horizon.max(p.seq),
            PacketKind::EndOfSession => {
                self.horizon = self.horizon.max(p.seq);
                self.ended = true;
            }
            PacketKind::Data => {
                for (seq, msg) in p.messages() {
                    self.horizon = self.horizon.max(seq.saturating_add(1));
                    if seq < self.next_seq || self.held.contains_key(&seq) {
                        self.duplicates += 1;
                    } else if seq == self.next_seq {
                        deliver(seq, msg);
                        self.next_seq += 1;
                    } else {
                        self.held.insert(seq, msg.to_vec());
                    }
                }
            }
        }
        while let Some(m) = self.held.remove(&self.next_seq) {
            deliver(self.next_seq, &m);
            self.next_seq += 1;
        }
    }

    /// The first missing range `(first sequence number, count)`, if any: from the next expected
    /// message up to the first held one (or the horizon), capped at [`MAX_COUNT`].
    pub fn gap(&self) -> Option<(u64, u16)> {
        if self.complete() {
            return None;
        }
        let end = self
            .held
            .keys()
            .next()
            .copied()
            .unwrap_or(self.horizon)
            .min(self.horizon);
        let n = end.saturating_sub(self.next_seq).min(u64::from(MAX_COUNT));
        (n > 0).then_some((self.next_seq, n as u16))
    }
}
