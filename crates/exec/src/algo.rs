//! Parent orders, the [`Algo`] trait and the built-in algorithms.

use ferrex_types::{Price, Side};

use crate::market::Fill;

/// The order to execute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParentOrder {
    /// Buy or sell.
    pub side: Side,
    /// Lots to execute.
    pub qty: u64,
    /// Decision time (ns after midnight, the data's clock).
    pub start_ns: u64,
    /// Execution horizon (ns): orders still open at `start_ns + horizon_ns` are cancelled.
    pub horizon_ns: u64,
    /// Worst acceptable price (ticks), if any.
    pub limit: Option<Price>,
}

impl ParentOrder {
    /// End of the horizon.
    pub fn end_ns(&self) -> u64 {
        self.start_ns.saturating_add(self.horizon_ns)
    }
}

/// One of our live or in-flight child orders, as the algorithm sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenChild {
    /// The algorithm's tag.
    pub tag: u64,
    /// Limit price (ticks).
    pub price: i64,
    /// Open lots.
    pub leaves: u64,
    /// False until its arrival at the book is acknowledged (entry + ack latency).
    pub arrived: bool,
}

/// What an algorithm sees at a decision: the market as of `now − market-data latency`, and its own
/// state as acknowledged by `now` (acks, fills and ended children arrive `SimConfig::ack_ns`
/// after they happen).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MarketState {
    /// Decision time (ns).
    pub now: u64,
    /// Best real bid (ticks).
    pub best_bid: Option<i64>,
    /// Best real ask (ticks).
    pub best_ask: Option<i64>,
    /// Real market volume (executions and trades of the data, ours excluded) traded since the
    /// parent's start, as seen through the market-data latency.
    pub market_volume: u64,
    /// Our filled lots (acknowledged).
    pub filled: u64,
    /// Parent lots not yet filled.
    pub remaining: u64,
    /// Our open children (resting or in flight).
    pub open: Vec<OpenChild>,
    /// Tick size (price units per tick).
    pub tick: i64,
}

impl MarketState {
    /// Lots of our open children (resting or in flight).
    pub fn open_qty(&self) -> u64 {
        self.open.iter().map(|o| o.leaves).sum()
    }
}

/// Price of a child order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildPrice {
    /// Marketable: an IOC limit priced, when it reaches the book, at the far touch ±
    /// `SimConfig::marketable_band_ticks` (capped by the parent's limit); walks the book.
    Marketable,
    /// Passive GTC limit at this price (ticks).
    Limit(i64),
}

/// What an algorithm asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildAction {
    /// Send a new child. `tag` must be unique for the run.
    Place {
        /// The algorithm's tag.
        tag: u64,
        /// Price.
        price: ChildPrice,
        /// Lots.
        qty: u64,
        /// Iceberg display lots (0 = fully displayed; passive only).
        display: u64,
    },
    /// Cancel child `tag`.
    Cancel {
        /// The algorithm's tag.
        tag: u64,
    },
}

/// An execution algorithm. The simulator calls `on_start` once at the decision time, `on_tick`
/// every `SimConfig::tick_ns` until the horizon ends or the parent is filled, and `on_fill` for
/// each fill once its acknowledgement arrives (`SimConfig::ack_ns` after the fill).
pub trait Algo {
    /// Short name (`"twap"`).
    fn name(&self) -> &str;
    /// The parent starts.
    fn on_start(&mut self, parent: &ParentOrder, state: &MarketState) -> Vec<ChildAction>;
    /// A decision point.
    fn on_tick(&mut self, now: u64, state: &MarketState) -> Vec<ChildAction>;
    /// One of our children filled.
    fn on_fill(&mut self, _fill: &Fill) {}
}

/// The baseline: one marketable order for the whole quantity at the start; whatever the book
/// cannot give at once stays unfilled (opportunity cost).
#[derive(Clone, Debug, Default)]
pub struct Immediate;

impl Algo for Immediate {
    fn name(&self) -> &str {
        "immediate"
    }
    fn on_start(&mut self, p: &ParentOrder, _s: &MarketState) -> Vec<ChildAction> {
        vec![ChildAction::Place {
            tag: 1,
            price: ChildPrice::Marketable,
            qty: p.qty,
            display: 0,
        }]
    }
    fn on_tick(&mut self, _now: u64, _s: &MarketState) -> Vec<ChildAction> {
        Vec::new()
    }
}

