//! Core value types of ferrex.
//!
//! Everything that crosses a ring or the engine API is defined here: [`Price`] (integer ticks,
//! `i64`), [`Qty`] (lots, `u64`), the ids, [`Command`] (what goes into the engine) and [`Event`]
//! (what comes out). All of them are `Copy`, fixed size (asserted at compile time below) and free
//! of heap pointers, so they can be written into a preallocated SPSC ring slot by value.
//!
//! Decimal prices never enter the engine: readers, the gateway and the CLI convert at the edge.
#![forbid(unsafe_code)]

mod command;
mod event;
mod ids;
mod mem;
mod price;
mod reason;
mod sink;

pub use command::{
    CancelOrder, Command, CommandKind, LimitKind, MassCancel, ModifyOrder, NewOrder, OrdType,
    OrderFlags, RiskControl, SetLimit, StpMode, TimeInForce, TradingState,
};
pub use event::{Event, EventKind};
pub use ids::{AccountId, InstrumentId, OrderId};
pub use mem::prefault;
pub use price::{Price, Qty, Side};
pub use reason::{CancelReason, RejectReason};
pub use sink::{CountingSink, EventKindSink, EventSink, FnvHasher, HashingSink};

// Sizes are part of the contract: a change here changes every ring slot and the journal format.
const _: () = assert!(core::mem::size_of::<Price>() == 8);
const _: () = assert!(core::mem::size_of::<Qty>() == 8);
const _: () = assert!(core::mem::size_of::<NewOrder>() == 72);

const _: () = assert!(core::mem::size_of::<Command>() == 80);
const _: () = assert!(core::mem::size_of::<EventKind>() == 64);
const _: () = assert!(core::mem::size_of::<Event>() == 88);
