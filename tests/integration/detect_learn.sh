#!/usr/bin/env bash
# Checks that `mamori profile learn`, in a network namespace of its own with
# only a TCP listener on 8080, writes a profile (by rename) whose listening
# ports are exactly [8080] and that `mamori profile check` accepts; that
# `mamori profile test` with that profile reports a detect.violation of
# learned-listening-tcp-ports naming port 23 on the first datapoint once a
# listener on 23 appears; and that, in one run, the violation is followed by
# detect.cleared for that behaviour when the listener on 23 is killed.
# The scenario runs in network, mount and pid namespaces (unshare), so that
# every process it starts dies with it even when it is killed.
set -euo pipefail
bin="${MAMORI_BIN:?}/mamori"
py=/usr/bin/python3

if [ "${1:-}" != inside ]; then
  exec unshare --net --pid --fork --kill-child --mount-proc bash "$0" inside
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# listen PORT: starts a TCP listener on PORT and waits (bounded) until it accepts.
listen() {
  socat "TCP-LISTEN:$1,reuseaddr,fork" /dev/null &
  pids+=($!)
  for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  fail "no listener on $1"
}

# wait_line FILE EVENT: waits (bounded, 20 s) until FILE has EVENT for
# learned-listening-tcp-ports.
wait_line() {
  for _ in $(seq 200); do
    if grep -q "\"event\":\"$2\".*\"behavior\":\"learned-listening-tcp-ports\"" "$1"; then
      return 0
    fi
    sleep 0.1
  done
  fail "no $2 in $1: $(cat "$1")"
}

# events FILE: checks FILE's lines: every line is an event; prints
# "EVENT VALUE DATAPOINTS" for learned-listening-tcp-ports, in order.
events() {
  "$py" - "$1" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    assert set(e) == {"event", "time", "detail"}, e
    d = e["detail"]
    assert set(d) == {"behavior", "metric", "operator", "value", "datapoints"}, d
    assert e["event"] in ("detect.violation", "detect.cleared"), e
    if d["behavior"] == "learned-listening-tcp-ports":
        assert d["metric"] == "aws:listening-tcp-ports" and d["operator"] == "in-port-set", d
        print(e["event"], json.dumps(d["value"], separators=(",", ":")), d["datapoints"])
EOF
}

ip link set lo up
listen 8080

# ---- learn ----
"$bin" profile learn --for 3s --interval 1 -o "$tmp/P" 2>"$tmp/learn.err" ||
  fail "learn: $(cat "$tmp/learn.err")"
[ ! -e "$tmp/P.tmp" ] || fail "learn left P.tmp behind"
grep -q "learnt from 4 datapoints" "$tmp/learn.err" || fail "learn: $(cat "$tmp/learn.err")"
"$py" - "$tmp/P" <<'EOF' || fail "learnt profile: $(cat "$tmp/P")"
import json, sys
p = json.load(open(sys.argv[1]))
b = {x["name"]: x for x in p["behaviors"]}
tcp = b["learned-listening-tcp-ports"]
assert tcp["metric"] == "aws:listening-tcp-ports", tcp
assert tcp["criteria"]["comparisonOperator"] == "in-port-set", tcp
assert tcp["criteria"]["value"] == {"ports": [8080]}, tcp
assert b["learned-num-listening-tcp-ports"]["criteria"]["value"] == {"count": 1}
assert b["learned-listening-udp-ports"]["criteria"]["value"] == {"ports": []}
EOF
"$bin" profile check "$tmp/P" >"$tmp/check.out" || fail "check refused the learnt profile"
grep -qx 'learned-listening-tcp-ports aws:listening-tcp-ports in-port-set {"ports":\[8080\]} alarm=1 clear=1' \
  "$tmp/check.out" || fail "check: $(cat "$tmp/check.out")"
echo "ok: learn wrote a profile of port 8080 that check accepts"

# ---- test: a listener on 23 is a violation at the first datapoint ----
"$bin" profile test "$tmp/P" --interval 1 --count 3 >"$tmp/t1" 2>"$tmp/t1.err" && rc=0 || rc=$?
# Without a listener on 23 the device does what was learnt: no event at all.
[ "$rc" = 0 ] || fail "test without port 23: exit $rc: $(cat "$tmp/t1" "$tmp/t1.err")"
[ ! -s "$tmp/t1" ] || fail "test without port 23 reported: $(cat "$tmp/t1")"
listen 23
"$bin" profile test "$tmp/P" --interval 1 --count 3 >"$tmp/t2" 2>"$tmp/t2.err" && rc=0 || rc=$?
[ "$rc" = 1 ] || fail "test with port 23: exit $rc, want 1: $(cat "$tmp/t2.err")"
[ "$(events "$tmp/t2")" = "detect.violation [23] 1" ] || fail "test with port 23: $(cat "$tmp/t2")"
echo "ok: a listener on 23 is a violation of learned-listening-tcp-ports naming 23"

# ---- test: violation, then cleared when the listener goes ----
"$bin" profile test "$tmp/P" --interval 1 --count 30 >"$tmp/t3" 2>"$tmp/t3.err" &
tpid=$!
pids+=("$tpid")
wait_line "$tmp/t3" detect.violation
kill "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
wait_line "$tmp/t3" detect.cleared
kill -TERM "$tpid"
wait "$tpid" 2>/dev/null || true
[ "$(events "$tmp/t3")" = "detect.violation [23] 1
detect.cleared [] 1" ] || fail "violation then cleared: $(cat "$tmp/t3")"
echo "ok: the violation is cleared when the listener on 23 goes"
