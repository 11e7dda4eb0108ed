//! Property tests: random order / cancel / modify streams through a small reference book.
//! - position, open orders and exposure tracked by `Risk` equal those recomputed from the
//!   event stream after every command;
//! - an order is accepted exactly when it breaks none of the configured limits (computed here
//!   independently), so no order that breaks a limit ever reaches the book.

#[path = "support/common.rs"]
mod common;

use common::*;
use ferrex_risk::*;
use ferrex_types::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    New {
        account: u32,
        buy: bool,
        price: i64,
        qty: u64,
        ioc: bool,
        market: bool,
        reduce_only: bool,
    },
    Cancel {
        pick: usize,
    },
    Reduce {
        pick: usize,
        by: u64,
    },
    SetLimit {
        account: u32,
        kind: u8,
        value: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1u32..=3, any::<bool>(), 90i64..=110, 1u64..=20, any::<bool>(), prop::bool::weighted(0.1), prop::bool::weighted(0.15))
            .prop_map(|(account, buy, price, qty, ioc, market, reduce_only)| Op::New { account, buy, price, qty, ioc, market, reduce_only }),
        2 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        1 => (any::<usize>(), 1u64..=10).prop_map(|(pick, by)| Op::Reduce { pick, by }),
        1 => (1u32..=3, 0u8..6, 0i64..=200).prop_map(|(account, kind, value)| Op::SetLimit { account, kind, value }),
    ]
}

#[derive(Clone, Copy, Debug)]
struct Limits {
    credit: i64,
    max_long: u64,
    max_short: u64,
    max_open: u32,
    max_qty: u64,
    max_notional: i64,
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        1_000i64..=100_000,
        0u64..=150,
        0u64..=150,
        1u32..=20,
        1u64..=30,
        500i64..=4_000,
    )
        .prop_map(
            |(credit, max_long, max_short, max_open, max_qty, max_notional)| Limits {
                credit,
                max_long,
                max_short,
                max_open,
                max_qty,
                max_notional,
            },
        )
}

#[derive(Clone, Copy, Debug)]
struct Rest {
    id: u64,
    account: u32,
    side: Side,
    price: i64,
    leaves: u64,
}

/// Reference state recomputed from events only.
#[derive(Default)]
struct Model {
    book: Vec<Rest>,
    pos: [i128; 4],
    last: Option<i64>,
    /// Reserve price of transient (market/IOC) orders during their own command.
    events: Vec<EventKind>,
}

impl Model {
    fn best(&self, side: Side) -> Option<i64> {
        let it = self.book.iter().filter(|r| r.side == side).map(|r| r.price);
        match side {
            Side::Buy => it.max(),
            Side::Sell => it.min(),
        }
    }
    fn mkt(&self) -> MarketView {
        MarketView {
            best_bid: self.best(Side::Buy).map(Price),
            best_ask: self.best(Side::Sell).map(Price),
            last_trade: self.last.map(Price),
        }
    }
    fn open(&self, a: u32, side: Side) -> i128 {
        self.book
            .iter()
            .filter(|r| r.account == a && r.side == side)
            .map(|r| r.leaves as i128)
            .sum()
    }
    fn count(&self, a: u32) -> u32 {
        self.book.iter().filter(|r| r.account == a).count() as u32
    }
    fn exposure(&self, a: u32) -> i128 {
        let open: i128 = self
            .book
            .iter()
            .filter(|r| r.account == a)
            .map(|r| r.price as i128 * r.leaves as i128)
            .sum();
        open + self.pos[a as usize].abs() * self.last.unwrap_or(0) as i128
    }
}

fn config(l: &[Limits; 3], band: bool) -> RiskConfig {
    let mut cfg = base();
    cfg.instruments[0].market_protection_ticks = 5;
    if band {
        cfg.instruments[0].price_band = Some(BandConfig {
            bps: None,
            ticks: Some(8),
        });
        cfg.instruments[0].reference_price = Some(100);
    }
    cfg.accounts = (1..=3)
        .map(|id| {
            let x = l[id as usize - 1];
            AccountConfig {
                id,
                credit_limit: Some(x.credit),
                max_long: Some(x.max_long),
                max_short: Some(x.max_short),
                max_open_orders: Some(x.max_open),
                max_order_qty: Some(x.max_qty),
                max_order_notional: Some(x.max_notional),
                ..AccountConfig::default()
            }
        })
        .collect();
    cfg
}

