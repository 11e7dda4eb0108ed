//! Hand-computed scenarios: each rule of `docs/semantics.md` at least once. Every scenario runs
//! on the reference book (`reference_book::*`: if it is right here, the differential test holds
//! `Book` to the right thing) and on the optimized `Book` (`optimized_book::*`).

#[path = "support/matcher.rs"]
mod matcher;
#[path = "support/reference.rs"]
mod reference;
#[path = "support/script.rs"]
mod script;

use ferrex_book::BookConfig;
use ferrex_types::{
    AccountId, CancelReason::*, EventKind, NewOrder, OrderId, Price, Qty, RejectReason::*, StpMode,
    TimeInForce,
};
use matcher::Matcher;
use reference::{RefLevel, ReferenceBook};
use script::*;

fn book<M: Matcher>() -> M {
    M::create(INST, small_cfg())
}

fn book_with<M: Matcher>(cfg: BookConfig) -> M {
    M::create(INST, cfg)
}

/// Enter `o` at time 0 and return its events.
fn new<M: Matcher>(b: &mut M, o: NewOrder) -> Vec<EventKind> {
    new_at(b, o, 0)
}

fn new_at<M: Matcher>(b: &mut M, o: NewOrder, now: u64) -> Vec<EventKind> {
    let mut v = Vec::new();
    b.expire(now, &mut v);
    assert!(v.is_empty(), "unexpected expiry: {v:?}");
    b.new_order(&o, now, &mut v);
    v
}

/// Enter a resting order and check it just rests.
fn rest<M: Matcher>(b: &mut M, o: NewOrder) {
    let ev = new(b, o);
    assert!(matches!(ev[0], EventKind::Accepted { .. }), "{ev:?}");
    assert!(
        ev[1..]
            .iter()
            .all(|e| matches!(e, EventKind::LevelChanged { .. })),
        "order {:?} did not just rest: {ev:?}",
        o.order_id
    );
}

fn lv(price: i64, qty: u64, orders: u32) -> RefLevel {
    RefLevel {
        price: Price(price),
        qty: Qty(qty),
        orders,
    }
}

fn price_then_time_priority<M: Matcher>() {
    let mut b: M = book();
    assert_eq!(
        new(&mut b, limit(1, 1, S, 101, 1)),
        [accepted(1, 1, S, 101, 1), level(S, 101, 1, 1)]
    );
    assert_eq!(
        new(&mut b, limit(2, 2, S, 100, 2)),
        [accepted(2, 2, S, 100, 2), level(S, 100, 2, 1)]
    );
    assert_eq!(
        new(&mut b, limit(3, 3, S, 100, 3)),
        [accepted(3, 3, S, 100, 3), level(S, 100, 5, 2)]
    );
    assert!(b.is_head_of_level(OrderId(2)));
    assert!(!b.is_head_of_level(OrderId(3)));
    assert_eq!(
        new(&mut b, limit(4, 4, B, 101, 4)),
        [
            accepted(4, 4, B, 101, 4),
            trade(100, 2, (2, 2, 0), (4, 4, 2), B),
            level(S, 100, 3, 1),
            trade(100, 2, (3, 3, 1), (4, 4, 0), B),
            level(S, 100, 1, 1),
        ]
    );
    assert_eq!(b.best_ask(), Some(Price(100)));
    assert_eq!(b.best_bid(), None);
    assert_eq!(b.depth(S), [lv(100, 1, 1), lv(101, 1, 1)]);
    assert_eq!(b.live_orders(), 2);
    assert_eq!(b.last_trade_price(), Some(Price(100)));
}

fn partial_fill_rests_remainder<M: Matcher>() {
    let mut b: M = book();
    rest(&mut b, limit(1, 1, S, 100, 2));
    assert_eq!(
        new(&mut b, limit(2, 2, B, 100, 5)),
        [
            accepted(2, 2, B, 100, 5),
            trade(100, 2, (1, 1, 0), (2, 2, 3), B),
            level(S, 100, 0, 0),
            level(B, 100, 3, 1),
        ]
    );
    assert_eq!(b.depth(B), [lv(100, 3, 1)]);
    assert!(b.depth(S).is_empty());
}

