/*
 * Unit tests of lib/path.c: mm_mkdir_p makes every missing parent and
 * refuses a file in the way; mm_write_atomic replaces a file with exactly
 * the bytes given, with the mode given, leaves no temporary file, refuses
 * to write through a symlink at PATH.tmp, and leaves the old file whole when
 * the new one cannot be written.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mamori/error.h"
#include "mamori/path.h"

static char dir[] = "/tmp/mamori-test-path.XXXXXX";

static void join(char *out, const char *name)
{
	assert_true((size_t)snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX);
}

/* The whole content of path, NUL-terminated, in buf (at most n - 1 bytes). */
static ssize_t slurp(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	ssize_t got;

	if (fd < 0)
		return -1;
	got = read(fd, buf, n - 1);
	close(fd);
	if (got >= 0)
		buf[got] = '\0';
	return got;
}

static void test_mkdir_p(void **state)
{
	char p[PATH_MAX], f[PATH_MAX];
	struct stat st;

	(void)state;
	join(p, "a/b/c");
	assert_int_equal(mm_mkdir_p(p, 0700), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(mm_mkdir_p(p, 0700), 0); /* already there */
	join(f, "a/file");
	assert_int_equal(mm_write_atomic(f, "x", 1, 0, 0600), 0);
	join(p, "a/file/d");
	assert_int_equal(mm_mkdir_p(p, 0700), MM_EIO);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(mm_mkdir_p("", 0700), MM_EINVAL);
}

static void test_write_atomic(void **state)
{
	static const struct {
		const char *text;
		int sync;
		unsigned mode;
	} t[] = {
		{"first version\n", 1, 0644},
		{"", 0, 0600},                 /* an empty file is a file */
		{"second, longer version\nwith two lines\n", 0, 0640},
	};
	char p[PATH_MAX], tmp[PATH_MAX], buf[256];
	struct stat st;
	size_t i;

	(void)state;
	join(p, "doc.json");
	join(tmp, "doc.json.tmp");
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		unlink(p); /* the mode is the new file's */
		assert_int_equal(mm_write_atomic(p, t[i].text, strlen(t[i].text), t[i].sync,
						 t[i].mode),
				 0);
		assert_int_equal(slurp(p, buf, sizeof buf), (ssize_t)strlen(t[i].text));
		assert_string_equal(buf, t[i].text);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, t[i].mode & ~(unsigned)umask(022));
		umask(022);
		assert_int_equal(access(tmp, F_OK), -1);
	}
	/* Replacing keeps the bytes exact (the old file was longer). */
	assert_int_equal(mm_write_atomic(p, "ab", 2, 1, 0644), 0);
	assert_int_equal(slurp(p, buf, sizeof buf), 2);
	assert_string_equal(buf, "ab");
}

static void test_write_atomic_refused(void **state)
{
	char p[PATH_MAX], tmp[PATH_MAX], victim[PATH_MAX], buf[64], longp[PATH_MAX + 16];

	(void)state;
	join(p, "kept.json");
	join(tmp, "kept.json.tmp");
	join(victim, "victim");
	assert_int_equal(mm_write_atomic(p, "old", 3, 1, 0644), 0);
	assert_int_equal(mm_write_atomic(victim, "victim", 6, 0, 0644), 0);
	/* A symlink planted at the temporary name is not written through. */
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(mm_write_atomic(p, "new", 3, 1, 0644), MM_EIO);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(slurp(victim, buf, sizeof buf), 6);
	assert_string_equal(buf, "victim");
	assert_int_equal(slurp(p, buf, sizeof buf), 3);
	assert_string_equal(buf, "old");
	unlink(tmp);
	/* A folder that does not exist: nothing is made, the error is EIO. */
	join(p, "missing/doc.json");
	assert_int_equal(mm_write_atomic(p, "x", 1, 0, 0644), MM_EIO);
	assert_int_equal(errno, ENOENT);
	/* A path whose temporary name would not fit. */
	memset(longp, 'a', sizeof longp - 1);
	longp[0] = '/';
	longp[sizeof longp - 1] = '\0';
	longp[PATH_MAX - 2] = '\0';
	assert_int_equal(mm_write_atomic(longp, "x", 1, 0, 0644), MM_ETOOBIG);
}

static int setup(void **state)
{
	(void)state;
	umask(022);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_write_atomic_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
