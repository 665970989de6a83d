/*
 * The writer thread: takes parsed events and dead letters from a bounded
 * queue, stores them in batches (one transaction per batch), and runs what
 * the SOC concludes from each stored event: the fleet's device and
 * certificate records, correlation into incidents, expected silence, and
 * alert rules. Acknowledgements (struct ingest_ack) are called only after
 * the batch holding their message committed.
 *
 * When the store fails, the batch is rolled back and tried again, item by
 * item, after a pause; an item the store refuses alone becomes a dead letter
 * with the store's reason. Nothing is taken off the queue before it is
 * committed, so a full queue pushes back on the listeners meanwhile.
 */
#ifndef MAMORI_SOC_WRITER_H
#define MAMORI_SOC_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "correlate.h"
#include "fleet.h"
#include "ingest.h"
#include "silence.h"
#include "soc.h"

struct alert;
struct writer;

struct writer_opts {
	const char *store_url;
	size_t batch_max;         /* events per transaction at most (default 16384) */
	int64_t retain_age_ms;    /* delete events older than this (0: keep) */
	int64_t retain_bytes;     /* keep the events below this size (0: no bound) */
	int64_t retain_every_ms;  /* how often retention runs (default 60000) */
	int64_t dead_max;         /* dead letters kept at most (default 100000; 0: no bound) */
	struct correlate_opts corr;
	struct silence_opts silence;
	struct fleet_opts fleet;
	struct alert *alert;      /* may be NULL; the writer does not own it */
};
void writer_opts_default(struct writer_opts *o);

/* Opens the store (migrating it) and the modules. err gets the reason. */
int writer_new(const struct writer_opts *o, struct writer **out, char *err, size_t errlen);
int writer_start(struct writer *w);
/* Stores everything queued, stops the thread, closes the store. */
void writer_free(struct writer *w);

/* The queue, from the main thread. */
void writer_set_queue_max(struct writer *w, size_t max);
size_t writer_queued(const struct writer *w);
/* fn(arg) is called from the writer thread after it took messages off a
 * queue that had been full. NULL removes it. */
void writer_on_drain(struct writer *w, void (*fn)(void *arg), void *arg);
/* Queues an event (taken over on 0) or a copy of a dead letter; MM_EFULL
 * when the queue is full. push_dead_len with force takes the dead letter
 * even when full, up to a small reserve; past that it is dropped and
 * counted. */
int writer_push_event(struct writer *w, struct soc_event *ev, const struct ingest_ack *ack);
int writer_push_dead(struct writer *w, int64_t recv_ms, const struct soc_origin *o,
		     const uint8_t *raw, size_t len, const char *reason,
		     const struct ingest_ack *ack);
int writer_push_dead_len(struct writer *w, int64_t recv_ms, const struct soc_origin *o,
			 const uint8_t *raw, size_t len, size_t orig_len, const char *reason,
			 const struct ingest_ack *ack, int force);
/* Blocks until everything queued before the call is committed (tests, shutdown). */
void writer_flush(struct writer *w);

#endif
