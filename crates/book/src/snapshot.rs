//! Book snapshots: the book's logical state as bytes, and a book rebuilt from them.
//!
//! The format is logical, not a memory dump, so it survives changes to the slab, id map, ladder
//! and heap layouts: the resting orders per level in queue order, the pending stops in entry
//! order, each order with every field that drives later behaviour (iceberg hidden and display
//! quantities, stop price, GTD expire time, STP group and mode, its place in its account's list,
//! and for special orders the entry number that breaks GTD expiry ties), plus the dense window's
//! anchor, the entry counter and the last trade price. Slot numbers are not stored: a restored
//! book places the same orders in different slots, which no event or hash can observe.
//!
//! Layout (little-endian; version 2, owned by the engine's snapshot header):
//!
//! ```text
//! instrument u32 | anchored u8 | base i64 | entry_seq u64 | has_last u8 | last_trade i64
//! for bids then asks: levels u32, then per level (best first): price i64 | orders u32 | order × orders
//! stops u32 | order × stops                       (entry order)
//! order: id u64 | account u32 | group u32 | side u8 | tif u8 | stp u8 | ord_type u8 | flags u8
//!        | price i64 | visible u64 | hidden u64 | display u64 | stop_price i64
//!        | rank u32 (0-based place in its account's list, which is in entry order)
//!        | entry u64 (special orders: entry number; 0 otherwise) | expire_time u64 (0 unless GTD)
//! ```
//!
//! Declared as a child of the `book` module (see `book.rs`) so it reads the book's private
//! fields directly instead of widening them.

use super::Book;
use crate::config::BookConfig;
use crate::expiry::Due;
use crate::slab::{Ext, F_GROUP, F_GTD, F_ICEBERG, F_MASK, NIL, Node, State, ord_type_of, stp_of};
use ferrex_types::{InstrumentId, OrdType, Side, TimeInForce};

/// Bytes of one encoded order.
const ORDER_BYTES: usize = 8 + 4 + 4 + 5 + 8 * 7 + 4;

/// Why a book section could not be restored. Offsets are bytes from the start of the section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookSnapshotError {
    /// The book configuration itself is invalid.
    Config(crate::BookConfigError),
    /// The section ended inside `field`, which starts at `offset`.
    Truncated {
        /// Byte offset of the field.
        offset: usize,
        /// The field being read.
        field: &'static str,
    },
    /// `field` at `offset` holds `value`, which is out of range or inconsistent with the book
    /// configuration or with the rest of the snapshot.
    Invalid {
        /// Byte offset of the field.
        offset: usize,
        /// The field.
        field: &'static str,
        /// The value found.
        value: i128,
    },
    /// More orders than the book configuration's `max_orders`, or a sparse level beyond
    /// `sparse_levels`: the snapshot was taken with larger capacities.
    Capacity {
        /// Byte offset of the order or level that did not fit.
        offset: usize,
        /// Which capacity (`max_orders` or `sparse_levels`).
        what: &'static str,
    },
    /// Bytes left after the last stop order.
    Trailing {
        /// Offset of the first extra byte.
        offset: usize,
        /// Extra bytes.
        len: usize,
    },
}

impl core::fmt::Display for BookSnapshotError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            BookSnapshotError::Config(e) => write!(f, "book config: {e}"),
            BookSnapshotError::Truncated { offset, field } => {
                write!(f, "truncated at byte {offset} reading `{field}`")
            }
            BookSnapshotError::Invalid {
                offset,
                field,
                value,
            } => write!(f, "invalid `{field}` {value} at byte {offset}"),
            BookSnapshotError::Capacity { offset, what } => write!(
                f,
                "order at byte {offset} does not fit: {what} of the configured book exceeded"
            ),
            BookSnapshotError::Trailing { offset, len } => {
                write!(
                    f,
                    "{len} unexpected bytes after the last order at byte {offset}"
                )
            }
        }
    }
}

impl std::error::Error for BookSnapshotError {}

type Res<T> = Result<T, BookSnapshotError>;

