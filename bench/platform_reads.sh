#!/usr/bin/env bash
# Typed platform reads under load: wrk on a Studio page and on a project's page list, for one
# Socle binary (to compare builds or `SOCLE_DB_MAX_CONNECTIONS` values one after the other).
#
#   bench/platform_reads.sh [SOCLE_BIN]      # needs: wrk (apt), node; default: a release build
# Environment: CONNECTIONS (64), DURATION (10s), PAGES (50), and any SOCLE_* setting.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-${CARGO_TARGET_DIR:-target}/release/socle}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no Socle binary at $BIN (cargo build --release)" >&2; exit 1; }
W=$(mktemp -d)
PORT=18403
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
SOCLE_DATA_DIR="$W/data" SOCLE_SECURITY__REQUIRE_EMAIL_ACTIVATION=false \
    SOCLE_ACCESS_TOKEN_TTL_SECS=86400 \
    "$BIN" serve --bind 127.0.0.1:$PORT >"$W/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
[ -d tests/collab/node_modules ] || (cd tests/collab && npm ci --no-audit --no-fund >&2)
node tests/collab/setup.mjs "http://127.0.0.1:$PORT" "${PAGES:-50}" >"$W/setup.json"
field() { node -p "require(process.argv[1]).$1" "$W/setup.json"; }
TOKEN=$(field 'tokens[0]')
PROJECT=$(field project_id)
PAGE=$(field page_id)
for path in "/api/v1/studio/projects/$PROJECT/pages/$PAGE" "/api/v1/studio/projects/$PROJECT/pages"; do
    echo "== GET $path, $CONNECTIONS connections"
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -H "Authorization: Bearer $TOKEN" --latency "http://127.0.0.1:$PORT$path" |
        grep -E 'Requests/sec|  50%|  99%|Non-2xx'
done
echo "threads: $(ls "/proc/$SERVER/task" | wc -l); peak RSS: $(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status") KiB"
