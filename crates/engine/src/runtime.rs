//! The threaded runtime: producer sessions → one SPSC ring each → the engine thread (pinned,
//! busy-polling) → one outbound ring per session, plus an optional market-data ring.
//!
//! - **Fair**: the engine takes at most `batch` commands from one ring before it moves to the
//!   next, round-robin, so one busy producer cannot starve another.
//! - **Back-pressure, never loss**: a full inbound ring makes [`Session::submit`] return
//!   [`SubmitError::Full`] with the command; a full outbound ring stalls the engine (it spins
//!   until the consumer makes room) and the stall is counted in the [`RuntimeReport`].
//! - **Routing**: every event of a command goes to the session that sent it; a trade also goes to
//!   the session that owns the maker's account (the session that last sent an order for that
//!   account). Trades and level changes also go to the market-data ring when there is one.
//! - **Pinning**: the engine thread is pinned to `engine_core` with `core_affinity`; where that
//!   core does not exist it runs unpinned and [`PinStatus`] says so.
//! - **Floor probe**: [`Session::floor_rtt_ns`] measures a cache-line ping-pong between the
//!   caller's thread and the engine thread itself (the same two cores as the pipeline), so
//!   `ferrex bench` can interleave floor and pipeline samples.

use crate::Engine;
use crossbeam_utils::CachePadded;
use ferrex_ring::{Consumer, Producer, PushError, channel};
use ferrex_types::{AccountId, Command, CommandKind, Event, EventKind, EventSink};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

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
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            engine_core: Some(0),
            ring_capacity: 1 << 14,
            md_capacity: 0,
            batch: 64,
            max_accounts: 1 << 16,
        }
    }
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
}

/// One producer's end: submit commands, read back its events.
pub struct Session {
    id: usize,
    tx: Producer<Command>,
    rx: Consumer<Event>,
    control: Arc<Control>,
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

    /// Submit as many of `cmds` as fit, published at once; returns how many went in.
    #[inline]
    pub fn submit_batch(&mut self, cmds: &[Command]) -> usize {
        self.tx.push_slice(cmds)
    }

    /// The next event for this session, if any.
    #[inline]
    pub fn poll(&mut self) -> Option<Event> {
        self.rx.try_pop()
    }

