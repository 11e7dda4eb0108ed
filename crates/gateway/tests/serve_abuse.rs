//! `ferrex serve` under abuse: garbage, huge length fields, half-open connections, a client that
//! never reads while it floods orders, connection storms. The server must answer with a reason
//! or drop the connection, never crash or stall the other sessions.

mod serve_common;

use ferrex_gateway::ouch::{Inbound, OuchSide, OuchTif, Outbound, UserRefNum};
use ferrex_gateway::soupbin::{self, Packet};
use serve_common::*;
use std::io::Write;
use std::time::Duration;

/// A normal OUCH client still gets service.
fn still_serves(addr: std::net::SocketAddr, user: &str, pw: &str) {
    let mut c = OuchClient::logged_in(addr, user, pw);
    let r = c.enter(OuchSide::Buy, 1, AAPL, 1_000_000, OuchTif::Ioc);
    let m = c.recv_msg();
    let Outbound::Accepted(a) = out(&m) else {
        panic!("expected Accepted, got {:?}", out(&m))
    };
    assert_eq!(a.user_ref_num, r);
}

#[test]
fn garbage_and_huge_lengths_get_a_reason_and_a_close() {
    let srv = start(config());
    // Unknown SoupBinTCP packet type.
    let mut c = OuchClient::connect(srv.ouch_addr());
    c.s.write_all(b"\x00\x05?junk").unwrap();
    let got = c.recv();
    assert!(
        matches!(&got, Soup::Debug(t) if t.contains("unknown packet type")),
        "{got:?}"
    );
    assert_eq!(c.recv(), Soup::Closed);
    // A 65,535-byte length field: refused as soon as the two length bytes are in.
    let mut c = OuchClient::connect(srv.ouch_addr());
    c.s.write_all(b"\xff\xffL").unwrap();
    assert!(
        matches!(c.recv(), Soup::Debug(t) if t.contains("65535 exceeds the maximum 4096")),
        "huge length"
    );
    assert_eq!(c.recv(), Soup::Closed);
    // The same after a good login.
    let mut c = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    c.s.write_all(b"\x7f\x00U").unwrap();
    assert!(matches!(c.recv(), Soup::Debug(t) if t.contains("exceeds the maximum")));
    assert_eq!(c.recv(), Soup::Closed);
    // Random bytes on the FIX port before Logon: dropped without a word.
    let mut f = FixClient::connect(srv.fix_addr(), "CLIENT2");
    f.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(f.try_recv().is_none());
    // After Logon, garbage is skipped and the session goes on.
    let mut f = FixClient::logged_on(srv.fix_addr(), "CLIENT2", None);
    f.write(b"\x00\x01garbage garbage 8=FIY\x01junk\x01");
    let mut w = Vec::new();
    let h = f.header();
    ferrex_gateway::fix::test_request(&mut w, &h, b"STILL");
    f.write(&w);
    let hb = f.recv();
    assert_eq!(
        (hb.msg_type(), hb.f(112)),
        ("0".to_string(), "STILL".to_string())
    );
    // An oversized BodyLength: Logout with the reason, then close.
    f.write(b"8=FIX.4.4\x019=9999999\x0135=D\x01");
    let lo = f.recv();
    assert_eq!(lo.msg_type(), "5", "{}", lo.show());
    assert!(lo.f(58).contains("Message too large"), "{}", lo.show());
    assert!(f.try_recv().is_none());
    // Before Logon too.
    let mut f = FixClient::connect(srv.fix_addr(), "CLIENT1");
    f.write(b"8=FIX.4.4\x019=5000000\x0135=A\x01");
    let lo = f.recv();
    assert_eq!(lo.msg_type(), "5");
    assert!(lo.f(58).contains("Message too large"));
    assert!(f.try_recv().is_none());
    still_serves(srv.ouch_addr(), "OUCH01", "secret01");
    let r = srv.stop().unwrap();
    assert!(r.gateway.protocol_errors >= 6, "{:?}", r.gateway);
}

