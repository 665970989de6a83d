#!/usr/bin/env python3
"""Load for bench/trap.sh: many telnet clients at once, on one asyncio loop.

Each client negotiates as Mirai's scanner does (tests/integration/lib/
telnet_client.py does the parsing), so the servers see what bots send.

    trap_load.py idle PORT -n N [--parallel P] [--ready FILE] [--go FILE] [--timeout S]
        opens N connections (P at a time, default 64), each reading until
        the login prompt, and keeps
        them open. Prints "opened=.. prompted=.. failed=.. open_s=..", then
        writes FILE (--ready) and waits until the file --go exists; then
        checks which connections are still open (not closed by the server),
        makes one more connection that logs in and runs a command, and prints
        "still_open=.. closed=.. new_login=0|1".

    trap_load.py rate PORT --kind login|mirai -c CLIENTS -t SECONDS
        [--upload BYTES] [--no-exec] [-u USER] [-P PASS]
        CLIENTS clients, each doing sessions one after another for SECONDS:
        login: connect, log in, "exit", wait until the server closes;
        mirai: the loader's sequence (tests/integration/lib/mirai_replay.py
        lists the steps) with an upload of BYTES (default 4096) in echo -ne
        lines of 128 bytes, each step waiting for "ECCHI: applet not found";
        --no-exec leaves out "./upnp; ./dvrHelper" (for a real device).
        Prints "done=.. failed=.. seconds=.. rate=.. p50_ms=.. p99_ms=..
        client_cpu_s=.." and the first errors on standard error.

Every wait has a timeout (default 20 s); a session past it counts as failed.
"""
import argparse
import asyncio
import os
import random
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration", "lib"))
from telnet_client import TelnetClient, ends_in_prompt  # noqa: E402

TOKEN_QUERY = "/bin/busybox ECCHI"
TOKEN = b"ECCHI: applet not found"
EXEC_TOKEN = b"IHCCE: applet not found"


class _Shim:
    """The socket TelnetClient writes its answers to: the transport."""

    def __init__(self, tr):
        self.tr = tr

    def setsockopt(self, *a):
        pass

    def sendall(self, data):
        self.tr.write(data)

    def close(self):
        self.tr.close()


class Conn(asyncio.Protocol):
    def __init__(self):
        self.tc = None
        self.waiter = None
        self.pred = None
        self.closed = False

    def connection_made(self, tr):
        self.tr = tr
        self.tc = TelnetClient(sock=_Shim(tr))

    def data_received(self, data):
        self.tc.feed(data)
        self._check()

    def connection_lost(self, exc):
        self.closed = True
        self._check()

    def _check(self):
        if self.waiter is None or self.waiter.done():
            return
        if self.pred(self.tc.buf):
            self.waiter.set_result(True)
        elif self.closed:
            self.waiter.set_exception(ConnectionError("closed by the server"))

    async def until(self, pred, timeout):
        self.waiter = asyncio.get_running_loop().create_future()
        self.pred = pred
        self._check()
        await asyncio.wait_for(self.waiter, timeout)

    async def token(self, tok, timeout):
        await self.until(lambda b: tok in b, timeout)
        k = self.tc.buf.find(tok)
        del self.tc.buf[:k + len(tok)]

    async def prompt(self, timeout):
        await self.until(lambda b: ends_in_prompt(b), timeout)
        self.tc.buf.clear()

    async def closed_by_server(self, timeout):
        await self.until(lambda b: self.closed, timeout)

    def line(self, s):
        self.tc.send_line(s)


async def connect(port):
    loop = asyncio.get_running_loop()
    _, c = await loop.create_connection(Conn, "127.0.0.1", port)
    return c


async def login(c, a):
    await c.token(b"ogin: ", a.timeout)
    c.line(a.user)
    await c.token(b"assword: ", a.timeout)
    c.line(a.password)
    await c.prompt(a.timeout)


# ---- idle ----

async def idle(a):
    conns = []
    failed = prompted = 0
    t0 = time.monotonic()
    # Connections being opened at once: a server with a short listen backlog
    # (BusyBox telnetd's is 1) drops SYNs of a larger burst.
    sem = asyncio.Semaphore(a.parallel)

    async def one():
        nonlocal failed, prompted
        async with sem:
            try:
                c = await connect(a.port)
                conns.append(c)
                await c.token(b"ogin: ", a.timeout)
                prompted += 1
            except (OSError, asyncio.TimeoutError, ConnectionError):
                failed += 1

    await asyncio.gather(*(one() for _ in range(a.n)))
    print("opened=%d prompted=%d failed=%d open_s=%.2f" % (len(conns), prompted, failed,
                                                          time.monotonic() - t0), flush=True)
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")
    if a.go:
        end = time.monotonic() + a.hold
        while not os.path.exists(a.go) and time.monotonic() < end:
            await asyncio.sleep(0.1)
    # Let the loop read what the servers did meanwhile (a close, a timeout).
    await asyncio.sleep(0.5)
    still = sum(1 for c in conns if not c.closed)
    ok = 0
    try:
        c = await connect(a.port)
        await login(c, a)
        c.line("echo load-check")
        await c.token(b"load-check\r\n", a.timeout)
        ok = 1
        c.tr.close()
    except (OSError, asyncio.TimeoutError, ConnectionError) as e:
        print("new login failed: %r" % e, file=sys.stderr)
    print("still_open=%d closed=%d new_login=%d" % (still, len(conns) - still, ok), flush=True)
    for c in conns:
        c.tr.close()


