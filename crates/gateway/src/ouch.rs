//! OUCH 5.0 messages (NASDAQ order entry), decoded zero-copy and encoded, in both directions.
//!
//! An OUCH message is the payload of one SoupBinTCP Unsequenced Data packet (client → server,
//! [`Inbound`]) or Sequenced Data packet (server → client, [`Outbound`]). Integers are big-endian
//! binary; prices are unsigned 8-byte integers with 4 implied decimals ([`OuchPrice`]); text
//! fields are ASCII, left-justified and padded on the right with spaces. Every message ends with
//! a 2-byte Appendage Length and that many bytes of optional fields ([`Appendage`]), each encoded
//! as `length (1) | tag (1) | value` where `length` counts the tag and the value.
//!
//! Fixed layouts (offsets in bytes; the appendage follows):
//!
//! | message | layout | fixed length |
//! | --- | --- | --- |
//! | `O` Enter Order | type 0, UserRefNum 1 (4), Side 5, Quantity 6 (4), Symbol 10 (8), Price 18 (8), TimeInForce 26, Display 27, Capacity 28, InterMarket Sweep 29, CrossType 30, ClOrdID 31 (14), AppendageLength 45 (2) | 47 |
//! | `U` Replace Order | type 0, OrigUserRefNum 1 (4), UserRefNum 5 (4), Quantity 9 (4), Price 13 (8), TimeInForce 21, Display 22, InterMarket Sweep 23, ClOrdID 24 (14), AppendageLength 38 (2) | 40 |
//! | `X` Cancel Order | type 0, UserRefNum 1 (4), Quantity 5 (4), AppendageLength 9 (2) | 11 |
//! | `M` Modify Order | type 0, UserRefNum 1 (4), Side 5, Quantity 6 (4), AppendageLength 10 (2) | 12 |
//! | `S` System Event | type 0, Timestamp 1 (8), EventCode 9 | 10 |
//! | `A` Order Accepted | type 0, Timestamp 1 (8), UserRefNum 9 (4), Side 13, Quantity 14 (4), Symbol 18 (8), Price 26 (8), TimeInForce 34, Display 35, OrderReferenceNumber 36 (8), Capacity 44, InterMarket Sweep 45, CrossType 46, OrderState 47, ClOrdID 48 (14), AppendageLength 62 (2) | 64 |
//! | `U` Order Replaced | type 0, Timestamp 1 (8), OrigUserRefNum 9 (4), UserRefNum 13 (4), Side 17, Quantity 18 (4), Symbol 22 (8), Price 30 (8), TimeInForce 38, Display 39, OrderReferenceNumber 40 (8), Capacity 48, InterMarket Sweep 49, CrossType 50, OrderState 51, ClOrdID 52 (14), AppendageLength 66 (2) | 68 |
//! | `C` Order Canceled | type 0, Timestamp 1 (8), UserRefNum 9 (4), Quantity 13 (4), Reason 17, AppendageLength 18 (2) | 20 |
//! | `E` Order Executed | type 0, Timestamp 1 (8), UserRefNum 9 (4), Quantity 13 (4), Price 17 (8), LiquidityFlag 25, MatchNumber 26 (8), AppendageLength 34 (2) | 36 |
//! | `J` Order Rejected | type 0, Timestamp 1 (8), UserRefNum 9 (4), Reason 13 (2), ClOrdID 15 (14), AppendageLength 29 (2) | 31 |
//! | `I` Cancel Reject | type 0, Timestamp 1 (8), UserRefNum 9 (4), AppendageLength 13 (2) | 15 |
//! | `M` Order Modified | type 0, Timestamp 1 (8), UserRefNum 9 (4), Side 13, Quantity 14 (4), AppendageLength 18 (2) | 20 |
//!
//! Timestamps are nanoseconds since midnight. Decoding checks the exact length (fixed part +
//! declared appendage), every enumerated field, text fields and the appendage's TLV structure;
//! it never allocates and never panics. Encoding appends to a `Vec<u8>` and costs O(length).
//!
//! ```
//! use ferrex_gateway::ouch::*;
//! let msg = Inbound::Cancel(CancelOrder {
//!     user_ref_num: UserRefNum(7),
//!     quantity: 0,
//!     appendage: Appendage::EMPTY,
//! });
//! let mut wire = Vec::new();
//! assert_eq!(msg.encode(&mut wire), Ok(len::CANCEL));
//! assert_eq!(wire, [b'X', 0, 0, 0, 7, 0, 0, 0, 0, 0, 0]);
//! assert_eq!(Inbound::decode(&wire), Ok(msg));
//! assert!(matches!(Inbound::decode(&wire[..10]), Err(OuchError::BadLength { .. })));
//! // The 9-byte layout without AppendageLength (see below) is refused.
//! assert!(matches!(Inbound::decode(&wire[..9]), Err(OuchError::BadLength { .. })));
//! ```
//!
//! Layouts follow the NASDAQ OUCH 5.0 specification (message types, field order and widths,
//! the Appendix reject codes); the session layer's own fields live in [`crate::soupbin`].
//!
//! ## Cancel Order: 11 bytes, with AppendageLength
//! The OUCH 5.0 specification ends every message, inbound and outbound, with Appendage Length
//! and the Optional Appendage. Its Orchestra repository
//! (<https://orchestrahub.org/_static/specs/r/atomicwire/nasdaq-ouch/5.0/nasdaq-ouch-5.0.xml>,
//! browsable at <https://orchimate.org/r/atomicwire/nasdaq-ouch/5.0/messages/CancelOrderRequest>)
//! defines CancelOrderRequest `X` as MessageType, UserRefNum, Quantity, AppendageLength
//! (required) and OptionalAppendage, so Cancel Order is `X`, UserRefNum (4), Quantity (4),
//! AppendageLength (2): 11 bytes with no options.
//! Public implementations disagree: the `ouch-connect` 5.0.1 client (PyPI) sends a 9-byte
//! Cancel Order with no AppendageLength (seen in `tests/clients`), and other open-source OUCH
//! 5.0 models found while checking also define it as 9 bytes, while the Rust `slouch` crate
//! encodes the Optional Appendage after Quantity as ferrex does. ferrex accepts only the
//! specification's layout: a 9-byte Cancel Order is a length error (the server answers with a
//! SoupBinTCP Debug packet and the session goes on); no other layout is guessed at.
//!
//! ## Client-quirk compatibility mode: `ouch-connect-5.0.1` (not the specification)
//! [`Dialect::OuchConnect501`] exists only so that the third-party `ouch-connect` 5.0.1 client
//! (PyPI) can trade against ferrex. It is **not** OUCH 5.0 and is never the default: a session
//! opts in by name (`dialect = "ouch-connect-5.0.1"` on an OUCH `[[session]]` of
//! `ferrex serve`; [`crate::server::ServerConfig::ouch_dialects`]). Every other session, and
//! [`Inbound::decode`] / [`Outbound::encode`], speak the specification byte for byte. The
//! layouts below were taken from that client's own bytes (captured on a local socket) and
//! from what its decoders accept; only these five messages differ:
//!
//! | message | ouch-connect 5.0.1 layout | length |
//! | --- | --- | --- |
//! | `O` Enter Order | as the spec, but Symbol 10 is 9 bytes (the 9th a space): Price 19, TimeInForce 27, Display 28, Capacity 29, InterMarket Sweep 30, CrossType 31, ClOrdID 32 (14), AppendageLength 46 (2) | 48 + appendage |
//! | `X` Cancel Order | type 0, UserRefNum 1 (4), Quantity 5 (4); no AppendageLength, no appendage | 9 |
//! | `A` Order Accepted | as the spec, but Symbol 18 is 9 bytes: Price 27 … AppendageLength 63 | 65 + appendage |
//! | `U` Order Replaced | as the spec, but Symbol 22 is 9 bytes: Price 31 … AppendageLength 67 | 69 + appendage |
//! | `C` Order Canceled | type 0, Timestamp 1 (8), OrigUserRefNum 5 (4), UserRefNum 13 (4), Quantity 17 (4), Reason 21; no AppendageLength | 22 |
//!
//! ferrex writes the order's UserRefNum in both OrigUserRefNum and UserRefNum of a compat
//! Order Canceled, and leaves out the appendage it cannot carry. Replace Order, Modify Order,
//! System Event, Order Executed, Order Rejected, Cancel Reject and Order Modified are the
//! spec's layouts in both dialects. The dialect changes only the bytes: sequencing, the order
//! tables, risk mapping and cancel-on-disconnect are the same, and encoding or decoding in
//! either dialect allocates nothing beyond the caller's output buffer.

