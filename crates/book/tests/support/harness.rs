//! Differential harness: random command streams, fed to `ferrex_book::Book` and to the
//! `ReferenceBook` side by side, with every observable compared after every command.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};

use ferrex_book::{Book, BookConfig, LevelView};
use ferrex_types::{
    AccountId, CancelOrder, EventKind, InstrumentId, ModifyOrder, NewOrder, OrdType, OrderFlags,
    OrderId, Price, Qty, Side, StpMode, TimeInForce,
};
use proptest::prelude::*;

use crate::reference::ReferenceBook;

/// The instrument of every differential book.
pub const INST: InstrumentId = InstrumentId(7);

/// Which order a cancel/modify/replay helper names.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// The k-th live order of the reference (by entry), or a pool id when none is live.
    Live(u8),
    /// A raw id from the pool (often not live).
    Raw(u64),
}

/// A price, resolved against the book configuration.
#[derive(Clone, Copy, Debug)]
pub enum PriceSpec {
    /// `center + k * tick`, k in -5..=5: the busy band.
    Band(i8),
    /// `center + k * tick`, k in -40..=40: around the dense window's edges.
    Near(i8),
    /// Anywhere in the valid range (the sparse fallback).
    Far(u32),
    /// `tick * (1 + x % 16000)`: spread over a large dense window (multi-word bitmap search).
    Wide(u16),
    /// Invalid: 0, max + tick, off tick, negative, `i64::MAX`, `i64::MIN`.
    Bad(u8),
}

/// New quantity of a modify.
#[derive(Clone, Copy, Debug)]
pub enum QtyPick {
    Less(u8),
    Same,
    More(u8),
    Raw(u64),
}

/// A new order before resolution against the config and the clock.
#[derive(Clone, Copy, Debug)]
pub struct NewSpec {
    pub id: u64,
    pub account: u32,
    pub stp_group: u32,
    pub side: Side,
    pub ord_type: OrdType,
    pub tif: TimeInForce,
    pub stp: StpMode,
    pub price: PriceSpec,
    pub stop_price: PriceSpec,
    /// Lots (× lot size); 0 = invalid zero; `u8::MAX` = off-lot.
    pub lots: u8,
    /// Display lots (× lot size); 0 = not an iceberg.
    pub display_lots: u8,
    /// Expire time relative to now (may be ≤ 0: invalid).
    pub expire_in: i16,
}

/// One generated operation.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    New(NewSpec),
    Cancel {
        target: Target,
        wrong_owner: bool,
    },
    Modify {
        target: Target,
        wrong_owner: bool,
        price: Option<PriceSpec>,
        qty: QtyPick,
    },
    Mass(u32),
    /// Mass cancel of the owner of the k-th live order.
    MassLive(u8),
    Fill {
        target: Target,
        frac: u8,
    },
    Reduce {
        target: Target,
        frac: u8,
    },
}

/// One generated step: time advance, then an operation.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub dt: u8,
    pub op: Op,
}

/// A resolved, concrete command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    New(NewOrder),
    Cancel(CancelOrder),
    Modify(ModifyOrder),
    Mass(AccountId),
    Fill(OrderId, Qty),
    Reduce(OrderId, Qty),
}

/// What the generator may produce.
#[derive(Clone, Copy, Debug)]
pub struct GenOpts {
    /// Stop/StopLimit with IOC/FOK/PostOnly tifs (semantics.md leaves some of these open).
    pub odd_stop_tifs: bool,
    /// `fill_resting` / `reduce_resting` replay helpers.
    pub replay_helpers: bool,
    /// Order ids from a wide range (hash map probing, slot reuse) instead of a pool of 40
    /// (duplicates and id reuse).
    pub wide_ids: bool,
}

impl GenOpts {
    pub const ALL: GenOpts = GenOpts {
        odd_stop_tifs: true,
        replay_helpers: true,
        wide_ids: false,
    };
}

// ------------------------------------------------------------------ strategies

