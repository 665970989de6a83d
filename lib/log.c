/*
 * The one logging module. In the foreground every line goes to stderr,
 * prefixed with the program name; detached, to syslog(3).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "mamori/log.h"

static int log_foreground = 1;
static int log_level;
static const char *log_ident = "mamori";

void mm_log_init(int foreground, const char *ident)
{
	log_foreground = foreground;
	if (ident)
		log_ident = ident;
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void mm_log_verbose(int level)
{
	log_level = level;
}

static void vlog(int pri, const char *fmt, va_list ap, int with_errno)
	__attribute__((format(printf, 2, 0)));

static void vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char line[1024];
	int saved = errno;

	vsnprintf(line, sizeof line, fmt, ap);
	if (log_foreground) {
		if (with_errno)
			fprintf(stderr, "%s: %s: %s\n", log_ident, line, strerror(saved));
		else
			fprintf(stderr, "%s: %s\n", log_ident, line);
	} else if (with_errno) {
		syslog(pri, "%s: %s", line, strerror(saved));
	} else {
		syslog(pri, "%s", line);
	}
	errno = saved;
}

void mm_log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, 1);
	va_end(ap);
}

void mm_log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, 0);
	va_end(ap);
}

void mm_log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void mm_log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_level < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void mm_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void mm_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
