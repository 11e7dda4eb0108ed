//! `ferrex serve` over FIX 4.4: a real server on 127.0.0.1:0 and a blocking test initiator.
//! Logon with Username/Password, ExecutionReport fields, cancel and cancel/replace,
//! OrderCancelReject, risk reject mapping, second logon, fills across FIX and OUCH sessions.

mod serve_common;

use ferrex_gateway::ouch::{LiquidityFlag, OuchPrice, OuchSide, OuchTif, Outbound};
use ferrex_types::InstrumentId;
use serve_common::*;

const CRED1: Option<(&str, &str)> = Some(("fixuser1", "fixpass1"));

#[test]
fn logon_checks_credentials_and_comp_ids() {
    let srv = start(config());
    let a = srv.fix_addr();
    let mut c = FixClient::connect(a, "CLIENT1");
    let r = c.logon(Some("fixuser1"), Some("nope"));
    assert_eq!(r.msg_type(), "5");
    assert_eq!(r.f(58), "Invalid username or password");
    assert!(
        c.try_recv().is_none(),
        "connection closed after a bad logon"
    );

    // Unknown CompID: disconnected without a Logout (QuickFIX 1c_InvalidSenderCompID).
    let mut c = FixClient::connect(a, "NOSUCH");
    send_logon(&mut c, None, None);
    assert!(c.try_recv().is_none(), "closed without a reply");

    let mut c = FixClient::connect(a, "CLIENT1");
    let r = c.logon(Some("fixuser1"), Some("fixpass1"));
    assert_eq!(r.msg_type(), "A", "{}", r.show());
    assert_eq!(r.f(49), "FERREX");
    assert_eq!(r.f(56), "CLIENT1");
    assert_eq!(r.f(34), "1");
    assert_eq!(r.f(98), "0");
    assert_eq!(r.f(108), "30");

    // A second logon for CLIENT1 while it is connected: refused, the first one goes on.
    // Disconnected without a Logout (QuickFIX 1b_DuplicateIdentity, AlreadyLoggedOn).
    let mut d = FixClient::connect(a, "CLIENT1");
    send_logon(&mut d, Some("fixuser1"), Some("fixpass1"));
    assert!(d.try_recv().is_none(), "closed without a reply");

    // CLIENT2 needs no password.
    let _c2 = FixClient::logged_on(a, "CLIENT2", None);

    // TestRequest on the first session is answered with its TestReqID.
    let mut w = Vec::new();
    let h = c.header();
    ferrex_gateway::fix::test_request(&mut w, &h, b"PING1");
    c.write(&w);
    let hb = c.recv();
    assert_eq!(hb.msg_type(), "0");
    assert_eq!(hb.f(112), "PING1");
    drop(c);
    let rep = srv.stop().unwrap();
    assert_eq!(rep.gateway.logons, 2);
    assert_eq!(rep.gateway.second_logons_refused, 1);
    assert_eq!(rep.gateway.logons_refused, 3);
}

