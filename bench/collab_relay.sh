#!/usr/bin/env bash
# Where a live edit's fan-out latency goes: for EDITORS editors (2 10 50) at ROOM_RATE edits/s
# in one room, each on a freshly started Socle, the end-to-end latency the load generator
# measures (sender's edit to each receiver's apply) beside the server's own share of it,
# `socle_collab_relay_seconds` (arrival to relay: applied, checked and logged), read from
# /metrics after the run.
#   bench/collab_relay.sh        # needs: node + npm, a release build of Socle
# Environment: SOCLE_BIN (default /work/target-release/release/socle), EDITORS, DURATION (20),
# ROOM_RATE (100).
set -euo pipefail
cd "$(dirname "$0")/.."
EDITORS=${EDITORS:-"2 10 50"}
DURATION=${DURATION:-20}
ROOM_RATE=${ROOM_RATE:-100}
SOCLE_BIN=${SOCLE_BIN:-/work/target-release/release/socle}
PORT=18303
[ -x "$SOCLE_BIN" ] || { echo "no Socle binary at $SOCLE_BIN (cargo build --release)" >&2; exit 1; }
[ -d tests/collab/node_modules ] || (cd tests/collab && npm ci --no-audit --no-fund >&2)
WORK=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
quantile() { awk -v q="$2" -F'[{}" ]+' '$1 == "socle_collab_relay_seconds" && $3 == q { printf "%.3f ms", $4 * 1000 }' <<<"$1"; }
echo "| editors | end to end p50 / p99 | Socle's own share p50 / p99 |"
echo "| ---: | --- | --- |"
for n in $EDITORS; do
    rm -rf "$WORK/data"; mkdir -p "$WORK/data"
    SOCLE_DATA_DIR="$WORK/data" SOCLE_SECURITY__REQUIRE_EMAIL_ACTIVATION=false \
        "$SOCLE_BIN" serve --bind 127.0.0.1:$PORT >>"$WORK/socle.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
    node tests/collab/setup.mjs "http://127.0.0.1:$PORT" 1 >"$WORK/setup.json"
    token=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).tokens[0]' "$WORK/setup.json")
    page=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).page_id' "$WORK/setup.json")
    run=$(node bench/collab.mjs edit --label socle --url "ws://127.0.0.1:$PORT/api/v1/collab/pages" --token "$token" \
        --server-pid "$PID" --room "$page" --editors "$n" --duration "$DURATION" --room-rate "$ROOM_RATE")
    metrics=$(curl -fs "http://127.0.0.1:$PORT/metrics")
    e2e=$(node -p 'const l = JSON.parse(process.argv[1]).latency_ms; `${l.p50} / ${l.p99} ms`' "$run")
    echo "| $n | $e2e | $(quantile "$metrics" 0.5) / $(quantile "$metrics" 0.99) |"
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
done
