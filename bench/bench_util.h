/*
 * What the benchmark programs share: dying with a message, and reading a
 * numeric option. Each program defines BENCH_NAME before including this.
 */
#ifndef MAMORI_BENCH_UTIL_H
#define MAMORI_BENCH_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

#endif
