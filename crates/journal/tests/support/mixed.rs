//! Deterministic generation of arbitrary commands from a stream of random words.

use ferrex_types::{
    AccountId, CancelOrder, Command, CommandKind, InstrumentId, LimitKind, MassCancel, ModifyOrder,
    NewOrder, OrdType, OrderFlags, OrderId, Price, Qty, RiskControl, SetLimit, Side, StpMode,
    TimeInForce, TradingState,
};

/// A small xorshift generator: the tests must not depend on a crate for randomness.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// An arbitrary command kind, every variant and every enum value reachable; field values span
/// their whole ranges.
pub fn kind(r: &mut impl FnMut() -> u64) -> CommandKind {
    let state = |v: u64| {
        [
            TradingState::Active,
            TradingState::Reducing,
            TradingState::Halted,
        ][(v % 3) as usize]
    };
    match r() % 10 {
        0 => CommandKind::New(NewOrder {
            order_id: OrderId(r()),
            price: Price(r() as i64),
            stop_price: Price(r() as i64),
            qty: Qty(r()),
            display_qty: Qty(r()),
            expire_time: r(),
            account: AccountId(r() as u32),
            instrument: InstrumentId(r() as u32),
            stp_group: r() as u32,
            side: if r().is_multiple_of(2) {
                Side::Buy
            } else {
                Side::Sell
            },
            ord_type: [
                OrdType::Limit,
                OrdType::Market,
                OrdType::Stop,
                OrdType::StopLimit,
            ][(r() % 4) as usize],
            tif: [
                TimeInForce::Gtc,
                TimeInForce::Ioc,
                TimeInForce::Fok,
                TimeInForce::Gtd,
                TimeInForce::PostOnly,
            ][(r() % 5) as usize],
            stp: [
                StpMode::CancelResting,
                StpMode::CancelAggressor,
                StpMode::CancelBoth,
                StpMode::DecrementAndCancel,
                StpMode::None,
            ][(r() % 5) as usize],
            flags: OrderFlags(r() as u8),
        }),
        1 => CommandKind::Cancel(CancelOrder {
            order_id: OrderId(r()),
            account: AccountId(r() as u32),
            instrument: InstrumentId(r() as u32),
        }),
        2 => CommandKind::Modify(ModifyOrder {
            order_id: OrderId(r()),
            price: Price(r() as i64),
            qty: Qty(r()),
            account: AccountId(r() as u32),
            instrument: InstrumentId(r() as u32),
        }),
        3 => CommandKind::MassCancel(MassCancel {
            account: AccountId(r() as u32),
            instrument: if r().is_multiple_of(2) {
                None
            } else {
                Some(InstrumentId(r() as u32))
            },
        }),
        4 => CommandKind::Risk(RiskControl::Kill {
            account: AccountId(r() as u32),
        }),
        5 => CommandKind::Risk(RiskControl::SetAccountState {
            account: AccountId(r() as u32),
            state: state(r()),
        }),
        6 => CommandKind::Risk(RiskControl::SetInstrumentState {
            instrument: InstrumentId(r() as u32),
            state: state(r()),
        }),
        7 => CommandKind::Risk(RiskControl::SetLimit(SetLimit {
            value: r() as i64,
            account: AccountId(r() as u32),
            instrument: InstrumentId(r() as u32),
            kind: [
                LimitKind::MaxOrderQty,
                LimitKind::MaxOrderNotional,
                LimitKind::CreditLimit,
                LimitKind::MaxLong,
                LimitKind::MaxShort,
                LimitKind::MaxOpenOrders,
                LimitKind::ThrottleRate,
                LimitKind::PriceBand,
            ][(r() % 8) as usize],
        })),
        8 => CommandKind::Risk(RiskControl::SetReferencePrice {
            instrument: InstrumentId(r() as u32),
            price: Price(r() as i64),
        }),
        _ => CommandKind::Risk(RiskControl::ResetMmp {
            account: AccountId(r() as u32),
        }),
    }
}

/// `n` mixed entries with consecutive sequence numbers from `first_seq`.
#[allow(dead_code)]
pub fn entries(seed: u64, first_seq: u64, n: usize) -> Vec<ferrex_journal::JournalEntry> {
    let mut rng = Rng(seed | 1);
    (0..n as u64)
        .map(|i| {
            let time = rng.next();
            let k = kind(&mut || rng.next());
            ferrex_journal::JournalEntry::new(first_seq + i, Command::new(time, k))
        })
        .collect()
}

/// A fresh, empty temporary directory unique to this process and `name`.
#[allow(dead_code)]
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ferrex-journal-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
