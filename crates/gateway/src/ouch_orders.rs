//! A per-session OUCH order table: the state [`crate::ouch_map`] reads through
//! [`OuchOrders`], kept up to date from the session's requests and the engine's events.
//!
//! Order of calls, per inbound message: [`OuchOrderTable::on_inbound`] (registers the request,
//! allocates the engine id of a new order), then [`crate::ouch_map::inbound_to_command`]. Per
//! engine event: [`crate::ouch_map::event_to_outbound`] first (it reads the state *before* the
//! event), then [`OuchOrderTable::on_event`]. Orders leave the table when they are dead (filled,
//! cancelled, expired, or rejected on entry). Lookups are `HashMap` lookups (O(1)); the table
//! allocates as it grows (session layer, not the engine's hot path).
//!
//! ## A refused Replace Order
//! Replace Order moves the order to the request's UserRefNum at once (so the Order Replaced or
//! Order Rejected names it) and keeps the order's state from before the request. When the
//! engine refuses the replace (`Rejected` after a Replace: risk, invalid modify, ...), the
//! Order Rejected goes out under the refused request's UserRefNum and ClOrdID, then the order
//! moves back to its original UserRefNum, ClOrdID, TIF, display and ISO flag: it stays live
//! under the number it had, and later executions and cancels use that number. Executions
//! while the replace is unanswered are reported under the original number too. The refused
//! UserRefNum stays consumed: OUCH 5.0 calls UserRefNum a per-port transaction identifier that
//! is unique and strictly increasing over the day (requests with a number not above the last
//! processed one are taken as retransmissions), and the refused request was processed, so a
//! later request must use a higher number. One replace in flight per order is tracked: a second
//! Replace Order sent before the first is answered rolls back only to the state before the
//! second.

use crate::ouch::{Inbound, Symbol, UserRefNum};
use crate::ouch_map::{LastOp, OrderInfo, OuchMapConfig, OuchMapError, OuchOrders, price_to_ticks};
use ferrex_types::{Event, EventKind, InstrumentId, OrderId};
use std::collections::HashMap;

/// One session's orders and the symbol directory.
#[derive(Clone, Debug, Default)]
pub struct OuchOrderTable {
    symbols: HashMap<Symbol, InstrumentId>,
    by_ref: HashMap<UserRefNum, OrderId>,
    orders: HashMap<OrderId, OrderInfo>,
    /// The order as it was before a Replace Order the engine has not answered yet.
    before_replace: HashMap<OrderId, OrderInfo>,
    last_user_ref: u32,
}

impl OuchOrderTable {
    /// A table that knows these symbols.
    pub fn new(symbols: impl IntoIterator<Item = (Symbol, InstrumentId)>) -> OuchOrderTable {
        OuchOrderTable {
            symbols: symbols.into_iter().collect(),
            ..OuchOrderTable::default()
        }
    }

    /// Live orders in the table.
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

    /// The highest UserRefNum consumed so far (0: none).
    pub fn last_user_ref(&self) -> u32 {
        self.last_user_ref
    }

    /// Put back an order recovered after a restart (see `server`'s reference log): it is live
    /// under `info.user_ref_num` with no request in flight. Replaces any entry with its id.
    pub fn restore(&mut self, info: OrderInfo) {
        self.remove(info.order_id);
        self.by_ref.insert(info.user_ref_num, info.order_id);
        self.orders.insert(
            info.order_id,
            OrderInfo {
                replace_pending: false,
                orig_user_ref_num: info.user_ref_num,
                ..info
            },
        );
        self.last_user_ref = self.last_user_ref.max(info.user_ref_num.0);
    }

    /// Raise the UserRefNum high-water mark to `last` (recovered after a restart): requests must
    /// use a higher number.
    pub fn restore_last_user_ref(&mut self, last: u32) {
        self.last_user_ref = self.last_user_ref.max(last);
    }

