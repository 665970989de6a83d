#!/usr/bin/env bash
# Checks that mamorid in monitor mode reports every simulant and stops
# none: the same runs as guard_enforce.sh, where each simulant now does all
# it does (markers present, exit status 0, the telnetd victim killed by the
# killer, not by the agent), every event says action "reported" with the
# right reason, ATT&CK technique and SHA-256, nothing is killed and
# nothing is quarantined.
set -euo pipefail
. "$(dirname "$0")/lib/guard.sh"

guard_rootfs
guard_sim_conf monitor
sc_secs=8
sc_all=1
guard_run sc_simulants

sims=$guard_sims
rule=$(guard_yara_rule)
[ -n "$rule" ] || fail "no rule in data/yara/mirai.yar"

expect "events not in monitor mode" "$(ev --has mode count)" "$(ev --eq mode=monitor count)"
expect "events that are not reported" "$(ev --has action count)" "$(ev --action reported count)"
expect "events that killed" "$(ev --has killed count)" 0
expect "events that quarantined" "$(ev --has quarantine count)" 0
expect "quarantine" "$(find "$guard_state/quarantine" -type f 2>/dev/null | wc -l)" 0

# check_reported NAME SIMULANT PATH REASON COMM: NAME's exec of PATH was
# reported once (not denied), with everything the event says.
check_reported() {
  local name=$1 file=$2 path=$3 reason=$4 comm=$5 h f
  h=$(sha "$file")
  f=(--event guard.exec.denied --path "$(dpath "$path")")
  expect_field "${f[@]}" action reported
  expect_field "${f[@]}" reason "$reason"
  expect_field "${f[@]}" attack '["T1105"]'
  expect_field "${f[@]}" file.sha256 "$h"
  expect_field "${f[@]}" file.size "$(stat -c %s "$file")"
  # The loader's shell forks the child that execs the payload.
  if [ "$name" = loader ]; then
    expect_field "${f[@]}" process.ppid "$(out "$name" pid)"
  else
    expect_field "${f[@]}" process.pid "$(out "$name" pid)"
  fi
  expect_field "${f[@]}" process.name "$comm"
  echo "ok: $name: the exec of $path was reported ($reason) and ran"
}

check_reported dropper "$sims/sim_dropper" /tmp/.sim_drop volatile sim_dropper
expect_field --event guard.exec.denied --path "$(dpath /tmp/.sim_drop)" process.exe /opt/sim/sim_dropper
expect "dropper's copy ran" "$(marker dropper.copy)" ran
expect "dropper's copy finished" "$(marker dropper.done)" "done"
expect "dropper's status" "$(out dropper rc)" 0

check_reported loader "$sims/sim_payload" /var/run/.sim_ld volatile sh
expect_field --event guard.exec.denied --path "$(dpath /var/run/.sim_ld)" process.exe /bin/busybox
expect "payload ran" "$(marker payload.ran)" "sim_payload: ran"
expect "loader's exit status of the payload" "$(marker loader.status)" 0

check_reported mirai "$sims/sim_mirai_strings" /opt/sim/sim_mirai_strings yara chroot
expect_field --event guard.exec.denied --path "$(dpath /opt/sim/sim_mirai_strings)" detail.rule "$rule"
expect "Mirai strings ran" "$(marker mirai.ran)" ran
expect "Mirai strings' status" "$(out mirai rc)" 0
expect "exec findings" "$(ev --event guard.exec.denied count)" 3

# check_ran NAME SIMULANT: NAME ran to its end; each finding about it has
# the simulant's hash.
check_ran() {
  local name=$1 file=$2 pid
  pid=$(out "$name" pid)
  expect "$name's wait status" "$(out "$name" rc)" 0
  expect "$name's done marker" "$(marker "$name.done")" "done"
  expect "$name: findings with another hash" \
    "$(ev --prefix guard.behaviour. --pid "$pid" field process.sha256 | sort -u)" "$(sha "$file")"
  expect "$name: findings with another exe" "$(ev --prefix guard.behaviour. --pid "$pid" field process.exe | sort -u)" \
    "/opt/sim/$([ "$name" = lock ] && echo run/)$(basename "$file")"
}

