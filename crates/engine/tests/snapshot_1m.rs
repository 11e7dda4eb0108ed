//! How long `Engine::snapshot` holds the engine thread with 1,000,000 resting orders, and how
//! long a restore takes. Ignored by default (about 0.5 GB of books); run it in release:
//!
//! ```text
//! cargo test -p ferrex-engine --release --test snapshot_1m -- --ignored --nocapture
//! ```

use ferrex_engine::{BookConfig, Engine, EngineConfig, SnapshotInfo};
use ferrex_types::*;
use std::time::{Duration, Instant};

const ORDERS: u64 = 1_000_000;

#[test]
#[ignore = "1M resting orders; run in release with --ignored --nocapture"]
fn snapshot_of_a_million_resting_orders() {
    let cfg = EngineConfig::single(BookConfig {
        max_orders: 1 << 20,
        // About 23% of the orders below are icebergs or GTD: special slots for all of them.
        max_special_orders: 1 << 18,
        dense_levels: 1 << 14,
        level_events: false,
        ..BookConfig::default()
    });
    let mut e = Engine::new(cfg.clone()).unwrap();
    let mut sink = CountingSink::default();
    // Bids 5000..=7999, asks 8000..=10999 (never crossing); every 10th an iceberg, every 7th
    // GTD far in the future.
    for i in 0..ORDERS {
        let buy = i % 2 == 0;
        let level = (i / 2 % 3000) as i64;
        let o = NewOrder {
            order_id: OrderId(i + 1),
            account: AccountId((i % 500) as u32 + 1),
            side: if buy { Side::Buy } else { Side::Sell },
            price: Price(if buy { 7999 - level } else { 8000 + level }),
            qty: Qty(10 + i % 7),
            display_qty: Qty(if i % 10 == 0 { 3 } else { 0 }),
            tif: if i % 7 == 0 {
                TimeInForce::Gtd
            } else {
                TimeInForce::Gtc
            },
            expire_time: u64::MAX / 2,
            ..NewOrder::default()
        };
        e.process(&Command::new(i, CommandKind::New(o)), &mut sink);
    }
    assert_eq!(
        e.book(InstrumentId(0)).unwrap().live_orders() as u64,
        ORDERS
    );

    let mut buf = Vec::new();
    let mut best = Duration::MAX;
    for _ in 0..3 {
        buf.clear();
        let t = Instant::now();
        e.snapshot(&mut buf);
        best = best.min(t.elapsed());
    }
    let info = SnapshotInfo::parse(&buf).unwrap();
    assert_eq!(info.cmd_seq, ORDERS);

    let t = Instant::now();
    let r = Engine::restore(cfg, None, &buf).unwrap();
    let restore = t.elapsed();
    assert_eq!(r.state_hash(), e.state_hash());
    println!(
        "1M resting orders: snapshot {} bytes in {:.1} ms (best of 3, buffer reused), restore {:.1} ms",
        buf.len(),
        best.as_secs_f64() * 1e3,
        restore.as_secs_f64() * 1e3
    );
}
