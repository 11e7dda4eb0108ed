//! Round trip of the market-data feed: a seeded mixed command stream runs through the engine,
//! its events through `MdFeed` (ITCH 5.0 in MoldUDP64 over loopback UDP), a receiver puts the
//! packets back in sequence (filling gaps through the TCP retransmit server), writes the
//! messages as an ITCH BinaryFILE, and ferrex's own ITCH replay rebuilds books from it that must
//! equal the engine's books: same levels, same orders in the same queue order, same visible
//! quantities (compared with `md::book_hash`; `Book::state_hash` also covers accounts, hidden
//! iceberg lots and pending stops, which no public feed carries).

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferrex_engine::{BookConfig, Engine, EngineConfig};
use ferrex_gateway::md::book_hash::{visible_book, visible_book_hash};
use ferrex_gateway::md::capture::Capture;
use ferrex_gateway::md::mold::{self, PacketKind, Reassembler, Request};
use ferrex_gateway::md::{
    EncoderConfig, InstrumentSpec, ItchEncoder, MdConfig, MdFeed, RetransmitClient,
};
use ferrex_replay::itch_replay::{ItchReplay, ItchReplayConfig};
use ferrex_risk::{Risk, RiskConfig};
use ferrex_types::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const INSTRUMENTS: u32 = 3;
/// ITCH price units per engine tick: the replay's default book has 100-unit (one cent) ticks.
const UNITS_PER_TICK: u32 = 100;
const COMMANDS: usize = 8_000;
const TIMEOUT: Duration = Duration::from_secs(20);
/// After the sender is done, the receiver stops once no data packet has come for this long.
const QUIET: Duration = Duration::from_millis(500);

fn book_config() -> BookConfig {
    BookConfig {
        tick_size: 1,
        lot_size: 1,
        min_price: Price(1),
        max_price: Price(1_000_000),
        max_orders: 1 << 14,
        max_special_orders: 1 << 15,
        max_accounts: 1 << 14,
        dense_levels: 1 << 12,
        sparse_levels: 1024,
        anchor: None,
        market_protection_ticks: 50,
        level_events: true,
    }
}

/// `n` seeded commands over every order type and instrument; cancels and modifies name recent
/// ids (some already gone: those become rejects).
fn commands(n: usize, seed: u64) -> Vec<Command> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    let mut recent: Vec<(u64, u32, u32, i64)> = Vec::new(); // id, account, instrument, price
    let mut next_id = 1u64;
    let mut time = 34_200_000_000_000u64; // 09:30
    let mut mids = [1_000i64; INSTRUMENTS as usize];
    for _ in 0..n {
        time += rng.random_range(1..2_000);
        let inst = rng.random_range(0..INSTRUMENTS);
        let mid = &mut mids[inst as usize];
        if rng.random_ratio(1, 40) {
            *mid = (*mid + rng.random_range(-3..=3)).clamp(900, 1_100);
        }
        let mid = *mid;
        let account = rng.random_range(1..=8u32);
        let r = rng.random_range(0..100u32);
        let kind = if r < 55 || recent.is_empty() {
            let side = if rng.random_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let off = rng.random_range(0..15i64);
            let mut price = match side {
                Side::Buy => mid - off,
                Side::Sell => mid + off,
            };
            if rng.random_ratio(1, 5) {
                price += if side == Side::Buy { 12 } else { -12 }; // crossing
            }
            let (ord_type, tif) = match rng.random_range(0..100u32) {
                0..=57 => (OrdType::Limit, TimeInForce::Gtc),
                58..=67 => (OrdType::Limit, TimeInForce::Ioc),
                68..=71 => (OrdType::Limit, TimeInForce::Fok),
                72..=76 => (OrdType::Limit, TimeInForce::PostOnly),
                77..=82 => (OrdType::Limit, TimeInForce::Gtd),
                83..=88 => (OrdType::Market, TimeInForce::Ioc),
                89..=93 => (OrdType::Stop, TimeInForce::Gtc),
                _ => (OrdType::StopLimit, TimeInForce::Gtc),
            };
            let stop_price = match side {
                Side::Buy => mid + rng.random_range(1..20),
                Side::Sell => mid - rng.random_range(1..20),
            };
            let qty = rng.random_range(1..=30u64) * 10;
            let display_qty = if rng.random_ratio(1, 6) && qty > 10 {
                rng.random_range(1..qty / 10) * 10
            } else {
                0
            };
            let stp = match rng.random_range(0..10u32) {
                0 => StpMode::CancelAggressor,
                1 => StpMode::CancelBoth,
                2 => StpMode::DecrementAndCancel,
                3..=5 => StpMode::None,
                _ => StpMode::CancelResting,
            };
            let id = next_id;
            next_id += 1;
            recent.push((id, account, inst, price));
            if recent.len() > 300 {
                recent.remove(0);
            }
            CommandKind::New(NewOrder {
                order_id: OrderId(id),
                price: Price(price),
                stop_price: Price(stop_price),
                qty: Qty(qty),
                display_qty: Qty(display_qty),
                expire_time: time + rng.random_range(1_000..2_000_000),
                account: AccountId(account),
                instrument: InstrumentId(inst),
                side,
                ord_type,
                tif,
                stp,
                ..NewOrder::default()
            })
        } else if r < 75 {
            let (id, acct, inst, _) = recent[rng.random_range(0..recent.len())];
            CommandKind::Cancel(CancelOrder {
                order_id: OrderId(id),
                account: AccountId(acct),
                instrument: InstrumentId(inst),
            })
        } else if r < 99 {
            let (id, acct, inst, price) = recent[rng.random_range(0..recent.len())];
            let (price, qty) = match rng.random_range(0..4u32) {
                0 => (price, rng.random_range(1..=10u64) * 10), // same price: keep or lose
                1 => (price, rng.random_range(1..=3u64) * 10),  // mostly a reduction
                2 => (
                    price + rng.random_range(-5..=5),
                    rng.random_range(1..=30u64) * 10,
                ),
                _ => (
                    price + rng.random_range(-15..=15),
                    rng.random_range(1..=30u64) * 10,
                ),
            };
            CommandKind::Modify(ModifyOrder {
                order_id: OrderId(id),
                price: Price(price.max(1)),
                qty: Qty(qty),
                account: AccountId(acct),
                instrument: InstrumentId(inst),
            })
        } else {
            CommandKind::MassCancel(MassCancel {
                account: AccountId(account),
                instrument: if rng.random_bool(0.5) {
                    Some(InstrumentId(rng.random_range(0..INSTRUMENTS)))
                } else {
                    None
                },
            })
        };
        out.push(Command::new(time, kind));
    }
    out
}

