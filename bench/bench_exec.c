/*
 * bench_exec: the time of fork + exec + wait of one small program, the work
 * an exec guard (mamorid, fapolicyd) sits in the middle of. bench/guard.sh
 * runs it with no guard, under mamorid and under fapolicyd, in the same run.
 *
 *   bench_exec run  [-c CPU] [-n N] [-w WARM] FILE   N timed execs of FILE, after
 *                                                     WARM untimed ones (default 100)
 *   bench_exec new  [-c CPU] -n N DIR                one timed exec of each of
 *                                                     DIR/x000000 .. DIR/x(N-1)
 *   bench_exec prep -n N TEMPLATE DIR                writes those N files: copies
 *                                                     of TEMPLATE that differ in a trailer
 *   bench_exec probe [-t MS] [-u UID] FILE           execs FILE until the exec is
 *                                                     refused (EPERM or EACCES)
 *
 * run and new print one line:
 *
 *   mode=same n=20000 median_us=310.2 p99_us=402.9 mean_us=.. min_us=.. max_us=.. failed=0
 *
 * Each exec is timed alone with CLOCK_MONOTONIC, from before fork(2) until
 * waitpid(2) has returned the child's status; the median and the 99th
 * percentile (nearest rank) are of those N times. -c pins the process (and
 * so each child) to one CPU. An exec that fails or a child that does not
 * exit 0 counts in failed (a guard refused the program, or the program is
 * not what it should be); the figures then include those runs, so a run
 * with failed > 0 measures nothing useful and guard.sh treats it as an error.
 *
 * prep writes every file before any timing and syncs the file system, so
 * that the timed loop of new neither writes nor waits for writeback. Each
 * copy is TEMPLATE followed by eight hex digits of its index: an ELF file
 * may carry bytes after its last segment, so each copy still runs, and
 * each has its own content (its own SHA-256) and its own inode.
 *
 * probe reports how the exec failed through a close-on-exec pipe, so that a
 * refusal is told apart from a program that ran and exited non-zero; it
 * exits 0 when the exec was refused within MS milliseconds (default 10000),
 * else 1. guard.sh uses it to wait until a guard is enforcing. With -u the
 * child takes that user and group id (and no supplementary groups) before
 * the exec: fapolicyd's default policy lets a trusted program run by root
 * execute anything, so only an exec by another user shows it refusing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "bench_exec"
#include "bench_util.h"

#define MAX_N 10000000UL          /* execs in one run */
#define MAX_TEMPLATE (16UL << 20) /* bytes of the program that prep copies */
#define TRAILER_LEN 8             /* hex digits of the index after the copy */

extern char **environ;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin_cpu(long cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET((int)cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) < 0)
		die("cannot pin to CPU %ld: %s", cpu, strerror(errno));
}

/*
 * One fork + exec + wait of path; returns the nanoseconds it took and sets
 * *ok to 1 when the child exited 0. The child does nothing between fork and
 * execve, so the time is the kernel's and the guard's, not this program's.
 */
