//! `Engine`: sequencer + routing to books + event stamping.

use ferrex_book::{Book, BookConfig, BookConfigError};
use ferrex_types::{
    AccountId, Command, CommandKind, Event, EventKind, EventKindSink, EventSink, FnvHasher,
    InstrumentId, OrderId, RejectReason,
};
use std::hash::Hasher;

/// Engine configuration: one book configuration per instrument; `InstrumentId(i)` is
/// `instruments[i]`.
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    /// Book configuration of each instrument, indexed by instrument id.
    pub instruments: Vec<BookConfig>,
}

impl EngineConfig {
    /// One instrument (`InstrumentId(0)`) with the given book configuration.
    pub fn single(book: BookConfig) -> EngineConfig {
        EngineConfig {
            instruments: vec![book],
        }
    }
}

/// Configuration refused at start-up.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No instrument configured.
    #[error("engine config: `instruments` is empty; configure at least one instrument")]
    NoInstruments,
    /// A book configuration is invalid.
    #[error("engine config: instrument {instrument}: {source:?}")]
    Book {
        /// Index of the instrument.
        instrument: u32,
        /// What is wrong with it.
        source: BookConfigError,
    },
}

/// The engine: owns the books, numbers commands and events.
///
/// Cost: `process` is the book operation plus a few compares; GTD expiry costs one compare per
/// command unless an expiry is due.
pub struct Engine {
    books: Vec<Book>,
    cmd_seq: u64,
    event_seq: u64,
    last_time: u64,
    /// Earliest GTD expiry over all books (`u64::MAX` when none).
    next_expiry: u64,
}

/// Stamps book events with sequence numbers and forwards them to the user's sink.
struct Stamper<'a, S: EventSink> {
    event_seq: &'a mut u64,
    cmd_seq: u64,
    time: u64,
    sink: &'a mut S,
}

impl<S: EventSink> EventKindSink for Stamper<'_, S> {
    #[inline(always)]
    fn emit(&mut self, kind: EventKind) {
        *self.event_seq += 1;
        self.sink.on_event(&Event {
            seq: *self.event_seq,
            cmd_seq: self.cmd_seq,
            time: self.time,
            kind,
        });
    }
}

impl Engine {
    /// Build the engine and preallocate every book. Refuses an invalid configuration.
    pub fn new(cfg: EngineConfig) -> Result<Engine, EngineError> {
        if cfg.instruments.is_empty() {
            return Err(EngineError::NoInstruments);
        }
        let mut books = Vec::with_capacity(cfg.instruments.len());
        for (i, bc) in cfg.instruments.iter().enumerate() {
            let id = InstrumentId(i as u32);
            let book = Book::new(id, *bc).map_err(|source| EngineError::Book {
                instrument: i as u32,
                source,
            })?;
            books.push(book);
        }
        Ok(Engine {
            books,
            cmd_seq: 0,
            event_seq: 0,
            last_time: 0,
            next_expiry: u64::MAX,
        })
    }

    /// Process one command: sequence it, expire due GTD orders, apply it, emit its events.
    #[inline]
    pub fn process<S: EventSink>(&mut self, cmd: &Command, sink: &mut S) {
        let time = if cmd.time > self.last_time {
            cmd.time
        } else {
            self.last_time
        };
        self.last_time = time;
        self.cmd_seq += 1;
        let mut out = Stamper {
            event_seq: &mut self.event_seq,
            cmd_seq: self.cmd_seq,
            time,
            sink,
        };
        if time >= self.next_expiry {
            let mut next = u64::MAX;
            for book in self.books.iter_mut() {
                book.expire(time, &mut out);
                if let Some(t) = book.next_expiry() {
                    next = next.min(t);
                }
            }
            self.next_expiry = next;
        }
        match cmd.kind {
            CommandKind::New(ref o) => match self.books.get_mut(o.instrument.0 as usize) {
                Some(book) => {
                    book.new_order(o, time, &mut out);
                    if let Some(t) = book.next_expiry() {
                        self.next_expiry = self.next_expiry.min(t);
                    }
                }
                None => reject_unknown_instrument(o.order_id, o.account, o.instrument, &mut out),
            },
            CommandKind::Cancel(ref c) => match self.books.get_mut(c.instrument.0 as usize) {
                Some(book) => book.cancel(c, time, &mut out),
                None => reject_unknown_instrument(c.order_id, c.account, c.instrument, &mut out),
            },
            CommandKind::Modify(ref m) => match self.books.get_mut(m.instrument.0 as usize) {
                Some(book) => book.modify(m, time, &mut out),
                None => reject_unknown_instrument(m.order_id, m.account, m.instrument, &mut out),
            },
            CommandKind::MassCancel(ref mc) => match mc.instrument {
                Some(i) => match self.books.get_mut(i.0 as usize) {
                    Some(book) => book.mass_cancel(mc.account, time, &mut out),
                    None => reject_unknown_instrument(OrderId(0), mc.account, i, &mut out),
                },
                None => {
                    for book in self.books.iter_mut() {
                        book.mass_cancel(mc.account, time, &mut out);
                    }
                }
            },
            CommandKind::Risk(_) => out.emit(EventKind::Rejected {
                order_id: OrderId(0),
                account: AccountId(0),
                instrument: InstrumentId(0),
                reason: RejectReason::Malformed,
                limit: 0,
                value: 0,
            }),
        }
    }

