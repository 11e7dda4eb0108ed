//! Per-account order lists for mass cancel: an open-addressing table `AccountId → (head, tail)`
//! of an intrusive doubly linked list (through `Node::acct_next`/`acct_prev`, `NIL`-terminated)
//! holding the account's live orders in entry order. Capacity is a power of two ≥ 2 × the slab
//! capacity (an account is in the table only while it has a live order), so it never fills.
//! 12 bytes per bucket; backward-shift deletion; no allocation after `new`. Appending touches the
//! bucket and the (recent) tail node only; unlinking a middle order touches its two neighbours
//! only, and the table only when the order is the head or the tail.

use crate::slab::{NIL, Node};

#[derive(Clone, Copy, Debug)]
struct Bucket {
    account: u32,
    head: u32,
    tail: u32,
}

const EMPTY: Bucket = Bucket {
    account: 0,
    head: NIL,
    tail: NIL,
};

/// The account table.
pub(crate) struct Accounts {
    b: Vec<Bucket>,
    mask: usize,
    shift: u32,
}

impl Accounts {
    /// Touch every page of the preallocated memory (start-up only).
    pub(crate) fn prefault(&mut self) {
        ferrex_types::prefault(&mut self.b);
    }

    /// Room for `max_live` accounts with live orders.
    pub fn new(max_live: u32) -> Accounts {
        let cap = (2 * max_live as usize).next_power_of_two().max(2);
        Accounts {
            b: vec![EMPTY; cap],
            mask: cap - 1,
            shift: 64 - cap.trailing_zeros(),
        }
    }

    #[inline(always)]
    fn home(&self, account: u32) -> usize {
        ((u64::from(account) ^ 0x5bd1_e995).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift)
            as usize
    }

    #[inline]
    fn find(&self, account: u32) -> Result<usize, usize> {
        let mut i = self.home(account);
        loop {
            let e = self.b[i];
            if e.head == NIL {
                return Err(i);
            }
            if e.account == account {
                return Ok(i);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// First (lowest entry number) live order of `account`, or `NIL`.
    #[inline]
    pub fn head(&self, account: u32) -> u32 {
        match self.find(account) {
            Ok(i) => self.b[i].head,
            Err(_) => NIL,
        }
    }

    /// Appends slot `s` to its account's list (entry order). O(1) expected.
    #[inline]
    pub fn push(&mut self, nodes: &mut [Node], s: u32) {
        let account = nodes[s as usize].account;
        nodes[s as usize].acct_next = NIL;
        match self.find(account) {
            Ok(i) => {
                let t = self.b[i].tail;
                nodes[s as usize].acct_prev = t;
                nodes[t as usize].acct_next = s;
                self.b[i].tail = s;
            }
            Err(i) => {
                nodes[s as usize].acct_prev = NIL;
                self.b[i] = Bucket {
                    account,
                    head: s,
                    tail: s,
                };
            }
        }
    }

    /// Unlinks slot `s` from its account's list; drops the account when its list empties.
    #[inline]
    pub fn unlink(&mut self, nodes: &mut [Node], s: u32) {
        let (account, p, nx) = {
            let n = &nodes[s as usize];
            (n.account, n.acct_prev, n.acct_next)
        };
        if p != NIL && nx != NIL {
            nodes[p as usize].acct_next = nx;
            nodes[nx as usize].acct_prev = p;
            return;
        }
        let Ok(i) = self.find(account) else { return };
        if p == NIL && nx == NIL {
            self.remove_bucket(i);
            return;
        }
        if p == NIL {
            nodes[nx as usize].acct_prev = NIL;
            self.b[i].head = nx;
        } else {
            nodes[p as usize].acct_next = NIL;
            self.b[i].tail = p;
        }
    }

    fn remove_bucket(&mut self, i: usize) {
        let mut hole = i;
        let mut j = (i + 1) & self.mask;
        loop {
            let e = self.b[j];
            if e.head == NIL {
                break;
            }
            let h = self.home(e.account);
            if (j.wrapping_sub(h) & self.mask) >= (j.wrapping_sub(hole) & self.mask) {
                self.b[hole] = e;
                hole = j;
            }
            j = (j + 1) & self.mask;
        }
        self.b[hole] = EMPTY;
    }

    /// Bytes preallocated.
    pub fn bytes(&self) -> usize {
        self.b.capacity() * core::mem::size_of::<Bucket>()
    }
}