/// The limits an order breaks, recomputed from the model (None = none broken).
#[allow(clippy::too_many_arguments)]
fn expected_reject(
    m: &Model,
    l: &Limits,
    band: bool,
    a: u32,
    side: Side,
    price: i64,
    qty: u64,
    rests: bool,
    market: bool,
    reduce_only: bool,
) -> Option<RejectReason> {
    let pos = m.pos[a as usize];
    let same = m.open(a, side);
    if qty > l.max_qty {
        return Some(RejectReason::MaxOrderQty);
    }
    if reduce_only {
        let room = match side {
            Side::Buy => (-pos).max(0),
            Side::Sell => pos.max(0),
        } - same;
        if qty as i128 > room {
            return Some(RejectReason::ReduceOnly);
        }
    }
    if rests && m.count(a) >= l.max_open {
        return Some(RejectReason::MaxOpenOrders);
    }
    let q = qty as i128;
    let over = match side {
        Side::Buy => pos + same + q > l.max_long as i128,
        Side::Sell => -pos + same + q > l.max_short as i128,
    };
    if over {
        return Some(RejectReason::PositionLimit);
    }
    let mkt = m.mkt();
    if band && !market {
        let r = mkt
            .last_trade
            .map(|p| p.0)
            .or(match (mkt.best_bid, mkt.best_ask) {
                (Some(b), Some(a)) => Some((b.0 + a.0) / 2),
                _ => None,
            })
            .unwrap_or(100);
        if (price - r).abs() > 8 {
            return Some(RejectReason::PriceOutsideBand);
        }
    }
    let reserve = if market {
        match side {
            Side::Buy => mkt
                .best_ask
                .map_or(m.last.unwrap_or(if band { 100 } else { 0 }), |p| p.0 + 5),
            Side::Sell => mkt
                .best_bid
                .map_or(m.last.unwrap_or(if band { 100 } else { 0 }), |p| p.0),
        }
    } else {
        price
    };
    let notional = reserve as i128 * q;
    if notional > l.max_notional as i128 {
        return Some(RejectReason::MaxOrderNotional);
    }
    if m.exposure(a) + notional > l.credit as i128 {
        return Some(RejectReason::CreditLimit);
    }
    None
}

