#!/usr/bin/env bash
# Checks that `mamori inventory` writes a CycloneDX 1.5 SBOM that validates
# against the shipped schema and says what the root holds: (a) a prepared
# root with os-release (an absolute symlink, resolved inside the root), a
# dpkg status of three packages (one not installed), a BusyBox copied from
# the host with applets as symlinks (relative and absolute) and a hard
# link, and a same-content copy that is not an applet; (b) a root with an
# opkg status; (c) the host's own root, against dpkg-query; (d) the
# serialNumber stays with the content and changes when a package is added;
# -o writes through a rename; --split parts are each a valid BOM whose
# components add up to the whole.
set -euo pipefail
export LC_ALL=C
m="${MAMORI_BIN:?}/mamori"
src="${MAMORI_SRC:?}"
py=/usr/bin/python3
tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x /bin/busybox ] || fail "/bin/busybox (busybox-static) is needed"
$py -c 'import jsonschema' || fail "python3-jsonschema is needed"
# What `busybox | head -1` shows, read whole (head would end busybox with SIGPIPE).
bbver=$(/bin/busybox 2>&1 | sed -n '1s/^BusyBox v\([^ ]*\).*/\1/p')
[ -n "$bbver" ] || fail "no version from /bin/busybox"
mver=$(sed -n 's/^project(mamori VERSION \([^ )]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$mver" ] || fail "no project version in CMakeLists.txt"

# The checker: validates each BOM given (one JSON document per file, or one
# per line with --lines) against the schema, with the two referenced schemas
# found by their $id in a local store (a fetch would fail the test), then
# runs the named assertions on the content.
cat >"$tmp/check.py" <<'EOF'
import json, os, sys
import jsonschema

schema_dir, what, path = sys.argv[1], sys.argv[2], sys.argv[3]
args = sys.argv[4:]

def load(n):
    with open(os.path.join(schema_dir, n)) as f:
        return json.load(f)

bom_schema = load("bom-1.5.schema.json")
store = {}
for n in ("bom-1.5.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"):
    s = load(n)
    store[s["$id"]] = s

def no_fetch(uri):
    raise RuntimeError("schema reference left the store: " + uri)

resolver = jsonschema.RefResolver.from_schema(
    bom_schema, store=store, handlers={"http": no_fetch, "https": no_fetch})
validator = jsonschema.Draft7Validator(bom_schema, resolver=resolver)

def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)

def valid(doc, name):
    errs = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    for e in errs[:5]:
        print("schema:", name, list(e.path), e.message[:300], file=sys.stderr)
    if errs:
        fail("%s: %d schema errors" % (name, len(errs)))
    if doc.get("bomFormat") != "CycloneDX" or doc.get("specVersion") != "1.5":
        fail("%s: not a CycloneDX 1.5 BOM" % name)

def props(c, name):
    return [p["value"] for p in c.get("properties", []) if p["name"] == name]

def by_ref(doc):
    refs = [c["bom-ref"] for c in doc["components"]]
    if len(refs) != len(set(refs)):
        fail("bom-refs are not unique")
    return {c["bom-ref"]: c for c in doc["components"]}

if what == "split":
    whole = json.load(open(args[0]))
    limit = int(args[1])
    lines = open(path, "rb").read().splitlines()
    if len(lines) < 2:
        fail("split into %d parts, want several" % len(lines))
    got = []
    for i, line in enumerate(lines, 1):
        if len(line) > limit:
            fail("part %d is %d bytes, over %d" % (i, len(line), limit))
        part = json.loads(line)
        valid(part, "part %d" % i)
        if part["serialNumber"] != whole["serialNumber"]:
            fail("part %d has another serialNumber" % i)
        if props(part, "mamori:part") != ["%d/%d" % (i, len(lines))]:
            fail("part %d: mamori:part %s" % (i, props(part, "mamori:part")))
        if part["metadata"]["component"] != whole["metadata"]["component"]:
            fail("part %d: another metadata.component" % i)
        got += part["components"]
    if got != whole["components"]:
        fail("the parts' components are not the whole's")
    print("split: %d parts" % len(lines))
    sys.exit(0)

doc = json.load(open(path))
valid(doc, path)
comps = by_ref(doc)
if what == "serial":
    print(doc["serialNumber"])
    sys.exit(0)

# mamorid's own component and the libraries it was built with.
me = comps.get("mamori")
if me is None or me.get("version") != args[0] or me.get("type") != "application":
    fail("mamori component: %s" % me)
if "mamori/openssl" not in comps or "mamori/jansson" not in comps:
    fail("mamori's libraries are missing")
dep = [d for d in doc.get("dependencies", []) if d["ref"] == "mamori"]
if not dep or "mamori/openssl" not in dep[0]["dependsOn"]:
    fail("mamori's dependencies: %s" % dep)
if doc["metadata"]["tools"]["components"][0]["name"] != "mamorid":
    fail("metadata.tools")
