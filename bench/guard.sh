#!/usr/bin/env bash
# The exec guard: the time fork + exec + wait of a small static program
# takes with no guard, under mamorid (a verdict cache hit, and every file
# new so that each exec is hashed), and under Debian's fapolicyd (its
# configuration as shipped, with fapolicyd's own default rules), measured in
# the same run; mamorid's memory and its
# CPU time while nothing happens. See bench/README.md, part 7, for how to
# read it.
#
#   bash bench/guard.sh BINDIR        (bench/run.sh calls it after part 6)
#
# Environment (all optional):
#   GUARD_BENCH_N          execs in each timed run (default 20000)
#   GUARD_BENCH_WARM       untimed execs before a same-file run (default 100)
#   GUARD_BENCH_IDLE_S     seconds of idle over which mamorid's CPU is read (default 10)
#   GUARD_BENCH_FAPOLICYD  1 (default): install fapolicyd if needed and measure it; 0: do not
#   GUARD_BENCH_DIR        the build-tree folder the programs live in (default BINDIR/../guard-bench)
#   BENCH_TIMEOUT          seconds one timed run may take before it is stopped (default 600)
#
# Everything runs inside a private mount namespace (unshare -m): the
# benchmark's folder is bind-mounted onto itself there, and mamorid guards
# that bind mount alone (--watch). fapolicyd marks every mount of the file
# system types it watches, which in that namespace are copies private to it:
# processes outside the namespace are not seen by it. Both guards are
# stopped before the namespace ends, and again by the EXIT trap if anything
# went wrong.
#
# Exit status: 0, or 1 when mamorid got something wrong: it is not built,
# did not start, did not refuse a program whose hash is in its feed, did
# not report that refusal, or refused an exec of the benchmark's program.
# Speed never decides it; fapolicyd failing is reported only.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- inside the mount namespace ----

# bsleep SECONDS: sleep with a bash builtin. While fapolicyd runs, every
# program not in its trust database is refused, so the harness execs nothing
# but the programs it has made trusted (bench_exec, timeout).
bsleep() { read -r -t "$1" -u "$sleep_fd" || :; }

# result NAME LINE: one run's figures for the outer script.
result() { echo "$1 $2" >>"$tmp/res"; }

# timed NAME ARGS...: one timed run of bench_exec, its result saved.
timed() {
	local name=$1 out
	shift
	out=$(timeout -k 5 "$TIMEOUT" "$BIN/bench_exec" "$@" 2>>"$tmp/detail")
	echo "$name: ${out:-no result (bench_exec exit $?)}" >>"$tmp/detail"
	result "$name" "${out:-error=no-result}"
}

# rss_kb PID: VmRSS of one process, 0 when it is gone.
rss_kb() {
	local k v u
	while read -r k v u; do
		[ "$k" = VmRSS: ] && { echo "$v"; return; }
	done 2>/dev/null <"/proc/$1/status"
	echo 0
}

# ticks PID: utime + stime of one process, in clock ticks.
ticks() {
	local s
	s=$(<"/proc/$1/stat") 2>/dev/null || { echo 0; return; }
	s=${s##*) }
	read -r -a f <<<"$s"
	echo $((f[11] + f[12]))
}

# forks: the processes the machine has started since boot (/proc/stat).
forks() {
	local k v
	while read -r k v; do
		[ "$k" = processes ] && { echo "$v"; return; }
	done </proc/stat
}

# sampler FILE PIDS...: the sum of the processes' VmRSS every 100 ms, one
# line each, until killed.
sampler() {
	local out=$1 p sum
	shift
	while :; do
		sum=0
		for p in "$@"; do sum=$((sum + $(rss_kb "$p"))); done
		echo "$sum" >>"$out"
		bsleep 0.1
	done
}

# forget PID: out of the list the EXIT traps kill, once it has been reaped,
# so that no trap signals a later process that got the same number.
forget() {
	local l p
	mapfile -t l <"$tmp/pids"
	for p in "${l[@]}"; do [ "$p" = "$1" ] || echo "$p"; done >"$tmp/pids"
}

# stop PID SECONDS: SIGTERM, then SIGKILL when it has not exited in time.
stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		bsleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	forget "$pid"
	return 0
}

