#!/usr/bin/env bash
# Delivery over RELP: `mamori send` against rsyslog's own omrelp, measured in
# the same run, both delivering the same events to the same kind of rsyslogd
# receiver (imrelp). See bench/README.md, part 4, for how to read it.
#
#   bash bench/send.sh BINDIR        (bench/run.sh calls it last)
#
# Environment (all optional):
#   BENCH_SEND_N      events in the corpus (default 200000)
#   BENCH_REPS        runs per sender, alternating (default 3)
#   BENCH_TIMEOUT     seconds a run may take before it counts as failed (120)
#   BENCH_OMRELP_WINDOW  omrelp's windowSize (default 1024, mamori send's default
#                     window; omrelp's own default stalls, see bench/README.md)
#   BENCH_SPOOL_DIR   where mamori send's spool directories go (default: this
#                     script's temporary directory under /tmp)
#   BENCH_SPOOL_RATE  the spool's interval=100 end-to-end events/s measured by
#                     bench_spool in the same run (run.sh passes it), for the
#                     target line
#
# Only 127.0.0.1 is used. Every process started here is stopped on exit.
# Exit status: 0, or 1 when mamori lost, duplicated or changed an event, or
# `mamori send` failed. Speed never decides it; omrelp failing is reported only.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN=${1:-build-bench/bin}
N=${BENCH_SEND_N:-200000}
REPS=${BENCH_REPS:-3}
TIMEOUT=${BENCH_TIMEOUT:-120}
SPOOL_RATE=${BENCH_SPOOL_RATE:-}
WINDOW=${BENCH_OMRELP_WINDOW:-1024}
MAMORI="$BIN/mamori"

echo "== mamori send against rsyslog omrelp: RELP delivery on loopback =="
echo
[ -x "$MAMORI" ] || { echo "send.sh: $MAMORI not built"; exit 1; }
for t in rsyslogd awk perl; do
	command -v "$t" >/dev/null || { echo "send.sh: $t not found; not run"; exit 1; }
done
# imfile comes with rsyslog, imrelp and omrelp with rsyslog-relp (scripts/deps.sh);
# all three live in rsyslog's module directory.
MODDIR=$(dirname "$(dpkg -L rsyslog 2>/dev/null | grep -m1 '/imfile\.so$')" 2>/dev/null)
have_imfile=1
[ -e "$MODDIR/imfile.so" ] && [ -e "$MODDIR/omrelp.so" ] || have_imfile=0
if [ ! -e "$MODDIR/imrelp.so" ]; then
	echo "send.sh: rsyslog's imrelp module not found (rsyslog-relp; scripts/deps.sh installs it);" \
		"no receiver, nothing measured"
	exit 1
fi

