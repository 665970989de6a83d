/*
 * The flow table (gateway/flow.c): TCP reassembly as a decoder sees it (in
 * order, out of order, retransmitted, overlapping, across the sequence
 * number wrap, holes and buffer bounds), the client and server of a flow,
 * eviction, the memory bound under a SYN flood, idle expiry, and the records
 * a real mm_reporter makes from what the decoder reports.
 *
 * The decoders are this file's: "rec" (TCP 7000) and "urec" (UDP 7001 and
 * 3610) record what they are given and report what the lines they read ask
 * for. The table they are listed in replaces sensor.c's gw_decoders[], so
 * that the silence switch is looked up by their index; Modbus/TCP's real
 * decoder is listed last for the test that goes through it.
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
#include <inttypes.h>
#include <jansson.h>

#include "gw.h"
#include "mamori/error.h"
#include "mamori/errmap.h"
#include "mamori/reporter.h"
#include "mamori/x1367.h"
#include "gw_test_addr.h"

/* ---- the recording decoders ---- */

enum mode {
	M_LINES = 0, /* consume one '\n'-ended line at a time; 0 without one */
	M_LEN = 1,   /* a message is one length byte and that many bytes; the
	                length byte alone is read, the body skipped */
};

static struct {
	enum mode mode;
	int gap_stop;             /* gap() answers GW_STOP */
	int stop_on;              /* data() answers GW_STOP at a line "X" */
	char out[2][4096];        /* what each side's messages said, concatenated */
	size_t outn[2];
	unsigned gaps[2];
	unsigned calls;
	int udp_from[16];         /* the side of each datagram */
	unsigned udp_n;
} R;

static void out_add(int side, const void *p, size_t n)
{
	assert_true(R.outn[side] + n < sizeof R.out[side]);
	memcpy(R.out[side] + R.outn[side], p, n);
	R.outn[side] += n;
	R.out[side][R.outn[side]] = 0;
}

/* A line "Q<k>..." is a request of key k, "R<k>" a success response,
 * "F<k>" an error response (code 7), "E..." a malformed message, "P<k>" a
 * periodic message of stream k; the line (without '\n') is the raw bytes. */
static void report(const uint8_t *p, size_t n, enum gw_side from, const struct gw_sink *sink)
{
	struct gw_msg m = {0};
	struct mm_reporter_status st = {0};

	if (n < 2)
		return;
	m.protocol = "Test";
	m.from = from;
	m.key = p + 1;
	m.key_len = 1;
	m.raw = p;
	m.raw_len = n;
	switch (p[0]) {
	case 'Q':
		sink->request(sink->arg, &m, 0);
		break;
	case 'R':
		sink->response(sink->arg, &m, &st);
		break;
	case 'F':
		st.outcome = MM_REPORTER_ERR_NUM;
		st.num = 7;
		sink->response(sink->arg, &m, &st);
		break;
	case 'E':
		st.outcome = MM_REPORTER_ERR_STD;
		st.std = 0x30;
		m.detail = "malformed";
		sink->error(sink->arg, &m, &st);
		break;
	case 'P':
		sink->periodic(sink->arg, &m);
		break;
	}
}

static long rec_data(void *state, enum gw_side from, const uint8_t *p, size_t n,
		     const struct gw_sink *sink)
{
	const uint8_t *nl;

	(void)state;
	R.calls++;
	if (R.mode == M_LEN) {
		out_add(from, p, 1);
		return 1 + (long)p[0];
	}
	nl = memchr(p, '\n', n);
	if (!nl)
		return 0;
	if (R.stop_on && p[0] == 'X')
		return GW_STOP;
	out_add(from, p, (size_t)(nl - p) + 1);
	report(p, (size_t)(nl - p), from, sink);
	return nl - p + 1;
}

static int rec_gap(void *state, enum gw_side from)
{
	(void)state;
	R.gaps[from]++;
	out_add(from, "#", 1);
	return R.gap_stop ? GW_STOP : 0;
}

static long urec_data(void *state, enum gw_side from, const uint8_t *p, size_t n,
		      const struct gw_sink *sink)
{
	(void)state;
	if (R.udp_n < 16)
		R.udp_from[R.udp_n++] = from;
	out_add(from, p, n);
	report(p, n, from, sink);
	return (long)n;
}

static const struct gw_decoder rec_decoder = {
	"rec", IPPROTO_TCP, "7000", 24, rec_data, rec_gap, NULL,
};
static const struct gw_decoder urec_decoder = {
	"urec", IPPROTO_UDP, "7001,3610", 8, urec_data, NULL, NULL,
};
static const struct gw_decoder nogap_decoder = {
	"nogap", IPPROTO_TCP, "7002", 0, rec_data, NULL, NULL,
};

