//! NASDAQ TotalView-ITCH 5.0: a zero-copy decoder for the full message set and a reader for the
//! BinaryFILE framing NASDAQ distributes (each message preceded by a 2-byte big-endian length).
//!
//! Every message body starts with the same 11-byte header: message type (1), stock locate (2),
//! tracking number (2), timestamp (6, nanoseconds since midnight). All integers are big-endian;
//! `Price(4)` fields are unsigned with 4 implied decimals and are returned raw (so the ferrex
//! [`Price`] of an ITCH price is the raw value: 1/10000 dollar ticks); `Price(8)` fields (MWCB
//! levels) have 8 implied decimals. Alpha fields are borrowed from the buffer as fixed-size byte
//! arrays (space padded, as in the feed).
//!
//! Body lengths (type byte included), per the ITCH 5.0 specification:
//!
//! | type | message | bytes |
//! |---|---|---|
//! | `S` | system event | 12 |
//! | `R` | stock directory | 39 |
//! | `H` | stock trading action | 25 |
//! | `Y` | Reg SHO short sale price test | 20 |
//! | `L` | market participant position | 26 |
//! | `V` | MWCB decline level | 35 |
//! | `W` | MWCB status | 12 |
//! | `K` | IPO quoting period update | 28 |
//! | `J` | LULD auction collar | 35 |
//! | `h` | operational halt | 21 |
//! | `A` | add order (no MPID) | 36 |
//! | `F` | add order with MPID attribution | 40 |
//! | `E` | order executed | 31 |
//! | `C` | order executed with price | 36 |
//! | `X` | order cancel | 23 |
//! | `D` | order delete | 19 |
//! | `U` | order replace | 35 |
//! | `P` | trade (non-cross) | 44 |
//! | `Q` | cross trade | 40 |
//! | `B` | broken trade | 19 |
//! | `I` | net order imbalance indicator (NOII) | 50 |
//! | `N` | retail price improvement indicator (RPII) | 20 |
//! | `O` | direct listing with capital raise price discovery | 48 |
//!
//! A frame whose length differs from its type's length is an error (no padding is tolerated), as
//! is an unknown type byte, a zero length, a frame cut short by the end of the buffer, or a
//! buy/sell indicator other than `B`/`S`. Decoding never panics and never allocates; the reader
//! stops after the first error.
//!
//! ```
//! use ferrex_replay::itch::{ItchMessage, ItchReader};
//! // One order-delete frame: length 19, then 'D', locate 13, tracking 0, timestamp 1, ref 42.
//! let mut buf = vec![0, 19, b'D', 0, 13, 0, 0, 0, 0, 0, 0, 0, 1];
//! buf.extend_from_slice(&42u64.to_be_bytes());
//! let mut r = ItchReader::new(&buf);
//! let (offset, msg) = r.next().unwrap().unwrap();
//! assert_eq!(offset, 0);
//! assert!(matches!(msg, ItchMessage::OrderDelete(d) if d.order_ref == 42));
//! assert!(r.next().is_none());
//! ```

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use ferrex_types::{Price, Side};

/// Length of the common header (type, locate, tracking number, timestamp).
pub const HEADER_LEN: usize = 11;

/// The ITCH 5.0 body length (type byte included) of message type `t`, or `None` for a type the
/// specification does not define. O(1).
pub const fn body_len(t: u8) -> Option<usize> {
    Some(match t {
        b'S' => 12,
        b'R' => 39,
        b'H' => 25,
        b'Y' => 20,
        b'L' => 26,
        b'V' => 35,
        b'W' => 12,
        b'K' => 28,
        b'J' => 35,
        b'h' => 21,
        b'A' => 36,
        b'F' => 40,
        b'E' => 31,
        b'C' => 36,
        b'X' => 23,
        b'D' => 19,
        b'U' => 35,
        b'P' => 44,
        b'Q' => 40,
        b'B' => 19,
        b'I' => 50,
        b'N' => 20,
        b'O' => 48,
        _ => return None,
    })
}

/// Every message type of ITCH 5.0, in the order of the table in the module docs.
pub const MESSAGE_TYPES: [u8; 23] = *b"SRHYLVWKJhAFECXDUPQBINO";

/// Formats a message type byte for error messages: `'A'` when printable, else `0x1f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeByte(pub u8);

impl core::fmt::Display for TypeByte {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "'{}'", self.0 as char)
        } else {
            write!(f, "0x{:02x}", self.0)
        }
    }
}

