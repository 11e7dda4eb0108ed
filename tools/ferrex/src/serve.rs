//! `ferrex serve --config FILE.toml [--duration SECS]`: network order entry (OUCH 5.0 over
//! SoupBinTCP 4.0 and FIX 4.4) in front of the threaded engine. See config/serve.toml for the
//! file format; the server itself is `ferrex_gateway::server`.
//!
//! Instruments take the keys of `ferrex run --config` (name, tick_size, lot_size, min_price,
//! max_price, max_orders, max_special_orders, max_accounts, market_protection_ticks,
//! dense_levels) plus `price_increment`, the currency value of one price unit as a decimal
//! string. Paths (`risk`) are relative to the
//! config file. Unknown keys are refused; errors name the file and the key.
//!
//! `[md]` (optional) turns on the ITCH 5.0 / MoldUDP64 market-data feed: `udp` (where packets
//! go), `retransmit` (TCP bind address of the retransmit server), `session` (MoldUDP64 session
//! name, ≤ 10 characters), and optionally `max_packet` (bytes), `ring_capacity` (events),
//! `heartbeat_ms` and `linger_ms` (how long retransmission stays up after the end of the
//! session). With `[md]` every book has level events on (the encoder needs them). Capture the
//! feed with `ferrex md-capture` and replay it with `ferrex replay itch`.
//!
//! `[journal]` (optional) makes the server durable: `dir` (relative to the config file),
//! `durability` (`none`, `batch` or `sync`; default `sync`) and `snapshot_every` (commands
//! between runtime snapshots; 0 or absent = none). At start a directory that holds a journal is
//! recovered first (latest good snapshot + the journal after it, as `ferrex recover`) and the
//! server continues it; the engine configuration (instruments, risk) must be the one of the
//! recorded run. Client references (OUCH UserRefNum and the account's UserRefNum high-water
//! mark, FIX ClOrdID) are kept by the gateway in `gateway-refs.log` in the same directory, with
//! the same durability, and restored at start for the orders still live in the recovered books:
//! they can be cancelled and replaced by their old references and their executions are reported
//! under them.

