//! The UDP side: a bounded retransmission store and `MoldPublisher`, which sequences messages,
//! packs them into MoldUDP64 packets and sends them to one destination.
//!
//! Sending is best effort, as UDP is: a failed `send_to` (no buffer space, ICMP unreachable
//! reported on a later send) is counted in [`PublisherStats::send_errors`] and the feed goes
//! on; receivers recover every message still in the store through the retransmit server.

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::mold::{Packetizer, Session};

/// Locks a mutex, taking the data even if another thread panicked while holding it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The last `capacity` messages with their sequence numbers (oldest dropped first).
#[derive(Clone, Debug)]
pub struct RetransmitStore {
    first_seq: u64,
    msgs: VecDeque<Box<[u8]>>,
    capacity: usize,
}

impl RetransmitStore {
    /// An empty store whose first message will be sequence number 1. `capacity` ≥ 1.
    pub fn new(capacity: usize) -> RetransmitStore {
        RetransmitStore {
            first_seq: 1,
            msgs: VecDeque::with_capacity(capacity.clamp(1, 1 << 20)),
            capacity: capacity.max(1),
        }
    }

    /// Appends the next message; returns its sequence number. O(message length).
    pub fn push(&mut self, msg: &[u8]) -> u64 {
        if self.msgs.len() == self.capacity {
            self.msgs.pop_front();
            self.first_seq += 1;
        }
        self.msgs.push_back(msg.into());
        self.first_seq + self.msgs.len() as u64 - 1
    }

    /// Oldest sequence number held (equal to [`next_seq`](Self::next_seq) when empty).
    pub fn first_seq(&self) -> u64 {
        self.first_seq
    }

    /// Sequence number the next message will get.
    pub fn next_seq(&self) -> u64 {
        self.first_seq + self.msgs.len() as u64
    }

    /// The message with sequence number `seq`, if still held. O(1).
    pub fn get(&self, seq: u64) -> Option<&[u8]> {
        let i = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.msgs.get(i).map(|b| &b[..])
    }
}

/// Counters of a publisher.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublisherStats {
    /// Messages sequenced.
    pub messages: u64,
    /// Data packets sent (successfully handed to the OS).
    pub packets: u64,
    /// Heartbeat packets sent.
    pub heartbeats: u64,
    /// End-of-session packets sent.
    pub end_of_session: u64,
    /// `send_to` failures (the packet is lost; its messages stay retransmittable).
    pub send_errors: u64,
}

/// Sequences messages, packs them into MoldUDP64 packets and sends them over UDP.
#[derive(Debug)]
pub struct MoldPublisher {
    socket: UdpSocket,
    dest: SocketAddr,
    pack: Packetizer,
    store: Arc<Mutex<RetransmitStore>>,
    last_send: Instant,
    stats: PublisherStats,
}

fn send(socket: &UdpSocket, dest: SocketAddr, p: &[u8], ok: &mut u64, err: &mut u64) {
    match socket.send_to(p, dest) {
        Ok(_) => *ok += 1,
        Err(_) => *err += 1,
    }
}

impl MoldPublisher {
    /// A publisher sending from `socket` to `dest`, packets of at most `max_packet` bytes, keeping
    /// its messages in `store` (which must be empty: the session starts at sequence number 1).
    pub fn new(
        socket: UdpSocket,
        dest: SocketAddr,
        session: Session,
        max_packet: usize,
        store: Arc<Mutex<RetransmitStore>>,
    ) -> MoldPublisher {
        let first = lock(&store).next_seq();
        MoldPublisher {
            socket,
            dest,
            pack: Packetizer::new(session, max_packet, first),
            store,
            last_send: Instant::now(),
            stats: PublisherStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> PublisherStats {
        self.stats
    }

    /// The local address of the UDP socket.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok()
    }

    /// Sequence number the next message will get.
    pub fn next_seq(&self) -> u64 {
        self.pack.next_seq()
    }

    /// Sequences one message (stores it, adds it to the open packet, sends the packet if full).
    pub fn publish(&mut self, msg: &[u8]) {
        lock(&self.store).push(msg);
        self.push_packet(msg);
    }

    /// Sequences every message of a BinaryFILE-framed buffer (u16 length + body each) under one
    /// lock of the store. A truncated tail is ignored.
    pub fn publish_framed(&mut self, framed: &[u8]) {
        {
            let mut st = lock(&self.store);
            for_each_framed(framed, |m| {
                st.push(m);
            });
        }
        for_each_framed(framed, |m| self.push_packet(m));
    }

    fn push_packet(&mut self, msg: &[u8]) {
        let (socket, dest) = (&self.socket, self.dest);
        let (ok, err) = (&mut self.stats.packets, &mut self.stats.send_errors);
        let mut sent = false;
        self.pack.push(msg, |p| {
            send(socket, dest, p, ok, err);
            sent = true;
        });
        self.stats.messages += 1;
        if sent {
            self.last_send = Instant::now();
        }
    }

    /// Sends the open packet, if it holds messages.
    pub fn flush(&mut self) {
        let (socket, dest) = (&self.socket, self.dest);
        let (ok, err) = (&mut self.stats.packets, &mut self.stats.send_errors);
        let mut sent = false;
        self.pack.flush(|p| {
            send(socket, dest, p, ok, err);
            sent = true;
        });
        if sent {
            self.last_send = Instant::now();
        }
    }

    /// Messages waiting in the open packet.
    pub fn pending(&self) -> u16 {
        self.pack.pending()
    }

    /// Flushes pending messages, then sends a heartbeat if nothing went out for `interval`.
    /// Returns true when a heartbeat was sent.
    pub fn heartbeat_if_idle(&mut self, interval: Duration) -> bool {
        self.flush();
        if self.last_send.elapsed() < interval {
            return false;
        }
        let hb = self.pack.heartbeat();
        send(
            &self.socket,
            self.dest,
            &hb,
            &mut self.stats.heartbeats,
            &mut self.stats.send_errors,
        );
        self.last_send = Instant::now();
        true
    }

    /// Flushes, then sends `repeats` end-of-session packets (MoldUDP64 repeats them for a while
    /// in place of heartbeats so late receivers notice).
    pub fn end_session(&mut self, repeats: u32) {
        self.flush();
        let eos = self.pack.end_of_session();
        for _ in 0..repeats.max(1) {
            send(
                &self.socket,
                self.dest,
                &eos,
                &mut self.stats.end_of_session,
                &mut self.stats.send_errors,
            );
        }
        self.last_send = Instant::now();
    }
}

/// Calls `f` with each body of a BinaryFILE-framed buffer; stops at a truncated frame.
pub fn for_each_framed(mut buf: &[u8], mut f: impl FnMut(&[u8])) {
    while let Some(l) = buf.get(..2) {
        let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
        let Some(body) = buf.get(2..2 + len) else {
            return;
        };
        f(body);
        buf = &buf[2 + len..];
    }
}
