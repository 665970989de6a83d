#!/usr/bin/env bash
# Checks that a flood cannot push mamori-gw past its memory bound: 300,000
# packets of random garbage frames, headers cut short or with lying
# lengths, TCP SYNs from random addresses to random ports (half-open
# flows), random UDP datagrams to the decoders' ports, and MQTT and HTTP
# connections that send part of a message that never ends, in order and out
# of order (bench/gen_pcap.c, flood). Read with `mamori-gw -r` and
# [flows] max_memory = 4M, max_flows = 10000, it must exit 0, print only
# records that validate as X.1367, count its flows' memory at most
# max_memory at its peak while it evicts flows to stay there, and keep its
# peak RSS under the bound below. The same flood read with the default
# bound (64 MiB) must need more than twice max_memory, so that it is the
# bound, not a weak flood, that kept the memory down.
#
# The RSS bound: BASELINE + 2 x max_memory + 4 MiB, where BASELINE is the
# peak RSS of the same program and configuration reading a pcap of 2,000
# packets (the code, libraries, mapping tables, libpcap's and stdio's
# buffers, the allocator's first arenas). max_memory counts the bytes of
# the flows, their decoder states and their buffers; a second max_memory
# is for the allocator, which keeps the room of freed flows and buffers of
# every size up to max_buffer (64 KiB) and cannot always reuse it for the
# next ones. The 4 MiB are for the tables outside the flows, each bounded
# here below its default: 1024 pending requests of at most 256 raw bytes,
# 1024 periodic streams, 1024 devices with 8 peers and ports each in the
# flow statistics (together under 2 MiB), twice over. An ASan build keeps
# a redzone and header beside every allocation, 1/8 of the heap as shadow
# and rounds sizes to its own classes, which about doubles the memory of
# many small allocations: there the part above BASELINE may be twice as
# large, and freed memory is not quarantined (quarantine_size_mb=0), or
# the quarantine alone would be 256 MiB.
#
# The peak RSS is the child's ru_maxrss from wait4 (python3), exact and
# independent of polling.
set -euo pipefail
bin="${MAMORI_BIN:?}"
src="${MAMORI_SRC:?}"
gw="$bin/mamori-gw"
gen="$bin/gen_pcap"
cli="$bin/mamori"
PACKETS=300000
MAX_MEMORY=$((4 * 1024 * 1024))
MAX_FLOWS=10000
RUN_TIMEOUT=240

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
for p in "$gw" "$gen" "$cli"; do
  [ -x "$p" ] || fail "no $p"
done
command -v python3 >/dev/null || fail "python3 is not installed (scripts/deps.sh)"

