/*
 * The reporter's scanner (agent/scan.c and its YARA half): the SHA-256 of a
 * known content, the size bound, unreadable descriptors, and YARA rules
 * written by the test (a match names the first rule, no match, the request
 * flag honoured), the shipped mirai_like rule against a crafted ELF and
 * ordinary programs, and rules that do not compile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

#include "agent.h"
#include "mamori/error.h"
#include "mamori/hash.h"
#include "report.h"

#define ABC_HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define EMPTY_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_agent_scan.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes len bytes to DIR/name and returns it opened read-only. */
static int put_file(const char *name, const void *data, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	return fd;
}

static const char *path_of(const char *name)
{
	static char path[128];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

static void hex_equal(const uint8_t *d, const char *want)
{
	char hex[MM_SHA256_HEX + 1];

	mm_hex(d, MM_SHA256_LEN, hex);
	assert_string_equal(hex, want);
}

static void test_hash(void **state)
{
	static const struct {
		const char *data;
		uint64_t max;
		int rc;
		uint32_t status;
		const char *hex;
		uint64_t size;
	} t[] = {
		{"abc", 0, 0, AGENT_SCAN_OK, ABC_HEX, 3},
		{"abc", 3, 0, AGENT_SCAN_OK, ABC_HEX, 3},
		{"abc", 2, MM_ETOOBIG, AGENT_SCAN_TOOBIG, NULL, 0},
		{"", 1, 0, AGENT_SCAN_OK, EMPTY_HEX, 0},
	};
	struct agent_scan_res res;
	struct scanner *s;
	size_t i;

	(void)state;
	assert_int_equal(scan_new(NULL, &s), 0);
	assert_int_equal(scan_has_yara(s), 0);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		int fd = put_file("h", t[i].data, strlen(t[i].data));

		/* The offset must not matter: the guard's fd may have been read. */
		lseek(fd, 1, SEEK_SET);
		memset(&res, 0xee, sizeof res);
		assert_int_equal(scan_fd(s, fd, t[i].max, 1, &res), t[i].rc);
		assert_int_equal(res.status, t[i].status);
		assert_int_equal(res.yara_match, 0);
		assert_string_equal(res.yara_rule, "");
		if (t[i].hex) {
			hex_equal(res.sha256, t[i].hex);
			assert_int_equal(res.size, t[i].size);
		}
		close(fd);
	}
	/* No descriptor, or one that cannot be read. */
	assert_int_equal(scan_fd(s, -1, 0, 0, &res), MM_EINVAL);
	assert_int_equal(res.status, AGENT_SCAN_ERROR);
	{
		int fd = open(dir, O_RDONLY | O_DIRECTORY);
		assert_int_equal(scan_fd(s, fd, 0, 0, &res), MM_EIO);
		assert_int_equal(res.status, AGENT_SCAN_ERROR);
		close(fd);
	}
	scan_free(s);
}

static const char rules_text[] =
	"rule t_first { strings: $a = \"needle-one\" condition: $a }\n"
	"rule t_second { strings: $b = \"needle-two\" condition: $b }\n";

/* Compiles rules_text; 0 when this build has no YARA (the test is skipped). */
static struct scanner *yara_scanner(void)
{
	struct scanner *s;
	int fd = put_file("rules.yar", rules_text, sizeof rules_text - 1);
	int rc = scan_new(path_of("rules.yar"), &s);

	close(fd);
	if (rc == MM_EINVAL)
		return NULL;
	assert_int_equal(rc, 0);
	assert_int_equal(scan_has_yara(s), 1);
	return s;
}

static void test_yara(void **state)
{
	static const struct {
		const char *data;
		int yara;
		int match;
		const char *rule;
	} t[] = {
		{"xx needle-two yy", 1, 1, "t_second"},
		{"needle-two needle-one", 1, 1, "t_first"},
		{"needle-on e", 1, 0, ""},
		{"needle-one", 0, 0, ""}, /* not asked for */
		{"", 1, 0, ""},
	};
	struct agent_scan_res res;
	struct scanner *s = yara_scanner();
	size_t i;

	(void)state;
	if (!s)
		skip();
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		int fd = put_file("y", t[i].data, strlen(t[i].data));

		assert_int_equal(scan_fd(s, fd, 0, t[i].yara, &res), 0);
		assert_int_equal(res.status, AGENT_SCAN_OK);
		if (res.yara_match != t[i].match)
			fail_msg("case %zu: match %d", i, res.yara_match);
		assert_string_equal(res.yara_rule, t[i].rule);
		assert_int_equal(res.size, strlen(t[i].data));
		close(fd);
	}
	scan_free(s);
}

/* The shipped rule: an ELF with three of Mirai's strings matches; with two,
 * or three without the ELF magic, or an ordinary program, it does not. */
static void test_mirai_rule(void **state)
{
	static const char elf[] = "\x7f" "ELF\x02\x01\x01";
	static const struct {
		int elf;
		const char *strings;
		int match;
	} t[] = {
		{1, "/bin/busybox MIRAI|dvrHelper|.nippon", 1},
		{1, "listening tun0|POST /cdn-cgi/|/dev/watchdog", 1},
		{1, "/bin/busybox MIRAI|dvrHelper", 0},
		{0, "/bin/busybox MIRAI|dvrHelper|.nippon", 0},
		{1, "/dev/watchdog", 0},
	};
	struct agent_scan_res res;
	struct scanner *s;
	char buf[512];
	size_t i;
	int rc, fd;

	(void)state;
	rc = scan_new(MAMORI_SRCDIR "/data/yara/mirai.yar", &s);
	if (rc == MM_EINVAL)
		skip();
	assert_int_equal(rc, 0);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		size_t n = 0;
		memset(buf, 0, sizeof buf);
		if (t[i].elf) {
			memcpy(buf, elf, sizeof elf - 1);
			n = 64;
		}
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", t[i].strings);
		for (size_t k = 0; k < n; k++)
			if (buf[k] == '|')
				buf[k] = '\0';
		fd = put_file("m", buf, n);
		assert_int_equal(scan_fd(s, fd, 0, 1, &res), 0);
		if (res.yara_match != t[i].match)
			fail_msg("case %zu: match %d", i, res.yara_match);
		assert_string_equal(res.yara_rule, t[i].match ? "mirai_like" : "");
		close(fd);
	}
	fd = open("/bin/sh", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(scan_fd(s, fd, 0, 1, &res), 0);
	assert_int_equal(res.yara_match, 0);
	close(fd);
	scan_free(s);
}

static void test_bad_rules(void **state)
{
	struct scanner *s = (struct scanner *)1;
	int fd = put_file("bad.yar", "rule x { condition: nope }\n", 27);

	(void)state;
	close(fd);
	if (scan_new(path_of("bad.yar"), &s) == MM_EINVAL)
		skip();
	assert_int_equal(scan_new(path_of("bad.yar"), &s), MM_EPARSE);
	assert_null(s);
	assert_int_equal(scan_new(path_of("missing.yar"), &s), MM_EIO);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_yara),
		cmocka_unit_test(test_mirai_rule),
		cmocka_unit_test(test_bad_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
