//! Hand-written scenarios, one or more per rule of `docs/semantics.md`, plus a randomized
//! invariant check.

use crate::{Book, BookConfig, BookConfigError, LevelView};
use ferrex_types::*;

const I: InstrumentId = InstrumentId(3);

fn book() -> Book {
    Book::new(
        I,
        BookConfig {
            dense_levels: 1024,
            sparse_levels: 8,
            max_orders: 64,
            ..Default::default()
        },
    )
    .unwrap()
}

fn lim(id: u64, side: Side, price: i64, qty: u64, acct: u32) -> NewOrder {
    NewOrder {
        order_id: OrderId(id),
        price: Price(price),
        qty: Qty(qty),
        account: AccountId(acct),
        instrument: I,
        side,
        ..Default::default()
    }
}

fn mkt(id: u64, side: Side, qty: u64, acct: u32) -> NewOrder {
    NewOrder {
        ord_type: OrdType::Market,
        ..lim(id, side, 0, qty, acct)
    }
}

fn run(b: &mut Book, o: NewOrder) -> Vec<EventKind> {
    let mut v = Vec::new();
    b.new_order(&o, 1, &mut v);
    v
}

fn trades(ev: &[EventKind]) -> Vec<(u64, i64, u64)> {
    ev.iter()
        .filter_map(|e| match *e {
            EventKind::Trade {
                maker_order_id,
                price,
                qty,
                ..
            } => Some((maker_order_id.0, price.0, qty.0)),
            _ => None,
        })
        .collect()
}

fn reject_of(ev: &[EventKind]) -> Option<(RejectReason, i64, i64)> {
    match ev.first() {
        Some(EventKind::Rejected {
            reason,
            limit,
            value,
            ..
        }) => Some((*reason, *limit, *value)),
        _ => None,
    }
}

fn cancels(ev: &[EventKind]) -> Vec<(u64, CancelReason, u64)> {
    ev.iter()
        .filter_map(|e| match *e {
            EventKind::Cancelled {
                order_id,
                reason,
                qty,
                ..
            } => Some((order_id.0, reason, qty.0)),
            _ => None,
        })
        .collect()
}

/// Internal consistency: level totals and counts match their queues; best prices are the true
/// best; every live order is reachable.
fn check(b: &Book) {
    let mut n = 0usize;
    for side in [Side::Buy, Side::Sell] {
        let mut prev: Option<i64> = None;
        b.for_each_level(side, |l| {
            if let Some(p) = prev {
                match side {
                    Side::Buy => assert!(l.price.0 < p),
                    Side::Sell => assert!(l.price.0 > p),
                }
            }
            prev = Some(l.price.0);
            let (mut q, mut c) = (0u64, 0u32);
            b.for_each_order_in_level(side, l.price, |o| {
                assert_eq!(o.price, l.price);
                assert_eq!(o.side, side);
                assert!(o.visible.0 > 0 && o.visible <= o.leaves);
                q += o.visible.0;
                c += 1;
            });
            assert_eq!((q, c), (l.qty.0, l.orders));
            assert!(c > 0);
            n += c as usize;
        });
    }
    let stops = b.stops.len as usize;
    assert_eq!(n + stops, b.live_orders());
    if let (Some(bb), Some(ba)) = (b.best_bid(), b.best_ask()) {
        assert!(bb < ba, "crossed book {bb} {ba}");
    }
}

#[test]
fn config_errors() {
    let bad = |c: BookConfig| Book::new(I, c).unwrap_err();
    let d = BookConfig::default();
    assert_eq!(
        bad(BookConfig { tick_size: 0, ..d }),
        BookConfigError::TickSize(0)
    );
    assert_eq!(
        bad(BookConfig { lot_size: 0, ..d }),
        BookConfigError::LotSize(0)
    );
    assert!(matches!(
        bad(BookConfig {
            min_price: Price(5),
            max_price: Price(4),
            ..d
        }),
        BookConfigError::PriceRange { .. }
    ));
    assert_eq!(
        bad(BookConfig { max_orders: 0, ..d }),
        BookConfigError::MaxOrders(0)
    );
    assert!(matches!(
        bad(BookConfig {
            dense_levels: 0,
            sparse_levels: 0,
            ..d
        }),
        BookConfigError::Levels { .. }
    ));
    assert!(
        bad(BookConfig {
            min_price: Price(0),
            ..d
        })
        .to_string()
        .contains("min_price")
    );
}

#[test]
fn price_time_priority_and_partial_fills() {
    let mut b = book();
    run(&mut b, lim(1, Side::Sell, 101, 5, 1));
    run(&mut b, lim(2, Side::Sell, 100, 5, 2));
    run(&mut b, lim(3, Side::Sell, 100, 5, 3));
    assert!(b.is_head_of_level(OrderId(2)));
    assert_eq!(b.queue_ahead(OrderId(3)), Some(Qty(5)));
    let ev = run(&mut b, lim(4, Side::Buy, 101, 7, 4));
    assert_eq!(trades(&ev), vec![(2, 100, 5), (3, 100, 2)]);
    assert!(matches!(
        ev[0],
        EventKind::Accepted {
            price: Price(101),
            qty: Qty(7),
            ..
        }
    ));
    match ev[1] {
        EventKind::Trade {
            maker_leaves,
            taker_leaves,
            aggressor,
            taker_order_id,
            ..
        } => {
            assert_eq!(
                (maker_leaves, taker_leaves, aggressor, taker_order_id),
                (Qty(0), Qty(2), Side::Buy, OrderId(4))
            );
        }
        _ => panic!(),
    }
    // LevelChanged follows each trade
    assert_eq!(
        ev[2],
        EventKind::LevelChanged {
            instrument: I,
            side: Side::Sell,
            price: Price(100),
            qty: Qty(5),
            orders: 1
        }
    );
    assert_eq!(b.order(OrderId(3)).unwrap().leaves, Qty(3));
    assert!(b.is_head_of_level(OrderId(3)));
    assert_eq!(b.best_ask(), Some(Price(100)));
    assert_eq!(b.last_trade_price(), Some(Price(100)));
    assert!(b.order(OrderId(4)).is_none());
    check(&b);
}

#[test]
fn multi_level_sweep_rests_remainder() {
    let mut b = book();
    for (i, p) in [100, 101, 102, 103, 104].iter().enumerate() {
        run(&mut b, lim(i as u64 + 1, Side::Sell, *p, 2, 1));
    }
    let ev = run(&mut b, lim(10, Side::Buy, 103, 10, 2));
    assert_eq!(
        trades(&ev),
        vec![(1, 100, 2), (2, 101, 2), (3, 102, 2), (4, 103, 2)]
    );
    assert_eq!(b.best_bid(), Some(Price(103)));
    assert_eq!(
        b.level(Side::Buy, Price(103)),
        Some(LevelView {
            price: Price(103),
            qty: Qty(2),
            orders: 1
        })
    );
    assert_eq!(b.best_ask(), Some(Price(104)));
    let mut d = [LevelView {
        price: Price(0),
        qty: Qty(0),
        orders: 0,
    }; 4];
    assert_eq!(b.depth(Side::Sell, &mut d), 1);
    check(&b);
}

