//! Loading a risk configuration, and `ferrex risk-check`.

use anyhow::Context;
use ferrex_risk::{Risk, RiskConfig};
use std::path::Path;

/// Read, parse and validate a risk config; errors name the file and the key.
pub fn load(path: &Path) -> anyhow::Result<(RiskConfig, Risk)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let cfg = RiskConfig::from_toml_str(&text).with_context(|| format!("{}", path.display()))?;
    let risk = Risk::new(&cfg).with_context(|| format!("{}", path.display()))?;
    Ok((cfg, risk))
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("-".into(), |x| x.to_string())
}

/// `ferrex risk-check --config FILE`: validate and print the limits that would apply.
pub fn check(path: &Path) -> anyhow::Result<()> {
    let (cfg, _risk) = load(path)?;
    println!("{}: valid", path.display());
    println!(
        "  tracked orders {}, account table {}",
        cfg.max_orders,
        if cfg.max_accounts == 0 {
            "sized from the accounts listed".to_string()
        } else {
            cfg.max_accounts.to_string()
        }
    );
    println!("instruments:");
    for i in &cfg.instruments {
        println!(
            "  {:>4}: tick {} lot {} qty {}..={} price {}..={} max order qty {} notional {} protection {} ticks",
            i.id,
            i.tick_size,
            i.lot_size,
            i.min_qty,
            opt(i.max_qty),
            i.min_price,
            i.max_price,
            opt(i.max_order_qty),
            opt(i.max_order_notional),
            i.market_protection_ticks
        );
        let band = match i.price_band {
            Some(b) => match (b.bps, b.ticks) {
                (Some(bps), _) => format!("±{bps} bps"),
                (_, Some(t)) => format!("±{t} ticks"),
                _ => "-".into(),
            },
            None => "-".into(),
        };
        let vel = i.velocity.map_or("-".into(), |v| {
            format!(
                "{} ticks within {} ns -> halt {} ns",
                v.max_move_ticks, v.window_ns, v.halt_ns
            )
        });
        println!(
            "        band {band} (reference {}), volatility interruption {vel}",
            opt(i.reference_price)
        );
    }
    println!("accounts:");
    let print_account = |label: String, a: &ferrex_risk::AccountConfig| {
        println!(
            "  {label}: credit {} open orders {} (per instrument {}) max qty {} notional {} long {} short {}",
            opt(a.credit_limit),
            opt(a.max_open_orders),
            opt(a.max_open_orders_per_instrument),
            opt(a.max_order_qty),
            opt(a.max_order_notional),
            opt(a.max_long),
            opt(a.max_short)
        );
        if let Some(t) = a.throttle {
            println!(
                "        throttle {} msgs / {} ns, halt above {} for {} ns",
                t.rate,
                t.window_ns,
                opt(t.halt_threshold),
                t.halt_ns
            );
        }
        if let Some(m) = a.mmp {
            println!(
                "        mmp: window {} ns, max {} lots / {} fills, freeze {} ns (0 = until reset)",
                m.window_ns,
                opt(m.max_qty),
                opt(m.max_count),
                m.freeze_ns
            );
        }
    };
    for a in &cfg.accounts {
        print_account(format!("{:>4}", a.id), a);
    }
    if let Some(d) = &cfg.default_account {
        print_account("default".into(), d);
    }
    Ok(())
}