tmp=$(mktemp -d /tmp/mamori-bench-send.XXXXXX)
spool_base=${BENCH_SPOOL_DIR:-$tmp}
pids=()
spools=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ ${#spools[@]} -gt 0 ] && rm -rf "${spools[@]}"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Writes $2 events to file $1, one per line, alternating X.1367 records and
# mamori events, each unique by its sequence number (the same events as the
# integration scenarios' make_events in tests/integration/lib/peers.sh).
make_events() {
	awk -v n="$2" -f "$(dirname "${BASH_SOURCE[0]}")/../scripts/gen-events.awk" >"$1"
}

# True when some TCP socket on this host uses port $1, in any state.
port_used() {
	awk -v p="$(printf '%04X' "$1")" \
		'FNR > 1 && substr($2, length($2) - 3) == p {f = 1} END {exit !f}' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}
port_listening() {
	awk -v p="$(printf '%04X' "$1")" \
		'FNR > 1 && $4 == "0A" && substr($2, length($2) - 3) == p {f = 1} END {exit !f}' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# a - b, for CPU seconds
minus() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a - b}'; }

# wait_lines FILE N SECONDS PID...: returns 0 as soon as FILE holds N lines,
# 1 after SECONDS, 2 when one of the PIDs has exited. It reads only what was
# appended since its last look, every 2 ms, so that it costs the two
# processes being measured next to nothing (a `wc -l` loop would not).
# With SAMPLE=PID:OUTFILE it also reads that process's peak RSS (VmHWM) and
# CPU time at each look, and writes the last "KIB SECONDS" it saw to OUTFILE
# when it returns: how `mamori send`, which exits by itself, is measured.
wait_lines() {
	SAMPLE=${SAMPLE:-} HZ=$(getconf CLK_TCK) perl -e '
		my ($f, $n, $secs, @pids) = @ARGV;
		my ($fh, $lines, $buf) = (undef, 0, "");
		my $deadline = time() + $secs;
		my ($spid, $sout) = split /:/, $ENV{SAMPLE}, 2;
		my ($rss, $cpu) = ("", "");
		sub slurp { open(my $h, "<", $_[0]) or return ""; local $/; my $s = <$h>; return $s // ""; }
		sub gone { my $s = slurp("/proc/$_[0]/stat"); return $s eq "" || $s =~ /\) [ZX] /; }
		sub sample {
			return if !$spid;
			my $st = slurp("/proc/$spid/status");
			return if $st !~ /^VmHWM:\s+(\d+)/m;
			my $kb = $1;
			my @f = split / /, (slurp("/proc/$spid/stat") =~ /\) (.*)/s)[0] // "";
			return if @f < 13;
			($rss, $cpu) = ($kb, sprintf("%.3f", ($f[11] + $f[12]) / $ENV{HZ}));
		}
		sub done {
			if ($spid && open(my $o, ">", $sout)) { print $o "$rss $cpu\n"; }
			exit $_[0];
		}
		for (;;) {
			sample();
			$fh = undef if !$fh && !open($fh, "<", $f);
			if ($fh) {
				while ((my $r = sysread($fh, $buf, 1 << 20)) > 0) {
					$lines += ($buf =~ tr/\n//);
				}
			}
			done(0) if $lines >= $n;
			done(1) if time() > $deadline;
			for my $p (@pids) { done(2) if gone($p); }
			select(undef, undef, undef, 0.002);
		}' "$@"
}

# Starts the receiving rsyslogd in directory $1: imrelp on a free port of
# 127.0.0.1, "%msg%\n" per message to $1/out. Built not to be the bottleneck:
# the ruleset's in-memory queue holds the whole corpus (nothing discarded,
# the input never throttled), the worker takes 1024 messages at a time, and
# omfile writes through a 1 MiB buffer once per batch. Sets rport and rpid.
start_receiver() {
	local d=$1 try i
	mkdir -p "$d/work"
	rpid=""
	for ((try = 0; try < 10; try++)); do
		rport=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		port_used "$rport" && continue
		cat >"$d/receiver.conf" <<EOF
global(workDirectory="$d/work" maxMessageSize="64k")
module(load="imrelp")
template(name="msgline" type="string" string="%msg%\n")
ruleset(name="in" queue.type="FixedArray" queue.size="$((N * 2 + 1000))"
        queue.discardMark="$((N * 2 + 900))" queue.dequeueBatchSize="1024") {
  action(type="omfile" file="$d/out" template="msgline" ioBufferSize="1m"
         asyncWriting="off" flushOnTXEnd="on")
}
input(type="imrelp" address="127.0.0.1" port="$rport" ruleset="in")
EOF
		rsyslogd -n -f "$d/receiver.conf" -i "$d/receiver.pid" >"$d/receiver.log" 2>&1 &
		rpid=$!
		pids+=("$rpid")
		for ((i = 0; i < 200; i++)); do
			kill -0 "$rpid" 2>/dev/null || break
			port_listening "$rport" && return 0
			sleep 0.025
		done
		kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
		rpid=""
	done
	echo "receiver did not listen; its log:" >>"$d/notes"
	sed 's/^/    /' "$d/receiver.log" >>"$d/notes"
	return 1
}

stop() { # stop PID: SIGTERM (rsyslogd writes out its queue) and reap it
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# Compares the receiver's output $2 with the events of $1 and prints
# "lines=.. lost=.. duplicates=.. changed=.. in_order=yes|no": lost are
# events that never arrived, duplicates extra copies of one that did,
# changed lines that are no event of the input (an event altered on the
# way), in_order whether what arrived came in the order of the input.
verify() {
	local in=$1 out=$2 lines lost dups changed order
	[ -f "$out" ] || : >"$out"
	lines=$(wc -l <"$out")
	if cmp -s "$in" "$out"; then
		echo "lines=$lines lost=0 duplicates=0 changed=0 in_order=yes"
		return
	fi
	LC_ALL=C sort "$in" >"$out.in.sorted"
	LC_ALL=C sort -u "$out" >"$out.uniq"
	lost=$(LC_ALL=C comm -23 "$out.in.sorted" "$out.uniq" | wc -l)
	changed=$(LC_ALL=C comm -13 "$out.in.sorted" "$out.uniq" | wc -l)
	dups=$((lines - $(wc -l <"$out.uniq")))
	order=$(awk 'NR == FNR {at[$0] = FNR; next}
		($0 in at) {if (at[$0] < last) bad = 1; last = at[$0]}
		END {print bad ? "no" : "yes"}' "$in" "$out")
	rm -f "$out.in.sorted" "$out.uniq"
	echo "lines=$lines lost=$lost duplicates=$dups changed=$changed in_order=$order"
}

# Waits up to $2 seconds for process $1 (a child of this shell) to exit,
# stops it if it does not, and sets reaped to its exit status. (Not in a
# subshell: only this shell can wait for its children.)
reap() {
	local i st
	for ((i = 0; i < $2 * 20; i++)); do
		st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
		[ -z "$st" ] || [ "$st" = Z ] && break
		sleep 0.05
	done
	kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ] &&
		kill "$1" 2>/dev/null
	wait "$1"
	reaped=$?
}


rate_of() { awk -v n="$N" -v s="$1" 'BEGIN {printf "%.0f", n / s}'; }

# One run of mamori send. Writes its result to $tmp/result
# ("rate=.. rss_kb=.. cpu_s=.. rcpu_s=.." or "error=..") and a line to
# $tmp/detail.
run_mamori() {
	local d="$tmp/mamori.$1" t0 t1 spid rc c0 c1 v secs rss="" cpu="" exitc="" spool
	mkdir -p "$d"
	echo "error=not-run" >"$tmp/result"
	if ! spool=$(mktemp -d "$spool_base/mamori-bench-send-spool.XXXXXX"); then
		echo "mamori run $1: cannot make a spool directory in $spool_base" >>"$tmp/detail"
		echo "error=no-spool-dir" >"$tmp/result"
		return
	fi
	spools+=("$spool")
	if ! start_receiver "$d"; then
		cat "$d/notes" >>"$tmp/detail"
		echo "error=receiver-did-not-listen" >"$tmp/result"
		return
	fi
	c0=$(cpu_s "$rpid")
	t0=$EPOCHREALTIME
	"$MAMORI" send --to "relp://127.0.0.1:$rport" --spool "$spool" --sync interval=100 \
		--stats 0 "$tmp/events" >"$d/send.log" 2>&1 &
	spid=$!
	pids+=("$spid")
	SAMPLE="$spid:$d/usage" wait_lines "$d/out" "$N" "$TIMEOUT" "$rpid" "$spid"
	rc=$?
	if [ "$rc" = 2 ] && kill -0 "$rpid" 2>/dev/null; then
		# The sender exited first. When it succeeded, every event is in
		# the receiver's queue and the last batch is being written.
		reap "$spid" 1
		exitc=$reaped
		if [ "$exitc" = 0 ]; then
			wait_lines "$d/out" "$N" "$TIMEOUT" "$rpid"
			rc=$?
		fi
	fi
	t1=$EPOCHREALTIME
	c1=$(cpu_s "$rpid")
	# After the N-th line the sender closes its session and exits; a sender
	# whose receiver died or that timed out is stopped at once.
	if [ -z "$exitc" ]; then
		reap "$spid" "$([ "$rc" = 0 ] && echo "$TIMEOUT" || echo 0)"
		exitc=$reaped
	fi
	stop "$rpid"
	rm -rf "$spool"
	v=$(verify "$tmp/events" "$d/out")
	secs=$(minus "$t1" "$t0")
	read -r rss cpu <"$d/usage" 2>/dev/null
	echo "mamori run $1: done=$([ "$rc" = 0 ] && echo 1 || echo 0) exit=$exitc $v secs=$secs" \
		"rate=$(rate_of "$secs") sender_peak_rss_kb=$rss sender_cpu_s=$cpu" \
		"receiver_cpu_s=$(minus "$c1" "$c0")" >>"$tmp/detail"
	[ -s "$d/send.log" ] && sed 's/^/    mamori send: /' "$d/send.log" | head -n 20 >>"$tmp/detail"
	grep -qv '^$' "$d/receiver.log" 2>/dev/null &&
		sed 's/^/    receiver: /' "$d/receiver.log" | head -n 10 >>"$tmp/detail"
	if [ "$rc" != 0 ] || [ "$exitc" != 0 ] || [ "$(kv "$v" lines)" != "$N" ] ||
		[ "$(kv "$v" lost)" != 0 ] || [ "$(kv "$v" duplicates)" != 0 ] ||
		[ "$(kv "$v" changed)" != 0 ]; then
		echo "error=incomplete" >"$tmp/result"
		return
	fi
	echo "rate=$(rate_of "$secs") rss_kb=$rss cpu_s=$cpu rcpu_s=$(minus "$c1" "$c0")" >"$tmp/result"
}

# The sending rsyslogd: imfile reads the events file from its start (no
# state file: a fresh workDirectory; freshStartTail off; readMode 0, one
# message a line) into a ruleset whose in-memory queue holds the whole
# corpus, and omrelp forwards each line as the MSG of an RFC 5424 message,
# which the receiver's %msg% gives back unchanged. omrelp's window is
# mamori send's (1024 events in flight); otherwise it keeps its defaults,
# and it retries forever rather than discard.
write_sender_conf() {
	local d=$1
	cat >"$d/sender.conf" <<EOF
global(workDirectory="$d/swork" maxMessageSize="64k")
module(load="imfile")
module(load="omrelp")
template(name="fwd" type="string"
         string="<%PRI%>1 %TIMESTAMP:::date-rfc3339% %HOSTNAME% %APP-NAME% - - - %msg%")
ruleset(name="fwd" queue.type="FixedArray" queue.size="$((N * 2 + 1000))"
        queue.discardMark="$((N * 2 + 900))") {
  action(type="omrelp" target="127.0.0.1" port="$rport" template="fwd"
         windowSize="$WINDOW" action.resumeRetryCount="-1")
}
input(type="imfile" file="$tmp/events" tag="bench" ruleset="fwd" freshStartTail="off"
      readMode="0")
EOF
}

run_omrelp() {
	local d="$tmp/omrelp.$1" t0 t1 spid rc c0 c1 v secs rss cpu
	echo "error=not-run" >"$tmp/result"
	if [ "$have_imfile" != 1 ]; then
		echo "omrelp run $1: not run (imfile.so or omrelp.so missing in ${MODDIR:-?})" >>"$tmp/detail"
		echo "error=modules-missing" >"$tmp/result"
		return
	fi
	mkdir -p "$d/swork"
	if ! start_receiver "$d"; then
		cat "$d/notes" >>"$tmp/detail"
		echo "error=receiver-did-not-listen" >"$tmp/result"
		return
	fi
	write_sender_conf "$d"
	c0=$(cpu_s "$rpid")
	t0=$EPOCHREALTIME
	rsyslogd -n -f "$d/sender.conf" -i "$d/sender.pid" >"$d/sender.log" 2>&1 &
	spid=$!
	pids+=("$spid")
	wait_lines "$d/out" "$N" "$TIMEOUT" "$rpid" "$spid"
	rc=$?
	t1=$EPOCHREALTIME
	c1=$(cpu_s "$rpid")
	rss=$(vmhwm "$spid")
	cpu=$(cpu_s "$spid")
	stop "$spid"
	stop "$rpid"
	v=$(verify "$tmp/events" "$d/out")
	secs=$(minus "$t1" "$t0")
	echo "omrelp run $1: done=$([ "$rc" = 0 ] && echo 1 || echo 0) $v secs=$secs" \
		"rate=$(rate_of "$secs") sender_peak_rss_kb=$rss sender_cpu_s=$cpu" \
		"receiver_cpu_s=$(minus "$c1" "$c0")" >>"$tmp/detail"
	grep -qv '^$' "$d/sender.log" 2>/dev/null &&
		sed 's/^/    sending rsyslogd: /' "$d/sender.log" | head -n 10 >>"$tmp/detail"
	grep -qv '^$' "$d/receiver.log" 2>/dev/null &&
		sed 's/^/    receiver: /' "$d/receiver.log" | head -n 10 >>"$tmp/detail"
	if [ "$rc" != 0 ] || [ "$(kv "$v" lines)" != "$N" ] || [ "$(kv "$v" lost)" != 0 ] ||
		[ "$(kv "$v" duplicates)" != 0 ] || [ "$(kv "$v" changed)" != 0 ]; then
		echo "error=incomplete" >"$tmp/result"
		return
	fi
	echo "rate=$(rate_of "$secs") rss_kb=$rss cpu_s=$cpu rcpu_s=$(minus "$c1" "$c0")" >"$tmp/result"
}

make_events "$tmp/events" "$N"
echo "corpus: $N events, one a line, alternating X.1367 records and mamori events," \
	"$(awk -v b="$(wc -c <"$tmp/events")" 'BEGIN {printf "%.1f MB", b / 1e6}')"
echo "receiver (the same for both): rsyslogd, imrelp on 127.0.0.1, in-memory queue for the" \
	"whole corpus, omfile \"%msg%\\n\" with a 1 MiB buffer"
echo "mamori: mamori send --to relp://127.0.0.1:PORT --spool DIR --sync interval=100 --stats 0 FILE" \
	"(spool in $spool_base, on $(stat -f -c %T "$spool_base"); window 1024)"
echo "omrelp: rsyslogd with imfile (whole file, readMode 0) -> in-memory ruleset queue for the" \
	"whole corpus -> omrelp (windowSize $WINDOW, otherwise its defaults)"
echo "time: sender start .. the receiver's file holds $N lines; $REPS runs each, alternating"
echo

: >"$tmp/detail"
m_res=()
o_res=()
for ((rep = 1; rep <= REPS; rep++)); do
	run_mamori "$rep"
	m_res+=("$(cat "$tmp/result")")
	run_omrelp "$rep"
	o_res+=("$(cat "$tmp/result")")
done

summarise m "${m_res[@]}"
summarise o "${o_res[@]}"
m_rcpu=$(collect rcpu_s "${m_res[@]}" | median)
o_rcpu=$(collect rcpu_s "${o_res[@]}" | median)

line() { printf '| %-40s | %-12s | %-14s | %-44s |\n' "$@"; }

line "what" "mamori send" "rsyslog omrelp" "ratio"
printf '|%s|%s|%s|%s|\n' "------------------------------------------" "--------------" \
	"----------------" "----------------------------------------------"
line "throughput, events/s (median)" "$(fmt_rate "$m_rate")" "$(fmt_rate "$o_rate")" \
	"$(ratio "$m_rate" "$o_rate" "mamori/omrelp, >1: mamori faster")"
line "sender peak memory, RSS (max)" "$(fmt_mib "$m_rss")" "$(fmt_mib "$o_rss")" \
	"$(ratio "$o_rss" "$m_rss" "omrelp/mamori, >1: mamori smaller")"
line "sender CPU seconds (median)" "$(fmt_s "$m_cpu")" "$(fmt_s "$o_cpu")" \
	"$(ratio "$o_cpu" "$m_cpu" "omrelp/mamori, >1: mamori cheaper")"
line "receiver CPU seconds (median)" "$(fmt_s "$m_rcpu")" "$(fmt_s "$o_rcpu")" \
	"same receiver; its share of the work"
line "complete, verified deliveries" "$m_ok/$REPS" "$o_ok/$REPS" ""
echo
echo "runs:"
sed 's/^/  /' "$tmp/detail"
echo

# The targets of the issue, each on its own: with interval=100, at least
# 100,000 events/s spooled, and as many delivered; and no slower than omrelp.
meets() { [ -n "$1" ] && awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= b)}' && echo met || echo "not met"; }
echo "target: interval=100 spooled >= 100000 events/s: $(meets "$SPOOL_RATE" 100000)" \
	"($(fmt_rate "$SPOOL_RATE") events/s end to end)"
echo "target: interval=100 delivered >= 100000 events/s: $(meets "$m_rate" 100000)" \
	"($(fmt_rate "$m_rate") events/s into this rsyslogd)"
if [ -n "$o_rate" ]; then
	echo "target: delivered no slower than omrelp: $(meets "$m_rate" "$o_rate")" \
		"($(fmt_rate "$m_rate") against $(fmt_rate "$o_rate") events/s)"
else
	echo "target: delivered no slower than omrelp: omrelp figure missing"
fi

[ "$o_ok" = "$REPS" ] || echo "omrelp did not complete every run; its figures (if any) are from the runs that did"
if [ "$m_ok" != "$REPS" ]; then
	echo "mamori send FAILED in $((REPS - m_ok)) of $REPS runs (see the runs above)"
	exit 1
fi
exit 0
