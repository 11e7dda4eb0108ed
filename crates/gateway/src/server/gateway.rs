//! The gateway thread: sockets ↔ protocol sessions ↔ the engine runtime. See the module docs of
//! [`crate::server`].

use super::conn::{CloseReason, Conn, Port, ReadOutcome};
use super::reflog::{RefLog, Restored};
use super::{GatewayReport, ServerConfig, ServerError, SessionProtocol};
use crate::fix::{self, Header, Message};
use crate::fix_map::{
    CancelRejectReport, ExecReport, FixMapError, FixOp, FixOrders, FixReport, NewOrderSingle,
    OrderCancelReplaceRequest, OrderCancelRequest, PriceScale, cancel_to_command,
    encode_execution_report, encode_order_cancel_reject, event_to_reports, new_order_to_command,
    replace_to_command,
};
use crate::fix_orders::FixOrderTable;
use crate::fix_session::{Session as FixSession, SessionConfig, SessionState};
use crate::ouch::{
    Appendage, CancelReject, ClOrdId, Dialect, Inbound, OuchRejectCode, Outbound, Rejected, Symbol,
    UserRefNum,
};
use crate::ouch_map::{OuchMapConfig, OuchOrders, event_to_outbound, inbound_to_command};
use crate::ouch_orders::OuchOrderTable;
use crate::soupbin::{self, LoginRejectCode, Packet};
use crate::soupbin_session::{SoupConfig, SoupSession};
use ferrex_engine::{Session as RtSession, SubmitError};
use ferrex_types::{
    AccountId, CancelReason, Command, CommandKind, Event, EventKind, InstrumentId, MassCancel,
    OrderId, Qty, RejectReason,
};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const OUCH_LISTENER: Token = Token(0);
const FIX_LISTENER: Token = Token(1);
const FIRST_CONN: usize = 2;
const NS_PER_DAY: u64 = 86_400_000_000_000;
const TIMER_NS: u64 = 10_000_000;
/// Keep polling without sleeping this long after the last activity.
const BUSY_WINDOW: Duration = Duration::from_micros(200);
/// Flush a connection early once this much output is pending.
const EARLY_FLUSH: usize = 64 * 1024;
/// Reads per connection per loop iteration (fairness between connections).
const READS_PER_TURN: usize = 4;
const READ_CHUNK: usize = 64 * 1024;

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// One instrument's price conversions.
#[derive(Clone, Copy, Debug)]
struct Inst {
    /// OUCH price units (1/10000) per ferrex price unit.
    units: u64,
    /// FIX decimal price of one ferrex price unit.
    scale: PriceScale,
}

/// The validated configuration the gateway thread is built from.
pub(crate) struct Plan {
    cfg: ServerConfig,
    insts: Vec<Inst>,
}

fn bad(msg: String) -> ServerError {
    ServerError::Config(msg)
}

