//! `Engine`: sequencer + routing to books + event stamping.

use ferrex_book::{Book, BookConfig, BookConfigError};
use ferrex_risk::{Market, MarketView, OrderSnapshot, Risk, RiskAction, RiskReject};
use ferrex_types::{
    AccountId, CancelOrder, CancelReason, Command, CommandKind, Event, EventKind, EventKindSink,
    EventSink, FnvHasher, InstrumentId, MassCancel, ModifyOrder, OrderId, Price, RejectReason,
};
use std::hash::Hasher;

// Snapshot and restore: a child module so it reads the engine's private fields.
#[path = "snapshot.rs"]
pub(crate) mod snapshot;

/// Engine configuration: one book configuration per instrument; `InstrumentId(i)` is
/// `instruments[i]`.
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    /// Book configuration of each instrument, indexed by instrument id.
    pub instruments: Vec<BookConfig>,
}

impl EngineConfig {
    /// One instrument (`InstrumentId(0)`) with the given book configuration.
    pub fn single(book: BookConfig) -> EngineConfig {
        EngineConfig {
            instruments: vec![book],
        }
    }
}

/// Configuration refused at start-up.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No instrument configured.
    #[error("engine config: `instruments` is empty; configure at least one instrument")]
    NoInstruments,
    /// A book configuration is invalid.
    #[error("engine config: instrument {instrument}: {source:?}")]
    Book {
        /// Index of the instrument.
        instrument: u32,
        /// What is wrong with it.
        source: BookConfigError,
    },
}

/// The engine: owns the books, numbers commands and events.
///
/// Cost: `process` is the book operation plus a few compares; GTD expiry costs one compare per
/// command unless an expiry is due.
pub struct Engine {
    books: Vec<Book>,
    /// The pre-trade risk layer, when configured.
    risk: Option<Risk>,
    /// Preallocated scratch for market-maker-protection cancels.
    mmp_buf: Vec<(InstrumentId, OrderId)>,
    /// The risk actions of the current command (only its first `n_actions` are read, so it is
    /// never cleared: no per-command initialisation).
    risk_actions: [RiskAction; 4],
    cmd_seq: u64,
    event_seq: u64,
    last_time: u64,
    /// Earliest GTD expiry over all books (`u64::MAX` when none).
    next_expiry: u64,
    /// The command loop's one test for "anything but a plain apply": `next_expiry` without a
    /// risk layer, 0 with one (every command then takes the risk path). One compare instead of
    /// a test of the risk option and a compare with `next_expiry`. Kept equal to `next_expiry`
    /// wherever the risk-free path changes that.
    gate: u64,
}

/// Stamps book events with sequence numbers and forwards them to the user's sink.
struct Stamper<'a, S: EventSink> {
    event_seq: &'a mut u64,
    cmd_seq: u64,
    time: u64,
    sink: &'a mut S,
}

impl<S: EventSink> EventKindSink for Stamper<'_, S> {
    #[inline(always)]
    fn emit(&mut self, kind: EventKind) {
        *self.event_seq += 1;
        self.sink.on_event(&Event {
            seq: *self.event_seq,
            cmd_seq: self.cmd_seq,
            time: self.time,
            kind,
        });
    }
}

impl Engine {
    /// Build the engine and preallocate every book. Refuses an invalid configuration.
    pub fn new(cfg: EngineConfig) -> Result<Engine, EngineError> {
        if cfg.instruments.is_empty() {
            return Err(EngineError::NoInstruments);
        }
        let mut books = Vec::with_capacity(cfg.instruments.len());
        for (i, bc) in cfg.instruments.iter().enumerate() {
            let id = InstrumentId(i as u32);
            let book = Book::new(id, *bc).map_err(|source| EngineError::Book {
                instrument: i as u32,
                source,
            })?;
            books.push(book);
        }
        Ok(Engine {
            books,
            risk: None,
            mmp_buf: Vec::new(),
            risk_actions: [RiskAction::None; 4],
            cmd_seq: 0,
            event_seq: 0,
            last_time: 0,
            next_expiry: u64::MAX,
            gate: u64::MAX,
        })
    }

