#!/usr/bin/env bash
# Checks `mamori audit` on two prepared root folders. (a) A weak device: a
# shadow file with Mirai credentials (root:xc3511 as yescrypt, support:support
# as SHA-512) and an empty password, telnetd listening on port 23 in the
# audit's own network namespace and started from inittab, sshd allowing root
# password logins, a setuid program, a world-writable /usr/bin, an expired
# SHA-1 certificate, an RSA-1024 certificate with its key readable by all, a
# listed certificate that is missing, a past SUPPORT_END, the agent's state on
# tmpfs with a leftover temporary file and no configuration file: every
# expected finding appears, with its clause and subject, and nothing else.
# (b) A clean device in a fresh network namespace with no listener: no output,
# exit status 0.
set -euo pipefail
export LC_ALL=C
m="${MAMORI_BIN:?}/mamori"
: "${MAMORI_SRC:?}"
py=/usr/bin/python3
tmp=$(mktemp -d)
cleanup() {
	if [ -f "$tmp/telnetd.pid" ]; then
		kill "$(cat "$tmp/telnetd.pid")" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A crypt(3) hash made by libcrypt itself (crypt_gensalt for a random salt,
# then crypt), through Python's ctypes: yescrypt (y) or SHA-512 (6).
hash() {
	"$py" - "$1" "$2" <<'EOF'
import ctypes, sys
lib = ctypes.CDLL("libcrypt.so.1")
lib.crypt_gensalt.restype = ctypes.c_char_p
lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
lib.crypt.restype = ctypes.c_char_p
lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
prefix = {"y": b"$y$", "6": b"$6$"}[sys.argv[1]]
setting = lib.crypt_gensalt(prefix, 0, None, 0)
h = lib.crypt(sys.argv[2].encode(), setting)
assert setting and h and h.startswith(prefix), h
print(h.decode())
EOF
}

# Certificates made with python3-cryptography (validity dates in the past
# need no clock games): cert NAME KEYTYPE NOT_BEFORE NOT_AFTER HASH.
cert() {
	"$py" - "$@" <<'EOF'
import datetime, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
out, kind, nb, na, h = sys.argv[1:6]
key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else \
    rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device " + out.rsplit("/", 1)[-1])])
day = lambda s: datetime.datetime.strptime(s, "%Y-%m-%d")
c = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
     .public_key(key.public_key()).serial_number(x509.random_serial_number())
     .not_valid_before(day(nb)).not_valid_after(day(na))
     .sign(key, {"sha1": hashes.SHA1(), "sha256": hashes.SHA256()}[h]))
open(out + ".crt", "wb").write(c.public_bytes(serialization.Encoding.PEM))
open(out + ".key", "wb").write(key.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
EOF
}

skeleton() {
	local r=$1
	mkdir -p "$r"/etc/ssh "$r"/etc/ssl "$r"/etc/init.d "$r"/bin "$r"/sbin "$r"/usr/bin \
		"$r"/usr/sbin "$r"/var/lib/mamori "$r"/etc/mamori
	chmod 0755 "$r"/bin "$r"/sbin "$r"/usr/bin "$r"/usr/sbin
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
	printf '#!/bin/sh\necho hi\n' >"$r/usr/bin/hello"
	chmod 0755 "$r/usr/bin/hello"
}

# ---- (a) the weak device ----
a="$tmp/a"
skeleton "$a"
yes_root=$(hash y xc3511)
sha_support=$(hash 6 support)
{
	printf 'root:%s:19000:0:99999:7:::\n' "$yes_root"
	printf 'support:%s:19000:0:99999:7:::\n' "$sha_support"
	printf 'guest::19000:0:99999:7:::\n'
	printf 'daemon:*:19000:0:99999:7:::\n'
} >"$a/etc/shadow"
printf '::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/telnetd -F -l /bin/login\n' >"$a/etc/inittab"
printf '# the usual settings\nPermitRootLogin yes\n#PasswordAuthentication no\n' >"$a/etc/ssh/sshd_config"
printf 'ELF' >"$a/usr/sbin/helper"
chmod 4755 "$a/usr/sbin/helper"
chmod 0777 "$a/usr/bin"
cert "$a/etc/ssl/old" ec 2019-01-01 2020-01-01 sha1
cert "$a/etc/ssl/weak" rsa1024 2024-01-01 2099-01-01 sha256
chmod 0644 "$a/etc/ssl/weak.key"
printf 'NAME="Example camera OS"\nVERSION_ID=3.2.1\nSUPPORT_END=2020-06-30\n' >"$a/etc/os-release"

# The audit runs in a network namespace of its own (with a mount namespace,
# for the tmpfs state folder), where a busybox telnetd named telnetd listens
# on port 23 of the loopback interface only.
ln -s "$(command -v busybox)" "$tmp/telnetd"
set +e
unshare -n -m --propagation private bash -s "$tmp" "$m" "$a" >"$tmp/a.jsonl" 2>"$tmp/a.err" <<'EOF'
set -euo pipefail
tmp=$1 m=$2 a=$3
ip link set lo up
mount -t tmpfs -o size=1m tmpfs "$a/var/lib/mamori"
printf 'half' >"$a/var/lib/mamori/.events.jsonl.tmp"
"$tmp/telnetd" -F -p 23 -b 127.0.0.1 -l /bin/false &
echo $! >"$tmp/telnetd.pid"
for _ in $(seq 100); do
	grep -q '^ *[0-9]*: 0100007F:0017 00000000:0000 0A' /proc/net/tcp && break
	sleep 0.05
done
grep -q '^ *[0-9]*: 0100007F:0017 00000000:0000 0A' /proc/net/tcp || { echo "telnetd did not listen" >&2; exit 9; }
set +e
"$m" audit --root "$a" --json --credentials "$MAMORI_SRC/data/credentials.tsv" \
	--cert /etc/ssl/old.crt --cert /etc/ssl/weak.crt --cert /etc/ssl/weak.key \
	--cert /etc/ssl/none.pem --state /var/lib/mamori --config /etc/mamori/mamorid.conf
rc=$?
kill "$(cat "$tmp/telnetd.pid")"
rm -f "$tmp/telnetd.pid"
exit $rc
EOF
rc=$?
set -e
[ "$rc" = 1 ] || { cat "$tmp/a.err" "$tmp/a.jsonl"; fail "(a) exit $rc, want 1"; }

# Each expected finding: id, subject, one clause, and detail members.
"$py" - "$tmp/a.jsonl" <<'EOF' || { cat "$tmp/a.err"; fail "(a) findings"; }
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
JP = "Terminal Equipment Rules Art. 34-10 "
want = [
    # id, subject, clause key, clause, detail members
    ("credential.default", "root", "en303645", "5.1-1",
     {"password": "xc3511", "source": "mirai", "same_user": True}),
    ("credential.default", "support", "psti", "Schedule 1 para 1",
     {"password": "support", "source": "mirai", "file": "/etc/shadow"}),
    ("credential.empty", "guest", "jp", JP + "(1)(2)", {"user": "guest"}),
    ("service.telnet", "tcp/23", "en303645", "5.5-1, 5.6-1",
     {"port": 23, "program": "telnetd", "address": "127.0.0.1"}),
    ("service.telnet.enabled", "/etc/inittab", "jp", JP + "(1)", {}),
    ("ssh.root_password", "sshd", "en303645", "5.1-5, 5.6-7", {"server": "openssh"}),
    ("path.world_writable", "/usr/bin", "en303645", "5.6-7",
     {"mode": "0777", "type": "folder"}),
    ("file.setuid", "/usr/sbin/helper", "en303645", "5.6-7", {"mode": "4755", "owner": 0}),
    ("cert.expired", "/etc/ssl/old.crt", "en303645", "5.5-1",
     {"not_after": "2020-01-01T00:00:00Z"}),
    ("cert.weak_signature", "/etc/ssl/old.crt", "en303645", "5.5-1", {"hash": "SHA1"}),
    ("cert.weak_key", "/etc/ssl/weak.crt", "en303645", "5.5-1", {"key": "RSA 1024"}),
    ("key.weak", "/etc/ssl/weak.key", "en303645", "5.5-1", {"key": "RSA 1024"}),
    ("key.readable", "/etc/ssl/weak.key", "en303645", "5.4-1", {"mode": "0644"}),
    ("cert.missing", "/etc/ssl/none.pem", "en303645", "5.5-1", {}),
    ("device.support_ended", "support_end", "psti", "Schedule 1 para 3",
     {"support_end": "2020-06-30", "firmware": "3.2.1"}),
    ("persist.volatile_state", "/var/lib/mamori", "jp", JP + "(4)", {"fstype": "tmpfs"}),
    ("persist.interrupted_write", "/var/lib/mamori/.events.jsonl.tmp", "en303645", "5.9-2", {}),
    ("persist.config", "/etc/mamori/mamorid.conf", "jp", JP + "(4)", {"state": "missing"}),
]
sev = {"credential.default": "critical", "credential.empty": "critical",
       "service.telnet": "high", "file.setuid": "medium", "key.readable": "high",
       "cert.missing": "low", "device.support_ended": "high"}
bad = []
for wid, subj, ck, cv, det in want:
    m = [r for r in rows if r["id"] == wid and r["subject"] == subj]
    if len(m) != 1:
        bad.append(f"{wid} {subj}: {len(m)} findings")
        continue
    r = m[0]
    if r.get("clauses", {}).get(ck) != cv:
        bad.append(f"{wid} {subj}: clause {ck} is {r.get('clauses')}")
    for k, v in det.items():
        if r.get(k) != v:
            bad.append(f"{wid} {subj}: {k} is {r.get(k)!r}, want {v!r}")
    if wid in sev and r["severity"] != sev[wid]:
        bad.append(f"{wid}: severity {r['severity']}")
    if not r["text"]:
        bad.append(f"{wid}: no text")
extra = [(r["id"], r["subject"]) for r in rows
         if (r["id"], r["subject"]) not in {(w[0], w[1]) for w in want}]
if extra:
    bad.append(f"unexpected findings: {extra}")
if bad:
    print("\n".join(bad), file=sys.stderr)
    for r in rows:
        print(json.dumps(r), file=sys.stderr)
    sys.exit(1)
EOF

# The text form says the same: one line per finding with its clauses.
set +e
"$m" audit --root "$a" --no-listeners --support-end 2020-06-30 >"$tmp/a.txt" 2>/dev/null
rc=$?
set -e
[ "$rc" = 1 ] || fail "(a) text: exit $rc"
grep -Fxq 'critical credential.empty guest: account guest has an empty password in /etc/shadow [EN 303 645 5.1-1; PSTI Schedule 1 para 1; Terminal Equipment Rules Art. 34-10 (1)(2)]' "$tmp/a.txt" ||
	{ cat "$tmp/a.txt"; fail "(a) text line"; }
if grep -q 'service.telnet ' "$tmp/a.txt"; then fail "--no-listeners still looked at listeners"; fi

# ---- (b) the clean device ----
b="$tmp/b"
skeleton "$b"
printf 'root:%s:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n' \
	"$(hash y "$(head -c 18 /dev/urandom | base64)")" >"$b/etc/shadow"
printf '::sysinit:/etc/init.d/rcS\n::respawn:/sbin/getty 115200 ttyS0\n' >"$b/etc/inittab"
printf 'Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n' >"$b/etc/ssh/sshd_config"
mkdir -p "$b/etc/ssh/sshd_config.d"
printf 'PasswordAuthentication no\n' >"$b/etc/ssh/sshd_config.d/10-keys.conf"
cert "$b/etc/mamori/device" ec 2024-01-01 2099-01-01 sha256
chmod 0600 "$b/etc/mamori/device.key"
printf 'NAME="Example camera OS"\nVERSION_ID=4.0.0\nSUPPORT_END=2099-12-31\n' >"$b/etc/os-release"
printf '[agent]\n' >"$b/etc/mamori/mamorid.conf"

set +e
unshare -n "$m" audit --root "$b" --credentials "$MAMORI_SRC/data/credentials.tsv" \
	--config /etc/mamori/mamorid.conf >"$tmp/b.out" 2>"$tmp/b.err"
rc=$?
set -e
[ "$rc" = 0 ] || { cat "$tmp/b.err" "$tmp/b.out"; fail "(b) exit $rc, want 0"; }
[ ! -s "$tmp/b.out" ] || { cat "$tmp/b.out"; fail "(b) printed findings"; }

# The same clean root with PermitRootLogin yes in the included file before
# the main file's "no": sshd takes the first value, so it is a finding.
printf 'PermitRootLogin yes\nPasswordAuthentication yes\n' >"$b/etc/ssh/sshd_config.d/05-root.conf"
set +e
unshare -n "$m" audit --root "$b" --json >"$tmp/b2.out" 2>/dev/null
rc=$?
set -e
[ "$rc" = 1 ] || fail "(b2) exit $rc, want 1"
[ "$(jq -r '.id + " " + .subject' "$tmp/b2.out")" = "ssh.root_password sshd" ] ||
	{ cat "$tmp/b2.out"; fail "(b2) findings"; }

# A root that does not exist is an error (exit 2), not a clean device.
set +e
"$m" audit --root "$tmp/nowhere" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "missing root: exit $rc, want 2"
echo "audit_roots: ok"
