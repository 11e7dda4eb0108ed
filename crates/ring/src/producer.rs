//! The writing end of the ring.

use std::fmt;
use std::mem::{self, MaybeUninit};

use crate::error::PushError;
use crate::ring::{Buf, Shared};
use crate::sync::{Arc, Ordering};

/// The writing end of a ring made by [`channel`](crate::channel). Exactly one exists per ring;
/// it is `Send` (when `T: Send`) so it can move to the thread that produces.
///
/// The producer keeps its own copy of `tail` and a cached copy of the consumer's `head`: while
/// the cache says there is room, a push touches only the slot and the producer's own `tail`
/// line, never the consumer's line.
pub struct Producer<T> {
    /// Our `tail`: the only writer of `shared.tail`, so this is always its true value.
    tail: usize,
    /// Last `head` we loaded; `head` only grows, so the free space it implies is a lower bound.
    cached_head: usize,
    buf: Buf<T>,
    shared: Arc<Shared<T>>,
}

// SAFETY: the producer moves values of `T` into slots that the consumer, possibly on another
// thread, moves out; that is a transfer of `T` across threads, sound iff `T: Send`. The raw slot
// pointer in `buf` is only ever dereferenced by this handle for slots it owns (outside
// `head..tail`), which the acquire/release protocol keeps disjoint from the consumer's.
unsafe impl<T: Send> Send for Producer<T> {}