# run_none NAME: the two runs with no guard.
run_none() {
	echo "$1: no guard" >>"$tmp/detail"
	timed "$1_same" run -c 0 -n "$N" -w "$WARM" "$MNT/prog"
	"$BIN/bench_exec" prep -n "$N" "$MNT/prog" "$MNT/new.$1" >>"$tmp/detail"
	timed "$1_new" new -c 0 -n "$N" "$MNT/new.$1"
	rm -rf "$MNT/new.$1"
}

# mamorid_start NAME MODE BEHAVIOUR: writes NAME's configuration and starts
# mamorid; sets mpid.
mamorid_start() {
	local name=$1 mode=$2 behaviour=$3 conf="$WORK/$1.conf" feed="$WORK/feed"
	rm -rf "$WORK/$name.state"
	# One hash nothing here has, so that every exec the cache does not know
	# is hashed and looked up; and the canary's, so that a refusal (or, in
	# monitor mode, a report) shows that the guard is in the exec's way.
	{
		echo "# mamori bench: one unrelated hash, and the canary's"
		printf 'mamori bench: no file has this content' | sha256sum | sed 's/ .*/ unrelated/'
		sha256sum "$MNT/canary" | sed 's/ .*/ canary/'
	} >"$feed"
	{
		echo "[agent]"
		echo "mode = $mode"
		echo "[policy]"
		echo "feed = $feed"
		echo "deny_paths = $DENY_PATHS"
		echo "[behaviour]"
		echo "enabled = $behaviour"
		# The exec path alone: detect, audit and inventory are part 8's.
		echo "[detect]"
		echo "enabled = no"
		echo "[audit]"
		echo "enabled = no"
		echo "[inventory]"
		echo "enabled = no"
	} >"$conf"
	echo "$name: $BIN/mamorid -d -f $conf --mode $mode --watch $MNT --state $WORK/$name.state --soc none" \
		"(behaviour watch: $behaviour)" >>"$tmp/detail"
	"$BIN/mamorid" -d -f "$conf" --mode "$mode" --watch "$MNT" --state "$WORK/$name.state" \
		--soc none >"$tmp/$name.log" 2>&1 &
	mpid=$!
	echo "$mpid" >>"$tmp/pids"
}

# mamorid_ready NAME MODE: 0 once the guard refuses the canary (enforce) or
# reports its exec (monitor), within 15 s.
mamorid_ready() {
	local ev="$WORK/$1.state/events.jsonl" i
	if [ "$2" = enforce ]; then
		"$BIN/bench_exec" probe -t 15000 "$MNT/canary" >>"$tmp/detail"
		return
	fi
	for ((i = 0; i < 75; i++)); do
		"$MNT/canary" 2>/dev/null
		if grep '"event": *"guard.exec.denied"' "$ev" 2>/dev/null | grep -q "\"path\": *\"$MNT/canary\""; then
			echo "$1: the canary's exec was reported after $((i + 1)) tries" >>"$tmp/detail"
			return 0
		fi
		bsleep 0.2
	done
	return 1
}

