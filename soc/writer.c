/*
 * The writer thread (see writer.h). The queue is a singly linked list under
 * one mutex; the thread takes up to batch_max items at a time, leaving them
 * counted in the queue until they are committed, so that the listeners feel
 * the store's pace (pushback) and nothing is acknowledged early.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "mamori/error.h"
#include "mamori/log.h"

#include "alert.h"
#include "store.h"
#include "writer.h"

/* Dead letters taken beyond queue_max when a stream must reject a frame. */
#define DEAD_RESERVE 1024

struct dead_item {
	struct soc_dead d;
	/* peer, reason and raw bytes follow */
};

struct witem {
	struct witem *next;
	struct soc_event *ev;   /* or */
	struct dead_item *dead;
	struct ingest_ack ack;
	int has_ack;
};

struct writer {
	struct writer_opts o;
	struct store *st;
	struct witem **batch;   /* the items of the batch being written (batch_max) */
	struct correlate *corr;
	struct silence *sil;
	struct fleet *fleet;
	pthread_t thread;
	int started;

	pthread_mutex_t mu;
	pthread_cond_t cv;      /* items arrived, or stop */
	pthread_cond_t done_cv; /* a batch committed (writer_flush waits on it) */
	struct witem *head, **tail;
	size_t queued;          /* items in the list, including those being written */
	size_t queue_max;
	int full_seen;          /* the queue reached queue_max since the last drain call */
	int stop;
	uint64_t pushed, committed; /* item serials, for writer_flush */
	void (*drain_fn)(void *arg);
	void *drain_arg;
	int64_t next_tick_ms, next_retain_ms;
};

void writer_opts_default(struct writer_opts *o)
{
	memset(o, 0, sizeof *o);
	o->batch_max = 16384;
	o->retain_every_ms = 60000;
	o->dead_max = 100000;
	correlate_opts_default(&o->corr);
	silence_opts_default(&o->silence);
	fleet_opts_default(&o->fleet);
}

/* What correlation, silence and the fleet audit open goes to the alert rules. */
static void notify(void *arg, const char *type, const char *device, const char *group_key,
		   void *detail)
{
	struct writer *w = arg;

	if (w->o.alert)
		alert_notify(w->o.alert, type, device, group_key, detail);
}

int writer_new(const struct writer_opts *o, struct writer **out, char *err, size_t errlen)
{
	struct writer *w;
	int rc;

	if ((w = calloc(1, sizeof *w)) == NULL)
		return MM_ENOMEM;
	w->o = *o;
	if (!w->o.batch_max)
		w->o.batch_max = 16384;
	if (!w->o.retain_every_ms)
		w->o.retain_every_ms = 60000;
	w->queue_max = 65536;
	w->tail = &w->head;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_cond_init(&w->done_cv, NULL);
	if ((w->batch = calloc(w->o.batch_max, sizeof *w->batch)) == NULL) {
		rc = MM_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((rc = store_open(o->store_url, &w->st, err, errlen)) < 0)
		goto fail;
	if ((rc = correlate_new(&w->o.corr, w->st, notify, w, &w->corr)) < 0) {
		snprintf(err, errlen, "correlation: %s", mm_strerror(rc));
		goto fail;
	}
	if ((rc = silence_new(&w->o.silence, w->st, notify, w, &w->sil)) < 0) {
		snprintf(err, errlen, "silence: %s", mm_strerror(rc));
		goto fail;
	}
	if ((rc = fleet_new(&w->o.fleet, w->st, notify, w, &w->fleet)) < 0) {
		snprintf(err, errlen, "fleet: %s", mm_strerror(rc));
		goto fail;
	}
	*out = w;
	return 0;
fail:
	writer_free(w);
	return rc;
}

void writer_set_queue_max(struct writer *w, size_t max)
{
	pthread_mutex_lock(&w->mu);
	w->queue_max = max;
	pthread_mutex_unlock(&w->mu);
}

size_t writer_queued(const struct writer *w)
{
	size_t n;

	pthread_mutex_lock((pthread_mutex_t *)&w->mu);
	n = w->queued;
	pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
	return n;
}

void writer_on_drain(struct writer *w, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&w->mu);
	w->drain_fn = fn;
	w->drain_arg = arg;
	pthread_mutex_unlock(&w->mu);
}

