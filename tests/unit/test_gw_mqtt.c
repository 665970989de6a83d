/*
 * Unit tests of mamori-gw's MQTT decoder (gateway/sensor/mqtt.c): real
 * exchanges captured from mosquitto 2.0.11 and its clients, and packets
 * written from the MQTT 3.1.1 and 5.0 standards, fed the way the flow
 * tracker feeds them (whole, byte by byte, split at every offset), with
 * every report checked field by field; every truncation of a valid packet;
 * malformed packets; a PUBLISH larger than the decoder reads whole; and
 * data/errmap/mqtt.map giving each reported code its standard code.
 *
 * The captured vectors come from mosquitto 2.0.11 on loopback with a
 * password file (user "dev", password "secret") and an ACL allowing
 * "sensors/#", recorded with tcpdump and read with tshark -e tcp.payload:
 *	mosquitto_pub -u dev -P wrong -V mqttv311 / -V mqttv5
 *	mosquitto_pub -u dev -P secret -V mqttv5 -q 1 -t denied/t
 *	mosquitto_pub -u dev -P secret -V mqttv311 -q 2 -t sensors/temp
 *	mosquitto_pub -V mqttv31 (anonymous), -V mqttv31 -u dev -P secret -q 1
 *	mosquitto_sub -V mqttv311 / mqttv5 -t sensors/a -t denied/b, -k 5
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/errmap.h"
#include "sensor/sensor.h"

#ifndef MAMORI_SRCDIR
#define MAMORI_SRCDIR "."
#endif

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define C GW_CLIENT
#define S GW_SERVER

/* ---- a sink that records every report ---- */

#define MAX_REPORTS 32
#define RAW_MAX 2048

struct report {
	char kind; /* 'q' request, 'r' response, 'e' error, 'p' periodic */
	char protocol[16];
	int from;
	uint8_t key[GW_KEY_MAX];
	size_t key_len;
	uint8_t raw[RAW_MAX];
	size_t raw_len;
	int outcome;
	uint64_t num;
	unsigned std;
	char text[16];
	char detail[300];
	unsigned timeout;
};

struct rec {
	struct report r[MAX_REPORTS];
	int n;
};

static struct report *record(void *arg, char kind, const struct gw_msg *m)
{
	struct rec *rc = arg;
	struct report *r;

	assert_true(rc->n < MAX_REPORTS);
	r = &rc->r[rc->n++];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	assert_non_null(m->protocol);
	assert_true(strlen(m->protocol) < sizeof r->protocol);
	strncpy(r->protocol, m->protocol, sizeof r->protocol - 1);
	r->from = m->from;
	assert_true(m->key_len <= GW_KEY_MAX);
	if (m->key_len)
		memcpy(r->key, m->key, m->key_len);
	r->key_len = m->key_len;
	assert_true(m->raw_len <= RAW_MAX);
	if (m->raw_len)
		memcpy(r->raw, m->raw, m->raw_len);
	r->raw_len = m->raw_len;
	if (m->detail) {
		assert_true(strlen(m->detail) < sizeof r->detail);
		strncpy(r->detail, m->detail, sizeof r->detail - 1);
	}
	return r;
}

static void put_status(struct report *r, const struct mm_reporter_status *st)
{
	r->outcome = (int)st->outcome;
	r->num = st->num;
	r->std = st->std;
	if (st->text) {
		assert_true(strlen(st->text) < sizeof r->text);
		strncpy(r->text, st->text, sizeof r->text - 1);
	}
}

static void on_request(void *arg, const struct gw_msg *m, unsigned timeout_ms)
{
	record(arg, 'q', m)->timeout = timeout_ms;
}

static void on_response(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st)
{
	put_status(record(arg, 'r', m), st);
}

static void on_error(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st)
{
	put_status(record(arg, 'e', m), st);
}

static void on_periodic(void *arg, const struct gw_msg *m)
{
	record(arg, 'p', m);
}

/* ---- a feeder that honours data()'s contract as the flow tracker does ---- */

#define FEED_MAX 70000

struct feeder {
	const struct gw_decoder *d;
	void *state;
	uint8_t buf[2][FEED_MAX];
	size_t len[2];
	uint64_t skip[2];
	int stopped;
	struct gw_sink sink;
	struct rec rec;
};

static struct feeder *feeder_new(const struct gw_decoder *d)
{
	struct feeder *f = calloc(1, sizeof *f);

	assert_non_null(f);
	f->d = d;
	f->state = calloc(1, d->state_size);
	assert_non_null(f->state);
	f->sink.request = on_request;
	f->sink.response = on_response;
	f->sink.error = on_error;
	f->sink.periodic = on_periodic;
	f->sink.arg = &f->rec;
	return f;
}

