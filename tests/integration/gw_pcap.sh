#!/usr/bin/env bash
# Checks that `mamori-gw -r` on the pcap tcpdump wrote during a live run
# prints exactly the records the live run printed, every field but the
# Timestamp equal and the Timestamp within 10 ms (both date records by the
# packets' stamps, which two packet sockets read apart), for a mix of
# Modbus/TCP exceptions, ECHONET Lite SNA responses, a request that gets no
# answer (No Response after the timeout) and an INF sensor that falls silent;
# and that -r on a missing file, a file that is not a capture and a capture
# cut short fails with exit status 1 and a message that names the file and
# says what is wrong.
set -euo pipefail
. "$(dirname "$0")/lib/gw.sh"
for p in modbus_server modbus_client echonet_peer; do
  [ -x "$MAMORI_BIN/$p" ] || fail "no $MAMORI_BIN/$p"
done

gw_net_up
gw_soc_start
gw_capture_start
bg s mbs "$MAMORI_BIN/modbus_server" "$gw_s" 502
bg s dev "$MAMORI_BIN/echonet_peer" device "$gw_s" --ignore 0x88
wait_for file_has "^listening" "$tmp/mbs.out" || fail "modbus_server did not start: $(cat "$tmp/mbs.err")"
wait_for file_has "^ready" "$tmp/dev.out" || fail "echonet device did not start: $(cat "$tmp/dev.err")"
gw_start

# Packets every 0.2 s to a closed port keep the capture's clock going past
# the last deadline, so that a replay sees the timeout and the silence come
# due as the live run did. Bounded: at most 150 (30 s).
bg c ticker bash -c "for i in \$(seq 1 150); do echo tick >/dev/udp/$gw_s/9 || true; sleep 0.2; done"

bg s inf "$MAMORI_BIN/echonet_peer" device "$gw_s2" --inf-period 300 --inf-to "$gw_c" --count 6
in_c "$MAMORI_BIN/modbus_client" "$gw_s" 502 >"$tmp/client.out" 2>&1 || fail "modbus_client: $(cat "$tmp/client.out")"
in_c "$MAMORI_BIN/echonet_peer" controller "$gw_s" --ignore 0x88 --wait 500 >"$tmp/ctl.out" 2>&1 ||
  fail "echonet controller: $(cat "$tmp/ctl.out")"
grep -q "TID 0004 ESV 62 EPC 88 -> none" "$tmp/ctl.out" || fail "the device answered: $(cat "$tmp/ctl.out")"

# Two Modbus exceptions, Get_SNA, SetC_SNA, the unanswered Get, the silence.
wait_for records_at_least 6 || fail "mamori-gw printed $(records_count) records, want 6: $(gw_records)"
sleep 3
gw_stop
kill "$ticker_pid" 2>/dev/null || true
gw_capture_stop
[ "$(records_count)" = 6 ] || fail "$(records_count) live records, want 6: $(gw_records)"
[ "$(gw_records | jq -r '."Error Code"' | sort | tr '\n' ' ')" = "10 10 30 31 31 31 " ] ||
  fail "live records have the codes $(gw_records | jq -r '."Error Code"' | sort | tr '\n' ' ')"
echo "ok: the live run printed 6 records"

# ---- the replay ----
"$gw_bin" -r "$tmp/cap.pcap" -f "$tmp/gw.conf" --reporter "ip:$gw_c" --timeout 2000 \
  >"$tmp/replay.out" 2>"$tmp/replay.err" || fail "mamori-gw -r failed: $(cat "$tmp/replay.err")"
[ "$(records_count "$tmp/replay.out")" = 6 ] ||
  fail "the replay printed $(records_count "$tmp/replay.out") records, want 6: $(cat "$tmp/replay.out")"
# Every field equal, Timestamp aside; the Timestamps within 10 ms of each
# other. mamori-gw's capture and tcpdump's are two packet sockets, and the
# kernel may read the clock for each of them apart (microseconds); a record
# dated by anything but the packets' stamps would be off by far more.
norm='map(. as $r | {rest: ($r | del(.Timestamp)),
  t: ($r.Timestamp | (sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) +
     ("0." + capture("\\.(?<f>[0-9]+)Z$").f | tonumber))}) | sort_by(.rest)'
live=$(gw_records | jq -s -c "$norm")
replay=$(gw_records "$tmp/replay.out" | jq -s -c "$norm")
if [ "$(jq -c 'map(.rest)' <<<"$live")" != "$(jq -c 'map(.rest)' <<<"$replay")" ]; then
  diff <(jq -c '.[].rest' <<<"$live") <(jq -c '.[].rest' <<<"$replay") >&2 || true
  fail "the replay's records differ from the live run's (< live, > replay)"
fi
far=$(jq -n --argjson a "$live" --argjson b "$replay" \
  '[range(0; $a | length) | select((($a[.].t - $b[.].t) | fabs) > 0.01)] | length')
[ "$far" = 0 ] || fail "$far replayed records are dated more than 10 ms from the live ones:
$(gw_records) /
$(gw_records "$tmp/replay.out")"
echo "ok: -r on tcpdump's pcap printed the live run's 6 records, dated within 10 ms"

soc_check 6
echo "ok: the SOC stored the live run's 6 records, received over RELP"

# ---- files -r must refuse ----
refuse() { # DESCRIPTION FILE PATTERN
  local st=0
  "$gw_bin" -r "$2" -f "$tmp/gw.conf" >"$tmp/bad.out" 2>"$tmp/bad.err" || st=$?
  [ "$st" = 1 ] || fail "-r on $1 exited $st, want 1: $(cat "$tmp/bad.err")"
  grep -qF "$2" "$tmp/bad.err" || fail "-r on $1: the message does not name the file: $(cat "$tmp/bad.err")"
  grep -qiE "$3" "$tmp/bad.err" || fail "-r on $1: the message does not say /$3/: $(cat "$tmp/bad.err")"
}
refuse "a missing file" "$tmp/no-such.pcap" "no such file"
refuse "a file that is not a capture" "$gw_src/data/errmap/modbus.map" "format|not a (pcap|capture)"
[ -s "$tmp/bad.out" ] && fail "-r on a file that is not a capture printed: $(cat "$tmp/bad.out")"
# Cut inside the last packet's bytes: the record header promises more.
size=$(stat -c %s "$tmp/cap.pcap")
head -c $((size - 5)) "$tmp/cap.pcap" >"$tmp/cut.pcap"
refuse "a capture cut short" "$tmp/cut.pcap" "truncated|cut short"
python3 "$gw_lib/pcap_payloads.py" "$tmp/cut.pcap" >/dev/null 2>&1 &&
  fail "the oracle read the cut capture without complaint"
echo "ok: -r refused a missing file, a file that is not a capture and a cut capture with status 1"