fn sweep_stops_at_the_limit_price<M: Matcher>() {
    let mut b: M = book();
    rest(&mut b, limit(1, 1, S, 100, 2));
    rest(&mut b, limit(2, 1, S, 101, 2));
    rest(&mut b, limit(3, 1, S, 103, 2));
    assert_eq!(
        new(&mut b, limit(4, 9, B, 102, 10)),
        [
            accepted(4, 9, B, 102, 10),
            trade(100, 2, (1, 1, 0), (4, 9, 8), B),
            level(S, 100, 0, 0),
            trade(101, 2, (2, 1, 0), (4, 9, 6), B),
            level(S, 101, 0, 0),
            level(B, 102, 6, 1),
        ]
    );
    assert_eq!(b.best_bid(), Some(Price(102)));
    assert_eq!(b.best_ask(), Some(Price(103)));
    // A sell sweep the other way, limit 101: takes the bid at 102 only.
    rest(&mut b, limit(5, 1, B, 100, 1));
    assert_eq!(
        new(&mut b, tif(limit(6, 2, S, 101, 9), TimeInForce::Ioc)),
        [
            accepted(6, 2, S, 101, 9),
            trade(102, 6, (4, 9, 0), (6, 2, 3), S),
            level(B, 102, 0, 0),
            cancelled(6, 2, Unfilled, 3, S, 101, 0),
        ]
    );
}

fn iceberg_refill_goes_to_the_back<M: Matcher>() {
    let mut b: M = book();
    assert_eq!(
        new(&mut b, iceberg(limit(1, 1, S, 100, 10), 3)),
        [accepted(1, 1, S, 100, 10), level(S, 100, 3, 1)]
    );
    rest(&mut b, limit(2, 2, S, 100, 2));
    assert_eq!(
        new(&mut b, limit(3, 3, B, 100, 4)),
        [
            accepted(3, 3, B, 100, 4),
            trade(100, 3, (1, 1, 7), (3, 3, 1), B),
            level(S, 100, 5, 2),
            trade(100, 1, (2, 2, 1), (3, 3, 0), B),
            level(S, 100, 4, 2),
        ]
    );
    assert!(b.is_head_of_level(OrderId(2)));
    let o = b.order(OrderId(1)).unwrap();
    assert_eq!((o.leaves, o.visible), (Qty(7), Qty(3)));
    // Last refill shows only what is left.
    let ev = new(&mut b, limit(4, 3, B, 100, 7));
    assert_eq!(
        ev,
        [
            accepted(4, 3, B, 100, 7),
            trade(100, 1, (2, 2, 0), (4, 3, 6), B),
            level(S, 100, 3, 1),
            trade(100, 3, (1, 1, 4), (4, 3, 3), B),
            level(S, 100, 3, 1),
            trade(100, 3, (1, 1, 1), (4, 3, 0), B),
            level(S, 100, 1, 1),
        ]
    );
    // An iceberg that rests after a partial fill shows min(display, leaves).
    assert_eq!(
        new(&mut b, iceberg(limit(5, 4, B, 100, 6), 4)),
        [
            accepted(5, 4, B, 100, 6),
            trade(100, 1, (1, 1, 0), (5, 4, 5), B),
            level(S, 100, 0, 0),
            level(B, 100, 4, 1),
        ]
    );
}

fn fill_or_kill<M: Matcher>() {
    let mut b: M = book();
    rest(&mut b, limit(1, 1, S, 100, 2));
    rest(&mut b, limit(2, 2, S, 101, 3));
    assert_eq!(
        new(&mut b, tif(limit(3, 3, B, 101, 6), TimeInForce::Fok)),
        [rejected(3, 3, FokNotFillable, 6, 5)]
    );
    assert_eq!(
        new(&mut b, tif(limit(4, 3, B, 100, 5), TimeInForce::Fok)),
        [rejected(4, 3, FokNotFillable, 5, 2)]
    );
    assert_eq!(
        new(&mut b, tif(limit(5, 3, B, 101, 4), TimeInForce::Fok)),
        [
            accepted(5, 3, B, 101, 4),
            trade(100, 2, (1, 1, 0), (5, 3, 2), B),
            level(S, 100, 0, 0),
            trade(101, 2, (2, 2, 1), (5, 3, 0), B),
            level(S, 101, 1, 1),
        ]
    );
    // Self-matching order stops the walk (any mode but CancelResting) ...
    rest(&mut b, limit(6, 5, S, 101, 5));
    let fok = |id, mode| stp(tif(limit(id, 5, B, 101, 2), TimeInForce::Fok), mode, 0);
    assert_eq!(
        new(&mut b, fok(7, StpMode::CancelAggressor)),
        [rejected(7, 5, FokNotFillable, 2, 1)]
    );
    // ... CancelResting skips it (neither counted nor cancelled) ...
    assert_eq!(
        new(&mut b, fok(8, StpMode::CancelResting)),
        [rejected(8, 5, FokNotFillable, 2, 1)]
    );
    // ... and with STP None it counts.
    assert_eq!(
        new(&mut b, fok(9, StpMode::None)),
        [
            accepted(9, 5, B, 101, 2),
            trade(101, 1, (2, 2, 0), (9, 5, 1), B),
            level(S, 101, 5, 1),
            trade(101, 1, (6, 5, 4), (9, 5, 0), B),
            level(S, 101, 4, 1),
        ]
    );
}

