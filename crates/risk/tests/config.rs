//! Config loading: the sample parses; each kind of bad config is refused, naming the key.

use ferrex_risk::{ConfigError, Risk, RiskConfig};
use ferrex_types::{AccountId, InstrumentId};

const GOOD: &str = r#"
max_orders = 4096

[[instruments]]
id = 0
tick_size = 5
lot_size = 10
min_qty = 10
max_qty = 1000
min_price = 100
max_price = 100000
max_order_qty = 500
max_order_notional = 1000000
market_protection_ticks = 20
reference_price = 1000
price_band = { ticks = 20 }
velocity = { max_move_ticks = 50, window_ns = 1000000, halt_ns = 5000000 }

[[accounts]]
id = 3
credit_limit = 100000000
max_open_orders = 10
max_open_orders_per_instrument = 5
max_order_qty = 100
max_order_notional = 50000
max_long = 1000
max_short = 500
throttle = { rate = 100, window_ns = 1000000000, halt_threshold = 200, halt_ns = 0 }
mmp = { window_ns = 1000000, max_qty = 100, max_count = 10, freeze_ns = 0 }
"#;

#[test]
fn good_config_parses_and_builds() {
    let cfg = RiskConfig::from_toml_str(GOOD).unwrap();
    assert_eq!(cfg.max_orders, 4096);
    assert_eq!(cfg.instruments[0].price_band.unwrap().ticks, Some(20));
    assert_eq!(cfg.accounts[0].throttle.unwrap().halt_threshold, Some(200));
    let r = Risk::new(&cfg).unwrap();
    assert_eq!(
        r.book_params(InstrumentId(0))
            .unwrap()
            .market_protection_ticks,
        20
    );
    assert_eq!(r.open_orders(AccountId(3)), 0);
}

#[test]
fn shipped_sample_config_is_valid() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/risk.toml"
    ))
    .expect("config/risk.toml");
    let cfg = RiskConfig::from_toml_str(&text).unwrap();
    assert_eq!(cfg.accounts.len(), 10);
    let ids: Vec<u32> = cfg.accounts.iter().map(|a| a.id).collect();
    assert_eq!(ids, (1..=10).collect::<Vec<_>>());
    let i = &cfg.instruments[0];
    assert!(i.price_band.is_some() && i.velocity.is_some() && i.max_order_notional.is_some());
    assert!(
        cfg.accounts
            .iter()
            .all(|a| a.credit_limit.is_some() && a.throttle.is_some())
    );
    assert!(cfg.accounts.iter().any(|a| a.mmp.is_some()));
    Risk::new(&cfg).unwrap();
}

fn err(text: &str) -> String {
    match RiskConfig::from_toml_str(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.to_string(),
    }
}

/// Replace `from` with `to` in the good config and expect an error mentioning `key`.
fn refused(from: &str, to: &str, key: &str, problem: &str) {
    assert!(GOOD.contains(from), "{from}");
    let msg = err(&GOOD.replacen(from, to, 1));
    assert!(msg.contains(key), "message {msg:?} lacks key {key:?}");
    assert!(msg.contains(problem), "message {msg:?} lacks {problem:?}");
}

