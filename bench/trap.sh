#!/usr/bin/env bash
# The telnet honeypot: mamori-trap holding idle sessions and serving logins
# and Mirai-style sessions, beside the real thing a persona imitates, BusyBox
# telnetd with BusyBox login and ash in a chroot, measured in the same run.
# See bench/README.md, part 9, for how to read it.
#
#   bash bench/trap.sh BINDIR        (bench/run.sh calls it last)
#
# Environment (all optional):
#   TRAP_BENCH_IDLE       idle sessions opened to mamori-trap (default 10000)
#   TRAP_BENCH_PEER_IDLE  idle sessions opened to busybox telnetd (default 500:
#                         it forks a login per connection)
#   TRAP_BENCH_SECONDS    seconds of each rate run (default 10)
#   TRAP_BENCH_CLIENTS    parallel clients of each rate run (default 16)
#   TRAP_BENCH_UPLOAD     bytes uploaded by each Mirai-style session (default 4096)
#   TRAP_BENCH_PEER       0 leaves busybox telnetd out (default 1)
#
# Cowrie, the honeypot named as this part's peer, cannot be installed here
# (not in Debian, not on a reachable registry); the table says so.
#
# Only 127.0.0.1 is used. The servers run on CPU 0 and the load on CPU 1.
# Exit status: 0, or 1 when mamori-trap got something wrong: it is not
# built, did not start, did not show the login prompt to every idle session,
# closed one, refused the login after them, or failed a rate run's session.
# Speed never decides it; the peer failing is reported only.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN=${1:-build-bench/bin}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IDLE_N=${TRAP_BENCH_IDLE:-10000}
PEER_IDLE_N=${TRAP_BENCH_PEER_IDLE:-500}
SECS=${TRAP_BENCH_SECONDS:-10}
CLIENTS=${TRAP_BENCH_CLIENTS:-16}
UPLOAD=${TRAP_BENCH_UPLOAD:-4096}
PEER=${TRAP_BENCH_PEER:-1}
TRAP="$BIN/mamori-trap"
LOAD="$SRC/bench/trap_load.py"
PY=/usr/bin/python3

echo "== mamori-trap against busybox telnetd: idle sessions held, logins/s, Mirai-style sessions/s =="
echo
echo "peer: Cowrie cannot be installed here (not in Debian, no reachable registry or repository);"
echo "      compared instead with what the personas imitate: busybox-static's telnetd, login and ash"
echo "      in a chroot with a shadow entry for root/xc3511"
[ -x "$TRAP" ] || { echo "trap.sh: $TRAP not built; not run"; exit 1; }
[ -x "$PY" ] || { echo "trap.sh: no /usr/bin/python3; not run"; exit 1; }

# The load needs a file per connection; the servers are given theirs.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" -lt $((IDLE_N + 200)) ]; then
	echo "trap.sh: the file limit $(ulimit -n) is below $((IDLE_N + 200)); idle sessions lowered"
	IDLE_N=$(($(ulimit -n) - 200))
fi

tmp=$(mktemp -d /tmp/mamori-bench-trap.XXXXXX)
chmod 0755 "$tmp"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

srv_pin=()
cli_pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	srv_pin=(taskset -c 0)
	cli_pin=(taskset -c 1)
fi
fail=0

port_listening() {
	awk -v p="$(printf ':%04X' "$1")" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p {f = 1}
		END {exit !f}' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		awk -v p="$(printf ':%04X' "$p")" 'FNR > 1 && substr($2, length($2) - 4) == p {f = 1}
			END {exit !f}' /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$p"; return; }
	done
}
wait_listen() {
	local i
	for ((i = 0; i < 200; i++)); do
		port_listening "$1" && return 0
		sleep 0.05
	done
	return 1
}
# KiB of a process: rss PID, pss PID (smaps_rollup).
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null; }
per_session() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {if (n > 0 && a != "" && b != "") printf "%.1f", (b - a) / n}'; }
fmt_kib() { [ -n "$1" ] && echo "$1 KiB" || echo "failed"; }

