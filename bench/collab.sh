#!/usr/bin/env bash
# Collaboration benchmark: Socle's Yjs WebSocket server and the reference @y/websocket-server,
# same machine, same load generator (bench/collab.mjs: every editor a real Y.Doc), same run,
# measured alternately.
#   1. memory, each on a freshly started server: ROOMS rooms with one connection each; CONNS
#      connections in one room: server RSS growth per room and per connection (whole, and
#      marginal: the second half's growth, which leaves one-time costs out);
#   2. for EDITORS editors (2 10 50), ROUNDS times, each run in a fresh room:
#      throughput (every editor types as fast as a window of WINDOW unacknowledged edits allows:
#      edits applied by receivers per second) and fan-out latency at a moderate load
#      (ROOM_RATE edits/s in the room shared by its editors: p50/p99 from the sender's edit
#      to each receiver's apply).
# The medians over rounds are printed as Markdown; every run's JSON line is kept in
# bench/results/collab-<time>.jsonl.
#
#   bench/collab.sh                      # needs: node + npm, a release build of Socle
#   SERVERS=reference bench/collab.sh    # the reference alone (no Socle build needed)
# Environment: SOCLE_BIN (default /work/target-release/release/socle), EDITORS ("2 10 50"),
# DURATION (seconds, 10), ROUNDS (3), WINDOW (16), ROOM_RATE (100), ROOMS (200), CONNS (200),
# SERVERS ("reference socle"); SKIP_MEMORY=1, SKIP_THROUGHPUT=1 leave those runs out; WORK_DIR
# (a parent for the run's directory, the Socle data directory included: /dev/shm to take the
# disk out).
# The load generator is one Node process: on 2 cores it shares the CPU with the server, and at
# 50 editors it is the bottleneck (its CPU is printed); "server CPU per delivery" compares the
# servers' cost independently of that.
set -euo pipefail
cd "$(dirname "$0")/.."
EDITORS=${EDITORS:-"2 10 50"}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WINDOW=${WINDOW:-16}
ROOM_RATE=${ROOM_RATE:-100}
ROOMS=${ROOMS:-200}
CONNS=${CONNS:-200}
SERVERS=${SERVERS:-"reference socle"}
SOCLE_BIN=${SOCLE_BIN:-/work/target-release/release/socle}
if [[ " $SERVERS " == *" socle "* ]] && [ ! -x "$SOCLE_BIN" ]; then
    echo "no Socle binary at $SOCLE_BIN (cargo build --release, or SERVERS=reference)" >&2; exit 1
fi
[ -d tests/collab/node_modules ] || (cd tests/collab && npm ci --no-audit --no-fund >&2)

WORK=$(mktemp -d ${WORK_DIR:+-p "$WORK_DIR"})
REF_PORT=18301
SOCLE_PORT=18302
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
wait_http() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
kib() { awk "/^$1:/ {print \$2}" "/proc/$2/status"; }
mkdir -p bench/results
RESULTS=bench/results/collab-$(date -u +%Y%m%dT%H%M%SZ).jsonl
: >"$RESULTS"

start_reference() { # [node options]
    HOST=127.0.0.1 PORT=$REF_PORT node "$@" tests/collab/node_modules/@y/websocket-server/src/server.js >>"$WORK/reference.log" 2>&1 &
    REF_PID=$!; PIDS+=("$REF_PID")
    wait_http "http://127.0.0.1:$REF_PORT/"
}
start_socle() { # the same data directory every time
    mkdir -p "$WORK/socle"
    # Socle as users run it: default logs (an access line per request, here per connection).
    SOCLE_DATA_DIR="$WORK/socle" SOCLE_SECURITY__REQUIRE_EMAIL_ACTIVATION=false \
    SOCLE_ACCESS_TOKEN_TTL_SECS=86400 \
        "$SOCLE_BIN" serve --bind 127.0.0.1:$SOCLE_PORT >>"$WORK/socle.log" 2>&1 &
    SOCLE_PID=$!; PIDS+=("$SOCLE_PID")
    wait_http "http://127.0.0.1:$SOCLE_PORT/healthz"
}
stop() {
    kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true
    local kept=() p; for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done; PIDS=("${kept[@]}")
}
# The reference as measured for memory: its collector run on SIGUSR2 before every reading, so
# that garbage not yet collected does not count against it.
REF_GC=(--expose-gc --import 'data:text/javascript,process.on("SIGUSR2",()=>globalThis.gc())')

if [[ " $SERVERS " == *" socle "* ]]; then
    echo "== Socle: $("$SOCLE_BIN" --version); a builder, a project and one page per run" >&2
    start_socle
    sizes=$(wc -w <<<"$EDITORS")
    node tests/collab/setup.mjs "http://127.0.0.1:$SOCLE_PORT" $((ROUNDS * sizes * 2 + ROOMS + 1)) >"$WORK/socle.json"
    SOCLE_TOKEN=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).tokens[0]' "$WORK/socle.json")
    mapfile -t SOCLE_PAGES < <(node -e 'for (const p of JSON.parse(require("fs").readFileSync(process.argv[1])).page_ids) console.log(p)' "$WORK/socle.json")
    stop "$SOCLE_PID"
