/*
 * The listeners: where syslog messages enter mamori-soc.
 *
 * One listener per URL, all on the main thread's event loop:
 *
 *   udp://ADDR:PORT       one datagram is one message
 *   tcp://ADDR:PORT       RFC 6587 framing, octet counting or LF decided per
 *                         frame (mm_frame in MM_FRAME_AUTO, as rsyslog does)
 *   tls://ADDR:PORT       the same inside TLS 1.2/1.3 (RFC 5425), optionally
 *                         with client certificates (mutual TLS)
 *   relp://ADDR:PORT      RELP through librelp, which runs its own loop in a
 *   relp+tls://ADDR:PORT  thread of its own (relp.c); every acknowledged
 *                         message is first written to a journal on disk
 *
 * IPv6 addresses are written in brackets ("tcp://[::1]:6514"); port 0 asks
 * for any free port, which listen_address() then tells.
 *
 * Every stream connection is bounded: the number of clients (all stream
 * listeners together) and of clients per peer address, the read buffer, the
 * length of one message, the time a connection may stay silent and the time
 * it may take to complete its first message. Whatever is refused is counted
 * (soc.h counters) and, for bytes that never became a message, handed to
 * ingest_reject() as a dead letter with the reason.
 *
 * When ingest's queue is full the listener stops reading from that peer
 * (pushback: a TCP, TLS or RELP sender's window fills) and resumes from
 * ingest_on_room(); a UDP socket stops being read, and what the kernel drops
 * meanwhile is counted from SO_RXQ_OVFL.
 *
 * The process must ignore SIGPIPE (a TLS alert written to a peer that went
 * away would otherwise kill it).
 *
 *	struct listen_limits lim;
 *	struct listener *l;
 *	char err[256];
 *	listen_limits_default(&lim);
 *	if (listen_start(base, in, "tcp://127.0.0.1:0", NULL, &lim, "/var/lib/mamori",
 *			 &l, err, sizeof err) < 0)
 *		fatalx("listen: %s", err);
 *	log_info("listening on %s", listen_address(l));
 *	event_base_dispatch(base);
 *	listen_stop(l);
 */
#ifndef MAMORI_SOC_LISTEN_H
#define MAMORI_SOC_LISTEN_H

#include <stddef.h>

#include "soc.h"

struct event_base;
struct ingest;
struct listener;

/* TLS settings of a tls:// or relp+tls:// listener (files in PEM). */
struct listen_tls {
	const char *cert; /* the server's certificate (chain) */
	const char *key;  /* its private key */
	const char *ca;   /* the CA that client certificates must chain to */
	int verify;       /* 0: no client certificate asked for; 1: verified when given;
			     2: required and verified (RELP: 1 and 2 both require one) */
};

struct listen_limits {
	size_t max_clients;  /* stream connections of all listeners together (1024) */
	size_t max_per_addr; /* stream connections from one peer address (256) */
	size_t max_msg;      /* the longest syslog message (64 KiB); longer frames are
				dead letters. Keep it equal to ingest's max_msg. */
	size_t conn_buffer;  /* bytes read ahead per connection at most (256 KiB) */
	int udp_buffer;      /* SO_RCVBUF of UDP sockets in bytes (0: the system's) */
	int idle_s;          /* a connection silent this long is closed (300; 0: never) */
	int first_msg_s;     /* a connection that has not completed one message in this
				time is closed (30; 0: never); covers the TLS handshake */
};

/* Fills l with the defaults above. */
void listen_limits_default(struct listen_limits *l);

/*
 * Starts listening on url (see above) and feeding in. tls is needed for
 * tls:// and relp+tls:// (NULL otherwise); its files are loaded now, once.
 * lim NULL means the defaults (limits are copied; max_clients is compared
 * with the connections of all listeners). state_dir is needed for relp://
 * and relp+tls://: the journal goes to STATE_DIR/relp-journal-PORT/, and
 * records left there by a previous run are offered to ingest first.
 * Returns 0 with *out set, MM_EINVAL for a bad URL or missing setting,
 * MM_EIO when the address cannot be bound or a file cannot be loaded,
 * MM_ENOMEM; err gets the reason.
 */
int listen_start(struct event_base *base, struct ingest *in, const char *url,
		 const struct listen_tls *tls, const struct listen_limits *lim,
		 const char *state_dir, struct listener **out, char *err, size_t errlen);

/* The listener's URL with the port it is bound to ("tcp://127.0.0.1:40123"). */
const char *listen_address(const struct listener *l);

/* The listener's transport. */
enum soc_transport listen_transport(const struct listener *l);

/*
 * Stops listening, closes every connection of this listener (frames already
 * cut but not yet taken by ingest are lost with them, as a closed TCP
 * connection loses what it had in flight) and frees l. A RELP listener first
 * stops its thread, then waits (up to 10 s) until the writer has committed
 * what it was given, so call this before writer_free(). NULL is ignored.
 */
void listen_stop(struct listener *l);

#endif
