/*
 * Unit tests of trap/fs.c: a base loaded from a small tree made here (with
 * fs.meta, links, a read-only root and a tmpfs /tmp in its proc/mounts);
 * two views of it are isolated from each other and from the base; removing
 * base entries leaves whiteouts, and a directory made again in their place
 * is empty; rename moves files (keeping their id) and directories (with the
 * base's content below them); the overlay refuses bytes past its bound with
 * ENOSPC after taking what fits; writes under the read-only root fail with
 * EROFS; links are followed (and ".." after a link is the target's parent),
 * loops end in ELOOP; the generated busybox reads the same at any offset and
 * copies byte for byte; trap_fs_changed hands each written file over once,
 * whole; an idle view costs a few bytes; a base over 16 MiB is refused.
 */
#include <elf.h>
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

#include "fs.h"

static char dir[64];
static struct trap_fs_base *base;
static const struct trap_fs_elf elf = {ELFCLASS32, ELFDATA2MSB, EM_MIPS, 0x70001007, 300000};
static time_t boot;

static void put(const char *rel, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char p[256];

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state)
{
	static const char applets[] = "cat\0echo\0ls\0ifconfig\0wget";
	char err[256], p[256];

	(void)state;
	snprintf(dir, sizeof dir, "%s", "/tmp/mamori-test-fs.XXXXXX");
	assert_non_null(mkdtemp(dir));
	mk("root");
	mk("root/etc");
	mk("root/bin");
	mk("root/proc");
	mk("root/tmp");
	mk("root/tmp/d");
	mk("root/tmp/d/sub");
	mk("root/var");
	put("root/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
	put("root/proc/mounts", "rootfs / rootfs rw 0 0\n/dev/root / squashfs ro,relatime 0 0\n"
				"proc /proc proc rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n"
				"tmpfs /var tmpfs rw 0 0\n");
	put("root/tmp/base.txt", "from the base\n");
	put("root/tmp/d/one", "1\n");
	put("root/tmp/d/sub/two", "22\n");
	put("root/tmp/.keep", "");
	snprintf(p, sizeof p, "%s/root/tmp/lnk", dir);
	assert_int_equal(symlink("d/sub", p), 0);
	snprintf(p, sizeof p, "%s/root/tmp/loop", dir);
	assert_int_equal(symlink("loop", p), 0);
	put("fs.meta", "# test\n@mtime 1400000000\n/etc/passwd 0640 0 5\n/dev/null 020666 0 0\n"
		       "/home/user 040700 1000 1000\n/tmp 041777 0 0\n");
	boot = time(NULL) - 5000;
	snprintf(p, sizeof p, "%s/root", dir);
	if (trap_fs_base_load(p, "/bin/busybox", &elf, applets, 5, "ifconfig sbin\nwget usr/bin\n",
			      boot, &base, err, sizeof err) != 0)
		fail_msg("%s", err);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	trap_fs_base_free(base);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static size_t slurp(struct trap_fs *fs, const char *path, char *buf, size_t cap)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = trap_fs_read(fs, "/", path, got, buf + got, cap - 1 - got);

		assert_true(n >= 0);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

static void write_file(struct trap_fs *fs, const char *path, const char *text, int append)
{
	uint64_t id;

	assert_int_equal(trap_fs_open_write(fs, "/", path, append, 0666, &id), 0);
	assert_int_equal(trap_fs_write(fs, id, text, strlen(text)), 0);
}

struct names {
	char buf[1024];
	size_t len;
};

static int name_fn(void *arg, const char *name, const struct trap_fs_stat *st)
{
	struct names *n = arg;
	int w = snprintf(n->buf + n->len, sizeof n->buf - n->len, "%s%s ", name,
			 st->type == TRAP_FS_DIR ? "/" : st->type == TRAP_FS_LNK ? "@" : "");

	assert_true(w > 0 && (size_t)w < sizeof n->buf - n->len);
	n->len += (size_t)w;
	return 0;
}

static const char *ls(struct trap_fs *fs, const char *path, struct names *n)
{
	n->len = 0;
	n->buf[0] = '\0';
	assert_int_equal(trap_fs_list(fs, "/", path, name_fn, n), 0);
	return n->buf;
}

static void test_base(void **state)
{
	struct trap_fs *fs;
	struct trap_fs_stat st;
	struct names n;
	char buf[256];

	(void)state;
	assert_int_equal(trap_fs_new(base, 1 << 20, &fs), 0);
	assert_true(trap_fs_bytes(fs) <= 128);
	assert_int_equal(trap_fs_stat(fs, "/", "/etc/passwd", &st), 0);
	assert_int_equal(st.mode, 0640);
	assert_int_equal(st.gid, 5);
	assert_int_equal(st.mtime, 1400000000);
	assert_int_equal(st.overlay, 0);
	assert_int_equal(trap_fs_stat(fs, "/", "/tmp/base.txt", &st), 0);
	assert_int_equal(st.mtime, boot); /* on tmpfs: made at boot */
	assert_int_equal(trap_fs_stat(fs, "/", "/dev/null", &st), 0);
	assert_int_equal(st.type, TRAP_FS_CHR);
	assert_int_equal(trap_fs_read(fs, "/", "/dev/null", 0, buf, sizeof buf), 0);
	assert_int_equal(trap_fs_stat(fs, "/", "/home/user", &st), 0);
	assert_int_equal(st.type, TRAP_FS_DIR);
	assert_int_equal(st.uid, 1000);
	assert_int_equal(st.mode, 0700);
	assert_int_equal(trap_fs_stat(fs, "/", "/tmp/.keep", &st), -ENOENT);
	assert_string_equal(ls(fs, "/bin", &n), "busybox cat@ echo@ ls@ ");
	assert_string_equal(ls(fs, "/tmp", &n), "base.txt d/ lnk@ loop@ ");
	assert_int_equal(trap_fs_readlink(fs, "/", "/sbin/ifconfig", buf, sizeof buf), 0);
	assert_string_equal(buf, "../bin/busybox");
	assert_int_equal(trap_fs_readlink(fs, "/", "/usr/bin/wget", buf, sizeof buf), 0);
	assert_string_equal(buf, "../../bin/busybox");
	assert_int_equal(trap_fs_readlink(fs, "/", "/etc/passwd", buf, sizeof buf), -EINVAL);
	assert_int_equal(trap_fs_list(fs, "/", "/etc/passwd", name_fn, &n), -ENOTDIR);
	assert_int_equal(trap_fs_read(fs, "/", "/etc", 0, buf, sizeof buf), -EISDIR);
	assert_int_equal(trap_fs_stat(fs, "/", "/etc/passwd/x", &st), -ENOTDIR);
	assert_int_equal(trap_fs_stat(fs, "/", "/etc/passwd/", &st), -ENOTDIR);
	assert_int_equal(trap_fs_stat(fs, "/", "/nope/x", &st), -ENOENT);
	assert_int_equal(trap_fs_stat(fs, "/", "", &st), -ENOENT);
	assert_true(trap_fs_base_bytes(base) > 0);
	trap_fs_free(fs);
}

static void test_paths(void **state)
{
	static const struct {
		const char *cwd, *path, *want;
	} cases[] = {
		{"/", "a/../b", "/b"},     {"/tmp", "x", "/tmp/x"},   {"/tmp", "..", "/"},
		{"/", "../../..", "/"},    {"/a/b", "./c/./d/", "/a/b/c/d"},
		{"/a", "/x//y", "/x/y"},   {"/", ".", "/"},
	};
	struct trap_fs *fs;
	char out[TRAP_FS_PATH_MAX], big[3000];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(trap_fs_abspath(cases[i].cwd, cases[i].path, out), 0);
		assert_string_equal(out, cases[i].want);
	}
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(trap_fs_abspath("/", big, out), -ENAMETOOLONG);

	assert_int_equal(trap_fs_new(base, 1 << 20, &fs), 0);
	/* "lnk/.." is the parent of the link's target, as the kernel has it. */
	assert_int_equal(trap_fs_realpath(fs, "/tmp", "lnk/..", out), 0);
	assert_string_equal(out, "/tmp/d");
	assert_int_equal(trap_fs_realpath(fs, "/tmp", "lnk", out), 0);
	assert_string_equal(out, "/tmp/d/sub");
	assert_int_equal(trap_fs_realpath(fs, "/", "/bin/echo", out), 0);
	assert_string_equal(out, "/bin/busybox");
	assert_int_equal(trap_fs_realpath(fs, "/tmp/d", "../../etc/./passwd", out), 0);
	assert_string_equal(out, "/etc/passwd");
	assert_int_equal(trap_fs_realpath(fs, "/", "/", out), 0);
	assert_string_equal(out, "/");
	assert_int_equal(trap_fs_realpath(fs, "/", "/tmp/loop", out), -ELOOP);
	assert_int_equal(trap_fs_realpath(fs, "/", "/tmp/loop/x", out), -ELOOP);
	assert_int_equal(trap_fs_realpath(fs, "/", big, out), -ENAMETOOLONG);
	slurp(fs, "/tmp/lnk/two", out, sizeof out);
	assert_string_equal(out, "22\n");
	trap_fs_free(fs);
}

static void test_isolation(void **state)
{
	struct trap_fs *a, *b;
	struct trap_fs_stat st;
	char buf[256];

	(void)state;
	assert_int_equal(trap_fs_new(base, 1 << 20, &a), 0);
	assert_int_equal(trap_fs_new(base, 1 << 20, &b), 0);
	write_file(a, "/tmp/new", "mine\n", 0);
	write_file(a, "/tmp/base.txt", "changed\n", 0);
	write_file(a, "/tmp/d/one", "+more\n", 1);
	assert_int_equal(trap_fs_stat(b, "/", "/tmp/new", &st), -ENOENT);
	slurp(a, "/tmp/base.txt", buf, sizeof buf);
	assert_string_equal(buf, "changed\n");
	slurp(b, "/tmp/base.txt", buf, sizeof buf);
	assert_string_equal(buf, "from the base\n");
	slurp(a, "/tmp/d/one", buf, sizeof buf);
	assert_string_equal(buf, "1\n+more\n");
	slurp(b, "/tmp/d/one", buf, sizeof buf);
	assert_string_equal(buf, "1\n");
	assert_int_equal(trap_fs_stat(a, "/", "/tmp/new", &st), 0);
	assert_int_equal(st.overlay, 1);
	assert_int_equal(st.mode, 0644); /* 0666 less the umask */
	assert_int_equal(st.size, 5);
	assert_int_equal(trap_fs_chmod(a, "/", "/tmp/base.txt", 0777), 0);
	assert_int_equal(trap_fs_stat(b, "/", "/tmp/base.txt", &st), 0);
	assert_int_equal(st.mode, 0644);
	assert_int_equal(trap_fs_stat(a, "/", "/tmp/base.txt", &st), 0);
	assert_int_equal(st.mode, 0777);
	assert_true(trap_fs_bytes(a) > trap_fs_bytes(b));
	trap_fs_free(a);
	trap_fs_free(b);
}

static void test_whiteouts(void **state)
{
	struct trap_fs *fs;
	struct trap_fs_stat st;
	struct names n;
	char buf[64];

	(void)state;
	assert_int_equal(trap_fs_new(base, 1 << 20, &fs), 0);
	assert_int_equal(trap_fs_unlink(fs, "/tmp", "base.txt"), 0);
	assert_int_equal(trap_fs_stat(fs, "/", "/tmp/base.txt", &st), -ENOENT);
	assert_int_equal(trap_fs_unlink(fs, "/tmp", "base.txt"), -ENOENT);
	assert_string_equal(ls(fs, "/tmp", &n), "d/ lnk@ loop@ ");
	write_file(fs, "/tmp/base.txt", "again\n", 1);
	slurp(fs, "/tmp/base.txt", buf, sizeof buf);
	assert_string_equal(buf, "again\n");
	/* rm -r of a base directory, then mkdir: an empty directory. */
	assert_int_equal(trap_fs_rmdir(fs, "/", "/tmp/d"), -ENOTEMPTY);
	assert_int_equal(trap_fs_unlink(fs, "/", "/tmp/d"), -EISDIR);
	assert_int_equal(trap_fs_unlink(fs, "/", "/tmp/d/sub/two"), 0);
	assert_int_equal(trap_fs_rmdir(fs, "/", "/tmp/d/sub"), 0);
	assert_int_equal(trap_fs_unlink(fs, "/", "/tmp/d/one"), 0);
	assert_int_equal(trap_fs_rmdir(fs, "/", "/tmp/d"), 0);
	assert_int_equal(trap_fs_stat(fs, "/", "/tmp/lnk", &st), -ENOENT); /* dangling now */
	assert_int_equal(trap_fs_lstat(fs, "/", "/tmp/lnk", &st), 0);
	assert_int_equal(trap_fs_mkdir(fs, "/", "/tmp/d", 0755), 0);
	assert_int_equal(trap_fs_mkdir(fs, "/", "/tmp/d", 0755), -EEXIST);
	assert_string_equal(ls(fs, "/tmp/d", &n), "");
	assert_int_equal(trap_fs_stat(fs, "/", "/tmp/d/one", &st), -ENOENT);
	assert_int_equal(trap_fs_mkdir(fs, "/", "/tmp/d/sub", 0755), 0);
	assert_string_equal(ls(fs, "/tmp/d", &n), "sub/ ");
	assert_string_equal(ls(fs, "/tmp/d/sub", &n), "");
	assert_int_equal(trap_fs_rmdir(fs, "/", "/"), -EBUSY);
	trap_fs_free(fs);
}

static void test_rename(void **state)
{
	struct trap_fs *fs;
	struct trap_fs_stat st;
	struct names n;
	char buf[64];
	uint64_t id, id2;

	(void)state;
	assert_int_equal(trap_fs_new(base, 1 << 20, &fs), 0);
	assert_int_equal(trap_fs_open_write(fs, "/tmp", "a", 0, 0644, &id), 0);
	assert_int_equal(trap_fs_write(fs, id, "AAA", 3), 0);
	assert_int_equal(trap_fs_rename(fs, "/tmp", "a", "b"), 0);
	assert_int_equal(trap_fs_stat(fs, "/", "/tmp/a", &st), -ENOENT);
	assert_int_equal(trap_fs_write(fs, id, "+", 1), 0); /* the id follows the file */
	slurp(fs, "/tmp/b", buf, sizeof buf);
	assert_string_equal(buf, "AAA+");
	/* Over a base file, then a base file away. */
	assert_int_equal(trap_fs_rename(fs, "/tmp", "b", "base.txt"), 0);
	slurp(fs, "/tmp/base.txt", buf, sizeof buf);
	assert_string_equal(buf, "AAA+");
	assert_int_equal(trap_fs_rename(fs, "/tmp", "d/one", "uno"), 0);
	slurp(fs, "/tmp/uno", buf, sizeof buf);
	assert_string_equal(buf, "1\n");
	assert_int_equal(trap_fs_stat(fs, "/", "/tmp/d/one", &st), -ENOENT);
	/* A base directory with its content. */
	assert_int_equal(trap_fs_rename(fs, "/", "/tmp/d", "/tmp/e"), 0);
	assert_int_equal(trap_fs_stat(fs, "/", "/tmp/d", &st), -ENOENT);
	assert_string_equal(ls(fs, "/tmp/e", &n), "sub/ ");
	slurp(fs, "/tmp/e/sub/two", buf, sizeof buf);
	assert_string_equal(buf, "22\n");
	assert_string_equal(ls(fs, "/tmp", &n), "base.txt e/ lnk@ loop@ uno ");
	/* The refusals rename(2) makes. */
	assert_int_equal(trap_fs_rename(fs, "/", "/tmp/e", "/tmp/e/sub/x"), -EINVAL);
	assert_int_equal(trap_fs_rename(fs, "/", "/tmp/uno", "/tmp/e"), -EISDIR);
	assert_int_equal(trap_fs_rename(fs, "/", "/tmp/e", "/tmp/uno"), -ENOTDIR);
	assert_int_equal(trap_fs_mkdir(fs, "/", "/tmp/f", 0755), 0);
	assert_int_equal(trap_fs_open_write(fs, "/", "/tmp/f/x", 0, 0644, &id2), 0);
	assert_int_equal(trap_fs_rename(fs, "/", "/tmp/e", "/tmp/f"), -ENOTEMPTY);
	assert_int_equal(trap_fs_rename(fs, "/", "/tmp/nope", "/tmp/g"), -ENOENT);
	assert_int_equal(trap_fs_rename(fs, "/", "/tmp/uno", "/etc/uno"), -EROFS);
	trap_fs_free(fs);
}

static void test_readonly(void **state)
{
	struct trap_fs *fs;
	uint64_t id;

	(void)state;
	assert_int_equal(trap_fs_new(base, 1 << 20, &fs), 0);
	assert_int_equal(trap_fs_open_write(fs, "/", "/.nippon", 0, 0644, &id), -EROFS);
	assert_int_equal(trap_fs_open_write(fs, "/", "/etc/passwd", 1, 0644, &id), -EROFS);
	assert_int_equal(trap_fs_unlink(fs, "/", "/etc/passwd"), -EROFS);
	assert_int_equal(trap_fs_mkdir(fs, "/", "/x", 0755), -EROFS);
	assert_int_equal(trap_fs_chmod(fs, "/", "/bin/busybox", 0777), -EROFS);
	assert_int_equal(trap_fs_symlink(fs, "/", "/bin/busybox", "/bin/x"), -EROFS);
	assert_int_equal(trap_fs_copy(fs, "/", "/etc/passwd", "/etc/p2"), -EROFS);
	assert_int_equal(trap_fs_open_write(fs, "/", "/proc/x", 0, 0644, &id), -ENOENT);
	assert_int_equal(trap_fs_open_write(fs, "/", "/var/.nippon", 0, 0644, &id), 0);
	/* A device takes writes and keeps nothing. */
	assert_int_equal(trap_fs_open_write(fs, "/", "/dev/null", 0, 0644, &id), 0);
	assert_int_equal(trap_fs_write(fs, id, "x", 1), 0);
	trap_fs_free(fs);
}

static void test_links(void **state)
{
	struct trap_fs *fs;
	struct trap_fs_stat st;
	char buf[64];

	(void)state;
	assert_int_equal(trap_fs_new(base, 1 << 20, &fs), 0);
	assert_int_equal(trap_fs_symlink(fs, "/tmp", "/etc/passwd", "pw"), 0);
	assert_int_equal(trap_fs_symlink(fs, "/tmp", "x", "pw"), -EEXIST);
	assert_int_equal(trap_fs_readlink(fs, "/tmp", "pw", buf, sizeof buf), 0);
	assert_string_equal(buf, "/etc/passwd");
	assert_int_equal(trap_fs_lstat(fs, "/tmp", "pw", &st), 0);
	assert_int_equal(st.type, TRAP_FS_LNK);
	assert_int_equal(st.size, 11);
	slurp(fs, "/tmp/pw", buf, sizeof buf);
	assert_string_equal(buf, "root:x:0:0:root:/root:/bin/sh\n");
	/* A write through a dangling link makes its target. */
	assert_int_equal(trap_fs_symlink(fs, "/tmp", "target", "dang"), 0);
	write_file(fs, "/tmp/dang", "t\n", 0);
	slurp(fs, "/tmp/target", buf, sizeof buf);
	assert_string_equal(buf, "t\n");
	/* unlink removes the link, not what it points to. */
	assert_int_equal(trap_fs_unlink(fs, "/tmp", "dang"), 0);
	assert_int_equal(trap_fs_stat(fs, "/tmp", "target", &st), 0);
	assert_int_equal(trap_fs_unlink(fs, "/tmp", "lnk"), 0);
	assert_int_equal(trap_fs_stat(fs, "/", "/tmp/d/sub/two", &st), 0);
	trap_fs_free(fs);
}

static void test_busybox(void **state)
{
	struct trap_fs *fs;
	struct trap_fs_stat st;
	uint8_t *whole, chunk[777], hdr[128];
	const uint8_t *own;
	size_t got = 0, len, hlen;
	uint64_t id;

	(void)state;
	assert_int_equal(trap_fs_new(base, 1 << 20, &fs), 0);
	assert_non_null(whole = malloc(elf.size));
	while (got < elf.size) {
		ssize_t r = trap_fs_read(fs, "/", "/bin/echo", got, whole + got, 4096);

		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_int_equal(trap_fs_read(fs, "/", "/bin/echo", got, chunk, sizeof chunk), 0);
	hlen = trap_fs_elf_header(&elf, hdr);
	assert_int_equal(hlen, 52 + 2 * 32);
	assert_memory_equal(whole, hdr, hlen);
	assert_int_equal(whole[EI_DATA], ELFDATA2MSB);
	assert_int_equal(whole[19], EM_MIPS);
	/* Any offset, any length: the same bytes. */
	assert_int_equal(trap_fs_read(fs, "/", "/bin/busybox", 123457, chunk, sizeof chunk),
			 sizeof chunk);
	assert_memory_equal(chunk, whole + 123457, sizeof chunk);
	trap_fs_elf_read(&elf, 299000, chunk, 500);
	assert_memory_equal(chunk, whole + 299000, 500);
	/* cp /bin/echo dvrHelper; >dvrHelper; echo -ne '...' >> dvrHelper */
	assert_int_equal(trap_fs_copy(fs, "/tmp", "/bin/echo", "dvrHelper"), 0);
	assert_int_equal(trap_fs_stat(fs, "/tmp", "dvrHelper", &st), 0);
	assert_int_equal(st.size, elf.size);
	assert_int_equal(st.mode, 0755);
	assert_non_null(own = trap_fs_own(fs, "/tmp", "dvrHelper", &len));
	assert_int_equal(len, elf.size);
	assert_memory_equal(own, whole, elf.size);
	assert_int_equal(trap_fs_copy(fs, "/tmp", "dvrHelper", "dvrHelper"), -EINVAL);
	assert_int_equal(trap_fs_open_write(fs, "/tmp", "dvrHelper", 0, 0644, &id), 0);
	assert_int_equal(trap_fs_open_write(fs, "/tmp", "dvrHelper", 1, 0644, &id), 0);
	assert_int_equal(trap_fs_write(fs, id, "\x7f" "ELF", 4), 0);
	assert_non_null(own = trap_fs_own(fs, "/tmp", "dvrHelper", &len));
	assert_int_equal(len, 4);
	assert_memory_equal(own, "\x7f" "ELF", 4);
	assert_null(trap_fs_own(fs, "/", "/bin/echo", &len));
	assert_null(trap_fs_own(fs, "/", "/etc/passwd", &len));
	assert_true(trap_fs_bytes(fs) < elf.size + 4096);
	free(whole);
	trap_fs_free(fs);
}

static void test_enospc(void **state)
{
	struct trap_fs *fs;
	struct trap_fs_stat st;
	uint8_t block[1000];
	uint64_t id;
	int i, rc = 0;

	(void)state;
	memset(block, 'x', sizeof block);
	assert_int_equal(trap_fs_new(base, 8192, &fs), 0);
	assert_int_equal(trap_fs_open_write(fs, "/", "/tmp/big", 0, 0644, &id), 0);
	for (i = 0; i < 20 && rc == 0; i++)
		rc = trap_fs_write(fs, id, block, sizeof block);
	assert_int_equal(rc, -ENOSPC);
	assert_true(i > 3);
	assert_true(trap_fs_bytes(fs) <= 8192 + 128);
	/* What fit was kept: the file is larger than the whole blocks written. */
	assert_int_equal(trap_fs_stat(fs, "/", "/tmp/big", &st), 0);
	assert_true(st.size > (uint64_t)(i - 1) * sizeof block);
	/* Removing frees the bytes; a copy past the bound keeps what fits. */
	assert_int_equal(trap_fs_unlink(fs, "/", "/tmp/big"), 0);
	assert_int_equal(trap_fs_copy(fs, "/", "/bin/busybox", "/tmp/bb"), -ENOSPC);
	assert_int_equal(trap_fs_stat(fs, "/", "/tmp/bb", &st), 0);
	assert_true(st.size > 4096 && st.size < 8192);
	assert_true(trap_fs_bytes(fs) <= 8192 + 128);
	assert_int_equal(trap_fs_unlink(fs, "/", "/tmp/bb"), 0);
	assert_int_equal(trap_fs_open_write(fs, "/", "/tmp/small", 0, 0644, &id), 0);
	assert_int_equal(trap_fs_write(fs, id, block, sizeof block), 0);
	trap_fs_free(fs);
}

struct seen {
	char paths[512];
	size_t n, bytes;
};

static int changed_fn(void *arg, const char *path, uint64_t id, const uint8_t *data, size_t len)
{
	struct seen *s = arg;
	size_t l = strlen(s->paths);

	assert_true(id > 0);
	snprintf(s->paths + l, sizeof s->paths - l, "%s=%.*s;", path, (int)len, (const char *)data);
	s->n++;
	s->bytes += len;
	return 0;
}

static void test_changed(void **state)
{
	struct trap_fs *fs;
	struct seen s;

	(void)state;
	assert_int_equal(trap_fs_new(base, 1 << 20, &fs), 0);
	memset(&s, 0, sizeof s);
	assert_int_equal(trap_fs_changed(fs, changed_fn, &s), 0);
	assert_int_equal(s.n, 0);
	write_file(fs, "/tmp/x", "ab", 0);
	write_file(fs, "/tmp/x", "cd", 1);
	write_file(fs, "/tmp/gone", "zz", 0);
	assert_int_equal(trap_fs_unlink(fs, "/", "/tmp/gone"), 0);
	assert_int_equal(trap_fs_mkdir(fs, "/", "/tmp/dir", 0755), 0);
	assert_int_equal(trap_fs_chmod(fs, "/", "/tmp/base.txt", 0700), 0);
	assert_int_equal(trap_fs_changed(fs, changed_fn, &s), 0);
	assert_string_equal(s.paths, "/tmp/x=abcd;");
	memset(&s, 0, sizeof s);
	assert_int_equal(trap_fs_changed(fs, changed_fn, &s), 0);
	assert_int_equal(s.n, 0);
	write_file(fs, "/tmp/x", "e", 1);
	write_file(fs, "/var/y", "", 0);
	assert_int_equal(trap_fs_changed(fs, changed_fn, &s), 0);
	assert_string_equal(s.paths, "/tmp/x=abcde;/var/y=;");
	trap_fs_free(fs);
}

static void test_generated(void **state)
{
	struct trap_fs *fs;
	struct trap_fs_stat st;
	char buf[128];
	double up, idle;
	unsigned a, b, c;

	(void)state;
	assert_int_equal(trap_fs_new(base, 1 << 20, &fs), 0);
	slurp(fs, "/proc/uptime", buf, sizeof buf);
	assert_int_equal(sscanf(buf, "%lf %lf", &up, &idle), 2);
	/* Booted 5000 s before the base was loaded. */
	assert_true(up >= 5000 && up < 5000 + 3600);
	assert_true(idle < up && idle > up / 2);
	slurp(fs, "/proc/loadavg", buf, sizeof buf);
	assert_int_equal(sscanf(buf, "%*u.%u %*u.%u %*u.%u", &a, &b, &c), 3);
	assert_int_equal(trap_fs_stat(fs, "/", "/proc/uptime", &st), 0);
	assert_int_equal(st.size, 0); /* as procfs says */
	assert_int_equal(st.mode, 0444);
	trap_fs_free(fs);
}

static void test_too_big(void **state)
{
	char d[128], p[160], err[256];
	struct trap_fs_base *b = NULL;
	int fd;

	(void)state;
	snprintf(d, sizeof d, "%s/big", dir);
	assert_int_equal(mkdir(d, 0755), 0);
	snprintf(p, sizeof p, "%s/blob", d);
	assert_true((fd = open(p, O_CREAT | O_WRONLY, 0644)) >= 0);
	assert_int_equal(ftruncate(fd, 17 * 1024 * 1024), 0);
	close(fd);
	assert_int_equal(trap_fs_base_load(d, "/bin/busybox", &elf, "", 0, "", boot, &b, err,
					   sizeof err), -EFBIG);
	assert_null(b);
	assert_non_null(strstr(err, "blob"));
	assert_int_equal(trap_fs_base_load("/nonexistent-root", "/bin/busybox", &elf, "", 0, "",
					   boot, &b, err, sizeof err), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base),       cmocka_unit_test(test_paths),
		cmocka_unit_test(test_isolation),  cmocka_unit_test(test_whiteouts),
		cmocka_unit_test(test_rename),     cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_links),      cmocka_unit_test(test_busybox),
		cmocka_unit_test(test_enospc),     cmocka_unit_test(test_changed),
		cmocka_unit_test(test_generated),  cmocka_unit_test(test_too_big),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
