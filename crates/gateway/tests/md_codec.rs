//! Market-data codecs: ITCH layouts checked with ferrex's ITCH decoder, MoldUDP64 packet and
//! request decoding fuzzed, packetizer and reassembler round trips, the retransmit answer rule,
//! the TCP retransmit server against garbage, and the encoder's message choices per scenario.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrex_engine::{BookConfig, Engine, EngineConfig};
use ferrex_gateway::md::itch_out;
use ferrex_gateway::md::mold::{self, PacketKind, Packetizer, Reassembler, Request, Session};
use ferrex_gateway::md::retransmit::{self, RetransmitConfig};
use ferrex_gateway::md::{
    EncoderConfig, InstrumentSpec, ItchEncoder, MdConfig, MdError, MdFeed, RetransmitClient,
    RetransmitServer, RetransmitStore,
};
use ferrex_replay::itch::{ItchMessage, body_len, decode};
use ferrex_types::*;
use proptest::prelude::*;

fn session() -> Session {
    Session::new("TEST000001").unwrap()
}

#[test]
fn itch_layouts_decode_with_ferrex_reader() {
    let stock = itch_out::symbol("FRX");
    let t = itch_out::NS_PER_DAY + 123_456_789; // wraps to ns since midnight
    let mut b = Vec::new();
    itch_out::add_order(&mut b, 3, t, 42, Side::Sell, 500, &stock, 1_234_500);
    assert_eq!(Some(b.len()), body_len(b'A'));
    match decode(&b, 0).unwrap() {
        ItchMessage::AddOrder(a) => {
            assert_eq!(a.header.stock_locate, 3);
            assert_eq!(a.header.timestamp, 123_456_789);
            assert_eq!(
                (a.order_ref, a.side, a.shares, a.price),
                (42, Side::Sell, 500, 1_234_500)
            );
            assert_eq!(a.stock, b"FRX     ");
        }
        m => panic!("{m:?}"),
    }
    let cases: Vec<(u8, Vec<u8>)> = vec![
        (b'E', {
            let mut v = Vec::new();
            itch_out::order_executed(&mut v, 1, 5, 42, 7, 99);
            v
        }),
        (b'X', {
            let mut v = Vec::new();
            itch_out::order_cancel(&mut v, 1, 5, 42, 3);
            v
        }),
        (b'D', {
            let mut v = Vec::new();
            itch_out::order_delete(&mut v, 1, 5, 42);
            v
        }),
        (b'U', {
            let mut v = Vec::new();
            itch_out::order_replace(&mut v, 1, 5, 42, 43, 9, 100);
            v
        }),
        (b'S', {
            let mut v = Vec::new();
            itch_out::system_event(&mut v, 5, b'O');
            v
        }),
        (b'R', {
            let mut v = Vec::new();
            itch_out::stock_directory(&mut v, 1, 5, &stock, 100);
            v
        }),
        (b'H', {
            let mut v = Vec::new();
            itch_out::trading_action(&mut v, 1, 5, &stock, b'H');
            v
        }),
        (b'P', {
            let mut v = Vec::new();
            itch_out::trade(&mut v, 1, 5, 42, Side::Buy, 7, &stock, 100, 8);
            v
        }),
    ];
    for (t, body) in cases {
        assert_eq!(Some(body.len()), body_len(t), "length of {}", t as char);
        let m = decode(&body, 0).unwrap();
        assert_eq!(m.msg_type(), t);
        match m {
            ItchMessage::OrderExecuted(e) => {
                assert_eq!(
                    (e.order_ref, e.executed_shares, e.match_number),
                    (42, 7, 99)
                )
            }
            ItchMessage::OrderCancel(x) => assert_eq!((x.order_ref, x.cancelled_shares), (42, 3)),
            ItchMessage::OrderDelete(d) => assert_eq!(d.order_ref, 42),
            ItchMessage::OrderReplace(u) => assert_eq!(
                (u.original_order_ref, u.new_order_ref, u.shares, u.price),
                (42, 43, 9, 100)
            ),
            ItchMessage::SystemEvent(s) => assert_eq!(s.event_code, b'O'),
            ItchMessage::StockDirectory(r) => {
                assert_eq!((r.stock, r.round_lot_size), (&stock, 100))
            }
            ItchMessage::StockTradingAction(h) => assert_eq!(h.stock, &stock),
            ItchMessage::Trade(p) => {
                assert_eq!((p.order_ref, p.shares, p.match_number), (42, 7, 8))
            }
            m => panic!("unexpected {m:?}"),
        }
    }
}

