#!/usr/bin/env bash
# Checks mamori-soc end to end with real senders, against the store named by
# SOC_STORE (sqlite, the default; soc_scenarios_pg.sh runs it on PostgreSQL):
# util-linux logger over UDP and TCP (octet counting and LF framing); rsyslog
# forwarding over TCP (omfwd), TLS with a client certificate (omfwd, ossl),
# RELP and RELP over TLS (omrelp); each message found in the store with its
# fields and transport; the two published X.1367 examples stored
# lenient-marked; an unknown client certificate refused; a certificate used
# from two addresses found shared; a quiet periodic sender found silent (No
# Response); one attacker provoking errors from an MQTT device and a Modbus
# device made one incident listing both; a webhook getting exactly one alert
# per group; an undecodable message kept as a dead letter.
set -euo pipefail
. "$(dirname "$0")/lib/peers.sh"
. "$(dirname "$0")/lib/soc.sh"
command -v socat >/dev/null || fail "socat is not installed"
command -v python3 >/dev/null || fail "python3 is not installed"

make_pki
pki="$tmp/pki"
soc_store_init
host=$(hostname)

# ---- a webhook receiver: one line per POST body ----
hook_port=$(pick_port)
cat >"$tmp/hook.py" <<'EOF'
import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(out, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
python3 "$tmp/hook.py" "$hook_port" "$tmp/hook.out" &
pids+=("$!")
wait_for port_listening "$hook_port" || fail "webhook receiver did not start"

# ---- mamori-soc ----
p_udp=$(pick_port); p_tcp=$(pick_port); p_tls=$(pick_port); p_relp=$(pick_port)
p_relptls=$(pick_port)
cat >"$tmp/soc.conf" <<EOF
[soc]
store = $store
listen = udp://127.0.0.1:$p_udp
listen = tcp://127.0.0.1:$p_tcp
listen = tls://127.0.0.1:$p_tls
listen = relp://127.0.0.1:$p_relp
listen = relp+tls://127.0.0.1:$p_relptls

[tls]
cert = $pki/server.pem
key = $pki/server.key
ca = $pki/ca.pem
verify = require

[silence]
min_reports = 4
factor = 2
grace = 1

[fleet]
audit_interval = 1

[alert auth-burst]
type = x1367
category = security
count = 3
window = 60
group_by = requester
action = webhook http://127.0.0.1:$hook_port/hook
EOF
"$soc_bin" -n -f "$tmp/soc.conf" >"$tmp/check.out" 2>&1 || fail "mamori-soc -n refused the config: $(cat "$tmp/check.out")"
start_soc soc -f "$tmp/soc.conf"
A=$soc_api
echo "ok: mamori-soc started on $store"

# The event whose MSG contains $1, as one JSON object (empty when none).
event_with() {
  events "$A" "limit=10000" | jq -c --arg t "$1" '[.[] | select((.msg // "") | contains($t))]'
}
# wait until $2 events whose MSG contains $1 are stored
has_msgs() {
  local n
  n=$(event_with "$1" | jq length)
  [ "$n" -ge "$2" ]
}

# ---- logger: UDP, TCP octet-counted, TCP LF ----
logger -n 127.0.0.1 -P "$p_udp" -d --rfc5424 -t it-app --msgid m.udp "hello over udp tok-udp-1"
logger -n 127.0.0.1 -P "$p_tcp" -T --octet-count --rfc5424 -t it-app --msgid m.oct "hello octet tok-oct-1"
logger -n 127.0.0.1 -P "$p_tcp" -T --rfc5424 -t it-app --msgid m.lf "hello lf tok-lf-1"
for t in tok-udp-1 tok-oct-1 tok-lf-1; do
  wait_for has_msgs "$t" 1 || fail "logger's $t was not stored: $(tail -5 "$tmp/soc.log")"
done
check_event() { # token transport msgid
  local e
  e=$(event_with "$1" | jq -c '.[0]')
  [ "$(jq -r .transport <<<"$e")" = "$2" ] || fail "$1: transport $(jq -r .transport <<<"$e"), want $2"
  [ "$(jq -r .msgid <<<"$e")" = "$3" ] || fail "$1: msgid $(jq -r .msgid <<<"$e"), want $3"
  [ "$(jq -r .app_name <<<"$e")" = "it-app" ] || fail "$1: app_name: $e"
  [ "$(jq -r .hostname <<<"$e")" = "$host" ] || fail "$1: hostname: $e"
  [ "$(jq -r .device <<<"$e")" = "$host" ] || fail "$1: device: $e"
  [ "$(jq -r .type <<<"$e")" = "syslog" ] || fail "$1: type: $e"
  [ "$(jq -r .severity <<<"$e")" = 5 ] || fail "$1: severity: $e"
}
check_event tok-udp-1 udp m.udp
check_event tok-oct-1 tcp m.oct
check_event tok-lf-1 tcp m.lf
echo "ok: logger over UDP, TCP octet counting and TCP LF stored with their fields"

# ---- rsyslog forwarding over TCP, TLS (client certificate), RELP, RELP+TLS ----
p_rin=$(pick_port)
cat >"$tmp/fwd.conf" <<EOF
$(rsyslog_global fwd)
global(defaultNetstreamDriverCAFile="$pki/ca.pem"
  defaultNetstreamDriverCertFile="$pki/client.pem" defaultNetstreamDriverKeyFile="$pki/client.key")
module(load="imudp")
module(load="omrelp" tls.tlslib="openssl")
input(type="imudp" address="127.0.0.1" port="$p_rin" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="$p_tcp" protocol="tcp"
         TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" target="127.0.0.1" port="$p_tls" protocol="tcp"
         StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/certvalid"
         template="RSYSLOG_SyslogProtocol23Format")
  action(type="omrelp" target="127.0.0.1" port="$p_relp"
         template="RSYSLOG_SyslogProtocol23Format")
  action(type="omrelp" target="127.0.0.1" port="$p_relptls" tls="on"
         tls.caCert="$pki/ca.pem" tls.myCert="$pki/client.pem" tls.myPrivKey="$pki/client.key"
         tls.authMode="name" tls.permittedPeer=["localhost"]
         template="RSYSLOG_SyslogProtocol23Format")
}
EOF
start_rsyslog fwd "$p_rin" udp
logger -n 127.0.0.1 -P "$p_rin" -d --rfc5424 -t it-app --msgid m.fwd "forwarded tok-fwd-1"
wait_for has_msgs tok-fwd-1 4 || fail "rsyslog's message did not arrive 4 times: $(event_with tok-fwd-1 | jq -c '[.[].transport]') $(tail -5 "$tmp/soc.log") $(tail -5 "$tmp/fwd.log")"
got=$(event_with tok-fwd-1 | jq -r '[.[].transport] | sort | join(",")')
[ "$got" = "relp,relp+tls,tcp,tls" ] || fail "rsyslog's transports: $got"
fp=$(openssl x509 -in "$pki/client.pem" -outform DER | sha256sum | cut -d' ' -f1)
tlsev=$(event_with tok-fwd-1 | jq -c '.[] | select(.transport == "tls")')
[ "$(jq -r .device <<<"$tlsev")" = "device-1" ] || fail "TLS: device is not the certificate's: $tlsev"
[ "$(jq -r .cert_fp <<<"$tlsev")" = "$fp" ] || fail "TLS: cert_fp is not the client certificate's: $tlsev"
[ "$(jq -r .hostname <<<"$tlsev")" = "$host" ] || fail "TLS: the claimed hostname was not kept: $tlsev"
[ "$(jq -r .identity_mismatch <<<"$tlsev")" = true ] || fail "TLS: a HOSTNAME other than the certificate's was not flagged: $tlsev"
[ "$(jq -r .msgid <<<"$tlsev")" = "m.fwd" ] || fail "TLS: msgid: $tlsev"
for tr in tcp relp relp+tls; do
  e=$(event_with tok-fwd-1 | jq -c --arg t "$tr" '.[] | select(.transport == $t)')
  [ "$(jq -r .device <<<"$e")" = "$host" ] || fail "$tr: device: $e"
  [ "$(jq -r .identity_mismatch <<<"$e")" = false ] || fail "$tr: flagged: $e"
