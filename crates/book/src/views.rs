//! Read-only views handed out by the book's query methods (plain `Copy` values).

use ferrex_types::{AccountId, OrderId, Price, Qty, Side};

/// One price level as seen by market data: price, visible lots, order count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelView {
    /// Level price.
    pub price: Price,
    /// Visible lots at the level (icebergs count their displayed part only).
    pub qty: Qty,
    /// Orders at the level.
    pub orders: u32,
}

/// One live order (resting or pending stop).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderView {
    /// Its id.
    pub order_id: OrderId,
    /// Owner.
    pub account: AccountId,
    /// Side.
    pub side: Side,
    /// Limit price (stop-limit: its limit; stop: 0).
    pub price: Price,
    /// Stop price (0 for non-stop orders).
    pub stop_price: Price,
    /// Open lots, visible + hidden.
    pub leaves: Qty,
    /// Visible (displayed) lots; 0 for a pending stop.
    pub visible: Qty,
    /// True while it is a pending (untriggered) stop.
    pub is_stop: bool,
}
