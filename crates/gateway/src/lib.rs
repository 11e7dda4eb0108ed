//! ferrex network order entry and market data out: wire codecs and their mapping to ferrex
//! commands and events, the TCP server, and an ITCH 5.0 / MoldUDP64 feed of the books.
//!
//! - [`soupbin`]: SoupBinTCP 4.0 framing (incremental, zero-copy decoder; encoder).
//! - [`soupbin_session`]: the SoupBinTCP server session (login, heartbeats, sequenced replay),
//!   pure and I/O-free.
//! - [`ouch`]: OUCH 5.0 inbound and outbound messages (decode and encode, both directions).
//! - [`ouch_map`]: OUCH orders → [`ferrex_types::Command`], [`ferrex_types::Event`] → OUCH
//!   messages, reject and cancel reason tables.
//! - [`ouch_orders`]: a per-session OUCH order table implementing [`ouch_map::OuchOrders`].
//! - [`fix`]: FIX 4.4 tag=value parser (validated framing, field views without allocation) and
//!   encoder (header, body, trailer with BodyLength and CheckSum).
//! - [`fix_dict`]: FIX 4.4 field types for session-level format checks.
//! - [`fix_map`]: FIX orders → commands, events → ExecutionReport / OrderCancelReject fields.
//! - [`fix_orders`]: a per-session FIX order table implementing [`fix_map::FixOrders`].
//! - [`fix_session`]: the FIX session state machine, pure and I/O-free.
//! - [`server`]: the TCP server (`ferrex serve`): one `mio` gateway thread moving bytes between
//!   sockets, these layers and the engine runtime, plus (optional) a `ferrex-md` thread feeding
//!   [`md`] from the runtime's market-data ring.
//! - [`md`]: market data out: the ITCH 5.0 encoder and MoldUDP64 framing (I/O-free), and the
//!   parts that do I/O: the UDP publisher, the TCP retransmit server and client, the heartbeat
//!   thread of [`md::MdFeed`], the server's market-data thread ([`md::MdThread`]) and the
//!   receiving end ([`md::capture::Capture`], used by `ferrex md-capture`).
//!
//! The codec, session and mapping layers (`soupbin*`, `ouch*`, `fix*`, and [`md::encoder`],
//! [`md::itch_out`], [`md::mold`]) do no I/O and spawn no threads. Only [`server`] and the
//! socket parts of [`md`] (publisher, retransmit, feed, serve, capture) open sockets and start
//! threads. No `unsafe`; no input makes any function here panic (fuzzed
//! with proptest).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod fix;
pub mod fix_dict;
pub mod fix_map;
pub mod fix_orders;
pub mod fix_session;
pub mod md;
pub mod ouch;
pub mod ouch_map;
pub mod ouch_orders;
pub mod server;
pub mod soupbin;
pub mod soupbin_session;
