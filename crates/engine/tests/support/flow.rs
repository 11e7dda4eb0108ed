//! A seeded generator of mixed order flow over every order type (shared by the engine tests).

use ferrex_types::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` commands on instrument 0 around price 10_000, from `seed`. Ids are fresh per order;
/// cancels and modifies name recently sent ids (some already gone: those become rejects).
pub fn mixed_flow(n: usize, seed: u64) -> Vec<Command> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    let mut recent: Vec<u64> = Vec::with_capacity(4096);
    let mut next_id = 1u64;
    let mut time = 1_000u64;
    let mut mid = 10_000i64;
    for _ in 0..n {
        time += rng.random_range(0..1_000);
        if rng.random_ratio(1, 50) {
            mid += rng.random_range(-3..=3);
            mid = mid.clamp(9_000, 11_000);
        }
        let account = AccountId(rng.random_range(1..=8));
        let r = rng.random_range(0..100u32);
        let kind = if r < 50 || recent.is_empty() {
            let side = if rng.random_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let off = rng.random_range(0..20i64);
            let price = match side {
                Side::Buy => mid - off,
                Side::Sell => mid + off,
            };
            let (ord_type, tif) = match rng.random_range(0..100u32) {
                0..=59 => (OrdType::Limit, TimeInForce::Gtc),
                60..=69 => (OrdType::Limit, TimeInForce::Ioc),
                70..=73 => (OrdType::Limit, TimeInForce::Fok),
                74..=79 => (OrdType::Limit, TimeInForce::PostOnly),
                80..=85 => (OrdType::Limit, TimeInForce::Gtd),
                86..=89 => (OrdType::Market, TimeInForce::Ioc),
                90..=94 => (OrdType::Stop, TimeInForce::Gtc),
                _ => (OrdType::StopLimit, TimeInForce::Gtc),
            };
            // Marketable now and then.
            let price = if rng.random_ratio(1, 5) {
                match side {
                    Side::Buy => price + 25,
                    Side::Sell => price - 25,
                }
            } else {
                price
            };
            let stop_price = match side {
                Side::Buy => mid + rng.random_range(1..30),
                Side::Sell => mid - rng.random_range(1..30),
            };
            let qty = rng.random_range(1..=20u64) * 10;
            let display_qty = if rng.random_ratio(1, 10) && qty > 10 {
                10
            } else {
                0
            };
            let id = next_id;
            next_id += 1;
            if recent.len() == 4096 {
                recent.swap_remove(rng.random_range(0..4096));
            }
            recent.push(id);
            CommandKind::New(NewOrder {
                order_id: OrderId(id),
                price: Price(price),
                stop_price: Price(stop_price),
                qty: Qty(qty),
                display_qty: Qty(display_qty),
                expire_time: time + rng.random_range(1_000..2_000_000),
                account,
                instrument: InstrumentId(0),
                stp_group: 0,
                side,
                ord_type,
                tif,
                stp: match rng.random_range(0..6u32) {
                    0 => StpMode::CancelAggressor,
                    1 => StpMode::CancelBoth,
                    2 => StpMode::DecrementAndCancel,
                    3 => StpMode::CancelResting,
                    _ => StpMode::None,
                },
                flags: OrderFlags::NONE,
            })
        } else {
            let id = recent[rng.random_range(0..recent.len())];
            if r < 85 {
                CommandKind::Cancel(CancelOrder {
                    order_id: OrderId(id),
                    account,
                    instrument: InstrumentId(0),
                })
            } else if r < 99 {
                CommandKind::Modify(ModifyOrder {
                    order_id: OrderId(id),
                    price: Price(mid + rng.random_range(-20..20)),
                    qty: Qty(rng.random_range(1..=20u64) * 10),
                    account,
                    instrument: InstrumentId(0),
                })
            } else {
                CommandKind::MassCancel(MassCancel {
                    account,
                    instrument: if rng.random_bool(0.5) {
                        Some(InstrumentId(0))
                    } else {
                        None
                    },
                })
            }
        };
        out.push(Command::new(time, kind));
    }
    out
}
