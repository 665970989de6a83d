#!/usr/bin/env bash
# mamorid's detect, audit and inventory on this machine: the CPU time one
# metrics interval costs the device process (gather the metrics, check the
# profile, write the report) beside the same metrics gathered the way a
# device maker would glue them without mamori (ss for the sockets, /proc/net/dev
# and /proc for the counters, once per interval from a shell); the share of
# one core that the whole agent (guard, reporter, device process) takes at a
# 10 s interval; its memory (VmRSS and PSS of each process); the CPU of one
# audit and one SBOM; and the stripped size of mamorid here and, when
# `make cross` has run, for armel and mipsel. See bench/README.md, part 8.
#
#   bash bench/device.sh BINDIR        (bench/run.sh calls it after part 7)
#
# Environment (all optional):
#   DEVICE_BENCH_FAST_S    seconds measured at a 1 s interval (default 30)
#   DEVICE_BENCH_SLOW_S    seconds measured at a 10 s interval (default 60)
#   DEVICE_BENCH_PEER_N    intervals of the shell peer (default 200)
#
# mamorid runs in monitor mode in a private mount namespace (unshare -m),
# guarding one bind mount of the benchmark's folder (--watch), with the
# behaviour watch off and detect, audit and inventory on, as a device would
# run them; the audit and the inventory look at this machine's own root.
# Exit status: 0, or 1 when mamorid did not start, wrote no metrics report,
# or did not complete its audit and inventory. Speed never decides it.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN=${1:-build-bench/bin}
FAST_S=${DEVICE_BENCH_FAST_S:-30}
SLOW_S=${DEVICE_BENCH_SLOW_S:-60}
PEER_N=${DEVICE_BENCH_PEER_N:-200}
HZ=$(getconf CLK_TCK)
TARGET_RSS_KB=4096
TARGET_CPU_PCT=1

# ticks PID: user + system ticks of PID and of its waited-for children.
ticks() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13 + $14 + $15}'
}

# ns PID: nanoseconds PID's threads have run (schedstat), finer than ticks.
ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'
}

# kb PID FIELD: a field of /proc/PID/status (VmRSS) or smaps_rollup (Pss), KiB.
kb() {
	local f=status
	[ "$2" = Pss ] && f=smaps_rollup
	awk -v k="$2:" '$1 == k {print $2; exit}' "/proc/$1/$f" 2>/dev/null
}

# The agent's processes: the guard and its children, with their names.
procs() {
	local p=$1 c
	echo "$p"
	for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
		echo "$c"
	done
}

child_named() {
	local c
	for c in $(procs "$1"); do
		[ "$(cat /proc/"$c"/comm 2>/dev/null)" = "$2" ] && { echo "$c"; return; }
	done
}

