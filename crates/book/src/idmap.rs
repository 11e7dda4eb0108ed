//! `OrderId → slot`: fixed-capacity open addressing (linear probing, backward-shift deletion, no
//! tombstones). Each bucket is 8 bytes: a 32-bit hash tag and the slot; the key itself is read
//! from the slab node only when the tag matches. Capacity is 1.25 × max_orders rounded up to a
//! multiple of 8 (not a power of two: the home bucket comes from a multiply-shift range
//! reduction), so the load factor stays ≤ 0.8 even with the book full, at 10 bytes per order
//! slot; nothing allocates after `new`.

use crate::slab::{NIL, Node};

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tag: u32,
    slot: u32,
}

const EMPTY: Bucket = Bucket { tag: 0, slot: NIL };

/// The id map.
pub(crate) struct IdMap {
    b: Vec<Bucket>,
    /// Blocks of `2^GROUP` buckets (`b.len() >> GROUP`).
    blocks: u64,
}

/// Low id bits kept as-is in the bucket index, so 2^GROUP consecutive ids share one cache line of
/// buckets (sequential ids, the common case, then cost one line fill per 8 inserts instead of
/// one per insert); the rest of the index comes from a multiplicative mix of the higher id bits.
const GROUP: u32 = 3;

/// The bucket tag of `id`: bits 3.. are the high 29 bits of `(id >> 3) · φ` (a 64-bit odd
/// constant, so every id bit reaches them), bits 0..3 the low id bits. The home bucket is
/// computed from the tag alone ([`IdMap::home`]), which backward-shift deletion needs.
#[inline(always)]
fn tag_of(id: u64) -> u32 {
    let h = ((id >> GROUP).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - 32 + GROUP)) as u32;
    (h << GROUP) | (id as u32 & ((1 << GROUP) - 1))
}

/// Forward distance from bucket `from` to bucket `to` on a ring of `len` buckets.
#[inline(always)]
fn dist(from: usize, to: usize, len: usize) -> usize {
    if to >= from {
        to - from
    } else {
        to + len - from
    }
}

impl IdMap {
    /// Touch every page of the preallocated memory (start-up only).
    pub(crate) fn prefault(&mut self) {
        ferrex_types::prefault(&mut self.b);
    }

    /// Room for `max_live` ids (capacity = 1.25 × max_live + 1, rounded up to a multiple of 8,
    /// at least 16).
    pub fn new(max_live: u32) -> IdMap {
        let want = max_live as usize + max_live as usize / 4 + 1;
        let cap = want.div_ceil(1 << GROUP).max(2) << GROUP;
        IdMap {
            b: vec![EMPTY; cap],
            blocks: (cap >> GROUP) as u64,
        }
    }

    /// Bucket `i`, which must be `< len` (every index here is: [`IdMap::home`] is, and probes
    /// wrap to 0 at `len`). Unchecked: the bounds check per probe was a measurable share of an
    /// add or cancel.
    #[inline(always)]
    fn at(&self, i: usize) -> Bucket {
        debug_assert!(i < self.b.len());
        // SAFETY: every caller passes an index from `home` (tag >> 3 < 2^29 gives block < blocks, so
        // `block · 8 + low bits < blocks · 8 = len`), one checked `< len` (`remove_at`), or one
        // advanced by 1 from such an index and wrapped to 0 at `len`; the table never changes
        // length after `new`.
        unsafe { *self.b.get_unchecked(i) }
    }

    /// Writes bucket `i < len` (see [`IdMap::at`]).
    #[inline(always)]
    fn set(&mut self, i: usize, e: Bucket) {
        debug_assert!(i < self.b.len());
        // SAFETY: as for `at`: `i < len`, and the length never changes after `new`.
        unsafe { *self.b.get_unchecked_mut(i) = e }
    }

    /// Home bucket of `tag`: its block by multiply-shift of the tag's 29 hashed bits (uniform
    /// over the blocks), its place in the block by the id's low bits, so consecutive ids share
    /// a cache line of buckets. `< blocks · 8 = len`.
    #[inline(always)]
    fn home(&self, tag: u32) -> usize {
        let block = (u64::from(tag >> GROUP) * self.blocks) >> (32 - GROUP);
        ((block as usize) << GROUP) | (tag as usize & ((1 << GROUP) - 1))
    }

    /// Slot of `id`, if live. O(1) expected.
    #[inline]
    pub fn get(&self, id: u64, nodes: &[Node]) -> Option<u32> {
        self.find(id, nodes).map(|i| self.slot_at(i))
    }
    /// One probe for a new id: `Err(slot)` when `id` is live, else `Ok(bucket)` = the first empty
    /// bucket of its probe run, where [`IdMap::insert_at`] may put it as long as the map is not
    /// changed in between. O(1) expected.
    #[inline(always)]
    pub fn find_free(&self, id: u64, nodes: &[Node]) -> Result<usize, u32> {
        self.probe(id, nodes).map_err(|i| self.at(i).slot)
    }

    /// The probe run of `id`: `Err(bucket holding id)` if live, else `Ok(first empty bucket)`.
    #[inline(always)]
    fn probe(&self, id: u64, nodes: &[Node]) -> Result<usize, usize> {
        let tag = tag_of(id);
        let len = self.b.len();
        let mut i = self.home(tag);
        loop {
            let e = self.at(i);
            if e.slot == NIL {
                return Ok(i);
            }
            if e.tag == tag && nodes[e.slot as usize].id == id {
                return Err(i);
            }
            i += 1;
            if i == len {
                i = 0;
            }
        }
    }

