//! `ferrex simulate` and `ferrex compare-algos`: execution-quality analysis of a parent order on a
//! replayed market (ferrex-exec).
//!
//! Sources (`--format`): `lobster` (message file + orderbook file, order-level), `itch` (ITCH 5.0
//! BinaryFILE, gzip or plain, one stock chosen with `--locate` or `--symbol`, order-level) and
//! `binance` (a depth snapshot + diff capture with trades, level data). The queue model
//! (`--queue`) is `exact` for order-level data (default there) and `conservative` (default for
//! Binance) or `probabilistic` for level data; choosing a level model on LOBSTER or ITCH replays
//! them at level granularity. The source and queue model are printed in the report.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ferrex_exec::{
    ALGOS, Algo, CostStats, ExecReport, Fees, Iceberg, Immediate, Latency, MarketData, MultiRun,
    ParentOrder, Pov, QueueModel, SimConfig, Twap, simulate_runs, simulate_with_latency_cost,
};
use ferrex_replay::lobster::LobsterPair;
use ferrex_types::{Price, Side};
use serde_json::{Value, json};

/// Arguments of `ferrex simulate` (and `ferrex compare-algos`, which ignores `--algo`).
#[derive(clap::Args, Debug, Clone)]
pub struct SimulateArgs {
    /// Market data: for LOBSTER, the message file; for ITCH, the ITCH 5.0 file; for Binance, the
    /// capture (`<local_ns> <json>` lines, gzip or plain).
    #[arg(long)]
    pub data: PathBuf,
    /// Data format: lobster | itch | binance.
    #[arg(long, default_value = "lobster")]
    pub format: String,
    /// ITCH: the stock locate to simulate on.
    #[arg(long)]
    pub locate: Option<u16>,
    /// ITCH: the stock symbol (matched on directory and add-order messages).
    #[arg(long)]
    pub symbol: Option<String>,
    /// Queue model of passive orders: exact (order-level data) | conservative | probabilistic
    /// (level data; on LOBSTER/ITCH these replay the data at level granularity). Default: exact
    /// for LOBSTER and ITCH, conservative for Binance.
    #[arg(long)]
    pub queue: Option<String>,
    /// Seed of the probabilistic queue model (default: --seed).
    #[arg(long)]
    pub queue_seed: Option<u64>,
    /// LOBSTER orderbook file (default: the message file's name with `_message_` → `_orderbook_`).
    #[arg(long)]
    pub orderbook: Option<PathBuf>,
    /// buy or sell.
    #[arg(long, default_value = "buy")]
    pub side: String,
    /// Parent quantity in the data's lots: shares for LOBSTER and ITCH; for Binance
    /// 10^-qty_decimals of the base asset (BTCUSDT futures: 0.001 BTC; the header prints it).
    #[arg(long)]
    pub qty: u64,
    /// immediate | twap | pov | iceberg.
    #[arg(long, default_value = "twap")]
    pub algo: String,
    /// Horizon: 10m, 30s, 1h, 500ms …
    #[arg(long, default_value = "10m")]
    pub horizon: String,
    /// Decision time: HH:MM:SS[.frac] (time of day) or nanoseconds after midnight. Default 10:00:00
    /// (clamped into the data).
    #[arg(long)]
    pub start: Option<String>,
    /// Order-entry latency (e.g. 50us).
    #[arg(long, default_value = "0")]
    pub latency: String,
    /// Market-data latency.
    #[arg(long, default_value = "0")]
    pub md_latency: String,
    /// Acknowledgement latency: the algorithm learns of acks, fills and ended orders this long
    /// after they happen.
    #[arg(long, default_value = "0")]
    pub ack_latency: String,
    /// Mean of an exponential jitter added to each order's entry latency (seeded by --seed).
    #[arg(long)]
    pub jitter: Option<String>,
    /// Runs at random (seeded) start times for the cost distribution.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Seed for start times and jitter.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Limit price (currency, e.g. 223.50).
    #[arg(long)]
    pub limit: Option<f64>,
    /// Maker fee in bps (negative = rebate).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub maker_bps: f64,
    /// Taker fee in bps.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub taker_bps: f64,
    /// Algorithm decision interval.
    #[arg(long, default_value = "1s")]
    pub tick: String,
    /// Reversion is measured this long after completion.
    #[arg(long, default_value = "60s")]
    pub reversion: String,
    /// TWAP slices.
    #[arg(long, default_value_t = 10)]
    pub slices: u64,
    /// TWAP minimum slice (lots).
    #[arg(long, default_value_t = 1)]
    pub min_slice: u64,
    /// POV target participation (0.1 = 10 %).
    #[arg(long, default_value_t = 0.1)]
    pub pov_rate: f64,
    /// POV maximum participation.
    #[arg(long, default_value_t = 0.2)]
    pub pov_max_rate: f64,
    /// Iceberg display quantity.
    #[arg(long, default_value_t = 100)]
    pub display: u64,
    /// Iceberg re-peg threshold (ticks).
    #[arg(long, default_value_t = 1)]
    pub repeg_ticks: i64,
    /// One JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// simulate: draw mid price, our fills and the market VWAP over time to this PNG.
    /// compare-algos: draw each algorithm's cumulative fills over time and its costs.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// Parses `50us`, `1.5ms`, `10m`, `2h`, `30s`, `100ns` or a bare number of nanoseconds.
pub fn parse_duration_ns(s: &str) -> anyhow::Result<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num
        .parse()
        .with_context(|| format!("bad duration {s:?} (e.g. 50us, 10m)"))?;
    let mult = match unit.trim() {
        "" | "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        u => bail!("bad duration unit {u:?} in {s:?} (ns, us, ms, s, m, h)"),
    };
    if v.is_nan() || v < 0.0 || !v.is_finite() {
        bail!("bad duration {s:?}");
    }
    Ok((v * mult).round() as u64)
}

