//! A per-session FIX order table: the state [`crate::fix_map`] reads through [`FixOrders`],
//! kept up to date from the session's requests and the engine's events.
//!
//! Per inbound order message: `on_new` / `on_cancel` / `on_replace` first (registers ClOrdIDs,
//! allocates the engine id of a new order), then the matching `*_to_command` of
//! [`crate::fix_map`]. Per engine event: [`crate::fix_map::event_to_reports`] first (it reads the
//! state before the event), then [`FixOrderTable::on_event`]. Every ClOrdID an order was known
//! by maps to it until it is dead. O(1) lookups; allocates as it grows (session layer).
//!
//! ## A refused cancel or replace
//! An OrderCancelRequest / OrderCancelReplaceRequest makes its ClOrdID the order's current one
//! at once (so the OrderCancelReject or the report that answers it names it, with the previous
//! ClOrdID in OrigClOrdID 41). When the engine refuses it (`Rejected`), the OrderCancelReject
//! goes out and then the order goes back to the ClOrdID it had before the request: the last
//! accepted ClOrdID, which FIX 4.4 says later requests name in 41 and reports carry. The refused
//! ClOrdID no longer names the order. One request in flight per order is tracked.

use crate::fix_map::{
    FixMapError, FixOp, FixOrderInfo, FixOrders, NewOrderSingle, OrderCancelReplaceRequest,
    OrderCancelRequest, PriceScale,
};
use ferrex_types::{Event, EventKind, InstrumentId, OrderId, Price};
use std::collections::HashMap;

#[derive(Clone, Debug)]
struct Entry {
    instrument: InstrumentId,
    cl_ord_id: Vec<u8>,
    orig_cl_ord_id: Vec<u8>,
    all_ids: Vec<Vec<u8>>,
    symbol: Vec<u8>,
    side: u8,
    order_qty: u64,
    price: Price,
    cum_qty: u64,
    cum_notional: i128,
    last_op: FixOp,
    /// ClOrdID, OrigClOrdID and last request before a cancel / replace not yet answered.
    before: Option<(Vec<u8>, Vec<u8>, FixOp)>,
}

/// One session's FIX orders and the symbol directory.
#[derive(Clone, Debug, Default)]
pub struct FixOrderTable {
    symbols: HashMap<Vec<u8>, InstrumentId>,
    by_cl: HashMap<Vec<u8>, OrderId>,
    orders: HashMap<OrderId, Entry>,
}

