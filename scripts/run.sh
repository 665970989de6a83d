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
echo "# The SOC: mamori-soc stores into SQLite and listens on its defaults (UDP and TCP"
echo "# 127.0.0.1:5514, RELP 127.0.0.1:2514, API http://127.0.0.1:8514). The sample records"
echo "# go to it through the spool over RELP, each acknowledged once it is stored."
soc="$bin/mamori-soc"
state=$(mktemp -d /tmp/mamori-run.XXXXXX)
"$soc" -d --state "$state" &
spid=$!
trap 'kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; rm -rf "$state"' EXIT
for _ in $(seq 1 100); do
  curl -fs -o /dev/null http://127.0.0.1:8514/health && break
  kill -0 "$spid" 2>/dev/null || { echo "mamori-soc did not start (are its ports in use?)"; exit 1; }
  sleep 0.1
done
step "$m" send --to relp://127.0.0.1:2514 --spool "$state/spool" --stats 0 data/samples/x1367-records.jsonl
step "$m" query events --limit 5
echo
echo "# One attacker (203.0.113.66) provokes errors from an MQTT device and a Modbus"
echo "# device behind two gateways: mamori-soc opens one incident that links both."
now=$(date -u +%Y-%m-%dT%H:%M:%S.0Z)
for r in "192.0.2.10 MQTT 20 Authentication Failed" "192.0.2.11 Modbus/TCP 31 Invalid Argument"; do
  set -- $r
  rep=$1 proto=$2 code=$3
  shift 3
  printf '{"Timestamp":"%s","Reporter":{"IP Address":"%s"},"Protocol":"%s","Requester":{"IP Address":"203.0.113.66","Transmitted Code":"00"},"Responder":{"IP Address":"192.0.2.100","Transmitted Code":"00"},"Error Code":"%s","Error Message":"%s","Description":{}}\n' \
    "$now" "$rep" "$proto" "$code" "$*"
done >"$state/attack.jsonl"
step "$m" send --to relp://127.0.0.1:2514 --spool "$state/spool" --stats 0 "$state/attack.jsonl"
sleep 1.5
step "$m" query incidents
echo
echo "# The gateway sensor: mamori-gw reads a capture of an IoT LAN (MQTT, Modbus/TCP,"
echo "# CoAP, ECHONET Lite, HTTP; written by bench/gen_pcap), pairs each request with its"
echo "# response, and sends the errors as X.1367 records to mamori-soc over RELP."
"$bin/gen_pcap" mixed -n 3000 -o "$state/lan.pcap" 2>/dev/null
printf '\n\033[1m$ %s\033[0m\n' "$bin/mamori-gw -r $state/lan.pcap --soc relp://127.0.0.1:2514 --spool $state/gw-spool | head -3"
"$bin/mamori-gw" -r "$state/lan.pcap" --soc relp://127.0.0.1:2514 --spool "$state/gw-spool" \
  >"$state/lan.jsonl" 2>"$state/gw.log"
echo "(exit $?)"
head -3 "$state/lan.jsonl"
echo "... $(wc -l <"$state/lan.jsonl") records; $(grep -o 'records [0-9]* ([^)]*)' "$state/gw.log")"
sleep 1
step "$m" query events --protocol Modbus/TCP --limit 3
echo
echo "mamori-soc keeps running (pid $spid, store $state/soc.db). Try:"
echo "  logger -n 127.0.0.1 -P 5514 -d --rfc5424 --msgid hello 'hello, SOC'"
echo "  $m query events --limit 5"
echo "  curl -s http://127.0.0.1:8514/metrics | head"
echo "Ctrl-C stops it."
wait "$spid"
