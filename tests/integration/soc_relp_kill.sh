#!/usr/bin/env bash
# Checks that nothing mamori-soc acknowledged over RELP is lost when it is
# killed with SIGKILL in the middle of ingest: `mamori send` sends N events
# over RELP from its spool; mamori-soc is killed after a tenth of them are
# stored and started again on the same state directory and store; the sender
# carries on. At the end the sender has every event acknowledged and the
# store holds every one of them (duplicates are counted, not failed: RELP is
# at-least-once). Runs on SQLite and, with SOC_STORE=pg, on PostgreSQL.
set -euo pipefail
. "$(dirname "$0")/lib/peers.sh"
. "$(dirname "$0")/lib/soc.sh"

N=${N:-30000}
soc_store_init
distinct() { # distinct events of the sent kinds in the store
  local q="select count(distinct msg) || ' ' || count(*) from events where msgid in ('X1367', 'test.event.sent')"
  case "$store" in
  sqlite:*) sqlite3 "${store#sqlite:}" "$q" ;;
  *) psql -tA "$store" -c "$q" ;;
  esac
}
make_events "$tmp/events" "$N"
p_relp=$(pick_port)
args=(--store "$store" --listen "relp://127.0.0.1:$p_relp")
start_soc soc "${args[@]}"
A=$soc_api

"$mamori" send --to "relp://127.0.0.1:$p_relp" --spool "$tmp/spool" --stats 0 \
  "$tmp/events" >"$tmp/send.log" 2>&1 &
sender=$!
pids+=("$sender")
# Kill the daemon once a part of the events is stored, in the middle of ingest.
WAIT_TRIES=600 wait_for stored_at_least "$A" $((N / 10)) || fail "ingest did not start: $(tail "$tmp/soc.log")"
kill -9 "$soc_pid"
wait "$soc_pid" 2>/dev/null || true
read -r before _ <<<"$(distinct)"
echo "killed mamori-soc with $before of $N events stored"
[ "$before" -lt "$N" ] || fail "every event was stored before the kill: nothing was tested"
sleep 1
start_soc soc "${args[@]}"
A=$soc_api
wait "$sender" || fail "the sender did not get every event acknowledged: $(tail -5 "$tmp/send.log")"
grep -q "acknowledged $N," "$tmp/send.log" || fail "the sender's counters: $(tail -3 "$tmp/send.log")"
# The sender saw every event acknowledged; every one must be in the store.
WAIT_TRIES=300 wait_for test "$(distinct | cut -d' ' -f1)" -ge "$N" || true
read -r got total <<<"$(distinct)"
[ "$got" = "$N" ] || fail "the store holds $got distinct events of $N acknowledged"
echo "ok: $N acknowledged, $got distinct in the store, $((total - got)) duplicates"
kill -TERM "$soc_pid"
wait "$soc_pid" || fail "mamori-soc did not stop cleanly"
echo "PASS soc_relp_kill (${SOC_STORE:-sqlite})"