/// Parses `HH:MM:SS[.frac]` (time of day) or nanoseconds after midnight.
pub fn parse_start_ns(s: &str) -> anyhow::Result<u64> {
    let s = s.trim();
    if s.contains(':') {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 3 {
            bail!("bad time {s:?} (HH:MM:SS)");
        }
        let h: u64 = parts[0]
            .parse()
            .with_context(|| format!("bad time {s:?}"))?;
        let m: u64 = parts[1]
            .parse()
            .with_context(|| format!("bad time {s:?}"))?;
        let sec = ferrex_replay::lobster::parse_time_ns(parts[2])
            .with_context(|| format!("bad seconds in {s:?}"))?;
        Ok((h * 3600 + m * 60) * 1_000_000_000 + sec)
    } else {
        s.parse()
            .with_context(|| format!("bad start {s:?} (HH:MM:SS or ns)"))
    }
}

fn orderbook_path(a: &SimulateArgs) -> anyhow::Result<PathBuf> {
    if let Some(p) = &a.orderbook {
        return Ok(p.clone());
    }
    let name = a
        .data
        .file_name()
        .and_then(|n| n.to_str())
        .context("bad --data file name")?;
    if !name.contains("_message_") {
        bail!("cannot derive the orderbook file from {name:?} (no `_message_`): pass --orderbook");
    }
    Ok(a.data
        .with_file_name(name.replace("_message_", "_orderbook_")))
}

struct Setup {
    data: MarketData,
    cfg: SimConfig,
    parent: ParentOrder,
}

fn load(a: &SimulateArgs) -> anyhow::Result<MarketData> {
    Ok(match a.format.as_str() {
        "lobster" => {
            let ob = orderbook_path(a)?;
            let pair = LobsterPair::open(&a.data, &ob, None)
                .with_context(|| format!("reading {} / {}", a.data.display(), ob.display()))?;
            MarketData::from_pair(&pair)?
        }
        "itch" => {
            let buf = ferrex_replay::itch::read_file(&a.data)
                .with_context(|| format!("reading {}", a.data.display()))?;
            MarketData::from_itch(&buf, a.locate, a.symbol.as_deref())?
        }
        "binance" => {
            let cap = ferrex_replay::binance::BinanceCapture::open(&a.data)
                .with_context(|| format!("reading {}", a.data.display()))?;
            MarketData::from_binance(&cap)?
        }
        f => bail!("--format {f:?}: lobster, itch or binance"),
    })
}