/// TWAP: `n` equal marketable slices at `start + k·horizon/n`, k = 0..n; slice size `qty / n`,
/// the remainder `qty mod n` goes in the last slice. **Minimum slice rule**: if `qty / n` is below
/// `min_slice`, `n` becomes `max(1, qty / min_slice)`. Each slice sends the schedule's cumulative
/// target minus what is filled or in flight, so a slice the book could not fill carries over to
/// the next one.
#[derive(Clone, Debug)]
pub struct Twap {
    /// Requested slices.
    pub slices: u64,
    /// Minimum slice (lots).
    pub min_slice: u64,
    n: u64,
    qty: u64,
    start: u64,
    horizon: u64,
    done_slices: u64,
    tag: u64,
}

impl Twap {
    /// `slices` slices of at least `min_slice` lots.
    pub fn new(slices: u64, min_slice: u64) -> Twap {
        Twap {
            slices: slices.max(1),
            min_slice: min_slice.max(1),
            n: 1,
            qty: 0,
            start: 0,
            horizon: 0,
            done_slices: 0,
            tag: 0,
        }
    }

    /// Effective number of slices for `qty` (the minimum slice rule).
    pub fn effective_slices(&self, qty: u64) -> u64 {
        if qty / self.slices < self.min_slice {
            (qty / self.min_slice).max(1)
        } else {
            self.slices
        }
    }

    /// Cumulative scheduled lots after slice `k` (1-based).
    pub fn target_after(&self, k: u64) -> u64 {
        if k >= self.n {
            self.qty
        } else {
            k * (self.qty / self.n)
        }
    }

    fn fire(&mut self, now: u64, s: &MarketState) -> Vec<ChildAction> {
        let mut out = Vec::new();
        while self.done_slices < self.n
            && now >= self.start + self.done_slices * self.horizon / self.n
        {
            self.done_slices += 1;
        }
        let target = self.target_after(self.done_slices);
        let have = s.filled + s.open_qty();
        if target > have {
            self.tag += 1;
            out.push(ChildAction::Place {
                tag: self.tag,
                price: ChildPrice::Marketable,
                qty: (target - have).min(s.remaining),
                display: 0,
            });
        }
        out
    }
}

impl Algo for Twap {
    fn name(&self) -> &str {
        "twap"
    }
    fn on_start(&mut self, p: &ParentOrder, s: &MarketState) -> Vec<ChildAction> {
        self.qty = p.qty;
        self.n = self.effective_slices(p.qty);
        self.start = p.start_ns;
        self.horizon = p.horizon_ns;
        self.done_slices = 0;
        self.fire(p.start_ns, s)
    }
    fn on_tick(&mut self, now: u64, s: &MarketState) -> Vec<ChildAction> {
        self.fire(now, s)
    }
}

/// POV: at each tick, target = `rate × V` where V is the real market volume since the start
/// (ours excluded); it sends `target − (filled + in flight)` as a marketable child, capped at
/// `max_rate × ΔV` (ΔV = market volume since its previous child) so catching up never exceeds the
/// maximum participation, and skipped below `min_child` lots (unless it completes the parent).
#[derive(Clone, Debug)]
pub struct Pov {
    /// Target participation (0.1 = 10 %).
    pub rate: f64,
    /// Maximum participation of the volume since the previous child.
    pub max_rate: f64,
    /// Smallest child (lots).
    pub min_child: u64,
    last_v: u64,
    tag: u64,
}

impl Pov {
    /// A POV algorithm.
    pub fn new(rate: f64, max_rate: f64, min_child: u64) -> Pov {
        Pov {
            rate,
            max_rate: max_rate.max(rate),
            min_child: min_child.max(1),
            last_v: 0,
            tag: 0,
        }
    }
}

