//! The gateway's client-reference log: what the gateway must know, beyond the engine's journal,
//! to serve orders recovered from the journal under the client's own references.
//!
//! The engine journal holds commands with engine order ids only. The gateway's per-session
//! tables (OUCH UserRefNum → order, FIX ClOrdID → order, the attributes reports echo, executed
//! quantities, the OUCH per-account UserRefNum high-water mark) are kept in `gateway-refs.log`,
//! next to the journal, as an append-only log of records:
//!
//! | record | written | holds |
//! | --- | --- | --- |
//! | OUCH enter | before the `New` is submitted | the whole order entry (UserRefNum, ClOrdID, symbol, side, TIF, display, capacity, ISO, cross type) and its engine id |
//! | OUCH replace | before the `Modify` is submitted | old and new UserRefNum, new ClOrdID, TIF, display, ISO, the requested price (ticks) and open quantity |
//! | OUCH answer | when the engine answers a replace (before the report goes out) | accepted or refused |
//! | OUCH ref | when a UserRefNum is consumed without a command (refused at the gateway) | the number |
//! | FIX new | before the `New` is submitted | ClOrdID, symbol, side, OrderQty, price and its engine id |
//! | FIX request | before a cancel / replace is submitted | the new ClOrdID, cancel or replace, requested OrderQty and price |
//! | FIX answer | when the engine refuses a request or replaces the order | accepted or refused |
//! | fill | when an execution leaves an order live | cumulative quantity and notional |
//!
//! Each record is `len (u32 LE) | body | FNV-1a 64 of body (u64 LE)`; a torn or corrupt tail
//! is cut at start (the records before it are used). The buffered records are written (one
//! `write`) before every command is submitted and after every drained batch of engine events, so
//! a process crash never loses the reference of a command the journal holds. Durability against
//! a machine crash follows the journal's: `sync` also `fdatasync`s the log at those points (a
//! command the journal holds always has its reference on disk), `batch` `fdatasync`s every
//! 10 ms, `none` never. Records are framed into a preallocated buffer: no per-order heap
//! allocation.
//!
//! At start, [`load`] replays the log into per-account tables and reconciles them with the
//! recovered engine: a reference to an order that is no longer live in its book (filled,
//! cancelled, never journaled) is dropped, prices come from the book. A replace or FIX cancel
//! that was submitted but whose answer was not logged (a crash in between) is resolved from the
//! book: a cancelled order is gone; a live order whose price is the requested one and whose open
//! quantity is at most the requested one took the replace, otherwise it kept its references.
//! The log is then rewritten with the live state only (compaction: write a new file, sync it,
//! rename it over the old one) and reopened for appending.

use crate::ouch::{Capacity, ClOrdId, CrossType, Display, OuchSide, OuchTif, Symbol, UserRefNum};
use crate::ouch_map::{LastOp, OrderInfo};
use ferrex_engine::{Durability, Engine};
use ferrex_types::{InstrumentId, OrderId, Price};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// File name of the log inside the journal directory.
pub const FILE_NAME: &str = "gateway-refs.log";
const TMP_NAME: &str = "gateway-refs.log.tmp";

const K_OUCH_ENTER: u8 = b'E';
const K_OUCH_REPLACE: u8 = b'R';
const K_OUCH_ANSWER: u8 = b'A';
const K_OUCH_REF: u8 = b'H';
const K_FIX_NEW: u8 = b'N';
const K_FIX_REQUEST: u8 = b'Q';
const K_FIX_ANSWER: u8 = b'B';
const K_FILL: u8 = b'T';

