/*
 * The store: where mamori-soc keeps events, dead letters, devices,
 * certificates, incidents and findings. One interface, two back ends:
 * SQLite (store_sqlite.c; the embedded default, WAL, prepared statements)
 * and PostgreSQL (store_pg.c; libpq). The schema and its versions are in
 * docs/formats/soc-store.md.
 *
 * A handle is used by one thread at a time. mamori-soc opens two: the writer
 * thread's (all the store_add/put/touch calls, in batches between
 * store_begin() and store_commit()) and the HTTP API's (queries only).
 *
 *	struct store *st;
 *	char err[256];
 *	if (store_open("sqlite:/var/lib/mamori/soc.db", &st, err, sizeof err) < 0)
 *		fatalx("store: %s", err);
 *	store_begin(st);
 *	for (each event ev) store_add_event(st, ev);     (sets ev->id)
 *	store_commit(st);
 *	json_t *rows;
 *	struct store_filter f = {.limit = 100, .device = "cam-7"};
 *	store_query_events(st, &f, &rows);               (a JSON array)
 *	store_close(st);
 *
 * Every function returns 0 or a negative MM_E* code (MM_EIO for a database
 * error, whose text store_error() gives until the next call).
 */
#ifndef MAMORI_SOC_STORE_H
#define MAMORI_SOC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "soc.h"

struct store;

/*
 * Opens a store by URL and brings its schema to the current version
 * (creating it, or applying each migration in order, in a transaction):
 *   sqlite:PATH                    (PATH created if missing)
 *   postgresql://... postgres://... (a libpq connection URI)
 * On failure returns MM_EINVAL (unknown scheme) or MM_EIO with the reason in err.
 */
int store_open(const char *url, struct store **out, char *err, size_t errlen);
void store_close(struct store *st);
/* "sqlite" or "postgresql" */
const char *store_backend(const struct store *st);
/* The text of the last error on this handle. */
const char *store_error(const struct store *st);
/* The schema version this build writes (and what store_open() migrates to). */
int store_schema_version(void);

/* ---- the writer ---- */

int store_begin(struct store *st);
int store_commit(struct store *st);
int store_rollback(struct store *st);

/* Adds one event and sets ev->id. With PostgreSQL the row is sent without
 * waiting for the server's answer (pipeline mode): if the server refuses it,
 * a later call of the batch, at the latest store_commit(), fails with the
 * reason, and the batch must be rolled back. MSG is kept up to its first
 * NUL byte, if it has one (PostgreSQL's text cannot hold NUL). */
int store_add_event(struct store *st, struct soc_event *ev);
/* Adds one dead letter. */
int store_add_dead(struct store *st, const struct soc_dead *d);

/* What the SOC saw of a device in one event: creates or updates its row
 * (first/last seen, last address, count, whether it ever authenticated
 * with a certificate, its latest certificate). */
struct store_device_seen {
	const char *device;
	const char *addr;
	int64_t time_ms;          /* the latest time it was seen */
	int64_t first_ms;         /* the earliest, when several events are told at once
				     (0: time_ms) */
	int64_t count;            /* how many events this stands for (0: one) */
	const char *cert_fp;      /* NULL when not authenticated */
	const char *cert_cn;
	int64_t cert_not_after;   /* seconds; 0 when no certificate */
};
int store_touch_device(struct store *st, const struct store_device_seen *s);

/* Incidents. store_add_incident sets inc->id; store_update_incident rewrites
 * the counters, last_ms, reason, protocols and state of inc->id. */
int store_add_incident(struct store *st, struct soc_incident *inc);
int store_update_incident(struct store *st, const struct soc_incident *inc);
/* Links one event to an incident (a second link of the same pair is ignored). */
int store_link(struct store *st, int64_t incident, int64_t event);
/* Links to the incident every stored event whose reporter or requester is
 * addr, or that a device at peer address addr sent, with time_ms in
 * [from_ms, to_ms] (X.1367 step 4: the other syslog of the same address).
 * *nlinked (may be NULL) gets how many links were added. */
int store_link_window(struct store *st, int64_t incident, const char *addr, int64_t from_ms,
		      int64_t to_ms, int64_t *nlinked);

/* Opens or refreshes a finding. When an open finding with the same kind,
 * device and subject exists, its last_ms and detail are updated and *is_new
 * is 0; otherwise a new one is made and *is_new is 1. Sets f->id. */
int store_put_finding(struct store *st, struct soc_finding *f, int *is_new);
/* Marks the open finding (kind, device, subject) resolved, if there is one. */
int store_resolve_finding(struct store *st, const char *kind, const char *device,
			  const char *subject, int64_t now_ms);

