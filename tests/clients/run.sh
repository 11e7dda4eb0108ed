#!/usr/bin/env bash
# Real third-party clients against `ferrex serve` (issue 7, "Real clients in the tests"):
# QuickFIX (quickfix-ssl wheel) as a FIX 4.4 initiator and ouch-connect as an OUCH 5.0 /
# SoupBinTCP 4.0 client, both from PyPI, against `ferrex serve --config config/serve.toml`.
#
# - creates (or reuses) a venv in target/pyclients and installs tests/clients/requirements.txt;
# - builds `ferrex` with the test profile into target/debug (`cargo build -p ferrex-cli --profile
#   test`: after `cargo test --workspace` every dependency is already built with that profile,
#   so only the binary compiles; no release build); FERREX_BIN=path skips the build;
# - starts the server in the background, waits for its ports, runs pytest on tests/clients,
#   always stops the server, and exits non-zero on any failure.
#
# Environment: PYTHON (default python3.11, else python3), FERREX_BIN, FERREX_SERVE_ARGS (extra
# arguments for `ferrex serve`), PYTEST_ARGS (extra pytest arguments, e.g. "-k fix").
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv=$target/pyclients
log=$venv/serve.log
config=config/serve.toml
ouch_port=15000
fix_port=15001

say() { echo "[clients] $*"; }

# ---------------------------------------------------------------- python clients
python=${PYTHON:-}
if [ -z "$python" ]; then
  if command -v python3.11 >/dev/null 2>&1; then python=python3.11; else python=python3; fi
fi
stamp=$venv/.requirements.sha256
want=$(sha256sum tests/clients/requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "creating venv $venv with $python ($($python --version 2>&1))"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r tests/clients/requirements.txt
  echo "$want" > "$stamp"
else
  say "reusing venv $venv"
fi

# ---------------------------------------------------------------- the server binary
if [ -n "${FERREX_BIN:-}" ]; then
  bin=$FERREX_BIN
else
  say "cargo build -p ferrex-cli --profile test"
  cargo build -p ferrex-cli --profile test
  bin=$target/debug/ferrex
fi
if help_err=$("$bin" serve --help 2>&1 >/dev/null); then
  :
elif echo "$help_err" | grep -q "unrecognized subcommand"; then
  echo
  echo "######################################################################"
  echo "# SKIPPED: the real-client tests (tests/clients) did not run:"
  echo "# this ferrex binary has no 'serve' subcommand yet ($bin)."
  echo "######################################################################"
  echo
  exit 0
else
  say "'$bin serve --help' failed:"
  echo "$help_err"
  exit 1
fi

# ---------------------------------------------------------------- start the server
port_open() {
  "$venv/bin/python" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
EOF
}
for p in $ouch_port $fix_port; do
  if port_open "$p"; then
    say "port $p is already in use: another server is running; stop it first"
    exit 1
  fi
done

server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

# shellcheck disable=SC2086
say "starting: $bin serve --config $config ${FERREX_SERVE_ARGS:-}"
"$bin" serve --config "$config" ${FERREX_SERVE_ARGS:-} >"$log" 2>&1 &
server_pid=$!
up=
for _ in $(seq 600); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    say "ferrex serve exited before listening; its output:"
    cat "$log"
    exit 1
  fi
  if port_open $ouch_port && port_open $fix_port; then up=1; break; fi
  sleep 0.1
done
if [ -z "$up" ]; then
  say "ferrex serve did not open ports $ouch_port and $fix_port within 60 s; its output:"
  cat "$log"
  exit 1
fi
say "server up (pid $server_pid), log $log"

# ---------------------------------------------------------------- the tests
status=0
# shellcheck disable=SC2086
FERREX_OUCH_ADDR=127.0.0.1:$ouch_port FERREX_FIX_ADDR=127.0.0.1:$fix_port \
  timeout -k 30 600 "$venv/bin/python" -m pytest -v -p no:cacheprovider tests/clients ${PYTEST_ARGS:-} \
  || status=$?
if ! kill -0 "$server_pid" 2>/dev/null; then
  say "ferrex serve died during the tests; its output:"
  cat "$log"
  status=1
fi
if [ "$status" -ne 0 ]; then
  say "FAILED (exit $status); last lines of the server log:"
  tail -n 40 "$log" || true
fi
exit "$status"
