//! `ferrex bench`: order→ack latency through the real threaded pipeline (producer thread →
//! SPSC ring → pinned engine thread → SPSC ring back), in nanoseconds, beside the machine's own
//! core-to-core floor measured on the same two threads in the same run.
//!
//! - Open loop (`--rate R`, default 1,000,000/s): command i is due at `start + i/R`; its latency
//!   is measured from that *intended* time, so a stall delays every later command's latency
//!   too (no coordinated omission). The producer reads its events one at a time and reads the
//!   clock the moment an acknowledgement is popped.
//! - Clock: the calibrated time-stamp counter ([`ferrex_ring::clock::Clock`], ~10 ns a read)
//!   where it is invariant, else `Instant` (~35-40 ns here); `--instant-clock` forces `Instant`.
//! - Closed loop (`--closed-loop`): the producer keeps the ring full in batches; throughput is
//!   the figure, latency is measured from the batch's submit time.
//! - Floor: before each of `--segments` segments the producer drains its acks and runs 1,000
//!   cache-line ping-pongs with the engine thread itself; the floor is the median segment.
//! - Journal (`--durability none|batch|sync`, `--journal DIR`): the runtime journals every
//!   command through its journal thread (group commit); the same flow is first run without a
//!   journal, and the latency the journal adds to the ack path is printed beside that baseline,
//!   with the journal's throughput (records/s, MB/s over the run's busy time). In `sync` mode an
//!   ack is released only once its command is fdatasync'ed, so the added latency is the group
//!   commit's. Without `--journal` the journal goes to a temp dir removed after the run.
//!   With `--snapshot-every N` the engine thread also snapshots itself every N commands; the
//!   snapshots written / skipped and the engine's pause per snapshot (the serialize copy) are
//!   printed.