pkgs = {c["name"] + " " + c.get("version", "") + " " + c["purl"]
        for c in doc["components"] if props(c, "mamori:package-manager")}

if what == "dpkg":
    bbver = args[1]
    osc = comps.get("os")
    if osc is None or (osc["type"], osc["name"], osc.get("version")) != (
            "operating-system", "testix", "3.1"):
        fail("os component: %s" % osc)
    if props(osc, "mamori:os-release:PRETTY_NAME") != ["Testix 3.1 (tango)"]:
        fail("os-release properties: %s" % osc.get("properties"))
    if osc.get("cpe") != "cpe:/o:testix:testix:3.1":
        fail("os cpe: %s" % osc.get("cpe"))
    want = {
        "zlib1g 1:1.2.13.dfsg-1 pkg:deb/testix/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=tango",
        "libfoo+plus 2.0+deb1 pkg:deb/testix/libfoo%2Bplus@2.0%2Bdeb1?arch=all&distro=tango",
    }
    if pkgs != want:
        fail("packages: %s, want %s" % (sorted(pkgs), sorted(want)))
    z = [c for c in doc["components"] if c["name"] == "zlib1g"][0]
    if z.get("description") != "compression library - runtime":
        fail("zlib1g description: %r" % z.get("description"))
    if z.get("supplier") != {"name": "Mark Brown",
                             "contact": [{"name": "Mark Brown", "email": "broonie@debian.org"}]}:
        fail("zlib1g supplier: %s" % z.get("supplier"))
    if z.get("externalReferences") != [{"type": "website", "url": "https://zlib.net/"}]:
        fail("zlib1g homepage: %s" % z.get("externalReferences"))
    if props(z, "mamori:source") != ["zlib"]:
        fail("zlib1g source: %s" % props(z, "mamori:source"))
    bb = comps.get("busybox")
    if bb is None or bb.get("version") != bbver:
        fail("busybox: %s, want version %s" % (bb and bb.get("version"), bbver))
    applets = props(bb, "mamori:busybox:applet")
    if applets != ["cat", "echo", "ls", "sh"]:
        fail("applets: %s" % applets)
    if bb["hashes"][0]["content"] != args[2]:
        fail("busybox sha256 %s, want %s" % (bb["hashes"][0]["content"], args[2]))
    md = doc["metadata"]["component"]
    if (md["type"], md["name"], md.get("version")) != ("device", "cam-0042", "7.2"):
        fail("metadata.component: %s" % md)
elif what == "opkg":
    want = {
        "libc 1.2.4-4 pkg:generic/libc@1.2.4-4?arch=mipsel_24kc",
        "dropbear 2022.82-6 pkg:generic/dropbear@2022.82-6?arch=mipsel_24kc",
    }
    if pkgs != want:
        fail("packages: %s, want %s" % (sorted(pkgs), sorted(want)))
    if "busybox" in comps:
        fail("a BusyBox where there is none")
    if comps["os"]["name"] != "openwrt" or doc["metadata"]["component"].get("version") != "23.05.3":
        fail("os / firmware: %s %s" % (comps["os"], doc["metadata"]["component"]))
elif what == "host":
    # Every package dpkg-query lists as installed, and no other.
    want = set()
    for line in open(args[1]):
        name, ver, arch = line.split()
        want.add((name, ver, arch))
    got = set()
    for c in doc["components"]:
        if props(c, "mamori:package-manager") == ["dpkg"]:
            arch = c["purl"].split("?arch=")[1].split("&")[0]
            got.add((c["name"], c["version"], arch))
    if got != want:
        fail("host packages differ from dpkg-query: %d vs %d, e.g. %s %s" % (
            len(got), len(want), sorted(got - want)[:3], sorted(want - got)[:3]))
    print("host: %d packages" % len(got))
else:
    fail("unknown check " + what)
print(what + ": ok")
EOF
check() { $py "$tmp/check.py" "$src/tests/schema/cyclonedx" "$@"; }

# (a) a prepared root with dpkg.
r="$tmp/root"
mkdir -p "$r/etc" "$r/usr/lib" "$r/var/lib/dpkg" "$r/bin" "$r/sbin" "$r/usr/bin"
cat >"$r/usr/lib/os-release" <<'EOF'
NAME="Testix"
ID=testix
VERSION_ID="3.1"
VERSION_CODENAME=tango
PRETTY_NAME="Testix 3.1 (tango)"
CPE_NAME="cpe:/o:testix:testix:3.1"
EOF
ln -s /usr/lib/os-release "$r/etc/os-release"
cat >"$r/var/lib/dpkg/status" <<'EOF'
Package: gone
Status: deinstall ok config-files
Priority: optional
Architecture: amd64
Version: 1.0-1
Description: removed, only its configuration stays

Package: libfoo+plus
Status: install ok installed
Architecture: all
Version: 2.0+deb1
Description: a name and version with plus signs

