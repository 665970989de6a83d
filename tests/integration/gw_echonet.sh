#!/usr/bin/env bash
# Checks that mamori-gw turns ECHONET Lite's "not possible" responses, a
# request that gets no answer and a device whose INF stops into exact X.1367
# records: a Get of an unknown property (Get_SNA, 0x52) and a SetC of a
# read-only one (SetC_SNA, 0x51) become Invalid Argument (31) with both
# frames' bytes as tcpdump saw them; a Get the device never answers becomes
# No Response (10) with the request's bytes, an empty Responder Transmitted
# Code and Description Timeout after --timeout; a second device that sent
# INF of its temperature every 300 ms and stopped becomes one No Response
# record with empty Transmitted Codes and Description Silence, the device as
# Responder. The good Get makes no record; the SOC stores the same records.
set -euo pipefail
. "$(dirname "$0")/lib/gw.sh"
peer="$MAMORI_BIN/echonet_peer"
[ -x "$peer" ] || fail "no $peer"

gw_net_up
gw_soc_start
gw_capture_start
# The device the controller asks; it never answers requests for EPC 0x88.
bg s dev "$peer" device "$gw_s" --ignore 0x88
wait_for file_has "^ready" "$tmp/dev.out" || fail "echonet device did not start: $(cat "$tmp/dev.err")"
gw_start

# The sensor that reports on its own: 6 INF 300 ms apart, then silence.
bg s inf "$peer" device "$gw_s2" --inf-period 300 --inf-to "$gw_c" --count 6
in_c "$peer" controller "$gw_s" --ignore 0x88 --wait 500 >"$tmp/ctl.out" 2>"$tmp/ctl.err" ||
  fail "echonet controller failed: $(cat "$tmp/ctl.err")"
want_ctl="TID 0001 ESV 62 EPC 80 -> ESV 72
TID 0002 ESV 62 EPC F5 -> ESV 52
TID 0003 ESV 61 EPC E0 -> ESV 51
TID 0004 ESV 62 EPC 88 -> none"
[ "$(cat "$tmp/ctl.out")" = "$want_ctl" ] || fail "echonet controller got: $(cat "$tmp/ctl.out")"
echo "ok: the device answered Get_Res, Get_SNA, SetC_SNA and left TID 0004 unanswered"

wait_for records_at_least 4 || fail "mamori-gw printed $(records_count) records, want 4: $(gw_records)"
[ "$(grep -c '^inf ' "$tmp/inf.out")" = 6 ] || fail "the INF device sent $(grep -c '^inf ' "$tmp/inf.out") INF, want 6"
sleep 3
gw_stop
gw_capture_stop
[ "$(records_count)" = 4 ] || fail "$(records_count) records, want 4: $(gw_records)"

# The oracle: frames by TID (hex 5..8) and ESV (hex 21..22).
frame() { # DESCRIPTION SRC DST TID ESV
  oracle_one "$1" "\$3 == \"$2\" && \$4 == 3610 && \$5 == \"$3\" && \$6 == 3610 &&
    substr(\$9, 5, 4) == \"$4\" && substr(\$9, 21, 2) == \"$5\"" | awk '{print $9}'
}
get_f5=$(frame "Get F5" "$gw_c" "$gw_s" 0002 62)
get_sna=$(frame "Get_SNA" "$gw_s" "$gw_c" 0002 52)
setc_e0=$(frame "SetC E0" "$gw_c" "$gw_s" 0003 61)
setc_sna=$(frame "SetC_SNA" "$gw_s" "$gw_c" 0003 51)
get_88=$(frame "Get 88" "$gw_c" "$gw_s" 0004 62)
[ "$get_sna" = 1081000200110105FF015201F500 ] || fail "oracle: Get_SNA is $get_sna"
[ "$(oracle "\$3 == \"$gw_s\" && substr(\$9, 5, 4) == \"0004\"" | wc -l)" = 0 ] ||
  fail "oracle: the device answered TID 0004"
[ "$(oracle "\$3 == \"$gw_s2\" && substr(\$9, 21, 2) == \"73\"" | wc -l)" = 6 ] ||
  fail "oracle: not 6 INF frames from $gw_s2"
flow="$gw_c 3610 -> $gw_s 3610/udp"

rec=$(record_where '."Error Code" == "31" and (.Responder."Transmitted Code" | .[20:22]) == "52"')
check_record "$rec" 31 "Invalid Argument" "ECHONET Lite" "$gw_c" "$get_f5" "$gw_s" "$get_sna" "$flow"
rec=$(record_where '."Error Code" == "31" and (.Responder."Transmitted Code" | .[20:22]) == "51"')
check_record "$rec" 31 "Invalid Argument" "ECHONET Lite" "$gw_c" "$setc_e0" "$gw_s" "$setc_sna" "$flow"
echo "ok: Get_SNA and SetC_SNA recorded as Invalid Argument with the frames on the wire"

rec=$(record_where '."Error Code" == "10" and .Responder."IP Address" == "'"$gw_s"'"')
check_record "$rec" 10 "No Response" "ECHONET Lite" "$gw_c" "$get_88" "$gw_s" "" "$flow"
[ "$(jq -r '.Description.Timeout' <<<"$rec")" = "no response within 2000 ms" ] ||
  fail "the No Response record has no Description Timeout: $rec"
echo "ok: the unanswered Get recorded as No Response after the 2000 ms timeout"

rec=$(record_where '."Error Code" == "10" and .Responder."IP Address" == "'"$gw_s2"'"')
check_record "$rec" 10 "No Response" "ECHONET Lite" "$gw_c" "" "$gw_s2" ""
silence=$(jq -r '.Description.Silence // ""' <<<"$rec")
[[ "$silence" =~ ^no\ message\ for\ [0-9.]+\ s\;\ period\ [0-9.]+\ s\ learnt\ from\ 3\ intervals$ ]] ||
  fail "the silence record's Description Silence is '$silence': $rec"
# The silence is dated when it passed its limit: after the last INF.
last_inf=$(oracle "\$3 == \"$gw_s2\" && substr(\$9, 21, 2) == \"73\"" | tail -n 1 | awk '{print $2}')
ts=$(jq -r .Timestamp <<<"$rec")
[ "$(date -u -d "$ts" +%s.%N)" \> "$last_inf" ] || fail "silence dated $ts, before the last INF at $last_inf"
echo "ok: the INF sensor that stopped recorded once as No Response, Description Silence"

soc_check 4
echo "ok: the SOC stored the same four records, received over RELP"
