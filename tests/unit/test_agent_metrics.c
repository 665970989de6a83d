/*
 * Device Defender's metrics (agent/metrics.c, agent/ddreport.c): the
 * /proc/net/dev and custom metrics parsers on tables of good and hostile
 * text, counter deltas across a reset, the AWS report's member names and
 * content in both forms for a filled set, (port, interface) pairs listed
 * once, mamori's own document, and metrics_collect against a /proc made
 * for the test and real loopback sockets of this process.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "detect.h"
#include "mamori/error.h"

#define HDR                                                                                  \
	"Inter-|   Receive                                                |  Transmit\n"      \
	" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets " \
	"errs drop fifo colls carrier compressed\n"

static struct metrics *new_set(void)
{
	struct metrics *m;

	assert_int_equal(metrics_new(&m), 0);
	return m;
}

static void test_netdev(void **state)
{
	static const struct {
		const char *name, *text;
		int rc;
		uint64_t bi, pi, bo, po;
	} cases[] = {
		{"normal", HDR "    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n"
			       "  eth0: 5000 50 1 2 0 0 0 3 700 7 0 0 0 0 0 0\n"
			       " wlan0: 100 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0\n",
		 0, 5100, 51, 720, 9},
		{"no lo", HDR "  eth0: 1 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0\n", 0, 1, 2, 3, 4},
		{"only lo", HDR "    lo: 9 9 0 0 0 0 0 0 9 9 0 0 0 0 0 0\n", 0, 0, 0, 0, 0},
		{"no newline at the end", "eth0:1 2 0 0 0 0 0 0 3 4 0 0 0 0 0 0", 0, 1, 2, 3, 4},
		{"a name like lo is not lo", HDR "  lo0: 5 6 0 0 0 0 0 0 7 8 0 0 0 0 0 0\n", 0, 5,
		 6, 7, 8},
		/* Malformed lines are skipped; the good ones still count. */
		{"short line", HDR "  eth0: 1 2 3\n  eth1: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n", 0, 1,
		 1, 1, 1},
		{"letters", HDR "  eth0: 1 x 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
				"  eth1: 2 2 0 0 0 0 0 0 2 2 0 0 0 0 0 0\n",
		 0, 2, 2, 2, 2},
		{"trailing junk", HDR "  eth0: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0 zz\n"
				      "  eth1: 2 2 0 0 0 0 0 0 2 2 0 0 0 0 0 0\n",
		 0, 2, 2, 2, 2},
		{"negative", HDR "  eth0: -1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n", MM_EPARSE, 0, 0, 0,
		 0},
		{"empty name", HDR "  : 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n", MM_EPARSE, 0, 0, 0, 0},
		{"name too long", HDR "  abcdefghijklmnop: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n",
		 MM_EPARSE, 0, 0, 0, 0},
		{"header only", HDR, MM_EPARSE, 0, 0, 0, 0},
		{"empty", "", MM_EPARSE, 0, 0, 0, 0},
		/* The largest counter the kernel can write, then one past it. */
		{"u64 max", HDR "  eth0: 18446744073709551615 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n", 0,
		 UINT64_MAX, 1, 1, 1},
		{"overflow", HDR "  eth0: 18446744073709551616 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
				 "  eth1: 5 5 0 0 0 0 0 0 5 5 0 0 0 0 0 0\n",
		 0, 5, 5, 5, 5},
		/* Sums that would wrap stay at the maximum. */
		{"sum saturates", HDR "  eth0: 18446744073709551615 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
				      "  eth1: 10 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n",
		 0, UINT64_MAX, 2, 2, 2},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct metrics *m = new_set();
		int rc;

		m->bytes_in = 12345; /* the parser sets, it does not add to what was there */
		rc = metrics_parse_netdev(cases[i].text, strlen(cases[i].text), m);
		if (rc != cases[i].rc)
			fail_msg("%s: rc %d, want %d", cases[i].name, rc, cases[i].rc);
		if (m->bytes_in != cases[i].bi || m->packets_in != cases[i].pi ||
		    m->bytes_out != cases[i].bo || m->packets_out != cases[i].po)
			fail_msg("%s: got %llu %llu %llu %llu", cases[i].name,
				 (unsigned long long)m->bytes_in, (unsigned long long)m->packets_in,
				 (unsigned long long)m->bytes_out,
				 (unsigned long long)m->packets_out);
		metrics_free(m);
	}
}

