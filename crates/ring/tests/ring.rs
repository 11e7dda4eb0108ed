//! Single-threaded behaviour of the ring: edges, wrap-around, batches, abandonment, drops.
#![cfg(not(loom))]

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferrex_ring::{PopError, PushError, channel};

/// Counts its drops in a shared counter; carries an id so double drops show as too many.
#[derive(Debug)]
struct Counted {
    id: u64,
    drops: Rc<Cell<usize>>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

fn counted(drops: &Rc<Cell<usize>>, id: u64) -> Counted {
    Counted {
        id,
        drops: Rc::clone(drops),
    }
}

#[test]
fn capacity_rounds_up_to_power_of_two() {
    for (asked, got) in [
        (1, 1),
        (2, 2),
        (3, 4),
        (4, 4),
        (5, 8),
        (1000, 1024),
        (1024, 1024),
    ] {
        let (tx, rx) = channel::<u8>(asked);
        assert_eq!(tx.capacity(), got, "asked {asked}");
        assert_eq!(rx.capacity(), got, "asked {asked}");
        assert_eq!(tx.slots_free(), got);
        assert_eq!(rx.slots_free(), got);
    }
}

#[test]
#[should_panic(expected = "capacity must be at least 1")]
fn zero_capacity_is_rejected() {
    let _ = channel::<u8>(0);
}

#[test]
#[should_panic(expected = "overflows usize")]
fn overflowing_capacity_is_rejected() {
    let _ = channel::<u8>(usize::MAX);
}

#[test]
fn full_and_empty_edges() {
    let (mut tx, mut rx) = channel::<u32>(4);
    assert!(tx.is_empty() && rx.is_empty());
    assert_eq!(rx.try_pop(), None);
    for i in 0..4 {
        tx.try_push(i).unwrap();
    }
    assert_eq!(tx.len(), 4);
    assert_eq!(rx.len(), 4);
    assert_eq!(tx.slots_free(), 0);
    assert_eq!(tx.try_push(99), Err(PushError::Full(99)));
    assert_eq!(rx.try_pop(), Some(0));
    assert_eq!(tx.slots_free(), 1);
    tx.try_push(4).unwrap();
    assert_eq!(tx.try_push(5), Err(PushError::Full(5)));
    for i in 1..=4 {
        assert_eq!(rx.try_pop(), Some(i));
    }
    assert_eq!(rx.try_pop(), None);
    assert_eq!(rx.try_pop_or_closed(), Err(PopError::Empty));
}

#[test]
fn capacity_one() {
    let (mut tx, mut rx) = channel::<u64>(1);
    for i in 0..1000 {
        tx.try_push(i).unwrap();
        assert!(matches!(tx.try_push(i), Err(PushError::Full(_))));
        assert_eq!(rx.try_pop(), Some(i));
        assert_eq!(rx.try_pop(), None);
    }
}

#[test]
fn wraps_around_many_times_in_order() {
    let (mut tx, mut rx) = channel::<u64>(8);
    let mut next_in = 0u64;
    let mut next_out = 0u64;
    // Uneven fill/drain patterns so head and tail take every offset many times over.
    for round in 0..10_000u64 {
        let push = 1 + round % 7;
        for _ in 0..push {
            if tx.try_push(next_in).is_ok() {
                next_in += 1;
            }
        }
        let pop = 1 + (round * 3) % 5;
        for _ in 0..pop {
            if let Some(v) = rx.try_pop() {
                assert_eq!(v, next_out);
                next_out += 1;
            }
        }
        assert_eq!(rx.len() as u64, next_in - next_out);
    }
    while let Some(v) = rx.try_pop() {
        assert_eq!(v, next_out);
        next_out += 1;
    }
    assert_eq!(next_in, next_out);
    assert!(next_in > 10_000 * 2, "the ring wrapped many times");
}

#[test]
fn push_slice_partial_and_wrapping() {
    let (mut tx, mut rx) = channel::<u32>(8);
    assert_eq!(tx.push_slice(&[]), 0);
    assert_eq!(tx.push_slice(&[0, 1, 2, 3, 4, 5]), 6);
    assert_eq!(tx.push_slice(&[6, 7, 8, 9]), 2, "only two slots left");
    let mut out = [0u32; 5];
    assert_eq!(rx.pop_into(&mut out), 5);
    assert_eq!(out, [0, 1, 2, 3, 4]);
    // Now head = 5, tail = 8: this push wraps from slot 0 onwards.
    assert_eq!(tx.push_slice(&[8, 9, 10, 11, 12, 13, 14]), 5);
    let mut out = [0u32; 16];
    assert_eq!(rx.pop_into(&mut out), 8);
    assert_eq!(&out[..8], &[5, 6, 7, 8, 9, 10, 11, 12]);
    assert_eq!(rx.pop_into(&mut out), 0);
    assert_eq!(rx.pop_into(&mut []), 0);
}

#[test]
fn batches_wrap_around_many_times() {
    let (mut tx, mut rx) = channel::<u64>(16);
    let mut next_in = 0u64;
    let mut next_out = 0u64;
    let mut buf = [0u64; 11];
    for round in 0..5_000u64 {
        let chunk: Vec<u64> = (next_in..next_in + 1 + round % 13).collect();
        let n = if round.is_multiple_of(2) {
            tx.push_slice(&chunk)
        } else {
            tx.push_iter(chunk.iter().copied())
        };
        next_in += n as u64;
        let got = if round.is_multiple_of(3) {
            let mut got = Vec::new();
            rx.read_batch(1 + (round as usize % 11), |v| got.push(v));
            got
        } else {
            let n = rx.pop_into(&mut buf[..1 + (round as usize % 11)]);
            buf[..n].to_vec()
        };
        for v in got {
            assert_eq!(v, next_out);
            next_out += 1;
        }
    }
    assert!(next_out > 16 * 100);
}

#[test]
fn push_iter_takes_only_what_fits() {
    let (mut tx, mut rx) = channel::<String>(4);
    let mut src = (0..10).map(|i| i.to_string());
    assert_eq!(tx.push_iter(&mut src), 4);
    assert_eq!(
        src.next().as_deref(),
        Some("4"),
        "nothing pulled beyond capacity"
    );
    assert_eq!(tx.push_iter(&mut src), 0);
    assert_eq!(rx.try_pop().as_deref(), Some("0"));
    assert_eq!(tx.push_iter(std::iter::empty()), 0);
    assert_eq!(tx.push_iter(&mut src), 1);
    let mut got = Vec::new();
    assert_eq!(rx.read_batch(10, |s| got.push(s)), 4);
    assert_eq!(got, ["1", "2", "3", "5"]);
}

#[test]
fn read_batch_respects_max() {
    let (mut tx, mut rx) = channel::<u8>(8);
    tx.push_slice(&[1, 2, 3, 4, 5]);
    assert_eq!(rx.read_batch(0, |_| panic!("max is 0")), 0);
    let mut got = Vec::new();
    assert_eq!(rx.read_batch(2, |v| got.push(v)), 2);
    assert_eq!(rx.read_batch(10, |v| got.push(v)), 3);
    assert_eq!(rx.read_batch(10, |v| got.push(v)), 0);
    assert_eq!(got, [1, 2, 3, 4, 5]);
}

#[test]
fn consumer_drop_is_seen_by_producer() {
    let (mut tx, rx) = channel::<u32>(4);
    tx.try_push(1).unwrap();
    assert!(!tx.is_abandoned());
    drop(rx);
    assert!(tx.is_abandoned());
    assert_eq!(tx.try_push(2), Err(PushError::Abandoned(2)));
    assert_eq!(tx.push_slice(&[3, 4]), 0);
    let mut src = 5..7;
    assert_eq!(tx.push_iter(&mut src), 0);
    assert_eq!(src.next(), Some(5), "abandoned push_iter pulls nothing");
}

#[test]
fn producer_drop_is_seen_after_drain() {
    let (mut tx, mut rx) = channel::<u32>(4);
    tx.push_slice(&[1, 2]);
    assert!(!rx.is_abandoned());
    drop(tx);
    assert!(rx.is_abandoned());
    assert_eq!(rx.try_pop_or_closed(), Ok(1));
    assert_eq!(rx.try_pop(), Some(2));
    assert_eq!(rx.try_pop_or_closed(), Err(PopError::Abandoned));
    assert_eq!(rx.try_pop_or_closed(), Err(PopError::Abandoned));
}

#[test]
fn push_error_gives_the_value_back() {
    let (mut tx, _rx) = channel::<Vec<u8>>(1);
    tx.try_push(vec![1]).unwrap();
    let err = tx.try_push(vec![2, 3]).unwrap_err();
    assert_eq!(err.to_string(), "ring full: consumer has not freed a slot");
    assert_eq!(err.into_inner(), vec![2, 3]);
}

#[test]
fn items_left_inside_are_dropped_exactly_once() {
    for (pushed, popped) in [(0, 0), (3, 0), (8, 3), (8, 8), (5, 2)] {
        for consumer_first in [false, true] {
            let drops = Rc::new(Cell::new(0));
            let (mut tx, mut rx) = channel::<Counted>(8);
            // Move head/tail off zero so the leftover range wraps.
            for i in 0..6 {
                tx.try_push(counted(&drops, i)).unwrap();
                drop(rx.try_pop().unwrap());
            }
            assert_eq!(drops.get(), 6);
            for i in 0..pushed {
                tx.try_push(counted(&drops, i)).unwrap();
            }
            for i in 0..popped {
                let c = rx.try_pop().unwrap();
                assert_eq!(c.id, i);
            }
            assert_eq!(drops.get(), 6 + popped as usize);
            if consumer_first {
                drop(rx);
                drop(tx);
            } else {
                drop(tx);
                drop(rx);
            }
            assert_eq!(
                drops.get(),
                6 + pushed as usize,
                "{pushed} pushed, {popped} popped"
            );
        }
    }
}

#[test]
fn rejected_values_are_not_dropped_by_the_ring() {
    let drops = Rc::new(Cell::new(0));
    let (mut tx, rx) = channel::<Counted>(1);
    tx.try_push(counted(&drops, 0)).unwrap();
    let back = tx.try_push(counted(&drops, 1)).unwrap_err().into_inner();
    assert_eq!(drops.get(), 0);
    drop(back);
    assert_eq!(drops.get(), 1);
    drop((tx, rx));
    assert_eq!(drops.get(), 2);
}

#[test]
fn panicking_iterator_in_push_iter_publishes_nothing_and_leaks_nothing() {
    let drops = Rc::new(Cell::new(0));
    let (mut tx, mut rx) = channel::<Counted>(8);
    let d = Rc::clone(&drops);
    let r = catch_unwind(AssertUnwindSafe(|| {
        tx.push_iter((0..5).map(|i| {
            assert!(i < 3, "boom");
            counted(&d, i)
        }))
    }));
    assert!(r.is_err());
    assert_eq!(
        drops.get(),
        3,
        "the three written items were dropped in place"
    );
    assert!(rx.try_pop().is_none(), "nothing was published");
    tx.try_push(counted(&drops, 9)).unwrap();
    assert_eq!(rx.try_pop().unwrap().id, 9);
    drop((tx, rx));
    assert_eq!(drops.get(), 4);
}

#[test]
fn panicking_callback_in_read_batch_never_double_drops() {
    let drops = Rc::new(Cell::new(0));
    let (mut tx, mut rx) = channel::<Counted>(8);
    tx.push_iter((0..6).map(|i| counted(&drops, i)));
    let r = catch_unwind(AssertUnwindSafe(|| {
        rx.read_batch(10, |c| assert!(c.id < 2, "boom"));
    }));
    assert!(r.is_err());
    assert_eq!(
        drops.get(),
        3,
        "items 0, 1 and the one in the panicking call"
    );
    assert_eq!(rx.len(), 3);
    assert_eq!(rx.try_pop().unwrap().id, 3);
    drop((tx, rx));
    assert_eq!(drops.get(), 6);
}

static ZST_DROPS: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, PartialEq)]
struct Zst;

