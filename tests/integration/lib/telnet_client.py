#!/usr/bin/env python3
"""A small telnet client for mamori-trap's tests and benchmark.

It speaks on a raw socket and answers option negotiation the way Mirai's
scanner and loader do (bot/scanner.c consume_iacs, loader/src/connection.c
connection_consume_iacs): DO NAWS is answered WILL NAWS and a NAWS
subnegotiation of 80x24, any other DO is refused with WONT, a WILL is
accepted with DO; DONT, WONT and the server's subnegotiations are read and
ignored. IAC IAC is one 0xFF data byte. Everything else is data, kept in
order in `transcript` (bounded by TRANSCRIPT_MAX) and in the read buffer.

As a library:

    c = TelnetClient("127.0.0.1", port)
    c.login("root", "xc3511")          # True when a shell prompt followed
    out = c.run("uname -m")            # the command's output, echo and prompt removed
    c.close()

As a program (one JSON object on standard output):

    telnet_client.py PORT [--host H] [-u USER] [-P PASS] [--timeout S] [CMD...]
        logs in and runs each CMD: {"login": true, "banner": "...",
        "outputs": [{"cmd": ..., "out": ...}], "prompt": "..."}
    telnet_client.py PORT --raw [--expect TEXT]
        prints {"data": "..."}: what the server sent until TEXT (or the
        timeout), before any login

Read timeouts raise TelnetTimeout whose `seen` holds the data read so far, so
that a failing test shows what the server said.
"""
import argparse
import json
import re
import socket
import sys
import time

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
NAWS = 31
TRANSCRIPT_MAX = 8 << 20
# A shell prompt at the end of what was read: "...# ", "...$ ", "...> ".
PROMPT_RE = re.compile(rb"[#$>%] ?$")
# Terminal control sequences (BusyBox ash asks the cursor position with
# ESC [ 6 n after its prompt); left out when looking for a prompt.
CSI_RE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def ends_in_prompt(buf, need_newline=True):
    """Whether buf ends in a shell prompt (on a line of its own when need_newline)."""
    tail = CSI_RE.sub(b"", bytes(buf)).rsplit(b"\n", 1)
    return (len(tail) == 2 or not need_newline) and PROMPT_RE.search(tail[-1]) is not None


class TelnetTimeout(Exception):
    def __init__(self, what, seen):
        super().__init__("timed out waiting for %r; read so far: %r" % (what, seen[-400:]))
        self.seen = seen


class TelnetClosed(Exception):
    def __init__(self, what, seen):
        super().__init__("connection closed waiting for %r; read so far: %r" % (what, seen[-400:]))
        self.seen = seen


