/*
 * What the unit tests of mamori-gw's protocol decoders share
 * (tests/unit/test_gw_{http,mqtt,coap,echonet,modbus}.c): a sink that
 * records every report field by field, a feeder that hands a decoder its
 * bytes the way the flow tracker does (a TCP stream kept until consumed,
 * skips honoured; or one datagram at a time), the ways a case's bytes are
 * cut before feeding, and two ways to compare what was reported with what a
 * case expects: field by field (struct gw_case) or as one line a report
 * (struct gw_line_case). It also checks that a data/errmap table maps each
 * code a decoder reports to the standard code the tests expect.
 *
 * Each test file includes it once after cmocka.h; everything here is
 * static and marked unused, so a file that leaves a part unused builds
 * without a warning.
 *
 * A line is "KIND SIDE key=HEX raw=HEX[ STATUS][ text=T][ t=MS][ d=DETAIL]":
 * KIND REQ, RESP, ERR or PER; SIDE C or S; STATUS OK, NUM n, NAME s or
 * STD xx (responses and errors only); t= a request's timeout when not 0;
 * d= the detail when the decoder gave one (even an empty one).
 */
#ifndef GW_DECODER_CHECK_H
#define GW_DECODER_CHECK_H

#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/errmap.h"
#include "sensor/sensor.h"

#ifndef MAMORI_SRCDIR
#define MAMORI_SRCDIR "."
#endif

#ifndef NELEM
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* Each test file uses only some of what is here. */
#define GW_STATIC static __attribute__((unused))

#define GW_REPORTS_MAX 40   /* reports one feeder records; one more fails the test */
#define GW_RAW_MAX 17000    /* bytes of a report's raw kept (an HTTP head is up to 16 KiB) */
#define GW_FEED_MAX 70000   /* bytes one side may hold unconsumed */
#define GW_SEG_BYTES 4096   /* bytes of one segment, or of a side's segments together */
#define GW_SEGS 12          /* segments of one case */
#define GW_WANTS 12         /* reports one case expects */
#define GW_LINE_MAX (2 * GW_RAW_MAX + 2 * GW_KEY_MAX + 512)

/* ---- the recording sink ---- */

struct gw_report {
	char kind; /* 'q' request, 'r' response, 'e' error, 'p' periodic */
	char protocol[32];
	int from;
	uint8_t key[GW_KEY_MAX];
	size_t key_len;
	uint8_t raw[GW_RAW_MAX];
	size_t raw_len;
	int has_status; /* responses and errors */
	int outcome;
	uint64_t num;
	char name[32];
	unsigned std;
	int has_text;
	char text[32];
	int has_detail;
	char detail[300];
	unsigned timeout;
};

/* What a test file's decoder is and how its cases are written. */
struct gw_suite {
	const struct gw_decoder *dec;
	const char *protocol; /* the Protocol of every report; NULL: each case names its own */
	int text;             /* segments (and literal raws) are text, not hex digits */
	size_t raw_max;       /* no report's raw may be longer; 0: GW_RAW_MAX */
	int no_skip;          /* data() never asks to skip bytes it was not given */
};

struct gw_feeder {
	const struct gw_suite *su;
	void *state;
	uint8_t buf[2][GW_FEED_MAX];
	size_t len[2];
	uint64_t skip[2];
	int stopped;
	struct gw_sink sink;
	struct gw_report r[GW_REPORTS_MAX];
	int n;
	char line[GW_LINE_MAX];
};

GW_STATIC void gw_copy_str(char *out, size_t size, const char *s)
{
	size_t n = strlen(s);

	assert_true(n < size);
	memcpy(out, s, n + 1);
}

