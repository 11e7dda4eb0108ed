//! Absurd and random inputs through every entry point: no panic, no overflow (tests run with
//! overflow checks on in debug), and the tracked open quantity stays consistent.

#[path = "support/common.rs"]
mod common;

use common::*;
use ferrex_risk::*;
use ferrex_types::*;
use proptest::prelude::*;

fn price() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MAX),
        Just(i64::MIN),
        Just(0),
        Just(-1),
        1i64..200,
        any::<i64>()
    ]
}

fn qty() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(u64::MAX), 1u64..50, any::<u64>()]
}

fn account() -> impl Strategy<Value = AccountId> {
    prop_oneof![
        Just(AccountId(0)),
        Just(AccountId(1)),
        Just(AccountId(2)),
        Just(AccountId(u32::MAX))
    ]
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn ord_type() -> impl Strategy<Value = OrdType> {
    prop_oneof![
        Just(OrdType::Limit),
        Just(OrdType::Market),
        Just(OrdType::Stop),
        Just(OrdType::StopLimit)
    ]
}

fn opt_price() -> impl Strategy<Value = Option<Price>> {
    prop::option::of(price().prop_map(Price))
}

#[derive(Clone, Debug)]
enum In {
    New(NewOrder, MarketView),
    Modify(ModifyOrder, OrderSnapshot),
    Cancel(CancelOrder),
    Event(EventKind),
    Control(RiskControl),
    Tick,
}

fn new_order() -> impl Strategy<Value = NewOrder> {
    (
        any::<u8>(),
        price(),
        price(),
        qty(),
        account(),
        side(),
        ord_type(),
        0u8..4,
        0u8..5,
    )
        .prop_map(|(id, p, sp, q, a, s, t, flags, tif)| NewOrder {
            order_id: OrderId(id as u64),
            price: Price(p),
            stop_price: Price(sp),
            qty: Qty(q),
            account: a,
            instrument: if id % 17 == 0 {
                InstrumentId(id as u32)
            } else {
                I0
            },
            side: s,
            ord_type: t,
            tif: [
                TimeInForce::Gtc,
                TimeInForce::Ioc,
                TimeInForce::Fok,
                TimeInForce::Gtd,
                TimeInForce::PostOnly,
            ][tif as usize],
            flags: OrderFlags(flags),
            ..NewOrder::default()
        })
}

fn input() -> impl Strategy<Value = In> {
    prop_oneof![
        4 => (new_order(), opt_price(), opt_price(), opt_price()).prop_map(|(o, b, a, l)| In::New(o, MarketView { best_bid: b, best_ask: a, last_trade: l })),
        1 => (any::<u8>(), price(), qty(), account(), side(), price(), qty()).prop_map(|(id, p, q, a, s, op, oq)| In::Modify(
            ModifyOrder { order_id: OrderId(id as u64), price: Price(p), qty: Qty(q), account: a, instrument: I0 },
            OrderSnapshot { side: s, price: Price(op), leaves: Qty(oq) },
        )),
        1 => (any::<u8>(), account()).prop_map(|(id, a)| In::Cancel(CancelOrder { order_id: OrderId(id as u64), account: a, instrument: I0 })),
        2 => (new_order()).prop_map(|o| In::Event(accepted(&o))),
        2 => (price(), qty(), any::<u8>(), account(), qty(), any::<u8>(), account(), qty(), side()).prop_map(|(p, q, m, ma, ml, t, ta, tl, s)| In::Event(
            trade(p, q, (m as u64, ma, ml), (t as u64, ta, tl), s))),
        2 => (any::<u8>(), account(), side(), price(), qty()).prop_map(|(id, a, s, p, q)| In::Event(cancelled(id as u64, a, s, p, q))),
        1 => (any::<u8>(), account(), price(), qty()).prop_map(|(id, a, p, q)| In::Event(EventKind::Replaced {
            order_id: OrderId(id as u64), account: a, instrument: I0, price: Price(p), qty: Qty(q), kept_priority: false })),
        1 => (account(), 0u8..3, any::<i64>(), 0u8..8, price(), 0u8..6).prop_map(|(a, st, v, k, p, which)| {
            let state = [TradingState::Active, TradingState::Reducing, TradingState::Halted][st as usize];
            let kind = [LimitKind::MaxOrderQty, LimitKind::MaxOrderNotional, LimitKind::CreditLimit, LimitKind::MaxLong,
                        LimitKind::MaxShort, LimitKind::MaxOpenOrders, LimitKind::ThrottleRate, LimitKind::PriceBand][k as usize];
            In::Control(match which {
                0 => RiskControl::Kill { account: a },
                1 => RiskControl::SetAccountState { account: a, state },
                2 => RiskControl::SetInstrumentState { instrument: I0, state },
                3 => RiskControl::SetLimit(SetLimit { value: v, account: a, instrument: I0, kind }),
                4 => RiskControl::SetReferencePrice { instrument: I0, price: Price(p) },
                _ => RiskControl::ResetMmp { account: a },
            })
        }),
        1 => Just(In::Tick),
    ]
}

fn config() -> RiskConfig {
    let mut cfg = base();
    cfg.max_orders = 64;
    let i = &mut cfg.instruments[0];
    i.max_price = i64::MAX;
    i.tick_size = 1;
    i.price_band = Some(BandConfig {
        bps: Some(500),
        ticks: None,
    });
    i.reference_price = Some(100);
    i.velocity = Some(VelocityConfig {
        max_move_ticks: 5,
        window_ns: 1_000,
        halt_ns: 10_000,
    });
    for a in &mut cfg.accounts {
        a.credit_limit = Some(1_000_000);
        a.max_long = Some(1_000);
        a.max_short = Some(1_000);
        a.max_open_orders = Some(20);
        a.throttle = Some(ThrottleConfig {
            rate: 20,
            window_ns: 1_000,
            halt_threshold: Some(40),
            halt_ns: 5_000,
        });
        a.mmp = Some(MmpConfig {
            window_ns: 1_000,
            max_qty: Some(100),
            max_count: Some(5),
            freeze_ns: 3_000,
        });
    }
    cfg
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn nothing_panics(inputs in prop::collection::vec((input(), 0u64..3_000), 1..150)) {
        let mut r = risk(&config());
        let mut out = Vec::new();
        let mut now = 0u64;
        for (inp, dt) in inputs {
            now = now.saturating_add(dt);
            match inp {
                In::New(o, m) => { let _ = r.check_new(&o, now, &m); }
                In::Modify(m, s) => { let _ = r.check_modify(&m, &s, now, &MarketView::default()); }
                In::Cancel(c) => { let _ = r.check_cancel(&c, now); }
                In::Event(e) => { let _ = r.on_event(&e, now, &mut out); }
                In::Control(c) => { let _ = r.control(&c, now, &mut out); }
                In::Tick => r.tick(now, &mut out),
            }
            r.flush(&mut out);
            for a in [AccountId(1), AccountId(2)] {
                let _ = r.exposure(a);
                let _ = r.position(a, I0);
                prop_assert!(r.open_orders(a) <= 64);
                let _ = r.mmp_orders(a).count();
            }
        }
        r.tick(u64::MAX, &mut out);
    }
}
