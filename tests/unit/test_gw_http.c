/*
 * Unit tests of mamori-gw's HTTP/1.x decoder (gateway/sensor/http.c):
 * exchanges written from RFC 9112 (requests in the form curl 7.88 sends
 * them), fed the way the flow tracker feeds them (whole, byte by byte,
 * split at every offset, a side's messages together), with every report
 * checked field by field; pipelining and the ring of remembered methods;
 * bodies by Content-Length, chunked coding and connection close; every
 * truncation of a valid head; malformed start lines and header sections;
 * and data/errmap/http.map giving each reported status its standard code.
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

#define MAX_REPORTS 40
#define RAW_MAX 17000

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

/* ---- cases ---- */

struct seg {
	int side;
	const char *text;
};

/* One expected report. key: the request number. raw: the index of the
 * segment that is the raw bytes, or RAW_TXT with raw_txt. */
struct want {
	char kind;
	int from;
	uint32_t key;
	int raw;
	const char *raw_txt;
	int outcome;
	uint64_t num;
	unsigned std; /* ERR_STD: the code; ERR_NUM: what http.map must map num to */
	const char *text;
	const char *detail;
};

#define RAW_TXT (-1)
#define REQ(key, raw, detail) {'q', C, key, raw, NULL, 0, 0, 0, NULL, detail}
#define REQT(key, txt, detail) {'q', C, key, RAW_TXT, txt, 0, 0, 0, NULL, detail}
#define OK(key, raw, detail) {'r', S, key, raw, NULL, 0, 0, 0, NULL, detail}
#define OKT(key, txt) {'r', S, key, RAW_TXT, txt, 0, 0, 0, NULL, NULL}
#define FAIL(key, raw, num, text, std) {'r', S, key, raw, NULL, MM_REPORTER_ERR_NUM, num, std, text, NULL}
#define FAILT(key, txt, num, text, std) {'r', S, key, RAW_TXT, txt, MM_REPORTER_ERR_NUM, num, std, text, NULL}
#define BAD(from, raw, detail) {'e', from, 0, raw, NULL, MM_REPORTER_ERR_STD, 0, 0x30, NULL, detail}
#define BADT(from, txt, detail) {'e', from, 0, RAW_TXT, txt, MM_REPORTER_ERR_STD, 0, 0x30, NULL, detail}

struct tcase {
	const char *name;
	struct seg seg[8];
	struct want want[8];
	int stops; /* the decoder must have returned GW_STOP */
};

#define CURL_GET "GET / HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"

