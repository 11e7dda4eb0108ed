//! The simulated market: a [`Book`] driven by LOBSTER messages, holding the real resting orders
//! and our child orders side by side (see the crate docs for the exact fill rule).

use std::collections::HashMap;

use ferrex_book::{Book, BookConfig, LevelView};
use ferrex_replay::lobster::{BookRow, EventType, LobsterMessage, LobsterPair};
use ferrex_replay::lobster_replay::{LobsterReplayConfig, SYNTHETIC_ID_BASE};
use ferrex_types::{
    AccountId, CancelOrder, EventKind, EventKindSink, InstrumentId, NewOrder, OrdType, OrderId,
    Price, Qty, Side, StpMode, TimeInForce,
};

use crate::ExecError;

/// Our account (distinct from the replay's account 0).
pub const OUR_ACCOUNT: AccountId = AccountId(0xEEEE_0001);
/// Our child orders get ids `OUR_ID_BASE + tag`: above LOBSTER ids, below the synthetic range.
pub const OUR_ID_BASE: u64 = 1 << 61;

/// A LOBSTER pair parsed once into memory (reused by every run).
#[derive(Clone, Debug)]
pub struct LobsterData {
    /// Messages, in file order.
    pub msgs: Vec<LobsterMessage>,
    /// The reference book after each message.
    pub rows: Vec<BookRow>,
    /// Levels per side of the reference rows.
    pub levels: usize,
}

impl LobsterData {
    /// Parses a whole pair.
    pub fn from_pair(pair: &LobsterPair) -> Result<LobsterData, ExecError> {
        let mut msgs = Vec::new();
        let mut rows = Vec::new();
        for r in pair.iter() {
            let (_, m, row) = r?;
            msgs.push(m);
            rows.push(row);
        }
        if msgs.is_empty() {
            return Err(ExecError::Empty);
        }
        Ok(LobsterData {
            msgs,
            rows,
            levels: pair.levels(),
        })
    }

    /// First and last message time (ns after midnight).
    pub fn time_range(&self) -> (u64, u64) {
        (
            self.msgs.first().map_or(0, |m| m.time_ns),
            self.msgs.last().map_or(0, |m| m.time_ns),
        )
    }
}

/// One fill of one of our orders.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fill {
    /// Engine time (ns).
    pub time: u64,
    /// Our order's tag.
    pub tag: u64,
    /// Price in ticks.
    pub price: i64,
    /// Lots.
    pub qty: u64,
    /// True when our order was the taker.
    pub aggressive: bool,
    /// Real mid (ticks) just before the order or message that caused the fill (`None` if a side
    /// was empty).
    pub mid_before: Option<f64>,
}

/// Counters of the simulated market.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarketStats {
    /// Messages applied.
    pub messages: u64,
    /// Type 2/3/4 naming an order unknown to the book (applied to synthetic liquidity).
    pub unknown_refs: u64,
    /// Type 2/3/4 messages (or parts of them) naming liquidity we already took: ignored.
    pub ignored_taken: u64,
    /// Lots of real liquidity our orders took (aggressively, or a real submission that crossed
    /// our resting order).
    pub real_lots_taken: u64,
    /// Lots added or removed by reconciling with the reference rows.
    pub reseeded_lots: u64,
}

#[derive(Default)]
struct Sink {
    trades: Vec<EventKind>,
}

