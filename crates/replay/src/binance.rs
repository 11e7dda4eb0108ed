//! Binance depth captures: `<local_recv_ns> <raw JSON>` lines as recorded by hftbacktest's
//! collector, and an L2 book rebuilt from them by Binance's snapshot + diff rule.
//!
//! # Line format
//! Streamed frames use the combined-stream wrapper `{"stream": "btcusdt@depth@0ms", "data": {…}}`;
//! the stream name selects the payload type (`@depth…` → [`DepthUpdate`], `@trade` → [`Trade`],
//! `@bookTicker` → [`BookTicker`], anything else → [`BinanceEvent::Other`]). A line without the
//! wrapper carrying `lastUpdateId` is a REST depth [`Snapshot`]. Strings are borrowed from the line
//! (serde_json, typed structs); prices and quantities stay decimal strings until converted with a
//! [`Scale`].
//!
//! # Decimals
//! Prices and quantities become integers (ticks, lots) exactly, without `f64`: `"61800.20"` at 1
//! price decimal is 618002. [`Scale::detect`] picks, for a whole capture, the smallest number of
//! decimals that represents every price (and every quantity) in it exactly: trailing zeros do not
//! count, so futures BTCUSDT (`"61800.20"`, `"0.014"`) gets prices × 10 (0.1 tick) and quantities
//! × 1000; spot BTCUSDT (`"61837.63000000"`, and a few far levels such as `"25.426189"`) prices
//! × 100 and quantities × 10^6.
//! A value with more significant decimals than its scale is an error, never rounded.
//!
//! # Book rebuild (Binance's rule)
//! Diffs are buffered from the start of the capture until a snapshot (`lastUpdateId` = L) arrives;
//! the book is set to the snapshot, then the buffered diffs and every later one go through:
//! - **bridging** (first diff after a snapshot) — futures: drop diffs with `u < L`; the first one
//!   applied must have `U ≤ L ≤ u`. Spot: drop `u ≤ L`; the first applied must have
//!   `U ≤ L+1 ≤ u`. A first non-dropped diff that does not bridge is a [`Gap`] (the snapshot is
//!   unusable).
//! - **chaining** (every later diff) — futures: `pu` must equal the previous diff's `u`; spot: `U`
//!   must equal the previous `u` + 1. Otherwise a [`Gap`].
//!
//! After a gap the book is cleared and marked unsynced; diffs are buffered again (starting with the
//! one that broke the chain) and the book re-syncs from the next snapshot, if the capture has one.
//! A gap is never absorbed silently: each is recorded with its line number. A snapshot that arrives
//! while the book is in sync is counted (`snapshots_ignored`) and not applied. The market (futures
//! or spot) is taken from the first depth update: `pu` present → futures.
//!
//! In a depth update a quantity is the new absolute size of the level; 0 removes it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use ferrex_types::Side;

/// A price level `[price, qty]` as the two decimal strings of the JSON.
pub type RawLevel<'a> = [&'a str; 2];

/// A depth update (`depthUpdate`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct DepthUpdate<'a> {
    /// Event time (ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Transaction time (ms, futures only).
    #[serde(rename = "T", default)]
    pub transaction_time: Option<u64>,
    /// Symbol.
    #[serde(rename = "s", borrow)]
    pub symbol: &'a str,
    /// First update id in this event.
    #[serde(rename = "U")]
    pub first_update_id: u64,
    /// Final update id in this event.
    #[serde(rename = "u")]
    pub final_update_id: u64,
    /// Final update id of the previous event of the stream (futures only).
    #[serde(rename = "pu", default)]
    pub prev_final_update_id: Option<u64>,
    /// Bid levels changed (absolute sizes; "0" removes).
    #[serde(rename = "b", borrow)]
    pub bids: Vec<RawLevel<'a>>,
    /// Ask levels changed.
    #[serde(rename = "a", borrow)]
    pub asks: Vec<RawLevel<'a>>,
}

/// A REST depth snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot<'a> {
    /// `lastUpdateId`.
    pub last_update_id: u64,
    /// Message output time (ms, futures only).
    pub event_time: Option<u64>,
    /// Transaction time (ms, futures only).
    pub transaction_time: Option<u64>,
    /// Bids, best first.
    pub bids: Vec<RawLevel<'a>>,
    /// Asks, best first.
    pub asks: Vec<RawLevel<'a>>,
}

