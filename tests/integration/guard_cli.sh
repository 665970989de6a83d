#!/usr/bin/env bash
# Checks mamorid's command line and start-up: --help and --version; `-n`
# accepts the shipped policy and a full file and says what would run; a bad
# value is refused with FILE:LINE and what is wrong; --watch on a folder that
# is not a mountpoint, an unknown option, a bad --mode or --soc, and a start
# without root are refused with the exact message and exit status of
# mamorid(8). Then, inside mount and pid namespaces of its own with a tmpfs it
# mounted itself (monitor mode, --watch on that tmpfs only), mamorid starts
# its three processes, makes the state folders for the reporter's user, logs
# a child that was killed, and stops everything on SIGTERM with exit 0.
set -euo pipefail
bin="${MAMORI_BIN:?}/mamorid"
src="${MAMORI_SRC:?}"
tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    sleep 4
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect STATUS MESSAGE ARGS...: runs mamorid ARGS, checks its exit status and
# that its output (stdout and stderr) is exactly MESSAGE.
expect() {
  local want=$1 msg=$2 got
  shift 2
  set +e
  "$bin" "$@" >"$tmp/out" 2>&1
  got=$?
  set -e
  [ "$got" = "$want" ] || fail "exit $got, want $want: mamorid $*: $(cat "$tmp/out")"
  [ "$(cat "$tmp/out")" = "$msg" ] || fail "mamorid $*: got '$(cat "$tmp/out")', want '$msg'"
}
conf() { printf '%b' "$1" >"$tmp/c.conf"; }

# ---- --help, --version ----
"$bin" --help >"$tmp/help"
for o in -d -n -v "-f FILE" "--mode MODE" "--watch MOUNT" "--state DIR" "--soc URL" \
         --fallback --no-behaviour "--user USER" --help --version; do
  grep -q -- "$o" "$tmp/help" || fail "--help does not tell $o"
done
grep -q "SIGHUP reloads the feed" "$tmp/help" || fail "--help does not tell the signals"
"$bin" --version | grep -Eq '^mamorid [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version: $("$bin" --version)"
echo "ok: --help tells every option and --version the version"

# ---- -n ----
expect 0 "mamorid: configuration good: monitor mode, every mount, state /var/lib/mamori, quarantine /var/lib/mamori/quarantine, soc none" \
  -n -f "$src/data/mamorid.conf"
conf "[agent]\nmode = enforce\nstate = /srv/m\nsoc = relp://127.0.0.1:2514\n[quarantine]\ndir = /srv/q\n"
expect 0 "mamorid: configuration good: enforce mode, every mount, state /srv/m, quarantine /srv/q, soc relp://127.0.0.1:2514" \
  -n -f "$tmp/c.conf"
# The command line wins over the file, and the quarantine follows --state.
conf "[agent]\nmode = enforce\nstate = /srv/m\nsoc = relp://127.0.0.1:2514\n"
(cd "$tmp" && "$bin" -n -f c.conf --mode monitor --state st --soc none --watch /proc --watch /proc/) \
  >"$tmp/out" 2>&1 || fail "-n with overrides: $(cat "$tmp/out")"
[ "$(cat "$tmp/out")" = "mamorid: configuration good: monitor mode, watching /proc /proc, state $tmp/st, quarantine $tmp/st/quarantine, soc none" ] ||
  fail "-n with overrides: $(cat "$tmp/out")"
echo "ok: -n accepts the shipped policy and a full file, and says what would run"

conf "[agent]\nuser = mamori\n\nmode = block\n"
expect 1 "mamorid: $tmp/c.conf:4: mode: 'block' is not monitor or enforce" -n -f "$tmp/c.conf"
conf "# fallback\n[agent]\nfallback = sometimes\n"
expect 1 "mamorid: $tmp/c.conf:3: fallback: 'sometimes' is not auto, yes or no" -n -f "$tmp/c.conf"
conf "[policy]\ndeny_paths = /tmp\non_timeout = kill\n"
expect 1 "mamorid: $tmp/c.conf:3: on_timeout: 'kill' is not allow or deny" -n -f "$tmp/c.conf"
conf "[spool]\nmax_size = 2M\n[policy]\ndeny_paths = /tmp, var/tmp\n"
expect 1 "mamorid: $tmp/c.conf:4: deny_paths: 'var/tmp' is not an absolute path" -n -f "$tmp/c.conf"
conf "[behaviour]\nenabled = yes\nscan_ports = 23 70000\n"
expect 1 "mamorid: $tmp/c.conf:3: scan_ports: '70000' is not a port" -n -f "$tmp/c.conf"
conf "[behaviour]\nsweep_interval = 0\n"
expect 1 "mamorid: $tmp/c.conf:2: sweep_interval: 0 is out of range 1..3600" -n -f "$tmp/c.conf"
conf "[agent]\nbogus = 1\n"
expect 1 "mamorid: $tmp/c.conf:2: unknown key 'bogus' in section [agent]" -n -f "$tmp/c.conf"
conf "[agent]\nsoc = http://soc\n"
expect 1 "mamorid: $tmp/c.conf:2: soc: 'http://soc' is not udp://, tcp://, tls://, relp:// or relp+tls://HOST:PORT or none" \
  -n -f "$tmp/c.conf"
