//! The network order-entry server: OUCH 5.0 over SoupBinTCP 4.0 and FIX 4.4 over TCP, feeding
//! the threaded engine runtime.
//!
//! [`Server::start`] binds both listen addresses, starts the engine runtime
//! ([`ferrex_engine::Runtime`], one runtime [`ferrex_engine::Session`] for the gateway, no
//! market-data ring, no journal) and one gateway thread. The gateway thread (pinned to
//! `gateway_core` when that core exists) owns every socket (non-blocking, `mio`), every protocol
//! session and order table, and the runtime session. Each loop iteration it:
//!
//! 1. polls the sockets (zero timeout while anything happened in the last 200 µs, else 1 ms),
//!    accepts connections and reads input;
//! 2. frames and decodes input with the I/O-free layers ([`crate::soupbin`],
//!    [`crate::soupbin_session`], [`crate::ouch`], [`crate::ouch_orders`], [`crate::ouch_map`];
//!    [`crate::fix`], [`crate::fix_session`], [`crate::fix_orders`], [`crate::fix_map`]) and
//!    submits the resulting commands to the engine;
//! 3. drains every event the engine has for it and routes each one to the session of the
//!    event's account (both sessions of a trade);
//! 4. runs the session timers every 10 ms (heartbeats, test requests, idle and logon timeouts);
//! 5. writes pending output and closes the connections marked for closing (cancel-on-disconnect
//!    is a `MassCancel` of the account, submitted to the engine, so it is sequenced).
//!
//! Rules:
//! - Each configured session is one account; its order table only knows its own orders, so a
//!   session cannot name another account's order (and the engine checks ownership too).
//! - Engine order ids come from one allocator in the gateway: unique across all sessions.
//! - A second logon for a session that is connected is refused (SoupBinTCP Login Rejected `S`;
//!   FIX: disconnected without a Logout, as for an unknown CompID); the connected one is untouched.
//! - Throttle: at most `max_msgs_per_sec` order messages per session per one-second window;
//!   beyond, the message is refused at the gateway (OUCH Order Rejected 0x29 / Cancel Reject,
//!   FIX BusinessMessageReject 380 = 0 "Throttle limit exceeded") and never reaches the engine.
//! - Input is bounded: a SoupBinTCP length field or FIX BodyLength above `max_message_bytes` ends
//!   the connection with a reason (SoupBinTCP Debug packet, FIX Logout text) without reading
//!   the body; SoupBinTCP framing garbage likewise; FIX garbage is skipped to the next `8=FIX`
//!   once logged on (before Logon it ends the connection); an undecodable OUCH message gets a
//!   Debug packet and is dropped. Connections that do not log on within `logon_timeout_ns` are
//!   closed; at most `max_connections` are open at once (more are closed on accept).
//! - Output is bounded: a connection with more than `outbound_queue` unsent messages (a slow or
//!   dead reader) is dropped, with cancel-on-disconnect. The gateway never stops draining the
//!   engine, so the engine never waits on a client.
//!
//! Market data ([`ServerConfig::md`], optional): the runtime is started with a market-data ring
//! of [`MdSpec::ring_capacity`] events, and an [`MdFeed`](crate::md::MdFeed) (ITCH 5.0 in
//! MoldUDP64 over UDP to [`MdSpec::udp_dest`], TCP retransmit server on
//! [`MdSpec::retransmit_bind`]) is fed by its own thread, `ferrex-md` (unpinned; see
//! [`crate::md::serve`] for why), which drains the ring, publishes every event in engine order
//! and flushes whenever the ring is empty. Each instrument's ITCH price unit is 1/10000 of the
//! currency, so one ferrex tick is `price_increment × 10^4` ITCH units. The feed needs
//! `LevelChanged` events, so every book must have `level_events` on. On stop, after the engine
//! has stopped, the md thread publishes what is left, the end of the session (`S` `M`/`E`/`C`
//! and end-of-session packets), keeps the retransmit server up for [`MdSpec::linger`] and
//! returns its counters in [`ServerReport::md`].
//!
//! Journal ([`ServerConfig::journal`], optional): the runtime journals every sequenced command
//! (durability `none`, `batch` or `sync`; in `sync` an execution report reaches its client only
//! once its command is on disk) and, with `snapshot_every`, the engine thread takes snapshots
//! that are written next to the journal. At start, when the directory holds a journal, the
//! engine (which must be fresh and built from the configuration of the recorded run) is
//! recovered first — the latest good snapshot plus the journal after it
//! ([`ferrex_engine::recover_into`]; see [`ServerHandle::recovered`]) — and the runtime then
//! continues the same journal. The gateway's order-id allocator continues above every order id
//! the journal, the reference log or the recovered books name, so new orders never collide
//! with recovered ones.
//!
//! Client references survive a restart too: the gateway keeps its per-session tables (OUCH
//! UserRefNum → engine order id with the attributes OUCH reports echo, and each OUCH account's
//! UserRefNum high-water mark; FIX ClOrdID / OrigClOrdID → engine order id with OrderQty,
//! CumQty and the notional for AvgPx) in an append-only reference log next to the journal
//! (`gateway-refs.log`), written before each command is submitted, with the journal's
//! durability ([`ServerHandle::refs_recovered`]). At start it is replayed, reconciled with the
//! recovered books (references to orders that are no longer live are dropped) and compacted.
//! After a restart a recovered resting order can be cancelled or replaced by its old UserRefNum
//! / OrigClOrdID, its executions are reported to its owner's session under its client
//! references, and an OUCH UserRefNum not above the account's last one is still refused. A
//! replace or cancel submitted just before a crash whose answer the log did not get is
//! resolved from the recovered book (see `reflog.rs`).