static int push(struct writer *w, struct witem *it, size_t limit)
{
	pthread_mutex_lock(&w->mu);
	if (w->queued >= limit) {
		w->full_seen = 1;
		pthread_mutex_unlock(&w->mu);
		return MM_EFULL;
	}
	*w->tail = it;
	w->tail = &it->next;
	w->queued++;
	w->pushed++;
	if (w->queued >= w->queue_max)
		w->full_seen = 1;
	soc_gauge_add(SOC_C_QUEUE, 1);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int writer_push_event(struct writer *w, struct soc_event *ev, const struct ingest_ack *ack)
{
	struct witem *it;
	int rc;

	if ((it = calloc(1, sizeof *it)) == NULL)
		return MM_ENOMEM;
	it->ev = ev;
	if (ack) {
		it->ack = *ack;
		it->has_ack = 1;
	}
	if ((rc = push(w, it, w->queue_max)) < 0)
		free(it);
	return rc;
}

int writer_push_dead_len(struct writer *w, int64_t recv_ms, const struct soc_origin *o,
			 const uint8_t *raw, size_t len, size_t orig_len, const char *reason,
			 const struct ingest_ack *ack, int force)
{
	size_t lp = strlen(o->peer) + 1, lr = strlen(reason) + 1, lk;
	struct witem *it;
	struct dead_item *d;
	char *q;
	int rc;

	lk = len < SOC_DEAD_MAX ? len : SOC_DEAD_MAX;
	if ((it = calloc(1, sizeof *it)) == NULL)
		return MM_ENOMEM;
	if ((d = malloc(sizeof *d + lp + lr + lk)) == NULL) {
		free(it);
		return MM_ENOMEM;
	}
	q = (char *)(d + 1);
	memcpy(q, o->peer, lp);
	d->d.peer = q;
	q += lp;
	memcpy(q, reason, lr);
	d->d.reason = q;
	q += lr;
	memcpy(q, raw, lk);
	d->d.raw = (const uint8_t *)q;
	d->d.raw_len = lk;
	d->d.orig_len = orig_len;
	d->d.recv_ms = recv_ms;
	d->d.transport = o->transport;
	it->dead = d;
	if (ack) {
		it->ack = *ack;
		it->has_ack = 1;
	}
	if ((rc = push(w, it, force ? w->queue_max + DEAD_RESERVE : w->queue_max)) < 0) {
		if (force)
			log_debug("writer: queue full, dead letter from %s dropped", o->peer);
		free(d);
		free(it);
		return rc;
	}
	soc_count(SOC_C_DEAD, 1);
	return 0;
}

int writer_push_dead(struct writer *w, int64_t recv_ms, const struct soc_origin *o,
		     const uint8_t *raw, size_t len, const char *reason,
		     const struct ingest_ack *ack)
{
	return writer_push_dead_len(w, recv_ms, o, raw, len, len, reason, ack, 0);
}

static void item_free(struct witem *it)
{
	soc_event_free(it->ev);
	free(it->dead);
	free(it);
}

/* Stores one item inside the current transaction. */
static int store_item(struct writer *w, struct witem *it)
{
	int rc;

	if (it->dead)
		return store_add_dead(w->st, &it->dead->d);
	if ((rc = store_add_event(w->st, it->ev)) < 0)
		return rc;
	if ((rc = fleet_event(w->fleet, it->ev)) < 0)
		return rc;
	if ((rc = correlate_event(w->corr, it->ev)) < 0)
		return rc;
	return silence_event(w->sil, it->ev);
}

/* Stores n items from head as one transaction. */
static int store_batch(struct writer *w, struct witem **items, size_t n)
{
	size_t i;
	int rc;

	if ((rc = store_begin(w->st)) < 0)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = store_item(w, items[i])) < 0)
			goto fail;
	if ((rc = fleet_flush(w->fleet)) < 0 || (rc = store_commit(w->st)) < 0)
		goto fail;
	correlate_commit(w->corr);
	return 0;
fail:
	soc_count(SOC_C_STORE_ERRORS, 1);
	store_rollback(w->st);
	correlate_rollback(w->corr);
	fleet_rollback(w->fleet);
	return rc;
}

/* The batch failed: each item alone; one the store refuses alone becomes a
 * dead letter. Returns how many items (from head) are done; fewer than n
 * means the store itself is failing and the rest must wait. */
static size_t store_one_by_one(struct writer *w, struct witem **items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct witem *it = items[i];
		char reason[256];
		struct soc_dead d;

		if (store_batch(w, &items[i], 1) == 0)
			continue;
		snprintf(reason, sizeof reason, "store refused: %s", store_error(w->st));
		memset(&d, 0, sizeof d);
		if (it->dead) {
			d = it->dead->d;
			d.reason = reason;
		} else {
			d.recv_ms = it->ev->recv_ms;
			d.transport = it->ev->transport;
			d.peer = it->ev->peer ? it->ev->peer : "";
			d.reason = reason;
			d.raw = (const uint8_t *)(it->ev->msg ? it->ev->msg : "");
			d.raw_len = it->ev->msg_len < SOC_DEAD_MAX ? it->ev->msg_len : SOC_DEAD_MAX;
			d.orig_len = it->ev->msg_len;
		}
		if (store_begin(w->st) < 0 || store_add_dead(w->st, &d) < 0 ||
		    store_commit(w->st) < 0) {
			store_rollback(w->st);
			log_warnx("writer: store failing: %s", store_error(w->st));
			return i;
		}
		log_warnx("writer: %s; kept as a dead letter", reason);
		if (it->ev) {
			soc_event_free(it->ev);
			it->ev = NULL;
		}
	}
	return n;
}

