/*
 * mamori baseline: the firmware baseline that mamorid's allowlist mode
 * reads (docs/formats/baseline.md). `build` walks a root file system image
 * and writes one line per regular file with its size, SHA-256 and mode;
 * `check` reads a baseline back and says whether mamorid would accept it.
 *
 * The walk opens every directory relative to its parent (openat with
 * O_NOFOLLOW), so a symbolic link in the image never leads the walk, or a
 * hash, outside ROOTFS, and the depth is bounded so that a crafted image
 * cannot exhaust the descriptor table or the stack. Files are hashed
 * through the descriptor that was checked to be a regular file, so a file
 * swapped for a FIFO between the listing and the open is not waited on.
 * Lines are collected and sorted by path, so that two builds of the same
 * image give the same bytes and baselines can be compared with diff(1).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/hash.h"
#include "mamori/log.h"

#define BASELINE_MAGIC "# mamori baseline 1"
#define MAX_DEPTH 256            /* directories below ROOTFS */
#define MAX_ENTRIES (1u << 22)   /* regular files in one baseline */
#define PATH_BYTES 4096          /* a path as the device sees it, with its NUL */
#define LINE_MAX_BYTES (64 * 1024) /* a baseline line `check` accepts */

/* Exit statuses of `build` (docs/man/mamori.1). */
#define B_OK 0
#define B_FATAL 1   /* no baseline: ROOTFS missing, out of memory, output failed */
#define B_SKIPPED 2 /* a baseline was written but some files could not be read */

struct entry {
	char *path;
	uint64_t size;
	unsigned mode;
	uint8_t sha[MM_SHA256_LEN];
};

struct walk {
	int one_fs;
	dev_t dev;          /* ROOTFS's device, for --one-file-system */
	struct entry *e;
	size_t n, cap;
	int skipped;        /* files or directories reported and left out */
	int fatal;          /* the baseline cannot be trusted: stop */
	char path[PATH_BYTES];
	size_t plen;        /* path[0..plen) is the directory being walked, "" for / */
};

static void baseline_usage(FILE *out)
{
	fprintf(out,
		"usage: mamori baseline build [--one-file-system] ROOTFS\n"
		"       mamori baseline check FILE|-\n"
		"\n"
		"build: writes to standard output the firmware baseline of the root file\n"
		"system ROOTFS: after the line \"" BASELINE_MAGIC "\", one line per regular\n"
		"file, sorted by path, PATH<TAB>SIZE<TAB>SHA256<TAB>MODE, the path as the\n"
		"device sees it (/bin/busybox). Symbolic links are not followed.\n"
		"  --one-file-system, -x  do not descend into other file systems\n"
		"Exit status: 0; 1 no baseline (ROOTFS missing, write error); 2 written,\n"
		"but files that could not be read were left out (named on stderr).\n"
		"\n"
		"check: reads a baseline and prints how many files it lists, or the first\n"
		"line mamorid would refuse. Exit status: 0 valid, 1 invalid, 2 unreadable.\n");
}

/* PATH with TAB, LF, backslash and other bytes below 0x20 escaped. */
static void put_path(FILE *out, const char *p)
{
	const unsigned char *s = (const unsigned char *)p;

	for (; *s; s++) {
		if (*s == '\t')
			fputs("\\t", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '\\')
			fputs("\\\\", out);
		else if (*s < 0x20)
			fprintf(out, "\\%03o", *s);
		else
			putc(*s, out);
	}
}

static int add_entry(struct walk *w, const struct entry *e)
{
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 1024;
		struct entry *ne;

		if (w->cap >= MAX_ENTRIES) {
			log_warnx("baseline: more than %u files", MAX_ENTRIES);
			return MM_EFULL;
		}
		if (ncap > MAX_ENTRIES)
			ncap = MAX_ENTRIES;
		if ((ne = realloc(w->e, ncap * sizeof *ne)) == NULL) {
			log_warnx("baseline: out of memory");
			return MM_ENOMEM;
		}
		w->e = ne;
		w->cap = ncap;
	}
	w->e[w->n++] = *e;
	return 0;
}

/* Appends "/name" to w->path; MM_ETOOBIG (reported) when it does not fit. */
static int push_name(struct walk *w, const char *name)
{
	size_t n = strlen(name);

	if (w->plen + 1 + n + 1 > sizeof w->path) {
		log_warnx("baseline: %.*s/%s: path longer than %d bytes, left out", (int)w->plen,
			  w->path, name, PATH_BYTES - 1);
		w->skipped = 1;
		return MM_ETOOBIG;
	}
	w->path[w->plen] = '/';
	memcpy(w->path + w->plen + 1, name, n + 1);
	w->plen += 1 + n;
	return 0;
}