use core::fmt;

/// Price with 4 implied decimal places (1.2345 → 12345), unsigned 8 bytes on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OuchPrice(pub u64);

impl OuchPrice {
    /// The price OUCH uses to mean a market order (214748.3647, the 4.x 32-bit maximum).
    pub const MARKET: OuchPrice = OuchPrice(2_147_483_647);
}

/// Day-unique, strictly increasing client reference of an order (per OUCH account).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserRefNum(pub u32);

/// An 8-byte stock symbol, left-justified and space-padded.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Symbol(pub [u8; 8]);

/// A 14-byte customer order id, left-justified and space-padded.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClOrdId(pub [u8; 14]);

macro_rules! text_field {
    ($t:ident, $n:expr) => {
        impl $t {
            /// Pad `s` with spaces on the right; `None` if it is longer than the field or not
            /// printable ASCII.
            pub fn new(s: &[u8]) -> Option<$t> {
                if s.len() > $n || !s.iter().all(|b| (0x20..0x7f).contains(b)) {
                    return None;
                }
                let mut a = [b' '; $n];
                a[..s.len()].copy_from_slice(s);
                Some($t(a))
            }
            /// The value without its right padding.
            pub fn trimmed(&self) -> &[u8] {
                let end = self.0.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
                &self.0[..end]
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "{}({:?})",
                    stringify!($t),
                    String::from_utf8_lossy(self.trimmed())
                )
            }
        }
    };
}
text_field!(Symbol, 8);
text_field!(ClOrdId, 14);

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $c:expr),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $name {
            /// The wire byte.
            pub const fn code(self) -> u8 { match self { $($name::$v => $c),+ } }
            /// Parse the wire byte.
            pub const fn from_code(b: u8) -> Option<$name> {
                match b { $($c => Some($name::$v),)+ _ => None }
            }
        }
    };
}

code_enum!(
    /// Side of an order.
    OuchSide {
        /// `B`
        Buy = b'B',
        /// `S`
        Sell = b'S',
        /// `T`: sell short.
        SellShort = b'T',
        /// `E`: sell short exempt.
        SellShortExempt = b'E',
    }
);
code_enum!(
    /// Time in force.
    OuchTif {
        /// `0`: day (market hours).
        Day = b'0',
        /// `3`: immediate or cancel.
        Ioc = b'3',
        /// `5`: GTX (extended hours).
        Gtx = b'5',
        /// `6`: good till time (ExpireTime option gives the seconds to live).
        Gtt = b'6',
        /// `E`: after hours.
        AfterHours = b'E',
    }
);
code_enum!(
    /// Display.
    Display {
        /// `Y`: visible.
        Visible = b'Y',
        /// `N`: hidden.
        Hidden = b'N',
        /// `A`: attributable.
        Attributable = b'A',
    }
);
code_enum!(
    /// Capacity.
    Capacity {
        /// `A`: agency.
        Agency = b'A',
        /// `P`: principal.
        Principal = b'P',
        /// `R`: riskless.
        Riskless = b'R',
        /// `O`: other.
        Other = b'O',
    }
);
code_enum!(
    /// Cross type.
    CrossType {
        /// `N`: continuous market.
        Continuous = b'N',
        /// `O`: opening cross.
        Opening = b'O',
        /// `C`: closing cross.
        Closing = b'C',
        /// `H`: halt/IPO cross.
        HaltIpo = b'H',
        /// `S`: supplemental.
        Supplemental = b'S',
        /// `R`: retail.
        Retail = b'R',
        /// `E`: extended life.
        ExtendedLife = b'E',
        /// `A`: after hours close.
        AfterHoursClose = b'A',
    }
);
code_enum!(
    /// System event code.
    EventCode {
        /// `S`: start of day.
        StartOfDay = b'S',
        /// `E`: end of day.
        EndOfDay = b'E',
    }
);
code_enum!(
    /// Order state in Accepted / Replaced.
    OrderState {
        /// `L`: live.
        Live = b'L',
        /// `D`: dead.
        Dead = b'D',
    }
);
code_enum!(
    /// Reason in an Order Canceled message.
    OuchCancelReason {
        /// `D`: regulatory restriction.
        Regulatory = b'D',
        /// `E`: closed.
        Closed = b'E',
        /// `F`: post-only cancel (NMS).
        PostOnlyNms = b'F',
        /// `G`: post-only cancel (contra displayed order).
        PostOnlyContra = b'G',
        /// `H`: halted.
        Halted = b'H',
        /// `I`: immediate or cancel remainder.
        ImmediateOrCancel = b'I',
        /// `K`: market collars (market order protection).
        MarketCollars = b'K',
        /// `Q`: self-match prevention.
        SelfMatchPrevention = b'Q',
        /// `S`: supervisory.
        Supervisory = b'S',
        /// `T`: timeout (time in force expired).
        Timeout = b'T',
        /// `U`: user requested.
        UserRequested = b'U',
        /// `X`: open protection.
        OpenProtection = b'X',
        /// `Z`: system cancel.
        System = b'Z',
    }
);
code_enum!(
    /// Liquidity flag of an execution (the subset ferrex produces plus the common ones).
    LiquidityFlag {
        /// `A`: added liquidity.
        Added = b'A',
        /// `R`: removed liquidity.
        Removed = b'R',
        /// `J`: non-displayed, added liquidity.
        NonDisplayedAdded = b'J',
        /// `O`: opening cross.
        OpeningCross = b'O',
        /// `C`: closing cross.
        ClosingCross = b'C',
        /// `H`: halt/IPO cross.
        HaltCross = b'H',
    }
);

/// An OUCH 5.0 Order Rejected reason (2-byte code). The named constants are the spec's table;
/// any other value decodes as is (the venue may add codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OuchRejectCode(pub u16);

#[allow(missing_docs)]
impl OuchRejectCode {
    pub const QUOTE_UNAVAILABLE: Self = Self(0x01);
    pub const DESTINATION_CLOSED: Self = Self(0x02);
    pub const INVALID_DISPLAY: Self = Self(0x03);
    pub const INVALID_MAX_FLOOR: Self = Self(0x04);
    pub const INVALID_PEG_TYPE: Self = Self(0x05);
    pub const FAT_FINGER: Self = Self(0x06);
    pub const HALTED: Self = Self(0x07);
    pub const ISO_NOT_ALLOWED: Self = Self(0x08);
    pub const INVALID_SIDE: Self = Self(0x09);
    pub const PROCESSING_ERROR: Self = Self(0x0A);
    pub const CANCEL_PENDING: Self = Self(0x0B);
    pub const FIRM_NOT_AUTHORIZED: Self = Self(0x0C);
    pub const INVALID_MIN_QUANTITY: Self = Self(0x0D);
    pub const NO_CLOSING_REFERENCE_PRICE: Self = Self(0x0E);
    pub const OTHER: Self = Self(0x0F);
    pub const CANCEL_NOT_ALLOWED: Self = Self(0x10);
    pub const PEGGING_NOT_ALLOWED: Self = Self(0x11);
    pub const CROSSED_MARKET: Self = Self(0x12);
    pub const INVALID_QUANTITY: Self = Self(0x13);
    pub const INVALID_CROSS_ORDER: Self = Self(0x14);
    pub const REPLACE_NOT_ALLOWED: Self = Self(0x15);
    pub const ROUTING_NOT_ALLOWED: Self = Self(0x16);
    pub const INVALID_SYMBOL: Self = Self(0x17);
    pub const TEST: Self = Self(0x18);
    pub const LATE_LOC_TOO_AGGRESSIVE: Self = Self(0x19);
    pub const RETAIL_NOT_ALLOWED: Self = Self(0x1A);
    pub const INVALID_MIDPOINT_POST_ONLY_PRICE: Self = Self(0x1B);
    pub const INVALID_DESTINATION: Self = Self(0x1C);
    pub const INVALID_PRICE: Self = Self(0x1D);
    pub const SHARES_EXCEED_THRESHOLD: Self = Self(0x1E);
    pub const EXCEEDS_MAX_NOTIONAL: Self = Self(0x1F);
    pub const RISK_AGGREGATE_EXPOSURE: Self = Self(0x20);
    pub const RISK_MARKET_IMPACT: Self = Self(0x21);
    pub const RISK_RESTRICTED_STOCK: Self = Self(0x22);
    pub const RISK_SHORT_SELL_RESTRICTED: Self = Self(0x23);
    pub const RISK_ISO_NOT_ALLOWED: Self = Self(0x24);
    pub const RISK_EXCEEDS_ADV_LIMIT: Self = Self(0x25);
    pub const RISK_FAT_FINGER: Self = Self(0x26);
    pub const RISK_LOCATE_REQUIRED: Self = Self(0x27);
    pub const RISK_SYMBOL_MESSAGE_RATE: Self = Self(0x28);
    pub const RISK_PORT_MESSAGE_RATE: Self = Self(0x29);
    pub const RISK_DUPLICATE_MESSAGE_RATE: Self = Self(0x2A);
    pub const RISK_SHORT_SELL_NOT_ALLOWED: Self = Self(0x2B);
    pub const RISK_MARKET_ORDER_NOT_ALLOWED: Self = Self(0x2C);
    pub const RISK_PRE_MARKET_NOT_ALLOWED: Self = Self(0x2D);
    pub const RISK_POST_MARKET_NOT_ALLOWED: Self = Self(0x2E);
    pub const RISK_SHORT_SELL_EXEMPT_NOT_ALLOWED: Self = Self(0x2F);
    pub const RISK_SINGLE_ORDER_NOTIONAL: Self = Self(0x30);
    pub const RISK_MAX_QUANTITY: Self = Self(0x31);
}

