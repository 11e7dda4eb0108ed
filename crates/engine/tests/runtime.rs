//! The threaded runtime: routing, back-pressure, fairness, shutdown, floor probe.

use ferrex_engine::{
    BookConfig, Engine, EngineConfig, PinStatus, Runtime, RuntimeConfig, SubmitError,
};
use ferrex_types::*;
use std::time::{Duration, Instant};

fn engine() -> Engine {
    Engine::new(EngineConfig::single(BookConfig {
        max_orders: 4096,
        dense_levels: 256,
        level_events: true,
        ..BookConfig::default()
    }))
    .unwrap()
}

fn order(id: u64, account: u32, side: Side, price: i64, qty: u64) -> Command {
    Command::new(
        id,
        CommandKind::New(NewOrder {
            order_id: OrderId(id),
            account: AccountId(account),
            side,
            price: Price(price),
            qty: Qty(qty),
            ..NewOrder::default()
        }),
    )
}

fn unpinned(cap: usize) -> RuntimeConfig {
    RuntimeConfig {
        engine_core: None,
        ring_capacity: cap,
        md_capacity: 0,
        batch: 4,
        max_accounts: 64,
        journal: None,
    }
}

fn wait_events(s: &mut ferrex_engine::Session, n: usize) -> Vec<Event> {
    let t0 = Instant::now();
    let mut out = Vec::new();
    while out.len() < n {
        if let Some(e) = s.poll() {
            out.push(e);
        } else if t0.elapsed() > Duration::from_secs(10) {
            panic!("only {} of {n} events after 10 s: {out:?}", out.len());
        } else {
            std::thread::yield_now();
        }
    }
    out
}

#[test]
fn reports_go_to_the_sender_and_fills_to_the_maker() {
    let cfg = RuntimeConfig {
        md_capacity: 1024,
        ..unpinned(64)
    };
    let (rt, mut sessions, md) = Runtime::start(engine(), 2, &cfg).unwrap();
    assert_eq!(rt.pin_status(), Some(PinStatus::NotRequested));
    let mut md = md.expect("md ring asked for");
    let (a, b) = sessions.split_at_mut(1);
    let (a, b) = (&mut a[0], &mut b[0]);
    a.submit(order(1, 1, Side::Sell, 100, 10)).unwrap();
    let ev = wait_events(a, 2); // accepted + level
    assert!(matches!(
        ev[0].kind,
        EventKind::Accepted {
            order_id: OrderId(1),
            ..
        }
    ));
    b.submit(order(2, 2, Side::Buy, 100, 4)).unwrap();
    let ev_b = wait_events(b, 3); // accepted, trade, level
    assert!(matches!(
        ev_b[0].kind,
        EventKind::Accepted {
            order_id: OrderId(2),
            ..
        }
    ));
    assert!(matches!(
        ev_b[1].kind,
        EventKind::Trade {
            maker_order_id: OrderId(1),
            qty: Qty(4),
            ..
        }
    ));
    // The maker's session gets the fill too.
    let ev_a = wait_events(a, 1);
    assert!(
        matches!(
            ev_a[0].kind,
            EventKind::Trade {
                maker_order_id: OrderId(1),
                ..
            }
        ),
        "{ev_a:?}"
    );
    drop(sessions);
    let (engine, report) = rt.stop();
    assert_eq!(report.commands, 2);
    assert_eq!(engine.cmd_seq(), 2);
    // Market data: the maker's accept and level add, the taker's accept, the trade and the level
    // change (the taker is filled, so it never rests).
    let mut mdv = Vec::new();
    while let Some(e) = md.try_pop() {
        mdv.push(e.kind.type_name());
    }
    assert_eq!(mdv, vec!["accepted", "level", "accepted", "trade", "level"]);
}

