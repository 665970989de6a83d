#define _GNU_SOURCE
/*
 * sim_scanner: a bot's telnet scan, aimed only at a subnet that exists in
 * the test's network namespace. "sim_scanner SUBNET COUNT [SECONDS]"
 * (SUBNET like 10.66.0.0, a /24; COUNT 1..200): starts a non-blocking
 * connect() to port 23 of SUBNET.10 .. SUBNET.(9+COUNT), keeps the sockets
 * (SYN_SENT) for SECONDS (default 15, at most 120), then exits.
 *
 * It refuses to run unless /proc/net/route has SUBNET/24 on an interface
 * that leads nowhere: a dummy interface, or a veth pair with both ends in
 * this network namespace (for kernels without the dummy driver), so that
 * no packet can reach another namespace or leave the machine. Markers: scanner.start,
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

/* ethtool request on iface; 0 or -1. */
static int ethtool(const char *iface, void *data)
{
	struct ifreq ifr;
	int s, rc;

	if (strlen(iface) >= sizeof(ifr.ifr_name))
		return -1;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, iface, strlen(iface));
	ifr.ifr_data = data;
	rc = ioctl(s, SIOCETHTOOL, &ifr);
	close(s);
	return rc < 0 ? -1 : 0;
}

/* iface's driver name into drv (ETHTOOL_GDRVINFO); 0 or -1. */
static int driver(const char *iface, char drv[32])
{
	struct ethtool_drvinfo di;

	memset(&di, 0, sizeof(di));
	di.cmd = ETHTOOL_GDRVINFO;
	if (ethtool(iface, &di) < 0)
		return -1;
	memcpy(drv, di.driver, 32);
	drv[31] = '\0';
	return 0;
}

#define MAXSTATS 64

/* A veth's "peer_ifindex" statistic (its other end), or -1. */
static long veth_peer(const char *iface)
{
	struct ethtool_sset_info *ss;
	struct ethtool_gstrings *names = NULL;
	struct ethtool_stats *stats = NULL;
	long peer = -1;
	uint32_t n, i;

	/* One set asked for: one length follows the header. */
	ss = calloc(1, sizeof(*ss) + sizeof(uint32_t));
	if (ss == NULL)
		return -1;
	ss->cmd = ETHTOOL_GSSET_INFO;
	ss->sset_mask = 1ULL << ETH_SS_STATS;
	n = 0;
	if (ethtool(iface, ss) == 0 && (ss->sset_mask & (1ULL << ETH_SS_STATS)))
		n = ss->data[0];
	free(ss);
	if (n == 0 || n > MAXSTATS)
		return -1;
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	stats = calloc(1, sizeof(*stats) + (size_t)n * sizeof(uint64_t));
	if (names == NULL || stats == NULL)
		goto done;
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_STATS;
	names->len = n;
	stats->cmd = ETHTOOL_GSTATS;
	stats->n_stats = n;
	if (ethtool(iface, names) < 0 || ethtool(iface, stats) < 0 || names->len != n ||
	    stats->n_stats != n)
		goto done;
	for (i = 0; i < n; i++) {
		char name[ETH_GSTRING_LEN + 1];

		memcpy(name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = '\0';
		if (strcmp(name, "peer_ifindex") == 0 && stats->data[i] < 1u << 30) {
			peer = (long)stats->data[i];
			break;
		}
	}
done:
	free(names);
	free(stats);
	return peer;
}

/*
 * 1 when iface leads nowhere: a dummy interface, or a veth pair whose both
 * ends are in this network namespace (each end names the other as its
 * peer), so that what it sends never reaches another namespace.
 */
static int is_sink(const char *iface)
{
	char drv[32], other[IF_NAMESIZE];
	unsigned idx;
	long peer;

	if (driver(iface, drv) < 0)
		return 0;
	if (strcmp(drv, "dummy") == 0)
		return 1;
	if (strcmp(drv, "veth") != 0)
		return 0;
	idx = if_nametoindex(iface);
	peer = veth_peer(iface);
	if (idx == 0 || peer <= 0 || if_indextoname((unsigned)peer, other) == NULL)
		return 0;
	if (driver(other, drv) < 0 || strcmp(drv, "veth") != 0)
		return 0;
	return veth_peer(other) == (long)idx;
}

/* 1 when net (network byte order) /24 is routed to an interface that leads nowhere. */
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
		if (dest == net && mask == htonl(0xffffff00u) && is_sink(iface)) {
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
		fprintf(stderr, "sim_scanner: %s/24 is not routed to a dummy or self-contained veth: refusing\n",
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
