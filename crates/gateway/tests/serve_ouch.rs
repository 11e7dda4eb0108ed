//! `ferrex serve` over OUCH 5.0 / SoupBinTCP 4.0: a real server on 127.0.0.1:0 and blocking
//! test clients. Logins, order entry, cross-session fills, cancel/replace, risk rejects, second
//! logon, cancel-on-disconnect, throttle and re-login replay.

mod serve_common;

use ferrex_gateway::ouch::{Appendage, CancelOrder, ClOrdId, Display, OuchPrice};
use ferrex_gateway::ouch::{
    Inbound, LiquidityFlag, OrderState, OuchCancelReason, OuchRejectCode, OuchSide, OuchTif,
    Outbound, ReplaceOrder, UserRefNum,
};
use ferrex_types::InstrumentId;
use serve_common::*;

#[test]
fn login_accept_and_reject() {
    let srv = start(config());
    let a = srv.ouch_addr();
    let mut c = OuchClient::connect(a);
    assert_eq!(c.login("NOBODY", "secret01"), Soup::LoginRejected(b'A'));
    assert_eq!(c.recv(), Soup::Closed);
    let mut c = OuchClient::connect(a);
    assert_eq!(c.login("OUCH01", "wrong"), Soup::LoginRejected(b'A'));
    assert_eq!(c.recv(), Soup::Closed);
    let mut c = OuchClient::connect(a);
    assert_eq!(
        c.login("OUCH01", "secret01"),
        Soup::LoginAccepted {
            session: b"FERREX".to_vec(),
            sequence: 1
        }
    );
    // Data before login on a fresh connection: dropped.
    let mut d = OuchClient::connect(a);
    d.send_packet(&ferrex_gateway::soupbin::Packet::ClientHeartbeat);
    assert!(matches!(d.recv(), Soup::Debug(_) | Soup::Closed));
    drop(c);
    let r = srv.stop().unwrap();
    assert_eq!(r.gateway.logons, 1);
    assert_eq!(r.gateway.logons_refused, 2);
}

#[test]
fn enter_replace_cancel() {
    let srv = start(config());
    let mut c = OuchClient::logged_in(srv.ouch_addr(), "OUCH01", "secret01");
    let r1 = c.enter(OuchSide::Buy, 100, AAPL, 1_000_000, OuchTif::Day);
    let m = c.recv_msg();
    let Outbound::Accepted(acc) = out(&m) else {
        panic!("expected Accepted, got {:?}", out(&m))
    };
    assert_eq!(acc.user_ref_num, r1);
    assert_eq!(acc.orig_user_ref_num, None);
    assert_eq!((acc.quantity, acc.price), (100, OuchPrice(1_000_000)));
    assert_eq!(acc.side, OuchSide::Buy);
    assert_eq!(acc.symbol.trimmed(), AAPL);
    assert_eq!(acc.order_state, OrderState::Live);
    assert_eq!(acc.cl_ord_id.trimmed(), b"C1");
    assert!(acc.order_reference_number > 0);
    let order_ref = acc.order_reference_number;

    // Replace: new reference, 60 shares at 99.00.
    let r2 = c.take_ref();
    c.send(&Inbound::Replace(ReplaceOrder {
        orig_user_ref_num: r1,
        user_ref_num: r2,
        quantity: 60,
        price: OuchPrice(990_000),
        time_in_force: OuchTif::Day,
        display: Display::Visible,
        intermarket_sweep: false,
        cl_ord_id: ClOrdId::new(b"C2").unwrap(),
        appendage: Appendage::EMPTY,
    }));
    let m = c.recv_msg();
    let Outbound::Accepted(rep) = out(&m) else {
        panic!("expected Replaced, got {:?}", out(&m))
    };
    assert_eq!(rep.orig_user_ref_num, Some(r1));
    assert_eq!(rep.user_ref_num, r2);
    assert_eq!((rep.quantity, rep.price), (60, OuchPrice(990_000)));
    assert_eq!(rep.order_reference_number, order_ref);

    // Cancel all.
    c.send(&Inbound::Cancel(CancelOrder {
        user_ref_num: r2,
        quantity: 0,
        appendage: Appendage::EMPTY,
    }));
    let m = c.recv_msg();
    let Outbound::Canceled(can) = out(&m) else {
        panic!("expected Canceled, got {:?}", out(&m))
    };
    assert_eq!(can.user_ref_num, r2);
    assert_eq!(can.quantity, 60);
    assert_eq!(can.reason, OuchCancelReason::UserRequested);

    // Cancel of an order that is gone: Cancel Reject.
    c.send(&Inbound::Cancel(CancelOrder {
        user_ref_num: r2,
        quantity: 0,
        appendage: Appendage::EMPTY,
    }));
    let m = c.recv_msg();
    let Outbound::CancelReject(cr) = out(&m) else {
        panic!("expected Cancel Reject, got {:?}", out(&m))
    };
    assert_eq!(cr.user_ref_num, r2);
    drop(c);
    let r = srv.stop().unwrap();
    assert_eq!(r.engine.book(InstrumentId(0)).unwrap().live_orders(), 0);
}

