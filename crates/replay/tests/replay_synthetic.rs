//! Replay drivers on small hand-made inputs: multi-symbol ITCH, replace priority, LOBSTER empty
//! levels and halts.

use ferrex_replay::itch::encode;
use ferrex_replay::itch_replay::{ItchReplay, ItchReplayConfig};
use ferrex_replay::lobster::LobsterPair;
use ferrex_replay::lobster_replay::{LobsterReplayConfig, replay};
use ferrex_types::{OrderId, Price, Side};

fn body(t: u8, locate: u16, fields: &[&[u8]]) -> Vec<u8> {
    let mut b = encode::header(t, locate, 0, 1_000);
    for f in fields {
        b.extend_from_slice(f);
    }
    b
}

#[test]
fn itch_one_book_per_locate_and_replace_loses_priority() {
    let mut buf = Vec::new();
    let add = |buf: &mut Vec<u8>, loc, id, side, px| {
        encode::frame(
            buf,
            &encode::add_order(loc, 1_000, id, side, 100, b"XYZ     ", px),
        )
    };
    add(&mut buf, 1, 10, b'B', 1_000_000);
    add(&mut buf, 1, 11, b'B', 1_000_000);
    add(&mut buf, 2, 20, b'S', 2_000_000);
    // U: order 10 replaced by 12 at the same price: it goes behind 11.
    let u = body(
        b'U',
        1,
        &[
            &10u64.to_be_bytes(),
            &12u64.to_be_bytes(),
            &100u32.to_be_bytes(),
            &1_000_000u32.to_be_bytes(),
        ],
    );
    encode::frame(&mut buf, &u);
    // E on 11 (now at the head), E on 12 (behind nobody once 11 is gone).
    for id in [11u64, 12] {
        let e = body(
            b'E',
            1,
            &[
                &id.to_be_bytes(),
                &100u32.to_be_bytes(),
                &7u64.to_be_bytes(),
            ],
        );
        encode::frame(&mut buf, &e);
    }
    // X on 20 (partial), D on an unknown ref, E on a locate without a book.
    encode::frame(
        &mut buf,
        &body(b'X', 2, &[&20u64.to_be_bytes(), &40u32.to_be_bytes()]),
    );
    encode::frame(&mut buf, &body(b'D', 2, &[&999u64.to_be_bytes()]));
    encode::frame(
        &mut buf,
        &body(
            b'E',
            3,
            &[
                &5u64.to_be_bytes(),
                &1u32.to_be_bytes(),
                &8u64.to_be_bytes(),
            ],
        ),
    );

    let mut r = ItchReplay::new(ItchReplayConfig::default());
    r.run(&buf).unwrap();
    let s = r.summary();
    assert_eq!(s.books, 2);
    assert_eq!(s.executions, 2);
    assert_eq!((s.head_of_queue, s.head_checked), (2, 2));
    assert_eq!(s.unknown_refs, 2);
    assert_eq!(s.unknown_by_type, [1, 0, 0, 1, 0]);
    assert_eq!(s.rejects, 0);
    assert!(r.book(1).unwrap().best_bid().is_none());
    let b2 = r.book(2).unwrap();
    assert_eq!(b2.best_ask(), Some(Price(2_000_000)));
    assert_eq!(b2.order(OrderId(20)).unwrap().leaves.0, 60);
    assert!(r.book(3).is_none());
}

#[test]
fn itch_execution_behind_the_head_is_counted() {
    let mut buf = Vec::new();
    for id in [1u64, 2] {
        encode::frame(
            &mut buf,
            &encode::add_order(1, 1, id, b'S', 100, b"XYZ     ", 1_000_000),
        );
    }
    let e = body(
        b'E',
        1,
        &[
            &2u64.to_be_bytes(),
            &50u32.to_be_bytes(),
            &1u64.to_be_bytes(),
        ],
    );
    encode::frame(&mut buf, &e);
    let mut r = ItchReplay::new(ItchReplayConfig::default());
    r.run(&buf).unwrap();
    let s = r.summary();
    assert_eq!((s.head_of_queue, s.head_checked), (0, 1));
    assert_eq!(s.head_of_queue_share(), 0.0);
}

fn lobster(messages: &str, orderbook: &str) -> LobsterPair {
    LobsterPair::from_strings(
        "m".into(),
        messages.into(),
        "o".into(),
        orderbook.into(),
        None,
    )
    .unwrap()
}

#[test]
fn lobster_empty_levels_and_halts() {
    // Level 2. Row 1: one ask level, no bids at all (placeholders).
    let m = "\
34200.1,1,1,100,1000100,-1
34200.2,1,2,50,999900,1
34200.3,7,0,0,-1,-1
34200.4,7,0,0,1,-1
34200.5,4,2,50,999900,1
34200.6,3,1,100,1000100,-1
";
    let e = "9999999999,0,-9999999999,0"; // an empty level 2 (both sides)
    let a = "1000100,100";
    let b = "999900,50";
    let nb = "-9999999999,0";
    let na = "9999999999,0";
    let o = [
        format!("{a},{nb},{e}"),
        format!("{a},{b},{e}"),
        format!("{a},{b},{e}"),
        format!("{a},{b},{e}"),
        format!("{a},{nb},{e}"),
        format!("{na},{nb},{e}"),
    ]
    .join("\n");
    let s = replay(&lobster(m, &o), LobsterReplayConfig::default()).unwrap();
    assert_eq!(s.rows, 6);
    assert_eq!(s.matched, 5, "{s:?}");
    assert_eq!(s.mismatches, 0);
    assert_eq!(s.by_type[7], 2);
    assert_eq!((s.head_of_queue, s.head_checked), (1, 1));
}

#[test]
fn lobster_unexplained_difference_is_a_mismatch() {
    // The reference claims the bid grew without any message touching it.
    let m = "34200.1,1,1,100,999900,1\n34200.2,1,2,10,1000200,-1\n";
    let o = "1000500,10,999900,100\n1000200,10,999900,120\n";
    let s = replay(&lobster(m, o), LobsterReplayConfig::default()).unwrap();
    assert_eq!(s.mismatches, 1);
    let d = s.mismatch_details[0];
    assert_eq!(
        (d.line, d.side, d.price, d.ferrex_qty, d.reference_qty),
        (2, Side::Buy, 999_900, 100, 120)
    );
}
