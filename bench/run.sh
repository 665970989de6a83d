#!/usr/bin/env bash
# Runs mamori's benchmarks and prints what mamori did beside what a user would
# use instead, measured in the same run. See bench/README.md for how to read it.
#
#   bash bench/run.sh BINDIR          (make bench passes build-bench/bin)
#
# Environment (all optional):
#   BENCH_N         messages in the corpus (default 200000)
#   BENCH_PASSES    timed in-process passes (default 5)
#   BENCH_REPS      TCP runs per receiver (default 3)
#   BENCH_TIMEOUT   seconds a TCP or RELP run may take before it counts as failed (120)
#   BENCH_SPOOL_N   records through the spool per policy (default BENCH_N;
#                   `always` uses a fiftieth, at least 1000)
#   BENCH_SPOOL_DIR where the spool benchmark makes its directories (default
#                   $TMPDIR, else /tmp): put it where the spool will live
#   BENCH_SEND_N    events delivered over RELP per run (default 200000)
#   BENCH_OMRELP_WINDOW  omrelp's windowSize (default 1024, as mamori send's)
#   GW_BENCH_PACKETS packets in mamori-gw's pcap (default 1000000; bench/gw.sh)
#   GUARD_BENCH_N   execs per run of the exec guard's benchmark (default 20000;
#                   bench/guard.sh, which lists its other knobs)
#   TRAP_BENCH_IDLE idle telnet sessions held by mamori-trap (default 10000;
#                   bench/trap.sh, which lists its other knobs)
#
# Only 127.0.0.1 is used. Every process started here is stopped on exit.
# Exit status: 0, or 1 when mamori itself failed (a corpus message that does
# not parse or validate, a receiver that lost or mangled records, a spool
# record read back different, `mamori send` losing, repeating or changing an
# event, mamori-gw -r missing or adding a record, mamorid not refusing a
# program in its feed or refusing the benchmark's program, mamori-trap
# dropping an idle session or failing a login or Mirai-style session). Speed never
# decides the exit status; a failing peer (rsyslog, tshark, fapolicyd) is
# reported only.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN=${1:-build-bench/bin}
N=${BENCH_N:-200000}
PASSES=${BENCH_PASSES:-5}
REPS=${BENCH_REPS:-3}
TIMEOUT=${BENCH_TIMEOUT:-120}
BP="$BIN/bench_parse"
[ -x "$BP" ] || { echo "run.sh: $BP not built" >&2; exit 1; }
have_rsyslog=1
RSYSLOG_MODDIR=$(dirname "$(dpkg -L rsyslog 2>/dev/null | grep -m1 '/imptcp.so$')" 2>/dev/null)
if ! command -v rsyslogd >/dev/null || [ ! -e "$RSYSLOG_MODDIR/mmjsonparse.so" ]; then
	echo "run.sh: rsyslogd with imptcp and mmjsonparse not found (scripts/deps.sh installs it);" \
		"the rsyslog column will say failed" >&2
	have_rsyslog=0
fi