fn post_only<M: Matcher>() {
    let mut b: M = book();
    rest(&mut b, limit(1, 1, S, 100, 1));
    let po = |id, acct, side, price| tif(limit(id, acct, side, price, 1), TimeInForce::PostOnly);
    assert_eq!(
        new(&mut b, po(2, 2, B, 100)),
        [rejected(2, 2, PostOnlyWouldTake, 100, 100)]
    );
    assert_eq!(
        new(&mut b, po(3, 2, B, 101)),
        [rejected(3, 2, PostOnlyWouldTake, 100, 101)]
    );
    assert_eq!(
        new(&mut b, po(4, 2, B, 99)),
        [accepted(4, 2, B, 99, 1), level(B, 99, 1, 1)]
    );
    // STP is not considered: the same account is still rejected.
    assert_eq!(
        new(&mut b, po(5, 2, S, 99)),
        [rejected(5, 2, PostOnlyWouldTake, 99, 99)]
    );
    let mkt = tif(market(6, 3, B, 1), TimeInForce::PostOnly);
    let ev = new(&mut b, mkt);
    assert!(
        matches!(
            ev[..],
            [EventKind::Rejected {
                reason: PostOnlyWouldTake,
                limit: 100,
                ..
            }]
        ),
        "{ev:?}"
    );
    assert_eq!(b.live_orders(), 2);
}

fn market_protection_and_no_liquidity<M: Matcher>() {
    let mut b: M = book();
    assert_eq!(
        new(&mut b, market(1, 1, B, 1)),
        [rejected(1, 1, NoLiquidity, 0, 0)]
    );
    rest(&mut b, limit(2, 2, S, 100, 2));
    rest(&mut b, limit(3, 2, S, 104, 2));
    rest(&mut b, limit(4, 2, S, 106, 2));
    // Protection 5 ticks: limit 105.
    assert_eq!(
        new(&mut b, market(5, 1, B, 10)),
        [
            accepted(5, 1, B, 0, 10),
            trade(100, 2, (2, 2, 0), (5, 1, 8), B),
            level(S, 100, 0, 0),
            trade(104, 2, (3, 2, 0), (5, 1, 6), B),
            level(S, 104, 0, 0),
            cancelled(5, 1, MarketProtection, 6, B, 0, 0),
        ]
    );
    // Opposite side emptied: the rest is Unfilled.
    assert_eq!(
        new(&mut b, market(6, 1, B, 5)),
        [
            accepted(6, 1, B, 0, 5),
            trade(106, 2, (4, 2, 0), (6, 1, 3), B),
            level(S, 106, 0, 0),
            cancelled(6, 1, Unfilled, 3, B, 0, 0),
        ]
    );
    // The protection limit is clamped into [min_price, max_price].
    rest(&mut b, limit(7, 2, B, 3, 1));
    rest(&mut b, limit(8, 2, B, 1, 1));
    assert_eq!(
        new(&mut b, market(9, 1, S, 3)),
        [
            accepted(9, 1, S, 0, 3),
            trade(3, 1, (7, 2, 0), (9, 1, 2), S),
            level(B, 3, 0, 0),
            trade(1, 1, (8, 2, 0), (9, 1, 1), S),
            level(B, 1, 0, 0),
            cancelled(9, 1, Unfilled, 1, S, 0, 0),
        ]
    );
}

/// Account 1 rests 5 @100 (id 1), account 2 rests 3 @100 behind it (id 2); account 1 buys.
fn stp_book<M: Matcher>() -> M {
    let mut b: M = book();
    rest(&mut b, limit(1, 1, S, 100, 5));
    rest(&mut b, limit(2, 2, S, 100, 3));
    b
}

fn stp_cancel_resting<M: Matcher>() {
    let mut b: M = stp_book();
    assert_eq!(
        new(
            &mut b,
            stp(limit(3, 1, B, 100, 4), StpMode::CancelResting, 0)
        ),
        [
            accepted(3, 1, B, 100, 4),
            cancelled(1, 1, SelfTrade, 5, S, 100, 0),
            level(S, 100, 3, 1),
            trade(100, 3, (2, 2, 0), (3, 1, 1), B),
            level(S, 100, 0, 0),
            level(B, 100, 1, 1),
        ]
    );
}

