/*
 * The flow table: one entry per TCP connection or UDP address and port
 * pair, found from either direction, with the decoder chosen by the
 * server's port, TCP reassembly per direction, and the sink that turns the
 * decoder's reports into mm_reporter calls.
 *
 * Layout:
 *   - a hash table of chained flows, keyed by the 5-tuple with its two ends
 *     in a fixed order so that both directions find the same flow; the hash
 *     is keyed with a random seed, since the addresses are chosen by whoever
 *     sends packets;
 *   - three lists in order of last activity, one per timeout class (TCP
 *     established, TCP half-open or closing, UDP). A packet moves its flow
 *     to the tail of its class; expiry takes from the heads, so a tick costs
 *     only what it expires, and the least recently active flow of the whole
 *     table is the oldest of the three heads;
 *   - per TCP direction, the next expected sequence number, the in-order
 *     bytes the decoder has not consumed yet (from a message boundary), and
 *     the out-of-order segments held until their hole fills, sorted by
 *     sequence number and never overlapping each other.
 *
 * Memory: each flow accounts for its own struct, its decoder's state and
 * every byte it buffers (in-order buffer capacity and held segments with
 * their headers). Before anything is allocated the table makes room by
 * dropping the least recently active flows; the flow being worked on is
 * never dropped, and what cannot be made room for is not kept (a segment
 * becomes a gap, a new flow is refused). So memory never passes max_memory.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "gw.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define MAX_FLOWS_LIMIT (1u << 24)
#define MIN_MEMORY 4096u
#define BUF_MIN 1024u          /* first allocation of an in-order buffer */
#define WINDOW_LIMIT (1u << 30) /* a segment further ahead than this is not of this stream */
#define N_DECODERS_MAX 8        /* entries of gw_flow_opts.silence */

enum cls { CLS_EST = 0, CLS_HALF = 1, CLS_UDP = 2, CLS_COUNT = 3 };

/* An out-of-order TCP segment waiting for its hole to fill. */
struct seg {
	struct seg *next;
	uint32_t seq;
	uint32_t len;
	uint8_t data[];
};

struct dir {
	uint32_t next_seq;  /* the sequence number of the next byte expected */
	uint8_t known;      /* next_seq is known (the SYN or SYN-ACK was seen) */
	uint8_t *buf;       /* in-order bytes not consumed yet, from a message boundary */
	size_t len, cap;
	uint64_t skip;      /* bytes still to pass over unseen (data() returned > n) */
	struct seg *held;   /* out-of-order segments, sorted, disjoint */
	size_t held_bytes;  /* their payload bytes */
	uint8_t cut;        /* the last segment was cut by the snap length: the
	                       next one ahead of next_seq follows a hole for sure */
};

struct flow {
	struct flow *hnext;          /* hash chain */
	struct flow *prev, *next;    /* the activity list of its class */
	struct gw_addr addr[2];      /* indexed by enum gw_side */
	uint16_t port[2];
	uint8_t ipproto;
	uint8_t cls;
	uint8_t decoding;            /* the decoder is fed */
	uint8_t closing;             /* FIN or RST seen */
	uint8_t established;         /* TCP: a packet after the handshake was seen */
	int dec_index;               /* index of dec in gw_decoders[], or -1 */
	uint32_t hash;
	uint64_t last_ms;
	size_t mem;                  /* bytes this flow accounts for */
	const struct gw_decoder *dec;
	void *state;                 /* dec->state_size bytes after the struct */
	struct dir d[2];             /* indexed by the side that sent the bytes */
};

struct lru {
	struct flow *head, *tail;
};

struct gw_flows {
	struct gw_flow_opts o;
	struct mm_reporter *rep;
	struct flow **bucket;
	uint32_t mask;
	uint64_t seed[2];
	struct lru lru[CLS_COUNT];
	struct gw_flow_counters c;
	/* What the sink needs while a decoder runs: the flow and the packet's time. */
	struct gw_sink sink;
	struct flow *cur;
	struct timespec cur_ts;
};

/* ---- options ---- */

void gw_flow_opts_default(struct gw_flow_opts *o)
{
	unsigned i;

	memset(o, 0, sizeof *o);
	o->max_flows = 65536;
	o->max_buffer = 65536;
	o->max_memory = UINT64_C(64) << 20;
	for (i = 0; i < sizeof o->silence / sizeof o->silence[0]; i++)
		o->silence[i] = 1;
	o->tcp_idle_ms = 300000;
	o->half_open_ms = 10000;
	o->udp_idle_ms = 60000;
}

static int port_known(const struct gw_flow_opts *o, int ipproto, unsigned port)
{
	unsigned i;

	for (i = 0; i < o->nports; i++)
		if (o->ports[i].ipproto == ipproto && o->ports[i].port == port)
			return 1;
	return 0;
}

