//! `ItchEncoder`: the engine's event stream → ITCH 5.0 messages describing the *visible resting
//! book* of every instrument, order by order.
//!
//! # What it needs
//! The whole event stream of the engine, in order, with `LevelChanged` events on (the book
//! default, `BookConfig::level_events`): `Accepted`, `Trade`, `Cancelled`, `Replaced`,
//! `Triggered`, `Expired`, `LevelChanged`, `InstrumentState` are read; `Rejected` and
//! `AccountState` are ignored. Events do not carry an order's type, time in force or iceberg
//! display size, so the encoder learns them from the stream itself: an order *rests* exactly when
//! a `LevelChanged` on its side and price reports one more order than the encoder's own view of
//! that level, and the visible quantity it rests with is the level's growth (this is how an
//! iceberg's displayed slice, a triggered stop-limit that rests and the remainder of an aggressor
//! are told apart from IOC/market/stop orders, which never produce such an event).
//!
//! # Mapping
//! | engine | ITCH |
//! |---|---|
//! | an order (or an aggressor's remainder, a triggered stop-limit, an iceberg slice) starts resting | `A` (order ref = ferrex order id) |
//! | `Trade` against a resting order | `E` (match number = the trade event's sequence number) |
//! | iceberg refill (visible reached 0, hidden left) | `E` for the fill (the slice is gone), then `A` of the new slice at the back of the queue |
//! | `Cancelled`/`Expired` of all leaves | `D` |
//! | partial cancel (STP decrement), modify keeping priority with a smaller visible size | `X` with the visible lots removed (hidden lots go first, as in the book) |
//! | modify losing priority, re-resting without trading | `U` with original and new ref both the ferrex id (or `D` + `A` with [`EncoderConfig::replace_as_delete_add`]) |
//! | modify losing priority that trades first | `D`, the `E`s of the makers it hits, then `A` for any remainder |
//! | `InstrumentState` | `H` (`H` halted, `T` otherwise) |
//! | start / [`ItchEncoder::end`] | `S` `O`, `R` per instrument, `S` `S`, `S` `Q` / `S` `M`, `S` `E`, `S` `C` |
//!
//! `P` (trade of non-displayed quantity) is never needed: every ferrex trade executes displayed
//! lots (an iceberg trades its visible slice, then refills).
//!
//! Messages are framed as in NASDAQ's BinaryFILE (u16 big-endian length, then the body) and
//! released per command: everything one command caused is held until the next command's first
//! event or [`ItchEncoder::flush`], so a consumer sees commands whole.
//!
//! Prices: ITCH `Price(4)` = ferrex ticks × the instrument's `units_per_tick`; timestamps are
//! `Event::time` modulo one day (engine time taken as nanoseconds since a midnight). A price or
//! size that does not fit the 32-bit ITCH field is counted in
//! [`EncoderStats::unencodable`] and that order is left out of the feed (with every later message
//! about it). Stock locate = instrument id + 1. Per-order state lives in a `HashMap` (this runs
//! off the engine thread). Nothing here panics on any event sequence.

use std::collections::HashMap;

use ferrex_types::{Event, EventKind, InstrumentId, Side, TradingState};

use super::itch_out;

/// One instrument of the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstrumentSpec {
    /// Symbol (ASCII, cut/padded to 8 bytes).
    pub symbol: String,
    /// ITCH price units (1/10000) per ferrex price tick.
    pub units_per_tick: u32,
    /// Round lot size announced in the stock directory.
    pub round_lot: u32,
}

impl InstrumentSpec {
    /// A spec with round lot 100.
    pub fn new(symbol: &str, units_per_tick: u32) -> InstrumentSpec {
        InstrumentSpec {
            symbol: symbol.to_string(),
            units_per_tick,
            round_lot: 100,
        }
    }
}

/// Encoder configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Instruments by id (`InstrumentId(i)` is `instruments[i]`). Events of an instrument beyond
    /// the list get a generated symbol `I<id>` and 1 unit per tick, announced on first use.
    pub instruments: Vec<InstrumentSpec>,
    /// Publish a priority-losing modify as `D` + `A` instead of `U`.
    pub replace_as_delete_add: bool,
}