const struct gw_decoder *const gw_decoders[] = {
	&rec_decoder, &urec_decoder, &nogap_decoder, &gw_decoder_modbus, NULL,
};

/* ---- packets ---- */

#define CLI "10.0.0.1"
#define SRV "10.0.0.2"

static uint64_t now_ms;

static struct gw_packet pkt(const char *src, unsigned sport, const char *dst, unsigned dport,
			    int proto, unsigned flags, uint32_t seq, uint32_t ack,
			    const char *data)
{
	struct gw_packet p;

	memset(&p, 0, sizeof p);
	p.ts.tv_sec = (time_t)(now_ms / 1000);
	p.ts.tv_nsec = (long)(now_ms % 1000) * 1000000;
	p.src = addr(src);
	p.dst = addr(dst);
	p.sport = (uint16_t)sport;
	p.dport = (uint16_t)dport;
	p.ipproto = (uint8_t)proto;
	p.tcp_flags = (uint8_t)flags;
	p.seq = seq;
	p.ack = ack;
	p.payload = (const uint8_t *)data;
	p.payload_len = data ? strlen(data) : 0;
	p.wire_len = 54 + p.payload_len;
	return p;
}

#define SYN GW_TCP_SYN
#define ACK GW_TCP_ACK
#define FIN GW_TCP_FIN
#define RST GW_TCP_RST
#define PSH 0x08

static void feed(struct gw_flows *f, struct gw_packet p)
{
	gw_flows_packet(f, &p);
}

/* Client data at offset off of its stream (ISN ci), server at so (ISN si). */
static void cdata(struct gw_flows *f, unsigned cport, uint32_t ci, uint32_t off, const char *d)
{
	feed(f, pkt(CLI, cport, SRV, 7000, IPPROTO_TCP, ACK | PSH, ci + 1 + off, 0, d));
}

static void sdata(struct gw_flows *f, unsigned cport, uint32_t si, uint32_t off, const char *d)
{
	feed(f, pkt(SRV, 7000, CLI, cport, IPPROTO_TCP, ACK | PSH, si + 1 + off, 0, d));
}

static void handshake(struct gw_flows *f, unsigned cport, uint32_t ci, uint32_t si)
{
	feed(f, pkt(CLI, cport, SRV, 7000, IPPROTO_TCP, SYN, ci, 0, NULL));
	feed(f, pkt(SRV, 7000, CLI, cport, IPPROTO_TCP, SYN | ACK, si, ci + 1, NULL));
	feed(f, pkt(CLI, cport, SRV, 7000, IPPROTO_TCP, ACK, ci + 1, si + 1, NULL));
}

/* ---- the reporter ---- */

struct record {
	char requester[64], responder[64];
	char req_code[128], resp_code[128];
	char flow[128];
	uint8_t code;
	int silence, not_seen;
};

static struct {
	struct record r[32];
	unsigned n;
} REC;

static void copy(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s ? s : "");
}

static void on_record(void *arg, const struct mm_x1367_record *rec, const char *json, size_t len)
{
	struct record *r;
	json_t *d;

	(void)arg;
	(void)json;
	(void)len;
	if (!rec || REC.n >= 32)
		return;
	r = &REC.r[REC.n++];
	memset(r, 0, sizeof *r);
	copy(r->requester, sizeof r->requester, rec->party[MM_X1367_REQUESTER].id[MM_X1367_ID_IP]);
	copy(r->responder, sizeof r->responder, rec->party[MM_X1367_RESPONDER].id[MM_X1367_ID_IP]);
	copy(r->req_code, sizeof r->req_code, rec->party[MM_X1367_REQUESTER].transmitted);
	copy(r->resp_code, sizeof r->resp_code, rec->party[MM_X1367_RESPONDER].transmitted);
	r->code = rec->code;
	d = rec->description;
	if (d) {
		copy(r->flow, sizeof r->flow, json_string_value(json_object_get(d, "Flow")));
		r->silence = json_object_get(d, "Silence") != NULL;
		r->not_seen = json_object_get(d, "Request") != NULL;
	}
}

static struct mm_reporter *reporter(const struct mm_errmap *map)
{
	struct mm_reporter_opts o;
	struct mm_reporter *rep;

	mm_reporter_opts_default(&o);
	o.reporter.kind = MM_X1367_ID_IP;
	o.reporter.id = "10.0.0.254";
	o.map = map;
	o.on_record = on_record;
	assert_int_equal(mm_reporter_new(&o, &rep), 0);
	return rep;
}