GW_STATIC struct gw_report *gw_record(void *arg, char kind, const struct gw_msg *m)
{
	struct gw_feeder *f = arg;
	size_t raw_max = f->su->raw_max ? f->su->raw_max : GW_RAW_MAX;
	struct gw_report *r;

	assert_true(f->n < GW_REPORTS_MAX);
	r = &f->r[f->n++];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	assert_non_null(m->protocol);
	gw_copy_str(r->protocol, sizeof r->protocol, m->protocol);
	if (f->su->protocol)
		assert_string_equal(m->protocol, f->su->protocol);
	assert_true(m->from == GW_CLIENT || m->from == GW_SERVER);
	r->from = m->from;
	/* The copies touch every byte handed over, so that ASan sees a bad
	 * pointer or length. */
	assert_true(m->key_len <= GW_KEY_MAX);
	if (m->key_len)
		memcpy(r->key, m->key, m->key_len);
	r->key_len = m->key_len;
	assert_true(m->raw_len <= raw_max);
	if (m->raw_len)
		memcpy(r->raw, m->raw, m->raw_len);
	r->raw_len = m->raw_len;
	if (m->detail) {
		r->has_detail = 1;
		gw_copy_str(r->detail, sizeof r->detail, m->detail);
	}
	return r;
}

GW_STATIC void gw_put_status(struct gw_report *r, const struct mm_reporter_status *st)
{
	assert_non_null(st);
	r->has_status = 1;
	r->outcome = (int)st->outcome;
	r->num = st->num;
	r->std = st->std;
	if (st->outcome == MM_REPORTER_ERR_NAME) {
		assert_non_null(st->name);
		gw_copy_str(r->name, sizeof r->name, st->name);
	}
	if (st->text) {
		r->has_text = 1;
		gw_copy_str(r->text, sizeof r->text, st->text);
	}
}

GW_STATIC void gw_on_request(void *arg, const struct gw_msg *m, unsigned timeout_ms)
{
	gw_record(arg, 'q', m)->timeout = timeout_ms;
}

GW_STATIC void gw_on_response(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st)
{
	gw_put_status(gw_record(arg, 'r', m), st);
}

GW_STATIC void gw_on_error(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st)
{
	gw_put_status(gw_record(arg, 'e', m), st);
}

GW_STATIC void gw_on_periodic(void *arg, const struct gw_msg *m)
{
	gw_record(arg, 'p', m);
}

/* ---- the feeder ---- */

/* A fresh flow of the suite's decoder: zeroed state, no reports. */
GW_STATIC struct gw_feeder *gw_feeder_new(const struct gw_suite *su)
{
	struct gw_feeder *f = calloc(1, sizeof *f);

	assert_non_null(f);
	f->su = su;
	f->state = calloc(1, su->dec->state_size ? su->dec->state_size : 1);
	assert_non_null(f->state);
	f->sink.request = gw_on_request;
	f->sink.response = gw_on_response;
	f->sink.error = gw_on_error;
	f->sink.periodic = gw_on_periodic;
	f->sink.arg = f;
	return f;
}

GW_STATIC void gw_feeder_free(struct gw_feeder *f)
{
	if (f->su->dec->close)
		f->su->dec->close(f->state);
	free(f->state);
	free(f);
}

/* Forgets the reports so far; the flow goes on. */
GW_STATIC void gw_feeder_clear(struct gw_feeder *f)
{
	f->n = 0;
}

/* One call of data() with exactly n bytes in a heap block of their size,
 * so that a read past them is caught by AddressSanitizer. */
GW_STATIC long gw_data(struct gw_feeder *f, int side, const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	long r;

	assert_non_null(copy);
	if (n)
		memcpy(copy, p, n);
	r = f->su->dec->data(f->state, (enum gw_side)side, copy, n, &f->sink);
	free(copy);
	return r;
}

/*
 * Hands n bytes of one side to the decoder. UDP: one datagram, and data()
 * must return 0 (a datagram decoder never stops the flow). TCP, as the
 * flow tracker does: appends them to what the side kept, calls data()
 * while it consumes, drops what it asked to skip, and stops the flow at
 * GW_STOP.
 */
GW_STATIC void gw_feed(struct gw_feeder *f, int side, const uint8_t *p, size_t n)
{
	uint64_t s;

	if (f->su->dec->ipproto == IPPROTO_UDP) {
		assert_int_equal(gw_data(f, side, p, n), 0);
		return;
	}
	if (f->stopped)
		return;
	s = f->skip[side] < n ? f->skip[side] : n;
	f->skip[side] -= s;
	p += s;
	n -= s;
	assert_true(f->len[side] + n <= GW_FEED_MAX);
	if (n)
		memcpy(f->buf[side] + f->len[side], p, n);
	f->len[side] += n;
	while (f->len[side] > 0) {
		long r = gw_data(f, side, f->buf[side], f->len[side]);

		if (r == GW_STOP) {
			f->stopped = 1;
			return;
		}
		assert_true(r >= 0);
		if (r == 0)
			return;
		if ((uint64_t)r >= f->len[side]) {
			if (f->su->no_skip)
				assert_int_equal(r, f->len[side]);
			f->skip[side] = (uint64_t)r - f->len[side];
			f->len[side] = 0;
			return;
		}
		memmove(f->buf[side], f->buf[side] + r, f->len[side] - (size_t)r);
		f->len[side] -= (size_t)r;
	}
}