fn stp_cancel_aggressor<M: Matcher>() {
    let mut b: M = stp_book();
    assert_eq!(
        new(
            &mut b,
            stp(limit(3, 1, B, 100, 4), StpMode::CancelAggressor, 0)
        ),
        [
            accepted(3, 1, B, 100, 4),
            cancelled(3, 1, SelfTrade, 4, B, 100, 0)
        ]
    );
    assert_eq!(b.depth(S), [lv(100, 8, 2)]);
}

fn stp_cancel_both<M: Matcher>() {
    let mut b: M = stp_book();
    assert_eq!(
        new(&mut b, stp(limit(3, 1, B, 100, 4), StpMode::CancelBoth, 0)),
        [
            accepted(3, 1, B, 100, 4),
            cancelled(1, 1, SelfTrade, 5, S, 100, 0),
            level(S, 100, 3, 1),
            cancelled(3, 1, SelfTrade, 4, B, 100, 0),
        ]
    );
}

fn stp_decrement_and_cancel<M: Matcher>() {
    let mut b: M = stp_book();
    assert_eq!(
        new(
            &mut b,
            stp(limit(3, 1, B, 100, 4), StpMode::DecrementAndCancel, 0)
        ),
        [
            accepted(3, 1, B, 100, 4),
            cancelled(1, 1, SelfTrade, 4, S, 100, 1),
            level(S, 100, 4, 2),
            cancelled(3, 1, SelfTrade, 4, B, 100, 0),
        ]
    );
    assert_eq!(b.order(OrderId(1)).unwrap().leaves, Qty(1));
    // Taker bigger than the head: head gone, taker goes on and trades.
    assert_eq!(
        new(
            &mut b,
            stp(limit(4, 1, B, 100, 3), StpMode::DecrementAndCancel, 0)
        ),
        [
            accepted(4, 1, B, 100, 3),
            cancelled(1, 1, SelfTrade, 1, S, 100, 0),
            level(S, 100, 3, 1),
            cancelled(4, 1, SelfTrade, 1, B, 100, 2),
            trade(100, 2, (2, 2, 1), (4, 1, 0), B),
            level(S, 100, 1, 1),
        ]
    );
    // An iceberg head loses hidden lots first.
    let mut b: M = book();
    rest(&mut b, iceberg(limit(1, 1, S, 100, 10), 4));
    assert_eq!(
        new(
            &mut b,
            stp(limit(2, 1, B, 100, 7), StpMode::DecrementAndCancel, 0)
        ),
        [
            accepted(2, 1, B, 100, 7),
            cancelled(1, 1, SelfTrade, 7, S, 100, 3),
            level(S, 100, 3, 1),
            cancelled(2, 1, SelfTrade, 7, B, 100, 0),
        ]
    );
}

fn stp_none_trades_and_groups<M: Matcher>() {
    let mut b: M = stp_book();
    assert_eq!(
        new(&mut b, stp(limit(3, 1, B, 100, 4), StpMode::None, 0)),
        [
            accepted(3, 1, B, 100, 4),
            trade(100, 4, (1, 1, 1), (3, 1, 0), B),
            level(S, 100, 4, 2)
        ]
    );
    // Groups: account 2 in group 9 self-matches account 4 in group 9.
    let mut b: M = book();
    rest(
        &mut b,
        stp(limit(1, 2, S, 100, 5), StpMode::CancelResting, 9),
    );
    assert_eq!(
        new(
            &mut b,
            stp(limit(2, 4, B, 100, 1), StpMode::CancelAggressor, 9)
        ),
        [
            accepted(2, 4, B, 100, 1),
            cancelled(2, 4, SelfTrade, 1, B, 100, 0)
        ]
    );
    // Order 1 (account 2, group 9) and account 2 with group 0 (= group 2) do not self-match.
    assert_eq!(
        new(
            &mut b,
            stp(limit(3, 2, B, 100, 1), StpMode::CancelAggressor, 0)
        ),
        [
            accepted(3, 2, B, 100, 1),
            trade(100, 1, (1, 2, 4), (3, 2, 0), B),
            level(S, 100, 4, 1)
        ]
    );
}

