# Shared helpers of mamorid's namespace scenarios (guard_*.sh).
#
# A "device": a busybox-static rootfs in a folder under the build tree (a
# real, non-volatile filesystem, as a device's firmware is), run inside
# fresh mount, pid, network and UTS namespaces (unshare). In there the
# rootfs is bind-mounted on itself and gets tmpfs on /tmp, /var/run, /run,
# /dev and /dev/shm, the namespace's /proc, and read-only binds of the
# host's /usr/lib (and /usr/lib64) so that the project's own dynamic
# programs run in it too; 10.66.0.0/24, a subnet that exists only there,
# leads nowhere (a dummy interface, or a veth pair with both ends there).
# mamorid runs in the same namespaces (outside the chroot, root = the
# rootfs) with --watch on each of those mounts, and nowhere else: fanotify
# mount marks only ever land on mounts this script made. (The guard's own
# inode marks on its binary, configuration and feed are the agent's
# self-protection, by design.)
#
# Use: write the configuration (guard_write_conf, $guard_args), define a
# scenario function, then `guard_run SCENARIO`; it returns when the
# scenario is over and mamorid was stopped, leaving $guard_state/events.jsonl,
# $guard_state/quarantine and the rootfs's /var/sim markers for the asserts.
# Source it after setting MAMORI_BIN and MAMORI_SRC (CTest does).
# shellcheck shell=bash

: "${MAMORI_BIN:?MAMORI_BIN must name the directory holding mamorid}"
guard_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
guard_srcdir=${MAMORI_SRC:-$(cd "$guard_lib/../../.." && pwd)}
guard_mamorid="$MAMORI_BIN/mamorid"
guard_mamori="$MAMORI_BIN/mamori"
guard_sims="$MAMORI_BIN/../simulants"
guard_events_py="$guard_lib/events.py"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fail "the guard scenarios need root (namespaces, fanotify)"
[ -x "$guard_mamorid" ] || fail "no $guard_mamorid (mamorid is not built yet)"
[ -x "$guard_sims/sim_dropper" ] || fail "no simulants in $guard_sims (tests/simulants)"
for t in unshare chroot ip python3 sha256sum cmp stat; do
  command -v "$t" >/dev/null || fail "$t is not installed (scripts/deps.sh)"
done
guard_busybox=$(command -v busybox || true)
[ -n "$guard_busybox" ] || fail "busybox is not installed (busybox-static, scripts/deps.sh)"
file -L "$guard_busybox" 2>/dev/null | grep -q 'statically linked' ||
  fail "$guard_busybox is not static (install busybox-static)"

# The test's folder: under the build tree, which must not be a tmpfs (the
# rootfs stands for a device's firmware: executables there are allowed).
T=$(mktemp -d "$MAMORI_BIN/../guard-it.XXXXXX")
T=$(cd "$T" && pwd)
case "$(stat -f -c %T "$T")" in
tmpfs | ramfs)
  rm -rf "$T"
  fail "the build tree is on $(stat -f -c %T "$T" 2>/dev/null || echo tmpfs): the rootfs must be on a non-volatile filesystem"
  ;;
esac
# The reporter runs as an unprivileged user: it must reach its state folder.
chmod 755 "$T"
guard_root="$T/root"
guard_state="$T/state"
guard_out="$T/out"
guard_conf="$T/mamorid.conf"
guard_device="guard-it-$$"
guard_args=()
# device: mount, pid, network and UTS namespaces. mount: a mount namespace
# alone, for the fallback: the process connector sends nothing into a pid
# namespace, nor in another network namespace. There mamorid sees the
# host's processes, so the behaviour watch must be off (--no-behaviour) and
# the guard acts only on the watched mounts, which exist in this namespace
# alone.
guard_ns=device
mkdir -p "$guard_out"

guard_cleanup() {
  local rc=$? f p
  set +e
  # In a pid namespace (device) everything died with the namespace's pid 1
  # (unshare --kill-child sees to it even when this script is killed). In
  # the mount namespace alone (the fallback) mamorid is a host process: if
  # the scenario could not stop it, it is stopped here, the pid checked to
  # be that mamorid.
  if [ "$guard_ns" = mount ] && [ -s "$T/mamorid.pid" ]; then
    p=$(cat "$T/mamorid.pid")
    if cat "/proc/$p/cmdline" 2>/dev/null | tr '\0' ' ' | grep -qF "$guard_mamorid -d -f $guard_conf"; then
      for f in $(guard_tree "$p"); do
        kill -KILL "$f" 2>/dev/null
      done
    fi
  fi
  if [ "$rc" -ne 0 ]; then
    for f in "$T/mamorid.log" "$T/ns.log" "$guard_state/events.jsonl"; do
      [ -s "$f" ] && { echo "--- $f (last lines)" >&2; tail -n 25 "$f" >&2; }
    done
  fi
  # Everything the namespace ran died with its pid 1; its mounts went with
  # its mount namespace. What is left is files (the quarantine is 0400).
  if [ -n "${GUARD_KEEP:-}" ]; then
    echo "kept $T" >&2
  else
    rm -rf "$T"
  fi
  exit "$rc"
}
trap guard_cleanup EXIT
# A script stopped by a signal (a test timeout) cleans up too.
trap 'exit 143' TERM
trap 'exit 130' INT

