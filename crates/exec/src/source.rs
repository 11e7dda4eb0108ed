//! Market sources: LOBSTER, ITCH 5.0 and Binance depth captures, all normalised into one event
//! stream ([`MarketData`]) that [`crate::SimMarket`] replays with one fill logic.
//!
//! # Events
//! - **Order-level** ([`MarketEvent::Add`], [`MarketEvent::Reduce`], [`MarketEvent::Delete`],
//!   [`MarketEvent::Execute`], [`MarketEvent::Hidden`]): LOBSTER messages (types 1–5) and ITCH
//!   `A F E C X D U P` messages of one stock locate. Each carries the order's side and price
//!   (ITCH `E/C/X/D/U` name only the order reference: the loader resolves them from the orders it
//!   has seen; a reference to an order never added in the capture is dropped and counted in
//!   [`MarketData::dropped`]). ITCH `U` becomes `Delete` + `Add` (priority lost, as in the spec);
//!   a `C` executes at the resting order's price (its print price is not used).
//! - **Level** ([`MarketEvent::Level`] = the new absolute displayed size at a price,
//!   [`MarketEvent::Trade`] = a trade against displayed liquidity at a price): Binance depth
//!   diffs (after the snapshot + diff sync of `ferrex-replay`; a gap clears the book: every level
//!   goes to 0 until the next snapshot) and the `@trade` stream. Order-level data can be turned
//!   into level data with [`MarketData::to_level_data`] to run the level queue models on it.
//!
//! # Clocks
//! LOBSTER and ITCH: ns after midnight (the data's clock). Binance: the exchange's time (depth:
//! transaction time `T`, else event time `E`; trade: trade time `T`; a snapshot without a time
//! takes the previous line's), in ns after midnight UTC of the capture's first event (a capture
//! that runs past midnight continues beyond 24:00:00). Events are stably sorted by that time,
//! trades before depth updates of the same millisecond, so a trade is applied before the depth
//! update that shows its effect (the order the exchange produced them in).

use std::collections::{BTreeMap, HashMap};

use ferrex_book::BookConfig;
use ferrex_replay::binance::{BinanceCapture, BinanceEvent, BinanceReplay, Scale, parse_line};
use ferrex_replay::itch::{ItchMessage, ItchReader, trim_alpha};
use ferrex_replay::itch_replay::ItchReplayConfig;
use ferrex_replay::lobster::{BookRow, EventType, LobsterPair};
use ferrex_replay::lobster_replay::LobsterReplayConfig;
use ferrex_types::{Price, Side};

use crate::ExecError;

/// Where the data came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Source {
    /// LOBSTER message + orderbook files (order-level, with reference rows).
    #[default]
    Lobster,
    /// NASDAQ TotalView-ITCH 5.0 (order-level).
    Itch,
    /// Binance depth snapshot + diffs and trades (level data).
    Binance,
}

impl Source {
    /// `"lobster"`, `"itch"` or `"binance"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Lobster => "lobster",
            Source::Itch => "itch",
            Source::Binance => "binance",
        }
    }
}

/// One normalised market event (prices in the data's price units, quantities in its lots).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketEvent {
    /// A new resting order.
    Add {
        /// Order id (the data's).
        id: u64,
        /// Side.
        side: Side,
        /// Price.
        price: i64,
        /// Lots.
        qty: u64,
    },
    /// A partial cancel of `qty` lots.
    Reduce {
        /// Order id.
        id: u64,
        /// Side.
        side: Side,
        /// Price.
        price: i64,
        /// Lots cancelled.
        qty: u64,
    },
    /// The whole order is deleted (`qty` = its remaining lots when known).
    Delete {
        /// Order id.
        id: u64,
        /// Side.
        side: Side,
        /// Price.
        price: i64,
        /// Lots removed.
        qty: u64,
    },
    /// A visible execution of `qty` lots of a resting order (aggressive volume at its price).
    Execute {
        /// Order id.
        id: u64,
        /// Side of the resting order.
        side: Side,
        /// Price.
        price: i64,
        /// Lots.
        qty: u64,
    },
    /// An execution against non-displayed liquidity (market volume only, never fills us).
    Hidden {
        /// Price.
        price: i64,
        /// Lots.
        qty: u64,
    },
    /// Level data: the displayed size at (side, price) is now `qty` (0 = the level is gone).
    Level {
        /// Side.
        side: Side,
        /// Price.
        price: i64,
        /// New absolute size.
        qty: u64,
    },
    /// Level data: a trade of `qty` lots against the displayed `side` at `price`.
    Trade {
        /// Side of the resting (passive) liquidity.
        side: Side,
        /// Price.
        price: i64,
        /// Lots.
        qty: u64,
    },
    /// Anything that does not change the book (halts, crosses).
    Other,
}