impl EventKindSink for Sink {
    #[inline]
    fn emit(&mut self, kind: EventKind) {
        if matches!(kind, EventKind::Trade { .. }) {
            self.trades.push(kind);
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Ours {
    side: Side,
    price: i64,
}

/// The simulated market.
pub struct SimMarket {
    book: Book,
    sink: Sink,
    next_synth: u64,
    levels: usize,
    ours: HashMap<u64, Ours>,
    /// Lots taken by us from each real (known) order that the data still shows.
    taken_from: HashMap<u64, u64>,
    /// Lots taken by us from synthetic (unknown) liquidity per level, still shown by the data.
    taken_synth: HashMap<(Side, i64), u64>,
    /// Total lots taken per level that the reference rows still show.
    taken_level: HashMap<(Side, i64), u64>,
    fills: Vec<Fill>,
    stats: MarketStats,
    lvl_buf: Vec<LevelView>,
    /// Price of the real submission being entered (for liquidity it loses to our orders).
    submit_price: Option<i64>,
    /// Real mid before the order or message being processed.
    pre_mid: Option<f64>,
}

fn is_synth(id: u64) -> bool {
    id >= SYNTHETIC_ID_BASE
}

fn is_ours(id: u64) -> bool {
    (OUR_ID_BASE..SYNTHETIC_ID_BASE).contains(&id)
}

fn better_or_equal(side: Side, a: i64, b: i64) -> bool {
    match side {
        Side::Buy => a >= b,
        Side::Sell => a <= b,
    }
}

fn dec(m: &mut HashMap<(Side, i64), u64>, k: (Side, i64), by: u64) -> u64 {
    let Some(v) = m.get_mut(&k) else { return 0 };
    let d = (*v).min(by);
    *v -= d;
    if *v == 0 {
        m.remove(&k);
    }
    d
}

impl SimMarket {
    /// The default LOBSTER book configuration (cent ticks on prices × 10000).
    pub fn default_book_config() -> BookConfig {
        LobsterReplayConfig::default().book
    }

    /// A market seeded from the first message and row of `data` (as `ferrex-replay` seeds).
    pub fn new(data: &LobsterData, cfg: BookConfig) -> Result<SimMarket, ExecError> {
        let book = Book::new(InstrumentId(0), cfg).map_err(|e| ExecError::Book(format!("{e}")))?;
        let mut m = SimMarket {
            book,
            sink: Sink::default(),
            next_synth: SYNTHETIC_ID_BASE,
            levels: data.levels.max(1),
            ours: HashMap::new(),
            taken_from: HashMap::new(),
            taken_synth: HashMap::new(),
            taken_level: HashMap::new(),
            fills: Vec::new(),
            stats: MarketStats::default(),
            lvl_buf: Vec::new(),
            submit_price: None,
            pre_mid: None,
        };
        let first = &data.msgs[0];
        let row = &data.rows[0];
        for side in [Side::Sell, Side::Buy] {
            for l in row.side(side) {
                let own = first.event == EventType::Submit
                    && first.side == side
                    && first.price == l.price
                    && first.size <= l.size;
                if own {
                    m.synth(side, l.price, l.size - first.size, first.time_ns);
                    m.place_real(first.order_id, side, l.price, first.size, first.time_ns);
                } else {
                    m.synth(side, l.price, l.size, first.time_ns);
                }
            }
        }
        m.stats.messages = 1;
        m.sink.trades.clear();
        Ok(m)
    }

    /// The book (real orders + ours).
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// Our fills so far.
    pub fn fills(&self) -> &[Fill] {
        &self.fills
    }

    /// Counters.
    pub fn stats(&self) -> MarketStats {
        self.stats
    }

    fn place_real(&mut self, id: u64, side: Side, price: i64, qty: u64, now: u64) {
        if qty == 0 {
            return;
        }
        let o = NewOrder {
            order_id: OrderId(id),
            price: Price(price),
            qty: Qty(qty),
            account: AccountId(0),
            side,
            ord_type: OrdType::Limit,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
            ..NewOrder::default()
        };
        self.submit_price = Some(price);
        self.book.new_order(&o, now, &mut self.sink);
        self.drain(now);
        self.submit_price = None;
    }

    fn synth(&mut self, side: Side, price: i64, qty: u64, now: u64) {
        let id = self.next_synth;
        self.next_synth += 1;
        self.place_real(id, side, price, qty, now);
    }

    /// Lots of ours visible at (side, price).
    fn ours_visible(&self, side: Side, price: i64) -> u64 {
        let mut v = 0;
        if self
            .ours
            .values()
            .any(|o| o.side == side && o.price == price)
        {
            self.book.for_each_order_in_level(side, Price(price), |o| {
                if is_ours(o.order_id.0) {
                    v += o.visible.0;
                }
            });
        }
        v
    }

    /// Real (non-ours) visible lots at (side, price).
    pub fn real_qty(&self, side: Side, price: i64) -> u64 {
        let lvl = self.book.level(side, Price(price)).map_or(0, |l| l.qty.0);
        lvl - self.ours_visible(side, price).min(lvl)
    }

    /// Best price of `side` holding real liquidity (our own orders ignored).
    pub fn real_best(&self, side: Side) -> Option<i64> {
        let mut buf = [LevelView {
            price: Price(0),
            qty: Qty(0),
            orders: 0,
        }; 8];
        let n = self.book.depth(side, &mut buf);
        buf[..n]
            .iter()
            .find(|l| self.real_qty(side, l.price.0) > 0)
            .map(|l| l.price.0)
    }

    /// Real mid in ticks (our orders ignored).
    pub fn real_mid(&self) -> Option<f64> {
        let (b, a) = (self.real_best(Side::Buy)?, self.real_best(Side::Sell)?);
        Some((b as f64 + a as f64) / 2.0)
    }

    /// Our live order `tag`: (price, leaves, visible).
    pub fn our_order(&self, tag: u64) -> Option<(i64, u64, u64)> {
        self.book
            .order(OrderId(OUR_ID_BASE + tag))
            .map(|o| (o.price.0, o.leaves.0, o.visible.0))
    }

    /// Enters one of our child orders: a GTC limit (optionally iceberg) when `ioc` is false, an
    /// IOC limit otherwise. Any trades are recorded as fills.
    #[allow(clippy::too_many_arguments)]
    pub fn submit_ours(
        &mut self,
        tag: u64,
        side: Side,
        price: i64,
        qty: u64,
        display: u64,
        ioc: bool,
        now: u64,
    ) {
        if qty == 0 {
            return;
        }
        let o = NewOrder {
            order_id: OrderId(OUR_ID_BASE + tag),
            price: Price(price),
            qty: Qty(qty),
            display_qty: Qty(if display > 0 && display < qty {
                display
            } else {
                0
            }),
            account: OUR_ACCOUNT,
            side,
            ord_type: OrdType::Limit,
            tif: if ioc {
                TimeInForce::Ioc
            } else {
                TimeInForce::Gtc
            },
            stp: StpMode::CancelAggressor,
            ..NewOrder::default()
        };
        self.pre_mid = self.real_mid();
        self.ours.insert(OUR_ID_BASE + tag, Ours { side, price });
        self.book.new_order(&o, now, &mut self.sink);
        self.drain(now);
        if self.book.order(OrderId(OUR_ID_BASE + tag)).is_none() {
            self.ours.remove(&(OUR_ID_BASE + tag));
        }
    }

    /// Cancels our order `tag` (no-op if gone).
    pub fn cancel_ours(&mut self, tag: u64, now: u64) {
        let id = OUR_ID_BASE + tag;
        if self.ours.remove(&id).is_some() {
            let c = CancelOrder {
                order_id: OrderId(id),
                account: OUR_ACCOUNT,
                instrument: InstrumentId(0),
            };
            self.book.cancel(&c, now, &mut self.sink);
        }
    }

    /// Cancels every order of ours.
    pub fn cancel_all_ours(&mut self, now: u64) {
        let mut ids: Vec<u64> = self.ours.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.cancel_ours(id - OUR_ID_BASE, now);
        }
    }

    /// Turns the trades emitted since the last call into fills and taken-liquidity records.
    fn drain(&mut self, now: u64) {
        if self.sink.trades.is_empty() {
            return;
        }
        let trades = std::mem::take(&mut self.sink.trades);
        for t in &trades {
            let EventKind::Trade {
                price,
                qty,
                maker_order_id,
                taker_order_id,
                maker_leaves,
                aggressor,
                ..
            } = *t
            else {
                continue;
            };
            let (mk, tk) = (maker_order_id.0, taker_order_id.0);
            let ours_maker = is_ours(mk);
            let ours_taker = is_ours(tk);
            if !(ours_maker || ours_taker) {
                continue;
            }
            let mid_before = self.pre_mid;
            let (tag, aggressive) = if ours_taker {
                (tk - OUR_ID_BASE, true)
            } else {
                (mk - OUR_ID_BASE, false)
            };
            self.fills.push(Fill {
                time: now,
                tag,
                price: price.0,
                qty: qty.0,
                aggressive,
                mid_before,
            });
            if ours_maker && maker_leaves.0 == 0 {
                self.ours.remove(&mk);
            }
            // Real liquidity taken: the real counterparty (maker when we take; taker when a
            // real submission crossed our resting order, tk == 0 for replayed executions).
            let (real, real_side, real_price) = if ours_taker {
                (mk, aggressor.opposite(), price.0)
            } else if tk != 0 {
                (tk, aggressor, self.submit_price.unwrap_or(price.0))
            } else {
                continue;
            };
            self.stats.real_lots_taken += qty.0;
            *self.taken_level.entry((real_side, real_price)).or_default() += qty.0;
            if is_synth(real) {
                *self.taken_synth.entry((real_side, real_price)).or_default() += qty.0;
            } else {
                *self.taken_from.entry(real).or_default() += qty.0;
            }
        }
        let mut trades = trades;
        trades.clear();
        self.sink.trades = trades;
    }

    /// Our passive fills caused by a real execution of `qty` at (side, price): our orders at that
    /// price or better, in price-time priority, each fill `min(visible, remaining − ahead)` where
    /// `ahead` is the visible quantity queued before it at its level.
    fn passive_fills(&mut self, side: Side, price: i64, qty: u64) -> Vec<(u64, u64)> {
        let mut mine: Vec<(i64, u64, u64)> = Vec::new(); // price, entry, id
        for (&id, o) in &self.ours {
            if o.side == side
                && better_or_equal(side, o.price, price)
                && let Some(v) = self.book.order(OrderId(id))
            {
                mine.push((o.price, v.entry, id));
            }
        }
        mine.sort_by(|a, b| match side {
            Side::Buy => b.0.cmp(&a.0).then(a.1.cmp(&b.1)),
            Side::Sell => a.0.cmp(&b.0).then(a.1.cmp(&b.1)),
        });
        let mut rem = qty;
        let mut out = Vec::new();
        for (_, _, id) in mine {
            let ahead = self.book.queue_ahead(OrderId(id)).map_or(u64::MAX, |q| q.0);
            let vis = self.book.order(OrderId(id)).map_or(0, |o| o.visible.0);
            let f = rem.saturating_sub(ahead).min(vis);
            if f > 0 {
                out.push((id, f));
                rem -= f;
            }
        }
        out
    }

    /// Takes `qty` from the synthetic orders at (side, price), oldest first (fill or reduce).
    fn consume_unknown(&mut self, side: Side, price: i64, mut qty: u64, execute: bool, now: u64) {
        let mut v = Vec::new();
        self.book.for_each_order_in_level(side, Price(price), |o| {
            if is_synth(o.order_id.0) {
                v.push((o.order_id, o.leaves.0));
            }
        });
        for (id, leaves) in v {
            if qty == 0 {
                break;
            }
            let q = leaves.min(qty);
            if execute {
                self.book.fill_resting(id, Qty(q), now, &mut self.sink);
            } else {
                self.book.reduce_resting(id, Qty(q), &mut self.sink);
            }
            qty -= q;
        }
        self.drain(now);
    }

    /// Applies one real message, then reconciles the reference's visible range with `row`.
    pub fn apply(&mut self, m: &LobsterMessage, row: &BookRow) {
        self.stats.messages += 1;
        self.pre_mid = self.real_mid();
        let now = m.time_ns;
        let id = m.order_id;
        match m.event {
            EventType::Submit => self.place_real(id, m.side, m.price, m.size, now),
            EventType::Cancel | EventType::Delete | EventType::ExecuteVisible => {
                let exec = m.event == EventType::ExecuteVisible;
                let passive = if exec {
                    self.passive_fills(m.side, m.price, m.size)
                } else {
                    Vec::new()
                };
                let known = if is_synth(id) || is_ours(id) {
                    None
                } else {
                    self.book.order(OrderId(id))
                };
                match known {
                    Some(o) => {
                        let avail = o.leaves.0;
                        if m.event == EventType::Delete {
                            let c = CancelOrder {
                                order_id: OrderId(id),
                                account: AccountId(0),
                                instrument: InstrumentId(0),
                            };
                            self.book.cancel(&c, now, &mut self.sink);
                            if let Some(t) = self.taken_from.remove(&id) {
                                dec(&mut self.taken_level, (o.side, o.price.0), t);
                            }
                        } else {
                            let applied = if exec { o.visible.0 } else { avail }.min(m.size);
                            if applied > 0 {
                                if exec {
                                    self.book.fill_resting(
                                        OrderId(id),
                                        Qty(applied),
                                        now,
                                        &mut self.sink,
                                    );
                                } else {
                                    self.book.reduce_resting(
                                        OrderId(id),
                                        Qty(applied),
                                        &mut self.sink,
                                    );
                                }
                            }
                            let excess = m.size - applied;
                            if excess > 0
                                && let Some(t) = self.taken_from.get_mut(&id)
                            {
                                let d = (*t).min(excess);
                                *t -= d;
                                dec(&mut self.taken_level, (o.side, o.price.0), d);
                                self.stats.ignored_taken += 1;
                            }
                        }
                    }
                    None => {
                        if let Some(t) = self.taken_from.get_mut(&id) {
                            // A real order we consumed entirely: the message is ignored.
                            let d = if m.event == EventType::Delete {
                                *t
                            } else {
                                (*t).min(m.size)
                            };
                            *t -= d;
                            if *t == 0 {
                                self.taken_from.remove(&id);
                            }
                            dec(&mut self.taken_level, (m.side, m.price), d);
                            self.stats.ignored_taken += 1;
                        } else {
                            self.stats.unknown_refs += 1;
                            let k = (m.side, m.price);
                            let absorbed = dec(&mut self.taken_synth, k, m.size);
                            if absorbed > 0 {
                                dec(&mut self.taken_level, k, absorbed);
                                self.stats.ignored_taken += 1;
                            }
                            self.consume_unknown(m.side, m.price, m.size - absorbed, exec, now);
                        }
                    }
                }
                for (oid, q) in passive {
                    if self.book.order(OrderId(oid)).is_some() {
                        self.book
                            .fill_resting(OrderId(oid), Qty(q), now, &mut self.sink);
                    }
                }
                self.drain(now);
            }
            EventType::ExecuteHidden | EventType::Cross | EventType::Halt => {}
        }
        self.reconcile(row, now);
    }

    /// Sets the real quantity of every price in the reference's visible range to the reference's
    /// size minus what we took there (the crate docs).
    fn reconcile(&mut self, row: &BookRow, now: u64) {
        let n = self.levels;
        for side in [Side::Sell, Side::Buy] {
            let reference = row.side(side);
            let edge = if reference.len() >= n {
                reference.get(n - 1).map(|l| l.price)
            } else {
                None
            };
            for l in reference {
                let target = l
                    .size
                    .saturating_sub(self.taken_level.get(&(side, l.price)).copied().unwrap_or(0));
                self.set_real(side, l.price, target, now);
            }
            let mut buf = std::mem::take(&mut self.lvl_buf);
            buf.clear();
            self.book.for_each_level(side, |l| buf.push(l));
            for l in &buf {
                let p = l.price.0;
                let in_range = match edge {
                    None => true,
                    Some(e) => better_or_equal(side, p, e),
                };
                if !in_range {
                    break;
                }
                if !reference.iter().any(|r| r.price == p) {
                    self.taken_level.remove(&(side, p));
                    self.taken_synth.remove(&(side, p));
                    self.set_real(side, p, 0, now);
                }
            }
            self.lvl_buf = buf;
        }
    }

    fn set_real(&mut self, side: Side, price: i64, target: u64, now: u64) {
        let cur = self.real_qty(side, price);
        if cur == target {
            return;
        }
        self.stats.reseeded_lots += cur.abs_diff(target);
        if target > cur {
            self.synth(side, price, target - cur, now);
            return;
        }
        // Surplus: remove real lots from the back of the queue (newest first).
        let mut v = Vec::new();
        self.book.for_each_order_in_level(side, Price(price), |o| {
            if !is_ours(o.order_id.0) {
                v.push((o.order_id, o.leaves.0));
            }
        });
        let mut excess = cur - target;
        for (id, leaves) in v.into_iter().rev() {
            if excess == 0 {
                break;
            }
            let q = leaves.min(excess);
            self.book.reduce_resting(id, Qty(q), &mut self.sink);
            excess -= q;
        }
    }
}