# run_mamorid NAME MODE BEHAVIOUR: mamorid started, the two timed runs under
# it, its memory over them; with the behaviour watch, also its CPU time while
# idle; then stopped, and the events it wrote checked.
run_mamorid() {
	local name=$1 mode=$2 behaviour=$3 ev="$WORK/$1.state/events.jsonl" p kids spid
	local c0 i denied others each="" sum=0 r want
	mamorid_start "$name" "$mode" "$behaviour"
	if ! mamorid_ready "$name" "$mode"; then
		echo "$name: the canary was not $([ "$mode" = enforce ] && echo refused || echo reported); its log:" >>"$tmp/detail"
		sed "s/^/  $name: /" "$tmp/$name.log" | head -n 30 >>"$tmp/detail"
		result "${name}_check" "error=canary-not-seen"
		stop "$mpid" 5
		return
	fi
	kids=$(cat "/proc/$mpid/task/$mpid/children" 2>/dev/null)
	pids=("$mpid" $kids)
	echo "$name processes: $(for p in "${pids[@]}"; do printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; done)" >>"$tmp/detail"
	sampler "$tmp/rss.$name" "${pids[@]}" &
	spid=$!
	echo "$spid" >>"$tmp/pids"

	timed "${name}_same" run -c 0 -n "$N" -w "$WARM" "$MNT/prog"
	"$BIN/bench_exec" prep -n "$N" "$MNT/prog" "$MNT/new.$name" >>"$tmp/detail"
	timed "${name}_new" new -c 0 -n "$N" "$MNT/new.$name"

	# Idle: let the last reports drain, then read the CPU time of the
	# processes over IDLE seconds in which the benchmark runs nothing. The
	# machine's other work goes on: the processes it started meanwhile
	# (/proc/stat's count of forks) are what the watch had to look at.
	local t0=() t1=() f0 f1 cpu=""
	bsleep 2
	for p in "${pids[@]}"; do t0+=("$(ticks "$p")"); done
	f0=$(forks)
	bsleep "$IDLE"
	for p in "${pids[@]}"; do t1+=("$(ticks "$p")"); done
	f1=$(forks)
	c0=0
	for ((i = 0; i < ${#pids[@]}; i++)); do
		c0=$((c0 + t1[i] - t0[i]))
		cpu+="$(cat "/proc/${pids[i]}/comm" 2>/dev/null)=$((t1[i] - t0[i])) "
	done
	for p in "${pids[@]}"; do
		r=$(rss_kb "$p")
		sum=$((sum + r))
		each+="$(cat "/proc/$p/comm" 2>/dev/null): $(awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s%s ", $1, $2}' "/proc/$p/status" 2>/dev/null)"
	done
	stop "$spid" 1
	result "${name}_mem" "idle_rss_kb=$sum max_rss_kb=$(maxof <"$tmp/rss.$name") samples=$(wc -l <"$tmp/rss.$name") procs=${#pids[@]} idle_ticks=$c0 hz=$(getconf CLK_TCK) forks=$((f1 - f0))"
	echo "$name RSS at the end, KiB: $each" >>"$tmp/detail"
	echo "$name CPU ticks (1/$(getconf CLK_TCK) s) over $IDLE s of idle: $cpu; processes the machine started meanwhile: $((f1 - f0))" >>"$tmp/detail"
	# Alive through the whole run: every process still there.
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null || result "${name}_check" "error=process-$p-gone"
	done
	stop "$mpid" 10
	rm -rf "$MNT/new.$name"

	# The canary was reported with its hash and the feed as the reason, and
	# no other exec in the benchmark's folder was: in enforce mode exactly
	# one refusal (the probe stops at the first).
	want=denied
	[ "$mode" = monitor ] && want=reported
	denied=$(grep '"event": *"guard.exec.denied"' "$ev" 2>/dev/null | grep -F "\"path\":\"$MNT/" -c)
	others=$(grep '"event": *"guard.exec.denied"' "$ev" 2>/dev/null | grep -F "\"path\":\"$MNT/" |
		grep -vc "\"path\":\"$MNT/canary\"")
	if grep '"event": *"guard.exec.denied"' "$ev" 2>/dev/null |
		grep -F "$(sha256sum "$MNT/canary" | cut -d' ' -f1)" | grep '"reason": *"feed"' |
		grep -q "\"action\": *\"$want\""; then
		result "${name}_check" "ok=canary-$want denied_events=$denied others=$others"
		echo "$name check: ok=canary-$want denied_events=$denied others=$others" >>"$tmp/detail"
		[ "$others" = 0 ] || result "${name}_check" "error=other-programs-denied"
		[ "$mode" = enforce ] && [ "$denied" != 1 ] && result "${name}_check" "error=$denied-refusals"
	else
		result "${name}_check" "error=canary-not-reported denied_events=${denied:-0}"
		echo "$name check: error=canary-not-reported denied_events=${denied:-0}" >>"$tmp/detail"
		sed 's/^/  events: /' "$ev" 2>/dev/null | cut -c1-300 | head -n 5 >>"$tmp/detail"
	fi
	echo "$name events: $(sed 's/.*"event": *"\([^"]*\)".*/\1/' "$ev" 2>/dev/null | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')" >>"$tmp/detail"
	grep -v '^$' "$tmp/$name.log" | sed "s/^/  $name: /" | head -n 12 >>"$tmp/detail"
}

# The rule files of fapolicyd's own default policy ("known-libs" in the
# README-rules that Debian ships beside them), in the order fagenrules
# loads them.
FAPO_RULES="10-languages 20-dracut 21-updaters 30-patterns 40-bad-elf 41-shared-obj 42-trusted-elf
	70-trusted-lang 72-shell 90-deny-execute 95-allow-open"

# fapolicyd's configuration folder and database, private to the namespace:
# copies of /etc/fapolicyd and an empty /var/lib/fapolicyd bind-mounted over
# the real ones, so that the rules and trust entries of the benchmark never
# touch the host's.
fapolicyd_private() {
	local r
	cp -a /etc/fapolicyd/. "$tmp/fapolicyd.etc/" || return 1
	{
		echo "## the default policy of fapolicyd (known-libs), for the mamori benchmark"
		for r in $FAPO_RULES; do
			grep -v '^[[:space:]]*#' "/usr/share/fapolicyd/sample-rules/$r.rules" | grep -v '^[[:space:]]*$'
		done
	} >"$tmp/fapolicyd.etc/compiled.rules" || return 1
	chown -R root:fapolicyd "$tmp/fapolicyd.etc" && chmod 0644 "$tmp/fapolicyd.etc/compiled.rules" &&
		install -d -m 2755 -o fapolicyd -g fapolicyd "$tmp/fapolicyd.var" &&
		mount --bind "$tmp/fapolicyd.etc" /etc/fapolicyd &&
		mount --bind "$tmp/fapolicyd.var" /var/lib/fapolicyd &&
		install -d -m 0770 -o root -g fapolicyd /run/fapolicyd
}

# harness_files: the programs the harness runs while fapolicyd does, with
# every shared object they load (ldd names the ELF interpreter too).
harness_files() {
	local p
	for p in "$BIN/bench_exec" "$(command -v timeout)"; do
		realpath "$p"
		ldd "$p" 2>/dev/null | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}' |
			xargs -r realpath
	done | sort -u
}

run_fapolicyd() {
	local pid i up=0 spid
	mkdir -p "$tmp/fapolicyd.etc"
	if ! fapolicyd_private; then
		result fapolicyd_check "error=private-config-failed"
		return
	fi
	"$BIN/bench_exec" prep -n "$N" "$MNT/prog" "$MNT/new.fapolicyd" >>"$tmp/detail"
	# Trusted, as a device's own firmware would be: the benchmark's program,
	# its copies, and the harness (bench_exec, timeout and the libraries they
	# load). The canary is not trusted.
	for i in "$MNT/prog" "$MNT/new.fapolicyd" $(harness_files); do
		if ! fapolicyd-cli --file add "$i" --trust-file "$TRUST_NAME" >>"$tmp/fapolicyd-cli.log" 2>&1; then
			echo "fapolicyd: fapolicyd-cli --file add $i failed:" >>"$tmp/detail"
			sed 's/^/  /' "$tmp/fapolicyd-cli.log" | tail -n 5 >>"$tmp/detail"
			result fapolicyd_check "error=trust-add-failed"
			return
		fi
	done
	echo "fapolicyd: trusted $(grep -vc '^#' "/etc/fapolicyd/trust.d/$TRUST_NAME") files;" \
		"harness: $(harness_files | tr '\n' ' ')" >>"$tmp/detail"
	echo "fapolicyd: rules: $(grep -v '^#' /etc/fapolicyd/compiled.rules | tr '\n' ';')" >>"$tmp/detail"
	: >"$tmp/fapolicyd.log"
	if [ -n "$CAPSHIM" ]; then
		LD_PRELOAD=$CAPSHIM fapolicyd --debug-deny >"$tmp/fapolicyd.log" 2>&1 &
	else
		fapolicyd --debug-deny >"$tmp/fapolicyd.log" 2>&1 &
	fi
	pid=$!
	echo "$pid" >>"$tmp/pids"
	# From here until it stops, nothing untrusted is executed.
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[[ "$(<"$tmp/fapolicyd.log")" == *"Starting to listen for events"* ]] && { up=1; break; }
		bsleep 0.1
	done
	# The probe runs the canary as nobody: the policy lets a trusted program
	# run by root execute anything (its rule "allow perm=any uid=0 trust=1").
	if [ "$up" = 1 ] && timeout 20 "$BIN/bench_exec" probe -t 15000 -u 65534 "$MNT/canary" >>"$tmp/detail"; then
		sampler "$tmp/rss.fapolicyd" "$pid" &
		spid=$!
		echo "$spid" >>"$tmp/pids"
		timed fapolicyd_same run -c 0 -n "$N" -w "$WARM" "$MNT/prog"
		timed fapolicyd_new new -c 0 -n "$N" "$MNT/new.fapolicyd"
		stop "$spid" 1
	else
		result fapolicyd_check "error=not-enforcing"
	fi
	stop "$pid" 10
	# Only now may the harness run other programs again.
	[ -s "$tmp/rss.fapolicyd" ] && result fapolicyd_mem "max_rss_kb=$(maxof <"$tmp/rss.fapolicyd")"
	echo "fapolicyd: its log, without the start-up lines:" >>"$tmp/detail"
	sed -n '/^Starting to listen/,$p' "$tmp/fapolicyd.log" | grep -v '^$' |
		sed 's/^/  fapolicyd: /' | head -n 40 >>"$tmp/detail"
	rm -rf "$MNT/new.fapolicyd"
	umount /var/lib/fapolicyd /etc/fapolicyd
}

if [ "${1:-}" = --in-namespace ]; then
	exec {sleep_fd}<>"$tmp/sleep.fifo"
	trap 'for p in $(<"$tmp/pids"); do kill -KILL "$p" 2>/dev/null; done; : >"$tmp/pids"' EXIT
	mount --bind "$MNT" "$MNT" || { result setup "error=bind-mount-failed"; exit 1; }
	run_none none
	if [ -x "$BIN/mamorid" ]; then
		# The exec timings in enforce mode without the behaviour watch:
		# the watch sees every process of the machine, not only this
		# namespace's, and in enforce mode it kills what it finds.
		run_mamorid mamorid enforce no
		# The three processes, in monitor mode, where the watch only reports.
		run_mamorid mamoridw monitor yes
	else
		result mamorid_check "error=not-built"
	fi
	[ "$FAPO" = 1 ] && run_fapolicyd
	# Again at the end: the machine's load may have changed meanwhile.
	run_none none2
	exit 0
fi

# ---- outside: set up, run the namespace, print the tables ----

BIN=$(realpath "${1:-build-bench/bin}")
export BIN
export N=${GUARD_BENCH_N:-20000}
export WARM=${GUARD_BENCH_WARM:-100}
export IDLE=${GUARD_BENCH_IDLE_S:-10}
export FAPO=${GUARD_BENCH_FAPOLICYD:-1}
export TIMEOUT=${BENCH_TIMEOUT:-600}
export TRUST_NAME=mamori-bench
TARGET_HIT_US=60
TARGET_RSS_KB=4096

echo "== the exec guard: fork + exec + wait, no guard, mamorid and fapolicyd =="
echo
[ -x "$BIN/bench_exec" ] || { echo "guard.sh: $BIN/bench_exec not built; not run"; exit 1; }
CC=${CC:-cc}
command -v "$CC" >/dev/null || { echo "guard.sh: no C compiler ($CC) for the benchmark's program; not run"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "guard.sh: needs root (mount namespace, fanotify); not run"; exit 0; }

WORK=$(realpath -m "${GUARD_BENCH_DIR:-$BIN/../guard-bench}")
export WORK MNT="$WORK/mnt"
mkdir -p "$MNT" || { echo "guard.sh: cannot make $MNT"; exit 1; }
tmp=$(mktemp -d /tmp/mamori-bench-guard.XXXXXX)
export tmp
prc=/usr/sbin/policy-rc.d
cleanup() {
	local p
	for p in $(cat "$tmp/pids" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	[ -e "$tmp/policy-rc.d.saved" ] && mv -f "$tmp/policy-rc.d.saved" "$prc"
	[ -e "$tmp/policy-rc.d.ours" ] && rm -f "$prc"
	rm -rf "$MNT"/new.* "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkfifo "$tmp/sleep.fifo"
: >"$tmp/res"
: >"$tmp/detail"
: >"$tmp/pids"

# The benchmark's program: it exits 0 at once, with no C library, so that
# the time is the exec's own and its copies stay small (one page).
cat >"$tmp/prog.c" <<'EOF'
void _start(void)
{
#if defined(__x86_64__)
	__asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
#elif defined(__aarch64__)
	__asm__ volatile("mov x8, #93\n\tmov x0, #0\n\tsvc #0");
#elif defined(__arm__)
	__asm__ volatile("mov r7, #1\n\tmov r0, #0\n\tsvc #0");
#else
#error "no exit system call written for this CPU"
#endif
	for (;;)
		;
}
EOF
if ! "$CC" -static -nostdlib -no-pie -O2 -fno-stack-protector -Wl,--build-id=none \
	-Wl,-z,noseparate-code -o "$MNT/prog" "$tmp/prog.c" 2>"$tmp/cc.err"; then
	echo "guard.sh: the benchmark's program did not build:"
	sed 's/^/  /' "$tmp/cc.err"
	exit 0
fi
# The canary: the same program with other bytes at its end, so another
# hash: in mamorid's feed and not in fapolicyd's trust, so both refuse it.
{ cat "$MNT/prog"; printf 'canary!!'; } >"$MNT/canary"
chmod 0755 "$MNT/canary"

# mamorid's default deny_paths, less the one the benchmark's folder is under
# (a build tree in /tmp would otherwise be refused by place, never hashed).
DENY_PATHS=""
for p in /tmp /var/tmp /var/run /run /dev /dev/shm; do
	case "$MNT/" in "$p"/*) continue ;; esac
	DENY_PATHS+="$p "
done
export DENY_PATHS

# fapolicyd: Debian's package, installed here and not by scripts/deps.sh,
# so that `make test` does not carry it; its service must not start.
if [ "$FAPO" = 1 ] && ! command -v fapolicyd >/dev/null; then
	echo "installing fapolicyd (its service is not started: $prc exits 101 during the install)"
	if [ -e "$prc" ]; then
		"$prc" fapolicyd start >/dev/null 2>&1
		if [ $? != 101 ]; then
			cp -p "$prc" "$tmp/policy-rc.d.saved"
			printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 0755 "$prc"
		fi
	else
		printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 0755 "$prc" && : >"$tmp/policy-rc.d.ours"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q fapolicyd >"$tmp/apt.log" 2>&1 ||
		{ echo "guard.sh: apt-get install fapolicyd failed:"; tail -n 5 "$tmp/apt.log" | sed 's/^/  /'; }
	[ -e "$tmp/policy-rc.d.saved" ] && mv -f "$tmp/policy-rc.d.saved" "$prc"
	[ -e "$tmp/policy-rc.d.ours" ] && rm -f "$prc" "$tmp/policy-rc.d.ours"
fi
if [ "$FAPO" = 1 ]; then
	# No fapolicyd may be running: one on the host's mounts would refuse
	# every untrusted exec on the machine, and two would measure nothing.
	running=""
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = /usr/sbin/fapolicyd ] && running+="${p#/proc/} "
	done
	if [ -n "$running" ]; then
		echo "guard.sh: fapolicyd already runs (pid $running); it is not measured"
		FAPO=0
	elif ! command -v fapolicyd >/dev/null; then
		echo "guard.sh: fapolicyd is not installed; its rows will say failed"
		FAPO=0
	fi
fi

echo "program: $MNT/prog ($(stat -c %s "$MNT/prog") bytes, static, no C library; it exits 0)"
echo "each run: $N fork + exec + wait, each timed (CLOCK_MONOTONIC, fork to waitpid), on CPU 0;"
echo "  same file: $WARM untimed execs first (page cache, verdict caches warm), then $N of one file"
echo "  every file new: $N copies, each with its own last bytes (own hash, own inode), written"
echo "  and synced before the timing, each executed once"
echo "mamorid: enforce, a feed of one unrelated hash (every exec not in the cache is hashed),"
echo "  --watch on a bind mount of $MNT in a private mount namespace; deny_paths = $DENY_PATHS"
# fapolicyd keeps CAP_SYS_RESOURCE, among others, when it changes to its
# user; where the bounding set lacks it (some containers), its capset(2)
# fails and it exits. A preload library then takes that one capability out
# of the request; nothing else about it changes.
export CAPSHIM=""
capprm=$(sed -n 's/^CapPrm:[[:space:]]*//p' /proc/self/status)
if [ "$FAPO" = 1 ] && [ -n "$capprm" ] && (((0x$capprm >> 24 & 1) == 0)); then
	cat >"$tmp/capshim.c" <<'EOF'
#define _GNU_SOURCE
#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* capset(2) as asked, less CAP_SYS_RESOURCE, which this machine cannot give. */
int capset(cap_user_header_t h, const cap_user_data_t d)
{
	struct __user_cap_data_struct c[2];

	if (h == NULL || d == NULL || h->version == _LINUX_CAPABILITY_VERSION_1)
		return (int)syscall(SYS_capset, h, d);
	memcpy(c, d, sizeof c);
	c[0].effective &= ~(1u << CAP_SYS_RESOURCE);
	c[0].permitted &= ~(1u << CAP_SYS_RESOURCE);
	c[0].inheritable &= ~(1u << CAP_SYS_RESOURCE);
	return (int)syscall(SYS_capset, h, c);
}
EOF
	if "$CC" -shared -fPIC -O2 -o "$tmp/capshim.so" "$tmp/capshim.c" 2>"$tmp/cc.err"; then
		CAPSHIM=$tmp/capshim.so
	else
		echo "guard.sh: the capset library for fapolicyd did not build; fapolicyd will not start"
	fi
fi

if [ "$FAPO" = 1 ]; then
	echo "fapolicyd $(dpkg-query -W -f '${Version}' fapolicyd 2>/dev/null): fapolicyd.conf as Debian ships it, the rules of"
	echo "  fapolicyd's default policy (known-libs; Debian's rules.d alone refuses every exec), run as"
	echo "  fapolicyd --debug-deny in the same namespace, with the program, its copies and the"
	echo "  harness (bench_exec, timeout, their ELF interpreter and libraries) in its trust database"
	[ -n "$CAPSHIM" ] && echo "  (this machine withholds CAP_SYS_RESOURCE: a preload library drops it from fapolicyd's capset)"
else
	echo "fapolicyd: not measured"
fi
echo

unshare -m --propagation private bash "${BASH_SOURCE[0]}" --in-namespace

# ---- the tables ----

# get NAME KEY: a figure of one run.
get() { kv "$(sed -n "s/^$1 //p" "$tmp/res" | head -n1)" "$2"; }
# The baseline of each mode: the mean of the runs with no guard before and
# after the guards (the one there is, if the other failed).
for m in same new; do
	for k in median_us p99_us; do
		v=$(printf '%s\n' "$(get "none_$m" "$k")" "$(get "none2_$m" "$k")" | grep . |
			awk '{s += $1; n++} END {if (n) printf "%.1f", s / n}')
		echo "base_$m $k=$v" >>"$tmp/res"
	done
done
base() { sed -n "s/^base_$1 $2=//p" "$tmp/res"; }
# added A B: A - B, or empty when either is missing.
added() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a - b}'; }
cell() { [ -n "$1" ] && echo "$1" || echo "failed"; }
row() { printf '| %-44s | %-9s | %-9s | %-13s | %-13s |\n' "$@"; }

fail=0
row "config" "median_us" "p99_us" "added, median" "added, p99"
printf '|%s|%s|%s|%s|%s|\n' "----------------------------------------------" "-----------" \
	"-----------" "---------------" "---------------"
for mode in same new; do
	for cfg in none none2 mamorid mamoridw fapolicyd; do
		case $cfg/$mode in
		none/same) label="none, same file (first)" ;;
		none/new) label="none, every file new (first)" ;;
		none2/same) label="none, same file (last)" ;;
		none2/new) label="none, every file new (last)" ;;
		mamorid/same) label="mamorid enforce, cache hit" ;;
		mamorid/new) label="mamorid enforce, every file new (SHA-256)" ;;
		mamoridw/same) label="mamorid monitor + watch, cache hit" ;;
		mamoridw/new) label="mamorid monitor + watch, every file new" ;;
		fapolicyd/same) label="fapolicyd, same file" ;;
		fapolicyd/new) label="fapolicyd, every file new" ;;
		esac
		[ "$cfg" = fapolicyd ] && [ "$FAPO" != 1 ] && continue
		med=$(get "${cfg}_$mode" median_us)
		p99=$(get "${cfg}_$mode" p99_us)
		f=$(get "${cfg}_$mode" failed)
		if [ -n "$f" ] && [ "$f" != 0 ]; then
			label="$label ($f FAILED)"
			[ "$cfg" = fapolicyd ] || fail=1
		fi
		if [ "$cfg" = none ] || [ "$cfg" = none2 ]; then
			row "$label" "$(cell "$med")" "$(cell "$p99")" "-" "-"
		else
			row "$label" "$(cell "$med")" "$(cell "$p99")" \
				"$(cell "$(added "$med" "$(base "$mode" median_us)")")" \
				"$(cell "$(added "$p99" "$(base "$mode" p99_us)")")"
		fi
	done
