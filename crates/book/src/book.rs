//! The book: state, commands (new, cancel, modify, mass cancel, expire), replay helpers and
//! queries.
//!
//! # Measurement history
//!
//! Instructions per QuantCup message: `tools/peerbench/callgrind.sh ferrex` (callgrind over
//! `peerbench::measure::run`, 35,759 messages); mispredictions from the same run with
//! `--branch-sim=yes --cache-sim=yes`. Earlier sessions' steps are in the commit log and the
//! README's status table.
//!
//! Session 9, from 4,970,418 Ir (139.0 per message) and 39,913 simulated mispredictions (1.12
//! per message), to 4,677,456 Ir (130.8) and 41,072 (1.15). Kept, in order: a plain (GTC) new
//! order no longer reads the book's next expiry afterwards in the engine (138.0); the matching
//! loop reads a maker's STP group only when the taker has STP (135.8); the id map's freed
//! direct entries are `NIL` only while its overflow is empty, so "surely absent" is one
//! compare (134.3); one inlined copy of the matching loop per level-events setting, and a
//! partial fill leaves both loops at once (130.8). Tried and dropped: a branchless crossing
//! test (the opposite side's index as a xor, a seller comparing complements) took 141.2 and
//! moved the side branch's mispredictions to the crossing branch (buy or sell is not the coin
//! flip here, crossing or not is); account lists closed by a 48-byte sentinel node per admitted
//! account (unlinking any order is two writes and an emptiness test) gave 138.0 and 1,620 fewer
//! mispredictions, but `crates/engine/examples/risk_cost.rs` off / pass / on rose by 3.2 / 8.4 /
//! 3.6 instructions per command (its accounts come and go, and taking or freeing a sentinel
//! costs more) and it costs 48 bytes per admitted account; combining the fast path's four
//! capacity tests with a non-short-circuit `|` took 139.5; copying the command before the
//! out-of-line paths (the general add path and the risk path), so that a command the caller
//! builds on its stack is never stored, gave 132.6 (the adapter's thirteen stores of a new order
//! go), but risk_cost off / pass / on rose by 6.0 / 18.1 / 13.7 per command: a caller whose
//! commands are already in memory pays the copy (the book's copy alone: 142.3).
//!
//! Session 10, from 4,712,819 Ir (131.8 per message; main at the session's start, after the
//! session-9 risk commits), 723,748 conditional branches and 41,195 simulated mispredictions to
//! 4,202,646 (117.5), 579,501 and 40,876 (at 117.6); stores from 1,006,215 to 965,084. Kept, in
//! order: slab nodes and dense levels indexed without bounds checks on the hot paths
//! (`slab::node_at` / `node_at_mut`, each use with its invariant: a slot was handed out by the
//! slab, a dense index comes from `idx` / `fast_idx`) (123.4); the account list's end unlink
//! inlined and a freed slot's flags no longer cleared (122.8); account-table buckets read without
//! bounds checks (121.5); the ladder's cached dense index of its best level, from which the
//! matching loop takes each level it trades at (119.7); the id map's freed-entry value kept beside
//! its overflow count (118.8); the add fast path writing the new node's own fields before the list
//! updates and its links after them, so the order's values are not kept across them (117.6);
//! `remove_if_empty` of the best dense level taking the new best's index from its bitmap scan
//! (117.5). `crates/engine/examples/risk_cost.rs` off / pass / on went from 20,875,603 / 44,698,219
//! / 31,592,228 to 18,523,305 / 42,623,115 / 30,724,866 (at 117.6). Tried and dropped: the matching
//! loop holding the node table as one slice per fill, with the slab's free lists split off so that
//! the maker is freed through it (+6,500: the slice's address was spilled to the stack, a reload as
//! before); inserting a new id at its direct entry without the tier test (+12,300); writing the
//! last trade price once per level instead of once per fill (-2,400, within the ±10,000 that
//! register allocation moves the total by when the matching loop changes); allocating from the
//! plain free list behind a branch instead of indexing the heads with the test (+48,400); inserting
//! the id before the list updates (-600); freeing the maker's slot before unlinking it from its
//! account (+25,400); `Bitmap::set` always inlined (+73,200: the add path's registers again).
//!
//! The simulated predictor indexes its counters by branch address and recent outcomes, so code
//! that moves changes which branches share counters: a change that leaves every branch's
//! outcomes alone moved the total by up to ±3,000 here, mostly on rarely run branches that
//! mispredicted nearly every time they ran. The coin flips of this feed stay put in every
//! build: limit or cancel (about 17,900), the taker's side or its crossing (about 9,000 plus
//! 1,100), a maker filled or not (about 6,900), the account list's ends (about 1,500).

use crate::accounts::Accounts;
use crate::config::BookConfig;
use crate::expiry::{Due, Expiry};
use crate::idmap::IdMap;
use crate::ladder::Ladder;
use crate::matching::{Taker, crosses};
use crate::slab::{Ext, F_GROUP, F_GTD, F_ICEBERG, NIL, Node, Queue, Slab, State, node_at_mut};
use crate::stops::Stops;
use crate::views::{LevelView, OrderView};
use core::hash::Hasher;
// Snapshot export/import: a child module so it reads the book's private fields.
#[path = "snapshot.rs"]
pub(crate) mod snapshot;

use ferrex_types::{
    AccountId, CancelOrder, CancelReason, EventKind, EventKindSink, FnvHasher, InstrumentId,
    ModifyOrder, NewOrder, OrdType, OrderId, Price, Qty, RejectReason, Side, TimeInForce,
};

/// Largest `max_orders` accepted (the id map's direct tier, `max_orders` rounded up to a power
/// of two, stays at most 2^30 entries).
pub const MAX_ORDERS_LIMIT: u32 = 1 << 30;
/// Largest `dense_levels` / `sparse_levels` accepted.
pub const MAX_LEVELS_LIMIT: u32 = 1 << 28;

/// Why [`Book::new`] refused a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookConfigError {
    /// `tick_size < 1`.
    TickSize(i64),
    /// `lot_size < 1`.
    LotSize(u64),
    /// `min_price < 1`.
    MinPrice(Price),
    /// `min_price > max_price`.
    PriceRange {
        /// Configured minimum.
        min: Price,
        /// Configured maximum.
        max: Price,
    },
    /// `max_orders` is 0 or above [`MAX_ORDERS_LIMIT`].
    MaxOrders(u32),
    /// `dense_levels` and `sparse_levels` are both 0, or one is above [`MAX_LEVELS_LIMIT`].
    Levels {
        /// Configured dense levels.
        dense: u32,
        /// Configured sparse levels.
        sparse: u32,
    },
    /// `market_protection_ticks < 0`.
    MarketProtection(i64),
    /// `max_accounts` is 0.
    MaxAccounts(u32),
}

