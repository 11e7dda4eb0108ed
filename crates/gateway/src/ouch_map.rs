//! Mapping between OUCH 5.0 messages and ferrex commands and events.
//!
//! The session layer owns the per-session order table (UserRefNum ↔ engine [`OrderId`], symbol,
//! ClOrdID, executed quantity); it lends it to these pure functions through [`OuchOrders`].
//!
//! ## Inbound: OUCH → [`Command`]
//! | OUCH | ferrex |
//! | --- | --- |
//! | Enter Order `O` | `New`: side `B` → Buy, `S`/`T`/`E` → Sell; price [`OuchPrice::MARKET`] → `Market`, else `Limit`; TIF `0` Day, `5` GTX, `E` after hours → GTC; `3` → IOC; `6` GTT → GTD with `expire_time = time + ExpireTime option × 1e9`; PostOnly option `P` → `PostOnly`; MaxFloor option → `display_qty`; Display `N` (hidden) without MaxFloor → display_qty 0 is not representable and is refused ([`OuchMapError::Unsupported`]) |
//! | Replace Order `U` | `Modify` of the original order with the new price and open quantity = new total − executed (≤ 0 → `Cancel`) |
//! | Cancel Order `X` | quantity 0 → `Cancel`; otherwise `Modify` to open quantity = intended size − executed (≤ 0 → `Cancel`) at the order's price |
//! | Modify Order `M` | `Modify` to open quantity = new total − executed at the order's price; a side change between buy and sell is refused |
//!
//! Prices: one ferrex tick is `units_per_tick` OUCH units (1/10000); a price that is not a whole
//! number of ticks is refused ([`OuchMapError::PriceNotOnTick`]).
//!
//! ## Outbound: [`Event`] → OUCH
//! | ferrex event | OUCH |
//! | --- | --- |
//! | Accepted | `A` Order Accepted (order reference number = engine order id, state Live) |
//! | Rejected | `J` Order Rejected with the code below; a reject of a cancel → `I` Cancel Reject |
//! | Trade | `E` Order Executed for each side owned by this session (maker `A`dded, taker `R`emoved; match number = event sequence), under the UserRefNum the order is live under (the original one while a Replace Order is unanswered) |
//! | Cancelled | `C` Order Canceled, decrement = cancelled quantity, reason below |
//! | Expired | `C` Order Canceled, reason `T` timeout |
//! | Replaced | `U` Order Replaced (after a Replace Order) or `M` Order Modified (after Modify / partial Cancel) |
//! | Triggered, LevelChanged, AccountState, InstrumentState | nothing (not order-entry messages) |
//!
//! ## Reject reasons (ferrex [`RejectReason`] → OUCH 5.0 reject code)
//! | ferrex | OUCH code |
//! | --- | --- |
//! | UnknownInstrument | 0x17 Invalid Symbol |
//! | UnknownOrder | 0x0F Other |
//! | DuplicateOrderId | 0x0F Other |
//! | InvalidQty | 0x13 Invalid Quantity |
//! | InvalidPrice | 0x1D Invalid Price |
//! | TickSize | 0x1D Invalid Price |
//! | LotSize | 0x13 Invalid Quantity |
//! | InvalidStopPrice | 0x1D Invalid Price |
//! | InvalidExpireTime | 0x0F Other |
//! | PostOnlyWouldTake | 0x12 Crossed Market |
//! | FokNotFillable | 0x01 Quote Unavailable |
//! | BookFull | 0x0A Processing Error |
//! | NotOwner | 0x0C Firm Not Authorized |
//! | InvalidModify | 0x15 Replace Not Allowed |
//! | NoLiquidity | 0x01 Quote Unavailable |
//! | UnknownAccount | 0x0C Firm Not Authorized |
//! | PriceOutsideBand | 0x06 Fat Finger |
//! | MaxOrderQty | 0x31 Risk: Max Quantity Exceeded |
//! | MaxOrderNotional | 0x30 Risk: Single Order Notional Exceeded |
//! | CreditLimit | 0x20 Risk: Aggregate Exposure Exceeded |
//! | PositionLimit | 0x20 Risk: Aggregate Exposure Exceeded |
//! | MaxOpenOrders | 0x1E Shares Exceed Threshold |
//! | Throttled | 0x29 Risk: Port Message Rate Restriction |
//! | AccountHalted | 0x02 Destination Closed |
//! | AccountReducing | 0x22 Risk: Restricted Stock |
//! | InstrumentHalted | 0x07 Halted |
//! | InstrumentReducing | 0x22 Risk: Restricted Stock |
//! | ReduceOnly | 0x22 Risk: Restricted Stock |
//! | VolatilityHalt | 0x07 Halted |
//! | MmpFrozen | 0x02 Destination Closed |
//! | OutsideMinMax | 0x1E Shares Exceed Threshold |
//! | Malformed | 0x0F Other |
//! | RiskNotConfigured | 0x0A Processing Error |
//!
//! ## Cancel reasons (ferrex [`CancelReason`] → OUCH cancel reason)
//! | ferrex | OUCH |
//! | --- | --- |
//! | Requested | `U` user requested |
//! | MassCancel | `U` user requested (the server reports its cancel-on-disconnect mass cancel as `Disconnect`) |
//! | Unfilled | `I` immediate or cancel |
//! | MarketProtection | `K` market collars |
//! | SelfTrade | `Q` self-match prevention |
//! | Kill | `S` supervisory |
//! | Mmp | `Z` system |
//! | Disconnect | `Z` system |
//! | Risk | `H` halted |

