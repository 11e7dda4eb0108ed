//! Snapshots end to end through the `ferrex` binary: `run --journal --snapshot-every`,
//! `recover` and `journal verify` agree on the final sequence number and state hash; a damaged
//! snapshot is skipped (reported) for the previous one; a snapshot that does not match the
//! journal makes `journal verify` fail and say where.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
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

const RISK: &str = r#"
max_orders = 4096
[[instruments]]
id = 0
reference_price = 100
price_band = { ticks = 30 }
velocity = { max_move_ticks = 20, window_ns = 500, halt_ns = 400 }
[[instruments]]
id = 1
reference_price = 100
[[accounts]]
id = 1
credit_limit = 200000
mmp = { window_ns = 400, max_qty = 30, freeze_ns = 300 }
[[accounts]]
id = 2
throttle = { rate = 8, window_ns = 100, halt_threshold = 12, halt_ns = 200 }
[[accounts]]
id = 3
max_long = 300
max_short = 300
"#;

/// A deterministic mixed script: limit / market / stop / stop-limit orders, IOC, FOK, GTD,
/// post-only, icebergs, MMP flags, modifies, cancels, mass cancels and risk commands.
fn script(lines: usize, seed: u64) -> String {
    let mut s = seed;
    let mut rnd = |n: u64| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) % n
    };
    let mut out = String::from(
        "action,time,account,instrument,order_id,side,type,tif,price,qty,display_qty,stop_price,expire_time,stp,flags,state,limit,value\n",
    );
    let mut t = 1000u64;
    let mut next_id = 1u64;
    for _ in 0..lines {
        t += rnd(30);
        let acct = 1 + rnd(3);
        let inst = ["AAA", "BBB"][rnd(2) as usize];
        let side = ["buy", "sell"][rnd(2) as usize];
        let price = 90 + rnd(21);
        let pick = next_id.saturating_sub(1 + rnd(10)).max(1);
        match rnd(20) {
            0..=11 => {
                let (ty, tif) = match rnd(10) {
                    0 => ("market", "ioc"),
                    1 => ("stop", "gtc"),
                    2 => ("stop_limit", "gtd"),
                    3 => ("limit", "ioc"),
                    4 => ("limit", "fok"),
                    5 => ("limit", "post_only"),
                    6 => ("limit", "gtd"),
                    _ => ("limit", "gtc"),
                };
                let qty = 1 + rnd(20);
                let display = if rnd(5) == 0 && qty > 2 {
                    (qty / 3).to_string()
                } else {
                    String::new()
                };
                let stop = if side == "buy" {
                    price + 1 + rnd(4)
                } else {
                    price - 1 - rnd(4)
                };
                let flags = if rnd(3) == 0 { "mmp" } else { "" };
                writeln!(
                    out,
                    "new,{t},{acct},{inst},{next_id},{side},{ty},{tif},{price},{qty},{display},{stop},{},,{flags},,,",
                    t + 1 + rnd(300)
                )
                .unwrap();
                next_id += 1;
            }
            12..=14 => {
                writeln!(out, "cancel,{t},{acct},{inst},{pick},,,,,,,,,,,,,").unwrap();
            }
            15..=17 => {
                let qty = 1 + rnd(20);
                writeln!(
                    out,
                    "modify,{t},{acct},{inst},{pick},,,,{price},{qty},,,,,,,,"
                )
                .unwrap();
            }
            18 => {
                writeln!(out, "mass_cancel,{t},{acct},,,,,,,,,,,,,,,").unwrap();
            }
            _ => match rnd(4) {
                0 => writeln!(out, "reset_mmp,{t},{acct},,,,,,,,,,,,,,,").unwrap(),
                1 => writeln!(out, "set_state,{t},{acct},,,,,,,,,,,,,active,,").unwrap(),
                2 => writeln!(out, "set_ref,{t},,{inst},,,,,{price},,,,,,,,,").unwrap(),
                _ => writeln!(
                    out,
                    "set_limit,{t},{acct},{inst},,,,,,,,,,,,,max_order_qty,{}",
                    10 + rnd(20)
                )
                .unwrap(),
            },
        }
    }
    out
}

