/*
 * Correlation: standard errors grouped into incidents (X.1367 steps 3-4,
 * scenario I.4: one attacker across several ecosystems of one LAN).
 *
 * Runs in the writer thread. Every X.1367 record whose code is an error
 * (category not No Error) is remembered in a group: one per requester, and,
 * with by_reporter, one per reporter. A group opens an incident when, within
 * window_ms of the records' own times, it holds errors of min_protocols or
 * more distinct protocols, or more than threshold errors of the Security
 * (0x20-0x2F) and Command (0x30-0x3F) categories together. The incident then
 * links every error of the group in the window and every other stored event
 * of the same address in the window (store_link_window); later errors of the
 * group are linked to it while it is open. It closes when window_ms passes
 * with no new error; a later burst opens a new one.
 *
 * A reporter group does not open an incident when all its errors in the
 * window come from one requester: that requester's own group sees the same
 * errors and opens the incident that tells the story.
 *
 *	struct correlate_opts o;
 *	struct correlate *c;
 *	correlate_opts_default(&o);
 *	correlate_new(&o, st, on_notify, arg, &c);
 *	store_begin(st);
 *	store_add_event(st, ev);
 *	correlate_event(c, ev);          (after store_add_event: needs ev->id)
 *	store_commit(st);
 *	correlate_commit(c);             (or correlate_rollback(c) after a rollback)
 *	...once a second, in its own transaction:
 *	correlate_tick(c, now_ms);
 *	correlate_free(c);
 *
 * Memory is bounded: at most max_groups groups (the least recently active
 * is evicted, closing its incident) and max_errors remembered errors per
 * group (the oldest forgotten); group keys longer than CORRELATE_KEY_MAX
 * bytes are cut. What was evicted is counted (correlate_evicted()).
 */
#ifndef MAMORI_SOC_CORRELATE_H
#define MAMORI_SOC_CORRELATE_H

#include <stddef.h>
#include <stdint.h>

#include "soc.h"

struct store;
struct correlate;

/* The longest group key kept, in bytes (longer keys are cut at a UTF-8
 * character boundary). */
#define CORRELATE_KEY_MAX 255

struct correlate_opts {
	int64_t window_ms; /* the sliding window (default 300000) */
	int min_protocols; /* distinct protocols that open an incident (default 2) */
	int threshold;     /* more than this many Security + Command errors open one (default 5) */
	int by_reporter;   /* 1: also group by reporter (default 1) */
	size_t max_groups; /* groups remembered at most (default 65536) */
	size_t max_errors; /* errors remembered per group at most (default 1024) */
};
void correlate_opts_default(struct correlate_opts *o);

/*
 * Creates the correlator. st is the writer's store handle (not owned);
 * notify (may be NULL) is called with "soc.incident.opened", the device of
 * the event that opened it, group key "requester=ADDR" or "reporter=ADDR",
 * and the incident as a JSON object (fields of struct soc_incident; the
 * callee may json_incref it). Returns 0, MM_EINVAL (bad options), MM_ENOMEM.
 */
int correlate_new(const struct correlate_opts *o, struct store *st, soc_notify_fn notify,
		  void *arg, struct correlate **out);

/*
 * Takes one stored event (ev->id set), inside the writer's transaction.
 * Events that are not X.1367 errors are ignored. Returns 0 or the store's
 * error (MM_EIO), or MM_ENOMEM.
 */
int correlate_event(struct correlate *c, const struct soc_event *ev);

/*
 * The writer's transaction that held the events given since the last call
 * committed: incidents opened in it are counted (SOC_C_INCIDENTS) and
 * reported through notify now. Call it after each store_commit(); without
 * it, correlate_tick() reports them.
 */
void correlate_commit(struct correlate *c);

/*
 * That transaction was rolled back: the incidents opened in it are
 * forgotten (they are not in the store, and their ids may be given again);
 * their groups start afresh, so giving the same events again reopens them.
 * Call it after store_rollback() of a batch.
 */
void correlate_rollback(struct correlate *c);

/*
 * Closes incidents whose group saw no new error for window_ms (by receive
 * time, now_ms on the same clock as soc_event.recv_ms), writes the counts of
 * incidents that grew since the last tick, and forgets idle groups. Call it
 * about once a second inside a transaction. Returns 0 or the store's error.
 */
int correlate_tick(struct correlate *c, int64_t now_ms);

/* Groups remembered now, and how many groups and errors were evicted to
 * keep the bounds. */
size_t correlate_groups(const struct correlate *c);
uint64_t correlate_evicted(const struct correlate *c);

void correlate_free(struct correlate *c);

#endif
