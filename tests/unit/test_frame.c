/*
 * Unit tests of the RFC 6587 frame decoder and encoder (lib/frame.c): each
 * framing fed whole, byte by byte and split at every offset; oversized,
 * malformed and unfinished frames; AUTO switching; stopping from the
 * callback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/frame.h"

#define MAX_FRAMES 256

/* What the callback saw, copied, since msg is only valid during the call. */
struct frame {
	char data[512];
	size_t len;
	int status;
};

struct coll {
	struct frame f[MAX_FRAMES];
	int n;
	int stop_after; /* return -42 after this many frames; 0: never */
	size_t max_seen;
};

static int on_msg(void *arg, const uint8_t *msg, size_t len, int status)
{
	struct coll *c = arg;
	struct frame *f;

	assert_true(c->n < MAX_FRAMES);
	assert_true(len <= sizeof c->f[0].data);
	assert_non_null(msg);
	f = &c->f[c->n++];
	memcpy(f->data, msg, len);
	f->len = len;
	f->status = status;
	if (len > c->max_seen)
		c->max_seen = len;
	return c->stop_after && c->n >= c->stop_after ? -42 : 0;
}

/* An expected frame. */
struct want {
	const char *data;
	int status;
};

static void check_frames(const struct coll *c, const struct want *w, int n, const char *how)
{
	if (c->n != n)
		fail_msg("%s: %d frames, want %d", how, c->n, n);
	for (int i = 0; i < n; i++) {
		const struct frame *f = &c->f[i];

		if (f->status != w[i].status || f->len != strlen(w[i].data) ||
		    memcmp(f->data, w[i].data, f->len) != 0)
			fail_msg("%s: frame %d is \"%.*s\" (%d), want \"%s\" (%d)", how, i,
				 (int)f->len, f->data, f->status, w[i].data, w[i].status);
	}
}

/* Feeds data in pieces cut at the given offsets (ascending), then finishes. */
static void run_cuts(enum mm_frame_mode mode, size_t max, const char *data, size_t len,
		     const size_t *cuts, int ncuts, struct coll *c)
{
	struct mm_frame_dec d;
	size_t prev = 0;

	memset(c, 0, sizeof *c);
	mm_frame_init(&d, mode, max);
	for (int i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		assert_int_equal(mm_frame_feed(&d, data + prev, end - prev, on_msg, c), 0);
		prev = end;
	}
	assert_int_equal(mm_frame_finish(&d, on_msg, c), 0);
	assert_int_equal(d.stats.bytes, len);
	mm_frame_free(&d);
}

/*
 * The whole check for one stream: fed whole, byte by byte, split once at
 * every offset and twice at every pair of offsets, the frames delivered are
 * always the same.
 */
static void check_stream(enum mm_frame_mode mode, size_t max, const char *data,
			 const struct want *w, int n)
{
	size_t len = strlen(data), cuts[2];
	struct coll *c = malloc(sizeof *c);
	struct mm_frame_dec d;
	char how[64];

	assert_non_null(c);
	run_cuts(mode, max, data, len, NULL, 0, c);
	check_frames(c, w, n, "whole");

	memset(c, 0, sizeof *c);
	mm_frame_init(&d, mode, max);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(mm_frame_feed(&d, data + i, 1, on_msg, c), 0);
	assert_int_equal(mm_frame_finish(&d, on_msg, c), 0);
	mm_frame_free(&d);
	check_frames(c, w, n, "byte by byte");

	for (size_t i = 0; i <= len; i++) {
		cuts[0] = i;
		run_cuts(mode, max, data, len, cuts, 1, c);
		snprintf(how, sizeof how, "split at %zu", i);
		check_frames(c, w, n, how);
		for (size_t j = i; j <= len; j++) {
			cuts[1] = j;
			run_cuts(mode, max, data, len, cuts, 2, c);
			snprintf(how, sizeof how, "split at %zu and %zu", i, j);
			check_frames(c, w, n, how);
		}
	}
	free(c);
}

static const char *const three[] = {
	"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed",
	"<165>1 - h app 8710 - [a b=\"c\\]\"] x",
	"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
};

static void test_octet_three(void **state)
{
	struct want w[3];
	struct mm_buf b;

	mm_buf_init(&b, 4096);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(mm_frame_encode_octet(&b, three[i], strlen(three[i])), 0);
		w[i] = (struct want){ three[i], 0 };
	}
	assert_memory_equal(b.data, "81 <34>1 ", 9);
	check_stream(MM_FRAME_OCTET, 0, b.data, w, 3);
	check_stream(MM_FRAME_AUTO, 0, b.data, w, 3);
	mm_buf_free(&b);
}

