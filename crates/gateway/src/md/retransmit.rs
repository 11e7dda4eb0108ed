//! The retransmit (re-request) server over TCP, and a small blocking client for it.
//!
//! A client sends MoldUDP64 request packets (20 bytes each: session, first sequence number,
//! count) on a TCP connection; for each one the server writes the answer:
//!
//! - the requested messages that the [`RetransmitStore`] still holds — the intersection of
//!   `[seq, seq + count)` with the store's `[first_seq, next_seq)`, at most `max_messages` of
//!   them, starting at the first held one — as ordinary downstream packets (original sequence
//!   numbers and bytes, at most `max_packet` bytes each);
//! - then always one heartbeat packet (count 0) carrying the feed's next sequence number, which
//!   ends the answer (a request with count 0 gets only this).
//!
//! So messages older than the store, or not sent yet, are simply absent from the answer; the
//! client sees which ones it got from the sequence numbers. A request naming another session,
//! or bytes that are not a request, close the connection; so does a client whose unread
//! answers exceed `max_outbound` bytes. One thread serves every connection with non-blocking
//! sockets (at most `max_connections`; more are closed on accept).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::mold::{self, HEADER_LEN, Packetizer, REQUEST_LEN, Request, Session};
use super::publisher::{RetransmitStore, lock};

/// Retransmit server limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetransmitConfig {
    /// Largest answer packet in bytes (header included).
    pub max_packet: usize,
    /// Most messages answered per request.
    pub max_messages: u16,
    /// Simultaneous connections.
    pub max_connections: usize,
    /// Unsent answer bytes allowed per connection before it is dropped.
    pub max_outbound: usize,
}

impl Default for RetransmitConfig {
    /// 1400-byte packets, 65,534 messages per request, 64 connections, 8 MiB outbound.
    fn default() -> Self {
        RetransmitConfig {
            max_packet: 1400,
            max_messages: mold::MAX_COUNT,
            max_connections: 64,
            max_outbound: 8 << 20,
        }
    }
}

/// Why a request got no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// The request names another session.
    #[error("request for another session")]
    WrongSession,
}

/// Writes the answer to `req` (module docs: the rule) into `out`. O(messages answered).
pub fn answer(
    store: &RetransmitStore,
    session: Session,
    req: &Request,
    cfg: &RetransmitConfig,
    out: &mut Vec<u8>,
) -> Result<(), AnswerError> {
    if req.session != session {
        return Err(AnswerError::WrongSession);
    }
    let (first, next) = (store.first_seq(), store.next_seq());
    let lo = req.seq.max(first);
    let hi = req
        .seq
        .saturating_add(u64::from(req.count))
        .min(next)
        .min(lo.saturating_add(u64::from(cfg.max_messages)));
    if lo < hi {
        let mut p = Packetizer::new(session, cfg.max_packet, lo);
        for s in lo..hi {
            if let Some(m) = store.get(s) {
                p.push(m, |pkt| out.extend_from_slice(pkt));
            }
        }
        p.flush(|pkt| out.extend_from_slice(pkt));
    }
    mold::encode_control(out, &session, next, 0);
    Ok(())
}

/// Counters of the server.
#[derive(Debug, Default)]
pub struct RetransmitStats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Requests answered.
    pub requests: AtomicU64,
    /// Connections closed for a bad request, a wrong session or a full outbound buffer.
    pub dropped: AtomicU64,
}

struct Conn {
    stream: TcpStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
    closed: bool,
}

/// The running server; stops (and joins its thread) on [`stop`](Self::stop) or drop.
#[derive(Debug)]
pub struct RetransmitServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    stats: Arc<RetransmitStats>,
    thread: Option<JoinHandle<()>>,
}

