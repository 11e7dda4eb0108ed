//! One test (or more) per control, at and around each threshold.

#[path = "support/common.rs"]
mod common;

use RejectReason as R;
use common::*;
use ferrex_risk::*;
use ferrex_types::*;

#[test]
fn unknown_account_and_instrument() {
    let mut r = risk(&base());
    let o = order(1, AccountId(3), Side::Buy, 100, 1);
    assert_eq!(
        reason(r.check_new(&o, 0, &NOMKT)),
        Some((R::UnknownAccount, 0, 3))
    );
    let o = order(1, AccountId(0), Side::Buy, 100, 1);
    assert_eq!(
        reason(r.check_new(&o, 0, &NOMKT)),
        Some((R::UnknownAccount, 0, 0))
    );
    let o = order(1, AccountId(u32::MAX), Side::Buy, 100, 1);
    assert_eq!(
        reason(r.check_new(&o, 0, &NOMKT)),
        Some((R::UnknownAccount, 0, u32::MAX as i64))
    );
    let mut o = buy(1, 100, 1);
    o.instrument = InstrumentId(7);
    assert_eq!(
        reason(r.check_new(&o, 0, &NOMKT)),
        Some((R::UnknownInstrument, 0, 7))
    );
    let c = CancelOrder {
        order_id: OrderId(1),
        account: AccountId(9),
        instrument: I0,
    };
    assert_eq!(
        reason(r.check_cancel(&c, 0)),
        Some((R::UnknownAccount, 0, 9))
    );
}

#[test]
fn default_account_profile_covers_unlisted_ids() {
    let mut cfg = base();
    cfg.max_accounts = 100;
    cfg.default_account = Some(AccountConfig {
        max_order_qty: Some(5),
        ..AccountConfig::default()
    });
    let mut r = risk(&cfg);
    let o = order(1, AccountId(50), Side::Buy, 100, 5);
    assert_eq!(r.check_new(&o, 0, &NOMKT), Ok(()));
    let o = order(1, AccountId(50), Side::Buy, 100, 6);
    assert_eq!(
        reason(r.check_new(&o, 0, &NOMKT)),
        Some((R::MaxOrderQty, 5, 6))
    );
    // Listed accounts keep their own profile; ids beyond the table are unknown.
    assert_eq!(r.check_new(&buy(1, 100, 6), 0, &NOMKT), Ok(()));
    let o = order(1, AccountId(100), Side::Buy, 100, 1);
    assert_eq!(
        reason(r.check_new(&o, 0, &NOMKT)),
        Some((R::UnknownAccount, 0, 100))
    );
}

#[test]
fn qty_zero_lot_and_min_max() {
    let mut cfg = base();
    cfg.instruments[0].lot_size = 5;
    cfg.instruments[0].min_qty = 10;
    cfg.instruments[0].max_qty = Some(100);
    let mut r = risk(&cfg);
    let chk = |r: &mut Risk, q| reason(r.check_new(&buy(1, 100, q), 0, &NOMKT));
    assert_eq!(chk(&mut r, 0), Some((R::InvalidQty, 0, 0)));
    assert_eq!(chk(&mut r, 5), Some((R::OutsideMinMax, 10, 5)));
    assert_eq!(chk(&mut r, 9), Some((R::LotSize, 5, 9)));
    assert_eq!(chk(&mut r, 10), None);
    assert_eq!(chk(&mut r, 11), Some((R::LotSize, 5, 11)));
    assert_eq!(chk(&mut r, 95), None);
    assert_eq!(chk(&mut r, 100), None);
    assert_eq!(chk(&mut r, 105), Some((R::OutsideMinMax, 100, 105)));
    assert_eq!(
        chk(&mut r, u64::MAX),
        Some((R::OutsideMinMax, 100, i64::MAX))
    ); // 2^64-1 is a multiple of 5
    assert_eq!(chk(&mut r, u64::MAX - 1), Some((R::LotSize, 5, i64::MAX)));
}

#[test]
fn price_tick_and_min_max() {
    let mut cfg = base();
    cfg.instruments[0].tick_size = 5;
    cfg.instruments[0].min_price = 100;
    cfg.instruments[0].max_price = 1000;
    let mut r = risk(&cfg);
    let chk = |r: &mut Risk, p| reason(r.check_new(&buy(1, p, 1), 0, &NOMKT));
    assert_eq!(chk(&mut r, 95), Some((R::OutsideMinMax, 100, 95)));
    assert_eq!(chk(&mut r, 99), Some((R::OutsideMinMax, 100, 99)));
    assert_eq!(chk(&mut r, 100), None);
    assert_eq!(chk(&mut r, 101), Some((R::TickSize, 5, 101)));
    assert_eq!(chk(&mut r, 105), None);
    assert_eq!(chk(&mut r, 1000), None);
    assert_eq!(chk(&mut r, 1001), Some((R::OutsideMinMax, 1000, 1001)));
    assert_eq!(chk(&mut r, 0), Some((R::OutsideMinMax, 100, 0)));
    assert_eq!(chk(&mut r, -1), Some((R::OutsideMinMax, 100, -1)));
    assert_eq!(
        chk(&mut r, i64::MAX),
        Some((R::OutsideMinMax, 1000, i64::MAX))
    );
    assert_eq!(
        chk(&mut r, i64::MIN),
        Some((R::OutsideMinMax, 100, i64::MIN))
    );
    // Stop price is checked too; a market order's price field is ignored.
    let mut o = buy(1, 0, 1);
    o.ord_type = OrdType::Stop;
    o.stop_price = Price(1005);
    assert_eq!(
        reason(r.check_new(&o, 0, &NOMKT)),
        Some((R::OutsideMinMax, 1000, 1005))
    );
    o.stop_price = Price(997);
    assert_eq!(
        reason(r.check_new(&o, 0, &NOMKT)),
        Some((R::TickSize, 5, 997))
    );
    o.stop_price = Price(995);
    assert_eq!(r.check_new(&o, 0, &NOMKT), Ok(()));
    let mut m = buy(1, i64::MAX, 1);
    m.ord_type = OrdType::Market;
    assert_eq!(r.check_new(&m, 0, &NOMKT), Ok(()));
}

