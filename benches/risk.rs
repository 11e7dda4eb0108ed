//! The cost of the pre-trade risk layer: the engine with every control enabled against the same
//! engine with risk off, on the same mixed stream (adds near the touch, cancels, marketable
//! orders), in one run. Report the difference per command.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ferrex::engine::{BookConfig, Engine, EngineConfig};
use ferrex::risk::{Risk, RiskConfig};
use ferrex::types::*;
use std::hint::black_box;

const N: usize = 100_000;

/// Mixed stream for accounts 1..=8 on instrument 0 around price 10,000 (1/100 ticks = 100.00).
fn stream() -> Vec<Command> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut live: Vec<(u64, u32)> = Vec::with_capacity(1024);
    let mut out = Vec::with_capacity(N);
    let mut id = 1u64;
    for t in 0..N as u64 {
        let r = next() % 100;
        let account = 1 + (next() % 8) as u32;
        let kind = if r < 35 && !live.is_empty() {
            let (oid, acct) = live.swap_remove((next() % live.len() as u64) as usize);
            CommandKind::Cancel(CancelOrder {
                order_id: OrderId(oid),
                account: AccountId(acct),
                instrument: InstrumentId(0),
            })
        } else {
            let side = if next() % 2 == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let marketable = r >= 90;
            let off = if marketable {
                -3
            } else {
                1 + (next() % 10) as i64
            };
            let price = match side {
                Side::Buy => 10_000 - off,
                Side::Sell => 10_000 + off,
            };
            if !marketable {
                if live.len() == 1024 {
                    live.swap_remove(0);
                }
                live.push((id, account));
            }
            id += 1;
            CommandKind::New(NewOrder {
                order_id: OrderId(id - 1),
                account: AccountId(account),
                side,
                price: Price(price),
                qty: Qty(1 + next() % 20),
                tif: if marketable {
                    TimeInForce::Ioc
                } else {
                    TimeInForce::Gtc
                },
                stp: StpMode::None,
                ..NewOrder::default()
            })
        };
        out.push(Command::new(t * 1_000, kind));
    }
    out
}

fn book() -> BookConfig {
    BookConfig {
        max_orders: 1 << 16,
        dense_levels: 4096,
        level_events: false,
        ..BookConfig::default()
    }
}

fn risk_cost(c: &mut Criterion) {
    let cmds = stream();
    let cfg_text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/risk.toml"))
            .expect("config/risk.toml");
    let cfg = RiskConfig::from_toml_str(&cfg_text).expect("valid sample config");
    let mut g = c.benchmark_group("engine_mixed_stream");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    g.bench_function("risk_off", |b| {
        b.iter_batched_ref(
            || Engine::new(EngineConfig::single(book())).unwrap(),
            |e| {
                let mut s = CountingSink::default();
                e.process_all(black_box(&cmds), &mut s);
                s
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("risk_all_controls", |b| {
        b.iter_batched_ref(
            || Engine::with_risk(EngineConfig::single(book()), Risk::new(&cfg).unwrap()).unwrap(),
            |e| {
                let mut s = CountingSink::default();
                e.process_all(black_box(&cmds), &mut s);
                s
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, risk_cost);
criterion_main!(benches);
