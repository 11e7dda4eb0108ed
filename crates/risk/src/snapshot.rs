//! Risk snapshots: the risk layer's whole state as bytes, and that state loaded back.
//!
//! Logical, not a memory dump: every account (trading state, halts, freezes, counters, limits
//! as changed by commands, throttle buckets, MMP window, the instruments it holds a position
//! in, its MMP-flagged orders newest first), every instrument (state, halts, band and its cache,
//! reference and last trade, velocity buckets), every account × instrument slot (position, open
//! quantities and orders, limits), the live orders of the order table (plain orders are in no
//! table: the counters hold them) sorted by (instrument, order id), the order
//! pending acceptance, a queued state event and the next deadline. Order-table slot numbers are
//! not stored (no event or check can observe them).
//!
//! Restoring needs a `Risk` built from the same configuration: dimensions and the static part of
//! the configuration are checked with [`Risk::config_fingerprint`] by the caller (the engine
//! stores it in its snapshot header) and the dimensions again here. Limits that commands can
//! change (`SetLimit`, states) are state and come from the snapshot.
//!
//! Restoring is two-phase so that a bad snapshot leaves the risk layer untouched:
//! [`Risk::stage_restore`] decodes and validates into a [`RiskImage`], [`Risk::commit_restore`]
//! swaps it in.
//!
//! Declared as a child of the `risk` module (see `risk.rs`) so it reads the private tables.

use super::{Acct, Cur, Instr, ModifyOld, Pending, Risk, SOLO_LIVE, Slot, band_edges};
use crate::mmp::Mmp;
use crate::orders::{NIL, OrderRec, OrderTable};
use crate::throttle::Bucket;
use crate::velocity::Velocity;
use core::hash::Hasher;
use ferrex_types::{
    AccountId, EventKind, FnvHasher, InstrumentId, OrderFlags, RejectReason, TradingState,
};

/// Why a risk section could not be restored. Offsets are bytes from the start of the section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RiskSnapshotError {
    /// The section ended inside `field`, which starts at `offset`.
    #[error("risk section truncated at byte {offset} reading `{field}`")]
    Truncated {
        /// Byte offset of the field.
        offset: usize,
        /// The field being read.
        field: &'static str,
    },
    /// The table dimensions differ from this risk layer's configuration.
    #[error("risk section: {what} is {found} in the snapshot but {expected} in this configuration")]
    Dimensions {
        /// Which dimension (`accounts`, `instruments`, `order capacity`).
        what: &'static str,
        /// This configuration's value.
        expected: u64,
        /// The snapshot's value.
        found: u64,
    },
    /// `field` at `offset` holds `value`, out of range or inconsistent with the rest.
    #[error("risk section: invalid `{field}` {value} at byte {offset}")]
    Invalid {
        /// Byte offset of the field.
        offset: usize,
        /// The field.
        field: &'static str,
        /// The value found.
        value: i128,
    },
    /// Bytes left after the last field.
    #[error("risk section: {len} unexpected bytes at byte {offset}")]
    Trailing {
        /// Offset of the first extra byte.
        offset: usize,
        /// Extra bytes.
        len: usize,
    },
}

type Res<T> = Result<T, RiskSnapshotError>;

fn invalid(offset: usize, field: &'static str, value: impl Into<i128>) -> RiskSnapshotError {
    RiskSnapshotError::Invalid {
        offset,
        field,
        value: value.into(),
    }
}

/// A decoded, validated risk state waiting to be swapped in by [`Risk::commit_restore`].
pub struct RiskImage {
    accounts: Vec<Acct>,
    instruments: Vec<Instr>,
    slots: Vec<Slot>,
    held: Vec<u32>,
    orders: OrderTable,
    pending: Pending,
    cur: Cur,
    modify_old: ModifyOld,
    queued: Option<EventKind>,
    next_deadline: u64,
}