struct fx {
	struct gw_flow_opts o;
	struct mm_reporter *rep;
	struct gw_flows *f;
};

static void opts(struct gw_flow_opts *o)
{
	gw_flow_opts_default(o);
	gw_flow_opts_default_ports(o);
}

static void start(struct fx *x, const struct gw_flow_opts *o)
{
	memset(&R, 0, sizeof R);
	memset(&REC, 0, sizeof REC);
	now_ms = 1700000000000ull;
	x->o = *o;
	x->rep = reporter(NULL);
	assert_int_equal(gw_flows_new(&x->o, x->rep, &x->f), 0);
}

static void finish(struct fx *x)
{
	gw_flows_free(x->f);
	mm_reporter_free(x->rep);
}

static struct timespec ts_of(uint64_t ms)
{
	struct timespec t;

	t.tv_sec = (time_t)(ms / 1000);
	t.tv_nsec = (long)(ms % 1000) * 1000000;
	return t;
}

static struct gw_flow_counters counters(struct fx *x)
{
	struct gw_flow_counters c;

	gw_flows_counters(x->f, &c);
	return c;
}

/* ---- tests ---- */

static void test_default_ports(void **state)
{
	struct gw_flow_opts o;
	unsigned i, found = 0;

	(void)state;
	opts(&o);
	/* 7000, 7001, 3610, 7002, 502; then nothing twice */
	assert_int_equal(o.nports, 5);
	gw_flow_opts_default_ports(&o);
	assert_int_equal(o.nports, 5);
	for (i = 0; i < o.nports; i++) {
		if (o.ports[i].port == 3610) {
			assert_int_equal(o.ports[i].ipproto, IPPROTO_UDP);
			assert_ptr_equal(o.ports[i].decoder, &urec_decoder);
			found++;
		}
		if (o.ports[i].port == 502)
			found += o.ports[i].decoder == &gw_decoder_modbus;
	}
	assert_int_equal(found, 2);
}

/* Bytes in order, split across segments, reach the decoder from message
 * boundaries; each side separately. */
static void test_in_order(void **state)
{
	struct fx x;
	struct gw_flow_counters c;

	(void)state;
	{
		struct gw_flow_opts o;

		opts(&o);
		start(&x, &o);
	}
	handshake(x.f, 40000, 100, 900);
	cdata(x.f, 40000, 100, 0, "hello\nwor");
	cdata(x.f, 40000, 100, 9, "ld\n");
	sdata(x.f, 40000, 900, 0, "ok\n");
	assert_string_equal(R.out[GW_CLIENT], "hello\nworld\n");
	assert_string_equal(R.out[GW_SERVER], "ok\n");
	c = counters(&x);
	assert_int_equal(c.flows, 1);
	assert_int_equal(c.active, 1);
	assert_int_equal(c.decoded, 1);
	assert_int_equal(c.gaps, 0);
	assert_int_equal(c.midstream, 0);
	/* Nothing buffered: the flow holds only itself and its state. */
	assert_true(c.memory > 0 && c.memory < 1024);
	finish(&x);
}

static void test_reassembly_table(void **state)
{
	static const struct {
		const char *name;
		uint32_t isn;
		struct {
			uint32_t off;
			const char *d;
		} seg[6];
		int fin;           /* a FIN after the segments, at offset fin - 1 */
		const char *want;
		unsigned gaps;
	} t[] = {
		{"out of order", 1000, {{6, "bb\n"}, {9, "cc\n"}, {0, "aaaaa\n"}}, 0,
		 "aaaaa\nbb\ncc\n", 0},
		{"retransmission", 1000, {{0, "ab\n"}, {0, "ab\n"}, {3, "cd\n"}, {0, "ab\ncd\n"}},
		 0, "ab\ncd\n", 0},
		{"overlap in order", 5, {{0, "abcdef"}, {3, "defgh\n"}}, 0, "abcdefgh\n", 0},
		{"overlap held", 5, {{4, "e\nfg"}, {2, "cde\nfg\n"}, {0, "ab"}}, 0, "abcde\nfg\n", 0},
		{"held covered by a later one", 5, {{4, "ef"}, {8, "ij"}, {3, "defghij\n"}, {0, "abc"}},
		 0, "abcdefghij\n", 0},
		{"sequence wrap", 0xfffffff8u, {{0, "0123"}, {10, "ab\n"}, {4, "456789"}}, 0,
		 "0123456789ab\n", 0},
		{"hole then FIN", 77, {{0, "one\n"}, {8, "three\n"}}, 15, "one\n#three\n", 1},
		{"hole, partial message dropped", 77, {{0, "one\ntw"}, {8, "three\n"}}, 15,
		 "one\n#three\n", 1},
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct gw_flow_opts o;
		struct fx x;
		struct gw_flow_counters c;

		opts(&o);
		start(&x, &o);
		handshake(x.f, 40000, t[i].isn, 5);
		for (k = 0; k < 6 && t[i].seg[k].d; k++)
			cdata(x.f, 40000, t[i].isn, t[i].seg[k].off, t[i].seg[k].d);
		if (t[i].fin)
			feed(x.f, pkt(CLI, 40000, SRV, 7000, IPPROTO_TCP, FIN | ACK,
				      t[i].isn + t[i].fin, 0, NULL));
		if (strcmp(R.out[GW_CLIENT], t[i].want) != 0)
			fail_msg("%s: got \"%s\"", t[i].name, R.out[GW_CLIENT]);
		c = counters(&x);
		if (c.gaps != t[i].gaps || R.gaps[GW_CLIENT] != t[i].gaps)
			fail_msg("%s: %" PRIu64 " gaps", t[i].name, c.gaps);
		/* Everything held was delivered and given back. */
		assert_true(c.memory < 1024);
		finish(&x);
	}
}

