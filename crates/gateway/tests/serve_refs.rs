//! Client references across a restart of `ferrex serve` with a journal.
//!
//! Run 1 rests orders over OUCH (one replaced, one partly executed) and over FIX (one replaced)
//! and stops. Run 2, on the same journal directory, recovers the books and the gateway's
//! reference log: the old orders are cancelled and replaced by their old UserRefNum /
//! OrigClOrdID with every reply field checked, executions against recovered orders reach their
//! owners under their client references, and a UserRefNum not above the account's last one is
//! still refused. The SIGKILL variant (through the `ferrex` binary) is in
//! `tools/ferrex/tests/serve_refs_crash.rs`.

mod serve_common;

use ferrex_engine::{Durability, JournalConfig};
use ferrex_gateway::ouch::{
    Capacity, ClOrdId, CrossType, Display, Inbound, LiquidityFlag, OrderState, OuchCancelReason,
    OuchPrice, OuchRejectCode, OuchSide, OuchTif, Outbound, Symbol, UserRefNum,
};
use ferrex_gateway::server::{Server, ServerConfig};
use serve_common::*;
use std::path::{Path, PathBuf};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "ferrex-serve-refs-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        TempDir(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn journaled(dir: &Path, durability: Durability) -> ServerConfig {
    ServerConfig {
        journal: Some(JournalConfig::new(dir, durability).with_snapshot_every(4)),
        ..config()
    }
}

/// Order ids of run 1, for run 2 to check against.
struct Run1 {
    sell_msft: u64,
    buy_aapl: u64,
    sell_aapl: u64,
    fix_sell_msft: String,
    fix_buy_aapl: String,
}

fn run1(dir: &Path, durability: Durability) -> Run1 {
    let srv = Server::start(journaled(dir, durability), engine()).expect("server starts");
    let mut mk = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    let mut tk = OuchClient::logged_in(srv.ouch_addr(), "OUCH01", "secret01");
    // 1: sell 100 MSFT @ 100.25 (C1).
    let r = mk.enter(OuchSide::Sell, 100, MSFT, 1_002_500, OuchTif::Day);
    let sell_msft = recv_accepted(&mut mk, r);
    // 2: buy 50 AAPL @ 99.00 (C2), replaced by 3: 60 @ 99.10 (R3).
    let r = mk.enter(OuchSide::Buy, 50, AAPL, 990_000, OuchTif::Day);
    let buy_aapl = recv_accepted(&mut mk, r);
    mk.send(&replace_msg(2, 3, 60, 991_000, "R3"));
    mk.next_ref = 4;
    let m = mk.recv_msg();
    assert!(
        matches!(out(&m), Outbound::Accepted(a) if a.orig_user_ref_num == Some(UserRefNum(2))
            && a.user_ref_num == UserRefNum(3) && a.order_reference_number == buy_aapl),
        "{:?}",
        out(&m)
    );
    // 4: sell 40 AAPL @ 120.00 (C4), 10 of it taken by OUCH01.
    let r = mk.enter(OuchSide::Sell, 40, AAPL, 1_200_000, OuchTif::Day);
    let sell_aapl = recv_accepted(&mut mk, r);
    let r = tk.enter(OuchSide::Buy, 10, AAPL, 1_200_000, OuchTif::Ioc);
    recv_accepted(&mut tk, r);
    assert!(matches!(out(&tk.recv_msg()), Outbound::Executed(e) if e.quantity == 10));
    let m = mk.recv_msg();
    assert!(
        matches!(out(&m), Outbound::Executed(e) if e.user_ref_num == UserRefNum(4) && e.quantity == 10),
        "{:?}",
        out(&m)
    );
    // 9: refused before it is registered (unknown symbol): the number is not consumed.
    mk.send(&Inbound::Enter(enter_order(
        UserRefNum(9),
        OuchSide::Buy,
        1,
        b"NOPE",
        990_000,
        OuchTif::Day,
        b"C9",
    )));
    assert!(
        matches!(out(&mk.recv_msg()), Outbound::Rejected(j) if j.user_ref_num == UserRefNum(9))
    );

    // FIX CLIENT2 (account 4, orders survive a disconnect).
    let mut fx = FixClient::logged_on(srv.fix_addr(), "CLIENT2", None);
    fx.new_order("F1", b'2', 30, "MSFT", "101.00", b'0');
    let er = fx.recv_app();
    assert_eq!(
        (er.f(150), er.f(11)),
        ("0".into(), "F1".into()),
        "{}",
        er.show()
    );
    let fix_sell_msft = er.f(37);
    fx.new_order("F2", b'1', 20, "AAPL", "98.00", b'0');
    let er = fx.recv_app();
    assert_eq!(er.f(150), "0", "{}", er.show());
    let fix_buy_aapl = er.f(37);
    fx.replace("F3", "F2", b'1', 25, "AAPL", "98.50");
    let er = fx.recv_app();
    assert_eq!(
        (er.f(150), er.f(11), er.f(41)),
        ("5".into(), "F3".into(), "F2".into())
    );
    drop((mk, tk, fx));
    srv.stop().unwrap();
    Run1 {
        sell_msft,
        buy_aapl,
        sell_aapl,
        fix_sell_msft,
        fix_buy_aapl,
    }
}

