#!/usr/bin/env bash
# Checks that `mamori metrics`, in a network namespace of its own joined by a
# veth pair to a peer namespace, reports what the namespace really holds in
# all three formats: TCP 23 (IPv4 and IPv6 wildcards, listed once with no
# interface) and 8080 (bound to the veth address, interface mmdr0), UDP
# 5353, the established connection to the peer (remote_addr
# 10.77.0.2:9000, local_port 41234, local_interface mmdr0) and non-zero
# byte and packet counters with at least 300000 bytes sent over the veth; the
# two AWS forms validate against tests/schema/aws-dd-report.schema.json.
set -euo pipefail
: "${MAMORI_BIN:?set MAMORI_BIN to the bin folder of a build}" "${MAMORI_SRC:?set MAMORI_SRC to the source tree}"
PY=/usr/bin/python3
SCHEMA=$MAMORI_SRC/tests/schema/aws-dd-report.schema.json
LPORT=41234
NBYTES=300000

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# ---- outside: the peer namespace, then this script again in a new one ----
if [ "${MMDR_INNER:-}" != 1 ]; then
  [ "$(id -u)" = 0 ] || fail "needs root (network namespaces)"
  for c in ip unshare socat ss; do
    command -v "$c" >/dev/null || fail "no $c"
  done
  $PY -c 'import jsonschema' || fail "no python3-jsonschema for $PY"
  peer=mmdr-peer-$$
  tmp=$(mktemp -d /tmp/mmdr.XXXXXX)
  # shellcheck disable=SC2317 # called by the trap
  cleanup() {
    # Processes left in the peer namespace (by id, only those in it).
    local p
    for p in $(ip netns pids "$peer" 2>/dev/null); do
      kill "$p" 2>/dev/null || true
    done
    ip netns del "$peer" 2>/dev/null || true
    rm -rf "$tmp"
  }
  trap cleanup EXIT
  ip netns add "$peer"
  MMDR_INNER=1 MMDR_PEER=$peer MMDR_TMP=$tmp unshare -n -- bash "$0"
  exit 0
fi

# ---- inside: the device's network namespace ----
peer=$MMDR_PEER
tmp=$MMDR_TMP
pids=()
# shellcheck disable=SC2317 # called by the trap
inner_cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap inner_cleanup EXIT

bg() { # bg NAME CMD...: start CMD, output to $tmp/NAME.log
  local name=$1
  shift
  "$@" >"$tmp/$name.log" 2>&1 &
  pids+=($!)
}

wait_for() { # wait_for CMD...: up to 10 s
  local _
  for _ in $(seq 1 100); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  return 1
}

listening() { # listening t|u PORT [NETNS]: a socket on PORT in the namespace
  local args=(-H "-l$1n")
  if [ -n "${3:-}" ]; then
    [ -n "$(ip netns exec "$3" ss "${args[@]}" "sport = :$2")" ]
  else
    [ -n "$(ss "${args[@]}" "sport = :$2")" ]
  fi
}

established() {
  [ -n "$(ss -Htn state established "sport = :$LPORT")" ]
}

ip link set lo up
ip link add mmdr0 type veth peer name mmdr1 netns "$peer"
ip addr add 10.77.0.1/24 dev mmdr0
ip link set mmdr0 up
ip -n "$peer" link set lo up
ip -n "$peer" addr add 10.77.0.2/24 dev mmdr1
ip -n "$peer" link set mmdr1 up

# The peer: one connection held open on 9000, transfers received on 9001.
bg peer9000 ip netns exec "$peer" socat -u TCP4-LISTEN:9000,reuseaddr OPEN:/dev/null
bg peer9001 ip netns exec "$peer" socat -u TCP4-LISTEN:9001,reuseaddr,fork OPEN:/dev/null
wait_for listening t 9000 "$peer" || fail "the peer did not listen on 9000"
wait_for listening t 9001 "$peer" || fail "the peer did not listen on 9001"

# The device: telnet's port on both wildcards, 8080 on the veth address, mDNS.
bg tcp23v4 socat TCP4-LISTEN:23,reuseaddr,fork SYSTEM:true
bg tcp23v6 socat TCP6-LISTEN:23,ipv6only=1,reuseaddr,fork SYSTEM:true
bg tcp8080 socat TCP4-LISTEN:8080,bind=10.77.0.1,reuseaddr,fork SYSTEM:true
bg udp5353 socat -u UDP4-RECV:5353 OPEN:/dev/null
bg conn socat -u EXEC:"sleep 600" TCP4:10.77.0.2:9000,sourceport=$LPORT
for p in 23 8080; do
  wait_for listening t $p || fail "no listener on TCP $p: $(cat "$tmp"/tcp*.log)"
done
wait_for listening u 5353 || fail "no UDP 5353: $(cat "$tmp/udp5353.log")"
wait_for established || fail "no connection from port $LPORT: $(cat "$tmp/conn.log")"
[ "$(ss -Htln | wc -l)" = 3 ] || fail "listeners other than ours: $(ss -Htln)"
echo "ok: listeners and the connection are up ($(ss -Htln | wc -l) TCP listening sockets)"

