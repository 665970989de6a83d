/*
 * Per-device flow statistics (gateway/stats.c): the exact gw.flow.stats
 * events of a small scripted traffic, interval alignment on the packets'
 * time, the partial interval at the end, the peer and port bounds, the
 * device bound, the configured networks and their parser.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gw.h"
#include "mamori/error.h"
#include "gw_test_addr.h"

static struct {
	char ev[8][1024];
	unsigned n;
} E;

static void emit(void *arg, const char *json, size_t len)
{
	(void)arg;
	assert_int_equal(strlen(json), len);
	assert_true(E.n < 8 && len < sizeof E.ev[0]);
	memcpy(E.ev[E.n++], json, len + 1);
}

#define T0 UINT64_C(1700000000250) /* 2023-11-14T22:13:20.250Z */

static struct timespec ts(uint64_t ms)
{
	struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	return t;
}

static void packet(struct gw_stats *s, uint64_t ms, const char *src, unsigned sport,
		   const char *dst, unsigned dport, int proto, unsigned flags, size_t wire)
{
	struct gw_packet p;

	memset(&p, 0, sizeof p);
	p.ts = ts(ms);
	p.src = addr(src);
	p.dst = addr(dst);
	p.sport = (uint16_t)sport;
	p.dport = (uint16_t)dport;
	p.ipproto = (uint8_t)proto;
	p.tcp_flags = (uint8_t)flags;
	p.wire_len = wire;
	gw_stats_tick(s, &p.ts, 0, emit, NULL);
	gw_stats_packet(s, &p);
}

static void test_events(void **state)
{
	struct gw_stats_opts o;
	struct gw_stats *s;
	struct gw_stats_counters c;
	struct timespec t;

	(void)state;
	memset(&E, 0, sizeof E);
	gw_stats_opts_default(&o);
	o.max_peers = 2;
	assert_int_equal(gw_stats_new(&o, &s), 0);
	packet(s, T0, "192.168.1.10", 40000, "8.8.8.8", 53, IPPROTO_UDP, 0, 100);
	packet(s, T0 + 20, "8.8.8.8", 53, "192.168.1.10", 40000, IPPROTO_UDP, 0, 150);
	packet(s, T0 + 1000, "192.168.1.10", 41000, "192.168.1.50", 1883, IPPROTO_TCP,
	       GW_TCP_SYN, 60);
	packet(s, T0 + 2000, "192.168.1.10", 40001, "1.1.1.1", 443, IPPROTO_UDP, 0, 70);
	packet(s, T0 + 3000, "8.8.8.8", 1, "1.1.1.1", 2, IPPROTO_UDP, 0, 99);
	gw_stats_counters(s, &c);
	assert_int_equal(c.devices, 2);
	t = ts(T0 + 59749); /* one millisecond before the interval's end */
	gw_stats_tick(s, &t, 0, emit, NULL);
	assert_int_equal(E.n, 0);
	t = ts(T0 + 59750);
	gw_stats_tick(s, &t, 0, emit, NULL);
	assert_int_equal(E.n, 2);
	assert_string_equal(
		E.ev[0],
		"{\"event\":\"gw.flow.stats\",\"time\":\"2023-11-14T22:14:20.000Z\","
		"\"device\":\"192.168.1.10\",\"interval_s\":60,"
		"\"start\":\"2023-11-14T22:13:20.000Z\",\"end\":\"2023-11-14T22:14:20.000Z\","
		"\"packets_in\":1,\"packets_out\":3,\"bytes_in\":150,\"bytes_out\":230,\"flows\":1,"
		"\"peers\":[{\"address\":\"8.8.8.8\",\"packets_in\":1,\"packets_out\":1,"
		"\"bytes_in\":150,\"bytes_out\":100},{\"address\":\"192.168.1.50\","
		"\"packets_in\":0,\"packets_out\":1,\"bytes_in\":0,\"bytes_out\":60}],"
		"\"ports\":[{\"proto\":\"udp\",\"side\":\"remote\",\"port\":53,\"packets\":2,"
		"\"bytes\":250},{\"proto\":\"tcp\",\"side\":\"remote\",\"port\":1883,"
		"\"packets\":1,\"bytes\":60}],"
		"\"other\":{\"peers\":{\"packets\":1,\"bytes\":70},"
		"\"ports\":{\"packets\":1,\"bytes\":70}}}");
	assert_string_equal(
		E.ev[1],
		"{\"event\":\"gw.flow.stats\",\"time\":\"2023-11-14T22:14:20.000Z\","
		"\"device\":\"192.168.1.50\",\"interval_s\":60,"
		"\"start\":\"2023-11-14T22:13:20.000Z\",\"end\":\"2023-11-14T22:14:20.000Z\","
		"\"packets_in\":1,\"packets_out\":0,\"bytes_in\":60,\"bytes_out\":0,\"flows\":1,"
		"\"peers\":[{\"address\":\"192.168.1.10\",\"packets_in\":1,\"packets_out\":0,"
		"\"bytes_in\":60,\"bytes_out\":0}],"
		"\"ports\":[{\"proto\":\"tcp\",\"side\":\"local\",\"port\":1883,\"packets\":1,"
		"\"bytes\":60}],"
		"\"other\":{\"peers\":{\"packets\":0,\"bytes\":0},"
		"\"ports\":{\"packets\":0,\"bytes\":0}}}");
	gw_stats_counters(s, &c);
	assert_int_equal(c.devices, 0);
	assert_int_equal(c.events, 2);

	/* Quiet intervals are passed over; the next packet at +200 s falls in
	 * the interval that starts at +180 s, and the end of the capture emits
	 * it cut short. */
	packet(s, T0 - 250 + 200000, "fd00::5", 5683, "fd00::6", 40000, IPPROTO_UDP, 0, 90);
	assert_int_equal(E.n, 2);
	t = ts(T0 - 250 + 205500);
	gw_stats_tick(s, &t, 1, emit, NULL);
	assert_int_equal(E.n, 4);
	assert_non_null(strstr(E.ev[2], "\"device\":\"fd00::5\""));
	assert_non_null(strstr(E.ev[2], "\"start\":\"2023-11-14T22:16:20.000Z\","
					"\"end\":\"2023-11-14T22:16:45.500Z\""));
	assert_non_null(strstr(E.ev[2], "\"ports\":[{\"proto\":\"udp\",\"side\":\"local\","
					"\"port\":5683,\"packets\":1,\"bytes\":90}]"));
	assert_non_null(strstr(E.ev[3], "\"device\":\"fd00::6\""));
	assert_non_null(strstr(E.ev[3], "\"packets_in\":1,\"packets_out\":0,\"bytes_in\":90"));
	gw_stats_free(s);
}

