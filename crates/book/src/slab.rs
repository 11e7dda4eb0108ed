//! The order slab: every live order (resting, pending stop, or being processed as a taker) sits in
//! one preallocated `Vec<Node>` slot; free slots form singly linked free lists through `next`.
//! Nothing allocates after `Slab::new`.
//!
//! Two regions: slots `0..base` are *plain* (a node only), slots `base..len` are *special*: each
//! also owns one [`Ext`] record (iceberg quantities, stop price, entry number, explicit STP
//! group). Orders that need an `Ext` (icebergs, stops, GTD orders, orders with an STP group
//! other than their account) take special slots only; plain orders take plain slots first and
//! special ones when the plain region is full. So the cold data costs `Ext` bytes per *special*
//! slot (`BookConfig::max_special_orders`), not per order.

use ferrex_types::{OrdType, Side, StpMode, TimeInForce};

/// "No slot" marker for every intrusive link.
pub(crate) const NIL: u32 = u32::MAX;

/// Node flag: the order is an iceberg (its `Ext::hidden`/`Ext::display` are meaningful).
pub(crate) const F_ICEBERG: u8 = 1;
/// Node flag: the order is GTD (it has an expiry-heap entry keyed by its `Ext::entry`).
pub(crate) const F_GTD: u8 = 2;
/// Node flag: the order's STP group is `Ext::group`, not its account.
pub(crate) const F_GROUP: u8 = 4;
/// The three flag bits of [`Node::flags`]; bits 3..6 hold the STP mode, bits 6..8 the order type.
pub(crate) const F_MASK: u8 = F_ICEBERG | F_GTD | F_GROUP;
const STP_SHIFT: u32 = 3;
const TYPE_SHIFT: u32 = 6;

/// Where a slot's order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum State {
    /// On the free list.
    Free = 0,
    /// In a price level's FIFO.
    Resting = 1,
    /// Parked in the pending-stop list.
    Stop = 2,
    /// Owned by the operation in progress (a triggered stop or a modify being re-matched): in no
    /// level and no stop list, but still in the id map and its account list.
    Taking = 3,
}

/// The STP mode of code `v` (its `repr(u8)` value).
pub(crate) const fn stp_of(v: u8) -> Option<StpMode> {
    Some(match v {
        0 => StpMode::CancelResting,
        1 => StpMode::CancelAggressor,
        2 => StpMode::CancelBoth,
        3 => StpMode::DecrementAndCancel,
        4 => StpMode::None,
        _ => return None,
    })
}

/// The order type of code `v` (its `repr(u8)` value).
pub(crate) const fn ord_type_of(v: u8) -> Option<OrdType> {
    Some(match v {
        0 => OrdType::Limit,
        1 => OrdType::Market,
        2 => OrdType::Stop,
        3 => OrdType::StopLimit,
        _ => return None,
    })
}

/// The hot part of an order: 48 bytes (three quarters of a cache line).
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct Node {
    /// Order id.
    pub id: u64,
    /// Limit price (stop-limit: its limit; stop: 0).
    pub price: i64,
    /// Visible open lots (the displayed part).
    pub visible: u64,
    /// Next in the level FIFO / stop list / free list.
    pub next: u32,
    /// Previous in the level FIFO / stop list.
    pub prev: u32,
    /// Next in the owner's account list (entry order), or `NIL`.
    pub acct_next: u32,
    /// Previous in the owner's account list, or `NIL`.
    pub acct_prev: u32,
    /// Owner.
    pub account: u32,
    /// Side.
    pub side: Side,
    /// Where the order is.
    pub state: State,
    /// Time in force.
    pub tif: TimeInForce,
    /// `F_ICEBERG | F_GTD | F_GROUP` in bits 0..3, the STP mode (used when the order is a taker:
    /// triggered stop or re-matched modify) in bits 3..6, the order type as entered (stops keep
    /// Stop/StopLimit after triggering) in bits 6..8. See [`Node::pack`].
    pub flags: u8,
}