done
echo "ok: rsyslog over TCP, TLS (device = certificate, claim flagged), RELP and RELP+TLS"

# ---- the published X.1367 examples: stored, lenient-marked ----
for i in 1 2; do
  tr -d '\n' <"$MAMORI_SRC/data/samples/x1367-example-$i.json" >"$tmp/ex$i"
  logger -n 127.0.0.1 -P "$p_tcp" -T --octet-count --rfc5424 -t gw --msgid X1367 -f "$tmp/ex$i"
done
wait_for rows_at_least "$A" "type=x1367&lenient=1" events 2 ||
  fail "the published examples were not stored lenient: $(events "$A" 'type=x1367' | jq -c .)"
ex=$(events "$A" "type=x1367&lenient=1")
[ "$(jq length <<<"$ex")" = 2 ] || fail "want 2 lenient records: $ex"
[ "$(jq -r '[.[] | select(.protocol == "ABC company protocol")] | length' <<<"$ex")" = 1 ] ||
  fail "example 1's Protocol not stored: $ex"
[ "$(jq -r '[.[] | select(.code == 48 and .requester == "0000" and .responder == "0001" and .reporter == "192.168.2.11")] | length' <<<"$ex")" = 1 ] ||
  fail "example 1's parties and code not stored: $ex"
