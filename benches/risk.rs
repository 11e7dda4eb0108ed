//! The cost of the pre-trade risk layer: the engine with every control enabled against the same
//! engine with risk off, on the same mixed stream (adds near the touch, cancels, marketable
//! orders), in one run. Report the difference per command.
//!
//! Two risk cases: `risk_all_controls_passing` (`config/risk-bench-pass.toml`: every control on,
//! at limits the stream never reaches, so every order passes and the book does the same work as
//! with risk off; `risk_all_controls_passing − risk_off` is the full risk pass's cost) and
//! `risk_all_controls` (the sample `config/risk.toml`, whose throttles and open-order limits
//! reject over half of this stream; a rejected order skips the book, so that difference is the
//! checks' cost net of the book work the rejects save, and is the smaller figure). Each measured engine is built and
//! prefaulted (`Engine::prefault`, as the runtime does at start-up) outside the timed part, so
//! the figure is the steady-state cost of the checks, not the kernel's first touch of the risk
//! layer's 60 MB of preallocated tables.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ferrex::engine::{BookConfig, Engine, EngineConfig};
use ferrex::risk::{Risk, RiskConfig};
use ferrex::types::*;
use std::hint::black_box;

const N: usize = 100_000;

#[path = "support/risk_flow.rs"]
mod risk_flow;

fn book() -> BookConfig {
    BookConfig {
        max_orders: 1 << 16,
        dense_levels: 4096,
        level_events: false,
        ..BookConfig::default()
    }
}

fn risk_cost(c: &mut Criterion) {
    let cmds = risk_flow::stream(N);
    let cfg_text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/risk.toml"))
            .expect("config/risk.toml");
    let cfg = RiskConfig::from_toml_str(&cfg_text).expect("valid sample config");
    let pass_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/risk-bench-pass.toml"
    ))
    .expect("config/risk-bench-pass.toml");
    let pass_cfg = RiskConfig::from_toml_str(&pass_text).expect("valid passing config");
    let mut g = c.benchmark_group("engine_mixed_stream");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    g.bench_function("risk_off", |b| {
        b.iter_batched_ref(
            || {
                let mut e = Engine::new(EngineConfig::single(book())).unwrap();
                e.prefault();
                e
            },
            |e| {
                let mut s = CountingSink::default();
                e.process_all(black_box(&cmds), &mut s);
                s
            },
            BatchSize::LargeInput,
        )
    });
    for (name, cfg) in [
        ("risk_all_controls_passing", &pass_cfg),
        ("risk_all_controls", &cfg),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched_ref(
                || {
                    let mut e =
                        Engine::with_risk(EngineConfig::single(book()), Risk::new(cfg).unwrap())
                            .unwrap();
                    e.prefault();
                    e
                },
                |e| {
                    let mut s = CountingSink::default();
                    e.process_all(black_box(&cmds), &mut s);
                    s
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, risk_cost);
criterion_main!(benches);
