//! GTD expiry: a preallocated binary min-heap of `(expire_time, entry, slot)` with lazy deletion.
//! An entry is live while its (special) slot still holds a GTD order whose `Ext::entry` is that
//! entry number (entry numbers are never reused). GTD orders always sit in special slots, so the
//! heap's capacity is the slab's special capacity. Push O(log n); `expire` pops only what is due, so it is O(1) when nothing is.
//! When the heap is full of stale entries, it is compacted in place (O(n), amortised away).

use crate::slab::{F_GTD, Slab, State};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Due {
    /// Expire time.
    pub time: u64,
    /// Entry number of the order (tie break, and liveness check).
    pub entry: u64,
    /// Slot.
    pub slot: u32,
}

/// The heap.
pub(crate) struct Expiry {
    h: Vec<Due>,
}

impl Expiry {
    /// Touch every page of the preallocated memory (start-up only).
    pub(crate) fn prefault(&mut self) {
        ferrex_types::prefault(&mut self.h);
    }

    /// Room for `cap` entries.
    pub fn new(cap: u32) -> Expiry {
        Expiry {
            h: Vec::with_capacity(cap as usize),
        }
    }

    #[inline]
    pub(crate) fn live(slab: &Slab, d: &Due) -> bool {
        let n = &slab.nodes[d.slot as usize];
        n.state != State::Free
            && n.flags & F_GTD != 0
            && slab.is_special(d.slot)
            && slab.ext(d.slot).entry == d.entry
    }

    /// Adds an order. Never allocates: when full, stale entries are dropped first (there are at
    /// most as many live GTD orders as special slots, and the heap has that many places).
    pub fn push(&mut self, slab: &Slab, d: Due) {
        if self.h.len() == self.h.capacity() {
            self.h.retain(|x| Self::live(slab, x));
            for i in (0..self.h.len() / 2).rev() {
                self.sift_down(i);
            }
            if self.h.len() == self.h.capacity() {
                return; // unreachable: more live GTD orders than slots
            }
        }
        self.h.push(d);
        let mut i = self.h.len() - 1;
        while i > 0 {
            let p = (i - 1) / 2;
            if self.h[p] <= self.h[i] {
                break;
            }
            self.h.swap(p, i);
            i = p;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.h.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                return;
            }
            let r = l + 1;
            let c = if r < n && self.h[r] < self.h[l] { r } else { l };
            if self.h[i] <= self.h[c] {
                return;
            }
            self.h.swap(i, c);
            i = c;
        }
    }

    fn pop(&mut self) {
        let last = self.h.len() - 1;
        self.h.swap(0, last);
        self.h.pop();
        self.sift_down(0);
    }

    /// Drops stale entries from the top so `peek` is exact.
    #[inline]
    pub fn clean_top(&mut self, slab: &Slab) {
        while let Some(d) = self.h.first() {
            if Self::live(slab, d) {
                return;
            }
            self.pop();
        }
    }

    /// The earliest live entry (after `clean_top`).
    #[inline]
    pub fn peek(&self) -> Option<Due> {
        self.h.first().copied()
    }

    /// Pops the earliest entry if it is live and due at `now`; drops stale ones on the way.
    #[inline]
    pub fn pop_due(&mut self, slab: &Slab, now: u64) -> Option<Due> {
        loop {
            let d = *self.h.first()?;
            if d.time > now {
                return None;
            }
            self.pop();
            if Self::live(slab, &d) {
                return Some(d);
            }
        }
    }

    /// Every heap entry, live or stale, in heap order (snapshots).
    pub(crate) fn entries(&self) -> &[Due] {
        &self.h
    }

    /// Bytes preallocated.
    pub fn bytes(&self) -> usize {
        self.h.capacity() * core::mem::size_of::<Due>()
    }
}
