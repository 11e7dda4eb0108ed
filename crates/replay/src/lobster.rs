//! LOBSTER message + orderbook file pairs (lobsterdata.com).
//!
//! - message file, one event per line: `time,type,order_id,size,price,direction`. `time` is
//!   seconds after midnight with up to 9 decimals, converted to integer nanoseconds exactly (the
//!   decimal string is parsed digit by digit, never through `f64`). `price` is dollars × 10000 (the
//!   ferrex [`Price`] is the raw value). `direction` is 1 (buy order) or −1 (sell order).
//! - orderbook file, row k = the book after message k: `ask_px1,ask_sz1,bid_px1,bid_sz1,…` for N
//!   levels (the column count must be a multiple of 4; N is inferred from the first row when not
//!   given). An empty level is written ask price 9999999999 / bid price −9999999999 with size 0;
//!   such placeholders are dropped, and a placeholder followed by a real level on the same side is
//!   an error.
//!
//! Event types: 1 submit, 2 partial cancel, 3 delete, 4 visible execution, 5 hidden execution,
//! 6 cross trade, 7 trading halt indicator (price −1 halt, 0 quoting, 1 resume). Anything else is
//! an error naming the file, line and field. Both files are read into memory; parsing is one pass,
//! allocation-free per message (one `Vec` per orderbook row).
//!
//! ```
//! use ferrex_replay::lobster::{parse_time_ns, EventType, parse_message_line};
//! assert_eq!(parse_time_ns("34200.18960767"), Some(34_200_189_607_670));
//! let m = parse_message_line("34200.5,4,16113575,18,5853300,1", "msg.csv", 1).unwrap();
//! assert_eq!(m.event, EventType::ExecuteVisible);
//! assert_eq!(m.time_ns, 34_200_500_000_000);
//! ```

use std::path::Path;

use ferrex_types::{Price, Qty, Side};

/// Ask price LOBSTER writes for an empty ask level.
pub const EMPTY_ASK_PRICE: i64 = 9_999_999_999;
/// Bid price LOBSTER writes for an empty bid level.
pub const EMPTY_BID_PRICE: i64 = -9_999_999_999;

/// What went wrong reading a LOBSTER pair. Lines are 1-based.
#[derive(Debug, thiserror::Error)]
pub enum LobsterError {
    /// A file could not be read.
    #[error("cannot read {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A field does not parse or holds a value outside its domain.
    #[error("{file}:{line}: field {field} = {value:?}: expected {expected}")]
    Field {
        /// The file.
        file: String,
        /// Line number.
        line: u64,
        /// Field name (`time`, `type`, `ask_px3`, …).
        field: String,
        /// The text found.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A line has the wrong number of columns.
    #[error("{file}:{line}: {found} columns, expected {expected}")]
    Columns {
        /// The file.
        file: String,
        /// Line number.
        line: u64,
        /// Expected count.
        expected: usize,
        /// Found count.
        found: usize,
    },
    /// One file has more lines than the other.
    #[error("{longer} has a line {line} but {shorter} ends at line {}", line - 1)]
    RowCount {
        /// The file with the extra line.
        longer: String,
        /// The file that ended.
        shorter: String,
        /// The first unmatched line.
        line: u64,
    },
}

/// LOBSTER event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EventType {
    /// 1: submission of a new limit order.
    Submit = 1,
    /// 2: partial cancellation.
    Cancel = 2,
    /// 3: deletion (total).
    Delete = 3,
    /// 4: execution of a visible order.
    ExecuteVisible = 4,
    /// 5: execution of a hidden order.
    ExecuteHidden = 5,
    /// 6: cross trade (auction).
    Cross = 6,
    /// 7: trading halt indicator.
    Halt = 7,
}

impl EventType {
    /// From the numeric code.
    pub const fn from_code(c: u8) -> Option<EventType> {
        Some(match c {
            1 => EventType::Submit,
            2 => EventType::Cancel,
            3 => EventType::Delete,
            4 => EventType::ExecuteVisible,
            5 => EventType::ExecuteHidden,
            6 => EventType::Cross,
            7 => EventType::Halt,
            _ => return None,
        })
    }
    /// The numeric code.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

/// One message-file line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LobsterMessage {
    /// Nanoseconds after midnight.
    pub time_ns: u64,
    /// Event type.
    pub event: EventType,
    /// Order id (0 for hidden executions and halts).
    pub order_id: u64,
    /// Shares.
    pub size: u64,
    /// Price × 10000 (−1/0/1 for type 7).
    pub price: i64,
    /// Side of the order (buy for direction 1, sell for −1).
    pub side: Side,
}