fn emit(r: &mut Risk, m: &mut Model, ev: EventKind) {
    let mut out = Vec::new();
    let act = r.on_event(&ev, 0, &mut out);
    assert_eq!(act, RiskAction::None);
    assert!(out.is_empty());
    m.events.push(ev);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn tracked_state_matches_events_and_limits_hold(
        l in [limits(), limits(), limits()],
        band in any::<bool>(),
        ops in prop::collection::vec(op(), 1..200),
    ) {
        let cfg = config(&l, band);
        let mut r = risk(&cfg);
        let mut m = Model::default();
        let mut next_id = 1u64;
        let mut l = l;
        // A limit lowered below what is already open/held is not retroactive.
        let mut lowered = [false; 4];
        for op in ops {
            match op {
                Op::New { account, buy, price, qty, ioc, market, reduce_only } => {
                    let side = if buy { Side::Buy } else { Side::Sell };
                    let mut o = order(next_id, AccountId(account), side, price, qty);
                    next_id += 1;
                    if market {
                        o.ord_type = OrdType::Market;
                        o.price = Price(0);
                    }
                    if ioc {
                        o.tif = TimeInForce::Ioc;
                    }
                    if reduce_only {
                        o.flags = OrderFlags::REDUCE_ONLY;
                    }
                    let rests = !market && !ioc;
                    let mkt = m.mkt();
                    let want = expected_reject(&m, &l[account as usize - 1], band, account, side, price, qty, rests, market, reduce_only);
                    let got = r.check_new(&o, 0, &mkt);
                    prop_assert_eq!(got.err().map(|e| e.reason), want, "order {:?}", o);
                    if got.is_err() {
                        continue;
                    }
                    if market && (match side { Side::Buy => mkt.best_ask, Side::Sell => mkt.best_bid }).is_none() {
                        continue; // the book rejects NoLiquidity
                    }
                    emit(&mut r, &mut m, accepted(&o));
                    // Match against the reference book (price-time, no STP).
                    let limit = if market {
                        match side {
                            Side::Buy => mkt.best_ask.unwrap().0 + 5,
                            Side::Sell => mkt.best_bid.unwrap().0 - 5,
                        }
                    } else {
                        price
                    };
                    let mut leaves = qty;
                    while leaves > 0 {
                        let best = m.best(side.opposite());
                        let Some(bp) = best else { break };
                        let crosses = match side { Side::Buy => bp <= limit, Side::Sell => bp >= limit };
                        if !crosses {
                            break;
                        }
                        let k = m.book.iter().position(|x| x.side == side.opposite() && x.price == bp).unwrap();
                        let mk = m.book[k];
                        let q = leaves.min(mk.leaves);
                        leaves -= q;
                        let maker_leaves = mk.leaves - q;
                        if maker_leaves == 0 {
                            m.book.remove(k);
                        } else {
                            m.book[k].leaves = maker_leaves;
                        }
                        let sgn = if side == Side::Buy { 1 } else { -1 };
                        m.pos[account as usize] += sgn * q as i128;
                        m.pos[mk.account as usize] -= sgn * q as i128;
                        m.last = Some(bp);
                        emit(&mut r, &mut m, trade(bp, q, (mk.id, AccountId(mk.account), maker_leaves), (o.order_id.0, AccountId(account), leaves), side));
                    }
                    if leaves > 0 {
                        if rests {
                            m.book.push(Rest { id: o.order_id.0, account, side, price, leaves });
                        } else {
                            emit(&mut r, &mut m, cancelled(o.order_id.0, AccountId(account), side, if market { 0 } else { price }, leaves));
                        }
                    }
                }
                Op::Cancel { pick } => {
                    if m.book.is_empty() {
                        continue;
                    }
                    let x = m.book.remove(pick % m.book.len());
                    let c = CancelOrder { order_id: OrderId(x.id), account: AccountId(x.account), instrument: I0 };
                    prop_assert!(r.check_cancel(&c, 0).is_ok());
                    emit(&mut r, &mut m, cancelled(x.id, AccountId(x.account), x.side, x.price, x.leaves));
                }
                Op::SetLimit { account, kind, value } => {
                    // Limits change at run time; later orders are checked against the new ones.
                    lowered[account as usize] = true;
                    let x = &mut l[account as usize - 1];
                    let (kind, value) = match kind {
                        0 => { x.credit = value * 100; (LimitKind::CreditLimit, value * 100) }
                        1 => { x.max_long = value as u64; (LimitKind::MaxLong, value) }
                        2 => { x.max_short = value as u64; (LimitKind::MaxShort, value) }
                        3 => { x.max_open = (value % 20) as u32; (LimitKind::MaxOpenOrders, value % 20) }
                        4 => { x.max_qty = value as u64 % 40; (LimitKind::MaxOrderQty, value % 40) }
                        _ => { x.max_notional = value * 20; (LimitKind::MaxOrderNotional, value * 20) }
                    };
                    let mut out = Vec::new();
                    let act = r.control(&RiskControl::SetLimit(SetLimit { value, account: AccountId(account), instrument: I0, kind }), 0, &mut out);
                    prop_assert_eq!(act, RiskAction::None);
                    prop_assert!(out.is_empty());
                }
                Op::Reduce { pick, by } => {
                    if m.book.is_empty() {
                        continue;
                    }
                    let k = pick % m.book.len();
                    let x = m.book[k];
                    if by >= x.leaves {
                        continue;
                    }
                    let new = x.leaves - by;
                    let md = ModifyOrder { order_id: OrderId(x.id), price: Price(x.price), qty: Qty(new), account: AccountId(x.account), instrument: I0 };
                    let snap = OrderSnapshot { side: x.side, price: Price(x.price), leaves: Qty(x.leaves) };
                    // A reduction may still be refused by the band (the market moved) or the
                    // max order qty: only check it cannot break position/credit.
                    if r.check_modify(&md, &snap, 0, &m.mkt()).is_err() {
                        continue;
                    }
                    m.book[k].leaves = new;
                    emit(&mut r, &mut m, EventKind::Replaced { order_id: OrderId(x.id), account: AccountId(x.account), instrument: I0, price: Price(x.price), qty: Qty(new), kept_priority: true });
                }
            }
            for a in 1..=3u32 {
                prop_assert_eq!(r.position(AccountId(a), I0) as i128, m.pos[a as usize]);
                prop_assert_eq!(r.exposure(AccountId(a)), m.exposure(a));
                prop_assert_eq!(r.open_orders(AccountId(a)), m.count(a));
                prop_assert_eq!(r.open_qty(AccountId(a), I0, Side::Buy) as i128, m.open(a, Side::Buy));
                prop_assert_eq!(r.open_qty(AccountId(a), I0, Side::Sell) as i128, m.open(a, Side::Sell));
                // Limits hold at rest: resting orders + position never exceed the position limits.
                let x = &l[a as usize - 1];
                let pos = m.pos[a as usize];
                if !lowered[a as usize] {
                    prop_assert!(pos + m.open(a, Side::Buy) <= x.max_long as i128);
                    prop_assert!(-pos + m.open(a, Side::Sell) <= x.max_short as i128);
                    prop_assert!(m.count(a) <= x.max_open);
                }
            }
        }
    }
}