/* Out-of-order bytes past max_buffer: the hole is jumped over. */
static void test_buffer_bound(void **state)
{
	struct gw_flow_opts o;
	struct fx x;
	struct gw_flow_counters c;
	char big[200];

	(void)state;
	opts(&o);
	o.max_buffer = 64;
	start(&x, &o);
	handshake(x.f, 40000, 0, 0);
	cdata(x.f, 40000, 0, 0, "a\n");
	memset(big, 'x', 39);
	big[39] = '\n';
	big[40] = 0;
	cdata(x.f, 40000, 0, 10, big);      /* held: 40 bytes */
	cdata(x.f, 40000, 0, 60, "yyy\n"); /* held: 44 */
	cdata(x.f, 40000, 0, 80, big);      /* 84 > 64: jump to offset 10 */
	c = counters(&x);
	assert_int_equal(c.overflow, 1);
	assert_int_equal(c.gaps, 1); /* 2..10 lost; the rest still held */
	assert_int_equal(R.outn[GW_CLIENT], 2 + 1 + 40);
	assert_memory_equal(R.out[GW_CLIENT], "a\n#xxx", 6);
	/* The FIN gives up on the holes at 50..60 and 64..80. */
	feed(x.f, pkt(CLI, 40000, SRV, 7000, IPPROTO_TCP, FIN | ACK, 121, 0, NULL));
	c = counters(&x);
	assert_int_equal(c.gaps, 3);
	assert_int_equal(R.gaps[GW_CLIENT], 3);
	assert_int_equal(R.outn[GW_CLIENT], 2 + 1 + 40 + 1 + 4 + 1 + 40);
	assert_memory_equal(R.out[GW_CLIENT] + 43, "#yyy\n#xx", 8);
	assert_true(c.memory < 1024);
	finish(&x);

	/* A message longer than the buffer: the decoder never gets it whole. */
	start(&x, &o);
	handshake(x.f, 40000, 0, 0);
	memset(big, 'z', 100);
	big[100] = 0;
	cdata(x.f, 40000, 0, 0, big);
	cdata(x.f, 40000, 0, 100, "\nok\n");
	c = counters(&x);
	assert_int_equal(c.gaps, 1);
	/* 64 bytes buffered and dropped; the 36 after them and "\n" make one
	 * line, then "ok". */
	assert_int_equal(R.outn[GW_CLIENT], 1 + 37 + 3);
	assert_memory_equal(R.out[GW_CLIENT] + 38, "ok\n", 3);
	finish(&x);
}

/* A segment cut by the snap length: the next one jumps the hole at once,
 * without waiting for bytes that will never come. */
static void test_snaplen(void **state)
{
	struct gw_flow_opts o;
	struct fx x;
	struct gw_packet p;

	(void)state;
	opts(&o);
	start(&x, &o);
	handshake(x.f, 40000, 0, 0);
	p = pkt(CLI, 40000, SRV, 7000, IPPROTO_TCP, ACK | PSH, 1, 0, "a\nbb");
	p.truncated = 1; /* 100 bytes on the wire, 4 captured */
	feed(x.f, p);
	cdata(x.f, 40000, 0, 100, "c\n");
	assert_string_equal(R.out[GW_CLIENT], "a\n#c\n");
	assert_int_equal(counters(&x).gaps, 1);
	assert_int_equal(counters(&x).overflow, 0);
	finish(&x);
}

