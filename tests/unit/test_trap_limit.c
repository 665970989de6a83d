/*
 * mamori-trap's limits: the bounded address table (lookup, order of use,
 * eviction that spares addresses with sessions open), the per-address
 * token bucket of the connection rate, and the concurrent bounds.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/error.h"

#include "trap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct trap_addr v4(uint32_t host)
{
	struct sockaddr_in s;
	struct trap_addr a;

	memset(&s, 0, sizeof s);
	s.sin_family = AF_INET;
	s.sin_addr.s_addr = htonl(0xc0000200u + host); /* 192.0.2.x and on */
	assert_int_equal(trap_addr_from((struct sockaddr *)&s, &a), 0);
	return a;
}

static void addr_forms(void **state)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct sockaddr sa;
	struct trap_addr a, b;

	(void)state;
	memset(&s4, 0, sizeof s4);
	memset(&s6, 0, sizeof s6);
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "198.51.100.7", &s4.sin_addr);
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:198.51.100.7", &s6.sin6_addr);
	assert_int_equal(trap_addr_from((struct sockaddr *)&s4, &a), 0);
	assert_int_equal(trap_addr_from((struct sockaddr *)&s6, &b), 0);
	/* The same host by IPv4 or IPv4-mapped IPv6 is one address. */
	assert_memory_equal(&a, &b, sizeof a);
	memset(&sa, 0, sizeof sa);
	sa.sa_family = AF_UNIX;
	assert_int_equal(trap_addr_from(&sa, &a), MM_EINVAL);
}

static void table_bounded(void **state)
{
	struct trap_addrtab *t;
	struct trap_addr_val *v;
	struct trap_addr a;
	uint32_t i;

	(void)state;
	assert_int_equal(trap_addrtab_new(0, &t), MM_EINVAL);
	assert_int_equal(trap_addrtab_new(4, &t), 0);
	for (i = 0; i < 4; i++) {
		a = v4(i);
		assert_null(trap_addrtab_get(t, &a, 0));
		v = trap_addrtab_get(t, &a, 1);
		assert_non_null(v);
		v->attempts = 100 + i;
	}
	assert_int_equal(trap_addrtab_count(t), 4);
	/* Using 0 makes 1 the least recently used: it goes first. */
	a = v4(0);
	assert_int_equal(trap_addrtab_get(t, &a, 0)->attempts, 100);
	a = v4(9);
	v = trap_addrtab_get(t, &a, 1);
	assert_int_equal(v->attempts, 0);
	assert_int_equal(trap_addrtab_count(t), 4);
	assert_int_equal(trap_addrtab_evicted(t), 1);
	a = v4(1);
	assert_null(trap_addrtab_get(t, &a, 0));
	for (i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		a = v4(i);
		assert_non_null(trap_addrtab_get(t, &a, 0));
	}
	/* Many more addresses than room: never more than cap, all counted. */
	for (i = 100; i < 10100; i++) {
		a = v4(i);
		assert_non_null(trap_addrtab_get(t, &a, 1));
		assert_true(trap_addrtab_count(t) <= 4);
	}
	assert_int_equal(trap_addrtab_evicted(t), 1 + 10000);
	for (i = 10096; i < 10100; i++) {
		a = v4(i);
		assert_non_null(trap_addrtab_get(t, &a, 0));
	}
	trap_addrtab_free(t);
}

static void eviction_spares_active(void **state)
{
	struct trap_addrtab *t;
	struct trap_addr a;
	uint32_t i;

	(void)state;
	assert_int_equal(trap_addrtab_new(3, &t), 0);
	for (i = 0; i < 3; i++) {
		a = v4(i);
		trap_addrtab_get(t, &a, 1)->active = i == 0 ? 1 : 0;
	}
	/* 0 is the oldest but has a session open: 1 goes instead. */
	a = v4(50);
	trap_addrtab_get(t, &a, 1);
	a = v4(0);
	assert_non_null(trap_addrtab_get(t, &a, 0));
	a = v4(1);
	assert_null(trap_addrtab_get(t, &a, 0));
	trap_addrtab_free(t);
}

