//! `OrderId → slot`: fixed-capacity open addressing (linear probing, backward-shift deletion, no
//! tombstones). Each bucket is 8 bytes: a 32-bit hash tag and the slot; the key itself is read
//! from the slab node only when the tag matches. Capacity is a power of two ≥ 2 × max_orders, so
//! the load factor stays ≤ 1/2 and probes are short; nothing allocates after `new`.

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
}

/// Low id bits kept as-is in the bucket index, so 2^GROUP consecutive ids share one cache line of
/// buckets (sequential ids, the common case, then cost one line fill per 8 inserts instead of
/// one per insert); the rest of the index comes from a multiplicative mix of the higher id bits.
const GROUP: u32 = 3;

/// The bucket tag of `id`: bits 3.. are the high 32 bits of `(id >> 3) · φ` (a 64-bit odd
/// constant, so every id bit reaches them) shifted up by 3, bits 0..3 the low id bits. The home
/// bucket is the tag's low bits (`tag & (len − 1)`), which backward-shift deletion needs.
#[inline(always)]
fn tag_of(id: u64) -> u32 {
    let h = ((id >> GROUP).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32;
    (h << GROUP) | (id as u32 & ((1 << GROUP) - 1))
}

impl IdMap {
    /// Touch every page of the preallocated memory (start-up only).
    pub(crate) fn prefault(&mut self) {
        ferrex_types::prefault(&mut self.b);
    }

    /// Room for `max_live` ids (capacity = next power of two ≥ 2 × max_live, at least 16).
    pub fn new(max_live: u32) -> IdMap {
        let cap = (2 * max_live as usize).next_power_of_two().max(16);
        IdMap {
            b: vec![EMPTY; cap],
        }
    }

    /// Slot of `id`, if live. O(1) expected.
    #[inline]
    pub fn get(&self, id: u64, nodes: &[Node]) -> Option<u32> {
        let tag = tag_of(id);
        // len is a power of two ≥ 16: masking with len − 1 keeps every index in bounds.
        let b = &self.b[..];
        let mask = b.len().wrapping_sub(1);
        let mut i = tag as usize & mask;
        loop {
            let e = b[i];
            if e.slot == NIL {
                return None;
            }
            if e.tag == tag && nodes[e.slot as usize].id == id {
                return Some(e.slot);
            }
            i = (i + 1) & mask;
        }
    }

    /// One probe for a new id: `Err(slot)` when `id` is live, else `Ok(bucket)` = the first empty
    /// bucket of its probe run, where [`IdMap::insert_at`] may put it as long as the map is not
    /// changed in between. O(1) expected.
    #[inline(always)]
    pub fn find_free(&self, id: u64, nodes: &[Node]) -> Result<usize, u32> {
        let tag = tag_of(id);
        // len is a power of two ≥ 16: masking with len − 1 keeps every index in bounds.
        let b = &self.b[..];
        let mask = b.len().wrapping_sub(1);
        let mut i = tag as usize & mask;
        loop {
            let e = b[i];
            if e.slot == NIL {
                return Ok(i);
            }
            if e.tag == tag && nodes[e.slot as usize].id == id {
                return Err(e.slot);
            }
            i = (i + 1) & mask;
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
        // len is a power of two ≥ 16: masking with len − 1 keeps every index in bounds.
        let b = &mut self.b[..];
        let mask = b.len().wrapping_sub(1);
        let mut i = tag as usize & mask;
        while b[i].slot != NIL {
            i = (i + 1) & mask;
        }
        b[i] = Bucket { tag, slot };
    }

    /// Removes the entry of `id` that maps to `slot` (if present). O(1) expected.
    #[inline]
    pub fn remove(&mut self, id: u64, slot: u32) {
        let tag = tag_of(id);
        // len is a power of two ≥ 16: masking with len − 1 keeps every index in bounds.
        let b = &mut self.b[..];
        let mask = b.len().wrapping_sub(1);
        let mut i = tag as usize & mask;
        loop {
            let e = b[i];
            if e.slot == NIL {
                return;
            }
            if e.slot == slot {
                break;
            }
            i = (i + 1) & mask;
        }
        // Backward shift: pull later members of the probe run into the hole when their home
        // allows it.
        let mut hole = i;
        let mut j = (i + 1) & mask;
        loop {
            let e = b[j];
            if e.slot == NIL {
                break;
            }
            let h = e.tag as usize & mask;
            if (j.wrapping_sub(h) & mask) >= (j.wrapping_sub(hole) & mask) {
                b[hole] = e;
                hole = j;
            }
            j = (j + 1) & mask;
        }
        b[hole] = EMPTY;
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
        let mut nodes = vec![crate::slab::Slab::new(n).nodes[0]; n as usize];
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
}