static void feeder_free(struct feeder *f)
{
	free(f->state);
	free(f);
}

/* Hands n bytes of one side to the decoder: appends them to what it kept,
 * calls data() while it consumes, drops what it asked to skip. The bytes
 * are passed in an allocation of exactly their length, so that a read past
 * n is caught by AddressSanitizer. */
static void feed(struct feeder *f, int side, const uint8_t *p, size_t n)
{
	uint64_t s;

	if (f->stopped)
		return;
	s = f->skip[side] < n ? f->skip[side] : n;
	f->skip[side] -= s;
	p += s;
	n -= s;
	assert_true(f->len[side] + n <= FEED_MAX);
	memcpy(f->buf[side] + f->len[side], p, n);
	f->len[side] += n;
	while (f->len[side] > 0) {
		uint8_t *copy = malloc(f->len[side]);
		long r;

		assert_non_null(copy);
		memcpy(copy, f->buf[side], f->len[side]);
		r = f->d->data(f->state, (enum gw_side)side, copy, f->len[side], &f->sink);
		free(copy);
		if (r == GW_STOP) {
			f->stopped = 1;
			return;
		}
		assert_true(r >= 0);
		if (r == 0)
			return;
		if ((uint64_t)r >= f->len[side]) {
			f->skip[side] = (uint64_t)r - f->len[side];
			f->len[side] = 0;
			return;
		}
		memmove(f->buf[side], f->buf[side] + r, f->len[side] - (size_t)r);
		f->len[side] -= (size_t)r;
	}
}

static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;

	for (const char *h = hex; *h;) {
		int hi, lo;

		if (*h == ' ') {
			h++;
			continue;
		}
		hi = h[0] >= 'a' ? h[0] - 'a' + 10 : h[0] >= 'A' ? h[0] - 'A' + 10 : h[0] - '0';
		lo = h[1] >= 'a' ? h[1] - 'a' + 10 : h[1] >= 'A' ? h[1] - 'A' + 10 : h[1] - '0';
		assert_true(hi >= 0 && hi < 16 && lo >= 0 && lo < 16);
		assert_true(n < max);
		out[n++] = (uint8_t)(hi << 4 | lo);
		h += 2;
	}
	return n;
}

/* ---- cases ---- */

struct seg {
	int side;
	const char *hex;
};

/* One expected report. key: hex, or 'text for a literal key. raw: the
 * index of the segment that is the raw bytes, or RAW_HEX with raw_hex. */
struct want {
	char kind;
	const char *protocol;
	int from;
	const char *key;
	int raw;
	const char *raw_hex;
	int outcome;
	uint64_t num;
	unsigned std; /* ERR_STD: the code; ERR_NUM: what mqtt.map must map num to */
	const char *text;
	const char *detail;
};

#define RAW_HEX (-1)
#define M3 "MQTT 3.1.1"
#define M5 "MQTT 5"
#define REQ(p, from, key, raw, detail) {'q', p, from, key, raw, NULL, 0, 0, 0, NULL, detail}
#define OK(p, from, key, raw, detail) {'r', p, from, key, raw, NULL, 0, 0, 0, NULL, detail}
#define FAIL(p, from, key, raw, num, text, std, detail)                                     \
	{'r', p, from, key, raw, NULL, MM_REPORTER_ERR_NUM, num, std, text, detail}
#define PER(p, key, raw, detail) {'p', p, C, key, raw, NULL, 0, 0, 0, NULL, detail}
#define ERRN(p, from, raw, num, text, std, detail)                                          \
	{'e', p, from, "", raw, NULL, MM_REPORTER_ERR_NUM, num, std, text, detail}
#define BAD(p, from, raw, detail) {'e', p, from, "", raw, NULL, MM_REPORTER_ERR_STD, 0, 0x30, NULL, detail}
#define BADHEX(p, from, hex, detail)                                                         \
	{'e', p, from, "", RAW_HEX, hex, MM_REPORTER_ERR_STD, 0, 0x30, NULL, detail}

struct tcase {
	const char *name;
	struct seg seg[10];
	struct want want[12];
	int stops; /* the decoder must have returned GW_STOP */
};

/* Captured from mosquitto 2.0.11 (see the top of the file). */
#define CONNECT311_WRONG "101c00044d51545404c2003c0004633331310003646576000577726f6e67"
#define CONNECT5_WRONG "101e00044d51545405c2003c03210014000263350003646576000577726f6e67"
#define CONNECT5_OK "102000044d51545405c2003c03210014000363356200036465760006736563726574"
#define CONNACK5_OK "200900000622000a210014"
#define CONNECT311_OK "101e00044d51545404c2003c0005633331316200036465760006736563726574"
#define CONNACK311_OK "20020000"

