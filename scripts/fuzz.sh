#!/usr/bin/env bash
# Runs every libFuzzer target in BINDIR for FUZZ_SECONDS each, starting from
# its seed corpus in fuzz/corpus/<target>/. New inputs go to a scratch copy so
# the committed seeds stay small. A crash stops the run and fails it; the
# crashing input is left in fuzz/crashes/ to become a regression seed.
set -euo pipefail
bindir=${1:?usage: fuzz.sh BINDIR}
secs=${FUZZ_SECONDS:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$root/fuzz/crashes"
fail=0
passed=0
failed=0
for t in "$bindir"/fuzz_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  seeds="$root/fuzz/corpus/$name"
  mkdir -p "$work/$name"
  [ -d "$seeds" ] || { echo "fuzz: $name has no seed corpus in fuzz/corpus/$name" >&2; exit 1; }
  printf 'fuzz: %-14s %ss ... ' "$name" "$secs"
  if "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$root/fuzz/crashes/$name-" \
      "$work/$name" "$seeds" >"$work/$name.log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$work/$name.log" | tail -1 || true)
    echo "ok (${runs:-done})"
    passed=$((passed + 1))
  else
    echo "FAILED"
    tail -40 "$work/$name.log"
    fail=1
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
exit $fail
