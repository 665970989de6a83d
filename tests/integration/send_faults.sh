#!/usr/bin/env bash
# Checks that nothing is lost when things die, with 50,000 events over RELP
# into a real rsyslogd each time:
#  (a) rsyslogd is killed with SIGKILL in the middle of the run and started
#      again: every event arrives at least once, duplicates are counted;
#  (b) the sender is killed with SIGKILL in the middle and started again on
#      the same spool: every event arrives at least once;
#  (c) a spool file is truncated in the middle of its last record while no
#      sender runs: the next sender reports the cut, and exactly the one torn
#      event is missing, nothing else.
# Lost events are the events sent that never reached rsyslog's output file;
# each scenario asserts zero lost and zero that were never sent.
set -euo pipefail
. "$(dirname "$0")/lib/peers.sh"

N=${FAULT_N:-50000}
make_events "$tmp/events" "$N"

port=$(pick_port)
relp_conf() { # name
  {
    rsyslog_global "$1"
    echo 'module(load="imrelp")'
    echo "input(type=\"imrelp\" address=\"127.0.0.1\" port=\"$port\" ruleset=\"out\")"
    out_ruleset "$1"
  } >"$tmp/$1.conf"
}

# Waits (bounded) until file $1 has at least $2 lines, polling fast so that a
# quick run is still caught in its middle.
wait_lines() {
  local i
  for i in $(seq 1 3000); do
    [ "$(lines_of "$1")" -ge "$2" ] && return 0
    sleep 0.01
  done
  return 1
}

report() { # scenario out
  local c lost dups extra
  c=$(delivery_counts "$tmp/events" "$2")
  read -r lost dups extra <<<"$c"
  echo "$1: $N events sent, $(lines_of "$2") records received, lost $lost, duplicates $dups, never sent $extra"
  [ "$lost" -eq 0 ] || fail "$1: $lost events lost"
  [ "$extra" -eq 0 ] || fail "$1: $extra records that were never sent"
}

# ---- (a) rsyslogd killed and restarted ----
relp_conf kill-rsyslog
start_rsyslog kill-rsyslog "$port"
"$mamori" send --to "relp://127.0.0.1:$port" --spool "$tmp/spool-a" --stats 1 --window 256 \
  "$tmp/events" 2>"$tmp/send-a.log" &
sender=$!
pids+=("$sender")
wait_lines "$tmp/kill-rsyslog.out" $((N / 5)) || fail "(a) nothing arrived: $(cat "$tmp/send-a.log")"
kill -9 "$kill_rsyslog_pid"
wait "$kill_rsyslog_pid" 2>/dev/null || true
at_kill=$(lines_of "$tmp/kill-rsyslog.out")
[ "$at_kill" -lt "$N" ] || fail "(a) the run ended before rsyslogd was killed; nothing was tested"
sleep 0.5
start_rsyslog kill-rsyslog "$port"
wait "$sender" || fail "(a) the sender failed: $(tail -5 "$tmp/send-a.log")"
grep -q "(done): queued $N, sent $N, acknowledged $N, resent [1-9]" "$tmp/send-a.log" ||
  fail "(a) counters: $(tail -2 "$tmp/send-a.log")"
echo "(a) rsyslogd killed after $at_kill records"
report "(a) rsyslogd SIGKILL" "$tmp/kill-rsyslog.out"
kill "$kill_rsyslog_pid" 2>/dev/null || true

# ---- (b) the sender killed and restarted on the same spool ----
relp_conf kill-sender
start_rsyslog kill-sender "$port"
"$mamori" send --to "relp://127.0.0.1:$port" --spool "$tmp/spool-b" --stats 1 --window 256 \
  "$tmp/events" 2>"$tmp/send-b1.log" &
sender=$!
pids+=("$sender")
# Kill only once every event is in the spool (the input has been read); what
# the sender had not yet read is still in its input, not lost.
WAIT_TRIES=600 wait_for grep -q "input: $N events spooled" "$tmp/send-b1.log" ||
  fail "(b) input not spooled: $(cat "$tmp/send-b1.log")"
wait_lines "$tmp/kill-sender.out" $((N / 5)) || fail "(b) nothing arrived"
kill -9 "$sender"
wait "$sender" 2>/dev/null || true
at_kill=$(lines_of "$tmp/kill-sender.out")
[ "$at_kill" -lt "$N" ] || fail "(b) the run ended before the sender was killed; nothing was tested"
"$mamori" send --to "relp://127.0.0.1:$port" --spool "$tmp/spool-b" --stats 0 /dev/null \
  2>"$tmp/send-b2.log" || fail "(b) the restarted sender failed: $(cat "$tmp/send-b2.log")"
grep -q "events waiting from before" "$tmp/send-b2.log" ||
  fail "(b) the restarted sender found nothing in the spool: $(cat "$tmp/send-b2.log")"
echo "(b) sender killed after $at_kill records; $(grep -o '[0-9]* events waiting from before' "$tmp/send-b2.log")"
report "(b) sender SIGKILL" "$tmp/kill-sender.out"
kill "$kill_sender_pid" 2>/dev/null || true

# ---- (c) a spool file truncated mid-record ----
# Spool everything while no receiver listens, then cut the last segment in
# the middle of its last record.
dead=$(pick_port)
if "$mamori" send --to "relp://127.0.0.1:$dead" --spool "$tmp/spool-c" --give-up 1 --stats 0 \
  "$tmp/events" 2>"$tmp/send-c1.log"; then
  fail "(c) sending to a closed port succeeded"
fi
grep -q "pending $N," "$tmp/send-c1.log" || fail "(c) not all spooled: $(tail -2 "$tmp/send-c1.log")"
last=$(ls "$tmp/spool-c"/*.seg | sort | tail -1)
[ "$(ls "$tmp/spool-c"/*.seg | wc -l)" -ge 2 ] || fail "(c) expected several segments"
size=$(stat -c %s "$last")
truncate -s $((size - 100)) "$last"
relp_conf torn
start_rsyslog torn "$port"
"$mamori" send --to "relp://127.0.0.1:$port" --spool "$tmp/spool-c" --stats 0 /dev/null \
  2>"$tmp/send-c2.log" || fail "(c) the sender failed: $(cat "$tmp/send-c2.log")"
grep -q "events waiting from before; [1-9][0-9]* torn bytes cut from 1 segment" "$tmp/send-c2.log" ||
  fail "(c) the cut was not reported: $(cat "$tmp/send-c2.log")"
c=$(delivery_counts "$tmp/events" "$tmp/torn.out")
read -r lost dups extra <<<"$c"
echo "(c) spool truncated by 100 bytes: $(lines_of "$tmp/torn.out") records received, lost $lost, duplicates $dups"
[ "$lost" -eq 1 ] || fail "(c) expected exactly the torn event missing, $lost are"
tail -n 1 "$tmp/events" >"$tmp/last-event"
expected_of "$tmp/last-event" >"$tmp/last-expected"
if grep -qxF -f "$tmp/last-expected" "$tmp/torn.out"; then
  fail "(c) the torn event arrived"
fi
[ "$extra" -eq 0 ] || fail "(c) $extra records that were never sent"
echo "ok: faults"
