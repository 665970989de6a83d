#!/usr/bin/env bash
# Checks the allowlist mode: with a baseline of the rootfs made by
# `mamori baseline build ROOT` and allowlist = yes, what the baseline holds
# runs (busybox applets, a script, a program in /opt, and a copy of a
# baseline program under a new name: hash and size decide, not the path),
# and a program added to /opt after the baseline (its content new) is
# denied with reason "allowlist", its bytes quarantined, and did not run.
set -euo pipefail
. "$(dirname "$0")/lib/guard.sh"

[ -x "$guard_mamori" ] || fail "no $guard_mamori"
"$guard_mamori" baseline build --help >/dev/null 2>&1 || "$guard_mamori" --help 2>&1 | grep -q baseline ||
  fail "mamori has no baseline command yet"
guard_rootfs
"$guard_mamori" baseline build "$guard_root" >"$T/baseline" || fail "mamori baseline build failed"
head -n 1 "$T/baseline" | grep -qx '# mamori baseline 1' || fail "baseline header: $(head -n 1 "$T/baseline")"
grep -q "^/bin/busybox	$(stat -c %s "$guard_root/bin/busybox")	$(sha "$guard_root/bin/busybox")	" "$T/baseline" ||
  fail "the baseline has no /bin/busybox line with its size and hash"

# After the baseline: a new program (sim_hello with bytes appended: an ELF
# runs with a tail) and a same-content copy of one in the baseline.
cp "$guard_sims/sim_hello" "$guard_root/opt/new/hello2"
printf 'a tail that makes new content' >>"$guard_root/opt/new/hello2"
cp "$guard_sims/sim_hello" "$guard_root/opt/new/hello_same"

guard_write_conf "mode = enforce" "heartbeat = 60" <<EOF
[policy]
root = $guard_root
baseline = $T/baseline
allowlist = yes
EOF

sc_allow() {
  local o=$guard_out rc
  in_root /bin/ls /opt/new >"$o/ls.out" 2>&1 || echo "status $?" >>"$o/ls.out"
  in_root /bin/sh -c 'echo applets $(echo a b c | wc -w)' >"$o/sh.out" 2>&1 || echo "status $?" >>"$o/sh.out"
  in_root /opt/app/report.sh >"$o/script.out" 2>&1 || echo "status $?" >>"$o/script.out"
  in_root /opt/new/hello_same same >"$o/same.out" 2>&1 || echo "status $?" >>"$o/same.out"
  rc=0
  in_root /opt/new/hello2 new >"$o/new.out" 2>&1 || rc=$?
  echo "$rc" >"$o/new.rc"
  wait_ev 1 --event guard.exec.denied || true
}
guard_run sc_allow
o=$guard_out

expect "ls" "$(tr '\n' ' ' <"$o/ls.out")" "hello2 hello_same "
expect "sh with applets" "$(cat "$o/sh.out")" "applets 3"
expect "script in /opt" "$(cat "$o/script.out")" "users 2
hello script"
expect "a baseline program under a new name" "$(cat "$o/same.out")" "hello same"
echo "ok: what the baseline holds ran"

expect "the new program's status" "$(out new rc)" 126
expect "the new program's marker" "$(marker hello.new)" "<none>"
h=$(sha "$guard_root/opt/new/hello2")
f=(--event guard.exec.denied --path /opt/new/hello2)
expect_field "${f[@]}" action denied
expect_field "${f[@]}" reason allowlist
expect_field "${f[@]}" attack '["T1105"]'
expect_field "${f[@]}" file.sha256 "$h"
expect_field "${f[@]}" file.size "$(stat -c %s "$guard_root/opt/new/hello2")"
expect_field "${f[@]}" quarantine.sha256 "$h"
expect_quarantined "$h" "$guard_root/opt/new/hello2"
expect "exec denials" "$(ev --event guard.exec.denied count)" 1
echo "ok: a program added after the baseline was denied (allowlist) and quarantined"