fi
NEXT_PAGE=0

# bench <server> <mode> <room, or - for a fresh one> [collab.mjs options...]: one run, its JSON line kept
RUN=0
bench() {
    local who=$1 mode=$2 room=$3; shift 3
    local args=(--label "$who")
    RUN=$((RUN + 1))
    if [ "$who" = socle ]; then
        args+=(--url "ws://127.0.0.1:$SOCLE_PORT/api/v1/collab/pages" --token "$SOCLE_TOKEN" --server-pid "$SOCLE_PID")
        if [ "$room" = - ]; then room=${SOCLE_PAGES[$NEXT_PAGE]}; NEXT_PAGE=$((NEXT_PAGE + 1)); fi
    else
        args+=(--url "ws://127.0.0.1:$REF_PORT/api/v1/collab/pages" --seed --server-pid "$REF_PID")
        [ "$room" = - ] && room="bench-$RUN"
    fi
    [ -n "$room" ] && args+=(--room "$room")
    local out
    if out=$(node bench/collab.mjs "$mode" "${args[@]}" "$@"); then
        echo "$out" >>"$RESULTS"
        echo "   $who $mode $*: $out" | cut -c1-300 >&2
    else
        echo "   $who $mode $*: FAILED" >&2
    fi
}

echo "== memory, each on a freshly started server: $ROOMS rooms; $CONNS connections in one room" >&2
[ "${SKIP_MEMORY:-0}" = 1 ] && echo "   (skipped: SKIP_MEMORY=1)" >&2
for who in $( [ "${SKIP_MEMORY:-0}" = 1 ] || echo "$SERVERS" ); do
    if [ "$who" = socle ]; then
        start_socle
        list=$(IFS=,; echo "${SOCLE_PAGES[*]:$NEXT_PAGE:$ROOMS}")
        NEXT_PAGE=$((NEXT_PAGE + ROOMS))
        bench socle rooms "" --room-list "$list"
        stop "$SOCLE_PID"
        start_socle
        bench socle conns - --conns "$CONNS"
        stop "$SOCLE_PID"
    else
        start_reference "${REF_GC[@]}"
        bench reference rooms mem-room --rooms "$ROOMS" --gc-signal SIGUSR2
        stop "$REF_PID"
        start_reference "${REF_GC[@]}"
        bench reference conns - --conns "$CONNS" --gc-signal SIGUSR2
        stop "$REF_PID"
    fi
done

echo "== starting both for editing" >&2
declare -A IDLE
for who in $SERVERS; do
    if [ "$who" = socle ]; then start_socle; pid=$SOCLE_PID; else start_reference; pid=$REF_PID; fi
    sleep 1
    IDLE[$who]=$(kib VmRSS "$pid")
done

echo "== editing: editors $EDITORS, $ROUNDS rounds of ${DURATION}s" >&2
for round in $(seq 1 "$ROUNDS"); do
    echo "   round $round" >&2
    for n in $EDITORS; do
        for who in $SERVERS; do
            [ "${SKIP_THROUGHPUT:-0}" = 1 ] || bench "$who" edit - --editors "$n" --duration "$DURATION" --window "$WINDOW" --rate 0
            bench "$who" edit - --editors "$n" --duration "$DURATION" --window "$WINDOW" --room-rate "$ROOM_RATE"
        done
    done
done

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -r); date: $(date -u +%FT%TZ); node $(node --version)"
[[ " $SERVERS " == *" socle "* ]] && echo "socle: $("$SOCLE_BIN" --version)"
echo
node bench/collab.mjs report "$RESULTS"
for who in $SERVERS; do
    pid=$([ "$who" = socle ] && echo "$SOCLE_PID" || echo "$REF_PID")
    echo "$who: idle RSS ${IDLE[$who]} KiB, peak RSS $(kib VmHWM "$pid") KiB"
done
echo "every run: $RESULTS"

# Loading a page whose log holds LOAD_UPDATES updates, before and after its checkpoint.
LOAD_UPDATES=${LOAD_UPDATES:-10000}
LOAD_BIN=${LOAD_BIN:-$(dirname "$SOCLE_BIN")/examples/collab_load}
if [ -x "$LOAD_BIN" ]; then
    echo
    echo "load time of a page with $LOAD_UPDATES updates in its log (median of 5 loads):"
    "$LOAD_BIN" sqlite "$LOAD_UPDATES"
    [ -n "${SOCLE_TEST_POSTGRES_URL:-}" ] && "$LOAD_BIN" "$SOCLE_TEST_POSTGRES_URL" "$LOAD_UPDATES"
else
    echo "(no $LOAD_BIN: cargo build --release -p socle-tests --example collab_load for the load times)"
fi
