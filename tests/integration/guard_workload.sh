#!/usr/bin/env bash
# Checks that a normal workload in the busybox device gets no denial and no
# finding from mamorid in enforce mode, with every check armed (a feed, so
# that each new file is hashed; the YARA rules; expected listeners): busybox
# applets (ls, cat, grep, sh -c loops of /bin/true, ps, sleep), a web server
# and wget from it, a shell script in /opt that runs a program in /opt, a
# program run as an unprivileged user, a service (telnetd) running under
# its applet's name, and the project's own `mamori x1367 validate`; each
# output is checked, and the events are exactly the agent's own.
set -euo pipefail
. "$(dirname "$0")/lib/guard.sh"

[ -x "$guard_mamori" ] || fail "no $guard_mamori"
[ -f "$guard_srcdir/data/yara/mirai.yar" ] || fail "no data/yara/mirai.yar (the reporter's rule) yet"
guard_rootfs
cp "$guard_srcdir/data/yara/mirai.yar" "$T/mirai.yar"
# A feed naming a file that is not in the rootfs: every exec is hashed.
mkdir -p "$T/feed"
printf '# guard_workload\n%s not-here\n' "$(printf 'not in this rootfs' | sha256sum | cut -d' ' -f1)" \
  >"$T/feed/feed.txt"
guard_write_conf "mode = enforce" "heartbeat = 60" <<EOF
[policy]
root = $guard_root
feed = $T/feed/feed.txt
yara_rules = $T/mirai.yar

[behaviour]
sweep_interval = 2
expect_listen = 127.0.0.1:8080 *:2323
EOF

sc_workload() {
  local o=$guard_out _
  in_root /bin/ls /opt/sim >"$o/ls.out"
  in_root /bin/cat /etc/passwd >"$o/cat.out"
  in_root /bin/sh -c 'i=0; while [ $i -lt 50 ]; do /bin/true; i=$((i + 1)); done; echo loops $i' \
    >"$o/loop.out"
  in_root /bin/sh -c 'seq 1 100 | grep -c 7' >"$o/grep.out"
  # A web server and a client, as a device's management page.
  bg_run httpd /usr/sbin/httpd -f -p 127.0.0.1:8080 -h /www
  # A service under its applet's name: comm "telnetd", exe busybox.
  bg_run telnetd /usr/sbin/telnetd -F -p 2323 -l /bin/sh
  for _ in $(seq 1 100); do
    in_root /usr/bin/wget -q -O /tmp/index.html http://127.0.0.1:8080/index.html 2>/dev/null && break
    sleep 0.1
  done
  in_root /bin/cat /tmp/index.html >"$o/wget.out"
  in_root /opt/app/report.sh >"$o/script.out"
  chroot --userspec=1000:1000 "$guard_root" /opt/sim/sim_hello user >"$o/user.out"
  in_root /opt/mamori/mamori x1367 validate /opt/mamori/samples/x1367-records.jsonl \
    >"$o/mamori.out" 2>&1 || echo "status $?" >>"$o/mamori.out"
  in_root /bin/sleep 1
  in_root /bin/ps -o comm >"$o/ps.out"
  # Let the watch look at everything a few times (checks at 0.1, 1 and 5
  # s after each exec, sweeps every 2 s).
  sleep 6
  kill -0 "$(out httpd pid)" || echo "httpd died" >>"$o/late.out"
  kill -0 "$(out telnetd pid)" || echo "telnetd died" >>"$o/late.out"
}
guard_run sc_workload
o=$guard_out

expect "ls /opt/sim" "$(tr '\n' ' ' <"$o/ls.out")" \
  "run sim_dropper sim_hello sim_killer sim_loader.sh sim_lock sim_mirai_strings sim_payload sim_raw sim_scanner sim_watchdog "
expect "cat /etc/passwd" "$(cat "$o/cat.out")" "$(cat "$guard_root/etc/passwd")"
expect "sh loop" "$(cat "$o/loop.out")" "loops 50"
expect "grep" "$(cat "$o/grep.out")" 19
expect "wget from httpd" "$(cat "$o/wget.out")" "guard-it index page"
expect "script in /opt" "$(cat "$o/script.out")" "users 2
hello script"
expect "program as user" "$(cat "$o/user.out")" "hello user"
expect "program as user: marker owner" "$(stat -c %u "$guard_root/var/sim/hello.user")" 1000
expect "mamori x1367 validate" "$(tail -n 1 "$o/mamori.out")" "7 records: 7 valid, 0 accepted leniently, 0 invalid"
grep -qx httpd "$o/ps.out" || fail "ps shows no httpd: $(tr '\n' ' ' <"$o/ps.out")"
grep -qx telnetd "$o/ps.out" || fail "ps shows no telnetd: $(tr '\n' ' ' <"$o/ps.out")"
expect "services still running at the end" "$(cat "$o/late.out" 2>/dev/null || true)" ""
echo "ok: the workload ran and every output is right"

expect "exec denials" "$(ev --event guard.exec.denied count)" 0
expect "undecided execs" "$(ev --event guard.exec.undecided count)" 0
expect "behaviour findings" "$(ev --prefix guard.behaviour. count)" 0
expect "self-protection findings" "$(ev --prefix guard.self. count)" 0
expect "profile violations" "$(ev --prefix detect. count)" 0
# What is there is the agent's own: start, stop, perhaps the feed and heartbeats,
# and what the device process learnt of the device (its audit and SBOM).
extra=$(ev names | grep -vx -e guard.agent.start -e guard.agent.stop -e guard.agent.heartbeat \
  -e guard.feed.loaded -e audit.finding -e audit.completed -e inventory.sbom || true)
[ -z "$extra" ] || fail "unexpected events: $extra"
expect "starts" "$(ev --event guard.agent.start count)" 1
expect "stops" "$(ev --event guard.agent.stop count)" 1
expect_field --event guard.agent.start detail.mode enforce
echo "ok: no denial and no finding for the workload"
