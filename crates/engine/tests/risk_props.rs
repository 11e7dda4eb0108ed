//! Engine + risk, property-tested: no order that breaks a static limit reaches the book, and the
//! positions the risk layer tracks equal those recomputed from the event stream.
//!
//! One instrument: `limits_hold_and_positions_match_the_events`. Several
//! (`several_instruments_limits_hold_and_state_matches_the_events`): three instruments with
//! different steps, limits and bands, accounts holding positions and orders in several at once,
//! every order type, time in force and risk command; an independent model, driven by the event
//! stream only, gives every new order's, modify's and cancel's answer (reason, limit and value)
//! and, after every command, each account's positions, open orders, open quantity per side and
//! exposure, and the books' resting orders. `PROPTEST_CASES=N` runs a longer search.

use ferrex_engine::{BookConfig, Engine, EngineConfig};
use ferrex_risk::{BandConfig, Risk, RiskConfig};
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

// ------------------------------------------------------------------ several instruments

/// Three instruments with different steps, limits and bands (two with a volatility
/// interruption), four listed accounts (two with market-maker protection, one of them without
/// any other limit), one covered by the default profile and an unknown one.
const MULTI_CFG: &str = r#"
# Small, so that the risk layer's order capacity is reached.
max_orders = 10
max_accounts = 6
# Account 5 (unlisted).
[default_account]
credit_limit = 8000
max_open_orders = 3
max_long = 40
max_short = 40
[[instruments]]
id = 0
max_order_qty = 40
max_order_notional = 4000
price_band = { ticks = 15 }
reference_price = 100
market_protection_ticks = 5
velocity = { max_move_ticks = 10, window_ns = 200, halt_ns = 150 }
[[instruments]]
id = 1
tick_size = 5
lot_size = 5
min_qty = 5
max_qty = 100
max_order_notional = 30000
price_band = { bps = 400 }
reference_price = 500
market_protection_ticks = 4
[[instruments]]
id = 2
min_price = 50
max_price = 150
market_protection_ticks = 3
velocity = { max_move_ticks = 12, window_ns = 300, halt_ns = 250 }
[[accounts]]
id = 1
credit_limit = 15000
max_open_orders = 5
max_long = 120
max_short = 120
[[accounts]]
id = 2
credit_limit = 25000
max_open_orders = 8
max_open_orders_per_instrument = 4
max_order_qty = 80
max_order_notional = 20000
mmp = { window_ns = 500, max_count = 4, freeze_ns = 200 }
[[accounts]]
id = 3
max_long = 60
max_short = 60
throttle = { rate = 8, window_ns = 1000 }
[[accounts]]
id = 4
mmp = { window_ns = 400, max_qty = 30, max_count = 5, freeze_ns = 300 }
"#;

const N_INSTR: usize = 3;
/// The throttle window of an account whose config has none (`SetLimit(ThrottleRate)` turns
/// one on with it).
const DEFAULT_WINDOW_NS: u64 = 1_000_000_000;
/// Accounts 0 (never used), 1..=4 listed, 5 the default profile, 6 unknown.
const N_ACCT: usize = 7;
const NONE_U: u64 = u64::MAX;
const NONE_I: i64 = i64::MAX;

/// The model's copy of an instrument's limits (read from `MULTI_CFG`).
#[derive(Clone, Copy, Debug, Default)]
struct InsLim {
    tick: i64,
    lot: u64,
    min_qty: u64,
    max_qty: u64,
    min_price: i64,
    max_price: i64,
    /// 0 off, 1 bps, 2 ticks.
    band_kind: u8,
    band: i64,
    reference: Option<i64>,
    protection: i64,
}

/// The generator's price grid per instrument: (centre, tick, lot), as in `MULTI_CFG`.
const GRID: [(i64, i64, u64); N_INSTR] = [(100, 1, 1), (500, 5, 5), (100, 1, 1)];

/// The model's copy of an account's limits.
#[derive(Clone, Copy, Debug)]
struct AcctLim {
    known: bool,
    credit: i64,
    max_open: u64,
    max_open_instr: u64,
    /// Throttle: messages per window (0: none) and the window (ns).
    rate: u64,
    window: u64,
}

/// Per (account, instrument): min(account, instrument) limits, as `SetLimit` replaces them.
#[derive(Clone, Copy, Debug)]
struct SlotLim {
    max_order_qty: u64,
    max_order_notional: i64,
    max_long: u64,
    max_short: u64,
}

#[derive(Clone, Copy, Debug)]
struct MOrder {
    account: u32,
    side: Side,
    /// Its price in the book (0 for a stop order without a limit).
    price: i64,
    /// The price its open quantity is valued at: its limit price; a market order's and a stop
    /// order's as the check valued it.
    reserve: i64,
    leaves: u64,
    reduce_only: bool,
    /// A pending (untriggered) stop.
    stop: bool,
    /// GTD expire time (0: none).
    expire: u64,
}

/// What the model knows of the order a new-order command enters (for its `Accepted`).
#[derive(Clone, Copy, Debug, Default)]
struct Entering {
    reserve: i64,
    reduce_only: bool,
    stop: bool,
    expire: u64,
}

/// A refusal the model expects: the reason and, where the model states them, the limit and
/// the value the reject carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rej(RejectReason, Option<(i64, i64)>);

impl From<RejectReason> for Rej {
    fn from(r: RejectReason) -> Rej {
        Rej(r, None)
    }
}