#[test]
fn session_names() {
    assert_eq!(Session::new("AB").unwrap().0, *b"AB        ");
    assert!(Session::new("ELEVENCHARS").is_none());
    assert!(Session::new("tab\there").is_none());
    let cfg = MdConfig::new(
        "way too long a name",
        SocketAddr::from(([127, 0, 0, 1], 9)),
        EncoderConfig::default(),
    );
    assert!(matches!(
        MdFeed::start(cfg),
        Err(MdError::InvalidSession(_))
    ));
}

fn store_with(n: usize, cap: usize) -> RetransmitStore {
    let mut s = RetransmitStore::new(cap);
    for i in 1..=n {
        assert_eq!(s.push(&(i as u32).to_be_bytes()), i as u64);
    }
    s
}

/// (sequence numbers answered, the closing heartbeat's sequence number).
fn answered(
    store: &RetransmitStore,
    seq: u64,
    count: u16,
    cfg: &RetransmitConfig,
) -> (Vec<u64>, u64) {
    let mut out = Vec::new();
    retransmit::answer(
        store,
        session(),
        &Request {
            session: session(),
            seq,
            count,
        },
        cfg,
        &mut out,
    )
    .unwrap();
    let mut seqs = Vec::new();
    let mut rest = &out[..];
    loop {
        // Packets are self-delimiting: header, then `count` length-prefixed blocks.
        let count = u16::from_be_bytes([rest[18], rest[19]]);
        let mut len = mold::HEADER_LEN;
        if count != 0 {
            for _ in 0..count {
                len += 2 + usize::from(u16::from_be_bytes([rest[len], rest[len + 1]]));
            }
        }
        let p = mold::decode_packet(&rest[..len]).unwrap();
        assert!(len <= cfg.max_packet);
        if p.kind() == PacketKind::Heartbeat {
            assert_eq!(len, rest.len(), "the heartbeat ends the answer");
            return (seqs, p.seq);
        }
        for (s, m) in p.messages() {
            assert_eq!(m, (s as u32).to_be_bytes(), "original bytes");
            seqs.push(s);
        }
        rest = &rest[len..];
    }
}

#[test]
fn retransmit_answer_rule() {
    let st = store_with(25, 10); // holds 16..=25
    assert_eq!((st.first_seq(), st.next_seq()), (16, 26));
    let cfg = RetransmitConfig {
        max_packet: 40,
        ..RetransmitConfig::default()
    };
    assert_eq!(answered(&st, 1, 5, &cfg), (vec![], 26), "all too old");
    assert_eq!(
        answered(&st, 12, 6, &cfg),
        (vec![16, 17], 26),
        "partly too old"
    );
    assert_eq!(
        answered(&st, 20, 100, &cfg),
        ((20..=25).collect(), 26),
        "past the end"
    );
    assert_eq!(answered(&st, 30, 5, &cfg), (vec![], 26), "not sent yet");
    assert_eq!(
        answered(&st, 18, 0, &cfg),
        (vec![], 26),
        "count 0: where is the feed"
    );
    let capped = RetransmitConfig {
        max_messages: 3,
        ..cfg
    };
    assert_eq!(answered(&st, 16, 10, &capped), (vec![16, 17, 18], 26));
    let other = Request {
        session: Session::new("OTHER").unwrap(),
        seq: 16,
        count: 1,
    };
    assert!(retransmit::answer(&st, session(), &other, &cfg, &mut Vec::new()).is_err());
}

