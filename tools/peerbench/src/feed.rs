//! The QuantCup order feed: parsing, order numbering and repetition.
//!
//! Format (`data/README.md` §4): header `trader_id,side,price,qty`, then one row per event.
//! `side` is `Bid` or `Ask`, `price` an integer in cents. A row with `price` 0 cancels the order
//! numbered `qty`. Orders are numbered 1, 2, … in file order and only non-cancel rows take a
//! number (an order that fills completely on arrival still takes one). On cancel rows
//! `trader_id` and `side` are noise; only the order number counts.
//!
//! Cancels of an order number not issued yet (or never issued) are kept in the feed: every
//! engine receives them and treats them as a no-op (the id is not live), exactly as QuantCup's
//! reference engine does. [`FeedMsg::Cancel::issued`] says which they are.

use anyhow::{Context, bail, ensure};
use ferrex_types::Side;
use std::path::Path;

/// One preparsed feed message. `Copy`, 32 bytes, so a pass over the feed is a linear scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedMsg {
    /// A limit order (good till cancelled).
    Limit {
        /// Order number: 1, 2, … in feed order (offset per repeat).
        id: u64,
        /// Price in cents (= ticks with tick size 1).
        price: u64,
        /// Quantity in shares (= lots with lot size 1).
        qty: u64,
        /// The trader (`trader_id` column).
        trader: u32,
        /// Buy (`Bid`) or sell (`Ask`).
        side: Side,
    },
    /// Cancel the order numbered `id`.
    Cancel {
        /// The order number to cancel.
        id: u64,
        /// The trader that entered the target order when it was issued before this cancel;
        /// otherwise the cancel row's own `trader_id` (noise, and irrelevant: nothing to cancel).
        trader: u32,
        /// True when order `id` was issued before this cancel (it may since have traded away or
        /// been cancelled already). False: a no-op for every engine.
        issued: bool,
    },
}

/// A parsed feed plus the figures adapters need to size their books.
#[derive(Clone, Debug, Default)]
pub struct Feed {
    /// The messages, in order.
    pub msgs: Vec<FeedMsg>,
    /// Number of limit orders (the highest order number).
    pub orders: u64,
    /// Lowest and highest limit price (cents); (0, 0) when there is no order.
    pub price_range: (u64, u64),
}

/// One raw row: (trader, side, price, qty).
type Row = (u32, Side, u64, u64);

impl Feed {
    /// Read and parse a feed file.
    pub fn load(path: &Path) -> anyhow::Result<Feed> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading feed {}", path.display()))?;
        Feed::parse(&text).with_context(|| format!("parsing feed {}", path.display()))
    }

    /// Parse feed text (with its header line).
    pub fn parse(text: &str) -> anyhow::Result<Feed> {
        Ok(Feed::number(&parse_rows(text)?, 1))
    }

    /// Parse feed text and replay it `repeat` times back to back. In repeat `r` (0-based) order
    /// numbers and cancel targets are offset by `r × orders per copy`, so each copy's orders get
    /// fresh ids and its cancels aim at its own orders.
    pub fn parse_repeated(text: &str, repeat: u32) -> anyhow::Result<Feed> {
        ensure!(repeat >= 1, "--repeat must be at least 1");
        Ok(Feed::number(&parse_rows(text)?, repeat))
    }

    /// Read a feed file and replay it `repeat` times (see [`Feed::parse_repeated`]).
    pub fn load_repeated(path: &Path, repeat: u32) -> anyhow::Result<Feed> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading feed {}", path.display()))?;
        Feed::parse_repeated(&text, repeat)
            .with_context(|| format!("parsing feed {}", path.display()))
    }

    /// Number the orders of `repeat` back-to-back copies of `rows`.
    fn number(rows: &[Row], repeat: u32) -> Feed {
        let per_copy = rows.iter().filter(|r| r.2 != 0).count() as u64;
        let total = per_copy * u64::from(repeat);
        let mut owner: Vec<u32> = Vec::with_capacity(total as usize);
        let mut msgs = Vec::with_capacity(rows.len() * repeat as usize);
        let mut lo = u64::MAX;
        let mut hi = 0;
        for r in 0..u64::from(repeat) {
            let offset = r * per_copy;
            for &(trader, side, price, qty) in rows {
                if price == 0 {
                    let id = qty + offset;
                    let issued = id >= 1 && id <= owner.len() as u64;
                    let trader = if issued {
                        owner[id as usize - 1]
                    } else {
                        trader
                    };
                    msgs.push(FeedMsg::Cancel { id, trader, issued });
                } else {
                    owner.push(trader);
                    lo = lo.min(price);
                    hi = hi.max(price);
                    msgs.push(FeedMsg::Limit {
                        id: owner.len() as u64,
                        price,
                        qty,
                        trader,
                        side,
                    });
                }
            }
        }
        Feed {
            msgs,
            orders: total,
            price_range: if total == 0 { (0, 0) } else { (lo, hi) },
        }
    }

    /// Drop the cancels whose target was not issued yet ([`FeedMsg::Cancel::issued`] false):
    /// they are no-ops in every engine. Order numbers are unchanged.
    pub fn without_unissued_cancels(mut self) -> Feed {
        self.msgs
            .retain(|m| !matches!(m, FeedMsg::Cancel { issued: false, .. }));
        self
    }

    /// Number of cancels whose target order was issued before them.
    pub fn issued_cancels(&self) -> usize {
        self.msgs
            .iter()
            .filter(|m| matches!(m, FeedMsg::Cancel { issued: true, .. }))
            .count()
    }

    /// Number of limit orders and of cancels.
    pub fn counts(&self) -> (usize, usize) {
        let limits = self
            .msgs
            .iter()
            .filter(|m| matches!(m, FeedMsg::Limit { .. }))
            .count();
        (limits, self.msgs.len() - limits)
    }
}

