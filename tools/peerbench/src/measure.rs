//! Timing: throughput passes, per-message latency, timer overhead.
//!
//! * **ns per message**: a fresh engine is built (not timed), then one `Instant` pair brackets
//!   a full pass over the preparsed feed; the pass time divided by the message count. Repeated
//!   `passes` times, interleaved across engines; the median is reported.
//! * **per-message latency**: a separate pass with a fresh engine that reads `Instant::now()`
//!   before and after every message. The timer's own cost (the trimmed mean of back-to-back
//!   `Instant::now()` pairs, measured in the same run) is subtracted from each sample
//!   (saturating at 0), and the samples go into an HdrHistogram after the pass.

use crate::adapter::{Adapter, BookSizing, Levels};
use crate::feed::{Feed, FeedMsg};
use hdrhistogram::Histogram;
use std::hint::black_box;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// Apply every message of `feed` to `engine`, in order. Never inlined, so a profiler (callgrind
/// `--toggle-collect='*measure::run*'`) can count exactly this loop.
#[inline(never)]
pub fn run<A: Adapter>(engine: &mut A, feed: &[FeedMsg]) {
    for m in feed {
        engine.apply(m);
    }
}

/// Sleep 1 ms before a timed section: on a loaded machine the thread then starts the section
/// with a fresh scheduler time slice, so fewer passes are cut by a preemption.
fn settle() {
    std::thread::sleep(Duration::from_millis(1));
}

/// One timed pass over `feed` with a fresh engine; construction and drop are outside the timing.
pub fn timed_pass<A: Adapter>(feed: &[FeedMsg], sizing: BookSizing) -> Duration {
    let mut engine = A::new(sizing);
    settle();
    let t0 = Instant::now();
    run(&mut engine, black_box(feed));
    let elapsed = t0.elapsed();
    black_box(&engine);
    drop(engine);
    elapsed
}

/// The cost of one `Instant::now()` pair with nothing between, in ns: the mean of `n` tries
/// after dropping the slowest 1% (preemptions). A mean, not a median: the clock ticks in steps
/// of about 10 ns on these VMs, so the median snaps to a step while the mean estimates the
/// offset the step quantisation hides.
pub fn timer_overhead_ns(n: usize) -> u64 {
    let mut v: Vec<u64> = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let t1 = Instant::now();
        v.push((t1 - t0).as_nanos() as u64);
    }
    v.sort_unstable();
    v.truncate(n - n / 100);
    if v.is_empty() {
        return 0;
    }
    (v.iter().sum::<u64>() as f64 / v.len() as f64).round() as u64
}

/// One pass timing each message on its own; returns the latency histogram (timer overhead
/// `overhead_ns` subtracted from every sample) and the engine as it is after the pass.
pub fn latency_pass<A: Adapter>(
    feed: &[FeedMsg],
    sizing: BookSizing,
    overhead_ns: u64,
) -> (Histogram<u64>, A) {
    let mut engine = A::new(sizing);
    let mut samples: Vec<u64> = Vec::with_capacity(feed.len());
    settle();
    for m in feed {
        let t0 = Instant::now();
        engine.apply(m);
        let t1 = Instant::now();
        samples.push((t1 - t0).as_nanos() as u64);
    }
    let mut h = latency_histogram();
    for s in samples {
        h.saturating_record(s.saturating_sub(overhead_ns));
    }
    (h, engine)
}

/// An empty latency histogram: 0 ns ..= 100 s at 3 significant digits. A fixed range: a
/// `Histogram::new(3)` starts with a 2,048 maximum, and `saturating_record` clamps to that
/// instead of growing.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3)
        .expect("1 ns ..= 100 s at 3 significant digits is a valid histogram")
}

/// The measurements of one engine.
#[derive(Clone, Debug)]
pub struct EngineResult {
    /// Engine name.
    pub name: &'static str,
    /// Nanoseconds per message of each timed pass, in run order.
    pub pass_ns_per_msg: Vec<f64>,
    /// Median of `pass_ns_per_msg`.
    pub ns_per_msg: f64,
    /// Per-message latency percentiles (ns, timer overhead subtracted).
    pub p50_ns: f64,
    /// 99th percentile.
    pub p99_ns: f64,
    /// 99.9th percentile.
    pub p999_ns: f64,
    /// Resting levels after one full pass.
    pub levels: Levels,
}