    /// Process a batch of commands in order.
    pub fn process_all<S: EventSink>(&mut self, cmds: &[Command], sink: &mut S) {
        for c in cmds {
            self.process(c, sink);
        }
    }

    /// The book of an instrument.
    pub fn book(&self, id: InstrumentId) -> Option<&Book> {
        self.books.get(id.0 as usize)
    }

    /// Mutable access to a book (replay drivers use the book's replay helpers through it).
    pub fn book_mut(&mut self, id: InstrumentId) -> Option<&mut Book> {
        self.books.get_mut(id.0 as usize)
    }

    /// All books, indexed by instrument id.
    pub fn books(&self) -> &[Book] {
        &self.books
    }

    /// Commands processed so far (the last command sequence number).
    pub fn cmd_seq(&self) -> u64 {
        self.cmd_seq
    }

    /// Events emitted so far (the last event sequence number).
    pub fn event_seq(&self) -> u64 {
        self.event_seq
    }

    /// Engine time of the last command.
    pub fn time(&self) -> u64 {
        self.last_time
    }

    /// A hash of the whole engine state (every book's state hash and the sequence numbers).
    /// Two engines fed the same commands have the same state hash.
    pub fn state_hash(&self) -> u64 {
        let mut h = FnvHasher::default();
        h.write_u64(self.cmd_seq);
        h.write_u64(self.event_seq);
        for b in &self.books {
            h.write_u64(b.state_hash());
        }
        h.finish()
    }

    /// Bytes preallocated by all books.
    pub fn memory_bytes(&self) -> usize {
        self.books.iter().map(Book::memory_bytes).sum()
    }
}

