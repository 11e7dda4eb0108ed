//! The QuickFIX FIX 4.4 acceptance-script format, shared by the in-memory runner
//! (`tests/acceptance.rs`) and the TCP runner (`tests/acceptance_tcp.rs`).
//!
//! A script is one step per line (see `tests/data/fix/README.md`): `iCONNECT` / `i2,CONNECT`,
//! `iDISCONNECT`, `I<message>` (send), `E<message>` (expect), `eDISCONNECT` (expect the
//! acceptor to close), `sleep(n)`, `#` comments. `<TIME±n>` stands for the current UTC time.
//!
//! Helpers: [`parse_line`], [`substitute_time`] (whole-second timestamps), [`complete`] (fills in
//! BodyLength and CheckSum), [`matches`] (tags 10, 52, 60, 122, 42 compared by shape; 9 and 10
//! only when the expected line has them), [`script_dir`] and [`load_scripts`].
#![allow(dead_code)]

use ferrex_gateway::fix::{self, parse_utc_timestamp};
use std::path::PathBuf;

/// One second in nanoseconds.
pub const SEC: u64 = 1_000_000_000;

/// One script step. Connection numbers: `1` unless the line names another (`i2,CONNECT`).
#[derive(Clone, Debug, PartialEq)]
pub enum Line<'a> {
    /// The client opens a connection.
    Connect(u8),
    /// The client closes a connection.
    Disconnect(u8),
    /// The acceptor must close the connection.
    ExpectDisconnect(u8),
    /// Wait this many seconds.
    Sleep(f64),
    /// The client sends this message (`<TIME>` not yet substituted).
    Send(u8, &'a str),
    /// The acceptor's next message must match this one.
    Expect(u8, &'a str),
}

/// Split an optional `n,` connection prefix.
fn conn(rest: &str) -> (u8, &str) {
    if let Some((n, tail)) = rest.split_once(',')
        && !n.is_empty()
        && n.len() <= 2
        && n.bytes().all(|b| b.is_ascii_digit())
    {
        return (n.parse().unwrap_or(1), tail);
    }
    (1, rest)
}

/// Parse one script line: `Ok(None)` for blank lines and comments.
pub fn parse_line(raw: &str) -> Result<Option<Line<'_>>, String> {
    let line = raw.trim_end_matches(['\r', '\n']);
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    if let Some(rest) = line.strip_prefix("sleep(") {
        let secs: f64 = rest.trim_end_matches(')').parse().unwrap_or(0.0);
        return Ok(Some(Line::Sleep(secs)));
    }
    let (kind, rest) = line.split_at(1);
    let (n, body) = conn(rest);
    Ok(Some(match (kind, body) {
        ("i", "CONNECT") => Line::Connect(n),
        ("i", "DISCONNECT") => Line::Disconnect(n),
        ("e", "DISCONNECT") => Line::ExpectDisconnect(n),
        ("I", m) => Line::Send(n, m),
        ("E", m) => Line::Expect(n, m),
        _ => return Err(format!("unknown script line {line:?}")),
    }))
}

/// Replace every `<TIME>` / `<TIME+n>` / `<TIME-n>` with a whole-second UTC timestamp.
pub fn substitute_time(line: &str, now: u64) -> String {
    let mut s = line.to_string();
    while let Some(i) = s.find("<TIME") {
        let j = s[i..].find('>').map(|j| i + j).unwrap_or(s.len() - 1);
        let off = &s[i + 5..j];
        let secs: i64 = if off.is_empty() {
            0
        } else {
            off.parse().unwrap_or(0)
        };
        let t = now.saturating_add_signed(secs * SEC as i64);
        // The suite's clients send whole seconds (its expected echoes are sized for that).
        let ts = String::from_utf8(fix::format_utc_timestamp(t)[..17].to_vec()).unwrap();
        s.replace_range(i..=j, &ts);
    }
    s
}

/// Fill in BodyLength and CheckSum when absent.
pub fn complete(msg: &str) -> Vec<u8> {
    let b = msg.as_bytes();
    if !msg.starts_with("8=") {
        return b.to_vec();
    }
    let first = b.iter().position(|&c| c == 1).map_or(b.len(), |i| i + 1);
    let mut out = b[..first].to_vec();
    let rest = &b[first..];
    let has_len = rest.starts_with(b"9=");
    let has_sum = msg.contains("\u{1}10=") && msg.ends_with('\u{1}') && {
        let k = msg.rfind("\u{1}10=").unwrap();
        msg[k + 4..msg.len() - 1]
            .bytes()
            .all(|c| c.is_ascii_digit())
    };
    if has_len {
        out.extend_from_slice(rest);
    } else {
        let body_end = if has_sum {
            rest.len() - (msg.len() - msg.rfind("\u{1}10=").unwrap() - 1)
        } else {
            rest.len()
        };
        out.extend_from_slice(format!("9={}\u{1}", body_end).as_bytes());
        out.extend_from_slice(rest);
    }
    if !has_sum {
        let sum = fix::checksum(&out);
        out.extend_from_slice(format!("10={sum:03}\u{1}").as_bytes());
    }
    out
}

/// A message as `(tag, value)` pairs, in order.
pub fn fields(m: &[u8]) -> Vec<(String, String)> {
    m.split(|&b| b == 1)
        .filter(|f| !f.is_empty())
        .map(|f| {
            let s = String::from_utf8_lossy(f);
            match s.split_once('=') {
                Some((t, v)) => (t.to_string(), v.to_string()),
                None => (s.to_string(), String::new()),
            }
        })
        .collect()
}

/// `|`-separated rendering of a message, for messages in test output.
pub fn show(m: &[u8]) -> String {
    String::from_utf8_lossy(m).replace('\u{1}', "|")
}

/// Does `actual` match the script's `expected` line?
pub fn matches(expected: &[u8], actual: &[u8]) -> Result<(), String> {
    let e = fields(expected);
    let mut a = fields(actual);
    let e_has = |t: &str| e.iter().any(|(k, _)| k == t);
    if !e_has("9") {
        a.retain(|(k, _)| k != "9");
    }
    if !e_has("10") {
        a.retain(|(k, _)| k != "10");
    }
    let show = |v: &[(String, String)]| {
        v.iter()
            .map(|(t, x)| format!("{t}={x}"))
            .collect::<Vec<_>>()
            .join("|")
    };
    if e.len() != a.len() {
        return Err(format!("expected {}\n   got {}", show(&e), show(&a)));
    }
    for ((et, ev), (at, av)) in e.iter().zip(&a) {
        let shape_only = matches!(et.as_str(), "10" | "52" | "60" | "122" | "42");
        let ok = et == at
            && (ev == av
                || shape_only && (et == "10" || parse_utc_timestamp(av.as_bytes()).is_some()));
        if !ok {
            return Err(format!("expected {}\n   got {}", show(&e), show(&a)));
        }
    }
    Ok(())
}

/// `tests/data/fix/acceptance-fix44`, or `$FERREX_FIX_ACCEPTANCE`, if it exists.
pub fn script_dir() -> Option<PathBuf> {
    let p = std::env::var_os("FERREX_FIX_ACCEPTANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fix/acceptance-fix44")
        });
    p.is_dir().then_some(p)
}

/// Every `*.def` script of [`script_dir`] as `(name, text)`, sorted by name.
pub fn load_scripts() -> Vec<(String, String)> {
    let dir = script_dir().expect(
        "the FIX 4.4 acceptance scripts ship in tests/data/fix/acceptance-fix44 \
         (or set FERREX_FIX_ACCEPTANCE)",
    );
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "def"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).to_string();
            (name, text)
        })
        .collect()
}
