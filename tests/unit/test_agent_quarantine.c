/*
 * The quarantine (agent/quarantine.c): copies named by their SHA-256 with
 * the exact bytes and mode 0400, the bound (the oldest copies go first), a
 * second put of the same content, a file larger than the bound, a file that
 * changed since it was hashed, the total recovered at open, and temporary
 * files of an interrupted copy removed.
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
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "mamori/error.h"
#include "mamori/hash.h"
#include "report.h"

static char dir[64], qdir[80];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_agent_q.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(qdir, sizeof qdir, "%s/q", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A file of len bytes of c: its fd (read-only) and hash. */
static int make(char c, size_t len, uint8_t sha[MM_SHA256_LEN])
{
	char path[128], buf[4096];
	int fd;

	assert_true(len <= sizeof buf);
	memset(buf, c, len);
	snprintf(path, sizeof path, "%s/src", dir);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(mm_sha256_fd(fd, 0, sha, NULL), 0);
	return fd;
}

/* 1 when DIR/<hex of sha> holds len bytes of c with mode 0400, 0 when absent. */
static int held(const uint8_t sha[MM_SHA256_LEN], char c, size_t len)
{
	char path[160], hex[MM_SHA256_HEX + 1], buf[4096];
	struct stat st;
	ssize_t n;
	size_t i;
	int fd;

	mm_hex(sha, MM_SHA256_LEN, hex);
	snprintf(path, sizeof path, "%s/%s", qdir, hex);
	if (stat(path, &st) < 0)
		return 0;
	assert_int_equal(st.st_mode & 07777, 0400);
	assert_int_equal(st.st_size, (off_t)len);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof buf);
	close(fd);
	assert_int_equal(n, (ssize_t)len);
	for (i = 0; i < len; i++)
		assert_int_equal(buf[i], c);
	return 1;
}

/* Sets the mtime of the copy of sha to sec seconds since the epoch, so that
 * the test, not the clock's resolution, says which copy is the oldest. */
static void age(const uint8_t sha[MM_SHA256_LEN], time_t sec)
{
	char path[160], hex[MM_SHA256_HEX + 1];
	struct timespec ts[2] = {{sec, 0}, {sec, 0}};

	mm_hex(sha, MM_SHA256_LEN, hex);
	snprintf(path, sizeof path, "%s/%s", qdir, hex);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_put_and_bound(void **state)
{
	struct quarantine *q;
	struct quarantine_stats st;
	uint8_t a[32], b[32], c[32], d[32];
	int fa, fb, fc, fd;

	(void)state;
	assert_int_equal(quarantine_open(qdir, 1000, &q), 0);
	assert_string_equal(quarantine_dir(q), qdir);

	fa = make('a', 400, a);
	assert_int_equal(quarantine_put(q, fa, a), 0);
	assert_true(held(a, 'a', 400));
	age(a, 1000);
	fb = make('b', 400, b);
	assert_int_equal(quarantine_put(q, fb, b), 0);
	age(b, 2000);
	quarantine_stats(q, &st);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.bytes, 800);

	/* The same content again: nothing written, its mtime renewed. */
	assert_int_equal(quarantine_put(q, fa, a), 0);
	quarantine_stats(q, &st);
	assert_int_equal(st.stored, 2);
	assert_int_equal(st.bytes, 800);

	/* 800 + 300 > 1000: the oldest now is b (a was just seen again). */
	fc = make('c', 300, c);
	assert_int_equal(quarantine_put(q, fc, c), 0);
	assert_true(held(a, 'a', 400));
	assert_false(held(b, 'b', 400));
	assert_true(held(c, 'c', 300));
	quarantine_stats(q, &st);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.bytes, 700);
	assert_int_equal(st.evicted, 1);

	/* Exactly max fits, after every other copy has gone, oldest first. */
	age(a, 3000);
	age(c, 4000);
	fd = make('d', 1000, d);
	assert_int_equal(quarantine_put(q, fd, d), 0);
	assert_false(held(a, 'a', 400));
	assert_false(held(c, 'c', 300));
	assert_true(held(d, 'd', 1000));
	close(fd);

	/* One byte more than the whole quarantine is refused, nothing deleted. */
	fd = make('e', 1001, c);
	assert_int_equal(quarantine_put(q, fd, c), MM_ETOOBIG);
	assert_true(held(d, 'd', 1000));
	close(fd);
	quarantine_close(q);
	close(fa);
	close(fb);
	close(fc);
}

/* The total is recovered at open: a new copy that does not fit evicts what
 * an earlier process stored; stray temporary files are removed. */
static void test_reopen(void **state)
{
	struct quarantine *q;
	struct quarantine_stats st;
	uint8_t a[32], b[32];
	char tmp[160];
	struct stat sb;
	int fa, fb, t;

	(void)state;
	assert_int_equal(quarantine_open(qdir, 1000, &q), 0);
	fa = make('a', 600, a);
	assert_int_equal(quarantine_put(q, fa, a), 0);
	quarantine_close(q);

	snprintf(tmp, sizeof tmp, "%s/.tmp.0123", qdir);
	t = open(tmp, O_WRONLY | O_CREAT, 0600);
	assert_true(t >= 0);
	close(t);
	assert_int_equal(quarantine_open(qdir, 1000, &q), 0);
	assert_int_equal(stat(tmp, &sb), -1);
	quarantine_stats(q, &st);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.bytes, 600);
	fb = make('b', 500, b);
	assert_int_equal(quarantine_put(q, fb, b), 0);
	assert_false(held(a, 'a', 600));
	assert_true(held(b, 'b', 500));
	quarantine_close(q);
	close(fa);
	close(fb);
}

/* A hash that does not match the bytes (the file changed) stores nothing. */
static void test_changed(void **state)
{
	struct quarantine *q;
	struct quarantine_stats st;
	uint8_t a[32];
	int fa;

	(void)state;
	assert_int_equal(quarantine_open(qdir, 1000, &q), 0);
	fa = make('a', 10, a);
	a[0] ^= 1;
	assert_int_equal(quarantine_put(q, fa, a), MM_EINVALID);
	assert_false(held(a, 'a', 10));
	quarantine_stats(q, &st);
	assert_int_equal(st.files, 0);
	assert_int_equal(st.bytes, 0);
	quarantine_close(q);
	close(fa);
	assert_int_equal(quarantine_open("", 10, &q), MM_EINVAL);
	assert_null(q);
	assert_int_equal(quarantine_open(qdir, 0, &q), MM_EINVAL);
	assert_null(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_and_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