/* Peers are listed by bytes, most first, whatever order they came in. */
static void test_order(void **state)
{
	struct gw_stats_opts o;
	struct gw_stats *s;
	struct timespec t;
	const char *a, *b, *c;

	(void)state;
	memset(&E, 0, sizeof E);
	gw_stats_opts_default(&o);
	assert_int_equal(gw_stats_new(&o, &s), 0);
	packet(s, T0, "10.0.0.2", 1000, "203.0.113.1", 80, IPPROTO_TCP, GW_TCP_ACK, 10);
	packet(s, T0, "10.0.0.2", 1000, "203.0.113.2", 81, IPPROTO_TCP, GW_TCP_ACK, 30);
	packet(s, T0, "10.0.0.2", 1000, "203.0.113.3", 82, IPPROTO_TCP, GW_TCP_ACK, 20);
	t = ts(T0 + 1);
	gw_stats_tick(s, &t, 1, emit, NULL);
	assert_int_equal(E.n, 1);
	a = strstr(E.ev[0], "203.0.113.2");
	b = strstr(E.ev[0], "203.0.113.3");
	c = strstr(E.ev[0], "203.0.113.1");
	assert_true(a && b && c && a < b && b < c);
	a = strstr(E.ev[0], "\"port\":81");
	b = strstr(E.ev[0], "\"port\":82");
	c = strstr(E.ev[0], "\"port\":80");
	assert_true(a && b && c && a < b && b < c);
	assert_non_null(strstr(E.ev[0], "\"flows\":0"));
	gw_stats_free(s);
}

/* Only addresses in the configured networks are devices; past max_devices
 * the others are counted as dropped. */