    /// Build the engine with the pre-trade risk layer. Each instrument's tick, lot, price range
    /// and market protection come from the risk configuration where it names the instrument, so
    /// the book and the risk checks agree.
    pub fn with_risk(mut cfg: EngineConfig, risk: Risk) -> Result<Engine, EngineError> {
        for (i, b) in cfg.instruments.iter_mut().enumerate() {
            if let Some(p) = risk.book_params(InstrumentId(i as u32)) {
                b.tick_size = p.tick_size;
                b.lot_size = p.lot_size;
                b.min_price = p.min_price;
                b.max_price = p.max_price;
                b.market_protection_ticks = p.market_protection_ticks;
            }
        }
        let cap: usize = cfg
            .instruments
            .iter()
            .map(|b| b.max_orders as usize)
            .sum::<usize>()
            .min(1 << 20);
        let mut e = Engine::new(cfg)?;
        e.risk = Some(risk);
        e.gate = 0;
        e.mmp_buf = Vec::with_capacity(cap);
        Ok(e)
    }

    /// Touch every page of the engine's preallocated memory (books, risk tables, scratch) so
    /// the first commands do not take page faults. Start-up only; state unchanged.
    pub fn prefault(&mut self) {
        for b in &mut self.books {
            b.prefault();
        }
        if let Some(r) = self.risk.as_mut() {
            r.prefault();
        }
        ferrex_types::prefault(&mut self.mmp_buf);
    }

    /// The risk layer, when configured (read its positions, exposure, states).
    pub fn risk(&self) -> Option<&Risk> {
        self.risk.as_ref()
    }

    /// Process one command: sequence it, expire due GTD orders, run the risk checks, apply it,
    /// emit its events.
    ///
    /// Always inlined into the caller's loop (a replay driver, the runtime's poll loop, a
    /// benchmark): the call, its register saves and the re-dispatch on a command kind the caller
    /// just built cost about a seventh of a plain add or cancel. The risk path is inlined too:
    /// out of line it cost a call, a full register save and an out-of-line book cancel per
    /// command, about 32 instructions per command with risk on (mixed stream of
    /// `examples/risk_cost.rs`), against about 1.7 more per command with risk off now that both
    /// paths share the caller's loop.
    #[inline(always)]
    pub fn process<S: EventSink>(&mut self, cmd: &Command, sink: &mut S) {
        let time = if cmd.time > self.last_time {
            cmd.time
        } else {
            self.last_time
        };
        self.last_time = time;
        self.cmd_seq += 1;
        // One compare with `gate` tells the common case (no risk layer, no GTD expiry due) from
        // both others. A new order is classified (fast path or not) before the expiry call: its
        // fields are read while they are still registers or constants. Read after the call,
        // they came from memory, because the command's address escapes into out-of-line calls
        // (the risk path, the book's general path) that the call might have stored.
        let plain = if time >= self.gate {
            if self.risk.is_some() {
                self.process_risk(cmd, time, sink);
                return;
            }
            let plain = is_plain_new(cmd);
            self.expire_due(time, sink);
            plain
        } else {
            is_plain_new(cmd)
        };
        let mut out = Stamper {
            event_seq: &mut self.event_seq,
            cmd_seq: self.cmd_seq,
            time,
            sink,
        };
        apply_classified(
            &mut self.books,
            &mut self.next_expiry,
            &mut self.gate,
            cmd,
            plain,
            time,
            &mut out,
        );
    }

    /// Expires the due GTD orders of every book (no risk layer; `time` and `cmd_seq` set) and
    /// moves `next_expiry` and `gate` on. Cold and out of line: the command loop's risk path
    /// stays its fall-through.
    #[cold]
    #[inline(never)]
    fn expire_due<S: EventSink>(&mut self, time: u64, sink: &mut S) {
        let mut out = Stamper {
            event_seq: &mut self.event_seq,
            cmd_seq: self.cmd_seq,
            time,
            sink,
        };
        self.next_expiry = expire_all(&mut self.books, time, &mut out);
        self.gate = self.next_expiry;
    }

