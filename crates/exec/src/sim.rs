//! The simulation driver, latency model, fees and metrics.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use std::collections::{HashSet, VecDeque};

use ferrex_book::BookConfig;
use ferrex_types::Side;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ExecError;
use crate::algo::{Algo, ChildAction, ChildPrice, MarketState, OpenChild, ParentOrder};
use crate::market::{Fill, MarketStats, QueueModel, SimMarket};
use crate::source::MarketData;

/// Latency model (ns).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Latency {
    /// Constant entry and market-data latency.
    Constant {
        /// Decision → order at the book.
        entry_ns: u64,
        /// Market event → seen by the algorithm.
        md_ns: u64,
    },
    /// `base + Exp(mean = jitter_ns)` for each order entry (seeded, reproducible); constant
    /// market-data latency.
    Jittered {
        /// Minimum entry latency.
        entry_ns: u64,
        /// Mean of the exponential jitter added to each entry.
        jitter_ns: u64,
        /// Market-data latency.
        md_ns: u64,
        /// RNG seed.
        seed: u64,
    },
}

impl Latency {
    /// Zero latency.
    pub const ZERO: Latency = Latency::Constant {
        entry_ns: 0,
        md_ns: 0,
    };
    fn md(&self) -> u64 {
        match *self {
            Latency::Constant { md_ns, .. } | Latency::Jittered { md_ns, .. } => md_ns,
        }
    }
    /// True when every latency is zero.
    pub fn is_zero(&self) -> bool {
        match *self {
            Latency::Constant { entry_ns, md_ns } => entry_ns == 0 && md_ns == 0,
            Latency::Jittered {
                entry_ns,
                jitter_ns,
                md_ns,
                ..
            } => entry_ns == 0 && jitter_ns == 0 && md_ns == 0,
        }
    }
}

/// Fee schedule in bps of notional; a negative maker fee is a rebate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Fees {
    /// Passive fills.
    pub maker_bps: f64,
    /// Aggressive fills.
    pub taker_bps: f64,
}

/// Simulation settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimConfig {
    /// The book.
    pub book: BookConfig,
    /// Latency.
    pub latency: Latency,
    /// Fees.
    pub fees: Fees,
    /// Algorithm decision interval (ns).
    pub tick_ns: u64,
    /// Marketable children are priced at far touch ± this many ticks.
    pub marketable_band_ticks: i64,
    /// Reversion is measured this long after completion (ns).
    pub reversion_ns: u64,
    /// Currency per price unit (LOBSTER: 1e-4 dollars) — for fees and displayed prices.
    pub price_scale: f64,
    /// Queue model of our passive orders ([`QueueModel::Exact`] for order-level data).
    pub queue: QueueModel,
    /// Acknowledgement latency (ns): the algorithm learns that a child reached the book, filled
    /// or ended only this long after it happened (separate from the entry latency).
    pub ack_ns: u64,
}

impl SimConfig {
    /// The defaults with `data`'s book configuration, price scale and matching queue model
    /// (exact for order-level data, conservative for level data).
    pub fn for_data(data: &MarketData) -> SimConfig {
        SimConfig {
            book: data.book,
            price_scale: data.price_scale,
            queue: if data.level_data {
                QueueModel::Conservative
            } else {
                QueueModel::Exact
            },
            ..SimConfig::default()
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            book: SimMarket::default_book_config(),
            latency: Latency::ZERO,
            fees: Fees::default(),
            tick_ns: 1_000_000_000,
            marketable_band_ticks: 1000,
            reversion_ns: 60_000_000_000,
            price_scale: 1e-4,
            queue: QueueModel::Exact,
            ack_ns: 0,
        }
    }
}

