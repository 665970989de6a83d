#!/usr/bin/env bash
# Checks that mamori-trap's events reach a real mamori-soc over RELP: a
# failed login, a successful one and a command are stored as the events
# trap.login.failed, trap.login.success and trap.command.input (APP-NAME
# mamori-trap, the user name, password and input in their JSON), and the
# failure also as a strict X.1367 record (MSGID X1367, Error Code 0x20
# "Authentication Failed", Protocol Telnet, Requester the attacker's
# address); what the SOC acknowledged is stored once. Then, with the SOC
# stopped, a second failed login and command go to the spool, the trap is
# killed with SIGKILL, the SOC and the trap are started again on the same
# folders, and those events arrive: kill -9 loses nothing.
set -euo pipefail
. "$(dirname "$0")/lib/trap.sh"
. "$trap_lib/soc.sh"

relp=$(pick_port)
device="trap-it-$$"
cat >"$tmp/soc.conf" <<EOF
[soc]
store = sqlite:$tmp/soc.db
listen = relp://127.0.0.1:$relp
EOF
"$soc_bin" -n -f "$tmp/soc.conf" >"$tmp/soc-check.out" 2>&1 ||
  fail "mamori-soc -n refused the config: $(cat "$tmp/soc-check.out")"
start_soc soc -f "$tmp/soc.conf"
api_base=$soc_api
trap_pairs=("soc.url=relp://127.0.0.1:$relp" "soc.hostname=$device" "soc.spool_sync=always"
  "login.delay_ms=100")
trap_start t dvr-arm "${trap_pairs[@]}"

# stored QUERY: the SOC's events for the query, as a JSON array.
stored() { events "$api_base" "$1&limit=1000"; }
stored_n() { stored "$1" | jq length; }
stored_at_least() { [ "$(stored_n "$1")" -ge "$2" ]; }
# data_with TYPE JQ-CONDITION: the stored events of TYPE whose parsed JSON
# MSG matches.
data_with() {
  stored "device=$device&type=$1" | jq -c "[.[] | (.data // (.msg | fromjson)) as \$d |
    select(\$d | $2)]"
}
data_n() { data_with "$1" "$2" | jq length; }
data_at_least() { [ "$(data_n "$1" "$2")" -ge "$3" ]; }

# ---- the SOC up: a failed login, a login, a command ----
out=$(telnet_run "$t_port" -u root -P soc-wrong-1)
expect "wrong password" "$(jq -r .login <<<"$out")" false
out=$(telnet_run "$t_port" -u root -P xc3511 "echo soc-token-1")
expect "login root/xc3511" "$(jq -r .login <<<"$out")" true
expect "echo" "$(telnet_out "$out" 0)" soc-token-1

wait_for data_at_least trap.login.failed '.password == "soc-wrong-1"' 1 ||
  fail "trap.login.failed did not reach the SOC: $(stored "device=$device" | jq -c 'map(.type)')"
wait_for data_at_least trap.command.input '.input == "echo soc-token-1"' 1 ||
  fail "trap.command.input did not reach the SOC: $(stored "device=$device" | jq -c 'map(.type)')"
wait_for data_at_least trap.login.success '.username == "root" and .password == "xc3511"' 1 ||
  fail "trap.login.success did not reach the SOC"
ev=$(stored "device=$device&type=trap.login.failed" | jq -c '.[0]')
expect "app_name of trap.login.failed" "$(jq -r .app_name <<<"$ev")" mamori-trap
expect "msgid of trap.login.failed" "$(jq -r .msgid <<<"$ev")" trap.login.failed
expect "transport" "$(jq -r .transport <<<"$ev")" relp
d=$(jq -c '.data // (.msg | fromjson)' <<<"$ev")
expect "the event's username" "$(jq -r .username <<<"$d")" root
expect "the event's eventid" "$(jq -r .eventid <<<"$d")" cowrie.login.failed
expect "the event's src_ip" "$(jq -r .src_ip <<<"$d")" 127.0.0.1
echo "ok: trap.login.failed, trap.login.success and trap.command.input reached the SOC"