    /// `process` with the pre-trade risk layer (already sequenced: `time` and `cmd_seq` set):
    /// one dispatch on the command (its check, then its book); the check of a new order is one
    /// out-of-line call in the risk layer answering in a register. The tap that feeds book
    /// events back to the risk layer is built only where a book is called: more than half the
    /// commands of a busy stream are refused by their check, and for those its fields were
    /// stores and its action count a compare for nothing.
    #[inline(always)]
    fn process_risk<S: EventSink>(&mut self, cmd: &Command, time: u64, sink: &mut S) {
        let mut out = Stamper {
            event_seq: &mut self.event_seq,
            cmd_seq: self.cmd_seq,
            time,
            sink,
        };
        let Some(risk) = self.risk.as_mut() else {
            return;
        };
        risk.tick(time, &mut out);
        // Actions asked for by the events of this command (expiry first, then the command).
        let mut n_actions = 0;
        if time >= self.next_expiry {
            let mut tap = RiskTap::<_, false>::new(risk, &mut out, time, &mut self.risk_actions, 0);
            self.next_expiry = expire_all(&mut self.books, time, &mut tap);
            n_actions = tap.n_actions;
        }
        // One dispatch on the command: its pre-trade check, then its book.
        match cmd.kind {
            CommandKind::New(ref o) => match self.books.get_mut(o.instrument.0 as usize) {
                Some(book) => {
                    let res = risk.check_new_entering(o, time, BookMarket(book));
                    if verdict(risk, res, o.order_id, o.account, o.instrument, &mut out) {
                        let mut tap = RiskTap::<_, true>::new(
                            risk,
                            &mut out,
                            time,
                            &mut self.risk_actions,
                            n_actions,
                        );
                        book.new_order(o, time, &mut tap);
                        n_actions = tap.n_actions;
                        if let Some(t) = book.next_expiry() {
                            self.next_expiry = self.next_expiry.min(t);
                        }
                    }
                }
                // The book step rejects the unknown instrument; the message still counts
                // against the account's throttle (`Risk::check_message`). `refused_message`
                // written out here, not called: the call, even out of line, changed how the
                // no-risk path around it compiled (QuantCup +13,639 Ir; see that function).
                None => {
                    let res = risk.check_message(o.account, time);
                    if verdict(risk, res, o.order_id, o.account, o.instrument, &mut out) {
                        reject_unknown_instrument(o.order_id, o.account, o.instrument, &mut out)
                    }
                }
            },
            CommandKind::Cancel(ref c) => {
                let res = risk.check_cancel(c, time);
                if verdict(risk, res, c.order_id, c.account, c.instrument, &mut out) {
                    match self.books.get_mut(c.instrument.0 as usize) {
                        Some(book) => {
                            let mut tap = RiskTap::<_, false>::new(
                                risk,
                                &mut out,
                                time,
                                &mut self.risk_actions,
                                n_actions,
                            );
                            book.cancel(c, time, &mut tap);
                            n_actions = tap.n_actions;
                        }
                        None => {
                            reject_unknown_instrument(c.order_id, c.account, c.instrument, &mut out)
                        }
                    }
                }
            }
            CommandKind::Modify(_) | CommandKind::MassCancel(_) | CommandKind::Risk(_) => {
                n_actions = risk_rare(
                    &mut self.books,
                    risk,
                    &mut out,
                    &mut self.risk_actions,
                    n_actions,
                    cmd,
                    time,
                );
            }
        }
        if n_actions != 0 {
            let actions = self.risk_actions;
            for a in &actions[..n_actions] {
                risk_action(&mut self.books, risk, &mut self.mmp_buf, *a, time, &mut out);
            }
        }
    }

