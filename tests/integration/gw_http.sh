#!/usr/bin/env bash
# Checks that mamori-gw turns HTTP error responses into exact X.1367
# records, over IPv4 and IPv6: curl's GET of /secret answered 401 with
# WWW-Authenticate becomes Authentication Failed (20) and a GET of /boom
# over IPv6 answered 500 Device Failed (41), as data/errmap/http.map says,
# each with the request and the whole response (head and body) as tcpdump
# saw them, the addresses and the flow; a GET answered 200 makes no record;
# the SOC stores the same two records, received over RELP.
set -euo pipefail
. "$(dirname "$0")/lib/gw.sh"
peer="$gw_src/tests/peers/http_peer.py"
[ -f "$peer" ] || fail "no $peer"

gw_net_up
gw_soc_start
gw_capture_start
bg s http python3 "$peer" 8080 "$gw_s" "$gw_s6"
wait_for file_has "^ready" "$tmp/http.out" || fail "http_peer.py did not start: $(cat "$tmp/http.err")"
gw_start

code() { curl -s -o /dev/null --max-time 10 -w '%{http_code}' "$1"; }
[ "$(code "http://$gw_s:8080/secret")" = 401 ] || fail "GET /secret did not get 401"
[ "$(code "http://[$gw_s6]:8080/boom")" = 500 ] || fail "GET /boom over IPv6 did not get 500"
[ "$(code "http://$gw_s:8080/")" = 200 ] || fail "GET / did not get 200"
[ "$(code "http://[$gw_s6]:8080/")" = 200 ] || fail "GET / over IPv6 did not get 200"
echo "ok: the device answered 401, 500 (IPv6) and 200 twice"

wait_for records_at_least 2 || fail "mamori-gw printed $(records_count) records, want 2: $(gw_records)"
sleep 3
gw_stop
gw_capture_stop
[ "$(records_count)" = 2 ] || fail "$(records_count) records, want 2: $(gw_records)"

# The oracle: the response by its status line, the request on the same
# connection by its request line.
hex() { awk '{print $9}' <<<"$1"; }
ascii_hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n' | tr a-f A-F; }
pair() { # DESCRIPTION SERVER CLIENT STATUS-LINE REQUEST-LINE
  local resp cport
  resp=$(oracle_one "$1" "\$3 == \"$2\" && \$4 == 8080 && index(\$9, \"$(ascii_hex "$4")\") == 1")
  cport=$(awk '{print $6}' <<<"$resp")
  req=$(oracle_one "request of $1" "\$3 == \"$3\" && \$4 == $cport && \$6 == 8080 &&
    index(\$9, \"$(ascii_hex "$5")\") == 1")
  resp_hex=$(hex "$resp")
  req_hex=$(hex "$req")
  flow="$3 $cport -> $2 8080/tcp"
}

pair "401" "$gw_s" "$gw_c" "HTTP/1.1 401 Unauthorized" "GET /secret HTTP/1.1"
# The whole response is in the one segment: it ends with the body.
[[ "$resp_hex" == *"$(ascii_hex "login required")"0A ]] || fail "oracle: the 401 segment is not the whole response"
rec=$(record_where '."Error Code" == "20"')
check_record "$rec" 20 "Authentication Failed" "HTTP" "$gw_c" "$req_hex" "$gw_s" "$resp_hex" "$flow"
echo "ok: 401 recorded as Authentication Failed with the request and response on the wire"

pair "500" "$gw_s6" "$gw_c6" "HTTP/1.1 500 Internal Server Error" "GET /boom HTTP/1.1"
rec=$(record_where '."Error Code" == "41"')
check_record "$rec" 41 "Device Failed" "HTTP" "$gw_c6" "$req_hex" "$gw_s6" "$resp_hex" "$flow"
echo "ok: 500 over IPv6 recorded as Device Failed with IPv6 addresses and the bytes on the wire"

soc_check 2
echo "ok: the SOC stored the same two records, received over RELP"