Package: zlib1g
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 168
Maintainer: Mark Brown <broonie@debian.org>
Architecture: amd64
Multi-Arch: same
Source: zlib
Version: 1:1.2.13.dfsg-1
Provides: libz1
Depends: libc6 (>= 2.14)
Description: compression library - runtime
 zlib is a library implementing the deflate compression method found
 in gzip and PKZIP.
 Package: not-a-package
 Version: 6.6.6
Homepage: https://zlib.net/
EOF
cp /bin/busybox "$r/bin/busybox"
ln -s busybox "$r/bin/ls"
ln -s /bin/busybox "$r/bin/sh"
ln -s ../../bin/busybox "$r/usr/bin/cat"
ln "$r/bin/busybox" "$r/sbin/echo"
cp /bin/busybox "$r/usr/bin/decoy" # same bytes, another file: not an applet
ln -s /bin/missing "$r/usr/bin/dangling"
bbsha=$(sha256sum </bin/busybox | cut -d' ' -f1)

"$m" inventory --root "$r" --device cam-0042 --firmware 7.2 >"$tmp/a.json"
check dpkg "$tmp/a.json" "$mver" "$bbver" "$bbsha"

# -o: the file appears whole through a rename, no .tmp stays.
"$m" inventory --root "$r" --device cam-0042 --firmware 7.2 -o "$tmp/out.json"
if [ ! -s "$tmp/out.json" ] || [ -e "$tmp/out.json.tmp" ]; then fail "-o did not write out.json"; fi
check dpkg "$tmp/out.json" "$mver" "$bbver" "$bbsha"

# --split: each part a valid BOM under the bound; together the whole.
"$m" inventory --root "$r" --device cam-0042 --firmware 7.2 --compact >"$tmp/whole.json"
"$m" inventory --root "$r" --device cam-0042 --firmware 7.2 --split 2500 >"$tmp/parts.jsonl"
check split "$tmp/parts.jsonl" "$tmp/whole.json" 2500
set +e
"$m" inventory --root "$r" --split 600 >/dev/null 2>"$tmp/err"
st=$?
set -e
if [ "$st" != 1 ] || ! grep -q "larger than" "$tmp/err"; then
	cat "$tmp/err"
	fail "--split 600: exit $st"
fi

# (b) a root with opkg (OpenWrt's place for the status file), no BusyBox.
o="$tmp/owrt"
mkdir -p "$o/etc" "$o/usr/lib/opkg"
printf 'NAME="OpenWrt"\nID="openwrt"\nVERSION_ID="23.05.3"\n' >"$o/etc/os-release"
cat >"$o/usr/lib/opkg/status" <<'EOF'
Package: libc
Version: 1.2.4-4
Depends: libgcc1
Status: install user installed
Architecture: mipsel_24kc
Installed-Time: 1700000000

Package: kmod-gone
Version: 5.15.150-1
Status: install user not-installed
Architecture: mipsel_24kc

Package: dropbear
Version: 2022.82-6
Depends: libc
Status: install ok installed
Architecture: mipsel_24kc
Conffiles:
 /etc/config/dropbear 0123456789abcdef
Installed-Time: 1700000001
EOF
"$m" inventory --root "$o" >"$tmp/b.json"
check opkg "$tmp/b.json" "$mver"

# (c) the host's own SBOM validates and lists what dpkg-query says is installed.
# A package install running beside the test changes the status file between
# the two readings: then both are read again (a few times at most).
for try in 1 2 3; do
	before=$(sha256sum </var/lib/dpkg/status)
	"$m" inventory --root / >"$tmp/c.json"
	dpkg-query -W -f '${db:Status-Status} ${Package} ${Version} ${Architecture}\n' |
		awk '$1 == "installed" { print $2, $3, $4 }' >"$tmp/dpkg.txt"
	[ "$before" = "$(sha256sum </var/lib/dpkg/status)" ] && break
	[ "$try" != 3 ] || fail "/var/lib/dpkg/status kept changing"
	sleep 5
done
check host "$tmp/c.json" "$mver" "$tmp/dpkg.txt"

# (d) the serialNumber follows the content, not the time of the run.
s1=$(check serial "$tmp/a.json" "$mver")
s2=$(check serial "$tmp/out.json" "$mver")
[ "$s1" = "$s2" ] || fail "two runs: $s1 and $s2"
printf '\nPackage: newpkg\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n' \
	>>"$r/var/lib/dpkg/status"
"$m" inventory --root "$r" --device cam-0042 --firmware 7.2 >"$tmp/d.json"
s3=$(check serial "$tmp/d.json" "$mver")
[ "$s3" != "$s1" ] || fail "a package was added and the serialNumber stayed $s1"
grep -q '"pkg:deb/testix/newpkg@1?arch=all&distro=tango"' "$tmp/d.json" || fail "newpkg missing"
echo "inventory_sbom: ok"
