//! `MdFeed`: encoder + MoldUDP64 publisher + retransmit server + heartbeat thread, started
//! together and driven from the thread that drains the engine's market-data events.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ferrex_types::Event;

use super::encoder::{EncoderConfig, EncoderStats, ItchEncoder};
use super::mold::Session;
use super::publisher::{MoldPublisher, PublisherStats, RetransmitStore, lock};
use super::retransmit::{RetransmitConfig, RetransmitServer};

/// Feed configuration.
#[derive(Clone, Debug)]
pub struct MdConfig {
    /// MoldUDP64 session name (printable ASCII, ≤ 10 characters).
    pub session: String,
    /// Where packets go (a unicast or multicast address and port).
    pub dest: SocketAddr,
    /// Local address of the sending UDP socket (`0.0.0.0:0` / `127.0.0.1:0`: any port).
    pub bind: SocketAddr,
    /// TCP address of the retransmit server; `None` = no server.
    pub retransmit_bind: Option<SocketAddr>,
    /// Largest UDP payload (MoldUDP64 header included).
    pub max_packet: usize,
    /// A heartbeat goes out after this long without a packet; pending messages are flushed at
    /// a quarter of it at the latest.
    pub heartbeat: Duration,
    /// Messages kept for retransmission.
    pub store_capacity: usize,
    /// Retransmit server limits (its `max_packet` is set to `max_packet`).
    pub retransmit: RetransmitConfig,
    /// Instruments and encoding options.
    pub encoder: EncoderConfig,
}

impl MdConfig {
    /// Defaults around a session and destination: bind `0.0.0.0:0`, no retransmit server,
    /// 1400-byte packets, 1 s heartbeats, 1,000,000 stored messages.
    pub fn new(session: &str, dest: SocketAddr, encoder: EncoderConfig) -> MdConfig {
        MdConfig {
            session: session.to_string(),
            dest,
            bind: SocketAddr::from(([0, 0, 0, 0], 0)),
            retransmit_bind: None,
            max_packet: 1400,
            heartbeat: Duration::from_secs(1),
            store_capacity: 1_000_000,
            retransmit: RetransmitConfig::default(),
            encoder,
        }
    }
}

/// Why the feed could not start.
#[derive(Debug, thiserror::Error)]
pub enum MdError {
    /// The session name is not ≤ 10 printable ASCII characters.
    #[error("MoldUDP64 session {0:?} must be at most 10 printable ASCII characters")]
    InvalidSession(String),
    /// The packet size cannot hold a header and one ITCH message.
    #[error("max_packet {0} is too small (at least 80 bytes)")]
    PacketTooSmall(usize),
    /// A socket could not be set up.
    #[error("{what}: {source}")]
    Io {
        /// What was being done (`bind UDP 0.0.0.0:0`, …).
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// A running feed (module docs). Dropping it stops the heartbeat and retransmit threads.
#[derive(Debug)]
pub struct MdFeed {
    encoder: ItchEncoder,
    publisher: Arc<Mutex<MoldPublisher>>,
    session: Session,
    udp_addr: Option<SocketAddr>,
    server: Option<RetransmitServer>,
    hb_stop: Arc<AtomicBool>,
    hb_thread: Option<JoinHandle<()>>,
}

impl MdFeed {
    /// Binds the sockets, starts the retransmit server (if configured) and the heartbeat
    /// thread. Nothing is published until the first event or [`start_of_day`](Self::start_of_day).
    pub fn start(cfg: MdConfig) -> Result<MdFeed, MdError> {
        let session = Session::new(&cfg.session)
            .ok_or_else(|| MdError::InvalidSession(cfg.session.clone()))?;
        if cfg.max_packet < 80 {
            return Err(MdError::PacketTooSmall(cfg.max_packet));
        }
        let io = |what: String| move |source| MdError::Io { what, source };
        let socket = UdpSocket::bind(cfg.bind).map_err(io(format!("bind UDP {}", cfg.bind)))?;
        let udp_addr = socket.local_addr().ok();
        let store = Arc::new(Mutex::new(RetransmitStore::new(cfg.store_capacity)));
        let server = match cfg.retransmit_bind {
            Some(addr) => {
                let rc = RetransmitConfig {
                    max_packet: cfg.max_packet,
                    ..cfg.retransmit
                };
                Some(
                    RetransmitServer::start(addr, session, store.clone(), rc)
                        .map_err(io(format!("retransmit server on TCP {addr}")))?,
                )
            }
            None => None,
        };
        let publisher = Arc::new(Mutex::new(MoldPublisher::new(
            socket,
            cfg.dest,
            session,
            cfg.max_packet,
            store,
        )));
        let hb_stop = Arc::new(AtomicBool::new(false));
        let (p2, s2, interval) = (publisher.clone(), hb_stop.clone(), cfg.heartbeat);
        let tick = (interval / 4).max(Duration::from_millis(1));
        let hb_thread = std::thread::Builder::new()
            .name("ferrex-md-hb".into())
            .spawn(move || {
                while !s2.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    lock(&p2).heartbeat_if_idle(interval);
                }
            })
            .map_err(io("spawn heartbeat thread".into()))?;
        Ok(MdFeed {
            encoder: ItchEncoder::new(cfg.encoder),
            publisher,
            session,
            udp_addr,
            server,
            hb_stop,
            hb_thread: Some(hb_thread),
        })
    }

    /// The session.
    pub fn session(&self) -> Session {
        self.session
    }

    /// Local address of the UDP socket.
    pub fn udp_local_addr(&self) -> Option<SocketAddr> {
        self.udp_addr
    }

    /// Address of the retransmit server, if one runs.
    pub fn retransmit_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(|s| s.local_addr())
    }

