//! Instruction-count harness for the cost of the pre-trade risk layer inside the engine: the
//! mixed stream of `benches/risk.rs` (same generator, 100,000 commands) through a fresh
//! [`Engine`] with risk off, with every control of `config/risk.toml` on (`on`: over half of the
//! stream is then rejected, and a rejected order skips the book), and with every control on at
//! limits the stream never reaches (`pass`, `config/risk-bench-pass.toml`: every order passes the
//! checks and does the same book work as with risk off).
//!
//! ```text
//! cargo build --release -p ferrex-engine --example risk_cost
//! valgrind --tool=callgrind --toggle-collect='*run_stream*' \
//!     target/release/examples/risk_cost off     # Ir / 100,000 = Ir per command, risk off
//! valgrind --tool=callgrind --toggle-collect='*run_stream*' \
//!     target/release/examples/risk_cost on      # all controls on, sample config
//! valgrind --tool=callgrind --toggle-collect='*run_stream*' \
//!     target/release/examples/risk_cost pass    # all controls on, every order passes
//! target/release/examples/risk_cost stats       # events and rejects by kind, each mode
//! ```
//! The difference of `pass` and `off` (Ir / 100,000 each) is the full risk pass's cost per
//! command on orders that pass; `on` minus `off` is what the sample config's rejects leave of it.

use ferrex_book::BookConfig;
use ferrex_engine::{Engine, EngineConfig};
use ferrex_risk::{Risk, RiskConfig};
use ferrex_types::*;
use std::hint::black_box;

const N: usize = 100_000;
const SAMPLE: &str = include_str!("../../../config/risk.toml");
const PASSING: &str = include_str!("../../../config/risk-bench-pass.toml");

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

/// Risk off (`None`) or on with the given config text.
fn engine(risk: Option<&str>) -> Engine {
    let mut e = if let Some(text) = risk {
        let cfg = RiskConfig::from_toml_str(text).expect("risk config");
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
            for (name, risk) in [
                ("off ", None),
                ("on  ", Some(SAMPLE)),
                ("pass", Some(PASSING)),
            ] {
                let mut e = engine(risk);
                let mut s = HashingSink::new(Stats::default());
                e.process_all(&cmds, &mut s);
                println!("risk {name}: {:?}", s.inner.kinds);
                println!("  rejects: {:?}", s.inner.reasons);
                println!("  event stream hash {:016x}", s.hash());
            }
        }
        m => {
            // `RISK_CFG=<path>` replaces the config of `on`, so a local variant can be measured
            // without rebuilding.
            let custom = std::env::var("RISK_CFG")
                .ok()
                .filter(|p| !p.is_empty())
                .map(|p| {
                    std::fs::read_to_string(&p).unwrap_or_else(|e| {
                        eprintln!("RISK_CFG {p}: {e}");
                        std::process::exit(2)
                    })
                });
            let risk = match m {
                "on" => Some(custom.as_deref().unwrap_or(SAMPLE)),
                "pass" => Some(PASSING),
                "off" => None,
                _ => {
                    eprintln!("usage: risk_cost off|on|pass|stats");
                    std::process::exit(2);
                }
            };
            let mut e = engine(risk);
            let mut s = CountingSink::default();
            run_stream(&mut e, &cmds, &mut s);
            println!("{m}: {} commands, {} events", cmds.len(), s.events);
        }
    }
}
