//! The slot-sequenced ring (`ferrex_ring::seq`): edges, wrap-around, batches, abandonment,
//! drops, a randomised model check against `VecDeque`, and a two-thread stress test.
#![cfg(not(loom))]

use std::cell::Cell;
use std::collections::VecDeque;
use std::hint::spin_loop;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::thread;

use ferrex_ring::seq::{Consumer, Producer, channel};
use ferrex_ring::{PopError, PushError};

/// Counts its drops in a shared counter.
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
fn capacity_rounds_up_and_zero_is_rejected() {
    for (asked, got) in [(1, 1), (3, 4), (4, 4), (1000, 1024)] {
        let (tx, rx) = channel::<u8>(asked);
        assert_eq!(tx.capacity(), got);
        assert_eq!(rx.capacity(), got);
        assert_eq!(tx.slots_free(), got);
        assert_eq!(rx.slots_free(), got);
    }
    assert!(catch_unwind(|| channel::<u8>(0)).is_err());
}

#[test]
fn full_and_empty_edges() {
    let (mut tx, mut rx) = channel::<u32>(4);
    assert!(rx.is_empty() && tx.is_empty());
    assert_eq!(rx.try_pop(), None);
    for v in 0..4 {
        tx.try_push(v).unwrap();
    }
    assert_eq!(tx.try_push(9), Err(PushError::Full(9)));
    assert_eq!((tx.len(), rx.len(), tx.slots_free()), (4, 4, 0));
    assert!(!rx.is_empty());
    assert_eq!(rx.try_pop(), Some(0));
    assert_eq!(tx.slots_free(), 1);
    tx.try_push(4).unwrap();
    let mut got = Vec::new();
    assert_eq!(rx.read_batch(usize::MAX, |v| got.push(v)), 4);
    assert_eq!(got, [1, 2, 3, 4]);
    assert!(rx.is_empty());
    assert_eq!(rx.len(), 0);
}

#[test]
fn capacity_one_wraps_every_push() {
    let (mut tx, mut rx) = channel::<u64>(1);
    for v in 0..1000 {
        tx.try_push(v).unwrap();
        assert!(tx.try_push(v).is_err());
        assert_eq!(rx.try_pop(), Some(v));
        assert_eq!(rx.try_pop(), None);
    }
}

#[test]
fn batches_wrap_around_many_times() {
    let (mut tx, mut rx) = channel::<u64>(8);
    let mut next = 0u64;
    let mut expect = 0u64;
    for round in 0..500u64 {
        let len = (round % 11) as usize;
        let src: Vec<u64> = (next..next + len as u64).collect();
        let n = if round.is_multiple_of(2) {
            tx.push_slice(&src)
        } else {
            tx.push_iter(src.iter().copied())
        };
        next += n as u64;
        let mut out = [0u64; 5];
        let m = if round.is_multiple_of(3) {
            let m = rx.pop_into(&mut out);
            out[..m].to_vec()
        } else {
            let mut v = Vec::new();
            rx.read_batch(6, |x| v.push(x));
            v
        };
        for x in m {
            assert_eq!(x, expect);
            expect += 1;
        }
    }
    while let Some(x) = rx.try_pop() {
        assert_eq!(x, expect);
        expect += 1;
    }
    assert_eq!(expect, next);
}

#[test]
fn push_iter_takes_only_what_fits() {
    let (mut tx, mut rx) = channel::<u32>(4);
    tx.try_push(100).unwrap();
    let mut src = 0..10;
    assert_eq!(tx.push_iter(&mut src), 3);
    assert_eq!(src.next(), Some(3));
    assert_eq!(tx.push_iter(std::iter::empty()), 0);
    let mut got = Vec::new();
    rx.read_batch(2, |v| got.push(v));
    assert_eq!(got, [100, 0]);
}

#[test]
fn abandonment_both_ways() {
    let (mut tx, rx) = channel::<u32>(2);
    assert!(!tx.is_abandoned());
    drop(rx);
    assert!(tx.is_abandoned());
    assert_eq!(tx.try_push(1), Err(PushError::Abandoned(1)));
    assert_eq!(tx.push_slice(&[1, 2]), 0);
    assert_eq!(tx.push_iter([1, 2]), 0);

    let (mut tx, mut rx) = channel::<u32>(2);
    tx.try_push(5).unwrap();
    assert_eq!(rx.try_pop_or_closed(), Ok(5));
    assert_eq!(rx.try_pop_or_closed(), Err(PopError::Empty));
    tx.try_push(6).unwrap();
    drop(tx);
    assert!(rx.is_abandoned());
    assert_eq!(rx.try_pop_or_closed(), Ok(6));
    assert_eq!(rx.try_pop_or_closed(), Err(PopError::Abandoned));
}

