//! Times `Risk::check_new` with every control on (the shipped `config/risk.toml`) against the
//! same orders with no limits configured (controls off: lookups, state gates, qty/price range
//! only), and prints ns per check and the ratio.
//!
//! ```text
//! cargo run --release -p ferrex-risk --example cost            # 1,000,000 checks per mode
//! cargo run --release -p ferrex-risk --example cost -- 100000 on   # one mode (for callgrind)
//! valgrind --tool=callgrind target/release/examples/cost 100000 on
//! ```
//! Instructions per check under callgrind: run two counts and divide the difference.

use ferrex_risk::{AccountConfig, InstrumentConfig, MarketView, Risk, RiskConfig};
use ferrex_types::*;
use std::hint::black_box;
use std::time::Instant;

thread_local! {
    static NOW: std::cell::Cell<u64> = const { std::cell::Cell::new(1_000_000_000) };
}

const SAMPLE: &str = include_str!("../../../config/risk.toml");

fn off_config() -> RiskConfig {
    RiskConfig {
        max_orders: 1 << 16,
        instruments: vec![InstrumentConfig {
            id: 0,
            tick_size: 1,
            lot_size: 1,
            min_qty: 1,
            min_price: 1,
            max_price: 1 << 53,
            market_protection_ticks: 500,
            ..InstrumentConfig::default()
        }],
        accounts: (1..=10)
            .map(|id| AccountConfig {
                id,
                ..AccountConfig::default()
            })
            .collect(),
        ..RiskConfig::default()
    }
}

fn orders(n: usize) -> Vec<NewOrder> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|k| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let side = if x & 1 == 0 { Side::Buy } else { Side::Sell };
            NewOrder {
                order_id: OrderId(k as u64 + 1_000_000),
                price: Price(9_900 + (x >> 8) as i64 % 200),
                qty: Qty(1 + (x >> 20) % 100),
                account: AccountId(3 + (k % 6) as u32),
                instrument: InstrumentId(0),
                side,
                flags: if k % 7 == 0 {
                    OrderFlags::REDUCE_ONLY
                } else {
                    OrderFlags::NONE
                },
                ..NewOrder::default()
            }
        })
        .collect()
}

/// A risk layer with some state: positions and resting orders for the accounts used.
fn warmed(cfg: &RiskConfig) -> Risk {
    let mut r = Risk::new(cfg).expect("config");
    let mut out = Vec::new();
    for a in 3..=8u32 {
        for k in 0..10u64 {
            let id = u64::from(a) * 100 + k;
            let ev = EventKind::Accepted {
                order_id: OrderId(id),
                account: AccountId(a),
                instrument: InstrumentId(0),
                side: if k % 2 == 0 { Side::Buy } else { Side::Sell },
                price: Price(9_950 + k as i64),
                qty: Qty(10),
            };
            r.on_event(&ev, 0, &mut out);
        }
        // Fill one order of each account against account 1: positions and a last trade.
        let t = EventKind::Trade {
            instrument: InstrumentId(0),
            price: Price(10_000),
            qty: Qty(5),
            maker_order_id: OrderId(u64::from(a) * 100),
            taker_order_id: OrderId(1),
            maker_leaves: Qty(5),
            taker_leaves: Qty(0),
            maker_account: AccountId(a),
            taker_account: AccountId(1),
            aggressor: Side::Sell,
        };
        r.on_event(&t, 0, &mut out);
    }
    r
}

fn run(r: &mut Risk, orders: &[NewOrder], n: usize, mkt: &MarketView) -> (f64, usize) {
    let mut rejects = 0usize;
    let mut by_reason = [0usize; 64];
    // Engine time goes on across rounds (100 µs per order: ~1,700 orders/s per account, under
    // every throttle of the sample config).
    let mut now = NOW.with(|c| c.get());
    let t0 = Instant::now();
    for k in 0..n {
        let o = &orders[k & (orders.len() - 1)];
        now += 100_000;
        if let Err(e) = r.check_new(black_box(o), now, black_box(mkt)) {
            rejects += 1;
            by_reason[e.reason as usize & 63] += 1;
        }
    }
    let dt = t0.elapsed().as_nanos() as f64;
    NOW.with(|c| c.set(now));
    if std::env::var_os("COST_REASONS").is_some() {
        for (k, &c) in by_reason.iter().enumerate().filter(|x| *x.1 > 0) {
            eprintln!("  reason code {k}: {c}");
        }
    }
    (dt / n as f64, rejects)
}