/// One run's measurements. Prices are in the data's price units (LOBSTER: dollars × 10000); bps
/// are signed so that positive = cost for the parent's side.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecReport {
    /// Algorithm name.
    pub algo: String,
    /// Data source (`"lobster"`, `"itch"`, `"binance"`).
    pub source: String,
    /// Queue model (`"exact"`, `"conservative"`, `"probabilistic"`).
    pub queue: String,
    /// Side.
    pub side: Side,
    /// Decision time (ns).
    pub start_ns: u64,
    /// Parent lots.
    pub qty: u64,
    /// Filled lots.
    pub filled_qty: u64,
    /// filled / qty.
    pub fill_ratio: f64,
    /// Σ pᵢqᵢ / Σ qᵢ (0 when nothing filled).
    pub avg_price: f64,
    /// P0: real mid at the decision time.
    pub arrival_price: f64,
    /// Real mid when the first child reached the book (Perold's delay reference).
    pub first_arrival_mid: f64,
    /// Real mid at the end of the horizon.
    pub end_mid: f64,
    /// s·(avg − P0)/P0·1e4.
    pub slippage_bps: f64,
    /// Implementation shortfall, bps of Q·P0: delay + trading + opportunity + fees.
    pub shortfall_bps: f64,
    /// s·X·(Pd − P0)/(Q·P0)·1e4.
    pub delay_bps: f64,
    /// s·Σqᵢ(pᵢ − Pd)/(Q·P0)·1e4.
    pub trading_bps: f64,
    /// s·(Q − X)·(P_end − P0)/(Q·P0)·1e4.
    pub opportunity_bps: f64,
    /// fees/(Q·P0·scale)·1e4.
    pub fees_bps: f64,
    /// Fees paid (currency; negative = net rebate).
    pub fees: f64,
    /// Market VWAP over [start, end] of the data's executions and trades (ours excluded).
    pub market_vwap: f64,
    /// Time-weighted real mid over [start, end].
    pub market_twap: f64,
    /// s·(avg − VWAP)/VWAP·1e4.
    pub vwap_slippage_bps: f64,
    /// s·(avg − TWAP)/TWAP·1e4.
    pub twap_slippage_bps: f64,
    /// Quantity-weighted 2·s·(pᵢ − midᵢ)/midᵢ·1e4, midᵢ the real mid just before fill i.
    pub effective_spread_bps: f64,
    /// s·(mid(T_c) − P0)/P0·1e4, T_c = last fill if complete, else the end of the horizon.
    pub impact_bps: f64,
    /// s·(mid(T_c) − mid(T_c + R))/P0·1e4 (positive = the price came back).
    pub reversion_bps: f64,
    /// slippage at the configured latency − slippage of the same run at zero latency (bps);
    /// filled in by [`simulate_with_latency_cost`].
    pub latency_slippage_bps: f64,
    /// shortfall at the configured latency − shortfall of the same run at zero latency (bps).
    pub latency_shortfall_bps: f64,
    /// Why `filled_qty < qty` (empty when complete): lots never sent, lots of marketable
    /// children that found no liquidity within the band or limit, lots still resting at the end.
    pub unfilled_reason: String,
    /// Lots of marketable (IOC) children that did not fill.
    pub ioc_unfilled_lots: u64,
    /// Lots of our children still resting when the horizon ended (cancelled then).
    pub resting_at_end_lots: u64,
    /// Lots sent in children (arrived at the book).
    pub sent_lots: u64,
    /// Children sent.
    pub children: u64,
    /// Our fills.
    pub fills: Vec<Fill>,
    /// Real mid after each message in [start, end + reversion] (time ns, mid), for plots.
    pub mid_series: Vec<(u64, f64)>,
    /// Cumulative market VWAP since start after each execution in [start, end] (time ns, VWAP).
    pub vwap_series: Vec<(u64, f64)>,
    /// Market counters.
    pub market: MarketStats,
}

struct Snap {
    time: u64,
    bid: Option<i64>,
    ask: Option<i64>,
    cum_vol: u64,
}

fn mid_of(s: &Snap) -> Option<f64> {
    Some((s.bid? as f64 + s.ask? as f64) / 2.0)
}

struct History {
    snaps: Vec<Snap>,
}