fn alnum(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Plan {
    pub(crate) fn new(cfg: &ServerConfig) -> Result<Plan, ServerError> {
        if cfg.instruments.is_empty() {
            return Err(bad("no instruments".into()));
        }
        let mut insts = Vec::with_capacity(cfg.instruments.len());
        for (k, i) in cfg.instruments.iter().enumerate() {
            if cfg.instruments[..k].iter().any(|j| j.name == i.name) {
                return Err(bad(format!("instrument[{k}].name: duplicate {:?}", i.name)));
            }
            if Symbol::new(i.name.as_bytes()).is_none() || i.name.is_empty() {
                return Err(bad(format!(
                    "instrument[{k}].name: {:?} is not a valid symbol (1-8 printable ASCII)",
                    i.name
                )));
            }
            let (m, d) = i.price_increment;
            if m == 0 || d > 18 {
                return Err(bad(format!(
                    "instrument[{k}].price_increment: must be > 0 with at most 18 decimals"
                )));
            }
            if d > 4 {
                return Err(bad(format!(
                    "instrument[{k}].price_increment: finer than 0.0001 cannot be expressed in OUCH prices"
                )));
            }
            let units = m
                .checked_mul(10u64.pow(4 - d))
                .ok_or_else(|| bad(format!("instrument[{k}].price_increment: too large")))?;
            insts.push(Inst {
                units,
                scale: PriceScale {
                    tick_mantissa: m,
                    tick_decimals: d,
                },
            });
        }
        if cfg.ouch_session_id.len() > soupbin::SESSION_LEN || !alnum(&cfg.ouch_session_id) {
            return Err(bad("ouch.session: at most 10 alphanumerics".into()));
        }
        if cfg.fix_sender_comp_id.is_empty() || cfg.fix_sender_comp_id.contains('\x01') {
            return Err(bad("fix.sender_comp_id: must be a non-empty CompID".into()));
        }
        if !(64..=65_535).contains(&cfg.max_message_bytes) {
            return Err(bad(format!(
                "limits.max_message_bytes: must be 64..=65535, got {}",
                cfg.max_message_bytes
            )));
        }
        if cfg.outbound_queue == 0 || cfg.max_connections == 0 {
            return Err(bad(
                "limits.outbound_queue and limits.max_connections must be >= 1".into(),
            ));
        }
        if cfg.sessions.is_empty() {
            return Err(bad("no sessions".into()));
        }
        for (k, s) in cfg.sessions.iter().enumerate() {
            if s.account == 0 {
                return Err(bad(format!("session[{k}].account: must be >= 1")));
            }
            if cfg.sessions[..k].iter().any(|o| o.account == s.account) {
                return Err(bad(format!(
                    "session[{k}].account: account {} is used by another session",
                    s.account
                )));
            }
            match &s.protocol {
                SessionProtocol::Ouch { username, password } => {
                    if username.is_empty()
                        || username.len() > soupbin::USERNAME_LEN
                        || !alnum(username)
                    {
                        return Err(bad(format!(
                            "session[{k}].username: 1-6 alphanumerics, got {username:?}"
                        )));
                    }
                    if password.len() > soupbin::PASSWORD_LEN || !alnum(password) {
                        return Err(bad(format!(
                            "session[{k}].password: at most 10 alphanumerics"
                        )));
                    }
                    let dup = cfg.sessions[..k].iter().any(|o| {
                        matches!(&o.protocol, SessionProtocol::Ouch { username: u, .. } if u == username)
                    });
                    if dup {
                        return Err(bad(format!(
                            "session[{k}].username: duplicate {username:?}"
                        )));
                    }
                }
                SessionProtocol::Fix {
                    comp_id,
                    credentials,
                } => {
                    if comp_id.is_empty() || comp_id.contains('\x01') {
                        return Err(bad(format!("session[{k}].comp_id: must be non-empty")));
                    }
                    if let Some((u, p)) = credentials
                        && (u.contains('\x01') || p.contains('\x01'))
                    {
                        return Err(bad(format!(
                            "session[{k}].username/password: no SOH allowed"
                        )));
                    }
                    let dup = cfg.sessions[..k].iter().any(|o| {
                        matches!(&o.protocol, SessionProtocol::Fix { comp_id: c, .. } if c == comp_id)
                    });
                    if dup {
                        return Err(bad(format!("session[{k}].comp_id: duplicate {comp_id:?}")));
                    }
                }
            }
        }
        for (user, _) in &cfg.ouch_dialects {
            let known = cfg.sessions.iter().any(
                |s| matches!(&s.protocol, SessionProtocol::Ouch { username: u, .. } if u == user),
            );
            if !known {
                return Err(bad(format!(
                    "ouch dialect for {user:?}: no OUCH session has that username"
                )));
            }
        }
        Ok(Plan {
            cfg: cfg.clone(),
            insts,
        })
    }
}

/// The order tables answer an order under its latest reference; a cancel or replace can reach
/// the gateway before the order's own ack, so the reference the order was entered with is kept
/// until its ack (Accepted / Rejected) and the ack is sent under it.
struct OuchSess {
    username: Vec<u8>,
    password: Vec<u8>,
    /// Wire layouts of this session (the spec unless configured otherwise).
    dialect: Dialect,
    soup: SoupSession,
    table: OuchOrderTable,
    unacked: HashMap<OrderId, (UserRefNum, ClOrdId)>,
}

struct FixSess {
    comp_id: Vec<u8>,
    session: FixSession,
    table: FixOrderTable,
    unacked: HashMap<OrderId, Vec<u8>>,
}

enum Proto {
    Ouch(Box<OuchSess>),
    Fix(Box<FixSess>),
}

/// One configured session (one account), outliving its connections.
struct Logical {
    account: AccountId,
    cancel_on_disconnect: bool,
    max_per_sec: u32,
    window_start: u64,
    window_count: u32,
    conn: Option<usize>,
    proto: Proto,
}

impl Logical {
    /// Count one order message against the per-second window.
    fn allow(&mut self, now: u64) -> bool {
        if self.max_per_sec == 0 {
            return true;
        }
        if now.saturating_sub(self.window_start) >= 1_000_000_000 {
            self.window_start = now;
            self.window_count = 0;
        }
        self.window_count = self.window_count.saturating_add(1);
        self.window_count <= self.max_per_sec
    }
}

/// The connection slab plus close / flush bookkeeping.
struct Conns {
    v: Vec<Option<Conn>>,
    free: Vec<usize>,
    open: usize,
    to_close: Vec<usize>,
    dirty: Vec<usize>,
}

impl Conns {
    fn get(&mut self, i: usize) -> Option<&mut Conn> {
        self.v.get_mut(i).and_then(Option::as_mut)
    }

    /// Exists and is not being closed.
    fn live(&self, i: usize) -> bool {
        self.v
            .get(i)
            .and_then(Option::as_ref)
            .is_some_and(|c| c.closing.is_none())
    }

    fn close(&mut self, i: usize, reason: CloseReason) {
        if let Some(c) = self.v.get_mut(i).and_then(Option::as_mut)
            && c.closing.is_none()
        {
            c.closing = Some(reason);
            self.to_close.push(i);
        }
    }

    /// Output was appended to connection `i`: schedule a flush, flush early when a lot is
    /// pending, and drop the connection when its queue is over the limit.
    fn appended(&mut self, i: usize, limit: usize, report: &mut GatewayReport) {
        let Some(c) = self.v.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        if !c.dirty {
            c.dirty = true;
            self.dirty.push(i);
        }
        let mut failed = false;
        if c.pending_bytes() >= EARLY_FLUSH {
            match c.flush() {
                Ok(n) => report.bytes_out += n as u64,
                Err(_) => failed = true,
            }
        }
        let over = c.queued_msgs() > limit || c.pending_bytes() > limit.saturating_mul(512);
        if failed {
            self.close(i, CloseReason::PeerClosed);
        } else if over && c.closing.is_none() {
            report.slow_consumer_drops += 1;
            self.close(i, CloseReason::SlowConsumer);
        }
    }
}

/// The gateway thread's state.
pub(crate) struct Gateway {
    poll: Poll,
    events: Events,
    tokens: Vec<(Token, bool, bool)>,
    ouch_listener: TcpListener,
    fix_listener: TcpListener,
    conns: Conns,
    again: Vec<usize>,
    logicals: Vec<Logical>,
    by_account: HashMap<u32, usize>,
    by_user: HashMap<Vec<u8>, usize>,
    by_comp: HashMap<Vec<u8>, usize>,
    fix_symbols: HashMap<Vec<u8>, usize>,
    insts: Vec<Inst>,
    our_comp: Vec<u8>,
    max_message: usize,
    outbound_queue: usize,
    max_connections: usize,
    logon_timeout: u64,
    rt: RtSession,
    next_order_id: u64,
    /// The client-reference log (with a journal).
    reflog: Option<RefLog>,
    report: GatewayReport,
    evbuf: Vec<Event>,
    scratch: Vec<u8>,
    msgbuf: Vec<u8>,
    chunk: Vec<u8>,
    now: u64,
}

fn blank_event() -> Event {
    Event {
        seq: 0,
        cmd_seq: 0,
        time: 0,
        kind: EventKind::Expired {
            order_id: OrderId(0),
            account: AccountId(0),
            instrument: InstrumentId(0),
            qty: Qty(0),
            side: ferrex_types::Side::Buy,
            price: ferrex_types::Price(0),
        },
    }
}

/// A gateway-made end of an order, fed to an order table so the entry goes (both tables drop
/// an order on `Cancelled`, whatever the last request on it was).
fn forget(order_id: OrderId, account: AccountId, instrument: InstrumentId) -> Event {
    Event {
        kind: EventKind::Cancelled {
            order_id,
            account,
            instrument,
            reason: CancelReason::Requested,
            qty: Qty(0),
            side: ferrex_types::Side::Buy,
            price: ferrex_types::Price(0),
            leaves: Qty(0),
        },
        ..blank_event()
    }
}

/// The server's only `MassCancel` is cancel-on-disconnect (`process_closes`); the engine
/// reports its cancels with [`CancelReason::MassCancel`]. Sessions report them as what they
/// are, [`CancelReason::Disconnect`] (OUCH reason `Z`, FIX Text "cancel on disconnect"). If the
/// server ever sends a client-requested mass cancel, the command will have to carry the reason.
fn disconnect_cancel(mut ev: Event) -> Event {
    if let EventKind::Cancelled { reason, .. } = &mut ev.kind
        && *reason == CancelReason::MassCancel
    {
        *reason = CancelReason::Disconnect;
    }
    ev
}

/// The order an ack (Accepted / Rejected) is for.
fn ack_of(k: &EventKind) -> Option<(OrderId, Option<RejectReason>)> {
    match *k {
        EventKind::Accepted { order_id, .. } => Some((order_id, None)),
        EventKind::Rejected {
            order_id, reason, ..
        } => Some((order_id, Some(reason))),
        _ => None,
    }
}

fn event_instrument(k: &EventKind) -> Option<InstrumentId> {
    match *k {
        EventKind::Accepted { instrument, .. }
        | EventKind::Rejected { instrument, .. }
        | EventKind::Trade { instrument, .. }
        | EventKind::Cancelled { instrument, .. }
        | EventKind::Replaced { instrument, .. }
        | EventKind::Triggered { instrument, .. }
        | EventKind::Expired { instrument, .. } => Some(instrument),
        _ => None,
    }
}

/// Accounts an event concerns (both sides of a trade).
fn event_accounts(k: &EventKind) -> [Option<AccountId>; 2] {
    match *k {
        EventKind::Trade {
            maker_account,
            taker_account,
            ..
        } => [
            Some(maker_account),
            (taker_account != maker_account).then_some(taker_account),
        ],
        EventKind::Accepted { account, .. }
        | EventKind::Rejected { account, .. }
        | EventKind::Cancelled { account, .. }
        | EventKind::Replaced { account, .. }
        | EventKind::Triggered { account, .. }
        | EventKind::Expired { account, .. } => [Some(account), None],
        _ => [None, None],
    }
}

/// The body (fields after the header, up to and including the SOH before `10=`) of a message
/// encoded with [`DUMMY`] as its header.
fn body_of(m: &[u8]) -> &[u8] {
    let start = memchr::memmem::find(m, b"\x0156=T\x01").map_or(m.len(), |p| p + 6);
    let end = memchr::memmem::rfind(m, b"\x0110=").map_or(m.len(), |p| p + 1);
    m.get(start..end).unwrap_or_default()
}

const DUMMY: Header<'static> = Header {
    sender: b"S",
    target: b"T",
    seq: 1,
    sending_time: 0,
    poss_dup: None,
    extra: &[],
};

