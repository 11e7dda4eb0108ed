//! ITCH 5.0 replay: decoded messages drive one ferrex [`Book`] per stock locate.
//!
//! | message | book operation |
//! |---|---|
//! | `A`, `F` | `new_order`: GTC limit, account 0, `StpMode::None`, id = order reference |
//! | `E`, `C` | head-of-queue check, then `fill_resting(ref, shares)` (at the order's own price; a `C` execution price is not used) |
//! | `X` | `reduce_resting(ref, shares)` (keeps priority) |
//! | `D` | `cancel(ref)` |
//! | `U` | `cancel(original)` + `new_order(new ref, same side, new price and shares)`: priority is lost, as in the spec |
//! | `P`, `Q` | counted as trades against non-displayed liquidity; the book does not change |
//! | others | counted |
//!
//! A message naming an order the replay does not hold (the capture started mid-day, or was
//! filtered) is counted in `unknown_refs` and skipped, never fatal; a `U` whose original is unknown
//! cannot place its new order (the side is unknown), so the new reference stays unknown too.
//!
//! **Queue priority.** For every `E`/`C` on a known order the replay checks, before filling, that
//! the order is at the head of its price level's FIFO ([`Book::is_head_of_level`]); the share of
//! executions at the head is `head_of_queue_share`. Under price-time priority it is 100% for
//! orders whose whole queue history is in the capture; a capture that starts mid-day lacks the
//! orders resting from before, so the share is a lower bound on the agreement there.
//!
//! Books are allocated lazily on a locate's first add. The engine's `Engine` is not needed: replay
//! drives the books directly with the data's own timestamps, which is the same code path.

use std::time::{Duration, Instant};

use ferrex_book::{Book, BookConfig, BookConfigError};
use ferrex_types::{
    AccountId, CancelOrder, EventKind, EventKindSink, InstrumentId, NewOrder, OrdType, OrderId,
    Price, Qty, RejectReason, Side, StpMode, TimeInForce,
};

use crate::itch::{ItchError, ItchMessage, ItchReader, TypeCounts, price4};

/// Replay configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItchReplayConfig {
    /// Configuration of every book (ITCH prices are in 1/10000 dollar; the default tick is 100,
    /// one cent, which is the Reg NMS grid for stocks above $1).
    pub book: BookConfig,
}

impl Default for ItchReplayConfig {
    /// Cent ticks, 2^17 live orders per book, 2^15 dense levels ($327 around the first price),
    /// level events off.
    fn default() -> Self {
        ItchReplayConfig {
            book: BookConfig {
                tick_size: 100,
                lot_size: 1,
                min_price: Price(100),
                max_price: Price(i64::from(u32::MAX)),
                max_orders: 1 << 17,
                max_special_orders: 1 << 15,
                max_accounts: 1 << 14,
                dense_levels: 1 << 15,
                sparse_levels: 4096,
                anchor: None,
                market_protection_ticks: 1000,
                level_events: false,
            },
        }
    }
}

/// Errors that stop an ITCH replay.
#[derive(Debug, thiserror::Error)]
pub enum ItchReplayError {
    /// The stream is corrupt.
    #[error(transparent)]
    Decode(#[from] ItchError),
    /// A book could not be built with the configuration.
    #[error("book for stock locate {locate}: {source:?}")]
    Book {
        /// The locate.
        locate: u16,
        /// Why.
        source: BookConfigError,
    },
}

/// What a replay did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItchReplaySummary {
    /// Messages by type.
    pub counts: TypeCounts,
    /// Books created (stock locates with at least one add).
    pub books: usize,
    /// Executions applied to the book (`E`, `C` on known orders).
    pub executions: u64,
    /// Trade events the books emitted (executions, plus any add that crossed).
    pub trades: u64,
    /// Shares executed through the books.
    pub volume: u64,
    /// `P`/`Q` trades against non-displayed liquidity (no book change).
    pub non_displayed_trades: u64,
    /// Messages naming an order the replay does not hold (`E`, `C`, `X`, `D`, `U`).
    pub unknown_refs: u64,
    /// Unknown references by type byte (`E`, `C`, `X`, `D`, `U` only).
    pub unknown_by_type: [u64; 5],
    /// Executions whose order stood at the head of its level.
    pub head_of_queue: u64,
    /// Executions checked for queue position (known orders).
    pub head_checked: u64,
    /// `E`/`C` with more shares than the order's visible quantity, `X` with more than its leaves.
    pub over_executions: u64,
    /// Rejects from the books (duplicate ids, prices off the configured grid or range, full book).
    pub rejects: u64,
    /// Live orders left in all books.
    pub live_orders: usize,
    /// Wall time of the replay loop.
    pub elapsed: Duration,
}