static const struct tcase cases[] = {
	{"3.1.1 wrong password: mosquitto answers 5, read as 4",
	 {{C, CONNECT311_WRONG}, {S, "20020005"}},
	 {REQ(M3, C, "43", 0, NULL),
	  FAIL(M3, S, "43", 1, 4, "0x05", 0x20,
	       "return code 5 (not authorized) to a CONNECT with a password: read as 4 (bad "
	       "user name or password)")},
	 0},
	{"5 wrong password: mosquitto answers 0x87, read as 0x86",
	 {{C, CONNECT5_WRONG}, {S, "2003008700"}},
	 {REQ(M5, C, "43", 0, NULL),
	  FAIL(M5, S, "43", 1, 0x86, "0x87", 0x20,
	       "reason 0x87 (Not authorized) to a CONNECT with a password: read as 0x86 (Bad "
	       "User Name or Password)")},
	 0},
	{"5 QoS 1 publish to a denied topic: PUBACK 0x87",
	 {{C, CONNECT5_OK}, {S, CONNACK5_OK}, {C, "320f000864656e6965642f740001006869"},
	  {S, "4003000187"}, {C, "e000"}},
	 {REQ(M5, C, "43", 0, NULL), OK(M5, S, "43", 1, NULL), REQ(M5, C, "50630001", 2, NULL),
	  PER(M5, "'denied/t", 2, NULL), FAIL(M5, S, "50630001", 3, 0x87, "0x87", 0x23, NULL)},
	 0},
	{"3.1.1 QoS 2 publish: PUBREC, PUBREL, PUBCOMP",
	 {{C, CONNECT311_OK}, {S, CONNACK311_OK},
	  {C, "3414000c73656e736f72732f74656d70000132312e35"}, {S, "50020001"}, {C, "62020001"},
	  {S, "70020001"}, {C, "e000"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL), REQ(M3, C, "50630001", 2, NULL),
	  PER(M3, "'sensors/temp", 2, NULL), OK(M3, S, "50630001", 3, NULL),
	  REQ(M3, C, "52630001", 4, NULL), OK(M3, S, "52630001", 5, NULL)},
	 0},
	{"5 QoS 2 publish",
	 {{C, "101f00044d51545405c2003c032100140002703500036465760006736563726574"},
	  {S, CONNACK5_OK}, {C, "3415000c73656e736f72732f74656d7000010032312e35"},
	  {S, "50020001"}, {C, "62020001"}, {S, "70020001"}, {C, "e000"}},
	 {REQ(M5, C, "43", 0, NULL), OK(M5, S, "43", 1, NULL), REQ(M5, C, "50630001", 2, NULL),
	  PER(M5, "'sensors/temp", 2, NULL), OK(M5, S, "50630001", 3, NULL),
	  REQ(M5, C, "52630001", 4, NULL), OK(M5, S, "52630001", 5, NULL)},
	 0},
	{"3.1 anonymous client refused: 5, not an authentication",
	 {{C, "101100064d51497364700302003c0003633331"}, {S, "20020005"}},
	 {REQ(M3, C, "43", 0, "MQTT 3.1"), FAIL(M3, S, "43", 1, 5, "0x05", 0x23, "MQTT 3.1")},
	 0},
	{"3.1 with a password, QoS 1 publish",
	 {{C, "101f00064d514973647003c2003c00046333316200036465760006736563726574"},
	  {S, "20020000"}, {C, "320f000973656e736f72732f7400016869"}, {S, "40020001"},
	  {C, "e000"}},
	 {REQ(M3, C, "43", 0, "MQTT 3.1"), OK(M3, S, "43", 1, "MQTT 3.1"),
	  REQ(M3, C, "50630001", 2, "MQTT 3.1"), PER(M3, "'sensors/t", 2, "MQTT 3.1"),
	  OK(M3, S, "50630001", 3, "MQTT 3.1")},
	 0},
	{"3.1.1 subscribe, granted; ping",
	 {{C, "101d00044d51545404c2000500046b33313100036465760006736563726574"},
	  {S, "20020000"}, {C, "820e0001000973656e736f72732f7800"}, {S, "9003000100"},
	  {C, "c000"}, {S, "d000"}, {C, "e000"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL), REQ(M3, C, "530001", 2, NULL),
	  OK(M3, S, "530001", 3, NULL), REQ(M3, C, "49", 4, NULL), OK(M3, S, "49", 5, NULL)},
	 0},
	{"5 subscribe two filters, granted",
	 {{C, "101f00044d51545405c2003c032100140002733500036465760006736563726574"},
	  {S, CONNACK5_OK}, {C, "821a000100000973656e736f72732f6102000864656e6965642f6202"},
	  {S, "90050001000202"}, {C, "e00104"}},
	 {REQ(M5, C, "43", 0, NULL), OK(M5, S, "43", 1, NULL), REQ(M5, C, "530001", 2, NULL),
	  OK(M5, S, "530001", 3, NULL)},
	 0},
	/* Written from MQTT 3.1.1 sections 3.8 and 3.9. */
	{"3.1.1 SUBACK refuses the second of three filters",
	 {{C, CONNECT311_OK}, {S, CONNACK311_OK},
	  {C, "8217 000a 0003612f62 01 00087365637265742f23 00 000163 02"},
	  {S, "9005 000a 01 80 02"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL), REQ(M3, C, "53000a", 2, NULL),
	  FAIL(M3, S, "53000a", 3, 0x80, "0x80", 0x3F, "filter 2 of 3 refused")},
	 0},
	/* Written from MQTT 5.0 sections 3.8 to 3.11. */
	{"5 SUBACK 0x87 and UNSUBACK 0x8F",
	 {{C, CONNECT5_OK}, {S, CONNACK5_OK}, {C, "820d 0007 00 0003612f62 01 000178 00"},
	  {S, "9005 0007 00 01 87"}, {C, "a208 0008 00 0003612f62"}, {S, "b004 0008 00 11"},
	  {C, "a206 0009 00 000178"}, {S, "b004 0009 00 8f"}},
	 {REQ(M5, C, "43", 0, NULL), OK(M5, S, "43", 1, NULL), REQ(M5, C, "530007", 2, NULL),
	  FAIL(M5, S, "530007", 3, 0x87, "0x87", 0x23, "filter 2 of 2 refused"),
	  REQ(M5, C, "550008", 4, NULL), OK(M5, S, "550008", 5, NULL),
	  REQ(M5, C, "550009", 6, NULL),
	  FAIL(M5, S, "550009", 7, 0x8F, "0x8F", 0x31, "filter 1 of 1 refused")},
	 0},
	{"3.1.1 UNSUBACK has no codes",
	 {{C, CONNECT311_OK}, {S, CONNACK311_OK}, {C, "a205 0002 000178"}, {S, "b002 0002"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL), REQ(M3, C, "550002", 2, NULL),
	  OK(M3, S, "550002", 3, NULL)},
	 0},
	{"5 DISCONNECT 0x8E from the server, with a reason string",
	 {{C, CONNECT5_OK}, {S, CONNACK5_OK}, {S, "e00f 8e 0d 1f000a74616b656e206f766572"}},
	 {REQ(M5, C, "43", 0, NULL), OK(M5, S, "43", 1, NULL),
	  ERRN(M5, S, 2, 0x8E, "0x8E", 0x11, "reason string \"taken over\"")},
	 0},
	{"5 CONNACK refusal carries its reason string",
	 {{C, CONNECT5_OK}, {S, "2009 00 88 06 1f0003 6f6666"}},
	 {REQ(M5, C, "43", 0, NULL),
	  FAIL(M5, S, "43", 1, 0x88, "0x88", 0x41, "reason string \"off\"")},
	 0},
	{"server PUBLISH QoS 1 answered by the client; not periodic",
	 {{C, CONNECT311_OK}, {S, CONNACK311_OK}, {S, "3207 0001 74 1234 6869"},
	  {C, "4002 1234"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL), REQ(M3, S, "50731234", 2, NULL),
	  OK(M3, C, "50731234", 3, NULL)},
	 0},
	{"no CONNECT: MQTT 3.1.1 assumed, QoS 0 publish is periodic only",
	 {{C, "3005 0001 74 6869"}},
	 {PER(M3, "'t", 0, "no CONNECT seen, MQTT 3.1.1 assumed")},
	 0},
	{"no CONNECT: a DISCONNECT with a reason shows MQTT 5",
	 {{S, "e002 81 00"}},
	 {ERRN(M5, S, 0, 0x81, "0x81", 0x30, "no CONNECT seen, MQTT 5 from the packet's shape")},
	 0},
	{"no CONNECT: a CONNACK of 2 bytes shows MQTT 3.1.1",
	 {{S, "20020004"}, {C, "c000"}},
	 {FAIL(M3, S, "43", 0, 4, "0x04", 0x20, "no CONNECT seen, MQTT 3.1.1 from the packet's shape"),
	  REQ(M3, C, "49", 1, "no CONNECT seen, MQTT 3.1.1 from the packet's shape")},
	 0},
	{"long topic: prefix and hash",
	 {{C, "3024 0022 612f" "6262626262626262626262626262626262626262626262626262626262626262"}},
	 {PER(M3, "612f6262626262626262626262626262626262626262626277bc5baee848eaf9", 0,
	      "no CONNECT seen, MQTT 3.1.1 assumed")},
	 0},
	{"5 publish by topic alias",
	 {{C, CONNECT5_OK}, {S, CONNACK5_OK}, {C, "3007 0000 03 230007 41"}},
	 {REQ(M5, C, "43", 0, NULL), OK(M5, S, "43", 1, NULL), PER(M5, "00410007", 2, NULL)},
	 0},
	/* Malformed. */
	{"reserved type 0", {{C, "0000"}}, {BAD(M3, C, 0, "reserved packet type 0; no CONNECT seen, MQTT 3.1.1 assumed")}, 1},
	{"remaining length over 4 bytes",
	 {{C, "30 ffffffff01 00"}},
	 {BADHEX(M3, C, "30ffffffff", "PUBLISH remaining length over 4 bytes; no CONNECT seen, MQTT 3.1.1 assumed")},
	 1},
	{"HTTP sent to the MQTT port",
	 {{C, "474554202f20485454502f312e310d0a0d0a"}},
	 {BADHEX(M3, C, "474554202f20485454502f312e310d0a0d0a",
		 "PUBACK fixed-header flags 0x7, must be 0x0; no CONNECT seen, MQTT 3.1.1 assumed")},
	 1},
	{"SUBSCRIBE with fixed-header flags 0",
	 {{C, CONNECT311_OK}, {S, CONNACK311_OK}, {C, "8006 0001 000178 00"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL),
	  BAD(M3, C, 2, "SUBSCRIBE fixed-header flags 0x0, must be 0x2")},
	 1},
	{"AUTH in MQTT 3.1.1",
	 {{C, CONNECT311_OK}, {S, CONNACK311_OK}, {C, "f000"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL),
	  BAD(M3, C, 2, "AUTH (type 15) in MQTT 3.1.1")},
	 1},
	{"topic length runs past the packet",
	 {{C, CONNECT311_OK}, {C, "3005 0009 616263"}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, C, 1, "PUBLISH topic name runs past the packet")},
	 1},
	{"CONNECT protocol level 6",
	 {{C, "100e 00044d515454 06 02 003c 00026162"}},
	 {BAD(M3, C, 0,
	      "CONNECT protocol name \"MQTT\" level 6 is not MQTT 3.1, 3.1.1 or 5; no CONNECT "
	      "seen, MQTT 3.1.1 assumed")},
	 1},
	{"CONNECT protocol name of bytes",
	 {{C, "100e 0004 4d51ff22 04 02 003c 00026162"}},
	 {BAD(M3, C, 0,
	      "CONNECT protocol name \"MQ\\xFF\\x22\" level 4 is not MQTT 3.1, 3.1.1 or 5; no "
	      "CONNECT seen, MQTT 3.1.1 assumed")},
	 1},
	{"PUBLISH QoS 3",
	 {{C, CONNECT311_OK}, {C, "3605 0001 74 0001"}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, C, 1, "PUBLISH QoS 3")},
	 1},
	{"CONNACK sent by the client",
	 {{C, "20020000"}},
	 {BAD(M3, C, 0, "CONNACK sent by the client; no CONNECT seen, MQTT 3.1.1 assumed")},
	 1},
	{"second CONNECT",
	 {{C, CONNECT311_OK}, {C, CONNECT311_OK}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, C, 1, "second CONNECT on the connection")},
	 1},
	{"5 unknown property",
	 {{C, CONNECT5_OK}, {S, "4005 0001 00 01 ff"}},
	 {REQ(M5, C, "43", 0, NULL), BAD(M5, S, 1, "PUBACK unknown property 0xFF")},
	 1},
	{"5 property runs past its section",
	 {{C, CONNECT5_OK}, {S, "4006 0001 00 02 1f00"}},
	 {REQ(M5, C, "43", 0, NULL),
	  BAD(M5, S, 1, "PUBACK property 0x1F runs past the property length")},
	 1},
	{"3.1.1 PUBACK longer than 2",
	 {{C, CONNECT311_OK}, {S, "4003 0001 00"}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, S, 1, "PUBACK remaining length 3, not 2")},
	 1},
	{"3.1.1 SUBACK with an undefined return code",
	 {{C, CONNECT311_OK}, {S, "9003 0001 05"}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, S, 1, "SUBACK return code 0x05 of filter 1")},
	 1},
	{"SUBSCRIBE without a filter",
	 {{C, CONNECT311_OK}, {C, "8202 0001"}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, C, 1, "SUBSCRIBE without a topic filter")},
	 1},
	{"SUBSCRIBE with requested QoS 3",
	 {{C, CONNECT311_OK}, {C, "8206 0001 000178 03"}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, C, 1, "SUBSCRIBE filter 1 QoS 3")},
	 1},
	{"CONNECT password without a user name in 3.1.1",
	 {{C, "1012 00044d515454 04 42 003c 00026162 0002 7878"}},
	 {BAD(M3, C, 0, "CONNECT password without a user name")},
	 1},
	{"bytes after the CONNECT payload",
	 {{C, "100f 00044d515454 04 02 003c 00026162 00"}},
	 {BAD(M3, C, 0, "CONNECT has trailing bytes (1)")},
	 1},
	{"a large SUBSCRIBE",
	 {{C, "82a09c01 0001"}},
	 {BADHEX(M3, C, "82a09c010001",
		 "SUBSCRIBE remaining length 20000 over 16384; no CONNECT seen, MQTT 3.1.1 assumed")},
	 1},
};

