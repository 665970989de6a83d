#!/usr/bin/env bash
# Checks that `make bench` works end to end on a small corpus: the in-process
# pipeline parses and validates every generated message, both TCP receivers
# (mamori's and rsyslog's) deliver every record intact, the spool gives back
# every record byte for byte and in order with each fsync policy, and
# `mamori send` delivers every event over RELP intact and once, and
# mamori-soc stores every one of 20,000 X.1367 records once, strict and
# unchanged, and mamori-gw -r finds in a pcap of 3,000 packets of mixed IoT
# traffic exactly the records of its error responses, each valid, and the
# exec guard's benchmark ran a small static program 200 times each way with
# no guard and under mamorid in enforce mode without one refusal, while
# mamorid refused and reported (with its hash) the one program in its feed,
# and mamori-trap held 200 idle telnet sessions at the login prompt and
# served logins and Mirai-style sessions for 2 s each without a failure.
# fapolicyd is left out here: it is installed and run by `make bench` alone.
# It reads what the benchmarks verified, never how fast they were.
set -euo pipefail
bin="${MAMORI_BIN:?}"
src="${MAMORI_SRC:?}"
out=$(mktemp)
gwdir=$(mktemp -d)
guarddir=$(mktemp -d)
trap 'rm -rf "$out" "$gwdir" "$guarddir"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$out" >&2; exit 1; }

BENCH_N=2000 BENCH_SEND_N=2000 SOC_BENCH_EVENTS=20000 BENCH_PASSES=1 BENCH_REPS=1 BENCH_TIMEOUT=60 \
  GW_BENCH_PACKETS=3000 GW_BENCH_DIR="$gwdir" \
  GUARD_BENCH_N=200 GUARD_BENCH_IDLE_S=1 GUARD_BENCH_FAPOLICYD=0 GUARD_BENCH_DIR="$guarddir" \
  DEVICE_BENCH_FAST_S=3 DEVICE_BENCH_SLOW_S=5 DEVICE_BENCH_PEER_N=5 \
  TRAP_BENCH_IDLE=200 TRAP_BENCH_PEER_IDLE=20 TRAP_BENCH_SECONDS=2 TRAP_BENCH_CLIENTS=4 \
  bash "$src/bench/run.sh" "$bin" >"$out" 2>&1 ||
  fail "bench/run.sh exited $?"
grep -q '^corpus: 2000 distinct RFC 5424 messages' "$out" || fail "corpus line"
grep -q '^| RFC 5424 parse (mm_syslog_parse) ' "$out" || fail "parse row"
grep -q '^| full: parse + mm_x1367_decode STRICT + free ' "$out" || fail "decode row"
grep -Eq '^  mamori run 1: done=1 msgs=2000 .* lines=2000 verified=2000 duplicates=0' "$out" ||
  fail "mamori's receiver did not deliver all 2000 records intact"
grep -Eq '^  rsyslog run 1: done=1 msgs=2000 .* lines=2000 verified=2000 duplicates=0' "$out" ||
  fail "rsyslog's run did not complete"
grep -Eq '^\| complete, verified runs +\| 1/1 +\| 1/1 ' "$out" || fail "verified runs row"
# The spool: BENCH_N records for interval=100 and never, 1000 for always.
grep -q '^verified policy=always: 1000 of 1000 records byte-identical and in order, in 1 of 1 runs$' "$out" ||
  fail "the spool did not give back all 1000 records with --sync always"
grep -q '^verified policy=interval=100: 2000 of 2000 records byte-identical and in order, in 1 of 1 runs$' "$out" ||
  fail "the spool did not give back all 2000 records with --sync interval=100"
grep -q '^verified policy=never: 2000 of 2000 records byte-identical and in order, in 1 of 1 runs$' "$out" ||
  fail "the spool did not give back all 2000 records with --sync never"
grep -q '^MISMATCH' "$out" && fail "a record read back from the spool differed"
# RELP: mamori send's events arrived at rsyslogd all, once, unchanged, in order.
grep -Eq '^  mamori run 1: done=1 exit=0 lines=2000 lost=0 duplicates=0 changed=0 in_order=yes ' "$out" ||
  fail "mamori send did not deliver all 2000 events intact over RELP"
grep -Eq '^  omrelp run 1: ' "$out" || fail "omrelp run line"
# The SOC: mamori-soc's database holds the 20000 records, each once, strict,
# with the corpus's times and bytes, and no dead letter; rsyslog's file holds
# them too.
grep -Eq '^  mamori-soc run 1: .* done=1 stored=20000 \| rows=20000 distinct=20000 strict=20000 msg_bytes_ok=yes times_ok=yes dead=0 ' "$out" ||
  fail "mamori-soc did not store all 20000 records intact"
