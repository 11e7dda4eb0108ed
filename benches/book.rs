//! Order-book operations (ferrex-book directly, no engine around it).
//!
//! - `add_existing_level`: a new limit order joining a level that already has orders.
//! - `cancel`: cancel by id of a resting order (from the middle of a deep level).
//! - `sweep_5_levels`: one aggressive order taking 5 price levels of 2 orders each.
//! - `itch_like_mixed`: a seeded synthetic stream (adds near the touch, cancels, executions,
//!   replaces), per message.
//! - `quantcup_feed`: the QuantCup feed (`tests/data/qc_orders.csv`), per message.
//!
//! `cargo bench --bench book`. Only the measured operations are timed (`iter_custom`); book
//! construction and clean-up are not.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ferrex_book::{Book, BookConfig};
use ferrex_types::{
    AccountId, CancelOrder, EventKind, EventKindSink, InstrumentId, ModifyOrder, NewOrder, OrdType,
    OrderId, Price, Qty, Side, TimeInForce,
};

const INST: InstrumentId = InstrumentId(1);

/// Counts events; the cheapest sink that still looks at every event.
#[derive(Default)]
struct Count(u64);

impl EventKindSink for Count {
    #[inline(always)]
    fn emit(&mut self, kind: EventKind) {
        self.0 += 1;
        black_box(&kind);
    }
}

fn cfg() -> BookConfig {
    BookConfig {
        max_orders: 1 << 17,
        dense_levels: 1 << 12,
        sparse_levels: 256,
        anchor: Some(Price(10_000)),
        ..BookConfig::default()
    }
}

fn limit(id: u64, side: Side, price: i64, qty: u64, account: u32) -> NewOrder {
    NewOrder {
        order_id: OrderId(id),
        price: Price(price),
        qty: Qty(qty),
        account: AccountId(account),
        instrument: INST,
        side,
        ..NewOrder::default()
    }
}

fn cancel_of(id: u64, account: u32) -> CancelOrder {
    CancelOrder {
        order_id: OrderId(id),
        account: AccountId(account),
        instrument: INST,
    }
}

const CHUNK: u64 = 50_000;

fn add_and_cancel(c: &mut Criterion) {
    let mut g = c.benchmark_group("book");
    g.throughput(Throughput::Elements(1));
    g.bench_function("add_existing_level", |b| {
        let mut book = Book::new(INST, cfg()).unwrap();
        let mut sink = Count::default();
        book.new_order(&limit(1, Side::Buy, 9_990, 10, 1), 0, &mut sink);
        let mut next = 10u64;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(CHUNK);
                let first = next;
                let t0 = Instant::now();
                for i in 0..n {
                    let o = limit(first + i, Side::Buy, 9_990, 10, (i % 8) as u32);
                    book.new_order(black_box(&o), i, &mut sink);
                }
                total += t0.elapsed();
                for i in 0..n {
                    book.cancel(&cancel_of(first + i, (i % 8) as u32), 0, &mut sink);
                }
                next += n;
                left -= n;
            }
            total
        });
    });
    g.bench_function("cancel", |b| {
        let mut book = Book::new(INST, cfg()).unwrap();
        let mut sink = Count::default();
        let mut next = 10u64;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(CHUNK);
                let first = next;
                for i in 0..n {
                    let px = 9_900 + (i % 50) as i64;
                    book.new_order(
                        &limit(first + i, Side::Buy, px, 10, (i % 8) as u32),
                        0,
                        &mut sink,
                    );
                }
                // cancel in a scrambled order so they come from the middle of queues
                let t0 = Instant::now();
                for k in 0..n {
                    let i = (k * 7919) % n;
                    book.cancel(
                        black_box(&cancel_of(first + i, (i % 8) as u32)),
                        0,
                        &mut sink,
                    );
                }
                total += t0.elapsed();
                next += n;
                left -= n;
            }
            total
        });
    });
    g.finish();
}

fn sweep(c: &mut Criterion) {
    let mut g = c.benchmark_group("book");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sweep_5_levels", |b| {
        let mut book = Book::new(INST, cfg()).unwrap();
        let mut sink = Count::default();
        let mut id = 10u64;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for lvl in 0..5 {
                    for k in 0..2 {
                        id += 1;
                        book.new_order(
                            &limit(id, Side::Sell, 10_000 + lvl, 5, 1 + k),
                            0,
                            &mut sink,
                        );
                    }
                }
                id += 1;
                let taker = limit(id, Side::Buy, 10_004, 50, 9);
                let t0 = Instant::now();
                book.new_order(black_box(&taker), 0, &mut sink);
                total += t0.elapsed();
            }
            total
        });
    });
    g.finish();
}

