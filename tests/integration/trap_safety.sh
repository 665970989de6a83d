#!/usr/bin/env bash
# Checks mamori-trap's safety: once its port is bound it runs as the
# configured unprivileged user (nobody) with no effective capabilities,
# seccomp in filter mode, no_new_privs and a file limit of twice
# max_sessions plus 64; the per-address bound on open sessions and the
# per-address rate refuse the extra connections without a banner, each with
# a trap.session.limit event of its reason; a silent session is closed after
# the idle timeout with trap.session.timeout; floods of malformed telnet
# (random bytes, an unterminated subnegotiation, a 1 MB line without a line
# end, storms of 0xFF and of option requests) do not kill it and a normal
# login works after them; and wget, curl, tftp and ftpget of a URL where a
# listener of this test waits (TCP and UDP) make no connection to it, while
# the URLs of the applets the router's BusyBox has (wget, tftp) are reported;
# past [limits] max_memory (all sessions' files and queued output) a
# session's next line is refused and the session closed; and past [record]
# max_total (earlier runs' recordings counted) sessions are not recorded.
set -euo pipefail
. "$(dirname "$0")/lib/trap.sh"

# The router: its BusyBox has wget and tftp (the DVR's has tftp and ftpget).
trap_start s router-mips limits.max_sessions=100 limits.per_address=3 limits.rate_per_address=1000 \
  limits.idle_timeout=2 login.delay_ms=0

# ---- privileges ----
st=$(cat "/proc/$s_pid/status")
uid=$(awk '/^Uid:/ {print $2, $3, $4, $5}' <<<"$st")
nobody=$(id -u nobody)
expect "Uid (real, effective, saved, fs)" "$uid" "$nobody $nobody $nobody $nobody"
gid=$(awk '/^Gid:/ {print $2, $3, $4, $5}' <<<"$st")
ngid=$(id -g nobody)
expect "Gid (real, effective, saved, fs)" "$gid" "$ngid $ngid $ngid $ngid"
expect "supplementary groups" "$(awk '/^Groups:/ {print $2}' <<<"$st")" ""
expect "CapEff" "$(awk '/^CapEff:/ {print $2}' <<<"$st")" 0000000000000000
expect "CapPrm" "$(awk '/^CapPrm:/ {print $2}' <<<"$st")" 0000000000000000
expect "Seccomp" "$(awk '/^Seccomp:/ {print $2}' <<<"$st")" 2
expect "NoNewPrivs" "$(awk '/^NoNewPrivs:/ {print $2}' <<<"$st")" 1
expect "open files limit" "$(awk '/^Max open files/ {print $4}' "/proc/$s_pid/limits")" 264
echo "ok: runs as nobody, CapEff 0, Seccomp 2, NoNewPrivs 1, 264 files"

# ---- per-address concurrency: 3 held open, the 4th refused ----
"$py" - "$trap_lib" "$s_port" >"$tmp/conc.json" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1])
from telnet_client import TelnetClient
port = int(sys.argv[2])
held = []
for _ in range(3):
    c = TelnetClient("127.0.0.1", port, timeout=5)
    c.read_until(b"ogin: ")
    held.append(c)
extra = TelnetClient("127.0.0.1", port, timeout=5)
data = extra.read_all(5)
print(json.dumps({"held": len(held), "extra_data": data.decode("latin-1"), "extra_closed": extra.eof}))
for c in held + [extra]:
    c.close()
EOF
expect "the 4th connection closed by the trap" "$(jq -r .extra_closed "$tmp/conc.json")" true
expect "data sent to the 4th connection" "$(jq -r .extra_data "$tmp/conc.json")" ""
wait_for events_at_least "$s_dir" '.eventid == "trap.session.limit" and .reason == "per_address"' 1 ||
  fail "no trap.session.limit event of reason per_address: $(events_where "$s_dir" '.eventid == "trap.session.limit"')"
ev=$(event_one "$s_dir" '.eventid == "trap.session.limit"')
expect "limit event's src_ip" "$(jq -r .src_ip <<<"$ev")" 127.0.0.1
echo "ok: the 4th connection from one address was refused without a banner (trap.session.limit per_address)"

# ---- idle timeout: a silent session is closed ----
"$py" - "$trap_lib" "$s_port" >"$tmp/idle.json" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1])
from telnet_client import TelnetClient
c = TelnetClient("127.0.0.1", int(sys.argv[2]), timeout=5)
c.read_until(b"ogin: ")
c.read_all(15)
print(json.dumps({"closed": c.eof}))
EOF
expect "the silent session closed by the trap" "$(jq -r .closed "$tmp/idle.json")" true
wait_for events_at_least "$s_dir" '.eventid == "trap.session.timeout" and .reason == "idle"' 1 ||
  fail "no trap.session.timeout of reason idle"
