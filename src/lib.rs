//! ferrex: a low-latency in-process matching and pre-trade risk engine.
//!
//! This facade re-exports the workspace crates: [`types`] (prices, ids, commands, events),
//! [`book`] (the matching book), [`risk`] (pre-trade risk checks), [`ring`] (the SPSC ring), [`engine`] (the engine and its
//! runtime) and [`replay`] (market-data readers).
pub use ferrex_book as book;
pub use ferrex_engine as engine;
pub use ferrex_replay as replay;
pub use ferrex_ring as ring;
pub use ferrex_risk as risk;
pub use ferrex_types as types;
