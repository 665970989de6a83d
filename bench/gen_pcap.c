/*
 * gen_pcap: writes the pcap files that mamori-gw's benchmark and flood test
 * read, deterministically from a seed, with libpcap (pcap_open_dead and
 * pcap_dump: a classic pcap, Ethernet, microsecond stamps).
 *
 *   gen_pcap mixed -n N -o FILE [-s SEED]
 *   gen_pcap flood -n N -o FILE [-s SEED]
 *
 * mixed: about N packets (the sessions open when N is reached are
 * finished, so a few dozen more) of the traffic of one IoT LAN: a few
 * hundred clients (192.168.1.0/24, 192.168.2.0/24, and fd00:6d61:6d6f::/64
 * for a tenth of the sessions) and servers (192.168.10.0/24) speaking
 *   MQTT 3.1.1 and 5 on 1883: CONNECT/CONNACK (some refused: 3.1.1 codes
 *     4 and 5, MQTT 5 reason codes 0x86 and 0x87), PUBLISH QoS 0, PUBLISH
 *     QoS 1 with PUBACK, SUBSCRIBE/SUBACK (some 0x80 failures),
 *     PINGREQ/PINGRESP, DISCONNECT;
 *   Modbus/TCP on 502: read coils, read holding and input registers, write
 *     single and multiple registers, some exception responses (codes 1-4);
 *   CoAP on UDP 5683: CON GET and PUT with tokens and message ids, answered
 *     by piggybacked 2.05 or 2.04, some 4.04 and 4.05;
 *   HTTP/1.1 on 80 and 8080: GET and POST with Content-Length bodies on
 *     keep-alive connections, 200 and some 401, 403, 404, 500;
 *   ECHONET Lite on UDP 3610 (a small share): Get answered by Get_Res or
 *     Get_SNA.
 * TCP sessions open with a real handshake, carry data with correct
 * sequence and acknowledgement numbers (messages larger than the MSS are
 * segmented) and close with FIN. Some sixty sessions are open at a time and
 * their packets interleave; the four main protocols get about equal shares
 * of the packets; about 2% of the responses are errors. Packets are about
 * 10 us apart. Every request is answered within milliseconds, and MQTT
 * PUBLISH topics are never reused, so no request times out and no stream
 * looks periodic: the only X.1367 records the file calls for are its error
 * responses, one each.
 *
 * On stderr it prints what it wrote: packets, then the messages of each
 * kind, then a line
 *     expect: total=T MQTT_3.1.1=A MQTT_5=B Modbus/TCP=C CoAP=D HTTP=E ECHONET_Lite=F
 * with the X.1367 records a sensor must find, by protocol (spaces in a
 * protocol's name written as '_').
 *
 * flood: N packets meant to cost a sensor memory and nothing else: random
 * garbage frames, frames cut inside their headers or with lying lengths,
 * TCP SYNs from random addresses and ports to random ports (half-open
 * flows), random UDP datagrams to the decoders' ports and others, and MQTT
 * and HTTP connections that complete their handshake and then send part of
 * a message that never ends (in order and out of order), never closed.
 * It prints how many packets of each kind it wrote.
 *
 * Generator bugs (a plan that does not fit its bounds) end the program with
 * a message and exit status 1; a usage error gives 2.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#define BENCH_NAME "gen_pcap"
#include "bench_util.h"

#define SNAPLEN 65535
#define FRAME_MAX 1600
#define MSS 1448
#define EPOCH_S 1717200000u /* 2024-06-01T00:00:00Z: the first packet's time */

/* ---- a deterministic random source (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* A number in [0, n), n > 0. */
static uint32_t below(uint32_t n)
{
	return (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32);
}

/* A number in [lo, hi]. */
static uint32_t between(uint32_t lo, uint32_t hi)
{
	return lo + below(hi - lo + 1);
}