fn fnv(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Appends one framed record to `buf` (no allocation once `buf` has grown to its working size).
struct Frame<'a> {
    buf: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> Frame<'a> {
    fn new(buf: &'a mut Vec<u8>, kind: u8) -> Frame<'a> {
        let start = buf.len();
        buf.extend_from_slice(&[0; 4]);
        buf.push(kind);
        Frame { buf, start }
    }
    fn u8(self, v: u8) -> Self {
        self.buf.push(v);
        self
    }
    fn u32(self, v: u32) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(self, v: u64) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i64(self, v: i64) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i128(self, v: i128) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(self, v: &[u8]) -> Self {
        let n = v.len().min(u16::MAX as usize);
        self.buf.extend_from_slice(&(n as u16).to_le_bytes());
        self.buf.extend_from_slice(&v[..n]);
        self
    }
    fn done(self) {
        let body_start = self.start + 4;
        let len = (self.buf.len() - body_start) as u32;
        self.buf[self.start..body_start].copy_from_slice(&len.to_le_bytes());
        let h = fnv(&self.buf[body_start..]);
        self.buf.extend_from_slice(&h.to_le_bytes());
    }
}

/// Reads fields of one record body; `None` past its end.
struct Fields<'a> {
    b: &'a [u8],
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8)
            .and_then(|b| b.try_into().ok())
            .map(i64::from_le_bytes)
    }
    fn i128(&mut self) -> Option<i128> {
        self.take(16)
            .and_then(|b| b.try_into().ok())
            .map(i128::from_le_bytes)
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self
            .take(2)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_le_bytes)?;
        self.take(n as usize)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|b| b.try_into().ok())
    }
}

/// One OUCH order restored from the log (live in the recovered books).
#[derive(Clone, Debug)]
pub(crate) struct OuchRestored {
    /// Highest UserRefNum the account consumed.
    pub last_user_ref: u32,
    /// Its live orders, current references and attributes.
    pub orders: Vec<OrderInfo>,
}

/// One FIX order restored from the log (live in the recovered books).
#[derive(Clone, Debug)]
pub(crate) struct FixRestored {
    pub order_id: OrderId,
    pub instrument: InstrumentId,
    pub cl_ord_id: Vec<u8>,
    pub orig_cl_ord_id: Vec<u8>,
    pub symbol: Vec<u8>,
    pub side: u8,
    pub order_qty: u64,
    pub price: Price,
    pub cum_qty: u64,
    pub cum_notional: i128,
}

/// What [`load`] restored, per account.
#[derive(Debug, Default)]
pub(crate) struct Restored {
    pub ouch: HashMap<u32, OuchRestored>,
    pub fix: HashMap<u32, Vec<FixRestored>>,
    /// Highest engine order id any record names.
    pub max_order_id: u64,
    /// Good records read.
    pub records: usize,
    /// Bytes cut off a torn or corrupt tail.
    pub cut_bytes: u64,
    /// References kept (live orders).
    pub kept: usize,
    /// References dropped (orders no longer live).
    pub dropped: usize,
}

/// A replace (OUCH) or cancel / replace (FIX) whose answer is not in the log yet.
#[derive(Clone, Debug)]
struct OuchPending {
    before: OrderInfo,
    price: i64,
    leaves: u64,
}

/// A FIX cancel / replace whose answer is not in the log yet.
#[derive(Clone, Debug)]
struct FixPending {
    cl: Vec<u8>,
    orig: Vec<u8>,
    replace: bool,
    order_qty: u64,
    price: i64,
}

#[derive(Clone, Debug)]
struct FixEntry {
    r: FixRestored,
    pending: Option<FixPending>,
}

#[derive(Default)]
struct Replay {
    ouch_last: HashMap<u32, u32>,
    ouch: HashMap<(u32, u64), (OrderInfo, Option<OuchPending>)>,
    fix: HashMap<(u32, u64), FixEntry>,
    max_order_id: u64,
}

fn ouch_side(b: u8) -> Option<OuchSide> {
    OuchSide::from_code(b)
}

