#!/usr/bin/env bash
# Checks the guard's fallback for kernels without exec permission events
# (--fallback: the process connector's exec event): the dropper's /tmp copy
# runs and is killed at once (its wait status is SIGKILL's, its "done"
# marker absent), reported as guard.exec.denied with action "killed",
# reason volatile, the copy's SHA-256, a measured latency_us > 0 from exec
# to kill, and its bytes in the quarantine; an ordinary program in /opt
# runs untouched.
#
# The process connector sends nothing into a pid namespace or another
# network namespace, so mamorid runs in a mount namespace alone, with the
# behaviour watch off; it acts only on the rootfs's mounts, which exist in
# that namespace alone.
set -euo pipefail
. "$(dirname "$0")/lib/guard.sh"

guard_rootfs
guard_ns=mount
guard_args=(--fallback --no-behaviour)
guard_write_conf "mode = enforce" "heartbeat = 60" <<EOF2
[policy]
root = $guard_root
EOF2

sc_fallback() {
  bg_run hello /opt/sim/sim_hello fallback
  fg_wait hello
  bg_run dropper /opt/sim/sim_dropper 10
  fg_wait dropper
  wait_ev 1 --event guard.exec.denied || true
}
guard_run sc_fallback

expect_field --event guard.agent.start detail.fallback true
expect "hello's status" "$(out hello rc)" 0
expect "hello ran" "$(marker hello.fallback)" "hello fallback"

h=$(sha "$guard_sims/sim_dropper")
f=(--event guard.exec.denied)
expect_field "${f[@]}" action killed
expect_field "${f[@]}" reason volatile
expect_field "${f[@]}" attack '["T1105"]'
expect_field "${f[@]}" mode enforce
expect_field "${f[@]}" file.path "$(dpath /tmp/.sim_drop)"
expect_field "${f[@]}" file.sha256 "$h"
expect_field "${f[@]}" quarantine.sha256 "$h"
expect_field "${f[@]}" process.pid "$(out dropper pid)"
expect_field "${f[@]}" killed 1
expect_field "${f[@]}" detail.fstype tmpfs
lat=$(ev "${f[@]}" one latency_us)
[[ "$lat" =~ ^[0-9]+$ ]] && [ "$lat" -gt 0 ] || fail "latency_us is '$lat', want a number > 0"
expect_quarantined "$h" "$guard_sims/sim_dropper"
expect "dropper's status (its copy killed)" "$(out dropper rc)" 137
expect "dropper's copy finished" "$(marker dropper.done)" "<none>"
expect "exec findings" "$(ev --prefix guard.exec. count)" 1
echo "ok: the fallback killed the dropper's /tmp copy ${lat} us after its exec and quarantined it"