const _: () = assert!(core::mem::size_of::<Node>() == 48);

impl Node {
    const FREE: Node = Node {
        id: 0,
        price: 0,
        visible: 0,
        next: NIL,
        prev: NIL,
        acct_next: NIL,
        acct_prev: NIL,
        account: 0,
        side: Side::Buy,
        state: State::Free,
        tif: TimeInForce::Gtc,
        flags: 0,
    };

    /// The `flags` byte of an order with flag bits `f`, STP mode `stp` and type `ty`.
    #[inline(always)]
    pub const fn pack(f: u8, stp: StpMode, ty: OrdType) -> u8 {
        (f & F_MASK) | ((stp as u8) << STP_SHIFT) | ((ty as u8) << TYPE_SHIFT)
    }

    /// STP mode.
    #[inline(always)]
    pub fn stp(&self) -> StpMode {
        stp_of((self.flags >> STP_SHIFT) & 7).unwrap_or(StpMode::CancelResting)
    }

    /// Order type as entered.
    #[inline(always)]
    pub fn ord_type(&self) -> OrdType {
        ord_type_of(self.flags >> TYPE_SHIFT).unwrap_or(OrdType::Limit)
    }

    /// True for Stop and StopLimit orders (pending or triggered).
    #[inline(always)]
    pub fn is_stop_type(&self) -> bool {
        self.flags >> TYPE_SHIFT >= OrdType::Stop as u8
    }

    /// True when the order needs a special slot's [`Ext`] (iceberg, GTD, explicit STP group,
    /// stop or stop-limit): the node form of the book's `needs_special`.
    #[inline(always)]
    pub fn needs_ext(&self) -> bool {
        self.flags & F_MASK != 0 || self.is_stop_type()
    }
}

/// The cold part of an order, kept for special slots only (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ext {
    /// Hidden (not displayed) open lots of an iceberg.
    pub hidden: u64,
    /// Iceberg display quantity.
    pub display: u64,
    /// Stop trigger price.
    pub stop_price: i64,
    /// Entry number (GTD expiry: tie break and liveness of the heap entry).
    pub entry: u64,
    /// Explicit STP group (meaningful with `F_GROUP`).
    pub group: u32,
}

/// Node `s` of `nodes` without a bounds check.
///
/// # Safety
/// `s < nodes.len()`. Every slot the book holds (free-list heads, level and stop-list links,
/// account-list links, id-map entries other than `NIL`/`MOVED`) was handed out by the slab,
/// whose node table has its capacity from `Slab::new` on and never changes length; snapshot
/// restore links only slots it allocated. So a slot read from any of those, once tested
/// against `NIL`, is in bounds.
#[inline(always)]
pub(crate) unsafe fn node_at(nodes: &[Node], s: u32) -> &Node {
    debug_assert!((s as usize) < nodes.len(), "slot {s} of {}", nodes.len());
    // SAFETY: the caller guarantees `s < nodes.len()`.
    unsafe { nodes.get_unchecked(s as usize) }
}

/// [`node_at`], writable.
///
/// # Safety
/// `s < nodes.len()` (see [`node_at`]).
#[inline(always)]
pub(crate) unsafe fn node_at_mut(nodes: &mut [Node], s: u32) -> &mut Node {
    debug_assert!((s as usize) < nodes.len(), "slot {s} of {}", nodes.len());
    // SAFETY: the caller guarantees `s < nodes.len()`.
    unsafe { nodes.get_unchecked_mut(s as usize) }
}

/// The cold record of special slot `s` in a slab's `ext` table whose first special slot is
/// `base` (for callers that hold a node borrowed mutably: it borrows the `ext` field only).
#[inline(always)]
pub(crate) fn ext_at(ext: &[Ext], base: u32, s: u32) -> &Ext {
    &ext[s.wrapping_sub(base) as usize]
}

