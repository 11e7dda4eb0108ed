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
#[derive(Clone, Copy, Debug)]
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
    /// Derived (not serialized; [`Bucket::derive`]): the tokens of each bucket one message
    /// below full, `cap − window` and `halt_cap − window` (0 with no halt threshold).
    cap_w: u64,
    halt_cap_w: u64,
    /// Derived: the time in which both buckets refill one message, `⌈window / rate⌉` and
    /// `⌈window / halt⌉` whichever is longer, so a bucket at most one message below full is
    /// full again after it.
    refill_ns: u64,
    /// Derived: `refill_ns − 1` (wrapping; used only while `refill_ns ≥ 1`), the shortcut's
    /// step to its next `fast_after`.
    refill_m1: u64,
    /// Derived ([`Bucket::rearm`]): `take` at a time after this one is the full-bucket
    /// shortcut (both buckets at most one message below full, `refill_ns` elapsed):
    /// `last + refill_ns − 1` while the buckets are that full, the throttle is on and
    /// `refill_ns ≥ 1`; else `u64::MAX` (never: the general form decides).
    fast_after: u64,
}

impl Default for Bucket {
    /// Throttle off, every field 0 (`fast_after` never).
    fn default() -> Bucket {
        Bucket::new(0, 0, 0, 0)
    }
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
            cap_w: 0,
            halt_cap_w: 0,
            refill_ns: 0,
            refill_m1: u64::MAX,
            fast_after: u64::MAX,
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
        self.derive();
    }

    /// Set the derived fields from the rate, halt threshold, window and capacities (after any
    /// of them changes).
    fn derive(&mut self) {
        let w = self.window;
        self.cap_w = self.cap.saturating_sub(w);
        self.halt_cap_w = self.halt_cap.saturating_sub(w);
        let per = |r: u64| if r == 0 { 0 } else { w.div_ceil(r) };
        self.refill_ns = per(self.rate).max(per(self.halt));
        self.refill_m1 = self.refill_ns.wrapping_sub(1);
        self.rearm();
    }

    /// Set `fast_after` from the state (after anything but the shortcut itself changes it).
    #[inline(always)]
    fn rearm(&mut self) {
        self.fast_after = if self.rate != 0
            && self.refill_ns != 0
            && self.tokens >= self.cap_w
            && self.halt_tokens >= self.halt_cap_w
        {
            self.last.saturating_add(self.refill_ns - 1)
        } else {
            u64::MAX
        };
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
        self.rearm();
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
        let mut b = Bucket {
            rate: v[0],
            halt: v[1],
            window: v[2],
            halt_ns: v[3],
            cap: v[4],
            halt_cap: v[5],
            tokens: v[6],
            halt_tokens: v[7],
            last: v[8],
            cap_w: 0,
            halt_cap_w: 0,
            refill_ns: 0,
            refill_m1: u64::MAX,
            fast_after: u64::MAX,
        };
        b.derive();
        b
    }

    /// Count one message at `now`. An account under its rate (the usual case) costs one
    /// compare and four stores; else a few multiplies and compares.
    #[inline(always)]
    pub(crate) fn take(&mut self, now: u64) -> Throttle {
        if now > self.fast_after {
            // `now ≥ last + refill_ns` with both buckets at most one message below full: the
            // shortcut below, with `dt = now − last`.
            self.last = now;
            self.tokens = self.cap_w;
            self.halt_tokens = self.halt_cap_w;
            // refill_ns ≥ 1 (else `fast_after` is never set).
            self.fast_after = now.saturating_add(self.refill_m1);
            return Throttle::Pass;
        }
        self.take_general(now)
    }

    /// `take` when `now ≤ fast_after`: the general form (`fast_after` is a sufficient test,
    /// not an exact one: the shortcut may still apply, and then rearms it).
    #[inline(always)]
    fn take_general(&mut self, now: u64) -> Throttle {
        if self.rate == 0 {
            return Throttle::Pass;
        }
        let w = self.window;
        // 0 when time has not moved on (then nothing refills).
        let dt = now.saturating_sub(self.last);
        if dt >= self.refill_ns && self.tokens >= self.cap_w && self.halt_tokens >= self.halt_cap_w
        {
            // Both buckets at most one message below full (an account under its rate, the
            // usual case) and `refill_ns` elapsed: the refill fills them and the message
            // takes one, which leaves them where they are or one below (`rate ≥ 1`:
            // `cap ≥ w`; a halt threshold ≥ 1: `halt_cap ≥ w`). Only the time moves on.
            self.last += dt;
            self.tokens = self.cap_w;
            self.halt_tokens = self.halt_cap_w;
            self.fast_after = if self.refill_ns != 0 {
                self.last.saturating_add(self.refill_ns - 1)
            } else {
                u64::MAX
            };
            return Throttle::Pass;
        }
        // Tokens are taken below: no shortcut until the next one (or a refill) rearms it.
        self.fast_after = u64::MAX;
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
        // A message is taken below: no shortcut until the next one rearms it.
        self.fast_after = u64::MAX;
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

    /// `take` without the full-bucket shortcut: the refill, then the two buckets, as written
    /// before the shortcut existed.
    fn take_plain(b: &mut Bucket, now: u64) -> Throttle {
        if b.rate == 0 {
            return Throttle::Pass;
        }
        let w = b.window;
        let dt = now.saturating_sub(b.last);
        if dt >= w {
            return b.take_refilled(now);
        }
        b.last += dt;
        let t = (b.tokens + dt * b.rate).min(b.cap);
        let mut h = (b.halt_tokens + dt * b.halt).min(b.halt_cap);
        if b.halt != 0 {
            if h < w {
                b.tokens = t;
                b.halt_tokens = h;
                return Throttle::Halt;
            }
            h -= w;
        }
        b.halt_tokens = h;
        if t < w {
            b.tokens = t;
            return Throttle::Throttled;
        }
        b.tokens = t - w;
        Throttle::Pass
    }

    /// The shortcut of `take` for buckets at most one message below full gives the same
    /// answers and leaves the same state as the plain refill, over bursts, gaps of every size
    /// around the refill time, windows not a multiple of the rate, and no halt threshold,
    /// from time 0 and up to the end of time; `fast_after`, when set, is what the state gives.
    #[test]
    fn full_bucket_shortcut_matches_plain_refill() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for (rate, window, halt) in [
            (3, 1000, 5),
            (3, 999, 0),
            (1, 7, 2),
            (1000, 1_000_000, 1500),
            (7, 100, 8),
            (5, 0, 6),
            (1, 1, 0),
            (2, 3, 0),
        ] {
            for start in [0, u64::MAX - 40_000_000] {
                let mut fast = Bucket::new(rate, window, halt, 0);
                let mut plain = fast;
                let mut now = start;
                for _ in 0..20_000 {
                    let refill = window.div_ceil(rate).max(1);
                    now = now.saturating_add(match next() % 4 {
                        0 => 0,
                        1 => next() % refill,
                        2 => refill - 1 + next() % 3,
                        _ => next() % (2 * window.max(1)),
                    });
                    let a = fast.take(now);
                    let b = take_plain(&mut plain, now);
                    assert_eq!(a, b, "rate {rate} window {window} halt {halt} at {now}");
                    assert_eq!(
                        fast.raw(),
                        plain.raw(),
                        "rate {rate} window {window} at {now}"
                    );
                    // Sufficient: set only when the state gives exactly that time.
                    let mut exact = fast;
                    exact.rearm();
                    if fast.fast_after != u64::MAX {
                        assert_eq!(fast.fast_after, exact.fast_after, "rate {rate} at {now}");
                    }
                    if a == Throttle::Halt {
                        fast.fill();
                        plain.fill();
                    }
                }
            }
        }
    }
}