[ "$(events "$A" "type=x1367&lenient=0" | jq length)" = 0 ] || fail "a published example was stored as strict"
echo "ok: both published X.1367 examples stored lenient-marked"

# ---- mutual TLS refuses a certificate from another CA ----
failed0=$(counter "$A" tls_failed)
printf '<13>1 - rogue app - - - tok-rogue-1\n' |
  timeout 10 socat -u - "OPENSSL:127.0.0.1:$p_tls,cert=$pki/rogue.pem,key=$pki/rogue.key,cafile=$pki/ca.pem" \
  2>/dev/null || true
wait_for test "$(counter "$A" tls_failed)" -gt "$failed0" || fail "the rogue handshake was not counted as failed"
sleep 1
[ "$(event_with tok-rogue-1 | jq length)" = 0 ] || fail "a message over a refused certificate was stored"
echo "ok: an unknown client certificate is refused and counted"

# ---- the same certificate from a second address: certificate shared ----
printf '<13>1 - device-1 app - - - tok-shared-1\n' |
  timeout 10 socat -u - "OPENSSL:127.0.0.1:$p_tls,bind=127.0.0.2,cert=$pki/client.pem,key=$pki/client.key,cafile=$pki/ca.pem" ||
  fail "could not send from 127.0.0.2"
wait_for has_msgs tok-shared-1 1 || fail "the message from 127.0.0.2 was not stored"
wait_for rows_at_least "$A" "kind=certificate-shared" findings 1 ||
  fail "no certificate-shared finding: $(api "$A" /api/v1/findings)"
f=$(api "$A" "/api/v1/findings?kind=certificate-shared" | jq -c "$rows")
[ "$(jq length <<<"$f")" = 1 ] || fail "want one certificate-shared finding: $f"
[ "$(jq -r '.[0].subject' <<<"$f")" = "$fp" ] || fail "the finding is not about the client certificate: $f"
jq -e '.[0].detail | tostring | (contains("127.0.0.1") and contains("127.0.0.2"))' <<<"$f" >/dev/null ||
  fail "the finding does not name both addresses: $f"
echo "ok: one certificate from two addresses is found shared"

# ---- a periodic sender that goes quiet: No Response ----
for i in $(seq 1 7); do
  printf '<14>1 - sensor-9 meter - reading - {"event":"sensor.reading","n":%d}' "$i" |
    socat -u - "UDP:127.0.0.1:$p_udp"
  [ "$i" -lt 7 ] && sleep 1
done
last=$(date +%s)
wait_for rows_at_least "$A" "kind=no-response&device=sensor-9" findings 1 ||
  fail "a quiet periodic sender raised no No Response finding: $(api "$A" /api/v1/findings)"
waited=$(($(date +%s) - last))
[ "$waited" -ge 2 ] || fail "No Response raised after ${waited}s, before the sensor's deadline"
[ "$(api "$A" "/api/v1/findings?kind=no-response" | jq "$rows | length")" = 1 ] ||
  fail "more than one No Response finding: $(api "$A" /api/v1/findings?kind=no-response)"
echo "ok: a periodic sensor that goes quiet raises one No Response finding (after ${waited}s)"