/* ---- bytes written in a case ---- */

GW_STATIC int gw_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex digits in pairs, spaces between pairs allowed; anything else fails. */
GW_STATIC size_t gw_unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;

	for (const char *h = hex; *h;) {
		int hi, lo;

		if (*h == ' ') {
			h++;
			continue;
		}
		hi = gw_hexval(h[0]);
		lo = hi < 0 ? -1 : gw_hexval(h[1]);
		if (hi < 0 || lo < 0)
			fail_msg("not hex digits at \"%s\" in \"%s\"", h, hex);
		assert_true(n < max);
		out[n++] = (uint8_t)(hi << 4 | lo);
		h += 2;
	}
	return n;
}

/* The bytes s stands for in the suite's notation. */
GW_STATIC size_t gw_bytes(const struct gw_suite *su, const char *s, uint8_t *out, size_t max)
{
	size_t n;

	if (!su->text)
		return gw_unhex(s, out, max);
	n = strlen(s);
	assert_true(n <= max);
	memcpy(out, s, n);
	return n;
}

/* A key as a case writes it: hex digits, 'text for literal bytes, or
 * NULL or "" for none. */
GW_STATIC size_t gw_key_bytes(const char *key, uint8_t *out, size_t max)
{
	size_t n;

	if (!key)
		return 0;
	if (key[0] != '\'')
		return gw_unhex(key, out, max);
	n = strlen(key + 1);
	assert_true(n <= max);
	memcpy(out, key + 1, n);
	return n;
}

/* ---- feeding a case ---- */

/* A piece of one side's bytes (for UDP, one datagram). */
struct gw_seg {
	int side;
	const char *s; /* in the suite's notation; NULL ends the list */
};

/* How a case's segments are cut before feeding (a UDP decoder always gets
 * one segment a datagram). */
enum gw_cut_kind {
	GW_WHOLE,    /* each segment in one call */
	GW_STEP,     /* each segment in pieces of `step` bytes */
	GW_SPLIT,    /* segment `which` in two, cut at `at` */
	GW_COALESCE, /* consecutive segments of one side in one call */
};

struct gw_cut {
	enum gw_cut_kind kind;
	size_t step;
	int which;
	size_t at;
};

#define GW_WHOLE_CUT ((struct gw_cut){GW_WHOLE, 0, 0, 0})

GW_STATIC size_t gw_nsegs(const struct gw_seg *seg, size_t max)
{
	size_t n = 0;

	while (n < max && seg[n].s)
		n++;
	return n;
}

/* Feeds the segments to a fresh flow, cut as asked; the caller frees it. */
GW_STATIC struct gw_feeder *gw_run(const struct gw_suite *su, const struct gw_seg *seg, size_t max,
				struct gw_cut cut)
{
	struct gw_feeder *f = gw_feeder_new(su);
	size_t nseg = gw_nsegs(seg, max);
	uint8_t *b = malloc(GW_SEG_BYTES);

	assert_non_null(b);
	for (size_t i = 0; i < nseg; i++) {
		size_t n = gw_bytes(su, seg[i].s, b, GW_SEG_BYTES);
		int side = seg[i].side;

		if (su->dec->ipproto == IPPROTO_UDP || cut.kind == GW_WHOLE) {
			gw_feed(f, side, b, n);
		} else if (cut.kind == GW_STEP) {
			for (size_t at = 0; at < n; at += cut.step)
				gw_feed(f, side, b + at, n - at < cut.step ? n - at : cut.step);
		} else if (cut.kind == GW_SPLIT && (int)i == cut.which) {
			assert_true(cut.at <= n);
			gw_feed(f, side, b, cut.at);
			gw_feed(f, side, b + cut.at, n - cut.at);
		} else if (cut.kind == GW_COALESCE) {
			while (i + 1 < nseg && seg[i + 1].side == side) {
				i++;
				n += gw_bytes(su, seg[i].s, b + n, GW_SEG_BYTES - n);
			}
			gw_feed(f, side, b, n);
		} else {
			gw_feed(f, side, b, n);
		}
	}
	free(b);
	return f;
}

