//! One side's price ladder: a dense array of levels indexed by `(price − base) / tick` with a
//! two-level bitmap (a summary word over the u64 occupancy words) to find the next non-empty
//! level, plus a sorted fixed-capacity sparse fallback for prices outside the dense window. The
//! best price is cached.
//!
//! Costs: lookup/insert/remove of a dense level O(1); finding the next non-empty dense level scans
//! at most one occupancy word plus the summary words (dense_levels / 4096 of them); sparse levels
//! cost a binary search, inserting/removing one shifts the sparse array (≤ sparse_levels entries).

use crate::level::Level;
use crate::slab::Node;
use ferrex_types::Side;

/// Two-level occupancy bitmap over `n` dense slots.
pub(crate) struct Bitmap {
    words: Vec<u64>,
    summary: Vec<u64>,
}

impl Bitmap {
    /// Touch every page of the preallocated memory (start-up only).
    pub(crate) fn prefault(&mut self) {
        ferrex_types::prefault(&mut self.words);
        ferrex_types::prefault(&mut self.summary);
    }

    fn new(n: usize) -> Bitmap {
        let w = n.div_ceil(64);
        Bitmap {
            words: vec![0; w],
            summary: vec![0; w.div_ceil(64)],
        }
    }

    #[inline]
    fn set(&mut self, i: usize) {
        let w = i / 64;
        self.words[w] |= 1 << (i % 64);
        self.summary[w / 64] |= 1 << (w % 64);
    }

    #[inline]
    fn clear(&mut self, i: usize) {
        let w = i / 64;
        self.words[w] &= !(1u64 << (i % 64));
        if self.words[w] == 0 {
            self.summary[w / 64] &= !(1u64 << (w % 64));
        }
    }

    /// Lowest set index ≥ `lo`.
    #[inline]
    fn next_at_or_after(&self, lo: usize) -> Option<usize> {
        let w = lo / 64;
        if w >= self.words.len() {
            return None;
        }
        let m = self.words[w] & (!0u64 << (lo % 64));
        if m != 0 {
            return Some(w * 64 + m.trailing_zeros() as usize);
        }
        let w1 = w + 1;
        let mut sw = w1 / 64;
        if sw >= self.summary.len() {
            return None;
        }
        let mut sm = if w1.is_multiple_of(64) {
            self.summary[sw]
        } else {
            self.summary[sw] & (!0u64 << (w1 % 64))
        };
        loop {
            if sm != 0 {
                let wi = sw * 64 + sm.trailing_zeros() as usize;
                let x = self.words[wi];
                return Some(wi * 64 + x.trailing_zeros() as usize);
            }
            sw += 1;
            if sw >= self.summary.len() {
                return None;
            }
            sm = self.summary[sw];
        }
    }

    /// Highest set index < `hi`.
    #[inline]
    fn prev_before(&self, hi: usize) -> Option<usize> {
        if hi == 0 {
            return None;
        }
        let i = hi - 1;
        let w = i / 64;
        let m = self.words[w] & low_mask(i % 64);
        if m != 0 {
            return Some(w * 64 + 63 - m.leading_zeros() as usize);
        }
        if w == 0 {
            return None;
        }
        let j = w - 1;
        let mut sw = j / 64;
        let mut sm = self.summary[sw] & low_mask(j % 64);
        loop {
            if sm != 0 {
                let wi = sw * 64 + 63 - sm.leading_zeros() as usize;
                let x = self.words[wi];
                return Some(wi * 64 + 63 - x.leading_zeros() as usize);
            }
            if sw == 0 {
                return None;
            }
            sw -= 1;
            sm = self.summary[sw];
        }
    }

    fn bytes(&self) -> usize {
        (self.words.capacity() + self.summary.capacity()) * 8
    }
}

/// Bits 0..=b set.
#[inline(always)]
fn low_mask(b: usize) -> u64 {
    if b == 63 { !0 } else { (1u64 << (b + 1)) - 1 }
}