    /// Inserts `id → slot` at bucket `i` from [`IdMap::find_free`] (map unchanged since). O(1).
    #[inline(always)]
    pub fn insert_at(&mut self, i: usize, id: u64, slot: u32) {
        if let Some(b) = self.b.get_mut(i) {
            *b = Bucket {
                tag: tag_of(id),
                slot,
            };
        }
    }

    /// Inserts `id → slot`; `id` must be absent. O(1) expected.
    #[inline]
    pub fn insert(&mut self, id: u64, slot: u32) {
        let tag = tag_of(id);
        let mut i = self.home(tag);
        let b = &mut self.b[..];
        while b[i].slot != NIL {
            i += 1;
            if i == b.len() {
                i = 0;
            }
        }
        b[i] = Bucket { tag, slot };
    }

    /// Bucket holding `id`, if live (for [`IdMap::slot_at`] and [`IdMap::remove_at`]: a cancel
    /// finds the order and later removes it without a second probe). O(1) expected.
    #[inline(always)]
    pub fn find(&self, id: u64, nodes: &[Node]) -> Option<usize> {
        self.probe(id, nodes).err()
    }

    /// The slot in bucket `i` (from [`IdMap::find`]).
    #[inline(always)]
    pub fn slot_at(&self, i: usize) -> u32 {
        self.b.get(i).map_or(NIL, |e| e.slot)
    }

    /// Removes the entry of `id` that maps to `slot` (if present). O(1) expected.
    #[inline(always)]
    pub fn remove(&mut self, id: u64, slot: u32) {
        let tag = tag_of(id);
        let mut i = self.home(tag);
        let len = self.b.len();
        loop {
            let e = self.at(i);
            if e.slot == NIL {
                return;
            }
            if e.slot == slot {
                break;
            }
            i += 1;
            if i == len {
                i = 0;
            }
        }
        self.remove_at(i);
    }

    /// Empties bucket `i` (from [`IdMap::find`], map unchanged since), pulling later members of
    /// its probe run into the hole when their home allows it (backward shift). O(1) expected.
    #[inline(always)]
    pub fn remove_at(&mut self, i: usize) {
        let len = self.b.len();
        if i >= len {
            return;
        }
        let mut hole = i;
        let mut j = if i + 1 == len { 0 } else { i + 1 };
        loop {
            let e = self.at(j);
            if e.slot == NIL {
                break;
            }
            let h = self.home(e.tag);
            if dist(h, j, len) >= dist(hole, j, len) {
                self.set(hole, e);
                hole = j;
            }
            j += 1;
            if j == len {
                j = 0;
            }
        }
        self.set(hole, EMPTY);
    }

    /// Bytes preallocated.
    pub fn bytes(&self) -> usize {
        self.b.capacity() * core::mem::size_of::<Bucket>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove_with_collisions() {
        let n = 64u32;
        let mut nodes = vec![crate::slab::Slab::new(n, 0).nodes[0]; n as usize];
        let mut m = IdMap::new(n);
        // ids chosen to collide heavily on the home bucket
        let ids: Vec<u64> = (0..n as u64).map(|i| i << 40 | 7).collect();
        for (s, &id) in ids.iter().enumerate() {
            nodes[s].id = id;
            m.insert(id, s as u32);
        }
        for (s, &id) in ids.iter().enumerate() {
            assert_eq!(m.get(id, &nodes), Some(s as u32));
        }
        for (s, &id) in ids.iter().enumerate().step_by(2) {
            m.remove(id, s as u32);
        }
        for (s, &id) in ids.iter().enumerate() {
            let want = if s % 2 == 0 { None } else { Some(s as u32) };
            assert_eq!(m.get(id, &nodes), want, "id {id}");
        }
        assert_eq!(m.get(12345, &nodes), None);
    }

    /// A capacity that is not a power of two (13 ids → 24 buckets), filled to the limit and
    /// churned at random against a `HashMap`: probe runs wrap past the last bucket and
    /// backward-shift deletion crosses the wrap.
    #[test]
    fn churn_at_full_load_matches_a_hashmap() {
        let n = 13u32;
        let mut m = IdMap::new(n);
        assert_eq!(m.b.len(), 24);
        let mut nodes = vec![crate::slab::Slab::new(n, 0).nodes[0]; n as usize];
        let mut want: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
        let mut free: Vec<u32> = (0..n).collect();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // few distinct ids so inserts, hits, misses and removals all happen
            let id = (x >> 40) % 40 + ((x >> 20) & 1) * (1 << 35);
            match want.get(&id).copied() {
                Some(s) if x & 4 == 0 => {
                    m.remove(id, s);
                    want.remove(&id);
                    free.push(s);
                }
                Some(s) => assert_eq!(m.get(id, &nodes), Some(s)),
                None => {
                    assert_eq!(m.get(id, &nodes), None);
                    if let Some(s) = free.pop() {
                        nodes[s as usize].id = id;
                        match m.find_free(id, &nodes) {
                            Ok(i) => m.insert_at(i, id, s),
                            Err(_) => panic!("{id} reported live"),
                        }
                        want.insert(id, s);
                    }
                }
            }
            for (&k, &s) in &want {
                assert_eq!(m.get(k, &nodes), Some(s), "id {k}");
            }
        }
    }
}
