//! The binary encoding of one journal entry: `(seq, time, CommandKind)`, little-endian, explicit.
//!
//! Layout of a payload (format [`FORMAT_VERSION`] 1):
//!
//! ```text
//! seq: u64 | time: u64 | tag: u8 | fields of the variant, in declaration order
//! ```
//!
//! | tag | variant | fields |
//! | --- | --- | --- |
//! | 1 | `New` | order_id u64, price i64, stop_price i64, qty u64, display_qty u64, expire_time u64, account u32, instrument u32, stp_group u32, side u8, ord_type u8, tif u8, stp u8, flags u8 |
//! | 2 | `Cancel` | order_id u64, account u32, instrument u32 |
//! | 3 | `Modify` | order_id u64, price i64, qty u64, account u32, instrument u32 |
//! | 4 | `MassCancel` | account u32, has_instrument u8 (0/1), instrument u32 (0 when absent) |
//! | 5 | `Risk(Kill)` | account u32 |
//! | 6 | `Risk(SetAccountState)` | account u32, state u8 |
//! | 7 | `Risk(SetInstrumentState)` | instrument u32, state u8 |
//! | 8 | `Risk(SetLimit)` | value i64, account u32, instrument u32, kind u8 |
//! | 9 | `Risk(SetReferencePrice)` | instrument u32, price i64 |
//! | 10 | `Risk(ResetMmp)` | account u32 |
//!
//! Enums are written as their `#[repr(u8)]` codes; decoding validates every enum byte, every
//! boolean, and rejects trailing bytes. The encoding never changes within a format version: a new
//! variant or field takes a new tag or a new version.

use ferrex_types::{
    AccountId, CancelOrder, Command, CommandKind, InstrumentId, LimitKind, MassCancel, ModifyOrder,
    NewOrder, OrdType, OrderFlags, OrderId, Price, Qty, RiskControl, SetLimit, Side, StpMode,
    TimeInForce, TradingState,
};

/// Version of the payload encoding and segment layout; written in every segment header.
pub const FORMAT_VERSION: u32 = 1;

/// Largest payload any command encodes to (a `New`: 8 + 8 + 1 + 48 + 12 + 5 bytes).
pub const MAX_PAYLOAD: usize = 82;

/// One sequenced input as journaled: the sequence number and the command (whose `time` field is
/// the engine time stamped by the sequencer). `Copy`, so it travels through a ring by value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JournalEntry {
    /// Sequence number stamped by the sequencer; consecutive in the journal.
    pub seq: u64,
    /// The command, with its engine time.
    pub command: Command,
}

impl JournalEntry {
    /// An entry from its parts.
    #[inline]
    pub const fn new(seq: u64, command: Command) -> JournalEntry {
        JournalEntry { seq, command }
    }
}

/// Why a payload failed to decode. `offset` is the byte offset inside the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload ended before the field at `offset` (`need` bytes) was complete.
    #[error("payload truncated at byte {offset}: needed {need} more bytes")]
    Truncated {
        /// Offset of the field that did not fit.
        offset: usize,
        /// Bytes the field needed.
        need: usize,
    },
    /// Unknown command tag.
    #[error("unknown command tag {tag} at byte {offset}")]
    UnknownTag {
        /// Offset of the tag.
        offset: usize,
        /// The byte found.
        tag: u8,
    },
    /// An enum or boolean byte outside its range.
    #[error("invalid {field} code {value} at byte {offset}")]
    BadEnum {
        /// Which field (`side`, `ord_type`, `tif`, `stp`, `state`, `limit_kind`, `has_instrument`).
        field: &'static str,
        /// Offset of the byte.
        offset: usize,
        /// The byte found.
        value: u8,
    },
    /// `MassCancel` without an instrument carried a non-zero instrument id.
    #[error("mass cancel without instrument has non-zero instrument id {value} at byte {offset}")]
    NonCanonical {
        /// Offset of the field.
        offset: usize,
        /// The value found.
        value: u32,
    },
    /// Bytes left over after the command.
    #[error("{extra} trailing bytes after the command at byte {offset}")]
    Trailing {
        /// Offset of the first extra byte.
        offset: usize,
        /// How many.
        extra: usize,
    },
}

