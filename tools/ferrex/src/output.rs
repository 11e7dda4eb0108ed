//! Event printing: one line per event, as text or JSON.

use crate::run::Names;
use ferrex_types::{Event, EventKind};
use serde_json::{Map, Value, json};
use std::io::Write;

/// How `ferrex run` prints events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventFormat {
    /// `seq type key=value ...`
    Text,
    /// One JSON object per line.
    Json,
}

/// The fields of an event as (key, value) pairs, `type` first.
pub fn event_fields(e: &Event, names: &Names) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("seq".into(), json!(e.seq));
    m.insert("cmd_seq".into(), json!(e.cmd_seq));
    m.insert("time".into(), json!(e.time));
    m.insert("type".into(), json!(e.kind.type_name()));
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    match e.kind {
        EventKind::Accepted {
            order_id,
            account,
            instrument,
            side,
            price,
            qty,
        } => {
            put("order_id", json!(order_id.0));
            put("account", json!(account.0));
            put("instrument", json!(names.name(instrument)));
            put("side", json!(side.as_str()));
            put("price", json!(price.0));
            put("qty", json!(qty.0));
        }
        EventKind::Rejected {
            order_id,
            account,
            instrument,
            reason,
            limit,
            value,
        } => {
            put("order_id", json!(order_id.0));
            put("account", json!(account.0));
            put("instrument", json!(names.name(instrument)));
            put("reason", json!(reason.as_str()));
            put("limit", json!(limit));
            put("value", json!(value));
        }
        EventKind::Trade {
            instrument,
            price,
            qty,
            maker_order_id,
            taker_order_id,
            maker_leaves,
            taker_leaves,
            maker_account,
            taker_account,
            aggressor,
        } => {
            put("order_id", json!(taker_order_id.0));
            put("instrument", json!(names.name(instrument)));
            put("price", json!(price.0));
            put("qty", json!(qty.0));
            put("maker_order_id", json!(maker_order_id.0));
            put("taker_order_id", json!(taker_order_id.0));
            put("maker_account", json!(maker_account.0));
            put("taker_account", json!(taker_account.0));
            put("aggressor", json!(aggressor.as_str()));
            put("maker_leaves", json!(maker_leaves.0));
            put("taker_leaves", json!(taker_leaves.0));
        }
        EventKind::Cancelled {
            order_id,
            account,
            instrument,
            reason,
            qty,
            side,
            price,
            leaves,
        } => {
            put("order_id", json!(order_id.0));
            put("account", json!(account.0));
            put("instrument", json!(names.name(instrument)));
            put("reason", json!(reason.as_str()));
            put("qty", json!(qty.0));
            put("side", json!(side.as_str()));
            put("price", json!(price.0));
            put("leaves", json!(leaves.0));
        }
        EventKind::Replaced {
            order_id,
            account,
            instrument,
            price,
            qty,
            kept_priority,
        } => {
            put("order_id", json!(order_id.0));
            put("account", json!(account.0));
            put("instrument", json!(names.name(instrument)));
            put("price", json!(price.0));
            put("qty", json!(qty.0));
            put("kept_priority", json!(kept_priority));
        }
        EventKind::Triggered {
            order_id,
            account,
            instrument,
            stop_price,
            trade_price,
        } => {
            put("order_id", json!(order_id.0));
            put("account", json!(account.0));
            put("instrument", json!(names.name(instrument)));
            put("stop_price", json!(stop_price.0));
            put("trade_price", json!(trade_price.0));
        }
        EventKind::Expired {
            order_id,
            account,
            instrument,
            qty,
            side,
            price,
        } => {
            put("order_id", json!(order_id.0));
            put("account", json!(account.0));
            put("instrument", json!(names.name(instrument)));
            put("qty", json!(qty.0));
            put("side", json!(side.as_str()));
            put("price", json!(price.0));
        }
        EventKind::LevelChanged {
            instrument,
            side,
            price,
            qty,
            orders,
        } => {
            put("instrument", json!(names.name(instrument)));
            put("side", json!(side.as_str()));
            put("price", json!(price.0));
            put("qty", json!(qty.0));
            put("orders", json!(orders));
        }
        EventKind::AccountState {
            account,
            state,
            cause,
            until,
        } => {
            put("account", json!(account.0));
            put("state", json!(format!("{state:?}").to_ascii_lowercase()));
            put("reason", json!(cause.as_str()));
            put("until", json!(until));
        }
        EventKind::InstrumentState {
            instrument,
            state,
            cause,
            until,
        } => {
            put("instrument", json!(names.name(instrument)));
            put("state", json!(format!("{state:?}").to_ascii_lowercase()));
            put("reason", json!(cause.as_str()));
            put("until", json!(until));
        }
    }
    m
}

/// Print one event.
pub fn print_event(
    out: &mut impl Write,
    e: &Event,
    names: &Names,
    fmt: EventFormat,
) -> std::io::Result<()> {
    let m = event_fields(e, names);
    match fmt {
        EventFormat::Json => writeln!(out, "{}", Value::Object(m)),
        EventFormat::Text => {
            write!(out, "{} {}", e.seq, e.kind.type_name())?;
            for (k, v) in &m {
                if matches!(k.as_str(), "seq" | "cmd_seq" | "time" | "type") {
                    continue;
                }
                match v {
                    Value::String(s) => write!(out, " {k}={s}")?,
                    v => write!(out, " {k}={v}")?,
                }
            }
            writeln!(out)
        }
    }
}