/// Preallocated order storage with two free lists (plain, special).
pub(crate) struct Slab {
    /// Hot nodes, `capacity` of them.
    pub nodes: Vec<Node>,
    /// Cold data of the special slots: `ext[i]` belongs to slot `base + i` (see [`ext_at`]).
    pub ext: Vec<Ext>,
    /// First special slot.
    pub base: u32,
    /// Free-list heads: `[plain, special]`.
    free: [u32; 2],
    live: u32,
}

impl Slab {
    /// Touch every page of the preallocated memory (start-up only).
    pub(crate) fn prefault(&mut self) {
        ferrex_types::prefault(&mut self.nodes);
        ferrex_types::prefault(&mut self.ext);
    }

    /// Allocates `cap` slots (all free), the last `special` of them (at most `cap`) special.
    /// The only allocation the slab ever makes.
    pub fn new(cap: u32, special: u32) -> Slab {
        let special = special.min(cap);
        let base = cap - special;
        let mut nodes = vec![Node::FREE; cap as usize];
        for (i, n) in nodes.iter_mut().enumerate() {
            let i = i as u32;
            n.next = if i + 1 < cap && i + 1 != base {
                i + 1
            } else {
                NIL
            };
        }
        Slab {
            nodes,
            ext: vec![Ext::default(); special as usize],
            base,
            free: [
                if base > 0 { 0 } else { NIL },
                if special > 0 { base } else { NIL },
            ],
            live: 0,
        }
    }

    /// Live (non-free) slots.
    #[inline]
    pub fn live(&self) -> u32 {
        self.live
    }

    /// True when no special slot is free.
    #[inline]
    pub fn special_full(&self) -> bool {
        self.free[1] == NIL
    }

    /// Number of special slots.
    #[inline]
    pub fn special_capacity(&self) -> u32 {
        self.ext.len() as u32
    }

    /// True when slot `s` is special (has an [`Ext`]).
    #[inline(always)]
    pub fn is_special(&self, s: u32) -> bool {
        s >= self.base
    }

    #[inline(always)]
    fn take(&mut self, k: usize) -> Option<u32> {
        let s = self.free[k];
        if s == NIL {
            return None;
        }
        // SAFETY: `s` is a free-list head, not NIL: a slot of this slab (< nodes.len()).
        self.free[k] = unsafe { node_at(&self.nodes, s) }.next;
        self.live += 1;
        Some(s)
    }

    /// Takes a free slot for a plain order (a plain slot, else a special one), or `None` when
    /// full. O(1).
    #[inline]
    pub fn alloc(&mut self) -> Option<u32> {
        self.take(usize::from(self.free[0] == NIL))
    }

    /// Takes a free special slot, or `None` when none is left. O(1).
    #[inline]
    pub fn alloc_special(&mut self) -> Option<u32> {
        self.take(1)
    }

    /// Returns a slot to its free list. O(1). A free node's fields other than `state` and `next`
    /// are meaningless (every allocation writes the whole node, and `Expiry::live` tests `state`
    /// before `flags`), so they are not cleared: clearing `flags` too was a store per freed
    /// order (QuantCup: 8,800 instructions over 35,759 messages).
    #[inline]
    pub fn release(&mut self, s: u32) {
        let k = usize::from(s >= self.base);
        let head = self.free[k];
        // SAFETY: `s` is a live slot (the caller frees what the slab handed out).
        let n = unsafe { node_at_mut(&mut self.nodes, s) };
        n.state = State::Free;
        n.next = head;
        self.free[k] = s;
        self.live -= 1;
    }

    /// The cold data of special slot `s`.
    #[inline(always)]
    pub fn ext(&self, s: u32) -> &Ext {
        ext_at(&self.ext, self.base, s)
    }

    /// The cold data of special slot `s`, writable.
    #[inline(always)]
    pub fn ext_mut(&mut self, s: u32) -> &mut Ext {
        &mut self.ext[s.wrapping_sub(self.base) as usize]
    }

