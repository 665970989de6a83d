#define _GNU_SOURCE
/*
 * sim_killer: what bots do to keep a device for themselves: find every
 * process named telnetd (/proc/PID/comm) and SIGKILL it. Writes the pids
 * it killed to /var/sim/killer.killed, then sleeps SECONDS (argv[1],
 * default 10, at most 120) and writes /var/sim/killer.done.
 */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>

#include "sim.h"

int main(int argc, char **argv)
{
	char path[64], comm[32], out[512];
	size_t used = 0;
	struct dirent *d;
	DIR *dir;
	int scanned = 0;

	sim_mark("killer.start", "start\n");
	out[0] = '\0';
	dir = opendir("/proc");
	if (dir == NULL) {
		perror("sim_killer: /proc");
		return 1;
	}
	while ((d = readdir(dir)) != NULL && scanned++ < 100000) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);
		ssize_t n;
		int fd;

		if (*end != '\0' || pid <= 1 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n <= 0)
			continue;
		comm[n] = '\0';
		if (strcmp(comm, "telnetd\n") != 0)
			continue;
		if (kill((pid_t)pid, SIGKILL) == 0 && used < sizeof(out) - 16) {
			int w = snprintf(out + used, sizeof(out) - used, "%ld\n", pid);
			if (w > 0)
				used += (size_t)w;
		}
	}
	closedir(dir);
	sim_mark("killer.killed", out);
	sim_sleep(sim_secs(argc, argv, 1, 10));
	sim_mark("killer.done", "done\n");
	return 0;
}
