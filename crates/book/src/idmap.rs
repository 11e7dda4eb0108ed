//! `OrderId → slot` in two tiers, fixed capacity, nothing allocated after `new`:
//!
//! - **Direct:** a power-of-two array of slots indexed by the id's low bits. Clients number
//!   their orders (the QuantCup feed, ITCH order references, `ferrex bench`, FIX gateways'
//!   sequence-based ids), so the live ids mostly fall in a window narrower than the array and
//!   never share an entry: a lookup is one load and one compare of the node's id, an insert or
//!   removal one store, with no hashing, no probe loop and no backward shift; consecutive ids
//!   share cache lines.
//! - **Overflow:** an id whose direct entry is taken by another live id goes to an
//!   open-addressing hash ([`HashIds`]: linear probing, backward-shift deletion, no tombstones;
//!   4-byte buckets holding the slot; 1.25 × max_orders buckets, so its load factor stays ≤ 0.8
//!   even if every live id lands there, as ids chosen to collide would). A free direct entry
//!   is `NIL` when no overflow id can have it as home, and [`MOVED`] when one may (it was
//!   freed while the overflow held ids), so a `NIL` entry alone says "absent": a direct miss
//!   costs one load and one compare, with no look at the overflow's count (session 9: that
//!   count was tested on every new order and every cancel).
//!
//! Memory: 4 bytes per direct entry (max_orders rounded up to a power of two) plus 5 bytes per
//! order slot of overflow: about 9.2 bytes per order at 1,000,000 (the single tagged hash this
//! replaced took 10).

use crate::slab::{NIL, Node};

/// A free direct entry that an id in the overflow may have as its home: written instead of
/// `NIL` when an entry is freed while the overflow holds ids. Never a slot (slots are below
/// 2^30). An absent id whose home is `MOVED` is looked for in the overflow; an insert may take
/// the entry. Once the overflow is empty, freed entries are `NIL` again; a `MOVED` left over
/// only sends a miss to the (then empty) overflow.
const MOVED: u32 = NIL - 1;

/// The overflow tier: an open-addressing hash of the ids whose direct entry was taken. A bucket
/// is just the slot (`NIL` = empty): the id is read from the slab node, and so is the home
/// bucket when deletion shifts an entry back. Collisions are the rare case, so 4-byte buckets
/// (half the memory of tag + slot) are worth a node read per probe here.
pub(crate) struct HashIds {
    b: Vec<u32>,
}

/// 64-bit multiplicative mix of an id (φ · 2^64, odd, so every id bit reaches the high half).
#[inline(always)]
fn mix(id: u64) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
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

impl HashIds {
    /// Touch every page of the preallocated memory (start-up only).
    pub(crate) fn prefault(&mut self) {
        ferrex_types::prefault(&mut self.b);
    }

    /// Room for `max_live` ids: 1.25 × max_live + 1 buckets (at least 16), so the load factor
    /// stays ≤ 0.8 even if every live id is here.
    pub fn new(max_live: u32) -> HashIds {
        let cap = (max_live as usize + max_live as usize / 4 + 1).max(16);
        HashIds { b: vec![NIL; cap] }
    }

    /// Home bucket of `id`: multiply-shift range reduction of the mix's high 32 bits, `< len`.
    #[inline(always)]
    fn home(&self, id: u64) -> usize {
        (((mix(id) >> 32) * self.b.len() as u64) >> 32) as usize
    }

    /// The probe run of `id`: `Err(bucket holding id)` if live, else `Ok(first empty bucket)`.
    fn probe(&self, id: u64, nodes: &[Node]) -> Result<usize, usize> {
        let len = self.b.len();
        let mut i = self.home(id);
        loop {
            let s = self.b[i];
            if s == NIL {
                return Ok(i);
            }
            if nodes.get(s as usize).is_some_and(|n| n.id == id) {
                return Err(i);
            }
            i += 1;
            if i == len {
                i = 0;
            }
        }
    }

    /// Inserts `slot` at bucket `i` from [`HashIds::probe`] (map unchanged since).
    fn insert_at(&mut self, i: usize, slot: u32) {
        if let Some(b) = self.b.get_mut(i) {
            *b = slot;
        }
    }

