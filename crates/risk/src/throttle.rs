//! Message throttle: two token buckets on engine time (the rate, and the halt threshold).

/// Outcome of one message through the throttle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Throttle {
    /// Under the rate.
    Pass,
    /// Over the rate: reject the message.
    Throttled,
    /// Over the halt threshold: reject and halt the account.
    Halt,
}

/// Token buckets. Tokens are kept scaled by `window` (one message = `window` units), so a
/// refill of `rate` messages per `window` ns is `elapsed × rate` units: integer-exact, no
/// division on the hot path.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Bucket {
    /// Messages per window; 0 = throttle off.
    pub rate: u64,
    /// Halt threshold (messages per window); 0 = never halt.
    pub halt: u64,
    pub window: u64,
    pub halt_ns: u64,
    /// rate × window and halt × window (bucket capacities).
    cap: u64,
    halt_cap: u64,
    tokens: u64,
    halt_tokens: u64,
    last: u64,
}

impl Bucket {
    pub(crate) fn new(rate: u64, window: u64, halt: u64, halt_ns: u64) -> Bucket {
        let mut b = Bucket {
            rate,
            halt,
            window,
            halt_ns,
            cap: 0,
            halt_cap: 0,
            tokens: 0,
            halt_tokens: 0,
            last: 0,
        };
        b.fill();
        b
    }

    /// Refill both buckets completely (start-up, rate change, reset).
    pub(crate) fn fill(&mut self) {
        self.cap = self.rate.saturating_mul(self.window);
        self.halt_cap = self.halt.saturating_mul(self.window);
        self.tokens = self.cap;
        self.halt_tokens = self.halt_cap;
    }

    /// Change the rate; tokens are clamped to the new capacity.
    pub(crate) fn set_rate(&mut self, rate: u64) {
        // Keep rate × window (and halt × window) within 64 bits.
        let max = u64::MAX / self.window.max(1) / 2;
        let rate = rate.min(max);
        self.rate = rate;
        if self.halt != 0 && self.halt <= rate {
            self.halt = rate + 1;
        }
        let tokens = self.tokens;
        let halt_tokens = self.halt_tokens;
        self.fill();
        self.tokens = self.tokens.min(tokens);
        self.halt_tokens = self.halt_tokens.min(halt_tokens);
    }

    /// Every field, for snapshots: `[rate, halt, window, halt_ns, cap, halt_cap, tokens,
    /// halt_tokens, last]`.
    pub(crate) fn raw(&self) -> [u64; 9] {
        [
            self.rate,
            self.halt,
            self.window,
            self.halt_ns,
            self.cap,
            self.halt_cap,
            self.tokens,
            self.halt_tokens,
            self.last,
        ]
    }

    /// The bucket [`Bucket::raw`] returned (snapshots; the caller validates the values).
    pub(crate) fn from_raw(v: [u64; 9]) -> Bucket {
        Bucket {
            rate: v[0],
            halt: v[1],
            window: v[2],
            halt_ns: v[3],
            cap: v[4],
            halt_cap: v[5],
            tokens: v[6],
            halt_tokens: v[7],
            last: v[8],
        }
    }

    /// Count one message at `now`. Costs a few multiplies and compares.
    #[inline(always)]
    pub(crate) fn take(&mut self, now: u64) -> Throttle {
        if self.rate == 0 {
            return Throttle::Pass;
        }
        let w = self.window;
        // 0 when time has not moved on (then nothing refills).
        let dt = now.saturating_sub(self.last);
        if dt >= w {
            return self.take_refilled(now);
        }
        // dt < window: dt × rate < window × rate, which fits (validated, or clamped by
        // `set_rate`); tokens ≤ capacity, so the sum fits too. With dt = 0 both are unchanged
        // (tokens never exceed their capacity).
        self.last += dt;
        let t = (self.tokens + dt * self.rate).min(self.cap);
        let mut h = (self.halt_tokens + dt * self.halt).min(self.halt_cap);
        if self.halt != 0 {
            if h < w {
                self.tokens = t;
                self.halt_tokens = h;
                return Throttle::Halt;
            }
            h -= w;
        }
        self.halt_tokens = h;
        if t < w {
            self.tokens = t;
            return Throttle::Throttled;
        }
        self.tokens = t - w;
        Throttle::Pass
    }

    /// `take` after a whole window or more (or with a zero window): the general form.
    #[cold]
    #[inline(never)]
    fn take_refilled(&mut self, now: u64) -> Throttle {
        let w = self.window;
        if now > self.last {
            self.last = now;
            self.fill();
        }
        if self.halt != 0 {
            if self.halt_tokens < w {
                return Throttle::Halt;
            }
            self.halt_tokens -= w;
        }
        if self.tokens < w {
            return Throttle::Throttled;
        }
        self.tokens -= w;
        Throttle::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_then_halt_then_refill() {
        let mut b = Bucket::new(3, 1000, 5, 0);
        assert_eq!(b.take(0), Throttle::Pass);
        assert_eq!(b.take(0), Throttle::Pass);
        assert_eq!(b.take(0), Throttle::Pass);
        assert_eq!(b.take(0), Throttle::Throttled); // 4th: over the rate
        assert_eq!(b.take(0), Throttle::Throttled); // 5th: still under the halt threshold
        assert_eq!(b.take(0), Throttle::Halt); // 6th: beyond the halt threshold
        // One third of a window refills one message.
        let mut b = Bucket::new(3, 999, 0, 0);
        for _ in 0..3 {
            assert_eq!(b.take(10), Throttle::Pass);
        }
        assert_eq!(b.take(10 + 332), Throttle::Throttled);
        assert_eq!(b.take(10 + 333), Throttle::Pass);
        assert_eq!(b.take(u64::MAX), Throttle::Pass); // no overflow at the end of time
    }
}