/// Tiny seeded generator (Knuth's MMIX LCG).
struct Lcg(u64);
impl Lcg {
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[derive(Clone, Copy)]
enum Msg {
    New(NewOrder),
    Cancel(CancelOrder),
    Modify(ModifyOrder),
}

/// An ITCH-like stream: ~50% adds within 20 ticks of the touch, ~35% cancels of live orders,
/// ~8% marketable (IOC) executions, ~7% replaces. Ids are tracked so cancels hit live orders.
fn itch_like(n: usize, seed: u64) -> Vec<Msg> {
    let mut r = Lcg(seed);
    let mut live: Vec<(u64, u32)> = Vec::new();
    let mut out = Vec::with_capacity(n);
    let mut id = 1u64;
    let mid = 10_000i64;
    for _ in 0..n {
        let roll = r.next() % 100;
        let account = (r.next() % 16) as u32;
        if roll < 50 || live.len() < 100 {
            let side = if r.next().is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            };
            let off = (r.next() % 20) as i64 + 1;
            let px = if side == Side::Buy {
                mid - off
            } else {
                mid + off
            };
            let o = limit(id, side, px, 100 * (1 + r.next() % 5), account);
            live.push((id, account));
            id += 1;
            out.push(Msg::New(o));
        } else if roll < 85 {
            let k = (r.next() as usize) % live.len();
            let (oid, acct) = live.swap_remove(k);
            out.push(Msg::Cancel(cancel_of(oid, acct)));
        } else if roll < 93 {
            let side = if r.next().is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            };
            let px = if side == Side::Buy { mid + 3 } else { mid - 3 };
            let o = NewOrder {
                tif: TimeInForce::Ioc,
                ..limit(id, side, px, 100, account)
            };
            id += 1;
            out.push(Msg::New(o));
        } else {
            let k = (r.next() as usize) % live.len();
            let (oid, acct) = live[k];
            out.push(Msg::Modify(ModifyOrder {
                order_id: OrderId(oid),
                price: Price(mid - 1 - (r.next() % 20) as i64),
                qty: Qty(100),
                account: AccountId(acct),
                instrument: INST,
            }));
        }
    }
    out
}

fn replay(book: &mut Book, msgs: &[Msg], sink: &mut Count) {
    for (t, m) in msgs.iter().enumerate() {
        match m {
            Msg::New(o) => book.new_order(o, t as u64, sink),
            Msg::Cancel(c) => book.cancel(c, t as u64, sink),
            Msg::Modify(m) => book.modify(m, t as u64, sink),
        }
    }
}

/// The QuantCup feed as book commands (price 0 = cancel order number `qty`; the cancel is sent
/// with the owner's account since the feed's trader id on cancel rows is noise).
fn quantcup() -> Vec<Msg> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/qc_orders.csv");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut owners: Vec<u32> = vec![0];
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 4 {
            continue;
        }
        let (Ok(trader), Ok(price), Ok(qty)) = (
            f[0].parse::<u32>(),
            f[2].parse::<i64>(),
            f[3].parse::<u64>(),
        ) else {
            continue;
        };
        if price == 0 {
            let acct = owners.get(qty as usize).copied().unwrap_or(0);
            out.push(Msg::Cancel(cancel_of(qty, acct)));
        } else {
            let id = owners.len() as u64;
            owners.push(trader);
            let side = if f[1] == "Bid" { Side::Buy } else { Side::Sell };
            out.push(Msg::New(NewOrder {
                ord_type: OrdType::Limit,
                ..limit(id, side, price, qty, trader)
            }));
        }
    }
    out
}

fn streams(c: &mut Criterion) {
    let mut g = c.benchmark_group("book");
    g.throughput(Throughput::Elements(1));
    let msgs = itch_like(200_000, 42);
    g.bench_function("itch_like_mixed", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let n = left.min(msgs.len());
                let mut book = Book::new(INST, cfg()).unwrap();
                let mut sink = Count::default();
                let t0 = Instant::now();
                replay(&mut book, &msgs[..n], &mut sink);
                total += t0.elapsed();
                black_box(sink.0);
                left -= n;
            }
            total
        });
    });
    let qc = quantcup();
    if !qc.is_empty() {
        let qc_cfg = BookConfig {
            anchor: Some(Price(4_800)),
            ..cfg()
        };
        g.bench_function("quantcup_feed", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let n = left.min(qc.len());
                    let mut book = Book::new(INST, qc_cfg).unwrap();
                    let mut sink = Count::default();
                    let t0 = Instant::now();
                    replay(&mut book, &qc[..n], &mut sink);
                    total += t0.elapsed();
                    black_box(sink.0);
                    left -= n;
                }
                total
            });
        });
    }
    g.finish();
}

criterion_group!(benches, add_and_cancel, sweep, streams);
criterion_main!(benches);
