#!/usr/bin/env bash
# Checks that mamori-soc's store works against a real PostgreSQL 15 server:
# the store's whole unit suite (tests/unit/test_soc_store.c: schema and its
# versions, every event filter field by field, dead letters' raw bytes,
# devices, certificates, incidents and their links, findings, retention by
# age and by size) runs against a throwaway server started here, and then
# the database must hold what the last test left: schema version 1 and the
# store's tables. Missing PostgreSQL is a failure, not a skip.
set -euo pipefail
. "$(dirname "$0")/lib/peers.sh"
. "$(dirname "$0")/lib/pg.sh"

unit="$MAMORI_BIN/test_soc_store"
[ -x "$unit" ] || fail "no $unit (build the test_soc_store target)"

start_postgres
echo "PostgreSQL on port $PG_PORT"

if ! MAMORI_PG_URL=$PG_URL CMOCKA_MESSAGE_OUTPUT=stdout "$unit" >"$tmp/unit.log" 2>&1; then
  cat "$tmp/unit.log" >&2
  fail "the store's unit suite failed (see above)"
fi
# Both groups must have run, all passed, and none skipped.
passed=$(grep -c '^\[  PASSED  \]' "$tmp/unit.log" || true)
grep -q 'store postgresql' "$tmp/unit.log" || grep -q 'Running' "$tmp/unit.log" ||
  fail "no test output: $(head -5 "$tmp/unit.log")"
[ "$passed" -eq 2 ] || { cat "$tmp/unit.log" >&2; fail "expected the sqlite and postgresql groups to pass, $passed did"; }
if grep -q 'MAMORI_PG_URL not set' "$tmp/unit.log"; then
  fail "the unit suite did not see MAMORI_PG_URL"
fi
grep -E '^\[==========\] .* test\(s\) run' "$tmp/unit.log" | sed 's/^/  /'

# What the suite's last test left in the server's database.
v=$(pg_sql "SELECT MAX(version) FROM schema_version")
[ "$v" = 1 ] || fail "schema_version in PostgreSQL is '$v', want 1"
n=$(pg_sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND
  table_name IN ('events', 'dead_letters', 'devices', 'certs', 'incidents',
                 'incident_events', 'findings', 'schema_version')")
[ "$n" = 8 ] || fail "$n of the store's 8 tables in PostgreSQL"
idx=$(pg_sql "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes
  WHERE tablename = 'events'")
[ "$idx" = "events_code,events_device,events_pkey,events_reporter,events_requester,events_responder,events_time,events_type" ] ||
  fail "events' indexes: $idx"
echo "ok: the store's unit suite passes against PostgreSQL; schema v1 with its indexes"
