//! `Risk`: the pre-trade checks and the account / instrument state they read.

use crate::config::{AccountConfig, ConfigError, RiskConfig};
use crate::mmp::{Mmp, MmpTrip};
use crate::orders::{NIL, OrderRec, OrderTable};
use crate::throttle::{Bucket, Throttle};
use crate::types::{
    BookParams, Market, MarketView, OrderSnapshot, RiskAction, RiskReject, sat_i64, u2i,
};
use crate::velocity::Velocity;
// Snapshot export/import: a child module so it reads the risk layer's private state.
#[path = "snapshot.rs"]
pub(crate) mod snapshot;

use ferrex_types::{
    AccountId, CancelOrder, EventKind, EventKindSink, InstrumentId, LimitKind, ModifyOrder,
    NewOrder, OrdType, OrderFlags, OrderId, Price, RejectReason, RiskControl, SetLimit, Side,
    TimeInForce, TradingState,
};

/// "Until changed" for halts and freezes (emitted as `until: 0`).
const FOREVER: u64 = u64::MAX;

/// Default throttle window when `SetLimit(ThrottleRate)` turns on a throttle the config had not.
const DEFAULT_WINDOW_NS: u64 = 1_000_000_000;

#[derive(Clone, Copy, Debug, Default)]
struct Acct {
    known: bool,
    /// Any of: state not Active, throttle halt, MMP freeze (expired or not): checks take the
    /// precise path.
    gated: bool,
    state: TradingState,
    /// Throttle halt: 0 = none, FOREVER = until SetAccountState, else lifts at this time.
    throttle_until: u64,
    /// MMP freeze: 0 = none, FOREVER = until ResetMmp.
    mmp_until: u64,
    open_orders: u32,
    max_open_orders: u32,
    max_open_per_instr: u32,
    held_len: u32,
    /// Orders of the account kept in the order table (or as the solo order): while 0, a fill
    /// or cancel of its orders needs no lookup (every order of the account is plain).
    tabled: u32,
    mmp_head: u32,
    credit_limit: i64,
    open_notional: i128,
    bucket: Bucket,
    mmp: Mmp,
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    position: i128,
    /// Open quantity per side (buy, sell).
    open_qty: [u64; 2],
    open_orders: u32,
    held_idx: u32,
    max_order_qty: u64,
    /// min(instrument max_qty, max_order_qty): the fast path's upper qty bound.
    qty_hi: u64,
    max_order_notional: i64,
    max_long: u64,
    max_short: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Instr {
    known: bool,
    /// State not Active or a volatility halt set: checks take the precise path.
    gated: bool,
    state: TradingState,
    /// Volatility interruption lifts at this time (0 = none).
    vol_until: u64,
    tick: i64,
    lot: u64,
    /// `tick == 1 && lot == 1` (derived, not serialized): every price and quantity is on the
    /// grid, so the plain-limit path skips both step tests with one compare.
    unit_steps: bool,
    min_qty: u64,
    max_qty: u64,
    min_price: i64,
    max_price: i64,
    /// 0 off, 1 bps, 2 ticks.
    band_kind: u8,
    band: i64,
    /// Cache of the last band computation: reference → width (the reference changes far less
    /// often than orders arrive, and a bps width needs an i128 division).
    band_ref: i64,
    band_w: i128,
    /// The band edges of the cached reference, `band_ref ∓ band_w` saturated to i64 (derived
    /// from `band_ref` and `band_w`; the check is two i64 compares).
    band_lo: i64,
    band_hi: i64,
    reference: Option<i64>,
    protection: i64,
    last_trade: Option<i64>,
    /// Price positions are valued at: the last trade price (0 before any trade).
    mark: i64,
    velocity: Velocity,
}

impl Acct {
    fn regate(&mut self) {
        self.gated =
            self.state != TradingState::Active || self.throttle_until != 0 || self.mmp_until != 0;
    }
}

impl Instr {
    /// Cache the band width `w` of reference `r` and its edges.
    #[inline]
    pub(crate) fn set_band_cache(&mut self, r: i64, w: i128) {
        self.band_ref = r;
        self.band_w = w;
        (self.band_lo, self.band_hi) = band_edges(r, w);
    }

    fn regate(&mut self) {
        self.gated = self.state != TradingState::Active || self.vol_until != 0;
    }
}

/// The order most recently passed by `check_new`: its `Accepted` event picks up the reserve
/// price and flags from here (the event carries price 0 for market and stop orders).
#[derive(Clone, Copy, Debug, Default)]
struct Pending {
    order_id: u64,
    instrument: u32,
    reserve: i64,
    flags: OrderFlags,
    valid: bool,
    /// Not part of snapshots (a restored pending order has `hot` false): the account and the
    /// slot index the check resolved, so the order's `Accepted` skips both lookups. Implies
    /// `valid` (cleared with it), so that `Accepted` tests one flag.
    hot: bool,
    /// Not part of snapshots either: IOC or FOK when the order never rests (a limit IOC/FOK,
    /// or a market order, written as IOC: the book always cancels what it leaves), so its
    /// `Accepted` may make it the [`Solo`] order (unless MMP-flagged). A plain copy of the
    /// order's field on the limit path, the cheapest thing to write there.
    tif: TimeInForce,
    /// Not part of snapshots either: a plain order (a limit order, not MMP-flagged or
    /// reduce-only): its `Accepted` keeps it out of the order table (see [`Cur`]).
    plain: bool,
    /// Not part of snapshots either, and read only by the events of the book call entering
    /// the order (which always follows a passed check, and so a pending record written by it):
    /// the plain-limit path of [`Risk::check_new_entering`] has already done the order's
    /// `Accepted` upkeep (counters, open quantity and notional), so its `Accepted` has nothing
    /// left to do; a book reject of it undoes that upkeep (from `side` and `qty`).
    applied: bool,
    /// Not part of snapshots either: with `applied`, a plain IOC or FOK order. The book ends
    /// it within the book call that enters it, so its open order, quantity and notional are
    /// never counted: its fills as taker move only its position, and its `Cancelled` (the
    /// unfilled rest) is passed over. Each count would be taken at the check and given back
    /// by its fills and cancel within the same command, nothing reading it in between.
    transient: bool,
    side: Side,
    qty: u64,
    acct: u32,
    slot: u32,
}

/// A plain order (a limit order, not MMP-flagged or reduce-only: its reserve price is its price
/// in the book) is kept in no table at all: its `Accepted` adds to the counters (open orders,
/// open quantity, open notional), and every later event of it carries what undoing that needs:
/// a fill as maker the price (the maker's, its reserve) and the leaves after it, a cancel or an
/// expiry its side, price and leaves after it. Only its fills as taker lack its reserve (a trade
/// is at the maker's price): a plain order takes only within the command that entered or
/// re-priced it, so the risk layer keeps that one order here, from its `Accepted` or
/// `Replaced`, and a trade matches its taker with one compare of the key.
///
/// Written by snapshots (as the pending order is), though the engine reads it only within the
/// command that set it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cur {
    order_id: u64,
    /// Instrument | `SOLO_LIVE` while set, 0 otherwise.
    tag: u64,
    reserve: i64,
    acct: u32,
    slot: u32,
}

/// The book's view of an order a passed `check_modify` is about (its side, price and open
/// quantity before the modify), for the `Replaced` of a plain order: nothing in the risk layer
/// holds them. Written by snapshots, as [`Cur`] is.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ModifyOld {
    order_id: u64,
    /// Instrument | `SOLO_LIVE` while set, 0 otherwise.
    tag: u64,
    price: i64,
    leaves: u64,
    side: u8,
}

/// `Solo::tag` bit: the solo order is live.
pub(crate) const SOLO_LIVE: u64 = 1 << 32;

/// The one order the risk layer tracks outside its order table's index: a transient order that
/// is not plain (see [`Cur`]: a market order, or a reduce-only limit IOC/FOK; not MMP-flagged)
/// the last check passed, from its `Accepted` to the
/// trade or cancel that ends it, which the book always emits within the command that entered
/// it (such an order never rests). A marketable IOC is accepted, fills and ends within a few
/// events; in the table it cost a hash insert, a probe per event and a backward-shift removal.
/// Here its events match it with one compare of its key instead.
///
/// It holds a slab index of the table taken at its `Accepted` and given back at its end, so
/// the table's capacity (`MaxOpenOrders` at `max_orders`) and free list evolve exactly as if
/// it had been inserted; open orders, open quantity and exposure count it as any order. Every
/// lookup by key checks it before the table; the rare uses of a record beyond fills and cancels
/// (a replace or modify of it) first settle it into the table, and snapshots write it with the
/// table's records, so nothing outside sees the difference.
#[derive(Clone, Copy, Debug, Default)]
struct Solo {
    order_id: u64,
    /// Instrument | `SOLO_LIVE` while live, 0 otherwise: one compare matches key and liveness.
    tag: u64,
    reserve: i64,
    leaves: u64,
    /// The slab index it holds.
    idx: u32,
    acct: u32,
    slot: u32,
    /// 0 buy, 1 sell.
    side: u8,
    reduce_only: bool,
}

impl Solo {
    /// The table record it stands for.
    fn rec(&self) -> OrderRec {
        OrderRec {
            order_id: self.order_id,
            reserve: self.reserve,
            leaves: self.leaves,
            instrument: self.tag as u32,
            account: self.acct,
            side: self.side,
            mmp: false,
            reduce_only: self.reduce_only,
            live: true,
            mmp_prev: NIL,
            mmp_next: NIL,
        }
    }
}

/// The inline pre-trade risk layer. All state is preallocated by [`Risk::new`] from the config:
/// dense tables indexed by `AccountId.0` and `InstrumentId.0`, a flat accounts × instruments
/// array of position / open-order slots, and a fixed-capacity order table. No method allocates
/// or panics after construction.
pub struct Risk {
    accounts: Vec<Acct>,
    instruments: Vec<Instr>,
    slots: Vec<Slot>,
    /// Per account, the instruments with a non-zero position (first `held_len` entries of the
    /// account's row): exposure sums over these only.
    held: Vec<u32>,
    n_instr: usize,
    orders: OrderTable,
    /// The live transient order kept outside the table's index (see [`Solo`]).
    solo: Solo,
    /// The plain order that may take in the current command (see [`Cur`]).
    cur: Cur,
    /// The order the last passed `check_modify` was about (see [`ModifyOld`]).
    modify_old: ModifyOld,
    /// Live orders, plain or in the table (derived: Σ accounts' open orders): the order table's
    /// capacity, `max_orders`, bounds it.
    live: u32,
    /// `max_orders`.
    max_live: u32,
    pending: Pending,
    /// A state event produced inside a check (throttle halt), waiting for `flush`/`tick`.
    queued: Option<EventKind>,
    /// The last reject of `check_new_ok` (read by `check_new` right after it returns false).
    reject: RiskReject,
    /// Earliest time a halt or freeze lifts by itself (FOREVER = none).
    next_deadline: u64,
    /// `tick` has work at or after this time: `next_deadline`, or 0 while an event is queued
    /// (derived, not serialized; 0 after a restore), so `tick` is one compare.
    tick_at: u64,
}

#[inline(always)]
fn opt_u64(v: Option<u64>) -> u64 {
    v.unwrap_or(u64::MAX)
}

/// |position| × mark price (i128; exact unless beyond i128, then saturated).
#[inline(always)]
fn position_value(pos: i128, mark: i64) -> i128 {
    if let Ok(p) = i64::try_from(pos) {
        // |p| and |mark| ≤ 2^63: the product ≤ 2^126 fits in i128; one multiply.
        return (p.unsigned_abs() as u128 * mark.unsigned_abs() as u128) as i128;
    }
    position_value_wide(pos, mark)
}

/// `position_value` of a position beyond i64 (the general, saturating form).
#[cold]
#[inline(never)]
fn position_value_wide(pos: i128, mark: i64) -> i128 {
    let p = pos.unsigned_abs();
    if p <= u64::MAX as u128 {
        // u64 × u64 < 2^128: one multiply; the result fits in i128 unless both are near max.
        let v = (p as u64 as u128) * mark.unsigned_abs() as u128;
        if v <= i128::MAX as u128 {
            v as i128
        } else {
            i128::MAX
        }
    } else {
        pos.abs().saturating_mul((mark as i128).abs())
    }
}

/// `a.saturating_add(b)` with the overflow case out of line (the exact sum is the hot path).
#[inline(always)]
fn add128(a: i128, b: i128) -> i128 {
    match a.checked_add(b) {
        Some(v) => v,
        None => add128_sat(a, b),
    }
}

#[cold]
#[inline(never)]
fn add128_sat(a: i128, b: i128) -> i128 {
    a.saturating_add(b)
}

/// `a.saturating_sub(b)` with the overflow case out of line.
#[inline(always)]
fn sub128(a: i128, b: i128) -> i128 {
    match a.checked_sub(b) {
        Some(v) => v,
        None => sub128_sat(a, b),
    }
}

#[cold]
#[inline(never)]
fn sub128_sat(a: i128, b: i128) -> i128 {
    a.saturating_sub(b)
}