/// Median of a non-empty slice (mean of the two middle values for an even count).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// An engine, type-erased for the driver (the timed loops inside stay monomorphic).
pub trait Bench {
    /// Engine name.
    fn name(&self) -> &'static str;
    /// One timed pass (see [`timed_pass`]).
    fn timed_pass(&self, feed: &Feed) -> Duration;
    /// One latency pass (see [`latency_pass`]); returns the histogram and the final levels.
    fn latency_pass(&self, feed: &Feed, overhead_ns: u64) -> (Histogram<u64>, Levels);
}

/// [`Bench`] for adapter `A`.
pub struct BenchOf<A>(PhantomData<fn() -> A>);

impl<A> Default for BenchOf<A> {
    fn default() -> Self {
        BenchOf(PhantomData)
    }
}

impl<A: Adapter> Bench for BenchOf<A> {
    fn name(&self) -> &'static str {
        A::NAME
    }
    fn timed_pass(&self, feed: &Feed) -> Duration {
        timed_pass::<A>(&feed.msgs, BookSizing::of(feed))
    }
    fn latency_pass(&self, feed: &Feed, overhead_ns: u64) -> (Histogram<u64>, Levels) {
        let (h, engine) = latency_pass::<A>(&feed.msgs, BookSizing::of(feed), overhead_ns);
        (h, engine.levels())
    }
}

/// Measure every engine on `feed`: one untimed warm-up pass each, then `passes` timed passes
/// interleaved across engines (the order rotates every pass), then one latency pass each.
pub fn measure_all(
    feed: &Feed,
    engines: &[Box<dyn Bench>],
    passes: usize,
) -> (Vec<EngineResult>, u64) {
    let n = feed.msgs.len().max(1) as f64;
    for e in engines {
        black_box(e.timed_pass(feed));
    }
    let mut per: Vec<Vec<f64>> = vec![Vec::with_capacity(passes); engines.len()];
    for p in 0..passes {
        for k in 0..engines.len() {
            let i = (p + k) % engines.len();
            let d = engines[i].timed_pass(feed);
            per[i].push(d.as_nanos() as f64 / n);
        }
    }
    let overhead = timer_overhead_ns(200_000);
    let results = engines
        .iter()
        .zip(per)
        .map(|(e, pass_ns)| {
            let (h, levels) = e.latency_pass(feed, overhead);
            EngineResult {
                name: e.name(),
                ns_per_msg: median(&pass_ns),
                pass_ns_per_msg: pass_ns,
                p50_ns: h.value_at_quantile(0.50) as f64,
                p99_ns: h.value_at_quantile(0.99) as f64,
                p999_ns: h.value_at_quantile(0.999) as f64,
                levels,
            }
        })
        .collect();
    (results, overhead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn histogram_keeps_large_and_zero_samples() {
        let mut h = latency_histogram();
        h.saturating_record(0);
        h.saturating_record(5_000);
        h.saturating_record(3_000_000);
        assert_eq!(h.value_at_quantile(0.0), 0);
        assert!(
            h.value_at_quantile(0.5) >= 4_995,
            "{}",
            h.value_at_quantile(0.5)
        );
        assert!(h.value_at_quantile(1.0) >= 2_997_000);
    }

    #[test]
    fn measure_all_runs_peers_and_they_agree() {
        let feed = Feed::parse(crate::adapter::tests::TINY_CROSS).unwrap();
        let engines: Vec<Box<dyn Bench>> = vec![
            Box::new(BenchOf::<crate::lobster::Lobster>::default()),
            Box::new(BenchOf::<crate::orderbook_rs::OrderbookRs>::default()),
        ];
        let (r, _) = measure_all(&feed, &engines, 3);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].pass_ns_per_msg.len(), 3);
        assert_eq!(r[0].levels, r[1].levels);
    }
}
