//! Round trip of one item through two rings (A → B → A) for the index ring (`ferrex_ring`) and
//! the slot-sequenced ring (`ferrex_ring::seq`), next to the plain `AtomicU64` ping-pong floor,
//! all measured in this one program with the same harness, interleaved round by round (the host
//! may move the vCPUs between rounds and change the floor several-fold).
//!
//! `cargo run -p ferrex-ring --release --example seq_rtt [ROUNDS]`
//!
//! Noise-free instruction counts: `seq_rtt ops KIND N` runs `N` single-threaded push+pop pairs
//! (KIND: `index-u64`, `seq-u64`, `index-88`, `seq-88`) inside `ops_loop`, for
//! `valgrind --tool=callgrind --toggle-collect='*ops_loop*' target/release/examples/seq_rtt ops seq-u64 1000000`
//! (instructions per push+pop = Ir / N).
//!
//! Batched throughput: `seq_rtt thr [N]` streams `N` items (default 20 M) one way in batches of
//! 64 (`push_slice` / `pop_into`) for each ring and payload, interleaved, three rounds, and prints
//! M items/s (median round).
//!
//! Two threads, pinned to the first two cores when there are two (else unpinned, said so).
//! Each sample is the mean of `RTS_PER_SAMPLE` back-to-back round trips timed with `Instant`;
//! the figure printed is the median sample over all rounds, plus the best sample.

use std::hint::spin_loop;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

use crossbeam_utils::CachePadded;
use ferrex_ring::floor::{default_core_pair, pin_current_thread};

const RTS_PER_SAMPLE: u32 = 256;
const SAMPLES_PER_ROUND: usize = 20;
const WARMUP_RTS: u64 = 2_000;

/// A payload: `u64`, or 88 bytes like `ferrex_types::Event`.
trait Msg: Copy + Send + 'static {
    const NAME: &'static str;
    fn make(v: u64) -> Self;
    fn id(&self) -> u64;
}

impl Msg for u64 {
    const NAME: &'static str = "u64";
    fn make(v: u64) -> Self {
        v
    }
    fn id(&self) -> u64 {
        *self
    }
}

/// A payload of `N` words: 88 bytes (`N = 11`, like `ferrex_types::Event`: a two-line slot) or
/// 56 bytes (`N = 7`: the largest whose seq-ring slot, payload + stamp, is one cache line).
#[derive(Clone, Copy)]
struct Words<const N: usize>([u64; N]);
impl<const N: usize> Msg for Words<N> {
    const NAME: &'static str = if N == 11 { "88 B" } else { "56 B" };
    fn make(v: u64) -> Self {
        Self([v; N])
    }
    fn id(&self) -> u64 {
        // Read both ends so the whole payload has to arrive.
        if self.0[0] == self.0[N - 1] {
            self.0[0]
        } else {
            u64::MAX
        }
    }
}
type Ev88 = Words<11>;
type Ev56 = Words<7>;

/// One direction of the ping-pong.
trait Link<P: Msg> {
    const NAME: &'static str;
    type Tx: Send + 'static;
    type Rx: Send + 'static;
    fn make() -> (Self::Tx, Self::Rx);
    fn send(tx: &mut Self::Tx, p: P);
    fn recv(rx: &mut Self::Rx) -> Option<P>;
    /// Batch push (a prefix of `src`); returns how many went in.
    fn send_batch(_tx: &mut Self::Tx, _src: &[P]) -> usize {
        unimplemented!("no batch API")
    }
    /// Batch pop into `dst`; returns how many.
    fn recv_batch(_rx: &mut Self::Rx, _dst: &mut [P]) -> usize {
        unimplemented!("no batch API")
    }
}

const CAP: usize = 1024;

struct Index;
impl<P: Msg> Link<P> for Index {
    const NAME: &'static str = "index ring";
    type Tx = ferrex_ring::Producer<P>;
    type Rx = ferrex_ring::Consumer<P>;
    fn make() -> (Self::Tx, Self::Rx) {
        ferrex_ring::channel(CAP)
    }
    #[inline]
    fn send(tx: &mut Self::Tx, p: P) {
        let mut spins = 0;
        while tx.try_push(p).is_err() {
            relax(&mut spins);
        }
    }
    #[inline]
    fn recv(rx: &mut Self::Rx) -> Option<P> {
        rx.try_pop()
    }
    #[inline]
    fn send_batch(tx: &mut Self::Tx, src: &[P]) -> usize {
        tx.push_slice(src)
    }
    #[inline]
    fn recv_batch(rx: &mut Self::Rx, dst: &mut [P]) -> usize {
        rx.pop_into(dst)
    }
}

