//! ferrex-replay: readers for captured market data and the drivers that replay it through ferrex.
//!
//! Readers (independent of the book):
//! - [`itch`]: NASDAQ TotalView-ITCH 5.0, zero-copy, the full message set, BinaryFILE framing,
//!   gzip transparently.
//! - [`lobster`]: LOBSTER message + orderbook file pairs.
//! - [`binance`]: Binance `<local_recv_ns> <json>` depth captures and an L2 book rebuilt by
//!   Binance's snapshot + diff rule, with gap detection and a cross-check against `bookTicker`.
//!
//! Replay drivers (through `ferrex_book::Book`):
//! - [`itch_replay`]: one book per stock locate, unknown references counted, queue-priority check.
//! - [`lobster_replay`]: seeded from the first orderbook row, every row verified against the
//!   reference (`matched` / `reseeded` / `mismatch`, rule in the module docs).
//!
//! Every reader stops at the first corrupt input with an error naming the file, byte offset or
//! line and what was expected; none panics on any input (proptests in `tests/no_panic.rs`, the
//! same bodies as the cargo-fuzz targets in `fuzz/`, see [`fuzz_targets`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod binance;
pub mod fuzz_targets;
pub mod itch;
pub mod itch_replay;
pub mod lobster;
pub mod lobster_replay;