impl LobsterMessage {
    /// The price as a ferrex [`Price`] (1/10000 dollar ticks).
    pub const fn price(&self) -> Price {
        Price(self.price)
    }
    /// The size as a ferrex [`Qty`].
    pub const fn qty(&self) -> Qty {
        Qty(self.size)
    }
}

/// One occupied level of an orderbook row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// Price × 10000.
    pub price: i64,
    /// Shares.
    pub size: u64,
}

/// One orderbook-file row: the occupied levels, best first (placeholders removed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookRow {
    /// Ask levels, lowest price first.
    pub asks: Vec<Level>,
    /// Bid levels, highest price first.
    pub bids: Vec<Level>,
}

impl BookRow {
    /// The levels of one side.
    pub fn side(&self, side: Side) -> &[Level] {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }
}

/// Parses LOBSTER's decimal seconds into nanoseconds, exactly: `"34200.18960767"` →
/// 34,200,189,607,670. At most 9 decimals; no sign, no exponent. `None` if malformed or overflowing.
pub fn parse_time_ns(s: &str) -> Option<u64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || frac.len() > 9 {
        return None;
    }
    let secs = parse_u64_digits(int)?;
    let mut ns: u64 = 0;
    for c in frac.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        ns = ns * 10 + u64::from(c - b'0');
    }
    for _ in frac.len()..9 {
        ns *= 10;
    }
    secs.checked_mul(1_000_000_000)?.checked_add(ns)
}