/* data() returning more than it was given skips the rest of the message. */
static void test_skip(void **state)
{
	struct gw_flow_opts o;
	struct fx x;
	char seg[64];

	(void)state;
	opts(&o);
	start(&x, &o);
	R.mode = M_LEN;
	handshake(x.f, 40000, 0, 0);
	seg[0] = 10; /* message of 10 bytes, 5 here */
	memcpy(seg + 1, "AAAAA", 6);
	cdata(x.f, 40000, 0, 0, seg);
	seg[0] = 'B'; /* the other 5 bytes of the body, then a message of 2 */
	memcpy(seg, "BBBBB\002CC\001D", 11);
	cdata(x.f, 40000, 0, 6, seg);
	assert_int_equal(R.outn[GW_CLIENT], 3);
	assert_memory_equal(R.out[GW_CLIENT], "\012\002\001", 3);
	finish(&x);
}

/* GW_STOP from data(), a gap() that refuses, and a decoder with no gap(). */
static void test_stop(void **state)
{
	struct gw_flow_opts o;
	struct fx x;
	struct gw_flow_counters c;
	unsigned calls;

	(void)state;
	opts(&o);
	start(&x, &o);
	R.stop_on = 1;
	handshake(x.f, 40000, 0, 0);
	cdata(x.f, 40000, 0, 0, "a\nX\nb\n");
	calls = R.calls;
	cdata(x.f, 40000, 0, 6, "c\n");
	sdata(x.f, 40000, 0, 0, "d\n");
	assert_int_equal(R.calls, calls);
	assert_string_equal(R.out[GW_CLIENT], "a\n");
	c = counters(&x);
	assert_int_equal(c.stopped, 1);
	assert_int_equal(c.active, 1);
	finish(&x);

	start(&x, &o);
	R.gap_stop = 1;
	handshake(x.f, 40000, 0, 0);
	cdata(x.f, 40000, 0, 4, "late\n");
	feed(x.f, pkt(CLI, 40000, SRV, 7000, IPPROTO_TCP, RST, 20, 0, NULL));
	cdata(x.f, 40000, 0, 0, "zzz\n");
	c = counters(&x);
	assert_int_equal(c.gaps, 1);
	assert_int_equal(c.stopped, 1);
	assert_string_equal(R.out[GW_CLIENT], "#");
	finish(&x);

	start(&x, &o);
	feed(x.f, pkt(CLI, 40001, SRV, 7002, IPPROTO_TCP, SYN, 0, 0, NULL));
	feed(x.f, pkt(SRV, 7002, CLI, 40001, IPPROTO_TCP, SYN | ACK, 0, 1, NULL));
	feed(x.f, pkt(CLI, 40001, SRV, 7002, IPPROTO_TCP, ACK, 1, 1, "x\n"));
	feed(x.f, pkt(CLI, 40001, SRV, 7002, IPPROTO_TCP, ACK, 9, 1, "y\n"));
	feed(x.f, pkt(CLI, 40001, SRV, 7002, IPPROTO_TCP, FIN | ACK, 11, 1, NULL));
	c = counters(&x);
	assert_int_equal(c.gaps, 1);
	assert_int_equal(c.stopped, 1);
	assert_string_equal(R.out[GW_CLIENT], "x\n");
	finish(&x);
}

