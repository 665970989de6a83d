#!/usr/bin/env bash
# Checks that mamorid's events reach mamori-soc and that its death is seen
# there: with --soc relp://127.0.0.1:PORT to a mamori-soc in the device's
# network namespace, the denied exec of the dropper's /tmp copy is stored
# with APP-NAME mamorid, MSGID and type guard.exec.denied, HOSTNAME and
# device the device id, and its JSON (reason, file hash) in MSG; the
# heartbeat (every 2 s here) is stored too; after kill -9 of every
# mamorid process the SOC raises a No Response finding for the device (it
# learnt the period from the heartbeats; soc/silence.h).
set -euo pipefail
. "$(dirname "$0")/lib/guard.sh"

command -v jq >/dev/null || fail "jq is not installed (scripts/deps.sh)"
command -v curl >/dev/null || fail "curl is not installed (scripts/deps.sh)"
[ -x "$MAMORI_BIN/mamori-soc" ] || fail "no $MAMORI_BIN/mamori-soc"

guard_rootfs
# A fresh network namespace: these ports are free in it.
sc_relp=20514
sc_http=28514
sc_api="http://127.0.0.1:$sc_http"
cat >"$T/soc.conf" <<EOF
[soc]
store = sqlite:$T/soc.db
listen = relp://127.0.0.1:$sc_relp

[silence]
min_reports = 4
factor = 2
grace = 1
EOF
"$MAMORI_BIN/mamori-soc" -n -f "$T/soc.conf" >"$T/soc-check.out" 2>&1 ||
  fail "mamori-soc -n refused the config: $(cat "$T/soc-check.out")"
# A heartbeat every 2 s: the SOC ignores learnt periods under 1000 ms, and
# a 1 s heartbeat's measured median can fall just under it.
guard_write_conf "mode = enforce" "heartbeat = 2" "soc = relp://127.0.0.1:$sc_relp" <<EOF
[policy]
root = $guard_root
EOF

# In the namespaces, before mamorid: the SOC, up when its API answers.
sc_soc_start() {
  local _
  "$MAMORI_BIN/mamori-soc" -d -f "$T/soc.conf" --state "$T/soc.state" --http "127.0.0.1:$sc_http" \
    >>"$T/soc.log" 2>&1 &
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null --max-time 2 "$sc_api/health" && return 0
    sleep 0.1
  done
  fail "mamori-soc did not start: $(tail -n 20 "$T/soc.log")"
}
guard_before=sc_soc_start

# soc_count QUERY ENDPOINT: the number of rows a GET of the API gives.
soc_count() {
  curl -fs --max-time 5 "$sc_api/api/v1/$2?$1" | jq '[.[] | arrays] | .[0] // [] | length' 2>/dev/null ||
    echo 0
}

# soc_wait N QUERY ENDPOINT: waits (bounded, 40 s) for N rows.
soc_wait() {
  local end=$((SECONDS + 40))
  while [ "$SECONDS" -le "$end" ]; do
    [ "$(soc_count "$2" "$3")" -ge "$1" ] && return 0
    sleep 0.2
  done
  return 1
}

sc_soc() {
  local o=$guard_out p
  # Enough heartbeats for the SOC to learn the device's period.
  soc_wait 6 "device=$guard_device&type=guard.agent.heartbeat&limit=100" events || true
  bg_run dropper /opt/sim/sim_dropper 0
  fg_wait dropper
  soc_wait 1 "device=$guard_device&type=guard.exec.denied" events || true
  curl -fs --max-time 5 "$sc_api/api/v1/events?device=$guard_device&type=guard.exec.denied" \
    >"$o/soc-denied.json" || true
  # The agent dies at once, all of it, as when an attacker kills it.
  for p in $(guard_tree "$guard_pid"); do
    kill -KILL "$p" 2>/dev/null || true
  done
  wait "$guard_pid" 2>/dev/null || true
  guard_pid=
  date +%s >"$o/killed.at"
  soc_wait 1 "kind=no-response&device=$guard_device" findings || true
  date +%s >"$o/silence.at"
  curl -fs --max-time 5 "$sc_api/api/v1/findings?kind=no-response&device=$guard_device" \
    >"$o/soc-silence.json" || true
  curl -fs --max-time 5 "$sc_api/api/v1/events?device=$guard_device&limit=1000" \
    >"$o/soc-events.json" || true
}
guard_run sc_soc
o=$guard_out

rows='[.[] | arrays] | .[0] // []'
n=$(jq "$rows | length" "$o/soc-denied.json" 2>/dev/null || echo 0)
expect "denied execs at the SOC" "$n" 1
e=$(jq -c "$rows | .[0]" "$o/soc-denied.json")
expect "app_name" "$(jq -r .app_name <<<"$e")" mamorid
expect "msgid" "$(jq -r .msgid <<<"$e")" guard.exec.denied
expect "type" "$(jq -r .type <<<"$e")" guard.exec.denied
expect "hostname" "$(jq -r .hostname <<<"$e")" "$guard_device"
expect "device" "$(jq -r .device <<<"$e")" "$guard_device"
expect "transport" "$(jq -r .transport <<<"$e")" relp
# The SOC keeps a mamori event's JSON MSG parsed, as "data".
m=$(jq -c '.data // (.msg | fromjson)' <<<"$e")
expect "MSG's reason" "$(jq -r .reason <<<"$m")" volatile
expect "MSG's action" "$(jq -r .action <<<"$m")" denied
expect "MSG's file hash" "$(jq -r .file.sha256 <<<"$m")" "$(sha "$guard_sims/sim_dropper")"
expect "MSG's file" "$(jq -r .file.path <<<"$m")" /tmp/.sim_drop
# The same event in the local JSON lines.
expect_field --event guard.exec.denied file.sha256 "$(sha "$guard_sims/sim_dropper")"
echo "ok: the denied exec reached the SOC as mamorid's guard.exec.denied"

hb=$(jq "[$rows | .[] | select(.msgid == \"guard.agent.heartbeat\" and .app_name == \"mamorid\")] | length" \
  "$o/soc-events.json")
[ "$hb" -ge 6 ] || fail "heartbeats at the SOC: $hb, want at least 6"
n=$(jq "$rows | length" "$o/soc-silence.json" 2>/dev/null || echo 0)
expect "No Response findings for the device" "$n" 1
waited=$(($(cat "$o/silence.at") - $(cat "$o/killed.at")))
[ "$waited" -ge 2 ] || fail "No Response raised ${waited}s after the kill, before the deadline (2 x 2 s + 1 s)"
echo "ok: after kill -9 of mamorid the SOC found the device silent (${waited}s; $hb heartbeats before)"
