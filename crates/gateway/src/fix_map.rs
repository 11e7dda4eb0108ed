//! FIX 4.4 application messages and their mapping to ferrex commands and events.
//!
//! ## Inbound
//! [`NewOrderSingle`] (D), [`OrderCancelRequest`] (F) and [`OrderCancelReplaceRequest`] (G) are
//! typed views over a parsed [`Message`] (borrowing its bytes), with encoders for clients and
//! tests. They become commands through [`new_order_to_command`], [`cancel_to_command`] and
//! [`replace_to_command`]:
//!
//! | FIX | ferrex |
//! | --- | --- |
//! | Side 54: `1` buy; `2` sell, `5` sell short, `6` sell short exempt | Buy / Sell |
//! | OrdType 40: `1` market, `2` limit, `3` stop, `4` stop-limit | Market, Limit, Stop, StopLimit |
//! | TimeInForce 59: `0` day and `1` GTC → GTC; `3` IOC; `4` FOK; `6` GTD with ExpireTime 126 (absent 59 = day) | Gtc, Ioc, Fok, Gtd (`expire_time` = ExpireTime as Unix ns: the engine's clock is Unix ns at the gateway) |
//! | ExecInst 18 containing `6` (participate don't initiate) | PostOnly (only with a day/GTC order) |
//! | MaxFloor 111 | `display_qty` |
//! | Price 44, StopPx 99 | ticks through [`PriceScale`], exact decimal arithmetic (no `f64`); a price not on a tick is refused |
//! | OrderQty 38 | lots (an integer; a zero fraction such as `100.00` is accepted) |
//! | F | `Cancel` of the order OrigClOrdID 41 names |
//! | G | `Modify` to the new price and open quantity = OrderQty − CumQty (≤ 0 → `Cancel`) |
//!
//! ## Outbound
//! [`event_to_reports`] turns an [`Event`] into ExecutionReport (8) / OrderCancelReject (9)
//! contents for the orders of this session; [`encode_execution_report`] and
//! [`encode_order_cancel_reject`] write them.
//!
//! | ferrex event | ExecType 150 | OrdStatus 39 |
//! | --- | --- | --- |
//! | Accepted | `0` new | `0` new |
//! | Trade (each own side) | `F` trade, LastPx 31 / LastQty 32 | `1` partially filled / `2` filled |
//! | Cancelled (Text 58: the reason, [`cancel_text`]; a cancel-on-disconnect says "cancel on disconnect") | `4` canceled | `4` canceled |
//! | Expired | `C` expired | `C` expired |
//! | Replaced | `5` replaced | `0` new / `1` partially filled |
//! | Rejected (of a new order) | `8` rejected, OrdRejReason 103 + Text 58 | `8` rejected |
//! | Rejected (of a cancel / replace) | OrderCancelReject (9): CxlRejReason 102, CxlRejResponseTo 434, Text 58 | current status |
//!
//! ## Reject reasons (ferrex [`RejectReason`] → OrdRejReason 103; Text 58 is always
//! [`RejectReason::as_str`])
//! | ferrex | 103 |
//! | --- | --- |
//! | UnknownInstrument | 1 unknown symbol |
//! | UnknownOrder, NotOwner | 5 unknown order |
//! | DuplicateOrderId | 6 duplicate order |
//! | InvalidQty, LotSize | 13 incorrect quantity |
//! | UnknownAccount | 15 unknown account |
//! | PriceOutsideBand, MaxOrderQty, MaxOrderNotional, CreditLimit, PositionLimit, MaxOpenOrders, OutsideMinMax, AccountReducing, InstrumentReducing, ReduceOnly | 3 order exceeds limit |
//! | InstrumentHalted, VolatilityHalt | 2 exchange closed |
//! | BookFull, Throttled, AccountHalted, MmpFrozen, RiskNotConfigured | 0 broker / exchange option |
//! | InvalidPrice, TickSize, InvalidStopPrice, InvalidExpireTime, PostOnlyWouldTake, FokNotFillable, InvalidModify, NoLiquidity, Malformed | 99 other |
//!
//! CxlRejReason 102: UnknownOrder / NotOwner → 1 unknown order, everything else → 99 other.

//!
//! ```
//! use ferrex_gateway::fix_map::{Decimal, PriceScale};
//! use ferrex_types::Price;
//! let cents = PriceScale::decimals(2);
//! assert_eq!(cents.to_ticks(Decimal::parse(b"101.25").unwrap()), Some(Price(10_125)));
//! assert_eq!(cents.to_ticks(Decimal::parse(b"101.255").unwrap()), None); // not on a tick
//! ```

use crate::fix::{self, Body, FieldError, Header, Message, tag};
use ferrex_types::{
    AccountId, CancelOrder, CancelReason, Command, CommandKind, Event, EventKind, InstrumentId,
    ModifyOrder, NewOrder, OrdType, OrderId, Price, Qty, RejectReason, Side, TimeInForce,
};
use smallvec::SmallVec;

/// An exact decimal: `mantissa × 10^-decimals`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// Digits.
    pub mantissa: i128,
    /// Fractional digits (≤ 18).
    pub decimals: u32,
}

impl Decimal {
    /// Parse `[-]digits[.digits]` (at most 20 integer and 18 fractional digits). No exponent, no `+`.
    pub fn parse(v: &[u8]) -> Option<Decimal> {
        let (neg, v) = match v.split_first() {
            Some((b'-', r)) => (true, r),
            _ => (false, v),
        };
        let (int, frac) = match memchr::memchr(b'.', v) {
            Some(i) => (&v[..i], &v[i + 1..]),
            None => (v, &[][..]),
        };
        if int.is_empty() && frac.is_empty() || int.len() > 20 || frac.len() > 18 {
            return None;
        }
        let mut m: i128 = 0;
        for &b in int.iter().chain(frac) {
            if !b.is_ascii_digit() {
                return None;
            }
            m = m * 10 + i128::from(b - b'0');
        }
        Some(Decimal {
            mantissa: if neg { -m } else { m },
            decimals: frac.len() as u32,
        })
    }
}