/// Appends the encoding of `entry` to `out`. Cost: at most [`MAX_PAYLOAD`] byte writes; no
/// allocation when `out` has the capacity.
pub fn encode(entry: &JournalEntry, out: &mut Vec<u8>) {
    out.extend_from_slice(&entry.seq.to_le_bytes());
    out.extend_from_slice(&entry.command.time.to_le_bytes());
    let u8_ = |out: &mut Vec<u8>, v: u8| out.push(v);
    let u32_ = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    let u64_ = |out: &mut Vec<u8>, v: u64| out.extend_from_slice(&v.to_le_bytes());
    let i64_ = |out: &mut Vec<u8>, v: i64| out.extend_from_slice(&v.to_le_bytes());
    match entry.command.kind {
        CommandKind::New(n) => {
            u8_(out, 1);
            u64_(out, n.order_id.0);
            i64_(out, n.price.0);
            i64_(out, n.stop_price.0);
            u64_(out, n.qty.0);
            u64_(out, n.display_qty.0);
            u64_(out, n.expire_time);
            u32_(out, n.account.0);
            u32_(out, n.instrument.0);
            u32_(out, n.stp_group);
            u8_(out, n.side as u8);
            u8_(out, n.ord_type as u8);
            u8_(out, n.tif as u8);
            u8_(out, n.stp as u8);
            u8_(out, n.flags.0);
        }
        CommandKind::Cancel(c) => {
            u8_(out, 2);
            u64_(out, c.order_id.0);
            u32_(out, c.account.0);
            u32_(out, c.instrument.0);
        }
        CommandKind::Modify(m) => {
            u8_(out, 3);
            u64_(out, m.order_id.0);
            i64_(out, m.price.0);
            u64_(out, m.qty.0);
            u32_(out, m.account.0);
            u32_(out, m.instrument.0);
        }
        CommandKind::MassCancel(m) => {
            u8_(out, 4);
            u32_(out, m.account.0);
            match m.instrument {
                Some(i) => {
                    u8_(out, 1);
                    u32_(out, i.0);
                }
                None => {
                    u8_(out, 0);
                    u32_(out, 0);
                }
            }
        }
        CommandKind::Risk(r) => match r {
            RiskControl::Kill { account } => {
                u8_(out, 5);
                u32_(out, account.0);
            }
            RiskControl::SetAccountState { account, state } => {
                u8_(out, 6);
                u32_(out, account.0);
                u8_(out, state as u8);
            }
            RiskControl::SetInstrumentState { instrument, state } => {
                u8_(out, 7);
                u32_(out, instrument.0);
                u8_(out, state as u8);
            }
            RiskControl::SetLimit(l) => {
                u8_(out, 8);
                i64_(out, l.value);
                u32_(out, l.account.0);
                u32_(out, l.instrument.0);
                u8_(out, l.kind as u8);
            }
            RiskControl::SetReferencePrice { instrument, price } => {
                u8_(out, 9);
                u32_(out, instrument.0);
                i64_(out, price.0);
            }
            RiskControl::ResetMmp { account } => {
                u8_(out, 10);
                u32_(out, account.0);
            }
        },
    }
}

/// A bounds-checked little-endian cursor.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let end = self.pos.checked_add(N).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                need: N - (self.buf.len() - self.pos.min(self.buf.len())),
            });
        };
        let mut a = [0u8; N];
        a.copy_from_slice(&self.buf[self.pos..end]);
        self.pos = end;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.take()?))
    }
    /// Reads one enum byte and maps it through `f`, naming `field` on failure.
    fn code<T>(&mut self, field: &'static str, f: fn(u8) -> Option<T>) -> Result<T, DecodeError> {
        let offset = self.pos;
        let value = self.u8()?;
        f(value).ok_or(DecodeError::BadEnum {
            field,
            offset,
            value,
        })
    }
}

