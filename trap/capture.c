/*
 * Captured files (see capture.h): hash, classify, and store each file once
 * in DIR/downloads/<sha256>.
 *
 * The daemon runs sandboxed with only DIR open, so everything here goes
 * through descriptors: downloads/ is opened once at trap_capture_open()
 * and every file is made with openat/renameat inside it. A file is written
 * to ".tmp.<sha256>", synced and renamed, so that a crash never leaves a
 * half-written file under a name that claims its hash; temporary files
 * left by a crash are removed at open. What the store holds is counted at
 * open from the files there, so the bound on total bytes holds across
 * restarts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "capture.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define TMP_PREFIX ".tmp."

struct trap_capture {
	int dl_fd;          /* DIR/downloads */
	uint64_t max_bytes; /* the store's bound */
	uint64_t max_file;  /* the largest file hashed at all */
	uint64_t bytes;     /* bytes in the store */
	uint64_t files;     /* files in the store */
};

/* ---- classification ---- */

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src);
}

static const char *machine_name(unsigned m)
{
	/* The e_machine values of the CPUs that IoT malware is built for. */
	static const struct {
		unsigned m;
		const char *name;
	} t[] = {
		{2, "SPARC"},   {3, "x86"},      {4, "m68k"},   {8, "MIPS"},    {10, "MIPS"},
		{20, "PowerPC"}, {21, "PowerPC"}, {40, "ARM"},  {42, "SuperH"}, {43, "SPARC"},
		{45, "ARC"},    {62, "x86-64"},  {93, "ARC"},   {183, "AArch64"}, {195, "ARC"},
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].m == m)
			return t[i].name;
	return NULL;
}

/* The length of the valid UTF-8 character at p (1..4), or 0. Overlong
 * forms, surrogates and code points past U+10FFFF are not valid. */
static size_t utf8_char(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t c = p[0];
	size_t len, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3F);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
	    (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

/* Text: valid UTF-8 of printable characters, tabs and line ends. */
static int is_text(const uint8_t *d, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((n = utf8_char(d + i, len - i, &cp)) == 0)
			return 0;
		if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F ||
		    (cp >= 0x80 && cp < 0xA0))
			return 0;
		i += n;
	}
	return 1;
}

void trap_capture_classify(const uint8_t *data, size_t len, struct trap_capture_file *f)
{
	f->elf_class = 0;
	f->elf_machine[0] = '\0';
	f->elf_endian[0] = '\0';
	f->size = len;
	if (len == 0) {
		copy_str(f->kind, sizeof f->kind, "empty");
		return;
	}
	/* e_ident (16 bytes), e_type (2) and e_machine (2): enough to name the
	 * CPU, which is what Mirai's loader itself reads from /bin/echo. */
	if (len >= 20 && memcmp(data, "\177ELF", 4) == 0 && (data[4] == 1 || data[4] == 2) &&
	    (data[5] == 1 || data[5] == 2)) {
		unsigned m = data[5] == 1 ? (unsigned)data[18] | (unsigned)data[19] << 8
					  : (unsigned)data[18] << 8 | (unsigned)data[19];
		const char *name = machine_name(m);

		copy_str(f->kind, sizeof f->kind, "elf");
		f->elf_class = data[4] == 1 ? 32 : 64;
		copy_str(f->elf_endian, sizeof f->elf_endian, data[5] == 1 ? "little" : "big");
		if (name)
			copy_str(f->elf_machine, sizeof f->elf_machine, name);
		else
			snprintf(f->elf_machine, sizeof f->elf_machine, "0x%04x", m);
		return;
	}
	if (len >= 2 && data[0] == '#' && data[1] == '!')
		copy_str(f->kind, sizeof f->kind, "script");
	else if (is_text(data, len))
		copy_str(f->kind, sizeof f->kind, "text");
	else
		copy_str(f->kind, sizeof f->kind, "data");
}

/* ---- the store ---- */

static int is_sha256_name(const char *s)
{
	size_t i;

	for (i = 0; i < MM_SHA256_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* Counts the files in the store and removes temporary files a crash left. */
static int scan(struct trap_capture *c)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(c->dl_fd)) == -1)
		return MM_EIO;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return MM_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
			if (unlinkat(c->dl_fd, de->d_name, 0) == -1)
				log_warn("trap capture: remove downloads/%s", de->d_name);
			continue;
		}
		if (!is_sha256_name(de->d_name))
			continue;
		if (fstatat(c->dl_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		c->bytes += (uint64_t)st.st_size;
		c->files++;
	}
	closedir(d);
	return 0;
}

