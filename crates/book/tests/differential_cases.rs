//! Fixed, short command lists run through `Book` and `ReferenceBook` side by side (the same
//! comparison as `differential.rs`). Each one aims at one rule of `docs/semantics.md`, mostly the
//! corners a random stream reaches rarely; minimised disagreements found by `differential.rs` go
//! here too, named after the rule they break.

#[path = "support/harness.rs"]
mod harness;
#[path = "support/reference.rs"]
mod reference;
#[path = "support/script.rs"]
mod script;

use ferrex_book::BookConfig;
use ferrex_types::{AccountId, EventKind, OrderId, Price, Qty, StpMode, TimeInForce};
use harness::{Cmd, Harness, run_cmds};
use script::*;

fn cfg() -> BookConfig {
    BookConfig {
        max_price: Price(100_000),
        ..small_cfg()
    }
}

/// Run the commands (each at its time, GTD expiry first) on both books; panic on the first
/// disagreement.
fn agree(cfg: BookConfig, cmds: &[(u64, Cmd)]) {
    if let Err(m) = run_cmds(cfg, cmds) {
        panic!("Book and ReferenceBook disagree:\n{m}");
    }
}

/// Events of the last command on the reference (for documenting the expected outcome).
fn reference_events(cfg: BookConfig, cmds: &[(u64, Cmd)]) -> Vec<EventKind> {
    let mut h = Harness::new(cfg);
    let (last, init) = cmds.split_last().unwrap();
    for &(t, c) in init {
        let _ = h.run(t, c);
    }
    let mut ev = Vec::new();
    let (t, c) = *last;
    h.refb.expire(t, &mut ev);
    match c {
        Cmd::New(o) => h.refb.new_order(&o, t, &mut ev),
        Cmd::Cancel(c) => h.refb.cancel(&c, t, &mut ev),
        Cmd::Modify(m) => h.refb.modify(&m, t, &mut ev),
        Cmd::Mass(a) => h.refb.mass_cancel(a, t, &mut ev),
        Cmd::Fill(id, q) => {
            h.refb.fill_resting(id, q, t, &mut ev);
        }
        Cmd::Reduce(id, q) => {
            h.refb.reduce_resting(id, q, &mut ev);
        }
    }
    ev
}

fn n(o: ferrex_types::NewOrder) -> (u64, Cmd) {
    (0, Cmd::New(o))
}

/// DecrementAndCancel that only takes hidden lots of an iceberg head: semantics.md lists "after
/// each STP cancel or decrement of a resting order" among the LevelChanged points, so a
/// LevelChanged follows even though the visible quantity did not change.
#[test]
fn stp_decrement_of_hidden_lots_only() {
    let cmds = [
        n(iceberg(limit(1, 1, S, 500, 10), 4)),
        n(stp(limit(2, 1, B, 500, 3), StpMode::DecrementAndCancel, 0)),
    ];
    assert_eq!(
        reference_events(cfg(), &cmds),
        [
            accepted(2, 1, B, 500, 3),
            cancelled(1, 1, ferrex_types::CancelReason::SelfTrade, 3, S, 500, 7),
            level(S, 500, 4, 1),
            cancelled(2, 1, ferrex_types::CancelReason::SelfTrade, 3, B, 500, 0),
        ]
    );
    agree(cfg(), &cmds);
}

/// Stops triggered at one moment are processed as a batch in entry order, each `Triggered`
/// carrying the L that triggered the batch; stops that only the batch's own trades trigger come
/// after the whole batch.
#[test]
fn stop_batch_then_cascade() {
    let cmds = [
        n(limit(1, 1, S, 500, 1)),
        n(limit(2, 1, S, 502, 1)),
        n(limit(3, 1, S, 503, 1)),
        n(limit(4, 1, S, 504, 1)),
        n(stop(10, 2, B, 500, 1)),
        // Entered before 11, triggered only by 10's trade at 502.
        n(stop(12, 3, B, 501, 1)),
        n(stop(11, 4, B, 499, 1)),
        n(limit(20, 5, B, 500, 1)),
    ];
    use ferrex_types::Side::Buy;
    assert_eq!(
        reference_events(cfg(), &cmds),
        [
            accepted(20, 5, B, 500, 1),
            trade(500, 1, (1, 1, 0), (20, 5, 0), Buy),
            level(S, 500, 0, 0),
            triggered(10, 2, 500, 500),
            trade(502, 1, (2, 1, 0), (10, 2, 0), Buy),
            level(S, 502, 0, 0),
            triggered(11, 4, 499, 500),
            trade(503, 1, (3, 1, 0), (11, 4, 0), Buy),
            level(S, 503, 0, 0),
            triggered(12, 3, 501, 503),
            trade(504, 1, (4, 1, 0), (12, 3, 0), Buy),
            level(S, 504, 0, 0),
        ]
    );
    agree(cfg(), &cmds);
}

