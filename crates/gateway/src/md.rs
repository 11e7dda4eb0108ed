//! Market data out: an order-level ITCH 5.0 feed of ferrex's own books, framed in MoldUDP64 and
//! sent over UDP, with a TCP retransmit server.
//!
//! - [`encoder`]: [`ItchEncoder`] turns the engine's full event stream into ITCH messages
//!   (`S`, `R`, `H`, `A`, `E`, `X`, `D`, `U`) describing the visible resting book, order by order.
//! - [`itch_out`]: the ITCH 5.0 message layouts it writes.
//! - [`mold`]: MoldUDP64 packets (data, heartbeat, end of session), request packets, the
//!   [`Packetizer`](mold::Packetizer) and the receiver-side [`Reassembler`].
//! - [`publisher`]: the bounded [`RetransmitStore`] and [`MoldPublisher`] (UDP).
//! - [`retransmit`]: the TCP re-request server (one thread, non-blocking sockets) and a blocking
//!   client.
//! - [`feed`]: [`MdFeed`], all of the above started together with a heartbeat thread.
//! - [`capture`]: [`Capture`](capture::Capture), the receiving end: UDP, reassembly, gap fill
//!   over TCP, BinaryFILE output for `ferrex replay itch`.
//! - [`serve`]: [`MdThread`], the `ferrex-md` thread of [`crate::server`] that drains the engine
//!   runtime's market-data ring into an [`MdFeed`] ([`MdSpec`] configures it, [`MdReport`] counts).
//! - [`book_hash`]: a canonical hash of a book's visible state, to compare the engine's books
//!   with books rebuilt from the feed.
//!
//! Attaching to a running engine: the thread that drains the engine's market-data events calls
//! [`MdFeed::publish`] for each event, in engine order, and [`MdFeed::flush`] whenever the
//! source is momentarily empty. The encoder needs every event that changes a resting order:
//! `Accepted`, `Trade`, `Cancelled`, `Replaced`, `Triggered`, `Expired` and `LevelChanged`
//! (`InstrumentState` for `H` messages); see [`encoder`] for why `LevelChanged` is required.
//!
//! ```
//! use ferrex_gateway::md::{EncoderConfig, InstrumentSpec, ItchEncoder};
//! use ferrex_types::*;
//! let mut enc = ItchEncoder::new(EncoderConfig {
//!     instruments: vec![InstrumentSpec::new("FRX", 100)],
//!     ..EncoderConfig::default()
//! });
//! let ev = |seq, kind| Event { seq, cmd_seq: 1, time: 5, kind };
//! enc.on_event(&ev(1, EventKind::Accepted {
//!     order_id: OrderId(7), account: AccountId(1), instrument: InstrumentId(0),
//!     side: Side::Buy, price: Price(1000), qty: Qty(30),
//! }));
//! enc.on_event(&ev(2, EventKind::LevelChanged {
//!     instrument: InstrumentId(0), side: Side::Buy, price: Price(1000), qty: Qty(30), orders: 1,
//! }));
//! enc.flush();
//! let mut types = Vec::new();
//! enc.take_ready(|m| types.push(m[0]));
//! assert_eq!(types, b"SRSSA"); // S O, R, S S, S Q, then the add
//! assert_eq!(enc.stats().desyncs, 0);
//! ```

pub mod book_hash;
pub mod capture;
pub mod encoder;
pub mod feed;
pub mod itch_out;
pub mod mold;
pub mod publisher;
pub mod retransmit;
pub mod serve;

pub use encoder::{EncoderConfig, EncoderStats, InstrumentSpec, ItchEncoder};
pub use feed::{MdConfig, MdError, MdFeed};
pub use mold::{Packet, Reassembler, Request, Session};
pub use publisher::{MoldPublisher, RetransmitStore};
pub use retransmit::{RetransmitClient, RetransmitServer};
pub use serve::{MdReport, MdSpec, MdThread};