    fn take_new_ref(&mut self, u: UserRefNum) -> Result<(), OuchMapError> {
        // OUCH: UserRefNum is day-unique and strictly increasing per account.
        if u.0 <= self.last_user_ref {
            return Err(OuchMapError::UserRefNotIncreasing(u.0));
        }
        self.last_user_ref = u.0;
        Ok(())
    }

    /// Record an inbound request before it is mapped. Enter Order allocates the engine id with
    /// `new_order_id`; Replace Order moves the order to its new UserRefNum. Errors (unknown or
    /// reused UserRefNum, unknown symbol, off-tick price) leave the table unchanged and are
    /// answered with an Order Rejected / Cancel Reject.
    pub fn on_inbound(
        &mut self,
        msg: &Inbound<'_>,
        cfg: &OuchMapConfig,
        new_order_id: impl FnOnce() -> OrderId,
    ) -> Result<(), OuchMapError> {
        match msg {
            Inbound::Enter(m) => {
                let instrument = *self
                    .symbols
                    .get(&m.symbol)
                    .ok_or(OuchMapError::UnknownSymbol)?;
                let price = if m.price == crate::ouch::OuchPrice::MARKET {
                    ferrex_types::Price::ZERO
                } else {
                    price_to_ticks(m.price, cfg.units_per_tick)?
                };
                self.take_new_ref(m.user_ref_num)?;
                let order_id = new_order_id();
                self.by_ref.insert(m.user_ref_num, order_id);
                self.orders.insert(
                    order_id,
                    OrderInfo {
                        order_id,
                        instrument,
                        user_ref_num: m.user_ref_num,
                        orig_user_ref_num: m.user_ref_num,
                        symbol: m.symbol,
                        cl_ord_id: m.cl_ord_id,
                        side: m.side,
                        price,
                        executed: 0,
                        time_in_force: m.time_in_force,
                        display: m.display,
                        capacity: m.capacity,
                        intermarket_sweep: m.intermarket_sweep,
                        cross_type: m.cross_type,
                        last_op: LastOp::Enter,
                        replace_pending: false,
                    },
                );
            }
            Inbound::Replace(m) => {
                let id = *self
                    .by_ref
                    .get(&m.orig_user_ref_num)
                    .ok_or(OuchMapError::UnknownUserRef(m.orig_user_ref_num.0))?;
                // Validate before anything moves: a refused request leaves the order as it was.
                price_to_ticks(m.price, cfg.units_per_tick)?;
                self.take_new_ref(m.user_ref_num)?;
                self.by_ref.remove(&m.orig_user_ref_num);
                self.by_ref.insert(m.user_ref_num, id);
                if let Some(o) = self.orders.get_mut(&id) {
                    self.before_replace.insert(id, *o);
                    o.replace_pending = true;
                    o.orig_user_ref_num = m.orig_user_ref_num;
                    o.user_ref_num = m.user_ref_num;
                    o.cl_ord_id = m.cl_ord_id;
                    o.time_in_force = m.time_in_force;
                    o.display = m.display;
                    o.intermarket_sweep = m.intermarket_sweep;
                    o.last_op = LastOp::Replace;
                }
            }
            Inbound::Cancel(m) => self.mark(m.user_ref_num, LastOp::Cancel)?,
            Inbound::Modify(m) => {
                self.mark(m.user_ref_num, LastOp::Modify)?;
                if let Some(o) = self
                    .by_ref
                    .get(&m.user_ref_num)
                    .and_then(|id| self.orders.get_mut(id))
                {
                    o.side = m.side;
                }
            }
        }
        Ok(())
    }

    fn mark(&mut self, u: UserRefNum, op: LastOp) -> Result<(), OuchMapError> {
        let o = self
            .by_ref
            .get(&u)
            .and_then(|id| self.orders.get_mut(id))
            .ok_or(OuchMapError::UnknownUserRef(u.0))?;
        o.last_op = op;
        Ok(())
    }

    fn remove(&mut self, id: OrderId) {
        self.before_replace.remove(&id);
        if let Some(o) = self.orders.remove(&id) {
            self.by_ref.remove(&o.user_ref_num);
        }
    }