static void test_custom_types(void **state)
{
	static const char text[] =
		"{\"temp\": 21.5, \"boots\": 3, \"load\": [1, 2.5, -3],"
		" \"users\": [\"root\", \"app\"],"
		" \"peers\": {\"ip_list\": [\"10.0.0.1\", \"2001:db8::1\"]},"
		" \"dd_num\": {\"number\": 7}, \"dd_nl\": {\"number_list\": [4, 5]},"
		" \"dd_sl\": {\"string_list\": [\"x\"]}, \"empty\": []}";
	struct metrics *m = new_set();
	const struct metric_custom *c = m->custom;

	(void)state;
	assert_int_equal(metrics_parse_custom(text, strlen(text), m), 0);
	assert_int_equal(m->n_custom, 9);
	assert_int_equal(m->custom_dropped, 0);
	assert_string_equal(c[0].name, "temp");
	assert_int_equal(c[0].type, METRIC_NUMBER);
	assert_true(c[0].num[0] == 21.5);
	assert_string_equal(c[1].name, "boots");
	assert_true(c[1].num[0] == 3.0);
	assert_int_equal(c[2].type, METRIC_NUMBER_LIST);
	assert_int_equal(c[2].n, 3);
	assert_true(c[2].num[1] == 2.5 && c[2].num[2] == -3.0);
	assert_int_equal(c[3].type, METRIC_STRING_LIST);
	assert_int_equal(c[3].n, 2);
	assert_string_equal(c[3].str[1], "app");
	assert_int_equal(c[4].type, METRIC_IP_LIST);
	assert_string_equal(c[4].str[1], "2001:db8::1");
	assert_int_equal(c[5].type, METRIC_NUMBER);
	assert_true(c[5].num[0] == 7.0);
	assert_int_equal(c[6].type, METRIC_NUMBER_LIST);
	assert_int_equal(c[6].n, 2);
	assert_int_equal(c[7].type, METRIC_STRING_LIST);
	assert_string_equal(c[7].str[0], "x");
	assert_int_equal(c[8].type, METRIC_NUMBER_LIST);
	assert_int_equal(c[8].n, 0);
	metrics_free(m);
}

/* Builds {"NAME": VALUE} where either may be long. */
static char *one_member(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 8;
	char *s = malloc(n);

	assert_non_null(s);
	snprintf(s, n, "{\"%s\": %s}", name, value);
	return s;
}

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

/* A list of n numbers, or of n strings of len bytes. */
static char *list_of(size_t n, size_t len)
{
	size_t cap = n * (len + 4) + 8, i;
	char *s = malloc(cap), *p = s;

	assert_non_null(s);
	*p++ = '[';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		if (len == 0) {
			*p++ = '1';
		} else {
			*p++ = '"';
			memset(p, 'v', len);
			p += len;
			*p++ = '"';
		}
	}
	*p++ = ']';
	*p = '\0';
	return s;
}

