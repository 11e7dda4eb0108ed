//! Fuzzes the Binance capture line parser and the snapshot + diff book rebuild.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferrex_replay::fuzz_targets::binance_line(data);
});