/// True while a halt/freeze with this `until` holds at `now` (0 = none, FOREVER = always).
#[inline(always)]
fn holds(until: u64, now: u64) -> bool {
    until != 0 && (until == FOREVER || now < until)
}

#[inline(always)]
fn until_field(until: u64) -> u64 {
    if until == FOREVER { 0 } else { until }
}

/// Moves a position by a fill of `qty` lots on `side`. `Some(entered)` when the position went
/// from 0 to non-zero (`true`) or from non-zero to 0 (`false`): the held-instrument list changes.
#[inline(always)]
fn move_position(position: &mut i128, side: Side, qty: u64) -> Option<bool> {
    let before = *position;
    let after = match side {
        Side::Buy => add128(before, qty as i128),
        Side::Sell => sub128(before, qty as i128),
    };
    *position = after;
    // Exactly one of them 0 (both 0 only when they are equal).
    ((before == 0 || after == 0) && before != after).then_some(before == 0)
}

#[inline(always)]
fn side_idx(s: Side) -> usize {
    s.index()
}

impl Risk {
    /// Build the tables from a config (validated first). Allocates everything the risk layer
    /// will ever use; cost O(accounts × instruments + max_orders).
    pub fn new(cfg: &RiskConfig) -> Result<Risk, ConfigError> {
        cfg.validate()?;
        let n_instr = cfg.max_instrument_id() as usize + 1;
        let max_listed = cfg.accounts.iter().map(|a| a.id).max().unwrap_or(0) as usize;
        let n_acct = if cfg.default_account.is_some() {
            (max_listed + 1).max(cfg.max_accounts as usize)
        } else {
            max_listed + 1
        };
        let mut instruments = vec![Instr::default(); n_instr];
        for ic in &cfg.instruments {
            let (band_kind, band) = match ic.price_band {
                Some(b) => match (b.bps, b.ticks) {
                    (Some(x), _) => (1, x),
                    (None, Some(x)) => (2, x),
                    _ => (0, 0),
                },
                None => (0, 0),
            };
            instruments[ic.id as usize] = Instr {
                known: true,
                gated: false,
                state: TradingState::Active,
                vol_until: 0,
                tick: ic.tick_size,
                lot: ic.lot_size,
                unit_steps: ic.tick_size == 1 && ic.lot_size == 1,
                min_qty: ic.min_qty,
                max_qty: opt_u64(ic.max_qty),
                min_price: ic.min_price,
                max_price: ic.max_price,
                band_kind,
                band,
                band_ref: i64::MIN,
                band_w: 0,
                band_lo: i64::MIN,
                band_hi: i64::MIN,
                reference: ic.reference_price,
                protection: ic.market_protection_ticks,
                last_trade: None,
                mark: 0,
                velocity: match ic.velocity {
                    Some(v) => Velocity::new(
                        v.max_move_ticks.saturating_mul(ic.tick_size),
                        v.window_ns,
                        v.halt_ns,
                    ),
                    None => Velocity::default(),
                },
            };
        }
        let mut r = Risk {
            accounts: vec![Acct::default(); n_acct],
            instruments,
            slots: vec![Slot::default(); n_acct * n_instr],
            held: vec![0; n_acct * n_instr],
            n_instr,
            orders: OrderTable::new(cfg.max_orders),
            solo: Solo::default(),
            cur: Cur::default(),
            modify_old: ModifyOld::default(),
            live: 0,
            max_live: cfg.max_orders,
            pending: Pending::default(),
            queued: None,
            reject: RiskReject::new(RejectReason::Malformed, 0, 0),
            next_deadline: FOREVER,
            tick_at: FOREVER,
        };
        if let Some(d) = &cfg.default_account {
            for a in 1..n_acct {
                r.init_account(a, d, cfg);
            }
        }
        for ac in &cfg.accounts {
            r.init_account(ac.id as usize, ac, cfg);
        }
        Ok(r)
    }

    fn init_account(&mut self, a: usize, ac: &AccountConfig, cfg: &RiskConfig) {
        let bucket = match ac.throttle {
            Some(t) => Bucket::new(
                t.rate as u64,
                t.window_ns,
                t.halt_threshold.unwrap_or(0) as u64,
                t.halt_ns,
            ),
            None => Bucket::new(0, DEFAULT_WINDOW_NS, 0, 0),
        };
        let mmp = match ac.mmp {
            Some(m) => Mmp::new(m.window_ns, m.max_qty, m.max_count, m.freeze_ns),
            None => Mmp::default(),
        };
        self.accounts[a] = Acct {
            known: true,
            state: TradingState::Active,
            max_open_orders: ac.max_open_orders.unwrap_or(u32::MAX),
            max_open_per_instr: ac.max_open_orders_per_instrument.unwrap_or(u32::MAX),
            mmp_head: NIL,
            credit_limit: ac.credit_limit.unwrap_or(i64::MAX),
            bucket,
            mmp,
            ..Acct::default()
        };
        for ic in &cfg.instruments {
            let s = &mut self.slots[a * self.n_instr + ic.id as usize];
            *s = Slot {
                max_order_qty: opt_u64(ac.max_order_qty).min(opt_u64(ic.max_order_qty)),
                qty_hi: opt_u64(ac.max_order_qty)
                    .min(opt_u64(ic.max_order_qty))
                    .min(opt_u64(ic.max_qty)),
                max_order_notional: ac
                    .max_order_notional
                    .unwrap_or(i64::MAX)
                    .min(ic.max_order_notional.unwrap_or(i64::MAX)),
                max_long: opt_u64(ac.max_long),
                max_short: opt_u64(ac.max_short),
                ..Slot::default()
            };
        }
    }

    // ---------------------------------------------------------------- lookups

    #[inline(always)]
    fn acct_idx(&self, a: AccountId) -> Option<usize> {
        let i = a.0 as usize;
        match self.accounts.get(i) {
            Some(x) if x.known => Some(i),
            _ => None,
        }
    }

    #[inline(always)]
    fn instr_idx(&self, i: InstrumentId) -> Option<usize> {
        let k = i.0 as usize;
        match self.instruments.get(k) {
            Some(x) if x.known => Some(k),
            _ => None,
        }
    }

    #[inline(always)]
    fn slot_idx(&self, a: usize, i: usize) -> usize {
        a * self.n_instr + i
    }

    // ---------------------------------------------------------------- checks

    /// Pre-trade check of a new order: every control, cheapest first; the first failure is
    /// returned. On `Ok` the order's reserve price and flags are remembered for its `Accepted`
    /// event. Costs a few dozen compares, one or two i128 multiplies and (with more than one
    /// instrument held) one pass over the instruments the account holds a position in; never
    /// allocates. About 240 instructions for a plain limit order that passes every check
    /// (`examples/cost.rs`: about 247 per check with its harness loop).
    ///
    /// Order: unknown account/instrument → account halted → throttle → instrument halted →
    /// MMP freeze → qty (zero, lot, min/max) → price and stop price (min/max, tick) → volatility
    /// halt → max order qty → reduce-only / reducing states → max open orders → position limit →
    /// price band → max order notional → credit limit.
    #[inline(always)]
    pub fn check_new<M: Market>(
        &mut self,
        o: &NewOrder,
        now: u64,
        mkt: &M,
    ) -> Result<(), RiskReject> {
        self.check_new_with(o, now, mkt)
    }

    /// [`Risk::check_new`] with the market given by value: a `Copy` handle such as the engine's
    /// reference to the book, so the caller passes it in a register.
    #[inline(always)]
    pub fn check_new_with<M: Market + Copy>(
        &mut self,
        o: &NewOrder,
        now: u64,
        mkt: M,
    ) -> Result<(), RiskReject> {
        if self.check_new_ok(o, now, mkt) {
            Ok(())
        } else {
            Err(self.reject)
        }
    }

    /// [`Risk::check_new_with`] for an order the caller enters into its book right after a
    /// passed check, passing every event of that book call to [`Risk::on_entered_event`] (the
    /// engine's new-order path). A plain limit order that passes has its `Accepted` upkeep
    /// done here, while the check holds its records and notional: its `Accepted` then has
    /// nothing left to do, and a book reject of it (the book's own checks) undoes it.
    #[inline(always)]
    pub fn check_new_entering<M: Market + Copy>(
        &mut self,
        o: &NewOrder,
        now: u64,
        mkt: M,
    ) -> Result<(), RiskReject> {
        if self.check_new_ok_as::<M, true>(o, now, mkt) {
            Ok(())
        } else {
            Err(self.reject)
        }
    }

    /// `check_new` out of line with a one-register answer (the reject, if any, is left in
    /// `self.reject`), so the caller keeps its registers and no 24-byte result goes through
    /// memory on the common path.
    /// The market comes by value (a `Copy` handle: the engine's is one pointer, in a register).
    #[inline(always)]
    fn check_new_ok<M: Market + Copy>(&mut self, o: &NewOrder, now: u64, mkt: M) -> bool {
        self.check_new_ok_as::<M, false>(o, now, mkt)
    }

    /// `check_new_ok`; `APPLY`: [`Risk::check_new_entering`].
    #[inline(never)]
    fn check_new_ok_as<M: Market + Copy, const APPLY: bool>(
        &mut self,
        o: &NewOrder,
        now: u64,
        mkt: M,
    ) -> bool {
        self.check_new_inner::<M, APPLY>(o, now, &mkt)
    }

    /// Record a failed check: the reject goes where `check_new` reads it, and no order is left
    /// pending (a passed check has just set it). Returns false.
    #[inline(always)]
    fn fail(&mut self, r: RiskReject) -> bool {
        // `applied` may stay: no book call enters a refused order.
        self.pending.valid = false;
        self.pending.hot = false;
        self.reject = r;
        false
    }

    /// The answer of a check written as a `Result`, in `check_new_ok`'s form.
    #[inline(always)]
    fn done(&mut self, r: Result<(), RiskReject>) -> bool {
        match r {
            Ok(()) => true,
            Err(r) => self.fail(r),
        }
    }

    /// The account and instrument indices of a new order, or `None` with the reject set
    /// (`UnknownAccount`, then the throttle and `UnknownInstrument`).
    #[inline(always)]
    fn lookup_new(&mut self, o: &NewOrder, now: u64) -> Option<(usize, usize)> {
        use RejectReason as R;
        let Some(a) = self.acct_idx(o.account) else {
            self.fail(RiskReject::new(R::UnknownAccount, 0, o.account.0 as i64));
            return None;
        };
        let Some(i) = self.instr_idx(o.instrument) else {
            self.unknown_instrument(a, o.instrument, now);
            return None;
        };
        Some((a, i))
    }

    /// A new order of a known account naming an unknown instrument: the message still counts
    /// against the account's throttle (see [`Risk::check_message`]); the reject is the
    /// throttle's if it refuses, else `UnknownInstrument`.
    #[cold]
    #[inline(never)]
    fn unknown_instrument(&mut self, a: usize, instrument: InstrumentId, now: u64) {
        let r = match self.throttle(a, now) {
            Err(r) => r,
            Ok(()) => RiskReject::new(RejectReason::UnknownInstrument, 0, instrument.0 as i64),
        };
        self.fail(r);
    }

    /// The checks of `check_new`: lookups, gates or throttle, then the limit-order path or the
    /// precise sequence.
    #[inline(always)]
    fn check_new_inner<M: Market, const APPLY: bool>(
        &mut self,
        o: &NewOrder,
        now: u64,
        mkt: &M,
    ) -> bool {
        let Some((a, i)) = self.lookup_new(o, now) else {
            return false;
        };
        if self.accounts[a].gated | self.instruments[i].gated {
            let r = self.check_new_gated(o, a, i, now, mkt);
            return self.done(r);
        }
        if o.ord_type == OrdType::Limit && !o.flags.contains(OrderFlags::REDUCE_ONLY) {
            // The throttle first there too, on the account the path reads afterwards.
            self.check_new_limit::<M, APPLY>(o, a, i, now, mkt)
        } else {
            if let Err(r) = self.throttle(a, now) {
                return self.fail(r);
            }
            let r = self.check_new_rest(o, a, i, now, mkt, false);
            self.done(r)
        }
    }

    /// A throttle reject of the plain-limit path (`t` not `Pass`), out of line.
    #[cold]
    #[inline(never)]
    fn throttle_fail(&mut self, a: usize, now: u64, t: Throttle) -> bool {
        let r = self.throttle_reject(a, now, t);
        self.fail(r)
    }

    /// `check_new` of an account or instrument with a state gate set: the gates (which count
    /// the message in the throttle), then the precise sequence.
    #[cold]
    #[inline(never)]
    fn check_new_gated<M: Market>(
        &mut self,
        o: &NewOrder,
        a: usize,
        i: usize,
        now: u64,
        mkt: &M,
    ) -> Result<(), RiskReject> {
        self.gate(a, i, now)?;
        self.check_new_rest(o, a, i, now, mkt, true)
    }