/// What went wrong reading an ITCH stream. Offsets are byte offsets of the frame's 2-byte length
/// prefix in the (decompressed) stream.
#[derive(Debug, thiserror::Error)]
pub enum ItchError {
    /// The buffer ended inside a frame.
    #[error(
        "truncated frame at byte offset {offset}: expected {expected} bytes ({what}), only {available} left"
    )]
    Truncated {
        /// Offset of the frame.
        offset: u64,
        /// What was being read: `"length prefix"` or `"message body"`.
        what: &'static str,
        /// Bytes needed.
        expected: usize,
        /// Bytes present.
        available: usize,
    },
    /// A frame with length 0 (no type byte).
    #[error("empty frame at byte offset {offset}: length prefix is 0, expected at least 1")]
    EmptyFrame {
        /// Offset of the frame.
        offset: u64,
    },
    /// The type byte is not an ITCH 5.0 message type.
    #[error("unknown message type {msg_type} at byte offset {offset}")]
    UnknownType {
        /// Offset of the frame.
        offset: u64,
        /// The type byte.
        msg_type: TypeByte,
    },
    /// The frame length is not the spec length of its type.
    #[error(
        "length mismatch at byte offset {offset}: message type {msg_type} must be {expected} bytes, frame says {found}"
    )]
    LengthMismatch {
        /// Offset of the frame.
        offset: u64,
        /// The type byte.
        msg_type: TypeByte,
        /// Spec length.
        expected: usize,
        /// Length in the frame.
        found: usize,
    },
    /// An enumerated field holds a value the spec does not allow (only checked where the replay
    /// depends on it: buy/sell indicators).
    #[error(
        "invalid {field} {value} in message type {msg_type} at byte offset {offset}: expected {expected}"
    )]
    InvalidField {
        /// Offset of the frame.
        offset: u64,
        /// The type byte.
        msg_type: TypeByte,
        /// Field name.
        field: &'static str,
        /// The byte found.
        value: TypeByte,
        /// What is allowed.
        expected: &'static str,
    },
    /// Reading the file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The input starts with the gzip magic but does not decompress.
    #[error("gzip input does not decompress (after {decompressed} bytes of output): {source}")]
    Gzip {
        /// Bytes successfully decompressed before the failure.
        decompressed: u64,
        /// The cause.
        source: std::io::Error,
    },
}

/// The header common to every message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Locate code identifying the security (0 for market-wide messages).
    pub stock_locate: u16,
    /// NASDAQ internal tracking number.
    pub tracking_number: u16,
    /// Nanoseconds since midnight (48 bits).
    pub timestamp: u64,
}

/// Which imbalance/flag fields are carried as raw bytes: the decoder does not validate them.
pub type Alpha = u8;

/// `S`: system event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemEvent {
    /// Header.
    pub header: Header,
    /// `O` start of messages, `S` start of system hours, `Q` start of market hours, `M` end of
    /// market hours, `E` end of system hours, `C` end of messages.
    pub event_code: Alpha,
}

/// `R`: stock directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockDirectory<'a> {
    /// Header.
    pub header: Header,
    /// Symbol, space padded.
    pub stock: &'a [u8; 8],
    /// Listing market category.
    pub market_category: Alpha,
    /// Financial status indicator.
    pub financial_status_indicator: Alpha,
    /// Round lot size in shares.
    pub round_lot_size: u32,
    /// `Y`: only round lots accepted.
    pub round_lots_only: Alpha,
    /// Issue classification.
    pub issue_classification: Alpha,
    /// Issue sub-type.
    pub issue_sub_type: &'a [u8; 2],
    /// `P` production, `T` test.
    pub authenticity: Alpha,
    /// Reg SHO threshold list flag.
    pub short_sale_threshold_indicator: Alpha,
    /// IPO flag.
    pub ipo_flag: Alpha,
    /// LULD reference price tier.
    pub luld_reference_price_tier: Alpha,
    /// ETP flag.
    pub etp_flag: Alpha,
    /// ETP leverage factor.
    pub etp_leverage_factor: u32,
    /// Inverse ETP indicator.
    pub inverse_indicator: Alpha,
}

/// `H`: stock trading action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockTradingAction<'a> {
    /// Header.
    pub header: Header,
    /// Symbol.
    pub stock: &'a [u8; 8],
    /// `H` halted, `P` paused, `Q` quotation only, `T` trading.
    pub trading_state: Alpha,
    /// Reserved byte.
    pub reserved: Alpha,
    /// Reason code.
    pub reason: &'a [u8; 4],
}

/// `Y`: Reg SHO short sale price test restriction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegSho<'a> {
    /// Header.
    pub header: Header,
    /// Symbol.
    pub stock: &'a [u8; 8],
    /// `0` no test, `1` in effect (intra-day drop), `2` remains in effect.
    pub reg_sho_action: Alpha,
}

/// `L`: market participant position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketParticipantPosition<'a> {
    /// Header.
    pub header: Header,
    /// Market participant id.
    pub mpid: &'a [u8; 4],
    /// Symbol.
    pub stock: &'a [u8; 8],
    /// `Y`/`N`.
    pub primary_market_maker: Alpha,
    /// Market maker mode.
    pub market_maker_mode: Alpha,
    /// Market participant state.
    pub market_participant_state: Alpha,
}