done
echo
echo "added = the figure less the mean of the two runs with no guard (first and last) of the same kind"
hit=$(added "$(get mamorid_same median_us)" "$(base same median_us)")
fhit=$(added "$(get fapolicyd_same median_us)" "$(base same median_us)")
new=$(added "$(get mamorid_new median_us)" "$(base new median_us)")
fnew=$(added "$(get fapolicyd_new median_us)" "$(base new median_us)")
hit99=$(added "$(get mamorid_same p99_us)" "$(base same p99_us)")
fhit99=$(added "$(get fapolicyd_same p99_us)" "$(base same p99_us)")
echo "ratio, added median, same file: $(ratio "$hit" "$fhit" "mamorid/fapolicyd, <1: mamorid adds less")"
echo "ratio, added median, every file new: $(ratio "$new" "$fnew" "mamorid/fapolicyd, <1: mamorid adds less")"
echo "ratio, added p99, same file: $(ratio "$hit99" "$fhit99" "mamorid/fapolicyd, <1: mamorid adds less")"
echo "(a ratio is n/a when fapolicyd was not measured or added nothing measurable)"
echo

memA=$(sed -n 's/^mamorid_mem //p' "$tmp/res")
memB=$(sed -n 's/^mamoridw_mem //p' "$tmp/res")
idle_ticks=$(kv "$memB" idle_ticks)
hz=$(kv "$memB" hz)
max_rss=$(kv "$memB" max_rss_kb)
frss=$(get fapolicyd_mem max_rss_kb)
echo "mamorid RSS, the sum of its 3 processes' VmRSS (monitor + watch): $(fmt_mib "$(kv "$memB" idle_rss_kb)")" \
	"at idle, $(fmt_mib "$max_rss") the largest of $(kv "$memB" samples) samples taken every 100 ms over its runs"