    /// `check_new` of a plain limit order (no reduce-only flag, no gate) after the throttle:
    /// the same checks in the same order as [`Risk::check_new_rest`], on values read once.
    /// Anything it cannot decide cheaply (an order that fails a static check, a full order
    /// table, a position sum beyond i128) goes to `check_new_rest`, which has no side effect
    /// before its end, so the answer is the same either way.
    #[inline(always)]
    fn check_new_limit<M: Market, const APPLY: bool>(
        &mut self,
        o: &NewOrder,
        a: usize,
        i: usize,
        now: u64,
        mkt: &M,
    ) -> bool {
        use RejectReason as R;
        let si = a * self.n_instr + i;
        let (Some(acct), Some(ins), Some(slot)) = (
            self.accounts.get_mut(a),
            self.instruments.get_mut(i),
            self.slots.get_mut(si),
        ) else {
            // Never (the lookups found both, and every account has a row of slots); the
            // throttle still counts the message first.
            if let Err(r) = self.throttle(a, now) {
                return self.fail(r);
            }
            return self.check_new_slow(o, now, mkt);
        };
        // The throttle through the reference the checks below read (taken again after the
        // write, the account's table would be looked up and bounds-checked again).
        let t = acct.bucket.take(now);
        if t != Throttle::Pass {
            return self.throttle_fail(a, now, t);
        }
        let qty = o.qty.0;
        let p = o.price.0;
        let plain = !o.flags.contains(OrderFlags::MMP);
        // The pending order is written first, while the order's fields are at hand: every way
        // out below either passes it (as written here) or invalidates it (`fail`, or the
        // precise path, which writes its own), so the fields need not live to the end.
        self.pending = Pending {
            order_id: o.order_id.0,
            instrument: o.instrument.0,
            reserve: p,
            flags: o.flags,
            valid: true,
            hot: true,
            tif: o.tif,
            plain,
            applied: APPLY && plain,
            transient: APPLY && plain && matches!(o.tif, TimeInForce::Ioc | TimeInForce::Fok),
            side: o.side,
            qty,
            acct: a as u32,
            slot: si as u32,
        };
        let statics_pass = qty >= ins.min_qty
            && qty <= slot.qty_hi
            && p >= ins.min_price
            && p <= ins.max_price
            && (ins.unit_steps
                || ((ins.lot == 1 || qty.is_multiple_of(ins.lot))
                    && (ins.tick == 1 || p % ins.tick == 0)));
        if !statics_pass {
            return self.check_new_slow(o, now, mkt);
        }
        if !matches!(o.tif, TimeInForce::Ioc | TimeInForce::Fok) {
            if acct.open_orders >= acct.max_open_orders {
                let r = RiskReject::new(
                    R::MaxOpenOrders,
                    acct.max_open_orders as i64,
                    acct.open_orders as i64 + 1,
                );
                return self.fail(r);
            }
            if slot.open_orders >= acct.max_open_per_instr {
                let r = RiskReject::new(
                    R::MaxOpenOrders,
                    acct.max_open_per_instr as i64,
                    slot.open_orders as i64 + 1,
                );
                return self.fail(r);
            }
        }
        if self.live >= self.max_live {
            return self.check_new_slow(o, now, mkt);
        }
        // same_open and qty < 2^64: their sum is exact in i128. The position term is one
        // checked add or subtract (no i64 range test first); on overflow the precise path
        // (`check_position`, saturating) decides, as for any value it cannot hold exactly.
        let add = slot.open_qty[side_idx(o.side)] as i128 + qty as i128;
        let (v, max) = match o.side {
            Side::Buy => (slot.position.checked_add(add), slot.max_long),
            Side::Sell => (add.checked_sub(slot.position), slot.max_short),
        };
        let Some(v) = v else {
            return self.check_new_slow(o, now, mkt);
        };
        if v > max as i128 {
            return self.fail(RiskReject::new(R::PositionLimit, u2i(max), sat_i64(v)));
        }
        if ins.band_kind != 0
            && let Some(r) = band_reference(ins, mkt)
        {
            // A cache miss refreshes the cache at once (out of line): the cache maps a
            // reference to its width whatever the order's fate, so nothing of the miss lives
            // on to the end of the path.
            if ins.band_ref != r {
                band_refresh(ins, r);
            }
            if let Err(e) = check_band_edges(ins.band_lo, ins.band_hi, p) {
                return self.fail(e);
            }
        }
        let notional = p as i128 * qty as i128;
        if let Err(e) = check_order_notional(notional, slot.max_order_notional) {
            return self.fail(e);
        }
        let credit_limit = acct.credit_limit;
        // The account's open notional with this order (what its `Accepted` makes it): the
        // credit sum's first term, kept for `APPLY`.
        let open_after = if credit_limit != i64::MAX {
            // Exposure (`exposure_idx`): with no position, or one in this very instrument (the
            // usual cases), from the records already at hand. One instrument held and a
            // position in this one: it is the one held. Other instruments held: out of line.
            let pos = slot.position;
            if acct.held_len != u32::from(pos != 0) {
                return self.credit_held::<APPLY>(a, si, notional);
            }
            // None held (then this slot's position is 0 and so is its value), or only this
            // one: one term, with no branch on which. The sum exact, in the order the
            // registers hold its terms; beyond i128 the precise path saturates it.
            let Some(open_after) = acct.open_notional.checked_add(notional) else {
                return self.check_new_slow(o, now, mkt);
            };
            let Some(e) = open_after.checked_add(position_value(pos, ins.mark)) else {
                return self.check_new_slow(o, now, mkt);
            };
            if e > credit_limit as i128 {
                return self.fail(RiskReject::new(R::CreditLimit, credit_limit, sat_i64(e)));
            }
            open_after
        } else if APPLY {
            add128(acct.open_notional, notional)
        } else {
            0
        };
        // Read back from the pending record: no flag lives through the path for it.
        if APPLY && self.pending.applied && !self.pending.transient {
            // The order's `Accepted` upkeep (`Pending::applied`, set above), through the
            // records at hand. The check passed with `live < max_live` (see `on_accepted`):
            // neither count wraps.
            slot.open_orders = slot.open_orders.saturating_add(1);
            let sd = side_idx(o.side);
            slot.open_qty[sd] = slot.open_qty[sd].saturating_add(qty);
            acct.open_orders = acct.open_orders.wrapping_add(1);
            acct.open_notional = open_after;
            self.live = self.live.wrapping_add(1);
        }
        true
    }

    /// The credit check of the plain-limit path for an account holding positions in other
    /// instruments (one pass over them), and for `APPLY` the order's `Accepted` upkeep.
    #[cold]
    #[inline(never)]
    fn credit_held<const APPLY: bool>(&mut self, a: usize, si: usize, notional: i128) -> bool {
        let credit_limit = self.accounts[a].credit_limit;
        let e = add128(self.exposure_cold(a), notional);
        if e > credit_limit as i128 {
            return self.fail(RiskReject::new(
                RejectReason::CreditLimit,
                credit_limit,
                sat_i64(e),
            ));
        }
        // As on the main path: a transient (IOC/FOK) order is never counted.
        if APPLY && self.pending.applied && !self.pending.transient {
            let (side, qty) = (self.pending.side, self.pending.qty);
            let (s, acct) = (&mut self.slots[si], &mut self.accounts[a]);
            s.open_orders = s.open_orders.saturating_add(1);
            s.open_qty[side_idx(side)] = s.open_qty[side_idx(side)].saturating_add(qty);
            acct.open_orders = acct.open_orders.wrapping_add(1);
            acct.open_notional = add128(acct.open_notional, notional);
            self.live = self.live.wrapping_add(1);
        }
        true
    }

    /// A book reject of the order whose `Accepted` upkeep `check_new_entering` did: undone.
    #[cold]
    #[inline(never)]
    fn unapply_pending(&mut self) {
        // The pending record stays as a book reject leaves it without `APPLY` (valid).
        let p = self.pending;
        self.pending.applied = false;
        if p.transient {
            return; // nothing counted
        }
        let (Some(s), Some(acct)) = (
            self.slots.get_mut(p.slot as usize),
            self.accounts.get_mut(p.acct as usize),
        ) else {
            return;
        };
        s.open_orders = s.open_orders.saturating_sub(1);
        s.open_qty[side_idx(p.side)] = s.open_qty[side_idx(p.side)].saturating_sub(p.qty);
        acct.open_orders = acct.open_orders.saturating_sub(1);
        acct.open_notional = sub128(acct.open_notional, p.reserve as i128 * p.qty as i128);
        self.live = self.live.saturating_sub(1);
    }

    /// The plain-limit path's way out to [`Risk::check_new_rest`], out of line: the account and
    /// instrument are looked up again (known: the fast path found both), so the fast path keeps
    /// neither alive for it.
    #[cold]
    #[inline(never)]
    fn check_new_slow<M: Market>(&mut self, o: &NewOrder, now: u64, mkt: &M) -> bool {
        let Some((a, i)) = self.lookup_new(o, now) else {
            return false;
        };
        let r = self.check_new_rest(o, a, i, now, mkt, false);
        self.done(r)
    }

    /// The precise sequence of `check_new` after the gates / throttle: static checks,
    /// reduce-only and reducing states, open orders, position, band, notional, credit. No side
    /// effect before it passes (then the band cache and the pending order are set).
    #[inline(never)]
    fn check_new_rest<M: Market>(
        &mut self,
        o: &NewOrder,
        a: usize,
        i: usize,
        now: u64,
        mkt: &M,
        gated: bool,
    ) -> Result<(), RiskReject> {
        use RejectReason as R;
        let si = self.slot_idx(a, i);
        let ins = &self.instruments[i];
        let slot = &self.slots[si];
        let qty = o.qty.0;
        // Fast path: one range compare each for qty (min_qty ..= min(max_qty, max_order_qty))
        // and a plain limit price; anything unusual takes the precise path, which finds the
        // first failing check in the documented order.
        let p = o.price.0;
        let fast = !gated
            && o.ord_type == OrdType::Limit
            && qty >= ins.min_qty
            && qty <= slot.qty_hi
            && (ins.lot == 1 || qty.is_multiple_of(ins.lot))
            && p >= ins.min_price
            && p <= ins.max_price
            && (ins.tick == 1 || p % ins.tick == 0);
        if !fast {
            self.check_static(o, a, i, now, mkt)?;
        }
        let ins = &self.instruments[i];
        let acct = &self.accounts[a];
        let side = side_idx(o.side);
        let same_open = slot.open_qty[side] as i128;
        if gated || o.flags.contains(OrderFlags::REDUCE_ONLY) {
            self.check_reducing(a, i, o.flags, o.side, same_open, qty)?;
        }
        // A stop rests (pending) until it triggers, whatever its time in force, and counts as
        // open from its `Accepted` (see `Pending::tif`): it is held to the caps too.
        let rests = match o.ord_type {
            OrdType::Market => false,
            OrdType::Limit => !matches!(o.tif, TimeInForce::Ioc | TimeInForce::Fok),
            OrdType::Stop | OrdType::StopLimit => true,
        };
        if rests {
            if acct.open_orders >= acct.max_open_orders {
                return Err(RiskReject::new(
                    R::MaxOpenOrders,
                    acct.max_open_orders as i64,
                    acct.open_orders as i64 + 1,
                ));
            }
            if slot.open_orders >= acct.max_open_per_instr {
                return Err(RiskReject::new(
                    R::MaxOpenOrders,
                    acct.max_open_per_instr as i64,
                    slot.open_orders as i64 + 1,
                ));
            }
        }
        if self.live >= self.max_live {
            let cap = self.max_live as i64;
            return Err(RiskReject::new(R::MaxOpenOrders, cap, cap + 1));
        }
        check_position(slot, o.side, same_open, qty as i128)?;
        let reserve = match o.ord_type {
            OrdType::Limit | OrdType::StopLimit => o.price.0,
            OrdType::Market => market_reserve(ins, o.side, mkt),
            OrdType::Stop => stop_reserve(ins, o.side, o.stop_price.0),
        };
        let mut band_miss = None;
        if ins.band_kind != 0 && matches!(o.ord_type, OrdType::Limit | OrdType::StopLimit) {
            let reference = if o.ord_type == OrdType::StopLimit {
                Some(o.stop_price.0)
            } else {
                band_reference(ins, mkt)
            };
            if let Some(r) = reference {
                check_band(ins, r, p, &mut band_miss)?;
            }
        }
        let notional = reserve as i128 * qty as i128;
        check_order_notional(notional, slot.max_order_notional)?;
        if acct.credit_limit != i64::MAX {
            let e = add128(self.exposure_idx(a), notional);
            if e > acct.credit_limit as i128 {
                return Err(RiskReject::new(
                    R::CreditLimit,
                    acct.credit_limit,
                    sat_i64(e),
                ));
            }
        }
        if let Some((r, w)) = band_miss {
            self.instruments[i].set_band_cache(r, w);
        }
        self.pending = Pending {
            order_id: o.order_id.0,
            instrument: o.instrument.0,
            reserve,
            flags: o.flags,
            valid: true,
            hot: true,
            tif: match o.ord_type {
                OrdType::Limit => o.tif,
                OrdType::Market => TimeInForce::Ioc,
                // A stop rests until triggered, whatever its time in force.
                OrdType::Stop | OrdType::StopLimit => TimeInForce::Gtc,
            },
            plain: o.ord_type == OrdType::Limit
                && !o.flags.contains(OrderFlags::MMP)
                && !o.flags.contains(OrderFlags::REDUCE_ONLY),
            applied: false,
            transient: false,
            side: o.side,
            qty,
            acct: a as u32,
            slot: si as u32,
        };
        Ok(())
    }