void gw_flow_opts_default_ports(struct gw_flow_opts *o)
{
	const struct gw_decoder *const *d;
	const char *s;

	for (d = gw_decoders; *d; d++) {
		for (s = (*d)->ports; s && *s;) {
			unsigned long v = 0;
			int digits = 0;

			while (*s >= '0' && *s <= '9' && digits < 6) {
				v = v * 10 + (unsigned long)(*s++ - '0');
				digits++;
			}
			if (digits > 0 && v > 0 && v <= 65535 && o->nports < GW_MAX_PORTS &&
			    !port_known(o, (*d)->ipproto, (unsigned)v)) {
				o->ports[o->nports].ipproto = (uint8_t)(*d)->ipproto;
				o->ports[o->nports].port = (uint16_t)v;
				o->ports[o->nports].decoder = *d;
				o->nports++;
			}
			while (*s && (*s < '0' || *s > '9'))
				s++;
		}
	}
}

static const struct gw_decoder *port_decoder(const struct gw_flows *f, int ipproto,
					     unsigned port)
{
	unsigned i;

	for (i = 0; i < f->o.nports; i++)
		if (f->o.ports[i].ipproto == ipproto && f->o.ports[i].port == port)
			return f->o.ports[i].decoder;
	return NULL;
}

static int decoder_index(const struct gw_decoder *d)
{
	int i;

	for (i = 0; d && gw_decoders[i]; i++)
		if (gw_decoders[i] == d)
			return i;
	return -1;
}

/* ---- time, hashing, lists ---- */

static uint64_t ts_ms(const struct timespec *t)
{
	if (t->tv_sec < 0 || t->tv_nsec < 0)
		return 0;
	return (uint64_t)t->tv_sec * 1000 + (uint64_t)(t->tv_nsec / 1000000);
}

/* Serial number arithmetic (RFC 1982): how far b is ahead of a. */
static int32_t seq_diff(uint32_t b, uint32_t a)
{
	return (int32_t)(b - a);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= UINT64_C(0x9E3779B97F4A7C15);
	h ^= h >> 29;
	h *= UINT64_C(0xBF58476D1CE4E5B9);
	return h ^ (h >> 32);
}

static uint64_t word(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* 1 when end (a, ap) sorts before end (b, bp). */
static int end_before(const struct gw_addr *a, uint16_t ap, const struct gw_addr *b, uint16_t bp)
{
	int r = memcmp(a->ip, b->ip, sizeof a->ip);

	return r < 0 || (r == 0 && ap < bp);
}

static uint32_t flow_hash(const struct gw_flows *f, uint8_t proto, const struct gw_addr *a,
			  uint16_t ap, const struct gw_addr *b, uint16_t bp)
{
	uint64_t h = f->seed[0];

	if (end_before(b, bp, a, ap)) {
		const struct gw_addr *t = a;
		uint16_t tp = ap;

		a = b, ap = bp, b = t, bp = tp;
	}
	h = mix(h, word(a->ip) ^ f->seed[1]);
	h = mix(h, word(a->ip + 8));
	h = mix(h, word(b->ip));
	h = mix(h, word(b->ip + 8));
	h = mix(h, (uint64_t)ap << 32 | (uint64_t)bp << 16 | proto);
	return (uint32_t)h;
}

static int addr_eq(const struct gw_addr *a, const struct gw_addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, sizeof a->ip) == 0;
}

static void lru_unlink(struct gw_flows *f, struct flow *fl)
{
	struct lru *l = &f->lru[fl->cls];

	if (fl->prev)
		fl->prev->next = fl->next;
	else
		l->head = fl->next;
	if (fl->next)
		fl->next->prev = fl->prev;
	else
		l->tail = fl->prev;
	fl->prev = fl->next = NULL;
}

static void lru_append(struct gw_flows *f, struct flow *fl, enum cls cls)
{
	struct lru *l = &f->lru[cls];

	fl->cls = (uint8_t)cls;
	fl->prev = l->tail;
	fl->next = NULL;
	if (l->tail)
		l->tail->next = fl;
	else
		l->head = fl;
	l->tail = fl;
}

static void touch(struct gw_flows *f, struct flow *fl, enum cls cls, uint64_t now)
{
	lru_unlink(f, fl);
	lru_append(f, fl, cls);
	fl->last_ms = now;
}

/* ---- memory ---- */

static void mem_add(struct gw_flows *f, struct flow *fl, size_t n)
{
	fl->mem += n;
	f->c.memory += n;
	if (f->c.memory > f->c.memory_peak)
		f->c.memory_peak = f->c.memory;
}

static void mem_sub(struct gw_flows *f, struct flow *fl, size_t n)
{
	fl->mem -= n;
	f->c.memory -= n;
}