#[test]
fn cross_between_sessions_fills_both_sides() {
    let srv = start(config());
    let mut seller = OuchClient::logged_in(srv.ouch_addr(), "OUCH01", "secret01");
    let mut buyer = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    let s1 = seller.enter(OuchSide::Sell, 100, MSFT, 1_002_500, OuchTif::Day);
    let mm = seller.recv_msg();
    let Outbound::Accepted(sa) = out(&mm) else {
        panic!("seller not accepted")
    };
    let b1 = buyer.enter(OuchSide::Buy, 60, MSFT, 1_010_000, OuchTif::Day);
    let m = buyer.recv_msg();
    let Outbound::Accepted(ba) = out(&m) else {
        panic!("buyer not accepted: {:?}", out(&m))
    };
    assert_ne!(
        ba.order_reference_number, sa.order_reference_number,
        "engine order ids are unique across sessions"
    );
    let m = buyer.recv_msg();
    let Outbound::Executed(be) = out(&m) else {
        panic!("buyer not executed: {:?}", out(&m))
    };
    assert_eq!(be.user_ref_num, b1);
    assert_eq!((be.quantity, be.price), (60, OuchPrice(1_002_500)));
    assert_eq!(be.liquidity_flag, LiquidityFlag::Removed);
    // The maker's fill goes to the maker's session.
    let m = seller.recv_msg();
    let Outbound::Executed(se) = out(&m) else {
        panic!("seller not executed: {:?}", out(&m))
    };
    assert_eq!(se.user_ref_num, s1);
    assert_eq!((se.quantity, se.price), (60, OuchPrice(1_002_500)));
    assert_eq!(se.liquidity_flag, LiquidityFlag::Added);
    assert_eq!(se.match_number, be.match_number);
    // The buyer cannot touch the seller's order: its UserRefNum means nothing in OUCH02.
    buyer.send(&Inbound::Cancel(CancelOrder {
        user_ref_num: s1,
        quantity: 0,
        appendage: Appendage::EMPTY,
    }));
    let m = buyer.recv_msg();
    assert!(
        matches!(out(&m), Outbound::CancelReject(r) if r.user_ref_num == s1),
        "{:?}",
        out(&m)
    );
    // The seller's 40 remaining shares are still there: it can cancel them itself.
    seller.send(&Inbound::Cancel(CancelOrder {
        user_ref_num: s1,
        quantity: 0,
        appendage: Appendage::EMPTY,
    }));
    let m = seller.recv_msg();
    let Outbound::Canceled(c) = out(&m) else {
        panic!("expected Canceled, got {:?}", out(&m))
    };
    assert_eq!((c.user_ref_num, c.quantity), (s1, 40));
    drop((seller, buyer));
    let r = srv.stop().unwrap();
    assert_eq!(r.engine.book(InstrumentId(1)).unwrap().live_orders(), 0);
}

