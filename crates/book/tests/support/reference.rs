//! `ReferenceBook`: a deliberately simple implementation of `docs/semantics.md`, written from that
//! page alone, for differential testing of the optimized `ferrex_book::Book`.
//!
//! Every live order (resting or pending stop) sits in one `Vec`. Queues are computed on demand by
//! filtering and sorting (price priority, then a priority counter). Everything is a linear scan:
//! this is meant to be obviously right, not fast.
#![allow(dead_code)]

use ferrex_book::BookConfig;
use ferrex_types::{
    AccountId, CancelOrder, CancelReason, EventKind, EventKindSink, InstrumentId, ModifyOrder,
    NewOrder, OrdType, OrderId, Price, Qty, RejectReason, Side, StpMode, TimeInForce,
};

/// One price level as seen by the reference (same fields as `ferrex_book::LevelView`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefLevel {
    /// Level price.
    pub price: Price,
    /// Visible quantity at the level.
    pub qty: Qty,
    /// Orders at the level.
    pub orders: u32,
}

/// One live order as seen by the reference (same fields as `ferrex_book::OrderView`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefOrderView {
    pub order_id: OrderId,
    pub account: AccountId,
    pub side: Side,
    pub price: Price,
    pub stop_price: Price,
    pub leaves: Qty,
    pub visible: Qty,
    pub is_stop: bool,
}

#[derive(Clone, Copy, Debug)]
struct ROrder {
    id: OrderId,
    account: AccountId,
    group: u32,
    side: Side,
    ord_type: OrdType,
    tif: TimeInForce,
    stp: StpMode,
    price: Price,
    stop_price: Price,
    display: u64,
    visible: u64,
    hidden: u64,
    expire_time: u64,
    entry: u64,
    prio: u64,
    pending_stop: bool,
    /// Which slab region holds it once it has a slot: `Some(true)` special, `Some(false)`
    /// plain, `None` not yet placed. Special orders (icebergs, stops, GTD, an STP group other
    /// than the account) take special slots only; plain orders take a plain slot while one is
    /// free, else a special one. An order keeps its slot until it leaves the book.
    slot_special: Option<bool>,
}

impl ROrder {
    fn leaves(&self) -> u64 {
        self.visible + self.hidden
    }
    fn is_market(&self) -> bool {
        matches!(self.ord_type, OrdType::Market | OrdType::Stop)
    }
}