fn setup(a: &SimulateArgs) -> anyhow::Result<Setup> {
    let mut data = load(a)?;
    let queue = match a.queue.as_deref() {
        None if data.level_data => QueueModel::Conservative,
        None | Some("exact") => QueueModel::Exact,
        Some("conservative") => QueueModel::Conservative,
        Some("probabilistic") => QueueModel::Probabilistic {
            seed: a.queue_seed.unwrap_or(a.seed),
        },
        Some(q) => bail!("--queue {q:?}: exact, conservative or probabilistic"),
    };
    match (data.level_data, queue) {
        (true, QueueModel::Exact) => bail!(
            "--queue exact needs order-level data; {} is level data: use conservative or probabilistic",
            a.format
        ),
        (false, QueueModel::Conservative | QueueModel::Probabilistic { .. }) => {
            data = data.to_level_data();
        }
        _ => {}
    }
    let side = match a.side.as_str() {
        "buy" | "b" => Side::Buy,
        "sell" | "s" => Side::Sell,
        s => bail!("--side {s:?}: buy or sell"),
    };
    if a.qty == 0 {
        bail!("--qty must be > 0");
    }
    let mut cfg = SimConfig::for_data(&data);
    cfg.queue = queue;
    cfg.ack_ns = parse_duration_ns(&a.ack_latency)?;
    let entry = parse_duration_ns(&a.latency)?;
    let md = parse_duration_ns(&a.md_latency)?;
    cfg.latency = match &a.jitter {
        Some(j) => Latency::Jittered {
            entry_ns: entry,
            jitter_ns: parse_duration_ns(j)?,
            md_ns: md,
            seed: a.seed,
        },
        None => Latency::Constant {
            entry_ns: entry,
            md_ns: md,
        },
    };
    cfg.fees = Fees {
        maker_bps: a.maker_bps,
        taker_bps: a.taker_bps,
    };
    cfg.tick_ns = parse_duration_ns(&a.tick)?.max(1);
    cfg.reversion_ns = parse_duration_ns(&a.reversion)?;
    let horizon_ns = parse_duration_ns(&a.horizon)?;
    if horizon_ns == 0 {
        bail!("--horizon must be > 0");
    }
    let (t0, t1) = data.time_range();
    let start_ns = match &a.start {
        Some(s) => {
            let t = parse_start_ns(s)?;
            if t < t0 || t > t1 {
                bail!(
                    "--start {s} is outside the data ({} .. {})",
                    clock(t0),
                    clock(t1)
                );
            }
            t
        }
        None => {
            let ten = 10 * 3600 * 1_000_000_000u64;
            if (t0..=t1).contains(&ten) {
                ten
            } else {
                t0 + 60_000_000_000u64.min((t1 - t0) / 10)
            }
        }
    };
    let limit = a.limit.map(|l| Price((l / cfg.price_scale).round() as i64));
    Ok(Setup {
        data,
        cfg,
        parent: ParentOrder {
            side,
            qty: a.qty,
            start_ns,
            horizon_ns,
            limit,
        },
    })
}

fn make_algo(a: &SimulateArgs, name: &str) -> anyhow::Result<Box<dyn Algo>> {
    Ok(match name {
        "immediate" => Box::new(Immediate),
        "twap" => Box::new(Twap::new(a.slices, a.min_slice)),
        "pov" => Box::new(Pov::new(a.pov_rate, a.pov_max_rate, 1)),
        "iceberg" => Box::new(Iceberg::new(a.display, a.repeg_ticks)),
        n => bail!("--algo {n:?}: one of {}", ALGOS.join(", ")),
    })
}

