//! Engine + risk, property-tested: no order that breaks a static limit reaches the book, and the
//! positions the risk layer tracks equal those recomputed from the event stream.

use ferrex_engine::{BookConfig, Engine, EngineConfig};
use ferrex_risk::{Risk, RiskConfig};
use ferrex_types::*;
use proptest::prelude::*;
use std::collections::HashMap;

const CFG: &str = r#"
max_orders = 4096
[[instruments]]
id = 0
max_order_qty = 40
max_order_notional = 4000
price_band = { ticks = 15 }
reference_price = 100
[[accounts]]
id = 1
credit_limit = 20000
max_open_orders = 6
max_long = 120
max_short = 120
[[accounts]]
id = 2
credit_limit = 30000
max_open_orders = 10
[[accounts]]
id = 3
max_long = 60
max_short = 60
throttle = { rate = 8, window_ns = 1000 }
"#;

fn engine() -> Engine {
    let cfg = RiskConfig::from_toml_str(CFG).unwrap();
    Engine::with_risk(
        EngineConfig::single(BookConfig {
            max_orders: 4096,
            dense_levels: 256,
            level_events: false,
            ..BookConfig::default()
        }),
        Risk::new(&cfg).unwrap(),
    )
    .unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    New {
        account: u32,
        buy: bool,
        price: i64,
        qty: u64,
        ioc: bool,
        market: bool,
    },
    Cancel {
        account: u32,
        pick: usize,
    },
    Modify {
        account: u32,
        pick: usize,
        price: i64,
        qty: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1u32..=4, any::<bool>(), 85i64..=115, 1u64..=60, any::<bool>(), prop::bool::weighted(0.1))
            .prop_map(|(account, buy, price, qty, ioc, market)| Op::New { account, buy, price, qty, ioc, market }),
        2 => (1u32..=3, any::<usize>()).prop_map(|(account, pick)| Op::Cancel { account, pick }),
        1 => (1u32..=3, any::<usize>(), 85i64..=115, 1u64..=60)
            .prop_map(|(account, pick, price, qty)| Op::Modify { account, pick, price, qty }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn limits_hold_and_positions_match_the_events(ops in prop::collection::vec(op(), 1..200)) {
        let mut e = engine();
        let mut events: Vec<Event> = Vec::new();
        let mut ids: Vec<(u64, u32)> = Vec::new();
        let mut next = 1u64;
        let mut position: HashMap<u32, i64> = HashMap::new();
        let mut t = 0u64;
        for op in ops {
            t += 37;
            let kind = match op {
                Op::New { account, buy, price, qty, ioc, market } => {
                    let id = next;
                    next += 1;
                    ids.push((id, account));
                    CommandKind::New(NewOrder {
                        order_id: OrderId(id), account: AccountId(account),
                        side: if buy { Side::Buy } else { Side::Sell },
                        ord_type: if market { OrdType::Market } else { OrdType::Limit },
                        tif: if ioc { TimeInForce::Ioc } else { TimeInForce::Gtc },
                        price: Price(price), qty: Qty(qty), stp: StpMode::None,
                        ..NewOrder::default()
                    })
                }
                Op::Cancel { account, pick } if !ids.is_empty() => {
                    let (id, _) = ids[pick % ids.len()];
                    CommandKind::Cancel(CancelOrder { order_id: OrderId(id), account: AccountId(account), instrument: InstrumentId(0) })
                }
                Op::Modify { account, pick, price, qty } if !ids.is_empty() => {
                    let (id, _) = ids[pick % ids.len()];
                    CommandKind::Modify(ModifyOrder { order_id: OrderId(id), account: AccountId(account), instrument: InstrumentId(0), price: Price(price), qty: Qty(qty) })
                }
                _ => continue,
            };
            let cmd = Command::new(t, kind);
            events.clear();
            e.process(&cmd, &mut events);
            for ev in &events {
                match ev.kind {
                    EventKind::Accepted { account, price, qty, .. } => {
                        // Static limits: an accepted order never breaks them.
                        prop_assert!(qty.0 <= 40, "max_order_qty broken: {ev:?}");
                        if price.0 > 0 {
                            prop_assert!(i128::from(price.0) * i128::from(qty.0) <= 4000, "notional broken: {ev:?}");
                        }
                        prop_assert!(account.0 != 4, "unknown account accepted: {ev:?}");
                    }
                    EventKind::Trade { qty, maker_account, taker_account, aggressor, .. } => {
                        let q = qty.0 as i64;
                        let (buyer, seller) = match aggressor {
                            Side::Buy => (taker_account, maker_account),
                            Side::Sell => (maker_account, taker_account),
                        };
                        *position.entry(buyer.0).or_default() += q;
                        *position.entry(seller.0).or_default() -= q;
                    }
                    _ => {}
                }
            }
            let risk = e.risk().unwrap();
            for a in 1..=3u32 {
                let p = position.get(&a).copied().unwrap_or(0);
                prop_assert_eq!(risk.position(AccountId(a), InstrumentId(0)), p, "account {}", a);
            }
            // Position limits of accounts 1 and 3 hold (open orders on the same side count too).
            let book = e.book(InstrumentId(0)).unwrap();
            for (a, max) in [(1u32, 120i64), (3, 60)] {
                let p = position.get(&a).copied().unwrap_or(0);
                let mut open_buy = 0i64;
                let mut open_sell = 0i64;
                for s in [Side::Buy, Side::Sell] {
                    book.for_each_level(s, |l| {
                        book.for_each_order_in_level(s, l.price, |o| {
                            if o.account.0 == a {
                                match s {
                                    Side::Buy => open_buy += o.leaves.0 as i64,
                                    Side::Sell => open_sell += o.leaves.0 as i64,
                                }
                            }
                        })
                    });
                }
                prop_assert!(p + open_buy <= max, "account {a}: long {p} + open {open_buy} > {max}");
                prop_assert!(-p + open_sell <= max, "account {a}: short {} + open {open_sell} > {max}", -p);
            }
            // Open orders, open quantity and exposure tracked by risk (from the events alone for
            // plain orders) equal those recomputed from the book's resting orders and the
            // positions: nothing is left open between commands but resting limit orders.
            let mark = i128::from(book.last_trade_price().map_or(0, |p| p.0));
            for a in 1..=3u32 {
                let mut n = 0u32;
                let mut open = [0u64; 2];
                let mut notional = 0i128;
                for s in [Side::Buy, Side::Sell] {
                    book.for_each_level(s, |l| {
                        book.for_each_order_in_level(s, l.price, |o| {
                            if o.account.0 == a {
                                n += 1;
                                open[s.index()] += o.leaves.0;
                                notional += i128::from(o.price.0) * i128::from(o.leaves.0);
                            }
                        })
                    });
                }
                let p = i128::from(position.get(&a).copied().unwrap_or(0));
                prop_assert_eq!(risk.open_orders(AccountId(a)), n, "account {} open orders", a);
                for s in [Side::Buy, Side::Sell] {
                    prop_assert_eq!(risk.open_qty(AccountId(a), InstrumentId(0), s), open[s.index()], "account {} open {:?}", a, s);
                }
                prop_assert_eq!(risk.exposure(AccountId(a)), notional + p.abs() * mark, "account {} exposure", a);
            }
        }
    }
}

#[test]
fn kill_switch_cancels_everything_and_halts() {
    let mut e = engine();
    let mut ev: Vec<Event> = Vec::new();
    for (id, price) in [(1u64, 99i64), (2, 98), (3, 101)] {
        e.process(
            &Command::new(
                id,
                CommandKind::New(NewOrder {
                    order_id: OrderId(id),
                    account: AccountId(2),
                    price: Price(price),
                    qty: Qty(5),
                    side: if price < 100 { Side::Buy } else { Side::Sell },
                    ..NewOrder::default()
                }),
            ),
            &mut ev,
        );
    }
    ev.clear();
    e.process(
        &Command::new(
            10,
            CommandKind::Risk(RiskControl::Kill {
                account: AccountId(2),
            }),
        ),
        &mut ev,
    );
    let cancels = ev
        .iter()
        .filter(|x| {
            matches!(
                x.kind,
                EventKind::Cancelled {
                    reason: CancelReason::Kill,
                    ..
                }
            )
        })
        .count();
    assert_eq!(cancels, 3, "{ev:?}");
    assert!(
        ev.iter().any(|x| matches!(
            x.kind,
            EventKind::AccountState {
                account: AccountId(2),
                state: TradingState::Halted,
                ..
            }
        )),
        "{ev:?}"
    );
    assert_eq!(e.book(InstrumentId(0)).unwrap().live_orders(), 0);
    ev.clear();
    e.process(
        &Command::new(
            11,
            CommandKind::New(NewOrder {
                order_id: OrderId(9),
                account: AccountId(2),
                price: Price(99),
                qty: Qty(5),
                ..NewOrder::default()
            }),
        ),
        &mut ev,
    );
    assert!(
        matches!(
            ev[0].kind,
            EventKind::Rejected {
                reason: RejectReason::AccountHalted,
                ..
            }
        ),
        "{ev:?}"
    );
}

#[test]
fn risk_commands_without_risk_are_refused_clearly() {
    let mut e = Engine::new(EngineConfig::single(BookConfig::default())).unwrap();
    let mut ev: Vec<Event> = Vec::new();
    e.process(
        &Command::new(
            1,
            CommandKind::Risk(RiskControl::Kill {
                account: AccountId(1),
            }),
        ),
        &mut ev,
    );
    assert!(matches!(
        ev[0].kind,
        EventKind::Rejected {
            reason: RejectReason::RiskNotConfigured,
            ..
        }
    ));
}

/// A new order the risk checks pass but the book rejects (here a duplicate order id) leaves the
/// risk state as it was: the new-order path's upkeep done ahead of the `Accepted` is undone by
/// the book's reject, for a resting order and an IOC alike.
#[test]
fn a_book_reject_after_a_passed_check_leaves_risk_state_unchanged() {
    let mut e = engine();
    let mut ev: Vec<Event> = Vec::new();
    let new = |t: u64, id: u64, price: i64, qty: u64, tif: TimeInForce| {
        Command::new(
            t,
            CommandKind::New(NewOrder {
                order_id: OrderId(id),
                account: AccountId(1),
                side: Side::Buy,
                price: Price(price),
                qty: Qty(qty),
                tif,
                ..NewOrder::default()
            }),
        )
    };
    let state = |e: &Engine| {
        let r = e.risk().unwrap();
        (
            r.open_orders(AccountId(1)),
            r.exposure(AccountId(1)),
            r.open_qty(AccountId(1), InstrumentId(0), Side::Buy),
            r.position(AccountId(1), InstrumentId(0)),
        )
    };
    e.process(&new(1, 7, 99, 5, TimeInForce::Gtc), &mut ev);
    let rested = state(&e);
    assert_eq!(rested, (1, 99 * 5, 5, 0), "{ev:?}");
    for (t, tif) in [(2, TimeInForce::Gtc), (3, TimeInForce::Ioc)] {
        ev.clear();
        e.process(&new(t, 7, 98, 3, tif), &mut ev);
        assert!(
            matches!(
                ev[..],
                [Event {
                    kind: EventKind::Rejected {
                        reason: RejectReason::DuplicateOrderId,
                        ..
                    },
                    ..
                }]
            ),
            "{ev:?}"
        );
        assert_eq!(state(&e), rested);
    }
    // The next order is counted as usual.
    e.process(&new(4, 8, 97, 2, TimeInForce::Gtc), &mut ev);
    assert_eq!(state(&e), (2, 99 * 5 + 97 * 2, 7, 0));
}

/// A plain IOC from an account that holds a position in another instrument (its credit check
/// sums the exposure over the instruments held) is never left counted: after it trades and its
/// rest is cancelled, open orders, open quantity and exposure are those of the resting orders
/// and positions alone.
#[test]
fn an_ioc_of_an_account_holding_other_instruments_leaves_no_open_count() {
    let cfg = RiskConfig::from_toml_str(
        r#"
max_orders = 64
[[instruments]]
id = 0
[[instruments]]
id = 1
[[accounts]]
id = 1
credit_limit = 1000000
[[accounts]]
id = 2
credit_limit = 1000000
"#,
    )
    .unwrap();
    let book = BookConfig {
        max_orders: 64,
        dense_levels: 256,
        level_events: false,
        ..BookConfig::default()
    };
    let mut e = Engine::with_risk(
        EngineConfig {
            instruments: vec![book, book],
        },
        Risk::new(&cfg).unwrap(),
    )
    .unwrap();
    let new = |t: u64, id: u64, account: u32, instrument: u32, side: Side, qty: u64, tif| {
        Command::new(
            t,
            CommandKind::New(NewOrder {
                order_id: OrderId(id),
                account: AccountId(account),
                instrument: InstrumentId(instrument),
                side,
                price: Price(100),
                qty: Qty(qty),
                tif,
                ..NewOrder::default()
            }),
        )
    };
    let mut ev: Vec<Event> = Vec::new();
    // Account 1 buys 5 in instrument 1 from account 2: it now holds instrument 1.
    e.process(&new(1, 1, 2, 1, Side::Sell, 5, TimeInForce::Gtc), &mut ev);
    e.process(&new(2, 2, 1, 1, Side::Buy, 5, TimeInForce::Gtc), &mut ev);
    // Account 2 rests 3 in instrument 0; account 1 sends an IOC for 10 there: 3 trade, 7 are
    // cancelled.
    e.process(&new(3, 3, 2, 0, Side::Sell, 3, TimeInForce::Gtc), &mut ev);
    ev.clear();
    e.process(&new(4, 4, 1, 0, Side::Buy, 10, TimeInForce::Ioc), &mut ev);
    assert!(
        ev.iter()
            .any(|e| matches!(e.kind, EventKind::Trade { qty: Qty(3), .. })),
        "{ev:?}"
    );
    let r = e.risk().unwrap();
    assert_eq!(r.position(AccountId(1), InstrumentId(0)), 3);
    assert_eq!(r.position(AccountId(1), InstrumentId(1)), 5);
    assert_eq!(r.open_orders(AccountId(1)), 0);
    assert_eq!(r.open_qty(AccountId(1), InstrumentId(0), Side::Buy), 0);
    // Positions only: 3 + 5 lots marked at 100.
    assert_eq!(r.exposure(AccountId(1)), 800);
    // A resting order on the same path is counted once, and released by its cancel.
    e.process(&new(5, 5, 1, 0, Side::Buy, 2, TimeInForce::Gtc), &mut ev);
    let r = e.risk().unwrap();
    assert_eq!(r.open_orders(AccountId(1)), 1);
    assert_eq!(r.open_qty(AccountId(1), InstrumentId(0), Side::Buy), 2);
    assert_eq!(r.exposure(AccountId(1)), 1000);
    let cancel = Command::new(
        6,
        CommandKind::Cancel(CancelOrder {
            order_id: OrderId(5),
            account: AccountId(1),
            instrument: InstrumentId(0),
        }),
    );
    e.process(&cancel, &mut ev);
    let r = e.risk().unwrap();
    assert_eq!(r.open_orders(AccountId(1)), 0);
    assert_eq!(r.open_qty(AccountId(1), InstrumentId(0), Side::Buy), 0);
    assert_eq!(r.exposure(AccountId(1)), 800);
}