mod conn;
mod gateway;
mod reflog;

pub use reflog::RefLogError;

pub use crate::md::{MdReport, MdSpec};

use ferrex_engine::{Engine, PinStatus, Recovered, Runtime, RuntimeConfig, RuntimeReport};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// One instrument as the gateway sees it. `InstrumentId(i)` is the i-th entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstrumentSpec {
    /// Symbol (OUCH: at most 8 printable characters; FIX Symbol 55).
    pub name: String,
    /// Currency value of one ferrex price unit as `mantissa × 10^-decimals` (for example
    /// 0.01 = `(1, 2)`). OUCH prices are 1/10000 so `decimals` must be ≤ 4; FIX prices are
    /// decimals.
    pub price_increment: (u64, u32),
}

/// How a session logs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionProtocol {
    /// OUCH over SoupBinTCP: Login Request username (≤ 6) and password (≤ 10).
    Ouch {
        /// Username.
        username: String,
        /// Password.
        password: String,
    },
    /// FIX 4.4: the client's SenderCompID, and Username 553 / Password 554 if required.
    Fix {
        /// The client's CompID (our TargetCompID).
        comp_id: String,
        /// Required Username / Password on Logon, if any.
        credentials: Option<(String, String)>,
    },
}

/// One configured session (one account).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSpec {
    /// Protocol and credentials.
    pub protocol: SessionProtocol,
    /// The account every order of this session is entered for.
    pub account: u32,
    /// Cancel the account's orders when the connection ends.
    pub cancel_on_disconnect: bool,
    /// Order messages per second accepted at the gateway (0 = no limit).
    pub max_msgs_per_sec: u32,
}

