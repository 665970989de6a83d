/*
 * Configuration files: values of each type land where the key table says,
 * and every kind of bad file is refused with the line that is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/conf.h"
#include "mamori/error.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct vals {
	char *dir;
	long long port, max;
	int enforce;
};

static void keys_for(struct vals *v, struct mm_conf_key *k)
{
	struct mm_conf_key keys[] = {
		{"", "name", MM_CONF_STR, &v->dir, 0, 0},
		{"spool", "dir", MM_CONF_STR, &v->dir, 0, 0},
		{"spool", "max_size", MM_CONF_SIZE, &v->max, 4096, 1LL << 40},
		{"net", "port", MM_CONF_INT, &v->port, 1, 65535},
		{"guard", "enforce", MM_CONF_BOOL, &v->enforce, 0, 0},
	};
	memcpy(k, keys, sizeof keys);
}

static void good_file(void **state)
{
	struct vals v = {NULL, 514, 65536, 0};
	struct mm_conf_key k[5];
	struct mm_conf_err err;
	const char *text = "; comment\n"
			   "# another\n"
			   "[spool]\n"
			   "dir = /var/spool/mamori\n"
			   "max_size = 64M\n"
			   "[net]\n"
			   "port = 0x1f9a\n"
			   "[guard]\n"
			   "enforce = Yes\n";

	(void)state;
	keys_for(&v, k);
	assert_int_equal(mm_conf_parse(text, k, 5, &err), 0);
	assert_string_equal(v.dir, "/var/spool/mamori");
	assert_int_equal(v.max, 64LL * 1024 * 1024);
	assert_int_equal(v.port, 0x1f9a);
	assert_int_equal(v.enforce, 1);
	free(v.dir);
}

static void defaults_stay(void **state)
{
	struct vals v = {NULL, 514, 65536, 0};
	struct mm_conf_key k[5];
	struct mm_conf_err err;

	(void)state;
	keys_for(&v, k);
	assert_int_equal(mm_conf_parse("", k, 5, &err), 0);
	assert_null(v.dir);
	assert_int_equal(v.port, 514);
	assert_int_equal(v.max, 65536);
}

static void bad_files(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *msg;
	} cases[] = {
		{"[spool]\nsize = 1\n", 2, "unknown key 'size'"},
		{"[net]\nport = 0\n", 2, "out of range"},
		{"[net]\nport = 65536\n", 2, "out of range"},
		{"[net]\nport = 80x\n", 2, "not a number"},
		{"[net]\nport = 99999999999999999999999\n", 2, "not a number"},
		{"[net]\nport = 1\nport = 2\n", 3, "given twice"},
		{"[spool]\nmax_size = 10Q\n", 2, "not a size"},
		{"[spool]\nmax_size = 1K\n", 2, "out of range"},
		{"[spool]\nmax_size = 99999999999G\n", 2, "not a size"},
		{"\n\n[guard]\nenforce = maybe\n", 4, "not yes or no"},
		{"[spool\n", 1, "not a [section]"},
		{"[spool]\njust words\n", 2, "not a [section]"},
		{"dir = /x\n", 1, "unknown key 'dir' in section []"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct vals v = {NULL, 514, 65536, 0};
		struct mm_conf_key k[5];
		struct mm_conf_err err;

		keys_for(&v, k);
		print_message("case %zu\n", i);
		assert_int_equal(mm_conf_parse(cases[i].text, k, 5, &err), MM_EPARSE);
		assert_int_equal(err.line, cases[i].line);
		assert_non_null(strstr(err.msg, cases[i].msg));
		free(v.dir);
	}
}

static void missing_file(void **state)
{
	struct vals v = {NULL, 514, 65536, 0};
	struct mm_conf_key k[5];
	struct mm_conf_err err;

	(void)state;
	keys_for(&v, k);
	assert_int_equal(mm_conf_load("/nonexistent/mamori.conf", k, 5, &err), MM_EIO);
	assert_int_equal(err.line, 0);
	assert_non_null(strstr(err.msg, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_file),
		cmocka_unit_test(defaults_stay),
		cmocka_unit_test(bad_files),
		cmocka_unit_test(missing_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