/*
 * Calls check() with the segments fed in one-byte calls, with a side's
 * consecutive segments in one call, and cut in two at every offset of every
 * segment. A decoder that finds an error before the whole message is there
 * reports the bytes then at hand, so check() is told these are cut runs.
 */
GW_STATIC void gw_each_cut(const struct gw_suite *su, const struct gw_seg *seg, size_t max,
			void (*check)(const void *ctx, struct gw_feeder *f, const char *how),
			const void *ctx)
{
	uint8_t *b = malloc(GW_SEG_BYTES);
	size_t nseg = gw_nsegs(seg, max);
	char how[64];
	struct gw_feeder *f;

	assert_non_null(b);
	f = gw_run(su, seg, max, (struct gw_cut){GW_STEP, 1, 0, 0});
	check(ctx, f, "byte by byte");
	gw_feeder_free(f);
	f = gw_run(su, seg, max, (struct gw_cut){GW_COALESCE, 0, 0, 0});
	check(ctx, f, "a side's segments together");
	gw_feeder_free(f);
	for (size_t s = 0; s < nseg; s++) {
		size_t n = gw_bytes(su, seg[s].s, b, GW_SEG_BYTES);

		for (size_t at = 0; at <= n; at++) {
			snprintf(how, sizeof how, "segment %zu cut at %zu", s, at);
			f = gw_run(su, seg, max, (struct gw_cut){GW_SPLIT, 0, (int)s, at});
			check(ctx, f, how);
			gw_feeder_free(f);
		}
	}
	free(b);
}

/* Every proper prefix of msg (in the suite's notation), given alone to a
 * fresh flow in a block of exactly its size, is incomplete: data() returns
 * 0, reports nothing, and reads nothing past it. */
GW_STATIC void gw_check_prefixes_wait(const struct gw_suite *su, int side, const char *msg)
{
	uint8_t *b = malloc(GW_SEG_BYTES);
	size_t n;

	assert_non_null(b);
	n = gw_bytes(su, msg, b, GW_SEG_BYTES);
	for (size_t k = 1; k < n; k++) {
		struct gw_feeder *f = gw_feeder_new(su);
		long r = gw_data(f, side, b, k);

		if (r != 0 || f->n != 0)
			fail_msg("\"%s\" cut at %zu: returned %ld with %d reports", msg, k, r, f->n);
		gw_feeder_free(f);
	}
	free(b);
}

/* ---- cases checked field by field ---- */

#define GW_RAW_LIT (-1)

/* One expected report. */
struct gw_want {
	char kind;            /* 'q', 'r', 'e', 'p'; 0 ends the list */
	const char *protocol; /* NULL: the suite's */
	int from;
	const char *key;      /* hex, 'text, or NULL/"" for none */
	int raw;              /* the index of the segment that is the raw bytes, or GW_RAW_LIT */
	const char *raw_lit;  /* with GW_RAW_LIT: the raw bytes in the suite's notation */
	int outcome;
	uint64_t num;
	unsigned std;         /* ERR_STD: the code; ERR_NUM: what the table must map num to */
	const char *text;     /* the status's text; NULL: none */
	const char *detail;   /* NULL: none */
	unsigned timeout;     /* a request's */
};

struct gw_case {
	const char *name;
	struct gw_seg seg[GW_SEGS];
	struct gw_want want[GW_WANTS];
	int stops; /* the decoder must have returned GW_STOP */
};

GW_STATIC size_t gw_nwants(const struct gw_case *tc)
{
	size_t n = 0;

	while (n < GW_WANTS && tc->want[n].kind)
		n++;
	return n;
}

/* Report i against want i. raw_prefix: a nonempty prefix of the raw will
 * do (an error found before the whole message was at hand). */
