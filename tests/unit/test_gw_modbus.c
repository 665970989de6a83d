/*
 * Unit tests of the Modbus/TCP decoder (gateway/sensor/modbus.c): every
 * request, response, exception and malformed ADU is reported exactly
 * (side, key, raw bytes, status, detail); every truncation of a valid ADU
 * waits for more; a stream fed whole, in one call for several ADUs, or byte
 * by byte gives the same reports; a gap is survived only at a boundary; and
 * data/errmap/modbus.map maps each exception code the tests produce.
 *
 * The ADUs are written out from MODBUS Application Protocol V1.1b3 (the
 * read holding registers example of section 6.3, the exception example of
 * section 7) inside the MBAP header of the Messaging on TCP/IP
 * Implementation Guide V1.0b, section 3.1.3.
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

/* ---- a sink that writes each report as one line ---- */

#define REC_MAX 32

struct rec {
	char line[REC_MAX][1024];
	size_t n;
	size_t overflow;
};

static void hex(char *out, size_t size, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t at = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && at + 3 <= size; i++) {
		snprintf(out + at, size - at, "%02X", b[i]);
		at += 2;
	}
}

static volatile uint8_t touch;

static void rec_add(void *arg, const char *kind, const struct gw_msg *m,
		    const struct mm_reporter_status *st, unsigned timeout)
{
	struct rec *r = arg;
	char key[2 * GW_KEY_MAX + 1], raw[2 * 260 + 1], status[64] = "";

	/* Every report is this decoder's protocol and its key fits the contract. */
	assert_string_equal(m->protocol, "Modbus/TCP");
	assert_true(m->key_len <= GW_KEY_MAX);
	assert_true(m->raw_len <= 260);
	/* Touch every byte handed over, so that ASan sees a bad pointer. */
	for (size_t i = 0; i < m->raw_len; i++)
		touch ^= ((const uint8_t *)m->raw)[i];
	for (size_t i = 0; i < m->key_len; i++)
		touch ^= ((const uint8_t *)m->key)[i];
	if (r->n >= REC_MAX) {
		r->overflow++;
		return;
	}
	hex(key, sizeof key, m->key, m->key_len);
	hex(raw, sizeof raw, m->raw, m->raw_len);
	if (st) {
		switch (st->outcome) {
		case MM_REPORTER_OK: snprintf(status, sizeof status, " OK"); break;
		case MM_REPORTER_ERR_NUM:
			snprintf(status, sizeof status, " NUM %llu", (unsigned long long)st->num);
			break;
		case MM_REPORTER_ERR_STD: snprintf(status, sizeof status, " STD %02X", st->std); break;
		default: snprintf(status, sizeof status, " ?"); break;
		}
		if (st->text)
			snprintf(status + strlen(status), sizeof status - strlen(status), " text=%s",
				 st->text);
	}
	if (timeout)
		snprintf(status + strlen(status), sizeof status - strlen(status), " t=%u", timeout);
	snprintf(r->line[r->n++], sizeof r->line[0], "%s %s key=%s raw=%s%s%s%s", kind,
		 m->from == GW_CLIENT ? "C" : "S", key, raw, status, m->detail ? " d=" : "",
		 m->detail ? m->detail : "");
}

static void on_request(void *arg, const struct gw_msg *m, unsigned timeout_ms)
{
	rec_add(arg, "REQ", m, NULL, timeout_ms);
}
static void on_response(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st)
{
	rec_add(arg, "RESP", m, st, 0);
}
static void on_error(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st)
{
	rec_add(arg, "ERR", m, st, 0);
}
static void on_periodic(void *arg, const struct gw_msg *m)
{
	rec_add(arg, "PER", m, NULL, 0);
}

static void sink_init(struct gw_sink *s, struct rec *r)
{
	memset(r, 0, sizeof *r);
	s->request = on_request;
	s->response = on_response;
	s->error = on_error;
	s->periodic = on_periodic;
	s->arg = r;
}

/* Compares what was reported with the expected lines (NULL-terminated). */
static void rec_expect(const struct rec *r, const char *name, const char *const *want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		if (i >= r->n)
			fail_msg("%s: report %zu missing, want\n  %s", name, i, want[i]);
		if (strcmp(r->line[i], want[i]) != 0)
			fail_msg("%s: report %zu\n  got  %s\n  want %s", name, i, r->line[i], want[i]);
	}
	if (r->n != i)
		fail_msg("%s: %zu reports, want %zu; extra: %s", name, r->n, i, r->line[i]);
	assert_int_equal(r->overflow, 0);
}

