/*
 * Correlation of standard errors into incidents (X.1367 steps 3-4, I.4).
 *
 * A group (one requester, or one reporter) keeps the errors of the last
 * window_ms in a ring sorted by the records' own time, with running counts
 * of Security and Command errors and a small tally of the distinct
 * protocols (and, for reporter groups, of the distinct requesters). Those
 * running counts make each error O(1) on average: nothing is rescanned.
 *
 * Groups are found through a glibc tsearch tree keyed by (kind, key) and
 * kept in a list ordered by their last error's receive time, so that the
 * tick forgets idle groups from the front and a full table evicts the least
 * recently active one. Incidents that grew are written back at the tick
 * (a dirty list), not at every error, so that an error flood costs one link
 * per error and one update per second.
 */
#define _GNU_SOURCE /* tdestroy */
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <jansson.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/x1367.h"

#include "correlate.h"
#include "store.h"

enum gkind { G_REQUESTER = 0, G_REPORTER = 1 };
static const char *const gkind_name[2] = {"requester", "reporter"};

/* A tally of distinct names with how many remembered errors hold each. */
#define TALLY_MAX 16
#define PROTO_MAX 64 /* protocol names are cut to this many bytes */
#define IDX_NONE 0xFE /* the error has no such field */
#define IDX_FULL 0xFF /* the tally was full: not tracked */

struct tally_ent {
	uint64_t hash;
	char *name;     /* protocols keep their first spelling; NULL for requesters */
	uint32_t count; /* remembered errors holding it */
	uint8_t in_inc; /* part of the open incident's protocol list */
};

struct tally {
	struct tally_ent *e;
	uint8_t n;    /* slots in use or reusable */
	uint8_t live; /* entries with count > 0 */
	uint32_t none, full; /* errors without the field, errors not tracked */
};

/* One remembered error. */
struct cerr {
	int64_t t;  /* the record's time */
	int64_t id; /* the stored event */
	uint8_t cat, proto, other;
};

struct group {
	TAILQ_ENTRY(group) lru;
	TAILQ_ENTRY(group) dirty;
	TAILQ_ENTRY(group) pend;
	enum gkind kind;
	char *key;
	struct cerr *ring;
	size_t cap, head, n;
	int64_t tmax;      /* the latest record time seen */
	int64_t last_recv; /* receive time of the latest error */
	int nsec, ncmd;    /* Security and Command errors in the ring */
	struct tally protos, others;
	int open, is_dirty;
	int pending;       /* opened in the writer's transaction not yet committed */
	json_t *note;      /* what to notify once that transaction commits */
	char *note_device;
	int64_t inc_from;  /* window start when the incident opened */
	struct soc_incident inc;
	char *reason, *protocols;
};

TAILQ_HEAD(group_list, group);

/* An incident opened in the current transaction whose group moved on before
 * the commit (it opened another incident, or was evicted): its notification
 * waits here, apart from the group. */
struct note {
	struct note *next;
	json_t *j;
	char *device;
	char *gk;
	char *reason;
	long long id;
};

struct correlate {
	struct correlate_opts o;
	struct store *st;
	soc_notify_fn notify;
	void *arg;
	void *tree;
	size_t ngroups;
	struct group_list lru, dirty, pend;
	struct note *notes, **notes_tail;
	uint64_t evicted;
};

/* Moves the group's waiting notification to c->notes and takes the group
 * off the pending list. */
static void stash_note(struct correlate *c, struct group *g)
{
	struct note *n;
	char gk[16 + CORRELATE_KEY_MAX];

	TAILQ_REMOVE(&c->pend, g, pend);
	g->pending = 0;
	if ((n = calloc(1, sizeof *n)) == NULL) {
		log_warnx("correlate: out of memory; incident %lld opened unreported",
			  (long long)g->inc.id);
		json_decref(g->note);
		g->note = NULL;
		return;
	}
	snprintf(gk, sizeof gk, "%s=%s", gkind_name[g->kind], g->key);
	n->j = g->note;
	n->device = g->note_device;
	n->gk = strdup(gk);
	n->reason = g->inc.reason ? strdup(g->inc.reason) : NULL;
	n->id = (long long)g->inc.id;
	g->note = NULL;
	g->note_device = NULL;
	*c->notes_tail = n;
	c->notes_tail = &n->next;
}

static void note_free(struct note *n)
{
	json_decref(n->j);
	free(n->device);
	free(n->gk);
	free(n->reason);
	free(n);
}