static void test_lf_three(void **state)
{
	struct want w[3];
	struct mm_buf b;

	mm_buf_init(&b, 4096);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(mm_buf_printf(&b, "%s\n", three[i]), 0);
		w[i] = (struct want){ three[i], 0 };
	}
	check_stream(MM_FRAME_LF, 0, b.data, w, 3);
	check_stream(MM_FRAME_AUTO, 0, b.data, w, 3);
	mm_buf_free(&b);
}

/* Frames are exactly max bytes, one over, and far over, in both framings;
 * the frames around an oversized one arrive intact. */
static void test_oversized_octet(void **state)
{
	static const struct want w[] = {
		{ "hello", 0 },
		{ "0123456789", MM_ETOOBIG },
		{ "abc", 0 },
		{ "ABCDEFGHIJ", 0 },
		{ "ABCDEFGHIJ", MM_ETOOBIG },
		{ "z", 0 },
	};
	const char *s = "5 hello20 0123456789abcdefghij3 abc10 ABCDEFGHIJ11 ABCDEFGHIJK1 z";

	check_stream(MM_FRAME_OCTET, 10, s, w, 6);
	check_stream(MM_FRAME_AUTO, 10, s, w, 6);
}

static void test_oversized_lf(void **state)
{
	static const struct want w[] = {
		{ "hello", 0 },
		{ "abcdefghij", MM_ETOOBIG },
		{ "abc", 0 },
		{ "ABCDEFGHIJ", 0 },
		{ "ABCDEFGHIJ", MM_ETOOBIG },
		{ "z", 0 },
	};
	/* No frame starts with a digit, which AUTO would take for MSG-LEN. */
	const char *s = "hello\nabcdefghijKLMNOPQRST\nabc\nABCDEFGHIJ\nABCDEFGHIJK\nz\n";

	check_stream(MM_FRAME_LF, 10, s, w, 6);
	check_stream(MM_FRAME_AUTO, 10, s, w, 6);
}

/* An oversized LF frame that the stream ends inside: reported once. */
static void test_oversized_lf_unfinished(void **state)
{
	static const struct want w[] = { { "x", 0 }, { "0123", MM_ETOOBIG } };

	check_stream(MM_FRAME_LF, 4, "x\n0123456789", w, 2);
}

/* A malformed MSG-LEN is reported with what was read up to the next LF,
 * and the frame after the LF arrives intact. */
static void test_malformed_count(void **state)
{
	static const struct want w1[] = { { "12a <13>x", MM_EPARSE }, { "hello", 0 } };
	static const struct want w2[] = { { "0 ", MM_EPARSE }, { "hello", 0 } };
	static const struct want w3[] = { { "012 abcdefghijkl", MM_EPARSE }, { "hello", 0 } };
	static const struct want w4[] = { { "<13>x", MM_EPARSE }, { "hello", 0 } };
	static const struct want w5[] = { { "", MM_EPARSE }, { "hello", 0 } };
	static const struct want w6[] = { { "5", MM_EPARSE }, { "hello", 0 } };

	check_stream(MM_FRAME_OCTET, 0, "12a <13>x\n5 hello", w1, 2);
	check_stream(MM_FRAME_AUTO, 0, "12a <13>x\n5 hello", w1, 2);
	check_stream(MM_FRAME_OCTET, 0, "0 \n5 hello", w2, 2);
	check_stream(MM_FRAME_AUTO, 0, "0 \n5 hello", w2, 2);
	check_stream(MM_FRAME_OCTET, 0, "012 abcdefghijkl\n5 hello", w3, 2);
	/* Octet-only mode refuses a frame that does not start with a digit. */
	check_stream(MM_FRAME_OCTET, 0, "<13>x\n5 hello", w4, 2);
	check_stream(MM_FRAME_OCTET, 0, "\n5 hello", w5, 2);
	check_stream(MM_FRAME_OCTET, 0, "5\n5 hello", w6, 2);
}

/* A malformed frame longer than max is kept to its first max bytes. */
static void test_malformed_long(void **state)
{
	static const struct want w[] = { { "1x234", MM_EPARSE }, { "ok", 0 } };

	check_stream(MM_FRAME_OCTET, 5, "1x23456789\n2 ok", w, 2);
}