use crate::ouch::{
    self, Accepted, Appendage, CancelReject, Canceled, Capacity, ClOrdId, CrossType, Display,
    Executed, Inbound, LiquidityFlag, Modified, OrderState, OuchCancelReason, OuchPrice,
    OuchRejectCode, OuchSide, OuchTif, Outbound, Rejected, Symbol, UserRefNum,
};
use ferrex_types::{
    AccountId, CancelOrder, CancelReason, Command, CommandKind, Event, EventKind, InstrumentId,
    ModifyOrder, NewOrder, OrdType, OrderId, Price, Qty, RejectReason, Side, TimeInForce,
};
use smallvec::SmallVec;

/// The last request the session sent for an order (chooses the outbound message for a reject
/// or a replace).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LastOp {
    /// Enter Order.
    #[default]
    Enter,
    /// Replace Order.
    Replace,
    /// Cancel Order (full or partial).
    Cancel,
    /// Modify Order.
    Modify,
}

/// What the session knows about one of its orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrderInfo {
    /// Engine order id.
    pub order_id: OrderId,
    /// Book.
    pub instrument: InstrumentId,
    /// Current UserRefNum (the replacement's after a Replace).
    pub user_ref_num: UserRefNum,
    /// UserRefNum before the last Replace (for Order Replaced).
    pub orig_user_ref_num: UserRefNum,
    /// Symbol.
    pub symbol: Symbol,
    /// ClOrdID.
    pub cl_ord_id: ClOrdId,
    /// Side as entered (keeps `T`/`E`).
    pub side: OuchSide,
    /// Current limit price (ferrex ticks).
    pub price: Price,
    /// Shares executed so far.
    pub executed: u64,
    /// TIF as entered.
    pub time_in_force: OuchTif,
    /// Display as entered.
    pub display: Display,
    /// Capacity as entered.
    pub capacity: Capacity,
    /// ISO flag as entered.
    pub intermarket_sweep: bool,
    /// Cross type as entered.
    pub cross_type: CrossType,
    /// Last request on this order.
    pub last_op: LastOp,
    /// A Replace Order is waiting for the engine's answer: `user_ref_num` is the request's,
    /// and the order is still live under `orig_user_ref_num` (executions are reported there).
    pub replace_pending: bool,
}

impl OrderInfo {
    /// The UserRefNum the order is live under now: the original one while a Replace Order is
    /// pending, else the current one.
    pub const fn live_user_ref_num(&self) -> UserRefNum {
        if self.replace_pending {
            self.orig_user_ref_num
        } else {
            self.user_ref_num
        }
    }
}

/// The session's order table and symbol directory, as the mapping needs them.
pub trait OuchOrders {
    /// The instrument of a symbol.
    fn instrument(&self, symbol: &Symbol) -> Option<InstrumentId>;
    /// The order a UserRefNum names. For an Enter Order the session registers the new
    /// UserRefNum (allocating its engine id) before calling [`inbound_to_command`].
    fn by_user_ref(&self, user_ref: UserRefNum) -> Option<OrderInfo>;
    /// The order an engine id names, if it belongs to this session.
    fn by_order_id(&self, order_id: OrderId) -> Option<OrderInfo>;
}