# ---- rate ----

def echo_lines(data, per=128):
    out = []
    for n, i in enumerate(range(0, len(data), per)):
        hexs = "".join("\\x%02x" % b for b in data[i:i + per])
        out.append("echo -ne '%s' %s upnp; %s" % (hexs, ">" if n == 0 else ">>", TOKEN_QUERY))
    return out


async def session_login(a, _):
    c = await connect(a.port)
    try:
        await login(c, a)
        c.line("exit")
        await c.closed_by_server(a.timeout)
    finally:
        c.tr.close()


async def session_mirai(a, upload):
    c = await connect(a.port)
    t = a.timeout
    try:
        await login(c, a)
        for w in ("enable", "shell", "sh"):
            c.line(w)
        c.line(TOKEN_QUERY)
        await c.token(TOKEN, t)
        steps = ["/bin/busybox ps; " + TOKEN_QUERY,
                 "/bin/busybox cat /proc/mounts; " + TOKEN_QUERY,
                 "/bin/busybox echo -e '\\x6b\\x61\\x6d\\x69/tmp' > /tmp/.nippon; "
                 "/bin/busybox cat /tmp/.nippon; /bin/busybox rm /tmp/.nippon; " + TOKEN_QUERY]
        for s in steps:
            c.line(s)
            await c.token(TOKEN, t)
        c.line("cd /tmp/")
        c.line("/bin/busybox cp /bin/echo dvrHelper; >dvrHelper; /bin/busybox chmod 777 dvrHelper; "
               + TOKEN_QUERY)
        await c.token(TOKEN, t)
        c.line("/bin/busybox cat /bin/echo")
        c.line(TOKEN_QUERY)
        await c.token(TOKEN, t)
        c.line("/bin/busybox wget; /bin/busybox tftp; " + TOKEN_QUERY)
        await c.token(TOKEN, t)
        c.line("/bin/busybox cp dvrHelper upnp; > upnp; /bin/busybox chmod 777 upnp; " + TOKEN_QUERY)
        await c.token(TOKEN, t)
        for s in upload:
            c.line(s)
            await c.token(TOKEN, t)
        if a.no_exec:
            c.line("/bin/busybox IHCCE")
        else:
            c.line("./upnp; ./dvrHelper bench.arm; /bin/busybox IHCCE")
        await c.token(EXEC_TOKEN, t)
        c.line("rm -rf upnp; > dvrHelper; " + TOKEN_QUERY)
        await c.token(TOKEN, t)
    finally:
        c.tr.close()


async def rate(a):
    rnd = random.Random(1)
    data = bytes(rnd.getrandbits(8) for _ in range(a.upload))
    upload = echo_lines(data)
    fn = session_login if a.kind == "login" else session_mirai
    lat = []
    errors = []
    failed = 0
    t0 = time.monotonic()
    end = t0 + a.seconds

    async def worker():
        nonlocal failed
        while time.monotonic() < end:
            s = time.monotonic()
            try:
                await fn(a, upload)
                lat.append(time.monotonic() - s)
            except (OSError, asyncio.TimeoutError, ConnectionError) as e:
                failed += 1
                if len(errors) < 5:
                    errors.append(repr(e))

    await asyncio.gather(*(worker() for _ in range(a.clients)))
    secs = time.monotonic() - t0
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print("done=%d failed=%d seconds=%.2f rate=%.1f p50_ms=%.1f p99_ms=%.1f client_cpu_s=%.2f"
          % (len(lat), failed, secs, len(lat) / secs, pct(0.5), pct(0.99),
             ru.ru_utime + ru.ru_stime), flush=True)
    for e in errors:
        print("error: " + e, file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("idle", "rate"))
    ap.add_argument("port", type=int)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--ready")
    ap.add_argument("--go")
    ap.add_argument("--hold", type=float, default=600)
    ap.add_argument("--parallel", type=int, default=64)
    ap.add_argument("--kind", choices=("login", "mirai"), default="login")
    ap.add_argument("-c", "--clients", type=int, default=16)
    ap.add_argument("-t", "--seconds", type=float, default=10)
    ap.add_argument("--upload", type=int, default=4096)
    ap.add_argument("--no-exec", action="store_true")
    ap.add_argument("-u", "--user", default="root")
    ap.add_argument("-P", "--password", default="xc3511")
    ap.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(idle(a) if a.mode == "idle" else rate(a))


if __name__ == "__main__":
    main()