fn clock(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ns / 1_000_000 % 1000
    )
}

struct Outcome {
    report: ExecReport,
    multi: Option<MultiRun>,
}

fn run_one(a: &SimulateArgs, s: &Setup, name: &str) -> anyhow::Result<Outcome> {
    make_algo(a, name)?;
    let mk = || make_algo(a, name).expect("checked");
    let report = simulate_with_latency_cost(&s.data, &s.cfg, &s.parent, &mk)?;
    let multi = if a.runs > 1 {
        Some(simulate_runs(
            &s.data,
            &s.cfg,
            &s.parent,
            &mk,
            a.runs,
            a.seed,
            60_000_000_000,
        )?)
    } else {
        None
    };
    Ok(Outcome { report, multi })
}

fn stats_json(c: &CostStats) -> Value {
    json!({"n": c.n, "mean": c.mean, "stdev": c.stdev, "p95": c.p95})
}

fn num(v: f64) -> Value {
    if v.is_finite() { json!(v) } else { Value::Null }
}

fn to_json(o: &Outcome, scale: f64) -> Value {
    let r = &o.report;
    let mut v = json!({
        "algo": r.algo,
        "source": r.source,
        "queue": r.queue,
        "filled_qty": r.filled_qty,
        "fill_ratio": num(r.fill_ratio),
        "avg_price": num(r.avg_price * scale),
        "arrival_price": num(r.arrival_price * scale),
        "slippage_bps": num(r.slippage_bps),
        "shortfall_bps": num(r.shortfall_bps),
        "vwap_slippage_bps": num(r.vwap_slippage_bps),
        "latency_slippage_bps": num(r.latency_slippage_bps),
        "latency_shortfall_bps": num(r.latency_shortfall_bps),
        "fees": num(r.fees),
        "unfilled_reason": r.unfilled_reason,
    });
    let m = v.as_object_mut().expect("object");
    m.insert(
        "details".into(),
        json!({
            "side": r.side.as_str(),
            "qty": r.qty,
            "delay_bps": num(r.delay_bps),
            "trading_bps": num(r.trading_bps),
            "opportunity_bps": num(r.opportunity_bps),
            "fees_bps": num(r.fees_bps),
            "market_vwap": num(r.market_vwap * scale),
            "market_twap": num(r.market_twap * scale),
            "twap_slippage_bps": num(r.twap_slippage_bps),
            "effective_spread_bps": num(r.effective_spread_bps),
            "impact_bps": num(r.impact_bps),
            "reversion_bps": num(r.reversion_bps),
            "end_mid": num(r.end_mid * scale),
            "children": r.children,
            "fills": r.fills.len(),
            "sent_lots": r.sent_lots,
            "ioc_unfilled_lots": r.ioc_unfilled_lots,
            "resting_at_end_lots": r.resting_at_end_lots,
            "market_cancels_at_our_level": r.market.cancels_at_our_level,
            "market_cancels_ahead": r.market.cancels_ahead,
        }),
    );
    if let Some(mr) = &o.multi {
        m.insert(
            "runs".into(),
            json!({
                "shortfall_bps": stats_json(&mr.shortfall),
                "slippage_bps": stats_json(&mr.slippage),
                "per_run": mr.runs.iter().map(|r| json!({
                    "start_ns": r.start_ns,
                    "filled_qty": r.filled_qty,
                    "fill_ratio": num(r.fill_ratio),
                    "slippage_bps": num(r.slippage_bps),
                    "shortfall_bps": num(r.shortfall_bps),
                    "latency_slippage_bps": num(r.latency_slippage_bps),
                })).collect::<Vec<_>>(),
            }),
        );
    }
    v
}