impl core::fmt::Display for BookConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            BookConfigError::TickSize(t) => write!(f, "tick_size must be >= 1 (got {t})"),
            BookConfigError::LotSize(l) => write!(f, "lot_size must be >= 1 (got {l})"),
            BookConfigError::MinPrice(p) => write!(f, "min_price must be >= 1 (got {p})"),
            BookConfigError::PriceRange { min, max } => {
                write!(f, "min_price {min} is above max_price {max}")
            }
            BookConfigError::MaxOrders(n) => {
                write!(f, "max_orders must be in 1..={MAX_ORDERS_LIMIT} (got {n})")
            }
            BookConfigError::Levels { dense, sparse } => write!(
                f,
                "dense_levels + sparse_levels must be > 0, each <= {MAX_LEVELS_LIMIT} (got {dense}, {sparse})"
            ),
            BookConfigError::MarketProtection(t) => {
                write!(f, "market_protection_ticks must be >= 0 (got {t})")
            }
            BookConfigError::MaxAccounts(n) => write!(f, "max_accounts must be >= 1 (got {n})"),
        }
    }
}

impl std::error::Error for BookConfigError {}

/// `v % m == 0` without a division when `m` is a power of two (the usual lot and tick sizes).
#[inline(always)]
fn multiple_of(v: u64, m: u64) -> bool {
    // m ≥ 1 (config check): a power of two iff m & (m − 1) == 0.
    if m & (m - 1) == 0 {
        v & (m - 1) == 0
    } else {
        v.is_multiple_of(m)
    }
}

/// `m − 1` for a power of two `m ≥ 1`, else all ones.
fn pow2_mask(m: u64) -> u64 {
    if m.is_power_of_two() { m - 1 } else { u64::MAX }
}

/// True when order `o` needs a special slab slot (one with cold data): iceberg, stop or
/// stop-limit, GTD, or an STP group other than its account.
#[inline]
fn needs_special(o: &NewOrder) -> bool {
    o.display_qty.0 != 0
        || o.tif == TimeInForce::Gtd
        || matches!(o.ord_type, OrdType::Stop | OrdType::StopLimit)
        || (o.stp_group != 0 && o.stp_group != o.account.0)
}

/// `u64 → i64` for reject fields, saturating.
#[inline(always)]
fn sat(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

type Reject = (RejectReason, i64, i64);

/// One instrument's order book and matching engine. Single-threaded, deterministic, allocation
/// free after [`Book::new`]; the behaviour is `docs/semantics.md`, event for event.
///
/// Memory per order slot (`max_orders`): a 48-byte hot node + about 9.2 bytes of id map (a
/// 4-byte direct entry per id slot, `max_orders` rounded up to a power of two, and 4-byte
/// overflow buckets at 1.25× capacity) = about 57 bytes on the add/cancel/execute paths. The cold data is sized
/// by its own capacities, not by `max_orders`: 40 bytes of iceberg/stop/GTD/STP-group fields and
/// 24 bytes of expiry heap per *special* slot (`max_special_orders`), 24 bytes of account table
/// per admitted account (`max_accounts`). The ladders add 24 bytes per dense level and side.
/// With the defaults and 1,000,000 orders: about 61 bytes per order in all (`ferrex memory`).
/// See [`Book::memory_bytes`].
///
/// ```
/// use ferrex_book::{Book, BookConfig};
/// use ferrex_types::*;
///
/// let mut book = Book::new(InstrumentId(1), BookConfig::default()).unwrap();
/// let mut ev: Vec<EventKind> = Vec::new();
/// let sell = NewOrder {
///     order_id: OrderId(1), price: Price(100), qty: Qty(10), account: AccountId(7),
///     side: Side::Sell, ..Default::default()
/// };
/// book.new_order(&sell, 0, &mut ev);
/// assert_eq!(book.best_ask(), Some(Price(100)));
/// let buy = NewOrder {
///     order_id: OrderId(2), price: Price(101), qty: Qty(4), account: AccountId(8),
///     side: Side::Buy, ..Default::default()
/// };
/// ev.clear();
/// book.new_order(&buy, 1, &mut ev);
/// assert!(matches!(ev[1], EventKind::Trade { qty: Qty(4), price: Price(100), .. }));
/// assert_eq!(book.order(OrderId(1)).unwrap().leaves, Qty(6));
/// assert_eq!(book.last_trade_price(), Some(Price(100)));
/// ```
pub struct Book {
    pub(crate) instrument: InstrumentId,
    pub(crate) cfg: BookConfig,
    pub(crate) slab: Slab,
    pub(crate) ids: IdMap,
    pub(crate) accounts: Accounts,
    pub(crate) ladders: [Ladder; 2],
    pub(crate) stops: Stops,
    pub(crate) batch: Queue,
    pub(crate) expiry: Expiry,
    entry_seq: u64,
    pub(crate) last_trade: Option<i64>,
    anchored: bool,
    /// `lot_size − 1` when the lot size is a power of two, else all ones (fast path: a nonzero
    /// qty is a lot multiple iff `qty & lot_mask == 0`; all ones sends it to the general path).
    lot_mask: u64,
}

impl core::fmt::Debug for Book {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Book")
            .field("instrument", &self.instrument)
            .field("live_orders", &self.live_orders())
            .field("best_bid", &self.best_bid())
            .field("best_ask", &self.best_ask())
            .field("last_trade", &self.last_trade)
            .finish_non_exhaustive()
    }
}

impl Book {
    /// Builds a book, preallocating every structure from `cfg` (slab, id map, account table,
    /// ladders, expiry heap). O(max_orders + dense_levels) time and memory; the only allocation
    /// the book ever makes.
    pub fn new(instrument: InstrumentId, cfg: BookConfig) -> Result<Book, BookConfigError> {
        if cfg.tick_size < 1 {
            return Err(BookConfigError::TickSize(cfg.tick_size));
        }
        if cfg.lot_size < 1 {
            return Err(BookConfigError::LotSize(cfg.lot_size));
        }
        if cfg.min_price.0 < 1 {
            return Err(BookConfigError::MinPrice(cfg.min_price));
        }
        if cfg.min_price > cfg.max_price {
            return Err(BookConfigError::PriceRange {
                min: cfg.min_price,
                max: cfg.max_price,
            });
        }
        if cfg.max_orders == 0 || cfg.max_orders > MAX_ORDERS_LIMIT {
            return Err(BookConfigError::MaxOrders(cfg.max_orders));
        }
        if (cfg.dense_levels == 0 && cfg.sparse_levels == 0)
            || cfg.dense_levels > MAX_LEVELS_LIMIT
            || cfg.sparse_levels > MAX_LEVELS_LIMIT
        {
            return Err(BookConfigError::Levels {
                dense: cfg.dense_levels,
                sparse: cfg.sparse_levels,
            });
        }
        if cfg.max_accounts == 0 {
            return Err(BookConfigError::MaxAccounts(0));
        }
        if cfg.market_protection_ticks < 0 {
            return Err(BookConfigError::MarketProtection(
                cfg.market_protection_ticks,
            ));
        }
        let mk = |side| {
            let mut l = Ladder::new(side, cfg.tick_size, cfg.dense_levels, cfg.sparse_levels);
            l.set_price_range(cfg.min_price.0, cfg.max_price.0);
            l
        };
        let mut b = Book {
            instrument,
            cfg,
            slab: Slab::new(cfg.max_orders, cfg.max_special_orders),
            ids: IdMap::new(cfg.max_orders),
            accounts: Accounts::new(cfg.max_accounts.min(cfg.max_orders)),
            ladders: [mk(Side::Buy), mk(Side::Sell)],
            stops: Stops::new(),
            batch: Queue::EMPTY,
            expiry: Expiry::new(cfg.max_special_orders.min(cfg.max_orders)),
            entry_seq: 0,
            last_trade: None,
            anchored: false,
            lot_mask: pow2_mask(cfg.lot_size),
        };
        if let Some(a) = cfg.anchor {
            b.anchor_at(a.0);
        }
        Ok(b)
    }

