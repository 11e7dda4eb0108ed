//! A slot-sequenced SPSC ring: each slot carries a *stamp* next to its payload, so one cache-line
//! transfer tells the consumer both "an item is here" and hands it the item.
//!
//! The index ring ([`crate::channel`]) makes the consumer load the producer's `tail` line, then
//! the slot line: two dependent cross-core transfers per hop. Here the consumer never reads a
//! producer index on the hot path; it polls the stamp of the slot it will read next.
//!
//! # Protocol
//! - Indices are free-running `usize` counters (wrapping); index `i` lives in slot `i & mask`.
//! - **Producer**, index `t`: may write slot `t & mask` once the consumer has finished with
//!   index `t - capacity`, which it learns from its cached copy of the consumer's `head` (an index
//!   on the consumer's own cache line), reloaded only when the cache says the ring is full, i.e.
//!   about once per lap. It writes the payload, then stores `stamp = t + 1` (Release).
//! - **Consumer**, index `h`: the item is there iff `stamp == h + 1` (Acquire). A stamp left from
//!   an earlier lap is `h + 1 - k * capacity`, never equal (capacity is a power of two ≥ 1 and
//!   the counters are exact modulo `2^64`), and the initial stamp 0 only equals `h + 1` at
//!   `h = usize::MAX`, by which time the slot has been stamped before. After moving the value out
//!   it stores `head = h + 1` (Release) on its own line: while the producer is not lapping, that
//!   line stays in the consumer's cache and the store costs an L1 hit.
//! - The consumer never writes a slot, so slot lines travel producer → consumer only (the
//!   producer's write takes the line back with one invalidation when it reuses the slot).
//! - The producer also stores its `tail` (Relaxed) on its own line, read only by the consumer's
//!   [`Consumer::len`]; it is never on the consumer's hot path.
//!
//! # Slot layout
//! A slot is `#[repr(C, align(64))] { value: MaybeUninit<T>, stamp: AtomicUsize }`: the stamp is
//! the word right after the payload, so it sits in the slot's **last** payload line. For `T` up
//! to 56 bytes the slot is one line (a `u64` ring: value at 0, stamp at 8) and a hop moves exactly
//! that line. For the 88-byte `Event` it is two lines (`88 + 8 = 96`, padded to 128): line 0
//! holds payload bytes 0..64, line 1 bytes 64..88 and the stamp at offset 88.
//!
//! Why last, not first: the producer writes the payload front to back and then the stamp, so
//! the stores to the stamp's line are back to back and the line is taken from the consumer once.
//! With the stamp in line 0, the producer would store to line 0, then line 1, then line 0 again,
//! and a consumer polling line 0 in between pulls it back, costing one more transfer. The
//! consumer polls the stamp's line, and right before each stamp load it issues a prefetch of the
//! slot's other line(s) (`prefetch_rest`, x86-64 only), so when the stamp arrives the rest of
//! the payload is already in flight rather than fetched after it. Slots bigger than one line
//! are allocated 128-byte aligned so a slot's two lines form one aligned pair (what the
//! adjacent-line prefetchers fetch together). One line per small slot also means the producer
//! writing slot `i + 1` never invalidates the line the consumer reads for slot `i` (no false
//! sharing between neighbours), at the price of memory: a `u64` ring uses 64 bytes per slot,
//! which costs bandwidth in large batches.
//!
//! # Batches
//! [`Producer::push_slice`] / [`Producer::push_iter`] write the whole run first, then stamp it
//! **last slot first**: the consumer, polling the run's first slot, sees the whole run at once
//! (never out of order, never a gap). Stamping each slot as it is written made the consumer
//! chase the producer slot by slot: each time it caught up it pulled the next slot's lines into
//! its cache while the producer was still writing them, and every such line crossed the cores
//! twice more. [`Consumer::read_batch`] and [`Consumer::pop_into`] read stamps slot by slot and
//! free the whole batch with one `head` store.
//!
//! Batched throughput (`seq_rtt thr`: 20 M items one way in batches of 64, pinned, same run):
//! stamping as written gave 34-35 M/s for 88-byte items (0.22x the index ring's 152-161 M/s)
//! and 97 M/s for `u64` (0.08x of ~1,230 M/s); stamping last-first gives 102-104 M/s (0.65x)
//! and 210-223 M/s (0.18x). What remains is the slot size: 128 bytes per 88-byte item (1.45x
//! the index ring's bytes) and 64 bytes per `u64` (8x) — the price of one line transfer per
//! small item on the latency path, where single-item round trips are unchanged.
//!
//! ```
//! # if ferrex_ring::LOOM_BUILD { return; }
//! let (mut tx, mut rx) = ferrex_ring::seq::channel::<u64>(8);
//! tx.try_push(1).unwrap();
//! assert_eq!(tx.push_slice(&[2, 3]), 2);
//! let mut out = [0u64; 4];
//! assert_eq!(rx.pop_into(&mut out), 3);
//! assert_eq!(out[..3], [1, 2, 3]);
//! assert_eq!(rx.try_pop(), None);
//! ```

