/*
 * Unit tests of trap/capture.c and trap/tlsh.cc: the classes of ELF
 * headers, scripts, text and data; TLSH digests equal to those of Debian's
 * `tlsh -f` on the same bytes; the store writes each file once, whole,
 * mode 0400, under its SHA-256 (as sha256sum computes it), counts
 * duplicates, refuses what passes its bounds, and at open counts what is
 * already there and removes what a crash left.
 */
#include <dirent.h>
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

#include "capture.h"
#include "mamori/error.h"

/* ---- helpers ---- */

static void make_dir(char *path, size_t n)
{
	snprintf(path, n, "/tmp/test_trap_capture.XXXXXX");
	assert_non_null(mkdtemp(path));
}

static void remove_dir(const char *path)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* Deterministic bytes: a linear congruential generator, so that a failing
 * input can be made again. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The first word of the first line a command prints, or "" (and *found 0
 * when the command printed nothing). */
static void first_word(const char *cmd, char *out, size_t n)
{
	FILE *p = popen(cmd, "r");
	char line[512];

	assert_non_null(p);
	out[0] = '\0';
	if (fgets(line, sizeof line, p) != NULL) {
		size_t w = strcspn(line, " \t\n");

		snprintf(out, n, "%.*s", (int)w, line);
	}
	pclose(p);
}

/* ---- classify ---- */

/* An ELF header's first 20 bytes: class, data, and e_machine. */
static size_t elf_hdr(uint8_t *p, int cls, int data, unsigned machine)
{
	memset(p, 0, 64);
	memcpy(p, "\177ELF", 4);
	p[4] = (uint8_t)cls;
	p[5] = (uint8_t)data;
	p[6] = 1;
	p[16] = 2; /* ET_EXEC */
	if (data == 1) {
		p[18] = (uint8_t)machine;
		p[19] = (uint8_t)(machine >> 8);
	} else {
		p[18] = (uint8_t)(machine >> 8);
		p[19] = (uint8_t)machine;
	}
	return 64;
}

static void test_classify_elf(void **state)
{
	static const struct {
		int cls, data;
		unsigned machine;
		int want_class;
		const char *machine_name, *endian;
	} t[] = {
		{1, 1, 40, 32, "ARM", "little"},      {1, 2, 8, 32, "MIPS", "big"},
		{1, 1, 8, 32, "MIPS", "little"},      {2, 1, 62, 64, "x86-64", "little"},
		{1, 1, 3, 32, "x86", "little"},       {1, 2, 20, 32, "PowerPC", "big"},
		{1, 2, 2, 32, "SPARC", "big"},        {1, 1, 42, 32, "SuperH", "little"},
		{1, 2, 4, 32, "m68k", "big"},         {1, 1, 93, 32, "ARC", "little"},
		{2, 1, 183, 64, "AArch64", "little"}, {1, 1, 0x1234, 32, "0x1234", "little"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct trap_capture_file f;
		uint8_t h[64];
		size_t n = elf_hdr(h, t[i].cls, t[i].data, t[i].machine);

		memset(&f, 0x55, sizeof f);
		trap_capture_classify(h, n, &f);
		assert_string_equal(f.kind, "elf");
		assert_int_equal(f.elf_class, t[i].want_class);
		assert_string_equal(f.elf_machine, t[i].machine_name);
		assert_string_equal(f.elf_endian, t[i].endian);
		assert_int_equal(f.size, n);
	}
}

static void test_classify_other(void **state)
{
	static const struct {
		const char *data;
		size_t len;
		const char *kind;
	} t[] = {
		{"", 0, "empty"},
		{"#!/bin/sh\nwget http://x/y\n", 26, "script"},
		{"hello world\r\n\tok\n", 17, "text"},
		{"caf\xc3\xa9 \xe2\x82\xac\n", 10, "text"},
		{"a\x01" "b", 3, "data"},
		{"ok\x1b[0m", 6, "data"},
		{"\xff\xfe\x00\x00", 4, "data"},
		{"caf\xc3", 4, "data"},          /* a character cut short */
		{"\xed\xa0\x80", 3, "data"},     /* a surrogate */
		{"\177ELF\001\001\001", 7, "data"}, /* too short to be a header */
		{"\177ELF\003\001\001\000\000\000\000\000\000\000\000\000\002\000\050\000", 20,
		 "data"},                        /* no such class */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct trap_capture_file f;

		memset(&f, 0, sizeof f);
		trap_capture_classify((const uint8_t *)t[i].data, t[i].len, &f);
		if (strcmp(f.kind, t[i].kind) != 0)
			fail_msg("case %zu: kind %s, expected %s", i, f.kind, t[i].kind);
		assert_int_equal(f.elf_class, 0);
		assert_string_equal(f.elf_machine, "");
	}
}

/* ---- TLSH ---- */

/* Our digest is "T1" and the digits `tlsh -f` prints for the same file;
 * where the tool computes none (too short, too uniform), ours is "". */
static void test_tlsh_matches_tool(void **state)
{
	static const struct {
		size_t len;
		uint32_t seed;
		int text; /* 1: a repeated line with a counter, like a script */
	} t[] = {
		{300, 1, 0}, {1000, 2, 0}, {4096, 3, 0}, {70000, 4, 0}, {2000, 0, 1}, {100, 5, 0},
		{255, 6, 0}, {5000, 0, 2},
	};
	char dir[64], path[128], cmd[256], tool[128];
	size_t i;
	int have_tool = access("/usr/bin/tlsh", X_OK) == 0;

	(void)state;
	make_dir(dir, sizeof dir);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		char out[TRAP_TLSH_MAX + 1];
		uint8_t *d = malloc(t[i].len);
		size_t k;

		assert_non_null(d);
		if (t[i].text == 1) {
			for (k = 0; k < t[i].len; k++)
				d[k] = (uint8_t)("echo -ne '\\x7f' >> .t; "[k % 24] + (k / 97) % 3);
		} else if (t[i].text == 2) {
			memset(d, 0, t[i].len); /* uniform: no digest */
		} else {
			fill(d, t[i].len, t[i].seed);
		}
		memset(out, 'x', sizeof out);
		assert_int_equal(trap_tlsh(d, t[i].len, out), 0);
		if (t[i].len < 256) {
			assert_string_equal(out, "");
		} else if (t[i].text != 2) {
			assert_int_equal(strlen(out), 72);
			assert_memory_equal(out, "T1", 2);
		}
		if (have_tool) {
			snprintf(path, sizeof path, "%s/in%zu", dir, i);
			write_file(path, d, t[i].len);
			snprintf(cmd, sizeof cmd, "/usr/bin/tlsh -f '%s' 2>/dev/null", path);
			first_word(cmd, tool, sizeof tool);
			/* The tool prints its digest, or a complaint that is no digest. */
			if (strlen(tool) != 70)
				tool[0] = '\0';
			if (tool[0] == '\0')
				assert_string_equal(out, "");
			else
				assert_string_equal(out + 2, tool);
		}
		free(d);
	}
	remove_dir(dir);
	if (!have_tool)
		skip(); /* the digests were checked for form only */
}