/// The instrument's tick as an exact decimal (`tick = mantissa × 10^-decimals`), converting FIX
/// prices to ferrex ticks and back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PriceScale {
    /// Tick mantissa (≥ 1).
    pub tick_mantissa: u64,
    /// Tick decimals (≤ 18).
    pub tick_decimals: u32,
}

impl PriceScale {
    /// A tick of 10^-decimals (for example 4 → 0.0001).
    pub const fn decimals(decimals: u32) -> PriceScale {
        PriceScale {
            tick_mantissa: 1,
            tick_decimals: decimals,
        }
    }
    /// Decimal price → ticks, `None` if not a whole number of ticks or out of range. Exact.
    pub fn to_ticks(&self, d: Decimal) -> Option<Price> {
        let td = self.tick_decimals.min(18);
        // price / tick = (m × 10^td) / (tm × 10^pd)
        let num = d.mantissa.checked_mul(10i128.pow(td))?;
        let den =
            i128::from(self.tick_mantissa.max(1)).checked_mul(10i128.pow(d.decimals.min(18)))?;
        if num % den != 0 {
            return None;
        }
        i64::try_from(num / den).ok().map(Price)
    }
    /// Ticks → decimal price.
    pub fn to_decimal(&self, p: Price) -> Decimal {
        Decimal {
            mantissa: i128::from(p.0) * i128::from(self.tick_mantissa.max(1)),
            decimals: self.tick_decimals.min(18),
        }
    }
}

/// Why a FIX application message could not become a command. The session answers with an
/// ExecutionReport rejected (new orders), an OrderCancelReject (cancel/replace), or a session
/// Reject for [`FixMapError::Field`] problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum FixMapError {
    /// A field is missing or malformed.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// Symbol 55 names no instrument.
    #[error("unknown symbol")]
    UnknownSymbol,
    /// ClOrdID / OrigClOrdID names no order of this session.
    #[error("unknown order")]
    UnknownOrder,
    /// The ClOrdID of a new order / request is already in use.
    #[error("duplicate ClOrdID")]
    DuplicateClOrdId,
    /// A price (tag) is not a whole number of ticks.
    #[error("price in tag {0} is not on a tick")]
    PriceNotOnTick(u32),
    /// A value ferrex does not implement (tag).
    #[error("unsupported value in tag {0}")]
    Unsupported(u32),
}

impl FixMapError {
    /// OrdRejReason (103) for an ExecutionReport reject.
    pub const fn ord_rej_reason(&self) -> u32 {
        match self {
            FixMapError::UnknownSymbol => 1,
            FixMapError::UnknownOrder => 5,
            FixMapError::DuplicateClOrdId => 6,
            FixMapError::Field(FieldError::BadValue(tag::ORDER_QTY)) => 13,
            FixMapError::Unsupported(_) => 11,
            _ => 99,
        }
    }
}

/// NewOrderSingle (D).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NewOrderSingle<'a> {
    /// ClOrdID 11.
    pub cl_ord_id: &'a [u8],
    /// Symbol 55.
    pub symbol: &'a [u8],
    /// Side 54 (`1`, `2`, `5`, `6`).
    pub side: u8,
    /// OrderQty 38 (lots).
    pub order_qty: u64,
    /// OrdType 40 (`1`–`4`).
    pub ord_type: u8,
    /// Price 44.
    pub price: Option<Decimal>,
    /// StopPx 99.
    pub stop_px: Option<Decimal>,
    /// TimeInForce 59 (`0` when absent).
    pub time_in_force: u8,
    /// ExpireTime 126, Unix ns.
    pub expire_time: Option<u64>,
    /// ExecInst 18 contains `6`.
    pub post_only: bool,
    /// MaxFloor 111.
    pub max_floor: Option<u64>,
    /// TransactTime 60, Unix ns.
    pub transact_time: u64,
}

/// OrderCancelRequest (F).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrderCancelRequest<'a> {
    /// OrigClOrdID 41.
    pub orig_cl_ord_id: &'a [u8],
    /// ClOrdID 11 of the cancel.
    pub cl_ord_id: &'a [u8],
    /// Symbol 55.
    pub symbol: &'a [u8],
    /// Side 54.
    pub side: u8,
    /// TransactTime 60.
    pub transact_time: u64,
}

/// OrderCancelReplaceRequest (G).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrderCancelReplaceRequest<'a> {
    /// OrigClOrdID 41.
    pub orig_cl_ord_id: &'a [u8],
    /// ClOrdID 11 of the replacement.
    pub cl_ord_id: &'a [u8],
    /// Symbol 55.
    pub symbol: &'a [u8],
    /// Side 54.
    pub side: u8,
    /// New total OrderQty 38.
    pub order_qty: u64,
    /// OrdType 40.
    pub ord_type: u8,
    /// New Price 44.
    pub price: Option<Decimal>,
    /// TransactTime 60.
    pub transact_time: u64,
}

fn qty_field(m: &Message<'_>, t: u32) -> Result<Option<u64>, FieldError> {
    let Some(v) = m.get(t) else { return Ok(None) };
    let d = Decimal::parse(v).ok_or(FieldError::BadFormat(t))?;
    let scale = 10i128.pow(d.decimals);
    if d.mantissa <= 0 || d.mantissa % scale != 0 {
        return Err(FieldError::BadValue(t));
    }
    u64::try_from(d.mantissa / scale)
        .map(Some)
        .map_err(|_| FieldError::BadValue(t))
}

fn decimal_field(m: &Message<'_>, t: u32) -> Result<Option<Decimal>, FieldError> {
    m.get(t)
        .map(|v| Decimal::parse(v).ok_or(FieldError::BadFormat(t)))
        .transpose()
}

fn char_field(m: &Message<'_>, t: u32, allowed: &[u8]) -> Result<Option<u8>, FieldError> {
    match m.get(t) {
        None => Ok(None),
        Some(&[c]) if allowed.contains(&c) => Ok(Some(c)),
        Some(&[_]) => Err(FieldError::BadValue(t)),
        Some(_) => Err(FieldError::BadFormat(t)),
    }
}