/// Little-endian cursor over a section.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self, field: &'static str) -> Res<[u8; N]> {
        let end = self.pos.checked_add(N);
        match end.and_then(|e| self.buf.get(self.pos..e)) {
            Some(s) => {
                let mut a = [0u8; N];
                a.copy_from_slice(s);
                self.pos += N;
                Ok(a)
            }
            None => Err(BookSnapshotError::Truncated {
                offset: self.pos,
                field,
            }),
        }
    }
    fn u8(&mut self, field: &'static str) -> Res<u8> {
        Ok(self.take::<1>(field)?[0])
    }
    fn u32(&mut self, field: &'static str) -> Res<u32> {
        Ok(u32::from_le_bytes(self.take(field)?))
    }
    fn u64(&mut self, field: &'static str) -> Res<u64> {
        Ok(u64::from_le_bytes(self.take(field)?))
    }
    fn i64(&mut self, field: &'static str) -> Res<i64> {
        Ok(i64::from_le_bytes(self.take(field)?))
    }
    /// Reads a byte and maps it through `f`, failing with `Invalid` at its offset.
    fn code<T>(&mut self, field: &'static str, f: fn(u8) -> Option<T>) -> Res<T> {
        let at = self.pos;
        let v = self.u8(field)?;
        f(v).ok_or(BookSnapshotError::Invalid {
            offset: at,
            field,
            value: i128::from(v),
        })
    }
}

/// Writes `b` at `*at` in `out` (already sized) and moves `*at` past it.
fn put_at(out: &mut [u8], at: &mut usize, b: &[u8]) {
    if let Some(dst) = out.get_mut(*at..*at + b.len()) {
        dst.copy_from_slice(b);
    }
    *at += b.len();
}

fn invalid(offset: usize, field: &'static str, value: impl Into<i128>) -> BookSnapshotError {
    BookSnapshotError::Invalid {
        offset,
        field,
        value: value.into(),
    }
}

fn side_of(v: u8) -> Option<Side> {
    match v {
        0 => Some(Side::Buy),
        1 => Some(Side::Sell),
        _ => None,
    }
}

fn tif_of(v: u8) -> Option<TimeInForce> {
    Some(match v {
        0 => TimeInForce::Gtc,
        1 => TimeInForce::Ioc,
        2 => TimeInForce::Fok,
        3 => TimeInForce::Gtd,
        4 => TimeInForce::PostOnly,
        _ => return None,
    })
}

/// The flag bits a snapshot may carry (`F_GROUP` is derived from the group on restore).
fn flags_of(v: u8) -> Option<u8> {
    (v & !(F_ICEBERG | F_GTD) == 0).then_some(v)
}

/// One decoded order, with the offset it started at (for error reports).
struct Rec {
    at: usize,
    node: Node,
    ext: Ext,
    expire: u64,
    rank: u32,
}

impl Book {
    /// Appends this book's logical state to `out` (layout in the module docs). Allocates only
    /// in `out` (and, when GTD orders rest, one slot-indexed table of expire times). O(live
    /// orders + levels); the book is not changed.
    pub fn snapshot(&self, out: &mut Vec<u8>) {
        // Expire times live in the expiry heap only: index the live entries by slot.
        let mut expire: Vec<u64> = Vec::new();
        let heap = self.expiry.entries();
        if !heap.is_empty() {
            expire = vec![0; self.slab.nodes.len()];
            for d in heap {
                if crate::expiry::Expiry::live(&self.slab, d) {
                    expire[d.slot as usize] = d.time;
                }
            }
        }
        // Each order's place in its account's list. The lists are walked side by side, one step
        // of each per round, so the node loads of different lists overlap instead of each list
        // being one chain of dependent cache misses.
        let mut rank = vec![0u32; self.slab.nodes.len()];
        let mut cursors: Vec<u32> = self.accounts.heads().collect();
        let mut k = 0u32;
        while !cursors.is_empty() {
            cursors.retain_mut(|s| {
                rank[*s as usize] = k;
                *s = self.slab.nodes[*s as usize].acct_next;
                *s != NIL
            });
            k += 1;
        }
        let expire_of = |s: u32| {
            (
                expire.get(s as usize).copied().unwrap_or(0),
                rank[s as usize],
            )
        };
        out.reserve(64 + self.slab.live() as usize * ORDER_BYTES);
        out.extend_from_slice(&self.instrument.0.to_le_bytes());
        let base = self.ladders[0].anchor_base();
        out.push(u8::from(base.is_some()));
        out.extend_from_slice(&base.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.entry_seq.to_le_bytes());
        out.push(u8::from(self.last_trade.is_some()));
        out.extend_from_slice(&self.last_trade.unwrap_or(0).to_le_bytes());
        // The levels: each side's level count, then per level its price, its order count and
        // its orders front to back. Every record's place is known from the counts, so the
        // queues are walked side by side (one step of each per round, the node loads of
        // different levels overlapping) and each record is written straight to its place; a
        // queue walked alone is one chain of dependent cache misses.
        let mut cursors: Vec<(u32, usize)> = Vec::new();
        let levels = self
            .ladders
            .iter()
            .map(|l| l.levels as usize)
            .sum::<usize>();
        // Every live order rests or is a pending stop at a command boundary (no taker is
        // live between commands), so this is the number of records in the levels.
        let resting = (self.slab.live() as usize).saturating_sub(self.stops.len as usize);
        let mut at = out.len();
        let ladders_end = at + 8 + 12 * levels + ORDER_BYTES * resting;
        out.resize(ladders_end, 0);
        for ladder in &self.ladders {
            put_at(out, &mut at, &ladder.levels.to_le_bytes());
            ladder.for_each(|price, lvl| {
                put_at(out, &mut at, &price.to_le_bytes());
                put_at(out, &mut at, &lvl.count.to_le_bytes());
                if lvl.q.head != NIL {
                    cursors.push((lvl.q.head, at));
                }
                at += lvl.count as usize * ORDER_BYTES;
                true
            });
        }
        debug_assert_eq!(at, ladders_end);
        while !cursors.is_empty() {
            cursors.retain_mut(|(s, pos)| {
                let (e, k) = expire_of(*s);
                let rec = self.order_record(*s, e, k);
                if let Some(dst) = out.get_mut(*pos..*pos + ORDER_BYTES) {
                    dst.copy_from_slice(&rec);
                }
                *pos += ORDER_BYTES;
                *s = self.slab.nodes[*s as usize].next;
                *s != NIL
            });
        }
        out.extend_from_slice(&self.stops.len.to_le_bytes());
        let mut s = self.stops.list.head;
        while s != NIL {
            let (e, k) = expire_of(s);
            self.write_order(s, e, k, out);
            s = self.slab.nodes[s as usize].next;
        }
    }