pub fn price_spec() -> impl Strategy<Value = PriceSpec> {
    prop_oneof![
        80 => (-5i8..=5).prop_map(PriceSpec::Band),
        8 => (-40i8..=40).prop_map(PriceSpec::Near),
        4 => any::<u32>().prop_map(PriceSpec::Far),
        4 => any::<u16>().prop_map(PriceSpec::Wide),
        3 => any::<u8>().prop_map(PriceSpec::Bad),
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        9 => any::<u8>().prop_map(Target::Live),
        1 => (1u64..=40).prop_map(Target::Raw),
    ]
}

pub fn new_spec(opts: GenOpts) -> impl Strategy<Value = NewSpec> {
    let ord_type = prop_oneof![
        60 => Just(OrdType::Limit),
        12 => Just(OrdType::Market),
        14 => Just(OrdType::Stop),
        14 => Just(OrdType::StopLimit),
    ];
    let tif = prop_oneof![
        35 => Just(TimeInForce::Gtc),
        15 => Just(TimeInForce::Ioc),
        10 => Just(TimeInForce::Fok),
        25 => Just(TimeInForce::Gtd),
        15 => Just(TimeInForce::PostOnly),
    ];
    let stp = prop_oneof![
        Just(StpMode::CancelResting),
        Just(StpMode::CancelAggressor),
        Just(StpMode::CancelBoth),
        Just(StpMode::DecrementAndCancel),
        Just(StpMode::None),
    ];
    let group = prop_oneof![14 => Just(0u32), 3 => 1u32..=4, 3 => Just(9u32)];
    let lots = prop_oneof![40 => 1u8..=10, 1 => Just(0u8), 1 => Just(u8::MAX)];
    let display = prop_oneof![7 => Just(0u8), 3 => 1u8..=6];
    (
        (
            if opts.wide_ids {
                1u64..=1 << 40
            } else {
                1u64..=40
            },
            if opts.wide_ids { 0u32..=300 } else { 1u32..=4 },
            group,
            any::<bool>(),
            ord_type,
            tif,
            stp,
        ),
        (price_spec(), price_spec(), lots, display, -3i16..=80),
    )
        .prop_map(
            move |((id, account, stp_group, buy, ord_type, mut tif, stp), rest)| {
                let (price, stop_price, lots, display_lots, expire_in) = rest;
                let is_stop = matches!(ord_type, OrdType::Stop | OrdType::StopLimit);
                if is_stop && !opts.odd_stop_tifs {
                    tif = match tif {
                        TimeInForce::Ioc | TimeInForce::Fok | TimeInForce::PostOnly => {
                            TimeInForce::Gtc
                        }
                        t => t,
                    };
                }
                NewSpec {
                    id,
                    account,
                    stp_group,
                    side: if buy { Side::Buy } else { Side::Sell },
                    ord_type,
                    tif,
                    stp,
                    price,
                    stop_price,
                    lots,
                    display_lots,
                    expire_in,
                }
            },
        )
}

pub fn step(opts: GenOpts) -> impl Strategy<Value = Step> {
    let qty_pick = prop_oneof![
        4 => any::<u8>().prop_map(QtyPick::Less),
        1 => Just(QtyPick::Same),
        3 => any::<u8>().prop_map(QtyPick::More),
        1 => (0u64..=12).prop_map(QtyPick::Raw),
    ];
    let helper_w = if opts.replay_helpers { 3 } else { 0 };
    let op = prop_oneof![
        60 => new_spec(opts).prop_map(Op::New),
        14 => (target(), prop::bool::weighted(0.1))
            .prop_map(|(target, wrong_owner)| Op::Cancel { target, wrong_owner }),
        14 => (target(), prop::bool::weighted(0.05), prop::option::weighted(0.6, price_spec()), qty_pick)
            .prop_map(|(target, wrong_owner, price, qty)| Op::Modify { target, wrong_owner, price, qty }),
        2 => (1u32..=4).prop_map(Op::Mass),
        2 => any::<u8>().prop_map(Op::MassLive),
        helper_w => (target(), any::<u8>()).prop_map(|(target, frac)| Op::Fill { target, frac }),
        helper_w => (target(), any::<u8>()).prop_map(|(target, frac)| Op::Reduce { target, frac }),
    ];
    (prop_oneof![3 => Just(0u8), 6 => 1u8..=3, 1 => 4u8..=30], op)
        .prop_map(|(dt, op)| Step { dt, op })
}