/// Fixed parameters of the mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OuchMapConfig {
    /// The session's account.
    pub account: AccountId,
    /// OUCH price units (1/10000) per ferrex tick (≥ 1).
    pub units_per_tick: u64,
}

/// Why an inbound message could not become a command. The session answers with
/// [`OuchMapError::reject_code`] in an Order Rejected (or a Cancel Reject).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum OuchMapError {
    /// The symbol names no instrument.
    #[error("unknown symbol")]
    UnknownSymbol,
    /// The UserRefNum names no order of this session.
    #[error("unknown UserRefNum {0}")]
    UnknownUserRef(u32),
    /// The price is not a whole number of ticks.
    #[error("price {0} is not on a tick")]
    PriceNotOnTick(u64),
    /// Quantity zero where not allowed.
    #[error("invalid quantity")]
    InvalidQuantity,
    /// A new UserRefNum not above every earlier one of the session (OUCH requires strictly
    /// increasing references).
    #[error("UserRefNum {0} is not above the last one")]
    UserRefNotIncreasing(u32),
    /// A feature ferrex does not implement (hidden orders, buy↔sell modify, GTT without
    /// ExpireTime).
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

impl OuchMapError {
    /// The OUCH reject code to answer with.
    pub fn reject_code(self) -> OuchRejectCode {
        match self {
            OuchMapError::UnknownSymbol => OuchRejectCode::INVALID_SYMBOL,
            OuchMapError::UnknownUserRef(_) | OuchMapError::UserRefNotIncreasing(_) => {
                OuchRejectCode::OTHER
            }
            OuchMapError::PriceNotOnTick(_) => OuchRejectCode::INVALID_PRICE,
            OuchMapError::InvalidQuantity => OuchRejectCode::INVALID_QUANTITY,
            OuchMapError::Unsupported("hidden order") => OuchRejectCode::INVALID_DISPLAY,
            OuchMapError::Unsupported("side change") => OuchRejectCode::INVALID_SIDE,
            OuchMapError::Unsupported(_) => OuchRejectCode::OTHER,
        }
    }
}

/// OUCH price → ferrex ticks (exact).
pub fn price_to_ticks(p: OuchPrice, units_per_tick: u64) -> Result<Price, OuchMapError> {
    let u = units_per_tick.max(1);
    if !p.0.is_multiple_of(u) {
        return Err(OuchMapError::PriceNotOnTick(p.0));
    }
    i64::try_from(p.0 / u)
        .map(Price)
        .map_err(|_| OuchMapError::PriceNotOnTick(p.0))
}

/// ferrex ticks → OUCH price (saturating at 0 and `u64::MAX`).
pub fn ticks_to_price(p: Price, units_per_tick: u64) -> OuchPrice {
    let t = u64::try_from(p.0).unwrap_or(0);
    OuchPrice(t.saturating_mul(units_per_tick.max(1)))
}

const fn side_of(s: OuchSide) -> Side {
    match s {
        OuchSide::Buy => Side::Buy,
        OuchSide::Sell | OuchSide::SellShort | OuchSide::SellShortExempt => Side::Sell,
    }
}

/// Open quantity after a request for `total` shares on an order that executed `executed`:
/// `Cancel` when nothing would remain, else `Modify`.
fn resize(info: &OrderInfo, cfg: &OuchMapConfig, total: u64, price: Price) -> CommandKind {
    let open = total.saturating_sub(info.executed);
    if open == 0 {
        CommandKind::Cancel(CancelOrder {
            order_id: info.order_id,
            account: cfg.account,
            instrument: info.instrument,
        })
    } else {
        CommandKind::Modify(ModifyOrder {
            order_id: info.order_id,
            price,
            qty: Qty(open),
            account: cfg.account,
            instrument: info.instrument,
        })
    }
}

