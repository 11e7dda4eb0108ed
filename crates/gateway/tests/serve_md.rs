//! Market data out through the real server: `Server::start` with an [`MdSpec`], a
//! `md::capture::Capture` on the feed, a few thousand mixed orders (new, crossing, cancel,
//! replace) from two OUCH and two FIX sessions at once, logouts (cancel-on-disconnect for two of
//! them), stop (end of session), then ferrex's ITCH replay of the capture must rebuild every
//! book exactly as the engine returned by the server report left it (same visible-book hash).

mod serve_common;

use ferrex_engine::{BookConfig, Engine, EngineConfig};
use ferrex_gateway::md::MdSpec;
use ferrex_gateway::md::book_hash::visible_book_hash;
use ferrex_gateway::md::capture::Capture;
use ferrex_gateway::ouch::{
    Appendage, CancelOrder, ClOrdId, Display, Inbound, OuchPrice, OuchSide, OuchTif, Outbound,
    ReplaceOrder, UserRefNum,
};
use ferrex_gateway::server::Server;
use ferrex_gateway::soupbin::Packet;
use ferrex_replay::itch_replay::{ItchReplay, ItchReplayConfig};
use ferrex_types::{InstrumentId, Price};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serve_common::*;
use std::net::SocketAddr;
use std::time::Duration;

/// Actions per client session.
const ACTIONS: usize = 800;
/// ITCH price units (1/10000) per ferrex tick (price increment 0.01).
const UNITS_PER_TICK: i64 = 100;

