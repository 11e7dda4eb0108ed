//! Small builders for orders and expected events, shared by the book tests.
#![allow(dead_code)]

use ferrex_book::BookConfig;
use ferrex_types::{
    AccountId, CancelOrder, CancelReason, EventKind, InstrumentId, ModifyOrder, NewOrder, OrdType,
    OrderId, Price, Qty, RejectReason, Side, StpMode, TimeInForce,
};

/// The instrument every test book uses.
pub const INST: InstrumentId = InstrumentId(7);
/// Buy.
pub const B: Side = Side::Buy;
/// Sell.
pub const S: Side = Side::Sell;

/// A small book: tick 1, lot 1, prices 1..=1000, 16 orders, protection 5 ticks, level events on.
pub fn small_cfg() -> BookConfig {
    BookConfig {
        tick_size: 1,
        lot_size: 1,
        min_price: Price(1),
        max_price: Price(1000),
        max_orders: 16,
        max_special_orders: 16,
        max_accounts: 16,
        dense_levels: 64,
        sparse_levels: 16,
        anchor: None,
        market_protection_ticks: 5,
        level_events: true,
    }
}

/// A GTC limit order.
pub fn limit(id: u64, acct: u32, side: Side, price: i64, qty: u64) -> NewOrder {
    NewOrder {
        order_id: OrderId(id),
        price: Price(price),
        qty: Qty(qty),
        account: AccountId(acct),
        instrument: INST,
        side,
        ..NewOrder::default()
    }
}

/// A GTC market order.
pub fn market(id: u64, acct: u32, side: Side, qty: u64) -> NewOrder {
    NewOrder {
        ord_type: OrdType::Market,
        price: Price(0),
        ..limit(id, acct, side, 0, qty)
    }
}

/// A GTC stop (market) order.
pub fn stop(id: u64, acct: u32, side: Side, stop_price: i64, qty: u64) -> NewOrder {
    NewOrder {
        ord_type: OrdType::Stop,
        stop_price: Price(stop_price),
        ..limit(id, acct, side, 0, qty)
    }
}

/// A GTC stop-limit order.
pub fn stop_limit(
    id: u64,
    acct: u32,
    side: Side,
    stop_price: i64,
    price: i64,
    qty: u64,
) -> NewOrder {
    NewOrder {
        ord_type: OrdType::StopLimit,
        stop_price: Price(stop_price),
        ..limit(id, acct, side, price, qty)
    }
}

/// Set the time in force.
pub fn tif(o: NewOrder, tif: TimeInForce) -> NewOrder {
    NewOrder { tif, ..o }
}

/// Make an order GTD.
pub fn gtd(o: NewOrder, expire_time: u64) -> NewOrder {
    NewOrder {
        tif: TimeInForce::Gtd,
        expire_time,
        ..o
    }
}

/// Set the STP mode (and group).
pub fn stp(o: NewOrder, mode: StpMode, group: u32) -> NewOrder {
    NewOrder {
        stp: mode,
        stp_group: group,
        ..o
    }
}

/// Make an order an iceberg.
pub fn iceberg(o: NewOrder, display: u64) -> NewOrder {
    NewOrder {
        display_qty: Qty(display),
        ..o
    }
}

/// A cancel.
pub fn cancel(id: u64, acct: u32) -> CancelOrder {
    CancelOrder {
        order_id: OrderId(id),
        account: AccountId(acct),
        instrument: INST,
    }
}

/// A modify.
pub fn modify(id: u64, acct: u32, price: i64, qty: u64) -> ModifyOrder {
    ModifyOrder {
        order_id: OrderId(id),
        price: Price(price),
        qty: Qty(qty),
        account: AccountId(acct),
        instrument: INST,
    }
}

// ------------------------------------------------------------------ expected events

pub fn accepted(id: u64, acct: u32, side: Side, price: i64, qty: u64) -> EventKind {
    EventKind::Accepted {
        order_id: OrderId(id),
        account: AccountId(acct),
        instrument: INST,
        side,
        price: Price(price),
        qty: Qty(qty),
    }
}

pub fn rejected(id: u64, acct: u32, reason: RejectReason, limit: i64, value: i64) -> EventKind {
    EventKind::Rejected {
        order_id: OrderId(id),
        account: AccountId(acct),
        instrument: INST,
        reason,
        limit,
        value,
    }
}

/// A trade. `maker` and `taker` are (order id, account, leaves after the trade).
pub fn trade(
    price: i64,
    qty: u64,
    maker: (u64, u32, u64),
    taker: (u64, u32, u64),
    aggressor: Side,
) -> EventKind {
    EventKind::Trade {
        instrument: INST,
        price: Price(price),
        qty: Qty(qty),
        maker_order_id: OrderId(maker.0),
        taker_order_id: OrderId(taker.0),
        maker_leaves: Qty(maker.2),
        taker_leaves: Qty(taker.2),
        maker_account: AccountId(maker.1),
        taker_account: AccountId(taker.1),
        aggressor,
    }
}

/// `Cancelled` of `qty` lots of order `id` (`side`, limit `price`; 0 for a market order),
/// leaving `leaves` open.
pub fn cancelled(
    id: u64,
    acct: u32,
    reason: CancelReason,
    qty: u64,
    side: Side,
    price: i64,
    leaves: u64,
) -> EventKind {
    EventKind::Cancelled {
        order_id: OrderId(id),
        account: AccountId(acct),
        instrument: INST,
        reason,
        qty: Qty(qty),
        side,
        price: Price(price),
        leaves: Qty(leaves),
    }
}

pub fn level(side: Side, price: i64, qty: u64, orders: u32) -> EventKind {
    EventKind::LevelChanged {
        instrument: INST,
        side,
        price: Price(price),
        qty: Qty(qty),
        orders,
    }
}

pub fn replaced(id: u64, acct: u32, price: i64, qty: u64, kept_priority: bool) -> EventKind {
    EventKind::Replaced {
        order_id: OrderId(id),
        account: AccountId(acct),
        instrument: INST,
        price: Price(price),
        qty: Qty(qty),
        kept_priority,
    }
}

pub fn triggered(id: u64, acct: u32, stop_price: i64, trade_price: i64) -> EventKind {
    EventKind::Triggered {
        order_id: OrderId(id),
        account: AccountId(acct),
        instrument: INST,
        stop_price: Price(stop_price),
        trade_price: Price(trade_price),
    }
}

pub fn expired(id: u64, acct: u32, qty: u64, side: Side, price: i64) -> EventKind {
    EventKind::Expired {
        order_id: OrderId(id),
        account: AccountId(acct),
        instrument: INST,
        qty: Qty(qty),
        side,
        price: Price(price),
    }
}