impl History {
    fn at(&self, t: u64) -> Option<&Snap> {
        let i = self.snaps.partition_point(|s| s.time <= t);
        if i == 0 {
            None
        } else {
            Some(&self.snaps[i - 1])
        }
    }
    /// Last known mid at or before `t`.
    fn mid_at(&self, t: u64) -> f64 {
        let i = self.snaps.partition_point(|s| s.time <= t);
        self.snaps[..i]
            .iter()
            .rev()
            .find_map(mid_of)
            .unwrap_or(f64::NAN)
    }
}

struct Pending {
    action: ChildAction,
}

/// What the algorithm learns, `ack_ns` after it happened.
enum Report {
    /// Child `tag` reached the book at this price.
    Ack { tag: u64, price: i64 },
    /// A fill.
    Fill(Fill),
    /// Child `tag` is no longer in the book (filled, IOC remainder cancelled, or cancelled).
    Gone { tag: u64 },
}

/// Runs one parent order through the market with `algo`.
///
/// The market is `data` replayed with `cfg.queue` (order-level data needs
/// [`QueueModel::Exact`], level data one of the two level models: see
/// [`MarketData::to_level_data`]).
pub fn simulate(
    data: &MarketData,
    cfg: &SimConfig,
    parent: &ParentOrder,
    algo: &mut dyn Algo,
) -> Result<ExecReport, ExecError> {
    if parent.qty == 0 {
        return Err(ExecError::Invalid("qty must be > 0".into()));
    }
    let mut mkt = SimMarket::with_queue(data, cfg.book, cfg.queue)?;
    let tick = cfg.book.tick_size;
    let md = cfg.latency.md();
    let ack = cfg.ack_ns;
    let mut rng = match cfg.latency {
        Latency::Jittered { seed, .. } => ChaCha8Rng::seed_from_u64(seed),
        Latency::Constant { .. } => ChaCha8Rng::seed_from_u64(0),
    };
    let entry_lat = |rng: &mut ChaCha8Rng| -> u64 {
        match cfg.latency {
            Latency::Constant { entry_ns, .. } => entry_ns,
            Latency::Jittered {
                entry_ns,
                jitter_ns,
                ..
            } => {
                let u: f64 = rng.random::<f64>();
                entry_ns + (-(1.0 - u).ln() * jitter_ns as f64) as u64
            }
        }
    };
    let start = parent.start_ns;
    let end = parent.end_ns();
    let stop = end.saturating_add(cfg.reversion_ns);
    let sign = match parent.side {
        Side::Buy => 1.0,
        Side::Sell => -1.0,
    };

    let mut hist = History { snaps: Vec::new() };
    let mut cum_vol: u64 = 0;
    let (mut vwap_pq, mut vwap_q) = (0.0f64, 0u64);
    let snap = |mkt: &SimMarket, t: u64, cum_vol: u64| Snap {
        time: t,
        bid: mkt.real_best(Side::Buy),
        ask: mkt.real_best(Side::Sell),
        cum_vol,
    };
    let events = &data.events;
    hist.snaps.push(snap(&mkt, events[0].time_ns, 0));

    let mut i = SimMarket::first_event(data);
    let n = events.len();
    // Warm up: the market before the decision time.
    while i < n && events[i].time_ns <= start {
        if let Some((_, q)) = events[i].ev.traded() {
            cum_vol += q;
        }
        mkt.step(data, i);
        i += 1;
    }
    hist.snaps.push(snap(&mkt, start, cum_vol));
    let vol_at_start = cum_vol;
    // P0: the real mid at the decision time, before any child of ours.
    let p0 = hist.mid_at(start);
    let mut pd: Option<f64> = None;

    let mut mid_series: Vec<(u64, f64)> = Vec::new();
    let mut vwap_series: Vec<(u64, f64)> = Vec::new();
    if let Some(x) = hist.snaps.last().and_then(mid_of) {
        mid_series.push((start, x));
    }
    let mut heap: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
    let mut pending: Vec<Option<Pending>> = Vec::new();
    // The algorithm's view: its open children and acknowledged fills.
    let mut open: Vec<OpenChild> = Vec::new();
    let mut filled_view: u64 = 0;
    // The truth.
    let mut filled: u64 = 0;
    let mut fills_seen = 0usize;
    let mut children = 0u64;
    let mut sent_lots = 0u64;
    let mut ioc_unfilled = 0u64;
    let mut resting_at_end = 0u64;
    let mut done_at: Option<u64> = None;
    let mut live: HashSet<u64> = HashSet::new();
    let mut reports: VecDeque<(u64, Report)> = VecDeque::new();

    let state_at = |now: u64, hist: &History, open: &[OpenChild], filled: u64| {
        let seen = now.saturating_sub(md);
        let s = hist.at(seen);
        MarketState {
            now,
            best_bid: s.and_then(|s| s.bid),
            best_ask: s.and_then(|s| s.ask),
            market_volume: s.map_or(0, |s| s.cum_vol.saturating_sub(vol_at_start)),
            filled,
            remaining: parent.qty.saturating_sub(filled),
            open: open.to_vec(),
            tick,
        }
    };

    let schedule = |actions: Vec<ChildAction>,
                    now: u64,
                    rng: &mut ChaCha8Rng,
                    heap: &mut BinaryHeap<_>,
                    pending: &mut Vec<Option<Pending>>,
                    open: &mut Vec<OpenChild>| {
        for a in actions {
            let at = now + entry_lat(rng);
            if let ChildAction::Place {
                tag, price, qty, ..
            } = a
            {
                open.push(OpenChild {
                    tag,
                    price: match price {
                        ChildPrice::Limit(p) => p,
                        ChildPrice::Marketable => 0,
                    },
                    leaves: qty,
                    arrived: false,
                });
            }
            heap.push(Reverse((at, pending.len() as u64)));
            pending.push(Some(Pending { action: a }));
        }
    };

    let st = state_at(start, &hist, &open, filled_view);
    let acts = algo.on_start(parent, &st);
    schedule(acts, start, &mut rng, &mut heap, &mut pending, &mut open);
    let mut next_tick = start + cfg.tick_ns.max(1);
    let mut active = true;

    loop {
        let t_msg = if i < n { events[i].time_ns } else { u64::MAX };
        let t_act = heap.peek().map_or(u64::MAX, |r| r.0.0);
        let t_tick = if active { next_tick.min(end) } else { u64::MAX };
        let t = t_msg.min(t_act).min(t_tick);
        if t == u64::MAX || (t > stop && !active) {
            break;
        }
        // Deliver what the algorithm may know by now.
        while let Some((due, _)) = reports.front() {
            if *due > t {
                break;
            }
            let Some((_, r)) = reports.pop_front() else {
                break;
            };
            match r {
                Report::Ack { tag, price } => {
                    if let Some(o) = open.iter_mut().find(|o| o.tag == tag) {
                        o.arrived = true;
                        o.price = price;
                    }
                }
                Report::Fill(f) => {
                    filled_view += f.qty;
                    if let Some(o) = open.iter_mut().find(|o| o.tag == f.tag) {
                        o.leaves = o.leaves.saturating_sub(f.qty);
                    }
                    algo.on_fill(&f);
                }
                Report::Gone { tag } => open.retain(|o| o.tag != tag),
            }
        }
        if t_msg == t && t_msg <= stop {
            let e = &events[i];
            if let Some((p, q)) = e.ev.traded() {
                cum_vol += q;
                if e.time_ns >= start && e.time_ns <= end {
                    vwap_pq += p as f64 * q as f64;
                    vwap_q += q;
                    vwap_series.push((t, vwap_pq / vwap_q as f64));
                }
            }
            mkt.step(data, i);
            i += 1;
            let sn = snap(&mkt, t, cum_vol);
            if let Some(x) = mid_of(&sn) {
                mid_series.push((t, x));
            }
            hist.snaps.push(sn);
        } else if t_msg == t {
            break;
        } else if t_act == t {
            let Some(Reverse((at, k))) = heap.pop() else {
                break;
            };
            let Some(p) = pending.get_mut(k as usize).and_then(Option::take) else {
                continue;
            };
            if !active {
                continue;
            }
            match p.action {
                ChildAction::Place {
                    tag,
                    price,
                    qty,
                    display,
                } => {
                    children += 1;
                    if pd.is_none() {
                        pd = Some(mkt.real_mid().unwrap_or_else(|| hist.mid_at(at)));
                    }
                    let (px, ioc) = match price {
                        ChildPrice::Limit(px) => (px, false),
                        ChildPrice::Marketable => {
                            let far = match parent.side {
                                Side::Buy => mkt.book().best_ask(),
                                Side::Sell => mkt.book().best_bid(),
                            };
                            let band = cfg.marketable_band_ticks * tick;
                            let px = match (far, parent.side) {
                                (Some(p), Side::Buy) => p.0 + band,
                                (Some(p), Side::Sell) => p.0 - band,
                                (None, _) => 0,
                            };
                            (px, true)
                        }
                    };
                    let px = match (parent.limit, parent.side) {
                        (Some(l), Side::Buy) => px.min(l.0),
                        (Some(l), Side::Sell) => px.max(l.0),
                        (None, _) => px,
                    };
                    let px = px.clamp(cfg.book.min_price.0, cfg.book.max_price.0);
                    let px = px - px.rem_euclid(tick);
                    sent_lots += qty;
                    let before = mkt.fills().len();
                    if px > 0 {
                        mkt.submit_ours(tag, parent.side, px, qty, display, ioc, at);
                    }
                    reports.push_back((at + ack, Report::Ack { tag, price: px }));
                    live.insert(tag);
                    if ioc {
                        let got: u64 = mkt.fills()[before..]
                            .iter()
                            .filter(|f| f.tag == tag)
                            .map(|f| f.qty)
                            .sum();
                        ioc_unfilled += qty.saturating_sub(got);
                    }
                }
                ChildAction::Cancel { tag } => mkt.cancel_ours(tag, at),
            }
            // Our order may have changed the real book (liquidity taken).
            let sn = snap(&mkt, at, cum_vol);
            if let Some(x) = mid_of(&sn) {
                mid_series.push((at, x));
            }
            hist.snaps.push(sn);
        } else {
            // tick
            if t >= end {
                active = false;
                for &tag in &live {
                    if let Some((_, leaves, _)) = mkt.our_order(tag) {
                        resting_at_end += leaves;
                    }
                }
                mkt.cancel_all_ours(t);
                open.clear();
                live.clear();
                continue;
            }
            let st = state_at(t, &hist, &open, filled_view);
            let acts = algo.on_tick(t, &st);
            schedule(acts, t, &mut rng, &mut heap, &mut pending, &mut open);
            next_tick += cfg.tick_ns.max(1);
        }
        // New fills and ended children: reported to the algorithm after the ack latency.
        let fills = mkt.fills();
        if fills.len() > fills_seen {
            for f in &fills[fills_seen..] {
                filled += f.qty;
                reports.push_back((f.time + ack, Report::Fill(*f)));
                if filled >= parent.qty && done_at.is_none() {
                    done_at = Some(f.time);
                }
            }
            fills_seen = fills.len();
        }
        if !live.is_empty() {
            let mut gone: Vec<u64> = live
                .iter()
                .copied()
                .filter(|&tag| mkt.our_order(tag).is_none())
                .collect();
            gone.sort_unstable();
            for tag in gone {
                live.remove(&tag);
                reports.push_back((t + ack, Report::Gone { tag }));
            }
        }
        if active && filled >= parent.qty {
            active = false;
            mkt.cancel_all_ours(t);
            open.clear();
            live.clear();
        }
    }

    // ---- metrics
    let q = parent.qty as f64;
    let x = filled as f64;
    let fills = mkt.fills().to_vec();
    let pd = pd.unwrap_or(p0);
    let pend = hist.mid_at(end);
    let tc = done_at.unwrap_or(end);
    let (pq, fee) = fills.iter().fold((0.0, 0.0), |(pq, fee), f| {
        let notional = f.price as f64 * f.qty as f64 * cfg.price_scale;
        let bps = if f.aggressive {
            cfg.fees.taker_bps
        } else {
            cfg.fees.maker_bps
        };
        (
            pq + f.price as f64 * f.qty as f64,
            fee + notional * bps / 1e4,
        )
    });
    let avg = if filled > 0 { pq / x } else { 0.0 };
    let paper = q * p0;
    let bps = |v: f64| if paper > 0.0 { v / paper * 1e4 } else { 0.0 };
    let delay = sign * x * (pd - p0);
    let trading = sign * (pq - x * pd);
    let opportunity = sign * (q - x) * (pend - p0);
    let fees_units = fee / cfg.price_scale;
    let vwap = if vwap_q > 0 {
        vwap_pq / vwap_q as f64
    } else {
        f64::NAN
    };
    let twap = time_weighted_mid(&hist, start, end);
    let rel = |a: f64, b: f64| {
        if filled > 0 && b.is_finite() && b > 0.0 {
            sign * (a - b) / b * 1e4
        } else {
            0.0
        }
    };
    let (mut es_num, mut es_q) = (0.0, 0.0);
    for f in &fills {
        if let Some(m) = f.mid_before {
            es_num += 2.0 * sign * (f.price as f64 - m) / m * 1e4 * f.qty as f64;
            es_q += f.qty as f64;
        }
    }
    let unfilled = parent.qty.saturating_sub(filled);
    let unfilled_reason = if unfilled == 0 {
        String::new()
    } else {
        format!(
            "{unfilled} lots unfilled: {} never sent by the algorithm, {ioc_unfilled} of marketable children found no liquidity within the band or limit, {resting_at_end} still queued when the horizon ended",
            parent.qty.saturating_sub(sent_lots)
        )
    };
    let mid_tc = hist.mid_at(tc);
    let mid_rev = hist.mid_at(tc.saturating_add(cfg.reversion_ns));
    Ok(ExecReport {
        algo: algo.name().to_string(),
        source: data.source.as_str().to_string(),
        queue: cfg.queue.as_str().to_string(),
        latency_shortfall_bps: 0.0,
        unfilled_reason,
        ioc_unfilled_lots: ioc_unfilled,
        resting_at_end_lots: resting_at_end,
        sent_lots,
        side: parent.side,
        start_ns: parent.start_ns,
        qty: parent.qty,
        filled_qty: filled,
        fill_ratio: x / q,
        avg_price: avg,
        arrival_price: p0,
        first_arrival_mid: pd,
        end_mid: pend,
        slippage_bps: rel(avg, p0),
        shortfall_bps: bps(delay + trading + opportunity + fees_units),
        delay_bps: bps(delay),
        trading_bps: bps(trading),
        opportunity_bps: bps(opportunity),
        fees_bps: bps(fees_units),
        fees: fee,
        market_vwap: vwap,
        market_twap: twap,
        vwap_slippage_bps: rel(avg, vwap),
        twap_slippage_bps: rel(avg, twap),
        effective_spread_bps: if es_q > 0.0 { es_num / es_q } else { 0.0 },
        impact_bps: sign * (mid_tc - p0) / p0 * 1e4,
        reversion_bps: sign * (mid_tc - mid_rev) / p0 * 1e4,
        latency_slippage_bps: 0.0,
        children,
        fills,
        mid_series,
        vwap_series,
        market: mkt.stats(),
    })
}