static void test_custom_bad_and_bounds(void **state)
{
	char *n127 = repeat('a', 127), *n128 = repeat('a', 128);
	char *l32 = list_of(32, 0), *l33 = list_of(33, 0);
	char *s255 = list_of(1, 255), *s256 = list_of(1, 256);
	const struct {
		const char *what, *name, *value;
		size_t kept;
	} cases[] = {
		{"plain name", "ok_name:1.x-y", "1", 1},
		{"127 bytes", n127, "1", 1},
		{"128 bytes", n128, "1", 0},
		{"empty name", "", "1", 0},
		{"space", "a b", "1", 0},
		{"slash", "a/b", "1", 0},
		{"non-ASCII", "caf\xc3\xa9", "1", 0},
		{"reserved aws:", "aws:all-bytes-in", "1", 0},
		{"reserved mamori:", "mamori:num-processes", "1", 0},
		{"32 values", "l", l32, 1},
		{"33 values", "l", l33, 0},
		{"255-byte string", "s", s255, 1},
		{"256-byte string", "s", s256, 0},
		{"mixed list", "m", "[1, \"a\"]", 0},
		{"nested list", "m", "[[1]]", 0},
		{"bool", "b", "true", 0},
		{"null", "b", "null", 0},
		{"string", "b", "\"x\"", 0},
		{"bad ip", "i", "{\"ip_list\": [\"10.0.0.300\"]}", 0},
		{"ip with port", "i", "{\"ip_list\": [\"10.0.0.1:80\"]}", 0},
		{"unknown type", "t", "{\"numbers\": 1}", 0},
		{"two types", "t", "{\"number\": 1, \"number_list\": [1]}", 0},
		{"number as list", "t", "{\"number\": [1]}", 0},
		{"number_list of strings", "t", "{\"number_list\": [\"1\"]}", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct metrics *m = new_set();
		char *text = one_member(cases[i].name, cases[i].value);
		int rc = metrics_parse_custom(text, strlen(text), m);

		if (rc != 0 || m->n_custom != cases[i].kept ||
		    m->custom_dropped != 1 - cases[i].kept)
			fail_msg("%s: rc %d, kept %zu, dropped %llu", cases[i].what, rc,
				 m->n_custom, (unsigned long long)m->custom_dropped);
		if (cases[i].kept)
			assert_string_equal(m->custom[0].name, cases[i].name);
		free(text);
		metrics_free(m);
	}
	free(n127);
	free(n128);
	free(l32);
	free(l33);
	free(s255);
	free(s256);
}

static void test_custom_document(void **state)
{
	static const struct {
		const char *text;
		int rc;
	} cases[] = {
		{"[1, 2]", MM_EPARSE},
		{"12", MM_EPARSE},
		{"{\"a\": 1", MM_EPARSE},
		{"", MM_EPARSE},
		{"{\"a\": 1, \"a\": 2}", MM_EPARSE},
		{"{\"t\": [\"a\\u0000b\"]}", MM_EPARSE}, /* jansson refuses NUL in a string */
		{"{}", 0},
	};
	struct metrics *m = new_set();
	char big[40 * 32 + 16], *p = big;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_int_equal(metrics_parse_custom(cases[i].text, strlen(cases[i].text), m),
				 cases[i].rc);
	assert_int_equal(m->n_custom, 0);

	/* 40 metrics: 32 kept, 8 counted. */
	*p++ = '{';
	for (i = 0; i < 40; i++)
		p += snprintf(p, sizeof big - (size_t)(p - big), "%s\"m%02zu\": %zu",
			      i ? "," : "", i, i);
	*p++ = '}';
	*p = '\0';
	assert_int_equal(metrics_parse_custom(big, strlen(big), m), 0);
	assert_int_equal(m->n_custom, METRICS_MAX_CUSTOM);
	assert_int_equal(m->custom_dropped, 40 - METRICS_MAX_CUSTOM);
	assert_string_equal(m->custom[31].name, "m31");
	assert_true(m->custom[31].num[0] == 31.0);

	/* A second source appends; a name already there is not taken twice. */
	metrics_free(m);
	m = new_set();
	assert_int_equal(metrics_parse_custom("{\"a\": 1}", 8, m), 0);
	assert_int_equal(metrics_parse_custom("{\"a\": 2, \"b\": 3}", 16, m), 0);
	assert_int_equal(m->n_custom, 2);
	assert_true(m->custom[0].num[0] == 1.0);
	assert_string_equal(m->custom[1].name, "b");
	assert_int_equal(m->custom_dropped, 1);

	/* Over 64 KiB is refused whole. */
	{
		size_t n = 64 * 1024 + 1;
		char *huge = repeat(' ', n);

		huge[0] = '{';
		huge[n - 1] = '}';
		assert_int_equal(metrics_parse_custom(huge, n, m), MM_ETOOBIG);
		free(huge);
	}
	metrics_free(m);
}

static void test_delta(void **state)
{
	struct metrics *a = new_set(), *b = new_set();
	struct metrics_delta d;

	(void)state;
	a->bytes_in = 100;
	a->bytes_out = 50;
	a->packets_in = 10;
	a->packets_out = 5;
	a->mono_ms = 1000;
	b->bytes_in = 350;
	b->bytes_out = 20; /* went back: the interface was reset */
	b->packets_in = 10;
	b->packets_out = 9;
	b->mono_ms = 11000;
	metrics_delta(a, b, &d);
	assert_int_equal(d.bytes_in, 250);
	assert_int_equal(d.bytes_out, 0);
	assert_int_equal(d.packets_in, 0);
	assert_int_equal(d.packets_out, 4);
	assert_int_equal(d.ms, 10000);
	metrics_delta(NULL, b, &d);
	assert_int_equal(d.bytes_in, 0);
	assert_int_equal(d.ms, 0);
	metrics_free(a);
	metrics_free(b);
}

static void add_port(struct metric_port *p, size_t *n, uint16_t port, int fam, const char *addr,
		     const char *ifname)
{
	p[*n].port = port;
	p[*n].family = (uint8_t)fam;
	snprintf(p[*n].addr, sizeof p[*n].addr, "%s", addr);
	snprintf(p[*n].ifname, sizeof p[*n].ifname, "%s", ifname);
	(*n)++;
}

static void add_conn(struct metrics *m, int fam, const char *remote, uint16_t rport,
		     uint16_t lport, const char *ifname)
{
	struct metric_conn *c = &m->conn[m->n_conn++];

	c->family = (uint8_t)fam;
	snprintf(c->remote, sizeof c->remote, "%s", remote);
	c->rport = rport;
	c->lport = lport;
	snprintf(c->ifname, sizeof c->ifname, "%s", ifname);
	m->total_conn++;
}

/* A set such as a small gateway would give, and the one before it. */
static void fill(struct metrics *prev, struct metrics *cur)
{
	prev->bytes_in = 1000;
	prev->bytes_out = 2000;
	prev->packets_in = 10;
	prev->packets_out = 20;
	prev->mono_ms = 5000;
	cur->bytes_in = 1500;
	cur->bytes_out = 2600;
	cur->packets_in = 15;
	cur->packets_out = 27;
	cur->mono_ms = 65000;
	cur->time_ms = 1700000000000;
	/* sshd on both wildcards is one (22, any) pair; 22 on eth0 is another. */
	add_port(cur->tcp, &cur->n_tcp, 22, AF_INET, "0.0.0.0", "");
	add_port(cur->tcp, &cur->n_tcp, 22, AF_INET6, "::", "");
	add_port(cur->tcp, &cur->n_tcp, 22, AF_INET, "192.168.1.5", "eth0");
	add_port(cur->tcp, &cur->n_tcp, 8080, AF_INET, "192.168.1.5", "eth0");
	cur->total_tcp = 4;
	add_port(cur->udp, &cur->n_udp, 5353, AF_INET, "0.0.0.0", "");
	cur->total_udp = 1;
	add_conn(cur, AF_INET, "203.0.113.7", 8883, 40000, "eth0");
	add_conn(cur, AF_INET6, "2001:db8::9", 443, 40001, "");
	add_conn(cur, AF_INET, "203.0.113.7", 443, 40002, "eth0");
	cur->processes = 42;
	snprintf(cur->custom[0].name, sizeof cur->custom[0].name, "temp");
	cur->custom[0].type = METRIC_NUMBER;
	cur->custom[0].n = 1;
	cur->custom[0].num[0] = 21.5;
	snprintf(cur->custom[1].name, sizeof cur->custom[1].name, "peers");
	cur->custom[1].type = METRIC_IP_LIST;
	cur->custom[1].n = 1;
	snprintf(cur->custom[1].str[0], sizeof cur->custom[1].str[0], "10.0.0.1");
	cur->n_custom = 2;
}

/* The path a/b/c of doc, or NULL. */
static json_t *at(json_t *doc, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(doc, a);

	if (v != NULL && b != NULL)
		v = json_object_get(v, b);
	if (v != NULL && c != NULL)
		v = json_object_get(v, c);
	return v;
}

static void check_report(json_t *r, int s)
{
	/* Member names: long form, or short form when s. */
#define N(l, sh) (s ? (sh) : (l))
	json_t *met = json_object_get(r, N("metrics", "met"));
	json_t *tp, *pts, *cs, *e;

	assert_non_null(met);
	assert_int_equal(json_object_size(r), 3);
	assert_int_equal(json_integer_value(at(r, N("header", "hed"), N("report_id", "rid"),
					       NULL)),
			 1700000000000);
	assert_string_equal(json_string_value(at(r, N("header", "hed"), N("version", "v"), NULL)),
			    "1.0");
	tp = json_object_get(met, N("listening_tcp_ports", "tp"));
	pts = json_object_get(tp, N("ports", "pts"));
	assert_int_equal(json_array_size(pts), 3);
	assert_int_equal(json_integer_value(json_object_get(tp, N("total", "t"))), 3);
	e = json_array_get(pts, 0);
	assert_int_equal(json_integer_value(json_object_get(e, N("port", "pt"))), 22);
	/* The wildcard pair has no interface member at all. */
	assert_null(json_object_get(e, N("interface", "if")));
	e = json_array_get(pts, 1);
	assert_int_equal(json_integer_value(json_object_get(e, N("port", "pt"))), 22);
	assert_string_equal(json_string_value(json_object_get(e, N("interface", "if"))), "eth0");
	e = json_array_get(pts, 2);
	assert_int_equal(json_integer_value(json_object_get(e, N("port", "pt"))), 8080);
	assert_int_equal(json_integer_value(at(met, N("listening_udp_ports", "up"), N("total", "t"),
					       NULL)),
			 1);
	assert_int_equal(json_integer_value(at(met, N("network_stats", "ns"), N("bytes_in", "bi"),
					       NULL)),
			 500);
	assert_int_equal(json_integer_value(at(met, N("network_stats", "ns"),
					       N("bytes_out", "bo"), NULL)),
			 600);
	assert_int_equal(json_integer_value(at(met, N("network_stats", "ns"),
					       N("packets_in", "pi"), NULL)),
			 5);
	assert_int_equal(json_integer_value(at(met, N("network_stats", "ns"),
					       N("packets_out", "po"), NULL)),
			 7);
	cs = at(met, N("tcp_connections", "tc"), N("established_connections", "ec"),
		N("connections", "cs"));
	assert_int_equal(json_array_size(cs), 3);
	e = at(met, N("tcp_connections", "tc"), N("established_connections", "ec"), NULL);
	assert_int_equal(json_integer_value(json_object_get(e, N("total", "t"))), 3);
	e = json_array_get(cs, 0);
	assert_string_equal(json_string_value(json_object_get(e, N("remote_addr", "rad"))),
			    "203.0.113.7:8883");
	assert_int_equal(json_integer_value(json_object_get(e, N("local_port", "lp"))), 40000);
	assert_string_equal(json_string_value(json_object_get(e, N("local_interface", "li"))),
			    "eth0");
	e = json_array_get(cs, 1);
	assert_string_equal(json_string_value(json_object_get(e, N("remote_addr", "rad"))),
			    "[2001:db8::9]:443");
	assert_null(json_object_get(e, N("local_interface", "li")));
	e = json_object_get(r, N("custom_metrics", "cmet"));
	assert_true(json_real_value(at(json_array_get(json_object_get(e, "temp"), 0), "number",
				       NULL, NULL)) == 21.5);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_array_get(json_object_get(e, "peers"), 0),
						    "ip_list"),
				    0)),
			    "10.0.0.1");
	/* No member of the other form leaks in. */
	assert_null(json_object_get(r, N("hed", "header")));
	assert_null(json_object_get(met, N("tp", "listening_tcp_ports")));