#[test]
fn marketable_limit_never_trades_beyond_its_limit() {
    let mut b = book();
    run(&mut b, lim(1, Side::Sell, 100, 1, 1));
    run(&mut b, lim(2, Side::Sell, 105, 100, 1));
    let ev = run(&mut b, lim(3, Side::Buy, 102, 50, 2));
    assert_eq!(trades(&ev), vec![(1, 100, 1)]);
    assert_eq!(b.best_bid(), Some(Price(102)));
    assert_eq!(b.order(OrderId(3)).unwrap().leaves, Qty(49));
    assert_eq!(b.order(OrderId(2)).unwrap().leaves, Qty(100));
    // sell side too
    run(&mut b, lim(4, Side::Buy, 90, 5, 3));
    let ev = run(&mut b, lim(5, Side::Sell, 95, 100, 4)); // bid 102 crosses, 90 does not
    assert_eq!(trades(&ev), vec![(3, 102, 49)]);
    assert_eq!(b.best_ask(), Some(Price(95)));
    assert_eq!(b.best_bid(), Some(Price(90)));
    check(&b);
}

#[test]
fn cancel_partly_filled_order_removes_level_and_moves_best() {
    let mut b = book();
    run(&mut b, lim(1, Side::Sell, 100, 10, 1));
    run(&mut b, lim(2, Side::Sell, 101, 10, 1));
    run(&mut b, lim(3, Side::Buy, 100, 4, 2));
    let mut ev = Vec::new();
    b.cancel(
        &CancelOrder {
            order_id: OrderId(1),
            account: AccountId(1),
            instrument: I,
        },
        2,
        &mut ev,
    );
    assert_eq!(cancels(&ev), vec![(1, CancelReason::Requested, 6)]);
    assert_eq!(
        ev[1],
        EventKind::LevelChanged {
            instrument: I,
            side: Side::Sell,
            price: Price(100),
            qty: Qty(0),
            orders: 0
        }
    );
    assert_eq!(b.level(Side::Sell, Price(100)), None);
    assert_eq!(b.best_ask(), Some(Price(101)));
    // a buy now trades at 101 and terminates
    let ev = run(&mut b, lim(4, Side::Buy, 101, 10, 2));
    assert_eq!(trades(&ev), vec![(2, 101, 10)]);
    assert_eq!(b.best_ask(), None);
    check(&b);
    // cancel errors
    let mut ev = Vec::new();
    b.cancel(
        &CancelOrder {
            order_id: OrderId(99),
            account: AccountId(1),
            instrument: I,
        },
        2,
        &mut ev,
    );
    assert_eq!(reject_of(&ev), Some((RejectReason::UnknownOrder, 0, 99)));
    run(&mut b, lim(5, Side::Buy, 50, 1, 7));
    ev.clear();
    b.cancel(
        &CancelOrder {
            order_id: OrderId(5),
            account: AccountId(8),
            instrument: I,
        },
        2,
        &mut ev,
    );
    assert_eq!(reject_of(&ev), Some((RejectReason::NotOwner, 7, 8)));
}

#[test]
fn iceberg_refills_to_back_of_queue() {
    let mut b = book();
    run(
        &mut b,
        NewOrder {
            display_qty: Qty(2),
            ..lim(1, Side::Sell, 100, 5, 1)
        },
    );
    run(&mut b, lim(2, Side::Sell, 100, 3, 2));
    assert_eq!(b.level(Side::Sell, Price(100)).unwrap().qty, Qty(5));
    let ev = run(&mut b, lim(3, Side::Buy, 100, 2, 3));
    assert_eq!(trades(&ev), vec![(1, 100, 2)]);
    assert!(matches!(
        ev[1],
        EventKind::Trade {
            maker_leaves: Qty(3),
            ..
        }
    ));
    // refilled 2, moved behind order 2
    assert_eq!(
        ev[2],
        EventKind::LevelChanged {
            instrument: I,
            side: Side::Sell,
            price: Price(100),
            qty: Qty(5),
            orders: 2
        }
    );
    assert!(b.is_head_of_level(OrderId(2)));
    let o = b.order(OrderId(1)).unwrap();
    assert_eq!((o.visible, o.leaves), (Qty(2), Qty(3)));
    let ev = run(&mut b, lim(4, Side::Buy, 100, 8, 3));
    assert_eq!(trades(&ev), vec![(2, 100, 3), (1, 100, 2), (1, 100, 1)]);
    assert_eq!(b.best_ask(), None);
    assert_eq!(b.order(OrderId(4)).unwrap().leaves, Qty(2));
    check(&b);
    // resting iceberg shows display only
    run(
        &mut b,
        NewOrder {
            display_qty: Qty(3),
            ..lim(5, Side::Sell, 110, 10, 1)
        },
    );
    assert_eq!(b.level(Side::Sell, Price(110)).unwrap().qty, Qty(3));
    check(&b);
}

#[test]
fn fok_is_checked_before_any_fill() {
    let mut b = book();
    run(&mut b, lim(1, Side::Sell, 100, 3, 1));
    run(&mut b, lim(2, Side::Sell, 101, 3, 1));
    let ev = run(
        &mut b,
        NewOrder {
            tif: TimeInForce::Fok,
            ..lim(3, Side::Buy, 101, 7, 2)
        },
    );
    assert_eq!(ev.len(), 1);
    assert_eq!(reject_of(&ev), Some((RejectReason::FokNotFillable, 7, 6)));
    assert_eq!(b.order(OrderId(1)).unwrap().leaves, Qty(3));
    let ev = run(
        &mut b,
        NewOrder {
            tif: TimeInForce::Fok,
            ..lim(3, Side::Buy, 101, 6, 2)
        },
    );
    assert_eq!(trades(&ev), vec![(1, 100, 3), (2, 101, 3)]);
    // FOK with self-match: CancelResting skips, others stop the walk
    run(&mut b, lim(4, Side::Sell, 100, 3, 2));
    run(&mut b, lim(5, Side::Sell, 100, 3, 1));
    let ev = run(
        &mut b,
        NewOrder {
            tif: TimeInForce::Fok,
            stp: StpMode::CancelAggressor,
            ..lim(6, Side::Buy, 100, 3, 2)
        },
    );
    assert_eq!(reject_of(&ev), Some((RejectReason::FokNotFillable, 3, 0)));
    let ev = run(
        &mut b,
        NewOrder {
            tif: TimeInForce::Fok,
            ..lim(6, Side::Buy, 100, 3, 2)
        },
    );
    assert_eq!(cancels(&ev), vec![(4, CancelReason::SelfTrade, 3)]);
    assert_eq!(trades(&ev), vec![(5, 100, 3)]);
    check(&b);
}

