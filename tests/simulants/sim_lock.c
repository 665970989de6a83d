#define _GNU_SOURCE
/*
 * sim_lock: what Mirai does once it runs: delete its own executable, take
 * a random-looking process name (prctl PR_SET_NAME and argv[0]), and hold
 * 127.0.0.1:48101 as its single-instance lock. It writes /var/sim/lock.start,
 * /var/sim/lock.listen once it listens, sleeps SECONDS (argv[1], default 30,
 * at most 120) and writes /var/sim/lock.done.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "sim.h"

/* Fifteen characters, the longest a comm can be. */
#define NEWNAME "x8kq2v0fjz3ta1w"

int main(int argc, char **argv)
{
	struct sockaddr_in a;
	char self[512];
	unsigned secs = sim_secs(argc, argv, 1, 30);
	ssize_t n;
	int s, one = 1;

	sim_mark("lock.start", "start\n");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self) - 1) {
		perror("sim_lock: readlink /proc/self/exe");
		return 1;
	}
	self[n] = '\0';
	if (unlink(self) < 0) {
		perror("sim_lock: unlink");
		return 1;
	}
	prctl(PR_SET_NAME, NEWNAME, 0, 0, 0);
	/* argv[0] is rewritten in place, within its own length. */
	if (argv[0] != NULL) {
		size_t len = strlen(argv[0]);
		memset(argv[0], 0, len);
		memcpy(argv[0], NEWNAME, len < strlen(NEWNAME) ? len : strlen(NEWNAME));
	}

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		perror("sim_lock: socket");
		return 1;
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(48101);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0) {
		perror("sim_lock: bind/listen 127.0.0.1:48101");
		return 1;
	}
	sim_mark("lock.listen", "listen\n");
	sim_sleep(secs);
	sim_mark("lock.done", "done\n");
	close(s);
	return 0;
}