echo "ok: a silent session was closed after the idle timeout"

# ---- malformed telnet ----
"$py" - "$s_port" >"$tmp/flood.json" <<'EOF'
import json, random, socket, sys, time
port = int(sys.argv[1])
rnd = random.Random(8)
floods = {
    "random": bytes(rnd.getrandbits(8) for _ in range(256 * 1024)),
    "unterminated_sb": b"\xff\xfa\x1f" + b"A" * (128 * 1024),
    "long_line": b"x" * (1024 * 1024),
    "ff_storm": b"\xff" * (256 * 1024),
    "iac_iac_storm": b"\xff\xff" * (128 * 1024),
    "option_storm": b"".join(bytes([255, v, o]) for _ in range(64) for v in (251, 252, 253, 254)
                             for o in range(256)),
    "sb_in_sb": b"\xff\xfa\x18\xff\xfa\x18" * 20000 + b"\xff\xf0",
    "cr_nul_storm": b"\r\x00" * (128 * 1024),
}
res = {}
for name, data in floods.items():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    sent = 0
    try:
        for i in range(0, len(data), 8192):
            s.sendall(data[i:i + 8192])
            sent += min(8192, len(data) - i)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    # Whatever the trap answered, read a little, then close.
    s.settimeout(1)
    try:
        while s.recv(65536):
            pass
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    res[name] = sent
print(json.dumps(res))
EOF
kill -0 "$s_pid" 2>/dev/null || fail "mamori-trap died in the malformed telnet floods: $(tail -n 20 "$tmp/s.log")"
out=$(telnet_run "$s_port" -u root -P xc3511 "echo alive-after-floods")
expect "login after the floods" "$(jq -r .login <<<"$out")" true
expect "a command after the floods" "$(telnet_out "$out" 0)" alive-after-floods
echo "ok: the trap lived through the floods ($(jq -c . "$tmp/flood.json")) and serves a login"