#[test]
fn ioc_remainder_cancelled() {
    let mut b = book();
    run(&mut b, lim(1, Side::Sell, 100, 3, 1));
    let ev = run(
        &mut b,
        NewOrder {
            tif: TimeInForce::Ioc,
            ..lim(2, Side::Buy, 100, 5, 2)
        },
    );
    assert_eq!(cancels(&ev), vec![(2, CancelReason::Unfilled, 2)]);
    assert_eq!(b.live_orders(), 0);
}

#[test]
fn post_only_rejects_when_it_would_take() {
    let mut b = book();
    run(&mut b, lim(1, Side::Sell, 100, 3, 1));
    let ev = run(
        &mut b,
        NewOrder {
            tif: TimeInForce::PostOnly,
            ..lim(2, Side::Buy, 100, 1, 1)
        },
    );
    assert_eq!(
        reject_of(&ev),
        Some((RejectReason::PostOnlyWouldTake, 100, 100))
    );
    let ev = run(
        &mut b,
        NewOrder {
            tif: TimeInForce::PostOnly,
            ..lim(2, Side::Buy, 99, 1, 1)
        },
    );
    assert!(matches!(ev[0], EventKind::Accepted { .. }));
    assert_eq!(b.best_bid(), Some(Price(99)));
    let ev = run(
        &mut b,
        NewOrder {
            tif: TimeInForce::PostOnly,
            ..mkt(3, Side::Buy, 1, 1)
        },
    );
    assert_eq!(
        reject_of(&ev).map(|r| r.0),
        Some(RejectReason::PostOnlyWouldTake)
    );
    // modify of a post-only order into a crossing price
    let mut ev = Vec::new();
    b.modify(
        &ModifyOrder {
            order_id: OrderId(2),
            price: Price(100),
            qty: Qty(1),
            account: AccountId(1),
            instrument: I,
        },
        1,
        &mut ev,
    );
    assert_eq!(
        reject_of(&ev),
        Some((RejectReason::PostOnlyWouldTake, 100, 100))
    );
    assert_eq!(b.order(OrderId(2)).unwrap().price, Price(99));
}

#[test]
fn market_orders_and_protection() {
    let mut b = Book::new(
        I,
        BookConfig {
            market_protection_ticks: 2,
            tick_size: 5,
            ..BookConfig::default()
        },
    )
    .unwrap();
    let ev = run(&mut b, mkt(1, Side::Buy, 5, 1));
    assert_eq!(reject_of(&ev), Some((RejectReason::NoLiquidity, 0, 0)));
    run(&mut b, lim(2, Side::Sell, 100, 2, 2));
    run(&mut b, lim(3, Side::Sell, 110, 2, 2));
    run(&mut b, lim(4, Side::Sell, 115, 2, 2));
    let ev = run(&mut b, mkt(5, Side::Buy, 10, 1));
    assert!(matches!(
        ev[0],
        EventKind::Accepted {
            price: Price(0),
            ..
        }
    ));
    assert_eq!(trades(&ev), vec![(2, 100, 2), (3, 110, 2)]);
    assert_eq!(cancels(&ev), vec![(5, CancelReason::MarketProtection, 6)]);
    let ev = run(&mut b, mkt(6, Side::Buy, 10, 1));
    assert_eq!(trades(&ev), vec![(4, 115, 2)]);
    assert_eq!(cancels(&ev), vec![(6, CancelReason::Unfilled, 8)]);
    assert_eq!(b.live_orders(), 0);
}

#[test]
fn stp_modes() {
    let setup = || {
        let mut b = book();
        run(&mut b, lim(1, Side::Sell, 100, 5, 1)); // self
        run(&mut b, lim(2, Side::Sell, 100, 5, 2)); // other
        b
    };
    let taker = |stp| NewOrder {
        stp,
        ..lim(9, Side::Buy, 100, 8, 1)
    };

    let mut b = setup();
    let ev = run(&mut b, taker(StpMode::CancelResting));
    assert_eq!(cancels(&ev), vec![(1, CancelReason::SelfTrade, 5)]);
    assert_eq!(trades(&ev), vec![(2, 100, 5)]);
    assert_eq!(b.order(OrderId(9)).unwrap().leaves, Qty(3));
    check(&b);

    let mut b = setup();
    let ev = run(&mut b, taker(StpMode::CancelAggressor));
    assert_eq!(cancels(&ev), vec![(9, CancelReason::SelfTrade, 8)]);
    assert!(trades(&ev).is_empty());
    assert_eq!(b.order(OrderId(1)).unwrap().leaves, Qty(5));
    assert_eq!(b.live_orders(), 2);

    let mut b = setup();
    let ev = run(&mut b, taker(StpMode::CancelBoth));
    assert_eq!(
        cancels(&ev),
        vec![
            (1, CancelReason::SelfTrade, 5),
            (9, CancelReason::SelfTrade, 8)
        ]
    );
    assert_eq!(b.live_orders(), 1);
    check(&b);

    let mut b = setup();
    let ev = run(&mut b, taker(StpMode::DecrementAndCancel));
    assert_eq!(
        cancels(&ev),
        vec![
            (1, CancelReason::SelfTrade, 5),
            (9, CancelReason::SelfTrade, 5)
        ]
    );
    assert_eq!(trades(&ev), vec![(2, 100, 3)]);
    assert_eq!(b.order(OrderId(2)).unwrap().leaves, Qty(2));
    check(&b);
    // decrement smaller than the resting order: it stays with priority; iceberg loses hidden first
    let mut b = book();
    run(
        &mut b,
        NewOrder {
            display_qty: Qty(2),
            ..lim(1, Side::Sell, 100, 10, 1)
        },
    );
    let ev = run(
        &mut b,
        NewOrder {
            stp: StpMode::DecrementAndCancel,
            ..lim(9, Side::Buy, 100, 3, 1)
        },
    );
    assert_eq!(
        cancels(&ev),
        vec![
            (1, CancelReason::SelfTrade, 3),
            (9, CancelReason::SelfTrade, 3)
        ]
    );
    let o = b.order(OrderId(1)).unwrap();
    assert_eq!((o.visible, o.leaves), (Qty(2), Qty(7)));
    assert!(b.order(OrderId(9)).is_none());
    check(&b);

    let mut b = setup();
    let ev = run(&mut b, taker(StpMode::None));
    assert_eq!(trades(&ev), vec![(1, 100, 5), (2, 100, 3)]);

    // stp_group overrides account
    let mut b = setup();
    let ev = run(
        &mut b,
        NewOrder {
            stp_group: 77,
            ..taker(StpMode::CancelBoth)
        },
    );
    assert_eq!(trades(&ev), vec![(1, 100, 5), (2, 100, 3)]);
}

