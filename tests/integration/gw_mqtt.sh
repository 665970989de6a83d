#!/usr/bin/env bash
# Checks that mamori-gw turns what a real mosquitto broker (password file,
# ACL, no anonymous clients) refuses into exact X.1367 records: a wrong
# password in MQTT 3.1.1 and in MQTT 5 (Authentication Failed), and an
# MQTT 5 publish at QoS 1 to a topic the ACL denies (PUBACK reason 0x87,
# Authorization Failed), each with the client's packet
# and the broker's answer as tcpdump saw them; good connections and
# publishes make no record; a client that published every 0.5 s and stopped
# makes one No Response record with Description Silence, the publisher as
# Responder and the broker as Requester. The SOC stores the same records.
#
# mosquitto 2.0 answers a wrong password with "not authorized" (3.1.1
# return code 5, MQTT 5 reason 0x87), not with "bad user name or password"
# (4, 0x86); to a CONNECT that carries a password, the sensor must still read
# it as the failed authentication it is: Authentication Failed (20), while
# the same 0x87 in a PUBACK is Authorization Failed (23).
set -euo pipefail
. "$(dirname "$0")/lib/gw.sh"
for t in mosquitto mosquitto_pub mosquitto_passwd; do
  command -v "$t" >/dev/null || fail "$t is not installed (scripts/deps.sh)"
done

gw_net_up
gw_soc_start
gw_capture_start

# ---- the broker: users alice and bob, each may publish only under its name ----
mosquitto_passwd -c -b "$tmp/passwd" alice alice-pw 2>/dev/null || fail "mosquitto_passwd"
mosquitto_passwd -b "$tmp/passwd" bob bob-pw 2>/dev/null || fail "mosquitto_passwd"
printf 'user alice\ntopic write alice/#\n\nuser bob\ntopic write bob/#\n' >"$tmp/acl"
# user root: mosquitto would otherwise drop to its own user, which may not
# read the test's private temporary folder.
cat >"$tmp/mosquitto.conf" <<EOF
per_listener_settings false
listener 1883 $gw_s
allow_anonymous false
password_file $tmp/passwd
acl_file $tmp/acl
persistence false
user root
log_dest stderr
log_type error
log_type warning
log_type notice
EOF
bg s mosq mosquitto -c "$tmp/mosquitto.conf"
mqtt_up() { in_c mosquitto_pub -h "$gw_s" -u alice -P alice-pw -t alice/up -m up 2>/dev/null; }
# The broker is up once a good publish works (before the sensor starts, so
# that it makes no record either way).
wait_for mqtt_up || fail "mosquitto did not start: $(cat "$tmp/mosq.err")"
gw_start

pub() { in_c mosquitto_pub -h "$gw_s" "$@" >>"$tmp/pub.out" 2>&1; }
pub -u alice -P wrong -t alice/t -m x && fail "MQTT 3.1.1 wrong password accepted"
pub -V mqttv5 -u alice -P wrong -t alice/t -m x && fail "MQTT 5 wrong password accepted"
pub -V mqttv5 -q 1 -u alice -P alice-pw -t bob/t -m x || true
grep -q "Publish 1 failed: Not authorized" "$tmp/pub.out" ||
  fail "the broker did not refuse alice's publish to bob/t: $(cat "$tmp/pub.out")"
pub -V mqttv5 -q 1 -u alice -P alice-pw -t alice/t -m good || fail "good MQTT 5 publish failed"
pub -q 1 -u bob -P bob-pw -t bob/t -m good || fail "good MQTT 3.1.1 publish failed"
echo "ok: mosquitto refused two wrong passwords and one publish, accepted the others"

# ---- a sensor publishing every 0.5 s that stops after 8 readings ----
bg c periodic bash -c "for i in 1 2 3 4 5 6 7 8; do
  mosquitto_pub -h $gw_s -u bob -P bob-pw -t bob/temperature -m \"21.\$i\" || exit 1
  sleep 0.5
