#!/usr/bin/env bash
# Checks that mamori-gw, capturing on a veth, turns the exception responses
# of a libmodbus device into exact X.1367 records: a read of holding
# registers outside the map (exception 0x02 ILLEGAL DATA ADDRESS) becomes
# Invalid Argument (31) and an unknown function 0x41 (exception 0x01
# ILLEGAL FUNCTION) Invalid Command (30), each with both messages' bytes as
# tcpdump saw them, the addresses and the flow; the good read and write make
# no record; the SOC stores the same two records, received over RELP.
set -euo pipefail
. "$(dirname "$0")/lib/gw.sh"
for p in modbus_server modbus_client; do
  [ -x "$MAMORI_BIN/$p" ] || fail "no $MAMORI_BIN/$p"
done

gw_net_up
gw_soc_start
gw_capture_start
bg s mbs "$MAMORI_BIN/modbus_server" "$gw_s" 502
wait_for file_has "^listening" "$tmp/mbs.out" || fail "modbus_server did not start: $(cat "$tmp/mbs.err")"
gw_start

in_c "$MAMORI_BIN/modbus_client" "$gw_s" 502 >"$tmp/client.out" 2>"$tmp/client.err" ||
  fail "modbus_client failed: $(cat "$tmp/client.out" "$tmp/client.err")"
want_client="read 0 4 ok 100 101 102 103
write 1 42 ok
read 1000 2 exception 02
raw 41 exception 01"
[ "$(cat "$tmp/client.out")" = "$want_client" ] ||
  fail "modbus_client got: $(cat "$tmp/client.out")"
echo "ok: the device answered the good requests and sent exceptions 02 and 01"

wait_for records_at_least 2 || fail "mamori-gw printed $(records_count) records, want 2"
# Longer than the request timeout (2 s): a request left unpaired would now
# have become a No Response record.
sleep 3
gw_stop
gw_capture_stop
[ "$(records_count)" = 2 ] || fail "$(records_count) records, want 2: $(gw_records)"

# The oracle: the exception responses (MBAP length 3, unit 1, function |
# 0x80, the exception code) and the requests with the same transaction id
# on the same connection.
# (awk may be mawk, which has no {n} in regular expressions.)
resp02=$(oracle_one "exception 02" "\$3 == \"$gw_s\" && \$4 == 502 && length(\$9) == 18 &&
  substr(\$9, 5) == \"00000003018302\"")
resp01=$(oracle_one "exception 01" "\$3 == \"$gw_s\" && \$4 == 502 && length(\$9) == 18 &&
  substr(\$9, 5) == \"0000000301C101\"")
request_of() { # the request with the response's transaction id, function $2
  local r=$1 tid cport
  tid=$(cut -c1-4 <<<"$(awk '{print $9}' <<<"$r")")
  cport=$(awk '{print $6}' <<<"$r")
  oracle_one "request $tid" "\$3 == \"$gw_c\" && \$4 == $cport && \$5 == \"$gw_s\" && \$6 == 502 &&
    substr(\$9, 1, 4) == \"$tid\" && substr(\$9, 15, 2) == \"$2\""
}
req02=$(request_of "$resp02" 03)
req01=$(request_of "$resp01" 41)
hex() { awk '{print $9}' <<<"$1"; }
cport=$(awk '{print $4}' <<<"$req02")
[[ "$(hex "$req02")" =~ ^[0-9A-F]{4}000000060103 ]] || fail "oracle: unexpected request $req02"
[ "$(hex "$req02" | cut -c15-)" = 0303E80002 ] || fail "oracle: the read is not at 1000: $req02"
[ "$(hex "$req01" | cut -c15-)" = 410001 ] || fail "oracle: the raw request is not function 41: $req01"
flow="$gw_c $cport -> $gw_s 502/tcp"

rec=$(record_where '."Error Code" == "31"')
check_record "$rec" 31 "Invalid Argument" "Modbus/TCP" "$gw_c" "$(hex "$req02")" \
  "$gw_s" "$(hex "$resp02")" "$flow"
rec=$(record_where '."Error Code" == "30"')
check_record "$rec" 30 "Invalid Command" "Modbus/TCP" "$gw_c" "$(hex "$req01")" \
  "$gw_s" "$(hex "$resp01")" "$flow"
echo "ok: two records, Invalid Argument and Invalid Command, with the bytes on the wire"

soc_check 2
echo "ok: the SOC stored the same two records, received over RELP"
