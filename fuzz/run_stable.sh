#!/bin/sh
# Coverage-guided fuzzing on the STABLE toolchain (no cargo-fuzz, no nightly, no sanitizers):
# libFuzzer's SanitizerCoverage hooks are enabled with stable codegen flags. Builds for an explicit
# --target so the flags do not reach build scripts. Usage: ./run_stable.sh itch_decode [seconds]
set -eu
target=${1:-itch_decode}
secs=${2:-600}
cd "$(dirname "$0")"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
triple=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --target "$triple" --bin "$target"
mkdir -p "corpus/$target" artifacts
"target/$triple/release/$target" "corpus/$target" -max_total_time="$secs" \
  -artifact_prefix="artifacts/$target-"
