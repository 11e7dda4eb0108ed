//! The order slab: every live order (resting, pending stop, or being processed as a taker) sits in
//! one preallocated `Vec<Node>` slot; free slots form a singly linked free list through `next`.
//! Nothing allocates after `Slab::new`.

use ferrex_types::{OrdType, Side, StpMode, TimeInForce};

/// "No slot" marker for every intrusive link.
pub(crate) const NIL: u32 = u32::MAX;

/// Node flag: the order is an iceberg (its `Ext::hidden`/`Ext::display` are meaningful).
pub(crate) const F_ICEBERG: u8 = 1;
/// Node flag: the order is GTD (its `Ext::expire` is meaningful, it has an expiry-heap entry).
pub(crate) const F_GTD: u8 = 2;

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

/// The hot part of an order: exactly one 64-byte cache line.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
pub(crate) struct Node {
    /// Order id.
    pub id: u64,
    /// Limit price (stop-limit: its limit; stop: 0).
    pub price: i64,
    /// Visible open lots (the displayed part).
    pub visible: u64,
    /// Entry number (priority for mass cancel, stops, expiry ties).
    pub entry: u64,
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
    /// Effective STP group (the account when the order's `stp_group` was 0).
    pub group: u32,
    /// Side.
    pub side: Side,
    /// Where the order is.
    pub state: State,
    /// Time in force.
    pub tif: TimeInForce,
    /// STP mode (used when the order is a taker: triggered stop or re-matched modify).
    pub stp: StpMode,
    /// Order type as entered (stops keep Stop/StopLimit after triggering).
    pub ord_type: OrdType,
    /// `F_ICEBERG | F_GTD`.
    pub flags: u8,
}

const _: () = assert!(core::mem::size_of::<Node>() == 64);

impl Node {
    const FREE: Node = Node {
        id: 0,
        price: 0,
        visible: 0,
        entry: 0,
        next: NIL,
        prev: NIL,
        acct_next: NIL,
        acct_prev: NIL,
        account: 0,
        group: 0,
        side: Side::Buy,
        state: State::Free,
        tif: TimeInForce::Gtc,
        stp: StpMode::CancelResting,
        ord_type: OrdType::Limit,
        flags: 0,
    };
}

/// The cold part of an order, read only for icebergs, stops and GTD orders.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ext {
    /// Hidden (not displayed) open lots of an iceberg.
    pub hidden: u64,
    /// Iceberg display quantity.
    pub display: u64,
    /// Stop trigger price.
    pub stop_price: i64,
}

/// Preallocated order storage with a free list.
pub(crate) struct Slab {
    /// Hot nodes, `capacity` of them.
    pub nodes: Vec<Node>,
    /// Cold per-slot data, parallel to `nodes`.
    pub ext: Vec<Ext>,
    free: u32,
    live: u32,
}

impl Slab {
    /// Touch every page of the preallocated memory (start-up only).
    pub(crate) fn prefault(&mut self) {
        ferrex_types::prefault(&mut self.nodes);
        ferrex_types::prefault(&mut self.ext);
    }

    /// Allocates `cap` slots (all free). The only allocation the slab ever makes.
    pub fn new(cap: u32) -> Slab {
        let mut nodes = vec![Node::FREE; cap as usize];
        for (i, n) in nodes.iter_mut().enumerate() {
            n.next = if i + 1 < cap as usize {
                i as u32 + 1
            } else {
                NIL
            };
        }
        Slab {
            nodes,
            ext: vec![Ext::default(); cap as usize],
            free: if cap > 0 { 0 } else { NIL },
            live: 0,
        }
    }

    /// Live (non-free) slots.
    #[inline]
    pub fn live(&self) -> u32 {
        self.live
    }

    /// Takes a free slot, or `None` when full. O(1).
    #[inline]
    pub fn alloc(&mut self) -> Option<u32> {
        let s = self.free;
        if s == NIL {
            return None;
        }
        self.free = self.nodes[s as usize].next;
        self.live += 1;
        Some(s)
    }

    /// Returns a slot to the free list. O(1).
    #[inline]
    pub fn release(&mut self, s: u32) {
        let n = &mut self.nodes[s as usize];
        n.state = State::Free;
        n.flags = 0;
        n.next = self.free;
        self.free = s;
        self.live -= 1;
    }

    /// Open lots (visible + hidden) of the order in slot `s`.
    #[inline]
    pub fn leaves(&self, s: u32) -> u64 {
        let n = &self.nodes[s as usize];
        if n.flags & F_ICEBERG != 0 {
            n.visible.wrapping_add(self.ext[s as usize].hidden)
        } else {
            n.visible
        }
    }

    /// Hidden lots of slot `s` (0 unless an iceberg).
    #[inline]
    pub fn hidden(&self, s: u32) -> u64 {
        if self.nodes[s as usize].flags & F_ICEBERG != 0 {
            self.ext[s as usize].hidden
        } else {
            0
        }
    }

    /// Bytes preallocated.
    pub fn bytes(&self) -> usize {
        self.nodes.capacity() * core::mem::size_of::<Node>()
            + self.ext.capacity() * core::mem::size_of::<Ext>()
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
            let n = &mut nodes[s as usize];
            n.prev = t;
            n.next = NIL;
        }
        if t == NIL {
            self.head = s;
        } else {
            nodes[t as usize].next = s;
        }
        self.tail = s;
    }

    /// Removes `s` (which must be in this queue).
    #[inline]
    pub fn unlink(&mut self, nodes: &mut [Node], s: u32) {
        let (p, nx) = {
            let n = &nodes[s as usize];
            (n.prev, n.next)
        };
        if p == NIL {
            self.head = nx;
        } else {
            nodes[p as usize].next = nx;
        }
        if nx == NIL {
            self.tail = p;
        } else {
            nodes[nx as usize].prev = p;
        }
    }
}
