//! The risk layer's own table of live orders: a preallocated slab of records plus an
//! open-addressing index keyed by (instrument, order id). Insert, find and remove are O(1)
//! expected; nothing allocates after `OrderTable::new`. MMP-flagged orders are also linked into a
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
    /// 0 = empty, else `(slab index + 1) << dbits | displacement`: the entry's distance from
    /// its home position in its low `dbits` bits (the bits the slab index leaves free, at most
    /// 16), saturated at `dmask` (then read from the record). A deletion's backward shift
    /// reads where an entry belongs from the entry itself, without loading its record and
    /// hashing its key again.
    index: Vec<u32>,
    mask: usize,
    dbits: u32,
    dmask: u32,
}

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
        ferrex_types::prefault(&mut self.index);
    }

    pub(crate) fn new(capacity: u32) -> OrderTable {
        // Slab index + 1 ≤ capacity takes `32 − leading zeros` bits; the rest (≤ 16, so every
        // shift stays below 32) hold the displacement.
        OrderTable::with_dbits(capacity, capacity.leading_zeros().min(16))
    }

    /// [`OrderTable::new`] with `dbits` displacement bits (≤ the capacity's leading zeros and
    /// ≤ 16; tests use fewer, to exercise saturated displacements).
    fn with_dbits(capacity: u32, dbits: u32) -> OrderTable {
        let cap = capacity as usize;
        let index_len = (cap * 2).next_power_of_two().max(16);
        OrderTable {
            slab: vec![OrderRec::default(); cap],
            free: (0..capacity).rev().collect(),
            index: vec![0; index_len],
            mask: index_len - 1,
            dbits,
            dmask: (1u32 << dbits) - 1,
        }
    }

    /// The index entry of slab index `idx` at displacement `disp` from its home.
    #[inline(always)]
    fn entry(&self, idx: u32, disp: usize) -> u32 {
        ((idx + 1) << self.dbits) | disp.min(self.dmask as usize) as u32
    }

    /// The slab index of a (non-empty) index entry.
    #[inline(always)]
    fn slab_idx(&self, e: u32) -> u32 {
        (e >> self.dbits) - 1
    }

    /// Put slab index `idx` (key `order_id`, `instrument`) at the first empty position from its
    /// home.
    #[inline(always)]
    fn place(&mut self, idx: u32, order_id: u64, instrument: u32) {
        let home = self.home(order_id, instrument);
        if self.index[home] == 0 {
            // At its home (the usual case): displacement 0.
            self.index[home] = (idx + 1) << self.dbits;
            return;
        }
        let mut pos = home;
        while self.index[pos] != 0 {
            pos = (pos + 1) & self.mask;
        }
        self.index[pos] = self.entry(idx, pos.wrapping_sub(home) & self.mask);
    }

    #[inline(always)]
    pub(crate) fn is_full(&self) -> bool {
        self.free.is_empty()
    }

    #[inline(always)]
    pub(crate) fn capacity(&self) -> usize {
        self.slab.len()
    }

    /// Home position: the hash of the id's high bits and the instrument picks a group of 8
    /// positions, the id's low 3 bits the place in it, so 8 consecutive ids (the common case:
    /// clients number their orders) share half a cache line of the index instead of touching 8
    /// random lines. `mask ≥ 15`, so the low bits survive the mask.
    #[inline(always)]
    fn home(&self, order_id: u64, instrument: u32) -> usize {
        let g = (hash(order_id >> 3, instrument) >> 32) as usize;
        ((g << 3) | (order_id as usize & 7)) & self.mask
    }

    /// The displacement of entry `e` at `pos` from its home, from its record (an entry whose
    /// displacement field is saturated).
    #[cold]
    #[inline(never)]
    fn displacement(&self, e: u32, pos: usize) -> usize {
        let r = &self.slab[self.slab_idx(e) as usize];
        pos.wrapping_sub(self.home(r.order_id, r.instrument)) & self.mask
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

    /// Slab index of a live order and the index position that holds it (for
    /// [`OrderTable::remove_at`], which then needs no second probe).
    #[inline(always)]
    pub(crate) fn find_at(&self, order_id: u64, instrument: u32) -> Option<(u32, usize)> {
        let mut pos = self.home(order_id, instrument);
        loop {
            let e = *self.index.get(pos)?;
            if e == 0 {
                return None;
            }
            let k = self.slab_idx(e);
            let r = self.slab.get(k as usize)?;
            if r.order_id == order_id && r.instrument == instrument {
                return Some((k, pos));
            }
            pos = (pos + 1) & self.mask;
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

    /// Insert a record (its key must not be live). `None` when the table is full.
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

    /// Remove a live record by slab index (backward-shift deletion, no tombstones). The hot
    /// path uses [`OrderTable::remove_at`] with the position `find_at` returned.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, idx: u32) {
        let r = self.slab[idx as usize];
        if !r.live {
            return;
        }
        let mut pos = self.home(r.order_id, r.instrument);
        while self.index[pos] == 0 || self.slab_idx(self.index[pos]) != idx {
            pos = (pos + 1) & self.mask;
        }
        self.remove_at(idx, pos);
    }

    /// Remove the live record `idx` whose index entry sits at `pos` (as returned by
    /// [`OrderTable::find_at`]): backward-shift deletion, no tombstones.
    #[inline(always)]
    pub(crate) fn remove_at(&mut self, idx: u32, pos: usize) {
        // Shift later entries of the cluster back.
        let mut hole = pos;
        let mut next = (hole + 1) & self.mask;
        loop {
            let e = self.index[next];
            if e == 0 {
                break;
            }
            let mut dist_next = (e & self.dmask) as usize;
            if dist_next == self.dmask as usize {
                dist_next = self.displacement(e, next);
            }
            // Move e into the hole when its home is not in (hole, next] cyclically.
            let dist_hole = next.wrapping_sub(hole) & self.mask;
            if dist_next >= dist_hole {
                self.index[hole] = self.entry(self.slab_idx(e), dist_next - dist_hole);
                hole = next;
            }
            next = (next + 1) & self.mask;
        }
        self.index[hole] = 0;
        self.slab[idx as usize].live = false;
        self.free.push(idx);
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

    /// Every index entry's displacement field is its distance from its home, or saturated.
    fn check_displacements(t: &OrderTable) {
        for (pos, &e) in t.index.iter().enumerate() {
            if e == 0 {
                continue;
            }
            let r = &t.slab[t.slab_idx(e) as usize];
            let d = pos.wrapping_sub(t.home(r.order_id, r.instrument)) & t.mask;
            let f = (e & t.dmask) as usize;
            assert!(
                f == d || (f == t.dmask as usize && d >= f),
                "pos {pos}: {f} vs {d}"
            );
        }
    }

    /// Long clusters (many ids sharing index groups on a small index) inserted and removed in a
    /// scrambled order, with 0, 1 and 2 displacement bits (saturated fields read from the
    /// records) and the default: every live key is found, and the fields stay exact.
    #[test]
    fn saturated_displacements_churn() {
        for dbits in [0u32, 1, 2, 16] {
            let mut t = OrderTable::with_dbits(40, dbits);
            let mut live: Vec<(u64, u32, u32)> = Vec::new();
            let mut x: u64 = 0x2545_f491_4f6c_dd1d;
            for step in 0..4000u64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if !t.is_full() && (live.is_empty() || !x.is_multiple_of(3)) {
                    let (id, instr) = (step * 8 + x % 8, (x >> 8) as u32 % 3);
                    live.push((id, instr, t.insert(rec(id, instr)).unwrap()));
                } else {
                    let (id, instr, idx) = live.swap_remove((x >> 16) as usize % live.len());
                    let (found, pos) = t.find_at(id, instr).unwrap();
                    assert_eq!(found, idx);
                    t.remove_at(idx, pos);
                    assert_eq!(t.find(id, instr), None);
                }
                check_displacements(&t);
                for &(id, instr, idx) in &live {
                    assert_eq!(t.find(id, instr), Some(idx), "dbits {dbits} id {id}");
                }
            }
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
}
