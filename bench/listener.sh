#!/usr/bin/env bash
# Listener A/B: two Socle builds, alternately, in their default configuration (SQLite,
# request logs at info), under wrk: `GET /healthz` on kept-alive connections, and with a new
# connection per request (`Connection: close`: accept, the connection's setup and its end
# every time). Medians of ROUNDS rounds are printed per build.
#
#   bench/listener.sh OLD_BINARY NEW_BINARY     # needs wrk (apt-get install wrk)
# Environment: DURATION (default 10s), CONNECTIONS (default 64), ROUNDS (default 3).
set -euo pipefail
OLD=${1:?old binary}
NEW=${2:?new binary}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-3}
PORT=18097
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
WORK=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

wait_http() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
# "requests/s p50 p99 errors" from wrk --latency output
summarize() {
    awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Socket errors/ {err=$0} /Non-2xx/ {bad=$NF} END {printf "%s %s %s non2xx=%s %s\n", rps, p50, p99, (bad==""?0:bad), err}'
}

run() { # name binary
    rm -rf "$WORK/data"
    SOCLE_DATA_DIR="$WORK/data" \
        "$2" serve --bind 127.0.0.1:$PORT >"$WORK/$1.log" 2>&1 &
    PID=$!
    wait_http "http://127.0.0.1:$PORT/healthz"
    wrk -t2 -c8 -d2s "http://127.0.0.1:$PORT/healthz" >/dev/null # warm up
    echo "$1 keepalive $(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT/healthz" | summarize)"
    echo "$1 close     $(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H 'Connection: close' "http://127.0.0.1:$PORT/healthz" | summarize)"
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}

for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round" >&2
    run old "$OLD"
    run new "$NEW"
done | tee "$WORK/all.txt"
echo "== medians (requests/s)"
for build in old new; do
    for kind in keepalive close; do
        median=$(awk -v b="$build" -v k="$kind" '$1==b && $2==k {print $3}' "$WORK/all.txt" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
        echo "$build $kind $median"
    done
done
