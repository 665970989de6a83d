#!/usr/bin/env bash
# Checks that mamori-gw turns CoAP error responses of a real libcoap server
# into exact X.1367 records: a GET of a resource that does not exist (4.04)
# becomes Invalid Argument (31) and a method the resource does not allow
# (POST to /, 4.05) Invalid Command (30), as data/errmap/coap.map says, each
# with the request and the piggybacked response as tcpdump saw them (paired
# by message id and token), the addresses and the flow; a good GET of /time
# makes no record; the SOC stores the same two records, received over RELP.
set -euo pipefail
. "$(dirname "$0")/lib/gw.sh"
coap_server=$(command -v coap-server-notls || command -v coap-server || true)
coap_client=$(command -v coap-client-notls || command -v coap-client || true)
[ -n "$coap_server" ] && [ -n "$coap_client" ] || fail "coap-server/coap-client missing (libcoap3-bin)"

gw_net_up
gw_soc_start
gw_capture_start
bg s coap "$coap_server" -A "$gw_s" -v 0
coap_up() { in_c "$coap_client" -B 1 -m get "coap://$gw_s/time" >/dev/null 2>&1; }
wait_for coap_up || fail "coap-server did not answer: $(cat "$tmp/coap.err")"
gw_start

get() { in_c "$coap_client" -B 2 "$@" 2>&1; }
out=$(get -m get "coap://$gw_s/no-such-resource") || true
[ "$out" = "4.04 Not Found" ] || fail "GET /no-such-resource: $out"
out=$(get -m post -e reading "coap://$gw_s/") || true
[ "$out" = "4.05 Method Not Allowed" ] || fail "POST /: $out"
out=$(get -m get "coap://$gw_s/time") || fail "GET /time failed: $out"
[[ "$out" =~ [0-9]{2}:[0-9]{2}:[0-9]{2} ]] || fail "GET /time: $out"
echo "ok: coap-server answered 4.04, 4.05 and the time"

wait_for records_at_least 2 || fail "mamori-gw printed $(records_count) records, want 2: $(gw_records)"
sleep 3
gw_stop
gw_capture_stop
[ "$(records_count)" = 2 ] || fail "$(records_count) records, want 2: $(gw_records)"

# The oracle: the response by its code (second byte: 0x84 is 4.04, 0x85
# 4.05), the request from the same client port with the same message id
# (bytes 3-4) and token (the response is piggybacked in the ACK).
hex() { awk '{print $9}' <<<"$1"; }
pair() { # DESCRIPTION CODE-HEX METHOD-HEX
  local resp cport mid tkl
  resp=$(oracle_one "$1" "\$3 == \"$gw_s\" && \$4 == 5683 && substr(\$9, 3, 2) == \"$2\"")
  cport=$(awk '{print $6}' <<<"$resp")
  resp_hex=$(hex "$resp")
  mid=${resp_hex:4:4}
  tkl=$((16#${resp_hex:1:1}))
  req=$(oracle_one "request of $1" "\$3 == \"$gw_c\" && \$4 == $cport && \$6 == 5683 &&
    substr(\$9, 3, 2) == \"$3\" && substr(\$9, 5, 4) == \"$mid\"")
  req_hex=$(hex "$req")
  [ "${req_hex:8:$((tkl * 2))}" = "${resp_hex:8:$((tkl * 2))}" ] ||
    fail "oracle: request and response of $1 have different tokens: $req_hex $resp_hex"
  flow="$gw_c $cport -> $gw_s 5683/udp"
}

pair "4.04" 84 01
rec=$(record_where '."Error Code" == "31"')
check_record "$rec" 31 "Invalid Argument" "CoAP" "$gw_c" "$req_hex" "$gw_s" "$resp_hex" "$flow"
echo "ok: 4.04 recorded as Invalid Argument with the GET and the response on the wire"

pair "4.05" 85 02
rec=$(record_where '."Error Code" == "30"')
check_record "$rec" 30 "Invalid Command" "CoAP" "$gw_c" "$req_hex" "$gw_s" "$resp_hex" "$flow"
echo "ok: 4.05 recorded as Invalid Command with the POST and the response on the wire"

soc_check 2
echo "ok: the SOC stored the same two records, received over RELP"