/// Counters of what the encoder did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncoderStats {
    /// Events read.
    pub events: u64,
    /// Commands completed (distinct `cmd_seq` values seen, flushed).
    pub commands: u64,
    /// ITCH messages produced.
    pub messages: u64,
    /// `A` messages (new resting orders and refills).
    pub adds: u64,
    /// `E` messages.
    pub executions: u64,
    /// `X` messages.
    pub cancels: u64,
    /// `D` messages.
    pub deletes: u64,
    /// `U` messages.
    pub replaces: u64,
    /// Iceberg refills published.
    pub refills: u64,
    /// Refills whose size had to be guessed because no `LevelChanged` followed (level events
    /// off): the feed may then differ from the engine.
    pub refills_guessed: u64,
    /// Prices or sizes that do not fit the ITCH fields (the order is left out of the feed).
    pub unencodable: u64,
    /// Events that contradict the encoder's view (a `LevelChanged` that does not match its own
    /// level totals, a trade against an order it does not hold as resting, …). 0 on a complete
    /// stream with level events on.
    pub desyncs: u64,
}

#[derive(Clone, Copy, Debug)]
struct Inst {
    locate: Option<u16>,
    announced: bool,
    stock: [u8; 8],
    units_per_tick: u32,
}

#[derive(Clone, Copy, Debug)]
struct Ord {
    instrument: u32,
    side: Side,
    price: i64,
    leaves: u64,
    visible: u64,
    resting: bool,
    /// The ITCH consumer holds this order reference.
    published: bool,
    /// A priority-losing modify left the book; its `D` or `U` is not out yet.
    replace_pending: bool,
    /// Iceberg display size when known (0 = unknown).
    display_hint: u64,
}

type LevelKey = (u32, Side, i64);

/// The event → ITCH encoder (module docs have the rules).
#[derive(Debug)]
pub struct ItchEncoder {
    cfg: EncoderConfig,
    insts: Vec<Inst>,
    orders: HashMap<u64, Ord>,
    levels: HashMap<LevelKey, (u64, u32)>,
    started: bool,
    cur_cmd: Option<u64>,
    taker: Option<u64>,
    refill: Option<u64>,
    time: u64,
    cur: Vec<u8>,
    ready: Vec<u8>,
    stats: EncoderStats,
}