impl Algo for Pov {
    fn name(&self) -> &str {
        "pov"
    }
    fn on_start(&mut self, _p: &ParentOrder, s: &MarketState) -> Vec<ChildAction> {
        self.last_v = s.market_volume;
        Vec::new()
    }
    fn on_tick(&mut self, _now: u64, s: &MarketState) -> Vec<ChildAction> {
        let v = s.market_volume;
        let target = (self.rate * v as f64).floor() as u64;
        let have = s.filled + s.open_qty();
        if target <= have || s.remaining == 0 {
            return Vec::new();
        }
        let cap = (self.max_rate * v.saturating_sub(self.last_v) as f64).floor() as u64;
        let q = (target - have)
            .min(cap)
            .min(s.remaining.saturating_sub(s.open_qty()));
        if q == 0 || (q < self.min_child && q < s.remaining) {
            return Vec::new();
        }
        self.last_v = v;
        self.tag += 1;
        vec![ChildAction::Place {
            tag: self.tag,
            price: ChildPrice::Marketable,
            qty: q,
            display: 0,
        }]
    }
}

/// Iceberg: one passive order at our touch (best bid for a buy, best ask for a sell; capped by
/// the limit) showing `display` lots (the book's native iceberg: each refill joins the back of the
/// queue). When the touch moves away from our price by more than `repeg_ticks` ticks (bid above
/// our buy, ask below our sell), it cancels and re-places the remainder at the new touch.
#[derive(Clone, Debug)]
pub struct Iceberg {
    /// Display lots.
    pub display: u64,
    /// Re-peg threshold (ticks).
    pub repeg_ticks: i64,
    side: Side,
    limit: Option<i64>,
    tag: u64,
    price: Option<i64>,
}

impl Iceberg {
    /// An iceberg algorithm.
    pub fn new(display: u64, repeg_ticks: i64) -> Iceberg {
        Iceberg {
            display: display.max(1),
            repeg_ticks: repeg_ticks.max(0),
            side: Side::Buy,
            limit: None,
            tag: 0,
            price: None,
        }
    }

    fn touch(&self, s: &MarketState) -> Option<i64> {
        let t = match self.side {
            Side::Buy => s.best_bid?,
            Side::Sell => s.best_ask?,
        };
        Some(match (self.side, self.limit) {
            (Side::Buy, Some(l)) => t.min(l),
            (Side::Sell, Some(l)) => t.max(l),
            _ => t,
        })
    }

    fn place(&mut self, s: &MarketState) -> Vec<ChildAction> {
        let Some(px) = self.touch(s) else {
            return Vec::new();
        };
        let qty = s.remaining.saturating_sub(s.open_qty());
        if qty == 0 {
            return Vec::new();
        }
        self.tag += 1;
        self.price = Some(px);
        vec![ChildAction::Place {
            tag: self.tag,
            price: ChildPrice::Limit(px),
            qty,
            display: self.display,
        }]
    }
}

impl Algo for Iceberg {
    fn name(&self) -> &str {
        "iceberg"
    }
    fn on_start(&mut self, p: &ParentOrder, s: &MarketState) -> Vec<ChildAction> {
        self.side = p.side;
        self.limit = p.limit.map(|l| l.0);
        self.place(s)
    }
    fn on_tick(&mut self, _now: u64, s: &MarketState) -> Vec<ChildAction> {
        let mine = s.open.iter().find(|o| o.tag == self.tag).copied();
        let Some(touch) = self.touch(s) else {
            return Vec::new();
        };
        match (mine, self.price) {
            (Some(o), Some(px)) => {
                let away = match self.side {
                    Side::Buy => touch - px,
                    Side::Sell => px - touch,
                };
                if o.arrived && away > self.repeg_ticks * s.tick {
                    let mut v = vec![ChildAction::Cancel { tag: o.tag }];
                    let mut s2 = s.clone();
                    s2.open.retain(|c| c.tag != o.tag);
                    v.extend(self.place(&s2));
                    v
                } else {
                    Vec::new()
                }
            }
            _ => self.place(s),
        }
    }
}

/// The built-in algorithm called `name` with default parameters (`None` if unknown).
pub fn algo_by_name(name: &str) -> Option<Box<dyn Algo>> {
    Some(match name {
        "immediate" => Box::new(Immediate),
        "twap" => Box::new(Twap::new(10, 1)),
        "pov" => Box::new(Pov::new(0.1, 0.2, 1)),
        "iceberg" => Box::new(Iceberg::new(100, 1)),
        _ => return None,
    })
}

/// Names of the built-in algorithms.
pub const ALGOS: [&str; 4] = ["immediate", "twap", "pov", "iceberg"];