static size_t seg_bytes(const struct seg *s, uint8_t *out, size_t max)
{
	return unhex(s->hex, out, max);
}

/* How a case's segments are cut before feeding. */
enum cut {
	WHOLE,      /* each segment in one call */
	BYTES,      /* one byte per call */
	SPLIT,      /* segment `which` cut at `at` */
	COALESCE,   /* consecutive segments of one side in one call */
};

static struct feeder *run(const struct tcase *tc, enum cut cut, int which, size_t at)
{
	struct feeder *f = feeder_new(&gw_decoder_mqtt);
	uint8_t b[4096];

	for (int i = 0; i < (int)NELEM(tc->seg) && tc->seg[i].hex; i++) {
		size_t n = seg_bytes(&tc->seg[i], b, sizeof b);
		int side = tc->seg[i].side;

		if (cut == BYTES) {
			for (size_t j = 0; j < n; j++)
				feed(f, side, b + j, 1);
		} else if (cut == SPLIT && i == which) {
			feed(f, side, b, at);
			feed(f, side, b + at, n - at);
		} else if (cut == COALESCE) {
			/* Gather this side's following segments first. */
			while (i + 1 < (int)NELEM(tc->seg) && tc->seg[i + 1].hex &&
			       tc->seg[i + 1].side == side)
				n += seg_bytes(&tc->seg[++i], b + n, sizeof b - n);
			feed(f, side, b, n);
		} else {
			feed(f, side, b, n);
		}
	}
	return f;
}