echo "mamorid RSS, guard + reporter (enforce, no watch): $(fmt_mib "$(kv "$memA" max_rss_kb)") the largest" \
	"of $(kv "$memA" samples) samples"
[ "$FAPO" = 1 ] && echo "fapolicyd RSS: $(fmt_mib "$frss") the largest over its runs"
idle_s() { [ -n "$1" ] && awk -v t="$1" -v h="$2" 'BEGIN {printf "%.2f s", t / h}' || echo "not measured"; }
echo "mamorid idle CPU (utime + stime) over $IDLE s in which the benchmark ran nothing:" \
	"$(idle_s "$idle_ticks" "$hz") for the 3 processes, while the machine started $(kv "$memB" forks) processes;" \
	"$(idle_s "$(kv "$memA" idle_ticks)" "$(kv "$memA" hz)") for guard + reporter, while it started $(kv "$memA" forks)"
echo
verdict() { if [ -z "$2" ]; then echo "no figure"; elif awk -v a="$2" -v b="$3" "BEGIN {exit !($1)}"; then echo met; else echo "not met"; fi; }
echo "target: mamorid cache hit adds <= $TARGET_HIT_US us: $(verdict 'a <= b' "$hit" "$TARGET_HIT_US") (${hit:-?} us, median)"
if [ -n "$fhit" ]; then
	echo "target: mamorid cache hit adds less than fapolicyd: $(verdict 'a < b' "$hit" "$fhit") (${hit:-?} us against $fhit us, median)"