/// HandlInst 21, when present, must be 1, 2 or 3.
fn check_handl_inst(m: &Message<'_>) -> Result<(), FieldError> {
    char_field(m, 21, b"123").map(|_| ())
}

const SIDES: &[u8] = b"1256";
const ORD_TYPES: &[u8] = b"1234";

impl<'a> NewOrderSingle<'a> {
    /// Read and validate from a parsed message (MsgType must be `D`; not checked here).
    pub fn from_message(m: &Message<'a>) -> Result<Self, FieldError> {
        check_handl_inst(m)?;
        let ord_type = char_field(m, tag::ORD_TYPE, ORD_TYPES)?.ok_or(FieldError::Missing(40))?;
        let price = decimal_field(m, tag::PRICE)?;
        let stop_px = decimal_field(m, tag::STOP_PX)?;
        if matches!(ord_type, b'2' | b'4') && price.is_none() {
            return Err(FieldError::Missing(tag::PRICE));
        }
        if matches!(ord_type, b'3' | b'4') && stop_px.is_none() {
            return Err(FieldError::Missing(tag::STOP_PX));
        }
        let time_in_force = char_field(m, tag::TIME_IN_FORCE, b"0123456")?.unwrap_or(b'0');
        let expire_time = m.get_time(tag::EXPIRE_TIME)?;
        if time_in_force == b'6' && expire_time.is_none() {
            return Err(FieldError::Missing(tag::EXPIRE_TIME));
        }
        let post_only = m
            .get(tag::EXEC_INST)
            .is_some_and(|v| v.split(|&b| b == b' ').any(|x| x == b"6"));
        Ok(NewOrderSingle {
            cl_ord_id: m.req(tag::CL_ORD_ID)?,
            symbol: m.req(tag::SYMBOL)?,
            side: char_field(m, tag::SIDE, SIDES)?.ok_or(FieldError::Missing(tag::SIDE))?,
            order_qty: qty_field(m, tag::ORDER_QTY)?.ok_or(FieldError::Missing(tag::ORDER_QTY))?,
            ord_type,
            price,
            stop_px,
            time_in_force,
            expire_time,
            post_only,
            max_floor: qty_field(m, tag::MAX_FLOOR)?,
            transact_time: m
                .get_time(tag::TRANSACT_TIME)?
                .ok_or(FieldError::Missing(tag::TRANSACT_TIME))?,
        })
    }

    /// Encode as a complete message (client side, tests, load generator).
    pub fn encode(&self, out: &mut Vec<u8>, h: &Header<'_>) -> usize {
        fix::encode(out, h, b"D", |b| {
            b.bytes(tag::CL_ORD_ID, self.cl_ord_id);
            if self.post_only {
                b.char(tag::EXEC_INST, b'6');
            }
            b.uint(tag::ORDER_QTY, self.order_qty)
                .char(tag::ORD_TYPE, self.ord_type);
            if let Some(p) = self.price {
                b.decimal(tag::PRICE, p.mantissa, p.decimals);
            }
            b.char(tag::SIDE, self.side)
                .bytes(tag::SYMBOL, self.symbol)
                .char(tag::TIME_IN_FORCE, self.time_in_force)
                .time(tag::TRANSACT_TIME, self.transact_time);
            if let Some(p) = self.stop_px {
                b.decimal(tag::STOP_PX, p.mantissa, p.decimals);
            }
            if let Some(f) = self.max_floor {
                b.uint(tag::MAX_FLOOR, f);
            }
            if let Some(t) = self.expire_time {
                b.time(tag::EXPIRE_TIME, t);
            }
        })
    }
}

impl<'a> OrderCancelRequest<'a> {
    /// Read and validate from a parsed message.
    pub fn from_message(m: &Message<'a>) -> Result<Self, FieldError> {
        Ok(OrderCancelRequest {
            orig_cl_ord_id: m.req(tag::ORIG_CL_ORD_ID)?,
            cl_ord_id: m.req(tag::CL_ORD_ID)?,
            symbol: m.req(tag::SYMBOL)?,
            side: char_field(m, tag::SIDE, SIDES)?.ok_or(FieldError::Missing(tag::SIDE))?,
            transact_time: m
                .get_time(tag::TRANSACT_TIME)?
                .ok_or(FieldError::Missing(tag::TRANSACT_TIME))?,
        })
    }
    /// Encode as a complete message.
    pub fn encode(&self, out: &mut Vec<u8>, h: &Header<'_>) -> usize {
        fix::encode(out, h, b"F", |b| {
            b.bytes(tag::CL_ORD_ID, self.cl_ord_id)
                .bytes(tag::ORIG_CL_ORD_ID, self.orig_cl_ord_id)
                .char(tag::SIDE, self.side)
                .bytes(tag::SYMBOL, self.symbol)
                .time(tag::TRANSACT_TIME, self.transact_time);
        })
    }
}

impl<'a> OrderCancelReplaceRequest<'a> {
    /// Read and validate from a parsed message.
    pub fn from_message(m: &Message<'a>) -> Result<Self, FieldError> {
        let ord_type = char_field(m, tag::ORD_TYPE, ORD_TYPES)?.ok_or(FieldError::Missing(40))?;
        let price = decimal_field(m, tag::PRICE)?;
        if matches!(ord_type, b'2' | b'4') && price.is_none() {
            return Err(FieldError::Missing(tag::PRICE));
        }
        Ok(OrderCancelReplaceRequest {
            orig_cl_ord_id: m.req(tag::ORIG_CL_ORD_ID)?,
            cl_ord_id: m.req(tag::CL_ORD_ID)?,
            symbol: m.req(tag::SYMBOL)?,
            side: char_field(m, tag::SIDE, SIDES)?.ok_or(FieldError::Missing(tag::SIDE))?,
            order_qty: qty_field(m, tag::ORDER_QTY)?.ok_or(FieldError::Missing(tag::ORDER_QTY))?,
            ord_type,
            price,
            transact_time: m
                .get_time(tag::TRANSACT_TIME)?
                .ok_or(FieldError::Missing(tag::TRANSACT_TIME))?,
        })
    }
    /// Encode as a complete message.
    pub fn encode(&self, out: &mut Vec<u8>, h: &Header<'_>) -> usize {
        fix::encode(out, h, b"G", |b| {
            b.bytes(tag::CL_ORD_ID, self.cl_ord_id)
                .uint(tag::ORDER_QTY, self.order_qty)
                .char(tag::ORD_TYPE, self.ord_type)
                .bytes(tag::ORIG_CL_ORD_ID, self.orig_cl_ord_id);
            if let Some(p) = self.price {
                b.decimal(tag::PRICE, p.mantissa, p.decimals);
            }
            b.char(tag::SIDE, self.side)
                .bytes(tag::SYMBOL, self.symbol)
                .time(tag::TRANSACT_TIME, self.transact_time);
        })
    }
}

