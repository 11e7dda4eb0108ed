//! The machine's core-to-core round-trip floor: what one cache line bouncing between two cores
//! costs, so pipeline latencies can be reported as a ratio to it.
//!
//! Two threads share two padded atomics, `ping` and `pong`. Thread A stores a sequence number
//! in `ping` and spins until B echoes it in `pong`; B spins on `ping` and echoes. Each round trip
//! moves each line across cores once, which is the least any cross-thread ring hop can cost.
//! Timing is `std::time::Instant` around a batch of round trips (no `rdtsc`), so the clock read
//! is amortised over the batch.
//!
//! This module uses std atomics directly (not the loom facade): it is a measurement, not part
//! of the ring protocol.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

use crossbeam_utils::CachePadded;

/// Round trips timed together in one sample.
pub const ROUND_TRIPS_PER_SAMPLE: u32 = 512;

/// Round trips run before timing starts (wakes the cores up, warms the lines).
const WARMUP_ROUND_TRIPS: u64 = 20_000;

/// Spins a uncontended hop's worth many times over before yielding: on an oversubscribed
/// machine the peer may be descheduled, and spinning through its time slice would stretch one
/// round trip to milliseconds and the whole measurement to minutes.
#[inline(always)]
fn relax(spins: &mut u32) {
    *spins += 1;
    if *spins < SPINS_BEFORE_YIELD {
        spin_loop();
    } else {
        *spins = 0;
        thread::yield_now();
    }
}

/// About 50 µs of spinning, 100 times an uncontended round trip.
const SPINS_BEFORE_YIELD: u32 = 1 << 12;

/// Result of [`core_to_core_rtt_ns`].
#[derive(Debug, Clone, PartialEq)]
pub struct FloorSample {
    /// One entry per sample: mean nanoseconds per round trip over
    /// [`ROUND_TRIPS_PER_SAMPLE`] round trips, in the order measured.
    pub samples_ns: Vec<f64>,
    /// Smallest sample: the best-case floor.
    pub min_ns: f64,
    /// Median sample: the floor to divide pipeline latencies by.
    pub median_ns: f64,
    /// `true` if both threads were pinned to the cores asked for; `false` if a core was not
    /// requested or pinning failed (then the OS placed the threads and the floor is noisier).
    pub pinned: bool,
}

impl FloorSample {
    /// Half the median round trip: the one-way core-to-core hop. Free.
    pub fn one_way_ns(&self) -> f64 {
        self.median_ns / 2.0
    }
}

/// Pins the current thread to core `id` (an id as numbered by `core_affinity::get_core_ids`);
/// returns whether it worked. `None` leaves the thread where it is and returns `false`.
/// The id is passed straight to the OS (not checked against the calling thread's own mask,
/// which after an earlier pin may hold a single core). Cost: one `sched_setaffinity` syscall.
pub fn pin_current_thread(id: Option<usize>) -> bool {
    id.is_some_and(|id| core_affinity::set_for_current(core_affinity::CoreId { id }))
}

/// The first two cores the calling thread may run on, if it has two: the natural default pair
/// for [`core_to_core_rtt_ns`]. Call it before pinning the calling thread (a pinned thread's
/// mask holds one core). Cost: one `sched_getaffinity` syscall.
pub fn default_core_pair() -> Option<(usize, usize)> {
    let ids = core_affinity::get_core_ids()?;
    match ids.as_slice() {
        [a, b, ..] => Some((a.id, b.id)),
        _ => None,
    }
}

/// Measures `samples` samples of the core-to-core round-trip time between two new threads,
/// pinned to `core_a` and `core_b` where given (`None`: the thread inherits the caller's
/// affinity mask). The calling thread only waits; its affinity is untouched.
///
/// Cost: two thread spawns, a 20 000-round-trip warm-up, then `samples * 512` round trips
/// (roughly 100 ns each on a modern x86 pair: `samples = 100` takes about 5 ms). Both threads
/// spin at 100% while it runs (yielding after ~50 µs without an answer); on an oversubscribed
/// machine or with one core, hops wait for the scheduler and the figures mean little: read
/// `min_ns` and `pinned` before trusting `median_ns`.
///
/// # Panics
/// If `samples` is 0.
///
/// # Example
/// ```
/// # if ferrex_ring::LOOM_BUILD { return; }
/// let pair = ferrex_ring::floor::default_core_pair();
/// let floor = ferrex_ring::floor::core_to_core_rtt_ns(5, pair.map(|p| p.0), pair.map(|p| p.1));
/// assert_eq!(floor.samples_ns.len(), 5);
/// assert!(floor.min_ns <= floor.median_ns);
/// ```
pub fn core_to_core_rtt_ns(
    samples: usize,
    core_a: Option<usize>,
    core_b: Option<usize>,
) -> FloorSample {
    assert!(
        samples > 0,
        "core_to_core_rtt_ns: samples must be at least 1"
    );
    let ping = CachePadded::new(AtomicU64::new(0));
    let pong = CachePadded::new(AtomicU64::new(0));
    let total = WARMUP_ROUND_TRIPS + samples as u64 * u64::from(ROUND_TRIPS_PER_SAMPLE);

    let (pinned_a, pinned_b, mut samples_ns) = thread::scope(|s| {
        let echo = s.spawn(|| {
            let pinned = pin_current_thread(core_b);
            // Acquire/Release here (and below) only keep the compiler from hoisting the spin;
            // the round trip itself is what is being measured.
            for seq in 1..=total {
                let mut spins = 0u32;
                while ping.load(Ordering::Acquire) != seq {
                    relax(&mut spins);
                }
                pong.store(seq, Ordering::Release);
            }
            pinned
        });
        let timer = s.spawn(|| {
            let pinned = pin_current_thread(core_a);
            let mut seq = 0u64;
            let mut round_trip = || {
                seq += 1;
                ping.store(seq, Ordering::Release);
                let mut spins = 0u32;
                while pong.load(Ordering::Acquire) != seq {
                    relax(&mut spins);
                }
            };
            for _ in 0..WARMUP_ROUND_TRIPS {
                round_trip();
            }
            let mut out = Vec::with_capacity(samples);
            for _ in 0..samples {
                let start = Instant::now();
                for _ in 0..ROUND_TRIPS_PER_SAMPLE {
                    round_trip();
                }
                let ns = start.elapsed().as_nanos() as f64;
                out.push(ns / f64::from(ROUND_TRIPS_PER_SAMPLE));
            }
            (pinned, out)
        });
        let (pinned_a, out) = timer.join().expect("floor timer thread panicked");
        let pinned_b = echo.join().expect("floor echo thread panicked");
        (pinned_a, pinned_b, out)
    });

    let measured = samples_ns.clone();
    samples_ns.sort_by(f64::total_cmp);
    FloorSample {
        min_ns: samples_ns[0],
        median_ns: samples_ns[samples_ns.len() / 2],
        samples_ns: measured,
        pinned: pinned_a && pinned_b && core_a != core_b,
    }
}
