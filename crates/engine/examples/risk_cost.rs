//! Instruction-count harness for the cost of the pre-trade risk layer inside the engine: the
//! mixed stream of `benches/risk.rs` (same generator, 100,000 commands) through a fresh
//! [`Engine`] with risk off and with every control of `config/risk.toml` on.
//!
//! ```text
//! cargo build --release -p ferrex-engine --example risk_cost
//! valgrind --tool=callgrind --toggle-collect='*run_stream*' \
//!     target/release/examples/risk_cost off     # Ir / 100,000 = Ir per command, risk off
//! valgrind --tool=callgrind --toggle-collect='*run_stream*' \
//!     target/release/examples/risk_cost on      # all controls on
//! target/release/examples/risk_cost stats       # events and rejects by kind, both modes
//! ```
//! The difference of the two Ir/cmd figures is the risk layer's cost per command.

use ferrex_book::BookConfig;
use ferrex_engine::{Engine, EngineConfig};
use ferrex_risk::{Risk, RiskConfig};
use ferrex_types::*;
use std::hint::black_box;

const N: usize = 100_000;
const SAMPLE: &str = include_str!("../../../config/risk.toml");

/// The mixed stream of `benches/risk.rs`, from the same file.
#[path = "../../../benches/support/risk_flow.rs"]
mod risk_flow;

fn book() -> BookConfig {
    BookConfig {
        max_orders: 1 << 16,
        dense_levels: 4096,
        level_events: false,
        ..BookConfig::default()
    }
}

fn engine(on: bool) -> Engine {
    let mut e = if on {
        let cfg = RiskConfig::from_toml_str(SAMPLE).expect("config/risk.toml");
        Engine::with_risk(EngineConfig::single(book()), Risk::new(&cfg).expect("risk"))
            .expect("engine")
    } else {
        Engine::new(EngineConfig::single(book())).expect("engine")
    };
    e.prefault();
    e
}

/// The measured function (callgrind `--toggle-collect='*run_stream*'`).
#[inline(never)]
fn run_stream(e: &mut Engine, cmds: &[Command], s: &mut CountingSink) {
    e.process_all(black_box(cmds), s);
}

/// Counts events by kind and rejects by reason.
#[derive(Default)]
struct Stats {
    kinds: std::collections::BTreeMap<&'static str, u64>,
    reasons: std::collections::BTreeMap<String, u64>,
}

impl EventSink for Stats {
    fn on_event(&mut self, ev: &Event) {
        let k = match ev.kind {
            EventKind::Accepted { .. } => "accepted",
            EventKind::Trade { .. } => "trade",
            EventKind::Cancelled { .. } => "cancelled",
            EventKind::Expired { .. } => "expired",
            EventKind::Replaced { .. } => "replaced",
            EventKind::Rejected { reason, .. } => {
                *self.reasons.entry(format!("{reason:?}")).or_default() += 1;
                "rejected"
            }
            EventKind::Triggered { .. } => "triggered",
            EventKind::LevelChanged { .. } => "level",
            EventKind::AccountState { .. } => "account_state",
            EventKind::InstrumentState { .. } => "instrument_state",
        };
        *self.kinds.entry(k).or_default() += 1;
    }
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "on".into());
    let cmds = risk_flow::stream(N);
    match mode.as_str() {
        "stats" => {
            for on in [false, true] {
                let mut e = engine(on);
                let mut s = Stats::default();
                e.process_all(&cmds, &mut s);
                println!("risk {}: {:?}", if on { "on " } else { "off" }, s.kinds);
                println!("  rejects: {:?}", s.reasons);
            }
        }
        m => {
            let mut e = engine(m == "on");
            let mut s = CountingSink::default();
            run_stream(&mut e, &cmds, &mut s);
            println!("{m}: {} commands, {} events", cmds.len(), s.events);
        }
    }
}