fn stop(id: u64, side: Side, stop_px: i64, qty: u64, acct: u32) -> NewOrder {
    NewOrder {
        ord_type: OrdType::Stop,
        stop_price: Price(stop_px),
        ..lim(id, side, 0, qty, acct)
    }
}

#[test]
fn stops_trigger_in_entry_order_with_cascade() {
    let mut b = book();
    run(&mut b, lim(1, Side::Sell, 100, 1, 1));
    run(&mut b, lim(2, Side::Buy, 100, 1, 2)); // L = 100
    let ev = run(&mut b, stop(3, Side::Buy, 99, 1, 3));
    assert_eq!(
        reject_of(&ev),
        Some((RejectReason::InvalidStopPrice, 100, 99))
    );
    // asks: 101 x1, 102 x1, 103 x5
    run(&mut b, lim(10, Side::Sell, 101, 1, 9));
    run(&mut b, lim(11, Side::Sell, 102, 1, 9));
    run(&mut b, lim(12, Side::Sell, 103, 5, 9));
    // stop A (entry earlier) at 102, stop B at 101: both trigger at L=102; A first by entry.
    let ev = run(&mut b, stop(20, Side::Buy, 102, 1, 4));
    assert!(matches!(
        ev[0],
        EventKind::Accepted {
            price: Price(0),
            ..
        }
    ));
    assert_eq!(ev.len(), 1);
    run(&mut b, stop(21, Side::Buy, 101, 1, 5));
    // a stop-limit that cascades off B's trade at 103
    run(
        &mut b,
        NewOrder {
            ord_type: OrdType::StopLimit,
            stop_price: Price(103),
            ..lim(22, Side::Buy, 103, 1, 6)
        },
    );
    assert!(b.order(OrderId(22)).unwrap().is_stop);
    assert_eq!(b.live_orders(), 6);
    let ev = run(&mut b, lim(30, Side::Buy, 101, 1, 7)); // trades 101 -> triggers 21 only (L=101)
    let trig: Vec<u64> = ev
        .iter()
        .filter_map(|e| match e {
            EventKind::Triggered { order_id, .. } => Some(order_id.0),
            _ => None,
        })
        .collect();
    // 21 triggers at 101, trades 102 -> 20 triggers, trades 103 -> 22 triggers, trades 103
    assert_eq!(trig, vec![21, 20, 22]);
    assert_eq!(
        trades(&ev),
        vec![(10, 101, 1), (11, 102, 1), (12, 103, 1), (12, 103, 1)]
    );
    match ev
        .iter()
        .find(|e| matches!(e, EventKind::Triggered { .. }))
        .unwrap()
    {
        EventKind::Triggered {
            stop_price,
            trade_price,
            ..
        } => assert_eq!((*stop_price, *trade_price), (Price(101), Price(101))),
        _ => unreachable!(),
    }
    assert_eq!(b.order(OrderId(12)).unwrap().leaves, Qty(3));
    check(&b);
}

#[test]
fn simultaneous_stops_go_in_entry_order_and_stop_limit_rests() {
    let mut b = book();
    run(&mut b, lim(1, Side::Buy, 100, 10, 1));
    run(&mut b, lim(2, Side::Buy, 99, 10, 1));
    run(&mut b, lim(3, Side::Buy, 98, 10, 1));
    run(&mut b, lim(4, Side::Sell, 101, 1, 2));
    run(&mut b, lim(5, Side::Buy, 101, 1, 3)); // L = 101
    run(&mut b, stop(6, Side::Sell, 99, 2, 4)); // entry 6
    run(
        &mut b,
        NewOrder {
            ord_type: OrdType::StopLimit,
            stop_price: Price(100),
            ..lim(7, Side::Sell, 99, 30, 5)
        },
    ); // entry 7
    run(&mut b, stop(8, Side::Sell, 100, 1, 6)); // entry 8
    let mut ev = Vec::new();
    b.cancel(
        &CancelOrder {
            order_id: OrderId(8),
            account: AccountId(6),
            instrument: I,
        },
        1,
        &mut ev,
    );
    assert_eq!(cancels(&ev), vec![(8, CancelReason::Requested, 1)]);
    assert_eq!(ev.len(), 1); // no LevelChanged for a stop
    let ev = run(&mut b, lim(9, Side::Sell, 100, 1, 7)); // trades at 100: triggers 7 (stop 100)
    let trig: Vec<u64> = ev
        .iter()
        .filter_map(|e| {
            if let EventKind::Triggered { order_id, .. } = e {
                Some(order_id.0)
            } else {
                None
            }
        })
        .collect();
    // 7 sells to 99 (L = 99) -> then 6 triggers
    assert_eq!(trig, vec![7, 6]);
    // 7 (limit 99) takes 100x9 then 99x10, rests 11 at 99 ; 6 market sells 2 into 98
    assert_eq!(b.order(OrderId(7)).unwrap().leaves, Qty(11));
    assert_eq!(b.best_ask(), Some(Price(99)));
    assert_eq!(b.order(OrderId(3)).unwrap().leaves, Qty(8));
    check(&b);
}