struct Outcome {
    engine: Engine,
    itch: Vec<u8>,
    retransmit_requests: u64,
    dropped_on_purpose: u64,
    stats: ferrex_gateway::md::EncoderStats,
}

/// Runs the seeded stream through a fresh engine, every event into `feed` (flushing now and
/// then, as an idle drain thread would), then ends the session.
fn publish_stream(feed: &mut MdFeed, seed: u64) -> Engine {
    let mut engine = Engine::new(EngineConfig {
        instruments: vec![book_config(); INSTRUMENTS as usize],
    })
    .unwrap();
    let mut events: Vec<Event> = Vec::new();
    let cmds = commands(COMMANDS, seed);
    feed.start_of_day(cmds[0].time);
    for (i, c) in cmds.iter().enumerate() {
        engine.process(c, &mut events);
        for e in &events {
            feed.publish(e);
        }
        events.clear();
        if i % 64 == 63 {
            feed.flush();
            std::thread::yield_now();
        }
    }
    feed.end_session(engine.time(), 3);
    engine
}

fn feed_config(dest: SocketAddr) -> MdConfig {
    let enc = EncoderConfig {
        instruments: (0..INSTRUMENTS)
            .map(|i| InstrumentSpec::new(&format!("FRX{i}"), UNITS_PER_TICK))
            .collect(),
        replace_as_delete_add: false,
    };
    let mut cfg = MdConfig::new("FERREX0001", dest, enc);
    cfg.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    cfg.retransmit_bind = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    cfg.heartbeat = Duration::from_millis(20);
    cfg
}

/// The same through the library's receiving end, `md::capture::Capture`.
fn run_with_capture(seed: u64) -> Outcome {
    let mut cap = Capture::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let mut feed = MdFeed::start(feed_config(cap.local_addr().unwrap())).unwrap();
    let rtx_addr = feed.retransmit_addr().unwrap();
    let receiver = std::thread::spawn(move || {
        cap.receive(Duration::from_secs(2), TIMEOUT).unwrap();
        cap
    });
    let engine = publish_stream(&mut feed, seed);
    let mut cap = receiver.join().unwrap();
    let requests = cap.fill_gaps(rtx_addr, TIMEOUT).unwrap();
    assert!(cap.reassembler().complete());
    assert_eq!(cap.reassembler().next_seq(), feed.next_seq());
    assert_eq!(cap.stats().malformed, 0);
    let stats = feed.encoder_stats();
    Outcome {
        engine,
        itch: cap.itch().to_vec(),
        retransmit_requests: requests,
        dropped_on_purpose: 0,
        stats,
    }
}