#[test]
fn price_band_ticks_around_reference() {
    let mut cfg = base();
    cfg.instruments[0].tick_size = 2;
    cfg.instruments[0].price_band = Some(BandConfig {
        bps: None,
        ticks: Some(5),
    });
    cfg.instruments[0].reference_price = Some(1000);
    let mut r = risk(&cfg);
    let chk = |r: &mut Risk, p, m: &MarketView| reason(r.check_new(&buy(1, p, 1), 0, m));
    // width = 5 ticks × 2 = 10
    assert_eq!(chk(&mut r, 1008, &NOMKT), None);
    assert_eq!(chk(&mut r, 1010, &NOMKT), None);
    assert_eq!(
        chk(&mut r, 1012, &NOMKT),
        Some((R::PriceOutsideBand, 1010, 1012))
    );
    assert_eq!(chk(&mut r, 990, &NOMKT), None);
    assert_eq!(
        chk(&mut r, 988, &NOMKT),
        Some((R::PriceOutsideBand, 990, 988))
    );
    // Mid beats the configured reference; last trade beats the mid.
    let mid = MarketView {
        best_bid: Some(Price(1100)),
        best_ask: Some(Price(1104)),
        last_trade: None,
    };
    assert_eq!(chk(&mut r, 1112, &mid), None);
    assert_eq!(
        chk(&mut r, 1114, &mid),
        Some((R::PriceOutsideBand, 1112, 1114))
    );
    let last = MarketView {
        last_trade: Some(Price(2000)),
        ..mid
    };
    assert_eq!(chk(&mut r, 2010, &last), None);
    assert_eq!(
        chk(&mut r, 2012, &last),
        Some((R::PriceOutsideBand, 2010, 2012))
    );
    // Market orders skip the band.
    let mut m = buy(1, 0, 1);
    m.ord_type = OrdType::Market;
    assert_eq!(r.check_new(&m, 0, &last), Ok(()));
    // Stop-limit: the band is around its own stop price.
    let mut sl = buy(1, 1520, 1);
    sl.ord_type = OrdType::StopLimit;
    sl.stop_price = Price(1510);
    assert_eq!(r.check_new(&sl, 0, &last), Ok(()));
    sl.price = Price(1522);
    assert_eq!(
        reason(r.check_new(&sl, 0, &last)),
        Some((R::PriceOutsideBand, 1520, 1522))
    );
    // Reference commanded at run time; band width changed at run time.
    let mut out = Vec::new();
    r.control(
        &RiskControl::SetReferencePrice {
            instrument: I0,
            price: Price(500),
        },
        0,
        &mut out,
    );
    assert_eq!(
        chk(&mut r, 512, &NOMKT),
        Some((R::PriceOutsideBand, 510, 512))
    );
    let sl = SetLimit {
        value: 6,
        account: AccountId(0),
        instrument: I0,
        kind: LimitKind::PriceBand,
    };
    r.control(&RiskControl::SetLimit(sl), 0, &mut out);
    assert_eq!(chk(&mut r, 512, &NOMKT), None);
    assert!(out.is_empty());
}

#[test]
fn price_band_bps_and_no_reference() {
    let mut cfg = base();
    cfg.instruments[0].price_band = Some(BandConfig {
        bps: Some(100),
        ticks: None,
    });
    let mut r = risk(&cfg);
    // No reference at all: no check.
    assert_eq!(r.check_new(&buy(1, 1, 1), 0, &NOMKT), Ok(()));
    let m = MarketView {
        last_trade: Some(Price(10_000)),
        ..NOMKT
    };
    let chk = |r: &mut Risk, p| reason(r.check_new(&sell(1, p, 1), 0, &m));
    assert_eq!(chk(&mut r, 10_099), None);
    assert_eq!(chk(&mut r, 10_100), None);
    assert_eq!(
        chk(&mut r, 10_101),
        Some((R::PriceOutsideBand, 10_100, 10_101))
    );
    assert_eq!(chk(&mut r, 9_900), None);
    assert_eq!(
        chk(&mut r, 9_899),
        Some((R::PriceOutsideBand, 9_900, 9_899))
    );
    // Huge reference: no overflow.
    let m = MarketView {
        last_trade: Some(Price(i64::MAX)),
        ..NOMKT
    };
    assert_eq!(
        r.check_new(&sell(1, 1 << 53, 1), 0, &m).unwrap_err().reason,
        R::PriceOutsideBand
    );
}

#[test]
fn max_order_qty_account_and_instrument() {
    let mut cfg = base();
    cfg.instruments[0].max_order_qty = Some(100);
    cfg.accounts[1].max_order_qty = Some(50);
    let mut r = risk(&cfg);
    let chk = |r: &mut Risk, a, q| reason(r.check_new(&order(1, a, Side::Buy, 10, q), 0, &NOMKT));
    assert_eq!(chk(&mut r, A1, 99), None);
    assert_eq!(chk(&mut r, A1, 100), None);
    assert_eq!(chk(&mut r, A1, 101), Some((R::MaxOrderQty, 100, 101)));
    assert_eq!(chk(&mut r, A2, 50), None);
    assert_eq!(chk(&mut r, A2, 51), Some((R::MaxOrderQty, 50, 51)));
    let mut out = Vec::new();
    let sl = SetLimit {
        value: 20,
        account: A2,
        instrument: I0,
        kind: LimitKind::MaxOrderQty,
    };
    r.control(&RiskControl::SetLimit(sl), 0, &mut out);
    assert_eq!(chk(&mut r, A2, 21), Some((R::MaxOrderQty, 20, 21)));
    assert_eq!(chk(&mut r, A1, 100), None);
    // account 0 = every account on the instrument
    let sl = SetLimit {
        value: 10,
        account: AccountId(0),
        instrument: I0,
        kind: LimitKind::MaxOrderQty,
    };
    r.control(&RiskControl::SetLimit(sl), 0, &mut out);
    assert_eq!(chk(&mut r, A1, 11), Some((R::MaxOrderQty, 10, 11)));
    assert_eq!(chk(&mut r, A2, 10), None);
}

#[test]
fn max_order_notional_limit_market_and_stop() {
    let mut cfg = base();
    cfg.instruments[0].max_order_notional = Some(10_000);
    let mut r = risk(&cfg);
    let chk = |r: &mut Risk, o: &NewOrder, m| reason(r.check_new(o, 0, m));
    assert_eq!(chk(&mut r, &buy(1, 100, 99), &NOMKT), None);
    assert_eq!(chk(&mut r, &buy(1, 100, 100), &NOMKT), None);
    assert_eq!(
        chk(&mut r, &buy(1, 100, 101), &NOMKT),
        Some((R::MaxOrderNotional, 10_000, 10_100))
    );
    // Market buy valued at best ask + protection (10 ticks): 90 + 10 = 100.
    let mkt = MarketView {
        best_bid: Some(Price(80)),
        best_ask: Some(Price(90)),
        last_trade: None,
    };
    let mut m = buy(1, 0, 100);
    m.ord_type = OrdType::Market;
    assert_eq!(chk(&mut r, &m, &mkt), None);
    m.qty = Qty(101);
    assert_eq!(
        chk(&mut r, &m, &mkt),
        Some((R::MaxOrderNotional, 10_000, 10_100))
    );
    // Market sell valued at the best bid: 80 × 125 = 10 000.
    let mut s = sell(1, 0, 125);
    s.ord_type = OrdType::Market;
    assert_eq!(chk(&mut r, &s, &mkt), None);
    s.qty = Qty(126);
    assert_eq!(
        chk(&mut r, &s, &mkt),
        Some((R::MaxOrderNotional, 10_000, 10_080))
    );
    // Stop buy valued at stop + protection.
    let mut st = buy(1, 0, 100);
    st.ord_type = OrdType::Stop;
    st.stop_price = Price(90);
    assert_eq!(chk(&mut r, &st, &NOMKT), None);
    st.stop_price = Price(91);
    assert_eq!(
        chk(&mut r, &st, &NOMKT),
        Some((R::MaxOrderNotional, 10_000, 10_100))
    );
    // Absurd sizes: i128, no overflow.
    let mut cfg = base();
    cfg.instruments[0].max_price = i64::MAX;
    cfg.instruments[0].max_order_notional = Some(i64::MAX);
    let mut r = risk(&cfg);
    let e = r
        .check_new(&buy(1, i64::MAX, u64::MAX), 0, &NOMKT)
        .unwrap_err();
    assert_eq!(
        (e.reason, e.limit, e.value),
        (R::MaxOrderNotional, i64::MAX, i64::MAX)
    );
}

