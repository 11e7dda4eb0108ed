//! Throughput of the ITCH decoder alone and of decode + book replay, on the bundled AAPL capture
//! repeated from memory.
//!
//! `cargo run --release -p ferrex-replay --example itch_throughput [ROUNDS]`

use std::hint::black_box;
use std::time::Instant;

use ferrex_replay::itch::{self, ItchMessage, ItchReader};
use ferrex_replay::itch_replay::{ItchReplayConfig, replay};

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/AAPL_20191230_0935.itch50");
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

    // Decode + book replay (a fresh replay per pass: the file's order refs restart each pass).
    let passes = rounds.min(50);
    let t0 = Instant::now();
    let mut total = 0u64;
    let mut last = None;
    for _ in 0..passes {
        let s = replay(&buf, ItchReplayConfig::default()).expect("replay");
        total += s.counts.total;
        last = Some(s);
    }
    let el = t0.elapsed().as_secs_f64();
    let s = last.expect("at least one pass");
    println!(
        "decode + book: {total} messages in {el:.3} s: {:.1} M msgs/s incl. book setup ({:.1} M msgs/s in the loop)",
        total as f64 / el / 1e6,
        s.msgs_per_sec() / 1e6
    );
    println!(
        "  per pass: books {}, executions {}, unknown refs {}, head-of-queue {:.4}, rejects {}",
        s.books,
        s.executions,
        s.unknown_refs,
        s.head_of_queue_share(),
        s.rejects
    );
}