int trap_capture_open(int dir_fd, uint64_t max_bytes, uint64_t max_file,
		      struct trap_capture **out)
{
	struct trap_capture *c;
	int rc;

	*out = NULL;
	if (dir_fd < 0 || max_file == 0)
		return MM_EINVAL;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return MM_ENOMEM;
	c->max_bytes = max_bytes;
	c->max_file = max_file;
	if (mkdirat(dir_fd, "downloads", 0700) == -1 && errno != EEXIST) {
		log_warn("trap capture: mkdir downloads");
		rc = MM_EIO;
		goto fail;
	}
	c->dl_fd = openat(dir_fd, "downloads", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->dl_fd == -1) {
		log_warn("trap capture: open downloads");
		rc = MM_EIO;
		goto fail;
	}
	if ((rc = scan(c)) < 0) {
		log_warn("trap capture: read downloads");
		close(c->dl_fd);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	free(c);
	return rc;
}

void trap_capture_close(struct trap_capture *c)
{
	if (c == NULL)
		return;
	close(c->dl_fd);
	free(c);
}

void trap_capture_usage(const struct trap_capture *c, uint64_t *bytes, uint64_t *files)
{
	if (bytes)
		*bytes = c->bytes;
	if (files)
		*files = c->files;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes the file under a temporary name, syncs it and renames it to its
 * hash. Returns 0 or MM_EIO with f->why saying what failed. */
static int store(struct trap_capture *c, const uint8_t *data, size_t len,
		 struct trap_capture_file *f)
{
	char tmp[sizeof TMP_PREFIX + MM_SHA256_HEX];
	const char *step = "create";
	int fd, tries, saved;

	snprintf(tmp, sizeof tmp, TMP_PREFIX "%s", f->sha256);
	/* One retry: a temporary file of the same hash can only be a crash's. */
	for (tries = 0;; tries++) {
		fd = openat(c->dl_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0400);
		if (fd != -1 || errno != EEXIST || tries > 0)
			break;
		unlinkat(c->dl_fd, tmp, 0);
	}
	if (fd == -1)
		goto fail;
	step = "write";
	if (write_all(fd, data, len) == -1)
		goto fail_fd;
	step = "sync";
	if (fsync(fd) == -1)
		goto fail_fd;
	close(fd);
	fd = -1;
	step = "rename";
	if (renameat(c->dl_fd, tmp, c->dl_fd, f->sha256) == -1)
		goto fail_unlink;
	/* The rename itself survives a power cut only once the folder is synced. */
	if (fsync(c->dl_fd) == -1)
		log_warn("trap capture: sync downloads");
	return 0;
fail_fd:
	saved = errno;
	close(fd);
	goto fail_saved;
fail_unlink:
	saved = errno;
fail_saved:
	unlinkat(c->dl_fd, tmp, 0);
	errno = saved;
fail:
	snprintf(f->why, sizeof f->why, "%s: %s", step, strerror(errno));
	log_warn("trap capture: %s downloads/%s", step, tmp);
	return MM_EIO;
}

int trap_capture_add(struct trap_capture *c, const uint8_t *data, size_t len,
		     struct trap_capture_file *f)
{
	uint8_t md[MM_SHA256_LEN];
	unsigned int mdlen = 0;
	struct stat st;
	int rc;

	memset(f, 0, sizeof *f);
	trap_capture_classify(data, len, f);
	if ((uint64_t)len > c->max_file) {
		copy_str(f->why, sizeof f->why, "too big");
		return MM_ETOOBIG;
	}
	if (EVP_Digest(len ? data : (const uint8_t *)"", len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != MM_SHA256_LEN)
		return MM_ENOMEM;
	mm_hex(md, sizeof md, f->sha256);
	if ((rc = trap_tlsh(data, len, f->tlsh)) < 0)
		return rc;
	if (len == 0) {
		copy_str(f->why, sizeof f->why, "empty");
		return 0;
	}
	if (fstatat(c->dl_fd, f->sha256, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		f->stored = 1;
		f->duplicate = 1;
		return 0;
	}
	if (c->bytes > c->max_bytes || (uint64_t)len > c->max_bytes - c->bytes) {
		copy_str(f->why, sizeof f->why, "store full");
		return 0;
	}
	/* An I/O error is reported in f->why; the file is still hashed and told. */
	if (store(c, data, len, f) < 0)
		return 0;
	c->bytes += len;
	c->files++;
	f->stored = 1;
	return 0;
}