# idle_run NAME PORT N PIDS-FUNCTION PARALLEL: opens N idle sessions, PARALLEL
# at a time, and prints
# "rss0=.. rss1=.. pss0=.. pss1=.. opened=.. prompted=.. still_open=..
# new_login=.." where the memory is the sum over the server's processes.
idle_run() {
	local name=$1 port=$2 n=$3 pf=$4 par=$5 r0 r1 p0 p1 lp i out
	sleep 0.5
	r0=$(sum_of rss "$pf")
	p0=$(sum_of pss "$pf")
	rm -f "$tmp/$name.ready" "$tmp/$name.go"
	"${cli_pin[@]}" "$PY" "$LOAD" idle "$port" -n "$n" --parallel "$par" --ready "$tmp/$name.ready" --go "$tmp/$name.go" \
		--hold 300 >"$tmp/$name.idle" 2>"$tmp/$name.idle.err" &
	lp=$!
	for ((i = 0; i < 3000; i++)); do
		[ -e "$tmp/$name.ready" ] && break
		kill -0 "$lp" 2>/dev/null || break
		sleep 0.1
	done
	# The server settles what the last connections started.
	sleep 1
	r1=$(sum_of rss "$pf")
	p1=$(sum_of pss "$pf")
	touch "$tmp/$name.go"
	wait "$lp"
	out=$(tr '\n' ' ' <"$tmp/$name.idle")
	echo "rss0=$r0 rss1=$r1 pss0=$p0 pss1=$p1 $out"
}
# sum_of rss|pss PIDS-FUNCTION: the sum over the processes the function lists.
sum_of() {
	local f=$1 p s=0 v
	for p in $($2); do
		v=$($f "$p")
		[ -n "$v" ] && s=$((s + v))
	done
	echo "$s"
}

# rate_run PORT KIND PIDS-FUNCTION [ARGS]: one rate run; prints trap_load's
# line and the servers' CPU seconds.
rate_run() {
	local port=$1 kind=$2 pf=$3 c0 c1 out
	shift 3
	c0=$(cpu_sum "$pf")
	out=$("${cli_pin[@]}" "$PY" "$LOAD" rate "$port" --kind "$kind" -c "$CLIENTS" -t "$SECS" \
		--upload "$UPLOAD" "$@" 2>>"$tmp/rate.err")
	c1=$(cpu_sum "$pf")
	echo "$out server_cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.2f", b - a}')"
}
# The CPU seconds of the server's processes (the living ones, and the
# children they waited for, from /proc/PID/stat's cutime and cstime).
cpu_sum() {
	local p
	for p in $($1); do
		sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null
	done | awk -v hz="$(getconf CLK_TCK)" '{s += $12 + $13 + $14 + $15} END {printf "%.3f", s / hz}'
}

# ---- mamori-trap ----

tport=$(free_port)
mkdir -p "$tmp/trap"
cat >"$tmp/trap.conf" <<EOF
[trap]
listen = 127.0.0.1
personas = $SRC/data/trap/personas
attack = $SRC/data/trap/attack.tsv
user = nobody

[login]
credentials = $SRC/data/credentials.tsv
accept = mirai
delay_ms = 0

[limits]
max_sessions = $((IDLE_N + 1000))
per_address = 0
rate_per_address = 1000000
idle_timeout = 3600
session_timeout = 3600

[soc]
url = none
EOF
# -d copies every event to standard output: thrown away here, the events
# file is written all the same.
"${srv_pin[@]}" "$TRAP" -d -p "$tport" -s "$tmp/trap" --persona dvr-arm --seed 1 -f "$tmp/trap.conf" \
	>/dev/null 2>"$tmp/trap.log" &
trap_pid=$!
pids+=("$trap_pid")
trap_pids() { echo "$trap_pid"; }
m_idle="" m_login="" m_mirai=""
if ! wait_listen "$tport"; then
	echo "mamori-trap did not listen:"
	sed 's/^/  /' "$tmp/trap.log" | tail -n 20
	fail=1
else
	m_idle=$(idle_run trap "$tport" "$IDLE_N" trap_pids 64)
	m_login=$(rate_run "$tport" login trap_pids)
	m_mirai=$(rate_run "$tport" mirai trap_pids)
	kill -TERM "$trap_pid" 2>/dev/null
	wait "$trap_pid" 2>/dev/null
	m_captured=$(find "$tmp/trap/downloads" -type f 2>/dev/null | wc -l)
	m_events=$(wc -l <"$tmp/trap/log/events.json" 2>/dev/null || echo 0)
fi

# ---- busybox telnetd in a chroot, its own mount and pid namespaces ----

p_idle="" p_login="" p_mirai=""
peer_ok=0
peer_why=""
if [ "$PEER" != 1 ]; then
	peer_why="left out (TRAP_BENCH_PEER=0)"
elif [ "$(id -u)" != 0 ]; then
	peer_why="needs root (chroot, namespaces)"
