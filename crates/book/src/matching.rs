//! Matching: a taker against the opposite side (price-time priority, STP, icebergs), the FOK
//! fillable-quantity walk, executions against one resting order, and stop triggering.

use crate::book::Book;
use crate::slab::{F_GROUP, F_GTD, F_ICEBERG, NIL, Queue, State, ext_at, node_at_mut};
use ferrex_types::{
    AccountId, CancelReason, EventKind, EventKindSink, OrdType, OrderId, Price, Qty, Side, StpMode,
    TimeInForce,
};

/// An order while it takes liquidity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Taker {
    pub id: u64,
    pub account: u32,
    pub group: u32,
    pub side: Side,
    pub stp: StpMode,
    /// Open lots (visible + hidden).
    pub leaves: u64,
    /// Worst price it may trade at.
    pub limit: i64,
    /// A market order (or a triggered stop order): its events report price 0, as its
    /// `Accepted` does, not the protection limit it matches up to.
    pub market: bool,
}

impl Taker {
    /// The price its `Cancelled` events report: its limit price, 0 for a market order.
    #[inline(always)]
    pub(crate) fn event_price(&self) -> i64 {
        if self.market { 0 } else { self.limit }
    }
}

/// True when a resting price `p` on the opposite side crosses a taker's `limit`.
#[inline(always)]
pub(crate) fn crosses(taker: Side, p: i64, limit: i64) -> bool {
    match taker {
        Side::Buy => p <= limit,
        Side::Sell => p >= limit,
    }
}

impl Book {
    /// Matches `t` against the opposite side until it is filled, stops crossing, or STP stops it.
    /// O(orders touched); each trade is O(1).
    #[inline]
    pub(crate) fn match_taker<S: EventKindSink>(&mut self, t: &mut Taker, out: &mut S) {
        let level_events = self.cfg.level_events;
        self.match_loop(t, None, level_events, out);
    }

    /// [`Book::match_taker`], always inlined (the add fast path). `crossing` is the best
    /// opposite price when the caller has just seen that it crosses (the add fast path tests it
    /// before matching): the first level is then entered without testing it again.
    #[inline(always)]
    pub(crate) fn match_taker_inline<S: EventKindSink>(
        &mut self,
        t: &mut Taker,
        crossing: Option<i64>,
        out: &mut S,
    ) {
        // One copy of the loop per setting of level events: the loop tests no flag per fill.
        if self.cfg.level_events {
            self.match_loop(t, crossing, true, out);
        } else {
            self.match_loop(t, crossing, false, out);
        }
    }

