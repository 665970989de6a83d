#!/usr/bin/env bash
# Checks that mamori-trap shows none of Cowrie's known giveaways over
# telnet, for the ARM DVR and the MIPS router: the host name is not svr04;
# /etc/passwd has no users phil or richard; /proc/cpuinfo names the persona's
# CPU and differs between two instances of different seeds in its BogoMIPS
# and Serial lines (and is the same again for the same seed);
# "/bin/busybox FOO" answers exactly "FOO: applet not found" and an unknown
# command exactly "-sh: foo: not found" (not bash's "command not found");
# uname -m agrees with the ELF header of /bin/echo; /proc/uptime advances
# between two reads; the banner and login prompt are the persona's; and a
# wrong password gets "Login incorrect" only after the configured delay; and
# the telnet greeting is byte for byte a real BusyBox telnetd's.
set -euo pipefail
. "$(dirname "$0")/lib/trap.sh"

# persona_value PERSONA KEY: the value of KEY in the persona's persona.conf,
# with its escapes (\n \r \t \\ \e \xHH) decoded, as JSON text.
persona_value() {
  "$py" - "$trap_src/data/trap/personas/$1/persona.conf" "$2" <<'EOF'
import json, re, sys
path, want = sys.argv[1], sys.argv[2]
val = None
for line in open(path, encoding="utf-8"):
    s = line.strip()
    if not s or s[0] in "#;[":
        continue
    k, sep, v = s.partition("=")
    if sep and k.strip() == want:
        val = v.strip()
if val is None:
    sys.exit("no key %s in %s" % (want, path))
if len(val) >= 2 and val[0] == val[-1] == '"':
    val = val[1:-1]
esc = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "e": "\x1b"}
out = re.sub(r"\\(x[0-9a-fA-F]{2}|.)",
             lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "x" and len(m.group(1)) == 3
             else esc.get(m.group(1), "\\" + m.group(1)), val)
print(json.dumps(out))
EOF
}

# The ELF header of /bin/echo as the loader reads it (cat over telnet), and
# the time between a wrong password and "Login incorrect".
probe() {
  "$py" - "$trap_lib" "$1" <<'EOF'
import json, struct, sys, time
sys.path.insert(0, sys.argv[1])
from telnet_client import TelnetClient
port = int(sys.argv[2])
res = {}
c = TelnetClient("127.0.0.1", port)
assert c.login("root", "xc3511"), "root/xc3511 refused"
c.send_line("cat /bin/echo")
raw = c.read_prompt()
k = raw.find(b"\x7fELF")
h = raw[k:k + 20]
res["elf_found"] = k >= 0 and len(h) == 20
if res["elf_found"]:
    res["ei_class"], res["ei_data"] = h[4], h[5]
    res["e_machine"] = struct.unpack("<H" if h[5] == 1 else ">H", h[18:20])[0]
up = []
for i in range(2):
    out = c.run("cat /proc/uptime")
    up.append(float(out.split()[0]))
    if i == 0:
        time.sleep(1.5)
res["uptime"] = up
c.close()
c = TelnetClient("127.0.0.1", port)
c.read_until(b"ogin: ")
c.send_line("root")
c.read_until(b"assword: ")
t0 = time.monotonic()
c.send_line("wrong-password-fp")
got = c.read_until(b"Login incorrect")
res["incorrect_after_s"] = round(time.monotonic() - t0, 3)
res["after_login_incorrect"] = c.read_until(b"ogin: ").decode("latin-1")
c.close()
print(json.dumps(res))
EOF
}

# check_persona NAME PERSONA UNAME_M_PREFIX E_MACHINE CPU_WORD
check_persona() {
  local n=$1 persona=$2 mprefix=$3 machine=$4 cpuword=$5
  local port port2 port3 out out2 out3 host cpu1 cpu2 cpu3 pw pr banner lp
  trap_start "${n}1" "$persona" trap.seed=101 login.delay_ms=700
  trap_start "${n}2" "$persona" trap.seed=202 login.delay_ms=700
  trap_start "${n}3" "$persona" trap.seed=101 login.delay_ms=700
  port=$(eval echo "\$${n}1_port")
  port2=$(eval echo "\$${n}2_port")
  port3=$(eval echo "\$${n}3_port")

  out=$(telnet_run "$port" "cat /etc/hostname" "uname -n" "cat /etc/passwd" "cat /proc/cpuinfo" \
    "/bin/busybox FOO" "foo" "uname -m" "busybox ECCHI")
  expect "$persona: login" "$(jq -r .login <<<"$out")" true
  host=$(telnet_out "$out" 1)
  [ -n "$host" ] || fail "$persona: uname -n printed nothing"
  # /etc/hostname, where the persona has one, holds the same name.
  case "$(telnet_out "$out" 0)" in
  "$host" | "cat: can't open '/etc/hostname': No such file or directory") ;;
  *) fail "$persona: /etc/hostname '$(telnet_out "$out" 0)' is not uname -n '$host'" ;;
  esac
  grep -qw svr04 <<<"$host$(jq -r .prompt <<<"$out")" && fail "$persona: Cowrie's host name svr04: $host"
  pw=$(telnet_out "$out" 2)
  grep -q '^root:' <<<"$pw" || fail "$persona: /etc/passwd has no root: $pw"
  grep -Eq '^(phil|richard):' <<<"$pw" && fail "$persona: /etc/passwd has Cowrie's users: $pw"
  echo "ok: $persona: host name $host, /etc/passwd without phil or richard"

  cpu1=$(telnet_out "$out" 3)
  cpu2=$(telnet_out "$(telnet_run "$port2" "cat /proc/cpuinfo")" 0)
  cpu3=$(telnet_out "$(telnet_run "$port3" "cat /proc/cpuinfo")" 0)
  grep -qi "$cpuword" <<<"$cpu1" || fail "$persona: /proc/cpuinfo does not name $cpuword: $cpu1"
  [ "$cpu1" != "$cpu2" ] || fail "$persona: the same /proc/cpuinfo for seeds 101 and 202"
  [ "$cpu1" = "$cpu3" ] || fail "$persona: /proc/cpuinfo differs for the same seed 101:
$(diff <(echo "$cpu1") <(echo "$cpu3") || true)"
  # BogoMIPS is in every CPU's cpuinfo; Serial in ARM's only (MIPS has none).
  local line varied=""
  for line in BogoMIPS Serial; do
    grep -qi "^$line" <<<"$cpu1" || continue
    [ "$(grep -i "^$line" <<<"$cpu1")" != "$(grep -i "^$line" <<<"$cpu2")" ] ||
      fail "$persona: the $line lines of two seeds are the same: $(grep -i "^$line" <<<"$cpu1")"
    varied="$varied $line"
  done
  [[ "$varied" == *BogoMIPS* ]] || fail "$persona: /proc/cpuinfo has no BogoMIPS line: $cpu1"
  echo "ok: $persona: /proc/cpuinfo names $cpuword, its$varied vary with the seed"

  expect "$persona: /bin/busybox FOO" "$(telnet_out "$out" 4)" "FOO: applet not found"
  expect "$persona: unknown command" "$(telnet_out "$out" 5)" "-sh: foo: not found"
  expect "$persona: busybox ECCHI" "$(telnet_out "$out" 7)" "ECCHI: applet not found"
  [[ "$(telnet_out "$out" 6)" == "$mprefix"* ]] ||
    fail "$persona: uname -m '$(telnet_out "$out" 6)' does not start with $mprefix"

  out2=$(probe "$port")
  expect "$persona: ELF header in cat /bin/echo" "$(jq -r .elf_found <<<"$out2")" true
  expect "$persona: e_machine of /bin/echo" "$(jq -r .e_machine <<<"$out2")" "$machine"
  echo "ok: $persona: applet and command errors are BusyBox's; uname -m $(telnet_out "$out" 6) and /bin/echo's e_machine $machine agree"

  jq -e '.uptime[1] > .uptime[0]' <<<"$out2" >/dev/null ||
    fail "$persona: /proc/uptime did not advance: $(jq -c .uptime <<<"$out2")"
  jq -e '.incorrect_after_s >= 0.6' <<<"$out2" >/dev/null ||
    fail "$persona: Login incorrect came $(jq .incorrect_after_s <<<"$out2") s after the password, before the 0.7 s delay"
  grep -q 'login: $' <<<"$(jq -r .after_login_incorrect <<<"$out2")" ||
    fail "$persona: no login prompt after Login incorrect"
  echo "ok: $persona: uptime advances ($(jq -c .uptime <<<"$out2")), Login incorrect after $(jq .incorrect_after_s <<<"$out2") s"

  # The banner and login prompt, as the persona writes them (LF sent as CR LF).
  banner=$(persona_value "$persona" banner)
  lp=$(persona_value "$persona" login_prompt)
  out3=$(telnet_run "$port" --raw --expect "$(jq -r . <<<"$lp")")
  expect "$persona: login prompt seen" "$(jq -r .found <<<"$out3")" true
  pr=$(jq -r '.data | gsub("\r\n"; "\n")' <<<"$out3")
  [[ "$pr" == *"$(jq -r . <<<"$lp")" ]] || fail "$persona: the data before login does not end with the login prompt: $out3"
  [[ "$pr" == *"$(jq -r . <<<"$banner")"* ]] ||
    fail "$persona: the persona's banner $banner is not in what came before login: $out3"
  echo "ok: $persona: the banner and the login prompt $lp are the persona's"

  trap_stop "${n}1"
  trap_stop "${n}2"
  trap_stop "${n}3"
}

# first_bytes PORT: the first 12 bytes a telnet server sends, in hex (its
# option negotiation, before any text).
first_bytes() {
  "$py" - "$1" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
buf, end = b"", time.time() + 5
while len(buf) < 12 and time.time() < end:
    d = s.recv(12 - len(buf))
    if not d:
        break
    buf += d
print(buf.hex())
EOF
}

# The telnet greeting is a real BusyBox telnetd's, byte for byte: the trap's
# first bytes against busybox-static's telnetd on another loopback port.
bb_port=$(pick_port)
busybox telnetd -F -b "127.0.0.1:$bb_port" -l /bin/true &
pids+=("$!")
for _ in $(seq 50); do
  "$py" -c "import socket,sys; socket.create_connection(('127.0.0.1', $bb_port), 1)" 2>/dev/null && break
  sleep 0.1
done
trap_start greet dvr-arm
bb_greeting=$(first_bytes "$bb_port")
[ "${#bb_greeting}" -eq 24 ] || fail "busybox telnetd sent '$bb_greeting', not 12 bytes of negotiation"
expect "the telnet greeting, against busybox telnetd's" "$(first_bytes "$greet_port")" "$bb_greeting"
echo "ok: the telnet greeting is busybox telnetd's ($bb_greeting)"
trap_stop greet

check_persona dvr dvr-arm arm 40 arm
check_persona router router-mips mips 8 mips
echo "trap_fingerprint: all checks passed"
