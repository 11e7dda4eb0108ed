//! One TCP connection: its socket, input buffer and bounded output queue.

use mio::net::TcpStream;
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};

/// Which port the connection came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Port {
    Ouch,
    Fix,
}

/// Why a connection is being closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CloseReason {
    PeerClosed,
    Protocol,
    SlowConsumer,
    LogonTimeout,
    IdleTimeout,
    Shutdown,
}

/// Result of a read attempt.
pub(crate) enum ReadOutcome {
    /// Read this many bytes (more may be waiting).
    Data(usize),
    /// Nothing to read now.
    WouldBlock,
    /// End of stream or error.
    Closed,
}

pub(crate) struct Conn {
    pub stream: TcpStream,
    pub port: Port,
    /// The configured session this connection is attached to (after its logon message).
    pub logical: Option<usize>,
    /// The logon succeeded (cancel-on-disconnect and idle timers apply).
    pub logged_in: bool,
    pub connected_at: u64,
    pub inbuf: Vec<u8>,
    /// Pending output: `out[written..]` is unsent.
    pub out: Vec<u8>,
    written: usize,
    /// Absolute stream offset of `out[0]`.
    base: u64,
    /// Absolute end offsets of counted messages not yet fully written.
    ends: VecDeque<u64>,
    pub closing: Option<CloseReason>,
    pub dirty: bool,
}

impl Conn {
    pub fn new(stream: TcpStream, port: Port, now: u64) -> Conn {
        Conn {
            stream,
            port,
            logical: None,
            logged_in: false,
            connected_at: now,
            inbuf: Vec::new(),
            out: Vec::new(),
            written: 0,
            base: 0,
            ends: VecDeque::new(),
            closing: None,
            dirty: false,
        }
    }

    /// Count the message(s) just appended to `out` as one queued message.
    pub fn note_msg(&mut self) {
        let end = self.base + self.out.len() as u64;
        if self.ends.back() != Some(&end) {
            self.ends.push_back(end);
        }
    }

    /// Messages appended but not yet fully written.
    pub fn queued_msgs(&self) -> usize {
        self.ends.len()
    }

    /// Bytes appended but not yet written.
    pub fn pending_bytes(&self) -> usize {
        self.out.len() - self.written
    }

    /// Write as much pending output as the socket takes. Returns the bytes written, or `Err`
    /// when the socket failed.
    pub fn flush(&mut self) -> std::io::Result<usize> {
        let mut total = 0;
        while self.written < self.out.len() {
            match self.stream.write(&self.out[self.written..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.written += n;
                    total += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let done = self.base + self.written as u64;
        while self.ends.front().is_some_and(|&e| e <= done) {
            self.ends.pop_front();
        }
        if self.written == self.out.len() {
            self.base += self.out.len() as u64;
            self.out.clear();
            self.written = 0;
        } else if self.written >= 1 << 20 {
            self.out.drain(..self.written);
            self.base += self.written as u64;
            self.written = 0;
        }
        Ok(total)
    }

    /// One read into `chunk`, appended to the input buffer.
    pub fn read_some(&mut self, chunk: &mut [u8]) -> ReadOutcome {
        loop {
            match self.stream.read(chunk) {
                Ok(0) => return ReadOutcome::Closed,
                Ok(n) => {
                    self.inbuf.extend_from_slice(&chunk[..n]);
                    return ReadOutcome::Data(n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return ReadOutcome::WouldBlock,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return ReadOutcome::Closed,
            }
        }
    }
}
