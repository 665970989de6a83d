/*
 * From a captured frame to a gw_packet: the link layer, IPv4 or IPv6 with
 * its extension headers, then TCP or UDP.
 *
 * Every read goes through an mm_cur over the captured bytes, so a frame cut
 * short by the snap length or made up by an attacker can only end in
 * MM_EPARSE, never in a read past caplen. Lengths the packet claims (IPv4
 * total length, IPv6 payload length, UDP length) only ever shorten what is
 * taken: they trim Ethernet padding, and when they claim more than was
 * captured the payload is what there is, marked truncated.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <pcap/dlt.h>

#include "gw.h"
#include "mamori/buf.h"
#include "mamori/error.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88A8
#define ETH_QINQ_OLD 0x9100
#define MAX_VLAN_TAGS 4   /* QinQ is two; a frame with more is refused */
#define MAX_IPV6_EXT 8    /* extension headers walked before giving up */

/* Address family values a BSD loopback header may carry for IPv6 (NetBSD,
 * OpenBSD, FreeBSD, Darwin and Linux each chose their own). */
#define BSD_AF_INET 2
#define BSD_AF_INET6_LINUX 10
#define BSD_AF_INET6_BSD 24
#define BSD_AF_INET6_FREEBSD 28
#define BSD_AF_INET6_DARWIN 30

static int get16(struct mm_cur *c, uint16_t *v)
{
	const uint8_t *p;

	if (mm_cur_take(c, 2, &p) < 0)
		return MM_EPARSE;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return 0;
}

static int skip(struct mm_cur *c, size_t n)
{
	const uint8_t *p;

	return mm_cur_take(c, n, &p);
}

/*
 * Narrows the cursor to the first len bytes from its position (an IP or UDP
 * length). A length beyond the capture keeps what was captured and marks the
 * packet truncated; pk->truncated is also how the caller knows that bytes on
 * the wire are missing.
 */
static void limit(struct mm_cur *c, size_t len, struct gw_packet *pk)
{
	if (len <= mm_cur_left(c))
		c->len = c->pos + len;
	else
		pk->truncated = 1;
}

static int tcp(struct mm_cur *c, struct gw_packet *pk)
{
	const uint8_t *h;
	size_t hlen;

	if (mm_cur_take(c, 20, &h) < 0)
		return MM_EPARSE;
	pk->sport = (uint16_t)(h[0] << 8 | h[1]);
	pk->dport = (uint16_t)(h[2] << 8 | h[3]);
	pk->seq = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
	pk->ack = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11];
	hlen = (size_t)(h[12] >> 4) * 4;
	pk->tcp_flags = h[13];
	if (hlen < 20 || skip(c, hlen - 20) < 0)
		return MM_EPARSE;
	return 0;
}

static int udp(struct mm_cur *c, struct gw_packet *pk)
{
	uint16_t len;

	if (get16(c, &pk->sport) < 0 || get16(c, &pk->dport) < 0 || get16(c, &len) < 0 ||
	    skip(c, 2) < 0)
		return MM_EPARSE;
	if (len < 8)
		return MM_EPARSE;
	limit(c, (size_t)len - 8, pk);
	return 0;
}

static int transport(struct mm_cur *c, uint8_t proto, struct gw_packet *pk)
{
	int rc;

	if (proto == IPPROTO_TCP)
		rc = tcp(c, pk);
	else if (proto == IPPROTO_UDP)
		rc = udp(c, pk);
	else
		return MM_ENOTFOUND;
	if (rc < 0)
		return rc;
	pk->ipproto = proto;
	pk->payload = c->p + c->pos;
	pk->payload_len = mm_cur_left(c);
	return 0;
}

static int ipv4(struct mm_cur *c, struct gw_packet *pk)
{
	const uint8_t *h;
	size_t ihl, total;
	uint16_t frag;

	if (mm_cur_take(c, 20, &h) < 0)
		return MM_EPARSE;
	if (h[0] >> 4 != 4)
		return MM_EPARSE;
	ihl = (size_t)(h[0] & 0x0f) * 4;
	total = (size_t)(h[2] << 8 | h[3]);
	if (ihl < 20 || total < ihl || skip(c, ihl - 20) < 0)
		return MM_EPARSE;
	limit(c, total - ihl, pk);
	/* Fragments are not reassembled: a later fragment has no ports, and a
	 * first one alone would hand the decoder a message cut short. */
	frag = (uint16_t)(h[6] << 8 | h[7]);
	if (frag & 0x3fff)
		return MM_ENOTFOUND;
	pk->src.family = 4;
	pk->dst.family = 4;
	memcpy(pk->src.ip, h + 12, 4);
	memcpy(pk->dst.ip, h + 16, 4);
	return transport(c, h[9], pk);
}

