//! LOBSTER replay with verification against the reference orderbook rows.

use std::path::PathBuf;

use ferrex_replay::lobster::LobsterPair;
use ferrex_replay::lobster_replay::{LobsterReplayConfig, replay};

fn pair(ticker: &str, levels: usize) -> LobsterPair {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data");
    let base = format!("{ticker}_2012-06-21_34200000_57600000");
    LobsterPair::open(
        dir.join(format!("{base}_message_{levels}.csv")),
        dir.join(format!("{base}_orderbook_{levels}.csv")),
        None,
    )
    .unwrap()
}

#[test]
fn amzn_level1_zero_mismatches() {
    let s = replay(&pair("AMZN", 1), LobsterReplayConfig::default()).unwrap();
    eprintln!(
        "{s:#?}\nhead {:.4} known {:.4}",
        s.head_of_queue_share(),
        s.head_of_queue_share_known()
    );
    assert_eq!(s.rows, 57_515);
    assert_eq!(s.compared, 57_514);
    assert_eq!(s.matched + s.reseeded + s.mismatches, s.compared);
    assert_eq!(s.mismatches, 0, "{:?}", s.mismatch_details);
}

#[test]
fn aapl_level10_zero_mismatches() {
    let s = replay(&pair("AAPL", 10), LobsterReplayConfig::default()).unwrap();
    eprintln!(
        "{s:#?}\nhead {:.4} known {:.4}",
        s.head_of_queue_share(),
        s.head_of_queue_share_known()
    );
    assert_eq!(s.rows, 999);
    assert_eq!(s.matched + s.reseeded + s.mismatches, s.compared);
    assert_eq!(s.mismatches, 0, "{:?}", s.mismatch_details);
}
