#!/usr/bin/env bash
# Export benchmark: a release `socle serve` in its default configuration (SQLite, logs at
# info; sign-up activation off so the script can sign in), a 20-page project with five
# 1920x1080 page images, exported in each format (bench/exports.py). Figures go to
# BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18095}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/socle/target}"
cargo build --release --locked -p socle >&2
DATA=$(mktemp -d)
SOCLE_SECURITY__REQUIRE_EMAIL_ACTIVATION=false SOCLE_DATA_DIR="$DATA" \
    "$CARGO_TARGET_DIR/release/socle" serve --bind "127.0.0.1:$PORT" > "$DATA/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
    sleep 0.1
done
python3 bench/exports.py "http://127.0.0.1:$PORT" "$PID" "$ROUNDS"