    /// The precise per-order static checks, in order: qty (zero, lot, min/max), limit price,
    /// stop price, volatility halt, max order qty. Cold: only orders that fail the fast
    /// compares, non-limit orders and orders while a state gate is set come here.
    #[inline(never)]
    fn check_static<M: Market>(
        &self,
        o: &NewOrder,
        a: usize,
        i: usize,
        now: u64,
        mkt: &M,
    ) -> Result<(), RiskReject> {
        let ins = &self.instruments[i];
        let qty = o.qty.0;
        check_qty(ins, qty)?;
        if matches!(o.ord_type, OrdType::Limit | OrdType::StopLimit) {
            check_price(ins, o.price.0, RejectReason::OutsideMinMax)?;
        }
        if matches!(o.ord_type, OrdType::Stop | OrdType::StopLimit) {
            check_price(ins, o.stop_price.0, RejectReason::OutsideMinMax)?;
        }
        if ins.vol_until > now {
            check_volatility(o.ord_type, o.side, o.price.0, mkt)?;
        }
        let slot = &self.slots[self.slot_idx(a, i)];
        if qty > slot.max_order_qty {
            return Err(RiskReject::new(
                RejectReason::MaxOrderQty,
                u2i(slot.max_order_qty),
                u2i(qty),
            ));
        }
        Ok(())
    }

    /// Account and instrument gates shared by new and modify: account halted (kill/command),
    /// throttle (may halt the account), throttle halt, instrument halted, MMP freeze.
    #[inline(always)]
    fn gate(&mut self, a: usize, i: usize, now: u64) -> Result<(), RiskReject> {
        use RejectReason as R;
        let acct = &mut self.accounts[a];
        if acct.state == TradingState::Halted {
            return Err(RiskReject::new(R::AccountHalted, 0, 0));
        }
        if holds(acct.throttle_until, now) {
            return Err(RiskReject::new(
                R::AccountHalted,
                0,
                u2i(until_field(acct.throttle_until)),
            ));
        }
        self.throttle(a, now)?;
        let acct = &self.accounts[a];
        if self.instruments[i].state == TradingState::Halted {
            return Err(RiskReject::new(R::InstrumentHalted, 0, 0));
        }
        if holds(acct.mmp_until, now) {
            return Err(RiskReject::new(
                R::MmpFrozen,
                0,
                u2i(until_field(acct.mmp_until)),
            ));
        }
        Ok(())
    }

    /// Count one message; reject when over the rate; halt the account beyond the halt threshold.
    #[inline(always)]
    fn throttle(&mut self, a: usize, now: u64) -> Result<(), RiskReject> {
        match self.accounts[a].bucket.take(now) {
            Throttle::Pass => Ok(()),
            t => Err(self.throttle_reject(a, now, t)),
        }
    }

    /// The reject of a message the throttle did not pass (`t`), halting the account beyond the
    /// halt threshold.
    #[inline(always)]
    fn throttle_reject(&mut self, a: usize, now: u64, t: Throttle) -> RiskReject {
        let acct = &mut self.accounts[a];
        match t {
            Throttle::Pass | Throttle::Throttled => RiskReject::new(
                RejectReason::Throttled,
                u2i(acct.bucket.rate),
                u2i(acct.bucket.rate).saturating_add(1),
            ),
            Throttle::Halt => {
                let until = if acct.bucket.halt_ns == 0 {
                    FOREVER
                } else {
                    now.saturating_add(acct.bucket.halt_ns)
                };
                acct.throttle_until = until;
                acct.gated = true;
                acct.bucket.fill();
                let halt = acct.bucket.halt;
                self.queued = Some(EventKind::AccountState {
                    account: AccountId(a as u32),
                    state: TradingState::Halted,
                    cause: RejectReason::Throttled,
                    until: until_field(until),
                });
                self.next_deadline = self.next_deadline.min(until);
                self.tick_at = 0;
                RiskReject::new(
                    RejectReason::Throttled,
                    u2i(halt),
                    u2i(halt).saturating_add(1),
                )
            }
        }
    }

    /// Reduce-only flag and REDUCING states: the order (with the open orders on its side) must
    /// not exceed the position it reduces. `same_open` excludes the order itself.
    #[inline(always)]
    fn check_reducing(
        &self,
        a: usize,
        i: usize,
        flags: OrderFlags,
        side: Side,
        same_open: i128,
        qty: u64,
    ) -> Result<(), RiskReject> {
        let ro = flags.contains(OrderFlags::REDUCE_ONLY);
        let acct_red = self.accounts[a].state == TradingState::Reducing;
        let ins_red = self.instruments[i].state == TradingState::Reducing;
        if !(ro || acct_red || ins_red) {
            return Ok(());
        }
        let pos = self.slots[self.slot_idx(a, i)].position;
        // Lots this side can still trade and only reduce the position.
        let reducible = match side {
            Side::Buy => (-pos).max(0),
            Side::Sell => pos.max(0),
        };
        let room = reducible - same_open;
        if (qty as i128) <= room {
            return Ok(());
        }
        let reason = if ro {
            RejectReason::ReduceOnly
        } else if acct_red {
            RejectReason::AccountReducing
        } else {
            RejectReason::InstrumentReducing
        };
        Err(RiskReject::new(reason, sat_i64(room.max(0)), u2i(qty)))
    }

    /// Pre-trade check of a modify (`m.qty` = new leaves) of the order `old` as the book has it.
    /// Same gates as a new order, with the order's own open quantity and notional replaced by
    /// the new ones. Cost as `check_new` plus one order-table lookup.
    #[inline]
    pub fn check_modify(
        &mut self,
        m: &ModifyOrder,
        old: &OrderSnapshot,
        now: u64,
        mkt: &MarketView,
    ) -> Result<(), RiskReject> {
        use RejectReason as R;
        // A modify reads the order's record from the table (representation only: no effect).
        self.settle_solo(m.order_id.0, m.instrument.0);
        // A plain order's `Replaced` undoes its old price and leaves from the book's view.
        self.modify_old = ModifyOld {
            order_id: m.order_id.0,
            tag: m.instrument.0 as u64 | SOLO_LIVE,
            price: old.price.0,
            leaves: old.leaves.0,
            side: old.side as u8,
        };
        let Some(a) = self.acct_idx(m.account) else {
            return Err(RiskReject::new(R::UnknownAccount, 0, m.account.0 as i64));
        };
        let Some(i) = self.instr_idx(m.instrument) else {
            // Counted against the throttle all the same (see `check_message`).
            self.throttle(a, now)?;
            return Err(RiskReject::new(
                R::UnknownInstrument,
                0,
                m.instrument.0 as i64,
            ));
        };
        self.gate(a, i, now)?;
        let ins = &self.instruments[i];
        let qty = m.qty.0;
        check_qty(ins, qty)?;
        check_price(ins, m.price.0, R::OutsideMinMax)?;
        if ins.vol_until > now {
            check_volatility(OrdType::Limit, old.side, m.price.0, mkt)?;
        }
        let si = self.slot_idx(a, i);
        let slot = &self.slots[si];
        if qty > slot.max_order_qty {
            return Err(RiskReject::new(
                R::MaxOrderQty,
                u2i(slot.max_order_qty),
                u2i(qty),
            ));
        }
        let (old_reserve, old_leaves, flags) = match self.orders.find(m.order_id.0, m.instrument.0)
        {
            Some(k) => {
                let r = self.orders.get(k);
                let f = if r.reduce_only {
                    OrderFlags::REDUCE_ONLY
                } else {
                    OrderFlags::NONE
                };
                (r.reserve, r.leaves, f)
            }
            None => (old.price.0, old.leaves.0, OrderFlags::NONE),
        };
        let side = side_idx(old.side);
        let same_open = (slot.open_qty[side] as i128 - old_leaves as i128).max(0);
        self.check_reducing(a, i, flags, old.side, same_open, qty)?;
        check_position(slot, old.side, same_open, qty as i128)?;
        if ins.band_kind != 0
            && let Some(r) = band_reference(ins, mkt)
        {
            let (lo, hi) = band_cached(&mut self.instruments[i], r);
            check_band_edges(lo, hi, m.price.0)?;
        }
        let notional = m.price.0 as i128 * qty as i128;
        check_order_notional(notional, slot.max_order_notional)?;
        let acct = &self.accounts[a];
        if acct.credit_limit != i64::MAX {
            let e = self
                .exposure_idx(a)
                .saturating_sub(old_reserve as i128 * old_leaves as i128)
                .saturating_add(notional);
            if e > acct.credit_limit as i128 {
                return Err(RiskReject::new(
                    R::CreditLimit,
                    acct.credit_limit,
                    sat_i64(e),
                ));
            }
        }
        Ok(())
    }

    /// Cancel check: the throttle only (cancels are allowed while halted, reducing or frozen).
    #[inline]
    pub fn check_cancel(&mut self, c: &CancelOrder, now: u64) -> Result<(), RiskReject> {
        self.check_message(c.account, now)
    }

    /// The throttle alone, for a message of `account` that the book refuses whatever the
    /// risk layer says (a modify of an order the book does not hold, an order or modify naming
    /// an instrument the engine has no book for): every message of an account counts against
    /// its throttle, well-formed or not, so a flood of refused messages is throttled (and
    /// halts the account beyond the halt threshold) like any other. `UnknownAccount` for an
    /// account the config does not list. O(1): one token-bucket update.
    #[inline]
    pub fn check_message(&mut self, account: AccountId, now: u64) -> Result<(), RiskReject> {
        let Some(a) = self.acct_idx(account) else {
            return Err(RiskReject::new(
                RejectReason::UnknownAccount,
                0,
                account.0 as i64,
            ));
        };
        self.throttle(a, now)
    }

    // ---------------------------------------------------------------- state from events

    /// Keep open orders, exposure, positions, last trade, velocity and MMP state in step with
    /// the book's events. Call it for every event the book emits, in order (the risk layer's
    /// own `AccountState`/`InstrumentState` events are ignored). May emit a volatility halt
    /// (`InstrumentState`) or an MMP freeze (`AccountState`) into `out`, and asks for mass
    /// cancels through the returned action. O(1) per event: a plain order's events (a limit
    /// order, not MMP-flagged or reduce-only; see the crate documentation's Cost) update
    /// counters from the event's own fields, with no lookup while its account has no order in
    /// the table; other orders' take one or two order-table lookups.
    ///
    /// A modify's `Replaced` must follow its passed [`Risk::check_modify`] (which notes the
    /// book's view of the order), as the engine does: a plain order's old price and open
    /// quantity are known nowhere else. Every `Cancelled` and `Expired` must carry the order's
    /// side, limit price and open quantity left, as the book's do.
    ///
    /// Inlined into the caller as a bare dispatch on the event kind: events that cannot change
    /// risk state (rejects, triggers, level updates, state events) cost one compare; accepts,
    /// trades, cancels and expiries are handled inline too (see [`Risk::on_accepted`]), a
    /// replace goes to an out-of-line handler.
    #[inline(always)]
    pub fn on_event(
        &mut self,
        ev: &EventKind,
        now: u64,
        out: &mut impl EventKindSink,
    ) -> RiskAction {
        self.on_event_as::<false>(ev, now, out)
    }

    /// [`Risk::on_event`] for the events of the book call that enters the order the last
    /// [`Risk::check_new`] passed, made right after that check (the engine's new-order path).
    /// The one `Accepted` such a book call emits is that order's (a book accepts only the order
    /// it is entering), so it is matched to the order the check left pending without comparing
    /// its key, account and instrument. Any other use must call [`Risk::on_event`].
    #[inline(always)]
    pub fn on_entered_event(
        &mut self,
        ev: &EventKind,
        now: u64,
        out: &mut impl EventKindSink,
    ) -> RiskAction {
        self.on_event_as::<true>(ev, now, out)
    }

