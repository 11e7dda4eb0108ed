//! The risk layer's table of the live orders that are not plain (market, stop, MMP-flagged and
//! reduce-only orders: a plain limit order is kept in counters only, see `risk.rs`'s `Cur`): a
//! preallocated slab of records plus an index keyed
//! by (instrument, order id) in two tiers, as the book's id map: a direct power-of-two table
//! indexed by the id's low bits (offset per instrument), where a find is one load and one key
//! compare and a removal one store, and an open-addressing overflow for the orders whose direct
//! entry another live order holds. Insert, find and remove are O(1) expected; nothing
//! allocates after `OrderTable::new`. MMP-flagged orders are also linked into a
//! per-account intrusive list so the engine can enumerate them when protection trips.

/// No slab index.
pub(crate) const NIL: u32 = u32::MAX;

/// One live order as the risk layer sees it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OrderRec {
    pub order_id: u64,
    /// Price used for its notional (limit price, or the protection price for market/stop).
    pub reserve: i64,
    /// Open quantity (lots).
    pub leaves: u64,
    pub instrument: u32,
    pub account: u32,
    /// 0 buy, 1 sell.
    pub side: u8,
    pub mmp: bool,
    pub reduce_only: bool,
    pub live: bool,
    pub mmp_prev: u32,
    pub mmp_next: u32,
}

pub(crate) struct OrderTable {
    slab: Vec<OrderRec>,
    free: Vec<u32>,
    /// Direct tier: slab index + 1 of the live order whose key maps to this entry
    /// ([`OrderTable::direct_pos`]); 0 = empty. A power of two ≥ the capacity.
    direct: Vec<u32>,
    /// `direct.len() - 1`.
    dmask: u64,
    /// Overflow tier: open addressing (linear probing, backward-shift deletion) of the orders
    /// whose direct entry was taken; slab index + 1, 0 = empty. 1.25 × capacity + 1 entries, so
    /// its load stays ≤ 0.8 even if every live order is here.
    over: Vec<u32>,
    /// Live entries in `over`: while 0, a direct miss is the answer.
    n_over: u32,
}