#[test]
fn new_order_cancel_replace_and_cancel_reject() {
    let srv = start(config());
    let mut c = FixClient::logged_on(srv.fix_addr(), "CLIENT1", CRED1);
    c.new_order("A1", b'1', 100, "AAPL", "100.25", b'0');
    let er = c.recv_app();
    assert_eq!(er.msg_type(), "8", "{}", er.show());
    assert_eq!(er.f(150), "0");
    assert_eq!(er.f(39), "0");
    assert_eq!(er.f(11), "A1");
    assert_eq!(er.f(14), "0");
    assert_eq!(er.f(151), "100");
    assert_eq!(er.f(38), "100");
    assert_eq!(er.f(44), "100.25");
    assert_eq!(er.f(54), "1");
    assert_eq!(er.f(55), "AAPL");
    assert_eq!(er.f(6).parse::<f64>().unwrap(), 0.0);
    let order_id = er.f(37);
    assert!(order_id.parse::<u64>().unwrap() > 0);

    // Cancel/replace: 80 at 100.10.
    c.replace("A2", "A1", b'1', 80, "AAPL", "100.10");
    let er = c.recv_app();
    assert_eq!(er.msg_type(), "8", "{}", er.show());
    assert_eq!(er.f(150), "5");
    assert_eq!(er.f(39), "0");
    assert_eq!(er.f(11), "A2");
    assert_eq!(er.f(41), "A1");
    assert_eq!(er.f(37), order_id);
    assert_eq!(er.f(44), "100.1");
    assert_eq!(er.f(151), "80");
    assert_eq!(er.f(38), "80");

    // Cancel.
    c.cancel("A3", "A2", b'1', "AAPL");
    let er = c.recv_app();
    assert_eq!(er.msg_type(), "8", "{}", er.show());
    assert_eq!(er.f(150), "4");
    assert_eq!(er.f(39), "4");
    assert_eq!(er.f(11), "A3");
    assert_eq!(er.f(41), "A2");
    assert_eq!(er.f(37), order_id);

    // Cancel of an unknown order: OrderCancelReject.
    c.cancel("A4", "NOPE", b'1', "AAPL");
    let rj = c.recv_app();
    assert_eq!(rj.msg_type(), "9", "{}", rj.show());
    assert_eq!(rj.f(11), "A4");
    assert_eq!(rj.f(41), "NOPE");
    assert_eq!(rj.f(37), "NONE");
    assert_eq!(rj.f(102), "1");
    assert_eq!(rj.f(434), "1");
    assert_eq!(rj.f(39), "8");

    // Replace of an unknown order: OrderCancelReject with 434 = 2.
    c.replace("A5", "NOPE", b'1', 10, "AAPL", "100.00");
    let rj = c.recv_app();
    assert_eq!(rj.msg_type(), "9");
    assert_eq!((rj.f(434), rj.f(102)), ("2".to_string(), "1".to_string()));

    // A NewOrderSingle without OrderQty: session Reject naming tag 38.
    let mut w = Vec::new();
    let h = c.header();
    ferrex_gateway::fix::encode(&mut w, &h, b"D", |b| {
        b.bytes(11, b"A6")
            .char(40, b'2')
            .bytes(44, b"100.00")
            .char(54, b'1')
            .bytes(55, b"AAPL")
            .time(60, unix_ns());
    });
    c.write(&w);
    let rj = c.recv_app();
    assert_eq!(rj.msg_type(), "3", "{}", rj.show());
    assert_eq!(rj.f(371), "38");
    assert_eq!(rj.f(372), "D");
    drop(c);
    let r = srv.stop().unwrap();
    assert_eq!(r.engine.book(InstrumentId(0)).unwrap().live_orders(), 0);
}

#[test]
fn risk_and_symbol_rejects() {
    let srv = start(config());
    let mut c = FixClient::logged_on(srv.fix_addr(), "CLIENT2", None);
    c.new_order("R1", b'2', 60_000, "MSFT", "50.00", b'0');
    let er = c.recv_app();
    assert_eq!(er.msg_type(), "8");
    assert_eq!((er.f(150), er.f(39)), ("8".to_string(), "8".to_string()));
    assert_eq!(er.f(103), "3", "MaxOrderQty -> order exceeds limit");
    assert_eq!(er.f(58), "max_order_qty");
    assert_eq!(er.f(11), "R1");
    c.new_order("R2", b'2', 10, "ZZZZ", "50.00", b'0');
    let er = c.recv_app();
    assert_eq!((er.f(150), er.f(103)), ("8".to_string(), "1".to_string()));
    assert_eq!(er.f(58), "Unknown symbol");
    c.new_order("R3", b'2', 10, "MSFT", "50.005", b'0');
    let er = c.recv_app();
    assert_eq!(er.f(150), "8");
    assert_eq!(er.f(58), "Price not on a tick");
    // The same ClOrdID again after its reject is usable; a live one is a duplicate.
    c.new_order("R4", b'2', 10, "MSFT", "50.00", b'0');
    assert_eq!(c.recv_app().f(150), "0");
    c.new_order("R4", b'2', 10, "MSFT", "50.00", b'0');
    let er = c.recv_app();
    assert_eq!((er.f(150), er.f(103)), ("8".to_string(), "6".to_string()));
    drop(c);
    let r = srv.stop().unwrap();
    // CLIENT2 keeps its orders over a disconnect.
    assert_eq!(r.engine.book(InstrumentId(1)).unwrap().live_orders(), 1);
}