    /// `on_event`; `ENTERED`: the events of the book call entering the order the last check
    /// passed (see [`Risk::on_entered_event`]).
    #[inline(always)]
    fn on_event_as<const ENTERED: bool>(
        &mut self,
        ev: &EventKind,
        now: u64,
        out: &mut impl EventKindSink,
    ) -> RiskAction {
        match *ev {
            EventKind::Accepted {
                order_id,
                account,
                instrument,
                side,
                price,
                qty,
            } => {
                self.on_accepted::<ENTERED>(order_id, account, instrument, side, price, qty.0);
                RiskAction::None
            }
            EventKind::Trade { .. } => self.on_trade::<ENTERED>(ev, now, out),
            EventKind::Cancelled {
                order_id,
                account,
                instrument,
                qty,
                side,
                price,
                leaves,
                ..
            } => {
                // Entering a transient order: its unfilled rest, never counted.
                if ENTERED && self.pending.transient && order_id.0 == self.pending.order_id {
                    return RiskAction::None;
                }
                self.on_cancelled(
                    order_id, account, instrument, qty.0, side, price.0, leaves.0,
                );
                RiskAction::None
            }
            EventKind::Expired {
                order_id,
                account,
                instrument,
                qty,
                side,
                price,
            } => {
                self.on_cancelled(order_id, account, instrument, qty.0, side, price.0, 0);
                RiskAction::None
            }
            EventKind::Replaced {
                order_id,
                account,
                instrument,
                price,
                qty,
                ..
            } => {
                self.on_replaced(order_id.0, account, instrument.0, price.0, qty.0);
                RiskAction::None
            }
            EventKind::Rejected { order_id, .. } => {
                // Entering an order: the book's reject of it (the only one it can emit then).
                if ENTERED && self.pending.applied && order_id.0 == self.pending.order_id {
                    self.unapply_pending();
                }
                RiskAction::None
            }
            EventKind::Triggered { .. }
            | EventKind::LevelChanged { .. }
            | EventKind::AccountState { .. }
            | EventKind::InstrumentState { .. } => RiskAction::None,
        }
    }

    /// A trade: both sides' open quantity and position, the last trade price, velocity and MMP.
    /// Inlined into the event dispatch, as `on_accepted` is: out of line, its call and six
    /// saved registers cost about 30 instructions per trade (`examples/risk_cost.rs`).
    ///
    /// `ENTERED` (see [`Risk::on_entered_event`]): every taker is the order being entered or a
    /// stop it triggered (an order of the table), so the taker is matched against the pending
    /// order, which describes the entered order until the next check.
    #[inline(always)]
    fn on_trade<const ENTERED: bool>(
        &mut self,
        ev: &EventKind,
        now: u64,
        out: &mut impl EventKindSink,
    ) -> RiskAction {
        let EventKind::Trade {
            instrument,
            price,
            qty,
            maker_order_id,
            taker_order_id,
            maker_leaves,
            taker_leaves,
            maker_account,
            taker_account,
            aggressor,
        } = *ev
        else {
            return RiskAction::None;
        };
        let i = if ENTERED {
            // The book entering the pending order trades in its instrument, which the check
            // found configured.
            debug_assert_eq!(self.pending.instrument, instrument.0);
            self.pending.instrument as usize
        } else {
            let Some(i) = self.instr_idx(instrument) else {
                return RiskAction::None;
            };
            i
        };
        let q = qty.0;
        let m = self.on_fill(
            maker_order_id,
            maker_account,
            i,
            aggressor.opposite(),
            q,
            maker_leaves.0,
            price.0,
            now,
            out,
        );
        let p = self.pending;
        let t = if ENTERED && p.plain && p.order_id == taker_order_id.0 {
            // The plain order being entered: its reserve, account and slot are pending.
            if p.transient {
                // Its counts were never taken (`Pending::transient`): the position only.
                self.plain_position(p.acct as usize, i, p.slot as usize, aggressor, q);
            } else {
                self.plain_trade(
                    p.acct as usize,
                    i,
                    p.slot as usize,
                    aggressor,
                    p.reserve,
                    q,
                    taker_leaves.0 == 0,
                );
            }
            None
        } else if !ENTERED && self.is_cur(taker_order_id.0, i as u32) {
            // The plain order of this command (the usual taker): its reserve, account and
            // slot are at hand.
            let c = self.cur;
            self.plain_trade(
                c.acct as usize,
                i,
                c.slot as usize,
                aggressor,
                c.reserve,
                q,
                taker_leaves.0 == 0,
            );
            None
        } else {
            self.on_fill(
                taker_order_id,
                taker_account,
                i,
                aggressor,
                q,
                taker_leaves.0,
                // Not the plain order of this command: a table order (a triggered stop), else
                // an order the risk layer did not check, whose reserve it does not know.
                i64::MIN,
                now,
                out,
            )
        };
        self.on_trade_price(i, price.0, now, out);
        match (m, t) {
            (Some(x), Some(y)) if x != y => RiskAction::CancelMmpBoth(x, y),
            (Some(x), _) | (None, Some(x)) => RiskAction::CancelMmp(x),
            _ => RiskAction::None,
        }
    }

    /// An order entered the book: open orders, open quantity and notional, the order table (or
    /// the solo record). Inlined into the event dispatch: out of line it took its seven
    /// arguments, unpacked from the event, across a call and saved six registers to do about
    /// a hundred instructions' work, about 30 instructions per accepted order in all
    /// (`examples/risk_cost.rs`, every order passing).
    #[inline(always)]
    fn on_accepted<const ENTERED: bool>(
        &mut self,
        order_id: OrderId,
        account: AccountId,
        instrument: InstrumentId,
        side: Side,
        price: Price,
        qty: u64,
    ) {
        let p = self.pending;
        if ENTERED && p.applied {
            // Its upkeep is done (`check_new_entering`). `applied` stays: no reject of it can
            // follow, and the next check writes it again.
            self.pending.valid = false;
            self.pending.hot = false;
            return;
        }
        // The order the last check passed (the usual case): its account and slot are known.
        // Entering that very order (`ENTERED`), the book accepts no other one.
        let same = p.order_id == order_id.0 && p.instrument == instrument.0 && p.acct == account.0;
        debug_assert!(!ENTERED || !p.hot || same);
        if p.hot && (ENTERED || same) {
            self.pending.valid = false;
            self.pending.hot = false;
            let (a, si) = (p.acct as usize, p.slot as usize);
            if p.plain {
                // A plain order: counters only, and it is the order that may take now (while
                // it is being entered, the pending record still describes it).
                if !ENTERED {
                    self.cur = Cur {
                        order_id: order_id.0,
                        tag: instrument.0 as u64 | SOLO_LIVE,
                        reserve: p.reserve,
                        acct: p.acct,
                        slot: p.slot,
                    };
                }
                let (Some(s), Some(acct)) = (self.slots.get_mut(si), self.accounts.get_mut(a))
                else {
                    return; // the check resolved both: never
                };
                s.open_orders = s.open_orders.saturating_add(1);
                s.open_qty[side_idx(side)] = s.open_qty[side_idx(side)].saturating_add(qty);
                // The check passed this command with `live < max_live`, and an account's
                // open orders are at most `live` (restores derive `live` as their saturated
                // sum): neither count can wrap.
                acct.open_orders = acct.open_orders.wrapping_add(1);
                acct.open_notional = add128(acct.open_notional, p.reserve as i128 * qty as i128);
                self.live = self.live.wrapping_add(1);
                return;
            }
            let transient = matches!(p.tif, TimeInForce::Ioc | TimeInForce::Fok)
                && !p.flags.contains(OrderFlags::MMP);
            self.accepted_tabled(
                order_id, account, instrument, side, qty, a, si, p.reserve, p.flags, transient,
            );
        } else {
            let Some((a, si, reserve, flags)) =
                self.accepted_cold(order_id, account, instrument, price)
            else {
                return;
            };
            self.pending.valid = false;
            self.pending.hot = false;
            self.accepted_tabled(
                order_id, account, instrument, side, qty, a, si, reserve, flags, false,
            );
        }
    }