/// `V`: market-wide circuit breaker decline levels (`Price(8)`: 8 implied decimals).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MwcbDeclineLevel {
    /// Header.
    pub header: Header,
    /// Level 1.
    pub level1: u64,
    /// Level 2.
    pub level2: u64,
    /// Level 3.
    pub level3: u64,
}

/// `W`: market-wide circuit breaker status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MwcbStatus {
    /// Header.
    pub header: Header,
    /// `1`, `2` or `3`.
    pub breached_level: Alpha,
}

/// `K`: IPO quoting period update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpoQuotingPeriod<'a> {
    /// Header.
    pub header: Header,
    /// Symbol.
    pub stock: &'a [u8; 8],
    /// Seconds since midnight.
    pub ipo_quotation_release_time: u32,
    /// `A` anticipated, `C` cancelled/postponed.
    pub ipo_quotation_release_qualifier: Alpha,
    /// IPO price, `Price(4)`.
    pub ipo_price: u32,
}

/// `J`: LULD auction collar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LuldAuctionCollar<'a> {
    /// Header.
    pub header: Header,
    /// Symbol.
    pub stock: &'a [u8; 8],
    /// `Price(4)`.
    pub auction_collar_reference_price: u32,
    /// `Price(4)`.
    pub upper_auction_collar_price: u32,
    /// `Price(4)`.
    pub lower_auction_collar_price: u32,
    /// Number of extensions.
    pub auction_collar_extension: u32,
}

/// `h`: operational halt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationalHalt<'a> {
    /// Header.
    pub header: Header,
    /// Symbol.
    pub stock: &'a [u8; 8],
    /// `Q` NASDAQ, `B` BX, `X` PSX.
    pub market_code: Alpha,
    /// `H` halted, `T` resumed.
    pub operational_halt_action: Alpha,
}

/// `A` and `F`: add order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddOrder<'a> {
    /// Header.
    pub header: Header,
    /// Order reference number (unique for the day).
    pub order_ref: u64,
    /// Buy or sell.
    pub side: Side,
    /// Shares.
    pub shares: u32,
    /// Symbol.
    pub stock: &'a [u8; 8],
    /// Limit price, `Price(4)`.
    pub price: u32,
    /// MPID attribution (`F` only).
    pub attribution: Option<&'a [u8; 4]>,
}

/// `E`: order executed (at the order's own price).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderExecuted {
    /// Header.
    pub header: Header,
    /// Order reference number.
    pub order_ref: u64,
    /// Shares executed.
    pub executed_shares: u32,
    /// Match number.
    pub match_number: u64,
}

/// `C`: order executed with price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderExecutedWithPrice {
    /// Header.
    pub header: Header,
    /// Order reference number.
    pub order_ref: u64,
    /// Shares executed.
    pub executed_shares: u32,
    /// Match number.
    pub match_number: u64,
    /// `Y` printable, `N` not (do not count in volume).
    pub printable: Alpha,
    /// Execution price, `Price(4)`.
    pub execution_price: u32,
}

/// `X`: order cancel (partial).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderCancel {
    /// Header.
    pub header: Header,
    /// Order reference number.
    pub order_ref: u64,
    /// Shares removed.
    pub cancelled_shares: u32,
}

/// `D`: order delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderDelete {
    /// Header.
    pub header: Header,
    /// Order reference number.
    pub order_ref: u64,
}

/// `U`: order replace (cancel the original, add a new order with a new ref, losing priority).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderReplace {
    /// Header.
    pub header: Header,
    /// The order being replaced.
    pub original_order_ref: u64,
    /// The new order's reference number.
    pub new_order_ref: u64,
    /// New total shares.
    pub shares: u32,
    /// New price, `Price(4)`.
    pub price: u32,
}

/// `P`: trade against a non-displayed order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade<'a> {
    /// Header.
    pub header: Header,
    /// Order reference number (0 since 2014 for privacy).
    pub order_ref: u64,
    /// Side of the non-displayed order.
    pub side: Side,
    /// Shares.
    pub shares: u32,
    /// Symbol.
    pub stock: &'a [u8; 8],
    /// `Price(4)`.
    pub price: u32,
    /// Match number.
    pub match_number: u64,
}

/// `Q`: cross trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrossTrade<'a> {
    /// Header.
    pub header: Header,
    /// Shares matched (8 bytes).
    pub shares: u64,
    /// Symbol.
    pub stock: &'a [u8; 8],
    /// `Price(4)`.
    pub cross_price: u32,
    /// Match number.
    pub match_number: u64,
    /// `O` opening, `C` closing, `H` IPO/halt, `I` intraday.
    pub cross_type: Alpha,
}

/// `B`: broken trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokenTrade {
    /// Header.
    pub header: Header,
    /// Match number of the broken execution.
    pub match_number: u64,
}