/// Server configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// OUCH (SoupBinTCP) listen address (port 0: any free port).
    pub ouch_listen: SocketAddr,
    /// FIX listen address.
    pub fix_listen: SocketAddr,
    /// Core for the engine thread (`None`: unpinned).
    pub engine_core: Option<usize>,
    /// Core for the gateway thread (`None`: unpinned).
    pub gateway_core: Option<usize>,
    /// Slots of the runtime's command and event rings.
    pub ring_capacity: usize,
    /// SoupBinTCP session id in Login Accepted (≤ 10 alphanumerics).
    pub ouch_session_id: String,
    /// SoupBinTCP: Server Heartbeat after this much output silence (ns).
    pub ouch_heartbeat_ns: u64,
    /// SoupBinTCP: drop a client after this much input silence (ns).
    pub ouch_timeout_ns: u64,
    /// FIX: our CompID.
    pub fix_sender_comp_id: String,
    /// FIX: allowed |SendingTime − now| (ns).
    pub fix_max_latency_ns: u64,
    /// FIX conformance mode — a test harness, never use in production: every FIX session plays
    /// QuickFIX's acceptance-test application, which echoes application messages (a
    /// NewOrderSingle comes back as a NewOrderSingle) instead of trading, as the QuickFIX
    /// session acceptance scripts assume ([`crate::fix_session::SessionConfig::echo_application`]).
    /// No FIX message then reaches the engine. Default false.
    pub fix_echo_application: bool,
    /// Close a connection that has not logged on after this long (ns).
    pub logon_timeout_ns: u64,
    /// Largest accepted inbound message (SoupBinTCP packet length / whole FIX message), bytes.
    pub max_message_bytes: usize,
    /// Unsent messages allowed per connection before it is dropped as a slow consumer.
    pub outbound_queue: usize,
    /// Most open connections (both ports together).
    pub max_connections: usize,
    /// Instruments, in id order.
    pub instruments: Vec<InstrumentSpec>,
    /// Sessions.
    pub sessions: Vec<SessionSpec>,
    /// OUCH wire dialect per OUCH username; a username not listed speaks the OUCH 5.0
    /// specification ([`crate::ouch::Dialect::Spec`]). [`crate::ouch::Dialect::OuchConnect501`]
    /// is a client-quirk compatibility mode for the `ouch-connect` 5.0.1 client, not the spec
    /// (see [`crate::ouch`]). Default: empty.
    pub ouch_dialects: Vec<(String, crate::ouch::Dialect)>,
    /// Market data out (`None`: no feed, no market-data ring).
    pub md: Option<MdSpec>,
    /// Journal (and runtime snapshots) in a directory, recovered at start (`None`: no journal).
    pub journal: Option<ferrex_engine::JournalConfig>,
}