/* ---- feeding a stream as the flow tracker does ---- */

struct chunk {
	enum gw_side from;
	const char *hex;
};

static size_t unhex(const char *s, uint8_t *out, size_t size)
{
	size_t n = 0;

	for (; s[0] && s[1]; s += 2) {
		unsigned v;

		while (*s == ' ')
			s++;
		if (!s[0] || !s[1])
			break;
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		assert_true(n < size);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* One direction's buffer: unconsumed bytes kept, like the tracker. */
struct dir {
	uint8_t buf[4096];
	size_t len;
	int stopped;
};

/*
 * Appends bytes to a direction and calls data() while it consumes. Each
 * call gets a heap copy of exactly the bytes held, so that ASan sees a
 * read past them. Returns the last value data() returned.
 */
static long dir_feed(void *state, enum gw_side from, struct dir *d, const uint8_t *p, size_t n,
		     const struct gw_sink *sink)
{
	long rc = 0;

	if (d->stopped)
		return GW_STOP;
	assert_true(d->len + n <= sizeof d->buf);
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	while (d->len > 0) {
		uint8_t *copy = malloc(d->len);

		assert_non_null(copy);
		memcpy(copy, d->buf, d->len);
		rc = gw_decoder_modbus.data(state, from, copy, d->len, sink);
		free(copy);
		if (rc == GW_STOP) {
			d->stopped = 1;
			return rc;
		}
		assert_true(rc >= 0);
		assert_true((size_t)rc <= d->len); /* Modbus never skips */
		if (rc == 0)
			break;
		memmove(d->buf, d->buf + rc, d->len - (size_t)rc);
		d->len -= (size_t)rc;
	}
	return rc;
}

/* Feeds the chunks in pieces of step bytes (0: each chunk whole). */
static void run_stream(const struct chunk *c, size_t step, struct rec *r)
{
	struct gw_sink sink;
	struct dir dirs[2];
	void *state = calloc(1, gw_decoder_modbus.state_size);
	uint8_t bytes[1024];

	assert_non_null(state);
	sink_init(&sink, r);
	memset(dirs, 0, sizeof dirs);
	for (; c->hex; c++) {
		size_t n = unhex(c->hex, bytes, sizeof bytes);
		struct dir *d = &dirs[c->from == GW_SERVER];
		size_t s = step ? step : n;

		for (size_t off = 0; off < n; off += s)
			dir_feed(state, c->from, d, bytes + off, off + s <= n ? s : n - off, &sink);
	}
	free(state);
}

/* ---- the cases ---- */

/* Read holding registers 108..110 of unit 1 (V1.1b3 section 6.3). */
#define REQ_03 "0001 0000 0006 01 03 006B 0003"
#define REQ_03_RAW "0001000000060103006B0003"
#define RESP_03 "0001 0000 0009 01 03 06 022B 0000 0064"
#define RESP_03_RAW "000100000009010306022B00000064"
/* Read input register 9 (V1.1b3 section 6.4's example) of unit 0x11,
 * answered with exception 0x02, illegal data address (section 7). */
#define REQ_04 "0002 0000 0006 11 04 0008 0001"
#define REQ_04_RAW "000200000006110400080001"
#define EXC_04 "0002 0000 0003 11 84 02"
#define EXC_04_RAW "000200000003118402"
#define EXC_04_LINE                                                                         \
	"RESP S key=000211 raw=" EXC_04_RAW " NUM 2 text=0x02 d=exception 0x02 (illegal data " \
	"address) to function 0x04 read input registers"

struct stream_case {
	const char *name;
	struct chunk in[8];
	const char *want[8];
};

static const struct stream_case cases[] = {
	{"read holding registers, answered",
	 {{GW_CLIENT, REQ_03}, {GW_SERVER, RESP_03}, {0, NULL}},
	 {"REQ C key=000101 raw=" REQ_03_RAW, "RESP S key=000101 raw=" RESP_03_RAW " OK", NULL}},
	{"illegal data address",
	 {{GW_CLIENT, REQ_04}, {GW_SERVER, EXC_04}, {0, NULL}},
	 {"REQ C key=000211 raw=" REQ_04_RAW, EXC_04_LINE, NULL}},
	{"function 0x41 has no name; illegal function",
	 {{GW_CLIENT, "1234 0000 0002 FF 41"}, {GW_SERVER, "1234 0000 0003 FF C1 01"}, {0, NULL}},
	 {"REQ C key=1234FF raw=123400000002FF41",
	  "RESP S key=1234FF raw=123400000003FFC101 NUM 1 text=0x01 d=exception 0x01 (illegal "
	  "function) to function 0x41",
	  NULL}},
	{"gateway target failed; an exception code with no name",
	 {{GW_CLIENT, "0007 0000 0006 05 06 0001 0003"},
	  {GW_SERVER, "0007 0000 0003 05 86 0B"},
	  {GW_SERVER, "0008 0000 0003 05 86 0C"},
	  {0, NULL}},
	 {"REQ C key=000705 raw=000700000006050600010003",
	  "RESP S key=000705 raw=00070000000305860B NUM 11 text=0x0B d=exception 0x0B (gateway "
	  "target device failed to respond) to function 0x06 write single register",
	  "RESP S key=000805 raw=00080000000305860C NUM 12 text=0x0C d=exception 0x0C to "
	  "function 0x06 write single register",
	  NULL}},
	{"two requests in one segment, answered out of order in one segment",
	 {{GW_CLIENT, REQ_03 REQ_04}, {GW_SERVER, EXC_04 RESP_03}, {0, NULL}},
	 {"REQ C key=000101 raw=" REQ_03_RAW, "REQ C key=000211 raw=" REQ_04_RAW, EXC_04_LINE,
	  "RESP S key=000101 raw=" RESP_03_RAW " OK", NULL}},
	{"protocol identifier not 0 stops the flow",
	 {{GW_CLIENT, "0001 0001 0006 01 03 006B 0003"}, {GW_CLIENT, REQ_04}, {0, NULL}},
	 {"ERR C key= raw=00010001000601 STD 30 d=protocol identifier 0x0001, not 0",
	  NULL}},
	{"length 1 (no function code)",
	 {{GW_SERVER, "0001 0000 0001 01"}, {GW_SERVER, RESP_03}, {0, NULL}},
	 {"ERR S key= raw=00010000000101 STD 30 d=MBAP length 1 out of 2..254", NULL}},
	{"length 255",
	 {{GW_CLIENT, "0001 0000 00FF 01 03"}, {0, NULL}},
	 {"ERR C key= raw=0001000000FF01 STD 30 d=MBAP length 255 out of 2..254", NULL}},
	{"exception without its code, after a good response in the same segment",
	 {{GW_CLIENT, REQ_03}, {GW_SERVER, RESP_03 "0003 0000 0002 01 83"}, {0, NULL}},
	 {"REQ C key=000101 raw=" REQ_03_RAW, "RESP S key=000101 raw=" RESP_03_RAW " OK",
	  "ERR S key= raw=0003000000020183 STD 30 d=exception response to function 0x03 "
	  "without its exception code",
	  NULL}},
	{"a malformed server does not stop the client's direction's reports before it",
	 {{GW_CLIENT, REQ_03}, {GW_SERVER, "0001 0000 0000 01 03"}, {0, NULL}},
	 {"REQ C key=000101 raw=" REQ_03_RAW,
	  "ERR S key= raw=00010000000001 STD 30 d=MBAP length 0 out of 2..254", NULL}},
};

static void check_case(const struct stream_case *tc, size_t step)
{
	struct rec r;
	char name[160];

	run_stream(tc->in, step, &r);
	snprintf(name, sizeof name, "%s (step %zu)", tc->name, step);
	rec_expect(&r, name, tc->want);
}

static void test_streams(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++)
		check_case(&cases[i], 0);
}

/* The same streams fed one byte at a time, and in pieces of 5 bytes. */
static void test_streams_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		check_case(&cases[i], 1);
		check_case(&cases[i], 5);
	}
}