fn time_weighted_mid(h: &History, start: u64, end: u64) -> f64 {
    if end <= start {
        return h.mid_at(start);
    }
    let mut t = start;
    let mut m = h.mid_at(start);
    let (mut acc, mut w) = (0.0, 0.0);
    let i0 = h.snaps.partition_point(|s| s.time <= start);
    for s in &h.snaps[i0..] {
        if s.time >= end {
            break;
        }
        if m.is_finite() {
            acc += m * (s.time - t) as f64;
            w += (s.time - t) as f64;
        }
        t = s.time;
        if let Some(x) = mid_of(s) {
            m = x;
        }
    }
    if m.is_finite() {
        acc += m * (end - t) as f64;
        w += (end - t) as f64;
    }
    if w > 0.0 { acc / w } else { f64::NAN }
}

/// Runs the order at the configured latency and at zero latency (entry, market-data and ack
/// latency all 0; same algorithm, data, queue model and seed); `latency_slippage_bps` =
/// slippage(latency) − slippage(zero latency), `latency_shortfall_bps` likewise for the shortfall.
pub fn simulate_with_latency_cost(
    data: &MarketData,
    cfg: &SimConfig,
    parent: &ParentOrder,
    make_algo: &dyn Fn() -> Box<dyn Algo>,
) -> Result<ExecReport, ExecError> {
    let mut r = simulate(data, cfg, parent, make_algo().as_mut())?;
    if !cfg.latency.is_zero() || cfg.ack_ns > 0 {
        let z = SimConfig {
            latency: Latency::ZERO,
            ack_ns: 0,
            ..*cfg
        };
        let r0 = simulate(data, &z, parent, make_algo().as_mut())?;
        r.latency_slippage_bps = r.slippage_bps - r0.slippage_bps;
        r.latency_shortfall_bps = r.shortfall_bps - r0.shortfall_bps;
    }
    Ok(r)
}