/// A stop (of any tif) needs a slot while it is pending: BookFull when the book is full, even
/// for an IOC stop (step 11's "not IOC/FOK/Market" exemption is for orders that never rest).
#[test]
fn ioc_stop_into_full_book() {
    let c = BookConfig {
        max_orders: 2,
        ..cfg()
    };
    let cmds = [
        n(limit(1, 1, S, 500, 1)),
        n(limit(2, 1, S, 501, 1)),
        n(tif(stop(3, 2, B, 600, 1), TimeInForce::Ioc)),
    ];
    assert_eq!(
        reference_events(c, &cmds),
        [rejected(3, 2, ferrex_types::RejectReason::BookFull, 2, 2)]
    );
    agree(c, &cmds);
}

/// Steps 8-10 (NoLiquidity, PostOnly, FOK) concern immediate execution; a stop is parked, so they
/// are not applied on entry — they apply (as `Cancelled Unfilled`) when it triggers.
#[test]
fn stop_orders_skip_execution_checks_on_entry() {
    let cmds = [
        n(limit(1, 1, S, 500, 1)),
        n(tif(stop_limit(2, 2, B, 600, 500, 1), TimeInForce::PostOnly)),
        n(tif(stop(3, 2, B, 600, 5), TimeInForce::Fok)),
        n(stop(4, 2, S, 400, 1)),
    ];
    assert_eq!(reference_events(cfg(), &cmds), [accepted(4, 2, S, 0, 1)]);
    agree(cfg(), &cmds);
}

/// Triggered PostOnly stop-limit that would cross, and triggered FOK stop that cannot fill, are
/// `Cancelled Unfilled`.
#[test]
fn triggered_post_only_and_fok_stops_cancel_unfilled() {
    let cmds = [
        n(limit(1, 1, S, 500, 1)),
        n(limit(2, 1, S, 501, 1)),
        n(tif(stop_limit(3, 2, B, 500, 501, 1), TimeInForce::PostOnly)),
        n(tif(stop(4, 3, B, 500, 5), TimeInForce::Fok)),
        n(tif(stop_limit(5, 4, B, 500, 490, 1), TimeInForce::PostOnly)),
        n(limit(9, 5, B, 500, 1)),
    ];
    use ferrex_types::CancelReason::Unfilled;
    assert_eq!(
        reference_events(cfg(), &cmds),
        [
            accepted(9, 5, B, 500, 1),
            trade(500, 1, (1, 1, 0), (9, 5, 0), B),
            level(S, 500, 0, 0),
            triggered(3, 2, 500, 500),
            cancelled(3, 2, Unfilled, 1, B, 501, 0),
            triggered(4, 3, 500, 500),
            cancelled(4, 3, Unfilled, 5, B, 0, 0),
            triggered(5, 4, 500, 500),
            level(B, 490, 1, 1),
        ]
    );
    agree(cfg(), &cmds);
}

/// A triggered GTD stop-limit that rests keeps its expire time.
#[test]
fn triggered_gtd_stop_limit_rests_then_expires() {
    let cmds = [
        n(limit(1, 1, S, 500, 1)),
        n(gtd(stop_limit(2, 2, B, 500, 495, 3), 50)),
        n(limit(3, 3, B, 500, 1)),
        (49, Cmd::Mass(AccountId(4))),
        (50, Cmd::Mass(AccountId(4))),
    ];
    assert_eq!(
        reference_events(cfg(), &cmds),
        [expired(2, 2, 3, B, 495), level(B, 495, 0, 0)]
    );
    agree(cfg(), &cmds);
}

/// The market protection limit is clamped into [min_price, max_price] and a triggered stop
/// measures it from the best price when it enters.
#[test]
fn market_protection_clamped() {
    let c = BookConfig {
        market_protection_ticks: 1_000_000,
        ..cfg()
    };
    let cmds = [
        n(limit(1, 1, B, 3, 1)),
        n(limit(2, 1, B, 1, 1)),
        n(limit(3, 1, S, 99_999, 1)),
        n(market(4, 2, S, 5)),
        n(market(5, 2, B, 5)),
    ];
    agree(c, &cmds);
}