impl core::fmt::Debug for RiskImage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RiskImage")
            .field("accounts", &self.accounts.len())
            .field("instruments", &self.instruments.len())
            .finish_non_exhaustive()
    }
}

// ------------------------------------------------------------------------------- encoding

struct W<'a>(&'a mut Vec<u8>);

impl W<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn b(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i128(&mut self, v: i128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn opt(&mut self, v: Option<i64>) {
        self.b(v.is_some());
        self.i64(v.unwrap_or(0));
    }
}

struct R<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl R<'_> {
    fn take<const N: usize>(&mut self, field: &'static str) -> Res<[u8; N]> {
        let s = self
            .pos
            .checked_add(N)
            .and_then(|e| self.buf.get(self.pos..e))
            .ok_or(RiskSnapshotError::Truncated {
                offset: self.pos,
                field,
            })?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        self.pos += N;
        Ok(a)
    }
    fn u8(&mut self, f: &'static str) -> Res<u8> {
        Ok(self.take::<1>(f)?[0])
    }
    fn b(&mut self, f: &'static str) -> Res<bool> {
        let at = self.pos;
        match self.u8(f)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(invalid(at, f, v)),
        }
    }
    fn u32(&mut self, f: &'static str) -> Res<u32> {
        Ok(u32::from_le_bytes(self.take(f)?))
    }
    fn u64(&mut self, f: &'static str) -> Res<u64> {
        Ok(u64::from_le_bytes(self.take(f)?))
    }
    fn i64(&mut self, f: &'static str) -> Res<i64> {
        Ok(i64::from_le_bytes(self.take(f)?))
    }
    fn i128(&mut self, f: &'static str) -> Res<i128> {
        Ok(i128::from_le_bytes(self.take(f)?))
    }
    fn opt(&mut self, f: &'static str) -> Res<Option<i64>> {
        let some = self.b(f)?;
        let v = self.i64(f)?;
        Ok(some.then_some(v))
    }
    fn state(&mut self, f: &'static str) -> Res<TradingState> {
        let at = self.pos;
        match self.u8(f)? {
            0 => Ok(TradingState::Active),
            1 => Ok(TradingState::Reducing),
            2 => Ok(TradingState::Halted),
            v => Err(invalid(at, f, v)),
        }
    }
    fn reason(&mut self, f: &'static str) -> Res<RejectReason> {
        let at = self.pos;
        let v = self.u8(f)?;
        RejectReason::from_code(v).ok_or(invalid(at, f, v))
    }
}

impl Risk {
    /// FNV-1a hash of what a snapshot cannot carry over and a restore therefore requires to be
    /// equal: table dimensions (accounts, instruments, order capacity) and the configuration no
    /// command changes (which accounts and instruments exist, tick, lot, quantity and price
    /// ranges, market protection, throttle windows, MMP and velocity settings). O(accounts +
    /// instruments).
    pub fn config_fingerprint(&self) -> u64 {
        let mut h = FnvHasher::default();
        h.write_u64(self.accounts.len() as u64);
        h.write_u64(self.n_instr as u64);
        h.write_u64(self.orders.capacity() as u64);
        for a in &self.accounts {
            h.write_u8(u8::from(a.known));
            let b = a.bucket.raw();
            h.write_u64(b[2]); // window
            h.write_u64(b[3]); // halt_ns
            h.write_u8(u8::from(a.mmp.on));
            h.write_u64(a.mmp.window);
            h.write_u64(a.mmp.max_qty);
            h.write_u32(a.mmp.max_count);
            h.write_u64(a.mmp.freeze_ns);
        }
        for i in &self.instruments {
            h.write_u8(u8::from(i.known));
            h.write_i64(i.tick);
            h.write_u64(i.lot);
            h.write_u64(i.min_qty);
            h.write_u64(i.max_qty);
            h.write_i64(i.min_price);
            h.write_i64(i.max_price);
            h.write_i64(i.protection);
            h.write_u8(u8::from(i.velocity.on));
            h.write_i64(i.velocity.max_move);
            h.write_u64(i.velocity.window);
            h.write_u64(i.velocity.halt_ns);
        }
        h.finish()
    }