/* Gives back a side's in-order buffer, and forgets the bytes it was to
 * skip: what follows is no longer the stream they belonged to. */
static void buf_drop(struct gw_flows *f, struct flow *fl, struct dir *d)
{
	if (d->buf) {
		mem_sub(f, fl, d->cap);
		free(d->buf);
	}
	d->buf = NULL;
	d->len = d->cap = 0;
	d->skip = 0;
}

static void dir_clear(struct gw_flows *f, struct flow *fl, struct dir *d)
{
	struct seg *s, *n;

	for (s = d->held; s; s = n) {
		n = s->next;
		mem_sub(f, fl, sizeof *s + s->len);
		free(s);
	}
	d->held = NULL;
	d->held_bytes = 0;
	buf_drop(f, fl, d);
}

static void flow_free(struct gw_flows *f, struct flow *fl)
{
	struct flow **pp;

	for (pp = &f->bucket[fl->hash & f->mask]; *pp; pp = &(*pp)->hnext)
		if (*pp == fl) {
			*pp = fl->hnext;
			break;
		}
	lru_unlink(f, fl);
	dir_clear(f, fl, &fl->d[0]);
	dir_clear(f, fl, &fl->d[1]);
	if (fl->dec && fl->dec->close)
		fl->dec->close(fl->state);
	f->c.memory -= fl->mem;
	f->c.active--;
	free(fl);
}

/* The least recently active flow other than keep, or NULL. */
static struct flow *lru_oldest(struct gw_flows *f, const struct flow *keep)
{
	struct flow *best = NULL;
	int i;

	for (i = 0; i < CLS_COUNT; i++) {
		struct flow *h = f->lru[i].head;

		if (h && h == keep)
			h = h->next;
		if (h && (!best || h->last_ms < best->last_ms))
			best = h;
	}
	return best;
}

/* Makes room for n more bytes by dropping the least recently active flows
 * other than keep. 0, or MM_EFULL when even that is not enough. */
static int mem_room(struct gw_flows *f, const struct flow *keep, size_t n)
{
	while (f->c.memory + n > f->o.max_memory) {
		struct flow *old = lru_oldest(f, keep);

		if (!old)
			return MM_EFULL;
		flow_free(f, old);
		f->c.evicted++;
	}
	return 0;
}

/* ---- the sink ---- */

static void party_texts(struct gw_flows *f, char ctext[46], char stext[46])
{
	gw_addr_text(&f->cur->addr[GW_CLIENT], ctext, 46);
	gw_addr_text(&f->cur->addr[GW_SERVER], stext, 46);
}

/*
 * Fills what every report shares: the protocol, time, detail, the flow
 * text, and the key (both ports, then the decoder's key, unless ports is 0).
 */
static void msg_base(struct gw_flows *f, const struct gw_msg *m, struct mm_reporter_msg *r,
		     uint8_t key[MM_REPORTER_KEY_MAX], char flowtext[128], const char *ctext,
		     const char *stext, int ports)
{
	const struct flow *fl = f->cur;
	size_t klen = m->key_len, off = 0;

	memset(r, 0, sizeof *r);
	r->protocol = m->protocol;
	r->time = f->cur_ts;
	r->detail = m->detail;
	snprintf(flowtext, 128, "%s %u -> %s %u/%s", ctext, fl->port[GW_CLIENT], stext,
		 fl->port[GW_SERVER], fl->ipproto == IPPROTO_TCP ? "tcp" : "udp");
	r->flow = flowtext;
	if (ports) {
		key[0] = (uint8_t)(fl->port[GW_CLIENT] >> 8);
		key[1] = (uint8_t)fl->port[GW_CLIENT];
		key[2] = (uint8_t)(fl->port[GW_SERVER] >> 8);
		key[3] = (uint8_t)fl->port[GW_SERVER];
		off = 4;
	}
	if (!m->key)
		klen = 0;
	if (klen > MM_REPORTER_KEY_MAX - off)
		klen = MM_REPORTER_KEY_MAX - off;
	if (klen)
		memcpy(key + off, m->key, klen);
	r->key = key;
	r->key_len = off + klen;
	r->raw = m->raw;
	r->raw_len = m->raw ? m->raw_len : 0;
}

static void set_parties(struct mm_reporter_msg *r, const char *requester, const char *responder)
{
	r->requester.kind = MM_X1367_ID_IP;
	r->requester.id = requester;
	r->responder.kind = MM_X1367_ID_IP;
	r->responder.id = responder;
}

static void count_rc(struct gw_flows *f, int rc)
{
	if (rc < 0)
		f->c.reporter_errors++;
}

/* A multicast or broadcast address: a group, whose members answer (if at
 * all) from their own addresses, on flows of their own. */