/* Who is the client, and which flows are decoded at all. */
static void test_sides(void **state)
{
	struct gw_flow_opts o;
	struct fx x;
	struct gw_flow_counters c;

	(void)state;
	opts(&o);
	start(&x, &o);
	/* Midstream: tracked, not decoded. */
	sdata(x.f, 40000, 0, 0, "mid\n");
	cdata(x.f, 40000, 0, 0, "mid\n");
	c = counters(&x);
	assert_int_equal(c.midstream, 1);
	assert_int_equal(c.decoded, 0);
	assert_int_equal(c.active, 1);
	assert_int_equal(R.calls, 0);

	/* Seen from the SYN-ACK on: the sender is the server, and decoded. */
	feed(x.f, pkt(SRV, 7000, CLI, 40002, IPPROTO_TCP, SYN | ACK, 50, 11, NULL));
	feed(x.f, pkt(CLI, 40002, SRV, 7000, IPPROTO_TCP, ACK | PSH, 11, 51, "c\n"));
	feed(x.f, pkt(SRV, 7000, CLI, 40002, IPPROTO_TCP, ACK | PSH, 51, 13, "s\n"));
	assert_string_equal(R.out[GW_CLIENT], "c\n");
	assert_string_equal(R.out[GW_SERVER], "s\n");

	/* UDP: the end on the decoder's port is the server even when it
	 * speaks first; with both ends on decoder ports the first sender is
	 * the client; a flow on no decoder port is not decoded. */
	feed(x.f, pkt(SRV, 7001, CLI, 50000, IPPROTO_UDP, 0, 0, 0, "a"));
	feed(x.f, pkt(CLI, 50000, SRV, 7001, IPPROTO_UDP, 0, 0, 0, "b"));
	feed(x.f, pkt("10.0.0.7", 3610, "10.0.0.8", 3610, IPPROTO_UDP, 0, 0, 0, "c"));
	feed(x.f, pkt("10.0.0.8", 3610, "10.0.0.7", 3610, IPPROTO_UDP, 0, 0, 0, "d"));
	feed(x.f, pkt("10.0.0.8", 9999, "10.0.0.7", 9998, IPPROTO_UDP, 0, 0, 0, "e"));
	assert_int_equal(R.udp_n, 4);
	assert_int_equal(R.udp_from[0], GW_SERVER);
	assert_int_equal(R.udp_from[1], GW_CLIENT);
	assert_int_equal(R.udp_from[2], GW_CLIENT);
	assert_int_equal(R.udp_from[3], GW_SERVER);
	c = counters(&x);
	assert_int_equal(c.flows, 5);
	assert_int_equal(c.decoded, 3);
	finish(&x);
}

/* max_flows: the least recently active flows make room. */
static void test_evict(void **state)
{
	struct gw_flow_opts o;
	struct fx x;
	struct gw_flow_counters c;
	unsigned i;

	(void)state;
	opts(&o);
	o.max_flows = 4;
	start(&x, &o);
	for (i = 0; i < 6; i++) {
		now_ms++;
		feed(x.f, pkt(CLI, 40000 + i, SRV, 9, IPPROTO_UDP, 0, 0, 0, "x"));
		if (i == 3) {
			now_ms++; /* flow 0 becomes the most recent */
			feed(x.f, pkt(SRV, 9, CLI, 40000, IPPROTO_UDP, 0, 0, 0, "x"));
		}
	}
	c = counters(&x);
	assert_int_equal(c.active, 4);
	assert_int_equal(c.evicted, 2);
	assert_int_equal(c.flows, 6);
	/* Flow 0 survived, flow 1 did not. */
	feed(x.f, pkt(CLI, 40000, SRV, 9, IPPROTO_UDP, 0, 0, 0, "x"));
	c = counters(&x);
	assert_int_equal(c.flows, 6);
	feed(x.f, pkt(CLI, 40001, SRV, 9, IPPROTO_UDP, 0, 0, 0, "x"));
	c = counters(&x);
	assert_int_equal(c.flows, 7);
	finish(&x);
}

/* 100,000 SYNs from random addresses to a decoder's port with a small
 * memory bound, then out-of-order data in the survivors: the bound holds. */
static void test_memory_bound(void **state)
{
	struct gw_flow_opts o;
	struct fx x;
	struct gw_flow_counters c;
	uint32_t rnd = 12345;
	char a[32], seg[1001];
	unsigned i;

	(void)state;
	opts(&o);
	o.max_memory = 64 * 1024;
	start(&x, &o);
	for (i = 0; i < 100000; i++) {
		rnd = rnd * 1103515245u + 12345u;
		snprintf(a, sizeof a, "%u.%u.%u.%u", 1 + (rnd >> 24) % 200, (rnd >> 16) & 255,
			 (rnd >> 8) & 255, rnd & 255);
		if (i % 100 == 0)
			now_ms++;
		feed(x.f, pkt(a, 1024 + i % 60000, SRV, 7000, IPPROTO_TCP, SYN, rnd, 0, NULL));
	}
	c = counters(&x);
	assert_int_equal(c.flows, 100000);
	assert_true(c.memory_peak <= o.max_memory);
	assert_true(c.evicted > 90000);
	assert_int_equal(c.active + c.evicted, c.flows);
	assert_true(c.active > 100);
	finish(&x);

	/* Held bytes count too: segments past a hole in many flows. */
	start(&x, &o);
	memset(seg, 'q', 1000);
	seg[1000] = 0;
	for (i = 0; i < 500; i++) {
		handshake(x.f, 20000 + i, 0, 0);
		cdata(x.f, 20000 + i, 0, 10, seg);
	}
	c = counters(&x);
	assert_true(c.memory_peak <= o.max_memory);
	assert_true(c.memory <= o.max_memory);
	assert_true(c.evicted > 400);
	finish(&x);
}