tmp=$(mktemp -d /tmp/mamori-bench.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail=0

echo "== bench_parse: one core, in process =="
echo
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
if ! "${pin[@]}" "$BP" inproc -n "$N" -p "$PASSES"; then
	echo "in-process benchmark FAILED (see above)"
	fail=1
fi

# ---- TCP on loopback: mamori's receiver against rsyslog ----

# 1 (true) if some socket listens on TCP port $1 (any address), from
# /proc/net/tcp{,6}, so that no tool beyond awk is needed.
port_busy() {
	awk -v p="$(printf '%04X' "$1")" \
		'FNR > 1 && $4 == "0A" && substr($2, length($2) - 3) == p {f = 1} END {exit !f}' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# One run of the mamori receiver: prints "rate=.. rss_kb=.. cpu_s=.." or
# "error=..".
run_mamori() {
	local d="$tmp/mamori.$1" spid sout res i
	mkdir -p "$d"
	"$BP" serve -P "$d/port" -o "$d/out.jsonl" -t "$TIMEOUT" >"$d/serve.out" 2>"$d/serve.err" &
	spid=$!
	pids+=("$spid")
	for ((i = 0; i < 100; i++)); do
		[ -s "$d/port" ] && break
		sleep 0.05
	done
	if [ ! -s "$d/port" ]; then
		echo "error=receiver-did-not-listen"
		return
	fi
	res=$("$BP" send -port "$(cat "$d/port")" -w "$d/out.jsonl" -n "$N" -t "$TIMEOUT" \
		-pid "$spid" 2>"$d/send.err")
	# A sender that failed leaves the receiver waiting; stop it.
	[ "$(kv "$res" done)" = 1 ] || kill "$spid" 2>/dev/null
	wait "$spid"
	sout=$(cat "$d/serve.out")
	echo "mamori run $1: $res | receiver: $sout" >>"$tmp/detail"
	[ -s "$d/serve.err" ] && sed 's/^/  mamori receiver: /' "$d/serve.err" >>"$tmp/detail"
	[ -s "$d/send.err" ] && sed 's/^/  sender: /' "$d/send.err" >>"$tmp/detail"
	if [ "$(kv "$res" done)" != 1 ] || [ "$(kv "$res" verified)" != "$N" ]; then
		echo "error=incomplete($(kv "$res" verified)/$N-verified)"
		return
	fi
	echo "rate=$(kv "$res" rate) rss_kb=$(kv "$sout" peak_rss_kb) cpu_s=$(kv "$sout" cpu_s)"
}

# rsyslog's configuration: imptcp on a loopback port (octet-counted framing is
# on by default), RFC 5424 parser, mmjsonparse without a cookie, and omfile
# with a template that writes the header fields and the parsed MSG as one
# JSON line, like the mamori receiver. The main queue holds the whole corpus,
# so nothing is discarded and the input is never throttled by a full queue.
write_rsyslog_conf() {
	local d=$1 port=$2
	cat >"$d/rsyslog.conf" <<EOF
global(workDirectory="$d/work" maxMessageSize="64k")
main_queue(queue.type="FixedArray" queue.size="$((N * 2 + 1000))" queue.discardMark="$((N * 2 + 900))")
module(load="imptcp")
module(load="mmjsonparse")
template(name="x1367line" type="string"
	string="{\"host\":\"%hostname:::json%\",\"app\":\"%app-name:::json%\",\"procid\":\"%procid:::json%\",\"msgid\":\"%msgid:::json%\",\"time\":\"%timereported:::date-rfc3339,json%\",\"record\":%\$!all-json%}\n")
ruleset(name="x1367" parser="rsyslog.rfc5424") {
	action(type="mmjsonparse" cookie="")
	action(type="omfile" file="$d/out.jsonl" template="x1367line" ioBufferSize="64k")
}
input(type="imptcp" address="127.0.0.1" port="$port" ruleset="x1367")
EOF
}

run_rsyslog() {
	if [ "$have_rsyslog" != 1 ]; then
		echo "error=rsyslog-not-installed"
		return
	fi
	local d="$tmp/rsyslog.$1" port rpid="" res try i c0 c1 hwm idle listening=0
	mkdir -p "$d/work"
	for ((try = 0; try < 10; try++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		port_busy "$port" && continue
		write_rsyslog_conf "$d" "$port"
		rsyslogd -n -f "$d/rsyslog.conf" -i "$d/rsyslogd.pid" >"$d/rsyslogd.log" 2>&1 &
		rpid=$!
		pids+=("$rpid")
		for ((i = 0; i < 100; i++)); do
			if ! kill -0 "$rpid" 2>/dev/null; then break; fi
			if port_busy "$port"; then
				listening=1
				break
			fi
			sleep 0.05
		done
		[ "$listening" = 1 ] && break
		kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	done
	if [ "$listening" != 1 ]; then
		echo "rsyslog run $1: did not listen; its log:" >>"$tmp/detail"
		sed 's/^/  rsyslogd: /' "$d/rsyslogd.log" >>"$tmp/detail"
		echo "error=rsyslogd-did-not-listen"
		return
	fi
	idle=$(awk '/^VmRSS:/ {print $2}' "/proc/$rpid/status" 2>/dev/null)
	c0=$(cpu_s "$rpid")
	res=$("$BP" send -port "$port" -w "$d/out.jsonl" -n "$N" -t "$TIMEOUT" \
		-pid "$rpid" 2>"$d/send.err")
	c1=$(cpu_s "$rpid")
	hwm=$(vmhwm "$rpid")
	kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	echo "rsyslog run $1: $res | rsyslogd: rss_kb_before=$idle peak_rss_kb=$hwm cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.3f", b - a}')" >>"$tmp/detail"
	[ -s "$d/send.err" ] && sed 's/^/  sender: /' "$d/send.err" >>"$tmp/detail"
	if grep -qv '^$' "$d/rsyslogd.log" 2>/dev/null; then
		sed 's/^/  rsyslogd: /' "$d/rsyslogd.log" | head -n 20 >>"$tmp/detail"
	fi
	if [ "$(kv "$res" done)" != 1 ] || [ "$(kv "$res" verified)" != "$N" ]; then
		echo "error=incomplete($(kv "$res" verified)/$N-verified)"
		return
	fi
	echo "rate=$(kv "$res" rate) rss_kb=$hwm cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.3f", b - a}')"
}

echo
echo "== bench_parse: TCP receiver on loopback, mamori vs rsyslog =="
echo "corpus: the same $N messages, octet-counted (RFC 6587), one connection, one sender"
echo "job: accept, unframe, parse RFC 5424, parse the JSON MSG, write one JSON line per message"
echo "mamori also validates every record strictly as X.1367 (rsyslog only parses the JSON)"
echo "runs: $REPS per receiver, alternating; time = first byte sent .. N-th line in the output file"
echo

: >"$tmp/detail"
m_res=()
r_res=()
for ((rep = 1; rep <= REPS; rep++)); do
	m_res+=("$(run_mamori "$rep")")
	r_res+=("$(run_rsyslog "$rep")")
done

summarise m "${m_res[@]}"
summarise r "${r_res[@]}"


printf '| %-44s | %-12s | %-12s | %-48s |\n' "what" "mamori" "rsyslog" "ratio"
printf '|%s|%s|%s|%s|\n' "----------------------------------------------" "--------------" \
	"--------------" "--------------------------------------------------"
printf '| %-44s | %-12s | %-12s | %-48s |\n' "throughput, msgs/s (median)" \
	"$(fmt_rate "$m_rate")" "$(fmt_rate "$r_rate")" \
	"$(ratio "$m_rate" "$r_rate" "mamori/rsyslog, >1: mamori faster")"
printf '| %-44s | %-12s | %-12s | %-48s |\n' "peak memory, VmHWM (max)" \
	"$(fmt_mib "$m_rss")" "$(fmt_mib "$r_rss")" \
	"$(ratio "$r_rss" "$m_rss" "rsyslog/mamori, >1: mamori smaller")"
printf '| %-44s | %-12s | %-12s | %-48s |\n' "receiver CPU seconds, $N msgs (median)" \
	"$(fmt_s "$m_cpu")" "$(fmt_s "$r_cpu")" \
	"$(ratio "$r_cpu" "$m_cpu" "rsyslog/mamori, >1: mamori cheaper")"
printf '| %-44s | %-12s | %-12s | %-48s |\n' "complete, verified runs" \
	"$m_ok/$REPS" "$r_ok/$REPS" ""
echo
echo "runs:"
sed 's/^/  /' "$tmp/detail"

[ "$m_ok" = "$REPS" ] || fail=1
[ "$r_ok" = "$REPS" ] || echo "rsyslog did not complete every run; its numbers (if any) are from the runs that did"

# ---- the spool: events/s with each fsync policy, against a plain file ----

echo
echo "== bench_spool: the spool with each fsync policy, against a plain append-only file =="
echo
spool_rate=""
if [ -x "$BIN/bench_spool" ]; then
	spool_dir=()
	[ -n "${BENCH_SPOOL_DIR:-}" ] && spool_dir=(-d "$BENCH_SPOOL_DIR")
	"$BIN/bench_spool" -n "${BENCH_SPOOL_N:-$N}" -r "$REPS" "${spool_dir[@]}" | tee "$tmp/spool.out"
	if [ "${PIPESTATUS[0]}" != 0 ]; then
		echo "spool benchmark FAILED (see above)"
		fail=1
	fi
	spool_rate=$(sed -n 's/^spool interval=100 end to end: \([0-9]*\) events\/s.*/\1/p' "$tmp/spool.out")
else
	echo "run.sh: $BIN/bench_spool not built"
	fail=1
fi

# ---- RELP delivery: mamori send against rsyslog's omrelp ----

echo
BENCH_SPOOL_RATE="$spool_rate" bash "$(dirname "$0")/send.sh" "$BIN" || fail=1
echo; bash "$(dirname "$0")/soc.sh" "$BIN" || fail=1
echo; bash "$(dirname "$0")/gw.sh" "$BIN" || fail=1
echo; bash "$(dirname "$0")/guard.sh" "$BIN" || fail=1
echo; bash "$(dirname "$0")/device.sh" "$BIN" || fail=1
echo; bash "$(dirname "$0")/trap.sh" "$BIN" || fail=1
exit "$fail"