    fn write_order(&self, s: u32, expire: u64, rank: u32, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.order_record(s, expire, rank));
    }

    /// The record of the order in slot `s` (layout in the module docs).
    fn order_record(&self, s: u32, expire: u64, rank: u32) -> [u8; ORDER_BYTES] {
        let n = &self.slab.nodes[s as usize];
        // A plain order may sit in a special slot (plain region full): its `Ext` is stale.
        let special = n.needs_ext();
        let e = if special {
            *self.slab.ext(s)
        } else {
            Ext::default()
        };
        let iceberg = n.flags & F_ICEBERG != 0;
        let gtd = n.flags & F_GTD != 0;
        // The record is assembled in a fixed array and appended once (one capacity check per
        // order instead of one per field).
        let mut rec = [0u8; ORDER_BYTES];
        let mut at = 0;
        let mut put = |b: &[u8]| put_at(&mut rec, &mut at, b);
        put(&n.id.to_le_bytes());
        put(&n.account.to_le_bytes());
        put(&self.slab.group(s).to_le_bytes());
        put(&[
            n.side as u8,
            n.tif as u8,
            n.stp() as u8,
            n.ord_type() as u8,
            n.flags & (F_ICEBERG | F_GTD),
        ]);
        put(&n.price.to_le_bytes());
        put(&n.visible.to_le_bytes());
        put(&(if iceberg { e.hidden } else { 0 }).to_le_bytes());
        put(&(if iceberg { e.display } else { 0 }).to_le_bytes());
        put(&self.slab.stop_price(s).to_le_bytes());
        put(&rank.to_le_bytes());
        put(&e.entry.to_le_bytes());
        put(&(if gtd { expire } else { 0 }).to_le_bytes());
        rec
    }

    /// Builds a book for `instrument` with `cfg` holding the state of a [`Book::snapshot`]
    /// section. Every field is validated (enum codes, prices against the configured range and
    /// tick, quantities, unique ids, account-list ranks and entry numbers, level counts,
    /// capacities); a bad section is an error, never a panic. Allocates the book like [`Book::new`]; O(orders).
    pub fn restore(
        instrument: InstrumentId,
        cfg: BookConfig,
        bytes: &[u8],
    ) -> Result<Book, BookSnapshotError> {
        let mut b = Book::new(instrument, cfg).map_err(BookSnapshotError::Config)?;
        let mut r = Reader { buf: bytes, pos: 0 };
        let at = r.pos;
        let id = r.u32("instrument")?;
        if id != instrument.0 {
            return Err(invalid(at, "instrument", id));
        }
        let anchored = r.code("anchored", |v| (v <= 1).then_some(v == 1))?;
        let at = r.pos;
        let base = r.i64("base")?;
        if anchored {
            if base < 0 || base % cfg.tick_size != 0 {
                return Err(invalid(at, "base", base));
            }
            for l in &mut b.ladders {
                l.anchor(base);
            }
            b.anchored = true;
        }
        b.entry_seq = r.u64("entry_seq")?;
        let has_last = r.code("has_last", |v| (v <= 1).then_some(v == 1))?;
        let last = r.i64("last_trade")?;
        b.last_trade = has_last.then_some(last);

        // (account, rank, entry, slot, offset) of every order, to rebuild the account lists.
        let mut entries: Vec<(u32, u32, u64, u32, usize)> = Vec::new();
        for side in [Side::Buy, Side::Sell] {
            let at = r.pos;
            let levels = r.u32("levels")?;
            if levels > 0 && !anchored {
                return Err(invalid(at, "levels (book never anchored)", levels));
            }
            let mut prev: Option<i64> = None;
            for _ in 0..levels {
                let at = r.pos;
                let price = r.i64("level price")?;
                let better_or_equal = prev.is_some_and(|p| match side {
                    Side::Buy => price >= p,
                    Side::Sell => price <= p,
                });
                if better_or_equal || b.check_price_range(price).is_err() {
                    return Err(invalid(at, "level price", price));
                }
                prev = Some(price);
                let at_count = r.pos;
                let count = r.u32("level orders")?;
                if count == 0 {
                    return Err(invalid(at_count, "level orders", count));
                }
                for _ in 0..count {
                    let rec = b.read_order(&mut r)?;
                    if rec.node.side != side || rec.node.price != price {
                        return Err(invalid(rec.at, "order side/price", rec.node.price));
                    }
                    if rec.node.visible == 0 {
                        return Err(invalid(rec.at, "visible", 0));
                    }
                    let s = b.insert_rec(&rec, State::Resting, &mut entries)?;
                    let vis = rec.node.visible;
                    let Some(lvl) = b.ladders[side.index()].get_or_insert(price) else {
                        return Err(BookSnapshotError::Capacity {
                            offset: rec.at,
                            what: "sparse_levels",
                        });
                    };
                    lvl.push(&mut b.slab.nodes, s, vis);
                }
            }
        }
        let stops = r.u32("stops")?;
        for _ in 0..stops {
            let rec = b.read_order(&mut r)?;
            if !rec.node.is_stop_type() {
                return Err(invalid(rec.at, "stop ord_type", rec.node.ord_type() as u8));
            }
            let s = b.insert_rec(&rec, State::Stop, &mut entries)?;
            b.stops.push(&mut b.slab.nodes, rec.ext.stop_price, s);
        }
        if r.pos != bytes.len() {
            return Err(BookSnapshotError::Trailing {
                offset: r.pos,
                len: bytes.len() - r.pos,
            });
        }
        // Account lists: each account's orders by rank, which must be 0, 1, 2, … .
        entries.sort_unstable();
        let mut prev: Option<(u32, u32)> = None;
        for &(account, rank, entry, _, at) in &entries {
            let want = match prev {
                Some((a, r)) if a == account => r + 1,
                _ => 0,
            };
            if rank != want {
                return Err(invalid(at, "rank in its account's list", rank));
            }
            if entry > b.entry_seq {
                return Err(invalid(at, "entry above entry_seq", entry));
            }
            prev = Some((account, rank));
        }
        let mut specials: Vec<u64> = entries.iter().filter(|e| e.2 != 0).map(|e| e.2).collect();
        specials.sort_unstable();
        if let Some(w) = specials.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid(0, "duplicate entry number", w[0]));
        }
        for &(account, _, _, s, at) in &entries {
            if b.accounts.at_limit() && !b.accounts.contains(account) {
                return Err(BookSnapshotError::Capacity {
                    offset: at,
                    what: "max_accounts",
                });
            }
            b.accounts.push(&mut b.slab.nodes, s);
        }
        Ok(b)
    }

    /// `Ok` when `p` is a valid limit/stop price of this book.
    fn check_price_range(&self, p: i64) -> Result<(), ()> {
        let c = &self.cfg;
        if p < c.min_price.0 || p > c.max_price.0 || p % c.tick_size != 0 {
            Err(())
        } else {
            Ok(())
        }
    }

    fn read_order(&self, r: &mut Reader<'_>) -> Res<Rec> {
        let at = r.pos;
        let id = r.u64("order id")?;
        let account = r.u32("account")?;
        let group = r.u32("group")?;
        let side = r.code("side", side_of)?;
        let tif = r.code("tif", tif_of)?;
        let stp = r.code("stp", stp_of)?;
        let ord_type = r.code("ord_type", ord_type_of)?;
        let at_flags = r.pos;
        let flags = r.code("flags", flags_of)?;
        let price = r.i64("price")?;
        let visible = r.u64("visible")?;
        let at_hidden = r.pos;
        let hidden = r.u64("hidden")?;
        let at_display = r.pos;
        let display = r.u64("display")?;
        let at_stop = r.pos;
        let stop_price = r.i64("stop_price")?;
        let rank = r.u32("rank")?;
        let entry = r.u64("entry")?;
        let expire = r.u64("expire_time")?;
        let iceberg = flags & F_ICEBERG != 0;
        if (flags & F_GTD != 0) != (tif == TimeInForce::Gtd) {
            return Err(invalid(at_flags, "flags (GTD bit vs tif)", flags));
        }
        if iceberg && display == 0 {
            return Err(invalid(at_display, "display", display));
        }
        if !iceberg && (hidden != 0 || display != 0) {
            return Err(invalid(
                at_hidden,
                "hidden/display of a non-iceberg",
                hidden,
            ));
        }
        if visible.checked_add(hidden).is_none() || visible.saturating_add(hidden) == 0 {
            return Err(invalid(
                at_hidden,
                "leaves",
                i128::from(visible) + i128::from(hidden),
            ));
        }
        let is_stop = matches!(ord_type, OrdType::Stop | OrdType::StopLimit);
        if is_stop && self.check_price_range(stop_price).is_err() {
            return Err(invalid(at_stop, "stop_price", stop_price));
        }
        if ord_type == OrdType::Stop && price != 0 {
            return Err(invalid(at, "price of a stop order", price));
        }
        if ord_type != OrdType::Stop && self.check_price_range(price).is_err() {
            return Err(invalid(at, "price", price));
        }
        if matches!(ord_type, OrdType::Market) {
            return Err(invalid(at, "ord_type of a live order", ord_type as u8));
        }
        if !is_stop && stop_price != 0 {
            return Err(invalid(
                at_stop,
                "stop_price of a non-stop order",
                stop_price,
            ));
        }
        let flags = flags | if group != account { F_GROUP } else { 0 };
        Ok(Rec {
            at,
            node: Node {
                id,
                price,
                visible,
                next: NIL,
                prev: NIL,
                acct_next: NIL,
                acct_prev: NIL,
                account,
                side,
                state: State::Taking,
                tif,
                flags: Node::pack(flags & F_MASK, stp, ord_type),
            },
            ext: Ext {
                hidden,
                display,
                stop_price: if is_stop { stop_price } else { 0 },
                entry,
                group,
            },
            expire,
            rank,
        })
    }

    /// Allocates a slot for `rec` in `state`, registering its id and expiry entry; the caller
    /// links it into a level or the stop list, account lists follow at the end.
    fn insert_rec(
        &mut self,
        rec: &Rec,
        state: State,
        entries: &mut Vec<(u32, u32, u64, u32, usize)>,
    ) -> Res<u32> {
        if self.ids.get(rec.node.id, &self.slab.nodes).is_some() {
            return Err(invalid(rec.at, "duplicate order id", rec.node.id));
        }
        let n = &rec.node;
        let special = n.needs_ext();
        if !special && rec.ext.entry != 0 {
            return Err(invalid(rec.at, "entry of a plain order", rec.ext.entry));
        }
        let slot = if special {
            self.slab.alloc_special()
        } else {
            self.slab.alloc()
        };
        let Some(s) = slot else {
            return Err(BookSnapshotError::Capacity {
                offset: rec.at,
                what: if special && self.slab.live() < self.cfg.max_orders {
                    "max_special_orders"
                } else {
                    "max_orders"
                },
            });
        };
        self.slab.nodes[s as usize] = Node { state, ..rec.node };
        if self.slab.is_special(s) {
            *self.slab.ext_mut(s) = rec.ext;
        }
        self.ids.insert(rec.node.id, s);
        if rec.node.flags & F_GTD != 0 {
            self.expiry.push(
                &self.slab,
                Due {
                    time: rec.expire,
                    entry: rec.ext.entry,
                    slot: s,
                },
            );
        }
        entries.push((n.account, rec.rank, rec.ext.entry, s, rec.at));
        Ok(s)
    }
}