/* ---- the store ---- */

static void sha256sum(const char *path, char out[MM_SHA256_HEX + 1])
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
	first_word(cmd, out, MM_SHA256_HEX + 1);
	assert_int_equal(strlen(out), MM_SHA256_HEX);
}

/* Checks downloads/<sha> holds exactly data, mode 0400, and that its hash
 * by sha256sum is f->sha256. */
static void expect_stored(const char *dir, const struct trap_capture_file *f, const uint8_t *data,
			  size_t len)
{
	char path[PATH_MAX], sum[MM_SHA256_HEX + 1];
	struct stat st;
	uint8_t *got = malloc(len + 1);
	int fd;

	assert_non_null(got);
	snprintf(path, sizeof path, "%s/downloads/%s", dir, f->sha256);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	assert_int_equal(st.st_size, (off_t)len);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, got, len + 1), (ssize_t)len);
	close(fd);
	assert_memory_equal(got, data, len);
	sha256sum(path, sum);
	assert_string_equal(sum, f->sha256);
	free(got);
}

static unsigned count_entries(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof path, "%s/downloads", dir);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' || strncmp(de->d_name, ".tmp.", 5) == 0)
			n++;
	closedir(d);
	return n;
}

static void test_store(void **state)
{
	/* The store holds 10000 bytes; no file over 8000 is hashed. */
	static const struct {
		size_t len;
		uint32_t seed; /* 0: the empty file */
		int rc, stored, duplicate;
		const char *why;
		uint64_t bytes, files; /* usage after */
	} t[] = {
		{3000, 11, 0, 1, 0, "", 3000, 1},
		{3000, 11, 0, 1, 1, "", 3000, 1}, /* the same bytes again */
		{5000, 12, 0, 1, 0, "", 8000, 2},
		{3000, 13, 0, 0, 0, "store full", 8000, 2},
		{2000, 14, 0, 1, 0, "", 10000, 3}, /* exactly fills the store */
		{5000, 12, 0, 1, 1, "", 10000, 3}, /* a duplicate needs no room */
		{9000, 15, MM_ETOOBIG, 0, 0, "too big", 10000, 3},
		{0, 0, 0, 0, 0, "empty", 10000, 3},
	};
	char dir[64];
	struct trap_capture *c;
	size_t i;
	int dfd;

	(void)state;
	make_dir(dir, sizeof dir);
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(trap_capture_open(dfd, 10000, 8000, &c), 0);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct trap_capture_file f;
		uint8_t *d = malloc(t[i].len + 1);
		uint64_t bytes, files;

		assert_non_null(d);
		fill(d, t[i].len, t[i].seed);
		assert_int_equal(trap_capture_add(c, d, t[i].len, &f), t[i].rc);
		assert_int_equal(f.size, t[i].len);
		assert_int_equal(f.stored, t[i].stored);
		assert_int_equal(f.duplicate, t[i].duplicate);
		assert_string_equal(f.why, t[i].why);
		assert_string_equal(f.kind, t[i].len ? "data" : "empty");
		if (t[i].rc == 0 && t[i].len > 0)
			assert_int_equal(strlen(f.tlsh), 72);
		if (t[i].len == 0)
			assert_string_equal(
			    f.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
		if (t[i].stored)
			expect_stored(dir, &f, d, t[i].len);
		trap_capture_usage(c, &bytes, &files);
		assert_int_equal(bytes, t[i].bytes);
		assert_int_equal(files, t[i].files);
		assert_int_equal(count_entries(dir), t[i].files);
		free(d);
	}
	trap_capture_close(c);
	close(dfd);
	remove_dir(dir);
}