fn parse_rows(text: &str) -> anyhow::Result<Vec<Row>> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == "trader_id,side,price,qty" => {}
        Some((_, h)) => bail!("line 1: expected header `trader_id,side,price,qty`, found `{h}`"),
        None => bail!("empty feed: expected header `trader_id,side,price,qty`"),
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let n = i + 1;
        let mut f = line.split(',');
        let (Some(t), Some(s), Some(p), Some(q), None) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            bail!("line {n}: expected 4 fields `trader_id,side,price,qty`, found `{line}`");
        };
        let trader: u32 = t
            .trim()
            .parse()
            .with_context(|| format!("line {n}: trader_id `{t}` is not an integer"))?;
        let side = match s.trim() {
            "Bid" => Side::Buy,
            "Ask" => Side::Sell,
            other => bail!("line {n}: side `{other}` is neither `Bid` nor `Ask`"),
        };
        let price: u64 = p
            .trim()
            .parse()
            .with_context(|| format!("line {n}: price `{p}` is not a non-negative integer"))?;
        let qty: u64 = q
            .trim()
            .parse()
            .with_context(|| format!("line {n}: qty `{q}` is not a non-negative integer"))?;
        ensure!(price == 0 || qty > 0, "line {n}: limit order with qty 0");
        rows.push((trader, side, price, qty));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = "trader_id,side,price,qty
8,Bid,4799,500
4,Ask,4801,800
7,Bid,0,2
3,Ask,0,9
1,Bid,4800,100
2,Ask,0,1
";

    #[test]
    fn numbers_only_limit_rows_and_resolves_cancel_targets() {
        let f = Feed::parse(TINY).unwrap();
        assert_eq!(f.orders, 3);
        assert_eq!(f.price_range, (4799, 4801));
        assert_eq!(f.counts(), (3, 3));
        assert_eq!(
            f.msgs,
            vec![
                FeedMsg::Limit {
                    id: 1,
                    price: 4799,
                    qty: 500,
                    trader: 8,
                    side: Side::Buy
                },
                FeedMsg::Limit {
                    id: 2,
                    price: 4801,
                    qty: 800,
                    trader: 4,
                    side: Side::Sell
                },
                // cancel of order 2: owner is trader 4, not the row's noise trader 7
                FeedMsg::Cancel {
                    id: 2,
                    trader: 4,
                    issued: true
                },
                // order 9 was never issued: kept, flagged, a no-op everywhere
                FeedMsg::Cancel {
                    id: 9,
                    trader: 3,
                    issued: false
                },
                FeedMsg::Limit {
                    id: 3,
                    price: 4800,
                    qty: 100,
                    trader: 1,
                    side: Side::Buy
                },
                FeedMsg::Cancel {
                    id: 1,
                    trader: 8,
                    issued: true
                },
            ]
        );
    }

    #[test]
    fn cancel_of_a_future_id_is_not_issued() {
        let f = Feed::parse("trader_id,side,price,qty\n1,Bid,0,1\n1,Bid,4800,5\n").unwrap();
        assert_eq!(
            f.msgs[0],
            FeedMsg::Cancel {
                id: 1,
                trader: 1,
                issued: false
            }
        );
        assert!(matches!(f.msgs[1], FeedMsg::Limit { id: 1, .. }));
    }

    #[test]
    fn repeat_offsets_ids_and_targets() {
        let f = Feed::parse_repeated(TINY, 2).unwrap();
        assert_eq!(f.msgs.len(), 12);
        assert_eq!(f.orders, 6);
        assert!(matches!(
            f.msgs[6],
            FeedMsg::Limit {
                id: 4,
                price: 4799,
                ..
            }
        ));
        assert_eq!(
            f.msgs[8],
            FeedMsg::Cancel {
                id: 5,
                trader: 4,
                issued: true
            }
        );
        // target 9 + 3 = 12: still never issued
        assert_eq!(
            f.msgs[9],
            FeedMsg::Cancel {
                id: 12,
                trader: 3,
                issued: false
            }
        );
        assert_eq!(
            f.msgs[11],
            FeedMsg::Cancel {
                id: 4,
                trader: 8,
                issued: true
            }
        );
    }

    #[test]
    fn bad_input_names_the_line() {
        let e = Feed::parse("trader_id,side,price,qty\n1,Bid,4800,5\n1,Buy,4800,5\n").unwrap_err();
        assert!(format!("{e:#}").contains("line 3"), "{e:#}");
        let e = Feed::parse("a,b\n").unwrap_err();
        assert!(format!("{e:#}").contains("header"), "{e:#}");
        let e = Feed::parse("trader_id,side,price,qty\n1,Bid,48x0,5\n").unwrap_err();
        assert!(format!("{e:#}").contains("line 2: price"), "{e:#}");
    }

    #[test]
    fn shipped_feed_has_the_documented_counts() {
        let path = crate::default_feed_path();
        let f = Feed::load(&path).unwrap();
        assert_eq!(f.msgs.len(), 35_759);
        assert_eq!(f.counts(), (17_894, 17_865));
        assert_eq!(f.price_range, (4799, 4846));
        assert_eq!(f.issued_cancels(), 8_930);
        let g = f.clone().without_unissued_cancels();
        assert_eq!(g.counts(), (17_894, 8_930));
        assert_eq!(g.orders, f.orders);
    }
}