#[test]
fn half_open_connections_time_out_and_do_not_block_others() {
    let mut cfg = config();
    cfg.logon_timeout_ns = 300_000_000;
    let srv = start(cfg);
    let mut silent: Vec<_> = (0..20)
        .flat_map(|_| [connect(srv.ouch_addr()), connect(srv.fix_addr())])
        .collect();
    // A real client is served while they hang around.
    still_serves(srv.ouch_addr(), "OUCH02", "secret02");
    let mut f = FixClient::logged_on(srv.fix_addr(), "CLIENT2", None);
    f.new_order("H1", b'1', 1, "MSFT", "100.00", b'3');
    assert_eq!(f.recv_app().f(150), "0");
    for s in &mut silent {
        assert!(closed_by_server(s), "half-open connection not closed");
    }
    drop(f);
    let r = srv.stop().unwrap();
    assert_eq!(r.gateway.logon_timeouts, 40);
}

#[test]
fn a_client_that_never_reads_is_dropped_and_others_go_on() {
    let mut cfg = config();
    cfg.outbound_queue = 256;
    let srv = start(cfg);
    let addr = srv.ouch_addr();
    let mut flood = OuchClient::logged_in(addr, "OUCH01", "secret01");
    // A resting order to be cancelled when the flooder is dropped.
    flood.enter(OuchSide::Sell, 5, MSFT, 5_000_000, OuchTif::Day);
    let flooder = std::thread::spawn(move || {
        // IOC orders: two messages back each, never read. Stop when the server hangs up.
        let mut batch = Vec::new();
        for k in 0..3_000u32 {
            batch.clear();
            for j in 0..100u32 {
                let r = UserRefNum(10 + k * 100 + j);
                let m = Inbound::Enter(enter_order(
                    r,
                    OuchSide::Buy,
                    1,
                    AAPL,
                    1_000_000,
                    OuchTif::Ioc,
                    b"F",
                ));
                let mut p = Vec::new();
                m.encode(&mut p).unwrap();
                soupbin::encode(&Packet::UnsequencedData(&p), &mut batch).unwrap();
            }
            if flood.s.write_all(&batch).is_err() {
                return true;
            }
        }
        false
    });
    let dropped = flooder.join().unwrap();
    assert!(dropped, "the server never dropped the non-reading client");
    // Everybody else is fine, and OUCH01 can log in again.
    still_serves(addr, "OUCH02", "secret02");
    let mut again = OuchClient::connect(addr);
    let t0 = std::time::Instant::now();
    let login = loop {
        match again.login("OUCH01", "secret01") {
            Soup::LoginRejected(b'S') => {
                assert!(
                    t0.elapsed() < std::time::Duration::from_secs(60),
                    "the old session is still live after 60 s"
                );
                std::thread::sleep(Duration::from_millis(20));
                again = OuchClient::connect(addr);
            }
            other => break other,
        }
    };
    assert!(matches!(login, Soup::LoginAccepted { .. }), "{login:?}");
    drop(again);
    let r = srv.stop().unwrap();
    assert_eq!(r.gateway.slow_consumer_drops, 1, "{:?}", r.gateway);
    assert!(r.gateway.cancel_on_disconnect >= 1);
    // The resting sell was cancelled on disconnect.
    assert_eq!(
        r.engine
            .book(ferrex_types::InstrumentId(1))
            .unwrap()
            .live_orders(),
        0
    );
}

#[test]
fn a_thousand_connects_then_normal_service() {
    let srv = start(config());
    for k in 0..1000 {
        let addr = if k % 2 == 0 {
            srv.ouch_addr()
        } else {
            srv.fix_addr()
        };
        drop(connect(addr));
    }
    still_serves(srv.ouch_addr(), "OUCH01", "secret01");
    let mut f = FixClient::logged_on(srv.fix_addr(), "CLIENT1", Some(("fixuser1", "fixpass1")));
    f.new_order("N1", b'2', 3, "AAPL", "101.00", b'3');
    assert_eq!(f.recv_app().f(150), "0");
    drop(f);
    let r = srv.stop().unwrap();
    assert!(r.gateway.connections >= 1002, "{:?}", r.gateway);
}

#[test]
fn connections_beyond_the_limit_are_closed() {
    let mut cfg = config();
    cfg.max_connections = 3;
    let srv = start(cfg);
    // Three logged-in sessions: all three are accepted before the fourth connects.
    let _a = OuchClient::logged_in(srv.ouch_addr(), "OUCH01", "secret01");
    let _b = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    let _c = FixClient::logged_on(srv.fix_addr(), "CLIENT2", None);
    let mut d = connect(srv.ouch_addr());
    assert!(closed_by_server(&mut d));
    drop((_a, _b, _c));
    let r = srv.stop().unwrap();
    assert!(r.gateway.refused_connections >= 1);
}
