//! ferrex-book: one instrument's order book and matching engine.
//!
//! The exact behaviour is `docs/semantics.md`: price-time priority, limit / market / stop /
//! stop-limit orders, IOC / FOK / GTD / post-only, icebergs, self-trade prevention, modify with
//! keep/lose priority, mass cancel, GTD expiry. Every operation writes its events into an
//! [`EventKindSink`](ferrex_types::EventKindSink); every bad input becomes a `Rejected` event.
//!
//! Performance model (see [`Book`]):
//! - everything is preallocated by [`Book::new`]; no operation allocates afterwards;
//! - orders live in a slab of 48-byte nodes linked into intrusive FIFOs per level; icebergs,
//!   stops, GTD orders and explicit STP groups use *special* slots that also carry a cold record;
//! - `OrderId → slot` is an open-addressing map with 8-byte buckets at load ≤ 0.8;
//! - each side is a dense ladder of levels around the anchor with a two-level occupancy bitmap, and
//!   a small sorted sparse fallback for outlying prices;
//! - add at an existing level, cancel by id, execute at the top and best bid/offer are O(1).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod accounts;
mod book;
mod config;
mod expiry;
mod idmap;
mod ladder;
mod level;
mod matching;
mod slab;
mod stops;
mod views;

#[cfg(test)]
mod scenarios;

pub use book::snapshot::BookSnapshotError;
pub use book::{Book, BookConfigError, MAX_LEVELS_LIMIT, MAX_ORDERS_LIMIT};
pub use config::BookConfig;
pub use views::{LevelView, OrderView};