static void check_want(const struct tcase *tc, int i, const struct report *r,
		       const struct want *w, int raw_prefix)
{
	uint8_t exp[4096];
	size_t n;

	if (r->kind != w->kind || strcmp(r->protocol, w->protocol) != 0 || r->from != w->from)
		fail_msg("%s: report %d is %c %s from %d, want %c %s from %d", tc->name, i, r->kind,
			 r->protocol, r->from, w->kind, w->protocol, w->from);
	if (w->key[0] == '\'') {
		n = strlen(w->key + 1);
		memcpy(exp, w->key + 1, n);
	} else {
		n = unhex(w->key, exp, sizeof exp);
	}
	if (r->key_len != n || memcmp(r->key, exp, n) != 0)
		fail_msg("%s: report %d key differs (%zu bytes, want %zu)", tc->name, i, r->key_len,
			 n);
	n = w->raw == RAW_HEX ? unhex(w->raw_hex, exp, sizeof exp)
			      : seg_bytes(&tc->seg[w->raw], exp, sizeof exp);
	if (raw_prefix ? r->raw_len > n || r->raw_len == 0 : r->raw_len != n)
		fail_msg("%s: report %d raw is %zu bytes, want %zu", tc->name, i, r->raw_len, n);
	if (memcmp(r->raw, exp, r->raw_len) != 0)
		fail_msg("%s: report %d raw bytes differ", tc->name, i);
	if (r->outcome != w->outcome)
		fail_msg("%s: report %d outcome %d, want %d", tc->name, i, r->outcome, w->outcome);
	if (w->outcome == MM_REPORTER_ERR_NUM &&
	    (r->num != w->num || strcmp(r->text, w->text) != 0))
		fail_msg("%s: report %d code %llu \"%s\", want %llu \"%s\"", tc->name, i,
			 (unsigned long long)r->num, r->text, (unsigned long long)w->num, w->text);
	if (w->outcome == MM_REPORTER_ERR_STD && r->std != w->std)
		fail_msg("%s: report %d std 0x%02X, want 0x%02X", tc->name, i, r->std, w->std);
	if (strcmp(r->detail, w->detail ? w->detail : "") != 0)
		fail_msg("%s: report %d detail \"%s\", want \"%s\"", tc->name, i, r->detail,
			 w->detail ? w->detail : "");
	if (r->kind == 'q' && r->timeout != 0)
		fail_msg("%s: report %d timeout %u", tc->name, i, r->timeout);
}