#[test]
fn retransmit_server_survives_garbage_and_answers() {
    let store = Arc::new(Mutex::new(store_with(100, 1000)));
    let server = RetransmitServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        session(),
        store,
        RetransmitConfig::default(),
    )
    .unwrap();
    let addr = server.local_addr();
    let t = Duration::from_secs(10);
    // Garbage of request size with the wrong session: the server closes the connection.
    let mut bad = TcpStream::connect(addr).unwrap();
    bad.set_read_timeout(Some(t)).unwrap();
    bad.write_all(&[0xAB; 40]).unwrap();
    let mut buf = [0u8; 16];
    let n = bad.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    // A proper client still gets its messages.
    let mut c = RetransmitClient::connect(addr, t).unwrap();
    let packets = c
        .request(&Request {
            session: session(),
            seq: 40,
            count: 20,
        })
        .unwrap();
    let mut re = Reassembler::new();
    let mut got = Vec::new();
    for p in &packets {
        // Seed the reassembler at 40 by feeding nothing before: it holds them after the gap.
        re.on_packet(&mold::decode_packet(p).unwrap(), |s, _| got.push(s));
    }
    assert!(got.is_empty(), "1..40 missing, so nothing is delivered yet");
    assert_eq!(re.horizon(), 101);
    assert_eq!(re.gap(), Some((1, 39)));
    for p in c
        .request(&Request {
            session: session(),
            seq: 1,
            count: 39,
        })
        .unwrap()
    {
        re.on_packet(&mold::decode_packet(&p).unwrap(), |s, _| got.push(s));
    }
    assert_eq!(got, (1..=59).collect::<Vec<u64>>());
    assert_eq!(re.gap(), Some((60, 41)));
    assert!(
        server
            .stats()
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 2
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn packet_and_request_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(p) = mold::decode_packet(&bytes) {
            let n = p.messages().count();
            prop_assert_eq!(n, usize::from(p.message_count()));
        }
        let r = Request::decode(&bytes);
        prop_assert_eq!(r.is_ok(), bytes.len() == mold::REQUEST_LEN);
        if let Ok(r) = r {
            prop_assert_eq!(&r.encode()[..], &bytes[..]);
        }
    }

    #[test]
    fn packetizer_and_reassembler_round_trip(
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 1..150),
        max_packet in 22usize..400,
        drop_mask in any::<u64>(),
        shuffle_seed in any::<u64>(),
    ) {
        let mut p = Packetizer::new(session(), max_packet, 1);
        let mut packets: Vec<Vec<u8>> = Vec::new();
        let mut store = RetransmitStore::new(1000);
        for m in &msgs {
            store.push(m);
            p.push(m, |pkt| packets.push(pkt.to_vec()));
        }
        p.flush(|pkt| packets.push(pkt.to_vec()));
        packets.push(p.end_of_session());
        let mut next = 1u64;
        for pkt in &packets {
            let d = mold::decode_packet(pkt).unwrap();
            if d.kind() == PacketKind::Data {
                prop_assert!(pkt.len() <= max_packet || d.count == 1);
                prop_assert_eq!(d.seq, next);
                next += u64::from(d.count);
            }
        }
        prop_assert_eq!(next, msgs.len() as u64 + 1);
        // Deliver in a shuffled order with some packets lost and some duplicated.
        let mut order: Vec<usize> = (0..packets.len()).collect();
        let mut x = shuffle_seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut re = Reassembler::new();
        let mut out: Vec<Vec<u8>> = Vec::new();
        for (k, &i) in order.iter().enumerate() {
            if drop_mask >> (k % 64) & 1 == 1 && i + 1 != packets.len() {
                continue;
            }
            re.on_packet(&mold::decode_packet(&packets[i]).unwrap(), |_, m| out.push(m.to_vec()));
            if k % 3 == 0 {
                re.on_packet(&mold::decode_packet(&packets[i]).unwrap(), |_, m| out.push(m.to_vec()));
            }
        }
        let cfg = RetransmitConfig { max_packet, ..RetransmitConfig::default() };
        let mut rounds = 0;
        while let Some((seq, count)) = re.gap() {
            rounds += 1;
            prop_assert!(rounds < 1000);
            let mut ans = Vec::new();
            retransmit::answer(&store, session(), &Request { session: session(), seq, count }, &cfg, &mut ans).unwrap();
            let mut rest = &ans[..];
            while !rest.is_empty() {
                let c = u16::from_be_bytes([rest[18], rest[19]]);
                let mut len = mold::HEADER_LEN;
                if c != 0 {
                    for _ in 0..c {
                        len += 2 + usize::from(u16::from_be_bytes([rest[len], rest[len + 1]]));
                    }
                }
                re.on_packet(&mold::decode_packet(&rest[..len]).unwrap(), |_, m| out.push(m.to_vec()));
                rest = &rest[len..];
            }
        }
        prop_assert!(re.ended());
        prop_assert_eq!(out, msgs);
    }
}

// ------------------------------------------------------------------------ encoder scenarios

fn engine() -> Engine {
    Engine::new(EngineConfig::single(BookConfig::default())).unwrap()
}

fn limit(id: u64, acct: u32, side: Side, price: i64, qty: u64) -> NewOrder {
    NewOrder {
        order_id: OrderId(id),
        account: AccountId(acct),
        side,
        price: Price(price),
        qty: Qty(qty),
        ..NewOrder::default()
    }
}