/// Send one report through the FIX session (sequence number, resend store).
fn fix_send_report(
    session: &mut FixSession,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    r: &FixReport<'_>,
    scale: &PriceScale,
    now: u64,
) {
    scratch.clear();
    let mt: &[u8] = match r {
        FixReport::Exec(e) => {
            encode_execution_report(scratch, &DUMMY, e, scale);
            b"8"
        }
        FixReport::CancelReject(c) => {
            encode_order_cancel_reject(scratch, &DUMMY, c);
            b"9"
        }
    };
    let body = body_of(scratch);
    session.send(mt, now, out, |b| {
        b.raw(body);
    });
}

/// A Logout from a connection that has no session (refused logon).
fn logout_raw(out: &mut Vec<u8>, our: &[u8], their: &[u8], now: u64, text: &[u8]) {
    let target: &[u8] = if their.is_empty() { b"UNKNOWN" } else { their };
    let h = Header {
        sender: our,
        target,
        seq: 1,
        sending_time: now,
        poss_dup: None,
        extra: &[],
    };
    fix::logout(out, &h, Some(text));
}

const BLANK_CL_ORD_ID: ClOrdId = ClOrdId([b' '; 14]);

/// The gateway's own answer to an OUCH request it will not pass on.
fn ouch_refusal(
    msg: &Inbound<'_>,
    table: &OuchOrderTable,
    code: OuchRejectCode,
    timestamp: u64,
) -> Outbound<'static> {
    let rejected = |user_ref_num, cl_ord_id| {
        Outbound::Rejected(Rejected {
            timestamp,
            user_ref_num,
            reason: code,
            cl_ord_id,
            appendage: Appendage::EMPTY,
        })
    };
    match msg {
        Inbound::Enter(m) => rejected(m.user_ref_num, m.cl_ord_id),
        Inbound::Replace(m) => rejected(m.user_ref_num, m.cl_ord_id),
        Inbound::Cancel(m) => Outbound::CancelReject(CancelReject {
            timestamp,
            user_ref_num: m.user_ref_num,
            appendage: Appendage::EMPTY,
        }),
        Inbound::Modify(m) => rejected(
            m.user_ref_num,
            table
                .by_user_ref(m.user_ref_num)
                .map_or(BLANK_CL_ORD_ID, |i| i.cl_ord_id),
        ),
    }
}

/// Encode and send one OUCH message as sequenced data (stored for replay even without a
/// connection).
fn ouch_emit(
    soup: &mut SoupSession,
    dialect: Dialect,
    conn: Option<&mut Conn>,
    msg: &Outbound<'_>,
    now: u64,
    msgbuf: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) {
    msgbuf.clear();
    if msg.encode_dialect(msgbuf, dialect).is_err() {
        return;
    }
    match conn {
        Some(c) if c.closing.is_none() => {
            soup.send_sequenced(msgbuf, now, &mut c.out);
            c.note_msg();
        }
        _ => {
            scratch.clear();
            soup.send_sequenced(msgbuf, now, scratch);
        }
    }
}

fn fix_error_text(e: &FixMapError) -> &'static str {
    match e {
        FixMapError::Field(_) => "Invalid field",
        FixMapError::UnknownSymbol => "Unknown symbol",
        FixMapError::UnknownOrder => "Unknown order",
        FixMapError::DuplicateClOrdId => "Duplicate ClOrdID",
        FixMapError::PriceNotOnTick(_) => "Price not on a tick",
        FixMapError::Unsupported(_) => "Unsupported value",
    }
}

fn cxl_reason_of(e: &FixMapError) -> u32 {
    match e {
        FixMapError::UnknownOrder => 1,
        FixMapError::DuplicateClOrdId => 6,
        _ => 99,
    }
}