/// A level outside the dense window.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SparseLevel {
    /// Its price.
    pub price: i64,
    /// The level.
    pub level: Level,
}

/// `Ladder::best_idx` when the best level is not dense (or there is none).
const NO_IDX: usize = usize::MAX;

/// One side of the book.
pub(crate) struct Ladder {
    /// Bids (best = highest) or asks (best = lowest).
    pub side: Side,
    anchored: bool,
    base: i64,
    /// Dense slots usable: `dense.len()` once anchored, 0 before (so `idx` needs no flag test).
    win: u64,
    /// `win · tick` (saturating): the price span of the window.
    span: u64,
    tick: i64,
    dense: Vec<Level>,
    bits: Bitmap,
    sparse: Vec<SparseLevel>,
    sparse_cap: usize,
    /// Cached best price. Written only through [`Ladder::set_best`] (and where the dense index
    /// of the new best is at hand), which keeps `best_idx` in step.
    pub best: Option<i64>,
    /// Dense index of `best` when that is a dense level, else [`NO_IDX`] (no best, or a sparse
    /// one): the matching loop takes the best level without a price → index step
    /// ([`Ladder::best_mut`]).
    best_idx: usize,
    /// Non-empty levels.
    pub levels: u32,
    /// The book's price range (`min_price`, `max_price`), for the fast window.
    price_range: (i64, i64),
    /// Fast window for new orders (see [`Ladder::fast_idx`]): its lowest price, its width in
    /// price units (0 = empty: not anchored, or no dense price inside the price range), and
    /// `fast_lo − base`.
    fast_lo: i64,
    fast_span: u64,
    fast_off: u64,
}

impl Ladder {
    /// Touch every page of the preallocated memory (start-up only).
    pub(crate) fn prefault(&mut self) {
        self.bits.prefault();
        ferrex_types::prefault(&mut self.dense);
        ferrex_types::prefault(&mut self.sparse);
    }

    /// Preallocates `dense` levels and room for `sparse` outlying levels.
    pub fn new(side: Side, tick: i64, dense: u32, sparse: u32) -> Ladder {
        Ladder {
            side,
            anchored: false,
            base: 0,
            win: 0,
            span: 0,
            tick,
            dense: vec![Level::EMPTY; dense as usize],
            bits: Bitmap::new(dense as usize),
            sparse: Vec::with_capacity(sparse as usize),
            sparse_cap: sparse as usize,
            best: None,
            best_idx: NO_IDX,
            levels: 0,
            price_range: (i64::MIN, i64::MAX),
            fast_lo: 0,
            fast_span: 0,
            fast_off: 0,
        }
    }

    /// Sets the book's price range (`min_price ≤ max_price`), which bounds the fast window of
    /// [`Ladder::fast_idx`]; before [`Ladder::anchor`].
    pub fn set_price_range(&mut self, min: i64, max: i64) {
        self.price_range = (min, max);
    }

    /// Fixes the dense window: slot 0 is price `base` (a multiple of the tick, ≥ 0).
    pub fn anchor(&mut self, base: i64) {
        self.anchored = true;
        self.base = base;
        self.win = self.dense.len() as u64;
        self.span = self.win.saturating_mul(self.tick.unsigned_abs());
        // The fast window: the dense prices inside the price range, [lo, hi].
        let (min, max) = self.price_range;
        let last = i128::from(base) + (i128::from(self.win) - 1) * i128::from(self.tick);
        let lo = i128::from(base.max(min));
        let hi = last.min(i128::from(max));
        (self.fast_lo, self.fast_span, self.fast_off) = if self.win == 0 || lo > hi {
            (0, 0, 0)
        } else {
            // base ≥ 0, so 0 ≤ lo ≤ hi ≤ i64::MAX: every value fits.
            (
                lo as i64,
                (hi - lo + 1) as u64,
                (lo - i128::from(base)) as u64,
            )
        };
        self.set_best(self.best);
    }

    /// The dense window's base price once anchored (snapshots).
    pub(crate) fn anchor_base(&self) -> Option<i64> {
        self.anchored.then_some(self.base)
    }