/// The configurations the differential runs on: small capacities so the sparse fallback and
/// `BookFull` are reached.
pub fn configs() -> [BookConfig; 5] {
    let base = BookConfig {
        tick_size: 1,
        lot_size: 1,
        min_price: Price(1),
        max_price: Price(100_000),
        max_orders: 64,
        // Fewer special slots than orders: both slab regions, plain orders overflowing into
        // special slots, and the special-capacity `BookFull` are reached.
        max_special_orders: 24,
        max_accounts: 1 << 14,
        dense_levels: 64,
        // At least max_orders: semantics.md does not say what happens when the sparse fallback
        // is full, so never let it fill.
        sparse_levels: 64,
        anchor: None,
        market_protection_ticks: 3,
        level_events: true,
    };
    [
        base,
        BookConfig {
            tick_size: 5,
            lot_size: 10,
            min_price: Price(5),
            anchor: Some(Price(2500)),
            market_protection_ticks: 2,
            ..base
        },
        BookConfig {
            level_events: false,
            max_orders: 10,
            max_special_orders: 4,
            // Fewer accounts than the generator uses: the account-capacity `BookFull`.
            max_accounts: 3,
            dense_levels: 16,
            ..base
        },
        // A dense window narrower than the busy band: levels move between dense and sparse.
        BookConfig {
            max_orders: 6,
            dense_levels: 4,
            anchor: Some(Price(498)),
            ..base
        },
        // A large dense window (four summary words of the two-level bitmap).
        BookConfig {
            dense_levels: 16_384,
            ..base
        },
    ]
}

fn center(cfg: &BookConfig) -> i64 {
    500 * cfg.tick_size
}

pub fn resolve_price(cfg: &BookConfig, p: PriceSpec) -> Price {
    let t = cfg.tick_size;
    let c = center(cfg);
    Price(match p {
        PriceSpec::Band(k) | PriceSpec::Near(k) => c + i64::from(k) * t,
        PriceSpec::Far(x) => {
            let n = cfg.max_price.0 / t;
            t * (1 + i64::from(x) % n)
        }
        PriceSpec::Wide(x) => t * (1 + i64::from(x % 16000)),
        PriceSpec::Bad(x) => match x % 6 {
            0 => 0,
            1 => cfg.max_price.0 + t,
            2 if t > 1 => c + 1,
            3 => i64::MAX,
            4 => i64::MIN,
            _ => -t,
        },
    })
}

// ------------------------------------------------------------------ the ledger

/// Per order id, quantities seen in the events of its current life.
#[derive(Clone, Copy, Debug, Default)]
struct Life {
    entered: i128,
    filled: i128,
    cancelled: i128,
    expired: i128,
    /// Open quantity implied by the events.
    open: i128,
}

/// Quantity conservation per order id, from the events alone.
#[derive(Default)]
pub struct Ledger {
    lives: HashMap<OrderId, Life>,
}

impl Ledger {
    fn take(&mut self, id: OrderId, q: u64, what: &str) -> Result<&mut Life, String> {
        let l = self
            .lives
            .get_mut(&id)
            .ok_or_else(|| format!("{what} of {q} for order {id} that is not open"))?;
        l.open -= i128::from(q);
        if l.open < 0 {
            return Err(format!("{what} of {q} takes order {id} below 0 open"));
        }
        Ok(l)
    }