/// A trade (`trade` stream).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Trade<'a> {
    /// Event time (ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Trade time (ms).
    #[serde(rename = "T")]
    pub trade_time: u64,
    /// Symbol.
    #[serde(rename = "s", borrow)]
    pub symbol: &'a str,
    /// Trade id.
    #[serde(rename = "t")]
    pub trade_id: u64,
    /// Price.
    #[serde(rename = "p", borrow)]
    pub price: &'a str,
    /// Quantity.
    #[serde(rename = "q", borrow)]
    pub qty: &'a str,
    /// The buyer was the maker (so the aggressor sold).
    #[serde(rename = "m")]
    pub buyer_is_maker: bool,
}

impl Trade<'_> {
    /// The aggressor's side.
    pub fn aggressor(&self) -> Side {
        if self.buyer_is_maker {
            Side::Sell
        } else {
            Side::Buy
        }
    }
}

/// A best bid/offer update (`bookTicker` stream).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct BookTicker<'a> {
    /// Order book update id.
    #[serde(rename = "u")]
    pub update_id: u64,
    /// Event time (ms; futures only).
    #[serde(rename = "E", default)]
    pub event_time: Option<u64>,
    /// Symbol.
    #[serde(rename = "s", borrow)]
    pub symbol: &'a str,
    /// Best bid price.
    #[serde(rename = "b", borrow)]
    pub bid_price: &'a str,
    /// Best bid qty.
    #[serde(rename = "B", borrow)]
    pub bid_qty: &'a str,
    /// Best ask price.
    #[serde(rename = "a", borrow)]
    pub ask_price: &'a str,
    /// Best ask qty.
    #[serde(rename = "A", borrow)]
    pub ask_qty: &'a str,
}

/// The payload of one capture line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BinanceEvent<'a> {
    /// `@depth` stream.
    DepthUpdate(DepthUpdate<'a>),
    /// REST snapshot line.
    Snapshot(Snapshot<'a>),
    /// `@trade` stream.
    Trade(Trade<'a>),
    /// `@bookTicker` stream.
    BookTicker(BookTicker<'a>),
    /// Any other combined stream (kept, not interpreted).
    Other {
        /// The stream name.
        stream: &'a str,
    },
}

/// One parsed capture line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinanceLine<'a> {
    /// The collector's receive time (ns since the epoch; its clock ran ~1.27 s behind Binance's).
    pub local_ns: u64,
    /// The payload.
    pub event: BinanceEvent<'a>,
}

/// Why a line does not parse.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// No space separating the timestamp from the JSON.
    #[error("expected `<local_recv_ns> <json>`, found no space")]
    MissingSpace,
    /// The timestamp is not an unsigned integer.
    #[error("local_recv_ns {0:?} is not an unsigned integer")]
    Timestamp(String),
    /// The JSON does not parse into the expected structure.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid JSON of an unexpected shape.
    #[error("{0}")]
    Shape(&'static str),
}

#[derive(Deserialize)]
struct RawFrame<'a> {
    #[serde(borrow, default)]
    stream: Option<&'a str>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(rename = "lastUpdateId", default)]
    last_update_id: Option<u64>,
    #[serde(rename = "E", default)]
    event_time: Option<u64>,
    #[serde(rename = "T", default)]
    transaction_time: Option<u64>,
    #[serde(borrow, default)]
    bids: Option<Vec<RawLevel<'a>>>,
    #[serde(borrow, default)]
    asks: Option<Vec<RawLevel<'a>>>,
}

/// Parses one capture line (without its newline). Borrows the strings from `line`; allocates only
/// the level vectors. Never panics.
pub fn parse_line(line: &str) -> Result<BinanceLine<'_>, LineError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let (ts, json) = line.split_once(' ').ok_or(LineError::MissingSpace)?;
    let local_ns: u64 = if !ts.is_empty() && ts.bytes().all(|c| c.is_ascii_digit()) {
        ts.parse()
            .map_err(|_| LineError::Timestamp(ts.chars().take(40).collect()))?
    } else {
        return Err(LineError::Timestamp(ts.chars().take(40).collect()));
    };
    let f: RawFrame<'_> = serde_json::from_str(json)?;
    let event = match (f.stream, f.data) {
        (Some(stream), Some(data)) => {
            let kind = stream.split_once('@').map_or("", |(_, k)| k);
            if kind.starts_with("depth") {
                BinanceEvent::DepthUpdate(serde_json::from_str(data.get())?)
            } else if kind == "trade" {
                BinanceEvent::Trade(serde_json::from_str(data.get())?)
            } else if kind == "bookTicker" {
                BinanceEvent::BookTicker(serde_json::from_str(data.get())?)
            } else {
                BinanceEvent::Other { stream }
            }
        }
        (Some(_), None) => return Err(LineError::Shape("combined-stream frame without `data`")),
        (None, _) => match (f.last_update_id, f.bids, f.asks) {
            (Some(last_update_id), Some(bids), Some(asks)) => BinanceEvent::Snapshot(Snapshot {
                last_update_id,
                event_time: f.event_time,
                transaction_time: f.transaction_time,
                bids,
                asks,
            }),
            _ => {
                return Err(LineError::Shape(
                    "neither a combined-stream frame (`stream`, `data`) nor a depth snapshot (`lastUpdateId`, `bids`, `asks`)",
                ));
            }
        },
    };
    Ok(BinanceLine { local_ns, event })
}

