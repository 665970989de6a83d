/*
 * mamori-trap's login policy: which pairs of a dictionary each accept mode
 * lets in, the Nth attempt from one address across its connections, the
 * bounded table of addresses behind it, and bad dictionaries refused with
 * their line.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mamori/error.h"

#include "trap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char dict[] = "# a comment\n"
			   "\n"
			   "root\txc3511\t10\tmirai\n"
			   "root\t\t4\tmirai\n"
			   "admin\tadmin\t7\tmirai\r\n"
			   "ubnt\tubnt\t1\tvendor\n"
			   "pi\traspberry\t1\tvendor";

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/test_trap_login.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static struct trap_addr v4(uint32_t host)
{
	struct sockaddr_in s;
	struct trap_addr a;

	memset(&s, 0, sizeof s);
	s.sin_family = AF_INET;
	s.sin_addr.s_addr = htonl(0xcb007100u + host); /* 203.0.113.x and on */
	assert_int_equal(trap_addr_from((struct sockaddr *)&s, &a), 0);
	return a;
}

static void accept_modes(void **state)
{
	static const struct {
		enum trap_accept accept;
		const char *user, *pass;
		enum trap_login_verdict v;
	} t[] = {
		{TRAP_ACCEPT_MIRAI, "root", "xc3511", TRAP_LOGIN_DICTIONARY},
		{TRAP_ACCEPT_MIRAI, "root", "", TRAP_LOGIN_DICTIONARY},
		{TRAP_ACCEPT_MIRAI, "admin", "admin", TRAP_LOGIN_DICTIONARY},
		{TRAP_ACCEPT_MIRAI, "ubnt", "ubnt", TRAP_LOGIN_REFUSED},
		{TRAP_ACCEPT_MIRAI, "root", "xc351", TRAP_LOGIN_REFUSED},
		{TRAP_ACCEPT_MIRAI, "root", "xc3511 ", TRAP_LOGIN_REFUSED},
		{TRAP_ACCEPT_MIRAI, "Root", "xc3511", TRAP_LOGIN_REFUSED},
		{TRAP_ACCEPT_ALL, "ubnt", "ubnt", TRAP_LOGIN_DICTIONARY},
		{TRAP_ACCEPT_ALL, "pi", "raspberry", TRAP_LOGIN_DICTIONARY},
		{TRAP_ACCEPT_ALL, "pi", "pi", TRAP_LOGIN_REFUSED},
		{TRAP_ACCEPT_ANY, "who", "ever", TRAP_LOGIN_DICTIONARY},
		{TRAP_ACCEPT_NONE, "root", "xc3511", TRAP_LOGIN_REFUSED},
	};
	static const size_t npairs[] = {
		[TRAP_ACCEPT_NONE] = 0, [TRAP_ACCEPT_MIRAI] = 3, [TRAP_ACCEPT_ALL] = 5,
		[TRAP_ACCEPT_ANY] = 0,
	};
	char *path = write_tmp(dict);
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		struct trap_login_opts o = {path, t[i].accept, 0, 64};
		struct trap_login *l;
		struct trap_addr a = v4(1);

		assert_int_equal(trap_login_new(&o, &l, err, sizeof err), 0);
		assert_int_equal(trap_login_pairs(l), npairs[t[i].accept]);
		if (trap_login_attempt(l, &a, t[i].user, t[i].pass) != t[i].v)
			fail_msg("case %zu: %s/%s", i, t[i].user, t[i].pass);
		trap_login_free(l);
	}
	unlink(path);
	free(path);
}

static void nth_across_connections(void **state)
{
	struct trap_login_opts o = {NULL, TRAP_ACCEPT_NONE, 3, 64};
	struct trap_login *l;
	struct trap_addr a = v4(1), b = v4(2);
	char err[256];

	(void)state;
	assert_int_equal(trap_login_new(&o, &l, err, sizeof err), 0);
	/* Two attempts on one connection, the third on the next: accepted,
	 * whatever was typed; the count is the address's, not the
	 * connection's (the policy sees no connections at all). */
	assert_int_equal(trap_login_attempt(l, &a, "x", "1"), TRAP_LOGIN_REFUSED);
	assert_int_equal(trap_login_attempt(l, &a, "x", "2"), TRAP_LOGIN_REFUSED);
	assert_int_equal(trap_login_attempt(l, &b, "x", "1"), TRAP_LOGIN_REFUSED);
	assert_int_equal(trap_login_attempt(l, &a, "any", "thing"), TRAP_LOGIN_NTH);
	/* The acceptance starts the count again. */
	assert_int_equal(trap_login_attempt(l, &a, "x", "1"), TRAP_LOGIN_REFUSED);
	assert_int_equal(trap_login_attempt(l, &a, "x", "2"), TRAP_LOGIN_REFUSED);
	assert_int_equal(trap_login_attempt(l, &a, "x", "3"), TRAP_LOGIN_NTH);
	assert_int_equal(trap_login_attempt(l, &b, "x", "2"), TRAP_LOGIN_REFUSED);
	assert_int_equal(trap_login_attempt(l, &b, "x", "3"), TRAP_LOGIN_NTH);
	trap_login_free(l);
}

