//! A price level: FIFO of resting orders plus the visible total and the order count.

use crate::slab::{Node, Queue};

/// One price level. 24 bytes; `count == 0` means the level is empty (not in the ladder).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Level {
    /// Orders in time priority.
    pub q: Queue,
    /// Orders at the level.
    pub count: u32,
    /// Visible lots at the level (wrapping arithmetic: exact unless the true total exceeds u64).
    pub qty: u64,
}

impl Level {
    /// An empty level.
    pub const EMPTY: Level = Level {
        q: Queue::EMPTY,
        count: 0,
        qty: 0,
    };

    /// Appends slot `s` with `visible` lots at the back. O(1).
    #[inline]
    pub fn push(&mut self, nodes: &mut [Node], s: u32, visible: u64) {
        self.q.push_back(nodes, s);
        self.count += 1;
        self.qty = self.qty.wrapping_add(visible);
    }

    /// [`Level::push`] without writing node `s`: returns its `prev` (see [`Queue::link_back`]).
    /// O(1).
    #[inline(always)]
    pub fn link_back(&mut self, nodes: &mut [Node], s: u32, visible: u64) -> u32 {
        let t = self.q.link_back(nodes, s);
        self.count += 1;
        self.qty = self.qty.wrapping_add(visible);
        t
    }

    /// Removes slot `s` holding `visible` lots. O(1).
    #[inline]
    pub fn remove(&mut self, nodes: &mut [Node], s: u32, visible: u64) {
        self.q.unlink(nodes, s);
        self.count -= 1;
        self.qty = self.qty.wrapping_sub(visible);
    }
}