// ---------------------------------------------------------------------------------------------
// Decimals

/// Number of significant decimals of a decimal string (trailing zeros of the fraction ignored), or
/// `None` if it is not `digits[.digits]`.
pub fn significant_decimals(s: &str) -> Option<u32> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || !int.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(frac.trim_end_matches('0').len() as u32)
}

/// Parses a non-negative decimal string into an integer of `decimals` implied decimals, exactly:
/// `parse_decimal("61800.20", 1) == Some(618002)`. `None` when malformed, when a non-zero digit lies
/// beyond `decimals`, or on overflow. No `f64` anywhere.
pub fn parse_decimal(s: &str, decimals: u32) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for c in int.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    let mut used = 0u32;
    for c in frac.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        if used < decimals {
            v = v.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
            used += 1;
        } else if c != b'0' {
            return None;
        }
    }
    while used < decimals {
        v = v.checked_mul(10)?;
        used += 1;
    }
    Some(v)
}

/// Decimal places of prices and quantities for one capture: price ticks = price × 10^price_decimals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scale {
    /// Implied decimals of prices.
    pub price_decimals: u32,
    /// Implied decimals of quantities.
    pub qty_decimals: u32,
}

impl Scale {
    /// The smallest scale that represents every price and quantity of the capture's depth updates,
    /// snapshots, trades and book tickers exactly. Lines that do not parse are skipped (the replay
    /// reports them). One pass over the text.
    pub fn detect(text: &str) -> Scale {
        let mut s = Scale::default();
        let mut see = |p: &str, q: &str| {
            if let Some(d) = significant_decimals(p) {
                s.price_decimals = s.price_decimals.max(d);
            }
            if let Some(d) = significant_decimals(q) {
                s.qty_decimals = s.qty_decimals.max(d);
            }
        };
        for line in text.lines() {
            let Ok(l) = parse_line(line) else { continue };
            match &l.event {
                BinanceEvent::DepthUpdate(d) => {
                    d.bids.iter().chain(&d.asks).for_each(|[p, q]| see(p, q))
                }
                BinanceEvent::Snapshot(d) => {
                    d.bids.iter().chain(&d.asks).for_each(|[p, q]| see(p, q))
                }
                BinanceEvent::Trade(t) => see(t.price, t.qty),
                BinanceEvent::BookTicker(t) => {
                    see(t.bid_price, t.bid_qty);
                    see(t.ask_price, t.ask_qty);
                }
                BinanceEvent::Other { .. } => {}
            }
        }
        s
    }

    /// A price string in ticks.
    pub fn price(&self, s: &str) -> Option<i64> {
        parse_decimal(s, self.price_decimals)
    }

