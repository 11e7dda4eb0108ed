//! Regression tests for two classic matching-engine bugs:
//! (a) a marketable limit order trading through its limit price;
//! (b) cancelling a partly filled order leaving a level that holds only dead entries (best price
//!     stuck on it, and a market order spinning on it forever).

use std::sync::mpsc;
use std::time::Duration;

use ferrex_book::{Book, BookConfig};
use ferrex_types::{
    AccountId, CancelOrder, EventKind, InstrumentId, NewOrder, OrdType, OrderId, Price, Qty, Side,
    StpMode, TimeInForce,
};
use proptest::prelude::*;

const INST: InstrumentId = InstrumentId(1);

fn cfg() -> BookConfig {
    BookConfig {
        tick_size: 1,
        lot_size: 1,
        min_price: Price(1),
        max_price: Price(10_000),
        max_orders: 256,
        max_special_orders: 1 << 15,
        max_accounts: 1 << 14,
        dense_levels: 32,
        sparse_levels: 256,
        anchor: Some(Price(1000)),
        market_protection_ticks: 10_000,
        level_events: true,
    }
}

fn order(id: u64, acct: u32, side: Side, price: i64, qty: u64, display: u64) -> NewOrder {
    NewOrder {
        order_id: OrderId(id),
        price: Price(price),
        qty: Qty(qty),
        display_qty: Qty(display),
        account: AccountId(acct),
        instrument: INST,
        side,
        stp: StpMode::None,
        ..NewOrder::default()
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

/// Run `f` on another thread and fail if it does not finish in time (a hang is a failure, not a
/// stuck test run).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("book operation did not finish (hang?)")
}

/// A resting order: (side is opposite of the sweep), price offset from 1000, qty, display.
fn resting() -> impl Strategy<Value = (i64, u64, u64)> {
    (
        prop_oneof![8 => -6i64..=6, 1 => -200i64..=200],
        1u64..=9,
        prop_oneof![3 => Just(0u64), 1 => 1u64..=3],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// (a) Every trade of a marketable limit order is at or better than its limit, and when it
    /// leaves with a remainder nothing crossing its limit is left on the other side.
    #[test]
    fn limit_order_never_trades_through_its_limit(
        book_orders in prop::collection::vec(resting(), 1..40),
        sweeps in prop::collection::vec((any::<bool>(), -8i64..=8, 1u64..=60, prop_oneof![Just(TimeInForce::Gtc), Just(TimeInForce::Ioc)]), 1..6),
    ) {
        let mut book = Book::new(INST, cfg()).unwrap();
        let mut id = 0;
        let mut sink = Vec::new();
        for (k, &(off, qty, disp)) in book_orders.iter().enumerate() {
            // Alternate sides, away from the middle so the book does not cross while building.
            let side = if k % 2 == 0 { Side::Sell } else { Side::Buy };
            let price = match side {
                Side::Sell => 1010 + off.abs(),
                Side::Buy => 990 - off.abs(),
            };
            id += 1;
            let disp = if disp >= qty { 0 } else { disp };
            book.new_order(&order(id, 1 + (k % 3) as u32, side, price, qty, disp), 0, &mut sink);
        }
        for &(buy, off, qty, tif) in &sweeps {
            let side = if buy { Side::Buy } else { Side::Sell };
            let limit = match side {
                Side::Buy => 1010 + off * 2,
                Side::Sell => 990 - off * 2,
            };
            id += 1;
            let o = NewOrder { tif, ..order(id, 9, side, limit, qty, 0) };
            let mut ev = Vec::new();
            book.new_order(&o, 0, &mut ev);
            let mut leaves = qty;
            for e in &ev {
                if let EventKind::Trade { price, qty: q, taker_order_id, aggressor, .. } = *e {
                    prop_assert_eq!(taker_order_id, OrderId(id));
                    prop_assert_eq!(aggressor, side);
                    match side {
                        Side::Buy => prop_assert!(price.0 <= limit, "buy @{} traded at {:?}", limit, price),
                        Side::Sell => prop_assert!(price.0 >= limit, "sell @{} traded at {:?}", limit, price),
                    }
                    leaves -= q.0;
                }
            }
            if leaves > 0 {
                match side {
                    Side::Buy => prop_assert!(book.best_ask().is_none_or(|a| a.0 > limit)),
                    Side::Sell => prop_assert!(book.best_bid().is_none_or(|b| b.0 < limit)),
                }
            }
            if let (Some(b), Some(a)) = (book.best_bid(), book.best_ask()) {
                prop_assert!(b < a, "crossed: {:?} / {:?}", b, a);
            }
        }
    }

    /// (b) Partly fill one order of a level (wherever it sits in the queue), cancel it: the
    /// level is gone if it was alone (or shrinks if not), the best price moves on, and a market
    /// order afterwards finishes.
    #[test]
    fn cancel_after_partial_fill_leaves_no_dead_level(
        first in 995i64..=1005,
        gap in prop_oneof![1i64..=3, 100i64..=400],
        before in 0usize..3,
        after in 0usize..3,
        qty in 2u64..=9,
        display in prop_oneof![Just(0u64), 1u64..=1],
    ) {
        let mut book = Book::new(INST, cfg()).unwrap();
        let mut ev = Vec::new();
        let second = first + gap;
        let mut id = 0;
        // `before` small orders ahead of the target at `first`, the target, `after` behind it.
        for _ in 0..before {
            id += 1;
            book.new_order(&order(id, 1, Side::Sell, first, 1, 0), 0, &mut ev);
        }
        id += 1;
        let target = id;
        let display = if display >= qty { 0 } else { display };
        book.new_order(&order(target, 2, Side::Sell, first, qty, display), 0, &mut ev);
        for _ in 0..after {
            id += 1;
            book.new_order(&order(id, 1, Side::Sell, first, 1, 0), 0, &mut ev);
        }
        id += 1;
        book.new_order(&order(id, 1, Side::Sell, second, 5, 0), 0, &mut ev);
        // Take the orders ahead and one lot of the target.
        id += 1;
        let take = NewOrder { tif: TimeInForce::Ioc, ..order(id, 3, Side::Buy, first, before as u64 + 1, 0) };
        ev.clear();
        book.new_order(&take, 0, &mut ev);
        let traded: u64 = ev.iter().map(|e| if let EventKind::Trade { qty, .. } = e { qty.0 } else { 0 }).sum();
        prop_assert_eq!(traded, before as u64 + 1);
        prop_assert_eq!(book.order(OrderId(target)).map(|o| o.leaves), Some(Qty(qty - 1)));
        ev.clear();
        book.cancel(&CancelOrder { order_id: OrderId(target), account: AccountId(2), instrument: INST }, 0, &mut ev);
        prop_assert!(matches!(ev.first(), Some(EventKind::Cancelled { qty: q, .. }) if q.0 == qty - 1), "{:?}", ev);
        prop_assert!(book.order(OrderId(target)).is_none());
        if after == 0 {
            prop_assert!(book.level(Side::Sell, Price(first)).is_none());
            prop_assert_eq!(book.best_ask(), Some(Price(second)));
            let mut n = 0;
            book.for_each_level(Side::Sell, |l| {
                n += 1;
                assert!(l.qty.0 > 0 && l.orders > 0, "dead level listed: {l:?}");
            });
            prop_assert_eq!(n, 1);
        } else {
            let l = book.level(Side::Sell, Price(first)).unwrap();
            prop_assert_eq!((l.qty, l.orders), (Qty(after as u64), after as u32));
            prop_assert_eq!(book.best_ask(), Some(Price(first)));
        }
        // A market order for everything: must finish, and take exactly what is there.
        id += 1;
        let mkt = NewOrder { ord_type: OrdType::Market, ..order(id, 4, Side::Buy, 0, 100, 0) };
        let (book, ev) = within(10, move || {
            let mut ev = Vec::new();
            book.new_order(&mkt, 0, &mut ev);
            (book, ev)
        });
        let traded: u64 = ev.iter().map(|e| if let EventKind::Trade { qty, .. } = e { qty.0 } else { 0 }).sum();
        prop_assert_eq!(traded, after as u64 + 5);
        prop_assert_eq!(book.best_ask(), None);
        prop_assert_eq!(book.live_orders(), 0);
    }
}

/// The plain story of (b), as a fixed case.
#[test]
fn partial_fill_cancel_then_market_does_not_hang() {
    let mut book = Book::new(INST, cfg()).unwrap();
    let mut ev = Vec::new();
    book.new_order(&order(1, 1, Side::Sell, 1000, 10, 0), 0, &mut ev);
    book.new_order(&order(2, 1, Side::Sell, 1001, 10, 0), 0, &mut ev);
    book.new_order(&order(3, 2, Side::Buy, 1000, 4, 0), 0, &mut ev);
    ev.clear();
    book.cancel(
        &CancelOrder {
            order_id: OrderId(1),
            account: AccountId(1),
            instrument: INST,
        },
        0,
        &mut ev,
    );
    assert_eq!(book.best_ask(), Some(Price(1001)));
    assert!(book.level(Side::Sell, Price(1000)).is_none());
    let mkt = NewOrder {
        ord_type: OrdType::Market,
        ..order(4, 2, Side::Buy, 0, 15, 0)
    };
    let ev = within(10, move || {
        let mut ev = Vec::new();
        book.new_order(&mkt, 0, &mut ev);
        ev
    });
    assert!(
        matches!(
            ev[1],
            EventKind::Trade {
                price: Price(1001),
                qty: Qty(10),
                ..
            }
        ),
        "{ev:?}"
    );
}