use std::alloc::{self, Layout};
use std::fmt;
use std::mem::{self, MaybeUninit};
use std::ptr::NonNull;

use crossbeam_utils::CachePadded;

use crate::error::{PopError, PushError};
use crate::ring::Closed;
use crate::sync::{Arc, AtomicUsize, Ordering, UnsafeCell};

/// One slot: the payload, then the stamp in the word right after it (see "Slot layout").
///
/// The value is initialised exactly when `stamp == i + 1` for the index `i` the consumer will
/// read from this slot next (between the producer's stamp store and the consumer's read).
#[repr(C, align(64))]
struct Slot<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    stamp: AtomicUsize,
}

/// Alignment of the slot array: 128 when a slot spans more than one line (so its lines form an
/// aligned pair), else the slot's own alignment.
const fn array_align<T>() -> usize {
    let a = mem::align_of::<Slot<T>>();
    if mem::size_of::<Slot<T>>() > 64 && a < 128 {
        128
    } else {
        a
    }
}

/// For slots spanning several cache lines, hints the CPU to fetch the lines other than the
/// stamp's. Called right before the stamp load, so when the producer has just written the slot the
/// consumer's misses on the stamp line and on the payload's other line(s) are in flight
/// together instead of one after the other. A no-op for one-line slots, off x86-64 and under
/// loom.
#[inline(always)]
fn prefetch_rest<T>(slot: &Slot<T>) {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    if mem::size_of::<Slot<T>>() > 64 {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let base = std::ptr::from_ref(slot).cast::<i8>();
        let stamp_line = mem::offset_of!(Slot<T>, stamp) / 64;
        for line in (0..mem::size_of::<Slot<T>>() / 64).filter(|&l| l != stamp_line) {
            // SAFETY: a prefetch is only a hint: it cannot fault and has no effect on the
            // program's memory semantics (no read, no data race); the address lies inside the
            // slot anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(line * 64)) };
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    let _ = slot;
}

/// The shared state: indices on their own lines, the peer-gone flags, the slot array.
struct Shared<T> {
    /// Next index the consumer will read. Stored only by the consumer (Release, after it moved
    /// the values below it out), loaded by the producer (Acquire) when its cache says "full".
    head: CachePadded<AtomicUsize>,
    /// Next index the producer will write, stored (Relaxed) after each publish. Only a count for
    /// [`Consumer::len`]; no slot access depends on it.
    tail: CachePadded<AtomicUsize>,
    closed: CachePadded<Closed>,
    slots: NonNull<Slot<T>>,
    mask: usize,
}

impl<T> Shared<T> {
    fn layout(capacity: usize) -> Layout {
        Layout::array::<Slot<T>>(capacity)
            .and_then(|l| l.align_to(array_align::<T>()))
            .expect("ferrex_ring::seq::channel: slot array too large")
    }

    /// The slot of index `idx`.
    #[inline(always)]
    fn slot(&self, idx: usize) -> &Slot<T> {
        // SAFETY: `idx & mask < capacity`; the array holds `capacity` initialised slots and lives
        // as long as `self`.
        unsafe { self.slots.add(idx & self.mask).as_ref() }
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Relaxed: we are the last owner; the other handle's Arc drop (Release) and ours
        // (Acquire before the last owner drops) ordered all its stores before this point.
        let head = self.head.load(Ordering::Relaxed);
        let cap = self.mask + 1;
        // Items left inside are exactly the run from `head` whose stamps say "published".
        for k in 0..cap {
            let idx = head.wrapping_add(k);
            let slot = self.slot(idx);
            if slot.stamp.load(Ordering::Relaxed) != idx.wrapping_add(1) {
                break;
            }
            slot.value.with_mut(|p| {
                // SAFETY: stamped for `idx >= head`: published, never read out; dropped once.
                unsafe { (*p).assume_init_drop() }
            });
        }
        for i in 0..cap {
            // SAFETY: every slot was initialised in `channel` and is dropped once here (its
            // value, if any, was dropped above; `MaybeUninit` drops nothing itself).
            unsafe { self.slots.add(i).drop_in_place() };
        }
        // SAFETY: allocated in `channel` with this layout.
        unsafe { alloc::dealloc(self.slots.as_ptr().cast(), Self::layout(cap)) };
    }
}

/// Creates a slot-sequenced SPSC ring holding at least `capacity` items (rounded up to a power
/// of two), with the same API as [`crate::channel`]'s ring.
///
/// Cost: one allocation of `capacity * size_of::<Slot<T>>()` bytes (64 bytes per slot for `T` up
/// to 56 bytes, 128 for the 88-byte `Event`) plus one for the indices; nothing afterwards.
///
/// # Panics
/// If `capacity` is 0 or the array size overflows.
///
/// ```
/// # if ferrex_ring::LOOM_BUILD { return; }
/// let (mut tx, mut rx) = ferrex_ring::seq::channel::<u32>(3);
/// assert_eq!(tx.capacity(), 4);
/// tx.try_push(7).unwrap();
/// assert_eq!(rx.try_pop(), Some(7));
/// ```
pub fn channel<T>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    assert!(
        capacity > 0,
        "ferrex_ring::seq::channel: capacity must be at least 1"
    );
    let capacity = capacity
        .checked_next_power_of_two()
        .expect("ferrex_ring::seq::channel: capacity overflows usize");
    let layout = Shared::<T>::layout(capacity);
    // SAFETY: the layout is non-zero-sized (a slot holds at least its stamp).
    let raw = unsafe { alloc::alloc(layout) }.cast::<Slot<T>>();
    let Some(slots) = NonNull::new(raw) else {
        alloc::handle_alloc_error(layout)
    };
    for i in 0..capacity {
        // SAFETY: `i < capacity`, within the fresh allocation; each slot written once.
        unsafe {
            slots.add(i).write(Slot {
                value: UnsafeCell::new(MaybeUninit::uninit()),
                stamp: AtomicUsize::new(0),
            })
        };
    }
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        closed: CachePadded::new(Closed::default()),
        slots,
        mask: capacity - 1,
    });
    let producer = Producer {
        tail: 0,
        cached_head: 0,
        slots,
        mask: capacity - 1,
        shared: Arc::clone(&shared),
    };
    let consumer = Consumer {
        head: 0,
        slots,
        mask: capacity - 1,
        shared,
    };
    (producer, consumer)
}

