# Shared helpers of the integration scenarios that run `mamori send` against a
# real rsyslogd: ports, bounded waits, certificates, rsyslog instances and
# event files. Source it after setting MAMORI_BIN; it sets $tmp, $mamori and
# an EXIT trap that stops every process it started and removes $tmp.
# shellcheck shell=bash

: "${MAMORI_BIN:?MAMORI_BIN must name the directory holding mamori}"
mamori="$MAMORI_BIN/mamori"
[ -x "$mamori" ] || { echo "FAIL: no $mamori" >&2; exit 1; }
for t in rsyslogd openssl awk; do
  command -v "$t" >/dev/null || { echo "FAIL: $t is not installed (scripts/deps.sh)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/mamori-it.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -9 "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# True when something on this host uses TCP or UDP port $1 (any state).
port_used() {
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'NR > 1 && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null
}

# True when a TCP socket listens on port $1.
port_listening() {
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
    END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# True when a UDP socket is bound to port $1.
udp_bound() {
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'NR > 1 && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
    /proc/net/udp /proc/net/udp6 2>/dev/null
}

pick_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 30000))
    port_used "$p" || { echo "$p"; return 0; }
  done
  fail "no free port found"
}

# Polls "$@" every 0.1 s, up to WAIT_TRIES times (default 300: 30 s).
wait_for() {
  local i
  for i in $(seq 1 "${WAIT_TRIES:-300}"); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

# Makes a CA, a server certificate for localhost and 127.0.0.1, a client
# certificate (CN device-1) from the same CA, and a second CA with a client
# certificate of its own ("rogue"), which the server must refuse. Files in
# $tmp/pki: ca.pem server.pem server.key client.pem client.key rogue-ca.pem
# rogue.pem rogue.key.
make_pki() {
  local d="$tmp/pki"
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=mamori test CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=rogue CA" -keyout rogue-ca.key -out rogue-ca.pem 2>/dev/null
    issue() { # name CA cn san
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
        -keyout "$1.key" -out "$1.csr" 2>/dev/null
      printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$4" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    }
    issue server ca localhost "DNS:localhost,IP:127.0.0.1"
    issue client ca device-1 "DNS:device-1"
    issue rogue rogue-ca device-1 "DNS:device-1"
  ) || fail "could not make test certificates"
}

# Starts rsyslogd on config $tmp/$1.conf as instance $1 and waits until it
# listens on TCP port $2 (or has UDP port $2 bound when $3 is "udp").
start_rsyslog() {
  local name=$1 port=$2 proto=${3:-tcp}
  mkdir -p "$tmp/$name.work"
  rm -f "$tmp/$name.pid"
  rsyslogd -n -f "$tmp/$name.conf" -i "$tmp/$name.pid" >>"$tmp/$name.log" 2>&1 &
  pids+=("$!")
  eval "${name//-/_}_pid=$!"
  if [ "$proto" = udp ]; then
    wait_for udp_bound "$port" || fail "rsyslogd $name did not bind UDP $port: $(cat "$tmp/$name.log")"
  else
    wait_for port_listening "$port" || fail "rsyslogd $name did not listen on $port: $(cat "$tmp/$name.log")"
  fi
}

# The lines of an rsyslog ruleset that writes "MSGID MSG" per message to
# $tmp/$1.out, acknowledging nothing before it is written: a Direct queue
# runs the action in the input's thread, and omfile writes at the end of
# each one-message transaction.
out_ruleset() {
  cat <<EOF
template(name="msgonly" type="string" string="%msgid% %msg%\n")
ruleset(name="out" queue.type="Direct") {
  action(type="omfile" file="$tmp/$1.out" template="msgonly" flushOnTXEnd="on"
         asyncWriting="off")
}
EOF
}

rsyslog_global() {
  echo "global(workDirectory=\"$tmp/$1.work\" maxMessageSize=\"256k\")"
}

# Writes $2 events to file $1, one per line, alternating X.1367 records and
# mamori events, each unique by its sequence number.
make_events() {
  awk -v n="$2" -f "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/gen-events.awk" >"$1"
}

# What rsyslog must write for the events of file $1: "MSGID LINE" per line.
expected_of() {
  awk '{ if (index($0, "\"event\":\"test.event.sent\"")) print "test.event.sent " $0; else print "X1367 " $0 }' "$1"
}

# Compares rsyslog output $2 with the events of $1 record by record, in order.
same_records() {
  expected_of "$1" >"$1.expected"
  if ! cmp -s "$1.expected" "$2"; then
    echo "records differ (expected < > received):" >&2
    diff "$1.expected" "$2" | head -20 >&2
    return 1
  fi
}

# Counts for at-least-once delivery: prints "LOST DUPLICATES EXTRA" of output
# $2 against the events of $1 (EXTRA: records that were never sent).
delivery_counts() {
  expected_of "$1" | sort >"$1.sorted"
  sort "$2" >"$2.sorted"
  local lost dups extra
  lost=$(comm -23 "$1.sorted" <(sort -u "$2.sorted") | wc -l)
  extra=$(comm -13 "$1.sorted" <(sort -u "$2.sorted") | wc -l)
  dups=$(($(wc -l <"$2.sorted") - $(sort -u "$2.sorted" | wc -l)))
  echo "$lost $dups $extra"
}

lines_of() {
  if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# True when file $1 has at least $2 lines (for wait_for).
has_lines() {
  [ "$(lines_of "$1")" -ge "$2" ]
}