/// Map one inbound OUCH message to a ferrex command with engine time `time` (ns). Pure; O(1)
/// plus the appendage scan.
pub fn inbound_to_command(
    msg: &Inbound<'_>,
    time: u64,
    cfg: &OuchMapConfig,
    orders: &impl OuchOrders,
) -> Result<Command, OuchMapError> {
    let known = |u: UserRefNum| {
        orders
            .by_user_ref(u)
            .ok_or(OuchMapError::UnknownUserRef(u.0))
    };
    let kind = match msg {
        Inbound::Enter(m) => {
            let instrument = orders
                .instrument(&m.symbol)
                .ok_or(OuchMapError::UnknownSymbol)?;
            let info = known(m.user_ref_num)?;
            if m.quantity == 0 {
                return Err(OuchMapError::InvalidQuantity);
            }
            let max_floor = m.appendage.get_u32(ouch::tag::MAX_FLOOR);
            if m.display == Display::Hidden && max_floor.is_none() {
                return Err(OuchMapError::Unsupported("hidden order"));
            }
            let post_only = m.appendage.get_u8(ouch::tag::POST_ONLY) == Some(b'P');
            let (ord_type, price) = if m.price == OuchPrice::MARKET {
                (OrdType::Market, Price::ZERO)
            } else {
                (OrdType::Limit, price_to_ticks(m.price, cfg.units_per_tick)?)
            };
            let mut expire_time = 0;
            let tif = match m.time_in_force {
                _ if post_only => TimeInForce::PostOnly,
                OuchTif::Day | OuchTif::Gtx | OuchTif::AfterHours => TimeInForce::Gtc,
                OuchTif::Ioc => TimeInForce::Ioc,
                OuchTif::Gtt => {
                    let secs = m
                        .appendage
                        .get_u32(ouch::tag::EXPIRE_TIME)
                        .ok_or(OuchMapError::Unsupported("GTT without ExpireTime"))?;
                    expire_time = time.saturating_add(u64::from(secs) * 1_000_000_000);
                    TimeInForce::Gtd
                }
            };
            let display_qty = match max_floor {
                Some(f) if u64::from(f) < u64::from(m.quantity) => Qty(u64::from(f)),
                _ => Qty::ZERO,
            };
            CommandKind::New(NewOrder {
                order_id: info.order_id,
                price,
                stop_price: Price::ZERO,
                qty: Qty(u64::from(m.quantity)),
                display_qty,
                expire_time,
                account: cfg.account,
                instrument,
                stp_group: 0,
                side: side_of(m.side),
                ord_type,
                tif,
                stp: Default::default(),
                flags: Default::default(),
            })
        }
        Inbound::Replace(m) => {
            // The session may already have moved the order to its new reference.
            let info = orders
                .by_user_ref(m.user_ref_num)
                .map_or_else(|| known(m.orig_user_ref_num), Ok)?;
            let price = price_to_ticks(m.price, cfg.units_per_tick)?;
            resize(&info, cfg, u64::from(m.quantity), price)
        }
        Inbound::Cancel(m) => {
            let info = known(m.user_ref_num)?;
            resize(&info, cfg, u64::from(m.quantity), info.price)
        }
        Inbound::Modify(m) => {
            let info = known(m.user_ref_num)?;
            if side_of(m.side) != side_of(info.side) {
                return Err(OuchMapError::Unsupported("side change"));
            }
            resize(&info, cfg, u64::from(m.quantity), info.price)
        }
    };
    Ok(Command::new(time, kind))
}