    /// Inserts `id → slot`; `id` must be absent.
    fn insert(&mut self, id: u64, slot: u32) {
        let len = self.b.len();
        let mut i = self.home(id);
        while self.b[i] != NIL {
            i += 1;
            if i == len {
                i = 0;
            }
        }
        self.b[i] = slot;
    }

    /// The slot in bucket `i`.
    fn slot_at(&self, i: usize) -> u32 {
        self.b.get(i).copied().unwrap_or(NIL)
    }

    /// Removes the entry of `id` that maps to `slot`; false when there was none.
    fn remove(&mut self, id: u64, slot: u32, nodes: &[Node]) -> bool {
        let len = self.b.len();
        let mut i = self.home(id);
        loop {
            let s = self.b[i];
            if s == NIL {
                return false;
            }
            if s == slot {
                self.remove_at(i, nodes);
                return true;
            }
            i += 1;
            if i == len {
                i = 0;
            }
        }
    }

    /// Empties bucket `i`, pulling later members of its probe run into the hole when their home
    /// allows it (backward shift, no tombstones).
    fn remove_at(&mut self, i: usize, nodes: &[Node]) {
        let len = self.b.len();
        if i >= len {
            return;
        }
        let mut hole = i;
        let mut j = if i + 1 == len { 0 } else { i + 1 };
        loop {
            let s = self.b[j];
            if s == NIL {
                break;
            }
            let h = self.home(nodes.get(s as usize).map_or(0, |n| n.id));
            if dist(h, j, len) >= dist(hole, j, len) {
                self.b[hole] = s;
                hole = j;
            }
            j += 1;
            if j == len {
                j = 0;
            }
        }
        self.b[hole] = NIL;
    }

    /// Bytes preallocated.
    fn bytes(&self) -> usize {
        self.b.capacity() * core::mem::size_of::<u32>()
    }
}

/// The id map: the direct tier, and the overflow hash for ids whose direct entry is taken.
///
/// A *position* (from [`IdMap::find`] / [`IdMap::find_free`], for [`IdMap::slot_at`],
/// [`IdMap::insert_at`] and [`IdMap::remove_at`]) is a direct index (`< direct.len()`) or
/// `direct.len()` + an overflow bucket.
pub(crate) struct IdMap {
    /// Slot of the live id whose low bits index the entry, or `NIL` / [`MOVED`] when free.
    direct: Vec<u32>,
    /// `direct.len() - 1` (a power of two minus one).
    mask: u64,
    over: HashIds,
    /// Live entries in `over`: while 0, a direct miss is the answer.
    n_over: u32,
    /// The value a direct entry takes when it is freed: `NIL` while `n_over` is 0, else
    /// [`MOVED`]. Kept beside `n_over` (set by [`IdMap::set_n_over`]) so that freeing an entry,
    /// once per filled maker, is a load and a store: deriving it from `n_over` there took three
    /// instructions more (session 10: 26,000 over the QuantCup feed).
    freed: u32,
}

impl IdMap {
    /// Touch every page of the preallocated memory (start-up only).
    pub(crate) fn prefault(&mut self) {
        ferrex_types::prefault(&mut self.direct);
        self.over.prefault();
    }

    /// Room for `max_live` ids: `max_live` rounded up to a power of two (at least 16) direct
    /// entries, and an overflow tier that holds all `max_live` if it must.
    pub fn new(max_live: u32) -> IdMap {
        let len = (max_live as usize).next_power_of_two().max(16);
        IdMap {
            direct: vec![NIL; len],
            mask: len as u64 - 1,
            over: HashIds::new(max_live),
            n_over: 0,
            freed: NIL,
        }
    }

    /// The direct index of `id` (`< direct.len()`).
    #[inline(always)]
    fn home(&self, id: u64) -> usize {
        (id & self.mask) as usize
    }

    /// Direct entry `d`, which must come from [`IdMap::home`] or be checked `< len`.
    #[inline(always)]
    fn direct_at(&self, d: usize) -> u32 {
        debug_assert!(d < self.direct.len());
        // SAFETY: `home` masks with `len - 1` (len a power of two, fixed after `new`), and
        // `slot_at` tests `< len` before calling.
        unsafe { *self.direct.get_unchecked(d) }
    }

