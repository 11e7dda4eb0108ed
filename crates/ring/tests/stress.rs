//! Two real threads: every sequence number arrives, once, in order.
#![cfg(not(loom))]

use std::hint::spin_loop;
use std::thread;

use ferrex_ring::{PopError, channel};

const N: u64 = if cfg!(debug_assertions) {
    1_000_000
} else {
    10_000_000
};

#[test]
fn single_items_in_order_and_complete() {
    let (mut tx, mut rx) = channel::<u64>(256);
    let producer = thread::spawn(move || {
        for i in 0..N {
            let mut v = i;
            while let Err(e) = tx.try_push(v) {
                v = e.into_inner();
                spin_loop();
            }
        }
    });
    let mut expect = 0u64;
    loop {
        match rx.try_pop_or_closed() {
            Ok(v) => {
                assert_eq!(v, expect);
                expect += 1;
            }
            Err(PopError::Empty) => spin_loop(),
            Err(PopError::Abandoned) => break,
        }
    }
    producer.join().unwrap();
    assert_eq!(expect, N);
}

#[test]
fn batches_in_order_and_complete() {
    let (mut tx, mut rx) = channel::<u64>(64);
    let producer = thread::spawn(move || {
        let mut next = 0u64;
        let mut chunk = [0u64; 37];
        while next < N {
            let len = chunk.len().min((N - next) as usize);
            for (k, c) in chunk[..len].iter_mut().enumerate() {
                *c = next + k as u64;
            }
            let n = if next.is_multiple_of(2) {
                tx.push_slice(&chunk[..len])
            } else {
                tx.push_iter(chunk[..len].iter().copied())
            };
            next += n as u64;
            if n == 0 {
                spin_loop();
            }
        }
    });
    let mut expect = 0u64;
    let mut buf = [0u64; 23];
    let mut round = 0u64;
    let mut gone = false;
    while expect < N {
        round += 1;
        let n = if round.is_multiple_of(2) {
            let n = rx.pop_into(&mut buf);
            for &v in &buf[..n] {
                assert_eq!(v, expect);
                expect += 1;
            }
            n
        } else {
            rx.read_batch(29, |v| {
                assert_eq!(v, expect);
                expect += 1;
            })
        };
        if n == 0 {
            // A producer that died (panicked) would leave this loop spinning forever. Once the
            // producer is seen gone, everything it pushed is visible: a pop after that which
            // still finds nothing means values were lost.
            assert!(
                !(gone && rx.is_abandoned()),
                "the producer is gone at {expect} of {N}"
            );
            gone = rx.is_abandoned();
            spin_loop();
        }
    }
    producer.join().unwrap();
    assert_eq!(rx.try_pop_or_closed(), Err(PopError::Abandoned));
}

#[test]
fn boxed_values_cross_threads_without_leak() {
    let (mut tx, mut rx) = channel::<Box<u64>>(32);
    let n = N / 10;
    let producer = thread::spawn(move || {
        for i in 0..n {
            let mut v = Box::new(i);
            while let Err(e) = tx.try_push(v) {
                v = e.into_inner();
                spin_loop();
            }
        }
    });
    let mut expect = 0;
    while expect < n {
        match rx.try_pop_or_closed() {
            Ok(v) => {
                assert_eq!(*v, expect);
                expect += 1;
            }
            Err(PopError::Empty) => spin_loop(),
            Err(PopError::Abandoned) => panic!("the producer is gone at {expect} of {n}"),
        }
    }
    producer.join().unwrap();
}