    /// Dense slot of `p`, if inside the window (and on the tick grid).
    #[inline(always)]
    fn idx(&self, p: i64) -> Option<usize> {
        // A price below the base gives a negative difference, ≥ 2^63 as u64: past the window.
        let d = p.checked_sub(self.base)? as u64;
        if self.tick == 1 {
            return if d < self.win { Some(d as usize) } else { None };
        }
        let t = self.tick as u64;
        if d >= self.span || !d.is_multiple_of(t) {
            return None;
        }
        Some((d / t) as usize)
    }

    #[inline(always)]
    fn price_of(&self, i: usize) -> i64 {
        // In range by construction: base + i * tick is a price that was inserted.
        self.base.wrapping_add((i as i64).wrapping_mul(self.tick))
    }

    /// The (non-empty) level at `p`.
    #[inline]
    pub fn get(&self, p: i64) -> Option<&Level> {
        match self.idx(p) {
            Some(i) => {
                let l = &self.dense[i];
                if l.count > 0 { Some(l) } else { None }
            }
            None => self.sparse_find(p).ok().map(|k| &self.sparse[k].level),
        }
    }

    /// The (non-empty) level at `p`, mutably.
    /// Inline for a dense price (the matching loop takes a level per price it trades through);
    /// the sparse search is out of line.
    #[inline(always)]
    pub fn get_mut(&mut self, p: i64) -> Option<&mut Level> {
        match self.idx(p) {
            Some(i) => {
                debug_assert!(i < self.dense.len());
                // SAFETY: `idx` returns indices below `win`, which is 0 or `dense.len()` (the
                // dense vector never changes length after `new`).
                let l = unsafe { self.dense.get_unchecked_mut(i) };
                if l.count > 0 { Some(l) } else { None }
            }
            None => self.sparse_get_mut(p),
        }
    }

    /// [`Ladder::get_mut`] of a price outside the dense window.
    #[inline(never)]
    fn sparse_get_mut(&mut self, p: i64) -> Option<&mut Level> {
        match self.sparse_find(p) {
            Ok(k) => Some(&mut self.sparse[k].level),
            Err(_) => None,
        }
    }

    #[inline]
    fn sparse_find(&self, p: i64) -> Result<usize, usize> {
        self.sparse.binary_search_by(|s| s.price.cmp(&p))
    }

    /// True when an order at `p` can rest (the level exists, is dense, or the sparse fallback has
    /// room). An unanchored ladder accepts anything (the window will centre on it).
    #[inline(always)]
    pub fn can_insert(&self, p: i64) -> bool {
        !self.anchored
            || self.idx(p).is_some()
            || self.sparse.len() < self.sparse_cap
            || self.sparse_find(p).is_ok()
    }

    /// Dense slot of `p` if `p` is inside the (anchored) dense window, on the tick grid and
    /// inside the book's price range (so a new order's range and tick checks pass): the fast
    /// path's one check of its price. With tick 1 it is one subtraction and one compare.
    #[inline(always)]
    pub fn fast_idx(&self, p: i64) -> Option<usize> {
        // fast_lo ≥ 0 and fast_lo + fast_span − 1 ≤ i64::MAX: a price below fast_lo wraps to
        // at least 2^63 − fast_lo ≥ fast_span, so one unsigned compare tests both ends.
        let d = (p as u64).wrapping_sub(self.fast_lo as u64);
        if d >= self.fast_span {
            return None;
        }
        // p − base, in [0, (win − 1) · tick].
        let e = d + self.fast_off;
        if self.tick == 1 {
            return Some(e as usize);
        }
        let t = self.tick as u64;
        if !e.is_multiple_of(t) {
            return None;
        }
        Some((e / t) as usize)
    }

