//! Fuzzes the ITCH 5.0 reader and decoder: any byte string must decode or fail cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferrex_replay::fuzz_targets::itch_decode(data);
});