static void tick(struct writer *w, int64_t now)
{
	int64_t deleted = 0;

	if (now >= w->next_tick_ms) {
		w->next_tick_ms = now + 1000;
		if (store_begin(w->st) == 0) {
			if (correlate_tick(w->corr, now) < 0 || silence_tick(w->sil, now) < 0 ||
			    fleet_tick(w->fleet, now) < 0 || store_commit(w->st) < 0) {
				soc_count(SOC_C_STORE_ERRORS, 1);
				store_rollback(w->st);
				correlate_rollback(w->corr);
			} else {
				correlate_commit(w->corr);
			}
		}
		if (w->o.alert)
			alert_tick(w->o.alert, now);
	}
	if ((w->o.retain_age_ms || w->o.retain_bytes || w->o.dead_max) &&
	    now >= w->next_retain_ms) {
		w->next_retain_ms = now + w->o.retain_every_ms;
		if (store_cap_dead(w->st, w->o.dead_max, &deleted) < 0) {
			soc_count(SOC_C_STORE_ERRORS, 1);
			log_warnx("writer: dead letter bound: %s", store_error(w->st));
		} else if (deleted > 0) {
			log_info("writer: %lld oldest dead letters deleted (at most %lld kept)",
				 (long long)deleted, (long long)w->o.dead_max);
		}
		deleted = 0;
		if (store_retain(w->st, w->o.retain_age_ms ? now - w->o.retain_age_ms : 0,
				 w->o.retain_bytes, &deleted) < 0) {
			soc_count(SOC_C_STORE_ERRORS, 1);
			log_warnx("writer: retention: %s", store_error(w->st));
		} else if (deleted > 0) {
			soc_count(SOC_C_RETAINED_DELETED, (uint64_t)deleted);
			log_info("writer: retention deleted %lld events", (long long)deleted);
		}
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	int backoff_ms = 0;

	for (;;) {
		struct witem *head, *it;
		void (*drain_fn)(void *) = NULL;
		void *drain_arg = NULL;
		size_t n, done, i;
		struct timespec dl;

		pthread_mutex_lock(&w->mu);
		while (!w->head && !w->stop) {
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_sec += 1;
			if (pthread_cond_timedwait(&w->cv, &w->mu, &dl) == ETIMEDOUT)
				break;
		}
		if (!w->head && w->stop) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		head = w->head;
		n = 0;
		/* The items are taken by pointer now, under the lock: the main
		 * thread may append to the last one's next meanwhile. */
		for (it = head; it && n < w->o.batch_max; it = it->next)
			w->batch[n++] = it;
		pthread_mutex_unlock(&w->mu);

		if (n > 0) {
			done = store_batch(w, w->batch, n) == 0 ? n
								  : store_one_by_one(w, w->batch, n);
			if (done == n)
				soc_count(SOC_C_BATCHES, 1);
			/* After the commit: acknowledgements and alert rules. */
			for (i = 0; i < done; i++) {
				it = w->batch[i];
				if (it->ev) {
					soc_count(SOC_C_STORED, 1);
					if (w->o.alert)
						alert_event(w->o.alert, it->ev);
				}
				if (it->has_ack)
					it->ack.fn(it->ack.arg, it->ack.token);
			}
			pthread_mutex_lock(&w->mu);
			for (i = 0; i < done; i++) {
				it = w->head;
				w->head = it->next;
				item_free(it);
			}
			if (!w->head)
				w->tail = &w->head;
			w->queued -= done;
			w->committed += done;
			soc_gauge_add(SOC_C_QUEUE, -(int64_t)done);
			if (w->full_seen && w->queued < w->queue_max) {
				w->full_seen = 0;
				drain_fn = w->drain_fn;
				drain_arg = w->drain_arg;
			}
			pthread_cond_broadcast(&w->done_cv);
			pthread_mutex_unlock(&w->mu);
			if (drain_fn)
				drain_fn(drain_arg);
			if (done < n && w->stop) {
				log_warnx("writer: stopping with %zu messages not stored", w->queued);
				break;
			}
			if (done < n) {
				/* The store is failing: wait, up to 5 s, before trying again. */
				backoff_ms = backoff_ms ? (backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2)
							: 100;
				struct timespec ts = {backoff_ms / 1000, (backoff_ms % 1000) * 1000000L};
				nanosleep(&ts, NULL);
			} else {
				backoff_ms = 0;
			}
		}
		tick(w, soc_now_ms());
	}
	return NULL;
}

int writer_start(struct writer *w)
{
	int rc;

	w->next_tick_ms = soc_now_ms() + 1000;
	w->next_retain_ms = soc_now_ms() + 5000;
	if ((rc = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		log_warnx("writer: cannot start its thread: %s", strerror(rc));
		return MM_EIO;
	}
	w->started = 1;
	return 0;
}

void writer_flush(struct writer *w)
{
	uint64_t target;

	pthread_mutex_lock(&w->mu);
	target = w->pushed;
	while (w->committed < target && w->started)
		pthread_cond_wait(&w->done_cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void writer_free(struct writer *w)
{
	struct witem *it;

	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	while ((it = w->head) != NULL) {
		w->head = it->next;
		item_free(it);
	}
	fleet_free(w->fleet);
	silence_free(w->sil);
	correlate_free(w->corr);
	store_close(w->st);
	free(w->batch);
	pthread_cond_destroy(&w->done_cv);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
