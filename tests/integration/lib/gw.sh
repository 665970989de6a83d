# Shared helpers of mamori-gw's integration scenarios: two network
# namespaces joined by a veth pair (the client side 10.77.N.1 and fd77:N::1;
# the server side 10.77.N.2, a second device 10.77.N.3, and fd77:N::2), a
# real mamori-soc and mamori-gw in the client namespace, mamori-gw
# capturing on the client side's veth, tcpdump on the same veth as an oracle
# that shares no code with mamori-gw (lib/pcap_payloads.py), and checks of
# exact X.1367 records. Source it after setting MAMORI_BIN; it sources
# peers.sh and soc.sh and replaces their EXIT trap with one that also kills
# everything left in the namespaces and deletes them.
#
# Every curl of a scenario runs in the client namespace (see curl() below):
# the SOC's API listens on that namespace's loopback, and the HTTP clients
# of the scenarios are clients there too.
# shellcheck shell=bash

# shellcheck source=peers.sh
. "$(dirname "${BASH_SOURCE[0]}")/peers.sh"
# shellcheck source=soc.sh
. "$(dirname "${BASH_SOURCE[0]}")/soc.sh"

gw_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gw_src=${MAMORI_SRC:-$(cd "$gw_lib/../../.." && pwd)}
gw_bin="$MAMORI_BIN/mamori-gw"
[ -x "$gw_bin" ] || fail "no $gw_bin"
[ "$(id -u)" = 0 ] || fail "network namespaces need root"
for t in ip tcpdump python3; do
  command -v "$t" >/dev/null || fail "$t is not installed (scripts/deps.sh)"
done
gw_status="This message was sent from IDS not IoTGW"

# The names are unique to this shell, so that scenarios run side by side.
gw_n=$(($$ % 250 + 1))
gw_nsc="mgw-c-$$"
gw_nss="mgw-s-$$"
gw_ifc="mgwc$$"
gw_ifs="mgws$$"
gw_c="10.77.$gw_n.1"
gw_s="10.77.$gw_n.2"
gw_s2="10.77.$gw_n.3"
gw_c6="fd77:$gw_n::1"
gw_s6="fd77:$gw_n::2"