/* A count past 2^64-1 cannot be skipped; it is malformed. One that fits in
 * 64 bits but is past max is oversized. */
static void test_huge_count(void **state)
{
	static const struct want w1[] = {
		{ "18446744073709551616 x", MM_EPARSE },
		{ "hello", 0 },
	};
	static const struct want w2[] = {
		{ "999999999999999999999999999999 x", MM_EPARSE },
		{ "hello", 0 },
	};
	static const struct want w3[] = { { "abc", MM_ETOOBIG } };

	check_stream(MM_FRAME_OCTET, 64, "18446744073709551616 x\n5 hello", w1, 2);
	check_stream(MM_FRAME_AUTO, 64, "999999999999999999999999999999 x\n5 hello", w2, 2);
	check_stream(MM_FRAME_OCTET, 3, "18446744073709551615 abcdef", w3, 1);
}

/* AUTO decides per frame. */
static void test_auto_switch(void **state)
{
	static const struct want w[] = {
		{ "hello", 0 },
		{ "<13>lf one", 0 },
		{ "abc", 0 },
		{ "<14>lf two", 0 },
		{ "12345", 0 },
		{ "x y", 0 },
	};
	const char *s = "5 hello<13>lf one\n3 abc<14>lf two\n5 12345x y";

	check_stream(MM_FRAME_AUTO, 0, s, w, 6);
}

/* LF mode keeps digits and counts as text. */
static void test_lf_digits(void **state)
{
	static const struct want w[] = { { "5 hello", 0 }, { "12a", 0 } };

	check_stream(MM_FRAME_LF, 0, "5 hello\n12a\n", w, 2);
}

/* Empty lines carry no message. */
static void test_empty_lines(void **state)
{
	static const struct want w[] = { { "abc", 0 }, { "d", 0 } };

	check_stream(MM_FRAME_LF, 0, "\n\nabc\n\n\nd\n\n", w, 2);
	check_stream(MM_FRAME_AUTO, 0, "\n3 abc\nd\n", w, 2);
}

