//! Risk configuration: loaded from TOML (or built in code) and validated once at start-up.
//!
//! Every limit is optional: a missing key means "no limit". Ids are small dense integers; the
//! risk tables are sized from the largest configured id (or `max_accounts` when a default
//! account profile is given).

use serde::Deserialize;

/// A configuration that could not be loaded. The message names the key and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The TOML text did not parse or did not match the schema (unknown key, wrong type, …).
    #[error("risk config: {0}")]
    Parse(String),
    /// A value is out of range or inconsistent.
    #[error("{key}: {problem}")]
    Invalid {
        /// The offending key, e.g. `accounts[2].credit_limit`.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

/// The whole risk configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    /// Capacity of the risk layer's order table: live orders it can track (all instruments).
    /// New orders beyond it are rejected `MaxOpenOrders` (limit = this capacity). Default 1 Mi.
    #[serde(default = "default_max_orders")]
    pub max_orders: u32,
    /// Size of the dense account table when `default_account` is set: accounts `1..max_accounts`
    /// that are not listed get the default profile. Ignored without a default profile.
    #[serde(default)]
    pub max_accounts: u32,
    /// Profile for accounts not listed in `accounts` (its `id` is ignored). Without it an
    /// unlisted account is rejected `UnknownAccount`.
    #[serde(default)]
    pub default_account: Option<AccountConfig>,
    /// Per-account limits.
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// Per-instrument limits.
    #[serde(default)]
    pub instruments: Vec<InstrumentConfig>,
}

fn default_max_orders() -> u32 {
    1 << 20
}

/// Limits of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Account id (≥ 1; 0 is the anonymous account of replayed executions).
    #[serde(default)]
    pub id: u32,
    /// Credit limit: open orders' notional + Σ |position| × last trade price stays ≤ this
    /// (price ticks × lots).
    pub credit_limit: Option<i64>,
    /// Max resting orders (GTC/GTD/PostOnly and pending stops) of the account.
    pub max_open_orders: Option<u32>,
    /// Max resting orders of the account in any one instrument.
    pub max_open_orders_per_instrument: Option<u32>,
    /// Max quantity of one order (lots); combined with the instrument's (the smaller applies).
    pub max_order_qty: Option<u64>,
    /// Max notional of one order (ticks × lots); combined with the instrument's.
    pub max_order_notional: Option<i64>,
    /// Max long position per instrument, counting open buy orders (lots).
    pub max_long: Option<u64>,
    /// Max short position per instrument, counting open sell orders (lots).
    pub max_short: Option<u64>,
    /// Message throttle.
    pub throttle: Option<ThrottleConfig>,
    /// Market-maker protection.
    pub mmp: Option<MmpConfig>,
}

/// Message throttle: a token bucket on engine time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Messages (new, modify, cancel) allowed per window; more are rejected `Throttled`.
    pub rate: u32,
    /// Window length in engine nanoseconds (> 0).
    pub window_ns: u64,
    /// Second threshold: messages per window (counting throttled ones) beyond which the account
    /// is halted. Must be > `rate`. `None`: never halt.
    pub halt_threshold: Option<u32>,
    /// How long the throttle halt lasts (ns); 0 = until `SetAccountState`.
    #[serde(default)]
    pub halt_ns: u64,
}

/// Market-maker protection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MmpConfig {
    /// Window length in engine nanoseconds (> 0).
    pub window_ns: u64,
    /// Trips when lots filled on MMP-flagged orders within the window exceed this.
    pub max_qty: Option<u64>,
    /// Trips when fills on MMP-flagged orders within the window exceed this count.
    pub max_count: Option<u32>,
    /// Freeze length in ns; 0 = until `ResetMmp`.
    #[serde(default)]
    pub freeze_ns: u64,
}

/// Limits of one instrument.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentConfig {
    /// Instrument id (the engine's book index).
    pub id: u32,
    /// Valid prices are multiples of this (price units). Default 1.
    #[serde(default = "one_i64")]
    pub tick_size: i64,
    /// Valid quantities are multiples of this (lots). Default 1.
    #[serde(default = "one_u64")]
    pub lot_size: u64,
    /// Smallest order quantity (lots). Default 1.
    #[serde(default = "one_u64")]
    pub min_qty: u64,
    /// Largest order quantity (lots). Default: no limit.
    pub max_qty: Option<u64>,
    /// Lowest limit/stop price (ticks). Default 1.
    #[serde(default = "one_i64")]
    pub min_price: i64,
    /// Highest limit/stop price (ticks). Default 2^53.
    #[serde(default = "max_price_default")]
    pub max_price: i64,
    /// Max quantity of one order (lots), for every account (fat-finger limit).
    pub max_order_qty: Option<u64>,
    /// Max notional of one order (ticks × lots), for every account.
    pub max_order_notional: Option<i64>,
    /// Market-order protection in ticks (the book applies it; exposed for `BookConfig`).
    #[serde(default = "default_protection")]
    pub market_protection_ticks: i64,
    /// Price band (collar) around the reference price.
    pub price_band: Option<BandConfig>,
    /// Reference price used by the band before the first trade when the book has no mid.
    pub reference_price: Option<i64>,
    /// Volatility interruption.
    pub velocity: Option<VelocityConfig>,
}

