/*
 * The X.1367 reporter for gateway makers. See include/mamori/reporter.h
 * and docs/formats/reporter.md.
 *
 * Requests held and periodic streams watched each live in a chained hash
 * table (keyed SipHash over their identity, so that a sensor fed by an
 * attacker cannot pick keys that all land in one chain) and in a binary
 * min-heap on their deadline, whose entries know their own place in it.
 * mm_reporter_tick() therefore looks at the heap's top only: O(1) when
 * nothing is due, O(log n) for each request or stream that is. Streams are
 * also kept in a list by when they were last heard from, so that the one to
 * drop when max_periodic is reached is found at once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/event.h"
#include "mamori/log.h"
#include "mamori/reporter.h"
#include "mamori/syslog.h"

/* Longest protocol name or party identifier taken (bytes, without the NUL). */
#define RP_STR_MAX 255
/* Longest Detail or Flow remark kept (bytes); longer ones are cut at a
 * character boundary. */
#define RP_TEXT_MAX 256
/* Upper bounds of the options, so that sizes cannot overflow and a record
 * always fits what the SOC decodes (MM_X1367_MAX_TEXT holds two Transmitted
 * Codes of max_raw bytes in hex, with room to spare). */
#define RP_MAX_TABLE (1u << 24)
#define RP_MAX_RAW (128u * 1024)
#define RP_MAX_SAMPLES 64
/* The most a Timeout or period may be: a week, so that no sum overflows. */
#define RP_MAX_MS (7ull * 24 * 3600 * 1000)
/* Syslog: facility local0, and the longest MSGID RFC 5424 allows. */
#define RP_FACILITY 16
#define RP_SEV_WARNING 4
#define RP_SEV_NOTICE 5
#define RP_SEV_INFO 6
#define RP_MSGID_MAX 32
/* The identity blob: two kinds, three strings of at most RP_STR_MAX bytes
 * each with a length byte and a NUL, and a key with its length byte. */
#define RP_IDENT_MAX (2 + 3 * (1 + RP_STR_MAX + 1) + 1 + MM_REPORTER_KEY_MAX)

#define NS_PER_MS 1000000ll
#define NS_PER_S 1000000000ll
#define NO_HEAP SIZE_MAX

/* ---- the parts shared by requests and streams ---- */

/* What a request or a stream is keyed by, and where it stands in its hash
 * chain and heap. ident is laid out as: requester kind, responder kind,
 * then protocol, requester id and responder id each as a length byte, the
 * bytes and a NUL (so that they can be used as C strings in place), then
 * the key's length byte and bytes. */
struct rp_node {
	struct rp_node *hnext;
	uint64_t hash;
	size_t heap;      /* index in the heap, NO_HEAP when not in it */
	int64_t deadline; /* ns since the epoch */
	size_t ident_len;
	unsigned char *ident;
	const char *protocol, *req_id, *resp_id; /* point into ident */
};

struct rp_table {
	struct rp_node **b;
	size_t nb;   /* buckets, a power of two */
	size_t maxb; /* the most buckets it may grow to */
	size_t n;
};

struct rp_heap {
	struct rp_node **v;
	size_t n, cap, max;
};

/* A request held. */
struct rp_req {
	struct rp_node node;
	struct timespec time;
	unsigned timeout_ms;
	int optional;
	unsigned char *raw; /* raw_kept bytes of raw_len */
	size_t raw_kept, raw_len;
	char *vendor, *detail, *flow; /* NULL when not given */
};

/* A string remark that is overwritten in place when it fits. */
struct rp_text {
	char *s; /* NULL: none */
	size_t cap;
};

/* A periodic stream watched. */
struct rp_stream {
	struct rp_node node;
	struct rp_stream *prev, *next; /* by last heard from, oldest first */
	int64_t last;   /* its last message, ns */
	int heard;      /* a message was heard since it (re)started */
	unsigned period_ms; /* given, or 0: learnt */
	unsigned nint;  /* intervals heard since it (re)started */
	unsigned pos;   /* next slot of ring */
	struct rp_text detail, flow;
	int64_t ring[]; /* the last periodic_samples intervals, ns */
};

struct mm_reporter {
	struct mm_reporter_opts o;
	char *reporter_id, *status, *hostname, *app_name;
	uint8_t sipkey[16];
	struct rp_table reqs, streams;
	struct rp_heap req_heap, stream_heap;
	struct rp_stream *lru_head, *lru_tail;
	struct mm_x1367_record *scratch; /* validates identifiers; caches the last ones */
	struct mm_buf out;               /* one syslog message */
	struct mm_reporter_stats st;
	int invalid_logged;
};

/* ---- SipHash-2-4 (Aumasson and Bernstein, 2012) ---- */

static uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIPROUND                                                                         \
	do {                                                                             \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);               \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                   \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                   \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);               \
	} while (0)

static uint64_t siphash(const uint8_t key[16], const unsigned char *p, size_t len)
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
	uint64_t m, b = (uint64_t)len << 56;
	size_t i, left = len % 8;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	while (left--)
		b |= (uint64_t)p[i + left] << (8 * left);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- hash table ---- */

static int table_init(struct rp_table *t, unsigned max)
{
	size_t maxb = 16;

	while (maxb < max)
		maxb *= 2;
	t->maxb = maxb;
	t->nb = maxb < 64 ? maxb : 64;
	t->n = 0;
	t->b = calloc(t->nb, sizeof *t->b);
	return t->b ? 0 : MM_ENOMEM;
}

static struct rp_node *table_find(const struct rp_table *t, uint64_t hash,
				  const unsigned char *ident, size_t len)
{
	struct rp_node *n;

	for (n = t->b[hash & (t->nb - 1)]; n; n = n->hnext)
		if (n->hash == hash && n->ident_len == len && memcmp(n->ident, ident, len) == 0)
			return n;
	return NULL;
}

