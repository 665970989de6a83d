#!/usr/bin/env bash
# Checks that `mamori send` delivers events to a real rsyslogd over every
# protocol it speaks: RELP, RELP over TLS, TLS with mutual authentication
# (and that a client certificate from another CA is refused), TCP with octet
# counting and with LF framing, and UDP. Each time, the records in rsyslog's
# output file are compared one by one, in order, with the events sent, and
# the sender's counters must say that every event was acknowledged.
#
# rsyslogd runs with a config written here, on 127.0.0.1 ports picked at
# random; certificates come from a CA made here.
set -euo pipefail
. "$(dirname "$0")/lib/peers.sh"

N=${SEND_N:-2000}
make_events "$tmp/events" "$N"
make_pki
pki="$tmp/pki"

# The sender's last log line holds the counters; $1: log, $2: queued = acked.
counters_ok() {
  grep -q "(done): queued $2, sent $2, acknowledged $2, resent 0, refused 0, dropped 0, pending 0" "$1" ||
    fail "counters in $1: $(tail -3 "$1")"
}

# ---- RELP ----
port=$(pick_port)
{
  rsyslog_global relp
  echo 'module(load="imrelp")'
  echo "input(type=\"imrelp\" address=\"127.0.0.1\" port=\"$port\" ruleset=\"out\")"
  out_ruleset relp
} >"$tmp/relp.conf"
start_rsyslog relp "$port"
"$mamori" send --to "relp://127.0.0.1:$port" --stats 0 "$tmp/events" 2>"$tmp/send-relp.log" ||
  fail "send over RELP failed: $(cat "$tmp/send-relp.log")"
counters_ok "$tmp/send-relp.log" "$N"
# Everything acknowledged is written before the ack: no waiting needed.
same_records "$tmp/events" "$tmp/relp.out" || fail "RELP: rsyslog's records differ"
echo "ok: RELP, $N events, record by record"

# ---- RELP over TLS, with a client certificate ----
port=$(pick_port)
{
  rsyslog_global relptls
  echo 'module(load="imrelp" tls.tlslib="openssl")'
  echo "input(type=\"imrelp\" address=\"127.0.0.1\" port=\"$port\" ruleset=\"out\" tls=\"on\"
    tls.caCert=\"$pki/ca.pem\" tls.myCert=\"$pki/server.pem\" tls.myPrivKey=\"$pki/server.key\"
    tls.authMode=\"name\" tls.permittedPeer=[\"device-1\"])"
  out_ruleset relptls
} >"$tmp/relptls.conf"
start_rsyslog relptls "$port"
"$mamori" send --to "relp+tls://127.0.0.1:$port" --server-name localhost --ca "$pki/ca.pem" \
  --cert "$pki/client.pem" --key "$pki/client.key" --stats 0 "$tmp/events" \
  2>"$tmp/send-relptls.log" || fail "send over RELP+TLS failed: $(cat "$tmp/send-relptls.log")"
counters_ok "$tmp/send-relptls.log" "$N"
same_records "$tmp/events" "$tmp/relptls.out" || fail "RELP+TLS: rsyslog's records differ"
echo "ok: RELP over TLS with a client certificate, $N events"

# The server's certificate must carry the name we expect.
if "$mamori" send --to "relp+tls://127.0.0.1:$port" --server-name soc.example --ca "$pki/ca.pem" \
  --cert "$pki/client.pem" --key "$pki/client.key" --give-up 5 --stats 0 "$tmp/events" \
  2>"$tmp/send-relptls-name.log"; then
  fail "RELP+TLS accepted a server certificate without the name soc.example"
fi
grep -q "giving up: a certificate was refused" "$tmp/send-relptls-name.log" ||
  fail "RELP+TLS: the wrong server name was not reported: $(cat "$tmp/send-relptls-name.log")"
grep -q "acknowledged 0," "$tmp/send-relptls-name.log" ||
  fail "RELP+TLS: events confirmed to a server with the wrong name: $(tail -2 "$tmp/send-relptls-name.log")"
[ "$(lines_of "$tmp/relptls.out")" -eq "$N" ] || fail "RELP+TLS: events arrived despite a wrong server name"
echo "ok: RELP over TLS refuses a server certificate for another name"