elif ! [ -x /bin/busybox ] || ! /bin/busybox --list 2>/dev/null | grep -qx telnetd; then
	peer_why="busybox-static with telnetd not installed (scripts/deps.sh)"
elif ! command -v unshare >/dev/null || ! command -v openssl >/dev/null; then
	peer_why="unshare or openssl missing"
else
	R="$tmp/root"
	mkdir -p "$R/bin" "$R/etc" "$R/dev/pts" "$R/proc" "$R/tmp" "$R/root"
	chmod 1777 "$R/tmp"
	cp /bin/busybox "$R/bin/busybox"
	chroot "$R" /bin/busybox --install -s /bin
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
	printf 'root:%s:19000:0:99999:7:::\n' "$(openssl passwd -6 xc3511)" >"$R/etc/shadow"
	chmod 0600 "$R/etc/shadow"
	printf 'root:x:0:\n' >"$R/etc/group"
	mknod -m 666 "$R/dev/null" c 1 3
	mknod -m 666 "$R/dev/zero" c 1 5
	mknod -m 666 "$R/dev/tty" c 5 0
	ln -s pts/ptmx "$R/dev/ptmx"
	pport=$(free_port)
	# pid 1 of the namespace is telnetd: killing it ends every login and shell.
	"${srv_pin[@]}" unshare -m -p --fork sh -c "mount -t proc proc '$R/proc' &&
		mount -t devpts -o newinstance,ptmxmode=0666 devpts '$R/dev/pts' &&
		exec chroot '$R' /bin/busybox telnetd -F -p $pport -l /bin/login" >"$tmp/peer.log" 2>&1 &
	unshare_pid=$!
	pids+=("$unshare_pid")
	if wait_listen "$pport"; then
		peer_ok=1
		telnetd_pid=$(awk -v pp="$unshare_pid" '$4 == pp {print $1}' /proc/[0-9]*/stat 2>/dev/null | head -n1)
		pids+=("$telnetd_pid")
		ns=$(readlink "/proc/$telnetd_pid/ns/pid")
		# Every process of the namespace: telnetd and its logins and shells.
		peer_pids() {
			local d
			for d in /proc/[0-9]*; do
				[ "$(readlink "$d/ns/pid" 2>/dev/null)" = "$ns" ] && echo "${d#/proc/}"
			done
		}
		# telnetd listens with a backlog of 1: a few connections at a time.
		p_idle=$(idle_run peer "$pport" "$PEER_IDLE_N" peer_pids 2)
		p_login=$(rate_run "$pport" login peer_pids)
		p_mirai=$(rate_run "$pport" mirai peer_pids --no-exec)
	else
		peer_why="busybox telnetd did not listen: $(tail -n 3 "$tmp/peer.log" | tr '\n' ' ')"
	fi
	kill -KILL "$telnetd_pid" "$unshare_pid" 2>/dev/null
	wait "$unshare_pid" 2>/dev/null
fi

# ---- the table ----

m_n=$(kv "$m_idle" prompted)
m_rss=$(per_session "$(kv "$m_idle" rss0)" "$(kv "$m_idle" rss1)" "$m_n")
m_pss=$(per_session "$(kv "$m_idle" pss0)" "$(kv "$m_idle" pss1)" "$m_n")
p_n=$(kv "$p_idle" prompted)
p_rss=$(per_session "$(kv "$p_idle" rss0)" "$(kv "$p_idle" rss1)" "$p_n")
p_pss=$(per_session "$(kv "$p_idle" pss0)" "$(kv "$p_idle" pss1)" "$p_n")
held() {
	[ -z "$1" ] && { echo "failed"; return; }
	echo "$(kv "$1" prompted)/$2 $(kv "$1" still_open) $([ "$(kv "$1" new_login)" = 1 ] && echo yes || echo NO)"
}
per_login() { awk -v c="$(kv "$1" server_cpu_s)" -v n="$(kv "$1" done)" 'BEGIN {if (n > 0) printf "%.2f", c * 1000 / n}'; }

echo
echo "idle: $IDLE_N connections to mamori-trap, $PEER_IDLE_N to busybox telnetd, each at the login prompt;"
echo "      memory per session = (after - before) / sessions, summed over the server's processes"
echo "rate: $CLIENTS clients for ${SECS} s each; a login = connect, log in, exit; a Mirai-style session ="
echo "      the loader's sequence with a $UPLOAD-byte echo -ne upload (busybox: without running it)"
echo
printf '| %-46s | %-16s | %-16s | %-40s |\n' "what" "mamori-trap" "busybox telnetd" "ratio"
printf '|%s|%s|%s|%s|\n' "------------------------------------------------" "------------------" \
	"------------------" "------------------------------------------"
