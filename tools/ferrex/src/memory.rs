//! `ferrex memory`: bytes per resting order and peak RSS with N resting orders.

use anyhow::Context;
use clap::Args;
use ferrex_book::BookConfig;
use ferrex_engine::{Engine, EngineConfig};
use ferrex_types::*;

/// Options of `ferrex memory`.
#[derive(Args, Debug)]
pub struct MemoryArgs {
    /// Resting orders to place.
    #[arg(long, default_value_t = 1_000_000)]
    pub orders: u32,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Read a `Vm*` line of /proc/self/status in bytes (Linux only).
fn proc_status_bytes(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Run it.
pub fn run(args: &MemoryArgs) -> anyhow::Result<()> {
    let n = args.orders.max(1);
    let rss0 = proc_status_bytes("VmRSS:").unwrap_or(0);
    let mut engine = Engine::new(EngineConfig::single(BookConfig {
        max_orders: n,
        dense_levels: 1 << 14,
        level_events: false,
        ..BookConfig::default()
    }))
    .context("engine config")?;
    let preallocated = engine.memory_bytes() as u64;
    let rss1 = proc_status_bytes("VmRSS:").unwrap_or(0);
    let mut sink = CountingSink::default();
    // Bids on 4,000 levels below 1,000,000, asks on 4,000 levels above: nothing crosses.
    for i in 0..n {
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let level = i64::from((i / 2) % 4000);
        let price = match side {
            Side::Buy => 1_000_000 - 1 - level,
            Side::Sell => 1_000_000 + level,
        };
        engine.process(
            &Command::new(
                u64::from(i),
                CommandKind::New(NewOrder {
                    order_id: OrderId(u64::from(i) + 1),
                    account: AccountId(1 + i % 64),
                    side,
                    price: Price(price),
                    qty: Qty(1 + u64::from(i % 100)),
                    stp: StpMode::None,
                    ..NewOrder::default()
                }),
            ),
            &mut sink,
        );
    }
    let book = engine.book(InstrumentId(0)).context("instrument 0")?;
    let resting = book.live_orders() as u64;
    anyhow::ensure!(
        resting == u64::from(n) && sink.trades == 0 && sink.rejects == 0,
        "expected {n} resting orders, got {resting} ({sink:?})"
    );
    let parts = book.memory_parts();
    let rss2 = proc_status_bytes("VmRSS:").unwrap_or(0);
    let hwm = proc_status_bytes("VmHWM:").unwrap_or(0);
    let per_order = preallocated as f64 / f64::from(n);
    let rss_per_order = rss2.saturating_sub(rss0) as f64 / f64::from(n);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "resting_orders": resting,
                "book_bytes": preallocated,
                "bytes_per_resting_order": per_order,
                "rss_growth_bytes": rss2.saturating_sub(rss0),
                "rss_bytes_per_resting_order": rss_per_order,
                "peak_rss_bytes": hwm,
                "bytes_per_resting_order_by_table": parts
                    .iter()
                    .map(|(k, v)| (k.to_string(), serde_json::json!(*v as f64 / f64::from(n))))
                    .collect::<serde_json::Map<_, _>>(),
            })
        );
    } else {
        println!("ferrex memory: {resting} resting orders on 8,000 price levels");
        println!(
            "  book preallocation: {:.1} MiB = {per_order:.1} bytes per resting order (slab, id map, ladder, all tables)",
            preallocated as f64 / 1048576.0
        );
        for (name, bytes) in parts {
            println!(
                "    {name:<18} {:>7.1} bytes per order",
                bytes as f64 / f64::from(n)
            );
        }
        println!(
            "  RSS: {:.1} MiB at start, {:.1} MiB after preallocation, {:.1} MiB with the orders in: {rss_per_order:.1} bytes per order",
            rss0 as f64 / 1048576.0,
            rss1 as f64 / 1048576.0,
            rss2 as f64 / 1048576.0
        );
        println!("  peak RSS (VmHWM): {:.1} MiB", hwm as f64 / 1048576.0);
    }
    Ok(())
}