void correlate_opts_default(struct correlate_opts *o)
{
	memset(o, 0, sizeof *o);
	o->window_ms = 300000;
	o->min_protocols = 2;
	o->threshold = 5;
	o->by_reporter = 1;
	o->max_groups = 65536;
	o->max_errors = 1024;
}

/* ---- small helpers ---- */

/* The length of s cut to at most max bytes without splitting a UTF-8 character. */
static size_t cut_utf8(const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);

	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	return len;
}

/* FNV-1a, ASCII letters folded to lower case when fold is set. */
static uint64_t hash_name(const char *s, size_t len, int fold)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (fold && ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		h = (h ^ ch) * 1099511628211ULL;
	}
	return h;
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* ---- tallies ---- */

/* Counts one error holding name[0..len) (NULL: the error lacks the field).
 * Returns the entry's index, IDX_NONE or IDX_FULL. */
static uint8_t tally_add(struct tally *t, const char *name, size_t len, int keep_name,
			 int in_inc)
{
	struct tally_ent *e;
	uint64_t h;
	int freeslot = -1;

	if (name == NULL || len == 0) {
		t->none++;
		return IDX_NONE;
	}
	h = hash_name(name, len, keep_name);
	for (int i = 0; i < t->n; i++) {
		e = &t->e[i];
		if (e->count == 0 && !e->in_inc) {
			if (freeslot < 0)
				freeslot = i;
			continue;
		}
		if (e->hash != h)
			continue;
		if (e->name != NULL &&
		    (strncasecmp(e->name, name, len) != 0 || e->name[len] != '\0'))
			continue;
		if (e->count++ == 0)
			t->live++;
		e->in_inc |= (uint8_t)in_inc;
		return (uint8_t)i;
	}
	if (freeslot < 0) {
		if (t->n == TALLY_MAX)
			goto full;
		if (t->n % 4 == 0) {
			struct tally_ent *ne = realloc(t->e, (t->n + 4u) * sizeof *ne);

			if (ne == NULL)
				goto full;
			t->e = ne;
		}
		freeslot = t->n++;
		t->e[freeslot].name = NULL;
	}
	e = &t->e[freeslot];
	free(e->name);
	e->name = NULL;
	if (keep_name && (e->name = strndup(name, len)) == NULL)
		goto full;
	e->hash = h;
	e->count = 1;
	e->in_inc = (uint8_t)in_inc;
	t->live++;
	return (uint8_t)freeslot;
full:
	t->full++;
	return IDX_FULL;
}

static void tally_del(struct tally *t, uint8_t idx)
{
	if (idx == IDX_NONE) {
		t->none--;
	} else if (idx == IDX_FULL) {
		t->full--;
	} else if (idx < t->n && t->e[idx].count > 0) {
		if (--t->e[idx].count == 0)
			t->live--;
	}
}

static void tally_free(struct tally *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->e[i].name);
	free(t->e);
	memset(t, 0, sizeof *t);
}