fn rows(o: &Outcome, scale: f64) -> Vec<(&'static str, String)> {
    let r = &o.report;
    let px = |v: f64| {
        if v.is_finite() && v != 0.0 {
            format!("{:.4}", v * scale)
        } else {
            "-".into()
        }
    };
    let b = |v: f64| {
        if v.is_finite() {
            format!("{v:+.3}")
        } else {
            "-".into()
        }
    };
    let mut out = vec![
        ("filled", format!("{} / {}", r.filled_qty, r.qty)),
        ("fill ratio", format!("{:.4}", r.fill_ratio)),
        (
            "children / fills",
            format!("{} / {}", r.children, r.fills.len()),
        ),
        ("arrival price (mid)", px(r.arrival_price)),
        ("avg fill price", px(r.avg_price)),
        ("slippage vs arrival (bps)", b(r.slippage_bps)),
        ("shortfall (bps)", b(r.shortfall_bps)),
        ("  delay (bps)", b(r.delay_bps)),
        ("  trading (bps)", b(r.trading_bps)),
        ("  opportunity (bps)", b(r.opportunity_bps)),
        ("  fees (bps)", b(r.fees_bps)),
        ("market VWAP", px(r.market_vwap)),
        ("slippage vs VWAP (bps)", b(r.vwap_slippage_bps)),
        ("market TWAP (mid)", px(r.market_twap)),
        ("slippage vs TWAP (bps)", b(r.twap_slippage_bps)),
        ("effective spread (bps)", b(r.effective_spread_bps)),
        ("temporary impact (bps)", b(r.impact_bps)),
        ("reversion (bps)", b(r.reversion_bps)),
        ("latency slippage (bps)", b(r.latency_slippage_bps)),
        ("latency shortfall (bps)", b(r.latency_shortfall_bps)),
        ("fees", format!("{:.2}", r.fees)),
    ];
    if let Some(m) = &o.multi {
        out.push(("runs", m.shortfall.n.to_string()));
        out.push(("shortfall mean (bps)", b(m.shortfall.mean)));
        out.push(("shortfall stdev (bps)", format!("{:.3}", m.shortfall.stdev)));
        out.push(("shortfall p95 (bps)", b(m.shortfall.p95)));
    }
    out
}

