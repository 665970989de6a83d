#!/usr/bin/env bash
# Decoding a capture: mamori-gw -r finding the X.1367 records in a pcap of
# mixed IoT traffic (MQTT, Modbus/TCP, CoAP, HTTP, ECHONET Lite), beside
# tshark -r decoding the same file with the same protocols, measured in the
# same run. See bench/README.md, part 6, for how to read it.
#
#   bash bench/gw.sh BINDIR        (bench/run.sh calls it after the SOC part)
#
# Environment (all optional):
#   GW_BENCH_PACKETS  packets in the pcap (default 1000000)
#   GW_BENCH_SEED     gen_pcap's seed (default 1)
#   GW_BENCH_DIR      where the pcap is cached (default BINDIR/../gw-bench): it
#                     is made once and again only when gen_pcap is newer
#   BENCH_REPS        runs of each program, alternating (default 3)
#   BENCH_TIMEOUT     seconds one run may take before it is stopped and
#                     counts as failed (default 900)
#
# Exit status: 0, or 1 when mamori-gw got something wrong: it is not built,
# exited non-zero, did not finish in time, printed a record that does not
# validate, or found other records than the ones gen_pcap wrote the traffic
# for (its error responses, one record each, by protocol). Speed never
# decides it; tshark failing is reported only, and so is a missing gen_pcap.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN=${1:-build-bench/bin}
N=${GW_BENCH_PACKETS:-1000000}
SEED=${GW_BENCH_SEED:-1}
REPS=${BENCH_REPS:-3}
TIMEOUT=${BENCH_TIMEOUT:-900}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GW="$BIN/mamori-gw"
GEN="$BIN/gen_pcap"
CLI="$BIN/mamori"
TARGET=10
# The X.1367 Protocol of each of gen_pcap's expect: keys (spaces as '_').
PROTOS=(MQTT_3.1.1 MQTT_5 Modbus/TCP CoAP HTTP ECHONET_Lite)

echo "== mamori-gw -r against tshark -r: a pcap of mixed IoT traffic decoded =="
echo
[ -x "$GW" ] || { echo "gw.sh: $GW not built; not run"; exit 1; }
# Without the generator nothing can be measured, but mamori-gw got nothing
# wrong either: say so, and leave the exit status to the rest.
[ -x "$GEN" ] || { echo "gw.sh: $GEN not built (bench/CMakeLists.txt); not run"; exit 0; }
have_tshark=1
command -v tshark >/dev/null || { echo "gw.sh: tshark not found (scripts/deps.sh installs it); its columns will say failed"; have_tshark=0; }

