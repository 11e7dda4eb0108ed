//! FIX 4.4 tag=value codec.
//!
//! A message is `8=FIX.4.4␁9=<BodyLength>␁35=<MsgType>␁ … 10=<CheckSum>␁` where ␁ is SOH (0x01),
//! BodyLength counts the bytes from the first byte after `9=…␁` up to and including the SOH
//! before `10=`, and CheckSum is the sum of every byte before `10=`, modulo 256, as exactly three
//! digits.
//!
//! - [`frame`] finds where the first message of a receive buffer ends (or says more bytes are
//!   needed, or that the front is garbage) without reading the whole body;
//!   [`resync`] finds the next plausible `8=FIX` start after garbage.
//! - [`parse`] validates one whole message (BeginString first and equal to `FIX.4.4`, BodyLength
//!   second and exact, MsgType third, CheckSum last with three digits and the right value) and
//!   returns a [`Message`]: field views `(tag, &[u8])` into the input, kept inline (no heap
//!   allocation up to [`INLINE_FIELDS`] fields). Field-level problems that FIX answers with a
//!   session Reject rather than by dropping the message (tag 0 or negative, a tag without a value)
//!   do not fail the parse: they are recorded in [`Message::problem`] so the session can still read
//!   MsgSeqNum and reject with the right SessionRejectReason (373).
//! - [`encode`] writes header (8, 9, 35, 34, 43, 49, 52, 56, 122) + body + trailer with the right
//!   BodyLength and CheckSum into a `Vec<u8>`; [`Body`] writes typed fields. The admin messages
//!   have helpers ([`logon`], [`heartbeat`], [`test_request`], [`resend_request`], [`reject`],
//!   [`sequence_reset`], [`logout`], [`business_message_reject`]); application messages are in
//!   [`crate::fix_map`].
//!
//! Everything is O(message length); nothing panics on any input.
//!
//! ```
//! use ferrex_gateway::fix::{self, Header};
//! let h = Header { sender: b"ISLD", target: b"TW", seq: 1, sending_time: 0, poss_dup: None, extra: &[] };
//! let mut out = Vec::new();
//! fix::heartbeat(&mut out, &h, Some(b"HELLO"));
//! let m = fix::parse(&out).unwrap();
//! assert_eq!(m.msg_type(), b"0");
//! assert_eq!(m.get(112), Some(&b"HELLO"[..]));
//! assert_eq!(m.seq_num(), Some(1));
//! ```

use smallvec::SmallVec;

/// The field separator.
pub const SOH: u8 = 0x01;
/// The only BeginString this codec speaks.
pub const BEGIN_STRING: &[u8] = b"FIX.4.4";
/// Fields kept inline before the field list spills to the heap.
pub const INLINE_FIELDS: usize = 64;
/// Default maximum message size for [`frame`].
pub const DEFAULT_MAX_MESSAGE: usize = 8192;
/// Maximum number of fields [`parse`] accepts in one message.
pub const MAX_FIELDS: usize = 512;

/// Well-known tags.
#[allow(missing_docs)]
pub mod tag {
    pub const ACCOUNT: u32 = 1;
    pub const AVG_PX: u32 = 6;
    pub const BEGIN_SEQ_NO: u32 = 7;
    pub const BEGIN_STRING: u32 = 8;
    pub const BODY_LENGTH: u32 = 9;
    pub const CHECK_SUM: u32 = 10;
    pub const CL_ORD_ID: u32 = 11;
    pub const CUM_QTY: u32 = 14;
    pub const END_SEQ_NO: u32 = 16;
    pub const EXEC_ID: u32 = 17;
    pub const EXEC_INST: u32 = 18;
    pub const LAST_PX: u32 = 31;
    pub const LAST_QTY: u32 = 32;
    pub const MSG_SEQ_NUM: u32 = 34;
    pub const MSG_TYPE: u32 = 35;
    pub const NEW_SEQ_NO: u32 = 36;
    pub const ORDER_ID: u32 = 37;
    pub const ORDER_QTY: u32 = 38;
    pub const ORD_STATUS: u32 = 39;
    pub const ORD_TYPE: u32 = 40;
    pub const ORIG_CL_ORD_ID: u32 = 41;
    pub const POSS_DUP_FLAG: u32 = 43;
    pub const PRICE: u32 = 44;
    pub const REF_SEQ_NUM: u32 = 45;
    pub const SENDER_COMP_ID: u32 = 49;
    pub const SENDING_TIME: u32 = 52;
    pub const SIDE: u32 = 54;
    pub const SYMBOL: u32 = 55;
    pub const TARGET_COMP_ID: u32 = 56;
    pub const TEXT: u32 = 58;
    pub const TIME_IN_FORCE: u32 = 59;
    pub const TRANSACT_TIME: u32 = 60;
    pub const SIGNATURE: u32 = 89;
    pub const SIGNATURE_LENGTH: u32 = 93;
    pub const RAW_DATA_LENGTH: u32 = 95;
    pub const RAW_DATA: u32 = 96;
    pub const POSS_RESEND: u32 = 97;
    pub const ENCRYPT_METHOD: u32 = 98;
    pub const STOP_PX: u32 = 99;
    pub const CXL_REJ_REASON: u32 = 102;
    pub const ORD_REJ_REASON: u32 = 103;
    pub const HEART_BT_INT: u32 = 108;
    pub const MAX_FLOOR: u32 = 111;
    pub const TEST_REQ_ID: u32 = 112;
    pub const ORIG_SENDING_TIME: u32 = 122;
    pub const GAP_FILL_FLAG: u32 = 123;
    pub const EXPIRE_TIME: u32 = 126;
    pub const RESET_SEQ_NUM_FLAG: u32 = 141;
    pub const EXEC_TYPE: u32 = 150;
    pub const LEAVES_QTY: u32 = 151;
    pub const XML_DATA_LEN: u32 = 212;
    pub const XML_DATA: u32 = 213;
    pub const ENCODED_TEXT_LEN: u32 = 354;
    pub const ENCODED_TEXT: u32 = 355;
    pub const REF_TAG_ID: u32 = 371;
    pub const REF_MSG_TYPE: u32 = 372;
    pub const SESSION_REJECT_REASON: u32 = 373;
    pub const BUSINESS_REJECT_REF_ID: u32 = 379;
    pub const BUSINESS_REJECT_REASON: u32 = 380;
    pub const CXL_REJ_RESPONSE_TO: u32 = 434;
    pub const USERNAME: u32 = 553;
    pub const PASSWORD: u32 = 554;
}