#[test]
fn items_left_inside_are_dropped_exactly_once() {
    for popped in 0..=4u64 {
        for (drop_tx_first, wrap) in [(true, 0), (false, 0), (true, 3), (false, 6)] {
            let drops = Rc::new(Cell::new(0));
            let (mut tx, mut rx) = channel::<Counted>(4);
            // Move the indices so the live run wraps around the array.
            for i in 0..wrap {
                tx.try_push(counted(&drops, 1000 + i)).unwrap();
                drop(rx.try_pop().unwrap());
            }
            for i in 0..4 {
                tx.try_push(counted(&drops, i)).unwrap();
            }
            for i in 0..popped {
                assert_eq!(rx.try_pop().unwrap().id, i);
            }
            assert_eq!(drops.get(), (wrap + popped) as usize);
            if drop_tx_first {
                drop(tx);
                drop(rx);
            } else {
                drop(rx);
                drop(tx);
            }
            assert_eq!(
                drops.get(),
                (wrap + 4) as usize,
                "popped {popped} wrap {wrap}"
            );
        }
    }
}

#[test]
fn rejected_values_are_handed_back_not_dropped() {
    let drops = Rc::new(Cell::new(0));
    let (mut tx, rx) = channel::<Counted>(1);
    tx.try_push(counted(&drops, 1)).unwrap();
    let back = tx.try_push(counted(&drops, 2)).unwrap_err().into_inner();
    assert_eq!((back.id, drops.get()), (2, 0));
    drop(back);
    drop((tx, rx));
    assert_eq!(drops.get(), 2);
}

#[test]
fn panicking_iterator_keeps_what_was_pushed() {
    let drops = Rc::new(Cell::new(0));
    let (mut tx, mut rx) = channel::<Counted>(8);
    let d = Rc::clone(&drops);
    let r = catch_unwind(AssertUnwindSafe(|| {
        tx.push_iter((0..5).map(|i| {
            if i == 3 {
                panic!("iterator failed");
            }
            counted(&d, i)
        }))
    }));
    assert!(r.is_err());
    // Items stamped before the panic are visible and the producer carries on after them.
    tx.try_push(counted(&drops, 9)).unwrap();
    let ids: Vec<u64> = std::iter::from_fn(|| rx.try_pop().map(|c| c.id)).collect();
    assert_eq!(ids, [0, 1, 2, 9]);
    drop((tx, rx));
    assert_eq!(drops.get(), 4);
}

#[test]
fn panicking_callback_in_read_batch_never_double_drops() {
    let drops = Rc::new(Cell::new(0));
    let (mut tx, mut rx) = channel::<Counted>(8);
    tx.push_iter((0..6).map(|i| counted(&drops, i)));
    let r = catch_unwind(AssertUnwindSafe(|| {
        rx.read_batch(usize::MAX, |c| {
            if c.id == 2 {
                panic!("callback failed");
            }
        })
    }));
    assert!(r.is_err());
    assert_eq!(drops.get(), 3);
    assert_eq!(rx.try_pop().unwrap().id, 3);
    assert_eq!(tx.slots_free(), 8 - 2);
    drop((tx, rx));
    assert_eq!(drops.get(), 6);
}

#[test]
fn zero_sized_types_work() {
    let (mut tx, mut rx) = channel::<()>(4);
    assert_eq!(tx.push_iter(std::iter::repeat_n((), 10)), 4);
    assert_eq!(rx.read_batch(usize::MAX, |()| {}), 4);
    assert_eq!(rx.try_pop(), None);
}

#[test]
fn event_sized_payload_round_trips() {
    let (mut tx, mut rx) = channel::<[u64; 11]>(4);
    for k in 0..20u64 {
        let v: [u64; 11] = std::array::from_fn(|i| k * 100 + i as u64);
        tx.try_push(v).unwrap();
        assert_eq!(rx.try_pop(), Some(v));
    }
}

#[test]
fn handles_are_send_and_debug() {
    fn is_send<T: Send>() {}
    is_send::<Producer<String>>();
    is_send::<Consumer<String>>();
    let (tx, rx) = channel::<u8>(2);
    assert!(format!("{tx:?}").contains("capacity: 2"));
    assert!(format!("{rx:?}").contains("abandoned: false"));
}