/// Option tags of the optional appendage that ferrex reads or writes.
pub mod tag {
    /// Firm (4 alpha).
    pub const FIRM: u8 = 2;
    /// Minimum quantity (u32).
    pub const MIN_QTY: u8 = 3;
    /// Customer type (1).
    pub const CUSTOMER_TYPE: u8 = 4;
    /// Max floor: displayed quantity of a reserve order (u32).
    pub const MAX_FLOOR: u8 = 5;
    /// Price type (1).
    pub const PRICE_TYPE: u8 = 6;
    /// Post only (1: `P` post only, `N` no).
    pub const POST_ONLY: u8 = 12;
    /// Expire time: seconds to live for TimeInForce GTT (u32, < 86400).
    pub const EXPIRE_TIME: u8 = 15;
    /// Trade now (1).
    pub const TRADE_NOW: u8 = 16;
    /// Handle instructions (1).
    pub const HANDLE_INST: u8 = 17;
    /// Group id (u16).
    pub const GROUP_ID: u8 = 24;
    /// Shares located (1).
    pub const SHARES_LOCATED: u8 = 25;
    /// User ref index (1).
    pub const USER_REF_IDX: u8 = 28;

    /// Value width of a known tag, `None` for tags ferrex does not know (accepted as is).
    pub const fn width(tag: u8) -> Option<usize> {
        match tag {
            1 => Some(8),
            FIRM | MIN_QTY | MAX_FLOOR | 7 | 11 | 13 | 14 | EXPIRE_TIME | 22 | 26 => Some(4),
            9 | 23 => Some(8),
            GROUP_ID => Some(2),
            CUSTOMER_TYPE | PRICE_TYPE | 10 | POST_ONLY | TRADE_NOW | HANDLE_INST | 18
            | SHARES_LOCATED | 27 | USER_REF_IDX => Some(1),
            _ => None,
        }
    }
}

/// The optional appendage of a message: validated TLV bytes, borrowed from the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Appendage<'a>(&'a [u8]);

impl<'a> Appendage<'a> {
    /// An empty appendage.
    pub const EMPTY: Appendage<'static> = Appendage(&[]);

    /// Check the TLV structure of `raw` (every option's length in bounds and ≥ 1, known tags with
    /// their exact widths). On error, returns the offset of the bad option within `raw`.
    pub fn parse(raw: &'a [u8]) -> Result<Appendage<'a>, usize> {
        let mut at = 0;
        while at < raw.len() {
            let len = usize::from(raw[at]);
            let Some(opt) = raw.get(at + 1..at + 1 + len) else {
                return Err(at);
            };
            let Some((&t, v)) = opt.split_first() else {
                return Err(at);
            };
            if tag::width(t).is_some_and(|w| w != v.len()) {
                return Err(at);
            }
            at += 1 + len;
        }
        Ok(Appendage(raw))
    }

    /// The raw bytes (without the 2-byte length).
    pub const fn raw(&self) -> &'a [u8] {
        self.0
    }

    /// Iterate over `(tag, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &'a [u8])> + 'a {
        let raw = self.0;
        let mut at = 0usize;
        core::iter::from_fn(move || {
            let len = usize::from(*raw.get(at)?);
            let opt = raw.get(at + 1..at + 1 + len)?;
            at += 1 + len;
            let (&t, v) = opt.split_first()?;
            Some((t, v))
        })
    }

    /// The value of the first option with this tag.
    pub fn get(&self, t: u8) -> Option<&'a [u8]> {
        self.iter().find(|&(k, _)| k == t).map(|(_, v)| v)
    }

    /// A u32 option (MaxFloor, MinQty, ExpireTime).
    pub fn get_u32(&self, t: u8) -> Option<u32> {
        self.get(t)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map(u32::from_be_bytes)
    }

    /// A one-byte option (PostOnly, …).
    pub fn get_u8(&self, t: u8) -> Option<u8> {
        self.get(t).and_then(|v| v.first().copied())
    }
}

/// Builds an appendage into a fixed stack buffer (no allocation).
#[derive(Clone, Copy, Debug)]
pub struct AppendageBuf {
    buf: [u8; 64],
    len: usize,
}

impl Default for AppendageBuf {
    fn default() -> Self {
        AppendageBuf {
            buf: [0; 64],
            len: 0,
        }
    }
}

impl AppendageBuf {
    /// Add one option; `false` (nothing added) when the 64-byte buffer is full.
    pub fn push(&mut self, t: u8, value: &[u8]) -> bool {
        let need = 2 + value.len();
        if self.len + need > self.buf.len() {
            return false;
        }
        // `value.len()` ≤ 62 here, so it fits a byte.
        self.buf[self.len] = (1 + value.len()) as u8;
        self.buf[self.len + 1] = t;
        self.buf[self.len + 2..self.len + need].copy_from_slice(value);
        self.len += need;
        true
    }
    /// View as an [`Appendage`].
    pub fn as_appendage(&self) -> Appendage<'_> {
        Appendage(&self.buf[..self.len])
    }
}

/// Enter Order (`O`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnterOrder<'a> {
    /// New order's reference.
    pub user_ref_num: UserRefNum,
    /// Side.
    pub side: OuchSide,
    /// Shares.
    pub quantity: u32,
    /// Symbol.
    pub symbol: Symbol,
    /// Limit price ([`OuchPrice::MARKET`] for a market order).
    pub price: OuchPrice,
    /// Time in force.
    pub time_in_force: OuchTif,
    /// Display.
    pub display: Display,
    /// Capacity.
    pub capacity: Capacity,
    /// InterMarket sweep eligibility (`Y` / `N`).
    pub intermarket_sweep: bool,
    /// Cross type.
    pub cross_type: CrossType,
    /// Customer order id.
    pub cl_ord_id: ClOrdId,
    /// Optional fields.
    pub appendage: Appendage<'a>,
}

/// Replace Order (`U`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReplaceOrder<'a> {
    /// The order being replaced.
    pub orig_user_ref_num: UserRefNum,
    /// The replacement's reference.
    pub user_ref_num: UserRefNum,
    /// New total shares.
    pub quantity: u32,
    /// New price.
    pub price: OuchPrice,
    /// Time in force.
    pub time_in_force: OuchTif,
    /// Display.
    pub display: Display,
    /// InterMarket sweep eligibility.
    pub intermarket_sweep: bool,
    /// Customer order id of the replacement.
    pub cl_ord_id: ClOrdId,
    /// Optional fields.
    pub appendage: Appendage<'a>,
}

/// Cancel Order (`X`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CancelOrder<'a> {
    /// The order.
    pub user_ref_num: UserRefNum,
    /// New intended order size (0 = cancel all).
    pub quantity: u32,
    /// Optional fields.
    pub appendage: Appendage<'a>,
}