static void check_case(const struct tcase *tc, const struct feeder *f, int raw_prefix)
{
	int nw = 0;

	while (nw < (int)NELEM(tc->want) && tc->want[nw].kind)
		nw++;
	if (f->rec.n != nw)
		fail_msg("%s: %d reports, want %d", tc->name, f->rec.n, nw);
	for (int i = 0; i < nw; i++)
		check_want(tc, i, &f->rec.r[i], &tc->want[i],
			   raw_prefix && tc->want[i].outcome == MM_REPORTER_ERR_STD);
	if (f->stopped != tc->stops)
		fail_msg("%s: stopped %d, want %d", tc->name, f->stopped, tc->stops);
}

static void test_cases_whole(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct feeder *f = run(&cases[i], WHOLE, 0, 0);

		check_case(&cases[i], f, 0);
		feeder_free(f);
	}
}

/* The same streams in one-byte calls, in two pieces cut at every offset
 * of every segment, and with a side's consecutive segments in one call,
 * give the same reports. A malformed packet found from its fixed header
 * alone carries what was at hand, so there only a prefix is required. */
static void test_cases_split(void **state)
{
	uint8_t b[4096];

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct feeder *f = run(&cases[i], BYTES, 0, 0);

		check_case(&cases[i], f, 1);
		feeder_free(f);
		f = run(&cases[i], COALESCE, 0, 0);
		check_case(&cases[i], f, 1);
		feeder_free(f);
		for (int s = 0; s < (int)NELEM(cases[i].seg) && cases[i].seg[s].hex; s++) {
			size_t n = seg_bytes(&cases[i].seg[s], b, sizeof b);

			for (size_t at = 0; at <= n; at++) {
				f = run(&cases[i], SPLIT, s, at);
				check_case(&cases[i], f, 1);
				feeder_free(f);
			}
		}
	}
}

