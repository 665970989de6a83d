#!/usr/bin/env bash
# Storing over TCP: mamori-soc receiving X.1367 records over TCP, parsing,
# validating and storing them in SQLite, beside rsyslog receiving the same
# corpus over TCP and writing it to a file (imptcp -> omfile), measured in the
# same run. See bench/README.md, part 5, for how to read it.
#
#   bash bench/soc.sh BINDIR        (bench/run.sh calls it last)
#
# Environment (all optional):
#   SOC_BENCH_EVENTS  records in the corpus (default 1000000); 20000 makes a
#                     smoke run of a few seconds
#   SOC_BENCH_CONNS   TCP connections the corpus is spread over (default 1)
#   SOC_BENCH_DIR     where mamori-soc's database goes (default: this script's
#                     temporary directory in /tmp): put it where the store will live
#   BENCH_REPS        runs per receiver, alternating (default 3)
#   BENCH_TIMEOUT     seconds a run may take before it counts as failed (300)
#
# Only 127.0.0.1 is used. Every process started here is stopped on exit.
# Exit status: 0, or 1 when mamori-soc got something wrong: it is not built,
# did not start, did not store every record in time, stored a record twice,
# changed one, or stored it other than as a strictly valid X.1367 record.
# Speed never decides it; rsyslog failing is reported only, and so is a
# missing bench_tcp_send.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN=${1:-build-bench/bin}
N=${SOC_BENCH_EVENTS:-1000000}
CONNS=${SOC_BENCH_CONNS:-1}
REPS=${BENCH_REPS:-3}
TIMEOUT=${BENCH_TIMEOUT:-300}
SOC="$BIN/mamori-soc"
SEND="$BIN/bench_tcp_send"
TARGET=150000

echo "== mamori-soc against rsyslog: X.1367 records received over TCP and stored =="
echo
[ -x "$SOC" ] || { echo "soc.sh: $SOC not built; not run"; exit 1; }
# Without the benchmark's own sender nothing can be measured, but mamori got
# nothing wrong either: say so, and leave the exit status to the rest.
[ -x "$SEND" ] || { echo "soc.sh: $SEND not built (bench/CMakeLists.txt); not run"; exit 0; }
for t in rsyslogd sqlite3 curl awk; do
	command -v "$t" >/dev/null || { echo "soc.sh: $t not found (scripts/deps.sh installs it); not run"; exit 1; }
done
have_rsyslog=1
MODDIR=$(dirname "$(dpkg -L rsyslog 2>/dev/null | grep -m1 '/imptcp\.so$')" 2>/dev/null)
[ -e "$MODDIR/imptcp.so" ] || have_rsyslog=0

tmp=$(mktemp -d /tmp/mamori-bench-soc.XXXXXX)
db_base=${SOC_BENCH_DIR:-$tmp}
pids=()
dbs=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ ${#dbs[@]} -gt 0 ] && rm -rf "${dbs[@]}"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() {
	awk -v p="$(printf '%04X' "$1")" \
		'FNR > 1 && substr($2, length($2) - 3) == p {f = 1} END {exit !f}' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}
port_listening() {
	awk -v p="$(printf '%04X' "$1")" \
		'FNR > 1 && $4 == "0A" && substr($2, length($2) - 3) == p {f = 1} END {exit !f}' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}
minus() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a - b}'; }

