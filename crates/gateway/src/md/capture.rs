//! `Capture`: the receiving end of the feed. Receives MoldUDP64 packets on a UDP socket, puts
//! the messages back in sequence, fills gaps through the retransmit server and keeps the result
//! as an ITCH BinaryFILE (u16 big-endian length + body per message), which
//! `ferrex replay itch FILE` reads.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::mold::{self, Reassembler, Request};
use super::retransmit::RetransmitClient;

/// Counters of a capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Datagrams received.
    pub datagrams: u64,
    /// Datagrams that are not valid MoldUDP64 packets (ignored).
    pub malformed: u64,
    /// Retransmit requests sent.
    pub requests: u64,
}

/// A feed receiver (module docs).
#[derive(Debug)]
pub struct Capture {
    socket: UdpSocket,
    re: Reassembler,
    itch: Vec<u8>,
    stats: CaptureStats,
}

impl Capture {
    /// Binds the receiving socket (port 0: any).
    pub fn bind(addr: SocketAddr) -> io::Result<Capture> {
        Ok(Capture {
            socket: UdpSocket::bind(addr)?,
            re: Reassembler::new(),
            itch: Vec::new(),
            stats: CaptureStats::default(),
        })
    }

    /// The bound address (where the feed should send).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Counters.
    pub fn stats(&self) -> CaptureStats {
        self.stats
    }

    /// The reassembler (sequence position, horizon, session).
    pub fn reassembler(&self) -> &Reassembler {
        &self.re
    }

    /// The messages delivered in sequence so far, BinaryFILE framed.
    pub fn itch(&self) -> &[u8] {
        &self.itch
    }

    /// Receives until an end-of-session packet, `idle` without any datagram, or `limit` in all.
    pub fn receive(&mut self, idle: Duration, limit: Duration) -> io::Result<()> {
        let start = Instant::now();
        let mut buf = vec![0u8; 65_536];
        let tick = idle.clamp(Duration::from_millis(1), Duration::from_millis(100));
        self.socket.set_read_timeout(Some(tick))?;
        let mut last = Instant::now();
        while start.elapsed() < limit && !self.re.ended() {
            match self.socket.recv(&mut buf) {
                Ok(n) => {
                    last = Instant::now();
                    self.stats.datagrams += 1;
                    self.on_datagram(&buf[..n]);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if last.elapsed() >= idle {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Feeds one datagram (as received from anywhere).
    pub fn on_datagram(&mut self, d: &[u8]) {
        match mold::decode_packet(d) {
            Ok(p) => {
                let itch = &mut self.itch;
                self.re.on_packet(&p, |_, m| push_framed(itch, m));
            }
            Err(_) => self.stats.malformed += 1,
        }
    }

    /// Asks the retransmit server at `server` where the feed is, then for every missing range
    /// until nothing announced is missing (or the server no longer holds it). Returns the number
    /// of requests sent.
    pub fn fill_gaps(&mut self, server: SocketAddr, timeout: Duration) -> io::Result<u64> {
        let Some(session) = self.re.session() else {
            return Ok(0);
        };
        let mut client = RetransmitClient::connect(server, timeout)?;
        let mut sent = 0u64;
        let mut ask = |this: &mut Capture, seq: u64, count: u16| -> io::Result<()> {
            sent += 1;
            this.stats.requests += 1;
            for p in client.request(&Request {
                session,
                seq,
                count,
            })? {
                this.on_datagram(&p);
            }
            Ok(())
        };
        ask(self, self.re.next_seq(), 0)?;
        while let Some((seq, count)) = self.re.gap() {
            let before = self.re.next_seq();
            ask(self, seq, count)?;
            if self.re.next_seq() == before {
                // The server no longer holds these messages.
                break;
            }
        }
        Ok(sent)
    }
}

fn push_framed(out: &mut Vec<u8>, m: &[u8]) {
    out.extend_from_slice(&(m.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
    out.extend_from_slice(&m[..m.len().min(usize::from(u16::MAX))]);
}
