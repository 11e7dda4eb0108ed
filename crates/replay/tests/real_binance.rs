//! The Binance capture reader and book rebuild on the bundled captures.

use std::path::PathBuf;

use ferrex_replay::binance::{self, BinanceCapture, BinanceError, LineError, Market, Scale};
use ferrex_types::Side;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

#[test]
fn futures_capture() {
    let cap = BinanceCapture::open(data("usdm_btcusdt_20240808.gz")).unwrap();
    let (book, st, scale) = cap.replay().unwrap();
    assert_eq!(
        scale,
        Scale {
            price_decimals: 1,
            qty_decimals: 3
        }
    );
    assert_eq!(st.lines, 93_954);
    assert_eq!(st.depth_updates, 6_551);
    assert_eq!(st.trades, 21_313);
    assert_eq!(st.book_tickers, 66_089);
    assert_eq!(st.snapshots, 1);
    assert_eq!(st.gaps, vec![]);
    assert_eq!(st.first_applied_line, Some(42));
    assert_eq!(st.applied + st.dropped, 6_551);
    assert_eq!(st.unsynced, 0);
    assert_eq!(st.crossed, 0);
    eprintln!("futures: {st:?}");
    // The book agrees with every book ticker that lands exactly on a diff boundary.
    assert_eq!(st.bbo_checked, 629);
    assert_eq!(
        st.bbo_mismatches, 0,
        "first at line {:?}",
        st.first_bbo_mismatch_line
    );
    let (b, a) = (book.best_bid().unwrap(), book.best_ask().unwrap());
    assert!(b.0 < a.0);
    assert!(book.levels(Side::Buy) > 100 && book.levels(Side::Sell) > 100);
}

#[test]
fn spot_capture() {
    let cap = BinanceCapture::open(data("spot_btcusdt_20240808.gz")).unwrap();
    let (book, st, scale) = cap.replay().unwrap();
    assert_eq!(
        scale,
        Scale {
            price_decimals: 2,
            qty_decimals: 6
        }
    );
    assert_eq!(st.lines, 41_249);
    assert_eq!(st.depth_updates, 3_451);
    assert_eq!(st.trades, 9_757);
    assert_eq!(st.book_tickers, 28_040);
    assert_eq!(st.snapshots, 1);
    assert_eq!(st.gaps, vec![]);
    assert_eq!(st.first_applied_line, Some(6));
    assert_eq!(st.applied + st.dropped, 3_451);
    assert_eq!(st.crossed, 0);
    eprintln!("spot: {st:?}");
    assert_eq!(st.bbo_checked, 564);
    assert_eq!(
        st.bbo_mismatches, 0,
        "first at line {:?}",
        st.first_bbo_mismatch_line
    );
    assert!(book.best_bid().unwrap().0 < book.best_ask().unwrap().0);
}

#[test]
fn market_is_detected() {
    let cap = BinanceCapture::open(data("spot_btcusdt_20240808.gz")).unwrap();
    let mut r = binance::BinanceReplay::new(Scale::detect(cap.text()));
    for (i, l) in cap.text().lines().take(10).enumerate() {
        r.feed_line(i as u64 + 1, l).unwrap();
    }
    assert_eq!(r.market(), Some(Market::Spot));
    assert!(r.is_synced());
}

#[test]
fn a_removed_diff_is_a_gap_with_its_line() {
    let cap = BinanceCapture::open(data("usdm_btcusdt_20240808.gz")).unwrap();
    // Delete the 100th depth update after the bridge: the next one must be reported as a gap.
    let lines: Vec<&str> = cap.text().lines().collect();
    let depth_lines: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(i, l)| *i > 55 && l.contains("@depth"))
        .map(|(i, _)| i)
        .collect();
    let removed = depth_lines[100];
    let next = depth_lines[101];
    let text: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != removed)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let cap = BinanceCapture::from_bytes("cut".into(), text.as_bytes()).unwrap();
    let (_, st, _) = cap.replay().unwrap();
    assert_eq!(st.gaps.len(), 1);
    let g = st.gaps[0];
    // Line numbers are 1-based in the edited text: `next` moved up by one.
    assert_eq!(g.line, next as u64);
    assert_eq!(g.kind, binance::GapKind::Chain);
    assert_ne!(g.expected, g.found);
    // No later snapshot: everything after the gap is unsynced, never applied.
    assert_eq!(st.unsynced, (depth_lines.len() - 101) as u64);
}

#[test]
fn bad_json_line_names_its_line() {
    let good = "1 {\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":1,\"T\":1,\"s\":\"BTCUSDT\",\"t\":1,\"p\":\"1.5\",\"q\":\"2\",\"m\":true}}\n";
    let text = format!("{good}{good}1 {{\"stream\":\"btcusdt@trade\",\"data\":{{\"e\":\"trade\"\n");
    let cap = BinanceCapture::from_bytes("x".into(), text.as_bytes()).unwrap();
    let e = cap.replay().unwrap_err();
    assert!(
        matches!(
            e,
            BinanceError::Line {
                line: 3,
                source: LineError::Json(_)
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().starts_with("line 3: JSON: "), "{e}");

    for (line, want) in [
        ("123", "expected `<local_recv_ns> <json>`"),
        ("12a {}", "local_recv_ns \"12a\""),
        ("1 {}", "neither a combined-stream frame"),
        ("1 {\"stream\":\"x@trade\"}", "without `data`"),
        (
            "1 {\"stream\":\"x@trade\",\"data\":{\"p\":1}}",
            "JSON: invalid type",
        ),
    ] {
        let e = binance::parse_line(line).unwrap_err();
        assert!(e.to_string().contains(want), "{line}: {e}");
    }
}

#[test]
fn off_scale_decimal_is_an_error() {
    let text = "1 {\"lastUpdateId\":5,\"bids\":[[\"1.25\",\"1\"]],\"asks\":[]}\n";
    let mut r = binance::BinanceReplay::new(Scale {
        price_decimals: 1,
        qty_decimals: 0,
    });
    let e = r.feed_line(7, text.trim_end()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 7: bid price \"1.25\" is not a decimal with at most 1 significant decimals"
    );
}