    pub fn apply(&mut self, e: &EventKind) -> Result<(), String> {
        match *e {
            EventKind::Accepted { order_id, qty, .. } => {
                if let Some(l) = self.lives.get(&order_id)
                    && l.open != 0
                {
                    return Err(format!(
                        "Accepted for {order_id} which is still open: {l:?}"
                    ));
                }
                let q = i128::from(qty.0);
                self.lives.insert(
                    order_id,
                    Life {
                        entered: q,
                        open: q,
                        ..Life::default()
                    },
                );
            }
            EventKind::Trade {
                qty,
                maker_order_id,
                taker_order_id,
                maker_leaves,
                taker_leaves,
                ..
            } => {
                let m = self.take(maker_order_id, qty.0, "trade (maker)")?;
                m.filled += i128::from(qty.0);
                if m.open != i128::from(maker_leaves.0) {
                    return Err(format!(
                        "maker {maker_order_id} leaves {maker_leaves:?}, ledger {}",
                        m.open
                    ));
                }
                if taker_order_id != OrderId(0) {
                    let t = self.take(taker_order_id, qty.0, "trade (taker)")?;
                    t.filled += i128::from(qty.0);
                    if t.open != i128::from(taker_leaves.0) {
                        return Err(format!(
                            "taker {taker_order_id} leaves {taker_leaves:?}, ledger {}",
                            t.open
                        ));
                    }
                }
            }
            EventKind::Cancelled { order_id, qty, .. } => {
                self.take(order_id, qty.0, "cancel")?.cancelled += i128::from(qty.0);
            }
            EventKind::Expired { order_id, qty, .. } => {
                self.take(order_id, qty.0, "expiry")?.expired += i128::from(qty.0);
            }
            EventKind::Replaced { order_id, qty, .. } => {
                let l = self
                    .lives
                    .get_mut(&order_id)
                    .filter(|l| l.open > 0)
                    .ok_or_else(|| format!("Replaced for {order_id} that is not open"))?;
                l.entered += i128::from(qty.0) - l.open;
                l.open = i128::from(qty.0);
            }
            _ => {}
        }
        Ok(())
    }

    /// entered = filled + cancelled + expired + resting leaves, for every id; every id with open
    /// quantity is live in the book with exactly those leaves, and nothing else is live.
    pub fn check(&self, book: &Book) -> Result<(), String> {
        let mut open = 0usize;
        for (id, l) in &self.lives {
            let leaves = book.order(*id).map_or(0, |o| i128::from(o.leaves.0));
            if l.entered != l.filled + l.cancelled + l.expired + leaves {
                return Err(format!(
                    "conservation broken for {id}: {l:?}, book leaves {leaves}"
                ));
            }
            if l.open != leaves {
                return Err(format!(
                    "order {id}: events imply {} open, book has {leaves}",
                    l.open
                ));
            }
            if l.open > 0 {
                open += 1;
            }
        }
        if open != book.live_orders() {
            return Err(format!(
                "{open} orders open by the events, book has {} live",
                book.live_orders()
            ));
        }
        Ok(())
    }
}

// ------------------------------------------------------------------ the harness

/// Both books, the clock, the ledger and a log of the resolved commands.
pub struct Harness {
    pub cfg: BookConfig,
    pub book: Book,
    pub refb: ReferenceBook,
    pub now: u64,
    pub ledger: Ledger,
    pub log: Vec<(u64, Cmd)>,
}

fn lots(cfg: &BookConfig, n: u8) -> u64 {
    match n {
        u8::MAX => cfg.lot_size * 3 + 1,
        n => cfg.lot_size * u64::from(n),
    }
}

impl Harness {
    pub fn new(cfg: BookConfig) -> Harness {
        Harness {
            cfg,
            book: Book::new(INST, cfg).expect("valid config"),
            refb: ReferenceBook::new(INST, cfg),
            now: 0,
            ledger: Ledger::default(),
            log: Vec::new(),
        }
    }

    fn target(&self, t: Target) -> Option<OrderId> {
        match t {
            Target::Raw(id) => Some(OrderId(id)),
            Target::Live(k) => {
                let ids = self.refb.live_ids();
                if ids.is_empty() {
                    None
                } else {
                    Some(ids[usize::from(k) % ids.len()])
                }
            }
        }
    }

    fn owner(&self, id: OrderId, wrong: bool) -> AccountId {
        let a = self.refb.order(id).map_or(1, |o| o.account.0);
        AccountId(if wrong { a % 4 + 1 } else { a })
    }