    /// A quantity string in lots.
    pub fn qty(&self, s: &str) -> Option<u64> {
        parse_decimal(s, self.qty_decimals).and_then(|v| u64::try_from(v).ok())
    }
}

// ---------------------------------------------------------------------------------------------
// Errors of a capture replay

/// What stops a capture replay (gaps do not: they are recorded in [`BinanceStats::gaps`]).
#[derive(Debug, thiserror::Error)]
pub enum BinanceError {
    /// The file could not be read.
    #[error("cannot read {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The gzip stream is corrupt or the text is not UTF-8.
    #[error("{file}: cannot decompress / decode as UTF-8: {source}")]
    Decode {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A line does not parse.
    #[error("line {line}: {source}")]
    Line {
        /// 1-based line number.
        line: u64,
        /// The cause.
        source: LineError,
    },
    /// A decimal field does not fit the capture's scale.
    #[error(
        "line {line}: {field} {value:?} is not a decimal with at most {decimals} significant decimals"
    )]
    Decimal {
        /// 1-based line number.
        line: u64,
        /// Which field (`bid price`, `ask qty`, …).
        field: &'static str,
        /// The string found.
        value: String,
        /// The scale's decimals.
        decimals: u32,
    },
}

// ---------------------------------------------------------------------------------------------
// The book

/// An L2 book: price (ticks) → quantity (lots) per side. Not the hot path: `BTreeMap`, O(log n)
/// per level change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BinanceBook {
    bids: BTreeMap<i64, u64>,
    asks: BTreeMap<i64, u64>,
}

impl BinanceBook {
    /// Sets a level's absolute quantity; 0 removes it.
    pub fn set(&mut self, side: Side, price: i64, qty: u64) {
        let m = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        if qty == 0 {
            m.remove(&price);
        } else {
            m.insert(price, qty);
        }
    }

    /// Removes every level.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Best bid `(price, qty)`.
    pub fn best_bid(&self) -> Option<(i64, u64)> {
        self.bids.iter().next_back().map(|(&p, &q)| (p, q))
    }

    /// Best ask `(price, qty)`.
    pub fn best_ask(&self) -> Option<(i64, u64)> {
        self.asks.iter().next().map(|(&p, &q)| (p, q))
    }

    /// The best `n` levels of a side, best first.
    pub fn depth(&self, side: Side, n: usize) -> Vec<(i64, u64)> {
        match side {
            Side::Buy => self
                .bids
                .iter()
                .rev()
                .take(n)
                .map(|(&p, &q)| (p, q))
                .collect(),
            Side::Sell => self.asks.iter().take(n).map(|(&p, &q)| (p, q)).collect(),
        }
    }

    /// Number of levels on a side.
    pub fn levels(&self, side: Side) -> usize {
        match side {
            Side::Buy => self.bids.len(),
            Side::Sell => self.asks.len(),
        }
    }

    /// True when best bid ≥ best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some((b, _)), Some((a, _))) if b >= a)
    }
}

/// Futures (`pu` chain) or spot (`U = prev u + 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Market {
    /// USDⓈ-M futures.
    Futures,
    /// Spot.
    Spot,
}

/// Which rule a gap broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapKind {
    /// The first diff kept after a snapshot does not contain the snapshot's id (futures
    /// `U ≤ L ≤ u`, spot `U ≤ L+1 ≤ u`): `expected` is L (or L+1), `found` the diff's `U`.
    Bridge,
    /// The chain broke: futures `pu ≠ previous u` (`found` = pu), spot `U ≠ previous u + 1`
    /// (`found` = U); `expected` is previous u (futures) or previous u + 1 (spot).
    Chain,
}

/// A sequence gap, reported with its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// 1-based line of the diff that revealed it.
    pub line: u64,
    /// Rule broken.
    pub kind: GapKind,
    /// Id expected.
    pub expected: u64,
    /// Id found.
    pub found: u64,
}

