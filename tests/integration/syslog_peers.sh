#!/usr/bin/env bash
# Checks that `mamori syslog parse` reads what real syslog peers write: RFC 5424
# with structured data from util-linux logger in octet-counted TCP frames, and
# rsyslogd's forwarded RFC 5424 (octet-counted) and RFC 3164 (LF-framed)
# streams, field by field against what was sent.
#
# Everything listens on 127.0.0.1 ports picked at random and checked free in
# /proc/net/tcp; every wait is a bounded poll. Needs MAMORI_BIN (the directory
# of the mamori binary), logger, socat and rsyslogd (scripts/deps.sh).
set -euo pipefail

. "$(dirname "$0")/lib/peers.sh"
for t in logger socat; do
  command -v "$t" >/dev/null || { echo "FAIL: $t is not installed (scripts/deps.sh)" >&2; exit 1; }
done

# Starts a one-connection socat capture of TCP into file $1 and prints its
# port; the socat pid goes to $tmp/$2.pid. Retries on another port if the
# bind fails.
start_capture() {
  local file=$1 name=$2 port pid try
  for try in 1 2 3 4 5; do
    port=$(pick_port)
    socat -u "TCP-LISTEN:$port,reuseaddr,bind=127.0.0.1" "OPEN:$file,creat" >/dev/null \
      2>>"$tmp/$name.err" &
    pid=$!
    if wait_for port_listening "$port"; then
      echo "$pid" >"$tmp/$name.pid"
      echo "$port"
      return 0
    fi
    kill "$pid" 2>/dev/null || true
  done
  fail "socat capture $name could not listen"
}

# The JSON line of the message carrying marker $2 in file $1 must hold each
# further argument as a literal substring.
expect() {
  local file=$1 marker=$2 line n
  shift 2
  line=$(grep -F -- "$marker" "$file") || fail "no parsed message with $marker in $file:
$(cat "$file")"
  [ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || fail "more than one line with $marker"
  for n in "$@"; do
    [[ $line == *"$n"* ]] || fail "$marker: missing $n in
$line"
  done
}

host_full=$(uname -n)
host_short=${host_full%%.*}
hostname_ok() {
  grep -F -- "$2" "$1" | grep -qF -e "\"hostname\":\"$host_full\"" -e "\"hostname\":\"$host_short\""
}

# ---- (a) logger -> socat: RFC 5424, structured data, octet counting ----

cap_a="$tmp/logger.cap"
port_a=$(start_capture "$cap_a" logger)
pids+=("$(cat "$tmp/logger.pid")")
# One connection carries both messages, so socat ends when logger does.
{
  printf '%s\n' 'five "424" é marker-a1'
  printf '%s\n' 'plain marker-a2'
} >"$tmp/a.lines"
logger -T -n 127.0.0.1 -P "$port_a" --rfc5424 --octet-count -p local3.warning -t myapp \
  --id=4242 --msgid MID42 --sd-id 'test@32473' --sd-param 'k="a\"b\\c\]d"' \
  --sd-param 'u="caf€ ok"' -f "$tmp/a.lines"
wait_for bash -c "! kill -0 $(cat "$tmp/logger.pid") 2>/dev/null" ||
  fail "logger capture did not end"
[ -s "$cap_a" ] || fail "logger sent nothing"
# The capture is octet-counted: "LEN SP MSG" back to back, no LF.
head -c 4 "$cap_a" | grep -Eq '^[1-9][0-9]* ' || fail "capture is not octet-counted"

"$mamori" syslog parse --framing octet "$cap_a" >"$tmp/a.json" ||
  fail "mamori syslog parse failed on the logger capture: $(cat "$tmp/a.json")"
[ "$(wc -l <"$tmp/a.json")" -eq 2 ] || fail "expected 2 messages: $(cat "$tmp/a.json")"
expect "$tmp/a.json" marker-a1 '"frame":1,' '"format":"rfc5424"' '"pri":156' '"facility":19' \
  '"severity":4' '"version":1' '"app_name":"myapp"' '"procid":"4242"' '"msgid":"MID42"' \
  '"test@32473":{"k":"a\"b\\c]d","u":"caf€ ok"}' '"timeQuality":{' \
  '"msg":"five \"424\" é marker-a1"' '"msg_bom":false' '"quirks":[]' '"frac_digits":6'
expect "$tmp/a.json" marker-a2 '"frame":2,' '"msg":"plain marker-a2"' '"app_name":"myapp"'
hostname_ok "$tmp/a.json" marker-a1 || fail "hostname is not $host_full: $(cat "$tmp/a.json")"
# Parsed strictly, the same stream still passes; read as LF lines it does not
# split into the two messages.
"$mamori" syslog parse --framing octet --only-5424 "$cap_a" >/dev/null ||
  fail "--only-5424 refused logger's RFC 5424"
[ "$("$mamori" syslog parse --framing lf "$cap_a" | wc -l)" -eq 1 ] ||
  fail "an octet-counted capture read as one LF line should be one frame"

# ---- (b) logger -> rsyslogd -> socat: forwarded RFC 5424 and RFC 3164 ----

cap_5424="$tmp/rsyslog-5424.cap"
cap_3164="$tmp/rsyslog-3164.cap"
port_5424=$(start_capture "$cap_5424" fwd5424)
pids+=("$(cat "$tmp/fwd5424.pid")")
port_3164=$(start_capture "$cap_3164" fwd3164)
pids+=("$(cat "$tmp/fwd3164.pid")")
port_in=$(pick_port)
mkdir -p "$tmp/work"
cat >"$tmp/rsyslog.conf" <<EOF
global(workDirectory="$tmp/work")
module(load="imptcp")
input(type="imptcp" address="127.0.0.1" port="$port_in" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="$port_5424" protocol="tcp"
         TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" target="127.0.0.1" port="$port_3164" protocol="tcp"
         template="RSYSLOG_TraditionalForwardFormat")
}
EOF
rsyslogd -n -f "$tmp/rsyslog.conf" -i "$tmp/rsyslogd.pid" >"$tmp/rsyslogd.log" 2>&1 &
pids+=("$!")
wait_for port_listening "$port_in" || fail "rsyslogd did not listen: $(cat "$tmp/rsyslogd.log")"

