//! Loom models of the ring protocol. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p ferrex-ring --release` (own target dir).
//!
//! Capacities are tiny (1, 2, 4) so that every model wraps the indices around the slot array;
//! spin loops yield to loom so it can schedule the other thread.
#![cfg(loom)]

use std::sync::atomic::{AtomicUsize, Ordering};

use ferrex_ring::{PopError, PushError, channel};
use loom::sync::Arc;
use loom::thread;

/// Preemption-bounded checker: exhaustive up to 3 preemptions per execution (unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise), which covers the interleavings that matter for a
/// two-thread protocol and keeps the run to seconds.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(3);
    }
    b.check(f);
}

/// Pushes `v`, yielding to the other thread while the ring is full.
fn push(tx: &mut ferrex_ring::Producer<u64>, mut v: u64) {
    loop {
        match tx.try_push(v) {
            Ok(()) => return,
            Err(PushError::Full(back)) => {
                v = back;
                thread::yield_now();
            }
            Err(PushError::Abandoned(_)) => panic!("consumer vanished"),
        }
    }
}

/// Pops one value, yielding while the ring is empty.
fn pop(rx: &mut ferrex_ring::Consumer<u64>) -> u64 {
    loop {
        if let Some(v) = rx.try_pop() {
            return v;
        }
        thread::yield_now();
    }
}

#[test]
fn push_pop_in_order_with_wrap_around() {
    model(|| {
        // Capacity 2, three items: the third reuses slot 0 after the consumer frees it.
        let (mut tx, mut rx) = channel::<u64>(2);
        let p = thread::spawn(move || {
            for v in 1..=3 {
                push(&mut tx, v);
            }
        });
        for v in 1..=3 {
            assert_eq!(pop(&mut rx), v);
        }
        p.join().unwrap();
        assert_eq!(rx.try_pop_or_closed(), Err(PopError::Abandoned));
    });
}

#[test]
fn capacity_one_ping_pong_wraps_every_push() {
    model(|| {
        let (mut tx, mut rx) = channel::<u64>(1);
        let p = thread::spawn(move || {
            for v in 10..13 {
                push(&mut tx, v);
            }
        });
        for v in 10..13 {
            assert_eq!(pop(&mut rx), v);
        }
        p.join().unwrap();
    });
}

#[test]
fn batch_is_published_all_or_nothing() {
    model(|| {
        let (mut tx, mut rx) = channel::<u64>(4);
        // Move the indices to 3 so the batch wraps from slot 3 to slots 0 and 1.
        for v in 0..3 {
            tx.try_push(v).unwrap();
            assert_eq!(rx.try_pop(), Some(v));
        }
        let p = thread::spawn(move || {
            assert_eq!(tx.push_slice(&[10, 11, 12]), 3);
            tx
        });
        let mut seen = Vec::new();
        let n = rx.read_batch(usize::MAX, |v| seen.push(v));
        assert!(n == 0 || n == 3, "saw a partial batch: {seen:?}");
        let _tx = p.join().unwrap();
        let mut out = [0u64; 4];
        let m = rx.pop_into(&mut out);
        seen.extend_from_slice(&out[..m]);
        assert_eq!(seen, [10, 11, 12]);
    });
}

#[test]
fn push_iter_batch_against_pop_into_on_full_ring() {
    model(|| {
        // Ring starts full; the consumer's pop_into frees slots while push_iter reloads head.
        let (mut tx, mut rx) = channel::<u64>(2);
        assert_eq!(tx.push_slice(&[1, 2]), 2);
        let c = thread::spawn(move || {
            let mut out = [0u64; 2];
            let n = rx.pop_into(&mut out);
            assert_eq!(&out[..n], &[1, 2][..n]);
            (rx, n)
        });
        let pushed = tx.push_iter([3, 4]);
        let (mut rx, popped) = c.join().unwrap();
        assert!(
            pushed <= popped,
            "pushed {pushed} into {popped} freed slots"
        );
        let mut rest = Vec::new();
        rx.read_batch(usize::MAX, |v| rest.push(v));
        let expect: Vec<u64> = (1 + popped as u64..=2)
            .chain(3..3 + pushed as u64)
            .collect();
        assert_eq!(rest, expect);
    });
}

/// Counts drops through a plain std atomic (checked after all threads joined).
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn items_left_inside_dropped_exactly_once_whoever_drops_last() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = channel::<Counted>(2);
        let d = Arc::clone(&drops);
        let p = thread::spawn(move || {
            // Three pushes into capacity 2: the third may or may not fit.
            for _ in 0..3 {
                let _ = tx.try_push(Counted(Arc::clone(&d)));
            }
            // `tx` dropped here, concurrently with the consumer's drop.
        });
        let c = thread::spawn(move || {
            let _ = rx.try_pop();
        });
        p.join().unwrap();
        c.join().unwrap();
        // Every Counted made was dropped once: rejected ones by the producer, popped ones by the
        // consumer, the rest by the ring.
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    });
}

#[test]
fn consumer_sees_everything_then_abandoned() {
    model(|| {
        let (mut tx, mut rx) = channel::<u64>(2);
        let p = thread::spawn(move || {
            push(&mut tx, 1);
            push(&mut tx, 2);
            // Dropped: Release store of the flag after the last tail store.
        });
        let mut got = Vec::new();
        loop {
            match rx.try_pop_or_closed() {
                Ok(v) => got.push(v),
                Err(PopError::Empty) => thread::yield_now(),
                Err(PopError::Abandoned) => break,
            }
        }
        assert_eq!(
            got,
            [1, 2],
            "Abandoned reported before the ring was drained"
        );
        p.join().unwrap();
    });
}

#[test]
fn producer_sees_consumer_drop() {
    model(|| {
        let (mut tx, mut rx) = channel::<u64>(1);
        let c = thread::spawn(move || {
            let _ = rx.try_pop();
        });
        let mut v = 0;
        loop {
            match tx.try_push(v) {
                Ok(()) => v += 1,
                Err(PushError::Full(_)) => thread::yield_now(),
                Err(PushError::Abandoned(back)) => {
                    assert_eq!(back, v);
                    break;
                }
            }
        }
        assert!(tx.is_abandoned());
        c.join().unwrap();
    });
}