    /// True when `id` is certainly absent and its position is its direct entry
    /// ([`IdMap::direct_pos`]): the entry is `NIL` (free, and no overflow id's home). The
    /// common outcome of a probe for a new id (and for a cancel of an unknown one), answered as
    /// a plain branch: callers test it before [`IdMap::find_free`] / [`IdMap::find`], whose
    /// `Result`/`Option` the compiler otherwise merges and tests again on this path. O(1).
    #[inline(always)]
    pub fn surely_free(&self, id: u64) -> bool {
        self.direct_at(self.home(id)) == NIL
    }

    /// The direct position of `id` (where [`IdMap::insert_at`] puts it when
    /// [`IdMap::surely_free`] said so).
    #[inline(always)]
    pub fn direct_pos(&self, id: u64) -> usize {
        self.home(id)
    }

    /// Slot of `id`, if live. O(1) expected.
    #[inline]
    pub fn get(&self, id: u64, nodes: &[Node]) -> Option<u32> {
        self.find(id, nodes).map(|i| self.slot_at(i))
    }

    /// One lookup for a new id: `Err(slot)` when `id` is live, else `Ok(position)` where
    /// [`IdMap::insert_at`] may put it as long as the map is not changed in between.
    #[inline(always)]
    pub fn find_free(&self, id: u64, nodes: &[Node]) -> Result<usize, u32> {
        self.probe(id, nodes).map_err(|i| self.slot_at(i))
    }

    /// Position holding `id` if live (for [`IdMap::slot_at`] and [`IdMap::remove_at`]: a
    /// cancel finds the order and later removes it without a second lookup). O(1) expected.
    #[inline(always)]
    pub fn find(&self, id: u64, nodes: &[Node]) -> Option<usize> {
        self.probe(id, nodes).err()
    }

    /// `Err(position holding id)` if live, else `Ok(position to insert it at)`. The direct
    /// entry decides alone when it holds `id`, or when it is free and the overflow is empty.
    #[inline(always)]
    fn probe(&self, id: u64, nodes: &[Node]) -> Result<usize, usize> {
        let d = self.home(id);
        let s = self.direct_at(d);
        if s == NIL {
            return Ok(d);
        }
        if nodes.get(s as usize).is_some_and(|n| n.id == id) {
            return Err(d);
        }
        self.probe_over(id, d, s == MOVED, nodes)
    }

    /// [`IdMap::probe`] past the direct entry: `id` is live in the overflow, or absent; an
    /// absent id goes to its direct entry when that is free, else to the overflow.
    #[inline(never)]
    fn probe_over(
        &self,
        id: u64,
        d: usize,
        direct_free: bool,
        nodes: &[Node],
    ) -> Result<usize, usize> {
        let base = self.direct.len();
        match self.over.probe(id, nodes) {
            Err(j) => Err(base + j),
            Ok(_) if direct_free => Ok(d),
            Ok(j) => Ok(base + j),
        }
    }

    /// The slot at position `i` (from [`IdMap::find`]).
    #[inline(always)]
    pub fn slot_at(&self, i: usize) -> u32 {
        if i < self.direct.len() {
            self.direct_at(i)
        } else {
            self.over.slot_at(i - self.direct.len())
        }
    }

    /// Inserts `id → slot` at position `i` from [`IdMap::find_free`] (map unchanged since).
    #[inline(always)]
    pub fn insert_at(&mut self, i: usize, slot: u32) {
        if let Some(e) = self.direct.get_mut(i) {
            *e = slot;
        } else {
            self.over.insert_at(i - self.direct.len(), slot);
            self.set_n_over(self.n_over + 1);
        }
    }

    /// The value a direct entry takes when it is freed: `NIL`, or [`MOVED`] while the
    /// overflow holds ids (one of them may have this home).
    #[inline(always)]
    fn freed(&self) -> u32 {
        debug_assert_eq!(self.freed, NIL - u32::from(self.n_over != 0));
        self.freed
    }

    /// Sets the overflow's live count and the freed-entry value that goes with it.
    #[inline(always)]
    fn set_n_over(&mut self, n: u32) {
        self.n_over = n;
        self.freed = NIL - u32::from(n != 0);
    }