static int is_group(const struct gw_addr *a)
{
	if (a->family == 4)
		return (a->ip[0] & 0xF0) == 0xE0 ||
		       (a->ip[0] == 255 && a->ip[1] == 255 && a->ip[2] == 255 && a->ip[3] == 255);
	return a->ip[0] == 0xFF;
}

/* What a sink callback builds for the reporter: the message, and the key
 * and texts it points into. */
struct report {
	struct mm_reporter_msg r;
	uint8_t key[MM_REPORTER_KEY_MAX];
	char ct[46], st[46], ft[128];
};

/* Fills rp from m as msg_base() does, with `requester` the side that asks
 * and the other the side that answers. */
static void report_init(struct gw_flows *f, const struct gw_msg *m, struct report *rp, int ports,
			enum gw_side requester)
{
	party_texts(f, rp->ct, rp->st);
	msg_base(f, m, &rp->r, rp->key, rp->ft, rp->ct, rp->st, ports);
	if (requester == GW_CLIENT)
		set_parties(&rp->r, rp->ct, rp->st);
	else
		set_parties(&rp->r, rp->st, rp->ct);
}

static enum gw_side other_side(enum gw_side s)
{
	return s == GW_CLIENT ? GW_SERVER : GW_CLIENT;
}

static void sink_request(void *arg, const struct gw_msg *m, unsigned timeout_ms)
{
	struct gw_flows *f = arg;
	struct report rp;

	/* A request to a group (an ECHONET Lite Get to 224.0.23.0) is answered
	 * on other flows, so it never pairs here: it must not time out into a
	 * No Response. An error answer still makes a record, unpaired. */
	if (is_group(&f->cur->addr[other_side(m->from)]))
		timeout_ms = MM_REPORTER_ANSWER_OPTIONAL;
	report_init(f, m, &rp, 1, m->from);
	count_rc(f, mm_reporter_request(f->rep, &rp.r, timeout_ms ? timeout_ms : f->o.timeout_ms));
}

static void sink_response(void *arg, const struct gw_msg *m, const struct mm_reporter_status *s)
{
	struct gw_flows *f = arg;
	struct report rp;

	report_init(f, m, &rp, 1, other_side(m->from));
	count_rc(f, mm_reporter_response(f->rep, &rp.r, s));
}

/* The client asks and the server answers, whoever sent the bad bytes: they
 * become the Transmitted Code of the side that sent them. */
static void sink_error(void *arg, const struct gw_msg *m, const struct mm_reporter_status *s)
{
	struct gw_flows *f = arg;
	struct report rp;

	report_init(f, m, &rp, 1, GW_CLIENT);
	if (m->from == GW_CLIENT) {
		count_rc(f, mm_reporter_report(f->rep, &rp.r, "", 0, s));
	} else {
		rp.r.raw = "";
		rp.r.raw_len = 0;
		count_rc(f, mm_reporter_report(f->rep, &rp.r, m->raw ? m->raw : "",
					       m->raw ? m->raw_len : 0, s));
	}
}

/* A periodic message's sender is the responder: the other side expects it. */
static void sink_periodic(void *arg, const struct gw_msg *m)
{
	struct gw_flows *f = arg;
	struct report rp;
	int i = f->cur->dec_index;

	if (i < 0 || i >= N_DECODERS_MAX || f->o.silence[i] != 1)
		return;
	report_init(f, m, &rp, 0, other_side(m->from));
	count_rc(f, mm_reporter_periodic(f->rep, &rp.r, 0));
}

/* ---- the table ---- */

int gw_flows_new(const struct gw_flow_opts *o, struct mm_reporter *rep, struct gw_flows **out)
{
	struct gw_flows *f = NULL;
	uint32_t nb = 1;
	unsigned i;

	*out = NULL;
	if (!o || !rep || o->max_flows == 0 || o->max_flows > MAX_FLOWS_LIMIT ||
	    o->max_buffer == 0 || o->max_memory < MIN_MEMORY || o->nports > GW_MAX_PORTS)
		return MM_EINVAL;
	for (i = 0; i < o->nports; i++)
		if (!o->ports[i].decoder || !o->ports[i].decoder->data)
			return MM_EINVAL;
	f = calloc(1, sizeof *f);
	if (!f)
		goto fail;
	f->o = *o;
	f->rep = rep;
	while (nb < o->max_flows)
		nb <<= 1;
	f->bucket = calloc(nb, sizeof *f->bucket);
	if (!f->bucket)
		goto fail;
	f->mask = nb - 1;
	if (getrandom(f->seed, sizeof f->seed, GRND_NONBLOCK) != (ssize_t)sizeof f->seed) {
		struct timespec t;

		clock_gettime(CLOCK_MONOTONIC, &t);
		f->seed[0] = (uint64_t)t.tv_nsec ^ ((uint64_t)t.tv_sec << 32) ^ (uintptr_t)f;
		f->seed[1] = mix(f->seed[0], (uintptr_t)&t);
	}
	f->sink.request = sink_request;
	f->sink.response = sink_response;
	f->sink.error = sink_error;
	f->sink.periodic = sink_periodic;
	f->sink.arg = f;
	*out = f;
	return 0;
fail:
	if (f)
		free(f->bucket);
	free(f);
	return MM_ENOMEM;
}