#[test]
fn gtd_expiry_in_time_then_entry_order() {
    let mut b = book();
    let gtd = |id, px, t| NewOrder {
        tif: TimeInForce::Gtd,
        expire_time: t,
        ..lim(id, Side::Buy, px, 1, 1)
    };
    let mut ev = Vec::new();
    b.new_order(&gtd(1, 100, 10), 10, &mut ev);
    assert_eq!(
        reject_of(&ev),
        Some((RejectReason::InvalidExpireTime, 10, 10))
    );
    run(&mut b, gtd(1, 100, 20));
    run(&mut b, gtd(2, 99, 15));
    run(&mut b, gtd(3, 98, 20));
    run(
        &mut b,
        NewOrder {
            tif: TimeInForce::Gtd,
            expire_time: 15,
            ..stop(4, Side::Buy, 200, 1, 1)
        },
    );
    assert_eq!(b.next_expiry(), Some(15));
    let mut ev = Vec::new();
    b.expire(14, &mut ev);
    assert!(ev.is_empty());
    b.expire(15, &mut ev);
    let exp: Vec<u64> = ev
        .iter()
        .filter_map(|e| {
            if let EventKind::Expired { order_id, .. } = e {
                Some(order_id.0)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(exp, vec![2, 4]);
    assert_eq!(ev.len(), 3);
    // cancelling the earliest moves next_expiry
    assert_eq!(b.next_expiry(), Some(20));
    let mut ev = Vec::new();
    b.cancel(
        &CancelOrder {
            order_id: OrderId(1),
            account: AccountId(1),
            instrument: I,
        },
        16,
        &mut ev,
    );
    assert_eq!(b.next_expiry(), Some(20));
    b.cancel(
        &CancelOrder {
            order_id: OrderId(3),
            account: AccountId(1),
            instrument: I,
        },
        16,
        &mut ev,
    );
    assert_eq!(b.next_expiry(), None);
    assert_eq!(b.live_orders(), 0);
}

#[test]
fn modify_keeps_or_loses_priority() {
    let mut b = book();
    run(&mut b, lim(1, Side::Buy, 100, 10, 1));
    run(&mut b, lim(2, Side::Buy, 100, 10, 2));
    let m = |id, px, q, a| ModifyOrder {
        order_id: OrderId(id),
        price: Price(px),
        qty: Qty(q),
        account: AccountId(a),
        instrument: I,
    };
    let mut ev = Vec::new();
    b.modify(&m(1, 100, 6, 1), 1, &mut ev);
    assert!(matches!(
        ev[0],
        EventKind::Replaced {
            kept_priority: true,
            qty: Qty(6),
            ..
        }
    ));
    assert_eq!(
        ev[1],
        EventKind::LevelChanged {
            instrument: I,
            side: Side::Buy,
            price: Price(100),
            qty: Qty(16),
            orders: 2
        }
    );
    assert!(b.is_head_of_level(OrderId(1)));
    ev.clear();
    b.modify(&m(1, 100, 7, 1), 1, &mut ev);
    assert!(matches!(
        ev[0],
        EventKind::Replaced {
            kept_priority: false,
            ..
        }
    ));
    assert!(b.is_head_of_level(OrderId(2)));
    // re-price through the book trades
    run(&mut b, lim(3, Side::Sell, 105, 4, 3));
    ev.clear();
    b.modify(&m(2, 105, 10, 2), 1, &mut ev);
    assert_eq!(trades(&ev), vec![(3, 105, 4)]);
    assert_eq!(b.best_bid(), Some(Price(105)));
    assert_eq!(b.order(OrderId(2)).unwrap().leaves, Qty(6));
    // errors
    for (mm, want) in [
        (m(99, 100, 1, 1), RejectReason::UnknownOrder),
        (m(1, 100, 1, 2), RejectReason::NotOwner),
        (m(1, 100, 0, 1), RejectReason::InvalidQty),
        (m(1, 0, 1, 1), RejectReason::InvalidPrice),
    ] {
        ev.clear();
        b.modify(&mm, 1, &mut ev);
        assert_eq!(reject_of(&ev).map(|r| r.0), Some(want));
    }
    run(&mut b, stop(5, Side::Buy, 200, 1, 1));
    ev.clear();
    b.modify(&m(5, 100, 1, 1), 1, &mut ev);
    assert_eq!(
        reject_of(&ev).map(|r| r.0),
        Some(RejectReason::InvalidModify)
    );
    check(&b);
}

#[test]
fn mass_cancel_in_entry_order() {
    let mut b = book();
    run(&mut b, lim(1, Side::Buy, 100, 1, 1));
    run(&mut b, lim(2, Side::Sell, 110, 1, 1));
    run(&mut b, lim(3, Side::Buy, 99, 1, 2));
    run(&mut b, stop(4, Side::Buy, 200, 1, 1));
    run(&mut b, lim(5, Side::Buy, 100, 1, 1));
    let mut ev = Vec::new();
    b.modify(
        &ModifyOrder {
            order_id: OrderId(1),
            price: Price(101),
            qty: Qty(1),
            account: AccountId(1),
            instrument: I,
        },
        1,
        &mut ev,
    );
    ev.clear();
    b.mass_cancel(AccountId(1), 1, &mut ev);
    let ids: Vec<u64> = cancels(&ev)
        .iter()
        .map(|c| {
            assert_eq!(c.1, CancelReason::MassCancel);
            c.0
        })
        .collect();
    assert_eq!(ids, vec![1, 2, 4, 5]);
    assert_eq!(b.live_orders(), 1);
    check(&b);
}

#[test]
fn duplicate_id_and_validation_order() {
    let mut b = book();
    run(&mut b, lim(1, Side::Buy, 100, 1, 1));
    assert_eq!(
        reject_of(&run(&mut b, lim(1, Side::Sell, 200, 1, 1))),
        Some((RejectReason::DuplicateOrderId, 0, 1))
    );
    let mut b = Book::new(
        I,
        BookConfig {
            lot_size: 10,
            tick_size: 5,
            min_price: Price(100),
            max_price: Price(1000),
            ..BookConfig::default()
        },
    )
    .unwrap();
    assert_eq!(
        reject_of(&run(&mut b, lim(1, Side::Buy, 3, 0, 1))),
        Some((RejectReason::InvalidQty, 0, 0))
    );
    assert_eq!(
        reject_of(&run(&mut b, lim(1, Side::Buy, 3, 15, 1))),
        Some((RejectReason::LotSize, 10, 15))
    );
    assert_eq!(
        reject_of(&run(
            &mut b,
            NewOrder {
                display_qty: Qty(20),
                ..lim(1, Side::Buy, 3, 20, 1)
            }
        )),
        Some((RejectReason::InvalidQty, 20, 20))
    );
    assert_eq!(
        reject_of(&run(
            &mut b,
            NewOrder {
                display_qty: Qty(5),
                ..lim(1, Side::Buy, 3, 20, 1)
            }
        )),
        Some((RejectReason::LotSize, 10, 5))
    );
    assert_eq!(
        reject_of(&run(&mut b, lim(1, Side::Buy, 95, 20, 1))),
        Some((RejectReason::InvalidPrice, 100, 95))
    );
    assert_eq!(
        reject_of(&run(&mut b, lim(1, Side::Buy, 1005, 20, 1))),
        Some((RejectReason::InvalidPrice, 1000, 1005))
    );
    assert_eq!(
        reject_of(&run(&mut b, lim(1, Side::Buy, 101, 20, 1))),
        Some((RejectReason::TickSize, 5, 101))
    );
    let s = NewOrder {
        ord_type: OrdType::StopLimit,
        stop_price: Price(99),
        ..lim(1, Side::Buy, 100, 20, 1)
    };
    assert_eq!(
        reject_of(&run(&mut b, s)),
        Some((RejectReason::InvalidStopPrice, 100, 99))
    );
    let s = NewOrder {
        ord_type: OrdType::StopLimit,
        stop_price: Price(102),
        ..lim(1, Side::Buy, 100, 20, 1)
    };
    assert_eq!(
        reject_of(&run(&mut b, s)),
        Some((RejectReason::TickSize, 5, 102))
    );
}

#[test]
fn book_full_rejects_before_trading() {
    let mut b = Book::new(
        I,
        BookConfig {
            max_orders: 2,
            ..BookConfig::default()
        },
    )
    .unwrap();
    run(&mut b, lim(1, Side::Sell, 100, 1, 1));
    run(&mut b, lim(2, Side::Sell, 101, 1, 1));
    let ev = run(&mut b, lim(3, Side::Buy, 100, 1, 2));
    assert_eq!(reject_of(&ev), Some((RejectReason::BookFull, 2, 2)));
    // IOC does not need a slot
    let ev = run(
        &mut b,
        NewOrder {
            tif: TimeInForce::Ioc,
            ..lim(3, Side::Buy, 100, 1, 2)
        },
    );
    assert_eq!(trades(&ev), vec![(1, 100, 1)]);
    let ev = run(&mut b, lim(4, Side::Buy, 90, 1, 2));
    assert!(matches!(ev[0], EventKind::Accepted { .. }));
    assert_eq!(
        reject_of(&run(&mut b, stop(5, Side::Buy, 200, 1, 1))).map(|r| r.0),
        Some(RejectReason::BookFull)
    );
}

/// Special slots (icebergs, stops, GTD, explicit STP groups) have their own capacity; plain
/// orders overflow into free special slots; the account capacity refuses a new account only;
/// a snapshot of a book with overflowed plain orders restores to the same state and the same
/// account-list (mass cancel) order.
#[test]
fn special_slots_and_account_capacity() {
    let cfg = BookConfig {
        max_orders: 6,
        max_special_orders: 2,
        max_accounts: 2,
        ..BookConfig::default()
    };
    let mut b = Book::new(I, cfg).unwrap();
    let ice = |id, px| NewOrder {
        display_qty: Qty(1),
        ..lim(id, Side::Buy, px, 5, 1)
    };
    // two special orders fill the special region
    assert!(matches!(
        run(&mut b, ice(1, 90))[0],
        EventKind::Accepted { .. }
    ));
    assert!(matches!(
        run(&mut b, stop(2, Side::Buy, 200, 1, 1))[0],
        EventKind::Accepted { .. }
    ));
    let gtd = NewOrder {
        tif: TimeInForce::Gtd,
        expire_time: 1_000,
        ..lim(3, Side::Buy, 91, 1, 1)
    };
    assert_eq!(
        reject_of(&run(&mut b, gtd)),
        Some((RejectReason::BookFull, 2, 2))
    );
    let grouped = NewOrder {
        stp_group: 77,
        ..lim(3, Side::Buy, 91, 1, 1)
    };
    assert_eq!(
        reject_of(&run(&mut b, grouped)),
        Some((RejectReason::BookFull, 2, 2))
    );
    // an STP group equal to the account is no group: plain
    let own = NewOrder {
        stp_group: 1,
        ..lim(3, Side::Buy, 91, 1, 1)
    };
    assert!(matches!(run(&mut b, own)[0], EventKind::Accepted { .. }));
    // a third account is refused while two have live orders, even for an order that would trade
    run(&mut b, lim(4, Side::Sell, 120, 1, 2));
    assert_eq!(
        reject_of(&run(&mut b, lim(5, Side::Sell, 91, 1, 3))),
        Some((RejectReason::BookFull, 2, 2))
    );
    // ...but not an IOC, which needs no slot
    let ioc = NewOrder {
        tif: TimeInForce::Ioc,
        ..lim(5, Side::Sell, 91, 1, 3)
    };
    assert_eq!(trades(&run(&mut b, ioc)), vec![(3, 91, 1)]);
    // free the special slot of the stop, then fill the plain region (4 plain slots: 4, 6, 7, 8)
    let mut ev = Vec::new();
    b.cancel(
        &CancelOrder {
            order_id: OrderId(2),
            account: AccountId(1),
            instrument: I,
        },
        1,
        &mut ev,
    );
    for id in 6..=8 {
        assert!(matches!(
            run(&mut b, lim(id, Side::Sell, 130 + id as i64, 1, 2))[0],
            EventKind::Accepted { .. }
        ));
    }
    // the plain region is full: a plain order takes the free special slot...
    assert!(matches!(
        run(&mut b, lim(9, Side::Buy, 80, 1, 1))[0],
        EventKind::Accepted { .. }
    ));
    assert_eq!(b.live_orders(), 6);
    check(&b);
    let mut snap = Vec::new();
    b.snapshot(&mut snap);
    let mut r = Book::restore(I, cfg, &snap).unwrap();
    assert_eq!(r.state_hash(), b.state_hash());
    let mut again = Vec::new();
    r.snapshot(&mut again);
    assert_eq!(again, snap);
    for acct in [1, 2] {
        let (mut e1, mut e2) = (Vec::new(), Vec::new());
        b.mass_cancel(AccountId(acct), 2, &mut e1);
        r.mass_cancel(AccountId(acct), 2, &mut e2);
        assert_eq!(e1, e2);
    }
    assert_eq!(b.live_orders(), 0);
    // a restore into a book with fewer special slots than the snapshot's special orders fails
    let mut c = Book::new(I, cfg).unwrap();
    run(&mut c, ice(1, 90));
    run(&mut c, ice(2, 89));
    let mut snap = Vec::new();
    c.snapshot(&mut snap);
    let small = BookConfig {
        max_special_orders: 1,
        ..cfg
    };
    assert!(matches!(
        Book::restore(I, small, &snap),
        Err(crate::BookSnapshotError::Capacity {
            what: "max_special_orders",
            ..
        })
    ));
}

#[test]
fn sparse_fallback_prices() {
    let mut b = Book::new(
        I,
        BookConfig {
            dense_levels: 64,
            sparse_levels: 2,
            anchor: Some(Price(1000)),
            ..BookConfig::default()
        },
    )
    .unwrap();
    run(&mut b, lim(1, Side::Buy, 1000, 1, 1));
    run(&mut b, lim(2, Side::Buy, 10, 1, 1)); // sparse low
    run(&mut b, lim(3, Side::Buy, 5000, 1, 1)); // sparse high: best
    assert_eq!(b.sparse_levels_used(Side::Buy), 2);
    assert_eq!(b.best_bid(), Some(Price(5000)));
    let ev = run(&mut b, lim(4, Side::Buy, 6000, 1, 1));
    assert_eq!(reject_of(&ev), Some((RejectReason::BookFull, 2, 2)));
    run(&mut b, lim(5, Side::Buy, 5000, 1, 2)); // existing sparse level is fine
    let mut lv = vec![];
    b.for_each_level(Side::Buy, |l| lv.push((l.price.0, l.orders)));
    assert_eq!(lv, vec![(5000, 2), (1000, 1), (10, 1)]);
    let ev = run(&mut b, lim(6, Side::Sell, 10, 4, 3));
    assert_eq!(
        trades(&ev),
        vec![(3, 5000, 1), (5, 5000, 1), (1, 1000, 1), (2, 10, 1)]
    );
    assert_eq!(b.sparse_levels_used(Side::Buy), 0);
    assert_eq!(b.best_bid(), None);
    check(&b);
}

#[test]
fn absurd_inputs_never_panic() {
    let mut b = book();
    let mut ev = Vec::new();
    let absurd = [
        lim(1, Side::Buy, i64::MAX, u64::MAX, u32::MAX),
        lim(2, Side::Sell, i64::MIN, 1, 0),
        lim(u64::MAX, Side::Sell, 1 << 53, u64::MAX, 0),
        NewOrder {
            display_qty: Qty(u64::MAX - 1),
            ..lim(3, Side::Buy, 1, u64::MAX, 1)
        },
        NewOrder {
            ord_type: OrdType::Stop,
            stop_price: Price(i64::MIN),
            ..lim(4, Side::Buy, 0, 1, 1)
        },
        NewOrder {
            ord_type: OrdType::Market,
            tif: TimeInForce::Fok,
            ..lim(5, Side::Buy, 0, u64::MAX, 1)
        },
        NewOrder {
            tif: TimeInForce::Gtd,
            expire_time: u64::MAX,
            ..lim(6, Side::Buy, 1 << 53, u64::MAX, 1)
        },
    ];
    for o in absurd {
        b.new_order(&o, u64::MAX - 1, &mut ev);
        check(&b);
    }
    let r = run(&mut b, lim(7, Side::Sell, 1, u64::MAX, 2));
    assert!(!trades(&r).is_empty());
    b.modify(
        &ModifyOrder {
            order_id: OrderId(7),
            price: Price(i64::MAX),
            qty: Qty(u64::MAX),
            account: AccountId(2),
            instrument: I,
        },
        0,
        &mut ev,
    );
    b.modify(
        &ModifyOrder {
            order_id: OrderId(7),
            price: Price(1 << 53),
            qty: Qty(u64::MAX),
            account: AccountId(2),
            instrument: I,
        },
        0,
        &mut ev,
    );
    assert!(!b.fill_resting(OrderId(7), Qty(u64::MAX), 0, &mut ev));
    assert!(b.level(Side::Buy, Price(i64::MIN)).is_none());
    assert!(b.level(Side::Sell, Price(i64::MAX)).is_none());
    b.expire(u64::MAX, &mut ev);
    b.mass_cancel(AccountId(u32::MAX), 0, &mut ev);
    check(&b);
    let _ = b.state_hash();
}

#[test]
fn replay_helpers() {
    let mut b = book();
    run(
        &mut b,
        NewOrder {
            display_qty: Qty(2),
            ..lim(1, Side::Sell, 100, 5, 1)
        },
    );
    run(&mut b, lim(2, Side::Sell, 100, 3, 2));
    let mut ev = Vec::new();
    assert!(!b.fill_resting(OrderId(1), Qty(3), 0, &mut ev));
    assert!(b.fill_resting(OrderId(1), Qty(2), 0, &mut ev));
    assert!(matches!(
        ev[0],
        EventKind::Trade {
            taker_order_id: OrderId(0),
            aggressor: Side::Buy,
            maker_leaves: Qty(3),
            ..
        }
    ));
    assert!(b.is_head_of_level(OrderId(2)));
    assert_eq!(b.last_trade_price(), Some(Price(100)));
    ev.clear();
    assert!(b.reduce_resting(OrderId(2), Qty(1), &mut ev));
    assert_eq!(cancels(&ev), vec![(2, CancelReason::Requested, 1)]);
    assert!(b.is_head_of_level(OrderId(2)));
    assert!(b.reduce_resting(OrderId(2), Qty(2), &mut ev));
    assert!(b.order(OrderId(2)).is_none());
    assert!(!b.reduce_resting(OrderId(1), Qty(4), &mut ev));
    check(&b);
}

#[test]
fn state_hash_tracks_state() {
    let mut a = book();
    let mut b = book();
    assert_eq!(a.state_hash(), b.state_hash());
    run(&mut a, lim(1, Side::Buy, 100, 1, 1));
    assert_ne!(a.state_hash(), b.state_hash());
    run(&mut b, lim(1, Side::Buy, 100, 1, 1));
    assert_eq!(a.state_hash(), b.state_hash());
    assert!(a.memory_bytes() > 64 * 64);
}

/// Tiny deterministic generator.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn random_streams_keep_invariants() {
    for seed in 0..20u64 {
        let mut r = Lcg(seed);
        let cfg = BookConfig {
            dense_levels: 32,
            sparse_levels: 6,
            max_orders: 48,
            market_protection_ticks: 3,
            ..BookConfig::default()
        };
        let mut b = Book::new(I, cfg).unwrap();
        let mut ev = Vec::new();
        for step in 0..3000u64 {
            let now = step;
            b.expire(now, &mut ev);
            let id = r.next() % 64 + 1;
            let acct = (r.next() % 4) as u32;
            let side = if r.next().is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            };
            let px =
                990 + (r.next() % 30) as i64 + if r.next().is_multiple_of(10) { 100 } else { 0 };
            match r.next() % 10 {
                0..=4 => {
                    let ord_type = match r.next() % 10 {
                        0 => OrdType::Market,
                        1 => OrdType::Stop,
                        2 => OrdType::StopLimit,
                        _ => OrdType::Limit,
                    };
                    let tif = match r.next() % 8 {
                        0 => TimeInForce::Ioc,
                        1 => TimeInForce::Fok,
                        2 => TimeInForce::Gtd,
                        3 => TimeInForce::PostOnly,
                        _ => TimeInForce::Gtc,
                    };
                    let stp = match r.next() % 5 {
                        0 => StpMode::CancelResting,
                        1 => StpMode::CancelAggressor,
                        2 => StpMode::CancelBoth,
                        3 => StpMode::DecrementAndCancel,
                        _ => StpMode::None,
                    };
                    let qty = r.next() % 10 + 1;
                    let display_qty = if r.next().is_multiple_of(5) {
                        Qty(r.next() % qty)
                    } else {
                        Qty(0)
                    };
                    let o = NewOrder {
                        order_id: OrderId(id),
                        price: Price(px),
                        stop_price: Price(px + (r.next() % 7) as i64 - 3),
                        qty: Qty(qty),
                        display_qty,
                        expire_time: now + r.next() % 50,
                        account: AccountId(acct),
                        instrument: I,
                        stp_group: 0,
                        side,
                        ord_type,
                        tif,
                        stp,
                        flags: OrderFlags::NONE,
                    };
                    b.new_order(&o, now, &mut ev);
                }
                5 | 6 => b.cancel(
                    &CancelOrder {
                        order_id: OrderId(id),
                        account: AccountId(acct),
                        instrument: I,
                    },
                    now,
                    &mut ev,
                ),
                7 | 8 => b.modify(
                    &ModifyOrder {
                        order_id: OrderId(id),
                        price: Price(px),
                        qty: Qty(r.next() % 10 + 1),
                        account: AccountId(acct),
                        instrument: I,
                    },
                    now,
                    &mut ev,
                ),
                _ => b.mass_cancel(AccountId(acct), now, &mut ev),
            }
            check(&b);
            // every event about an order is consistent with the book afterwards
            ev.clear();
        }
    }
}

/// The QuantCup feed as book calls (see `benches/book.rs`); empty if the file is missing.
fn quantcup_feed() -> Vec<(bool, NewOrder)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/qc_orders.csv"
    );
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut owners: Vec<u32> = vec![0];
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (Ok(trader), Ok(price), Ok(qty)) = (
            f[0].parse::<u32>(),
            f[2].parse::<i64>(),
            f[3].parse::<u64>(),
        ) else {
            continue;
        };
        if price == 0 {
            let acct = owners.get(qty as usize).copied().unwrap_or(0);
            out.push((true, lim(qty, Side::Buy, 0, 0, acct)));
        } else {
            let id = owners.len() as u64;
            owners.push(trader);
            let side = if f[1] == "Bid" { Side::Buy } else { Side::Sell };
            out.push((false, lim(id, side, price, qty, trader)));
        }
    }
    out
}

