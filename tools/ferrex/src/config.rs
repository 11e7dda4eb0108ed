//! Instrument configuration for `ferrex run --config FILE.toml`.
//!
//! ```toml
//! [[instrument]]
//! name = "AAPL"          # the name scripts use in the `instrument` column
//! tick_size = 1          # prices must be multiples of this (price units)
//! lot_size = 100         # quantities must be multiples of this (lots)
//! min_price = 1          # valid price range, inclusive
//! max_price = 1000000
//! max_orders = 100000    # live orders (optional, default 1,048,576)
//! max_special_orders = 32768  # of those, icebergs/stops/GTD/STP groups (optional, default 32,768)
//! max_accounts = 16384   # accounts with live orders at once (optional, default 16,384)
//! market_protection_ticks = 100   # optional, default 1,000
//! ```

use anyhow::{Context, bail};
use ferrex_book::BookConfig;
use ferrex_types::Price;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    instrument: Vec<InstrumentToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstrumentToml {
    name: String,
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

/// Instruments by name, in id order.
pub struct Instruments {
    /// Names; `InstrumentId(i)` is `names[i]`.
    pub names: Vec<String>,
    /// Book configurations, same order.
    pub books: Vec<BookConfig>,
}

/// Read and validate an instrument config file.
pub fn load(path: &Path) -> anyhow::Result<Instruments> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: File =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut names = Vec::new();
    let mut books = Vec::new();
    for (i, ins) in file.instrument.iter().enumerate() {
        let key = |k: &str| format!("{}: instrument[{i}] ({}).{k}", path.display(), ins.name);
        if names.contains(&ins.name) {
            bail!("{}: duplicate instrument name", key("name"));
        }
        let b = book_config(
            &BookKeys {
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
                level_events: false,
                ..BookConfig::default()
            },
            key,
        )?;
        names.push(ins.name.clone());
        books.push(b);
    }
    if names.is_empty() {
        bail!("{}: no [[instrument]] table", path.display());
    }
    Ok(Instruments { names, books })
}

/// The book keys an `[[instrument]]` table may set (shared by `ferrex run --config` and
/// `ferrex serve`); `None` keeps the base configuration's value.
pub struct BookKeys {
    /// Prices must be multiples of this.
    pub tick_size: Option<i64>,
    /// Quantities must be multiples of this.
    pub lot_size: Option<u64>,
    /// Lowest valid price.
    pub min_price: Option<i64>,
    /// Highest valid price.
    pub max_price: Option<i64>,
    /// Live orders.
    pub max_orders: Option<u32>,
    /// Of those, slots for icebergs, stops, GTD orders and explicit STP groups.
    pub max_special_orders: Option<u32>,
    /// Accounts with live orders at once.
    pub max_accounts: Option<u32>,
    /// Market-order protection, in ticks.
    pub market_protection_ticks: Option<i64>,
    /// Dense ladder levels.
    pub dense_levels: Option<u32>,
}

/// Applies and validates `k` over `base`; errors name the key through `key`.
pub fn book_config(
    k: &BookKeys,
    base: BookConfig,
    key: impl Fn(&str) -> String,
) -> anyhow::Result<BookConfig> {
    let mut b = base;
    if let Some(t) = k.tick_size {
        if t < 1 {
            bail!("{}: must be >= 1, got {t}", key("tick_size"));
        }
        b.tick_size = t;
    }
    if let Some(l) = k.lot_size {
        if l < 1 {
            bail!("{}: must be >= 1, got {l}", key("lot_size"));
        }
        b.lot_size = l;
    }
    if let Some(p) = k.min_price {
        if p < 1 {
            bail!("{}: must be >= 1, got {p}", key("min_price"));
        }
        b.min_price = Price(p);
    }
    if let Some(p) = k.max_price {
        b.max_price = Price(p);
    }
    if b.max_price < b.min_price {
        bail!(
            "{}: {} is below min_price {}",
            key("max_price"),
            b.max_price,
            b.min_price
        );
    }
    if let Some(m) = k.max_orders {
        if m < 1 {
            bail!("{}: must be >= 1", key("max_orders"));
        }
        b.max_orders = m;
    }
    if let Some(m) = k.max_special_orders {
        b.max_special_orders = m;
    }
    if let Some(m) = k.max_accounts {
        if m < 1 {
            bail!("{}: must be >= 1", key("max_accounts"));
        }
        b.max_accounts = m;
    }
    if let Some(m) = k.market_protection_ticks {
        if m < 0 {
            bail!("{}: must be >= 0, got {m}", key("market_protection_ticks"));
        }
        b.market_protection_ticks = m;
    }
    if let Some(d) = k.dense_levels {
        if d < 64 {
            bail!("{}: must be >= 64, got {d}", key("dense_levels"));
        }
        b.dense_levels = d;
    }
    Ok(b)
}
