//! `ferrex serve` with a `sync` journal is killed with SIGKILL after orders were entered over
//! OUCH and FIX (one of each replaced); a new `ferrex serve` on the same directory recovers the
//! books and the gateway's client references: the old orders are cancelled and replaced by their
//! old UserRefNum / OrigClOrdID (replies checked field by field), executions against recovered
//! orders are reported to their owners under their client references, and a UserRefNum not above
//! the account's last one is still refused. (The graceful-stop variant, in process, is
//! `crates/gateway/tests/serve_refs.rs`.)

#[path = "../../../crates/gateway/tests/serve_common/mod.rs"]
mod serve_common;

use ferrex_gateway::ouch::{
    ClOrdId, Inbound, LiquidityFlag, OrderState, OuchCancelReason, OuchPrice, OuchSide, OuchTif,
    Outbound, Symbol, UserRefNum,
};
use serve_common::*;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_tcp() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// config/serve.toml with free ports, no pinning, no market data, the risk file by absolute
/// path and a `sync` journal in `dir/journal`.
fn write_config(dir: &Path, ouch: u16, fix: u16) -> PathBuf {
    let text = std::fs::read_to_string(root().join("config/serve.toml")).unwrap();
    let risk = root()
        .join("config/serve-risk.toml")
        .canonicalize()
        .unwrap();
    let mut out = String::new();
    let mut in_md = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_md = line.starts_with("[md]");
        }
        if in_md
            || line.starts_with("engine_core")
            || line.starts_with("gateway_core")
            || line.starts_with("risk =")
        {
            continue;
        }
        out.push_str(
            &line
                .replace("127.0.0.1:15000", &format!("127.0.0.1:{ouch}"))
                .replace("127.0.0.1:15001", &format!("127.0.0.1:{fix}")),
        );
        out.push('\n');
    }
    let head = format!("risk = {:?}\n", risk.display().to_string());
    let journal = dir.join("journal");
    out = format!(
        "{head}{out}\n[journal]\ndir = {:?}\ndurability = \"sync\"\nsnapshot_every = 3\n",
        journal.display().to_string()
    );
    let p = dir.join("serve.toml");
    std::fs::write(&p, out).unwrap();
    p
}

