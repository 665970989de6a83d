/*
 * gw_packet_parse(): hand-built frames of every link type mamori-gw takes,
 * the fields and payload bytes it finds in them, the frames it must leave
 * alone (fragments, ARP, ICMP), malformed headers, and every truncation of
 * every valid frame (read from an exact-size heap copy, so that a read past
 * caplen is caught by AddressSanitizer).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/dlt.h>

#include "gw.h"
#include "mamori/error.h"

struct frame {
	uint8_t b[512];
	size_t n;
};

static void put(struct frame *f, const void *p, size_t n)
{
	assert_true(f->n + n <= sizeof f->b);
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put8(struct frame *f, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(f, &b, 1);
}

static void put16(struct frame *f, unsigned v)
{
	put8(f, v >> 8);
	put8(f, v);
}

static void put32(struct frame *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static void eth(struct frame *f, unsigned type)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};

	put(f, macs, sizeof macs);
	put16(f, type);
}

static void ipv4(struct frame *f, unsigned proto, const char *src, const char *dst,
		 size_t l4len, unsigned frag)
{
	uint8_t a[4];

	put8(f, 0x45);
	put8(f, 0);
	put16(f, (unsigned)(20 + l4len));
	put16(f, 0x1234);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	assert_int_equal(inet_pton(AF_INET, src, a), 1);
	put(f, a, 4);
	assert_int_equal(inet_pton(AF_INET, dst, a), 1);
	put(f, a, 4);
}

static void ipv6(struct frame *f, unsigned nh, const char *src, const char *dst, size_t plen)
{
	uint8_t a[16];

	put32(f, 0x60000000u);
	put16(f, (unsigned)plen);
	put8(f, nh);
	put8(f, 64);
	assert_int_equal(inet_pton(AF_INET6, src, a), 1);
	put(f, a, 16);
	assert_int_equal(inet_pton(AF_INET6, dst, a), 1);
	put(f, a, 16);
}

/* A TCP header with 4 bytes of options (an MSS), so data offset is 6. */
static void tcp(struct frame *f, unsigned sport, unsigned dport, uint32_t seq, uint32_t ack,
		unsigned flags)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, seq);
	put32(f, ack);
	put8(f, 6 << 4);
	put8(f, flags);
	put16(f, 65535);
	put16(f, 0);
	put16(f, 0);
	put32(f, 0x020405b4);
}

static void udp(struct frame *f, unsigned sport, unsigned dport, size_t len)
{
	put16(f, sport);
	put16(f, dport);
	put16(f, (unsigned)(8 + len));
	put16(f, 0);
}

static const char PAYLOAD[] = "\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c";
#define PAYLOAD_LEN (sizeof PAYLOAD - 1)

struct expect {
	const char *name;
	int linktype;
	struct frame f;
	int family;
	const char *src, *dst;
	unsigned sport, dport, proto, flags;
	uint32_t seq, ack;
	size_t payload_len;
};