#[test]
fn credit_limit_counts_open_orders_and_positions() {
    let mut cfg = base();
    cfg.accounts[0].credit_limit = Some(10_000);
    let mut r = risk(&cfg);
    enter(&mut r, &buy(1, 100, 50), 0, &NOMKT).unwrap();
    assert_eq!(r.exposure(A1), 5_000);
    enter(&mut r, &sell(2, 100, 49), 0, &NOMKT).unwrap();
    assert_eq!(r.exposure(A1), 9_900);
    assert_eq!(
        reason(r.check_new(&buy(3, 100, 2), 0, &NOMKT)),
        Some((R::CreditLimit, 10_000, 10_100))
    );
    assert_eq!(
        reason(r.check_new(&buy(3, 101, 1), 0, &NOMKT)),
        Some((R::CreditLimit, 10_000, 10_001))
    );
    assert_eq!(r.check_new(&buy(3, 100, 1), 0, &NOMKT), Ok(()));
    // Order 1 fills 50 at 100 against account 2: position 50 valued at the last trade.
    let mut out = Vec::new();
    r.on_event(
        &trade(100, 50, (1, A1, 0), (9, A2, 0), Side::Sell),
        0,
        &mut out,
    );
    assert_eq!(r.position(A1, I0), 50);
    assert_eq!(r.position(A2, I0), -50);
    assert_eq!(r.exposure(A1), 9_900);
    assert_eq!(r.exposure(A2), 5_000);
    // A later trade at 120 re-marks the position: 50 × 120 + 49 × 100.
    r.on_event(
        &trade(120, 1, (20, A2, 0), (21, A2, 0), Side::Buy),
        0,
        &mut out,
    );
    assert_eq!(r.exposure(A1), 10_900);
    assert_eq!(
        reason(r.check_new(&buy(3, 1, 1), 0, &NOMKT)),
        Some((R::CreditLimit, 10_000, 10_901))
    );
    r.on_event(&cancelled(2, A1, Side::Sell, 100, 49), 0, &mut out);
    assert_eq!(r.exposure(A1), 6_000);
    assert_eq!(r.check_new(&buy(3, 100, 40), 0, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_new(&buy(3, 100, 41), 0, &NOMKT)),
        Some((R::CreditLimit, 10_000, 10_100))
    );
    let sl = SetLimit {
        value: 10_100,
        account: A1,
        instrument: I0,
        kind: LimitKind::CreditLimit,
    };
    r.control(&RiskControl::SetLimit(sl), 0, &mut out);
    assert_eq!(r.check_new(&buy(3, 100, 41), 0, &NOMKT), Ok(()));
    assert!(out.is_empty());
}

#[test]
fn position_limit_long_and_short_with_open_orders() {
    let mut cfg = base();
    cfg.accounts[0].max_long = Some(10);
    cfg.accounts[0].max_short = Some(5);
    let mut r = risk(&cfg);
    assert_eq!(r.check_new(&buy(1, 100, 10), 0, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_new(&buy(1, 100, 11), 0, &NOMKT)),
        Some((R::PositionLimit, 10, 11))
    );
    enter(&mut r, &buy(1, 100, 4), 0, &NOMKT).unwrap();
    assert_eq!(r.check_new(&buy(2, 100, 6), 0, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_new(&buy(2, 100, 7), 0, &NOMKT)),
        Some((R::PositionLimit, 10, 11))
    );
    // Sells don't count the open buys.
    assert_eq!(r.check_new(&sell(2, 100, 5), 0, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_new(&sell(2, 100, 6), 0, &NOMKT)),
        Some((R::PositionLimit, 5, 6))
    );
    // Fill the buy: long 4; a sell of 9 ends short 5: allowed, 10 is not.
    let mut out = Vec::new();
    r.on_event(
        &trade(100, 4, (1, A1, 0), (9, A2, 0), Side::Sell),
        0,
        &mut out,
    );
    assert_eq!(r.check_new(&sell(2, 100, 9), 0, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_new(&sell(2, 100, 10), 0, &NOMKT)),
        Some((R::PositionLimit, 5, 6))
    );
    assert_eq!(r.check_new(&buy(2, 100, 6), 0, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_new(&buy(2, 100, 7), 0, &NOMKT)),
        Some((R::PositionLimit, 10, 11))
    );
    let sl = SetLimit {
        value: 0,
        account: A1,
        instrument: I0,
        kind: LimitKind::MaxLong,
    };
    r.control(&RiskControl::SetLimit(sl), 0, &mut out);
    assert_eq!(
        reason(r.check_new(&buy(2, 100, 1), 0, &NOMKT)),
        Some((R::PositionLimit, 0, 5))
    );
    let sl = SetLimit {
        value: 0,
        account: A1,
        instrument: I0,
        kind: LimitKind::MaxShort,
    };
    r.control(&RiskControl::SetLimit(sl), 0, &mut out);
    assert_eq!(r.check_new(&sell(2, 100, 4), 0, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_new(&sell(2, 100, 5), 0, &NOMKT)),
        Some((R::PositionLimit, 0, 1))
    );
}

#[test]
fn max_open_orders_per_account_and_instrument() {
    let mut cfg = base();
    cfg.accounts[0].max_open_orders = Some(3);
    cfg.accounts[1].max_open_orders_per_instrument = Some(2);
    let mut r = risk(&cfg);
    for id in 1..=2 {
        enter(&mut r, &buy(id, 100, 1), 0, &NOMKT).unwrap();
    }
    assert_eq!(r.check_new(&buy(3, 100, 1), 0, &NOMKT), Ok(()));
    enter(&mut r, &buy(3, 100, 1), 0, &NOMKT).unwrap();
    assert_eq!(r.open_orders(A1), 3);
    assert_eq!(
        reason(r.check_new(&buy(4, 100, 1), 0, &NOMKT)),
        Some((R::MaxOpenOrders, 3, 4))
    );
    // IOC / market do not rest: allowed.
    let mut ioc = buy(4, 100, 1);
    ioc.tif = TimeInForce::Ioc;
    assert_eq!(r.check_new(&ioc, 0, &NOMKT), Ok(()));
    let mut out = Vec::new();
    r.on_event(&cancelled(2, A1, Side::Buy, 100, 1), 0, &mut out);
    assert_eq!(r.check_new(&buy(4, 100, 1), 0, &NOMKT), Ok(()));
    // Per instrument on account 2.
    let b2 = |id| order(id, A2, Side::Sell, 100, 1);
    enter(&mut r, &b2(11), 0, &NOMKT).unwrap();
    assert_eq!(r.check_new(&b2(12), 0, &NOMKT), Ok(()));
    enter(&mut r, &b2(12), 0, &NOMKT).unwrap();
    assert_eq!(
        reason(r.check_new(&b2(13), 0, &NOMKT)),
        Some((R::MaxOpenOrders, 2, 3))
    );
    let sl = SetLimit {
        value: 2,
        account: A1,
        instrument: I0,
        kind: LimitKind::MaxOpenOrders,
    };
    r.control(&RiskControl::SetLimit(sl), 0, &mut out);
    assert_eq!(
        reason(r.check_new(&buy(4, 100, 1), 0, &NOMKT)),
        Some((R::MaxOpenOrders, 2, 3))
    );
    // The per-instrument cap changes at run time too: account 2 from 2 to 3, then to 1.
    let per_instr = |value| SetLimit {
        value,
        account: A2,
        instrument: I0,
        kind: LimitKind::MaxOpenOrdersPerInstrument,
    };
    r.control(&RiskControl::SetLimit(per_instr(3)), 0, &mut out);
    assert_eq!(r.check_new(&b2(13), 0, &NOMKT), Ok(()));
    enter(&mut r, &b2(13), 0, &NOMKT).unwrap();
    assert_eq!(
        reason(r.check_new(&b2(14), 0, &NOMKT)),
        Some((R::MaxOpenOrders, 3, 4))
    );
    r.control(&RiskControl::SetLimit(per_instr(1)), 0, &mut out);
    assert_eq!(
        reason(r.check_new(&b2(14), 0, &NOMKT)),
        Some((R::MaxOpenOrders, 1, 4))
    );
    // Unknown account: a reject, nothing changes.
    out.clear();
    let mut bad = per_instr(9);
    bad.account = AccountId(999);
    r.control(&RiskControl::SetLimit(bad), 0, &mut out);
    assert!(
        out.iter().any(|e| matches!(
            e,
            EventKind::Rejected {
                reason: R::UnknownAccount,
                ..
            }
        )),
        "{out:?}"
    );
}