static int name_cmp(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/* The protocols of the open incident, sorted, joined by sep. */
static char *tally_join(const struct tally *t, const char *sep, int *count)
{
	const char *names[TALLY_MAX];
	int n = 0;
	struct mm_buf b;

	for (int i = 0; i < t->n; i++)
		if (t->e[i].in_inc && t->e[i].name != NULL)
			names[n++] = t->e[i].name;
	qsort(names, (size_t)n, sizeof names[0], name_cmp);
	mm_buf_init(&b, TALLY_MAX * (PROTO_MAX + 4) + 1);
	for (int i = 0; i < n; i++)
		if ((i > 0 && mm_buf_puts(&b, sep) < 0) || mm_buf_puts(&b, names[i]) < 0)
			break;
	if (count != NULL)
		*count = n;
	if (b.data == NULL)
		return strdup("");
	return mm_buf_steal(&b);
}

/* ---- the ring of remembered errors ---- */

static struct cerr *ring_at(const struct group *g, size_t i)
{
	return &g->ring[(g->head + i) % g->cap];
}

static void ring_pop(struct group *g)
{
	struct cerr *e = ring_at(g, 0);

	if (e->cat == MM_X1367_CAT_SECURITY)
		g->nsec--;
	else if (e->cat == MM_X1367_CAT_COMMAND)
		g->ncmd--;
	tally_del(&g->protos, e->proto);
	if (g->kind == G_REPORTER)
		tally_del(&g->others, e->other);
	g->head = (g->head + 1) % g->cap;
	g->n--;
}

static void ring_clear(struct group *g)
{
	while (g->n > 0)
		ring_pop(g);
	g->head = 0;
}

/* Makes room for one more error: grows the ring up to max, else forgets
 * the oldest error. */
static int ring_room(struct correlate *c, struct group *g)
{
	if (g->n < g->cap)
		return 0;
	if (g->cap < c->o.max_errors) {
		size_t ncap = g->cap ? g->cap * 2 : 8;
		struct cerr *nr;

		if (ncap > c->o.max_errors)
			ncap = c->o.max_errors;
		if ((nr = malloc(ncap * sizeof *nr)) == NULL)
			return MM_ENOMEM;
		for (size_t i = 0; i < g->n; i++)
			nr[i] = *ring_at(g, i);
		free(g->ring);
		g->ring = nr;
		g->cap = ncap;
		g->head = 0;
		return 0;
	}
	ring_pop(g);
	c->evicted++;
	soc_count(SOC_C_LOGIC_EVICTED, 1);
	return 0;
}

/* Inserts e keeping the ring sorted by time (records arrive nearly in order,
 * so the walk back is short). */
static void ring_insert(struct group *g, const struct cerr *e)
{
	size_t i = g->n;

	while (i > 0 && ring_at(g, i - 1)->t > e->t) {
		*ring_at(g, i) = *ring_at(g, i - 1);
		i--;
	}
	*ring_at(g, i) = *e;
	g->n++;
}

/* ---- groups ---- */

static void group_free(struct group *g)
{
	json_decref(g->note);
	free(g->note_device);
	tally_free(&g->protos);
	tally_free(&g->others);
	free(g->ring);
	free(g->key);
	free(g->reason);
	free(g->protocols);
	free(g);
}

static void group_forget(struct correlate *c, struct group *g)
{
	tdelete(g, &c->tree, group_cmp);
	TAILQ_REMOVE(&c->lru, g, lru);
	if (g->is_dirty)
		TAILQ_REMOVE(&c->dirty, g, dirty);
	if (g->pending)
		stash_note(c, g);
	c->ngroups--;
	group_free(g);
}

/* Recomputes the incident's protocol list and reason from its counts. */
static int group_describe(struct correlate *c, struct group *g)
{
	char *protos, *plist;
	int np;
	struct mm_buf b;

	if ((protos = tally_join(&g->protos, ",", &np)) == NULL)
		return MM_ENOMEM;
	if ((plist = tally_join(&g->protos, ", ", NULL)) == NULL) {
		free(protos);
		return MM_ENOMEM;
	}
	mm_buf_init(&b, 2048);
	if (np >= c->o.min_protocols)
		mm_buf_printf(&b, "%d protocols: %s", np, plist);
	if (g->inc.nsecurity + g->inc.ncommand > c->o.threshold) {
		long long w = (long long)(c->o.window_ms / 1000);

		if (b.len > 0)
			mm_buf_puts(&b, "; ");
		if (g->inc.ncommand == 0)
			mm_buf_printf(&b, "%d Security errors in %lld s", g->inc.nsecurity, w);
		else if (g->inc.nsecurity == 0)
			mm_buf_printf(&b, "%d Command errors in %lld s", g->inc.ncommand, w);
		else
			mm_buf_printf(&b, "%d Security and %d Command errors in %lld s",
				      g->inc.nsecurity, g->inc.ncommand, w);
	}
	free(plist);
	free(g->protocols);
	free(g->reason);
	g->protocols = protos;
	g->reason = b.data != NULL ? mm_buf_steal(&b) : strdup("");
	g->inc.protocols = g->protocols;
	g->inc.reason = g->reason;
	return g->reason != NULL ? 0 : MM_ENOMEM;
}

static json_t *incident_json(const struct soc_incident *inc)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:s}", "id",
			 (json_int_t)inc->id, "opened_ms", (json_int_t)inc->opened_ms, "first_ms",
			 (json_int_t)inc->first_ms, "last_ms", (json_int_t)inc->last_ms,
			 "key_kind", inc->key_kind, "key", inc->key, "reason",
			 inc->reason ? inc->reason : "", "protocols",
			 inc->protocols ? inc->protocols : "", "nerrors", inc->nerrors,
			 "nsecurity", inc->nsecurity, "ncommand", inc->ncommand, "state",
			 inc->state == SOC_INC_OPEN ? "open" : "closed");
}