static void test_finish(void **state)
{
	static const struct want lf[] = { { "one", 0 }, { "partial", 0 } };
	static const struct want oc[] = { { "one", 0 }, { "part", MM_EPARSE } };
	static const struct want cnt[] = { { "12", MM_EPARSE } };
	static const struct want none[] = { { "", 0 } };
	struct coll c;
	struct mm_frame_dec d;

	check_stream(MM_FRAME_LF, 0, "one\npartial", lf, 2);
	check_stream(MM_FRAME_OCTET, 0, "3 one10 part", oc, 2);
	check_stream(MM_FRAME_AUTO, 0, "3 one10 part", oc, 2);
	check_stream(MM_FRAME_OCTET, 0, "12", cnt, 1);
	check_stream(MM_FRAME_OCTET, 0, "", none, 0);

	/* After finish the decoder starts a new stream. */
	memset(&c, 0, sizeof c);
	mm_frame_init(&d, MM_FRAME_AUTO, 0);
	assert_int_equal(mm_frame_feed(&d, "10 part", 7, on_msg, &c), 0);
	assert_int_equal(mm_frame_finish(&d, on_msg, &c), 0);
	assert_int_equal(mm_frame_finish(&d, on_msg, &c), 0);
	assert_int_equal(mm_frame_feed(&d, "2 ok", 4, on_msg, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.f[0].status, MM_EPARSE);
	assert_int_equal(c.f[1].status, 0);
	assert_memory_equal(c.f[1].data, "ok", 2);
	assert_int_equal(d.stats.frames, 1);
	assert_int_equal(d.stats.malformed, 1);
	mm_frame_free(&d);
}

/* Many frames in one feed, and the counters. */
static void test_merged(void **state)
{
	struct coll *c = calloc(1, sizeof *c);
	struct mm_frame_dec d;
	struct mm_buf b;

	assert_non_null(c);
	mm_buf_init(&b, 1 << 16);
	for (int i = 0; i < 200; i++) {
		char msg[32];
		int n = snprintf(msg, sizeof msg, "<13>message %d", i);

		if (i % 2)
			assert_int_equal(mm_frame_encode_octet(&b, msg, (size_t)n), 0);
		else
			assert_int_equal(mm_buf_printf(&b, "%s\n", msg), 0);
	}
	assert_int_equal(mm_buf_puts(&b, "4 over\n\n99x\n"), 0);
	mm_frame_init(&d, MM_FRAME_AUTO, 14);
	assert_int_equal(mm_frame_feed(&d, b.data, b.len, on_msg, c), 0);
	assert_int_equal(mm_frame_finish(&d, on_msg, c), 0);
	assert_int_equal(c->n, 200 + 2);
	for (int i = 0; i < 200; i++) {
		char msg[32];
		int n = snprintf(msg, sizeof msg, "<13>message %d", i);

		/* "<13>message 100" and up are 15 bytes, over the max of 14. */
		assert_int_equal(c->f[i].status, n > 14 ? MM_ETOOBIG : 0);
		assert_int_equal(c->f[i].len, n > 14 ? 14 : (size_t)n);
		assert_memory_equal(c->f[i].data, msg, c->f[i].len);
	}
	/* After "4 over" come two empty LF frames, which pass unseen, and
	 * "99x", a malformed count. */
	assert_memory_equal(c->f[200].data, "over", 4);
	assert_int_equal(c->f[200].status, 0);
	assert_int_equal(c->f[201].status, MM_EPARSE);
	assert_int_equal(d.stats.frames, 100 + 1);
	assert_int_equal(d.stats.oversized, 100);
	assert_int_equal(d.stats.malformed, 1);
	assert_int_equal(d.stats.bytes, b.len);
	assert_int_equal(c->max_seen, 14);
	mm_frame_free(&d);
	mm_buf_free(&b);
	free(c);
}

/* A callback that returns a negative value stops the feed with it. */
static void test_stop(void **state)
{
	const char *s = "1 a1 b1 c1 d";
	struct coll c;
	struct mm_frame_dec d;

	memset(&c, 0, sizeof c);
	c.stop_after = 2;
	mm_frame_init(&d, MM_FRAME_OCTET, 0);
	assert_int_equal(mm_frame_feed(&d, s, strlen(s), on_msg, &c), -42);
	assert_int_equal(c.n, 2);
	assert_memory_equal(c.f[1].data, "b", 1);
	mm_frame_free(&d);

	memset(&c, 0, sizeof c);
	c.stop_after = 1;
	mm_frame_init(&d, MM_FRAME_LF, 0);
	assert_int_equal(mm_frame_feed(&d, "x\ny\nz", 5, on_msg, &c), -42);
	assert_int_equal(c.n, 1);
	/* finish reports its frame's callback value too. */
	memset(&c, 0, sizeof c);
	c.stop_after = 1;
	mm_frame_free(&d);
	mm_frame_init(&d, MM_FRAME_LF, 0);
	assert_int_equal(mm_frame_feed(&d, "tail", 4, on_msg, &c), 0);
	assert_int_equal(mm_frame_finish(&d, on_msg, &c), -42);
	assert_int_equal(c.n, 1);
	mm_frame_free(&d);
}

static void test_encode(void **state)
{
	struct mm_buf b;

	mm_buf_init(&b, 8);
	assert_int_equal(mm_frame_encode_octet(&b, "hello", 5), 0);
	assert_string_equal(b.data, "5 hello");
	assert_int_equal(mm_frame_encode_octet(&b, "x", 0), MM_EINVAL);
	assert_int_equal(mm_frame_encode_octet(&b, "ab", 2), MM_ETOOBIG);
	assert_string_equal(b.data, "5 hello");
	assert_int_equal(mm_frame_encode_octet(&b, "", 0), MM_EINVAL);
	mm_buf_free(&b);
	mm_buf_init(&b, 64);
	assert_int_equal(mm_frame_encode_octet(&b, "0123456789", 10), 0);
	assert_string_equal(b.data, "10 0123456789");
	mm_buf_free(&b);
}

static void test_default_max(void **state)
{
	struct mm_frame_dec d;

	mm_frame_init(&d, MM_FRAME_AUTO, 0);
	assert_int_equal(d.max_msg, MM_FRAME_DEFAULT_MAX);
	mm_frame_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_octet_three),
		cmocka_unit_test(test_lf_three),
		cmocka_unit_test(test_oversized_octet),
		cmocka_unit_test(test_oversized_lf),
		cmocka_unit_test(test_oversized_lf_unfinished),
		cmocka_unit_test(test_malformed_count),
		cmocka_unit_test(test_malformed_long),
		cmocka_unit_test(test_huge_count),
		cmocka_unit_test(test_auto_switch),
		cmocka_unit_test(test_lf_digits),
		cmocka_unit_test(test_empty_lines),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_merged),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_default_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