# ---- the rootfs ----

# Builds $guard_root: busybox and its applets, /etc, the simulants in
# /opt/sim, a stand-in telnetd in /opt/svc, the project's mamori and its
# samples in /opt/mamori, an ordinary script in /opt/app, a web root, and
# /var/sim for the simulants' markers.
guard_rootfs() {
  local r=$guard_root a s
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,usr/lib,etc,root,home/user,tmp,var/run,var/tmp,var/sim,run,dev,proc,opt/sim/run,opt/svc,opt/app,opt/new,opt/mamori/samples,www}
  cp "$guard_busybox" "$r/bin/busybox"
  for a in $("$guard_busybox" --list-full); do
    [ "$a" = bin/busybox ] && continue
    [ -e "$r/$a" ] || ln -s /bin/busybox "$r/$a"
  done
  # The dynamic loader and libraries come from the host's /usr/lib (bound
  # read-only in the namespace); Debian's /lib and /lib64 point there.
  ln -s usr/lib "$r/lib"
  if [ -d /usr/lib64 ]; then
    mkdir -p "$r/usr/lib64"
    ln -s usr/lib64 "$r/lib64"
  fi
  cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
EOF
  cat >"$r/etc/group" <<'EOF'
root:x:0:
user:x:1000:
EOF
  echo "guard-it" >"$r/etc/hostname"
  chown 1000:1000 "$r/home/user"
  chmod 1777 "$r/var/sim" "$r/tmp" "$r/var/tmp"
  for s in sim_dropper sim_lock sim_scanner sim_raw sim_killer sim_watchdog sim_mirai_strings \
    sim_hello sim_payload sim_loader.sh; do
    cp "$guard_sims/$s" "$r/opt/sim/$s"
  done
  cp "$guard_sims/sim_telnetd" "$r/opt/svc/telnetd"
  if [ -x "$guard_mamori" ]; then
    cp "$guard_mamori" "$r/opt/mamori/mamori"
  fi
  cp "$guard_srcdir"/data/samples/x1367-*.json* "$r/opt/mamori/samples/"
  cat >"$r/opt/app/report.sh" <<'EOF'
#!/bin/sh
# An ordinary device script: counts the users and greets through sim_hello.
n=$(grep -c : /etc/passwd)
echo "users $n"
/opt/sim/sim_hello script
EOF
  chmod 755 "$r/opt/app/report.sh"
  echo "guard-it index page" >"$r/www/index.html"
}

# ---- the configuration ----

# guard_write_conf [AGENT_KEY_LINE...] <<EOF ...other sections... EOF:
# writes $guard_conf: an [agent] section with this run's device id and the
# given lines ("mode = enforce"), then the text on stdin ([policy] ...).
guard_write_conf() {
  local k
  {
    echo "[agent]"
    echo "device_id = $guard_device"
    echo "firmware = guard-it-1"
    for k in "$@"; do
      echo "$k"
    done
    echo
    cat
  } >"$guard_conf"
}

# ---- inside the namespaces ----

# The mounts mamorid watches (absolute, as seen by mamorid).
guard_mounts() {
  echo "$guard_root" "$guard_root/tmp" "$guard_root/var/run" "$guard_root/run" \
    "$guard_root/dev" "$guard_root/dev/shm"
}