/// A `u64` (quantity, id, time) as a reject's `i64` limit/value field, saturating: semantics.md
/// does not say how values above `i64::MAX` are reported; saturating keeps them positive.
fn sat(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Result of a validation failure: (reason, limit, value).
type Reject = (RejectReason, i64, i64);

/// The reference book.
pub struct ReferenceBook {
    instrument: InstrumentId,
    cfg: BookConfig,
    orders: Vec<ROrder>,
    next_entry: u64,
    next_prio: u64,
    last_trade: Option<Price>,
}

/// True when a `side` order at price `a` has better price priority than one at `b`.
fn key(side: Side, price: Price, prio: u64) -> (i64, u64) {
    match side {
        Side::Buy => (-price.0, prio),
        Side::Sell => (price.0, prio),
    }
}

/// True when an opposite-side level at `level` crosses a `side` taker's `limit`.
fn crosses(side: Side, limit: Price, level: Price) -> bool {
    match side {
        Side::Buy => level <= limit,
        Side::Sell => level >= limit,
    }
}

impl ReferenceBook {
    /// An empty reference book.
    pub fn new(instrument: InstrumentId, cfg: BookConfig) -> ReferenceBook {
        ReferenceBook {
            instrument,
            cfg,
            orders: Vec::new(),
            next_entry: 1,
            next_prio: 1,
            last_trade: None,
        }
    }

    // ---------------------------------------------------------------- queries

    fn find(&self, id: OrderId) -> Option<usize> {
        self.orders.iter().position(|o| o.id == id)
    }

    /// Indices of the resting orders of `side`, in priority order.
    fn queue(&self, side: Side) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.orders.len())
            .filter(|&i| !self.orders[i].pending_stop && self.orders[i].side == side)
            .collect();
        v.sort_by_key(|&i| key(side, self.orders[i].price, self.orders[i].prio));
        v
    }

    fn best(&self, side: Side) -> Option<Price> {
        self.queue(side).first().map(|&i| self.orders[i].price)
    }

    /// Best bid.
    pub fn best_bid(&self) -> Option<Price> {
        self.best(Side::Buy)
    }

    /// Best ask.
    pub fn best_ask(&self) -> Option<Price> {
        self.best(Side::Sell)
    }

    /// The level at `price` on `side`, if any order rests there.
    pub fn level(&self, side: Side, price: Price) -> Option<RefLevel> {
        let mut qty = 0;
        let mut n = 0;
        for o in &self.orders {
            if !o.pending_stop && o.side == side && o.price == price {
                qty += o.visible;
                n += 1;
            }
        }
        (n > 0).then_some(RefLevel {
            price,
            qty: Qty(qty),
            orders: n,
        })
    }

    /// All levels of `side`, best first.
    pub fn depth(&self, side: Side) -> Vec<RefLevel> {
        let mut out: Vec<RefLevel> = Vec::new();
        for i in self.queue(side) {
            let p = self.orders[i].price;
            if out.last().map(|l| l.price) != Some(p) {
                out.push(self.level(side, p).expect("level of a resting order"));
            }
        }
        out
    }

    /// The orders at one level, in queue order.
    pub fn orders_in_level(&self, side: Side, price: Price) -> Vec<RefOrderView> {
        self.queue(side)
            .into_iter()
            .filter(|&i| self.orders[i].price == price)
            .map(|i| self.view(i))
            .collect()
    }

    fn view(&self, i: usize) -> RefOrderView {
        let o = &self.orders[i];
        RefOrderView {
            order_id: o.id,
            account: o.account,
            side: o.side,
            price: o.price,
            stop_price: o.stop_price,
            leaves: Qty(o.leaves()),
            visible: Qty(if o.pending_stop { 0 } else { o.visible }),
            is_stop: o.pending_stop,
        }
    }

    /// A live order (resting or pending stop).
    pub fn order(&self, id: OrderId) -> Option<RefOrderView> {
        self.find(id).map(|i| self.view(i))
    }

    /// Ids of all live orders, in entry order.
    pub fn live_ids(&self) -> Vec<OrderId> {
        let mut v: Vec<(u64, OrderId)> = self.orders.iter().map(|o| (o.entry, o.id)).collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    }

    /// True when the order rests at the head of its level.
    pub fn is_head_of_level(&self, id: OrderId) -> bool {
        let Some(i) = self.find(id) else { return false };
        let o = self.orders[i];
        if o.pending_stop {
            return false;
        }
        self.queue(o.side)
            .into_iter()
            .find(|&j| self.orders[j].price == o.price)
            == Some(i)
    }

    /// Live orders (resting + pending stops).
    pub fn live_orders(&self) -> usize {
        self.orders.len()
    }

    /// Last trade price.
    pub fn last_trade_price(&self) -> Option<Price> {
        self.last_trade
    }

    /// Earliest expire time among live GTD orders.
    pub fn next_expiry(&self) -> Option<u64> {
        self.orders
            .iter()
            .filter(|o| o.tif == TimeInForce::Gtd)
            .map(|o| o.expire_time)
            .min()
    }

    // ---------------------------------------------------------------- events

    fn emit_level(&self, side: Side, price: Price, sink: &mut impl EventKindSink) {
        if !self.cfg.level_events {
            return;
        }
        let l = self.level(side, price).unwrap_or(RefLevel {
            price,
            qty: Qty(0),
            orders: 0,
        });
        sink.emit(EventKind::LevelChanged {
            instrument: self.instrument,
            side,
            price,
            qty: l.qty,
            orders: l.orders,
        });
    }

    /// `Cancelled` of `qty` lots of `o`, leaving `left` open (0: gone). Its price is the
    /// order's limit price, 0 for a market or stop (market) order.
    fn emit_cancel(
        &self,
        o: &ROrder,
        reason: CancelReason,
        qty: u64,
        left: u64,
        sink: &mut impl EventKindSink,
    ) {
        sink.emit(EventKind::Cancelled {
            order_id: o.id,
            account: o.account,
            instrument: self.instrument,
            reason,
            qty: Qty(qty),
            side: o.side,
            price: if o.is_market() { Price(0) } else { o.price },
            leaves: Qty(left),
        });
    }

    fn next_prio(&mut self) -> u64 {
        let p = self.next_prio;
        self.next_prio += 1;
        p
    }

    // ---------------------------------------------------------------- validation helpers

    fn check_price(&self, p: Price, range_reason: RejectReason) -> Option<Reject> {
        let c = &self.cfg;
        if p < c.min_price {
            return Some((range_reason, c.min_price.0, p.0));
        }
        if p > c.max_price {
            return Some((range_reason, c.max_price.0, p.0));
        }
        if p.0.rem_euclid(c.tick_size) != 0 {
            return Some((RejectReason::TickSize, c.tick_size, p.0));
        }
        None
    }

    /// The price limit of a market taker on `side`, given the best opposite price.
    fn market_limit(&self, side: Side, best_opp: Price) -> Price {
        let c = &self.cfg;
        let off = i128::from(c.market_protection_ticks) * i128::from(c.tick_size);
        let raw = match side {
            Side::Buy => i128::from(best_opp.0) + off,
            Side::Sell => i128::from(best_opp.0) - off,
        };
        let clamped = raw.clamp(i128::from(c.min_price.0), i128::from(c.max_price.0));
        Price(clamped as i64)
    }

    /// Limit of a taker right now; `None` for a market taker when the opposite side is empty.
    fn taker_limit(&self, t: &ROrder) -> Option<Price> {
        if t.is_market() {
            self.best(t.side.opposite())
                .map(|b| self.market_limit(t.side, b))
        } else {
            Some(t.price)
        }
    }

    /// FOK fillable quantity for a taker (semantics.md "FOK fillable quantity").
    fn fillable(&self, t: &ROrder, limit: Price, qty: u64) -> u64 {
        let mut sum = 0;
        for i in self.queue(t.side.opposite()) {
            let m = &self.orders[i];
            if !crosses(t.side, limit, m.price) {
                break;
            }
            if m.group == t.group && t.stp != StpMode::None {
                if t.stp == StpMode::CancelResting {
                    continue;
                }
                break;
            }
            sum += m.leaves();
            if sum >= qty {
                break;
            }
        }
        sum
    }

    fn validate(&self, o: &NewOrder, now: u64) -> Option<Reject> {
        let c = &self.cfg;
        let lot = c.lot_size;
        if o.qty.0 == 0 {
            return Some((RejectReason::InvalidQty, 0, 0));
        }
        if !o.qty.0.is_multiple_of(lot) {
            return Some((RejectReason::LotSize, sat(lot), sat(o.qty.0)));
        }
        if o.display_qty.0 != 0 && o.display_qty.0 >= o.qty.0 {
            return Some((RejectReason::InvalidQty, sat(o.qty.0), sat(o.display_qty.0)));
        }
        if !o.display_qty.0.is_multiple_of(lot) {
            return Some((RejectReason::LotSize, sat(lot), sat(o.display_qty.0)));
        }
        let has_limit = matches!(o.ord_type, OrdType::Limit | OrdType::StopLimit);
        let is_stop = matches!(o.ord_type, OrdType::Stop | OrdType::StopLimit);
        if has_limit && let Some(r) = self.check_price(o.price, RejectReason::InvalidPrice) {
            return Some(r);
        }
        if is_stop {
            if let Some(r) = self.check_price(o.stop_price, RejectReason::InvalidStopPrice) {
                return Some(r);
            }
            if let Some(l) = self.last_trade {
                let ok = match o.side {
                    Side::Buy => o.stop_price > l,
                    Side::Sell => o.stop_price < l,
                };
                if !ok {
                    return Some((RejectReason::InvalidStopPrice, l.0, o.stop_price.0));
                }
            }
        }
        if o.tif == TimeInForce::Gtd && o.expire_time <= now {
            return Some((
                RejectReason::InvalidExpireTime,
                sat(now),
                sat(o.expire_time),
            ));
        }
        if self.find(o.order_id).is_some() {
            return Some((RejectReason::DuplicateOrderId, 0, sat(o.order_id.0)));
        }
        let opp = o.side.opposite();
        // Steps 8-10 are about immediate execution; a stop is parked, so they do not apply to it
        // on entry (they are applied, as cancels, when it triggers).
        if !is_stop {
            if o.ord_type == OrdType::Market && self.best(opp).is_none() {
                return Some((RejectReason::NoLiquidity, 0, 0));
            }
            if o.tif == TimeInForce::PostOnly
                && let Some(b) = self.best(opp)
                && (o.ord_type == OrdType::Market || crosses(o.side, o.price, b))
            {
                return Some((RejectReason::PostOnlyWouldTake, b.0, o.price.0));
            }
            if o.tif == TimeInForce::Fok {
                let t = self.make(o, 0);
                let limit = self.taker_limit(&t);
                let fill = limit.map_or(0, |l| self.fillable(&t, l, o.qty.0));
                if fill < o.qty.0 {
                    return Some((RejectReason::FokNotFillable, sat(o.qty.0), sat(fill)));
                }
            }
        }
        let needs_slot = is_stop
            || !(matches!(o.tif, TimeInForce::Ioc | TimeInForce::Fok)
                || o.ord_type == OrdType::Market);
        if needs_slot && self.orders.len() >= c.max_orders as usize {
            return Some((
                RejectReason::BookFull,
                i64::from(c.max_orders),
                i64::from(c.max_orders),
            ));
        }
        let special = o.display_qty.0 != 0
            || o.tif == TimeInForce::Gtd
            || is_stop
            || (o.stp_group != 0 && o.stp_group != o.account.0);
        let cap = self.slot_caps().0;
        let used = self
            .orders
            .iter()
            .filter(|r| r.slot_special == Some(true))
            .count();
        if needs_slot && special && used >= cap {
            return Some((RejectReason::BookFull, cap as i64, cap as i64));
        }
        let mut accounts: Vec<u32> = self.orders.iter().map(|r| r.account.0).collect();
        accounts.sort_unstable();
        accounts.dedup();
        let limit = c.max_accounts.min(c.max_orders);
        if needs_slot && accounts.len() >= limit as usize && !accounts.contains(&o.account.0) {
            return Some((
                RejectReason::BookFull,
                i64::from(limit),
                accounts.len() as i64,
            ));
        }
        None
    }

    fn make(&self, o: &NewOrder, entry: u64) -> ROrder {
        ROrder {
            id: o.order_id,
            account: o.account,
            group: if o.stp_group == 0 {
                o.account.0
            } else {
                o.stp_group
            },
            side: o.side,
            ord_type: o.ord_type,
            tif: o.tif,
            stp: o.stp,
            // The price of Market and Stop orders and the stop price of Limit and Market
            // orders are ignored: normalise them to 0.
            price: match o.ord_type {
                OrdType::Limit | OrdType::StopLimit => o.price,
                OrdType::Market | OrdType::Stop => Price(0),
            },
            stop_price: match o.ord_type {
                OrdType::Stop | OrdType::StopLimit => o.stop_price,
                OrdType::Limit | OrdType::Market => Price(0),
            },
            display: o.display_qty.0,
            visible: o.qty.0,
            hidden: 0,
            expire_time: o.expire_time,
            entry,
            prio: 0,
            pending_stop: false,
            slot_special: None,
        }
    }

    /// Special slots in the book's configuration, and plain ones.
    fn slot_caps(&self) -> (usize, usize) {
        let special = self.cfg.max_special_orders.min(self.cfg.max_orders) as usize;
        (special, self.cfg.max_orders as usize - special)
    }

    /// Picks the slab region for an order entering the book now.
    fn place_in(&self, r: &ROrder) -> bool {
        let special = r.display != 0
            || r.tif == TimeInForce::Gtd
            || matches!(r.ord_type, OrdType::Stop | OrdType::StopLimit)
            || r.group != r.account.0;
        let plain_used = self
            .orders
            .iter()
            .filter(|o| o.slot_special == Some(false))
            .count();
        special || plain_used >= self.slot_caps().1
    }

    // ---------------------------------------------------------------- commands

    /// Enter a new order.
    pub fn new_order(&mut self, o: &NewOrder, now: u64, sink: &mut impl EventKindSink) {
        if let Some((reason, limit, value)) = self.validate(o, now) {
            sink.emit(EventKind::Rejected {
                order_id: o.order_id,
                account: o.account,
                instrument: o.instrument,
                reason,
                limit,
                value,
            });
            return;
        }
        let entry = self.next_entry;
        self.next_entry += 1;
        let shown_price = match o.ord_type {
            OrdType::Market | OrdType::Stop => Price(0),
            OrdType::Limit | OrdType::StopLimit => o.price,
        };
        sink.emit(EventKind::Accepted {
            order_id: o.order_id,
            account: o.account,
            instrument: self.instrument,
            side: o.side,
            price: shown_price,
            qty: o.qty,
        });
        let mut r = self.make(o, entry);
        if matches!(o.ord_type, OrdType::Stop | OrdType::StopLimit) {
            r.pending_stop = true;
            r.slot_special = Some(true);
            self.orders.push(r);
            return;
        }
        self.take(r, sink);
        self.run_stops(sink);
    }

    /// Match taker `t` (not in `self.orders`; its leaves are `t.visible`, `t.hidden == 0`), then
    /// cancel or rest the remainder.
    fn take(&mut self, mut t: ROrder, sink: &mut impl EventKindSink) {
        let opp = t.side.opposite();
        let Some(limit) = self.taker_limit(&t) else {
            let leaves = t.leaves();
            self.emit_cancel(&t, CancelReason::Unfilled, leaves, 0, sink);
            return;
        };
        let mut leaves = t.leaves();
        'matching: while leaves > 0 {
            let Some(&hi) = self.queue(opp).first() else {
                break;
            };
            let head = self.orders[hi];
            if !crosses(t.side, limit, head.price) {
                break;
            }
            if head.group == t.group && t.stp != StpMode::None {
                match t.stp {
                    StpMode::CancelResting => {
                        self.orders.remove(hi);
                        self.emit_cancel(&head, CancelReason::SelfTrade, head.leaves(), 0, sink);
                        self.emit_level(head.side, head.price, sink);
                        continue 'matching;
                    }
                    StpMode::CancelAggressor => {
                        self.emit_cancel(&t, CancelReason::SelfTrade, leaves, 0, sink);
                        leaves = 0;
                        break 'matching;
                    }
                    StpMode::CancelBoth => {
                        self.orders.remove(hi);
                        self.emit_cancel(&head, CancelReason::SelfTrade, head.leaves(), 0, sink);
                        self.emit_level(head.side, head.price, sink);
                        self.emit_cancel(&t, CancelReason::SelfTrade, leaves, 0, sink);
                        leaves = 0;
                        break 'matching;
                    }
                    StpMode::DecrementAndCancel => {
                        let d = leaves.min(head.leaves());
                        {
                            let h = &mut self.orders[hi];
                            let from_hidden = d.min(h.hidden);
                            h.hidden -= from_hidden;
                            h.visible -= d - from_hidden;
                        }
                        if self.orders[hi].leaves() == 0 {
                            self.orders.remove(hi);
                        }
                        self.emit_cancel(
                            &head,
                            CancelReason::SelfTrade,
                            d,
                            head.leaves() - d,
                            sink,
                        );
                        self.emit_level(head.side, head.price, sink);
                        self.emit_cancel(&t, CancelReason::SelfTrade, d, leaves - d, sink);
                        leaves -= d;
                        continue 'matching;
                    }
                    StpMode::None => unreachable!(),
                }
            }
            let q = leaves.min(head.visible);
            leaves -= q;
            let prio = self.next_prio();
            let h = &mut self.orders[hi];
            h.visible -= q;
            if h.visible == 0 && h.hidden > 0 {
                let refill = h.display.min(h.hidden);
                h.visible = refill;
                h.hidden -= refill;
                h.prio = prio;
            }
            let maker_leaves = h.leaves();
            if maker_leaves == 0 {
                self.orders.remove(hi);
            }
            sink.emit(EventKind::Trade {
                instrument: self.instrument,
                price: head.price,
                qty: Qty(q),
                maker_order_id: head.id,
                taker_order_id: t.id,
                maker_leaves: Qty(maker_leaves),
                taker_leaves: Qty(leaves),
                maker_account: head.account,
                taker_account: t.account,
                aggressor: t.side,
            });
            self.last_trade = Some(head.price);
            self.emit_level(head.side, head.price, sink);
        }
        if leaves == 0 {
            return;
        }
        if t.is_market() {
            let reason = if self.best(opp).is_some() {
                CancelReason::MarketProtection
            } else {
                CancelReason::Unfilled
            };
            self.emit_cancel(&t, reason, leaves, 0, sink);
            return;
        }
        match t.tif {
            TimeInForce::Ioc | TimeInForce::Fok => {
                self.emit_cancel(&t, CancelReason::Unfilled, leaves, 0, sink);
            }
            TimeInForce::Gtc | TimeInForce::Gtd | TimeInForce::PostOnly => {
                t.visible = if t.display != 0 {
                    t.display.min(leaves)
                } else {
                    leaves
                };
                t.hidden = leaves - t.visible;
                t.prio = self.next_prio();
                t.pending_stop = false;
                if t.slot_special.is_none() {
                    t.slot_special = Some(self.place_in(&t));
                }
                self.orders.push(t);
                self.emit_level(t.side, t.price, sink);
            }
        }
    }

    /// Trigger pending stops until none triggers.
    fn run_stops(&mut self, sink: &mut impl EventKindSink) {
        loop {
            let Some(l) = self.last_trade else { return };
            let mut trig: Vec<(u64, OrderId)> = self
                .orders
                .iter()
                .filter(|o| {
                    o.pending_stop
                        && match o.side {
                            Side::Buy => l >= o.stop_price,
                            Side::Sell => l <= o.stop_price,
                        }
                })
                .map(|o| (o.entry, o.id))
                .collect();
            if trig.is_empty() {
                return;
            }
            trig.sort();
            for (_, id) in trig {
                let Some(i) = self.find(id) else { continue };
                let mut o = self.orders.remove(i);
                sink.emit(EventKind::Triggered {
                    order_id: o.id,
                    account: o.account,
                    instrument: self.instrument,
                    stop_price: o.stop_price,
                    trade_price: l,
                });
                o.pending_stop = false;
                self.enter_triggered(o, sink);
            }
        }
    }

    fn enter_triggered(&mut self, t: ROrder, sink: &mut impl EventKindSink) {
        let opp = t.side.opposite();
        let leaves = t.leaves();
        let Some(limit) = self.taker_limit(&t) else {
            self.emit_cancel(&t, CancelReason::Unfilled, leaves, 0, sink);
            return;
        };
        if t.tif == TimeInForce::PostOnly
            && let Some(b) = self.best(opp)
            && (t.is_market() || crosses(t.side, t.price, b))
        {
            self.emit_cancel(&t, CancelReason::Unfilled, leaves, 0, sink);
            return;
        }
        if t.tif == TimeInForce::Fok && self.fillable(&t, limit, leaves) < leaves {
            self.emit_cancel(&t, CancelReason::Unfilled, leaves, 0, sink);
            return;
        }
        self.take(t, sink);
    }

    /// Remove every GTD order with `expire_time <= now`.
    pub fn expire(&mut self, now: u64, sink: &mut impl EventKindSink) {
        let mut ex: Vec<(u64, u64, OrderId)> = self
            .orders
            .iter()
            .filter(|o| o.tif == TimeInForce::Gtd && o.expire_time <= now)
            .map(|o| (o.expire_time, o.entry, o.id))
            .collect();
        ex.sort();
        for (_, _, id) in ex {
            let i = self.find(id).expect("expiring order is live");
            let o = self.orders.remove(i);
            sink.emit(EventKind::Expired {
                order_id: o.id,
                account: o.account,
                instrument: self.instrument,
                qty: Qty(o.leaves()),
                side: o.side,
                price: if o.is_market() { Price(0) } else { o.price },
            });
            if !o.pending_stop {
                self.emit_level(o.side, o.price, sink);
            }
        }
    }

    fn reject(
        &self,
        order_id: OrderId,
        account: AccountId,
        instrument: InstrumentId,
        (reason, limit, value): Reject,
        sink: &mut impl EventKindSink,
    ) {
        sink.emit(EventKind::Rejected {
            order_id,
            account,
            instrument,
            reason,
            limit,
            value,
        });
    }

    /// Cancel one order.
    pub fn cancel(&mut self, c: &CancelOrder, _now: u64, sink: &mut impl EventKindSink) {
        let Some(i) = self.find(c.order_id) else {
            let r = (RejectReason::UnknownOrder, 0, sat(c.order_id.0));
            return self.reject(c.order_id, c.account, c.instrument, r, sink);
        };
        let o = self.orders[i];
        if o.account != c.account {
            let r = (
                RejectReason::NotOwner,
                i64::from(o.account.0),
                i64::from(c.account.0),
            );
            return self.reject(c.order_id, c.account, c.instrument, r, sink);
        }
        self.orders.remove(i);
        self.emit_cancel(&o, CancelReason::Requested, o.leaves(), 0, sink);
        if !o.pending_stop {
            self.emit_level(o.side, o.price, sink);
        }
    }

    /// Modify (cancel/replace) one order.
    pub fn modify(&mut self, m: &ModifyOrder, _now: u64, sink: &mut impl EventKindSink) {
        let Some(i) = self.find(m.order_id) else {
            let r = (RejectReason::UnknownOrder, 0, sat(m.order_id.0));
            return self.reject(m.order_id, m.account, m.instrument, r, sink);
        };
        let o = self.orders[i];
        let rej = if o.account != m.account {
            Some((
                RejectReason::NotOwner,
                i64::from(o.account.0),
                i64::from(m.account.0),
            ))
        } else if o.pending_stop {
            Some((RejectReason::InvalidModify, 0, 0))
        } else if m.qty.0 == 0 {
            Some((RejectReason::InvalidQty, 0, 0))
        } else if !m.qty.0.is_multiple_of(self.cfg.lot_size) {
            Some((RejectReason::LotSize, sat(self.cfg.lot_size), sat(m.qty.0)))
        } else if let Some(r) = self.check_price(m.price, RejectReason::InvalidPrice) {
            Some(r)
        } else if o.tif == TimeInForce::PostOnly
            && let Some(b) = self.best(o.side.opposite())
            && crosses(o.side, m.price, b)
        {
            Some((RejectReason::PostOnlyWouldTake, b.0, m.price.0))
        } else {
            None
        };
        if let Some(r) = rej {
            return self.reject(m.order_id, m.account, m.instrument, r, sink);
        }
        if m.price == o.price && m.qty.0 <= o.leaves() {
            let cut = o.leaves() - m.qty.0;
            let h = &mut self.orders[i];
            let from_hidden = cut.min(h.hidden);
            h.hidden -= from_hidden;
            h.visible -= cut - from_hidden;
            let visible_changed = h.visible != o.visible;
            sink.emit(EventKind::Replaced {
                order_id: o.id,
                account: o.account,
                instrument: self.instrument,
                price: m.price,
                qty: m.qty,
                kept_priority: true,
            });
            if visible_changed {
                self.emit_level(o.side, o.price, sink);
            }
            return;
        }
        self.orders.remove(i);
        sink.emit(EventKind::Replaced {
            order_id: o.id,
            account: o.account,
            instrument: self.instrument,
            price: m.price,
            qty: m.qty,
            kept_priority: false,
        });
        self.emit_level(o.side, o.price, sink);
        let mut t = o;
        t.price = m.price;
        t.visible = m.qty.0;
        t.hidden = 0;
        self.take(t, sink);
        self.run_stops(sink);
    }

    /// Cancel every live order of `account`, in entry order.
    pub fn mass_cancel(&mut self, account: AccountId, _now: u64, sink: &mut impl EventKindSink) {
        let mut ids: Vec<(u64, OrderId)> = self
            .orders
            .iter()
            .filter(|o| o.account == account)
            .map(|o| (o.entry, o.id))
            .collect();
        ids.sort();
        for (_, id) in ids {
            let i = self.find(id).expect("live");
            let o = self.orders.remove(i);
            self.emit_cancel(&o, CancelReason::MassCancel, o.leaves(), 0, sink);
            if !o.pending_stop {
                self.emit_level(o.side, o.price, sink);
            }
        }
    }

    /// Replay helper: the resting order trades `qty` (≤ its visible) against an anonymous taker.
    pub fn fill_resting(
        &mut self,
        id: OrderId,
        qty: Qty,
        _now: u64,
        sink: &mut impl EventKindSink,
    ) -> bool {
        let Some(i) = self.find(id) else { return false };
        let o = self.orders[i];
        if o.pending_stop || qty.0 == 0 || qty.0 > o.visible {
            return false;
        }
        let prio = self.next_prio();
        let h = &mut self.orders[i];
        h.visible -= qty.0;
        if h.visible == 0 && h.hidden > 0 {
            let refill = h.display.min(h.hidden);
            h.visible = refill;
            h.hidden -= refill;
            h.prio = prio;
        }
        let maker_leaves = h.leaves();
        if maker_leaves == 0 {
            self.orders.remove(i);
        }
        sink.emit(EventKind::Trade {
            instrument: self.instrument,
            price: o.price,
            qty,
            maker_order_id: o.id,
            taker_order_id: OrderId(0),
            maker_leaves: Qty(maker_leaves),
            taker_leaves: Qty(0),
            maker_account: o.account,
            taker_account: AccountId(0),
            aggressor: o.side.opposite(),
        });
        self.last_trade = Some(o.price);
        self.emit_level(o.side, o.price, sink);
        true
    }

    /// Replay helper: partial cancel keeping priority (hidden lots first for an iceberg).
    pub fn reduce_resting(&mut self, id: OrderId, by: Qty, sink: &mut impl EventKindSink) -> bool {
        let Some(i) = self.find(id) else { return false };
        let o = self.orders[i];
        if o.pending_stop || by.0 == 0 || by.0 > o.leaves() {
            return false;
        }
        let h = &mut self.orders[i];
        let from_hidden = by.0.min(h.hidden);
        h.hidden -= from_hidden;
        h.visible -= by.0 - from_hidden;
        let visible_changed = h.visible != o.visible;
        if h.leaves() == 0 {
            self.orders.remove(i);
        }
        self.emit_cancel(&o, CancelReason::Requested, by.0, o.leaves() - by.0, sink);
        // LevelChanged is for "each event that changes a level's visible quantity or order
        // count": an iceberg losing hidden lots only changes neither.
        if visible_changed {
            self.emit_level(o.side, o.price, sink);
        }
        true
    }
}