/* Hashes the regular file `name` of dfd, already in w->path. */
static void add_file(struct walk *w, int dfd, const char *name, const struct stat *lst)
{
	struct entry e;
	struct stat st;
	int fd, rc;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1) {
		log_warn("baseline: %s: left out", w->path);
		goto skip;
	}
	if (!S_ISREG(st.st_mode) || st.st_dev != lst->st_dev || st.st_ino != lst->st_ino) {
		log_warnx("baseline: %s: changed while it was read, left out", w->path);
		goto skip;
	}
	memset(&e, 0, sizeof e);
	if ((rc = mm_sha256_fd(fd, 0, e.sha, &e.size)) < 0) {
		log_warn("baseline: %s: left out", w->path);
		goto skip;
	}
	close(fd);
	e.mode = (unsigned)(st.st_mode & 07777);
	if ((e.path = strdup(w->path)) == NULL) {
		log_warnx("baseline: out of memory");
		w->fatal = 1;
		return;
	}
	if (add_entry(w, &e) < 0) {
		free(e.path);
		w->fatal = 1;
	}
	return;
skip:
	if (fd != -1)
		close(fd);
	w->skipped = 1;
}

/* Walks the directory dfd (owned: closed here), whose path is in w->path. */
static void walk_dir(struct walk *w, int dfd, int depth)
{
	struct dirent *de;
	DIR *d;

	if ((d = fdopendir(dfd)) == NULL) {
		log_warn("baseline: %s/", w->path);
		close(dfd);
		w->skipped = 1;
		return;
	}
	for (;;) {
		size_t saved = w->plen;
		struct stat st;
		int sub;

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				log_warn("baseline: reading %s/", w->path);
				w->skipped = 1;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (push_name(w, de->d_name) < 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			log_warn("baseline: %s: left out", w->path);
			w->skipped = 1;
		} else if (w->one_fs && st.st_dev != w->dev) {
			/* Another file system: not part of the image. */
		} else if (S_ISREG(st.st_mode)) {
			add_file(w, dirfd(d), de->d_name, &st);
		} else if (S_ISDIR(st.st_mode)) {
			if (depth + 1 > MAX_DEPTH) {
				log_warnx("baseline: %s: deeper than %d directories, left out",
					  w->path, MAX_DEPTH);
				w->skipped = 1;
			} else if ((sub = openat(dirfd(d), de->d_name,
						 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
							 O_CLOEXEC)) == -1) {
				log_warn("baseline: %s/: left out", w->path);
				w->skipped = 1;
			} else {
				walk_dir(w, sub, depth + 1);
			}
		}
		/* Symbolic links, devices, FIFOs and sockets are not files that run. */
		w->plen = saved;
		w->path[saved] = '\0';
		if (w->fatal)
			break;
	}
	closedir(d);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

static int build(const char *rootfs, int one_fs)
{
	struct walk *w;
	struct stat st;
	char hex[MM_SHA256_HEX + 1];
	size_t i;
	int dfd, rc = B_FATAL;

	if ((w = calloc(1, sizeof *w)) == NULL) {
		log_warnx("baseline: out of memory");
		return B_FATAL;
	}
	w->one_fs = one_fs;
	dfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || fstat(dfd, &st) == -1) {
		log_warn("baseline: %s", rootfs);
		if (dfd != -1)
			close(dfd);
		goto done;
	}
	w->dev = st.st_dev;
	walk_dir(w, dfd, 0);
	if (w->fatal)
		goto done;
	qsort(w->e, w->n, sizeof *w->e, by_path);
	printf("%s\n", BASELINE_MAGIC);
	for (i = 0; i < w->n; i++) {
		put_path(stdout, w->e[i].path);
		mm_hex(w->e[i].sha, sizeof w->e[i].sha, hex);
		printf("\t%" PRIu64 "\t%s\t%04o\n", w->e[i].size, hex, w->e[i].mode);
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_warn("baseline: writing the baseline");
		goto done;
	}
	rc = w->skipped ? B_SKIPPED : B_OK;
done:
	for (i = 0; i < w->n; i++)
		free(w->e[i].path);
	free(w->e);
	free(w);
	return rc;
}

/* Checks that PATH is absolute and escaped as `build` writes it; *why when not. */
static int path_ok(const char *s, size_t n, const char **why)
{
	size_t i;

	if (n == 0 || s[0] != '/') {
		*why = "PATH does not begin with /";
		return MM_EPARSE;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20) {
			*why = "PATH holds an unescaped control byte";
			return MM_EPARSE;
		}
		if (s[i] != '\\')
			continue;
		if (i + 1 < n && (s[i + 1] == 't' || s[i + 1] == 'n' || s[i + 1] == '\\')) {
			i++;
		} else if (i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
			   s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			i += 3;
		} else {
			*why = "PATH holds a bad escape (\\t, \\n, \\\\ or \\ooo)";
			return MM_EPARSE;
		}
	}
	return 0;
}