impl Default for ServerConfig {
    /// Both ports on 127.0.0.1:0, unpinned threads, spec timers, no instruments or sessions.
    fn default() -> Self {
        let any: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
        ServerConfig {
            ouch_listen: any,
            fix_listen: any,
            engine_core: None,
            gateway_core: None,
            ring_capacity: 1 << 14,
            ouch_session_id: "FERREX".into(),
            ouch_heartbeat_ns: 1_000_000_000,
            ouch_timeout_ns: 15_000_000_000,
            fix_sender_comp_id: "FERREX".into(),
            fix_max_latency_ns: 120_000_000_000,
            fix_echo_application: false,
            logon_timeout_ns: 10_000_000_000,
            max_message_bytes: 4096,
            outbound_queue: 65_536,
            max_connections: 2048,
            instruments: Vec::new(),
            sessions: Vec::new(),
            ouch_dialects: Vec::new(),
            md: None,
            journal: None,
        }
    }
}

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is inconsistent.
    #[error("server config: {0}")]
    Config(String),
    /// Binding a listen address failed.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Other socket or thread setup errors.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    /// The engine runtime did not start.
    #[error(transparent)]
    Runtime(#[from] ferrex_engine::RuntimeError),
    /// The gateway thread died (a bug: it is written not to panic).
    #[error("the gateway thread panicked")]
    GatewayPanicked,
    /// The market-data thread died (a bug: it is written not to panic).
    #[error("the market-data thread panicked")]
    MdPanicked,
    /// Recovering the engine from the journal directory failed.
    #[error(transparent)]
    Recovery(#[from] ferrex_engine::RecoveryError),
    /// The gateway's client-reference log could not be read or rewritten.
    #[error(transparent)]
    RefLog(#[from] RefLogError),
}

/// What the gateway recovered from its client-reference log at start (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefsRecovered {
    /// Good records read.
    pub records: usize,
    /// Bytes of a torn or corrupt tail that were cut off.
    pub cut_bytes: u64,
    /// Orders whose client references were restored (live in the recovered books).
    pub kept: usize,
    /// Orders whose references were dropped (no longer live).
    pub dropped: usize,
}

/// Gateway counters, reported by [`ServerHandle::stop`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayReport {
    /// Connections accepted (both ports).
    pub connections: u64,
    /// Connections closed at once because `max_connections` were open.
    pub refused_connections: u64,
    /// Successful logons.
    pub logons: u64,
    /// Logons refused (unknown user/CompID, bad password, session already connected).
    pub logons_refused: u64,
    /// Of those: a second logon for a connected session.
    pub second_logons_refused: u64,
    /// Application messages received (OUCH orders, FIX D/F/G).
    pub app_messages_in: u64,
    /// Commands submitted to the engine.
    pub commands: u64,
    /// Engine events drained.
    pub events: u64,
    /// Order messages refused by the gateway throttle.
    pub throttled: u64,
    /// Malformed, oversized or garbage input (each protocol reject or drop counts once).
    pub protocol_errors: u64,
    /// Connections dropped because their outbound queue overflowed.
    pub slow_consumer_drops: u64,
    /// Connections closed because they did not log on in time.
    pub logon_timeouts: u64,
    /// Logged-on connections closed for input silence (heartbeat timeout).
    pub idle_timeouts: u64,
    /// Cancel-on-disconnect mass cancels submitted.
    pub cancel_on_disconnect: u64,
    /// Bytes written to clients.
    pub bytes_out: u64,
    /// Bytes read from clients.
    pub bytes_in: u64,
    /// The first error writing the client-reference log (journal mode), after which it was no
    /// longer written: orders entered since cannot be addressed by their references after a
    /// restart.
    pub ref_log_error: Option<String>,
}

/// What [`ServerHandle::stop`] returns.
pub struct ServerReport {
    /// Gateway counters.
    pub gateway: GatewayReport,
    /// Engine runtime counters.
    pub runtime: RuntimeReport,
    /// The engine, after the last command (for inspection).
    pub engine: Engine,
    /// Market-data counters (`None` without market data).
    pub md: Option<MdReport>,
}

/// A running server. Dropping it stops it (without the report).
pub struct ServerHandle {
    ouch_addr: SocketAddr,
    fix_addr: SocketAddr,
    gateway_pin: PinStatus,
    engine_pin: Option<PinStatus>,
    stop: Arc<AtomicBool>,
    join: Option<JoinHandle<GatewayReport>>,
    runtime: Option<Runtime>,
    md: Option<crate::md::MdThread>,
    md_dest: Option<SocketAddr>,
    md_retransmit: Option<SocketAddr>,
    recovered: Option<Recovered>,
    refs: Option<RefsRecovered>,
}

/// The server entry point.
pub struct Server;