/// Runs commands through an engine and an encoder; returns the ITCH type bytes each command
/// produced (as a string) and the encoder.
fn scenario(cfg: EncoderConfig, cmds: &[CommandKind]) -> (Vec<String>, ItchEncoder) {
    let mut e = engine();
    let mut enc = ItchEncoder::new(cfg);
    enc.start(0);
    enc.clear_ready();
    let mut per_cmd = Vec::new();
    let mut evs: Vec<Event> = Vec::new();
    for (i, k) in cmds.iter().enumerate() {
        e.process(&Command::new(i as u64 + 1, *k), &mut evs);
        for ev in &evs {
            enc.on_event(ev);
        }
        evs.clear();
        enc.flush();
        let mut s = String::new();
        enc.take_ready(|m| s.push(m[0] as char));
        per_cmd.push(s);
    }
    (per_cmd, enc)
}

fn one() -> EncoderConfig {
    EncoderConfig {
        instruments: vec![InstrumentSpec::new("FRX", 1)],
        ..EncoderConfig::default()
    }
}

#[test]
fn encoder_message_choices() {
    use CommandKind::*;
    let ice = NewOrder {
        display_qty: Qty(10),
        ..limit(2, 2, Side::Sell, 100, 30)
    };
    let ioc = NewOrder {
        tif: TimeInForce::Ioc,
        ..limit(4, 4, Side::Buy, 101, 5)
    };
    let stop = NewOrder {
        ord_type: OrdType::StopLimit,
        stop_price: Price(99),
        ..limit(6, 6, Side::Sell, 98, 5)
    };
    let (msgs, enc) = scenario(
        one(),
        &[
            New(limit(1, 1, Side::Sell, 100, 10)), // A
            New(ice),                              // A (slice of 10)
            New(limit(3, 3, Side::Buy, 100, 20)),  // E(1) full, E(2) slice, A(2) refill at back
            New(ioc),                              // E(2) 5 of its 10 visible
            Modify(ModifyOrder {
                order_id: OrderId(2),
                price: Price(100),
                qty: Qty(3),
                account: AccountId(2),
                instrument: InstrumentId(0),
            }), // X (visible 5 -> 3)
            Modify(ModifyOrder {
                order_id: OrderId(2),
                price: Price(102),
                qty: Qty(3),
                account: AccountId(2),
                instrument: InstrumentId(0),
            }), // U
            New(stop),                             // pending stop: nothing
            New(limit(7, 7, Side::Sell, 99, 1)),   // A
            New(limit(8, 8, Side::Buy, 99, 1)),    // E; stop triggers at 99, rests at 98: A
            Cancel(CancelOrder {
                order_id: OrderId(6),
                account: AccountId(6),
                instrument: InstrumentId(0),
            }), // D
            Risk(RiskControl::SetInstrumentState {
                instrument: InstrumentId(0),
                state: TradingState::Halted,
            }),
        ],
    );
    assert_eq!(
        msgs[..10],
        ["A", "A", "EEA", "E", "X", "U", "", "A", "EA", "D"]
    );
    let s = enc.stats();
    assert_eq!((s.desyncs, s.refills, s.replaces), (0, 1, 1));

    // Delete + add instead of replace.
    let (msgs, _) = scenario(
        EncoderConfig {
            replace_as_delete_add: true,
            ..one()
        },
        &[
            New(limit(1, 1, Side::Sell, 100, 10)),
            Modify(ModifyOrder {
                order_id: OrderId(1),
                price: Price(101),
                qty: Qty(10),
                account: AccountId(1),
                instrument: InstrumentId(0),
            }),
        ],
    );
    assert_eq!(msgs, ["A", "DA"]);

    // A re-priced order that crosses: delete first, executions, then the remainder's add.
    let (msgs, enc) = scenario(
        one(),
        &[
            New(limit(1, 1, Side::Sell, 100, 10)),
            New(limit(2, 2, Side::Buy, 98, 15)),
            Modify(ModifyOrder {
                order_id: OrderId(2),
                price: Price(100),
                qty: Qty(15),
                account: AccountId(2),
                instrument: InstrumentId(0),
            }),
        ],
    );
    assert_eq!(msgs, ["A", "A", "DEA"]);
    assert_eq!(enc.stats().desyncs, 0);
}

#[test]
fn encoder_prices_out_of_range_are_left_out() {
    use CommandKind::*;
    // 2^40 ticks × 1 unit does not fit ITCH's 32-bit price.
    let (msgs, enc) = scenario(
        one(),
        &[
            New(limit(1, 1, Side::Sell, 1 << 40, 10)),
            Cancel(CancelOrder {
                order_id: OrderId(1),
                account: AccountId(1),
                instrument: InstrumentId(0),
            }),
        ],
    );
    assert_eq!(msgs, ["", ""]);
    assert_eq!(enc.stats().unencodable, 1);
    assert_eq!(enc.tracked_orders(), 0);
}