impl MarketEvent {
    /// `(price, lots)` of market volume this event represents (executions and trades).
    pub fn traded(&self) -> Option<(i64, u64)> {
        match *self {
            MarketEvent::Execute { price, qty, .. }
            | MarketEvent::Hidden { price, qty }
            | MarketEvent::Trade { price, qty, .. } => Some((price, qty)),
            _ => None,
        }
    }
}

/// An event with its time (ns, see the module docs for each source's clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedEvent {
    /// Time (ns).
    pub time_ns: u64,
    /// The event.
    pub ev: MarketEvent,
}

/// A market parsed once into memory (reused by every run).
#[derive(Clone, Debug)]
pub struct MarketData {
    /// The source format.
    pub source: Source,
    /// Events in replay order.
    pub events: Vec<TimedEvent>,
    /// LOBSTER only: the reference book after each event (same length as `events`); empty for
    /// other sources and for level data.
    pub rows: Vec<BookRow>,
    /// Levels per side of the reference rows (0 without rows).
    pub levels: usize,
    /// True when the events are level events (`Level`/`Trade`): only the conservative and
    /// probabilistic queue models apply.
    pub level_data: bool,
    /// Book configuration for the simulated market.
    pub book: BookConfig,
    /// Currency per price unit.
    pub price_scale: f64,
    /// Base-asset units per lot (1 share for LOBSTER/ITCH; 10^-qty_decimals for Binance).
    pub lot_scale: f64,
    /// Messages dropped while loading (ITCH references to orders never added in the capture).
    pub dropped: u64,
    /// A short description (symbol, locate, market).
    pub label: String,
}

/// Back-compatible name.
pub type LobsterData = MarketData;

fn binance_book_config() -> BookConfig {
    BookConfig {
        tick_size: 1,
        lot_size: 1,
        min_price: Price(1),
        max_price: Price(1 << 53),
        max_orders: 1 << 18,
        max_special_orders: 1 << 15,
        max_accounts: 1 << 14,
        dense_levels: 1 << 16,
        sparse_levels: 1 << 14,
        anchor: None,
        market_protection_ticks: 1000,
        level_events: false,
    }
}

impl MarketData {
    /// Parses a whole LOBSTER pair (order-level, with reference rows).
    pub fn from_pair(pair: &LobsterPair) -> Result<MarketData, ExecError> {
        let mut events = Vec::new();
        let mut rows = Vec::new();
        for r in pair.iter() {
            let (_, m, row) = r?;
            let (id, side, price, qty) = (m.order_id, m.side, m.price, m.size);
            let ev = match m.event {
                EventType::Submit => MarketEvent::Add {
                    id,
                    side,
                    price,
                    qty,
                },
                EventType::Cancel => MarketEvent::Reduce {
                    id,
                    side,
                    price,
                    qty,
                },
                EventType::Delete => MarketEvent::Delete {
                    id,
                    side,
                    price,
                    qty,
                },
                EventType::ExecuteVisible => MarketEvent::Execute {
                    id,
                    side,
                    price,
                    qty,
                },
                EventType::ExecuteHidden => MarketEvent::Hidden { price, qty },
                EventType::Cross | EventType::Halt => MarketEvent::Other,
            };
            events.push(TimedEvent {
                time_ns: m.time_ns,
                ev,
            });
            rows.push(row);
        }
        if events.is_empty() {
            return Err(ExecError::Empty);
        }
        Ok(MarketData {
            source: Source::Lobster,
            events,
            rows,
            levels: pair.levels().max(1),
            level_data: false,
            book: LobsterReplayConfig::default().book,
            price_scale: 1e-4,
            lot_scale: 1.0,
            dropped: 0,
            label: format!("LOBSTER level {}", pair.levels()),
        })
    }