/* At open the store counts the files already there (and only those named
 * by a hash), so the bound holds across restarts; a crash's temporary file
 * is removed. */
static void test_reopen(void **state)
{
	char dir[64], path[PATH_MAX];
	struct trap_capture *c;
	struct trap_capture_file f;
	uint8_t d[4000];
	uint64_t bytes, files;
	int dfd;

	(void)state;
	make_dir(dir, sizeof dir);
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(trap_capture_open(dfd, 100000, 100000, &c), 0);
	fill(d, sizeof d, 21);
	assert_int_equal(trap_capture_add(c, d, 4000, &f), 0);
	fill(d, sizeof d, 22);
	assert_int_equal(trap_capture_add(c, d, 3000, &f), 0);
	trap_capture_close(c);

	snprintf(path, sizeof path, "%s/downloads/.tmp.%s", dir, f.sha256);
	write_file(path, "half", 4);
	snprintf(path, sizeof path, "%s/downloads/README", dir);
	write_file(path, "not a capture", 13);

	/* 7000 bytes are there: a bound of 7500 leaves room for 500. */
	assert_int_equal(trap_capture_open(dfd, 7500, 100000, &c), 0);
	trap_capture_usage(c, &bytes, &files);
	assert_int_equal(bytes, 7000);
	assert_int_equal(files, 2);
	snprintf(path, sizeof path, "%s/downloads/.tmp.%s", dir, f.sha256);
	assert_int_equal(access(path, F_OK), -1);
	fill(d, sizeof d, 23);
	assert_int_equal(trap_capture_add(c, d, 501, &f), 0);
	assert_int_equal(f.stored, 0);
	assert_string_equal(f.why, "store full");
	assert_int_equal(trap_capture_add(c, d, 500, &f), 0);
	assert_int_equal(f.stored, 1);
	expect_stored(dir, &f, d, 500);
	trap_capture_close(c);
	close(dfd);
	remove_dir(dir);
}

/* An ELF file is classified as it is stored (the fields an event carries). */
static void test_store_elf(void **state)
{
	char dir[64];
	struct trap_capture *c;
	struct trap_capture_file f;
	uint8_t d[2048];
	int dfd;

	(void)state;
	make_dir(dir, sizeof dir);
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	assert_int_equal(trap_capture_open(dfd, 1 << 20, 1 << 20, &c), 0);
	fill(d, sizeof d, 31);
	elf_hdr(d, 1, 1, 40);
	assert_int_equal(trap_capture_add(c, d, sizeof d, &f), 0);
	assert_string_equal(f.kind, "elf");
	assert_int_equal(f.elf_class, 32);
	assert_string_equal(f.elf_machine, "ARM");
	assert_string_equal(f.elf_endian, "little");
	assert_int_equal(f.stored, 1);
	expect_stored(dir, &f, d, sizeof d);
	trap_capture_close(c);
	close(dfd);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_elf),
		cmocka_unit_test(test_classify_other),
		cmocka_unit_test(test_tlsh_matches_tool),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_store_elf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