#[test]
fn fills_across_fix_and_ouch_sessions() {
    let srv = start(config());
    let mut maker = FixClient::logged_on(srv.fix_addr(), "CLIENT1", CRED1);
    let mut taker = FixClient::logged_on(srv.fix_addr(), "CLIENT2", None);
    let mut ouch = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    maker.new_order("M1", b'2', 100, "AAPL", "100.25", b'0');
    assert_eq!(maker.recv_app().f(150), "0");
    taker.new_order("T1", b'1', 40, "AAPL", "100.50", b'0');
    let er = taker.recv_app();
    assert_eq!(er.f(150), "0");
    let tf = taker.recv_app();
    assert_eq!(tf.msg_type(), "8");
    assert_eq!(tf.f(150), "F");
    assert_eq!(tf.f(39), "2");
    assert_eq!(tf.f(32), "40");
    assert_eq!(tf.f(31), "100.25");
    assert_eq!(tf.f(14), "40");
    assert_eq!(tf.f(151), "0");
    assert_eq!(tf.f(6).parse::<f64>().unwrap(), 100.25);
    let mf = maker.recv_app();
    assert_eq!(mf.f(150), "F");
    assert_eq!(mf.f(39), "1");
    assert_eq!(mf.f(11), "M1");
    assert_eq!(
        (mf.f(32), mf.f(14), mf.f(151)),
        ("40".into(), "40".into(), "60".into())
    );
    assert_eq!(mf.f(17), tf.f(17), "both sides carry the trade's ExecID");
    // CLIENT2 cannot cancel CLIENT1's order: M1 is unknown in its session.
    taker.cancel("T2", "M1", b'2', "AAPL");
    let rj = taker.recv_app();
    assert_eq!(
        (rj.msg_type(), rj.f(102), rj.f(37)),
        ("9".into(), "1".into(), "NONE".into())
    );
    // An OUCH buyer takes the rest: both protocols see the fill.
    let r = ouch.enter(OuchSide::Buy, 60, b"AAPL", 1_002_500, OuchTif::Day);
    assert!(matches!(out(&ouch.recv_msg()), Outbound::Accepted(_)));
    let m = ouch.recv_msg();
    let Outbound::Executed(e) = out(&m) else {
        panic!("expected Executed, got {:?}", out(&m))
    };
    assert_eq!((e.user_ref_num, e.quantity), (r, 60));
    assert_eq!(
        (e.price, e.liquidity_flag),
        (OuchPrice(1_002_500), LiquidityFlag::Removed)
    );
    let mf = maker.recv_app();
    assert_eq!((mf.f(150), mf.f(39)), ("F".to_string(), "2".to_string()));
    assert_eq!((mf.f(14), mf.f(151)), ("100".to_string(), "0".to_string()));
    drop((maker, taker, ouch));
    let r = srv.stop().unwrap();
    assert_eq!(r.engine.book(InstrumentId(0)).unwrap().live_orders(), 0);
}

#[test]
fn cancel_on_disconnect_fix() {
    let srv = start(config());
    let mut c = FixClient::logged_on(srv.fix_addr(), "CLIENT1", CRED1);
    c.new_order("K1", b'1', 10, "MSFT", "99.00", b'0');
    assert_eq!(c.recv_app().f(150), "0");
    // Logout: the server answers Logout, closes, and cancels CLIENT1's orders.
    let mut w = Vec::new();
    let h = c.header();
    ferrex_gateway::fix::logout(&mut w, &h, None);
    c.write(&w);
    assert_eq!(c.recv_app().msg_type(), "5");
    assert!(c.try_recv().is_none());
    // CLIENT2 sells at 99.00 IOC: nothing to hit.
    let mut t = FixClient::logged_on(srv.fix_addr(), "CLIENT2", None);
    t.new_order("S1", b'2', 10, "MSFT", "99.00", b'3');
    assert_eq!(t.recv_app().f(150), "0");
    let er = t.recv_app();
    assert_eq!(
        (er.f(150), er.f(39), er.f(14)),
        ("4".into(), "4".into(), "0".into())
    );
    drop(t);
    let r = srv.stop().unwrap();
    assert_eq!(r.gateway.cancel_on_disconnect, 1);
}