/* 1 with probability per10k / 10000. */
static int chance(unsigned per10k)
{
	return below(10000) < per10k;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

/* ---- the pcap writer ---- */

struct writer {
	pcap_t *dead;
	pcap_dumper_t *dump;
	uint64_t packets;
	uint64_t bytes;
	uint64_t t_us; /* the next packet's time, microseconds since the epoch */
};

static void writer_open(struct writer *w, const char *path)
{
	memset(w, 0, sizeof *w);
	w->dead = pcap_open_dead(DLT_EN10MB, SNAPLEN);
	if (w->dead == NULL)
		die("pcap_open_dead failed");
	w->dump = pcap_dump_open(w->dead, path);
	if (w->dump == NULL)
		die("%s: %s", path, pcap_geterr(w->dead));
	w->t_us = (uint64_t)EPOCH_S * 1000000u;
}

static void writer_close(struct writer *w)
{
	if (pcap_dump_flush(w->dump) != 0)
		die("writing the pcap file failed");
	pcap_dump_close(w->dump);
	pcap_close(w->dead);
}

/* Writes one frame: caplen bytes of a frame that was wire_len long. */
static void writer_put(struct writer *w, const uint8_t *frame, size_t caplen, size_t wire_len)
{
	struct pcap_pkthdr h;

	h.ts.tv_sec = (time_t)(w->t_us / 1000000u);
	h.ts.tv_usec = (suseconds_t)(w->t_us % 1000000u);
	h.caplen = (bpf_u_int32)caplen;
	h.len = (bpf_u_int32)wire_len;
	pcap_dump((u_char *)w->dump, &h, frame);
	w->packets++;
	w->bytes += caplen;
	/* About 10 us apart, not exactly, as on a real link. */
	w->t_us += between(5, 15);
}

/* ---- frames: Ethernet, IPv4 or IPv6, TCP or UDP, with real checksums ---- */

struct host {
	uint8_t mac[6];
	uint8_t ip4[4];
	uint8_t ip6[16];
};

/* One packet to build: who sends to whom, and what. */
struct pkt {
	const struct host *src, *dst;
	int v6;
	int udp;
	uint16_t sport, dport;
	uint8_t flags; /* TCP */
	uint32_t seq, ack;
	const uint8_t *payload;
	size_t len;
};

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The one's complement sum of RFC 1071, not yet folded. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Builds the frame of pk into f (FRAME_MAX bytes) and returns its length.
 * The transport checksum covers the IPv4 or IPv6 pseudo-header.
 */
static size_t build_frame(const struct pkt *pk, uint8_t *f)
{
	size_t l3 = 14, l4, thl = pk->udp ? 8 : 20, iplen, tlen = thl + pk->len;
	uint32_t sum;
	uint8_t pseudo[40];

	if (14 + 40 + thl + pk->len > FRAME_MAX)
		die("frame of %zu payload bytes does not fit", pk->len);
	memcpy(f, pk->dst->mac, 6);
	memcpy(f + 6, pk->src->mac, 6);
	if (!pk->v6) {
		put16(f + 12, 0x0800);
		iplen = 20;
		l4 = l3 + iplen;
		f[l3] = 0x45;
		f[l3 + 1] = 0;
		put16(f + l3 + 2, (uint32_t)(iplen + tlen));
		put16(f + l3 + 4, (uint32_t)rnd());
		put16(f + l3 + 6, 0x4000); /* DF */
		f[l3 + 8] = 64;
		f[l3 + 9] = pk->udp ? 17 : 6;
		put16(f + l3 + 10, 0);
		memcpy(f + l3 + 12, pk->src->ip4, 4);
		memcpy(f + l3 + 16, pk->dst->ip4, 4);
		put16(f + l3 + 10, csum_fold(csum_add(0, f + l3, 20)));
		memcpy(pseudo, pk->src->ip4, 4);
		memcpy(pseudo + 4, pk->dst->ip4, 4);
		pseudo[8] = 0;
		pseudo[9] = f[l3 + 9];
		put16(pseudo + 10, (uint32_t)tlen);
		sum = csum_add(0, pseudo, 12);
	} else {
		put16(f + 12, 0x86DD);
		iplen = 40;
		l4 = l3 + iplen;
		put32(f + l3, 0x60000000u);
		put16(f + l3 + 4, (uint32_t)tlen);
		f[l3 + 6] = pk->udp ? 17 : 6;
		f[l3 + 7] = 64;
		memcpy(f + l3 + 8, pk->src->ip6, 16);
		memcpy(f + l3 + 24, pk->dst->ip6, 16);
		memcpy(pseudo, pk->src->ip6, 16);
		memcpy(pseudo + 16, pk->dst->ip6, 16);
		put32(pseudo + 32, (uint32_t)tlen);
		put32(pseudo + 36, pk->udp ? 17 : 6);
		sum = csum_add(0, pseudo, 40);
	}
	put16(f + l4, pk->sport);
	put16(f + l4 + 2, pk->dport);
	if (pk->udp) {
		put16(f + l4 + 4, (uint32_t)tlen);
		put16(f + l4 + 6, 0);
	} else {
		put32(f + l4 + 4, pk->seq);
		put32(f + l4 + 8, pk->ack);
		f[l4 + 12] = 5 << 4;
		f[l4 + 13] = pk->flags;
		put16(f + l4 + 14, 64240);
		put16(f + l4 + 16, 0);
		put16(f + l4 + 18, 0);
	}
	if (pk->len)
		memcpy(f + l4 + thl, pk->payload, pk->len);
	sum = csum_add(sum, f + l4, tlen);
	put16(f + l4 + (pk->udp ? 6 : 16), csum_fold(sum));
	/* A UDP checksum that comes out 0 is sent as all ones (RFC 768). */
	if (pk->udp && f[l4 + 6] == 0 && f[l4 + 7] == 0)
		put16(f + l4 + 6, 0xFFFF);
	return l4 + tlen;
}

static void emit(struct writer *w, const struct pkt *pk)
{
	uint8_t f[FRAME_MAX];
	size_t n = build_frame(pk, f);

	writer_put(w, f, n, n);
}

/* ---- message building, bounded ---- */

#define MSG_MAX 8192

struct msg {
	uint8_t b[MSG_MAX];
	size_t n;
};

static void m_bytes(struct msg *m, const void *p, size_t n)
{
	if (n > MSG_MAX - m->n)
		die("message longer than %d bytes", MSG_MAX);
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void m_u8(struct msg *m, uint32_t v)
{
	uint8_t b = (uint8_t)v;

	m_bytes(m, &b, 1);
}

static void m_u16(struct msg *m, uint32_t v)
{
	uint8_t b[2];

	put16(b, v);
	m_bytes(m, b, 2);
}

static void m_text(struct msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void m_text(struct msg *m, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf((char *)m->b + m->n, MSG_MAX - m->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= MSG_MAX - m->n)
		die("message longer than %d bytes", MSG_MAX);
	m->n += (size_t)k;
}

/* An MQTT string: two length bytes and the text. */
static void m_mqtt_str(struct msg *m, const char *s)
{
	size_t n = strlen(s);

	m_u16(m, (uint32_t)n);
	m_bytes(m, s, n);
}

/* A JSON body of about n bytes (n >= 16), as sensors and APIs send. */
static void m_json_body(struct msg *m, size_t n)
{
	size_t start = m->n, i = 0;

	m_text(m, "{\"id\":%u,\"v\":[", below(100000));
	while (m->n - start + 12 < n)
		m_text(m, "%s%u.%u", i++ ? "," : "", below(1000), below(10));
	m_text(m, "]}");
}

/* ---- the mixed traffic: hosts ---- */

#define N_CLIENTS 320
#define N_BROKERS 4
#define N_PLCS 24
#define N_COAP 24
#define N_WEB 12
#define N_ECHONET 16
#define N_SERVERS (N_BROKERS + N_PLCS + N_COAP + N_WEB + N_ECHONET)

static struct host clients[N_CLIENTS];
static struct host servers[N_SERVERS];

static void host_make(struct host *h, unsigned net, unsigned id)
{
	static const uint8_t prefix[8] = {0xfd, 0x00, 0x6d, 0x61, 0x6d, 0x6f, 0x00, 0x00};

	h->ip4[0] = 192;
	h->ip4[1] = 168;
	h->ip4[2] = (uint8_t)net;
	h->ip4[3] = (uint8_t)id;
	h->mac[0] = 0x02;
	h->mac[1] = 0x00;
	memcpy(h->mac + 2, h->ip4, 4);
	memcpy(h->ip6, prefix, 8);
	memset(h->ip6 + 8, 0, 8);
	h->ip6[13] = (uint8_t)net;
	h->ip6[15] = (uint8_t)id;
}

static void hosts_make(void)
{
	unsigned i;

	for (i = 0; i < N_CLIENTS; i++)
		host_make(&clients[i], 1 + i / 160, 20 + i % 160);
	for (i = 0; i < N_SERVERS; i++)
		host_make(&servers[i], 10, 10 + i);
}

/* ---- the mixed traffic: what was written ---- */

enum proto { P_MQTT, P_MODBUS, P_COAP, P_HTTP, P_ECHONET, P_COUNT };

static const char *const proto_name[P_COUNT] = {"mqtt", "modbus", "coap", "http", "echonet"};

/* Share of the packets each protocol aims at, in parts of 1000. */
static const unsigned proto_share[P_COUNT] = {245, 245, 245, 245, 20};

/* The X.1367 records expected, by the protocol a record names. */
enum rproto { R_MQTT311, R_MQTT5, R_MODBUS, R_COAP, R_HTTP, R_ECHONET, R_COUNT };

static const char *const rproto_name[R_COUNT] = {"MQTT_3.1.1", "MQTT_5", "Modbus/TCP",
						 "CoAP", "HTTP", "ECHONET_Lite"};

/* Counters of messages, by a name; printed in the order first counted. */
#define MAX_COUNTERS 96
static struct {
	const char *name;
	uint64_t n;
} counters[MAX_COUNTERS];
static unsigned ncounters;

static void count(const char *name)
{
	unsigned i;

	for (i = 0; i < ncounters; i++)
		if (strcmp(counters[i].name, name) == 0) {
			counters[i].n++;
			return;
		}
	if (ncounters == MAX_COUNTERS)
		die("more than %d counters", MAX_COUNTERS);
	counters[ncounters].name = name;
	counters[ncounters++].n = 1;
}

static uint64_t expect[R_COUNT];
static uint64_t responses, error_responses;
static uint64_t proto_packets[P_COUNT];
static uint64_t sessions_started[P_COUNT];
static uint64_t sessions_v6;

/* A response was planned; err: it is an error, a record of protocol rp. */
static void response(int err, enum rproto rp)
{
	responses++;
	if (err) {
		error_responses++;
		expect[rp]++;
	}
}

/* ---- the mixed traffic: sessions, planned whole, then interleaved ---- */

#define STEPS_MAX 160
#define ARENA_MAX (96 * 1024)
#define MAX_ACTIVE 64

struct step {
	uint8_t from; /* 0 client, 1 server */
	uint8_t flags;
	uint32_t seq, ack;
	uint32_t off, len;
};

struct session {
	enum proto proto;
	int udp, v6;
	const struct host *cli, *srv;
	uint16_t cport, sport;
	uint32_t nxt[2]; /* each side's next sequence number, while planning */
	struct step steps[STEPS_MAX];
	unsigned nsteps, next;
	uint8_t arena[ARENA_MAX];
	size_t used;
};

static struct session *step_new(struct session *s, int from, uint8_t flags, const void *p,
				size_t n)
{
	struct step *st;

	if (s->nsteps == STEPS_MAX)
		die("a %s session of more than %d packets", proto_name[s->proto], STEPS_MAX);
	if (n > ARENA_MAX - s->used)
		die("a %s session of more than %d bytes", proto_name[s->proto], ARENA_MAX);
	st = &s->steps[s->nsteps++];
	st->from = (uint8_t)from;
	st->flags = flags;
	st->seq = s->nxt[from];
	st->ack = s->nxt[!from];
	st->off = (uint32_t)s->used;
	st->len = (uint32_t)n;
	if (n)
		memcpy(s->arena + s->used, p, n);
	s->used += n;
	return s;
}

static void tcp_open(struct session *s)
{
	s->nxt[0] = (uint32_t)rnd();
	s->nxt[1] = 0;
	step_new(s, 0, TH_SYN, NULL, 0);
	s->nxt[0]++;
	s->nxt[1] = (uint32_t)rnd();
	step_new(s, 1, TH_SYN | TH_ACK, NULL, 0);
	s->nxt[1]++;
	step_new(s, 0, TH_ACK, NULL, 0);
}

/* One message from one side, cut into segments of at most MSS bytes. */
static void tcp_send(struct session *s, int from, const struct msg *m)
{
	size_t off = 0, k;

	while (off < m->n) {
		k = m->n - off < MSS ? m->n - off : MSS;
		step_new(s, from, TH_PSH | TH_ACK, m->b + off, k);
		s->nxt[from] += (uint32_t)k;
		off += k;
	}
}

static void tcp_ack(struct session *s, int from)
{
	step_new(s, from, TH_ACK, NULL, 0);
}

/* The side `from` closes first; the other answers with its own FIN. */
static void tcp_close(struct session *s, int from)
{
	step_new(s, from, TH_FIN | TH_ACK, NULL, 0);
	s->nxt[from]++;
	step_new(s, !from, TH_FIN | TH_ACK, NULL, 0);
	s->nxt[!from]++;
	step_new(s, from, TH_ACK, NULL, 0);
}

static void udp_send(struct session *s, int from, const struct msg *m)
{
	step_new(s, from, 0, m->b, m->n);
}

/* Each client's next ephemeral port, so that no two of its flows share one. */
static uint16_t next_port[N_CLIENTS];

static uint16_t ephemeral(unsigned client)
{
	uint16_t p = next_port[client];

	next_port[client] = p >= 60999 ? 32768 : (uint16_t)(p + 1);
	return p;
}

/* MQTT's remaining length: a variable byte integer. */
static void m_varint(struct msg *m, size_t v)
{
	do {
		uint8_t b = v % 128;

		v /= 128;
		m_u8(m, v ? b | 0x80 : b);
	} while (v);
}

/* An MQTT packet: type byte, remaining length, and body. */
static void mqtt_packet(struct msg *out, uint8_t type, const struct msg *body)
{
	out->n = 0;
	m_u8(out, type);
	m_varint(out, body->n);
	m_bytes(out, body->b, body->n);
}

static uint64_t topic_seq;

static void plan_mqtt(struct session *s, unsigned ci)
{
	struct msg body, pk;
	int v5 = chance(4000), auth = chance(5000), refused, ops, i;
	enum rproto rp = v5 ? R_MQTT5 : R_MQTT311;
	uint16_t pid = (uint16_t)between(1, 1000);
	char topic[96], cid[32];

	tcp_open(s);
	/* CONNECT: client id, and a user name and password from half of them. */
	body.n = 0;
	m_mqtt_str(&body, "MQTT");
	m_u8(&body, v5 ? 5 : 4);
	m_u8(&body, 0x02 | (auth ? 0xC0 : 0));
	m_u16(&body, 60);
	if (v5) {
		m_u8(&body, 5); /* properties: Session Expiry Interval */
		m_u8(&body, 0x11);
		m_bytes(&body, "\0\0\0\x3c", 4);
	}
	snprintf(cid, sizeof cid, "dev-%03u-%04x", ci, below(65536));
	m_mqtt_str(&body, cid);
	if (auth) {
		m_mqtt_str(&body, "sensor");
		m_mqtt_str(&body, chance(5000) ? "s3cret-pass" : "hunter2");
	}
	mqtt_packet(&pk, 0x10, &body);
	tcp_send(s, 0, &pk);
	count(v5 ? "mqtt5 CONNECT" : "mqtt3 CONNECT");
	/* CONNACK: 4% refused (bad user name or password, not authorised). */
	refused = chance(400);
	body.n = 0;
	m_u8(&body, 0);
	if (refused)
		m_u8(&body, v5 ? (chance(5000) ? 0x86 : 0x87) : (chance(5000) ? 4 : 5));
	else
		m_u8(&body, 0);
	if (v5)
		m_u8(&body, 0);
	mqtt_packet(&pk, 0x20, &body);
	tcp_send(s, 1, &pk);
	count(refused ? (v5 ? "mqtt5 CONNACK refused" : "mqtt3 CONNACK refused")
		      : (v5 ? "mqtt5 CONNACK" : "mqtt3 CONNACK"));
	response(refused, rp);
	if (refused) {
		tcp_close(s, 1);
		return;
	}
	ops = (int)between(2, 8);
	for (i = 0; i < ops; i++) {
		unsigned what = below(100);

		snprintf(topic, sizeof topic, "site/%u/dev%03u/m%" PRIu64, ci / 40, ci,
			 topic_seq++);
		if (what < 35 || what >= 90) {
			/* PUBLISH: QoS 0 (acknowledged by TCP alone) or QoS 1 with PUBACK. */
			int qos1 = what >= 20 && what < 35;

			body.n = 0;
			m_mqtt_str(&body, topic);
			if (qos1)
				m_u16(&body, ++pid);
			if (v5)
				m_u8(&body, 0);
			m_json_body(&body, between(16, 120));
			mqtt_packet(&pk, qos1 ? 0x32 : 0x30, &body);
			tcp_send(s, 0, &pk);
			count(qos1 ? "mqtt PUBLISH qos1" : "mqtt PUBLISH qos0");
			if (!qos1) {
				tcp_ack(s, 1);
				continue;
			}
			body.n = 0;
			m_u16(&body, pid);
			mqtt_packet(&pk, 0x40, &body);
			tcp_send(s, 1, &pk);
			count("mqtt PUBACK");
			response(0, rp);
		} else if (what < 70) {
			/* SUBSCRIBE to one filter; 4% of the SUBACKs refuse it (0x80). */
			int fail = chance(400);

			body.n = 0;
			m_u16(&body, ++pid);
			if (v5)
				m_u8(&body, 0);
			snprintf(topic, sizeof topic, "cmd/%u/dev%03u/#", ci / 40, ci);
			m_mqtt_str(&body, topic);
			m_u8(&body, 1);
			mqtt_packet(&pk, 0x82, &body);
			tcp_send(s, 0, &pk);
			count("mqtt SUBSCRIBE");
			body.n = 0;
			m_u16(&body, pid);
			if (v5)
				m_u8(&body, 0);
			m_u8(&body, fail ? 0x80 : 1);
			mqtt_packet(&pk, 0x90, &body);
			tcp_send(s, 1, &pk);
			count(fail ? "mqtt SUBACK failure" : "mqtt SUBACK");
			response(fail, rp);
		} else {
			body.n = 0;
			mqtt_packet(&pk, 0xC0, &body);
			tcp_send(s, 0, &pk);
			count("mqtt PINGREQ");
			mqtt_packet(&pk, 0xD0, &body);
			tcp_send(s, 1, &pk);
			count("mqtt PINGRESP");
			response(0, rp);
		}
	}
	body.n = 0;
	mqtt_packet(&pk, 0xE0, &body);
	tcp_send(s, 0, &pk);
	count("mqtt DISCONNECT");
	tcp_close(s, 0);
}

static void plan_modbus(struct session *s)
{
	struct msg req, resp;
	unsigned ops = between(1, 10), i, k;
	uint16_t tid = (uint16_t)below(65536);
	uint8_t unit = (uint8_t)between(1, 4);

	tcp_open(s);
	for (i = 0; i < ops; i++) {
		static const uint8_t fcs[] = {0x01, 0x03, 0x03, 0x03, 0x04, 0x06, 0x10};
		uint8_t fc = fcs[below(sizeof fcs)];
		uint16_t addr = (uint16_t)below(1000), qty = (uint16_t)between(1, 16);
		int exc = chance(200);
		struct msg pdu;

		tid++;
		pdu.n = 0;
		m_u8(&pdu, fc);
		m_u16(&pdu, addr);
		if (fc == 0x06) {
			m_u16(&pdu, below(65536));
		} else if (fc == 0x10) {
			m_u16(&pdu, qty);
			m_u8(&pdu, qty * 2u);
			for (k = 0; k < qty; k++)
				m_u16(&pdu, below(65536));
		} else {
			m_u16(&pdu, fc == 0x01 ? qty * 8u : qty);
		}
		req.n = 0;
		m_u16(&req, tid);
		m_u16(&req, 0);
		m_u16(&req, (uint32_t)pdu.n + 1);
		m_u8(&req, unit);
		m_bytes(&req, pdu.b, pdu.n);
		tcp_send(s, 0, &req);
		count("modbus request");

		pdu.n = 0;
		if (exc) {
			m_u8(&pdu, fc | 0x80u);
			m_u8(&pdu, between(1, 4));
		} else if (fc == 0x06) {
			m_bytes(&pdu, req.b + 7, 5);
		} else if (fc == 0x10) {
			m_u8(&pdu, fc);
			m_u16(&pdu, addr);
			m_u16(&pdu, qty);
		} else {
			m_u8(&pdu, fc);
			m_u8(&pdu, fc == 0x01 ? qty : qty * 2u);
			for (k = 0; k < (fc == 0x01 ? qty : qty * 2u); k++)
				m_u8(&pdu, below(256));
		}
		resp.n = 0;
		m_u16(&resp, tid);
		m_u16(&resp, 0);
		m_u16(&resp, (uint32_t)pdu.n + 1);
		m_u8(&resp, unit);
		m_bytes(&resp, pdu.b, pdu.n);
		tcp_send(s, 1, &resp);
		count(exc ? "modbus exception" : "modbus response");
		response(exc, R_MODBUS);
	}
	tcp_close(s, 0);
}

/* A CoAP option, after the one numbered *last. */
static void m_coap_opt(struct msg *m, unsigned *last, unsigned num, const void *v, size_t n)
{
	unsigned delta = num - *last;

	if (delta > 12 || n > 12)
		die("CoAP option %u of %zu bytes: not planned for", num, n);
	m_u8(m, delta << 4 | (unsigned)n);
	m_bytes(m, v, n);
	*last = num;
}

static void plan_coap(struct session *s)
{
	static const char *const paths[][2] = {
		{"sensors", "temp"}, {"sensors", "humidity"}, {"actuators", "valve"},
		{"config", "interval"}, {"fw", "version"}, {"lights", "1"},
	};
	struct msg req, resp;
	unsigned ops = between(1, 6), i, last;
	uint16_t mid = (uint16_t)below(65536);

	for (i = 0; i < ops; i++) {
		int put = chance(3000), err = chance(200);
		unsigned tkl = between(1, 8), p = below(6);
		uint8_t token[8], cf = 50; /* application/json */

		rnd_bytes(token, tkl);
		mid++;
		req.n = 0;
		m_u8(&req, 0x40 | tkl); /* version 1, CON */
		m_u8(&req, put ? 0x03 : 0x01);
		m_u16(&req, mid);
		m_bytes(&req, token, tkl);
		last = 0;
		m_coap_opt(&req, &last, 11, paths[p][0], strlen(paths[p][0]));
		m_coap_opt(&req, &last, 11, paths[p][1], strlen(paths[p][1]));
		if (put) {
			m_coap_opt(&req, &last, 12, &cf, 1);
			m_u8(&req, 0xFF);
			m_json_body(&req, between(16, 64));
		}
		udp_send(s, 0, &req);
		count(put ? "coap CON PUT" : "coap CON GET");

		resp.n = 0;
		m_u8(&resp, 0x60 | tkl); /* version 1, ACK: the response piggybacked */
		if (err)
			m_u8(&resp, chance(5000) ? 0x84 : 0x85); /* 4.04, 4.05 */
		else
			m_u8(&resp, put ? 0x44 : 0x45); /* 2.04, 2.05 */
		m_u16(&resp, mid);
		m_bytes(&resp, token, tkl);
		if (!err && !put) {
			last = 0;
			m_coap_opt(&resp, &last, 12, &cf, 1);
			m_u8(&resp, 0xFF);
			m_json_body(&resp, between(16, 200));
		}
		udp_send(s, 1, &resp);
		count(err ? "coap ACK 4.xx" : "coap ACK 2.xx");
		response(err, R_COAP);
	}
}

static void plan_http(struct session *s)
{
	static const struct {
		unsigned code;
		const char *reason;
	} errs[] = {{401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"},
		    {500, "Internal Server Error"}};
	struct msg req, resp, body;
	unsigned ops = between(1, 5), i;
	char host[32];

	snprintf(host, sizeof host, "192.168.10.%u", s->srv->ip4[3]);
	tcp_open(s);
	for (i = 0; i < ops; i++) {
		int post = chance(3000), err = chance(300), e = (int)below(4);
		unsigned obj = below(5000);

		req.n = 0;
		body.n = 0;
		if (post) {
			m_json_body(&body, between(40, 600));
			m_text(&req,
			       "POST /api/v1/devices/%u/readings HTTP/1.1\r\nHost: %s:%u\r\n"
			       "User-Agent: gw-agent/1.4\r\nContent-Type: application/json\r\n"
			       "Content-Length: %zu\r\n\r\n",
			       obj, host, s->sport, body.n);
			m_bytes(&req, body.b, body.n);
		} else {
			m_text(&req,
			       "GET /api/v1/devices/%u/status HTTP/1.1\r\nHost: %s:%u\r\n"
			       "User-Agent: gw-agent/1.4\r\nAccept: application/json\r\n\r\n",
			       obj, host, s->sport);
		}
		tcp_send(s, 0, &req);
		count(post ? "http POST" : "http GET");

		resp.n = 0;
		body.n = 0;
		if (err) {
			m_text(&body, "{\"error\":\"%s\"}", errs[e].reason);
			m_text(&resp, "HTTP/1.1 %u %s\r\n", errs[e].code, errs[e].reason);
			if (errs[e].code == 401)
				m_text(&resp, "WWW-Authenticate: Basic realm=\"devices\"\r\n");
		} else {
			/* A few large answers, segmented like real ones. */
			m_json_body(&body, chance(500) ? between(2000, 6000) : between(20, 900));
			m_text(&resp, "HTTP/1.1 200 OK\r\n");
		}
		m_text(&resp,
		       "Server: edge-httpd\r\nContent-Type: application/json\r\n"
		       "Content-Length: %zu\r\n\r\n",
		       body.n);
		m_bytes(&resp, body.b, body.n);
		tcp_send(s, 1, &resp);
		count(err ? "http 4xx/5xx" : "http 200");
		response(err, R_HTTP);
		if (i + 1 < ops)
			tcp_ack(s, 0);
	}
	tcp_close(s, 0);
}

static void plan_echonet(struct session *s)
{
	static const uint8_t epcs[] = {0x80, 0x81, 0x88, 0x8A, 0xB0, 0xB3, 0xBB, 0xBE};
	struct msg req, resp;
	unsigned ops = between(1, 3), i, k, opc;
	uint16_t tid = (uint16_t)below(65536);
	/* A home air conditioner (0x013001) asked by a controller (0x05FF01). */
	static const uint8_t ctrl[3] = {0x05, 0xFF, 0x01}, dev[3] = {0x01, 0x30, 0x01};

	for (i = 0; i < ops; i++) {
		int sna = chance(500);
		uint8_t asked[4];

		tid++;
		opc = between(1, 3);
		req.n = 0;
		m_u8(&req, 0x10);
		m_u8(&req, 0x81);
		m_u16(&req, tid);
		m_bytes(&req, ctrl, 3);
		m_bytes(&req, dev, 3);
		m_u8(&req, 0x62); /* Get */
		m_u8(&req, opc);
		for (k = 0; k < opc; k++) {
			asked[k] = epcs[below(sizeof epcs)];
			m_u8(&req, asked[k]);
			m_u8(&req, 0);
		}
		udp_send(s, 0, &req);
		count("echonet Get");

		resp.n = 0;
		m_u8(&resp, 0x10);
		m_u8(&resp, 0x81);
		m_u16(&resp, tid);
		m_bytes(&resp, dev, 3);
		m_bytes(&resp, ctrl, 3);
		m_u8(&resp, sna ? 0x52 : 0x72); /* Get_SNA, Get_Res */
		m_u8(&resp, opc);
		for (k = 0; k < opc; k++) {
			m_u8(&resp, asked[k]);
			/* Get_SNA: the property that cannot be read comes back empty. */
			if (sna && k == 0) {
				m_u8(&resp, 0);
			} else {
				m_u8(&resp, 1);
				m_u8(&resp, below(256));
			}
		}
		udp_send(s, 1, &resp);
		count(sna ? "echonet Get_SNA" : "echonet Get_Res");
		response(sna, R_ECHONET);
	}
}

/* The protocol furthest below its share of the packets planned so far. */
static enum proto pick_proto(const uint64_t *planned)
{
	enum proto best = P_MQTT;
	double bd = 1e300;
	int p;

	for (p = 0; p < P_COUNT; p++) {
		double d = (double)planned[p] / proto_share[p];

		if (d < bd) {
			bd = d;
			best = (enum proto)p;
		}
	}
	return best;
}

static void session_plan(struct session *s, enum proto p)
{
	/* The first server of each protocol's range, and how many it has. */
	static const unsigned first[P_COUNT] = {0, N_BROKERS, N_BROKERS + N_PLCS,
						N_BROKERS + N_PLCS + N_COAP, N_SERVERS - N_ECHONET};
	static const unsigned many[P_COUNT] = {N_BROKERS, N_PLCS, N_COAP, N_WEB, N_ECHONET};
	unsigned ci = below(N_CLIENTS);

	s->proto = p;
	s->nsteps = s->next = 0;
	s->used = 0;
	s->nxt[0] = s->nxt[1] = 0;
	s->v6 = chance(1000);
	s->cli = &clients[ci];
	s->srv = &servers[first[p] + below(many[p])];
	s->cport = ephemeral(ci);
	s->udp = p == P_COAP || p == P_ECHONET;
	switch (p) {
	case P_MQTT:
		s->sport = 1883;
		plan_mqtt(s, ci);
		break;
	case P_MODBUS:
		s->sport = 502;
		plan_modbus(s);
		break;
	case P_COAP:
		s->sport = 5683;
		plan_coap(s);
		break;
	case P_HTTP:
		s->sport = chance(5000) ? 80 : 8080;
		plan_http(s);
		break;
	default:
		/* ECHONET Lite speaks from port 3610 to port 3610. */
		s->cport = 3610;
		s->sport = 3610;
		plan_echonet(s);
		break;
	}
	sessions_started[p]++;
	sessions_v6 += (uint64_t)s->v6;
}

static void session_emit(struct writer *w, struct session *s)
{
	const struct step *st = &s->steps[s->next++];
	struct pkt pk;

	pk.v6 = s->v6;
	pk.udp = s->udp;
	pk.src = st->from ? s->srv : s->cli;
	pk.dst = st->from ? s->cli : s->srv;
	pk.sport = st->from ? s->sport : s->cport;
	pk.dport = st->from ? s->cport : s->sport;
	pk.flags = st->flags;
	pk.seq = st->seq;
	pk.ack = (st->flags & TH_ACK) ? st->ack : 0;
	pk.payload = s->arena + st->off;
	pk.len = st->len;
	emit(w, &pk);
	proto_packets[s->proto]++;
}

static int gen_mixed(uint64_t n, const char *path)
{
	static struct session sessions[MAX_ACTIVE];
	struct session *active[MAX_ACTIVE];
	uint64_t planned[P_COUNT] = {0}, pending = 0;
	unsigned nactive = 0, i;
	struct writer w;
	int p;

	hosts_make();
	for (i = 0; i < N_CLIENTS; i++)
		next_port[i] = (uint16_t)between(32768, 60999);
	for (i = 0; i < MAX_ACTIVE; i++)
		active[i] = &sessions[i];
	writer_open(&w, path);
	for (;;) {
		/* Keep every slot busy while the plan stays below n packets. */
		while (nactive < MAX_ACTIVE && w.packets + pending < n) {
			struct session *s = active[nactive];
			enum proto pr = pick_proto(planned);

			session_plan(s, pr);
			planned[pr] += s->nsteps;
			pending += s->nsteps;
			nactive++;
		}
		if (nactive == 0)
			break;
		i = below(nactive);
		session_emit(&w, active[i]);
		pending--;
		if (active[i]->next == active[i]->nsteps) {
			struct session *done = active[i];

			active[i] = active[--nactive];
			active[nactive] = done;
		}
	}
	writer_close(&w);

	fprintf(stderr, "gen_pcap mixed: packets=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f file=%s\n",
		w.packets, w.bytes, (double)(w.t_us - (uint64_t)EPOCH_S * 1000000u) / 1e6, path);
	fprintf(stderr, "packets by protocol:");
	for (p = 0; p < P_COUNT; p++)
		fprintf(stderr, " %s=%" PRIu64, proto_name[p], proto_packets[p]);
	fprintf(stderr, "\nsessions:");
	for (p = 0; p < P_COUNT; p++)
		fprintf(stderr, " %s=%" PRIu64, proto_name[p], sessions_started[p]);
	fprintf(stderr, " ipv6=%" PRIu64 "\n", sessions_v6);
	fprintf(stderr, "messages:\n");
	for (i = 0; i < ncounters; i++)
		fprintf(stderr, "  %-24s %" PRIu64 "\n", counters[i].name, counters[i].n);
	fprintf(stderr, "responses=%" PRIu64 " error_responses=%" PRIu64 " (%.2f%%)\n", responses,
		error_responses, responses ? 100.0 * (double)error_responses / (double)responses : 0);
	fprintf(stderr, "expect: total=%" PRIu64, error_responses);
	for (p = 0; p < R_COUNT; p++)
		fprintf(stderr, " %s=%" PRIu64, rproto_name[p], expect[p]);
	fputc('\n', stderr);
	return 0;
}

/* ---- the flood ---- */

/* A random host: a MAC, an IPv4 address in 10.0.0.0/8 and an IPv6 one in fd00::/8. */
static void rnd_host(struct host *h)
{
	rnd_bytes(h->mac, 6);
	h->mac[0] = (uint8_t)((h->mac[0] & 0xFE) | 0x02);
	h->ip4[0] = 10;
	rnd_bytes(h->ip4 + 1, 3);
	h->ip6[0] = 0xfd;
	rnd_bytes(h->ip6 + 1, 15);
}

static uint16_t rnd_port(void)
{
	return (uint16_t)between(1, 65535);
}

/* The decoders' default ports, where random bytes do the most harm. */
static const uint16_t tcp_ports[] = {1883, 502, 80, 8080};
static const uint16_t udp_ports[] = {5683, 3610};

/* A stream that opened and keeps sending part of a message that never ends. */
struct halfopen {
	struct host cli, srv;
	int v6, http;
	uint16_t cport, sport;
	uint32_t seq, ack;
	unsigned sent, segments;
};

#define HALFOPEN_MAX 512

static void flood_garbage(struct writer *w)
{
	uint8_t f[FRAME_MAX];
	size_t n = between(1, 300);

	rnd_bytes(f, n);
	writer_put(w, f, n, n + below(64));
}

/* A well-formed frame cut inside its headers, or with lying lengths. */
static void flood_truncated(struct writer *w)
{
	struct host a, b;
	struct pkt pk;
	uint8_t f[FRAME_MAX], pl[64];
	size_t n, hdr;
	unsigned how = below(4);

	memset(&pk, 0, sizeof pk);
	pk.v6 = chance(3000);
	rnd_host(&a);
	rnd_host(&b);
	pk.src = &a;
	pk.dst = &b;
	pk.udp = chance(5000);
	pk.sport = rnd_port();
	pk.dport = pk.udp ? udp_ports[below(2)] : tcp_ports[below(4)];
	pk.flags = TH_ACK | TH_PSH;
	pk.seq = (uint32_t)rnd();
	pk.ack = (uint32_t)rnd();
	rnd_bytes(pl, sizeof pl);
	pk.payload = pl;
	pk.len = below(sizeof pl);
	n = build_frame(&pk, f);
	hdr = 14 + (pk.v6 ? 40 : 20) + (pk.udp ? 8 : 20);
	switch (how) {
	case 0: /* cut anywhere inside the headers */
		n = below((uint32_t)hdr);
		break;
	case 1: /* an IP length longer than the frame */
		if (pk.v6)
			put16(f + 14 + 4, between(200, 65535));
		else
			put16(f + 14 + 2, between(200, 65535));
		break;
	case 2: /* an IPv4 header length or TCP data offset out of range */
		if (!pk.v6)
			f[14] = (uint8_t)(0x40 | below(16));
		if (!pk.udp)
			f[14 + (pk.v6 ? 40 : 20) + 12] = (uint8_t)(below(16) << 4);
		break;
	default: /* a UDP length that lies, or a random IP version */
		if (pk.udp)
			put16(f + 14 + (pk.v6 ? 40 : 20) + 4, below(65536));
		else
			f[14] = (uint8_t)((f[14] & 0x0F) | below(16) << 4);
		break;
	}
	writer_put(w, f, n, n);
}

static void flood_syn(struct writer *w)
{
	struct host a, b;
	struct pkt pk;

	memset(&pk, 0, sizeof pk);
	pk.v6 = chance(1000);
	rnd_host(&a);
	rnd_host(&b);
	pk.src = &a;
	pk.dst = &b;
	pk.sport = rnd_port();
	/* A quarter to the decoders' ports, so that their flows get a decoder. */
	pk.dport = chance(2500) ? tcp_ports[below(4)] : rnd_port();
	pk.flags = TH_SYN;
	pk.seq = (uint32_t)rnd();
	emit(w, &pk);
}

static void flood_udp(struct writer *w)
{
	struct host a, b;
	struct pkt pk;
	uint8_t pl[600];

	memset(&pk, 0, sizeof pk);
	pk.v6 = chance(1000);
	rnd_host(&a);
	rnd_host(&b);
	pk.src = &a;
	pk.dst = &b;
	pk.udp = 1;
	pk.sport = rnd_port();
	pk.dport = chance(7500) ? udp_ports[below(2)] : rnd_port();
	pk.len = below(sizeof pl);
	rnd_bytes(pl, pk.len);
	/* Half of them start like the protocol, so a decoder reads further. */
	if (pk.len >= 4 && chance(5000)) {
		if (pk.dport == 3610) {
			pl[0] = 0x10;
			pl[1] = 0x81;
		} else {
			pl[0] = (uint8_t)(0x40 | (pl[0] & 0x3F));
		}
	}
	pk.payload = pl;
	emit(w, &pk);
}

static void halfopen_start(struct writer *w, struct halfopen *h)
{
	struct pkt pk;

	memset(h, 0, sizeof *h);
	h->v6 = chance(1000);
	rnd_host(&h->cli);
	rnd_host(&h->srv);
	h->http = chance(5000);
	h->cport = rnd_port();
	h->sport = h->http ? (chance(5000) ? 80 : 8080) : 1883;
	h->seq = (uint32_t)rnd();
	h->ack = (uint32_t)rnd();
	h->segments = between(4, 60);
	memset(&pk, 0, sizeof pk);
	pk.v6 = h->v6;
	pk.src = &h->cli;
	pk.dst = &h->srv;
	pk.sport = h->cport;
	pk.dport = h->sport;
	pk.flags = TH_SYN;
	pk.seq = h->seq++;
	emit(w, &pk);
	pk.src = &h->srv;
	pk.dst = &h->cli;
	pk.sport = h->sport;
	pk.dport = h->cport;
	pk.flags = TH_SYN | TH_ACK;
	pk.seq = h->ack++;
	pk.ack = h->seq;
	emit(w, &pk);
	pk.src = &h->cli;
	pk.dst = &h->srv;
	pk.sport = h->cport;
	pk.dport = h->sport;
	pk.flags = TH_ACK;
	pk.seq = h->seq;
	pk.ack = h->ack;
	emit(w, &pk);
}

/*
 * The next segment of a message that never ends: an MQTT CONNECT that
 * announces 200 MB, or HTTP headers that never reach their blank line.
 * One segment in eight jumps ahead in the stream, leaving a hole, so that
 * out-of-order data piles up too.
 */
static void halfopen_next(struct writer *w, struct halfopen *h, uint64_t *ooo)
{
	struct msg m;
	struct pkt pk;
	size_t want = between(200, MSS);

	m.n = 0;
	if (h->sent == 0 && !h->http) {
		m_u8(&m, 0x10);
		m_varint(&m, 200000000);
		m_mqtt_str(&m, "MQTT");
		m_u8(&m, 4);
		m_u8(&m, 0xC2);
		m_u16(&m, 60);
	} else if (h->sent == 0) {
		m_text(&m, "POST /upload HTTP/1.1\r\nHost: device\r\n");
	}
	while (m.n < want) {
		if (h->http)
			m_text(&m, "X-Pad-%u: %08x%08x\r\n", h->sent, (unsigned)rnd(), (unsigned)rnd());
		else
			m_u8(&m, 'A' + below(26));
	}
	m.n = want;
	memset(&pk, 0, sizeof pk);
	pk.v6 = h->v6;
	pk.src = &h->cli;
	pk.dst = &h->srv;
	pk.sport = h->cport;
	pk.dport = h->sport;
	pk.flags = TH_PSH | TH_ACK;
	pk.seq = h->seq;
	pk.ack = h->ack;
	if (h->sent > 0 && chance(1250)) {
		pk.seq += between(1, 8) * MSS;
		(*ooo)++;
	}
	pk.payload = m.b;
	pk.len = m.n;
	emit(w, &pk);
	if (pk.seq == h->seq)
		h->seq += (uint32_t)m.n;
	h->sent++;
}

static int gen_flood(uint64_t n, const char *path)
{
	static struct halfopen ho[HALFOPEN_MAX];
	unsigned nho = 0, i;
	uint64_t garbage = 0, truncated = 0, syns = 0, udps = 0, streams = 0, segs = 0, ooo = 0;
	struct writer w;

	writer_open(&w, path);
	while (w.packets < n) {
		unsigned what = below(100);

		if (what < 15) {
			flood_garbage(&w);
			garbage++;
		} else if (what < 30) {
			flood_truncated(&w);
			truncated++;
		} else if (what < 55) {
			flood_syn(&w);
			syns++;
		} else if (what < 70) {
			flood_udp(&w);
			udps++;
		} else if (nho < HALFOPEN_MAX && (nho == 0 || chance(1500)) && w.packets + 3 <= n) {
			halfopen_start(&w, &ho[nho++]);
			streams++;
		} else if (nho > 0) {
			i = below(nho);
			halfopen_next(&w, &ho[i], &ooo);
			segs++;
			/* A stream that has sent its share is abandoned, never closed. */
			if (ho[i].sent >= ho[i].segments)
				ho[i] = ho[--nho];
		}
	}
	writer_close(&w);
	fprintf(stderr,
		"gen_pcap flood: packets=%" PRIu64 " bytes=%" PRIu64 " garbage=%" PRIu64
		" truncated=%" PRIu64 " syn=%" PRIu64 " udp=%" PRIu64 " halfopen_streams=%" PRIu64
		" halfopen_segments=%" PRIu64 " out_of_order=%" PRIu64 " file=%s\n",
		w.packets, w.bytes, garbage, truncated, syns, udps, streams, segs, ooo, path);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: gen_pcap mixed|flood -n PACKETS -o FILE [-s SEED]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mode, *out = NULL;
	uint64_t n = 0, seed = 1;
	int i;

	if (argc < 2)
		usage();
	mode = argv[1];
	for (i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "-n") == 0)
			n = opt_num(argv[++i], 1, 1000000000ul, "-n");
		else if (strcmp(argv[i], "-o") == 0)
			out = argv[++i];
		else if (strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--seed") == 0)
			seed = opt_num(argv[++i], 0, ~0ul, "--seed");
		else
			usage();
	}
	if (n == 0 || out == NULL)
		usage();
	rng_state = seed;
	if (strcmp(mode, "mixed") == 0)
		return gen_mixed(n, out);
	if (strcmp(mode, "flood") == 0)
		return gen_flood(n, out);
	usage();
	return 2;
}
