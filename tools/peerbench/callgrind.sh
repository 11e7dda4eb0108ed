#!/usr/bin/env bash
# Instructions per message under callgrind (the noise-free figure on shared VMs).
# Counts only the apply loop (`peerbench::measure::run`, never inlined) of one pass over the feed.
# Usage: tools/peerbench/callgrind.sh [ENGINE ...]   (default: ferrex)   extra qc_one args via QC_ARGS
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cargo build -p peerbench --release --bin qc_one >&2
out="$(mktemp -d)"
for engine in "${@:-ferrex}"; do
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.$engine" \
        --toggle-collect='*measure::run*' --dump-instr=yes \
        target/release/qc_one "$engine" ${QC_ARGS:-} >"$out/stdout.$engine" 2>"$out/stderr.$engine"
    msgs="$(sed -n 's/.* messages \([0-9]*\) .*/\1/p' "$out/stdout.$engine")"
    ir="$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/stderr.$engine")"
    awk -v e="$engine" -v ir="$ir" -v m="$msgs" \
        'BEGIN { printf "%-13s %12d Ir over %d messages = %.1f Ir/msg\n", e, ir, m, ir / m }'
done
echo "profiles: $out/cg.<engine> (callgrind_annotate --auto=yes $out/cg.ferrex)" >&2