/// ferrex reject reason → OUCH 5.0 reject code (the table in the module docs).
pub const fn reject_code(r: RejectReason) -> OuchRejectCode {
    use RejectReason as R;
    match r {
        R::UnknownInstrument => OuchRejectCode::INVALID_SYMBOL,
        R::UnknownOrder | R::DuplicateOrderId | R::InvalidExpireTime | R::Malformed => {
            OuchRejectCode::OTHER
        }
        R::InvalidQty | R::LotSize => OuchRejectCode::INVALID_QUANTITY,
        R::InvalidPrice | R::TickSize | R::InvalidStopPrice => OuchRejectCode::INVALID_PRICE,
        R::PostOnlyWouldTake => OuchRejectCode::CROSSED_MARKET,
        R::FokNotFillable | R::NoLiquidity => OuchRejectCode::QUOTE_UNAVAILABLE,
        R::BookFull | R::RiskNotConfigured => OuchRejectCode::PROCESSING_ERROR,
        R::NotOwner | R::UnknownAccount => OuchRejectCode::FIRM_NOT_AUTHORIZED,
        R::InvalidModify => OuchRejectCode::REPLACE_NOT_ALLOWED,
        R::PriceOutsideBand => OuchRejectCode::FAT_FINGER,
        R::MaxOrderQty => OuchRejectCode::RISK_MAX_QUANTITY,
        R::MaxOrderNotional => OuchRejectCode::RISK_SINGLE_ORDER_NOTIONAL,
        R::CreditLimit | R::PositionLimit => OuchRejectCode::RISK_AGGREGATE_EXPOSURE,
        R::MaxOpenOrders | R::OutsideMinMax => OuchRejectCode::SHARES_EXCEED_THRESHOLD,
        R::Throttled => OuchRejectCode::RISK_PORT_MESSAGE_RATE,
        R::AccountHalted | R::MmpFrozen => OuchRejectCode::DESTINATION_CLOSED,
        R::AccountReducing | R::InstrumentReducing | R::ReduceOnly => {
            OuchRejectCode::RISK_RESTRICTED_STOCK
        }
        R::InstrumentHalted | R::VolatilityHalt => OuchRejectCode::HALTED,
    }
}

/// ferrex cancel reason → OUCH cancel reason (the table in the module docs).
pub const fn cancel_reason(r: CancelReason) -> OuchCancelReason {
    use CancelReason as C;
    match r {
        C::Requested | C::MassCancel => OuchCancelReason::UserRequested,
        C::Unfilled => OuchCancelReason::ImmediateOrCancel,
        C::MarketProtection => OuchCancelReason::MarketCollars,
        C::SelfTrade => OuchCancelReason::SelfMatchPrevention,
        C::Kill => OuchCancelReason::Supervisory,
        C::Mmp | C::Disconnect => OuchCancelReason::System,
        C::Risk => OuchCancelReason::Halted,
    }
}

