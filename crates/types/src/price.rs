//! Price, quantity and side.

/// A price in integer ticks of the instrument's price unit (for example 1/10000 of a dollar for
/// ITCH data). The instrument's tick size says which multiples of this unit are valid.
/// Arithmetic on prices in the engine is checked or widened to `i128`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Price(pub i64);

/// A quantity in lots (the instrument's smallest quantity unit). Never negative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Qty(pub u64);

impl Price {
    /// The zero price (also used as "no price" where a field is unused).
    pub const ZERO: Price = Price(0);
    /// Raw tick count.
    #[inline(always)]
    pub const fn ticks(self) -> i64 {
        self.0
    }
}

impl Qty {
    /// Zero lots.
    pub const ZERO: Qty = Qty(0);
    /// Raw lot count.
    #[inline(always)]
    pub const fn lots(self) -> u64 {
        self.0
    }
    /// True when zero.
    #[inline(always)]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl core::fmt::Display for Price {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

impl core::fmt::Display for Qty {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

/// Side of an order. For a trade, the side of the aggressor (taker).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Side {
    /// Bid.
    #[default]
    Buy = 0,
    /// Ask / offer.
    Sell = 1,
}

impl Side {
    /// The other side.
    #[inline(always)]
    pub const fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
    /// 0 for Buy, 1 for Sell: an index into per-side arrays.
    #[inline(always)]
    pub const fn index(self) -> usize {
        self as usize
    }
    /// Lower-case name, as used by the CLI and JSON output (`buy` / `sell`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}