fn stops_trigger_in_entry_order_and_cascade<M: Matcher>() {
    let mut b: M = book();
    rest(&mut b, limit(1, 1, S, 100, 1));
    rest(&mut b, limit(2, 1, S, 101, 1));
    rest(&mut b, limit(3, 1, S, 102, 1));
    rest(&mut b, limit(4, 1, S, 105, 1));
    assert_eq!(
        new(&mut b, stop_limit(10, 2, B, 100, 99, 1)),
        [accepted(10, 2, B, 99, 1)]
    );
    assert_eq!(
        new(&mut b, stop(11, 3, B, 99, 1)),
        [accepted(11, 3, B, 0, 1)]
    );
    assert_eq!(
        new(&mut b, stop(12, 4, B, 101, 1)),
        [accepted(12, 4, B, 0, 1)]
    );
    assert_eq!(b.live_orders(), 7);
    assert!(b.order(OrderId(10)).unwrap().is_stop);
    assert_eq!(b.depth(B), []);
    assert_eq!(
        new(&mut b, limit(20, 5, B, 100, 1)),
        [
            accepted(20, 5, B, 100, 1),
            trade(100, 1, (1, 1, 0), (20, 5, 0), B),
            level(S, 100, 0, 0),
            // L = 100 triggers 10 (stop 100) and 11 (stop 99), in entry order.
            triggered(10, 2, 100, 100),
            level(B, 99, 1, 1),
            triggered(11, 3, 99, 100),
            trade(101, 1, (2, 1, 0), (11, 3, 0), B),
            level(S, 101, 0, 0),
            // L = 101 now triggers 12.
            triggered(12, 4, 101, 101),
            trade(102, 1, (3, 1, 0), (12, 4, 0), B),
            level(S, 102, 0, 0),
        ]
    );
    assert_eq!(b.last_trade_price(), Some(Price(102)));
    assert!(!b.order(OrderId(10)).unwrap().is_stop);
    // Stop price must be through the last trade.
    assert_eq!(
        new(&mut b, stop(13, 2, B, 102, 1)),
        [rejected(13, 2, InvalidStopPrice, 102, 102)]
    );
    assert_eq!(
        new(&mut b, stop(14, 2, S, 102, 1)),
        [rejected(14, 2, InvalidStopPrice, 102, 102)]
    );
    assert_eq!(
        new(&mut b, stop(15, 2, S, 101, 1)),
        [accepted(15, 2, S, 0, 1)]
    );
    // A triggered sell stop into the bid; the triggered stop into an empty side is Unfilled.
    assert_eq!(
        new(&mut b, stop(16, 3, S, 100, 2)),
        [accepted(16, 3, S, 0, 2)]
    );
    assert_eq!(
        new(&mut b, tif(limit(21, 6, S, 99, 1), TimeInForce::Ioc)),
        [
            accepted(21, 6, S, 99, 1),
            trade(99, 1, (10, 2, 0), (21, 6, 0), S),
            level(B, 99, 0, 0),
            triggered(15, 2, 101, 99),
            cancelled(15, 2, Unfilled, 1, S, 0, 0),
            triggered(16, 3, 100, 99),
            cancelled(16, 3, Unfilled, 2, S, 0, 0),
        ]
    );
    assert_eq!(b.live_orders(), 1);
}

fn gtd_expiry_in_time_then_entry_order<M: Matcher>() {
    let mut b: M = book();
    assert_eq!(
        new_at(&mut b, gtd(limit(9, 1, S, 100, 1), 10), 10),
        [rejected(9, 1, InvalidExpireTime, 10, 10)]
    );
    rest(&mut b, gtd(limit(1, 1, S, 100, 1), 50));
    rest(&mut b, gtd(limit(2, 1, S, 101, 2), 40));
    rest(&mut b, gtd(limit(3, 1, S, 102, 3), 50));
    assert_eq!(
        new(&mut b, gtd(stop(4, 1, S, 90, 1), 45)),
        [accepted(4, 1, S, 0, 1)]
    );
    assert_eq!(b.next_expiry(), Some(40));
    let mut v = Vec::new();
    b.expire(39, &mut v);
    assert!(v.is_empty());
    b.expire(50, &mut v);
    assert_eq!(
        v,
        [
            expired(2, 1, 2, S, 101),
            level(S, 101, 0, 0),
            expired(4, 1, 1, S, 0),
            expired(1, 1, 1, S, 100),
            level(S, 100, 0, 0),
            expired(3, 1, 3, S, 102),
            level(S, 102, 0, 0),
        ]
    );
    assert_eq!(b.live_orders(), 0);
    assert_eq!(b.next_expiry(), None);
}

