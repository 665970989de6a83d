#define _GNU_SOURCE
/*
 * sim_telnetd: the stand-in for a device's telnetd, to be killed by
 * sim_killer. Installed as .../telnetd so that its process name is
 * "telnetd"; it only sleeps SECONDS (argv[1], default 60, at most 120) and
 * writes /var/sim/telnetd.done if nobody killed it.
 */
#include "sim.h"

int main(int argc, char **argv)
{
	sim_mark("telnetd.start", "start\n");
	sim_sleep(sim_secs(argc, argv, 1, 60));
	sim_mark("telnetd.done", "done\n");
	return 0;
}