fn print_table(names: &[String], outs: &[Outcome], scale: f64) {
    let cols: Vec<Vec<(&'static str, String)>> = outs.iter().map(|o| rows(o, scale)).collect();
    let w0 = cols[0].iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w: Vec<usize> = cols
        .iter()
        .zip(names)
        .map(|(c, n)| c.iter().map(|r| r.1.len()).max().unwrap_or(0).max(n.len()))
        .collect();
    let mut line = format!("{:<w0$}", "");
    for (n, w) in names.iter().zip(&w) {
        line += &format!("  {n:>w$}");
    }
    println!("{line}");
    for k in 0..cols[0].len() {
        let mut line = format!("{:<w0$}", cols[0][k].0);
        for (c, w) in cols.iter().zip(&w) {
            line += &format!("  {:>w$}", c[k].1);
        }
        println!("{line}");
    }
}

fn header(a: &SimulateArgs, s: &Setup) {
    let st = s.data.events.len();
    println!(
        "simulate: {} {} lots (lot = {}) {} from {} for {} on source {} [{}] ({} events), queue model {}, latency entry {} md {} ack {}{}",
        a.side,
        a.qty,
        s.data.lot_scale,
        a.data.file_name().and_then(|n| n.to_str()).unwrap_or(""),
        clock(s.parent.start_ns),
        a.horizon,
        s.data.source.as_str(),
        s.data.label,
        st,
        s.cfg.queue.as_str(),
        a.latency,
        a.md_latency,
        a.ack_latency,
        a.jitter
            .as_ref()
            .map(|j| format!(" + Exp({j})"))
            .unwrap_or_default(),
    );
    if s.data.dropped > 0 {
        println!(
            "data: {} messages naming orders never added in the capture were dropped",
            s.data.dropped
        );
    }
}

fn unfilled_notes(outs: &[Outcome]) {
    for o in outs {
        if !o.report.unfilled_reason.is_empty() {
            println!("{}: {}", o.report.algo, o.report.unfilled_reason);
        }
    }
}

/// `ferrex simulate`.
pub fn run(a: &SimulateArgs) -> anyhow::Result<()> {
    let s = setup(a)?;
    let o = run_one(a, &s, &a.algo)?;
    let scale = s.cfg.price_scale;
    if let Some(p) = &a.plot {
        plot(p, &o.report, scale).with_context(|| format!("plotting {}", p.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string(&to_json(&o, scale))?);
    } else {
        header(a, &s);
        print_table(
            std::slice::from_ref(&o.report.algo),
            std::slice::from_ref(&o),
            scale,
        );
        unfilled_notes(std::slice::from_ref(&o));
        let m = o.report.market;
        println!(
            "market: {} messages, {} unknown refs, {} ignored (liquidity we took), {} real lots taken, {} level decreases at our level ({} taken from ahead of us)",
            m.messages,
            m.unknown_refs,
            m.ignored_taken,
            m.real_lots_taken,
            m.cancels_at_our_level,
            m.cancels_ahead
        );
        if let Some(p) = &a.plot {
            println!("plot: {}", p.display());
        }
    }
    Ok(())
}

/// `ferrex compare-algos`: every algorithm on the same order, side by side.
pub fn compare_algos(a: &SimulateArgs) -> anyhow::Result<()> {
    let s = setup(a)?;
    let scale = s.cfg.price_scale;
    let mut outs = Vec::new();
    for name in ALGOS {
        outs.push(run_one(a, &s, name)?);
    }
    if let Some(p) = &a.plot {
        plot_compare(p, &outs, &s).with_context(|| format!("plotting {}", p.display()))?;
    }
    if a.json {
        let v: Vec<Value> = outs.iter().map(|o| to_json(o, scale)).collect();
        println!("{}", serde_json::to_string(&v)?);
    } else {
        header(a, &s);
        let names: Vec<String> = ALGOS.iter().map(|s| s.to_string()).collect();
        print_table(&names, &outs, scale);
        unfilled_notes(&outs);
        if let Some(p) = &a.plot {
            println!("plot: {}", p.display());
        }
    }
    Ok(())
}

type Metric = fn(&ExecReport) -> f64;

/// Left: each algorithm's cumulative filled lots vs seconds since the decision; right: its
/// shortfall, slippage vs arrival and latency slippage (bps) as bars.
fn plot_compare(path: &Path, outs: &[Outcome], s: &Setup) -> anyhow::Result<()> {
    use plotters::prelude::*;
    crate::plot::ensure_font()?;
    let t0 = s.parent.start_ns;
    let horizon = s.parent.horizon_ns as f64 / 1e9;
    let colors = [RED, BLUE, GREEN, MAGENTA, CYAN, BLACK];
    let root = BitMapBackend::new(path, (1400, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(850);
    let qty = s.parent.qty as f64;
    let mut chart = ChartBuilder::on(&left)
        .caption(
            format!(
                "cumulative fills: {} {} lots, {} / {} queue",
                s.parent.side.as_str(),
                s.parent.qty,
                s.data.source.as_str(),
                s.cfg.queue.as_str()
            ),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..horizon.max(1e-3), 0.0..qty * 1.05)?;
    chart
        .configure_mesh()
        .x_desc("seconds since start")
        .y_desc("filled lots")
        .draw()?;
    for (k, o) in outs.iter().enumerate() {
        let c = colors[k % colors.len()];
        let mut cum = 0u64;
        let mut pts = vec![(0.0, 0.0)];
        for f in &o.report.fills {
            let x = f.time.saturating_sub(t0) as f64 / 1e9;
            pts.push((x, cum as f64));
            cum += f.qty;
            pts.push((x, cum as f64));
        }
        pts.push((horizon, cum as f64));
        chart
            .draw_series(LineSeries::new(pts, c.stroke_width(2)))?
            .label(o.report.algo.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let metrics: [(&str, Metric); 3] = [
        ("shortfall", |r| r.shortfall_bps),
        ("slippage", |r| r.slippage_bps),
        ("latency slip.", |r| r.latency_slippage_bps),
    ];
    let vals: Vec<f64> = outs
        .iter()
        .flat_map(|o| metrics.iter().map(|m| (m.1)(&o.report)))
        .filter(|v| v.is_finite())
        .collect();
    let lo = vals.iter().copied().fold(0.0f64, f64::min);
    let hi = vals.iter().copied().fold(0.0f64, f64::max);
    let pad = ((hi - lo) * 0.1).max(0.1);
    let n = outs.len();
    let mut bars = ChartBuilder::on(&right)
        .caption("costs (bps, + = cost)", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..(metrics.len() as f64), (lo - pad)..(hi + pad))?;
    bars.configure_mesh()
        .disable_x_mesh()
        .x_labels(metrics.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let k = x.floor() as usize;
            if (x - k as f64 - 0.5).abs() < 0.01 && k < metrics.len() {
                metrics[k].0.to_string()
            } else {
                String::new()
            }
        })
        .y_desc("bps")
        .draw()?;
    let w = 0.8 / n.max(1) as f64;
    for (k, o) in outs.iter().enumerate() {
        let c = colors[k % colors.len()];
        bars.draw_series(metrics.iter().enumerate().filter_map(|(j, m)| {
            let v = (m.1)(&o.report);
            if !v.is_finite() {
                return None;
            }
            let x0 = j as f64 + 0.1 + k as f64 * w;
            Some(Rectangle::new([(x0, 0.0), (x0 + w * 0.9, v)], c.filled()))
        }))?;
    }
    root.present()?;
    Ok(())
}

fn plot(path: &Path, r: &ExecReport, scale: f64) -> anyhow::Result<()> {
    use plotters::prelude::*;
    crate::plot::ensure_font()?;
    let t0 = r.mid_series.first().map_or(0, |m| m.0);
    let x = |t: u64| (t.saturating_sub(t0)) as f64 / 1e9;
    let mut pts: Vec<f64> = r.mid_series.iter().map(|m| m.1 * scale).collect();
    pts.extend(r.fills.iter().map(|f| f.price as f64 * scale));
    pts.extend(r.vwap_series.iter().map(|v| v.1 * scale));
    if pts.is_empty() {
        bail!("nothing to plot");
    }
    let lo = pts.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = pts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.05).max(0.01);
    let xmax = r.mid_series.last().map_or(1.0, |m| x(m.0)).max(1e-3);
    let root = BitMapBackend::new(path, (1100, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{} {} {}: avg {:.4}, arrival {:.4}, shortfall {:+.2} bps",
                r.algo,
                r.side.as_str(),
                r.qty,
                r.avg_price * scale,
                r.arrival_price * scale,
                r.shortfall_bps
            ),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..xmax, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc("seconds since start")
        .y_desc("price")
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            r.mid_series.iter().map(|m| (x(m.0), m.1 * scale)),
            &BLUE,
        ))?
        .label("mid")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(LineSeries::new(
            r.vwap_series.iter().map(|v| (x(v.0), v.1 * scale)),
            &GREEN,
        ))?
        .label("market VWAP")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    chart
        .draw_series(
            r.fills
                .iter()
                .map(|f| Circle::new((x(f.time), f.price as f64 * scale), 4, RED.filled())),
        )?
        .label("our fills")
        .legend(|(x, y)| Circle::new((x + 10, y), 4, RED.filled()));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration_ns("50us").unwrap(), 50_000);
        assert_eq!(parse_duration_ns("10m").unwrap(), 600_000_000_000);
        assert_eq!(parse_duration_ns("1.5ms").unwrap(), 1_500_000);
        assert_eq!(parse_duration_ns("0").unwrap(), 0);
        assert!(parse_duration_ns("5x").is_err());
        assert_eq!(parse_start_ns("10:00:00").unwrap(), 36_000_000_000_000);
        assert_eq!(parse_start_ns("09:30:00.5").unwrap(), 34_200_500_000_000);
        assert_eq!(parse_start_ns("123").unwrap(), 123);
    }
}
