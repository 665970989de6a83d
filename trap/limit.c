/*
 * Per-address bookkeeping of mamori-trap: a table of at most cap addresses
 * (hash chains for lookup, a list in order of use for eviction, all in one
 * array of entries indexed by 32-bit numbers), and the connection limits
 * built on it: sessions open at once in all, sessions open at once per
 * address, and a token bucket per address for the connection rate.
 *
 * The table never grows past cap: a flood from many addresses evicts the
 * addresses heard from least recently (preferring those with no session
 * open, whose forgetting costs nothing but a fresh bucket).
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"

#include "trap.h"

#define NIL UINT32_MAX
/* How many of the least recently used entries eviction looks at for one
 * with no session open. */
#define EVICT_LOOK 8

struct entry {
	struct trap_addr a;
	struct trap_addr_val v;
	uint32_t hnext;          /* next in the hash chain */
	uint32_t prev, next;     /* order of use: head most recent */
};

struct trap_addrtab {
	uint32_t cap, n, nbuckets;
	uint32_t head, tail;
	uint32_t free_list;      /* through hnext */
	uint64_t evicted;
	uint32_t *buckets;
	struct entry *e;
};

int trap_addr_from(const struct sockaddr *sa, struct trap_addr *out)
{
	memset(out, 0, sizeof *out);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		out->b[10] = 0xff;
		out->b[11] = 0xff;
		memcpy(out->b + 12, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		memcpy(out->b, &s6->sin6_addr, 16);
		return 0;
	}
	return MM_EINVAL;
}

/* FNV-1a: the addresses are the attacker's, but a chain is only as long as
 * the addresses that share a bucket, and the table is bounded anyway. The
 * seed makes the buckets differ between runs. */