fn run2(dir: &Path, durability: Durability, r1: &Run1) {
    let srv = Server::start(journaled(dir, durability), engine()).expect("second server starts");
    let refs = srv.refs_recovered().expect("journal on").clone();
    assert_eq!(refs.kept, 5, "{refs:?}");
    assert_eq!(refs.cut_bytes, 0, "{refs:?}");
    let mut mk = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    let mut tk = OuchClient::logged_in(srv.ouch_addr(), "OUCH01", "secret01");

    // A UserRefNum not above the account's last one (4, from run 1) is refused.
    mk.send(&Inbound::Enter(enter_order(
        UserRefNum(4),
        OuchSide::Buy,
        5,
        AAPL,
        980_000,
        OuchTif::Day,
        b"LOW",
    )));
    match out(&mk.recv_msg()) {
        Outbound::Rejected(j) => {
            assert_eq!(j.user_ref_num, UserRefNum(4));
            assert_eq!(j.reason, OuchRejectCode::OTHER);
            assert_eq!(j.cl_ord_id, ClOrdId::new(b"LOW").unwrap());
        }
        other => panic!("expected Order Rejected, got {other:?}"),
    }

    // Cancel order 1 by its old UserRefNum.
    mk.send(&cancel_msg(1));
    match out(&mk.recv_msg()) {
        Outbound::Canceled(x) => {
            assert_eq!(x.user_ref_num, UserRefNum(1));
            assert_eq!(x.quantity, 100);
            assert_eq!(x.reason, OuchCancelReason::UserRequested);
            assert!(x.timestamp > 0);
        }
        other => panic!("expected Order Canceled, got {other:?}"),
    }
    // The replaced-away reference 2 is dead; 3 names the order.
    mk.send(&cancel_msg(2));
    assert!(
        matches!(out(&mk.recv_msg()), Outbound::CancelReject(x) if x.user_ref_num == UserRefNum(2))
    );
    mk.send(&replace_msg(3, 10, 70, 980_000, "R10"));
    match out(&mk.recv_msg()) {
        Outbound::Accepted(a) => {
            assert_eq!(a.orig_user_ref_num, Some(UserRefNum(3)));
            assert_eq!(a.user_ref_num, UserRefNum(10));
            assert_eq!(a.side, OuchSide::Buy);
            assert_eq!(a.quantity, 70);
            assert_eq!(a.symbol, Symbol::new(AAPL).unwrap());
            assert_eq!(a.price, OuchPrice(980_000));
            assert_eq!(a.time_in_force, OuchTif::Day);
            assert_eq!(a.display, Display::Visible);
            assert_eq!(a.order_reference_number, r1.buy_aapl);
            assert_eq!(a.capacity, Capacity::Agency);
            assert!(!a.intermarket_sweep);
            assert_eq!(a.cross_type, CrossType::Continuous);
            assert_eq!(a.order_state, OrderState::Live);
            assert_eq!(a.cl_ord_id, ClOrdId::new(b"R10").unwrap());
        }
        other => panic!("expected Order Replaced, got {other:?}"),
    }
    // Order 4 (30 left of 40) is executed against: reported to OUCH02 under UserRefNum 4.
    tk.next_ref = 100;
    let r = tk.enter(OuchSide::Buy, 30, AAPL, 1_200_000, OuchTif::Ioc);
    recv_accepted(&mut tk, r);
    let taker = match out(&tk.recv_msg()) {
        Outbound::Executed(e) => e.match_number,
        other => panic!("expected Order Executed, got {other:?}"),
    };
    match out(&mk.recv_msg()) {
        Outbound::Executed(e) => {
            assert_eq!(e.user_ref_num, UserRefNum(4));
            assert_eq!(e.quantity, 30);
            assert_eq!(e.price, OuchPrice(1_200_000));
            assert_eq!(e.liquidity_flag, LiquidityFlag::Added);
            assert_eq!(e.match_number, taker);
        }
        other => panic!("expected Order Executed, got {other:?}"),
    }
    // Filled: reference 4 is gone.
    mk.send(&cancel_msg(4));
    assert!(
        matches!(out(&mk.recv_msg()), Outbound::CancelReject(x) if x.user_ref_num == UserRefNum(4))
    );

    // FIX: cancel F1 by OrigClOrdID, replace F3, then an execution against the replacement.
    let mut fx = FixClient::logged_on(srv.fix_addr(), "CLIENT2", None);
    fx.cancel("F4", "F1", b'2', "MSFT");
    let er = fx.recv_app();
    assert_eq!(er.msg_type(), "8", "{}", er.show());
    assert_eq!(er.f(150), "4");
    assert_eq!(er.f(39), "4");
    assert_eq!(er.f(11), "F4");
    assert_eq!(er.f(41), "F1");
    assert_eq!(er.f(37), r1.fix_sell_msft);
    assert_eq!(er.f(55), "MSFT");
    assert_eq!(er.f(54), "2");
    assert_eq!(er.f(151), "0");
    assert_eq!(er.f(14), "0");
    fx.replace("F5", "F3", b'1', 40, "AAPL", "98.75");
    let er = fx.recv_app();
    assert_eq!(er.msg_type(), "8", "{}", er.show());
    assert_eq!(er.f(150), "5");
    assert_eq!(er.f(39), "0");
    assert_eq!(er.f(11), "F5");
    assert_eq!(er.f(41), "F3");
    assert_eq!(er.f(37), r1.fix_buy_aapl);
    assert_eq!(er.f(38), "40");
    assert_eq!(er.f(44), "98.75");
    assert_eq!(er.f(151), "40");
    assert_eq!(er.f(55), "AAPL");
    assert_eq!(er.f(54), "1");
    // OUCH01 sells 15 into it.
    let r = tk.enter(OuchSide::Sell, 15, AAPL, 987_500, OuchTif::Ioc);
    recv_accepted(&mut tk, r);
    assert!(matches!(out(&tk.recv_msg()), Outbound::Executed(e) if e.quantity == 15));
    let er = fx.recv_app();
    assert_eq!(er.msg_type(), "8", "{}", er.show());
    assert_eq!(er.f(150), "F");
    assert_eq!(er.f(39), "1");
    assert_eq!(er.f(11), "F5");
    assert_eq!(er.f(37), r1.fix_buy_aapl);
    assert_eq!(er.f(32), "15");
    assert_eq!(er.f(31), "98.75");
    assert_eq!(er.f(14), "15");
    assert_eq!(er.f(151), "25");
    // The old ClOrdID F1 names nothing any more.
    fx.cancel("F6", "F1", b'2', "MSFT");
    let rj = fx.recv_app();
    assert_eq!(rj.msg_type(), "9", "{}", rj.show());
    assert_eq!((rj.f(41), rj.f(102)), ("F1".into(), "1".into()));
    drop((mk, tk, fx));
    let rep = srv.stop().unwrap();
    let aapl = rep.engine.book(ferrex_types::InstrumentId(0)).unwrap();
    assert!(
        aapl.order(ferrex_types::OrderId(r1.sell_aapl)).is_none(),
        "filled"
    );
    assert!(
        rep.engine
            .book(ferrex_types::InstrumentId(1))
            .unwrap()
            .order(ferrex_types::OrderId(r1.sell_msft))
            .is_none(),
        "cancelled"
    );
}

