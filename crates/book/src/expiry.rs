//! GTD expiry: a preallocated binary min-heap of `(expire_time, entry, slot)` with lazy deletion.
//! An entry is live while its slot still holds the order with that entry number (entry numbers are
//! never reused). Push O(log n); `expire` pops only what is due, so it is O(1) when nothing is.
//! When the heap is full of stale entries, it is compacted in place (O(n), amortised away).

use crate::slab::{F_GTD, Node, State};

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
    fn live(nodes: &[Node], d: &Due) -> bool {
        let n = &nodes[d.slot as usize];
        n.state != State::Free && n.entry == d.entry && n.flags & F_GTD != 0
    }

    /// Adds an order. Never allocates: when full, stale entries are dropped first (there are at
    /// most as many live GTD orders as slab slots, and the heap has that many places).
    pub fn push(&mut self, nodes: &[Node], d: Due) {
        if self.h.len() == self.h.capacity() {
            self.h.retain(|x| Self::live(nodes, x));
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
    pub fn clean_top(&mut self, nodes: &[Node]) {
        while let Some(d) = self.h.first() {
            if Self::live(nodes, d) {
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
    pub fn pop_due(&mut self, nodes: &[Node], now: u64) -> Option<Due> {
        loop {
            let d = *self.h.first()?;
            if d.time > now {
                return None;
            }
            self.pop();
            if Self::live(nodes, &d) {
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