/* ---- the fleet audit's questions ---- */

/* One client certificate and who used it. */
struct store_cert_use {
	const char *fp;
	const char *cn;
	int64_t not_after;   /* seconds */
	int ndevices;        /* distinct devices that presented it */
	int naddrs;          /* distinct peer addresses that presented it */
	const char *devices; /* comma-separated, sorted */
	const char *addrs;   /* comma-separated, sorted */
};
typedef int (*store_cert_cb)(void *arg, const struct store_cert_use *u);
/* Calls cb for every certificate presented by two or more devices or addresses.
 * In these walks a non-zero return from a callback stops the walk and is
 * returned. */
int store_certs_shared(struct store *st, store_cert_cb cb, void *arg);
/* Calls cb for every certificate whose not_after is before before_s. */
int store_certs_expiring(struct store *st, int64_t before_s, store_cert_cb cb, void *arg);
/* Calls cb(arg, device, first_ms, last_ms) for every device that sent events
 * but never over an authenticated (mutual TLS) connection. */
typedef int (*store_device_cb)(void *arg, const char *device, int64_t first_ms, int64_t last_ms);
int store_devices_never_auth(struct store *st, store_device_cb cb, void *arg);

/* ---- retention ---- */

/* Deletes events (their links and dead letters too) older than older_ms
 * (0: no age limit), then the oldest until the events take at most max_bytes
 * (0: no size limit; size as the back end measures it). *deleted gets the
 * number of events deleted. Runs in its own transaction(s).
 *
 * older_ms is a date (ms since the epoch), not an age: events received
 * (recv_ms) before it go, oldest id first; the caller passes now - max age.
 * Sizes: SQLite
 * counts the pages in use of the whole database file; PostgreSQL counts
 * pg_total_relation_size('events') and deletes as many of the oldest events
 * as their average size says are too many (the space is reused after
 * autovacuum, the file does not shrink). Dead letters received before the
 * oldest event kept go too. Never call it between store_begin() and
 * store_commit(). The caller counts *deleted (SOC_C_RETAINED_DELETED). */
int store_retain(struct store *st, int64_t older_ms, int64_t max_bytes, int64_t *deleted);

/* Deletes the oldest dead letters so that at most keep remain (keep 0: no
 * bound). Dead letters are what senders got wrong, or what an attacker
 * sends on purpose: they must not fill the disk. *deleted gets how many
 * went. Runs in its own transaction(s). */
int store_cap_dead(struct store *st, int64_t keep, int64_t *deleted);

/* ---- queries (the HTTP API) ---- */

/* Filters; NULL/0/-1 fields do not filter. */
struct store_filter {
	int64_t since_ms, until_ms; /* on time_ms, inclusive; 0 = open */
	int64_t after_id;           /* only ids greater than this (paging) */
	const char *device, *reporter, *requester, *responder, *type, *protocol, *kind;
	const char *addr;           /* reporter, requester or peer address equals this */
	int code;                   /* -1 = any */
	int category;               /* -1 = any */
	int lenient;                /* -1 any, 0 strict only, 1 lenient only */
	int64_t incident;           /* events linked to this incident; 0 = any */
	const char *state;          /* incidents/findings: "open", "closed"/"resolved" */
	int limit;                  /* 0 means 100; at most 10000 */
};
/* Sets every field to "does not filter": zeros, NULLs, code, category and
 * lenient -1, limit 0 (100). */
void store_filter_init(struct store_filter *f);

/* Every "*_time" field of the queries is written by soc_time_text() (soc.h). */

/*
 * Each query sets *out to a new JSON array (caller decrefs) of objects, newest
 * first (highest id first). Field names are those of docs/formats/soc-store.md
 * ("id", "time" as RFC 3339 UTC with milliseconds, "recv_time", "device", ...).
 * Events carry "msg" as text, or "record" / "data" as the parsed JSON for
 * X.1367 records and mamori events.
 */
int store_query_events(struct store *st, const struct store_filter *f, json_t **out);
int store_query_incidents(struct store *st, const struct store_filter *f, json_t **out);
/* One incident as an object with its linked events in "events"; MM_ENOTFOUND. */
int store_get_incident(struct store *st, int64_t id, json_t **out);
int store_query_findings(struct store *st, const struct store_filter *f, json_t **out);
int store_query_devices(struct store *st, const struct store_filter *f, json_t **out);
int store_query_dead(struct store *st, const struct store_filter *f, json_t **out);
/* Row counts per table and the store's size: {"events": N, "dead_letters": N, ...,
 * "bytes": N}. */
int store_stats(struct store *st, json_t **out);

#endif
