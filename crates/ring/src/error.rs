//! Errors returned by the ring's fallible operations. Enums, never strings: callers match on them.

use std::fmt;

/// Why [`Producer::try_push`](crate::Producer::try_push) did not enqueue the value; the value
/// is handed back either way, so nothing is ever silently dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushError<T> {
    /// The ring is full: back-pressure. The producer decides whether to retry, shed or stall.
    Full(T),
    /// The [`Consumer`](crate::Consumer) has been dropped: nobody will ever read this value.
    Abandoned(T),
}

impl<T> PushError<T> {
    /// Takes the rejected value back out of the error. Free.
    #[inline]
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(v) | Self::Abandoned(v) => v,
        }
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("ring full: consumer has not freed a slot"),
            Self::Abandoned(_) => f.write_str("ring abandoned: consumer has been dropped"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for PushError<T> {}

/// Why [`Consumer::try_pop_or_closed`](crate::Consumer::try_pop_or_closed) returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PopError {
    /// Nothing to read right now; the producer is still alive and may push more.
    Empty,
    /// The [`Producer`](crate::Producer) has been dropped and every value it pushed has been
    /// read: the ring will never yield anything again.
    Abandoned,
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("ring empty"),
            Self::Abandoned => f.write_str("ring abandoned: producer dropped and ring drained"),
        }
    }
}

impl std::error::Error for PopError {}
