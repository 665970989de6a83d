/*
 * Bounded buffers, hex and UTF-8 checks: every limit is hit and refused
 * cleanly, and the UTF-8 checker agrees with RFC 3629 on the classic cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/buf.h"
#include "mamori/error.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void bounded_growth(void **state)
{
	struct mm_buf b;
	size_t i;

	(void)state;
	mm_buf_init(&b, 100);
	for (i = 0; i < 10; i++)
		assert_int_equal(mm_buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(b.len, 100);
	/* Past the maximum: refused, content unchanged. */
	assert_int_equal(mm_buf_putc(&b, 'x'), MM_ETOOBIG);
	assert_int_equal(mm_buf_printf(&b, "%d", 7), MM_ETOOBIG);
	assert_int_equal(b.len, 100);
	assert_int_equal(b.data[100], '\0');
	mm_buf_consume(&b, 95);
	assert_string_equal(b.data, "56789");
	assert_int_equal(mm_buf_printf(&b, "-%s-%d", "ab", 42), 0);
	assert_string_equal(b.data, "56789-ab-42");
	mm_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	mm_buf_free(&b);
	/* A huge request does not overflow the size arithmetic. */
	mm_buf_init(&b, SIZE_MAX);
	assert_int_equal(mm_buf_putc(&b, 'a'), 0);
	assert_int_equal(mm_buf_reserve(&b, SIZE_MAX), MM_ETOOBIG);
	mm_buf_free(&b);
}

static void steal_and_empty(void **state)
{
	struct mm_buf b;
	char *p;

	(void)state;
	mm_buf_init(&b, 16);
	assert_null(mm_buf_steal(&b));
	assert_int_equal(mm_buf_reserve(&b, 0), 0);
	assert_string_equal(b.data, ""); /* a fresh allocation is terminated */
	assert_int_equal(mm_buf_puts(&b, "abc"), 0);
	p = mm_buf_steal(&b);
	assert_string_equal(p, "abc");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(p);
}

static void hex(void **state)
{
	static const uint8_t raw[] = {0x00, 0x01, 0xAB, 0xFF};
	struct mm_buf b;

	(void)state;
	mm_buf_init(&b, 8);
	assert_int_equal(mm_hex_encode(&b, raw, sizeof raw), 0);
	assert_string_equal(b.data, "0001ABFF");
	assert_int_equal(mm_hex_encode(&b, raw, 1), MM_ETOOBIG);
	mm_buf_free(&b);
	assert_true(mm_hex_valid("", 0));
	assert_true(mm_hex_valid("aBcD09", 6));
	assert_false(mm_hex_valid("abc", 3));
	assert_false(mm_hex_valid("0g", 2));
	assert_false(mm_hex_valid("00 ", 3));
	assert_int_equal(mm_hex_digit('0'), 0);
	assert_int_equal(mm_hex_digit('9'), 9);
	assert_int_equal(mm_hex_digit('a'), 10);
	assert_int_equal(mm_hex_digit('F'), 15);
	assert_int_equal(mm_hex_digit('g'), -1);
	assert_int_equal(mm_hex_digit('/'), -1);
	assert_int_equal(mm_hex_digit(-1), -1);
}

static void utf8(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		size_t bad; /* offset of the first invalid sequence, or len */
	} cases[] = {
		{"plain", 5, 5},
		{"\xE3\x81\xBE\xE3\x82\x82\xE3\x82\x8A", 9, 9}, /* まもり */
		{"\xF0\x9F\x98\x80", 4, 4},                     /* U+1F600 */
		{"a\xC0\xAF", 3, 1},                            /* overlong '/' */
		{"\xE0\x80\xAF", 3, 0},                         /* overlong, 3 bytes */
		{"\xED\xA0\x80", 3, 0},                         /* surrogate U+D800 */
		{"\xF4\x90\x80\x80", 4, 0},                     /* above U+10FFFF */
		{"ab\xE3\x81", 4, 2},                           /* truncated */
		{"\x80", 1, 0},                                 /* lone continuation */
		{"\xFF", 1, 0},
		{"\xC3\x28", 2, 0},
		{"a\0b", 3, 3},                                 /* NUL is valid UTF-8 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++)
		assert_int_equal(mm_utf8_check(cases[i].s, cases[i].len), cases[i].bad);
}

static void cursor(void **state)
{
	struct mm_cur c;
	const uint8_t *p;

	(void)state;
	mm_cur_init(&c, "ab", 2);
	assert_int_equal(mm_cur_peek(&c), 'a');
	assert_true(mm_cur_accept(&c, 'a'));
	assert_false(mm_cur_accept(&c, 'x'));
	assert_int_equal(mm_cur_take(&c, 2, &p), MM_EPARSE);
	assert_int_equal(mm_cur_take(&c, 1, &p), 0);
	assert_int_equal(*p, 'b');
	assert_true(mm_cur_eof(&c));
	assert_int_equal(mm_cur_getc(&c), -1);
	assert_int_equal(mm_cur_peek(&c), -1);
}

static void error_texts(void **state)
{
	(void)state;
	assert_string_equal(mm_strerror(MM_ETOOBIG), "too large");
	assert_string_equal(mm_strerror(MM_EUTF8), "invalid UTF-8");
	assert_string_equal(mm_strerror(-999), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bounded_growth), cmocka_unit_test(steal_and_empty),
		cmocka_unit_test(hex),            cmocka_unit_test(utf8),
		cmocka_unit_test(cursor),         cmocka_unit_test(error_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