/* Every proper prefix of a valid packet is incomplete: data() returns 0,
 * reports nothing, and reads only what it was given (the bytes are in an
 * allocation of exactly that size). */
static void test_truncations(void **state)
{
	static const struct {
		int side;
		const char *hex;
	} packets[] = {
		{C, CONNECT311_WRONG}, {C, CONNECT5_WRONG}, {C, CONNECT5_OK},
		{S, CONNACK5_OK}, {S, "2003008700"}, {C, "320f000864656e6965642f740001006869"},
		{S, "4003000187"}, {C, "821a000100000973656e736f72732f6102000864656e6965642f6202"},
		{S, "90050001000202"}, {S, "e00f8e0d1f000a74616b656e206f766572"},
		{C, "101f00064d514973647003c2003c00046333316200036465760006736563726574"},
		{C, "a2080008000003612f62"}, {S, "b00400080011"},
	};
	uint8_t b[512];

	(void)state;
	for (size_t i = 0; i < NELEM(packets); i++) {
		size_t n = unhex(packets[i].hex, b, sizeof b);

		for (size_t k = 1; k < n; k++) {
			struct feeder *f = feeder_new(&gw_decoder_mqtt);
			uint8_t *copy = malloc(k);
			long r;

			assert_non_null(copy);
			memcpy(copy, b, k);
			r = gw_decoder_mqtt.data(f->state, (enum gw_side)packets[i].side, copy, k,
						 &f->sink);
			free(copy);
			if (r != 0 || f->rec.n != 0)
				fail_msg("packet %zu cut at %zu: returned %ld with %d reports", i, k,
					 r, f->rec.n);
			feeder_free(f);
		}
	}
}

/* A PUBLISH whose remaining length is over 16 KiB: its head is decoded,
 * its payload skipped, and the packet after it decoded. */