    /// `on_accepted` of an order kept in the order table (or as the solo order): anything but
    /// a plain order (see [`Cur`]).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn accepted_tabled(
        &mut self,
        order_id: OrderId,
        account: AccountId,
        instrument: InstrumentId,
        side: Side,
        qty: u64,
        a: usize,
        si: usize,
        reserve: i64,
        flags: OrderFlags,
        transient: bool,
    ) {
        // A new order under the key of the plain order kept as current ends that one's use.
        if self.is_cur(order_id.0, instrument.0) {
            self.cur.tag = 0;
        }
        // Both references first: taken after the table's writes, each table would be looked
        // up and bounds-checked again.
        let (Some(s), Some(acct)) = (self.slots.get_mut(si), self.accounts.get_mut(a)) else {
            return; // the check or `accepted_cold` resolved both: never
        };
        if transient && self.solo.tag == 0 {
            // A transient order: kept as the solo order, out of the table's index.
            let Some(idx) = self.orders.reserve() else {
                return; // table full: check_new refuses new orders before this can happen
            };
            self.solo = Solo {
                order_id: order_id.0,
                tag: instrument.0 as u64 | SOLO_LIVE,
                reserve,
                leaves: qty,
                idx,
                acct: a as u32,
                slot: si as u32,
                side: side as u8,
                reduce_only: flags.contains(OrderFlags::REDUCE_ONLY),
            };
        } else {
            let mmp = flags.contains(OrderFlags::MMP);
            let head = acct.mmp_head;
            let Some(k) = self.orders.insert(OrderRec {
                order_id: order_id.0,
                reserve,
                leaves: qty,
                instrument: instrument.0,
                account: account.0,
                side: side as u8,
                mmp,
                reduce_only: flags.contains(OrderFlags::REDUCE_ONLY),
                live: true,
                mmp_prev: NIL,
                mmp_next: if mmp { head } else { NIL },
            }) else {
                return; // table full: check_new refuses new orders before this can happen
            };
            if mmp {
                if head != NIL {
                    self.orders.get_mut(head).mmp_prev = k;
                }
                acct.mmp_head = k;
            }
        }
        s.open_orders = s.open_orders.saturating_add(1);
        s.open_qty[side_idx(side)] = s.open_qty[side_idx(side)].saturating_add(qty);
        acct.open_orders = acct.open_orders.saturating_add(1);
        acct.tabled = acct.tabled.saturating_add(1);
        acct.open_notional = add128(acct.open_notional, reserve as i128 * qty as i128);
        self.live = self.live.saturating_add(1);
    }

    /// `on_accepted` of an order other than the one the last check passed (a restored pending
    /// order, or an order the engine did not check): account, slot, reserve price and flags
    /// looked up; `None` for an unknown account or instrument.
    #[cold]
    #[inline(never)]
    fn accepted_cold(
        &self,
        order_id: OrderId,
        account: AccountId,
        instrument: InstrumentId,
        price: Price,
    ) -> Option<(usize, usize, i64, OrderFlags)> {
        let p = self.pending;
        let (Some(a), Some(i)) = (self.acct_idx(account), self.instr_idx(instrument)) else {
            return None;
        };
        let (reserve, flags) =
            if p.valid && p.order_id == order_id.0 && p.instrument == instrument.0 {
                (p.reserve, p.flags)
            } else if price.0 > 0 {
                (price.0, OrderFlags::NONE)
            } else {
                let ins = &self.instruments[i];
                (
                    ins.last_trade.or(ins.reference).unwrap_or(0),
                    OrderFlags::NONE,
                )
            };
        Some((a, self.slot_idx(a, i), reserve, flags))
    }

    /// One side of a trade: open quantity, position, MMP. Returns the account to MMP-cancel.
    /// `price` is the order's reserve if it is plain (a maker's: the trade price), `i64::MIN`
    /// if unknown (then an order in no table only moves the position).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn on_fill(
        &mut self,
        order_id: OrderId,
        account: AccountId,
        i: usize,
        side: Side,
        qty: u64,
        leaves_after: u64,
        price: i64,
        now: u64,
        out: &mut impl EventKindSink,
    ) -> Option<AccountId> {
        let a = self.acct_idx(account)?;
        let si = self.slot_idx(a, i);
        let mut mmp = false;
        let tabled = self.accounts.get(a).is_some_and(|x| x.tabled != 0)
            && self.fill_tabled(order_id.0, i, a, si, leaves_after, &mut mmp);
        if !tabled && price != i64::MIN {
            // A plain order: counters and position through one pair of references.
            self.plain_trade(a, i, si, side, price, qty, leaves_after == 0);
            return None;
        }
        let delta = match side {
            Side::Buy => qty as i128,
            Side::Sell => -(qty as i128),
        };
        self.add_position_at(a, i, si, delta);
        if mmp {
            return self.mmp_fill(a, qty, now, out);
        }
        None
    }

    /// A fill of an order of an account with orders in the table: that order's record (or the
    /// solo order's) if it is one of them, true then (`mmp` set from the record).
    #[inline(never)]
    fn fill_tabled(
        &mut self,
        order_id: u64,
        i: usize,
        a: usize,
        si: usize,
        leaves_after: u64,
        mmp: &mut bool,
    ) -> bool {
        if self.is_solo(order_id, i as u32) {
            // Not MMP-flagged (MMP orders are never solo).
            let new_leaves = leaves_after.min(self.solo.leaves);
            self.solo_set_leaves(new_leaves);
            return true;
        }
        let Some((k, pos)) = self.orders.find_at(order_id, i as u32) else {
            return false;
        };
        let r = self.orders.get(k);
        *mmp = r.mmp;
        let new_leaves = leaves_after.min(r.leaves);
        if r.account as usize == a {
            // The record is keyed by instrument `i`: its slot is `si`.
            self.set_leaves_at(k, pos, new_leaves, a, si);
        } else {
            self.set_leaves(k, pos, new_leaves);
        }
        true
    }

    /// A plain order (account `a`, instrument `i`, slot `si`, `side`, reserve price `reserve`)
    /// traded `qty` lots; `done`: the order is gone. [`Risk::plain_fill`] and the position
    /// ([`Risk::add_position_at`]) with each table looked up once.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn plain_trade(
        &mut self,
        a: usize,
        i: usize,
        si: usize,
        side: Side,
        reserve: i64,
        qty: u64,
        done: bool,
    ) {
        let (Some(s), Some(acct)) = (self.slots.get_mut(si), self.accounts.get_mut(a)) else {
            return;
        };
        let sd = side_idx(side);
        s.open_qty[sd] = s.open_qty[sd].saturating_sub(qty);
        acct.open_notional = sub128(acct.open_notional, reserve as i128 * qty as i128);
        if done {
            s.open_orders = s.open_orders.saturating_sub(1);
            acct.open_orders = acct.open_orders.saturating_sub(1);
            self.live = self.live.saturating_sub(1);
        }
        if let Some(entered) = move_position(&mut s.position, side, qty) {
            self.held_changed(a, i, si, entered);
        }
    }

    /// [`Risk::plain_trade`] of an order whose counts were never taken (see
    /// `Pending::transient`): the position only.
    #[inline(always)]
    fn plain_position(&mut self, a: usize, i: usize, si: usize, side: Side, qty: u64) {
        let Some(s) = self.slots.get_mut(si) else {
            return;
        };
        if let Some(entered) = move_position(&mut s.position, side, qty) {
            self.held_changed(a, i, si, entered);
        }
    }

    /// `qty` lots of a plain order (account `a`, slot `si`, side index `sd`, reserve price
    /// `reserve`) traded or were cancelled; `done`: the order is gone.
    #[inline(always)]
    fn plain_fill(&mut self, a: usize, si: usize, sd: usize, reserve: i64, qty: u64, done: bool) {
        let (Some(s), Some(acct)) = (self.slots.get_mut(si), self.accounts.get_mut(a)) else {
            return;
        };
        s.open_qty[sd] = s.open_qty[sd].saturating_sub(qty);
        acct.open_notional = sub128(acct.open_notional, reserve as i128 * qty as i128);
        if done {
            s.open_orders = s.open_orders.saturating_sub(1);
            acct.open_orders = acct.open_orders.saturating_sub(1);
            self.live = self.live.saturating_sub(1);
        }
    }

    /// A cancel or expiry (`leaves` after it; 0 for an expiry) of an order: its table record if
    /// its account has orders there and it is one of them, else the counters of a plain order
    /// from the event's side and price.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn on_cancelled(
        &mut self,
        order_id: OrderId,
        account: AccountId,
        instrument: InstrumentId,
        qty: u64,
        side: Side,
        price: i64,
        leaves: u64,
    ) {
        let (a, i) = (account.0 as usize, instrument.0 as usize);
        let (Some(acct), Some(ins)) = (self.accounts.get(a), self.instruments.get(i)) else {
            return;
        };
        if !(acct.known & ins.known) {
            return;
        }
        if acct.tabled != 0 && self.reduce_open(order_id.0, instrument.0, qty) {
            return;
        }
        let si = self.slot_idx(a, i);
        self.plain_fill(a, si, side_idx(side), price, qty, leaves == 0);
    }

    #[cold]
    #[inline(never)]
    fn mmp_fill(
        &mut self,
        a: usize,
        qty: u64,
        now: u64,
        out: &mut impl EventKindSink,
    ) -> Option<AccountId> {
        let acct = &mut self.accounts[a];
        if !acct.mmp.on || holds(acct.mmp_until, now) {
            return None;
        }
        if acct.mmp.on_fill(now, qty) == MmpTrip::No {
            return None;
        }
        acct.mmp.reset();
        let until = if acct.mmp.freeze_ns == 0 {
            FOREVER
        } else {
            now.saturating_add(acct.mmp.freeze_ns)
        };
        acct.mmp_until = until;
        acct.gated = true;
        self.next_deadline = self.next_deadline.min(until);
        self.tick_at = self.tick_at.min(until);
        out.emit(EventKind::AccountState {
            account: AccountId(a as u32),
            state: TradingState::Halted,
            cause: RejectReason::MmpFrozen,
            until: until_field(until),
        });
        Some(AccountId(a as u32))
    }

    fn on_trade_price(&mut self, i: usize, price: i64, now: u64, out: &mut impl EventKindSink) {
        let ins = &mut self.instruments[i];
        ins.last_trade = Some(price);
        ins.mark = price;
        if !ins.velocity.on {
            return;
        }
        if ins.velocity.on_trade(now, price).is_some() && ins.vol_until <= now {
            let until = now.saturating_add(ins.velocity.halt_ns);
            ins.vol_until = until;
            ins.gated = true;
            ins.velocity.reset();
            self.next_deadline = self.next_deadline.min(until);
            self.tick_at = self.tick_at.min(until);
            out.emit(EventKind::InstrumentState {
                instrument: InstrumentId(i as u32),
                state: TradingState::Halted,
                cause: RejectReason::VolatilityHalt,
                until,
            });
        }
    }

    /// Set an order's leaves, updating the open quantity / notional / counts; removes it at 0.
    /// `k` and `pos` come from [`OrderTable::find_at`].
    #[inline(always)]
    fn set_leaves(&mut self, k: u32, pos: usize, new_leaves: u64) {
        let r = self.orders.get(k);
        let (a, instr) = (r.account as usize, r.instrument as usize);
        let si = self.slot_idx(a, instr);
        self.set_leaves_at(k, pos, new_leaves, a, si);
    }

    /// [`Risk::set_leaves`] of a record whose account `a` and slot `si` the caller knows.
    #[inline(always)]
    fn set_leaves_at(&mut self, k: u32, pos: usize, new_leaves: u64, a: usize, si: usize) {
        let r = self.orders.get(k);
        let (sd, leaves, reserve, mmp) = (r.side as usize & 1, r.leaves, r.reserve, r.mmp);
        let d = leaves - new_leaves.min(leaves);
        // Both references before the first write (after it, the second table would be looked
        // up again).
        let (s, acct) = (&mut self.slots[si], &mut self.accounts[a]);
        s.open_qty[sd] = s.open_qty[sd].saturating_sub(d);
        acct.open_notional = sub128(acct.open_notional, reserve as i128 * d as i128);
        if new_leaves == 0 {
            s.open_orders = s.open_orders.saturating_sub(1);
            acct.open_orders = acct.open_orders.saturating_sub(1);
            acct.tabled = acct.tabled.saturating_sub(1);
            self.live = self.live.saturating_sub(1);
            if mmp {
                self.unlink_mmp(k, a);
            }
            self.orders.remove_at(k, pos);
        } else {
            self.orders.get_mut(k).leaves = new_leaves;
        }
    }

    fn unlink_mmp(&mut self, k: u32, a: usize) {
        let r = *self.orders.get(k);
        if r.mmp_prev != NIL {
            self.orders.get_mut(r.mmp_prev).mmp_next = r.mmp_next;
        } else {
            self.accounts[a].mmp_head = r.mmp_next;
        }
        if r.mmp_next != NIL {
            self.orders.get_mut(r.mmp_next).mmp_prev = r.mmp_prev;
        }
    }

    /// True when (order id, instrument) is the live solo order.
    #[inline(always)]
    fn is_solo(&self, order_id: u64, instrument: u32) -> bool {
        // The id first: it tells the solo from a maker trading against it.
        self.solo.order_id == order_id && self.solo.tag == (instrument as u64 | SOLO_LIVE)
    }

    /// [`Risk::set_leaves_at`] of the live solo order: at 0 it ends and gives its slab index
    /// back.
    #[inline(always)]
    fn solo_set_leaves(&mut self, new_leaves: u64) {
        let o = self.solo;
        let (sd, leaves) = (o.side as usize & 1, o.leaves);
        let d = leaves - new_leaves.min(leaves);
        let (s, acct) = (
            &mut self.slots[o.slot as usize],
            &mut self.accounts[o.acct as usize],
        );
        s.open_qty[sd] = s.open_qty[sd].saturating_sub(d);
        acct.open_notional = sub128(acct.open_notional, o.reserve as i128 * d as i128);
        if new_leaves == 0 {
            s.open_orders = s.open_orders.saturating_sub(1);
            acct.open_orders = acct.open_orders.saturating_sub(1);
            acct.tabled = acct.tabled.saturating_sub(1);
            self.live = self.live.saturating_sub(1);
            self.solo.tag = 0;
            self.orders.release(o.idx);
        } else {
            self.solo.leaves = new_leaves;
        }
    }

    /// Move the solo order into the table if it is (order id, instrument), so the record can
    /// be read or changed there (a modify or replace of it: not from the engine, whose book
    /// never rests a transient order).
    #[inline(always)]
    fn settle_solo(&mut self, order_id: u64, instrument: u32) {
        if self.is_solo(order_id, instrument) {
            self.settle_solo_cold();
        }
    }

    #[cold]
    #[inline(never)]
    fn settle_solo_cold(&mut self) {
        let o = self.solo;
        self.solo.tag = 0;
        self.orders.insert_reserved(o.idx, o.rec());
    }

    /// A cancel of `qty` lots of (order id, instrument) if it is the solo order or in the
    /// table: true then.
    #[inline(never)]
    fn reduce_open(&mut self, order_id: u64, instrument: u32, qty: u64) -> bool {
        if self.is_solo(order_id, instrument) {
            let leaves = self.solo.leaves;
            self.solo_set_leaves(leaves.saturating_sub(qty));
            true
        } else if let Some((k, pos)) = self.orders.find_at(order_id, instrument) {
            let leaves = self.orders.get(k).leaves;
            self.set_leaves(k, pos, leaves.saturating_sub(qty));
            true
        } else {
            false
        }
    }

    /// True when (order id, instrument) is the plain order of this command ([`Cur`]).
    #[inline(always)]
    fn is_cur(&self, order_id: u64, instrument: u32) -> bool {
        self.cur.order_id == order_id && self.cur.tag == (instrument as u64 | SOLO_LIVE)
    }

    #[inline(never)]
    fn on_replaced(
        &mut self,
        order_id: u64,
        account: AccountId,
        instrument: u32,
        price: i64,
        qty: u64,
    ) {
        self.settle_solo(order_id, instrument);
        // The note of the passed check is used (or not needed) now.
        let m = self.modify_old;
        self.modify_old.tag = 0;
        let Some((k, pos)) = self.orders.find_at(order_id, instrument) else {
            self.replaced_plain(m, order_id, account, instrument, price, qty);
            return;
        };
        if qty == 0 {
            self.set_leaves(k, pos, 0);
            return;
        }
        let r = *self.orders.get(k);
        let a = r.account as usize;
        let si = self.slot_idx(a, r.instrument as usize);
        let s = &mut self.slots[si];
        let sd = r.side as usize & 1;
        s.open_qty[sd] = s.open_qty[sd].saturating_sub(r.leaves).saturating_add(qty);
        let acct = &mut self.accounts[a];
        acct.open_notional = add128(
            sub128(acct.open_notional, r.reserve as i128 * r.leaves as i128),
            price as i128 * qty as i128,
        );
        let rm = self.orders.get_mut(k);
        rm.reserve = price;
        rm.leaves = qty;
    }

    /// `Replaced` of an order in no table: a plain order, whose old price and leaves the
    /// passed `check_modify` noted from the book ([`ModifyOld`]); it may take now ([`Cur`]).
    /// Without that note (a modify the risk layer did not check) nothing is known to undo.
    fn replaced_plain(
        &mut self,
        m: ModifyOld,
        order_id: u64,
        account: AccountId,
        instrument: u32,
        price: i64,
        qty: u64,
    ) {
        let tag = instrument as u64 | SOLO_LIVE;
        if m.order_id != order_id || m.tag != tag {
            return;
        }
        // The event's account is the order's owner.
        let (Some(a), Some(_)) = (
            self.acct_idx(account),
            self.instr_idx(InstrumentId(instrument)),
        ) else {
            return;
        };
        let si = self.slot_idx(a, instrument as usize);
        let sd = m.side as usize & 1;
        let s = &mut self.slots[si];
        s.open_qty[sd] = s.open_qty[sd].saturating_sub(m.leaves).saturating_add(qty);
        let acct = &mut self.accounts[a];
        acct.open_notional = add128(
            sub128(acct.open_notional, m.price as i128 * m.leaves as i128),
            price as i128 * qty as i128,
        );
        if qty == 0 {
            s.open_orders = s.open_orders.saturating_sub(1);
            acct.open_orders = acct.open_orders.saturating_sub(1);
            self.live = self.live.saturating_sub(1);
            return;
        }
        self.cur = Cur {
            order_id,
            tag,
            reserve: price,
            acct: a as u32,
            slot: si as u32,
        };
    }

    /// Add a fill to the position of slot (a, i). Keeping the held list in step (the position
    /// leaves or reaches zero) is the cold part.
    #[inline(always)]
    fn add_position_at(&mut self, a: usize, i: usize, si: usize, delta: i128) {
        let Some(s) = self.slots.get_mut(si) else {
            return;
        };
        let before = s.position;
        let after = add128(before, delta);
        s.position = after;
        if (before == 0) != (after == 0) {
            self.held_changed(a, i, si, before == 0);
        }
    }

    /// The position of slot (a, i) (index `si`) became non-zero (`entered`) or zero: add the
    /// instrument to / remove it from the account's held list.
    #[inline(never)]
    fn held_changed(&mut self, a: usize, i: usize, si: usize, entered: bool) {
        let row = a * self.n_instr;
        if entered {
            let n = self.accounts[a].held_len;
            self.held[row + n as usize] = i as u32;
            self.slots[si].held_idx = n;
            self.accounts[a].held_len = n + 1;
        } else {
            let n = self.accounts[a].held_len - 1;
            let idx = self.slots[si].held_idx;
            let moved = self.held[row + n as usize];
            self.held[row + idx as usize] = moved;
            self.slots[row + moved as usize].held_idx = idx;
            self.accounts[a].held_len = n;
        }
    }

    // ---------------------------------------------------------------- control and time

    /// Apply a risk command (sequenced like any other command). Emits the state change event
    /// (or a `Rejected` with `UnknownAccount` / `UnknownInstrument` / `Malformed` for a bad
    /// command) and returns what the engine must do (`CancelAccount` for a kill). Cold path.
    ///
    /// `SetLimit` values (all ≥ 0; negative → `Malformed`):
    /// - `MaxOrderQty`, `MaxOrderNotional`, `MaxLong`, `MaxShort`: per (account, instrument);
    ///   account 0 sets it for every account on that instrument. The value replaces the
    ///   combined min(account, instrument) limit the config gave that slot.
    /// - `CreditLimit`, `MaxOpenOrders`: per account (instrument ignored).
    /// - `ThrottleRate`: messages per window of the account; 0 turns the throttle off (the
    ///   window is the configured one, else 1 s).
    /// - `PriceBand`: per instrument (account ignored), in the instrument's band unit (bps or
    ///   ticks; ticks when it had no band); 0 turns the band off.
    ///
    /// Use `i64::MAX` for "no limit".
    pub fn control(
        &mut self,
        c: &RiskControl,
        now: u64,
        out: &mut impl EventKindSink,
    ) -> RiskAction {
        match *c {
            RiskControl::Kill { account } => {
                let Some(a) = self.acct_idx(account) else {
                    reject_ctl(
                        out,
                        account,
                        InstrumentId(0),
                        RejectReason::UnknownAccount,
                        account.0 as i64,
                    );
                    return RiskAction::None;
                };
                self.accounts[a].state = TradingState::Halted;
                self.accounts[a].gated = true;
                out.emit(EventKind::AccountState {
                    account,
                    state: TradingState::Halted,
                    cause: RejectReason::AccountHalted,
                    until: 0,
                });
                RiskAction::CancelAccount(account)
            }
            RiskControl::SetAccountState { account, state } => {
                let Some(a) = self.acct_idx(account) else {
                    reject_ctl(
                        out,
                        account,
                        InstrumentId(0),
                        RejectReason::UnknownAccount,
                        account.0 as i64,
                    );
                    return RiskAction::None;
                };
                let acct = &mut self.accounts[a];
                acct.state = state;
                acct.throttle_until = 0;
                acct.regate();
                acct.bucket.fill();
                out.emit(EventKind::AccountState {
                    account,
                    state,
                    cause: RejectReason::AccountHalted,
                    until: 0,
                });
                RiskAction::None
            }
            RiskControl::SetInstrumentState { instrument, state } => {
                let Some(i) = self.instr_idx(instrument) else {
                    reject_ctl(
                        out,
                        AccountId(0),
                        instrument,
                        RejectReason::UnknownInstrument,
                        instrument.0 as i64,
                    );
                    return RiskAction::None;
                };
                let ins = &mut self.instruments[i];
                ins.state = state;
                if state == TradingState::Active {
                    ins.vol_until = 0;
                    ins.velocity.reset();
                }
                ins.regate();
                out.emit(EventKind::InstrumentState {
                    instrument,
                    state,
                    cause: RejectReason::InstrumentHalted,
                    until: 0,
                });
                RiskAction::None
            }
            RiskControl::SetLimit(l) => {
                self.set_limit(&l, out);
                RiskAction::None
            }
            RiskControl::SetReferencePrice { instrument, price } => {
                let Some(i) = self.instr_idx(instrument) else {
                    reject_ctl(
                        out,
                        AccountId(0),
                        instrument,
                        RejectReason::UnknownInstrument,
                        instrument.0 as i64,
                    );
                    return RiskAction::None;
                };
                if price.0 <= 0 {
                    reject_ctl(
                        out,
                        AccountId(0),
                        instrument,
                        RejectReason::Malformed,
                        price.0,
                    );
                    return RiskAction::None;
                }
                self.instruments[i].reference = Some(price.0);
                RiskAction::None
            }
            RiskControl::ResetMmp { account } => {
                let Some(a) = self.acct_idx(account) else {
                    reject_ctl(
                        out,
                        account,
                        InstrumentId(0),
                        RejectReason::UnknownAccount,
                        account.0 as i64,
                    );
                    return RiskAction::None;
                };
                let acct = &mut self.accounts[a];
                acct.mmp_until = 0;
                acct.regate();
                acct.mmp.reset();
                let state = self.effective_state(a, now);
                out.emit(EventKind::AccountState {
                    account,
                    state,
                    cause: RejectReason::MmpFrozen,
                    until: 0,
                });
                RiskAction::None
            }
        }
    }

    fn set_limit(&mut self, l: &SetLimit, out: &mut impl EventKindSink) {
        let v = l.value;
        if v < 0 {
            reject_ctl(out, l.account, l.instrument, RejectReason::Malformed, v);
            return;
        }
        let per_instrument = matches!(
            l.kind,
            LimitKind::MaxOrderQty
                | LimitKind::MaxOrderNotional
                | LimitKind::MaxLong
                | LimitKind::MaxShort
        );
        let per_account = !matches!(l.kind, LimitKind::PriceBand);
        let i = self.instr_idx(l.instrument);
        if (per_instrument || l.kind == LimitKind::PriceBand) && i.is_none() {
            reject_ctl(
                out,
                l.account,
                l.instrument,
                RejectReason::UnknownInstrument,
                l.instrument.0 as i64,
            );
            return;
        }
        let a = self.acct_idx(l.account);
        let all_accounts = per_instrument && l.account.0 == 0;
        if per_account && a.is_none() && !all_accounts {
            reject_ctl(
                out,
                l.account,
                l.instrument,
                RejectReason::UnknownAccount,
                l.account.0 as i64,
            );
            return;
        }
        let uv = v as u64;
        match l.kind {
            LimitKind::CreditLimit
            | LimitKind::MaxOpenOrders
            | LimitKind::MaxOpenOrdersPerInstrument
            | LimitKind::ThrottleRate => {
                let Some(a) = a else { return };
                let acct = &mut self.accounts[a];
                match l.kind {
                    LimitKind::CreditLimit => acct.credit_limit = v,
                    LimitKind::MaxOpenOrders => {
                        acct.max_open_orders = uv.min(u32::MAX as u64) as u32
                    }
                    LimitKind::MaxOpenOrdersPerInstrument => {
                        acct.max_open_per_instr = uv.min(u32::MAX as u64) as u32
                    }
                    _ => acct.bucket.set_rate(uv),
                }
            }
            LimitKind::PriceBand => {
                let Some(i) = i else { return };
                let ins = &mut self.instruments[i];
                let w = ins.band_w;
                ins.set_band_cache(i64::MIN, w);
                if v == 0 {
                    ins.band_kind = 0;
                } else {
                    if ins.band_kind == 0 {
                        ins.band_kind = 2;
                    }
                    ins.band = v;
                }
            }
            _ => {
                let Some(i) = i else { return };
                let (lo, hi) = match a {
                    Some(a) if !all_accounts => (a, a + 1),
                    _ => (0, self.accounts.len()),
                };
                let max_qty = self.instruments[i].max_qty;
                for a in lo..hi {
                    let si = self.slot_idx(a, i);
                    let s = &mut self.slots[si];
                    match l.kind {
                        LimitKind::MaxOrderQty => {
                            s.max_order_qty = uv;
                            s.qty_hi = uv.min(max_qty);
                        }
                        LimitKind::MaxOrderNotional => s.max_order_notional = v,
                        LimitKind::MaxLong => s.max_long = uv,
                        _ => s.max_short = uv,
                    }
                }
            }
        }
    }

    /// Lift halts and freezes whose time has come, emitting their state events, and emit any
    /// state event queued by a check (`flush`). Call before every command with the command's
    /// time: costs one compare unless a deadline has passed (then one pass over the tables).
    #[inline]
    pub fn tick(&mut self, now: u64, out: &mut impl EventKindSink) {
        if now >= self.tick_at {
            self.tick_cold(now, out);
        }
    }

    /// `tick` with an event queued or a deadline passed.
    #[cold]
    #[inline(never)]
    fn tick_cold(&mut self, now: u64, out: &mut impl EventKindSink) {
        self.flush(out);
        if now >= self.next_deadline {
            self.tick_slow(now, out);
        }
        self.tick_at = self.next_deadline;
    }

    #[cold]
    fn tick_slow(&mut self, now: u64, out: &mut impl EventKindSink) {
        let mut next = FOREVER;
        for a in 0..self.accounts.len() {
            if !self.accounts[a].known {
                continue;
            }
            let tu = self.accounts[a].throttle_until;
            if tu != 0 && tu != FOREVER && tu <= now {
                self.accounts[a].throttle_until = 0;
                self.accounts[a].regate();
                let state = self.effective_state(a, now);
                out.emit(EventKind::AccountState {
                    account: AccountId(a as u32),
                    state,
                    cause: RejectReason::Throttled,
                    until: 0,
                });
            }
            let mu = self.accounts[a].mmp_until;
            if mu != 0 && mu != FOREVER && mu <= now {
                self.accounts[a].mmp_until = 0;
                self.accounts[a].regate();
                let state = self.effective_state(a, now);
                out.emit(EventKind::AccountState {
                    account: AccountId(a as u32),
                    state,
                    cause: RejectReason::MmpFrozen,
                    until: 0,
                });
            }
            for u in [self.accounts[a].throttle_until, self.accounts[a].mmp_until] {
                if u != 0 {
                    next = next.min(u);
                }
            }
        }
        for (i, ins) in self.instruments.iter_mut().enumerate() {
            if ins.vol_until != 0 && ins.vol_until <= now {
                ins.vol_until = 0;
                ins.regate();
                out.emit(EventKind::InstrumentState {
                    instrument: InstrumentId(i as u32),
                    state: ins.state,
                    cause: RejectReason::VolatilityHalt,
                    until: 0,
                });
            } else if ins.vol_until != 0 {
                next = next.min(ins.vol_until);
            }
        }
        self.next_deadline = next;
    }

    /// Emit the state event a check queued (a throttle halt), if any. One compare when none.
    #[inline(always)]
    pub fn flush(&mut self, out: &mut impl EventKindSink) {
        if self.queued.is_some() {
            self.flush_queued(out);
        }
    }

    #[cold]
    #[inline(never)]
    fn flush_queued(&mut self, out: &mut impl EventKindSink) {
        if let Some(ev) = self.queued.take() {
            out.emit(ev);
        }
    }

    // ---------------------------------------------------------------- queries

    fn effective_state(&self, a: usize, now: u64) -> TradingState {
        let acct = &self.accounts[a];
        if holds(acct.throttle_until, now) || holds(acct.mmp_until, now) {
            TradingState::Halted
        } else {
            acct.state
        }
    }

    /// Net position of an account in an instrument (lots, + long), clamped to i64. O(1).
    pub fn position(&self, a: AccountId, i: InstrumentId) -> i64 {
        match (self.acct_idx(a), self.instr_idx(i)) {
            (Some(a), Some(i)) => sat_i64(self.slots[self.slot_idx(a, i)].position),
            _ => 0,
        }
    }

    /// Exposure of an account: open orders' notional (reserve price × leaves) + Σ |position| ×
    /// last trade price, in ticks × lots. O(instruments the account holds a position in).
    pub fn exposure(&self, a: AccountId) -> i128 {
        match self.acct_idx(a) {
            Some(a) => self.exposure_idx(a),
            None => 0,
        }
    }

    /// [`Risk::exposure_idx`] out of line (the plain-limit path with positions in two or more
    /// instruments).
    #[cold]
    #[inline(never)]
    fn exposure_cold(&self, a: usize) -> i128 {
        self.exposure_idx(a)
    }

    #[inline(always)]
    fn exposure_idx(&self, a: usize) -> i128 {
        let acct = &self.accounts[a];
        let row = a * self.n_instr;
        let n = acct.held_len as usize;
        let mut e = acct.open_notional;
        if n == 0 {
            return e;
        }
        if n == 1 {
            // The common case (one instrument held): no slicing, one term.
            let Some(&i) = self.held.get(row) else {
                return e;
            };
            let pos = self.slots.get(row + i as usize).map_or(0, |s| s.position);
            let mark = self.instruments.get(i as usize).map_or(0, |x| x.mark);
            return add128(e, position_value(pos, mark));
        }
        let (Some(held), Some(slots)) = (
            self.held.get(row..row + n),
            self.slots.get(row..row + self.n_instr),
        ) else {
            return e;
        };
        for &i in held {
            let pos = slots.get(i as usize).map_or(0, |s| s.position);
            let mark = self.instruments.get(i as usize).map_or(0, |x| x.mark);
            e = add128(e, position_value(pos, mark));
        }
        e
    }

    /// Live orders the risk layer tracks for the account (resting orders and pending stops
    /// between commands). O(1).
    pub fn open_orders(&self, a: AccountId) -> u32 {
        self.acct_idx(a).map_or(0, |a| self.accounts[a].open_orders)
    }

    /// Open quantity of an account on one side of an instrument. O(1).
    pub fn open_qty(&self, a: AccountId, i: InstrumentId, side: Side) -> u64 {
        match (self.acct_idx(a), self.instr_idx(i)) {
            (Some(a), Some(i)) => self.slots[self.slot_idx(a, i)].open_qty[side_idx(side)],
            _ => 0,
        }
    }

    /// The account's trading state as checks see it at `now` (throttle halt and MMP freeze
    /// read as `Halted`); `None` for an unknown account.
    pub fn account_state(&self, a: AccountId, now: u64) -> Option<TradingState> {
        self.acct_idx(a).map(|a| self.effective_state(a, now))
    }

    /// The instrument's state at `now` (a volatility interruption reads as `Halted`).
    pub fn instrument_state(&self, i: InstrumentId, now: u64) -> Option<TradingState> {
        self.instr_idx(i).map(|i| {
            let ins = &self.instruments[i];
            if ins.vol_until > now {
                TradingState::Halted
            } else {
                ins.state
            }
        })
    }

    /// The account's live MMP-flagged orders, newest first, as (instrument, order id). The
    /// engine copies them into its own preallocated buffer, then cancels each (cancelling while
    /// iterating would mutate the list). O(orders listed).
    pub fn mmp_orders(&self, a: AccountId) -> impl Iterator<Item = (InstrumentId, OrderId)> + '_ {
        let mut k = self.acct_idx(a).map_or(NIL, |a| self.accounts[a].mmp_head);
        core::iter::from_fn(move || {
            if k == NIL {
                return None;
            }
            let r = self.orders.get(k);
            k = r.mmp_next;
            Some((InstrumentId(r.instrument), OrderId(r.order_id)))
        })
    }

    /// Book parameters from the risk config for the engine's `BookConfig` (tick, lot, price
    /// range, market protection). `None` for an unconfigured instrument.
    pub fn book_params(&self, i: InstrumentId) -> Option<BookParams> {
        self.book_params_of(i)
    }

    /// Touch every page of the preallocated tables so no page fault lands on the hot path.
    /// Start-up only; state unchanged.
    pub fn prefault(&mut self) {
        self.orders.prefault();
        ferrex_types::prefault(&mut self.accounts);
        ferrex_types::prefault(&mut self.instruments);
        ferrex_types::prefault(&mut self.slots);
        ferrex_types::prefault(&mut self.held);
    }

    fn book_params_of(&self, i: InstrumentId) -> Option<BookParams> {
        self.instr_idx(i).map(|i| {
            let ins = &self.instruments[i];
            BookParams {
                tick_size: ins.tick,
                lot_size: ins.lot,
                min_price: Price(ins.min_price),
                max_price: Price(ins.max_price),
                market_protection_ticks: ins.protection,
            }
        })
    }

    /// The reference price the band uses when the book has neither trades nor a two-sided
    /// market (config or `SetReferencePrice`).
    pub fn reference_price(&self, i: InstrumentId) -> Option<Price> {
        self.instr_idx(i)
            .and_then(|i| self.instruments[i].reference.map(Price))
    }
}

