/*
 * mamori-gw's parts and the types they share.
 *
 *   capture.c  libpcap sources: live interfaces or a pcap file, the BPF filter
 *   packet.c   link layer (Ethernet, 802.1Q, Linux cooked v1/v2, raw IP,
 *              loopback), IPv4, IPv6 (extension headers), TCP, UDP -> gw_packet
 *   flow.c     the flow table (bounded), TCP reassembly, the decoder of each
 *              flow (by port), and the sink that turns decoder reports into
 *              mm_reporter calls
 *   stats.c    per-device flow statistics, emitted as gw.flow.stats events
 *   config.c   mamori-gw.conf
 *   main.c     options, the loop, signals, the sender
 *   sensor/    one decoder per protocol (sensor/sensor.h)
 */
#ifndef GW_H
#define GW_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mamori/reporter.h"
#include "sensor/sensor.h"

/* ---- packets (packet.c) ---- */

struct gw_addr {
	uint8_t family;  /* 4 or 6 */
	uint8_t ip[16];  /* IPv4 in the first 4 bytes */
};

/* TCP flags as on the wire. */
#define GW_TCP_FIN 0x01
#define GW_TCP_SYN 0x02
#define GW_TCP_RST 0x04
#define GW_TCP_ACK 0x10

struct gw_packet {
	struct timespec ts;      /* capture time, UTC */
	struct gw_addr src, dst;
	uint16_t sport, dport;
	uint8_t ipproto;         /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t tcp_flags;
	uint32_t seq, ack;       /* TCP */
	const uint8_t *payload;  /* points into the captured frame */
	size_t payload_len;      /* bytes captured of the payload */
	size_t wire_len;         /* the frame's length on the wire (for byte counts) */
	int truncated;           /* the capture cut the payload short (snaplen) */
};

/* Writes an address as text (inet_ntop). out must hold 46 bytes. */
void gw_addr_text(const struct gw_addr *a, char *out, size_t size);

/*
 * Decodes one captured frame of the given DLT_ link type. Returns 0 with
 * *pk filled (payload points into p), MM_ENOTFOUND for a frame that is not
 * IPv4/IPv6 TCP or UDP (ARP, ICMP, a non-first IP fragment), MM_EPARSE for
 * a malformed one. Never reads past caplen.
 */
int gw_packet_parse(int linktype, const uint8_t *p, size_t caplen, size_t wire_len,
		    const struct timespec *ts, struct gw_packet *pk);

/* ---- flows and decoding (flow.c) ---- */

/* Which decoder serves which port. */
#define GW_MAX_PORTS 64
struct gw_port {
	uint8_t ipproto;
	uint16_t port;
	const struct gw_decoder *decoder;
};

struct gw_flow_opts {
	unsigned max_flows;        /* flows tracked; default 65536, at most 2^24; when full
	                              the least recently active is dropped (counted) */
	unsigned max_buffer;       /* bytes buffered per direction of a TCP flow, in order
	                              and out of order together; default 65536 */
	uint64_t max_memory;       /* bytes of flows, decoder states and buffers together;
	                              default 64 MiB, at least 4096; past it the least
	                              recently active flows are dropped (counted in
	                              evicted) */
	int silence[8];            /* per decoder (index in gw_decoders[]): 1 to pass its
	                              periodic reports on to the reporter; default all 1 */
	unsigned tcp_idle_ms;      /* an established TCP flow forgotten after; default 300000 */
	unsigned half_open_ms;     /* a TCP flow that never completed its handshake
	                              (or saw FIN/RST) forgotten after; default 10000 */
	unsigned udp_idle_ms;      /* default 60000 */
	struct gw_port ports[GW_MAX_PORTS];
	unsigned nports;
	unsigned timeout_ms;       /* request timeout given to the reporter; 0: its default */
};

