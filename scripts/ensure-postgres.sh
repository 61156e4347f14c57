#!/usr/bin/env bash
# Make a PostgreSQL server reachable for the test suite and export SOCLE_TEST_POSTGRES_URL.
# Uses SOCLE_TEST_POSTGRES_URL if set; otherwise the local server, started (and installed
# from Debian's packages, when running as root) if needed. Fails loudly: the PostgreSQL half
# of the suite is never skipped.
set -euo pipefail

can_connect() {
    if command -v psql >/dev/null 2>&1; then
        psql "$1" -qtAc 'SELECT 1' >/dev/null 2>&1
    else
        python3 - "$1" <<'PY' >/dev/null 2>&1
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
socket.create_connection((u.hostname or "127.0.0.1", u.port or 5432), timeout=2).close()
PY
    fi
}

if [ -n "${SOCLE_TEST_POSTGRES_URL:-}" ]; then
    can_connect "$SOCLE_TEST_POSTGRES_URL" || { echo "cannot reach SOCLE_TEST_POSTGRES_URL" >&2; exit 1; }
    return 0 2>/dev/null || exit 0
fi

url="postgres://postgres@127.0.0.1:5432/postgres"
if ! can_connect "$url"; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "installing PostgreSQL from Debian's packages..." >&2
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        else
            echo "PostgreSQL is not installed; install it or set SOCLE_TEST_POSTGRES_URL" >&2
            exit 1
        fi
    fi
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster "$version" main start || true
    for _ in $(seq 1 30); do can_connect "$url" && break; sleep 1; done
fi
if ! can_connect "$url"; then
    # A stock install asks for a password over TCP: give the postgres role one for the tests.
    if [ "$(id -u)" = 0 ] && command -v su >/dev/null 2>&1; then
        su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'socle-test'\"" >/dev/null
        url="postgres://postgres:socle-test@127.0.0.1:5432/postgres"
    fi
fi
can_connect "$url" || { echo "PostgreSQL is not reachable at $url" >&2; exit 1; }
export SOCLE_TEST_POSTGRES_URL="$url"
