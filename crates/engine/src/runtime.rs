//! The threaded runtime: producer sessions → one SPSC ring each → the engine thread (pinned,
//! busy-polling) → one outbound ring per session, plus an optional market-data ring.
//!
//! - **Rings**: each session's command ring and event ring is a slot-sequenced ring
//!   ([`ferrex_ring::seq`]): the reader polls a stamp in the slot it reads next, so one hop is
//!   the slot's own line(s) crossing the cores, not an index line and then the slot. The events
//!   of the first command of a turn are pushed one by one as the engine emits them (the ack is
//!   on its way before the command is finished); those of later commands in the same turn (a
//!   burst) are staged and published as one run at the end of the turn. The market-data and
//!   journal rings are index rings ([`ferrex_ring::channel`]), read in batches.
//!   The session rings carry `Command` (80 bytes) and `Event` (88 bytes) as they are, two lines
//!   per slot. Tried and rejected (issue 4): a 56-byte packet codec so that a slot is one line
//!   (the common commands and events in one packet, the rest in two pushed as one run). In
//!   alternating A/B runs on the 2-vCPU VM (fast placement, floor ~100-110 ns) the order→ack
//!   p50 over the floor was unchanged (median 2.43x vs 2.48x with packets on both rings,
//!   2.29x vs 2.29x on the command ring only) while closed-loop throughput fell (median 9.2 vs
//!   10.0 and 10.6 vs 11.0 M/s); a 128-byte stride with one line used was no better (2.38x vs
//!   2.25x, 9.6 vs 10.6 M/s). The slot's second line already travels together with the
//!   stamp's (`prefetch_rest`), so one line fewer saves no measurable time, and the encoding
//!   costs throughput. Measured again with a quick codec for the bench's commands and acks,
//!   alternating 8 runs each: p50 234-251 vs 235-300 ns on the fast placement, 660-686 vs
//!   661-716 ns on the slow one. Yet `seq_rtt` alone gives a 56-byte item 1.04-1.24x the floor
//!   and an 88-byte one 1.12-1.79x: in the pipeline something else sets the hop (a build that
//!   timestamped both threads saw a command hop of 80 ns and an ack hop of 71-80 ns against a
//!   52 ns floor hop on the fast placement, 300-310 against ~205 on the slow one; the engine
//!   itself took 30 ns from command to ack). Polling flat out (no PAUSE) made no difference.
//! - **Fair**: the engine takes at most `batch` commands from one ring before it moves to the
//!   next, round-robin, so one busy producer cannot starve another.
//! - **Back-pressure, never loss**: a full inbound ring makes [`Session::submit`] return
//!   [`SubmitError::Full`] with the command; a full outbound ring stalls the engine (it spins
//!   until the consumer makes room) and the stall is counted in the [`RuntimeReport`].
//! - **Routing**: every event of a command goes to the session that sent it; a trade also goes to
//!   the session that owns the maker's account (the session that last sent an order for that
//!   account). Every event that changes a book or an instrument's state ([`is_market_data`]:
//!   accepted, trade, cancelled, replaced, triggered, expired, level changed, instrument state)
//!   also goes to the market-data ring when there is one, in engine order, so an order-level feed
//!   (ITCH) can be built from it.
//! - **Pinning**: the engine thread is pinned to `engine_core` with `core_affinity`; where that
//!   core does not exist it runs unpinned and [`PinStatus`] says so.
//! - **Floor probe**: [`Session::floor_rtt_ns`] measures a cache-line ping-pong between the
//!   caller's thread and the engine thread itself (the same two cores as the pipeline), so
//!   `ferrex bench` can interleave floor and pipeline samples.
//! - **Journal** (optional, [`RuntimeConfig::journal`]): before the engine applies a command it
//!   pushes the command, with the sequence number and engine time it is about to stamp, into an
//!   SPSC ring read by a journal thread ([`JournalThread`]), which appends in batches with one
//!   `fdatasync` per batch (group commit). The engine thread never does I/O; a full journal ring
//!   makes it spin (back-pressure, counted in [`RuntimeReport::journal_stalls`]), never drop.
//! - **Release gate** ([`Durability::Sync`]): an event reaches its client only once the journal
//!   has synced its command's sequence number. The engine does not wait: [`Session::poll`] and
//!   [`Session::poll_batch`] hold back events whose `cmd_seq` is above the durable sequence
//!   number (a per-session held buffer, in order). Market data is gated on the engine side
//!   without waiting: market-data events go to a preallocated pending queue and are published
//!   as soon as the durable sequence number covers them (the engine only spins when that queue,
//!   `md_capacity` events long, is full; counted in [`RuntimeReport::md_gate_stalls`]).
//!   [`Durability::Batch`] syncs every batch but releases events at once; [`Durability::None`]
//!   never syncs.
//! - **Snapshots** (optional, [`JournalConfig::snapshot_every`]): every N commands, at a command
//!   boundary, the engine thread serializes the engine ([`Engine::snapshot`]) into one of two
//!   recycled buffers — that copy is the only pause in matching, measured with `Instant` — and
//!   hands it to a snapshot writer thread (`ferrex-snapshot`). The writer waits until the
//!   journal's durable sequence number covers the snapshot (a snapshot never covers commands
//!   the journal could lose), writes `snapshot-<seq>.snap` atomically
//!   ([`ferrex_journal::snapshot::write_snapshot`]) and gives the buffer back. When neither
//!   buffer is free the snapshot is skipped and counted ([`SnapshotReport::skipped`]). The
//!   hand-off is two atomics and an uncontended mutex per buffer (the state word says who may
//!   touch it), so the engine thread makes no syscall for it; once both buffers have grown to
//!   the snapshot size the buffers do not reallocate (the engine's own snapshot code may use
//!   small scratch tables).

use crate::Engine;
use crossbeam_utils::CachePadded;
use ferrex_journal::{Durability, JournalEntry, JournalThread, JournalWriter, WriterConfig};
use ferrex_ring::{Consumer, Producer, PushError, channel, seq};
use ferrex_types::{AccountId, Command, CommandKind, Event, EventKind, EventSink};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Runtime configuration.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Core to pin the engine thread to; `None` leaves it unpinned.
    pub engine_core: Option<usize>,
    /// Slots per inbound (command) ring and per outbound (event) ring; rounded up to a power of 2.
    pub ring_capacity: usize,
    /// Slots of the market-data ring; 0 = no market-data ring.
    pub md_capacity: usize,
    /// Most commands taken from one ring per round-robin turn.
    pub batch: usize,
    /// Accounts tracked for routing maker fills (account ids below this).
    pub max_accounts: usize,
    /// Journal the sequenced commands (`None`: no journal, the default).
    pub journal: Option<JournalConfig>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            engine_core: Some(0),
            ring_capacity: 1 << 14,
            md_capacity: 0,
            batch: 64,
            max_accounts: 1 << 16,
            journal: None,
        }
    }
}