    /// Appends slot `s` (`visible` lots, price `p`) to the dense level `i` (from
    /// [`Ladder::fast_idx`] for `p`), creating the level if missing and updating the best price,
    /// without writing node `s`; returns its `prev` (see [`Queue::link_back`]) and the level's
    /// (qty, count). O(1).
    ///
    /// [`Queue::link_back`]: crate::slab::Queue::link_back
    #[inline(always)]
    pub fn link_dense(
        &mut self,
        i: usize,
        p: i64,
        nodes: &mut [Node],
        s: u32,
        visible: u64,
    ) -> (u32, u64, u32) {
        debug_assert!(i < self.dense.len());
        // SAFETY: `i` comes from `fast_idx`, whose window lies inside the dense one: its largest
        // index is `(fast_off + fast_span − 1) / tick ≤ win − 1`, and `win` is `dense.len()`
        // once anchored (the fast window is empty before).
        let l = unsafe { self.dense.get_unchecked_mut(i) };
        if l.count == 0 {
            let better = match self.best {
                None => true,
                Some(b) => match self.side {
                    Side::Buy => p > b,
                    Side::Sell => p < b,
                },
            };
            if better {
                self.best = Some(p);
                self.best_idx = i;
            }
            self.levels += 1;
            self.bits.set(i);
        }
        let prev = l.link_back(nodes, s, visible);
        (prev, l.qty, l.count)
    }

    /// The level at `p`, created (empty, already marked occupied) if missing; `None` only when
    /// the sparse fallback is full. Updates the best price.
    #[inline]
    pub fn get_or_insert(&mut self, p: i64) -> Option<&mut Level> {
        let better = match self.best {
            None => true,
            Some(b) => match self.side {
                Side::Buy => p > b,
                Side::Sell => p < b,
            },
        };
        match self.idx(p) {
            Some(i) => {
                if self.dense[i].count == 0 {
                    self.bits.set(i);
                    self.levels += 1;
                    if better {
                        self.best = Some(p);
                        self.best_idx = i;
                    }
                }
                Some(&mut self.dense[i])
            }
            None => {
                let k = match self.sparse_find(p) {
                    Ok(k) => k,
                    Err(k) => {
                        if self.sparse.len() >= self.sparse_cap {
                            return None;
                        }
                        self.sparse.insert(
                            k,
                            SparseLevel {
                                price: p,
                                level: Level::EMPTY,
                            },
                        );
                        self.levels += 1;
                        if better {
                            self.best = Some(p);
                            self.best_idx = NO_IDX;
                        }
                        k
                    }
                };
                Some(&mut self.sparse[k].level)
            }
        }
    }

    /// Drops the level at `p` if it has no orders; moves the best price when it was the best.
    #[inline]
    pub fn remove_if_empty(&mut self, p: i64) {
        match self.idx(p) {
            Some(i) => {
                debug_assert!(i < self.dense.len());
                // SAFETY: `idx` returns indices below `win` ≤ `dense.len()` (see `get_mut`).
                let l = unsafe { self.dense.get_unchecked_mut(i) };
                if l.count != 0 {
                    return;
                }
                *l = Level::EMPTY;
                self.bits.clear(i);
                self.levels -= 1;
                if self.best == Some(p) {
                    // The dense neighbour straight from the index (no price → index division).
                    let d = match self.side {
                        Side::Buy => self.bits.prev_before(i),
                        Side::Sell => self.bits.next_at_or_after(i + 1),
                    };
                    let dp = d.map(|j| self.price_of(j));
                    let b = self.worse_of(p, dp);
                    self.best = b;
                    // The dense neighbour's index when it is the new best (a sparse level may
                    // be better): no price → index step for the cached index either.
                    self.best_idx = match d {
                        Some(j) if b == dp => j,
                        _ => NO_IDX,
                    };
                }
                return;
            }
            None => match self.sparse_find(p) {
                Ok(k) if self.sparse[k].level.count == 0 => {
                    self.sparse.remove(k);
                }
                _ => return,
            },
        }
        self.levels -= 1;
        if self.best == Some(p) {
            self.set_best(self.next_worse(p));
        }
    }