logger -T -n 127.0.0.1 -P "$port_in" --rfc5424 --octet-count -p local3.warning -t myapp \
  --id=4242 --msgid MID42 --sd-id 'test@32473' --sd-param 'k="a\"b\\c\]d"' \
  'five "424" é marker-b1'
logger -T -n 127.0.0.1 -P "$port_in" --rfc3164 -p mail.err -t oldapp --id=77 \
  'three one six four marker-b2'

# Both streams are complete when both markers parse out of them.
parsed_both() {
  "$mamori" syslog parse --framing "$1" "$2" >"$3" 2>/dev/null || true
  grep -qF marker-b1 "$3" && grep -qF marker-b2 "$3"
}
wait_for parsed_both octet "$cap_5424" "$tmp/b5424.json" ||
  fail "rsyslog's RFC 5424 stream: $(cat "$tmp/b5424.json"; cat "$tmp/rsyslogd.log")"
wait_for parsed_both lf "$cap_3164" "$tmp/b3164.json" ||
  fail "rsyslog's RFC 3164 stream: $(cat "$tmp/b3164.json"; cat "$tmp/rsyslogd.log")"
"$mamori" syslog parse --framing octet "$cap_5424" >/dev/null || fail "errors in $cap_5424"
"$mamori" syslog parse --framing lf "$cap_3164" >/dev/null || fail "errors in $cap_3164"
[ "$(wc -l <"$tmp/b5424.json")" -eq 2 ] || fail "5424 stream: $(cat "$tmp/b5424.json")"
[ "$(wc -l <"$tmp/b3164.json")" -eq 2 ] || fail "3164 stream: $(cat "$tmp/b3164.json")"

# RSYSLOG_SyslogProtocol23Format ends every message with LF inside its count,
# so MSG keeps it; a 3164 original's MSG keeps the space after its tag.
expect "$tmp/b5424.json" marker-b1 '"format":"rfc5424"' '"pri":156' '"app_name":"myapp"' \
  '"procid":"4242"' '"msgid":"MID42"' '"test@32473":{"k":"a\"b\\c]d"}' \
  '"msg":"five \"424\" é marker-b1\n"'
expect "$tmp/b5424.json" marker-b2 '"format":"rfc5424"' '"pri":19' '"app_name":"oldapp"' \
  '"procid":"77"' '"msgid":null' '"structured_data":{}' \
  '"msg":" three one six four marker-b2\n"'
# RSYSLOG_TraditionalForwardFormat: "<PRI>Mmm dd hh:mm:ss HOST TAG MSG", LF-framed;
# a 5424 original's tag is "myapp[4242]" without a colon.
expect "$tmp/b3164.json" marker-b1 '"format":"rfc3164"' '"pri":156' '"version":null' \
  '"app_name":"myapp"' '"procid":"4242"' '"structured_data":null' \
  '"msg":"five \"424\" é marker-b1"' '"quirks":[]' '"time":{"month":'
expect "$tmp/b3164.json" marker-b2 '"format":"rfc3164"' '"pri":19' '"app_name":"oldapp"' \
  '"procid":"77"' '"msg":"three one six four marker-b2"' '"quirks":[]'
for f in b5424 b3164; do
  for mk in marker-b1 marker-b2; do
    hostname_ok "$tmp/$f.json" "$mk" || fail "$f $mk: hostname is not $host_full"
  done
done

echo "ok: logger and rsyslogd streams parsed field by field"
