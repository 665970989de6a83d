# Helpers shared by bench/run.sh and bench/send.sh: reading "k=v k=v" result
# lines, process figures from /proc, medians and the formatting of the
# tables. Source it; it defines functions only.
# shellcheck shell=bash

# The value of KEY in a "k=v k=v" line: kv LINE KEY
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n1; }

# collect KEY RESULTS...: the values of KEY in the results that are not error=...
collect() {
	local key=$1 r
	shift
	for r in "$@"; do
		[[ "$r" == error=* ]] && continue
		kv "$r" "$key"
	done
}

# Peak RSS in KiB of process $1.
vmhwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# CPU seconds (user + system, all threads) of process $1: fields 14 and 15 of
# /proc/PID/stat, counted after the ')' that ends the command name (which may
# itself contain spaces).
cpu_s() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null |
		awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($12 + $13) / hz}'
}

# median and maximum of the numbers on stdin (one a line)
median() { sort -g | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'; }
maxof() { sort -g | tail -n1; }

fmt_rate() { [ -n "$1" ] && awk -v v="$1" 'BEGIN{printf "%.0f", v}' || echo "failed"; }
fmt_mib() { [ -n "$1" ] && awk -v v="$1" 'BEGIN{printf "%.1f MiB", v / 1024}' || echo "failed"; }
fmt_s() { [ -n "$1" ] && awk -v v="$1" 'BEGIN{printf "%.2f s", v}' || echo "failed"; }

# ratio A B WHICH: "A/Bx (WHICH)", or n/a when a figure is missing
ratio() {
	if [ -n "$1" ] && [ -n "$2" ] && awk -v b="$2" 'BEGIN{exit !(b > 0)}'; then
		awk -v a="$1" -v b="$2" -v w="$3" 'BEGIN{printf "%.2fx (%s)", a / b, w}'
	else
		echo "n/a"
	fi
}

# summarise P RESULT...: from the result lines of one program's runs, sets
# ${P}_ok (complete runs), ${P}_rate and ${P}_cpu (medians) and ${P}_rss (the
# largest peak).
summarise() {
	local p=$1
	shift
	printf -v "${p}_ok" '%s' "$(collect rate "$@" | wc -l)"
	printf -v "${p}_rate" '%s' "$(collect rate "$@" | median)"
	printf -v "${p}_rss" '%s' "$(collect rss_kb "$@" | maxof)"
	printf -v "${p}_cpu" '%s' "$(collect cpu_s "$@" | median)"
}