# The X.1367 record of the failure.
x1367_n() { stored_n "kind=x1367&code=20&requester=127.0.0.1"; }
x1367_at_least() { [ "$(x1367_n)" -ge "$1" ]; }
wait_for x1367_at_least 1 || fail "no X.1367 Authentication Failed record at the SOC: $(stored 'kind=x1367' | jq -c .)"
rec=$(stored "kind=x1367&code=20&requester=127.0.0.1" | jq -c '.[0]')
expect "X.1367 msgid" "$(jq -r .msgid <<<"$rec")" X1367
expect "X.1367 app_name" "$(jq -r .app_name <<<"$rec")" mamori-trap
expect "X.1367 lenient" "$(jq -r .lenient <<<"$rec")" false
r=$(jq -c .record <<<"$rec")
# The standard writes the code in hexadecimal without a prefix.
expect "Error Code" "$(jq -r '."Error Code"' <<<"$r")" 20
expect "Error Message" "$(jq -r '."Error Message"' <<<"$r")" "Authentication Failed"
expect "Protocol" "$(jq -r .Protocol <<<"$r")" Telnet
expect "Requester IP" "$(jq -r '.Requester."IP Address"' <<<"$r")" 127.0.0.1
jq -e '.Responder | type == "object" and length > 0' <<<"$r" >/dev/null ||
  fail "the record has no Responder: $r"
echo "ok: the failure is an X.1367 Authentication Failed record: $r"

# What was acknowledged is stored once.
expect "trap.login.failed stored" "$(data_n trap.login.failed '.password == "soc-wrong-1"')" 1
expect "command stored" "$(data_n trap.command.input '.input == "echo soc-token-1"')" 1

# ---- the SOC down: spooled; kill -9; both back ----
kill -TERM "$soc_pid"
st=0
wait "$soc_pid" || st=$?
[ "$st" = 0 ] || fail "mamori-soc ended with $st on SIGTERM: $(tail -n 5 "$tmp/soc.log")"
out=$(telnet_run "$t_port" -u root -P soc-wrong-2)
expect "second wrong password" "$(jq -r .login <<<"$out")" false
out=$(telnet_run "$t_port" -u root -P xc3511 "echo soc-token-2")
expect "echo while the SOC is down" "$(telnet_out "$out" 0)" soc-token-2
# Written to the events file, hence handed to the spool (one write per line,
# the spool synced on every record): the order the daemon keeps.
wait_for events_at_least "$t_dir" '.eventid == "cowrie.command.input" and .input == "echo soc-token-2"' 1 ||
  fail "the second command is not in the events file"
sleep 0.5
spooled=$(find "$t_dir/spool" -type f 2>/dev/null | wc -l)
kill -KILL "$t_pid"
wait "$t_pid" 2>/dev/null || true
echo "ok: the SOC stopped, two events made, the trap killed (spool files: $spooled)"

start_soc soc -f "$tmp/soc.conf"
api_base=$soc_api
trap_start t dvr-arm "${trap_pairs[@]}"
wait_for data_at_least trap.login.failed '.password == "soc-wrong-2"' 1 ||
  fail "the spooled trap.login.failed never arrived after kill -9 and restart"
wait_for data_at_least trap.command.input '.input == "echo soc-token-2"' 1 ||
  fail "the spooled trap.command.input never arrived after kill -9 and restart"
wait_for x1367_at_least 2 || fail "the second X.1367 record never arrived: $(x1367_n) records"
expect "first failure, still once" "$(data_n trap.login.failed '.password == "soc-wrong-1"')" 1
echo "ok: after kill -9 the spooled events reached the SOC"
trap_stop t
echo "trap_soc: all checks passed"