grep -Eq '^  rsyslog run 1: .* done=1 lines=20000 \| file_lines=20000 records=20000 ' "$out" ||
  fail "rsyslog's SOC run did not complete"
# mamori-gw -r: gen_pcap wrote error responses; mamori-gw found each as one
# valid record of its protocol, and no No Response record; the table was
# printed with tshark's runs beside it.
gw_total=$(sed -n 's/^ *error responses written (the records to find): total=\([0-9]*\) .*/\1/p' "$out")
[ -n "$gw_total" ] && [ "$gw_total" -gt 0 ] || fail "gw: no count of the error responses written"
grep -Eq '^  mamori-gw run 1: exit=0 .* valid=yes no_response=0 ' "$out" ||
  fail "mamori-gw -r did not exit 0 with valid records only"
grep -Eq "^\| error responses found / written +\| $gw_total/$gw_total " "$out" ||
  fail "mamori-gw -r did not find the $gw_total records"
grep -Eq '^\| packets/s, wall clock \(median\) +\| [0-9]+ ' "$out" || fail "gw packets/s row"
grep -Eq '^  tshark \(errors\) run 1: ' "$out" || fail "tshark run line"
# The exec guard: every exec of the benchmark's program ran and exited 0,
# with no guard and under mamorid (cache hit and every file new, in enforce
# mode and in monitor mode with the behaviour watch); the canary, whose hash
# is in mamorid's feed, was refused in enforce mode, and exactly that one
# refusal was reported, as guard.exec.denied with reason feed and its hash;
# in monitor mode its exec was reported and no other program's was.
for run in none_same none_new mamorid_same mamorid_new mamoridw_same mamoridw_new none2_same none2_new; do
  mode=${run##*_}
  grep -Eq "^  $run: mode=$mode n=200 median_us=[0-9.]+ p99_us=[0-9.]+ .* failed=0\$" "$out" ||
    fail "guard: run $run did not exec the program 200 times without a failure"
done
grep -Eq "^  probe: exec of $guarddir/mnt/canary refused \((Operation not permitted|Permission denied)\)" "$out" ||
  fail "guard: mamorid did not refuse the canary"
grep -q '^  mamorid check: ok=canary-denied denied_events=1 others=0$' "$out" ||
  fail "guard: the canary's refusal was not reported once with its hash"
grep -Eq '^  mamoridw check: ok=canary-reported denied_events=[1-9][0-9]* others=0$' "$out" ||
  fail "guard: in monitor mode the canary's exec was not reported, or another was"
grep -Eq '^\| mamorid enforce, cache hit +\| [0-9.]+ +\| [0-9.]+ +\| -?[0-9.]+ ' "$out" || fail "guard: cache hit row"
grep -Eq '^\| mamorid enforce, every file new \(SHA-256\) +\| [0-9.]+ ' "$out" || fail "guard: every file new row"
grep -Eq '^mamorid RSS, the sum of its 3 processes' "$out" || fail "guard: RSS line"
# detect, audit and inventory: mamorid completed its first audit and SBOM,
# wrote Device Defender's report, and the figures were printed.
grep -Eq '^  report check: ok=aws-report tcp_listening=[0-9]+$' "$out" || fail "device: report check"
grep -Eq "^CPU per metrics interval, mamorid's device process +[0-9.]+ ms" "$out" || fail "device: CPU row"
grep -Eq '^memory, sum of PSS \(shared pages divided\) +[0-9.]+ MiB' "$out" || fail "device: PSS row"
grep -Eq '^mamorid stripped, x86_64 +[0-9]+ bytes' "$out" || fail "device: stripped size row"
# The telnet honeypot: every idle session got the prompt and was still held,
# a login beside them worked, and the rate runs completed sessions with no
# failure; the table was printed with the peer's column.
grep -Eq '^\| idle sessions: prompted/opened, open, login +\| 200/200 200 yes ' "$out" ||
  fail "trap: mamori-trap did not hold the 200 idle sessions"
grep -Eq '^  mamori-trap login: done=[1-9][0-9]* failed=0 ' "$out" || fail "trap: the logins/s run failed sessions"
grep -Eq '^  mamori-trap mirai: done=[1-9][0-9]* failed=0 ' "$out" || fail "trap: the Mirai-style run failed sessions"
grep -Eq '^\| memory per idle session, RSS +\| [0-9.]+ KiB ' "$out" || fail "trap: memory row"
grep -Eq '^\| Cowrie ' "$out" || fail "trap: the Cowrie row"
echo "bench_smoke: all checks passed"