    /// Appends the whole risk state to `out` (see the module docs). Allocates only in `out` and
    /// one sorted list of the live orders; O(accounts × instruments + live orders). The risk
    /// layer is not changed.
    pub fn snapshot(&self, out: &mut Vec<u8>) {
        let mut w = W(out);
        w.u32(self.accounts.len() as u32);
        w.u32(self.n_instr as u32);
        w.u32(self.orders.capacity() as u32);
        for (a, acct) in self.accounts.iter().enumerate() {
            w.b(acct.known);
            w.b(acct.gated);
            w.u8(acct.state as u8);
            w.u64(acct.throttle_until);
            w.u64(acct.mmp_until);
            w.u32(acct.open_orders);
            w.u32(acct.max_open_orders);
            w.u32(acct.max_open_per_instr);
            w.i64(acct.credit_limit);
            w.i128(acct.open_notional);
            for v in acct.bucket.raw() {
                w.u64(v);
            }
            let m = &acct.mmp;
            w.b(m.on);
            w.u64(m.window);
            w.u64(m.max_qty);
            w.u32(m.max_count);
            w.u64(m.freeze_ns);
            let (start, qty, count) = m.window_state();
            w.u64(start);
            w.u64(qty);
            w.u32(count);
            let row = a * self.n_instr;
            let held = self
                .held
                .get(row..row + acct.held_len as usize)
                .unwrap_or(&[]);
            w.u32(held.len() as u32);
            for &i in held {
                w.u32(i);
            }
            // MMP list, newest first (the order the engine cancels them in).
            let mut list: Vec<(u32, u64)> = Vec::new();
            let mut k = if acct.known { acct.mmp_head } else { NIL };
            while k != NIL && list.len() < self.orders.capacity() {
                let r = self.orders.get(k);
                list.push((r.instrument, r.order_id));
                k = r.mmp_next;
            }
            w.u32(list.len() as u32);
            for (i, id) in list {
                w.u32(i);
                w.u64(id);
            }
        }
        for ins in &self.instruments {
            w.b(ins.known);
            w.b(ins.gated);
            w.u8(ins.state as u8);
            w.u64(ins.vol_until);
            w.i64(ins.tick);
            w.u64(ins.lot);
            w.u64(ins.min_qty);
            w.u64(ins.max_qty);
            w.i64(ins.min_price);
            w.i64(ins.max_price);
            w.u8(ins.band_kind);
            w.i64(ins.band);
            w.i64(ins.band_ref);
            w.i128(ins.band_w);
            w.opt(ins.reference);
            w.i64(ins.protection);
            w.opt(ins.last_trade);
            w.i64(ins.mark);
            let v = &ins.velocity;
            w.b(v.on);
            w.i64(v.max_move);
            w.u64(v.window);
            w.u64(v.halt_ns);
            for (live, start, last, lo, hi) in v.ranges() {
                w.b(live);
                w.u64(start);
                w.u64(last);
                w.i64(lo);
                w.i64(hi);
            }
        }
        for s in &self.slots {
            w.i128(s.position);
            w.u64(s.open_qty[0]);
            w.u64(s.open_qty[1]);
            w.u32(s.open_orders);
            w.u32(s.held_idx);
            w.u64(s.max_order_qty);
            w.u64(s.qty_hi);
            w.i64(s.max_order_notional);
            w.u64(s.max_long);
            w.u64(s.max_short);
        }
        // The solo order is written as the table record it stands for.
        let solo = (self.solo.tag != 0).then(|| self.solo.rec());
        let mut recs: Vec<&OrderRec> = self.orders.live_records().map(|(_, r)| r).collect();
        recs.extend(solo.as_ref());
        recs.sort_unstable_by_key(|r| (r.instrument, r.order_id));
        w.u32(recs.len() as u32);
        for r in recs {
            w.u64(r.order_id);
            w.i64(r.reserve);
            w.u64(r.leaves);
            w.u32(r.instrument);
            w.u32(r.account);
            w.u8(r.side);
            w.b(r.mmp);
            w.b(r.reduce_only);
        }
        // An invalid pending order's fields are never read (a failed check may leave its
        // order's there): written as zeros, so the bytes depend on live state only.
        let p = if self.pending.valid {
            self.pending
        } else {
            Pending::default()
        };
        w.u64(p.order_id);
        w.u32(p.instrument);
        w.i64(p.reserve);
        w.u8(p.flags.0);
        w.b(p.valid);
        // The plain order that may take, and the book's view of a modified order: written as
        // zeros when unset, so the bytes depend on live state only.
        let c = if self.cur.tag != 0 {
            self.cur
        } else {
            Cur::default()
        };
        w.u64(c.order_id);
        w.u64(c.tag);
        w.i64(c.reserve);
        w.u32(c.acct);
        w.u32(c.slot);
        let m = if self.modify_old.tag != 0 {
            self.modify_old
        } else {
            ModifyOld::default()
        };
        w.u64(m.order_id);
        w.u64(m.tag);
        w.i64(m.price);
        w.u64(m.leaves);
        w.u8(m.side);
        match self.queued {
            None => w.u8(0),
            Some(EventKind::AccountState {
                account,
                state,
                cause,
                until,
            }) => {
                w.u8(1);
                w.u32(account.0);
                w.u8(state as u8);
                w.u8(cause as u8);
                w.u64(until);
            }
            Some(EventKind::InstrumentState {
                instrument,
                state,
                cause,
                until,
            }) => {
                w.u8(2);
                w.u32(instrument.0);
                w.u8(state as u8);
                w.u8(cause as u8);
                w.u64(until);
            }
            // Only state events are ever queued; anything else is refused on restore.
            Some(_) => w.u8(0xff),
        }
        w.u64(self.next_deadline);
    }