/// A stop order rests (pending) until it triggers, whatever its time in force, and counts as an
/// open order from its `Accepted`: an IOC or FOK stop is held to the open-order limits like
/// any other (it was let through, past both the account's and the per-instrument cap).
#[test]
fn pending_stops_count_against_max_open_orders_whatever_their_time_in_force() {
    let mut cfg = base();
    cfg.accounts[0].max_open_orders = Some(1);
    cfg.accounts[1].max_open_orders_per_instrument = Some(1);
    let mut r = risk(&cfg);
    let stop = |id, account, ord_type, tif| NewOrder {
        ord_type,
        tif,
        stop_price: Price(95),
        ..order(id, account, Side::Sell, 90, 1)
    };
    enter(&mut r, &buy(1, 100, 1), 0, &NOMKT).unwrap();
    enter(&mut r, &order(11, A2, Side::Buy, 100, 1), 0, &NOMKT).unwrap();
    for (a, max) in [(A1, 1), (A2, 1)] {
        for ord_type in [OrdType::Stop, OrdType::StopLimit] {
            for tif in [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok] {
                assert_eq!(
                    reason(r.check_new(&stop(2, a, ord_type, tif), 0, &NOMKT)),
                    Some((R::MaxOpenOrders, max, 2)),
                    "{a:?} {ord_type:?} {tif:?}"
                );
            }
        }
    }
    assert_eq!((r.open_orders(A1), r.open_orders(A2)), (1, 1));
    // A limit IOC or FOK and a market order never rest: not held to the cap.
    for (ord_type, tif) in [
        (OrdType::Limit, TimeInForce::Ioc),
        (OrdType::Limit, TimeInForce::Fok),
        (OrdType::Market, TimeInForce::Gtc),
    ] {
        let o = NewOrder {
            ord_type,
            tif,
            ..order(3, A1, Side::Sell, 90, 1)
        };
        assert_eq!(r.check_new(&o, 0, &NOMKT), Ok(()), "{ord_type:?} {tif:?}");
    }
}

#[test]
fn order_table_capacity() {
    let mut cfg = base();
    cfg.max_orders = 2;
    let mut r = risk(&cfg);
    enter(&mut r, &buy(1, 100, 1), 0, &NOMKT).unwrap();
    enter(&mut r, &buy(2, 100, 1), 0, &NOMKT).unwrap();
    assert_eq!(
        reason(r.check_new(&buy(3, 100, 1), 0, &NOMKT)),
        Some((R::MaxOpenOrders, 2, 3))
    );
}

#[test]
fn throttle_rate_then_halt_then_lift() {
    let mut cfg = base();
    cfg.accounts[0].throttle = Some(ThrottleConfig {
        rate: 3,
        window_ns: 1000,
        halt_threshold: Some(5),
        halt_ns: 10_000,
    });
    let mut r = risk(&cfg);
    let mut out = Vec::new();
    for _ in 0..3 {
        assert_eq!(r.check_new(&buy(1, 100, 1), 0, &NOMKT), Ok(()));
    }
    assert_eq!(
        reason(r.check_new(&buy(1, 100, 1), 0, &NOMKT)),
        Some((R::Throttled, 3, 4))
    );
    let c = CancelOrder {
        order_id: OrderId(1),
        account: A1,
        instrument: I0,
    };
    assert_eq!(reason(r.check_cancel(&c, 0)), Some((R::Throttled, 3, 4)));
    r.flush(&mut out);
    assert!(out.is_empty());
    // The 6th message in the window is beyond the halt threshold.
    assert_eq!(
        reason(r.check_new(&buy(1, 100, 1), 0, &NOMKT)),
        Some((R::Throttled, 5, 6))
    );
    r.flush(&mut out);
    assert_eq!(
        out,
        vec![EventKind::AccountState {
            account: A1,
            state: TradingState::Halted,
            cause: R::Throttled,
            until: 10_000
        }]
    );
    out.clear();
    assert_eq!(r.account_state(A1, 9_999), Some(TradingState::Halted));
    assert_eq!(
        reason(r.check_new(&buy(1, 100, 1), 9_999, &NOMKT)),
        Some((R::AccountHalted, 0, 10_000))
    );
    // Cancels still pass while halted (within the rate).
    assert_eq!(r.check_cancel(&c, 9_999), Ok(()));
    r.tick(9_999, &mut out);
    assert!(out.is_empty());
    r.tick(10_000, &mut out);
    assert_eq!(
        out,
        vec![EventKind::AccountState {
            account: A1,
            state: TradingState::Active,
            cause: R::Throttled,
            until: 0
        }]
    );
    assert_eq!(r.check_new(&buy(1, 100, 1), 10_000, &NOMKT), Ok(()));
    // Refill: one message per 333.3 ns.
    let mut r = risk(&cfg);
    for _ in 0..3 {
        r.check_new(&buy(1, 100, 1), 0, &NOMKT).unwrap();
    }
    assert_eq!(
        reason(r.check_new(&buy(1, 100, 1), 333, &NOMKT)),
        Some((R::Throttled, 3, 4))
    );
    assert_eq!(r.check_new(&buy(1, 100, 1), 667, &NOMKT), Ok(()));
    // Rate changed at run time.
    let sl = SetLimit {
        value: 1,
        account: A1,
        instrument: I0,
        kind: LimitKind::ThrottleRate,
    };
    r.control(&RiskControl::SetLimit(sl), 0, &mut out);
    assert_eq!(r.check_new(&buy(1, 100, 1), 5_000, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_new(&buy(1, 100, 1), 5_000, &NOMKT)),
        Some((R::Throttled, 1, 2))
    );
}

#[test]
fn throttle_halt_until_command() {
    let mut cfg = base();
    cfg.accounts[0].throttle = Some(ThrottleConfig {
        rate: 1,
        window_ns: 1000,
        halt_threshold: Some(2),
        halt_ns: 0,
    });
    let mut r = risk(&cfg);
    let mut out = Vec::new();
    r.check_new(&buy(1, 100, 1), 0, &NOMKT).unwrap();
    assert_eq!(
        r.check_new(&buy(1, 100, 1), 0, &NOMKT).unwrap_err().reason,
        R::Throttled
    );
    assert_eq!(
        reason(r.check_new(&buy(1, 100, 1), 0, &NOMKT)),
        Some((R::Throttled, 2, 3))
    );
    r.tick(u64::MAX, &mut out);
    assert_eq!(out.len(), 1); // the queued halt event, with until 0
    assert!(matches!(
        out[0],
        EventKind::AccountState {
            until: 0,
            state: TradingState::Halted,
            ..
        }
    ));
    assert_eq!(
        r.check_new(&buy(1, 100, 1), u64::MAX, &NOMKT)
            .unwrap_err()
            .reason,
        R::AccountHalted
    );
    r.control(
        &RiskControl::SetAccountState {
            account: A1,
            state: TradingState::Active,
        },
        0,
        &mut out,
    );
    assert_eq!(r.check_new(&buy(1, 100, 1), u64::MAX, &NOMKT), Ok(()));
}