/// The last request the session sent for an order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FixOp {
    /// NewOrderSingle.
    #[default]
    New,
    /// OrderCancelRequest.
    Cancel,
    /// OrderCancelReplaceRequest.
    Replace,
}

/// What the session knows about one of its orders (borrowed from its order table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FixOrderInfo<'s> {
    /// Engine id.
    pub order_id: OrderId,
    /// Book.
    pub instrument: InstrumentId,
    /// Current ClOrdID (of the last request on the order).
    pub cl_ord_id: &'s [u8],
    /// ClOrdID before the last cancel/replace request.
    pub orig_cl_ord_id: &'s [u8],
    /// Symbol.
    pub symbol: &'s [u8],
    /// Side as sent (54).
    pub side: u8,
    /// Total order quantity (38).
    pub order_qty: u64,
    /// Current limit price.
    pub price: Price,
    /// Filled so far (before the event being mapped).
    pub cum_qty: u64,
    /// Σ price × qty of the fills so far (for AvgPx).
    pub cum_notional: i128,
    /// The last request.
    pub last_op: FixOp,
}

/// The session's order table, as the mapping needs it.
pub trait FixOrders {
    /// Instrument of a symbol.
    fn instrument(&self, symbol: &[u8]) -> Option<InstrumentId>;
    /// The order a ClOrdID (or OrigClOrdID) names. For a NewOrderSingle the session registers
    /// the new ClOrdID (allocating its engine id) before calling [`new_order_to_command`].
    fn by_cl_ord_id(&self, cl_ord_id: &[u8]) -> Option<FixOrderInfo<'_>>;
    /// The order an engine id names, if it belongs to this session.
    fn by_order_id(&self, order_id: OrderId) -> Option<FixOrderInfo<'_>>;
}

const fn side_of(s: u8) -> Side {
    if s == b'1' { Side::Buy } else { Side::Sell }
}

fn ticks(scale: &PriceScale, d: Option<Decimal>, t: u32) -> Result<Price, FixMapError> {
    match d {
        None => Ok(Price::ZERO),
        Some(d) => scale.to_ticks(d).ok_or(FixMapError::PriceNotOnTick(t)),
    }
}

/// NewOrderSingle → `New` command at engine time `time`.
pub fn new_order_to_command(
    m: &NewOrderSingle<'_>,
    time: u64,
    account: AccountId,
    scale: &PriceScale,
    orders: &impl FixOrders,
) -> Result<Command, FixMapError> {
    let instrument = orders
        .instrument(m.symbol)
        .ok_or(FixMapError::UnknownSymbol)?;
    let info = orders
        .by_cl_ord_id(m.cl_ord_id)
        .ok_or(FixMapError::UnknownOrder)?;
    let ord_type = match m.ord_type {
        b'1' => OrdType::Market,
        b'2' => OrdType::Limit,
        b'3' => OrdType::Stop,
        b'4' => OrdType::StopLimit,
        _ => return Err(FixMapError::Unsupported(tag::ORD_TYPE)),
    };
    let tif = match (m.time_in_force, m.post_only) {
        (b'0' | b'1', true) => TimeInForce::PostOnly,
        (_, true) => return Err(FixMapError::Unsupported(tag::EXEC_INST)),
        (b'0' | b'1', false) => TimeInForce::Gtc,
        (b'3', false) => TimeInForce::Ioc,
        (b'4', false) => TimeInForce::Fok,
        (b'6', false) => TimeInForce::Gtd,
        _ => return Err(FixMapError::Unsupported(tag::TIME_IN_FORCE)),
    };
    let price = match ord_type {
        OrdType::Limit | OrdType::StopLimit => ticks(scale, m.price, tag::PRICE)?,
        _ => Price::ZERO,
    };
    let stop_price = match ord_type {
        OrdType::Stop | OrdType::StopLimit => ticks(scale, m.stop_px, tag::STOP_PX)?,
        _ => Price::ZERO,
    };
    Ok(Command::new(
        time,
        CommandKind::New(NewOrder {
            order_id: info.order_id,
            price,
            stop_price,
            qty: Qty(m.order_qty),
            display_qty: Qty(m.max_floor.filter(|&f| f < m.order_qty).unwrap_or(0)),
            expire_time: if tif == TimeInForce::Gtd {
                m.expire_time.unwrap_or(0)
            } else {
                0
            },
            account,
            instrument,
            stp_group: 0,
            side: side_of(m.side),
            ord_type,
            tif,
            stp: Default::default(),
            flags: Default::default(),
        }),
    ))
}

/// OrderCancelRequest → `Cancel`.
pub fn cancel_to_command(
    m: &OrderCancelRequest<'_>,
    time: u64,
    account: AccountId,
    orders: &impl FixOrders,
) -> Result<Command, FixMapError> {
    let info = orders
        .by_cl_ord_id(m.orig_cl_ord_id)
        .ok_or(FixMapError::UnknownOrder)?;
    Ok(Command::new(
        time,
        CommandKind::Cancel(CancelOrder {
            order_id: info.order_id,
            account,
            instrument: info.instrument,
        }),
    ))
}

