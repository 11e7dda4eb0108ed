//! LOBSTER replay with book verification: messages drive a ferrex [`Book`], and after every
//! message ferrex's top N levels are compared with LOBSTER's reference orderbook row.
//!
//! # Seeding
//! The day starts with orders resting from before the window, so the book is seeded from the
//! first orderbook row (the book *after* message 1): one synthetic order per level (ids from
//! [`SYNTHETIC_ID_BASE`] up). When message 1 is a submission, its order is seeded as itself (the
//! level's remainder, if any, goes in a synthetic order ahead of it). Messages are applied from
//! row 2 on.
//!
//! # Applying messages
//! - 1 submit → GTC limit order (account 0, `StpMode::None`, id = LOBSTER order id).
//! - 2 partial cancel → `reduce_resting`; 3 delete → `cancel`; 4 visible execution →
//!   head-of-queue check then `fill_resting`.
//! - A type 2/3/4 message naming an order the book does not hold (`unknown_refs`: it rested before
//!   the window, or it was submitted outside the requested levels, which LOBSTER does not record)
//!   is applied to the *unknown liquidity* at its price: the synthetic orders of that level, oldest
//!   first, are reduced (or, for an execution, filled) by its size.
//! - 5 hidden execution, 6 cross, 7 halt: no book change (counted).
//!
//! # Verification rule (`matched` / `reseeded` / `mismatch`)
//! After message k, per side, the reference row k is authoritative for every price at least as
//! good as its N-th level (for the whole side if it shows fewer than N levels): its *visible
//! range*. Within that range, ferrex's level quantities must equal the reference's (a level absent
//! from one of them counts as quantity 0). The row is
//! - `matched` when they are equal on both sides;
//! - `reseeded` when every differing price p is explained by data coverage:
//!   (a) p lay outside the visible range of the previous reference row k−1 on that side (the level
//!   came into view: the replay could not know its content, including orders that were deleted
//!   while out of view), or (b) message k acted on an order unknown to the replay at that side and
//!   price;
//! - `mismatch` otherwise: the message and the levels it touched were fully known, and ferrex
//!   still disagrees.
//!
//! In both the `reseeded` and the `mismatch` case each differing level is then re-seeded from the
//! reference, so one disagreement does not cascade: missing quantity is added as a synthetic order
//! at the back of the level. A level holding *more* than the reference has lost orders the replay
//! cannot identify (deleted while out of view, or the unknown order that acted), so its whole
//! content is replaced by one synthetic order of the reference size (`known_orders_dropped`
//! counts the known orders removed); later messages naming them are unknown references, applied
//! to that synthetic liquidity.
//!
//! **Queue priority.** For each type-4 execution of a known order the replay checks that it is at
//! the head of its level: `head_of_queue_share` = at head / checked. An order can only be behind
//! synthetic (unknown) liquidity when the file lacks part of its queue's history; those are counted
//! in `behind_unknown` and excluded in [`LobsterReplaySummary::head_of_queue_share_known`].

use std::time::{Duration, Instant};

use ferrex_book::{Book, BookConfig, BookConfigError, LevelView};
use ferrex_types::{
    AccountId, CancelOrder, EventKind, EventKindSink, InstrumentId, NewOrder, OrdType, OrderId,
    Price, Qty, Side, StpMode, TimeInForce,
};

use crate::lobster::{BookRow, EventType, Level, LobsterError, LobsterMessage, LobsterPair};

/// Synthetic (seeded / re-seeded) orders get ids from here up; LOBSTER ids are far below.
pub const SYNTHETIC_ID_BASE: u64 = 1 << 62;

/// Replay configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LobsterReplayConfig {
    /// The book (prices × 10000; default tick 100 = one cent).
    pub book: BookConfig,
    /// Keep at most this many mismatch details.
    pub max_details: usize,
}

impl Default for LobsterReplayConfig {
    /// Cent ticks, 2^17 orders, 2^15 dense levels, level events off, 32 details.
    fn default() -> Self {
        LobsterReplayConfig {
            book: BookConfig {
                tick_size: 100,
                lot_size: 1,
                min_price: Price(100),
                max_price: Price(9_999_999_900),
                max_orders: 1 << 17,
                max_special_orders: 1 << 15,
                max_accounts: 1 << 14,
                dense_levels: 1 << 15,
                sparse_levels: 4096,
                anchor: None,
                market_protection_ticks: 1000,
                level_events: false,
            },
            max_details: 32,
        }
    }
}

