//! Volatility interruption: the range of trade prices over a sliding window.

/// Two buckets of trade-price range (min, max): the current one and the previous one. A trade is
/// compared with every trade of both, so any two trades less than `window` ns apart are always
/// compared (pairs up to 2 × `window` apart may be too: the check errs on the safe side).
/// O(1) per trade, no buffer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Velocity {
    pub on: bool,
    /// Largest allowed high − low, in price units (ticks × tick_size).
    pub max_move: i64,
    pub window: u64,
    pub halt_ns: u64,
    cur: Range,
    prev: Range,
}

#[derive(Clone, Copy, Debug, Default)]
struct Range {
    live: bool,
    start: u64,
    last: u64,
    lo: i64,
    hi: i64,
}

impl Velocity {
    pub(crate) fn new(max_move: i64, window: u64, halt_ns: u64) -> Velocity {
        Velocity {
            on: true,
            max_move,
            window,
            halt_ns,
            ..Velocity::default()
        }
    }

    /// The current and previous buckets as `(live, start, last, lo, hi)`, for snapshots.
    pub(crate) fn ranges(&self) -> [(bool, u64, u64, i64, i64); 2] {
        [self.cur, self.prev].map(|r| (r.live, r.start, r.last, r.lo, r.hi))
    }

    /// Sets both buckets from [`Velocity::ranges`] (snapshots).
    pub(crate) fn set_ranges(&mut self, r: [(bool, u64, u64, i64, i64); 2]) {
        let [cur, prev] = r.map(|(live, start, last, lo, hi)| Range {
            live,
            start,
            last,
            lo,
            hi,
        });
        self.cur = cur;
        self.prev = prev;
    }

    /// Forget the history (after a halt: the next trade starts a new reference).
    pub(crate) fn reset(&mut self) {
        self.cur.live = false;
        self.prev.live = false;
    }

    /// Record a trade; returns `Some(move)` when high − low over the window exceeds the limit.
    #[inline]
    pub(crate) fn on_trade(&mut self, now: u64, price: i64) -> Option<i64> {
        if !self.cur.live || now >= self.cur.start.saturating_add(self.window) {
            if self.cur.live && now.saturating_sub(self.cur.last) < self.window {
                self.prev = self.cur;
            } else {
                self.prev.live = false;
            }
            self.cur = Range {
                live: true,
                start: now,
                last: now,
                lo: price,
                hi: price,
            };
        } else {
            self.cur.lo = self.cur.lo.min(price);
            self.cur.hi = self.cur.hi.max(price);
            self.cur.last = now;
        }
        let (mut lo, mut hi) = (self.cur.lo, self.cur.hi);
        if self.prev.live {
            lo = lo.min(self.prev.lo);
            hi = hi.max(self.prev.hi);
        }
        // hi ≥ lo: the difference only overflows above i64::MAX, where it saturates.
        let mv = hi.checked_sub(lo).unwrap_or(i64::MAX);
        if mv > self.max_move { Some(mv) } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_within_window_are_compared() {
        let mut v = Velocity::new(10, 100, 1000);
        assert_eq!(v.on_trade(0, 100), None);
        assert_eq!(v.on_trade(90, 100), None);
        // New bucket at 100; the previous one (last trade at 90) is kept.
        assert_eq!(v.on_trade(150, 110), None); // move 10 = limit: allowed
        assert_eq!(v.on_trade(160, 111), Some(11));
        // Far apart: no halt.
        let mut v = Velocity::new(10, 100, 1000);
        assert_eq!(v.on_trade(0, 100), None);
        assert_eq!(v.on_trade(500, 200), None);
        assert_eq!(v.on_trade(u64::MAX, i64::MAX), None);
        assert_eq!(v.on_trade(u64::MAX, 1), Some(i64::MAX - 1));
    }
}
