//! Reject and cancel reasons. The numeric codes are stable (wire formats and the journal use them).

/// Why an input was rejected. Every reject event carries one, plus the limit and the value that
/// broke it where that applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RejectReason {
    /// The instrument id names no book.
    UnknownInstrument = 1,
    /// Cancel/modify of an order id that is not live.
    UnknownOrder = 2,
    /// A new order whose id is already live.
    DuplicateOrderId = 3,
    /// Quantity is zero, or the display quantity is not below the quantity.
    InvalidQty = 4,
    /// Price not positive, or outside the instrument's configured price range.
    InvalidPrice = 5,
    /// Price is not a multiple of the tick size.
    TickSize = 6,
    /// Quantity (or display quantity) is not a multiple of the lot size.
    LotSize = 7,
    /// Stop price missing or already through the last trade price on entry.
    InvalidStopPrice = 8,
    /// GTD order whose expire time is not after the engine time.
    InvalidExpireTime = 9,
    /// Post-only order would have traded on entry.
    PostOnlyWouldTake = 10,
    /// Fill-or-kill order could not be filled in full.
    FokNotFillable = 11,
    /// The order store of the book is full (capacity from config).
    BookFull = 12,
    /// Cancel/modify by an account that does not own the order.
    NotOwner = 13,
    /// Modify that is not allowed (for example of a pending stop's price into an invalid state).
    InvalidModify = 14,
    /// Market order into an empty opposite side.
    NoLiquidity = 15,
    /// Unknown account (risk layer).
    UnknownAccount = 16,
    /// Limit price outside the price band around the reference price.
    PriceOutsideBand = 17,
    /// Quantity above the per-order maximum.
    MaxOrderQty = 18,
    /// Notional above the per-order maximum.
    MaxOrderNotional = 19,
    /// Account exposure would exceed its credit limit.
    CreditLimit = 20,
    /// Position (with open orders on the same side) would exceed the long/short limit.
    PositionLimit = 21,
    /// Too many open orders.
    MaxOpenOrders = 22,
    /// Message rate above the throttle.
    Throttled = 23,
    /// The account is halted (or killed).
    AccountHalted = 24,
    /// The account is reducing-only and the order would not reduce its position.
    AccountReducing = 25,
    /// The instrument is halted.
    InstrumentHalted = 26,
    /// The instrument is reducing-only and the order would not reduce the account's position.
    InstrumentReducing = 27,
    /// Reduce-only order that would not reduce the position.
    ReduceOnly = 28,
    /// The instrument is in a volatility interruption.
    VolatilityHalt = 29,
    /// The account is frozen by market-maker protection.
    MmpFrozen = 30,
    /// Quantity or price outside the instrument's min/max order size or price.
    OutsideMinMax = 31,
    /// Malformed command (edge decoders use this for input that cannot be mapped).
    Malformed = 32,
    /// A risk command sent to an engine built without the risk layer.
    RiskNotConfigured = 33,
}

impl RejectReason {
    /// Every reason, in code order (`ALL[i]` has code `i + 1`).
    pub const ALL: [RejectReason; 33] = {
        use RejectReason::*;
        [
            UnknownInstrument,
            UnknownOrder,
            DuplicateOrderId,
            InvalidQty,
            InvalidPrice,
            TickSize,
            LotSize,
            InvalidStopPrice,
            InvalidExpireTime,
            PostOnlyWouldTake,
            FokNotFillable,
            BookFull,
            NotOwner,
            InvalidModify,
            NoLiquidity,
            UnknownAccount,
            PriceOutsideBand,
            MaxOrderQty,
            MaxOrderNotional,
            CreditLimit,
            PositionLimit,
            MaxOpenOrders,
            Throttled,
            AccountHalted,
            AccountReducing,
            InstrumentHalted,
            InstrumentReducing,
            ReduceOnly,
            VolatilityHalt,
            MmpFrozen,
            OutsideMinMax,
            Malformed,
            RiskNotConfigured,
        ]
    };

    /// The reason with this numeric code, if any.
    pub const fn from_code(code: u8) -> Option<RejectReason> {
        if code >= 1 && (code as usize) <= Self::ALL.len() {
            Some(Self::ALL[code as usize - 1])
        } else {
            None
        }
    }

    /// snake_case name used in JSON and CSV output.
    pub const fn as_str(self) -> &'static str {
        use RejectReason::*;
        match self {
            UnknownInstrument => "unknown_instrument",
            UnknownOrder => "unknown_order",
            DuplicateOrderId => "duplicate_order_id",
            InvalidQty => "invalid_qty",
            InvalidPrice => "invalid_price",
            TickSize => "tick_size",
            LotSize => "lot_size",
            InvalidStopPrice => "invalid_stop_price",
            InvalidExpireTime => "invalid_expire_time",
            PostOnlyWouldTake => "post_only_would_take",
            FokNotFillable => "fok_not_fillable",
            BookFull => "book_full",
            NotOwner => "not_owner",
            InvalidModify => "invalid_modify",
            NoLiquidity => "no_liquidity",
            UnknownAccount => "unknown_account",
            PriceOutsideBand => "price_outside_band",
            MaxOrderQty => "max_order_qty",
            MaxOrderNotional => "max_order_notional",
            CreditLimit => "credit_limit",
            PositionLimit => "position_limit",
            MaxOpenOrders => "max_open_orders",
            Throttled => "throttled",
            AccountHalted => "account_halted",
            AccountReducing => "account_reducing",
            InstrumentHalted => "instrument_halted",
            InstrumentReducing => "instrument_reducing",
            ReduceOnly => "reduce_only",
            VolatilityHalt => "volatility_halt",
            MmpFrozen => "mmp_frozen",
            OutsideMinMax => "outside_min_max",
            Malformed => "malformed",
            RiskNotConfigured => "risk_not_configured",
        }
    }
}

/// Why an order (or its remainder) left the book without trading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CancelReason {
    /// The owner asked (cancel command).
    Requested = 1,
    /// Mass cancel by account.
    MassCancel = 2,
    /// IOC / market remainder that could not trade.
    Unfilled = 3,
    /// Market or stop order remainder stopped by the market-order protection limit.
    MarketProtection = 4,
    /// Self-trade prevention.
    SelfTrade = 5,
    /// Kill switch.
    Kill = 6,
    /// Market-maker protection tripped.
    Mmp = 7,
    /// The session disconnected (cancel-on-disconnect).
    Disconnect = 8,
    /// Risk layer cancelled it (for example a volatility halt).
    Risk = 9,
}

impl CancelReason {
    /// snake_case name used in JSON and CSV output.
    pub const fn as_str(self) -> &'static str {
        use CancelReason::*;
        match self {
            Requested => "requested",
            MassCancel => "mass_cancel",
            Unfilled => "unfilled",
            MarketProtection => "market_protection",
            SelfTrade => "self_trade",
            Kill => "kill",
            Mmp => "mmp",
            Disconnect => "disconnect",
            Risk => "risk",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RejectReason;

    #[test]
    fn codes_round_trip() {
        for (i, r) in RejectReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i + 1);
            assert_eq!(RejectReason::from_code(*r as u8), Some(*r));
        }
        assert_eq!(RejectReason::from_code(0), None);
        assert_eq!(RejectReason::from_code(200), None);
    }
}