fn modify_keeps_or_loses_priority<M: Matcher>() {
    let mut b: M = book();
    rest(&mut b, limit(1, 1, S, 100, 5));
    rest(&mut b, limit(2, 2, S, 100, 5));
    let m = |b: &mut M, md| {
        let mut v = Vec::new();
        b.modify(&md, 0, &mut v);
        v
    };
    assert_eq!(
        m(&mut b, modify(1, 1, 100, 3)),
        [replaced(1, 1, 100, 3, true), level(S, 100, 8, 2)]
    );
    assert!(b.is_head_of_level(OrderId(1)));
    assert_eq!(
        m(&mut b, modify(1, 1, 100, 3)),
        [replaced(1, 1, 100, 3, true)]
    );
    assert_eq!(
        m(&mut b, modify(1, 1, 100, 4)),
        [
            replaced(1, 1, 100, 4, false),
            level(S, 100, 5, 1),
            level(S, 100, 9, 2)
        ]
    );
    assert!(b.is_head_of_level(OrderId(2)));
    assert_eq!(
        m(&mut b, modify(2, 2, 101, 5)),
        [
            replaced(2, 2, 101, 5, false),
            level(S, 100, 4, 1),
            level(S, 101, 5, 1)
        ]
    );
    assert_eq!(
        m(&mut b, modify(1, 2, 100, 1)),
        [rejected(1, 2, NotOwner, 1, 2)]
    );
    assert_eq!(
        m(&mut b, modify(99, 1, 100, 1)),
        [rejected(99, 1, UnknownOrder, 0, 99)]
    );
    assert_eq!(
        m(&mut b, modify(1, 1, 100, 0)),
        [rejected(1, 1, InvalidQty, 0, 0)]
    );
    assert_eq!(
        m(&mut b, modify(1, 1, 1001, 1)),
        [rejected(1, 1, InvalidPrice, 1000, 1001)]
    );
    // A modify that crosses trades as a taker, the rest rests at the back of the new level.
    rest(&mut b, limit(3, 3, B, 99, 2));
    assert_eq!(
        m(&mut b, modify(3, 3, 100, 6)),
        [
            replaced(3, 3, 100, 6, false),
            level(B, 99, 0, 0),
            trade(100, 4, (1, 1, 0), (3, 3, 2), B),
            level(S, 100, 0, 0),
            level(B, 100, 2, 1),
        ]
    );
    // Iceberg reduce in place: hidden first, then visible.
    rest(&mut b, iceberg(limit(5, 1, S, 110, 10), 2));
    assert_eq!(
        m(&mut b, modify(5, 1, 110, 3)),
        [replaced(5, 1, 110, 3, true)]
    );
    assert_eq!(
        m(&mut b, modify(5, 1, 110, 1)),
        [replaced(5, 1, 110, 1, true), level(S, 110, 1, 1)]
    );
    // Iceberg losing priority shows min(display, qty).
    assert_eq!(
        m(&mut b, modify(5, 1, 111, 9)),
        [
            replaced(5, 1, 111, 9, false),
            level(S, 110, 0, 0),
            level(S, 111, 2, 1)
        ]
    );
    // PostOnly that would cross is rejected, the order untouched.
    rest(&mut b, tif(limit(6, 4, B, 90, 1), TimeInForce::PostOnly));
    assert_eq!(
        m(&mut b, modify(6, 4, 101, 1)),
        [rejected(6, 4, PostOnlyWouldTake, 101, 101)]
    );
    assert_eq!(b.order(OrderId(6)).unwrap().price, Price(90));
    // Pending stops cannot be modified.
    assert_eq!(
        new(&mut b, stop(7, 4, B, 200, 1)),
        [accepted(7, 4, B, 0, 1)]
    );
    let ev = m(&mut b, modify(7, 4, 200, 1));
    assert!(
        matches!(
            ev[..],
            [EventKind::Rejected {
                reason: InvalidModify,
                ..
            }]
        ),
        "{ev:?}"
    );
}

fn mass_cancel_in_entry_order<M: Matcher>() {
    let mut b: M = book();
    rest(&mut b, limit(1, 1, S, 100, 1));
    rest(&mut b, limit(2, 2, S, 101, 1));
    rest(&mut b, limit(3, 1, B, 90, 2));
    assert_eq!(
        new(&mut b, stop(4, 1, B, 120, 1)),
        [accepted(4, 1, B, 0, 1)]
    );
    rest(&mut b, limit(5, 1, S, 100, 3));
    let mut v = Vec::new();
    b.mass_cancel(AccountId(1), 0, &mut v);
    assert_eq!(
        v,
        [
            cancelled(1, 1, MassCancel, 1, S, 100, 0),
            level(S, 100, 3, 1),
            cancelled(3, 1, MassCancel, 2, B, 90, 0),
            level(B, 90, 0, 0),
            cancelled(4, 1, MassCancel, 1, B, 0, 0),
            cancelled(5, 1, MassCancel, 3, S, 100, 0),
            level(S, 100, 0, 0),
        ]
    );
    assert_eq!(b.live_orders(), 1);
}

