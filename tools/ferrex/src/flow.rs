//! Seeded, reproducible order flow for `ferrex bench`: adds near the touch, cancels of live
//! orders, marketable IOC orders.

use ferrex_types::*;

/// A small, fast, seeded generator (SplitMix64): the flow must be reproducible from `--seed`.
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// The mix of the generated flow, in percent (the rest are adds).
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    /// Cancels of live orders.
    pub cancel_pct: u64,
    /// Marketable IOC orders.
    pub marketable_pct: u64,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            cancel_pct: 40,
            marketable_pct: 10,
        }
    }
}

/// `n` commands for instrument 0, accounts `first_account..first_account+8`, order ids from
/// `first_id`. Adds rest within 10 ticks of a slowly moving mid (100,000); cancels name orders
/// that this flow added and has not cancelled (some have traded away: those are rejects, as in
/// real flow); marketable orders are IOC limits 5 ticks through the touch.
pub fn generate(n: usize, seed: u64, first_id: u64, first_account: u32, mix: Mix) -> Vec<Command> {
    let mut rng = SplitMix::new(seed);
    let mut out = Vec::with_capacity(n);
    let mut live: Vec<(u64, u32)> = Vec::with_capacity(4096);
    let mut next_id = first_id;
    let mut mid: i64 = 100_000;
    for _ in 0..n {
        if rng.below(64) == 0 {
            mid += rng.below(3) as i64 - 1;
        }
        let r = rng.below(100);
        let account = AccountId(first_account + rng.below(8) as u32);
        let kind = if r < mix.cancel_pct && !live.is_empty() {
            let k = rng.below(live.len() as u64) as usize;
            let (id, acct) = live.swap_remove(k);
            CommandKind::Cancel(CancelOrder {
                order_id: OrderId(id),
                account: AccountId(acct),
                instrument: InstrumentId(0),
            })
        } else {
            let side = if rng.below(2) == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let marketable = r >= 100 - mix.marketable_pct;
            let off = if marketable {
                -5
            } else {
                1 + rng.below(10) as i64
            };
            let price = match side {
                Side::Buy => mid - off,
                Side::Sell => mid + off,
            };
            let id = next_id;
            next_id += 1;
            if !marketable {
                if live.len() == 4096 {
                    live.swap_remove(rng.below(4096) as usize);
                }
                live.push((id, account.0));
            }
            CommandKind::New(NewOrder {
                order_id: OrderId(id),
                price: Price(price),
                qty: Qty(1 + rng.below(10)),
                account,
                side,
                tif: if marketable {
                    TimeInForce::Ioc
                } else {
                    TimeInForce::Gtc
                },
                stp: StpMode::None,
                ..NewOrder::default()
            })
        };
        out.push(Command::new(0, kind));
    }
    out
}

/// The order id a command's acknowledgement carries (the order it names).
pub fn ack_id(c: &Command) -> u64 {
    match c.kind {
        CommandKind::New(o) => o.order_id.0,
        CommandKind::Cancel(c) => c.order_id.0,
        CommandKind::Modify(m) => m.order_id.0,
        _ => 0,
    }
}

/// Is `e` the acknowledgement of a command naming order `id`? The first event a command
/// produces about its own order: Accepted / Rejected (new), Cancelled with reason Requested or
/// Rejected (cancel), Replaced or Rejected (modify).
#[inline]
pub fn is_ack(e: &Event, id: u64) -> bool {
    match e.kind {
        EventKind::Accepted { order_id, .. }
        | EventKind::Rejected { order_id, .. }
        | EventKind::Replaced { order_id, .. } => order_id.0 == id,
        EventKind::Cancelled {
            order_id, reason, ..
        } => order_id.0 == id && reason == CancelReason::Requested,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_mixed() {
        let a = generate(10_000, 1, 1, 1, Mix::default());
        let b = generate(10_000, 1, 1, 1, Mix::default());
        assert_eq!(a, b);
        let cancels = a
            .iter()
            .filter(|c| matches!(c.kind, CommandKind::Cancel(_)))
            .count();
        let iocs = a
            .iter()
            .filter(|c| matches!(c.kind, CommandKind::New(o) if o.tif == TimeInForce::Ioc))
            .count();
        assert!((3_000..5_000).contains(&cancels), "{cancels}");
        assert!((500..1_500).contains(&iocs), "{iocs}");
        assert_ne!(a, generate(10_000, 2, 1, 1, Mix::default()));
    }
}