/// Runs the whole pipeline; the receiver throws away every `drop_every`-th data packet.
fn run(seed: u64, drop_every: Option<u64>) -> Outcome {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let dest = rx.local_addr().unwrap();
    let mut feed = MdFeed::start(feed_config(dest)).unwrap();
    let rtx_addr = feed.retransmit_addr().unwrap();

    // Receiver thread: collects datagrams until end of session, or until the sender is done and
    // no data has come for a while (the end-of-session datagram itself can be lost on a loaded
    // machine, and heartbeats keep coming every 20 ms, so a quiet socket cannot be the test), or
    // TIMEOUT in all. Whatever was lost is asked for through the retransmit server below.
    let done = Arc::new(AtomicBool::new(false));
    let done2 = done.clone();
    let receiver = std::thread::spawn(move || {
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut buf = vec![0u8; 65_536];
        let mut data_packets = 0u64;
        let mut dropped = 0u64;
        let start = Instant::now();
        let mut last_data = Instant::now();
        let mut done_at: Option<Instant> = None;
        while start.elapsed() < TIMEOUT {
            if done_at.is_none() && done2.load(Ordering::Relaxed) {
                done_at = Some(Instant::now());
            }
            if done_at.is_some_and(|t| t.elapsed() > QUIET && last_data.elapsed() > QUIET) {
                break;
            }
            let Ok((n, _)) = rx.recv_from(&mut buf) else {
                continue;
            };
            let p = mold::decode_packet(&buf[..n]).expect("a valid MoldUDP64 packet");
            match p.kind() {
                PacketKind::Data => {
                    last_data = Instant::now();
                    data_packets += 1;
                    if drop_every.is_some_and(|k| data_packets.is_multiple_of(k)) {
                        dropped += 1;
                        continue;
                    }
                }
                PacketKind::EndOfSession => {
                    got.push(buf[..n].to_vec());
                    break;
                }
                PacketKind::Heartbeat => {}
            }
            got.push(buf[..n].to_vec());
        }
        (got, dropped)
    });

    let engine = publish_stream(&mut feed, seed);
    done.store(true, Ordering::Relaxed);
    let (packets, dropped_on_purpose) = receiver.join().unwrap();
    let published = feed.next_seq() - 1;

    // Reassemble; fill every gap through the retransmit server.
    let mut itch = Vec::new();
    let mut re = Reassembler::new();
    let mut deliver = |_seq: u64, m: &[u8]| {
        itch.extend_from_slice(&(m.len() as u16).to_be_bytes());
        itch.extend_from_slice(m);
    };
    for p in &packets {
        re.on_packet(&mold::decode_packet(p).unwrap(), &mut deliver);
    }
    let session = re.session().expect("at least one packet arrived");
    assert_eq!(session, feed.session());
    let mut client = RetransmitClient::connect(rtx_addr, TIMEOUT).unwrap();
    let mut retransmit_requests = 0u64;
    // A count-0 request learns where the feed is, in case the tail and the end of session were lost.
    let ask = |client: &mut RetransmitClient,
               seq: u64,
               count: u16,
               re: &mut Reassembler,
               d: &mut dyn FnMut(u64, &[u8])| {
        for p in client
            .request(&Request {
                session,
                seq,
                count,
            })
            .unwrap()
        {
            re.on_packet(&mold::decode_packet(&p).unwrap(), &mut *d);
        }
    };
    ask(&mut client, re.next_seq(), 0, &mut re, &mut deliver);
    while let Some((seq, count)) = re.gap() {
        retransmit_requests += 1;
        assert!(
            retransmit_requests < 10_000,
            "gap filling does not converge"
        );
        ask(&mut client, seq, count, &mut re, &mut deliver);
    }
    assert!(re.complete());
    assert_eq!(
        re.next_seq() - 1,
        published,
        "every published message was delivered"
    );
    assert_eq!(re.foreign_packets, 0);
    let stats = feed.encoder_stats();
    drop(feed);
    Outcome {
        engine,
        itch,
        retransmit_requests,
        dropped_on_purpose,
        stats,
    }
}