#[test]
fn refused_messages_count_against_the_throttle() {
    // A message naming an unknown instrument (or, through `check_message`, an order the book
    // does not hold) is still a message of the account: it takes a token like any other.
    let mut cfg = base();
    cfg.accounts[0].throttle = Some(ThrottleConfig {
        rate: 3,
        window_ns: 1000,
        halt_threshold: None,
        halt_ns: 0,
    });
    let mut r = risk(&cfg);
    let mut o = buy(1, 100, 1);
    o.instrument = InstrumentId(7);
    assert_eq!(
        reason(r.check_new(&o, 0, &NOMKT)),
        Some((R::UnknownInstrument, 0, 7))
    );
    assert_eq!(r.check_message(A1, 0), Ok(()));
    let m = ModifyOrder {
        order_id: OrderId(1),
        account: A1,
        instrument: InstrumentId(7),
        price: Price(100),
        qty: Qty(1),
    };
    let old = OrderSnapshot {
        side: Side::Buy,
        price: Price(100),
        leaves: Qty(1),
    };
    assert_eq!(
        reason(r.check_modify(&m, &old, 0, &MarketView::default())),
        Some((R::UnknownInstrument, 0, 7))
    );
    // Three tokens gone: the fourth message of the window is throttled, whatever it names.
    assert_eq!(
        reason(r.check_new(&buy(2, 100, 1), 0, &NOMKT)),
        Some((R::Throttled, 3, 4))
    );
    assert_eq!(
        reason(r.check_new(&o, 0, &NOMKT)),
        Some((R::Throttled, 3, 4))
    );
    assert_eq!(reason(r.check_message(A1, 0)), Some((R::Throttled, 3, 4)));
    assert_eq!(
        reason(r.check_message(AccountId(9), 0)),
        Some((R::UnknownAccount, 0, 9))
    );
}

#[test]
fn reduce_only_flag() {
    let mut r = risk(&base());
    let mut out = Vec::new();
    let ro = |mut o: NewOrder| {
        o.flags = OrderFlags::REDUCE_ONLY;
        o
    };
    // Flat: nothing reduces.
    assert_eq!(
        reason(r.check_new(&ro(sell(1, 100, 1)), 0, &NOMKT)),
        Some((R::ReduceOnly, 0, 1))
    );
    // Long 10.
    enter(&mut r, &buy(1, 100, 10), 0, &NOMKT).unwrap();
    r.on_event(
        &trade(100, 10, (1, A1, 0), (9, A2, 0), Side::Sell),
        0,
        &mut out,
    );
    assert_eq!(r.check_new(&ro(sell(2, 100, 9)), 0, &NOMKT), Ok(()));
    assert_eq!(r.check_new(&ro(sell(2, 100, 10)), 0, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_new(&ro(sell(2, 100, 11)), 0, &NOMKT)),
        Some((R::ReduceOnly, 10, 11))
    );
    assert_eq!(
        reason(r.check_new(&ro(buy(2, 100, 1)), 0, &NOMKT)),
        Some((R::ReduceOnly, 0, 1))
    );
    // Open sells on the same side use up the room.
    enter(&mut r, &sell(3, 100, 4), 0, &NOMKT).unwrap();
    assert_eq!(r.check_new(&ro(sell(2, 100, 6)), 0, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_new(&ro(sell(2, 100, 7)), 0, &NOMKT)),
        Some((R::ReduceOnly, 6, 7))
    );
}

#[test]
fn account_and_instrument_states() {
    let mut r = risk(&base());
    let mut out = Vec::new();
    let c = CancelOrder {
        order_id: OrderId(1),
        account: A1,
        instrument: I0,
    };
    r.control(
        &RiskControl::SetAccountState {
            account: A1,
            state: TradingState::Halted,
        },
        0,
        &mut out,
    );
    assert_eq!(
        reason(r.check_new(&buy(1, 100, 1), 0, &NOMKT)),
        Some((R::AccountHalted, 0, 0))
    );
    let m = ModifyOrder {
        order_id: OrderId(1),
        price: Price(100),
        qty: Qty(1),
        account: A1,
        instrument: I0,
    };
    let snap = OrderSnapshot {
        side: Side::Buy,
        price: Price(100),
        leaves: Qty(1),
    };
    assert_eq!(
        reason(r.check_modify(&m, &snap, 0, &NOMKT)),
        Some((R::AccountHalted, 0, 0))
    );
    assert_eq!(r.check_cancel(&c, 0), Ok(()));
    // Reducing: long 3 → sells up to 3 pass.
    r.control(
        &RiskControl::SetAccountState {
            account: A1,
            state: TradingState::Reducing,
        },
        0,
        &mut out,
    );
    r.on_event(
        &trade(100, 3, (9, A2, 0), (1, A1, 0), Side::Buy),
        0,
        &mut out,
    );
    assert_eq!(r.position(A1, I0), 3);
    assert_eq!(r.check_new(&sell(2, 100, 3), 0, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_new(&sell(2, 100, 4), 0, &NOMKT)),
        Some((R::AccountReducing, 3, 4))
    );
    assert_eq!(
        reason(r.check_new(&buy(2, 100, 1), 0, &NOMKT)),
        Some((R::AccountReducing, 0, 1))
    );
    r.control(
        &RiskControl::SetAccountState {
            account: A1,
            state: TradingState::Active,
        },
        0,
        &mut out,
    );
    assert_eq!(r.check_new(&buy(2, 100, 1), 0, &NOMKT), Ok(()));
    // Instrument states.
    r.control(
        &RiskControl::SetInstrumentState {
            instrument: I0,
            state: TradingState::Halted,
        },
        0,
        &mut out,
    );
    assert_eq!(
        reason(r.check_new(&buy(2, 100, 1), 0, &NOMKT)),
        Some((R::InstrumentHalted, 0, 0))
    );
    assert_eq!(r.check_cancel(&c, 0), Ok(()));
    r.control(
        &RiskControl::SetInstrumentState {
            instrument: I0,
            state: TradingState::Reducing,
        },
        0,
        &mut out,
    );
    assert_eq!(
        reason(r.check_new(&buy(2, 100, 1), 0, &NOMKT)),
        Some((R::InstrumentReducing, 0, 1))
    );
    assert_eq!(r.check_new(&sell(2, 100, 3), 0, &NOMKT), Ok(()));
    assert_eq!(out.len(), 5);
    assert!(matches!(
        out[4],
        EventKind::InstrumentState {
            state: TradingState::Reducing,
            ..
        }
    ));
    // Bad control inputs become Rejected events.
    out.clear();
    r.control(
        &RiskControl::SetInstrumentState {
            instrument: InstrumentId(5),
            state: TradingState::Halted,
        },
        0,
        &mut out,
    );
    r.control(
        &RiskControl::Kill {
            account: AccountId(77),
        },
        0,
        &mut out,
    );
    let sl = SetLimit {
        value: -1,
        account: A1,
        instrument: I0,
        kind: LimitKind::CreditLimit,
    };
    r.control(&RiskControl::SetLimit(sl), 0, &mut out);
    let reasons: Vec<_> = out
        .iter()
        .map(|e| match e {
            EventKind::Rejected { reason, .. } => *reason,
            _ => R::Malformed,
        })
        .collect();
    assert_eq!(
        reasons,
        vec![R::UnknownInstrument, R::UnknownAccount, R::Malformed]
    );
}