# The EXIT trap: processes first (the ones this script started, then any
# left inside its namespaces, such as the children of a loop), then the
# namespaces; on failure the daemons' logs are shown; then $tmp goes.
gw_cleanup() {
  local rc=$? ns p f
  # Nothing may stop the cleanup half way: neither a failing command nor a
  # reader of our output that went away.
  set +e
  trap '' PIPE
  # The shell's own "Killed" notices of its jobs are noise here.
  {
    for p in "${pids[@]}"; do
      kill -9 "$p" || true
    done
    for ns in "$gw_nsc" "$gw_nss"; do
      for p in $(ip netns pids "$ns"); do
        kill -9 "$p" || true
      done
    done
    for p in "${pids[@]}"; do
      wait "$p" || true
    done
  } 2>/dev/null
  for ns in "$gw_nsc" "$gw_nss"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del "$gw_ifc" 2>/dev/null || true
  if [ "$rc" -ne 0 ] && [ -d "${tmp:-}" ]; then
    for f in gw.log soc.err tcpdump.err; do
      [ -s "$tmp/$f" ] && { echo "--- $f (last lines)" >&2; tail -n 15 "$tmp/$f" >&2; }
    done
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap gw_cleanup EXIT

# file_has PATTERN FILE: grep -q that is quiet while FILE does not exist yet.
file_has() { grep -q -- "$1" "$2" 2>/dev/null; }

in_c() { ip netns exec "$gw_nsc" "$@"; }
in_s() { ip netns exec "$gw_nss" "$@"; }

# curl in the client namespace, for the SOC's API (soc.sh's helpers) and
# for the HTTP requests of the scenarios.
curl() { ip netns exec "$gw_nsc" curl "$@"; }

# Makes both namespaces, the veth pair and the addresses (IPv6 without
# duplicate address detection, so that it is usable at once).
gw_net_up() {
  ip netns add "$gw_nsc" || fail "ip netns add $gw_nsc"
  ip netns add "$gw_nss" || fail "ip netns add $gw_nss"
  ip link add "$gw_ifc" type veth peer name "$gw_ifs" || fail "ip link add veth"
  ip link set "$gw_ifc" netns "$gw_nsc"
  ip link set "$gw_ifs" netns "$gw_nss"
  in_c ip link set lo up
  in_s ip link set lo up
  in_c ip addr add "$gw_c/24" dev "$gw_ifc"
  in_s ip addr add "$gw_s/24" dev "$gw_ifs"
  in_s ip addr add "$gw_s2/24" dev "$gw_ifs"
  in_c ip -6 addr add "$gw_c6/64" dev "$gw_ifc" nodad
  in_s ip -6 addr add "$gw_s6/64" dev "$gw_ifs" nodad
  in_c ip link set "$gw_ifc" up
  in_s ip link set "$gw_ifs" up
  wait_for link_up c "$gw_ifc" || fail "veth $gw_ifc did not come up"
  wait_for link_up s "$gw_ifs" || fail "veth $gw_ifs did not come up"
}

# link_up c|s IFACE: true when the interface's operational state is UP.
link_up() {
  local state
  state=$(ip netns exec "$([ "$1" = c ] && echo "$gw_nsc" || echo "$gw_nss")" \
    cat "/sys/class/net/$2/operstate" 2>/dev/null)
  [ "$state" = up ]
}

# bg NS NAME CMD...: runs CMD in namespace NS (c or s) in the background,
# stdout to $tmp/NAME.out and stderr to $tmp/NAME.err; sets NAME_pid.
bg() {
  local ns=$1 name=$2
  shift 2
  if [ "$ns" = c ]; then ns=$gw_nsc; else ns=$gw_nss; fi
  ip netns exec "$ns" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=("$!")
  eval "${name}_pid=$!"
}

# Stops the process of pid $1 (a child of this shell) with signal $2
# (default TERM) and waits up to 10 s for it; sets stop_status to its exit
# status, or "timeout" when it did not end.
stop_pid() {
  local pid=$1 sig=${2:-TERM} i
  kill -s "$sig" "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    stop_status=timeout
    return 0
  fi
  stop_status=0
  wait "$pid" 2>/dev/null || stop_status=$?
}

# The number of packet sockets open in the client namespace (tcpdump's,
# mamori-gw's): a capture is running once its socket is there.
packet_sockets() {
  in_c awk 'NR > 1' /proc/net/packet | wc -l
}
sockets_at_least() { [ "$(packet_sockets)" -ge "$1" ]; }

# Starts tcpdump on the client's veth, writing $tmp/cap.pcap packet by
# packet with nanosecond stamps; immediate mode, so that nothing waits in the
# kernel's buffer when it is stopped.
gw_capture_start() {
  local before
  before=$(packet_sockets)
  bg c tcpdump tcpdump -i "$gw_ifc" -n -U --immediate-mode -s 0 --time-stamp-precision=nano -w "$tmp/cap.pcap"
  wait_for sockets_at_least $((before + 1)) || fail "tcpdump did not start: $(cat "$tmp/tcpdump.err")"
  wait_for file_has "listening on" "$tmp/tcpdump.err" || fail "tcpdump did not start: $(cat "$tmp/tcpdump.err")"
}

# Stops tcpdump and writes the oracle: $tmp/oracle.txt, one line per packet
# with payload (see pcap_payloads.py for the fields).
gw_capture_stop() {
  stop_pid "$tcpdump_pid" INT
  [ "$stop_status" = 0 ] || fail "tcpdump ended with $stop_status: $(cat "$tmp/tcpdump.err")"
  python3 "$gw_lib/pcap_payloads.py" "$tmp/cap.pcap" >"$tmp/oracle.txt" ||
    fail "pcap_payloads.py could not read the capture"
}

# oracle AWK-CONDITION: the oracle lines the condition selects (awk may be
# mawk: no {n} intervals in its regular expressions). Fields: $1
# number, $2 time, $3 src, $4 sport, $5 dst, $6 dport, $7 tcp|udp, $8 TCP
# flags, $9 payload hex (upper case).
oracle() {
  awk "$1" "$tmp/oracle.txt"
}
# oracle_one DESCRIPTION AWK-CONDITION: the one line the condition selects,
# or fail.
oracle_one() {
  local out n
  out=$(oracle "$2")
  n=$(printf '%s' "$out" | grep -c . || true)
  [ "$n" = 1 ] || fail "oracle: $n packets for $1, want 1: $(printf '%s' "$out" | cut -c1-200)"
  printf '%s\n' "$out"
}

# Starts mamori-soc in the client namespace with a RELP listener on its
# loopback; sets soc_api and soc_relp (the port).
gw_soc_start() {
  soc_relp=$(pick_port)
  local hp
  hp=$(pick_port)
  bg c soc "$soc_bin" -d --store "sqlite:$tmp/soc.db" --state "$tmp/soc.state" \
    --listen "relp://127.0.0.1:$soc_relp" --http "127.0.0.1:$hp"
  soc_api="http://127.0.0.1:$hp"
  wait_for curl -fs -o /dev/null "$soc_api/health" ||
    fail "mamori-soc did not start: $(cat "$tmp/soc.err")"
}

# gw_start ARGS...: mamori-gw capturing live on the client's veth with the
# tables of data/errmap ($tmp/gw.conf) and a 2 s request timeout, sending to
# the SOC over RELP, printing records on stdout ($tmp/gw.out; its log is
# $tmp/gw.log). Returns once its capture socket is open.
gw_start() {
  local before
  before=$(packet_sockets)
  mkdir -p "$tmp/spool"
  # The mapping tables of the source tree, not whatever is installed.
  printf '[tables]\nerrmap = %s\n' "$gw_src/data/errmap" >"$tmp/gw.conf"
  ip netns exec "$gw_nsc" "$gw_bin" -d -f "$tmp/gw.conf" -i "$gw_ifc" --soc "relp://127.0.0.1:$soc_relp" \
    --spool "$tmp/spool" --reporter "ip:$gw_c" --print --timeout 2000 "$@" \
    >"$tmp/gw.out" 2>"$tmp/gw.log" &
  gw_pid=$!
  pids+=("$gw_pid")
  wait_for sockets_at_least $((before + 1)) || fail "mamori-gw did not open its capture"
  # The socket exists a moment before the filter and ring are in place.
  sleep 0.5
  kill -0 "$gw_pid" 2>/dev/null || fail "mamori-gw exited at start"
}

# Stops mamori-gw with SIGTERM, which must make it exit 0 within 10 s.
gw_stop() {
  stop_pid "$gw_pid" TERM
  [ "$stop_status" = 0 ] || fail "mamori-gw ended with $stop_status after SIGTERM, want 0"
}

# The X.1367 records of a mamori-gw output file (default $tmp/gw.out), one
# compact JSON object a line; its other lines (events) are left out. Fails
# when a line is not JSON.
gw_records() {
  local f=${1:-$tmp/gw.out}
  jq -c 'select(has("Error Code"))' "$f" || fail "$f holds a line that is not JSON"
}
# shellcheck disable=SC2120 # gw_pcap.sh passes the replay's output file
records_count() { gw_records "$@" | grep -c . || true; }
records_at_least() { [ "$(records_count)" -ge "$1" ]; }

# record_where JQ-CONDITION: the one record the condition selects, or fail.
record_where() {
  local out n
  out=$(gw_records | jq -c "select($1)")
  n=$(printf '%s' "$out" | grep -c . || true)
  [ "$n" = 1 ] || fail "$n records where $1, want 1; records: $(gw_records)"
  printf '%s\n' "$out"
}

# check_record REC CODE MESSAGE PROTOCOL REQ-IP REQ-HEX RESP-IP RESP-HEX [FLOW]
# Asserts every field of record REC exactly: the Reporter is the client's
# address, Description Status the IDS sentence, Description Flow (when
# given) FLOW, the Timestamp of RFC 3339 form.
check_record() {
  local rec=$1 want got
  local -a names=("Error Code" "Error Message" "Protocol" "Requester IP" "Requester code"
    "Responder IP" "Responder code" "Reporter" "Status")
  local -a wants=("$2" "$3" "$4" "$5" "$6" "$7" "$8" "$gw_c" "$gw_status")
  local -a paths=('."Error Code"' '."Error Message"' '.Protocol' '.Requester."IP Address"'
    '.Requester."Transmitted Code"' '.Responder."IP Address"' '.Responder."Transmitted Code"'
    '.Reporter."IP Address"' '.Description.Status')
  if [ $# -ge 9 ]; then
    names+=("Flow")
    wants+=("$9")
    paths+=('.Description.Flow')
  fi
  local i
  for i in "${!names[@]}"; do
    want=${wants[$i]}
    got=$(jq -r "${paths[$i]} // \"(absent)\"" <<<"$rec")
    [ "$got" = "$want" ] || fail "${names[$i]}: got '$got', want '$want' in $rec"
  done
  got=$(jq -r '.Timestamp' <<<"$rec")
  [[ "$got" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+Z$ ]] ||
    fail "Timestamp '$got' is not RFC 3339 UTC with a fraction in $rec"
}

# The X.1367 events the SOC stored with Reporter $gw_c, as a JSON array.
soc_records() {
  events "$soc_api" "kind=x1367&reporter=$gw_c&limit=1000"
}
soc_has() { [ "$(soc_records | jq length)" -ge "$1" ]; }

# soc_check N: waits until the SOC stored N records of this reporter, then
# asserts that they are exactly the records mamori-gw printed (each stored
# record equal, field by field, to one printed record, strictly decoded).
soc_check() {
  local n=$1 stored printed
  wait_for soc_has "$n" || fail "the SOC stored $(soc_records | jq length) records, want $n"
  stored=$(soc_records)
  [ "$(jq length <<<"$stored")" = "$n" ] ||
    fail "the SOC stored $(jq length <<<"$stored") records, want $n: $stored"
  [ "$(jq '[.[] | select(.lenient)] | length' <<<"$stored")" = 0 ] ||
    fail "the SOC stored records of mamori-gw leniently: $stored"
  [ "$(jq -r '[.[].app_name] | unique | join(",")' <<<"$stored")" = mamori-gw ] ||
    fail "APP-NAME of the stored records is not mamori-gw: $stored"
  [ "$(jq -r '[.[].msgid] | unique | join(",")' <<<"$stored")" = X1367 ] ||
    fail "MSGID of the stored records is not X1367: $stored"
  [ "$(jq -r '[.[].transport] | unique | join(",")' <<<"$stored")" = relp ] ||
    fail "the stored records did not come over RELP: $stored"
  [ "$(jq '[.[] | select((.code_hex | ascii_upcase) != (.record."Error Code" | ascii_upcase) or
      .requester != .record.Requester."IP Address" or
      .responder != .record.Responder."IP Address")] | length' <<<"$stored")" = 0 ] ||
    fail "the SOC's code or parties differ from its records: $stored"
  printed=$(gw_records | jq -s -c .)
  stored=$(jq -c 'map(.record)' <<<"$stored")
  # jq compares objects by their members, whatever their order.
  jq -e -n --argjson a "$printed" --argjson b "$stored" '($a | sort) == ($b | sort)' >/dev/null ||
    fail "the SOC's records differ from those mamori-gw printed: printed $printed stored $stored"
}
