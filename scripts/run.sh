#!/usr/bin/env bash
# `make run`: what mamori can do today, on the sample records and tables that
# ship in data/. Each step prints the command it runs, then its output.
set -uo pipefail
bin=${1:-build/bin}
root=$(cd "$(dirname "$0")/.." && pwd)
m="$bin/mamori"
s="$root/data/samples"

step() {
  printf '\n\033[1m$ %s\033[0m\n' "$*"
  "$@"
  printf '(exit %d)\n' $?
}

cd "$root"
echo "mamori $("$m" --version | cut -d' ' -f2): the X.1367 standard IoT error log, syslog parsing, vendor code mapping"
step "$m" x1367 codes
step "$m" x1367 codes 13 E3 21
echo
echo "# The two records published with the standard carry trailing commas: strict mode"
echo "# says where; lenient mode accepts them and marks what it forgave."
step "$m" x1367 validate data/samples/x1367-example-1.json data/samples/x1367-example-2.json
step "$m" x1367 validate --lenient --print data/samples/x1367-example-1.json data/samples/x1367-example-2.json
echo
echo "# JSON lines, one record per line; unassigned and private codes are kept and labelled."
step "$m" x1367 validate data/samples/x1367-records.jsonl
step "$m" x1367 validate data/samples/x1367-invalid.jsonl
echo
echo "# A vendor's proprietary code, mapped with its mapping table (mamori-errmap(5))."
step "$m" x1367 map --table data/errmap/modbus.map --protocol Modbus/TCP --code 0x02
step "$m" x1367 map --table data/errmap/abc.map --protocol "ABC company protocol" --vendor "ABC Corp" --code 0x000003FF
echo
echo "# A gateway script makes a record: an attacker's malformed request, refused."
step "$m" x1367 build --pretty --time 2018-08-28T09:34:55.0Z --reporter-ip 192.168.2.11 \
  --protocol "ABC company protocol" --requester-id 0000 --request 010000013A459187F43CDDE5 \
  --responder-id 0001 --response 000003FF --table data/errmap/abc.map --vendor "ABC Corp" \
  --vendor-code 0x000003FF
echo
echo "# Syslog as it arrives: RFC 5424 (with an X.1367 record as MSG) and RFC 3164 variants."
step "$m" syslog parse data/samples/syslog-5424.log
echo
echo "# Sending: the sample records go through the spool to a real rsyslogd over RELP,"
echo "# each acknowledged; rsyslog writes what it received (MSGID, then MSG)."
if command -v rsyslogd >/dev/null; then
  demo=$(mktemp -d /tmp/mamori-run.XXXXXX)
  port=$((30000 + RANDOM % 20000))
  mkdir -p "$demo/work"
  cat >"$demo/rsyslog.conf" <<CONF
global(workDirectory="$demo/work")
module(load="imrelp")
input(type="imrelp" address="127.0.0.1" port="$port" ruleset="out")
template(name="msgonly" type="string" string="%msgid% %msg%\n")
ruleset(name="out" queue.type="Direct") { action(type="omfile" file="$demo/received" template="msgonly") }
CONF
  rsyslogd -n -f "$demo/rsyslog.conf" -i "$demo/pid" >"$demo/log" 2>&1 &
  rpid=$!
  for _ in $(seq 1 50); do
    grep -q ":$(printf '%04X' "$port") 00000000:0000 0A" /proc/net/tcp && break
    sleep 0.1
  done
  step "$m" send --to "relp://127.0.0.1:$port" --stats 0 data/samples/x1367-records.jsonl
  step cut -c1-110 "$demo/received"
  kill "$rpid" 2>/dev/null
  wait "$rpid" 2>/dev/null
  rm -rf "$demo"
else
  echo "(rsyslogd is not installed; scripts/deps.sh installs it)"
fi
