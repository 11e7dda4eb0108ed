//! SPSC ring hops: ferrex-ring (index ring and the slot-sequenced `seq` ring) against rtrb and
//! crossbeam's ArrayQueue, in one run.
//!
//! - `ring_rtt`: round trip (ping-pong) between this thread (pinned to the first core) and an
//!   echo thread (pinned to the second); one-way hop latency is half of it.
//! - `ring_throughput_single`: one item per push/pop, producer here, consumer on the other core.
//! - `ring_throughput_batch64`: batches of up to 64 (ferrex `push_slice`/`pop_into`, rtrb
//!   `write_chunk_uninit`/`read_chunk`, ArrayQueue a push/pop loop).
//!
//! `cargo bench -p ferrex --bench ring` (about 45 s once built). The machine's core-to-core
//! round-trip floor is printed first so the figures can be read as ratios to it.

use std::hint::{black_box, spin_loop};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_queue::ArrayQueue;
use ferrex_ring::floor;

const CAP: usize = 1024;
const BATCH: usize = 64;
const STOP: u64 = u64::MAX;

/// The queue under test, behind one interface so the three run the same loops.
trait Spsc {
    const NAME: &'static str;
    type Tx: Send + 'static;
    type Rx: Send + 'static;
    fn new(cap: usize) -> (Self::Tx, Self::Rx);
    fn push(tx: &mut Self::Tx, v: u64) -> bool;
    fn pop(rx: &mut Self::Rx) -> Option<u64>;
    /// Pushes a prefix of `src` with the queue's batch API; returns how many.
    fn push_batch(tx: &mut Self::Tx, src: &[u64]) -> usize;
    /// Pops up to `dst.len()` into `dst` with the queue's batch API; returns how many.
    fn pop_batch(rx: &mut Self::Rx, dst: &mut [u64]) -> usize;
}

struct Ferrex;
impl Spsc for Ferrex {
    const NAME: &'static str = "ferrex";
    type Tx = ferrex_ring::Producer<u64>;
    type Rx = ferrex_ring::Consumer<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        ferrex_ring::channel(cap)
    }
    #[inline]
    fn push(tx: &mut Self::Tx, v: u64) -> bool {
        tx.try_push(v).is_ok()
    }
    #[inline]
    fn pop(rx: &mut Self::Rx) -> Option<u64> {
        rx.try_pop()
    }
    #[inline]
    fn push_batch(tx: &mut Self::Tx, src: &[u64]) -> usize {
        tx.push_slice(src)
    }
    #[inline]
    fn pop_batch(rx: &mut Self::Rx, dst: &mut [u64]) -> usize {
        rx.pop_into(dst)
    }
}

/// The slot-sequenced ring: a stamp in each slot instead of a shared `tail` index.
struct FerrexSeq;
impl Spsc for FerrexSeq {
    const NAME: &'static str = "ferrex_seq";
    type Tx = ferrex_ring::seq::Producer<u64>;
    type Rx = ferrex_ring::seq::Consumer<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        ferrex_ring::seq::channel(cap)
    }
    #[inline]
    fn push(tx: &mut Self::Tx, v: u64) -> bool {
        tx.try_push(v).is_ok()
    }
    #[inline]
    fn pop(rx: &mut Self::Rx) -> Option<u64> {
        rx.try_pop()
    }
    #[inline]
    fn push_batch(tx: &mut Self::Tx, src: &[u64]) -> usize {
        tx.push_slice(src)
    }
    #[inline]
    fn pop_batch(rx: &mut Self::Rx, dst: &mut [u64]) -> usize {
        rx.pop_into(dst)
    }
}