/// Modify Order (`M`): change side between sell variants and/or reduce quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModifyOrder<'a> {
    /// The order.
    pub user_ref_num: UserRefNum,
    /// New side.
    pub side: OuchSide,
    /// New total shares.
    pub quantity: u32,
    /// Optional fields.
    pub appendage: Appendage<'a>,
}

/// A client → server message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Inbound<'a> {
    /// `O`
    Enter(EnterOrder<'a>),
    /// `U`
    Replace(ReplaceOrder<'a>),
    /// `X`
    Cancel(CancelOrder<'a>),
    /// `M`
    Modify(ModifyOrder<'a>),
}

/// System Event (`S`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SystemEvent {
    /// Nanoseconds since midnight.
    pub timestamp: u64,
    /// Event.
    pub event_code: EventCode,
}

/// Order Accepted (`A`) and Order Replaced (`U`, with `orig_user_ref_num`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Accepted<'a> {
    /// Nanoseconds since midnight.
    pub timestamp: u64,
    /// The replaced order's reference (Replaced only; `None` = Accepted).
    pub orig_user_ref_num: Option<UserRefNum>,
    /// The order.
    pub user_ref_num: UserRefNum,
    /// Side.
    pub side: OuchSide,
    /// Shares.
    pub quantity: u32,
    /// Symbol.
    pub symbol: Symbol,
    /// Price.
    pub price: OuchPrice,
    /// Time in force.
    pub time_in_force: OuchTif,
    /// Display.
    pub display: Display,
    /// Exchange-assigned order reference number (the engine order id).
    pub order_reference_number: u64,
    /// Capacity.
    pub capacity: Capacity,
    /// InterMarket sweep eligibility.
    pub intermarket_sweep: bool,
    /// Cross type.
    pub cross_type: CrossType,
    /// Live or dead.
    pub order_state: OrderState,
    /// Customer order id.
    pub cl_ord_id: ClOrdId,
    /// Optional fields.
    pub appendage: Appendage<'a>,
}

/// Order Canceled (`C`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Canceled<'a> {
    /// Nanoseconds since midnight.
    pub timestamp: u64,
    /// The order.
    pub user_ref_num: UserRefNum,
    /// Shares decremented (incremental, not cumulative).
    pub quantity: u32,
    /// Why.
    pub reason: OuchCancelReason,
    /// Optional fields.
    pub appendage: Appendage<'a>,
}

/// Order Executed (`E`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Executed<'a> {
    /// Nanoseconds since midnight.
    pub timestamp: u64,
    /// The order.
    pub user_ref_num: UserRefNum,
    /// Shares executed.
    pub quantity: u32,
    /// Execution price.
    pub price: OuchPrice,
    /// Added / removed liquidity.
    pub liquidity_flag: LiquidityFlag,
    /// Day-unique match number (both sides of a trade get the same one).
    pub match_number: u64,
    /// Optional fields.
    pub appendage: Appendage<'a>,
}

/// Order Rejected (`J`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rejected<'a> {
    /// Nanoseconds since midnight.
    pub timestamp: u64,
    /// The rejected order's reference.
    pub user_ref_num: UserRefNum,
    /// Why.
    pub reason: OuchRejectCode,
    /// Customer order id.
    pub cl_ord_id: ClOrdId,
    /// Optional fields.
    pub appendage: Appendage<'a>,
}

/// Cancel Reject (`I`): a cancel could not be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CancelReject<'a> {
    /// Nanoseconds since midnight.
    pub timestamp: u64,
    /// The order.
    pub user_ref_num: UserRefNum,
    /// Optional fields.
    pub appendage: Appendage<'a>,
}

/// Order Modified (`M`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Modified<'a> {
    /// Nanoseconds since midnight.
    pub timestamp: u64,
    /// The order.
    pub user_ref_num: UserRefNum,
    /// Side now.
    pub side: OuchSide,
    /// Shares now open.
    pub quantity: u32,
    /// Optional fields.
    pub appendage: Appendage<'a>,
}

/// A server → client message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outbound<'a> {
    /// `S`
    SystemEvent(SystemEvent),
    /// `A` (or `U` when `orig_user_ref_num` is set)
    Accepted(Accepted<'a>),
    /// `C`
    Canceled(Canceled<'a>),
    /// `E`
    Executed(Executed<'a>),
    /// `J`
    Rejected(Rejected<'a>),
    /// `I`
    CancelReject(CancelReject<'a>),
    /// `M`
    Modified(Modified<'a>),
}

/// The wire layout a session speaks. [`Dialect::Spec`] (the default) is OUCH 5.0 as published;
/// [`Dialect::OuchConnect501`] is a client-quirk compatibility mode for the `ouch-connect` 5.0.1
/// client (see the module doc), not the specification. Only the layouts of Enter Order and
/// Cancel Order (inbound) and Order Accepted, Order Replaced and Order Canceled (outbound)
/// differ; every other message is the same in both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// OUCH 5.0 as specified.
    #[default]
    Spec,
    /// The layouts of the `ouch-connect` 5.0.1 client (PyPI): 9-byte Symbol, 9-byte Cancel
    /// Order without AppendageLength, Order Canceled with OrigUserRefNum and no appendage.
    OuchConnect501,
}

impl Dialect {
    /// The configuration name: `"spec"` or `"ouch-connect-5.0.1"`.
    pub const fn name(self) -> &'static str {
        match self {
            Dialect::Spec => "spec",
            Dialect::OuchConnect501 => "ouch-connect-5.0.1",
        }
    }
    /// Parse a configuration name (see [`Dialect::name`]).
    pub fn parse(s: &str) -> Option<Dialect> {
        [Dialect::Spec, Dialect::OuchConnect501]
            .into_iter()
            .find(|d| d.name() == s)
    }
    const fn compat(self) -> bool {
        matches!(self, Dialect::OuchConnect501)
    }
}

/// An OUCH decoding or encoding error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum OuchError {
    /// Empty message.
    #[error("empty OUCH message")]
    Empty,
    /// Unknown message type.
    #[error("unknown OUCH message type 0x{0:02x}")]
    UnknownType(u8),
    /// The message is shorter or longer than its layout plus declared appendage.
    #[error("message '{}' has length {got}, expected {expected}", *msg_type as char)]
    BadLength {
        /// Message type.
        msg_type: u8,
        /// Expected length (fixed part + declared appendage; the fixed part alone when the
        /// message is too short to hold it).
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A field has an invalid value.
    #[error("message '{}': invalid {field} at offset {offset}", *msg_type as char)]
    BadField {
        /// Message type.
        msg_type: u8,
        /// Field name.
        field: &'static str,
        /// Byte offset within the message.
        offset: usize,
    },
    /// Encoding: the appendage is longer than 65535 bytes.
    #[error("appendage of {0} bytes exceeds 65535")]
    AppendageTooLong(usize),
}

struct Rd<'a> {
    b: &'a [u8],
    at: usize,
    t: u8,
}

impl<'a> Rd<'a> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&self.b[self.at..self.at + N]);
        self.at += N;
        a
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.take())
    }
    fn bad(&self, field: &'static str, width: usize) -> OuchError {
        OuchError::BadField {
            msg_type: self.t,
            field,
            offset: self.at - width,
        }
    }
    fn code<T>(&mut self, field: &'static str, f: fn(u8) -> Option<T>) -> Result<T, OuchError> {
        let b = self.u8();
        f(b).ok_or(self.bad(field, 1))
    }
    fn yn(&mut self, field: &'static str) -> Result<bool, OuchError> {
        match self.u8() {
            b'Y' => Ok(true),
            b'N' => Ok(false),
            _ => Err(self.bad(field, 1)),
        }
    }
    fn symbol(&mut self) -> Result<Symbol, OuchError> {
        let a: [u8; 8] = self.take();
        let ok = a[0] != b' ' && valid_text(&a);
        ok.then_some(Symbol(a)).ok_or(self.bad("symbol", 8))
    }
    /// `ouch-connect` 5.0.1: the 9th Symbol byte, which must be a space (ferrex symbols are
    /// at most 8 characters).
    fn symbol_pad(&mut self, compat: bool) -> Result<(), OuchError> {
        if compat && self.u8() != b' ' {
            return Err(self.bad("symbol", 1));
        }
        Ok(())
    }
    fn cl_ord_id(&mut self) -> Result<ClOrdId, OuchError> {
        let a: [u8; 14] = self.take();
        valid_text(&a)
            .then_some(ClOrdId(a))
            .ok_or(self.bad("ClOrdID", 14))
    }
    fn user_ref(&mut self, field: &'static str) -> Result<UserRefNum, OuchError> {
        let v = self.u32();
        (v != 0).then_some(UserRefNum(v)).ok_or(self.bad(field, 4))
    }
    fn qty(&mut self) -> u32 {
        self.u32()
    }
    fn appendage(&mut self) -> Result<Appendage<'a>, OuchError> {
        let start = self.at + 2;
        let _ = self.u16(); // length already checked against the message length
        Appendage::parse(&self.b[start..]).map_err(|off| OuchError::BadField {
            msg_type: self.t,
            field: "optional appendage",
            offset: start + off,
        })
    }
}

