#!/usr/bin/env bash
# Checks that mamori-soc keeps serving good senders while it is fed
# malformed input, and counts everything it refuses: random bytes over TCP
# and UDP, oversized frames (LF, octet-counted, datagrams), invalid UTF-8,
# deeply nested JSON in an X1367 MSG, slow-loris clients that send one byte
# a second, and 10,000 connections opened and dropped. Meanwhile a good
# sender writes one message every 50 ms over TCP and UDP; after every phase
# each good TCP message sent so far must be in the store. Every attacking
# input must be accounted for, one store row (event or dead letter) per
# frame as RFC 6587 cuts it (a model of the framing in the test computes
# how many), and the counters must say the same. The daemon's resident
# memory may grow by at most RSS_GROWTH_MB over its size after warm-up.
#
# Why 64 MiB: the attack never holds more than about 30 connections open at
# once; each is bounded by conn_buffer (256 KiB) plus one held frame and a
# chunk (max_msg + ~100 KiB), about 11 MiB together. The queue drains as
# the attack goes; SQLite's page caches (two handles) are a few MiB, and an
# ASan build keeps freed memory in an 8 MiB quarantine (set below). Twice
# that sum, rounded up, leaves room for allocator slack without hiding a
# leak per connection (10,000 connections) or per frame.
set -euo pipefail
. "$(dirname "$0")/lib/peers.sh"
. "$(dirname "$0")/lib/soc.sh"
command -v python3 >/dev/null || fail "python3 is not installed"

RSS_GROWTH_MB=${RSS_GROWTH_MB:-64}
MAX_MSG=16384
FIRST_MESSAGE_S=3

store="sqlite:$tmp/soc.db"
p_tcp=$(pick_port)
p_udp=$(pick_port)
cat >"$tmp/soc.conf" <<EOF
[soc]
max_msg = $MAX_MSG
[limits]
first_message = ${FIRST_MESSAGE_S}s
idle = 30s
EOF
# An ASan build would otherwise keep up to 256 MiB of freed memory.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
start_soc soc -f "$tmp/soc.conf" --store "$store" \
  --listen "tcp://127.0.0.1:$p_tcp" --listen "udp://127.0.0.1:$p_udp"
udp_bound "$p_udp" || fail "mamori-soc did not bind UDP $p_udp"

cat >"$tmp/attack.py" <<'EOF'
import json, os, random, socket, sqlite3, sys, threading, time, urllib.request

api, db_path, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
p_tcp, p_udp = int(sys.argv[4]), int(sys.argv[5])
max_msg, first_s, growth_mb = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
HOST = "127.0.0.1"
HDR = b"<13>1 2024-05-01T10:00:00Z %s app - %s - "

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    os._exit(1)

def counters():
    with urllib.request.urlopen(api + "/api/v1/counters", timeout=10) as r:
        return json.load(r)["counters"]

def rss_kb():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    fail("mamori-soc is gone")

