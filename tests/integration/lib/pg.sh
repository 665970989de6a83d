# A throwaway PostgreSQL server for integration scenarios. Source it after
# lib/peers.sh (which sets $tmp, pick_port, wait_for, fail and an EXIT trap),
# then call start_postgres: it makes a cluster in $tmp/pg with initdb run as
# the unprivileged `postgres` system user (initdb refuses root), starts it on
# 127.0.0.1 on a free port with its unix socket in $tmp/pg/sock and fsync
# off, waits until it accepts connections, creates the database mamori_test
# and exports PG_URL=postgresql://postgres@127.0.0.1:PORT/mamori_test (and
# PG_PORT, PG_BINDIR). The server is stopped when the script exits, before
# peers.sh's cleanup removes $tmp.
# shellcheck shell=bash

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
export PG_BINDIR

# Runs a command as the postgres user, from a directory it may enter.
as_postgres() {
  (cd "$tmp/pg" && runuser -u postgres -- "$@")
}

stop_postgres() {
  if [ -n "${pg_started:-}" ] && [ -f "$tmp/pg/data/postmaster.pid" ]; then
    as_postgres "$PG_BINDIR/pg_ctl" -D "$tmp/pg/data" -m immediate -w -t 30 stop \
      >/dev/null 2>&1 || true
  fi
  pg_started=
}

start_postgres() {
  local t prev_trap prev_cmd
  for t in initdb pg_ctl pg_isready psql createdb; do
    [ -x "$PG_BINDIR/$t" ] ||
      fail "PostgreSQL is not installed: no $PG_BINDIR/$t (scripts/deps.sh installs postgresql)"
  done
  id postgres >/dev/null 2>&1 ||
    fail "no 'postgres' system user to run initdb as (scripts/deps.sh installs postgresql)"
  command -v runuser >/dev/null || fail "runuser (util-linux) is not installed"

  # The postgres user must reach its directory inside $tmp (mode 0700):
  # let others pass through $tmp without listing it.
  chmod 0711 "$tmp"
  mkdir -p "$tmp/pg/sock"
  chown -R postgres: "$tmp/pg"
  as_postgres "$PG_BINDIR/initdb" -D "$tmp/pg/data" -U postgres -A trust -E UTF8 \
    --locale=C --no-sync >"$tmp/pg/initdb.log" 2>&1 ||
    fail "initdb failed: $(tail -5 "$tmp/pg/initdb.log")"

  PG_PORT=$(pick_port)
  export PG_PORT
  # Chain our stop onto whatever EXIT trap is set (peers.sh's cleanup).
  prev_trap=$(trap -p EXIT)
  prev_cmd=$(eval "set -- $prev_trap"; echo "${3:-}")
  # shellcheck disable=SC2064
  trap "stop_postgres; $prev_cmd" EXIT
  pg_started=1
  as_postgres "$PG_BINDIR/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $tmp/pg/sock -c fsync=off \
        -c full_page_writes=off -c max_connections=40" start >/dev/null 2>&1 ||
    fail "PostgreSQL did not start: $(tail -5 "$tmp/pg/server.log")"
  wait_for "$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" ||
    fail "PostgreSQL does not accept connections on $PG_PORT: $(tail -5 "$tmp/pg/server.log")"
  "$PG_BINDIR/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres mamori_test ||
    fail "createdb failed"
  PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/mamori_test"
  export PG_URL
}

# Runs SQL $1 on the test database and prints the result unaligned.
pg_sql() {
  "$PG_BINDIR/psql" -X -q -t -A -v ON_ERROR_STOP=1 "$PG_URL" -c "$1"
}