    /// Sets the best price to `b` and its dense index (out of the matching loop: once per
    /// level emptied at the top).
    #[inline]
    fn set_best(&mut self, b: Option<i64>) {
        self.best = b;
        self.best_idx = b.and_then(|p| self.idx(p)).unwrap_or(NO_IDX);
    }

    /// The level at the best price `p` (which must be [`Ladder::best`]), from the cached dense
    /// index when the best level is dense. O(1).
    #[inline(always)]
    pub fn best_mut(&mut self, p: i64) -> Option<&mut Level> {
        debug_assert_eq!(self.best, Some(p));
        let i = self.best_idx;
        if i == NO_IDX {
            return self.get_mut(p);
        }
        debug_assert_eq!(self.idx(p), Some(i));
        // SAFETY: `best_idx` other than `NO_IDX` is the dense index of `best`, taken from `idx`
        // or `fast_idx` (both below `win` ≤ `dense.len()`) when `best` was set, and recomputed
        // by `anchor` when the window moves; the dense vector never changes length.
        let l = unsafe { self.dense.get_unchecked_mut(i) };
        if l.count > 0 { Some(l) } else { None }
    }

    /// The next non-empty price strictly worse than `p` (bids: lower, asks: higher).
    #[inline]
    pub fn next_worse(&self, p: i64) -> Option<i64> {
        let d = match self.side {
            Side::Buy => self.dense_below(p),
            Side::Sell => self.dense_above(p),
        };
        self.worse_of(p, d)
    }

    /// [`Ladder::next_worse`] of `p` given `d`, the next non-empty dense price worse than `p`:
    /// adds the sparse fallback's candidate.
    #[inline]
    fn worse_of(&self, p: i64, d: Option<i64>) -> Option<i64> {
        match self.side {
            Side::Buy => {
                let s = if self.sparse.is_empty() {
                    None
                } else {
                    match self.sparse_find(p) {
                        Ok(k) | Err(k) => k.checked_sub(1).map(|k| self.sparse[k].price),
                    }
                };
                match (d, s) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                }
            }
            Side::Sell => {
                let s = if self.sparse.is_empty() {
                    None
                } else {
                    let k = match self.sparse_find(p) {
                        Ok(k) => k + 1,
                        Err(k) => k,
                    };
                    self.sparse.get(k).map(|s| s.price)
                };
                match (d, s) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
        }
    }

    /// Highest non-empty dense price < p.
    fn dense_below(&self, p: i64) -> Option<i64> {
        if !self.anchored || self.dense.is_empty() {
            return None;
        }
        let d = i128::from(p) - i128::from(self.base);
        if d <= 0 {
            return None;
        }
        // number of grid slots strictly below p
        let hi = (d + i128::from(self.tick) - 1) / i128::from(self.tick);
        let hi = hi.min(self.dense.len() as i128) as usize;
        self.bits.prev_before(hi).map(|i| self.price_of(i))
    }

    /// Lowest non-empty dense price > p.
    fn dense_above(&self, p: i64) -> Option<i64> {
        if !self.anchored || self.dense.is_empty() {
            return None;
        }
        let d = i128::from(p) - i128::from(self.base);
        let lo = if d < 0 {
            0
        } else {
            d / i128::from(self.tick) + 1
        };
        if lo >= self.dense.len() as i128 {
            return None;
        }
        self.bits
            .next_at_or_after(lo as usize)
            .map(|i| self.price_of(i))
    }