#[test]
fn encoder_never_panics_on_arbitrary_event_sequences() {
    // Events that contradict each other (no engine behind them) only move the desync counter.
    let mut enc = ItchEncoder::new(one());
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for seq in 1..20_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let id = OrderId(x % 16);
        let inst = InstrumentId((x >> 8) as u32 % 3);
        let side = if x & 1 == 0 { Side::Buy } else { Side::Sell };
        let price = Price((x >> 16) as i64 % 5);
        let qty = Qty((x >> 24) % 4);
        let kind = match (x >> 32) % 7 {
            0 => EventKind::Accepted {
                order_id: id,
                account: AccountId(1),
                instrument: inst,
                side,
                price,
                qty,
            },
            1 => EventKind::LevelChanged {
                instrument: inst,
                side,
                price,
                qty,
                orders: ((x >> 40) % 3) as u32,
            },
            2 => EventKind::Trade {
                instrument: inst,
                price,
                qty,
                maker_order_id: id,
                taker_order_id: OrderId(x % 7),
                maker_leaves: Qty(x % 3),
                taker_leaves: Qty(x % 2),
                maker_account: AccountId(1),
                taker_account: AccountId(2),
                aggressor: side,
            },
            3 => EventKind::Cancelled {
                order_id: id,
                account: AccountId(1),
                instrument: inst,
                reason: CancelReason::Requested,
                qty,
                side,
                price,
                leaves: Qty(0),
            },
            4 => EventKind::Replaced {
                order_id: id,
                account: AccountId(1),
                instrument: inst,
                price,
                qty,
                kept_priority: x & 2 == 0,
            },
            5 => EventKind::Triggered {
                order_id: id,
                account: AccountId(1),
                instrument: inst,
                stop_price: price,
                trade_price: price,
            },
            _ => EventKind::Expired {
                order_id: id,
                account: AccountId(1),
                instrument: inst,
                qty,
                side,
                price,
            },
        };
        enc.on_event(&Event {
            seq,
            cmd_seq: seq / 3,
            time: seq,
            kind,
        });
        enc.take_ready(|m| assert_eq!(Some(m.len()), body_len(m[0])));
    }
    enc.end(30_000);
    let mut last = 0;
    enc.take_ready(|m| last = m[0]);
    assert_eq!(last, b'S');
    assert!(enc.stats().desyncs > 0);
}

#[test]
fn idle_feed_heartbeats_then_ends_the_session() {
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut cfg = MdConfig::new("HB", rx.local_addr().unwrap(), one());
    cfg.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    cfg.heartbeat = Duration::from_millis(10);
    let mut feed = MdFeed::start(cfg).unwrap();
    feed.start_of_day(1);
    feed.flush();
    let mut buf = [0u8; 2048];
    // First the start-of-day packet (S, R, S, S), then heartbeats at the next sequence number
    // (a heartbeat at sequence 1 may come first if this thread was descheduled).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let p = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no start of day within 30 s"
        );
        let n = rx.recv(&mut buf).unwrap();
        let p = mold::decode_packet(&buf[..n]).unwrap();
        if p.kind() != PacketKind::Heartbeat {
            break p;
        }
        assert_eq!(p.seq, 1);
    };
    assert_eq!((p.kind(), p.seq, p.count), (PacketKind::Data, 1, 4));
    let types: Vec<u8> = p.messages().map(|(_, m)| m[0]).collect();
    assert_eq!(types, b"SRSS");
    let n = rx.recv(&mut buf).unwrap();
    let p = mold::decode_packet(&buf[..n]).unwrap();
    assert_eq!((p.kind(), p.seq), (PacketKind::Heartbeat, 5));
    feed.end_session(2, 1);
    // Heartbeats keep coming, so a lost end-of-session datagram would otherwise never end this.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no end of session within 30 s"
        );
        let n = rx.recv(&mut buf).unwrap();
        let p = mold::decode_packet(&buf[..n]).unwrap();
        match p.kind() {
            PacketKind::Heartbeat => continue,
            PacketKind::Data => {
                let t: Vec<u8> = p.messages().map(|(_, m)| m[0]).collect();
                assert_eq!((p.seq, t), (5, b"SSS".to_vec()));
            }
            PacketKind::EndOfSession => {
                assert_eq!(p.seq, 8);
                break;
            }
        }
    }
    assert!(feed.publisher_stats().heartbeats >= 1);
}