/// The hex number after `key` in `s`.
fn hex_after(s: &str, key: &str) -> u64 {
    let i = s.find(key).unwrap_or_else(|| panic!("`{key}` in {s}")) + key.len();
    let h: String = s[i..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    u64::from_str_radix(&h, 16).unwrap_or_else(|e| panic!("{e}: {s}"))
}

fn snapshots(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "snap"))
        .collect();
    v.sort();
    v
}

#[test]
fn run_recover_and_verify_agree_with_snapshots() {
    let base = std::env::temp_dir().join(format!("ferrex-snapshot-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let csv = base.join("commands.csv");
    std::fs::write(&csv, script(700, 7)).unwrap();
    let risk = base.join("risk.toml");
    std::fs::write(&risk, RISK).unwrap();
    let dir = base.join("journal");
    let (csv, risk, d) = (
        csv.to_str().unwrap(),
        risk.to_str().unwrap(),
        dir.to_str().unwrap(),
    );

    let (out, err, ok) = ferrex(&[
        "run",
        "--commands",
        csv,
        "--risk-config",
        risk,
        "--journal",
        d,
        "--snapshot-every",
        "150",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("trade"), "the script trades");
    let line = err.lines().find(|l| l.starts_with("journal:")).expect(&err);
    assert!(line.contains("700 commands, last seq 700"), "{line}");
    let state = hex_after(line, "state hash ");
    assert!(
        err.contains("snapshots: 4 written, last at seq 600"),
        "{err}"
    );
    assert_eq!(snapshots(&dir).len(), 4);

    // Recover: the latest snapshot plus the 100 commands after it.
    let (out, err, ok) = ferrex(&["recover", "--journal", d, "--risk-config", risk]);
    assert!(ok, "{err}");
    assert!(
        out.contains("snapshot-00000000000000000600.snap (seq 600"),
        "{out}"
    );
    assert!(out.contains("replayed 100 commands after seq 600"), "{out}");
    assert!(out.contains("final seq 700"), "{out}");
    assert_eq!(hex_after(&out, "state hash "), state, "{out}");

    // Verify: from scratch and from the snapshot agree.
    let (out, err, ok) = ferrex(&["journal", "verify", d, "--risk-config", risk]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("the snapshot at seq 600 matches"), "{out}");
    assert!(out.contains("deterministic"), "{out}");

    // A damaged latest snapshot is skipped and reported; the previous one is used, same result.
    let snaps = snapshots(&dir);
    let last = snaps.last().unwrap();
    let mut bytes = std::fs::read(last).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(last, &bytes).unwrap();
    let (out, err, ok) = ferrex(&["recover", "--journal", d, "--risk-config", risk]);
    assert!(ok, "{err}");
    assert!(
        out.contains("skipped snapshot") && out.contains("CRC32C mismatch"),
        "{out}"
    );
    assert!(out.contains("(seq 450"), "{out}");
    assert!(out.contains("replayed 250 commands after seq 450"), "{out}");
    assert_eq!(hex_after(&out, "state hash "), state, "{out}");
    let (out, err, ok) = ferrex(&["journal", "verify", d, "--risk-config", risk]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("the snapshot at seq 450 matches"), "{out}");

    // Without the risk config the snapshots do not fit the engine: refused, named.
    let (out, err, ok) = ferrex(&["recover", "--journal", d]);
    assert!(ok, "{err}");
    assert!(out.contains("configuration mismatch"), "{out}");
    assert!(out.contains("snapshot used: none"), "{out}");

    // A snapshot that does not belong to this journal (same configuration, other commands):
    // verify fails and says where.
    std::fs::remove_file(last).unwrap();
    let other_csv = base.join("other.csv");
    std::fs::write(&other_csv, script(700, 8)).unwrap();
    let other = base.join("other");
    let (_, err, ok) = ferrex(&[
        "run",
        "--commands",
        other_csv.to_str().unwrap(),
        "--risk-config",
        risk,
        "--journal",
        other.to_str().unwrap(),
        "--snapshot-every",
        "150",
    ]);
    assert!(ok, "{err}");
    std::fs::copy(
        other.join("snapshot-00000000000000000600.snap"),
        dir.join("snapshot-00000000000000000600.snap"),
    )
    .unwrap();
    let (out, err, ok) = ferrex(&["journal", "verify", d, "--risk-config", risk]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("MISMATCH") && err.contains("seq 600"),
        "{out}{err}"
    );
    let _ = std::fs::remove_dir_all(&base);
}