#[test]
fn kill_switch_halts_and_asks_for_cancel() {
    let mut r = risk(&base());
    let mut out = Vec::new();
    enter(&mut r, &buy(1, 100, 1), 0, &NOMKT).unwrap();
    let act = r.control(&RiskControl::Kill { account: A1 }, 5, &mut out);
    assert_eq!(act, RiskAction::CancelAccount(A1));
    assert_eq!(
        out,
        vec![EventKind::AccountState {
            account: A1,
            state: TradingState::Halted,
            cause: R::AccountHalted,
            until: 0
        }]
    );
    assert_eq!(
        reason(r.check_new(&buy(2, 100, 1), 6, &NOMKT)),
        Some((R::AccountHalted, 0, 0))
    );
    let c = CancelOrder {
        order_id: OrderId(1),
        account: A1,
        instrument: I0,
    };
    assert_eq!(r.check_cancel(&c, 6), Ok(()));
    r.on_event(&cancelled(1, A1, Side::Buy, 100, 1), 6, &mut out);
    assert_eq!(r.open_orders(A1), 0);
    assert_eq!(
        r.check_new(&order(3, A2, Side::Buy, 100, 1), 6, &NOMKT),
        Ok(())
    );
}

#[test]
fn volatility_interruption() {
    let mut cfg = base();
    cfg.instruments[0].velocity = Some(VelocityConfig {
        max_move_ticks: 10,
        window_ns: 1000,
        halt_ns: 5000,
    });
    let mut r = risk(&cfg);
    let mut out = Vec::new();
    let t = |p| trade(p, 1, (9, A2, 0), (8, A2, 0), Side::Buy);
    r.on_event(&t(100), 0, &mut out);
    r.on_event(&t(110), 500, &mut out); // move 10 = limit
    assert!(out.is_empty());
    r.on_event(&t(111), 900, &mut out); // move 11
    assert_eq!(
        out,
        vec![EventKind::InstrumentState {
            instrument: I0,
            state: TradingState::Halted,
            cause: R::VolatilityHalt,
            until: 5900
        }]
    );
    out.clear();
    let mkt = MarketView {
        best_bid: Some(Price(105)),
        best_ask: Some(Price(112)),
        last_trade: Some(Price(111)),
    };
    assert_eq!(
        reason(r.check_new(&buy(1, 112, 1), 1000, &mkt)),
        Some((R::VolatilityHalt, 112, 112))
    );
    assert_eq!(r.check_new(&buy(1, 111, 1), 1000, &mkt), Ok(()));
    assert_eq!(
        reason(r.check_new(&sell(1, 105, 1), 1000, &mkt)),
        Some((R::VolatilityHalt, 105, 105))
    );
    assert_eq!(r.check_new(&sell(1, 106, 1), 1000, &mkt), Ok(()));
    let mut m = buy(1, 0, 1);
    m.ord_type = OrdType::Market;
    assert_eq!(
        reason(r.check_new(&m, 1000, &mkt)),
        Some((R::VolatilityHalt, 112, 0))
    );
    let md = ModifyOrder {
        order_id: OrderId(1),
        price: Price(113),
        qty: Qty(1),
        account: A1,
        instrument: I0,
    };
    let snap = OrderSnapshot {
        side: Side::Buy,
        price: Price(100),
        leaves: Qty(1),
    };
    assert_eq!(
        reason(r.check_modify(&md, &snap, 1000, &mkt)),
        Some((R::VolatilityHalt, 112, 113))
    );
    assert_eq!(r.instrument_state(I0, 5899), Some(TradingState::Halted));
    r.tick(5899, &mut out);
    assert!(out.is_empty());
    r.tick(5900, &mut out);
    assert_eq!(
        out,
        vec![EventKind::InstrumentState {
            instrument: I0,
            state: TradingState::Active,
            cause: R::VolatilityHalt,
            until: 0
        }]
    );
    assert_eq!(r.check_new(&buy(1, 112, 1), 5900, &mkt), Ok(()));
    // Trades further apart than the window never halt.
    out.clear();
    r.on_event(&t(200), 10_000, &mut out);
    r.on_event(&t(300), 12_001, &mut out);
    assert!(out.is_empty());
}

