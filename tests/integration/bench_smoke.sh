#!/usr/bin/env bash
# Checks that `make bench` works end to end on a small corpus: the in-process
# pipeline parses and validates every generated message, and both TCP
# receivers (mamori's and rsyslog's) deliver every record intact. It reads
# what the benchmark verified, never how fast it was.
set -euo pipefail
bin="${MAMORI_BIN:?}"
src="${MAMORI_SRC:?}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$out" >&2; exit 1; }

BENCH_N=2000 BENCH_PASSES=1 BENCH_REPS=1 BENCH_TIMEOUT=60 bash "$src/bench/run.sh" "$bin" >"$out" 2>&1 ||
  fail "bench/run.sh exited $?"
grep -q '^corpus: 2000 distinct RFC 5424 messages' "$out" || fail "corpus line"
grep -q '^| RFC 5424 parse (mm_syslog_parse) ' "$out" || fail "parse row"
grep -q '^| full: parse + mm_x1367_decode STRICT + free ' "$out" || fail "decode row"
grep -Eq '^  mamori run 1: done=1 msgs=2000 .* lines=2000 verified=2000 duplicates=0' "$out" ||
  fail "mamori's receiver did not deliver all 2000 records intact"
grep -Eq '^  rsyslog run 1: done=1 msgs=2000 .* lines=2000 verified=2000 duplicates=0' "$out" ||
  fail "rsyslog's run did not complete"
grep -Eq '^\| complete, verified runs +\| 1/1 +\| 1/1 ' "$out" || fail "verified runs row"
echo "bench_smoke: all checks passed"
