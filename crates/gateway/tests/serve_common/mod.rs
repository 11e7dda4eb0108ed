//! Shared helpers of the `serve_*` tests: an in-process server on 127.0.0.1:0 (engine
//! unpinned) configured like config/serve.toml, and minimal blocking OUCH and FIX clients.
#![allow(dead_code)]

use ferrex_engine::{BookConfig, Engine, EngineConfig};
use ferrex_gateway::fix::{self, Header, Message};
use ferrex_gateway::fix_map::{
    Decimal, NewOrderSingle, OrderCancelReplaceRequest, OrderCancelRequest,
};
use ferrex_gateway::ouch::{
    Appendage, CancelOrder, Capacity, ClOrdId, CrossType, Display, EnterOrder, Inbound, OuchPrice,
    OuchSide, OuchTif, Outbound, ReplaceOrder, Symbol, UserRefNum,
};
use ferrex_gateway::server::{
    InstrumentSpec, Server, ServerConfig, ServerHandle, SessionProtocol, SessionSpec,
};
use ferrex_gateway::soupbin::{self, Packet};
use ferrex_types::Price;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Generous: the machine is slow and shared.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The engine of config/serve.toml: AAPL and MSFT (tick 1, lot 1, prices 100..=10,000,000),
/// risk from config/serve-risk.toml (order table shrunk for tests).
pub fn engine() -> Engine {
    let book = BookConfig {
        min_price: Price(100),
        max_price: Price(10_000_000),
        max_orders: 1 << 16,
        dense_levels: 1 << 12,
        level_events: false,
        ..BookConfig::default()
    };
    let mut rc =
        ferrex_risk::RiskConfig::from_toml_str(include_str!("../../../../config/serve-risk.toml"))
            .expect("serve-risk.toml parses");
    rc.max_orders = 1 << 17;
    let risk = ferrex_risk::Risk::new(&rc).expect("risk config valid");
    Engine::with_risk(
        EngineConfig {
            instruments: vec![book, book],
        },
        risk,
    )
    .expect("engine")
}

/// The sessions and instruments of config/serve.toml, on port 0, short timers.
pub fn config() -> ServerConfig {
    let ouch = |u: &str, p: &str, account, cod| SessionSpec {
        protocol: SessionProtocol::Ouch {
            username: u.into(),
            password: p.into(),
        },
        account,
        cancel_on_disconnect: cod,
        max_msgs_per_sec: 1_000_000,
    };
    let fix = |c: &str, cred: Option<(&str, &str)>, account, cod| SessionSpec {
        protocol: SessionProtocol::Fix {
            comp_id: c.into(),
            credentials: cred.map(|(u, p)| (u.into(), p.into())),
        },
        account,
        cancel_on_disconnect: cod,
        max_msgs_per_sec: 1_000_000,
    };
    ServerConfig {
        engine_core: None,
        gateway_core: None,
        ring_capacity: 4096,
        instruments: vec![
            InstrumentSpec {
                name: "AAPL".into(),
                price_increment: (1, 2),
            },
            InstrumentSpec {
                name: "MSFT".into(),
                price_increment: (1, 2),
            },
        ],
        sessions: vec![
            ouch("OUCH01", "secret01", 1, true),
            ouch("OUCH02", "secret02", 2, false),
            fix("CLIENT1", Some(("fixuser1", "fixpass1")), 3, true),
            fix("CLIENT2", None, 4, false),
        ],
        ..ServerConfig::default()
    }
}