# ---- TLS (RFC 5425) with mutual authentication ----
port=$(pick_port)
{
  rsyslog_global tls
  echo "global(defaultNetstreamDriverCAFile=\"$pki/ca.pem\"
    defaultNetstreamDriverCertFile=\"$pki/server.pem\" defaultNetstreamDriverKeyFile=\"$pki/server.key\")"
  echo 'module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")'
  echo "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"$port\" ruleset=\"out\")"
  out_ruleset tls
} >"$tmp/tls.conf"
start_rsyslog tls "$port"
"$mamori" send --to "tls://127.0.0.1:$port" --ca "$pki/ca.pem" --cert "$pki/client.pem" \
  --key "$pki/client.key" --stats 0 "$tmp/events" 2>"$tmp/send-tls.log" ||
  fail "send over TLS failed: $(cat "$tmp/send-tls.log")"
counters_ok "$tmp/send-tls.log" "$N"
# TCP acknowledged the bytes; rsyslog may still be writing the last ones.
WAIT_TRIES=100 wait_for has_lines "$tmp/tls.out" $N || true
same_records "$tmp/events" "$tmp/tls.out" || fail "TLS: rsyslog's records differ"
echo "ok: TLS with mutual authentication, $N events"

# A client certificate from another CA: rsyslog refuses the connection, the
# sender says so and fails, and nothing more arrives.
if "$mamori" send --to "tls://127.0.0.1:$port" --ca "$pki/ca.pem" --cert "$pki/rogue.pem" \
  --key "$pki/rogue.key" --give-up 10 --stats 0 "$tmp/events" 2>"$tmp/send-rogue.log"; then
  fail "a client certificate from another CA was accepted: $(cat "$tmp/send-rogue.log")"
fi
grep -q "certificate was refused" "$tmp/send-rogue.log" ||
  fail "the sender did not report the refused certificate: $(cat "$tmp/send-rogue.log")"
grep -q "acknowledged 0," "$tmp/send-rogue.log" ||
  fail "the sender confirmed events on a refused connection: $(tail -2 "$tmp/send-rogue.log")"
sleep 0.5
[ "$(lines_of "$tmp/tls.out")" -eq "$N" ] || fail "events arrived over a refused client certificate"
echo "ok: TLS refuses a client certificate from another CA"

# And the server must chain to our CA: with the rogue CA as the only trust
# anchor the sender refuses rsyslog's certificate.
if "$mamori" send --to "tls://127.0.0.1:$port" --ca "$pki/rogue-ca.pem" --give-up 5 --stats 0 \
  "$tmp/events" 2>"$tmp/send-untrusted.log"; then
  fail "a server certificate from an unknown CA was accepted"
fi
grep -q "was not accepted" "$tmp/send-untrusted.log" ||
  fail "no verification error reported: $(cat "$tmp/send-untrusted.log")"
echo "ok: TLS refuses a server certificate from an unknown CA"

# ---- TCP, octet counting and LF framing ----
for framing in octet lf; do
  port=$(pick_port)
  {
    rsyslog_global "tcp$framing"
    echo 'module(load="imtcp")'
    echo "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"$port\" ruleset=\"out\")"
    out_ruleset "tcp$framing"
  } >"$tmp/tcp$framing.conf"
  start_rsyslog "tcp$framing" "$port"
  "$mamori" send --to "tcp://127.0.0.1:$port" --framing "$framing" --stats 0 "$tmp/events" \
    2>"$tmp/send-tcp$framing.log" || fail "send over TCP ($framing) failed: $(cat "$tmp/send-tcp$framing.log")"
  counters_ok "$tmp/send-tcp$framing.log" "$N"
  WAIT_TRIES=100 wait_for has_lines "$tmp/tcp$framing.out" $N || true
  same_records "$tmp/events" "$tmp/tcp$framing.out" || fail "TCP ($framing): rsyslog's records differ"
  echo "ok: TCP with $framing framing, $N events"
done