# stop PID: SIGTERM (mamori-soc stores what is queued first; rsyslogd writes
# out its queue) and reap it, for up to 60 s.
stop() {
	local i
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$1" 2>/dev/null || break
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && break
		sleep 0.05
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# The corpus: N octet-counted RFC 5424 messages with MSGID X1367, each MSG a
# strictly valid X.1367 record (bench_tcp_send checks every one), each with a
# distinct time: message i is i seconds after 2024-06-01T00:00:00Z, with i's
# last three digits as milliseconds. What a stored copy must add up to:
# EXPECT_MSG_BYTES (every MSG) and EXPECT_TIME_SUM (every time_ms, less the
# epoch's, summed).
EPOCH_MS=1717200000000
make_corpus() {
	local out
	out=$("$SEND" make -n "$N" -o "$tmp/corpus") || { echo "soc.sh: cannot make the corpus"; exit 1; }
	EXPECT_MSG_BYTES=$(kv "$out" msg_bytes)
	EXPECT_TIME_SUM=$(awk -v n="$N" 'BEGIN {s = 0; for (i = 0; i < n; i++) s += i * 1000 + i % 1000; printf "%.0f", s}')
	CORPUS_BYTES=$(kv "$out" bytes)
}

# One run of mamori-soc: writes "rate=.. rss_kb=.. cpu_s=.." or "error=.."
# to $tmp/result and a line to $tmp/detail.
run_soc() {
	local d="$tmp/soc.$1" db spid port="" api="" res i c0 c1 hwm counters v rows
	mkdir -p "$d"
	echo "error=not-run" >"$tmp/result"
	if ! db=$(mktemp -d "$db_base/mamori-bench-soc-db.XXXXXX"); then
		echo "mamori-soc run $1: cannot make a directory in $db_base" >>"$tmp/detail"
		return
	fi
	dbs+=("$db")
	# Port 0: the kernel picks free ports, and the log says which. The log
	# is cut at 10 MB, so that a daemon that logs in a loop cannot fill
	# the disk.
	"$SOC" -d --store "sqlite:$db/soc.db" --state "$db/state" \
		--listen tcp://127.0.0.1:0 --http 127.0.0.1:0 \
		2> >(stdbuf -o0 head -c 10000000 >"$d/soc.log") &
	spid=$!
	pids+=("$spid")
	for ((i = 0; i < 200; i++)); do
		port=$(sed -n 's|.*listening on tcp://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$d/soc.log" 2>/dev/null)
		api=$(sed -n 's|.*API on http://\(127\.0\.0\.1:[0-9]*\)$|\1|p' "$d/soc.log" 2>/dev/null)
		[ -n "$port" ] && [ -n "$api" ] && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$port" ] || [ -z "$api" ]; then
		echo "mamori-soc run $1: did not listen; its log:" >>"$tmp/detail"
		sed 's/^/    mamori-soc: /' "$d/soc.log" | head -n 20 >>"$tmp/detail"
		stop "$spid"
		echo "error=did-not-listen" >"$tmp/result"
		return
	fi
	c0=$(cpu_s "$spid")
	res=$("$SEND" send -port "$port" -c "$CONNS" -f "$tmp/corpus" -until-stored "$api" \
		-pid "$spid" -t "$TIMEOUT" 2>"$d/send.err")
	hwm=$(vmhwm "$spid")
	c1=$(cpu_s "$spid")
	counters=$(curl -s --max-time 30 "http://$api/api/v1/counters")
	stop "$spid"
	# The store as it is on disk once mamori-soc has stopped: every record
	# once, each a strict X.1367 record, with the corpus's times and bytes.
	rows=$(sqlite3 -separator ' ' "$db/soc.db" \
		"SELECT COUNT(*), COUNT(DISTINCT time_ms), TOTAL(kind = 1 AND (flags & 1) = 0),
		        TOTAL(length(CAST(msg AS BLOB))), TOTAL(time_ms - $EPOCH_MS) FROM events;
		 SELECT COUNT(*) FROM dead_letters; SELECT COUNT(*) FROM incidents;" 2>&1 | tr '\n' ' ')
	v=$(awk -v n="$N" -v mb="$EXPECT_MSG_BYTES" -v ts="$EXPECT_TIME_SUM" '{
		printf "rows=%s distinct=%s strict=%.0f msg_bytes_ok=%s times_ok=%s dead=%s incidents=%s",
			$1, $2, $3, ($4 == mb ? "yes" : "no"), ($5 == ts ? "yes" : "no"), $6, $7 }' <<<"$rows")
	echo "mamori-soc run $1: $res | $v | peak_rss_kb=$hwm cpu_s=$(minus "$c1" "$c0")" >>"$tmp/detail"
	echo "    counters: $(tr -d ' \n' <<<"$counters" | sed -n 's/.*"counters":{\([^}]*\)}.*/\1/p' |
		tr ',' '\n' | grep -v ':0$' | tr '\n' ' ')" >>"$tmp/detail"
	[ -s "$d/send.err" ] && sed 's/^/    sender: /' "$d/send.err" >>"$tmp/detail"
	grep -v ' listen: \| listening on \| API on \| store sqlite:\| signal 15\| incident [0-9]* \(opened\|closed\)' "$d/soc.log" |
		sed 's/^/    /' | head -n 10 >>"$tmp/detail"
	if [ "$(kv "$res" done)" != 1 ] || [ "$(kv "$v" rows)" != "$N" ] ||
		[ "$(kv "$v" distinct)" != "$N" ] || [ "$(kv "$v" strict)" != "$N" ] ||
		[ "$(kv "$v" msg_bytes_ok)" != yes ] || [ "$(kv "$v" times_ok)" != yes ] ||
		[ "$(kv "$v" dead)" != 0 ]; then
		echo "error=incomplete" >"$tmp/result"
		return
	fi
	echo "rate=$(kv "$res" rate) rss_kb=$hwm cpu_s=$(minus "$c1" "$c0")" >"$tmp/result"
	rm -rf "$db"
}

# rsyslog, what a user would run instead: imptcp on a loopback port
# (octet-counted framing is on by default), the RFC 5424 parser, and omfile
# with rsyslog's own plain file template. The main queue holds the whole
# corpus, so nothing is discarded and the input is never throttled by a full
# queue.
write_rsyslog_conf() {
	local d=$1 port=$2
	cat >"$d/rsyslog.conf" <<EOF
global(workDirectory="$d/work" maxMessageSize="64k")
main_queue(queue.type="FixedArray" queue.size="$((N * 2 + 1000))" queue.discardMark="$((N * 2 + 900))")
module(load="imptcp")
ruleset(name="soc" parser="rsyslog.rfc5424") {
	action(type="omfile" file="$d/out.log" template="RSYSLOG_FileFormat" ioBufferSize="64k")
}
input(type="imptcp" address="127.0.0.1" port="$port" ruleset="soc")
EOF
}

run_rsyslog() {
	local d="$tmp/rsyslog.$1" port rpid="" res try i c0 c1 hwm lines recs listening=0
	echo "error=not-run" >"$tmp/result"
	if [ "$have_rsyslog" != 1 ]; then
		echo "rsyslog run $1: not run (imptcp.so not found)" >>"$tmp/detail"
		return
	fi
	mkdir -p "$d/work"
	for ((try = 0; try < 10; try++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		port_busy "$port" && continue
		write_rsyslog_conf "$d" "$port"
		rsyslogd -n -f "$d/rsyslog.conf" -i "$d/rsyslogd.pid" >"$d/rsyslogd.log" 2>&1 &
		rpid=$!
		pids+=("$rpid")
		for ((i = 0; i < 100; i++)); do
			kill -0 "$rpid" 2>/dev/null || break
			if port_listening "$port"; then
				listening=1
				break
			fi
			sleep 0.05
		done
		[ "$listening" = 1 ] && break
		stop "$rpid"
	done
	if [ "$listening" != 1 ]; then
		echo "rsyslog run $1: did not listen; its log:" >>"$tmp/detail"
		sed 's/^/    rsyslogd: /' "$d/rsyslogd.log" | head -n 20 >>"$tmp/detail"
		echo "error=did-not-listen" >"$tmp/result"
		return
	fi
	c0=$(cpu_s "$rpid")
	res=$("$SEND" send -port "$port" -c "$CONNS" -f "$tmp/corpus" -until-lines "$d/out.log" \
		-pid "$rpid" -t "$TIMEOUT" 2>"$d/send.err")
	hwm=$(vmhwm "$rpid")
	c1=$(cpu_s "$rpid")
	stop "$rpid"
	lines=$(wc -l <"$d/out.log" 2>/dev/null || echo 0)
	recs=$(grep -c '"Error Code":"[0-9A-F][0-9A-F]","Error Message":' "$d/out.log" 2>/dev/null)
	echo "rsyslog run $1: $res | file_lines=$lines records=${recs:-0} | peak_rss_kb=$hwm" \
		"cpu_s=$(minus "$c1" "$c0")" >>"$tmp/detail"
	[ -s "$d/send.err" ] && sed 's/^/    sender: /' "$d/send.err" >>"$tmp/detail"
	grep -qv '^$' "$d/rsyslogd.log" 2>/dev/null &&
		sed 's/^/    rsyslogd: /' "$d/rsyslogd.log" | head -n 10 >>"$tmp/detail"
	rm -f "$d/out.log"
	if [ "$(kv "$res" done)" != 1 ] || [ "$lines" != "$N" ] || [ "${recs:-0}" != "$N" ]; then
		echo "error=incomplete" >"$tmp/result"
		return
	fi
	echo "rate=$(kv "$res" rate) rss_kb=$hwm cpu_s=$(minus "$c1" "$c0")" >"$tmp/result"
}

make_corpus
echo "corpus: $N RFC 5424 messages, MSGID X1367, each MSG a strictly valid X.1367 record," \
	"octet-counted, $(awk -v b="$CORPUS_BYTES" 'BEGIN {printf "%.1f MB", b / 1e6}');" \
	"$CONNS TCP connection(s) on 127.0.0.1"
echo "mamori-soc: -d --store sqlite:DB --listen tcp://127.0.0.1:0 --http 127.0.0.1:0, otherwise" \
	"its defaults (parse, strict X.1367 decode, SQLite WAL in batches, fleet, correlation," \
	"silence); DB in $db_base, on $(stat -f -c %T "$db_base")"
echo "rsyslog: imptcp -> rsyslog.rfc5424 parser -> omfile (RSYSLOG_FileFormat), in-memory" \
	"queue for the whole corpus"
echo "time: first byte sent .. mamori-soc's counter \"stored\" = $N (asked every 50 ms) or the" \
	"file holds $N lines (looked at every 2 ms); $REPS runs each, alternating"
echo

: >"$tmp/detail"
m_res=()
r_res=()
for ((rep = 1; rep <= REPS; rep++)); do
	run_soc "$rep"
	m_res+=("$(cat "$tmp/result")")
	run_rsyslog "$rep"
	r_res+=("$(cat "$tmp/result")")
done

summarise m "${m_res[@]}"
summarise r "${r_res[@]}"

line() { printf '| %-40s | %-12s | %-14s | %-46s |\n' "$@"; }

line "what" "mamori-soc" "rsyslog" "ratio"
printf '|%s|%s|%s|%s|\n' "------------------------------------------" "--------------" \
	"----------------" "------------------------------------------------"
line "records/s, received to stored (median)" "$(fmt_rate "$m_rate")" "$(fmt_rate "$r_rate")" \
	"$(ratio "$m_rate" "$r_rate" "mamori-soc/rsyslog, >1: faster")"
line "peak memory, VmHWM (max)" "$(fmt_mib "$m_rss")" "$(fmt_mib "$r_rss")" \
	"$(ratio "$r_rss" "$m_rss" "rsyslog/mamori-soc, >1: smaller")"
line "receiver CPU seconds (median)" "$(fmt_s "$m_cpu")" "$(fmt_s "$r_cpu")" \
	"$(ratio "$r_cpu" "$m_cpu" "rsyslog/mamori-soc, >1: cheaper")"
line "complete, verified runs" "$m_ok/$REPS" "$r_ok/$REPS" ""
echo
echo "runs:"
sed 's/^/  /' "$tmp/detail"
echo

meets() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= b)}' && echo met || echo "not met"; }
echo "target: >= $TARGET X.1367 records/s stored: $(meets "$m_rate" "$TARGET")" \
	"($(fmt_rate "$m_rate") records/s, peak RSS $(fmt_mib "$m_rss"))"
if [ -n "$r_rate" ]; then
	r=$(awk -v a="${m_rate:-0}" -v b="$r_rate" 'BEGIN {printf "%.2f", a / b}')
	echo "target: ratio >= 1.0 against rsyslog imptcp -> omfile: $(meets "$r" 1.0)" \
		"(${r}x: $(fmt_rate "$m_rate") against $(fmt_rate "$r_rate") records/s)"
else
	echo "target: ratio >= 1.0 against rsyslog imptcp -> omfile: rsyslog figure missing"
fi
[ "$m_ok" = "$REPS" ] || exit 1
exit 0
