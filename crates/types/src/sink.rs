//! Where events go: sink traits, and three sinks every user needs (a `Vec`, a counter, a hasher).

use crate::{Event, EventKind};
use core::hash::{Hash, Hasher};

/// Receives the events of a book operation, before the engine stamps them with sequence numbers.
/// Implemented by the engine's stamping adapter and by test collectors. Must not allocate on the
/// hot path (a `Vec` sink allocates only when it grows).
pub trait EventKindSink {
    /// One event.
    fn emit(&mut self, kind: EventKind);
}

/// Receives the engine's stamped events. Implement it for a ring, a journal, a counter.
pub trait EventSink {
    /// One event. Called in sequence order.
    fn on_event(&mut self, ev: &Event);
}

impl EventKindSink for Vec<EventKind> {
    #[inline]
    fn emit(&mut self, kind: EventKind) {
        self.push(kind);
    }
}

impl EventSink for Vec<Event> {
    #[inline]
    fn on_event(&mut self, ev: &Event) {
        self.push(*ev);
    }
}

/// The null sink: discards every event (useful under a [`HashingSink`] that only hashes).
impl EventSink for () {
    #[inline(always)]
    fn on_event(&mut self, _ev: &Event) {}
}

impl<S: EventSink + ?Sized> EventSink for &mut S {
    #[inline]
    fn on_event(&mut self, ev: &Event) {
        (**self).on_event(ev)
    }
}

/// Counts events by kind; costs one add per event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountingSink {
    /// All events.
    pub events: u64,
    /// Trades.
    pub trades: u64,
    /// Lots traded.
    pub volume: u64,
    /// Rejects.
    pub rejects: u64,
    /// Cancels (any reason) and expiries.
    pub cancels: u64,
}

impl EventSink for CountingSink {
    #[inline(always)]
    fn on_event(&mut self, ev: &Event) {
        self.events += 1;
        match ev.kind {
            EventKind::Trade { qty, .. } => {
                self.trades += 1;
                self.volume += qty.0;
            }
            EventKind::Rejected { .. } => self.rejects += 1,
            EventKind::Cancelled { .. } | EventKind::Expired { .. } => self.cancels += 1,
            _ => {}
        }
    }
}

/// 64-bit FNV-1a, fixed seed: a deterministic hasher for state and event-stream hashes (the same
/// input gives the same hash in every process, unlike `std`'s randomly seeded hasher).
#[derive(Clone, Copy, Debug)]
pub struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Wraps a sink and keeps a running hash of every event passed through it (FNV-1a over the
/// event's fields). Two runs with the same hash emitted the same event stream.
#[derive(Debug, Default)]
pub struct HashingSink<S> {
    hasher: FnvHasher,
    /// The wrapped sink.
    pub inner: S,
}

impl<S> HashingSink<S> {
    /// Wrap `inner`.
    pub fn new(inner: S) -> Self {
        HashingSink {
            hasher: FnvHasher::default(),
            inner,
        }
    }
    /// The running hash of all events so far.
    pub fn hash(&self) -> u64 {
        self.hasher.finish()
    }
}

impl<S: EventSink> EventSink for HashingSink<S> {
    #[inline]
    fn on_event(&mut self, ev: &Event) {
        ev.hash(&mut self.hasher);
        self.inner.on_event(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    fn ev(seq: u64) -> Event {
        Event {
            seq,
            cmd_seq: seq,
            time: 7,
            kind: EventKind::Accepted {
                order_id: OrderId(seq),
                account: AccountId(1),
                instrument: InstrumentId(0),
                side: Side::Buy,
                price: Price(100),
                qty: Qty(5),
            },
        }
    }

    #[test]
    fn hashing_sink_is_deterministic_and_order_sensitive() {
        let mut a = HashingSink::new(Vec::new());
        let mut b = HashingSink::new(Vec::new());
        let mut c = HashingSink::new(Vec::new());
        for s in 1..=3 {
            a.on_event(&ev(s));
            b.on_event(&ev(s));
        }
        for s in [2, 1, 3] {
            c.on_event(&ev(s));
        }
        assert_eq!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
        assert_eq!(a.inner.len(), 3);
    }

    #[test]
    fn counting_sink_counts_by_kind() {
        let mut s = CountingSink::default();
        s.on_event(&ev(1));
        let mut t = ev(2);
        t.kind = EventKind::Trade {
            instrument: InstrumentId(0),
            price: Price(1),
            qty: Qty(9),
            maker_order_id: OrderId(1),
            taker_order_id: OrderId(2),
            maker_leaves: Qty(0),
            taker_leaves: Qty(0),
            maker_account: AccountId(1),
            taker_account: AccountId(2),
            aggressor: Side::Sell,
        };
        s.on_event(&t);
        assert_eq!((s.events, s.trades, s.volume), (2, 1, 9));
    }
}