    /// The engine refused a Replace Order: move the order back to its UserRefNum, ClOrdID and
    /// attributes from before the request (executions since then and the price stay).
    fn undo_replace(&mut self, id: OrderId) {
        let Some(before) = self.before_replace.remove(&id) else {
            return;
        };
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        self.by_ref.remove(&o.user_ref_num);
        self.by_ref.insert(before.user_ref_num, id);
        *o = OrderInfo {
            executed: o.executed,
            price: o.price,
            replace_pending: false,
            ..before
        };
    }

    /// Apply an engine event (after mapping it to outbound messages).
    pub fn on_event(&mut self, ev: &Event) {
        match ev.kind {
            EventKind::Rejected { order_id, .. }
                if self
                    .orders
                    .get(&order_id)
                    .is_some_and(|o| o.last_op == LastOp::Enter) =>
            {
                self.remove(order_id);
            }
            EventKind::Rejected { order_id, .. }
                if self
                    .orders
                    .get(&order_id)
                    .is_some_and(|o| o.last_op == LastOp::Replace) =>
            {
                self.undo_replace(order_id);
            }
            EventKind::Trade {
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
                    if let Some(o) = self.orders.get_mut(&id) {
                        o.executed = o.executed.saturating_add(qty.0);
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
                order_id, price, ..
            } => {
                self.before_replace.remove(&order_id);
                if let Some(o) = self.orders.get_mut(&order_id) {
                    o.replace_pending = false;
                    o.price = price;
                }
            }
            _ => {}
        }
    }
}

impl OuchOrders for OuchOrderTable {
    fn instrument(&self, symbol: &Symbol) -> Option<InstrumentId> {
        self.symbols.get(symbol).copied()
    }
    fn by_user_ref(&self, user_ref: UserRefNum) -> Option<OrderInfo> {
        self.by_ref
            .get(&user_ref)
            .and_then(|id| self.orders.get(id))
            .copied()
    }
    fn by_order_id(&self, order_id: OrderId) -> Option<OrderInfo> {
        self.orders.get(&order_id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ouch::{
        Appendage, Capacity, ClOrdId, CrossType, Display, EnterOrder, OuchPrice, OuchSide, OuchTif,
        Outbound, ReplaceOrder,
    };
    use crate::ouch_map::{event_to_outbound, inbound_to_command};
    use ferrex_types::{AccountId, CommandKind, Price, Qty, Side};

    const CFG: OuchMapConfig = OuchMapConfig {
        account: AccountId(5),
        units_per_tick: 100,
    };

    fn enter(u: u32, qty: u32) -> Inbound<'static> {
        Inbound::Enter(EnterOrder {
            user_ref_num: UserRefNum(u),
            side: OuchSide::Buy,
            quantity: qty,
            symbol: Symbol::new(b"AAPL").unwrap(),
            price: OuchPrice(1_000_000),
            time_in_force: OuchTif::Day,
            display: Display::Visible,
            capacity: Capacity::Agency,
            intermarket_sweep: false,
            cross_type: CrossType::Continuous,
            cl_ord_id: ClOrdId::new(b"C").unwrap(),
            appendage: Appendage::EMPTY,
        })
    }

    fn ev(seq: u64, kind: EventKind) -> Event {
        Event {
            seq,
            cmd_seq: seq,
            time: 0,
            kind,
        }
    }

    #[test]
    fn enter_trade_replace_cancel_lifecycle() {
        let mut t = OuchOrderTable::new([(Symbol::new(b"AAPL").unwrap(), InstrumentId(2))]);
        let mut next = 100u64;
        let mut alloc = || {
            next += 1;
            OrderId(next)
        };
        let m = enter(1, 300);
        t.on_inbound(&m, &CFG, &mut alloc).unwrap();
        let c = inbound_to_command(&m, 0, &CFG, &t).unwrap();
        assert!(
            matches!(c.kind, CommandKind::New(n) if n.order_id == OrderId(101) && n.price == Price(10_000))
        );
        // Reused / lower UserRefNum is refused.
        assert_eq!(
            t.on_inbound(&enter(1, 5), &CFG, &mut alloc),
            Err(OuchMapError::UserRefNotIncreasing(1))
        );
        // A partial fill.
        let trade = ev(
            7,
            EventKind::Trade {
                instrument: InstrumentId(2),
                price: Price(10_000),
                qty: Qty(100),
                maker_order_id: OrderId(101),
                taker_order_id: OrderId(999),
                maker_leaves: Qty(200),
                taker_leaves: Qty(0),
                maker_account: AccountId(5),
                taker_account: AccountId(6),
                aggressor: Side::Sell,
            },
        );
        assert_eq!(event_to_outbound(&trade, 1, &CFG, &t).len(), 1);
        t.on_event(&trade);
        // Replace to 250 total: 150 open.
        let r = Inbound::Replace(ReplaceOrder {
            orig_user_ref_num: UserRefNum(1),
            user_ref_num: UserRefNum(2),
            quantity: 250,
            price: OuchPrice(1_010_000),
            time_in_force: OuchTif::Day,
            display: Display::Visible,
            intermarket_sweep: false,
            cl_ord_id: ClOrdId::new(b"C2").unwrap(),
            appendage: Appendage::EMPTY,
        });
        t.on_inbound(&r, &CFG, &mut alloc).unwrap();
        let c = inbound_to_command(&r, 0, &CFG, &t).unwrap();
        assert!(
            matches!(c.kind, CommandKind::Modify(m) if m.qty == Qty(150) && m.price == Price(10_100))
        );
        let replaced = ev(
            8,
            EventKind::Replaced {
                order_id: OrderId(101),
                account: AccountId(5),
                instrument: InstrumentId(2),
                price: Price(10_100),
                qty: Qty(150),
                kept_priority: false,
            },
        );
        let out = event_to_outbound(&replaced, 1, &CFG, &t);
        assert!(matches!(out[0], Outbound::Accepted(a)
            if a.orig_user_ref_num == Some(UserRefNum(1)) && a.user_ref_num == UserRefNum(2)));
        t.on_event(&replaced);
        assert_eq!(t.by_user_ref(UserRefNum(1)), None, "old reference is dead");
        // Cancel, then the order leaves the table.
        let cancelled = ev(
            9,
            EventKind::Cancelled {
                order_id: OrderId(101),
                account: AccountId(5),
                instrument: InstrumentId(2),
                reason: ferrex_types::CancelReason::Requested,
                qty: Qty(150),
                side: ferrex_types::Side::Buy,
                price: ferrex_types::Price(100),
                leaves: ferrex_types::Qty(0),
            },
        );
        t.on_event(&cancelled);
        assert!(t.is_empty());
    }

    #[test]
    fn refused_replace_keeps_the_original_user_ref() {
        let mut t = OuchOrderTable::new([(Symbol::new(b"AAPL").unwrap(), InstrumentId(2))]);
        let alloc = || OrderId(101);
        t.on_inbound(&enter(1, 20), &CFG, alloc).unwrap();
        let r = Inbound::Replace(ReplaceOrder {
            orig_user_ref_num: UserRefNum(1),
            user_ref_num: UserRefNum(2),
            quantity: 60_000,
            price: OuchPrice(1_000_000),
            time_in_force: OuchTif::Ioc,
            display: Display::Visible,
            intermarket_sweep: true,
            cl_ord_id: ClOrdId::new(b"C2").unwrap(),
            appendage: Appendage::EMPTY,
        });
        t.on_inbound(&r, &CFG, || OrderId(0)).unwrap();
        // A fill before the engine answers the replace: reported under the live number.
        let early = ev(
            7,
            EventKind::Trade {
                instrument: InstrumentId(2),
                price: Price(10_000),
                qty: Qty(2),
                maker_order_id: OrderId(101),
                taker_order_id: OrderId(998),
                maker_leaves: Qty(18),
                taker_leaves: Qty(0),
                maker_account: AccountId(5),
                taker_account: AccountId(6),
                aggressor: Side::Sell,
            },
        );
        assert!(matches!(event_to_outbound(&early, 1, &CFG, &t)[0],
            Outbound::Executed(x) if x.user_ref_num == UserRefNum(1)));
        t.on_event(&early);
        let rejected = ev(
            8,
            EventKind::Rejected {
                order_id: OrderId(101),
                account: AccountId(5),
                instrument: InstrumentId(2),
                reason: ferrex_types::RejectReason::MaxOrderQty,
                limit: 50_000,
                value: 60_000,
            },
        );
        // The Order Rejected names the refused request.
        let out = event_to_outbound(&rejected, 1, &CFG, &t);
        assert!(matches!(out[0], Outbound::Rejected(j)
            if j.user_ref_num == UserRefNum(2) && j.cl_ord_id == ClOrdId::new(b"C2").unwrap()));
        t.on_event(&rejected);
        // The order is live under its original number and attributes.
        assert_eq!(t.by_user_ref(UserRefNum(2)), None);
        let o = t
            .by_user_ref(UserRefNum(1))
            .expect("original UserRefNum still live");
        assert_eq!(o.order_id, OrderId(101));
        assert_eq!(o.cl_ord_id, ClOrdId::new(b"C").unwrap());
        assert_eq!(o.time_in_force, OuchTif::Day);
        assert!(!o.intermarket_sweep);
        assert!(!o.replace_pending);
        assert_eq!(o.executed, 2, "executions during the request are kept");
        // A fill is reported under the original number.
        let trade = ev(
            9,
            EventKind::Trade {
                instrument: InstrumentId(2),
                price: Price(10_000),
                qty: Qty(5),
                maker_order_id: OrderId(101),
                taker_order_id: OrderId(999),
                maker_leaves: Qty(13),
                taker_leaves: Qty(0),
                maker_account: AccountId(5),
                taker_account: AccountId(6),
                aggressor: Side::Sell,
            },
        );
        assert!(matches!(event_to_outbound(&trade, 1, &CFG, &t)[0],
            Outbound::Executed(x) if x.user_ref_num == UserRefNum(1)));
        t.on_event(&trade);
        // Cancel by the original number maps to a cancel of the order.
        let cancel = Inbound::Cancel(crate::ouch::CancelOrder {
            user_ref_num: UserRefNum(1),
            quantity: 0,
            appendage: Appendage::EMPTY,
        });
        t.on_inbound(&cancel, &CFG, || OrderId(0)).unwrap();
        assert!(matches!(
            inbound_to_command(&cancel, 0, &CFG, &t).unwrap().kind,
            CommandKind::Cancel(c) if c.order_id == OrderId(101)
        ));
        // The refused number stays consumed.
        assert_eq!(
            t.on_inbound(&enter(2, 5), &CFG, || OrderId(102)),
            Err(OuchMapError::UserRefNotIncreasing(2))
        );
    }

    #[test]
    fn off_tick_replace_leaves_the_order_alone() {
        let mut t = OuchOrderTable::new([(Symbol::new(b"AAPL").unwrap(), InstrumentId(2))]);
        t.on_inbound(&enter(1, 20), &CFG, || OrderId(101)).unwrap();
        let r = Inbound::Replace(ReplaceOrder {
            orig_user_ref_num: UserRefNum(1),
            user_ref_num: UserRefNum(2),
            quantity: 10,
            price: OuchPrice(1_000_050),
            time_in_force: OuchTif::Day,
            display: Display::Visible,
            intermarket_sweep: false,
            cl_ord_id: ClOrdId::new(b"C2").unwrap(),
            appendage: Appendage::EMPTY,
        });
        assert_eq!(
            t.on_inbound(&r, &CFG, || OrderId(0)),
            Err(OuchMapError::PriceNotOnTick(1_000_050))
        );
        assert!(t.by_user_ref(UserRefNum(1)).is_some());
        assert!(t.by_user_ref(UserRefNum(2)).is_none());
    }
}
