#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store tests (`make postgres`, which `make test` depends on).
#
#   scripts/test-postgres.sh [start|stop|url]
#
# start (the default) installs Debian's postgresql when its binaries are missing, creates a cluster in
# .pg/ of the repository (trust authentication, TCP on 127.0.0.1 only, no fsync: nothing in it matters)
# and starts it on $LGSP_PG_PORT (55432), then creates the database $LGSP_PG_DB (lgsp). Run again, it
# reuses the running server. PostgreSQL refuses to run as root: as root the server runs as the `postgres`
# user the package creates. The URL for the tests is printed by `url` and on start:
#   postgresql+psycopg://postgres@127.0.0.1:55432/lgsp
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${LGSP_PG_PORT:-55432}"
DB="${LGSP_PG_DB:-lgsp}"
DIR="${LGSP_PG_DIR:-$ROOT/.pg}"
URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB"

say() { echo "postgres: $*" >&2; }

bindir() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$found" && -x "$found/initdb" ]] && echo "$found"
}

install_postgres() {
    if [[ "$(id -u)" != 0 ]]; then
        say "PostgreSQL server binaries not found under /usr/lib/postgresql and not root: install Debian's"
        say "postgresql (sudo apt-get install postgresql), or point LGSP_TEST_POSTGRES_URL at a server"
        exit 1
    fi
    say "installing Debian's postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

# Run a server-side program as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

psql_admin() {
    "$BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

ensure_database() {
    if [[ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]]; then
        psql_admin -c "CREATE DATABASE \"$DB\""
    fi
}

start() {
    BIN="$(bindir)" || { install_postgres; BIN="$(bindir)"; }
    local data="$DIR/data"

    if [[ -f "$data/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" status -D "$data" >/dev/null 2>&1; then
        ensure_database
        say "reusing the server of $DIR on port $PORT"
        echo "$URL"
        return
    fi
    if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
        # Another checkout's throwaway server, most likely: tests make their own databases, so share it.
        if psql_admin -tAc "SELECT 1" >/dev/null 2>&1; then
            ensure_database
            say "port $PORT already serves PostgreSQL with trust for user postgres: using that server"
            echo "$URL"
            return
        fi
        say "port $PORT is taken by a server that does not let user postgres in; set LGSP_PG_PORT"
        exit 1
    fi

    mkdir -p "$DIR"
    if [[ "$(id -u)" == 0 ]]; then
        chown postgres: "$DIR"
        if ! runuser -u postgres -- test -w "$DIR"; then
            # The checkout is not reachable by user postgres (e.g. under /root): keep the cluster in /tmp.
            DIR="/tmp/lgsp-hub-pg-$(echo "$ROOT" | md5sum | cut -c1-8)"
            data="$DIR/data"
            mkdir -p "$DIR" && chown postgres: "$DIR"
            say "user postgres cannot write in the checkout; cluster in $DIR"
        fi
    fi
    if [[ ! -f "$data/PG_VERSION" ]]; then
        rm -rf "$data"
        as_owner "$BIN/initdb" -D "$data" -U postgres --auth=trust --no-locale --encoding=UTF8 \
            --no-instructions >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
        cat >>"$data/postgresql.conf" <<EOF

# throwaway test server (scripts/test-postgres.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    fi
    if ! as_owner "$BIN/pg_ctl" start -w -t 60 -D "$data" -l "$DIR/server.log" -o "-p $PORT" >/dev/null; then
        tail -n 20 "$DIR/server.log" >&2 || true
        exit 1
    fi
    ensure_database
    say "started on port $PORT (data in $data, log in $DIR/server.log)"
    echo "$URL"
}

stop() {
    BIN="$(bindir)" || return 0
    for data in "$DIR/data" "/tmp/lgsp-hub-pg-$(echo "$ROOT" | md5sum | cut -c1-8)/data"; do
        if [[ -f "$data/postmaster.pid" ]]; then
            as_owner "$BIN/pg_ctl" stop -D "$data" -m fast >/dev/null && say "stopped the server of $data"
        fi
    done
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    url) echo "$URL" ;;
    *) echo "usage: $0 [start|stop|url]" >&2; exit 2 ;;
esac