impl Drop for Zst {
    fn drop(&mut self) {
        ZST_DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn zero_sized_types_work_and_are_counted() {
    let (mut tx, mut rx) = channel::<Zst>(4);
    for _ in 0..4 {
        tx.try_push(Zst).unwrap();
    }
    assert_eq!(tx.try_push(Zst).unwrap_err().into_inner(), Zst);
    assert_eq!(
        ZST_DROPS.load(Ordering::Relaxed),
        2,
        "rejected value + the compared literal"
    );
    assert_eq!(rx.try_pop(), Some(Zst));
    assert_eq!(ZST_DROPS.load(Ordering::Relaxed), 4);
    drop((tx, rx));
    assert_eq!(
        ZST_DROPS.load(Ordering::Relaxed),
        7,
        "three left inside dropped once each"
    );

    let (mut tx, mut rx) = channel::<()>(2);
    assert_eq!(tx.push_slice(&[(), (), ()]), 2);
    let mut out = [(); 3];
    assert_eq!(rx.pop_into(&mut out), 2);
}

#[test]
fn handles_are_send_and_debug() {
    fn is_send<T: Send>() {}
    is_send::<ferrex_ring::Producer<Vec<u8>>>();
    is_send::<ferrex_ring::Consumer<Vec<u8>>>();
    let (tx, rx) = channel::<u8>(2);
    assert!(format!("{tx:?}").contains("capacity: 2"));
    assert!(format!("{rx:?}").contains("abandoned: false"));
}

#[test]
fn floor_returns_sane_samples() {
    let pair = ferrex_ring::floor::default_core_pair();
    let f = ferrex_ring::floor::core_to_core_rtt_ns(4, pair.map(|p| p.0), pair.map(|p| p.1));
    assert_eq!(f.samples_ns.len(), 4);
    assert!(f.min_ns > 0.0 && f.min_ns <= f.median_ns);
    assert!(f.one_way_ns() > 0.0);
    if pair.is_none() {
        assert!(!f.pinned);
    }
}