/// Counters of a capture replay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BinanceStats {
    /// Lines read.
    pub lines: u64,
    /// Depth updates seen.
    pub depth_updates: u64,
    /// Depth updates applied to the book.
    pub applied: u64,
    /// Depth updates dropped as older than the snapshot.
    pub dropped: u64,
    /// Depth updates discarded because the book was unsynced and no later snapshot came.
    pub unsynced: u64,
    /// Level changes applied.
    pub level_changes: u64,
    /// Snapshots seen.
    pub snapshots: u64,
    /// Snapshots that (re)synced the book.
    pub snapshots_applied: u64,
    /// Snapshots seen while in sync (not applied).
    pub snapshots_ignored: u64,
    /// Trades.
    pub trades: u64,
    /// Traded quantity, in lots.
    pub trade_volume: u64,
    /// Trades whose aggressor bought.
    pub buy_aggressor_trades: u64,
    /// Book-ticker updates.
    pub book_tickers: u64,
    /// Other stream frames.
    pub other: u64,
    /// Applied diffs after which the book was crossed or locked.
    pub crossed: u64,
    /// Line of the first diff applied after the first snapshot.
    pub first_applied_line: Option<u64>,
    /// Book tickers whose update id `u` equals the `u` of an applied diff: the book's best bid and
    /// ask (price and quantity) are compared with the ticker's at that point.
    pub bbo_checked: u64,
    /// Of those, the ones that differ.
    pub bbo_mismatches: u64,
    /// Line of the first book ticker that differed.
    pub first_bbo_mismatch_line: Option<u64>,
    /// Sequence gaps, in order.
    pub gaps: Vec<Gap>,
}

#[derive(Clone, Debug)]
struct Diff {
    line: u64,
    first: u64,
    last: u64,
    prev: Option<u64>,
    bids: Vec<(i64, u64)>,
    asks: Vec<(i64, u64)>,
}

#[derive(Clone, Debug)]
enum SyncState {
    /// Waiting for a snapshot; diffs buffered.
    Unsynced(Vec<Diff>),
    /// Snapshot applied, waiting for the bridging diff.
    Bridging { last_update_id: u64 },
    /// In sync; `last` is the previous diff's `u`.
    Synced { last: u64 },
}

/// A book ticker waiting for the diff with its update id.
#[derive(Clone, Copy, Debug)]
struct PendingTicker {
    line: u64,
    update_id: u64,
    bid: (i64, u64),
    ask: (i64, u64),
}

/// Most book tickers kept waiting for their diff.
const MAX_PENDING_TICKERS: usize = 4096;

/// Rebuilds a [`BinanceBook`] from capture lines fed in order.
///
/// Besides the snapshot + diff rule it cross-checks the book against the `bookTicker` stream
/// where the two meet exactly: a ticker whose update id equals the final id `u` of an applied diff
/// must show the book's best bid and ask at that point (`bbo_checked`, `bbo_mismatches`). Tickers
/// whose id falls inside a diff's range (the diff batches several updates) cannot be compared.
#[derive(Clone, Debug)]
pub struct BinanceReplay {
    scale: Scale,
    pending: std::collections::VecDeque<PendingTicker>,
    market: Option<Market>,
    book: BinanceBook,
    state: SyncState,
    stats: BinanceStats,
    last_trade: Option<(i64, u64)>,
}

impl BinanceReplay {
    /// A replay converting decimals with `scale`.
    pub fn new(scale: Scale) -> Self {
        BinanceReplay {
            scale,
            pending: std::collections::VecDeque::new(),
            market: None,
            book: BinanceBook::default(),
            state: SyncState::Unsynced(Vec::new()),
            stats: BinanceStats::default(),
            last_trade: None,
        }
    }

    /// The book (empty while unsynced).
    pub fn book(&self) -> &BinanceBook {
        &self.book
    }

    /// The counters so far.
    pub fn stats(&self) -> &BinanceStats {
        &self.stats
    }

    /// The market, once a depth update has been seen.
    pub fn market(&self) -> Option<Market> {
        self.market
    }

    /// The scale in use.
    pub fn scale(&self) -> Scale {
        self.scale
    }

    /// True when the book is in sync with the stream.
    pub fn is_synced(&self) -> bool {
        matches!(self.state, SyncState::Synced { .. })
    }

    /// Last trade `(price ticks, qty lots)`.
    pub fn last_trade(&self) -> Option<(i64, u64)> {
        self.last_trade
    }