static const struct tcase cases[] = {
	{"pipelined GET: 200 with a body, then 401",
	 {{C, CURL_GET},
	  {C, "GET /admin HTTP/1.1\r\nHost: 10.0.0.2\r\nAuthorization: Basic ZGV2Ondyb25n\r\n\r\n"},
	  {S, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
	  {S, "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"dev\"\r\n"
	      "Content-Length: 0\r\n\r\n"}},
	 {REQ(1, 0, NULL), REQ(2, 1, NULL), OKT(1, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
	  FAIL(2, 3, 401, "401", 0x20)},
	 0},
	{"POST with a body; 500 chunked with extension and trailer; 403",
	 {{C, "POST /api/v1/state HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
	      "Content-Length: 13\r\n\r\n{\"on\": true}\n"},
	  {S, "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "5;x=1\r\nerror\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n"},
	  {C, "DELETE /x HTTP/1.1\r\nHost: d\r\n\r\n"},
	  {S, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"}},
	 {REQT(1, "POST /api/v1/state HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
		  "Content-Length: 13\r\n\r\n{\"on\": true}\n", NULL),
	  FAILT(1, "HTTP/1.1 500 Internal Server Error\r\n"
				     "Transfer-Encoding: chunked\r\n\r\n", 500, "500", 0x41),
	  REQ(2, 2, NULL), FAIL(2, 3, 403, "403", 0x23)},
	 0},
	{"HEAD has no body in its answer; 100 Continue answers nothing",
	 {{C, "HEAD /f HTTP/1.1\r\nHost: d\r\n\r\n"},
	  {C, "PUT /f HTTP/1.1\r\nHost: d\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"},
	  {S, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"},
	  {S, "HTTP/1.1 100 Continue\r\n\r\n"}, {C, "abc"},
	  {S, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"}},
	 {REQ(1, 0, NULL), REQ(2, 1, NULL), OK(1, 2, NULL), FAIL(2, 5, 404, "404", 0x31)},
	 0},
	{"204 and 304 have no body",
	 {{C, "DELETE /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nIf-None-Match: \"x\"\r\n\r\n"
	      "GET /c HTTP/1.1\r\n\r\n"},
	  {S, "HTTP/1.1 204 No Content\r\n\r\n"},
	  {S, "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"},
	  {S, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"}},
	 {REQT(1, "DELETE /a HTTP/1.1\r\n\r\n", NULL),
	  REQT(2, "GET /b HTTP/1.1\r\nIf-None-Match: \"x\"\r\n\r\n", NULL),
	  REQT(3, "GET /c HTTP/1.1\r\n\r\n", NULL), OK(1, 1, NULL),
	  OK(2, 2, NULL), FAIL(3, 3, 405, "405", 0x30)},
	 0},
	{"HTTP/1.0 response without a length ends with the connection",
	 {{C, "GET /status HTTP/1.0\r\n\r\n"},
	  {S, "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nbusy"},
	  {S, "HTTP/1.1 200 OK\r\n\r\n"}},
	 {REQ(1, 0, NULL), FAILT(1, "HTTP/1.0 503 Service Unavailable\r\n"
			       "Content-Type: text/plain\r\n\r\n", 503, "503", 0x42)},
	 0},
	{"101 Switching Protocols ends decoding, without an error",
	 {{C, "GET /ws HTTP/1.1\r\nHost: d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"},
	  {S, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"},
	  {C, "\x81\x85mask!"}},
	 {REQ(1, 0, NULL), OKT(1, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")},
	 1},
	{"a 2xx answer to CONNECT opens a tunnel",
	 {{C, "CONNECT d:443 HTTP/1.1\r\nHost: d:443\r\n\r\n"},
	  {S, "HTTP/1.1 200 Connection established\r\n\r\n"}, {C, "\x16\x03\x01\x02"}},
	 {REQ(1, 0, NULL), OK(1, 1, NULL)},
	 1},
	{"empty line after a POST body; bare LF line ends",
	 {{C, "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi\r\n"},
	  {C, "GET /b HTTP/1.1\nHost: d\n\n"},
	  {S, "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"},
	  {S, "HTTP/1.1 404 Not Found\nContent-Length: 2\n\nno"}},
	 {REQT(1, "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", NULL), REQ(2, 1, NULL),
	  OKT(1, "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
	  FAILT(2, "HTTP/1.1 404 Not Found\nContent-Length: 2\n\nno", 404, "404", 0x31)},
	 0},
	{"a response whose request was not seen; a status line without reason",
	 {{S, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"},
	  {S, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"}},
	 {FAIL(1, 0, 407, "407", 0x20), OK(2, 1, NULL)},
	 0},
	{"Transfer-Encoding wins over Content-Length, and is remarked",
	 {{C, "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "0\r\n\r\nGET /next HTTP/1.1\r\n\r\n"}},
	 {REQT(1, "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
	       "Transfer-Encoding and Content-Length both present"),
	  REQT(2, "GET /next HTTP/1.1\r\n\r\n", NULL)},
	 0},
	{"Content-Length list of one value; 413 and 505",
	 {{C, "PUT /big HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc"},
	  {C, "GET / HTTP/1.9\r\n\r\n"},
	  {S, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n"},
	  {S, "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Length: 0\r\n\r\n"}},
	 {REQT(1, "PUT /big HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc", NULL), REQ(2, 1, NULL),
	  FAIL(1, 2, 413, "413", 0x31),
	  FAIL(2, 3, 505, "505", 0x31)},
	 0},
	{"HTTP/2 with prior knowledge: not ours, not an error",
	 {{C, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"}},
	 {{0}},
	 1},
	/* Malformed. */
	{"TLS sent to the HTTP port",
	 {{C, "\x16\x03\x01\x02\x01\x01\x03\x03"}},
	 {BAD(C, 0, "request line starts with byte 0x16, not a method")},
	 1},
	{"a byte that is not a token character in the method",
	 {{C, "G\x01T / HTTP/1.1\r\n\r\n"}},
	 {BAD(C, 0, "request method has byte 0x01, not a token character")},
	 1},
	{"space before the colon",
	 {{C, "GET / HTTP/1.1\r\nHost : d\r\n\r\n"}},
	 {BAD(C, 0, "header field name has byte 0x20")},
	 1},
	{"obsolete line folding",
	 {{C, "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"}},
	 {BAD(C, 0, "obsolete line folding in the header")},
	 1},
	{"control byte in a header value",
	 {{C, "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n"}},
	 {BAD(C, 0, "header field value has byte 0x01")},
	 1},
	{"HTTP/2.0 request line",
	 {{C, "GET / HTTP/2.0\r\n\r\n"}},
	 {BAD(C, 0, "request version HTTP/2.0 is not HTTP/1.x")},
	 1},
	{"request line without a version",
	 {{C, "GET /\r\n\r\n"}},
	 {BAD(C, 0, "request line has no HTTP version")},
	 1},
	{"request line with a space in the target",
	 {{C, "GET /a b HTTP/1.1\r\n\r\n"}},
	 {BAD(C, 0, "request line does not end in HTTP/1.x")},
	 1},
	{"Content-Length values differ",
	 {{C, "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"}},
	 {BAD(C, 0, "Content-Length values 3 and 4 differ")},
	 1},
	{"Content-Length not a number",
	 {{C, "POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n"}},
	 {BAD(C, 0, "Content-Length is not a number")},
	 1},
	{"request Transfer-Encoding not ending in chunked",
	 {{C, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"}},
	 {BAD(C, 0, "request Transfer-Encoding does not end in chunked")},
	 1},
	{"chunk size not hexadecimal",
	 {{C, CURL_GET}, {S, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}},
	 {REQ(1, 0, NULL), OKT(1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
	  BADT(S, "zz\r\n", "chunk size is not hexadecimal")},
	 1},
	{"chunk data longer than its size",
	 {{C, CURL_GET}, {S, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n"}},
	 {REQ(1, 0, NULL), OKT(1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
	  BADT(S, "c\r", "chunk data not followed by a line end")},
	 1},
	{"status code of letters",
	 {{S, "HTTP/1.1 2x0 OK\r\n\r\n"}},
	 {BAD(S, 0, "status code is not three digits")},
	 1},
	{"status code below 100",
	 {{S, "HTTP/1.1 099 X\r\n\r\n"}},
	 {BAD(S, 0, "status code 099 below 100")},
	 1},
	{"not a status line",
	 {{S, "SSH-2.0-OpenSSH_9.2\r\n"}},
	 {BAD(S, 0, "status line does not start with HTTP/1.x")},
	 1},
};

static size_t seg_bytes(const struct seg *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s->text);

	assert_true(n <= max);
	memcpy(out, s->text, n);
	return n;
}

/* How a case's segments are cut before feeding. */
enum cut {
	WHOLE,    /* each segment in one call */
	BYTES,    /* one byte per call */
	SPLIT,    /* segment `which` cut at `at` */
	COALESCE, /* consecutive segments of one side in one call */
};

static struct feeder *run(const struct tcase *tc, enum cut cut, int which, size_t at)
{
	struct feeder *f = feeder_new(&gw_decoder_http);
	uint8_t b[4096];

	for (int i = 0; i < (int)NELEM(tc->seg) && tc->seg[i].text; i++) {
		size_t n = seg_bytes(&tc->seg[i], b, sizeof b);
		int side = tc->seg[i].side;

		if (cut == BYTES) {
			for (size_t j = 0; j < n; j++)
				feed(f, side, b + j, 1);
		} else if (cut == SPLIT && i == which) {
			feed(f, side, b, at);
			feed(f, side, b + at, n - at);
		} else if (cut == COALESCE) {
			while (i + 1 < (int)NELEM(tc->seg) && tc->seg[i + 1].text &&
			       tc->seg[i + 1].side == side)
				n += seg_bytes(&tc->seg[++i], b + n, sizeof b - n);
			feed(f, side, b, n);
		} else {
			feed(f, side, b, n);
		}
	}
	return f;
}

/* The raw bytes a want names. */
static size_t want_raw(const struct tcase *tc, const struct want *w, uint8_t *out, size_t max)
{
	size_t n;

	if (w->raw != RAW_TXT)
		return seg_bytes(&tc->seg[w->raw], out, max);
	n = strlen(w->raw_txt);
	assert_true(n <= max);
	memcpy(out, w->raw_txt, n);
	return n;
}

static void check_want(const struct tcase *tc, int i, const struct report *r,
		       const struct want *w, int raw_prefix)
{
	uint8_t exp[4096];
	size_t n;

	if (r->kind != w->kind || strcmp(r->protocol, "HTTP") != 0 || r->from != w->from)
		fail_msg("%s: report %d is %c %s from %d, want %c HTTP from %d", tc->name, i,
			 r->kind, r->protocol, r->from, w->kind, w->from);
	if (w->kind == 'e') {
		if (r->key_len != 0)
			fail_msg("%s: report %d has a key", tc->name, i);
	} else {
		exp[0] = (uint8_t)(w->key >> 24);
		exp[1] = (uint8_t)(w->key >> 16);
		exp[2] = (uint8_t)(w->key >> 8);
		exp[3] = (uint8_t)w->key;
		if (r->key_len != 4 || memcmp(r->key, exp, 4) != 0)
			fail_msg("%s: report %d key differs", tc->name, i);
	}
	n = want_raw(tc, w, exp, sizeof exp);
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

/* The same streams in one-byte calls, cut in two at every offset of every
 * segment, and with a side's consecutive segments in one call, give the
 * same reports. A malformed start line is refused as soon as it cannot
 * become valid, with the bytes then at hand, so there only a prefix of
 * the raw bytes is required. */
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
		for (int s = 0; s < (int)NELEM(cases[i].seg) && cases[i].seg[s].text; s++) {
			size_t n = seg_bytes(&cases[i].seg[s], b, sizeof b);

			for (size_t at = 0; at <= n; at++) {
				f = run(&cases[i], SPLIT, s, at);
				check_case(&cases[i], f, 1);
				feeder_free(f);
			}
		}
	}
}

/* Every proper prefix of a valid head is incomplete: data() returns 0,
 * reports nothing, and reads only what it was given. */
static void test_truncations(void **state)
{
	static const struct {
		int side;
		const char *text;
	} heads[] = {
		{C, CURL_GET},
		{C, "POST /api HTTP/1.1\r\nContent-Length: 13\r\n\r\n"},
		{C, "GET /b HTTP/1.1\nHost: d\n\n"},
		{S, "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"dev\"\r\n\r\n"},
		{S, "HTTP/1.0 200\r\n\r\n"},
	};

	(void)state;
	for (size_t i = 0; i < NELEM(heads); i++) {
		size_t n = strlen(heads[i].text);

		for (size_t k = 1; k < n; k++) {
			struct feeder *f = feeder_new(&gw_decoder_http);
			uint8_t *copy = malloc(k);
			long r;

			assert_non_null(copy);
			memcpy(copy, heads[i].text, k);
			r = gw_decoder_http.data(f->state, (enum gw_side)heads[i].side, copy, k,
						 &f->sink);
			free(copy);
			if (r != 0 || f->rec.n != 0)
				fail_msg("head %zu cut at %zu: returned %ld with %d reports", i, k, r,
					 f->rec.n);
			feeder_free(f);
		}
	}
}

/* Content-Length bodies larger than the buffer are skipped, not held: the
 * count returned runs past the bytes given. */
static void test_skip_large_body(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
	struct feeder *f = feeder_new(&gw_decoder_http);
	long r;

	(void)state;
	r = gw_decoder_http.data(f->state, GW_SERVER, (const uint8_t *)head, strlen(head), &f->sink);
	assert_int_equal(r, (long)strlen(head) + 1000000);
	assert_int_equal(f->rec.n, 1);
	feeder_free(f);
}

/* A head that does not end within 16 KiB is malformed. */
static void test_head_too_long(void **state)
{
	size_t n = 17000;
	char *p = malloc(n);
	struct feeder *f = feeder_new(&gw_decoder_http);

	(void)state;
	assert_non_null(p);
	memcpy(p, "GET / HTTP/1.1\r\nX: ", 19);
	memset(p + 19, 'a', n - 19);
	feed(f, C, (const uint8_t *)p, 16383);
	assert_int_equal(f->rec.n, 0);
	feed(f, C, (const uint8_t *)p + 16383, n - 16383);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.r[0].kind, 'e');
	assert_string_equal(f->rec.r[0].detail, "request head over 16384 bytes");
	assert_int_equal(f->rec.r[0].raw_len, 16384);
	assert_true(f->stopped);
	feeder_free(f);
	free(p);
}

/* Seventeen pipelined HEAD requests: the ring holds sixteen methods, so
 * the seventeenth answer is read as having a body (its Content-Length),
 * and says so. */
static void test_ring(void **state)
{
	static const char req[] = "HEAD / HTTP/1.1\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n";
	struct feeder *f = feeder_new(&gw_decoder_http);

	(void)state;
	for (int i = 0; i < 17; i++)
		feed(f, C, (const uint8_t *)req, strlen(req));
	for (int i = 0; i < 16; i++)
		feed(f, S, (const uint8_t *)resp, strlen(resp));
	feed(f, S, (const uint8_t *)resp, strlen(resp));
	feed(f, S, (const uint8_t *)"body", 4);
	feed(f, S, (const uint8_t *)"HTTP/1.1 404 Not Found\r\n\r\n", 26);
	assert_int_equal(f->rec.n, 17 + 17 + 1);
	assert_int_equal(f->rec.r[16].kind, 'q');
	assert_memory_equal(f->rec.r[16].key, "\x00\x00\x00\x11", 4);
	assert_string_equal(f->rec.r[32].detail, "");
	assert_string_equal(f->rec.r[33].detail,
			    "request method not remembered (more than 16 requests waiting)");
	assert_int_equal(f->rec.r[34].kind, 'r');
	assert_int_equal(f->rec.r[34].num, 404);
	assert_memory_equal(f->rec.r[34].key, "\x00\x00\x00\x12", 4);
	assert_false(f->stopped);
	feeder_free(f);
}

/* A hole is survivable only inside a body that runs to the connection's
 * end; the state is small. */
static void test_gap_and_state(void **state)
{
	static const char resp[] = "HTTP/1.0 200 OK\r\n\r\n";
	struct feeder *f = feeder_new(&gw_decoder_http);

	(void)state;
	assert_true(gw_decoder_http.state_size <= 256);
	assert_int_equal(gw_decoder_http.gap(f->state, GW_SERVER), GW_STOP);
	feed(f, S, (const uint8_t *)resp, strlen(resp));
	assert_int_equal(gw_decoder_http.gap(f->state, GW_SERVER), 0);
	assert_int_equal(gw_decoder_http.gap(f->state, GW_CLIENT), GW_STOP);
	assert_string_equal(gw_decoder_http.ports, "80,8080");
	feeder_free(f);
}

/* data/errmap/http.map maps every status the cases report to the standard
 * code the case expects (401 and 407 Authentication Failed, 403
 * Authorization Failed, ...). */
static void test_errmap(void **state)
{
	struct mm_errmap *map = NULL;
	struct mm_errmap_err err;
	int checked = 0;

	(void)state;
	if (mm_errmap_load_file(&map, MAMORI_SRCDIR "/data/errmap/http.map", &err) != 0)
		fail_msg("http.map:%d: %s", err.line, err.msg);
	for (size_t i = 0; i < NELEM(cases); i++) {
		for (size_t j = 0; j < NELEM(cases[i].want) && cases[i].want[j].kind; j++) {
			const struct want *w = &cases[i].want[j];
			struct mm_errmap_result r;

			if (w->outcome != MM_REPORTER_ERR_NUM)
				continue;
			assert_int_equal(mm_errmap_lookup_num(map, "HTTP", NULL, w->num, &r), 0);
			if (r.code != w->std)
				fail_msg("%s: status %llu maps to %02X, want %02X", cases[i].name,
					 (unsigned long long)w->num, r.code, w->std);
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
		cmocka_unit_test(test_skip_large_body),
		cmocka_unit_test(test_head_too_long),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_gap_and_state),
		cmocka_unit_test(test_errmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
