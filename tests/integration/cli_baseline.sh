#!/usr/bin/env bash
# Checks `mamori baseline build` against a baseline computed here, file by
# file, with sha256sum and stat: names with tabs, newlines, backslashes and
# control bytes escaped, symbolic links not followed, FIFOs and devices left
# out, modes with set-user-ID bits, sorting by path; --one-file-system on a
# tmpfs mounted inside the tree (in a private mount namespace); files and
# folders that cannot be read (exit 2, named on stderr, the rest still
# listed); a missing ROOTFS (exit 1); and `mamori baseline check`.
set -euo pipefail
export LC_ALL=C
m="${MAMORI_BIN:?}/mamori"
tmp=$(mktemp -d)
cleanup() {
	if mountpoint -q "$tmp/root/mnt" 2>/dev/null; then umount "$tmp/root/mnt" || true; fi
	chmod -R u+rwx "$tmp" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
status() { local want=$1; shift; set +e; "$@"; local got=$?; set -e; [ "$got" = "$want" ] || fail "exit $got, want $want: $*"; }
has() { grep -Fq -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "missing: $2"; }; }

# The escaping the format defines, written independently of the C code.
esc() {
	local s=$1 out="" c i o
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case "$c" in
		$'\t') out+='\t' ;;
		$'\n') out+='\n' ;;
		'\') out+='\\' ;;
		*)
			printf -v o '%d' "'$c"
			if ((o >= 1 && o < 32)); then printf -v c '\\%03o' "$o"; fi
			out+=$c
			;;
		esac
	done
	printf '%s' "$out"
}

