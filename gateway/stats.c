/*
 * Per-device flow statistics: for each device address seen in an interval,
 * its packets and bytes in and out, the TCP connections it opened or
 * accepted, and whom it talked with on which ports; one gw.flow.stats event
 * per device per interval (docs/formats/gw-events.md).
 *
 * Time is the packets': the first packet starts the first interval (at its
 * whole second) and intervals follow on from there, so a pcap file gives the
 * same events at any replay speed. Every table is bounded: devices by
 * max_devices (the packets of the others are counted as dropped), and each
 * device's peers and ports by max_peers (the first ones heard in the
 * interval are listed, the rest summed as "other"). The tables are emptied
 * at each interval's end, so a device that left frees its place.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "gw.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define MAX_DEVICES_LIMIT (1u << 20)
#define MAX_PEERS_LIMIT 4096u

struct peer {
	struct gw_addr addr;
	uint64_t packets_in, packets_out, bytes_in, bytes_out;
};

struct port {
	uint8_t ipproto;
	uint8_t remote;   /* 1: the peer's port, 0: the device's own */
	uint16_t port;
	uint64_t packets, bytes;
};

struct device {
	struct device *next;  /* hash chain */
	struct gw_addr addr;
	uint64_t packets_in, packets_out, bytes_in, bytes_out, flows;
	struct peer *peers;   /* max_peers of them, allocated with the device */
	struct port *ports;
	unsigned npeers, nports;
	uint64_t other_peer_packets, other_peer_bytes;
	uint64_t other_port_packets, other_port_bytes;
};

struct gw_stats {
	struct gw_stats_opts o;
	struct device **bucket;
	uint32_t mask;
	struct device **list; /* the devices of this interval, in order of arrival */
	unsigned ndevices;
	int started;
	uint64_t start_ms, end_ms;
	struct gw_stats_counters c;
};

void gw_stats_opts_default(struct gw_stats_opts *o)
{
	memset(o, 0, sizeof *o);
	o->interval_ms = 60000;
	o->max_devices = 4096;
	o->max_peers = 32;
}

int gw_stats_net_parse(const char *s, struct gw_addr *net, unsigned *bits)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned b = 0, max, i;

	if (hl == 0 || hl >= sizeof host)
		return MM_EPARSE;
	memcpy(host, s, hl);
	host[hl] = 0;
	memset(net, 0, sizeof *net);
	if (inet_pton(AF_INET, host, net->ip) == 1) {
		net->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, host, net->ip) == 1) {
		net->family = 6;
		max = 128;
	} else {
		return MM_EPARSE;
	}
	if (slash) {
		const char *p = slash + 1;

		if (!*p || strlen(p) > 3)
			return MM_EPARSE;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return MM_EPARSE;
			b = b * 10 + (unsigned)(*p - '0');
		}
		if (b > max)
			return MM_EPARSE;
	} else {
		b = max;
	}
	/* Host bits are cleared, so that "10.1.2.3/8" means 10.0.0.0/8. */
	for (i = b; i < max; i++)
		net->ip[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	*bits = b;
	return 0;
}

static int in_net(const struct gw_addr *a, const struct gw_addr *net, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (a->family != net->family)
		return 0;
	if (memcmp(a->ip, net->ip, full) != 0)
		return 0;
	return rest == 0 || ((a->ip[full] ^ net->ip[full]) & (0xff00u >> rest) & 0xff) == 0;
}

/* RFC 1918, RFC 3927 link-local, RFC 4193 unique-local, IPv6 link-local. */
static int is_private(const struct gw_addr *a)
{
	const uint8_t *ip = a->ip;

	if (a->family == 4)
		return ip[0] == 10 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
		       (ip[0] == 192 && ip[1] == 168) || (ip[0] == 169 && ip[1] == 254);
	return (ip[0] & 0xfe) == 0xfc || (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80);
}