/// A running `ferrex serve`, SIGKILLed when dropped (a failing test leaves no server behind).
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `ferrex serve` and waits for "serving"; returns it and its stdout lines so far.
fn serve(cfg: &Path) -> (Serve, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrex"))
        .args(["serve", "--config"])
        .arg(cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn ferrex serve");
    let out = child.stdout.take().unwrap();
    let child = Serve(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let t0 = Instant::now();
    let mut seen = Vec::new();
    while t0.elapsed() < Duration::from_secs(60) {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) => {
                let done = l.starts_with("serving");
                seen.push(l);
                if done {
                    return (child, seen);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(child);
    panic!("ferrex serve did not start: {seen:#?}");
}

/// SIGKILL (no shutdown of any kind).
fn kill(mut s: Serve) {
    s.0.kill().expect("SIGKILL ferrex serve");
    let st = s.0.wait().unwrap();
    assert!(!st.success(), "killed, not exited: {st:?}");
}

#[test]
fn client_references_survive_sigkill() {
    let dir = TempDir(
        std::env::temp_dir().join(format!("ferrex-serve-refs-crash-{}", std::process::id())),
    );
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let (op, fp) = (free_tcp(), free_tcp());
    let cfg = write_config(&dir.0, op, fp);
    let ouch: SocketAddr = format!("127.0.0.1:{op}").parse().unwrap();
    let fixa: SocketAddr = format!("127.0.0.1:{fp}").parse().unwrap();

    // ------------------------------------------------------------------ run 1, then SIGKILL
    let (child, _) = serve(&cfg);
    let mut mk = OuchClient::logged_in(ouch, "OUCH02", "secret02");
    let r = mk.enter(OuchSide::Sell, 100, MSFT, 1_002_500, OuchTif::Day);
    let sell_msft = recv_accepted(&mut mk, r);
    let r = mk.enter(OuchSide::Buy, 50, AAPL, 970_000, OuchTif::Day);
    let buy_aapl = recv_accepted(&mut mk, r);
    mk.send(&replace_msg(2, 3, 60, 971_000, "R3"));
    assert!(matches!(out(&mk.recv_msg()), Outbound::Accepted(a)
        if a.orig_user_ref_num == Some(UserRefNum(2)) && a.user_ref_num == UserRefNum(3)));
    let mut fx = FixClient::logged_on(fixa, "CLIENT2", None);
    fx.new_order("F1", b'2', 30, "MSFT", "101.00", b'0');
    let er = fx.recv_app();
    assert_eq!(er.f(150), "0", "{}", er.show());
    let fix_sell = er.f(37);
    fx.new_order("F2", b'1', 20, "AAPL", "98.00", b'0');
    assert_eq!(fx.recv_app().f(150), "0");
    fx.replace("F3", "F2", b'1', 25, "AAPL", "98.50");
    let er = fx.recv_app();
    assert_eq!(
        (er.f(150), er.f(11)),
        ("5".into(), "F3".into()),
        "{}",
        er.show()
    );
    let fix_buy = er.f(37);
    kill(child);
    drop((mk, fx));

    // ------------------------------------------------------------------ run 2
    let (child, lines) = serve(&cfg);
    let refs = lines
        .iter()
        .find(|l| l.contains("client references:"))
        .unwrap_or_else(|| panic!("no client references line: {lines:#?}"));
    assert!(refs.contains("4 live orders restored"), "{refs}");
    let mut mk = OuchClient::logged_in(ouch, "OUCH02", "secret02");
    let mut tk = OuchClient::logged_in(ouch, "OUCH01", "secret01");
    // UserRefNum 3 is not above the account's last one: refused.
    mk.send(&Inbound::Enter(enter_order(
        UserRefNum(3),
        OuchSide::Buy,
        5,
        AAPL,
        960_000,
        OuchTif::Day,
        b"LOW",
    )));
    assert!(
        matches!(out(&mk.recv_msg()), Outbound::Rejected(j) if j.user_ref_num == UserRefNum(3)
            && j.cl_ord_id == ClOrdId::new(b"LOW").unwrap())
    );
    // Cancel order 1 by its old UserRefNum.
    mk.send(&cancel_msg(1));
    match out(&mk.recv_msg()) {
        Outbound::Canceled(x) => {
            assert_eq!(x.user_ref_num, UserRefNum(1));
            assert_eq!(x.quantity, 100);
            assert_eq!(x.reason, OuchCancelReason::UserRequested);
        }
        other => panic!("expected Order Canceled, got {other:?}"),
    }
    // Replace the replaced order by its current UserRefNum 3.
    mk.send(&replace_msg(3, 5, 70, 972_000, "R5"));
    match out(&mk.recv_msg()) {
        Outbound::Accepted(a) => {
            assert_eq!(a.orig_user_ref_num, Some(UserRefNum(3)));
            assert_eq!(a.user_ref_num, UserRefNum(5));
            assert_eq!(a.side, OuchSide::Buy);
            assert_eq!(a.quantity, 70);
            assert_eq!(a.symbol, Symbol::new(AAPL).unwrap());
            assert_eq!(a.price, OuchPrice(972_000));
            assert_eq!(a.order_reference_number, buy_aapl);
            assert_eq!(a.order_state, OrderState::Live);
            assert_eq!(a.cl_ord_id, ClOrdId::new(b"R5").unwrap());
        }
        other => panic!("expected Order Replaced, got {other:?}"),
    }
    // FIX: an execution against the recovered replaced order, reported under F3.
    let mut fx = FixClient::logged_on(fixa, "CLIENT2", None);
    tk.next_ref = 1_000;
    let r = tk.enter(OuchSide::Sell, 20, AAPL, 985_000, OuchTif::Ioc);
    recv_accepted(&mut tk, r);
    assert!(matches!(out(&tk.recv_msg()), Outbound::Executed(e) if e.quantity == 20));
    let er = fx.recv_app();
    assert_eq!(er.msg_type(), "8", "{}", er.show());
    assert_eq!(er.f(150), "F");
    assert_eq!(er.f(11), "F3");
    assert_eq!(er.f(37), fix_buy);
    assert_eq!(er.f(32), "20");
    assert_eq!(er.f(31), "98.5");
    assert_eq!(er.f(14), "20");
    assert_eq!(er.f(151), "5");
    assert_eq!(er.f(38), "25");
    // Cancel F1 and F3 by their old ClOrdIDs.
    fx.cancel("F4", "F1", b'2', "MSFT");
    let er = fx.recv_app();
    assert_eq!(
        (er.f(150), er.f(11), er.f(41), er.f(37)),
        ("4".into(), "F4".into(), "F1".into(), fix_sell.clone()),
        "{}",
        er.show()
    );
    fx.cancel("F5", "F3", b'1', "AAPL");
    let er = fx.recv_app();
    assert_eq!(
        (er.f(150), er.f(11), er.f(41), er.f(14)),
        ("4".into(), "F5".into(), "F3".into(), "20".into()),
        "{}",
        er.show()
    );
    // An execution against the OUCH order, reported to OUCH02 under UserRefNum 5.
    let r = tk.enter(OuchSide::Sell, 10, AAPL, 972_000, OuchTif::Ioc);
    recv_accepted(&mut tk, r);
    let m = match out(&tk.recv_msg()) {
        Outbound::Executed(e) => e.match_number,
        other => panic!("{other:?}"),
    };
    match out(&mk.recv_msg()) {
        Outbound::Executed(e) => {
            assert_eq!(e.user_ref_num, UserRefNum(5));
            assert_eq!(e.quantity, 10);
            assert_eq!(e.price, OuchPrice(972_000));
            assert_eq!(e.liquidity_flag, LiquidityFlag::Added);
            assert_eq!(e.match_number, m);
        }
        other => panic!("expected Order Executed, got {other:?}"),
    }
    let _ = sell_msft;
    kill(child);
}
