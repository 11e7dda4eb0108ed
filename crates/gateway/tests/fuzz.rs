//! Random and mutated input never panics any decoder, and decoders agree with encoders.

use ferrex_gateway::{fix, ouch, soupbin};
use proptest::prelude::*;

fn valid_fix() -> Vec<u8> {
    let h = fix::Header {
        sender: b"TW",
        target: b"ISLD",
        seq: 12,
        sending_time: 1_700_000_000_000_000_000,
        poss_dup: Some(1_600_000_000_000_000_000),
        extra: &[],
    };
    let mut out = Vec::new();
    fix::logon(&mut out, &h, 30, true, Some(b"user"), Some(b"pw"));
    out
}

fn valid_ouch() -> Vec<u8> {
    let mut v = vec![b'O', 0, 0, 0, 1, b'B', 0, 0, 0, 100];
    v.extend_from_slice(b"AAPL    ");
    v.extend_from_slice(&1_234_500u64.to_be_bytes());
    v.extend_from_slice(b"0YANN");
    v.extend_from_slice(b"ORD-1         ");
    v.extend_from_slice(&[0, 6, 5, 5, 0, 0, 0, 9]);
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn soupbin_random_bytes(buf in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut at = 0;
        // Walk the stream like a server would; stops at the first error or incomplete packet.
        while let Ok(Some((p, n))) = soupbin::decode(&buf[at..]) {
            prop_assert!(n >= 3 && at + n <= buf.len());
            let mut v = Vec::new();
            // Re-encoding a decoded packet gives the same bytes, except for numeric fields
            // written with leading zeros (normalised) — compare by decoding again.
            if soupbin::encode(&p, &mut v).is_ok() {
                let (q, _) = soupbin::decode(&v).unwrap().unwrap();
                prop_assert_eq!(p, q);
            }
            at += n;
        }
    }

    #[test]
    fn ouch_random_bytes(buf in proptest::collection::vec(any::<u8>(), 0..120)) {
        if let Ok(m) = ouch::Inbound::decode(&buf) {
            let mut v = Vec::new();
            m.encode(&mut v).unwrap();
            prop_assert_eq!(&v, &buf);
        }
        if let Ok(m) = ouch::Outbound::decode(&buf) {
            let mut v = Vec::new();
            m.encode(&mut v).unwrap();
            prop_assert_eq!(&v, &buf);
        }
    }

    #[test]
    fn ouch_mutated(idx in 0usize..55, byte in any::<u8>(), cut in 0usize..56) {
        let mut v = valid_ouch();
        let i = idx % v.len();
        v[i] = byte;
        let _ = ouch::Inbound::decode(&v);
        let _ = ouch::Inbound::decode(&v[..cut.min(v.len())]);
    }

    #[test]
    fn fix_random_bytes(buf in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = fix::parse(&buf);
        let _ = fix::frame(&buf, 4096);
        let r = fix::resync(&buf);
        prop_assert!(r <= buf.len());
    }

    #[test]
    fn fix_mutated(idx in 0usize..200, byte in any::<u8>(), cut in 0usize..200) {
        let mut v = valid_fix();
        let i = idx % v.len();
        v[i] = byte;
        if let Ok(m) = fix::parse(&v) {
            let _ = m.seq_num();
            let _ = m.get_time(52);
            let _ = ferrex_gateway::fix_map::NewOrderSingle::from_message(&m);
        }
        let _ = fix::frame(&v, 4096);
        let _ = fix::parse(&v[..cut.min(v.len())]);
    }

    #[test]
    fn fix_structured_garbage(fields in proptest::collection::vec(("[0-9-]{0,4}", "[ -~]{0,6}"), 0..12)) {
        // Well-framed messages with arbitrary tag=value content.
        let mut body = b"35=0\x01".to_vec();
        for (t, v) in &fields {
            body.extend_from_slice(t.as_bytes());
            body.push(b'=');
            body.extend_from_slice(v.as_bytes());
            body.push(1);
        }
        let mut m = format!("8=FIX.4.4\x019={}\x01", body.len()).into_bytes();
        m.extend_from_slice(&body);
        let sum = fix::checksum(&m);
        m.extend_from_slice(format!("10={sum:03}\x01").as_bytes());
        prop_assert_eq!(fix::frame(&m, 1 << 20), Ok(Some(m.len())));
        let _ = fix::parse(&m);
    }

    #[test]
    fn fix_decimal_format_parse(m in any::<i64>(), d in 0u32..10) {
        let mut b = [0u8; 48];
        let n = fix::format_decimal(i128::from(m), d, &mut b);
        let back = ferrex_gateway::fix_map::Decimal::parse(&b[..n]).unwrap();
        let scale = ferrex_gateway::fix_map::PriceScale::decimals(d);
        prop_assert_eq!(scale.to_ticks(back), Some(ferrex_types::Price(m)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// A logged-on session fed random mutations of valid messages never panics and keeps its
    /// sequence numbers monotonic.
    #[test]
    fn fix_session_survives_mutations(muts in proptest::collection::vec((0usize..120, any::<u8>(), 0u64..5), 1..30)) {
        use ferrex_gateway::fix_session::{Session, SessionConfig};
        let now = 1_700_000_000_000_000_000u64;
        let mut s = Session::new(SessionConfig::new(b"ISLD", b"TW"));
        let mut out = Vec::new();
        let h = |seq| fix::Header { sender: b"TW", target: b"ISLD", seq, sending_time: now, poss_dup: None, extra: &[] };
        let mut logon = Vec::new();
        fix::logon(&mut logon, &h(1), 30, false, None, None);
        s.on_message(&logon, now, &mut out);
        for (seq, (i, b, dt)) in (2u64..).zip(muts) {
            let mut m = Vec::new();
            fix::test_request(&mut m, &h(seq), b"X");
            let k = i % m.len();
            m[k] = b;
            let before = s.next_out();
            let _ = s.on_message(&m, now + dt * 1_000_000_000, &mut out);
            let _ = s.on_timer(now + dt * 2_000_000_000, &mut out);
            prop_assert!(s.next_out() >= before);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random byte streams through SoupBinTCP framing into a server session never panic.
    #[test]
    fn soupbin_session_random_streams(buf in proptest::collection::vec(any::<u8>(), 0..300), replay in 0u64..8) {
        use ferrex_gateway::soupbin_session::{SoupConfig, SoupSession};
        let mut s = SoupSession::new(SoupConfig::new(b"S1"));
        let mut out = Vec::new();
        for i in 0..5u8 {
            s.send_sequenced(&[b'S', i], 0, &mut out);
        }
        s.on_connect(0);
        // A valid login first (sometimes), then garbage.
        let mut stream = Vec::new();
        if replay % 2 == 0 {
            soupbin::encode(&soupbin::Packet::LoginRequest { username: b"U", password: b"P", session: b"", sequence: replay }, &mut stream).unwrap();
        }
        stream.extend_from_slice(&buf);
        let mut at = 0;
        while let Ok(Some((p, n))) = soupbin::decode(&stream[at..]) {
            at += n;
            let step = s.on_packet(&p, 1, &mut out, |_, _| true);
            if step.disconnect { break; }
        }
        let _ = s.on_timer(2_000_000_000, &mut out);
        // Whatever was written is a valid packet stream.
        let mut k = 0;
        while k < out.len() {
            let (_, n) = soupbin::decode(&out[k..]).unwrap().unwrap();
            k += n;
        }
    }
}