static void mark_dirty(struct correlate *c, struct group *g)
{
	if (!g->is_dirty) {
		g->is_dirty = 1;
		TAILQ_INSERT_TAIL(&c->dirty, g, dirty);
	}
}

static void clear_dirty(struct correlate *c, struct group *g)
{
	if (g->is_dirty) {
		g->is_dirty = 0;
		TAILQ_REMOVE(&c->dirty, g, dirty);
	}
}

/* Closes the group's incident: links the address's events of its whole
 * span, stores the final counts, and starts the group afresh. */
static int group_close(struct correlate *c, struct group *g)
{
	int rc;

	if (!g->open)
		return 0;
	g->open = 0;
	clear_dirty(c, g);
	g->inc.state = SOC_INC_CLOSED;
	if ((rc = group_describe(c, g)) < 0)
		goto fail;
	if ((rc = store_link_window(c->st, g->inc.id, g->key, g->inc_from, g->inc.last_ms,
				    NULL)) < 0)
		goto fail;
	if ((rc = store_update_incident(c->st, &g->inc)) < 0)
		goto fail;
	log_info("incident %lld closed: %s=%s, %d errors", (long long)g->inc.id,
		 gkind_name[g->kind], g->key, g->inc.nerrors);
	rc = 0;
fail:
	ring_clear(g);
	for (int i = 0; i < g->protos.n; i++)
		g->protos.e[i].in_inc = 0;
	return rc;
}

/* Opens an incident for the group's errors in the window. */
static int group_open(struct correlate *c, struct group *g, const struct soc_event *ev)
{
	struct soc_incident *inc = &g->inc;
	int rc;

	memset(inc, 0, sizeof *inc);
	inc->opened_ms = ev->recv_ms;
	inc->first_ms = ring_at(g, 0)->t;
	inc->last_ms = g->tmax;
	inc->key_kind = gkind_name[g->kind];
	inc->key = g->key;
	inc->nerrors = (int)g->n;
	inc->nsecurity = g->nsec;
	inc->ncommand = g->ncmd;
	inc->state = SOC_INC_OPEN;
	for (int i = 0; i < g->protos.n; i++)
		if (g->protos.e[i].count > 0)
			g->protos.e[i].in_inc = 1;
	if ((rc = group_describe(c, g)) < 0)
		return rc;
	/* A group that opened an incident earlier in this same transaction
	 * keeps that one's notification apart before it opens the next. */
	if (g->pending)
		stash_note(c, g);
	if ((rc = store_add_incident(c->st, inc)) < 0)
		return rc;
	g->open = 1;
	g->pending = 1;
	TAILQ_INSERT_TAIL(&c->pend, g, pend);
	g->inc_from = g->tmax - c->o.window_ms;
	for (size_t i = 0; i < g->n; i++)
		if ((rc = store_link(c->st, inc->id, ring_at(g, i)->id)) < 0)
			return rc;
	if ((rc = store_link_window(c->st, inc->id, g->key, g->inc_from, g->tmax, NULL)) < 0)
		return rc;
	/* Reported when the transaction holding it commits (correlate_commit). */
	json_decref(g->note);
	if ((g->note = incident_json(inc)) == NULL)
		return MM_ENOMEM;
	free(g->note_device);
	g->note_device = ev->device ? strdup(ev->device) : NULL;
	return 0;
}

/* Finds the group of (kind, key), creating it (and evicting the least
 * recently active group when the table is full). */
static int group_get(struct correlate *c, enum gkind kind, const char *key,
		     struct group **out)
{
	struct group probe, *g = NULL, **slot;
	size_t len = cut_utf8(key, CORRELATE_KEY_MAX);
	char cut[CORRELATE_KEY_MAX + 1];
	int rc;

	memcpy(cut, key, len);
	cut[len] = '\0';
	probe.kind = kind;
	probe.key = cut;
	slot = tfind(&probe, &c->tree, group_cmp);
	if (slot != NULL) {
		*out = *slot;
		return 0;
	}
	if (c->ngroups >= c->o.max_groups) {
		struct group *old = TAILQ_FIRST(&c->lru);

		rc = group_close(c, old);
		group_forget(c, old);
		c->evicted++;
		soc_count(SOC_C_LOGIC_EVICTED, 1);
		if (rc < 0)
			return rc;
	}
	if ((g = calloc(1, sizeof *g)) == NULL || (g->key = strdup(cut)) == NULL)
		goto nomem;
	g->kind = kind;
	slot = tsearch(g, &c->tree, group_cmp);
	if (slot == NULL)
		goto nomem;
	TAILQ_INSERT_TAIL(&c->lru, g, lru);
	c->ngroups++;
	*out = g;
	return 0;
nomem:
	if (g != NULL)
		free(g->key);
	free(g);
	return MM_ENOMEM;
}