# Runs in the namespaces: builds the device's mounts and network.
guard_ns_setup() {
  local r=$guard_root
  mount --bind "$r" "$r"
  mount -t tmpfs -o mode=1777,size=32m guard-tmp "$r/tmp"
  mount -t tmpfs -o mode=755,size=8m guard-varrun "$r/var/run"
  mount -t tmpfs -o mode=755,size=8m guard-run "$r/run"
  mount -t tmpfs -o mode=755,size=1m guard-dev "$r/dev"
  mknod -m 666 "$r/dev/null" c 1 3
  mknod -m 666 "$r/dev/zero" c 1 5
  mknod -m 666 "$r/dev/tty" c 5 0
  # The watchdog's stand-in is the null device under the watchdog's name:
  # the guard watches the path, and no real watchdog can ever be armed.
  mknod -m 600 "$r/dev/watchdog" c 1 3
  mkdir "$r/dev/shm"
  mount -t tmpfs -o mode=1777,size=8m guard-shm "$r/dev/shm"
  mount --bind /proc "$r/proc"
  mount --bind /usr/lib "$r/usr/lib"
  mount -o remount,bind,ro "$r/usr/lib"
  if [ -d /usr/lib64 ]; then
    mount --bind /usr/lib64 "$r/usr/lib64"
    mount -o remount,bind,ro "$r/usr/lib64"
  fi
  # The fallback's namespace is a mount namespace alone: the host's network
  # and names are not this test's to change.
  [ "$guard_ns" = device ] || return 0
  hostname guard-it
  ip link set lo up
  # 10.66.0.0/24 leads nowhere: a dummy interface, or where the kernel has
  # no dummy driver, a veth pair with both ends here (the far end has no
  # address and this namespace forwards nothing). No ARP: the SYNs leave at
  # once, as they do on a dummy.
  if ip link add simscan0 type dummy 2>/dev/null; then
    :
  else
    ip link add simscan0 type veth peer name simsink0
    ip link set simsink0 up
    ip link set simscan0 arp off
  fi
  ip addr add 10.66.0.1/24 dev simscan0
  ip link set simscan0 up
}

# Starts mamorid -d on $guard_conf with --watch on every mount and
# $guard_args; waits (bounded) for guard.agent.start. Sets guard_pid.
guard_start() {
  local m i
  local args=(-d -f "$guard_conf" --state "$guard_state")
  for m in $(guard_mounts); do
    args+=(--watch "$m")
  done
  "$guard_mamorid" "${args[@]}" "${guard_args[@]}" >>"$T/mamorid.log" 2>&1 &
  guard_pid=$!
  echo "$guard_pid" >"$T/mamorid.pid"
  for i in $(seq 1 200); do
    [ "$(ev count --event guard.agent.start)" -ge 1 ] && break
    kill -0 "$guard_pid" 2>/dev/null || fail "mamorid exited at start: $(tail -n 20 "$T/mamorid.log")"
    sleep 0.1
  done
  [ "$(ev count --event guard.agent.start)" -ge 1 ] ||
    fail "mamorid did not report guard.agent.start in 20 s: $(tail -n 20 "$T/mamorid.log")"
  # The reporter may say it started before the guard has marked the mounts:
  # wait until the guard's fanotify group shows a mark on each of them
  # (fdinfo lists "fanotify mnt_id:" lines). The fallback has no marks.
  case " ${guard_args[*]} " in *" --fallback "*) return 0 ;; esac
  for i in $(seq 1 100); do
    [ "$(guard_marks "$guard_pid" mnt_id)" -ge "$(guard_mounts | wc -w)" ] && return 0
    sleep 0.1
  done
  fail "mamorid's guard did not mark the $(guard_mounts | wc -w) watched mounts in 10 s"
}

# guard_marks PID KIND: the number of fanotify marks of KIND (mnt_id, ino)
# in the fdinfo of PID's descriptors.
guard_marks() {
  cat /proc/"$1"/fdinfo/* 2>/dev/null | grep -c "^fanotify $2:" || true
}

# The watch process (the guard's child that holds an inode mark on the
# watchdog device): waits (bounded, 10 s) until such a mark exists.
guard_wait_watchdog_mark() {
  local i c
  for i in $(seq 1 100); do
    for c in $(cat /proc/"$guard_pid"/task/*/children 2>/dev/null); do
      [ "$(guard_marks "$c" ino)" -ge 1 ] && return 0
    done
    sleep 0.1
  done
  fail "no mamorid child marked the watchdog device in 10 s"
}

# Stops mamorid (SIGTERM), bounded: 10 s, then SIGKILL and a failure.
guard_stop() {
  local i
  [ -n "${guard_pid:-}" ] || return 0
  kill -TERM "$guard_pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    kill -0 "$guard_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$guard_pid" 2>/dev/null; then
    kill -KILL "$guard_pid" 2>/dev/null || true
    guard_pid=
    fail "mamorid did not stop within 10 s of SIGTERM"
  fi
  wait "$guard_pid" 2>/dev/null || true
  guard_pid=
}