// -------------------------------------------------------------------- free check helpers

#[inline(always)]
fn check_qty(ins: &Instr, qty: u64) -> Result<(), RiskReject> {
    use RejectReason as R;
    if qty == 0 {
        return Err(RiskReject::new(R::InvalidQty, 0, 0));
    }
    if ins.lot != 1 && !qty.is_multiple_of(ins.lot) {
        return Err(RiskReject::new(R::LotSize, u2i(ins.lot), u2i(qty)));
    }
    if qty < ins.min_qty {
        return Err(RiskReject::new(
            R::OutsideMinMax,
            u2i(ins.min_qty),
            u2i(qty),
        ));
    }
    if qty > ins.max_qty {
        return Err(RiskReject::new(
            R::OutsideMinMax,
            u2i(ins.max_qty),
            u2i(qty),
        ));
    }
    Ok(())
}

#[inline(always)]
fn check_price(ins: &Instr, p: i64, reason: RejectReason) -> Result<(), RiskReject> {
    if p < ins.min_price {
        return Err(RiskReject::new(reason, ins.min_price, p));
    }
    if p > ins.max_price {
        return Err(RiskReject::new(reason, ins.max_price, p));
    }
    if ins.tick != 1 && p % ins.tick != 0 {
        return Err(RiskReject::new(RejectReason::TickSize, ins.tick, p));
    }
    Ok(())
}

