#!/usr/bin/env bash
# Checks mamorid's detect against a security profile on a device: in its
# namespaces, with a web server on port 80 as the expected behaviour, a
# telnetd that opens port 23 raises detect.violation for the listening-port
# behaviour at the first interval that sees it (one datapoint) and
# detect.cleared once it is stopped; a connection to a remote address
# outside the profile's CIDRs (a second network namespace at the end of a
# veth pair) does the same for the destination behaviour, naming the
# address; nothing else is in violation while the device does only what the
# profile expects; and the report mamorid keeps in STATE/device/metrics.json
# is Device Defender's format, valid against the documented structure
# (tests/schema/aws-dd-report.schema.json), listing the ports and the
# connection it saw last.
set -euo pipefail
. "$(dirname "$0")/lib/guard.sh"

sc_schema="$guard_srcdir/tests/schema/aws-dd-report.schema.json"
[ -f "$sc_schema" ] || fail "no $sc_schema"
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || fail "python3-jsonschema is not installed (scripts/deps.sh)"

sc_interval=2
guard_rootfs
cat >"$T/profile.json" <<'EOF'
{
  "behaviors": [
    {"name": "web-only", "metric": "aws:listening-tcp-ports",
     "criteria": {"comparisonOperator": "in-port-set", "value": {"ports": [80]},
                  "consecutiveDatapointsToAlarm": 1, "consecutiveDatapointsToClear": 1}},
    {"name": "known-peers", "metric": "aws:destination-ip-addresses",
     "criteria": {"comparisonOperator": "in-cidr-set", "value": {"cidrs": ["192.0.2.0/24"]}}},
    {"name": "few-connections", "metric": "aws:num-established-tcp-connections",
     "criteria": {"comparisonOperator": "less-than", "value": {"count": 50}}}
  ]
}
EOF
guard_write_conf "mode = monitor" "heartbeat = 60" <<EOF
[policy]
root = $guard_root

[detect]
interval = $sc_interval
profile = $T/profile.json
report_format = aws
EOF
guard_args=(--no-behaviour --no-audit --no-inventory)

# The device's own metrics report, validated as it is written.
check_report() {
  local want_port=$1 want_remote=$2
  /usr/bin/python3 - "$sc_schema" "$guard_state/device/metrics.json" "$want_port" "$want_remote" <<'EOF'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.Draft7Validator(schema).validate(doc)
ports = sorted(p["port"] for p in doc["metrics"]["listening_tcp_ports"]["ports"])
if int(sys.argv[3]) not in ports or 80 not in ports:
    sys.exit("listening_tcp_ports %s lack 80 or %s" % (ports, sys.argv[3]))
if doc["metrics"]["listening_tcp_ports"]["total"] != len(ports):
    sys.exit("total %d for %d ports" % (doc["metrics"]["listening_tcp_ports"]["total"], len(ports)))
if sys.argv[4]:
    conns = doc["metrics"]["tcp_connections"]["established_connections"]["connections"]
    if not any(c["remote_addr"] == sys.argv[4] for c in conns):
        sys.exit("no connection to %s in %s" % (sys.argv[4], conns))
EOF
}

