#!/usr/bin/env python3
"""Prints the TCP and UDP payloads of a pcap file, one packet a line.

The integration tests of mamori-gw use this as an oracle that shares no code
with mamori-gw: the bytes an X.1367 record carries as Transmitted Code must
be the bytes this script finds on the wire. It reads the classic pcap format
as tcpdump -w writes it (either byte order, micro- or nanosecond stamps),
with Ethernet (802.1Q tags skipped), Linux cooked v1/v2 or raw IP frames, and
IPv4 (options) or IPv6 (hop-by-hop, routing, destination options extension
headers) carrying TCP or UDP.

Each line is, separated by single spaces:
    NUMBER TIME SRC SPORT DST DPORT PROTO FLAGS HEX
NUMBER counts every record of the file from 1; TIME is seconds.fraction;
PROTO is tcp or udp; FLAGS is the TCP flags as letters (S, A, F, R, P) or
"-" for UDP; HEX the payload in upper-case hex, "-" when empty. Packets
without payload are printed only with --all. IPv4 fragments other than the
first and anything that is not TCP or UDP are skipped.

Usage: pcap_payloads.py [--all] FILE.pcap
Exit status 0, or 1 with a message for a file that is not a pcap or is cut
short inside a record header or a record.
"""
import ipaddress
import struct
import sys

DLT_RAW = (12, 101)
DLT_EN10MB = 1
DLT_LINUX_SLL = 113
DLT_LINUX_SLL2 = 276
IPV6_EXT = (0, 43, 60)


def die(msg):
    print("pcap_payloads: " + msg, file=sys.stderr)
    sys.exit(1)


def l3_of(linktype, frame):
    """Returns (ethertype, offset) of the network layer, or None."""
    if linktype == DLT_EN10MB:
        if len(frame) < 14:
            return None
        off, etype = 14, struct.unpack(">H", frame[12:14])[0]
        while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
            etype = struct.unpack(">H", frame[off + 2:off + 4])[0]
            off += 4
        return etype, off
    if linktype == DLT_LINUX_SLL:
        if len(frame) < 16:
            return None
        return struct.unpack(">H", frame[14:16])[0], 16
    if linktype == DLT_LINUX_SLL2:
        if len(frame) < 20:
            return None
        return struct.unpack(">H", frame[0:2])[0], 20
    if linktype in DLT_RAW:
        if not frame:
            return None
        return (0x0800 if frame[0] >> 4 == 4 else 0x86DD), 0
    return None


def l4_of(etype, frame, off):
    """Returns (src, dst, ipproto, offset, end) of the transport layer, or None."""
    if etype == 0x0800:
        if len(frame) < off + 20:
            return None
        ihl = (frame[off] & 0x0F) * 4
        total = struct.unpack(">H", frame[off + 2:off + 4])[0]
        frag = struct.unpack(">H", frame[off + 6:off + 8])[0] & 0x1FFF
        if frag:
            return None
        src = str(ipaddress.IPv4Address(frame[off + 12:off + 16]))
        dst = str(ipaddress.IPv4Address(frame[off + 16:off + 20]))
        # The IP total length, not the frame, ends the packet: Ethernet pads
        # short frames with zeros that are no part of the payload.
        return src, dst, frame[off + 9], off + ihl, min(len(frame), off + total)
    if etype == 0x86DD:
        if len(frame) < off + 40:
            return None
        plen = struct.unpack(">H", frame[off + 4:off + 6])[0]
        nxt = frame[off + 6]
        src = str(ipaddress.IPv6Address(frame[off + 8:off + 24]))
        dst = str(ipaddress.IPv6Address(frame[off + 24:off + 40]))
        end = min(len(frame), off + 40 + plen)
        off += 40
        while nxt in IPV6_EXT:
            if end < off + 2:
                return None
            nxt, off = frame[off], off + (frame[off + 1] + 1) * 8
        return src, dst, nxt, off, end
    return None


def flags_text(f):
    out = "".join(c for bit, c in ((0x02, "S"), (0x01, "F"), (0x04, "R"),
                                   (0x08, "P"), (0x10, "A")) if f & bit)
    return out or "."


def packets(data):
    if len(data) < 24:
        die("not a pcap file: shorter than a pcap header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        bo = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        bo = ">"
    else:
        die("not a pcap file: magic %s" % magic.hex())
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(bo + "I", data[20:24])[0] & 0x0FFFFFFF
    off, n = 24, 0
    while off < len(data):
        if len(data) < off + 16:
            die("record %d: header cut short" % (n + 1))
        sec, frac, caplen, _ = struct.unpack(bo + "IIII", data[off:off + 16])
        if len(data) < off + 16 + caplen:
            die("record %d: %d bytes captured, file cut short" % (n + 1, caplen))
        n += 1
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ts = "%d.%09d" % (sec, frac) if nano else "%d.%06d" % (sec, frac)
        yield n, ts, linktype, frame


def main(argv):
    show_all = "--all" in argv
    files = [a for a in argv if a != "--all"]
    if len(files) != 1:
        die("usage: pcap_payloads.py [--all] FILE.pcap")
    with open(files[0], "rb") as f:
        data = f.read()
    for n, ts, linktype, frame in packets(data):
        l3 = l3_of(linktype, frame)
        if l3 is None:
            continue
        l4 = l4_of(l3[0], frame, l3[1])
        if l4 is None:
            continue
        src, dst, proto, o, end = l4
        if proto == 6 and end >= o + 20:
            sport, dport = struct.unpack(">HH", frame[o:o + 4])
            flags = flags_text(frame[o + 13])
            payload = frame[o + (frame[o + 12] >> 4) * 4:end]
            name = "tcp"
        elif proto == 17 and end >= o + 8:
            sport, dport = struct.unpack(">HH", frame[o:o + 4])
            flags = "-"
            payload = frame[o + 8:end]
            name = "udp"
        else:
            continue
        if not payload and not show_all:
            continue
        print(n, ts, src, sport, dst, dport, name, flags,
              payload.hex().upper() or "-")


if __name__ == "__main__":
    main(sys.argv[1:])