/// OrderCancelReplaceRequest → `Modify` (or `Cancel` when nothing would remain open).
pub fn replace_to_command(
    m: &OrderCancelReplaceRequest<'_>,
    time: u64,
    account: AccountId,
    scale: &PriceScale,
    orders: &impl FixOrders,
) -> Result<Command, FixMapError> {
    let info = orders
        .by_cl_ord_id(m.orig_cl_ord_id)
        .ok_or(FixMapError::UnknownOrder)?;
    if side_of(m.side) != side_of(info.side) {
        return Err(FixMapError::Unsupported(tag::SIDE));
    }
    let price = match m.price {
        Some(_) => ticks(scale, m.price, tag::PRICE)?,
        None => info.price,
    };
    let open = m.order_qty.saturating_sub(info.cum_qty);
    let kind = if open == 0 {
        CommandKind::Cancel(CancelOrder {
            order_id: info.order_id,
            account,
            instrument: info.instrument,
        })
    } else {
        CommandKind::Modify(ModifyOrder {
            order_id: info.order_id,
            price,
            qty: Qty(open),
            account,
            instrument: info.instrument,
        })
    };
    Ok(Command::new(time, kind))
}

/// ferrex reject reason → OrdRejReason (103), per the table in the module docs.
pub const fn ord_rej_reason(r: RejectReason) -> u32 {
    use RejectReason as R;
    match r {
        R::UnknownInstrument => 1,
        R::UnknownOrder | R::NotOwner => 5,
        R::DuplicateOrderId => 6,
        R::InvalidQty | R::LotSize => 13,
        R::UnknownAccount => 15,
        R::PriceOutsideBand
        | R::MaxOrderQty
        | R::MaxOrderNotional
        | R::CreditLimit
        | R::PositionLimit
        | R::MaxOpenOrders
        | R::OutsideMinMax
        | R::AccountReducing
        | R::InstrumentReducing
        | R::ReduceOnly => 3,
        R::InstrumentHalted | R::VolatilityHalt => 2,
        R::BookFull | R::Throttled | R::AccountHalted | R::MmpFrozen | R::RiskNotConfigured => 0,
        R::InvalidPrice
        | R::TickSize
        | R::InvalidStopPrice
        | R::InvalidExpireTime
        | R::PostOnlyWouldTake
        | R::FokNotFillable
        | R::InvalidModify
        | R::NoLiquidity
        | R::Malformed => 99,
    }
}

/// ferrex reject reason → CxlRejReason (102).
pub const fn cxl_rej_reason(r: RejectReason) -> u32 {
    match r {
        RejectReason::UnknownOrder | RejectReason::NotOwner => 1,
        _ => 99,
    }
}

/// ExecutionReport (8) contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExecReport<'s> {
    /// OrderID 37 (engine id).
    pub order_id: OrderId,
    /// ClOrdID 11.
    pub cl_ord_id: &'s [u8],
    /// OrigClOrdID 41 (replaced / canceled on request).
    pub orig_cl_ord_id: Option<&'s [u8]>,
    /// ExecID 17 (engine event sequence number).
    pub exec_id: u64,
    /// ExecType 150.
    pub exec_type: u8,
    /// OrdStatus 39.
    pub ord_status: u8,
    /// Symbol 55.
    pub symbol: &'s [u8],
    /// Side 54.
    pub side: u8,
    /// OrderQty 38.
    pub order_qty: u64,
    /// Price 44 (limit orders).
    pub price: Option<Price>,
    /// LastQty 32 and LastPx 31 (trades).
    pub last: Option<(Qty, Price)>,
    /// LeavesQty 151.
    pub leaves_qty: u64,
    /// CumQty 14.
    pub cum_qty: u64,
    /// Σ price × qty of all fills (AvgPx 6 = this / CumQty).
    pub cum_notional: i128,
    /// OrdRejReason 103.
    pub ord_rej_reason: Option<u32>,
    /// Text 58.
    pub text: Option<&'static str>,
}

/// OrderCancelReject (9) contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CancelRejectReport<'s> {
    /// OrderID 37 (`NONE` when unknown).
    pub order_id: Option<OrderId>,
    /// ClOrdID 11 (of the cancel/replace request).
    pub cl_ord_id: &'s [u8],
    /// OrigClOrdID 41.
    pub orig_cl_ord_id: &'s [u8],
    /// OrdStatus 39 of the order.
    pub ord_status: u8,
    /// CxlRejResponseTo 434: `1` cancel, `2` cancel/replace.
    pub response_to: u8,
    /// CxlRejReason 102.
    pub reason: u32,
    /// Text 58.
    pub text: Option<&'static str>,
}

/// One outbound application message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FixReport<'s> {
    /// ExecutionReport (8).
    Exec(ExecReport<'s>),
    /// OrderCancelReject (9).
    CancelReject(CancelRejectReport<'s>),
}

/// Text 58 of a Canceled report: [`CancelReason::as_str`], except a cancel-on-disconnect,
/// which says so in words ("cancel on disconnect").
pub const fn cancel_text(r: CancelReason) -> &'static str {
    match r {
        CancelReason::Disconnect => "cancel on disconnect",
        _ => r.as_str(),
    }
}

fn working_status(cum: u64) -> u8 {
    if cum > 0 { b'1' } else { b'0' }
}