# The body run in the namespaces: set up, start mamorid, run the scenario,
# stop mamorid. Every process left dies with this shell (pid 1 here).
guard_inner() {
  set -euo pipefail
  guard_pid=
  trap 'guard_stop_quiet' EXIT
  guard_ns_setup
  # A peer the agent needs from its start (the SOC) comes up first.
  [ -z "${guard_before:-}" ] || "$guard_before"
  guard_start
  "$1"
  guard_stop
}

# The pids of PID and all its descendants, parents first (bounded depth).
guard_tree() {
  local p=$1 depth=${2:-0} c
  echo "$p"
  [ "$depth" -lt 8 ] || return 0
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
    guard_tree "$c" $((depth + 1))
  done
}

# On the way out of the namespaces: mamorid and what the scenario started
# are killed. In a pid namespace its end would do it; in the mount-only
# namespace of the fallback (guard_ns=mount) they would outlive it.
guard_stop_quiet() {
  local p f
  set +e
  for f in "$guard_out"/*.pid; do
    [ -e "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
  done
  if [ -n "${guard_pid:-}" ]; then
    for p in $(guard_tree "$guard_pid"); do
      kill -KILL "$p" 2>/dev/null
    done
  fi
  return 0
}

# guard_run SCENARIO: runs the function SCENARIO (defined by the test) in
# fresh namespaces with mamorid guarding the rootfs. Fails when it fails.
guard_run() {
  local v
  {
    echo "set -euo pipefail"
    for v in T MAMORI_BIN MAMORI_SRC $(compgen -v guard_) $(compgen -v sc_); do
      declare -p "$v" 2>/dev/null || true
    done
    declare -f
    echo "guard_inner $1"
  } >"$T/inner.sh"
  mkdir -p "$guard_state"
  case $guard_ns in
  device)
    unshare -m -p -n -u -f --kill-child --mount-proc --propagation private bash "$T/inner.sh" \
      >>"$T/ns.log" 2>&1 || fail "scenario $1 failed: $(tail -n 20 "$T/ns.log")"
    ;;
  mount)
    unshare -m --propagation private bash "$T/inner.sh" \
      >>"$T/ns.log" 2>&1 || fail "scenario $1 failed: $(tail -n 20 "$T/ns.log")"
    ;;
  *) fail "guard_ns must be device or mount" ;;
  esac
}

# ---- helpers for scenarios and asserts ----

# ev ARGS...: lib/events.py on this run's events.jsonl.
ev() {
  python3 "$guard_events_py" "$guard_state/events.jsonl" "$@"
}

# wait_ev N FILTERS...: waits (bounded, $GUARD_WAIT seconds, default 20)
# until at least N events match.
wait_ev() {
  local n=$1 end=$((SECONDS + ${GUARD_WAIT:-20}))
  shift
  while [ "$SECONDS" -le "$end" ]; do
    [ "$(ev "$@" count)" -ge "$n" ] && return 0
    sleep 0.2
  done
  return 1
}

# in_root CMD...: runs CMD in the rootfs (chroot), as root.
in_root() {
  chroot "$guard_root" "$@"
}

# gone PID: waits (bounded, 30 s) until PID has exited; returns its wait
# status (the caller must be its parent).
wait_gone() {
  local pid=$1 _ rc=0
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && return 255
  wait "$pid" || rc=$?
  return "$rc"
}

# sha FILE: the SHA-256 of FILE, by sha256sum (no code shared with mamorid).
sha() {
  sha256sum "$1" | cut -d' ' -f1
}

# marker NAME: the content of the rootfs's /var/sim/NAME, or "<none>".
marker() {
  if [ -e "$guard_root/var/sim/$1" ]; then
    cat "$guard_root/var/sim/$1"
  else
    echo "<none>"
  fi
}

# expect WHAT GOT WANT: fails unless GOT is exactly WANT.
expect() {
  [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# expect_field FILTERS... PATH WANT: exactly one event matches FILTERS and
# its member PATH is WANT.
expect_field() {
  local want=${*: -1} path=${*: -2:1} got
  got=$(ev "${@:1:$#-2}" one "$path") || fail "want exactly one event for ${*:1:$#-2}"
  [ "$got" = "$want" ] || fail "${*:1:$#-2}: $path is '$got', want '$want'"
}

# expect_quarantined SHA FILE: the quarantine holds FILE's bytes under SHA.
expect_quarantined() {
  local q="$guard_state/quarantine/$1"
  [ -f "$q" ] || fail "no quarantine copy $q (quarantine: $(ls "$guard_state/quarantine" 2>&1 | tr '\n' ' '))"
  cmp -s "$q" "$2" || fail "quarantine copy $q differs from $2"
}

# dpath PATH: a file's path as the events name it: as the device sees it
# (the agent's root stripped).
dpath() {
  echo "$1"
}

# bg_run NAME CMD...: runs CMD in the rootfs in the background (chroot is
# exec'd directly, so the pid is the simulant's own); its output goes to
# $guard_out/NAME.out and its pid to $guard_out/NAME.pid.
bg_run() {
  local name=$1
  shift
  chroot "$guard_root" "$@" >"$guard_out/$name.out" 2>&1 &
  echo "$!" >"$guard_out/$name.pid"
}

# fg_wait NAME: waits (bounded) for NAME's process; its wait status goes to
# $guard_out/NAME.rc (255: still running after 30 s, then killed).
fg_wait() {
  local pid rc=0
  pid=$(cat "$guard_out/$1.pid")
  wait_gone "$pid" || rc=$?
  if [ "$rc" = 255 ]; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  echo "$rc" >"$guard_out/$1.rc"
}

# out NAME FIELD: $guard_out/NAME.FIELD (pid, rc, out), or "<none>".
out() {
  if [ -e "$guard_out/$1.$2" ]; then cat "$guard_out/$1.$2"; else echo "<none>"; fi
}

# ---- the simulants' scenario, shared by guard_enforce.sh and guard_monitor.sh ----

# The configuration of the simulant runs, in mode $1.
guard_sim_conf() {
  [ -f "$guard_srcdir/data/yara/mirai.yar" ] || fail "no data/yara/mirai.yar (the reporter's rule) yet"
  cp "$guard_srcdir/data/yara/mirai.yar" "$T/mirai.yar"
  guard_write_conf "mode = $1" "heartbeat = 60" <<EOF2
[policy]
root = $guard_root
yara_rules = $T/mirai.yar

[behaviour]
sweep_interval = 2
expect_listen = *:2323
scan_burst = 10
scan_window = 10
EOF2
}

# The YARA rule the simulant with Mirai's strings must match: the first
# rule of data/yara/mirai.yar.
guard_yara_rule() {
  sed -n 's/^[[:space:]]*\(private[[:space:]]\+\)\{0,1\}rule[[:space:]]\+\([A-Za-z0-9_]\+\).*/\2/p' \
    "$guard_srcdir/data/yara/mirai.yar" | head -n 1
}

