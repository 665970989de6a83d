/*
 * Ingest: turns raw messages from the listeners into stored events.
 *
 * The listeners (main thread) hand over one syslog message at a time: a UDP
 * datagram, or one frame of a TCP/TLS stream already cut by mm_frame, or one
 * RELP message. ingest parses it (RFC 5424, else RFC 3164; X.1367 strict,
 * else lenient and marked; mamori event; plain syslog), or makes it a dead
 * letter with the reason, and queues it for the writer thread, which stores
 * it in batches and runs fleet, correlation, silence and alert logic on it.
 *
 * The queue is bounded (queue_max messages). When it is full, ingest_offer()
 * refuses with MM_EFULL and the listener stops reading from that peer (TCP
 * and TLS senders then block in their send buffers: pushback) until the
 * callback given to ingest_on_room() runs in the main loop.
 *
 *	if (ingest_offer(in, &origin, msg, len, NULL) == MM_EFULL) {
 *		bufferevent_disable(bev, EV_READ);
 *		ingest_on_room(in, resume_reading, conn);   (called once)
 *	}
 */
#ifndef MAMORI_SOC_INGEST_H
#define MAMORI_SOC_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "soc.h"

struct event_base;
struct ingest;
struct writer;

/* Called by the writer thread once the message it was given with is durable
 * in the store (committed), as an event or a dead letter. RELP uses it to
 * acknowledge its journal. token is what the offer passed. */
struct ingest_ack {
	void (*fn)(void *arg, uint64_t token);
	void *arg;
	uint64_t token;
};

struct ingest_opts {
	size_t queue_max;    /* messages waiting for the writer at most (default 65536) */
	size_t max_msg;      /* longest message parsed (default 64 KiB); longer ones are
				dead letters */
};
void ingest_opts_default(struct ingest_opts *o);

/* Creates the ingest on base (the main loop) feeding writer w. */
int ingest_new(struct event_base *base, struct writer *w, const struct ingest_opts *o,
	       struct ingest **out);
void ingest_free(struct ingest *in);

/*
 * Offers one message of len bytes from o. Returns 0 when it was taken
 * (parsed and queued, as an event or a dead letter), MM_EFULL when the queue
 * is full (nothing was taken; offer it again after the room callback).
 * ack may be NULL. Main thread only.
 */
int ingest_offer(struct ingest *in, const struct soc_origin *o, const uint8_t *msg, size_t len,
		 const struct ingest_ack *ack);

/* Makes a dead letter of bytes that never became a message (an oversized
 * frame: its first len bytes of orig_len; a malformed octet count). Never
 * refused: a full queue drops it and counts it. Main thread only. */
void ingest_reject(struct ingest *in, const struct soc_origin *o, const uint8_t *raw, size_t len,
		   size_t orig_len, const char *reason);

/* 1 when ingest_offer() would take a message now. */
int ingest_has_room(const struct ingest *in);

/* Asks for cb(arg) to be called once, from the main loop, when the queue has
 * room again. Several waiters are called in the order they asked. A waiter
 * that goes away first must call ingest_cancel_room(in, arg). */
int ingest_on_room(struct ingest *in, void (*cb)(void *arg), void *arg);
void ingest_cancel_room(struct ingest *in, void *arg);

/*
 * Parses one message into a new event (*ev) or a dead letter reason
 * (*why, static text; *ev NULL). Used by ingest_offer() and by the fuzz
 * target; needs no loop or thread. recv_ms is the receive time.
 * Returns 0 (an event), MM_EPARSE (a dead letter), MM_ENOMEM.
 */
int ingest_parse(const struct soc_origin *o, const uint8_t *msg, size_t len, int64_t recv_ms,
		 struct soc_event **ev, const char **why);

#endif