struct gw_flow_counters {
	uint64_t packets;      /* packets given to gw_flows_packet() */
	uint64_t flows;        /* flows created */
	uint64_t active;       /* flows tracked now */
	uint64_t evicted;      /* flows dropped because max_flows was reached */
	uint64_t expired;      /* flows forgotten after their idle time */
	uint64_t decoded;      /* flows with a decoder */
	uint64_t gaps;         /* holes in TCP streams (lost bytes, buffer overflow) */
	uint64_t overflow;     /* out-of-order segments that did not fit the buffer or
	                          memory bound (the stream jumped over its hole) */
	uint64_t stopped;      /* flows whose decoder gave up (GW_STOP, or gap() refused) */
	uint64_t memory;       /* bytes held by the flows, decoder states and buffers now
	                          (the fixed hash bucket array, 8 bytes per max_flows,
	                          is not counted) */
	uint64_t memory_peak;
	uint64_t midstream;    /* TCP flows whose handshake was not seen: tracked, never
	                          decoded (decoding from the middle makes false records) */
	uint64_t refused;      /* packets of new flows not tracked because max_memory
	                          could not hold even one more flow */
	uint64_t reporter_errors; /* mm_reporter calls that returned an error */
};

struct gw_flows;

void gw_flow_opts_default(struct gw_flow_opts *o);
/* Adds the decoders' default ports to o (skipping ports already there). */
void gw_flow_opts_default_ports(struct gw_flow_opts *o);
/* Creates the table. rep (borrowed) gets every decoder report, with
 * requester and responder as "IP Address". The key of a request, response
 * or error is the decoder's key prefixed with both ports (two connections
 * between the same hosts never pair with each other); a periodic stream's
 * key is the decoder's alone, so that a device that connects anew for each
 * reading is still one stream. Description "Flow" gives
 * "client-address port -> server-address port/tcp". Returns 0, MM_EINVAL,
 * MM_ENOMEM. */
int gw_flows_new(const struct gw_flow_opts *o, struct mm_reporter *rep, struct gw_flows **out);
/* Tracks one packet: finds or makes its flow, reassembles, decodes. */
void gw_flows_packet(struct gw_flows *f, const struct gw_packet *pk);
/* Forgets flows idle past their time as of now. */
void gw_flows_tick(struct gw_flows *f, const struct timespec *now);
void gw_flows_counters(const struct gw_flows *f, struct gw_flow_counters *c);
void gw_flows_free(struct gw_flows *f);

/* ---- flow statistics (stats.c) ---- */

struct gw_stats_opts {
	unsigned interval_ms;  /* one event per device per interval; default 60000 */
	unsigned max_devices;  /* devices counted; default 4096, at most 2^20; past it,
	                          counted as dropped */
	unsigned max_peers;    /* peers and ports listed per device per interval; default 32,
	                          at most 4096 (the rest are summed as "other") */
	/* The devices: addresses inside these networks ("192.168.0.0/16"); none given:
	 * every private, link-local and unique-local address (RFC 1918, 4193, 3927). */
	struct {
		struct gw_addr net;
		unsigned bits;
	} nets[32];
	unsigned nnets;
};

struct gw_stats;

void gw_stats_opts_default(struct gw_stats_opts *o);
/* Parses "10.0.0.0/8" or "fd00::/8" into one nets[] entry. 0 or MM_EPARSE. */
int gw_stats_net_parse(const char *s, struct gw_addr *net, unsigned *bits);
int gw_stats_new(const struct gw_stats_opts *o, struct gw_stats **out);
/* Counts one packet (any IP packet gw_packet_parse() accepted). */
void gw_stats_packet(struct gw_stats *s, const struct gw_packet *pk);
/*
 * When an interval has ended by now, hands each device's gw.flow.stats event
 * (JSON text, see docs/formats/gw-events.md) to emit and starts the next
 * interval. final 1: emit what there is now (at the end of a capture).
 * Intervals follow the packets' time, starting at the first packet's second:
 * call it with each packet's time before gw_stats_packet() (it costs a
 * comparison when nothing is due), so that every packet is counted in its
 * own interval whatever the replay speed, and on a timer in live capture so
 * that a quiet network still gets its events.
 */
void gw_stats_tick(struct gw_stats *s, const struct timespec *now, int final,
		   void (*emit)(void *arg, const char *json, size_t len), void *arg);
struct gw_stats_counters {
	uint64_t devices;          /* devices counted in the current interval */
	uint64_t dropped_devices;  /* packets of devices past max_devices, not counted */
	uint64_t events;           /* events handed to emit */
};
void gw_stats_counters(const struct gw_stats *s, struct gw_stats_counters *c);
void gw_stats_free(struct gw_stats *s);

#endif