# The lock holder is found three ways, each once.
check_ran lock "$sims/sim_lock"
pid=$(out lock pid)
expect "lock's findings" "$(ev --prefix guard.behaviour. --pid "$pid" names | tr '\n' ' ')" \
  "guard.behaviour.deleted_exe guard.behaviour.listener guard.behaviour.masquerade "
expect_field --event guard.behaviour.deleted_exe --pid "$pid" attack '["T1070.004"]'
expect_field --event guard.behaviour.masquerade --pid "$pid" attack '["T1036.005"]'
expect_field --event guard.behaviour.masquerade --pid "$pid" detail.name x8kq2v0fjz3ta1w
expect_field --event guard.behaviour.masquerade --pid "$pid" detail.exe_name sim_lock
expect_field --event guard.behaviour.listener --pid "$pid" attack '["T1571"]'
expect_field --event guard.behaviour.listener --pid "$pid" detail \
  '{"addr":"127.0.0.1","port":48101,"rule":"deny_listen"}'
expect_field --event guard.behaviour.listener --pid "$pid" process.name x8kq2v0fjz3ta1w
echo "ok: the lock holder was reported as deleted, masquerading and listening, and ran"

check_ran scanner "$sims/sim_scanner"
pid=$(out scanner pid)
expect "scanner's connects" "$(marker scanner.sent)" 20
expect "scanner's findings" "$(ev --prefix guard.behaviour. --pid "$pid" names)" guard.behaviour.scan
expect_field --event guard.behaviour.scan --pid "$pid" attack '["T1046"]'
expect_field --event guard.behaviour.scan --pid "$pid" detail.port 23
a=$(ev --event guard.behaviour.scan --pid "$pid" one detail.addresses)
[ "$a" -ge 10 ] && [ "$a" -le 20 ] || fail "scanner: detail.addresses $a, want 10..20"
echo "ok: the scanner was reported ($a addresses) and ran"

check_ran raw "$sims/sim_raw"
pid=$(out raw pid)
expect "raw's findings" "$(ev --prefix guard.behaviour. --pid "$pid" names)" guard.behaviour.raw_socket
expect_field --event guard.behaviour.raw_socket --pid "$pid" attack '["T1498"]'
expect_field --event guard.behaviour.raw_socket --pid "$pid" detail.protocol 6
echo "ok: the raw socket holder was reported and ran"

check_ran watchdog "$sims/sim_watchdog"
pid=$(out watchdog pid)
expect "watchdog open" "$(marker watchdog.open)" ok
expect "watchdog's findings" "$(ev --prefix guard.behaviour. --pid "$pid" names)" guard.behaviour.watchdog
expect_field --event guard.behaviour.watchdog --pid "$pid" attack '["T1562"]'
expect_field --event guard.behaviour.watchdog --pid "$pid" detail.device /dev/watchdog
echo "ok: the watchdog opener was reported and its open allowed"

# No finding about any other process.
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

check_ran killer "$sims/sim_killer"
pid=$(out killer pid)
victim=$(out telnetd pid)
expect "killer's victims" "$(marker killer.killed)" "$victim"
expect "telnetd's wait status" "$(out telnetd rc)" 137
expect "killer's findings" "$(ev --prefix guard.behaviour. --pid "$pid" names)" guard.behaviour.service_killed
expect_field --event guard.behaviour.service_killed --pid "$pid" attack '["T1489"]'
expect_field --event guard.behaviour.service_killed --pid "$pid" detail \
  "{\"service\":\"telnetd\",\"signal\":9,\"victim_pid\":$victim}"
echo "ok: the telnetd killer was reported and ran to its end"