/* Doubles the buckets while the table holds more entries than buckets.
 * Failing to grow only makes chains longer, so it is not an error. */
static void table_grow(struct rp_table *t)
{
	struct rp_node **nb, *n, *next;
	size_t i, size = t->nb * 2;

	if (t->n <= t->nb || t->nb >= t->maxb)
		return;
	if ((nb = calloc(size, sizeof *nb)) == NULL)
		return;
	for (i = 0; i < t->nb; i++)
		for (n = t->b[i]; n; n = next) {
			next = n->hnext;
			n->hnext = nb[n->hash & (size - 1)];
			nb[n->hash & (size - 1)] = n;
		}
	free(t->b);
	t->b = nb;
	t->nb = size;
}

static void table_add(struct rp_table *t, struct rp_node *n)
{
	struct rp_node **b = &t->b[n->hash & (t->nb - 1)];

	n->hnext = *b;
	*b = n;
	t->n++;
	table_grow(t);
}

static void table_del(struct rp_table *t, struct rp_node *n)
{
	struct rp_node **pp = &t->b[n->hash & (t->nb - 1)];

	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = n->hnext;
		t->n--;
	}
	n->hnext = NULL;
}

/* ---- deadline heap ---- */

static void heap_set(struct rp_heap *h, size_t i, struct rp_node *n)
{
	h->v[i] = n;
	n->heap = i;
}

static void heap_up(struct rp_heap *h, size_t i)
{
	struct rp_node *n = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->v[parent]->deadline <= n->deadline)
			break;
		heap_set(h, i, h->v[parent]);
		i = parent;
	}
	heap_set(h, i, n);
}

static void heap_down(struct rp_heap *h, size_t i)
{
	struct rp_node *n = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->deadline < h->v[c]->deadline)
			c++;
		if (n->deadline <= h->v[c]->deadline)
			break;
		heap_set(h, i, h->v[c]);
		i = c;
	}
	heap_set(h, i, n);
}

/* Adds n; the caller has made sure that fewer than max are held. */
static int heap_add(struct rp_heap *h, struct rp_node *n)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct rp_node **v;

		if (cap > h->max)
			cap = h->max;
		if (cap <= h->n)
			return MM_EFULL;
		if ((v = realloc(h->v, cap * sizeof *v)) == NULL)
			return MM_ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	h->n++;
	heap_set(h, h->n - 1, n);
	heap_up(h, h->n - 1);
	return 0;
}

static void heap_del(struct rp_heap *h, struct rp_node *n)
{
	size_t i = n->heap;
	struct rp_node *last;

	if (i == NO_HEAP)
		return;
	n->heap = NO_HEAP;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	heap_set(h, i, last);
	heap_up(h, i);
	heap_down(h, last->heap);
}

/* Moves n after its deadline changed. */
static void heap_fix(struct rp_heap *h, struct rp_node *n)
{
	heap_up(h, n->heap);
	heap_down(h, n->heap);
}

/* ---- small helpers ---- */

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * NS_PER_S + t->tv_nsec;
}

/* Whether t is a time the reporter takes: not before 1970, a valid fraction, and
 * far enough from the end of int64_t nanoseconds that deadlines after it fit.
 * The seconds go through an int64_t first so that the check means the same with
 * a 32-bit time_t (armel, mipsel), where the upper bound cannot be reached. */
static int ts_valid(const struct timespec *t)
{
	int64_t sec = t->tv_sec;

	return sec >= 0 && t->tv_nsec >= 0 && t->tv_nsec < NS_PER_S &&
	       sec <= INT64_MAX / NS_PER_S / 2;
}

static struct timespec ns_ts(int64_t ns)
{
	struct timespec t = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};

	return t;
}

/* The length of the longest prefix of s, at most max bytes, that is valid
 * UTF-8 and cut at a character boundary. */
static size_t text_prefix(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	return mm_utf8_check(s, n);
}