static int ipv6(struct mm_cur *c, struct gw_packet *pk)
{
	const uint8_t *h, *e;
	uint8_t nh;
	size_t plen;
	int i;

	if (mm_cur_take(c, 40, &h) < 0)
		return MM_EPARSE;
	if (h[0] >> 4 != 6)
		return MM_EPARSE;
	plen = (size_t)(h[4] << 8 | h[5]);
	/* A payload length of 0 is a jumbogram (RFC 2675); take what was captured. */
	if (plen != 0)
		limit(c, plen, pk);
	pk->src.family = 6;
	pk->dst.family = 6;
	memcpy(pk->src.ip, h + 8, 16);
	memcpy(pk->dst.ip, h + 24, 16);
	nh = h[6];
	for (i = 0; i < MAX_IPV6_EXT; i++) {
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (mm_cur_take(c, 2, &e) < 0 || skip(c, (size_t)e[1] * 8 + 6) < 0)
				return MM_EPARSE;
			nh = e[0];
			break;
		case IPPROTO_AH:
			if (mm_cur_take(c, 2, &e) < 0 || skip(c, ((size_t)e[1] + 2) * 4 - 2) < 0)
				return MM_EPARSE;
			nh = e[0];
			break;
		case IPPROTO_FRAGMENT:
			return MM_ENOTFOUND;
		default:
			return transport(c, nh, pk);
		}
	}
	return MM_ENOTFOUND;
}

static int ip_by_version(struct mm_cur *c, struct gw_packet *pk)
{
	switch (mm_cur_peek(c) >> 4) {
	case 4:
		return ipv4(c, pk);
	case 6:
		return ipv6(c, pk);
	default:
		return mm_cur_eof(c) ? MM_EPARSE : MM_ENOTFOUND;
	}
}

/* What follows an EtherType, after any VLAN tags. */
static int ethertype(struct mm_cur *c, uint16_t type, struct gw_packet *pk)
{
	int tags = 0;

	while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
		if (++tags > MAX_VLAN_TAGS)
			return MM_ENOTFOUND;
		if (skip(c, 2) < 0 || get16(c, &type) < 0)
			return MM_EPARSE;
	}
	if (type == ETH_IPV4)
		return ipv4(c, pk);
	if (type == ETH_IPV6)
		return ipv6(c, pk);
	return MM_ENOTFOUND;
}

static int loopback(struct mm_cur *c, int linktype, struct gw_packet *pk)
{
	const uint8_t *h;
	uint32_t af;

	if (mm_cur_take(c, 4, &h) < 0)
		return MM_EPARSE;
	/* DLT_LOOP is in network order; DLT_NULL in the capturing host's order,
	 * which a family number (always small) tells apart. */
	af = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	if (linktype == DLT_NULL && (af & 0xffff0000u))
		af = (uint32_t)h[3] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[1] << 8 | h[0];
	switch (af) {
	case BSD_AF_INET:
		return ipv4(c, pk);
	case BSD_AF_INET6_LINUX:
	case BSD_AF_INET6_BSD:
	case BSD_AF_INET6_FREEBSD:
	case BSD_AF_INET6_DARWIN:
		return ipv6(c, pk);
	default:
		return MM_ENOTFOUND;
	}
}

int gw_packet_parse(int linktype, const uint8_t *p, size_t caplen, size_t wire_len,
		    const struct timespec *ts, struct gw_packet *pk)
{
	struct mm_cur c;
	uint16_t type;

	memset(pk, 0, sizeof *pk);
	if (ts)
		pk->ts = *ts;
	pk->wire_len = wire_len > caplen ? wire_len : caplen;
	mm_cur_init(&c, p, p ? caplen : 0);
	switch (linktype) {
	case DLT_EN10MB:
		if (skip(&c, 12) < 0 || get16(&c, &type) < 0)
			return MM_EPARSE;
		return ethertype(&c, type, pk);
	case DLT_LINUX_SLL:
		/* packet type, ARPHRD type, address length, 8 address bytes */
		if (skip(&c, 14) < 0 || get16(&c, &type) < 0)
			return MM_EPARSE;
		return ethertype(&c, type, pk);
	case DLT_LINUX_SLL2:
		/* protocol first, then reserved, ifindex, ARPHRD, type, address */
		if (get16(&c, &type) < 0 || skip(&c, 18) < 0)
			return MM_EPARSE;
		return ethertype(&c, type, pk);
	case DLT_RAW:
		return ip_by_version(&c, pk);
	case DLT_IPV4:
		return ipv4(&c, pk);
	case DLT_IPV6:
		return ipv6(&c, pk);
	case DLT_NULL:
	case DLT_LOOP:
		return loopback(&c, linktype, pk);
	default:
		return MM_ENOTFOUND;
	}
}

void gw_addr_text(const struct gw_addr *a, char *out, size_t size)
{
	if (size == 0)
		return;
	if (!inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->ip, out, (socklen_t)size) ||
	    (a->family != 4 && a->family != 6))
		snprintf(out, size, "?");
}
