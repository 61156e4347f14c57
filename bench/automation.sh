#!/usr/bin/env bash
# Automation benchmarks: job throughput on SQLite and PostgreSQL with one and two workers,
# and event-to-notification latency (see bench/automation.rs). Figures go to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-postgres.sh
N=${N:-5000}
ROUNDS=${ROUNDS:-3}
CONCURRENCY=${CONCURRENCY:-8}
cargo build --release --locked -p socle-tests --example automation_bench >&2
BIN=target/release/examples/automation_bench
# A fresh schema of its own on the test server, so that the bench never touches other data.
psql "$SOCLE_TEST_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS socle_bench CASCADE; CREATE SCHEMA socle_bench" >/dev/null
sep='?'; case "$SOCLE_TEST_POSTGRES_URL" in *\?*) sep='&';; esac
PG="${SOCLE_TEST_POSTGRES_URL}${sep}options[search_path]=socle_bench"
for round in $(seq "$ROUNDS"); do
    echo "# round $round"
    $BIN jobs sqlite "$N" 1 "$CONCURRENCY"
    $BIN jobs sqlite "$N" 2 "$CONCURRENCY"
    $BIN jobs "$PG" "$N" 1 "$CONCURRENCY"
    $BIN jobs "$PG" "$N" 2 "$CONCURRENCY"
done
$BIN latency sqlite "${LATENCY_N:-200}"
$BIN latency "$PG" "${LATENCY_N:-200}"