/* Every proper prefix of a valid ADU: data() wants more and reports nothing. */
static void test_truncations(void **state)
{
	static const char *const adus[] = {REQ_03, RESP_03, REQ_04, EXC_04};
	uint8_t bytes[64];
	struct gw_sink sink;
	struct rec r;
	void *st = calloc(1, gw_decoder_modbus.state_size);

	(void)state;
	assert_non_null(st);
	sink_init(&sink, &r);
	for (size_t i = 0; i < NELEM(adus); i++) {
		size_t n = unhex(adus[i], bytes, sizeof bytes);

		for (size_t k = 0; k < n; k++) {
			uint8_t *copy = malloc(k ? k : 1);

			assert_non_null(copy);
			memcpy(copy, bytes, k);
			assert_int_equal(gw_decoder_modbus.data(st, GW_SERVER, copy, k, &sink), 0);
			assert_int_equal(gw_decoder_modbus.data(st, GW_CLIENT, copy, k, &sink), 0);
			free(copy);
		}
		/* Whole, it is consumed. */
		assert_int_equal(gw_decoder_modbus.data(st, GW_CLIENT, bytes, n, &sink), (long)n);
	}
	assert_int_equal(r.n, NELEM(adus));
	free(st);
}

/* The longest ADU (length 254, 260 bytes) is one message; 255 is refused. */
static void test_longest(void **state)
{
	uint8_t adu[261];
	struct gw_sink sink;
	struct rec r;
	void *st = calloc(1, gw_decoder_modbus.state_size);

	(void)state;
	assert_non_null(st);
	sink_init(&sink, &r);
	memset(adu, 0xAB, sizeof adu);
	memcpy(adu, "\x00\x09\x00\x00\x00\xFE\x01\x10", 8);
	assert_int_equal(gw_decoder_modbus.data(st, GW_CLIENT, adu, 259, &sink), 0);
	assert_int_equal(gw_decoder_modbus.data(st, GW_CLIENT, adu, 261, &sink), 260);
	assert_int_equal(r.n, 1);
	assert_true(strncmp(r.line[0], "REQ C key=000901 raw=0009000000FE0110ABAB", 40) == 0);
	assert_int_equal(strlen(strstr(r.line[0], "raw=")), 4 + 2 * 260);
	adu[5] = 0xFF;
	assert_int_equal(gw_decoder_modbus.data(st, GW_CLIENT, adu, 261, &sink), GW_STOP);
	assert_int_equal(r.n, 2);
	assert_string_equal(strstr(r.line[1], " STD"), " STD 30 d=MBAP length 255 out of 2..254");
	/* The error's raw is the MBAP header that is wrong. */
	assert_true(strncmp(r.line[1], "ERR C key= raw=0009000000FF01 STD", 33) == 0);
	free(st);
}

