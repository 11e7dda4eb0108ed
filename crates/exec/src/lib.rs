//! ferrex-exec: execution-quality analysis. A parent order is executed by an [`Algo`] sending
//! child orders into a market replayed on a `ferrex_book::Book` from LOBSTER, ITCH 5.0 or
//! Binance depth data, and the run is measured (slippage, implementation shortfall, VWAP/TWAP
//! slippage, impact, reversion, latency-induced slippage, and their distribution over random
//! start times).
//!
//! # Sources ([`MarketData`], module [`source`])
//! Every source is normalised into one event stream ([`MarketEvent`]): order-level events (add,
//! reduce, delete, execute, hidden execution) for LOBSTER and ITCH, level events (absolute level
//! size, trade at a level) for Binance. One [`SimMarket`] replays all of them with the same fill
//! logic; LOBSTER additionally carries reference rows (below). [`MarketData::to_level_data`]
//! turns order-level data into level data, to run the level queue models on it.
//!
//! # The simulated market ([`SimMarket`])
//! LOBSTER: the book is seeded as `ferrex-replay` seeds it (one synthetic order per level of the
//! first orderbook row) and driven by the messages: 1 submit, 2 partial cancel, 3 delete, 4
//! visible execution (a type 2/3/4 naming an order the book does not hold is applied to the
//! level's synthetic liquidity, oldest first). ITCH: the book starts empty and is driven by the
//! messages of one stock (references to orders never added are dropped at load). Binance: each
//! level is held as synthetic liquidity and set to the size the depth stream shows (below).
//! LOBSTER only: after each message the reference row's visible range is
//! reconciled: each price's *real* quantity (level quantity minus ours) is set to the reference
//! size minus the lots we took there and the data still shows — missing lots are added as a
//! synthetic order at the back, surplus lots are removed from the back of the queue (newest
//! first); our orders are never touched. Beyond the reference's visible range (level-N files)
//! the book keeps the last known state of those levels (stale depth). Our orders use account
//! [`OUR_ACCOUNT`] and ids `OUR_ID_BASE + tag`.
//!
//! # Queue models ([`QueueModel`])
//! - **Exact** (order-level data, LOBSTER and ITCH): our order sits in the real FIFO (the fill
//!   rule below); cancels of orders ahead of it advance it, as they do in the data.
//! - **Conservative** (level data): our order joins behind all displayed quantity at its price.
//!   A trade of `q` lots at its price (the trade stream) fills it by `min(visible, q − ahead)`
//!   and advances it by `q` (`q` real lots move from the front of the level to behind it: the
//!   level's size is the depth stream's to change). A level decrease is first matched with the
//!   lots traded there since the last update (those leave from behind us: they are the lots the
//!   trade moved); the rest counts as cancels and is taken from behind us — it never advances
//!   us, except that what is ahead of us can never exceed what the level holds. An increase
//!   joins behind us.
//! - **Probabilistic** (level data): as conservative, except that each cancel (the non-trade part
//!   of a level decrease at our level) is taken from ahead of us with probability
//!   `ahead / (ahead + behind)` (one ChaCha8 draw per decrease, seeded: deterministic per seed),
//!   else from behind us.
//!
//! In every model, a real level of the opposite side appearing at or through the price of our
//! resting order (the data's sellers now offer at our bid, or buyers bid at our offer) trades
//! with it in the book, we being maker (`MarketStats::real_lots_taken`): on level data this is
//! how a resting order whose real queue emptied gets filled when the market moves through it.
//!
//! On Binance the clock is the exchange's (trade time, depth transaction time) and trades sort
//! before the depth update of the same millisecond, so a trade is normally applied before the
//! depth update that shows it. If a depth update showing a trade arrives before the trade, the
//! decrease is treated as a cancel and the trade then advances us again (optimistic by that
//! trade's size). Lots we took aggressively at a level are deducted from what the data shows
//! there until the shown size has decreased by as much (the same liquidity cannot fill twice).
//!
//! # Fill rule (exact)
//! - **Passive (our resting orders).** They join the real FIFO at their price (a real order
//!   arriving later queues behind them). A real execution (type 4) of `q` lots at price `P` on side
//!   `S` is aggressive volume consuming the queue in FIFO order: before it is applied, each of our
//!   orders on `S` at `P` or better, in price-time priority, fills
//!   `min(visible, remaining − ahead)` (saturating), `ahead` = visible lots queued before it at its
//!   level, `remaining` = `q` minus what our earlier orders took. So an order behind 500 lots fills
//!   only once more than 500 lots have traded at its price. The real execution is then applied
//!   exactly as recorded: passive fills do **not** change the real market (the aggressor is
//!   assumed to have had the extra size). A real cancel (2/3) only removes that real order (our
//!   queue position improves). Hidden executions (5) never fill us. A real *submission* that
//!   crosses our resting order trades with it in the book (we are maker); the lots it lost are
//!   recorded as taken liquidity (below).
//! - **Aggressive (marketable children).** An IOC limit priced, on arrival, at the far touch ±
//!   `marketable_band_ticks` (capped by the parent's limit) walks the real book and consumes what it
//!   takes: those real orders are reduced or gone. Lots taken are remembered per real order (and
//!   per level for synthetic liquidity); a later message naming liquidity we consumed is ignored
//!   for those lots (`MarketStats::ignored_taken`), and the reconciliation target of that level is
//!   the reference size minus the taken lots still shown, so the same liquidity cannot fill twice.
//!   Without our aggressive orders the real market is exactly the replayed one.
//!
//! # Timing
//! The algorithm decides at `start` and then every `tick_ns`; it sees the market of
//! `now − md latency` (best bid/ask, volume) and its own state as acknowledged: a child's arrival
//! at the book (`OpenChild::arrived`, its price), each fill (`filled`, `leaves`, `Algo::on_fill`)
//! and its end (filled, IOC remainder cancelled, cancelled: it leaves `open`) reach the algorithm
//! `SimConfig::ack_ns` after they happen in the market (acknowledgement latency, separate from
//! the entry latency; the simulator itself stops the parent as soon as it is really filled). A child decided at `t`
//! reaches the book at `t + entry latency` (constant, or `base + Exp(jitter)` seeded) after every
//! real message stamped `≤` that time (with jitter, two children may arrive in a different order
//! than decided). At `start + horizon` open children are cancelled and in-flight ones dropped;
//! the replay continues `reversion_ns` further for the reversion. TWAP slices fire at the first
//! decision tick at or after their scheduled time.
//!
//! # Metrics ([`ExecReport`]; `s` = +1 buy / −1 sell, Q parent lots, X filled lots)
//! - arrival price `P0` = real mid (our orders ignored) at the decision time; `avg` = Σpᵢqᵢ/X;
//!   fill ratio = X/Q; slippage = s·(avg − P0)/P0 bps (positive = cost).
//! - Perold implementation shortfall vs a paper portfolio of Q at P0, in bps of Q·P0:
//!   delay = s·X·(Pd − P0) (Pd = mid when the first child reaches the book), trading =
//!   s·Σqᵢ(pᵢ − Pd), opportunity = s·(Q − X)·(P_end − P0) (P_end = mid at the end of the horizon),
//!   fees = Σ notional·(maker or taker bps); shortfall = the sum.
//! - market VWAP over [start, end] of type 4 and 5 executions; market TWAP = time-weighted real mid
//!   over [start, end]; slippage vs each = s·(avg − ref)/ref bps.
//! - effective spread = quantity-weighted 2·s·(pᵢ − midᵢ)/midᵢ bps, midᵢ = real mid before fill i
//!   (negative for passive fills inside the spread).
//! - temporary impact = s·(mid(T_c) − P0)/P0, T_c = time of the last fill if complete, else the end
//!   of the horizon; reversion = s·(mid(T_c) − mid(T_c + reversion_ns))/P0 (positive = came back).
//! - latency-induced slippage = slippage(at the latency) − slippage(same run at zero latency:
//!   entry, market-data and ack latency 0, same algorithm, data, queue model and seeds); the same
//!   difference of the shortfall is `latency_shortfall_bps`.
//! - when not complete, `unfilled_reason` splits the unfilled lots into never sent, marketable
//!   children that found no liquidity within the band or limit, and still queued at the end.
//! - over `N` runs with seeded uniform start times: mean, sample stdev and p95 (nearest rank) of
//!   the shortfall (and slippage).
//!
//! # Data limitations
//! LOBSTER level-N files only carry messages for the top N levels: beyond them the book is
//! unknown, so a marketable order larger than the visible depth cannot fill completely (it
//! stays unfilled and shows as opportunity cost). The ITCH sample starts mid-day: orders resting
//! from before the capture are missing (the book fills up as orders are added), and `P` trades
//! (non-displayed) count as market volume only. Binance depth captures carry no queue: only the
//! level models apply. Market VWAP counts LOBSTER types 4 and 5, ITCH `E`/`C`/`P` and Binance
//! trades.
#![forbid(unsafe_code)]

pub mod algo;
pub mod market;
pub mod sim;
pub mod source;

pub use algo::{
    ALGOS, Algo, ChildAction, ChildPrice, Iceberg, Immediate, MarketState, OpenChild, ParentOrder,
    Pov, Twap, algo_by_name,
};
pub use market::{Fill, MarketStats, OUR_ACCOUNT, OUR_ID_BASE, QueueModel, SimMarket};
pub use sim::{
    CostStats, ExecReport, Fees, Latency, MultiRun, SimConfig, simulate, simulate_runs,
    simulate_with_latency_cost,
};
pub use source::{LobsterData, MarketData, MarketEvent, Source, TimedEvent};

/// Errors of a simulation.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The data files.
    #[error(transparent)]
    Lobster(#[from] ferrex_replay::lobster::LobsterError),
    /// Empty data.
    #[error("empty data: nothing to simulate on")]
    Empty,
    /// Bad book configuration.
    #[error("book configuration: {0}")]
    Book(String),
    /// Bad parameters.
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests;