/// The i64 a reject field carries for a limit ("no limit" saturates).
fn lim(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// An independent model of what the risk layer must track, driven by the event stream only,
/// and of what its checks must decide.
struct Model {
    ins: [InsLim; N_INSTR],
    acct: [AcctLim; N_ACCT],
    slot: [[SlotLim; N_INSTR]; N_ACCT],
    /// `max_orders`: live orders of every account and instrument.
    max_orders: usize,
    acct_state: [TradingState; N_ACCT],
    ins_state: [TradingState; N_INSTR],
    orders: std::collections::BTreeMap<(u32, u64), MOrder>,
    pos: [[i64; N_INSTR]; N_ACCT],
    last: [Option<i64>; N_INSTR],
    /// MMP freeze of an account until this time (0: none), from its `AccountState` events.
    mmp_until: [u64; N_ACCT],
    /// Volatility interruption of an instrument until this time (0: none), from its
    /// `InstrumentState` events.
    vol_until: [u64; N_INSTR],
    /// Throttle token buckets (tokens scaled by the window, last message time).
    tokens: [u64; N_ACCT],
    last_msg: [u64; N_ACCT],
}

impl Model {
    /// The model of a fresh engine built from `cfg` (whose instruments are `0..N_INSTR` and
    /// accounts below `N_ACCT`).
    fn new(cfg: &RiskConfig) -> Model {
        let mut ins = [InsLim::default(); N_INSTR];
        for ic in &cfg.instruments {
            let (band_kind, band) = match ic.price_band {
                Some(BandConfig { bps: Some(x), .. }) => (1, x),
                Some(BandConfig { ticks: Some(x), .. }) => (2, x),
                _ => (0, 0),
            };
            ins[ic.id as usize] = InsLim {
                tick: ic.tick_size,
                lot: ic.lot_size,
                min_qty: ic.min_qty,
                max_qty: ic.max_qty.unwrap_or(NONE_U),
                min_price: ic.min_price,
                max_price: ic.max_price,
                band_kind,
                band,
                reference: ic.reference_price,
                protection: ic.market_protection_ticks,
            };
        }
        let unknown = AcctLim {
            known: false,
            credit: NONE_I,
            max_open: NONE_U,
            max_open_instr: NONE_U,
            rate: 0,
            window: DEFAULT_WINDOW_NS,
        };
        let mut acct = [unknown; N_ACCT];
        let free = SlotLim {
            max_order_qty: NONE_U,
            max_order_notional: NONE_I,
            max_long: NONE_U,
            max_short: NONE_U,
        };
        let mut slot = [[free; N_INSTR]; N_ACCT];
        let mut tokens = [0; N_ACCT];
        // The default profile covers the unlisted ids below `max_accounts`, the listed ones
        // their own.
        let listed = cfg
            .accounts
            .iter()
            .map(|ac| ac.id as usize)
            .max()
            .unwrap_or(0);
        let profiles = cfg
            .default_account
            .iter()
            .flat_map(|d| (1..(listed + 1).max(cfg.max_accounts as usize)).map(move |a| (a, d)));
        for (a, ac) in profiles.chain(cfg.accounts.iter().map(|ac| (ac.id as usize, ac))) {
            let (rate, window) = ac
                .throttle
                .map_or((0, DEFAULT_WINDOW_NS), |t| (u64::from(t.rate), t.window_ns));
            acct[a] = AcctLim {
                known: true,
                credit: ac.credit_limit.unwrap_or(NONE_I),
                max_open: ac.max_open_orders.map_or(NONE_U, u64::from),
                max_open_instr: ac.max_open_orders_per_instrument.map_or(NONE_U, u64::from),
                rate,
                window,
            };
            tokens[a] = rate * window;
            // The smaller of the account's and the instrument's limit applies.
            for ic in &cfg.instruments {
                slot[a][ic.id as usize] = SlotLim {
                    max_order_qty: ac
                        .max_order_qty
                        .unwrap_or(NONE_U)
                        .min(ic.max_order_qty.unwrap_or(NONE_U)),
                    max_order_notional: ac
                        .max_order_notional
                        .unwrap_or(NONE_I)
                        .min(ic.max_order_notional.unwrap_or(NONE_I)),
                    max_long: ac.max_long.unwrap_or(NONE_U),
                    max_short: ac.max_short.unwrap_or(NONE_U),
                };
            }
        }
        Model {
            ins,
            acct,
            slot,
            max_orders: cfg.max_orders as usize,
            acct_state: [TradingState::Active; N_ACCT],
            ins_state: [TradingState::Active; N_INSTR],
            orders: Default::default(),
            pos: [[0; N_INSTR]; N_ACCT],
            last: [None; N_INSTR],
            mmp_until: [0; N_ACCT],
            vol_until: [0; N_INSTR],
            tokens,
            last_msg: [0; N_ACCT],
        }
    }

    fn open_qty(&self, a: u32, i: usize, side: Side) -> u64 {
        self.orders
            .iter()
            .filter(|((k, _), o)| *k as usize == i && o.account == a && o.side == side)
            .map(|(_, o)| o.leaves)
            .sum()
    }

    fn open_count(&self, a: u32, i: Option<usize>) -> u64 {
        self.orders
            .iter()
            .filter(|((k, _), o)| o.account == a && i.is_none_or(|i| *k as usize == i))
            .count() as u64
    }

    /// Open orders at their reserve (limit) price + Σ |position| × last trade price.
    fn exposure(&self, a: u32) -> i128 {
        let open: i128 = self
            .orders
            .values()
            .filter(|o| o.account == a)
            .map(|o| i128::from(o.reserve) * i128::from(o.leaves))
            .sum();
        let held: i128 = (0..N_INSTR)
            .map(|i| {
                i128::from(self.pos[a as usize][i]).abs() * i128::from(self.last[i].unwrap_or(0))
            })
            .sum();
        open + held
    }

    /// The band check of limit price `p` in instrument `i` (`mkt`: best bid, best ask and last
    /// trade before the command).
    fn band(
        &self,
        i: usize,
        p: i64,
        mkt: (Option<i64>, Option<i64>, Option<i64>),
    ) -> Result<(), Rej> {
        let ins = &self.ins[i];
        if ins.band_kind == 0 {
            return Ok(());
        }
        let reference = match (mkt.2.or(self.last[i]), mkt.0, mkt.1) {
            (Some(l), _, _) => Some(l),
            (None, Some(b), Some(a)) => Some((b + a) >> 1),
            _ => ins.reference,
        };
        let Some(r) = reference else { return Ok(()) };
        let w = if ins.band_kind == 1 {
            r.abs() * ins.band / 10_000
        } else {
            ins.band * ins.tick
        };
        let band = |edge| Err(Rej(RejectReason::PriceOutsideBand, Some((edge, p))));
        if p > r + w {
            return band(r + w);
        }
        if p < r - w {
            return band(r - w);
        }
        Ok(())
    }

    /// Quantity and price steps and ranges, in the risk layer's order.
    fn statics(&self, i: usize, qty: u64, price: Option<i64>) -> Result<(), RejectReason> {
        let ins = &self.ins[i];
        if qty == 0 {
            return Err(RejectReason::InvalidQty);
        }
        if !qty.is_multiple_of(ins.lot) {
            return Err(RejectReason::LotSize);
        }
        if qty < ins.min_qty || qty > ins.max_qty {
            return Err(RejectReason::OutsideMinMax);
        }
        if let Some(p) = price {
            if p < ins.min_price || p > ins.max_price {
                return Err(RejectReason::OutsideMinMax);
            }
            if p % ins.tick != 0 {
                return Err(RejectReason::TickSize);
            }
        }
        Ok(())
    }

    /// Reduce-only and reducing states: qty + open on its side ≤ the position it reduces.
    fn reducing(
        &self,
        a: usize,
        i: usize,
        ro: bool,
        side: Side,
        same_open: i64,
        qty: u64,
    ) -> Result<(), Rej> {
        let acct_red = self.acct_state[a] == TradingState::Reducing;
        let ins_red = self.ins_state[i] == TradingState::Reducing;
        if !(ro || acct_red || ins_red) {
            return Ok(());
        }
        let pos = self.pos[a][i];
        let reducible = match side {
            Side::Buy => (-pos).max(0),
            Side::Sell => pos.max(0),
        };
        let room = reducible - same_open;
        if qty as i64 <= room {
            return Ok(());
        }
        let reason = if ro {
            RejectReason::ReduceOnly
        } else if acct_red {
            RejectReason::AccountReducing
        } else {
            RejectReason::InstrumentReducing
        };
        Err(Rej(reason, Some((room.max(0), qty as i64))))
    }

    /// Position limit: position (or its negative) + open on the order's side + qty.
    fn position(
        &self,
        a: usize,
        i: usize,
        side: Side,
        same_open: i64,
        qty: u64,
    ) -> Result<(), Rej> {
        let s = &self.slot[a][i];
        let pos = i128::from(self.pos[a][i]);
        let (v, max) = match side {
            Side::Buy => (pos + i128::from(same_open) + i128::from(qty), s.max_long),
            Side::Sell => (-pos + i128::from(same_open) + i128::from(qty), s.max_short),
        };
        if v > i128::from(max) {
            return Err(Rej(RejectReason::PositionLimit, Some((lim(max), v as i64))));
        }
        Ok(())
    }

    /// Per-order quantity and notional, and the credit limit (`exposure`: the account's
    /// exposure without the order).
    fn order_limits(
        &self,
        a: usize,
        i: usize,
        qty: u64,
        notional: i128,
        exposure: i128,
    ) -> Result<(), Rej> {
        let max = self.slot[a][i].max_order_notional;
        if notional > i128::from(max) {
            return Err(Rej(
                RejectReason::MaxOrderNotional,
                Some((max, notional as i64)),
            ));
        }
        let _ = qty;
        let credit = self.acct[a].credit;
        if credit != NONE_I && exposure + notional > i128::from(credit) {
            let e = (exposure + notional) as i64;
            return Err(Rej(RejectReason::CreditLimit, Some((credit, e))));
        }
        Ok(())
    }

    fn max_order_qty(&self, a: usize, i: usize, qty: u64) -> Result<(), Rej> {
        let max = self.slot[a][i].max_order_qty;
        if qty > max {
            return Err(Rej(RejectReason::MaxOrderQty, Some((lim(max), qty as i64))));
        }
        Ok(())
    }

    /// The state gates (the throttle aside): account halted, instrument halted, MMP freeze.
    fn gates(&mut self, a: usize, i: usize, now: u64) -> Result<(), Rej> {
        if self.acct_state[a] == TradingState::Halted {
            return Err(RejectReason::AccountHalted.into());
        }
        self.throttle(a, now)?;
        if self.ins_state[i] == TradingState::Halted {
            return Err(RejectReason::InstrumentHalted.into());
        }
        if now < self.mmp_until[a] {
            return Err(RejectReason::MmpFrozen.into());
        }
        Ok(())
    }

    /// The throttle counts one message of account `a` at `now` (new, modify and cancel): a
    /// token bucket refilled at the rate, capped at one window's worth.
    fn throttle(&mut self, a: usize, now: u64) -> Result<(), Rej> {
        let (rate, w) = (self.acct[a].rate, self.acct[a].window);
        if rate == 0 {
            return Ok(());
        }
        let dt = now.saturating_sub(self.last_msg[a]);
        self.last_msg[a] = self.last_msg[a].max(now);
        let t = (self.tokens[a] + dt * rate).min(rate * w);
        if t < w {
            self.tokens[a] = t;
            let r = rate as i64;
            return Err(Rej(RejectReason::Throttled, Some((r, r + 1))));
        }
        self.tokens[a] = t - w;
        Ok(())
    }

    /// What the risk layer must answer to a cancel (the throttle only).
    fn check_cancel(&mut self, c: &CancelOrder, now: u64) -> Result<(), Rej> {
        let a = c.account.0 as usize;
        if a >= N_ACCT || !self.acct[a].known {
            return Err(RejectReason::UnknownAccount.into());
        }
        self.throttle(a, now)
    }

    /// During a volatility interruption: market orders and limits crossing the opposite best
    /// are refused.
    fn volatility(
        &self,
        i: usize,
        now: u64,
        t: OrdType,
        side: Side,
        price: i64,
        mkt: (Option<i64>, Option<i64>, Option<i64>),
    ) -> Result<(), RejectReason> {
        if now >= self.vol_until[i] {
            return Ok(());
        }
        let crosses = match (t, side) {
            (OrdType::Market, _) => true,
            (OrdType::Limit, Side::Buy) => mkt.1.is_some_and(|a| price >= a),
            (OrdType::Limit, Side::Sell) => mkt.0.is_some_and(|b| price <= b),
            _ => false,
        };
        if crosses {
            return Err(RejectReason::VolatilityHalt);
        }
        Ok(())
    }

    /// What the risk layer must answer to a new order (the throttle aside).
    fn check_new(
        &mut self,
        o: &NewOrder,
        now: u64,
        mkt: (Option<i64>, Option<i64>, Option<i64>),
    ) -> Result<i64, Rej> {
        use RejectReason as R;
        let a = o.account.0 as usize;
        if a >= N_ACCT || !self.acct[a].known {
            return Err(R::UnknownAccount.into());
        }
        let i = o.instrument.0 as usize;
        if i >= N_INSTR {
            // The message counts against the throttle all the same.
            self.throttle(a, now)?;
            return Err(R::UnknownInstrument.into());
        }
        self.gates(a, i, now)?;
        let limit = o.ord_type == OrdType::Limit;
        let has_limit = matches!(o.ord_type, OrdType::Limit | OrdType::StopLimit);
        let has_stop = matches!(o.ord_type, OrdType::Stop | OrdType::StopLimit);
        let qty = o.qty.0;
        self.statics(i, qty, has_limit.then_some(o.price.0))?;
        if has_stop {
            self.statics(i, qty, Some(o.stop_price.0))?;
        }
        self.volatility(i, now, o.ord_type, o.side, o.price.0, mkt)?;
        self.max_order_qty(a, i, qty)?;
        let same_open = self.open_qty(a as u32, i, o.side) as i64;
        self.reducing(
            a,
            i,
            o.flags.contains(OrderFlags::REDUCE_ONLY),
            o.side,
            same_open,
            qty,
        )?;
        // Orders that rest: limit orders but IOC and FOK, and every stop order (a pending stop
        // is a live order whatever its time in force).
        let rests = has_stop
            || (o.ord_type == OrdType::Limit
                && !matches!(o.tif, TimeInForce::Ioc | TimeInForce::Fok));
        let (n, n_instr) = (
            self.open_count(a as u32, None),
            self.open_count(a as u32, Some(i)),
        );
        let acct = &self.acct[a];
        let open = |max: u64, n: u64| Err(Rej(R::MaxOpenOrders, Some((lim(max), n as i64 + 1))));
        if rests && n >= acct.max_open {
            return open(acct.max_open, n);
        }
        if rests && n_instr >= acct.max_open_instr {
            return open(acct.max_open_instr, n_instr);
        }
        // `max_orders`: live orders of every account and instrument.
        if self.orders.len() >= self.max_orders {
            return open(self.max_orders as u64, self.max_orders as u64);
        }
        self.position(a, i, o.side, same_open, qty)?;
        let ins = &self.ins[i];
        let prot = ins.protection * ins.tick;
        let reserve = match o.ord_type {
            OrdType::Limit | OrdType::StopLimit => o.price.0,
            OrdType::Market => {
                let fallback = self.last[i].or(ins.reference).unwrap_or(0);
                match o.side {
                    Side::Buy => mkt.1.map_or(fallback, |a| (a + prot).min(ins.max_price)),
                    Side::Sell => mkt.0.unwrap_or(fallback),
                }
            }
            OrdType::Stop => match o.side {
                Side::Buy => (o.stop_price.0 + prot).min(ins.max_price),
                Side::Sell => o.stop_price.0,
            },
        };
        // A stop limit's band is around its stop price.
        let band_mkt = if limit {
            mkt
        } else {
            (None, None, Some(o.stop_price.0))
        };
        if has_limit {
            self.band(i, o.price.0, band_mkt)?;
        }
        let notional = i128::from(reserve) * i128::from(qty);
        self.order_limits(a, i, qty, notional, self.exposure(a as u32))?;
        Ok(reserve)
    }

    /// What the risk layer must answer to a modify of a live order `old` (the throttle
    /// aside). Limits are those of the modify's account, as `check_modify` reads them.
    fn check_modify(
        &mut self,
        m: &ModifyOrder,
        old: &MOrder,
        now: u64,
        mkt: (Option<i64>, Option<i64>, Option<i64>),
    ) -> Result<(), Rej> {
        let a = m.account.0 as usize;
        if a >= N_ACCT || !self.acct[a].known {
            return Err(RejectReason::UnknownAccount.into());
        }
        let i = m.instrument.0 as usize;
        self.gates(a, i, now)?;
        let qty = m.qty.0;
        self.statics(i, qty, Some(m.price.0))?;
        self.volatility(i, now, OrdType::Limit, old.side, m.price.0, mkt)?;
        self.max_order_qty(a, i, qty)?;
        let same_open = (self.open_qty(a as u32, i, old.side) as i64 - old.leaves as i64).max(0);
        self.reducing(a, i, old.reduce_only, old.side, same_open, qty)?;
        self.position(a, i, old.side, same_open, qty)?;
        self.band(i, m.price.0, mkt)?;
        let notional = i128::from(m.price.0) * i128::from(qty);
        // The order's own open notional is replaced by the new one.
        let exposure = self.exposure(a as u32) - i128::from(old.reserve) * i128::from(old.leaves);
        self.order_limits(a, i, qty, notional, exposure)?;
        Ok(())
    }

    /// A risk command the engine passed (known ids, value ≥ 0).
    fn control(&mut self, c: &RiskControl) {
        match *c {
            RiskControl::Kill { account } => {
                self.acct_state[account.0 as usize] = TradingState::Halted
            }
            RiskControl::SetAccountState { account, state } => {
                self.acct_state[account.0 as usize] = state;
                // The command refills the throttle.
                let a = &self.acct[account.0 as usize];
                self.tokens[account.0 as usize] = a.rate * a.window;
            }
            RiskControl::SetInstrumentState { instrument, state } => {
                self.ins_state[instrument.0 as usize] = state;
                if state == TradingState::Active {
                    self.vol_until[instrument.0 as usize] = 0;
                }
            }
            RiskControl::SetReferencePrice { instrument, price } => {
                self.ins[instrument.0 as usize].reference = Some(price.0)
            }
            RiskControl::SetLimit(l) => {
                let (a, i, v) = (l.account.0 as usize, l.instrument.0 as usize, l.value);
                match l.kind {
                    LimitKind::CreditLimit => self.acct[a].credit = v,
                    LimitKind::MaxOpenOrders => self.acct[a].max_open = v as u64,
                    LimitKind::MaxOpenOrdersPerInstrument => self.acct[a].max_open_instr = v as u64,
                    LimitKind::ThrottleRate => {
                        // Tokens are clamped to the new capacity (0 turns the throttle off).
                        let acct = &mut self.acct[a];
                        acct.rate = v as u64;
                        self.tokens[a] = self.tokens[a].min(acct.rate * acct.window);
                    }
                    LimitKind::PriceBand => {
                        let ins = &mut self.ins[i];
                        if v == 0 {
                            ins.band_kind = 0;
                        } else {
                            if ins.band_kind == 0 {
                                ins.band_kind = 2;
                            }
                            ins.band = v;
                        }
                    }
                    kind => {
                        let accounts = if a == 0 { 0..N_ACCT } else { a..a + 1 };
                        for a in accounts {
                            let s = &mut self.slot[a][i];
                            match kind {
                                LimitKind::MaxOrderQty => s.max_order_qty = v as u64,
                                LimitKind::MaxOrderNotional => s.max_order_notional = v,
                                LimitKind::MaxLong => s.max_long = v as u64,
                                _ => s.max_short = v as u64,
                            }
                        }
                    }
                }
            }
            RiskControl::ResetMmp { .. } => {}
        }
    }

    /// Apply one event of the stream (`entering`: the order a new-order command enters).
    fn apply(&mut self, ev: &EventKind, entering: Entering) {
        match *ev {
            EventKind::Accepted {
                order_id,
                account,
                instrument,
                side,
                price,
                qty,
            } => {
                let prev = self.orders.insert(
                    (instrument.0, order_id.0),
                    MOrder {
                        account: account.0,
                        side,
                        price: price.0,
                        reserve: entering.reserve,
                        leaves: qty.0,
                        reduce_only: entering.reduce_only,
                        stop: entering.stop,
                        expire: entering.expire,
                    },
                );
                assert!(prev.is_none(), "accepted twice: {ev:?}");
            }
            EventKind::Trade {
                instrument,
                price,
                qty,
                maker_order_id,
                taker_order_id,
                maker_leaves,
                taker_leaves,
                maker_account,
                taker_account,
                aggressor,
            } => {
                let i = instrument.0 as usize;
                let q = qty.0 as i64;
                let (buyer, seller) = match aggressor {
                    Side::Buy => (taker_account, maker_account),
                    Side::Sell => (maker_account, taker_account),
                };
                self.pos[buyer.0 as usize][i] += q;
                self.pos[seller.0 as usize][i] -= q;
                self.last[i] = Some(price.0);
                for (id, leaves) in [
                    (maker_order_id, maker_leaves),
                    (taker_order_id, taker_leaves),
                ] {
                    self.set_leaves(instrument.0, id.0, leaves.0);
                }
            }
            EventKind::Cancelled {
                order_id,
                instrument,
                leaves,
                ..
            } => self.set_leaves(instrument.0, order_id.0, leaves.0),
            EventKind::Expired {
                order_id,
                instrument,
                ..
            } => self.set_leaves(instrument.0, order_id.0, 0),
            EventKind::Replaced {
                order_id,
                instrument,
                price,
                qty,
                ..
            } => {
                if let Some(o) = self.orders.get_mut(&(instrument.0, order_id.0)) {
                    o.price = price.0;
                    o.reserve = price.0;
                }
                self.set_leaves(instrument.0, order_id.0, qty.0);
            }
            // A freeze or halt carries when it lifts; its lift carries 0.
            EventKind::AccountState {
                account,
                cause: RejectReason::MmpFrozen,
                until,
                ..
            } => self.mmp_until[account.0 as usize] = until,
            EventKind::InstrumentState {
                instrument,
                cause: RejectReason::VolatilityHalt,
                until,
                ..
            } => self.vol_until[instrument.0 as usize] = until,
            EventKind::Triggered {
                order_id,
                instrument,
                ..
            } => {
                if let Some(o) = self.orders.get_mut(&(instrument.0, order_id.0)) {
                    o.stop = false;
                }
            }
            _ => {}
        }
    }

    fn set_leaves(&mut self, instrument: u32, id: u64, leaves: u64) {
        let k = (instrument, id);
        if leaves == 0 {
            self.orders.remove(&k);
        } else if let Some(o) = self.orders.get_mut(&k) {
            o.leaves = leaves;
        }
    }
}

#[derive(Debug, Clone)]
enum MOp {
    New {
        account: u32,
        instrument: u32,
        buy: bool,
        step: i64,
        off_grid: bool,
        lots: u64,
        off_lot: bool,
        tif: u8,
        /// 0, 1 market; 2 stop; 3 stop limit; else limit.
        ord: u8,
        flags: u8,
        /// A stop price this many ticks from the last trade (or the centre).
        stop_step: i64,
        /// Display quantity in lots (iceberg) where below the order's quantity.
        display: Option<u64>,
        stp: u8,
        /// GTD: expires this many commands later (0: now, which the book refuses).
        gtd: u64,
        /// Reuse an id entered before in the instrument (`Some(pick)`): a live one (the book
        /// rejects it) or one whose order has ended.
        dup: Option<usize>,
    },
    Cancel {
        pick: usize,
        /// Pick a live order (else any id entered).
        live: bool,
        other_account: Option<u32>,
    },
    Modify {
        pick: usize,
        live: bool,
        other_account: Option<u32>,
        step: i64,
        lots: u64,
        keep_price: bool,
    },
    MassCancel {
        account: u32,
        instrument: Option<u32>,
    },
    /// An order closing the account's position in the instrument at the opposite best (a
    /// position returning to 0 leaves the account's held instruments).
    Flatten {
        account: u32,
        instrument: u32,
        ioc: bool,
        reduce_only: bool,
    },
    /// Go on with an engine restored from a snapshot of this one.
    Restore,
    Control(RiskControl),
}

fn state_of(n: u8) -> TradingState {
    match n % 4 {
        0 | 3 => TradingState::Active,
        1 => TradingState::Reducing,
        _ => TradingState::Halted,
    }
}

fn multi_op() -> impl Strategy<Value = MOp> {
    let new = (
        (
            prop_oneof![30 => 1u32..=5, 1 => Just(6u32)],
            prop_oneof![30 => 0u32..3, 1 => Just(3u32)],
            any::<bool>(),
            prop_oneof![6 => -5i64..=5, 1 => -20i64..=20],
        ),
        (
            prop::bool::weighted(0.04),
            0u64..=44,
            prop::bool::weighted(0.03),
        ),
        (0u8..8, 0u8..20, 0u8..10),
        (
            -4i64..=4,
            prop::option::weighted(0.1, 1u64..=3),
            0u8..10,
            0u64..=20,
        ),
        prop::option::weighted(0.06, any::<usize>()),
    )
        .prop_map(
            |(
                (account, instrument, buy, step),
                (off_grid, lots, off_lot),
                (tif, ord, flags),
                (stop_step, display, stp, gtd),
                dup,
            )| {
                MOp::New {
                    account,
                    instrument,
                    buy,
                    step,
                    off_grid,
                    lots,
                    off_lot,
                    tif,
                    ord,
                    flags,
                    stop_step,
                    display,
                    stp,
                    gtd,
                    dup,
                }
            },
        );
    let control = prop_oneof![
        3 => (1u32..=5, any::<u8>()).prop_map(|(a, s)| RiskControl::SetAccountState {
            account: AccountId(a),
            state: state_of(s),
        }),
        3 => (0u32..3, any::<u8>()).prop_map(|(i, s)| RiskControl::SetInstrumentState {
            instrument: InstrumentId(i),
            state: state_of(s),
        }),
        1 => (1u32..=5).prop_map(|a| RiskControl::Kill { account: AccountId(a) }),
        1 => (0u32..3, -6i64..=6).prop_map(|(i, d)| RiskControl::SetReferencePrice {
            instrument: InstrumentId(i),
            price: Price(GRID[i as usize].0 + d * GRID[i as usize].1),
        }),
        6 => (0u8..9, 0u32..=5, 0u32..3, 0i64..=100).prop_map(|(k, a, i, v)| {
            let (kind, account, value) = match k {
                0 => (LimitKind::CreditLimit, a.max(1), v * 500),
                1 => (LimitKind::MaxOpenOrders, a.max(1), v / 8),
                2 => (LimitKind::MaxOpenOrdersPerInstrument, a.max(1), v / 20),
                3 => (LimitKind::MaxLong, a, v * 2),
                4 => (LimitKind::MaxShort, a, v * 2),
                5 => (LimitKind::MaxOrderQty, a, v),
                6 => (LimitKind::MaxOrderNotional, a, v * 300),
                7 => (LimitKind::PriceBand, 0, v / 4 * if i == 1 { 20 } else { 1 }),
                _ => (LimitKind::ThrottleRate, a.max(1), v / 10),
            };
            RiskControl::SetLimit(SetLimit {
                value,
                account: AccountId(account),
                instrument: InstrumentId(i),
                kind,
            })
        }),
    ];
    prop_oneof![
        40 => new,
        8 => (any::<usize>(), prop::bool::weighted(0.85), prop::option::weighted(0.08, 1u32..=6))
            .prop_map(|(pick, live, other_account)| MOp::Cancel { pick, live, other_account }),
        8 => (any::<usize>(), prop::bool::weighted(0.85), prop::option::weighted(0.08, 1u32..=6), -8i64..=8, 0u64..=44, any::<bool>())
            .prop_map(|(pick, live, other_account, step, lots, keep_price)| MOp::Modify { pick, live, other_account, step, lots, keep_price }),
        1 => (1u32..=5, prop::option::of(0u32..3))
            .prop_map(|(account, instrument)| MOp::MassCancel { account, instrument }),
        1 => Just(MOp::Restore),
        6 => (1u32..=5, 0u32..3, any::<bool>(), any::<bool>())
            .prop_map(|(account, instrument, ioc, reduce_only)| MOp::Flatten { account, instrument, ioc, reduce_only }),
        2 => control.prop_map(MOp::Control),
    ]
}

/// The instrument's price `step` ticks from its centre (`off_grid`: one price unit off);
/// only the widest steps leave instrument 2's price range.
fn price_at(i: usize, step: i64, off_grid: bool) -> i64 {
    let (center, tick, _) = GRID[i];
    let scale = if i == 2 && step.abs() >= 18 { 3 } else { 1 };
    center + step * tick * scale + i64::from(off_grid)
}

/// An order quantity of `lots` (0..=44) in instrument `i` (`off_lot`: one lot unit off).
fn qty_of(i: usize, lots: u64, off_lot: bool) -> u64 {
    let q = match i {
        1 if lots == 44 => 105,
        1 => lots / 3 * GRID[1].2,
        _ => lots,
    };
    q + u64::from(off_lot)
}

/// Book reject reasons a new order or modify may get after its risk check passed.
fn book_reason(r: RejectReason) -> bool {
    matches!(
        r,
        RejectReason::DuplicateOrderId
            | RejectReason::NoLiquidity
            | RejectReason::FokNotFillable
            | RejectReason::NotOwner
            | RejectReason::UnknownOrder
            | RejectReason::InvalidStopPrice
            | RejectReason::PostOnlyWouldTake
            | RejectReason::InvalidModify
            | RejectReason::InvalidExpireTime
    )
}

fn multi_cfg() -> RiskConfig {
    RiskConfig::from_toml_str(MULTI_CFG).unwrap()
}

fn multi_engine() -> Engine {
    let cfg = multi_cfg();
    let book = BookConfig {
        max_orders: 4096,
        dense_levels: 256,
        level_events: false,
        ..BookConfig::default()
    };
    Engine::with_risk(
        EngineConfig {
            instruments: vec![book; N_INSTR],
        },
        Risk::new(&cfg).unwrap(),
    )
    .unwrap()
}

/// A live order of the model (`live`, when there is one) or any id entered.
fn pick_id(m: &Model, ids: &[(u32, u64, u32)], pick: usize, live: bool) -> (u32, u64, u32) {
    if live && !m.orders.is_empty() {
        let (&(i, id), o) = m.orders.iter().nth(pick % m.orders.len()).unwrap();
        return (i, id, o.account);
    }
    ids[pick % ids.len()]
}

/// The model's answer to new order `o` at time `t`, and what its `Accepted` enters.
#[allow(clippy::type_complexity)]
fn expect_new(
    m: &mut Model,
    e: &Engine,
    o: &NewOrder,
    t: u64,
) -> (Entering, Option<(u64, Result<(), Rej>)>) {
    let want = m.check_new(o, t, mkt_of(e, o.instrument.0 as usize));
    let entering = Entering {
        reserve: *want.as_ref().unwrap_or(&0),
        reduce_only: o.flags.contains(OrderFlags::REDUCE_ONLY),
        stop: matches!(o.ord_type, OrdType::Stop | OrdType::StopLimit),
        expire: if o.tif == TimeInForce::Gtd {
            o.expire_time
        } else {
            0
        },
    };
    (entering, Some((o.order_id.0, want.map(|_| ()))))
}

fn mkt_of(e: &Engine, i: usize) -> (Option<i64>, Option<i64>, Option<i64>) {
    let b = e.book(InstrumentId(i as u32)).unwrap();
    (
        b.best_bid().map(|p| p.0),
        b.best_ask().map(|p| p.0),
        b.last_trade_price().map(|p| p.0),
    )
}

/// Runs `ops`, checking every command's risk decisions against the model's and, after each,
/// every tracked quantity against the model's (recomputed from the events) and the model's
/// open orders against the books'.
fn run_multi(ops: &[MOp]) -> Result<(), TestCaseError> {
    let mut e = multi_engine();
    let mut m = Model::new(&multi_cfg());
    let mut events: Vec<Event> = Vec::new();
    // Every id entered: (instrument, id, owner).
    let mut ids: Vec<(u32, u64, u32)> = Vec::new();
    // Ids are numbered per instrument, so the same id lives in several books at once.
    let mut next = [1u64; N_INSTR + 1];
    let mut t = 0u64;
    for (n, op) in ops.iter().enumerate() {
        t += 37;
        // The decision the model expects: (order id, answer).
        let mut expect: Option<(u64, Result<(), Rej>)> = None;
        let mut entering = Entering::default();
        // GTD orders due now expire at the start of the next command, before its check: a
        // command of their own first (a cancel of no order), so the check below sees the book
        // after them.
        if m.orders.values().any(|o| o.expire != 0 && o.expire <= t) {
            events.clear();
            let tick = CancelOrder {
                order_id: OrderId(0),
                account: AccountId(4),
                instrument: InstrumentId(0),
            };
            // The cancel counts in the account's throttle (one may have been set on it).
            let _ = m.check_cancel(&tick, t);
            e.process(&Command::new(t, CommandKind::Cancel(tick)), &mut events);
            for ev in &events {
                m.apply(&ev.kind, entering);
            }
            prop_assert!(
                !m.orders.values().any(|o| o.expire != 0 && o.expire <= t),
                "not expired: {events:?}"
            );
        }
        let kind = match *op {
            MOp::New {
                account,
                instrument,
                buy,
                step,
                off_grid,
                lots,
                off_lot,
                tif,
                ord,
                flags,
                stop_step,
                display,
                stp,
                gtd,
                dup,
            } => {
                let i = instrument as usize;
                let ii = i.min(N_INSTR - 1);
                // An id entered before in this instrument: live (the book refuses it) or not
                // (reused after its order ended).
                let used: Vec<u64> = ids
                    .iter()
                    .filter(|k| k.0 == instrument)
                    .map(|k| k.1)
                    .collect();
                let id = match dup {
                    Some(p) if !used.is_empty() => used[p % used.len()],
                    _ => {
                        let id = next[i];
                        next[i] += 1;
                        id
                    }
                };
                let ord_type = match ord {
                    0 | 1 => OrdType::Market,
                    2 => OrdType::Stop,
                    3 => OrdType::StopLimit,
                    _ => OrdType::Limit,
                };
                let has_limit = matches!(ord_type, OrdType::Limit | OrdType::StopLimit);
                let has_stop = matches!(ord_type, OrdType::Stop | OrdType::StopLimit);
                let qty = qty_of(ii, lots, off_lot);
                let o = NewOrder {
                    order_id: OrderId(id),
                    account: AccountId(account),
                    instrument: InstrumentId(instrument),
                    side: if buy { Side::Buy } else { Side::Sell },
                    ord_type,
                    tif: match tif {
                        0..=2 => TimeInForce::Gtc,
                        3 => TimeInForce::Ioc,
                        4 => TimeInForce::Fok,
                        5 => TimeInForce::Gtd,
                        6 => TimeInForce::PostOnly,
                        _ => TimeInForce::Ioc,
                    },
                    expire_time: t + 37 * gtd,
                    price: Price(if has_limit {
                        price_at(ii, step, off_grid)
                    } else {
                        0
                    }),
                    stop_price: Price(if has_stop {
                        let (center, tick, _) = GRID[ii];
                        let from = e
                            .book(InstrumentId(ii as u32))
                            .and_then(|b| b.last_trade_price())
                            .map_or(center, |p| p.0);
                        // Mostly beyond the last trade in the order's direction.
                        let dir = if buy { 1 } else { -1 };
                        from + (stop_step + dir * 2) * tick
                    } else {
                        0
                    }),
                    qty: Qty(qty),
                    display_qty: Qty(match display {
                        Some(d) if d * GRID[ii].2 < qty => d * GRID[ii].2,
                        _ => 0,
                    }),
                    stp: match stp {
                        0 => StpMode::CancelResting,
                        1 => StpMode::CancelAggressor,
                        2 => StpMode::CancelBoth,
                        3 => StpMode::DecrementAndCancel,
                        _ => StpMode::None,
                    },
                    flags: match flags {
                        0 => OrderFlags::REDUCE_ONLY,
                        1 => OrderFlags::MMP,
                        _ => OrderFlags::NONE,
                    },
                    ..NewOrder::default()
                };
                if i < N_INSTR {
                    ids.push((instrument, id, account));
                    (entering, expect) = expect_new(&mut m, &e, &o, t);
                } else {
                    // No book: refused, after the throttle has counted the message.
                    let c = CancelOrder {
                        order_id: o.order_id,
                        account: o.account,
                        instrument: o.instrument,
                    };
                    let want = m
                        .check_cancel(&c, t)
                        .and_then(|()| Err(RejectReason::UnknownInstrument.into()));
                    expect = Some((id, want));
                }
                CommandKind::New(o)
            }
            MOp::Flatten {
                account,
                instrument,
                ioc,
                reduce_only,
            } if m.pos[account as usize][instrument as usize] != 0 => {
                let i = instrument as usize;
                let pos = m.pos[account as usize][i];
                let id = next[i];
                next[i] += 1;
                let (bid, ask, _) = mkt_of(&e, i);
                let (center, tick, _) = GRID[i];
                let (side, price) = if pos < 0 {
                    (Side::Buy, ask.unwrap_or(center) + tick)
                } else {
                    (Side::Sell, bid.unwrap_or(center) - tick)
                };
                let o = NewOrder {
                    order_id: OrderId(id),
                    account: AccountId(account),
                    instrument: InstrumentId(instrument),
                    side,
                    tif: if ioc {
                        TimeInForce::Ioc
                    } else {
                        TimeInForce::Gtc
                    },
                    price: Price(price),
                    qty: Qty(pos.unsigned_abs()),
                    stp: StpMode::None,
                    flags: if reduce_only {
                        OrderFlags::REDUCE_ONLY
                    } else {
                        OrderFlags::NONE
                    },
                    ..NewOrder::default()
                };
                ids.push((instrument, id, account));
                (entering, expect) = expect_new(&mut m, &e, &o, t);
                CommandKind::New(o)
            }
            MOp::Cancel {
                pick,
                live,
                other_account,
            } if !ids.is_empty() => {
                let (i, id, owner) = pick_id(&m, &ids, pick, live);
                let c = CancelOrder {
                    order_id: OrderId(id),
                    account: AccountId(other_account.unwrap_or(owner)),
                    instrument: InstrumentId(i),
                };
                expect = Some((id, m.check_cancel(&c, t)));
                CommandKind::Cancel(c)
            }
            MOp::Modify {
                pick,
                live,
                other_account,
                step,
                lots,
                keep_price,
            } if !ids.is_empty() => {
                let (i, id, owner) = pick_id(&m, &ids, pick, live);
                let old = m.orders.get(&(i, id)).copied();
                let price = match old {
                    Some(o) if keep_price => o.price,
                    _ => price_at(i as usize, step, false),
                };
                let mo = ModifyOrder {
                    order_id: OrderId(id),
                    account: AccountId(other_account.unwrap_or(owner)),
                    instrument: InstrumentId(i),
                    price: Price(price),
                    qty: Qty(qty_of(i as usize, lots, false)),
                };
                let want = match old {
                    Some(old) => m.check_modify(&mo, &old, t, mkt_of(&e, i as usize)),
                    // An order the book does not hold: the book refuses it, after the
                    // throttle has counted the message (as a cancel's).
                    None => m.check_cancel(
                        &CancelOrder {
                            order_id: mo.order_id,
                            account: mo.account,
                            instrument: mo.instrument,
                        },
                        t,
                    ),
                };
                expect = Some((id, want));
                CommandKind::Modify(mo)
            }
            MOp::MassCancel {
                account,
                instrument,
            } => CommandKind::MassCancel(MassCancel {
                account: AccountId(account),
                instrument: instrument.map(InstrumentId),
            }),
            MOp::Control(c) => {
                m.control(&c);
                CommandKind::Risk(c)
            }
            MOp::Restore => {
                let mut snap = Vec::new();
                e.snapshot(&mut snap);
                let mut restored = multi_engine();
                restored.restore_from(&snap).unwrap();
                let mut again = Vec::new();
                restored.snapshot(&mut again);
                prop_assert!(
                    snap == again,
                    "op {}: snapshot of the restored engine differs",
                    n
                );
                e = restored;
                continue;
            }
            _ => continue,
        };
        events.clear();
        e.process(&Command::new(t, kind), &mut events);
        let ctx = || format!("op {n}: {op:?}\nevents: {events:#?}");
        if let Some((id, want)) = expect {
            let rejected = events.iter().find_map(|ev| match ev.kind {
                EventKind::Rejected {
                    order_id,
                    reason,
                    limit,
                    value,
                    ..
                } if order_id.0 == id => Some((reason, limit, value)),
                _ => None,
            });
            let got = rejected.map(|r| r.0);
            let entered = events.iter().any(|ev| {
                matches!(ev.kind, EventKind::Accepted { order_id, .. } | EventKind::Replaced { order_id, .. } if order_id.0 == id)
            });
            match want {
                Err(Rej(r, lv)) => {
                    prop_assert_eq!(got, Some(r), "{}", ctx());
                    if let (Some(lv), Some((_, limit, value))) = (lv, rejected) {
                        prop_assert_eq!((limit, value), lv, "limit, value: {}", ctx());
                    }
                    prop_assert!(!entered, "{}", ctx());
                }
                Ok(()) => prop_assert!(
                    got.is_none_or(book_reason),
                    "risk refused an order the model passes: {}",
                    ctx()
                ),
            }
        }
        for ev in &events {
            m.apply(&ev.kind, entering);
        }
        // The model's open orders are the books' resting orders.
        let mut booked = std::collections::BTreeMap::new();
        for i in 0..N_INSTR {
            let book = e.book(InstrumentId(i as u32)).unwrap();
            for s in [Side::Buy, Side::Sell] {
                book.for_each_level(s, |l| {
                    book.for_each_order_in_level(s, l.price, |o| {
                        booked.insert(
                            (i as u32, o.order_id.0),
                            (o.account.0, o.side, o.price.0, o.leaves.0),
                        );
                    })
                });
            }
        }
        let modelled: std::collections::BTreeMap<_, _> = m
            .orders
            .iter()
            .filter(|(_, o)| !o.stop)
            .map(|(k, o)| (*k, (o.account, o.side, o.price, o.leaves)))
            .collect();
        prop_assert_eq!(&booked, &modelled, "{}", ctx());
        for (&(i, id), o) in m.orders.iter().filter(|(_, o)| o.stop) {
            let b = e.book(InstrumentId(i)).unwrap().order(OrderId(id));
            prop_assert!(
                b.is_some_and(|b| b.is_stop && b.leaves.0 == o.leaves && b.account.0 == o.account),
                "stop {} {}: {:?} {}",
                i,
                id,
                b,
                ctx()
            );
        }
        let risk = e.risk().unwrap();
        for a in 1..N_ACCT as u32 {
            let acct = AccountId(a);
            for i in 0..N_INSTR {
                let ins = InstrumentId(i as u32);
                prop_assert_eq!(
                    risk.position(acct, ins),
                    m.pos[a as usize][i],
                    "position {} {}: {}",
                    a,
                    i,
                    ctx()
                );
                for s in [Side::Buy, Side::Sell] {
                    prop_assert_eq!(
                        risk.open_qty(acct, ins, s),
                        m.open_qty(a, i, s),
                        "open qty {} {} {:?}: {}",
                        a,
                        i,
                        s,
                        ctx()
                    );
                }
            }
            prop_assert_eq!(
                u64::from(risk.open_orders(acct)),
                m.open_count(a, None),
                "open orders {}: {}",
                a,
                ctx()
            );
            prop_assert_eq!(
                risk.exposure(acct),
                m.exposure(a),
                "exposure {}: {}",
                a,
                ctx()
            );
        }
    }
    Ok(())
}

proptest! {
    // 256 cases (about 0.2 s); `PROPTEST_CASES` sets more for a longer search.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]
    /// Several instruments (different steps, limits, bands), accounts holding positions and
    /// orders in several at once: every new order's and modify's risk decision equals the
    /// model's, and positions, open orders, open quantity and exposure equal those recomputed
    /// from the event stream.
    #[test]
    fn several_instruments_limits_hold_and_state_matches_the_events(
        ops in prop::collection::vec(multi_op(), 1..250)
    ) {
        run_multi(&ops)?;
    }
}
