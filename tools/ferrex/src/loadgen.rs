//! `ferrex loadgen`: an open-loop OUCH or FIX client that measures wire-to-wire latency.
//!
//! It logs in, then sends messages at a fixed rate regardless of responses (open loop; a sender
//! that falls behind catches up at once and the lag is reported): a repeating mix of a resting
//! buy, a resting sell, a crossing IOC buy, and a cancel of the buy three messages earlier. For
//! every new order it records the time from just before the write to the first response naming
//! that order (Accepted / Rejected; ExecutionReport), in an HdrHistogram. At the end it prints
//! p50/p90/p99/p99.9/max and the achieved throughput, and logs out.
//!
//! Prices are in ferrex price units around `--mid` (100.00 with two decimals by default), so
//! they suit config/serve.toml. OUCH UserRefNums must rise for the whole day on a session, so
//! they start from the time of day (milliseconds × 40).

use anyhow::{Context, bail};
use ferrex_gateway::fix::{self, Header};
use ferrex_gateway::fix_map::{Decimal, NewOrderSingle, OrderCancelRequest};
use ferrex_gateway::ouch::{
    Appendage, CancelOrder, Capacity, ClOrdId, CrossType, Display, EnterOrder, Inbound, OuchPrice,
    OuchSide, OuchTif, Outbound, Symbol, UserRefNum,
};
use ferrex_gateway::soupbin::{self, Packet};
use hdrhistogram::Histogram;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Wire protocol.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OUCH 5.0 over SoupBinTCP 4.0.
    Ouch,
    /// FIX 4.4.
    Fix,
}

/// Arguments of `ferrex loadgen`.
#[derive(clap::Args, Debug)]
pub struct LoadgenArgs {
    /// Server address (host:port).
    #[arg(long)]
    pub connect: String,
    /// Protocol.
    #[arg(long, value_enum)]
    pub protocol: Protocol,
    /// Messages per second (open loop).
    #[arg(long, default_value_t = 10_000)]
    pub rate: u64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// OUCH username / FIX Username 553.
    #[arg(long)]
    pub username: Option<String>,
    /// OUCH password / FIX Password 554.
    #[arg(long)]
    pub password: Option<String>,
    /// FIX: our SenderCompID.
    #[arg(long)]
    pub comp_id: Option<String>,
    /// FIX: the server's CompID.
    #[arg(long, default_value = "FERREX")]
    pub target_comp_id: String,
    /// Instrument symbol.
    #[arg(long, default_value = "AAPL")]
    pub symbol: String,
    /// Mid price in ferrex price units.
    #[arg(long, default_value_t = 10_000)]
    pub mid: u64,
    /// Decimals of one price unit (0.01 → 2), for OUCH and FIX price conversion.
    #[arg(long, default_value_t = 2)]
    pub price_decimals: u32,
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// What message `k` of the mix is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    RestBuy,
    RestSell,
    CrossBuy,
    Cancel,
}

fn kind(k: u64) -> Kind {
    match k % 4 {
        0 => Kind::RestBuy,
        1 => Kind::RestSell,
        2 => Kind::CrossBuy,
        _ => Kind::Cancel,
    }
}

/// Price (ferrex units) and quantity of order `k`.
fn order_of(k: u64, mid: u64) -> (bool, u64, u32) {
    let off = 1 + k % 7;
    match kind(k) {
        Kind::RestBuy => (true, mid.saturating_sub(off).max(1), 10),
        Kind::RestSell => (false, mid + off, 10),
        _ => (true, mid + 10, 5),
    }
}

struct Shared {
    /// Send time of order k (ns since t0, +1; 0 = not pending).
    sent: Vec<AtomicU64>,
    t0: Instant,
    done: AtomicBool,
    answered: AtomicU64,
    received: AtomicU64,
    logged_out: AtomicBool,
}

