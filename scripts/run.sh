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
