//! ferrex network order entry: wire codecs and their mapping to ferrex commands and events.
//!
//! - [`soupbin`]: SoupBinTCP 4.0 framing (incremental, zero-copy decoder; encoder).
//! - [`ouch`]: OUCH 5.0 inbound and outbound messages (decode and encode, both directions).
//! - [`ouch_map`]: OUCH orders → [`ferrex_types::Command`], [`ferrex_types::Event`] → OUCH
//!   messages, reject and cancel reason tables.
//! - [`fix`]: FIX 4.4 tag=value parser (validated framing, field views without allocation) and
//!   encoder (header, body, trailer with BodyLength and CheckSum).
//! - [`fix_map`]: FIX orders → commands, events → ExecutionReport / OrderCancelReject fields.
//! - [`fix_session`]: the FIX session state machine, pure and I/O-free.
//!
//! Nothing here does I/O or spawns threads: the server moves bytes between sockets and these
//! types. No `unsafe`; no input makes any function here panic (fuzzed with proptest).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod fix;
pub mod fix_map;
pub mod fix_session;
pub mod ouch;
pub mod ouch_map;
pub mod soupbin;