/// `I`: net order imbalance indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Noii<'a> {
    /// Header.
    pub header: Header,
    /// Paired shares.
    pub paired_shares: u64,
    /// Imbalance shares.
    pub imbalance_shares: u64,
    /// `B`, `S`, `N`, `O`.
    pub imbalance_direction: Alpha,
    /// Symbol.
    pub stock: &'a [u8; 8],
    /// `Price(4)`.
    pub far_price: u32,
    /// `Price(4)`.
    pub near_price: u32,
    /// `Price(4)`.
    pub current_reference_price: u32,
    /// Cross type.
    pub cross_type: Alpha,
    /// Price variation indicator.
    pub price_variation_indicator: Alpha,
}

/// `N`: retail price improvement indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rpii<'a> {
    /// Header.
    pub header: Header,
    /// Symbol.
    pub stock: &'a [u8; 8],
    /// `B`, `S`, `A`, `N`.
    pub interest_flag: Alpha,
}

/// `O`: direct listing with capital raise price discovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectListing<'a> {
    /// Header.
    pub header: Header,
    /// Symbol.
    pub stock: &'a [u8; 8],
    /// `Y`/`N`.
    pub open_eligibility_status: Alpha,
    /// `Price(4)`.
    pub minimum_allowable_price: u32,
    /// `Price(4)`.
    pub maximum_allowable_price: u32,
    /// `Price(4)`.
    pub near_execution_price: u32,
    /// Nanoseconds (8 bytes).
    pub near_execution_time: u64,
    /// `Price(4)`.
    pub lower_price_range_collar: u32,
    /// `Price(4)`.
    pub upper_price_range_collar: u32,
}