/// Errors that stop a LOBSTER replay.
#[derive(Debug, thiserror::Error)]
pub enum LobsterReplayError {
    /// The files are corrupt.
    #[error(transparent)]
    Read(#[from] LobsterError),
    /// The book configuration is invalid.
    #[error("book configuration: {0:?}")]
    Book(BookConfigError),
    /// The message file is empty.
    #[error("empty LOBSTER files: nothing to seed the book from")]
    Empty,
}

/// One level where ferrex and the reference disagreed without a coverage explanation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// 1-based row (= message line).
    pub line: u64,
    /// Side.
    pub side: Side,
    /// Price × 10000.
    pub price: i64,
    /// ferrex's visible quantity there.
    pub ferrex_qty: u64,
    /// The reference's.
    pub reference_qty: u64,
}

/// What a LOBSTER replay found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LobsterReplaySummary {
    /// Levels per side compared.
    pub levels: usize,
    /// Rows (= messages) read, including the seed row.
    pub rows: u64,
    /// Rows compared (all but the seed row).
    pub compared: u64,
    /// Rows equal to the reference.
    pub matched: u64,
    /// Rows whose differences were all explained by coverage, then re-seeded.
    pub reseeded: u64,
    /// Reseeded rows whose differences include a level that came into view (rule (a)).
    pub reseeded_into_view: u64,
    /// Reseeded rows whose differences include the level of an unknown order that acted (rule (b)).
    pub reseeded_unknown_order: u64,
    /// Rows with an unexplained difference.
    pub mismatches: u64,
    /// The first few mismatching levels.
    pub mismatch_details: Vec<Mismatch>,
    /// Messages by event type code (index 0 unused).
    pub by_type: [u64; 8],
    /// Type 2/3/4 messages naming an order the book does not hold.
    pub unknown_refs: u64,
    /// Executions of known orders checked for queue position.
    pub head_checked: u64,
    /// Of those, at the head of their level.
    pub head_of_queue: u64,
    /// Of those not at the head, the ones with only unknown (synthetic) liquidity ahead.
    pub behind_unknown: u64,
    /// Type 2/4 with more shares than the known order's leaves/visible.
    pub over_executions: u64,
    /// Trades emitted by submissions (a submission that crossed ferrex's book).
    pub crossing_submits: u64,
    /// Levels re-seeded.
    pub levels_reseeded: u64,
    /// Known orders dropped by re-seeding a level that held more than the reference.
    pub known_orders_dropped: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl LobsterReplaySummary {
    /// At head / checked (1.0 when none).
    pub fn head_of_queue_share(&self) -> f64 {
        ratio(self.head_of_queue, self.head_checked)
    }
    /// At head / (checked − behind unknown liquidity): the share over executions whose queue
    /// history the file holds.
    pub fn head_of_queue_share_known(&self) -> f64 {
        ratio(self.head_of_queue, self.head_checked - self.behind_unknown)
    }
    /// Messages per second of wall time.
    pub fn msgs_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.rows as f64 / s } else { 0.0 }
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

#[derive(Default)]
struct Sink {
    trades: u64,
}

impl EventKindSink for Sink {
    #[inline]
    fn emit(&mut self, kind: EventKind) {
        if let EventKind::Trade { .. } = kind {
            self.trades += 1;
        }
    }
}

/// The replay state.
pub struct LobsterReplay {
    cfg: LobsterReplayConfig,
    book: Book,
    sink: Sink,
    next_synth: u64,
    levels: usize,
    s: LobsterReplaySummary,
    buf: Vec<LevelView>,
}

fn is_synth(id: OrderId) -> bool {
    id.0 >= SYNTHETIC_ID_BASE
}

/// Worst price of a side's visible range, or `None` if the whole side is visible.
fn range_edge(row: &BookRow, side: Side, n: usize) -> Option<i64> {
    let l = row.side(side);
    if l.len() >= n {
        l.get(n - 1).map(|l| l.price)
    } else {
        None
    }
}

fn in_range(side: Side, price: i64, edge: Option<i64>) -> bool {
    match (edge, side) {
        (None, _) => true,
        (Some(e), Side::Buy) => price >= e,
        (Some(e), Side::Sell) => price <= e,
    }
}

impl LobsterReplay {
    /// A replay comparing `levels` levels per side.
    pub fn new(cfg: LobsterReplayConfig, levels: usize) -> Result<Self, LobsterReplayError> {
        let book = Book::new(InstrumentId(0), cfg.book).map_err(LobsterReplayError::Book)?;
        Ok(LobsterReplay {
            cfg,
            book,
            sink: Sink::default(),
            next_synth: SYNTHETIC_ID_BASE,
            levels: levels.max(1),
            s: LobsterReplaySummary {
                levels: levels.max(1),
                ..Default::default()
            },
            buf: vec![
                LevelView {
                    price: Price(0),
                    qty: Qty(0),
                    orders: 0
                };
                levels.max(1) + 64
            ],
        })
    }