else
	echo "target: mamorid cache hit adds less than fapolicyd: no fapolicyd figure"
fi
echo "target: mamorid RSS <= 4 MiB without YARA rules: $(verdict 'a <= b' "$max_rss" "$TARGET_RSS_KB") ($(fmt_mib "$max_rss") the largest, 3 processes)"
echo "target: mamorid idle CPU ~ 0: $(verdict 'a <= 1' "$idle_ticks" 0) (${idle_ticks:-?} ticks of 1/${hz:-?} s in $IDLE s, 3 processes;" \
	"$(kv "$memA" idle_ticks) for guard + reporter alone)"
echo
echo "runs:"
sed 's/^/  /' "$tmp/detail"

# What decides the exit status: mamorid's own correctness.
[ -n "$(sed -n 's/^setup error=//p' "$tmp/res")" ] && fail=1
for name in mamorid mamoridw; do
	chk=$(sed -n "s/^${name}_check //p" "$tmp/res")
	[ -z "$chk" ] && { echo "$name: no check result"; fail=1; }
	for c in $chk; do
		case $c in error=*) echo "$name: ${c#error=}"; fail=1 ;; esac
	done
	[ -n "$(get "${name}_same" median_us)" ] && [ -n "$(get "${name}_new" median_us)" ] || fail=1
done
fchk=$(sed -n 's/^fapolicyd_check //p' "$tmp/res")
[ -n "$fchk" ] && echo "fapolicyd: $fchk (reported only)"
exit "$fail"