impl Server {
    /// Validate `cfg`, bind both listeners, start the engine runtime with `engine` and the
    /// gateway thread. Returns once both threads run.
    pub fn start(cfg: ServerConfig, engine: Engine) -> Result<ServerHandle, ServerError> {
        let plan = gateway::Plan::new(&cfg)?;
        let mut engine = engine;
        // With a journal: recover the engine from it first (nothing to do in an empty one).
        let recovered = match &cfg.journal {
            Some(j) => Some(ferrex_engine::recover_into(&mut engine, &j.dir)?),
            None => None,
        };
        // The gateway's client references, reconciled with the recovered books.
        let refs = match &cfg.journal {
            Some(j) => Some(reflog::load(&j.dir, &engine, j.durability)?),
            None => None,
        };
        let refs_report = refs.as_ref().map(|(r, _)| RefsRecovered {
            records: r.records,
            cut_bytes: r.cut_bytes,
            kept: r.kept,
            dropped: r.dropped,
        });
        let first_order_id = recovered
            .as_ref()
            .map_or(0, |r| r.max_order_id)
            .max(refs.as_ref().map_or(0, |(r, _)| r.max_order_id));
        let bind = |addr: SocketAddr| {
            mio::net::TcpListener::bind(addr).map_err(|source| ServerError::Bind { addr, source })
        };
        let ouch = bind(cfg.ouch_listen)?;
        let fix = bind(cfg.fix_listen)?;
        let ouch_addr = ouch.local_addr()?;
        let fix_addr = fix.local_addr()?;
        let md_feed = match &cfg.md {
            Some(spec) => Some(md_start(spec, &cfg.instruments, &engine)?),
            None => None,
        };
        let max_account = cfg.sessions.iter().map(|s| s.account).max().unwrap_or(0);
        let rt_cfg = RuntimeConfig {
            engine_core: cfg.engine_core,
            ring_capacity: cfg.ring_capacity.max(64),
            md_capacity: cfg.md.as_ref().map_or(0, |m| m.ring_capacity.max(64)),
            batch: 64,
            max_accounts: (max_account as usize + 1).max(1 << 10),
            journal: cfg.journal.clone(),
        };
        let (runtime, mut sessions, md_rx) = Runtime::start(engine, 1, &rt_cfg)?;
        let (md_dest, md_retransmit) = md_feed.as_ref().map_or((None, None), |f| {
            (cfg.md.as_ref().map(|m| m.udp_dest), f.retransmit_addr())
        });
        let md = match (md_feed, md_rx) {
            (Some(feed), Some(mut c)) => {
                let linger = cfg.md.as_ref().map_or(Duration::ZERO, |m| m.linger);
                let progress = runtime.md_progress();
                let source = move |f: &mut dyn FnMut(ferrex_types::Event)| {
                    let closed = c.is_abandoned();
                    // Before the read: then every event of commands up to it has been read.
                    let complete = progress.complete_through();
                    (c.read_batch(256, f), closed, complete)
                };
                Some(crate::md::MdThread::spawn(feed, source, linger)?)
            }
            _ => None,
        };
        let engine_pin = runtime.pin_status();
        let Some(rt_session) = sessions.pop() else {
            return Err(ServerError::Config("runtime returned no session".into()));
        };
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let core = cfg.gateway_core;
        let (pin_tx, pin_rx) = std::sync::mpsc::channel();
        let join = std::thread::Builder::new()
            .name("ferrex-gateway".into())
            .spawn(move || {
                let pin = ferrex_engine::pin_current(core);
                let _ = pin_tx.send(pin);
                match gateway::Gateway::new(plan, ouch, fix, rt_session) {
                    Ok(mut g) => {
                        g.continue_order_ids_after(first_order_id);
                        if let Some((restored, log)) = refs {
                            g.restore(restored, log);
                        }
                        g.run(&stop2)
                    }
                    Err(_) => GatewayReport::default(),
                }
            })?;
        let gateway_pin = pin_rx.recv().map_err(|_| ServerError::GatewayPanicked)?;
        Ok(ServerHandle {
            ouch_addr,
            fix_addr,
            gateway_pin,
            engine_pin,
            stop,
            join: Some(join),
            runtime: Some(runtime),
            md,
            md_dest,
            md_retransmit,
            recovered,
            refs: refs_report,
        })
    }
}

