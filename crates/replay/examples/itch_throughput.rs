//! Throughput of the ITCH decoder alone and of decode + book replay, on the bundled AAPL capture
//! repeated from memory.
//!
//! `cargo run --release -p ferrex-replay --example itch_throughput [ROUNDS] [decode]`
//! (with `decode`, only the decoder part runs: handy under `valgrind --tool=callgrind`).

use std::hint::black_box;
use std::time::Instant;

use ferrex_replay::itch::{self, ItchMessage, ItchReader};
use ferrex_replay::itch_replay::{ItchReplay, ItchReplayConfig};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/AAPL_20191230_0935.itch50"
    );
    let buf = itch::read_file(path).expect("bundled ITCH file");

    // Decoder alone: decode every frame and fold a few fields so nothing is optimized away.
    let mut best = f64::MAX;
    let mut msgs = 0u64;
    for _ in 0..5 {
        let t0 = Instant::now();
        let mut acc = 0u64;
        msgs = 0;
        for _ in 0..rounds {
            for r in ItchReader::new(black_box(&buf)) {
                let (_, m) = r.expect("valid capture");
                msgs += 1;
                acc = acc.wrapping_add(m.timestamp());
                if let ItchMessage::AddOrder(a) = m {
                    acc = acc.wrapping_add(a.order_ref ^ u64::from(a.price));
                }
            }
        }
        black_box(acc);
        best = best.min(t0.elapsed().as_secs_f64());
    }
    println!(
        "decode only: {msgs} messages ({rounds} x {} bytes) in {:.3} s (best of 5): {:.1} M msgs/s, {:.2} GB/s",
        buf.len(),
        best,
        msgs as f64 / best / 1e6,
        (buf.len() * rounds) as f64 / best / 1e9
    );

    if std::env::args().nth(2).as_deref() == Some("decode") {
        return;
    }

    // Decode + book replay, warm: one replay over `copies` copies of the file whose order refs
    // are shifted per copy (so they stay unique), built before the timer starts; a first, untimed
    // copy warms the book's preallocated memory.
    let copies = 21;
    let bufs: Vec<Vec<u8>> = (0..copies)
        .map(|k| shift_refs(&buf, (k as u64) << 40))
        .collect();
    let mut r = ItchReplay::new(ItchReplayConfig::default());
    r.run(&bufs[0]).expect("warm-up");
    let before = r.summary();
    let t0 = Instant::now();
    for b in &bufs[1..] {
        r.run(black_box(b)).expect("replay");
    }
    let loop_secs = t0.elapsed().as_secs_f64();
    let s = r.summary();
    let total = s.counts.total - before.counts.total;
    println!(
        "decode + book (warm): {total} messages in {loop_secs:.3} s: {:.1} M msgs/s",
        total as f64 / loop_secs / 1e6
    );
    println!(
        "  all passes: books {}, executions {}, unknown refs {}, head-of-queue {:.4}, rejects {}",
        s.books,
        s.executions,
        s.unknown_refs,
        s.head_of_queue_share(),
        s.rejects
    );
}

/// A copy of `buf` with every order reference (and a replace's new reference) plus `by`.
fn shift_refs(buf: &[u8], by: u64) -> Vec<u8> {
    let mut out = buf.to_vec();
    let mut pos = 0;
    while pos + 2 <= out.len() {
        let len = u16::from_be_bytes([out[pos], out[pos + 1]]) as usize;
        let body = &mut out[pos + 2..pos + 2 + len];
        let refs: &[usize] = match body[0] {
            b'A' | b'F' | b'E' | b'C' | b'X' | b'D' | b'P' => &[11],
            b'U' => &[11, 19],
            _ => &[],
        };
        for &at in refs {
            let mut v = [0u8; 8];
            v.copy_from_slice(&body[at..at + 8]);
            let shifted = u64::from_be_bytes(v) + by;
            body[at..at + 8].copy_from_slice(&shifted.to_be_bytes());
        }
        pos += 2 + len;
    }
    out
}
