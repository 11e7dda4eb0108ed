//! Shared helpers for the risk tests.
#![allow(dead_code)]

use ferrex_risk::{AccountConfig, InstrumentConfig, MarketView, Risk, RiskConfig};
use ferrex_types::*;

pub const I0: InstrumentId = InstrumentId(0);
pub const A1: AccountId = AccountId(1);
pub const A2: AccountId = AccountId(2);

/// One instrument (tick 1, lot 1, no limits) and accounts 1 and 2 with no limits.
pub fn base() -> RiskConfig {
    RiskConfig {
        max_orders: 1024,
        instruments: vec![InstrumentConfig {
            id: 0,
            tick_size: 1,
            lot_size: 1,
            min_qty: 1,
            min_price: 1,
            max_price: 1 << 53,
            market_protection_ticks: 10,
            ..InstrumentConfig::default()
        }],
        accounts: vec![
            AccountConfig {
                id: 1,
                ..AccountConfig::default()
            },
            AccountConfig {
                id: 2,
                ..AccountConfig::default()
            },
        ],
        ..RiskConfig::default()
    }
}

pub fn risk(cfg: &RiskConfig) -> Risk {
    Risk::new(cfg).expect("valid config")
}

pub fn order(id: u64, account: AccountId, side: Side, price: i64, qty: u64) -> NewOrder {
    NewOrder {
        order_id: OrderId(id),
        price: Price(price),
        qty: Qty(qty),
        account,
        instrument: I0,
        side,
        ..NewOrder::default()
    }
}

pub fn buy(id: u64, price: i64, qty: u64) -> NewOrder {
    order(id, A1, Side::Buy, price, qty)
}

pub fn sell(id: u64, price: i64, qty: u64) -> NewOrder {
    order(id, A1, Side::Sell, price, qty)
}

pub const NOMKT: MarketView = MarketView {
    best_bid: None,
    best_ask: None,
    last_trade: None,
};

/// Check and, if accepted, feed the `Accepted` event (as the book would, resting).
pub fn enter(
    r: &mut Risk,
    o: &NewOrder,
    now: u64,
    mkt: &MarketView,
) -> Result<(), ferrex_risk::RiskReject> {
    r.check_new(o, now, mkt)?;
    let mut out = Vec::new();
    r.on_event(&accepted(o), now, &mut out);
    Ok(())
}

pub fn accepted(o: &NewOrder) -> EventKind {
    let price = match o.ord_type {
        OrdType::Limit | OrdType::StopLimit => o.price,
        _ => Price(0),
    };
    EventKind::Accepted {
        order_id: o.order_id,
        account: o.account,
        instrument: o.instrument,
        side: o.side,
        price,
        qty: o.qty,
    }
}

/// A trade of `qty` at `price` between a resting maker and a taker.
#[allow(clippy::too_many_arguments)]
pub fn trade(
    price: i64,
    qty: u64,
    maker: (u64, AccountId, u64),
    taker: (u64, AccountId, u64),
    aggressor: Side,
) -> EventKind {
    EventKind::Trade {
        instrument: I0,
        price: Price(price),
        qty: Qty(qty),
        maker_order_id: OrderId(maker.0),
        taker_order_id: OrderId(taker.0),
        maker_leaves: Qty(maker.2),
        taker_leaves: Qty(taker.2),
        maker_account: maker.1,
        taker_account: taker.1,
        aggressor,
    }
}

/// The whole remainder (`qty`) of order `id` (`side`, limit `price`; 0 for a market order)
/// cancelled.
pub fn cancelled(id: u64, account: AccountId, side: Side, price: i64, qty: u64) -> EventKind {
    EventKind::Cancelled {
        order_id: OrderId(id),
        account,
        instrument: I0,
        reason: CancelReason::Requested,
        qty: Qty(qty),
        side,
        price: Price(price),
        leaves: Qty(0),
    }
}

pub fn reason(r: Result<(), ferrex_risk::RiskReject>) -> Option<(RejectReason, i64, i64)> {
    r.err().map(|e| (e.reason, e.limit, e.value))
}