impl Replay {
    fn apply(&mut self, body: &[u8]) -> Option<()> {
        let mut f = Fields { b: body };
        let kind = f.u8()?;
        match kind {
            K_OUCH_ENTER => {
                let account = f.u32()?;
                let order_id = f.u64()?;
                let instrument = f.u32()?;
                let user_ref = f.u32()?;
                let symbol = Symbol(f.array::<8>()?);
                let cl = ClOrdId(f.array::<14>()?);
                let side = ouch_side(f.u8()?)?;
                let tif = OuchTif::from_code(f.u8()?)?;
                let display = Display::from_code(f.u8()?)?;
                let capacity = Capacity::from_code(f.u8()?)?;
                let iso = f.u8()? != 0;
                let cross = CrossType::from_code(f.u8()?)?;
                let executed = f.u64()?;
                let info = OrderInfo {
                    order_id: OrderId(order_id),
                    instrument: InstrumentId(instrument),
                    user_ref_num: UserRefNum(user_ref),
                    orig_user_ref_num: UserRefNum(user_ref),
                    symbol,
                    cl_ord_id: cl,
                    side,
                    price: Price::ZERO,
                    executed,
                    time_in_force: tif,
                    display,
                    capacity,
                    intermarket_sweep: iso,
                    cross_type: cross,
                    last_op: LastOp::Enter,
                    replace_pending: false,
                };
                self.bump_ref(account, user_ref);
                self.max_order_id = self.max_order_id.max(order_id);
                self.ouch.insert((account, order_id), (info, None));
            }
            K_OUCH_REPLACE => {
                let account = f.u32()?;
                let order_id = f.u64()?;
                let orig = f.u32()?;
                let new = f.u32()?;
                let cl = ClOrdId(f.array::<14>()?);
                let tif = OuchTif::from_code(f.u8()?)?;
                let display = Display::from_code(f.u8()?)?;
                let iso = f.u8()? != 0;
                let price = f.i64()?;
                let leaves = f.u64()?;
                self.bump_ref(account, new);
                if let Some((o, pending)) = self.ouch.get_mut(&(account, order_id)) {
                    let before = *o;
                    o.orig_user_ref_num = UserRefNum(orig);
                    o.user_ref_num = UserRefNum(new);
                    o.cl_ord_id = cl;
                    o.time_in_force = tif;
                    o.display = display;
                    o.intermarket_sweep = iso;
                    *pending = Some(OuchPending {
                        before,
                        price,
                        leaves,
                    });
                }
            }
            K_OUCH_ANSWER => {
                let account = f.u32()?;
                let order_id = f.u64()?;
                let accepted = f.u8()? != 0;
                if let Some((o, pending)) = self.ouch.get_mut(&(account, order_id))
                    && let Some(p) = pending.take()
                    && !accepted
                {
                    *o = OrderInfo {
                        executed: o.executed,
                        ..p.before
                    };
                }
            }
            K_OUCH_REF => {
                let account = f.u32()?;
                let r = f.u32()?;
                self.bump_ref(account, r);
            }
            K_FIX_NEW => {
                let account = f.u32()?;
                let order_id = f.u64()?;
                let instrument = f.u32()?;
                let side = f.u8()?;
                let order_qty = f.u64()?;
                let price = f.i64()?;
                let cum_qty = f.u64()?;
                let cum_notional = f.i128()?;
                let cl = f.bytes()?.to_vec();
                let orig = f.bytes()?.to_vec();
                let symbol = f.bytes()?.to_vec();
                self.max_order_id = self.max_order_id.max(order_id);
                self.fix.insert(
                    (account, order_id),
                    FixEntry {
                        r: FixRestored {
                            order_id: OrderId(order_id),
                            instrument: InstrumentId(instrument),
                            cl_ord_id: cl,
                            orig_cl_ord_id: orig,
                            symbol,
                            side,
                            order_qty,
                            price: Price(price),
                            cum_qty,
                            cum_notional,
                        },
                        pending: None,
                    },
                );
            }
            K_FIX_REQUEST => {
                let account = f.u32()?;
                let order_id = f.u64()?;
                let replace = f.u8()? != 0;
                let order_qty = f.u64()?;
                let price = f.i64()?;
                let cl = f.bytes()?;
                if let Some(e) = self.fix.get_mut(&(account, order_id)) {
                    let prev_cl = core::mem::replace(&mut e.r.cl_ord_id, cl.to_vec());
                    let prev_orig = core::mem::replace(&mut e.r.orig_cl_ord_id, prev_cl.clone());
                    e.pending = Some(FixPending {
                        cl: prev_cl,
                        orig: prev_orig,
                        replace,
                        order_qty,
                        price,
                    });
                }
            }
            K_FIX_ANSWER => {
                let account = f.u32()?;
                let order_id = f.u64()?;
                let accepted = f.u8()? != 0;
                if let Some(e) = self.fix.get_mut(&(account, order_id))
                    && let Some(p) = e.pending.take()
                {
                    if accepted && p.replace {
                        e.r.order_qty = p.order_qty;
                    } else if !accepted {
                        e.r.cl_ord_id = p.cl;
                        e.r.orig_cl_ord_id = p.orig;
                    }
                }
            }
            K_FILL => {
                let account = f.u32()?;
                let order_id = f.u64()?;
                let cum_qty = f.u64()?;
                let cum_notional = f.i128()?;
                if let Some((o, _)) = self.ouch.get_mut(&(account, order_id)) {
                    o.executed = cum_qty;
                }
                if let Some(e) = self.fix.get_mut(&(account, order_id)) {
                    e.r.cum_qty = cum_qty;
                    e.r.cum_notional = cum_notional;
                }
            }
            _ => return None,
        }
        Some(())
    }

