/*
 * What the sender core (send.c) and its transports (send_stream.c for UDP,
 * TCP and TLS; send_relp.c for RELP) share. Not a public header.
 *
 * The core reads records from the spool in order and hands them to the
 * transport while it has room; the transport reports, in order, up to which
 * seq the receiver has confirmed (sender_confirm), and the core removes those
 * records from the spool. When a transport call fails the core closes the
 * connection, rewinds the spool to the oldest unconfirmed record and
 * reconnects after a backoff delay.
 */
#ifndef MAMORI_SEND_INT_H
#define MAMORI_SEND_INT_H

#include <stdint.h>

#include "mamori/send.h"
#include "mamori/spool.h"

struct mm_sender;

struct mm_transport {
	/* Connects (and handshakes). 0, or a negative MM_E* code (logged). */
	int (*open)(struct mm_sender *s);
	/* 1 when send() can take another record now. */
	int (*room)(struct mm_sender *s);
	/* Takes one record (its bytes are copied or sent before returning).
	 * 0, or a negative code: the connection is broken. */
	int (*send)(struct mm_sender *s, const struct mm_spool_rec *r);
	/* Moves bytes and collects confirmations, waiting at most timeout_ms
	 * for something to happen. 0, or a negative code: broken. */
	int (*pump)(struct mm_sender *s, int timeout_ms);
	/* Confirms everything in flight within timeout_ms. 0: all confirmed
	 * (the transport may have closed its connection: then it clears
	 * s->connected); MM_EAGAIN: not yet; another negative code: broken. */
	int (*finish)(struct mm_sender *s, int timeout_ms);
	/* Drops the connection without waiting; frees what open() made. */
	void (*close)(struct mm_sender *s);
	/* Frees what lives across connections. */
	void (*free)(struct mm_sender *s);
	/* 1: confirmations only come from finish(), so the core calls it
	 * after a second without new records (RELP). */
	int confirm_by_finish;
};

extern const struct mm_transport mm_transport_stream;
extern const struct mm_transport mm_transport_relp;

struct mm_sender {
	struct mm_sender_opts o; /* strings below are owned copies */
	char *ca_file, *cert_file, *key_file, *server_name;
	struct mm_spool *sp;
	const struct mm_transport *t;
	void *tp;                /* the transport's state */

	int connected;
	int auth_failed;
	unsigned failures_in_row;
	uint64_t next_try_ms;    /* monotonic time of the next connect attempt */
	uint64_t last_send_ms;   /* monotonic time a record was last handed out */
	uint64_t last_stats_ms;
	uint64_t max_sent_seq;   /* highest seq ever handed to a transport: sent vs resent */
	uint64_t inflight;       /* records handed out and not yet confirmed */
	uint64_t confirmed_upto; /* every seq below this one is confirmed */

	uint64_t sent, resent, acked, dropped, connects, failures;
};

/* The transport confirms every record with seq < upto, in order; ndropped
 * of them were not delivered because the transport cannot carry them (too
 * large for a datagram, a LF inside a LF-framed record): they are counted
 * as dropped and leave the spool too, since retrying cannot help. */
int sender_confirm(struct mm_sender *s, uint64_t upto, uint64_t ndropped);

/* Connects a socket of type (SOCK_STREAM/SOCK_DGRAM) to the URL's host and
 * port within timeout_ms; returns the nonblocking fd or a negative code. */
int mm_send_connect(const struct mm_send_url *u, int type, int timeout_ms);

#endif