class TelnetClient:
    """One telnet connection. Not thread safe; one reader at a time."""

    def __init__(self, host="127.0.0.1", port=23, timeout=10.0, naws=(80, 24), sock=None):
        self.timeout = timeout
        self.naws = naws
        self.sock = sock or socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()          # data not yet consumed by a read_*()
        self.transcript = bytearray()   # all data, bounded
        self.negotiated = []            # (verb, option) pairs the server sent
        self._pend = bytearray()        # a command cut at the end of a read
        self.eof = False

    # ---- the wire ----

    def _reply(self, out, verb, opt):
        if verb == DO:
            if opt == NAWS:
                w, h = self.naws
                out += bytes([IAC, WILL, NAWS])
                out += bytes([IAC, SB, NAWS, w >> 8, w & 255, h >> 8, h & 255, IAC, SE])
            else:
                out += bytes([IAC, WONT, opt])
        elif verb == WILL:
            out += bytes([IAC, DO, opt])

    def feed(self, raw):
        """Parses raw bytes from the server: data to the buffer, answers sent."""
        data = self._pend + raw
        self._pend = bytearray()
        out = bytearray()
        plain = bytearray()
        i, n = 0, len(data)
        while i < n:
            # Plain data up to the next IAC in one piece (a binary sent
            # through cat is megabytes).
            k = data.find(b"\xff", i)
            if k < 0:
                plain += data[i:]
                break
            if k > i:
                plain += data[i:k]
                i = k
            if i + 1 >= n:
                self._pend = bytearray(data[i:])
                break
            c = data[i + 1]
            if c == IAC:
                plain.append(IAC)
                i += 2
            elif c in (DO, DONT, WILL, WONT):
                if i + 2 >= n:
                    self._pend = bytearray(data[i:])
                    break
                self.negotiated.append((c, data[i + 2]))
                self._reply(out, c, data[i + 2])
                i += 3
            elif c == SB:
                # Up to IAC SE; an unfinished one waits for more bytes.
                j = i + 2
                end = -1
                while j + 1 < n:
                    if data[j] == IAC and data[j + 1] == SE:
                        end = j
                        break
                    j += 1 if data[j] != IAC else 2
                if end < 0:
                    self._pend = bytearray(data[i:])
                    break
                i = end + 2
            else:
                i += 2  # NOP, GA, AYT ... carry no data
        if out:
            self.sock.sendall(bytes(out))
        self.buf += plain
        room = TRANSCRIPT_MAX - len(self.transcript)
        if room > 0:
            self.transcript += plain[:room]

    def _recv(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TelnetTimeout(what, bytes(self.buf))
        self.sock.settimeout(left)
        try:
            raw = self.sock.recv(65536)
        except socket.timeout:
            raise TelnetTimeout(what, bytes(self.buf)) from None
        except ConnectionResetError:
            raw = b""
        if not raw:
            self.eof = True
            raise TelnetClosed(what, bytes(self.buf))
        self.feed(raw)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data.replace(b"\xff", b"\xff\xff"))

    def send_line(self, line, eol=b"\r\n"):
        if isinstance(line, str):
            line = line.encode("latin-1")
        self.send(line + eol)

    # ---- reading ----

    def read_until(self, tokens, timeout=None):
        """Reads until one of tokens (bytes, str or a tuple of them) is in the
        buffer; returns the data up to and including it (consumed)."""
        if isinstance(tokens, (bytes, str)):
            tokens = (tokens,)
        toks = [t.encode("latin-1") if isinstance(t, str) else t for t in tokens]
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            best = None
            for t in toks:
                k = self.buf.find(t)
                if k >= 0 and (best is None or k + len(t) < best):
                    best = k + len(t)
            if best is not None:
                out = bytes(self.buf[:best])
                del self.buf[:best]
                return out
            self._recv(deadline, tokens)

    def read_prompt(self, timeout=None, need_newline=True):
        """Reads until the buffer ends in a shell prompt (after a line end when
        need_newline) and no more data comes within 50 ms; returns it all."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if ends_in_prompt(self.buf, need_newline):
                # A prompt-like end may still be followed by more output.
                try:
                    self._recv(min(deadline, time.monotonic() + 0.05), "more")
                    continue
                except TelnetTimeout:
                    out = bytes(self.buf)
                    self.buf.clear()
                    return out
            self._recv(deadline, "a shell prompt")

    def read_all(self, timeout=None):
        """Reads until the server closes or the timeout; returns the buffer."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        try:
            while True:
                self._recv(deadline, "the end")
        except (TelnetTimeout, TelnetClosed):
            pass
        out = bytes(self.buf)
        self.buf.clear()
        return out

    # ---- sessions ----

    def login(self, user, password, login_prompt=b"ogin: ", password_prompt=b"assword: ",
              failed=b"ncorrect", timeout=None):
        """Answers the login and password prompts. Returns True when a shell
        prompt followed, False when the server said the login failed."""
        self.banner = self.read_until(login_prompt, timeout)
        self.send_line(user)
        self.read_until(password_prompt, timeout)
        self.send_line(password)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if failed in self.buf:
                self.read_until(failed, 0.1)
                return False
            if ends_in_prompt(self.buf) and login_prompt not in self.buf.rsplit(b"\n", 1)[-1]:
                self.prompt = self.read_prompt(max(0.1, deadline - time.monotonic()))
                return True
            self._recv(deadline, "a shell prompt or a failed login")

    def run(self, cmd, timeout=None):
        """Sends one command line; returns its output as text with the echoed
        line, CRs and the next prompt removed."""
        self.send_line(cmd)
        raw = self.read_prompt(timeout)
        return strip_output(raw, cmd)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def strip_output(raw, cmd):
    text = CSI_RE.sub(b"", raw).decode("latin-1").replace("\r\n", "\n").replace("\r", "")
    c = cmd if isinstance(cmd, str) else cmd.decode("latin-1")
    if text.startswith(c + "\n"):
        text = text[len(c) + 1:]
    elif text.startswith(c):
        text = text[len(c):]
    k = text.rfind("\n")
    return text[:k + 1] if k >= 0 else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("port", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("-u", "--user", default="root")
    ap.add_argument("-P", "--password", default="xc3511")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--raw", action="store_true")
    ap.add_argument("--expect", default=None)
    ap.add_argument("cmds", nargs="*")
    # Options may come between the port and the commands.
    a = ap.parse_intermixed_args()
    c = TelnetClient(a.host, a.port, a.timeout)
    res = {}
    try:
        if a.raw:
            if a.expect:
                try:
                    res["data"] = c.read_until(a.expect).decode("latin-1")
                    res["found"] = True
                except (TelnetTimeout, TelnetClosed) as e:
                    res["data"] = e.seen.decode("latin-1")
                    res["found"] = False
            else:
                res["data"] = c.read_all().decode("latin-1")
        else:
            ok = c.login(a.user, a.password)
            res["login"] = ok
            res["banner"] = c.banner.decode("latin-1")
            res["outputs"] = []
            if ok:
                res["prompt"] = c.prompt.decode("latin-1")
                for cmd in a.cmds:
                    res["outputs"].append({"cmd": cmd, "out": c.run(cmd)})
        res["negotiated"] = [[v, o] for v, o in c.negotiated]
    finally:
        c.close()
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