pub fn start(cfg: ServerConfig) -> ServerHandle {
    Server::start(cfg, engine()).expect("server starts")
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s.set_write_timeout(Some(TIMEOUT)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Read until EOF (or error); true when the server closed the connection within `TIMEOUT`.
pub fn closed_by_server(s: &mut TcpStream) -> bool {
    let t0 = Instant::now();
    let mut b = [0u8; 4096];
    while t0.elapsed() < TIMEOUT {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                return false;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
    false
}

// ---------------------------------------------------------------------------------- OUCH

/// A SoupBinTCP packet, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Soup {
    LoginAccepted { session: Vec<u8>, sequence: u64 },
    LoginRejected(u8),
    Sequenced(Vec<u8>),
    Heartbeat,
    EndOfSession,
    Debug(String),
    Closed,
}

pub struct OuchClient {
    pub s: TcpStream,
    buf: Vec<u8>,
    pub next_ref: u32,
    /// When `recv` last returned something other than a heartbeat: the server heartbeats every
    /// second, so the read timeout alone never ends a wait for a packet that does not come.
    last_news: Instant,
}

/// `OuchClient::recv` panics after this long with nothing but heartbeats.
pub const HEARTBEATS_ONLY_LIMIT: Duration = Duration::from_secs(60);

pub const AAPL: &[u8] = b"AAPL";
pub const MSFT: &[u8] = b"MSFT";

impl OuchClient {
    pub fn connect(addr: SocketAddr) -> OuchClient {
        OuchClient {
            s: connect(addr),
            buf: Vec::new(),
            next_ref: 1,
            last_news: Instant::now(),
        }
    }

    pub fn send_packet(&mut self, p: &Packet<'_>) {
        let mut w = Vec::new();
        soupbin::encode(p, &mut w).unwrap();
        self.s.write_all(&w).unwrap();
    }

    pub fn login_seq(&mut self, user: &str, pw: &str, seq: u64) -> Soup {
        self.send_packet(&Packet::LoginRequest {
            username: user.as_bytes(),
            password: pw.as_bytes(),
            session: b"",
            sequence: seq,
        });
        self.recv()
    }

    pub fn login(&mut self, user: &str, pw: &str) -> Soup {
        self.login_seq(user, pw, 0)
    }

    /// Log in and panic unless accepted.
    pub fn logged_in(addr: SocketAddr, user: &str, pw: &str) -> OuchClient {
        let mut c = OuchClient::connect(addr);
        match c.login(user, pw) {
            Soup::LoginAccepted { .. } => c,
            other => panic!("login {user}: {other:?}"),
        }
    }

    /// The next packet (`Closed` at EOF).
    pub fn recv(&mut self) -> Soup {
        loop {
            if let Ok(Some((p, n))) = soupbin::decode_with_max(&self.buf, 65_535) {
                let owned = match p {
                    Packet::LoginAccepted { session, sequence } => Soup::LoginAccepted {
                        session: session.to_vec(),
                        sequence,
                    },
                    Packet::LoginRejected(c) => Soup::LoginRejected(c.code()),
                    Packet::SequencedData(d) => Soup::Sequenced(d.to_vec()),
                    Packet::ServerHeartbeat => Soup::Heartbeat,
                    Packet::EndOfSession => Soup::EndOfSession,
                    Packet::Debug(d) => Soup::Debug(String::from_utf8_lossy(d).into_owned()),
                    other => panic!("server sent a client packet {other:?}"),
                };
                self.buf.drain(..n);
                if matches!(owned, Soup::Heartbeat) {
                    assert!(
                        self.last_news.elapsed() < HEARTBEATS_ONLY_LIMIT,
                        "only heartbeats from the server for {HEARTBEATS_ONLY_LIMIT:?}"
                    );
                } else {
                    self.last_news = Instant::now();
                }
                return owned;
            }
            let mut b = [0u8; 4096];
            match self.s.read(&mut b) {
                Ok(0) => return Soup::Closed,
                Ok(n) => self.buf.extend_from_slice(&b[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    panic!("timed out waiting for the server")
                }
                Err(_) => return Soup::Closed,
            }
        }
    }

    /// The next OUCH message (skipping heartbeats), as raw bytes.
    pub fn recv_msg(&mut self) -> Vec<u8> {
        loop {
            match self.recv() {
                Soup::Sequenced(d) => return d,
                Soup::Heartbeat => {}
                other => panic!("expected sequenced data, got {other:?}"),
            }
        }
    }

    pub fn send(&mut self, m: &Inbound<'_>) {
        let mut payload = Vec::new();
        m.encode(&mut payload).unwrap();
        self.send_packet(&Packet::UnsequencedData(&payload));
    }

    pub fn take_ref(&mut self) -> UserRefNum {
        let r = UserRefNum(self.next_ref);
        self.next_ref += 1;
        r
    }

    /// Send an Enter Order; returns its UserRefNum.
    pub fn enter(
        &mut self,
        side: OuchSide,
        qty: u32,
        symbol: &[u8],
        price: u64,
        tif: OuchTif,
    ) -> UserRefNum {
        let r = self.take_ref();
        let cl = format!("C{}", r.0);
        self.send(&Inbound::Enter(enter_order(
            r,
            side,
            qty,
            symbol,
            price,
            tif,
            cl.as_bytes(),
        )));
        r
    }
}

pub fn enter_order<'a>(
    r: UserRefNum,
    side: OuchSide,
    qty: u32,
    symbol: &[u8],
    price: u64,
    tif: OuchTif,
    cl: &[u8],
) -> EnterOrder<'a> {
    EnterOrder {
        user_ref_num: r,
        side,
        quantity: qty,
        symbol: Symbol::new(symbol).unwrap(),
        price: OuchPrice(price),
        time_in_force: tif,
        display: Display::Visible,
        capacity: Capacity::Agency,
        intermarket_sweep: false,
        cross_type: CrossType::Continuous,
        cl_ord_id: ClOrdId::new(cl).unwrap(),
        appendage: Appendage::EMPTY,
    }
}

/// An OUCH Replace Order of `orig` by `new` (day, visible, no appendage).
pub fn replace_msg(orig: u32, new: u32, qty: u32, price: u64, cl: &str) -> Inbound<'static> {
    Inbound::Replace(ReplaceOrder {
        orig_user_ref_num: UserRefNum(orig),
        user_ref_num: UserRefNum(new),
        quantity: qty,
        price: OuchPrice(price),
        time_in_force: OuchTif::Day,
        display: Display::Visible,
        intermarket_sweep: false,
        cl_ord_id: ClOrdId::new(cl.as_bytes()).unwrap(),
        appendage: Appendage::EMPTY,
    })
}