static uint32_t hash_addr(const struct trap_addr *a, uint32_t seed)
{
	uint32_t h = 2166136261u ^ seed;
	size_t i;

	for (i = 0; i < sizeof a->b; i++) {
		h ^= a->b[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t g_seed;

int trap_addrtab_new(uint32_t cap, struct trap_addrtab **out)
{
	struct trap_addrtab *t;
	uint32_t i, nb = 16;

	*out = NULL;
	if (cap == 0 || cap > (1u << 28))
		return MM_EINVAL;
	while (nb < cap)
		nb <<= 1;
	if (!(t = calloc(1, sizeof *t)))
		return MM_ENOMEM;
	t->cap = cap;
	t->nbuckets = nb;
	t->buckets = malloc((size_t)nb * sizeof *t->buckets);
	t->e = malloc((size_t)cap * sizeof *t->e);
	if (!t->buckets || !t->e) {
		trap_addrtab_free(t);
		return MM_ENOMEM;
	}
	for (i = 0; i < nb; i++)
		t->buckets[i] = NIL;
	for (i = 0; i < cap; i++)
		t->e[i].hnext = i + 1 < cap ? i + 1 : NIL;
	t->free_list = 0;
	t->head = t->tail = NIL;
	if (!g_seed)
		g_seed = (uint32_t)(uintptr_t)t ^ 0x9e3779b9u;
	*out = t;
	return 0;
}

void trap_addrtab_free(struct trap_addrtab *t)
{
	if (!t)
		return;
	free(t->buckets);
	free(t->e);
	free(t);
}

static void lru_unlink(struct trap_addrtab *t, uint32_t i)
{
	struct entry *e = &t->e[i];

	if (e->prev != NIL)
		t->e[e->prev].next = e->next;
	else
		t->head = e->next;
	if (e->next != NIL)
		t->e[e->next].prev = e->prev;
	else
		t->tail = e->prev;
}

static void lru_push(struct trap_addrtab *t, uint32_t i)
{
	struct entry *e = &t->e[i];

	e->prev = NIL;
	e->next = t->head;
	if (t->head != NIL)
		t->e[t->head].prev = i;
	t->head = i;
	if (t->tail == NIL)
		t->tail = i;
}

static uint32_t bucket_of(const struct trap_addrtab *t, const struct trap_addr *a)
{
	return hash_addr(a, g_seed) & (t->nbuckets - 1);
}

static void remove_entry(struct trap_addrtab *t, uint32_t i)
{
	uint32_t *pp = &t->buckets[bucket_of(t, &t->e[i].a)];

	while (*pp != NIL && *pp != i)
		pp = &t->e[*pp].hnext;
	if (*pp == i)
		*pp = t->e[i].hnext;
	lru_unlink(t, i);
	t->e[i].hnext = t->free_list;
	t->free_list = i;
	t->n--;
}

/* Evicts one entry: among the EVICT_LOOK least recently used, the oldest
 * with no session open, else the oldest. */
static void evict(struct trap_addrtab *t)
{
	uint32_t i = t->tail, k;

	for (k = 0; i != NIL && k < EVICT_LOOK; k++, i = t->e[i].prev)
		if (t->e[i].v.active == 0)
			break;
	if (i == NIL || k == EVICT_LOOK)
		i = t->tail;
	remove_entry(t, i);
	t->evicted++;
}

struct trap_addr_val *trap_addrtab_get(struct trap_addrtab *t, const struct trap_addr *a,
				       int create)
{
	uint32_t b = bucket_of(t, a), i;

	for (i = t->buckets[b]; i != NIL; i = t->e[i].hnext)
		if (memcmp(&t->e[i].a, a, sizeof *a) == 0) {
			lru_unlink(t, i);
			lru_push(t, i);
			return &t->e[i].v;
		}
	if (!create)
		return NULL;
	if (t->n == t->cap)
		evict(t);
	i = t->free_list;
	t->free_list = t->e[i].hnext;
	memset(&t->e[i], 0, sizeof t->e[i]);
	t->e[i].a = *a;
	t->e[i].hnext = t->buckets[b];
	t->buckets[b] = i;
	lru_push(t, i);
	t->n++;
	return &t->e[i].v;
}

uint32_t trap_addrtab_count(const struct trap_addrtab *t)
{
	return t->n;
}

uint64_t trap_addrtab_evicted(const struct trap_addrtab *t)
{
	return t->evicted;
}

/* ---- the limits ---- */

struct trap_limits {
	struct trap_limits_opts o;
	struct trap_addrtab *tab;
	uint32_t active;
	uint64_t admitted, refused_sessions, refused_address, refused_rate;
};

int trap_limits_new(const struct trap_limits_opts *o, struct trap_limits **out)
{
	struct trap_limits *l;
	int rc;

	*out = NULL;
	if (o->max_sessions == 0 || o->max_addresses == 0)
		return MM_EINVAL;
	if (!(l = calloc(1, sizeof *l)))
		return MM_ENOMEM;
	l->o = *o;
	if ((rc = trap_addrtab_new(o->max_addresses, &l->tab)) < 0) {
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void trap_limits_free(struct trap_limits *l)
{
	if (!l)
		return;
	trap_addrtab_free(l->tab);
	free(l);
}

/* Tokens are thousandths of a connection; the bucket holds a minute's
 * worth and refills rate per minute. */
static int take_token(struct trap_limits *l, struct trap_addr_val *v, int fresh, uint64_t now)
{
	uint64_t depth = (uint64_t)l->o.rate_per_minute * 1000;

	if (l->o.rate_per_minute == 0)
		return 1;
	if (fresh) {
		v->tokens = depth;
		v->refill_ms = now;
	} else if (now > v->refill_ms) {
		/* A minute refills the bucket whole; longer gaps cannot overflow. */
		uint64_t gap = now - v->refill_ms > 60000 ? 60000 : now - v->refill_ms;
		uint64_t add = gap * l->o.rate_per_minute * 1000 / 60000;

		/* Until a whole thousandth has accrued the clock of the bucket
		 * stays, so that frequent calls at a low rate still refill it. */
		if (add > 0) {
			v->tokens = v->tokens + add > depth ? depth : v->tokens + add;
			v->refill_ms = now;
		}
	}
	if (v->tokens < 1000)
		return 0;
	v->tokens -= 1000;
	return 1;
}

enum trap_limit_verdict trap_limits_admit(struct trap_limits *l, const struct trap_addr *a,
					  uint64_t now_ms)
{
	struct trap_addr_val *v = trap_addrtab_get(l->tab, a, 0);
	int fresh = v == NULL;

	if (!v)
		v = trap_addrtab_get(l->tab, a, 1);
	if (!take_token(l, v, fresh, now_ms)) {
		l->refused_rate++;
		return TRAP_LIMIT_RATE;
	}
	if (l->active >= l->o.max_sessions) {
		l->refused_sessions++;
		return TRAP_LIMIT_SESSIONS;
	}
	if (l->o.per_address && v->active >= l->o.per_address) {
		l->refused_address++;
		return TRAP_LIMIT_ADDRESS;
	}
	v->active++;
	l->active++;
	l->admitted++;
	return TRAP_LIMIT_OK;
}

void trap_limits_release(struct trap_limits *l, const struct trap_addr *a)
{
	struct trap_addr_val *v = trap_addrtab_get(l->tab, a, 0);

	/* An address evicted while its sessions were open has no count left. */
	if (v && v->active > 0)
		v->active--;
	if (l->active > 0)
		l->active--;
}

void trap_limits_stats(const struct trap_limits *l, struct trap_limits_stats *st)
{
	st->admitted = l->admitted;
	st->refused_sessions = l->refused_sessions;
	st->refused_address = l->refused_address;
	st->refused_rate = l->refused_rate;
	st->evicted = trap_addrtab_evicted(l->tab);
	st->active = l->active;
	st->addresses = trap_addrtab_count(l->tab);
}

const char *trap_limit_name(enum trap_limit_verdict v)
{
	switch (v) {
	case TRAP_LIMIT_OK: return "ok";
	case TRAP_LIMIT_SESSIONS: return "max_sessions";
	case TRAP_LIMIT_ADDRESS: return "per_address";
	case TRAP_LIMIT_RATE: return "rate";
	}
	return "?";
}