/// The writing end of a [`channel`]. `Send` when `T: Send`.
pub struct Producer<T> {
    /// Next index to write; the true value (we are the only writer).
    tail: usize,
    /// Last `head` loaded; a lower bound of the consumer's progress.
    cached_head: usize,
    /// Copy of `shared.slots`, so the hot path does not chase the `Arc`.
    slots: NonNull<Slot<T>>,
    mask: usize,
    shared: Arc<Shared<T>>,
}

// SAFETY: moving `T`s to the consumer's thread needs `T: Send`; `slots` points into the array
// the `Arc` keeps alive, and the producer only writes slots the consumer has released.
unsafe impl<T: Send> Send for Producer<T> {}

impl<T> Producer<T> {
    #[inline(always)]
    fn slot(&self, idx: usize) -> &Slot<T> {
        // SAFETY: masked index within the array, which `self.shared` keeps alive.
        unsafe { self.slots.add(idx & self.mask).as_ref() }
    }

    /// Number of slots (a power of two). Free.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Items in the ring, an upper bound (the consumer may be popping). Cost: one load of the
    /// consumer's `head` line (may miss).
    #[inline]
    pub fn len(&self) -> usize {
        // Relaxed: only a count.
        self.tail
            .wrapping_sub(self.shared.head.load(Ordering::Relaxed))
    }