/// The data field a length field announces (its value may contain SOH).
const fn data_field_of(len_tag: u32) -> Option<u32> {
    match len_tag {
        tag::SIGNATURE_LENGTH => Some(tag::SIGNATURE),
        tag::RAW_DATA_LENGTH => Some(tag::RAW_DATA),
        tag::XML_DATA_LEN => Some(tag::XML_DATA),
        tag::ENCODED_TEXT_LEN => Some(tag::ENCODED_TEXT),
        _ => None,
    }
}

/// SessionRejectReason (373) codes.
#[allow(missing_docs)]
pub mod reject_reason {
    pub const INVALID_TAG_NUMBER: u32 = 0;
    pub const REQUIRED_TAG_MISSING: u32 = 1;
    pub const TAG_NOT_DEFINED_FOR_MSG_TYPE: u32 = 2;
    pub const UNDEFINED_TAG: u32 = 3;
    pub const TAG_WITHOUT_VALUE: u32 = 4;
    pub const VALUE_INCORRECT: u32 = 5;
    pub const INCORRECT_DATA_FORMAT: u32 = 6;
    pub const COMP_ID_PROBLEM: u32 = 9;
    pub const SENDING_TIME_ACCURACY: u32 = 10;
    pub const INVALID_MSG_TYPE: u32 = 11;
    pub const TAG_APPEARS_MORE_THAN_ONCE: u32 = 13;
    pub const TAG_OUT_OF_ORDER: u32 = 14;
    pub const REPEATING_GROUP_OUT_OF_ORDER: u32 = 15;
    pub const INCORRECT_NUM_IN_GROUP: u32 = 16;
    pub const OTHER: u32 = 99;
}

/// A framing error: the message cannot be trusted at all (FIX says: ignore it, do not
/// increment the expected sequence number; a bad first message of a connection → disconnect).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum FixError {
    /// The message does not start with `8=`.
    #[error("BeginString (8) must be the first field (offset {offset})")]
    BeginStringNotFirst {
        /// Byte offset.
        offset: usize,
    },
    /// BeginString is not `FIX.4.4`.
    #[error("BeginString (8) is not FIX.4.4 (offset {offset})")]
    WrongBeginString {
        /// Byte offset of the value.
        offset: usize,
    },
    /// The second field is not `9=`.
    #[error("BodyLength (9) must be the second field (offset {offset})")]
    BodyLengthNotSecond {
        /// Byte offset.
        offset: usize,
    },
    /// BodyLength is not 1–7 digits.
    #[error("BodyLength (9) value is not a number (offset {offset})")]
    BadBodyLength {
        /// Byte offset of the value.
        offset: usize,
    },
    /// BodyLength does not match where `10=` is.
    #[error("BodyLength (9) is {declared}, but the body is {actual} bytes")]
    BodyLengthMismatch {
        /// Declared.
        declared: usize,
        /// Measured (up to the last `␁10=`), or `usize::MAX` when no trailer was found.
        actual: usize,
    },
    /// The message is larger than the allowed maximum.
    #[error("message of {len} bytes exceeds the maximum {max}")]
    TooLong {
        /// The length (declared or seen).
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The trailer is not `10=ddd␁` at the end.
    #[error("CheckSum (10) must be the last field, three digits (offset {offset})")]
    BadCheckSumField {
        /// Byte offset of the trailer (or where it was expected).
        offset: usize,
    },
    /// CheckSum value wrong.
    #[error("CheckSum (10) is {declared}, computed {computed}")]
    CheckSumMismatch {
        /// Declared.
        declared: u8,
        /// Computed.
        computed: u8,
    },
    /// The third field is not `35=`.
    #[error("MsgType (35) must be the third field (offset {offset})")]
    MsgTypeNotThird {
        /// Byte offset.
        offset: usize,
    },
    /// A field is not `tag=value␁` (no `=`, non-numeric tag, or a data field overrunning).
    #[error("garbled field at offset {offset}")]
    Garbled {
        /// Byte offset of the field.
        offset: usize,
    },
    /// More than [`MAX_FIELDS`] fields.
    #[error("more than {MAX_FIELDS} fields")]
    TooManyFields,
}

/// A field-level problem in an otherwise well-framed message: answered with a session Reject
/// (35=3) carrying [`FieldProblem::session_reject_reason`] and [`FieldProblem::tag`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldProblem {
    /// A tag ≤ 0 or out of range (the raw number, saturated to i64).
    InvalidTagNumber {
        /// The tag as written.
        tag: i64,
        /// Byte offset of the field.
        offset: usize,
    },
    /// `tag=` with an empty value.
    NoValue {
        /// The tag.
        tag: u32,
        /// Byte offset of the field.
        offset: usize,
    },
    /// A header field (49, 56, 34, 52, …) placed after a body field, or a body field in the
    /// trailer position.
    OutOfOrder {
        /// The tag.
        tag: u32,
        /// Byte offset of the field.
        offset: usize,
    },
}

impl FieldProblem {
    /// SessionRejectReason (373).
    pub const fn session_reject_reason(&self) -> u32 {
        match self {
            FieldProblem::InvalidTagNumber { .. } => reject_reason::INVALID_TAG_NUMBER,
            FieldProblem::NoValue { .. } => reject_reason::TAG_WITHOUT_VALUE,
            FieldProblem::OutOfOrder { .. } => reject_reason::TAG_OUT_OF_ORDER,
        }
    }
    /// RefTagID (371) as the Reject should print it.
    pub const fn tag(&self) -> i64 {
        match *self {
            FieldProblem::InvalidTagNumber { tag, .. } => tag,
            FieldProblem::NoValue { tag, .. } | FieldProblem::OutOfOrder { tag, .. } => tag as i64,
        }
    }
}

/// A field value problem found while reading a typed field (for session Reject / business
/// reject / OrdRejReason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum FieldError {
    /// Required tag missing.
    #[error("required tag {0} missing")]
    Missing(u32),
    /// Value not in the tag's format (not a number, not a timestamp, …).
    #[error("tag {0} has an incorrect data format")]
    BadFormat(u32),
    /// Value in format but not allowed (unknown enum value, out of range).
    #[error("tag {0} has an incorrect value")]
    BadValue(u32),
}