    /// Process a batch of commands in order.
    pub fn process_all<S: EventSink>(&mut self, cmds: &[Command], sink: &mut S) {
        for c in cmds {
            self.process(c, sink);
        }
    }

    /// The book of an instrument.
    pub fn book(&self, id: InstrumentId) -> Option<&Book> {
        self.books.get(id.0 as usize)
    }

    /// Mutable access to a book (replay drivers use the book's replay helpers through it).
    pub fn book_mut(&mut self, id: InstrumentId) -> Option<&mut Book> {
        self.books.get_mut(id.0 as usize)
    }

    /// All books, indexed by instrument id.
    pub fn books(&self) -> &[Book] {
        &self.books
    }

    /// Commands processed so far (the last command sequence number).
    pub fn cmd_seq(&self) -> u64 {
        self.cmd_seq
    }

    /// Events emitted so far (the last event sequence number).
    pub fn event_seq(&self) -> u64 {
        self.event_seq
    }

    /// Engine time of the last command.
    pub fn time(&self) -> u64 {
        self.last_time
    }

    /// The sequence number and engine time the next [`process`](Self::process) of `cmd` will
    /// stamp (what a journal records before the command is applied: replaying `cmd` with that
    /// time gives the same events). Cost: one compare.
    #[inline]
    pub fn next_stamp(&self, cmd: &Command) -> (u64, u64) {
        (self.cmd_seq + 1, cmd.time.max(self.last_time))
    }

    /// A hash of the whole engine state (every book's state hash and the sequence numbers).
    /// Two engines fed the same commands have the same state hash.
    pub fn state_hash(&self) -> u64 {
        let mut h = FnvHasher::default();
        h.write_u64(self.cmd_seq);
        h.write_u64(self.event_seq);
        for b in &self.books {
            h.write_u64(b.state_hash());
        }
        h.finish()
    }

    /// Bytes preallocated by all books.
    pub fn memory_bytes(&self) -> usize {
        self.books.iter().map(Book::memory_bytes).sum()
    }
}

/// The book as the market a new-order check reads: each value is read from the book only when
/// the check needs it (a plain limit order reads the last trade for its price band, or nothing).
#[derive(Clone, Copy)]
struct BookMarket<'a>(&'a Book);

impl Market for BookMarket<'_> {
    #[inline(always)]
    fn best_bid(&self) -> Option<Price> {
        self.0.best_bid()
    }
    #[inline(always)]
    fn best_ask(&self) -> Option<Price> {
        self.0.best_ask()
    }
    #[inline(always)]
    fn last_trade(&self) -> Option<Price> {
        self.0.last_trade_price()
    }
}

/// The commands of `process_risk` other than new orders and cancels (modify, mass cancel,
/// risk commands), out of line so the hot arms keep the command loop's registers. Returns the
/// action count.
#[inline(never)]
fn risk_rare<K: EventKindSink>(
    books: &mut [Book],
    risk: &mut Risk,
    out: &mut K,
    actions: &mut [RiskAction; 4],
    n_actions: usize,
    cmd: &Command,
    time: u64,
) -> usize {
    let mut tap = RiskTap::<_, false>::new(risk, out, time, actions, n_actions);
    match cmd.kind {
        CommandKind::Modify(ref m) => modify_risk(books, &mut tap, m, time),
        CommandKind::MassCancel(ref mc) => mass_cancel(books, mc, time, &mut tap),
        CommandKind::Risk(ref c) => {
            let a = tap.risk.control(c, time, tap.out);
            tap.push(a);
        }
        CommandKind::New(_) | CommandKind::Cancel(_) => {}
    }
    tap.n_actions
}