    /// Parses and applies one line (`line` is its 1-based number, used in errors and gaps).
    pub fn feed_line(&mut self, line: u64, text: &str) -> Result<(), BinanceError> {
        let parsed = parse_line(text).map_err(|source| BinanceError::Line { line, source })?;
        self.feed(line, &parsed)
    }

    fn levels(
        &self,
        line: u64,
        raw: &[RawLevel<'_>],
        side: Side,
    ) -> Result<Vec<(i64, u64)>, BinanceError> {
        let (pf, qf) = match side {
            Side::Buy => ("bid price", "bid qty"),
            Side::Sell => ("ask price", "ask qty"),
        };
        raw.iter()
            .map(|[p, q]| {
                let px = self
                    .scale
                    .price(p)
                    .ok_or_else(|| self.dec_err(line, pf, p, true))?;
                let qty = self
                    .scale
                    .qty(q)
                    .ok_or_else(|| self.dec_err(line, qf, q, false))?;
                Ok((px, qty))
            })
            .collect()
    }

    fn dec_err(&self, line: u64, field: &'static str, value: &str, price: bool) -> BinanceError {
        BinanceError::Decimal {
            line,
            field,
            value: value.chars().take(40).collect(),
            decimals: if price {
                self.scale.price_decimals
            } else {
                self.scale.qty_decimals
            },
        }
    }

    /// Applies one parsed line.
    pub fn feed(&mut self, line: u64, parsed: &BinanceLine<'_>) -> Result<(), BinanceError> {
        self.stats.lines += 1;
        match &parsed.event {
            BinanceEvent::DepthUpdate(d) => {
                self.stats.depth_updates += 1;
                let market = *self
                    .market
                    .get_or_insert(if d.prev_final_update_id.is_some() {
                        Market::Futures
                    } else {
                        Market::Spot
                    });
                let diff = Diff {
                    line,
                    first: d.first_update_id,
                    last: d.final_update_id,
                    prev: d.prev_final_update_id,
                    bids: self.levels(line, &d.bids, Side::Buy)?,
                    asks: self.levels(line, &d.asks, Side::Sell)?,
                };
                self.on_diff(market, diff);
            }
            BinanceEvent::Snapshot(s) => {
                self.stats.snapshots += 1;
                let bids = self.levels(line, &s.bids, Side::Buy)?;
                let asks = self.levels(line, &s.asks, Side::Sell)?;
                self.on_snapshot(s.last_update_id, bids, asks);
            }
            BinanceEvent::Trade(t) => {
                let px = self
                    .scale
                    .price(t.price)
                    .ok_or_else(|| self.dec_err(line, "trade price", t.price, true))?;
                let q = self
                    .scale
                    .qty(t.qty)
                    .ok_or_else(|| self.dec_err(line, "trade qty", t.qty, false))?;
                self.stats.trades += 1;
                self.stats.trade_volume = self.stats.trade_volume.saturating_add(q);
                if t.aggressor() == Side::Buy {
                    self.stats.buy_aggressor_trades += 1;
                }
                self.last_trade = Some((px, q));
            }
            BinanceEvent::BookTicker(t) => {
                self.stats.book_tickers += 1;
                let p = |s: &str, f| {
                    self.scale
                        .price(s)
                        .ok_or_else(|| self.dec_err(line, f, s, true))
                };
                let q = |s: &str, f| {
                    self.scale
                        .qty(s)
                        .ok_or_else(|| self.dec_err(line, f, s, false))
                };
                let tk = PendingTicker {
                    line,
                    update_id: t.update_id,
                    bid: (
                        p(t.bid_price, "ticker bid price")?,
                        q(t.bid_qty, "ticker bid qty")?,
                    ),
                    ask: (
                        p(t.ask_price, "ticker ask price")?,
                        q(t.ask_qty, "ticker ask qty")?,
                    ),
                };
                self.on_ticker(tk);
            }
            BinanceEvent::Other { .. } => self.stats.other += 1,
        }
        Ok(())
    }

    fn on_ticker(&mut self, t: PendingTicker) {
        match self.state {
            SyncState::Synced { last } if t.update_id == last => self.check_ticker(t),
            SyncState::Synced { last } if t.update_id < last => {}
            _ => {
                if self.pending.len() == MAX_PENDING_TICKERS {
                    self.pending.pop_front();
                }
                self.pending.push_back(t);
            }
        }
    }

    fn check_ticker(&mut self, t: PendingTicker) {
        self.stats.bbo_checked += 1;
        if self.book.best_bid() != Some(t.bid) || self.book.best_ask() != Some(t.ask) {
            self.stats.bbo_mismatches += 1;
            self.stats.first_bbo_mismatch_line.get_or_insert(t.line);
        }
    }

    /// After a diff ending at `last` was applied: compare the tickers with that id, drop the older.
    fn settle_tickers(&mut self, last: u64) {
        let mut keep = std::collections::VecDeque::with_capacity(self.pending.len());
        while let Some(t) = self.pending.pop_front() {
            if t.update_id == last {
                self.check_ticker(t);
            } else if t.update_id > last {
                keep.push_back(t);
            }
        }
        self.pending = keep;
    }

    fn on_snapshot(&mut self, last_update_id: u64, bids: Vec<(i64, u64)>, asks: Vec<(i64, u64)>) {
        let buffered = match &mut self.state {
            SyncState::Unsynced(buf) => std::mem::take(buf),
            SyncState::Bridging { .. } => Vec::new(),
            SyncState::Synced { .. } => {
                self.stats.snapshots_ignored += 1;
                return;
            }
        };
        self.stats.snapshots_applied += 1;
        self.book.clear();
        for (p, q) in bids {
            self.book.set(Side::Buy, p, q);
        }
        for (p, q) in asks {
            self.book.set(Side::Sell, p, q);
        }
        self.state = SyncState::Bridging { last_update_id };
        let market = self.market.unwrap_or(Market::Futures);
        for d in buffered {
            self.on_diff(market, d);
        }
    }

    fn on_diff(&mut self, market: Market, d: Diff) {
        match &mut self.state {
            SyncState::Unsynced(buf) => buf.push(d),
            &mut SyncState::Bridging { last_update_id: l } => {
                let (stale, target) = match market {
                    Market::Futures => (d.last < l, l),
                    Market::Spot => (d.last <= l, l.saturating_add(1)),
                };
                if stale {
                    self.stats.dropped += 1;
                } else if d.first <= target && target <= d.last {
                    if self.stats.first_applied_line.is_none() {
                        self.stats.first_applied_line = Some(d.line);
                    }
                    self.apply(&d);
                } else {
                    self.gap(d, GapKind::Bridge, target, |d| d.first);
                }
            }
            &mut SyncState::Synced { last } => {
                let (ok, expected, found) = match market {
                    Market::Futures => {
                        let pu = d.prev.unwrap_or(u64::MAX);
                        (pu == last, last, pu)
                    }
                    Market::Spot => {
                        let e = last.saturating_add(1);
                        (d.first == e, e, d.first)
                    }
                };
                if ok {
                    self.apply(&d);
                } else {
                    self.gap(d, GapKind::Chain, expected, move |_| found);
                }
            }
        }
    }

    fn gap(&mut self, d: Diff, kind: GapKind, expected: u64, found: impl Fn(&Diff) -> u64) {
        self.stats.gaps.push(Gap {
            line: d.line,
            kind,
            expected,
            found: found(&d),
        });
        self.book.clear();
        self.state = SyncState::Unsynced(vec![d]);
    }

    fn apply(&mut self, d: &Diff) {
        for &(p, q) in &d.bids {
            self.book.set(Side::Buy, p, q);
        }
        for &(p, q) in &d.asks {
            self.book.set(Side::Sell, p, q);
        }
        self.stats.applied += 1;
        self.stats.level_changes += (d.bids.len() + d.asks.len()) as u64;
        if self.book.is_crossed() {
            self.stats.crossed += 1;
        }
        self.state = SyncState::Synced { last: d.last };
        if !self.pending.is_empty() {
            self.settle_tickers(d.last);
        }
    }

    /// Ends the replay: diffs still buffered (no snapshot came after a gap) are counted as
    /// `unsynced`. Returns the final counters.
    pub fn finish(mut self) -> (BinanceBook, BinanceStats) {
        if let SyncState::Unsynced(buf) = &self.state {
            self.stats.unsynced += buf.len() as u64;
        }
        (self.book, self.stats)
    }
}

/// A whole capture held in memory as text (decompressed if it was gzip).
#[derive(Clone, Debug)]
pub struct BinanceCapture {
    name: String,
    text: String,
}

impl BinanceCapture {
    /// Reads a capture file, gzip or plain text.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, BinanceError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let raw = std::fs::read(path).map_err(|source| BinanceError::Io {
            file: name.clone(),
            source,
        })?;
        Self::from_bytes(name, &raw)
    }

    /// A capture from bytes (gzip detected by its magic).
    pub fn from_bytes(name: String, raw: &[u8]) -> Result<Self, BinanceError> {
        let mut text = String::new();
        let r = if raw.starts_with(&[0x1f, 0x8b]) {
            flate2::read::MultiGzDecoder::new(raw)
                .read_to_string(&mut text)
                .map(|_| ())
        } else {
            String::from_utf8(raw.to_vec())
                .map(|s| text = s)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        };
        r.map_err(|source| BinanceError::Decode {
            file: name.clone(),
            source,
        })?;
        Ok(BinanceCapture { name, text })
    }

    /// The file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Detects the scale and replays every line. Stops at the first unparsable line.
    pub fn replay(&self) -> Result<(BinanceBook, BinanceStats, Scale), BinanceError> {
        let scale = Scale::detect(&self.text);
        let mut r = BinanceReplay::new(scale);
        for (i, line) in self.text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            r.feed_line(i as u64 + 1, line)?;
        }
        let (book, stats) = r.finish();
        Ok((book, stats, scale))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_exact() {
        assert_eq!(parse_decimal("61800.20", 1), Some(618002));
        assert_eq!(parse_decimal("61800.25", 1), None);
        assert_eq!(parse_decimal("0.00105000", 5), Some(105));
        assert_eq!(parse_decimal("7", 3), Some(7000));
        assert_eq!(parse_decimal("-1", 0), None);
        assert_eq!(parse_decimal("1.2.3", 3), None);
        assert_eq!(parse_decimal("99999999999999999999", 0), None);
        assert_eq!(significant_decimals("61837.63000000"), Some(2));
        assert_eq!(significant_decimals("0.000"), Some(0));
    }

    fn spot_diff(u0: u64, u1: u64, bid: &str) -> String {
        format!(
            r#"1 {{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":{u0},"u":{u1},"b":[["{bid}","1.0"]],"a":[]}}}}"#
        )
    }

    #[test]
    fn spot_gap_detected_and_resynced() {
        let scale = Scale {
            price_decimals: 2,
            qty_decimals: 1,
        };
        let mut r = BinanceReplay::new(scale);
        let snap = |id: u64| {
            format!(r#"2 {{"lastUpdateId":{id},"bids":[["100.00","2"]],"asks":[["101.00","3"]]}}"#)
        };
        let lines = [
            spot_diff(1, 5, "99.00"),  // dropped (u <= 10)
            spot_diff(6, 12, "99.50"), // bridges 11
            snap(10),
            spot_diff(13, 14, "99.60"), // chained
            spot_diff(16, 17, "99.70"), // gap: expected 15
            spot_diff(18, 19, "99.80"), // buffered
            snap(17),
            spot_diff(20, 21, "99.90"),
        ];
        for (i, l) in lines.iter().enumerate() {
            r.feed_line(i as u64 + 1, l).unwrap();
        }
        let (book, st) = r.finish();
        assert_eq!(st.dropped, 2, "{st:?}"); // line 1, then line 5 (u=17 <= 17) after the resync
        assert_eq!(
            st.gaps,
            vec![Gap {
                line: 5,
                kind: GapKind::Chain,
                expected: 15,
                found: 16
            }]
        );
        assert_eq!(st.applied, 4);
        assert_eq!(st.first_applied_line, Some(2));
        assert_eq!(book.best_bid(), Some((10000, 20)));
        assert_eq!(book.levels(Side::Buy), 3);
    }
}