impl FieldError {
    /// SessionRejectReason (373).
    pub const fn session_reject_reason(&self) -> u32 {
        match self {
            FieldError::Missing(_) => reject_reason::REQUIRED_TAG_MISSING,
            FieldError::BadFormat(_) => reject_reason::INCORRECT_DATA_FORMAT,
            FieldError::BadValue(_) => reject_reason::VALUE_INCORRECT,
        }
    }
    /// The tag (RefTagID 371).
    pub const fn tag(&self) -> u32 {
        match *self {
            FieldError::Missing(t) | FieldError::BadFormat(t) | FieldError::BadValue(t) => t,
        }
    }
}

/// One field view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Field<'a> {
    /// Tag number.
    pub tag: u32,
    /// Value bytes (without the SOH).
    pub value: &'a [u8],
    /// Byte offset of the field (its tag) in the message.
    pub offset: usize,
}

/// A parsed, framing-validated message: field views into the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    raw: &'a [u8],
    fields: SmallVec<[Field<'a>; INLINE_FIELDS]>,
    problem: Option<FieldProblem>,
}

impl<'a> Message<'a> {
    /// The whole message bytes.
    pub const fn raw(&self) -> &'a [u8] {
        self.raw
    }
    /// Every field in wire order, 8 and 9 and 10 included.
    pub fn fields(&self) -> &[Field<'a>] {
        &self.fields
    }
    /// The first field-level problem, if any (see [`FieldProblem`]).
    pub const fn problem(&self) -> Option<FieldProblem> {
        self.problem
    }
    /// MsgType (35) value.
    pub fn msg_type(&self) -> &'a [u8] {
        self.fields.get(2).map_or(&[][..], |f| f.value)
    }
    /// The first value of `tag`. O(fields).
    pub fn get(&self, tag: u32) -> Option<&'a [u8]> {
        self.fields.iter().find(|f| f.tag == tag).map(|f| f.value)
    }
    /// How many times `tag` occurs.
    pub fn count(&self, tag: u32) -> usize {
        self.fields.iter().filter(|f| f.tag == tag).count()
    }
    /// A required field.
    pub fn req(&self, tag: u32) -> Result<&'a [u8], FieldError> {
        self.get(tag).ok_or(FieldError::Missing(tag))
    }
    /// An unsigned integer field (`None` when absent).
    pub fn get_u64(&self, tag: u32) -> Result<Option<u64>, FieldError> {
        self.get(tag)
            .map(|v| parse_u64(v).ok_or(FieldError::BadFormat(tag)))
            .transpose()
    }
    /// A required unsigned integer field.
    pub fn req_u64(&self, tag: u32) -> Result<u64, FieldError> {
        self.get_u64(tag)?.ok_or(FieldError::Missing(tag))
    }
    /// A Y/N boolean field (`None` when absent).
    pub fn get_bool(&self, tag: u32) -> Result<Option<bool>, FieldError> {
        match self.get(tag) {
            None => Ok(None),
            Some(b"Y") => Ok(Some(true)),
            Some(b"N") => Ok(Some(false)),
            Some(_) => Err(FieldError::BadValue(tag)),
        }
    }
    /// A UTCTimestamp field as Unix nanoseconds (`None` when absent).
    pub fn get_time(&self, tag: u32) -> Result<Option<u64>, FieldError> {
        self.get(tag)
            .map(|v| parse_utc_timestamp(v).ok_or(FieldError::BadFormat(tag)))
            .transpose()
    }
    /// MsgSeqNum (34) if present and numeric.
    pub fn seq_num(&self) -> Option<u64> {
        self.get(tag::MSG_SEQ_NUM).and_then(parse_u64)
    }
    /// PossDupFlag (43) = Y.
    pub fn poss_dup(&self) -> bool {
        self.get(tag::POSS_DUP_FLAG) == Some(b"Y")
    }
}

/// Unsigned decimal integer, 1–19 digits, no sign.
pub fn parse_u64(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    v.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// Signed decimal integer (for tags as written, which may be `-1`).
fn parse_i64(v: &[u8]) -> Option<i64> {
    let (neg, d) = match v.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, v),
    };
    let n = i64::try_from(parse_u64(d)?).ok()?;
    Some(if neg { -n } else { n })
}

/// How long the first message in `buf` is.
///
/// `Ok(None)`: more bytes needed. `Ok(Some(n))`: the first `n` bytes hold one message (still to
/// be checked by [`parse`]). `Err`: the front of the buffer is not a message start (the caller
/// drops bytes up to [`resync`]) or declares more than `max_len` bytes. O(header), no allocation.
pub fn frame(buf: &[u8], max_len: usize) -> Result<Option<usize>, FixError> {
    // "8=FIX.4.4" SOH "9=" digits SOH
    let prefix = b"8=";
    let n = buf.len().min(2);
    if buf[..n] != prefix[..n] {
        return Err(FixError::BeginStringNotFirst { offset: 0 });
    }
    let Some(soh1) = memchr::memchr(SOH, buf) else {
        return if buf.len() > 32 {
            Err(FixError::WrongBeginString { offset: 2 })
        } else {
            Ok(None)
        };
    };
    if soh1 > 32 {
        return Err(FixError::WrongBeginString { offset: 2 });
    }
    let rest = &buf[soh1 + 1..];
    let n = rest.len().min(2);
    if rest[..n] != b"9="[..n] {
        return Err(FixError::BodyLengthNotSecond { offset: soh1 + 1 });
    }
    let Some(soh2) = memchr::memchr(SOH, rest) else {
        return if rest.len() > 10 {
            Err(FixError::BadBodyLength { offset: soh1 + 3 })
        } else {
            Ok(None)
        };
    };
    let body_len = rest
        .get(2..soh2)
        .filter(|d| d.len() <= 7)
        .and_then(parse_u64)
        .ok_or(FixError::BadBodyLength { offset: soh1 + 3 })? as usize;
    let body_start = soh1 + 1 + soh2 + 1;
    if body_start + body_len + 7 > max_len {
        return Err(FixError::TooLong {
            len: body_start + body_len + 7,
            max: max_len,
        });
    }
    // Like QuickFIX: skip BodyLength bytes, then the message ends at the next "␁10=…␁". A wrong
    // BodyLength thus still yields one whole (garbled) message that `parse` rejects.
    let from = body_start + body_len;
    if buf.len() < from {
        return Ok(None);
    }
    let Some(t) = memchr::memmem::find(&buf[from - 1..], b"\x0110=") else {
        return if buf.len() > max_len {
            Err(FixError::TooLong {
                len: buf.len(),
                max: max_len,
            })
        } else {
            Ok(None)
        };
    };
    let after = from - 1 + t + 4;
    match memchr::memchr(SOH, &buf[after..]) {
        Some(e) if after + e < max_len => Ok(Some(after + e + 1)),
        Some(_) => Err(FixError::TooLong {
            len: after,
            max: max_len,
        }),
        None if buf.len() > max_len => Err(FixError::TooLong {
            len: buf.len(),
            max: max_len,
        }),
        None => Ok(None),
    }
}

