//! Market-maker protection: fills of MMP-flagged orders counted in a window.

/// Per-account MMP counters. The window is tumbling: it opens at the first fill after the
/// previous one closed and lasts `window` ns, so a burst that straddles two windows can reach up
/// to twice the limits before it trips.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Mmp {
    pub on: bool,
    pub window: u64,
    /// Trips when the window's filled lots exceed this (u64::MAX = off).
    pub max_qty: u64,
    /// Trips when the window's fill count exceeds this (u32::MAX = off).
    pub max_count: u32,
    /// Freeze length (0 = until reset).
    pub freeze_ns: u64,
    start: u64,
    qty: u64,
    count: u32,
}

/// What tripped, for the reject/limit report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MmpTrip {
    No,
    Qty,
    Count,
}

impl Mmp {
    pub(crate) fn new(
        window: u64,
        max_qty: Option<u64>,
        max_count: Option<u32>,
        freeze_ns: u64,
    ) -> Mmp {
        Mmp {
            on: true,
            window,
            max_qty: max_qty.unwrap_or(u64::MAX),
            max_count: max_count.unwrap_or(u32::MAX),
            freeze_ns,
            ..Mmp::default()
        }
    }

    /// The open window (start, lots, fills), for snapshots.
    pub(crate) fn window_state(&self) -> (u64, u64, u32) {
        (self.start, self.qty, self.count)
    }

    /// Sets the open window (snapshots).
    pub(crate) fn set_window_state(&mut self, start: u64, qty: u64, count: u32) {
        self.start = start;
        self.qty = qty;
        self.count = count;
    }

    /// Clear the window (after a trip or a reset).
    pub(crate) fn reset(&mut self) {
        self.qty = 0;
        self.count = 0;
    }

    /// Count one fill of `qty` lots at `now`.
    #[inline]
    pub(crate) fn on_fill(&mut self, now: u64, qty: u64) -> MmpTrip {
        if self.count == 0 || now >= self.start.saturating_add(self.window) {
            self.start = now;
            self.qty = 0;
            self.count = 0;
        }
        self.qty = self.qty.saturating_add(qty);
        self.count = self.count.saturating_add(1);
        if self.qty > self.max_qty {
            MmpTrip::Qty
        } else if self.count > self.max_count {
            MmpTrip::Count
        } else {
            MmpTrip::No
        }
    }
}
