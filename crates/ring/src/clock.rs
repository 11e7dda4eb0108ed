//! A cheap monotonic nanosecond clock for latency measurement: the CPU's time-stamp counter
//! where it is invariant, calibrated once against [`Instant`]; [`Instant`] elsewhere.
//!
//! Reading `Instant::now()` costs a vDSO call (about 35-40 ns on the KVM guests here); `rdtsc`
//! costs about 10 ns. A latency harness reads the clock once to decide that a command is due and
//! once when its acknowledgement arrives, so the clock's own cost lands in every sample.
//!
//! The counter is used only when CPUID says it is invariant (`constant_tsc` / `nonstop_tsc`:
//! leaf `0x8000_0007`, EDX bit 8), so it ticks at one rate on every core and in every power
//! state. It is not serialising: a read may be reordered with nearby loads by a few
//! nanoseconds, which is noise next to a cross-core hop.
//!
//! Not part of the ring protocol; std only (no loom facade).

use std::time::{Duration, Instant};

/// A monotonic clock in nanoseconds since the clock was made. `Copy`; share it between threads
/// by copying (all copies count from the same origin).
///
/// ```
/// # if ferrex_ring::LOOM_BUILD { return; }
/// let clock = ferrex_ring::clock::Clock::new();
/// let a = clock.now_ns();
/// let b = clock.now_ns();
/// assert!(b >= a);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    base: Instant,
    tsc: Option<Tsc>,
}

/// Calibration of the time-stamp counter: `ns = (ticks - origin) * ns_per_tick`.
#[derive(Clone, Copy, Debug)]
struct Tsc {
    origin: u64,
    ns_per_tick: f64,
}

impl Clock {
    /// A clock counting from now. With an invariant TSC this spends about 10 ms calibrating it
    /// against [`Instant`] (a sleep, then a spin of a few µs); otherwise it is free.
    pub fn new() -> Clock {
        Self::with_tsc(tsc_invariant())
    }

    /// A clock that reads [`Instant`] even where the TSC would do (to compare the two). Free.
    pub fn instant() -> Clock {
        Self::with_tsc(false)
    }

    fn with_tsc(tsc: bool) -> Clock {
        let base = Instant::now();
        let tsc = tsc.then(|| calibrate(base));
        Clock { base, tsc }
    }

    /// `true` when the clock reads the time-stamp counter. Free.
    pub fn is_tsc(&self) -> bool {
        self.tsc.is_some()
    }

    /// Nanoseconds since the clock was made. Cost: one `rdtsc` and a multiply (about 10 ns), or
    /// one `Instant::now()` without an invariant TSC.
    #[inline(always)]
    pub fn now_ns(&self) -> u64 {
        match self.tsc {
            Some(t) => (read_tsc().wrapping_sub(t.origin) as f64 * t.ns_per_tick) as u64,
            None => self.base.elapsed().as_nanos() as u64,
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// Measures the counter's rate over ~10 ms of `Instant` time and sets the origin to `base`.
fn calibrate(base: Instant) -> Tsc {
    // Bracket each Instant read by two counter reads and take the midpoint, so the vDSO call's
    // own length does not bias the rate.
    let pair = || {
        let a = read_tsc();
        let t = Instant::now();
        let b = read_tsc();
        (a / 2 + b / 2, t)
    };
    let (c0, t0) = pair();
    std::thread::sleep(Duration::from_millis(10));
    let (c1, t1) = pair();
    let ns = t1.duration_since(t0).as_nanos() as f64;
    let ticks = c1.wrapping_sub(c0) as f64;
    let ns_per_tick = if ticks > 0.0 { ns / ticks } else { 1.0 };
    let since_base = t0.duration_since(base).as_nanos() as f64;
    let origin = c0.wrapping_sub((since_base / ns_per_tick) as u64);
    Tsc {
        origin,
        ns_per_tick,
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn read_tsc() -> u64 {
    // SAFETY: `rdtsc` exists on every x86-64 CPU and has no memory effects.
    unsafe { std::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn read_tsc() -> u64 {
    0
}

/// Whether CPUID reports an invariant TSC (x86-64 only).
fn tsc_invariant() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::__cpuid;
        // Leaf 0x8000_0000 reports the highest extended leaf; ask for 0x8000_0007 only then.
        let max_ext = __cpuid(0x8000_0000).eax;
        if max_ext < 0x8000_0007 {
            return false;
        }
        let edx = __cpuid(0x8000_0007).edx;
        edx & (1 << 8) != 0
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn tracks_instant_within_a_percent() {
        for clock in [Clock::new(), Clock::instant()] {
            let t0 = Instant::now();
            let c0 = clock.now_ns();
            std::thread::sleep(Duration::from_millis(30));
            let c1 = clock.now_ns();
            let real = t0.elapsed().as_nanos() as f64;
            let got = (c1 - c0) as f64;
            assert!(
                (got - real).abs() < real * 0.01 + 200_000.0,
                "tsc={} clock {got} ns vs Instant {real} ns",
                clock.is_tsc()
            );
        }
    }

    #[test]
    fn copies_share_the_origin_and_never_go_back() {
        let a = Clock::new();
        let b = a;
        let mut last = 0;
        for _ in 0..10_000 {
            let x = a.now_ns().max(b.now_ns());
            assert!(x + 1_000 >= last);
            last = last.max(x);
        }
    }
}
