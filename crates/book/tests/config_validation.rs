//! `Book::new` refuses configurations that `BookConfig`'s documentation rules out, and accepts
//! the ones the other tests use.

use ferrex_book::{Book, BookConfig};
use ferrex_types::{InstrumentId, Price};

fn base() -> BookConfig {
    BookConfig {
        max_orders: 64,
        dense_levels: 64,
        sparse_levels: 64,
        ..BookConfig::default()
    }
}

#[test]
fn rejects_invalid_configs() {
    let bad = [
        (
            "tick 0",
            BookConfig {
                tick_size: 0,
                ..base()
            },
        ),
        (
            "tick < 0",
            BookConfig {
                tick_size: -5,
                ..base()
            },
        ),
        (
            "lot 0",
            BookConfig {
                lot_size: 0,
                ..base()
            },
        ),
        (
            "min price 0",
            BookConfig {
                min_price: Price(0),
                ..base()
            },
        ),
        (
            "min price < 0",
            BookConfig {
                min_price: Price(-10),
                ..base()
            },
        ),
        (
            "min > max",
            BookConfig {
                min_price: Price(100),
                max_price: Price(99),
                ..base()
            },
        ),
        (
            "no order slots",
            BookConfig {
                max_orders: 0,
                ..base()
            },
        ),
        (
            "negative protection",
            BookConfig {
                market_protection_ticks: -1,
                ..base()
            },
        ),
    ];
    for (what, cfg) in bad {
        assert!(
            Book::new(InstrumentId(1), cfg).is_err(),
            "{what} accepted: {cfg:?}"
        );
    }
}

#[test]
fn accepts_valid_configs() {
    for cfg in [
        base(),
        BookConfig {
            min_price: Price(5),
            max_price: Price(5),
            ..base()
        },
        BookConfig {
            market_protection_ticks: i64::MAX,
            tick_size: 7,
            ..base()
        },
        BookConfig {
            anchor: Some(Price(1 << 40)),
            ..base()
        },
    ] {
        assert!(Book::new(InstrumentId(1), cfg).is_ok(), "{cfg:?} refused");
    }
}