static void build_all(struct expect *e, size_t *n)
{
	struct frame *f;
	size_t i = 0;

	/* Ethernet, 802.1Q, IPv4, TCP */
	memset(&e[i], 0, sizeof e[i]);
	e[i] = (struct expect){"eth-vlan-ipv4-tcp", DLT_EN10MB, {{0}, 0}, 4, "192.168.1.20",
			       "192.168.1.1", 50000, 1883, IPPROTO_TCP, 0x18, 1000, 2000,
			       PAYLOAD_LEN};
	f = &e[i].f;
	eth(f, 0x8100);
	put16(f, 0x0064);
	put16(f, 0x0800);
	ipv4(f, IPPROTO_TCP, "192.168.1.20", "192.168.1.1", 24 + PAYLOAD_LEN, 0x4000);
	tcp(f, 50000, 1883, 1000, 2000, 0x18);
	put(f, PAYLOAD, PAYLOAD_LEN);
	i++;

	/* Ethernet, QinQ (802.1ad outer, 802.1Q inner), IPv4, UDP */
	e[i] = (struct expect){"eth-qinq-ipv4-udp", DLT_EN10MB, {{0}, 0}, 4, "10.0.0.2",
			       "10.0.0.3", 3610, 3610, IPPROTO_UDP, 0, 0, 0, PAYLOAD_LEN};
	f = &e[i].f;
	eth(f, 0x88a8);
	put16(f, 0x0010);
	put16(f, 0x8100);
	put16(f, 0x0020);
	put16(f, 0x0800);
	ipv4(f, IPPROTO_UDP, "10.0.0.2", "10.0.0.3", 8 + PAYLOAD_LEN, 0);
	udp(f, 3610, 3610, PAYLOAD_LEN);
	put(f, PAYLOAD, PAYLOAD_LEN);
	i++;

	/* Linux cooked v2, IPv6 with hop-by-hop, routing and destination options, UDP */
	e[i] = (struct expect){"sll2-ipv6-ext-udp", DLT_LINUX_SLL2, {{0}, 0}, 6, "fe80::1",
			       "fd00::2:3", 40000, 5683, IPPROTO_UDP, 0, 0, 0, PAYLOAD_LEN};
	f = &e[i].f;
	put16(f, 0x86dd);
	put16(f, 0);
	put32(f, 3);
	put16(f, 1);
	put8(f, 0);
	put8(f, 6);
	put(f, "\x02\x00\x00\x00\x00\x01\x00\x00", 8);
	ipv6(f, IPPROTO_HOPOPTS, "fe80::1", "fd00::2:3", 8 + 24 + 16 + 8 + PAYLOAD_LEN);
	put8(f, IPPROTO_ROUTING); /* hop-by-hop: 8 bytes, a PadN */
	put8(f, 0);
	put(f, "\x01\x04\x00\x00\x00\x00", 6);
	put8(f, IPPROTO_DSTOPTS); /* routing type 0 with one address: 24 bytes */
	put8(f, 2);
	put(f, "\x00\x00\x00\x00\x00\x00", 6);
	put(f, "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x09", 16);
	put8(f, IPPROTO_UDP); /* destination options: 16 bytes */
	put8(f, 1);
	put(f, "\x01\x0c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 14);
	udp(f, 40000, 5683, PAYLOAD_LEN);
	put(f, PAYLOAD, PAYLOAD_LEN);
	i++;

	/* Linux cooked v1, IPv4, TCP */
	e[i] = (struct expect){"sll-ipv4-tcp", DLT_LINUX_SLL, {{0}, 0}, 4, "172.16.5.5",
			       "172.16.5.6", 502, 40001, IPPROTO_TCP, 0x12, 77, 0xfffffff0u, 0};
	f = &e[i].f;
	put16(f, 0);
	put16(f, 1);
	put16(f, 6);
	put(f, "\x02\x00\x00\x00\x00\x01\x00\x00", 8);
	put16(f, 0x0800);
	ipv4(f, IPPROTO_TCP, "172.16.5.5", "172.16.5.6", 24, 0);
	tcp(f, 502, 40001, 77, 0xfffffff0u, 0x12);
	i++;

	/* raw IPv4 (DLT_RAW), TCP */
	e[i] = (struct expect){"raw-ipv4-tcp", DLT_RAW, {{0}, 0}, 4, "192.0.2.1", "192.0.2.2",
			       80, 1234, IPPROTO_TCP, 0x11, 5, 6, PAYLOAD_LEN};
	f = &e[i].f;
	ipv4(f, IPPROTO_TCP, "192.0.2.1", "192.0.2.2", 24 + PAYLOAD_LEN, 0);
	tcp(f, 80, 1234, 5, 6, 0x11);
	put(f, PAYLOAD, PAYLOAD_LEN);
	i++;

	/* raw IPv6 (DLT_RAW), UDP */
	e[i] = (struct expect){"raw-ipv6-udp", DLT_RAW, {{0}, 0}, 6, "2001:db8::1", "2001:db8::2",
			       5683, 5683, IPPROTO_UDP, 0, 0, 0, PAYLOAD_LEN};
	f = &e[i].f;
	ipv6(f, IPPROTO_UDP, "2001:db8::1", "2001:db8::2", 8 + PAYLOAD_LEN);
	udp(f, 5683, 5683, PAYLOAD_LEN);
	put(f, PAYLOAD, PAYLOAD_LEN);
	i++;

	/* DLT_IPV4 */
	e[i] = (struct expect){"ipv4", DLT_IPV4, {{0}, 0}, 4, "10.1.1.1", "10.1.1.2", 1, 2,
			       IPPROTO_UDP, 0, 0, 0, PAYLOAD_LEN};
	f = &e[i].f;
	ipv4(f, IPPROTO_UDP, "10.1.1.1", "10.1.1.2", 8 + PAYLOAD_LEN, 0);
	udp(f, 1, 2, PAYLOAD_LEN);
	put(f, PAYLOAD, PAYLOAD_LEN);
	i++;

	/* BSD loopback in little-endian host order, AF_INET */
	e[i] = (struct expect){"null-le-ipv4", DLT_NULL, {{0}, 0}, 4, "127.0.0.1", "127.0.0.1",
			       1883, 50001, IPPROTO_TCP, 0x10, 9, 10, PAYLOAD_LEN};
	f = &e[i].f;
	put(f, "\x02\x00\x00\x00", 4);
	ipv4(f, IPPROTO_TCP, "127.0.0.1", "127.0.0.1", 24 + PAYLOAD_LEN, 0);
	tcp(f, 1883, 50001, 9, 10, 0x10);
	put(f, PAYLOAD, PAYLOAD_LEN);
	i++;

	/* OpenBSD loopback (network order), AF_INET6 = 24 */
	e[i] = (struct expect){"loop-ipv6", DLT_LOOP, {{0}, 0}, 6, "::1", "::1", 7, 8,
			       IPPROTO_UDP, 0, 0, 0, PAYLOAD_LEN};
	f = &e[i].f;
	put32(f, 24);
	ipv6(f, IPPROTO_UDP, "::1", "::1", 8 + PAYLOAD_LEN);
	udp(f, 7, 8, PAYLOAD_LEN);
	put(f, PAYLOAD, PAYLOAD_LEN);
	i++;

	*n = i;
}

static void check_fields(const struct expect *e, const struct gw_packet *pk, const uint8_t *base)
{
	char a[46];

	assert_int_equal(pk->src.family, e->family);
	assert_int_equal(pk->dst.family, e->family);
	gw_addr_text(&pk->src, a, sizeof a);
	assert_string_equal(a, e->src);
	gw_addr_text(&pk->dst, a, sizeof a);
	assert_string_equal(a, e->dst);
	assert_int_equal(pk->sport, e->sport);
	assert_int_equal(pk->dport, e->dport);
	assert_int_equal(pk->ipproto, e->proto);
	if (e->proto == IPPROTO_TCP) {
		assert_int_equal(pk->tcp_flags, e->flags);
		assert_int_equal(pk->seq, e->seq);
		assert_int_equal(pk->ack, e->ack);
	}
	assert_int_equal(pk->payload_len, e->payload_len);
	if (e->payload_len) {
		assert_memory_equal(pk->payload, PAYLOAD, PAYLOAD_LEN);
		assert_ptr_equal(pk->payload, base + e->f.n - PAYLOAD_LEN);
	}
	assert_int_equal(pk->truncated, 0);
}

static void test_frames(void **state)
{
	struct expect e[16];
	size_t n, i;

	(void)state;
	build_all(e, &n);
	for (i = 0; i < n; i++) {
		struct gw_packet pk;
		struct timespec ts = {1700000000, 5};
		int rc = gw_packet_parse(e[i].linktype, e[i].f.b, e[i].f.n, e[i].f.n, &ts, &pk);

		if (rc != 0)
			fail_msg("%s: %d", e[i].name, rc);
		check_fields(&e[i], &pk, e[i].f.b);
		assert_int_equal(pk.wire_len, e[i].f.n);
		assert_int_equal(pk.ts.tv_sec, 1700000000);
		assert_int_equal(pk.ts.tv_nsec, 5);
	}
}

/*
 * Every shorter capture of every frame: MM_EPARSE, or the same packet with
 * a shorter payload marked truncated. Each run reads an exact-size copy.
 */
static void test_truncations(void **state)
{
	struct expect e[16];
	size_t n, i, cap;

	(void)state;
	build_all(e, &n);
	for (i = 0; i < n; i++) {
		for (cap = 0; cap < e[i].f.n; cap++) {
			uint8_t *copy = malloc(cap ? cap : 1);
			struct gw_packet pk;
			int rc;

			assert_non_null(copy);
			memcpy(copy, e[i].f.b, cap);
			rc = gw_packet_parse(e[i].linktype, copy, cap, e[i].f.n, NULL, &pk);
			if (rc == 0) {
				assert_true(pk.payload_len < e[i].payload_len);
				assert_int_equal(pk.truncated, 1);
				assert_true(pk.payload >= copy &&
					    pk.payload + pk.payload_len == copy + cap);
				assert_int_equal(pk.sport, e[i].sport);
				assert_int_equal(pk.wire_len, e[i].f.n);
			} else if (rc != MM_EPARSE) {
				fail_msg("%s cut at %zu: %d", e[i].name, cap, rc);
			}
			free(copy);
		}
	}
}

/* An Ethernet frame is at least 60 bytes: the padding after a short IPv4
 * packet is not payload. The same for the UDP length inside IPv4. */
static void test_padding(void **state)
{
	struct frame f = {{0}, 0};
	struct gw_packet pk;

	(void)state;
	eth(&f, 0x0800);
	ipv4(&f, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 8 + 2, 0);
	udp(&f, 1000, 2000, 2);
	put(&f, "hi", 2);
	while (f.n < 60)
		put8(&f, 0xee);
	assert_int_equal(gw_packet_parse(DLT_EN10MB, f.b, f.n, 64, NULL, &pk), 0);
	assert_int_equal(pk.payload_len, 2);
	assert_memory_equal(pk.payload, "hi", 2);
	assert_int_equal(pk.wire_len, 64);
	assert_int_equal(pk.truncated, 0);

	/* A UDP length shorter than the IP packet trims too. */
	f.n = 0;
	ipv4(&f, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 8 + 6, 0);
	udp(&f, 1000, 2000, 3);
	put(&f, "abcdef", 6);
	assert_int_equal(gw_packet_parse(DLT_RAW, f.b, f.n, f.n, NULL, &pk), 0);
	assert_int_equal(pk.payload_len, 3);
	assert_memory_equal(pk.payload, "abc", 3);

	/* TCP with padding after the IPv4 packet. */
	f.n = 0;
	eth(&f, 0x0800);
	ipv4(&f, IPPROTO_TCP, "10.0.0.1", "10.0.0.2", 24 + 1, 0);
	tcp(&f, 1, 2, 3, 4, 0x18);
	put(&f, "x", 1);
	put(&f, "\0\0\0\0\0", 5);
	assert_int_equal(gw_packet_parse(DLT_EN10MB, f.b, f.n, f.n, NULL, &pk), 0);
	assert_int_equal(pk.payload_len, 1);
	assert_int_equal(pk.payload[0], 'x');
}

/* What is not IPv4/IPv6 TCP or UDP, and what is broken. */
static void test_refused(void **state)
{
	static const struct {
		const char *name;
		int kind;
		int rc;
	} t[] = {
		{"ipv4 more fragments", 0, MM_ENOTFOUND},
		{"ipv4 fragment offset", 1, MM_ENOTFOUND},
		{"ipv6 fragment header", 2, MM_ENOTFOUND},
		{"arp", 3, MM_ENOTFOUND},
		{"icmp", 4, MM_ENOTFOUND},
		{"ipv4 ihl 4", 5, MM_EPARSE},
		{"tcp data offset 4", 6, MM_EPARSE},
		{"udp length 7", 7, MM_EPARSE},
		{"ipv4 total length below header", 8, MM_EPARSE},
		{"unknown link type", 9, MM_ENOTFOUND},
		{"five vlan tags", 10, MM_ENOTFOUND},
		{"ipv6 no next header", 11, MM_ENOTFOUND},
		{"ipv6 header length past the capture", 12, MM_EPARSE},
		{"raw: version 5", 13, MM_ENOTFOUND},
		{"loopback family 99", 14, MM_ENOTFOUND},
		{"ipv4 df only is not a fragment", 15, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct frame f = {{0}, 0};
		struct gw_packet pk;
		int lt = DLT_RAW, k;

		switch (t[i].kind) {
		case 0:
		case 1:
		case 15:
			ipv4(&f, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 8 + 4,
			     t[i].kind == 0 ? 0x2000 : t[i].kind == 1 ? 0x0010 : 0x4000);
			udp(&f, 1, 2, 4);
			put(&f, "abcd", 4);
			break;
		case 2:
			ipv6(&f, IPPROTO_FRAGMENT, "::1", "::2", 8 + 8 + 4);
			put8(&f, IPPROTO_UDP);
			put8(&f, 0);
			put16(&f, 1); /* offset 0, M set */
			put32(&f, 42);
			udp(&f, 1, 2, 4);
			put(&f, "abcd", 4);
			break;
		case 3:
			lt = DLT_EN10MB;
			eth(&f, 0x0806);
			for (k = 0; k < 28; k++)
				put8(&f, 0);
			break;
		case 4:
			ipv4(&f, IPPROTO_ICMP, "10.0.0.1", "10.0.0.2", 8, 0);
			put32(&f, 0x08000000);
			put32(&f, 0);
			break;
		case 5:
			ipv4(&f, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 12, 0);
			f.b[0] = 0x44;
			udp(&f, 1, 2, 4);
			put(&f, "abcd", 4);
			break;
		case 6:
			ipv4(&f, IPPROTO_TCP, "10.0.0.1", "10.0.0.2", 24, 0);
			tcp(&f, 1, 2, 3, 4, 0x10);
			f.b[20 + 12] = 4 << 4;
			break;
		case 7:
			ipv4(&f, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 8, 0);
			udp(&f, 1, 2, 0);
			f.b[20 + 5] = 7;
			break;
		case 8:
			ipv4(&f, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 8, 0);
			udp(&f, 1, 2, 0);
			f.b[2] = 0;
			f.b[3] = 19;
			break;
		case 9:
			lt = 147; /* DLT_USER0 */
			ipv4(&f, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 8, 0);
			udp(&f, 1, 2, 0);
			break;
		case 10:
			lt = DLT_EN10MB;
			eth(&f, 0x8100);
			for (k = 0; k < 5; k++) {
				put16(&f, 1);
				put16(&f, k < 4 ? 0x8100 : 0x0800);
			}
			ipv4(&f, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 8, 0);
			udp(&f, 1, 2, 0);
			break;
		case 11:
			ipv6(&f, 59, "::1", "::2", 0);
			break;
		case 12:
			ipv6(&f, IPPROTO_DSTOPTS, "::1", "::2", 16);
			put8(&f, IPPROTO_UDP);
			put8(&f, 4); /* 40 bytes claimed, 14 there */
			put(&f, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 14);
			break;
		case 13:
			put8(&f, 0x50);
			put(&f, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 19);
			break;
		case 14:
			lt = DLT_LOOP;
			put32(&f, 99);
			ipv4(&f, IPPROTO_UDP, "10.0.0.1", "10.0.0.2", 8, 0);
			udp(&f, 1, 2, 0);
			break;
		}
		k = gw_packet_parse(lt, f.b, f.n, f.n, NULL, &pk);
		if (k != t[i].rc)
			fail_msg("%s: %d, expected %d", t[i].name, k, t[i].rc);
		if (t[i].kind == 15)
			assert_memory_equal(pk.payload, "abcd", 4);
	}
}

/* A capture cut by the snap length: the payload is what there is. */
static void test_snaplen(void **state)
{
	struct frame f = {{0}, 0};
	struct gw_packet pk;
	size_t cut;

	(void)state;
	eth(&f, 0x0800);
	ipv4(&f, IPPROTO_TCP, "10.0.0.1", "10.0.0.2", 24 + PAYLOAD_LEN, 0);
	tcp(&f, 1, 1883, 3, 4, 0x18);
	put(&f, PAYLOAD, PAYLOAD_LEN);
	cut = f.n - 5;
	assert_int_equal(gw_packet_parse(DLT_EN10MB, f.b, cut, f.n, NULL, &pk), 0);
	assert_int_equal(pk.payload_len, PAYLOAD_LEN - 5);
	assert_int_equal(pk.truncated, 1);
	assert_int_equal(pk.wire_len, f.n);
	assert_memory_equal(pk.payload, PAYLOAD, PAYLOAD_LEN - 5);
}

static void test_addr_text(void **state)
{
	struct gw_addr a = {4, {192, 168, 0, 1}};
	char out[46];

	(void)state;
	gw_addr_text(&a, out, sizeof out);
	assert_string_equal(out, "192.168.0.1");
	a.family = 6;
	memset(a.ip, 0, sizeof a.ip);
	a.ip[0] = 0xfe;
	a.ip[1] = 0x80;
	a.ip[15] = 0x42;
	gw_addr_text(&a, out, sizeof out);
	assert_string_equal(out, "fe80::42");
	a.family = 9;
	gw_addr_text(&a, out, sizeof out);
	assert_string_equal(out, "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames),     cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_padding),    cmocka_unit_test(test_refused),
		cmocka_unit_test(test_snaplen),    cmocka_unit_test(test_addr_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