fn side(v: u8) -> Option<Side> {
    match v {
        0 => Some(Side::Buy),
        1 => Some(Side::Sell),
        _ => None,
    }
}
fn ord_type(v: u8) -> Option<OrdType> {
    match v {
        0 => Some(OrdType::Limit),
        1 => Some(OrdType::Market),
        2 => Some(OrdType::Stop),
        3 => Some(OrdType::StopLimit),
        _ => None,
    }
}
fn tif(v: u8) -> Option<TimeInForce> {
    match v {
        0 => Some(TimeInForce::Gtc),
        1 => Some(TimeInForce::Ioc),
        2 => Some(TimeInForce::Fok),
        3 => Some(TimeInForce::Gtd),
        4 => Some(TimeInForce::PostOnly),
        _ => None,
    }
}
fn stp(v: u8) -> Option<StpMode> {
    match v {
        0 => Some(StpMode::CancelResting),
        1 => Some(StpMode::CancelAggressor),
        2 => Some(StpMode::CancelBoth),
        3 => Some(StpMode::DecrementAndCancel),
        4 => Some(StpMode::None),
        _ => None,
    }
}
fn state(v: u8) -> Option<TradingState> {
    match v {
        0 => Some(TradingState::Active),
        1 => Some(TradingState::Reducing),
        2 => Some(TradingState::Halted),
        _ => None,
    }
}
fn limit_kind(v: u8) -> Option<LimitKind> {
    match v {
        0 => Some(LimitKind::MaxOrderQty),
        1 => Some(LimitKind::MaxOrderNotional),
        2 => Some(LimitKind::CreditLimit),
        3 => Some(LimitKind::MaxLong),
        4 => Some(LimitKind::MaxShort),
        5 => Some(LimitKind::MaxOpenOrders),
        6 => Some(LimitKind::ThrottleRate),
        7 => Some(LimitKind::PriceBand),
        8 => Some(LimitKind::MaxOpenOrdersPerInstrument),
        _ => None,
    }
}
fn boolean(v: u8) -> Option<bool> {
    match v {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

/// Decodes one payload produced by [`encode`]. Every byte of `buf` must belong to the entry.
/// Cost: one pass over at most [`MAX_PAYLOAD`] bytes; never panics, never allocates.
pub fn decode(buf: &[u8]) -> Result<JournalEntry, DecodeError> {
    let mut c = Cursor { buf, pos: 0 };
    let seq = c.u64()?;
    let time = c.u64()?;
    let tag_at = c.pos;
    let tag = c.u8()?;
    let kind = match tag {
        1 => CommandKind::New(NewOrder {
            order_id: OrderId(c.u64()?),
            price: Price(c.i64()?),
            stop_price: Price(c.i64()?),
            qty: Qty(c.u64()?),
            display_qty: Qty(c.u64()?),
            expire_time: c.u64()?,
            account: AccountId(c.u32()?),
            instrument: InstrumentId(c.u32()?),
            stp_group: c.u32()?,
            side: c.code("side", side)?,
            ord_type: c.code("ord_type", ord_type)?,
            tif: c.code("tif", tif)?,
            stp: c.code("stp", stp)?,
            flags: OrderFlags(c.u8()?),
        }),
        2 => CommandKind::Cancel(CancelOrder {
            order_id: OrderId(c.u64()?),
            account: AccountId(c.u32()?),
            instrument: InstrumentId(c.u32()?),
        }),
        3 => CommandKind::Modify(ModifyOrder {
            order_id: OrderId(c.u64()?),
            price: Price(c.i64()?),
            qty: Qty(c.u64()?),
            account: AccountId(c.u32()?),
            instrument: InstrumentId(c.u32()?),
        }),
        4 => {
            let account = AccountId(c.u32()?);
            let has = c.code("has_instrument", boolean)?;
            let at = c.pos;
            let id = c.u32()?;
            let instrument = if has {
                Some(InstrumentId(id))
            } else if id != 0 {
                return Err(DecodeError::NonCanonical {
                    offset: at,
                    value: id,
                });
            } else {
                None
            };
            CommandKind::MassCancel(MassCancel {
                account,
                instrument,
            })
        }
        5 => CommandKind::Risk(RiskControl::Kill {
            account: AccountId(c.u32()?),
        }),
        6 => CommandKind::Risk(RiskControl::SetAccountState {
            account: AccountId(c.u32()?),
            state: c.code("state", state)?,
        }),
        7 => CommandKind::Risk(RiskControl::SetInstrumentState {
            instrument: InstrumentId(c.u32()?),
            state: c.code("state", state)?,
        }),
        8 => CommandKind::Risk(RiskControl::SetLimit(SetLimit {
            value: c.i64()?,
            account: AccountId(c.u32()?),
            instrument: InstrumentId(c.u32()?),
            kind: c.code("limit_kind", limit_kind)?,
        })),
        9 => CommandKind::Risk(RiskControl::SetReferencePrice {
            instrument: InstrumentId(c.u32()?),
            price: Price(c.i64()?),
        }),
        10 => CommandKind::Risk(RiskControl::ResetMmp {
            account: AccountId(c.u32()?),
        }),
        tag => {
            return Err(DecodeError::UnknownTag {
                offset: tag_at,
                tag,
            });
        }
    };
    if c.pos != buf.len() {
        return Err(DecodeError::Trailing {
            offset: c.pos,
            extra: buf.len() - c.pos,
        });
    }
    Ok(JournalEntry {
        seq,
        command: Command { time, kind },
    })
}
