//! Prices on a non-power-of-two tick grid (ITCH replay uses tick 100 in 1/10000 dollars): the
//! fast add path leaves the grid check to the dense ladder, so on-grid prices rest and off-grid
//! prices are still rejected with `TickSize`, inside and outside the dense window, and with a
//! configured anchor that is itself off the grid.

use ferrex_book::{Book, BookConfig};
use ferrex_types::{
    AccountId, EventKind, InstrumentId, NewOrder, OrderId, Price, Qty, RejectReason, Side,
};

fn book(tick: i64, anchor: Option<Price>) -> Book {
    let cfg = BookConfig {
        tick_size: tick,
        max_orders: 256,
        dense_levels: 64,
        sparse_levels: 64,
        anchor,
        ..BookConfig::default()
    };
    Book::new(InstrumentId(0), cfg).expect("valid config")
}

fn add(b: &mut Book, id: u64, side: Side, price: i64) -> Vec<EventKind> {
    let o = NewOrder {
        order_id: OrderId(id),
        price: Price(price),
        qty: Qty(10),
        account: AccountId(1),
        side,
        ..NewOrder::default()
    };
    let mut out = Vec::new();
    b.new_order(&o, 0, &mut out);
    out
}

fn rejected_for_tick(ev: &[EventKind]) -> bool {
    matches!(
        ev,
        [EventKind::Rejected {
            reason: RejectReason::TickSize,
            ..
        }]
    )
}

#[test]
fn non_power_of_two_ticks_keep_the_grid() {
    for (tick, anchor) in [
        (100, None),
        (5, None),
        (7, Some(Price(1_003))),
        (100, Some(Price(12_345))),
    ] {
        let mut b = book(tick, anchor);
        let p0 = 100 * tick;
        // The first order anchors the dense window; later ones land inside it.
        let ev = add(&mut b, 1, Side::Buy, p0);
        assert!(
            matches!(ev[0], EventKind::Accepted { .. }),
            "tick {tick}: {ev:?}"
        );
        for (id, off) in [(2u64, tick), (3, 3 * tick), (4, -2 * tick)] {
            let ev = add(&mut b, id, Side::Buy, p0 + off);
            assert!(
                matches!(ev[0], EventKind::Accepted { .. }),
                "tick {tick} +{off}: {ev:?}"
            );
            assert_eq!(b.order(OrderId(id)).map(|o| o.price), Some(Price(p0 + off)));
        }
        // Off the grid, in the dense window and far outside it.
        for (id, p) in [
            (10u64, p0 + 1),
            (11, p0 + tick - 1),
            (12, p0 + 1_000 * tick + 1),
        ] {
            let ev = add(&mut b, id, Side::Sell, p);
            assert!(rejected_for_tick(&ev), "tick {tick} price {p}: {ev:?}");
            assert!(b.order(OrderId(id)).is_none());
        }
        assert_eq!(b.best_bid(), Some(Price(p0 + 3 * tick)));
    }
}