# A violation and then its clearing for behaviour $1; $2 is a member of the
# violation's value that must be there.
sc_profile() {
  local t0 rpid i
  chroot "$guard_root" httpd -f -p 80 -h /www &
  echo $! >"$guard_out/httpd.pid"
  # Two intervals with only the expected behaviour.
  sleep $((sc_interval * 2 + 1))
  [ "$(ev --prefix detect. count)" = 0 ] || { ev --prefix detect. json; exit 1; }
  [ -s "$guard_state/device/metrics.json" ] || { echo "no metrics.json after two intervals"; exit 1; }

  # A telnetd on port 23: the profile allows only 80.
  t0=$(date +%s.%N)
  chroot "$guard_root" telnetd -F -p 23 -l /bin/sh &
  echo $! >"$guard_out/telnetd.pid"
  wait_ev 1 --event detect.violation --reason web-only
  echo "$t0" >"$guard_out/telnet.t0"
  check_report 23 ""
  kill "$(cat "$guard_out/telnetd.pid")"
  wait_ev 1 --event detect.cleared --reason web-only

  # A remote peer at 10.77.0.2, in a network namespace of its own.
  unshare -n sleep 600 &
  rpid=$!
  echo "$rpid" >"$guard_out/remote.pid"
  sleep 0.2
  ip link add dv0 type veth peer name dr0
  ip link set dr0 netns "$rpid"
  ip addr add 10.77.0.1/24 dev dv0
  ip link set dv0 up
  nsenter -t "$rpid" -n ip link set lo up
  nsenter -t "$rpid" -n ip addr add 10.77.0.2/24 dev dr0
  nsenter -t "$rpid" -n ip link set dr0 up
  nsenter -t "$rpid" -n socat -u TCP-LISTEN:4444,reuseaddr OPEN:/dev/null &
  echo $! >"$guard_out/listener.pid"
  for i in $(seq 1 50); do
    nsenter -t "$rpid" -n ss -ltn | grep -q ':4444 ' && break
    sleep 0.1
  done
  # The device connects there and holds the connection.
  sh -c 'sleep 60 | chroot "$1" nc 10.77.0.2 4444' _ "$guard_root" &
  echo $! >"$guard_out/nc.pid"
  wait_ev 1 --event detect.violation --reason known-peers
  check_report 80 "10.77.0.2:4444"
  pkill -f "nc 10.77.0.2 4444" || true
  kill "$(cat "$guard_out/listener.pid")" 2>/dev/null || true
  wait_ev 1 --event detect.cleared --reason known-peers
}

guard_run sc_profile

expect "violations" "$(ev --event detect.violation count)" 2
expect "cleared" "$(ev --event detect.cleared count)" 2
v=(--event detect.violation --reason web-only)
expect "web-only metric" "$(ev "${v[@]}" one detail.metric)" aws:listening-tcp-ports
expect "web-only operator" "$(ev "${v[@]}" one detail.operator)" in-port-set
expect "web-only value" "$(ev "${v[@]}" one detail.value)" "[23]"
# Raised by the first datapoint that saw the port: within one interval.
expect "web-only datapoints" "$(ev "${v[@]}" one detail.datapoints)" 1
expect "web-only action" "$(ev "${v[@]}" one action)" reported
expect "web-only device" "$(ev "${v[@]}" one device.id)" "$guard_device"
t0=$(cat "$guard_out/telnet.t0")
echo "info: port 23 seen $(/usr/bin/python3 -c '
import datetime, sys
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print("%.1f" % (t.timestamp() - float(sys.argv[2])))' "$(ev "${v[@]}" one time)" "$t0") s after telnetd started (interval $sc_interval s)"
c=(--event detect.cleared --reason web-only)
expect "web-only cleared metric" "$(ev "${c[@]}" one detail.metric)" aws:listening-tcp-ports
expect "web-only cleared datapoints" "$(ev "${c[@]}" one detail.datapoints)" 1
v=(--event detect.violation --reason known-peers)
expect "known-peers metric" "$(ev "${v[@]}" one detail.metric)" aws:destination-ip-addresses
expect "known-peers value" "$(ev "${v[@]}" one detail.value)" '["10.77.0.2"]'
expect "known-peers operator" "$(ev "${v[@]}" one detail.operator)" in-cidr-set
expect "few-connections never" "$(ev --reason few-connections count)" 0
# The order: each violation before its clearing.
expect "order" "$(ev --prefix detect. field event | tr '\n' ' ')" \
  "detect.violation detect.cleared detect.violation detect.cleared "
echo "ok: detect raised and cleared both violations; the report is Device Defender's format"