impl ItchReplaySummary {
    /// Executions at the head of their level / executions checked (1.0 when none).
    pub fn head_of_queue_share(&self) -> f64 {
        if self.head_checked == 0 {
            1.0
        } else {
            self.head_of_queue as f64 / self.head_checked as f64
        }
    }

    /// Messages per second of wall time.
    pub fn msgs_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.counts.total as f64 / s
        } else {
            0.0
        }
    }
}

const UNKNOWN_TYPES: [u8; 5] = *b"ECXDU";

#[derive(Default)]
struct Sink {
    trades: u64,
    volume: u64,
    rejects: u64,
    /// Set when a cancel was rejected because the order is not live (an unknown reference: not
    /// counted as a reject).
    unknown_cancel: bool,
}

impl EventKindSink for Sink {
    #[inline(always)]
    fn emit(&mut self, kind: EventKind) {
        match kind {
            EventKind::Trade { qty, .. } => {
                self.trades += 1;
                self.volume += qty.0;
            }
            EventKind::Rejected {
                reason: RejectReason::UnknownOrder,
                ..
            } => self.unknown_cancel = true,
            EventKind::Rejected { .. } => self.rejects += 1,
            _ => {}
        }
    }
}

/// Replays ITCH messages into books, one per stock locate.
pub struct ItchReplay {
    cfg: ItchReplayConfig,
    books: Vec<Option<Box<Book>>>,
    sink: Sink,
    s: ItchReplaySummary,
}

impl ItchReplay {
    /// An empty replay.
    pub fn new(cfg: ItchReplayConfig) -> Self {
        ItchReplay {
            cfg,
            books: (0..=u16::MAX as usize).map(|_| None).collect(),
            sink: Sink::default(),
            s: ItchReplaySummary::default(),
        }
    }

    /// The book of a stock locate, if it had an add.
    pub fn book(&self, locate: u16) -> Option<&Book> {
        self.books[locate as usize].as_deref()
    }

    fn unknown(&mut self, t: u8) {
        self.s.unknown_refs += 1;
        if let Some(i) = UNKNOWN_TYPES.iter().position(|&u| u == t) {
            self.s.unknown_by_type[i] += 1;
        }
    }

    /// Creates the book of `locate` now (it is otherwise created on the locate's first add), so
    /// that its allocation is not timed with the replay. No-op if it exists.
    pub fn prepare(&mut self, locate: u16) -> Result<(), ItchReplayError> {
        let slot = &mut self.books[locate as usize];
        if slot.is_none() {
            let b = Book::new(InstrumentId(u32::from(locate)), self.cfg.book)
                .map_err(|source| ItchReplayError::Book { locate, source })?;
            *slot = Some(Box::new(b));
            self.s.books += 1;
        }
        Ok(())
    }

    fn add(
        &mut self,
        locate: u16,
        id: u64,
        side: Side,
        shares: u32,
        price: u32,
        now: u64,
    ) -> Result<(), ItchReplayError> {
        if self.books[locate as usize].is_none() {
            self.prepare(locate)?;
        }
        if let Some(book) = self.books[locate as usize].as_deref_mut() {
            let o = NewOrder {
                order_id: OrderId(id),
                price: price4(price),
                qty: Qty(u64::from(shares)),
                account: AccountId(0),
                instrument: InstrumentId(u32::from(locate)),
                side,
                ord_type: OrdType::Limit,
                tif: TimeInForce::Gtc,
                stp: StpMode::None,
                ..NewOrder::default()
            };
            book.new_order(&o, now, &mut self.sink);
        }
        Ok(())
    }

    fn execute(&mut self, t: u8, locate: u16, id: u64, shares: u32, now: u64) {
        let Some(book) = self.books[locate as usize].as_deref_mut() else {
            return self.unknown(t);
        };
        // One id lookup in the common case (a known order at the head of its level).
        if book.is_head_of_level(OrderId(id)) {
            self.s.head_of_queue += 1;
        } else if book.order(OrderId(id)).is_none() {
            return self.unknown(t);
        }
        self.s.head_checked += 1;
        if book.fill_resting(OrderId(id), Qty(u64::from(shares)), now, &mut self.sink) {
            self.s.executions += 1;
        } else {
            self.s.over_executions += 1;
        }
    }