/// An OUCH Cancel Order of `u` (quantity 0: cancel all).
pub fn cancel_msg(u: u32) -> Inbound<'static> {
    Inbound::Cancel(CancelOrder {
        user_ref_num: UserRefNum(u),
        quantity: 0,
        appendage: Appendage::EMPTY,
    })
}

/// Decode an outbound OUCH message (panics on garbage: the server must send valid OUCH).
pub fn out(d: &[u8]) -> Outbound<'_> {
    Outbound::decode(d).expect("valid OUCH outbound message")
}

// ---------------------------------------------------------------------------------- FIX

pub fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

pub struct FixClient {
    pub s: TcpStream,
    buf: Vec<u8>,
    pub comp: Vec<u8>,
    pub seq: u64,
}

/// An owned received FIX message with field access.
pub struct FixMsg(pub Vec<u8>);

impl FixMsg {
    pub fn parsed(&self) -> Message<'_> {
        fix::parse(&self.0).expect("server sent a valid FIX message")
    }
    pub fn get(&self, tag: u32) -> Option<String> {
        self.parsed()
            .get(tag)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
    pub fn msg_type(&self) -> String {
        String::from_utf8_lossy(self.parsed().msg_type()).into_owned()
    }
    /// Field `tag`, which must be present.
    pub fn f(&self, tag: u32) -> String {
        self.get(tag)
            .unwrap_or_else(|| panic!("tag {tag} missing in {}", self.show()))
    }
    pub fn show(&self) -> String {
        String::from_utf8_lossy(&self.0).replace('\x01', "|")
    }
}

impl FixClient {
    pub fn connect(addr: SocketAddr, comp: &str) -> FixClient {
        FixClient {
            s: connect(addr),
            buf: Vec::new(),
            comp: comp.as_bytes().to_vec(),
            seq: 1,
        }
    }

