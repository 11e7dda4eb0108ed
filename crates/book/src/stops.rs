//! Pending stop orders: one intrusive list in entry order (both sides), with conservative trigger
//! bounds (lowest buy stop price, highest sell stop price) so that the check after a trade is O(1)
//! when nothing can trigger. When a bound says something may trigger, the list is scanned once:
//! the triggered orders move, in entry order, into a batch queue, and the bounds are recomputed.

use crate::slab::{NIL, Node, Queue, Slab, State};
use ferrex_types::Side;

/// The pending-stop list.
pub(crate) struct Stops {
    /// Pending stops in entry order.
    pub list: Queue,
    /// Number pending.
    pub len: u32,
    min_buy: i64,
    max_sell: i64,
}

impl Stops {
    /// Empty.
    pub fn new() -> Stops {
        Stops {
            list: Queue::EMPTY,
            len: 0,
            min_buy: i64::MAX,
            max_sell: i64::MIN,
        }
    }

    /// Parks slot `s` (its `Ext::stop_price` set). O(1).
    #[inline]
    pub fn push(&mut self, nodes: &mut [Node], stop_price: i64, s: u32) {
        self.list.push_back(nodes, s);
        nodes[s as usize].state = State::Stop;
        self.len += 1;
        match nodes[s as usize].side {
            Side::Buy => self.min_buy = self.min_buy.min(stop_price),
            Side::Sell => self.max_sell = self.max_sell.max(stop_price),
        }
    }

    /// Removes slot `s` (cancel, mass cancel, expiry). O(1); bounds stay conservative.
    #[inline]
    pub fn unlink(&mut self, nodes: &mut [Node], s: u32) {
        self.list.unlink(nodes, s);
        self.len -= 1;
        if self.len == 0 {
            self.min_buy = i64::MAX;
            self.max_sell = i64::MIN;
        }
    }

    /// True when some stop may trigger at last trade price `l`. O(1).
    #[inline(always)]
    pub fn may_trigger(&self, l: i64) -> bool {
        l >= self.min_buy || l <= self.max_sell
    }

    /// Moves every stop that triggers at `l` into `batch` (entry order, state `Taking`), and
    /// recomputes the bounds. O(pending stops).
    pub fn collect(&mut self, slab: &mut Slab, l: i64, batch: &mut Queue) {
        let mut min_buy = i64::MAX;
        let mut max_sell = i64::MIN;
        let mut s = self.list.head;
        while s != NIL {
            let next = slab.nodes[s as usize].next;
            let sp = slab.ext(s).stop_price;
            let side = slab.nodes[s as usize].side;
            let fires = match side {
                Side::Buy => l >= sp,
                Side::Sell => l <= sp,
            };
            if fires {
                let nodes = &mut slab.nodes;
                self.list.unlink(nodes, s);
                self.len -= 1;
                batch.push_back(nodes, s);
                nodes[s as usize].state = State::Taking;
            } else {
                match side {
                    Side::Buy => min_buy = min_buy.min(sp),
                    Side::Sell => max_sell = max_sell.max(sp),
                }
            }
            s = next;
        }
        self.min_buy = min_buy;
        self.max_sell = max_sell;
    }
}