    fn bump_ref(&mut self, account: u32, r: u32) {
        let last = self.ouch_last.entry(account).or_insert(0);
        *last = (*last).max(r);
    }
}

/// Splits `data` into good record bodies; returns them and the length of the good prefix.
fn frames(data: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(len) = data
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
    {
        let body_start = at + 4;
        let Some(body_end) = body_start.checked_add(len as usize) else {
            break;
        };
        let (Some(body), Some(h)) = (
            data.get(body_start..body_end),
            data.get(body_end..body_end + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes),
        ) else {
            break;
        };
        if len == 0 || fnv(body) != h {
            break;
        }
        out.push(body);
        at = body_end + 8;
    }
    (out, at)
}

/// Why the reference log could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RefLogError {
    /// Reading, writing or syncing the file failed.
    #[error("gateway reference log {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A record is well framed (checksum good) but not understood.
    #[error("gateway reference log {}: record {index} is not understood", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// Its index (0-based).
        index: usize,
    },
}

/// Replays the log in `dir` (missing: nothing), reconciles it with the recovered `engine`
/// (references to orders not live in their book are dropped), compacts the file to the live
/// state and opens it for appending. Cost: reads the whole log once, O(records).
pub(crate) fn load(
    dir: &Path,
    engine: &Engine,
    durability: Durability,
) -> Result<(Restored, RefLog), RefLogError> {
    let path = dir.join(FILE_NAME);
    let io = |source| RefLogError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut data = Vec::new();
    match File::open(&path) {
        Ok(mut f) => {
            f.read_to_end(&mut data).map_err(io)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let (bodies, good) = frames(&data);
    let mut rp = Replay::default();
    for (index, b) in bodies.iter().enumerate() {
        if rp.apply(b).is_none() {
            return Err(RefLogError::Record {
                path: path.clone(),
                index,
            });
        }
    }
    let mut out = Restored {
        records: bodies.len(),
        cut_bytes: (data.len() - good) as u64,
        max_order_id: rp.max_order_id,
        ..Restored::default()
    };
    for (account, last) in &rp.ouch_last {
        out.ouch.insert(
            *account,
            OuchRestored {
                last_user_ref: *last,
                orders: Vec::new(),
            },
        );
    }
    let live = |instrument: InstrumentId, id: u64, account: u32| {
        engine
            .book(instrument)
            .and_then(|b| b.order(OrderId(id)))
            .filter(|v| v.account.0 == account)
    };
    let mut ouch: Vec<_> = rp.ouch.into_iter().collect();
    ouch.sort_by_key(|(k, _)| *k);
    for ((account, id), (mut info, pending)) in ouch {
        let Some(view) = live(info.instrument, id, account) else {
            out.dropped += 1;
            continue;
        };
        if let Some(p) = pending {
            let took = view.price.0 == p.price && view.leaves.0 <= p.leaves;
            if !took {
                info = OrderInfo {
                    executed: info.executed,
                    ..p.before
                };
            }
        }
        info.price = view.price;
        info.replace_pending = false;
        info.orig_user_ref_num = info.user_ref_num;
        info.last_op = LastOp::Enter;
        out.kept += 1;
        out.ouch
            .entry(account)
            .or_insert(OuchRestored {
                last_user_ref: 0,
                orders: Vec::new(),
            })
            .orders
            .push(info);
    }
    let mut fix: Vec<_> = rp.fix.into_iter().collect();
    fix.sort_by_key(|(k, _)| *k);
    for ((account, id), mut e) in fix {
        let Some(view) = live(e.r.instrument, id, account) else {
            out.dropped += 1;
            continue;
        };
        if let Some(p) = e.pending.take() {
            let took = p.replace
                && view.price.0 == p.price
                && view.leaves.0 <= p.order_qty.saturating_sub(e.r.cum_qty);
            if took {
                e.r.order_qty = p.order_qty;
            } else {
                e.r.cl_ord_id = p.cl;
                e.r.orig_cl_ord_id = p.orig;
            }
        }
        e.r.price = view.price;
        out.kept += 1;
        out.fix.entry(account).or_default().push(e.r);
    }
    let log = RefLog::compact(dir, &out, durability)?;
    Ok((out, log))
}

/// The open log: records are framed into a preallocated buffer and written / synced per the
/// durability policy.
pub(crate) struct RefLog {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    durability: Durability,
    /// Written but not yet synced.
    unsynced: bool,
    /// First error (the log stops being written after it; the server goes on).
    pub error: Option<String>,
}

impl RefLog {
    /// Writes the live state to a new file, syncs it, renames it over the log, reopens it.
    fn compact(dir: &Path, st: &Restored, durability: Durability) -> Result<RefLog, RefLogError> {
        let path = dir.join(FILE_NAME);
        let tmp = dir.join(TMP_NAME);
        let io = |source| RefLogError::Io {
            path: path.clone(),
            source,
        };
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut accounts: Vec<_> = st.ouch.iter().collect();
        accounts.sort_by_key(|(a, _)| **a);
        for (&account, o) in accounts {
            if o.last_user_ref > 0 {
                Frame::new(&mut buf, K_OUCH_REF)
                    .u32(account)
                    .u32(o.last_user_ref)
                    .done();
            }
            for info in &o.orders {
                ouch_enter(&mut buf, account, info);
            }
        }
        let mut accounts: Vec<_> = st.fix.iter().collect();
        accounts.sort_by_key(|(a, _)| **a);
        for (&account, orders) in accounts {
            for r in orders {
                Frame::new(&mut buf, K_FIX_NEW)
                    .u32(account)
                    .u64(r.order_id.0)
                    .u32(r.instrument.0)
                    .u8(r.side)
                    .u64(r.order_qty)
                    .i64(r.price.0)
                    .u64(r.cum_qty)
                    .i128(r.cum_notional)
                    .bytes(&r.cl_ord_id)
                    .bytes(&r.orig_cl_ord_id)
                    .bytes(&r.symbol)
                    .done();
            }
        }
        {
            let mut f = File::create(&tmp).map_err(io)?;
            f.write_all(&buf).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &path).map_err(io)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        let file = OpenOptions::new().append(true).open(&path).map_err(io)?;
        buf.clear();
        Ok(RefLog {
            path,
            file,
            buf,
            durability,
            unsynced: false,
            error: None,
        })
    }

    /// OUCH Enter Order about to be submitted.
    pub fn ouch_enter(&mut self, account: u32, info: &OrderInfo) {
        ouch_enter(&mut self.buf, account, info);
    }

    /// OUCH Replace Order about to be submitted (`info` after the table moved it).
    pub fn ouch_replace(&mut self, account: u32, info: &OrderInfo, price: Price, leaves: u64) {
        Frame::new(&mut self.buf, K_OUCH_REPLACE)
            .u32(account)
            .u64(info.order_id.0)
            .u32(info.orig_user_ref_num.0)
            .u32(info.user_ref_num.0)
            .array(&info.cl_ord_id.0)
            .u8(info.time_in_force.code())
            .u8(info.display.code())
            .u8(u8::from(info.intermarket_sweep))
            .i64(price.0)
            .u64(leaves)
            .done();
    }

    /// The engine answered an OUCH replace.
    pub fn ouch_answer(&mut self, account: u32, order_id: OrderId, accepted: bool) {
        Frame::new(&mut self.buf, K_OUCH_ANSWER)
            .u32(account)
            .u64(order_id.0)
            .u8(u8::from(accepted))
            .done();
    }

    /// A UserRefNum consumed by a request that never reached the engine.
    pub fn ouch_ref(&mut self, account: u32, user_ref: UserRefNum) {
        Frame::new(&mut self.buf, K_OUCH_REF)
            .u32(account)
            .u32(user_ref.0)
            .done();
    }

    /// FIX NewOrderSingle about to be submitted.
    #[allow(clippy::too_many_arguments)]
    pub fn fix_new(
        &mut self,
        account: u32,
        order_id: OrderId,
        instrument: InstrumentId,
        side: u8,
        order_qty: u64,
        price: Price,
        cl_ord_id: &[u8],
        symbol: &[u8],
    ) {
        Frame::new(&mut self.buf, K_FIX_NEW)
            .u32(account)
            .u64(order_id.0)
            .u32(instrument.0)
            .u8(side)
            .u64(order_qty)
            .i64(price.0)
            .u64(0)
            .i128(0)
            .bytes(cl_ord_id)
            .bytes(cl_ord_id)
            .bytes(symbol)
            .done();
    }

    /// FIX cancel (`replace` false) or cancel/replace about to be submitted.
    pub fn fix_request(
        &mut self,
        account: u32,
        order_id: OrderId,
        replace: bool,
        order_qty: u64,
        price: Price,
        cl_ord_id: &[u8],
    ) {
        Frame::new(&mut self.buf, K_FIX_REQUEST)
            .u32(account)
            .u64(order_id.0)
            .u8(u8::from(replace))
            .u64(order_qty)
            .i64(price.0)
            .bytes(cl_ord_id)
            .done();
    }

    /// The engine answered a FIX cancel / replace (accepted: the order was replaced).
    pub fn fix_answer(&mut self, account: u32, order_id: OrderId, accepted: bool) {
        Frame::new(&mut self.buf, K_FIX_ANSWER)
            .u32(account)
            .u64(order_id.0)
            .u8(u8::from(accepted))
            .done();
    }

    /// An execution left the order live with these cumulative figures.
    pub fn fill(&mut self, account: u32, order_id: OrderId, cum_qty: u64, cum_notional: i128) {
        Frame::new(&mut self.buf, K_FILL)
            .u32(account)
            .u64(order_id.0)
            .u64(cum_qty)
            .i128(cum_notional)
            .done();
    }

    fn write_out(&mut self) {
        if self.buf.is_empty() || self.error.is_some() {
            self.buf.clear();
            return;
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            self.error = Some(format!("{}: {e}", self.path.display()));
        }
        self.buf.clear();
        self.unsynced = true;
    }

    fn sync(&mut self) {
        self.write_out();
        if self.unsynced
            && self.error.is_none()
            && self.durability.syncs()
            && let Err(e) = self.file.sync_data()
        {
            self.error = Some(format!("{}: {e}", self.path.display()));
        }
        self.unsynced = false;
    }

    /// Before a command is submitted, and after a drained batch of events: write what is
    /// buffered (one `write`, so a process crash cannot lose a reference whose command the
    /// journal may hold) and, in `sync` mode, `fdatasync` it.
    pub fn before_submit(&mut self) {
        if self.durability == Durability::Sync {
            if !self.buf.is_empty() || self.unsynced {
                self.sync();
            }
        } else {
            self.write_out();
        }
    }

    /// Every 10 ms (and at shutdown): write what is buffered, `fdatasync` unless `none`.
    pub fn tick(&mut self) {
        if !self.buf.is_empty() || self.unsynced {
            self.sync();
        }
    }
}

fn ouch_enter(buf: &mut Vec<u8>, account: u32, info: &OrderInfo) {
    Frame::new(buf, K_OUCH_ENTER)
        .u32(account)
        .u64(info.order_id.0)
        .u32(info.instrument.0)
        .u32(info.user_ref_num.0)
        .array(&info.symbol.0)
        .array(&info.cl_ord_id.0)
        .u8(info.side.code())
        .u8(info.time_in_force.code())
        .u8(info.display.code())
        .u8(info.capacity.code())
        .u8(u8::from(info.intermarket_sweep))
        .u8(info.cross_type.code())
        .u64(info.executed)
        .done();
}

impl Frame<'_> {
    fn array(self, v: &[u8]) -> Self {
        self.buf.extend_from_slice(v);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ouch::{Appendage, EnterOrder, Inbound, OuchPrice, ReplaceOrder};
    use crate::ouch_map::{OuchMapConfig, OuchOrders, inbound_to_command};
    use crate::ouch_orders::OuchOrderTable;
    use ferrex_engine::{BookConfig, EngineConfig};
    use ferrex_types::{AccountId, Command, Event};

    const CFG: OuchMapConfig = OuchMapConfig {
        account: AccountId(2),
        units_per_tick: 100,
    };

    fn engine() -> Engine {
        Engine::new(EngineConfig::single(BookConfig {
            min_price: Price(100),
            max_price: Price(10_000_000),
            level_events: false,
            max_orders: 1024,
            dense_levels: 1024,
            ..BookConfig::default()
        }))
        .unwrap()
    }

    fn enter(u: u32, cl: &[u8]) -> Inbound<'static> {
        Inbound::Enter(EnterOrder {
            user_ref_num: UserRefNum(u),
            side: OuchSide::Buy,
            quantity: 100,
            symbol: Symbol::new(b"AAPL").unwrap(),
            price: OuchPrice(1_000_000),
            time_in_force: OuchTif::Day,
            display: Display::Visible,
            capacity: Capacity::Agency,
            intermarket_sweep: false,
            cross_type: CrossType::Continuous,
            cl_ord_id: ClOrdId::new(cl).unwrap(),
            appendage: Appendage::EMPTY,
        })
    }

    /// Enter 1 (journaled), replace 1 -> 2 (journaled only when `replace_journaled`; its
    /// answer never logged), enter 3 (never journaled). Returns what a restart restores.
    fn crash_after_replace(tag: &str, replace_journaled: bool) -> Restored {
        let dir = std::env::temp_dir().join(format!("ferrex-reflog-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut e = engine();
        let (_, mut log) = load(&dir, &e, Durability::None).unwrap();
        let mut t = OuchOrderTable::new([(Symbol::new(b"AAPL").unwrap(), InstrumentId(0))]);
        let mut out: Vec<Event> = Vec::new();
        let mut next = 0u64;
        let mut submit = |t: &mut OuchOrderTable, msg: &Inbound<'_>, log: &mut RefLog| -> Command {
            t.on_inbound(msg, &CFG, || {
                next += 1;
                OrderId(next)
            })
            .unwrap();
            let cmd = inbound_to_command(msg, 1, &CFG, &*t).unwrap();
            match (msg, cmd.kind) {
                (Inbound::Enter(m), _) => {
                    log.ouch_enter(2, &t.by_user_ref(m.user_ref_num).unwrap());
                }
                (Inbound::Replace(m), ferrex_types::CommandKind::Modify(x)) => {
                    let info = t.by_user_ref(m.user_ref_num).unwrap();
                    log.ouch_replace(2, &info, x.price, x.qty.0);
                }
                _ => unreachable!(),
            }
            log.before_submit();
            cmd
        };
        let c = submit(&mut t, &enter(1, b"C1"), &mut log);
        e.process(&c, &mut out);
        let r = Inbound::Replace(ReplaceOrder {
            orig_user_ref_num: UserRefNum(1),
            user_ref_num: UserRefNum(2),
            quantity: 80,
            price: OuchPrice(1_010_000),
            time_in_force: OuchTif::Ioc,
            display: Display::Visible,
            intermarket_sweep: false,
            cl_ord_id: ClOrdId::new(b"C2").unwrap(),
            appendage: Appendage::EMPTY,
        });
        let c = submit(&mut t, &r, &mut log);
        if replace_journaled {
            e.process(&c, &mut out);
        }
        let _ = submit(&mut t, &enter(3, b"C3"), &mut log);
        drop(log); // the crash: nothing after this
        let (restored, _) = load(&dir, &e, Durability::None).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        restored
    }

    #[test]
    fn an_unanswered_replace_the_engine_took_is_restored_replaced() {
        let r = crash_after_replace("took", true);
        assert_eq!(
            (r.kept, r.dropped),
            (1, 1),
            "order 3 never reached the book"
        );
        let o = &r.ouch[&2];
        assert_eq!(o.last_user_ref, 3);
        let info = o.orders[0];
        assert_eq!(info.order_id, OrderId(1));
        assert_eq!(info.user_ref_num, UserRefNum(2));
        assert_eq!(info.cl_ord_id, ClOrdId::new(b"C2").unwrap());
        assert_eq!(info.time_in_force, OuchTif::Ioc);
        assert_eq!(info.price, Price(10_100));
        assert!(!info.replace_pending);
    }

    #[test]
    fn an_unanswered_replace_the_engine_never_saw_keeps_the_old_reference() {
        let r = crash_after_replace("lost", false);
        assert_eq!((r.kept, r.dropped), (1, 1));
        let o = &r.ouch[&2];
        assert_eq!(o.last_user_ref, 3, "consumed numbers stay consumed");
        let info = o.orders[0];
        assert_eq!(info.user_ref_num, UserRefNum(1));
        assert_eq!(info.cl_ord_id, ClOrdId::new(b"C1").unwrap());
        assert_eq!(info.time_in_force, OuchTif::Day);
        assert_eq!(info.price, Price(10_000));
    }

    #[test]
    fn frames_stop_at_a_torn_or_corrupt_record() {
        let mut buf = Vec::new();
        Frame::new(&mut buf, K_OUCH_REF).u32(1).u32(7).done();
        let one = buf.len();
        Frame::new(&mut buf, K_OUCH_REF).u32(1).u32(9).done();
        let (b, good) = frames(&buf);
        assert_eq!((b.len(), good), (2, buf.len()));
        for cut in one..buf.len() {
            let (b, good) = frames(&buf[..cut]);
            assert_eq!((b.len(), good), (1, one), "cut at {cut}");
        }
        let mut bad = buf.clone();
        bad[one + 6] ^= 1;
        assert_eq!(frames(&bad).1, one);
        let mut rp = Replay::default();
        for b in frames(&buf).0 {
            rp.apply(b).unwrap();
        }
        assert_eq!(rp.ouch_last.get(&1), Some(&9));
    }
}
