//! Adapter for the `orderbook-rs` 0.15.3 crate (`orderbook_rs::OrderBook<()>`).
//!
//! Mapping: a limit row is `add_limit_order(Id::sequential(n), price, qty, side,
//! TimeInForce::Gtc, None)` with the feed's order number `n`, the price in cents (as u128) and
//! the quantity as is; a cancel row is `cancel_order(Id::sequential(n))`, which returns `Ok(None)`
//! when the id is not live (never issued, already cancelled, or filled). The book is
//! `OrderBook::new` (its default: no tick or lot size check, no self-trade prevention, no
//! listeners, wall-clock millisecond timestamps). Errors returned by the book are counted, never
//! expected on this feed.

use crate::adapter::{Adapter, BookSizing, Levels};
use crate::feed::FeedMsg;
use orderbook_rs::{Id, OrderBook, Side, TimeInForce};

/// `orderbook_rs::OrderBook<()>` behind [`Adapter`].
pub struct OrderbookRs {
    book: OrderBook<()>,
    /// Calls that returned an error.
    pub errors: u64,
}

impl Adapter for OrderbookRs {
    const NAME: &'static str = "orderbook-rs";

    fn new(_sizing: BookSizing) -> Self {
        OrderbookRs {
            book: OrderBook::new("QC"),
            errors: 0,
        }
    }

    #[inline]
    fn apply(&mut self, msg: &FeedMsg) {
        let ok = match *msg {
            FeedMsg::Limit {
                id,
                price,
                qty,
                side,
                ..
            } => {
                let side = match side {
                    ferrex_types::Side::Buy => Side::Buy,
                    ferrex_types::Side::Sell => Side::Sell,
                };
                let r = self.book.add_limit_order(
                    Id::sequential(id),
                    u128::from(price),
                    qty,
                    side,
                    TimeInForce::Gtc,
                    None,
                );
                std::hint::black_box(r).is_ok()
            }
            FeedMsg::Cancel { id, .. } => {
                std::hint::black_box(self.book.cancel_order(Id::sequential(id))).is_ok()
            }
        };
        self.errors += u64::from(!ok);
    }

    fn levels(&self) -> Levels {
        let side = |s| -> Vec<(u64, u64)> {
            self.book
                .levels_with_cumulative_depth(s)
                .filter_map(Result::ok)
                .filter(|l| l.quantity > 0)
                .map(|l| (l.price as u64, l.quantity))
                .collect()
        };
        Levels {
            bids: side(Side::Buy),
            asks: side(Side::Sell),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::tests::check_tiny_cross;

    #[test]
    fn tiny_cross() {
        let a = check_tiny_cross::<OrderbookRs>();
        assert_eq!(a.errors, 0);
    }
}
