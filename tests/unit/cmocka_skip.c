/*
 * MAMORI_TEST_SKIP leaves named cmocka tests out of a unit test program. It holds
 * entries separated by spaces, each PROGRAM:TEST, where TEST is an fnmatch(3)
 * pattern; a program leaves out the tests of the entries that name it. The cross
 * builds (scripts/cross.sh) name the cases that test qemu-user rather than mamori:
 * a seccomp filter, a netlink family qemu does not translate.
 *
 * Every unit test program is linked with --wrap=_cmocka_run_group_tests (see
 * tests/CMakeLists.txt), so the filter applies without a line in each test; when the
 * variable is unset or empty the group runs as written.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

int __real__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
				   const size_t num_tests, CMFixtureFunction group_setup,
				   CMFixtureFunction group_teardown);
int __wrap__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
				   const size_t num_tests, CMFixtureFunction group_setup,
				   CMFixtureFunction group_teardown);

/* Whether the list skip has an entry PROG:PATTERN whose pattern matches test. An
 * entry longer than the buffer matches nothing. */
static int skipped(const char *skip, const char *prog, const char *test)
{
	size_t plen = strlen(prog);

	while (*skip) {
		size_t n = strcspn(skip, " ");
		char pat[256];

		if (n > plen + 1 && n - plen - 1 < sizeof pat && strncmp(skip, prog, plen) == 0 &&
		    skip[plen] == ':') {
			memcpy(pat, skip + plen + 1, n - plen - 1);
			pat[n - plen - 1] = '\0';
			if (fnmatch(pat, test, 0) == 0)
				return 1;
		}
		skip += n;
		skip += strspn(skip, " ");
	}
	return 0;
}

/* The group without the tests MAMORI_TEST_SKIP names for this program. */
int __wrap__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
				   const size_t num_tests, CMFixtureFunction group_setup,
				   CMFixtureFunction group_teardown)
{
	const char *skip = getenv("MAMORI_TEST_SKIP");
	struct CMUnitTest *kept;
	size_t i, n = 0;
	int rc;

	if (skip == NULL || *skip == '\0' || num_tests == 0)
		return __real__cmocka_run_group_tests(group_name, tests, num_tests, group_setup,
						      group_teardown);
	kept = calloc(num_tests, sizeof *kept);
	if (kept == NULL) {
		fprintf(stderr, "MAMORI_TEST_SKIP: out of memory\n");
		return 1;
	}
	for (i = 0; i < num_tests; i++) {
		if (skipped(skip, program_invocation_short_name, tests[i].name))
			printf("[ SKIPPED  ] %s (MAMORI_TEST_SKIP)\n", tests[i].name);
		else
			kept[n++] = tests[i];
	}
	fflush(stdout);
	rc = __real__cmocka_run_group_tests(group_name, kept, n, group_setup, group_teardown);
	free(kept);
	return rc;
}
