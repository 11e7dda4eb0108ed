//! Per-account order lists for mass cancel: an open-addressing table `AccountId → head slot` of a
//! circular intrusive list (through `Node::acct_next`/`acct_prev`, the head's `acct_prev` is the
//! tail) holding the account's live orders in entry order. Capacity is a power of two ≥ 2 × the
//! slab capacity (an account is in the table only while it has a live order), so it never fills.
//! 8 bytes per bucket; backward-shift deletion; no allocation after `new`.

use crate::slab::{NIL, Node};

#[derive(Clone, Copy, Debug)]
struct Bucket {
    account: u32,
    head: u32,
}

const EMPTY: Bucket = Bucket {
    account: 0,
    head: NIL,
};

/// The account table.
pub(crate) struct Accounts {
    b: Vec<Bucket>,
    mask: usize,
    shift: u32,
}

impl Accounts {
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
        match self.find(account) {
            Ok(i) => {
                let h = self.b[i].head;
                let t = nodes[h as usize].acct_prev;
                nodes[s as usize].acct_prev = t;
                nodes[s as usize].acct_next = h;
                nodes[t as usize].acct_next = s;
                nodes[h as usize].acct_prev = s;
            }
            Err(i) => {
                nodes[s as usize].acct_prev = s;
                nodes[s as usize].acct_next = s;
                self.b[i] = Bucket { account, head: s };
            }
        }
    }

    /// Unlinks slot `s` from its account's list; drops the account when its list empties.
    #[inline]
    pub fn unlink(&mut self, nodes: &mut [Node], s: u32) {
        let (account, p, nx, entry) = {
            let n = &nodes[s as usize];
            (n.account, n.acct_prev, n.acct_next, n.entry)
        };
        if nx != s && nodes[p as usize].entry < entry {
            // Not the head (the list is in entry order and circular: only the head's
            // predecessor, the tail, has a larger entry number): no table access needed.
            nodes[p as usize].acct_next = nx;
            nodes[nx as usize].acct_prev = p;
            return;
        }
        let Ok(i) = self.find(account) else { return };
        if nx == s {
            self.remove_bucket(i);
            return;
        }
        nodes[p as usize].acct_next = nx;
        nodes[nx as usize].acct_prev = p;
        self.b[i].head = nx;
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
