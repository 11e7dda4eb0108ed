//! The bodies of the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`), kept in the library so the
//! same code also runs as plain proptests on the stable toolchain (`tests/no_panic.rs`). Each one
//! must return normally for every input; a panic is a bug.

use crate::{binance, itch};

/// Decodes `data` as an ITCH BinaryFILE (gzip-decompressed first if it has the magic) to the end
/// or the first error, touching every decoded field through `Debug`; then decodes it once more as a
/// single message body. Returns the number of messages decoded.
pub fn itch_decode(data: &[u8]) -> usize {
    let buf = match itch::decompress_if_gzip(data) {
        Ok(b) => b,
        Err(e) => {
            let _ = e.to_string();
            return 0;
        }
    };
    let mut n = 0;
    let mut sink = String::new();
    for r in itch::ItchReader::new(&buf) {
        match r {
            Ok((off, m)) => {
                n += 1;
                assert!((off as usize) < buf.len());
                assert!(itch::body_len(m.msg_type()).is_some());
                sink.clear();
                use std::fmt::Write;
                let _ = write!(sink, "{m:?}");
            }
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
    if let Ok(m) = itch::decode(data, 0) {
        assert_eq!(itch::body_len(m.msg_type()), Some(data.len()));
    }
    n
}

/// Parses `data` (if UTF-8) as Binance capture lines and feeds them to a [`binance::BinanceReplay`]
/// with a scale detected from the same text. Returns the number of lines that parsed.
pub fn binance_line(data: &[u8]) -> usize {
    let Ok(text) = std::str::from_utf8(data) else {
        return 0;
    };
    let scale = binance::Scale::detect(text);
    let mut replay = binance::BinanceReplay::new(scale);
    let mut ok = 0;
    for (i, line) in text.lines().enumerate() {
        if binance::parse_line(line).is_ok() {
            ok += 1;
        }
        if let Err(e) = replay.feed_line(i as u64 + 1, line) {
            let _ = e.to_string();
        }
    }
    let (book, _stats) = replay.finish();
    let _ = (book.best_bid(), book.best_ask(), book.is_crossed());
    ok
}