/// Offset of the next `8=FIX` after the first byte of `buf` (where to resume after garbage), or
/// `buf.len()` minus a few bytes that could start one.
pub fn resync(buf: &[u8]) -> usize {
    let start = 1.min(buf.len());
    match memchr::memmem::find(&buf[start..], b"8=FIX") {
        Some(i) => start + i,
        None => buf.len().saturating_sub(4).max(start),
    }
}

/// Parse and validate one whole message (exactly one: `buf` must end with its trailer). See the
/// module docs for the checks. Allocation-free up to [`INLINE_FIELDS`] fields.
pub fn parse(buf: &[u8]) -> Result<Message<'_>, FixError> {
    // BeginString.
    if !buf.starts_with(b"8=") {
        return Err(FixError::BeginStringNotFirst { offset: 0 });
    }
    let soh1 = memchr::memchr(SOH, buf).ok_or(FixError::WrongBeginString { offset: 2 })?;
    if &buf[2..soh1] != BEGIN_STRING {
        return Err(FixError::WrongBeginString { offset: 2 });
    }
    // BodyLength.
    let bl_at = soh1 + 1;
    if !buf[bl_at..].starts_with(b"9=") {
        return Err(FixError::BodyLengthNotSecond { offset: bl_at });
    }
    let soh2 = memchr::memchr(SOH, &buf[bl_at..])
        .map(|i| bl_at + i)
        .ok_or(FixError::BadBodyLength { offset: bl_at + 2 })?;
    let declared = buf[bl_at + 2..soh2]
        .iter()
        .try_fold(0usize, |n, &b| {
            (b.is_ascii_digit() && n < 10_000_000).then(|| n * 10 + usize::from(b - b'0'))
        })
        .filter(|_| soh2 > bl_at + 2)
        .ok_or(FixError::BadBodyLength { offset: bl_at + 2 })?;
    let body_start = soh2 + 1;
    // Trailer: the last "␁10=" must be 7 bytes from the end: "10=ddd␁".
    let trailer_at = buf.len().checked_sub(7).filter(|&t| t >= body_start);
    let measured = memchr::memmem::rfind(&buf[body_start.saturating_sub(1)..], b"\x0110=")
        .map(|i| body_start.saturating_sub(1) + i + 1);
    let Some(body_end) = measured else {
        return Err(FixError::BodyLengthMismatch {
            declared,
            actual: usize::MAX,
        });
    };
    if body_end - body_start != declared {
        return Err(FixError::BodyLengthMismatch {
            declared,
            actual: body_end - body_start,
        });
    }
    if trailer_at != Some(body_end) || buf[buf.len() - 1] != SOH {
        return Err(FixError::BadCheckSumField { offset: body_end });
    }
    let digits = &buf[body_end + 3..body_end + 6];
    let Some(declared_sum) = parse_u64(digits).filter(|&v| v < 256) else {
        return Err(FixError::BadCheckSumField { offset: body_end });
    };
    let computed = checksum(&buf[..body_end]);
    if declared_sum as u8 != computed {
        return Err(FixError::CheckSumMismatch {
            declared: declared_sum as u8,
            computed,
        });
    }
    // Fields.
    let mut fields: SmallVec<[Field<'_>; INLINE_FIELDS]> = SmallVec::new();
    fields.push(Field {
        tag: tag::BEGIN_STRING,
        value: &buf[2..soh1],
        offset: 0,
    });
    fields.push(Field {
        tag: tag::BODY_LENGTH,
        value: &buf[bl_at + 2..soh2],
        offset: bl_at,
    });
    let mut problem = None;
    let mut at = body_start;
    let mut data_len: Option<(u32, usize)> = None;
    let mut in_body = false;
    while at < body_end {
        let eq = memchr::memchr(b'=', &buf[at..body_end])
            .map(|i| at + i)
            .ok_or(FixError::Garbled { offset: at })?;
        let tag_bytes = &buf[at..eq];
        let val_start = eq + 1;
        let tag_num = parse_u64(tag_bytes).and_then(|t| u32::try_from(t).ok());
        // A data field announced by its length field takes exactly that many bytes.
        let val_end = match (tag_num, data_len) {
            (Some(t), Some((dt, n))) if t == dt => {
                let end = val_start + n;
                if end >= body_end || buf[end] != SOH {
                    return Err(FixError::Garbled { offset: at });
                }
                end
            }
            _ => memchr::memchr(SOH, &buf[val_start..body_end])
                .map(|i| val_start + i)
                .ok_or(FixError::Garbled { offset: at })?,
        };
        data_len = None;
        let value = &buf[val_start..val_end];
        match tag_num {
            Some(t) if t > 0 => {
                if fields.len() == 2 && t != tag::MSG_TYPE {
                    return Err(FixError::MsgTypeNotThird { offset: at });
                }
                if value.is_empty() && problem.is_none() {
                    problem = Some(FieldProblem::NoValue { tag: t, offset: at });
                }
                let header = is_header_tag(t);
                if header && in_body && problem.is_none() {
                    problem = Some(FieldProblem::OutOfOrder { tag: t, offset: at });
                }
                if matches!(t, tag::BEGIN_STRING | tag::BODY_LENGTH | tag::CHECK_SUM)
                    && problem.is_none()
                {
                    problem = Some(FieldProblem::OutOfOrder { tag: t, offset: at });
                }
                if !header && fields.len() > 2 {
                    in_body = true;
                }
                if let Some(dt) = data_field_of(t) {
                    data_len = parse_u64(value)
                        .and_then(|n| usize::try_from(n).ok())
                        .map(|n| (dt, n));
                }
                if fields.len() >= MAX_FIELDS {
                    return Err(FixError::TooManyFields);
                }
                fields.push(Field {
                    tag: t,
                    value,
                    offset: at,
                });
            }
            _ => {
                if fields.len() == 2 {
                    return Err(FixError::MsgTypeNotThird { offset: at });
                }
                let Some(t) = parse_i64(tag_bytes).or_else(|| {
                    // Digits but beyond u32 range: report saturated.
                    (!tag_bytes.is_empty() && tag_bytes.iter().all(u8::is_ascii_digit))
                        .then_some(i64::MAX)
                }) else {
                    return Err(FixError::Garbled { offset: at });
                };
                if problem.is_none() {
                    problem = Some(FieldProblem::InvalidTagNumber { tag: t, offset: at });
                }
            }
        }
        at = val_end + 1;
    }
    if fields.len() == 2 {
        return Err(FixError::MsgTypeNotThird { offset: body_start });
    }
    fields.push(Field {
        tag: tag::CHECK_SUM,
        value: digits,
        offset: body_end,
    });
    Ok(Message {
        raw: buf,
        fields,
        problem,
    })
}

