//! Commands: everything the engine accepts. One `Command` is one sequenced input.

use crate::{AccountId, InstrumentId, OrderId, Price, Qty, Side};

/// One input to the engine, with its engine time.
///
/// `time` is engine nanoseconds: stamped by the sequencer in the threaded runtime, or taken from
/// the data in replay. Matching never reads a clock; it only reads this field. Times must be
/// non-decreasing; the engine clamps a time that goes backwards to the last one seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Command {
    /// Engine time in nanoseconds.
    pub time: u64,
    /// What to do.
    pub kind: CommandKind,
}

/// The command variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// Enter a new order.
    New(NewOrder),
    /// Cancel one order by id.
    Cancel(CancelOrder),
    /// Modify (cancel/replace) one order by id.
    Modify(ModifyOrder),
    /// Cancel every resting order (and pending stop) of an account, optionally only on one instrument.
    MassCancel(MassCancel),
    /// Risk administration: kill switch, trading states, limits, reference prices.
    Risk(RiskControl),
}

/// Order type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OrdType {
    /// Limit order at `price`.
    #[default]
    Limit = 0,
    /// Market order: trades at any price up to the instrument's market protection limit
    /// (best opposite price ± protection ticks); any remainder is cancelled, never rests.
    Market = 1,
    /// Stop (market) order: parked until a trade at or through `stop_price`, then a market order.
    Stop = 2,
    /// Stop-limit order: parked until a trade at or through `stop_price`, then a limit at `price`.
    StopLimit = 3,
}

/// Time in force.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TimeInForce {
    /// Good till cancelled: the remainder rests.
    #[default]
    Gtc = 0,
    /// Immediate or cancel: trade what is possible now, cancel the rest.
    Ioc = 1,
    /// Fill or kill: all of it now or none of it (checked before any fill).
    Fok = 2,
    /// Good till date: rests until engine time reaches `expire_time`, then expires.
    Gtd = 3,
    /// Post-only (maker-only): rejected whole if any part would trade on entry; otherwise rests (GTC).
    PostOnly = 4,
}

/// Self-trade prevention mode of the incoming (aggressor) order. Two orders self-match when they
/// have the same STP group (the account id when the order's `stp_group` is 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum StpMode {
    /// Default: cancel the resting order, the aggressor goes on matching ("cancel oldest").
    #[default]
    CancelResting = 0,
    /// Cancel the aggressor's remainder; the resting order stays.
    CancelAggressor = 1,
    /// Cancel both the resting order and the aggressor's remainder.
    CancelBoth = 2,
    /// Decrement both by the smaller quantity (no trade); the one reduced to zero is cancelled.
    DecrementAndCancel = 3,
    /// No self-trade prevention: the orders trade with each other.
    None = 4,
}

/// Per-order flags (bit set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct OrderFlags(pub u8);

impl OrderFlags {
    /// No flags.
    pub const NONE: OrderFlags = OrderFlags(0);
    /// Reduce-only: may only reduce the account's current position (risk layer).
    pub const REDUCE_ONLY: OrderFlags = OrderFlags(1);
    /// Market-maker-protection tagged (risk layer).
    pub const MMP: OrderFlags = OrderFlags(2);
    /// True when every bit of `other` is set.
    #[inline(always)]
    pub const fn contains(self, other: OrderFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Union.
    #[inline(always)]
    pub const fn with(self, other: OrderFlags) -> OrderFlags {
        OrderFlags(self.0 | other.0)
    }
}

/// A new order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NewOrder {
    /// Engine-unique id among live orders.
    pub order_id: OrderId,
    /// Limit price (Limit, StopLimit). Ignored for Market and Stop.
    pub price: Price,
    /// Trigger price (Stop, StopLimit). Ignored otherwise.
    pub stop_price: Price,
    /// Total quantity in lots (> 0, a multiple of the lot size).
    pub qty: Qty,
    /// Iceberg display quantity: 0 = fully displayed; otherwise `0 < display_qty < qty` shows
    /// that much at a time, and each refill joins the back of the queue.
    pub display_qty: Qty,
    /// Engine time at which a GTD order expires (only read with `TimeInForce::Gtd`).
    pub expire_time: u64,
    /// Owner.
    pub account: AccountId,
    /// Which book.
    pub instrument: InstrumentId,
    /// STP group: 0 = the account id is the group.
    pub stp_group: u32,
    /// Buy or sell.
    pub side: Side,
    /// Order type.
    pub ord_type: OrdType,
    /// Time in force.
    pub tif: TimeInForce,
    /// Self-trade prevention mode.
    pub stp: StpMode,
    /// Flags (reduce-only, MMP).
    pub flags: OrderFlags,
}