# Runs every simulant once, in the rootfs: first those stopped at exec
# (dropper, loader, Mirai strings), one at a time; then those that act
# once they run, side by side, each for up to $sc_secs seconds (lock,
# scanner, raw socket, telnetd killer with its victim, watchdog opener).
# Pids, outputs and wait statuses are left in $guard_out.
sc_simulants() {
  : "${sc_secs:?the test sets sc_secs, how long the simulants run}"
  local n
  guard_wait_watchdog_mark
  bg_run dropper /opt/sim/sim_dropper 0
  fg_wait dropper
  bg_run loader /bin/sh /opt/sim/sim_loader.sh
  fg_wait loader
  bg_run mirai /opt/sim/sim_mirai_strings
  fg_wait mirai

  # The victim first, running for a while as a device's telnetd does: the
  # watch learns the services it sees in its sweeps (every 2 s here).
  bg_run telnetd /opt/svc/telnetd 60
  for n in $(seq 1 100); do
    [ -e "$guard_root/var/sim/telnetd.start" ] && break
    sleep 0.1
  done
  sleep 3
  # sim_lock deletes its executable: it runs from a copy.
  cp "$guard_root/opt/sim/sim_lock" "$guard_root/opt/sim/run/sim_lock"
  bg_run lock /opt/sim/run/sim_lock "$sc_secs"
  bg_run scanner /opt/sim/sim_scanner 10.66.0.0 20 "$sc_secs"
  bg_run raw /opt/sim/sim_raw "$sc_secs"
  bg_run watchdog /opt/sim/sim_watchdog /dev/watchdog "$sc_secs"
  bg_run killer /opt/sim/sim_killer "$sc_secs"
  for n in lock scanner raw watchdog killer telnetd; do
    fg_wait "$n"
  done
  # Findings of processes already gone may still be on their way to the
  # reporter: wait (bounded) for each simulant's findings before stopping:
  # one at least (enforce: the first gets it killed), or every kind
  # ($sc_all, monitor).
  for n in lock scanner raw watchdog killer; do
    wait_ev 1 --prefix guard.behaviour. --pid "$(out "$n" pid)" || true
  done
  if [ -n "${sc_all:-}" ]; then
    for n in deleted_exe masquerade listener; do
      wait_ev 1 --event "guard.behaviour.$n" --pid "$(out lock pid)" || true
    done
  fi
  wait_ev 3 --event guard.exec.denied || true
}
