//! Property tests: the ITCH reader and the Binance line parser never panic, whatever the input.
//! The same bodies are the cargo-fuzz targets in `fuzz/` (`itch_decode`, `binance_line`), which
//! need a nightly toolchain; these run on stable.

use ferrex_replay::{binance, fuzz_targets, itch};
use proptest::prelude::*;

fn itch_like() -> impl Strategy<Value = Vec<u8>> {
    // Frames with plausible lengths and real type bytes, so the decoder's inner paths are reached,
    // mixed with raw noise.
    let frame = (
        prop::sample::select(itch::MESSAGE_TYPES.to_vec()),
        prop::bool::weighted(0.8),
        prop::collection::vec(any::<u8>(), 0..60),
    )
        .prop_map(|(t, exact, mut body)| {
            let n = if exact {
                itch::body_len(t).unwrap()
            } else {
                body.len().max(1)
            };
            body.resize(n, b'B');
            body[0] = t;
            let mut f = (n as u16).to_be_bytes().to_vec();
            f.extend_from_slice(&body);
            f
        });
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        prop::collection::vec(frame, 0..20).prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn itch_reader_never_panics(buf in itch_like(), cut in any::<usize>()) {
        fuzz_targets::itch_decode(&buf);
        let cut = if buf.is_empty() { 0 } else { cut % buf.len() };
        fuzz_targets::itch_decode(&buf[..cut]);
        // Whatever happens, at most one error and it is the last item.
        let items: Vec<_> = itch::ItchReader::new(&buf).collect();
        let errs = items.iter().filter(|r| r.is_err()).count();
        prop_assert!(errs <= 1);
        if errs == 1 {
            prop_assert!(items.last().unwrap().is_err());
        }
    }

    #[test]
    fn binance_parser_never_panics(line in "[0-9]{0,20} \\{.{0,200}", raw in prop::collection::vec(any::<u8>(), 0..300)) {
        fuzz_targets::binance_line(line.as_bytes());
        fuzz_targets::binance_line(&raw);
    }

    #[test]
    fn binance_structured_lines_never_panic(
        u0 in 0u64..100, len in 0u64..5, pu in proptest::option::of(0u64..100),
        px in "[0-9]{1,6}(\\.[0-9]{0,9})?", qty in "[0-9]{1,4}(\\.[0-9]{0,9})?",
        snapshot in any::<bool>(),
    ) {
        let pu = pu.map(|p| format!(",\"pu\":{p}")).unwrap_or_default();
        let line = if snapshot {
            format!("5 {{\"lastUpdateId\":{u0},\"bids\":[[\"{px}\",\"{qty}\"]],\"asks\":[]}}")
        } else {
            format!("5 {{\"stream\":\"btcusdt@depth\",\"data\":{{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"X\",\"U\":{u0},\"u\":{}{pu},\"b\":[],\"a\":[[\"{px}\",\"{qty}\"]]}}}}", u0 + len)
        };
        prop_assert!(binance::parse_line(&line).is_ok(), "{}", line);
        fuzz_targets::binance_line(line.as_bytes());
    }
}
