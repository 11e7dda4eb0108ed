//! The reading end of the ring.

use std::fmt;

use crate::error::PopError;
use crate::ring::{Buf, Shared};
use crate::sync::{Arc, Ordering};

/// The reading end of a ring made by [`channel`](crate::channel). Exactly one exists per ring;
/// it is `Send` (when `T: Send`) so it can move to the thread that consumes.
///
/// The consumer keeps its own copy of `head` and a cached copy of the producer's `tail`: while
/// the cache says there are items, a pop touches only the slot and the consumer's own `head`
/// line, never the producer's line.
pub struct Consumer<T> {
    /// Our `head`: the only writer of `shared.head`, so this is always its true value.
    head: usize,
    /// Last `tail` we loaded; `tail` only grows, so the item count it implies is a lower bound.
    cached_tail: usize,
    buf: Buf<T>,
    shared: Arc<Shared<T>>,
}

// SAFETY: the consumer moves values of `T` out of slots that the producer, possibly on another
// thread, wrote; sound iff `T: Send`. The raw slot pointer in `buf` is only dereferenced for
// slots in `head..tail`, which the producer does not touch until `head` moves past them.
unsafe impl<T: Send> Send for Consumer<T> {}

impl<T> Consumer<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>, buf: Buf<T>) -> Self {
        Self {
            head: 0,
            cached_tail: 0,
            buf,
            shared,
        }
    }

    /// Number of slots (a power of two). Free.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Items ready to pop. A lower bound: the producer may be pushing concurrently.
    /// Cost: one load of the producer's cache line (may miss).
    #[inline]
    pub fn len(&self) -> usize {
        // Relaxed: only a count; slot reads go through `available`, which acquires.
        self.shared
            .tail
            .load(Ordering::Relaxed)
            .wrapping_sub(self.head)
    }

    /// `true` if nothing is ready to pop right now (see [`len`](Self::len)). Same cost.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free slots as seen from this side: `capacity() - len()`, an upper bound.
    /// Cost: one load of the producer's cache line (may miss).
    #[inline]
    pub fn slots_free(&self) -> usize {
        self.capacity() - self.len()
    }

    /// `true` once the [`Producer`](crate::Producer) has been dropped. Items it pushed may still
    /// be waiting: after this returns `true`, a `try_pop` returning `None` means the ring is
    /// drained for good. [`try_pop_or_closed`](Self::try_pop_or_closed) does both in one call.
    /// Cost: one load of a line written once in the ring's life.
    #[inline]
    pub fn is_abandoned(&self) -> bool {
        // Acquire pairs with the Release store in `Producer::drop`: every `tail` the producer
        // stored is visible to our next load of `tail`.
        self.shared.closed.producer_gone.load(Ordering::Acquire)
    }

    /// Items ready, refreshing the cached `tail` only if the cache shows fewer than `want`.
    #[inline(always)]
    fn available(&mut self, want: usize) -> usize {
        let ready = self.cached_tail.wrapping_sub(self.head);
        if ready >= want {
            return ready;
        }
        // Acquire pairs with the producer's Release store of `tail`: its writes of the slots
        // below `tail` happen-before our reads of them.
        self.cached_tail = self.shared.tail.load(Ordering::Acquire);
        self.cached_tail.wrapping_sub(self.head)
    }

    /// Frees `n` slots just read for the producer, in one store.
    #[inline(always)]
    fn release(&mut self, n: usize) {
        self.head = self.head.wrapping_add(n);
        // Release pairs with the producer's Acquire load of `head`: our reads of the slots
        // happen-before it overwrites them.
        self.shared.head.store(self.head, Ordering::Release);
    }

    /// Pops the oldest item, or `None` if the ring is empty right now.
    ///
    /// Cost, common case: one read of the slot and one store of the consumer's own `head` line.
    /// Only when the cached `tail` says empty does it load the producer's line (a miss when the
    /// producer has pushed since). A busy-poll on an empty ring re-reads that line, which stays
    /// in our cache until the producer writes it.
    ///
    /// # Example
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// let (mut tx, mut rx) = ferrex_ring::channel(2);
    /// tx.try_push('x').unwrap();
    /// assert_eq!(rx.try_pop(), Some('x'));
    /// assert_eq!(rx.try_pop(), None);
    /// ```
    #[inline]
    pub fn try_pop(&mut self) -> Option<T> {
        if self.available(1) == 0 {
            return None;
        }
        let value = self.buf.slot(self.head).with(|p| {
            // SAFETY: `head < tail` (acquired): the slot holds an initialised value the producer
            // published and will not touch until we release it; we move it out exactly once.
            unsafe { p.read().assume_init() }
        });
        self.release(1);
        Some(value)
    }

    /// Pops the oldest item, telling "empty for now" ([`PopError::Empty`]) apart from "producer
    /// gone and everything it pushed already read" ([`PopError::Abandoned`]).
    ///
    /// Cost: as [`try_pop`](Self::try_pop), plus one load of the peer-gone flag when empty.
    ///
    /// # Example
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// use ferrex_ring::PopError;
    /// let (mut tx, mut rx) = ferrex_ring::channel(2);
    /// assert_eq!(rx.try_pop_or_closed(), Err(PopError::Empty));
    /// tx.try_push(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_pop_or_closed(), Ok(1));
    /// assert_eq!(rx.try_pop_or_closed(), Err(PopError::Abandoned));
    /// ```
    #[inline]
    pub fn try_pop_or_closed(&mut self) -> Result<T, PopError> {
        if let Some(v) = self.try_pop() {
            return Ok(v);
        }
        if !self.is_abandoned() {
            return Err(PopError::Empty);
        }
        // The flag was acquired, so this reload of `tail` sees the producer's final value.
        self.try_pop().ok_or(PopError::Abandoned)
    }

    /// Pops up to `max` items, oldest first, handing each to `f`, then frees all their slots
    /// with one store. Returns how many were popped.
    ///
    /// Cost: one slot read and one call of `f` per item, one `head` store, at most one load of
    /// the producer's line. The producer does not get the slots back until the batch ends, so
    /// keep `f` short. If `f` panics, the items already handed out are released (never dropped
    /// twice) and the rest stay in the ring.
    ///
    /// # Example
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// let (mut tx, mut rx) = ferrex_ring::channel::<Box<u32>>(8);
    /// tx.push_iter((0..5).map(Box::new));
    /// let mut sum = 0;
    /// assert_eq!(rx.read_batch(3, |b| sum += *b), 3);
    /// assert_eq!(sum, 0 + 1 + 2);
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn read_batch<F: FnMut(T)>(&mut self, max: usize, mut f: F) -> usize {
        let n = self.available(max).min(max);
        if n == 0 {
            return 0;
        }
        let mut guard = Unreleased {
            consumer: self,
            read: 0,
        };
        while guard.read < n {
            let idx = guard.consumer.head.wrapping_add(guard.read);
            let value = guard.consumer.buf.slot(idx).with(|p| {
                // SAFETY: `idx < head + n <= tail` (acquired in `available`): published, not yet
                // released, moved out exactly once (`read` is bumped before `f` can panic).
                unsafe { p.read().assume_init() }
            });
            guard.read += 1;
            f(value);
        }
        n
    }

    /// Copies up to `dst.len()` items into the front of `dst`, then frees their slots with one
    /// store. Returns how many were copied.
    ///
    /// Cost: at most two `memcpy`-like runs (the ring may wrap), one `head` store, at most one
    /// load of the producer's line.
    ///
    /// # Example
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// let (mut tx, mut rx) = ferrex_ring::channel::<u64>(4);
    /// tx.push_slice(&[1, 2, 3]);
    /// let mut out = [0u64; 2];
    /// assert_eq!(rx.pop_into(&mut out), 2);
    /// assert_eq!(out, [1, 2]);
    /// ```
    pub fn pop_into(&mut self, dst: &mut [T]) -> usize
    where
        T: Copy,
    {
        if dst.is_empty() {
            return 0;
        }
        let n = self.available(dst.len()).min(dst.len());
        if n == 0 {
            return 0;
        }
        let (start, first, _) = self.buf.runs(self.head, n);
        let (a, b) = dst[..n].split_at_mut(first);
        for (k, d) in a.iter_mut().enumerate() {
            // SAFETY: `start + k < start + first <= capacity`.
            let slot = unsafe { self.buf.slot_at(start + k) };
            // SAFETY: published, unreleased slot (see `try_pop`); `T: Copy`, so copying out
            // leaves nothing to drop.
            *d = slot.with(|p| unsafe { (*p).assume_init() });
        }
        for (k, d) in b.iter_mut().enumerate() {
            // SAFETY: `k < second <= start`, within the array.
            let slot = unsafe { self.buf.slot_at(k) };
            // SAFETY: as above.
            *d = slot.with(|p| unsafe { (*p).assume_init() });
        }
        self.release(n);
        n
    }
}

/// Publishes the new `head` when `read_batch` ends, normally or by `f` panicking.
struct Unreleased<'a, T> {
    consumer: &'a mut Consumer<T>,
    read: usize,
}

impl<T> Drop for Unreleased<'_, T> {
    fn drop(&mut self) {
        if self.read > 0 {
            self.consumer.release(self.read);
        }
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        // Relaxed: the producer only reads this flag to stop pushing; it reads no data of ours
        // on the strength of it. Freeing the slots is ordered by the Arc.
        self.shared
            .closed
            .consumer_gone
            .store(true, Ordering::Relaxed);
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("abandoned", &self.is_abandoned())
            .finish()
    }
}