GW_STATIC void gw_check_want(const struct gw_suite *su, const struct gw_case *tc, const char *how,
			  size_t i, const struct gw_report *r, int raw_prefix)
{
	const struct gw_want *w = &tc->want[i];
	const char *proto = w->protocol ? w->protocol : su->protocol;
	uint8_t *exp = malloc(GW_SEG_BYTES);
	size_t n;

	assert_non_null(exp);
	assert_non_null(proto);
	if (r->kind != w->kind || strcmp(r->protocol, proto) != 0 || r->from != w->from)
		fail_msg("%s (%s): report %zu is %c %s from %d, want %c %s from %d", tc->name, how, i,
			 r->kind, r->protocol, r->from, w->kind, proto, w->from);
	n = gw_key_bytes(w->key, exp, GW_SEG_BYTES);
	if (r->key_len != n || memcmp(r->key, exp, n) != 0)
		fail_msg("%s (%s): report %zu key differs (%zu bytes, want %zu)", tc->name, how, i,
			 r->key_len, n);
	n = w->raw == GW_RAW_LIT ? gw_bytes(su, w->raw_lit, exp, GW_SEG_BYTES)
				 : gw_bytes(su, tc->seg[w->raw].s, exp, GW_SEG_BYTES);
	if (raw_prefix ? r->raw_len > n || r->raw_len == 0 : r->raw_len != n)
		fail_msg("%s (%s): report %zu raw is %zu bytes, want %zu", tc->name, how, i,
			 r->raw_len, n);
	if (memcmp(r->raw, exp, r->raw_len) != 0)
		fail_msg("%s (%s): report %zu raw bytes differ", tc->name, how, i);
	free(exp);
	if (r->has_status != (w->kind == 'r' || w->kind == 'e') || r->outcome != w->outcome)
		fail_msg("%s (%s): report %zu outcome %d, want %d", tc->name, how, i, r->outcome,
			 w->outcome);
	if (w->outcome == MM_REPORTER_ERR_NUM && r->num != w->num)
		fail_msg("%s (%s): report %zu code %llu, want %llu", tc->name, how, i,
			 (unsigned long long)r->num, (unsigned long long)w->num);
	if (w->outcome == MM_REPORTER_ERR_STD && r->std != w->std)
		fail_msg("%s (%s): report %zu std 0x%02X, want 0x%02X", tc->name, how, i, r->std,
			 w->std);
	if (r->has_text != (w->text != NULL) || (w->text && strcmp(r->text, w->text) != 0))
		fail_msg("%s (%s): report %zu text \"%s\"%s, want \"%s\"", tc->name, how, i, r->text,
			 r->has_text ? "" : " (none)", w->text ? w->text : "(none)");
	if (r->has_detail != (w->detail != NULL) || (w->detail && strcmp(r->detail, w->detail) != 0))
		fail_msg("%s (%s): report %zu detail \"%s\"%s, want \"%s\"", tc->name, how, i,
			 r->detail, r->has_detail ? "" : " (none)", w->detail ? w->detail : "(none)");
	if (r->timeout != w->timeout)
		fail_msg("%s (%s): report %zu timeout %u, want %u", tc->name, how, i, r->timeout,
			 w->timeout);
}

/* Every report of a run against the case's wants, and whether it stopped.
 * In cut runs (how not NULL) an error's raw may be a prefix. */
GW_STATIC void gw_check_case(const struct gw_suite *su, const struct gw_case *tc,
			  const struct gw_feeder *f, const char *how)
{
	size_t nw = gw_nwants(tc);

	if ((size_t)f->n != nw)
		fail_msg("%s (%s): %d reports, want %zu", tc->name, how ? how : "whole", f->n, nw);
	for (size_t i = 0; i < nw; i++)
		gw_check_want(su, tc, how ? how : "whole", i, &f->r[i],
			      how && tc->want[i].outcome == MM_REPORTER_ERR_STD);
	if (f->stopped != tc->stops)
		fail_msg("%s (%s): stopped %d, want %d", tc->name, how ? how : "whole", f->stopped,
			 tc->stops);
}

/* Each case with every segment fed whole. */
GW_STATIC void gw_check_cases_whole(const struct gw_suite *su, const struct gw_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct gw_feeder *f = gw_run(su, cases[i].seg, GW_SEGS, GW_WHOLE_CUT);

		gw_check_case(su, &cases[i], f, NULL);
		gw_feeder_free(f);
	}
}