#[inline(never)]
fn reject_unknown_instrument<K: EventKindSink>(
    order_id: OrderId,
    account: AccountId,
    instrument: InstrumentId,
    out: &mut K,
) {
    out.emit(EventKind::Rejected {
        order_id,
        account,
        instrument,
        reason: RejectReason::UnknownInstrument,
        limit: 0,
        value: i64::from(instrument.0),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrex_types::*;

    fn two_books() -> Engine {
        let b = BookConfig {
            max_orders: 1024,
            dense_levels: 256,
            level_events: false,
            ..BookConfig::default()
        };
        Engine::new(EngineConfig {
            instruments: vec![b, b],
        })
        .unwrap()
    }

    fn new(
        id: u64,
        account: u32,
        instrument: u32,
        side: Side,
        price: i64,
        qty: u64,
    ) -> CommandKind {
        CommandKind::New(NewOrder {
            order_id: OrderId(id),
            account: AccountId(account),
            instrument: InstrumentId(instrument),
            side,
            price: Price(price),
            qty: Qty(qty),
            ..NewOrder::default()
        })
    }

    #[test]
    fn empty_config_is_refused() {
        assert!(matches!(
            Engine::new(EngineConfig::default()),
            Err(EngineError::NoInstruments)
        ));
        let bad = BookConfig {
            tick_size: 0,
            ..BookConfig::default()
        };
        let err = Engine::new(EngineConfig::single(bad)).err().unwrap();
        assert!(err.to_string().contains("instrument 0"), "{err}");
    }

    #[test]
    fn unknown_instrument_is_rejected_not_a_panic() {
        let mut e = two_books();
        let mut ev: Vec<Event> = Vec::new();
        e.process(&Command::new(1, new(1, 1, 7, Side::Buy, 100, 1)), &mut ev);
        e.process(
            &Command::new(
                2,
                CommandKind::Cancel(CancelOrder {
                    order_id: OrderId(1),
                    account: AccountId(1),
                    instrument: InstrumentId(u32::MAX),
                }),
            ),
            &mut ev,
        );
        assert_eq!(ev.len(), 2);
        for x in &ev {
            assert!(matches!(
                x.kind,
                EventKind::Rejected {
                    reason: RejectReason::UnknownInstrument,
                    ..
                }
            ));
        }
    }

    #[test]
    fn sequence_numbers_and_time_clamp() {
        let mut e = two_books();
        let mut ev: Vec<Event> = Vec::new();
        e.process(
            &Command::new(100, new(1, 1, 0, Side::Sell, 100, 5)),
            &mut ev,
        );
        // Time going backwards is clamped to the last time seen.
        e.process(&Command::new(50, new(2, 2, 0, Side::Buy, 100, 5)), &mut ev);
        assert_eq!(e.cmd_seq(), 2);
        assert_eq!(e.time(), 100);
        assert!(ev.iter().all(|x| x.time == 100));
        assert_eq!(ev.last().unwrap().cmd_seq, 2);
        let seqs: Vec<u64> = ev.iter().map(|x| x.seq).collect();
        assert_eq!(seqs, (1..=ev.len() as u64).collect::<Vec<_>>());
        assert!(
            ev.iter()
                .any(|x| matches!(x.kind, EventKind::Trade { qty: Qty(5), .. }))
        );
        assert_eq!(e.event_seq(), ev.len() as u64);
    }

    #[test]
    fn mass_cancel_all_instruments_or_one() {
        let mut e = two_books();
        let mut ev: Vec<Event> = Vec::new();
        e.process(&Command::new(1, new(1, 9, 0, Side::Buy, 100, 5)), &mut ev);
        e.process(&Command::new(2, new(2, 9, 1, Side::Buy, 100, 5)), &mut ev);
        e.process(&Command::new(3, new(3, 8, 1, Side::Buy, 99, 5)), &mut ev);
        ev.clear();
        let mc = |instrument| {
            Command::new(
                4,
                CommandKind::MassCancel(MassCancel {
                    account: AccountId(9),
                    instrument,
                }),
            )
        };
        e.process(&mc(Some(InstrumentId(1))), &mut ev);
        assert_eq!(ev.len(), 1);
        assert!(matches!(
            ev[0].kind,
            EventKind::Cancelled {
                order_id: OrderId(2),
                reason: CancelReason::MassCancel,
                ..
            }
        ));
        ev.clear();
        e.process(&mc(None), &mut ev);
        assert_eq!(ev.len(), 1);
        assert!(matches!(
            ev[0].kind,
            EventKind::Cancelled {
                order_id: OrderId(1),
                ..
            }
        ));
        assert_eq!(e.book(InstrumentId(1)).unwrap().live_orders(), 1);
    }

    #[test]
    fn gtd_orders_expire_before_the_next_command() {
        let mut e = two_books();
        let mut ev: Vec<Event> = Vec::new();
        let mut o = NewOrder {
            order_id: OrderId(1),
            account: AccountId(1),
            side: Side::Buy,
            price: Price(100),
            qty: Qty(5),
            tif: TimeInForce::Gtd,
            expire_time: 500,
            ..NewOrder::default()
        };
        e.process(&Command::new(10, CommandKind::New(o)), &mut ev);
        o.order_id = OrderId(2);
        o.instrument = InstrumentId(1);
        o.expire_time = 400;
        e.process(&Command::new(20, CommandKind::New(o)), &mut ev);
        ev.clear();
        e.process(&Command::new(450, new(3, 2, 0, Side::Buy, 90, 1)), &mut ev);
        assert!(
            matches!(
                ev[0].kind,
                EventKind::Expired {
                    order_id: OrderId(2),
                    ..
                }
            ),
            "{ev:?}"
        );
        ev.clear();
        e.process(&Command::new(500, new(4, 2, 0, Side::Buy, 90, 1)), &mut ev);
        assert!(
            matches!(
                ev[0].kind,
                EventKind::Expired {
                    order_id: OrderId(1),
                    ..
                }
            ),
            "{ev:?}"
        );
    }
}
