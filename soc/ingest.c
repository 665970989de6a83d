/*
 * Ingest: one raw message in, one parsed event (or dead letter) queued for
 * the writer out (parsing itself is parse.c). Main thread only, except the
 * drain callback, which the writer thread calls.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/syslog.h"

#include "ingest.h"
#include "writer.h"

struct room_waiter {
	void (*cb)(void *arg);
	void *arg;
	struct room_waiter *next;
};

struct ingest {
	struct event_base *base;
	struct writer *w;
	struct ingest_opts o;
	struct event *room_ev; /* made active by the writer thread when room frees */
	struct room_waiter *waiters, **waiters_tail;
	int calling;           /* room callbacks are running */
};

void ingest_opts_default(struct ingest_opts *o)
{
	o->queue_max = 65536;
	o->max_msg = 64 * 1024;
}

/* ---- the queue side ---- */

static void room_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *in = arg;
	struct room_waiter *wt;

	(void)fd;
	(void)what;
	/* Wake waiters while there is room; one that fills the queue again
	 * leaves the rest waiting for the next drain. */
	in->calling = 1;
	while ((wt = in->waiters) != NULL && ingest_has_room(in)) {
		in->waiters = wt->next;
		if (!in->waiters)
			in->waiters_tail = &in->waiters;
		wt->cb(wt->arg);
		free(wt);
	}
	in->calling = 0;
}

/* Called by the writer thread when it took messages off a full queue. */
static void drained(void *arg)
{
	struct ingest *in = arg;
	event_active(in->room_ev, EV_READ, 0);
}

int ingest_new(struct event_base *base, struct writer *w, const struct ingest_opts *o,
	       struct ingest **out)
{
	struct ingest *in;

	if ((in = calloc(1, sizeof *in)) == NULL)
		return MM_ENOMEM;
	in->base = base;
	in->w = w;
	if (o)
		in->o = *o;
	else
		ingest_opts_default(&in->o);
	if (!in->o.queue_max)
		in->o.queue_max = 65536;
	if (!in->o.max_msg)
		in->o.max_msg = 64 * 1024;
	in->waiters_tail = &in->waiters;
	if ((in->room_ev = event_new(base, -1, 0, room_cb, in)) == NULL) {
		free(in);
		return MM_ENOMEM;
	}
	writer_set_queue_max(w, in->o.queue_max);
	writer_on_drain(w, drained, in);
	*out = in;
	return 0;
}

void ingest_free(struct ingest *in)
{
	struct room_waiter *wt;

	if (!in)
		return;
	writer_on_drain(in->w, NULL, NULL);
	while ((wt = in->waiters) != NULL) {
		in->waiters = wt->next;
		free(wt);
	}
	event_free(in->room_ev);
	free(in);
}

int ingest_has_room(const struct ingest *in)
{
	return writer_queued(in->w) < in->o.queue_max;
}

int ingest_offer(struct ingest *in, const struct soc_origin *o, const uint8_t *msg, size_t len,
		 const struct ingest_ack *ack)
{
	struct soc_event *ev = NULL;
	const char *why = NULL;
	int64_t t;
	int rc;

	if (!ingest_has_room(in))
		return MM_EFULL;
	t = soc_now_ms();
	soc_count(SOC_C_RECEIVED_UDP + o->transport, 1);
	soc_count(SOC_C_BYTES, len);
	if (len > in->o.max_msg) {
		soc_count(SOC_C_FRAME_OVERSIZED, 1);
		rc = writer_push_dead(in->w, t, o, msg, len, "message longer than max_msg", ack);
		return rc == MM_EFULL ? MM_EFULL : 0;
	}
	rc = ingest_parse(o, msg, len, t, &ev, &why);
	if (rc == MM_ENOMEM) {
		log_warnx("ingest: out of memory; message from %s kept as a dead letter", o->peer);
		why = "out of memory while parsing";
	}
	if (!ev) {
		rc = writer_push_dead(in->w, t, o, msg, len, why ? why : "unparsable", ack);
		return rc == MM_EFULL ? MM_EFULL : 0;
	}
	switch (ev->kind) {
	case SOC_KIND_X1367:
		soc_count((ev->flags & SOC_F_LENIENT) ? SOC_C_X1367_LENIENT : SOC_C_X1367_STRICT, 1);
		break;
	case SOC_KIND_EVENT: soc_count(SOC_C_EVENTS, 1); break;
	case SOC_KIND_SYSLOG: soc_count(SOC_C_PLAIN, 1); break;
	}
	soc_count(ev->format == MM_SYSLOG_RFC5424 ? SOC_C_SYSLOG_5424 : SOC_C_SYSLOG_3164, 1);
	if (ev->flags & SOC_F_IDENTITY_MISMATCH)
		soc_count(SOC_C_IDENTITY_MISMATCH, 1);
	if ((rc = writer_push_event(in->w, ev, ack)) < 0) {
		soc_event_free(ev);
		return rc == MM_EFULL ? MM_EFULL : rc;
	}
	return 0;
}

void ingest_reject(struct ingest *in, const struct soc_origin *o, const uint8_t *raw, size_t len,
		   size_t orig_len, const char *reason)
{
	soc_count(SOC_C_BYTES, orig_len);
	/* A rejection is never refused for a full queue: the writer keeps a
	 * little room above queue_max for these, and beyond that it counts. */
	(void)writer_push_dead_len(in->w, soc_now_ms(), o, raw, len, orig_len, reason, NULL, 1);
}

int ingest_on_room(struct ingest *in, void (*cb)(void *arg), void *arg)
{
	struct room_waiter *wt;

	if ((wt = calloc(1, sizeof *wt)) == NULL)
		return MM_ENOMEM;
	wt->cb = cb;
	wt->arg = arg;
	*in->waiters_tail = wt;
	in->waiters_tail = &wt->next;
	/* The listener that pauses counts SOC_C_PUSHBACK, once per pause. */
	/* The queue may have drained between the refusal and now. */
	if (ingest_has_room(in) && !in->calling)
		event_active(in->room_ev, EV_READ, 0);
	return 0;
}

void ingest_cancel_room(struct ingest *in, void *arg)
{
	struct room_waiter **pp = &in->waiters, *wt;

	while ((wt = *pp) != NULL) {
		if (wt->arg == arg) {
			*pp = wt->next;
			free(wt);
			continue;
		}
		pp = &wt->next;
	}
	in->waiters_tail = &in->waiters;
	for (wt = in->waiters; wt; wt = wt->next)
		in->waiters_tail = &wt->next;
}