static void rate_bucket(void **state)
{
	struct trap_limits_opts o = {1000, 0, 60, 64};
	struct trap_limits *l;
	struct trap_limits_stats st;
	struct trap_addr a = v4(1), b = v4(2);
	uint64_t now = 1000000;
	int i;

	(void)state;
	assert_int_equal(trap_limits_new(&o, &l), 0);
	/* A minute's worth at once, then no more. */
	for (i = 0; i < 60; i++) {
		assert_int_equal(trap_limits_admit(l, &a, now), TRAP_LIMIT_OK);
		trap_limits_release(l, &a);
	}
	assert_int_equal(trap_limits_admit(l, &a, now), TRAP_LIMIT_RATE);
	/* Another address has its own bucket. */
	assert_int_equal(trap_limits_admit(l, &b, now), TRAP_LIMIT_OK);
	trap_limits_release(l, &b);
	/* 60 per minute: one more each second, even asked for every 100 ms. */
	for (i = 1; i < 10; i++)
		assert_int_equal(trap_limits_admit(l, &a, now + (uint64_t)i * 100),
				 TRAP_LIMIT_RATE);
	assert_int_equal(trap_limits_admit(l, &a, now + 1000), TRAP_LIMIT_OK);
	trap_limits_release(l, &a);
	assert_int_equal(trap_limits_admit(l, &a, now + 1000), TRAP_LIMIT_RATE);
	/* After a long silence the bucket is full again, not fuller. */
	now += 3600 * 1000;
	for (i = 0; i < 60; i++) {
		assert_int_equal(trap_limits_admit(l, &a, now), TRAP_LIMIT_OK);
		trap_limits_release(l, &a);
	}
	assert_int_equal(trap_limits_admit(l, &a, now), TRAP_LIMIT_RATE);
	trap_limits_stats(l, &st);
	assert_int_equal(st.admitted, 60 + 1 + 1 + 60);
	assert_int_equal(st.refused_rate, 1 + 9 + 1 + 1);
	assert_int_equal(st.active, 0);
	trap_limits_free(l);
}

static void concurrent_bounds(void **state)
{
	/* Each step: address, admit (1) or release (0), the verdict expected. */
	static const struct {
		uint32_t host;
		int admit;
		enum trap_limit_verdict v;
	} steps[] = {
		{1, 1, TRAP_LIMIT_OK},	    {1, 1, TRAP_LIMIT_OK},
		{1, 1, TRAP_LIMIT_ADDRESS}, /* per_address 2 */
		{2, 1, TRAP_LIMIT_OK},	    {2, 1, TRAP_LIMIT_SESSIONS}, /* max_sessions 3 */
		{1, 0, TRAP_LIMIT_OK},	    {2, 1, TRAP_LIMIT_OK},
		{3, 1, TRAP_LIMIT_SESSIONS}, {2, 0, TRAP_LIMIT_OK},
		{3, 1, TRAP_LIMIT_OK},
	};
	struct trap_limits_opts o = {3, 2, 0, 64};
	struct trap_limits *l;
	struct trap_limits_stats st;
	size_t i;

	(void)state;
	assert_int_equal(trap_limits_new(&o, &l), 0);
	for (i = 0; i < N(steps); i++) {
		struct trap_addr a = v4(steps[i].host);
		if (steps[i].admit) {
			if (trap_limits_admit(l, &a, 0) != steps[i].v)
				fail_msg("step %zu: expected %s", i, trap_limit_name(steps[i].v));
		} else {
			trap_limits_release(l, &a);
		}
	}
	trap_limits_stats(l, &st);
	assert_int_equal(st.active, 3);
	assert_int_equal(st.refused_address, 1);
	assert_int_equal(st.refused_sessions, 2);
	assert_int_equal(st.admitted, 5);
	assert_string_equal(trap_limit_name(TRAP_LIMIT_RATE), "rate");
	trap_limits_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addr_forms),	     cmocka_unit_test(table_bounded),
		cmocka_unit_test(eviction_spares_active), cmocka_unit_test(rate_bucket),
		cmocka_unit_test(concurrent_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