static void test_large_publish(void **state)
{
	static const uint8_t head[] = {0x32, 0xa0, 0x9c, 0x01, 0x00, 0x05, 'b', 'i',
				       'g', '/', 't', 0x00, 0x02};
	size_t total = 4 + 20000, cuts[] = {1, 7, 13, 100, 9000, total, total + 2};
	uint8_t *stream = malloc(total + 2);

	(void)state;
	assert_non_null(stream);
	memcpy(stream, head, sizeof head);
	for (size_t i = sizeof head; i < total; i++)
		stream[i] = (uint8_t)(i * 7);
	stream[total] = 0xc0; /* PINGREQ */
	stream[total + 1] = 0x00;
	for (size_t c = 0; c < NELEM(cuts); c++) {
		struct feeder *f = feeder_new(&gw_decoder_mqtt);

		/* In pieces of cuts[c] bytes. */
		for (size_t at = 0; at < total + 2; at += cuts[c]) {
			size_t n = total + 2 - at < cuts[c] ? total + 2 - at : cuts[c];

			feed(f, C, stream + at, n);
		}
		assert_int_equal(f->rec.n, 3);
		assert_int_equal(f->rec.r[0].kind, 'q');
		assert_int_equal(f->rec.r[0].key_len, 4);
		assert_memory_equal(f->rec.r[0].key, "Pc\x00\x02", 4);
		assert_int_equal(f->rec.r[0].raw_len, sizeof head);
		assert_memory_equal(f->rec.r[0].raw, head, sizeof head);
		assert_int_equal(f->rec.r[1].kind, 'p');
		assert_int_equal(f->rec.r[1].key_len, 5);
		assert_memory_equal(f->rec.r[1].key, "big/t", 5);
		assert_int_equal(f->rec.r[1].raw_len, sizeof head);
		assert_int_equal(f->rec.r[2].kind, 'q');
		assert_memory_equal(f->rec.r[2].key, "I", 1);
		assert_false(f->stopped);
		feeder_free(f);
	}
	free(stream);
}

/* Several packets in one call are all decoded, and the count returned
 * covers them and no more (a partial packet stays). */
static void test_several_in_one_call(void **state)
{
	uint8_t b[256];
	size_t n = unhex("c000 c000 c000 c0", b, sizeof b);
	struct feeder *f = feeder_new(&gw_decoder_mqtt);
	long r;

	(void)state;
	r = gw_decoder_mqtt.data(f->state, GW_CLIENT, b, n, &f->sink);
	assert_int_equal(r, 6);
	assert_int_equal(f->rec.n, 3);
	feeder_free(f);
}

/* A hole in the stream cannot be decoded past; the state is small. */
static void test_gap_and_state(void **state)
{
	uint8_t st[64] = {0};

	(void)state;
	assert_true(gw_decoder_mqtt.state_size <= sizeof st);
	assert_int_equal(gw_decoder_mqtt.gap(st, GW_CLIENT), GW_STOP);
	assert_string_equal(gw_decoder_mqtt.name, "mqtt");
	assert_string_equal(gw_decoder_mqtt.ports, "1883");
}

/* data/errmap/mqtt.map maps every code the cases report to the standard
 * code the case expects: the integration scenarios' codes in particular
 * (a wrong password is Authentication Failed in both versions, a denied
 * publish Authorization Failed). */
static void test_errmap(void **state)
{
	struct mm_errmap *map = NULL;
	struct mm_errmap_err err;
	int checked = 0;

	(void)state;
	if (mm_errmap_load_file(&map, MAMORI_SRCDIR "/data/errmap/mqtt.map", &err) != 0)
		fail_msg("mqtt.map:%d: %s", err.line, err.msg);
	for (size_t i = 0; i < NELEM(cases); i++) {
		for (size_t j = 0; j < NELEM(cases[i].want) && cases[i].want[j].kind; j++) {
			const struct want *w = &cases[i].want[j];
			struct mm_errmap_result r;

			if (w->outcome != MM_REPORTER_ERR_NUM)
				continue;
			assert_int_equal(mm_errmap_lookup_num(map, w->protocol, NULL, w->num, &r), 0);
			if (r.code != w->std)
				fail_msg("%s: %s code 0x%llX maps to %02X, want %02X", cases[i].name,
					 w->protocol, (unsigned long long)w->num, r.code, w->std);
			checked++;
		}
	}
	assert_true(checked >= 10);
	mm_errmap_free(map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases_whole),
		cmocka_unit_test(test_cases_split),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_large_publish),
		cmocka_unit_test(test_several_in_one_call),
		cmocka_unit_test(test_gap_and_state),
		cmocka_unit_test(test_errmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
