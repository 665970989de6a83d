/*
 * Unit tests of SHA-256 of files and descriptors (lib/hash.c): published
 * vectors and files whose lengths sit on and around the 64 KiB read chunk,
 * the size bound (refused before reading, and when a file grows past it),
 * the descriptor offset left alone, errors, and the hex form both ways.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "mamori/hash.h"

/* Content kinds, so that a vector's bytes are built here, not stored. */
enum fill { TEXT, PATTERN, REPEAT_A };

struct vector {
	const char *name;
	enum fill fill;
	const char *text; /* TEXT */
	size_t len;       /* PATTERN, REPEAT_A */
	const char *hex;
};

/*
 * "abc", "" and one million 'a' are FIPS 180-2's examples; PATTERN is byte
 * i = i mod 251, whose digests were computed with Python's hashlib.
 */
static const struct vector vectors[] = {
	{"abc", TEXT, "abc", 0, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"empty", TEXT, "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"1e6 a", REPEAT_A, NULL, 1000000,
	 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
	{"64 KiB", PATTERN, NULL, 65536,
	 "4b640d85ab3ba30fd02c9fc9db4a8928f416322ad27022ea58a65aaee68a4df2"},
	{"64 KiB + 1", PATTERN, NULL, 65537,
	 "237356e18b503616912abb8ffaed3a72591e397d4ac294c4637917d48a3f529d"},
	{"1 MiB", PATTERN, NULL, 1u << 20,
	 "631b84027d6b9e52b539c4e8373622d23032dfadc64d60af87339c9037e4f769"},
};

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_hash.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes the vector's bytes to tmpdir/name and returns its length. */
static size_t make_file(const struct vector *v, char *path, size_t pathlen)
{
	unsigned char *d;
	size_t len = v->fill == TEXT ? strlen(v->text) : v->len, i;
	FILE *f;

	snprintf(path, pathlen, "%s/f", tmpdir);
	d = malloc(len + 1);
	assert_non_null(d);
	for (i = 0; i < len; i++)
		d[i] = v->fill == TEXT ? (unsigned char)v->text[i]
		       : v->fill == REPEAT_A ? 'a'
					     : (unsigned char)(i % 251);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(d);
	return len;
}

static void test_vectors(void **state)
{
	char path[128], hex[MM_SHA256_HEX + 1];
	uint8_t d[MM_SHA256_LEN], d2[MM_SHA256_LEN];
	uint64_t size;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		const struct vector *v = &vectors[i];
		size_t len = make_file(v, path, sizeof path);
		int fd;

		print_message("vector %s\n", v->name);
		size = 12345;
		assert_int_equal(mm_sha256_file(path, 0, d, &size), 0);
		assert_int_equal(size, len);
		mm_hex(d, sizeof d, hex);
		assert_string_equal(hex, v->hex);

		/* Through a descriptor whose offset is elsewhere: hashed from 0, offset kept. */
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(lseek(fd, (off_t)(len / 2), SEEK_SET), (off_t)(len / 2));
		assert_int_equal(mm_sha256_fd(fd, len, d2, NULL), 0);
		assert_memory_equal(d, d2, sizeof d);
		assert_int_equal(lseek(fd, 0, SEEK_CUR), (off_t)(len / 2));

		/* One byte under the length is too big, without touching out. */
		if (len > 0) {
			memset(d2, 0x5a, sizeof d2);
			assert_int_equal(mm_sha256_fd(fd, len - 1, d2, &size), MM_ETOOBIG);
			for (size_t k = 0; k < sizeof d2; k++)
				assert_int_equal(d2[k], 0x5a);
		}
		close(fd);
		/* The parser gives the same digest back from either case. */
		assert_int_equal(mm_sha256_parse(v->hex, strlen(v->hex), d2), 0);
		assert_memory_equal(d, d2, sizeof d);
	}
}

/*
 * A file that is not regular has no size to check ahead; the bound is then
 * enforced while reading. A pipe cannot be pread at all: MM_EIO.
 */
static void test_errors(void **state)
{
	uint8_t d[MM_SHA256_LEN];
	char path[128];
	int p[2];

	(void)state;
	snprintf(path, sizeof path, "%s/none", tmpdir);
	errno = 0;
	assert_int_equal(mm_sha256_file(path, 0, d, NULL), MM_EIO);
	assert_int_equal(errno, ENOENT);

	/* A symlink is not followed. */
	snprintf(path, sizeof path, "%s/link", tmpdir);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	errno = 0;
	assert_int_equal(mm_sha256_file(path, 0, d, NULL), MM_EIO);
	assert_int_equal(errno, ELOOP);

	/* A FIFO neither blocks the open nor hashes. */
	snprintf(path, sizeof path, "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	errno = 0;
	assert_int_equal(mm_sha256_file(path, 0, d, NULL), MM_EIO);
	assert_int_equal(errno, ESPIPE);

	assert_int_equal(pipe(p), 0);
	assert_int_equal(mm_sha256_fd(p[0], 0, d, NULL), MM_EIO);
	close(p[0]);
	close(p[1]);
	assert_int_equal(mm_sha256_fd(-1, 0, d, NULL), MM_EIO);
}

/* A file that grows past the bound after fstat is caught by the running count. */
static void test_bound_while_reading(void **state)
{
	uint8_t d[MM_SHA256_LEN];
	char path[128];
	int fd;

	(void)state;
	/* /proc files report size 0 but hold bytes: the shape of a growing file. */
	snprintf(path, sizeof path, "/proc/self/maps");
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(mm_sha256_fd(fd, 8, d, NULL), MM_ETOOBIG);
	close(fd);
}

struct hexcase {
	const char *in;
	size_t len; /* 0: strlen */
	int rc;
};

static const struct hexcase hexcases[] = {
	{"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", 0, 0},
	{"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a", 0, MM_EINVAL},
	{"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0", 0, MM_EINVAL},
	{"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag", 0, MM_EINVAL},
	{"ba7816bf8f01cfea414140de5dae2223 00361a396177a9cb410ff61f20015ad", 0, MM_EINVAL},
	{"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 63, MM_EINVAL},
	{"", 0, MM_EINVAL},
};

static void test_parse_hex(void **state)
{
	static const uint8_t abc[MM_SHA256_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	uint8_t d[MM_SHA256_LEN];
	char hex[MM_SHA256_HEX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof hexcases / sizeof hexcases[0]; i++) {
		const struct hexcase *c = &hexcases[i];

		memset(d, 0, sizeof d);
		assert_int_equal(mm_sha256_parse(c->in, c->len ? c->len : strlen(c->in), d), c->rc);
		if (c->rc == 0)
			assert_memory_equal(d, abc, sizeof abc);
	}
	mm_hex(abc, sizeof abc, hex);
	assert_string_equal(hex, vectors[0].hex);
	mm_hex(abc, 0, hex);
	assert_string_equal(hex, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bound_while_reading),
		cmocka_unit_test(test_parse_hex),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
