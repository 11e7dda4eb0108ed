//! ferrex-ring: the lock-free, bounded, single-producer single-consumer ring that carries
//! `Command`s from gateway threads to the pinned engine thread and `Event`s back.
//!
//! - [`channel`] makes a ring of a power-of-two capacity and returns its two ends, a
//!   [`Producer`] and a [`Consumer`], each `Send` to its own thread.
//! - The two indices live on separate cache lines and each end caches the other's index, so
//!   in the common case a push or pop touches only the slot and its own line.
//! - A full ring is back-pressure, never a silent drop: [`PushError::Full`] hands the value back.
//!   A dropped peer is reported ([`PushError::Abandoned`], [`PopError::Abandoned`]).
//! - Batches ([`Producer::push_iter`], [`Producer::push_slice`], [`Consumer::read_batch`],
//!   [`Consumer::pop_into`]) publish once per batch: the other side sees all or nothing.
//! - No allocation after [`channel`], no locks, no syscalls, no panics on the push/pop paths.
//! - [`seq`] is a lower-latency variant with the same API: a stamp in each slot replaces the
//!   shared `tail` index, so one cache-line transfer carries both "ready" and the item.
//! - [`floor`] measures the machine's core-to-core round-trip floor; [`clock`] is the cheap
//!   (TSC) nanosecond clock latency harnesses time with.
//!
//! The atomics come through a small `sync` facade: under `RUSTFLAGS="--cfg loom"` they are
//! loom's, and `tests/loom.rs` model-checks the protocol.
//!
//! ```
//! # if ferrex_ring::LOOM_BUILD { return; }
//! let (mut tx, mut rx) = ferrex_ring::channel::<u64>(1024);
//! let engine = std::thread::spawn(move || {
//!     let mut sum = 0;
//!     loop {
//!         match rx.try_pop_or_closed() {
//!             Ok(v) => sum += v,
//!             Err(ferrex_ring::PopError::Empty) => std::hint::spin_loop(),
//!             Err(ferrex_ring::PopError::Abandoned) => return sum,
//!         }
//!     }
//! });
//! for v in 1..=100 {
//!     let mut v = v;
//!     while let Err(e) = tx.try_push(v) {
//!         v = e.into_inner(); // Full: back-pressure, retry
//!     }
//! }
//! drop(tx);
//! assert_eq!(engine.join().unwrap(), 5050);
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod clock;
mod consumer;
mod error;
pub mod floor;
mod producer;
mod ring;
pub mod seq;
mod sync;

pub use consumer::Consumer;
pub use error::{PopError, PushError};
pub use producer::Producer;
pub use ring::channel;

/// `true` when this crate was built with `--cfg loom` (atomics are loom's and only work inside
/// `loom::model`). Lets doc examples skip themselves in the loom build. Free.
#[doc(hidden)]
pub const LOOM_BUILD: bool = cfg!(loom);