fn parse_u64_digits(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for c in s.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

fn parse_i64(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let v = parse_u64_digits(digits)?;
    if neg {
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
}

fn field_err(
    file: &str,
    line: u64,
    field: &str,
    value: &str,
    expected: &'static str,
) -> LobsterError {
    LobsterError::Field {
        file: file.to_string(),
        line,
        field: field.to_string(),
        value: value.chars().take(64).collect(),
        expected,
    }
}

/// Parses one message-file line. `file` and `line` only feed the error.
pub fn parse_message_line(
    text: &str,
    file: &str,
    line: u64,
) -> Result<LobsterMessage, LobsterError> {
    let text = text.strip_suffix('\r').unwrap_or(text);
    let mut cols = [""; 6];
    let mut n = 0;
    for c in text.split(',') {
        if n < 6 {
            cols[n] = c;
        }
        n += 1;
    }
    if n != 6 {
        return Err(LobsterError::Columns {
            file: file.to_string(),
            line,
            expected: 6,
            found: n,
        });
    }
    let time_ns = parse_time_ns(cols[0]).ok_or_else(|| {
        field_err(
            file,
            line,
            "time",
            cols[0],
            "seconds after midnight, at most 9 decimals",
        )
    })?;
    let event = parse_u64_digits(cols[1])
        .and_then(|c| u8::try_from(c).ok())
        .and_then(EventType::from_code)
        .ok_or_else(|| field_err(file, line, "type", cols[1], "an event type 1..=7"))?;
    let order_id = parse_u64_digits(cols[2])
        .ok_or_else(|| field_err(file, line, "order_id", cols[2], "a non-negative integer"))?;
    let size = parse_u64_digits(cols[3])
        .ok_or_else(|| field_err(file, line, "size", cols[3], "a non-negative integer"))?;
    let price = parse_i64(cols[4])
        .ok_or_else(|| field_err(file, line, "price", cols[4], "an integer (dollars x 10000)"))?;
    let side = match cols[5] {
        "1" => Side::Buy,
        "-1" => Side::Sell,
        v => return Err(field_err(file, line, "direction", v, "1 or -1")),
    };
    if event != EventType::Halt && price <= 0 {
        return Err(field_err(file, line, "price", cols[4], "a positive price"));
    }
    Ok(LobsterMessage {
        time_ns,
        event,
        order_id,
        size,
        price,
        side,
    })
}

const LEVEL_FIELDS: [&str; 4] = ["ask_px", "ask_sz", "bid_px", "bid_sz"];

/// Parses one orderbook-file row of `levels` levels into `row` (cleared first, reusing its
/// allocations).
pub fn parse_orderbook_line(
    text: &str,
    levels: usize,
    file: &str,
    line: u64,
    row: &mut BookRow,
) -> Result<(), LobsterError> {
    let text = text.strip_suffix('\r').unwrap_or(text);
    row.asks.clear();
    row.bids.clear();
    let want = levels * 4;
    let found = text.split(',').count();
    if found != want {
        return Err(LobsterError::Columns {
            file: file.to_string(),
            line,
            expected: want,
            found,
        });
    }
    let mut cols = text.split(',');
    let mut ask_ended = false;
    let mut bid_ended = false;
    for lvl in 0..levels {
        let mut v = [0i64; 4];
        for (k, slot) in v.iter_mut().enumerate() {
            let c = cols.next().unwrap_or("");
            *slot = parse_i64(c).ok_or_else(|| {
                field_err(
                    file,
                    line,
                    &format!("{}{}", LEVEL_FIELDS[k], lvl + 1),
                    c,
                    "an integer",
                )
            })?;
        }
        for (is_ask, px, sz, ended) in [
            (true, v[0], v[1], &mut ask_ended),
            (false, v[2], v[3], &mut bid_ended),
        ] {
            let (pfield, sfield, empty) = if is_ask {
                ("ask_px", "ask_sz", EMPTY_ASK_PRICE)
            } else {
                ("bid_px", "bid_sz", EMPTY_BID_PRICE)
            };
            if px == empty {
                if sz != 0 {
                    return Err(field_err(
                        file,
                        line,
                        &format!("{sfield}{}", lvl + 1),
                        &sz.to_string(),
                        "size 0 for an empty-level placeholder",
                    ));
                }
                *ended = true;
                continue;
            }
            if *ended {
                return Err(field_err(
                    file,
                    line,
                    &format!("{pfield}{}", lvl + 1),
                    &px.to_string(),
                    "an empty-level placeholder after an empty level",
                ));
            }
            if px <= 0 || sz <= 0 {
                return Err(field_err(
                    file,
                    line,
                    &format!("{}{}", if px <= 0 { pfield } else { sfield }, lvl + 1),
                    &(if px <= 0 { px } else { sz }).to_string(),
                    "a positive price and size",
                ));
            }
            let level = Level {
                price: px,
                size: sz as u64,
            };
            if is_ask {
                row.asks.push(level);
            } else {
                row.bids.push(level);
            }
        }
    }
    Ok(())
}

/// A LOBSTER message/orderbook pair held in memory.
#[derive(Clone, Debug)]
pub struct LobsterPair {
    message_name: String,
    orderbook_name: String,
    messages: String,
    orderbook: String,
    levels: usize,
}

impl LobsterPair {
    /// Reads both files. `levels`: the number of levels of the orderbook file, or `None` to infer it
    /// from the first row's column count.
    pub fn open(
        message_file: impl AsRef<Path>,
        orderbook_file: impl AsRef<Path>,
        levels: Option<usize>,
    ) -> Result<LobsterPair, LobsterError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|source| LobsterError::Io {
                file: p.display().to_string(),
                source,
            })
        };
        let (m, o) = (message_file.as_ref(), orderbook_file.as_ref());
        Self::from_strings(
            m.display().to_string(),
            read(m)?,
            o.display().to_string(),
            read(o)?,
            levels,
        )
    }

    /// A pair from in-memory text (names are used in errors).
    pub fn from_strings(
        message_name: String,
        messages: String,
        orderbook_name: String,
        orderbook: String,
        levels: Option<usize>,
    ) -> Result<LobsterPair, LobsterError> {
        let first = orderbook.lines().next().unwrap_or("");
        let cols = first.trim_end_matches('\r').split(',').count();
        let levels = match levels {
            Some(n) if n > 0 => n,
            _ => {
                if !cols.is_multiple_of(4) || first.is_empty() {
                    return Err(LobsterError::Columns {
                        file: orderbook_name,
                        line: 1,
                        expected: (cols / 4).max(1) * 4,
                        found: cols,
                    });
                }
                cols / 4
            }
        };
        Ok(LobsterPair {
            message_name,
            orderbook_name,
            messages,
            orderbook,
            levels,
        })
    }

    /// Number of levels per orderbook row.
    pub fn levels(&self) -> usize {
        self.levels
    }

    /// Iterates over `(line, message, row)`: each message with the book after it. Stops after the
    /// first error.
    pub fn iter(&self) -> LobsterIter<'_> {
        LobsterIter {
            pair: self,
            msgs: self.messages.lines(),
            rows: self.orderbook.lines(),
            line: 0,
            done: false,
        }
    }

    /// Message file name.
    pub fn message_name(&self) -> &str {
        &self.message_name
    }
    /// Orderbook file name.
    pub fn orderbook_name(&self) -> &str {
        &self.orderbook_name
    }
}