printf '| %-46s | %-16s | %-16s | %-40s |\n' "idle sessions: prompted/opened, open, login" \
	"$(held "$m_idle" "$IDLE_N")" "$(held "$p_idle" "$PEER_IDLE_N")" ""
printf '| %-46s | %-16s | %-16s | %-40s |\n' "memory per idle session, RSS" \
	"$(fmt_kib "$m_rss")" "$(fmt_kib "$p_rss")" "$(ratio "$p_rss" "$m_rss" "busybox/mamori, >1: mamori smaller")"
printf '| %-46s | %-16s | %-16s | %-40s |\n' "memory per idle session, PSS" \
	"$(fmt_kib "$m_pss")" "$(fmt_kib "$p_pss")" "$(ratio "$p_pss" "$m_pss" "busybox/mamori, >1: mamori smaller")"
printf '| %-46s | %-16s | %-16s | %-40s |\n' "logins/s" \
	"$(fmt_rate "$(kv "$m_login" rate)")" "$(fmt_rate "$(kv "$p_login" rate)")" \
	"$(ratio "$(kv "$m_login" rate)" "$(kv "$p_login" rate)" "mamori/busybox, >1: mamori faster")"
printf '| %-46s | %-16s | %-16s | %-40s |\n' "server CPU ms per login" \
	"$(per_login "$m_login")" "$(per_login "$p_login")" \
	"$(ratio "$(per_login "$p_login")" "$(per_login "$m_login")" "busybox/mamori, >1: mamori cheaper")"
printf '| %-46s | %-16s | %-16s | %-40s |\n' "Mirai-style sessions/s" \
	"$(fmt_rate "$(kv "$m_mirai" rate)")" "$(fmt_rate "$(kv "$p_mirai" rate)")" \
	"$(ratio "$(kv "$m_mirai" rate)" "$(kv "$p_mirai" rate)" "mamori/busybox, >1: mamori faster")"
printf '| %-46s | %-16s | %-16s | %-40s |\n' "server CPU ms per Mirai-style session" \
	"$(per_login "$m_mirai")" "$(per_login "$p_mirai")" \
	"$(ratio "$(per_login "$p_mirai")" "$(per_login "$m_mirai")" "busybox/mamori, >1: mamori cheaper")"
printf '| %-46s | %-16s | %-16s | %-40s |\n' "Cowrie" "-" "-" "not installable here: no figures"
echo
target="met"
{ [ -n "$m_rss" ] && [ "${m_n:-0}" -ge 10000 ] && awk -v v="$m_rss" 'BEGIN {exit !(v <= 64)}'; } || target="NOT met"
echo "target (>= 10000 idle sessions held, <= 64 KiB RSS each): $target ($m_n sessions, $(fmt_kib "$m_rss") each)"
[ "$peer_ok" = 1 ] || echo "busybox telnetd: not measured: $peer_why"
echo
echo "runs:"
echo "  mamori-trap idle: $m_idle"
echo "  mamori-trap login: $m_login"
echo "  mamori-trap mirai: $m_mirai captured_files=${m_captured:-0} event_lines=${m_events:-0}"
echo "  busybox idle: $p_idle"
echo "  busybox login: $p_login"
echo "  busybox mirai: $p_mirai"
[ -s "$tmp/rate.err" ] && sed 's/^/  load: /' "$tmp/rate.err" | sort | uniq -c | head -n 10

# What decides the exit status: mamori-trap's own failures only.
if [ -n "$m_idle" ]; then
	[ "$(kv "$m_idle" prompted)" = "$IDLE_N" ] || { echo "mamori-trap: not every idle session got the login prompt"; fail=1; }
	[ "$(kv "$m_idle" still_open)" = "$IDLE_N" ] || { echo "mamori-trap: idle sessions were closed"; fail=1; }
	[ "$(kv "$m_idle" new_login)" = 1 ] || { echo "mamori-trap: no login beside the idle sessions"; fail=1; }
	for r in "$m_login" "$m_mirai"; do
		if [ "$(kv "$r" failed)" != 0 ] || [ "$(kv "$r" done)" = 0 ]; then
			echo "mamori-trap: a rate run failed sessions: $r"
			fail=1
		fi
	done
fi
exit "$fail"