#undef N
}

static void test_ddreport(void **state)
{
	struct metrics *prev = new_set(), *cur = new_set();
	json_t *r;

	(void)state;
	fill(prev, cur);
	r = ddreport_json(cur, prev, (uint64_t)cur->time_ms, 0);
	assert_non_null(r);
	check_report(r, 0);
	json_decref(r);
	r = ddreport_json(cur, prev, (uint64_t)cur->time_ms, 1);
	assert_non_null(r);
	check_report(r, 1);
	json_decref(r);

	/* Without a previous set the counters are zero; with nothing listening the lists go. */
	cur->n_tcp = cur->n_udp = cur->n_conn = 0;
	cur->total_tcp = cur->total_udp = cur->total_conn = 0;
	cur->n_custom = 0;
	r = ddreport_json(cur, NULL, 7, 0);
	assert_non_null(r);
	assert_int_equal(json_integer_value(at(r, "metrics", "network_stats", "bytes_in")), 0);
	assert_null(at(r, "metrics", "listening_tcp_ports", "ports"));
	assert_int_equal(json_integer_value(at(r, "metrics", "listening_tcp_ports", "total")), 0);
	assert_null(json_object_get(r, "custom_metrics"));
	json_decref(r);
	metrics_free(prev);
	metrics_free(cur);
}

