#!/usr/bin/env bash
# Checks that mamorid in enforce mode stops every simulant in a busybox
# device (mount, pid and network namespaces): the dropper's /tmp copy, the
# echo -ne loader's /var/run payload and the file with Mirai's strings are
# denied before they run (their markers are absent), the lock holder, the
# scanner, the raw socket holder, the telnetd killer and the watchdog
# opener are killed (their wait status is SIGKILL's, their "done" markers
# absent); each is reported with the right event, action, reason, ATT&CK
# technique and SHA-256 (computed here by sha256sum), and the quarantine
# holds its exact bytes.
set -euo pipefail
. "$(dirname "$0")/lib/guard.sh"

guard_rootfs
guard_sim_conf enforce
sc_secs=25
guard_run sc_simulants

sims=$guard_sims
rule=$(guard_yara_rule)
[ -n "$rule" ] || fail "no rule in data/yara/mirai.yar"

# Every event is this device's, in enforce mode.
expect "events of another device" "$(ev --has host count)" "$(ev --eq host="$guard_device" count)"
expect "events not in enforce mode" "$(ev --has mode count)" "$(ev --eq mode=enforce count)"

# check_denied NAME SIMULANT PATH REASON COMM: NAME's exec of PATH (a copy of
# the simulant SIMULANT) was denied once, with everything the event says.
check_denied() {
  local name=$1 file=$2 path=$3 reason=$4 comm=$5 h f
  h=$(sha "$file")
  f=(--event guard.exec.denied --path "$(dpath "$path")")
  expect_field "${f[@]}" action denied
  expect_field "${f[@]}" reason "$reason"
  expect_field "${f[@]}" attack '["T1105"]'
  expect_field "${f[@]}" file.sha256 "$h"
  expect_field "${f[@]}" file.size "$(stat -c %s "$file")"
  expect_field "${f[@]}" quarantine.sha256 "$h"
  # The loader's shell forks the child that execs the payload.
  if [ "$name" = loader ]; then
    expect_field "${f[@]}" process.ppid "$(out "$name" pid)"
  else
    expect_field "${f[@]}" process.pid "$(out "$name" pid)"
  fi
  expect_field "${f[@]}" process.name "$comm"
  expect_field "${f[@]}" process.uid 0
  expect_field "${f[@]}" device.id "$guard_device"
  expect_field "${f[@]}" device.fw guard-it-1
  expect_quarantined "$h" "$file"
  echo "ok: $name: the exec of $path was denied ($reason) and quarantined"
}

# The dropper copies itself to /tmp (tmpfs) and runs the copy: refused.
check_denied dropper "$sims/sim_dropper" /tmp/.sim_drop volatile sim_dropper
expect_field --event guard.exec.denied --path "$(dpath /tmp/.sim_drop)" process.exe /opt/sim/sim_dropper
expect_field --event guard.exec.denied --path "$(dpath /tmp/.sim_drop)" detail.fstype tmpfs
expect "dropper started" "$(marker dropper.start)" start
expect "dropper's copy ran" "$(marker dropper.copy)" "<none>"
expect "dropper's exec error" "$(marker dropper.execerr)" EPERM
expect "dropper's status" "$(out dropper rc)" 126

# The loader writes its payload into /var/run (tmpfs) with echo -ne: refused.
check_denied loader "$sims/sim_payload" /var/run/.sim_ld volatile sh
expect_field --event guard.exec.denied --path "$(dpath /var/run/.sim_ld)" process.exe /bin/busybox
expect_field --event guard.exec.denied --path "$(dpath /var/run/.sim_ld)" detail.fstype tmpfs
expect "loader started" "$(marker loader.start)" start
expect "payload ran" "$(marker payload.ran)" "<none>"
expect "loader's exit status of the payload" "$(marker loader.status)" 126

# The Mirai-like file lives in /opt (allowed by place): YARA refuses it.
check_denied mirai "$sims/sim_mirai_strings" /opt/sim/sim_mirai_strings yara chroot
expect_field --event guard.exec.denied --path "$(dpath /opt/sim/sim_mirai_strings)" detail.rule "$rule"
expect "Mirai strings ran" "$(marker mirai.ran)" "<none>"
expect "Mirai strings' status (chroot's exec refused)" "$(out mirai rc)" 126
expect "exec denials" "$(ev --event guard.exec.denied count)" 3

# check_killed NAME SIMULANT: NAME was killed (SIGKILL) before its end, and
# every behaviour event about it says killed at least once, with the
# simulant's hash, and the quarantine holds its bytes.
check_killed() {
  local name=$1 file=$2 pid h
  pid=$(out "$name" pid)
  h=$(sha "$file")
  expect "$name's wait status" "$(out "$name" rc)" 137
  expect "$name's done marker" "$(marker "$name.done")" "<none>"
  [ "$(ev --prefix guard.behaviour. --pid "$pid" count)" -ge 1 ] || fail "$name: no finding"
  [ "$(ev --prefix guard.behaviour. --pid "$pid" --action killed count)" -ge 1 ] ||
    fail "$name: no finding says killed: $(ev --pid "$pid" json)"
  expect "$name: findings not killed" "$(ev --prefix guard.behaviour. --pid "$pid" count)" \
    "$(ev --prefix guard.behaviour. --pid "$pid" --action killed count)"
  expect "$name: findings with another hash" "$(ev --prefix guard.behaviour. --pid "$pid" field process.sha256 | sort -u)" "$h"
  expect "$name: findings with another exe" "$(ev --prefix guard.behaviour. --pid "$pid" field process.exe | sort -u)" \
    "/opt/sim/$([ "$name" = lock ] && echo run/)$(basename "$file")"
  expect "$name: processes killed" "$(ev --prefix guard.behaviour. --pid "$pid" --has killed field killed | sort -u | head -n 1)" 1
  expect "$name: quarantined copies" "$(ev --prefix guard.behaviour. --pid "$pid" field quarantine.sha256 | sort -u)" "$h"
  expect_quarantined "$h" "$file"
}

