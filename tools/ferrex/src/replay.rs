//! `ferrex replay itch|lobster|binance`: rebuild books from captured market data, verify them
//! where the data carries a reference, and report what was seen.

use anyhow::Context;
use clap::{Args, Subcommand};
use ferrex_replay::binance::{BinanceCapture, BinanceReplay, Scale};
use ferrex_replay::itch::{self, ItchReader};
use ferrex_replay::itch_replay::{ItchReplay, ItchReplayConfig};
use ferrex_replay::lobster::LobsterPair;
use ferrex_replay::lobster_replay::{self, LobsterReplayConfig};
use ferrex_types::Side;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `ferrex replay` formats.
#[derive(Subcommand, Debug)]
pub enum ReplayCmd {
    /// NASDAQ TotalView-ITCH 5.0 BinaryFILE (gzip or plain).
    Itch {
        /// The file.
        file: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// LOBSTER message + orderbook file pair; every row is verified against the reference.
    Lobster(LobsterArgs),
    /// Binance `<local_recv_ns> <json>` depth capture (gzip or plain), snapshot + diff rebuild.
    Binance {
        /// The capture.
        file: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Options of `ferrex replay lobster`.
#[derive(Args, Debug)]
pub struct LobsterArgs {
    /// The message file.
    #[arg(long)]
    pub messages: PathBuf,
    /// The orderbook file.
    #[arg(long)]
    pub orderbook: PathBuf,
    /// Levels in the orderbook file (default: from its column count).
    #[arg(long)]
    pub levels: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn type_counts(c: &itch::TypeCounts) -> String {
    c.nonzero()
        .iter()
        .map(|(t, n)| format!("{} {n}", *t as char))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn bar(len: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(len);
    b.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} {elapsed}")
            .expect("static template"),
    );
    b
}

/// Run a replay subcommand.
pub fn run(cmd: &ReplayCmd) -> anyhow::Result<()> {
    match cmd {
        ReplayCmd::Itch { file, json } => itch_cmd(file, *json),
        ReplayCmd::Lobster(a) => lobster_cmd(a),
        ReplayCmd::Binance { file, json } => binance_cmd(file, *json),
    }
}

fn itch_cmd(path: &Path, json_out: bool) -> anyhow::Result<()> {
    let buf = itch::read_file(path).with_context(|| format!("{}", path.display()))?;
    let pb = bar(buf.len() as u64, json_out);
    pb.set_message("bytes");
    let mut r = ItchReplay::new(ItchReplayConfig::default());
    let t0 = Instant::now();
    let mut n = 0u64;
    for item in ItchReader::new(&buf) {
        let (off, m) = item.with_context(|| format!("{}", path.display()))?;
        r.apply(&m).with_context(|| format!("{}", path.display()))?;
        n += 1;
        if n.is_multiple_of(65_536) {
            pb.set_position(off);
        }
    }
    let dt = t0.elapsed();
    pb.finish_and_clear();
    let s = r.summary();
    let mps = n as f64 / dt.as_secs_f64().max(1e-9);
    if json_out {
        println!(
            "{}",
            json!({
                "format": "itch",
                "messages": n,
                "msgs_per_sec": mps,
                "mismatches": 0,
                "books": s.books,
                "trades": s.trades,
                "volume": s.volume,
                "unknown_refs": s.unknown_refs,
                "over_executions": s.over_executions,
                "head_of_queue_share": s.head_of_queue_share(),
                "head_checked": s.head_checked,
                "live_orders": s.live_orders,
                "by_type": s.counts.nonzero().iter().map(|(t, n)| ((*t as char).to_string(), json!(*n))).collect::<serde_json::Map<String, serde_json::Value>>(),
            })
        );
        return Ok(());
    }
    println!("ferrex replay itch {}", path.display());
    println!("  messages {n}: {}", type_counts(&s.counts));
    println!(
        "  books {}  executions {}  trades {} ({} shares)  non-displayed trades {}  live orders at end {}",
        s.books, s.executions, s.trades, s.volume, s.non_displayed_trades, s.live_orders
    );
    println!(
        "  unknown references {} (orders acted on but never added in this file: counted, not fatal)",
        s.unknown_refs
    );
    println!(
        "  queue priority: {:.2}% of {} executions hit the head of their level's FIFO; over-executions {}",
        100.0 * s.head_of_queue_share(),
        s.head_checked,
        s.over_executions
    );
    for locate in 0..=u16::MAX {
        if let Some(b) = r.book(locate) {
            println!(
                "  locate {locate}: best bid {} / best ask {} (price x 10000)",
                b.best_bid().map_or("-".into(), |p| p.to_string()),
                b.best_ask().map_or("-".into(), |p| p.to_string())
            );
        }
    }
    println!("  speed: {mps:.0} msgs/s (decode + book, one core)");
    Ok(())
}

/// Replay a LOBSTER pair and return the summary line values (used by the demo too).
pub fn lobster_summary(
    messages: &Path,
    orderbook: &Path,
    levels: Option<usize>,
) -> anyhow::Result<lobster_replay::LobsterReplaySummary> {
    let pair = LobsterPair::open(messages, orderbook, levels)?;
    Ok(lobster_replay::replay(
        &pair,
        LobsterReplayConfig::default(),
    )?)
}

fn lobster_cmd(a: &LobsterArgs) -> anyhow::Result<()> {
    let pb = bar(0, a.json);
    pb.set_message("replaying");
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    let s = lobster_summary(&a.messages, &a.orderbook, a.levels)?;
    pb.finish_and_clear();
    if a.json {
        println!(
            "{}",
            json!({
                "format": "lobster",
                "messages": s.rows,
                "msgs_per_sec": s.msgs_per_sec(),
                "levels": s.levels,
                "compared": s.compared,
                "matched": s.matched,
                "mismatches": s.mismatches,
                "reseeded": s.reseeded,
                "reseeded_level_into_view": s.reseeded_into_view,
                "reseeded_unknown_order": s.reseeded_unknown_order,
                "unknown_refs": s.unknown_refs,
                "head_of_queue_share": s.head_of_queue_share(),
                "head_of_queue_share_known": s.head_of_queue_share_known(),
                "head_checked": s.head_checked,
                "over_executions": s.over_executions,
                "by_type": s.by_type,
            })
        );
        return Ok(());
    }
    println!("ferrex replay lobster {}", a.messages.display());
    print_lobster(&s);
    for m in s.mismatch_details.iter().take(10) {
        println!(
            "    mismatch at line {}: {:?} {} ferrex {} reference {}",
            m.line, m.side, m.price, m.ferrex_qty, m.reference_qty
        );
    }
    Ok(())
}

/// Print a LOBSTER summary (shared with the demo).
pub fn print_lobster(s: &lobster_replay::LobsterReplaySummary) {
    println!(
        "  messages {} (by type 1..7: {:?}), top {} levels compared after every message",
        s.rows,
        &s.by_type[1..8],
        s.levels
    );
    println!(
        "  verification: {} rows match, {} mismatches, {} reseeded ({} a level came into view, {} an unknown order acted)",
        s.matched, s.mismatches, s.reseeded, s.reseeded_into_view, s.reseeded_unknown_order
    );
    println!(
        "  queue priority: {:.2}% of {} executions at the head of their FIFO ({:.2}% where the whole queue is known); unknown references {}",
        100.0 * s.head_of_queue_share(),
        s.head_checked,
        100.0 * s.head_of_queue_share_known(),
        s.unknown_refs
    );
    println!(
        "  speed: {:.0} msgs/s (read, replay, verify)",
        s.msgs_per_sec()
    );
}

fn binance_cmd(path: &Path, json_out: bool) -> anyhow::Result<()> {
    let cap = BinanceCapture::open(path)?;
    let scale = Scale::detect(cap.text());
    let lines = cap.text().lines().count() as u64;
    let pb = bar(lines, json_out);
    pb.set_message("lines");
    let mut r = BinanceReplay::new(scale);
    let t0 = Instant::now();
    for (i, line) in cap.text().lines().enumerate() {
        r.feed_line(i as u64 + 1, line)?;
        if i.is_multiple_of(8192) {
            pb.set_position(i as u64);
        }
    }
    let dt = t0.elapsed();
    pb.finish_and_clear();
    let (book, st) = r.finish();
    let mps = st.lines as f64 / dt.as_secs_f64().max(1e-9);
    if json_out {
        println!(
            "{}",
            json!({
                "format": "binance",
                "messages": st.lines,
                "msgs_per_sec": mps,
                "mismatches": st.gaps.len(),
                "gaps": st.gaps.len(),
                "depth_updates": st.depth_updates,
                "applied": st.applied,
                "dropped_before_snapshot": st.dropped,
                "unsynced": st.unsynced,
                "level_changes": st.level_changes,
                "snapshots": st.snapshots,
                "trades": st.trades,
                "book_tickers": st.book_tickers,
                "bbo_checked": st.bbo_checked,
                "bbo_mismatches": st.bbo_mismatches,
                "crossed": st.crossed,
                "price_decimals": scale.price_decimals,
                "qty_decimals": scale.qty_decimals,
            })
        );
        return Ok(());
    }
    println!("ferrex replay binance {}", path.display());
    println!(
        "  lines {}: depth updates {} (applied {}, dropped before the snapshot {}, unsynced {}), {} level changes, snapshots {}, trades {}, book tickers {}",
        st.lines,
        st.depth_updates,
        st.applied,
        st.dropped,
        st.unsynced,
        st.level_changes,
        st.snapshots,
        st.trades,
        st.book_tickers
    );
    println!(
        "  sequence gaps {}; book ticker cross-checks {} with {} mismatches; crossed books {}",
        st.gaps.len(),
        st.bbo_checked,
        st.bbo_mismatches,
        st.crossed
    );
    for g in st.gaps.iter().take(10) {
        println!(
            "    gap at line {}: {:?} expected {} found {}",
            g.line, g.kind, g.expected, g.found
        );
    }
    let fmt = |x: Option<(i64, u64)>| {
        x.map_or("-".to_string(), |(p, q)| {
            format!(
                "{} x {}",
                scaled(p, scale.price_decimals),
                scaled(q as i64, scale.qty_decimals)
            )
        })
    };
    println!(
        "  final book: {} bid levels, {} ask levels; best bid {} / best ask {}",
        book.levels(Side::Buy),
        book.levels(Side::Sell),
        fmt(book.best_bid()),
        fmt(book.best_ask())
    );
    println!("  speed: {mps:.0} lines/s (parse + rebuild)");
    Ok(())
}

fn scaled(v: i64, decimals: u32) -> String {
    let d = 10i64.pow(decimals);
    if decimals == 0 {
        return v.to_string();
    }
    format!(
        "{}{}.{:0w$}",
        if v < 0 { "-" } else { "" },
        (v / d).abs(),
        (v % d).abs(),
        w = decimals as usize
    )
}