static int is_device(const struct gw_stats *s, const struct gw_addr *a)
{
	unsigned i;

	if (s->o.nnets == 0)
		return is_private(a);
	for (i = 0; i < s->o.nnets; i++)
		if (in_net(a, &s->o.nets[i].net, s->o.nets[i].bits))
			return 1;
	return 0;
}

int gw_stats_new(const struct gw_stats_opts *o, struct gw_stats **out)
{
	struct gw_stats *s = NULL;
	uint32_t nb = 1;

	*out = NULL;
	if (!o || o->interval_ms == 0 || o->max_devices == 0 ||
	    o->max_devices > MAX_DEVICES_LIMIT || o->max_peers == 0 ||
	    o->max_peers > MAX_PEERS_LIMIT || o->nnets > sizeof o->nets / sizeof o->nets[0])
		return MM_EINVAL;
	s = calloc(1, sizeof *s);
	if (!s)
		goto fail;
	s->o = *o;
	while (nb < o->max_devices)
		nb <<= 1;
	s->bucket = calloc(nb, sizeof *s->bucket);
	s->list = calloc(o->max_devices, sizeof *s->list);
	if (!s->bucket || !s->list)
		goto fail;
	s->mask = nb - 1;
	*out = s;
	return 0;
fail:
	if (s) {
		free(s->bucket);
		free(s->list);
	}
	free(s);
	return MM_ENOMEM;
}

static uint32_t addr_hash(const struct gw_addr *a)
{
	uint32_t h = 2166136261u;
	size_t i, n = a->family == 4 ? 4 : 16;

	for (i = 0; i < n; i++)
		h = (h ^ a->ip[i]) * 16777619u;
	return h ^ (h >> 15);
}

static int addr_eq(const struct gw_addr *a, const struct gw_addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, sizeof a->ip) == 0;
}

static void clear(struct gw_stats *s)
{
	unsigned i;

	for (i = 0; i < s->ndevices; i++)
		free(s->list[i]);
	s->ndevices = 0;
	memset(s->bucket, 0, ((size_t)s->mask + 1) * sizeof *s->bucket);
}

void gw_stats_free(struct gw_stats *s)
{
	if (!s)
		return;
	clear(s);
	free(s->bucket);
	free(s->list);
	free(s);
}

void gw_stats_counters(const struct gw_stats *s, struct gw_stats_counters *c)
{
	*c = s->c;
	c->devices = s->ndevices;
}

/* The device's entry, made when there is room; NULL otherwise (counted). */
static struct device *device(struct gw_stats *s, const struct gw_addr *a)
{
	uint32_t h = addr_hash(a) & s->mask;
	struct device *d;
	size_t sz;

	for (d = s->bucket[h]; d; d = d->next)
		if (addr_eq(&d->addr, a))
			return d;
	if (s->ndevices >= s->o.max_devices) {
		s->c.dropped_devices++;
		return NULL;
	}
	sz = sizeof *d + s->o.max_peers * (sizeof(struct peer) + sizeof(struct port));
	d = calloc(1, sz);
	if (!d) {
		s->c.dropped_devices++;
		return NULL;
	}
	d->peers = (struct peer *)(d + 1);
	d->ports = (struct port *)(d->peers + s->o.max_peers);
	d->addr = *a;
	d->next = s->bucket[h];
	s->bucket[h] = d;
	s->list[s->ndevices++] = d;
	return d;
}

static void count_peer(struct gw_stats *s, struct device *d, const struct gw_addr *a, int out,
		       uint64_t bytes)
{
	struct peer *p = NULL;
	unsigned i;

	for (i = 0; i < d->npeers; i++)
		if (addr_eq(&d->peers[i].addr, a)) {
			p = &d->peers[i];
			break;
		}
	if (!p && d->npeers < s->o.max_peers) {
		p = &d->peers[d->npeers++];
		p->addr = *a;
	}
	if (!p) {
		d->other_peer_packets++;
		d->other_peer_bytes += bytes;
		return;
	}
	if (out) {
		p->packets_out++;
		p->bytes_out += bytes;
	} else {
		p->packets_in++;
		p->bytes_in += bytes;
	}
}