/// Standard header tags (after 8, 9, 35).
pub const fn is_header_tag(t: u32) -> bool {
    matches!(
        t,
        tag::MSG_TYPE
            | tag::MSG_SEQ_NUM
            | tag::POSS_DUP_FLAG
            | tag::SENDER_COMP_ID
            | tag::SENDING_TIME
            | tag::TARGET_COMP_ID
            | tag::POSS_RESEND
            | tag::ORIG_SENDING_TIME
            | 50
            | 57
            | 115
            | 116
            | 128
            | 129
            | 142
            | 143
            | 144
            | 145
            | 212
            | 213
            | 347
            | 369
            | 627
    )
}

/// Sum of bytes modulo 256.
pub fn checksum(b: &[u8]) -> u8 {
    b.iter().fold(0u8, |s, &x| s.wrapping_add(x))
}

/// Days since 1970-01-01 → (year, month, day). Howard Hinnant's civil-from-days.
const fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
const fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Format Unix nanoseconds as a FIX UTCTimestamp with milliseconds: `YYYYMMDD-HH:MM:SS.sss`.
pub fn format_utc_timestamp(unix_ns: u64) -> [u8; 21] {
    let secs = unix_ns / 1_000_000_000;
    let ms = (unix_ns / 1_000_000) % 1000;
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let sod = secs % 86_400;
    let (h, mi, s) = (sod / 3600, (sod / 60) % 60, sod % 60);
    let mut o = [0u8; 21];
    let y = y.clamp(0, 9999) as u64;
    let mut put = |at: usize, v: u64, w: usize| {
        let mut v = v;
        for i in (0..w).rev() {
            o[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(4, u64::from(mo), 2);
    put(6, u64::from(d), 2);
    put(9, h, 2);
    put(12, mi, 2);
    put(15, s, 2);
    put(18, ms, 3);
    o[8] = b'-';
    o[11] = b':';
    o[14] = b':';
    o[17] = b'.';
    o
}

/// Parse a FIX UTCTimestamp `YYYYMMDD-HH:MM:SS[.sss|.ssssss|.sssssssss]` into Unix nanoseconds.
pub fn parse_utc_timestamp(v: &[u8]) -> Option<u64> {
    if v.len() < 17 || v[8] != b'-' || v[11] != b':' || v[14] != b':' {
        return None;
    }
    let num = |r: core::ops::Range<usize>| parse_u64(&v[r]);
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(12..14)?, num(15..17)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let frac_ns = match &v[17..] {
        [] => 0,
        [b'.', f @ ..] if matches!(f.len(), 3 | 6 | 9) => {
            parse_u64(f)? * 10u64.pow(9 - f.len() as u32)
        }
        _ => return None,
    };
    let days = days_from_civil(y as i64, mo as u32, d as u32);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + mi * 60 + s;
    Some(secs * 1_000_000_000 + frac_ns)
}

/// The standard header of an outgoing message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header<'a> {
    /// SenderCompID (49).
    pub sender: &'a [u8],
    /// TargetCompID (56).
    pub target: &'a [u8],
    /// MsgSeqNum (34).
    pub seq: u64,
    /// SendingTime (52), Unix nanoseconds.
    pub sending_time: u64,
    /// On a resend: PossDupFlag (43) = Y and OrigSendingTime (122) = this time.
    pub poss_dup: Option<u64>,
    /// Further header fields (routing: 115/128, 116/129, 144/145), ascending by tag.
    pub extra: &'a [(u32, &'a [u8])],
}

/// Writes typed body fields of one message.
#[derive(Debug)]
pub struct Body<'v> {
    out: &'v mut Vec<u8>,
}

impl Body<'_> {
    /// A raw field. `value` must not contain SOH (not checked; data fields are the caller's).
    pub fn bytes(&mut self, tag: u32, value: &[u8]) -> &mut Self {
        self.uint_raw(u64::from(tag));
        self.out.push(b'=');
        self.out.extend_from_slice(value);
        self.out.push(SOH);
        self
    }
    fn uint_raw(&mut self, mut v: u64) {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&buf[i..]);
    }
    /// Pre-encoded `tag=value␁` fields, appended as they are (for re-sending a stored body).
    pub fn raw(&mut self, fields: &[u8]) -> &mut Self {
        self.out.extend_from_slice(fields);
        self
    }
    /// An unsigned integer field.
    pub fn uint(&mut self, tag: u32, v: u64) -> &mut Self {
        self.uint_raw(u64::from(tag));
        self.out.push(b'=');
        self.uint_raw(v);
        self.out.push(SOH);
        self
    }
    /// A signed integer field.
    pub fn int(&mut self, tag: u32, v: i64) -> &mut Self {
        self.uint_raw(u64::from(tag));
        self.out.push(b'=');
        if v < 0 {
            self.out.push(b'-');
        }
        self.uint_raw(v.unsigned_abs());
        self.out.push(SOH);
        self
    }
    /// A one-character field.
    pub fn char(&mut self, tag: u32, c: u8) -> &mut Self {
        self.bytes(tag, &[c])
    }
    /// A Y/N field.
    pub fn bool(&mut self, tag: u32, b: bool) -> &mut Self {
        self.char(tag, if b { b'Y' } else { b'N' })
    }
    /// A UTCTimestamp field (milliseconds) from Unix nanoseconds.
    pub fn time(&mut self, tag: u32, unix_ns: u64) -> &mut Self {
        self.bytes(tag, &format_utc_timestamp(unix_ns))
    }
    /// A decimal field `mantissa × 10^-decimals`, printed exactly (no float).
    pub fn decimal(&mut self, tag: u32, mantissa: i128, decimals: u32) -> &mut Self {
        let mut buf = [0u8; 48];
        let n = format_decimal(mantissa, decimals, &mut buf);
        self.bytes(tag, &buf[..n])
    }
}

