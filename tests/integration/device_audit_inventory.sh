#!/usr/bin/env bash
# Checks that mamorid itself audits the device and sends its SBOM when it
# starts: on a device whose root password is one of Mirai's, whose support
# period has ended and that runs a telnetd, the events file holds an
# audit.finding for each (with its EN 303 645 clause), an audit.completed
# that counts them, and inventory.sbom parts whose BOMs validate against the
# CycloneDX 1.5 schema and list BusyBox with the version the binary prints;
# STATE/device keeps audit.json and sbom.cdx.json, each whole (written by
# rename); and a second start on an unchanged device sends the same SBOM
# digest again (once per start).
set -euo pipefail
. "$(dirname "$0")/lib/guard.sh"

schemas="$guard_srcdir/tests/schema/cyclonedx"
[ -f "$schemas/bom-1.5.schema.json" ] || fail "no $schemas/bom-1.5.schema.json"
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || fail "python3-jsonschema is not installed (scripts/deps.sh)"

guard_rootfs
r=$guard_root
hash=$(openssl passwd -6 -salt Qx7Rr2mL xc3511)
cat >"$r/etc/shadow" <<EOF
root:$hash:19000:0:99999:7:::
user:!:19000:0:99999:7:::
EOF
chmod 600 "$r/etc/shadow"
cat >"$r/etc/os-release" <<'EOF'
NAME="Guard IT Linux"
ID=guardit
VERSION_ID=1.4.2
SUPPORT_END=2024-03-31
EOF
guard_write_conf "mode = monitor" "heartbeat = 60" <<EOF
[policy]
root = $r

[detect]
enabled = no
EOF
guard_args=(--no-behaviour)

sc_wait() {
  wait_ev 1 --event audit.completed || { echo "no audit.completed"; exit 1; }
  wait_ev 1 --event inventory.sbom || { echo "no inventory.sbom"; exit 1; }
}
# guard_before runs before mamorid starts, inside the namespaces: telnetd
# listens before the first audit looks.
start_telnetd() {
  chroot "$guard_root" telnetd -F -p 23 -l /bin/sh &
  echo $! >"$guard_out/telnetd.pid"
  local i
  for i in $(seq 1 50); do
    ss -ltn | grep -q ':23 ' && return 0
    sleep 0.1
  done
  echo "telnetd did not listen"
  exit 1
}
guard_before=start_telnetd
guard_run sc_wait
first_digest=$(ev --event inventory.sbom field detail.sha256 | sort -u)

# The audit's findings, each with its clause.
for id in credential.default service.telnet device.support_ended; do
  [ "$(ev --event audit.finding --reason "$id" count)" -ge 1 ] ||
    fail "no audit.finding $id: $(ev --event audit.finding field reason | tr '\n' ' ')"
done
expect "credential.default subject" "$(ev --event audit.finding --reason credential.default one detail.subject)" root
expect "credential.default clause" "$(ev --event audit.finding --reason credential.default one detail.clauses.en303645 | grep -o '5\.1-1' | head -n1)" 5.1-1
expect "credential.default severity" "$(ev --event audit.finding --reason credential.default one detail.severity)" critical
expect "support_ended clause" "$(ev --event audit.finding --reason device.support_ended one detail.clauses.en303645 | grep -o '5\.3-13' | head -n1)" 5.3-13
n=$(ev --event audit.finding count)
expect "audit.completed counts the findings" "$(ev --event audit.completed one detail.findings)" "$n"
expect "audit.json lists them" "$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["list"]))' "$guard_state/device/audit.json")" "$n"

# The SBOM: every part valid, together the whole file, BusyBox's version right.
ev --event inventory.sbom json >"$T/sbom-events.jsonl"
bb_version=$("$guard_busybox" 2>&1 | head -n1 | grep -o 'v[0-9][0-9.]*' | head -n1 | tr -d v)
/usr/bin/python3 - "$schemas" "$T/sbom-events.jsonl" "$guard_state/device/sbom.cdx.json" "$bb_version" <<'EOF'
import json, os, sys
import jsonschema
d, events, whole, bbv = sys.argv[1:5]
store = {}
for f in os.listdir(d):
    if f.endswith(".json"):
        s = json.load(open(os.path.join(d, f)))
        if "$id" in s:
            store[s["$id"]] = s
        store[f] = s
schema = json.load(open(os.path.join(d, "bom-1.5.schema.json")))
resolver = jsonschema.RefResolver(base_uri=schema.get("$id", ""), referrer=schema, store=store)
v = jsonschema.Draft7Validator(schema, resolver=resolver)
parts = [json.loads(l)["detail"] for l in open(events)]
n = parts[0]["parts"]
if sorted(p["part"] for p in parts) != list(range(1, n + 1)):
    sys.exit("parts %s of %d" % ([p["part"] for p in parts], n))
names = []
for p in parts:
    v.validate(p["bom"])
    names += [c["name"] for c in p["bom"].get("components", [])]
full = json.load(open(whole))
v.validate(full)
if sorted(names) != sorted(c["name"] for c in full.get("components", [])):
    sys.exit("the parts' components differ from sbom.cdx.json's")
bb = [c for c in full["components"] if c["name"] == "busybox"]
if not bb or bb[0].get("version") != bbv:
    sys.exit("busybox component %s, want version %s" % (bb, bbv))
print("ok: %d SBOM part(s), %d components, busybox %s" % (n, len(names), bbv))
EOF

# A second start on the same device: the same digest, sent again once.
mv "$guard_state/events.jsonl" "$T/events.first.jsonl"
guard_run sc_wait
expect "digest after a restart" "$(ev --event inventory.sbom field detail.sha256 | sort -u)" "$first_digest"
echo "ok: mamorid audited the device (${n} findings) and sent a valid SBOM"