/* Whether the group's errors in the window call for an incident. A reporter
 * group whose errors all come from one requester leaves it to that
 * requester's group. */
static int group_triggers(const struct correlate *c, const struct group *g)
{
	if (g->protos.live < c->o.min_protocols && g->nsec + g->ncmd <= c->o.threshold)
		return 0;
	if (g->kind == G_REPORTER && g->others.live == 1 && g->others.none == 0 &&
	    g->others.full == 0)
		return 0;
	return 1;
}

static int group_add(struct correlate *c, enum gkind kind, const char *key,
		     const struct soc_event *ev, int cat)
{
	struct group *g;
	struct cerr e;
	int64_t t = ev->time_ms;
	int rc;

	if ((rc = group_get(c, kind, key, &g)) < 0)
		return rc;
	TAILQ_REMOVE(&c->lru, g, lru);
	TAILQ_INSERT_TAIL(&c->lru, g, lru);
	g->last_recv = ev->recv_ms;
	/* A record dated far in the future would drag the window ahead of every
	 * honest record after it and blind the group: no record counts as later
	 * than one window past its receipt. */
	if (t > ev->recv_ms + c->o.window_ms)
		t = ev->recv_ms + c->o.window_ms;

	/* A record after a whole quiet window ends the open incident. */
	if (g->open && t > g->inc.last_ms + c->o.window_ms &&
	    (rc = group_close(c, g)) < 0)
		return rc;
	if (g->n == 0 || t > g->tmax)
		g->tmax = t;
	/* Too old for the window: neither counted nor linked. */
	if (t < g->tmax - c->o.window_ms)
		return 0;
	if ((rc = ring_room(c, g)) < 0)
		return rc;
	e.t = t;
	e.id = ev->id;
	e.cat = (uint8_t)cat;
	e.proto = tally_add(&g->protos, ev->protocol,
			    ev->protocol ? cut_utf8(ev->protocol, PROTO_MAX) : 0, 1, g->open);
	e.other = IDX_NONE;
	if (kind == G_REPORTER)
		e.other = tally_add(&g->others, ev->requester,
				    ev->requester ? strlen(ev->requester) : 0, 0, 0);
	if (cat == MM_X1367_CAT_SECURITY)
		g->nsec++;
	else if (cat == MM_X1367_CAT_COMMAND)
		g->ncmd++;
	ring_insert(g, &e);
	while (g->n > 0 && ring_at(g, 0)->t < g->tmax - c->o.window_ms)
		ring_pop(g);

	if (g->open) {
		g->inc.nerrors++;
		if (cat == MM_X1367_CAT_SECURITY)
			g->inc.nsecurity++;
		else if (cat == MM_X1367_CAT_COMMAND)
			g->inc.ncommand++;
		if (t > g->inc.last_ms)
			g->inc.last_ms = t;
		mark_dirty(c, g);
		return store_link(c->st, g->inc.id, ev->id);
	}
	if (group_triggers(c, g))
		return group_open(c, g, ev);
	return 0;
}

/* ---- the interface ---- */

int correlate_new(const struct correlate_opts *o, struct store *st, soc_notify_fn notify,
		  void *arg, struct correlate **out)
{
	struct correlate *c;

	*out = NULL;
	if (o == NULL || st == NULL || o->window_ms <= 0 || o->min_protocols < 1 ||
	    o->threshold < 0 || o->max_groups < 1 || o->max_errors < 1)
		return MM_EINVAL;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return MM_ENOMEM;
	c->o = *o;
	c->st = st;
	c->notify = notify;
	c->arg = arg;
	TAILQ_INIT(&c->lru);
	TAILQ_INIT(&c->dirty);
	TAILQ_INIT(&c->pend);
	c->notes_tail = &c->notes;
	*out = c;
	return 0;
}

