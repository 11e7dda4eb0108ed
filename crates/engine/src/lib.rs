//! The ferrex engine: the sequencer and the books behind one `process` call.
//!
//! [`Engine`] is single-threaded and deterministic: it stamps each [`Command`] with a sequence
//! number, clamps its time to be non-decreasing, expires GTD orders that are due, routes the
//! command to its instrument's [`Book`] and writes the resulting events, each stamped with a
//! gap-free event sequence number, to a caller-provided [`EventSink`]. Nothing allocates after
//! [`Engine::new`]. The threaded runtime (rings, pinning) is built around this type.
//!
//! ```
//! use ferrex_engine::{Engine, EngineConfig};
//! use ferrex_book::BookConfig;
//! use ferrex_types::*;
//!
//! let mut engine = Engine::new(EngineConfig::single(BookConfig::default())).unwrap();
//! let mut events: Vec<Event> = Vec::new();
//! let order = |id, side, price| Command::new(1, CommandKind::New(NewOrder {
//!     order_id: OrderId(id), account: AccountId(id as u32), side, price: Price(price),
//!     qty: Qty(10), ..NewOrder::default()
//! }));
//! engine.process(&order(1, Side::Sell, 100), &mut events);
//! engine.process(&order(2, Side::Buy, 101), &mut events);
//! assert!(events.iter().any(|e| matches!(e.kind, EventKind::Trade { price: Price(100), .. })));
//! ```
#![forbid(unsafe_code)]

mod recovery;
mod runtime;

mod engine;

pub use ferrex_journal::Durability;
pub use runtime::{
    JournalConfig, JournalReport, MdProgress, PinStatus, Runtime, RuntimeConfig, RuntimeError,
    RuntimeReport, Session, SnapshotReport, Started, SubmitError, is_market_data, pin_current,
};

pub use recovery::{Recovered, RecoveryError, recover_into, recover_with};

pub use engine::snapshot::{SNAPSHOT_MAGIC, SNAPSHOT_VERSION, SnapshotError, SnapshotInfo};
pub use engine::{Engine, EngineConfig, EngineError};
pub use ferrex_book::{Book, BookConfig};
pub use ferrex_types::{Command, CommandKind, Event, EventKind, EventSink};