/// Replays the captured ITCH and compares every book with the engine's.
fn check_books(o: &Outcome) {
    let s = o.stats;
    assert_eq!(s.desyncs, 0, "encoder lost track of the book: {s:?}");
    assert_eq!(s.unencodable, 0);
    assert_eq!(s.refills_guessed, 0);
    // The stream exercised every kind of change.
    assert!(s.adds > 500 && s.executions > 200, "{s:?}");
    assert!(s.cancels > 10 && s.deletes > 300 && s.refills > 10, "{s:?}");

    eprintln!(
        "encoder: {s:?}; {} ITCH bytes; {} packets dropped on purpose; {} retransmit requests",
        o.itch.len(),
        o.dropped_on_purpose,
        o.retransmit_requests
    );
    let mut replay = ItchReplay::new(ItchReplayConfig::default());
    replay
        .run(&o.itch)
        .expect("ferrex's ITCH reader accepts the capture");
    let sum = replay.summary();
    assert_eq!(sum.unknown_refs, 0, "{sum:?}");
    assert_eq!(sum.over_executions, 0, "{sum:?}");
    assert_eq!(sum.rejects, 0, "{sum:?}");
    assert_eq!(sum.trades, s.executions, "every E became one fill");
    assert_eq!(
        sum.head_of_queue, sum.head_checked,
        "every execution hit the queue head"
    );
    assert_eq!(sum.counts.get(b'R'), u64::from(INSTRUMENTS));

    let mut resting = 0usize;
    for i in 0..INSTRUMENTS {
        let eb = o.engine.book(InstrumentId(i)).unwrap();
        let locate = (i + 1) as u16;
        let expected = visible_book(eb, i64::from(UNITS_PER_TICK));
        resting += expected.iter().flatten().map(|l| l.1.len()).sum::<usize>();
        let got = replay
            .book(locate)
            .map(|b| visible_book(b, 1))
            .unwrap_or_default();
        for side in 0..2 {
            assert_eq!(
                got[side].len(),
                expected[side].len(),
                "instrument {i} side {side}: level count"
            );
            for (g, e) in got[side].iter().zip(&expected[side]) {
                assert_eq!(g, e, "instrument {i} side {side}: level differs");
            }
        }
        let rb = replay.book(locate).unwrap();
        assert_eq!(
            visible_book_hash(rb, 1),
            visible_book_hash(eb, i64::from(UNITS_PER_TICK)),
            "instrument {i}: canonical visible-book hash"
        );
    }
    eprintln!(
        "replay: messages {:?}, executions {}, head of queue {}/{}, live orders {}; {resting} resting orders compared",
        sum.counts
            .nonzero()
            .iter()
            .map(|(t, n)| (*t as char, *n))
            .collect::<Vec<_>>(),
        sum.executions,
        sum.head_of_queue,
        sum.head_checked,
        sum.live_orders
    );
    assert!(
        resting > 20,
        "the books end non-trivial ({resting} resting orders)"
    );
}

/// The encoder alone (no sockets), over more seeds and both ways of publishing a re-priced
/// order. Every 97 commands the feed so far is applied to a live replay and every book is
/// compared, so intermediate states are checked too, not only the end.
fn direct(seed: u64, n: usize, replace_as_delete_add: bool) -> Outcome {
    let mut engine = Engine::new(EngineConfig {
        instruments: vec![book_config(); INSTRUMENTS as usize],
    })
    .unwrap();
    let mut enc = ItchEncoder::new(EncoderConfig {
        instruments: (0..INSTRUMENTS)
            .map(|i| InstrumentSpec::new(&format!("FRX{i}"), UNITS_PER_TICK))
            .collect(),
        replace_as_delete_add,
    });
    let mut live = ItchReplay::new(ItchReplayConfig::default());
    let mut itch = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    let mut checkpoints = 0;
    for (i, c) in commands(n, seed).into_iter().enumerate() {
        engine.process(&c, &mut events);
        for e in &events {
            enc.on_event(e);
        }
        events.clear();
        if i % 97 == 96 {
            enc.flush();
            live.run(enc.ready_bytes()).unwrap();
            itch.extend_from_slice(enc.ready_bytes());
            enc.clear_ready();
            for inst in 0..INSTRUMENTS {
                let eb = engine.book(InstrumentId(inst)).unwrap();
                let want = visible_book_hash(eb, i64::from(UNITS_PER_TICK));
                let got = live
                    .book((inst + 1) as u16)
                    .map(|b| visible_book_hash(b, 1));
                match got {
                    Some(got) => {
                        assert_eq!(
                            got, want,
                            "seed {seed}, after command {i}, instrument {inst}"
                        )
                    }
                    None => assert!(eb.best_bid().is_none() && eb.best_ask().is_none()),
                }
            }
            checkpoints += 1;
        }
    }
    assert!(checkpoints > 10);
    enc.end(engine.time());
    itch.extend_from_slice(enc.ready_bytes());
    Outcome {
        engine,
        itch,
        retransmit_requests: 0,
        dropped_on_purpose: 0,
        stats: enc.stats(),
    }
}