/* The lower of the two ports is taken as the service: the device's own
 * when it serves, the peer's when it is the client. */
static void count_port(struct gw_stats *s, struct device *d, uint8_t ipproto, uint16_t local,
		       uint16_t remote, uint64_t bytes)
{
	int is_remote = remote < local;
	uint16_t port = is_remote ? remote : local;
	unsigned i;

	for (i = 0; i < d->nports; i++) {
		struct port *p = &d->ports[i];

		if (p->port == port && p->ipproto == ipproto && p->remote == is_remote) {
			p->packets++;
			p->bytes += bytes;
			return;
		}
	}
	if (d->nports < s->o.max_peers) {
		struct port *p = &d->ports[d->nports++];

		p->ipproto = ipproto;
		p->remote = (uint8_t)is_remote;
		p->port = port;
		p->packets = 1;
		p->bytes = bytes;
		return;
	}
	d->other_port_packets++;
	d->other_port_bytes += bytes;
}

static uint64_t ts_ms(const struct timespec *t)
{
	if (t->tv_sec < 0 || t->tv_nsec < 0)
		return 0;
	return (uint64_t)t->tv_sec * 1000 + (uint64_t)(t->tv_nsec / 1000000);
}

static void start_at(struct gw_stats *s, uint64_t ms)
{
	s->started = 1;
	s->start_ms = ms / 1000 * 1000;
	s->end_ms = s->start_ms + s->o.interval_ms;
}

void gw_stats_packet(struct gw_stats *s, const struct gw_packet *pk)
{
	int side;
	int opened = pk->ipproto == IPPROTO_TCP &&
		     (pk->tcp_flags & (GW_TCP_SYN | GW_TCP_ACK)) == GW_TCP_SYN;

	if (!s->started)
		start_at(s, ts_ms(&pk->ts));
	/* side 0: the sender as the device (out), 1: the receiver (in) */
	for (side = 0; side < 2; side++) {
		const struct gw_addr *me = side ? &pk->dst : &pk->src;
		const struct gw_addr *peer = side ? &pk->src : &pk->dst;
		uint16_t lp = side ? pk->dport : pk->sport;
		uint16_t rp = side ? pk->sport : pk->dport;
		struct device *d;

		if (!is_device(s, me) || !(d = device(s, me)))
			continue;
		if (side) {
			d->packets_in++;
			d->bytes_in += pk->wire_len;
		} else {
			d->packets_out++;
			d->bytes_out += pk->wire_len;
		}
		d->flows += (uint64_t)opened;
		count_peer(s, d, peer, !side, pk->wire_len);
		count_port(s, d, pk->ipproto, lp, rp, pk->wire_len);
	}
}

/* ---- events ---- */

/* RFC 3339 with always three fraction digits, as docs/formats/gw-events.md
 * shows (mm_x1367_time_format trims them to what is needed). */
static void time_text(uint64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(out, 32, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out + 19, 13, ".%03uZ", (unsigned)(ms % 1000));
}

static int peer_cmp(const void *a, const void *b)
{
	const struct peer *x = a, *y = b;
	uint64_t bx = x->bytes_in + x->bytes_out, by = y->bytes_in + y->bytes_out;

	if (bx != by)
		return bx > by ? -1 : 1;
	return memcmp(x->addr.ip, y->addr.ip, sizeof x->addr.ip);
}

static int port_cmp(const void *a, const void *b)
{
	const struct port *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return (int)x->ipproto - (int)y->ipproto + (int)x->remote - (int)y->remote;
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "ip";
}