/// Modify rules at the edges: an iceberg modified below its display size, an increase at the
/// same price (back of the queue), a modify of a pending stop (`InvalidModify`), a modify of a
/// triggered stop-limit resting in the book (allowed).
#[test]
fn modify_edges() {
    let cmds = [
        n(iceberg(limit(1, 1, S, 500, 10), 4)),
        n(limit(2, 2, S, 500, 1)),
        (0, Cmd::Modify(modify(1, 1, 500, 2))),
        (0, Cmd::Modify(modify(1, 1, 500, 12))),
        n(stop_limit(3, 3, B, 600, 590, 2)),
        (0, Cmd::Modify(modify(3, 3, 590, 1))),
        n(limit(4, 4, B, 500, 1)),
        n(stop_limit(5, 5, S, 499, 505, 2)),
        n(limit(6, 4, B, 499, 1)),
        n(limit(7, 6, S, 499, 1)),
        (0, Cmd::Modify(modify(5, 5, 505, 1))),
        (0, Cmd::Modify(modify(5, 5, 500, 1))),
    ];
    agree(cfg(), &cmds);
}

/// Ids are reusable as soon as the order is gone, including within the same command stream
/// after a fill, an expiry and a mass cancel.
#[test]
fn id_reuse() {
    let cmds = [
        n(limit(1, 1, S, 500, 1)),
        n(limit(2, 2, B, 500, 1)),
        n(limit(1, 2, B, 499, 1)),
        n(gtd(limit(2, 1, S, 510, 1), 5)),
        (5, Cmd::New(limit(2, 3, S, 511, 1))),
        (5, Cmd::Mass(AccountId(3))),
        (6, Cmd::New(limit(2, 3, S, 512, 1))),
    ];
    agree(cfg(), &cmds);
}

/// Replay helpers: fill the whole visible part of an iceberg (refill to the back), reduce by all
/// leaves (the order goes), fill of a pending stop (refused).
#[test]
fn replay_helpers_edges() {
    let cmds = [
        n(iceberg(limit(1, 1, S, 500, 5), 2)),
        n(limit(2, 2, S, 500, 1)),
        n(stop(3, 3, B, 600, 1)),
        (0, Cmd::Fill(OrderId(1), Qty(2))),
        (0, Cmd::Reduce(OrderId(2), Qty(1))),
        (0, Cmd::Fill(OrderId(3), Qty(1))),
        (0, Cmd::Reduce(OrderId(3), Qty(1))),
        (0, Cmd::Reduce(OrderId(1), Qty(3))),
    ];
    agree(cfg(), &cmds);
}

/// Protection ticks × tick size beyond i64 must not overflow: the limit is clamped.
#[test]
fn huge_market_protection_does_not_overflow() {
    let c = BookConfig {
        market_protection_ticks: i64::MAX,
        tick_size: 5,
        min_price: Price(5),
        ..cfg()
    };
    let cmds = [
        n(limit(1, 1, B, 10, 1)),
        n(limit(2, 1, S, 99_995, 1)),
        n(market(3, 2, S, 2)),
        n(market(4, 2, B, 2)),
        n(limit(5, 1, S, 500, 1)),
        n(stop(6, 2, S, 505, 1)),
        n(limit(7, 1, S, 99_995, 1)),
        n(limit(8, 3, B, 500, 1)),
        n(limit(9, 1, S, 505, 1)),
        n(limit(10, 3, B, 505, 1)),
    ];
    agree(c, &cmds);
}

/// With no configured anchor the dense window centres on the first price seen; an outlier first
/// order puts the busy band into the sparse fallback.
#[test]
fn first_price_is_an_outlier() {
    let c = BookConfig {
        dense_levels: 8,
        sparse_levels: 16,
        ..cfg()
    };
    let mut cmds = vec![n(limit(1, 1, S, 90_000, 1))];
    let mut id = 2;
    for k in 0..6 {
        cmds.push(n(limit(id, 2, S, 500 + k, 2)));
        cmds.push(n(limit(id + 1, 3, B, 490 - k, 2)));
        id += 2;
    }
    cmds.push(n(limit(50, 4, B, 503, 7)));
    cmds.push(n(limit(51, 4, S, 488, 7)));
    cmds.push(n(market(52, 4, B, 20)));
    cmds.push(n(limit(53, 4, B, 90_000, 1)));
    cmds.push(n(limit(54, 4, B, 1, 1)));
    cmds.push(n(market(55, 2, S, 20)));
    agree(c, &cmds);
}