static char *dup_text(const char *s)
{
	size_t n;
	char *c;

	if (!s)
		return NULL;
	n = text_prefix(s, RP_TEXT_MAX);
	if ((c = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

/* Sets t to (a bounded prefix of) s, reusing its memory when it fits. */
static int text_set(struct rp_text *t, const char *s)
{
	size_t n;

	if (!s) {
		if (t->s)
			t->s[0] = '\0';
		return 0;
	}
	n = text_prefix(s, RP_TEXT_MAX);
	if (t->s && t->s[0] != '\0' && strncmp(t->s, s, n) == 0 && t->s[n] == '\0')
		return 0;
	if (n + 1 > t->cap) {
		char *p = realloc(t->s, n + 1);
		if (!p)
			return MM_ENOMEM;
		t->s = p;
		t->cap = n + 1;
	}
	memcpy(t->s, s, n);
	t->s[n] = '\0';
	return 0;
}

static const char *text_get(const struct rp_text *t)
{
	return t->s && t->s[0] ? t->s : NULL;
}

/* Writes ms as seconds with one to three decimals: "1.0", "0.25", "6.2". */
static void fmt_seconds(char *out, size_t size, uint64_t ms)
{
	unsigned frac = (unsigned)(ms % 1000);

	if (frac % 100 == 0)
		snprintf(out, size, "%llu.%u", (unsigned long long)(ms / 1000), frac / 100);
	else if (frac % 10 == 0)
		snprintf(out, size, "%llu.%02u", (unsigned long long)(ms / 1000), frac / 10);
	else
		snprintf(out, size, "%llu.%03u", (unsigned long long)(ms / 1000), frac);
}

/* ---- checking a message and making its identity ---- */

/* Checks one party against X.1367's identifier rules, through the scratch
 * record's slot for it (which keeps the last identifier that passed, so
 * that the same party seen again costs a comparison). */
static int check_party(struct mm_reporter *r, enum mm_x1367_party slot,
		       const struct mm_reporter_party *p)
{
	const char *last;
	size_t n;

	if (!p->id || (unsigned)p->kind >= MM_X1367_ID_COUNT)
		return MM_EINVAL;
	n = strnlen(p->id, RP_STR_MAX + 1);
	if (n > RP_STR_MAX || mm_utf8_check(p->id, n) != n)
		return MM_EINVAL;
	last = r->scratch->party[slot].id[p->kind];
	if (last && strcmp(last, p->id) == 0)
		return 0;
	return mm_x1367_set_id(r->scratch, slot, p->kind, p->id) < 0 ? MM_EINVAL : 0;
}

static int put_str(unsigned char *b, size_t *off, const char *s)
{
	size_t n = strlen(s);

	b[(*off)++] = (unsigned char)n;
	memcpy(b + *off, s, n + 1);
	*off += n + 1;
	return 0;
}

/* Checks what every call takes (protocol, parties, key, raw, time) and
 * writes the message's identity into ident (RP_IDENT_MAX bytes). */
static int check_msg(struct mm_reporter *r, const struct mm_reporter_msg *m, unsigned char *ident,
		     size_t *ident_len, int64_t *now)
{
	struct timespec t;
	size_t n, off = 0;
	int rc;

	if (!m || !m->protocol || !m->protocol[0])
		return MM_EINVAL;
	n = strnlen(m->protocol, RP_STR_MAX + 1);
	if (n > RP_STR_MAX || mm_utf8_check(m->protocol, n) != n)
		return MM_EINVAL;
	if ((rc = check_party(r, MM_X1367_REQUESTER, &m->requester)) < 0 ||
	    (rc = check_party(r, MM_X1367_RESPONDER, &m->responder)) < 0)
		return rc;
	if (m->key_len > MM_REPORTER_KEY_MAX || (m->key_len && !m->key) ||
	    (m->raw_len && !m->raw))
		return MM_EINVAL;
	if (m->time.tv_sec == 0 && m->time.tv_nsec == 0) {
		clock_gettime(CLOCK_REALTIME, &t);
	} else {
		t = m->time;
		if (!ts_valid(&t))
			return MM_EINVAL;
	}
	*now = ts_ns(&t);
	ident[off++] = (unsigned char)m->requester.kind;
	ident[off++] = (unsigned char)m->responder.kind;
	put_str(ident, &off, m->protocol);
	put_str(ident, &off, m->requester.id);
	put_str(ident, &off, m->responder.id);
	ident[off++] = (unsigned char)m->key_len;
	if (m->key_len)
		memcpy(ident + off, m->key, m->key_len);
	off += m->key_len;
	*ident_len = off;
	return 0;
}

/* Points a node's strings into its own copy of the identity. */
static void node_strings(struct rp_node *n)
{
	size_t off = 2;

	n->protocol = (const char *)n->ident + off + 1;
	off += 1 + n->ident[off] + 1;
	n->req_id = (const char *)n->ident + off + 1;
	off += 1 + n->ident[off] + 1;
	n->resp_id = (const char *)n->ident + off + 1;
}

static enum mm_x1367_idkind node_kind(const struct rp_node *n, int responder)
{
	return (enum mm_x1367_idkind)n->ident[responder ? 1 : 0];
}

/* ---- the sink ---- */

static int spool_msg(struct mm_reporter *r, int severity, const struct timespec *time,
		     const char *msgid, const char *json, size_t len)
{
	struct mm_syslog_out so = {0};
	char pid[24];
	int rc;

	if (!r->o.spool)
		return 0;
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	so.pri = RP_FACILITY * 8 + severity;
	so.time = time;
	so.hostname = r->hostname;
	so.app_name = r->app_name;
	so.procid = pid;
	so.msgid = msgid;
	so.msg = json;
	so.msg_len = len;
	mm_buf_reset(&r->out);
	if ((rc = mm_syslog_encode(&so, &r->out)) < 0)
		return rc;
	if ((rc = mm_spool_append(r->o.spool, r->out.data, r->out.len)) < 0) {
		r->st.refused++;
		return rc;
	}
	r->st.spooled++;
	return 0;
}

/* Encodes a record built in rec and hands it to on_record and the spool. */
static int emit_record(struct mm_reporter *r, struct mm_x1367_record *rec, uint64_t *made)
{
	struct mm_x1367_diags d;
	char *json;
	int rc, sev;

	if ((json = mm_x1367_encode(rec, 0)) == NULL) {
		if (mm_x1367_validate(rec, &d) == 0)
			return MM_ENOMEM;
		r->st.invalid++;
		if (!r->invalid_logged && d.n > 0) {
			/* Once: a bad table or input would otherwise repeat it for
			 * every message; the counter tells how many followed. */
			log_warnx("reporter: record not made: %s: %s", d.v[0].attr, d.v[0].msg);
			r->invalid_logged = 1;
		}
		return 0;
	}
	/* Counted once the record exists, so that an invalid one is counted
	 * in invalid alone. */
	(*made)++;
	if (r->o.on_record)
		r->o.on_record(r->o.arg, rec, json, strlen(json));
	sev = rec->code >= 0x20 && rec->code <= 0x2F ? RP_SEV_WARNING : RP_SEV_NOTICE;
	rc = spool_msg(r, sev, &rec->time, "X1367", json, strlen(json));
	free(json);
	return rc;
}

/* What one record is made of. */
struct rp_rec {
	struct timespec time;
	const char *protocol;
	enum mm_x1367_idkind req_kind, resp_kind;
	const char *req_id, *resp_id;
	const void *req_raw, *resp_raw;
	size_t req_kept, req_len, resp_kept, resp_len;
	uint8_t code;
	const char *message; /* NULL: the standard one */
	const char *detail, *flow, *prop, *timeout, *silence;
	int not_seen;
	uint64_t *made;      /* the counter of this kind of record */
};

/* Builds the record of in, with the Description members in their
 * documented order, and emits it. */
static int make_record(struct mm_reporter *r, const struct rp_rec *in)
{
	struct mm_x1367_record *rec;
	char trunc[160] = "";
	size_t n = 0;
	int rc = 0;

	if ((rec = mm_x1367_new()) == NULL)
		return MM_ENOMEM;
	if (in->req_kept < in->req_len)
		n += (size_t)snprintf(trunc + n, sizeof trunc - n,
				      "Requester Transmitted Code: first %zu of %zu bytes",
				      in->req_kept, in->req_len);
	if (in->resp_kept < in->resp_len)
		snprintf(trunc + n, sizeof trunc - n,
			 "%sResponder Transmitted Code: first %zu of %zu bytes", n ? "; " : "",
			 in->resp_kept, in->resp_len);
	/* A set_* call that refuses its value leaves the record incomplete, and
	 * emit_record() then counts and logs it as invalid. */
	if (mm_x1367_set_time(rec, &in->time) == MM_ENOMEM ||
	    mm_x1367_set_id(rec, MM_X1367_REPORTER, r->o.reporter.kind, r->reporter_id) ==
		    MM_ENOMEM ||
	    mm_x1367_set_protocol(rec, in->protocol) == MM_ENOMEM ||
	    mm_x1367_set_id(rec, MM_X1367_REQUESTER, in->req_kind, in->req_id) == MM_ENOMEM ||
	    mm_x1367_set_transmitted(rec, MM_X1367_REQUESTER, in->req_raw, in->req_kept) ==
		    MM_ENOMEM ||
	    mm_x1367_set_id(rec, MM_X1367_RESPONDER, in->resp_kind, in->resp_id) == MM_ENOMEM ||
	    mm_x1367_set_transmitted(rec, MM_X1367_RESPONDER, in->resp_raw, in->resp_kept) ==
		    MM_ENOMEM ||
	    mm_x1367_set_code(rec, in->code, in->message) == MM_ENOMEM)
		goto nomem;
	if ((r->status && mm_x1367_set_description(rec, "Status", r->status) == MM_ENOMEM) ||
	    (in->detail && mm_x1367_set_description(rec, "Detail", in->detail) == MM_ENOMEM) ||
	    (in->flow && mm_x1367_set_description(rec, "Flow", in->flow) == MM_ENOMEM) ||
	    (in->prop && mm_x1367_set_description(rec, "Proprietary Code", in->prop) ==
				 MM_ENOMEM) ||
	    (in->timeout && mm_x1367_set_description(rec, "Timeout", in->timeout) == MM_ENOMEM) ||
	    (in->silence && mm_x1367_set_description(rec, "Silence", in->silence) == MM_ENOMEM) ||
	    (in->not_seen && mm_x1367_set_description(rec, "Request", "not seen") == MM_ENOMEM) ||
	    (trunc[0] && mm_x1367_set_description(rec, "Truncated", trunc) == MM_ENOMEM))
		goto nomem;
	rc = emit_record(r, rec, in->made);
	mm_x1367_free(rec);
	return rc;
nomem:
	mm_x1367_free(rec);
	return MM_ENOMEM;
}

/*
 * Turns a response's status into a standard code: 0 with *code and
 * *message set, 1 when it makes no record (success, or a code in the No
 * Error range), or an error. prop gets the code as Description
 * "Proprietary Code" writes it.
 */
static int map_status(struct mm_reporter *r, const char *protocol, const char *vendor,
		      const struct mm_reporter_status *st, uint8_t *code, const char **message,
		      char *prop, size_t prop_size, const char **prop_out)
{
	struct mm_errmap_result res;
	const struct mm_x1367_range *range;
	int rc = MM_ENOTFOUND;

	*prop_out = st->text;
	switch (st->outcome) {
	case MM_REPORTER_OK:
		return 1;
	case MM_REPORTER_ERR_NUM:
		if (!st->text) {
			snprintf(prop, prop_size, "%llu", (unsigned long long)st->num);
			*prop_out = prop;
		}
		if (r->o.map)
			rc = mm_errmap_lookup_num(r->o.map, protocol, vendor, st->num, &res);
		break;
	case MM_REPORTER_ERR_NAME:
		if (!st->name)
			return MM_EINVAL;
		if (!st->text)
			*prop_out = st->name;
		if (r->o.map)
			rc = mm_errmap_lookup_name(r->o.map, protocol, vendor, st->name, &res);
		break;
	case MM_REPORTER_ERR_STD:
		*code = st->std;
		rc = 1;
		break;
	default:
		return MM_EINVAL;
	}
	if (rc == 1) {
		/* the standard code given */
		*message = NULL;
	} else if (rc == MM_ENOTFOUND || (rc == 0 && res.match == MM_ERRMAP_FALLBACK)) {
		r->st.unmapped++;
		*code = 0xFF;
		*message = NULL;
	} else if (rc < 0) {
		return rc;
	} else {
		*code = res.code;
		*message = res.message;
	}
	if (*code <= 0x0F) {
		r->st.no_error++;
		return 1;
	}
	/* An assigned code takes its standard message; any other needs the
	 * sender's own: the table's text, else the name of its range. */
	if (mm_x1367_code_info(*code))
		*message = NULL;
	else if (!*message || !**message) {
		range = mm_x1367_range_of(*code);
		*message = range->name;
	}
	return 0;
}

/* ---- requests ---- */

static void req_free(struct rp_req *q)
{
	if (!q)
		return;
	free(q->vendor);
	free(q->detail);
	free(q->flow);
	free(q);
}

static void req_drop(struct mm_reporter *r, struct rp_req *q)
{
	table_del(&r->reqs, &q->node);
	heap_del(&r->req_heap, &q->node);
	req_free(q);
}

static struct rp_req *req_find(struct mm_reporter *r, const unsigned char *ident, size_t len,
			       uint64_t *hash)
{
	*hash = siphash(r->sipkey, ident, len);
	return (struct rp_req *)table_find(&r->reqs, *hash, ident, len);
}

/* The raw bytes kept of a message of len bytes. */
static size_t raw_keep(const struct mm_reporter *r, size_t len)
{
	return len < r->o.max_raw ? len : r->o.max_raw;
}

int mm_reporter_request(struct mm_reporter *r, const struct mm_reporter_msg *m,
			unsigned timeout_ms)
{
	unsigned char ident[RP_IDENT_MAX];
	struct rp_req *q = NULL, *old;
	size_t ident_len, kept;
	uint64_t hash;
	int64_t now;
	int rc;

	if (!r)
		return MM_EINVAL;
	if ((rc = check_msg(r, m, ident, &ident_len, &now)) < 0)
		return rc;
	if (timeout_ms != MM_REPORTER_ANSWER_OPTIONAL && timeout_ms > RP_MAX_MS)
		return MM_EINVAL;
	kept = raw_keep(r, m->raw_len);
	if ((q = calloc(1, sizeof *q + ident_len + kept)) == NULL)
		return MM_ENOMEM;
	q->node.ident = (unsigned char *)(q + 1);
	q->node.ident_len = ident_len;
	memcpy(q->node.ident, ident, ident_len);
	node_strings(&q->node);
	q->raw = q->node.ident + ident_len;
	if (kept)
		memcpy(q->raw, m->raw, kept);
	q->raw_kept = kept;
	q->raw_len = m->raw_len;
	q->time = ns_ts(now);
	q->optional = timeout_ms == MM_REPORTER_ANSWER_OPTIONAL;
	q->timeout_ms = timeout_ms == 0 || q->optional ? r->o.timeout_ms : timeout_ms;
	q->node.deadline = now + (int64_t)q->timeout_ms * NS_PER_MS;
	q->node.heap = NO_HEAP;
	if ((m->vendor && m->vendor[0] && !(q->vendor = dup_text(m->vendor))) ||
	    (m->detail && !(q->detail = dup_text(m->detail))) ||
	    (m->flow && !(q->flow = dup_text(m->flow)))) {
		rc = MM_ENOMEM;
		goto fail;
	}
	if ((old = req_find(r, ident, ident_len, &hash)) != NULL) {
		req_drop(r, old);
		r->st.replaced++;
	} else if (r->reqs.n >= r->o.max_pending) {
		/* Full: the request nearest its deadline would be the next to
		 * go anyway. */
		req_drop(r, (struct rp_req *)r->req_heap.v[0]);
		r->st.evicted++;
	}
	q->node.hash = hash;
	if ((rc = heap_add(&r->req_heap, &q->node)) < 0)
		goto fail;
	table_add(&r->reqs, &q->node);
	r->st.requests++;
	return 0;
fail:
	req_free(q);
	return rc;
}

/* Makes the record of an error response or report. q is the request paired
 * (NULL: none); req_raw/req_len are used when q is NULL. */
static int error_record(struct mm_reporter *r, const struct mm_reporter_msg *m, int64_t now,
			const struct rp_req *q, const void *req_raw, size_t req_len,
			const void *resp_raw, size_t resp_len,
			const struct mm_reporter_status *st, int not_seen)
{
	struct rp_rec in = {0};
	char prop[24], detail[RP_TEXT_MAX + 1], flow[RP_TEXT_MAX + 1];
	const char *vendor = m->vendor && m->vendor[0] ? m->vendor : q ? q->vendor : NULL;
	size_t n;
	int rc;

	rc = map_status(r, m->protocol, vendor, st, &in.code, &in.message, prop, sizeof prop,
			&in.prop);
	if (rc != 0)
		return rc > 0 ? 0 : rc;
	in.time = ns_ts(now);
	in.protocol = m->protocol;
	in.req_kind = m->requester.kind;
	in.req_id = m->requester.id;
	in.resp_kind = m->responder.kind;
	in.resp_id = m->responder.id;
	if (q) {
		in.req_raw = q->raw;
		in.req_kept = q->raw_kept;
		in.req_len = q->raw_len;
	} else {
		in.req_raw = req_raw;
		in.req_len = req_len;
		in.req_kept = raw_keep(r, req_len);
	}
	in.resp_raw = resp_raw;
	in.resp_len = resp_len;
	in.resp_kept = raw_keep(r, resp_len);
	if (m->detail) {
		n = text_prefix(m->detail, RP_TEXT_MAX);
		memcpy(detail, m->detail, n);
		detail[n] = '\0';
		in.detail = detail;
	} else if (q) {
		in.detail = q->detail;
	}
	if (m->flow) {
		n = text_prefix(m->flow, RP_TEXT_MAX);
		memcpy(flow, m->flow, n);
		flow[n] = '\0';
		in.flow = flow;
	} else if (q) {
		in.flow = q->flow;
	}
	in.not_seen = not_seen;
	in.made = &r->st.error_records;
	return make_record(r, &in);
}

static int check_status(const struct mm_reporter_status *st)
{
	if (!st || (unsigned)st->outcome > MM_REPORTER_ERR_STD)
		return MM_EINVAL;
	if (st->outcome == MM_REPORTER_ERR_NAME && !st->name)
		return MM_EINVAL;
	if (st->text && mm_utf8_check(st->text, strlen(st->text)) != strlen(st->text))
		return MM_EINVAL;
	return 0;
}

int mm_reporter_response(struct mm_reporter *r, const struct mm_reporter_msg *m,
			 const struct mm_reporter_status *st)
{
	unsigned char ident[RP_IDENT_MAX];
	struct rp_req *q;
	size_t ident_len;
	uint64_t hash;
	int64_t now;
	int rc;

	if (!r)
		return MM_EINVAL;
	if ((rc = check_msg(r, m, ident, &ident_len, &now)) < 0 || (rc = check_status(st)) < 0)
		return rc;
	r->st.responses++;
	if ((q = req_find(r, ident, ident_len, &hash)) == NULL) {
		r->st.unpaired++;
		if (st->outcome == MM_REPORTER_OK)
			return 0;
		return error_record(r, m, now, NULL, "", 0, m->raw, m->raw_len, st, 1);
	}
	table_del(&r->reqs, &q->node);
	heap_del(&r->req_heap, &q->node);
	r->st.paired++;
	rc = st->outcome == MM_REPORTER_OK
		     ? 0
		     : error_record(r, m, now, q, NULL, 0, m->raw, m->raw_len, st, 0);
	req_free(q);
	return rc;
}

int mm_reporter_report(struct mm_reporter *r, const struct mm_reporter_msg *m, const void *resp,
		       size_t resp_len, const struct mm_reporter_status *st)
{
	unsigned char ident[RP_IDENT_MAX];
	size_t ident_len;
	int64_t now;
	int rc;

	if (!r || (resp_len && !resp))
		return MM_EINVAL;
	if ((rc = check_msg(r, m, ident, &ident_len, &now)) < 0 || (rc = check_status(st)) < 0)
		return rc;
	if (st->outcome == MM_REPORTER_OK)
		return 0;
	return error_record(r, m, now, NULL, m->raw, m->raw_len, resp, resp_len, st, 0);
}

/* The No Response record of a request whose timeout ran out. */
static int timeout_record(struct mm_reporter *r, const struct rp_req *q)
{
	struct rp_rec in = {0};
	char timeout[64];

	snprintf(timeout, sizeof timeout, "no response within %u ms", q->timeout_ms);
	in.time = ns_ts(q->node.deadline);
	in.protocol = q->node.protocol;
	in.req_kind = node_kind(&q->node, 0);
	in.req_id = q->node.req_id;
	in.resp_kind = node_kind(&q->node, 1);
	in.resp_id = q->node.resp_id;
	in.req_raw = q->raw;
	in.req_kept = q->raw_kept;
	in.req_len = q->raw_len;
	in.resp_raw = "";
	in.code = 0x10;
	in.detail = q->detail;
	in.flow = q->flow;
	in.timeout = timeout;
	in.made = &r->st.timeout_records;
	return make_record(r, &in);
}

/* ---- periodic streams ---- */

static void lru_unlink(struct mm_reporter *r, struct rp_stream *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		r->lru_head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		r->lru_tail = s->prev;
	s->prev = s->next = NULL;
}

static void lru_append(struct mm_reporter *r, struct rp_stream *s)
{
	s->prev = r->lru_tail;
	s->next = NULL;
	if (r->lru_tail)
		r->lru_tail->next = s;
	else
		r->lru_head = s;
	r->lru_tail = s;
}

static void stream_free(struct rp_stream *s)
{
	if (!s)
		return;
	free(s->detail.s);
	free(s->flow.s);
	free(s);
}

static void stream_drop(struct mm_reporter *r, struct rp_stream *s)
{
	table_del(&r->streams, &s->node);
	heap_del(&r->stream_heap, &s->node);
	lru_unlink(r, s);
	stream_free(s);
}

/* The period of s in ms: given, or learnt (0 while still learning). */
static uint64_t stream_period(const struct mm_reporter *r, const struct rp_stream *s)
{
	int64_t max = 0;
	unsigned i;

	if (s->period_ms)
		return s->period_ms;
	if (s->nint < r->o.periodic_samples)
		return 0;
	for (i = 0; i < r->o.periodic_samples; i++)
		if (s->ring[i] > max)
			max = s->ring[i];
	/* Bounded like a given period, so that a gap of years in a crafted
	 * capture cannot overflow the deadline. */
	if ((uint64_t)(max / NS_PER_MS) > RP_MAX_MS)
		return RP_MAX_MS;
	return (uint64_t)(max / NS_PER_MS);
}

/* The silence allowed after a message of a stream whose period is period_ms. */
static uint64_t stream_allowed(const struct mm_reporter *r, uint64_t period_ms)
{
	uint64_t a = period_ms * r->o.periodic_factor;

	return a > r->o.periodic_min_ms ? a : r->o.periodic_min_ms;
}

/* Sets s's deadline from its last message, in or out of the heap. */
static int stream_arm(struct mm_reporter *r, struct rp_stream *s)
{
	uint64_t period = stream_period(r, s);

	if (period == 0)
		return 0;
	s->node.deadline = s->last + (int64_t)stream_allowed(r, period) * NS_PER_MS;
	if (s->node.heap != NO_HEAP) {
		heap_fix(&r->stream_heap, &s->node);
		return 0;
	}
	return heap_add(&r->stream_heap, &s->node);
}

int mm_reporter_periodic(struct mm_reporter *r, const struct mm_reporter_msg *m,
			 unsigned period_ms)
{
	unsigned char ident[RP_IDENT_MAX];
	struct rp_stream *s;
	size_t ident_len;
	uint64_t hash;
	int64_t now;
	int rc;

	if (!r)
		return MM_EINVAL;
	if ((rc = check_msg(r, m, ident, &ident_len, &now)) < 0)
		return rc;
	if (period_ms > RP_MAX_MS)
		return MM_EINVAL;
	hash = siphash(r->sipkey, ident, ident_len);
	s = (struct rp_stream *)table_find(&r->streams, hash, ident, ident_len);
	if (!s) {
		if (r->streams.n >= r->o.max_periodic) {
			stream_drop(r, r->lru_head);
			r->st.periodic_evicted++;
		}
		s = calloc(1, sizeof *s + r->o.periodic_samples * sizeof s->ring[0] + ident_len);
		if (!s)
			return MM_ENOMEM;
		s->node.ident = (unsigned char *)(s->ring + r->o.periodic_samples);
		s->node.ident_len = ident_len;
		memcpy(s->node.ident, ident, ident_len);
		node_strings(&s->node);
		s->node.hash = hash;
		s->node.heap = NO_HEAP;
		table_add(&r->streams, &s->node);
	} else {
		lru_unlink(r, s);
	}
	lru_append(r, s);
	if ((rc = text_set(&s->detail, m->detail)) < 0 || (rc = text_set(&s->flow, m->flow)) < 0)
		goto fail;
	if (s->heard) {
		/* A message out of order counts as no time at all. */
		int64_t gap = now > s->last ? now - s->last : 0;
		s->ring[s->pos] = gap;
		s->pos = (s->pos + 1) % r->o.periodic_samples;
		if (s->nint < r->o.periodic_samples)
			s->nint++;
		if (now > s->last)
			s->last = now;
	} else {
		s->heard = 1;
		s->last = now;
	}
	s->period_ms = period_ms;
	if ((rc = stream_arm(r, s)) < 0)
		goto fail;
	return 0;
fail:
	stream_drop(r, s);
	return rc;
}

/* The No Response record of a stream silent past its allowed time; the
 * stream then waits for its next message and learns its period anew. */
static int silence_record(struct mm_reporter *r, struct rp_stream *s)
{
	struct rp_rec in = {0};
	char silence[128], quiet[32], per[32];
	uint64_t period = stream_period(r, s);
	unsigned nint = s->nint;

	fmt_seconds(quiet, sizeof quiet, stream_allowed(r, period));
	fmt_seconds(per, sizeof per, period);
	if (s->period_ms)
		snprintf(silence, sizeof silence, "no message for %s s; period %s s given", quiet,
			 per);
	else
		snprintf(silence, sizeof silence,
			 "no message for %s s; period %s s learnt from %u intervals", quiet, per,
			 nint);
	in.time = ns_ts(s->node.deadline);
	in.protocol = s->node.protocol;
	in.req_kind = node_kind(&s->node, 0);
	in.req_id = s->node.req_id;
	in.resp_kind = node_kind(&s->node, 1);
	in.resp_id = s->node.resp_id;
	in.req_raw = in.resp_raw = "";
	in.code = 0x10;
	in.detail = text_get(&s->detail);
	in.flow = text_get(&s->flow);
	in.silence = silence;
	s->heard = 0;
	s->nint = 0;
	s->pos = 0;
	in.made = &r->st.silence_records;
	return make_record(r, &in);
}

/* ---- time ---- */

int mm_reporter_tick(struct mm_reporter *r, const struct timespec *now)
{
	struct timespec t;
	int64_t ns;
	int rc, first = 0;

	if (!r)
		return MM_EINVAL;
	if (now) {
		t = *now;
	} else {
		clock_gettime(CLOCK_REALTIME, &t);
	}
	/* The same range as a message's time (a pcap's stamps are the caller's). */
	if (!ts_valid(&t))
		return MM_EINVAL;
	ns = ts_ns(&t);
	while (r->req_heap.n > 0 && r->req_heap.v[0]->deadline <= ns) {
		struct rp_req *q = (struct rp_req *)r->req_heap.v[0];

		table_del(&r->reqs, &q->node);
		heap_del(&r->req_heap, &q->node);
		rc = q->optional ? 0 : timeout_record(r, q);
		req_free(q);
		if (rc < 0 && first == 0)
			first = rc;
	}
	while (r->stream_heap.n > 0 && r->stream_heap.v[0]->deadline <= ns) {
		struct rp_stream *s = (struct rp_stream *)r->stream_heap.v[0];

		heap_del(&r->stream_heap, &s->node);
		rc = silence_record(r, s);
		if (rc < 0 && first == 0)
			first = rc;
	}
	return first;
}

/* ---- events ---- */

/* An RFC 5424 MSGID: 1 to 32 printable US-ASCII characters, no space. */
static int msgid_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > RP_MSGID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
			return 0;
	return 1;
}

int mm_reporter_event(struct mm_reporter *r, const char *json, size_t len)
{
	struct mm_event_peek k;
	struct timespec now;
	char *copy = NULL;
	int rc;

	if (!r || !json || len == 0)
		return MM_EINVAL;
	if ((rc = mm_event_peek(json, len, &k)) < 0)
		return rc;
	if (!k.json || !k.event_string || !msgid_valid(k.name, k.name_len))
		return MM_EINVAL;
	if (mm_utf8_check(json, len) != len)
		return MM_EINVAL;
	/* on_record is promised a NUL-terminated text. */
	if ((copy = malloc(len + 1)) == NULL)
		return MM_ENOMEM;
	memcpy(copy, json, len);
	copy[len] = '\0';
	r->st.events++;
	if (r->o.on_record)
		r->o.on_record(r->o.arg, NULL, copy, len);
	clock_gettime(CLOCK_REALTIME, &now);
	rc = spool_msg(r, RP_SEV_INFO, &now, k.name, copy, len);
	free(copy);
	return rc;
}

/* ---- life ---- */

void mm_reporter_opts_default(struct mm_reporter_opts *o)
{
	memset(o, 0, sizeof *o);
	o->max_pending = 65536;
	o->timeout_ms = 5000;
	o->max_raw = 1024;
	o->max_periodic = 4096;
	o->periodic_samples = 3;
	o->periodic_factor = 3;
	o->periodic_min_ms = 1000;
	o->app_name = "mamori-gw";
}

/* Copies a string option that must be valid UTF-8 (NULL stays NULL). */
static int dup_opt(const char *s, char **out)
{
	size_t n;

	*out = NULL;
	if (!s)
		return 0;
	n = strlen(s);
	if (mm_utf8_check(s, n) != n)
		return MM_EINVAL;
	return (*out = strdup(s)) ? 0 : MM_ENOMEM;
}

/* Takes 0 for the default, refuses a value past max. */
static int opt_num(unsigned *v, unsigned def, unsigned long long max)
{
	if (*v == 0)
		*v = def;
	return *v > max ? MM_EINVAL : 0;
}

/* Encodes a trial message so that a hostname or APP-NAME RFC 5424 refuses
 * is found now, not at the first record. */
static int check_header(struct mm_reporter *r)
{
	struct mm_syslog_out so = {0};
	struct timespec t = {0, 0};
	int rc;

	so.pri = RP_FACILITY * 8 + RP_SEV_NOTICE;
	so.time = &t;
	so.hostname = r->hostname;
	so.app_name = r->app_name;
	so.procid = "1";
	so.msgid = "X1367";
	rc = mm_syslog_encode(&so, &r->out);
	mm_buf_reset(&r->out);
	return rc == MM_ETOOBIG ? MM_EINVAL : rc;
}

int mm_reporter_new(const struct mm_reporter_opts *o, struct mm_reporter **out)
{
	struct mm_reporter *r = NULL;
	char host[256];
	int rc = MM_EINVAL;

	if (!o || !out)
		return MM_EINVAL;
	*out = NULL;
	if ((r = calloc(1, sizeof *r)) == NULL)
		return MM_ENOMEM;
	r->o = *o;
	mm_buf_init(&r->out, MM_X1367_MAX_TEXT + 4096);
	if (opt_num(&r->o.max_pending, 65536, RP_MAX_TABLE) < 0 ||
	    opt_num(&r->o.timeout_ms, 5000, RP_MAX_MS) < 0 ||
	    opt_num(&r->o.max_raw, 1024, RP_MAX_RAW) < 0 ||
	    opt_num(&r->o.max_periodic, 4096, RP_MAX_TABLE) < 0 ||
	    opt_num(&r->o.periodic_samples, 3, RP_MAX_SAMPLES) < 0 ||
	    opt_num(&r->o.periodic_factor, 3, 1000) < 0 ||
	    opt_num(&r->o.periodic_min_ms, 1000, RP_MAX_MS) < 0)
		goto fail;
	rc = MM_ENOMEM;
	if ((r->scratch = mm_x1367_new()) == NULL)
		goto fail;
	rc = MM_EINVAL;
	if (!o->reporter.id || (unsigned)o->reporter.kind >= MM_X1367_ID_COUNT ||
	    mm_x1367_set_id(r->scratch, MM_X1367_REPORTER, o->reporter.kind, o->reporter.id) < 0)
		goto fail;
	if (!o->hostname) {
		if (gethostname(host, sizeof host) < 0)
			goto fail;
		host[sizeof host - 1] = '\0';
	}
	if ((rc = dup_opt(o->reporter.id, &r->reporter_id)) < 0 ||
	    (rc = dup_opt(o->status, &r->status)) < 0 ||
	    (rc = dup_opt(o->hostname ? o->hostname : host, &r->hostname)) < 0 ||
	    (rc = dup_opt(o->app_name ? o->app_name : "mamori-gw", &r->app_name)) < 0 ||
	    (rc = check_header(r)) < 0)
		goto fail;
	r->o.reporter.id = r->reporter_id;
	r->o.status = r->status;
	r->o.hostname = r->hostname;
	r->o.app_name = r->app_name;
	rc = MM_ENOMEM;
	if (table_init(&r->reqs, r->o.max_pending) < 0 ||
	    table_init(&r->streams, r->o.max_periodic) < 0)
		goto fail;
	r->req_heap.max = r->o.max_pending;
	r->stream_heap.max = r->o.max_periodic;
	/* A key nobody outside knows keeps the chains short whatever the keys
	 * on the wire; the clock is a weak stand-in if getrandom() fails. */
	if (getrandom(r->sipkey, sizeof r->sipkey, GRND_NONBLOCK) != (ssize_t)sizeof r->sipkey) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		memcpy(r->sipkey, &t, sizeof t < sizeof r->sipkey ? sizeof t : sizeof r->sipkey);
	}
	*out = r;
	return 0;
fail:
	mm_reporter_free(r);
	return rc;
}

void mm_reporter_free(struct mm_reporter *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->req_heap.n; i++)
		req_free((struct rp_req *)r->req_heap.v[i]);
	while (r->lru_head)
		stream_drop(r, r->lru_head);
	free(r->req_heap.v);
	free(r->stream_heap.v);
	free(r->reqs.b);
	free(r->streams.b);
	mm_x1367_free(r->scratch);
	mm_buf_free(&r->out);
	free(r->reporter_id);
	free(r->status);
	free(r->hostname);
	free(r->app_name);
	free(r);
}