/// Carry out what the risk layer asked for: kill-switch and MMP cancels (cold path).
#[inline(never)]
fn risk_action<K: EventKindSink>(
    books: &mut [Book],
    risk: &mut Risk,
    mmp_buf: &mut Vec<(InstrumentId, OrderId)>,
    action: RiskAction,
    time: u64,
    out: &mut K,
) {
    // Cancels cannot trip further actions: what they would push is never read.
    let mut unused = [RiskAction::None; 4];
    let mut tap = RiskTap {
        risk,
        out,
        now: time,
        actions: &mut unused,
        n_actions: 0,
    };
    match action {
        RiskAction::None => {}
        RiskAction::CancelAccount(a) => {
            let mut kill = Relabel {
                inner: &mut tap,
                reason: CancelReason::Kill,
            };
            for book in books.iter_mut() {
                book.mass_cancel(a, time, &mut kill);
            }
        }
        RiskAction::CancelMmp(a) => {
            cancel_mmp(books, mmp_buf, a, time, &mut tap);
        }
        RiskAction::CancelMmpBoth(a, b) => {
            cancel_mmp(books, mmp_buf, a, time, &mut tap);
            cancel_mmp(books, mmp_buf, b, time, &mut tap);
        }
    }
    // Cancels cannot trip further actions (MMP counts fills, kills come from commands).
}

/// Expire due GTD orders on every book; returns the next expiry time over all books.
#[inline(never)]
fn expire_all<K: EventKindSink>(books: &mut [Book], time: u64, out: &mut K) -> u64 {
    let mut next = u64::MAX;
    for book in books.iter_mut() {
        book.expire(time, out);
        if let Some(t) = book.next_expiry() {
            next = next.min(t);
        }
    }
    next
}

/// True when `cmd` is a new order that [`Book::is_plain_limit`] accepts.
#[inline(always)]
fn is_plain_new(cmd: &Command) -> bool {
    matches!(cmd.kind, CommandKind::New(ref o) if Book::is_plain_limit(o))
}

/// Route one (non-risk) command to its book, with `plain` = [`is_plain_new`]`(cmd)` computed
/// by the caller; a new GTD order lowers `gate` with `next_expiry`.
#[inline(always)]
#[allow(clippy::too_many_arguments)] // the engine's fields, borrowed one by one
fn apply_classified<K: EventKindSink>(
    books: &mut [Book],
    next_expiry: &mut u64,
    gate: &mut u64,
    cmd: &Command,
    plain: bool,
    time: u64,
    out: &mut K,
) {
    match cmd.kind {
        CommandKind::New(ref o) => match books.get_mut(o.instrument.0 as usize) {
            Some(book) => {
                book.new_order_classified(o, plain, time, out);
                // A plain order is GTC: it adds no expiry, and the fills it makes can only
                // remove some, so the earliest expiry cannot move earlier (a later one is
                // found when `expire_due` runs).
                if !plain && let Some(t) = book.next_expiry() {
                    *next_expiry = (*next_expiry).min(t);
                    *gate = (*gate).min(t);
                }
            }
            None => reject_unknown_instrument(o.order_id, o.account, o.instrument, out),
        },
        CommandKind::Cancel(ref c) => match books.get_mut(c.instrument.0 as usize) {
            Some(book) => book.cancel(c, time, out),
            None => reject_unknown_instrument(c.order_id, c.account, c.instrument, out),
        },
        CommandKind::Modify(ref m) => match books.get_mut(m.instrument.0 as usize) {
            Some(book) => book.modify(m, time, out),
            None => reject_unknown_instrument(m.order_id, m.account, m.instrument, out),
        },
        CommandKind::MassCancel(ref mc) => mass_cancel(books, mc, time, out),
        CommandKind::Risk(_) => out.emit(EventKind::Rejected {
            order_id: OrderId(0),
            account: AccountId(0),
            instrument: InstrumentId(0),
            reason: RejectReason::RiskNotConfigured,
            limit: 0,
            value: 0,
        }),
    }
}

/// A mass cancel: by account in one book, or by account in every book.
#[inline(always)]
fn mass_cancel<K: EventKindSink>(books: &mut [Book], mc: &MassCancel, time: u64, out: &mut K) {
    match mc.instrument {
        Some(i) => match books.get_mut(i.0 as usize) {
            Some(book) => book.mass_cancel(mc.account, time, out),
            None => reject_unknown_instrument(OrderId(0), mc.account, i, out),
        },
        None => {
            for book in books.iter_mut() {
                book.mass_cancel(mc.account, time, out);
            }
        }
    }
}