impl RetransmitServer {
    /// Binds `bind` (port 0 for any) and serves `store` for `session` on a new thread.
    pub fn start(
        bind: SocketAddr,
        session: Session,
        store: Arc<Mutex<RetransmitStore>>,
        cfg: RetransmitConfig,
    ) -> io::Result<RetransmitServer> {
        let listener = TcpListener::bind(bind)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(RetransmitStats::default());
        let (stop2, stats2) = (stop.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("ferrex-md-rtx".into())
            .spawn(move || serve(listener, session, store, cfg, &stop2, &stats2))?;
        Ok(RetransmitServer {
            addr,
            stop,
            stats,
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Counters.
    pub fn stats(&self) -> &RetransmitStats {
        &self.stats
    }

    /// Stops the server and joins its thread.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RetransmitServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(
    listener: TcpListener,
    session: Session,
    store: Arc<Mutex<RetransmitStore>>,
    cfg: RetransmitConfig,
    stop: &AtomicBool,
    stats: &RetransmitStats,
) {
    let mut conns: Vec<Conn> = Vec::new();
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let mut busy = false;
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    busy = true;
                    if conns.len() >= cfg.max_connections || stream.set_nonblocking(true).is_err() {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    stats.connections.fetch_add(1, Ordering::Relaxed);
                    conns.push(Conn {
                        stream,
                        inbuf: Vec::new(),
                        out: Vec::new(),
                        sent: 0,
                        closed: false,
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
        for c in &mut conns {
            busy |= service(c, &mut buf, session, &store, &cfg, stats);
        }
        conns.retain(|c| !c.closed);
        if !busy {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Reads, answers and writes what a connection allows without blocking; true if anything moved.
fn service(
    c: &mut Conn,
    buf: &mut [u8],
    session: Session,
    store: &Mutex<RetransmitStore>,
    cfg: &RetransmitConfig,
    stats: &RetransmitStats,
) -> bool {
    let mut busy = false;
    loop {
        match c.stream.read(buf) {
            Ok(0) => {
                c.closed = true;
                break;
            }
            Ok(n) => {
                busy = true;
                c.inbuf.extend_from_slice(&buf[..n]);
                if c.inbuf.len() >= 64 * REQUEST_LEN {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
                c.closed = true;
                break;
            }
        }
    }
    let mut used = 0;
    while c.inbuf.len() - used >= REQUEST_LEN && !c.closed {
        let r = Request::decode(&c.inbuf[used..used + REQUEST_LEN]);
        used += REQUEST_LEN;
        let ok = match r {
            Ok(req) => answer(&lock(store), session, &req, cfg, &mut c.out).is_ok(),
            Err(_) => false,
        };
        if ok {
            stats.requests.fetch_add(1, Ordering::Relaxed);
        } else {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            c.closed = true;
        }
        if c.out.len() - c.sent > cfg.max_outbound {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            c.closed = true;
        }
    }
    c.inbuf.drain(..used);
    while c.sent < c.out.len() && !c.closed {
        match c.stream.write(&c.out[c.sent..]) {
            Ok(0) => c.closed = true,
            Ok(n) => {
                busy = true;
                c.sent += n;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => c.closed = true,
        }
    }
    if c.sent == c.out.len() {
        c.out.clear();
        c.sent = 0;
    }
    busy
}

/// Largest packet the client accepts (a sanity bound on hostile length fields).
const CLIENT_MAX_PACKET: usize = 1 << 20;

/// A blocking client of the retransmit server.
#[derive(Debug)]
pub struct RetransmitClient {
    stream: TcpStream,
}

impl RetransmitClient {
    /// Connects, with `timeout` for the connection and every later read and write.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<RetransmitClient> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let _ = stream.set_nodelay(true);
        Ok(RetransmitClient { stream })
    }

    /// Sends `req` and returns the answer's packets (raw MoldUDP64 packets, the closing
    /// heartbeat last), ready for [`mold::decode_packet`] and a
    /// [`Reassembler`](super::mold::Reassembler).
    pub fn request(&mut self, req: &Request) -> io::Result<Vec<Vec<u8>>> {
        self.stream.write_all(&req.encode())?;
        let mut packets = Vec::new();
        loop {
            let mut p = vec![0u8; HEADER_LEN];
            self.stream.read_exact(&mut p)?;
            let count = u16::from_be_bytes([p[18], p[19]]);
            if count == 0 || count == mold::END_OF_SESSION {
                packets.push(p);
                return Ok(packets);
            }
            for _ in 0..count {
                let mut l = [0u8; 2];
                self.stream.read_exact(&mut l)?;
                let len = usize::from(u16::from_be_bytes(l));
                if p.len() + 2 + len > CLIENT_MAX_PACKET {
                    return Err(io::Error::new(
                        ErrorKind::InvalidData,
                        "retransmit answer packet exceeds 1 MiB",
                    ));
                }
                p.extend_from_slice(&l);
                let at = p.len();
                p.resize(at + len, 0);
                self.stream.read_exact(&mut p[at..])?;
            }
            packets.push(p);
        }
    }
}