# wait_for FILE PATTERN SECONDS: until FILE has a line matching PATTERN.
wait_for() {
	local end=$((SECONDS + $3))
	while [ "$SECONDS" -le "$end" ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# start NAME INTERVAL: mamorid on its own state folder; sets mpid.
start() {
	local name=$1 conf=$WORK/$1.conf
	cat >"$conf" <<EOF
[agent]
device_id = bench-device
heartbeat = 3600
[behaviour]
enabled = no
[detect]
interval = $2
profile = $SRC/data/profiles/default.json
report_format = aws
[audit]
enabled = yes
[inventory]
enabled = yes
EOF
	"$BIN/mamorid" -d -f "$conf" --mode monitor --watch "$MNT" --state "$WORK/$name.state" \
		--soc none >"$WORK/$name.log" 2>&1 &
	mpid=$!
	echo "$mpid" >>"$WORK/pids"
	wait_for "$WORK/$name.state/events.jsonl" '"audit.completed"' 300 &&
		wait_for "$WORK/$name.state/events.jsonl" '"inventory.sbom"' 60 &&
		[ -s "$WORK/$name.state/device/metrics.json" ] || {
		echo "device.sh: mamorid ($name) did not complete its first audit, SBOM and metrics:" >&2
		tail -n 20 "$WORK/$name.log" >&2
		return 1
	}
}

stop() {
	kill -TERM "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
}

inner() {
	local dev t0 t1 rc=0
	mkdir -p "$WORK/mnt"
	MNT=$WORK/mnt
	mount --bind "$MNT" "$MNT" || { echo "device.sh: bind mount failed" >&2; return 1; }

	# ---- a 1 s interval: the cost of one interval ----
	start fast 1 || return 1
	dev=$(child_named "$mpid" mamorid-device)
	[ -n "$dev" ] || { echo "device.sh: no mamorid-device process" >&2; return 1; }
	# The audit child has been reaped: its CPU is in the device's cutime.
	echo "audit_and_first_sbom_ticks=$(ticks "$dev")" >>"$WORK/res"
	t0=$(ns "$dev")
	sleep "$FAST_S"
	t1=$(ns "$dev")
	echo "fast_ns=$((t1 - t0)) fast_s=$FAST_S" >>"$WORK/res"
	stop

	# ---- a 10 s interval: the whole agent's share of a core, and memory ----
	start slow 10 || return 1
	sleep 2
	local p all0=0 all1=0 rss=0 pss=0 each=""
	for p in $(procs "$mpid"); do all0=$((all0 + $(ns "$p"))); done
	sleep "$SLOW_S"
	for p in $(procs "$mpid"); do
		all1=$((all1 + $(ns "$p")))
		rss=$((rss + $(kb "$p" VmRSS)))
		pss=$((pss + $(kb "$p" Pss)))
		each+="$(cat /proc/"$p"/comm) VmRSS $(kb "$p" VmRSS) Pss $(kb "$p" Pss) RssAnon $(kb "$p" RssAnon); "
	done
	echo "slow_ns=$((all1 - all0)) slow_s=$SLOW_S rss_kb=$rss pss_kb=$pss nprocs=$(procs "$mpid" | wc -l)" >>"$WORK/res"
	echo "$each" >"$WORK/each"
	cp "$WORK/slow.state/device/metrics.json" "$WORK/report.json" 2>/dev/null
	stop
	return $rc
}

if [ "${1:-}" = --in-namespace ]; then
	shift
	BIN=$1 WORK=$2 SRC=$3
	inner
	exit $?
fi

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(cd "$BIN" && pwd)
[ -x "$BIN/mamorid" ] || { echo "device.sh: no $BIN/mamorid" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "device.sh: mamorid needs root" >&2; exit 1; }
WORK=$(mktemp -d "$BIN/../device-bench.XXXXXX")
chmod 755 "$WORK"
cleanup() {
	local p
	for p in $(cat "$WORK/pids" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "== part 8: mamorid's detect, audit and inventory =="
unshare -m --propagation private bash "${BASH_SOURCE[0]}" --in-namespace "$BIN" "$WORK" "$SRC" ||
	{ echo "device.sh: mamorid failed (above)"; exit 1; }

# The peer: the same metrics, glued from the usual tools once per interval;
# GNU time counts the CPU of the shell and of every program it ran.
peer_s=$(/usr/bin/time -f "%U %S" bash -c '
for ((i = 0; i < $1; i++)); do
	ss -Htuln >/dev/null
	ss -Htn state established >/dev/null
	cat /proc/net/dev >/dev/null
	ls /proc | grep -c "^[0-9]" >/dev/null
done' _ "$PEER_N" 2>&1 >/dev/null | tail -n1 | awk '{print $1 + $2}')
# What the benchmark measured must have worked: the last report is Device
# Defender's, with the machine's listening sockets counted.
if jq -e '.header.report_id > 0 and (.metrics.listening_tcp_ports.total | type) == "number"' \
	"$WORK/report.json" >/dev/null 2>&1; then
	echo "  report check: ok=aws-report tcp_listening=$(jq '.metrics.listening_tcp_ports.total' "$WORK/report.json")"
else
	echo "device.sh: STATE/device/metrics.json is not Device Defender's report"
	exit 1
fi
res=$(cat "$WORK/res")
get() { kv "$(grep "$1=" <<<"$res" | head -n1)" "$1"; }
fast_ns=$(get fast_ns)
slow_ns=$(get slow_ns)
ms_per_interval=$(awk -v t="$fast_ns" -v s="$FAST_S" 'BEGIN{printf "%.3f", t / 1e6 / s}')
peer_ms=$(awk -v t="$peer_s" -v n="$PEER_N" 'BEGIN{printf "%.3f", t * 1000 / n}')
pct=$(awk -v t="$slow_ns" -v s="$SLOW_S" 'BEGIN{printf "%.3f", t / 1e9 / s * 100}')
audit_s=$(awk -v t="$(get audit_and_first_sbom_ticks)" -v hz="$HZ" 'BEGIN{printf "%.2f", t / hz}')
rss=$(get rss_kb)
pss=$(get pss_kb)

printf '%-52s %s\n' "CPU per metrics interval, mamorid's device process" "$ms_per_interval ms (mean over $FAST_S s at a 1 s interval: metrics, profile, report file)"
printf '%-52s %s\n' "CPU per interval, ss + /proc/net/dev + /proc from sh" "$peer_ms ms ($PEER_N intervals)"
printf '%-52s %s\n' "ratio mamorid / shell tools" "$(ratio "$ms_per_interval" "$peer_ms" "lower is better")"
printf '%-52s %s\n' "whole agent at a 10 s interval, share of one core" "$pct % over $SLOW_S s (guard, reporter, device process)"
printf '%-52s %s\n' "first audit + first SBOM of this machine, CPU" "$audit_s s (once at start, then daily / on change)"
printf '%-52s %s\n' "memory, sum of VmRSS of $(get nprocs) processes" "$(fmt_mib "$rss")"
printf '%-52s %s\n' "memory, sum of PSS (shared pages divided)" "$(fmt_mib "$pss")"
echo "per process: $(cat "$WORK/each")"
echo "target: <= $TARGET_CPU_PCT % of one core at a 10 s interval: $(awk -v a="$pct" -v b="$TARGET_CPU_PCT" 'BEGIN{print (a <= b) ? "met" : "not met"}') ($pct %)"
echo "target: RSS <= 4 MiB: $(awk -v a="$rss" -v b="$TARGET_RSS_KB" 'BEGIN{print (a <= b) ? "met" : "not met"}') by VmRSS ($(fmt_mib "$rss")), $(awk -v a="$pss" -v b="$TARGET_RSS_KB" 'BEGIN{print (a <= b) ? "met" : "not met"}') by PSS ($(fmt_mib "$pss"))"

# Stripped sizes: here, and for the cross targets when make cross has run.
tmpb=$(mktemp)
strip -o "$tmpb" "$BIN/mamorid" 2>/dev/null && printf '%-52s %s\n' "mamorid stripped, $(uname -m)" "$(stat -c %s "$tmpb") bytes"
rm -f "$tmpb"
for f in "$SRC"/build-cross-*/size.txt; do
	[ -f "$f" ] && sed 's/^/cross: /' "$f"
done
ls "$SRC"/build-cross-*/size.txt >/dev/null 2>&1 || echo "cross: run 'make cross' for the armel and mipsel sizes"
exit 0
