//! Snapshots: an engine restored from a snapshot taken at any point behaves exactly like the
//! engine it was taken from — same events byte for byte, same state hash, same snapshot bytes —
//! over random mixed command streams with the risk layer on; a damaged snapshot is refused.

use ferrex_engine::{BookConfig, Engine, EngineConfig, SnapshotError, SnapshotInfo};
use ferrex_risk::{Risk, RiskConfig};
use ferrex_types::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const RISK: &str = r#"
max_orders = 512
[[instruments]]
id = 0
max_order_qty = 60
price_band = { ticks = 20 }
reference_price = 100
velocity = { max_move_ticks = 14, window_ns = 300, halt_ns = 200 }
[[instruments]]
id = 1
tick_size = 2
lot_size = 1
min_price = 2
max_price = 1000
reference_price = 100
price_band = { bps = 1500 }
[[accounts]]
id = 1
credit_limit = 40000
max_open_orders = 12
max_long = 150
max_short = 150
mmp = { window_ns = 300, max_qty = 25, max_count = 4, freeze_ns = 200 }
[[accounts]]
id = 2
max_open_orders = 20
throttle = { rate = 6, window_ns = 100, halt_threshold = 9, halt_ns = 150 }
[[accounts]]
id = 3
mmp = { window_ns = 500, max_qty = 40, freeze_ns = 0 }
[[accounts]]
id = 4
max_open_orders_per_instrument = 6
max_order_notional = 5000
"#;

/// Small dense windows so that outlying prices use (and fill) the sparse fallback.
fn book_cfg(sparse: u32) -> BookConfig {
    BookConfig {
        max_orders: 256,
        dense_levels: 8,
        sparse_levels: sparse,
        level_events: true,
        market_protection_ticks: 15,
        ..BookConfig::default()
    }
}

fn engine_cfg() -> EngineConfig {
    EngineConfig {
        instruments: vec![book_cfg(64), book_cfg(3)],
    }
}

fn engine(with_risk: bool) -> Engine {
    if with_risk {
        let r = Risk::new(&RiskConfig::from_toml_str(RISK).unwrap()).unwrap();
        Engine::with_risk(engine_cfg(), r).unwrap()
    } else {
        Engine::new(engine_cfg()).unwrap()
    }
}

/// One random command, before order ids are resolved against the ones issued so far.
#[derive(Debug, Clone)]
enum Op {
    New {
        account: u32,
        instrument: u32,
        buy: bool,
        ty: u8,
        tif: u8,
        price: i64,
        stop_off: i64,
        qty: u64,
        display: u64,
        ttl: u64,
        stp: u8,
        group: u32,
        flags: u8,
    },
    Cancel {
        pick: usize,
        owner: bool,
    },
    Modify {
        pick: usize,
        dprice: i64,
        qty: u64,
    },
    MassCancel {
        account: u32,
        instrument: Option<u32>,
    },
    Risk(u8, u32, i64),
}

fn op() -> impl Strategy<Value = Op> {
    let new = (
        (
            prop_oneof![12 => 1u32..=4, 1 => Just(5u32)],
            0u32..2,
            any::<bool>(),
            0u8..10,
            0u8..10,
        ),
        (92i64..=108, 1i64..6, 1u64..=30, 0u64..4, 1u64..400),
        (
            0u8..5,
            0u32..3,
            prop_oneof![6 => Just(0u8), 3 => Just(2u8), 1 => Just(1u8)],
        ),
    )
        .prop_map(
            |(
                (account, instrument, buy, ty, tif),
                (price, stop_off, qty, display, ttl),
                (stp, group, flags),
            )| Op::New {
                account,
                instrument,
                buy,
                ty,
                tif,
                price,
                stop_off,
                qty,
                display,
                ttl,
                stp,
                group,
                flags,
            },
        );
    prop_oneof![
        16 => new,
        3 => (any::<usize>(), prop::bool::weighted(0.9))
            .prop_map(|(pick, owner)| Op::Cancel { pick, owner }),
        5 => (any::<usize>(), -4i64..=4, 1u64..=30)
            .prop_map(|(pick, dprice, qty)| Op::Modify { pick, dprice, qty }),
        1 => (1u32..=4, prop::option::of(0u32..2))
            .prop_map(|(account, instrument)| Op::MassCancel { account, instrument }),
        2 => (0u8..20, 0u32..=5, -5i64..200).prop_map(|(k, a, v)| Op::Risk(k, a, v)),
    ]
}

