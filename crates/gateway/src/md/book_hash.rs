//! A canonical hash of a book's *visible* state, comparable between the engine's books and books
//! rebuilt from the ITCH feed.
//!
//! `Book::state_hash` covers more than a feed can carry (accounts, hidden iceberg lots, entry
//! numbers, pending stops), so it differs between the engine and any replay of its public feed.
//! This hash covers exactly what the order-level feed publishes: for bids then asks, best level
//! first, each level's price (scaled to the feed's price units) and its orders in queue order as
//! (order id, visible lots).

use std::hash::Hasher;

use ferrex_engine::Book;
use ferrex_types::{FnvHasher, Side};

/// One visible level: price (feed units) and (order id, visible lots) in queue order.
pub type VisibleLevel = (i64, Vec<(u64, u64)>);

/// Bids and asks, best first.
pub fn visible_book(book: &Book, price_scale: i64) -> [Vec<VisibleLevel>; 2] {
    let mut sides: [Vec<VisibleLevel>; 2] = [Vec::new(), Vec::new()];
    for side in [Side::Buy, Side::Sell] {
        let mut levels = Vec::new();
        book.for_each_level(side, |l| levels.push(l.price));
        for p in levels {
            let mut orders = Vec::new();
            book.for_each_order_in_level(side, p, |o| orders.push((o.order_id.0, o.visible.0)));
            sides[side.index()].push((p.0.saturating_mul(price_scale), orders));
        }
    }
    sides
}

/// FNV-1a over [`visible_book`]: side tag, then per level the price, the order count and each
/// (id, visible). O(live orders).
pub fn visible_book_hash(book: &Book, price_scale: i64) -> u64 {
    let mut h = FnvHasher::default();
    for (i, levels) in visible_book(book, price_scale).iter().enumerate() {
        h.write_u8(i as u8);
        for (p, orders) in levels {
            h.write_i64(*p);
            h.write_u64(orders.len() as u64);
            for (id, vis) in orders {
                h.write_u64(*id);
                h.write_u64(*vis);
            }
        }
    }
    h.finish()
}