/*
 * After a gap the next bytes are tried as a header: a plausible one goes
 * on, an implausible one stops the flow without an error report (the lost
 * bytes are the capture's fault, not the peer's).
 */
static void test_gap(void **state)
{
	uint8_t bytes[64];
	size_t n;
	struct gw_sink sink;
	struct rec r;
	void *st = calloc(1, gw_decoder_modbus.state_size);

	(void)state;
	assert_non_null(st);
	sink_init(&sink, &r);
	assert_int_equal(gw_decoder_modbus.gap(st, GW_CLIENT), 0);
	n = unhex(REQ_03, bytes, sizeof bytes);
	assert_int_equal(gw_decoder_modbus.data(st, GW_CLIENT, bytes, n, &sink), (long)n);
	assert_int_equal(r.n, 1);
	/* Resynchronised: a bad header now is the peer's and is reported. */
	n = unhex("0001 0007 0006 01 03 006B 0003", bytes, sizeof bytes);
	assert_int_equal(gw_decoder_modbus.data(st, GW_CLIENT, bytes, n, &sink), GW_STOP);
	assert_int_equal(r.n, 2);

	memset(st, 0, gw_decoder_modbus.state_size);
	sink_init(&sink, &r);
	assert_int_equal(gw_decoder_modbus.gap(st, GW_SERVER), 0);
	/* The tail of a read response: 0x6400 is no MBAP length. */
	n = unhex("2B 0000 0064 0000 0001 00", bytes, sizeof bytes);
	assert_int_equal(gw_decoder_modbus.data(st, GW_SERVER, bytes, n, &sink), GW_STOP);
	assert_int_equal(r.n, 0);
	free(st);
}

/* Each exception code the tests report maps as data/errmap/modbus.map says. */
static void test_errmap(void **state)
{
	static const struct {
		uint64_t code;
		uint8_t std;
	} want[] = {
		{0x01, 0x30}, {0x02, 0x31}, {0x0B, 0x10}, {0x0C, 0x3F},
	};
	struct mm_errmap *map = NULL;
	struct mm_errmap_err err;
	struct mm_errmap_result res;

	(void)state;
	assert_int_equal(mm_errmap_load_file(&map, MAMORI_SRCDIR "/data/errmap/modbus.map", &err), 0);
	for (size_t i = 0; i < NELEM(want); i++) {
		assert_int_equal(mm_errmap_lookup_num(map, "Modbus/TCP", NULL, want[i].code, &res), 0);
		if (res.code != want[i].std)
			fail_msg("exception 0x%02llX maps to %02X, want %02X",
				 (unsigned long long)want[i].code, res.code, want[i].std);
	}
	mm_errmap_free(map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streams),     cmocka_unit_test(test_streams_split),
		cmocka_unit_test(test_truncations), cmocka_unit_test(test_longest),
		cmocka_unit_test(test_gap),         cmocka_unit_test(test_errmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