#[test]
fn risk_and_mapping_rejects_are_mapped() {
    let srv = start(config());
    let mut c = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    // 60,000 lots: above account 2's max_order_qty (50,000) -> MaxOrderQty -> 0x31.
    let r = c.enter(OuchSide::Buy, 60_000, AAPL, 1_000_000, OuchTif::Day);
    let m = c.recv_msg();
    let Outbound::Rejected(j) = out(&m) else {
        panic!("expected Rejected, got {:?}", out(&m))
    };
    assert_eq!(j.user_ref_num, r);
    assert_eq!(j.reason, OuchRejectCode::RISK_MAX_QUANTITY);
    // Unknown symbol: refused by the gateway mapping, 0x17.
    let r = c.enter(OuchSide::Buy, 10, b"ZZZZ", 1_000_000, OuchTif::Day);
    let mm = c.recv_msg();
    let Outbound::Rejected(j) = out(&mm) else {
        panic!("expected Rejected")
    };
    assert_eq!(
        (j.user_ref_num, j.reason),
        (r, OuchRejectCode::INVALID_SYMBOL)
    );
    // Price not on a tick (1/10000 units; one tick is 0.01 = 100 units).
    let r = c.enter(OuchSide::Buy, 10, AAPL, 1_000_050, OuchTif::Day);
    let mm = c.recv_msg();
    let Outbound::Rejected(j) = out(&mm) else {
        panic!("expected Rejected")
    };
    assert_eq!(
        (j.user_ref_num, j.reason),
        (r, OuchRejectCode::INVALID_PRICE)
    );
    // Below the instrument's min price (1.00) -> OutsideMinMax -> 0x1E.
    let r = c.enter(OuchSide::Buy, 10, AAPL, 500, OuchTif::Day);
    let mm = c.recv_msg();
    let Outbound::Rejected(j) = out(&mm) else {
        panic!("expected Rejected")
    };
    assert_eq!(
        (j.user_ref_num, j.reason),
        (r, OuchRejectCode::SHARES_EXCEED_THRESHOLD)
    );
    // Undecodable OUCH message: a Debug packet, and the session goes on.
    c.send_packet(&ferrex_gateway::soupbin::Packet::UnsequencedData(b"Qjunk"));
    assert!(matches!(c.recv(), Soup::Debug(t) if t.contains("bad OUCH message")));
    c.enter(OuchSide::Buy, 10, AAPL, 1_000_000, OuchTif::Ioc);
    assert!(matches!(out(&c.recv_msg()), Outbound::Accepted(_)));
    drop(c);
    srv.stop().unwrap();
}

#[test]
fn second_logon_is_refused_and_first_session_unaffected() {
    let srv = start(config());
    let mut first = OuchClient::logged_in(srv.ouch_addr(), "OUCH01", "secret01");
    let mut second = OuchClient::connect(srv.ouch_addr());
    assert_eq!(
        second.login("OUCH01", "secret01"),
        Soup::LoginRejected(b'S')
    );
    assert_eq!(second.recv(), Soup::Closed);
    let r = first.enter(OuchSide::Buy, 5, AAPL, 1_000_000, OuchTif::Day);
    let mm = first.recv_msg();
    let Outbound::Accepted(a) = out(&mm) else {
        panic!("first session broken")
    };
    assert_eq!(a.user_ref_num, r);
    drop(first);
    let rep = srv.stop().unwrap();
    assert_eq!(rep.gateway.second_logons_refused, 1);
}

#[test]
fn cancel_on_disconnect_and_replay_after_relogin() {
    let srv = start(config());
    let a = srv.ouch_addr();
    // OUCH01 (cancel_on_disconnect) rests a buy, then its connection drops.
    let mut c1 = OuchClient::logged_in(a, "OUCH01", "secret01");
    c1.enter(OuchSide::Buy, 100, AAPL, 1_000_000, OuchTif::Day);
    assert!(matches!(out(&c1.recv_msg()), Outbound::Accepted(_)));
    drop(c1);
    // OUCH02 (no cancel_on_disconnect) rests a sell far away, disconnects.
    let mut c2 = OuchClient::logged_in(a, "OUCH02", "secret02");
    let keep = c2.enter(OuchSide::Sell, 7, AAPL, 2_000_000, OuchTif::Day);
    assert!(matches!(out(&c2.recv_msg()), Outbound::Accepted(_)));
    drop(c2);
    // Back in with a requested sequence number of 1: Login Accepted 1, then the Accepted
    // again (replay), then new messages continue the numbering.
    let mut c2 = OuchClient::connect(a);
    let t0 = std::time::Instant::now();
    let acc = loop {
        // The previous connection may not be closed at the server yet: retry on 'S'.
        match c2.login_seq("OUCH02", "secret02", 1) {
            Soup::LoginRejected(b'S') => {
                assert!(
                    t0.elapsed() < std::time::Duration::from_secs(60),
                    "the old session is still live after 60 s"
                );
                std::thread::sleep(std::time::Duration::from_millis(20));
                c2 = OuchClient::connect(a);
            }
            other => break other,
        }
    };
    assert_eq!(
        acc,
        Soup::LoginAccepted {
            session: b"FERREX".to_vec(),
            sequence: 1
        }
    );
    let mm = c2.recv_msg();
    let Outbound::Accepted(replayed) = out(&mm) else {
        panic!("no replay")
    };
    assert_eq!((replayed.user_ref_num, replayed.quantity), (keep, 7));
    // UserRefNums are day-unique per account: continue after the last one.
    c2.next_ref = keep.0 + 1;
    // An IOC sell at 100.00 finds no bid: OUCH01's buy was cancelled on disconnect.
    let ioc = c2.enter(OuchSide::Sell, 100, AAPL, 1_000_000, OuchTif::Ioc);
    let mm = c2.recv_msg();
    assert!(
        matches!(out(&mm), Outbound::Accepted(a) if a.user_ref_num == ioc),
        "{:?}",
        out(&mm)
    );
    let m = c2.recv_msg();
    let Outbound::Canceled(can) = out(&m) else {
        panic!("expected Canceled (no liquidity), got {:?}", out(&m))
    };
    assert_eq!(can.user_ref_num, ioc);
    assert_eq!(can.quantity, 100);
    assert_eq!(can.reason, OuchCancelReason::ImmediateOrCancel);
    drop(c2);
    let r = srv.stop().unwrap();
    // OUCH02's resting sell survives its disconnects and the shutdown.
    let book = r.engine.book(InstrumentId(0)).unwrap();
    assert_eq!(book.live_orders(), 1);
    assert_eq!(r.gateway.cancel_on_disconnect, 1);
}

