//! Per-instrument book configuration.

use ferrex_types::Price;

/// Configuration of one instrument's book. All capacities are preallocated by `Book::new`;
/// nothing grows after that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookConfig {
    /// Valid prices are multiples of this many price units (ticks of the `Price` unit). ≥ 1.
    pub tick_size: i64,
    /// Valid quantities are multiples of this many lots. ≥ 1.
    pub lot_size: u64,
    /// Lowest valid limit/stop price (inclusive, > 0).
    pub min_price: Price,
    /// Highest valid limit/stop price (inclusive).
    pub max_price: Price,
    /// Maximum live orders (resting + pending stops) in this book: the slab capacity.
    pub max_orders: u32,
    /// How many of those `max_orders` slots can hold *special* orders: icebergs, stops and
    /// stop-limits, GTD orders, orders with an STP group other than their account. Only these
    /// slots carry the cold per-order record (40 bytes) and an expiry-heap place (24 bytes), so
    /// memory per order stays near the 48-byte hot node. Beyond it a special order is rejected
    /// `BookFull` (limit and value = this capacity). Clamped to `max_orders`.
    pub max_special_orders: u32,
    /// Most distinct accounts with live orders in this book at once (sizes the per-account
    /// order-list table, 12 bytes per bucket at load ≤ 1/2). An order that would rest for an
    /// account beyond it is rejected `BookFull` (limit = this, value = accounts now). ≥ 1;
    /// clamped to `max_orders`.
    pub max_accounts: u32,
    /// Number of tick-spaced levels per side held in the dense ladder around the anchor; prices
    /// outside the dense window go to the sparse fallback.
    pub dense_levels: u32,
    /// Capacity of the sparse fallback (distinct outlying price levels per side).
    pub sparse_levels: u32,
    /// Where the dense window is centred. `None`: on the first price the book sees.
    pub anchor: Option<Price>,
    /// Market-order protection, in ticks: a market (or triggered stop) order trades no further
    /// than the best opposite price at entry ± this many ticks; the remainder is cancelled
    /// (`CancelReason::MarketProtection`).
    pub market_protection_ticks: i64,
    /// Emit `LevelChanged` market-data events.
    pub level_events: bool,
}

impl Default for BookConfig {
    /// tick 1, lot 1, prices 1..=2^53, 1,048,576 orders (32,768 of them special), 16,384
    /// accounts, 65,536 dense levels, 4,096 sparse levels, protection 1,000 ticks, level events
    /// on.
    fn default() -> Self {
        BookConfig {
            tick_size: 1,
            lot_size: 1,
            min_price: Price(1),
            max_price: Price(1 << 53),
            max_orders: 1 << 20,
            max_special_orders: 1 << 15,
            max_accounts: 1 << 14,
            dense_levels: 1 << 16,
            sparse_levels: 4096,
            anchor: None,
            market_protection_ticks: 1000,
            level_events: true,
        }
    }
}