# ---- one attacker, an MQTT device and a Modbus device: one incident ----
rec() { # reporter protocol requester responder code message
  printf '{"Timestamp":"%s","Reporter":{"IP Address":"%s"},"Protocol":"%s","Requester":{"IP Address":"%s","Transmitted Code":"00"},"Responder":{"IP Address":"%s","Transmitted Code":"00"},"Error Code":"%s","Error Message":"%s","Description":{}}' \
    "$(date -u +%Y-%m-%dT%H:%M:%S.0Z)" "$1" "$2" "$3" "$4" "$5" "$6"
}
send_rec() { # hostname record
  printf '<12>1 - %s mamori-gw - X1367 - %s' "$1" "$2" | socat -u - "UDP:127.0.0.1:$p_udp"
}
send_rec gw-a "$(rec 192.0.2.10 MQTT 203.0.113.66 192.0.2.100 20 'Authentication Failed')"
send_rec gw-b "$(rec 192.0.2.11 Modbus/TCP 203.0.113.66 192.0.2.101 31 'Unsupported Command')"
wait_for rows_at_least "$A" "requester=203.0.113.66" events 2 || fail "the attacker's records were not stored"
wait_for rows_at_least "$A" "state=open" incidents 1 || fail "no incident: $(api "$A" /api/v1/incidents)"
inc=$(api "$A" /api/v1/incidents | jq -c "$rows")
[ "$(jq '[.[] | select(.key == "203.0.113.66")] | length' <<<"$inc")" = 1 ] ||
  fail "want one incident for 203.0.113.66: $inc"
id=$(jq -r '.[] | select(.key == "203.0.113.66") | .id' <<<"$inc")
one=$(api "$A" "/api/v1/incidents/$id")
protos=$(jq -r '[.events[] | select(.type == "x1367") | .protocol] | sort | join(",")' <<<"$one")
[ "$protos" = "MQTT,Modbus/TCP" ] || fail "the incident does not list both errors: $one"
echo "ok: one attacker across MQTT and Modbus/TCP makes one incident listing both"

# ---- the webhook gets exactly one alert per group ----
for i in 1 2 3 4 5; do send_rec gw-c "$(rec 192.0.2.3$i MQTT 198.51.100.1 192.0.2.200 20 'Authentication Failed')"; done
for i in 1 2 3 4; do send_rec gw-c "$(rec 192.0.2.4$i MQTT 198.51.100.2 192.0.2.200 20 'Authentication Failed')"; done
send_rec gw-c "$(rec 192.0.2.51 MQTT 198.51.100.3 192.0.2.200 20 'Authentication Failed')"
wait_for rows_at_least "$A" "requester=198.51.100.3" events 1 || fail "the alert records were not stored"
wait_for has_lines "$tmp/hook.out" 2 || fail "the webhook got $(lines_of "$tmp/hook.out") alerts, want 2"
sleep 2
[ "$(lines_of "$tmp/hook.out")" = 2 ] || fail "the webhook got $(lines_of "$tmp/hook.out") alerts, want 2: $(cat "$tmp/hook.out")"
groups=$(jq -r '.group.requester' "$tmp/hook.out" | sort | tr '\n' ' ')
[ "$groups" = "198.51.100.1 198.51.100.2 " ] || fail "alert groups: $groups: $(cat "$tmp/hook.out")"
jq -e 'select(.rule == "auth-burst") | .count >= 3' "$tmp/hook.out" >/dev/null || fail "alert body: $(cat "$tmp/hook.out")"
echo "ok: the webhook got exactly one alert per group"

# ---- what cannot be decoded is a dead letter, with the reason ----
printf '<13>1 - h app - X1367 - {"not":"a record"' | socat -u - "UDP:127.0.0.1:$p_udp"
printf '<13>1 - h app - - - \xff\xfe\xfd' | socat -u - "UDP:127.0.0.1:$p_udp"
wait_for rows_at_least "$A" "" dead-letters 2 || fail "no dead letters: $(api "$A" /api/v1/dead-letters)"
dl=$(api "$A" /api/v1/dead-letters | jq -c "$rows")
jq -e '[.[].reason] | (any(contains("X1367")) and any(contains("UTF-8")))' <<<"$dl" >/dev/null ||
  fail "dead letters without their reasons: $dl"
echo "ok: undecodable input kept as dead letters with the reason"

# ---- mamori query reads the same ----
"$mamori" query --soc "$A" events --type x1367 --requester 203.0.113.66 --json >"$tmp/q.json" ||
  fail "mamori query failed"
[ "$(jq length "$tmp/q.json")" = 2 ] || fail "mamori query events: $(cat "$tmp/q.json")"
"$mamori" query --soc "$A" incidents >"$tmp/q.txt" || fail "mamori query incidents failed"
grep -q 203.0.113.66 "$tmp/q.txt" || fail "mamori query incidents: $(cat "$tmp/q.txt")"
echo "ok: mamori query lists the events and the incident"

kill -TERM "$soc_pid"
wait "$soc_pid" || fail "mamori-soc did not stop cleanly on SIGTERM"
echo "PASS soc_scenarios (${SOC_STORE:-sqlite})"
