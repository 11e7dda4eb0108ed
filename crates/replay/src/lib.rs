//! ferrex-replay: readers for captured market data and the drivers that replay it through ferrex.
//!
//! - [`itch`]: NASDAQ TotalView-ITCH 5.0, zero-copy, the full message set, BinaryFILE framing,
//!   gzip transparently.
//! - [`lobster`]: LOBSTER message + orderbook file pairs.
//! - [`binance`]: Binance `<local_recv_ns> <json>` depth captures and an L2 book rebuilt by
//!   Binance's snapshot + diff rule, with gap detection.
//!
//! Every reader stops at the first corrupt input with an error naming the file, byte offset or
//! line and what was expected; none panics on any input (proptests in `tests/`, cargo-fuzz
//! targets in `fuzz/`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod binance;
pub mod fuzz_targets;
pub mod itch;
pub mod itch_replay;
pub mod lobster;
pub mod lobster_replay;
