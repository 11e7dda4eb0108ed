//! Proves the hot path allocates nothing: a counting global allocator over 1,000,000 mixed
//! commands (every order type, cancels, modifies, mass cancels) after a warm-up pass.

#[path = "support/flow.rs"]
mod flow;

use ferrex_engine::{BookConfig, Engine, EngineConfig};
use ferrex_types::CountingSink;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn book_cfg() -> BookConfig {
    BookConfig {
        max_orders: 1 << 18,
        dense_levels: 4096,
        ..BookConfig::default()
    }
}

// One test function: the allocation counter is global, so the two engines run one after the
// other, never beside another test.
#[test]
fn no_allocation_over_a_million_mixed_commands() {
    let warm = flow::mixed_flow(200_000, 7);
    let cmds = flow::mixed_flow(1_000_000, 8);
    let plain = Engine::new(EngineConfig::single(book_cfg())).unwrap();
    count_allocations(plain, &warm, &cmds, "without risk");
    let cfg = ferrex_risk::RiskConfig::from_toml_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/risk.toml"
        ))
        .unwrap(),
    )
    .unwrap();
    let risky = Engine::with_risk(
        EngineConfig::single(book_cfg()),
        ferrex_risk::Risk::new(&cfg).unwrap(),
    )
    .unwrap();
    count_allocations(risky, &warm, &cmds, "with every risk control on");
}

fn count_allocations(
    mut engine: Engine,
    warm: &[ferrex_types::Command],
    cmds: &[ferrex_types::Command],
    what: &str,
) {
    ALLOCS.store(0, Ordering::SeqCst);
    let mut sink = CountingSink::default();
    engine.process_all(warm, &mut sink);

    COUNTING.store(true, Ordering::SeqCst);
    for c in cmds {
        engine.process(c, &mut sink);
    }
    COUNTING.store(false, Ordering::SeqCst);

    let n = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(n, 0, "{n} heap allocations on the hot path ({what})");
    // The stream really exercised the book.
    assert!(sink.trades > 1_000, "{what}: {sink:?}");
    assert!(
        sink.rejects > 0 && sink.cancels > 10_000,
        "{what}: {sink:?}"
    );
}