impl Shared {
    fn now(&self) -> u64 {
        self.t0.elapsed().as_nanos() as u64 + 1
    }
    fn answer(&self, k: u64, hist: &mut Histogram<u64>) {
        if let Some(slot) = self.sent.get(k as usize) {
            let s = slot.swap(0, Ordering::AcqRel);
            if s != 0 {
                let _ = hist.record(self.now().saturating_sub(s).max(1));
                self.answered.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The writer side: the socket and (FIX) the outgoing sequence number.
struct Tx {
    s: TcpStream,
    seq: u64,
    comp: Vec<u8>,
    target: Vec<u8>,
}

impl Tx {
    fn header(&mut self) -> Header<'_> {
        let seq = self.seq;
        self.seq += 1;
        Header {
            sender: &self.comp,
            target: &self.target,
            seq,
            sending_time: unix_ns(),
            poss_dup: None,
            extra: &[],
        }
    }
}

/// Read more bytes into `buf` (blocking, with the socket's timeout). `Ok(false)` at EOF.
fn read_more(s: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<bool> {
    let mut b = [0u8; 65536];
    match s.read(&mut b) {
        Ok(0) => Ok(false),
        Ok(n) => {
            buf.extend_from_slice(&b[..n]);
            Ok(true)
        }
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// `ferrex loadgen`.
pub fn run(a: &LoadgenArgs) -> anyhow::Result<()> {
    if a.rate == 0 || a.duration <= 0.0 {
        bail!("--rate and --duration must be positive");
    }
    if a.price_decimals > 4 && a.protocol == Protocol::Ouch {
        bail!("--price-decimals: OUCH prices have 4 decimals at most");
    }
    let addr = a
        .connect
        .to_socket_addrs()
        .with_context(|| format!("--connect {}", a.connect))?
        .next()
        .with_context(|| format!("--connect {} resolves to nothing", a.connect))?;
    let total = (a.rate as f64 * a.duration).ceil() as u64;
    let mut s = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_millis(200)))?;
    // A server that stops reading fails the run instead of blocking it forever.
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut rbuf = Vec::new();
    let login_deadline = Instant::now() + Duration::from_secs(10);
    let mut tx = Tx {
        s: s.try_clone()?,
        seq: 1,
        comp: a.comp_id.clone().unwrap_or_default().into_bytes(),
        target: a.target_comp_id.clone().into_bytes(),
    };
    let ref_base: u64;
    match a.protocol {
        Protocol::Ouch => {
            let user = a
                .username
                .as_deref()
                .context("--username is required for OUCH")?;
            let pw = a.password.as_deref().unwrap_or("");
            let mut w = Vec::new();
            soupbin::encode(
                &Packet::LoginRequest {
                    username: user.as_bytes(),
                    password: pw.as_bytes(),
                    session: b"",
                    sequence: 0,
                },
                &mut w,
            )
            .context("login request")?;
            tx.s.write_all(&w)?;
            loop {
                if let Some((p, n)) = soupbin::decode_with_max(&rbuf, 65_535)? {
                    match p {
                        Packet::LoginAccepted { session, sequence } => {
                            println!(
                                "logged in: session {}, next sequence {sequence}",
                                String::from_utf8_lossy(session)
                            );
                            rbuf.drain(..n);
                            break;
                        }
                        Packet::LoginRejected(c) => bail!("login rejected: {c:?}"),
                        _ => {
                            rbuf.drain(..n);
                            continue;
                        }
                    }
                }
                if Instant::now() > login_deadline || !read_more(&mut s, &mut rbuf)? {
                    bail!("no Login Accepted from {addr}");
                }
            }
            let ms_of_day = (unix_ns() / 1_000_000) % 86_400_000;
            ref_base = ms_of_day * 40 + 1;
            if ref_base + total >= u64::from(u32::MAX) {
                bail!("too many orders for today's UserRefNum range");
            }
        }
        Protocol::Fix => {
            if tx.comp.is_empty() {
                bail!("--comp-id is required for FIX");
            }
            let mut w = Vec::new();
            let (u, p) = (a.username.clone(), a.password.clone());
            let h = tx.header();
            fix::logon(
                &mut w,
                &h,
                30,
                true,
                u.as_deref().map(str::as_bytes),
                p.as_deref().map(str::as_bytes),
            );
            tx.s.write_all(&w)?;
            loop {
                if let Ok(Some(n)) = fix::frame(&rbuf, 1 << 16) {
                    let raw: Vec<u8> = rbuf.drain(..n).collect();
                    let m = fix::parse(&raw).context("bad FIX message from the server")?;
                    match m.msg_type() {
                        b"A" => {
                            println!("logged on");
                            break;
                        }
                        b"5" => bail!(
                            "logon refused: {}",
                            String::from_utf8_lossy(m.get(58).unwrap_or_default())
                        ),
                        _ => continue,
                    }
                }
                if Instant::now() > login_deadline || !read_more(&mut s, &mut rbuf)? {
                    bail!("no Logon reply from {addr}");
                }
            }
            ref_base = unix_ns() / 1_000_000;
        }
    }

    let shared = Arc::new(Shared {
        sent: (0..total).map(|_| AtomicU64::new(0)).collect(),
        t0: Instant::now(),
        done: AtomicBool::new(false),
        answered: AtomicU64::new(0),
        received: AtomicU64::new(0),
        logged_out: AtomicBool::new(false),
    });
    let tx = Arc::new(Mutex::new(tx));
    let proto = a.protocol;
    let reader = {
        let shared = Arc::clone(&shared);
        let tx = Arc::clone(&tx);
        std::thread::spawn(move || reader(s, rbuf, proto, ref_base, &shared, &tx))
    };

    // Open-loop sender.
    let interval_ns = 1e9 / a.rate as f64;
    let mut w = Vec::with_capacity(256);
    let mut max_lag_ns = 0u64;
    let mut orders = 0u64;
    let mut cancels = 0u64;
    let symbol = Symbol::new(a.symbol.as_bytes()).context("--symbol: at most 8 characters")?;
    let units = 10u64.pow(4u32.saturating_sub(a.price_decimals));
    let send_start = Instant::now();
    let mut failed = None;
    for k in 0..total {
        let due = Duration::from_nanos((k as f64 * interval_ns) as u64);
        let el = send_start.elapsed();
        if el < due {
            std::thread::sleep(due - el);
        } else {
            max_lag_ns = max_lag_ns.max((el - due).as_nanos() as u64);
        }
        w.clear();
        let (buy, price, qty) = order_of(k, a.mid);
        let mut g = match tx.lock() {
            Ok(g) => g,
            Err(_) => bail!("writer lock poisoned"),
        };
        let is_cancel = kind(k) == Kind::Cancel;
        match proto {
            Protocol::Ouch => {
                let msg = if is_cancel {
                    Inbound::Cancel(CancelOrder {
                        user_ref_num: UserRefNum((ref_base + k - 3) as u32),
                        quantity: 0,
                        appendage: Appendage::EMPTY,
                    })
                } else {
                    Inbound::Enter(EnterOrder {
                        user_ref_num: UserRefNum((ref_base + k) as u32),
                        side: if buy { OuchSide::Buy } else { OuchSide::Sell },
                        quantity: qty,
                        symbol,
                        price: OuchPrice(price * units),
                        time_in_force: if kind(k) == Kind::CrossBuy {
                            OuchTif::Ioc
                        } else {
                            OuchTif::Day
                        },
                        display: Display::Visible,
                        capacity: Capacity::Agency,
                        intermarket_sweep: false,
                        cross_type: CrossType::Continuous,
                        cl_ord_id: ClOrdId::new(format!("L{k}").as_bytes())
                            .unwrap_or(ClOrdId([b' '; 14])),
                        appendage: Appendage::EMPTY,
                    })
                };
                let mut p = Vec::with_capacity(64);
                msg.encode(&mut p)?;
                soupbin::encode(&Packet::UnsequencedData(&p), &mut w)?;
            }
            Protocol::Fix => {
                let sym = a.symbol.as_bytes();
                if is_cancel {
                    let orig = format!("{ref_base}-{}", k - 3);
                    let cl = format!("{ref_base}-{k}");
                    let m = OrderCancelRequest {
                        orig_cl_ord_id: orig.as_bytes(),
                        cl_ord_id: cl.as_bytes(),
                        symbol: sym,
                        side: b'1',
                        transact_time: unix_ns(),
                    };
                    let h = g.header();
                    m.encode(&mut w, &h);
                } else {
                    let cl = format!("{ref_base}-{k}");
                    let m = NewOrderSingle {
                        cl_ord_id: cl.as_bytes(),
                        symbol: sym,
                        side: if buy { b'1' } else { b'2' },
                        order_qty: u64::from(qty),
                        ord_type: b'2',
                        price: Some(Decimal {
                            mantissa: i128::from(price),
                            decimals: a.price_decimals,
                        }),
                        stop_px: None,
                        time_in_force: if kind(k) == Kind::CrossBuy {
                            b'3'
                        } else {
                            b'0'
                        },
                        expire_time: None,
                        post_only: false,
                        max_floor: None,
                        transact_time: unix_ns(),
                    };
                    let h = g.header();
                    m.encode(&mut w, &h);
                }
            }
        }
        if !is_cancel {
            shared.sent[k as usize].store(shared.now(), Ordering::Release);
            orders += 1;
        } else {
            cancels += 1;
        }
        if let Err(e) = g.s.write_all(&w) {
            failed = Some(e);
            break;
        }
    }
    let send_secs = send_start.elapsed().as_secs_f64();
    let sent = orders + cancels;
    // Wait for the last answers (at most 5 s).
    let t_wait = Instant::now();
    while shared.answered.load(Ordering::Acquire) < orders && t_wait.elapsed().as_secs() < 5 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let recv_secs = send_start.elapsed().as_secs_f64();
    // Log out.
    if let Ok(mut g) = tx.lock() {
        let mut w = Vec::new();
        match proto {
            Protocol::Ouch => {
                let _ = soupbin::encode(&Packet::LogoutRequest, &mut w);
            }
            Protocol::Fix => {
                let h = g.header();
                fix::logout(&mut w, &h, None);
            }
        }
        let _ = g.s.write_all(&w);
    }
    let t_lo = Instant::now();
    while !shared.logged_out.load(Ordering::Acquire) && t_lo.elapsed().as_secs() < 3 {
        std::thread::sleep(Duration::from_millis(5));
    }
    shared.done.store(true, Ordering::Release);
    let hist = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader thread panicked"))??;
    if let Some(e) = failed {
        println!("send failed: {e}");
    }
    let answered = shared.answered.load(Ordering::Acquire);
    println!(
        "{} {addr}: sent {sent} messages ({orders} orders, {cancels} cancels) in {send_secs:.2} s = {:.0} msg/s (target {} msg/s, max sender lag {:.1} ms); received {} messages",
        match proto {
            Protocol::Ouch => "ouch",
            Protocol::Fix => "fix",
        },
        sent as f64 / send_secs.max(1e-9),
        a.rate,
        max_lag_ns as f64 / 1e6,
        shared.received.load(Ordering::Acquire)
    );
    println!(
        "answered {answered} of {orders} orders ({:.0} answers/s over {recv_secs:.2} s){}; logout {}",
        answered as f64 / recv_secs.max(1e-9),
        if answered < orders {
            format!(", {} unanswered", orders - answered)
        } else {
            String::new()
        },
        if shared.logged_out.load(Ordering::Acquire) {
            "clean"
        } else {
            "not confirmed"
        }
    );
    let us = |v: u64| v as f64 / 1e3;
    if hist.is_empty() {
        println!("no latency samples");
    } else {
        println!(
            "wire-to-wire latency (send -> first response), {} samples: p50 {:.1} us  p90 {:.1} us  p99 {:.1} us  p99.9 {:.1} us  max {:.1} us",
            hist.len(),
            us(hist.value_at_quantile(0.50)),
            us(hist.value_at_quantile(0.90)),
            us(hist.value_at_quantile(0.99)),
            us(hist.value_at_quantile(0.999)),
            us(hist.max())
        );
    }
    Ok(())
}

/// Reads responses until told to stop (or EOF): matches first responses to orders, answers
/// FIX TestRequests, notes the logout.
fn reader(
    mut s: TcpStream,
    mut buf: Vec<u8>,
    proto: Protocol,
    ref_base: u64,
    sh: &Shared,
    tx: &Mutex<Tx>,
) -> anyhow::Result<Histogram<u64>> {
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
    let prefix = format!("{ref_base}-");
    loop {
        let mut at = 0;
        match proto {
            Protocol::Ouch => {
                while let Ok(Some((p, n))) = soupbin::decode_with_max(&buf[at..], 65_535) {
                    at += n;
                    match p {
                        Packet::SequencedData(d) => {
                            sh.received.fetch_add(1, Ordering::Relaxed);
                            let r = match Outbound::decode(d) {
                                Ok(Outbound::Accepted(m)) if m.orig_user_ref_num.is_none() => {
                                    Some(m.user_ref_num)
                                }
                                Ok(Outbound::Rejected(m)) => Some(m.user_ref_num),
                                _ => None,
                            };
                            if let Some(r) = r {
                                sh.answer(u64::from(r.0).wrapping_sub(ref_base), &mut hist);
                            }
                        }
                        Packet::EndOfSession => sh.logged_out.store(true, Ordering::Release),
                        _ => {}
                    }
                }
            }
            Protocol::Fix => {
                while let Ok(Some(n)) = fix::frame(&buf[at..], 1 << 16) {
                    let raw = &buf[at..at + n];
                    at += n;
                    let Ok(m) = fix::parse(raw) else { continue };
                    sh.received.fetch_add(1, Ordering::Relaxed);
                    match m.msg_type() {
                        b"8" if m.get(150).is_some_and(|t| t == b"0" || t == b"8") => {
                            if let Some(k) = m
                                .get(11)
                                .and_then(|c| c.strip_prefix(prefix.as_bytes()))
                                .and_then(fix::parse_u64)
                            {
                                sh.answer(k, &mut hist);
                            }
                        }
                        b"1" => {
                            if let Ok(mut g) = tx.lock() {
                                let id = m.get(112).unwrap_or_default().to_vec();
                                let mut w = Vec::new();
                                let h = g.header();
                                fix::heartbeat(&mut w, &h, Some(&id));
                                let _ = g.s.write_all(&w);
                            }
                        }
                        b"5" => sh.logged_out.store(true, Ordering::Release),
                        _ => {}
                    }
                }
            }
        }
        buf.drain(..at);
        if sh.done.load(Ordering::Acquire) {
            break;
        }
        match read_more(&mut s, &mut buf) {
            Ok(true) => {}
            Ok(false) => {
                // EOF: the server closed after our logout (SoupBinTCP has no logout reply).
                sh.logged_out.store(true, Ordering::Release);
                while !sh.done.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                break;
            }
            Err(e) => {
                if sh.done.load(Ordering::Acquire) {
                    break;
                }
                return Err(e);
            }
        }
    }
    Ok(hist)
}