/// Large quantities (well beyond any level's usual size) add up without loss.
#[test]
fn large_quantities() {
    let big = 1u64 << 50;
    let cmds = [
        n(limit(1, 1, S, 500, big)),
        n(limit(2, 2, S, 500, big)),
        n(iceberg(limit(3, 3, S, 500, big), big / 3)),
        n(limit(4, 4, B, 500, big + big / 2)),
        (0, Cmd::Modify(modify(2, 2, 500, 1))),
        n(market(5, 4, B, big)),
    ];
    agree(cfg(), &cmds);
}

/// Extreme field values are rejected (or handled) without a panic, the same way on both books.
#[test]
fn extreme_values() {
    use ferrex_types::{NewOrder, OrdType};
    let c = cfg();
    let cmds = [
        n(limit(1, 1, B, i64::MIN, 1)),
        n(limit(2, 1, B, i64::MAX, 1)),
        n(stop(3, 1, B, i64::MAX, 1)),
        n(stop(4, 1, S, i64::MIN, 1)),
        n(stop_limit(5, 1, S, 500, i64::MIN + 1, 1)),
        n(iceberg(limit(6, 1, S, 500, 5), u64::MAX)),
        (
            u64::MAX - 1,
            Cmd::New(gtd(limit(7, 1, S, 500, 5), u64::MAX)),
        ),
        (
            u64::MAX - 1,
            Cmd::New(NewOrder {
                ord_type: OrdType::Market,
                price: Price(i64::MIN),
                ..limit(8, 2, B, 0, 1)
            }),
        ),
        (u64::MAX - 1, Cmd::Modify(modify(7, 1, i64::MAX, 1))),
        (u64::MAX - 1, Cmd::Modify(modify(7, 1, 500, u64::MAX))),
        (u64::MAX, Cmd::New(limit(u64::MAX, u32::MAX, S, 501, 1))),
        (u64::MAX, Cmd::Cancel(cancel(u64::MAX, u32::MAX))),
    ];
    agree(c, &cmds);
}

/// `fill_resting` moves the last trade price without triggering stops. A stop it moved through
/// triggers after the next command that matches; this reads "after a command's matching" as
/// "after every new order or modify that got to matching (accepted, not a stop)".
#[test]
fn stop_left_behind_by_fill_resting() {
    let base = [
        n(limit(1, 1, S, 505, 5)),
        n(limit(2, 1, B, 495, 5)),
        n(stop(3, 2, B, 504, 1)),
        (0, Cmd::Fill(OrderId(1), Qty(1))),
    ];
    // A cancel does not match: the stop stays pending.
    let mut a = base.to_vec();
    a.push((0, Cmd::Cancel(cancel(2, 1))));
    agree(cfg(), &a);
    // A parked stop does not match either.
    let mut b = base.to_vec();
    b.push(n(stop(4, 3, B, 600, 1)));
    agree(cfg(), &b);
    // A rejected order does not.
    let mut c = base.to_vec();
    c.push(n(limit(5, 3, B, 0, 1)));
    agree(cfg(), &c);
    // An order that rests without trading does.
    let mut d = base.to_vec();
    d.push(n(limit(6, 3, B, 496, 1)));
    assert!(reference_events(cfg(), &d).contains(&triggered(3, 2, 504, 505)));
    agree(cfg(), &d);
    // A modify that keeps priority does not (it never matches); one that loses priority does.
    let mut e = base.to_vec();
    e.push((0, Cmd::Modify(modify(2, 1, 495, 4))));
    agree(cfg(), &e);
    e.push((0, Cmd::Modify(modify(2, 1, 494, 4))));
    agree(cfg(), &e);
}

/// semantics.md has no rule for a full sparse fallback (more distinct outlying price levels
/// than `sparse_levels`): `Book` rejects an order that would rest there with `BookFull`
/// (limit/value `sparse_levels`), even one that would have fully traded, as step 11 does for
/// `max_orders`; the reference (which has no ladder) accepts it. Ignored until the contract
/// says which is right.
#[test]
#[ignore = "semantics.md does not cover a full sparse fallback"]
fn sparse_fallback_full() {
    let c = BookConfig {
        dense_levels: 4,
        sparse_levels: 1,
        anchor: Some(Price(500)),
        ..cfg()
    };
    let cmds = [
        // One outlying level per side fills each side's sparse fallback.
        n(limit(1, 1, S, 90_000, 1)),
        n(limit(2, 1, B, 80_000, 1)),
        // Would trade in full against order 2; it never needs a level of its own.
        n(limit(3, 2, S, 70_000, 1)),
    ];
    agree(c, &cmds);
}