/// The engine of `serve_common::engine`, with level events on (the ITCH encoder needs them).
fn md_engine() -> Engine {
    let book = BookConfig {
        min_price: Price(100),
        max_price: Price(10_000_000),
        max_orders: 1 << 16,
        dense_levels: 1 << 12,
        level_events: true,
        ..BookConfig::default()
    };
    let mut rc =
        ferrex_risk::RiskConfig::from_toml_str(include_str!("../../../config/serve-risk.toml"))
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

/// The side of a new order: sessions with an odd seed mostly buy AAPL and sell MSFT, the others
/// the opposite, so crossing orders mostly meet other sessions' orders (self-match prevention
/// would cancel most of a session's own resting orders otherwise).
fn side_of(rng: &mut ChaCha8Rng, seed: u64, aapl: bool) -> bool {
    (aapl == (seed % 2 == 1)) != rng.random_ratio(3, 20)
}

/// A price in cents around $100.00 (the same mid for every session, so they trade).
fn price_cents(rng: &mut ChaCha8Rng, buy: bool) -> i64 {
    let off = rng.random_range(0..8i64);
    let crossing = rng.random_ratio(1, 5);
    match (buy, crossing) {
        (true, false) => 10_000 - 1 - off,
        (true, true) => 10_000 + 3 + off,
        (false, false) => 10_000 + 1 + off,
        (false, true) => 10_000 - 3 - off,
    }
}

/// Mixed OUCH flow, then a marker order whose Accepted proves every earlier message went
/// through the engine, then a SoupBinTCP logout. Returns the number of messages sent.
fn ouch_flow(addr: SocketAddr, user: &str, pw: &str, seed: u64) -> usize {
    let mut c = OuchClient::logged_in(addr, user, pw);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut live: Vec<(UserRefNum, OuchSide, &[u8])> = Vec::new();
    let mut sent = 0;
    for _ in 0..ACTIONS {
        let r = rng.random_range(0..100u32);
        if r < 55 || live.is_empty() {
            let aapl = rng.random_bool(0.5);
            let sym = if aapl { AAPL } else { MSFT };
            let buy = side_of(&mut rng, seed, aapl);
            let side = if buy { OuchSide::Buy } else { OuchSide::Sell };
            let price = price_cents(&mut rng, buy) as u64 * 100;
            let tif = if rng.random_ratio(1, 8) {
                OuchTif::Ioc
            } else {
                OuchTif::Day
            };
            let qty = rng.random_range(1..=20u32) * 10;
            let rf = c.enter(side, qty, sym, price, tif);
            live.push((rf, side, sym));
        } else if r < 75 {
            let (rf, _, _) = live.swap_remove(rng.random_range(0..live.len()));
            c.send(&Inbound::Cancel(CancelOrder {
                user_ref_num: rf,
                quantity: 0,
                appendage: Appendage::EMPTY,
            }));
        } else {
            let i = rng.random_range(0..live.len());
            let (orig, side, sym) = live[i];
            let nr = c.take_ref();
            let cl = format!("R{}", nr.0);
            let price = price_cents(&mut rng, side == OuchSide::Buy) as u64 * 100;
            c.send(&Inbound::Replace(ReplaceOrder {
                orig_user_ref_num: orig,
                user_ref_num: nr,
                quantity: rng.random_range(1..=20u32) * 10,
                price: OuchPrice(price),
                time_in_force: OuchTif::Day,
                display: Display::Visible,
                intermarket_sweep: false,
                cl_ord_id: ClOrdId::new(cl.as_bytes()).unwrap(),
                appendage: Appendage::EMPTY,
            }));
            live[i] = (nr, side, sym);
        }
        sent += 1;
    }
    // Marker: a resting buy at $1.00, far from everything.
    let marker = c.enter(OuchSide::Buy, 1, AAPL, 10_000, OuchTif::Day);
    loop {
        match c.recv() {
            Soup::Sequenced(d) => match out(&d) {
                Outbound::Accepted(a) if a.user_ref_num == marker => break,
                Outbound::Rejected(r) if r.user_ref_num == marker => {
                    panic!("{user}: marker rejected: {:?}", r.reason)
                }
                _ => {}
            },
            Soup::Heartbeat => {}
            other => panic!("{user}: unexpected {other:?} before the marker's ack"),
        }
    }
    c.send_packet(&Packet::LogoutRequest);
    while !matches!(c.recv(), Soup::Closed) {}
    sent + 1
}

/// The same over FIX: NewOrderSingle, OrderCancelRequest, OrderCancelReplaceRequest.
fn fix_flow(addr: SocketAddr, comp: &str, cred: Option<(&str, &str)>, seed: u64) -> usize {
    let mut c = FixClient::logged_on(addr, comp, cred);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut live: Vec<(String, u8, &str)> = Vec::new();
    let mut sent = 0;
    let mut next = 0u32;
    let px = |cents: i64| format!("{}.{:02}", cents / 100, cents % 100);
    for _ in 0..ACTIONS {
        next += 1;
        let r = rng.random_range(0..100u32);
        if r < 55 || live.is_empty() {
            let aapl = rng.random_bool(0.5);
            let sym = if aapl { "AAPL" } else { "MSFT" };
            let buy = side_of(&mut rng, seed, aapl);
            let side = if buy { b'1' } else { b'2' };
            let price = px(price_cents(&mut rng, buy));
            let tif = if rng.random_ratio(1, 8) { b'3' } else { b'0' };
            let cl = format!("N{next}");
            c.new_order(
                &cl,
                side,
                rng.random_range(1..=20u64) * 10,
                sym,
                &price,
                tif,
            );
            live.push((cl, side, sym));
        } else if r < 75 {
            let (orig, side, sym) = live.swap_remove(rng.random_range(0..live.len()));
            c.cancel(&format!("X{next}"), &orig, side, sym);
        } else {
            let i = rng.random_range(0..live.len());
            let (orig, side, sym) = live[i].clone();
            let cl = format!("R{next}");
            let price = px(price_cents(&mut rng, side == b'1'));
            c.replace(
                &cl,
                &orig,
                side,
                rng.random_range(1..=20u64) * 10,
                sym,
                &price,
            );
            live[i] = (cl, side, sym);
        }
        sent += 1;
    }
    c.new_order("END", b'1', 1, "MSFT", "1.00", b'0');
    loop {
        let m = c.recv_app();
        if m.get(11).as_deref() == Some("END") {
            assert_eq!(m.f(150), "0", "{comp}: marker: {}", m.show());
            break;
        }
    }
    let mut w = Vec::new();
    let h = c.header();
    ferrex_gateway::fix::logout(&mut w, &h, None);
    c.write(&w);
    while let Some(m) = c.try_recv() {
        if m.msg_type() == "5" {
            break;
        }
    }
    sent + 1
}

#[test]
fn feed_of_the_running_server_rebuilds_the_engine_books() {
    let mut cap = Capture::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let mut cfg = config();
    let mut md = MdSpec::new(
        cap.local_addr().unwrap(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        "FERREXT001",
    );
    md.heartbeat = Duration::from_millis(50);
    md.ring_capacity = 4096;
    md.linger = Duration::from_secs(3);
    cfg.md = Some(md);
    let srv = Server::start(cfg, md_engine()).expect("server starts");
    assert_eq!(srv.md_udp_dest(), Some(cap.local_addr().unwrap()));
    let rtx = srv.md_retransmit_addr().expect("retransmit server bound");
    assert_ne!(rtx.port(), 0);

    // Receive until the end of session; fill whatever UDP lost while retransmission lingers.
    let receiver = std::thread::spawn(move || {
        cap.receive(Duration::from_secs(30), Duration::from_secs(120))
            .unwrap();
        if !cap.reassembler().complete() {
            cap.fill_gaps(rtx, Duration::from_secs(10)).unwrap();
        }
        cap
    });

    let (oa, fa) = (srv.ouch_addr(), srv.fix_addr());
    let clients = vec![
        std::thread::spawn(move || ouch_flow(oa, "OUCH01", "secret01", 1)),
        std::thread::spawn(move || ouch_flow(oa, "OUCH02", "secret02", 2)),
        std::thread::spawn(move || fix_flow(fa, "CLIENT1", Some(("fixuser1", "fixpass1")), 3)),
        std::thread::spawn(move || fix_flow(fa, "CLIENT2", None, 4)),
    ];
    let sent: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    let report = srv.stop().unwrap();
    let cap = receiver.join().unwrap();

    // The server and the feed.
    assert_eq!(report.gateway.app_messages_in, sent as u64);
    assert_eq!(report.gateway.cancel_on_disconnect, 2, "OUCH01 and CLIENT1");
    let md = report.md.expect("md counters");
    assert_eq!(md.desyncs, 0, "{md:?}");
    assert_eq!(md.events, report.runtime.md_events, "{md:?}");
    assert!(md.events > sent as u64, "{md:?}");
    assert!(md.end_of_session >= 1 && md.packets > 0, "{md:?}");
    let re = cap.reassembler();
    assert!(re.ended() && re.complete(), "capture incomplete");
    assert_eq!(re.next_seq(), md.next_seq, "every message captured");
    assert_eq!(md.messages, md.next_seq - 1);
    assert_eq!(cap.stats().malformed, 0);
    eprintln!(
        "{sent} client messages; md {md:?}; capture {:?}, {} ITCH bytes",
        cap.stats(),
        cap.itch().len()
    );

    // Replay the capture with ferrex's ITCH driver and compare every book.
    let mut replay = ItchReplay::new(ItchReplayConfig::default());
    replay.run(cap.itch()).expect("the capture replays");
    let sum = replay.summary();
    assert_eq!(sum.unknown_refs, 0, "{sum:?}");
    assert_eq!(sum.over_executions, 0, "{sum:?}");
    assert_eq!(sum.rejects, 0, "{sum:?}");
    assert!(sum.executions > 100, "crossing orders traded: {sum:?}");
    assert!(
        sum.counts.get(b'U') > 10 && sum.counts.get(b'D') > 100,
        "replaces and cancels were published: {sum:?}"
    );
    let mut resting = 0;
    for i in 0..2u32 {
        let eb = report.engine.book(InstrumentId(i)).unwrap();
        resting += eb.live_orders();
        let want = visible_book_hash(eb, UNITS_PER_TICK);
        let rb = replay
            .book((i + 1) as u16)
            .unwrap_or_else(|| panic!("instrument {i}: no book rebuilt from the feed"));
        assert_eq!(
            visible_book_hash(rb, 1),
            want,
            "instrument {i}: visible book of the replay differs from the engine's"
        );
    }
    eprintln!(
        "replay: {} executions, {} live orders; engine: {resting} live orders",
        sum.executions, sum.live_orders
    );
    // How many orders are left resting depends on how the four sessions' flows interleave,
    // which the scheduler decides (under CI load it has ended with 9), so it is reported, not
    // asserted; the executions asserted above keep the comparison from being vacuous.
}

/// A server started on books that already hold orders (as after recovery from a journal)
/// announces them (`A`) before anything else, and later executions against them refer to known
/// orders: the replay still equals the engine.
#[test]
fn books_resting_at_start_are_announced() {
    use ferrex_types::{
        AccountId, Command, CommandKind, Event, NewOrder, OrdType, OrderId, Qty, Side, TimeInForce,
    };
    let mut engine = md_engine();
    let mut events: Vec<Event> = Vec::new();
    // Ids far above what the gateway allocates from 1.
    let mut id = 1_000_000u64;
    for (k, inst) in [(0u64, 0u32), (1, 0), (2, 1), (3, 1), (4, 0), (5, 1)] {
        for side in [Side::Buy, Side::Sell] {
            id += 1;
            let off = 1 + (k % 3) as i64;
            let price = match side {
                Side::Buy => 10_000 - off,
                Side::Sell => 10_000 + off,
            };
            let iceberg = k == 4;
            let cmd = Command::new(
                1_000 + id,
                CommandKind::New(NewOrder {
                    order_id: OrderId(id),
                    price: Price(price),
                    qty: Qty(if iceberg { 300 } else { 50 + 10 * k }),
                    display_qty: Qty(if iceberg { 100 } else { 0 }),
                    account: AccountId(2 + 2 * (k as u32 % 2)),
                    instrument: InstrumentId(inst),
                    side,
                    ord_type: OrdType::Limit,
                    tif: TimeInForce::Gtc,
                    ..NewOrder::default()
                }),
            );
            engine.process(&cmd, &mut events);
        }
    }
    let seeded = engine.book(InstrumentId(0)).unwrap().live_orders()
        + engine.book(InstrumentId(1)).unwrap().live_orders();
    assert_eq!(seeded, 12);

    let mut cap = Capture::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let mut cfg = config();
    let mut md = MdSpec::new(
        cap.local_addr().unwrap(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        "FERREXT002",
    );
    md.heartbeat = Duration::from_millis(50);
    md.linger = Duration::from_secs(3);
    cfg.md = Some(md);
    let srv = Server::start(cfg, engine).expect("server starts");
    let rtx = srv.md_retransmit_addr().unwrap();
    let receiver = std::thread::spawn(move || {
        cap.receive(Duration::from_secs(30), Duration::from_secs(120))
            .unwrap();
        if !cap.reassembler().complete() {
            cap.fill_gaps(rtx, Duration::from_secs(10)).unwrap();
        }
        cap
    });
    // OUCH01 (account 1) sweeps part of both sides of AAPL, including the iceberg.
    let mut c = OuchClient::logged_in(srv.ouch_addr(), "OUCH01", "secret01");
    let buy = c.enter(OuchSide::Buy, 250, AAPL, 1_000_300, OuchTif::Ioc);
    let sell = c.enter(OuchSide::Sell, 120, AAPL, 999_700, OuchTif::Day);
    let mut executed = 0;
    let mut acked = 0;
    while acked < 2 || executed < 2 {
        match out(&c.recv_msg()) {
            Outbound::Accepted(a) if a.user_ref_num == buy || a.user_ref_num == sell => acked += 1,
            Outbound::Executed(_) => executed += 1,
            Outbound::Rejected(r) => panic!("rejected: {:?}", r.reason),
            _ => {}
        }
    }
    c.send_packet(&Packet::LogoutRequest);
    while !matches!(c.recv(), Soup::Closed) {}
    let report = srv.stop().unwrap();
    let cap = receiver.join().unwrap();
    let md = report.md.unwrap();
    assert_eq!(md.desyncs, 0, "{md:?}");
    assert!(cap.reassembler().ended() && cap.reassembler().complete());
    let mut replay = ItchReplay::new(ItchReplayConfig::default());
    replay.run(cap.itch()).unwrap();
    let sum = replay.summary();
    assert_eq!(sum.unknown_refs, 0, "{sum:?}");
    assert_eq!(sum.over_executions, 0, "{sum:?}");
    assert!(
        sum.counts.get(b'A') >= 12,
        "the resting orders were announced: {sum:?}"
    );
    assert!(sum.executions >= 2, "{sum:?}");
    for i in 0..2u32 {
        let eb = report.engine.book(InstrumentId(i)).unwrap();
        let rb = replay.book((i + 1) as u16).unwrap();
        assert_eq!(
            visible_book_hash(rb, 1),
            visible_book_hash(eb, UNITS_PER_TICK),
            "instrument {i}"
        );
    }
    assert!(report.engine.book(InstrumentId(1)).unwrap().live_orders() >= 4);
}
