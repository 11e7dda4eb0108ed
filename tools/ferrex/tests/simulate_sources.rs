//! `ferrex simulate` / `compare-algos` on the ITCH and Binance sources (bundled data).

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ferrex(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrex"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run ferrex");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

/// Fills happened; the filled quantity is the parent's or the report says why not; the
/// per-fill quantities add up to `filled_qty`.
fn check_report(v: &serde_json::Value, qty: u64) {
    let filled = v["filled_qty"].as_u64().unwrap();
    assert!(filled > 0, "no fills: {v}");
    assert!(v["details"]["fills"].as_u64().unwrap() > 0);
    let reason = v["unfilled_reason"].as_str().unwrap();
    if filled == qty {
        assert!(reason.is_empty(), "{v}");
        assert_eq!(v["fill_ratio"], 1.0);
    } else {
        assert!(filled < qty, "overfilled: {v}");
        assert!(
            reason.starts_with(&format!("{} lots unfilled", qty - filled)),
            "{v}"
        );
    }
    let p = v["avg_price"].as_f64().unwrap();
    let a = v["arrival_price"].as_f64().unwrap();
    assert!(p.is_finite() && a.is_finite() && p > 0.0 && a > 0.0, "{v}");
}

#[test]
fn itch_sourced_simulate_fills_with_exact_queue() {
    let (out, err, ok) = ferrex(&[
        "simulate",
        "--data",
        "tests/data/AAPL_20191230_0935.itch50",
        "--format",
        "itch",
        "--symbol",
        "AAPL",
        "--side",
        "buy",
        "--qty",
        "1500",
        "--algo",
        "twap",
        "--horizon",
        "60s",
        "--reversion",
        "10s",
        "--latency",
        "100us",
        "--ack-latency",
        "100us",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["source"], "itch");
    assert_eq!(v["queue"], "exact");
    assert_eq!(v["algo"], "twap");
    check_report(&v, 1500);
    // Prices are dollars: AAPL traded around $288-$290 in this excerpt.
    let p = v["avg_price"].as_f64().unwrap();
    assert!((280.0..300.0).contains(&p), "{p}");
    assert!(v["latency_slippage_bps"].is_f64());
}

#[test]
fn binance_sourced_compare_algos_names_source_and_queue() {
    let (out, err, ok) = ferrex(&[
        "compare-algos",
        "--data",
        "tests/data/spot_btcusdt_20240808.gz",
        "--format",
        "binance",
        "--queue",
        "probabilistic",
        "--seed",
        "7",
        "--side",
        "sell",
        "--qty",
        "2000000",
        "--horizon",
        "60s",
        "--reversion",
        "10s",
        "--display",
        "200000",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for r in runs {
        assert_eq!(r["source"], "binance");
        assert_eq!(r["queue"], "probabilistic");
        check_report(r, 2_000_000);
    }
    // The immediate order walks the real bids: its average is at or below the arrival mid.
    let imm = &runs[0];
    assert_eq!(imm["algo"], "immediate");
    assert!(imm["avg_price"].as_f64().unwrap() <= imm["arrival_price"].as_f64().unwrap());
    // Same seed, same result.
    let (out2, _, ok2) = ferrex(&[
        "compare-algos",
        "--data",
        "tests/data/spot_btcusdt_20240808.gz",
        "--format",
        "binance",
        "--queue",
        "probabilistic",
        "--seed",
        "7",
        "--side",
        "sell",
        "--qty",
        "2000000",
        "--horizon",
        "60s",
        "--reversion",
        "10s",
        "--display",
        "200000",
        "--json",
    ]);
    assert!(ok2);
    assert_eq!(out, out2);
}

#[test]
fn binance_table_and_plot_and_exact_queue_refused() {
    let dir = std::env::temp_dir().join(format!("ferrex-simsrc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("cmp.png");
    let (out, err, ok) = ferrex(&[
        "compare-algos",
        "--data",
        "tests/data/usdm_btcusdt_20240808.gz",
        "--format",
        "binance",
        "--side",
        "buy",
        "--qty",
        "5000",
        "--horizon",
        "30s",
        "--reversion",
        "5s",
        "--latency",
        "20ms",
        "--ack-latency",
        "20ms",
        "--plot",
        png.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("source binance"), "{out}");
    assert!(out.contains("queue model conservative"), "{out}");
    assert!(out.contains("latency slippage (bps)"), "{out}");
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"));
    std::fs::remove_dir_all(&dir).ok();
    let (_, err, ok) = ferrex(&[
        "simulate",
        "--data",
        "tests/data/usdm_btcusdt_20240808.gz",
        "--format",
        "binance",
        "--queue",
        "exact",
        "--qty",
        "10",
    ]);
    assert!(!ok);
    assert!(err.contains("level data"), "{err}");
}