/* One device's event, or NULL when out of memory. */
static json_t *event(struct gw_stats *s, struct device *d, uint64_t end_ms)
{
	char start[32], end[32], addr[46];
	json_t *ev, *peers, *ports;
	unsigned i;
	int bad = 0;

	time_text(s->start_ms, start);
	time_text(end_ms, end);
	gw_addr_text(&d->addr, addr, sizeof addr);
	qsort(d->peers, d->npeers, sizeof *d->peers, peer_cmp);
	qsort(d->ports, d->nports, sizeof *d->ports, port_cmp);
	peers = json_array();
	ports = json_array();
	for (i = 0; peers && i < d->npeers; i++) {
		char pa[46];

		gw_addr_text(&d->peers[i].addr, pa, sizeof pa);
		bad |= json_array_append_new(
			peers, json_pack("{s:s,s:I,s:I,s:I,s:I}", "address", pa, "packets_in",
					 (json_int_t)d->peers[i].packets_in, "packets_out",
					 (json_int_t)d->peers[i].packets_out, "bytes_in",
					 (json_int_t)d->peers[i].bytes_in, "bytes_out",
					 (json_int_t)d->peers[i].bytes_out));
	}
	for (i = 0; ports && i < d->nports; i++)
		bad |= json_array_append_new(
			ports, json_pack("{s:s,s:s,s:i,s:I,s:I}", "proto",
					 proto_name(d->ports[i].ipproto), "side",
					 d->ports[i].remote ? "remote" : "local", "port",
					 (int)d->ports[i].port, "packets",
					 (json_int_t)d->ports[i].packets, "bytes",
					 (json_int_t)d->ports[i].bytes));
	if (!peers || !ports || bad) {
		json_decref(peers);
		json_decref(ports);
		return NULL;
	}
	ev = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:o,s:o,"
		       "s:{s:{s:I,s:I},s:{s:I,s:I}}}",
		       "event", "gw.flow.stats", "time", end, "device", addr, "interval_s",
		       (json_int_t)(s->o.interval_ms / 1000), "start", start, "end", end,
		       "packets_in", (json_int_t)d->packets_in, "packets_out",
		       (json_int_t)d->packets_out, "bytes_in", (json_int_t)d->bytes_in,
		       "bytes_out", (json_int_t)d->bytes_out, "flows", (json_int_t)d->flows,
		       "peers", peers, "ports", ports, "other", "peers", "packets",
		       (json_int_t)d->other_peer_packets, "bytes",
		       (json_int_t)d->other_peer_bytes, "ports", "packets",
		       (json_int_t)d->other_port_packets, "bytes",
		       (json_int_t)d->other_port_bytes);
	return ev;
}

static void emit_all(struct gw_stats *s, uint64_t end_ms,
		     void (*emit)(void *arg, const char *json, size_t len), void *arg)
{
	unsigned i;

	for (i = 0; i < s->ndevices; i++) {
		json_t *ev = event(s, s->list[i], end_ms);
		char *text = ev ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

		if (text) {
			s->c.events++;
			if (emit)
				emit(arg, text, strlen(text));
		} else {
			log_warnx("gw.flow.stats: out of memory for an event");
		}
		free(text);
		json_decref(ev);
	}
	clear(s);
}

void gw_stats_tick(struct gw_stats *s, const struct timespec *now, int final,
		   void (*emit)(void *arg, const char *json, size_t len), void *arg)
{
	uint64_t t = ts_ms(now);

	if (!s->started)
		return;
	if (t >= s->end_ms) {
		emit_all(s, s->end_ms, emit, arg);
		/* Intervals with no traffic at all are passed over at once. */
		s->start_ms = s->end_ms + (t - s->end_ms) / s->o.interval_ms * s->o.interval_ms;
		s->end_ms = s->start_ms + s->o.interval_ms;
	}
	if (final) {
		emit_all(s, t > s->start_ms ? t : s->start_ms, emit, arg);
		s->started = 0;
	}
}