# sample FORMAT: mamori metrics over 3 s, with NBYTES sent to the peer
# again and again while it runs, so that whenever its first sample is
# taken (a loaded machine may start it late) the interval holds at least
# NBYTES of the traffic.
sample() {
  local out=$tmp/$1.json
  "$MAMORI_BIN/mamori" metrics --format "$1" --interval 3 >"$out" 2>"$tmp/$1.err" &
  local m=$!
  while kill -0 "$m" 2>/dev/null; do
    head -c $NBYTES /dev/zero | socat -u - TCP4:10.77.0.2:9001
    sleep 0.2
  done
  wait "$m" || fail "mamori metrics --format $1 failed: $(cat "$tmp/$1.err")"
  [ -s "$out" ] || fail "mamori metrics --format $1 printed nothing"
}

sample aws
sample aws-short
sample mamori

$PY - "$SCHEMA" "$tmp" "$LPORT" "$NBYTES" <<'EOF'
import json, sys
import jsonschema

schema_path, tmp, lport, nbytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
schema = json.load(open(schema_path))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())

def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)

LONG = dict(header="header", rid="report_id", v="version", met="metrics", tp="listening_tcp_ports",
            up="listening_udp_ports", pts="ports", pt="port", iface="interface", t="total",
            ns="network_stats", bi="bytes_in", bo="bytes_out", pi="packets_in", po="packets_out",
            tc="tcp_connections", ec="established_connections", cs="connections",
            rad="remote_addr", lp="local_port", li="local_interface")
SHORT = dict(header="hed", rid="rid", v="v", met="met", tp="tp", up="up", pts="pts", pt="pt",
             iface="if", t="t", ns="ns", bi="bi", bo="bo", pi="pi", po="po", tc="tc", ec="ec",
             cs="cs", rad="rad", lp="lp", li="li")

for fmt, n in (("aws", LONG), ("aws-short", SHORT)):
    doc = json.load(open(f"{tmp}/{fmt}.json"))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        fail(f"{fmt}: not valid against the schema: {errors[0].message[:400]}")
    other = SHORT if n is LONG else LONG
    if other["header"] in doc:
        fail(f"{fmt}: has the other form's header")
    if doc[n["header"]][n["v"]] != "1.0":
        fail(f"{fmt}: version {doc[n['header']][n['v']]!r}")
    met = doc[n["met"]]
    tcp = sorted((p[n["pt"]], p.get(n["iface"])) for p in met[n["tp"]][n["pts"]])
    if tcp != [(23, None), (8080, "mmdr0")]:
        fail(f"{fmt}: TCP ports {tcp}, want 23 on any interface once and 8080 on mmdr0")
    if met[n["tp"]][n["t"]] != 2:
        fail(f"{fmt}: TCP total {met[n['tp']][n['t']]}, want 2")
    udp = [(p[n["pt"]], p.get(n["iface"])) for p in met[n["up"]][n["pts"]]]
    if udp != [(5353, None)] or met[n["up"]][n["t"]] != 1:
        fail(f"{fmt}: UDP ports {udp}, want 5353 on any interface")
    ec = met[n["tc"]][n["ec"]]
    conns = ec[n["cs"]]
    want = {n["rad"]: "10.77.0.2:9000", n["lp"]: lport, n["li"]: "mmdr0"}
    if conns != [want] or ec[n["t"]] != 1:
        fail(f"{fmt}: connections {conns} total {ec[n['t']]}, want [{want}]")
    ns = met[n["ns"]]
    if ns[n["bo"]] < nbytes or ns[n["po"]] <= 0 or ns[n["bi"]] <= 0 or ns[n["pi"]] <= 0:
        fail(f"{fmt}: counters {ns}, want bytes out >= {nbytes} and every counter > 0")
    print(f"ok: {fmt}: valid; ports, connection and counters {ns}")

doc = json.load(open(f"{tmp}/mamori.json"))
checks = [
    ("aws:listening-tcp-ports", [23, 8080]),
    ("aws:num-listening-tcp-ports", 2),
    ("aws:listening-udp-ports", [5353]),
    ("aws:num-listening-udp-ports", 1),
    ("aws:num-established-tcp-connections", 1),
    ("aws:destination-ip-addresses", ["10.77.0.2"]),
    ("mamori:remote-ports", [9000]),
]
for key, want in checks:
    if doc.get(key) != want:
        fail(f"mamori: {key} is {doc.get(key)!r}, want {want!r}")
if doc.get("aws:all-bytes-out", 0) < nbytes or doc.get("aws:all-packets-in", 0) <= 0:
    fail(f"mamori: counters {doc.get('aws:all-bytes-out')} {doc.get('aws:all-packets-in')}")
if not isinstance(doc.get("mamori:num-processes"), int) or doc["mamori:num-processes"] < 1:
    fail(f"mamori: num-processes {doc.get('mamori:num-processes')!r}")
print("ok: mamori: ports, destination, remote port and counters")
EOF
echo "PASS"