/// During a volatility interruption: market orders and limit orders that would trade (cross
/// the opposite best) are rejected; passive limits and stops are accepted.
#[cold]
fn check_volatility(
    t: OrdType,
    side: Side,
    price: i64,
    mkt: &impl Market,
) -> Result<(), RiskReject> {
    let opp = match side {
        Side::Buy => mkt.best_ask(),
        Side::Sell => mkt.best_bid(),
    };
    let crosses = match t {
        OrdType::Market => true,
        OrdType::Limit => match (side, opp) {
            (Side::Buy, Some(a)) => price >= a.0,
            (Side::Sell, Some(b)) => price <= b.0,
            _ => false,
        },
        OrdType::Stop | OrdType::StopLimit => false,
    };
    if crosses {
        let limit = opp.map_or(0, |p| p.0);
        let value = if t == OrdType::Market { 0 } else { price };
        return Err(RiskReject::new(RejectReason::VolatilityHalt, limit, value));
    }
    Ok(())
}

/// Position limit: position + open same-side quantity (without the order itself) + qty.
/// `same_open` and `qty` are below 2^64, so while the position fits in i64 the sum is exact in
/// i128 without saturation (|sum| < 2^66); beyond that the saturating form is used.
#[inline(always)]
fn check_position(s: &Slot, side: Side, same_open: i128, qty: i128) -> Result<(), RiskReject> {
    let (v, max) = match i64::try_from(s.position) {
        // |p| < 2^63 and both terms < 2^64: exact in i128, no saturation needed.
        Ok(p) => match side {
            Side::Buy => (p as i128 + same_open + qty, s.max_long),
            Side::Sell => (-(p as i128) + same_open + qty, s.max_short),
        },
        Err(_) => position_sum_wide(s, side, same_open, qty),
    };
    if v > max as i128 {
        return Err(RiskReject::new(
            RejectReason::PositionLimit,
            u2i(max),
            sat_i64(v),
        ));
    }
    Ok(())
}

/// `check_position`'s sum for a position beyond i64 (saturating, as the exact form may not fit).
#[cold]
#[inline(never)]
fn position_sum_wide(s: &Slot, side: Side, same_open: i128, qty: i128) -> (i128, u64) {
    let (signed_pos, max) = match side {
        Side::Buy => (s.position, s.max_long),
        Side::Sell => (s.position.saturating_neg(), s.max_short),
    };
    let v = if let Ok(p) = i64::try_from(signed_pos) {
        p as i128 + same_open + qty
    } else {
        signed_pos.saturating_add(same_open).saturating_add(qty)
    };
    (v, max)
}

/// Band reference: the last trade, else the mid (both sides present), else the configured /
/// commanded reference price.
#[inline(always)]
fn band_reference(ins: &Instr, mkt: &impl Market) -> Option<i64> {
    if let Some(l) = mkt.last_trade() {
        return Some(l.0);
    }
    if let Some(l) = ins.last_trade {
        return Some(l);
    }
    if let (Some(b), Some(a)) = (mkt.best_bid(), mkt.best_ask()) {
        return Some(((b.0 as i128 + a.0 as i128) >> 1) as i64);
    }
    ins.reference
}

/// Band edges around `reference`, cached per instrument by reference price (one compare when
/// the reference has not moved; else the width is computed and cached).
#[inline(always)]
fn band_cached(ins: &mut Instr, reference: i64) -> (i64, i64) {
    if ins.band_ref != reference {
        let w = band_width_of(ins, reference);
        ins.set_band_cache(reference, w);
    }
    (ins.band_lo, ins.band_hi)
}

/// Refresh the band cache for `reference` (a miss of the plain-limit path, out of line).
#[cold]
#[inline(never)]
fn band_refresh(ins: &mut Instr, reference: i64) {
    let w = band_width_of(ins, reference);
    ins.set_band_cache(reference, w);
}

/// Band width around `reference`: reference × bps / 10 000, or ticks × tick_size. A 64-bit
/// division when |reference| × bps fits in 64 bits (always, for real prices), else i128.
#[cold]
fn band_width_of(ins: &Instr, reference: i64) -> i128 {
    if ins.band_kind == 1 {
        if ins.band >= 0
            && let Some(x) = reference.unsigned_abs().checked_mul(ins.band as u64)
        {
            return (x / 10_000) as i128;
        }
        (reference as i128).abs() * ins.band as i128 / 10_000
    } else {
        ins.band as i128 * ins.tick as i128
    }
}

/// The band `[reference − w, reference + w]` with both edges saturated to i64: for an i64
/// price `p`, `p > hi` exactly when `p > reference + w` (in i128), and likewise below.
#[inline(always)]
fn band_edges(reference: i64, w: i128) -> (i64, i64) {
    if let Ok(w) = u64::try_from(w)
        && let Ok(w) = i64::try_from(w)
    {
        // 0 ≤ w ≤ i64::MAX (any real width): the i64 saturating forms give the same edges.
        return (reference.saturating_sub(w), reference.saturating_add(w));
    }
    let r = reference as i128;
    (sat_i64(r.saturating_sub(w)), sat_i64(r.saturating_add(w)))
}

/// The price band check of limit price `p` around reference `r`: the cached edges when `r` is
/// the cached reference, else edges computed now (and `(r, width)` noted in `miss`, so the
/// cache is refreshed once the order is accepted).
#[inline(always)]
fn check_band(
    ins: &Instr,
    r: i64,
    p: i64,
    miss: &mut Option<(i64, i128)>,
) -> Result<(), RiskReject> {
    let (lo, hi) = if ins.band_ref == r {
        (ins.band_lo, ins.band_hi)
    } else {
        let w = band_width_of(ins, r);
        *miss = Some((r, w));
        band_edges(r, w)
    };
    check_band_edges(lo, hi, p)
}

/// Per-order notional limit; the reject carries the limit and the notional (saturated).
#[inline(always)]
fn check_order_notional(notional: i128, max: i64) -> Result<(), RiskReject> {
    if notional > max as i128 {
        return Err(RiskReject::new(
            RejectReason::MaxOrderNotional,
            max,
            sat_i64(notional),
        ));
    }
    Ok(())
}

/// `lo ≤ price ≤ hi`; the reject carries the edge that was crossed.
#[inline(always)]
fn check_band_edges(lo: i64, hi: i64, price: i64) -> Result<(), RiskReject> {
    if price > hi {
        return Err(RiskReject::new(RejectReason::PriceOutsideBand, hi, price));
    }
    if price < lo {
        return Err(RiskReject::new(RejectReason::PriceOutsideBand, lo, price));
    }
    Ok(())
}

/// Notional price of a market order: a buy can pay up to best ask + protection (the book's cap);
/// a sell is valued at the best bid (the most it can receive). Without an opposite side the
/// book rejects it `NoLiquidity`; the reference/last price is used meanwhile.
#[inline(always)]
fn market_reserve(ins: &Instr, side: Side, mkt: &impl Market) -> i64 {
    let prot = ins.protection.saturating_mul(ins.tick);
    match side {
        Side::Buy => match mkt.best_ask() {
            Some(a) => a.0.saturating_add(prot).min(ins.max_price),
            None => ins.last_trade.or(ins.reference).unwrap_or(0),
        },
        Side::Sell => match mkt.best_bid() {
            Some(b) => b.0,
            None => ins.last_trade.or(ins.reference).unwrap_or(0),
        },
    }
}

/// Notional price of a stop (market) order: its stop price, plus the protection for a buy.
#[inline(always)]
fn stop_reserve(ins: &Instr, side: Side, stop: i64) -> i64 {
    match side {
        Side::Buy => stop
            .saturating_add(ins.protection.saturating_mul(ins.tick))
            .min(ins.max_price),
        Side::Sell => stop,
    }
}

#[cold]
fn reject_ctl(
    out: &mut impl EventKindSink,
    account: AccountId,
    instrument: InstrumentId,
    reason: RejectReason,
    value: i64,
) {
    out.emit(EventKind::Rejected {
        order_id: OrderId(0),
        account,
        instrument,
        reason,
        limit: 0,
        value,
    });
}
