/*
 * What the benchmark programs share: dying with a message, reading a
 * numeric option, a monotonic clock, appending to a bounded corpus buffer,
 * whether a peer process still runs, and counting the lines a peer writes
 * to a file. Each program defines BENCH_NAME before including this; the
 * helpers a program does not use are static inline, so they cost nothing.
 */
#ifndef MAMORI_BENCH_UTIL_H
#define MAMORI_BENCH_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "mamori/buf.h"
#include "mamori/error.h"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs(BENCH_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Parses a decimal option value in [lo, hi]; exits on anything else. */
static unsigned long opt_num(const char *s, unsigned long lo, unsigned long hi, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi)
		die("%s: expected a number in %lu..%lu, got '%s'", what, lo, hi, s);
	return v;
}

/* Seconds on the monotonic clock. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends formatted text to a corpus; the corpus is bounded, so running out
 * of room is an error in the benchmark's own parameters. */
static inline void put(struct mm_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void put(struct mm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = mm_buf_vprintf(b, fmt, ap);
	va_end(ap);
	if (rc < 0)
		die("corpus: %s", mm_strerror(rc));
}

/* 1 while process pid runs (not gone, not a zombie). */
static inline int proc_alive(long pid)
{
	char path[64], buf[512], *rp;
	ssize_t got;
	int fd;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	got = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (got <= 0)
		return 0;
	buf[got] = '\0';
	if ((rp = strrchr(buf, ')')) == NULL || rp[1] != ' ')
		return 1;
	return rp[2] != 'Z' && rp[2] != 'X';
}

/* The lines a peer has written to a file so far, read as it grows. Start
 * with fd -1, off 0, lines 0. */
struct linecount {
	int fd;
	off_t off;
	uint64_t lines;
};

static inline void linecount_poll(struct linecount *lc, const char *path)
{
	static char buf[1 << 20];
	ssize_t got, k;

	if (lc->fd < 0 && (lc->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return; /* not created yet */
	while ((got = pread(lc->fd, buf, sizeof buf, lc->off)) > 0) {
		for (k = 0; k < got; k++)
			lc->lines += buf[k] == '\n';
		lc->off += got;
	}
}

#endif