    /// `true` if [`len`](Self::len) is 0. Same cost.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free slots, a lower bound: pushing this many succeeds unless the consumer is dropped.
    /// Cost: one load of the consumer's `head` line (may miss).
    #[inline]
    pub fn slots_free(&self) -> usize {
        self.capacity() - self.len()
    }

    /// `true` once the [`Consumer`] has been dropped. Cost: one load of a line written once.
    #[inline]
    pub fn is_abandoned(&self) -> bool {
        // Relaxed: a flag; we read nothing of the consumer's on the strength of it.
        self.shared.closed.consumer_gone.load(Ordering::Relaxed)
    }

    /// Free slots, reloading `head` only if the cache shows fewer than `want`.
    #[inline(always)]
    fn free_for(&mut self, want: usize) -> usize {
        let cap = self.capacity();
        let free = cap - self.tail.wrapping_sub(self.cached_head);
        if free >= want {
            return free;
        }
        // Acquire pairs with the consumer's Release store of `head`: its reads of the values
        // below `head` happen-before our overwriting those slots.
        self.cached_head = self.shared.head.load(Ordering::Acquire);
        cap - self.tail.wrapping_sub(self.cached_head)
    }

    /// Writes `value` at index `tail` and stamps it; the consumer can see it from here on.
    ///
    /// # Safety
    /// Index `tail` must be free: `tail - head < capacity` for an acquired `head`.
    #[inline(always)]
    unsafe fn write_and_stamp(&mut self, value: T) {
        let idx = self.tail;
        let slot = self.slot(idx);
        slot.value.with_mut(|p| {
            // SAFETY: the caller guarantees the consumer finished with index `idx - capacity`
            // (acquired `head`), so nobody reads this slot and it holds no live value.
            unsafe { p.write(MaybeUninit::new(value)) }
        });
        // Release pairs with the consumer's Acquire load of the stamp: the value write above
        // happens-before its read.
        slot.stamp.store(idx.wrapping_add(1), Ordering::Release);
        self.tail = idx.wrapping_add(1);
    }

    /// Writes `value` at index `idx` without stamping it: the consumer cannot see it yet.
    ///
    /// # Safety
    /// Index `idx` must be free (`idx - head < capacity` for an acquired `head`) and not
    /// stamped for this lap.
    #[inline(always)]
    unsafe fn write_unstamped(&self, idx: usize, value: T) {
        self.slot(idx).value.with_mut(|p| {
            // SAFETY: free slot (caller): the consumer finished with index `idx - capacity`
            // and cannot read this one before its stamp; it holds no live value.
            unsafe { p.write(MaybeUninit::new(value)) }
        });
    }

    /// Stamps the `n` slots written from index `tail` on, **last first**, and moves `tail`
    /// past them. The consumer polls the stamp of `tail` (the first of the run), which is
    /// stored last, so it sees the whole run at once: it never reads a slot line the producer
    /// is still about to write in this batch (which would bounce each line between the cores
    /// once more per item).
    #[inline(always)]
    fn stamp_run(&mut self, n: usize) {
        let start = self.tail;
        for k in (0..n).rev() {
            let idx = start.wrapping_add(k);
            // Release pairs with the consumer's Acquire stamp load: every value write of the
            // run (all program-ordered before the last store, the one of `start`) happens-before
            // the consumer's reads.
            self.slot(idx)
                .stamp
                .store(idx.wrapping_add(1), Ordering::Release);
        }
        self.tail = start.wrapping_add(n);
    }

    /// Publishes our `tail` for [`Consumer::len`]. Relaxed: a count only; the stamps carry the
    /// synchronisation. Cost: one store to our own line (L1 hit unless `len` was called).
    #[inline(always)]
    fn publish_tail(&self) {
        self.shared.tail.store(self.tail, Ordering::Relaxed);
    }

