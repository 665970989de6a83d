/*
 * Shared by the simulants: each writes small marker files under /var/sim
 * (inside the test's rootfs) so that a test can tell, after the fact, how
 * far it got: "NAME.start" when it began, "NAME.done" when it finished its
 * work and its bounded sleep. A simulant that was stopped leaves no "done".
 */
#ifndef MAMORI_SIM_H
#define MAMORI_SIM_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIM_MARKS "/var/sim"

/* Writes text to /var/sim/<name> (replacing it); best effort. */
static inline void sim_mark(const char *name, const char *text)
{
	char path[256];
	int fd, n;

	n = snprintf(path, sizeof(path), "%s/%s", SIM_MARKS, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0) {
		/* A marker that cannot be written shows as missing, which fails the test loudly. */
	}
	close(fd);
}

/* Sleeps s seconds, restarting after signals, so that the whole time passes. */
static inline void sim_sleep(unsigned s)
{
	struct timespec t = {.tv_sec = s, .tv_nsec = 0};

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* A bounded number of seconds from argv[i], or def when absent or out of 0..120. */
static inline unsigned sim_secs(int argc, char **argv, int i, unsigned def)
{
	unsigned v = 0;
	const char *p;

	if (argc <= i)
		return def;
	for (p = argv[i]; *p; p++) {
		if (*p < '0' || *p > '9' || v > 120)
			return def;
		v = v * 10 + (unsigned)(*p - '0');
	}
	return v <= 120 ? v : def;
}

#endif
