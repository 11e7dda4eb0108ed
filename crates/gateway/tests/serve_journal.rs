//! `ferrex serve` with a journal: orders entered over OUCH in `sync` mode (with runtime
//! snapshots), the server stopped, a second server started on the same directory. The second
//! server recovers (latest snapshot + journal tail) to exactly the state the first one stopped
//! with, the resting orders acknowledged to the client are in its books, and new orders get
//! engine order ids that do not collide with the recovered ones.

mod serve_common;

use ferrex_engine::{Durability, JournalConfig, recover_into};
use ferrex_gateway::ouch::{OuchSide, OuchTif, Outbound};
use ferrex_gateway::server::{Server, ServerConfig};
use ferrex_types::{InstrumentId, OrderId, Qty};
use serve_common::*;
use std::path::{Path, PathBuf};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "ferrex-serve-journal-{tag}-{}-{:?}",
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

fn journaled(dir: &Path) -> ServerConfig {
    ServerConfig {
        journal: Some(JournalConfig::new(dir, Durability::Sync).with_snapshot_every(3)),
        ..config()
    }
}

#[test]
fn a_restarted_server_recovers_the_books_from_the_journal() {
    let dir = TempDir::new("restart");
    // Run 1: OUCH02 (no cancel-on-disconnect) rests three orders, OUCH01 takes part of one.
    let srv = Server::start(journaled(dir.path()), engine()).expect("server starts");
    let first = srv.recovered().expect("journal on");
    assert!(first.is_empty(), "{first:?}");
    let mut maker = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    let mut taker = OuchClient::logged_in(srv.ouch_addr(), "OUCH01", "secret01");
    let r = maker.enter(OuchSide::Sell, 100, MSFT, 1_002_500, OuchTif::Day);
    let sell_msft = recv_accepted(&mut maker, r);
    let r = maker.enter(OuchSide::Buy, 50, AAPL, 990_000, OuchTif::Day);
    let buy_aapl = recv_accepted(&mut maker, r);
    let r = maker.enter(OuchSide::Sell, 30, AAPL, 1_200_000, OuchTif::Day);
    let sell_aapl = recv_accepted(&mut maker, r);
    let r = taker.enter(OuchSide::Buy, 60, MSFT, 1_010_000, OuchTif::Ioc);
    recv_accepted(&mut taker, r);
    let m = taker.recv_msg();
    assert!(
        matches!(out(&m), Outbound::Executed(e) if e.quantity == 60),
        "{:?}",
        out(&m)
    );
    let m = maker.recv_msg();
    assert!(
        matches!(out(&m), Outbound::Executed(e) if e.quantity == 60),
        "{:?}",
        out(&m)
    );
    drop((maker, taker));
    let r1 = srv.stop().unwrap();
    let jr = r1.runtime.journal.as_ref().expect("journal report");
    assert!(jr.error.is_none());
    assert_eq!(jr.durability, Durability::Sync);
    assert_eq!(jr.last_seq, r1.engine.cmd_seq());
    let snaps = r1.runtime.snapshots.clone().expect("snapshots on");
    assert!(snaps.written >= 1, "{snaps:?}");
    let state1 = r1.engine.state_hash();
    let seq1 = r1.engine.cmd_seq();

    // Run 2 on the same directory: recovered from the latest snapshot + the journal tail.
    let srv = Server::start(journaled(dir.path()), engine()).expect("second server starts");
    let rec = srv.recovered().expect("journal on").clone();
    assert!(!rec.is_empty());
    assert_eq!(rec.final_seq, seq1);
    assert_eq!(rec.state_hash, state1, "recovered state differs: {rec:?}");
    assert_eq!(rec.snapshot.as_ref().map(|s| s.1), Some(snaps.last_seq));
    assert_eq!(rec.replayed, seq1 - snaps.last_seq);
    assert!(rec.max_order_id >= sell_aapl.max(sell_msft).max(buy_aapl));
    // A new order continues the order ids and rests next to the recovered ones. Its
    // UserRefNum must be above the ones run 1 used (the rule survives the restart; see
    // serve_refs.rs).
    let mut maker = OuchClient::logged_in(srv.ouch_addr(), "OUCH02", "secret02");
    maker.next_ref = 4;
    let r = maker.enter(OuchSide::Buy, 10, AAPL, 980_000, OuchTif::Day);
    let fresh = recv_accepted(&mut maker, r);
    assert!(fresh > rec.max_order_id, "order id {fresh} reused");
    drop(maker);
    let r2 = srv.stop().unwrap();
    let e2 = &r2.engine;
    let msft = e2.book(InstrumentId(1)).unwrap();
    let aapl = e2.book(InstrumentId(0)).unwrap();
    assert_eq!(
        msft.order(OrderId(sell_msft)).map(|o| o.leaves),
        Some(Qty(40))
    );
    assert_eq!(
        aapl.order(OrderId(buy_aapl)).map(|o| o.leaves),
        Some(Qty(50))
    );
    assert_eq!(
        aapl.order(OrderId(sell_aapl)).map(|o| o.leaves),
        Some(Qty(30))
    );
    assert_eq!(aapl.order(OrderId(fresh)).map(|o| o.leaves), Some(Qty(10)));
    assert_eq!(e2.cmd_seq(), seq1 + 1);

    // The journal now holds both runs: recovering it offline gives the second run's state.
    let mut e = engine();
    let rec = recover_into(&mut e, dir.path()).unwrap();
    assert_eq!(rec.final_seq, seq1 + 1);
    assert_eq!(rec.state_hash, e2.state_hash());
}

#[test]
fn a_server_refuses_an_engine_that_is_not_fresh_with_a_journal() {
    let dir = TempDir::new("notfresh");
    let mut e = engine();
    e.process(
        &ferrex_types::Command::new(
            1,
            ferrex_types::CommandKind::Risk(ferrex_types::RiskControl::Kill {
                account: ferrex_types::AccountId(9),
            }),
        ),
        &mut (),
    );
    assert!(Server::start(journaled(dir.path()), e).is_err());
}
