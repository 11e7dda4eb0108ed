//! The simulated market: a [`Book`] driven by the normalised events of a [`MarketData`] (LOBSTER,
//! ITCH or Binance), holding the real resting orders and our child orders side by side (see the
//! crate docs for the exact fill rule and the queue models).

use std::collections::HashMap;

use ferrex_book::{Book, BookConfig, LevelView};
use ferrex_replay::lobster::BookRow;
use ferrex_replay::lobster_replay::{LobsterReplayConfig, SYNTHETIC_ID_BASE};
use ferrex_types::{
    AccountId, CancelOrder, EventKind, EventKindSink, InstrumentId, NewOrder, OrdType, OrderId,
    Price, Qty, Side, StpMode, TimeInForce,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ExecError;
use crate::source::{MarketData, MarketEvent, TimedEvent};

/// Our account (distinct from the replay's account 0).
pub const OUR_ACCOUNT: AccountId = AccountId(0xEEEE_0001);
/// Our child orders get ids `OUR_ID_BASE + tag`: above LOBSTER ids, below the synthetic range.
pub const OUR_ID_BASE: u64 = 1 << 61;

/// How our passive orders advance in the queue (see the crate docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QueueModel {
    /// Order-level data: our order sits in the real FIFO; only the orders really ahead of it
    /// (executed or cancelled) advance it.
    #[default]
    Exact,
    /// Level data: we join behind all displayed quantity; only trades at our price advance us;
    /// a level decrease that is not a trade is taken from behind us (never advances us), except
    /// what the level no longer holds.
    Conservative,
    /// Level data: as conservative for trades; a level decrease that is not a trade is taken
    /// from ahead of us with probability `ahead / (ahead + behind)` (one draw per decrease,
    /// ChaCha8 seeded with `seed`: deterministic per seed), else from behind us.
    Probabilistic {
        /// RNG seed.
        seed: u64,
    },
}

