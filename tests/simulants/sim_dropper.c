#define _GNU_SOURCE
/*
 * sim_dropper: what a bot's first stage does: copy itself to /tmp and run
 * the copy from there. Run with no argument it copies /proc/self/exe to
 * /tmp/.sim_drop and execs it as "/tmp/.sim_drop copy [SECONDS]"; the copy
 * writes /var/sim/dropper.copy, sleeps SECONDS (default 0, at most 120) and
 * writes /var/sim/dropper.done. When the exec is refused the original writes
 * /var/sim/dropper.execerr with the errno name and exits 126.
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "sim.h"

#define DROP "/tmp/.sim_drop"

static int copy_self(void)
{
	char buf[65536];
	ssize_t n;
	int in, out, rc = -1;

	in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	unlink(DROP);
	out = open(DROP, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0)
		goto done;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			goto done;
	if (n == 0 && fsync(out) == 0)
		rc = 0;
done:
	if (out >= 0 && close(out) < 0)
		rc = -1;
	close(in);
	return rc;
}

int main(int argc, char **argv)
{
	char secs[8];
	char *args[4];

	if (argc > 1 && strcmp(argv[1], "copy") == 0) {
		printf("sim_dropper: the copy runs\n");
		fflush(stdout);
		sim_mark("dropper.copy", "ran\n");
		sim_sleep(sim_secs(argc, argv, 2, 0));
		sim_mark("dropper.done", "done\n");
		return 0;
	}
	sim_mark("dropper.start", "start\n");
	if (copy_self() < 0) {
		perror("sim_dropper: copy to " DROP);
		return 1;
	}
	snprintf(secs, sizeof(secs), "%u", sim_secs(argc, argv, 1, 0));
	args[0] = (char *)DROP;
	args[1] = (char *)"copy";
	args[2] = secs;
	args[3] = NULL;
	execv(DROP, args);
	sim_mark("dropper.execerr", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	fprintf(stderr, "sim_dropper: exec %s: %s\n", DROP, strerror(errno));
	return 126;
}
