# Shared helpers of mamori-trap's integration scenarios: start a trap in a
# folder of $tmp on a free loopback port with a configuration written from
# "section.key=value" pairs, wait until it listens, stop it, talk to it with
# lib/telnet_client.py and read its events (DIR/log/events.json). Source it
# after setting MAMORI_BIN (and MAMORI_SRC); it sources peers.sh, whose EXIT
# trap stops every process in $pids and removes $tmp.
# shellcheck shell=bash

# shellcheck source=peers.sh
. "$(dirname "${BASH_SOURCE[0]}")/peers.sh"

trap_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
trap_src=${MAMORI_SRC:-$(cd "$trap_lib/../../.." && pwd)}
trap_bin="$MAMORI_BIN/mamori-trap"
[ -x "$trap_bin" ] || fail "no $trap_bin"
for t in jq sha256sum; do
  command -v "$t" >/dev/null || fail "$t is not installed (scripts/deps.sh)"
done
# Debian's python3, whatever else is first on PATH.
py=/usr/bin/python3
[ -x "$py" ] || fail "no /usr/bin/python3"
tc="$trap_lib/telnet_client.py"

# trap_conf FILE PAIR...: writes an INI file of "section.key=value" pairs,
# grouped by section in the order the sections first appear. The defaults
# come first and a pair given again replaces it: loopback only, the source
# tree's personas, credentials and ATT&CK table, the unprivileged user
# nobody, nothing sent anywhere.
trap_conf() {
  local file=$1 p sec key val
  shift
  local -a pairs=(
    "trap.listen=127.0.0.1"
    "trap.personas=$trap_src/data/trap/personas"
    "trap.attack=$trap_src/data/trap/attack.tsv"
    "trap.user=nobody"
    "login.credentials=$trap_src/data/credentials.tsv"
    "login.accept=mirai"
    "soc.url=none"
    "$@"
  )
  local -A value=()
  local -a order=() sections=()
  for p in "${pairs[@]}"; do
    [[ "$p" == *.*=* ]] || fail "trap_conf: '$p' is not section.key=value"
    key=${p%%=*}
    [ -n "${value[$key]+x}" ] || order+=("$key")
    value[$key]=${p#*=}
  done
  for key in "${order[@]}"; do
    sec=${key%%.*}
    [[ " ${sections[*]} " == *" $sec "* ]] || sections+=("$sec")
  done
  : >"$file"
  for sec in "${sections[@]}"; do
    printf '[%s]\n' "$sec" >>"$file"
    for key in "${order[@]}"; do
      [ "${key%%.*}" = "$sec" ] && printf '%s = %s\n' "${key#*.}" "${value[$key]}" >>"$file"
    done
    printf '\n' >>"$file"
  done
}

# trap_start NAME PERSONA PAIR...: starts mamori-trap -d on a free loopback
# port with DIR $tmp/NAME and the configuration $tmp/NAME.conf (trap_conf's
# defaults and PAIRs; "trap.seed=N" pins the per-instance values). Sets
# NAME_pid, NAME_port and NAME_dir; the daemon's output goes to
# $tmp/NAME.log. Returns once the port accepts connections.
trap_start() {
  local name=$1 persona=$2 port dir pid
  shift 2
  port=$(pick_port)
  dir="$tmp/$name"
  mkdir -p "$dir"
  chmod 0755 "$tmp" "$dir"
  trap_conf "$tmp/$name.conf" "$@"
  "$trap_bin" -n -f "$tmp/$name.conf" >"$tmp/$name.check" 2>&1 ||
    fail "mamori-trap -n refused $tmp/$name.conf: $(cat "$tmp/$name.check"); the file: $(cat "$tmp/$name.conf")"
  "$trap_bin" -d -p "$port" -s "$dir" --persona "$persona" -f "$tmp/$name.conf" \
    >>"$tmp/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  eval "${name}_pid=$pid ${name}_port=$port ${name}_dir=\$dir"
  wait_for port_listening "$port" ||
    fail "mamori-trap $name did not listen on $port: $(tail -n 20 "$tmp/$name.log")"
  kill -0 "$pid" 2>/dev/null || fail "mamori-trap $name exited at start: $(tail -n 20 "$tmp/$name.log")"
}

# trap_stop NAME [SIGNAL]: stops the trap (TERM by default, which must end
# it with status 0 within 10 s) and waits for it.
trap_stop() {
  local name=$1 sig=${2:-TERM} pid i st=0
  pid=$(eval echo "\$${name}_pid")
  kill -s "$sig" "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && fail "mamori-trap $name still runs 10 s after SIG$sig"
  wait "$pid" 2>/dev/null || st=$?
  if [ "$sig" = TERM ] && [ "$st" != 0 ]; then
    fail "mamori-trap $name ended with $st after SIGTERM: $(tail -n 20 "$tmp/$name.log")"
  fi
  return 0
}

# telnet_run PORT [-u USER] [-P PASS] CMD...: logs in and runs the commands;
# prints telnet_client.py's JSON ({"login", "banner", "prompt", "outputs"}).
telnet_run() {
  local port=$1
  shift
  "$py" "$tc" "$port" "$@"
}

# telnet_out JSON N: the output of the N-th command (from 0) of telnet_run.
telnet_out() { jq -r --argjson n "$2" '.outputs[$n].out' <<<"$1"; }

# The events file of a trap's DIR.
trap_events() { echo "$1/log/events.json"; }

# events_where DIR JQ-CONDITION: the events (compact JSON lines) the
# condition selects, in the file's order. Fails when a line is not JSON.
events_where() {
  local f
  f=$(trap_events "$1")
  [ -f "$f" ] || { echo "" && return 0; }
  jq -c "select($2)" "$f" || fail "$f holds a line that is not JSON"
}
events_count() { events_where "$1" "$2" | grep -c . || true; }
events_at_least() { [ "$(events_count "$1" "$2")" -ge "$3" ]; }

# event_one DIR JQ-CONDITION: the one event the condition selects, or fail.
event_one() {
  local out n
  out=$(events_where "$1" "$2")
  n=$(printf '%s' "$out" | grep -c . || true)
  [ "$n" = 1 ] || fail "$n events where $2, want 1: $(printf '%s' "$out" | head -c 2000)"
  printf '%s\n' "$out"
}

# file_has PATTERN FILE: grep -q that is quiet while FILE does not exist yet.
file_has() { grep -q -- "$1" "$2" 2>/dev/null; }

# expect WHAT GOT WANT: fails unless GOT is WANT.
expect() {
  [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# The session id of the session that logged in with USER PASS (the last one).
session_of_login() {
  events_where "$1" ".eventid == \"cowrie.login.success\" and .username == \"$2\" and .password == \"$3\"" |
    tail -n1 | jq -r .session
}

# trap_rss PID: VmRSS in KiB.
trap_rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