/// A modify with the risk layer: its pre-trade check (when the book knows the order), then the
/// book. Unknown instruments and orders are left to the book step, which rejects them, after
/// the throttle has counted the message (`Risk::check_message`).
#[inline(never)]
fn modify_risk<K: EventKindSink>(
    books: &mut [Book],
    tap: &mut RiskTap<'_, K>,
    m: &ModifyOrder,
    time: u64,
) {
    let Some(book) = books.get_mut(m.instrument.0 as usize) else {
        refused_message(tap.risk, m.order_id, m.account, m.instrument, time, tap.out);
        return;
    };
    let Some(old) = book.order(m.order_id) else {
        let res = tap.risk.check_message(m.account, time);
        if verdict(tap.risk, res, m.order_id, m.account, m.instrument, tap.out) {
            book.modify(m, time, tap);
        }
        return;
    };
    let snap = OrderSnapshot {
        side: old.side,
        price: old.price,
        leaves: old.leaves,
    };
    let mkt = MarketView {
        best_bid: book.best_bid(),
        best_ask: book.best_ask(),
        last_trade: book.last_trade_price(),
    };
    let res = tap.risk.check_modify(m, &snap, time, &mkt);
    if verdict(tap.risk, res, m.order_id, m.account, m.instrument, tap.out) {
        book.modify(m, time, tap);
    }
}

/// A modify naming an instrument with no book, with the risk layer: the message counts against
/// the account's throttle (`Risk::check_message`), then is refused (the throttle's reject, or
/// `UnknownInstrument`). Out of line: it is never on the hot path.
#[cold]
#[inline(never)]
fn refused_message<K: EventKindSink>(
    risk: &mut Risk,
    order_id: OrderId,
    account: AccountId,
    instrument: InstrumentId,
    time: u64,
    out: &mut K,
) {
    let res = risk.check_message(account, time);
    if verdict(risk, res, order_id, account, instrument, out) {
        reject_unknown_instrument(order_id, account, instrument, out);
    }
}

/// The outcome of a pre-trade check: true when the command may reach the book, else emits the
/// reject (and any queued risk events) and returns false.
#[inline(always)]
fn verdict<K: EventKindSink>(
    risk: &mut Risk,
    res: Result<(), RiskReject>,
    order_id: OrderId,
    account: AccountId,
    instrument: InstrumentId,
    out: &mut K,
) -> bool {
    match res {
        Ok(()) => true,
        Err(RiskReject {
            reason,
            limit,
            value,
        }) => {
            out.emit(EventKind::Rejected {
                order_id,
                account,
                instrument,
                reason,
                limit,
                value,
            });
            risk.flush(out);
            false
        }
    }
}

/// Cancel an account's market-maker-protection orders (copied out of the risk layer first).
fn cancel_mmp<K: EventKindSink>(
    books: &mut [Book],
    buf: &mut Vec<(InstrumentId, OrderId)>,
    account: AccountId,
    time: u64,
    tap: &mut RiskTap<'_, K>,
) {
    buf.clear();
    for o in tap.risk.mmp_orders(account) {
        if buf.len() == buf.capacity() {
            break;
        }
        buf.push(o);
    }
    let mut mmp = Relabel {
        inner: tap,
        reason: CancelReason::Mmp,
    };
    for &(instrument, order_id) in buf.iter() {
        if let Some(book) = books.get_mut(instrument.0 as usize) {
            book.cancel(
                &CancelOrder {
                    order_id,
                    account,
                    instrument,
                },
                time,
                &mut mmp,
            );
        }
    }
}