impl FixOrderTable {
    /// A table that knows these symbols.
    pub fn new<'a>(symbols: impl IntoIterator<Item = (&'a [u8], InstrumentId)>) -> FixOrderTable {
        FixOrderTable {
            symbols: symbols.into_iter().map(|(s, i)| (s.to_vec(), i)).collect(),
            ..FixOrderTable::default()
        }
    }

    /// Live orders.
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// True when no order is live.
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// Engine ids of every live order (for cancel-on-disconnect).
    pub fn order_ids(&self) -> impl Iterator<Item = OrderId> + '_ {
        self.orders.keys().copied()
    }

    /// Register a NewOrderSingle; `new_order_id` allocates its engine id. A ClOrdID already in
    /// use is [`FixMapError::DuplicateClOrdId`].
    pub fn on_new(
        &mut self,
        m: &NewOrderSingle<'_>,
        scale: &PriceScale,
        new_order_id: impl FnOnce() -> OrderId,
    ) -> Result<(), FixMapError> {
        let instrument = *self
            .symbols
            .get(m.symbol)
            .ok_or(FixMapError::UnknownSymbol)?;
        if self.by_cl.contains_key(m.cl_ord_id) {
            return Err(FixMapError::DuplicateClOrdId);
        }
        let price = match m.price {
            Some(p) if matches!(m.ord_type, b'2' | b'4') => scale
                .to_ticks(p)
                .ok_or(FixMapError::PriceNotOnTick(crate::fix::tag::PRICE))?,
            _ => Price::ZERO,
        };
        let id = new_order_id();
        self.by_cl.insert(m.cl_ord_id.to_vec(), id);
        self.orders.insert(
            id,
            Entry {
                instrument,
                cl_ord_id: m.cl_ord_id.to_vec(),
                orig_cl_ord_id: m.cl_ord_id.to_vec(),
                all_ids: vec![m.cl_ord_id.to_vec()],
                symbol: m.symbol.to_vec(),
                side: m.side,
                order_qty: m.order_qty,
                price,
                cum_qty: 0,
                cum_notional: 0,
                last_op: FixOp::New,
                before: None,
            },
        );
        Ok(())
    }

    /// Put back an order recovered after a restart (see `server`'s reference log): live under
    /// ClOrdID `cl_ord_id` (its last accepted one; `orig_cl_ord_id` is the one before it, and
    /// names it too), no request in flight. Replaces any entry with its id.
    #[allow(clippy::too_many_arguments)]
    pub fn restore(
        &mut self,
        order_id: OrderId,
        instrument: InstrumentId,
        cl_ord_id: &[u8],
        orig_cl_ord_id: &[u8],
        symbol: &[u8],
        side: u8,
        order_qty: u64,
        price: Price,
        cum_qty: u64,
        cum_notional: i128,
    ) {
        self.remove(order_id);
        let mut all_ids = vec![cl_ord_id.to_vec()];
        if orig_cl_ord_id != cl_ord_id {
            all_ids.push(orig_cl_ord_id.to_vec());
        }
        for c in &all_ids {
            self.by_cl.insert(c.clone(), order_id);
        }
        self.orders.insert(
            order_id,
            Entry {
                instrument,
                cl_ord_id: cl_ord_id.to_vec(),
                orig_cl_ord_id: orig_cl_ord_id.to_vec(),
                all_ids,
                symbol: symbol.to_vec(),
                side,
                order_qty,
                price,
                cum_qty,
                cum_notional,
                last_op: FixOp::New,
                before: None,
            },
        );
    }

    fn on_request(&mut self, orig: &[u8], new: &[u8], op: FixOp) -> Result<(), FixMapError> {
        let id = *self.by_cl.get(orig).ok_or(FixMapError::UnknownOrder)?;
        if self.by_cl.get(new).is_some_and(|&o| o != id) {
            return Err(FixMapError::DuplicateClOrdId);
        }
        let e = self.orders.get_mut(&id).ok_or(FixMapError::UnknownOrder)?;
        let prev_orig = core::mem::replace(&mut e.orig_cl_ord_id, e.cl_ord_id.clone());
        let prev_cl = core::mem::replace(&mut e.cl_ord_id, new.to_vec());
        e.before = Some((prev_cl, prev_orig, e.last_op));
        if !e.all_ids.iter().any(|c| c == new) {
            e.all_ids.push(new.to_vec());
        }
        e.last_op = op;
        self.by_cl.insert(new.to_vec(), id);
        Ok(())
    }

    /// Register an OrderCancelRequest (new ClOrdID 11 for OrigClOrdID 41).
    pub fn on_cancel(&mut self, m: &OrderCancelRequest<'_>) -> Result<(), FixMapError> {
        self.on_request(m.orig_cl_ord_id, m.cl_ord_id, FixOp::Cancel)
    }

    /// Register an OrderCancelReplaceRequest.
    pub fn on_replace(&mut self, m: &OrderCancelReplaceRequest<'_>) -> Result<(), FixMapError> {
        self.on_request(m.orig_cl_ord_id, m.cl_ord_id, FixOp::Replace)
    }

    fn remove(&mut self, id: OrderId) {
        if let Some(e) = self.orders.remove(&id) {
            for c in e.all_ids {
                self.by_cl.remove(&c);
            }
        }
    }

    /// A cancel / replace registered with [`on_cancel`](Self::on_cancel) /
    /// [`on_replace`](Self::on_replace) was refused before it reached the engine (its
    /// `*_to_command` failed): the order its ClOrdID `cl_ord_id` named goes back to the ClOrdID
    /// it had. Does nothing for a ClOrdID with no request in flight.
    pub fn refused(&mut self, cl_ord_id: &[u8]) {
        if let Some(&id) = self.by_cl.get(cl_ord_id)
            && self
                .orders
                .get(&id)
                .is_some_and(|e| e.cl_ord_id == cl_ord_id && e.before.is_some())
        {
            self.undo_request(id);
        }
    }

    /// The engine refused a cancel / replace: the order goes back to the ClOrdID it had, and
    /// the refused ClOrdID stops naming it.
    fn undo_request(&mut self, id: OrderId) {
        let Some(e) = self.orders.get_mut(&id) else {
            return;
        };
        let Some((cl, orig, op)) = e.before.take() else {
            return;
        };
        let refused = core::mem::replace(&mut e.cl_ord_id, cl);
        e.orig_cl_ord_id = orig;
        e.last_op = op;
        if refused != e.cl_ord_id && refused != e.orig_cl_ord_id {
            e.all_ids.retain(|c| *c != refused);
            self.by_cl.remove(&refused);
        }
    }

    /// Apply an engine event (after mapping it to reports).
    pub fn on_event(&mut self, ev: &Event) {
        match ev.kind {
            EventKind::Rejected { order_id, .. }
                if self
                    .orders
                    .get(&order_id)
                    .is_some_and(|e| e.last_op == FixOp::New) =>
            {
                self.remove(order_id);
            }
            EventKind::Rejected { order_id, .. } => self.undo_request(order_id),
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
                    if let Some(e) = self.orders.get_mut(&id) {
                        e.cum_qty = e.cum_qty.saturating_add(qty.0);
                        e.cum_notional = e
                            .cum_notional
                            .saturating_add(i128::from(price.0) * i128::from(qty.0));
                        if leaves.is_zero() {
                            self.remove(id);
                        }
                    }
                }
            }
            EventKind::Cancelled { order_id, .. } | EventKind::Expired { order_id, .. } => {
                self.remove(order_id)
            }
            EventKind::Replaced {
                order_id,
                price,
                qty,
                ..
            } => {
                if let Some(e) = self.orders.get_mut(&order_id) {
                    e.before = None;
                    e.price = price;
                    e.order_qty = e.cum_qty.saturating_add(qty.0);
                }
            }
            _ => {}
        }
    }

    fn info(&self, id: OrderId) -> Option<FixOrderInfo<'_>> {
        let e = self.orders.get(&id)?;
        Some(FixOrderInfo {
            order_id: id,
            instrument: e.instrument,
            cl_ord_id: &e.cl_ord_id,
            orig_cl_ord_id: &e.orig_cl_ord_id,
            symbol: &e.symbol,
            side: e.side,
            order_qty: e.order_qty,
            price: e.price,
            cum_qty: e.cum_qty,
            cum_notional: e.cum_notional,
            last_op: e.last_op,
        })
    }
}