/* Each class of flow is forgotten after its own idle time, not before. */
static void test_expiry(void **state)
{
	struct gw_flow_opts o;
	struct fx x;
	struct gw_flow_counters c;
	struct timespec t;
	uint64_t t0;

	(void)state;
	opts(&o);
	o.half_open_ms = 1000;
	o.udp_idle_ms = 5000;
	o.tcp_idle_ms = 20000;
	start(&x, &o);
	t0 = now_ms;
	feed(x.f, pkt(CLI, 1, SRV, 7000, IPPROTO_TCP, SYN, 0, 0, NULL)); /* half-open */
	handshake(x.f, 2, 0, 0);                                        /* established */
	feed(x.f, pkt(CLI, 3, SRV, 7001, IPPROTO_UDP, 0, 0, 0, "u"));
	t = ts_of(t0 + 999);
	gw_flows_tick(x.f, &t);
	assert_int_equal(counters(&x).active, 3);
	t = ts_of(t0 + 1000);
	gw_flows_tick(x.f, &t);
	c = counters(&x);
	assert_int_equal(c.active, 2);
	assert_int_equal(c.expired, 1);
	t = ts_of(t0 + 5000);
	gw_flows_tick(x.f, &t);
	assert_int_equal(counters(&x).active, 1);
	/* A FIN moves the established flow to the short class. */
	now_ms = t0 + 6000;
	feed(x.f, pkt(CLI, 2, SRV, 7000, IPPROTO_TCP, FIN | ACK, 1, 1, NULL));
	t = ts_of(t0 + 6999);
	gw_flows_tick(x.f, &t);
	assert_int_equal(counters(&x).active, 1);
	t = ts_of(t0 + 7000);
	gw_flows_tick(x.f, &t);
	c = counters(&x);
	assert_int_equal(c.active, 0);
	assert_int_equal(c.expired, 3);
	assert_int_equal(c.memory, 0);
	finish(&x);
}

static const struct record *find(const char *req, const char *resp_code, unsigned code)
{
	unsigned i;

	for (i = 0; i < REC.n; i++)
		if (strcmp(REC.r[i].req_code, req) == 0 &&
		    strcmp(REC.r[i].resp_code, resp_code) == 0 && REC.r[i].code == code)
			return &REC.r[i];
	return NULL;
}

/* What the sink hands a real reporter: requests pair with responses of
 * the same connection only, errors name the side that sent the bytes,
 * periodic streams become silence records with the device as responder. */
static void test_records(void **state)
{
	struct gw_flow_opts o;
	struct fx x;
	const struct record *r;
	struct timespec t;
	struct mm_reporter_stats rs;

	(void)state;
	opts(&o);
	o.timeout_ms = 2000;
	start(&x, &o);
	handshake(x.f, 40000, 0, 0);
	handshake(x.f, 40001, 0, 0);
	cdata(x.f, 40000, 0, 0, "Qa\n");       /* 5161 */
	cdata(x.f, 40001, 0, 0, "Qa\n");
	sdata(x.f, 40000, 0, 0, "Fa\n");       /* pairs with 40000's request */
	sdata(x.f, 40001, 0, 0, "Ra\n");       /* settles 40001's */
	sdata(x.f, 40001, 0, 3, "Fb\n");       /* nothing asked on b */
	cdata(x.f, 40000, 0, 3, "Ebad\n");     /* a malformed request */
	sdata(x.f, 40000, 0, 3, "Eoops\n");    /* a malformed response */
	cdata(x.f, 40000, 0, 8, "Qc\n");       /* never answered */
	assert_int_equal(x.f == NULL, 0);

	r = find("5161", "4661", 0xff);
	assert_non_null(r);
	assert_string_equal(r->requester, CLI);
	assert_string_equal(r->responder, SRV);
	assert_string_equal(r->flow, CLI " 40000 -> " SRV " 7000/tcp");
	assert_int_equal(r->not_seen, 0);
	r = find("", "4662", 0xff);
	assert_non_null(r);
	assert_int_equal(r->not_seen, 1);
	assert_string_equal(r->flow, CLI " 40001 -> " SRV " 7000/tcp");
	r = find("45626164", "", 0x30);
	assert_non_null(r);
	assert_string_equal(r->requester, CLI);
	assert_string_equal(r->responder, SRV);
	r = find("", "456F6F7073", 0x30);
	assert_non_null(r);
	assert_string_equal(r->requester, CLI);
	assert_string_equal(r->responder, SRV);
	assert_int_equal(REC.n, 4);
	mm_reporter_stats(x.rep, &rs);
	assert_int_equal(rs.paired, 2);
	assert_int_equal(rs.unpaired, 1);

	/* The request of c times out after opts.timeout_ms. */
	t = ts_of(now_ms + 2500);
	assert_int_equal(mm_reporter_tick(x.rep, &t), 0);
	r = find("5163", "", 0x10);
	assert_non_null(r);
	assert_string_equal(r->requester, CLI);
	assert_string_equal(r->responder, SRV);
	assert_int_equal(counters(&x).reporter_errors, 0);
	finish(&x);
}