/// Checks the market-data spec against the instruments and books and starts the feed (sockets
/// bound, retransmit server running).
fn md_start(
    spec: &MdSpec,
    instruments: &[InstrumentSpec],
    engine: &Engine,
) -> Result<crate::md::MdFeed, ServerError> {
    use crate::md::{EncoderConfig, MdConfig, MdFeed};
    if let Some(i) = engine.books().iter().position(|b| !b.config().level_events) {
        return Err(ServerError::Config(format!(
            "md: the book of instrument {i} has level_events off; the ITCH feed needs them"
        )));
    }
    let mut feed_instruments = Vec::with_capacity(instruments.len());
    for (i, ins) in instruments.iter().enumerate() {
        let (mantissa, decimals) = ins.price_increment;
        let units = 4u32
            .checked_sub(decimals)
            .and_then(|d| 10u64.checked_pow(d))
            .and_then(|p| p.checked_mul(mantissa))
            .and_then(|u| u32::try_from(u).ok())
            .filter(|u| *u > 0)
            .ok_or_else(|| {
                ServerError::Config(format!(
                    "md: instrument {i} ({}): price_increment {mantissa}e-{decimals} is not a \
                     whole number of 1/10000 ITCH price units that fits 32 bits",
                    ins.name
                ))
            })?;
        feed_instruments.push(crate::md::InstrumentSpec::new(&ins.name, units));
    }
    let mut mc = MdConfig::new(
        &spec.session,
        spec.udp_dest,
        EncoderConfig {
            instruments: feed_instruments,
            replace_as_delete_add: false,
        },
    );
    mc.bind = spec.udp_bind;
    mc.retransmit_bind = Some(spec.retransmit_bind);
    mc.max_packet = spec.max_packet;
    mc.heartbeat = spec.heartbeat.max(Duration::from_millis(1));
    mc.store_capacity = spec.store_capacity.max(1);
    let mut feed = MdFeed::start(mc).map_err(|e| ServerError::Config(format!("md: {e}")))?;
    // Books that already hold orders (recovered from a journal) are announced first.
    feed.seed_books(crate::md::serve::unix_ns(), engine.books());
    Ok(feed)
}

impl ServerHandle {
    /// The bound OUCH (SoupBinTCP) address.
    pub fn ouch_addr(&self) -> SocketAddr {
        self.ouch_addr
    }

    /// The bound FIX address.
    pub fn fix_addr(&self) -> SocketAddr {
        self.fix_addr
    }

    /// Where the market-data feed is sent (`None` without market data).
    pub fn md_udp_dest(&self) -> Option<SocketAddr> {
        self.md_dest
    }

    /// The bound address of the market-data retransmit server (`None` without market data).
    pub fn md_retransmit_addr(&self) -> Option<SocketAddr> {
        self.md_retransmit
    }

    /// What recovery from the journal did at start (`None` without a journal; an empty
    /// directory gives a report whose [`Recovered::is_empty`] is true).
    pub fn recovered(&self) -> Option<&Recovered> {
        self.recovered.as_ref()
    }

    /// What the gateway restored from its client-reference log at start (`None` without a
    /// journal).
    pub fn refs_recovered(&self) -> Option<&RefsRecovered> {
        self.refs.as_ref()
    }

    /// Pinning outcome of the gateway thread.
    pub fn gateway_pin(&self) -> PinStatus {
        self.gateway_pin
    }

    /// Pinning outcome of the engine thread (`None` if it did not report within a second).
    pub fn engine_pin(&self) -> Option<PinStatus> {
        self.engine_pin
    }

    /// Stop: every connection is closed (cancel-on-disconnect applies), the gateway drains the
    /// engine's last events and exits, then the engine stops. Returns the counters and the
    /// engine.
    pub fn stop(mut self) -> Result<ServerReport, ServerError> {
        self.stop.store(true, Ordering::Release);
        let gateway = match self.join.take() {
            Some(j) => j.join().map_err(|_| ServerError::GatewayPanicked)?,
            None => GatewayReport::default(),
        };
        let Some(rt) = self.runtime.take() else {
            return Err(ServerError::Config("server already stopped".into()));
        };
        let (engine, runtime) = rt.stop();
        // The engine thread has exited (the md ring's producer is gone): the md thread publishes
        // what is left and the end of the session.
        let md = match self.md.take() {
            Some(t) => Some(t.finish().ok_or(ServerError::MdPanicked)?),
            None => None,
        };
        Ok(ServerReport {
            gateway,
            runtime,
            engine,
            md,
        })
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
        // The runtime's own Drop stops and joins the engine thread; then the md thread ends
        // the session (its Drop joins it).
        self.runtime.take();
        self.md.take();
    }
}