    /// Decodes and validates a [`Risk::snapshot`] section for this risk layer (same
    /// dimensions) without changing it. Every index, counter link and enum code is checked, so
    /// a bad section is an error, never a later panic. O(section size).
    pub fn stage_restore(&self, bytes: &[u8]) -> Result<RiskImage, RiskSnapshotError> {
        let mut r = R { buf: bytes, pos: 0 };
        let n_acct = r.u32("accounts")? as usize;
        let n_instr = r.u32("instruments")? as usize;
        let cap = r.u32("order capacity")? as usize;
        for (what, expected, found) in [
            ("accounts", self.accounts.len(), n_acct),
            ("instruments", self.n_instr, n_instr),
            ("order capacity", self.orders.capacity(), cap),
        ] {
            if expected != found {
                return Err(RiskSnapshotError::Dimensions {
                    what,
                    expected: expected as u64,
                    found: found as u64,
                });
            }
        }
        let mut accounts = Vec::with_capacity(n_acct);
        let mut held = vec![0u32; n_acct * n_instr];
        let mut mmp_lists: Vec<Vec<(usize, u32, u64)>> = Vec::with_capacity(n_acct);
        for a in 0..n_acct {
            let known = r.b("account known")?;
            let gated = r.b("account gated")?;
            let state = r.state("account state")?;
            let throttle_until = r.u64("throttle_until")?;
            let mmp_until = r.u64("mmp_until")?;
            let open_orders = r.u32("open_orders")?;
            let max_open_orders = r.u32("max_open_orders")?;
            let max_open_per_instr = r.u32("max_open_per_instr")?;
            let credit_limit = r.i64("credit_limit")?;
            let open_notional = r.i128("open_notional")?;
            let at = r.pos;
            let mut raw = [0u64; 9];
            for v in &mut raw {
                *v = r.u64("throttle bucket")?;
            }
            // [rate, halt, window, halt_ns, cap, halt_cap, tokens, halt_tokens, last]
            // Capacities are derived exactly as `Bucket::fill` derives them.
            let ok = raw[0].saturating_mul(raw[2]) == raw[4]
                && raw[1].saturating_mul(raw[2]) == raw[5]
                && raw[6] <= raw[4]
                && raw[7] <= raw[5];
            if !ok {
                return Err(invalid(at, "throttle bucket", raw[0]));
            }
            let mut mmp = Mmp::default();
            mmp.on = r.b("mmp on")?;
            mmp.window = r.u64("mmp window")?;
            mmp.max_qty = r.u64("mmp max_qty")?;
            mmp.max_count = r.u32("mmp max_count")?;
            mmp.freeze_ns = r.u64("mmp freeze_ns")?;
            let start = r.u64("mmp start")?;
            let qty = r.u64("mmp qty")?;
            let count = r.u32("mmp count")?;
            mmp.set_window_state(start, qty, count);
            let at = r.pos;
            let held_len = r.u32("held_len")?;
            if held_len as usize > n_instr {
                return Err(invalid(at, "held_len", held_len));
            }
            for k in 0..held_len as usize {
                let at = r.pos;
                let i = r.u32("held instrument")?;
                if i as usize >= n_instr {
                    return Err(invalid(at, "held instrument", i));
                }
                held[a * n_instr + k] = i;
            }
            let at = r.pos;
            let n = r.u32("mmp orders")? as usize;
            if n > cap {
                return Err(invalid(at, "mmp orders", n as u64));
            }
            let mut list = Vec::with_capacity(n);
            for _ in 0..n {
                let at = r.pos;
                let i = r.u32("mmp order instrument")?;
                let id = r.u64("mmp order id")?;
                list.push((at, i, id));
            }
            mmp_lists.push(list);
            accounts.push(Acct {
                known,
                gated,
                state,
                throttle_until,
                mmp_until,
                open_orders,
                max_open_orders,
                max_open_per_instr,
                held_len,
                // Counted from the order records below.
                tabled: 0,
                // `Acct::default()` (unknown accounts) has head 0; it is never read for them.
                mmp_head: if known { NIL } else { 0 },
                credit_limit,
                open_notional,
                bucket: Bucket::from_raw(raw),
                mmp,
            });
        }
        let mut instruments = Vec::with_capacity(n_instr);
        for _ in 0..n_instr {
            let known = r.b("instrument known")?;
            let gated = r.b("instrument gated")?;
            let state = r.state("instrument state")?;
            let vol_until = r.u64("vol_until")?;
            let at = r.pos;
            let tick = r.i64("tick")?;
            let lot = r.u64("lot")?;
            if known && (tick < 1 || lot < 1) {
                return Err(invalid(at, "tick/lot", tick));
            }
            let min_qty = r.u64("min_qty")?;
            let max_qty = r.u64("max_qty")?;
            let min_price = r.i64("min_price")?;
            let max_price = r.i64("max_price")?;
            let at = r.pos;
            let band_kind = r.u8("band_kind")?;
            if band_kind > 2 {
                return Err(invalid(at, "band_kind", band_kind));
            }
            let band = r.i64("band")?;
            let band_ref = r.i64("band_ref")?;
            let band_w = r.i128("band_w")?;
            let reference = r.opt("reference")?;
            let protection = r.i64("protection")?;
            let last_trade = r.opt("last_trade")?;
            let mark = r.i64("mark")?;
            let mut velocity = Velocity::default();
            velocity.on = r.b("velocity on")?;
            velocity.max_move = r.i64("velocity max_move")?;
            velocity.window = r.u64("velocity window")?;
            velocity.halt_ns = r.u64("velocity halt_ns")?;
            let mut ranges = [(false, 0, 0, 0, 0); 2];
            for x in &mut ranges {
                *x = (
                    r.b("velocity live")?,
                    r.u64("velocity start")?,
                    r.u64("velocity last")?,
                    r.i64("velocity lo")?,
                    r.i64("velocity hi")?,
                );
            }
            velocity.set_ranges(ranges);
            instruments.push(Instr {
                known,
                gated,
                state,
                vol_until,
                tick,
                lot,
                unit_steps: tick == 1 && lot == 1,
                min_qty,
                max_qty,
                min_price,
                max_price,
                band_kind,
                band,
                band_ref,
                band_w,
                // Derived from the cached reference and width (not serialized).
                band_lo: band_edges(band_ref, band_w).0,
                band_hi: band_edges(band_ref, band_w).1,
                reference,
                protection,
                last_trade,
                mark,
                velocity,
            });
        }
        let mut slots = Vec::with_capacity(n_acct * n_instr);
        for k in 0..n_acct * n_instr {
            let at = r.pos;
            let s = Slot {
                position: r.i128("position")?,
                open_qty: [r.u64("open buy qty")?, r.u64("open sell qty")?],
                open_orders: r.u32("slot open_orders")?,
                held_idx: r.u32("held_idx")?,
                max_order_qty: r.u64("slot max_order_qty")?,
                qty_hi: r.u64("slot qty_hi")?,
                max_order_notional: r.i64("slot max_order_notional")?,
                max_long: r.u64("slot max_long")?,
                max_short: r.u64("slot max_short")?,
            };
            // A held slot must point at its own entry of the account's held list.
            let (a, i) = (k / n_instr.max(1), k % n_instr.max(1));
            if s.position != 0 {
                let hl = accounts[a].held_len;
                let hi = s.held_idx;
                if hi >= hl || held[a * n_instr + hi as usize] as usize != i {
                    return Err(invalid(at, "held_idx of a position", hi));
                }
            }
            slots.push(s);
        }
        for (a, acct) in accounts.iter().enumerate() {
            for k in 0..acct.held_len as usize {
                let i = held[a * n_instr + k] as usize;
                if slots[a * n_instr + i].position == 0 {
                    return Err(invalid(0, "held instrument without a position", i as u64));
                }
            }
        }
        let mut orders = OrderTable::new(cap as u32);
        let at = r.pos;
        let n = r.u32("orders")? as usize;
        if n > cap {
            return Err(invalid(at, "orders", n as u64));
        }
        let mut mmp_count = vec![0usize; n_acct];
        for _ in 0..n {
            let at = r.pos;
            let rec = OrderRec {
                order_id: r.u64("order id")?,
                reserve: r.i64("order reserve")?,
                leaves: r.u64("order leaves")?,
                instrument: r.u32("order instrument")?,
                account: r.u32("order account")?,
                side: r.u8("order side")?,
                mmp: r.b("order mmp")?,
                reduce_only: r.b("order reduce_only")?,
                live: true,
                mmp_prev: NIL,
                mmp_next: NIL,
            };
            if rec.instrument as usize >= n_instr
                || rec.account as usize >= n_acct
                || rec.side > 1
                || rec.leaves == 0
            {
                return Err(invalid(at, "order", rec.order_id));
            }
            if orders.find(rec.order_id, rec.instrument).is_some() {
                return Err(invalid(at, "duplicate order", rec.order_id));
            }
            if rec.mmp {
                mmp_count[rec.account as usize] += 1;
            }
            let acct = &mut accounts[rec.account as usize];
            acct.tabled = acct.tabled.saturating_add(1);
            if orders.insert(rec).is_none() {
                return Err(invalid(at, "orders beyond capacity", rec.order_id));
            }
        }
        // Relink each account's MMP list in its stored order (newest first).
        let mut seen = vec![false; cap];
        for (a, list) in mmp_lists.iter().enumerate() {
            if list.len() != mmp_count[a] {
                return Err(invalid(0, "mmp list length", list.len() as u64));
            }
            let mut prev = NIL;
            for &(at, i, id) in list {
                let Some(k) = orders.find(id, i) else {
                    return Err(invalid(at, "mmp order (not live)", id));
                };
                let rec = *orders.get(k);
                if !rec.mmp || rec.account as usize != a || seen[k as usize] {
                    return Err(invalid(at, "mmp order", id));
                }
                seen[k as usize] = true;
                if prev == NIL {
                    accounts[a].mmp_head = k;
                } else {
                    orders.get_mut(prev).mmp_next = k;
                }
                orders.get_mut(k).mmp_prev = prev;
                prev = k;
            }
        }
        let pending = Pending {
            order_id: r.u64("pending order id")?,
            instrument: r.u32("pending instrument")?,
            reserve: r.i64("pending reserve")?,
            flags: OrderFlags(r.u8("pending flags")?),
            valid: r.b("pending valid")?,
            ..Pending::default()
        };
        let at = r.pos;
        let cur = Cur {
            order_id: r.u64("current order id")?,
            tag: r.u64("current order instrument")?,
            reserve: r.i64("current order reserve")?,
            acct: r.u32("current order account")?,
            slot: r.u32("current order slot")?,
        };
        if cur.tag != 0
            && (cur.tag & !SOLO_LIVE >= n_instr as u64
                || cur.tag & SOLO_LIVE == 0
                || cur.acct as usize >= n_acct
                || cur.slot as usize != cur.acct as usize * n_instr + (cur.tag as u32) as usize)
        {
            return Err(invalid(at, "current order", cur.order_id));
        }
        let at = r.pos;
        let modify_old = ModifyOld {
            order_id: r.u64("modified order id")?,
            tag: r.u64("modified order instrument")?,
            price: r.i64("modified order price")?,
            leaves: r.u64("modified order leaves")?,
            side: r.u8("modified order side")?,
        };
        if modify_old.tag != 0
            && (modify_old.tag & !SOLO_LIVE >= n_instr as u64
                || modify_old.tag & SOLO_LIVE == 0
                || modify_old.side > 1)
        {
            return Err(invalid(at, "modified order", modify_old.order_id));
        }
        let at = r.pos;
        let queued = match r.u8("queued event")? {
            0 => None,
            1 => Some(EventKind::AccountState {
                account: AccountId(r.u32("queued account")?),
                state: r.state("queued state")?,
                cause: r.reason("queued cause")?,
                until: r.u64("queued until")?,
            }),
            2 => Some(EventKind::InstrumentState {
                instrument: InstrumentId(r.u32("queued instrument")?),
                state: r.state("queued state")?,
                cause: r.reason("queued cause")?,
                until: r.u64("queued until")?,
            }),
            v => return Err(invalid(at, "queued event", v)),
        };
        let next_deadline = r.u64("next_deadline")?;
        if r.pos != bytes.len() {
            return Err(RiskSnapshotError::Trailing {
                offset: r.pos,
                len: bytes.len() - r.pos,
            });
        }
        Ok(RiskImage {
            accounts,
            instruments,
            slots,
            held,
            orders,
            pending,
            cur,
            modify_old,
            queued,
            next_deadline,
        })
    }

    /// Replaces the whole risk state with a staged image (no validation left to fail). O(1)
    /// apart from dropping the old tables.
    pub fn commit_restore(&mut self, img: RiskImage) {
        self.accounts = img.accounts;
        self.instruments = img.instruments;
        self.slots = img.slots;
        self.held = img.held;
        self.orders = img.orders;
        self.solo = Default::default();
        self.cur = img.cur;
        self.modify_old = img.modify_old;
        // Every live order counts in its account's open orders.
        self.live = self
            .accounts
            .iter()
            .fold(0u32, |n, a| n.saturating_add(a.open_orders));
        self.pending = img.pending;
        self.queued = img.queued;
        self.next_deadline = img.next_deadline;
        // The first tick re-derives it (and flushes a restored queued event).
        self.tick_at = 0;
    }
}
