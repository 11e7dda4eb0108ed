//! The small value types of the risk API: market view, order snapshot, reject, action.

use ferrex_types::{AccountId, Price, Qty, RejectReason, Side};

/// What the risk layer reads from the book for one check: the best prices and the last trade.
/// A [`Market`] given by value (tests, modify checks). For new orders the engine passes the
/// book itself through [`Market`], so a check reads only the values it needs; this crate
/// neither depends on nor borrows the book.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarketView {
    /// Best bid, if any.
    pub best_bid: Option<Price>,
    /// Best ask, if any.
    pub best_ask: Option<Price>,
    /// Last trade price of the book, if it has traded.
    pub last_trade: Option<Price>,
}

/// Where a new-order check reads the market: a [`MarketView`], or (the engine) the book itself,
/// so that a check reads only what it needs (a plain limit order with a price band reads the
/// last trade only; an order without a band reads nothing).
pub trait Market {
    /// Best bid, if any.
    fn best_bid(&self) -> Option<Price>;
    /// Best ask, if any.
    fn best_ask(&self) -> Option<Price>;
    /// Last trade price of the book, if it has traded.
    fn last_trade(&self) -> Option<Price>;
}

impl<T: Market + ?Sized> Market for &T {
    #[inline(always)]
    fn best_bid(&self) -> Option<Price> {
        (**self).best_bid()
    }
    #[inline(always)]
    fn best_ask(&self) -> Option<Price> {
        (**self).best_ask()
    }
    #[inline(always)]
    fn last_trade(&self) -> Option<Price> {
        (**self).last_trade()
    }
}

impl Market for MarketView {
    #[inline(always)]
    fn best_bid(&self) -> Option<Price> {
        self.best_bid
    }
    #[inline(always)]
    fn best_ask(&self) -> Option<Price> {
        self.best_ask
    }
    #[inline(always)]
    fn last_trade(&self) -> Option<Price> {
        self.last_trade
    }
}

/// The order a modify applies to, as the book has it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderSnapshot {
    /// Side of the order.
    pub side: Side,
    /// Its current limit price.
    pub price: Price,
    /// Its current open quantity.
    pub leaves: Qty,
}

/// A refused input: the reason, the limit that applied and the value that broke it (0 where
/// not applicable). Maps one to one onto `EventKind::Rejected`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskReject {
    /// Why.
    pub reason: RejectReason,
    /// The limit that applied.
    pub limit: i64,
    /// The value that broke it.
    pub value: i64,
}

impl RiskReject {
    #[inline(always)]
    pub(crate) const fn new(reason: RejectReason, limit: i64, value: i64) -> RiskReject {
        RiskReject {
            reason,
            limit,
            value,
        }
    }
}

/// What the engine must do after `on_event` / `control` returns. Cold: only kills and MMP trips
/// produce anything but `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RiskAction {
    /// Nothing.
    #[default]
    None,
    /// Kill switch: cancel every live order of the account on every instrument
    /// (`CancelReason::Kill`).
    CancelAccount(AccountId),
    /// Market-maker protection tripped: cancel the account's MMP-flagged orders
    /// (enumerate them with `Risk::mmp_orders`; `CancelReason::Mmp`).
    CancelMmp(AccountId),
    /// Both accounts of one trade tripped MMP at once: cancel both accounts' MMP orders.
    CancelMmpBoth(AccountId, AccountId),
}

/// Book parameters the risk config owns, for the engine to copy into `BookConfig` so the book
/// and the risk layer agree (tick, lot, price range, market protection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookParams {
    /// Tick size (price units).
    pub tick_size: i64,
    /// Lot size.
    pub lot_size: u64,
    /// Lowest valid price.
    pub min_price: Price,
    /// Highest valid price.
    pub max_price: Price,
    /// Market-order protection in ticks (`BookConfig::market_protection_ticks`).
    pub market_protection_ticks: i64,
}

/// Saturating conversions for reject fields.
#[inline(always)]
pub(crate) fn sat_i64(x: i128) -> i64 {
    if x > i64::MAX as i128 {
        i64::MAX
    } else if x < i64::MIN as i128 {
        i64::MIN
    } else {
        x as i64
    }
}

#[inline(always)]
pub(crate) fn u2i(x: u64) -> i64 {
    if x > i64::MAX as u64 {
        i64::MAX
    } else {
        x as i64
    }
}