/// Forwards book events to the output and feeds each to the risk layer, collecting the actions
/// it asks for. `ENTERED`: the tap of the book call entering the new order whose check just
/// passed, whose events go to [`Risk::on_entered_event`] (its `Accepted` is that order's).
struct RiskTap<'a, K: EventKindSink, const ENTERED: bool = false> {
    risk: &'a mut Risk,
    out: &'a mut K,
    now: u64,
    actions: &'a mut [RiskAction; 4],
    n_actions: usize,
}

impl<'a, K: EventKindSink, const ENTERED: bool> RiskTap<'a, K, ENTERED> {
    #[inline(always)]
    fn new(
        risk: &'a mut Risk,
        out: &'a mut K,
        now: u64,
        actions: &'a mut [RiskAction; 4],
        n_actions: usize,
    ) -> Self {
        RiskTap {
            risk,
            out,
            now,
            actions,
            n_actions,
        }
    }

    #[inline(always)]
    fn push(&mut self, a: RiskAction) {
        if a != RiskAction::None && self.n_actions < self.actions.len() {
            self.actions[self.n_actions] = a;
            self.n_actions += 1;
        }
    }
}

impl<K: EventKindSink, const ENTERED: bool> EventKindSink for RiskTap<'_, K, ENTERED> {
    #[inline(always)]
    fn emit(&mut self, kind: EventKind) {
        self.out.emit(kind);
        let a = if ENTERED {
            self.risk.on_entered_event(&kind, self.now, self.out)
        } else {
            self.risk.on_event(&kind, self.now, self.out)
        };
        self.push(a);
    }
}

/// Rewrites the reason of the cancels a mass cancel / cancel emits (kill switch, MMP).
struct Relabel<'a, K: EventKindSink> {
    inner: &'a mut K,
    reason: CancelReason,
}

impl<K: EventKindSink> EventKindSink for Relabel<'_, K> {
    fn emit(&mut self, mut kind: EventKind) {
        if let EventKind::Cancelled { ref mut reason, .. } = kind {
            *reason = self.reason;
        }
        self.inner.emit(kind);
    }
}

