/*
 * mamori-gw's packet sources: live interfaces and pcap files, through
 * libpcap. Each source hands its packets, parsed (gw_packet_parse), to one
 * callback.
 */
#ifndef GW_CAPTURE_H
#define GW_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "gw.h"

struct gw_source;

struct gw_capture_counters {
	uint64_t frames;      /* frames read */
	uint64_t ip;          /* frames that were IPv4/IPv6 TCP or UDP */
	uint64_t other;       /* frames that were not (ARP, ICMP, fragments...) */
	uint64_t malformed;   /* frames that could not be parsed */
	uint64_t kernel_drop; /* packets the kernel dropped (live; pcap_stats) */
	uint64_t if_drop;     /* ... and the interface */
};

typedef void (*gw_packet_fn)(void *arg, const struct gw_packet *pk);

/* Opens IFACE live (non-blocking). filter may be NULL. Returns 0, or an
 * MM_E* code with err (PCAP_ERRBUF_SIZE or more) saying why. */
int gw_source_open_live(struct gw_source **out, const char *iface, const char *filter,
			int snaplen, int promisc, int buffer, char *err, size_t size);
/* Opens a pcap or pcapng file. */
int gw_source_open_file(struct gw_source **out, const char *path, const char *filter,
			char *err, size_t size);
/* The descriptor to poll for a live source, -1 for a file. */
int gw_source_fd(const struct gw_source *s);
/* Reads up to max packets (0: as many as there are now), calling fn for
 * each parsed one. Returns the frames read (0: none yet), MM_ENOTFOUND at
 * the end of a file, MM_EIO on an error (err says why). */
int gw_source_read(struct gw_source *s, int max, gw_packet_fn fn, void *arg, char *err,
		   size_t size);
/* The first IPv4 address of a live source's interface (or IPv6 if none),
 * as text; 0 or MM_ENOTFOUND. */
int gw_source_address(const struct gw_source *s, char *out, size_t size);
const char *gw_source_name(const struct gw_source *s);
void gw_source_counters(struct gw_source *s, struct gw_capture_counters *c);
void gw_source_close(struct gw_source *s);

#endif