/// Cancel one order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CancelOrder {
    /// The order to cancel.
    pub order_id: OrderId,
    /// The account asking: must own the order (else `RejectReason::NotOwner`).
    pub account: AccountId,
    /// The instrument of the order.
    pub instrument: InstrumentId,
}

/// Modify (cancel/replace) an order.
///
/// `qty` is the new *open* (leaves) quantity. Priority rule: same price and a smaller or equal
/// quantity keeps the order's time priority; a price change or a quantity increase loses it (the
/// order goes to the back of the queue at its new price, and may trade if it now crosses).
/// `qty` 0 is rejected (`RejectReason::InvalidQty`); use cancel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ModifyOrder {
    /// The order to modify.
    pub order_id: OrderId,
    /// New limit price.
    pub price: Price,
    /// New open quantity.
    pub qty: Qty,
    /// The account asking: must own the order.
    pub account: AccountId,
    /// The instrument of the order.
    pub instrument: InstrumentId,
}

/// Cancel all of an account's orders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MassCancel {
    /// Whose orders.
    pub account: AccountId,
    /// Only this instrument, or every instrument when `None`.
    pub instrument: Option<InstrumentId>,
}

/// A trading state of an account or an instrument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TradingState {
    /// Normal trading.
    #[default]
    Active = 0,
    /// Only orders that reduce the account's position are accepted.
    Reducing = 1,
    /// No new orders or modifies; cancels are accepted.
    Halted = 2,
}

/// Which limit a `SetLimit` command changes (the risk layer documents each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum LimitKind {
    /// Max quantity per order.
    MaxOrderQty = 0,
    /// Max notional per order (price ticks × lots).
    MaxOrderNotional = 1,
    /// Account credit limit (exposure).
    CreditLimit = 2,
    /// Max long position per instrument.
    MaxLong = 3,
    /// Max short position per instrument.
    MaxShort = 4,
    /// Max open orders per account.
    MaxOpenOrders = 5,
    /// Messages per throttle window.
    ThrottleRate = 6,
    /// Price band width.
    PriceBand = 7,
    /// Max open orders per account on each instrument (one cap for every instrument of the
    /// account; the instrument field is ignored).
    MaxOpenOrdersPerInstrument = 8,
}

/// Change one limit at run time (sequenced like any command, so replays stay deterministic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SetLimit {
    /// New value.
    pub value: i64,
    /// Account the limit applies to (0 when instrument-level).
    pub account: AccountId,
    /// Instrument the limit applies to (where it is per instrument).
    pub instrument: InstrumentId,
    /// Which limit.
    pub kind: LimitKind,
}

/// Risk administration commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RiskControl {
    /// Kill switch: halt the account and cancel all its resting orders.
    Kill {
        /// The account.
        account: AccountId,
    },
    /// Set an account's trading state.
    SetAccountState {
        /// The account.
        account: AccountId,
        /// New state.
        state: TradingState,
    },
    /// Set an instrument's trading state.
    SetInstrumentState {
        /// The instrument.
        instrument: InstrumentId,
        /// New state.
        state: TradingState,
    },
    /// Change a limit.
    SetLimit(SetLimit),
    /// Set the configured reference price of an instrument (used by price bands before any trade).
    SetReferencePrice {
        /// The instrument.
        instrument: InstrumentId,
        /// New reference price.
        price: Price,
    },
    /// Lift a market-maker-protection freeze of an account.
    ResetMmp {
        /// The account.
        account: AccountId,
    },
}

impl Command {
    /// A command with the given time and kind.
    #[inline(always)]
    pub const fn new(time: u64, kind: CommandKind) -> Command {
        Command { time, kind }
    }
}