    /// Inserts `id → slot`; `id` must be absent. O(1) expected.
    #[inline]
    pub fn insert(&mut self, id: u64, slot: u32) {
        let d = self.home(id);
        // NIL or MOVED: free.
        if self.direct_at(d) >= MOVED {
            self.direct[d] = slot;
        } else {
            self.over.insert(id, slot);
            self.set_n_over(self.n_over + 1);
        }
    }

    /// Removes the entry of `id` that maps to `slot` (if present). O(1) expected.
    #[inline(always)]
    pub fn remove(&mut self, id: u64, slot: u32, nodes: &[Node]) {
        let d = self.home(id);
        if self.direct_at(d) == slot {
            self.direct[d] = self.freed();
        } else if self.freed != NIL {
            self.remove_over(id, slot, nodes);
        }
    }

    #[inline(never)]
    fn remove_over(&mut self, id: u64, slot: u32, nodes: &[Node]) {
        if self.over.remove(id, slot, nodes) {
            self.set_n_over(self.n_over - 1);
        }
    }

    /// Empties position `i` (from [`IdMap::find`], map unchanged since).
    #[inline(always)]
    pub fn remove_at(&mut self, i: usize, nodes: &[Node]) {
        let freed = self.freed();
        if let Some(e) = self.direct.get_mut(i) {
            *e = freed;
        } else {
            self.remove_at_over(i - self.direct.len(), nodes);
        }
    }

    #[inline(never)]
    fn remove_at_over(&mut self, j: usize, nodes: &[Node]) {
        self.over.remove_at(j, nodes);
        self.set_n_over(self.n_over.saturating_sub(1));
    }

    /// Bytes preallocated.
    pub fn bytes(&self) -> usize {
        self.direct.capacity() * core::mem::size_of::<u32>() + self.over.bytes()
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
            m.remove(id, s as u32, &nodes);
        }
        for (s, &id) in ids.iter().enumerate() {
            let want = if s % 2 == 0 { None } else { Some(s as u32) };
            assert_eq!(m.get(id, &nodes), want, "id {id}");
        }
        assert_eq!(m.get(12345, &nodes), None);
    }

    /// Room for 13 ids (16 direct entries, 17 overflow buckets: not a power of two), filled to
    /// the limit and churned at random against a `HashMap` with ids that often share a direct
    /// entry: both tiers are used, overflow probe runs wrap past the last bucket and
    /// backward-shift deletion crosses the wrap.
    #[test]
    fn churn_at_full_load_matches_a_hashmap() {
        let n = 13u32;
        let mut m = IdMap::new(n);
        assert_eq!(m.over.b.len(), 17);
        assert_eq!(m.direct.len(), 16);
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
                    if x & 8 == 0 {
                        m.remove(id, s, &nodes);
                    } else {
                        // A cancel's way: find the position, then empty it.
                        let i = m.find(id, &nodes).expect("live id found");
                        assert_eq!(m.slot_at(i), s);
                        m.remove_at(i, &nodes);
                    }
                    want.remove(&id);
                    free.push(s);
                }
                Some(s) => {
                    assert_eq!(m.get(id, &nodes), Some(s));
                    assert_eq!(m.find_free(id, &nodes), Err(s));
                }
                None => {
                    assert_eq!(m.get(id, &nodes), None);
                    if let Some(s) = free.pop() {
                        nodes[s as usize].id = id;
                        match m.find_free(id, &nodes) {
                            Ok(i) => m.insert_at(i, s),
                            Err(_) => panic!("{id} reported live"),
                        }
                        want.insert(id, s);
                    }
                }
            }
            for (&k, &s) in &want {
                assert_eq!(m.get(k, &nodes), Some(s), "id {k}");
            }
            assert_eq!(
                m.n_over as usize,
                want.len() - m.direct.iter().filter(|&&e| e < MOVED).count()
            );
            // A live id's home entry is never `NIL` (its slot, another id's, or `MOVED`).
            for &k in want.keys() {
                assert_ne!(m.direct[m.home(k)], NIL, "id {k}");
            }
        }
    }
}