    /// Calls `f(price, level)` for every non-empty level, best first.
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(i64, &Level) -> bool) {
        let mut p = self.best;
        while let Some(px) = p {
            let Some(l) = self.get(px) else { return };
            if !f(px, l) {
                return;
            }
            p = self.next_worse(px);
        }
    }

    /// Sparse levels in use.
    pub fn sparse_len(&self) -> usize {
        self.sparse.len()
    }

    /// Bytes preallocated.
    pub fn bytes(&self) -> usize {
        self.dense.capacity() * core::mem::size_of::<Level>()
            + self.bits.bytes()
            + self.sparse.capacity() * core::mem::size_of::<SparseLevel>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_prev_next() {
        let mut b = Bitmap::new(10_000);
        for i in [0usize, 63, 64, 4095, 4096, 9999] {
            b.set(i);
        }
        assert_eq!(b.next_at_or_after(0), Some(0));
        assert_eq!(b.next_at_or_after(1), Some(63));
        assert_eq!(b.next_at_or_after(65), Some(4095));
        assert_eq!(b.next_at_or_after(4097), Some(9999));
        assert_eq!(b.prev_before(9999), Some(4096));
        assert_eq!(b.prev_before(4096), Some(4095));
        assert_eq!(b.prev_before(64), Some(63));
        assert_eq!(b.prev_before(63), Some(0));
        assert_eq!(b.prev_before(0), None);
        b.clear(4095);
        b.clear(4096);
        assert_eq!(b.next_at_or_after(65), Some(9999));
        assert_eq!(b.prev_before(9999), Some(64));
    }

    /// The fast window is the dense prices inside the price range, on the tick grid; empty
    /// before anchoring; a price below it wraps past it instead of matching.
    #[test]
    fn fast_idx_is_dense_on_grid_and_in_range() {
        // tick 5, 8 dense slots from 100: prices 100..=135; price range 103..=127.
        let mut l = Ladder::new(Side::Buy, 5, 8, 4);
        l.set_price_range(103, 127);
        assert_eq!(l.fast_idx(105), None, "not anchored");
        l.anchor(100);
        for p in [
            i64::MIN,
            -5,
            0,
            95,
            100,
            102,
            103,
            104,
            106,
            126,
            130,
            135,
            140,
            i64::MAX,
        ] {
            assert_eq!(l.fast_idx(p), None, "price {p}");
        }
        assert_eq!(l.fast_idx(105), Some(1));
        assert_eq!(l.fast_idx(125), Some(5));
        assert_eq!(l.fast_idx(110), l.idx(110));
        // tick 1: the window is clipped to the price range on both sides.
        let mut t = Ladder::new(Side::Sell, 1, 16, 0);
        t.set_price_range(5, 12);
        t.anchor(0);
        let got: Vec<i64> = (-3..20).filter(|&p| t.fast_idx(p).is_some()).collect();
        assert_eq!(got, (5..=12).collect::<Vec<_>>());
        assert!((5..=12).all(|p| t.fast_idx(p) == t.idx(p)));
        // a range entirely outside the window: empty.
        let mut e = Ladder::new(Side::Buy, 1, 4, 0);
        e.set_price_range(100, 200);
        e.anchor(0);
        assert!((-10..300).all(|p| e.fast_idx(p).is_none()));
        // a window reaching i64::MAX.
        let mut m = Ladder::new(Side::Buy, 1, 4, 0);
        m.set_price_range(1, i64::MAX);
        m.anchor(i64::MAX - 3);
        assert_eq!(m.fast_idx(i64::MAX), Some(3));
        assert_eq!(m.fast_idx(i64::MAX - 4), None);
        assert_eq!(m.fast_idx(i64::MIN), None);
        assert_eq!(m.fast_idx(-1), None);
    }

    #[test]
    fn dense_and_sparse_walk() {
        let mut l = Ladder::new(Side::Buy, 5, 8, 4);
        l.anchor(100);
        for p in [90, 100, 120, 135, 200] {
            let lv = l.get_or_insert(p).unwrap();
            lv.count = 1;
        }
        let mut seen = vec![];
        l.for_each(|p, _| {
            seen.push(p);
            true
        });
        assert_eq!(seen, vec![200, 135, 120, 100, 90]);
        let mut a = Ladder::new(Side::Sell, 5, 8, 4);
        a.anchor(100);
        for p in [90, 100, 120, 135, 200] {
            a.get_or_insert(p).unwrap().count = 1;
        }
        let mut seen = vec![];
        a.for_each(|p, _| {
            seen.push(p);
            true
        });
        assert_eq!(seen, vec![90, 100, 120, 135, 200]);
    }
}