/// Up to two outbound messages for one event (a trade between two orders of the same session
/// gives two executions). Inline, no allocation.
pub type OuchReplies = SmallVec<[Outbound<'static>; 2]>;

fn qty32(q: Qty) -> u32 {
    u32::try_from(q.0).unwrap_or(u32::MAX)
}

/// Map one engine event to the OUCH messages this session must send. `timestamp` is the OUCH
/// timestamp (ns since midnight) the session stamps them with. Events about orders the session
/// does not own map to nothing. Pure; O(1).
pub fn event_to_outbound(
    ev: &Event,
    timestamp: u64,
    cfg: &OuchMapConfig,
    orders: &impl OuchOrders,
) -> OuchReplies {
    let mut out = OuchReplies::new();
    let u = cfg.units_per_tick;
    match ev.kind {
        EventKind::Accepted {
            order_id,
            price,
            qty,
            ..
        } => {
            if let Some(i) = orders.by_order_id(order_id) {
                out.push(Outbound::Accepted(accepted(
                    &i, timestamp, price, qty, u, None,
                )));
            }
        }
        EventKind::Rejected {
            order_id, reason, ..
        } => {
            if let Some(i) = orders.by_order_id(order_id) {
                if i.last_op == LastOp::Cancel {
                    out.push(Outbound::CancelReject(CancelReject {
                        timestamp,
                        user_ref_num: i.user_ref_num,
                        appendage: Appendage::EMPTY,
                    }));
                } else {
                    out.push(Outbound::Rejected(Rejected {
                        timestamp,
                        user_ref_num: i.user_ref_num,
                        reason: reject_code(reason),
                        cl_ord_id: i.cl_ord_id,
                        appendage: Appendage::EMPTY,
                    }));
                }
            }
        }
        EventKind::Trade {
            price,
            qty,
            maker_order_id,
            taker_order_id,
            ..
        } => {
            for (id, flag) in [
                (maker_order_id, LiquidityFlag::Added),
                (taker_order_id, LiquidityFlag::Removed),
            ] {
                if let Some(i) = orders.by_order_id(id) {
                    out.push(Outbound::Executed(Executed {
                        timestamp,
                        user_ref_num: i.live_user_ref_num(),
                        quantity: qty32(qty),
                        price: ticks_to_price(price, u),
                        liquidity_flag: flag,
                        match_number: ev.seq,
                        appendage: Appendage::EMPTY,
                    }));
                }
            }
        }
        EventKind::Cancelled {
            order_id,
            reason,
            qty,
            ..
        } => {
            if let Some(i) = orders.by_order_id(order_id) {
                out.push(Outbound::Canceled(Canceled {
                    timestamp,
                    user_ref_num: i.user_ref_num,
                    quantity: qty32(qty),
                    reason: cancel_reason(reason),
                    appendage: Appendage::EMPTY,
                }));
            }
        }
        EventKind::Expired { order_id, qty, .. } => {
            if let Some(i) = orders.by_order_id(order_id) {
                out.push(Outbound::Canceled(Canceled {
                    timestamp,
                    user_ref_num: i.user_ref_num,
                    quantity: qty32(qty),
                    reason: OuchCancelReason::Timeout,
                    appendage: Appendage::EMPTY,
                }));
            }
        }
        EventKind::Replaced {
            order_id,
            price,
            qty,
            ..
        } => {
            if let Some(i) = orders.by_order_id(order_id) {
                if i.last_op == LastOp::Replace {
                    out.push(Outbound::Accepted(accepted(
                        &i,
                        timestamp,
                        price,
                        qty,
                        u,
                        Some(i.orig_user_ref_num),
                    )));
                } else {
                    out.push(Outbound::Modified(Modified {
                        timestamp,
                        user_ref_num: i.user_ref_num,
                        side: i.side,
                        quantity: qty32(qty),
                        appendage: Appendage::EMPTY,
                    }));
                }
            }
        }
        EventKind::Triggered { .. }
        | EventKind::LevelChanged { .. }
        | EventKind::AccountState { .. }
        | EventKind::InstrumentState { .. } => {}
    }
    out
}

fn accepted(
    i: &OrderInfo,
    timestamp: u64,
    price: Price,
    qty: Qty,
    u: u64,
    orig: Option<UserRefNum>,
) -> Accepted<'static> {
    Accepted {
        timestamp,
        orig_user_ref_num: orig,
        user_ref_num: i.user_ref_num,
        side: i.side,
        quantity: qty32(qty),
        symbol: i.symbol,
        price: if price == Price::ZERO {
            OuchPrice::MARKET
        } else {
            ticks_to_price(price, u)
        },
        time_in_force: i.time_in_force,
        display: i.display,
        order_reference_number: i.order_id.0,
        capacity: i.capacity,
        intermarket_sweep: i.intermarket_sweep,
        cross_type: i.cross_type,
        order_state: OrderState::Live,
        cl_ord_id: i.cl_ord_id,
        appendage: Appendage::EMPTY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ouch::{AppendageBuf, EnterOrder};

    struct Table(Vec<OrderInfo>);
    impl OuchOrders for Table {
        fn instrument(&self, s: &Symbol) -> Option<InstrumentId> {
            (s.trimmed() == b"AAPL").then_some(InstrumentId(3))
        }
        fn by_user_ref(&self, u: UserRefNum) -> Option<OrderInfo> {
            self.0.iter().find(|i| i.user_ref_num == u).copied()
        }
        fn by_order_id(&self, o: OrderId) -> Option<OrderInfo> {
            self.0.iter().find(|i| i.order_id == o).copied()
        }
    }

    fn info(u: u32, id: u64) -> OrderInfo {
        OrderInfo {
            order_id: OrderId(id),
            instrument: InstrumentId(3),
            user_ref_num: UserRefNum(u),
            orig_user_ref_num: UserRefNum(u),
            symbol: Symbol::new(b"AAPL").unwrap(),
            cl_ord_id: ClOrdId::new(b"C1").unwrap(),
            side: OuchSide::Buy,
            price: Price(100),
            executed: 0,
            time_in_force: OuchTif::Day,
            display: Display::Visible,
            capacity: Capacity::Agency,
            intermarket_sweep: false,
            cross_type: CrossType::Continuous,
            last_op: LastOp::Enter,
            replace_pending: false,
        }
    }

    const CFG: OuchMapConfig = OuchMapConfig {
        account: AccountId(9),
        units_per_tick: 100,
    };

    fn enter(app: Appendage<'_>) -> Inbound<'_> {
        Inbound::Enter(EnterOrder {
            user_ref_num: UserRefNum(1),
            side: OuchSide::SellShort,
            quantity: 500,
            symbol: Symbol::new(b"AAPL").unwrap(),
            price: OuchPrice(10_000),
            time_in_force: OuchTif::Gtt,
            display: Display::Visible,
            capacity: Capacity::Agency,
            intermarket_sweep: false,
            cross_type: CrossType::Continuous,
            cl_ord_id: ClOrdId::new(b"C1").unwrap(),
            appendage: app,
        })
    }

    #[test]
    fn enter_maps_to_new_order() {
        let t = Table(vec![info(1, 77)]);
        let mut a = AppendageBuf::default();
        a.push(ouch::tag::EXPIRE_TIME, &30u32.to_be_bytes());
        a.push(ouch::tag::MAX_FLOOR, &100u32.to_be_bytes());
        let c = inbound_to_command(&enter(a.as_appendage()), 1_000, &CFG, &t).unwrap();
        let CommandKind::New(n) = c.kind else {
            panic!()
        };
        assert_eq!(n.order_id, OrderId(77));
        assert_eq!(n.price, Price(100));
        assert_eq!(n.side, Side::Sell);
        assert_eq!(n.tif, TimeInForce::Gtd);
        assert_eq!(n.expire_time, 1_000 + 30_000_000_000);
        assert_eq!(n.display_qty, Qty(100));
        assert_eq!(n.account, AccountId(9));
        assert_eq!(n.instrument, InstrumentId(3));
        // GTT without ExpireTime, off-tick price, unknown user ref.
        assert!(matches!(
            inbound_to_command(&enter(Appendage::EMPTY), 0, &CFG, &t),
            Err(OuchMapError::Unsupported(_))
        ));
        let Inbound::Enter(mut e) = enter(a.as_appendage()) else {
            panic!()
        };
        e.price = OuchPrice(10_050);
        assert_eq!(
            inbound_to_command(&Inbound::Enter(e), 0, &CFG, &t),
            Err(OuchMapError::PriceNotOnTick(10_050))
        );
        e.price = OuchPrice::MARKET;
        e.user_ref_num = UserRefNum(2);
        assert_eq!(
            inbound_to_command(&Inbound::Enter(e), 0, &CFG, &t),
            Err(OuchMapError::UnknownUserRef(2))
        );
    }

    #[test]
    fn cancel_replace_modify_map() {
        let mut i = info(1, 77);
        i.executed = 40;
        let t = Table(vec![i]);
        let c = inbound_to_command(
            &Inbound::Cancel(ouch::CancelOrder {
                user_ref_num: UserRefNum(1),
                quantity: 0,
                appendage: Appendage::EMPTY,
            }),
            5,
            &CFG,
            &t,
        )
        .unwrap();
        assert!(matches!(c.kind, CommandKind::Cancel(x) if x.order_id == OrderId(77)));
        let c = inbound_to_command(
            &Inbound::Cancel(ouch::CancelOrder {
                user_ref_num: UserRefNum(1),
                quantity: 100,
                appendage: Appendage::EMPTY,
            }),
            5,
            &CFG,
            &t,
        )
        .unwrap();
        assert!(
            matches!(c.kind, CommandKind::Modify(m) if m.qty == Qty(60) && m.price == Price(100))
        );
        let c = inbound_to_command(
            &Inbound::Replace(ouch::ReplaceOrder {
                orig_user_ref_num: UserRefNum(1),
                user_ref_num: UserRefNum(2),
                quantity: 240,
                price: OuchPrice(20_000),
                time_in_force: OuchTif::Day,
                display: Display::Visible,
                intermarket_sweep: false,
                cl_ord_id: ClOrdId::new(b"C2").unwrap(),
                appendage: Appendage::EMPTY,
            }),
            5,
            &CFG,
            &t,
        )
        .unwrap();
        assert!(
            matches!(c.kind, CommandKind::Modify(m) if m.qty == Qty(200) && m.price == Price(200))
        );
        assert_eq!(
            inbound_to_command(
                &Inbound::Modify(ouch::ModifyOrder {
                    user_ref_num: UserRefNum(1),
                    side: OuchSide::Sell,
                    quantity: 10,
                    appendage: Appendage::EMPTY,
                }),
                5,
                &CFG,
                &t,
            ),
            Err(OuchMapError::Unsupported("side change"))
        );
    }

    #[test]
    fn every_reason_has_a_code() {
        for r in 1u8..=33 {
            let reason = reject_from_u8(r);
            let code = reject_code(reason);
            assert!(code.0 >= 1 && code.0 <= 0x32, "{reason:?}");
        }
    }

    fn reject_from_u8(r: u8) -> RejectReason {
        RejectReason::from_code(r).expect("a defined reason code")
    }

    #[test]
    fn events_map_to_outbound() {
        let mut maker = info(1, 10);
        maker.last_op = LastOp::Replace;
        maker.orig_user_ref_num = UserRefNum(0x55);
        let mut taker = info(2, 11);
        taker.last_op = LastOp::Cancel;
        let t = Table(vec![maker, taker]);
        let ev = |kind| Event {
            seq: 42,
            cmd_seq: 1,
            time: 0,
            kind,
        };
        let trade = ev(EventKind::Trade {
            instrument: InstrumentId(3),
            price: Price(101),
            qty: Qty(5),
            maker_order_id: OrderId(10),
            taker_order_id: OrderId(11),
            maker_leaves: Qty(0),
            taker_leaves: Qty(0),
            maker_account: AccountId(9),
            taker_account: AccountId(9),
            aggressor: Side::Sell,
        });
        let r = event_to_outbound(&trade, 7, &CFG, &t);
        assert_eq!(r.len(), 2);
        assert!(
            matches!(r[0], Outbound::Executed(e) if e.liquidity_flag == LiquidityFlag::Added
            && e.price == OuchPrice(10_100) && e.match_number == 42 && e.quantity == 5)
        );
        assert!(
            matches!(r[1], Outbound::Executed(e) if e.liquidity_flag == LiquidityFlag::Removed)
        );
        let rej = ev(EventKind::Rejected {
            order_id: OrderId(11),
            account: AccountId(9),
            instrument: InstrumentId(3),
            reason: RejectReason::UnknownOrder,
            limit: 0,
            value: 0,
        });
        assert!(matches!(
            event_to_outbound(&rej, 7, &CFG, &t)[0],
            Outbound::CancelReject(_)
        ));
        let rep = ev(EventKind::Replaced {
            order_id: OrderId(10),
            account: AccountId(9),
            instrument: InstrumentId(3),
            price: Price(102),
            qty: Qty(9),
            kept_priority: false,
        });
        let r = event_to_outbound(&rep, 7, &CFG, &t);
        assert!(
            matches!(r[0], Outbound::Accepted(a) if a.orig_user_ref_num == Some(UserRefNum(0x55)))
        );
        let mut v = Vec::new();
        r[0].encode(&mut v).unwrap();
        assert_eq!(v[0], b'U');
        let canc = ev(EventKind::Cancelled {
            order_id: OrderId(10),
            account: AccountId(9),
            instrument: InstrumentId(3),
            reason: CancelReason::SelfTrade,
            qty: Qty(3),
            side: ferrex_types::Side::Buy,
            price: ferrex_types::Price(100),
            leaves: ferrex_types::Qty(0),
        });
        assert!(matches!(event_to_outbound(&canc, 7, &CFG, &t)[0],
            Outbound::Canceled(c) if c.reason == OuchCancelReason::SelfMatchPrevention));
        let other = ev(EventKind::Cancelled {
            order_id: OrderId(999),
            account: AccountId(1),
            instrument: InstrumentId(3),
            reason: CancelReason::SelfTrade,
            qty: Qty(3),
            side: ferrex_types::Side::Buy,
            price: ferrex_types::Price(100),
            leaves: ferrex_types::Qty(0),
        });
        assert!(event_to_outbound(&other, 7, &CFG, &t).is_empty());
    }

    #[test]
    fn disconnect_cancel_is_system_and_mass_cancel_user_requested() {
        assert_eq!(
            cancel_reason(CancelReason::Disconnect),
            OuchCancelReason::System
        );
        assert_eq!(
            cancel_reason(CancelReason::MassCancel),
            OuchCancelReason::UserRequested
        );
    }
}