struct gw_cut_ctx {
	const struct gw_suite *su;
	const struct gw_case *tc;
};

GW_STATIC void gw_check_cut_run(const void *ctx, struct gw_feeder *f, const char *how)
{
	const struct gw_cut_ctx *c = ctx;

	gw_check_case(c->su, c->tc, f, how);
}

/* Each case cut every way gw_each_cut() knows gives the same reports. */
GW_STATIC void gw_check_cases_cut(const struct gw_suite *su, const struct gw_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct gw_cut_ctx c = {su, &cases[i]};

		gw_each_cut(su, cases[i].seg, GW_SEGS, gw_check_cut_run, &c);
	}
}

/* A test file's field-by-field cases, for the cmocka tests below
 * (cmocka_unit_test_prestate(gw_test_cases_whole, &set)). */
struct gw_case_set {
	const struct gw_suite *su;
	const struct gw_case *cases;
	size_t n;
};

/* Each case with every segment fed whole. */
GW_STATIC void gw_test_cases_whole(void **state)
{
	const struct gw_case_set *set = *state;

	gw_check_cases_whole(set->su, set->cases, set->n);
}

/* Each case fed in one-byte calls, with a side's consecutive segments in
 * one call, and cut in two at every offset of every segment, gives the
 * same reports; where the decoder finds an error before the whole message
 * is there, the raw it reports is what it then had, a prefix. */
GW_STATIC void gw_test_cases_cut(void **state)
{
	const struct gw_case_set *set = *state;

	gw_check_cases_cut(set->su, set->cases, set->n);
}

/* ---- cases checked line by line ---- */

struct gw_line_case {
	const char *name;
	struct gw_seg in[GW_SEGS];
	const char *want[GW_WANTS]; /* NULL ends the list */
};