    /// The book.
    pub fn book(&self) -> &Book {
        &self.book
    }

    fn place(&mut self, id: OrderId, side: Side, price: i64, qty: u64, now: u64) {
        if qty == 0 {
            return;
        }
        let o = NewOrder {
            order_id: id,
            price: Price(price),
            qty: Qty(qty),
            account: AccountId(0),
            instrument: InstrumentId(0),
            side,
            ord_type: OrdType::Limit,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
            ..NewOrder::default()
        };
        self.book.new_order(&o, now, &mut self.sink);
    }

    fn synth(&mut self, side: Side, price: i64, qty: u64, now: u64) {
        let id = OrderId(self.next_synth);
        self.next_synth += 1;
        self.place(id, side, price, qty, now);
    }

    /// Seeds the book from the first row (the book after `first`).
    pub fn seed(&mut self, first: &LobsterMessage, row: &BookRow) {
        for side in [Side::Sell, Side::Buy] {
            for l in row.side(side) {
                let own = first.event == EventType::Submit
                    && first.side == side
                    && first.price == l.price
                    && first.size <= l.size;
                if own {
                    self.synth(side, l.price, l.size - first.size, first.time_ns);
                    self.place(
                        OrderId(first.order_id),
                        side,
                        l.price,
                        first.size,
                        first.time_ns,
                    );
                } else {
                    self.synth(side, l.price, l.size, first.time_ns);
                }
            }
        }
    }

    fn orders_at(&self, side: Side, price: i64) -> Vec<(OrderId, u64)> {
        let mut v = Vec::new();
        self.book
            .for_each_order_in_level(side, Price(price), |o| v.push((o.order_id, o.leaves.0)));
        v
    }

    /// Takes `qty` from the synthetic orders at (side, price), oldest first. Returns what was left
    /// untaken.
    fn consume_unknown(
        &mut self,
        side: Side,
        price: i64,
        mut qty: u64,
        execute: bool,
        now: u64,
    ) -> u64 {
        for (id, leaves) in self.orders_at(side, price) {
            if qty == 0 {
                break;
            }
            if !is_synth(id) {
                continue;
            }
            let q = leaves.min(qty);
            if execute {
                self.book.fill_resting(id, Qty(q), now, &mut self.sink);
            } else {
                self.book.reduce_resting(id, Qty(q), &mut self.sink);
            }
            qty -= q;
        }
        qty
    }

    /// Applies one message; returns the (side, price) of an unknown order it acted on, if any.
    fn apply(&mut self, m: &LobsterMessage) -> Option<(Side, i64)> {
        self.s.by_type[m.event.code() as usize] += 1;
        let id = OrderId(m.order_id);
        let now = m.time_ns;
        match m.event {
            EventType::Submit => {
                let before = self.sink.trades;
                self.place(id, m.side, m.price, m.size, now);
                if self.sink.trades != before {
                    self.s.crossing_submits += 1;
                }
                None
            }
            EventType::Cancel | EventType::Delete | EventType::ExecuteVisible => {
                let known = self.book.order(id).filter(|_| !is_synth(id));
                let Some(o) = known else {
                    self.s.unknown_refs += 1;
                    let exec = m.event == EventType::ExecuteVisible;
                    self.consume_unknown(m.side, m.price, m.size, exec, now);
                    return Some((m.side, m.price));
                };
                match m.event {
                    EventType::Cancel => {
                        if !self.book.reduce_resting(id, Qty(m.size), &mut self.sink) {
                            self.s.over_executions += 1;
                        }
                    }
                    EventType::Delete => {
                        let c = CancelOrder {
                            order_id: id,
                            account: AccountId(0),
                            instrument: InstrumentId(0),
                        };
                        self.book.cancel(&c, now, &mut self.sink);
                    }
                    _ => {
                        self.s.head_checked += 1;
                        if self.book.is_head_of_level(id) {
                            self.s.head_of_queue += 1;
                        } else {
                            let ahead = self.orders_at(o.side, o.price.0);
                            let only_unknown = ahead
                                .iter()
                                .take_while(|(oid, _)| *oid != id)
                                .all(|(oid, _)| is_synth(*oid));
                            if only_unknown {
                                self.s.behind_unknown += 1;
                            }
                        }
                        if !self.book.fill_resting(id, Qty(m.size), now, &mut self.sink) {
                            self.s.over_executions += 1;
                        }
                    }
                }
                None
            }
            EventType::ExecuteHidden | EventType::Cross | EventType::Halt => None,
        }
    }