#[inline(never)]
fn replay_qc(b: &mut Book, feed: &[(bool, NewOrder)], sink: &mut CountSink) {
    for (t, (is_cancel, o)) in feed.iter().enumerate() {
        if *is_cancel {
            let c = CancelOrder {
                order_id: o.order_id,
                account: o.account,
                instrument: I,
            };
            b.cancel(&c, t as u64, sink);
        } else {
            b.new_order(o, t as u64, sink);
        }
    }
}

struct CountSink(u64);
impl EventKindSink for CountSink {
    #[inline(always)]
    fn emit(&mut self, kind: EventKind) {
        self.0 += 1;
        std::hint::black_box(&kind);
    }
}

/// Replays the QuantCup feed once (for `valgrind --tool=callgrind --toggle-collect=*replay_qc*`
/// instruction counts) and checks the book stays consistent.
#[test]
fn quantcup_feed_replays_cleanly() {
    let feed = quantcup_feed();
    let cfg = BookConfig {
        max_orders: 1 << 17,
        dense_levels: 1 << 12,
        sparse_levels: 256,
        ..BookConfig::default()
    };
    let mut b = Book::new(I, cfg).unwrap();
    let mut sink = CountSink(0);
    replay_qc(&mut b, &feed, &mut sink);
    check(&b);
    println!("quantcup: {} messages, {} events", feed.len(), sink.0);
    if !feed.is_empty() {
        assert!(sink.0 > feed.len() as u64);
    }
}