# ---- nothing is fetched ----
lp=$(pick_port)
"$py" - "$lp" "$tmp/fetch.log" >/dev/null 2>&1 <<'EOF' &
import selectors, socket, sys
port, log = int(sys.argv[1]), sys.argv[2]
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port))
t.listen(16)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", port))
open(log, "w").write("listening\n")
sel = selectors.DefaultSelector()
sel.register(t, selectors.EVENT_READ)
sel.register(u, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is t:
            c, a = t.accept()
            open(log, "a").write("tcp %s\n" % (a,))
            c.close()
        else:
            d, a = u.recvfrom(2048)
            open(log, "a").write("udp %s\n" % (a,))
EOF
pids+=("$!")
wait_for file_has listening "$tmp/fetch.log" || fail "the test's listener did not start"
out=$(telnet_run "$s_port" -u root -P xc3511 "cd /tmp" \
  "wget http://127.0.0.1:$lp/x" \
  "/bin/busybox wget http://127.0.0.1:$lp/y -O - > y" \
  "curl -o z http://127.0.0.1:$lp/z" \
  "tftp -g -r t 127.0.0.1 $lp" \
  "ftpget -P $lp 127.0.0.1 f f")
expect "login for the downloads" "$(jq -r .login <<<"$out")" true
wait_for events_at_least "$s_dir" ".eventid == \"cowrie.session.file_download.failed\" and
  (.url | contains(\"127.0.0.1:$lp\"))" 3 ||
  fail "the download commands were not reported: $(events_where "$s_dir" '.eventid | startswith("cowrie.session.file_download")')"
for u in "http://127.0.0.1:$lp/x" "http://127.0.0.1:$lp/y" "tftp://127.0.0.1:$lp/t"; do
  events_at_least "$s_dir" ".eventid == \"cowrie.session.file_download.failed\" and .url == \"$u\"" 1 ||
    fail "no cowrie.session.file_download.failed with url $u"
done
sleep 1
[ "$(grep -c -E '^(tcp|udp) ' "$tmp/fetch.log" || true)" = 0 ] ||
  fail "the trap connected to the listener: $(cat "$tmp/fetch.log")"
echo "ok: wget and tftp were reported, and no download command (wget, curl, tftp, ftpget) made a connection"

trap_stop s

# ---- the rate per address: a minute's worth at once, then refused ----
trap_start r dvr-arm limits.per_address=0 limits.rate_per_address=5 login.delay_ms=0
"$py" - "$trap_lib" "$r_port" >"$tmp/rate.json" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1])
from telnet_client import TelnetClient
port = int(sys.argv[2])
got = []
for _ in range(7):
    c = TelnetClient("127.0.0.1", port, timeout=5)
    data = c.read_all(1.5) if got.count(True) >= 5 else c.read_until(b"ogin: ")
    got.append(b"ogin: " in data)
    c.close()
print(json.dumps({"served": got}))
EOF
expect "connections served, in order" "$(jq -c .served "$tmp/rate.json")" "[true,true,true,true,true,false,false]"
wait_for events_at_least "$r_dir" '.eventid == "trap.session.limit" and .reason == "rate"' 2 ||
  fail "no trap.session.limit of reason rate: $(events_where "$r_dir" '.eventid == "trap.session.limit"')"
echo "ok: the rate per address let 5 connections in and refused the next two"
trap_stop r

# ---- all sessions' memory together: max_memory ----
# dvr-arm's busybox is about 800 KiB, and a copy of it holds 1 MiB (a
# session file's room grows by doubling): one session's two copies pass a
# 2 MiB budget. The next line of any session is then refused (closed before
# it runs), and once those sessions are gone a new one runs again.
trap_start m dvr-arm limits.max_memory=2M login.delay_ms=0
"$py" - "$trap_lib" "$m_port" >"$tmp/memory.json" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1])
from telnet_client import TelnetClient
port = int(sys.argv[2])
res = {}
a = TelnetClient("127.0.0.1", port, timeout=5)
assert a.login("root", "xc3511")
a.run("cp /bin/busybox /tmp/a")
res["a_second_copy"] = a.run("cp /bin/busybox /tmp/b && echo copied")
b = TelnetClient("127.0.0.1", port, timeout=5)
assert b.login("root", "xc3511")
b.send_line("echo b-ran")
res["b_after"] = b.read_all(2).decode("latin-1")
a.send_line("echo a-ran")
res["a_after"] = a.read_all(2).decode("latin-1")
c = TelnetClient("127.0.0.1", port, timeout=5)
assert c.login("root", "xc3511")
res["c"] = c.run("echo c-ran")
c.close()
print(json.dumps(res))
EOF
expect "the second copy within the budget's last line" "$(jq -r .a_second_copy "$tmp/memory.json")" copied
for who in a b; do
  out=$(jq -r ".${who}_after" "$tmp/memory.json")
  [[ "$out" != *"$who-ran"* ]] || fail "session $who ran a line past max_memory: $out"
done
expect "a new session once the memory was given back" "$(jq -r .c "$tmp/memory.json")" c-ran
[ "$(events_count "$m_dir" '.eventid == "trap.session.limit" and .reason == "memory"')" = 2 ] ||
  fail "want 2 trap.session.limit of reason memory: $(events_where "$m_dir" '.eventid == "trap.session.limit"')"
[ "$(events_count "$m_dir" '.eventid == "cowrie.session.closed" and .reason == "memory"')" = 2 ] ||
  fail "want 2 sessions closed for memory: $(events_where "$m_dir" '.eventid == "cowrie.session.closed"')"
[ "$(events_count "$m_dir" '.eventid == "cowrie.command.input" and (.input | test("-ran$")) and .input != "echo c-ran"')" = 0 ] ||
  fail "a line past max_memory became a command.input event"
echo "ok: past max_memory the next lines of two sessions were refused and they were closed; a new session ran"
trap_stop m

# ---- recordings together: [record] max_total, earlier runs' counted ----
mkdir -p "$tmp/t/tty"
head -c 8192 /dev/zero >"$tmp/t/tty/earlier.cast"
trap_start t dvr-arm record.max_total=4K login.delay_ms=0
out=$(telnet_run "$t_port" -u root -P xc3511 "echo unrecorded")
expect "a session past max_total runs" "$(telnet_out "$out" 0)" unrecorded
trap_stop t
[ "$(find "$tmp/t/tty" -name '*.cast' | wc -l)" = 1 ] ||
  fail "a recording was made past max_total: $(ls "$tmp/t/tty")"
[ "$(events_count "$t_dir" '.eventid == "cowrie.log.closed"')" = 0 ] ||
  fail "cowrie.log.closed for a session that was not recorded"
grep -q "not recorded 1" "$tmp/t.log" || fail "the count of sessions not recorded is not logged: $(tail -3 "$tmp/t.log")"
echo "ok: with the earlier recordings over [record] max_total, a new session ran unrecorded"
echo "trap_safety: all checks passed"