static void test_ddreport_bounds(void **state)
{
	struct metrics *cur = new_set();
	json_t *r;

	(void)state;
	/* Past the table, sockets are counted in total without being listed. */
	add_port(cur->tcp, &cur->n_tcp, 80, AF_INET, "0.0.0.0", "");
	add_port(cur->tcp, &cur->n_tcp, 80, AF_INET6, "::", "");
	cur->total_tcp = 10;
	r = ddreport_json(cur, NULL, 1, 1);
	assert_int_equal(json_array_size(at(r, "met", "tp", "pts")), 1);
	assert_int_equal(json_integer_value(at(r, "met", "tp", "t")), 9);
	json_decref(r);
	metrics_free(cur);
}

static void test_metrics_json(void **state)
{
	struct metrics *prev = new_set(), *cur = new_set();
	json_t *d, *v;

	(void)state;
	fill(prev, cur);
	d = metrics_json(cur, prev);
	assert_non_null(d);
	v = json_object_get(d, "aws:listening-tcp-ports");
	assert_int_equal(json_array_size(v), 2);
	assert_int_equal(json_integer_value(json_array_get(v, 0)), 22);
	assert_int_equal(json_integer_value(json_array_get(v, 1)), 8080);
	assert_int_equal(json_integer_value(json_object_get(d, "aws:num-listening-tcp-ports")), 2);
	assert_int_equal(json_integer_value(json_object_get(d, "aws:num-listening-udp-ports")), 1);
	assert_int_equal(
		json_integer_value(json_object_get(d, "aws:num-established-tcp-connections")), 3);
	assert_int_equal(json_integer_value(json_object_get(d, "aws:all-bytes-in")), 500);
	assert_int_equal(json_integer_value(json_object_get(d, "aws:all-packets-out")), 7);
	assert_int_equal(json_integer_value(json_object_get(d, "mamori:interval-ms")), 60000);
	v = json_object_get(d, "aws:destination-ip-addresses");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(json_string_value(json_array_get(v, 0)), "2001:db8::9");
	assert_string_equal(json_string_value(json_array_get(v, 1)), "203.0.113.7");
	v = json_object_get(d, "mamori:remote-ports");
	assert_int_equal(json_array_size(v), 2);
	assert_int_equal(json_integer_value(json_array_get(v, 0)), 443);
	assert_int_equal(json_integer_value(json_array_get(v, 1)), 8883);
	assert_int_equal(json_integer_value(json_object_get(d, "mamori:num-processes")), 42);
	assert_true(json_real_value(json_object_get(d, "temp")) == 21.5);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "peers"), 0)),
			    "10.0.0.1");
	json_decref(d);

	/* The first set has no counters. */
	d = metrics_json(cur, NULL);
	assert_null(json_object_get(d, "aws:all-bytes-in"));
	json_decref(d);
	metrics_free(prev);
	metrics_free(cur);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int has_port(const struct metric_port *p, size_t n, uint16_t port, const char *ifname)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i].port == port && strcmp(p[i].ifname, ifname) == 0)
			return 1;
	return 0;
}