done"
wait "$periodic_pid" || fail "the periodic publisher failed: $(cat "$tmp/periodic.err")"

wait_for records_at_least 4 || fail "mamori-gw printed $(records_count) records, want 4: $(gw_records)"
sleep 3
gw_stop
gw_capture_stop
[ "$(records_count)" = 4 ] || fail "$(records_count) records, want 4: $(gw_records)"

# ---- the oracle ----
hex() { awk '{print $9}' <<<"$1"; }
# The broker's answer matching $2 and the client's packet on the same
# connection whose hex starts with $3 (CONNECT 10, PUBLISH 32).
answer_and_request() {
  local resp cport
  resp=$(oracle_one "$1" "\$3 == \"$gw_s\" && \$4 == 1883 && \$9 ~ /$2/")
  cport=$(awk '{print $6}' <<<"$resp")
  req=$(oracle_one "request of $1" "\$3 == \"$gw_c\" && \$4 == $cport && \$6 == 1883 && \$9 ~ /^$3/")
  resp_hex=$(hex "$resp")
  req_hex=$(hex "$req")
  flow="$gw_c $cport -> $gw_s 1883/tcp"
}

answer_and_request "CONNACK 5" '^20020005$' 10
[[ "$req_hex" =~ ^10[0-9A-F]{2}00044D5154540[4] ]] || fail "oracle: not an MQTT 3.1.1 CONNECT: $req_hex"
rec=$(record_where '.Protocol == "MQTT 3.1.1" and ."Error Code" != "10"')
check_record "$rec" 20 "Authentication Failed" "MQTT 3.1.1" "$gw_c" "$req_hex" "$gw_s" "$resp_hex" "$flow"

answer_and_request "CONNACK 0x87" '^2003008700$' 10
[[ "$req_hex" =~ ^10[0-9A-F]{2}00044D51545405 ]] || fail "oracle: not an MQTT 5 CONNECT: $req_hex"
rec=$(record_where '.Protocol == "MQTT 5" and (.Responder."Transmitted Code" | startswith("20"))')
check_record "$rec" 20 "Authentication Failed" "MQTT 5" "$gw_c" "$req_hex" "$gw_s" "$resp_hex" "$flow"
echo "ok: both wrong passwords recorded with the CONNECT and CONNACK on the wire"

# PUBACK: type 4, remaining length 3, packet id, reason 0x87.
answer_and_request "PUBACK 0x87" '^4003....87$' 32
[ "${req_hex:4:14}" = "0005626F622F74" ] || fail "oracle: the denied PUBLISH is not to bob/t: $req_hex"
rec=$(record_where '.Protocol == "MQTT 5" and (.Responder."Transmitted Code" | startswith("40"))')
check_record "$rec" 23 "Authorization Failed" "MQTT 5" "$gw_c" "$req_hex" "$gw_s" "$resp_hex" "$flow"
echo "ok: the denied publish recorded as Authorization Failed with PUBLISH and PUBACK"

rec=$(record_where '."Error Code" == "10"')
check_record "$rec" 10 "No Response" "MQTT 3.1.1" "$gw_s" "" "$gw_c" ""
silence=$(jq -r '.Description.Silence // ""' <<<"$rec")
[[ "$silence" =~ ^no\ message\ for\ [0-9.]+\ s\;\ period\ [0-9.]+\ s\ learnt\ from\ 3\ intervals$ ]] ||
  fail "the silence record's Description Silence is '$silence': $rec"
[ "$(oracle "\$3 == \"$gw_c\" && \$6 == 1883 && \$9 ~ /^3.*626F622F74656D7065726174757265/" | wc -l)" = 8 ] ||
  fail "oracle: not 8 PUBLISH to bob/temperature"
echo "ok: the publisher that stopped recorded once as No Response, Description Silence"

soc_check 4
echo "ok: the SOC stored the same four records, received over RELP"