/// Instrument offset of the direct position: φ · 2^64 (odd), so each instrument's run of
/// consecutive ids starts at its own place in the direct tier.
const INSTR_STRIDE: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline(always)]
fn hash(order_id: u64, instrument: u32) -> u64 {
    (order_id ^ ((instrument as u64) << 40) ^ ((instrument as u64) >> 24))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl OrderTable {
    /// Touch every page of the preallocated memory (start-up only).
    pub(crate) fn prefault(&mut self) {
        ferrex_types::prefault(&mut self.slab);
        ferrex_types::prefault(&mut self.free);
        ferrex_types::prefault(&mut self.direct);
        ferrex_types::prefault(&mut self.over);
    }

    pub(crate) fn new(capacity: u32) -> OrderTable {
        let cap = capacity as usize;
        let direct_len = cap.next_power_of_two().max(16);
        OrderTable {
            slab: vec![OrderRec::default(); cap],
            free: (0..capacity).rev().collect(),
            direct: vec![0; direct_len],
            dmask: direct_len as u64 - 1,
            over: vec![0; (cap + cap / 4 + 1).max(16)],
            n_over: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn is_full(&self) -> bool {
        self.free.is_empty()
    }

    #[inline(always)]
    pub(crate) fn capacity(&self) -> usize {
        self.slab.len()
    }

    /// Direct entry of a key: the id's low bits, offset per instrument. Clients number their
    /// orders, so the live ids of an instrument mostly fall in a window narrower than the
    /// tier and never share an entry; consecutive ids share cache lines. `< direct.len()`.
    #[inline(always)]
    fn direct_pos(&self, order_id: u64, instrument: u32) -> usize {
        (order_id.wrapping_add((instrument as u64).wrapping_mul(INSTR_STRIDE)) & self.dmask)
            as usize
    }

    /// Home bucket of a key in the overflow tier (multiply-shift range reduction of the hash's
    /// high half): `< over.len()`.
    #[inline(always)]
    fn over_home(&self, order_id: u64, instrument: u32) -> usize {
        (((hash(order_id, instrument) >> 32) * self.over.len() as u64) >> 32) as usize
    }

    /// Every live record with its slab index, in slab order (snapshots).
    pub(crate) fn live_records(&self) -> impl Iterator<Item = (u32, &OrderRec)> + '_ {
        self.slab
            .iter()
            .enumerate()
            .filter(|(_, r)| r.live)
            .map(|(i, r)| (i as u32, r))
    }

    /// Slab index of a live order.
    #[inline]
    pub(crate) fn find(&self, order_id: u64, instrument: u32) -> Option<u32> {
        self.find_at(order_id, instrument).map(|(k, _)| k)
    }

    /// Slab index of a live order and the position that holds it (for
    /// [`OrderTable::remove_at`], which then needs no second lookup): a direct entry
    /// (`< direct.len()`) or `direct.len()` + an overflow bucket. One load and one key compare
    /// when the order is in its direct entry, or when that is empty and the overflow is too.
    #[inline(always)]
    pub(crate) fn find_at(&self, order_id: u64, instrument: u32) -> Option<(u32, usize)> {
        let d = self.direct_pos(order_id, instrument);
        let e = *self.direct.get(d)?;
        if e != 0 {
            let r = self.slab.get((e - 1) as usize)?;
            if r.order_id == order_id && r.instrument == instrument {
                return Some((e - 1, d));
            }
        }
        if self.n_over == 0 {
            return None;
        }
        self.find_over(order_id, instrument)
    }

    /// [`OrderTable::find_at`] in the overflow tier.
    #[inline(never)]
    fn find_over(&self, order_id: u64, instrument: u32) -> Option<(u32, usize)> {
        let len = self.over.len();
        let mut pos = self.over_home(order_id, instrument);
        loop {
            let e = *self.over.get(pos)?;
            if e == 0 {
                return None;
            }
            let r = self.slab.get((e - 1) as usize)?;
            if r.order_id == order_id && r.instrument == instrument {
                return Some((e - 1, self.direct.len() + pos));
            }
            pos += 1;
            if pos == len {
                pos = 0;
            }
        }
    }

    #[inline(always)]
    pub(crate) fn get(&self, idx: u32) -> &OrderRec {
        &self.slab[idx as usize]
    }

    #[inline(always)]
    pub(crate) fn get_mut(&mut self, idx: u32) -> &mut OrderRec {
        &mut self.slab[idx as usize]
    }

    /// Enter slab index `idx` under its key (which must not be live): its direct entry if free,
    /// else the overflow.
    #[inline(always)]
    fn place(&mut self, idx: u32, order_id: u64, instrument: u32) {
        let d = self.direct_pos(order_id, instrument);
        if let Some(e) = self.direct.get_mut(d)
            && *e == 0
        {
            *e = idx + 1;
        } else {
            self.place_over(idx, order_id, instrument);
        }
    }

    #[inline(never)]
    fn place_over(&mut self, idx: u32, order_id: u64, instrument: u32) {
        let len = self.over.len();
        let mut pos = self.over_home(order_id, instrument);
        while self.over[pos] != 0 {
            pos += 1;
            if pos == len {
                pos = 0;
            }
        }
        self.over[pos] = idx + 1;
        self.n_over += 1;
    }

    /// Insert a record (its key must not be live). `None` when the table is full. Inlined:
    /// out of line, the record went through memory and the call saved registers, about 25
    /// instructions per accepted order.
    #[inline(always)]
    pub(crate) fn insert(&mut self, rec: OrderRec) -> Option<u32> {
        let idx = self.free.pop()?;
        self.place(idx, rec.order_id, rec.instrument);
        self.slab[idx as usize] = OrderRec { live: true, ..rec };
        Some(idx)
    }

    /// Take a free slab index without filling it or entering it in the index (the risk layer's
    /// one-order side record, [`crate::risk`]'s `Solo`, holds it so the table's capacity and free
    /// list evolve exactly as if the order were inserted). `None` when the table is full.
    #[inline(always)]
    pub(crate) fn reserve(&mut self) -> Option<u32> {
        self.free.pop()
    }

    /// Give back a slab index taken by [`OrderTable::reserve`] and never inserted.
    #[inline(always)]
    pub(crate) fn release(&mut self, idx: u32) {
        self.free.push(idx);
    }

    /// Insert a record at a slab index taken by [`OrderTable::reserve`] (its key must not be
    /// live).
    pub(crate) fn insert_reserved(&mut self, idx: u32, rec: OrderRec) {
        self.place(idx, rec.order_id, rec.instrument);
        self.slab[idx as usize] = OrderRec { live: true, ..rec };
    }

    /// Remove a live record by slab index. The hot path uses [`OrderTable::remove_at`] with
    /// the position `find_at` returned.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, idx: u32) {
        let r = self.slab[idx as usize];
        if !r.live {
            return;
        }
        if let Some((k, pos)) = self.find_at(r.order_id, r.instrument) {
            debug_assert_eq!(k, idx);
            self.remove_at(idx, pos);
        }
    }

    /// Remove the live record `idx` held at position `pos` (as returned by
    /// [`OrderTable::find_at`]): a direct entry is emptied with one store.
    #[inline(always)]
    pub(crate) fn remove_at(&mut self, idx: u32, pos: usize) {
        if let Some(e) = self.direct.get_mut(pos) {
            *e = 0;
        } else {
            self.remove_over(pos - self.direct.len());
        }
        if let Some(r) = self.slab.get_mut(idx as usize) {
            r.live = false;
        }
        self.free.push(idx);
    }

    /// Empty overflow bucket `pos`, shifting later members of its probe run back when their
    /// home allows it (no tombstones).
    #[inline(never)]
    fn remove_over(&mut self, pos: usize) {
        let len = self.over.len();
        if pos >= len {
            return;
        }
        let mut hole = pos;
        let mut next = if pos + 1 == len { 0 } else { pos + 1 };
        loop {
            let e = self.over[next];
            if e == 0 {
                break;
            }
            let nr = &self.slab[(e - 1) as usize];
            let home = self.over_home(nr.order_id, nr.instrument);
            // Move e into the hole when its home is not in (hole, next] cyclically.
            let dist_next = if next >= home {
                next - home
            } else {
                next + len - home
            };
            let dist_hole = if next >= hole {
                next - hole
            } else {
                next + len - hole
            };
            if dist_next >= dist_hole {
                self.over[hole] = e;
                hole = next;
            }
            next += 1;
            if next == len {
                next = 0;
            }
        }
        self.over[hole] = 0;
        self.n_over = self.n_over.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u64, instr: u32) -> OrderRec {
        OrderRec {
            order_id: id,
            instrument: instr,
            leaves: 1,
            ..OrderRec::default()
        }
    }

    #[test]
    fn insert_find_remove_many() {
        let mut t = OrderTable::new(64);
        let mut idx = Vec::new();
        for id in 0..64u64 {
            idx.push(t.insert(rec(id * 1024, (id % 3) as u32)).unwrap());
        }
        assert!(t.is_full());
        assert!(t.insert(rec(9999, 0)).is_none());
        for id in (0..64u64).step_by(2) {
            let i = t.find(id * 1024, (id % 3) as u32).unwrap();
            t.remove(i);
        }
        for id in 0..64u64 {
            let f = t.find(id * 1024, (id % 3) as u32);
            assert_eq!(f.is_some(), id % 2 == 1, "id {id}");
        }
        assert_eq!(t.find(1024, 0), None); // instrument is part of the key
    }

    /// Consecutive ids share index groups: removing from the middle of a full group shifts its
    /// neighbours back correctly, on two instruments whose groups interleave.
    #[test]
    fn consecutive_ids_churn() {
        let mut t = OrderTable::new(48);
        let mut live: Vec<(u64, u32, u32)> = Vec::new();
        for id in 100..124u64 {
            for instr in [0u32, 1] {
                live.push((id, instr, t.insert(rec(id, instr)).unwrap()));
            }
        }
        let mut k = 0usize;
        while !live.is_empty() {
            k = (k * 7 + 3) % live.len();
            let (id, instr, idx) = live.swap_remove(k);
            let (found, pos) = t.find_at(id, instr).unwrap();
            assert_eq!(found, idx);
            t.remove_at(idx, pos);
            assert_eq!(t.find(id, instr), None);
            for &(id, instr, idx) in &live {
                assert_eq!(t.find(id, instr), Some(idx), "id {id} instrument {instr}");
            }
        }
    }

    /// Random churn at full load against a `HashMap`, with ids that often share a direct entry
    /// (few distinct low bits, two instruments): both tiers, overflow runs wrapping past the
    /// last bucket and backward shifts across the wrap.
    #[test]
    fn churn_matches_a_hashmap() {
        let mut t = OrderTable::new(13);
        let mut want: std::collections::HashMap<(u64, u32), u32> = Default::default();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = (
                (x >> 40) % 40 + ((x >> 20) & 1) * (1 << 35),
                (x >> 30) as u32 & 1,
            );
            match want.get(&key).copied() {
                Some(k) if x & 4 == 0 => {
                    let (found, pos) = t.find_at(key.0, key.1).expect("live key found");
                    assert_eq!(found, k);
                    t.remove_at(k, pos);
                    want.remove(&key);
                }
                Some(k) => assert_eq!(t.find(key.0, key.1), Some(k)),
                None => {
                    assert_eq!(t.find(key.0, key.1), None);
                    if let Some(k) = t.insert(rec(key.0, key.1)) {
                        want.insert(key, k);
                    } else {
                        assert_eq!(want.len(), 13);
                    }
                }
            }
            for (&(id, instr), &k) in &want {
                assert_eq!(t.find(id, instr), Some(k), "id {id} instrument {instr}");
            }
            let direct = t.direct.iter().filter(|&&e| e != 0).count();
            assert_eq!(t.n_over as usize, want.len() - direct);
        }
    }
}