GW_STATIC void gw_hex(char *out, size_t size, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";

	assert_true(2 * n < size);
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

GW_STATIC void gw_append(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

GW_STATIC void gw_append(char *out, size_t size, const char *fmt, ...)
{
	size_t at = strlen(out);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + at, size - at, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < size - at);
}

/* Report i as one line (see the top of the file), in f->line. */
GW_STATIC const char *gw_line(struct gw_feeder *f, int i)
{
	const struct gw_report *r;
	const char *kind;

	assert_true(i >= 0 && i < f->n);
	r = &f->r[i];
	kind = r->kind == 'q' ? "REQ" : r->kind == 'r' ? "RESP" : r->kind == 'e' ? "ERR" : "PER";
	snprintf(f->line, sizeof f->line, "%s %s key=", kind, r->from == GW_CLIENT ? "C" : "S");
	gw_hex(f->line + strlen(f->line), sizeof f->line - strlen(f->line), r->key, r->key_len);
	gw_append(f->line, sizeof f->line, " raw=");
	gw_hex(f->line + strlen(f->line), sizeof f->line - strlen(f->line), r->raw, r->raw_len);
	if (r->has_status) {
		switch (r->outcome) {
		case MM_REPORTER_OK: gw_append(f->line, sizeof f->line, " OK"); break;
		case MM_REPORTER_ERR_NUM:
			gw_append(f->line, sizeof f->line, " NUM %llu", (unsigned long long)r->num);
			break;
		case MM_REPORTER_ERR_NAME: gw_append(f->line, sizeof f->line, " NAME %s", r->name); break;
		case MM_REPORTER_ERR_STD: gw_append(f->line, sizeof f->line, " STD %02X", r->std); break;
		default: gw_append(f->line, sizeof f->line, " ?%d", r->outcome); break;
		}
	}
	if (r->has_text)
		gw_append(f->line, sizeof f->line, " text=%s", r->text);
	if (r->timeout)
		gw_append(f->line, sizeof f->line, " t=%u", r->timeout);
	if (r->has_detail)
		gw_append(f->line, sizeof f->line, " d=%s", r->detail);
	return f->line;
}

/* An expected line may carry spaces inside its raw hex for reading
 * (groups of hex digits after "raw="); they are dropped here. */
GW_STATIC void gw_squeeze_raw(const char *in, char *out, size_t size)
{
	const char *raw = strstr(in, "raw=");
	size_t at = 0;

	for (const char *s = in; *s; s++) {
		if (raw && s > raw && *s == ' ') {
			const char *t = s + 1;

			while ((*t >= '0' && *t <= '9') || (*t >= 'A' && *t <= 'F'))
				t++;
			if (t > s + 1 && (*t == ' ' || *t == '\0'))
				continue;
			raw = NULL;
		}
		assert_true(at + 1 < size);
		out[at++] = *s;
	}
	out[at] = '\0';
}

/* The reports are exactly these lines (at most max, NULL-ended). */
GW_STATIC void gw_expect_lines(struct gw_feeder *f, const char *name, const char *const *want,
			    size_t max)
{
	char *exp = malloc(GW_LINE_MAX);
	int i;

	assert_non_null(exp);
	for (i = 0; (size_t)i < max && want[i]; i++) {
		gw_squeeze_raw(want[i], exp, GW_LINE_MAX);
		if (i >= f->n)
			fail_msg("%s: report %d missing, want\n  %s", name, i, exp);
		if (strcmp(gw_line(f, i), exp) != 0)
			fail_msg("%s: report %d\n  got  %s\n  want %s", name, i, f->line, exp);
	}
	if (f->n != i)
		fail_msg("%s: %d reports, want %d; extra: %s", name, f->n, i, gw_line(f, i));
	free(exp);
}

/* Each case, fed cut as asked, gives exactly its lines. */
GW_STATIC void gw_check_line_cases(const struct gw_suite *su, const struct gw_line_case *cases,
				size_t n, struct gw_cut cut)
{
	for (size_t i = 0; i < n; i++) {
		struct gw_feeder *f = gw_run(su, cases[i].in, GW_SEGS, cut);
		char name[200];

		if (cut.kind == GW_STEP)
			snprintf(name, sizeof name, "%s (step %zu)", cases[i].name, cut.step);
		else
			snprintf(name, sizeof name, "%s", cases[i].name);
		gw_expect_lines(f, name, cases[i].want, GW_WANTS);
		gw_feeder_free(f);
	}
}

/* ---- the vendor mapping tables ---- */

GW_STATIC struct mm_errmap *gw_map_load(const char *file)
{
	char path[512];
	struct mm_errmap *map = NULL;
	struct mm_errmap_err err;

	snprintf(path, sizeof path, MAMORI_SRCDIR "/data/errmap/%s", file);
	if (mm_errmap_load_file(&map, path, &err) != 0)
		fail_msg("%s:%d: %s", file, err.line, err.msg);
	return map;
}

GW_STATIC void gw_map_expect(const struct mm_errmap *map, const char *protocol, uint64_t num,
			  unsigned std, const char *name)
{
	struct mm_errmap_result res;

	if (mm_errmap_lookup_num(map, protocol, NULL, num, &res) != 0)
		fail_msg("%s: %s code %llu (0x%llX) is in no table", name, protocol,
			 (unsigned long long)num, (unsigned long long)num);
	if (res.code != std)
		fail_msg("%s: %s code %llu (0x%llX) maps to %02X, want %02X", name, protocol,
			 (unsigned long long)num, (unsigned long long)num, res.code, std);
}

struct gw_code {
	uint64_t num;
	uint8_t std;
};

/* data/errmap/<file> maps each code to its standard code. */
GW_STATIC void gw_check_map(const char *file, const char *protocol, const struct gw_code *codes,
			 size_t n)
{
	struct mm_errmap *map = gw_map_load(file);

	for (size_t i = 0; i < n; i++)
		gw_map_expect(map, protocol, codes[i].num, codes[i].std, file);
	mm_errmap_free(map);
}

/* data/errmap/<file> maps every numeric code the cases expect to the
 * standard code they give with it; at least min of them. */
GW_STATIC void gw_check_cases_map(const struct gw_suite *su, const char *file,
			       const struct gw_case *cases, size_t n, int min)
{
	struct mm_errmap *map = gw_map_load(file);
	int checked = 0;

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < gw_nwants(&cases[i]); j++) {
			const struct gw_want *w = &cases[i].want[j];

			if (w->outcome != MM_REPORTER_ERR_NUM)
				continue;
			gw_map_expect(map, w->protocol ? w->protocol : su->protocol, w->num, w->std,
				      cases[i].name);
			checked++;
		}
	}
	assert_true(checked >= min);
	mm_errmap_free(map);
}

#endif