    /// Loads the messages of one stock from an uncompressed ITCH 5.0 buffer: `locate`, or the
    /// locate of `symbol` (matched on `R` and `A`/`F` messages), or — with neither — the only
    /// locate that adds orders (an error if there are several).
    pub fn from_itch(
        buf: &[u8],
        locate: Option<u16>,
        symbol: Option<&str>,
    ) -> Result<MarketData, ExecError> {
        let decode = |e| ExecError::Invalid(format!("ITCH: {e}"));
        let mut want: Option<u16> = locate;
        if want.is_none() && symbol.is_none() {
            let mut seen: Vec<u16> = Vec::new();
            for r in ItchReader::new(buf) {
                let (_, m) = r.map_err(decode)?;
                if let ItchMessage::AddOrder(a) | ItchMessage::AddOrderMpid(a) = &m
                    && !seen.contains(&a.header.stock_locate)
                {
                    seen.push(a.header.stock_locate);
                }
            }
            match seen.as_slice() {
                [one] => want = Some(*one),
                [] => return Err(ExecError::Empty),
                many => {
                    return Err(ExecError::Invalid(format!(
                        "ITCH: several stock locates add orders ({many:?}): choose one with a locate or symbol"
                    )));
                }
            }
        }
        let sym = symbol.map(|s| s.trim().to_ascii_uppercase());
        let mut name = String::new();
        let mut orders: HashMap<u64, (Side, i64, u64)> = HashMap::new();
        let mut events = Vec::new();
        let mut dropped = 0u64;
        for r in ItchReader::new(buf) {
            let (_, m) = r.map_err(decode)?;
            let loc = m.stock_locate();
            if want.is_none() {
                let stock = match &m {
                    ItchMessage::StockDirectory(d) => Some(d.stock),
                    ItchMessage::AddOrder(a) | ItchMessage::AddOrderMpid(a) => Some(a.stock),
                    _ => None,
                };
                if let (Some(st), Some(s)) = (stock, &sym)
                    && trim_alpha(st) == s.as_bytes()
                {
                    want = Some(loc);
                }
            }
            if want != Some(loc) {
                continue;
            }
            let t = m.timestamp();
            let mut push = |ev| events.push(TimedEvent { time_ns: t, ev });
            match &m {
                ItchMessage::AddOrder(a) | ItchMessage::AddOrderMpid(a) => {
                    if name.is_empty() {
                        name = String::from_utf8_lossy(trim_alpha(a.stock)).into_owned();
                    }
                    let (id, side, price, qty) =
                        (a.order_ref, a.side, i64::from(a.price), u64::from(a.shares));
                    orders.insert(id, (side, price, qty));
                    push(MarketEvent::Add {
                        id,
                        side,
                        price,
                        qty,
                    });
                }
                ItchMessage::OrderExecuted(e) => {
                    exec_itch(&mut orders, e.order_ref, e.executed_shares, &mut push)
                        .unwrap_or_else(|| dropped += 1)
                }
                ItchMessage::OrderExecutedWithPrice(e) => {
                    exec_itch(&mut orders, e.order_ref, e.executed_shares, &mut push)
                        .unwrap_or_else(|| dropped += 1)
                }
                ItchMessage::OrderCancel(c) => match orders.get_mut(&c.order_ref) {
                    Some(o) => {
                        let q = u64::from(c.cancelled_shares).min(o.2);
                        o.2 -= q;
                        let (side, price) = (o.0, o.1);
                        if o.2 == 0 {
                            orders.remove(&c.order_ref);
                        }
                        push(MarketEvent::Reduce {
                            id: c.order_ref,
                            side,
                            price,
                            qty: q,
                        });
                    }
                    None => dropped += 1,
                },
                ItchMessage::OrderDelete(d) => match orders.remove(&d.order_ref) {
                    Some((side, price, qty)) => push(MarketEvent::Delete {
                        id: d.order_ref,
                        side,
                        price,
                        qty,
                    }),
                    None => dropped += 1,
                },
                ItchMessage::OrderReplace(u) => match orders.remove(&u.original_order_ref) {
                    Some((side, price, qty)) => {
                        push(MarketEvent::Delete {
                            id: u.original_order_ref,
                            side,
                            price,
                            qty,
                        });
                        let (np, nq) = (i64::from(u.price), u64::from(u.shares));
                        orders.insert(u.new_order_ref, (side, np, nq));
                        push(MarketEvent::Add {
                            id: u.new_order_ref,
                            side,
                            price: np,
                            qty: nq,
                        });
                    }
                    None => dropped += 1,
                },
                ItchMessage::Trade(p) => push(MarketEvent::Hidden {
                    price: i64::from(p.price),
                    qty: u64::from(p.shares),
                }),
                _ => {}
            }
        }
        if events.is_empty() {
            return Err(match (want, symbol) {
                (None, Some(s)) => ExecError::Invalid(format!("ITCH: no stock {s:?} in the file")),
                _ => ExecError::Empty,
            });
        }
        let loc = want.unwrap_or(0);
        Ok(MarketData {
            source: Source::Itch,
            events,
            rows: Vec::new(),
            levels: 0,
            level_data: false,
            book: ItchReplayConfig::default().book,
            price_scale: 1e-4,
            lot_scale: 1.0,
            dropped,
            label: format!("{name} (stock locate {loc})"),
        })
    }