    /// Sets the level (side, price) to `target` visible lots (see the module docs).
    fn reseed_level(&mut self, side: Side, price: i64, target: u64, now: u64) {
        self.s.levels_reseeded += 1;
        let cur = self.book.level(side, Price(price)).map_or(0, |l| l.qty.0);
        if target > cur {
            self.synth(side, price, target - cur, now);
            return;
        }
        // Surplus: which of the level's orders are gone (deleted while out of view, or the
        // unknown order that acted) cannot be told, so the level's composition is unknown: it
        // becomes one synthetic order of the reference size. Later messages naming the dropped
        // known orders are then unknown references, applied to that synthetic liquidity.
        for (id, leaves) in self.orders_at(side, price) {
            self.book.reduce_resting(id, Qty(leaves), &mut self.sink);
            if !is_synth(id) {
                self.s.known_orders_dropped += 1;
            }
        }
        self.synth(side, price, target, now);
    }

    /// Compares after message `m` (row `line`) with `row`; `prev` is the previous reference row.
    fn verify(
        &mut self,
        line: u64,
        m: &LobsterMessage,
        unknown_at: Option<(Side, i64)>,
        row: &BookRow,
        prev: &BookRow,
    ) {
        let n = self.levels;
        let mut diffs: Vec<(Side, i64, u64, u64)> = Vec::new();
        for side in [Side::Sell, Side::Buy] {
            let k = self.book.depth(side, &mut self.buf[..n]);
            let reference = row.side(side);
            let same = k == reference.len()
                && self.buf[..k]
                    .iter()
                    .zip(reference)
                    .all(|(f, r)| f.price.0 == r.price && f.qty.0 == r.size);
            if same {
                continue;
            }
            let edge = range_edge(row, side, n);
            // Reference levels vs ferrex.
            for &Level { price, size } in reference {
                let f = self.book.level(side, Price(price)).map_or(0, |l| l.qty.0);
                if f != size {
                    diffs.push((side, price, f, size));
                }
            }
            // ferrex levels in the visible range that the reference does not have.
            let k = self.book.depth(side, &mut self.buf[..]);
            for f in &self.buf[..k] {
                if !in_range(side, f.price.0, edge) {
                    break;
                }
                if !reference.iter().any(|r| r.price == f.price.0) {
                    diffs.push((side, f.price.0, f.qty.0, 0));
                }
            }
        }
        if diffs.is_empty() {
            self.s.matched += 1;
            return;
        }
        let mut explained = true;
        let (mut any_view, mut any_unknown) = (false, false);
        for &(side, price, f, r) in &diffs {
            let came_into_view = !in_range(side, price, range_edge(prev, side, n));
            let unknown_here = unknown_at == Some((side, price));
            any_view |= came_into_view;
            any_unknown |= unknown_here;
            if !(came_into_view || unknown_here) {
                explained = false;
                if self.s.mismatch_details.len() < self.cfg.max_details {
                    self.s.mismatch_details.push(Mismatch {
                        line,
                        side,
                        price,
                        ferrex_qty: f,
                        reference_qty: r,
                    });
                }
            }
        }
        if explained {
            self.s.reseeded += 1;
            self.s.reseeded_into_view += u64::from(any_view);
            self.s.reseeded_unknown_order += u64::from(any_unknown);
        } else {
            self.s.mismatches += 1;
        }
        for (side, price, _, r) in diffs {
            self.reseed_level(side, price, r, m.time_ns);
        }
    }

    /// Replays a whole pair.
    pub fn run(&mut self, pair: &LobsterPair) -> Result<(), LobsterReplayError> {
        let t0 = Instant::now();
        let mut it = pair.iter();
        let (_, first, mut prev) = it.next().ok_or(LobsterReplayError::Empty)??;
        self.s.rows = 1;
        self.s.by_type[first.event.code() as usize] += 1;
        self.seed(&first, &prev);
        for r in it {
            let (line, m, row) = r?;
            self.s.rows += 1;
            self.s.compared += 1;
            let unknown_at = self.apply(&m);
            self.verify(line, &m, unknown_at, &row, &prev);
            prev = row;
        }
        self.s.elapsed += t0.elapsed();
        Ok(())
    }

    /// The summary so far.
    pub fn summary(&self) -> LobsterReplaySummary {
        self.s.clone()
    }
}

/// Replays a pair with a fresh [`LobsterReplay`] comparing all of the pair's levels.
pub fn replay(
    pair: &LobsterPair,
    cfg: LobsterReplayConfig,
) -> Result<LobsterReplaySummary, LobsterReplayError> {
    let mut r = LobsterReplay::new(cfg, pair.levels())?;
    r.run(pair)?;
    Ok(r.summary())
}
