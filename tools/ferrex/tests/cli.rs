//! End-to-end tests of the `ferrex` binary.

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

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn run_prints_every_event_as_json() {
    let (out, err, ok) = ferrex(&["run", "--commands", "examples/commands.csv", "--json"]);
    assert!(ok, "{err}");
    let ev = json_lines(&out);
    // Every event has seq, type, order_id; seq is gap-free.
    for (i, e) in ev.iter().enumerate() {
        assert_eq!(e["seq"], i as u64 + 1);
        assert!(e["type"].is_string());
        assert!(e["order_id"].is_u64(), "{e}");
    }
    let trades: Vec<_> = ev.iter().filter(|e| e["type"] == "trade").collect();
    // The IOC buy at 102 sweeps 101 then 102 (iceberg shows 10, refills), never beyond 102.
    assert_eq!(trades[0]["price"], 101);
    assert_eq!(trades[0]["qty"], 10);
    assert_eq!(trades[0]["maker_order_id"], 1);
    assert_eq!(trades[0]["taker_order_id"], 3);
    assert!(trades.iter().all(|t| t["price"].as_i64().unwrap() <= 102));
    let rejects: Vec<_> = ev.iter().filter(|e| e["type"] == "rejected").collect();
    assert_eq!(rejects[0]["reason"], "post_only_would_take");
    assert!(
        rejects
            .iter()
            .any(|r| r["reason"] == "unknown_order" && r["order_id"] == 99)
    );
    assert!(rejects.iter().any(|r| r["reason"] == "fok_not_fillable"));
    assert!(
        ev.iter()
            .any(|e| e["type"] == "triggered" && e["order_id"] == 6)
    );
    assert!(
        ev.iter()
            .any(|e| e["type"] == "expired" && e["order_id"] == 9)
    );
    assert!(
        ev.iter()
            .any(|e| e["type"] == "replaced" && e["kept_priority"] == true)
    );
    assert!(
        ev.iter()
            .any(|e| e["type"] == "cancelled" && e["reason"] == "requested")
    );
    // The invalid line is reported with its line number, and the run went on.
    assert!(err.contains("line 18: side: `up`"), "{err}");
}

#[test]
fn run_with_config_checks_tick_and_lot() {
    let dir = std::env::temp_dir().join(format!("ferrex-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("inst.toml");
    std::fs::write(
        &cfg,
        "[[instrument]]\nname = \"ABC\"\ntick_size = 5\nlot_size = 100\nmin_price = 5\nmax_price = 100000\n",
    )
    .unwrap();
    let script = dir.join("s.csv");
    std::fs::write(
        &script,
        "action,time,account,instrument,order_id,side,type,tif,price,qty\n\
         new,1,1,ABC,1,buy,limit,gtc,101,100\n\
         new,2,1,ABC,2,buy,limit,gtc,100,150\n\
         new,3,1,ABC,3,buy,limit,gtc,100,200\n\
         new,4,1,XYZ,4,buy,limit,gtc,100,200\n",
    )
    .unwrap();
    let (out, err, ok) = ferrex(&[
        "run",
        "--commands",
        script.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--json",
    ]);
    assert!(ok, "{err}");
    let ev = json_lines(&out);
    assert_eq!(ev[0]["reason"], "tick_size");
    assert_eq!(ev[0]["limit"], 5);
    assert_eq!(ev[1]["reason"], "lot_size");
    assert_eq!(ev[2]["type"], "accepted");
    assert!(
        err.contains("line 5") && err.contains("not in the config"),
        "{err}"
    );

    // A bad config is refused naming the key.
    std::fs::write(&cfg, "[[instrument]]\nname = \"ABC\"\ntick_size = 0\n").unwrap();
    let (_, err, ok) = ferrex(&[
        "run",
        "--commands",
        script.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("tick_size") && err.contains(">= 1"), "{err}");
}

#[test]
fn demo_prints_a_summary() {
    let (out, err, ok) = ferrex(&["demo", "--passes", "2"]);
    assert!(ok, "{err}");
    assert!(out.contains("35759 messages"), "{out}");
    assert!(out.contains("ns/message"), "{out}");
    assert!(out.contains("best bid"), "{out}");
}

#[test]
fn bench_json_has_the_documented_shape() {
    let (out, err, ok) = ferrex(&[
        "bench",
        "--orders",
        "20000",
        "--rate",
        "200000",
        "--segments",
        "4",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["orders"], 20000);
    for k in ["throughput_per_sec", "floor_rtt_ns", "p50_over_floor"] {
        assert!(v[k].is_number(), "{k}: {v}");
    }
    for k in ["p50", "p90", "p99", "p999", "p9999", "max"] {
        assert!(v["latency_ns"][k].as_f64().unwrap() > 0.0, "{k}: {v}");
    }
    assert_eq!(v["engine_commands"], 20000);
}

#[test]
fn journal_recover_and_verify_reproduce_the_run() {
    let dir = std::env::temp_dir().join(format!("ferrex-journal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let (_, err, ok) = ferrex(&["run", "--commands", "examples/commands.csv", "--journal", d]);
    assert!(ok, "{err}");
    let line = err.lines().find(|l| l.starts_with("journal:")).expect(&err);
    assert!(line.contains("12 commands, last seq 12"), "{line}");
    let hash = |s: &str, key: &str| {
        let i = s.find(key).unwrap_or_else(|| panic!("{key} in {s}")) + key.len();
        s[i..]
            .split(|c: char| !c.is_ascii_hexdigit())
            .next()
            .unwrap()
            .to_string()
    };
    let run_hash = hash(line, "event-stream hash ");
    let run_state = hash(line, "state hash ");

    let (out, err, ok) = ferrex(&["recover", "--journal", d]);
    assert!(ok, "{err}");
    assert!(out.contains("12 commands"), "{out}");
    assert_eq!(hash(&out, "event-stream hash "), run_hash, "{out}");
    assert_eq!(hash(&out, "state hash "), run_state, "{out}");

    let (out, err, ok) = ferrex(&["journal", "verify", d]);
    assert!(ok, "{err}");
    assert!(out.contains("deterministic"), "{out}");

    // A torn tail is cut at the last good record and reported, never replayed half.
    let seg = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    let (out, err, ok) = ferrex(&["recover", "--journal", d]);
    assert!(ok, "{err}");
    assert!(
        out.contains("torn tail") && out.contains("11 commands"),
        "{out}"
    );

    // A journal directory is never appended to by a fresh run.
    let (_, err, ok) = ferrex(&["run", "--commands", "examples/commands.csv", "--journal", d]);
    assert!(!ok);
    assert!(err.contains("already holds commands"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
