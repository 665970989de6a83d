#!/usr/bin/env bash
# Checks mamori-gw's configuration and command line: `-n` accepts a good
# mamori-gw.conf and names the tables it loaded; a bad value, an unknown key,
# a port given to two decoders, a broken mapping table, a bad reporter or a
# bad --soc URL is refused with a message that says exactly what and where,
# and the exit status the man page promises.
set -euo pipefail
gw="${MAMORI_BIN:?}/mamori-gw"
src="${MAMORI_SRC:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect STATUS MESSAGE ARGS...: runs mamori-gw ARGS, checks its exit status and
# that its output (stdout and stderr) is exactly MESSAGE.
expect() {
  local want=$1 msg=$2 got
  shift 2
  set +e
  "$gw" "$@" >"$tmp/out" 2>&1
  got=$?
  set -e
  [ "$got" = "$want" ] || fail "exit $got, want $want: mamori-gw $*: $(cat "$tmp/out")"
  [ "$(cat "$tmp/out")" = "$msg" ] || fail "mamori-gw $*: got '$(cat "$tmp/out")', want '$msg'"
}
conf() { printf '%b' "$1" >"$tmp/gw.conf"; }

conf "[capture]\ninterfaces = lo\nfilter = not port 22\n[reporter]\nid = ip:192.168.2.11\ntimeout = 3000\n[tables]\nerrmap = $src/data/errmap/modbus.map, $src/data/errmap/mqtt.map\n[ports]\nhttp = 80, 8080, 8000\nmodbus = 502, 1502\n[stats]\ndevices = 192.168.2.0/24, fd00::/8\n[silence]\nhttp = no\n"
expect 0 "mamori-gw: configuration good (3 tables, 46 entries)" -n -f "$tmp/gw.conf"
echo "ok: a good configuration is accepted with its tables counted"

conf "[capture]\ninterfaces = lo\n[ports]\nhttp = 80, 99999\n"
expect 1 "mamori-gw: [ports] http: not a port: 99999" -n -f "$tmp/gw.conf"
conf "[capture]\ninterfaces = lo\n[ports]\nhttp = 1883\n"
expect 1 "mamori-gw: [ports] http: port 1883 is already mqtt's" -n -f "$tmp/gw.conf"
conf "[capture]\nbogus = 1\n"
expect 1 "mamori-gw: $tmp/gw.conf:2: unknown key 'bogus' in section [capture]" -n -f "$tmp/gw.conf"
conf "[flows]\nmax_flows = 3\n"
expect 1 "mamori-gw: $tmp/gw.conf:2: max_flows: 3 is out of range 16..16777216" -n -f "$tmp/gw.conf"
conf "[stats]\ndevices = 10.0.0.0/33\n"
expect 1 "mamori-gw: [stats] devices: not an address/prefix: 10.0.0.0/33" -n -i lo -f "$tmp/gw.conf"
printf '[protocol "Modbus/TCP"]\n0x01 = 3G\n' >"$tmp/bad.map"
conf "[tables]\nerrmap = $tmp/bad.map\n"
expect 1 "mamori-gw: $tmp/bad.map:2: standard code must be two hex digits, like 30 or 0x30" -n -i lo -f "$tmp/gw.conf"
echo "ok: bad values, unknown keys, shared ports and broken tables are named with their place"

expect 1 "mamori-gw: reporter: expected ip:ADDR, name:NAME, id:ID or mac:MAC that X.1367 accepts: ip:999.1.1.1" \
  -n -i lo --reporter ip:999.1.1.1
expect 2 "mamori-gw: nothing to capture: give -i IFACE, -r FILE or [capture] interfaces" -n -f /dev/null
expect 2 "mamori-gw: -r and -i do not go together" -r x.pcap -i lo
expect 1 "mamori-gw: --timeout: expected a number from 1 to 86400000: soon" -r x.pcap --timeout soon
expect 1 "mamori-gw: --soc: expected udp://, tcp://, tls://, relp:// or relp+tls://HOST:PORT or none: http://x" \
  -n -i lo --soc http://x
"$gw" --help | grep -q -- "--stats-interval SEC" || fail "--help does not list --stats-interval"
"$gw" --version | grep -Eq '^mamori-gw [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version: $("$gw" --version)"
echo "ok: the command line is checked and --help tells the options"