#[test]
fn encoder_rebuilds_the_engine_books_over_many_seeds() {
    for seed in 100..108 {
        let o = direct(seed, 6_000, seed % 2 == 1);
        if seed % 2 == 1 {
            assert_eq!(o.stats.replaces, 0, "delete + add mode publishes no U");
        } else {
            assert!(o.stats.replaces > 10, "{:?}", o.stats);
        }
        check_books(&o);
    }
}

const RISK: &str = r#"
max_orders = 65536
max_accounts = 16
[default_account]
id = 0
throttle = { rate = 400, window_ns = 100000, halt_threshold = 600, halt_ns = 2000000 }
mmp = { window_ns = 1000000, max_qty = 400, freeze_ns = 3000000 }
[[instruments]]
id = 0
max_price = 1000000
market_protection_ticks = 50
[[instruments]]
id = 1
max_price = 1000000
market_protection_ticks = 50
[[instruments]]
id = 2
max_price = 1000000
market_protection_ticks = 50
"#;

/// The seeded stream with the risk layer's order flags and controls mixed in: a third of the
/// orders are MMP-tagged (fills on them freeze the account and cancel its orders), and now and
/// then a kill switch, an account reactivation or an MMP reset.
fn commands_with_risk(n: usize, seed: u64) -> Vec<Command> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n + n / 50);
    for (i, mut c) in commands(n, seed).into_iter().enumerate() {
        if let CommandKind::New(o) = &mut c.kind
            && o.order_id.0 % 3 == 0
        {
            o.flags = OrderFlags::MMP;
        }
        out.push(c);
        if i % 53 == 52 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let account = AccountId(1 + (x % 8) as u32);
            let rc = match (x >> 8) % 16 {
                0 => RiskControl::Kill { account },
                1..=7 => RiskControl::ResetMmp { account },
                _ => RiskControl::SetAccountState {
                    account,
                    state: TradingState::Active,
                },
            };
            out.push(Command::new(c.time, CommandKind::Risk(rc)));
        }
    }
    out
}

#[test]
fn risk_layer_cancels_reach_the_feed() {
    let risk = Risk::new(&RiskConfig::from_toml_str(RISK).unwrap()).unwrap();
    let mut engine = Engine::with_risk(
        EngineConfig {
            instruments: vec![book_config(); INSTRUMENTS as usize],
        },
        risk,
    )
    .unwrap();
    let mut enc = ItchEncoder::new(EncoderConfig {
        instruments: (0..INSTRUMENTS)
            .map(|i| InstrumentSpec::new(&format!("FRX{i}"), UNITS_PER_TICK))
            .collect(),
        replace_as_delete_add: false,
    });
    let mut events: Vec<Event> = Vec::new();
    let (mut kills, mut mmp) = (0, 0);
    for c in commands_with_risk(COMMANDS, 31) {
        engine.process(&c, &mut events);
        for e in &events {
            match e.kind {
                EventKind::Cancelled {
                    reason: CancelReason::Mmp,
                    ..
                } => mmp += 1,
                EventKind::Cancelled {
                    reason: CancelReason::Kill,
                    ..
                } => kills += 1,
                _ => {}
            }
            enc.on_event(e);
        }
        events.clear();
    }
    enc.end(engine.time());
    assert!(kills > 0 && mmp > 0, "kills {kills}, MMP cancels {mmp}");
    let o = Outcome {
        engine,
        itch: enc.ready_bytes().to_vec(),
        retransmit_requests: 0,
        dropped_on_purpose: 0,
        stats: enc.stats(),
    };
    check_books(&o);
}

#[test]
fn feed_over_udp_rebuilds_the_engine_books() {
    let o = run(7, None);
    assert!(o.stats.replaces > 10, "{:?}", o.stats);
    check_books(&o);
    // Keep the capture for `ferrex replay itch FILE` when asked to.
    if let Some(path) = std::env::var_os("FERREX_MD_CAPTURE") {
        std::fs::write(path, &o.itch).unwrap();
    }
}

#[test]
fn capture_receives_the_feed_and_rebuilds_the_books() {
    let o = run_with_capture(23);
    check_books(&o);
    assert!(
        o.retransmit_requests >= 1,
        "at least the where-is-the-feed request"
    );
}

#[test]
fn dropped_packets_are_recovered_through_tcp_retransmission() {
    let o = run(11, Some(5));
    assert!(o.dropped_on_purpose > 5, "{} dropped", o.dropped_on_purpose);
    assert!(o.retransmit_requests > 0);
    check_books(&o);
}