impl<T> Producer<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>, buf: Buf<T>) -> Self {
        Self {
            tail: 0,
            cached_head: 0,
            buf,
            shared,
        }
    }

    /// Number of slots: the `capacity` given to [`channel`](crate::channel) rounded up to a
    /// power of two. Free (no shared memory touched).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Items currently in the ring. An upper bound: the consumer may be popping concurrently.
    /// Cost: one load of the consumer's cache line (may miss).
    #[inline]
    pub fn len(&self) -> usize {
        // Relaxed: only a count; no slot access depends on it.
        self.tail
            .wrapping_sub(self.shared.head.load(Ordering::Relaxed))
    }

    /// `true` if the ring holds nothing right now (see [`len`](Self::len)). Same cost.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots free for pushing right now. A lower bound: the consumer may free more
    /// concurrently; a push of this many items will succeed (unless the consumer is dropped).
    /// Cost: one load of the consumer's cache line (may miss).
    #[inline]
    pub fn slots_free(&self) -> usize {
        self.capacity() - self.len()
    }

    /// `true` once the [`Consumer`](crate::Consumer) has been dropped: nothing pushed from now
    /// on will be read. Cost: one load of a line that is written once in the ring's life.
    #[inline]
    pub fn is_abandoned(&self) -> bool {
        // Relaxed: a flag; the producer reads nothing the consumer wrote on the strength of it.
        self.shared.closed.consumer_gone.load(Ordering::Relaxed)
    }

    /// Free slots, refreshing the cached `head` only if the cache shows fewer than `want`.
    #[inline(always)]
    fn free_for(&mut self, want: usize) -> usize {
        let cap = self.capacity();
        let free = cap - self.tail.wrapping_sub(self.cached_head);
        if free >= want {
            return free;
        }
        // Acquire pairs with the consumer's Release store of `head` (after it moved values out
        // of the slots below `head`): those reads happen-before our overwriting the slots.
        self.cached_head = self.shared.head.load(Ordering::Acquire);
        cap - self.tail.wrapping_sub(self.cached_head)
    }

    /// Makes `n` newly written slots visible to the consumer, in one store.
    #[inline(always)]
    fn publish(&mut self, n: usize) {
        self.tail = self.tail.wrapping_add(n);
        // Release pairs with the consumer's Acquire load of `tail`: our slot writes
        // happen-before its reads of them.
        self.shared.tail.store(self.tail, Ordering::Release);
    }

    /// Pushes one value, or hands it back in [`PushError::Full`] (ring full: back-pressure,
    /// the caller decides) or [`PushError::Abandoned`] (consumer dropped).
    ///
    /// Cost, common case: one write of the slot, one store of the producer's own `tail` line,
    /// one L1-hit load of the peer-gone flag. Only when the cached `head` says the ring is full
    /// does it load the consumer's line (a cache miss when the consumer has moved on).
    ///
    /// # Example
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// use ferrex_ring::PushError;
    /// let (mut tx, rx) = ferrex_ring::channel::<String>(1);
    /// tx.try_push("a".to_owned()).unwrap();
    /// assert_eq!(tx.try_push("b".to_owned()), Err(PushError::Full("b".to_owned())));
    /// drop(rx);
    /// assert_eq!(tx.try_push("c".to_owned()), Err(PushError::Abandoned("c".to_owned())));
    /// ```
    #[inline]
    pub fn try_push(&mut self, value: T) -> Result<(), PushError<T>> {
        if self.is_abandoned() {
            return Err(PushError::Abandoned(value));
        }
        if self.free_for(1) == 0 {
            return Err(PushError::Full(value));
        }
        self.buf.slot(self.tail).with_mut(|p| {
            // SAFETY: `tail` is outside `head..tail`, so the consumer does not touch this slot
            // (and has finished reading its previous value, see `free_for`); it holds no live
            // value, so overwriting leaks nothing.
            unsafe { p.write(MaybeUninit::new(value)) }
        });
        self.publish(1);
        Ok(())
    }

    /// Moves items from `iter` into the ring until it is full or `iter` ends, then publishes
    /// them all with one store: the consumer sees none of them or all of them. Returns how many
    /// went in; items not taken stay in the iterator (only as many as fit are pulled from it).
    /// Returns 0, pulling nothing, when the consumer has been dropped (check
    /// [`is_abandoned`](Self::is_abandoned)).
    ///
    /// Cost: one slot write per item, one `tail` store, at most one load of the consumer's line.
    /// If `iter` panics, the items already written are dropped in place, never published.
    ///
    /// # Example
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// let (mut tx, mut rx) = ferrex_ring::channel::<u32>(4);
    /// let mut source = 0..10;
    /// assert_eq!(tx.push_iter(&mut source), 4);
    /// assert_eq!(source.next(), Some(4)); // the rest stayed in the iterator
    /// let mut seen = Vec::new();
    /// assert_eq!(rx.read_batch(usize::MAX, |v| seen.push(v)), 4);
    /// assert_eq!(seen, [0, 1, 2, 3]);
    /// ```
    pub fn push_iter<I: IntoIterator<Item = T>>(&mut self, iter: I) -> usize {
        if self.is_abandoned() {
            return 0;
        }
        let mut iter = iter.into_iter();
        let want = iter.size_hint().1.unwrap_or(usize::MAX).max(1);
        let free = self.free_for(want);
        let mut guard = Unpublished {
            buf: self.buf,
            start: self.tail,
            written: 0,
        };
        while guard.written < free {
            let Some(value) = iter.next() else { break };
            self.buf
                .slot(guard.start.wrapping_add(guard.written))
                .with_mut(|p| {
                    // SAFETY: index `tail + written < head + capacity` is free (see `try_push`).
                    unsafe { p.write(MaybeUninit::new(value)) }
                });
            guard.written += 1;
        }
        let n = guard.written;
        mem::forget(guard);
        if n > 0 {
            self.publish(n);
        }
        n
    }

    /// Copies as many items of `items` as fit (a prefix), then publishes them with one store;
    /// returns how many. Returns 0 when the consumer has been dropped.
    ///
    /// Cost: at most two `memcpy`-like runs (the ring may wrap), one `tail` store, at most one
    /// load of the consumer's line.
    ///
    /// # Example
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// let (mut tx, mut rx) = ferrex_ring::channel::<u8>(4);
    /// assert_eq!(tx.push_slice(b"hello"), 4);
    /// let mut out = [0u8; 8];
    /// assert_eq!(rx.pop_into(&mut out), 4);
    /// assert_eq!(&out[..4], b"hell");
    /// ```
    pub fn push_slice(&mut self, items: &[T]) -> usize
    where
        T: Copy,
    {
        if self.is_abandoned() || items.is_empty() {
            return 0;
        }
        let n = items.len().min(self.free_for(items.len()));
        let (start, first, _) = self.buf.runs(self.tail, n);
        let (a, b) = items[..n].split_at(first);
        for (k, v) in a.iter().enumerate() {
            // SAFETY: `start + k < start + first <= capacity`.
            let slot = unsafe { self.buf.slot_at(start + k) };
            // SAFETY: free slot, as in `try_push`; `T: Copy` has no drop to skip.
            slot.with_mut(|p| unsafe { p.write(MaybeUninit::new(*v)) });
        }
        for (k, v) in b.iter().enumerate() {
            // SAFETY: `k < second <= start`, all within the array.
            let slot = unsafe { self.buf.slot_at(k) };
            // SAFETY: free slot, as in `try_push`.
            slot.with_mut(|p| unsafe { p.write(MaybeUninit::new(*v)) });
        }
        if n > 0 {
            self.publish(n);
        }
        n
    }
}

/// Drops values written but not yet published if `push_iter`'s iterator panics.
struct Unpublished<T> {
    buf: Buf<T>,
    start: usize,
    written: usize,
}

impl<T> Drop for Unpublished<T> {
    fn drop(&mut self) {
        for k in 0..self.written {
            self.buf.slot(self.start.wrapping_add(k)).with_mut(|p| {
                // SAFETY: we initialised these slots and never published them: the consumer
                // cannot see them and the producer will overwrite them as free.
                unsafe { (*p).assume_init_drop() }
            });
        }
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        // Release pairs with the consumer's Acquire load of the flag (`is_abandoned`,
        // `try_pop_or_closed`): every `tail` store we made happens-before it sees the flag, so
        // it can tell "gone and drained" from "gone with items still in flight".
        self.shared
            .closed
            .producer_gone
            .store(true, Ordering::Release);
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("abandoned", &self.is_abandoned())
            .finish()
    }
}