# The lock holder: deleted exe, another name, 127.0.0.1:48101. Whichever is
# found first gets it killed; each finding made has its own technique.
check_killed lock "$sims/sim_lock"
pid=$(out lock pid)
for e in $(ev --prefix guard.behaviour. --pid "$pid" names); do
  case $e in
  guard.behaviour.deleted_exe) expect_field --event "$e" --pid "$pid" attack '["T1070.004"]' ;;
  guard.behaviour.masquerade)
    expect_field --event "$e" --pid "$pid" attack '["T1036.005"]'
    expect_field --event "$e" --pid "$pid" detail.exe_name sim_lock
    ;;
  guard.behaviour.listener)
    expect_field --event "$e" --pid "$pid" attack '["T1571"]'
    expect_field --event "$e" --pid "$pid" detail '{"addr":"127.0.0.1","port":48101,"rule":"deny_listen"}'
    ;;
  *) fail "lock: unexpected finding $e" ;;
  esac
done
echo "ok: the lock holder was killed ($(ev --prefix guard.behaviour. --pid "$pid" names | tr '\n' ' '))"

check_killed scanner "$sims/sim_scanner"
pid=$(out scanner pid)
expect "scanner's connects" "$(marker scanner.sent)" 20
expect "scanner's findings" "$(ev --prefix guard.behaviour. --pid "$pid" names)" guard.behaviour.scan
expect_field --event guard.behaviour.scan --pid "$pid" attack '["T1046"]'
expect_field --event guard.behaviour.scan --pid "$pid" detail.port 23
expect_field --event guard.behaviour.scan --pid "$pid" detail.window_s 10
a=$(ev --event guard.behaviour.scan --pid "$pid" one detail.addresses)
[ "$a" -ge 10 ] && [ "$a" -le 20 ] || fail "scanner: detail.addresses $a, want 10..20"
echo "ok: the scanner was killed after $a addresses"

check_killed raw "$sims/sim_raw"
pid=$(out raw pid)
expect "raw socket opened" "$(marker raw.open)" open
expect "raw's findings" "$(ev --prefix guard.behaviour. --pid "$pid" names)" guard.behaviour.raw_socket
expect_field --event guard.behaviour.raw_socket --pid "$pid" attack '["T1498"]'
expect_field --event guard.behaviour.raw_socket --pid "$pid" detail.protocol 6
echo "ok: the raw socket holder was killed"

check_killed watchdog "$sims/sim_watchdog"
pid=$(out watchdog pid)
# The open itself goes through: the kernel sends no permission events for
# device nodes, and a permission event would have fanotify open a real
# watchdog (arming it). The opener is killed instead, as soon as the open
# is seen: before or after it wrote down that the open went through.
case $(marker watchdog.open) in
ok | "<none>") ;;
*) fail "watchdog open: '$(marker watchdog.open)', want 'ok' or no marker" ;;
esac
expect "watchdog's findings" "$(ev --prefix guard.behaviour. --pid "$pid" names)" guard.behaviour.watchdog
expect_field --event guard.behaviour.watchdog --pid "$pid" attack '["T1562"]'
expect_field --event guard.behaviour.watchdog --pid "$pid" detail.device /dev/watchdog
echo "ok: the watchdog opener was killed"

# Nothing else was found: no finding about any other process.
others=$(ev --prefix guard.behaviour. json | python3 -c '
import json, sys
pids = set(sys.argv[1:])
for line in sys.stdin:
    e = json.loads(line)
    if str(e.get("process", {}).get("pid")) not in pids:
        print(line.strip())
' "$(out lock pid)" "$(out scanner pid)" "$(out raw pid)" "$(out watchdog pid)" "$(out killer pid)")
[ -z "$others" ] || fail "findings about other processes: $others"
echo "ok: no finding about any other process"

check_killed killer "$sims/sim_killer"
pid=$(out killer pid)
victim=$(out telnetd pid)
# The watch kills the killer as soon as its signal is seen, which may be
# before the killer wrote down whom it killed; when it did, it is telnetd.
victims=$(marker killer.killed)
[ "$victims" = "<none>" ] || expect "killer's victims" "$victims" "$victim"
expect "telnetd's wait status" "$(out telnetd rc)" 137
expect "killer's findings" "$(ev --prefix guard.behaviour. --pid "$pid" names)" guard.behaviour.service_killed
expect_field --event guard.behaviour.service_killed --pid "$pid" attack '["T1489"]'
expect_field --event guard.behaviour.service_killed --pid "$pid" detail \
  "{\"service\":\"telnetd\",\"signal\":9,\"victim_pid\":$victim}"
echo "ok: the telnetd killer was found by name and killed"