#[test]
fn client_references_survive_a_restart_sync() {
    let dir = TempDir::new("sync");
    let r1 = run1(dir.path(), Durability::Sync);
    run2(dir.path(), Durability::Sync, &r1);
    // A third start: the compacted log restores the same high-water mark (10 now) and the
    // orders still live (the replaced buy 10 and the FIX buy F5).
    let srv = Server::start(journaled(dir.path(), Durability::Sync), engine()).unwrap();
    assert_eq!(srv.refs_recovered().unwrap().kept, 2);
    let mut mk = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    mk.send(&cancel_msg(10));
    assert!(
        matches!(out(&mk.recv_msg()), Outbound::Canceled(x) if x.user_ref_num == UserRefNum(10) && x.quantity == 70)
    );
    mk.send(&Inbound::Enter(enter_order(
        UserRefNum(10),
        OuchSide::Buy,
        5,
        AAPL,
        980_000,
        OuchTif::Day,
        b"X",
    )));
    assert!(
        matches!(out(&mk.recv_msg()), Outbound::Rejected(j) if j.user_ref_num == UserRefNum(10))
    );
    drop(mk);
    srv.stop().unwrap();
}

#[test]
fn client_references_survive_a_restart_batch() {
    let dir = TempDir::new("batch");
    let r1 = run1(dir.path(), Durability::Batch);
    run2(dir.path(), Durability::Batch, &r1);
}

#[test]
fn a_torn_reference_log_tail_is_cut() {
    let dir = TempDir::new("torn");
    let r1 = run1(dir.path(), Durability::Sync);
    let log = dir.path().join("gateway-refs.log");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(&[200, 0, 0, 0, b'E', 1, 2, 3]);
    std::fs::write(&log, &bytes).unwrap();
    let srv = Server::start(journaled(dir.path(), Durability::Sync), engine()).unwrap();
    let refs = srv.refs_recovered().unwrap().clone();
    assert_eq!(refs.cut_bytes, 8, "{refs:?}");
    drop(srv);
    run2(dir.path(), Durability::Sync, &r1);
}