/// Printable ASCII, and after the first space only spaces (left-justified, right-padded).
fn valid_text(a: &[u8]) -> bool {
    let end = a.iter().position(|&b| b == b' ').unwrap_or(a.len());
    a[..end].iter().all(|b| (0x21..0x7f).contains(b)) && a[end..].iter().all(|&b| b == b' ')
}

/// Check the total length against `fixed` + the appendage length stored in the last 2 bytes of
/// the fixed part.
fn check_len(b: &[u8], fixed: usize) -> Result<(), OuchError> {
    let t = b[0];
    if b.len() < fixed {
        return Err(OuchError::BadLength {
            msg_type: t,
            expected: fixed,
            got: b.len(),
        });
    }
    let app = usize::from(u16::from_be_bytes([b[fixed - 2], b[fixed - 1]]));
    if b.len() != fixed + app {
        return Err(OuchError::BadLength {
            msg_type: t,
            expected: fixed + app,
            got: b.len(),
        });
    }
    Ok(())
}

/// Exact length check for a message without AppendageLength.
fn check_exact(b: &[u8], want: usize) -> Result<(), OuchError> {
    if b.len() != want {
        return Err(OuchError::BadLength {
            msg_type: b[0],
            expected: want,
            got: b.len(),
        });
    }
    Ok(())
}

/// Fixed lengths in the [`Dialect::OuchConnect501`] layouts that differ from [`len`].
pub mod compat_len {
    /// Enter Order (9-byte Symbol).
    pub const ENTER: usize = 48;
    /// Cancel Order (no AppendageLength, no appendage: the whole message).
    pub const CANCEL: usize = 9;
    /// Order Accepted (9-byte Symbol).
    pub const ACCEPTED: usize = 65;
    /// Order Replaced (9-byte Symbol).
    pub const REPLACED: usize = 69;
    /// Order Canceled (OrigUserRefNum added, no AppendageLength: the whole message).
    pub const CANCELED: usize = 22;
}

/// Fixed lengths of the inbound messages (type byte through appendage length).
pub mod len {
    /// Enter Order.
    pub const ENTER: usize = 47;
    /// Replace Order.
    pub const REPLACE: usize = 40;
    /// Cancel Order.
    pub const CANCEL: usize = 11;
    /// Modify Order.
    pub const MODIFY: usize = 12;
    /// System Event (no appendage).
    pub const SYSTEM_EVENT: usize = 10;
    /// Order Accepted.
    pub const ACCEPTED: usize = 64;
    /// Order Replaced.
    pub const REPLACED: usize = 68;
    /// Order Canceled.
    pub const CANCELED: usize = 20;
    /// Order Executed.
    pub const EXECUTED: usize = 36;
    /// Order Rejected.
    pub const REJECTED: usize = 31;
    /// Cancel Reject.
    pub const CANCEL_REJECT: usize = 15;
    /// Order Modified.
    pub const MODIFIED: usize = 20;
}

impl<'a> Inbound<'a> {
    /// Decode one client message (a SoupBinTCP Unsequenced Data payload). O(length), no
    /// allocation; every field validated.
    pub fn decode(b: &'a [u8]) -> Result<Inbound<'a>, OuchError> {
        Self::decode_dialect(b, Dialect::Spec)
    }

    /// [`Inbound::decode`] in the given dialect (the same checks; only the layouts differ).
    pub fn decode_dialect(b: &'a [u8], dialect: Dialect) -> Result<Inbound<'a>, OuchError> {
        let &t = b.first().ok_or(OuchError::Empty)?;
        let compat = dialect.compat();
        let mut r = Rd { b, at: 1, t };
        Ok(match t {
            b'O' => {
                check_len(
                    b,
                    if compat {
                        compat_len::ENTER
                    } else {
                        len::ENTER
                    },
                )?;
                Inbound::Enter(EnterOrder {
                    user_ref_num: r.user_ref("UserRefNum")?,
                    side: r.code("side", OuchSide::from_code)?,
                    quantity: r.qty(),
                    symbol: {
                        let s = r.symbol()?;
                        r.symbol_pad(compat)?;
                        s
                    },
                    price: OuchPrice(r.u64()),
                    time_in_force: r.code("time in force", OuchTif::from_code)?,
                    display: r.code("display", Display::from_code)?,
                    capacity: r.code("capacity", Capacity::from_code)?,
                    intermarket_sweep: r.yn("intermarket sweep eligibility")?,
                    cross_type: r.code("cross type", CrossType::from_code)?,
                    cl_ord_id: r.cl_ord_id()?,
                    appendage: r.appendage()?,
                })
            }
            b'U' => {
                check_len(b, len::REPLACE)?;
                Inbound::Replace(ReplaceOrder {
                    orig_user_ref_num: r.user_ref("OrigUserRefNum")?,
                    user_ref_num: r.user_ref("UserRefNum")?,
                    quantity: r.qty(),
                    price: OuchPrice(r.u64()),
                    time_in_force: r.code("time in force", OuchTif::from_code)?,
                    display: r.code("display", Display::from_code)?,
                    intermarket_sweep: r.yn("intermarket sweep eligibility")?,
                    cl_ord_id: r.cl_ord_id()?,
                    appendage: r.appendage()?,
                })
            }
            b'X' if compat => {
                check_exact(b, compat_len::CANCEL)?;
                Inbound::Cancel(CancelOrder {
                    user_ref_num: r.user_ref("UserRefNum")?,
                    quantity: r.qty(),
                    appendage: Appendage::EMPTY,
                })
            }
            b'X' => {
                check_len(b, len::CANCEL)?;
                Inbound::Cancel(CancelOrder {
                    user_ref_num: r.user_ref("UserRefNum")?,
                    quantity: r.qty(),
                    appendage: r.appendage()?,
                })
            }
            b'M' => {
                check_len(b, len::MODIFY)?;
                Inbound::Modify(ModifyOrder {
                    user_ref_num: r.user_ref("UserRefNum")?,
                    side: r.code("side", OuchSide::from_code)?,
                    quantity: r.qty(),
                    appendage: r.appendage()?,
                })
            }
            other => return Err(OuchError::UnknownType(other)),
        })
    }

    /// Append the encoded message to `out`; returns its length. Fails only on an appendage
    /// longer than 65535 bytes (nothing written).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<usize, OuchError> {
        self.encode_dialect(out, Dialect::Spec)
    }

    /// [`Inbound::encode`] in the given dialect. In [`Dialect::OuchConnect501`] a Cancel Order
    /// has no AppendageLength, so its appendage must be empty
    /// ([`OuchError::AppendageTooLong`] otherwise, nothing written).
    pub fn encode_dialect(&self, out: &mut Vec<u8>, dialect: Dialect) -> Result<usize, OuchError> {
        let start = out.len();
        let compat = dialect.compat();
        match self {
            Inbound::Enter(m) => {
                out.push(b'O');
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                out.push(m.side.code());
                out.extend_from_slice(&m.quantity.to_be_bytes());
                out.extend_from_slice(&m.symbol.0);
                if compat {
                    out.push(b' ');
                }
                out.extend_from_slice(&m.price.0.to_be_bytes());
                out.push(m.time_in_force.code());
                out.push(m.display.code());
                out.push(m.capacity.code());
                out.push(yn(m.intermarket_sweep));
                out.push(m.cross_type.code());
                out.extend_from_slice(&m.cl_ord_id.0);
                put_appendage(out, start, m.appendage)
            }
            Inbound::Replace(m) => {
                out.push(b'U');
                out.extend_from_slice(&m.orig_user_ref_num.0.to_be_bytes());
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                out.extend_from_slice(&m.quantity.to_be_bytes());
                out.extend_from_slice(&m.price.0.to_be_bytes());
                out.push(m.time_in_force.code());
                out.push(m.display.code());
                out.push(yn(m.intermarket_sweep));
                out.extend_from_slice(&m.cl_ord_id.0);
                put_appendage(out, start, m.appendage)
            }
            Inbound::Cancel(m) if compat => {
                if !m.appendage.0.is_empty() {
                    return Err(OuchError::AppendageTooLong(m.appendage.0.len()));
                }
                out.push(b'X');
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                out.extend_from_slice(&m.quantity.to_be_bytes());
                Ok(out.len() - start)
            }
            Inbound::Cancel(m) => {
                out.push(b'X');
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                out.extend_from_slice(&m.quantity.to_be_bytes());
                put_appendage(out, start, m.appendage)
            }
            Inbound::Modify(m) => {
                out.push(b'M');
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                out.push(m.side.code());
                out.extend_from_slice(&m.quantity.to_be_bytes());
                put_appendage(out, start, m.appendage)
            }
        }
    }
}

fn yn(b: bool) -> u8 {
    if b { b'Y' } else { b'N' }
}

fn put_appendage(out: &mut Vec<u8>, start: usize, a: Appendage<'_>) -> Result<usize, OuchError> {
    let Ok(n) = u16::try_from(a.0.len()) else {
        out.truncate(start);
        return Err(OuchError::AppendageTooLong(a.0.len()));
    };
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(a.0);
    Ok(out.len() - start)
}

impl<'a> Outbound<'a> {
    /// The message type byte.
    pub const fn msg_type(&self) -> u8 {
        match self {
            Outbound::SystemEvent(_) => b'S',
            Outbound::Accepted(a) if a.orig_user_ref_num.is_some() => b'U',
            Outbound::Accepted(_) => b'A',
            Outbound::Canceled(_) => b'C',
            Outbound::Executed(_) => b'E',
            Outbound::Rejected(_) => b'J',
            Outbound::CancelReject(_) => b'I',
            Outbound::Modified(_) => b'M',
        }
    }

