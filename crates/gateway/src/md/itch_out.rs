//! ITCH 5.0 message bodies as ferrex publishes them (big-endian, fixed layouts).
//!
//! Every body starts with the 11-byte header: type (1), stock locate (2), tracking number (2,
//! always 0 here), timestamp (6, nanoseconds since midnight). Layouts (offsets after the header):
//!
//! | type | fields | bytes |
//! |---|---|---|
//! | `S` system event | event code (1) | 12 |
//! | `R` stock directory | stock (8), market category, financial status, round lot size (4), round lots only, issue classification, issue sub-type (2), authenticity, short sale threshold, IPO flag, LULD tier, ETP flag, ETP leverage (4), inverse | 39 |
//! | `H` stock trading action | stock (8), trading state, reserved, reason (4) | 25 |
//! | `A` add order | order ref (8), side `B`/`S`, shares (4), stock (8), price (4) | 36 |
//! | `E` order executed | order ref (8), executed shares (4), match number (8) | 31 |
//! | `X` order cancel | order ref (8), cancelled shares (4) | 23 |
//! | `D` order delete | order ref (8) | 19 |
//! | `U` order replace | original ref (8), new ref (8), shares (4), price (4) | 35 |
//! | `P` trade (non-cross) | order ref (8), side, shares (4), stock (8), price (4), match number (8) | 44 |
//!
//! Each function appends one body to `out` (no length prefix). O(1), no panics.

use ferrex_types::Side;

/// Nanoseconds in a day: ITCH timestamps count from midnight.
pub const NS_PER_DAY: u64 = 86_400_000_000_000;

/// An 8-byte, space-padded ITCH symbol from text: ASCII graphic characters kept (others become
/// `?`), cut to 8.
pub fn symbol(name: &str) -> [u8; 8] {
    let mut s = [b' '; 8];
    for (d, c) in s.iter_mut().zip(name.bytes()) {
        *d = if c.is_ascii_graphic() { c } else { b'?' };
    }
    s
}

fn header(out: &mut Vec<u8>, t: u8, locate: u16, time_ns: u64) {
    out.push(t);
    out.extend_from_slice(&locate.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    let ts = (time_ns % NS_PER_DAY).to_be_bytes();
    out.extend_from_slice(&ts[2..8]);
}

fn side_byte(side: Side) -> u8 {
    match side {
        Side::Buy => b'B',
        Side::Sell => b'S',
    }
}

/// `S` system event (`O`, `S`, `Q`, `M`, `E`, `C`). Locate 0.
pub fn system_event(out: &mut Vec<u8>, time_ns: u64, code: u8) {
    header(out, b'S', 0, time_ns);
    out.push(code);
}

/// `R` stock directory: market category `Q`, financial status `N`, round lots only `N`,
/// issue classification `C`, sub-type `Z `, authenticity `P`, the flags blank or `N`.
pub fn stock_directory(
    out: &mut Vec<u8>,
    locate: u16,
    time_ns: u64,
    stock: &[u8; 8],
    round_lot: u32,
) {
    header(out, b'R', locate, time_ns);
    out.extend_from_slice(stock);
    out.push(b'Q');
    out.push(b'N');
    out.extend_from_slice(&round_lot.to_be_bytes());
    out.push(b'N');
    out.push(b'C');
    out.extend_from_slice(b"Z ");
    out.push(b'P');
    out.push(b' ');
    out.push(b' ');
    out.push(b' ');
    out.push(b'N');
    out.extend_from_slice(&0u32.to_be_bytes());
    out.push(b'N');
}

/// `H` stock trading action: `state` is `H` (halted) or `T` (trading).
pub fn trading_action(out: &mut Vec<u8>, locate: u16, time_ns: u64, stock: &[u8; 8], state: u8) {
    header(out, b'H', locate, time_ns);
    out.extend_from_slice(stock);
    out.push(state);
    out.push(b' ');
    out.extend_from_slice(b"    ");
}

/// `A` add order (no MPID attribution).
#[allow(clippy::too_many_arguments)] // one argument per wire field
pub fn add_order(
    out: &mut Vec<u8>,
    locate: u16,
    time_ns: u64,
    order_ref: u64,
    side: Side,
    shares: u32,
    stock: &[u8; 8],
    price: u32,
) {
    header(out, b'A', locate, time_ns);
    out.extend_from_slice(&order_ref.to_be_bytes());
    out.push(side_byte(side));
    out.extend_from_slice(&shares.to_be_bytes());
    out.extend_from_slice(stock);
    out.extend_from_slice(&price.to_be_bytes());
}

/// `E` order executed.
pub fn order_executed(
    out: &mut Vec<u8>,
    locate: u16,
    time_ns: u64,
    order_ref: u64,
    shares: u32,
    match_number: u64,
) {
    header(out, b'E', locate, time_ns);
    out.extend_from_slice(&order_ref.to_be_bytes());
    out.extend_from_slice(&shares.to_be_bytes());
    out.extend_from_slice(&match_number.to_be_bytes());
}

/// `X` order cancel (partial).
pub fn order_cancel(out: &mut Vec<u8>, locate: u16, time_ns: u64, order_ref: u64, shares: u32) {
    header(out, b'X', locate, time_ns);
    out.extend_from_slice(&order_ref.to_be_bytes());
    out.extend_from_slice(&shares.to_be_bytes());
}

/// `D` order delete.
pub fn order_delete(out: &mut Vec<u8>, locate: u16, time_ns: u64, order_ref: u64) {
    header(out, b'D', locate, time_ns);
    out.extend_from_slice(&order_ref.to_be_bytes());
}

/// `U` order replace.
pub fn order_replace(
    out: &mut Vec<u8>,
    locate: u16,
    time_ns: u64,
    original_ref: u64,
    new_ref: u64,
    shares: u32,
    price: u32,
) {
    header(out, b'U', locate, time_ns);
    out.extend_from_slice(&original_ref.to_be_bytes());
    out.extend_from_slice(&new_ref.to_be_bytes());
    out.extend_from_slice(&shares.to_be_bytes());
    out.extend_from_slice(&price.to_be_bytes());
}

/// `P` trade (non-cross), for executions of non-displayed quantity.
#[allow(clippy::too_many_arguments)] // one argument per wire field
pub fn trade(
    out: &mut Vec<u8>,
    locate: u16,
    time_ns: u64,
    order_ref: u64,
    side: Side,
    shares: u32,
    stock: &[u8; 8],
    price: u32,
    match_number: u64,
) {
    header(out, b'P', locate, time_ns);
    out.extend_from_slice(&order_ref.to_be_bytes());
    out.push(side_byte(side));
    out.extend_from_slice(&shares.to_be_bytes());
    out.extend_from_slice(stock);
    out.extend_from_slice(&price.to_be_bytes());
    out.extend_from_slice(&match_number.to_be_bytes());
}