# ---- UDP ----
# UDP has no flow control: a modest number, and rsyslog's socket buffer is
# enlarged so that loopback does not drop.
port=$(pick_port)
{
  rsyslog_global udp
  echo 'module(load="imudp")'
  echo "input(type=\"imudp\" address=\"127.0.0.1\" port=\"$port\" ruleset=\"out\" rcvbufSize=\"8m\")"
  out_ruleset udp
} >"$tmp/udp.conf"
start_rsyslog udp "$port" udp
head -n 200 "$tmp/events" >"$tmp/events-udp"
"$mamori" send --to "udp://127.0.0.1:$port" --stats 0 "$tmp/events-udp" 2>"$tmp/send-udp.log" ||
  fail "send over UDP failed: $(cat "$tmp/send-udp.log")"
counters_ok "$tmp/send-udp.log" 200
WAIT_TRIES=100 wait_for has_lines "$tmp/udp.out" 200 || true
same_records "$tmp/events-udp" "$tmp/udp.out" || fail "UDP: rsyslog's records differ"
echo "ok: UDP, 200 events"

# ---- what is not an event is reported, not sent ----
port=$(pick_port)
{
  rsyslog_global bad
  echo 'module(load="imrelp")'
  echo "input(type=\"imrelp\" address=\"127.0.0.1\" port=\"$port\" ruleset=\"out\")"
  out_ruleset bad
} >"$tmp/bad.conf"
start_rsyslog bad "$port"
{
  head -n 2 "$tmp/events"
  echo 'not json'
  echo '{"event":"Bad Name"}'
  echo '[1,2]'
  echo ''
  sed -n 3p "$tmp/events"
} >"$tmp/mixed"
if "$mamori" send --to "relp://127.0.0.1:$port" --stats 0 "$tmp/mixed" 2>"$tmp/send-bad.log"; then
  fail "send exited 0 with invalid lines"
fi
grep -q "mixed:3: not JSON; not sent" "$tmp/send-bad.log" || fail "line 3 not reported: $(cat "$tmp/send-bad.log")"
grep -q "mixed:4: \"event\" must be a name" "$tmp/send-bad.log" || fail "line 4 not reported"
grep -q "mixed:5: neither a mamori event (no \"event\") nor an X.1367 record (" "$tmp/send-bad.log" ||
  fail "line 5 not reported: $(cat "$tmp/send-bad.log")"
head -n 3 "$tmp/events" >"$tmp/good3"
same_records "$tmp/good3" "$tmp/bad.out" || fail "the valid lines around invalid ones did not arrive"
echo "ok: invalid lines reported with their numbers; the others sent"

# ---- --follow: lines appended to a file later are sent as they come ----
port=$(pick_port)
{
  rsyslog_global follow
  echo 'module(load="imrelp")'
  echo "input(type=\"imrelp\" address=\"127.0.0.1\" port=\"$port\" ruleset=\"out\")"
  out_ruleset follow
} >"$tmp/follow.conf"
start_rsyslog follow "$port"
head -n 10 "$tmp/events" >"$tmp/growing"
"$mamori" send --to "relp://127.0.0.1:$port" --follow --spool "$tmp/spool-follow" --stats 0 \
  "$tmp/growing" 2>"$tmp/send-follow.log" &
follower=$!
pids+=("$follower")
# The first ten arrive once the session is idle for a second (RELP confirms
# the last window by closing the session) or earlier.
wait_for has_lines "$tmp/follow.out" 10 ||
  fail "--follow: the first lines did not arrive: $(cat "$tmp/send-follow.log")"
sed -n 11,30p "$tmp/events" >>"$tmp/growing"
wait_for has_lines "$tmp/follow.out" 30 ||
  fail "--follow: appended lines did not arrive: $(cat "$tmp/send-follow.log")"
kill -TERM "$follower"
wait "$follower" || fail "--follow: exit status $? after SIGTERM: $(cat "$tmp/send-follow.log")"
head -n 30 "$tmp/events" >"$tmp/first30"
same_records "$tmp/first30" "$tmp/follow.out" || fail "--follow: records differ"
grep -q "(done): queued 30, sent 30, acknowledged 30" "$tmp/send-follow.log" ||
  fail "--follow: counters: $(tail -2 "$tmp/send-follow.log")"
echo "ok: --follow sends lines appended later and exits 0 on SIGTERM once all are confirmed"