struct Seq;
impl<P: Msg> Link<P> for Seq {
    const NAME: &'static str = "seq ring";
    type Tx = ferrex_ring::seq::Producer<P>;
    type Rx = ferrex_ring::seq::Consumer<P>;
    fn make() -> (Self::Tx, Self::Rx) {
        ferrex_ring::seq::channel(CAP)
    }
    #[inline]
    fn send(tx: &mut Self::Tx, p: P) {
        let mut spins = 0;
        while tx.try_push(p).is_err() {
            relax(&mut spins);
        }
    }
    #[inline]
    fn recv(rx: &mut Self::Rx) -> Option<P> {
        rx.try_pop()
    }
    #[inline]
    fn send_batch(tx: &mut Self::Tx, src: &[P]) -> usize {
        tx.push_slice(src)
    }
    #[inline]
    fn recv_batch(rx: &mut Self::Rx, dst: &mut [P]) -> usize {
        rx.pop_into(dst)
    }
}

/// The floor: one padded `AtomicU64` per direction; the receiver waits for a new value.
struct Floor;
impl Link<u64> for Floor {
    const NAME: &'static str = "AtomicU64 floor";
    type Tx = Arc<CachePadded<AtomicU64>>;
    type Rx = (Arc<CachePadded<AtomicU64>>, u64);
    fn make() -> (Self::Tx, Self::Rx) {
        let a = Arc::new(CachePadded::new(AtomicU64::new(0)));
        (Arc::clone(&a), (a, 0))
    }
    #[inline]
    fn send(tx: &mut Self::Tx, p: u64) {
        tx.store(p, Ordering::Release);
    }
    #[inline]
    fn recv(rx: &mut Self::Rx) -> Option<u64> {
        let v = rx.0.load(Ordering::Acquire);
        if v == rx.1 {
            return None;
        }
        rx.1 = v;
        Some(v)
    }
}

/// Spin, yielding after ~50 µs without progress (the peer may be descheduled on a busy host).
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

#[inline(always)]
fn recv_spin<P: Msg, L: Link<P>>(rx: &mut L::Rx) -> P {
    let mut spins = 0;
    loop {
        if let Some(p) = L::recv(rx) {
            return p;
        }
        relax(&mut spins);
    }
}