#[test]
fn gateway_throttle_rejects_excess() {
    let mut cfg = config();
    cfg.sessions[1].max_msgs_per_sec = 5;
    let srv = start(cfg);
    let mut c = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    let refs: Vec<UserRefNum> = (0..8)
        .map(|_| c.enter(OuchSide::Buy, 1, AAPL, 1_000_000, OuchTif::Ioc))
        .collect();
    let mut accepted = 0;
    let mut throttled = Vec::new();
    let mut seen = 0;
    while seen < 8 {
        match out(&c.recv_msg()) {
            Outbound::Accepted(_) => {
                accepted += 1;
                seen += 1;
            }
            Outbound::Rejected(j) => {
                assert_eq!(j.reason, OuchRejectCode::RISK_PORT_MESSAGE_RATE);
                throttled.push(j.user_ref_num);
                seen += 1;
            }
            Outbound::Canceled(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted, 5);
    assert_eq!(throttled, refs[5..].to_vec());
    drop(c);
    let r = srv.stop().unwrap();
    assert_eq!(r.gateway.throttled, 3);
}

#[test]
fn server_heartbeats_then_idle_timeout() {
    let mut cfg = config();
    cfg.ouch_heartbeat_ns = 50_000_000;
    cfg.ouch_timeout_ns = 400_000_000;
    let srv = start(cfg);
    let mut c = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    // Silence from us: Server Heartbeats, then the server drops the dead client.
    assert_eq!(c.recv(), Soup::Heartbeat);
    assert_eq!(c.recv(), Soup::Heartbeat);
    let mut last = c.recv();
    while last == Soup::Heartbeat {
        last = c.recv();
    }
    assert_eq!(last, Soup::Closed);
    let r = srv.stop().unwrap();
    assert_eq!(r.gateway.idle_timeouts, 1);
}

#[test]
fn pipelined_replace_acks_the_order_under_its_own_reference() {
    let srv = start(config());
    let mut c = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    for _ in 0..20 {
        let r1 = c.enter(OuchSide::Sell, 10, MSFT, 1_100_000, OuchTif::Day);
        let r2 = c.take_ref();
        c.send(&Inbound::Replace(ReplaceOrder {
            orig_user_ref_num: r1,
            user_ref_num: r2,
            quantity: 4,
            price: OuchPrice(1_200_000),
            time_in_force: OuchTif::Day,
            display: Display::Visible,
            intermarket_sweep: false,
            cl_ord_id: ClOrdId::new(b"R").unwrap(),
            appendage: Appendage::EMPTY,
        }));
        let m = c.recv_msg();
        let Outbound::Accepted(a) = out(&m) else {
            panic!("expected Accepted, got {:?}", out(&m))
        };
        assert_eq!((a.user_ref_num, a.orig_user_ref_num), (r1, None));
        assert_eq!(a.cl_ord_id.trimmed(), format!("C{}", r1.0).as_bytes());
        let m = c.recv_msg();
        let Outbound::Accepted(rep) = out(&m) else {
            panic!("expected Replaced, got {:?}", out(&m))
        };
        assert_eq!((rep.user_ref_num, rep.orig_user_ref_num), (r2, Some(r1)));
        assert_eq!((rep.quantity, rep.price), (4, OuchPrice(1_200_000)));
    }
    drop(c);
    let r = srv.stop().unwrap();
    assert_eq!(r.engine.book(InstrumentId(1)).unwrap().live_orders(), 20);
}

#[test]
fn refused_replace_keeps_the_order_under_its_original_user_ref() {
    let srv = start(config());
    let a = srv.ouch_addr();
    let mut c1 = OuchClient::logged_in(a, "OUCH01", "secret01");
    let r1 = c1.enter(OuchSide::Buy, 20, AAPL, 800_000, OuchTif::Day);
    assert!(matches!(out(&c1.recv_msg()), Outbound::Accepted(x) if x.user_ref_num == r1));
    // Replace to 60,000 lots: above account 1's max_order_qty -> Order Rejected 0x31 under
    // the replace's own UserRefNum and ClOrdID.
    let r2 = c1.take_ref();
    c1.send(&Inbound::Replace(ReplaceOrder {
        orig_user_ref_num: r1,
        user_ref_num: r2,
        quantity: 60_000,
        price: OuchPrice(800_000),
        time_in_force: OuchTif::Day,
        display: Display::Visible,
        intermarket_sweep: false,
        cl_ord_id: ClOrdId::new(b"RR2").unwrap(),
        appendage: Appendage::EMPTY,
    }));
    let m = c1.recv_msg();
    let Outbound::Rejected(j) = out(&m) else {
        panic!("expected Rejected, got {:?}", out(&m))
    };
    assert_eq!(j.user_ref_num, r2);
    assert_eq!(j.reason, OuchRejectCode::RISK_MAX_QUANTITY);
    assert_eq!(j.cl_ord_id.trimmed(), b"RR2");
    // A fill is reported under the original UserRefNum.
    let mut c2 = OuchClient::logged_in(a, "OUCH02", "secret02");
    c2.enter(OuchSide::Sell, 5, AAPL, 800_000, OuchTif::Ioc);
    let m = c1.recv_msg();
    let Outbound::Executed(x) = out(&m) else {
        panic!("expected Executed, got {:?}", out(&m))
    };
    assert_eq!((x.user_ref_num, x.quantity), (r1, 5));
    // Cancel by the original UserRefNum: Canceled, the 15 left.
    c1.send(&Inbound::Cancel(CancelOrder {
        user_ref_num: r1,
        quantity: 0,
        appendage: Appendage::EMPTY,
    }));
    let m = c1.recv_msg();
    let Outbound::Canceled(can) = out(&m) else {
        panic!("expected Canceled, got {:?}", out(&m))
    };
    assert_eq!((can.user_ref_num, can.quantity), (r1, 15));
    assert_eq!(can.reason, OuchCancelReason::UserRequested);
    // The refused UserRefNum stays consumed: reusing it is refused by the gateway.
    c1.next_ref = r2.0;
    let again = c1.enter(OuchSide::Buy, 1, AAPL, 800_000, OuchTif::Day);
    assert_eq!(again, r2);
    let m = c1.recv_msg();
    assert!(
        matches!(out(&m), Outbound::Rejected(j) if j.user_ref_num == r2),
        "{:?}",
        out(&m)
    );
    drop((c1, c2));
    let r = srv.stop().unwrap();
    assert_eq!(r.engine.book(InstrumentId(0)).unwrap().live_orders(), 0);
}

#[test]
fn cancel_on_disconnect_is_reported_as_system() {
    let srv = start(config());
    let a = srv.ouch_addr();
    let mut c1 = OuchClient::logged_in(a, "OUCH01", "secret01");
    let r1 = c1.enter(OuchSide::Buy, 10, AAPL, 980_000, OuchTif::Day);
    assert!(matches!(out(&c1.recv_msg()), Outbound::Accepted(_)));
    drop(c1);
    // Log in again from message 1: the Accepted, then the Canceled made on disconnect.
    let mut c1 = OuchClient::connect(a);
    let t0 = std::time::Instant::now();
    loop {
        match c1.login_seq("OUCH01", "secret01", 1) {
            Soup::LoginRejected(b'S') => {
                assert!(
                    t0.elapsed() < std::time::Duration::from_secs(60),
                    "the old session is still live after 60 s"
                );
                std::thread::sleep(std::time::Duration::from_millis(20));
                c1 = OuchClient::connect(a);
            }
            Soup::LoginAccepted { sequence: 1, .. } => break,
            other => panic!("login: {other:?}"),
        }
    }
    assert!(matches!(out(&c1.recv_msg()), Outbound::Accepted(x) if x.user_ref_num == r1));
    let m = c1.recv_msg();
    let Outbound::Canceled(can) = out(&m) else {
        panic!("expected Canceled, got {:?}", out(&m))
    };
    assert_eq!((can.user_ref_num, can.quantity), (r1, 10));
    assert_eq!(
        can.reason,
        OuchCancelReason::System,
        "Z: cancel on disconnect"
    );
    drop(c1);
    let r = srv.stop().unwrap();
    // The second connection's close may count too, depending on when stop() runs.
    assert!(r.gateway.cancel_on_disconnect >= 1);
}