fn one_i64() -> i64 {
    1
}
fn one_u64() -> u64 {
    1
}
fn max_price_default() -> i64 {
    1 << 53
}
fn default_protection() -> i64 {
    1000
}

/// Price band width: exactly one of `bps` or `ticks`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandConfig {
    /// Width in basis points of the reference price.
    pub bps: Option<i64>,
    /// Width in ticks (tick_size units).
    pub ticks: Option<i64>,
}

/// Volatility interruption: trade prices moving more than `max_move_ticks` within `window_ns`
/// halt the instrument for `halt_ns`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VelocityConfig {
    /// Largest allowed move (ticks, tick_size units) between trade prices within the window.
    pub max_move_ticks: i64,
    /// Window (ns, > 0).
    pub window_ns: u64,
    /// Halt length (ns, > 0).
    pub halt_ns: u64,
}

impl RiskConfig {
    /// Parse and validate a TOML document.
    ///
    /// ```
    /// let cfg = ferrex_risk::RiskConfig::from_toml_str(r#"
    ///     [[instruments]]
    ///     id = 0
    ///     [[accounts]]
    ///     id = 1
    ///     credit_limit = 1000000
    /// "#).unwrap();
    /// assert_eq!(cfg.accounts[0].credit_limit, Some(1_000_000));
    /// ```
    pub fn from_toml_str(s: &str) -> Result<RiskConfig, ConfigError> {
        let cfg: RiskConfig = toml::from_str(s).map_err(|e| ConfigError::Parse(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every value; the error names the key (`accounts[2].credit_limit`) and the problem.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_orders == 0 {
            return Err(invalid("max_orders", "must be > 0"));
        }
        if self.max_orders > (1 << 30) {
            return Err(invalid("max_orders", "must be <= 1073741824"));
        }
        if self.instruments.is_empty() {
            return Err(invalid(
                "instruments",
                "at least one instrument is required",
            ));
        }
        if let Some(d) = &self.default_account {
            if self.max_accounts == 0 {
                return Err(invalid(
                    "max_accounts",
                    "must be > 0 when default_account is set",
                ));
            }
            validate_account(d, "default_account", false)?;
        } else if self.accounts.is_empty() {
            return Err(invalid(
                "accounts",
                "at least one account (or a default_account) is required",
            ));
        }
        if self.max_accounts > (1 << 24) {
            return Err(invalid("max_accounts", "must be <= 16777216"));
        }
        let mut max_acct = 0u32;
        for (n, a) in self.accounts.iter().enumerate() {
            let key = format!("accounts[{n}]");
            validate_account(a, &key, true)?;
            if a.id > (1 << 24) {
                return Err(invalid(format!("{key}.id"), "must be <= 16777216"));
            }
            if self.accounts[..n].iter().any(|b| b.id == a.id) {
                return Err(invalid(
                    format!("{key}.id"),
                    format!("duplicate account id {}", a.id),
                ));
            }
            max_acct = max_acct.max(a.id);
        }
        for (n, i) in self.instruments.iter().enumerate() {
            let key = format!("instruments[{n}]");
            validate_instrument(i, &key)?;
            if self.instruments[..n].iter().any(|j| j.id == i.id) {
                return Err(invalid(
                    format!("{key}.id"),
                    format!("duplicate instrument id {}", i.id),
                ));
            }
        }
        let accounts = (max_acct as u64 + 1).max(self.max_accounts as u64);
        let cells = accounts * (self.max_instrument_id() as u64 + 1);
        if cells > (1 << 26) {
            return Err(invalid(
                "accounts",
                format!("accounts × instruments = {cells} slots; must be <= 67108864"),
            ));
        }
        Ok(())
    }

    pub(crate) fn max_instrument_id(&self) -> u32 {
        self.instruments.iter().map(|i| i.id).max().unwrap_or(0)
    }
}

fn positive(key: &str, field: &str, v: Option<i64>) -> Result<(), ConfigError> {
    match v {
        Some(x) if x <= 0 => Err(invalid(format!("{key}.{field}"), "must be > 0")),
        _ => Ok(()),
    }
}

fn validate_account(a: &AccountConfig, key: &str, needs_id: bool) -> Result<(), ConfigError> {
    if needs_id && a.id == 0 {
        return Err(invalid(
            format!("{key}.id"),
            "must be >= 1 (0 is the anonymous account)",
        ));
    }
    positive(key, "credit_limit", a.credit_limit)?;
    positive(key, "max_order_notional", a.max_order_notional)?;
    if a.max_order_qty == Some(0) {
        return Err(invalid(format!("{key}.max_order_qty"), "must be > 0"));
    }
    if let Some(t) = &a.throttle {
        if t.rate == 0 {
            return Err(invalid(format!("{key}.throttle.rate"), "must be > 0"));
        }
        if t.window_ns == 0 {
            return Err(invalid(format!("{key}.throttle.window_ns"), "must be > 0"));
        }
        if t.window_ns.checked_mul(t.rate as u64).is_none() {
            return Err(invalid(
                format!("{key}.throttle.window_ns"),
                "rate × window_ns must fit in 64 bits",
            ));
        }
        if let Some(h) = t.halt_threshold {
            if h <= t.rate {
                return Err(invalid(
                    format!("{key}.throttle.halt_threshold"),
                    format!("must be > rate ({})", t.rate),
                ));
            }
            if t.window_ns.checked_mul(h as u64).is_none() {
                return Err(invalid(
                    format!("{key}.throttle.halt_threshold"),
                    "halt_threshold × window_ns must fit in 64 bits",
                ));
            }
        }
    }
    if let Some(m) = &a.mmp {
        if m.window_ns == 0 {
            return Err(invalid(format!("{key}.mmp.window_ns"), "must be > 0"));
        }
        if m.max_qty.is_none() && m.max_count.is_none() {
            return Err(invalid(format!("{key}.mmp"), "needs max_qty or max_count"));
        }
        if m.max_qty == Some(0) {
            return Err(invalid(format!("{key}.mmp.max_qty"), "must be > 0"));
        }
        if m.max_count == Some(0) {
            return Err(invalid(format!("{key}.mmp.max_count"), "must be > 0"));
        }
    }
    Ok(())
}

fn validate_instrument(i: &InstrumentConfig, key: &str) -> Result<(), ConfigError> {
    if i.id > (1 << 20) {
        return Err(invalid(format!("{key}.id"), "must be <= 1048576"));
    }
    if i.tick_size <= 0 {
        return Err(invalid(format!("{key}.tick_size"), "must be > 0"));
    }
    if i.lot_size == 0 {
        return Err(invalid(format!("{key}.lot_size"), "must be > 0"));
    }
    if i.min_qty == 0 {
        return Err(invalid(format!("{key}.min_qty"), "must be > 0"));
    }
    if let Some(m) = i.max_qty
        && m < i.min_qty
    {
        return Err(invalid(
            format!("{key}.max_qty"),
            format!("must be >= min_qty ({})", i.min_qty),
        ));
    }
    if i.min_price <= 0 {
        return Err(invalid(format!("{key}.min_price"), "must be > 0"));
    }
    if i.max_price < i.min_price {
        return Err(invalid(
            format!("{key}.max_price"),
            format!("must be >= min_price ({})", i.min_price),
        ));
    }
    if i.max_order_qty == Some(0) {
        return Err(invalid(format!("{key}.max_order_qty"), "must be > 0"));
    }
    positive(key, "max_order_notional", i.max_order_notional)?;
    if i.market_protection_ticks < 0 {
        return Err(invalid(
            format!("{key}.market_protection_ticks"),
            "must be >= 0",
        ));
    }
    if let Some(b) = &i.price_band {
        match (b.bps, b.ticks) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(invalid(
                    format!("{key}.price_band"),
                    "set exactly one of bps or ticks",
                ));
            }
            (Some(x), None) if x <= 0 => {
                return Err(invalid(format!("{key}.price_band.bps"), "must be > 0"));
            }
            (None, Some(x)) if x <= 0 => {
                return Err(invalid(format!("{key}.price_band.ticks"), "must be > 0"));
            }
            _ => {}
        }
    }
    if let Some(r) = i.reference_price
        && (r < i.min_price || r > i.max_price)
    {
        return Err(invalid(
            format!("{key}.reference_price"),
            format!(
                "must be within min_price..=max_price ({}..={})",
                i.min_price, i.max_price
            ),
        ));
    }
    if let Some(v) = &i.velocity {
        if v.max_move_ticks <= 0 {
            return Err(invalid(
                format!("{key}.velocity.max_move_ticks"),
                "must be > 0",
            ));
        }
        if v.window_ns == 0 {
            return Err(invalid(format!("{key}.velocity.window_ns"), "must be > 0"));
        }
        if v.halt_ns == 0 {
            return Err(invalid(format!("{key}.velocity.halt_ns"), "must be > 0"));
        }
    }
    Ok(())
}