int mm_reporter_party_parse(const char *s, struct mm_reporter_party *p)
{
	static const struct {
		const char *prefix;
		enum mm_x1367_idkind kind;
	} kinds[] = {
		{"ip:", MM_X1367_ID_IP},
		{"name:", MM_X1367_ID_UNIQUE_NAME},
		{"id:", MM_X1367_ID_UNIQUE_ID},
		{"mac:", MM_X1367_ID_MAC},
	};
	size_t i;

	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t n = strlen(kinds[i].prefix);
		if (strncmp(s, kinds[i].prefix, n) == 0 && s[n]) {
			struct mm_x1367_record *r = mm_x1367_new();
			int rc;

			if (!r)
				return MM_ENOMEM;
			/* The record builder knows what X.1367 accepts. */
			rc = mm_x1367_set_id(r, MM_X1367_REPORTER, kinds[i].kind, s + n);
			mm_x1367_free(r);
			if (rc < 0)
				return MM_EINVAL;
			p->kind = kinds[i].kind;
			p->id = s + n;
			return 0;
		}
	}
	return MM_EINVAL;
}

void mm_reporter_stats(const struct mm_reporter *r, struct mm_reporter_stats *st)
{
	*st = r->st;
	st->pending = r->reqs.n;
	st->periodic = r->streams.n;
}