#[test]
fn bad_values_name_the_key() {
    refused(
        "credit_limit = 100000000",
        "credit_limit = 0",
        "accounts[0].credit_limit",
        "must be > 0",
    );
    refused(
        "credit_limit = 100000000",
        "credit_limit = -5",
        "accounts[0].credit_limit",
        "must be > 0",
    );
    refused("id = 3", "id = 0", "accounts[0].id", ">= 1");
    refused(
        "tick_size = 5",
        "tick_size = 0",
        "instruments[0].tick_size",
        "must be > 0",
    );
    refused(
        "lot_size = 10",
        "lot_size = 0",
        "instruments[0].lot_size",
        "must be > 0",
    );
    refused(
        "min_qty = 10",
        "min_qty = 0",
        "instruments[0].min_qty",
        "must be > 0",
    );
    refused(
        "max_qty = 1000",
        "max_qty = 5",
        "instruments[0].max_qty",
        ">= min_qty",
    );
    refused(
        "min_price = 100",
        "min_price = 0",
        "instruments[0].min_price",
        "must be > 0",
    );
    refused(
        "max_price = 100000",
        "max_price = 50",
        "instruments[0].max_price",
        ">= min_price",
    );
    refused(
        "max_order_qty = 500",
        "max_order_qty = 0",
        "instruments[0].max_order_qty",
        "must be > 0",
    );
    refused(
        "max_order_notional = 50000",
        "max_order_notional = 0",
        "accounts[0].max_order_notional",
        "> 0",
    );
    refused(
        "market_protection_ticks = 20",
        "market_protection_ticks = -1",
        "instruments[0].market_protection_ticks",
        ">= 0",
    );
    refused(
        "reference_price = 1000",
        "reference_price = 1",
        "instruments[0].reference_price",
        "within",
    );
    refused(
        "{ ticks = 20 }",
        "{ ticks = 20, bps = 5 }",
        "instruments[0].price_band",
        "exactly one",
    );
    refused(
        "{ ticks = 20 }",
        "{ }",
        "instruments[0].price_band",
        "exactly one",
    );
    refused(
        "{ ticks = 20 }",
        "{ ticks = 0 }",
        "instruments[0].price_band.ticks",
        "> 0",
    );
    refused(
        "max_move_ticks = 50",
        "max_move_ticks = 0",
        "instruments[0].velocity.max_move_ticks",
        "> 0",
    );
    refused(
        "window_ns = 1000000, halt_ns",
        "window_ns = 0, halt_ns",
        "instruments[0].velocity.window_ns",
        "> 0",
    );
    refused(
        "halt_ns = 5000000",
        "halt_ns = 0",
        "instruments[0].velocity.halt_ns",
        "> 0",
    );
    refused(
        "rate = 100,",
        "rate = 0,",
        "accounts[0].throttle.rate",
        "> 0",
    );
    refused(
        "halt_threshold = 200",
        "halt_threshold = 100",
        "accounts[0].throttle.halt_threshold",
        "> rate",
    );
    refused(
        "window_ns = 1000000000, halt_threshold",
        "window_ns = 0, halt_threshold",
        "accounts[0].throttle.window_ns",
        "> 0",
    );
    refused(
        "window_ns = 1000000000, halt_threshold",
        "window_ns = 9223372036854775807, halt_threshold",
        "accounts[0].throttle.window_ns",
        "64 bits",
    );
    refused(
        "max_qty = 100, max_count = 10, ",
        "",
        "accounts[0].mmp",
        "needs max_qty or max_count",
    );
    refused(
        "max_qty = 100, max_count = 10",
        "max_qty = 100, max_count = 0",
        "accounts[0].mmp.max_count",
        "> 0",
    );
    refused(
        "{ window_ns = 1000000, max_qty",
        "{ window_ns = 0, max_qty",
        "accounts[0].mmp.window_ns",
        "> 0",
    );
    refused(
        "max_orders = 4096",
        "max_orders = 0",
        "max_orders",
        "must be > 0",
    );
}

#[test]
fn structural_errors_name_the_key() {
    // Unknown key (a typo) is refused with its name.
    refused(
        "credit_limit = 100000000",
        "credit_limt = 100000000",
        "credit_limt",
        "unknown field",
    );
    // Wrong type.
    refused(
        "max_open_orders = 10",
        "max_open_orders = \"ten\"",
        "max_open_orders",
        "",
    );
    // Negative where unsigned.
    refused("max_long = 1000", "max_long = -1", "max_long", "");
    // Duplicates.
    let dup = format!("{GOOD}\n[[accounts]]\nid = 3\n");
    let msg = err(&dup);
    assert!(
        msg.contains("accounts[1].id") && msg.contains("duplicate"),
        "{msg}"
    );
    let dup = format!("{GOOD}\n[[instruments]]\nid = 0\n");
    let msg = err(&dup);
    assert!(
        msg.contains("instruments[1].id") && msg.contains("duplicate"),
        "{msg}"
    );
    // Nothing to trade / nobody to trade.
    assert!(err("[[accounts]]\nid = 1\n").contains("instruments"));
    assert!(err("[[instruments]]\nid = 0\n").contains("accounts"));
    assert!(err("[[instruments]]\nid = 0\n[default_account]\n").contains("max_accounts"));
    // Syntax error.
    assert!(matches!(
        RiskConfig::from_toml_str("max_orders = = 3"),
        Err(ConfigError::Parse(_))
    ));
    // Too large for the dense tables.
    let big = "[[instruments]]\nid = 1000000\n[[accounts]]\nid = 16000000\n";
    assert!(err(big).contains("slots"));
}

#[test]
fn built_in_code_is_validated_by_new() {
    let mut cfg = RiskConfig::from_toml_str(GOOD).unwrap();
    cfg.accounts[0].credit_limit = Some(0);
    match Risk::new(&cfg) {
        Err(ConfigError::Invalid { key, problem }) => {
            assert_eq!(key, "accounts[0].credit_limit");
            assert_eq!(problem, "must be > 0");
        }
        _ => panic!("accepted a zero credit limit"),
    }
}