static uint64_t exec_once(const char *path, int *ok)
{
	char *argv[2] = {(char *)path, NULL};
	uint64_t t0, t1;
	pid_t pid;
	int st;

	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		execve(path, argv, environ);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	t1 = now_ns();
	*ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	return t1 - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sorts the n times and prints the result line of one run. */
static void report(const char *mode, uint64_t *t, size_t n, size_t failed)
{
	long double sum = 0;
	size_t i, r99;

	qsort(t, n, sizeof *t, cmp_u64);
	for (i = 0; i < n; i++)
		sum += t[i];
	/* Nearest rank: the smallest time that at least 99% of runs are at or below. */
	r99 = (n * 99 + 99) / 100;
	if (r99 < 1)
		r99 = 1;
	printf("mode=%s n=%zu median_us=%.1f p99_us=%.1f mean_us=%.1f min_us=%.1f max_us=%.1f "
	       "failed=%zu\n",
	       mode, n, (double)t[(n - 1) / 2] / 1e3, (double)t[r99 - 1] / 1e3,
	       (double)(sum / n / 1e3), (double)t[0] / 1e3, (double)t[n - 1] / 1e3, failed);
	fflush(stdout);
}

static uint64_t *alloc_times(size_t n)
{
	uint64_t *t = calloc(n, sizeof *t);

	if (t == NULL)
		die("out of memory for %zu times", n);
	return t;
}

static int cmd_run(const char *file, size_t n, size_t warm)
{
	uint64_t *t = alloc_times(n);
	size_t i, failed = 0;
	int ok;

	/* The first execs fill the page cache, the dentry cache and a guard's
	 * verdict cache; they are what "cache hit" is measured after. */
	for (i = 0; i < warm; i++) {
		exec_once(file, &ok);
		if (!ok)
			failed++;
	}
	if (failed)
		fprintf(stderr, BENCH_NAME ": %zu of %zu warm-up execs of %s failed\n", failed, warm,
			file);
	failed = 0;
	for (i = 0; i < n; i++) {
		t[i] = exec_once(file, &ok);
		failed += !ok;
	}
	report("same", t, n, failed);
	free(t);
	return 0;
}

/* DIR/x%06zu: the name prep gave copy i. */
static char *copy_path(const char *dir, size_t i)
{
	size_t len = strlen(dir) + 32;
	char *p = malloc(len);

	if (p == NULL)
		die("out of memory");
	snprintf(p, len, "%s/x%06zu", dir, i);
	return p;
}

static int cmd_new(const char *dir, size_t n)
{
	uint64_t *t = alloc_times(n);
	char **paths = calloc(n, sizeof *paths);
	size_t i, failed = 0;
	struct stat st;
	int ok;

	if (paths == NULL)
		die("out of memory for %zu paths", n);
	/* Every name is made and every file checked before the clock starts. */
	for (i = 0; i < n; i++) {
		paths[i] = copy_path(dir, i);
		if (stat(paths[i], &st) < 0)
			die("%s: %s (bench_exec prep makes it)", paths[i], strerror(errno));
	}
	for (i = 0; i < n; i++) {
		t[i] = exec_once(paths[i], &ok);
		failed += !ok;
	}
	report("new", t, n, failed);
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(t);
	return 0;
}

static void write_all(int fd, const void *p, size_t len, const char *path)
{
	const char *c = p;
	ssize_t w;

	while (len > 0) {
		w = write(fd, c, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write %s: %s", path, w < 0 ? strerror(errno) : "short write");
		c += w;
		len -= (size_t)w;
	}
}

static int cmd_prep(const char *template, const char *dir, size_t n)
{
	char trailer[TRAILER_LEN + 1], *buf, *path;
	size_t len = 0, i;
	ssize_t got;
	int fd;

	if ((fd = open(template, O_RDONLY | O_CLOEXEC)) < 0)
		die("%s: %s", template, strerror(errno));
	if ((buf = malloc(MAX_TEMPLATE)) == NULL)
		die("out of memory");
	while ((got = read(fd, buf + len, MAX_TEMPLATE - len)) > 0)
		len += (size_t)got;
	if (got < 0)
		die("read %s: %s", template, strerror(errno));
	if (len == MAX_TEMPLATE)
		die("%s: larger than %lu bytes", template, MAX_TEMPLATE);
	close(fd);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("mkdir %s: %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		path = copy_path(dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
		if (fd < 0)
			die("%s: %s", path, strerror(errno));
		snprintf(trailer, sizeof trailer, "%08x", (unsigned)(i & 0xffffffffu));
		write_all(fd, buf, len, path);
		write_all(fd, trailer, TRAILER_LEN, path);
		if (close(fd) < 0)
			die("close %s: %s", path, strerror(errno));
		free(path);
	}
	/* Writeback of the copies must not land in a timed loop. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || syncfs(fd) < 0)
		die("syncfs %s: %s", dir, strerror(errno));
	close(fd);
	free(buf);
	printf("prep: %zu copies of %s (%zu + %d bytes) in %s\n", n, template, len, TRAILER_LEN,
	       dir);
	return 0;
}

/*
 * One exec of file whose failure, if any, comes back as the errno on a
 * close-on-exec pipe: 0 when the program ran (the pipe closed on exec).
 */
static int exec_errno(const char *file, long uid)
{
	char *argv[2] = {(char *)file, NULL};
	int p[2], e = 0, st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe2: %s", strerror(errno));
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		/* A failure here is not a refusal: -1 tells the parent so. */
		e = -1;
		if (uid >= 0 && (setgroups(0, NULL) < 0 || setgid((gid_t)uid) < 0 ||
				 setuid((uid_t)uid) < 0)) {
			if (write(p[1], &e, sizeof e) != (ssize_t)sizeof e)
				_exit(126);
			_exit(125);
		}
		execve(file, argv, environ);
		e = errno;
		if (write(p[1], &e, sizeof e) != (ssize_t)sizeof e)
			_exit(126);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], &e, sizeof e) != (ssize_t)sizeof e)
		e = 0;
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	if (e == -1)
		die("probe: cannot take user id %ld", uid);
	return e;
}

static int cmd_probe(const char *file, unsigned long ms, long uid)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
	struct timespec pause = {0, 20 * 1000000};
	unsigned long tries = 0;
	int e;

	do {
		tries++;
		e = exec_errno(file, uid);
		if (e == EPERM || e == EACCES) {
			printf("probe: exec of %s refused (%s) after %lu tries\n", file, strerror(e),
			       tries);
			return 0;
		}
		nanosleep(&pause, NULL);
	} while (now_ns() < end);
	printf("probe: exec of %s not refused in %lu ms (%lu tries; last: %s)\n", file, ms, tries,
	       e ? strerror(e) : "it ran");
	return 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_exec run [-c CPU] [-n N] [-w WARM] FILE\n"
			"       bench_exec new [-c CPU] -n N DIR\n"
			"       bench_exec prep -n N TEMPLATE DIR\n"
			"       bench_exec probe [-t MS] [-u UID] FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long n = 20000, warm = 100, ms = 10000;
	long cpu = -1, uid = -1;
	const char *cmd;
	int opt;

	if (argc < 2)
		usage();
	cmd = argv[1];
	argv++;
	argc--;
	while ((opt = getopt(argc, argv, "c:n:w:t:u:")) != -1) {
		switch (opt) {
		case 'c':
			cpu = (long)opt_num(optarg, 0, CPU_SETSIZE - 1, "-c");
			break;
		case 'n':
			n = opt_num(optarg, 1, MAX_N, "-n");
			break;
		case 'w':
			warm = opt_num(optarg, 0, MAX_N, "-w");
			break;
		case 't':
			ms = opt_num(optarg, 1, 600000, "-t");
			break;
		case 'u':
			uid = (long)opt_num(optarg, 1, 0x7fffffff, "-u");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "run") == 0 && argc == 1) {
		pin_cpu(cpu);
		return cmd_run(argv[0], n, warm);
	}
	if (strcmp(cmd, "new") == 0 && argc == 1) {
		pin_cpu(cpu);
		return cmd_new(argv[0], n);
	}
	if (strcmp(cmd, "prep") == 0 && argc == 2)
		return cmd_prep(argv[0], argv[1], n);
	if (strcmp(cmd, "probe") == 0 && argc == 1)
		return cmd_probe(argv[0], ms, uid);
	usage();
}
