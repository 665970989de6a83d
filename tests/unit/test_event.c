/*
 * mm_event_peek(): what one pass finds at the top level of a text — JSON or
 * not, the "event" name, an "Error Code" member — and its nesting bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/event.h"

static void test_table(void **state)
{
	static const struct {
		const char *text;
		int json, has_event, event_string, has_code;
		const char *name;
	} t[] = {
		{"{\"event\":\"guard.exec.denied\",\"path\":\"/tmp/x\"}", 1, 1, 1, 0,
		 "guard.exec.denied"},
		{"{\"a\":{\"event\":\"inner\"},\"event\":\"outer\"}", 1, 1, 1, 0, "outer"},
		{"{\"a\":{\"event\":\"inner\"}}", 1, 0, 0, 0, NULL},
		{"{\"event\":7}", 1, 1, 0, 0, NULL},
		{"{\"event\":[\"x\"]}", 1, 1, 0, 0, NULL},
		{"{\"Error Code\":\"30\",\"Protocol\":\"MQTT\"}", 1, 0, 0, 1, NULL},
		{"{\"x\":{\"Error Code\":\"30\"}}", 1, 0, 0, 0, NULL},
		{"[1,2,{\"event\":\"no\"}]", 1, 0, 0, 0, NULL},
		{"{\"event\":\"x\",}", 0, 1, 1, 0, "x"},
		{"not json", 0, 0, 0, 0, NULL},
		{"", 0, 0, 0, 0, NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct mm_event_peek k;

		assert_int_equal(mm_event_peek(t[i].text, strlen(t[i].text), &k), 0);
		if (k.json != t[i].json || k.has_event != t[i].has_event ||
		    k.event_string != t[i].event_string || k.has_error_code != t[i].has_code)
			fail_msg("case %zu (%s): json %d event %d string %d code %d", i, t[i].text,
				 k.json, k.has_event, k.event_string, k.has_error_code);
		if (t[i].name) {
			assert_string_equal(k.name, t[i].name);
			assert_int_equal(k.name_len, strlen(t[i].name));
		}
		assert_int_equal(k.too_deep, 0);
	}
}

/* MM_EVENT_MAX_DEPTH levels are JSON; one more is refused as too deep. */
static void test_depth(void **state)
{
	char buf[2 * (MM_EVENT_MAX_DEPTH + 1) + 1];
	struct mm_event_peek k;
	int d;

	(void)state;
	for (d = MM_EVENT_MAX_DEPTH; d <= MM_EVENT_MAX_DEPTH + 1; d++) {
		memset(buf, '[', (size_t)d);
		memset(buf + d, ']', (size_t)d);
		assert_int_equal(mm_event_peek(buf, (size_t)(2 * d), &k), 0);
		assert_int_equal(k.json, d <= MM_EVENT_MAX_DEPTH);
		assert_int_equal(k.too_deep, d > MM_EVENT_MAX_DEPTH);
	}
}

/* A name longer than the buffer is told by its length only. */
static void test_long_name(void **state)
{
	char text[400], name[201];
	struct mm_event_peek k;

	(void)state;
	memset(name, 'a', 200);
	name[200] = 0;
	snprintf(text, sizeof text, "{\"event\":\"%s\"}", name);
	assert_int_equal(mm_event_peek(text, strlen(text), &k), 0);
	assert_int_equal(k.json, 1);
	assert_int_equal(k.event_string, 1);
	assert_int_equal(k.name_len, 200);
	assert_string_equal(k.name, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_long_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