int correlate_event(struct correlate *c, const struct soc_event *ev)
{
	int cat, rc;

	if (ev->kind != SOC_KIND_X1367 || ev->code < 0 || ev->code > 255)
		return 0;
	/* The category follows from the code itself (Annex A ranges). */
	cat = (int)mm_x1367_range_of((uint8_t)ev->code)->category;
	if (cat == MM_X1367_CAT_NO_ERROR)
		return 0;
	if (ev->requester != NULL && ev->requester[0] != '\0' &&
	    (rc = group_add(c, G_REQUESTER, ev->requester, ev, cat)) < 0)
		return rc;
	if (c->o.by_reporter && ev->reporter != NULL && ev->reporter[0] != '\0' &&
	    (rc = group_add(c, G_REPORTER, ev->reporter, ev, cat)) < 0)
		return rc;
	return 0;
}

void correlate_commit(struct correlate *c)
{
	char gk[16 + CORRELATE_KEY_MAX];
	struct group *g;
	struct note *n;

	while ((n = c->notes) != NULL) {
		c->notes = n->next;
		soc_count(SOC_C_INCIDENTS, 1);
		log_info("incident %lld opened: %s: %s", n->id, n->gk ? n->gk : "?",
			 n->reason ? n->reason : "");
		if (c->notify != NULL && n->j != NULL && n->gk != NULL)
			c->notify(c->arg, "soc.incident.opened", n->device, n->gk, n->j);
		note_free(n);
	}
	c->notes_tail = &c->notes;
	while ((g = TAILQ_FIRST(&c->pend)) != NULL) {
		TAILQ_REMOVE(&c->pend, g, pend);
		g->pending = 0;
		soc_count(SOC_C_INCIDENTS, 1);
		log_info("incident %lld opened: %s=%s: %s", (long long)g->inc.id,
			 gkind_name[g->kind], g->key, g->inc.reason);
		if (c->notify != NULL && g->note != NULL) {
			snprintf(gk, sizeof gk, "%s=%s", gkind_name[g->kind], g->key);
			c->notify(c->arg, "soc.incident.opened", g->note_device, gk, g->note);
		}
		json_decref(g->note);
		g->note = NULL;
	}
}

void correlate_rollback(struct correlate *c)
{
	struct group *g;
	struct note *n;

	while ((n = c->notes) != NULL) {
		c->notes = n->next;
		note_free(n);
	}
	c->notes_tail = &c->notes;
	/* The incidents opened in the lost transaction do not exist; their
	 * groups start afresh and the events, given again, reopen them. */
	while ((g = TAILQ_FIRST(&c->pend)) != NULL) {
		TAILQ_REMOVE(&c->pend, g, pend);
		g->pending = 0;
		g->open = 0;
		clear_dirty(c, g);
		ring_clear(g);
		for (int i = 0; i < g->protos.n; i++)
			g->protos.e[i].in_inc = 0;
		json_decref(g->note);
		g->note = NULL;
	}
}

int correlate_tick(struct correlate *c, int64_t now_ms)
{
	struct group *g;
	int rc = 0, r;

	/* Whatever came before the tick's transaction is settled: a writer that
	 * does not call correlate_commit() gets its notifications here. */
	correlate_commit(c);

	/* Groups idle for a whole window: their incident closes, they go. */
	while ((g = TAILQ_FIRST(&c->lru)) != NULL && now_ms - g->last_recv > c->o.window_ms) {
		r = group_close(c, g);
		if (r < 0 && rc == 0)
			rc = r;
		group_forget(c, g);
	}
	while ((g = TAILQ_FIRST(&c->dirty)) != NULL) {
		clear_dirty(c, g);
		if ((r = group_describe(c, g)) < 0 ||
		    (r = store_update_incident(c->st, &g->inc)) < 0) {
			if (rc == 0)
				rc = r;
		}
	}
	return rc;
}

size_t correlate_groups(const struct correlate *c)
{
	return c->ngroups;
}

uint64_t correlate_evicted(const struct correlate *c)
{
	return c->evicted;
}

static void noop_free(void *p)
{
	(void)p;
}

void correlate_free(struct correlate *c)
{
	struct group *g;
	struct note *n;

	if (c == NULL)
		return;
	while ((n = c->notes) != NULL) {
		c->notes = n->next;
		note_free(n);
	}
	/* The tree's nodes are the groups themselves, freed from the list. */
	tdestroy(c->tree, noop_free);
	while ((g = TAILQ_FIRST(&c->lru)) != NULL) {
		TAILQ_REMOVE(&c->lru, g, lru);
		group_free(g);
	}
	free(c);
}