/// The same loop without the check: the harness's own cost.
fn baseline(orders: &[NewOrder], n: usize) -> f64 {
    let t0 = Instant::now();
    let mut now = 0u64;
    for k in 0..n {
        now += 100_000;
        black_box((&orders[k & (orders.len() - 1)], now));
    }
    t0.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mode = args.next().unwrap_or_else(|| "both".into());
    let mut on_cfg = RiskConfig::from_toml_str(SAMPLE).expect("config/risk.toml");
    // COST_DROP=throttle,credit,band,position,notional,open,velocity,mmp: switch single
    // controls off to see what each costs.
    let drop = std::env::var("COST_DROP").unwrap_or_default();
    for a in &mut on_cfg.accounts {
        if drop.contains("throttle") {
            a.throttle = None;
        }
        if drop.contains("credit") {
            a.credit_limit = None;
        }
        if drop.contains("position") {
            a.max_long = None;
            a.max_short = None;
        }
        if drop.contains("notional") {
            a.max_order_notional = None;
        }
        if drop.contains("open") {
            a.max_open_orders = None;
            a.max_open_orders_per_instrument = None;
        }
        if drop.contains("mmp") {
            a.mmp = None;
        }
    }
    for i in &mut on_cfg.instruments {
        if drop.contains("band") {
            i.price_band = None;
        }
        if drop.contains("notional") {
            i.max_order_notional = None;
        }
        if drop.contains("velocity") {
            i.velocity = None;
        }
    }
    let off_cfg = off_config();
    let orders = orders(1 << 16);
    let mkt = MarketView {
        best_bid: Some(Price(9_990)),
        best_ask: Some(Price(10_010)),
        last_trade: Some(Price(10_000)),
    };
    let mut on = warmed(&on_cfg);
    let mut off = warmed(&off_cfg);
    match mode.as_str() {
        "on" => {
            let (ns, rej) = run(&mut on, &orders, n, &mkt);
            println!("on:  {ns:.2} ns/check ({rej} rejects of {n})");
        }
        "none" => {
            let ns = baseline(&orders, n);
            println!("none: {ns:.2} ns/iteration");
        }
        "off" => {
            let (ns, rej) = run(&mut off, &orders, n, &mkt);
            println!("off: {ns:.2} ns/check ({rej} rejects of {n})");
        }
        _ => {
            // Warm up both, then alternate rounds and keep each mode's best.
            run(&mut on, &orders, n / 10 + 1, &mkt);
            run(&mut off, &orders, n / 10 + 1, &mkt);
            let (mut best_on, mut best_off, mut rej_on, mut rej_off) = (f64::MAX, f64::MAX, 0, 0);
            let mut best_none = f64::MAX;
            for _ in 0..5 {
                best_none = best_none.min(baseline(&orders, n));
                let (a, ra) = run(&mut on, &orders, n, &mkt);
                let (b, rb) = run(&mut off, &orders, n, &mkt);
                best_on = best_on.min(a);
                best_off = best_off.min(b);
                rej_on = ra;
                rej_off = rb;
            }
            println!("checks per round: {n}, best of 5 rounds");
            println!("all controls on : {best_on:.2} ns/check ({rej_on} rejects)");
            println!("controls off    : {best_off:.2} ns/check ({rej_off} rejects)");
            println!("loop, no check  : {best_none:.2} ns/iteration");
            println!("on − off        : {:.2} ns/check", best_on - best_off);
            println!("on − no check   : {:.2} ns/check", best_on - best_none);
            println!("ratio on / off  : {:.2}", best_on / best_off);
        }
    }
}