#[inline(never)]
fn reject_unknown_instrument<K: EventKindSink + ?Sized>(
    order_id: OrderId,
    account: AccountId,
    instrument: InstrumentId,
    out: &mut K,
) {
    out.emit(EventKind::Rejected {
        order_id,
        account,
        instrument,
        reason: RejectReason::UnknownInstrument,
        limit: 0,
        value: i64::from(instrument.0),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrex_types::*;

    fn two_books() -> Engine {
        let b = BookConfig {
            max_orders: 1024,
            dense_levels: 256,
            level_events: false,
            ..BookConfig::default()
        };
        Engine::new(EngineConfig {
            instruments: vec![b, b],
        })
        .unwrap()
    }

    fn new(
        id: u64,
        account: u32,
        instrument: u32,
        side: Side,
        price: i64,
        qty: u64,
    ) -> CommandKind {
        CommandKind::New(NewOrder {
            order_id: OrderId(id),
            account: AccountId(account),
            instrument: InstrumentId(instrument),
            side,
            price: Price(price),
            qty: Qty(qty),
            ..NewOrder::default()
        })
    }

    #[test]
    fn empty_config_is_refused() {
        assert!(matches!(
            Engine::new(EngineConfig::default()),
            Err(EngineError::NoInstruments)
        ));
        let bad = BookConfig {
            tick_size: 0,
            ..BookConfig::default()
        };
        let err = Engine::new(EngineConfig::single(bad)).err().unwrap();
        assert!(err.to_string().contains("instrument 0"), "{err}");
    }

    #[test]
    fn unknown_instrument_is_rejected_not_a_panic() {
        let mut e = two_books();
        let mut ev: Vec<Event> = Vec::new();
        e.process(&Command::new(1, new(1, 1, 7, Side::Buy, 100, 1)), &mut ev);
        e.process(
            &Command::new(
                2,
                CommandKind::Cancel(CancelOrder {
                    order_id: OrderId(1),
                    account: AccountId(1),
                    instrument: InstrumentId(u32::MAX),
                }),
            ),
            &mut ev,
        );
        assert_eq!(ev.len(), 2);
        for x in &ev {
            assert!(matches!(
                x.kind,
                EventKind::Rejected {
                    reason: RejectReason::UnknownInstrument,
                    ..
                }
            ));
        }
    }

    #[test]
    fn sequence_numbers_and_time_clamp() {
        let mut e = two_books();
        let mut ev: Vec<Event> = Vec::new();
        e.process(
            &Command::new(100, new(1, 1, 0, Side::Sell, 100, 5)),
            &mut ev,
        );
        // Time going backwards is clamped to the last time seen.
        e.process(&Command::new(50, new(2, 2, 0, Side::Buy, 100, 5)), &mut ev);
        assert_eq!(e.cmd_seq(), 2);
        assert_eq!(e.time(), 100);
        assert!(ev.iter().all(|x| x.time == 100));
        assert_eq!(ev.last().unwrap().cmd_seq, 2);
        let seqs: Vec<u64> = ev.iter().map(|x| x.seq).collect();
        assert_eq!(seqs, (1..=ev.len() as u64).collect::<Vec<_>>());
        assert!(
            ev.iter()
                .any(|x| matches!(x.kind, EventKind::Trade { qty: Qty(5), .. }))
        );
        assert_eq!(e.event_seq(), ev.len() as u64);
    }

    #[test]
    fn mass_cancel_all_instruments_or_one() {
        let mut e = two_books();
        let mut ev: Vec<Event> = Vec::new();
        e.process(&Command::new(1, new(1, 9, 0, Side::Buy, 100, 5)), &mut ev);
        e.process(&Command::new(2, new(2, 9, 1, Side::Buy, 100, 5)), &mut ev);
        e.process(&Command::new(3, new(3, 8, 1, Side::Buy, 99, 5)), &mut ev);
        ev.clear();
        let mc = |instrument| {
            Command::new(
                4,
                CommandKind::MassCancel(MassCancel {
                    account: AccountId(9),
                    instrument,
                }),
            )
        };
        e.process(&mc(Some(InstrumentId(1))), &mut ev);
        assert_eq!(ev.len(), 1);
        assert!(matches!(
            ev[0].kind,
            EventKind::Cancelled {
                order_id: OrderId(2),
                reason: CancelReason::MassCancel,
                ..
            }
        ));
        ev.clear();
        e.process(&mc(None), &mut ev);
        assert_eq!(ev.len(), 1);
        assert!(matches!(
            ev[0].kind,
            EventKind::Cancelled {
                order_id: OrderId(1),
                ..
            }
        ));
        assert_eq!(e.book(InstrumentId(1)).unwrap().live_orders(), 1);
    }

    #[test]
    fn gtd_orders_expire_before_the_next_command() {
        let mut e = two_books();
        let mut ev: Vec<Event> = Vec::new();
        let mut o = NewOrder {
            order_id: OrderId(1),
            account: AccountId(1),
            side: Side::Buy,
            price: Price(100),
            qty: Qty(5),
            tif: TimeInForce::Gtd,
            expire_time: 500,
            ..NewOrder::default()
        };
        e.process(&Command::new(10, CommandKind::New(o)), &mut ev);
        o.order_id = OrderId(2);
        o.instrument = InstrumentId(1);
        o.expire_time = 400;
        e.process(&Command::new(20, CommandKind::New(o)), &mut ev);
        ev.clear();
        e.process(&Command::new(450, new(3, 2, 0, Side::Buy, 90, 1)), &mut ev);
        assert!(
            matches!(
                ev[0].kind,
                EventKind::Expired {
                    order_id: OrderId(2),
                    ..
                }
            ),
            "{ev:?}"
        );
        ev.clear();
        e.process(&Command::new(500, new(4, 2, 0, Side::Buy, 90, 1)), &mut ev);
        assert!(
            matches!(
                ev[0].kind,
                EventKind::Expired {
                    order_id: OrderId(1),
                    ..
                }
            ),
            "{ev:?}"
        );
    }
}
