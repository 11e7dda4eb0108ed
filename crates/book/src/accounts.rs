//! Per-account order lists for mass cancel: an open-addressing table `AccountId → (head, tail)`
//! of an intrusive doubly linked list (through `Node::acct_next`/`acct_prev`, `NIL`-terminated)
//! holding the account's live orders in entry order. An account is in the table only while it has
//! a live order; the book admits at most `limit` such accounts (`BookConfig::max_accounts`,
//! checked before an order is accepted), and the capacity is a power of two ≥ 2 × `limit`, so the
//! load stays ≤ 1/2 and the table never fills. 12 bytes per bucket; backward-shift deletion; no allocation after `new`. Appending touches the
//! bucket and the (recent) tail node only; unlinking a middle order touches its two neighbours
//! only, and the table only when the order is the head or the tail.

use crate::slab::{NIL, Node, node_at, node_at_mut};

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
    /// Accounts in the table.
    len: u32,
    /// Most accounts the book admits.
    limit: u32,
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
            // cap ≤ 2^31 (max_live ≤ max_orders ≤ 2^30), so the shift is 1..=31.
            shift: 32 - cap.trailing_zeros(),
            len: 0,
            limit: max_live,
        }
    }

    /// True when the table holds its limit of accounts (a new account must be refused).
    #[inline(always)]
    pub fn at_limit(&self) -> bool {
        self.len >= self.limit
    }

    /// Accounts with live orders now, and the most admitted.
    pub fn len_limit(&self) -> (u32, u32) {
        (self.len, self.limit)
    }

    /// True when `account` has a live order. O(1) expected.
    pub fn contains(&self, account: u32) -> bool {
        self.find(account).is_ok()
    }

    #[inline(always)]
    fn home(&self, account: u32) -> usize {
        // Fibonacci hashing on 32 bits (⌊2^32/φ⌋, odd): the top bits of the product. One
        // multiply by an immediate and a shift; the 64-bit form took a constant load and a xor
        // more on every append.
        (account.wrapping_mul(0x9E37_79B1) >> self.shift) as usize
    }

    /// Bucket `i`, which must come from [`Accounts::home`] or a probe step (`(i + 1) & mask`):
    /// both are below the capacity (a power of two; `home` keeps the top `log2(cap)` bits of
    /// a 32-bit product, the step masks with `cap − 1`), so no bounds check is needed.
    #[inline(always)]
    fn bucket(&self, i: usize) -> &Bucket {
        debug_assert!(i < self.b.len());
        // SAFETY: `i < b.len()` (see above); the table never changes length after `new`.
        unsafe { self.b.get_unchecked(i) }
    }

    /// [`Accounts::bucket`], writable.
    #[inline(always)]
    fn bucket_mut(&mut self, i: usize) -> &mut Bucket {
        debug_assert!(i < self.b.len());
        // SAFETY: as in `bucket`.
        unsafe { self.b.get_unchecked_mut(i) }
    }

    #[inline]
    fn find(&self, account: u32) -> Result<usize, usize> {
        let mut i = self.home(account);
        loop {
            let e = *self.bucket(i);
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

    /// Appends slot `s` to its account's list (entry order). O(1) expected. Inlined: every order that rests comes here, and the call's register saves were a
    /// quarter of its instructions.
    #[inline(always)]
    pub fn push(&mut self, nodes: &mut [Node], s: u32) {
        let Some(n) = nodes.get(s as usize) else {
            return;
        };
        let account = n.account;
        self.push_as(nodes, s, account);
    }

    /// [`Accounts::push`] of slot `s` whose owner the caller knows (`account`, as in the node).
    #[inline(always)]
    pub fn push_as(&mut self, nodes: &mut [Node], s: u32, account: u32) {
        let prev = self.link_as(nodes, s, account);
        if let Some(n) = nodes.get_mut(s as usize) {
            n.acct_next = NIL;
            n.acct_prev = prev;
        }
    }

    /// Appends slot `s` to `account`'s list without writing node `s`: links the list's old tail
    /// to it and returns that tail (`NIL` when the account is new), which the caller stores as
    /// `s`'s `acct_prev`, with `acct_next` = `NIL`. The add fast path writes its fresh node once,
    /// links included. O(1) expected. Buckets are read without bounds checks
    /// ([`Accounts::bucket`]): masking with the slice's `len − 1` instead, as before, still
    /// loaded the length and tested it for 0 on every append (session 10: 45,700 instructions
    /// over the QuantCup feed, with the probe of an account-list end's unlink).
    #[inline(always)]
    pub fn link_as(&mut self, nodes: &mut [Node], s: u32, account: u32) -> u32 {
        let mut i = self.home(account);
        let mask = self.mask;
        loop {
            let e = self.bucket_mut(i);
            if e.head == NIL {
                *e = Bucket {
                    account,
                    head: s,
                    tail: s,
                };
                self.len += 1;
                return NIL;
            }
            if e.account == account {
                let t = e.tail;
                e.tail = s;
                // SAFETY: a listed account's tail is a live slot (not NIL: its head is not).
                unsafe { node_at_mut(nodes, t) }.acct_next = s;
                return t;
            }
            i = (i + 1) & mask;
        }
    }

    /// Unlinks slot `s` from its account's list; drops the account when its list empties.
    /// A middle order costs two neighbour writes; the head/tail case also updates the table
    /// (inlined too since session 10: out of line, its call's register saves cost 13,400
    /// instructions over the QuantCup feed, where a quarter of the filled makers are an end).
    #[inline(always)]
    pub fn unlink(&mut self, nodes: &mut [Node], s: u32) {
        // SAFETY: `s` is a live slot being freed (the callers' invariant).
        let n = unsafe { node_at(nodes, s) };
        let (account, p, nx) = (n.account, n.acct_prev, n.acct_next);
        if p != NIL && nx != NIL {
            // SAFETY: account-list links other than NIL are live slots.
            unsafe { node_at_mut(nodes, p) }.acct_next = nx;
            // SAFETY: as above.
            unsafe { node_at_mut(nodes, nx) }.acct_prev = p;
            return;
        }
        self.unlink_end(nodes, account, p, nx);
    }

    /// `unlink` of the head or the tail (or the only order) of `account`'s list, whose
    /// neighbours are `p` and `nx`.
    #[inline(always)]
    fn unlink_end(&mut self, nodes: &mut [Node], account: u32, p: u32, nx: u32) {
        let Ok(i) = self.find(account) else { return };
        if p == NIL && nx == NIL {
            self.remove_bucket(i);
            return;
        }
        if p == NIL {
            // SAFETY: `nx` is an account-list link other than NIL (not both ends are NIL).
            unsafe { node_at_mut(nodes, nx) }.acct_prev = NIL;
            self.bucket_mut(i).head = nx;
        } else {
            // SAFETY: `p` is an account-list link other than NIL.
            unsafe { node_at_mut(nodes, p) }.acct_next = NIL;
            self.bucket_mut(i).tail = p;
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
        self.len -= 1;
    }

    /// The first order of every account in the table (table order; snapshots).
    pub fn heads(&self) -> impl Iterator<Item = u32> + '_ {
        self.b.iter().filter(|e| e.head != NIL).map(|e| e.head)
    }

    /// Bytes preallocated.
    pub fn bytes(&self) -> usize {
        self.b.capacity() * core::mem::size_of::<Bucket>()
    }
}