/// One decoded ITCH 5.0 message, borrowing its alpha fields from the input buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItchMessage<'a> {
    /// `S`.
    SystemEvent(SystemEvent),
    /// `R`.
    StockDirectory(StockDirectory<'a>),
    /// `H`.
    StockTradingAction(StockTradingAction<'a>),
    /// `Y`.
    RegSho(RegSho<'a>),
    /// `L`.
    MarketParticipantPosition(MarketParticipantPosition<'a>),
    /// `V`.
    MwcbDeclineLevel(MwcbDeclineLevel),
    /// `W`.
    MwcbStatus(MwcbStatus),
    /// `K`.
    IpoQuotingPeriod(IpoQuotingPeriod<'a>),
    /// `J`.
    LuldAuctionCollar(LuldAuctionCollar<'a>),
    /// `h`.
    OperationalHalt(OperationalHalt<'a>),
    /// `A`.
    AddOrder(AddOrder<'a>),
    /// `F` (the struct's `attribution` is `Some`).
    AddOrderMpid(AddOrder<'a>),
    /// `E`.
    OrderExecuted(OrderExecuted),
    /// `C`.
    OrderExecutedWithPrice(OrderExecutedWithPrice),
    /// `X`.
    OrderCancel(OrderCancel),
    /// `D`.
    OrderDelete(OrderDelete),
    /// `U`.
    OrderReplace(OrderReplace),
    /// `P`.
    Trade(Trade<'a>),
    /// `Q`.
    CrossTrade(CrossTrade<'a>),
    /// `B`.
    BrokenTrade(BrokenTrade),
    /// `I`.
    Noii(Noii<'a>),
    /// `N`.
    Rpii(Rpii<'a>),
    /// `O`.
    DirectListing(DirectListing<'a>),
}

impl ItchMessage<'_> {
    /// The message type byte (`b'A'` …). O(1).
    pub const fn msg_type(&self) -> u8 {
        match self {
            ItchMessage::SystemEvent(_) => b'S',
            ItchMessage::StockDirectory(_) => b'R',
            ItchMessage::StockTradingAction(_) => b'H',
            ItchMessage::RegSho(_) => b'Y',
            ItchMessage::MarketParticipantPosition(_) => b'L',
            ItchMessage::MwcbDeclineLevel(_) => b'V',
            ItchMessage::MwcbStatus(_) => b'W',
            ItchMessage::IpoQuotingPeriod(_) => b'K',
            ItchMessage::LuldAuctionCollar(_) => b'J',
            ItchMessage::OperationalHalt(_) => b'h',
            ItchMessage::AddOrder(_) => b'A',
            ItchMessage::AddOrderMpid(_) => b'F',
            ItchMessage::OrderExecuted(_) => b'E',
            ItchMessage::OrderExecutedWithPrice(_) => b'C',
            ItchMessage::OrderCancel(_) => b'X',
            ItchMessage::OrderDelete(_) => b'D',
            ItchMessage::OrderReplace(_) => b'U',
            ItchMessage::Trade(_) => b'P',
            ItchMessage::CrossTrade(_) => b'Q',
            ItchMessage::BrokenTrade(_) => b'B',
            ItchMessage::Noii(_) => b'I',
            ItchMessage::Rpii(_) => b'N',
            ItchMessage::DirectListing(_) => b'O',
        }
    }

    /// The common header. O(1).
    pub const fn header(&self) -> &Header {
        match self {
            ItchMessage::SystemEvent(m) => &m.header,
            ItchMessage::StockDirectory(m) => &m.header,
            ItchMessage::StockTradingAction(m) => &m.header,
            ItchMessage::RegSho(m) => &m.header,
            ItchMessage::MarketParticipantPosition(m) => &m.header,
            ItchMessage::MwcbDeclineLevel(m) => &m.header,
            ItchMessage::MwcbStatus(m) => &m.header,
            ItchMessage::IpoQuotingPeriod(m) => &m.header,
            ItchMessage::LuldAuctionCollar(m) => &m.header,
            ItchMessage::OperationalHalt(m) => &m.header,
            ItchMessage::AddOrder(m) | ItchMessage::AddOrderMpid(m) => &m.header,
            ItchMessage::OrderExecuted(m) => &m.header,
            ItchMessage::OrderExecutedWithPrice(m) => &m.header,
            ItchMessage::OrderCancel(m) => &m.header,
            ItchMessage::OrderDelete(m) => &m.header,
            ItchMessage::OrderReplace(m) => &m.header,
            ItchMessage::Trade(m) => &m.header,
            ItchMessage::CrossTrade(m) => &m.header,
            ItchMessage::BrokenTrade(m) => &m.header,
            ItchMessage::Noii(m) => &m.header,
            ItchMessage::Rpii(m) => &m.header,
            ItchMessage::DirectListing(m) => &m.header,
        }
    }

    /// Nanoseconds since midnight. O(1).
    pub const fn timestamp(&self) -> u64 {
        self.header().timestamp
    }

    /// Stock locate code. O(1).
    pub const fn stock_locate(&self) -> u16 {
        self.header().stock_locate
    }
}

/// A `Price(4)` field as a ferrex [`Price`] (ticks of 1/10000 dollar: the raw value).
#[inline(always)]
pub const fn price4(raw: u32) -> Price {
    Price(raw as i64)
}

/// Trims the space padding of an alpha field (`b"AAPL    "` → `b"AAPL"`).
pub fn trim_alpha(a: &[u8]) -> &[u8] {
    let end = a.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    &a[..end]
}

// --- field access on fixed-size bodies. The body is first converted to `&[u8; N]` with N the spec
// length, so every index below is a compile-time constant within N: the bounds checks fold away and
// the `expect`s cannot fire.

#[inline(always)]
fn sub<const N: usize, const M: usize>(b: &[u8; N], at: usize) -> &[u8; M] {
    b[at..at + M]
        .try_into()
        .expect("field inside a length-checked body")
}
#[inline(always)]
fn u16_at<const N: usize>(b: &[u8; N], at: usize) -> u16 {
    u16::from_be_bytes(*sub(b, at))
}
#[inline(always)]
fn u32_at<const N: usize>(b: &[u8; N], at: usize) -> u32 {
    u32::from_be_bytes(*sub(b, at))
}
#[inline(always)]
fn u64_at<const N: usize>(b: &[u8; N], at: usize) -> u64 {
    u64::from_be_bytes(*sub(b, at))
}
#[inline(always)]
fn header<const N: usize>(b: &[u8; N]) -> Header {
    let t: &[u8; 6] = sub(b, 5);
    Header {
        stock_locate: u16_at(b, 1),
        tracking_number: u16_at(b, 3),
        timestamp: u64::from_be_bytes([0, 0, t[0], t[1], t[2], t[3], t[4], t[5]]),
    }
}

#[inline(always)]
fn fixed<const N: usize>(body: &[u8], offset: u64) -> Result<&[u8; N], ItchError> {
    body.try_into().map_err(|_| ItchError::LengthMismatch {
        offset,
        msg_type: TypeByte(body.first().copied().unwrap_or(0)),
        expected: N,
        found: body.len(),
    })
}

#[inline(always)]
fn side(v: u8, offset: u64, msg_type: u8) -> Result<Side, ItchError> {
    match v {
        b'B' => Ok(Side::Buy),
        b'S' => Ok(Side::Sell),
        _ => Err(ItchError::InvalidField {
            offset,
            msg_type: TypeByte(msg_type),
            field: "buy/sell indicator",
            value: TypeByte(v),
            expected: "'B' or 'S'",
        }),
    }
}

/// Decodes one message body (type byte first, no length prefix). `offset` is only used in errors.
/// Never panics; O(1), no allocation.
#[inline]
pub fn decode(body: &[u8], offset: u64) -> Result<ItchMessage<'_>, ItchError> {
    let Some(&t) = body.first() else {
        return Err(ItchError::EmptyFrame { offset });
    };
    Ok(match t {
        b'A' => {
            let b = fixed::<36>(body, offset)?;
            ItchMessage::AddOrder(AddOrder {
                header: header(b),
                order_ref: u64_at(b, 11),
                side: side(b[19], offset, t)?,
                shares: u32_at(b, 20),
                stock: sub(b, 24),
                price: u32_at(b, 32),
                attribution: None,
            })
        }
        b'F' => {
            let b = fixed::<40>(body, offset)?;
            ItchMessage::AddOrderMpid(AddOrder {
                header: header(b),
                order_ref: u64_at(b, 11),
                side: side(b[19], offset, t)?,
                shares: u32_at(b, 20),
                stock: sub(b, 24),
                price: u32_at(b, 32),
                attribution: Some(sub(b, 36)),
            })
        }
        b'E' => {
            let b = fixed::<31>(body, offset)?;
            ItchMessage::OrderExecuted(OrderExecuted {
                header: header(b),
                order_ref: u64_at(b, 11),
                executed_shares: u32_at(b, 19),
                match_number: u64_at(b, 23),
            })
        }
        b'C' => {
            let b = fixed::<36>(body, offset)?;
            ItchMessage::OrderExecutedWithPrice(OrderExecutedWithPrice {
                header: header(b),
                order_ref: u64_at(b, 11),
                executed_shares: u32_at(b, 19),
                match_number: u64_at(b, 23),
                printable: b[31],
                execution_price: u32_at(b, 32),
            })
        }
        b'X' => {
            let b = fixed::<23>(body, offset)?;
            ItchMessage::OrderCancel(OrderCancel {
                header: header(b),
                order_ref: u64_at(b, 11),
                cancelled_shares: u32_at(b, 19),
            })
        }
        b'D' => {
            let b = fixed::<19>(body, offset)?;
            ItchMessage::OrderDelete(OrderDelete {
                header: header(b),
                order_ref: u64_at(b, 11),
            })
        }
        b'U' => {
            let b = fixed::<35>(body, offset)?;
            ItchMessage::OrderReplace(OrderReplace {
                header: header(b),
                original_order_ref: u64_at(b, 11),
                new_order_ref: u64_at(b, 19),
                shares: u32_at(b, 27),
                price: u32_at(b, 31),
            })
        }
        b'P' => {
            let b = fixed::<44>(body, offset)?;
            ItchMessage::Trade(Trade {
                header: header(b),
                order_ref: u64_at(b, 11),
                side: side(b[19], offset, t)?,
                shares: u32_at(b, 20),
                stock: sub(b, 24),
                price: u32_at(b, 32),
                match_number: u64_at(b, 36),
            })
        }
        b'S' => {
            let b = fixed::<12>(body, offset)?;
            ItchMessage::SystemEvent(SystemEvent {
                header: header(b),
                event_code: b[11],
            })
        }
        b'R' => {
            let b = fixed::<39>(body, offset)?;
            ItchMessage::StockDirectory(StockDirectory {
                header: header(b),
                stock: sub(b, 11),
                market_category: b[19],
                financial_status_indicator: b[20],
                round_lot_size: u32_at(b, 21),
                round_lots_only: b[25],
                issue_classification: b[26],
                issue_sub_type: sub(b, 27),
                authenticity: b[29],
                short_sale_threshold_indicator: b[30],
                ipo_flag: b[31],
                luld_reference_price_tier: b[32],
                etp_flag: b[33],
                etp_leverage_factor: u32_at(b, 34),
                inverse_indicator: b[38],
            })
        }
        b'H' => {
            let b = fixed::<25>(body, offset)?;
            ItchMessage::StockTradingAction(StockTradingAction {
                header: header(b),
                stock: sub(b, 11),
                trading_state: b[19],
                reserved: b[20],
                reason: sub(b, 21),
            })
        }
        b'Y' => {
            let b = fixed::<20>(body, offset)?;
            ItchMessage::RegSho(RegSho {
                header: header(b),
                stock: sub(b, 11),
                reg_sho_action: b[19],
            })
        }
        b'L' => {
            let b = fixed::<26>(body, offset)?;
            ItchMessage::MarketParticipantPosition(MarketParticipantPosition {
                header: header(b),
                mpid: sub(b, 11),
                stock: sub(b, 15),
                primary_market_maker: b[23],
                market_maker_mode: b[24],
                market_participant_state: b[25],
            })
        }
        b'V' => {
            let b = fixed::<35>(body, offset)?;
            ItchMessage::MwcbDeclineLevel(MwcbDeclineLevel {
                header: header(b),
                level1: u64_at(b, 11),
                level2: u64_at(b, 19),
                level3: u64_at(b, 27),
            })
        }
        b'W' => {
            let b = fixed::<12>(body, offset)?;
            ItchMessage::MwcbStatus(MwcbStatus {
                header: header(b),
                breached_level: b[11],
            })
        }
        b'K' => {
            let b = fixed::<28>(body, offset)?;
            ItchMessage::IpoQuotingPeriod(IpoQuotingPeriod {
                header: header(b),
                stock: sub(b, 11),
                ipo_quotation_release_time: u32_at(b, 19),
                ipo_quotation_release_qualifier: b[23],
                ipo_price: u32_at(b, 24),
            })
        }
        b'J' => {
            let b = fixed::<35>(body, offset)?;
            ItchMessage::LuldAuctionCollar(LuldAuctionCollar {
                header: header(b),
                stock: sub(b, 11),
                auction_collar_reference_price: u32_at(b, 19),
                upper_auction_collar_price: u32_at(b, 23),
                lower_auction_collar_price: u32_at(b, 27),
                auction_collar_extension: u32_at(b, 31),
            })
        }
        b'h' => {
            let b = fixed::<21>(body, offset)?;
            ItchMessage::OperationalHalt(OperationalHalt {
                header: header(b),
                stock: sub(b, 11),
                market_code: b[19],
                operational_halt_action: b[20],
            })
        }
        b'Q' => {
            let b = fixed::<40>(body, offset)?;
            ItchMessage::CrossTrade(CrossTrade {
                header: header(b),
                shares: u64_at(b, 11),
                stock: sub(b, 19),
                cross_price: u32_at(b, 27),
                match_number: u64_at(b, 31),
                cross_type: b[39],
            })
        }
        b'B' => {
            let b = fixed::<19>(body, offset)?;
            ItchMessage::BrokenTrade(BrokenTrade {
                header: header(b),
                match_number: u64_at(b, 11),
            })
        }
        b'I' => {
            let b = fixed::<50>(body, offset)?;
            ItchMessage::Noii(Noii {
                header: header(b),
                paired_shares: u64_at(b, 11),
                imbalance_shares: u64_at(b, 19),
                imbalance_direction: b[27],
                stock: sub(b, 28),
                far_price: u32_at(b, 36),
                near_price: u32_at(b, 40),
                current_reference_price: u32_at(b, 44),
                cross_type: b[48],
                price_variation_indicator: b[49],
            })
        }
        b'N' => {
            let b = fixed::<20>(body, offset)?;
            ItchMessage::Rpii(Rpii {
                header: header(b),
                stock: sub(b, 11),
                interest_flag: b[19],
            })
        }
        b'O' => {
            let b = fixed::<48>(body, offset)?;
            ItchMessage::DirectListing(DirectListing {
                header: header(b),
                stock: sub(b, 11),
                open_eligibility_status: b[19],
                minimum_allowable_price: u32_at(b, 20),
                maximum_allowable_price: u32_at(b, 24),
                near_execution_price: u32_at(b, 28),
                near_execution_time: u64_at(b, 32),
                lower_price_range_collar: u32_at(b, 40),
                upper_price_range_collar: u32_at(b, 44),
            })
        }
        _ => {
            return Err(ItchError::UnknownType {
                offset,
                msg_type: TypeByte(t),
            });
        }
    })
}

/// Iterates over the frames of an in-memory ITCH BinaryFILE, yielding `(offset, message)` where
/// `offset` is the byte offset of the frame's length prefix. Stops (yields `None`) after the first
/// error. O(1) per message, no allocation.
#[derive(Clone, Debug)]
pub struct ItchReader<'a> {
    buf: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> ItchReader<'a> {
    /// A reader over an uncompressed buffer (use [`decompress_if_gzip`] or [`read_file`] first for
    /// gzip input).
    pub fn new(buf: &'a [u8]) -> Self {
        ItchReader {
            buf,
            pos: 0,
            done: false,
        }
    }

    /// Byte offset of the next frame.
    pub fn position(&self) -> usize {
        self.pos
    }

    #[inline(always)]
    fn next_frame(&mut self) -> Result<(u64, ItchMessage<'a>), ItchError> {
        let offset = self.pos as u64;
        let rest = &self.buf[self.pos..];
        let Some((len, after)) = rest.split_first_chunk::<2>() else {
            return Err(ItchError::Truncated {
                offset,
                what: "length prefix",
                expected: 2,
                available: rest.len(),
            });
        };
        let len = u16::from_be_bytes(*len) as usize;
        if len == 0 {
            return Err(ItchError::EmptyFrame { offset });
        }
        let t = after.first().copied();
        let Some(body) = after.get(..len) else {
            // Say which type was cut short when the type byte is there.
            return Err(match t.map(|t| (t, body_len(t))) {
                Some((t, None)) => ItchError::UnknownType {
                    offset,
                    msg_type: TypeByte(t),
                },
                Some((t, Some(n))) if n != len => ItchError::LengthMismatch {
                    offset,
                    msg_type: TypeByte(t),
                    expected: n,
                    found: len,
                },
                _ => ItchError::Truncated {
                    offset,
                    what: "message body",
                    expected: len,
                    available: after.len(),
                },
            });
        };
        let msg = decode(body, offset)?;
        self.pos += 2 + len;
        Ok((offset, msg))
    }
}

impl<'a> Iterator for ItchReader<'a> {
    type Item = Result<(u64, ItchMessage<'a>), ItchError>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.buf.len() {
            return None;
        }
        let r = self.next_frame();
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }
}

/// True when `bytes` starts with the gzip magic `1f 8b`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Returns `bytes` unchanged, or decompressed into memory when it starts with the gzip magic
/// (multi-member gzip streams are read to the end). Costs one pass over the data when compressed.
pub fn decompress_if_gzip(bytes: &[u8]) -> Result<Cow<'_, [u8]>, ItchError> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4));
    let mut dec = flate2::read::MultiGzDecoder::new(bytes);
    match dec.read_to_end(&mut out) {
        Ok(_) => Ok(Cow::Owned(out)),
        Err(source) => Err(ItchError::Gzip {
            decompressed: out.len() as u64,
            source,
        }),
    }
}

/// Reads a whole ITCH file into memory, decompressing it if it is gzip.
pub fn read_file(path: impl AsRef<Path>) -> Result<Vec<u8>, ItchError> {
    let path = path.as_ref();
    let raw = std::fs::read(path).map_err(|source| ItchError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(match decompress_if_gzip(&raw)? {
        Cow::Borrowed(_) => raw,
        Cow::Owned(v) => v,
    })
}

/// Message counts by type byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeCounts {
    /// `by_type[t]` = messages of type byte `t`.
    pub by_type: [u64; 256],
    /// All messages.
    pub total: u64,
}

impl Default for TypeCounts {
    fn default() -> Self {
        TypeCounts {
            by_type: [0; 256],
            total: 0,
        }
    }
}

impl TypeCounts {
    /// Count of type `t`.
    pub fn get(&self, t: u8) -> u64 {
        self.by_type[t as usize]
    }

    /// Adds one message of type `t`.
    #[inline(always)]
    pub fn add(&mut self, t: u8) {
        self.by_type[t as usize] += 1;
        self.total += 1;
    }

    /// Non-zero counts as `(type, count)`, most frequent first.
    pub fn nonzero(&self) -> Vec<(u8, u64)> {
        let mut v: Vec<(u8, u64)> = (0u8..=255)
            .map(|t| (t, self.by_type[t as usize]))
            .filter(|&(_, n)| n > 0)
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

/// Decodes the whole buffer and counts messages by type; stops at the first error.
pub fn count_types(buf: &[u8]) -> Result<TypeCounts, ItchError> {
    let mut c = TypeCounts::default();
    for r in ItchReader::new(buf) {
        let (_, m) = r?;
        c.add(m.msg_type());
    }
    Ok(c)
}

/// Encoding helpers for tests and tools: the inverse of [`decode`] for the order messages.
pub mod encode {
    /// Appends a frame (length prefix + body) to `out`.
    pub fn frame(out: &mut Vec<u8>, body: &[u8]) {
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
    }

    /// The 11-byte header for type `t`.
    pub fn header(t: u8, locate: u16, tracking: u16, ts: u64) -> Vec<u8> {
        let mut b = Vec::with_capacity(50);
        b.push(t);
        b.extend_from_slice(&locate.to_be_bytes());
        b.extend_from_slice(&tracking.to_be_bytes());
        b.extend_from_slice(&ts.to_be_bytes()[2..]);
        b
    }

    /// An `A` body.
    pub fn add_order(
        locate: u16,
        ts: u64,
        order_ref: u64,
        side: u8,
        shares: u32,
        stock: &[u8; 8],
        price: u32,
    ) -> Vec<u8> {
        let mut b = header(b'A', locate, 0, ts);
        b.extend_from_slice(&order_ref.to_be_bytes());
        b.push(side);
        b.extend_from_slice(&shares.to_be_bytes());
        b.extend_from_slice(stock);
        b.extend_from_slice(&price.to_be_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_decodes_at_its_length_and_rejects_other_lengths() {
        for &t in MESSAGE_TYPES.iter() {
            let n = body_len(t).unwrap();
            let mut body = vec![b'B'; n];
            body[0] = t;
            let m = decode(&body, 7).unwrap();
            assert_eq!(m.msg_type(), t);
            for bad in [n - 1, n + 1] {
                let mut body = vec![b'B'; bad];
                body[0] = t;
                match decode(&body, 7) {
                    Err(ItchError::LengthMismatch {
                        offset: 7,
                        expected,
                        found,
                        ..
                    }) => {
                        assert_eq!((expected, found), (n, bad));
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    #[test]
    fn add_order_fields() {
        let body = encode::add_order(13, 0x0102_0304_0506, 99, b'S', 100, b"AAPL    ", 2_870_000);
        let m = decode(&body, 0).unwrap();
        let ItchMessage::AddOrder(a) = m else {
            panic!()
        };
        assert_eq!(a.header.stock_locate, 13);
        assert_eq!(a.header.timestamp, 0x0102_0304_0506);
        assert_eq!(a.order_ref, 99);
        assert_eq!(a.side, Side::Sell);
        assert_eq!(a.shares, 100);
        assert_eq!(trim_alpha(a.stock), b"AAPL");
        assert_eq!(price4(a.price), Price(2_870_000));
    }
}