    /// Centres the dense window on `p` (or on the configured anchor).
    fn anchor_at(&mut self, p: i64) {
        let t = i128::from(self.cfg.tick_size);
        let a = i128::from(self.cfg.anchor.map_or(p, |a| a.0));
        let a = a - a.rem_euclid(t);
        let min = i128::from(self.cfg.min_price.0);
        let min = min - min.rem_euclid(t);
        let base = (a - i128::from(self.cfg.dense_levels / 2) * t).max(min);
        let base = base.clamp(0, i128::from(i64::MAX)) as i64;
        for l in &mut self.ladders {
            l.anchor(base);
        }
        self.anchored = true;
    }

    // ---------------------------------------------------------------- events

    #[inline(always)]
    /// `Cancelled` of `qty` lots of order `id` (`side`, book price `price`), leaving `leaves`
    /// open (0: the order is gone).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn emit_cancel<S: EventKindSink>(
        &self,
        id: u64,
        account: u32,
        reason: CancelReason,
        qty: u64,
        side: Side,
        price: i64,
        leaves: u64,
        out: &mut S,
    ) {
        out.emit(EventKind::Cancelled {
            order_id: OrderId(id),
            account: AccountId(account),
            instrument: self.instrument,
            reason,
            qty: Qty(qty),
            side,
            price: Price(price),
            leaves: Qty(leaves),
        });
    }

    /// `Cancelled` for all of taker `t`'s open quantity (the order is gone: leaves 0), at the
    /// price its events report ([`Taker::event_price`]).
    #[inline(always)]
    pub(crate) fn cancel_taker<S: EventKindSink>(
        &self,
        t: &Taker,
        reason: CancelReason,
        out: &mut S,
    ) {
        self.emit_cancel(
            t.id,
            t.account,
            reason,
            t.leaves,
            t.side,
            t.event_price(),
            0,
            out,
        );
    }

    /// `LevelChanged` for (side, price) as it is now (when level events are on).
    #[inline(always)]
    pub(crate) fn emit_level<S: EventKindSink>(&self, side: Side, price: i64, out: &mut S) {
        if self.cfg.level_events {
            let (qty, orders) = self.ladders[side.index()]
                .get(price)
                .map_or((0, 0), |l| (l.qty, l.count));
            self.level_changed(side, price, qty, orders, out);
        }
    }

    /// `LevelChanged` with the level's (visible qty, order count) when level events are on; an
    /// empty level (0 orders) is always reported with qty 0.
    #[inline(always)]
    pub(crate) fn level_changed<S: EventKindSink>(
        &self,
        side: Side,
        price: i64,
        qty: u64,
        orders: u32,
        out: &mut S,
    ) {
        if self.cfg.level_events {
            out.emit(EventKind::LevelChanged {
                instrument: self.instrument,
                side,
                price: Price(price),
                qty: Qty(if orders == 0 { 0 } else { qty }),
                orders,
            });
        }
    }

    #[inline(always)]
    fn reject<S: EventKindSink>(&self, id: OrderId, account: AccountId, r: Reject, out: &mut S) {
        out.emit(EventKind::Rejected {
            order_id: id,
            account,
            instrument: self.instrument,
            reason: r.0,
            limit: r.1,
            value: r.2,
        });
    }

    // ---------------------------------------------------------------- slot plumbing

    /// Frees slot `s` (which is in no level and no stop list): id map, account list, slab.
    #[inline]
    pub(crate) fn release(&mut self, s: u32) {
        self.release_inline(s);
    }

    /// [`Book::release`], always inlined (the matching loop frees a maker on every full fill).
    #[inline(always)]
    pub(crate) fn release_inline(&mut self, s: u32) {
        let (id, gtd) = {
            let n = &self.slab.nodes[s as usize];
            (n.id, n.flags & F_GTD != 0)
        };
        self.free_slot(s, id, gtd);
    }

    /// [`Book::release`] of slot `s` whose order id and GTD flag the caller already read.
    #[inline(always)]
    pub(crate) fn free_slot(&mut self, s: u32, id: u64, gtd: bool) {
        self.ids.remove(id, s, &self.slab.nodes);
        self.unlist(s, gtd);
    }

    /// The rest of freeing slot `s` once its id-map entry is gone: account list, slab, and the
    /// expiry heap's top if it was a GTD order.
    #[inline(always)]
    fn unlist(&mut self, s: u32, gtd: bool) {
        self.accounts.unlink(&mut self.slab.nodes, s);
        self.slab.release(s);
        if gtd {
            self.expiry.clean_top(&self.slab);
        }
    }

    /// Takes resting slot `s` out of its level (dropping the level if it empties) and frees it.
    #[inline]
    pub(crate) fn kill_resting(&mut self, s: u32) {
        let (side, price, vis) = {
            let n = &self.slab.nodes[s as usize];
            (n.side, n.price, n.visible)
        };
        let l = &mut self.ladders[side.index()];
        if let Some(lvl) = l.get_mut(price) {
            lvl.remove(&mut self.slab.nodes, s, vis);
            if lvl.count == 0 {
                l.remove_if_empty(price);
            }
        }
        self.release(s);
    }

    /// `kill_resting`, then `LevelChanged` for the level it left (without a second lookup).
    #[inline]
    pub(crate) fn kill_resting_emit<S: EventKindSink>(&mut self, s: u32, out: &mut S) {
        self.kill_resting_at(s, None, out);
    }

    /// [`Book::kill_resting_emit`]; with `bucket` = the id-map bucket of the order (a cancel
    /// found it), its entry is removed there rather than probed for again.
    #[inline(always)]
    fn kill_resting_at<S: EventKindSink>(&mut self, s: u32, bucket: Option<usize>, out: &mut S) {
        let (side, price, vis, id, gtd) = {
            let n = &self.slab.nodes[s as usize];
            (n.side, n.price, n.visible, n.id, n.flags & F_GTD != 0)
        };
        let l = &mut self.ladders[side.index()];
        let (mut qty, mut orders) = (0, 0);
        if let Some(lvl) = l.get_mut(price) {
            lvl.remove(&mut self.slab.nodes, s, vis);
            (qty, orders) = (lvl.qty, lvl.count);
            if orders == 0 {
                qty = 0;
                l.remove_if_empty(price);
            }
        }
        match bucket {
            Some(i) => {
                self.ids.remove_at(i, &self.slab.nodes);
                self.unlist(s, gtd);
            }
            None => self.free_slot(s, id, gtd),
        }
        self.level_changed(side, price, qty, orders, out);
    }

    /// Takes `by ≤ leaves` lots off live slot `s` in place (hidden first), keeping priority.
    /// Returns true when the visible quantity changed.
    pub(crate) fn reduce_in_place(&mut self, s: u32, by: u64) -> bool {
        let hidden = self.slab.hidden(s);
        let from_hidden = by.min(hidden);
        if from_hidden > 0 {
            self.slab.ext_mut(s).hidden -= from_hidden;
        }
        let from_vis = by - from_hidden;
        if from_vis == 0 {
            return false;
        }
        let (side, price, state) = {
            let n = &mut self.slab.nodes[s as usize];
            n.visible -= from_vis;
            (n.side, n.price, n.state)
        };
        if state == State::Resting
            && let Some(l) = self.ladders[side.index()].get_mut(price)
        {
            l.qty = l.qty.wrapping_sub(from_vis);
        }
        true
    }

    /// Sets the open quantity of slot `s` (not in a level): icebergs show `min(display, leaves)`.
    pub(crate) fn set_leaves(&mut self, s: u32, leaves: u64) {
        if self.slab.nodes[s as usize].flags & F_ICEBERG != 0 {
            let e = self.slab.ext_mut(s);
            let v = e.display.min(leaves);
            e.hidden = leaves - v;
            self.slab.nodes[s as usize].visible = v;
        } else {
            self.slab.nodes[s as usize].visible = leaves;
        }
    }

    /// Appends slot `s` (not in a level; price and visible set) to the back of its level and
    /// emits `LevelChanged`. False only if the sparse fallback is full.
    #[inline]
    pub(crate) fn place<S: EventKindSink>(&mut self, s: u32, out: &mut S) -> bool {
        let (side, price, vis) = {
            let n = &self.slab.nodes[s as usize];
            (n.side, n.price, n.visible)
        };
        if !self.anchored {
            self.anchor_at(price);
        }
        let Some(lvl) = self.ladders[side.index()].get_or_insert(price) else {
            return false;
        };
        lvl.push(&mut self.slab.nodes, s, vis);
        let (qty, orders) = (lvl.qty, lvl.count);
        self.slab.nodes[s as usize].state = State::Resting;
        self.level_changed(side, price, qty, orders, out);
        true
    }

    /// Removes a live resting/stop order (after its Cancelled/Expired event) with `LevelChanged`
    /// if it rested.
    fn remove_live<S: EventKindSink>(&mut self, s: u32, out: &mut S) {
        match self.slab.nodes[s as usize].state {
            State::Resting => self.kill_resting_emit(s, out),
            State::Stop => {
                self.stops.unlink(&mut self.slab.nodes, s);
                self.release(s);
            }
            State::Taking | State::Free => self.release(s),
        }
    }

    // ---------------------------------------------------------------- validation

    fn check_price(&self, p: Price, range: RejectReason) -> Result<(), Reject> {
        let c = &self.cfg;
        if p < c.min_price {
            return Err((range, c.min_price.0, p.0));
        }
        if p > c.max_price {
            return Err((range, c.max_price.0, p.0));
        }
        if !multiple_of(p.0 as u64, c.tick_size as u64) {
            return Err((RejectReason::TickSize, c.tick_size, p.0));
        }
        Ok(())
    }

    fn validate(&self, o: &NewOrder, t: &Taker, now: u64) -> Result<(), Reject> {
        use RejectReason::*;
        let c = &self.cfg;
        let qty = o.qty.0;
        if qty == 0 {
            return Err((InvalidQty, 0, 0));
        }
        if !multiple_of(qty, c.lot_size) {
            return Err((LotSize, sat(c.lot_size), sat(qty)));
        }
        let disp = o.display_qty.0;
        if disp != 0 {
            if disp >= qty {
                return Err((InvalidQty, sat(qty), sat(disp)));
            }
            if !multiple_of(disp, c.lot_size) {
                return Err((LotSize, sat(c.lot_size), sat(disp)));
            }
        }
        let ty = o.ord_type;
        if matches!(ty, OrdType::Limit | OrdType::StopLimit) {
            self.check_price(o.price, InvalidPrice)?;
        }
        if matches!(ty, OrdType::Stop | OrdType::StopLimit) {
            self.check_price(o.stop_price, InvalidStopPrice)?;
            if let Some(l) = self.last_trade {
                let sp = o.stop_price.0;
                let ok = match o.side {
                    Side::Buy => sp > l,
                    Side::Sell => sp < l,
                };
                if !ok {
                    return Err((InvalidStopPrice, l, sp));
                }
            }
        }
        if o.tif == TimeInForce::Gtd && o.expire_time <= now {
            return Err((InvalidExpireTime, sat(now), sat(o.expire_time)));
        }
        if self.ids.get(o.order_id.0, &self.slab.nodes).is_some() {
            return Err((DuplicateOrderId, 0, sat(o.order_id.0)));
        }
        let opp_best = self.ladders[o.side.opposite().index()].best;
        if ty == OrdType::Market && opp_best.is_none() {
            return Err((NoLiquidity, 0, 0));
        }
        if o.tif == TimeInForce::PostOnly
            && let Some(b) = opp_best
        {
            let would = match ty {
                OrdType::Market => true,
                OrdType::Limit => crosses(o.side, b, o.price.0),
                _ => false,
            };
            if would {
                return Err((PostOnlyWouldTake, b, o.price.0));
            }
        }
        if o.tif == TimeInForce::Fok && matches!(ty, OrdType::Limit | OrdType::Market) {
            let f = self.fillable(t, qty);
            if f < qty {
                return Err((FokNotFillable, sat(qty), sat(f)));
            }
        }
        let rests = ty == OrdType::Limit && !matches!(o.tif, TimeInForce::Ioc | TimeInForce::Fok);
        let needs_slot = rests || matches!(ty, OrdType::Stop | OrdType::StopLimit);
        if needs_slot {
            if self.slab.live() >= c.max_orders {
                return Err((BookFull, i64::from(c.max_orders), i64::from(c.max_orders)));
            }
            if needs_special(o) && self.slab.special_full() {
                let k = i64::from(self.slab.special_capacity());
                return Err((BookFull, k, k));
            }
            if self.accounts.at_limit() && !self.accounts.contains(o.account.0) {
                let (n, k) = self.accounts.len_limit();
                return Err((BookFull, i64::from(k), i64::from(n)));
            }
        }
        if rests && !self.ladders[o.side.index()].can_insert(o.price.0) {
            let n = i64::from(c.sparse_levels);
            return Err((BookFull, n, n));
        }
        Ok(())
    }

    // ---------------------------------------------------------------- commands

    /// Enters a new order: validation (the first failure is a `Rejected`), `Accepted`, matching,
    /// then the remainder rests or is cancelled per its type and tif, then stops trigger.
    /// O(1) to rest at an existing level; O(1) per fill when it trades. Never allocates.
    #[inline]
    pub fn new_order<S: EventKindSink>(&mut self, o: &NewOrder, now: u64, out: &mut S) {
        self.new_order_classified(o, Book::is_plain_limit(o), now, out);
    }

    /// True when `o` is the common order the add fast path takes: a plain (non-iceberg) GTC limit
    /// whose STP group is its account. Four field tests, no book state. O(1).
    #[inline(always)]
    pub fn is_plain_limit(o: &NewOrder) -> bool {
        o.ord_type == OrdType::Limit
            && o.tif == TimeInForce::Gtc
            && o.display_qty.0 == 0
            // No explicit STP group (0) or the account's own: `g · (g ⊕ account)` is 0 exactly
            // then (two u32 factors, so the u64 product never wraps), one branch instead of two.
            && u64::from(o.stp_group) * u64::from(o.stp_group ^ o.account.0) == 0
    }

    /// [`Book::new_order`] with `plain` = [`Book::is_plain_limit`]`(o)` computed by the caller,
    /// which may read the order's fields early: the engine tests them before it calls out to
    /// expire GTD orders, so they are tested while still in registers rather than reloaded
    /// after the call. `plain` must be that predicate's answer for `o` (debug builds assert
    /// it): a wrong `true` would enter any order as a plain GTC limit.
    #[inline(always)]
    pub fn new_order_classified<S: EventKindSink>(
        &mut self,
        o: &NewOrder,
        plain: bool,
        now: u64,
        out: &mut S,
    ) {
        debug_assert_eq!(plain, Book::is_plain_limit(o));
        if plain && self.new_plain_limit(o, out) {
            return;
        }
        self.new_order_general(o, now, out);
    }

    /// Fast path for the common order: a plain (non-iceberg) GTC limit at a dense price that
    /// passes every validation step. Returns false, having done nothing, when any check fails or
    /// the price is outside the dense window; the general path then handles the order. The checks
    /// are exactly the steps of `validate` that apply to a GTC limit (qty, lot, price range, tick,
    /// duplicate id, book full, level room), merged: one id-map probe finds both a duplicate and
    /// the bucket to insert into, and the ladder's fast window (dense prices inside the price
    /// range, on the tick grid) checks range, tick and level room at once and gives the dense
    /// index for the add.
    #[inline(always)]
    fn new_plain_limit<S: EventKindSink>(&mut self, o: &NewOrder, out: &mut S) -> bool {
        let c = &self.cfg;
        let (qty, price) = (o.qty.0, o.price.0);
        // qty ≠ 0, so an all-ones mask never passes.
        if qty == 0
            || qty & self.lot_mask != 0
            || self.slab.live() >= c.max_orders
            || self.accounts.at_limit()
        {
            return false;
        }
        let side = o.side;
        // The price range, the tick grid and the dense window in one check.
        let Some(di) = self.ladders[side.index()].fast_idx(price) else {
            return false;
        };
        let bucket = if self.ids.surely_free(o.order_id.0) {
            self.ids.direct_pos(o.order_id.0)
        } else {
            match self.ids.find_free(o.order_id.0, &self.slab.nodes) {
                Ok(b) => b,
                Err(_) => return false,
            }
        };
        // The caller sent only orders without an explicit group (or with their own account).
        let group = o.account.0;
        self.entry_seq += 1;
        out.emit(EventKind::Accepted {
            order_id: o.order_id,
            account: o.account,
            instrument: self.instrument,
            side,
            price: o.price,
            qty: o.qty,
        });
        // The order rests on one of two paths: straight away (most orders do not cross), with
        // the id-map position found above, or after matching. Two inlined copies of the resting
        // code: the first runs with the values it needs still in registers; after matching, they
        // come back from the stack.
        if let Some(b) = self.ladders[side.opposite().index()].best
            && crosses(side, b, price)
        {
            let mut t = Taker {
                id: o.order_id.0,
                account: o.account.0,
                group,
                side,
                stp: o.stp,
                leaves: qty,
                limit: price,
                market: false,
            };
            self.match_taker_inline(&mut t, Some(b), out);
            if t.leaves > 0 {
                // Fills released makers, which moved id-map entries: probe again to insert.
                self.rest_plain(o, di, t.leaves, None, out);
            }
        } else {
            self.rest_plain(o, di, qty, Some(bucket), out);
        }
        self.run_stops(out);
        true
    }

    /// The add fast path's resting step: `leaves` lots of plain GTC limit `o` join the back of
    /// dense level `di`; `bucket` is the id map's position for its id if known.
    #[inline(always)]
    fn rest_plain<S: EventKindSink>(
        &mut self,
        o: &NewOrder,
        di: usize,
        leaves: u64,
        bucket: Option<usize>,
        out: &mut S,
    ) {
        let (side, price) = (o.side, o.price.0);
        let Some(s) = self.slab.alloc() else {
            return;
        };
        // The node's own fields first (the order's values die there, so they are not kept in
        // registers or on the stack across the list updates), the id map, both lists (they
        // write only their old tails), then the node's links: every field is written (the
        // pattern below stops the build if a field is added and not written here). Writing the
        // whole node at the end, as before, cost 39,900 instructions more over the QuantCup
        // feed in spills and reloads.
        {
            // SAFETY: `s` was just handed out by the slab.
            let n = unsafe { node_at_mut(&mut self.slab.nodes, s) };
            let Node {
                id: _,
                price: _,
                visible: _,
                next: _,
                prev: _,
                acct_next: _,
                acct_prev: _,
                account: _,
                side: _,
                state: _,
                tif: _,
                flags: _,
            } = *n;
            n.id = o.order_id.0;
            n.price = price;
            n.visible = leaves;
            n.account = o.account.0;
            n.side = side;
            n.state = State::Resting;
            n.tif = TimeInForce::Gtc;
            n.flags = Node::pack(0, o.stp, OrdType::Limit);
        }
        match bucket {
            Some(i) => self.ids.insert_at(i, s),
            None => self.ids.insert(o.order_id.0, s),
        }
        let nodes = &mut self.slab.nodes;
        let acct_prev = self.accounts.link_as(nodes, s, o.account.0);
        let (prev, lq, lc) = self.ladders[side.index()].link_dense(di, price, nodes, s, leaves);
        {
            // SAFETY: `s` was just handed out by the slab.
            let n = unsafe { node_at_mut(nodes, s) };
            n.next = NIL;
            n.prev = prev;
            n.acct_next = NIL;
            n.acct_prev = acct_prev;
        }
        self.level_changed(side, price, lq, lc, out);
    }

    /// `new_order` for every order the fast path does not take.
    #[inline(never)]
    fn new_order_general<S: EventKindSink>(&mut self, o: &NewOrder, now: u64, out: &mut S) {
        let group = if o.stp_group == 0 {
            o.account.0
        } else {
            o.stp_group
        };
        let mut t = Taker {
            id: o.order_id.0,
            account: o.account.0,
            group,
            side: o.side,
            stp: o.stp,
            leaves: o.qty.0,
            limit: o.price.0,
            market: o.ord_type == OrdType::Market,
        };
        if o.ord_type == OrdType::Market {
            t.limit = self.protection_limit(o.side);
        }
        if let Err(r) = self.validate(o, &t, now) {
            self.reject(o.order_id, o.account, r, out);
            return;
        }
        self.entry_seq += 1;
        let entry = self.entry_seq;
        out.emit(EventKind::Accepted {
            order_id: o.order_id,
            account: o.account,
            instrument: self.instrument,
            side: o.side,
            price: match o.ord_type {
                OrdType::Market | OrdType::Stop => Price::ZERO,
                _ => o.price,
            },
            qty: o.qty,
        });
        match o.ord_type {
            OrdType::Stop | OrdType::StopLimit => {
                let Some(s) = self.slab.alloc_special() else {
                    return;
                };
                self.fill_node(s, o, entry, group);
                self.slab.ext_mut(s).stop_price = o.stop_price.0;
                if o.ord_type == OrdType::Stop {
                    self.slab.nodes[s as usize].price = 0;
                }
                self.stops.push(&mut self.slab.nodes, o.stop_price.0, s);
            }
            OrdType::Market => {
                self.match_taker(&mut t, out);
                if t.leaves > 0 {
                    let reason = if self.ladders[o.side.opposite().index()].best.is_some() {
                        CancelReason::MarketProtection
                    } else {
                        CancelReason::Unfilled
                    };
                    self.cancel_taker(&t, reason, out);
                }
                self.run_stops(out);
            }
            OrdType::Limit => {
                // Most limit orders do not cross: skip the matching call entirely then.
                if self.ladders[o.side.opposite().index()]
                    .best
                    .is_some_and(|b| crosses(o.side, b, t.limit))
                {
                    self.match_taker(&mut t, out);
                }
                if t.leaves > 0 {
                    if matches!(o.tif, TimeInForce::Ioc | TimeInForce::Fok) {
                        self.cancel_taker(&t, CancelReason::Unfilled, out);
                    } else if let Some(s) = if needs_special(o) {
                        self.slab.alloc_special()
                    } else {
                        self.slab.alloc()
                    } {
                        self.fill_node(s, o, entry, group);
                        self.set_leaves(s, t.leaves);
                        if !self.place(s, out) {
                            // unreachable: checked by validation
                            self.cancel_taker(&t, CancelReason::Unfilled, out);
                            self.release(s);
                        }
                    }
                }
                self.run_stops(out);
            }
        }
    }

    /// Writes a freshly allocated slot for an accepted order (state `Taking`, visible = qty) and
    /// registers it in the id map, its account list and the expiry heap. `s` is a special slot
    /// whenever [`needs_special`] says so; its `Ext` is written then (and only if `s` is special).
    fn fill_node(&mut self, s: u32, o: &NewOrder, entry: u64, group: u32) {
        let mut flags = 0;
        if o.display_qty.0 != 0 {
            flags |= F_ICEBERG;
        }
        if o.tif == TimeInForce::Gtd {
            flags |= F_GTD;
        }
        if group != o.account.0 {
            flags |= F_GROUP;
        }
        self.slab.nodes[s as usize] = Node {
            id: o.order_id.0,
            price: o.price.0,
            visible: o.qty.0,
            next: NIL,
            prev: NIL,
            acct_next: NIL,
            acct_prev: NIL,
            account: o.account.0,
            side: o.side,
            state: State::Taking,
            tif: o.tif,
            flags: Node::pack(flags, o.stp, o.ord_type),
        };
        if self.slab.is_special(s) {
            *self.slab.ext_mut(s) = Ext {
                hidden: 0,
                display: o.display_qty.0,
                stop_price: 0,
                entry,
                group,
            };
        }
        self.ids.insert(o.order_id.0, s);
        self.accounts.push(&mut self.slab.nodes, s);
        if flags & F_GTD != 0 {
            self.expiry.push(
                &self.slab,
                Due {
                    time: o.expire_time,
                    entry,
                    slot: s,
                },
            );
        }
    }

    /// Cancels one live order (resting or pending stop): `Cancelled { Requested }` then
    /// `LevelChanged` if it rested; `UnknownOrder` / `NotOwner` rejects. O(1).
    #[inline]
    pub fn cancel<S: EventKindSink>(&mut self, c: &CancelOrder, _now: u64, out: &mut S) {
        // An unknown id (often: its order has traded away) is decided by one branch.
        let found = if self.ids.surely_free(c.order_id.0) {
            None
        } else {
            self.ids.find(c.order_id.0, &self.slab.nodes)
        };
        let Some(bucket) = found else {
            self.reject(
                c.order_id,
                c.account,
                (RejectReason::UnknownOrder, 0, sat(c.order_id.0)),
                out,
            );
            return;
        };
        let s = self.ids.slot_at(bucket);
        let owner = self.slab.nodes[s as usize].account;
        if owner != c.account.0 {
            self.reject(
                c.order_id,
                c.account,
                (
                    RejectReason::NotOwner,
                    i64::from(owner),
                    i64::from(c.account.0),
                ),
                out,
            );
            return;
        }
        let leaves = self.slab.leaves(s);
        let (side, price) = {
            let n = &self.slab.nodes[s as usize];
            (n.side, n.price)
        };
        self.emit_cancel(
            c.order_id.0,
            owner,
            CancelReason::Requested,
            leaves,
            side,
            price,
            0,
            out,
        );
        if self.slab.nodes[s as usize].state == State::Resting {
            self.kill_resting_at(s, Some(bucket), out);
        } else {
            self.remove_live(s, out);
        }
    }

    /// Modify (cancel/replace), `qty` = new leaves. Same price and `qty ≤ leaves` reduces in place
    /// and keeps priority; otherwise the order leaves its queue, re-prices and matches as a taker,
    /// and a remainder rests at the back. Rejects: `UnknownOrder`, `NotOwner`, `InvalidModify`
    /// (pending stop), `InvalidQty`, `LotSize`, `InvalidPrice`, `TickSize`, `PostOnlyWouldTake`,
    /// `BookFull` (sparse fallback full). O(1) plus any fills.
    pub fn modify<S: EventKindSink>(&mut self, m: &ModifyOrder, _now: u64, out: &mut S) {
        use RejectReason::*;
        let Some(s) = self.ids.get(m.order_id.0, &self.slab.nodes) else {
            self.reject(
                m.order_id,
                m.account,
                (UnknownOrder, 0, sat(m.order_id.0)),
                out,
            );
            return;
        };
        let n = self.slab.nodes[s as usize];
        if let Err(r) = self.check_modify(&n, m) {
            self.reject(m.order_id, m.account, r, out);
            return;
        }
        let (p, qty) = (m.price.0, m.qty.0);
        let leaves = self.slab.leaves(s);
        if p == n.price && qty <= leaves {
            let vis_changed = self.reduce_in_place(s, leaves - qty);
            out.emit(EventKind::Replaced {
                order_id: m.order_id,
                account: AccountId(n.account),
                instrument: self.instrument,
                price: m.price,
                qty: m.qty,
                kept_priority: true,
            });
            if vis_changed {
                self.emit_level(n.side, p, out);
            }
            return;
        }
        // lose priority: out of the queue
        {
            let l = &mut self.ladders[n.side.index()];
            if let Some(lvl) = l.get_mut(n.price) {
                lvl.remove(&mut self.slab.nodes, s, n.visible);
                if lvl.count == 0 {
                    l.remove_if_empty(n.price);
                }
            }
        }
        self.slab.nodes[s as usize].state = State::Taking;
        self.slab.nodes[s as usize].price = p;
        out.emit(EventKind::Replaced {
            order_id: m.order_id,
            account: AccountId(n.account),
            instrument: self.instrument,
            price: m.price,
            qty: m.qty,
            kept_priority: false,
        });
        self.emit_level(n.side, n.price, out);
        let mut t = Taker {
            id: n.id,
            account: n.account,
            group: self.slab.group(s),
            side: n.side,
            stp: n.stp(),
            leaves: qty,
            limit: p,
            market: false,
        };
        self.match_taker(&mut t, out);
        self.finish_taking(s, t.leaves, false, out);
        self.run_stops(out);
    }

    fn check_modify(&self, n: &Node, m: &ModifyOrder) -> Result<(), Reject> {
        use RejectReason::*;
        if n.account != m.account.0 {
            return Err((NotOwner, i64::from(n.account), i64::from(m.account.0)));
        }
        if n.state != State::Resting {
            return Err((InvalidModify, 0, 0));
        }
        let qty = m.qty.0;
        if qty == 0 {
            return Err((InvalidQty, 0, 0));
        }
        if !multiple_of(qty, self.cfg.lot_size) {
            return Err((LotSize, sat(self.cfg.lot_size), sat(qty)));
        }
        self.check_price(m.price, InvalidPrice)?;
        if n.tif == TimeInForce::PostOnly
            && let Some(b) = self.ladders[n.side.opposite().index()].best
            && crosses(n.side, b, m.price.0)
        {
            return Err((PostOnlyWouldTake, b, m.price.0));
        }
        if m.price.0 != n.price && !self.ladders[n.side.index()].can_insert(m.price.0) {
            let k = i64::from(self.cfg.sparse_levels);
            return Err((BookFull, k, k));
        }
        Ok(())
    }

    /// Cancels every live order (resting and pending stop) of `account` in entry order:
    /// `Cancelled { MassCancel }` (+ `LevelChanged` for resting ones). O(orders of the account).
    pub fn mass_cancel<S: EventKindSink>(&mut self, account: AccountId, _now: u64, out: &mut S) {
        loop {
            let s = self.accounts.head(account.0);
            if s == NIL {
                return;
            }
            let leaves = self.slab.leaves(s);
            let (id, side, price) = {
                let n = &self.slab.nodes[s as usize];
                (n.id, n.side, n.price)
            };
            self.emit_cancel(
                id,
                account.0,
                CancelReason::MassCancel,
                leaves,
                side,
                price,
                0,
                out,
            );
            self.remove_live(s, out);
        }
    }

    /// Expires every GTD order with `expire_time <= now`, in (expire time, entry) order:
    /// `Expired` (+ `LevelChanged` if it rested). O(1) when nothing is due; O(log n) per expiry.
    #[inline]
    pub fn expire<S: EventKindSink>(&mut self, now: u64, out: &mut S) {
        while let Some(d) = self.expiry.pop_due(&self.slab, now) {
            let s = d.slot;
            let leaves = self.slab.leaves(s);
            let (id, acct, side, price) = {
                let n = &self.slab.nodes[s as usize];
                (n.id, n.account, n.side, n.price)
            };
            out.emit(EventKind::Expired {
                order_id: OrderId(id),
                account: AccountId(acct),
                instrument: self.instrument,
                qty: Qty(leaves),
                side,
                price: Price(price),
            });
            self.remove_live(s, out);
        }
    }

    /// Earliest expire time among live GTD orders. O(1).
    #[inline]
    pub fn next_expiry(&self) -> Option<u64> {
        self.expiry.peek().map(|d| d.time)
    }

    // ---------------------------------------------------------------- replay helpers

    /// Replay: resting order `id` trades `qty` (1..=visible) at its own price against an
    /// anonymous taker (id 0, account 0, aggressor = opposite side). Refill/removal as in
    /// matching; updates the last trade price; does not trigger stops. False (and no events)
    /// when unknown, not resting, or `qty` is 0 or above its visible. O(1).
    pub fn fill_resting<S: EventKindSink>(
        &mut self,
        id: OrderId,
        qty: Qty,
        _now: u64,
        out: &mut S,
    ) -> bool {
        let Some(s) = self.ids.get(id.0, &self.slab.nodes) else {
            return false;
        };
        let n = &self.slab.nodes[s as usize];
        if n.state != State::Resting || qty.0 == 0 || qty.0 > n.visible {
            return false;
        }
        let aggressor = n.side.opposite();
        self.execute(s, qty.0, 0, 0, 0, aggressor, out);
        true
    }

    /// Replay: partial cancel keeping priority: `Cancelled { Requested, qty: by }` (hidden lots
    /// first), then `LevelChanged` when the visible quantity or the order count changed (an iceberg
    /// losing hidden lots only changes neither); the order is removed when nothing is left. False (no events) when unknown, not resting, `by` 0 or above
    /// its leaves. O(1).
    pub fn reduce_resting<S: EventKindSink>(&mut self, id: OrderId, by: Qty, out: &mut S) -> bool {
        let Some(s) = self.ids.get(id.0, &self.slab.nodes) else {
            return false;
        };
        let leaves = self.slab.leaves(s);
        let n = self.slab.nodes[s as usize];
        if n.state != State::Resting || by.0 == 0 || by.0 > leaves {
            return false;
        }
        self.emit_cancel(
            n.id,
            n.account,
            CancelReason::Requested,
            by.0,
            n.side,
            n.price,
            leaves - by.0,
            out,
        );
        if by.0 == leaves {
            self.kill_resting_emit(s, out);
        } else if self.reduce_in_place(s, by.0) {
            self.emit_level(n.side, n.price, out);
        }
        true
    }

    // ---------------------------------------------------------------- queries

    /// The instrument this book trades. O(1).
    pub fn instrument(&self) -> InstrumentId {
        self.instrument
    }

    /// The configuration it was built with. O(1).
    pub fn config(&self) -> &BookConfig {
        &self.cfg
    }

    /// Best (highest) bid. O(1).
    #[inline]
    pub fn best_bid(&self) -> Option<Price> {
        self.ladders[0].best.map(Price)
    }

    /// Best (lowest) ask. O(1).
    #[inline]
    pub fn best_ask(&self) -> Option<Price> {
        self.ladders[1].best.map(Price)
    }

    /// The level at (side, price), if any order rests there. O(1) dense, O(log n) sparse.
    pub fn level(&self, side: Side, price: Price) -> Option<LevelView> {
        self.ladders[side.index()].get(price.0).map(|l| LevelView {
            price,
            qty: Qty(l.qty),
            orders: l.count,
        })
    }

    /// Fills `out` with the best levels of `side`, best first; returns how many were written.
    /// O(levels written), no allocation.
    pub fn depth(&self, side: Side, out: &mut [LevelView]) -> usize {
        let mut n = 0;
        if out.is_empty() {
            return 0;
        }
        self.ladders[side.index()].for_each(|p, l| {
            out[n] = LevelView {
                price: Price(p),
                qty: Qty(l.qty),
                orders: l.count,
            };
            n += 1;
            n < out.len()
        });
        n
    }

    /// Calls `f` for every level of `side`, best first. O(levels).
    pub fn for_each_level(&self, side: Side, mut f: impl FnMut(LevelView)) {
        self.ladders[side.index()].for_each(|p, l| {
            f(LevelView {
                price: Price(p),
                qty: Qty(l.qty),
                orders: l.count,
            });
            true
        });
    }

    /// Calls `f` for every order at (side, price) in queue (priority) order. O(orders there).
    pub fn for_each_order_in_level(&self, side: Side, price: Price, mut f: impl FnMut(OrderView)) {
        let Some(l) = self.ladders[side.index()].get(price.0) else {
            return;
        };
        let mut s = l.q.head;
        while s != NIL {
            f(self.view(s));
            s = self.slab.nodes[s as usize].next;
        }
    }

    fn view(&self, s: u32) -> OrderView {
        let n = &self.slab.nodes[s as usize];
        let is_stop = n.state == State::Stop;
        OrderView {
            order_id: OrderId(n.id),
            account: AccountId(n.account),
            side: n.side,
            price: Price(n.price),
            stop_price: Price(self.slab.stop_price(s)),
            leaves: Qty(self.slab.leaves(s)),
            visible: Qty(if is_stop { 0 } else { n.visible }),
            is_stop,
        }
    }

    /// A live order (resting or pending stop). O(1).
    pub fn order(&self, id: OrderId) -> Option<OrderView> {
        self.ids.get(id.0, &self.slab.nodes).map(|s| self.view(s))
    }

    /// True when `id` rests at the head of its level's queue. O(1).
    pub fn is_head_of_level(&self, id: OrderId) -> bool {
        let Some(s) = self.ids.get(id.0, &self.slab.nodes) else {
            return false;
        };
        let n = &self.slab.nodes[s as usize];
        n.state == State::Resting && n.prev == NIL
    }

    /// Visible lots ahead of `id` in its level's queue (None unless resting). O(queue ahead).
    pub fn queue_ahead(&self, id: OrderId) -> Option<Qty> {
        let s = self.ids.get(id.0, &self.slab.nodes)?;
        let n = &self.slab.nodes[s as usize];
        if n.state != State::Resting {
            return None;
        }
        let mut sum = 0u64;
        let mut p = n.prev;
        while p != NIL {
            let m = &self.slab.nodes[p as usize];
            sum = sum.saturating_add(m.visible);
            p = m.prev;
        }
        Some(Qty(sum))
    }

    /// Live orders: resting + pending stops. O(1).
    #[inline]
    pub fn live_orders(&self) -> usize {
        self.slab.live() as usize
    }

    /// Price of the last trade in this book (matching or `fill_resting`). O(1).
    #[inline]
    pub fn last_trade_price(&self) -> Option<Price> {
        self.last_trade.map(Price)
    }

    /// FNV-1a hash of the book state: for bids then asks, best level first, each level's (price,
    /// visible qty, order count) followed by its orders in queue order (id, account, visible,
    /// hidden, entry); then the pending stops in entry order (id, side, stop price, price, leaves,
    /// entry). O(live orders).
    pub fn state_hash(&self) -> u64 {
        let mut h = FnvHasher::default();
        for side in [Side::Buy, Side::Sell] {
            h.write_u8(side as u8);
            self.ladders[side.index()].for_each(|p, l| {
                h.write_i64(p);
                h.write_u64(l.qty);
                h.write_u32(l.count);
                let mut s = l.q.head;
                while s != NIL {
                    let n = &self.slab.nodes[s as usize];
                    h.write_u64(n.id);
                    h.write_u32(n.account);
                    h.write_u64(n.visible);
                    h.write_u64(self.slab.hidden(s));
                    s = n.next;
                }
                true
            });
        }
        h.write_u8(0xff);
        let mut s = self.stops.list.head;
        while s != NIL {
            let n = &self.slab.nodes[s as usize];
            h.write_u64(n.id);
            h.write_u8(n.side as u8);
            h.write_i64(self.slab.stop_price(s));
            h.write_i64(n.price);
            h.write_u64(self.slab.leaves(s));
            s = n.next;
        }
        h.finish()
    }

    /// Touch every page of the book's preallocated memory (slab, id map, account table,
    /// ladders, expiry heap) so no page fault lands on the hot path. Start-up only: cost
    /// proportional to [`Book::memory_bytes`]. The book's state is unchanged.
    pub fn prefault(&mut self) {
        self.slab.prefault();
        self.ids.prefault();
        self.accounts.prefault();
        for l in &mut self.ladders {
            l.prefault();
        }
        self.expiry.prefault();
    }

    /// Bytes preallocated by [`Book::new`] (slab, cold data, id map, account table, ladders,
    /// expiry heap). O(1).
    pub fn memory_bytes(&self) -> usize {
        core::mem::size_of::<Book>()
            + self.slab.bytes().0
            + self.slab.bytes().1
            + self.ids.bytes()
            + self.accounts.bytes()
            + self.ladders[0].bytes()
            + self.ladders[1].bytes()
            + self.expiry.bytes()
    }

    /// [`Book::memory_bytes`] table by table: the hot order nodes (48-byte slab slots), the
    /// cold part of the special slots (iceberg, stop, GTD and STP-group fields), the id map, the per-account order-list table,
    /// the GTD expiry heap, and both price ladders with the book itself. O(1).
    pub fn memory_parts(&self) -> [(&'static str, usize); 6] {
        let (nodes, cold) = self.slab.bytes();
        [
            ("order nodes (hot)", nodes),
            ("order cold data", cold),
            ("id map", self.ids.bytes()),
            ("account lists", self.accounts.bytes()),
            ("GTD expiry heap", self.expiry.bytes()),
            (
                "price ladders",
                core::mem::size_of::<Book>() + self.ladders[0].bytes() + self.ladders[1].bytes(),
            ),
        ]
    }

    /// Sparse (outlying) levels in use on `side`. O(1).
    pub fn sparse_levels_used(&self, side: Side) -> usize {
        self.ladders[side.index()].sparse_len()
    }
}