/// Iterator over the rows of a [`LobsterPair`].
#[derive(Debug)]
pub struct LobsterIter<'a> {
    pair: &'a LobsterPair,
    msgs: std::str::Lines<'a>,
    rows: std::str::Lines<'a>,
    line: u64,
    done: bool,
}

impl Iterator for LobsterIter<'_> {
    type Item = Result<(u64, LobsterMessage, BookRow), LobsterError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.line += 1;
        let line = self.line;
        let p = self.pair;
        let r = match (self.msgs.next(), self.rows.next()) {
            (None, None) => {
                self.done = true;
                return None;
            }
            (Some(_), None) => Err(LobsterError::RowCount {
                longer: p.message_name.clone(),
                shorter: p.orderbook_name.clone(),
                line,
            }),
            (None, Some(_)) => Err(LobsterError::RowCount {
                longer: p.orderbook_name.clone(),
                shorter: p.message_name.clone(),
                line,
            }),
            (Some(m), Some(o)) => parse_message_line(m, &p.message_name, line).and_then(|msg| {
                let mut row = BookRow::default();
                parse_orderbook_line(o, p.levels, &p.orderbook_name, line, &mut row)
                    .map(|()| (line, msg, row))
            }),
        };
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }
}

/// Counts of a whole pair.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LobsterCounts {
    /// Rows (= messages).
    pub rows: u64,
    /// `by_type[t]` for event type code t (index 0 unused).
    pub by_type: [u64; 8],
    /// First and last time (ns).
    pub time_range: (u64, u64),
}

/// Reads every row and counts; stops at the first error.
pub fn count(pair: &LobsterPair) -> Result<LobsterCounts, LobsterError> {
    let mut c = LobsterCounts::default();
    for r in pair.iter() {
        let (_, m, _) = r?;
        if c.rows == 0 {
            c.time_range.0 = m.time_ns;
        }
        c.rows += 1;
        c.by_type[m.event.code() as usize] += 1;
        c.time_range.1 = m.time_ns;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_exact() {
        assert_eq!(parse_time_ns("34200.017459617"), Some(34_200_017_459_617));
        assert_eq!(parse_time_ns("34200"), Some(34_200_000_000_000));
        assert_eq!(parse_time_ns("34200.1"), Some(34_200_100_000_000));
        assert_eq!(parse_time_ns("57599.959"), Some(57_599_959_000_000));
        assert_eq!(parse_time_ns("1.0123456789"), None);
        assert_eq!(parse_time_ns("-1.0"), None);
        assert_eq!(parse_time_ns(".5"), None);
        assert_eq!(parse_time_ns("1e3"), None);
    }

    #[test]
    fn placeholders_are_dropped() {
        let mut row = BookRow::default();
        parse_orderbook_line(
            "2239500,100,2231800,100,9999999999,0,-9999999999,0",
            2,
            "ob",
            1,
            &mut row,
        )
        .unwrap();
        assert_eq!(
            row.asks,
            vec![Level {
                price: 2239500,
                size: 100
            }]
        );
        assert_eq!(
            row.bids,
            vec![Level {
                price: 2231800,
                size: 100
            }]
        );
        let e = parse_orderbook_line(
            "9999999999,0,2231800,100,2239500,100,2231700,100",
            2,
            "ob",
            9,
            &mut row,
        )
        .unwrap_err();
        assert!(e.to_string().contains("ob:9: field ask_px2"), "{e}");
    }

    #[test]
    fn halt_message() {
        let m = parse_message_line("36023.5,7,0,0,-1,-1", "m", 3).unwrap();
        assert_eq!(m.event, EventType::Halt);
        assert_eq!(m.price, -1);
    }
}