impl ItchEncoder {
    /// A new encoder; nothing is emitted until [`start`](Self::start) or the first event.
    pub fn new(cfg: EncoderConfig) -> ItchEncoder {
        let insts = cfg
            .instruments
            .iter()
            .enumerate()
            .map(|(i, s)| Inst {
                locate: u16::try_from(i + 1).ok(),
                announced: false,
                stock: itch_out::symbol(&s.symbol),
                units_per_tick: s.units_per_tick,
            })
            .collect();
        ItchEncoder {
            cfg,
            insts,
            orders: HashMap::new(),
            levels: HashMap::new(),
            started: false,
            cur_cmd: None,
            taker: None,
            refill: None,
            time: 0,
            cur: Vec::new(),
            ready: Vec::new(),
            stats: EncoderStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> EncoderStats {
        self.stats
    }

    /// Orders the encoder currently tracks (resting and pending).
    pub fn tracked_orders(&self) -> usize {
        self.orders.len()
    }

    /// Emits the start of day: system event `O`, a stock directory `R` per configured
    /// instrument, system events `S` and `Q`. Called by the first event if not called before;
    /// no-op afterwards.
    pub fn start(&mut self, time_ns: u64) {
        if self.started {
            return;
        }
        self.started = true;
        self.time = time_ns;
        self.system(b'O');
        for i in 0..self.insts.len() {
            self.directory(i);
        }
        self.system(b'S');
        self.system(b'Q');
        self.release();
    }

    /// Announces an order that already rests when the feed starts (books recovered from a
    /// journal or snapshot): emits the start of day if it is not out yet, then an `A` for the
    /// order at the back of its level with `visible` lots (`leaves - visible` is hidden iceberg
    /// quantity), and from then on tracks it like any other resting order. Call it for each
    /// resting order, level by level in queue order, before the first event. An id already
    /// tracked is counted in [`EncoderStats::desyncs`] and ignored.
    #[allow(clippy::too_many_arguments)]
    pub fn seed_resting(
        &mut self,
        time_ns: u64,
        instrument: InstrumentId,
        order_id: u64,
        side: Side,
        price_ticks: i64,
        leaves: u64,
        visible: u64,
    ) {
        self.start(time_ns);
        if self.orders.contains_key(&order_id) {
            self.stats.desyncs += 1;
            return;
        }
        self.orders.insert(
            order_id,
            Ord {
                instrument: instrument.0,
                side,
                price: price_ticks,
                leaves: leaves.max(visible),
                visible: 0,
                resting: false,
                published: false,
                replace_pending: false,
                display_hint: 0,
            },
        );
        self.place(order_id, visible);
        self.release();
    }

    /// Ends the current command and emits the end of day: system events `M`, `E`, `C`.
    pub fn end(&mut self, time_ns: u64) {
        self.start(time_ns);
        self.flush();
        self.time = self.time.max(time_ns);
        self.system(b'M');
        self.system(b'E');
        self.system(b'C');
        self.release();
    }

    /// Ends the current command: its messages become ready. Call it when the event source is
    /// idle and the current command is known to be complete (the last command is otherwise held
    /// until the next command's first event); see [`flush_through`](Self::flush_through).
    pub fn flush(&mut self) {
        if self.cur_cmd.take().is_some() {
            self.end_command();
        }
        self.release();
    }

    /// [`flush`](Self::flush) when the source guarantees that every event of the commands up to
    /// `complete` has been read: the current command is ended only if its `cmd_seq` is at most
    /// `complete` (otherwise the engine may still be emitting it: ending it early would place
    /// an accepted order before its level change arrives). Returns `true` when no command is
    /// left open.
    pub fn flush_through(&mut self, complete: u64) -> bool {
        match self.cur_cmd {
            Some(c) if c <= complete => {
                self.cur_cmd = None;
                self.end_command();
            }
            Some(_) => return false,
            None => {}
        }
        self.release();
        true
    }

    /// Bytes of ready messages (BinaryFILE framing).
    pub fn ready_bytes(&self) -> &[u8] {
        &self.ready
    }

    /// Forgets the ready messages (after reading [`ready_bytes`](Self::ready_bytes)).
    pub fn clear_ready(&mut self) {
        self.ready.clear();
    }

    /// Calls `f` with each ready message body (no length prefix), in order, and forgets them.
    pub fn take_ready(&mut self, mut f: impl FnMut(&[u8])) {
        let mut rest = &self.ready[..];
        while let Some(l) = rest.get(..2) {
            let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
            let Some(body) = rest.get(2..2 + len) else {
                break;
            };
            f(body);
            rest = &rest[2 + len..];
        }
        self.ready.clear();
    }

    /// Reads one engine event (module docs: which events matter and why).
    pub fn on_event(&mut self, ev: &Event) {
        self.start(ev.time);
        if self.cur_cmd != Some(ev.cmd_seq) {
            if self.cur_cmd.is_some() {
                self.end_command();
            }
            self.cur_cmd = Some(ev.cmd_seq);
        }
        self.time = ev.time;
        self.stats.events += 1;
        // A refill is confirmed by the LevelChanged right after its trade; only an event about
        // orders (not a risk state change the risk layer may slip in between) settles it
        // without one.
        if !matches!(
            ev.kind,
            EventKind::LevelChanged { .. }
                | EventKind::AccountState { .. }
                | EventKind::InstrumentState { .. }
                | EventKind::Rejected { .. }
        ) {
            self.settle_refill();
        }
        match ev.kind {
            EventKind::Accepted {
                order_id,
                instrument,
                side,
                price,
                qty,
                ..
            } => {
                if let Some(old) = self.orders.remove(&order_id.0) {
                    // A live id again: the stream missed its end. Take it out of the feed.
                    self.stats.desyncs += 1;
                    if old.resting {
                        self.level_sub(&old, old.visible, 1);
                    }
                    if old.published || old.replace_pending {
                        self.delete(order_id.0, old.instrument);
                    }
                }
                self.orders.insert(
                    order_id.0,
                    Ord {
                        instrument: instrument.0,
                        side,
                        price: price.0,
                        leaves: qty.0,
                        visible: 0,
                        resting: false,
                        published: false,
                        replace_pending: false,
                        display_hint: 0,
                    },
                );
                self.taker = Some(order_id.0);
            }
            EventKind::Trade {
                qty,
                maker_order_id,
                taker_order_id,
                maker_leaves,
                taker_leaves,
                ..
            } => {
                self.on_taker_trade(taker_order_id.0, taker_leaves.0);
                self.on_maker_trade(maker_order_id.0, qty.0, maker_leaves.0, ev.seq);
            }
            EventKind::Cancelled { order_id, qty, .. }
            | EventKind::Expired { order_id, qty, .. } => self.reduce(order_id.0, qty.0),
            EventKind::Replaced {
                order_id,
                price,
                qty,
                kept_priority,
                ..
            } => self.replaced(order_id.0, price.0, qty.0, kept_priority),
            EventKind::Triggered { order_id, .. } => {
                if self.orders.contains_key(&order_id.0) {
                    self.taker = Some(order_id.0);
                }
            }
            EventKind::LevelChanged {
                instrument,
                side,
                price,
                qty,
                orders,
            } => self.level_changed((instrument.0, side, price.0), qty.0, orders),
            EventKind::InstrumentState {
                instrument, state, ..
            } => {
                if let Some((locate, stock)) = self.inst(instrument.0) {
                    let code = if state == TradingState::Halted {
                        b'H'
                    } else {
                        b'T'
                    };
                    let t = self.time;
                    let at = self.begin();
                    itch_out::trading_action(&mut self.cur, locate, t, &stock, code);
                    self.finish(at);
                }
            }
            EventKind::Rejected { .. } | EventKind::AccountState { .. } => {}
        }
    }

    // ------------------------------------------------------------------ event handlers

    fn on_taker_trade(&mut self, id: u64, leaves: u64) {
        let Some(t) = self.orders.get_mut(&id) else {
            return;
        };
        if t.resting {
            self.stats.desyncs += 1;
            return;
        }
        t.leaves = leaves;
        let (pending, inst) = (t.replace_pending, t.instrument);
        if pending {
            t.replace_pending = false;
            t.published = false;
            self.delete(id, inst);
        }
        if leaves == 0 {
            self.orders.remove(&id);
            if self.taker == Some(id) {
                self.taker = None;
            }
        }
    }

    fn on_maker_trade(&mut self, id: u64, qty: u64, leaves: u64, match_number: u64) {
        let Some(m) = self.orders.get_mut(&id) else {
            self.stats.desyncs += 1;
            return;
        };
        if !m.resting {
            self.stats.desyncs += 1;
            return;
        }
        let q = if qty > m.visible {
            self.stats.desyncs += 1;
            m.visible
        } else {
            qty
        };
        m.visible -= q;
        m.leaves = leaves;
        let o = *m;
        if o.published
            && let Some((locate, _)) = self.inst(o.instrument)
            && let Ok(shares) = u32::try_from(q)
        {
            let t = self.time;
            let at = self.begin();
            itch_out::order_executed(&mut self.cur, locate, t, id, shares, match_number);
            self.finish(at);
            self.stats.executions += 1;
        }
        if o.visible == 0 {
            self.level_sub(&o, q, 1);
            if let Some(m) = self.orders.get_mut(&id) {
                m.resting = false;
                m.published = false;
            }
            if leaves == 0 {
                self.orders.remove(&id);
            } else {
                self.refill = Some(id);
            }
        } else {
            self.level_sub(&o, q, 0);
        }
    }

    /// `Cancelled` / `Expired` of `qty` lots.
    fn reduce(&mut self, id: u64, qty: u64) {
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        o.leaves = o.leaves.saturating_sub(qty);
        let o = *o;
        if o.resting {
            if o.leaves == 0 {
                self.level_sub(&o, o.visible, 1);
                self.orders.remove(&id);
                if o.published {
                    self.delete(id, o.instrument);
                }
            } else {
                let nv = o.visible.min(o.leaves);
                self.shrink_visible(id, &o, nv);
            }
        } else if o.leaves == 0 {
            self.orders.remove(&id);
            if o.replace_pending {
                self.delete(id, o.instrument);
            }
            if self.taker == Some(id) {
                self.taker = None;
            }
        }
    }

    fn replaced(&mut self, id: u64, price: i64, qty: u64, kept: bool) {
        let Some(o) = self.orders.get_mut(&id) else {
            self.stats.desyncs += 1;
            return;
        };
        if !o.resting {
            self.stats.desyncs += 1;
            return;
        }
        if kept {
            o.leaves = qty;
            let o = *o;
            if o.price != price {
                self.stats.desyncs += 1;
            }
            let nv = o.visible.min(qty);
            self.shrink_visible(id, &o, nv);
            return;
        }
        let old = *o;
        o.resting = false;
        o.price = price;
        o.leaves = qty;
        o.visible = 0;
        if old.published {
            if self.cfg.replace_as_delete_add {
                o.published = false;
                self.delete(id, old.instrument);
            } else {
                o.replace_pending = true;
            }
        }
        self.level_sub(&old, old.visible, 1);
        self.taker = Some(id);
    }

    fn level_changed(&mut self, key: LevelKey, qty: u64, orders: u32) {
        let (aq, ao) = self.levels.get(&key).copied().unwrap_or((0, 0));
        let grows = orders == ao.wrapping_add(1) && qty >= aq;
        if grows {
            for cand in [self.refill, self.taker].into_iter().flatten() {
                let Some(o) = self.orders.get(&cand) else {
                    continue;
                };
                if !o.resting && (o.instrument, o.side, o.price) == key {
                    let is_refill = self.refill == Some(cand);
                    self.place(cand, qty - aq);
                    if is_refill {
                        self.refill = None;
                        self.stats.refills += 1;
                    } else {
                        self.taker = None;
                    }
                    return;
                }
            }
        }
        if (aq, ao) != (qty, orders) {
            self.stats.desyncs += 1;
        }
    }

    // ------------------------------------------------------------------ book view helpers

    /// The order starts resting (at the back of its level) with `visible` lots.
    fn place(&mut self, id: u64, visible: u64) {
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        o.visible = visible;
        o.resting = true;
        if visible < o.leaves {
            o.display_hint = visible;
        }
        let pending = o.replace_pending;
        o.replace_pending = false;
        let o = *o;
        let e = self
            .levels
            .entry((o.instrument, o.side, o.price))
            .or_default();
        e.0 = e.0.saturating_add(visible);
        e.1 = e.1.saturating_add(1);
        let enc = self.inst(o.instrument).and_then(|(locate, stock)| {
            let px = self.price(o.instrument, o.price)?;
            Some((locate, stock, px, u32::try_from(visible).ok()?))
        });
        let Some((locate, stock, px, shares)) = enc else {
            self.stats.unencodable += 1;
            if pending {
                self.delete(id, o.instrument);
            }
            if let Some(m) = self.orders.get_mut(&id) {
                m.published = false;
            }
            return;
        };
        let t = self.time;
        let at = self.begin();
        if pending {
            itch_out::order_replace(&mut self.cur, locate, t, id, id, shares, px);
            self.stats.replaces += 1;
        } else {
            itch_out::add_order(&mut self.cur, locate, t, id, o.side, shares, &stock, px);
            self.stats.adds += 1;
        }
        self.finish(at);
        if let Some(m) = self.orders.get_mut(&id) {
            m.published = true;
        }
    }

    /// A resting order's visible quantity drops to `nv` in place (priority kept): `X`.
    fn shrink_visible(&mut self, id: u64, o: &Ord, nv: u64) {
        if nv >= o.visible {
            return;
        }
        let by = o.visible - nv;
        self.level_sub(o, by, 0);
        if let Some(m) = self.orders.get_mut(&id) {
            m.visible = nv;
        }
        if o.published
            && let Some((locate, _)) = self.inst(o.instrument)
            && let Ok(shares) = u32::try_from(by)
        {
            let t = self.time;
            let at = self.begin();
            itch_out::order_cancel(&mut self.cur, locate, t, id, shares);
            self.finish(at);
            self.stats.cancels += 1;
        }
    }

    fn level_sub(&mut self, o: &Ord, qty: u64, orders: u32) {
        let key = (o.instrument, o.side, o.price);
        if let Some(e) = self.levels.get_mut(&key) {
            e.0 = e.0.saturating_sub(qty);
            e.1 = e.1.saturating_sub(orders);
            if e.1 == 0 {
                self.levels.remove(&key);
            }
        }
    }

    /// A refill that no `LevelChanged` confirmed (level events off): guess its size.
    fn settle_refill(&mut self) {
        let Some(id) = self.refill.take() else {
            return;
        };
        let Some(o) = self.orders.get(&id) else {
            return;
        };
        let size = if o.display_hint > 0 {
            o.display_hint.min(o.leaves)
        } else {
            o.leaves
        };
        self.stats.refills_guessed += 1;
        self.place(id, size);
    }

    fn end_command(&mut self) {
        self.settle_refill();
        if let Some(id) = self.taker.take()
            && let Some(o) = self.orders.get_mut(&id)
            && o.replace_pending
        {
            // A re-priced order that neither traded, rested nor was cancelled: cannot happen
            // with a complete stream; keep the consumer's book honest anyway.
            o.replace_pending = false;
            o.published = false;
            let inst = o.instrument;
            self.stats.desyncs += 1;
            self.delete(id, inst);
        }
        self.stats.commands += 1;
        self.release();
    }

    // ------------------------------------------------------------------ output

    fn release(&mut self) {
        if self.ready.is_empty() {
            std::mem::swap(&mut self.ready, &mut self.cur);
        } else {
            self.ready.extend_from_slice(&self.cur);
            self.cur.clear();
        }
    }

    fn begin(&mut self) -> usize {
        let at = self.cur.len();
        self.cur.extend_from_slice(&[0, 0]);
        at
    }

    fn finish(&mut self, at: usize) {
        let len = self.cur.len() - at - 2;
        self.cur[at..at + 2].copy_from_slice(&(len as u16).to_be_bytes());
        self.stats.messages += 1;
    }

    fn system(&mut self, code: u8) {
        let t = self.time;
        let at = self.begin();
        itch_out::system_event(&mut self.cur, t, code);
        self.finish(at);
    }

    fn directory(&mut self, i: usize) {
        let Some(inst) = self.insts.get(i).copied() else {
            return;
        };
        if let Some(x) = self.insts.get_mut(i) {
            x.announced = true;
        }
        let Some(locate) = inst.locate else {
            self.stats.unencodable += 1;
            return;
        };
        let lot = self.cfg.instruments.get(i).map_or(100, |s| s.round_lot);
        let t = self.time;
        let at = self.begin();
        itch_out::stock_directory(&mut self.cur, locate, t, &inst.stock, lot);
        self.finish(at);
    }

    /// Locate and symbol of an instrument, announcing generated ones on first use.
    fn inst(&mut self, id: u32) -> Option<(u16, [u8; 8])> {
        let i = id as usize;
        if i >= self.insts.len() {
            if i >= usize::from(u16::MAX) {
                return None;
            }
            for j in self.insts.len()..=i {
                self.insts.push(Inst {
                    locate: u16::try_from(j + 1).ok(),
                    announced: false,
                    stock: itch_out::symbol(&format!("I{}", InstrumentId(j as u32))),
                    units_per_tick: 1,
                });
            }
        }
        if !self.insts.get(i)?.announced {
            self.directory(i);
        }
        let inst = self.insts.get(i)?;
        Some((inst.locate?, inst.stock))
    }

    fn price(&self, instrument: u32, ticks: i64) -> Option<u32> {
        let upt = self.insts.get(instrument as usize)?.units_per_tick;
        let p = i128::from(ticks).checked_mul(i128::from(upt))?;
        u32::try_from(p).ok()
    }

    fn delete(&mut self, id: u64, instrument: u32) {
        if let Some((locate, _)) = self.inst(instrument) {
            let t = self.time;
            let at = self.begin();
            itch_out::order_delete(&mut self.cur, locate, t, id);
            self.finish(at);
            self.stats.deletes += 1;
        }
    }
}