# The expected baseline of root $1 (every regular file, symlinks not
# followed; extra find(1) arguments after it), sorted by path bytes.
expect() {
	local root=$1 f rel sum
	shift
	echo "# mamori baseline 1"
	find -P "$root" "$@" -type f -print0 | sort -z | while IFS= read -r -d '' f; do
		rel=${f#"$root"}
		sum=$(sha256sum <"$f" | cut -d' ' -f1)
		printf '%s\t%s\t%s\t%04o\n' "$(esc "$rel")" "$(stat -c %s "$f")" "$sum" "0$(stat -c %a "$f")"
	done
}

r="$tmp/root"
mkdir -p "$r/bin" "$r/etc/init.d" "$r/usr/lib/deep/er/still" "$r/mnt" "$r/dev" "$r/empty"
head -c 200000 /dev/urandom >"$r/bin/busybox"
chmod 0755 "$r/bin/busybox"
printf '#!/bin/sh\necho hi\n' >"$r/etc/init.d/rcS"
chmod 0700 "$r/etc/init.d/rcS"
: >"$r/etc/empty-file"
printf 'x' >"$r/usr/lib/deep/er/still/leaf"
printf 'suid' >"$r/bin/su"
chmod 4755 "$r/bin/su"
printf 'sticky' >"$r/bin/sticky"
chmod 1640 "$r/bin/sticky"
printf 'tab' >"$r/etc/a"$'\t'"b"
printf 'nl' >"$r/etc/new"$'\n'"line"
printf 'bs' >"$r/etc/back\\slash"
printf 'ctl' >"$r/etc/ctl"$'\001'"x"$'\037'
printf 'high' >"$r/etc/caf"$'\xc3\xa9'
printf 'sp' >"$r/etc/sp ace"
ln "$r/bin/busybox" "$r/bin/hardlink"
ln -s busybox "$r/bin/sh"
ln -s /etc "$r/etc/host-etc"      # must not lead out of the tree
ln -s ../usr "$r/bin/usr-link"    # nor be walked as a folder
mkfifo "$r/dev/fifo"              # must neither hang the build nor be listed
if [ "$(id -u)" = 0 ]; then mknod "$r/dev/null-dev" c 1 3; fi

# 1. The whole tree, byte for byte.
"$m" baseline build "$r" >"$tmp/got" 2>"$tmp/err"
expect "$r" >"$tmp/want"
diff -u "$tmp/want" "$tmp/got" || fail "baseline differs from sha256sum/stat"
[ ! -s "$tmp/err" ] || { cat "$tmp/err"; fail "unexpected messages"; }
# Spot checks that do not depend on the helper functions above.
has "$tmp/got" "/bin/su"$'\t'"4	$(printf suid | sha256sum | cut -d' ' -f1)	4755"
has "$tmp/got" "/etc/a\\tb"$'\t'"3	"
has "$tmp/got" "/etc/new\\nline"$'\t'
has "$tmp/got" "/etc/back\\\\slash"$'\t'
has "$tmp/got" "/etc/ctl\\001x\\037"$'\t'
has "$tmp/got" "/bin/sticky"$'\t'"6	$(printf sticky | sha256sum | cut -d' ' -f1)	1640"
has "$tmp/got" "/etc/empty-file"$'\t'"0	e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855	0644"
grep -q -e '^/bin/sh	' -e 'host-etc' -e 'usr-link' -e '^/dev/' "$tmp/got" && fail "a symlink, FIFO or device was listed"
n=$(($(wc -l <"$tmp/got") - 1))
[ "$n" = 13 ] || fail "expected 13 files, got $n"
# Sorted by path, and the same bytes twice.
"$m" baseline build "$r" | cmp - "$tmp/got" || fail "two builds differ"
"$m" baseline build "$r/" | cmp - "$tmp/got" || fail "a trailing slash changes the paths"

# 2. check: the build is valid; broken lines are named.
"$m" baseline check "$tmp/got" >"$tmp/out"
[ "$(cat "$tmp/out")" = "$tmp/got: 13 files" ] || fail "check: $(cat "$tmp/out")"
"$m" baseline check - <"$tmp/got" >"$tmp/out"
[ "$(cat "$tmp/out")" = "<stdin>: 13 files" ] || fail "check stdin: $(cat "$tmp/out")"
sum=$(printf x | sha256sum | cut -d' ' -f1)
while IFS='|' read -r name body want; do
	printf '# mamori baseline 1\n/ok\t1\t%s\t0755\n%b\n' "$sum" "$body" >"$tmp/bad"
	status 1 "$m" baseline check "$tmp/bad" 2>"$tmp/err"
	has "$tmp/err" "$tmp/bad:3: $want"
done <<EOF
three fields|/x\t1\t$sum|fewer than four fields
five fields|/x\t1\t$sum\t0755\tmore|more than four fields
relative path|x\t1\t$sum\t0755|PATH does not begin with /
bad escape|/x\\\\q\t1\t$sum\t0755|PATH holds a bad escape
control byte|/x\001y\t1\t$sum\t0755|PATH holds an unescaped control byte
size|/x\t-1\t$sum\t0755|SIZE is not a decimal number
size range|/x\t18446744073709551616\t$sum\t0755|SIZE is out of range
hash|/x\t1\t${sum:0:63}\t0755|SHA256 is not 64 hex digits
mode|/x\t1\t$sum\t0758|MODE is not an octal number
EOF
printf 'PATH\tSIZE\n' >"$tmp/bad"
status 1 "$m" baseline check "$tmp/bad" 2>"$tmp/err"
has "$tmp/err" "$tmp/bad:1: not a mamori baseline"
status 2 "$m" baseline check "$tmp/none" 2>/dev/null

# 3. Errors: no ROOTFS, a file as ROOTFS, the command line.
status 1 "$m" baseline build "$tmp/none" >"$tmp/out" 2>"$tmp/err"
has "$tmp/err" "$tmp/none"
[ ! -s "$tmp/out" ] || fail "output for a missing ROOTFS"
status 1 "$m" baseline build "$r/bin/busybox" >/dev/null 2>&1
status 2 "$m" baseline build >/dev/null 2>&1
status 2 "$m" baseline build "$r" "$r" >/dev/null 2>&1
status 2 "$m" baseline build --bogus "$r" >/dev/null 2>&1
status 2 "$m" baseline frobnicate "$r" >/dev/null 2>&1
# A tree deeper than the walk goes: the deep part is named and left out, exit 2.
d="$tmp/deep"
p=$(printf 'd/%.0s' $(seq 1 260))
mkdir -p "$d/$p"
printf top >"$d/top"
printf bottom >"$d/${p}bottom"
status 2 "$m" baseline build "$d" >"$tmp/out" 2>"$tmp/err"
has "$tmp/err" "deeper than 256 directories, left out"
[ "$(sed -n 2p "$tmp/out" | cut -f1,2)" = "/top	3" ] && [ "$(wc -l <"$tmp/out")" = 2 ] || fail "deep tree: $(cat "$tmp/out")"
"$m" baseline --help | grep -q "baseline build" || fail "help"
"$m" --help | grep -q "^  baseline " || fail "mamori --help does not list baseline"

if [ "$(id -u)" != 0 ]; then
	echo "not root: the unreadable-file and --one-file-system scenarios are skipped"
	exit 0
fi

# 4. --one-file-system: a tmpfs mounted inside the tree, in a private mount namespace.
unshare -m --propagation private bash -euo pipefail -c '
	r=$1 m=$2 out=$3
	mount -t tmpfs -o size=1m mamori-test "$r/mnt"
	printf "on tmpfs" >"$r/mnt/other"
	"$m" baseline build "$r" >"$out.all"
	"$m" baseline build --one-file-system "$r" >"$out.x"
	"$m" baseline build "$r" -x >"$out.x2"
' _ "$r" "$m" "$tmp/fs"
grep -q "^/mnt/other	8	" "$tmp/fs.all" || fail "a mounted file system was not walked"
cmp "$tmp/fs.x" "$tmp/got" || fail "--one-file-system listed the other file system"
cmp "$tmp/fs.x2" "$tmp/got" || fail "-x after ROOTFS"

# 5. What cannot be read is named, left out and makes the exit 2; the rest is listed.
chmod 0755 "$tmp"
printf 'secret' >"$r/etc/shadow"
chmod 0600 "$r/etc/shadow"
mkdir "$r/root"
printf 'key' >"$r/root/key"
chmod 0700 "$r/root"
status 2 setpriv --reuid=nobody --regid=nogroup --clear-groups "$m" baseline build "$r" >"$tmp/got2" 2>"$tmp/err"
has "$tmp/err" "/etc/shadow: left out"
has "$tmp/err" "/root/: left out"
grep -q -e '/etc/shadow' -e '/root/key' "$tmp/got2" && fail "an unreadable file was listed"
# Everything else: what root sees, minus those two and the files nobody
# cannot read anyway (rcS is 0700, sticky is 1640 root-owned).
grep -v -e '^/etc/shadow	' -e '^/root/key	' -e '^/etc/init.d/rcS	' -e '^/bin/sticky	' \
	<("$m" baseline build "$r") >"$tmp/want2"
diff -u "$tmp/want2" "$tmp/got2" || fail "readable files differ when some are unreadable"
has "$tmp/err" "/etc/init.d/rcS: left out"
echo "ok"