#[test]
fn full_rings_push_back_and_nothing_is_lost() {
    // Tiny rings: the session does not read its events, so the outbound ring fills, the engine
    // stalls, then the inbound ring fills and submit says Full.
    let (rt, mut sessions, _md) = Runtime::start(engine(), 1, &unpinned(4)).unwrap();
    let s = &mut sessions[0];
    let mut sent = 0u64;
    let mut full = None;
    for id in 1..=1000u64 {
        match s.submit(order(id, 1, Side::Buy, 50 + (id % 10) as i64, 1)) {
            Ok(()) => sent += 1,
            Err(SubmitError::Full(c)) => {
                full = Some(c);
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let back = full.expect("the inbound ring must fill");
    assert!(matches!(back.kind, CommandKind::New(o) if o.order_id == OrderId(sent + 1)));
    // Drain: every command sent gets its Accepted (level events off for the count: 2 each).
    let ev = wait_events(s, (sent * 2) as usize);
    let accepted = ev
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Accepted { .. }))
        .count() as u64;
    assert_eq!(accepted, sent);
    drop(sessions);
    let (_e, report) = rt.stop();
    assert!(report.outbound_stalls > 0, "{report:?}");
    assert_eq!(report.commands, sent);
}

#[test]
fn one_busy_producer_does_not_starve_another() {
    let (rt, mut sessions, _md) = Runtime::start(engine(), 2, &unpinned(1024)).unwrap();
    // Session 0 floods; session 1 sends one order; it must be processed before session 0's
    // flood is done (round-robin, batch 4).
    let flood: Vec<Command> = (1..=1000)
        .map(|i| order(i, 1, Side::Buy, 10 + (i % 50) as i64, 1))
        .collect();
    let (a, b) = sessions.split_at_mut(1);
    let n = a[0].submit_batch(&flood);
    assert_eq!(n, 1000);
    b[0].submit(order(5000, 2, Side::Sell, 500, 1)).unwrap();
    let ev = wait_events(&mut b[0], 1);
    let pos = ev[0].cmd_seq;
    assert!(pos < 1000, "session 1's order was sequenced at {pos}");
    drop(sessions);
    let (_e, report) = rt.stop();
    assert_eq!(report.commands, 1001);
}

#[test]
fn floor_probe_answers_and_stop_joins() {
    let (rt, mut sessions, _md) = Runtime::start(engine(), 1, &unpinned(64)).unwrap();
    let f = sessions[0]
        .floor_rtt_ns(200)
        .expect("engine answers the probe");
    assert!(f > 0.0 && f < 1e8, "{f}");
    // Still processes commands after the probe.
    sessions[0].submit(order(1, 1, Side::Buy, 10, 1)).unwrap();
    let ev = wait_events(&mut sessions[0], 1);
    assert!(matches!(ev[0].kind, EventKind::Accepted { .. }));
    drop(sessions);
    let (_e, report) = rt.stop();
    assert_eq!(report.commands, 1);
}

#[test]
fn a_missing_core_runs_unpinned_and_says_so() {
    let cfg = RuntimeConfig {
        engine_core: Some(100_000),
        ..unpinned(64)
    };
    let (rt, sessions, _md) = Runtime::start(engine(), 1, &cfg).unwrap();
    assert_eq!(rt.pin_status(), Some(PinStatus::Unavailable(100_000)));
    drop(sessions);
    let (_e, report) = rt.stop();
    assert_eq!(report.pin, Some(PinStatus::Unavailable(100_000)));
}

#[test]
fn bursts_deliver_exactly_the_engines_events_in_order() {
    // Bursts of 37 commands against turns of 16: in each turn the first command's events are
    // pushed as emitted and the rest staged, and the 64-slot event ring fills (the engine
    // stalls) unless the session keeps reading. The session must see exactly what the engine
    // alone produces for the same commands, in the same order.
    let cmds: Vec<Command> = (1..=3000u64)
        .map(|i| {
            let side = if i % 3 == 0 { Side::Sell } else { Side::Buy };
            let price = 100 + (i % 7) as i64 - if side == Side::Sell { 4 } else { 0 };
            order(i, 1 + (i % 5) as u32, side, price, 1 + i % 4)
        })
        .collect();
    let mut reference = Vec::new();
    let mut solo = engine();
    for c in &cmds {
        solo.process(c, &mut reference);
    }
    let mut cfg = unpinned(64);
    cfg.batch = 16;
    let (rt, mut sessions, _md) = Runtime::start(engine(), 1, &cfg).unwrap();
    let s = &mut sessions[0];
    let mut got: Vec<Event> = Vec::with_capacity(reference.len());
    let mut buf = [reference[0]; 32];
    let mut rest = &cmds[..];
    let t0 = Instant::now();
    while got.len() < reference.len() {
        if !rest.is_empty() {
            let n = s.submit_batch(&rest[..rest.len().min(37)]);
            rest = &rest[n..];
        }
        let n = s.poll_batch(&mut buf);
        got.extend_from_slice(&buf[..n]);
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "stuck at {}",
            got.len()
        );
    }
    assert_eq!(got.len(), reference.len());
    assert!(got == reference, "events differ from the engine's own");
    drop(sessions);
    let (_e, report) = rt.stop();
    assert_eq!(report.commands, cmds.len() as u64);
    assert_eq!(report.events, reference.len() as u64);
}