    pub fn header(&mut self) -> Header<'_> {
        let seq = self.seq;
        self.seq += 1;
        Header {
            sender: &self.comp,
            target: b"FERREX",
            seq,
            sending_time: unix_ns(),
            poss_dup: None,
            extra: &[],
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    pub fn logon(&mut self, user: Option<&str>, pw: Option<&str>) -> FixMsg {
        let mut w = Vec::new();
        let h = self.header();
        fix::logon(
            &mut w,
            &h,
            30,
            true,
            user.map(str::as_bytes),
            pw.map(str::as_bytes),
        );
        self.write(&w);
        self.recv()
    }

    /// Connect and log on; panics unless the reply is a Logon.
    pub fn logged_on(addr: SocketAddr, comp: &str, cred: Option<(&str, &str)>) -> FixClient {
        let mut c = FixClient::connect(addr, comp);
        let r = c.logon(cred.map(|x| x.0), cred.map(|x| x.1));
        assert_eq!(r.msg_type(), "A", "logon reply: {}", r.show());
        c
    }

    /// The next message (panics on timeout; `None` at EOF).
    pub fn try_recv(&mut self) -> Option<FixMsg> {
        loop {
            if let Ok(Some(n)) = fix::frame(&self.buf, 1 << 16) {
                let m: Vec<u8> = self.buf.drain(..n).collect();
                return Some(FixMsg(m));
            }
            let mut b = [0u8; 4096];
            match self.s.read(&mut b) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&b[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    panic!("timed out waiting for the server")
                }
                Err(_) => return None,
            }
        }
    }

    pub fn recv(&mut self) -> FixMsg {
        self.try_recv().expect("connection closed")
    }

    /// The next application message (skipping heartbeats and test requests, answering the
    /// latter).
    pub fn recv_app(&mut self) -> FixMsg {
        loop {
            let m = self.recv();
            match m.msg_type().as_str() {
                "0" => {}
                "1" => {
                    let id = m.f(112);
                    let mut w = Vec::new();
                    let h = self.header();
                    fix::heartbeat(&mut w, &h, Some(id.as_bytes()));
                    self.write(&w);
                }
                _ => return m,
            }
        }
    }

    pub fn new_order(&mut self, cl: &str, side: u8, qty: u64, symbol: &str, price: &str, tif: u8) {
        let m = NewOrderSingle {
            cl_ord_id: cl.as_bytes(),
            symbol: symbol.as_bytes(),
            side,
            order_qty: qty,
            ord_type: b'2',
            price: Some(Decimal::parse(price.as_bytes()).unwrap()),
            stop_px: None,
            time_in_force: tif,
            expire_time: None,
            post_only: false,
            max_floor: None,
            transact_time: unix_ns(),
        };
        let mut w = Vec::new();
        let h = self.header();
        m.encode(&mut w, &h);
        self.write(&w);
    }

    pub fn cancel(&mut self, cl: &str, orig: &str, side: u8, symbol: &str) {
        let m = OrderCancelRequest {
            orig_cl_ord_id: orig.as_bytes(),
            cl_ord_id: cl.as_bytes(),
            symbol: symbol.as_bytes(),
            side,
            transact_time: unix_ns(),
        };
        let mut w = Vec::new();
        let h = self.header();
        m.encode(&mut w, &h);
        self.write(&w);
    }

    pub fn replace(&mut self, cl: &str, orig: &str, side: u8, qty: u64, symbol: &str, price: &str) {
        let m = OrderCancelReplaceRequest {
            orig_cl_ord_id: orig.as_bytes(),
            cl_ord_id: cl.as_bytes(),
            symbol: symbol.as_bytes(),
            side,
            order_qty: qty,
            ord_type: b'2',
            price: Some(Decimal::parse(price.as_bytes()).unwrap()),
            transact_time: unix_ns(),
        };
        let mut w = Vec::new();
        let h = self.header();
        m.encode(&mut w, &h);
        self.write(&w);
    }
}

// ---------------------------------------------------------------------------------- journal

/// The next OUCH message of `c`, which must be Order Accepted for `r`; returns its order
/// reference number (the engine order id).
pub fn recv_accepted(c: &mut OuchClient, r: UserRefNum) -> u64 {
    let m = c.recv_msg();
    match out(&m) {
        Outbound::Accepted(a) if a.user_ref_num == r => a.order_reference_number,
        other => panic!("expected Accepted for {r:?}, got {other:?}"),
    }
}