struct Rtrb;
impl Spsc for Rtrb {
    const NAME: &'static str = "rtrb";
    type Tx = rtrb::Producer<u64>;
    type Rx = rtrb::Consumer<u64>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        rtrb::RingBuffer::new(cap)
    }
    #[inline]
    fn push(tx: &mut Self::Tx, v: u64) -> bool {
        tx.push(v).is_ok()
    }
    #[inline]
    fn pop(rx: &mut Self::Rx) -> Option<u64> {
        rx.pop().ok()
    }
    #[inline]
    fn push_batch(tx: &mut Self::Tx, src: &[u64]) -> usize {
        let n = tx.slots().min(src.len());
        if n == 0 {
            return 0;
        }
        match tx.write_chunk_uninit(n) {
            Ok(chunk) => chunk.fill_from_iter(src.iter().copied()),
            Err(_) => 0,
        }
    }
    #[inline]
    fn pop_batch(rx: &mut Self::Rx, dst: &mut [u64]) -> usize {
        let n = rx.slots().min(dst.len());
        if n == 0 {
            return 0;
        }
        match rx.read_chunk(n) {
            Ok(chunk) => {
                let (a, b) = chunk.as_slices();
                dst[..a.len()].copy_from_slice(a);
                dst[a.len()..n].copy_from_slice(b);
                chunk.commit_all();
                n
            }
            Err(_) => 0,
        }
    }
}

struct CbArrayQueue;
impl Spsc for CbArrayQueue {
    const NAME: &'static str = "arrayqueue";
    type Tx = Arc<ArrayQueue<u64>>;
    type Rx = Arc<ArrayQueue<u64>>;
    fn new(cap: usize) -> (Self::Tx, Self::Rx) {
        let q = Arc::new(ArrayQueue::new(cap));
        (Arc::clone(&q), q)
    }
    #[inline]
    fn push(tx: &mut Self::Tx, v: u64) -> bool {
        tx.push(v).is_ok()
    }
    #[inline]
    fn pop(rx: &mut Self::Rx) -> Option<u64> {
        rx.pop()
    }
    #[inline]
    fn push_batch(tx: &mut Self::Tx, src: &[u64]) -> usize {
        let mut n = 0;
        for &v in src {
            if tx.push(v).is_err() {
                break;
            }
            n += 1;
        }
        n
    }
    #[inline]
    fn pop_batch(rx: &mut Self::Rx, dst: &mut [u64]) -> usize {
        let mut n = 0;
        for d in dst.iter_mut() {
            match rx.pop() {
                Some(v) => *d = v,
                None => break,
            }
            n += 1;
        }
        n
    }
}

/// Spin, but yield after ~50 µs without progress: on a loaded 2-core VM the peer may be
/// descheduled and spinning through its time slice would make a sample take seconds.
#[inline(always)]
fn relax(spins: &mut u32) {
    *spins += 1;
    if *spins < 1 << 12 {
        spin_loop();
    } else {
        *spins = 0;
        thread::yield_now();
    }
}

#[inline]
fn spin_push<Q: Spsc>(tx: &mut Q::Tx, v: u64) {
    let mut spins = 0;
    while !Q::push(tx, v) {
        relax(&mut spins);
    }
}

#[inline]
fn spin_pop<Q: Spsc>(rx: &mut Q::Rx) -> u64 {
    let mut spins = 0;
    loop {
        if let Some(v) = Q::pop(rx) {
            return v;
        }
        relax(&mut spins);
    }
}

/// Cores for (this thread, the other thread), if there are two to pin to. Read once, before
/// this thread pins itself (after that its mask holds one core).
fn cores() -> (Option<usize>, Option<usize>) {
    static CORES: std::sync::OnceLock<(Option<usize>, Option<usize>)> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| match floor::default_core_pair() {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    })
}

fn rtt<Q: Spsc>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let (mut to_echo, mut echo_rx) = Q::new(CAP);
    let (mut echo_tx, mut from_echo) = Q::new(CAP);
    let other = cores().1;
    let echo = thread::spawn(move || {
        floor::pin_current_thread(other);
        loop {
            let v = spin_pop::<Q>(&mut echo_rx);
            spin_push::<Q>(&mut echo_tx, v);
            if v == STOP {
                return;
            }
        }
    });
    g.bench_function(Q::NAME, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for i in 0..iters {
                spin_push::<Q>(&mut to_echo, i);
                black_box(spin_pop::<Q>(&mut from_echo));
            }
            start.elapsed()
        })
    });
    spin_push::<Q>(&mut to_echo, STOP);
    spin_pop::<Q>(&mut from_echo);
    echo.join().unwrap();
}