use anyhow::{Context, bail};
use ferrex_book::BookConfig;
use ferrex_engine::{Engine, EngineConfig};
use ferrex_gateway::ouch::Dialect;
use ferrex_gateway::server::{
    InstrumentSpec, MdSpec, Server, ServerConfig, SessionProtocol, SessionSpec,
};
use serde::Deserialize;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Arguments of `ferrex serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The serve configuration (TOML), e.g. config/serve.toml.
    #[arg(long)]
    pub config: PathBuf,
    /// Stop after this many seconds (default: run until Ctrl-C / SIGTERM).
    #[arg(long)]
    pub duration: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    engine_core: Option<usize>,
    gateway_core: Option<usize>,
    risk: Option<PathBuf>,
    ouch: OuchToml,
    fix: FixToml,
    limits: Option<LimitsToml>,
    instrument: Vec<InstrumentToml>,
    session: Vec<SessionToml>,
    md: Option<MdToml>,
    journal: Option<JournalToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalToml {
    dir: PathBuf,
    durability: Option<String>,
    snapshot_every: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MdToml {
    udp: String,
    retransmit: String,
    session: String,
    max_packet: Option<usize>,
    ring_capacity: Option<usize>,
    heartbeat_ms: Option<u64>,
    linger_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OuchToml {
    listen: String,
    heartbeat_ms: Option<u64>,
    timeout_ms: Option<u64>,
    session: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixToml {
    listen: String,
    sender_comp_id: String,
    max_latency_s: Option<u64>,
    logon_timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsToml {
    max_message_bytes: Option<usize>,
    outbound_queue: Option<usize>,
    max_connections: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstrumentToml {
    name: String,
    price_increment: String,
    tick_size: Option<i64>,
    lot_size: Option<u64>,
    min_price: Option<i64>,
    max_price: Option<i64>,
    max_orders: Option<u32>,
    max_special_orders: Option<u32>,
    max_accounts: Option<u32>,
    market_protection_ticks: Option<i64>,
    dense_levels: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionToml {
    protocol: String,
    username: Option<String>,
    password: Option<String>,
    comp_id: Option<String>,
    account: u32,
    #[serde(default)]
    cancel_on_disconnect: bool,
    #[serde(default)]
    max_msgs_per_sec: u32,
    /// OUCH only: `"spec"` (default) or the client-quirk compatibility mode
    /// `"ouch-connect-5.0.1"` (see `ferrex_gateway::ouch`).
    dialect: Option<String>,
}

/// A loaded serve configuration: the server config, the books, and the risk config path.
pub struct Loaded {
    /// Server configuration.
    pub server: ServerConfig,
    /// Book configuration per instrument.
    pub books: Vec<BookConfig>,
    /// Risk config file (resolved), if any.
    pub risk: Option<PathBuf>,
}

/// `"0.01"` → `(1, 2)`.
fn parse_increment(s: &str) -> Option<(u64, u32)> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        || frac.len() > 18
    {
        return None;
    }
    let digits = format!("{int}{frac}");
    let m: u64 = digits.trim_start_matches('0').parse().unwrap_or(0);
    (m > 0).then_some((m, frac.len() as u32))
}

fn addr(s: &str, key: &str) -> anyhow::Result<SocketAddr> {
    s.to_socket_addrs()
        .with_context(|| format!("{key}: {s:?} is not a socket address"))?
        .next()
        .with_context(|| format!("{key}: {s:?} resolves to nothing"))
}

/// Read and validate a serve config file.
pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let f: FileToml =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let p = path.display();
    let mut books = Vec::new();
    let mut instruments = Vec::new();
    for (i, ins) in f.instrument.iter().enumerate() {
        let key = |k: &str| format!("{p}: instrument[{i}] ({}).{k}", ins.name);
        let b = crate::config::book_config(
            &crate::config::BookKeys {
                tick_size: ins.tick_size,
                lot_size: ins.lot_size,
                min_price: ins.min_price,
                max_price: ins.max_price,
                max_orders: ins.max_orders,
                max_special_orders: ins.max_special_orders,
                max_accounts: ins.max_accounts,
                market_protection_ticks: ins.market_protection_ticks,
                dense_levels: ins.dense_levels,
            },
            BookConfig {
                level_events: f.md.is_some(),
                ..BookConfig::default()
            },
            key,
        )?;
        let inc = parse_increment(&ins.price_increment).with_context(|| {
            format!(
                "{}: {:?} is not a positive decimal",
                key("price_increment"),
                ins.price_increment
            )
        })?;
        books.push(b);
        instruments.push(InstrumentSpec {
            name: ins.name.clone(),
            price_increment: inc,
        });
    }
    if instruments.is_empty() {
        bail!("{p}: no [[instrument]] table");
    }
    let mut sessions = Vec::new();
    let mut ouch_dialects = Vec::new();
    for (i, s) in f.session.iter().enumerate() {
        let key = |k: &str| format!("{p}: session[{i}].{k}");
        let protocol = match s.protocol.as_str() {
            "ouch" => {
                if s.comp_id.is_some() {
                    bail!("{}: only for protocol = \"fix\"", key("comp_id"));
                }
                let username = s.username.clone().with_context(|| key("username"))?;
                if let Some(d) = &s.dialect {
                    let d = Dialect::parse(d).with_context(|| {
                        format!(
                            "{}: \"spec\" or \"ouch-connect-5.0.1\", got {d:?}",
                            key("dialect")
                        )
                    })?;
                    if d != Dialect::Spec {
                        ouch_dialects.push((username.clone(), d));
                    }
                }
                SessionProtocol::Ouch {
                    username,
                    password: s.password.clone().unwrap_or_default(),
                }
            }
            "fix" if s.dialect.is_some() => {
                bail!("{}: only for protocol = \"ouch\"", key("dialect"))
            }
            "fix" => SessionProtocol::Fix {
                comp_id: s
                    .comp_id
                    .clone()
                    .with_context(|| format!("{} is required", key("comp_id")))?,
                credentials: match (&s.username, &s.password) {
                    (Some(u), Some(pw)) => Some((u.clone(), pw.clone())),
                    (None, None) => None,
                    _ => bail!("{}: username and password go together", key("username")),
                },
            },
            other => bail!("{}: \"ouch\" or \"fix\", got {other:?}", key("protocol")),
        };
        sessions.push(SessionSpec {
            protocol,
            account: s.account,
            cancel_on_disconnect: s.cancel_on_disconnect,
            max_msgs_per_sec: s.max_msgs_per_sec,
        });
    }
    let mut server = ServerConfig {
        ouch_listen: addr(&f.ouch.listen, &format!("{p}: ouch.listen"))?,
        fix_listen: addr(&f.fix.listen, &format!("{p}: fix.listen"))?,
        engine_core: f.engine_core,
        gateway_core: f.gateway_core,
        fix_sender_comp_id: f.fix.sender_comp_id.clone(),
        instruments,
        sessions,
        ouch_dialects,
        ..ServerConfig::default()
    };
    if let Some(v) = f.ouch.heartbeat_ms {
        server.ouch_heartbeat_ns = v.saturating_mul(1_000_000);
    }
    if let Some(v) = f.ouch.timeout_ms {
        server.ouch_timeout_ns = v.saturating_mul(1_000_000);
    }
    if let Some(v) = &f.ouch.session {
        server.ouch_session_id = v.clone();
    }
    if let Some(v) = f.fix.max_latency_s {
        server.fix_max_latency_ns = v.saturating_mul(1_000_000_000);
    }
    if let Some(v) = f.fix.logon_timeout_ms {
        server.logon_timeout_ns = v.saturating_mul(1_000_000);
    }
    if let Some(l) = &f.limits {
        if let Some(v) = l.max_message_bytes {
            server.max_message_bytes = v;
        }
        if let Some(v) = l.outbound_queue {
            server.outbound_queue = v;
        }
        if let Some(v) = l.max_connections {
            server.max_connections = v;
        }
    }
    if let Some(m) = &f.md {
        let key = |k: &str| format!("{p}: md.{k}");
        let mut spec = MdSpec::new(
            addr(&m.udp, &key("udp"))?,
            addr(&m.retransmit, &key("retransmit"))?,
            &m.session,
        );
        if m.session.is_empty()
            || m.session.len() > 10
            || !m.session.bytes().all(|b| b.is_ascii_graphic())
        {
            bail!(
                "{}: {:?} must be 1 to 10 printable ASCII characters",
                key("session"),
                m.session
            );
        }
        if let Some(v) = m.max_packet {
            if !(80..=65_507).contains(&v) {
                bail!("{}: must be 80..=65507 bytes, got {v}", key("max_packet"));
            }
            spec.max_packet = v;
        }
        if let Some(v) = m.ring_capacity {
            if v < 64 {
                bail!("{}: must be >= 64, got {v}", key("ring_capacity"));
            }
            spec.ring_capacity = v;
        }
        if let Some(v) = m.heartbeat_ms {
            if v == 0 {
                bail!("{}: must be >= 1", key("heartbeat_ms"));
            }
            spec.heartbeat = Duration::from_millis(v);
        }
        if let Some(v) = m.linger_ms {
            spec.linger = Duration::from_millis(v);
        }
        server.md = Some(spec);
    }
    if let Some(j) = &f.journal {
        let durability = match j.durability.as_deref().unwrap_or("sync") {
            "none" => ferrex_engine::Durability::None,
            "batch" => ferrex_engine::Durability::Batch,
            "sync" => ferrex_engine::Durability::Sync,
            other => {
                bail!("{p}: journal.durability: \"none\", \"batch\" or \"sync\", got {other:?}")
            }
        };
        let dir = if j.dir.is_absolute() {
            j.dir.clone()
        } else {
            path.parent().unwrap_or(Path::new(".")).join(&j.dir)
        };
        server.journal = Some(
            ferrex_engine::JournalConfig::new(dir, durability)
                .with_snapshot_every(j.snapshot_every.unwrap_or(0)),
        );
    }
    let risk = f.risk.as_ref().map(|r| {
        if r.is_absolute() {
            r.clone()
        } else {
            path.parent().unwrap_or(Path::new(".")).join(r)
        }
    });
    Ok(Loaded {
        server,
        books,
        risk,
    })
}

/// `ferrex serve`.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let loaded = load(&args.config)?;
    let cfg = EngineConfig {
        instruments: loaded.books.clone(),
    };
    let engine = match &loaded.risk {
        Some(r) => Engine::with_risk(cfg, crate::riskcfg::load(r)?.1)?,
        None => Engine::new(cfg)?,
    };
    let server_cfg = loaded.server.clone();
    let handle = Server::start(server_cfg.clone(), engine)
        .with_context(|| format!("starting the server of {}", args.config.display()))?;
    if let (Some(j), Some(rec)) = (&server_cfg.journal, handle.recovered()) {
        print_recovery(j, rec);
        if let Some(r) = handle.refs_recovered() {
            println!(
                "  client references: {} records, {} live orders restored, {} dropped (no longer live){}",
                r.records,
                r.kept,
                r.dropped,
                if r.cut_bytes > 0 {
                    format!(", torn tail of {} bytes cut", r.cut_bytes)
                } else {
                    String::new()
                }
            );
        }
    }
    println!(
        "ferrex serve: OUCH 5.0/SoupBinTCP on {}, FIX 4.4 on {} (SenderCompID {})",
        handle.ouch_addr(),
        handle.fix_addr(),
        server_cfg.fix_sender_comp_id
    );
    println!(
        "threads: engine {}, gateway {}",
        handle
            .engine_pin()
            .map_or("pin status unknown".to_string(), |p| p.to_string()),
        handle.gateway_pin()
    );
    let names: Vec<String> = server_cfg
        .instruments
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{} ({i})", s.name))
        .collect();
    println!(
        "instruments: {}; risk: {}",
        names.join(", "),
        loaded
            .risk
            .as_ref()
            .map_or("none".to_string(), |r| r.display().to_string())
    );
    if let (Some(m), Some(dest), Some(rtx)) = (
        &server_cfg.md,
        handle.md_udp_dest(),
        handle.md_retransmit_addr(),
    ) {
        println!(
            "market data: ITCH 5.0 / MoldUDP64 session {} to UDP {dest}, retransmit on TCP {rtx} (capture: ferrex md-capture --udp {dest} --retransmit {rtx} --out FILE.itch)",
            m.session
        );
    }
    for s in &server_cfg.sessions {
        let who = match &s.protocol {
            SessionProtocol::Ouch { username, .. } => format!("ouch {username}"),
            SessionProtocol::Fix { comp_id, .. } => format!("fix {comp_id}"),
        };
        println!(
            "session {who}: account {}, cancel-on-disconnect {}, throttle {}/s",
            s.account,
            if s.cancel_on_disconnect { "on" } else { "off" },
            s.max_msgs_per_sec
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::Release))
            .context("installing the Ctrl-C / SIGTERM handler")?;
    }
    match args.duration {
        Some(d) => println!("serving for {d} s (Ctrl-C stops earlier)"),
        None => println!("serving until Ctrl-C / SIGTERM"),
    }
    let t0 = Instant::now();
    let limit = args.duration.map(|d| Duration::from_secs_f64(d.max(0.0)));
    while !stop.load(Ordering::Acquire) && limit.is_none_or(|l| t0.elapsed() < l) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = handle.stop()?;
    let g = &r.gateway;
    println!("stopped after {:.1} s", t0.elapsed().as_secs_f64());
    println!(
        "connections {} (refused {}), logons {} (refused {}, second logons {}), timeouts: logon {} idle {}",
        g.connections,
        g.refused_connections,
        g.logons,
        g.logons_refused,
        g.second_logons_refused,
        g.logon_timeouts,
        g.idle_timeouts
    );
    println!(
        "messages in {}, commands {}, events {}, throttled {}, protocol errors {}, slow-consumer drops {}, cancel-on-disconnect {}",
        g.app_messages_in,
        g.commands,
        g.events,
        g.throttled,
        g.protocol_errors,
        g.slow_consumer_drops,
        g.cancel_on_disconnect
    );
    println!(
        "bytes in {}, out {}; engine: {} commands, {} events, {} outbound stalls; state hash {:016x}",
        g.bytes_in,
        g.bytes_out,
        r.runtime.commands,
        r.runtime.events,
        r.runtime.outbound_stalls,
        r.engine.state_hash()
    );
    if let Some(e) = &g.ref_log_error {
        println!("client-reference log FAILED (not written after the error): {e}");
    }
    if let Some(j) = &r.runtime.journal {
        println!(
            "journal: {} records, {} batches, {} syncs, last seq {}, durable seq {}{}",
            j.records,
            j.batches,
            j.syncs,
            j.last_seq,
            j.durable_seq,
            j.error
                .as_ref()
                .map_or(String::new(), |e| format!(", STOPPED BY I/O ERROR: {e}"))
        );
    }
    if let Some(s) = &r.runtime.snapshots {
        println!(
            "snapshots: {} written, {} skipped, {} failed, last seq {}, max pause {} us{}",
            s.written,
            s.skipped,
            s.failed,
            s.last_seq,
            s.max_pause_ns / 1_000,
            s.error
                .as_ref()
                .map_or(String::new(), |e| format!(", last error: {e}"))
        );
    }
    if let Some(m) = &r.md {
        println!(
            "market data: {} events, {} messages in {} packets ({} heartbeats, {} send errors), {} retransmit requests, end of session sent {}x",
            m.events,
            m.messages,
            m.packets,
            m.heartbeats,
            m.send_errors,
            m.retransmit_requests,
            m.end_of_session
        );
    }
    Ok(())
}

/// Prints what recovery from the journal did at start.
fn print_recovery(j: &ferrex_engine::JournalConfig, rec: &ferrex_engine::Recovered) {
    println!(
        "journal: {} ({:?}, snapshot every {} commands)",
        j.dir.display(),
        j.durability,
        j.snapshot_every
    );
    if rec.is_empty() {
        println!("  recovery: nothing to recover (new journal)");
        return;
    }
    if let Some(t) = &rec.truncated {
        println!("  recovery: {t} (never replayed)");
    }
    for s in &rec.skipped {
        println!(
            "  recovery: skipped snapshot {}: {}",
            s.path.display(),
            s.reason
        );
    }
    match &rec.snapshot {
        Some((path, seq)) => println!("  snapshot used: {} (seq {seq})", path.display()),
        None => println!("  snapshot used: none (replaying from the first command)"),
    }
    println!(
        "  replayed {} records ({} events), final seq {}, state hash {:016x}; continuing the journal at seq {}",
        rec.replayed,
        rec.events,
        rec.final_seq,
        rec.state_hash,
        rec.final_seq + 1
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrex_types::Price;

    #[test]
    fn journal_section_parses_and_refuses_bad_values() {
        let dir = std::env::temp_dir().join(format!("ferrex-serve-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = "[ouch]\nlisten = \"127.0.0.1:0\"\n[fix]\nlisten = \"127.0.0.1:0\"\nsender_comp_id = \"X\"\n[[instrument]]\nname = \"A\"\nprice_increment = \"0.01\"\n[[session]]\nprotocol = \"ouch\"\nusername = \"U\"\naccount = 1\n";
        let p = dir.join("journal.toml");
        std::fs::write(
            &p,
            format!(
                "{base}[journal]\ndir = \"j\"\ndurability = \"batch\"\nsnapshot_every = 1000\n"
            ),
        )
        .unwrap();
        let j = load(&p).unwrap().server.journal.unwrap();
        assert_eq!(j.dir, dir.join("j"));
        assert_eq!(j.durability, ferrex_engine::Durability::Batch);
        assert_eq!(j.snapshot_every, 1000);
        std::fs::write(&p, format!("{base}[journal]\ndir = \"/tmp/x\"\n")).unwrap();
        let j = load(&p).unwrap().server.journal.unwrap();
        assert_eq!(j.dir, Path::new("/tmp/x"));
        assert_eq!(j.durability, ferrex_engine::Durability::Sync);
        assert_eq!(j.snapshot_every, 0);
        let check = |journal: &str, want: &str| {
            std::fs::write(&p, format!("{base}[journal]\n{journal}")).unwrap();
            let e = format!("{:#}", load(&p).err().unwrap());
            assert!(e.contains("journal.toml") && e.contains(want), "{e}");
        };
        check(
            "dir = \"j\"\ndurability = \"always\"\n",
            "journal.durability",
        );
        check("dir = \"j\"\nbogus = 1\n", "bogus");
        std::fs::write(&p, base).unwrap();
        assert!(load(&p).unwrap().server.journal.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn increments() {
        assert_eq!(parse_increment("0.01"), Some((1, 2)));
        assert_eq!(parse_increment("0.0005"), Some((5, 4)));
        assert_eq!(parse_increment("1"), Some((1, 0)));
        assert_eq!(parse_increment("0"), None);
        assert_eq!(parse_increment("-0.01"), None);
        assert_eq!(parse_increment("abc"), None);
    }

    #[test]
    fn bundled_serve_config_loads() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/serve.toml");
        let l = load(&p).unwrap();
        assert_eq!(l.server.ouch_listen.port(), 15000);
        assert_eq!(l.server.fix_listen.port(), 15001);
        assert_eq!(l.server.sessions.len(), 5);
        assert_eq!(
            l.server.ouch_dialects,
            vec![(
                "OUCH03".to_string(),
                ferrex_gateway::ouch::Dialect::OuchConnect501
            )]
        );
        assert_eq!(l.server.instruments[1].name, "MSFT");
        let md = l.server.md.as_ref().unwrap();
        assert_eq!(md.udp_dest.port(), 15003);
        assert_eq!(md.retransmit_bind.port(), 15002);
        assert_eq!(md.session, "FERREXMD01");
        assert!(l.books.iter().all(|b| b.level_events));
        assert_eq!(l.server.instruments[0].price_increment, (1, 2));
        assert_eq!(l.books[0].min_price, Price(100));
        let risk = l.risk.unwrap();
        assert!(risk.ends_with("serve-risk.toml"));
        crate::riskcfg::load(&risk).unwrap();
    }

    #[test]
    fn unknown_keys_are_refused_with_the_file_name() {
        let dir = std::env::temp_dir().join(format!("ferrex-serve-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.toml");
        std::fs::write(
            &p,
            "[ouch]\nlisten = \"127.0.0.1:0\"\nbogus = 1\n[fix]\nlisten = \"127.0.0.1:0\"\nsender_comp_id = \"X\"\n",
        )
        .unwrap();
        let e = format!("{:#}", load(&p).err().unwrap());
        assert!(e.contains("bad.toml") && e.contains("bogus"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn md_section_errors_name_the_key() {
        let dir = std::env::temp_dir().join(format!("ferrex-serve-md-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = "[ouch]\nlisten = \"127.0.0.1:0\"\n[fix]\nlisten = \"127.0.0.1:0\"\nsender_comp_id = \"X\"\n[[instrument]]\nname = \"A\"\nprice_increment = \"0.01\"\n[[session]]\nprotocol = \"ouch\"\nusername = \"U\"\naccount = 1\n";
        let p = dir.join("md.toml");
        let check = |md: &str, want: &str| {
            std::fs::write(&p, format!("{base}[md]\n{md}")).unwrap();
            let e = format!("{:#}", load(&p).err().unwrap());
            assert!(e.contains("md.toml") && e.contains(want), "{e}");
        };
        check(
            "udp = \"127.0.0.1:0\"\nretransmit = \"127.0.0.1:0\"\nsession = \"S\"\nbogus = 1\n",
            "bogus",
        );
        check(
            "udp = \"nowhere\"\nretransmit = \"127.0.0.1:0\"\nsession = \"S\"\n",
            "md.udp",
        );
        check(
            "udp = \"127.0.0.1:0\"\nretransmit = \"127.0.0.1:0\"\nsession = \"ELEVENCHARS\"\n",
            "md.session",
        );
        check(
            "udp = \"127.0.0.1:0\"\nretransmit = \"127.0.0.1:0\"\nsession = \"S\"\nmax_packet = 10\n",
            "md.max_packet",
        );
        std::fs::write(&p, base).unwrap();
        let l = load(&p).unwrap();
        assert!(l.server.md.is_none() && !l.books[0].level_events);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