tmp=$(mktemp -d /tmp/mamori-bench-gw.XXXXXX)
# The run in progress, if any: measure() writes its process id here, since
# it runs in a command substitution whose variables the trap cannot see.
cleanup() {
	local p
	p=$(cat "$tmp/running" 2>/dev/null)
	[ -n "$p" ] && kill -KILL -- -"$p" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Both programs decode on one core, the same one, so that neither gets the
# other core for a second thread and the machine's other work stays off it.
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
have_time=0
[ -x /usr/bin/time ] && have_time=1

# ---- the pcap, made once and cached ----

cache=${GW_BENCH_DIR:-$BIN/../gw-bench}
mkdir -p "$cache" || { echo "gw.sh: cannot make $cache"; exit 1; }
PCAP="$cache/mixed-$N-s$SEED.pcap"
EXPECT="$cache/mixed-$N-s$SEED.txt"
if [ ! -s "$PCAP" ] || [ ! -s "$EXPECT" ] || [ "$GEN" -nt "$PCAP" ]; then
	rm -f "$PCAP" "$EXPECT"
	if ! "$GEN" mixed -n "$N" -s "$SEED" -o "$PCAP.tmp" 2>"$EXPECT.tmp"; then
		echo "gw.sh: gen_pcap failed:"
		sed 's/^/  /' "$EXPECT.tmp"
		rm -f "$PCAP.tmp" "$EXPECT.tmp"
		exit 0
	fi
	mv "$PCAP.tmp" "$PCAP" && mv "$EXPECT.tmp" "$EXPECT"
fi
gen=$(sed -n 's/^gen_pcap mixed: //p' "$EXPECT")
expect=$(sed -n 's/^expect: //p' "$EXPECT")
PACKETS=$(kv "$gen" packets)
EXPECT_TOTAL=$(kv "$expect" total)
if [ -z "$PACKETS" ] || [ -z "$EXPECT_TOTAL" ]; then
	echo "gw.sh: $EXPECT does not say what the pcap holds; delete it and run again"
	exit 1
fi

# ---- one measured run ----

# measure OUT ERR CMD...: runs CMD on the pinned core with its stdout in OUT
# and stderr in ERR, at most TIMEOUT seconds, and prints "exit=.. wall_s=..
# rss_kb=.. cpu_s=..". Peak RSS and CPU time come from GNU time (wait4's
# rusage: exact) when it is installed, else from /proc, read every 10 ms
# while CMD runs (so the last 10 ms may be missed). CMD runs in its own
# session, so that a run past its time is stopped with all it started.
measure() {
	local out=$1 err=$2 t0 t1 pid rc i st hwm="" cpu="" h c
	shift 2
	: >"$tmp/time"
	local tm=()
	[ "$have_time" = 1 ] && tm=(/usr/bin/time -o "$tmp/time" -f '%M %U %S')
	t0=$(date +%s%N)
	setsid "${pin[@]}" "${tm[@]}" "$@" >"$out" 2>"$err" &
	pid=$!
	echo "$pid" >"$tmp/running"
	for ((i = 0; ; i++)); do
		st=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
		[ -z "$st" ] || [ "$st" = Z ] && break
		if [ "$have_time" = 0 ]; then
			h=$(vmhwm "$pid")
			c=$(cpu_s "$pid")
			[ -n "$h" ] && hwm=$h
			[ -n "$c" ] && cpu=$c
		fi
		if ((i >= TIMEOUT * 100)); then
			kill -KILL -- -"$pid" 2>/dev/null
			break
		fi
		sleep 0.01
	done
	wait "$pid"
	rc=$?
	t1=$(date +%s%N)
	: >"$tmp/running"
	if [ "$have_time" = 1 ]; then
		read -r hwm u s < <(tail -n1 "$tmp/time")
		cpu=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.3f", u + s}')
	fi
	((i >= TIMEOUT * 100)) && rc=timeout
	echo "exit=$rc wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}') rss_kb=$hwm cpu_s=$cpu"
}

rate() { awk -v n="$PACKETS" -v s="$1" 'BEGIN {if (s > 0) printf "%.0f", n / s}'; }

# The value of KEY in a "k=v k=v" line, for keys that hold a '/'
# (Modbus/TCP), which lib.sh's kv cannot take.
val() { tr ' ' '\n' <<<"$1" | awk -v k="$2=" 'index($0, k) == 1 {print substr($0, length(k) + 1); exit}'; }

# ---- mamori-gw ----

# The configuration: the source tree's mapping tables, otherwise defaults.
cat >"$tmp/gw.conf" <<EOF
[tables]
errmap = $SRC/data/errmap
EOF

# The records of one run, by protocol, as "MQTT_5=.. CoAP=.." ('_' for spaces).
count_records() {
	grep -o '"Protocol": *"[^"]*"' "$1" | sed 's/^"Protocol": *"//; s/"$//; s/ /_/g' |
		sort | uniq -c | awk '{printf "%s=%s ", $2, $1}'
}

run_gw() {
	local d="$tmp/gw.$1" m rc got g e p bad=0 valid codes10
	mkdir -p "$d"
	m=$(measure "$d/out.jsonl" "$d/err" "$GW" -f "$tmp/gw.conf" --spool "$d/spool" -r "$PCAP")
	rc=$(kv "$m" exit)
	got=$(count_records "$d/out.jsonl")
	codes10=$(grep -c '"Error Code": *"10"' "$d/out.jsonl")
	# Every record must be one mamori's strict decoder accepts.
	valid=skipped
	if [ -x "$CLI" ]; then
		if "$CLI" x1367 validate --quiet "$d/out.jsonl" >"$d/validate" 2>&1; then
			valid=yes
		else
			valid=no
			bad=1
		fi
	fi
	for p in "${PROTOS[@]}"; do
		g=$(val "$got" "$p")
		e=$(val "$expect" "$p")
		[ -n "$e" ] && [ "${g:-0}" = "$e" ] || bad=1
	done
	[ "$(wc -l <"$d/out.jsonl")" = "$EXPECT_TOTAL" ] || bad=1
	wc -l <"$d/out.jsonl" >"$tmp/gw.found.$1"
	echo "mamori-gw run $1: $m records=$(wc -l <"$d/out.jsonl") valid=$valid no_response=$codes10 | $got" >>"$tmp/detail"
	sed -n 's/.*mamori-gw\(\[[0-9]*\]\)\{0,1\}: *\(frames\|flows\|records\) /    \2 /p' "$d/err" >>"$tmp/detail"
	grep -v ' \(frames\|flows\|records\) ' "$d/err" | sed 's/^/    stderr: /' | head -n 10 >>"$tmp/detail"
	[ "$valid" = no ] && sed 's/^/    validate: /' "$d/validate" | head -n 5 >>"$tmp/detail"
	if [ "$rc" != 0 ]; then
		echo "error=exit-$rc"
	elif [ "$bad" = 1 ]; then
		echo "error=records-differ"
	else
		echo "rate=$(rate "$(kv "$m" wall_s)") cpurate=$(rate "$(kv "$m" cpu_s)") rss_kb=$(kv "$m" rss_kb) cpu_s=$(kv "$m" cpu_s) found=$(wc -l <"$d/out.jsonl")"
	fi
	# Keep one run's records for a look afterwards; the rest go.
	[ "$1" = 1 ] && cp "$d/out.jsonl" "$cache/mamori-gw-records.jsonl" 2>/dev/null
	rm -rf "$d"
}

# ---- tshark ----

# tshark decodes the same ports as the same protocols (-d makes it explicit;
# they are its defaults too), without name resolution (-n): mamori-gw resolves
# no names either. tshark has no ECHONET Lite dissector, so its ECHONET Lite
# errors are the UDP payloads to or from port 3610 that carry EHD 0x1081 and
# an ESV from 0x50 to 0x5F.
DECODE=(-d tcp.port==1883,mqtt -d tcp.port==502,mbtcp -d udp.port==5683,coap
	-d tcp.port==80,http -d tcp.port==8080,http)
ERRORS='mqtt.conack.val > 0 || mqtt.connack.reason_code >= 0x80 || mqtt.suback.qos >= 0x80
	|| mqtt.suback.reason_code >= 0x80 || mqtt.puback.reason_code >= 0x80
	|| modbus.exception_code || coap.code >= 128 || http.response.code >= 400
	|| (udp.port == 3610 && data.data[0:2] == 10:81 && data.data[10] >= 0x50 && data.data[10] <= 0x5f)'

# tshark, mode errors: the same job as mamori-gw's: every packet dissected
# with its protocol tree, the error responses picked by a display filter and
# printed, one line each. Mode summary: tshark's plain one line per packet,
# every dissector run, reassembly included, but no tree built.
run_tshark() {
	local mode=$1 d="$tmp/tshark.$1.$2" m rc found=""
	mkdir -p "$d"
	if [ "$have_tshark" != 1 ]; then
		echo "error=tshark-not-installed"
		return
	fi
	if [ "$mode" = errors ]; then
		m=$(measure "$d/out" "$d/err" tshark -n -r "$PCAP" "${DECODE[@]}" -Y "$ERRORS" \
			-T fields -e frame.number -e frame.protocols)
		found=$(wc -l <"$d/out")
	else
		m=$(measure "$d/out" "$d/err" tshark -n -r "$PCAP" "${DECODE[@]}")
	fi
	rc=$(kv "$m" exit)
	echo "tshark ($mode) run $2: $m lines=$(wc -l <"$d/out")" >>"$tmp/detail"
	grep -v 'Running as user "root"' "$d/err" | sed 's/^/    tshark: /' | head -n 5 >>"$tmp/detail"
	rm -rf "$d"
	if [ "$rc" != 0 ]; then
		echo "error=exit-$rc"
		return
	fi
	echo "rate=$(rate "$(kv "$m" wall_s)") cpurate=$(rate "$(kv "$m" cpu_s)") rss_kb=$(kv "$m" rss_kb) cpu_s=$(kv "$m" cpu_s) found=$found"
}

echo "pcap: $PCAP"
echo "      $PACKETS packets, $(awk -v b="$(kv "$gen" bytes)" 'BEGIN {printf "%.1f MB", b / 1e6}')," \
	"$(kv "$gen" seconds) s of traffic; $(sed -n 's/^packets by protocol: //p' "$EXPECT")"
echo "      error responses written (the records to find): $expect"
echo "mamori-gw: -f CONF -r PCAP > records.jsonl (CONF names data/errmap; otherwise defaults)"
echo "tshark (errors): tshark -n -r PCAP -d ... -Y '<error responses>' -T fields -e frame.number -e frame.protocols"
echo "tshark (summary): tshark -n -r PCAP -d ...   (one summary line per packet)"
echo "each on CPU 0 ($( [ ${#pin[@]} -gt 0 ] && echo taskset || echo "not pinned: no taskset")), output to a file;" \
	"time = start to exit; $REPS runs each, alternating;" \
	"peak RSS from $( [ "$have_time" = 1 ] && echo "GNU time (wait4)" || echo "/proc every 10 ms")"
echo

: >"$tmp/detail"
m_res=()
e_res=()
s_res=()
for ((rep = 1; rep <= REPS; rep++)); do
	m_res+=("$(run_gw "$rep")")
	e_res+=("$(run_tshark errors "$rep")")
	s_res+=("$(run_tshark summary "$rep")")
done

summarise m "${m_res[@]}"
summarise e "${e_res[@]}"
summarise s "${s_res[@]}"
m_cpurate=$(collect cpurate "${m_res[@]}" | median)
e_cpurate=$(collect cpurate "${e_res[@]}" | median)
s_cpurate=$(collect cpurate "${s_res[@]}" | median)
# What mamori-gw's first run found, right or wrong.
m_found=$(cat "$tmp/gw.found.1" 2>/dev/null)
e_found=$(collect found "${e_res[@]}" | head -n1)

line() { printf '| %-36s | %-12s | %-15s | %-16s |\n' "$@"; }
line "what" "mamori-gw -r" "tshark (errors)" "tshark (summary)"
printf '|%s|%s|%s|%s|\n' "--------------------------------------" "--------------" \
	"-----------------" "------------------"
line "packets/s, wall clock (median)" "$(fmt_rate "$m_rate")" "$(fmt_rate "$e_rate")" "$(fmt_rate "$s_rate")"
line "packets per CPU second (median)" "$(fmt_rate "$m_cpurate")" "$(fmt_rate "$e_cpurate")" "$(fmt_rate "$s_cpurate")"
line "peak memory, VmHWM (max)" "$(fmt_mib "$m_rss")" "$(fmt_mib "$e_rss")" "$(fmt_mib "$s_rss")"
line "CPU seconds (median)" "$(fmt_s "$m_cpu")" "$(fmt_s "$e_cpu")" "$(fmt_s "$s_cpu")"
line "error responses found / written" "${m_found:-?}/$EXPECT_TOTAL" "${e_found:-?}/$EXPECT_TOTAL" "-"
line "complete runs" "$m_ok/$REPS" "$e_ok/$REPS" "$s_ok/$REPS"
echo
echo "ratio, packets/s: $(ratio "$m_rate" "$e_rate" "mamori-gw/tshark errors, the same job")"
echo "ratio, packets/s: $(ratio "$m_rate" "$s_rate" "mamori-gw/tshark summary, its fastest full decode")"
echo "ratio, packets per CPU second: $(ratio "$m_cpurate" "$e_cpurate" "mamori-gw/tshark errors")," \
	"$(ratio "$m_cpurate" "$s_cpurate" "mamori-gw/tshark summary")"
echo "ratio, peak memory: $(ratio "$e_rss" "$m_rss" "tshark errors/mamori-gw, >1: mamori-gw smaller")"
echo
echo "runs:"
sed 's/^/  /' "$tmp/detail"
echo

# The target is judged against the faster of tshark's two modes.
t_rate=$(printf '%s\n' "$e_rate" "$s_rate" | grep . | maxof)
if [ -n "$m_rate" ] && [ -n "$t_rate" ]; then
	r=$(awk -v a="$m_rate" -v b="$t_rate" 'BEGIN {printf "%.1f", a / b}')
	verdict=$(awk -v r="$r" -v t="$TARGET" 'BEGIN {print (r >= t ? "met" : "not met")}')
	echo "target: >= ${TARGET}x tshark's packets/s (its faster mode): $verdict" \
		"(${r}x: $(fmt_rate "$m_rate") against $(fmt_rate "$t_rate") packets/s;" \
		"mamori-gw peak RSS $(fmt_mib "$m_rss"))"
else
	echo "target: >= ${TARGET}x tshark's packets/s: a figure is missing"
fi
[ "$m_ok" = "$REPS" ] || exit 1
exit 0
