#define _GNU_SOURCE
/*
 * sim_raw: holds a raw IPPROTO_TCP socket, as bots that craft their own SYN
 * floods do; sends nothing. Markers raw.start, raw.open (after the socket
 * exists), raw.done after SECONDS (argv[1], default 15, at most 120).
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include "sim.h"

int main(int argc, char **argv)
{
	int s;

	sim_mark("raw.start", "start\n");
	s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	if (s < 0) {
		perror("sim_raw: socket(AF_INET, SOCK_RAW, IPPROTO_TCP)");
		return 1;
	}
	sim_mark("raw.open", "open\n");
	sim_sleep(sim_secs(argc, argv, 1, 15));
	sim_mark("raw.done", "done\n");
	close(s);
	return 0;
}
