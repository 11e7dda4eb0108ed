//! Adapter for ferrex (`ferrex_engine::Engine` with one book).
//!
//! Mapping: a limit row is `CommandKind::New(NewOrder)` with `order_id` = the feed's order number,
//! `price` = cents as ticks (tick size 1), `qty` = shares as lots (lot size 1), limit / GTC,
//! `account` = `trader_id + 1` (account 0 is not used), instrument 0 and **no self-trade
//! prevention** (`StpMode::None`: the peers have none, and the feed's traders do trade with
//! themselves). A cancel row is `CommandKind::Cancel` of that order number, sent by the account
//! that entered it (the cancel row's own `trader_id` is noise, see the feed docs); a cancel of an
//! id that is not live is rejected (`UnknownOrder`) and changes nothing. Command time is the
//! message index. Events go to a `CountingSink`. Level-change market-data events are off
//! (`level_events: false`): the peers publish no market data either.
//!
//! The book is sized from the feed: `max_orders` = number of orders in the feed (an upper bound
//! on live orders), a dense ladder of 4,096 levels per side anchored on the middle of the feed's
//! price range (the QuantCup feed spans 48 ticks), the default sparse fallback.

use crate::adapter::{Adapter, BookSizing, Levels};
use crate::feed::FeedMsg;
use ferrex_book::BookConfig;
use ferrex_engine::{Engine, EngineConfig};
use ferrex_types::{
    AccountId, CancelOrder, Command, CommandKind, CountingSink, InstrumentId, NewOrder, OrderId,
    Price, Qty, Side, StpMode,
};

/// A ferrex engine with one instrument, behind [`Adapter`].
pub struct Ferrex {
    engine: Engine,
    /// Event counts (trades, volume, rejects, cancels) so far.
    pub sink: CountingSink,
    time: u64,
}

/// The book configuration used for a feed.
pub fn book_config(sizing: BookSizing) -> BookConfig {
    let (lo, hi) = sizing.price_range;
    BookConfig {
        max_orders: u32::try_from(sizing.orders.max(1)).unwrap_or(u32::MAX),
        dense_levels: 1 << 12,
        anchor: if hi > 0 {
            Some(Price(((lo + hi) / 2) as i64))
        } else {
            None
        },
        level_events: false,
        ..BookConfig::default()
    }
}

impl Adapter for Ferrex {
    const NAME: &'static str = "ferrex";

    fn new(sizing: BookSizing) -> Self {
        let engine = Engine::new(EngineConfig {
            instruments: vec![book_config(sizing)],
        })
        .expect("peerbench's ferrex book configuration is valid");
        Ferrex {
            engine,
            sink: CountingSink::default(),
            time: 0,
        }
    }

    #[inline]
    fn apply(&mut self, msg: &FeedMsg) {
        self.time += 1;
        let time = self.time;
        // One `process` call per message kind: each inlined copy knows its command's kind, and a
        // cancel writes only its own fields (one shared call stored every field of a new order
        // for cancels too).
        match *msg {
            FeedMsg::Limit {
                id,
                price,
                qty,
                trader,
                side,
            } => self.engine.process(
                &Command {
                    time,
                    kind: CommandKind::New(NewOrder {
                        order_id: OrderId(id),
                        price: Price(price as i64),
                        qty: Qty(qty),
                        account: AccountId(trader + 1),
                        instrument: InstrumentId(0),
                        side,
                        stp: StpMode::None,
                        ..NewOrder::default()
                    }),
                },
                &mut self.sink,
            ),
            FeedMsg::Cancel { id, trader, .. } => self.engine.process(
                &Command {
                    time,
                    kind: CommandKind::Cancel(CancelOrder {
                        order_id: OrderId(id),
                        account: AccountId(trader + 1),
                        instrument: InstrumentId(0),
                    }),
                },
                &mut self.sink,
            ),
        }
    }

    fn levels(&self) -> Levels {
        let mut l = Levels::default();
        if let Some(book) = self.engine.book(InstrumentId(0)) {
            book.for_each_level(Side::Buy, |v| l.bids.push((v.price.0 as u64, v.qty.0)));
            book.for_each_level(Side::Sell, |v| l.asks.push((v.price.0 as u64, v.qty.0)));
        }
        l.bids.retain(|x| x.1 > 0);
        l.asks.retain(|x| x.1 > 0);
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::tests::check_tiny_cross;

    #[test]
    fn tiny_cross() {
        let a = check_tiny_cross::<Ferrex>();
        // trades: 100 @ 4800 and 20 @ 4801 (order 4 sweeps), 10 @ 4799 (order 6 hits order 3)
        assert_eq!((a.sink.trades, a.sink.volume), (3, 130));
        // the cancel of filled order 1 and of never-issued order 99 are rejected, nothing else
        assert_eq!(a.sink.rejects, 2);
        // cancels of resting order 6 and of partly filled order 2
        assert_eq!(a.sink.cancels, 2);
    }
}