static void test_nets_and_bound(void **state)
{
	struct gw_stats_opts o;
	struct gw_stats *s;
	struct gw_stats_counters c;
	struct timespec t;

	(void)state;
	memset(&E, 0, sizeof E);
	gw_stats_opts_default(&o);
	assert_int_equal(gw_stats_net_parse("10.1.0.0/16", &o.nets[0].net, &o.nets[0].bits), 0);
	assert_int_equal(gw_stats_net_parse("2001:db8::/32", &o.nets[1].net, &o.nets[1].bits), 0);
	o.nnets = 2;
	o.max_devices = 2;
	assert_int_equal(gw_stats_new(&o, &s), 0);
	packet(s, T0, "192.168.0.1", 1, "10.2.0.1", 2, IPPROTO_UDP, 0, 10);
	packet(s, T0, "10.1.200.3", 1, "2001:db8:1::1", 2, IPPROTO_UDP, 0, 10);
	packet(s, T0, "10.1.0.4", 1, "2001:db9::1", 2, IPPROTO_UDP, 0, 10);
	gw_stats_counters(s, &c);
	assert_int_equal(c.devices, 2);
	assert_int_equal(c.dropped_devices, 1);
	t = ts(T0 + 1);
	gw_stats_tick(s, &t, 1, emit, NULL);
	assert_int_equal(E.n, 2);
	assert_non_null(strstr(E.ev[0], "\"device\":\"10.1.200.3\""));
	assert_non_null(strstr(E.ev[1], "\"device\":\"2001:db8:1::1\""));
	gw_stats_free(s);
}

static void test_net_parse(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *net;
		unsigned bits;
	} t[] = {
		{"10.0.0.0/8", 0, "10.0.0.0", 8},
		{"10.1.2.3/8", 0, "10.0.0.0", 8},
		{"192.168.1.77/23", 0, "192.168.0.0", 23},
		{"192.168.1.7", 0, "192.168.1.7", 32},
		{"fd00::1/8", 0, "fd00::", 8},
		{"fe80::/10", 0, "fe80::", 10},
		{"::/0", 0, "::", 0},
		{"10.0.0.0/33", MM_EPARSE, NULL, 0},
		{"fd00::/129", MM_EPARSE, NULL, 0},
		{"10.0.0.0/", MM_EPARSE, NULL, 0},
		{"10.0.0.0/8x", MM_EPARSE, NULL, 0},
		{"10.0.0/8", MM_EPARSE, NULL, 0},
		{"/8", MM_EPARSE, NULL, 0},
		{"", MM_EPARSE, NULL, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct gw_addr a;
		unsigned bits = 99;
		char text[46];
		int rc = gw_stats_net_parse(t[i].in, &a, &bits);

		if (rc != t[i].rc)
			fail_msg("%s: %d", t[i].in, rc);
		if (rc == 0) {
			gw_addr_text(&a, text, sizeof text);
			assert_string_equal(text, t[i].net);
			assert_int_equal(bits, t[i].bits);
		}
	}
}

/* With no networks given, the private ranges are the devices. */
static void test_private(void **state)
{
	static const struct {
		const char *a;
		int device;
	} t[] = {
		{"10.9.9.9", 1},     {"172.16.0.1", 1},  {"172.31.255.1", 1}, {"172.32.0.1", 0},
		{"192.168.3.3", 1},  {"192.169.0.1", 0}, {"169.254.1.1", 1},  {"8.8.8.8", 0},
		{"fc00::1", 1},      {"fdff::1", 1},     {"fe80::1", 1},      {"febf::1", 1},
		{"fec0::1", 0},      {"2001:db8::1", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct gw_stats_opts o;
		struct gw_stats *s;
		struct gw_stats_counters c;
		const char *peer = strchr(t[i].a, ':') ? "2001:db8::99" : "8.8.4.4";

		gw_stats_opts_default(&o);
		assert_int_equal(gw_stats_new(&o, &s), 0);
		packet(s, T0, t[i].a, 1, peer, 2, IPPROTO_UDP, 0, 10);
		gw_stats_counters(s, &c);
		if ((int)c.devices != t[i].device)
			fail_msg("%s: %d devices", t[i].a, (int)c.devices);
		gw_stats_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),         cmocka_unit_test(test_order),
		cmocka_unit_test(test_nets_and_bound), cmocka_unit_test(test_net_parse),
		cmocka_unit_test(test_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