/// Turns ops into commands with increasing times; ids are issued in order and cancels and
/// modifies name earlier ids (live or not).
fn commands(ops: &[(Op, u64)]) -> Vec<Command> {
    let mut issued: Vec<(u64, u32, u32, i64)> = Vec::new();
    let mut t = 1_000u64;
    let mut out = Vec::with_capacity(ops.len());
    for (op, dt) in ops {
        t += dt;
        let kind = match *op {
            Op::New {
                account,
                instrument,
                buy,
                ty,
                tif,
                price,
                stop_off,
                qty,
                display,
                ttl,
                stp,
                group,
                flags,
            } => {
                let id = issued.len() as u64 + 1;
                let tick = if instrument == 1 { 2 } else { 1 };
                let price = price * tick;
                let side = if buy { Side::Buy } else { Side::Sell };
                let ord_type = match ty {
                    0..=5 => OrdType::Limit,
                    6 => OrdType::Market,
                    7 => OrdType::Stop,
                    _ => OrdType::StopLimit,
                };
                let tif = match tif {
                    0..=3 => TimeInForce::Gtc,
                    4 => TimeInForce::Ioc,
                    5 => TimeInForce::Fok,
                    6 | 7 => TimeInForce::Gtd,
                    _ => TimeInForce::PostOnly,
                };
                let stop = if buy {
                    price + stop_off * tick
                } else {
                    price - stop_off * tick
                };
                issued.push((id, account, instrument, price));
                CommandKind::New(NewOrder {
                    order_id: OrderId(id),
                    account: AccountId(account),
                    instrument: InstrumentId(instrument),
                    side,
                    ord_type,
                    tif,
                    price: Price(if ord_type == OrdType::Stop { 0 } else { price }),
                    stop_price: Price(if matches!(ord_type, OrdType::Stop | OrdType::StopLimit) {
                        stop
                    } else {
                        0
                    }),
                    qty: Qty(qty),
                    display_qty: Qty(if display == 0 { 0 } else { display.min(qty) }),
                    expire_time: t + ttl,
                    stp: match stp {
                        0 => StpMode::CancelResting,
                        1 => StpMode::CancelAggressor,
                        2 => StpMode::CancelBoth,
                        3 => StpMode::DecrementAndCancel,
                        _ => StpMode::None,
                    },
                    stp_group: group,
                    flags: OrderFlags(flags),
                })
            }
            Op::Cancel { pick, owner } if !issued.is_empty() => {
                let (id, a, i, _) = recent(&issued, pick);
                CommandKind::Cancel(CancelOrder {
                    order_id: OrderId(id),
                    account: AccountId(if owner { a } else { a % 4 + 1 }),
                    instrument: InstrumentId(i),
                })
            }
            Op::Modify { pick, dprice, qty } if !issued.is_empty() => {
                let (id, a, i, p) = recent(&issued, pick);
                let tick = if i == 1 { 2 } else { 1 };
                CommandKind::Modify(ModifyOrder {
                    order_id: OrderId(id),
                    account: AccountId(a),
                    instrument: InstrumentId(i),
                    price: Price(p + dprice * tick),
                    qty: Qty(qty),
                })
            }
            Op::MassCancel {
                account,
                instrument,
            } => CommandKind::MassCancel(MassCancel {
                account: AccountId(account),
                instrument: instrument.map(InstrumentId),
            }),
            Op::Risk(k, a, v) => {
                let account = AccountId(a);
                let instrument = InstrumentId(a % 2);
                let state = match v.rem_euclid(10) {
                    0 => TradingState::Reducing,
                    1 => TradingState::Halted,
                    _ => TradingState::Active,
                };
                CommandKind::Risk(match k {
                    0 if v % 3 == 0 => RiskControl::Kill { account },
                    0 => RiskControl::SetAccountState {
                        account,
                        state: TradingState::Active,
                    },
                    1..=4 => RiskControl::SetAccountState { account, state },
                    5..=7 => RiskControl::SetInstrumentState { instrument, state },
                    8 | 9 => RiskControl::SetReferencePrice {
                        instrument,
                        price: Price(v),
                    },
                    10 | 11 => RiskControl::ResetMmp { account },
                    _ => RiskControl::SetLimit(SetLimit {
                        kind: match v.rem_euclid(10) {
                            0 => LimitKind::MaxOrderQty,
                            1 => LimitKind::MaxOrderNotional,
                            2 => LimitKind::CreditLimit,
                            3 => LimitKind::MaxLong,
                            4 => LimitKind::MaxShort,
                            5 => LimitKind::MaxOpenOrders,
                            6 => LimitKind::ThrottleRate,
                            7 => LimitKind::MaxOpenOrdersPerInstrument,
                            _ => LimitKind::PriceBand,
                        },
                        value: match (v.rem_euclid(10), instrument.0) {
                            _ if v < 0 => v,
                            (1 | 2, _) => 2_000 * (v + 10),
                            (8 | 9, 0) => 5 + v % 30,
                            (8 | 9, _) => 400 + 10 * v,
                            _ => 20 + v * 37 % 400,
                        },
                        account,
                        instrument,
                    }),
                })
            }
            _ => continue,
        };
        out.push(Command::new(t, kind));
    }
    out
}