/* A device (the UDP server here) that reports on its own every second,
 * then stops: a silence record with it as responder, whichever connection
 * each reading came on. With its silence switch off: no stream at all. */
static void test_periodic(void **state)
{
	struct gw_flow_opts o;
	struct fx x;
	struct timespec t;
	struct mm_reporter_stats rs;
	int i, off;

	(void)state;
	for (off = 0; off < 2; off++) {
		opts(&o);
		o.silence[1] = !off;
		start(&x, &o);
		for (i = 0; i < 6; i++) {
			feed(x.f, pkt(SRV, 7001, CLI, 50000 + i, IPPROTO_UDP, 0, 0, 0, "Pt"));
			now_ms += 1000;
		}
		mm_reporter_stats(x.rep, &rs);
		assert_int_equal(rs.periodic, off ? 0 : 1);
		t = ts_of(now_ms + 60000);
		mm_reporter_tick(x.rep, &t);
		if (off) {
			assert_int_equal(REC.n, 0);
		} else {
			assert_int_equal(REC.n, 1);
			assert_int_equal(REC.r[0].code, 0x10);
			assert_int_equal(REC.r[0].silence, 1);
			assert_string_equal(REC.r[0].responder, SRV);
			assert_string_equal(REC.r[0].requester, CLI);
		}
		finish(&x);
	}
}

/* Through the real Modbus/TCP decoder: an exception response to a read
 * (illegal data address) becomes Invalid Argument with both ADUs. */
static void test_modbus(void **state)
{
	static const uint8_t req[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11,
				      0x03, 0x00, 0x6b, 0x00, 0x03};
	static const uint8_t resp[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x11, 0x83, 0x02};
	struct mm_errmap *map = NULL;
	struct mm_errmap_err err;
	struct gw_flow_opts o;
	struct fx x;
	struct gw_packet p;

	(void)state;
	assert_int_equal(mm_errmap_load_file(&map, MAMORI_SRCDIR "/data/errmap/modbus.map", &err),
			 0);
	opts(&o);
	memset(&R, 0, sizeof R);
	memset(&REC, 0, sizeof REC);
	x.rep = reporter(map);
	assert_int_equal(gw_flows_new(&o, x.rep, &x.f), 0);
	feed(x.f, pkt("192.168.1.10", 41000, "192.168.1.50", 502, IPPROTO_TCP, SYN, 10, 0, NULL));
	feed(x.f, pkt("192.168.1.50", 502, "192.168.1.10", 41000, IPPROTO_TCP, SYN | ACK, 80, 11,
		      NULL));
	p = pkt("192.168.1.10", 41000, "192.168.1.50", 502, IPPROTO_TCP, ACK | PSH, 11, 81, NULL);
	p.payload = req;
	p.payload_len = sizeof req;
	gw_flows_packet(x.f, &p);
	p = pkt("192.168.1.50", 502, "192.168.1.10", 41000, IPPROTO_TCP, ACK | PSH, 81, 23, NULL);
	p.payload = resp;
	p.payload_len = sizeof resp;
	gw_flows_packet(x.f, &p);
	assert_int_equal(REC.n, 1);
	assert_string_equal(REC.r[0].req_code, "0001000000061103006B0003");
	assert_string_equal(REC.r[0].resp_code, "000100000003118302");
	assert_int_equal(REC.r[0].code, 0x31);
	assert_string_equal(REC.r[0].requester, "192.168.1.10");
	assert_string_equal(REC.r[0].responder, "192.168.1.50");
	assert_string_equal(REC.r[0].flow, "192.168.1.10 41000 -> 192.168.1.50 502/tcp");
	gw_flows_free(x.f);
	mm_reporter_free(x.rep);
	mm_errmap_free(map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_ports), cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reassembly_table), cmocka_unit_test(test_buffer_bound),
		cmocka_unit_test(test_skip),          cmocka_unit_test(test_stop),
		cmocka_unit_test(test_snaplen),
		cmocka_unit_test(test_sides),         cmocka_unit_test(test_evict),
		cmocka_unit_test(test_memory_bound),  cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_records),       cmocka_unit_test(test_periodic),
		cmocka_unit_test(test_modbus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