/// Summary of a cost over many runs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CostStats {
    /// Runs.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub stdev: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
}

impl CostStats {
    /// Stats of `v` (NaNs dropped).
    pub fn of(v: &[f64]) -> CostStats {
        let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        let n = v.len();
        if n == 0 {
            return CostStats::default();
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        let rank = ((0.95 * n as f64).ceil() as usize).clamp(1, n);
        CostStats {
            n,
            mean,
            stdev: var.sqrt(),
            p95: v[rank - 1],
        }
    }
}

/// Many runs at random start times.
#[derive(Clone, Debug, Default)]
pub struct MultiRun {
    /// Each run's report.
    pub runs: Vec<ExecReport>,
    /// Shortfall (bps) distribution.
    pub shortfall: CostStats,
    /// Slippage vs arrival (bps) distribution.
    pub slippage: CostStats,
}

/// `runs` runs with start times drawn uniformly (seeded) from
/// `[first message + warmup_ns, last message − horizon − reversion]`.
pub fn simulate_runs(
    data: &MarketData,
    cfg: &SimConfig,
    parent: &ParentOrder,
    make_algo: &dyn Fn() -> Box<dyn Algo>,
    runs: usize,
    seed: u64,
    warmup_ns: u64,
) -> Result<MultiRun, ExecError> {
    let (t0, t1) = data.time_range();
    let lo = t0 + warmup_ns;
    let hi = t1
        .saturating_sub(parent.horizon_ns)
        .saturating_sub(cfg.reversion_ns);
    if hi <= lo {
        return Err(ExecError::Invalid(
            "the data is too short for this horizon".into(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = MultiRun::default();
    for k in 0..runs {
        let start = rng.random_range(lo..hi);
        let p = ParentOrder {
            start_ns: start,
            ..*parent
        };
        let c = match cfg.latency {
            Latency::Jittered {
                entry_ns,
                jitter_ns,
                md_ns,
                seed,
            } => SimConfig {
                latency: Latency::Jittered {
                    entry_ns,
                    jitter_ns,
                    md_ns,
                    seed: seed.wrapping_add(k as u64),
                },
                ..*cfg
            },
            Latency::Constant { .. } => *cfg,
        };
        out.runs
            .push(simulate_with_latency_cost(data, &c, &p, make_algo)?);
    }
    let sf: Vec<f64> = out.runs.iter().map(|r| r.shortfall_bps).collect();
    let sl: Vec<f64> = out.runs.iter().map(|r| r.slippage_bps).collect();
    out.shortfall = CostStats::of(&sf);
    out.slippage = CostStats::of(&sl);
    Ok(out)
}