    /// Loads a Binance capture (depth snapshot + diffs and trades) as level data.
    pub fn from_binance(cap: &BinanceCapture) -> Result<MarketData, ExecError> {
        let scale = Scale::detect(cap.text());
        let mut rep = BinanceReplay::new(scale);
        let mut shadow: [BTreeMap<i64, u64>; 2] = [BTreeMap::new(), BTreeMap::new()];
        // (time ms, rank: 0 trade / 1 depth, event)
        let mut raw: Vec<(u64, u8, MarketEvent)> = Vec::new();
        let mut last_ms = 0u64;
        let idx = |s: Side| match s {
            Side::Buy => 0,
            Side::Sell => 1,
        };
        for (i, line) in cap.text().lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let ln = i as u64 + 1;
            let parsed = parse_line(line)
                .map_err(|e| ExecError::Invalid(format!("Binance capture line {ln}: {e}")))?;
            let ms = match &parsed.event {
                BinanceEvent::DepthUpdate(d) => d.transaction_time.unwrap_or(d.event_time),
                BinanceEvent::Trade(t) => t.trade_time,
                BinanceEvent::Snapshot(s) => s.transaction_time.or(s.event_time).unwrap_or(last_ms),
                _ => last_ms,
            };
            if ms > 0 {
                last_ms = ms;
            }
            let st = rep.stats();
            let before = (st.applied, st.snapshots_applied, st.gaps.len());
            rep.feed(ln, &parsed)
                .map_err(|e| ExecError::Invalid(format!("Binance capture: {e}")))?;
            if let BinanceEvent::Trade(t) = &parsed.event {
                if rep.is_synced()
                    && let (Some(p), Some(q)) = (scale.price(t.price), scale.qty(t.qty))
                {
                    raw.push((
                        ms,
                        0,
                        MarketEvent::Trade {
                            side: t.aggressor().opposite(),
                            price: p,
                            qty: q,
                        },
                    ));
                }
                continue;
            }
            let st = rep.stats();
            let after = (st.applied, st.snapshots_applied, st.gaps.len());
            if after == before {
                continue;
            }
            let simple = after.0 == before.0 + 1 && after.1 == before.1 && after.2 == before.2;
            let from = raw.len();
            if let (true, BinanceEvent::DepthUpdate(d)) = (simple, &parsed.event) {
                for (side, lv) in [(Side::Buy, &d.bids), (Side::Sell, &d.asks)] {
                    for [p, q] in lv.iter() {
                        let (Some(p), Some(q)) = (scale.price(p), scale.qty(q)) else {
                            continue;
                        };
                        let m = &mut shadow[idx(side)];
                        let old = m.get(&p).copied().unwrap_or(0);
                        if q == 0 {
                            m.remove(&p);
                        } else {
                            m.insert(p, q);
                        }
                        if old != q {
                            raw.push((
                                ms,
                                1,
                                MarketEvent::Level {
                                    side,
                                    price: p,
                                    qty: q,
                                },
                            ));
                        }
                    }
                }
            } else {
                // Snapshot, gap or several buffered diffs: compare the whole book.
                for side in [Side::Buy, Side::Sell] {
                    let now: BTreeMap<i64, u64> =
                        rep.book().depth(side, usize::MAX).into_iter().collect();
                    let m = &mut shadow[idx(side)];
                    for (&p, _) in m.iter() {
                        if !now.contains_key(&p) {
                            raw.push((
                                ms,
                                1,
                                MarketEvent::Level {
                                    side,
                                    price: p,
                                    qty: 0,
                                },
                            ));
                        }
                    }
                    for (&p, &q) in &now {
                        if m.get(&p) != Some(&q) {
                            raw.push((
                                ms,
                                1,
                                MarketEvent::Level {
                                    side,
                                    price: p,
                                    qty: q,
                                },
                            ));
                        }
                    }
                    *m = now;
                }
            }
            // Within one update, removals first: a new or larger level must not cross a level
            // that the same update removes.
            raw[from..].sort_by_key(|r| match r.2 {
                MarketEvent::Level { qty: 0, .. } => 0u8,
                _ => 1,
            });
        }
        if raw.is_empty() {
            return Err(ExecError::Empty);
        }
        raw.sort_by_key(|r| (r.0, r.1));
        let day0 = raw[0].0 / 86_400_000 * 86_400_000;
        let events = raw
            .into_iter()
            .map(|(ms, _, ev)| TimedEvent {
                time_ns: (ms - day0.min(ms)) * 1_000_000,
                ev,
            })
            .collect();
        let market = match rep.market() {
            Some(ferrex_replay::binance::Market::Spot) => "spot",
            _ => "futures",
        };
        let gaps = rep.stats().gaps.len();
        Ok(MarketData {
            source: Source::Binance,
            events,
            rows: Vec::new(),
            levels: 0,
            level_data: true,
            book: binance_book_config(),
            price_scale: 10f64.powi(-(scale.price_decimals as i32)),
            lot_scale: 10f64.powi(-(scale.qty_decimals as i32)),
            dropped: 0,
            label: format!(
                "{} {market}, price ×10^{}, qty ×10^{}, {gaps} gaps",
                cap.name().rsplit('/').next().unwrap_or(""),
                scale.price_decimals,
                scale.qty_decimals
            ),
        })
    }

    /// First and last event time (ns).
    pub fn time_range(&self) -> (u64, u64) {
        (
            self.events.first().map_or(0, |m| m.time_ns),
            self.events.last().map_or(0, |m| m.time_ns),
        )
    }

    /// The same market as level data (`Level` + `Trade` events), for the conservative and
    /// probabilistic queue models. LOBSTER: from the reference rows (row 0 seeds every level;
    /// then each row's changes within its visible range; a price that left the visible range
    /// towards the outside keeps its last size, as in order-level replay) plus a `Trade` for each
    /// visible execution. ITCH: level sums of the tracked orders plus a `Trade` per execution.
    /// Level data is returned unchanged.
    pub fn to_level_data(&self) -> MarketData {
        if self.level_data {
            return self.clone();
        }
        let mut out = Vec::with_capacity(self.events.len() * 2);
        if !self.rows.is_empty() {
            let mut prev: Option<&BookRow> = None;
            for (e, row) in self.events.iter().zip(&self.rows) {
                let t = e.time_ns;
                if let MarketEvent::Execute {
                    side, price, qty, ..
                } = e.ev
                {
                    out.push(TimedEvent {
                        time_ns: t,
                        ev: MarketEvent::Trade { side, price, qty },
                    });
                } else if let MarketEvent::Hidden { .. } = e.ev {
                    out.push(*e);
                }
                for side in [Side::Sell, Side::Buy] {
                    let new = row.side(side);
                    let old = prev.map_or(&[][..], |p| p.side(side));
                    for l in new {
                        if old.iter().find(|o| o.price == l.price).map(|o| o.size) != Some(l.size) {
                            out.push(TimedEvent {
                                time_ns: t,
                                ev: MarketEvent::Level {
                                    side,
                                    price: l.price,
                                    qty: l.size,
                                },
                            });
                        }
                    }
                    let edge = (new.len() >= self.levels)
                        .then(|| new.last().map(|l| l.price))
                        .flatten();
                    for o in old {
                        let gone = !new.iter().any(|l| l.price == o.price);
                        let inside = match (edge, side) {
                            (None, _) => true,
                            (Some(e), Side::Buy) => o.price >= e,
                            (Some(e), Side::Sell) => o.price <= e,
                        };
                        if gone && inside {
                            out.push(TimedEvent {
                                time_ns: t,
                                ev: MarketEvent::Level {
                                    side,
                                    price: o.price,
                                    qty: 0,
                                },
                            });
                        }
                    }
                }
                prev = Some(row);
            }
        } else {
            let mut lv: HashMap<(Side, i64), u64> = HashMap::new();
            let mut set = |out: &mut Vec<TimedEvent>, t, side, price, d: i64| {
                let q = lv.entry((side, price)).or_default();
                *q = q.saturating_add_signed(d);
                out.push(TimedEvent {
                    time_ns: t,
                    ev: MarketEvent::Level {
                        side,
                        price,
                        qty: *q,
                    },
                });
            };
            for e in &self.events {
                let t = e.time_ns;
                match e.ev {
                    MarketEvent::Add {
                        side, price, qty, ..
                    } => set(&mut out, t, side, price, qty as i64),
                    MarketEvent::Reduce {
                        side, price, qty, ..
                    }
                    | MarketEvent::Delete {
                        side, price, qty, ..
                    } => set(&mut out, t, side, price, -(qty as i64)),
                    MarketEvent::Execute {
                        side, price, qty, ..
                    } => {
                        out.push(TimedEvent {
                            time_ns: t,
                            ev: MarketEvent::Trade { side, price, qty },
                        });
                        set(&mut out, t, side, price, -(qty as i64));
                    }
                    MarketEvent::Hidden { .. } => out.push(*e),
                    _ => {}
                }
            }
        }
        MarketData {
            events: out,
            rows: Vec::new(),
            levels: 0,
            level_data: true,
            label: format!("{} at level granularity", self.label),
            ..self.clone()
        }
    }
}

fn exec_itch(
    orders: &mut HashMap<u64, (Side, i64, u64)>,
    id: u64,
    shares: u32,
    push: &mut impl FnMut(MarketEvent),
) -> Option<()> {
    let o = orders.get_mut(&id)?;
    let q = u64::from(shares).min(o.2);
    o.2 -= q;
    let (side, price) = (o.0, o.1);
    if o.2 == 0 {
        orders.remove(&id);
    }
    push(MarketEvent::Execute {
        id,
        side,
        price,
        qty: q,
    });
    Some(())
}