    /// Publishes the start of day (system events, stock directory) now.
    pub fn start_of_day(&mut self, time_ns: u64) {
        self.encoder.start(time_ns);
        self.push_ready();
    }

    /// Publishes the start of day (if not out yet) and an `A` for every order already resting
    /// in `books` (`books[i]` is instrument `i`), level by level in queue order, so a feed
    /// started on recovered books describes them. Call it before the first event. Pending
    /// (untriggered) stops of those books are not known to the feed.
    pub fn seed_books(&mut self, time_ns: u64, books: &[ferrex_engine::Book]) {
        self.encoder.start(time_ns);
        for (i, book) in books.iter().enumerate() {
            let Ok(inst) = u32::try_from(i) else { break };
            for side in [ferrex_types::Side::Buy, ferrex_types::Side::Sell] {
                let mut prices = Vec::new();
                book.for_each_level(side, |l| prices.push(l.price));
                for p in prices {
                    book.for_each_order_in_level(side, p, |o| {
                        self.encoder.seed_resting(
                            time_ns,
                            ferrex_types::InstrumentId(inst),
                            o.order_id.0,
                            side,
                            p.0,
                            o.leaves.0,
                            o.visible.0,
                        );
                    });
                }
            }
        }
        self.push_ready();
    }

    /// Reads one engine event; the messages of each completed command are sequenced and
    /// packed (packets go out when full, on [`flush`](Self::flush) or within a quarter of the
    /// heartbeat interval).
    pub fn publish(&mut self, ev: &Event) {
        self.encoder.on_event(ev);
        self.push_ready();
    }

    /// Ends the current command and sends everything pending. Call it when the event source is
    /// momentarily empty and its last command is complete.
    pub fn flush(&mut self) {
        self.encoder.flush();
        self.push_ready();
        lock(&self.publisher).flush();
    }

    /// [`flush`](Self::flush) for a source that is momentarily empty and has delivered every
    /// event of the commands up to `complete` ([`ItchEncoder::flush_through`]): a command
    /// still being emitted stays open. Returns `true` when nothing is left open.
    pub fn flush_through(&mut self, complete: u64) -> bool {
        let closed = self.encoder.flush_through(complete);
        self.push_ready();
        lock(&self.publisher).flush();
        closed
    }

    /// End of day: system events `M`, `E`, `C`, then `repeats` end-of-session packets. The
    /// retransmit server keeps answering until the feed is dropped.
    pub fn end_session(&mut self, time_ns: u64, repeats: u32) {
        self.encoder.end(time_ns);
        self.push_ready();
        lock(&self.publisher).end_session(repeats);
    }

    /// Sequence number the next message will get.
    pub fn next_seq(&self) -> u64 {
        lock(&self.publisher).next_seq()
    }

    /// Encoder counters.
    pub fn encoder_stats(&self) -> EncoderStats {
        self.encoder.stats()
    }

    /// Publisher counters.
    pub fn publisher_stats(&self) -> PublisherStats {
        lock(&self.publisher).stats()
    }

    /// Retransmit requests answered so far (0 without a retransmit server).
    pub fn retransmit_requests(&self) -> u64 {
        self.server
            .as_ref()
            .map_or(0, |s| s.stats().requests.load(Ordering::Relaxed))
    }

    fn push_ready(&mut self) {
        if self.encoder.ready_bytes().is_empty() {
            return;
        }
        lock(&self.publisher).publish_framed(self.encoder.ready_bytes());
        self.encoder.clear_ready();
    }
}

impl Drop for MdFeed {
    fn drop(&mut self) {
        self.hb_stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.hb_thread.take() {
            let _ = t.join();
        }
        if let Some(s) = self.server.as_mut() {
            s.stop();
        }
    }
}