void gw_flows_free(struct gw_flows *f)
{
	int i;

	if (!f)
		return;
	for (i = 0; i < CLS_COUNT; i++)
		while (f->lru[i].head)
			flow_free(f, f->lru[i].head);
	free(f->bucket);
	free(f);
}

void gw_flows_counters(const struct gw_flows *f, struct gw_flow_counters *c)
{
	*c = f->c;
}

static struct flow *flow_find(struct gw_flows *f, const struct gw_packet *pk, uint32_t h,
			      enum gw_side *from)
{
	struct flow *fl;

	for (fl = f->bucket[h & f->mask]; fl; fl = fl->hnext) {
		if (fl->hash != h || fl->ipproto != pk->ipproto)
			continue;
		if (fl->port[0] == pk->sport && fl->port[1] == pk->dport &&
		    addr_eq(&fl->addr[0], &pk->src) && addr_eq(&fl->addr[1], &pk->dst)) {
			*from = GW_CLIENT;
			return fl;
		}
		if (fl->port[1] == pk->sport && fl->port[0] == pk->dport &&
		    addr_eq(&fl->addr[1], &pk->src) && addr_eq(&fl->addr[0], &pk->dst)) {
			*from = GW_SERVER;
			return fl;
		}
	}
	return NULL;
}

/*
 * Makes a flow whose client is the packet's sender when sender_is_client,
 * else its receiver; dec is the decoder of the server's port (or NULL).
 * NULL when it could not be kept (counted).
 */
static struct flow *flow_make(struct gw_flows *f, const struct gw_packet *pk, uint32_t h,
			      int sender_is_client, const struct gw_decoder *dec, uint64_t now)
{
	size_t ssz = dec ? (dec->state_size + 15) / 16 * 16 : 0;
	size_t need = sizeof(struct flow) + ssz;
	struct flow *fl;
	int c = sender_is_client ? GW_CLIENT : GW_SERVER;

	if (f->c.active >= f->o.max_flows) {
		struct flow *old = lru_oldest(f, NULL);

		if (old) {
			flow_free(f, old);
			f->c.evicted++;
		}
	}
	if (mem_room(f, NULL, need) < 0) {
		f->c.refused++;
		return NULL;
	}
	fl = calloc(1, need);
	if (!fl) {
		f->c.refused++;
		return NULL;
	}
	fl->addr[c] = pk->src;
	fl->port[c] = pk->sport;
	fl->addr[!c] = pk->dst;
	fl->port[!c] = pk->dport;
	fl->ipproto = pk->ipproto;
	fl->hash = h;
	fl->dec = dec;
	fl->dec_index = decoder_index(dec);
	fl->state = dec ? (void *)(fl + 1) : NULL;
	fl->last_ms = now;
	fl->hnext = f->bucket[h & f->mask];
	f->bucket[h & f->mask] = fl;
	lru_append(f, fl, pk->ipproto == IPPROTO_UDP ? CLS_UDP : CLS_HALF);
	mem_add(f, fl, need);
	f->c.flows++;
	f->c.active++;
	return fl;
}

static void stop(struct gw_flows *f, struct flow *fl)
{
	if (!fl->decoding)
		return;
	fl->decoding = 0;
	f->c.stopped++;
	dir_clear(f, fl, &fl->d[0]);
	dir_clear(f, fl, &fl->d[1]);
}

/* ---- TCP reassembly ---- */

/* Bytes of side s were lost: drop what is buffered and ask the decoder
 * whether it can go on. 0, or -1 when the flow stopped. */
static int gap(struct gw_flows *f, struct flow *fl, int s)
{
	f->c.gaps++;
	buf_drop(f, fl, &fl->d[s]);
	if (!fl->dec->gap || fl->dec->gap(fl->state, (enum gw_side)s) == GW_STOP) {
		stop(f, fl);
		return -1;
	}
	return 0;
}

/* Appends n bytes to the in-order buffer (n fits max_buffer). 0, or -1
 * when memory could not be found. */