    /// Pushes one value, or hands it back in [`PushError::Full`] or [`PushError::Abandoned`].
    ///
    /// Cost, common case: the payload write and stamp store on the slot line (one transfer to
    /// the consumer), one store on our own `tail` line, one L1-hit flag load. About once per lap
    /// it loads the consumer's `head` line.
    ///
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// use ferrex_ring::PushError;
    /// let (mut tx, rx) = ferrex_ring::seq::channel::<u8>(1);
    /// tx.try_push(1).unwrap();
    /// assert_eq!(tx.try_push(2), Err(PushError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_push(3), Err(PushError::Abandoned(3)));
    /// ```
    #[inline]
    pub fn try_push(&mut self, value: T) -> Result<(), PushError<T>> {
        if self.is_abandoned() {
            return Err(PushError::Abandoned(value));
        }
        if self.free_for(1) == 0 {
            return Err(PushError::Full(value));
        }
        // SAFETY: `free_for(1) >= 1`: index `tail` is free.
        unsafe { self.write_and_stamp(value) };
        self.publish_tail();
        Ok(())
    }

    /// Moves items from `iter` into the ring until it is full or `iter` ends; returns how many.
    /// The items are stamped after they are all written, the first one last, so the consumer
    /// sees them all at once when the call returns (as [`crate::Producer::push_iter`]). Items
    /// not taken stay in the iterator. Returns 0 when the consumer has been dropped. If `iter`
    /// panics, the items already taken are stamped (pushed) before the panic goes on.
    ///
    /// Cost: one slot write + stamp per item, one `tail` store, at most one `head` load.
    ///
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// let (mut tx, mut rx) = ferrex_ring::seq::channel::<u32>(4);
    /// let mut src = 0..10;
    /// assert_eq!(tx.push_iter(&mut src), 4);
    /// assert_eq!(src.next(), Some(4));
    /// assert_eq!(rx.read_batch(usize::MAX, drop), 4);
    /// ```
    pub fn push_iter<I: IntoIterator<Item = T>>(&mut self, iter: I) -> usize {
        if self.is_abandoned() {
            return 0;
        }
        let mut iter = iter.into_iter();
        let want = iter.size_hint().1.unwrap_or(usize::MAX).max(1);
        let free = self.free_for(want);
        let mut guard = Unstamped {
            producer: self,
            written: 0,
        };
        while guard.written < free {
            let Some(value) = iter.next() else { break };
            let idx = guard.producer.tail.wrapping_add(guard.written);
            // SAFETY: `written < free`: index `tail + written` is free and not yet stamped.
            unsafe { guard.producer.write_unstamped(idx, value) };
            guard.written += 1;
        }
        // Dropping the guard stamps the run and publishes `tail`.
        guard.written
    }

    /// Copies the prefix of `items` that fits; returns how many. The run is stamped after it
    /// is written, first item last, so the consumer sees it all at once. Returns 0 when the
    /// consumer has been dropped.
    ///
    /// Cost: one slot write + stamp per item (one line each for `T` up to 56 bytes), one `tail`
    /// store, at most one `head` load.
    ///
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// let (mut tx, mut rx) = ferrex_ring::seq::channel::<u8>(4);
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
        for (k, &v) in items[..n].iter().enumerate() {
            // SAFETY: at most `free_for` items: each index `tail + k` is free, not stamped.
            unsafe { self.write_unstamped(self.tail.wrapping_add(k), v) };
        }
        if n > 0 {
            self.stamp_run(n);
            self.publish_tail();
        }
        n
    }
}

/// Stamps what `push_iter` wrote when it ends, normally or by the iterator panicking.
struct Unstamped<'a, T> {
    producer: &'a mut Producer<T>,
    written: usize,
}

impl<T> Drop for Unstamped<'_, T> {
    fn drop(&mut self) {
        if self.written > 0 {
            self.producer.stamp_run(self.written);
            self.producer.publish_tail();
        }
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        // Release pairs with the consumer's Acquire load of the flag: every stamp we stored
        // happens-before it sees the flag, so "gone and drained" is exact.
        self.shared
            .closed
            .producer_gone
            .store(true, Ordering::Release);
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("seq::Producer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("abandoned", &self.is_abandoned())
            .finish()
    }
}

/// The reading end of a [`channel`]. `Send` when `T: Send`.
pub struct Consumer<T> {
    /// Next index to read; the true value (we are the only writer of `shared.head`).
    head: usize,
    /// Copy of `shared.slots`.
    slots: NonNull<Slot<T>>,
    mask: usize,
    shared: Arc<Shared<T>>,
}