    /// Turn a generated step into a concrete command (using the reference's state).
    pub fn resolve(&self, op: &Op) -> Option<Cmd> {
        let cfg = &self.cfg;
        Some(match *op {
            Op::New(s) => Cmd::New(NewOrder {
                order_id: OrderId(s.id),
                price: resolve_price(cfg, s.price),
                stop_price: resolve_price(cfg, s.stop_price),
                qty: Qty(lots(cfg, s.lots)),
                display_qty: Qty(cfg.lot_size * u64::from(s.display_lots)),
                expire_time: (self.now as i64 + i64::from(s.expire_in)).max(0) as u64,
                account: AccountId(s.account),
                instrument: INST,
                stp_group: s.stp_group,
                side: s.side,
                ord_type: s.ord_type,
                tif: s.tif,
                stp: s.stp,
                flags: OrderFlags::NONE,
            }),
            Op::Cancel {
                target,
                wrong_owner,
            } => {
                let id = self.target(target)?;
                Cmd::Cancel(CancelOrder {
                    order_id: id,
                    account: self.owner(id, wrong_owner),
                    instrument: INST,
                })
            }
            Op::Modify {
                target,
                wrong_owner,
                price,
                qty,
            } => {
                let id = self.target(target)?;
                let o = self.refb.order(id);
                let leaves = o.map_or(1, |o| o.leaves.0);
                let lot = cfg.lot_size;
                let nlots = (leaves / lot).max(1);
                let q = match qty {
                    QtyPick::Less(k) => lot * (1 + u64::from(k) % nlots),
                    QtyPick::Same => leaves,
                    QtyPick::More(k) => leaves + lot * (1 + u64::from(k) % 5),
                    QtyPick::Raw(q) => q,
                };
                let p = match price {
                    Some(p) => resolve_price(cfg, p),
                    None => o.map_or(Price(center(cfg)), |o| o.price),
                };
                Cmd::Modify(ModifyOrder {
                    order_id: id,
                    price: p,
                    qty: Qty(q),
                    account: self.owner(id, wrong_owner),
                    instrument: INST,
                })
            }
            Op::Mass(a) => Cmd::Mass(AccountId(a)),
            Op::MassLive(k) => Cmd::Mass(self.owner(self.target(Target::Live(k))?, false)),
            Op::Fill { target, frac } => {
                let id = self.target(target)?;
                let vis = self.refb.order(id).map_or(1, |o| o.visible.0.max(1));
                Cmd::Fill(id, Qty(u64::from(frac) % (vis + 2)))
            }
            Op::Reduce { target, frac } => {
                let id = self.target(target)?;
                let leaves = self.refb.order(id).map_or(1, |o| o.leaves.0.max(1));
                Cmd::Reduce(id, Qty(u64::from(frac) % (leaves + 2)))
            }
        })
    }

    /// Run one step on both books and compare everything.
    pub fn step(&mut self, s: &Step) -> Result<(), String> {
        self.now += u64::from(s.dt);
        let Some(cmd) = self.resolve(&s.op) else {
            return Ok(());
        };
        self.run(self.now, cmd)
    }

    /// Run one concrete command at `now` on both books (GTD expiry first) and compare.
    pub fn run(&mut self, now: u64, cmd: Cmd) -> Result<(), String> {
        self.now = now;
        self.log.push((now, cmd));
        let (mut eb, mut er) = (Vec::new(), Vec::new());
        self.book.expire(now, &mut eb);
        self.refb.expire(now, &mut er);
        if eb != er {
            return Err(diff("expire", now, &eb, &er));
        }
        for e in &er {
            self.ledger.apply(e)?;
        }
        let (mut eb, mut er) = (Vec::new(), Vec::new());
        let (rb, rr) = match cmd {
            Cmd::New(o) => {
                self.book.new_order(&o, now, &mut eb);
                self.refb.new_order(&o, now, &mut er);
                (true, true)
            }
            Cmd::Cancel(c) => {
                self.book.cancel(&c, now, &mut eb);
                self.refb.cancel(&c, now, &mut er);
                (true, true)
            }
            Cmd::Modify(m) => {
                self.book.modify(&m, now, &mut eb);
                self.refb.modify(&m, now, &mut er);
                (true, true)
            }
            Cmd::Mass(a) => {
                self.book.mass_cancel(a, now, &mut eb);
                self.refb.mass_cancel(a, now, &mut er);
                (true, true)
            }
            Cmd::Fill(id, q) => (
                self.book.fill_resting(id, q, now, &mut eb),
                self.refb.fill_resting(id, q, now, &mut er),
            ),
            Cmd::Reduce(id, q) => (
                self.book.reduce_resting(id, q, &mut eb),
                self.refb.reduce_resting(id, q, &mut er),
            ),
        };
        if eb != er || rb != rr {
            return Err(format!(
                "{}\n  returned: book {rb}, reference {rr}",
                diff(&format!("{cmd:?}"), now, &eb, &er)
            ));
        }
        for e in &er {
            self.ledger.apply(e)?;
        }
        self.compare()
            .map_err(|m| format!("after {cmd:?} at t={now}: {m}"))?;
        self.ledger.check(&self.book)
    }

