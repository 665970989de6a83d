#define _GNU_SOURCE
/*
 * sim_watchdog: opens the watchdog device, as bots do to stop a hung
 * device from rebooting itself out of their hands. "sim_watchdog DEVICE
 * [SECONDS]". To be harmless it opens DEVICE only when it is the null
 * device (character 1:3), which the test creates under the watchdog's
 * name; a real watchdog is never touched. Markers: watchdog.start,
 * watchdog.open ("ok" or the errno name), watchdog.done after SECONDS
 * (default 10, at most 120).
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sim.h"

int main(int argc, char **argv)
{
	struct stat st;
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: sim_watchdog DEVICE [SECONDS]\n");
		return 2;
	}
	if (stat(argv[1], &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 ||
	    minor(st.st_rdev) != 3) {
		fprintf(stderr, "sim_watchdog: %s is not a stand-in (char 1:3): refusing\n", argv[1]);
		return 3;
	}
	sim_mark("watchdog.start", "start\n");
	fd = open(argv[1], O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		sim_mark("watchdog.open", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	} else {
		sim_mark("watchdog.open", "ok");
	}
	sim_sleep(sim_secs(argc, argv, 2, 10));
	if (fd >= 0)
		close(fd);
	sim_mark("watchdog.done", "done\n");
	return 0;
}