/// Journal options of the runtime.
///
/// The directory must be empty (or missing), or hold a journal that ends exactly at the
/// engine's [`cmd_seq`](Engine::cmd_seq) (recover it with `ferrex_journal::open_dir`, which
/// truncates a torn tail, and replay it into the engine first): the runtime appends a new
/// segment starting at `cmd_seq + 1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalConfig {
    /// Directory of the segment files (created if missing).
    pub dir: PathBuf,
    /// Sync policy and release gate.
    pub durability: Durability,
    /// Segment size limit in bytes (a new segment starts before a batch that would exceed it).
    pub segment_bytes: u64,
    /// Most entries per batch (one `write` + one `fdatasync`).
    pub max_batch: usize,
    /// Slots of the engine → journal ring; rounded up to a power of 2.
    pub ring_capacity: usize,
    /// Take a snapshot of the engine every this many commands (at the command whose sequence
    /// number is a multiple of it), written next to the journal; 0 = no snapshots.
    pub snapshot_every: u64,
}

impl JournalConfig {
    /// A journal in `dir` with `durability`, 64 MiB segments, batches of at most 4096 entries
    /// and a ring of 65,536 entries.
    pub fn new(dir: impl Into<PathBuf>, durability: Durability) -> JournalConfig {
        JournalConfig {
            dir: dir.into(),
            durability,
            segment_bytes: 64 << 20,
            max_batch: 4096,
            ring_capacity: 1 << 16,
            snapshot_every: 0,
        }
    }

    /// The same, with a snapshot every `every` commands (0 = none).
    pub fn with_snapshot_every(mut self, every: u64) -> JournalConfig {
        self.snapshot_every = every;
        self
    }
}

/// What the runtime's snapshots did, reported by [`Runtime::stop`] in
/// [`RuntimeReport::snapshots`] (when [`JournalConfig::snapshot_every`] is not 0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotReport {
    /// Snapshots the engine thread serialized (handed to the writer).
    pub taken: u64,
    /// Snapshots written to disk (`snapshot-<seq>.snap`).
    pub written: u64,
    /// Snapshots skipped because no buffer was free (the writer was still busy with both).
    pub skipped: u64,
    /// Snapshots taken but not written: a write failed, or the journal never became durable up
    /// to their sequence number (the journal thread stopped).
    pub failed: u64,
    /// Sequence number of the last snapshot written (0: none).
    pub last_seq: u64,
    /// Size of the last snapshot written, in bytes.
    pub last_bytes: u64,
    /// Longest pause of the engine for one snapshot (the `Engine::snapshot` copy), in ns.
    pub max_pause_ns: u64,
    /// Sum of the pauses, in ns (divide by `taken` for the mean).
    pub total_pause_ns: u64,
    /// The last write error, if any.
    pub error: Option<String>,
}

/// What the journal thread did, reported by [`Runtime::stop`].
#[derive(Clone, Debug, Default)]
pub struct JournalReport {
    /// The mode it ran in.
    pub durability: Durability,
    /// Records (commands) appended.
    pub records: u64,
    /// Record bytes written (framing included, segment headers excluded).
    pub bytes: u64,
    /// Batches appended (one `write` each).
    pub batches: u64,
    /// `fdatasync` calls for batches.
    pub syncs: u64,
    /// Largest batch, in records.
    pub max_batch: u64,
    /// Highest sequence number appended.
    pub last_seq: u64,
    /// The durable (published) sequence number at the end.
    pub durable_seq: u64,
    /// The I/O error that stopped the journal thread, if one did (the durable sequence number
    /// stopped advancing there; in `sync` mode nothing after it was released).
    pub error: Option<Arc<std::io::Error>>,
}

/// Whether the engine thread got its core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinStatus {
    /// Pinned to this core id.
    Pinned(usize),
    /// Not pinned: no core was asked for.
    NotRequested,
    /// Not pinned: the core id does not exist on this machine (or pinning failed).
    Unavailable(usize),
}

impl std::fmt::Display for PinStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinStatus::Pinned(c) => write!(f, "pinned to core {c}"),
            PinStatus::NotRequested => write!(f, "unpinned (no core requested)"),
            PinStatus::Unavailable(c) => write!(f, "UNPINNED: core {c} is not available here"),
        }
    }
}