#[test]
fn market_maker_protection() {
    let mut cfg = base();
    cfg.accounts[0].mmp = Some(MmpConfig {
        window_ns: 1000,
        max_qty: Some(10),
        max_count: Some(3),
        freeze_ns: 0,
    });
    let mut r = risk(&cfg);
    let mut out = Vec::new();
    let mmp = |mut o: NewOrder| {
        o.flags = OrderFlags::MMP;
        o
    };
    for id in 1..=4 {
        enter(&mut r, &mmp(sell(id, 100 + id as i64, 10)), 0, &NOMKT).unwrap();
    }
    enter(&mut r, &sell(5, 200, 10), 0, &NOMKT).unwrap(); // not MMP
    let hit = |id, q, leaves| trade(100 + id as i64, q, (id, A1, leaves), (99, A2, 0), Side::Buy);
    assert_eq!(r.on_event(&hit(1, 4, 6), 10, &mut out), RiskAction::None);
    assert_eq!(r.on_event(&hit(1, 6, 0), 20, &mut out), RiskAction::None); // 10 lots = limit
    // Non-MMP fills don't count.
    assert_eq!(
        r.on_event(
            &trade(200, 5, (5, A1, 5), (99, A2, 0), Side::Buy),
            25,
            &mut out
        ),
        RiskAction::None
    );
    assert_eq!(
        r.on_event(&hit(2, 1, 9), 30, &mut out),
        RiskAction::CancelMmp(A1)
    ); // 11 lots
    assert_eq!(
        out,
        vec![EventKind::AccountState {
            account: A1,
            state: TradingState::Halted,
            cause: R::MmpFrozen,
            until: 0
        }]
    );
    let mut live: Vec<_> = r.mmp_orders(A1).map(|(_, id)| id.0).collect();
    live.sort();
    assert_eq!(live, vec![2, 3, 4]);
    assert_eq!(
        reason(r.check_new(&buy(10, 100, 1), 40, &NOMKT)),
        Some((R::MmpFrozen, 0, 0))
    );
    // Cancels pass; the engine cancels each MMP order and feeds the events back.
    for id in [2, 3, 4] {
        let c = CancelOrder {
            order_id: OrderId(id),
            account: A1,
            instrument: I0,
        };
        assert_eq!(r.check_cancel(&c, 40), Ok(()));
        let leaves = if id == 2 { 9 } else { 10 };
        r.on_event(
            &cancelled(id, A1, Side::Sell, 100 + id as i64, leaves),
            40,
            &mut out,
        );
    }
    assert_eq!(r.mmp_orders(A1).count(), 0);
    assert_eq!(r.open_orders(A1), 1);
    out.clear();
    r.control(&RiskControl::ResetMmp { account: A1 }, 50, &mut out);
    assert_eq!(
        out,
        vec![EventKind::AccountState {
            account: A1,
            state: TradingState::Active,
            cause: R::MmpFrozen,
            until: 0
        }]
    );
    assert_eq!(r.check_new(&buy(10, 100, 1), 50, &NOMKT), Ok(()));
    // Count limit, timed freeze, and a window that expires.
    let mut cfg = base();
    cfg.accounts[0].mmp = Some(MmpConfig {
        window_ns: 1000,
        max_qty: None,
        max_count: Some(2),
        freeze_ns: 500,
    });
    let mut r = risk(&cfg);
    out.clear();
    enter(&mut r, &mmp(sell(1, 100, 100)), 0, &NOMKT).unwrap();
    let hit = |q, leaves| trade(100, q, (1, A1, leaves), (99, A2, 0), Side::Buy);
    assert_eq!(r.on_event(&hit(1, 99), 0, &mut out), RiskAction::None);
    assert_eq!(r.on_event(&hit(1, 98), 999, &mut out), RiskAction::None);
    assert_eq!(r.on_event(&hit(1, 97), 1000, &mut out), RiskAction::None); // new window
    assert_eq!(r.on_event(&hit(1, 96), 1001, &mut out), RiskAction::None);
    assert_eq!(
        r.on_event(&hit(1, 95), 1002, &mut out),
        RiskAction::CancelMmp(A1)
    );
    assert!(matches!(
        out[0],
        EventKind::AccountState { until: 1502, .. }
    ));
    assert_eq!(
        r.check_new(&buy(10, 100, 1), 1501, &NOMKT)
            .unwrap_err()
            .reason,
        R::MmpFrozen
    );
    out.clear();
    r.tick(1502, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(r.check_new(&buy(10, 100, 1), 1502, &NOMKT), Ok(()));
}

#[test]
fn mmp_both_sides_of_one_trade() {
    let mut cfg = base();
    let m = MmpConfig {
        window_ns: 1000,
        max_qty: Some(1),
        max_count: None,
        freeze_ns: 0,
    };
    cfg.accounts[0].mmp = Some(m);
    cfg.accounts[1].mmp = Some(m);
    let mut r = risk(&cfg);
    let mut out = Vec::new();
    let mut a = sell(1, 100, 5);
    a.flags = OrderFlags::MMP;
    enter(&mut r, &a, 0, &NOMKT).unwrap();
    let mut b = order(2, A2, Side::Buy, 100, 5);
    b.flags = OrderFlags::MMP;
    enter(&mut r, &b, 0, &NOMKT).unwrap();
    let act = r.on_event(
        &trade(100, 2, (1, A1, 3), (2, A2, 3), Side::Buy),
        0,
        &mut out,
    );
    assert_eq!(act, RiskAction::CancelMmpBoth(A1, A2));
    assert_eq!(out.len(), 2);
}

#[test]
fn modify_replaces_the_orders_own_quantity_and_notional() {
    let mut cfg = base();
    cfg.accounts[0].max_long = Some(10);
    cfg.accounts[0].credit_limit = Some(2_000);
    let mut r = risk(&cfg);
    let mut out = Vec::new();
    enter(&mut r, &buy(1, 100, 8), 0, &NOMKT).unwrap();
    let snap = OrderSnapshot {
        side: Side::Buy,
        price: Price(100),
        leaves: Qty(8),
    };
    let md = |p, q| ModifyOrder {
        order_id: OrderId(1),
        price: Price(p),
        qty: Qty(q),
        account: A1,
        instrument: I0,
    };
    assert_eq!(r.check_modify(&md(100, 10), &snap, 0, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_modify(&md(100, 11), &snap, 0, &NOMKT)),
        Some((R::PositionLimit, 10, 11))
    );
    assert_eq!(r.check_modify(&md(200, 10), &snap, 0, &NOMKT), Ok(()));
    assert_eq!(
        reason(r.check_modify(&md(201, 10), &snap, 0, &NOMKT)),
        Some((R::CreditLimit, 2_000, 2_010))
    );
    assert_eq!(
        reason(r.check_modify(&md(100, 0), &snap, 0, &NOMKT)),
        Some((R::InvalidQty, 0, 0))
    );
    r.on_event(
        &EventKind::Replaced {
            order_id: OrderId(1),
            account: A1,
            instrument: I0,
            price: Price(150),
            qty: Qty(6),
            kept_priority: false,
        },
        0,
        &mut out,
    );
    assert_eq!(r.exposure(A1), 900);
    assert_eq!(r.open_qty(A1, I0, Side::Buy), 6);
    assert_eq!(r.open_orders(A1), 1);
}

#[test]
fn accepted_market_and_stop_use_the_checked_reserve_price() {
    let mut r = risk(&base());
    let mut out = Vec::new();
    let mkt = MarketView {
        best_bid: Some(Price(90)),
        best_ask: Some(Price(100)),
        last_trade: None,
    };
    let mut m = buy(1, 0, 5);
    m.ord_type = OrdType::Market;
    m.tif = TimeInForce::Ioc;
    enter(&mut r, &m, 0, &mkt).unwrap();
    assert_eq!(r.exposure(A1), 5 * 110);
    // Partly filled at 100, remainder cancelled by market protection.
    r.on_event(
        &trade(100, 2, (9, A2, 0), (1, A1, 3), Side::Buy),
        0,
        &mut out,
    );
    assert_eq!(r.exposure(A1), 3 * 110 + 2 * 100);
    r.on_event(&cancelled(1, A1, Side::Buy, 0, 3), 0, &mut out);
    assert_eq!(r.exposure(A1), 200);
    assert_eq!(r.open_orders(A1), 0);
    let mut st = sell(2, 0, 4);
    st.ord_type = OrdType::Stop;
    st.stop_price = Price(80);
    enter(&mut r, &st, 0, &mkt).unwrap();
    assert_eq!(r.exposure(A1), 200 + 320);
    // Accepted without a check (risk off for that order): the event's price, else last trade.
    r.on_event(&accepted(&buy(3, 0, 1)), 0, &mut out);
    assert_eq!(r.exposure(A1), 200 + 320 + 100);
}

#[test]
fn absurd_inputs_never_panic() {
    let mut cfg = base();
    cfg.instruments[0].max_price = i64::MAX;
    cfg.instruments[0].price_band = Some(BandConfig {
        bps: Some(10_000),
        ticks: None,
    });
    cfg.accounts[0].credit_limit = Some(i64::MAX);
    cfg.accounts[0].max_long = Some(u64::MAX);
    let mut r = risk(&cfg);
    let mut out = Vec::new();
    let mkt = MarketView {
        best_bid: Some(Price(i64::MAX)),
        best_ask: Some(Price(i64::MAX)),
        last_trade: None,
    };
    for o in [
        buy(1, i64::MAX, u64::MAX),
        sell(1, i64::MAX, u64::MAX),
        buy(1, 1, 1),
    ] {
        let _ = r.check_new(&o, u64::MAX, &mkt);
    }
    r.on_event(&accepted(&buy(1, i64::MAX, u64::MAX)), 0, &mut out);
    r.on_event(&accepted(&buy(2, i64::MAX, u64::MAX)), 0, &mut out);
    r.on_event(
        &trade(i64::MAX, u64::MAX, (1, A1, 0), (9, A2, 0), Side::Sell),
        0,
        &mut out,
    );
    r.on_event(
        &trade(i64::MAX, u64::MAX, (2, A1, 0), (9, A2, 0), Side::Sell),
        0,
        &mut out,
    );
    assert_eq!(r.position(A1, I0), i64::MAX);
    assert!(r.exposure(A1) > 0);
    assert!(r.check_new(&buy(3, 1, 1), 0, &NOMKT).is_err());
    // Events for unknown orders, accounts and instruments are ignored.
    r.on_event(
        &cancelled(12345, AccountId(99), Side::Buy, 1, 5),
        0,
        &mut out,
    );
    let mut t = trade(1, 1, (5, AccountId(0), 0), (0, AccountId(0), 0), Side::Buy);
    r.on_event(&t, 0, &mut out);
    if let EventKind::Trade { instrument, .. } = &mut t {
        *instrument = InstrumentId(u32::MAX);
    }
    r.on_event(&t, 0, &mut out);
    r.tick(u64::MAX, &mut out);
}

#[test]
fn book_params_for_the_engine() {
    let mut cfg = base();
    cfg.instruments[0].tick_size = 5;
    cfg.instruments[0].market_protection_ticks = 50;
    let r = risk(&cfg);
    let p = r.book_params(I0).unwrap();
    assert_eq!(
        (p.tick_size, p.lot_size, p.market_protection_ticks),
        (5, 1, 50)
    );
    assert!(r.book_params(InstrumentId(1)).is_none());
}

/// A transient order (IOC, market) between its `Accepted` and the event that ends it is
/// tracked like any order: it counts in open orders and exposure, holds a place of the order
/// table (`max_orders`), is written by snapshots, and a replace of it reprices it. (The risk
/// layer keeps one such order outside its table's index; nothing outside may see that.)
#[test]
fn live_transient_orders_are_tracked_like_any_order() {
    let mut cfg = base();
    cfg.max_orders = 3;
    let mut r = risk(&cfg);
    let mut out = Vec::new();
    enter(&mut r, &buy(1, 100, 2), 0, &NOMKT).unwrap();
    let mut ioc = buy(2, 100, 5);
    ioc.tif = TimeInForce::Ioc;
    enter(&mut r, &ioc, 0, &NOMKT).unwrap();
    assert_eq!(r.open_orders(A1), 2);
    assert_eq!(r.exposure(A1), 700);
    // A second transient order while the first is live.
    let mkt = MarketView {
        best_bid: Some(Price(100)),
        best_ask: None,
        last_trade: None,
    };
    let mut m = sell(3, 0, 4);
    m.ord_type = OrdType::Market;
    enter(&mut r, &m, 0, &mkt).unwrap();
    assert_eq!(r.open_orders(A1), 3);
    assert_eq!(r.open_qty(A1, I0, Side::Sell), 4);
    // The table is full (3 of 3): refused as before.
    assert_eq!(
        reason(r.check_new(&buy(4, 100, 1), 0, &NOMKT)),
        Some((R::MaxOpenOrders, 3, 4))
    );
    // A snapshot taken now restores to the same state and the same bytes.
    let mut snap = Vec::new();
    r.snapshot(&mut snap);
    let mut r2 = risk(&cfg);
    let img = r2.stage_restore(&snap).expect("restore");
    r2.commit_restore(img);
    let mut snap2 = Vec::new();
    r2.snapshot(&mut snap2);
    assert_eq!(snap, snap2);
    for r in [&mut r, &mut r2] {
        // The IOC takes 3 of its 5 from account 2 (maker 9, not tracked), then is cancelled.
        r.on_event(
            &trade(100, 3, (9, A2, 0), (2, A1, 2), Side::Buy),
            0,
            &mut out,
        );
        assert_eq!(r.position(A1, I0), 3);
        assert_eq!(r.exposure(A1), 200 + 200 + 3 * 100 + 4 * 100);
        r.on_event(&cancelled(2, A1, Side::Buy, 100, 2), 0, &mut out);
        assert_eq!(r.open_orders(A1), 2);
        assert_eq!(r.open_qty(A1, I0, Side::Buy), 2);
        assert_eq!(r.exposure(A1), 200 + 300 + 400);
        // A place is free again.
        assert_eq!(r.check_new(&buy(4, 100, 1), 0, &NOMKT), Ok(()));
        // The market order is replaced (repriced) while live, then cancelled.
        r.on_event(
            &EventKind::Replaced {
                order_id: OrderId(3),
                account: A1,
                instrument: I0,
                price: Price(90),
                qty: Qty(2),
                kept_priority: false,
            },
            0,
            &mut out,
        );
        assert_eq!(r.open_qty(A1, I0, Side::Sell), 2);
        assert_eq!(r.exposure(A1), 200 + 300 + 180);
        r.on_event(&cancelled(3, A1, Side::Sell, 90, 2), 0, &mut out);
        assert_eq!(r.open_orders(A1), 1);
        assert_eq!(r.exposure(A1), 200 + 300);
    }
    // A fresh IOC that fills completely ends with its trade.
    let mut ioc = buy(5, 100, 2);
    ioc.tif = TimeInForce::Fok;
    enter(&mut r, &ioc, 0, &NOMKT).unwrap();
    r.on_event(
        &trade(100, 2, (9, A2, 0), (5, A1, 0), Side::Buy),
        0,
        &mut out,
    );
    assert_eq!(r.open_orders(A1), 1);
    assert_eq!(r.position(A1, I0), 5);
    assert_eq!(r.exposure(A1), 200 + 500);
}

/// A position beyond i64 (two fills of u64::MAX lots): the position limit still compares the
/// exact sum, and a sell (which reduces it) passes.
#[test]
fn position_limit_beyond_i64() {
    let mut cfg = base();
    cfg.accounts[0].max_long = Some(u64::MAX);
    cfg.accounts[0].max_short = Some(5);
    let mut r = risk(&cfg);
    let mut out = Vec::new();
    for id in [1, 2] {
        r.on_event(
            &trade(100, u64::MAX, (9, A2, 0), (id, A1, 0), Side::Buy),
            0,
            &mut out,
        );
    }
    assert_eq!(r.position(A1, I0), i64::MAX);
    assert_eq!(
        reason(r.check_new(&buy(10, 100, 1), 0, &NOMKT)),
        Some((R::PositionLimit, i64::MAX, i64::MAX))
    );
    assert_eq!(r.check_new(&sell(11, 100, 7), 0, &NOMKT), Ok(()));
    // Account 2 is short beyond i64 with no short limit (u64::MAX): a buy reduces; a sell's
    // exact sum is past even that limit.
    assert_eq!(
        r.check_new(&order(12, A2, Side::Buy, 100, 3), 0, &NOMKT),
        Ok(())
    );
    assert_eq!(
        reason(r.check_new(&order(13, A2, Side::Sell, 100, 1), 0, &NOMKT)),
        Some((R::PositionLimit, i64::MAX, i64::MAX))
    );
}

/// A plain order is kept in no table: its modify (checked, then `Replaced`) re-prices its open
/// notional from the book's view the check was given, and when it then takes at a maker's
/// better price its own reserve leaves with each fill; the maker's leaves at the trade price.
#[test]
fn plain_order_modify_then_take_at_a_better_price() {
    let mut r = risk(&base());
    let mut out = Vec::new();
    enter(&mut r, &order(9, A2, Side::Sell, 105, 3), 0, &NOMKT).unwrap();
    enter(&mut r, &buy(1, 100, 5), 0, &NOMKT).unwrap();
    assert_eq!(r.exposure(A1), 500);
    assert_eq!(r.exposure(A2), 315);
    let m = ModifyOrder {
        order_id: OrderId(1),
        account: A1,
        instrument: I0,
        price: Price(110),
        qty: Qty(4),
    };
    let old = OrderSnapshot {
        side: Side::Buy,
        price: Price(100),
        leaves: Qty(5),
    };
    assert_eq!(r.check_modify(&m, &old, 0, &NOMKT), Ok(()));
    r.on_event(
        &EventKind::Replaced {
            order_id: OrderId(1),
            account: A1,
            instrument: I0,
            price: Price(110),
            qty: Qty(4),
            kept_priority: false,
        },
        0,
        &mut out,
    );
    assert_eq!(r.open_qty(A1, I0, Side::Buy), 4);
    assert_eq!(r.exposure(A1), 440);
    // It takes all 3 of order 9 at 105.
    r.on_event(
        &trade(105, 3, (9, A2, 0), (1, A1, 1), Side::Buy),
        0,
        &mut out,
    );
    assert_eq!(r.open_qty(A1, I0, Side::Buy), 1);
    assert_eq!(r.open_orders(A1), 1);
    assert_eq!(r.position(A1, I0), 3);
    assert_eq!(r.exposure(A1), 110 + 3 * 105);
    assert_eq!(r.open_orders(A2), 0);
    assert_eq!(r.open_qty(A2, I0, Side::Sell), 0);
    assert_eq!(r.exposure(A2), 3 * 105);
    // The rest is cancelled at its (new) price.
    r.on_event(&cancelled(1, A1, Side::Buy, 110, 1), 0, &mut out);
    assert_eq!(r.open_orders(A1), 0);
    assert_eq!(r.exposure(A1), 3 * 105);
    assert!(out.is_empty());
}