/// Map one engine event to the reports this session sends (none for orders it does not own;
/// two when both sides of a trade are its own). Pure; O(1).
pub fn event_to_reports<'s>(
    ev: &Event,
    orders: &'s impl FixOrders,
) -> SmallVec<[FixReport<'s>; 2]> {
    let mut out = SmallVec::new();
    let base = |i: &FixOrderInfo<'s>| ExecReport {
        order_id: i.order_id,
        cl_ord_id: i.cl_ord_id,
        orig_cl_ord_id: None,
        exec_id: ev.seq,
        exec_type: b'0',
        ord_status: b'0',
        symbol: i.symbol,
        side: i.side,
        order_qty: i.order_qty,
        price: (i.price != Price::ZERO).then_some(i.price),
        last: None,
        leaves_qty: 0,
        cum_qty: i.cum_qty,
        cum_notional: i.cum_notional,
        ord_rej_reason: None,
        text: None,
    };
    match ev.kind {
        EventKind::Accepted { order_id, qty, .. } => {
            if let Some(i) = orders.by_order_id(order_id) {
                out.push(FixReport::Exec(ExecReport {
                    leaves_qty: qty.0,
                    ..base(&i)
                }));
            }
        }
        EventKind::Rejected {
            order_id, reason, ..
        } => {
            if let Some(i) = orders.by_order_id(order_id) {
                if i.last_op == FixOp::New {
                    out.push(FixReport::Exec(ExecReport {
                        exec_type: b'8',
                        ord_status: b'8',
                        ord_rej_reason: Some(ord_rej_reason(reason)),
                        text: Some(reason.as_str()),
                        ..base(&i)
                    }));
                } else {
                    out.push(FixReport::CancelReject(CancelRejectReport {
                        order_id: Some(i.order_id),
                        cl_ord_id: i.cl_ord_id,
                        orig_cl_ord_id: i.orig_cl_ord_id,
                        ord_status: working_status(i.cum_qty),
                        response_to: if i.last_op == FixOp::Cancel {
                            b'1'
                        } else {
                            b'2'
                        },
                        reason: cxl_rej_reason(reason),
                        text: Some(reason.as_str()),
                    }));
                }
            }
        }
        EventKind::Trade {
            price,
            qty,
            maker_order_id,
            taker_order_id,
            maker_leaves,
            taker_leaves,
            ..
        } => {
            for (id, leaves) in [
                (maker_order_id, maker_leaves),
                (taker_order_id, taker_leaves),
            ] {
                if let Some(i) = orders.by_order_id(id) {
                    let cum = i.cum_qty.saturating_add(qty.0);
                    out.push(FixReport::Exec(ExecReport {
                        exec_type: b'F',
                        ord_status: if leaves.is_zero() { b'2' } else { b'1' },
                        last: Some((qty, price)),
                        leaves_qty: leaves.0,
                        cum_qty: cum,
                        cum_notional: i
                            .cum_notional
                            .saturating_add(i128::from(price.0) * i128::from(qty.0)),
                        ..base(&i)
                    }));
                }
            }
        }
        EventKind::Cancelled {
            order_id, reason, ..
        } => {
            if let Some(i) = orders.by_order_id(order_id) {
                let on_request = reason == CancelReason::Requested && i.last_op != FixOp::New;
                out.push(FixReport::Exec(ExecReport {
                    exec_type: b'4',
                    ord_status: b'4',
                    orig_cl_ord_id: on_request.then_some(i.orig_cl_ord_id),
                    text: Some(cancel_text(reason)),
                    ..base(&i)
                }));
            }
        }
        EventKind::Expired { order_id, .. } => {
            if let Some(i) = orders.by_order_id(order_id) {
                out.push(FixReport::Exec(ExecReport {
                    exec_type: b'C',
                    ord_status: b'C',
                    ..base(&i)
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
                out.push(FixReport::Exec(ExecReport {
                    exec_type: b'5',
                    ord_status: working_status(i.cum_qty),
                    orig_cl_ord_id: Some(i.orig_cl_ord_id),
                    price: Some(price),
                    order_qty: i.cum_qty + qty.0,
                    leaves_qty: qty.0,
                    ..base(&i)
                }));
            }
        }
        EventKind::Triggered { .. }
        | EventKind::LevelChanged { .. }
        | EventKind::AccountState { .. }
        | EventKind::InstrumentState { .. } => {}
    }
    out
}

fn price_field(b: &mut Body<'_>, t: u32, p: Price, scale: &PriceScale) {
    let d = scale.to_decimal(p);
    b.decimal(t, d.mantissa, d.decimals);
}

/// Write an ExecutionReport (8). Fields in tag order: 6, 11, 14, 17, 31, 32, 37, 38, 39, 41,
/// 44, 54, 55, 58, 103, 150, 151. AvgPx carries 4 more decimals than the tick (truncated).
pub fn encode_execution_report(
    out: &mut Vec<u8>,
    h: &Header<'_>,
    r: &ExecReport<'_>,
    scale: &PriceScale,
) -> usize {
    fix::encode(out, h, b"8", |b| {
        let avg = if r.cum_qty == 0 {
            0
        } else {
            r.cum_notional
                .saturating_mul(i128::from(scale.tick_mantissa.max(1)))
                .saturating_mul(10_000)
                / i128::from(r.cum_qty)
        };
        b.decimal(tag::AVG_PX, avg, scale.tick_decimals.min(14) + 4)
            .bytes(tag::CL_ORD_ID, r.cl_ord_id)
            .uint(tag::CUM_QTY, r.cum_qty)
            .uint(tag::EXEC_ID, r.exec_id);
        if let Some((q, p)) = r.last {
            price_field(b, tag::LAST_PX, p, scale);
            b.uint(tag::LAST_QTY, q.0);
        }
        b.uint(tag::ORDER_ID, r.order_id.0)
            .uint(tag::ORDER_QTY, r.order_qty)
            .char(tag::ORD_STATUS, r.ord_status);
        if let Some(o) = r.orig_cl_ord_id {
            b.bytes(tag::ORIG_CL_ORD_ID, o);
        }
        if let Some(p) = r.price {
            price_field(b, tag::PRICE, p, scale);
        }
        b.char(tag::SIDE, r.side).bytes(tag::SYMBOL, r.symbol);
        if let Some(t) = r.text {
            b.bytes(tag::TEXT, t.as_bytes());
        }
        if let Some(x) = r.ord_rej_reason {
            b.uint(tag::ORD_REJ_REASON, u64::from(x));
        }
        b.char(tag::EXEC_TYPE, r.exec_type)
            .uint(tag::LEAVES_QTY, r.leaves_qty);
    })
}

/// Write an OrderCancelReject (9): 11, 37, 39, 41, 58, 102, 434.
pub fn encode_order_cancel_reject(
    out: &mut Vec<u8>,
    h: &Header<'_>,
    r: &CancelRejectReport<'_>,
) -> usize {
    fix::encode(out, h, b"9", |b| {
        b.bytes(tag::CL_ORD_ID, r.cl_ord_id);
        match r.order_id {
            Some(id) => b.uint(tag::ORDER_ID, id.0),
            None => b.bytes(tag::ORDER_ID, b"NONE"),
        };
        b.char(tag::ORD_STATUS, r.ord_status)
            .bytes(tag::ORIG_CL_ORD_ID, r.orig_cl_ord_id);
        if let Some(t) = r.text {
            b.bytes(tag::TEXT, t.as_bytes());
        }
        b.uint(tag::CXL_REJ_REASON, u64::from(r.reason))
            .char(tag::CXL_REJ_RESPONSE_TO, r.response_to);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::parse;

    const H: Header<'static> = Header {
        sender: b"TW",
        target: b"ISLD",
        seq: 3,
        sending_time: 1_700_000_000_000_000_000,
        poss_dup: None,
        extra: &[],
    };
    const SCALE: PriceScale = PriceScale::decimals(2);

    struct Book(Vec<FixOrderInfo<'static>>);
    impl FixOrders for Book {
        fn instrument(&self, s: &[u8]) -> Option<InstrumentId> {
            (s == b"MSFT").then_some(InstrumentId(1))
        }
        fn by_cl_ord_id(&self, c: &[u8]) -> Option<FixOrderInfo<'_>> {
            self.0.iter().find(|i| i.cl_ord_id == c).copied()
        }
        fn by_order_id(&self, o: OrderId) -> Option<FixOrderInfo<'_>> {
            self.0.iter().find(|i| i.order_id == o).copied()
        }
    }

    fn info(cl: &'static [u8], id: u64) -> FixOrderInfo<'static> {
        FixOrderInfo {
            order_id: OrderId(id),
            instrument: InstrumentId(1),
            cl_ord_id: cl,
            orig_cl_ord_id: b"O0",
            symbol: b"MSFT",
            side: b'1',
            order_qty: 100,
            price: Price(12_345),
            cum_qty: 0,
            cum_notional: 0,
            last_op: FixOp::New,
        }
    }

    fn nos() -> NewOrderSingle<'static> {
        NewOrderSingle {
            cl_ord_id: b"C1",
            symbol: b"MSFT",
            side: b'1',
            order_qty: 100,
            ord_type: b'4',
            price: Decimal::parse(b"123.45"),
            stop_px: Decimal::parse(b"123.5"),
            time_in_force: b'6',
            expire_time: Some(1_800_000_000_000_000_000),
            post_only: false,
            max_floor: Some(10),
            transact_time: 1_700_000_000_000_000_000,
        }
    }

    #[test]
    fn decimal_and_scale_are_exact() {
        assert_eq!(
            Decimal::parse(b"-12.0500"),
            Some(Decimal {
                mantissa: -120_500,
                decimals: 4
            })
        );
        assert_eq!(Decimal::parse(b"1e5"), None);
        assert_eq!(Decimal::parse(b"."), None);
        assert_eq!(Decimal::parse(b"+1"), None);
        assert_eq!(
            SCALE.to_ticks(Decimal::parse(b"123.45").unwrap()),
            Some(Price(12_345))
        );
        assert_eq!(
            SCALE.to_ticks(Decimal::parse(b"123.4500").unwrap()),
            Some(Price(12_345))
        );
        assert_eq!(SCALE.to_ticks(Decimal::parse(b"123.455").unwrap()), None);
        let quarter = PriceScale {
            tick_mantissa: 25,
            tick_decimals: 2,
        };
        assert_eq!(
            quarter.to_ticks(Decimal::parse(b"1.75").unwrap()),
            Some(Price(7))
        );
        assert_eq!(quarter.to_ticks(Decimal::parse(b"1.70").unwrap()), None);
        assert_eq!(
            SCALE.to_ticks(Decimal::parse(b"999999999999999999.99").unwrap()),
            None
        );
    }

    #[test]
    fn application_messages_round_trip() {
        let mut out = Vec::new();
        nos().encode(&mut out, &H);
        let m = parse(&out).unwrap();
        assert_eq!(m.msg_type(), b"D");
        let back = NewOrderSingle::from_message(&m).unwrap();
        assert_eq!(
            back.price.and_then(|p| SCALE.to_ticks(p)),
            Some(Price(12_345))
        );
        assert_eq!(
            back.stop_px.and_then(|p| SCALE.to_ticks(p)),
            Some(Price(12_350))
        );
        assert_eq!(
            NewOrderSingle {
                price: back.price,
                stop_px: back.stop_px,
                ..nos()
            },
            back
        );
        let c = OrderCancelRequest {
            orig_cl_ord_id: b"C1",
            cl_ord_id: b"C2",
            symbol: b"MSFT",
            side: b'1',
            transact_time: 1_700_000_000_000_000_000,
        };
        let mut out = Vec::new();
        c.encode(&mut out, &H);
        assert_eq!(
            OrderCancelRequest::from_message(&parse(&out).unwrap()),
            Ok(c)
        );
        let r = OrderCancelReplaceRequest {
            orig_cl_ord_id: b"C1",
            cl_ord_id: b"C3",
            symbol: b"MSFT",
            side: b'1',
            order_qty: 50,
            ord_type: b'2',
            price: Decimal::parse(b"1.5"),
            transact_time: 1_700_000_000_000_000_000,
        };
        let mut out = Vec::new();
        r.encode(&mut out, &H);
        assert_eq!(
            OrderCancelReplaceRequest::from_message(&parse(&out).unwrap()),
            Ok(r)
        );
    }

    #[test]
    fn missing_and_bad_fields() {
        let mut out = Vec::new();
        NewOrderSingle {
            price: None,
            ..nos()
        }
        .encode(&mut out, &H);
        assert_eq!(
            NewOrderSingle::from_message(&parse(&out).unwrap()),
            Err(FieldError::Missing(44))
        );
        let mut out = Vec::new();
        NewOrderSingle {
            side: b'9',
            ..nos()
        }
        .encode(&mut out, &H);
        let e = NewOrderSingle::from_message(&parse(&out).unwrap()).unwrap_err();
        assert_eq!(
            (e, e.session_reject_reason()),
            (FieldError::BadValue(54), 5)
        );
    }

    #[test]
    fn commands() {
        let book = Book(vec![info(b"C1", 9)]);
        let c = new_order_to_command(&nos(), 5, AccountId(2), &SCALE, &book).unwrap();
        let CommandKind::New(n) = c.kind else {
            panic!()
        };
        assert_eq!(
            (
                n.ord_type,
                n.tif,
                n.price,
                n.stop_price,
                n.display_qty,
                n.expire_time
            ),
            (
                OrdType::StopLimit,
                TimeInForce::Gtd,
                Price(12_345),
                Price(12_350),
                Qty(10),
                1_800_000_000_000_000_000
            )
        );
        let po = NewOrderSingle {
            ord_type: b'2',
            time_in_force: b'0',
            post_only: true,
            ..nos()
        };
        let CommandKind::New(n) = new_order_to_command(&po, 5, AccountId(2), &SCALE, &book)
            .unwrap()
            .kind
        else {
            panic!()
        };
        assert_eq!(n.tif, TimeInForce::PostOnly);
        let bad = NewOrderSingle {
            price: Decimal::parse(b"1.001"),
            ..nos()
        };
        assert_eq!(
            new_order_to_command(&bad, 5, AccountId(2), &SCALE, &book),
            Err(FixMapError::PriceNotOnTick(44))
        );
        let mut filled = info(b"C1", 9);
        filled.cum_qty = 30;
        let book = Book(vec![filled]);
        let r = OrderCancelReplaceRequest {
            orig_cl_ord_id: b"C1",
            cl_ord_id: b"C3",
            symbol: b"MSFT",
            side: b'1',
            order_qty: 50,
            ord_type: b'2',
            price: Decimal::parse(b"1.5"),
            transact_time: 0,
        };
        let c = replace_to_command(&r, 5, AccountId(2), &SCALE, &book).unwrap();
        assert!(
            matches!(c.kind, CommandKind::Modify(m) if m.qty == Qty(20) && m.price == Price(150))
        );
        let r = OrderCancelReplaceRequest { order_qty: 30, ..r };
        let c = replace_to_command(&r, 5, AccountId(2), &SCALE, &book).unwrap();
        assert!(matches!(c.kind, CommandKind::Cancel(_)));
    }

    #[test]
    fn reports_for_events() {
        let mut cancel_pending = info(b"C2", 8);
        cancel_pending.last_op = FixOp::Cancel;
        let book = Book(vec![info(b"C1", 9), cancel_pending]);
        let ev = |kind| Event {
            seq: 77,
            cmd_seq: 1,
            time: 0,
            kind,
        };
        let t = ev(EventKind::Trade {
            instrument: InstrumentId(1),
            price: Price(12_345),
            qty: Qty(40),
            maker_order_id: OrderId(9),
            taker_order_id: OrderId(1000),
            maker_leaves: Qty(60),
            taker_leaves: Qty(0),
            maker_account: AccountId(2),
            taker_account: AccountId(3),
            aggressor: Side::Sell,
        });
        let r = event_to_reports(&t, &book);
        assert_eq!(r.len(), 1);
        let FixReport::Exec(x) = r[0] else { panic!() };
        assert_eq!(
            (x.exec_type, x.ord_status, x.cum_qty, x.leaves_qty),
            (b'F', b'1', 40, 60)
        );
        let mut out = Vec::new();
        encode_execution_report(&mut out, &H, &x, &SCALE);
        let m = parse(&out).unwrap();
        assert_eq!(m.get(31), Some(&b"123.45"[..]));
        assert_eq!(m.get(32), Some(&b"40"[..]));
        assert_eq!(m.get(6), Some(&b"123.45"[..]));
        assert_eq!(m.get(150), Some(&b"F"[..]));
        assert_eq!(m.get(39), Some(&b"1"[..]));
        assert_eq!(m.get(151), Some(&b"60"[..]));
        assert_eq!(m.get(14), Some(&b"40"[..]));
        assert_eq!(m.get(17), Some(&b"77"[..]));
        let rej = ev(EventKind::Rejected {
            order_id: OrderId(9),
            account: AccountId(2),
            instrument: InstrumentId(1),
            reason: RejectReason::MaxOrderQty,
            limit: 10,
            value: 100,
        });
        let FixReport::Exec(x) = event_to_reports(&rej, &book)[0] else {
            panic!()
        };
        let mut out = Vec::new();
        encode_execution_report(&mut out, &H, &x, &SCALE);
        let m = parse(&out).unwrap();
        assert_eq!(m.get(103), Some(&b"3"[..]));
        assert_eq!(m.get(58), Some(&b"max_order_qty"[..]));
        assert_eq!(m.get(39), Some(&b"8"[..]));
        let rej2 = ev(EventKind::Rejected {
            order_id: OrderId(8),
            account: AccountId(2),
            instrument: InstrumentId(1),
            reason: RejectReason::UnknownOrder,
            limit: 0,
            value: 0,
        });
        let FixReport::CancelReject(c) = event_to_reports(&rej2, &book)[0] else {
            panic!()
        };
        let mut out = Vec::new();
        encode_order_cancel_reject(&mut out, &H, &c);
        let m = parse(&out).unwrap();
        assert_eq!(m.msg_type(), b"9");
        assert_eq!(m.get(102), Some(&b"1"[..]));
        assert_eq!(m.get(434), Some(&b"1"[..]));
        assert_eq!(m.get(41), Some(&b"O0"[..]));
    }

    #[test]
    fn every_reject_reason_maps() {
        for r in RejectReason::ALL {
            let c = ord_rej_reason(r);
            assert!(c <= 15 || c == 99, "{r:?}");
            assert!(!r.as_str().is_empty());
        }
    }

    #[test]
    fn cancel_text_names_a_disconnect() {
        assert_eq!(
            cancel_text(CancelReason::Disconnect),
            "cancel on disconnect"
        );
        assert_eq!(cancel_text(CancelReason::Requested), "requested");
        assert_eq!(cancel_text(CancelReason::MassCancel), "mass_cancel");
    }
}