static int buf_append(struct gw_flows *f, struct flow *fl, struct dir *d, const uint8_t *p,
		      size_t n)
{
	if (d->len + n > d->cap) {
		size_t cap = d->cap ? d->cap * 2 : BUF_MIN;
		uint8_t *nb;

		if (cap < d->len + n)
			cap = d->len + n;
		if (cap > f->o.max_buffer)
			cap = f->o.max_buffer;
		if (mem_room(f, fl, cap - d->cap) < 0)
			return -1;
		nb = realloc(d->buf, cap);
		if (!nb)
			return -1;
		mem_add(f, fl, cap - d->cap);
		d->buf = nb;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	return 0;
}

static void buf_consume(struct gw_flows *f, struct flow *fl, struct dir *d, size_t n)
{
	if (n >= d->len) {
		/* An empty buffer is given back: most messages are whole in one
		 * segment, and idle flows should not hold buffers. */
		mem_sub(f, fl, d->cap);
		free(d->buf);
		d->buf = NULL;
		d->len = d->cap = 0;
		return;
	}
	memmove(d->buf, d->buf + n, d->len - n);
	d->len -= n;
}

/* Runs the decoder over the buffered bytes. */
static void run_buffer(struct gw_flows *f, struct flow *fl, int s)
{
	struct dir *d = &fl->d[s];

	while (fl->decoding && d->len > 0) {
		long r = fl->dec->data(fl->state, (enum gw_side)s, d->buf, d->len, &f->sink);

		if (r < 0) {
			stop(f, fl);
			return;
		}
		if (r == 0) {
			/* A message larger than the buffer can never be whole. */
			if (d->len >= f->o.max_buffer)
				gap(f, fl, s);
			return;
		}
		if ((size_t)r > d->len) {
			d->skip = (uint64_t)r - d->len;
			buf_consume(f, fl, d, d->len);
			return;
		}
		buf_consume(f, fl, d, (size_t)r);
	}
}

/* Hands n in-order bytes of side s to the decoder (next_seq already counts
 * them). When nothing is buffered the decoder reads the packet in place. */
static void deliver(struct gw_flows *f, struct flow *fl, int s, const uint8_t *p, size_t n)
{
	struct dir *d = &fl->d[s];

	while (fl->decoding && n > 0) {
		size_t k;

		if (d->skip) {
			k = d->skip < n ? (size_t)d->skip : n;
			d->skip -= k;
			p += k;
			n -= k;
			continue;
		}
		if (d->len == 0) {
			long r = fl->dec->data(fl->state, (enum gw_side)s, p, n, &f->sink);

			if (r < 0) {
				stop(f, fl);
				return;
			}
			if (r > 0) {
				if ((size_t)r >= n) {
					d->skip = (uint64_t)r - n;
					return;
				}
				p += r;
				n -= (size_t)r;
				continue;
			}
		}
		k = f->o.max_buffer - d->len;
		if (k > n)
			k = n;
		if (k == 0 || buf_append(f, fl, d, p, k) < 0) {
			/* No room: the message is lost; the decoder resumes after it. */
			if (gap(f, fl, s) < 0)
				return;
			if (k == 0)
				continue;
		}
		p += k;
		n -= k;
		run_buffer(f, fl, s);
	}
}

/* Delivers the held segments that now follow next_seq. */
static void deliver_held(struct gw_flows *f, struct flow *fl, int s)
{
	struct dir *d = &fl->d[s];

	while (fl->decoding && d->held) {
		struct seg *sg = d->held;
		int32_t off = seq_diff(sg->seq, d->next_seq);
		size_t skipn;

		if (off > 0)
			return;
		d->held = sg->next;
		d->held_bytes -= sg->len;
		skipn = (size_t)(-(int64_t)off);
		if (skipn < sg->len) {
			d->next_seq += (uint32_t)(sg->len - skipn);
			deliver(f, fl, s, sg->data + skipn, sg->len - skipn);
		}
		/* Off the list already, so a stop() in deliver() left it to us. */
		mem_sub(f, fl, sizeof *sg + sg->len);
		free(sg);
	}
}

/* Jumps over the hole before the first held segment (or to seq when nothing
 * is held, or seq comes first). */
static void jump(struct gw_flows *f, struct flow *fl, int s, uint32_t seq)
{
	struct dir *d = &fl->d[s];

	if (d->held && seq_diff(d->held->seq, seq) < 0)
		seq = d->held->seq;
	d->next_seq = seq;
	if (gap(f, fl, s) < 0)
		return;
	deliver_held(f, fl, s);
}

/* Holds an out-of-order segment, trimmed against those already held (the
 * first copy of a byte wins). 0 when held or redundant, -1 when it did not
 * fit the bounds. */
static int hold(struct gw_flows *f, struct flow *fl, int s, uint32_t seq, const uint8_t *p,
		size_t n)
{
	struct dir *d = &fl->d[s];
	struct seg **pp = &d->held, *sg;

	while (*pp && seq_diff((*pp)->seq, seq) <= 0) {
		struct seg *e = *pp;
		int32_t over = seq_diff(e->seq + e->len, seq);

		if (over > 0) {
			if ((size_t)over >= n)
				return 0;
			seq += (uint32_t)over;
			p += over;
			n -= (size_t)over;
		}
		pp = &e->next;
	}
	while (*pp && seq_diff((*pp)->seq, seq + (uint32_t)n) < 0) {
		struct seg *e = *pp;

		if (seq_diff(e->seq + e->len, seq + (uint32_t)n) <= 0) {
			*pp = e->next;
			d->held_bytes -= e->len;
			mem_sub(f, fl, sizeof *e + e->len);
			free(e);
			continue;
		}
		n = (size_t)seq_diff(e->seq, seq);
		break;
	}
	if (d->len + d->held_bytes + n > f->o.max_buffer ||
	    mem_room(f, fl, sizeof *sg + n) < 0)
		return -1;
	sg = malloc(sizeof *sg + n);
	if (!sg)
		return -1;
	sg->seq = seq;
	sg->len = (uint32_t)n;
	memcpy(sg->data, p, n);
	sg->next = *pp;
	*pp = sg;
	d->held_bytes += n;
	mem_add(f, fl, sizeof *sg + n);
	return 0;
}

/* A segment's payload from side s. */
static void segment(struct gw_flows *f, struct flow *fl, int s, uint32_t seq, const uint8_t *p,
		    size_t n, int truncated)
{
	struct dir *d = &fl->d[s];
	int32_t off;
	int counted = 0;

	if (!d->known) {
		/* The start of this direction was not seen (its SYN-ACK was
		 * lost): the decoder is told, then goes on from here. */
		d->known = 1;
		d->next_seq = seq;
		if (gap(f, fl, s) < 0)
			return;
	}
	while (fl->decoding) {
		off = seq_diff(seq, d->next_seq);
		if (off <= 0) {
			size_t old = (size_t)(-(int64_t)off);

			if (old >= n)
				return; /* a retransmission of what was seen */
			p += old;
			n -= old;
			d->next_seq += (uint32_t)n;
			d->cut = (uint8_t)truncated;
			deliver(f, fl, s, p, n);
			deliver_held(f, fl, s);
			return;
		}
		if ((uint32_t)off >= WINDOW_LIMIT)
			return;
		if (d->cut) {
			/* The bytes the capture cut off will never come. */
			d->cut = 0;
			jump(f, fl, s, seq);
			continue;
		}
		if (hold(f, fl, s, seq, p, n) == 0)
			return;
		/* The hole cannot be waited for: jump over it and try again. */
		if (!counted) {
			f->c.overflow++;
			counted = 1;
		}
		jump(f, fl, s, seq);
	}
}

/* FIN or RST: no more bytes will fill the holes of side s. */
static void flush(struct gw_flows *f, struct flow *fl, int s)
{
	while (fl->decoding && fl->d[s].held)
		jump(f, fl, s, fl->d[s].held->seq);
}

/* ---- packets ---- */

static void tcp_packet(struct gw_flows *f, const struct gw_packet *pk, uint32_t h, uint64_t now)
{
	uint8_t fl_syn = pk->tcp_flags & (GW_TCP_SYN | GW_TCP_ACK | GW_TCP_RST);
	enum gw_side from = GW_CLIENT;
	struct flow *fl = flow_find(f, pk, h, &from);
	int s;

	if (fl && from == GW_CLIENT && fl_syn == GW_TCP_SYN &&
	    !(fl->d[GW_CLIENT].known && fl->d[GW_CLIENT].next_seq == pk->seq + 1)) {
		/* A new connection on the ports of one that closed, or whose end
		 * was not seen (a device that rebooted and reused its port); a
		 * SYN sent again for the same connection has the same seq. */
		flow_free(f, fl);
		fl = NULL;
	}
	if (!fl) {
		const struct gw_decoder *dec;
		int sender_client;

		if (fl_syn == GW_TCP_SYN)
			sender_client = 1;
		else if (fl_syn == (GW_TCP_SYN | GW_TCP_ACK))
			sender_client = 0;
		else if (port_decoder(f, IPPROTO_TCP, pk->sport) &&
			 !port_decoder(f, IPPROTO_TCP, pk->dport))
			sender_client = 0;
		else
			sender_client = 1;
		dec = port_decoder(f, IPPROTO_TCP, sender_client ? pk->dport : pk->sport);
		if (dec && dec->ipproto != IPPROTO_TCP)
			dec = NULL;
		fl = flow_make(f, pk, h, sender_client, dec, now);
		if (!fl)
			return;
		from = sender_client ? GW_CLIENT : GW_SERVER;
		if (fl_syn == GW_TCP_SYN || fl_syn == (GW_TCP_SYN | GW_TCP_ACK)) {
			if (dec) {
				fl->decoding = 1;
				f->c.decoded++;
			}
		} else {
			f->c.midstream++;
			fl->established = 1;
		}
	}
	s = from;
	f->cur = fl;
	f->cur_ts = pk->ts;
	if (pk->tcp_flags & GW_TCP_RST) {
		fl->closing = 1;
		touch(f, fl, CLS_HALF, now);
		flush(f, fl, 0);
		flush(f, fl, 1);
		return;
	}
	if (pk->tcp_flags & GW_TCP_SYN) {
		struct dir *d = &fl->d[s];

		if (!d->known) {
			d->known = 1;
			d->next_seq = pk->seq + 1;
		}
		if ((pk->tcp_flags & GW_TCP_ACK) && !fl->d[!s].known) {
			fl->d[!s].known = 1;
			fl->d[!s].next_seq = pk->ack;
		}
		touch(f, fl, fl->closing || !fl->established ? CLS_HALF : CLS_EST, now);
		return;
	}
	if ((pk->tcp_flags & GW_TCP_ACK) && fl->d[GW_CLIENT].known && fl->d[GW_SERVER].known)
		fl->established = 1;
	if ((pk->tcp_flags & GW_TCP_ACK) && s == GW_CLIENT && !fl->d[GW_SERVER].known &&
	    fl->d[GW_CLIENT].known) {
		/* The SYN-ACK was missed; the client's acknowledgement says
		 * where the server's stream starts. */
		fl->d[GW_SERVER].known = 1;
		fl->d[GW_SERVER].next_seq = pk->ack;
		fl->established = 1;
	}
	if (pk->tcp_flags & GW_TCP_FIN)
		fl->closing = 1;
	touch(f, fl, fl->closing || !fl->established ? CLS_HALF : CLS_EST, now);
	if (fl->decoding && pk->payload_len > 0)
		segment(f, fl, s, pk->seq, pk->payload, pk->payload_len, pk->truncated);
	if (pk->tcp_flags & GW_TCP_FIN)
		flush(f, fl, s);
}

static void udp_packet(struct gw_flows *f, const struct gw_packet *pk, uint32_t h, uint64_t now)
{
	enum gw_side from = GW_CLIENT;
	struct flow *fl = flow_find(f, pk, h, &from);

	if (!fl) {
		const struct gw_decoder *ds = port_decoder(f, IPPROTO_UDP, pk->sport);
		const struct gw_decoder *dd = port_decoder(f, IPPROTO_UDP, pk->dport);
		/* The end on a decoder's port is the server; when both are (as
		 * ECHONET Lite's 3610 to 3610), the first sender is the client. */
		int sender_client = !(ds && !dd);
		const struct gw_decoder *dec = sender_client ? dd : ds;

		if (dec && dec->ipproto != IPPROTO_UDP)
			dec = NULL;
		fl = flow_make(f, pk, h, sender_client, dec, now);
		if (!fl)
			return;
		from = sender_client ? GW_CLIENT : GW_SERVER;
		if (dec) {
			fl->decoding = 1;
			f->c.decoded++;
		}
	}
	touch(f, fl, CLS_UDP, now);
	/* A datagram cut short by the snap length is not the device's fault. */
	if (!fl->decoding || pk->truncated)
		return;
	f->cur = fl;
	f->cur_ts = pk->ts;
	if (fl->dec->data(fl->state, from, pk->payload, pk->payload_len, &f->sink) == GW_STOP)
		stop(f, fl);
}

void gw_flows_packet(struct gw_flows *f, const struct gw_packet *pk)
{
	uint64_t now = ts_ms(&pk->ts);
	uint32_t h;

	f->c.packets++;
	if (pk->ipproto != IPPROTO_TCP && pk->ipproto != IPPROTO_UDP)
		return;
	h = flow_hash(f, pk->ipproto, &pk->src, pk->sport, &pk->dst, pk->dport);
	if (pk->ipproto == IPPROTO_TCP)
		tcp_packet(f, pk, h, now);
	else
		udp_packet(f, pk, h, now);
	f->cur = NULL;
}

void gw_flows_tick(struct gw_flows *f, const struct timespec *now)
{
	uint64_t t = ts_ms(now);
	const unsigned idle[CLS_COUNT] = {f->o.tcp_idle_ms, f->o.half_open_ms, f->o.udp_idle_ms};
	int i;

	for (i = 0; i < CLS_COUNT; i++) {
		struct flow *fl;

		while ((fl = f->lru[i].head) && fl->last_ms + idle[i] <= t) {
			flow_free(f, fl);
			f->c.expired++;
		}
	}
}