expect 1 "mamorid: $tmp/none.conf: No such file or directory" -n -f "$tmp/none.conf"
# -n also reads the feed, as the guard will at start.
printf '# feed\n%s dropper\nnot-a-hash\n' "$(printf 'ab%.0s' $(seq 32))" >"$tmp/feed.txt"
conf "[policy]\nfeed = $tmp/feed.txt\n"
expect 1 "mamorid: feed $tmp/feed.txt:3: not a SHA-256 (64 hex digits, then a blank and a name)" \
  -n -f "$tmp/c.conf"
echo "ok: bad values, unknown keys and a missing file are named with their place"

# ---- the command line ----
mkdir "$tmp/dir"
expect 1 "mamorid: watch: $tmp/dir is not a mountpoint" -n --watch /proc --watch "$tmp/dir"
expect 1 "mamorid: watch: $tmp/nothing: No such file or directory" -n --watch "$tmp/nothing"
expect 2 "mamorid: unknown option: --bogus
Try 'mamorid --help'." -n --bogus
expect 2 "mamorid: unknown option: -x
Try 'mamorid --help'." -x
expect 2 "mamorid: --state needs an argument" -n --state
expect 2 "mamorid: --mode: expected monitor or enforce: block" -n --mode block
expect 2 "mamorid: unexpected argument: extra
Try 'mamorid --help'." -n extra
expect 1 "mamorid: --soc: expected udp://, tcp://, tls://, relp:// or relp+tls://HOST:PORT or none: http://x" \
  -n --soc http://x
echo "ok: non-mountpoints, unknown options and bad values on the command line are refused"

# ---- root ----
# A copy that the unprivileged user can reach whatever the build tree's modes.
chmod 755 "$tmp"
cp "$bin" "$tmp/mamorid"
cp "$src/data/mamorid.conf" "$tmp/shipped.conf"
chmod 644 "$tmp/shipped.conf"
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/mamorid" -d --state "$tmp/st" >"$tmp/out" 2>&1
got=$?
set -e
[ "$got" = 1 ] || fail "non-root start: exit $got: $(cat "$tmp/out")"
[ "$(cat "$tmp/out")" = "mamorid: must run as root (fanotify and the process connector need it); -n checks a configuration without" ] ||
  fail "non-root start: $(cat "$tmp/out")"
[ ! -e "$tmp/st" ] || fail "non-root start made $tmp/st"
setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/mamorid" -n -f "$tmp/shipped.conf" >"$tmp/out" 2>&1 ||
  fail "non-root -n: $(cat "$tmp/out")"
echo "ok: mamorid refuses to start without root, and -n works without it"

# ---- start and stop, in namespaces of this test's own ----
# Monitor mode, --watch on a tmpfs mounted here only, the policy's root on it
# too (so the watch marks no host watchdog device), and a pid namespace (so
# that the watch sees this test's processes alone): nothing outside is
# guarded or looked at.
cat >"$tmp/run.sh" <<EOF
set -eu
mkdir -p "$tmp/mnt"
mount -t tmpfs -o size=4m mamori-cli "$tmp/mnt"
printf '[policy]\nroot = $tmp/mnt\n[agent]\nheartbeat = 3600\n' >"$tmp/ns.conf"
exec "$bin" -d -f "$tmp/ns.conf" --mode monitor --watch "$tmp/mnt" --state "$tmp/state" \
  --user nobody 2>"$tmp/log"
EOF
unshare -m -p -f --mount-proc --propagation private --kill-child bash "$tmp/run.sh" &
pid=$!
# unshare forks bash, which execs mamorid (pid 1 inside). Wait (bounded) for
# it to fork the reporter and the watch.
guard= report= watch=
for _ in $(seq 100); do
  guard=$(pgrep -P "$pid" -x mamorid || true)
  if [ -n "$guard" ]; then
    report=$(pgrep -P "$guard" -x mamorid-report || true)
    watch=$(pgrep -P "$guard" -x mamorid-watch || true)
    [ -n "$report" ] && [ -n "$watch" ] && break
  fi
  kill -0 "$pid" 2>/dev/null || fail "mamorid stopped at start: $(cat "$tmp/log")"
  sleep 0.1
done
[ -n "$report" ] && [ -n "$watch" ] || fail "no reporter or watch: $(cat "$tmp/log")"
for d in "$tmp/state" "$tmp/state/spool" "$tmp/state/quarantine"; do
  [ "$(stat -c '%U %a' "$d")" = "nobody 700" ] || fail "$d: $(stat -c '%U %a' "$d")"
done
# The pid the log names is the one inside the namespace.
watch_ns=$(awk '/^NSpid:/ {print $NF}' /proc/"$watch"/status)
echo "ok: mamorid runs as guard, reporter and watch; the state folders are nobody's"

kill -KILL "$watch"
sleep 0.5
kill -0 "$report" || fail "the reporter went with the watch"
kill -TERM "$guard"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "mamorid did not stop within 10 s"
set +e
wait "$pid"
got=$?
set -e
pid=
[ "$got" = 0 ] || fail "mamorid exited $got: $(cat "$tmp/log")"
grep -qx "mamorid: the watch (pid $watch_ns) was killed by signal 9 (Killed)" "$tmp/log" ||
  fail "the watch's end is not logged: $(cat "$tmp/log")"
grep -qx "mamorid: stopped" "$tmp/log" || fail "no 'stopped': $(cat "$tmp/log")"
if grep -q "did not stop" "$tmp/log"; then fail "a child had to be killed: $(cat "$tmp/log")"; fi
kill -0 "$report" 2>/dev/null && fail "the reporter is still running"
echo "ok: a killed child is logged with its signal; SIGTERM stops the rest and mamorid exits 0"
