#define _GNU_SOURCE
/*
 * sim_scanner: a bot's telnet scan, aimed only at a subnet that exists in
 * the test's network namespace. "sim_scanner SUBNET COUNT [SECONDS]"
 * (SUBNET like 10.66.0.0, a /24; COUNT 1..200): starts a non-blocking
 * connect() to port 23 of SUBNET.10 .. SUBNET.(9+COUNT), keeps the sockets
 * (SYN_SENT) for SECONDS (default 15, at most 120), then exits.
 *
 * It refuses to run unless /proc/net/route has SUBNET/24 on an interface
 * whose driver is "dummy" (ethtool GDRVINFO): such a subnet goes nowhere,
 * so no packet can leave the machine. Markers: scanner.start,
 * scanner.sent (the number of connects started), scanner.done.
 */
#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "sim.h"

#define MAXN 200

/* 1 when iface's driver is "dummy". */
static int is_dummy(const char *iface)
{
	struct ethtool_drvinfo di;
	struct ifreq ifr;
	int s, ok = 0;

	if (strlen(iface) >= sizeof(ifr.ifr_name))
		return 0;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	memset(&di, 0, sizeof(di));
	memcpy(ifr.ifr_name, iface, strlen(iface));
	di.cmd = ETHTOOL_GDRVINFO;
	ifr.ifr_data = (void *)&di;
	if (ioctl(s, SIOCETHTOOL, &ifr) == 0 && strcmp(di.driver, "dummy") == 0)
		ok = 1;
	close(s);
	return ok;
}

/* 1 when net (network byte order) /24 is routed to a dummy interface. */
static int dummy_route(uint32_t net)
{
	char line[256], iface[IFNAMSIZ + 1];
	unsigned dest, gw, flags, refcnt, use, metric, mask;
	FILE *f;
	int found = 0, lines = 0;

	f = fopen("/proc/net/route", "re");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL && lines++ < 4096) {
		if (sscanf(line, "%16s %x %x %x %u %u %u %x", iface, &dest, &gw, &flags, &refcnt,
			   &use, &metric, &mask) != 8)
			continue;
		/* /proc/net/route prints the addresses in network byte order as read from memory. */
		if (dest == net && mask == htonl(0xffffff00u) && is_dummy(iface)) {
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	struct in_addr net;
	struct sockaddr_in a;
	char text[32];
	int fds[MAXN];
	long count;
	int i, sent = 0;
	unsigned secs;

	if (argc < 3 || inet_pton(AF_INET, argv[1], &net) != 1 ||
	    (ntohl(net.s_addr) & 0xff) != 0) {
		fprintf(stderr, "usage: sim_scanner SUBNET(a.b.c.0) COUNT [SECONDS]\n");
		return 2;
	}
	count = strtol(argv[2], NULL, 10);
	if (count < 1 || count > MAXN) {
		fprintf(stderr, "sim_scanner: COUNT must be 1..%d\n", MAXN);
		return 2;
	}
	secs = sim_secs(argc, argv, 3, 15);
	if (!dummy_route(net.s_addr)) {
		fprintf(stderr, "sim_scanner: %s/24 is not routed to a dummy interface: refusing\n",
			argv[1]);
		return 3;
	}
	sim_mark("scanner.start", "start\n");
	for (i = 0; i < count; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[i] < 0)
			continue;
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_port = htons(23);
		a.sin_addr.s_addr = htonl(ntohl(net.s_addr) + 10u + (uint32_t)i);
		if (connect(fds[i], (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS)
			sent++;
	}
	snprintf(text, sizeof(text), "%d\n", sent);
	sim_mark("scanner.sent", text);
	sim_sleep(secs);
	sim_mark("scanner.done", "done\n");
	return 0;
}
