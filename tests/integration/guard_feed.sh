#!/usr/bin/env bash
# Checks that a threat-intelligence feed takes effect without a restart:
# a program in /opt runs (twice, so that its verdict is cached); its
# SHA-256 is added to the feed (a new file renamed over the old one); the
# guard reports guard.feed.loaded with 2 entries and the next run of the
# same program is denied with reason "feed" (its marker absent, its bytes
# quarantined); then a feed with a broken line is refused
# (guard.feed.refused naming line 3) and the previous feed stays in force
# (the program is still denied, other programs still run); and the feed
# itself cannot be opened by another process (guard.self.denied).
set -euo pipefail
. "$(dirname "$0")/lib/guard.sh"

guard_rootfs
mkdir -p "$T/feed"
sc_feed_path="$T/feed/feed.txt"
sc_h=$(sha "$guard_sims/sim_hello")
sc_other=$(printf 'not in this rootfs' | sha256sum | cut -d' ' -f1)
printf '# guard_feed: the first feed\n%s not-here\n' "$sc_other" >"$sc_feed_path"
guard_write_conf "mode = enforce" "heartbeat = 60" <<EOF
[policy]
root = $guard_root
feed = $sc_feed_path
EOF

# new_feed TEXT: writes TEXT beside the feed and renames it over the feed.
new_feed() {
  printf '%s\n' "$1" >"$T/feed/feed.new"
  mv "$T/feed/feed.new" "$sc_feed_path"
}

# run_hello NAME: runs sim_hello NAME in the rootfs; its status in $guard_out.
run_hello() {
  local rc=0
  in_root /opt/sim/sim_hello "$1" >"$guard_out/hello-$1.out" 2>&1 || rc=$?
  echo "$rc" >"$guard_out/hello-$1.rc"
}

sc_feed() {
  run_hello one
  run_hello again
  new_feed "$(printf '# guard_feed: the second feed\n%s not-here\n%s sim_hello' "$sc_other" "$sc_h")"
  wait_ev 1 --event guard.feed.loaded --eq detail.entries=2 || true
  run_hello two
  new_feed "$(printf '# guard_feed: a broken feed\n%s sim_hello\nzzzz not a hash' "$sc_h")"
  wait_ev 1 --event guard.feed.refused || true
  run_hello three
  in_root /bin/ls /opt/app >"$guard_out/ls.out" 2>&1 || echo "status $?" >>"$guard_out/ls.out"
  # Reading the feed in place is an open of a protected file.
  cat "$sc_feed_path" >"$guard_out/cat.out" 2>&1 || echo "status $?" >>"$guard_out/cat.out"
  wait_ev 1 --event guard.self.denied || true
}
guard_run sc_feed
feed=$sc_feed_path
h=$sc_h

expect "first run" "$(out hello-one rc)" 0
expect "first run's marker" "$(marker hello.one)" "hello one"
expect "second run (cached)" "$(out hello-again rc)" 0
expect "second run's marker" "$(marker hello.again)" "hello again"
echo "ok: the program ran twice before its hash was in the feed"

expect_field --event guard.feed.loaded --eq detail.entries=2 detail.path "$feed"
expect "run after the new feed" "$(out hello-two rc)" 126
expect "its marker" "$(marker hello.two)" "<none>"
f=(--event guard.exec.denied --reason feed)
expect "feed denials" "$(ev "${f[@]}" count)" 2
expect "feed denials of another file" "$(ev "${f[@]}" field file.path | sort -u)" /opt/sim/sim_hello
expect "feed denials with another hash" "$(ev "${f[@]}" field file.sha256 | sort -u)" "$h"
expect "feed denials' actions" "$(ev "${f[@]}" field action | sort -u)" denied
expect "feed denials' techniques" "$(ev "${f[@]}" field attack | sort -u)" '["T1105"]'
expect "feed denials' quarantine" "$(ev "${f[@]}" field quarantine.sha256 | sort -u)" "$h"
expect_quarantined "$h" "$guard_sims/sim_hello"
expect "exec denials in all" "$(ev --event guard.exec.denied count)" 2
echo "ok: without a restart, the new feed denied the program that ran before"

expect_field --event guard.feed.refused detail.line 3
expect_field --event guard.feed.refused detail.path "$feed"
expect "feeds loaded with 2 entries" "$(ev --event guard.feed.loaded --eq detail.entries=2 count)" 1
expect "run after the broken feed" "$(out hello-three rc)" 126
expect "its marker" "$(marker hello.three)" "<none>"
expect "another program after the broken feed" "$(cat "$guard_out/ls.out")" report.sh
echo "ok: a broken feed was refused and the previous one stayed in force"

grep -q '^status [1-9]' "$guard_out/cat.out" || fail "cat of the feed succeeded: $(cat "$guard_out/cat.out")"
expect_field --event guard.self.denied action denied
expect_field --event guard.self.denied attack '["T1562.001"]'
expect_field --event guard.self.denied file.path "$feed"
echo "ok: the feed could not be opened by another process"