    /// Applies one message. O(1) per message (book operations are O(1)).
    #[inline(always)]
    pub fn apply(&mut self, m: &ItchMessage<'_>) -> Result<(), ItchReplayError> {
        let t = m.msg_type();
        self.s.counts.add(t);
        let h = m.header();
        let (locate, now) = (h.stock_locate, h.timestamp);
        match m {
            ItchMessage::AddOrder(a) | ItchMessage::AddOrderMpid(a) => {
                self.add(locate, a.order_ref, a.side, a.shares, a.price, now)?;
            }
            ItchMessage::OrderExecuted(e) => {
                self.execute(t, locate, e.order_ref, e.executed_shares, now)
            }
            ItchMessage::OrderExecutedWithPrice(e) => {
                self.execute(t, locate, e.order_ref, e.executed_shares, now)
            }
            ItchMessage::OrderCancel(x) => {
                let id = OrderId(x.order_ref);
                let by = Qty(u64::from(x.cancelled_shares));
                match self.books[locate as usize].as_deref_mut() {
                    Some(book) => {
                        if !book.reduce_resting(id, by, &mut self.sink) {
                            if book.order(id).is_some() {
                                self.s.over_executions += 1;
                            } else {
                                self.unknown(t);
                            }
                        }
                    }
                    None => self.unknown(t),
                }
            }
            ItchMessage::OrderDelete(d) => {
                let id = OrderId(d.order_ref);
                match self.books[locate as usize].as_deref_mut() {
                    Some(book) => {
                        let c = CancelOrder {
                            order_id: id,
                            account: AccountId(0),
                            instrument: InstrumentId(u32::from(locate)),
                        };
                        self.sink.unknown_cancel = false;
                        book.cancel(&c, now, &mut self.sink);
                        if self.sink.unknown_cancel {
                            self.unknown(t);
                        }
                    }
                    None => self.unknown(t),
                }
            }
            ItchMessage::OrderReplace(u) => {
                let id = OrderId(u.original_order_ref);
                let side = match self.books[locate as usize].as_deref_mut() {
                    Some(book) => match book.order(id) {
                        Some(o) => {
                            let c = CancelOrder {
                                order_id: id,
                                account: AccountId(0),
                                instrument: InstrumentId(u32::from(locate)),
                            };
                            book.cancel(&c, now, &mut self.sink);
                            Some(o.side)
                        }
                        None => None,
                    },
                    None => None,
                };
                match side {
                    Some(side) => {
                        self.add(locate, u.new_order_ref, side, u.shares, u.price, now)?
                    }
                    None => self.unknown(t),
                }
            }
            ItchMessage::Trade(_) | ItchMessage::CrossTrade(_) => self.s.non_displayed_trades += 1,
            _ => {}
        }
        Ok(())
    }

    /// Replays a whole in-memory BinaryFILE; stops at the first decode error.
    pub fn run(&mut self, buf: &[u8]) -> Result<(), ItchReplayError> {
        let t0 = Instant::now();
        let mut r = Ok(());
        for item in ItchReader::new(buf) {
            match item {
                Ok((_, m)) => {
                    if let Err(e) = self.apply(&m) {
                        r = Err(e);
                        break;
                    }
                }
                Err(e) => {
                    r = Err(e.into());
                    break;
                }
            }
        }
        self.s.elapsed += t0.elapsed();
        r
    }

    /// The summary so far.
    pub fn summary(&self) -> ItchReplaySummary {
        let mut s = self.s.clone();
        s.trades = self.sink.trades;
        s.volume = self.sink.volume;
        s.rejects = self.sink.rejects;
        s.live_orders = self.books.iter().flatten().map(|b| b.live_orders()).sum();
        s
    }
}

/// Replays a whole buffer with a fresh [`ItchReplay`] and returns its summary.
pub fn replay(buf: &[u8], cfg: ItchReplayConfig) -> Result<ItchReplaySummary, ItchReplayError> {
    let mut r = ItchReplay::new(cfg);
    r.run(buf)?;
    Ok(r.summary())
}