static void dictionary_resets_count(void **state)
{
	char *path = write_tmp(dict);
	struct trap_login_opts o = {path, TRAP_ACCEPT_MIRAI, 2, 64};
	struct trap_login *l;
	struct trap_addr a = v4(7);
	char err[256];

	(void)state;
	assert_int_equal(trap_login_new(&o, &l, err, sizeof err), 0);
	assert_int_equal(trap_login_attempt(l, &a, "x", "y"), TRAP_LOGIN_REFUSED);
	/* The second attempt is both the Nth and a dictionary pair: the
	 * dictionary is named. */
	assert_int_equal(trap_login_attempt(l, &a, "root", "xc3511"), TRAP_LOGIN_DICTIONARY);
	assert_int_equal(trap_login_attempt(l, &a, "x", "y"), TRAP_LOGIN_REFUSED);
	assert_int_equal(trap_login_attempt(l, &a, "x", "y"), TRAP_LOGIN_NTH);
	trap_login_free(l);
	unlink(path);
	free(path);
}

static void bounded_addresses(void **state)
{
	struct trap_login_opts o = {NULL, TRAP_ACCEPT_NONE, 2, 16};
	struct trap_login *l;
	struct trap_addr a = v4(0);
	char err[256];
	uint32_t i;

	(void)state;
	assert_int_equal(trap_login_new(&o, &l, err, sizeof err), 0);
	assert_int_equal(trap_login_attempt(l, &a, "x", "y"), TRAP_LOGIN_REFUSED);
	/* A thousand other addresses push 0 out of the table of 16: its
	 * count starts again, and the evictions are counted. */
	for (i = 1; i <= 1000; i++) {
		struct trap_addr b = v4(i);
		assert_int_equal(trap_login_attempt(l, &b, "x", "y"), TRAP_LOGIN_REFUSED);
	}
	assert_int_equal(trap_login_evicted(l), 1001 - 16);
	assert_int_equal(trap_login_attempt(l, &a, "x", "y"), TRAP_LOGIN_REFUSED);
	assert_int_equal(trap_login_attempt(l, &a, "x", "y"), TRAP_LOGIN_NTH);
	/* The most recent ones are still known. */
	a = v4(1000);
	assert_int_equal(trap_login_attempt(l, &a, "x", "y"), TRAP_LOGIN_NTH);
	trap_login_free(l);
}

static void bad_dictionaries(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *where;
	} t[] = {
		{"root\txc3511\t10\n", MM_EPARSE, ":1:"},
		{"# c\nroot\txc3511\t10\tmirai\textra\n", MM_EPARSE, ":2:"},
		{"\tpass\t1\tmirai\n", MM_EPARSE, ":1:"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		char *path = write_tmp(t[i].text);
		struct trap_login_opts o = {path, TRAP_ACCEPT_ALL, 0, 16};
		struct trap_login *l = NULL;
		char err[256] = "";

		assert_int_equal(trap_login_new(&o, &l, err, sizeof err), t[i].rc);
		assert_null(l);
		assert_non_null(strstr(err, t[i].where));
		unlink(path);
		free(path);
	}
	{
		struct trap_login_opts o = {"/nonexistent/creds.tsv", TRAP_ACCEPT_MIRAI, 0, 16};
		struct trap_login *l = NULL;
		char err[256] = "";
		assert_int_equal(trap_login_new(&o, &l, err, sizeof err), MM_EIO);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accept_modes),		  cmocka_unit_test(nth_across_connections),
		cmocka_unit_test(dictionary_resets_count), cmocka_unit_test(bounded_addresses),
		cmocka_unit_test(bad_dictionaries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