impl QueueModel {
    /// `"exact"`, `"conservative"` or `"probabilistic"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            QueueModel::Exact => "exact",
            QueueModel::Conservative => "conservative",
            QueueModel::Probabilistic { .. } => "probabilistic",
        }
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
    /// Level data: level decreases (not trades) at a level holding our order.
    pub cancels_at_our_level: u64,
    /// Level data: of those, the ones taken from ahead of us (probabilistic model).
    pub cancels_ahead: u64,
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
    queue: QueueModel,
    rng: ChaCha8Rng,
    /// Level data: the displayed size of every level as the data shows it.
    ref_levels: HashMap<(Side, i64), u64>,
    /// Level data: lots traded at a level since its last level update.
    traded_since: HashMap<(Side, i64), u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ref {
    Cancel,
    Delete,
    Execute,
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

    /// A market with the exact queue model (order-level data; see [`SimMarket::with_queue`]).
    pub fn new(data: &MarketData, cfg: BookConfig) -> Result<SimMarket, ExecError> {
        SimMarket::with_queue(data, cfg, QueueModel::Exact)
    }

    /// A market for `data` with a queue model. With reference rows (LOBSTER) the book is seeded
    /// from the first message and row (as `ferrex-replay` seeds) and replay continues with event
    /// 1; otherwise the book starts empty and replay starts with event 0 ([`SimMarket::first_event`]).
    /// Level data needs the conservative or probabilistic model, order-level data the exact one
    /// (convert it with [`MarketData::to_level_data`] first).
    pub fn with_queue(
        data: &MarketData,
        cfg: BookConfig,
        queue: QueueModel,
    ) -> Result<SimMarket, ExecError> {
        match (data.level_data, queue) {
            (true, QueueModel::Exact) => {
                return Err(ExecError::Invalid(
                    "level data has no order queue: use the conservative or probabilistic queue model".into(),
                ));
            }
            (false, QueueModel::Conservative | QueueModel::Probabilistic { .. }) => {
                return Err(ExecError::Invalid(
                    "order-level data: convert it to level data (MarketData::to_level_data) for this queue model".into(),
                ));
            }
            _ => {}
        }
        if data.events.is_empty() {
            return Err(ExecError::Empty);
        }
        let book = Book::new(InstrumentId(0), cfg).map_err(|e| ExecError::Book(format!("{e}")))?;
        let seed = match queue {
            QueueModel::Probabilistic { seed } => seed,
            _ => 0,
        };
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
            queue,
            rng: ChaCha8Rng::seed_from_u64(seed),
            ref_levels: HashMap::new(),
            traded_since: HashMap::new(),
        };
        if let (Some(first), Some(row)) = (data.events.first(), data.rows.first()) {
            let own = match first.ev {
                MarketEvent::Add {
                    id,
                    side,
                    price,
                    qty,
                } => Some((id, side, price, qty)),
                _ => None,
            };
            for side in [Side::Sell, Side::Buy] {
                for l in row.side(side) {
                    match own {
                        Some((id, s, p, q)) if s == side && p == l.price && q <= l.size => {
                            m.synth(side, l.price, l.size - q, first.time_ns);
                            m.place_real(id, side, l.price, q, first.time_ns);
                        }
                        _ => m.synth(side, l.price, l.size, first.time_ns),
                    }
                }
            }
            m.stats.messages = 1;
            m.sink.trades.clear();
        }
        Ok(m)
    }

    /// Index of the first event to replay after construction (1 when seeded from rows, else 0).
    pub fn first_event(data: &MarketData) -> usize {
        usize::from(!data.rows.is_empty())
    }

    /// The queue model.
    pub fn queue_model(&self) -> QueueModel {
        self.queue
    }

    /// Applies event `i` of `data` (with its reference row when the data has rows).
    pub fn step(&mut self, data: &MarketData, i: usize) {
        if let Some(e) = data.events.get(i) {
            self.apply(e, data.rows.get(i));
        }
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
        // price, visible lots queued ahead (strictly increasing along a level's queue), id
        let mut mine: Vec<(i64, u64, u64)> = Vec::new();
        for (&id, o) in &self.ours {
            if o.side == side
                && better_or_equal(side, o.price, price)
                && let Some(ahead) = self.book.queue_ahead(OrderId(id))
            {
                mine.push((o.price, ahead.0, id));
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

    /// Applies one real event, then (LOBSTER) reconciles the reference's visible range with `row`.
    pub fn apply(&mut self, e: &TimedEvent, row: Option<&BookRow>) {
        self.stats.messages += 1;
        self.pre_mid = self.real_mid();
        let now = e.time_ns;
        match e.ev {
            MarketEvent::Add {
                id,
                side,
                price,
                qty,
            } => self.place_real(id, side, price, qty, now),
            MarketEvent::Reduce {
                id,
                side,
                price,
                qty,
            } => self.apply_ref(Ref::Cancel, id, side, price, qty, now),
            MarketEvent::Delete {
                id,
                side,
                price,
                qty,
            } => self.apply_ref(Ref::Delete, id, side, price, qty, now),
            MarketEvent::Execute {
                id,
                side,
                price,
                qty,
            } => self.apply_ref(Ref::Execute, id, side, price, qty, now),
            MarketEvent::Level { side, price, qty } => self.apply_level(side, price, qty, now),
            MarketEvent::Trade { side, price, qty } => self.apply_trade(side, price, qty, now),
            MarketEvent::Hidden { .. } | MarketEvent::Other => {}
        }
        if let Some(row) = row {
            self.reconcile(row, now);
        }
    }

    /// A cancel, delete or execution naming real order `id` (LOBSTER types 2/3/4, ITCH X/D/E/C).
    fn apply_ref(&mut self, kind: Ref, id: u64, side: Side, price: i64, size: u64, now: u64) {
        let exec = kind == Ref::Execute;
        let passive = if exec {
            self.passive_fills(side, price, size)
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
                if kind == Ref::Delete {
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
                    let applied = if exec { o.visible.0 } else { avail }.min(size);
                    if applied > 0 {
                        if exec {
                            self.book
                                .fill_resting(OrderId(id), Qty(applied), now, &mut self.sink);
                        } else {
                            self.book
                                .reduce_resting(OrderId(id), Qty(applied), &mut self.sink);
                        }
                    }
                    let excess = size - applied;
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
                    let d = if kind == Ref::Delete {
                        *t
                    } else {
                        (*t).min(size)
                    };
                    *t -= d;
                    if *t == 0 {
                        self.taken_from.remove(&id);
                    }
                    dec(&mut self.taken_level, (side, price), d);
                    self.stats.ignored_taken += 1;
                } else {
                    self.stats.unknown_refs += 1;
                    let k = (side, price);
                    let absorbed = dec(&mut self.taken_synth, k, size);
                    if absorbed > 0 {
                        dec(&mut self.taken_level, k, absorbed);
                        self.stats.ignored_taken += 1;
                    }
                    self.consume_unknown(side, price, size - absorbed, exec, now);
                }
            }
        }
        self.fill_passive(passive, now);
    }

    fn fill_passive(&mut self, passive: Vec<(u64, u64)>, now: u64) {
        for (oid, q) in passive {
            if self.book.order(OrderId(oid)).is_some() {
                self.book
                    .fill_resting(OrderId(oid), Qty(q), now, &mut self.sink);
            }
        }
        self.drain(now);
    }

    /// Level data: a trade of `qty` at (side, price). Our orders there (or at a better price)
    /// fill as with an order-level execution (`min(visible, remaining − ahead)`); then `qty` real
    /// lots from the front of the level move behind us (the level's size is the depth stream's
    /// to change: the trade only advances our queue position).
    fn apply_trade(&mut self, side: Side, price: i64, qty: u64, now: u64) {
        let passive = self.passive_fills(side, price, qty);
        *self.traded_since.entry((side, price)).or_default() += qty;
        if self.has_ours_at(side, price) {
            let moved = self.take_real(side, price, qty, true);
            if moved > 0 {
                self.synth(side, price, moved, now);
            }
        }
        self.fill_passive(passive, now);
    }

    /// Level data: the data shows `qty` at (side, price). The lots we took there are deducted
    /// (a decrease of the shown size first consumes them); the real quantity is then set with the
    /// queue model deciding where a decrease is taken from.
    fn apply_level(&mut self, side: Side, price: i64, qty: u64, now: u64) {
        let k = (side, price);
        let prev = if qty == 0 {
            self.ref_levels.remove(&k).unwrap_or(0)
        } else {
            self.ref_levels.insert(k, qty).unwrap_or(0)
        };
        if qty < prev {
            dec(&mut self.taken_level, k, prev - qty);
        }
        if qty == 0 {
            self.taken_level.remove(&k);
        }
        let target = qty.saturating_sub(self.taken_level.get(&k).copied().unwrap_or(0));
        let cur = self.real_qty(side, price);
        let traded = self.traded_since.remove(&k).unwrap_or(0);
        if !self.has_ours_at(side, price) {
            // Nobody of ours here: one synthetic order holds the level.
            if cur != target {
                let v = self.real_orders(side, price);
                for (id, leaves) in v {
                    self.book.reduce_resting(id, Qty(leaves), &mut self.sink);
                }
                self.synth(side, price, target, now);
            }
            return;
        }
        if target >= cur {
            if target > cur {
                self.synth(side, price, target - cur, now);
            }
            return;
        }
        let dec_total = cur - target;
        // The traded part was moved behind us by the trades: it leaves from the back.
        let trade_part = dec_total.min(traded);
        let cancel_part = dec_total - trade_part;
        self.take_real(side, price, trade_part, false);
        if cancel_part > 0 {
            self.stats.cancels_at_our_level += 1;
            let front = match self.queue {
                QueueModel::Probabilistic { .. } => {
                    let ahead = self.first_ours_ahead(side, price);
                    let total = self.real_qty(side, price);
                    let p = if total > 0 {
                        ahead as f64 / total as f64
                    } else {
                        0.0
                    };
                    self.rng.random::<f64>() < p
                }
                _ => false,
            };
            if front {
                self.stats.cancels_ahead += 1;
            }
            self.take_real(side, price, cancel_part, front);
        }
    }

    fn has_ours_at(&self, side: Side, price: i64) -> bool {
        self.ours
            .values()
            .any(|o| o.side == side && o.price == price)
    }

    /// Real orders at a level in FIFO order: (id, leaves).
    fn real_orders(&self, side: Side, price: i64) -> Vec<(OrderId, u64)> {
        let mut v = Vec::new();
        self.book.for_each_order_in_level(side, Price(price), |o| {
            if !is_ours(o.order_id.0) {
                v.push((o.order_id, o.leaves.0));
            }
        });
        v
    }

    /// Visible real lots queued ahead of our first order at the level.
    fn first_ours_ahead(&self, side: Side, price: i64) -> u64 {
        let mut ahead = 0;
        let mut found = false;
        self.book.for_each_order_in_level(side, Price(price), |o| {
            if found {
                return;
            }
            if is_ours(o.order_id.0) {
                found = true;
            } else {
                ahead += o.visible.0;
            }
        });
        ahead
    }

    /// Removes up to `qty` real lots at a level, from the front (oldest first) or the back;
    /// returns the lots removed. Our orders are never touched.
    fn take_real(&mut self, side: Side, price: i64, qty: u64, front: bool) -> u64 {
        let mut v = self.real_orders(side, price);
        if !front {
            v.reverse();
        }
        let mut left = qty;
        for (id, leaves) in v {
            if left == 0 {
                break;
            }
            let q = leaves.min(left);
            self.book.reduce_resting(id, Qty(q), &mut self.sink);
            left -= q;
        }
        qty - left
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
