/*
 * The response to a process the policy refuses: keep its executable for
 * the quarantine, then stop it and every descendant and kill them all.
 *
 * The executable is opened first, while /proc/PID/exe still names it. The
 * process is stopped before its children are looked for, so that it cannot
 * fork new ones while the walk runs; each child found is stopped too, and
 * the walk is repeated until it finds no new one (a bounded number of
 * times), then every stopped process gets SIGKILL. The walk reads the ppid
 * field of /proc/N/stat; the tree and the number of processes it looks at
 * are bounded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mamori/error.h"

#include "guard.h"

#define TREE_MAX 1024  /* processes killed in one response */
#define WALK_ROUNDS 4  /* walks of /proc looking for new children */
#define PROCS_MAX 65536 /* /proc entries looked at in one walk */

/* The parent of pid from /proc/PID/stat, or -1 (guard.h). */
pid_t proc_ppid(pid_t pid)
{
	char path[64], buf[512];
	const char *rp;
	ssize_t n;
	long v = 0;
	int fd, digits = 0;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The name in parentheses may hold anything, ") " too: the last ')'
	 * ends it. Then " S PPID ". */
	rp = strrchr(buf, ')');
	if (rp == NULL || rp[1] != ' ' || rp[2] == '\0' || rp[3] != ' ')
		return -1;
	for (rp += 4; *rp >= '0' && *rp <= '9' && digits < 10; rp++, digits++)
		v = v * 10 + (*rp - '0');
	if (digits == 0 || *rp != ' ')
		return -1;
	return (pid_t)v;
}

static int in_tree(const pid_t *tree, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (tree[i] == pid)
			return 1;
	return 0;
}

/* One walk of /proc: stops and adds every child of a process in the tree.
 * Returns the number added. */
static size_t walk(pid_t *tree, size_t *n)
{
	struct dirent *de;
	size_t added = 0, seen = 0;
	DIR *d = opendir("/proc");

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && seen++ < PROCS_MAX && *n < TREE_MAX) {
		char *end;
		long v = strtol(de->d_name, &end, 10);
		pid_t pid, pp;

		if (*end != '\0' || v <= 0 || v > INT32_MAX)
			continue;
		pid = (pid_t)v;
		if (in_tree(tree, *n, pid) || (pp = proc_ppid(pid)) <= 0 || !in_tree(tree, *n, pp))
			continue;
		(void)kill(pid, SIGSTOP);
		tree[(*n)++] = pid;
		added++;
	}
	closedir(d);
	return added;
}

/*
 * Opens /proc/PID/exe (O_RDONLY) into *exe_fd (-1 when it cannot), stops
 * pid and each of its descendants, then kills them all with SIGKILL.
 * Returns how many were killed (0 when pid was already gone). Example:
 *
 *	int fd, n = respond_kill_tree(pid, &fd);
 *	finding.killed = n > 0 ? n : 0;   ... fd goes with the finding, then close(fd)
 */
int respond_kill_tree(pid_t pid, int *exe_fd)
{
	pid_t tree[TREE_MAX];
	size_t n = 0;
	char path[64];
	int killed = 0;

	*exe_fd = -1;
	if (pid <= 1 || pid == getpid())
		return 0;
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	*exe_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (kill(pid, SIGSTOP) < 0)
		return 0;
	tree[n++] = pid;
	for (int r = 0; r < WALK_ROUNDS; r++)
		if (walk(tree, &n) == 0)
			break;
	for (size_t i = 0; i < n; i++)
		if (kill(tree[i], SIGKILL) == 0)
			killed++;
	return killed;
}