// SAFETY: moving `T`s out on another thread needs `T: Send`; `slots` stays valid while the `Arc`
// lives, and the consumer only reads slots whose stamp it acquired.
unsafe impl<T: Send> Send for Consumer<T> {}

impl<T> Consumer<T> {
    #[inline(always)]
    fn slot(&self, idx: usize) -> &Slot<T> {
        // SAFETY: masked index within the array, which `self.shared` keeps alive.
        unsafe { self.slots.add(idx & self.mask).as_ref() }
    }

    /// Number of slots (a power of two). Free.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Items ready, a lower bound (the producer publishes `tail` after stamping). Cost: one load
    /// of the producer's `tail` line (a miss when it has pushed since).
    #[inline]
    pub fn len(&self) -> usize {
        // Relaxed: only a count. `tail` may lag the stamps we already consumed: clamp.
        let d = self
            .shared
            .tail
            .load(Ordering::Relaxed)
            .wrapping_sub(self.head);
        if d > self.capacity() { 0 } else { d }
    }

    /// `true` if the next slot is not stamped yet. Cost: one load of the next slot's line.
    #[inline]
    pub fn is_empty(&self) -> bool {
        // Relaxed: a check only; reads of the value go through `ready`, which acquires.
        self.slot(self.head).stamp.load(Ordering::Relaxed) != self.head.wrapping_add(1)
    }

    /// `capacity() - len()`, an upper bound. Same cost as [`len`](Self::len).
    #[inline]
    pub fn slots_free(&self) -> usize {
        self.capacity() - self.len()
    }

    /// `true` once the [`Producer`] has been dropped; a `try_pop` returning `None` after that
    /// means drained for good. Cost: one load of a line written once.
    #[inline]
    pub fn is_abandoned(&self) -> bool {
        // Acquire pairs with the Release store in `Producer::drop`: all its stamps are visible.
        self.shared.closed.producer_gone.load(Ordering::Acquire)
    }

    /// Whether index `idx` is stamped (published).
    #[inline(always)]
    fn ready(&self, idx: usize) -> bool {
        prefetch_rest(self.slot(idx));
        // Acquire pairs with the producer's Release stamp store: its value write happens-before
        // our read of the value.
        self.slot(idx).stamp.load(Ordering::Acquire) == idx.wrapping_add(1)
    }

    /// Moves the value of stamped index `idx` out.
    ///
    /// # Safety
    /// `ready(idx)` returned `true`, `idx` is in `head..` not yet released, and it is read once.
    #[inline(always)]
    unsafe fn take(&self, idx: usize) -> T {
        self.slot(idx).value.with(|p| {
            // SAFETY: stamped and acquired (caller): initialised, and the producer will not
            // touch it until `head` passes `idx`; read exactly once (caller).
            unsafe { p.read().assume_init() }
        })
    }

    /// Frees everything below `head` for the producer.
    #[inline(always)]
    fn release(&self) {
        // Release pairs with the producer's Acquire load of `head`: our value reads
        // happen-before it overwrites the slots.
        self.shared.head.store(self.head, Ordering::Release);
    }

    /// Pops the oldest item, or `None` if none is stamped yet.
    ///
    /// Cost, common case: the stamp load and payload read on the slot's line(s) (the one
    /// cross-core transfer per item) and one store to our own `head` line (an L1 hit unless the
    /// producer lapped). A busy-poll on an empty ring re-reads the next slot's line, which stays
    /// in our cache until the producer writes it.
    ///
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// let (mut tx, mut rx) = ferrex_ring::seq::channel(2);
    /// tx.try_push('x').unwrap();
    /// assert_eq!(rx.try_pop(), Some('x'));
    /// assert_eq!(rx.try_pop(), None);
    /// ```
    #[inline]
    pub fn try_pop(&mut self) -> Option<T> {
        let idx = self.head;
        if !self.ready(idx) {
            return None;
        }
        // SAFETY: `ready(idx)`, `idx == head`, read once (head advances next).
        let v = unsafe { self.take(idx) };
        self.head = idx.wrapping_add(1);
        self.release();
        Some(v)
    }