#[test]
fn pipelined_cancel_acks_the_order_under_its_own_clordid() {
    let srv = start(config());
    let mut c = FixClient::logged_on(srv.fix_addr(), "CLIENT2", None);
    // New and cancel back to back, without waiting: however the race goes, the order's ack
    // names the order's ClOrdID and the cancel's report names the cancel's.
    for k in 0..20 {
        let (n, x) = (format!("P{k}"), format!("X{k}"));
        c.new_order(&n, b'1', 5, "MSFT", "99.00", b'0');
        c.cancel(&x, &n, b'1', "MSFT");
    }
    for k in 0..20 {
        let ack = c.recv_app();
        assert_eq!(
            (ack.f(150), ack.f(11)),
            ("0".to_string(), format!("P{k}")),
            "{}",
            ack.show()
        );
        let can = c.recv_app();
        assert_eq!(
            (can.f(150), can.f(11)),
            ("4".to_string(), format!("X{k}")),
            "{}",
            can.show()
        );
        assert_eq!(can.f(41), format!("P{k}"));
        assert_eq!(can.f(37), ack.f(37));
    }
    drop(c);
    let r = srv.stop().unwrap();
    assert_eq!(r.engine.book(InstrumentId(1)).unwrap().live_orders(), 0);
}

#[test]
fn refused_replace_keeps_the_last_accepted_clordid() {
    let srv = start(config());
    let mut c = FixClient::logged_on(srv.fix_addr(), "CLIENT2", None);
    c.new_order("A1", b'2', 20, "MSFT", "180.00", b'0');
    let new = c.recv_app();
    assert_eq!(new.f(150), "0");
    // Refused by risk (max_order_qty): OrderCancelReject naming both ClOrdIDs.
    c.replace("A2", "A1", b'2', 60_000, "MSFT", "180.00");
    let rj = c.recv_app();
    assert_eq!(rj.msg_type(), "9", "{}", rj.show());
    assert_eq!(
        (rj.f(11), rj.f(41), rj.f(434)),
        ("A2".into(), "A1".into(), "2".into())
    );
    assert_eq!(rj.f(37), new.f(37));
    // Refused by the gateway (price not on a tick): same.
    c.replace("A3", "A1", b'2', 20, "MSFT", "180.005");
    let rj = c.recv_app();
    assert_eq!(
        (rj.msg_type(), rj.f(11), rj.f(41)),
        ("9".into(), "A3".into(), "A1".into())
    );
    // The refused ClOrdIDs do not name the order.
    c.cancel("X1", "A2", b'2', "MSFT");
    let rj = c.recv_app();
    assert_eq!(
        (rj.msg_type(), rj.f(102)),
        ("9".into(), "1".into()),
        "{}",
        rj.show()
    );
    // Cancel by the original: 41 is the last accepted ClOrdID.
    c.cancel("X2", "A1", b'2', "MSFT");
    let er = c.recv_app();
    assert_eq!(
        (er.msg_type(), er.f(150), er.f(39)),
        ("8".into(), "4".into(), "4".into())
    );
    assert_eq!(
        (er.f(11), er.f(41)),
        ("X2".into(), "A1".into()),
        "{}",
        er.show()
    );
    drop(c);
    let r = srv.stop().unwrap();
    assert_eq!(r.engine.book(InstrumentId(1)).unwrap().live_orders(), 0);
}

/// Send a Logon without waiting for the reply.
fn send_logon(c: &mut FixClient, user: Option<&str>, pw: Option<&str>) {
    let mut w = Vec::new();
    let h = c.header();
    ferrex_gateway::fix::logon(
        &mut w,
        &h,
        30,
        true,
        user.map(str::as_bytes),
        pw.map(str::as_bytes),
    );
    c.write(&w);
}