tmp=$(mktemp -d /tmp/mamori-it-gwflood.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

asan=0
if ldd "$gw" 2>/dev/null | grep -q libasan; then
  asan=1
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
fi

# run_rss OUT ERR CMD...: runs CMD with stdout in OUT and stderr in ERR, for
# at most RUN_TIMEOUT seconds (then it is killed), and prints "EXIT RSS_KB":
# its exit status (128+N for signal N) and peak RSS in KiB.
run_rss() {
  python3 - "$RUN_TIMEOUT" "$@" <<'EOF'
import os, signal, sys
limit, out, err, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
pid = os.fork()
if pid == 0:
    os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
    os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
    os.execv(argv[0], argv)
signal.signal(signal.SIGALRM, lambda *a: os.kill(pid, signal.SIGKILL))
signal.alarm(limit)
_, status, ru = os.wait4(pid, 0)
code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
print(code, ru.ru_maxrss)
EOF
}

# The counters mamori-gw -r prints at its end: "flows N (active N, decoded
# N, evicted N, ..., memory_peak N of max_memory N)". Prints "EVICTED PEAK MAX".
flow_counters() {
  sed -n 's/.*flows [0-9]* (.*evicted \([0-9]*\),.*memory_peak \([0-9]*\) of max_memory \([0-9]*\)).*/\1 \2 \3/p' "$1" |
    tail -n1
}

write_conf() { # FILE [FLOW LINES...]
  local f=$1
  shift
  {
    printf '[tables]\nerrmap = %s/data/errmap\n' "$src"
    printf '[reporter]\nmax_pending = 1024\nmax_raw = 256\n'
    printf '[silence]\nmax_streams = 1024\n'
    printf '[stats]\nmax_devices = 1024\nmax_peers = 8\n'
    printf '[flows]\n'
    printf '%s\n' "$@"
  } >"$f"
}
write_conf "$tmp/bounded.conf" "max_memory = 4M" "max_flows = $MAX_FLOWS"
write_conf "$tmp/open.conf"

"$gen" flood -n "$PACKETS" -o "$tmp/flood.pcap" 2>"$tmp/gen.err" || fail "gen_pcap flood: $(cat "$tmp/gen.err")"
"$gen" mixed -n 2000 -o "$tmp/tiny.pcap" 2>"$tmp/gen_tiny.err" || fail "gen_pcap mixed: $(cat "$tmp/gen_tiny.err")"
echo "flood: $(cat "$tmp/gen.err")"

# The baseline: the same program and configuration on 2,000 packets.
read -r rc base_kb < <(run_rss "$tmp/tiny.out" "$tmp/tiny.err" "$gw" -f "$tmp/bounded.conf" \
  --spool "$tmp/spool" -r "$tmp/tiny.pcap")
[ "$rc" = 0 ] || fail "mamori-gw -r on 2,000 packets exited $rc: $(head -n 20 "$tmp/tiny.err")"
[ -n "$base_kb" ] && [ "$base_kb" -gt 0 ] || fail "no baseline RSS"

# The flood, bounded.
read -r rc peak_kb < <(run_rss "$tmp/flood.out" "$tmp/flood.err" "$gw" -f "$tmp/bounded.conf" \
  --spool "$tmp/spool" -r "$tmp/flood.pcap")
[ "$rc" = 0 ] || fail "mamori-gw -r on the flood exited $rc: $(grep -v '^mamori-gw: \(frames\|flows\|records\) ' "$tmp/flood.err" | head -n 20)"
grep -E '^mamori-gw: (frames|flows|records) ' "$tmp/flood.err" | sed 's/^/  /'
read -r evicted mpeak mmax < <(flow_counters "$tmp/flood.err")
[ -n "${mpeak:-}" ] || fail "no 'flows ... evicted N ... memory_peak N of max_memory N' line on stderr: $(tail -n 5 "$tmp/flood.err")"
[ "$mmax" = "$MAX_MEMORY" ] || fail "max_memory is $mmax, want $MAX_MEMORY (from [flows] max_memory = 4M)"
[ "$mpeak" -le "$MAX_MEMORY" ] || fail "memory_peak $mpeak is above max_memory $MAX_MEMORY"
[ "$evicted" -gt 0 ] || fail "no flow was evicted: the flood did not reach the bound"
echo "ok: memory_peak $mpeak <= max_memory $MAX_MEMORY, $evicted flows evicted"

# Whatever it found in the flood (malformed messages, refused requests)
# must still be valid X.1367.
if [ -s "$tmp/flood.out" ]; then
  "$cli" x1367 validate --quiet "$tmp/flood.out" >"$tmp/validate" 2>&1 ||
    fail "records that do not validate: $(head -n 5 "$tmp/validate")"
fi
echo "ok: $(wc -l <"$tmp/flood.out") records printed, every one valid X.1367"

variable_kb=$((2 * MAX_MEMORY / 1024 + 4096))
[ "$asan" = 1 ] && variable_kb=$((2 * variable_kb))
bound_kb=$((base_kb + variable_kb))
echo "peak RSS ${peak_kb} KiB; bound ${bound_kb} KiB = baseline ${base_kb} KiB + ${variable_kb} KiB$([ "$asan" = 1 ] && echo " (ASan build: twice the part above the baseline)")"
[ "$peak_kb" -le "$bound_kb" ] || fail "peak RSS ${peak_kb} KiB is above the bound ${bound_kb} KiB"
echo "ok: peak RSS within the bound"

# The same flood without the 4 MiB bound must need more, or this test
# would prove nothing.
read -r rc open_kb < <(run_rss "$tmp/open.out" "$tmp/open.err" "$gw" -f "$tmp/open.conf" \
  --spool "$tmp/spool" -r "$tmp/flood.pcap")
[ "$rc" = 0 ] || fail "mamori-gw -r on the flood with the default bound exited $rc: $(tail -n 20 "$tmp/open.err")"
read -r _ open_peak _ < <(flow_counters "$tmp/open.err")
[ -n "${open_peak:-}" ] || fail "no flows line on stderr with the default bound"
[ "$open_peak" -gt $((2 * MAX_MEMORY)) ] ||
  fail "with the default bound the flood's flows needed only $open_peak bytes: make the flood heavier"
echo "ok: with the default bound the same flood's flows need $open_peak bytes (peak RSS ${open_kb} KiB)"
echo "gw_flood: all checks passed"
