//! `ferrex serve` with `[md]` on, `ferrex md-capture` on its feed, `ferrex loadgen` driving
//! orders, SIGTERM to serve (end of session), then `ferrex replay itch` on the capture: every
//! message captured, no unknown order references.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferrex"));
    c.current_dir(root());
    c
}

/// A port that was free a moment ago (bound on 127.0.0.1:0, then released).
fn free_tcp() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_udp() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped: a failing test leaves no `ferrex serve` spinning on a
/// core and no `md-capture` waiting for an end of session.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Guard {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// Spawns with piped stdout; every stdout line goes to the returned channel.
fn spawn_lines(mut cmd: Command) -> (Guard, mpsc::Receiver<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn ferrex");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (Guard(child), rx)
}

/// Lines until one contains `needle` (panics after `timeout`); returns all of them.
fn wait_for(rx: &mpsc::Receiver<String>, needle: &str, timeout: Duration) -> Vec<String> {
    let t0 = Instant::now();
    let mut seen = Vec::new();
    while t0.elapsed() < timeout {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) => {
                let hit = l.contains(needle);
                seen.push(l);
                if hit {
                    return seen;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("no line containing {needle:?}; got {seen:#?}");
}

/// Waits for the child to exit (killing it after `timeout`); true on success.
fn wait_exit(child: &mut Child, timeout: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if let Some(st) = child.try_wait().unwrap() {
            return st.success();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("process {} did not exit within {timeout:?}", child.id());
}

/// config/serve.toml with free ports, no pinning, the risk file by absolute path and a
/// retransmit linger long enough for the capture's last gap fill.
fn write_config(dir: &Path, ouch: u16, fix: u16, udp: u16, rtx: u16) -> PathBuf {
    let text = std::fs::read_to_string(root().join("config/serve.toml")).unwrap();
    let risk = root()
        .join("config/serve-risk.toml")
        .canonicalize()
        .unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let line = if line.starts_with("engine_core") || line.starts_with("gateway_core") {
            String::new()
        } else if line.starts_with("risk =") {
            format!("risk = {:?}", risk.display().to_string())
        } else {
            line.replace("127.0.0.1:15000", &format!("127.0.0.1:{ouch}"))
                .replace("127.0.0.1:15001", &format!("127.0.0.1:{fix}"))
                .replace("127.0.0.1:15003", &format!("127.0.0.1:{udp}"))
                .replace("127.0.0.1:15002", &format!("127.0.0.1:{rtx}"))
        };
        out.push_str(&line);
        out.push('\n');
        if line.starts_with("session = \"FERREXMD01\"") {
            out.push_str("linger_ms = 3000\nheartbeat_ms = 100\n");
        }
    }
    assert!(out.contains(&format!("127.0.0.1:{udp}")) && out.contains("linger_ms"));
    let p = dir.join("serve.toml");
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn serve_md_capture_loadgen_replay() {
    let dir = std::env::temp_dir().join(format!("ferrex-serve-md-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ouch, fix, udp, rtx) = (free_tcp(), free_tcp(), free_udp(), free_tcp());
    let cfg = write_config(&dir, ouch, fix, udp, rtx);
    let itch = dir.join("md.itch");

    let mut serve_cmd = bin();
    serve_cmd.args(["serve", "--config"]).arg(&cfg);
    let (mut serve, serve_out) = spawn_lines(serve_cmd);
    let started = wait_for(&serve_out, "serving", Duration::from_secs(30));
    assert!(
        started.iter().any(|l| l.contains("market data:")
            && l.contains(&format!("UDP 127.0.0.1:{udp}"))
            && l.contains(&format!("TCP 127.0.0.1:{rtx}"))),
        "{started:#?}"
    );

    // The capture joins after the start of day: it gets the missed messages by retransmission.
    let mut cap_cmd = bin();
    cap_cmd
        .args(["md-capture", "--udp", &format!("127.0.0.1:{udp}")])
        .args(["--retransmit", &format!("127.0.0.1:{rtx}")])
        .arg("--out")
        .arg(&itch);
    let (mut cap, cap_out) = spawn_lines(cap_cmd);
    wait_for(&cap_out, "ferrex md-capture", Duration::from_secs(30));

    let lg = bin()
        .args(["loadgen", "--connect", &format!("127.0.0.1:{ouch}")])
        .args(["--protocol", "ouch", "--username", "OUCH02", "--password"])
        .args(["secret02", "--rate", "2000", "--duration", "1.5"])
        .output()
        .expect("run loadgen");
    assert!(
        lg.status.success(),
        "loadgen: {}{}",
        String::from_utf8_lossy(&lg.stdout),
        String::from_utf8_lossy(&lg.stderr)
    );

    // SIGTERM: serve stops, publishes the end of session and exits.
    let st = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(
        wait_exit(&mut serve, Duration::from_secs(60)),
        "serve failed"
    );
    let stopped: Vec<String> = serve_out.try_iter().collect();
    let md_line = stopped
        .iter()
        .find(|l| l.starts_with("market data:") && l.contains("messages"))
        .unwrap_or_else(|| panic!("no md counters in {stopped:#?}"));

    // md-capture ends at the end of session.
    assert!(
        wait_exit(&mut cap, Duration::from_secs(60)),
        "md-capture failed"
    );
    let cap_lines: Vec<String> = cap_out.try_iter().collect();
    assert!(
        cap_lines.iter().any(|l| l.contains("end of session seen")
            && l.contains("complete (nothing announced is missing)")),
        "{cap_lines:#?}"
    );
    let msg_line = cap_lines
        .iter()
        .find(|l| l.starts_with("messages "))
        .expect("capture counters");
    let captured: u64 = msg_line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("message count");
    // serve's own count: "market data: E events, M messages in …".
    let published: u64 = md_line
        .split(", ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("message count in {md_line:?}"));
    eprintln!("serve: {md_line}\nmd-capture: {msg_line}");
    assert_eq!(captured, published, "{msg_line} / {md_line}");
    assert!(captured > 100, "{msg_line}");

    let rp = bin()
        .args(["replay", "itch", "--json"])
        .arg(&itch)
        .output()
        .unwrap();
    assert!(
        rp.status.success(),
        "{}",
        String::from_utf8_lossy(&rp.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&rp.stdout).trim()).unwrap();
    assert_eq!(v["messages"].as_u64(), Some(captured), "{v}");
    assert_eq!(v["unknown_refs"].as_u64(), Some(0), "{v}");
    assert_eq!(v["over_executions"].as_u64(), Some(0), "{v}");
    // loadgen's orders rest and are cancelled (its crossing buys only meet its own sells, which
    // self-match prevention cancels): adds and deletes, all referring to known orders.
    assert!(v["by_type"]["A"].as_u64().unwrap_or(0) > 10, "{v}");
    assert!(v["by_type"]["D"].as_u64().unwrap_or(0) > 10, "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}
