/*
 * Unit tests of the verdict cache (agent/cache.c): a verdict comes back
 * for exactly its key (any field that differs misses), the least recently
 * used entry is the one evicted and a lookup makes an entry recent, the
 * count never passes the bound, a put on a known key updates it in place,
 * and clear forgets everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/error.h"

#include "agent.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct vkey key(uint64_t i)
{
	struct vkey k = { .dev = 8, .ino = 1000 + i, .size = 4096, .mtime_ns = 1, .ctime_ns = 2 };

	return k;
}

static void test_bounds(void **state)
{
	struct vcache *c;

	(void)state;
	assert_int_equal(vcache_new(0, &c), MM_EINVAL);
	assert_null(c);
	assert_int_equal(vcache_new((size_t)1 << 30, &c), MM_EINVAL);
	assert_int_equal(vcache_new(1, &c), 0);
	vcache_free(c);
	vcache_free(NULL);
}

/* Each field of the key is part of it. */
static void test_key_fields(void **state)
{
	struct vcache *c;
	struct vkey k = key(1), other;
	enum verdict v;

	(void)state;
	assert_int_equal(vcache_new(16, &c), 0);
	vcache_put(c, &k, V_ALLOW);
	assert_int_equal(vcache_get(c, &k, &v), 1);
	assert_int_equal(v, V_ALLOW);
	for (int f = 0; f < 5; f++) {
		other = k;
		switch (f) {
		case 0: other.dev++; break;
		case 1: other.ino++; break;
		case 2: other.size++; break;
		case 3: other.mtime_ns++; break;
		default: other.ctime_ns++; break;
		}
		v = V_SCAN;
		assert_int_equal(vcache_get(c, &other, &v), 0);
		assert_int_equal(v, V_SCAN); /* untouched on a miss */
	}
	/* A second put of the same key updates it, without a second entry. */
	vcache_put(c, &k, V_DENY);
	assert_int_equal(vcache_count(c), 1);
	assert_int_equal(vcache_get(c, &k, &v), 1);
	assert_int_equal(v, V_DENY);
	vcache_free(c);
}

/* The least recently used goes first; a get or put makes a key recent. */
static void test_lru(void **state)
{
	static const struct {
		const char *ops; /* pN: put key N; gN: get key N (must hit) */
		const char *live, *gone;
	} cases[] = {
		{ "p0p1p2p3p4", "1234", "0" },
		{ "p0p1p2p3g0p4", "0234", "1" },
		{ "p0p1p2p3p0p4", "0234", "1" },
		{ "p0p1p2p3g0g1p4p5", "0145", "23" },
		{ "p0p1p2p3p4p5p6p7", "4567", "0123" },
		{ "p0p1p2p3g3g2g1g0p4", "0124", "3" },
	};
	enum verdict v;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct vcache *c;
		const char *o;

		assert_int_equal(vcache_new(4, &c), 0);
		for (o = cases[i].ops; o[0] != '\0'; o += 2) {
			struct vkey k = key((uint64_t)(o[1] - '0'));

			if (o[0] == 'p')
				vcache_put(c, &k, V_ALLOW);
			else if (vcache_get(c, &k, &v) != 1)
				fail_msg("case %zu: %s missed", i, o);
			if (vcache_count(c) > 4)
				fail_msg("case %zu: %zu entries", i, vcache_count(c));
		}
		assert_int_equal(vcache_count(c), 4);
		for (o = cases[i].gone; *o; o++) {
			struct vkey k = key((uint64_t)(*o - '0'));

			if (vcache_get(c, &k, &v) != 0)
				fail_msg("case %zu: key %c still there", i, *o);
		}
		for (o = cases[i].live; *o; o++) {
			struct vkey k = key((uint64_t)(*o - '0'));

			if (vcache_get(c, &k, &v) != 1)
				fail_msg("case %zu: key %c gone", i, *o);
		}
		vcache_free(c);
	}
}

/* Many keys through a small cache: exactly the last max stay. */
static void test_many(void **state)
{
	const size_t max = 100, n = 10000;
	struct vcache *c;
	enum verdict v;

	(void)state;
	assert_int_equal(vcache_new(max, &c), 0);
	for (size_t i = 0; i < n; i++) {
		struct vkey k = key(i);

		vcache_put(c, &k, (i & 1) ? V_DENY : V_ALLOW);
	}
	assert_int_equal(vcache_count(c), max);
	for (size_t i = 0; i < n; i++) {
		struct vkey k = key(i);
		int hit = vcache_get(c, &k, &v);

		if (hit != (i >= n - max))
			fail_msg("key %zu: hit %d", i, hit);
		if (hit && v != ((i & 1) ? V_DENY : V_ALLOW))
			fail_msg("key %zu: verdict %d", i, v);
	}
	vcache_clear(c);
	assert_int_equal(vcache_count(c), 0);
	for (size_t i = n - max; i < n; i++) {
		struct vkey k = key(i);

		assert_int_equal(vcache_get(c, &k, &v), 0);
	}
	/* Usable again after a clear. */
	{
		struct vkey k = key(7);

		vcache_put(c, &k, V_ALLOW);
		assert_int_equal(vcache_get(c, &k, &v), 1);
		assert_int_equal(vcache_count(c), 1);
	}
	vcache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_key_fields),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