/// `SAMPLES_PER_ROUND` samples (ns per round trip) with a fresh echo thread on `other`.
fn measure<P: Msg, L: Link<P>>(other: Option<usize>) -> Vec<f64> {
    let (mut to_b, mut b_rx) = L::make();
    let (mut b_tx, mut from_b) = L::make();
    let total = WARMUP_RTS + (SAMPLES_PER_ROUND as u64) * u64::from(RTS_PER_SAMPLE);
    thread::scope(|s| {
        s.spawn(move || {
            pin_current_thread(other);
            for _ in 0..total {
                let p = recv_spin::<P, L>(&mut b_rx);
                L::send(&mut b_tx, p);
            }
        });
        let mut seq = 0u64;
        let mut rt = || {
            seq += 1;
            L::send(&mut to_b, P::make(seq));
            let back = recv_spin::<P, L>(&mut from_b);
            assert_eq!(back.id(), seq);
        };
        for _ in 0..WARMUP_RTS {
            rt();
        }
        let mut out = Vec::with_capacity(SAMPLES_PER_ROUND);
        for _ in 0..SAMPLES_PER_ROUND {
            let start = Instant::now();
            for _ in 0..RTS_PER_SAMPLE {
                rt();
            }
            out.push(start.elapsed().as_nanos() as f64 / f64::from(RTS_PER_SAMPLE));
        }
        out
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `n` push+pop pairs on one thread, through rings made outside (allocation not counted).
#[inline(never)]
fn ops_loop<P: Msg, L: Link<P>>(tx: &mut L::Tx, rx: &mut L::Rx, n: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..n {
        L::send(tx, P::make(i));
        acc ^= L::recv(rx).map_or(u64::MAX, |p| p.id());
    }
    acc
}

fn ops<P: Msg, L: Link<P>>(n: u64) {
    let (mut tx, mut rx) = L::make();
    let acc = ops_loop::<P, L>(&mut tx, &mut rx, n);
    println!("{} {}: {n} push+pop pairs (check {acc})", L::NAME, P::NAME);
}

const THR_BATCH: usize = 64;

/// Streams `n` items one way in batches; returns M items/s (until the last item is read).
fn throughput<P: Msg, L: Link<P>>(other: Option<usize>, n: u64) -> f64 {
    let (mut tx, mut rx) = L::make();
    let start = Instant::now();
    thread::scope(|s| {
        s.spawn(move || {
            pin_current_thread(other);
            let mut buf = [P::make(0); THR_BATCH];
            let mut got = 0u64;
            let mut spins = 0;
            while got < n {
                let k = L::recv_batch(&mut rx, &mut buf);
                if k == 0 {
                    relax(&mut spins);
                    continue;
                }
                assert_eq!(buf[k - 1].id(), got + k as u64, "out of order");
                got += k as u64;
            }
        });
        let mut src = [P::make(0); THR_BATCH];
        let mut sent = 0u64;
        let mut spins = 0;
        while sent < n {
            let want = (n - sent).min(THR_BATCH as u64) as usize;
            for (k, v) in src[..want].iter_mut().enumerate() {
                *v = P::make(sent + 1 + k as u64);
            }
            let mut off = 0;
            while off < want {
                let k = L::send_batch(&mut tx, &src[off..want]);
                if k == 0 {
                    relax(&mut spins);
                }
                off += k;
            }
            sent += want as u64;
        }
    });
    n as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn thr_main(n: u64) {
    let pair = default_core_pair();
    pin_current_thread(pair.map(|p| p.0));
    let other = pair.map(|p| p.1);
    type Run = fn(Option<usize>, u64) -> f64;
    let kinds: [(&str, Run); 4] = [
        ("index ring u64", throughput::<u64, Index>),
        ("seq ring u64", throughput::<u64, Seq>),
        ("index ring 88 B", throughput::<Ev88, Index>),
        ("seq ring 88 B", throughput::<Ev88, Seq>),
    ];
    let mut all = vec![Vec::new(); kinds.len()];
    for _ in 0..3 {
        for (k, (_, run)) in kinds.iter().enumerate() {
            all[k].push(run(other, n));
        }
    }
    println!("batched throughput, batches of {THR_BATCH}, {n} items, 3 rounds interleaved");
    for ((name, _), v) in kinds.iter().zip(all.iter_mut()) {
        println!(
            "{name:<16} {:>8.1} M items/s (rounds: {v:.1?})",
            median(&mut v.clone())
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if let Some("thr") = first.as_deref() {
        let n = args
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or(20_000_000);
        thr_main(n);
        return;
    }
    if let Some("ops") = first.as_deref() {
        let kind = args.next().unwrap_or_default();
        let n = args
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or(1_000_000);
        match kind.as_str() {
            "index-u64" => ops::<u64, Index>(n),
            "seq-u64" => ops::<u64, Seq>(n),
            "index-88" => ops::<Ev88, Index>(n),
            "seq-88" => ops::<Ev88, Seq>(n),
            _ => eprintln!("seq_rtt ops: KIND is index-u64, seq-u64, index-88 or seq-88"),
        }
        return;
    }
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(40);
    let pair = default_core_pair();
    let pinned = pin_current_thread(pair.map(|p| p.0));
    let other = pair.map(|p| p.1);
    if pinned && other.is_some() {
        println!("seq_rtt: pinned to cores {:?}", pair.unwrap());
    } else {
        println!("seq_rtt: NOTE fewer than two cores or pinning failed: threads unpinned");
    }

    type Run = fn(Option<usize>) -> Vec<f64>;
    let kinds: [(&str, &str, Run); 6] = [
        ("AtomicU64 floor", "u64", measure::<u64, Floor>),
        (
            <Index as Link<u64>>::NAME,
            <u64 as Msg>::NAME,
            measure::<u64, Index>,
        ),
        (
            <Seq as Link<u64>>::NAME,
            <u64 as Msg>::NAME,
            measure::<u64, Seq>,
        ),
        (
            <Index as Link<Ev88>>::NAME,
            Ev88::NAME,
            measure::<Ev88, Index>,
        ),
        (<Seq as Link<Ev56>>::NAME, Ev56::NAME, measure::<Ev56, Seq>),
        (<Seq as Link<Ev88>>::NAME, Ev88::NAME, measure::<Ev88, Seq>),
    ];
    let mut all: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
    for _ in 0..rounds {
        for (k, (_, _, run)) in kinds.iter().enumerate() {
            all[k].extend(run(other));
        }
    }
    let floor = median(&mut all[0].clone());
    println!(
        "{rounds} rounds x {SAMPLES_PER_ROUND} samples x {RTS_PER_SAMPLE} round trips, interleaved"
    );
    println!(
        "{:<16} {:>7} {:>12} {:>10} {:>9}",
        "link", "payload", "median ns", "min ns", "/ floor"
    );
    for ((name, payload, _), samples) in kinds.iter().zip(all.iter_mut()) {
        let med = median(samples);
        println!(
            "{name:<16} {payload:>7} {med:>12.1} {:>10.1} {:>9.2}",
            samples[0],
            med / floor
        );
    }
}