impl FixOrders for FixOrderTable {
    fn instrument(&self, symbol: &[u8]) -> Option<InstrumentId> {
        self.symbols.get(symbol).copied()
    }
    fn by_cl_ord_id(&self, cl_ord_id: &[u8]) -> Option<FixOrderInfo<'_>> {
        self.info(*self.by_cl.get(cl_ord_id)?)
    }
    fn by_order_id(&self, order_id: OrderId) -> Option<FixOrderInfo<'_>> {
        self.info(order_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix_map::{
        Decimal, FixReport, cancel_to_command, event_to_reports, new_order_to_command,
    };
    use ferrex_types::{AccountId, CancelReason, CommandKind, Qty, RejectReason, Side};

    const SCALE: PriceScale = PriceScale::decimals(2);

    fn nos(cl: &'static [u8]) -> NewOrderSingle<'static> {
        NewOrderSingle {
            cl_ord_id: cl,
            symbol: b"MSFT",
            side: b'2',
            order_qty: 100,
            ord_type: b'2',
            price: Decimal::parse(b"10.5"),
            stop_px: None,
            time_in_force: b'0',
            expire_time: None,
            post_only: false,
            max_floor: None,
            transact_time: 0,
        }
    }

    fn ev(kind: EventKind) -> Event {
        Event {
            seq: 1,
            cmd_seq: 1,
            time: 0,
            kind,
        }
    }

    #[test]
    fn lifecycle() {
        let mut t = FixOrderTable::new([(&b"MSFT"[..], InstrumentId(4))]);
        t.on_new(&nos(b"A"), &SCALE, || OrderId(7)).unwrap();
        assert_eq!(
            t.on_new(&nos(b"A"), &SCALE, || OrderId(8)),
            Err(FixMapError::DuplicateClOrdId)
        );
        let c = new_order_to_command(&nos(b"A"), 0, AccountId(1), &SCALE, &t).unwrap();
        assert!(
            matches!(c.kind, CommandKind::New(n) if n.order_id == OrderId(7) && n.side == Side::Sell)
        );
        let trade = ev(EventKind::Trade {
            instrument: InstrumentId(4),
            price: Price(1_050),
            qty: Qty(40),
            maker_order_id: OrderId(7),
            taker_order_id: OrderId(99),
            maker_leaves: Qty(60),
            taker_leaves: Qty(0),
            maker_account: AccountId(1),
            taker_account: AccountId(2),
            aggressor: Side::Buy,
        });
        t.on_event(&trade);
        assert_eq!(t.by_cl_ord_id(b"A").unwrap().cum_qty, 40);
        let cancel = OrderCancelRequest {
            orig_cl_ord_id: b"A",
            cl_ord_id: b"B",
            symbol: b"MSFT",
            side: b'2',
            transact_time: 0,
        };
        t.on_cancel(&cancel).unwrap();
        assert!(matches!(
            cancel_to_command(&cancel, 0, AccountId(1), &t).unwrap().kind,
            CommandKind::Cancel(c) if c.order_id == OrderId(7)
        ));
        // A rejected cancel answers with OrderCancelReject naming both ClOrdIDs.
        let rej = ev(EventKind::Rejected {
            order_id: OrderId(7),
            account: AccountId(1),
            instrument: InstrumentId(4),
            reason: RejectReason::InstrumentHalted,
            limit: 0,
            value: 0,
        });
        let r = event_to_reports(&rej, &t);
        assert!(matches!(r[0], FixReport::CancelReject(c)
            if c.cl_ord_id == b"B" && c.orig_cl_ord_id == b"A" && c.ord_status == b'1'));
        drop(r);
        t.on_event(&rej);
        assert_eq!(t.len(), 1, "a rejected cancel leaves the order live");
        assert!(
            t.by_cl_ord_id(b"B").is_none(),
            "the refused ClOrdID names nothing"
        );
        assert_eq!(t.by_cl_ord_id(b"A").unwrap().cl_ord_id, b"A");
        let cancel = OrderCancelRequest {
            cl_ord_id: b"C",
            ..cancel
        };
        t.on_cancel(&cancel).unwrap();
        let done = ev(EventKind::Cancelled {
            order_id: OrderId(7),
            account: AccountId(1),
            instrument: InstrumentId(4),
            reason: CancelReason::Requested,
            qty: Qty(60),
            side: ferrex_types::Side::Buy,
            price: ferrex_types::Price(100),
            leaves: ferrex_types::Qty(0),
        });
        let r = event_to_reports(&done, &t);
        assert!(matches!(r[0], FixReport::Exec(x)
            if x.exec_type == b'4' && x.cl_ord_id == b"C"
                && x.orig_cl_ord_id == Some(&b"A"[..]) && x.cum_qty == 40));
        drop(r);
        t.on_event(&done);
        assert!(t.is_empty());
        assert!(t.by_cl_ord_id(b"A").is_none() && t.by_cl_ord_id(b"C").is_none());
    }

    fn replace(
        orig: &'static [u8],
        cl: &'static [u8],
        qty: u64,
    ) -> OrderCancelReplaceRequest<'static> {
        OrderCancelReplaceRequest {
            orig_cl_ord_id: orig,
            cl_ord_id: cl,
            ..replace_template(qty)
        }
    }

    fn replace_template(qty: u64) -> OrderCancelReplaceRequest<'static> {
        OrderCancelReplaceRequest {
            orig_cl_ord_id: b"",
            cl_ord_id: b"",
            symbol: b"MSFT",
            side: b'2',
            order_qty: qty,
            ord_type: b'2',
            price: Decimal::parse(b"10.5"),
            transact_time: 0,
        }
    }

    #[test]
    fn refused_replace_keeps_the_last_accepted_clordid() {
        let mut t = FixOrderTable::new([(&b"MSFT"[..], InstrumentId(4))]);
        t.on_new(&nos(b"A"), &SCALE, || OrderId(7)).unwrap();
        // An accepted replace A -> B.
        t.on_replace(&replace(b"A", b"B", 100)).unwrap();
        let replaced = ev(EventKind::Replaced {
            order_id: OrderId(7),
            account: AccountId(1),
            instrument: InstrumentId(4),
            price: Price(1_050),
            qty: Qty(100),
            kept_priority: true,
        });
        t.on_event(&replaced);
        // A refused replace B -> R.
        t.on_replace(&replace(b"B", b"R", 60_000)).unwrap();
        let rej = ev(EventKind::Rejected {
            order_id: OrderId(7),
            account: AccountId(1),
            instrument: InstrumentId(4),
            reason: RejectReason::MaxOrderQty,
            limit: 50_000,
            value: 60_000,
        });
        let r = event_to_reports(&rej, &t);
        assert!(matches!(r[0], FixReport::CancelReject(c)
            if c.cl_ord_id == b"R" && c.orig_cl_ord_id == b"B" && c.response_to == b'2'));
        drop(r);
        t.on_event(&rej);
        assert!(t.by_cl_ord_id(b"R").is_none());
        let i = t.by_cl_ord_id(b"B").unwrap();
        assert_eq!((i.cl_ord_id, i.orig_cl_ord_id), (&b"B"[..], &b"A"[..]));
        // Cancel by B: the report's 41 is B, the last accepted ClOrdID.
        let cancel = OrderCancelRequest {
            orig_cl_ord_id: b"B",
            cl_ord_id: b"X",
            symbol: b"MSFT",
            side: b'2',
            transact_time: 0,
        };
        t.on_cancel(&cancel).unwrap();
        let done = ev(EventKind::Cancelled {
            order_id: OrderId(7),
            account: AccountId(1),
            instrument: InstrumentId(4),
            reason: CancelReason::Requested,
            qty: Qty(100),
            side: ferrex_types::Side::Buy,
            price: ferrex_types::Price(100),
            leaves: ferrex_types::Qty(0),
        });
        let r = event_to_reports(&done, &t);
        assert!(matches!(r[0], FixReport::Exec(x)
            if x.cl_ord_id == b"X" && x.orig_cl_ord_id == Some(&b"B"[..])));
    }

    #[test]
    fn refused_before_the_engine_restores_the_clordid() {
        let mut t = FixOrderTable::new([(&b"MSFT"[..], InstrumentId(4))]);
        t.on_new(&nos(b"A"), &SCALE, || OrderId(7)).unwrap();
        t.on_replace(&replace(b"A", b"R", 0)).unwrap();
        t.refused(b"R");
        assert!(t.by_cl_ord_id(b"R").is_none());
        assert_eq!(t.by_cl_ord_id(b"A").unwrap().cl_ord_id, b"A");
        // Nothing in flight: no effect.
        t.refused(b"A");
        assert_eq!(t.by_cl_ord_id(b"A").unwrap().cl_ord_id, b"A");
    }
}
