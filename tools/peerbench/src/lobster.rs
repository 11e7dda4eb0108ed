//! Adapter for the `lobster` 0.7.0 crate (`lobster::OrderBook`).
//!
//! Mapping: a limit row is `OrderType::Limit { id, side, qty, price }` with the feed's order
//! number as id (u128), the price in cents and the quantity as is; a cancel row is
//! `OrderType::Cancel { id }`. Lobster looks the id up in its arena's hash map, so a cancel of an
//! id that is not live (never issued, already cancelled, or filled) removes nothing. The book is
//! built with an arena for every order of the feed (`OrderBook::new(orders, 10, false)`, stats
//! tracking off), so it does not grow during the run.

use crate::adapter::{Adapter, BookSizing, Levels};
use crate::feed::FeedMsg;
use ferrex_types::Side;
use lobster::{OrderBook, OrderType};

/// `lobster::OrderBook` behind [`Adapter`].
#[derive(Debug)]
pub struct Lobster {
    book: OrderBook,
}

impl Adapter for Lobster {
    const NAME: &'static str = "lobster";

    fn new(sizing: BookSizing) -> Self {
        Lobster {
            book: OrderBook::new(sizing.orders as usize, 10, false),
        }
    }

    #[inline]
    fn apply(&mut self, msg: &FeedMsg) {
        let order = match *msg {
            FeedMsg::Limit {
                id,
                price,
                qty,
                side,
                ..
            } => OrderType::Limit {
                id: u128::from(id),
                side: match side {
                    Side::Buy => lobster::Side::Bid,
                    Side::Sell => lobster::Side::Ask,
                },
                qty,
                price,
            },
            FeedMsg::Cancel { id, .. } => OrderType::Cancel { id: u128::from(id) },
        };
        // The event (with its Vec of fills) is the engine's output; dropping it is part of the cost.
        std::hint::black_box(self.book.execute(order));
    }

    fn levels(&self) -> Levels {
        // `depth(n)` walks every level whatever `n` is (it only uses `n` as a Vec capacity) and
        // skips levels whose queue sums to 0; asks come lowest first, bids lowest first.
        let d = self.book.depth(0);
        Levels {
            bids: d.bids.iter().rev().map(|l| (l.price, l.qty)).collect(),
            asks: d.asks.iter().map(|l| (l.price, l.qty)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::tests::check_tiny_cross;

    #[test]
    fn tiny_cross() {
        check_tiny_cross::<Lobster>();
    }
}