    /// Move up to `out.len()` waiting events into `out` (one publish); returns how many.
    #[inline]
    pub fn poll_batch(&mut self, out: &mut [Event]) -> usize {
        self.rx.pop_into(out)
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

/// What [`Runtime::start`] returns: the handle, one session per producer, and the market-data
/// consumer when a market-data ring was asked for.
pub type Started = (Runtime, Vec<Session>, Option<Consumer<Event>>);

/// Handle to the running engine thread.
pub struct Runtime {
    join: Option<JoinHandle<(Engine, RuntimeReport)>>,
    control: Arc<Control>,
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
        let control = Arc::new(Control {
            stop: AtomicBool::new(false),
            mode: CachePadded::new(AtomicU32::new(MODE_RUN)),
            pp_ready: CachePadded::new(AtomicU32::new(0)),
            ping: CachePadded::new(AtomicU64::new(0)),
            pong: CachePadded::new(AtomicU64::new(0)),
            pin: AtomicU32::new(u32::MAX),
        });
        let mut inbound = Vec::with_capacity(sessions);
        let mut outbound = Vec::with_capacity(sessions);
        let mut handles = Vec::with_capacity(sessions);
        for id in 0..sessions {
            let (mut ctx, mut crx) = channel::<Command>(cfg.ring_capacity);
            let (mut etx, mut erx) = channel::<Event>(cfg.ring_capacity);
            warm(
                &mut ctx,
                &mut crx,
                Command::new(0, CommandKind::Risk(noop_control())),
            );
            warm(&mut etx, &mut erx, blank_event());
            inbound.push(crx);
            outbound.push(etx);
            handles.push(Session {
                id,
                tx: ctx,
                rx: erx,
                control: Arc::clone(&control),
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
                };
                ferrex_types::prefault(&mut worker.stage);
                worker.run(&ctl);
                (worker.engine, worker.report)
            })
            .map_err(RuntimeError::Spawn)?;
        Ok((
            Runtime {
                join: Some(join),
                control,
            },
            handles,
            md_rx,
        ))
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

    /// Stop: the engine drains what is left in the inbound rings (whose sessions still read
    /// their events, or have been dropped), exits, and is joined. Returns the engine (for
    /// inspection) and the counters.
    pub fn stop(mut self) -> (Engine, RuntimeReport) {
        self.control.stop.store(true, Ordering::Release);
        let join = self.join.take().expect("joined once");
        join.join().expect("engine thread panicked")
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(j) = self.join.take() {
            self.control.stop.store(true, Ordering::Release);
            let _ = j.join();
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
        },
    }
}

/// Touch every slot of a fresh ring (fill it, then empty it) so the engine never page-faults.
fn warm<T: Copy>(tx: &mut Producer<T>, rx: &mut Consumer<T>, v: T) {
    while tx.try_push(v).is_ok() {}
    while rx.try_pop().is_some() {}
}

struct Worker {
    engine: Engine,
    inbound: Vec<Consumer<Command>>,
    outbound: Vec<Producer<Event>>,
    md: Option<Producer<Event>>,
    /// account id → session index that last sent an order for it (u16::MAX: none).
    owner: Vec<u16>,
    report: RuntimeReport,
    batch: usize,
    /// Events for the session being served, published to its ring once per turn.
    stage: Vec<Event>,
}

/// Events staged per turn before one publish (preallocated; flushed early when full).
const STAGE: usize = 4096;

/// Routes one command's events: to its session (staged), to the maker's session and to market
/// data (directly).
struct Router<'a> {
    from: usize,
    outbound: &'a mut [Producer<Event>],
    md: Option<&'a mut Producer<Event>>,
    owner: &'a [u16],
    report: &'a mut RuntimeReport,
    control: &'a Control,
    stage: &'a mut Vec<Event>,
}

impl Router<'_> {
    #[inline]
    fn deliver(
        tx: &mut Producer<Event>,
        ev: &Event,
        report: &mut RuntimeReport,
        control: &Control,
    ) -> bool {
        let mut stalled = false;
        let mut e = *ev;
        loop {
            match tx.try_push(e) {
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
                    if control.stop.load(Ordering::Relaxed) && tx.is_abandoned() {
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
        if let Some(md) = self.md.as_deref_mut()
            && Router::deliver(md, ev, self.report, self.control)
        {
            self.report.md_events += 1;
        }
    }
}

/// Publish the staged events to `tx` (as few publishes as the ring's free space allows; spins,
/// counted as a stall, while the ring is full; drops only if the session is gone).
#[inline]
fn flush(stage: &mut Vec<Event>, tx: &mut Producer<Event>, report: &mut RuntimeReport) {
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
        if self.stage.len() == self.stage.capacity() {
            flush(self.stage, &mut self.outbound[self.from], self.report);
        }
        self.stage.push(*ev);
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
            EventKind::LevelChanged { .. } => self.publish_md(ev),
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
        } = self;
        loop {
            let mut did = 0usize;
            for k in 0..n {
                let i = (start + k) % n;
                let taken = inbound[i].read_batch(*batch, |cmd| {
                    if let CommandKind::New(o) = &cmd.kind
                        && let Some(slot) = owner.get_mut(o.account.0 as usize)
                    {
                        *slot = i as u16;
                    }
                    report.commands += 1;
                    let mut router = Router {
                        from: i,
                        outbound,
                        md: md.as_mut(),
                        owner,
                        report,
                        control,
                        stage,
                    };
                    engine.process(&cmd, &mut router);
                });
                if !stage.is_empty() {
                    flush(stage, &mut outbound[i], report);
                }
                did += taken;
            }
            start = (start + 1) % n;
            if did == 0 {
                if control.mode.load(Ordering::Acquire) == MODE_PINGPONG {
                    pingpong(control);
                    continue;
                }
                if control.stop.load(Ordering::Acquire) {
                    // Drain: one more full pass found nothing, so every ring is empty.
                    break;
                }
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