    /// Compare every observable of the two books and check the invariants.
    pub fn compare(&mut self) -> Result<(), String> {
        let (b, r) = (&self.book, &self.refb);
        check_eq("best_bid", b.best_bid(), r.best_bid())?;
        check_eq("best_ask", b.best_ask(), r.best_ask())?;
        if let (Some(bid), Some(ask)) = (b.best_bid(), b.best_ask())
            && bid >= ask
        {
            return Err(format!("book crossed: bid {bid:?} >= ask {ask:?}"));
        }
        check_eq("live_orders", b.live_orders(), r.live_orders())?;
        check_eq(
            "last_trade_price",
            b.last_trade_price(),
            r.last_trade_price(),
        )?;
        check_eq("next_expiry", b.next_expiry(), r.next_expiry())?;
        for side in [Side::Buy, Side::Sell] {
            let mut levels = Vec::new();
            b.for_each_level(side, |l| levels.push((l.price, l.qty, l.orders)));
            let want: Vec<_> = r
                .depth(side)
                .iter()
                .map(|l| (l.price, l.qty, l.orders))
                .collect();
            check_eq(&format!("levels {side:?}"), &levels, &want)?;
            let mut buf = [LevelView {
                price: Price(0),
                qty: Qty(0),
                orders: 0,
            }; 80];
            let n = b.depth(side, &mut buf);
            let got: Vec<_> = buf[..n]
                .iter()
                .map(|l| (l.price, l.qty, l.orders))
                .collect();
            check_eq(
                &format!("depth {side:?}"),
                &got[..],
                &want[..want.len().min(80)],
            )?;
            let mut short = [LevelView {
                price: Price(0),
                qty: Qty(0),
                orders: 0,
            }; 2];
            let n = b.depth(side, &mut short);
            check_eq(&format!("depth(2) {side:?}"), n, want.len().min(2))?;
            for (price, qty, orders) in &want {
                if qty.0 == 0 || *orders == 0 {
                    return Err(format!(
                        "empty level listed: {side:?} {price:?} {qty:?} {orders}"
                    ));
                }
                let l = b.level(side, *price).map(|l| (l.price, l.qty, l.orders));
                check_eq(
                    &format!("level({side:?}, {price:?})"),
                    l,
                    Some((*price, *qty, *orders)),
                )?;
                let mut got = Vec::new();
                b.for_each_order_in_level(side, *price, |o| {
                    got.push((o.order_id, o.visible, o.leaves))
                });
                let want: Vec<_> = r
                    .orders_in_level(side, *price)
                    .iter()
                    .map(|o| (o.order_id, o.visible, o.leaves))
                    .collect();
                check_eq(&format!("queue {side:?} {price:?}"), &got, &want)?;
            }
        }
        // Queries at prices where no level can be: outside the range, off the tick grid.
        let t = self.cfg.tick_size;
        let odd = [
            i64::MIN,
            -t,
            0,
            1,
            center(&self.cfg) + 1,
            self.cfg.max_price.0 + t,
            i64::MAX,
        ];
        for side in [Side::Buy, Side::Sell] {
            for p in odd {
                let got = b.level(side, Price(p)).map(|l| (l.price, l.qty, l.orders));
                let want = r.level(side, Price(p)).map(|l| (l.price, l.qty, l.orders));
                check_eq(&format!("level({side:?}, {p})"), got, want)?;
                let mut n = 0;
                b.for_each_order_in_level(side, Price(p), |_| n += 1);
                check_eq(
                    &format!("orders in level({side:?}, {p})"),
                    n,
                    r.orders_in_level(side, Price(p)).len(),
                )?;
            }
        }
        for id in [OrderId(0), OrderId(u64::MAX), OrderId(41)] {
            check_eq(
                &format!("order({id}) exists"),
                b.order(id).is_some(),
                r.order(id).is_some(),
            )?;
            check_eq(
                &format!("is_head_of_level({id})"),
                b.is_head_of_level(id),
                r.is_head_of_level(id),
            )?;
        }
        for id in r.live_ids() {
            let ro = r.order(id).expect("live");
            let Some(bo) = b.order(id) else {
                return Err(format!("order {id} missing from book"));
            };
            let key =
                |side, account, leaves, visible, is_stop| (side, account, leaves, visible, is_stop);
            check_eq(
                &format!("order({id})"),
                key(bo.side, bo.account, bo.leaves, bo.visible, bo.is_stop),
                key(ro.side, ro.account, ro.leaves, ro.visible, ro.is_stop),
            )?;
            check_eq(&format!("order({id}).price"), bo.price, ro.price)?;
            if ro.is_stop {
                check_eq(
                    &format!("order({id}).stop_price"),
                    bo.stop_price,
                    ro.stop_price,
                )?;
            }
            check_eq(
                &format!("is_head_of_level({id})"),
                b.is_head_of_level(id),
                r.is_head_of_level(id),
            )?;
        }
        Ok(())
    }
}

