//! Volatility interruption: the range of trade prices over a sliding window.

/// Two buckets of trade-price range (min, max): the current one and the previous one. A trade is
/// compared with every trade of both, so any two trades less than `window` ns apart are always
/// compared (pairs up to 2 × `window` apart may be too: the check errs on the safe side).
/// O(1) per trade, no buffer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Velocity {
    pub on: bool,
    /// The current and the previous bucket hold trades (kept here rather than in [`Range`],
    /// so the instrument record does not grow by the padding of two flags).
    cur_live: bool,
    prev_live: bool,
    /// Largest allowed high − low, in price units (ticks × tick_size).
    pub max_move: i64,
    pub window: u64,
    pub halt_ns: u64,
    cur: Range,
    prev: Range,
    /// Derived (not serialized; 0 after a restore or reset): the end of the current bucket,
    /// `cur.start + window` (saturating), while the last trade raised no move; else 0. Before
    /// it, a trade within the current bucket's range changes nothing but its time and raises
    /// no move either: the range, the previous bucket and so the move are the last trade's.
    quiet_end: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Range {
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
        [(self.cur_live, self.cur), (self.prev_live, self.prev)]
            .map(|(live, r)| (live, r.start, r.last, r.lo, r.hi))
    }

    /// Sets both buckets from [`Velocity::ranges`] (snapshots).
    pub(crate) fn set_ranges(&mut self, r: [(bool, u64, u64, i64, i64); 2]) {
        let [cur, prev] = r.map(|(live, start, last, lo, hi)| {
            (
                live,
                Range {
                    start,
                    last,
                    lo,
                    hi,
                },
            )
        });
        (self.cur_live, self.cur) = cur;
        (self.prev_live, self.prev) = prev;
        self.quiet_end = 0;
    }

    /// Forget the history (after a halt: the next trade starts a new reference).
    pub(crate) fn reset(&mut self) {
        self.cur_live = false;
        self.prev_live = false;
        self.quiet_end = 0;
    }

    /// Record a trade; returns `Some(move)` when high − low over the window exceeds the limit.
    /// A trade within the current bucket's range while the last one raised no move (the usual
    /// case) only records its time (see `quiet_end`).
    #[inline(always)]
    pub(crate) fn on_trade(&mut self, now: u64, price: i64) -> Option<i64> {
        if now < self.quiet_end && price >= self.cur.lo && price <= self.cur.hi {
            self.cur.last = now;
            return None;
        }
        self.on_trade_slow(now, price)
    }

    /// `on_trade` of a trade outside the current bucket's range or after it, or after a move.
    #[inline]
    fn on_trade_slow(&mut self, now: u64, price: i64) -> Option<i64> {
        if !self.cur_live || now >= self.cur.start.saturating_add(self.window) {
            if self.cur_live && now.saturating_sub(self.cur.last) < self.window {
                self.prev = self.cur;
                self.prev_live = true;
            } else {
                self.prev_live = false;
            }
            self.cur_live = true;
            self.cur = Range {
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
        if self.prev_live {
            lo = lo.min(self.prev.lo);
            hi = hi.max(self.prev.hi);
        }
        // hi ≥ lo: the difference only overflows above i64::MAX, where it saturates.
        let mv = hi.checked_sub(lo).unwrap_or(i64::MAX);
        if mv > self.max_move {
            self.quiet_end = 0;
            Some(mv)
        } else {
            self.quiet_end = self.cur.start.saturating_add(self.window);
            None
        }
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
