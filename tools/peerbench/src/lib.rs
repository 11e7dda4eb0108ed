//! peerbench: replays one order feed through ferrex and peer Rust order books (`lobster` 0.7.0,
//! `orderbook-rs` 0.15.3), side by side, in one run.
//!
//! Each engine sits behind [`Adapter`]; the timing loops in [`measure`] are generic over it, so
//! the measured loop is the engine's own call with no dynamic dispatch in between.

pub mod adapter;
pub mod feed;
#[cfg(feature = "ferrex")]
pub mod ferrex;
pub mod lobster;
pub mod measure;
pub mod orderbook_rs;

pub use adapter::{Adapter, BookSizing, Levels};
pub use feed::{Feed, FeedMsg};

/// The feed shipped in the repository (`tests/data/qc_orders.csv` at the workspace root),
/// resolved from this crate's manifest directory so the tool works from any directory.
pub fn default_feed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/qc_orders.csv")
}
