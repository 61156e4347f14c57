#!/usr/bin/env bash
# Where a collab room's memory goes: Socle under heaptrack while ROOMS rooms (one connection
# each, opened by bench/collab.mjs) are open; prints the server's RSS growth per room and
# heaptrack's largest consumers at the heap's peak (the rooms being open).
#
#   CARGO_TARGET_DIR=/work/target-heap cargo build --release -p socle --features socle/system-allocator
#   SOCLE_BIN=/work/target-heap/release/socle bench/collab_heap.sh
# The `system-allocator` build uses the C library's malloc, which heaptrack follows (mimalloc,
# the default, it does not). Needs heaptrack (Debian `heaptrack`), node and npm.
# Environment: ROOMS (200), PEAKS (40: consumers printed), WRAP (default `heaptrack -o …`;
# WRAP=" " runs the server bare, for the RSS figure alone), SOCLE_DB_MAX_CONNECTIONS.
set -euo pipefail
cd "$(dirname "$0")/.."
SOCLE_BIN=${SOCLE_BIN:?a Socle binary built with --features socle/system-allocator}
ROOMS=${ROOMS:-200}
PORT=18402
[ -d tests/collab/node_modules ] || (cd tests/collab && npm ci --no-audit --no-fund >&2)
W=$(mktemp -d)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
socle() { exec env SOCLE_DATA_DIR="$W/data" SOCLE_SECURITY__REQUIRE_EMAIL_ACTIVATION=false \
    SOCLE_ACCESS_TOKEN_TTL_SECS=86400 "$@" serve --bind 127.0.0.1:$PORT; }
wait_http() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
server_pid() { pgrep -f "serve --bind 127.0.0.1:$PORT" | tail -1; }

# Pages to open, made by a server that is then stopped (the measured one starts fresh).
socle "$SOCLE_BIN" >"$W/setup.log" 2>&1 & SERVER=$!
wait_http "http://127.0.0.1:$PORT/healthz"
node tests/collab/setup.mjs "http://127.0.0.1:$PORT" "$ROOMS" >"$W/setup.json"
kill "$SERVER"; wait "$SERVER" || true
TOKEN=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).tokens[0]' "$W/setup.json")
LIST=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).page_ids.join(",")' "$W/setup.json")

# shellcheck disable=SC2086 # WRAP is a command line
socle ${WRAP:-heaptrack -o "$W/heap"} "$SOCLE_BIN" >"$W/serve.log" 2>&1 & SERVER=$!
wait_http "http://127.0.0.1:$PORT/healthz"
node bench/collab.mjs rooms --label socle --url "ws://127.0.0.1:$PORT/api/v1/collab/pages" --token "$TOKEN" \
    --server-pid "$(server_pid)" --room-list "$LIST"
echo "threads: $(ls "/proc/$(server_pid)/task" | wc -l)"
kill -INT "$(server_pid)"; wait "$SERVER" || true
SERVER=
if [ -f "$W/heap.zst" ]; then
    heaptrack_print "$W/heap.zst" --print-peaks 1 --print-allocators 0 --print-temporary 0 --print-leaks 0 \
        --peak-limit "${PEAKS:-40}" --sub-peak-limit 2 2>/dev/null | cut -c1-220 |
        grep -v '^ *in /\|^ *at \|libc.so\|clone3\|start_thread\|thread_start\|call_once\|__rust_begin\|lang_start'
fi