fn duplicate_id_and_reuse_after_gone<M: Matcher>() {
    let mut b: M = book();
    rest(&mut b, limit(1, 1, S, 100, 1));
    assert_eq!(
        new(&mut b, limit(1, 1, S, 101, 1)),
        [rejected(1, 1, DuplicateOrderId, 0, 1)]
    );
    assert_eq!(
        new(&mut b, stop(2, 1, B, 150, 1)),
        [accepted(2, 1, B, 0, 1)]
    );
    assert_eq!(
        new(&mut b, limit(2, 3, B, 50, 1)),
        [rejected(2, 3, DuplicateOrderId, 0, 2)]
    );
    // Checked after GTD expire time, before NoLiquidity.
    assert_eq!(
        new(&mut b, market(2, 3, S, 1)),
        [rejected(2, 3, DuplicateOrderId, 0, 2)]
    );
    let ev = new(&mut b, limit(3, 2, B, 100, 1));
    assert_eq!(ev[1], trade(100, 1, (1, 1, 0), (3, 2, 0), B));
    // Triggered by the trade at 100? No: stop 150.
    assert_eq!(b.live_orders(), 1);
    assert_eq!(
        new(&mut b, limit(1, 1, S, 101, 1)),
        [accepted(1, 1, S, 101, 1), level(S, 101, 1, 1)]
    );
}

fn cancel_of_partly_filled_order_leaves_no_dead_level<M: Matcher>() {
    let mut b: M = book();
    rest(&mut b, limit(1, 1, S, 100, 5));
    rest(&mut b, limit(2, 1, S, 101, 1));
    let ev = new(&mut b, limit(3, 2, B, 100, 2));
    assert_eq!(
        ev[1..],
        [trade(100, 2, (1, 1, 3), (3, 2, 0), B), level(S, 100, 3, 1)]
    );
    let mut v = Vec::new();
    b.cancel(&cancel(1, 2), 0, &mut v);
    assert_eq!(v, [rejected(1, 2, NotOwner, 1, 2)]);
    v.clear();
    b.cancel(&cancel(1, 1), 0, &mut v);
    assert_eq!(
        v,
        [
            cancelled(1, 1, Requested, 3, S, 100, 0),
            level(S, 100, 0, 0)
        ]
    );
    assert_eq!(b.level(S, Price(100)), None);
    assert_eq!(b.best_ask(), Some(Price(101)));
    assert_eq!(b.depth(S), [lv(101, 1, 1)]);
    v.clear();
    b.cancel(&cancel(1, 1), 0, &mut v);
    assert_eq!(v, [rejected(1, 1, UnknownOrder, 0, 1)]);
    assert_eq!(
        new(&mut b, market(4, 2, B, 1)),
        [
            accepted(4, 2, B, 0, 1),
            trade(101, 1, (2, 1, 0), (4, 2, 0), B),
            level(S, 101, 0, 0)
        ]
    );
}

fn validation_order<M: Matcher>() {
    let cfg = BookConfig {
        tick_size: 5,
        lot_size: 10,
        min_price: Price(5),
        ..small_cfg()
    };
    let mut b: M = book_with(cfg);
    let r = |b: &mut M, o| new_at(b, o, 10);
    assert_eq!(
        r(&mut b, limit(1, 1, B, 0, 0)),
        [rejected(1, 1, InvalidQty, 0, 0)]
    );
    assert_eq!(
        r(&mut b, limit(1, 1, B, 0, 15)),
        [rejected(1, 1, LotSize, 10, 15)]
    );
    assert_eq!(
        r(&mut b, iceberg(limit(1, 1, B, 0, 20), 20)),
        [rejected(1, 1, InvalidQty, 20, 20)]
    );
    assert_eq!(
        r(&mut b, iceberg(limit(1, 1, B, 0, 20), 5)),
        [rejected(1, 1, LotSize, 10, 5)]
    );
    assert_eq!(
        r(&mut b, limit(1, 1, B, 0, 20)),
        [rejected(1, 1, InvalidPrice, 5, 0)]
    );
    assert_eq!(
        r(&mut b, limit(1, 1, B, 1005, 20)),
        [rejected(1, 1, InvalidPrice, 1000, 1005)]
    );
    assert_eq!(
        r(&mut b, limit(1, 1, B, 12, 20)),
        [rejected(1, 1, TickSize, 5, 12)]
    );
    assert_eq!(
        r(&mut b, stop(1, 1, B, 1005, 20)),
        [rejected(1, 1, InvalidStopPrice, 1000, 1005)]
    );
    assert_eq!(
        r(&mut b, stop(1, 1, B, 13, 20)),
        [rejected(1, 1, TickSize, 5, 13)]
    );
    assert_eq!(
        r(&mut b, stop_limit(1, 1, B, 13, 12, 20)),
        [rejected(1, 1, TickSize, 5, 12)]
    );
    assert_eq!(
        r(&mut b, gtd(limit(1, 1, B, 10, 20), 5)),
        [rejected(1, 1, InvalidExpireTime, 10, 5)]
    );
    // Market and Stop ignore the price field.
    assert_eq!(r(&mut b, stop(1, 1, B, 15, 20)), [accepted(1, 1, B, 0, 20)]);
    assert_eq!(b.live_orders(), 1);
}