/// One of the 12 most recently issued orders.
fn recent(issued: &[(u64, u32, u32, i64)], pick: usize) -> (u64, u32, u32, i64) {
    issued[issued.len() - 1 - pick % issued.len().min(12)]
}

fn snapshot_of(e: &Engine) -> Vec<u8> {
    let mut v = Vec::new();
    e.snapshot(&mut v);
    v
}

/// Runs `cmds[..cut]` on one engine, snapshots it, restores a second engine from the bytes,
/// runs `cmds[cut..]` on both and compares everything observable.
fn check_resume(with_risk: bool, cmds: &[Command], cut: usize) -> Result<(), TestCaseError> {
    let mut a = engine(with_risk);
    let mut ev_a: Vec<Event> = Vec::new();
    for c in &cmds[..cut] {
        a.process(c, &mut ev_a);
    }
    let snap = snapshot_of(&a);
    let info = SnapshotInfo::parse(&snap).unwrap();
    prop_assert_eq!(info.cmd_seq, cut as u64);
    prop_assert_eq!(info.event_seq, ev_a.len() as u64);
    prop_assert_eq!(info.has_risk, with_risk);

    // Restore into a fresh engine and into one that already has a different history.
    let mut b = engine(with_risk);
    b.restore_from(&snap).unwrap();
    let mut c = engine(with_risk);
    let mut scratch: Vec<Event> = Vec::new();
    for cmd in cmds.iter().rev().take(20) {
        c.process(cmd, &mut scratch);
    }
    c.restore_from(&snap).unwrap();
    prop_assert_eq!(b.state_hash(), a.state_hash());
    prop_assert_eq!(b.cmd_seq(), a.cmd_seq());
    prop_assert_eq!(b.time(), a.time());
    prop_assert!(
        snapshot_of(&b) == snap,
        "restored engine snapshots differently"
    );

    let (mut ea, mut eb, mut ec) = (Vec::new(), Vec::new(), Vec::new());
    for cmd in &cmds[cut..] {
        a.process(cmd, &mut ea);
        b.process(cmd, &mut eb);
        c.process(cmd, &mut ec);
    }
    prop_assert_eq!(&ea, &eb, "events after the snapshot differ");
    prop_assert_eq!(&ea, &ec, "events differ after restoring over a used engine");
    prop_assert_eq!(a.state_hash(), b.state_hash());
    prop_assert_eq!(a.state_hash(), c.state_hash());
    if let (Some(ra), Some(rb)) = (a.risk(), b.risk()) {
        for acct in 1..=5 {
            let acct = AccountId(acct);
            prop_assert_eq!(ra.exposure(acct), rb.exposure(acct));
            prop_assert_eq!(ra.open_orders(acct), rb.open_orders(acct));
            for i in 0..2 {
                prop_assert_eq!(
                    ra.position(acct, InstrumentId(i)),
                    rb.position(acct, InstrumentId(i))
                );
            }
        }
    }
    // The whole logical state (risk tables included) is equal: same snapshot bytes.
    prop_assert!(snapshot_of(&a) == snapshot_of(&b), "final states differ");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn restored_engine_continues_identically(
        ops in prop::collection::vec((op(), prop_oneof![3 => 0u64..5, 2 => 5u64..60, 1 => 60u64..400]), 1..260),
        cut in any::<prop::sample::Index>(),
        with_risk in prop::bool::weighted(0.85),
    ) {
        let cmds = commands(&ops);
        if cmds.is_empty() {
            return Ok(());
        }
        let cut = cut.index(cmds.len() + 1);
        check_resume(with_risk, &cmds, cut)?;
    }
}