use crate::flow::{self, Mix};
use anyhow::{Context, bail};
use clap::Args;
use ferrex_book::BookConfig;
use ferrex_engine::{
    Durability, Engine, EngineConfig, JournalConfig, PinStatus, Runtime, RuntimeConfig,
    RuntimeReport, Session, SubmitError, pin_current,
};
use ferrex_ring::clock::Clock;
use ferrex_types::Command;
use hdrhistogram::Histogram;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Options of `ferrex bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Commands to send (per run; in `--sweep`, per rate).
    #[arg(long, default_value_t = 2_000_000)]
    pub orders: usize,
    /// Offered rate in commands per second (open loop). Default 1,000,000.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Closed loop: send as fast as the pipeline takes them (throughput mode).
    #[arg(long, conflicts_with = "rate")]
    pub closed_loop: bool,
    /// Run a series of offered rates and print latency against load.
    #[arg(long)]
    pub sweep: bool,
    /// Producer threads (each with its own ring). These machines have 2 cores: default 1.
    #[arg(long, default_value_t = 1)]
    pub producers: usize,
    /// Core for the engine thread.
    #[arg(long, default_value_t = 0)]
    pub engine_core: usize,
    /// Core for the (first) producer thread.
    #[arg(long, default_value_t = 1)]
    pub producer_core: usize,
    /// Do not pin any thread.
    #[arg(long)]
    pub no_pin: bool,
    /// Seed of the generated order flow.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Closed-loop submit batch size; also the most commands the engine takes from one ring per
    /// turn.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Slots per command ring and per event ring (rounded up to a power of two). The closed
    /// loop wants at least two `--batch` worth. (1024 vs 16384 measured the same here, p50 and
    /// closed-loop throughput within noise.)
    #[arg(long, default_value_t = 1 << 14)]
    pub ring_capacity: usize,
    /// Time with `Instant::now()` (a vDSO call, ~35-40 ns here) instead of the calibrated
    /// time-stamp counter (~10 ns), e.g. to see what the clock itself adds to each sample.
    #[arg(long)]
    pub instant_clock: bool,
    /// Segments (floor samples are taken between them; one hlog interval each).
    #[arg(long, default_value_t = 20)]
    pub segments: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also time the same flow through the engine alone (no threads, no rings): the
    /// pipeline's ceiling.
    #[arg(long)]
    pub engine_only: bool,
    /// Write an HdrHistogram interval log.
    #[arg(long)]
    pub hlog: Option<PathBuf>,
    /// Draw the percentile distribution (and, with --sweep, latency vs load) to a PNG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Journal every command in this durability mode (none: no fdatasync; batch: one
    /// fdatasync per batch, acks not gated; sync: acks released only once synced), and print
    /// the latency added beside a no-journal baseline run of the same flow.
    #[arg(long, value_enum)]
    pub durability: Option<DurabilityArg>,
    /// Journal directory (new or empty; with --sweep one subdirectory per rate). Default: a
    /// temp dir removed after the run. Implies `--durability batch` if no mode is given.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// With a journal: the engine thread takes a snapshot every N commands (written next to
    /// the journal by a snapshot thread) and the pauses it cost are reported. 0 = none.
    #[arg(long, default_value_t = 0)]
    pub snapshot_every: u64,
}

/// `--durability` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurabilityArg {
    /// Journal without fdatasync.
    None,
    /// One fdatasync per batch; acks may precede it.
    Batch,
    /// One fdatasync per batch; acks released only once synced.
    Sync,
}

impl DurabilityArg {
    /// The journal mode.
    pub fn mode(self) -> Durability {
        match self {
            DurabilityArg::None => Durability::None,
            DurabilityArg::Batch => Durability::Batch,
            DurabilityArg::Sync => Durability::Sync,
        }
    }
}

/// Name of a durability mode as on the command line.
pub fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::None => "none",
        Durability::Batch => "batch",
        Durability::Sync => "sync",
    }
}

/// A journal directory for one bench run: removed on drop unless the user named it.
struct JournalDir {
    path: PathBuf,
    remove: bool,
}

impl JournalDir {
    /// The directory for run `tag` (`""`: the single run).
    fn new(args: &BenchArgs, tag: &str) -> JournalDir {
        match &args.journal {
            Some(p) if tag.is_empty() => JournalDir {
                path: p.clone(),
                remove: false,
            },
            Some(p) => JournalDir {
                path: p.join(tag),
                remove: false,
            },
            None => {
                let path = std::env::temp_dir().join(format!(
                    "ferrex-bench-journal-{}-{}",
                    std::process::id(),
                    if tag.is_empty() { "run" } else { tag }
                ));
                let _ = std::fs::remove_dir_all(&path);
                JournalDir { path, remove: true }
            }
        }
    }
}

impl Drop for JournalDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The durability mode asked for (`--journal` alone means batch).
fn durability_of(args: &BenchArgs) -> Option<Durability> {
    match (args.durability, &args.journal) {
        (Some(d), _) => Some(d.mode()),
        (None, Some(_)) => Some(Durability::Batch),
        (None, None) => None,
    }
}

/// One run's result.
pub struct RunResult {
    /// Offered rate (None: closed loop).
    pub rate: Option<f64>,
    /// All latencies (ns).
    pub hist: Histogram<u64>,
    /// Per-segment latencies (hlog intervals) with their start offsets.
    pub intervals: Vec<(Duration, Duration, Histogram<u64>)>,
    /// Commands sent.
    pub orders: u64,
    /// Time spent sending and receiving (floor probes excluded).
    pub busy: Duration,
    /// Floor samples (ns per round trip).
    pub floor: Vec<f64>,
    /// Engine thread counters.
    pub report: RuntimeReport,
    /// Producer pinning.
    pub producer_pin: PinStatus,
    /// Commands that found the inbound ring full at least once.
    pub full_retries: u64,
    /// Journal mode and directory, when the run journaled.
    pub journal: Option<(Durability, PathBuf)>,
    /// `true` when latencies were timed with the time-stamp counter (else `Instant`).
    pub tsc_clock: bool,
}

impl RunResult {
    /// Achieved throughput (commands per second of busy time).
    pub fn throughput(&self) -> f64 {
        self.orders as f64 / self.busy.as_secs_f64().max(1e-9)
    }
    /// Median floor sample.
    pub fn floor_median(&self) -> f64 {
        median(&self.floor)
    }
    /// Journal throughput over the busy time: (records/s, MB/s), when the run journaled.
    pub fn journal_throughput(&self) -> Option<(f64, f64)> {
        let j = self.report.journal.as_ref()?;
        let secs = self.busy.as_secs_f64().max(1e-9);
        Some((j.records as f64 / secs, j.bytes as f64 / secs / 1e6))
    }
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn new_hist() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("static bounds are valid")
}

fn blank_event() -> ferrex_types::Event {
    ferrex_types::Event {
        seq: 0,
        cmd_seq: 0,
        time: 0,
        kind: ferrex_types::EventKind::Expired {
            order_id: ferrex_types::OrderId(0),
            account: ferrex_types::AccountId(0),
            instrument: ferrex_types::InstrumentId(0),
            qty: ferrex_types::Qty(0),
            side: ferrex_types::Side::Buy,
            price: ferrex_types::Price(0),
        },
    }
}

fn bench_engine() -> anyhow::Result<Engine> {
    Ok(Engine::new(EngineConfig::single(BookConfig {
        max_orders: 1 << 20,
        dense_levels: 1 << 12,
        level_events: false,
        ..BookConfig::default()
    }))?)
}

struct Producer<'a> {
    session: &'a mut Session,
    clock: Clock,
    /// Read events one at a time (open loop) rather than in batches (closed loop).
    one_by_one: bool,
    pending: VecDeque<(u64, u64)>,
    hist: Histogram<u64>,
    seg: Histogram<u64>,
    buf: Vec<ferrex_types::Event>,
}

impl Producer<'_> {
    #[inline]
    fn now(&self) -> u64 {
        self.clock.now_ns()
    }

    /// Read every event waiting; record the latency of each acknowledgement.
    #[inline]
    fn poll(&mut self) {
        if self.one_by_one {
            self.poll_one_by_one();
        } else {
            self.poll_batched();
        }
    }

    /// Open loop: one event at a time, and the clock is read the moment an acknowledgement is
    /// popped. A batch read would first probe the slot after it, which the engine may be
    /// writing at that moment (the probe then waits for that line to cross the cores), and
    /// that wait would be counted in the acknowledgement's latency.
    #[inline]
    fn poll_one_by_one(&mut self) {
        while let Some(e) = self.session.poll() {
            if let Some(&(id, t)) = self.pending.front()
                && flow::is_ack(&e, id)
            {
                let lat = self.now().saturating_sub(t).max(1);
                let _ = self.hist.record(lat);
                let _ = self.seg.record(lat);
                self.pending.pop_front();
            }
        }
    }

    /// Closed loop: in batches (the throughput figure), one clock read per batch.
    #[inline]
    fn poll_batched(&mut self) {
        let mut now = 0u64;
        loop {
            let n = self.session.poll_batch(&mut self.buf);
            if n == 0 {
                return;
            }
            for e in &self.buf[..n] {
                if let Some(&(id, t)) = self.pending.front()
                    && flow::is_ack(e, id)
                {
                    if now == 0 {
                        now = self.now();
                    }
                    let lat = now.saturating_sub(t).max(1);
                    let _ = self.hist.record(lat);
                    let _ = self.seg.record(lat);
                    self.pending.pop_front();
                }
            }
        }
    }

    fn drain(&mut self) -> anyhow::Result<()> {
        let t0 = Instant::now();
        while !self.pending.is_empty() {
            self.poll();
            if t0.elapsed() > Duration::from_secs(10) {
                bail!(
                    "no acknowledgement for 10 s with {} commands outstanding",
                    self.pending.len()
                );
            }
        }
        Ok(())
    }

    fn submit(&mut self, cmd: Command, t: u64, full: &mut u64) -> anyhow::Result<()> {
        let mut c = cmd;
        let mut counted = false;
        loop {
            match self.session.submit(c) {
                Ok(()) => {
                    self.pending.push_back((flow::ack_id(&cmd), t));
                    return Ok(());
                }
                Err(SubmitError::Full(back)) => {
                    if !counted {
                        *full += 1;
                        counted = true;
                    }
                    c = back;
                    self.poll();
                }
                Err(SubmitError::EngineGone(_)) => bail!("engine thread stopped"),
            }
        }
    }
}

/// Run one configuration.
pub fn run_once(
    args: &BenchArgs,
    rate: Option<f64>,
    progress: Option<Arc<AtomicU64>>,
    journal: Option<JournalConfig>,
) -> anyhow::Result<RunResult> {
    let producers = args.producers.max(1);
    let cfg = RuntimeConfig {
        engine_core: if args.no_pin {
            None
        } else {
            Some(args.engine_core)
        },
        ring_capacity: args.ring_capacity.max(1),
        md_capacity: 0,
        batch: args.batch.max(1),
        max_accounts: 1 << 16,
        journal: journal.clone(),
    };
    let (rt, sessions, _md) = Runtime::start(bench_engine()?, producers, &cfg)
        .context("starting the runtime (a --journal directory must be new or empty)")?;
    let clock = if args.instant_clock {
        Clock::instant()
    } else {
        Clock::new()
    };
    let base = Instant::now();
    let per = args.orders / producers;
    let segments = args.segments.max(1);
    let mut threads = Vec::new();
    for (k, mut session) in sessions.into_iter().enumerate() {
        let cmds = flow::generate(
            per,
            args.seed.wrapping_add(k as u64),
            1 + (k as u64) * 1_000_000_000,
            1 + 8 * k as u32,
            Mix::default(),
        );
        let core = if args.no_pin {
            None
        } else {
            Some(args.producer_core)
        };
        let progress = progress.clone();
        let batch = args.batch.max(1);
        let rate_each = rate.map(|r| r / producers as f64);
        threads.push(std::thread::spawn(move || -> anyhow::Result<_> {
            let pin = pin_current(core);
            let mut p = Producer {
                session: &mut session,
                clock,
                one_by_one: rate_each.is_some(),
                pending: VecDeque::with_capacity(1 << 16),
                hist: new_hist(),
                seg: new_hist(),
                buf: vec![blank_event(); 256],
            };
            let mut floor = Vec::new();
            let mut intervals = Vec::new();
            let mut busy = Duration::ZERO;
            let mut full = 0u64;
            let seg_len = cmds.len().div_ceil(segments).max(1);
            for chunk in cmds.chunks(seg_len) {
                p.drain()?;
                if k == 0
                    && let Some(f) = p.session.floor_rtt_ns(1000)
                {
                    floor.push(f);
                }
                let seg_start = Instant::now();
                let s0 = p.now();
                match rate_each {
                    Some(r) => {
                        let period = 1e9 / r;
                        for (i, c) in chunk.iter().enumerate() {
                            let due = s0 + (i as f64 * period) as u64;
                            while p.now() < due {
                                p.poll();
                            }
                            p.submit(*c, due, &mut full)?;
                            p.poll();
                        }
                    }
                    None => {
                        let mut rest = chunk;
                        while !rest.is_empty() {
                            let t = p.now();
                            let n = rest.len().min(batch);
                            let sent = p.session.submit_batch(&rest[..n]);
                            if sent == 0 {
                                full += 1;
                            }
                            for c in &rest[..sent] {
                                p.pending.push_back((flow::ack_id(c), t));
                            }
                            rest = &rest[sent..];
                            p.poll();
                        }
                    }
                }
                p.drain()?;
                let seg_time = seg_start.elapsed();
                busy += seg_time;
                let h = std::mem::replace(&mut p.seg, new_hist());
                intervals.push((seg_start.duration_since(base), seg_time, h));
                if let Some(pr) = &progress {
                    pr.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
            }
            let hist = p.hist;
            Ok((hist, intervals, busy, floor, pin, full, cmds.len() as u64))
        }));
    }
    let mut hist = new_hist();
    let mut intervals = Vec::new();
    let mut busy = Duration::ZERO;
    let mut floor = Vec::new();
    let mut producer_pin = PinStatus::NotRequested;
    let mut full_retries = 0;
    let mut orders = 0;
    for (k, t) in threads.into_iter().enumerate() {
        let (h, iv, b, f, pin, full, n) = t
            .join()
            .map_err(|_| anyhow::anyhow!("producer thread panicked"))??;
        hist.add(&h).context("merging histograms")?;
        if k == 0 {
            intervals = iv;
            floor = f;
            producer_pin = pin;
        }
        busy = busy.max(b);
        full_retries += full;
        orders += n;
    }
    let (_engine, report) = rt.stop();
    if let Some(e) = report.journal.as_ref().and_then(|j| j.error.as_ref()) {
        bail!("the journal thread failed: {e}");
    }
    Ok(RunResult {
        rate,
        hist,
        intervals,
        orders,
        busy,
        floor,
        report,
        producer_pin,
        full_retries,
        journal: journal.map(|j| (j.durability, j.dir)),
        tsc_clock: clock.is_tsc(),
    })
}

fn pct(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64
}

/// The JSON object of one run (the shape plus context fields).
pub fn json_of(r: &RunResult) -> serde_json::Value {
    let h = &r.hist;
    let floor = r.floor_median();
    serde_json::json!({
        "orders": r.orders,
        "mode": if r.rate.is_some() { "open_loop" } else { "closed_loop" },
        "offered_rate_per_sec": r.rate,
        "throughput_per_sec": r.throughput(),
        "floor_rtt_ns": floor,
        "latency_ns": {
            "p50": pct(h, 0.5), "p90": pct(h, 0.9), "p99": pct(h, 0.99),
            "p999": pct(h, 0.999), "p9999": pct(h, 0.9999), "max": h.max() as f64,
        },
        "p50_over_floor": pct(h, 0.5) / floor,
        "clock": if r.tsc_clock { "tsc" } else { "instant" },
        "engine_pin": r.report.pin.map(|p| p.to_string()),
        "producer_pin": r.producer_pin.to_string(),
        "outbound_stalls": r.report.outbound_stalls,
        "inbound_full": r.full_retries,
        "engine_commands": r.report.commands,
        "engine_events": r.report.events,
        "durability": r.journal.as_ref().map(|(d, _)| durability_name(*d)),
        "journal": r.report.journal.as_ref().map(|j| {
            let (rps, mbps) = r.journal_throughput().unwrap_or((0.0, 0.0));
            serde_json::json!({
                "records": j.records,
                "bytes": j.bytes,
                "batches": j.batches,
                "syncs": j.syncs,
                "max_batch": j.max_batch,
                "records_per_sec": rps,
                "mb_per_sec": mbps,
                "engine_stalls": r.report.journal_stalls,
            })
        }),
        "snapshots": r.report.snapshots.as_ref().map(|s| {
            serde_json::json!({
                "taken": s.taken,
                "written": s.written,
                "skipped": s.skipped,
                "failed": s.failed,
                "last_seq": s.last_seq,
                "last_bytes": s.last_bytes,
                "max_pause_ns": s.max_pause_ns,
                "mean_pause_ns": s.total_pause_ns as f64 / s.taken.max(1) as f64,
            })
        }),
    })
}

/// Latency the journal run adds over the baseline at each percentile (ns; may be negative in
/// noise).
fn added_latency(journal: &RunResult, base: &RunResult) -> serde_json::Value {
    let (a, b) = (&journal.hist, &base.hist);
    let d = |q: f64| pct(a, q) - pct(b, q);
    serde_json::json!({
        "p50": d(0.5), "p90": d(0.9), "p99": d(0.99), "p999": d(0.999),
        "max": a.max() as f64 - b.max() as f64,
    })
}

fn print_journal(r: &RunResult, base: Option<&RunResult>) {
    let (Some((d, dir)), Some(j)) = (&r.journal, &r.report.journal) else {
        return;
    };
    let (rps, mbps) = r.journal_throughput().unwrap_or((0.0, 0.0));
    println!(
        "  journal ({}, {}): {} records, {:.1} MB in {} batches, {} fdatasync, max batch {}, mean batch {:.1}; engine waited on a full journal ring for {} commands",
        durability_name(*d),
        dir.display(),
        j.records,
        j.bytes as f64 / 1e6,
        j.batches,
        j.syncs,
        j.max_batch,
        j.records as f64 / (j.batches.max(1)) as f64,
        r.report.journal_stalls
    );
    if let Some(s) = &r.report.snapshots {
        println!(
            "  snapshots: {} taken, {} written, {} skipped (writer busy), {} failed; last at seq {} ({:.1} KB); engine pause per snapshot: max {:.1} us, mean {:.1} us{}",
            s.taken,
            s.written,
            s.skipped,
            s.failed,
            s.last_seq,
            s.last_bytes as f64 / 1e3,
            s.max_pause_ns as f64 / 1e3,
            s.total_pause_ns as f64 / 1e3 / s.taken.max(1) as f64,
            s.error
                .as_ref()
                .map_or(String::new(), |e| format!("; last error: {e}"))
        );
    }
    println!(
        "  journal throughput: {rps:.0} records/s, {mbps:.1} MB/s (over the run's busy time: {})",
        if r.rate.is_some() {
            "capped by the offered rate"
        } else {
            "closed loop, at the pipeline's pace"
        }
    );
    if let Some(b) = base {
        let (h, bh) = (&r.hist, &b.hist);
        println!(
            "  no-journal baseline, same flow: p50 {:.0}  p90 {:.0}  p99 {:.0}  p99.9 {:.0}  max {} ns",
            pct(bh, 0.5),
            pct(bh, 0.9),
            pct(bh, 0.99),
            pct(bh, 0.999),
            bh.max()
        );
        println!(
            "  latency added by the journal ({}): p50 {:+.0}  p90 {:+.0}  p99 {:+.0}  p99.9 {:+.0} ns (noisy shared machine: compare within one run)",
            durability_name(*d),
            pct(h, 0.5) - pct(bh, 0.5),
            pct(h, 0.9) - pct(bh, 0.9),
            pct(h, 0.99) - pct(bh, 0.99),
            pct(h, 0.999) - pct(bh, 0.999)
        );
    }
}

fn print_table(r: &RunResult) {
    let h = &r.hist;
    let floor = r.floor_median();
    let mode = match r.rate {
        Some(x) => format!("open loop at {:.0} commands/s", x),
        None => "closed loop".to_string(),
    };
    println!("ferrex bench: {} commands, {mode}", r.orders);
    println!(
        "  engine thread: {}; producer: {}",
        r.report.pin.map_or("?".into(), |p| p.to_string()),
        r.producer_pin
    );
    println!(
        "  core-to-core floor (cache-line ping-pong, same threads): {floor:.0} ns round trip (median of {} samples, min {:.0}, max {:.0})",
        r.floor.len(),
        r.floor.iter().copied().fold(f64::INFINITY, f64::min),
        r.floor.iter().copied().fold(0.0, f64::max)
    );
    let clock = if r.tsc_clock {
        "time-stamp counter"
    } else {
        "Instant"
    };
    if r.rate.is_some() {
        println!(
            "  order -> ack latency (ns), from each command's intended send time (clock: {clock}):"
        );
    } else {
        println!(
            "  order -> ack latency (ns); closed loop keeps the ring full, so this is mostly queueing:"
        );
    }
    println!(
        "    {:>8} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "p50", "p90", "p99", "p99.9", "p99.99", "max"
    );
    println!(
        "    {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>10}",
        pct(h, 0.5),
        pct(h, 0.9),
        pct(h, 0.99),
        pct(h, 0.999),
        pct(h, 0.9999),
        h.max()
    );
    println!(
        "  p50 / floor = {:.2}   throughput {:.0} commands/s   engine: {} commands, {} events, {} outbound stalls; inbound full {} times",
        pct(h, 0.5) / floor,
        r.throughput(),
        r.report.commands,
        r.report.events,
        r.report.outbound_stalls,
        r.full_retries
    );
}

fn with_progress<T>(total: u64, quiet: bool, f: impl FnOnce(Option<Arc<AtomicU64>>) -> T) -> T {
    if quiet || total < 500_000 {
        return f(None);
    }
    let counter = Arc::new(AtomicU64::new(0));
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} commands {elapsed}")
            .expect("static template"),
    );
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (c2, d2, b2) = (Arc::clone(&counter), Arc::clone(&done), bar.clone());
    let ticker = std::thread::spawn(move || {
        while !d2.load(Ordering::Relaxed) {
            b2.set_position(c2.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let out = f(Some(counter));
    done.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    bar.finish_and_clear();
    out
}

/// ns per command of the generated flow through the engine alone (median of 5 passes, fresh
/// prefaulted engine each).
pub fn engine_only_ns(args: &BenchArgs) -> anyhow::Result<f64> {
    let cmds = flow::generate(args.orders, args.seed, 1, 1, Mix::default());
    let mut v = Vec::new();
    for _ in 0..5 {
        let mut e = bench_engine()?;
        e.prefault();
        let mut s = ferrex_types::CountingSink::default();
        let t = Instant::now();
        e.process_all(&cmds, &mut s);
        v.push(t.elapsed().as_nanos() as f64 / cmds.len() as f64);
        std::hint::black_box(&s);
    }
    Ok(median(&v))
}

/// `ferrex bench`.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.engine_only {
        let ns = engine_only_ns(args)?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({ "engine_only_ns_per_command": ns, "orders": args.orders })
            );
        } else {
            println!(
                "engine alone (same flow, no threads or rings): {ns:.1} ns/command = {:.1} M commands/s",
                1e3 / ns
            );
        }
        return Ok(());
    }
    if args.orders == 0 {
        bail!("--orders must be at least 1");
    }
    if args.sweep {
        return sweep(args);
    }
    let rate = if args.closed_loop {
        None
    } else {
        Some(args.rate.unwrap_or(1_000_000.0))
    };
    if let Some(r) = rate
        && !(r.is_finite() && r > 0.0)
    {
        bail!("--rate must be a positive number, got {r}");
    }
    let durability = durability_of(args);
    if args.snapshot_every > 0 && durability.is_none() {
        bail!("--snapshot-every needs a journal (--durability MODE or --journal DIR)");
    }
    let jdir = durability.map(|_| JournalDir::new(args, ""));
    let base = match durability {
        Some(_) => Some(with_progress(args.orders as u64, args.json, |p| {
            run_once(args, rate, p, None)
        })?),
        None => None,
    };
    let jcfg = durability
        .zip(jdir.as_ref())
        .map(|(d, dir)| JournalConfig::new(&dir.path, d).with_snapshot_every(args.snapshot_every));
    let r = with_progress(args.orders as u64, args.json, |p| {
        run_once(args, rate, p, jcfg)
    })?;
    if args.json {
        let mut v = json_of(&r);
        if let (Some(b), Some(obj)) = (&base, v.as_object_mut()) {
            obj.insert("added_latency_ns".into(), added_latency(&r, b));
            obj.insert("baseline".into(), json_of(b));
        }
        println!("{v}");
    } else {
        print_table(&r);
        print_journal(&r, base.as_ref());
    }
    drop(jdir);
    if let Some(path) = &args.hlog {
        crate::benchout::write_hlog(path, &r)?;
        if !args.json {
            println!("  wrote {}", path.display());
        }
    }
    if let Some(path) = &args.plot {
        crate::benchout::plot_percentiles(path, &[&r])?;
        if !args.json {
            println!("  wrote {}", path.display());
        }
    }
    Ok(())
}

fn sweep(args: &BenchArgs) -> anyhow::Result<()> {
    let rates: [Option<f64>; 8] = [
        Some(100_000.0),
        Some(250_000.0),
        Some(500_000.0),
        Some(1_000_000.0),
        Some(2_000_000.0),
        Some(4_000_000.0),
        Some(8_000_000.0),
        None,
    ];
    let mut results = Vec::new();
    let durability = durability_of(args);
    if !args.json {
        println!(
            "ferrex bench --sweep: {} commands per rate{}",
            args.orders,
            durability.map_or(String::new(), |d| format!(
                ", journal durability {}",
                durability_name(d)
            ))
        );
        println!(
            "  {:>12} {:>12} {:>8} {:>8} {:>8} {:>8} {:>10} {:>8}",
            "offered/s", "achieved/s", "p50", "p90", "p99", "p99.9", "max", "floor"
        );
    }
    for rate in rates {
        let tag = rate.map_or("closed".to_string(), |x| format!("rate-{x:.0}"));
        let jdir = durability.map(|_| JournalDir::new(args, &tag));
        let jcfg = durability.zip(jdir.as_ref()).map(|(d, dir)| {
            JournalConfig::new(&dir.path, d).with_snapshot_every(args.snapshot_every)
        });
        let r = run_once(args, rate, None, jcfg)?;
        drop(jdir);
        if !args.json {
            let h = &r.hist;
            println!(
                "  {:>12} {:>12.0} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>10} {:>8.0}",
                rate.map_or("closed".to_string(), |x| format!("{x:.0}")),
                r.throughput(),
                pct(h, 0.5),
                pct(h, 0.9),
                pct(h, 0.99),
                pct(h, 0.999),
                h.max(),
                r.floor_median()
            );
        }
        results.push(r);
    }
    if args.json {
        let v: Vec<_> = results.iter().map(json_of).collect();
        println!("{}", serde_json::json!({ "sweep": v }));
    }
    if let Some(path) = &args.plot {
        let refs: Vec<&RunResult> = results.iter().collect();
        crate::benchout::plot_sweep(path, &refs)?;
        if !args.json {
            println!("  wrote {}", path.display());
        }
    }
    Ok(())
}