    /// Decode one server message (a SoupBinTCP Sequenced Data payload): used by clients, the
    /// load generator and tests. O(length), no allocation.
    pub fn decode(b: &'a [u8]) -> Result<Outbound<'a>, OuchError> {
        Self::decode_dialect(b, Dialect::Spec)
    }

    /// [`Outbound::decode`] in the given dialect. A [`Dialect::OuchConnect501`] Order Canceled
    /// carries OrigUserRefNum before UserRefNum; it is read and checked non-zero, and the
    /// decoded message keeps UserRefNum (ferrex sends the same value in both).
    pub fn decode_dialect(b: &'a [u8], dialect: Dialect) -> Result<Outbound<'a>, OuchError> {
        let &t = b.first().ok_or(OuchError::Empty)?;
        let compat = dialect.compat();
        let mut r = Rd { b, at: 1, t };
        Ok(match t {
            b'S' => {
                if b.len() != len::SYSTEM_EVENT {
                    return Err(OuchError::BadLength {
                        msg_type: t,
                        expected: len::SYSTEM_EVENT,
                        got: b.len(),
                    });
                }
                Outbound::SystemEvent(SystemEvent {
                    timestamp: r.u64(),
                    event_code: r.code("event code", EventCode::from_code)?,
                })
            }
            b'A' | b'U' => {
                check_len(
                    b,
                    match (t == b'A', compat) {
                        (true, false) => len::ACCEPTED,
                        (false, false) => len::REPLACED,
                        (true, true) => compat_len::ACCEPTED,
                        (false, true) => compat_len::REPLACED,
                    },
                )?;
                let timestamp = r.u64();
                let orig_user_ref_num = if t == b'U' {
                    Some(r.user_ref("OrigUserRefNum")?)
                } else {
                    None
                };
                Outbound::Accepted(Accepted {
                    timestamp,
                    orig_user_ref_num,
                    user_ref_num: r.user_ref("UserRefNum")?,
                    side: r.code("side", OuchSide::from_code)?,
                    quantity: r.qty(),
                    symbol: {
                        let s = r.symbol()?;
                        r.symbol_pad(compat)?;
                        s
                    },
                    price: OuchPrice(r.u64()),
                    time_in_force: r.code("time in force", OuchTif::from_code)?,
                    display: r.code("display", Display::from_code)?,
                    order_reference_number: r.u64(),
                    capacity: r.code("capacity", Capacity::from_code)?,
                    intermarket_sweep: r.yn("intermarket sweep eligibility")?,
                    cross_type: r.code("cross type", CrossType::from_code)?,
                    order_state: r.code("order state", OrderState::from_code)?,
                    cl_ord_id: r.cl_ord_id()?,
                    appendage: r.appendage()?,
                })
            }
            b'C' if compat => {
                check_exact(b, compat_len::CANCELED)?;
                let timestamp = r.u64();
                r.user_ref("OrigUserRefNum")?;
                Outbound::Canceled(Canceled {
                    timestamp,
                    user_ref_num: r.user_ref("UserRefNum")?,
                    quantity: r.qty(),
                    reason: r.code("cancel reason", OuchCancelReason::from_code)?,
                    appendage: Appendage::EMPTY,
                })
            }
            b'C' => {
                check_len(b, len::CANCELED)?;
                Outbound::Canceled(Canceled {
                    timestamp: r.u64(),
                    user_ref_num: r.user_ref("UserRefNum")?,
                    quantity: r.qty(),
                    reason: r.code("cancel reason", OuchCancelReason::from_code)?,
                    appendage: r.appendage()?,
                })
            }
            b'E' => {
                check_len(b, len::EXECUTED)?;
                Outbound::Executed(Executed {
                    timestamp: r.u64(),
                    user_ref_num: r.user_ref("UserRefNum")?,
                    quantity: r.qty(),
                    price: OuchPrice(r.u64()),
                    liquidity_flag: r.code("liquidity flag", LiquidityFlag::from_code)?,
                    match_number: r.u64(),
                    appendage: r.appendage()?,
                })
            }
            b'J' => {
                check_len(b, len::REJECTED)?;
                Outbound::Rejected(Rejected {
                    timestamp: r.u64(),
                    user_ref_num: r.user_ref("UserRefNum")?,
                    reason: OuchRejectCode(r.u16()),
                    cl_ord_id: r.cl_ord_id()?,
                    appendage: r.appendage()?,
                })
            }
            b'I' => {
                check_len(b, len::CANCEL_REJECT)?;
                Outbound::CancelReject(CancelReject {
                    timestamp: r.u64(),
                    user_ref_num: r.user_ref("UserRefNum")?,
                    appendage: r.appendage()?,
                })
            }
            b'M' => {
                check_len(b, len::MODIFIED)?;
                Outbound::Modified(Modified {
                    timestamp: r.u64(),
                    user_ref_num: r.user_ref("UserRefNum")?,
                    side: r.code("side", OuchSide::from_code)?,
                    quantity: r.qty(),
                    appendage: r.appendage()?,
                })
            }
            other => return Err(OuchError::UnknownType(other)),
        })
    }

    /// Append the encoded message to `out`; returns its length. Fails only on an appendage
    /// longer than 65535 bytes (nothing written).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<usize, OuchError> {
        self.encode_dialect(out, Dialect::Spec)
    }

    /// [`Outbound::encode`] in the given dialect. A [`Dialect::OuchConnect501`] Order Canceled
    /// has no appendage (any is left out) and repeats UserRefNum as OrigUserRefNum.
    pub fn encode_dialect(&self, out: &mut Vec<u8>, dialect: Dialect) -> Result<usize, OuchError> {
        let start = out.len();
        let compat = dialect.compat();
        out.push(self.msg_type());
        match self {
            Outbound::SystemEvent(m) => {
                out.extend_from_slice(&m.timestamp.to_be_bytes());
                out.push(m.event_code.code());
                Ok(out.len() - start)
            }
            Outbound::Accepted(m) => {
                out.extend_from_slice(&m.timestamp.to_be_bytes());
                if let Some(o) = m.orig_user_ref_num {
                    out.extend_from_slice(&o.0.to_be_bytes());
                }
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                out.push(m.side.code());
                out.extend_from_slice(&m.quantity.to_be_bytes());
                out.extend_from_slice(&m.symbol.0);
                if compat {
                    out.push(b' ');
                }
                out.extend_from_slice(&m.price.0.to_be_bytes());
                out.push(m.time_in_force.code());
                out.push(m.display.code());
                out.extend_from_slice(&m.order_reference_number.to_be_bytes());
                out.push(m.capacity.code());
                out.push(yn(m.intermarket_sweep));
                out.push(m.cross_type.code());
                out.push(m.order_state.code());
                out.extend_from_slice(&m.cl_ord_id.0);
                put_appendage(out, start, m.appendage)
            }
            Outbound::Canceled(m) if compat => {
                out.extend_from_slice(&m.timestamp.to_be_bytes());
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                out.extend_from_slice(&m.quantity.to_be_bytes());
                out.push(m.reason.code());
                Ok(out.len() - start)
            }
            Outbound::Canceled(m) => {
                out.extend_from_slice(&m.timestamp.to_be_bytes());
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                out.extend_from_slice(&m.quantity.to_be_bytes());
                out.push(m.reason.code());
                put_appendage(out, start, m.appendage)
            }
            Outbound::Executed(m) => {
                out.extend_from_slice(&m.timestamp.to_be_bytes());
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                out.extend_from_slice(&m.quantity.to_be_bytes());
                out.extend_from_slice(&m.price.0.to_be_bytes());
                out.push(m.liquidity_flag.code());
                out.extend_from_slice(&m.match_number.to_be_bytes());
                put_appendage(out, start, m.appendage)
            }
            Outbound::Rejected(m) => {
                out.extend_from_slice(&m.timestamp.to_be_bytes());
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                out.extend_from_slice(&m.reason.0.to_be_bytes());
                out.extend_from_slice(&m.cl_ord_id.0);
                put_appendage(out, start, m.appendage)
            }
            Outbound::CancelReject(m) => {
                out.extend_from_slice(&m.timestamp.to_be_bytes());
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                put_appendage(out, start, m.appendage)
            }
            Outbound::Modified(m) => {
                out.extend_from_slice(&m.timestamp.to_be_bytes());
                out.extend_from_slice(&m.user_ref_num.0.to_be_bytes());
                out.push(m.side.code());
                out.extend_from_slice(&m.quantity.to_be_bytes());
                put_appendage(out, start, m.appendage)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym() -> Symbol {
        Symbol::new(b"AAPL").unwrap()
    }
    fn cid() -> ClOrdId {
        ClOrdId::new(b"ORD-1").unwrap()
    }

    pub(crate) fn sample_inbound(app: Appendage<'_>) -> Vec<Inbound<'_>> {
        vec![
            Inbound::Enter(EnterOrder {
                user_ref_num: UserRefNum(1),
                side: OuchSide::Buy,
                quantity: 100,
                symbol: sym(),
                price: OuchPrice(1_234_500),
                time_in_force: OuchTif::Day,
                display: Display::Visible,
                capacity: Capacity::Agency,
                intermarket_sweep: false,
                cross_type: CrossType::Continuous,
                cl_ord_id: cid(),
                appendage: app,
            }),
            Inbound::Replace(ReplaceOrder {
                orig_user_ref_num: UserRefNum(1),
                user_ref_num: UserRefNum(2),
                quantity: 50,
                price: OuchPrice(1_234_600),
                time_in_force: OuchTif::Ioc,
                display: Display::Attributable,
                intermarket_sweep: true,
                cl_ord_id: cid(),
                appendage: app,
            }),
            Inbound::Cancel(CancelOrder {
                user_ref_num: UserRefNum(2),
                quantity: 0,
                appendage: app,
            }),
            Inbound::Modify(ModifyOrder {
                user_ref_num: UserRefNum(3),
                side: OuchSide::SellShort,
                quantity: 10,
                appendage: app,
            }),
        ]
    }

    fn sample_outbound(app: Appendage<'_>) -> Vec<Outbound<'_>> {
        let acc = Accepted {
            timestamp: 34_200_000_000_000,
            orig_user_ref_num: None,
            user_ref_num: UserRefNum(7),
            side: OuchSide::Sell,
            quantity: 300,
            symbol: sym(),
            price: OuchPrice(99_0000),
            time_in_force: OuchTif::Gtt,
            display: Display::Visible,
            order_reference_number: 123_456_789,
            capacity: Capacity::Principal,
            intermarket_sweep: false,
            cross_type: CrossType::Continuous,
            order_state: OrderState::Live,
            cl_ord_id: cid(),
            appendage: app,
        };
        vec![
            Outbound::SystemEvent(SystemEvent {
                timestamp: 1,
                event_code: EventCode::StartOfDay,
            }),
            Outbound::Accepted(acc),
            Outbound::Accepted(Accepted {
                orig_user_ref_num: Some(UserRefNum(6)),
                ..acc
            }),
            Outbound::Canceled(Canceled {
                timestamp: 2,
                user_ref_num: UserRefNum(7),
                quantity: 300,
                reason: OuchCancelReason::UserRequested,
                appendage: app,
            }),
            Outbound::Executed(Executed {
                timestamp: 3,
                user_ref_num: UserRefNum(7),
                quantity: 100,
                price: OuchPrice(99_0000),
                liquidity_flag: LiquidityFlag::Added,
                match_number: 55,
                appendage: app,
            }),
            Outbound::Rejected(Rejected {
                timestamp: 4,
                user_ref_num: UserRefNum(8),
                reason: OuchRejectCode::INVALID_PRICE,
                cl_ord_id: cid(),
                appendage: app,
            }),
            Outbound::CancelReject(CancelReject {
                timestamp: 5,
                user_ref_num: UserRefNum(9),
                appendage: app,
            }),
            Outbound::Modified(Modified {
                timestamp: 6,
                user_ref_num: UserRefNum(9),
                side: OuchSide::SellShortExempt,
                quantity: 1,
                appendage: app,
            }),
        ]
    }

    fn appendage_buf() -> AppendageBuf {
        let mut a = AppendageBuf::default();
        assert!(a.push(tag::MAX_FLOOR, &100u32.to_be_bytes()));
        assert!(a.push(tag::POST_ONLY, b"P"));
        assert!(a.push(tag::EXPIRE_TIME, &60u32.to_be_bytes()));
        a
    }

    #[test]
    fn round_trip_all_messages_with_and_without_appendage() {
        let ab = appendage_buf();
        for app in [Appendage::EMPTY, ab.as_appendage()] {
            for m in sample_inbound(app) {
                let mut v = Vec::new();
                let n = m.encode(&mut v).unwrap();
                assert_eq!(n, v.len());
                assert_eq!(Inbound::decode(&v), Ok(m));
                for k in 0..v.len() {
                    assert!(Inbound::decode(&v[..k]).is_err(), "truncated {k}");
                }
            }
            for m in sample_outbound(app) {
                let mut v = Vec::new();
                m.encode(&mut v).unwrap();
                assert_eq!(Outbound::decode(&v), Ok(m));
                for k in 0..v.len() {
                    assert!(Outbound::decode(&v[..k]).is_err(), "truncated {k}");
                }
            }
        }
    }

    #[test]
    fn fixed_lengths_match_layout_table() {
        let want_in = [len::ENTER, len::REPLACE, len::CANCEL, len::MODIFY];
        for (m, want) in sample_inbound(Appendage::EMPTY).iter().zip(want_in) {
            let mut v = Vec::new();
            assert_eq!(m.encode(&mut v).unwrap(), want);
        }
        let want_out = [
            len::SYSTEM_EVENT,
            len::ACCEPTED,
            len::REPLACED,
            len::CANCELED,
            len::EXECUTED,
            len::REJECTED,
            len::CANCEL_REJECT,
            len::MODIFIED,
        ];
        for (m, want) in sample_outbound(Appendage::EMPTY).iter().zip(want_out) {
            let mut v = Vec::new();
            assert_eq!(m.encode(&mut v).unwrap(), want);
        }
    }

    #[test]
    fn ouch_connect_dialect_round_trips_every_message() {
        let d = Dialect::OuchConnect501;
        assert_eq!(Dialect::parse("ouch-connect-5.0.1"), Some(d));
        assert_eq!(Dialect::parse("spec"), Some(Dialect::Spec));
        assert_eq!(Dialect::parse("x"), None);
        let ab = appendage_buf();
        for app in [Appendage::EMPTY, ab.as_appendage()] {
            for m in sample_inbound(app) {
                let mut v = Vec::new();
                if matches!(m, Inbound::Cancel(_)) && !app.raw().is_empty() {
                    assert!(m.encode_dialect(&mut v, d).is_err());
                    assert!(v.is_empty());
                    continue;
                }
                let n = m.encode_dialect(&mut v, d).unwrap();
                assert_eq!(n, v.len());
                assert_eq!(Inbound::decode_dialect(&v, d), Ok(m));
                for k in 0..v.len() {
                    assert!(
                        Inbound::decode_dialect(&v[..k], d).is_err(),
                        "truncated {k}"
                    );
                }
            }
            for m in sample_outbound(app) {
                let mut v = Vec::new();
                m.encode_dialect(&mut v, d).unwrap();
                let want = match m {
                    // The compat Order Canceled has no appendage.
                    Outbound::Canceled(c) => Outbound::Canceled(Canceled {
                        appendage: Appendage::EMPTY,
                        ..c
                    }),
                    m => m,
                };
                assert_eq!(Outbound::decode_dialect(&v, d), Ok(want));
                for k in 0..v.len() {
                    assert!(
                        Outbound::decode_dialect(&v[..k], d).is_err(),
                        "truncated {k}"
                    );
                }
            }
        }
    }

    #[test]
    fn ouch_connect_dialect_exact_bytes() {
        let d = Dialect::OuchConnect501;
        // Enter Order: 48 bytes, Symbol 9 wide (captured from ouch-connect 5.0.1).
        let m = sample_inbound(Appendage::EMPTY)[0];
        let mut v = Vec::new();
        assert_eq!(m.encode_dialect(&mut v, d), Ok(compat_len::ENTER));
        let mut want = vec![b'O', 0, 0, 0, 1, b'B', 0, 0, 0, 100];
        want.extend_from_slice(b"AAPL     ");
        want.extend_from_slice(&1_234_500u64.to_be_bytes());
        want.extend_from_slice(b"0YANN");
        want.extend_from_slice(b"ORD-1         ");
        want.extend_from_slice(&[0, 0]);
        assert_eq!(v, want);
        // The spec's 47-byte Enter Order is a length error in this dialect, and vice versa.
        let mut spec = Vec::new();
        m.encode(&mut spec).unwrap();
        assert!(matches!(
            Inbound::decode_dialect(&spec, d),
            Err(OuchError::BadLength { .. })
        ));
        assert!(matches!(
            Inbound::decode(&v),
            Err(OuchError::BadLength { .. })
        ));
        // A 9th Symbol byte other than a space is refused.
        let mut bad = v.clone();
        bad[18] = b'X';
        assert!(matches!(
            Inbound::decode_dialect(&bad, d),
            Err(OuchError::BadField {
                field: "symbol",
                offset: 18,
                ..
            })
        ));
        // Cancel Order: 9 bytes, no AppendageLength.
        let c = sample_inbound(Appendage::EMPTY)[2];
        let mut v = Vec::new();
        assert_eq!(c.encode_dialect(&mut v, d), Ok(compat_len::CANCEL));
        assert_eq!(v, [b'X', 0, 0, 0, 2, 0, 0, 0, 0]);
        let mut v11 = v.clone();
        v11.extend_from_slice(&[0, 0]);
        assert!(Inbound::decode_dialect(&v11, d).is_err());
        // Replace Order and Modify Order are the spec's.
        for m in &sample_inbound(Appendage::EMPTY)[1..] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            if !matches!(m, Inbound::Cancel(_)) {
                m.encode(&mut a).unwrap();
                m.encode_dialect(&mut b, d).unwrap();
                assert_eq!(a, b);
            }
        }
        // Outbound: Accepted 65, Replaced 69, Canceled 22; the rest as the spec.
        let out = sample_outbound(Appendage::EMPTY);
        let lens: Vec<usize> = out
            .iter()
            .map(|m| m.encode_dialect(&mut Vec::new(), d).unwrap())
            .collect();
        assert_eq!(
            lens,
            [
                len::SYSTEM_EVENT,
                compat_len::ACCEPTED,
                compat_len::REPLACED,
                compat_len::CANCELED,
                len::EXECUTED,
                len::REJECTED,
                len::CANCEL_REJECT,
                len::MODIFIED,
            ]
        );
        let mut v = Vec::new();
        out[3].encode_dialect(&mut v, d).unwrap();
        let mut want = vec![b'C'];
        want.extend_from_slice(&2u64.to_be_bytes());
        want.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 1, 44, b'U']);
        assert_eq!(v, want);
        let mut v = Vec::new();
        out[1].encode_dialect(&mut v, d).unwrap();
        assert_eq!(&v[18..27], b"AAPL     ");
        assert_eq!(v[27..35], 99_0000u64.to_be_bytes());
    }

    #[test]
    fn exact_enter_order_bytes() {
        let m = sample_inbound(Appendage::EMPTY)[0];
        let mut v = Vec::new();
        m.encode(&mut v).unwrap();
        let mut want = vec![b'O', 0, 0, 0, 1, b'B', 0, 0, 0, 100];
        want.extend_from_slice(b"AAPL    ");
        want.extend_from_slice(&1_234_500u64.to_be_bytes());
        want.extend_from_slice(b"0YANN");
        want.extend_from_slice(b"ORD-1         ");
        want.extend_from_slice(&[0, 0]);
        assert_eq!(v, want);
        let ab = appendage_buf();
        let mut v = Vec::new();
        sample_inbound(ab.as_appendage())[0].encode(&mut v).unwrap();
        let Inbound::Enter(e) = Inbound::decode(&v).unwrap() else {
            panic!()
        };
        assert_eq!(e.appendage.get_u32(tag::MAX_FLOOR), Some(100));
        assert_eq!(e.appendage.get_u8(tag::POST_ONLY), Some(b'P'));
        assert_eq!(e.appendage.get_u32(tag::EXPIRE_TIME), Some(60));
        assert_eq!(e.appendage.get(tag::FIRM), None);
    }

    #[test]
    fn bad_fields_are_named() {
        let m = sample_inbound(Appendage::EMPTY)[0];
        let mut v = Vec::new();
        m.encode(&mut v).unwrap();
        let mut bad = v.clone();
        bad[5] = b'X';
        assert_eq!(
            Inbound::decode(&bad),
            Err(OuchError::BadField {
                msg_type: b'O',
                field: "side",
                offset: 5
            })
        );
        let mut bad = v.clone();
        bad[26] = b'9';
        assert!(matches!(
            Inbound::decode(&bad),
            Err(OuchError::BadField {
                field: "time in force",
                offset: 26,
                ..
            })
        ));
        let mut bad = v.clone();
        bad[10] = b' ';
        assert!(matches!(
            Inbound::decode(&bad),
            Err(OuchError::BadField {
                field: "symbol",
                offset: 10,
                ..
            })
        ));
        let mut bad = v.clone();
        bad[1..5].copy_from_slice(&[0; 4]);
        assert!(matches!(
            Inbound::decode(&bad),
            Err(OuchError::BadField {
                field: "UserRefNum",
                ..
            })
        ));
        // Declared appendage longer than the message.
        let mut bad = v.clone();
        bad[46] = 5;
        assert_eq!(
            Inbound::decode(&bad),
            Err(OuchError::BadLength {
                msg_type: b'O',
                expected: 52,
                got: 47
            })
        );
        // Malformed appendage: option length runs past the end.
        let mut bad = v.clone();
        bad[46] = 2;
        bad.extend_from_slice(&[9, 5]);
        assert!(matches!(
            Inbound::decode(&bad),
            Err(OuchError::BadField {
                field: "optional appendage",
                offset: 47,
                ..
            })
        ));
        // Known tag with a wrong width.
        let mut bad = v.clone();
        bad[46] = 3;
        bad.extend_from_slice(&[2, tag::MAX_FLOOR, 1]);
        assert!(Inbound::decode(&bad).is_err());
        assert_eq!(Inbound::decode(b""), Err(OuchError::Empty));
        assert_eq!(Inbound::decode(b"Q"), Err(OuchError::UnknownType(b'Q')));
    }
}