/// xorshift64*: a tiny deterministic generator, so the model check needs no extra dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random single-threaded operation sequences give exactly what a bounded `VecDeque` gives.
#[test]
fn model_check_against_vecdeque() {
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let cap = 1usize << rng.below(5);
        let (mut tx, mut rx) = channel::<u64>(cap);
        let mut model: VecDeque<u64> = VecDeque::new();
        let mut next = 0u64;
        for step in 0..400 {
            let ctx = format!("seed {seed} cap {cap} step {step}");
            match rng.below(7) {
                0 => {
                    let r = tx.try_push(next);
                    if model.len() < cap {
                        assert_eq!(r, Ok(()), "{ctx}");
                        model.push_back(next);
                    } else {
                        assert_eq!(r, Err(PushError::Full(next)), "{ctx}");
                    }
                    next += 1;
                }
                1 | 2 => {
                    let k = rng.below(2 * cap as u64 + 1);
                    let src: Vec<u64> = (next..next + k).collect();
                    let n = if rng.below(2) == 0 {
                        tx.push_slice(&src)
                    } else {
                        tx.push_iter(src.iter().copied())
                    };
                    assert_eq!(n, (k as usize).min(cap - model.len()), "{ctx}");
                    model.extend(&src[..n]);
                    next += k;
                }
                3 => assert_eq!(rx.try_pop(), model.pop_front(), "{ctx}"),
                4 => {
                    let max = rng.below(2 * cap as u64 + 1) as usize;
                    let mut got = Vec::new();
                    let n = rx.read_batch(max, |v| got.push(v));
                    let want: Vec<u64> = model.drain(..max.min(model.len())).collect();
                    assert_eq!((n, got), (want.len(), want), "{ctx}");
                }
                5 => {
                    let mut out = vec![0u64; rng.below(2 * cap as u64 + 1) as usize];
                    let n = rx.pop_into(&mut out);
                    let want: Vec<u64> = model.drain(..out.len().min(model.len())).collect();
                    assert_eq!(&out[..n], &want[..], "{ctx}");
                }
                _ => {
                    assert_eq!(tx.len(), model.len(), "{ctx}");
                    assert_eq!(rx.len(), model.len(), "{ctx}");
                    assert_eq!(tx.slots_free(), cap - model.len(), "{ctx}");
                    assert_eq!(rx.is_empty(), model.is_empty(), "{ctx}");
                }
            }
        }
    }
}

/// Spin, yielding now and then: on a loaded 2-core host the peer may be descheduled.
fn relax(spins: &mut u32) {
    *spins += 1;
    if spins.is_multiple_of(1 << 10) {
        thread::yield_now();
    } else {
        spin_loop();
    }
}

const N: u64 = if cfg!(debug_assertions) {
    1_000_000
} else {
    4_000_000
};

/// Pops until `Abandoned`, checking order; returns (count, checksum).
fn drain_checked(rx: &mut Consumer<u64>, batch: bool) -> (u64, u64) {
    let mut expect = 0u64;
    let mut sum = 0u64;
    let mut buf = [0u64; 23];
    let mut spins = 0u32;
    loop {
        if batch {
            let n = if expect.is_multiple_of(2) {
                rx.pop_into(&mut buf)
            } else {
                let mut k = 0;
                rx.read_batch(29, |v| {
                    assert_eq!(v, expect + k as u64);
                    buf[k % 23] = v;
                    k += 1;
                    sum = sum.wrapping_add(v.wrapping_mul(0x9e37_79b9));
                });
                expect += k as u64;
                if k > 0 {
                    continue;
                }
                0
            };
            for &v in &buf[..n] {
                assert_eq!(v, expect);
                expect += 1;
                sum = sum.wrapping_add(v.wrapping_mul(0x9e37_79b9));
            }
            if n > 0 {
                continue;
            }
        }
        match rx.try_pop_or_closed() {
            Ok(v) => {
                assert_eq!(v, expect);
                expect += 1;
                sum = sum.wrapping_add(v.wrapping_mul(0x9e37_79b9));
            }
            Err(PopError::Empty) => relax(&mut spins),
            Err(PopError::Abandoned) => return (expect, sum),
        }
    }
}

fn expected_sum() -> u64 {
    (0..N).fold(0u64, |s, v| s.wrapping_add(v.wrapping_mul(0x9e37_79b9)))
}

#[test]
fn stress_two_threads_single_items() {
    let (mut tx, mut rx) = channel::<u64>(64);
    let p = thread::spawn(move || {
        let mut spins = 0u32;
        for i in 0..N {
            let mut v = i;
            while let Err(e) = tx.try_push(v) {
                v = e.into_inner();
                relax(&mut spins);
            }
        }
    });
    let got = drain_checked(&mut rx, false);
    p.join().unwrap();
    assert_eq!(got, (N, expected_sum()));
}

#[test]
fn stress_two_threads_batches() {
    let (mut tx, mut rx) = channel::<u64>(32);
    let p = thread::spawn(move || {
        let mut next = 0u64;
        let mut chunk = [0u64; 37];
        let mut spins = 0u32;
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
                relax(&mut spins);
            }
        }
    });
    let got = drain_checked(&mut rx, true);
    p.join().unwrap();
    assert_eq!(got, (N, expected_sum()));
}