#[test]
fn triggered_stop_edge_cases() {
    let mut b = book();
    run(&mut b, lim(1, Side::Sell, 100, 1, 1));
    run(&mut b, lim(2, Side::Buy, 100, 1, 2)); // L = 100, book empty
    // buy stop (market) triggering into an empty ask side: Cancelled Unfilled
    run(&mut b, stop(3, Side::Buy, 101, 5, 3));
    // FOK stop-limit that cannot fill at trigger: Cancelled Unfilled
    let fok = NewOrder {
        ord_type: OrdType::StopLimit,
        stop_price: Price(101),
        tif: TimeInForce::Fok,
        ..lim(4, Side::Buy, 101, 50, 4)
    };
    run(&mut b, fok);
    // post-only stop-limit that would cross at trigger: Cancelled Unfilled
    let po = NewOrder {
        ord_type: OrdType::StopLimit,
        stop_price: Price(101),
        tif: TimeInForce::PostOnly,
        ..lim(5, Side::Buy, 102, 1, 5)
    };
    run(&mut b, po);
    run(&mut b, lim(6, Side::Sell, 101, 1, 6));
    run(&mut b, lim(7, Side::Sell, 102, 2, 6));
    let ev = run(&mut b, lim(8, Side::Buy, 101, 1, 7)); // L = 101: 3, 4, 5 trigger in entry order
    let order: Vec<(u64, &str)> = ev
        .iter()
        .filter_map(|e| match e {
            EventKind::Triggered { order_id, .. } => Some((order_id.0, "trig")),
            EventKind::Cancelled { order_id, .. } => Some((order_id.0, "cxl")),
            EventKind::Trade { maker_order_id, .. } => Some((maker_order_id.0, "trade")),
            _ => None,
        })
        .collect();
    // 3 (market) takes 102 x2; the ask side is then empty so its remainder is Unfilled (not
    // MarketProtection). 4 (FOK, 50 lots) cannot fill. 5 (post-only) no longer crosses and rests.
    assert_eq!(
        order,
        vec![
            (6, "trade"),
            (3, "trig"),
            (7, "trade"),
            (3, "cxl"),
            (4, "trig"),
            (4, "cxl"),
            (5, "trig")
        ]
    );
    assert_eq!(
        cancels(&ev),
        vec![
            (3, CancelReason::Unfilled, 3),
            (4, CancelReason::Unfilled, 50)
        ]
    );
    assert_eq!(b.best_bid(), Some(Price(102)));
    assert!(!b.order(OrderId(5)).unwrap().is_stop);
    check(&b);
}