/// Write `m × 10^-d` into `buf` without trailing fractional zeros; returns the length.
pub fn format_decimal(m: i128, d: u32, buf: &mut [u8; 48]) -> usize {
    let d = d.min(18);
    let mut digits = [0u8; 48];
    let mut v = m.unsigned_abs();
    let mut n = 0;
    while v > 0 || n <= d as usize {
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        n += 1;
    }
    // digits[0..n] least significant first; the fractional part is digits[0..d].
    let mut frac_start = 0;
    while frac_start < d as usize && digits[frac_start] == b'0' {
        frac_start += 1;
    }
    let mut o = 0;
    if m < 0 {
        buf[o] = b'-';
        o += 1;
    }
    for i in (d as usize..n).rev() {
        buf[o] = digits[i];
        o += 1;
    }
    if frac_start < d as usize {
        buf[o] = b'.';
        o += 1;
        for i in (frac_start..d as usize).rev() {
            buf[o] = digits[i];
            o += 1;
        }
    }
    o
}

/// Encode only body fields (no header, no trailer) into `out`, for storing a message body to
/// re-send later with [`Body::raw`].
pub fn write_body(out: &mut Vec<u8>, body: impl FnOnce(&mut Body<'_>)) {
    body(&mut Body { out });
}

/// Append one complete message to `out`: `8=FIX.4.4`, `9=`, `35=msg_type`, the header fields in
/// tag order (34, 43, 49, 52, 56, routing extras, 122), the fields `body` writes, and `10=`. Returns the message
/// length. Cost: O(length) plus one move of the body to insert BodyLength.
pub fn encode(
    out: &mut Vec<u8>,
    h: &Header<'_>,
    msg_type: &[u8],
    body: impl FnOnce(&mut Body<'_>),
) -> usize {
    let start = out.len();
    out.extend_from_slice(b"8=FIX.4.4\x01");
    let body_start = out.len();
    {
        let mut b = Body { out };
        b.bytes(tag::MSG_TYPE, msg_type)
            .uint(tag::MSG_SEQ_NUM, h.seq);
        if h.poss_dup.is_some() {
            b.bool(tag::POSS_DUP_FLAG, true);
        }
        b.bytes(tag::SENDER_COMP_ID, h.sender)
            .time(tag::SENDING_TIME, h.sending_time)
            .bytes(tag::TARGET_COMP_ID, h.target);
        for &(t, v) in h.extra.iter().filter(|(t, _)| *t < tag::ORIG_SENDING_TIME) {
            b.bytes(t, v);
        }
        if let Some(orig) = h.poss_dup {
            b.time(tag::ORIG_SENDING_TIME, orig);
        }
        for &(t, v) in h.extra.iter().filter(|(t, _)| *t > tag::ORIG_SENDING_TIME) {
            b.bytes(t, v);
        }
        body(&mut b);
    }
    let body_len = out.len() - body_start;
    let mut pre = Vec::with_capacity(0);
    let mut tmp = Body { out: &mut pre };
    tmp.uint(tag::BODY_LENGTH, body_len as u64);
    out.splice(body_start..body_start, pre);
    let sum = checksum(&out[start..]);
    out.extend_from_slice(&[
        b'1',
        b'0',
        b'=',
        b'0' + sum / 100,
        b'0' + (sum / 10) % 10,
        b'0' + sum % 10,
        SOH,
    ]);
    out.len() - start
}

/// Logon (A): EncryptMethod 98 = 0, HeartBtInt 108, ResetSeqNumFlag 141 when set, Username 553
/// and Password 554 when given.
pub fn logon(
    out: &mut Vec<u8>,
    h: &Header<'_>,
    heart_bt_int: u32,
    reset_seq_num: bool,
    username: Option<&[u8]>,
    password: Option<&[u8]>,
) -> usize {
    encode(out, h, b"A", |b| {
        b.uint(tag::ENCRYPT_METHOD, 0)
            .uint(tag::HEART_BT_INT, u64::from(heart_bt_int));
        if reset_seq_num {
            b.bool(tag::RESET_SEQ_NUM_FLAG, true);
        }
        if let Some(u) = username {
            b.bytes(tag::USERNAME, u);
        }
        if let Some(p) = password {
            b.bytes(tag::PASSWORD, p);
        }
    })
}

/// Heartbeat (0), with TestReqID 112 when answering a TestRequest.
pub fn heartbeat(out: &mut Vec<u8>, h: &Header<'_>, test_req_id: Option<&[u8]>) -> usize {
    encode(out, h, b"0", |b| {
        if let Some(id) = test_req_id {
            b.bytes(tag::TEST_REQ_ID, id);
        }
    })
}

/// TestRequest (1) with TestReqID 112.
pub fn test_request(out: &mut Vec<u8>, h: &Header<'_>, test_req_id: &[u8]) -> usize {
    encode(out, h, b"1", |b| {
        b.bytes(tag::TEST_REQ_ID, test_req_id);
    })
}

/// ResendRequest (2): BeginSeqNo 7, EndSeqNo 16 (0 = infinity).
pub fn resend_request(out: &mut Vec<u8>, h: &Header<'_>, begin: u64, end: u64) -> usize {
    encode(out, h, b"2", |b| {
        b.uint(tag::BEGIN_SEQ_NO, begin).uint(tag::END_SEQ_NO, end);
    })
}

/// The content of a session-level Reject (3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionReject<'a> {
    /// RefSeqNum (45): the rejected message's MsgSeqNum.
    pub ref_seq_num: u64,
    /// RefTagID (371), when a field is at fault.
    pub ref_tag: Option<i64>,
    /// RefMsgType (372), when known.
    pub ref_msg_type: Option<&'a [u8]>,
    /// SessionRejectReason (373).
    pub reason: Option<u32>,
    /// Text (58).
    pub text: Option<&'a [u8]>,
}

/// Reject (3).
pub fn reject(out: &mut Vec<u8>, h: &Header<'_>, r: &SessionReject<'_>) -> usize {
    encode(out, h, b"3", |b| {
        b.uint(tag::REF_SEQ_NUM, r.ref_seq_num);
        if let Some(t) = r.text {
            b.bytes(tag::TEXT, t);
        }
        if let Some(t) = r.ref_tag {
            b.int(tag::REF_TAG_ID, t);
        }
        if let Some(t) = r.ref_msg_type {
            b.bytes(tag::REF_MSG_TYPE, t);
        }
        if let Some(x) = r.reason {
            b.uint(tag::SESSION_REJECT_REASON, u64::from(x));
        }
    })
}

/// SequenceReset (4): GapFillFlag 123 = Y for a gap fill, NewSeqNo 36.
pub fn sequence_reset(out: &mut Vec<u8>, h: &Header<'_>, new_seq_no: u64, gap_fill: bool) -> usize {
    encode(out, h, b"4", |b| {
        b.uint(tag::NEW_SEQ_NO, new_seq_no);
        if gap_fill {
            b.bool(tag::GAP_FILL_FLAG, true);
        }
    })
}

/// Logout (5), with Text 58 when given.
pub fn logout(out: &mut Vec<u8>, h: &Header<'_>, text: Option<&[u8]>) -> usize {
    encode(out, h, b"5", |b| {
        if let Some(t) = text {
            b.bytes(tag::TEXT, t);
        }
    })
}

/// BusinessMessageReject (j): RefSeqNum 45, Text 58, RefMsgType 372, BusinessRejectRefID 379,
/// BusinessRejectReason 380.
pub fn business_message_reject(
    out: &mut Vec<u8>,
    h: &Header<'_>,
    ref_seq_num: u64,
    ref_msg_type: &[u8],
    ref_id: Option<&[u8]>,
    reason: u32,
    text: Option<&[u8]>,
) -> usize {
    encode(out, h, b"j", |b| {
        b.uint(tag::REF_SEQ_NUM, ref_seq_num);
        if let Some(t) = text {
            b.bytes(tag::TEXT, t);
        }
        b.bytes(tag::REF_MSG_TYPE, ref_msg_type);
        if let Some(id) = ref_id {
            b.bytes(tag::BUSINESS_REJECT_REF_ID, id);
        }
        b.uint(tag::BUSINESS_REJECT_REASON, u64::from(reason));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Header<'static> = Header {
        sender: b"ISLD",
        target: b"TW",
        seq: 7,
        sending_time: 1_700_000_000_123_000_000,
        poss_dup: None,
        extra: &[],
    };

    fn soh(s: &str) -> Vec<u8> {
        s.replace('|', "\x01").into_bytes()
    }

    /// Build a message from `8=..|35=..|...|` text, filling in 9 and 10.
    fn build(body_after_9: &str) -> Vec<u8> {
        let body = soh(body_after_9);
        let mut m = soh(&format!("8=FIX.4.4|9={}|", body.len()));
        m.extend_from_slice(&body);
        let sum = checksum(&m);
        m.extend_from_slice(&soh(&format!("10={sum:03}|")));
        m
    }

    #[test]
    fn known_message_bytes() {
        // The acceptance suite's expected logout: 9=49 for this exact header.
        let h = Header {
            sender: b"ISLD",
            target: b"TW",
            seq: 2,
            sending_time: 0,
            poss_dup: None,
            extra: &[],
        };
        let mut out = Vec::new();
        logout(&mut out, &h, None);
        let s = String::from_utf8(out.clone()).unwrap().replace('\x01', "|");
        assert!(
            s.starts_with("8=FIX.4.4|9=49|35=5|34=2|49=ISLD|52=19700101-00:00:00.000|56=TW|10="),
            "{s}"
        );
        let m = parse(&out).unwrap();
        assert_eq!(m.msg_type(), b"5");
        // checksum value: recompute independently
        let body_end = out.len() - 7;
        let sum: u32 = out[..body_end].iter().map(|&b| u32::from(b)).sum();
        assert_eq!(
            &out[body_end + 3..body_end + 6],
            format!("{:03}", sum % 256).as_bytes()
        );
    }

    type Case = (&'static [u8], Vec<(u32, &'static [u8])>);

    #[test]
    fn round_trip_admin_messages() {
        let mut out = Vec::new();
        let cases: Vec<Case> = vec![
            (
                b"A",
                vec![
                    (98, b"0"),
                    (108, b"30"),
                    (141, b"Y"),
                    (553, b"user"),
                    (554, b"pw"),
                ],
            ),
            (b"0", vec![(112, b"HELLO")]),
            (b"1", vec![(112, b"T1")]),
            (b"2", vec![(7, b"2"), (16, b"0")]),
            (
                b"3",
                vec![
                    (45, b"4"),
                    (58, b"bad"),
                    (371, b"-1"),
                    (372, b"D"),
                    (373, b"0"),
                ],
            ),
            (b"4", vec![(36, b"10"), (123, b"Y")]),
            (b"5", vec![(58, b"bye")]),
            (
                b"j",
                vec![(45, b"3"), (372, b"Z"), (379, b"X1"), (380, b"3")],
            ),
        ];
        for (mt, want) in &cases {
            out.clear();
            match *mt {
                b"A" => logon(&mut out, &H, 30, true, Some(b"user"), Some(b"pw")),
                b"0" => heartbeat(&mut out, &H, Some(b"HELLO")),
                b"1" => test_request(&mut out, &H, b"T1"),
                b"2" => resend_request(&mut out, &H, 2, 0),
                b"3" => reject(
                    &mut out,
                    &H,
                    &SessionReject {
                        ref_seq_num: 4,
                        ref_tag: Some(-1),
                        ref_msg_type: Some(b"D"),
                        reason: Some(0),
                        text: Some(b"bad"),
                    },
                ),
                b"4" => sequence_reset(&mut out, &H, 10, true),
                b"5" => logout(&mut out, &H, Some(b"bye")),
                _ => business_message_reject(&mut out, &H, 3, b"Z", Some(b"X1"), 3, None),
            };
            let m = parse(&out).unwrap();
            assert_eq!(m.msg_type(), *mt);
            assert_eq!(m.seq_num(), Some(7));
            assert_eq!(m.get(49), Some(&b"ISLD"[..]));
            assert_eq!(m.get(56), Some(&b"TW"[..]));
            assert_eq!(m.get_time(52).unwrap(), Some(1_700_000_000_123_000_000));
            assert_eq!(m.problem(), None);
            let body: Vec<(u32, &[u8])> = m.fields()[7..m.fields().len() - 1]
                .iter()
                .map(|f| (f.tag, f.value))
                .collect();
            assert_eq!(&body, want, "{}", String::from_utf8_lossy(mt));
            // frame finds the same length; every prefix is incomplete.
            assert_eq!(frame(&out, DEFAULT_MAX_MESSAGE), Ok(Some(out.len())));
            for k in 0..out.len() {
                assert_eq!(
                    frame(&out[..k], DEFAULT_MAX_MESSAGE),
                    Ok(None),
                    "prefix {k}"
                );
                assert!(parse(&out[..k]).is_err());
            }
        }
    }

    #[test]
    fn poss_dup_header() {
        let h = Header {
            poss_dup: Some(1_000_000_000),
            extra: &[],
            ..H
        };
        let mut out = Vec::new();
        heartbeat(&mut out, &h, None);
        let m = parse(&out).unwrap();
        assert!(m.poss_dup());
        assert_eq!(m.get_time(122).unwrap(), Some(1_000_000_000));
        let tags: Vec<u32> = m.fields().iter().map(|f| f.tag).collect();
        assert_eq!(tags, [8, 9, 35, 34, 43, 49, 52, 56, 122, 10]);
    }

    #[test]
    fn framing_errors() {
        let good = build("35=0|34=2|49=TW|52=20240101-00:00:00|56=ISLD|");
        assert!(parse(&good).is_ok());
        // Bad checksum.
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 2] = if bad[n - 2] == b'9' { b'0' } else { b'9' };
        assert!(matches!(
            parse(&bad),
            Err(FixError::CheckSumMismatch { .. })
        ));
        // Checksum with 2 digits.
        let mut bad = good[..good.len() - 7].to_vec();
        bad.extend_from_slice(b"10=12\x01");
        assert!(matches!(
            parse(&bad),
            Err(FixError::BadCheckSumField { .. }) | Err(FixError::BodyLengthMismatch { .. })
        ));
        // Wrong body length.
        let s = String::from_utf8(good.clone()).unwrap();
        let bad = s.replacen("9=", "9=1", 1).into_bytes();
        assert!(matches!(
            parse(&bad),
            Err(FixError::BodyLengthMismatch { .. })
        ));
        // BeginString.
        let bad = s.replacen("FIX.4.4", "FIX.4.2", 1).into_bytes();
        assert_eq!(parse(&bad), Err(FixError::WrongBeginString { offset: 2 }));
        assert_eq!(
            parse(b"garbage"),
            Err(FixError::BeginStringNotFirst { offset: 0 })
        );
        // MsgType not third.
        let bad = build("34=2|35=0|49=TW|52=20240101-00:00:00|56=ISLD|");
        assert_eq!(parse(&bad), Err(FixError::MsgTypeNotThird { offset: 15 }));
        // Body length not second.
        let bad = soh("8=FIX.4.4|35=0|9=5|10=000|");
        assert_eq!(
            parse(&bad),
            Err(FixError::BodyLengthNotSecond { offset: 10 })
        );
        // Huge body length in frame.
        assert_eq!(
            frame(&soh("8=FIX.4.4|9=9999999|35"), 8192),
            Err(FixError::TooLong {
                len: 10_000_026,
                max: 8192
            })
        );
        assert!(frame(&soh("8=FIX.4.4|9=12345678|"), 8192).is_err());
        assert!(frame(b"XYZ", 8192).is_err());
        assert_eq!(resync(b"xx8=FIX.4.4"), 2);
    }

    #[test]
    fn field_problems_are_recorded_not_fatal() {
        let b = build("35=0|34=2|49=TW|52=20240101-00:00:00|56=|");
        let m = parse(&b).unwrap();
        assert_eq!(
            m.problem(),
            Some(FieldProblem::NoValue {
                tag: 56,
                offset: 52
            })
        );
        let b = build("35=0|34=2|49=TW|52=20240101-00:00:00|56=ISLD|-1=x|");
        let m = parse(&b).unwrap();
        assert_eq!(
            m.problem().map(|p| (p.tag(), p.session_reject_reason())),
            Some((-1, 0))
        );
        assert_eq!(m.seq_num(), Some(2));
        let b = build("35=0|34=2|49=TW|52=20240101-00:00:00|56=ISLD|0=x|");
        let m = parse(&b).unwrap();
        assert_eq!(m.problem().map(|p| p.tag()), Some(0));
        let b = build("35=0|34=2|49=TW|112=x|52=20240101-00:00:00|56=ISLD|");
        let m = parse(&b).unwrap();
        assert!(matches!(
            m.problem(),
            Some(FieldProblem::OutOfOrder { tag: 52, .. })
        ));
        assert!(matches!(
            parse(&build("35=0|34=2|garbage|")),
            Err(FixError::Garbled { .. })
        ));
    }

    #[test]
    fn data_fields_may_contain_soh() {
        let b = build("35=0|34=2|49=TW|52=20240101-00:00:00|56=ISLD|95=3|96=a|b|");
        let m = parse(&b).unwrap();
        assert_eq!(m.get(96), Some(&b"a\x01b"[..]));
    }

    #[test]
    fn timestamps_round_trip() {
        for ns in [
            0u64,
            1_700_000_000_123_000_000,
            951_782_400_000_000_000,
            4_102_444_799_999_000_000,
        ] {
            let s = format_utc_timestamp(ns);
            assert_eq!(
                parse_utc_timestamp(&s),
                Some(ns),
                "{}",
                String::from_utf8_lossy(&s)
            );
        }
        assert_eq!(
            &format_utc_timestamp(951_782_400_000_000_000),
            b"20000229-00:00:00.000"
        );
        assert_eq!(
            parse_utc_timestamp(b"20000229-00:00:00.123456"),
            Some(951_782_400_123_456_000)
        );
        assert_eq!(parse_utc_timestamp(b"20001329-00:00:00"), None);
        assert_eq!(parse_utc_timestamp(b"2000-02-29"), None);
    }

    #[test]
    fn decimals() {
        let f = |m, d| {
            let mut b = [0u8; 48];
            let n = format_decimal(m, d, &mut b);
            String::from_utf8(b[..n].to_vec()).unwrap()
        };
        assert_eq!(f(12345, 2), "123.45");
        assert_eq!(f(12300, 2), "123");
        assert_eq!(f(5, 4), "0.0005");
        assert_eq!(f(-5, 1), "-0.5");
        assert_eq!(f(0, 3), "0");
        assert_eq!(f(100, 0), "100");
    }
}
