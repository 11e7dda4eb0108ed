//! The small trait every engine adapter implements.

use crate::feed::{Feed, FeedMsg};

/// What an adapter needs to size (preallocate) its book, taken from the feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookSizing {
    /// Number of limit orders in the feed: an upper bound on live orders.
    pub orders: u64,
    /// Lowest and highest limit price in the feed (cents = ticks).
    pub price_range: (u64, u64),
}

impl BookSizing {
    /// Sizing for a feed.
    pub fn of(feed: &Feed) -> BookSizing {
        BookSizing {
            orders: feed.orders.max(1),
            price_range: feed.price_range,
        }
    }
}

/// Resting price levels of a book: `(price, total qty)`, bids best (highest) first, asks best
/// (lowest) first; empty levels are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Levels {
    /// Bid levels, highest price first.
    pub bids: Vec<(u64, u64)>,
    /// Ask levels, lowest price first.
    pub asks: Vec<(u64, u64)>,
}

impl Levels {
    /// Total resting bid and ask quantity.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.bids.iter().map(|l| l.1).sum(),
            self.asks.iter().map(|l| l.1).sum(),
        )
    }
}

/// One matching engine driven by the feed.
pub trait Adapter: Sized {
    /// Engine name as printed and in the JSON (`ferrex`, `lobster`, `orderbook-rs`).
    const NAME: &'static str;

    /// A fresh, empty engine with one book sized for the feed. Not timed.
    fn new(sizing: BookSizing) -> Self;

    /// Apply one feed message (the timed operation).
    fn apply(&mut self, msg: &FeedMsg);

    /// Resting price levels now.
    fn levels(&self) -> Levels;

    /// Total resting (bid, ask) quantity now.
    fn resting_qty(&self) -> (u64, u64) {
        self.levels().totals()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny hand feed: a buy that sweeps two ask levels (trades 100 @ 4800 and 20 @ 4801), a
    /// sell that partly fills a resting bid (10 @ 4799), cancels of a filled order, of a future
    /// id, of a resting order and of a partly filled one, then orders that must rest normally.
    pub(crate) const TINY_CROSS: &str = "trader_id,side,price,qty
1,Ask,4800,100
2,Ask,4801,50
3,Bid,4799,30
4,Bid,4801,120
5,Ask,0,1
5,Ask,0,99
6,Ask,4799,10
7,Bid,4798,5
7,Bid,0,6
8,Bid,4797,40
9,Bid,0,2
1,Bid,4802,10
2,Ask,4805,25
";

    /// Runs [`TINY_CROSS`] through `A` and checks the resting book; returns the adapter.
    pub(crate) fn check_tiny_cross<A: Adapter>() -> A {
        let feed = Feed::parse(TINY_CROSS).unwrap();
        let mut a = A::new(BookSizing::of(&feed));
        for m in &feed.msgs {
            a.apply(m);
        }
        let levels = a.levels();
        assert_eq!(
            levels,
            Levels {
                bids: vec![(4802, 10), (4799, 20), (4797, 40)],
                asks: vec![(4805, 25)],
            },
            "{}",
            A::NAME
        );
        assert_eq!(a.resting_qty(), (70, 25), "{}", A::NAME);
        a
    }
}

#[cfg(test)]
mod full_feed_tests {
    use super::*;

    fn final_levels<A: Adapter>(feed: &Feed) -> Levels {
        let mut a = A::new(BookSizing::of(feed));
        crate::measure::run(&mut a, &feed.msgs);
        a.levels()
    }

    /// The whole shipped feed: every engine ends with the same book (the `books_agree` check of
    /// the tool, as a test), and orderbook-rs reports no error.
    #[test]
    fn shipped_feed_books_agree() {
        let feed = Feed::load(&crate::default_feed_path()).unwrap();
        let lob = final_levels::<crate::lobster::Lobster>(&feed);
        assert_eq!(lob.totals(), (304_391, 226_846));
        let mut obr = crate::orderbook_rs::OrderbookRs::new(BookSizing::of(&feed));
        crate::measure::run(&mut obr, &feed.msgs);
        assert_eq!(obr.errors, 0);
        assert_eq!(obr.levels(), lob);
        #[cfg(feature = "ferrex")]
        assert_eq!(final_levels::<crate::ferrex::Ferrex>(&feed), lob);
    }
}