#[test]
fn level_events_off_and_iceberg_modify() {
    let cfg = BookConfig {
        level_events: false,
        ..BookConfig::default()
    };
    let mut b = Book::new(I, cfg).unwrap();
    let ev = run(
        &mut b,
        NewOrder {
            display_qty: Qty(2),
            ..lim(1, Side::Sell, 100, 10, 1)
        },
    );
    assert_eq!(ev.len(), 1);
    let mut ev = Vec::new();
    // same price, smaller qty: hidden lots go first, visible unchanged
    let m = ModifyOrder {
        order_id: OrderId(1),
        price: Price(100),
        qty: Qty(5),
        account: AccountId(1),
        instrument: I,
    };
    b.modify(&m, 1, &mut ev);
    assert_eq!(ev.len(), 1);
    let o = b.order(OrderId(1)).unwrap();
    assert_eq!((o.visible, o.leaves), (Qty(2), Qty(5)));
    let mut b = book();
    run(
        &mut b,
        NewOrder {
            display_qty: Qty(2),
            ..lim(1, Side::Sell, 100, 10, 1)
        },
    );
    let mut ev = Vec::new();
    b.modify(&m, 1, &mut ev);
    assert_eq!(
        ev.len(),
        1,
        "no LevelChanged when only hidden lots change: {ev:?}"
    );
    // lose priority with a bigger qty: visible = min(display, qty)
    ev.clear();
    b.modify(&ModifyOrder { qty: Qty(20), ..m }, 1, &mut ev);
    let o = b.order(OrderId(1)).unwrap();
    assert_eq!((o.visible, o.leaves), (Qty(2), Qty(20)));
    check(&b);
}

#[test]
fn market_order_stp_cancel_aggressor_stops_matching() {
    let mut b = book();
    run(&mut b, lim(1, Side::Buy, 100, 5, 2));
    run(&mut b, lim(2, Side::Buy, 99, 5, 1));
    let o = NewOrder {
        stp: StpMode::CancelAggressor,
        ..mkt(3, Side::Sell, 8, 1)
    };
    let ev = run(&mut b, o);
    assert_eq!(trades(&ev), vec![(1, 100, 5)]);
    assert_eq!(cancels(&ev), vec![(3, CancelReason::SelfTrade, 3)]);
    assert_eq!(b.live_orders(), 1);
    check(&b);
}