/*
 * One entry line: PATH, decimal SIZE, 64 hex digits, octal MODE of one to
 * six digits, tab-separated, nothing more; *why says what is wrong.
 */
static int check_line(const char *s, size_t n, const char **why)
{
	const char *f[5];
	size_t fl[5], k = 0, start = 0, i;
	uint8_t sha[MM_SHA256_LEN];

	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '\t') {
			if (k == 5) {
				*why = "more than four fields";
				return MM_EPARSE;
			}
			f[k] = s + start;
			fl[k++] = i - start;
			start = i + 1;
		}
	}
	if (k != 4) {
		*why = k < 4 ? "fewer than four fields (PATH<TAB>SIZE<TAB>SHA256<TAB>MODE)"
			     : "more than four fields";
		return MM_EPARSE;
	}
	if (path_ok(f[0], fl[0], why) < 0)
		return MM_EPARSE;
	if (fl[1] == 0 || fl[1] > 20 || strspn(f[1], "0123456789") < fl[1]) {
		*why = "SIZE is not a decimal number";
		return MM_EPARSE;
	}
	if (fl[1] == 20 && memcmp(f[1], "18446744073709551615", 20) > 0) {
		*why = "SIZE is out of range";
		return MM_EPARSE;
	}
	if (mm_sha256_parse(f[2], fl[2], sha) < 0) {
		*why = "SHA256 is not 64 hex digits";
		return MM_EPARSE;
	}
	if (fl[3] == 0 || fl[3] > 6 || strspn(f[3], "01234567") < fl[3]) {
		*why = "MODE is not an octal number";
		return MM_EPARSE;
	}
	return 0;
}

static int check(const char *file)
{
	struct mm_buf b;
	const char *name = strcmp(file, "-") == 0 ? "<stdin>" : file;
	unsigned long long lineno = 0, files = 0;
	FILE *f;
	int r, rc = CLI_USAGE;

	if ((f = cli_open(file)) == NULL)
		return CLI_USAGE;
	mm_buf_init(&b, LINE_MAX_BYTES);
	while ((r = cli_read_line(f, &b)) != 0) {
		const char *why = NULL;
		size_t n;

		lineno++;
		if (r == MM_EIO) {
			log_warn("baseline: reading %s", name);
			goto done;
		}
		n = r == MM_ETOOBIG ? 0 : b.len;
		if (n > 0 && b.data[n - 1] == '\r')
			n--;
		if (r == MM_ETOOBIG)
			why = "line too long";
		else if (memchr(b.data, '\0', b.len) != NULL)
			why = "a NUL byte";
		else if (lineno == 1)
			why = n == sizeof BASELINE_MAGIC - 1 &&
					      memcmp(b.data, BASELINE_MAGIC, n) == 0
				      ? NULL
				      : "not a mamori baseline (\"" BASELINE_MAGIC "\" missing)";
		else if (n == 0 || b.data[0] == '#')
			continue;
		else if (check_line(b.data, n, &why) == 0)
			files++;
		if (why) {
			log_warnx("%s:%llu: %s", name, lineno, why);
			rc = CLI_INVALID;
			goto done;
		}
	}
	if (lineno == 0) {
		log_warnx("%s: empty, not a mamori baseline", name);
		rc = CLI_INVALID;
		goto done;
	}
	printf("%s: %llu files\n", name, files);
	rc = CLI_OK;
done:
	mm_buf_free(&b);
	cli_close(f);
	return rc;
}

int cmd_baseline(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"one-file-system", no_argument, NULL, 'x'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *verb;
	int ch, one_fs = 0;

	if (argc < 2) {
		baseline_usage(stderr);
		return CLI_USAGE;
	}
	verb = argv[1];
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
		baseline_usage(stdout);
		return CLI_OK;
	}
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, "xh", longopts, NULL)) != -1) {
		if (ch == 'x' && strcmp(verb, "build") == 0) {
			one_fs = 1;
		} else if (ch == 'h') {
			baseline_usage(stdout);
			return CLI_OK;
		} else {
			baseline_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc - 2) {
		log_warnx("baseline %s: name one %s", verb,
			  strcmp(verb, "check") == 0 ? "FILE" : "ROOTFS");
		baseline_usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(verb, "build") == 0)
		return build(argv[argc - 1], one_fs);
	if (strcmp(verb, "check") == 0)
		return check(argv[argc - 1]);
	log_warnx("baseline: unknown verb '%s' (build, check)", verb);
	baseline_usage(stderr);
	return CLI_USAGE;
}