/// Pin the current thread to `core`, if it exists.
pub fn pin_current(core: Option<usize>) -> PinStatus {
    let Some(c) = core else {
        return PinStatus::NotRequested;
    };
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    match ids.into_iter().find(|id| id.id == c) {
        Some(id) if core_affinity::set_for_current(id) => PinStatus::Pinned(c),
        _ => PinStatus::Unavailable(c),
    }
}

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Zero sessions.
    #[error("runtime: at least one session is needed")]
    NoSessions,
    /// A capacity or batch of zero.
    #[error("runtime: {0} must be at least 1")]
    Zero(&'static str),
    /// The engine thread could not be spawned.
    #[error("runtime: spawning the engine thread: {0}")]
    Spawn(std::io::Error),
    /// The journal could not be opened in `dir`, or its thread spawned.
    #[error("runtime: opening the journal in {}", dir.display())]
    Journal {
        /// The journal directory.
        dir: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Why a command was not submitted. The command is handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitError {
    /// The inbound ring is full: drain events and retry, or shed.
    Full(Command),
    /// The engine thread has stopped.
    EngineGone(Command),
}

/// Counters reported at shutdown.
#[derive(Clone, Debug, Default)]
pub struct RuntimeReport {
    /// Commands processed.
    pub commands: u64,
    /// Events written to session rings.
    pub events: u64,
    /// Events written to the market-data ring.
    pub md_events: u64,
    /// Times the engine found an outbound ring full and had to wait.
    pub outbound_stalls: u64,
    /// Events not delivered because their session had gone (its consumer was dropped).
    pub undeliverable: u64,
    /// Pinning outcome of the engine thread.
    pub pin: Option<PinStatus>,
    /// Commands for which the engine found the journal ring full and had to wait.
    pub journal_stalls: u64,
    /// Commands not journaled because the journal thread had stopped (after an I/O error; see
    /// [`JournalReport::error`]).
    pub journal_unrecorded: u64,
    /// Times the engine found the market-data pending queue full in `sync` mode and waited for
    /// the journal.
    pub md_gate_stalls: u64,
    /// The journal thread's counters, when there was a journal.
    pub journal: Option<JournalReport>,
    /// The snapshots' counters, when snapshots were on.
    pub snapshots: Option<SnapshotReport>,
}

const MODE_RUN: u32 = 0;
const MODE_PINGPONG: u32 = 1;

/// State shared between sessions, the handle and the engine thread.
struct Control {
    stop: AtomicBool,
    mode: CachePadded<AtomicU32>,
    pp_ready: CachePadded<AtomicU32>,
    ping: CachePadded<AtomicU64>,
    pong: CachePadded<AtomicU64>,
    pin: AtomicU32,
    /// Every market-data event of the commands up to this `cmd_seq` is in the market-data ring
    /// (stored by the engine thread after it pushed them, Release): see [`MdProgress`].
    md_done: CachePadded<AtomicU64>,
}

impl Control {
    /// Running, not stopped, pinning not yet reported, no market data yet.
    fn new() -> Control {
        Control {
            stop: AtomicBool::new(false),
            mode: CachePadded::new(AtomicU32::new(MODE_RUN)),
            pp_ready: CachePadded::new(AtomicU32::new(0)),
            ping: CachePadded::new(AtomicU64::new(0)),
            pong: CachePadded::new(AtomicU64::new(0)),
            pin: AtomicU32::new(u32::MAX),
            md_done: CachePadded::new(AtomicU64::new(0)),
        }
    }
}

/// How far the market-data ring is complete, for its consumer: a command's events reach the ring
/// one by one while the engine runs it, so a consumer that finds the ring empty may be between
/// two events of one command. [`MdProgress::complete_through`] read **before** a drain that finds
/// nothing new says that every event of the commands up to the returned `cmd_seq` has been read,
/// so a consumer that groups events by command (the ITCH encoder) may close the last one only
/// when its `cmd_seq` is at most that.
#[derive(Clone)]
pub struct MdProgress {
    control: Arc<Control>,
}

impl MdProgress {
    /// The highest `cmd_seq` whose market-data events are all in the ring (Acquire). O(1).
    pub fn complete_through(&self) -> u64 {
        self.control.md_done.load(Ordering::Acquire)
    }
}

/// One producer's end: submit commands, read back its events.
///
/// With a [`Durability::Sync`] journal, [`poll`](Self::poll) and
/// [`poll_batch`](Self::poll_batch) are the release gate: they return an event only once the
/// journal's durable sequence number is at least its `cmd_seq`, holding later ones back in order.
pub struct Session {
    id: usize,
    tx: seq::Producer<Command>,
    rx: seq::Consumer<Event>,
    control: Arc<Control>,
    /// The journal's durable sequence number, when the release gate is on (sync mode).
    gate: Option<Arc<AtomicU64>>,
    /// Events taken from the ring but not yet durable (in ring order).
    held: VecDeque<Event>,
}

impl Session {
    /// This session's index (0-based).
    pub fn id(&self) -> usize {
        self.id
    }

    /// Submit one command. Never blocks: a full ring returns [`SubmitError::Full`].
    #[inline]
    pub fn submit(&mut self, cmd: Command) -> Result<(), SubmitError> {
        match self.tx.try_push(cmd) {
            Ok(()) => Ok(()),
            Err(PushError::Full(c)) => Err(SubmitError::Full(c)),
            Err(PushError::Abandoned(c)) => Err(SubmitError::EngineGone(c)),
        }
    }

    /// Submit as many of `cmds` as fit, published at once (the run is stamped last slot first,
    /// so the engine sees all of it or none); returns how many went in.
    #[inline]
    pub fn submit_batch(&mut self, cmds: &[Command]) -> usize {
        self.tx.push_slice(cmds)
    }

    /// The next event for this session, if any. With the release gate on, an event whose
    /// command is not yet durable is held (and `None` returned) until it is.
    /// Cost: one ring pop; with the gate, plus one atomic load.
    #[inline]
    pub fn poll(&mut self) -> Option<Event> {
        let Some(gate) = &self.gate else {
            return self.rx.try_pop();
        };
        let durable = gate.load(Ordering::Acquire);
        if let Some(e) = self.held.front() {
            return if e.cmd_seq <= durable {
                self.held.pop_front()
            } else {
                None
            };
        }
        let e = self.rx.try_pop()?;
        if e.cmd_seq <= durable || e.cmd_seq <= gate.load(Ordering::Acquire) {
            Some(e)
        } else {
            self.held.push_back(e);
            None
        }
    }

    /// Move up to `out.len()` waiting events into `out` (their slots freed with one store);
    /// returns how many. With the release gate on, only the leading events whose commands are
    /// durable are returned; the rest are held, in order, and nothing more is taken from the
    /// ring until they are released (so at most one `out` worth is ever held).
    #[inline]
    pub fn poll_batch(&mut self, out: &mut [Event]) -> usize {
        let Some(gate) = &self.gate else {
            return self.rx.pop_into(out);
        };
        let durable = gate.load(Ordering::Acquire);
        if !self.held.is_empty() {
            let mut n = 0;
            while n < out.len() {
                match self.held.front() {
                    Some(e) if e.cmd_seq <= durable => {
                        out[n] = *e;
                        self.held.pop_front();
                        n += 1;
                    }
                    _ => break,
                }
            }
            return n;
        }
        let n = self.rx.pop_into(out);
        let k = out[..n]
            .iter()
            .position(|e| e.cmd_seq > durable)
            .unwrap_or(n);
        self.held.extend(out[k..n].iter().copied());
        k
    }

    /// Events taken from the ring and held by the release gate, not yet returned.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// The journal's durable sequence number when the release gate is on (sync mode), else
    /// `None`. One atomic load.
    pub fn durable_seq(&self) -> Option<u64> {
        self.gate.as_ref().map(|g| g.load(Ordering::Acquire))
    }

    /// Free inbound slots (a lower bound).
    pub fn slots_free(&self) -> usize {
        self.tx.slots_free()
    }

    /// Measure the core-to-core round trip between this thread and the engine thread: the
    /// engine stops taking commands (finish what you sent first), and `rounds` cache-line
    /// ping-pongs are timed. Returns ns per round trip. Returns `None` if the engine does not
    /// answer within a second (stopped).
    pub fn floor_rtt_ns(&mut self, rounds: u32) -> Option<f64> {
        let c = &*self.control;
        c.pp_ready.store(0, Ordering::SeqCst);
        c.mode.store(MODE_PINGPONG, Ordering::SeqCst);
        let t0 = Instant::now();
        while c.pp_ready.load(Ordering::Acquire) == 0 {
            if t0.elapsed().as_secs() >= 1 {
                c.mode.store(MODE_RUN, Ordering::SeqCst);
                return None;
            }
            std::hint::spin_loop();
        }
        let base = c.pong.load(Ordering::Acquire);
        let start = Instant::now();
        for k in 1..=u64::from(rounds) {
            let v = base + k;
            c.ping.store(v, Ordering::Release);
            while c.pong.load(Ordering::Acquire) != v {
                std::hint::spin_loop();
            }
        }
        let ns = start.elapsed().as_nanos() as f64 / f64::from(rounds.max(1));
        c.mode.store(MODE_RUN, Ordering::SeqCst);
        Some(ns)
    }
}

/// Whether an event goes to the market-data ring: everything an order-level feed of the books
/// needs (orders entering, trading, leaving or changing; level totals; instrument trading
/// state). Rejects and account state changes are private to their session.
#[inline]
pub fn is_market_data(k: &EventKind) -> bool {
    matches!(
        k,
        EventKind::Accepted { .. }
            | EventKind::Trade { .. }
            | EventKind::Cancelled { .. }
            | EventKind::Replaced { .. }
            | EventKind::Triggered { .. }
            | EventKind::Expired { .. }
            | EventKind::LevelChanged { .. }
            | EventKind::InstrumentState { .. }
    )
}

/// What [`Runtime::start`] returns: the handle, one session per producer, and the market-data
/// consumer when a market-data ring was asked for.
pub type Started = (Runtime, Vec<Session>, Option<Consumer<Event>>);

/// Handle to the running engine thread (and journal thread, when there is a journal).
pub struct Runtime {
    join: Option<JoinHandle<(Engine, RuntimeReport)>>,
    control: Arc<Control>,
    journal: Option<(JournalThread, Durability)>,
    snap: Option<SnapWriter>,
}

impl Runtime {
    /// Start the engine thread with `sessions` producer sessions. Returns the handle, the
    /// sessions and, when `md_capacity > 0`, the market-data consumer. All rings are allocated
    /// and every slot touched before the engine starts.
    pub fn start(
        mut engine: Engine,
        sessions: usize,
        cfg: &RuntimeConfig,
    ) -> Result<Started, RuntimeError> {
        if sessions == 0 {
            return Err(RuntimeError::NoSessions);
        }
        if cfg.ring_capacity == 0 {
            return Err(RuntimeError::Zero("ring_capacity"));
        }
        if cfg.batch == 0 {
            return Err(RuntimeError::Zero("batch"));
        }
        // The journal first: if it cannot be opened, nothing else is started.
        let (journal, journal_tx) = match &cfg.journal {
            None => (None, None),
            Some(j) => {
                if j.ring_capacity == 0 {
                    return Err(RuntimeError::Zero("journal.ring_capacity"));
                }
                let jerr = |source| RuntimeError::Journal {
                    dir: j.dir.clone(),
                    source,
                };
                let writer = JournalWriter::open(
                    &j.dir,
                    engine.cmd_seq() + 1,
                    WriterConfig {
                        durability: j.durability,
                        segment_bytes: j.segment_bytes,
                    },
                )
                .map_err(jerr)?;
                let (mut tx, mut rx) = channel::<JournalEntry>(j.ring_capacity);
                warm(
                    &mut tx,
                    &mut rx,
                    JournalEntry::new(0, Command::new(0, CommandKind::Risk(noop_control()))),
                );
                let thread = JournalThread::spawn(writer, rx, j.max_batch).map_err(jerr)?;
                (Some((thread, j.durability)), Some(tx))
            }
        };
        let gate = match &journal {
            Some((t, Durability::Sync)) => Some(t.durable()),
            _ => None,
        };
        // The snapshot writer, when snapshots are on (needs the journal's durable seq).
        let (snap_writer, snap_taker) = match (&cfg.journal, &journal) {
            (Some(j), Some((t, _))) if j.snapshot_every > 0 => {
                let shared = Arc::new(SnapShared::new());
                let durable = t.durable();
                let dir = j.dir.clone();
                let sh = Arc::clone(&shared);
                let join = std::thread::Builder::new()
                    .name("ferrex-snapshot".into())
                    .spawn(move || snapshot_writer(&sh, &dir, &durable))
                    .map_err(|source| RuntimeError::Journal {
                        dir: j.dir.clone(),
                        source,
                    })?;
                (
                    Some(SnapWriter {
                        shared: Arc::clone(&shared),
                        join,
                    }),
                    Some(SnapTaker {
                        shared,
                        every: j.snapshot_every,
                        report: SnapshotReport::default(),
                    }),
                )
            }
            _ => (None, None),
        };
        let control = Arc::new(Control::new());
        let mut inbound = Vec::with_capacity(sessions);
        let mut outbound = Vec::with_capacity(sessions);
        let mut handles = Vec::with_capacity(sessions);
        for id in 0..sessions {
            let (mut ctx, mut crx) = seq::channel::<Command>(cfg.ring_capacity);
            let (mut etx, mut erx) = seq::channel::<Event>(cfg.ring_capacity);
            warm_seq(
                &mut ctx,
                &mut crx,
                Command::new(0, CommandKind::Risk(noop_control())),
            );
            warm_seq(&mut etx, &mut erx, blank_event());
            inbound.push(crx);
            outbound.push(etx);
            handles.push(Session {
                id,
                tx: ctx,
                rx: erx,
                control: Arc::clone(&control),
                gate: gate.clone(),
                held: if gate.is_some() {
                    VecDeque::with_capacity(cfg.ring_capacity.min(1 << 16))
                } else {
                    VecDeque::new()
                },
            });
        }
        let (md_tx, md_rx) = if cfg.md_capacity > 0 {
            let (mut t, mut r) = channel::<Event>(cfg.md_capacity);
            warm(&mut t, &mut r, blank_event());
            (Some(t), Some(r))
        } else {
            (None, None)
        };
        engine.prefault();
        let ctl = Arc::clone(&control);
        let core = cfg.engine_core;
        let batch = cfg.batch;
        let max_accounts = cfg.max_accounts;
        let md_gate = if md_tx.is_some() { gate.clone() } else { None };
        let md_limit = if md_gate.is_some() {
            cfg.md_capacity
        } else {
            0
        };
        let join = std::thread::Builder::new()
            .name("ferrex-engine".into())
            .spawn(move || {
                let pin = pin_current(core);
                ctl.pin.store(encode_pin(pin), Ordering::Release);
                let mut worker = Worker {
                    engine,
                    inbound,
                    outbound,
                    md: md_tx,
                    owner: vec![u16::MAX; max_accounts],
                    report: RuntimeReport {
                        pin: Some(pin),
                        ..RuntimeReport::default()
                    },
                    batch,
                    stage: Vec::with_capacity(STAGE),
                    journal: journal_tx,
                    md_gate,
                    md_pending: VecDeque::with_capacity(md_limit),
                    md_limit,
                    snap: snap_taker,
                };
                for _ in 0..md_limit {
                    worker.md_pending.push_back(blank_event());
                }
                worker.md_pending.clear();
                ferrex_types::prefault(&mut worker.stage);
                worker.run(&ctl);
                let mut report = worker.report;
                report.snapshots = worker.snap.map(|t| t.report);
                (worker.engine, report)
            })
            .map_err(RuntimeError::Spawn)?;
        Ok((
            Runtime {
                join: Some(join),
                control,
                journal,
                snap: snap_writer,
            },
            handles,
            md_rx,
        ))
    }

    /// The market-data ring's completeness counter (see [`MdProgress`]).
    pub fn md_progress(&self) -> MdProgress {
        MdProgress {
            control: Arc::clone(&self.control),
        }
    }

    /// The engine thread's pinning outcome, once it has started (spins until then, ≤ 1 s).
    pub fn pin_status(&self) -> Option<PinStatus> {
        let t0 = Instant::now();
        loop {
            let v = self.control.pin.load(Ordering::Acquire);
            if v != u32::MAX {
                return Some(decode_pin(v));
            }
            if t0.elapsed().as_secs() >= 1 {
                return None;
            }
            std::hint::spin_loop();
        }
    }

    /// The journal's durable sequence number (shared; read with `Ordering::Acquire`), when
    /// there is a journal. In `sync` mode this is what the release gate compares against.
    pub fn durable(&self) -> Option<Arc<AtomicU64>> {
        self.journal.as_ref().map(|(t, _)| t.durable())
    }

    /// The journal's durable sequence number now, when there is a journal.
    pub fn durable_seq(&self) -> Option<u64> {
        self.journal.as_ref().map(|(t, _)| t.durable_seq())
    }

    /// Stop: the engine drains what is left in the inbound rings (whose sessions still read
    /// their events, or have been dropped), exits, and is joined; then the journal thread
    /// drains its ring, appends and (unless `none`) syncs the last batch, and is joined.
    /// Returns the engine (for inspection) and the counters.
    pub fn stop(mut self) -> (Engine, RuntimeReport) {
        self.control.stop.store(true, Ordering::Release);
        let join = self.join.take().expect("joined once");
        let (engine, mut report) = join.join().expect("engine thread panicked");
        // The engine thread has dropped the journal ring's producer: the journal thread drains
        // what is left and exits.
        if let Some((thread, durability)) = self.journal.take() {
            let durable = thread.durable();
            let mut jr = JournalReport {
                durability,
                ..JournalReport::default()
            };
            match thread.join() {
                Ok(st) => {
                    jr.records = st.entries;
                    jr.bytes = st.bytes;
                    jr.batches = st.batches;
                    jr.syncs = st.syncs;
                    jr.max_batch = st.max_batch;
                    jr.last_seq = st.last_seq;
                }
                Err(e) => jr.error = Some(Arc::new(e)),
            }
            jr.durable_seq = durable.load(Ordering::Acquire);
            report.journal = Some(jr);
        }
        // The journal is final: the writer writes what it covers and stops.
        if let Some(w) = self.snap.take() {
            let wr = w.finish().unwrap_or_else(|| SnapshotReport {
                error: Some("the snapshot writer thread panicked".into()),
                ..SnapshotReport::default()
            });
            let r = report.snapshots.get_or_insert_with(SnapshotReport::default);
            r.written = wr.written;
            r.failed = wr.failed;
            r.last_seq = wr.last_seq;
            r.last_bytes = wr.last_bytes;
            r.error = wr.error;
        }
        (engine, report)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(j) = self.join.take() {
            self.control.stop.store(true, Ordering::Release);
            let _ = j.join();
        }
        if let Some((t, _)) = self.journal.take() {
            let _ = t.join();
        }
        if let Some(w) = self.snap.take() {
            let _ = w.finish();
        }
    }
}

fn encode_pin(p: PinStatus) -> u32 {
    match p {
        PinStatus::Pinned(c) => c as u32 & 0x3fff_ffff,
        PinStatus::NotRequested => 0x4000_0000,
        PinStatus::Unavailable(c) => 0x8000_0000 | (c as u32 & 0x3fff_ffff),
    }
}

fn decode_pin(v: u32) -> PinStatus {
    if v == 0x4000_0000 {
        PinStatus::NotRequested
    } else if v & 0x8000_0000 != 0 {
        PinStatus::Unavailable((v & 0x3fff_ffff) as usize)
    } else {
        PinStatus::Pinned(v as usize)
    }
}

fn noop_control() -> ferrex_types::RiskControl {
    ferrex_types::RiskControl::ResetMmp {
        account: AccountId(0),
    }
}

fn blank_event() -> Event {
    Event {
        seq: 0,
        cmd_seq: 0,
        time: 0,
        kind: EventKind::Expired {
            order_id: ferrex_types::OrderId(0),
            account: AccountId(0),
            instrument: ferrex_types::InstrumentId(0),
            qty: ferrex_types::Qty(0),
            side: ferrex_types::Side::Buy,
            price: ferrex_types::Price(0),
        },
    }
}

/// Touch every slot of a fresh ring (fill it, then empty it) so the engine never page-faults.
fn warm<T: Copy>(tx: &mut Producer<T>, rx: &mut Consumer<T>, v: T) {
    while tx.try_push(v).is_ok() {}
    while rx.try_pop().is_some() {}
}

/// [`warm`] for a slot-sequenced ring.
fn warm_seq<T: Copy>(tx: &mut seq::Producer<T>, rx: &mut seq::Consumer<T>, v: T) {
    while tx.try_push(v).is_ok() {}
    while rx.try_pop().is_some() {}
}

/// The producer end of an event ring: the session rings are slot-sequenced, the market-data
/// ring is an index ring (its consumer is handed out as a [`Consumer<Event>`]).
trait EventTx {
    fn push(&mut self, ev: Event) -> Result<(), PushError<Event>>;
    fn gone(&self) -> bool;
}

impl EventTx for Producer<Event> {
    #[inline(always)]
    fn push(&mut self, ev: Event) -> Result<(), PushError<Event>> {
        self.try_push(ev)
    }
    #[inline(always)]
    fn gone(&self) -> bool {
        self.is_abandoned()
    }
}

impl EventTx for seq::Producer<Event> {
    #[inline(always)]
    fn push(&mut self, ev: Event) -> Result<(), PushError<Event>> {
        self.try_push(ev)
    }
    #[inline(always)]
    fn gone(&self) -> bool {
        self.is_abandoned()
    }
}

/// A snapshot buffer nobody holds: the engine may fill it.
const SLOT_FREE: u8 = 0;
/// A snapshot buffer filled by the engine: the writer may write it out.
const SLOT_FULL: u8 = 1;

/// One of the two recycled snapshot buffers. `state` says which side may lock `buf`, so the
/// lock is never contended (no syscall); `seq` is the command sequence number it covers.
struct SnapSlot {
    state: AtomicU8,
    seq: AtomicU64,
    buf: Mutex<Vec<u8>>,
}

/// State shared by the engine thread and the snapshot writer thread.
struct SnapShared {
    slots: [SnapSlot; 2],
    /// Set by [`Runtime::stop`] once the engine and the journal threads have been joined.
    stop: AtomicBool,
}

impl SnapShared {
    fn new() -> SnapShared {
        let slot = || SnapSlot {
            state: AtomicU8::new(SLOT_FREE),
            seq: AtomicU64::new(0),
            buf: Mutex::new(Vec::new()),
        };
        SnapShared {
            slots: [slot(), slot()],
            stop: AtomicBool::new(false),
        }
    }
}

/// The engine thread's side of the snapshots.
struct SnapTaker {
    shared: Arc<SnapShared>,
    every: u64,
    report: SnapshotReport,
}

impl SnapTaker {
    /// At a command boundary: every `every` commands, serialize the engine into a free buffer
    /// and hand it to the writer; with no free buffer, count a skip.
    #[inline]
    fn after_command(&mut self, engine: &Engine) {
        let seq = engine.cmd_seq();
        if seq == 0 || !seq.is_multiple_of(self.every) {
            return;
        }
        let Some(slot) = self
            .shared
            .slots
            .iter()
            .find(|s| s.state.load(Ordering::Acquire) == SLOT_FREE)
        else {
            self.report.skipped += 1;
            return;
        };
        let mut buf = slot.buf.lock().unwrap_or_else(|p| p.into_inner());
        buf.clear();
        let t = Instant::now();
        engine.snapshot(&mut buf);
        let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        drop(buf);
        slot.seq.store(seq, Ordering::Relaxed);
        slot.state.store(SLOT_FULL, Ordering::Release);
        let r = &mut self.report;
        r.taken += 1;
        r.max_pause_ns = r.max_pause_ns.max(ns);
        r.total_pause_ns = r.total_pause_ns.saturating_add(ns);
    }
}

/// The snapshot writer thread: writes each full buffer, oldest first, once the journal's
/// durable sequence number covers it, then frees the buffer. On stop (the engine and journal
/// threads are gone) it writes what is covered and counts the rest as failed.
fn snapshot_writer(
    shared: &SnapShared,
    dir: &std::path::Path,
    durable: &AtomicU64,
) -> SnapshotReport {
    let mut r = SnapshotReport::default();
    loop {
        let stopping = shared.stop.load(Ordering::Acquire);
        let mut full: [Option<(u64, usize)>; 2] = [None, None];
        for (i, s) in shared.slots.iter().enumerate() {
            if s.state.load(Ordering::Acquire) == SLOT_FULL {
                full[i] = Some((s.seq.load(Ordering::Relaxed), i));
            }
        }
        if full.iter().all(Option::is_none) {
            if stopping {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        full.sort_unstable_by_key(|f| f.map_or(u64::MAX, |x| x.0));
        let mut did = false;
        for (seq, i) in full.into_iter().flatten() {
            let slot = &shared.slots[i];
            if durable.load(Ordering::Acquire) < seq {
                if stopping {
                    // The journal never covered it: writing it would claim commands that
                    // recovery cannot replay.
                    r.failed += 1;
                    slot.state.store(SLOT_FREE, Ordering::Release);
                }
                break;
            }
            let buf = slot.buf.lock().unwrap_or_else(|p| p.into_inner());
            match ferrex_journal::snapshot::write_snapshot(dir, seq, &buf) {
                Ok(_) => {
                    r.written += 1;
                    r.last_seq = seq;
                    r.last_bytes = buf.len() as u64;
                }
                Err(e) => {
                    r.failed += 1;
                    r.error = Some(e.to_string());
                }
            }
            drop(buf);
            slot.state.store(SLOT_FREE, Ordering::Release);
            did = true;
        }
        if !did && !stopping {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    r
}

/// The running snapshot writer, owned by the [`Runtime`] handle.
struct SnapWriter {
    shared: Arc<SnapShared>,
    join: JoinHandle<SnapshotReport>,
}

impl SnapWriter {
    /// Tell the writer to finish (call after the engine and journal threads are joined).
    fn finish(self) -> Option<SnapshotReport> {
        self.shared.stop.store(true, Ordering::Release);
        self.join.join().ok()
    }
}

struct Worker {
    engine: Engine,
    inbound: Vec<seq::Consumer<Command>>,
    outbound: Vec<seq::Producer<Event>>,
    md: Option<Producer<Event>>,
    /// account id → session index that last sent an order for it (u16::MAX: none).
    owner: Vec<u16>,
    report: RuntimeReport,
    batch: usize,
    /// Events of the second and later commands of a turn, published to the session's ring in
    /// one run at the end of the turn (or when full).
    stage: Vec<Event>,
    /// The engine → journal ring, when there is a journal.
    journal: Option<Producer<JournalEntry>>,
    /// The durable sequence number gating market data (sync mode with a market-data ring).
    md_gate: Option<Arc<AtomicU64>>,
    /// Market-data events waiting for the journal (sync mode), oldest first; preallocated.
    md_pending: VecDeque<Event>,
    /// Most events `md_pending` holds before the engine waits for the journal.
    md_limit: usize,
    /// The engine side of the snapshots, when they are on.
    snap: Option<SnapTaker>,
}

/// Events staged per turn before one publish (preallocated; flushed early when full).
const STAGE: usize = 4096;

/// Routes one command's events: to its session, to the maker's session and to market data
/// (directly, or through the pending queue in sync mode).
///
/// Publishing to the sending session: the events of the **first** command of a turn are pushed
/// the moment the engine emits them (the session rings are slot-sequenced, so a push is visible
/// at once and the acknowledgement is on its way before the engine has finished the command);
/// the events of later commands in the same turn (a burst: throughput, not latency) are staged
/// and published as one run at the end of the turn, which the session then reads without
/// chasing the engine slot by slot. Events keep engine order in every ring either way.
struct Router<'a> {
    from: usize,
    /// Push straight to the session's ring (first command of the turn) instead of staging.
    direct: bool,
    outbound: &'a mut [seq::Producer<Event>],
    md: Option<&'a mut Producer<Event>>,
    owner: &'a [u16],
    report: &'a mut RuntimeReport,
    control: &'a Control,
    stage: &'a mut Vec<Event>,
    /// The durable sequence number gating market data (sync mode).
    md_gate: Option<&'a AtomicU64>,
    md_pending: &'a mut VecDeque<Event>,
    md_limit: usize,
    /// The journal ring (to see whether the journal thread has gone).
    journal: Option<&'a Producer<JournalEntry>>,
    /// A market-data event of this command went straight to the ring (no release gate).
    md_pushed: bool,
}

/// `true` when there is no journal thread to advance the durable sequence number any more.
#[inline]
fn journal_gone(j: Option<&Producer<JournalEntry>>) -> bool {
    j.is_none_or(|j| j.is_abandoned())
}

/// Publish the pending market-data events whose commands are durable, oldest first.
///
/// `complete` is the last command the engine has finished; afterwards every market-data event
/// of the commands up to `complete` and before the first event still held is in the ring, which
/// is published for the consumer ([`MdProgress`]). With nothing pending, the journal's durable
/// line is not read.
#[inline]
fn release_md(
    pending: &mut VecDeque<Event>,
    durable: &AtomicU64,
    md: &mut Producer<Event>,
    report: &mut RuntimeReport,
    control: &Control,
    complete: u64,
) {
    if !pending.is_empty() {
        let d = durable.load(Ordering::Acquire);
        while let Some(ev) = pending.front() {
            if ev.cmd_seq > d {
                break;
            }
            if Router::deliver(md, ev, report, control) {
                report.md_events += 1;
            }
            pending.pop_front();
        }
    }
    // Pending events are in order: everything before the first one still held is in the ring.
    let held = pending.front().map_or(u64::MAX, |e| e.cmd_seq - 1);
    md_done(control, held.min(complete));
}

/// Publish `seq` as the market-data completeness counter (monotonic; no store when unchanged).
#[inline]
fn md_done(control: &Control, seq: u64) {
    if seq > control.md_done.load(Ordering::Relaxed) {
        control.md_done.store(seq, Ordering::Release);
    }
}

impl Router<'_> {
    #[inline]
    fn deliver(
        tx: &mut impl EventTx,
        ev: &Event,
        report: &mut RuntimeReport,
        control: &Control,
    ) -> bool {
        let mut stalled = false;
        let mut e = *ev;
        loop {
            match tx.push(e) {
                Ok(()) => return true,
                Err(PushError::Abandoned(_)) => {
                    report.undeliverable += 1;
                    return false;
                }
                Err(PushError::Full(back)) => {
                    if !stalled {
                        report.outbound_stalls += 1;
                        stalled = true;
                    }
                    // A consumer that never drains would hold the engine forever; on stop we give
                    // up on that session (counted) rather than hang shutdown.
                    if control.stop.load(Ordering::Relaxed) && tx.gone() {
                        report.undeliverable += 1;
                        return false;
                    }
                    e = back;
                    std::hint::spin_loop();
                }
            }
        }
    }

    #[inline]
    fn publish_md(&mut self, ev: &Event) {
        let Some(md) = self.md.as_deref_mut() else {
            return;
        };
        let Some(gate) = self.md_gate else {
            if Router::deliver(md, ev, self.report, self.control) {
                self.report.md_events += 1;
            }
            self.md_pushed = true;
            return;
        };
        // Sync mode: the event's command was pushed to the journal before it was applied, so
        // the durable sequence number reaches it without the engine's help; the engine only
        // waits (spins) when the pending queue is full.
        let complete = ev.cmd_seq.saturating_sub(1);
        release_md(
            self.md_pending,
            gate,
            md,
            self.report,
            self.control,
            complete,
        );
        let mut stalled = false;
        while self.md_pending.len() >= self.md_limit.max(1) {
            if journal_gone(self.journal) {
                // Never durable: drop the oldest (counted), rather than stall forever.
                self.md_pending.pop_front();
                self.report.undeliverable += 1;
                break;
            }
            if !stalled {
                self.report.md_gate_stalls += 1;
                stalled = true;
            }
            std::hint::spin_loop();
            release_md(
                self.md_pending,
                gate,
                md,
                self.report,
                self.control,
                complete,
            );
        }
        self.md_pending.push_back(*ev);
    }
}

/// Publish the staged events to `tx` (as few runs as the ring's free space allows; spins,
/// counted as a stall, while the ring is full; drops only if the session is gone).
#[inline]
fn flush(stage: &mut Vec<Event>, tx: &mut seq::Producer<Event>, report: &mut RuntimeReport) {
    let mut off = 0;
    let mut stalled = false;
    while off < stage.len() {
        let n = tx.push_slice(&stage[off..]);
        off += n;
        if n == 0 {
            if tx.is_abandoned() {
                report.undeliverable += (stage.len() - off) as u64;
                break;
            }
            if !stalled {
                report.outbound_stalls += 1;
                stalled = true;
            }
            std::hint::spin_loop();
        }
    }
    report.events += off as u64;
    stage.clear();
}

impl EventSink for Router<'_> {
    #[inline]
    fn on_event(&mut self, ev: &Event) {
        if self.direct {
            if let Some(tx) = self.outbound.get_mut(self.from)
                && Router::deliver(tx, ev, self.report, self.control)
            {
                self.report.events += 1;
            }
        } else {
            if self.stage.len() == self.stage.capacity() {
                flush(self.stage, &mut self.outbound[self.from], self.report);
            }
            self.stage.push(*ev);
        }
        match ev.kind {
            EventKind::Trade { maker_account, .. } => {
                let o = self
                    .owner
                    .get(maker_account.0 as usize)
                    .copied()
                    .unwrap_or(u16::MAX);
                if o != u16::MAX
                    && o as usize != self.from
                    && let Some(tx) = self.outbound.get_mut(o as usize)
                    && Router::deliver(tx, ev, self.report, self.control)
                {
                    self.report.events += 1;
                }
                self.publish_md(ev);
            }
            ref k if is_market_data(k) => self.publish_md(ev),
            _ => {}
        }
    }
}

impl Worker {
    fn run(&mut self, control: &Control) {
        let n = self.inbound.len();
        let mut start = 0usize;
        let Worker {
            engine,
            inbound,
            outbound,
            md,
            owner,
            report,
            batch,
            stage,
            journal,
            md_gate,
            md_pending,
            md_limit,
            snap,
        } = self;
        let md_gate = md_gate.as_deref();
        loop {
            let mut did = 0usize;
            for k in 0..n {
                let i = if start + k < n {
                    start + k
                } else {
                    start + k - n
                };
                let mut turn = 0usize;
                let taken = inbound[i].read_batch(*batch, |cmd| {
                    if let CommandKind::New(o) = &cmd.kind
                        && let Some(slot) = owner.get_mut(o.account.0 as usize)
                    {
                        *slot = i as u16;
                    }
                    report.commands += 1;
                    if let Some(j) = journal.as_mut() {
                        // Write-ahead: the command goes to the journal ring, stamped as the
                        // engine is about to stamp it, before it is applied.
                        let (seq, time) = engine.next_stamp(&cmd);
                        journal_push(j, JournalEntry::new(seq, Command { time, ..cmd }), report);
                    }
                    let mut router = Router {
                        from: i,
                        direct: turn == 0,
                        outbound,
                        md: md.as_mut(),
                        owner,
                        report,
                        control,
                        stage,
                        md_gate,
                        md_pending,
                        md_limit: *md_limit,
                        journal: journal.as_ref(),
                        md_pushed: false,
                    };
                    engine.process(&cmd, &mut router);
                    if router.md_pushed {
                        // Every market-data event of this command is in the ring now.
                        md_done(control, engine.cmd_seq());
                    }
                    if let Some(t) = snap.as_mut() {
                        t.after_command(engine);
                    }
                    turn += 1;
                });
                if !stage.is_empty() {
                    flush(stage, &mut outbound[i], report);
                }
                did += taken;
            }
            start = if start + 1 < n { start + 1 } else { 0 };
            if let (Some(g), Some(tx)) = (md_gate, md.as_mut()) {
                release_md(md_pending, g, tx, report, control, engine.cmd_seq());
            }
            if did == 0 {
                if control.mode.load(Ordering::Acquire) == MODE_PINGPONG {
                    pingpong(control);
                    continue;
                }
                if control.stop.load(Ordering::Acquire) {
                    // Drain: one more full pass found nothing, so every ring is empty. In sync
                    // mode, market data still waiting for the journal is released first.
                    if let (Some(g), Some(tx)) = (md_gate, md.as_mut()) {
                        let complete = engine.cmd_seq();
                        while !md_pending.is_empty() {
                            release_md(md_pending, g, tx, report, control, complete);
                            if journal_gone(journal.as_ref()) {
                                release_md(md_pending, g, tx, report, control, complete);
                                report.undeliverable += md_pending.len() as u64;
                                md_pending.clear();
                            }
                            std::hint::spin_loop();
                        }
                    }
                    break;
                }
                // A PAUSE between polls (~50 ns on the EPYC guests here): polling flat out
                // measured no faster (p50 within noise), and a poller without it keeps pulling
                // the line the producer is writing (the ping-pong floor rose ~10% without it).
                std::hint::spin_loop();
            }
        }
    }
}

/// Push one entry into the journal ring; while it is full, spin (back-pressure, counted once
/// per command). If the journal thread has gone (an I/O error stopped it), the entry is counted
/// as unrecorded.
#[inline]
fn journal_push(tx: &mut Producer<JournalEntry>, entry: JournalEntry, report: &mut RuntimeReport) {
    let mut e = entry;
    let mut stalled = false;
    loop {
        match tx.try_push(e) {
            Ok(()) => return,
            Err(PushError::Abandoned(_)) => {
                report.journal_unrecorded += 1;
                return;
            }
            Err(PushError::Full(back)) => {
                if !stalled {
                    report.journal_stalls += 1;
                    stalled = true;
                }
                e = back;
                std::hint::spin_loop();
            }
        }
    }
}

/// Answer ping-pongs until the mode goes back to run.
fn pingpong(c: &Control) {
    c.pp_ready.store(1, Ordering::Release);
    let mut last = c.pong.load(Ordering::Relaxed);
    while c.mode.load(Ordering::Relaxed) == MODE_PINGPONG {
        let v = c.ping.load(Ordering::Acquire);
        if v != last {
            c.pong.store(v, Ordering::Release);
            last = v;
        }
        std::hint::spin_loop();
    }
    // Leave pong equal to the last ping so the next probe starts from it.
    let v = c.ping.load(Ordering::Acquire);
    c.pong.store(v, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session over hand-made rings whose gate is a counter the test moves.
    fn gated() -> (Session, seq::Producer<Event>, Arc<AtomicU64>) {
        let (tx, _crx) = seq::channel::<Command>(8);
        let (etx, erx) = seq::channel::<Event>(64);
        let durable = Arc::new(AtomicU64::new(0));
        let control = Arc::new(Control::new());
        let s = Session {
            id: 0,
            tx,
            rx: erx,
            control,
            gate: Some(Arc::clone(&durable)),
            held: VecDeque::new(),
        };
        (s, etx, durable)
    }

    fn ev(seq: u64, cmd_seq: u64) -> Event {
        Event {
            seq,
            cmd_seq,
            ..blank_event()
        }
    }

    #[test]
    fn poll_holds_events_until_their_command_is_durable() {
        let (mut s, mut tx, durable) = gated();
        for (seq, cmd) in [(1, 1), (2, 1), (3, 2), (4, 3)] {
            tx.try_push(ev(seq, cmd)).unwrap();
        }
        assert_eq!(s.poll(), None);
        assert_eq!(s.held(), 1);
        assert_eq!(s.poll(), None, "still not durable");
        durable.store(1, Ordering::Release);
        assert_eq!(s.poll().map(|e| e.seq), Some(1));
        assert_eq!(s.poll().map(|e| e.seq), Some(2));
        assert_eq!(s.poll(), None);
        assert_eq!(s.held(), 1, "event 3 (cmd 2) is held");
        durable.store(3, Ordering::Release);
        assert_eq!(s.poll().map(|e| e.seq), Some(3));
        assert_eq!(s.poll().map(|e| e.seq), Some(4));
        assert_eq!(s.poll(), None);
        assert_eq!(s.held(), 0);
        assert_eq!(s.durable_seq(), Some(3));
    }

    #[test]
    fn poll_batch_returns_only_the_durable_prefix_in_order() {
        let (mut s, mut tx, durable) = gated();
        for (seq, cmd) in [(1, 1), (2, 2), (3, 2), (4, 3), (5, 4)] {
            tx.try_push(ev(seq, cmd)).unwrap();
        }
        let mut out = [blank_event(); 8];
        durable.store(1, Ordering::Release);
        assert_eq!(s.poll_batch(&mut out), 1);
        assert_eq!(out[0].seq, 1);
        assert_eq!(s.held(), 4);
        assert_eq!(s.poll_batch(&mut out), 0);
        // A later event in the ring is not taken while older ones are held.
        tx.try_push(ev(6, 5)).unwrap();
        durable.store(2, Ordering::Release);
        assert_eq!(s.poll_batch(&mut out[..1]), 1);
        assert_eq!(out[0].seq, 2);
        assert_eq!(s.poll_batch(&mut out), 1);
        assert_eq!(out[0].seq, 3);
        assert_eq!(s.poll_batch(&mut out), 0);
        durable.store(u64::MAX, Ordering::Release);
        let n = s.poll_batch(&mut out);
        assert_eq!(out[..n].iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
        let n = s.poll_batch(&mut out);
        assert_eq!(out[..n].iter().map(|e| e.seq).collect::<Vec<_>>(), [6]);
        assert_eq!(s.held(), 0);
    }

    fn one_command_engine() -> Engine {
        let mut e = Engine::new(crate::EngineConfig::single(
            ferrex_book::BookConfig::default(),
        ))
        .unwrap();
        e.process(&Command::new(1, CommandKind::Risk(noop_control())), &mut ());
        e
    }

    #[test]
    fn snapshots_skip_when_both_buffers_are_busy_and_wait_for_the_journal() {
        let shared = Arc::new(SnapShared::new());
        let mut taker = SnapTaker {
            shared: Arc::clone(&shared),
            every: 1,
            report: SnapshotReport::default(),
        };
        let engine = one_command_engine();
        for _ in 0..3 {
            taker.after_command(&engine);
        }
        assert_eq!((taker.report.taken, taker.report.skipped), (2, 1));
        // Not a multiple of `every`: nothing taken.
        taker.every = 2;
        taker.after_command(&engine);
        assert_eq!(taker.report.taken + taker.report.skipped, 3);
        // The journal never covered seq 1: on stop both are dropped, never written.
        let dir = std::env::temp_dir().join(format!("ferrex-rt-snapunit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        shared.stop.store(true, Ordering::Release);
        let r = snapshot_writer(&shared, &dir, &AtomicU64::new(0));
        assert_eq!((r.written, r.failed), (0, 2));
        assert!(!dir.exists());
        // Buffers are free again; with the journal durable the next one is written.
        taker.every = 1;
        taker.after_command(&engine);
        let r = snapshot_writer(&shared, &dir, &AtomicU64::new(1));
        assert_eq!((r.written, r.failed, r.last_seq), (1, 0, 1));
        let bytes = std::fs::read(dir.join(ferrex_journal::snapshot::snapshot_name(1))).unwrap();
        assert_eq!(bytes.len() as u64, r.last_bytes);
        let mut restored = Engine::new(crate::EngineConfig::single(
            ferrex_book::BookConfig::default(),
        ))
        .unwrap();
        restored.restore_from(&bytes).unwrap();
        assert_eq!(restored.state_hash(), engine.state_hash());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_a_gate_events_pass_at_once() {
        let (mut s, mut tx, _durable) = gated();
        s.gate = None;
        tx.try_push(ev(1, 9)).unwrap();
        assert_eq!(s.poll().map(|e| e.seq), Some(1));
        assert_eq!(s.durable_seq(), None);
    }
}