/// Runs `produce(tx, iters)` here and `consume(rx, iters)` on the other core; times both.
fn two_threads<Q: Spsc>(
    iters: u64,
    produce: fn(&mut Q::Tx, u64),
    consume: fn(&mut Q::Rx, u64) -> u64,
) -> Duration {
    let (mut tx, rx) = Q::new(CAP);
    let other = cores().1;
    thread::scope(|s| {
        let c = s.spawn(move || {
            floor::pin_current_thread(other);
            // Move the handle onto this thread's stack: left in the closure's heap block it
            // can share a cache line with allocations the other thread touches.
            let mut rx = black_box(rx);
            black_box(consume(&mut rx, iters))
        });
        let start = Instant::now();
        produce(&mut tx, iters);
        c.join().unwrap();
        start.elapsed()
    })
}

fn single_produce<Q: Spsc>(tx: &mut Q::Tx, n: u64) {
    for i in 0..n {
        spin_push::<Q>(tx, i);
    }
}

fn single_consume<Q: Spsc>(rx: &mut Q::Rx, n: u64) -> u64 {
    let mut sum = 0u64;
    for _ in 0..n {
        sum = sum.wrapping_add(spin_pop::<Q>(rx));
    }
    sum
}

fn batch_produce<Q: Spsc>(tx: &mut Q::Tx, n: u64) {
    let src: [u64; BATCH] = std::array::from_fn(|i| i as u64);
    let mut left = n as usize;
    let mut spins = 0;
    while left > 0 {
        let k = Q::push_batch(tx, &src[..left.min(BATCH)]);
        if k == 0 {
            relax(&mut spins);
        }
        left -= k;
    }
}

fn batch_consume<Q: Spsc>(rx: &mut Q::Rx, n: u64) -> u64 {
    let mut dst = [0u64; BATCH];
    let mut left = n as usize;
    let mut sum = 0u64;
    let mut spins = 0;
    while left > 0 {
        let k = Q::pop_batch(rx, &mut dst[..left.min(BATCH)]);
        if k == 0 {
            relax(&mut spins);
        }
        sum = sum.wrapping_add(dst[..k].iter().sum::<u64>());
        left -= k;
    }
    sum
}

fn throughput_single<Q: Spsc>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(Q::NAME, |b| {
        b.iter_custom(|iters| two_threads::<Q>(iters, single_produce::<Q>, single_consume::<Q>))
    });
}

fn throughput_batch<Q: Spsc>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(Q::NAME, |b| {
        b.iter_custom(|iters| two_threads::<Q>(iters, batch_produce::<Q>, batch_consume::<Q>))
    });
}

fn configure(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
}

fn ring(c: &mut Criterion) {
    let (here, other) = cores();
    let pinned = floor::pin_current_thread(here) && other.is_some();
    if pinned {
        println!("ring bench: threads pinned to cores {here:?} and {other:?}");
    } else {
        println!("ring bench: NOTE fewer than two cores available or pinning failed: unpinned");
    }
    let f = floor::core_to_core_rtt_ns(50, here, other);
    println!(
        "core-to-core floor: round trip min {:.1} ns, median {:.1} ns (pinned: {})",
        f.min_ns, f.median_ns, f.pinned
    );

    let mut g = c.benchmark_group("ring_rtt");
    configure(&mut g);
    rtt::<Ferrex>(&mut g);
    rtt::<FerrexSeq>(&mut g);
    rtt::<Rtrb>(&mut g);
    rtt::<CbArrayQueue>(&mut g);
    g.finish();

    let mut g = c.benchmark_group("ring_throughput_single");
    configure(&mut g);
    g.throughput(Throughput::Elements(1));
    throughput_single::<Ferrex>(&mut g);
    throughput_single::<FerrexSeq>(&mut g);
    throughput_single::<Rtrb>(&mut g);
    throughput_single::<CbArrayQueue>(&mut g);
    g.finish();

    let mut g = c.benchmark_group("ring_throughput_batch64");
    configure(&mut g);
    g.throughput(Throughput::Elements(1));
    throughput_batch::<Ferrex>(&mut g);
    throughput_batch::<FerrexSeq>(&mut g);
    throughput_batch::<Rtrb>(&mut g);
    throughput_batch::<CbArrayQueue>(&mut g);
    g.finish();
}

criterion_group!(benches, ring);
criterion_main!(benches);