    /// Effective STP group of the order in slot `s` (its account unless it has an explicit one).
    #[inline(always)]
    pub fn group(&self, s: u32) -> u32 {
        let n = &self.nodes[s as usize];
        if n.flags & F_GROUP == 0 {
            n.account
        } else {
            self.ext(s).group
        }
    }

    /// Open lots (visible + hidden) of the order in slot `s`.
    #[inline]
    pub fn leaves(&self, s: u32) -> u64 {
        let n = &self.nodes[s as usize];
        if n.flags & F_ICEBERG != 0 {
            n.visible.wrapping_add(self.ext(s).hidden)
        } else {
            n.visible
        }
    }

    /// Hidden lots of slot `s` (0 unless an iceberg).
    #[inline]
    pub fn hidden(&self, s: u32) -> u64 {
        if self.nodes[s as usize].flags & F_ICEBERG != 0 {
            self.ext(s).hidden
        } else {
            0
        }
    }

    /// Stop price of slot `s` (0 unless a stop or stop-limit order).
    #[inline]
    pub fn stop_price(&self, s: u32) -> i64 {
        if self.nodes[s as usize].is_stop_type() {
            self.ext(s).stop_price
        } else {
            0
        }
    }

    /// Bytes preallocated: nodes, then cold data.
    pub fn bytes(&self) -> (usize, usize) {
        (
            self.nodes.capacity() * core::mem::size_of::<Node>(),
            self.ext.capacity() * core::mem::size_of::<Ext>(),
        )
    }
}

/// An intrusive doubly linked FIFO over `Node::next`/`Node::prev` (a level queue, the stop list,
/// the triggered batch). Every operation is O(1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Queue {
    /// First slot or `NIL`.
    pub head: u32,
    /// Last slot or `NIL`.
    pub tail: u32,
}

impl Queue {
    /// The empty queue.
    pub const EMPTY: Queue = Queue {
        head: NIL,
        tail: NIL,
    };

    /// Appends `s`.
    #[inline(always)]
    pub fn push_back(&mut self, nodes: &mut [Node], s: u32) {
        let t = self.tail;
        {
            // SAFETY: `s` is a live slot the caller appends (see [`node_at`]).
            let n = unsafe { node_at_mut(nodes, s) };
            n.prev = t;
            n.next = NIL;
        }
        if t == NIL {
            self.head = s;
        } else {
            // SAFETY: `t` is the queue's tail, not NIL: a slot.
            unsafe { node_at_mut(nodes, t) }.next = s;
        }
        self.tail = s;
    }

    /// Appends `s` without writing node `s`: links the old tail (or the head) to it and returns
    /// the old tail (`NIL` if the queue was empty), which the caller stores as `s`'s `prev`, with
    /// `next` = `NIL` (the add fast path writes its fresh node once, links included).
    #[inline(always)]
    pub fn link_back(&mut self, nodes: &mut [Node], s: u32) -> u32 {
        let t = self.tail;
        if t == NIL {
            self.head = s;
        } else {
            // SAFETY: `t` is the queue's tail, not NIL: a slot.
            unsafe { node_at_mut(nodes, t) }.next = s;
        }
        self.tail = s;
        t
    }

    /// Removes `s` (which must be in this queue).
    #[inline]
    pub fn unlink(&mut self, nodes: &mut [Node], s: u32) {
        let (p, nx) = {
            // SAFETY: `s` is in this queue: a slot.
            let n = unsafe { node_at(nodes, s) };
            (n.prev, n.next)
        };
        if p == NIL {
            self.head = nx;
        } else {
            // SAFETY: a queue link other than NIL is a slot.
            unsafe { node_at_mut(nodes, p) }.next = nx;
        }
        if nx == NIL {
            self.tail = p;
        } else {
            // SAFETY: a queue link other than NIL is a slot.
            unsafe { node_at_mut(nodes, nx) }.prev = p;
        }
    }
}