    /// [`Book::match_taker_inline`] with `level_events` = the book's setting.
    #[inline(always)]
    fn match_loop<S: EventKindSink>(
        &mut self,
        t: &mut Taker,
        crossing: Option<i64>,
        level_events: bool,
        out: &mut S,
    ) {
        let oi = t.side.opposite().index();
        let instrument = self.instrument;
        // The taker's fields in locals: `t` is written back only around the cold STP call, so
        // the loop keeps them in registers.
        let (side, limit, stp, group) = (t.side, t.limit, t.stp, t.group);
        let (tid, tacct) = (t.id, t.account);
        let mut leaves = t.leaves;
        // The level to trade at next: crossing, with lots left (tested at the bottom of the loop
        // for the levels after the first).
        let first = match crossing {
            _ if leaves == 0 => None,
            Some(bp) => Some(bp),
            None => self.ladders[oi].best.filter(|&bp| crosses(side, bp, limit)),
        };
        let Some(mut bp) = first else {
            return;
        };
        'level: loop {
            'fills: {
                let ladder = &mut self.ladders[oi];
                let lside = ladder.side;
                // `bp` is the best price (the first crossing one, then each new best).
                let Some(lvl) = ladder.best_mut(bp) else {
                    break 'level;
                };
                // Orders of this level, front to back, while the taker has lots left: the level
                // is looked up once, not once per fill.
                loop {
                    let head = lvl.q.head;
                    // SAFETY: the level is not empty (`get_mut` returns levels with orders, and
                    // the loop leaves when its count reaches 0), so its head is a live slot.
                    let n = unsafe { node_at_mut(&mut self.slab.nodes, head) };
                    if stp != StpMode::None {
                        // Effective group: the account, unless the order has an explicit one
                        // (rare, kept in its cold record). Read only when the taker has STP
                        // (the loop is unswitched on it: a taker without STP tests no flag).
                        let ng = if n.flags & F_GROUP == 0 {
                            n.account
                        } else {
                            ext_at(&self.slab.ext, self.slab.base, head).group
                        };
                        if ng == group {
                            t.leaves = leaves;
                            self.self_match(t, head, out);
                            leaves = t.leaves;
                            break 'fills;
                        }
                    }
                    let q = leaves.min(n.visible);
                    leaves -= q;
                    if n.flags & F_ICEBERG != 0 {
                        self.execute(head, q, tid, tacct, leaves, side, out);
                        break 'fills;
                    }
                    // A plain order at the level just looked up: `execute` without a second lookup.
                    n.visible -= q;
                    let vis = n.visible;
                    lvl.qty = lvl.qty.wrapping_sub(q);
                    out.emit(EventKind::Trade {
                        instrument,
                        price: Price(bp),
                        qty: Qty(q),
                        maker_order_id: OrderId(n.id),
                        taker_order_id: OrderId(tid),
                        maker_leaves: Qty(vis),
                        taker_leaves: Qty(leaves),
                        maker_account: AccountId(n.account),
                        taker_account: AccountId(tacct),
                        aggressor: side,
                    });
                    self.last_trade = Some(bp);
                    if vis > 0 {
                        // The taker is done (it took less than this order's visible lots, so
                        // `leaves` is 0): out of both loops, without testing `leaves` again.
                        if level_events {
                            let (lq, lc) = (lvl.qty, lvl.count);
                            self.level_changed(lside, bp, lq, lc, out);
                        }
                        break 'level;
                    }
                    let (next, id, gtd) = (n.next, n.id, n.flags & F_GTD != 0);
                    // `head` is first in its level (its `prev` is NIL): unlink it without reading
                    // the node again.
                    lvl.q.head = next;
                    if next == NIL {
                        lvl.q.tail = NIL;
                    } else {
                        // SAFETY: a level link other than NIL is a live slot.
                        unsafe { node_at_mut(&mut self.slab.nodes, next) }.prev = NIL;
                    }
                    lvl.count -= 1;
                    let (lq, lc) = (lvl.qty, lvl.count);
                    // `release` of the filled maker, field by field (the level stays borrowed).
                    self.ids.remove(id, head, &self.slab.nodes);
                    self.accounts.unlink(&mut self.slab.nodes, head);
                    self.slab.release(head);
                    if gtd {
                        self.expiry.clean_top(&self.slab);
                    }
                    if level_events {
                        // `level_changed` (an emptied level reports qty 0).
                        out.emit(EventKind::LevelChanged {
                            instrument,
                            side: lside,
                            price: Price(bp),
                            qty: Qty(if lc == 0 { 0 } else { lq }),
                            orders: lc,
                        });
                    }
                    if lc == 0 {
                        self.ladders[oi].remove_if_empty(bp);
                        break 'fills;
                    }
                    if leaves == 0 {
                        break 'level;
                    }
                }
            }
            // Next level: the new best, if the taker has lots left and it still crosses.
            if leaves == 0 {
                break;
            }
            match self.ladders[oi].best {
                Some(b) if crosses(side, b, limit) => bp = b,
                _ => break,
            }
        }
        t.leaves = leaves;
    }

    /// STP between taker `t` and resting `head` (t.stp != None).
    #[cold]
    fn self_match<S: EventKindSink>(&mut self, t: &mut Taker, head: u32, out: &mut S) {
        match t.stp {
            StpMode::CancelResting => self.cancel_resting(head, CancelReason::SelfTrade, out),
            StpMode::CancelAggressor => {
                self.cancel_taker(t, CancelReason::SelfTrade, out);
                t.leaves = 0;
            }
            StpMode::CancelBoth => {
                self.cancel_resting(head, CancelReason::SelfTrade, out);
                self.cancel_taker(t, CancelReason::SelfTrade, out);
                t.leaves = 0;
            }
            StpMode::DecrementAndCancel | StpMode::None => {
                let hl = self.slab.leaves(head);
                let d = t.leaves.min(hl);
                let (id, acct, side, price) = {
                    let n = &self.slab.nodes[head as usize];
                    (n.id, n.account, n.side, n.price)
                };
                self.emit_cancel(
                    id,
                    acct,
                    CancelReason::SelfTrade,
                    d,
                    side,
                    price,
                    hl - d,
                    out,
                );
                if d == hl {
                    self.kill_resting(head);
                } else {
                    self.reduce_in_place(head, d);
                }
                self.emit_level(side, price, out);
                self.emit_cancel(
                    t.id,
                    t.account,
                    CancelReason::SelfTrade,
                    d,
                    t.side,
                    t.event_price(),
                    t.leaves - d,
                    out,
                );
                t.leaves -= d;
            }
        }
    }

    /// Cancels a resting order whole (`Cancelled` with its leaves, then `LevelChanged`).
    pub(crate) fn cancel_resting<S: EventKindSink>(
        &mut self,
        s: u32,
        reason: CancelReason,
        out: &mut S,
    ) {
        let leaves = self.slab.leaves(s);
        let (id, acct, side, price) = {
            let n = &self.slab.nodes[s as usize];
            (n.id, n.account, n.side, n.price)
        };
        self.emit_cancel(id, acct, reason, leaves, side, price, 0, out);
        self.kill_resting_emit(s, out);
    }

    /// The resting order in slot `s` trades `q ≤ visible` lots at its price with the given taker:
    /// `Trade`, iceberg refill (to the back) or removal when done, `LevelChanged`, last trade
    /// price. O(1).
    #[inline]
    #[allow(clippy::too_many_arguments)] // the taker's fields, kept as scalars on the hot path
    pub(crate) fn execute<S: EventKindSink>(
        &mut self,
        s: u32,
        q: u64,
        taker_id: u64,
        taker_account: u32,
        taker_leaves: u64,
        aggressor: Side,
        out: &mut S,
    ) {
        let instrument = self.instrument;
        let (side, price) = {
            let n = &self.slab.nodes[s as usize];
            (n.side, n.price)
        };
        let si = side.index();
        let nodes = &mut self.slab.nodes;
        let Some(lvl) = self.ladders[si].get_mut(price) else {
            return;
        };
        let n = &mut nodes[s as usize];
        n.visible -= q;
        lvl.qty = lvl.qty.wrapping_sub(q);
        let vis = n.visible;
        let hidden = if n.flags & F_ICEBERG != 0 {
            ext_at(&self.slab.ext, self.slab.base, s).hidden
        } else {
            0
        };
        out.emit(EventKind::Trade {
            instrument,
            price: Price(price),
            qty: Qty(q),
            maker_order_id: OrderId(n.id),
            taker_order_id: OrderId(taker_id),
            maker_leaves: Qty(vis.wrapping_add(hidden)),
            taker_leaves: Qty(taker_leaves),
            maker_account: AccountId(n.account),
            taker_account: AccountId(taker_account),
            aggressor,
        });
        let mut gone = false;
        if vis == 0 {
            if hidden > 0 {
                let e = &mut self.slab.ext[s.wrapping_sub(self.slab.base) as usize];
                let r = e.display.min(hidden);
                e.hidden = hidden - r;
                nodes[s as usize].visible = r;
                lvl.qty = lvl.qty.wrapping_add(r);
                if lvl.count > 1 {
                    lvl.q.unlink(nodes, s);
                    lvl.q.push_back(nodes, s);
                }
            } else {
                lvl.remove(nodes, s, 0);
                gone = true;
            }
        }
        let (lq, lc) = (lvl.qty, lvl.count);
        self.last_trade = Some(price);
        if gone {
            if lc == 0 {
                self.ladders[si].remove_if_empty(price);
            }
            self.release(s);
        }
        self.level_changed(side, price, lq, lc, out);
    }

    /// FOK fillable quantity for `t` (stops once it reaches `want`). O(orders walked).
    pub(crate) fn fillable(&self, t: &Taker, want: u64) -> u64 {
        let ladder = &self.ladders[t.side.opposite().index()];
        let mut sum = 0u64;
        let mut p = ladder.best;
        while let Some(px) = p {
            if !crosses(t.side, px, t.limit) {
                break;
            }
            let Some(l) = ladder.get(px) else { break };
            let mut s = l.q.head;
            while s != NIL {
                let n = &self.slab.nodes[s as usize];
                if t.stp != StpMode::None && self.slab.group(s) == t.group {
                    if t.stp != StpMode::CancelResting {
                        return sum;
                    }
                } else {
                    sum = sum.saturating_add(self.slab.leaves(s));
                    if sum >= want {
                        return sum;
                    }
                }
                s = n.next;
            }
            p = ladder.next_worse(px);
        }
        sum
    }

    /// Market limit: best opposite at entry ± protection, clamped into the price range.
    pub(crate) fn protection_limit(&self, side: Side) -> i64 {
        let best = self.ladders[side.opposite().index()]
            .best
            .unwrap_or(match side {
                Side::Buy => self.cfg.max_price.0,
                Side::Sell => self.cfg.min_price.0,
            });
        let d = i128::from(self.cfg.market_protection_ticks) * i128::from(self.cfg.tick_size);
        let l = match side {
            Side::Buy => i128::from(best) + d,
            Side::Sell => i128::from(best) - d,
        };
        l.clamp(
            i128::from(self.cfg.min_price.0),
            i128::from(self.cfg.max_price.0),
        ) as i64
    }

    /// Triggers pending stops after trading, batch by batch, until none triggers. O(1) when no
    /// stop can trigger at the last trade price.
    #[inline]
    pub(crate) fn run_stops<S: EventKindSink>(&mut self, out: &mut S) {
        // No pending stop is the common case: tested first.
        while self.stops.len != 0 {
            let Some(l) = self.last_trade else { return };
            if !self.stops.may_trigger(l) {
                return;
            }
            self.trigger_batch(l, out);
        }
    }

    #[cold]
    fn trigger_batch<S: EventKindSink>(&mut self, l: i64, out: &mut S) {
        let mut batch = Queue::EMPTY;
        self.stops.collect(&mut self.slab, l, &mut batch);
        self.batch = batch;
        while self.batch.head != NIL {
            let s = self.batch.head;
            self.batch.unlink(&mut self.slab.nodes, s);
            self.process_triggered(s, l, out);
        }
    }

    /// One triggered stop: `Triggered`, then it enters as a market (Stop) or limit (StopLimit)
    /// order with its own tif, without Accepted and without validation.
    fn process_triggered<S: EventKindSink>(&mut self, s: u32, l: i64, out: &mut S) {
        let n = self.slab.nodes[s as usize];
        let sp = self.slab.ext(s).stop_price;
        out.emit(EventKind::Triggered {
            order_id: OrderId(n.id),
            account: AccountId(n.account),
            instrument: self.instrument,
            stop_price: Price(sp),
            trade_price: Price(l),
        });
        let leaves = self.slab.leaves(s);
        let opp_best = self.ladders[n.side.opposite().index()].best;
        let is_market = n.ord_type() == OrdType::Stop;
        let mut t = Taker {
            id: n.id,
            account: n.account,
            group: self.slab.group(s),
            side: n.side,
            stp: n.stp(),
            leaves,
            limit: n.price,
            market: is_market,
        };
        if is_market {
            if opp_best.is_none() || n.tif == TimeInForce::PostOnly {
                self.drop_taking(s, CancelReason::Unfilled, leaves, out);
                return;
            }
            t.limit = self.protection_limit(n.side);
        } else if n.tif == TimeInForce::PostOnly
            && opp_best.is_some_and(|b| crosses(n.side, b, n.price))
        {
            self.drop_taking(s, CancelReason::Unfilled, leaves, out);
            return;
        }
        if n.tif == TimeInForce::Fok && self.fillable(&t, leaves) < leaves {
            self.drop_taking(s, CancelReason::Unfilled, leaves, out);
            return;
        }
        self.match_taker(&mut t, out);
        self.finish_taking(s, t.leaves, is_market, out);
    }

    /// After an order held in the slab (triggered stop, re-priced modify) took liquidity: cancel
    /// or rest its remainder.
    pub(crate) fn finish_taking<S: EventKindSink>(
        &mut self,
        s: u32,
        leaves: u64,
        is_market: bool,
        out: &mut S,
    ) {
        if leaves == 0 {
            self.release(s);
            return;
        }
        let n = self.slab.nodes[s as usize];
        if is_market {
            let reason = if self.ladders[n.side.opposite().index()].best.is_some() {
                CancelReason::MarketProtection
            } else {
                CancelReason::Unfilled
            };
            self.drop_taking(s, reason, leaves, out);
            return;
        }
        if matches!(n.tif, TimeInForce::Ioc | TimeInForce::Fok) {
            self.drop_taking(s, CancelReason::Unfilled, leaves, out);
            return;
        }
        self.set_leaves(s, leaves);
        if !self.place(s, out) {
            self.drop_taking(s, CancelReason::Unfilled, leaves, out);
        }
    }

    /// Cancels an order in state `Taking` and frees it.
    pub(crate) fn drop_taking<S: EventKindSink>(
        &mut self,
        s: u32,
        reason: CancelReason,
        qty: u64,
        out: &mut S,
    ) {
        let (id, acct, side, price) = {
            let n = &self.slab.nodes[s as usize];
            (n.id, n.account, n.side, n.price)
        };
        self.emit_cancel(id, acct, reason, qty, side, price, 0, out);
        debug_assert_eq!(self.slab.nodes[s as usize].state, State::Taking);
        self.release(s);
    }
}
