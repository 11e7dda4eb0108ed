//! Events: everything the engine emits.

use crate::{
    AccountId, CancelReason, InstrumentId, OrderId, Price, Qty, RejectReason, Side, TradingState,
};

/// One output of the engine.
///
/// `seq` numbers events (1, 2, 3, … over the engine's life, no gaps); `cmd_seq` is the sequence
/// number of the command that caused the event, `time` that command's engine time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    /// Event sequence number (gap-free).
    pub seq: u64,
    /// Sequence number of the causing command.
    pub cmd_seq: u64,
    /// Engine time of the causing command (ns).
    pub time: u64,
    /// What happened.
    pub kind: EventKind,
}

/// The event variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A new order was accepted (it may trade right after, in following events).
    Accepted {
        /// The order.
        order_id: OrderId,
        /// Owner.
        account: AccountId,
        /// Book.
        instrument: InstrumentId,
        /// Side.
        side: Side,
        /// Limit price (0 for market and stop orders).
        price: Price,
        /// Quantity entered.
        qty: Qty,
    },
    /// An input was refused. `limit` and `value` say which limit broke and by what (0 where n/a).
    Rejected {
        /// The order the input named.
        order_id: OrderId,
        /// Account of the input.
        account: AccountId,
        /// Instrument of the input.
        instrument: InstrumentId,
        /// Why.
        reason: RejectReason,
        /// The limit that applied (ticks, lots, notional, count: depends on the reason).
        limit: i64,
        /// The value that broke it.
        value: i64,
    },
    /// A trade between a resting (maker) and an incoming (taker) order.
    Trade {
        /// Book.
        instrument: InstrumentId,
        /// Trade price (the maker's price).
        price: Price,
        /// Traded lots.
        qty: Qty,
        /// Resting order.
        maker_order_id: OrderId,
        /// Incoming order.
        taker_order_id: OrderId,
        /// Maker's open quantity after this trade (visible + hidden).
        maker_leaves: Qty,
        /// Taker's open quantity after this trade.
        taker_leaves: Qty,
        /// Maker account.
        maker_account: AccountId,
        /// Taker account.
        taker_account: AccountId,
        /// Side of the taker (aggressor).
        aggressor: Side,
    },
    /// An order or its remainder left the book without trading.
    Cancelled {
        /// The order.
        order_id: OrderId,
        /// Owner.
        account: AccountId,
        /// Book.
        instrument: InstrumentId,
        /// Why.
        reason: CancelReason,
        /// Lots cancelled (the open quantity it had, or the part a partial cancel took).
        qty: Qty,
        /// Side of the order.
        side: Side,
        /// The order's price in the book (its limit price; 0 for a market order and a pending
        /// stop order without a limit).
        price: Price,
        /// Its open quantity left after this cancel: 0 when the order is gone (every cancel but
        /// a self-trade decrement or a replay's partial cancel).
        leaves: Qty,
    },
    /// A modify was applied.
    Replaced {
        /// The order.
        order_id: OrderId,
        /// Owner.
        account: AccountId,
        /// Book.
        instrument: InstrumentId,
        /// New price.
        price: Price,
        /// New open quantity.
        qty: Qty,
        /// True when time priority was kept (same price, quantity not increased).
        kept_priority: bool,
    },
    /// A stop order was triggered by a trade and enters the book now.
    Triggered {
        /// The order.
        order_id: OrderId,
        /// Owner.
        account: AccountId,
        /// Book.
        instrument: InstrumentId,
        /// Its stop price.
        stop_price: Price,
        /// The trade price that triggered it.
        trade_price: Price,
    },
    /// A GTD order reached its expire time.
    Expired {
        /// The order.
        order_id: OrderId,
        /// Owner.
        account: AccountId,
        /// Book.
        instrument: InstrumentId,
        /// Lots expired (the open quantity it had; the order is gone).
        qty: Qty,
        /// Side of the order.
        side: Side,
        /// The order's price in the book (its limit price).
        price: Price,
    },
    /// A price level's visible quantity changed (market data). `qty` 0 = the level is gone.
    LevelChanged {
        /// Book.
        instrument: InstrumentId,
        /// Side of the level.
        side: Side,
        /// Level price.
        price: Price,
        /// Total visible lots now at the level.
        qty: Qty,
        /// Orders now at the level.
        orders: u32,
    },
    /// An account's trading state changed (risk: kill switch, throttle halt, MMP freeze, command).
    AccountState {
        /// The account.
        account: AccountId,
        /// New state.
        state: TradingState,
        /// The reason code that caused it (`AccountHalted` for a command or kill, `Throttled`,
        /// `MmpFrozen`, …).
        cause: RejectReason,
        /// Engine time when it lifts by itself (0 = until changed).
        until: u64,
    },
    /// An instrument's trading state changed (command or volatility interruption).
    InstrumentState {
        /// The instrument.
        instrument: InstrumentId,
        /// New state.
        state: TradingState,
        /// The reason code that caused it.
        cause: RejectReason,
        /// Engine time when it lifts by itself (0 = until changed).
        until: u64,
    },
}

impl EventKind {
    /// The order id this event is about, where it has one (trades: the taker).
    pub const fn order_id(&self) -> Option<OrderId> {
        match *self {
            EventKind::Accepted { order_id, .. }
            | EventKind::Rejected { order_id, .. }
            | EventKind::Cancelled { order_id, .. }
            | EventKind::Replaced { order_id, .. }
            | EventKind::Triggered { order_id, .. }
            | EventKind::Expired { order_id, .. } => Some(order_id),
            EventKind::Trade { taker_order_id, .. } => Some(taker_order_id),
            _ => None,
        }
    }

    /// snake_case type name used in JSON output (`accepted`, `rejected`, `trade`, `cancelled`,
    /// `replaced`, `triggered`, `expired`, `level`, `account_state`, `instrument_state`).
    pub const fn type_name(&self) -> &'static str {
        match self {
            EventKind::Accepted { .. } => "accepted",
            EventKind::Rejected { .. } => "rejected",
            EventKind::Trade { .. } => "trade",
            EventKind::Cancelled { .. } => "cancelled",
            EventKind::Replaced { .. } => "replaced",
            EventKind::Triggered { .. } => "triggered",
            EventKind::Expired { .. } => "expired",
            EventKind::LevelChanged { .. } => "level",
            EventKind::AccountState { .. } => "account_state",
            EventKind::InstrumentState { .. } => "instrument_state",
        }
    }
}
