//! Codec: round trip over arbitrary commands, and no panic on arbitrary bytes.

#[path = "support/mixed.rs"]
mod mixed;

use ferrex_journal::{DecodeError, JournalEntry, MAX_PAYLOAD, decode, encode};
use ferrex_types::{AccountId, Command, CommandKind, InstrumentId, MassCancel};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn round_trip(seq in any::<u64>(), time in any::<u64>(), words in any::<[u64; 16]>()) {
        let mut it = words.into_iter().cycle();
        let kind = mixed::kind(&mut || it.next().unwrap());
        let e = JournalEntry::new(seq, Command::new(time, kind));
        let mut buf = Vec::new();
        encode(&e, &mut buf);
        prop_assert!(buf.len() <= MAX_PAYLOAD);
        prop_assert_eq!(decode(&buf), Ok(e));
        // Every strict prefix fails cleanly.
        for cut in 0..buf.len() {
            prop_assert!(decode(&buf[..cut]).is_err());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(e) = decode(&bytes) {
            // Whatever decodes re-encodes to the same bytes: the encoding is canonical.
            let mut buf = Vec::new();
            encode(&e, &mut buf);
            prop_assert_eq!(buf, bytes);
        }
    }

    #[test]
    fn single_byte_flips_never_panic(words in any::<[u64; 16]>(), at in any::<usize>(), x in 1u8..) {
        let mut it = words.into_iter().cycle();
        let kind = mixed::kind(&mut || it.next().unwrap());
        let mut buf = Vec::new();
        encode(&JournalEntry::new(1, Command::new(2, kind)), &mut buf);
        let i = at % buf.len();
        buf[i] ^= x;
        let _ = decode(&buf);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The record reader over arbitrary bytes: never panics, never yields past its tail, and
    /// reports a tail offset at a record boundary inside the data.
    #[test]
    fn record_reader_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut r = ferrex_journal::RecordReader::new(&bytes, 24);
        let n = r.by_ref().count();
        if let Some(t) = r.tail() {
            prop_assert!(t.offset >= 24 && t.offset <= 24 + bytes.len() as u64);
            prop_assert_eq!(t.offset, r.good_end());
        } else {
            prop_assert_eq!(r.good_end(), 24 + bytes.len() as u64);
        }
        let _ = n;
    }
}

#[test]
fn every_variant_has_a_stable_tag_and_size() {
    // Pins the on-disk layout: a change here is a format change and needs a new version.
    let mut seen = [0usize; 11];
    let mut rng = mixed::Rng(42);
    for _ in 0..10_000 {
        let kind = mixed::kind(&mut || rng.next());
        let mut buf = Vec::new();
        encode(&JournalEntry::new(1, Command::new(2, kind)), &mut buf);
        let tag = buf[16] as usize;
        let want = match tag {
            1 => 82,
            2 => 33,
            3 => 49,
            4 => 26,
            5 | 10 => 21,
            6 | 7 => 22,
            8 => 34,
            9 => 29,
            t => panic!("unexpected tag {t}"),
        };
        assert_eq!(buf.len(), want, "tag {tag}");
        seen[tag] += 1;
    }
    assert!(
        seen[1..].iter().all(|&c| c > 0),
        "every tag generated: {seen:?}"
    );
}

#[test]
fn known_bytes() {
    let e = JournalEntry::new(
        0x0102,
        Command::new(
            0x0a0b,
            CommandKind::MassCancel(MassCancel {
                account: AccountId(5),
                instrument: Some(InstrumentId(9)),
            }),
        ),
    );
    let mut buf = Vec::new();
    encode(&e, &mut buf);
    assert_eq!(
        buf,
        [
            2, 1, 0, 0, 0, 0, 0, 0, // seq
            0x0b, 0x0a, 0, 0, 0, 0, 0, 0, // time
            4, // tag MassCancel
            5, 0, 0, 0, // account
            1, // has instrument
            9, 0, 0, 0, // instrument
        ]
    );
}

#[test]
fn bad_enum_bytes_are_named() {
    let mut rng = mixed::Rng(7);
    let new = loop {
        let k = mixed::kind(&mut || rng.next());
        if matches!(k, CommandKind::New(_)) {
            break k;
        }
    };
    let mut buf = Vec::new();
    encode(&JournalEntry::new(1, Command::new(2, new)), &mut buf);
    // side, ord_type, tif, stp sit at 17 + 60 ..= 17 + 63.
    for (off, field) in [(77, "side"), (78, "ord_type"), (79, "tif"), (80, "stp")] {
        let mut b = buf.clone();
        b[off] = 200;
        assert_eq!(
            decode(&b),
            Err(DecodeError::BadEnum {
                field,
                offset: off,
                value: 200
            })
        );
    }
    let mut b = buf.clone();
    b[16] = 99;
    assert_eq!(
        decode(&b),
        Err(DecodeError::UnknownTag {
            offset: 16,
            tag: 99
        })
    );
    let mut b = buf.clone();
    b.push(0);
    assert_eq!(
        decode(&b),
        Err(DecodeError::Trailing {
            offset: 82,
            extra: 1
        })
    );
    let msg = DecodeError::BadEnum {
        field: "tif",
        offset: 79,
        value: 9,
    }
    .to_string();
    assert_eq!(msg, "invalid tif code 9 at byte 79");
}