    /// Pops the oldest item, telling [`PopError::Empty`] (for now) from [`PopError::Abandoned`]
    /// (producer gone and everything it pushed read).
    ///
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// use ferrex_ring::PopError;
    /// let (mut tx, mut rx) = ferrex_ring::seq::channel(2);
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
        // The flag was acquired: this reload sees the producer's last stamp.
        self.try_pop().ok_or(PopError::Abandoned)
    }

    /// Pops up to `max` items, oldest first, handing each to `f`; frees their slots with one
    /// `head` store at the end (none if it took nothing). Returns how many. Items stamped while the batch runs are taken
    /// too (up to `max`). If `f` panics, the items handed out are released, the rest stay.
    ///
    /// Cost: one stamp load and one slot read per item, one `head` store.
    ///
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// let (mut tx, mut rx) = ferrex_ring::seq::channel::<Box<u32>>(8);
    /// tx.push_iter((0..5).map(Box::new));
    /// let mut sum = 0;
    /// assert_eq!(rx.read_batch(3, |b| sum += *b), 3);
    /// assert_eq!(sum, 3);
    /// ```
    pub fn read_batch<F: FnMut(T)>(&mut self, max: usize, mut f: F) -> usize {
        let start = self.head;
        let guard = Unreleased {
            consumer: self,
            start,
        };
        let mut n = 0;
        while n < max {
            let idx = start.wrapping_add(n);
            if !guard.consumer.ready(idx) {
                break;
            }
            // SAFETY: stamped; `idx == head` of the guard's consumer, bumped before `f` runs,
            // so it is read once even if `f` panics.
            let v = unsafe { guard.consumer.take(idx) };
            guard.consumer.head = idx.wrapping_add(1);
            n += 1;
            f(v);
        }
        n
    }

    /// Copies up to `dst.len()` stamped items into the front of `dst`, then frees their slots
    /// with one `head` store. Returns how many.
    ///
    /// ```
    /// # if ferrex_ring::LOOM_BUILD { return; }
    /// let (mut tx, mut rx) = ferrex_ring::seq::channel::<u64>(4);
    /// tx.push_slice(&[1, 2, 3]);
    /// let mut out = [0u64; 2];
    /// assert_eq!(rx.pop_into(&mut out), 2);
    /// assert_eq!(out, [1, 2]);
    /// ```
    pub fn pop_into(&mut self, dst: &mut [T]) -> usize
    where
        T: Copy,
    {
        let start = self.head;
        let mut n = 0;
        for d in dst.iter_mut() {
            let idx = start.wrapping_add(n);
            if !self.ready(idx) {
                break;
            }
            // SAFETY: stamped, unreleased (head moves after the loop), each index read once.
            *d = unsafe { self.take(idx) };
            n += 1;
        }
        if n > 0 {
            self.head = start.wrapping_add(n);
            self.release();
        }
        n
    }
}

/// Stores `head` when `read_batch` ends, normally or by `f` panicking.
struct Unreleased<'a, T> {
    consumer: &'a mut Consumer<T>,
    /// `head` when the batch began: an empty poll stores nothing.
    start: usize,
}

impl<T> Drop for Unreleased<'_, T> {
    fn drop(&mut self) {
        if self.consumer.head != self.start {
            self.consumer.release();
        }
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        // Relaxed: the producer only stops pushing on it; freeing is ordered by the Arc.
        self.shared
            .closed
            .consumer_gone
            .store(true, Ordering::Relaxed);
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("seq::Consumer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("abandoned", &self.is_abandoned())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn layout_puts_stamp_after_payload_and_event_sized_slots_in_an_aligned_line_pair() {
        assert_eq!(mem::offset_of!(Slot<u64>, stamp), 8);
        assert_eq!(mem::offset_of!(Slot<[u64; 11]>, value), 0);
        assert_eq!(mem::offset_of!(Slot<[u64; 11]>, stamp), 88); // in line 1
        assert_eq!(mem::size_of::<Slot<u64>>(), 64);
        assert_eq!(mem::size_of::<Slot<[u8; 56]>>(), 64);
        assert_eq!(mem::size_of::<Slot<[u64; 11]>>(), 128); // 88 bytes, like `Event`
        assert_eq!(array_align::<u64>(), 64);
        assert_eq!(array_align::<[u64; 11]>(), 128);
        let (tx, _rx) = channel::<[u64; 11]>(4);
        assert_eq!(tx.slots.as_ptr() as usize % 128, 0);
    }
}
