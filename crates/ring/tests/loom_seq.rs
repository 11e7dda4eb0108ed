//! Loom models of the slot-sequenced ring (`ferrex_ring::seq`). Run with
//! `CARGO_TARGET_DIR=target/loom RUSTFLAGS="--cfg loom" cargo test -p ferrex-ring --release --test loom_seq`.
//!
//! Capacities are 2 and 4 so every model reuses slots (the stamp of an earlier lap must never be
//! mistaken for a new one, and the producer must never overwrite a slot being read); spin loops
//! yield to loom. Preemptions are bounded at 3 as in `tests/loom.rs`.
#![cfg(loom)]

use std::sync::atomic::{AtomicUsize, Ordering};

use ferrex_ring::seq::{Consumer, Producer, channel};
use ferrex_ring::{PopError, PushError};
use loom::sync::Arc;
use loom::thread;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(3);
    }
    b.check(f);
}

fn push(tx: &mut Producer<u64>, mut v: u64) {
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

fn pop(rx: &mut Consumer<u64>) -> u64 {
    loop {
        if let Some(v) = rx.try_pop() {
            return v;
        }
        thread::yield_now();
    }
}

#[test]
fn seq_push_pop_in_order_with_wrap_around() {
    model(|| {
        // Capacity 2, three items: the third reuses slot 0, whose stamp from lap 0 is 1.
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
fn seq_batch_is_seen_whole_or_not_at_all() {
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
        // The run is stamped last slot first: concurrently the consumer sees all of it or none.
        let mut seen = Vec::new();
        rx.read_batch(usize::MAX, |v| seen.push(v));
        assert!(
            seen.is_empty() || seen == [10, 11, 12],
            "partial batch seen: {seen:?}"
        );
        let _tx = p.join().unwrap();
        let mut out = [0u64; 4];
        let m = rx.pop_into(&mut out);
        seen.extend_from_slice(&out[..m]);
        assert_eq!(seen, [10, 11, 12]);
    });
}

#[test]
fn seq_push_iter_against_pop_into_on_full_ring() {
    model(|| {
        // Ring starts full; pop_into frees slots while push_iter may reload `head`.
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

#[test]
fn seq_batches_both_sides_wrap_capacity_2() {
    model(|| {
        let (mut tx, mut rx) = channel::<u64>(2);
        let p = thread::spawn(move || {
            let src = [1, 2, 3];
            let mut done = 0;
            while done < src.len() {
                let n = tx.push_slice(&src[done..]);
                if n == 0 {
                    thread::yield_now();
                }
                done += n;
            }
        });
        let mut got = Vec::new();
        while got.len() < 3 {
            if rx.read_batch(2, |v| got.push(v)) == 0 {
                thread::yield_now();
            }
        }
        assert_eq!(got, [1, 2, 3]);
        p.join().unwrap();
    });
}

/// Counts drops through a std atomic (read after all threads joined).
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn seq_items_left_inside_dropped_exactly_once_whoever_drops_last() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = channel::<Counted>(2);
        let d = Arc::clone(&drops);
        let p = thread::spawn(move || {
            // Three pushes into capacity 2: the third fits only if the pop ran first.
            for _ in 0..3 {
                let _ = tx.try_push(Counted(Arc::clone(&d)));
            }
        });
        let c = thread::spawn(move || {
            let _ = rx.try_pop();
        });
        p.join().unwrap();
        c.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    });
}

#[test]
fn seq_consumer_sees_everything_then_abandoned() {
    model(|| {
        let (mut tx, mut rx) = channel::<u64>(2);
        let p = thread::spawn(move || {
            push(&mut tx, 1);
            push(&mut tx, 2);
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
fn seq_producer_sees_consumer_drop() {
    model(|| {
        let (mut tx, mut rx) = channel::<u64>(2);
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

#[test]
fn seq_stream_of_batches_wraps_capacity_4() {
    model(|| {
        // Six items in chunks of three through four slots: both sides wrap, and the producer
        // waits on `head` (its lapping check) while the consumer frees two at a time.
        let (mut tx, mut rx) = channel::<u64>(4);
        let p = thread::spawn(move || {
            let src = [1, 2, 3, 4, 5, 6];
            let mut done = 0;
            while done < src.len() {
                let n = tx.push_slice(&src[done..(done + 3).min(src.len())]);
                if n == 0 {
                    thread::yield_now();
                }
                done += n;
            }
        });
        let mut got = Vec::new();
        let mut out = [0u64; 2];
        while got.len() < 6 {
            let n = rx.pop_into(&mut out);
            if n == 0 {
                thread::yield_now();
            }
            got.extend_from_slice(&out[..n]);
        }
        assert_eq!(got, [1, 2, 3, 4, 5, 6]);
        p.join().unwrap();
    });
}

#[test]
fn seq_consumer_drops_mid_batch_nothing_leaks_or_drops_twice() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = channel::<Counted>(2);
        let d = Arc::clone(&drops);
        let c = thread::spawn(move || {
            // Takes whatever is stamped by now, then drops the consumer with the rest inside.
            rx.read_batch(1, drop);
        });
        // Items the iterator yields but the ring refuses (full or abandoned) are never pulled
        // from it; those pulled are either read by the consumer or dropped with the ring.
        let made = Arc::new(AtomicUsize::new(0));
        let m = Arc::clone(&made);
        let mut src = (0..3).map(move |_| {
            m.fetch_add(1, Ordering::Relaxed);
            Counted(Arc::clone(&d))
        });
        let first = tx.push_iter(&mut src);
        c.join().unwrap();
        let second = tx.push_iter(&mut src);
        assert!(first + second <= 3);
        drop(tx);
        drop(src);
        assert_eq!(drops.load(Ordering::Relaxed), made.load(Ordering::Relaxed));
    });
}