impl Gateway {
    pub(crate) fn new(
        plan: Plan,
        mut ouch_listener: TcpListener,
        mut fix_listener: TcpListener,
        rt: RtSession,
    ) -> std::io::Result<Gateway> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut ouch_listener, OUCH_LISTENER, Interest::READABLE)?;
        poll.registry()
            .register(&mut fix_listener, FIX_LISTENER, Interest::READABLE)?;
        let cfg = plan.cfg;
        let symbols: Vec<(Symbol, InstrumentId)> = cfg
            .instruments
            .iter()
            .enumerate()
            .filter_map(|(k, i)| {
                Symbol::new(i.name.as_bytes()).map(|s| (s, InstrumentId(k as u32)))
            })
            .collect();
        let mut logicals = Vec::new();
        let mut by_account = HashMap::new();
        let mut by_user = HashMap::new();
        let mut by_comp = HashMap::new();
        for (k, s) in cfg.sessions.iter().enumerate() {
            let proto = match &s.protocol {
                SessionProtocol::Ouch { username, password } => {
                    by_user.insert(username.as_bytes().to_vec(), k);
                    let mut sc = SoupConfig::new(cfg.ouch_session_id.as_bytes());
                    sc.heartbeat_ns = cfg.ouch_heartbeat_ns;
                    sc.timeout_ns = cfg.ouch_timeout_ns;
                    Proto::Ouch(Box::new(OuchSess {
                        username: username.as_bytes().to_vec(),
                        password: password.as_bytes().to_vec(),
                        dialect: cfg
                            .ouch_dialects
                            .iter()
                            .find(|(u, _)| u == username)
                            .map_or(Dialect::Spec, |&(_, d)| d),
                        soup: SoupSession::new(sc),
                        table: OuchOrderTable::new(symbols.iter().copied()),
                        unacked: HashMap::new(),
                    }))
                }
                SessionProtocol::Fix {
                    comp_id,
                    credentials,
                } => {
                    by_comp.insert(comp_id.as_bytes().to_vec(), k);
                    let mut sc =
                        SessionConfig::new(cfg.fix_sender_comp_id.as_bytes(), comp_id.as_bytes());
                    sc.credentials = credentials
                        .as_ref()
                        .map(|(u, p)| (u.as_bytes().to_vec(), p.as_bytes().to_vec()));
                    sc.max_latency_ns = cfg.fix_max_latency_ns;
                    sc.echo_application = cfg.fix_echo_application;
                    Proto::Fix(Box::new(FixSess {
                        comp_id: comp_id.as_bytes().to_vec(),
                        session: FixSession::new(sc),
                        table: FixOrderTable::new(
                            cfg.instruments
                                .iter()
                                .enumerate()
                                .map(|(k, i)| (i.name.as_bytes(), InstrumentId(k as u32))),
                        ),
                        unacked: HashMap::new(),
                    }))
                }
            };
            by_account.insert(s.account, k);
            logicals.push(Logical {
                account: AccountId(s.account),
                cancel_on_disconnect: s.cancel_on_disconnect,
                max_per_sec: s.max_msgs_per_sec,
                window_start: 0,
                window_count: 0,
                conn: None,
                proto,
            });
        }
        let fix_symbols = cfg
            .instruments
            .iter()
            .enumerate()
            .map(|(k, i)| (i.name.as_bytes().to_vec(), k))
            .collect();
        Ok(Gateway {
            poll,
            events: Events::with_capacity(1024),
            tokens: Vec::with_capacity(1024),
            ouch_listener,
            fix_listener,
            conns: Conns {
                v: Vec::new(),
                free: Vec::new(),
                open: 0,
                to_close: Vec::new(),
                dirty: Vec::new(),
            },
            again: Vec::new(),
            logicals,
            by_account,
            by_user,
            by_comp,
            fix_symbols,
            insts: plan.insts,
            our_comp: cfg.fix_sender_comp_id.as_bytes().to_vec(),
            max_message: cfg.max_message_bytes,
            outbound_queue: cfg.outbound_queue,
            max_connections: cfg.max_connections,
            logon_timeout: cfg.logon_timeout_ns,
            rt,
            next_order_id: 0,
            reflog: None,
            report: GatewayReport::default(),
            evbuf: vec![blank_event(); 512],
            scratch: Vec::with_capacity(1024),
            msgbuf: Vec::with_capacity(256),
            chunk: vec![0; READ_CHUNK],
            now: unix_ns(),
        })
    }

    /// Continue the engine order-id allocator above `last` (the highest order id a recovered
    /// engine or its journal names), so new orders never reuse a recovered order's id.
    pub(super) fn continue_order_ids_after(&mut self, last: u64) {
        self.next_order_id = self.next_order_id.max(last);
    }

    /// Put the client references recovered from the reference log back into the sessions'
    /// tables, and write further references to `log`.
    pub(super) fn restore(&mut self, r: Restored, log: RefLog) {
        for lg in &mut self.logicals {
            match &mut lg.proto {
                Proto::Ouch(o) => {
                    if let Some(x) = r.ouch.get(&lg.account.0) {
                        o.table.restore_last_user_ref(x.last_user_ref);
                        for info in &x.orders {
                            o.table.restore(*info);
                        }
                    }
                }
                Proto::Fix(f) => {
                    for x in r.fix.get(&lg.account.0).into_iter().flatten() {
                        f.table.restore(
                            x.order_id,
                            x.instrument,
                            &x.cl_ord_id,
                            &x.orig_cl_ord_id,
                            &x.symbol,
                            x.side,
                            x.order_qty,
                            x.price,
                            x.cum_qty,
                            x.cum_notional,
                        );
                    }
                }
            }
        }
        self.reflog = Some(log);
    }

    /// The loop; returns the counters once `stop` is set and everything is closed.
    pub(crate) fn run(&mut self, stop: &AtomicBool) -> GatewayReport {
        let mut last_activity = Instant::now();
        let mut last_timer = 0u64;
        loop {
            let timeout = if last_activity.elapsed() < BUSY_WINDOW {
                Duration::ZERO
            } else {
                Duration::from_millis(1)
            };
            if let Err(e) = self.poll.poll(&mut self.events, Some(timeout))
                && e.kind() != std::io::ErrorKind::Interrupted
            {
                // Polling itself failed: nothing more can be served.
                break;
            }
            self.now = unix_ns();
            let before = (
                self.report.commands,
                self.report.events,
                self.report.bytes_in,
            );
            let mut tokens = std::mem::take(&mut self.tokens);
            tokens.clear();
            tokens.extend(self.events.iter().map(|e| {
                (
                    e.token(),
                    e.is_readable() || e.is_read_closed() || e.is_error(),
                    e.is_writable(),
                )
            }));
            let mut active = !tokens.is_empty();
            for &(t, readable, writable) in &tokens {
                match t {
                    OUCH_LISTENER => self.accept(Port::Ouch),
                    FIX_LISTENER => self.accept(Port::Fix),
                    Token(k) => {
                        let i = k - FIRST_CONN;
                        if writable {
                            self.flush_conn(i);
                        }
                        if readable {
                            self.on_readable(i);
                        }
                    }
                }
            }
            self.tokens = tokens;
            let again = std::mem::take(&mut self.again);
            for i in again {
                self.on_readable(i);
            }
            self.drain_engine();
            if self.now.saturating_sub(last_timer) >= TIMER_NS {
                self.timers();
                last_timer = self.now;
            }
            self.flush_dirty();
            self.process_closes();
            active |= before
                != (
                    self.report.commands,
                    self.report.events,
                    self.report.bytes_in,
                );
            if active || !self.again.is_empty() {
                last_activity = Instant::now();
            } else {
                // Busy-waiting for the engine's answer: let a client sharing this core run.
                std::thread::yield_now();
            }
            if stop.load(Ordering::Acquire) {
                self.shutdown();
                break;
            }
        }
        self.report.ref_log_error = self.reflog.as_ref().and_then(|l| l.error.clone());
        std::mem::take(&mut self.report)
    }

    fn shutdown(&mut self) {
        self.now = unix_ns();
        let now = self.now;
        for i in 0..self.conns.v.len() {
            let Some(c) = self.conns.v[i].as_mut() else {
                continue;
            };
            if c.logged_in
                && c.closing.is_none()
                && let Some(li) = c.logical
            {
                match &mut self.logicals[li].proto {
                    Proto::Ouch(o) => o.soup.end_of_session(now, &mut c.out),
                    Proto::Fix(f) => {
                        let h = Header {
                            sender: &self.our_comp,
                            target: &f.comp_id,
                            seq: f.session.next_out(),
                            sending_time: now,
                            poss_dup: None,
                            extra: &[],
                        };
                        fix::logout(&mut c.out, &h, Some(b"Server shutting down"));
                    }
                }
            }
            self.conns.close(i, CloseReason::Shutdown);
        }
        self.process_closes();
        // Let the engine answer the cancel-on-disconnect mass cancels (bounded wait).
        let t0 = Instant::now();
        let mut quiet = Instant::now();
        while t0.elapsed() < Duration::from_millis(500)
            && quiet.elapsed() < Duration::from_millis(20)
        {
            if self.drain_engine() > 0 {
                quiet = Instant::now();
            }
            std::hint::spin_loop();
        }
        if let Some(l) = &mut self.reflog {
            l.tick();
        }
    }

    fn accept(&mut self, port: Port) {
        loop {
            let res = match port {
                Port::Ouch => self.ouch_listener.accept(),
                Port::Fix => self.fix_listener.accept(),
            };
            match res {
                Ok((mut stream, _)) => {
                    self.report.connections += 1;
                    if self.conns.open >= self.max_connections {
                        self.report.refused_connections += 1;
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    let i = match self.conns.free.pop() {
                        Some(i) => i,
                        None => {
                            self.conns.v.push(None);
                            self.conns.v.len() - 1
                        }
                    };
                    if self
                        .poll
                        .registry()
                        .register(
                            &mut stream,
                            Token(i + FIRST_CONN),
                            Interest::READABLE | Interest::WRITABLE,
                        )
                        .is_err()
                    {
                        self.conns.free.push(i);
                        continue;
                    }
                    self.conns.v[i] = Some(Conn::new(stream, port, self.now));
                    self.conns.open += 1;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }

    fn flush_conn(&mut self, i: usize) {
        let Some(c) = self.conns.get(i) else { return };
        match c.flush() {
            Ok(n) => self.report.bytes_out += n as u64,
            Err(_) => self.conns.close(i, CloseReason::PeerClosed),
        }
    }

    fn flush_dirty(&mut self) {
        let dirty = std::mem::take(&mut self.conns.dirty);
        for &i in &dirty {
            if let Some(c) = self.conns.get(i) {
                c.dirty = false;
            }
            self.flush_conn(i);
        }
        let mut dirty = dirty;
        dirty.clear();
        if self.conns.dirty.is_empty() {
            self.conns.dirty = dirty;
        }
    }

    fn on_readable(&mut self, i: usize) {
        for _ in 0..READS_PER_TURN {
            let Some(c) = self.conns.v.get_mut(i).and_then(Option::as_mut) else {
                return;
            };
            if c.closing.is_some() {
                return;
            }
            match c.read_some(&mut self.chunk) {
                ReadOutcome::Data(n) => {
                    self.report.bytes_in += n as u64;
                    self.process_input(i);
                }
                ReadOutcome::WouldBlock => return,
                ReadOutcome::Closed => {
                    self.conns.close(i, CloseReason::PeerClosed);
                    return;
                }
            }
        }
        if !self.again.contains(&i) {
            self.again.push(i);
        }
    }

    fn process_input(&mut self, i: usize) {
        let Some(c) = self.conns.get(i) else { return };
        let port = c.port;
        let buf = std::mem::take(&mut c.inbuf);
        let used = match port {
            Port::Ouch => self.ouch_input(i, &buf),
            Port::Fix => self.fix_input(i, &buf),
        };
        let mut buf = buf;
        buf.drain(..used.min(buf.len()));
        if let Some(c) = self.conns.get(i) {
            if c.closing.is_some() {
                buf.clear();
            }
            c.inbuf = buf;
        }
    }

    fn closing(&self, i: usize) -> bool {
        !self.conns.live(i)
    }

    /// Submit one command; while the ring is full, drain events (the engine never waits on
    /// us, and we never wait on it for long).
    fn submit(&mut self, mut cmd: Command) {
        // The client references of the command reach the log (and, in `sync`, the disk) first.
        if let Some(l) = &mut self.reflog {
            l.before_submit();
        }
        loop {
            match self.rt.submit(cmd) {
                Ok(()) => {
                    self.report.commands += 1;
                    return;
                }
                Err(SubmitError::Full(c)) => {
                    cmd = c;
                    self.drain_engine();
                    std::hint::spin_loop();
                }
                Err(SubmitError::EngineGone(_)) => return,
            }
        }
    }

    /// Route every waiting engine event. Returns how many there were.
    ///
    /// Market data: a market-data consumer (the runtime's md ring) would be drained here too,
    /// and level/trade events published from here.
    fn drain_engine(&mut self) -> usize {
        let mut total = 0;
        loop {
            let n = self.rt.poll_batch(&mut self.evbuf);
            if n == 0 {
                break;
            }
            total += n;
            for k in 0..n {
                let ev = disconnect_cancel(self.evbuf[k]);
                for acc in event_accounts(&ev.kind).into_iter().flatten() {
                    if let Some(&li) = self.by_account.get(&acc.0) {
                        self.deliver(li, &ev);
                    }
                }
            }
        }
        self.report.events += total as u64;
        if total > 0
            && let Some(l) = &mut self.reflog
        {
            l.before_submit();
        }
        total
    }

    /// Map one event to session `li`'s protocol and send it (or store it, for OUCH replay,
    /// when the session has no connection); update its order table.
    fn deliver(&mut self, li: usize, ev: &Event) {
        let now = self.now;
        let lg = &mut self.logicals[li];
        let account = lg.account;
        let k = event_instrument(&ev.kind)
            .map(|x| x.0 as usize)
            .filter(|&k| k < self.insts.len())
            .unwrap_or(0);
        let inst = self.insts[k];
        let ci = lg.conn.filter(|&ci| self.conns.live(ci));
        match &mut lg.proto {
            Proto::Ouch(o) => {
                let cfg = OuchMapConfig {
                    account,
                    units_per_tick: inst.units,
                };
                let mut replies = event_to_outbound(ev, now % NS_PER_DAY, &cfg, &o.table);
                let ack = ack_of(&ev.kind)
                    .and_then(|(id, rej)| o.unacked.remove(&id).map(|x| (id, rej, x)));
                if let Some((_, rej, (user_ref_num, cl_ord_id))) = ack {
                    for m in replies.iter_mut() {
                        match (m, rej) {
                            (Outbound::Accepted(a), None) if a.orig_user_ref_num.is_none() => {
                                a.user_ref_num = user_ref_num;
                                a.cl_ord_id = cl_ord_id;
                            }
                            (m, Some(reason)) => {
                                *m = Outbound::Rejected(Rejected {
                                    timestamp: now % NS_PER_DAY,
                                    user_ref_num,
                                    reason: crate::ouch_map::reject_code(reason),
                                    cl_ord_id,
                                    appendage: Appendage::EMPTY,
                                });
                            }
                            _ => {}
                        }
                    }
                }
                for m in &replies {
                    let conn = ci.and_then(|ci| self.conns.v[ci].as_mut());
                    ouch_emit(
                        &mut o.soup,
                        o.dialect,
                        conn,
                        m,
                        now,
                        &mut self.msgbuf,
                        &mut self.scratch,
                    );
                }
                let answer = match ev.kind {
                    _ if self.reflog.is_none() => None,
                    EventKind::Replaced { order_id, .. } | EventKind::Rejected { order_id, .. } => {
                        o.table
                            .by_order_id(order_id)
                            .filter(|i| i.replace_pending)
                            .map(|_| (order_id, matches!(ev.kind, EventKind::Replaced { .. })))
                    }
                    _ => None,
                };
                o.table.on_event(ev);
                if let Some(log) = &mut self.reflog {
                    if let Some((id, accepted)) = answer {
                        log.ouch_answer(account.0, id, accepted);
                    }
                    if let EventKind::Trade {
                        maker_order_id,
                        taker_order_id,
                        ..
                    } = ev.kind
                    {
                        for id in [maker_order_id, taker_order_id] {
                            if let Some(i) = o.table.by_order_id(id) {
                                log.fill(account.0, id, i.executed, 0);
                            }
                        }
                    }
                }
                if let Some((id, Some(_), _)) = ack
                    && let Some(i) = o.table.by_order_id(id)
                {
                    o.table.on_event(&forget(id, account, i.instrument));
                }
            }
            Proto::Fix(f) => {
                let FixSess {
                    session,
                    table,
                    unacked,
                    ..
                } = &mut **f;
                let ack = ack_of(&ev.kind)
                    .and_then(|(id, rej)| unacked.remove(&id).map(|cl| (id, rej, cl)));
                if let Some(c) = ci.and_then(|ci| self.conns.v[ci].as_mut()) {
                    let mut reports = event_to_reports(ev, table);
                    if let Some((id, rej, cl)) = &ack {
                        let info = table.by_order_id(*id);
                        for r in reports.iter_mut() {
                            match (&*r, rej, info) {
                                (FixReport::Exec(e), None, _) if e.exec_type == b'0' => {
                                    *r = FixReport::Exec(ExecReport {
                                        cl_ord_id: cl,
                                        orig_cl_ord_id: None,
                                        ..*e
                                    });
                                }
                                (_, Some(reason), Some(i)) => {
                                    *r = FixReport::Exec(ExecReport {
                                        order_id: i.order_id,
                                        cl_ord_id: cl,
                                        orig_cl_ord_id: None,
                                        exec_id: ev.seq,
                                        exec_type: b'8',
                                        ord_status: b'8',
                                        symbol: i.symbol,
                                        side: i.side,
                                        order_qty: i.order_qty,
                                        price: (i.price != ferrex_types::Price::ZERO)
                                            .then_some(i.price),
                                        last: None,
                                        leaves_qty: 0,
                                        cum_qty: 0,
                                        cum_notional: 0,
                                        ord_rej_reason: Some(crate::fix_map::ord_rej_reason(
                                            *reason,
                                        )),
                                        text: Some(reason.as_str()),
                                    });
                                }
                                _ => {}
                            }
                        }
                    }
                    for r in &reports {
                        fix_send_report(
                            session,
                            &mut c.out,
                            &mut self.scratch,
                            r,
                            &inst.scale,
                            now,
                        );
                        c.note_msg();
                    }
                }
                let answer = match ev.kind {
                    _ if self.reflog.is_none() => None,
                    EventKind::Replaced { order_id, .. } => {
                        table.by_order_id(order_id).map(|_| (order_id, true))
                    }
                    EventKind::Rejected { order_id, .. } => table
                        .by_order_id(order_id)
                        .filter(|i| i.last_op != FixOp::New)
                        .map(|_| (order_id, false)),
                    _ => None,
                };
                table.on_event(ev);
                if let Some(log) = &mut self.reflog {
                    if let Some((id, accepted)) = answer {
                        log.fix_answer(account.0, id, accepted);
                    }
                    if let EventKind::Trade {
                        maker_order_id,
                        taker_order_id,
                        ..
                    } = ev.kind
                    {
                        for id in [maker_order_id, taker_order_id] {
                            if let Some(i) = table.by_order_id(id) {
                                log.fill(account.0, id, i.cum_qty, i.cum_notional);
                            }
                        }
                    }
                }
                if let Some((id, Some(_), _)) = ack
                    && let Some(i) = table.by_order_id(id)
                {
                    let instrument = i.instrument;
                    table.on_event(&forget(id, account, instrument));
                }
            }
        }
        if let Some(ci) = ci {
            self.conns
                .appended(ci, self.outbound_queue, &mut self.report);
        }
    }

    fn timers(&mut self) {
        let now = self.now;
        if let Some(l) = &mut self.reflog {
            l.tick();
        }
        for i in 0..self.conns.v.len() {
            let Some(c) = self.conns.v[i].as_mut() else {
                continue;
            };
            if c.closing.is_some() {
                continue;
            }
            if !c.logged_in {
                if now.saturating_sub(c.connected_at) >= self.logon_timeout {
                    self.report.logon_timeouts += 1;
                    self.conns.close(i, CloseReason::LogonTimeout);
                }
                continue;
            }
            let Some(li) = c.logical else { continue };
            let before = c.out.len();
            let dead = match &mut self.logicals[li].proto {
                Proto::Ouch(o) => o.soup.on_timer(now, &mut c.out),
                Proto::Fix(f) => f.session.on_timer(now, &mut c.out),
            };
            let wrote = c.out.len() != before;
            if wrote {
                self.conns
                    .appended(i, self.outbound_queue, &mut self.report);
            }
            if dead {
                self.report.idle_timeouts += 1;
                self.conns.close(i, CloseReason::IdleTimeout);
            }
        }
    }

    fn process_closes(&mut self) {
        while let Some(i) = self.conns.to_close.pop() {
            let Some(mut c) = self.conns.v.get_mut(i).and_then(Option::take) else {
                continue;
            };
            if let Ok(n) = c.flush() {
                self.report.bytes_out += n as u64;
            }
            // Read what is left so closing does not reset the connection (which could make the
            // client lose our last message), then close our side.
            for _ in 0..4 {
                match c.read_some(&mut self.chunk) {
                    ReadOutcome::Data(_) => c.inbuf.clear(),
                    _ => break,
                }
            }
            let _ = c.stream.shutdown(std::net::Shutdown::Write);
            let _ = self.poll.registry().deregister(&mut c.stream);
            self.conns.open = self.conns.open.saturating_sub(1);
            self.conns.free.push(i);
            self.again.retain(|&x| x != i);
            let Some(li) = c.logical else { continue };
            let lg = &mut self.logicals[li];
            if lg.conn == Some(i) {
                lg.conn = None;
                if let Proto::Fix(f) = &mut lg.proto {
                    f.session.on_disconnect();
                }
            }
            if c.logged_in && lg.cancel_on_disconnect {
                let account = lg.account;
                self.report.cancel_on_disconnect += 1;
                self.submit(Command::new(
                    self.now,
                    CommandKind::MassCancel(MassCancel {
                        account,
                        instrument: None,
                    }),
                ));
            }
        }
    }

    // ------------------------------------------------------------------------------ OUCH

    fn ouch_input(&mut self, i: usize, buf: &[u8]) -> usize {
        let mut at = 0;
        while !self.closing(i) {
            match soupbin::decode_with_max(&buf[at..], self.max_message) {
                Ok(None) => break,
                Ok(Some((p, n))) => {
                    at += n;
                    if let Some(cmd) = self.on_soup_packet(i, &p) {
                        self.submit(cmd);
                    }
                }
                Err(e) => {
                    self.report.protocol_errors += 1;
                    if let Some(c) = self.conns.get(i) {
                        let text = format!("protocol error: {e}");
                        let _ = soupbin::encode(&Packet::Debug(text.as_bytes()), &mut c.out);
                    }
                    self.conns.close(i, CloseReason::Protocol);
                    return buf.len();
                }
            }
        }
        at
    }

    fn on_soup_packet(&mut self, i: usize, p: &Packet<'_>) -> Option<Command> {
        let now = self.now;
        let c = self.conns.v.get_mut(i)?.as_mut()?;
        let Some(li) = c.logical else {
            // Awaiting the Login Request.
            let Packet::LoginRequest {
                username, password, ..
            } = *p
            else {
                self.report.protocol_errors += 1;
                let _ = soupbin::encode(&Packet::Debug(b"expected Login Request"), &mut c.out);
                self.conns.close(i, CloseReason::Protocol);
                return None;
            };
            let refuse = |c: &mut Conn, code| {
                let _ = soupbin::encode(&Packet::LoginRejected(code), &mut c.out);
            };
            let Some(&li) = self.by_user.get(username) else {
                refuse(c, LoginRejectCode::NotAuthorized);
                self.report.logons_refused += 1;
                self.conns.close(i, CloseReason::Protocol);
                return None;
            };
            let lg = &mut self.logicals[li];
            let Proto::Ouch(o) = &mut lg.proto else {
                return None;
            };
            let OuchSess {
                username: un,
                password: pw,
                soup,
                ..
            } = &mut **o;
            if lg.conn.is_some() {
                let pw_ok = password == &pw[..];
                refuse(
                    c,
                    if pw_ok {
                        LoginRejectCode::SessionNotAvailable
                    } else {
                        LoginRejectCode::NotAuthorized
                    },
                );
                self.report.logons_refused += 1;
                if pw_ok {
                    self.report.second_logons_refused += 1;
                }
                self.conns.close(i, CloseReason::Protocol);
                return None;
            }
            soup.on_connect(now);
            let step = soup.on_packet(p, now, &mut c.out, |u, w| u == &un[..] && w == &pw[..]);
            if step.logged_in {
                c.logical = Some(li);
                c.logged_in = true;
                lg.conn = Some(i);
                self.report.logons += 1;
            } else {
                self.report.logons_refused += 1;
            }
            if step.disconnect {
                self.conns.close(i, CloseReason::Protocol);
            }
            self.conns
                .appended(i, self.outbound_queue, &mut self.report);
            return None;
        };
        let Proto::Ouch(o) = &mut self.logicals[li].proto else {
            return None;
        };
        let step = o.soup.on_packet(p, now, &mut c.out, |_, _| false);
        if step.disconnect {
            self.conns.close(i, CloseReason::PeerClosed);
        }
        let cmd = step.app.and_then(|app| self.on_ouch_app(i, li, app));
        self.conns
            .appended(i, self.outbound_queue, &mut self.report);
        cmd
    }

    fn on_ouch_app(&mut self, i: usize, li: usize, payload: &[u8]) -> Option<Command> {
        let now = self.now;
        self.report.app_messages_in += 1;
        let c = self.conns.v.get_mut(i)?.as_mut()?;
        let lg = &mut self.logicals[li];
        let dialect = match &lg.proto {
            Proto::Ouch(o) => o.dialect,
            Proto::Fix(_) => Dialect::Spec,
        };
        let msg = match Inbound::decode_dialect(payload, dialect) {
            Ok(m) => m,
            Err(e) => {
                self.report.protocol_errors += 1;
                let text = format!("bad OUCH message: {e}");
                let _ = soupbin::encode(&Packet::Debug(text.as_bytes()), &mut c.out);
                c.note_msg();
                return None;
            }
        };
        let allowed = lg.allow(now);
        let account = lg.account;
        let Proto::Ouch(o) = &mut lg.proto else {
            return None;
        };
        let ts = now % NS_PER_DAY;
        let refuse = |o: &mut OuchSess, c: &mut Conn, code, msgbuf: &mut Vec<u8>, scratch| {
            let out = ouch_refusal(&msg, &o.table, code, ts);
            ouch_emit(&mut o.soup, o.dialect, Some(c), &out, now, msgbuf, scratch);
        };
        if !allowed {
            self.report.throttled += 1;
            refuse(
                o,
                c,
                OuchRejectCode::RISK_PORT_MESSAGE_RATE,
                &mut self.msgbuf,
                &mut self.scratch,
            );
            return None;
        }
        let instrument = match &msg {
            Inbound::Enter(m) => o.table.instrument(&m.symbol),
            Inbound::Replace(m) => o
                .table
                .by_user_ref(m.orig_user_ref_num)
                .or_else(|| o.table.by_user_ref(m.user_ref_num))
                .map(|x| x.instrument),
            Inbound::Cancel(m) => o.table.by_user_ref(m.user_ref_num).map(|x| x.instrument),
            Inbound::Modify(m) => o.table.by_user_ref(m.user_ref_num).map(|x| x.instrument),
        };
        let k = instrument
            .map(|x| x.0 as usize)
            .filter(|&k| k < self.insts.len())
            .unwrap_or(0);
        let cfg = OuchMapConfig {
            account,
            units_per_tick: self.insts[k].units,
        };
        let next = &mut self.next_order_id;
        if let Err(e) = o.table.on_inbound(&msg, &cfg, || {
            *next += 1;
            OrderId(*next)
        }) {
            refuse(o, c, e.reject_code(), &mut self.msgbuf, &mut self.scratch);
            return None;
        }
        match inbound_to_command(&msg, now, &cfg, &o.table) {
            Ok(cmd) => {
                if let (Inbound::Enter(m), CommandKind::New(n)) = (&msg, &cmd.kind) {
                    o.unacked.insert(n.order_id, (m.user_ref_num, m.cl_ord_id));
                }
                if let Some(log) = &mut self.reflog {
                    match (&msg, &cmd.kind) {
                        (Inbound::Enter(_), CommandKind::New(n)) => {
                            if let Some(info) = o.table.by_order_id(n.order_id) {
                                log.ouch_enter(account.0, &info);
                            }
                        }
                        (Inbound::Replace(m), kind) => {
                            if let Some(info) = o.table.by_user_ref(m.user_ref_num) {
                                let (price, leaves) = match kind {
                                    CommandKind::Modify(x) => (x.price, x.qty.0),
                                    _ => (info.price, 0),
                                };
                                log.ouch_replace(account.0, &info, price, leaves);
                            }
                        }
                        _ => {}
                    }
                }
                Some(cmd)
            }
            Err(e) => {
                if let Some(log) = &mut self.reflog {
                    match &msg {
                        Inbound::Enter(m) => log.ouch_ref(account.0, m.user_ref_num),
                        Inbound::Replace(m) => log.ouch_ref(account.0, m.user_ref_num),
                        _ => {}
                    }
                }
                refuse(o, c, e.reject_code(), &mut self.msgbuf, &mut self.scratch);
                if let Inbound::Enter(m) = &msg
                    && let Some(info) = o.table.by_user_ref(m.user_ref_num)
                {
                    o.table
                        .on_event(&forget(info.order_id, account, info.instrument));
                }
                None
            }
        }
    }

    // ------------------------------------------------------------------------------ FIX

    fn fix_input(&mut self, i: usize, buf: &[u8]) -> usize {
        let mut at = 0;
        while !self.closing(i) && at < buf.len() {
            match fix::frame(&buf[at..], self.max_message) {
                Ok(None) => break,
                Ok(Some(n)) => {
                    let m = &buf[at..at + n];
                    at += n;
                    self.on_fix_message(i, m);
                }
                Err(fix::FixError::TooLong { len, max }) => {
                    self.report.protocol_errors += 1;
                    let text = format!("Message too large ({len} bytes, limit {max})");
                    self.fix_logout_and_close(i, text.as_bytes());
                    return buf.len();
                }
                Err(_) => {
                    self.report.protocol_errors += 1;
                    let logged = self.conns.get(i).is_some_and(|c| c.logged_in);
                    if !logged {
                        self.conns.close(i, CloseReason::Protocol);
                        return buf.len();
                    }
                    at += fix::resync(&buf[at..]);
                }
            }
        }
        at
    }

    /// Logout with `text` (sequence number of the session when there is one), then close.
    fn fix_logout_and_close(&mut self, i: usize, text: &[u8]) {
        let now = self.now;
        let Some(c) = self.conns.v.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        match c.logical.map(|li| &self.logicals[li].proto) {
            Some(Proto::Fix(f)) if c.logged_in => {
                let h = Header {
                    sender: &self.our_comp,
                    target: &f.comp_id,
                    seq: f.session.next_out(),
                    sending_time: now,
                    poss_dup: None,
                    extra: &[],
                };
                fix::logout(&mut c.out, &h, Some(text));
            }
            _ => logout_raw(&mut c.out, &self.our_comp, b"", now, text),
        }
        self.conns.close(i, CloseReason::Protocol);
    }

    fn on_fix_message(&mut self, i: usize, m: &[u8]) {
        let now = self.now;
        let Some(c) = self.conns.v.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        let li = match c.logical {
            Some(li) => li,
            None => {
                // Awaiting Logon: find the session by SenderCompID.
                let Ok(parsed) = fix::parse(m) else {
                    self.report.protocol_errors += 1;
                    self.conns.close(i, CloseReason::Protocol);
                    return;
                };
                if parsed.msg_type() != b"A" {
                    self.report.protocol_errors += 1;
                    self.conns.close(i, CloseReason::Protocol);
                    return;
                }
                let comp = parsed.get(fix::tag::SENDER_COMP_ID).unwrap_or_default();
                // An unknown CompID or a second logon for a connected session: disconnect
                // without a Logout, as QuickFIX does and its acceptance scripts expect
                // (1c_InvalidSenderCompID, 1b_DuplicateIdentity, AlreadyLoggedOn): no session
                // to send a sequenced message on, and the connected one must stay untouched.
                let Some(&li) = self.by_comp.get(comp) else {
                    self.report.logons_refused += 1;
                    self.conns.close(i, CloseReason::Protocol);
                    return;
                };
                let lg = &mut self.logicals[li];
                if lg.conn.is_some() {
                    self.report.logons_refused += 1;
                    self.report.second_logons_refused += 1;
                    self.conns.close(i, CloseReason::Protocol);
                    return;
                }
                let Proto::Fix(f) = &mut lg.proto else { return };
                c.logical = Some(li);
                lg.conn = Some(i);
                let step = f.session.on_message(m, now, &mut c.out);
                if f.session.state() == SessionState::Active {
                    c.logged_in = true;
                    self.report.logons += 1;
                } else {
                    self.report.logons_refused += 1;
                }
                if step.disconnect {
                    self.conns.close(i, CloseReason::Protocol);
                }
                self.conns
                    .appended(i, self.outbound_queue, &mut self.report);
                return;
            }
        };
        self.on_fix_logged(i, li, m);
        // Messages queued behind a gap whose turn has come.
        while !self.closing(i) {
            let Proto::Fix(f) = &mut self.logicals[li].proto else {
                return;
            };
            let Some(q) = f.session.take_queued() else {
                break;
            };
            self.on_fix_logged(i, li, &q);
        }
    }

    fn on_fix_logged(&mut self, i: usize, li: usize, m: &[u8]) {
        let now = self.now;
        let Some(c) = self.conns.v.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        let Proto::Fix(f) = &mut self.logicals[li].proto else {
            return;
        };
        let step = f.session.on_message(m, now, &mut c.out);
        let disconnect = step.disconnect;
        if let Some(app) = step.app
            && let Some(cmd) = self.on_fix_app(i, li, &app)
        {
            self.submit(cmd);
        }
        if disconnect {
            self.conns.close(i, CloseReason::PeerClosed);
        }
        self.conns
            .appended(i, self.outbound_queue, &mut self.report);
    }

    fn on_fix_app(&mut self, i: usize, li: usize, msg: &Message<'_>) -> Option<Command> {
        let now = self.now;
        self.report.app_messages_in += 1;
        let c = self.conns.v.get_mut(i)?.as_mut()?;
        let lg = &mut self.logicals[li];
        let allowed = lg.allow(now);
        let account = lg.account;
        let Proto::Fix(f) = &mut lg.proto else {
            return None;
        };
        let FixSess {
            session,
            table,
            unacked: f_unacked,
            ..
        } = &mut **f;
        let mt = msg.msg_type();
        if !allowed {
            self.report.throttled += 1;
            let seq = msg.seq_num().unwrap_or(0);
            session.send(b"j", now, &mut c.out, |b| {
                b.uint(fix::tag::REF_SEQ_NUM, seq)
                    .bytes(fix::tag::TEXT, b"Throttle limit exceeded")
                    .bytes(fix::tag::REF_MSG_TYPE, mt);
                if let Some(id) = msg.get(fix::tag::CL_ORD_ID) {
                    b.bytes(fix::tag::BUSINESS_REJECT_REF_ID, id);
                }
                b.uint(fix::tag::BUSINESS_REJECT_REASON, 0);
            });
            c.note_msg();
            return None;
        }
        let insts = &self.insts;
        let fix_symbols = &self.fix_symbols;
        let scale_of = |sym: &[u8]| {
            fix_symbols
                .get(sym)
                .map_or(insts[0].scale, |&k| insts[k].scale)
        };
        let scratch = &mut self.scratch;
        let next = &mut self.next_order_id;
        match mt {
            b"D" => {
                let m = match NewOrderSingle::from_message(msg) {
                    Ok(m) => m,
                    Err(e) => {
                        self.report.protocol_errors += 1;
                        session.reject_field(msg, &e, now, &mut c.out);
                        return None;
                    }
                };
                let scale = scale_of(m.symbol);
                let reject = |e: &FixMapError| ExecReport {
                    order_id: OrderId(0),
                    cl_ord_id: m.cl_ord_id,
                    orig_cl_ord_id: None,
                    exec_id: 0,
                    exec_type: b'8',
                    ord_status: b'8',
                    symbol: m.symbol,
                    side: m.side,
                    order_qty: m.order_qty,
                    price: None,
                    last: None,
                    leaves_qty: 0,
                    cum_qty: 0,
                    cum_notional: 0,
                    ord_rej_reason: Some(e.ord_rej_reason()),
                    text: Some(fix_error_text(e)),
                };
                if let Err(e) = table.on_new(&m, &scale, || {
                    *next += 1;
                    OrderId(*next)
                }) {
                    let r = FixReport::Exec(reject(&e));
                    fix_send_report(session, &mut c.out, scratch, &r, &scale, now);
                    c.note_msg();
                    return None;
                }
                match new_order_to_command(&m, now, account, &scale, table) {
                    Ok(cmd) => {
                        if let CommandKind::New(n) = &cmd.kind {
                            f_unacked.insert(n.order_id, m.cl_ord_id.to_vec());
                            if let Some(log) = &mut self.reflog
                                && let Some(info) = table.by_order_id(n.order_id)
                            {
                                log.fix_new(
                                    account.0,
                                    n.order_id,
                                    info.instrument,
                                    m.side,
                                    m.order_qty,
                                    n.price,
                                    m.cl_ord_id,
                                    m.symbol,
                                );
                            }
                        }
                        Some(cmd)
                    }
                    Err(e) => {
                        let r = FixReport::Exec(reject(&e));
                        fix_send_report(session, &mut c.out, scratch, &r, &scale, now);
                        c.note_msg();
                        if let Some(info) = table.by_cl_ord_id(m.cl_ord_id) {
                            let ev = forget(info.order_id, account, info.instrument);
                            table.on_event(&ev);
                        }
                        None
                    }
                }
            }
            b"F" | b"G" => {
                let is_cancel = mt == b"F";
                let parsed = if is_cancel {
                    OrderCancelRequest::from_message(msg).map(|m| (Some(m), None))
                } else {
                    OrderCancelReplaceRequest::from_message(msg).map(|m| (None, Some(m)))
                };
                let (cancel, replace) = match parsed {
                    Ok(x) => x,
                    Err(e) => {
                        self.report.protocol_errors += 1;
                        session.reject_field(msg, &e, now, &mut c.out);
                        return None;
                    }
                };
                let (orig, cl, sym) = match (&cancel, &replace) {
                    (Some(m), _) => (m.orig_cl_ord_id, m.cl_ord_id, m.symbol),
                    (_, Some(m)) => (m.orig_cl_ord_id, m.cl_ord_id, m.symbol),
                    _ => return None,
                };
                let scale = scale_of(sym);
                let registered = match (&cancel, &replace) {
                    (Some(m), _) => table.on_cancel(m),
                    (_, Some(m)) => table.on_replace(m),
                    _ => return None,
                };
                let registered_ok = registered.is_ok();
                let result = registered.and_then(|()| match (&cancel, &replace) {
                    (Some(m), _) => cancel_to_command(m, now, account, table),
                    (_, Some(m)) => replace_to_command(m, now, account, &scale, table),
                    _ => Err(FixMapError::UnknownOrder),
                });
                match result {
                    Ok(cmd) => {
                        if let Some(log) = &mut self.reflog
                            && let Some(info) = table.by_cl_ord_id(cl)
                        {
                            let (qty, price) = match (&replace, &cmd.kind) {
                                (Some(r), CommandKind::Modify(x)) => (r.order_qty, x.price),
                                (Some(r), _) => (r.order_qty, info.price),
                                _ => (0, info.price),
                            };
                            log.fix_request(
                                account.0,
                                info.order_id,
                                replace.is_some(),
                                qty,
                                price,
                                cl,
                            );
                        }
                        Some(cmd)
                    }
                    Err(e) => {
                        let known = table.by_cl_ord_id(orig).or_else(|| table.by_cl_ord_id(cl));
                        let r = FixReport::CancelReject(CancelRejectReport {
                            order_id: known.map(|k| k.order_id),
                            cl_ord_id: cl,
                            orig_cl_ord_id: orig,
                            ord_status: match known {
                                Some(k) if k.cum_qty > 0 => b'1',
                                Some(_) => b'0',
                                None => b'8',
                            },
                            response_to: if is_cancel { b'1' } else { b'2' },
                            reason: cxl_reason_of(&e),
                            text: Some(fix_error_text(&e)),
                        });
                        fix_send_report(session, &mut c.out, scratch, &r, &scale, now);
                        c.note_msg();
                        if registered_ok {
                            table.refused(cl);
                        }
                        None
                    }
                }
            }
            _ => None,
        }
    }
}