/// A long deterministic stream (many resting orders, stops, icebergs, GTD orders) cut at
/// several points.
#[test]
fn long_stream_resumes_at_every_cut() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let ops = prop::collection::vec((op(), 0u64..40), 1500)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let cmds = commands(&ops);
    for cut in [
        0,
        1,
        cmds.len() / 3,
        cmds.len() / 2,
        cmds.len() - 1,
        cmds.len(),
    ] {
        check_resume(true, &cmds, cut).unwrap();
    }
    // The stream really exercised the interesting state.
    let mut e = engine(true);
    let mut ev: Vec<Event> = Vec::new();
    let mut sparse = 0;
    for c in &cmds {
        e.process(c, &mut ev);
        for b in e.books() {
            sparse = sparse.max(b.sparse_levels_used(Side::Buy) + b.sparse_levels_used(Side::Sell));
        }
    }
    assert!(sparse > 0, "the sparse fallback was used");
    let count = |f: fn(&EventKind) -> bool| ev.iter().filter(|x| f(&x.kind)).count();
    assert!(count(|k| matches!(k, EventKind::Trade { .. })) > 50);
    assert!(count(|k| matches!(k, EventKind::Triggered { .. })) > 0);
    assert!(count(|k| matches!(k, EventKind::Expired { .. })) > 0);
    assert!(count(|k| matches!(k, EventKind::AccountState { .. })) > 0);
}

fn busy_engine() -> (Engine, Vec<Command>) {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let ops = prop::collection::vec((op(), 0u64..40), 300)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let cmds = commands(&ops);
    let mut e = engine(true);
    let mut ev: Vec<Event> = Vec::new();
    e.process_all(&cmds, &mut ev);
    (e, cmds)
}

#[test]
fn corrupted_snapshots_are_refused_with_a_clear_error() {
    let (e, _) = busy_engine();
    let snap = snapshot_of(&e);
    let before = e.state_hash();

    // A flipped byte anywhere: CRC mismatch (or bad magic/version in the header), never a
    // panic, and the target engine is untouched.
    let mut target = engine(true);
    let fresh = target.state_hash();
    for at in (0..snap.len()).step_by(snap.len() / 97 + 1) {
        let mut bad = snap.clone();
        bad[at] ^= 0x5a;
        let err = target.restore_from(&bad).unwrap_err();
        let msg = err.to_string();
        match err {
            SnapshotError::Crc { offset, .. } => {
                assert_eq!(offset, snap.len() - 4);
                assert!(msg.contains("CRC32C mismatch"), "{msg}");
            }
            SnapshotError::BadMagic { .. } => assert!(at < 8, "{msg}"),
            SnapshotError::BadVersion { found } => {
                assert!((8..12).contains(&at));
                assert!(msg.contains(&format!("version {found}")), "{msg}");
            }
            other => panic!("byte {at}: unexpected error {other}"),
        }
        assert_eq!(target.state_hash(), fresh);
    }
    // Truncated.
    for len in [0, 7, 40, snap.len() / 2, snap.len() - 1] {
        let err = target.restore_from(&snap[..len]).unwrap_err();
        assert!(
            matches!(
                err,
                SnapshotError::Truncated { .. } | SnapshotError::Crc { .. }
            ),
            "len {len}: {err}"
        );
    }
    // Another configuration.
    let mut other = Engine::new(EngineConfig::single(book_cfg(64))).unwrap();
    let err = other.restore_from(&snap).unwrap_err();
    assert!(matches!(err, SnapshotError::ConfigMismatch { .. }), "{err}");
    assert!(err.to_string().contains("configuration mismatch"), "{err}");

    // Valid CRC but inconsistent contents (a re-sealed edit): a decode error naming the
    // section, never a panic.
    let mut bad = snap.clone();
    let body_at = 64 + 13; // first section's contents: instrument id of book 0
    bad[body_at] = 9;
    let n = bad.len() - 4;
    let crc = crc32c::crc32c(&bad[..n]);
    bad[n..].copy_from_slice(&crc.to_le_bytes());
    let err = target.restore_from(&bad).unwrap_err();
    assert!(
        matches!(err, SnapshotError::Book { instrument: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("instrument"), "{err}");
    assert_eq!(target.state_hash(), fresh);

    // The good snapshot still restores.
    target.restore_from(&snap).unwrap();
    assert_eq!(target.state_hash(), before);
}

/// Re-sealed random garbage in every position of the body decodes to an error or to a valid
/// engine — never a panic, including when the restored engine processes more commands.
#[test]
fn resealed_mutations_never_panic() {
    let (e, cmds) = busy_engine();
    let snap = snapshot_of(&e);
    let mut target = engine(true);
    let mut rng = 0x1234_5678_9abc_def0u64;
    for _ in 0..400 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut bad = snap.clone();
        let at = 64 + (rng as usize % (snap.len() - 68));
        bad[at] = (rng >> 32) as u8;
        let n = bad.len() - 4;
        let crc = crc32c::crc32c(&bad[..n]);
        bad[n..].copy_from_slice(&crc.to_le_bytes());
        if target.restore_from(&bad).is_ok() {
            let mut ev: Vec<Event> = Vec::new();
            target.process_all(&cmds[..50], &mut ev);
        }
    }
}