fn book_full_is_checked_before_trading<M: Matcher>() {
    let cfg = BookConfig {
        max_orders: 2,
        ..small_cfg()
    };
    let mut b: M = book_with(cfg);
    rest(&mut b, limit(1, 1, S, 100, 1));
    rest(&mut b, limit(2, 1, S, 101, 1));
    assert_eq!(
        new(&mut b, limit(3, 2, B, 100, 1)),
        [rejected(3, 2, BookFull, 2, 2)]
    );
    assert_eq!(
        new(&mut b, stop(4, 2, B, 200, 1)),
        [rejected(4, 2, BookFull, 2, 2)]
    );
    assert_eq!(
        new(&mut b, tif(limit(5, 2, B, 100, 1), TimeInForce::Ioc)),
        [
            accepted(5, 2, B, 100, 1),
            trade(100, 1, (1, 1, 0), (5, 2, 0), B),
            level(S, 100, 0, 0)
        ]
    );
    assert_eq!(
        new(&mut b, limit(3, 2, B, 99, 1)),
        [accepted(3, 2, B, 99, 1), level(B, 99, 1, 1)]
    );
}

fn replay_helpers<M: Matcher>() {
    let mut b: M = book();
    rest(&mut b, iceberg(limit(1, 1, S, 100, 5), 2));
    rest(&mut b, limit(2, 2, S, 100, 1));
    let mut v = Vec::new();
    assert!(!b.fill_resting(OrderId(1), Qty(3), 0, &mut v));
    assert!(b.fill_resting(OrderId(1), Qty(2), 0, &mut v));
    assert_eq!(
        v,
        [
            EventKind::Trade {
                instrument: INST,
                price: Price(100),
                qty: Qty(2),
                maker_order_id: OrderId(1),
                taker_order_id: OrderId(0),
                maker_leaves: Qty(3),
                taker_leaves: Qty(0),
                maker_account: AccountId(1),
                taker_account: AccountId(0),
                aggressor: B,
            },
            level(S, 100, 3, 2),
        ]
    );
    assert!(b.is_head_of_level(OrderId(2)));
    assert_eq!(b.last_trade_price(), Some(Price(100)));
    v.clear();
    assert!(b.reduce_resting(OrderId(2), Qty(1), &mut v));
    assert_eq!(
        v,
        [
            cancelled(2, 2, Requested, 1, S, 100, 0),
            level(S, 100, 2, 1)
        ]
    );
    assert!(!b.reduce_resting(OrderId(2), Qty(1), &mut Vec::new()));
}

/// Each scenario as a test on both books.
macro_rules! on_both_books {
    ($($name:ident),* $(,)?) => {
        mod reference_book {
            $(#[test] fn $name() { super::$name::<super::ReferenceBook>() })*
        }
        mod optimized_book {
            $(#[test] fn $name() { super::$name::<ferrex_book::Book>() })*
        }
    };
}

on_both_books!(
    price_then_time_priority,
    partial_fill_rests_remainder,
    sweep_stops_at_the_limit_price,
    iceberg_refill_goes_to_the_back,
    fill_or_kill,
    post_only,
    market_protection_and_no_liquidity,
    stp_cancel_resting,
    stp_cancel_aggressor,
    stp_cancel_both,
    stp_decrement_and_cancel,
    stp_none_trades_and_groups,
    stops_trigger_in_entry_order_and_cascade,
    gtd_expiry_in_time_then_entry_order,
    modify_keeps_or_loses_priority,
    mass_cancel_in_entry_order,
    duplicate_id_and_reuse_after_gone,
    cancel_of_partly_filled_order_leaves_no_dead_level,
    validation_order,
    book_full_is_checked_before_trading,
    replay_helpers,
);
