//! The same command stream gives the same event stream, byte for byte, and the same state.

#[path = "support/flow.rs"]
mod flow;

use ferrex_engine::{BookConfig, Engine, EngineConfig};
use ferrex_types::{CountingSink, Event, HashingSink};

fn run(cmds: &[ferrex_types::Command]) -> (u64, u64, Vec<Event>) {
    let mut engine = Engine::new(EngineConfig::single(BookConfig {
        max_orders: 1 << 16,
        dense_levels: 1024,
        ..BookConfig::default()
    }))
    .unwrap();
    let mut sink = HashingSink::new(Vec::new());
    engine.process_all(cmds, &mut sink);
    (sink.hash(), engine.state_hash(), sink.inner)
}

#[test]
fn same_commands_same_events_and_state() {
    let cmds = flow::mixed_flow(100_000, 42);
    let (h1, s1, e1) = run(&cmds);
    let (h2, s2, e2) = run(&cmds);
    assert_eq!(h1, h2);
    assert_eq!(s1, s2);
    assert_eq!(e1, e2);
    // Event sequence numbers are gap-free from 1.
    for (i, e) in e1.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
    }
    // A different stream gives a different hash.
    let (h3, _, _) = run(&flow::mixed_flow(100_000, 43));
    assert_ne!(h1, h3);
}

#[test]
fn counting_sink_agrees_with_vec_sink() {
    let cmds = flow::mixed_flow(20_000, 5);
    let (_, _, events) = run(&cmds);
    let mut engine = Engine::new(EngineConfig::single(BookConfig {
        max_orders: 1 << 16,
        dense_levels: 1024,
        ..BookConfig::default()
    }))
    .unwrap();
    let mut c = CountingSink::default();
    engine.process_all(&cmds, &mut c);
    assert_eq!(c.events, events.len() as u64);
}