def q(sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchone()[0]
    finally:
        db.close()

def wait(what, fn, secs=60):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if fn():
            return
        time.sleep(0.1)
    fail("timed out waiting for " + what)

def rows_of(peer):
    return q("SELECT (SELECT count(*) FROM events WHERE peer = ?) + "
             "(SELECT count(*) FROM dead_letters WHERE peer = ?)", peer, peer)

def peer_of(s):
    a, p = s.getsockname()[:2]
    return "%s:%d" % (a, p)

def frames(data):
    """What RFC 6587 framing in rsyslog's auto mode (and mm_frame) makes of
    a stream: a list of "ok", "over" and "bad", one per frame."""
    out, i, n = [], 0, len(data)
    while i < n:
        c = data[i]
        if 0x30 <= c <= 0x39:
            j = i
            while j < n and 0x30 <= data[j] <= 0x39:
                j += 1
            digits = data[i:j]
            if j < n and data[j] == 0x20 and digits[:1] != b"0" and int(digits) < 2**64:
                want = int(digits)
                # An oversized frame is reported once its first max_msg
                # bytes are in, and the rest is skipped; a stream that ends
                # before that ends inside the frame.
                if j + 1 + min(want, max_msg) > n:
                    out.append("bad")
                    break
                out.append("over" if want > max_msg else "ok")
                if j + 1 + want > n:
                    break
                i = j + 1 + want
                continue
            lf = data.find(b"\n", i)
            out.append("bad")  # a count that is not one: dropped up to the LF
            if lf < 0:
                break
            i = lf + 1
            continue
        lf = data.find(b"\n", i)
        seg = (lf if lf >= 0 else n) - i
        if seg > max_msg:
            out.append("over")
        elif seg > 0:
            out.append("ok")
        if lf < 0:
            break
        i = lf + 1
    return out

# ---- the good sender ----
base_kb = None  # VmRSS after warm-up
good = {"tcp": 0, "udp": 0, "stop": False, "err": None}

def good_sender():
    try:
        t = socket.create_connection((HOST, p_tcp))
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while not good["stop"]:
            m = HDR % (b"good-host", b"-") + b"good-tcp %d" % good["tcp"]
            t.sendall(b"%d %s" % (len(m), m))
            good["tcp"] += 1
            u.sendto(HDR % (b"good-host", b"-") + b"good-udp %d" % good["udp"], (HOST, p_udp))
            good["udp"] += 1
            time.sleep(0.05)
        t.close()
    except Exception as e:  # reported by the main thread
        good["err"] = repr(e)

def good_arrived(phase):
    if good["err"]:
        fail("the good sender failed in %s: %s" % (phase, good["err"]))
    sent = good["tcp"]
    wait("the good sender's messages after " + phase,
         lambda: q("SELECT count(DISTINCT msg) FROM events WHERE msg LIKE 'good-tcp %' "
                   "AND CAST(substr(msg, 10) AS INTEGER) < ?", sent) == sent)
    kb = rss_kb()
    print("ok: %s; %d good TCP messages stored so far; VmRSS %d kB" % (phase, sent, kb))
    if base_kb is not None and kb > base_kb + growth_mb * 1024:
        fail("VmRSS %d kB after %s: more than %d MiB over %d kB" % (kb, phase, growth_mb, base_kb))

def delta(c0, c1, *names):
    return sum(c1[n] - c0[n] for n in names)

def tcp_stream(data, chunks=1):
    """Sends data on one connection, closes it; returns the peer."""
    s = socket.create_connection((HOST, p_tcp))
    peer = peer_of(s)
    step = max(1, len(data) // chunks)
    for k in range(0, len(data), step):
        s.sendall(data[k:k + step])
    s.close()
    return peer

def expect_rows(peer, n, what):
    wait("%d rows of %s" % (n, what), lambda: rows_of(peer) >= n)
    got = rows_of(peer)
    if got != n:
        fail("%s: %d store rows for %s, expected %d" % (what, got, peer, n))

threading.Thread(target=good_sender, daemon=True).start()
time.sleep(2)
good_arrived("warm-up")
base_kb = rss_kb()
rnd = random.Random(1367)
dead_rows0 = q("SELECT count(*) FROM dead_letters")
c_start = counters()

# ---- random bytes ----
c0 = counters()
blob = open("/dev/urandom", "rb").read(256 * 1024)
fr = frames(blob)
peer = tcp_stream(blob, chunks=64)
expect_rows(peer, len(fr), "random bytes over TCP")
c1 = counters()
if delta(c0, c1, "frames_oversized") != fr.count("over") or \
   delta(c0, c1, "frames_malformed") != fr.count("bad"):
    fail("random TCP: counted %d oversized, %d malformed; the framing makes %d, %d" %
         (delta(c0, c1, "frames_oversized"), delta(c0, c1, "frames_malformed"),
          fr.count("over"), fr.count("bad")))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((HOST, 0))
upeer = peer_of(u)
for k in range(200):
    u.sendto(os.urandom(rnd.randint(1, 1400)), (HOST, p_udp))
    time.sleep(0.002)
u.close()
wait("200 random datagrams (less what the kernel dropped)",
     lambda: rows_of(upeer) + delta(c0, counters(), "udp_dropped") >= 200)
print("ok: random bytes: %d TCP frames (%d oversized, %d malformed), %d datagrams, one row each" %
      (len(fr), fr.count("over"), fr.count("bad"), rows_of(upeer)))
good_arrived("random bytes")

# ---- oversized frames ----
c0 = counters()
big = b"Z" * (100 * 1024)
data = b""
for k in range(5):
    data += big + b"\n" + HDR % (b"dev", b"-") + b"after oversized LF %d\n" % k
    data += b"%d %s" % (len(big), big) + HDR % (b"dev", b"-") + b"after oversized count %d\n" % k
peer = tcp_stream(data, chunks=50)
expect_rows(peer, 20, "oversized frames")
if q("SELECT count(*) FROM dead_letters WHERE peer = ? AND reason = 'frame too large' "
     "AND length(raw) <= 4096", peer) != 10:
    fail("oversized frames: not 10 dead letters 'frame too large' of at most 4096 bytes")
if q("SELECT count(*) FROM events WHERE peer = ? AND msg LIKE 'after oversized %'", peer) != 10:
    fail("oversized frames: the frames after them were not all stored")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((HOST, 0))
upeer = peer_of(u)
for k in range(5):
    u.sendto(b"Q" * (max_msg + 1000), (HOST, p_udp))
u.close()
expect_rows(upeer, 5, "oversized datagrams")
if q("SELECT count(*) FROM dead_letters WHERE peer = ? AND orig_len = ?", upeer, max_msg + 1000) != 5:
    fail("oversized datagrams: no 5 dead letters with their real length")
c1 = counters()
if delta(c0, c1, "frames_oversized") != 15:
    fail("oversized: counter says %d, sent 15" % delta(c0, c1, "frames_oversized"))
good_arrived("oversized frames")

# ---- invalid UTF-8 ----
bad = [b"\xff\xfe", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"caf\xe9", b"\xe2\x82"]
data = b"".join(HDR % (b"dev", b"-") + b"utf8 %d " % k + bad[k % len(bad)] + b" end\n"
                for k in range(60))
peer = tcp_stream(data)
expect_rows(peer, 60, "invalid UTF-8")
db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
for (m,) in db.execute("SELECT CAST(msg AS BLOB) FROM events WHERE peer = ?", (peer,)):
    m.decode("utf-8")  # raises if anything invalid was stored as it came
db.close()
print("ok: invalid UTF-8: 60 messages, each an event with valid text or a dead letter")
good_arrived("invalid UTF-8")

# ---- deep JSON nesting in X1367 records ----
depth = 6000
nests = [b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth,
         b'{"Error Code": ' + b"[" * depth + b"]" * depth + b"}"]
data = b""
for k in range(30):
    m = HDR % (b"dev", b"X1367") + nests[k % 3]
    data += b"%d %s" % (len(m), m)
peer = tcp_stream(data, chunks=10)
expect_rows(peer, 30, "deeply nested JSON")
print("ok: deep JSON: 30 records of depth %d, one row each" % depth)
good_arrived("deep JSON")

# ---- slow loris ----
c0 = counters()
loris = [socket.create_connection((HOST, p_tcp)) for _ in range(20)]
open_ = set(range(20))
end = time.monotonic() + first_s * 5
t0 = time.monotonic()
while open_ and time.monotonic() < end:
    for k in list(open_):
        try:
            loris[k].sendall(b"<")
            loris[k].setblocking(False)
            try:
                if loris[k].recv(16) == b"":
                    open_.discard(k)
            except BlockingIOError:
                pass
            loris[k].setblocking(True)
        except OSError:
            open_.discard(k)
    time.sleep(1)
if open_:
    fail("slow loris: %d of 20 connections still open after %d s" % (len(open_), first_s * 5))
for s in loris:
    s.close()
c1 = counters()
if delta(c0, c1, "connections_timed_out") != 20:
    fail("slow loris: %d timeouts counted for 20" % delta(c0, c1, "connections_timed_out"))
print("ok: slow loris: 20 connections closed after %.0f s" % (time.monotonic() - t0))
good_arrived("slow loris")

# ---- 10,000 connections opened and dropped ----
c0 = counters()
import struct
for k in range(10000):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if k % 2:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
    s.connect((HOST, p_tcp))
    s.close()
wait("10,000 connections accounted for",
     lambda: delta(c0, counters(), "connections_accepted", "connections_refused") >= 10000)
c1 = counters()
n = delta(c0, c1, "connections_accepted", "connections_refused")
if n != 10000:
    fail("flood: %d connections accounted for, 10000 made" % n)
wait("the flood's connections to be closed", lambda: counters()["connections_open"] == c0["connections_open"])
print("ok: flood: 10000 connections (%d refused), none left open" %
      delta(c0, c1, "connections_refused"))
good_arrived("connection flood")

# ---- everything refused is counted ----
good["stop"] = True
time.sleep(0.3)
c_end = counters()
dead_rows = q("SELECT count(*) FROM dead_letters") - dead_rows0
if delta(c_start, c_end, "dead_letters") != dead_rows:
    fail("dead_letters counter grew by %d, the store holds %d more" %
         (delta(c_start, c_end, "dead_letters"), dead_rows))
udp_sent = good["udp"]
udp_got = q("SELECT count(DISTINCT msg) FROM events WHERE msg LIKE 'good-udp %'")
wait("good UDP", lambda: q("SELECT count(DISTINCT msg) FROM events WHERE msg LIKE 'good-udp %'")
     + delta(c_start, counters(), "udp_dropped") >= udp_sent)
print("ok: %d dead letters stored and counted; good UDP %d sent, %d stored" %
      (dead_rows, udp_sent, udp_got))
print("ok: VmRSS %d kB at the end, %d kB after warm-up" % (rss_kb(), base_kb))
EOF

python3 "$tmp/attack.py" "$soc_api" "$tmp/soc.db" "$soc_pid" "$p_tcp" "$p_udp" \
  "$MAX_MSG" "$FIRST_MESSAGE_S" "$RSS_GROWTH_MB" || fail "see above; daemon log: $(tail -20 "$tmp/soc.log")"
kill -0 "$soc_pid" || fail "mamori-soc died"
kill -TERM "$soc_pid"
wait "$soc_pid" || fail "mamori-soc did not stop cleanly: $(tail -5 "$tmp/soc.log")"
echo "PASS soc_malformed"