/*
 * metrics_collect on a /proc made here (net/dev and three processes), the
 * custom file and command, and this process's own loopback sockets.
 */
static void test_collect(void **state)
{
	char dir[] = "/tmp/mm_metrics_XXXXXX", path[256], cmd[300];
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof a;
	int lt, lu, cl, sv;
	uint16_t tport, uport, cport;
	struct metrics *m = new_set();
	struct metrics_opts o = {0};
	size_t i;
	int found = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/net", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/net/dev", dir);
	write_file(path, HDR "    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n"
			     "  eth0: 300 3 0 0 0 0 0 0 400 4 0 0 0 0 0 0\n");
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%zu", dir, 100 + i);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	snprintf(path, sizeof path, "%s/self", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/custom.json", dir);
	write_file(path, "{\"from_file\": 1, \"bad name\": 2}");

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	lt = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(lt, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(lt, 1), 0);
	assert_int_equal(getsockname(lt, (struct sockaddr *)&a, &alen), 0);
	tport = ntohs(a.sin_port);
	cl = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cl, (struct sockaddr *)&a, sizeof a), 0);
	sv = accept(lt, NULL, NULL);
	assert_true(sv >= 0);
	alen = sizeof a;
	assert_int_equal(getsockname(cl, (struct sockaddr *)&a, &alen), 0);
	cport = ntohs(a.sin_port);
	a.sin_port = 0;
	lu = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(lu, (struct sockaddr *)&a, sizeof a), 0);
	alen = sizeof a;
	assert_int_equal(getsockname(lu, (struct sockaddr *)&a, &alen), 0);
	uport = ntohs(a.sin_port);

	o.proc = dir;
	o.custom_file = path;
	o.custom_command = "echo '{\"from_cmd\": [\"a\"]}'";
	assert_int_equal(metrics_collect(&o, m), 0);
	assert_int_equal(m->processes, 3);
	assert_int_equal(m->bytes_in, 300);
	assert_int_equal(m->packets_out, 4);
	assert_true(has_port(m->tcp, m->n_tcp, tport, "lo"));
	assert_true(has_port(m->udp, m->n_udp, uport, "lo"));
	assert_true(m->total_tcp >= m->n_tcp && m->total_conn >= 2);
	/* Both ends of the loopback connection are established sockets. */
	for (i = 0; i < m->n_conn; i++)
		if (m->conn[i].lport == cport && m->conn[i].rport == tport &&
		    strcmp(m->conn[i].remote, "127.0.0.1") == 0 &&
		    strcmp(m->conn[i].ifname, "lo") == 0)
			found = 1;
	assert_true(found);
	assert_int_equal(m->n_custom, 2);
	assert_string_equal(m->custom[0].name, "from_file");
	assert_string_equal(m->custom[1].name, "from_cmd");
	assert_string_equal(m->custom[1].str[0], "a");
	assert_int_equal(m->custom_dropped, 1);

	/* A command that fails, or outlives its time, is counted and its output unused. */
	o.custom_file = NULL;
	o.custom_command = "echo '{\"x\": 1}'; exit 3";
	assert_int_equal(metrics_collect(&o, m), 0);
	assert_int_equal(m->n_custom, 0);
	assert_int_equal(m->custom_dropped, 1);
	o.custom_command = "echo '{\"x\": 1}'; exec sleep 30";
	o.command_timeout_s = 1;
	assert_int_equal(metrics_collect(&o, m), 0);
	assert_int_equal(m->n_custom, 0);
	assert_int_equal(m->custom_dropped, 1);

	/* Without net/dev the counters cannot be read: MM_EIO. */
	snprintf(path, sizeof path, "%s/net/dev", dir);
	unlink(path);
	o.custom_command = NULL;
	assert_int_equal(metrics_collect(&o, m), MM_EIO);

	close(lt);
	close(lu);
	close(cl);
	close(sv);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netdev),
		cmocka_unit_test(test_custom_types),
		cmocka_unit_test(test_custom_bad_and_bounds),
		cmocka_unit_test(test_custom_document),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_ddreport),
		cmocka_unit_test(test_ddreport_bounds),
		cmocka_unit_test(test_metrics_json),
		cmocka_unit_test(test_collect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
