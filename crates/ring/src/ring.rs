//! The storage both ends share: the slot array, the two indices on their own cache lines, the
//! two "peer gone" flags, and [`channel`], which builds it.
//!
//! Index scheme: `head` (next slot to read, written only by the consumer) and `tail` (next slot
//! to write, written only by the producer) are free-running `usize` counters that wrap on
//! overflow; the slot of index `i` is `i & mask`, the number of items is `tail - head`
//! (wrapping). Capacity is a power of two, so this is exact for any `usize` wrap.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use crossbeam_utils::CachePadded;

use crate::consumer::Consumer;
use crate::producer::Producer;
use crate::sync::{Arc, AtomicBool, AtomicUsize, Ordering, UnsafeCell};

/// One slot: initialised exactly when its index is in `head..tail`.
pub(crate) type Slot<T> = UnsafeCell<MaybeUninit<T>>;

/// Set once each, when a handle is dropped. They share a line that is otherwise never written,
/// so reading them costs an L1 hit on both cores.
#[derive(Debug, Default)]
pub(crate) struct Closed {
    pub(crate) producer_gone: AtomicBool,
    pub(crate) consumer_gone: AtomicBool,
}

/// Everything the producer and the consumer share, behind one `Arc`.
pub(crate) struct Shared<T> {
    /// Next index the consumer will read. Stored only by the consumer (Release), loaded by the
    /// producer (Acquire) when its cached copy says the ring is full.
    pub(crate) head: CachePadded<AtomicUsize>,
    /// Next index the producer will write. Stored only by the producer (Release), loaded by the
    /// consumer (Acquire) when its cached copy says the ring is empty.
    pub(crate) tail: CachePadded<AtomicUsize>,
    pub(crate) closed: CachePadded<Closed>,
    /// Owns the slots; the handles reach them through a cached [`Buf`] pointer.
    slots: Box<[Slot<T>]>,
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Relaxed: we are the last owner. The other handle's Arc drop (Release decrement) and
        // ours (Acquire fence before the last owner drops) ordered all its index stores and slot
        // writes before this point.
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed);
        let mask = self.slots.len() - 1;
        let mut i = head;
        while i != tail {
            self.slots[i & mask].with_mut(|p| {
                // SAFETY: indices in head..tail hold initialised values that nobody read out;
                // each is dropped once here and the memory is freed right after.
                unsafe { (*p).assume_init_drop() }
            });
            i = i.wrapping_add(1);
        }
    }
}

/// A handle's cached view of the slot array: base pointer and mask, so the hot path does not
/// chase `Arc -> Shared -> Box`.
///
/// Invariant: only stored inside a handle that also holds the `Arc<Shared<T>>` owning the array,
/// so the pointer is valid for `mask + 1` slots for the handle's whole life.
pub(crate) struct Buf<T> {
    ptr: NonNull<Slot<T>>,
    mask: usize,
}

impl<T> Clone for Buf<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Buf<T> {}

impl<T> Buf<T> {
    /// Number of slots (a power of two).
    #[inline(always)]
    pub(crate) fn capacity(self) -> usize {
        self.mask + 1
    }

    /// The slot that index `idx` (a free-running counter) maps to.
    #[inline(always)]
    pub(crate) fn slot<'a>(self, idx: usize) -> &'a Slot<T> {
        // SAFETY: `idx & mask <= mask < len`, and the array outlives the handle holding `self`
        // (type invariant), which bounds every use of the returned reference.
        unsafe { self.ptr.add(idx & self.mask).as_ref() }
    }

    /// Splits `n` slots starting at index `idx` into the run up to the end of the array and the
    /// run wrapping around to slot 0: `(first_slot, first_len, second_len)`.
    #[inline(always)]
    pub(crate) fn runs(self, idx: usize, n: usize) -> (usize, usize, usize) {
        let start = idx & self.mask;
        let first = n.min(self.capacity() - start);
        (start, first, n - first)
    }

    /// The slot at array position `pos` (already masked).
    ///
    /// # Safety
    /// `pos` must be `< capacity()`.
    #[inline(always)]
    pub(crate) unsafe fn slot_at<'a>(self, pos: usize) -> &'a Slot<T> {
        debug_assert!(pos <= self.mask);
        // SAFETY: caller guarantees `pos < len`; lifetime as in `slot`.
        unsafe { self.ptr.add(pos).as_ref() }
    }
}

/// Creates a bounded single-producer single-consumer ring holding at least `capacity` items.
///
/// `capacity` is rounded **up** to the next power of two (so `channel(1000)` holds 1024), which
/// makes slot lookup a mask instead of a division. Any `T` works, `Copy` or not, including
/// zero-sized types; items still inside when both handles are gone are dropped exactly once.
///
/// Cost: one allocation of `capacity * size_of::<T>()` bytes for the slots plus one for the
/// shared indices (three cache lines); nothing allocates afterwards.
///
/// # Panics
/// If `capacity` is 0, or if rounding it up overflows `usize`.
///
/// # Example
/// ```
/// # if ferrex_ring::LOOM_BUILD { return; }
/// let (mut tx, mut rx) = ferrex_ring::channel::<u64>(3);
/// assert_eq!(tx.capacity(), 4); // rounded up to a power of two
/// tx.try_push(7).unwrap();
/// assert_eq!(rx.try_pop(), Some(7));
/// assert_eq!(rx.try_pop(), None);
/// ```
pub fn channel<T>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    assert!(
        capacity > 0,
        "ferrex_ring::channel: capacity must be at least 1"
    );
    let capacity = capacity
        .checked_next_power_of_two()
        .expect("ferrex_ring::channel: capacity overflows usize when rounded to a power of two");
    let slots: Box<[Slot<T>]> = (0..capacity)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        closed: CachePadded::new(Closed::default()),
        slots,
    });
    // Derived from the whole slice (not slot 0) so it may reach every slot; the boxed slice's
    // heap block does not move when `Shared` moved into the Arc.
    let ptr = NonNull::from(&*shared.slots).cast::<Slot<T>>();
    let buf = Buf {
        ptr,
        mask: capacity - 1,
    };
    (
        Producer::new(Arc::clone(&shared), buf),
        Consumer::new(shared, buf),
    )
}