fn check_eq<T: PartialEq + std::fmt::Debug>(
    what: &str,
    book: T,
    reference: T,
) -> Result<(), String> {
    if book == reference {
        Ok(())
    } else {
        Err(format!("{what}: book {book:?}, reference {reference:?}"))
    }
}

fn diff(what: &str, now: u64, book: &[EventKind], reference: &[EventKind]) -> String {
    let mut s = format!("events differ for {what} at t={now}\n  book:\n");
    for e in book {
        let _ = writeln!(s, "    {e:?}");
    }
    s.push_str("  reference:\n");
    for e in reference {
        let _ = writeln!(s, "    {e:?}");
    }
    s
}

/// Run a generated stream; `Err` carries the first disagreement (a `Book` panic counts).
pub fn run_stream(cfg: BookConfig, steps: &[Step]) -> Result<Harness, (String, Vec<(u64, Cmd)>)> {
    let mut h = Harness::new(cfg);
    for s in steps {
        let r = catch_unwind(AssertUnwindSafe(|| h.step(s)))
            .unwrap_or_else(|p| Err(format!("panic: {}", panic_text(&p))));
        if let Err(m) = r {
            return Err((m, h.log.clone()));
        }
    }
    Ok(h)
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_default()
}

/// Run concrete commands; `Err` carries the first disagreement.
pub fn run_cmds(cfg: BookConfig, cmds: &[(u64, Cmd)]) -> Result<(), String> {
    let mut h = Harness::new(cfg);
    for &(now, c) in cmds {
        catch_unwind(AssertUnwindSafe(|| h.run(now, c)))
            .unwrap_or_else(|p| Err(format!("panic: {}", panic_text(&p))))?;
    }
    Ok(())
}

/// Greedy minimisation of a failing concrete command list (drop chunks while it still fails).
pub fn minimize(cfg: BookConfig, mut cmds: Vec<(u64, Cmd)>) -> Vec<(u64, Cmd)> {
    let mut chunk = cmds.len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        while i < cmds.len() {
            let mut trial = cmds.clone();
            trial.drain(i..(i + chunk).min(trial.len()));
            if run_cmds(cfg, &trial).is_err() {
                cmds = trial;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    cmds
}
