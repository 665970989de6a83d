/*
 * The reliable sender: takes the records of a spool (include/mamori/spool.h)
 * and delivers them to a syslog receiver over UDP (RFC 5426), TCP (RFC 6587
 * octet counting or LF framing), TLS (RFC 5425) or RELP (librelp, plain or
 * TLS). A record leaves the spool only when it is confirmed:
 *
 *   relp, relp+tls  the receiver acknowledged it (RELP "rsp 200"). librelp
 *                   keeps at most `window` messages unacknowledged and the
 *                   receiver answers in order, so every record older than the
 *                   newest `window` is acknowledged; the newest are confirmed
 *                   by the session close handshake (mm_sender_drain(), and
 *                   after a second of idleness).
 *   tcp, tls        the receiver's TCP stack acknowledged the bytes (the
 *                   socket's SIOCOUTQ no longer counts them). What the
 *                   receiving process had not yet stored when it died can be
 *                   lost; that is the limit of syslog over TCP without RELP.
 *   udp             the datagram was handed to the kernel. Anything can be
 *                   lost on the way.
 *
 * When a connection breaks, the sender reconnects with exponential backoff
 * and jitter and resends everything not yet confirmed: duplicates are
 * possible, loss (with RELP) is not.
 *
 * One sender uses one spool, from one thread. The caller appends to the
 * spool and calls mm_sender_run() in its loop.
 *
 * Example:
 *	struct mm_sender_opts o;
 *	struct mm_sender *s;
 *	mm_sender_opts_default(&o);
 *	if (mm_send_url_parse("relp://soc.example:2514", &o.url) < 0) ...
 *	if (mm_sender_new(&o, spool, &s) < 0) ...
 *	mm_spool_append(spool, msg, len);
 *	while (mm_sender_drain(s, 1000) == MM_EAGAIN)
 *		;   // not all confirmed yet: the receiver may be down
 *	mm_sender_free(s);
 */
#ifndef MAMORI_SEND_H
#define MAMORI_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "mamori/spool.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mm_send_proto {
	MM_SEND_UDP,
	MM_SEND_TCP,
	MM_SEND_TLS,
	MM_SEND_RELP,
	MM_SEND_RELP_TLS,
};

#define MM_SEND_HOST_MAX 255

struct mm_send_url {
	enum mm_send_proto proto;
	char host[MM_SEND_HOST_MAX + 1]; /* without the brackets of an IPv6 literal */
	char port[6];                    /* decimal, 1..65535 */
};

/*
 * Parses "SCHEME://HOST[:PORT]" where SCHEME is udp, tcp, tls, relp or
 * relp+tls, HOST a name, an IPv4 address or a bracketed IPv6 address.
 * Default ports: udp and tcp 514, tls 6514, relp and relp+tls 2514.
 * Returns 0, or MM_EINVAL (u unchanged).
 */
int mm_send_url_parse(const char *s, struct mm_send_url *u);

/* The scheme name of a protocol ("relp+tls" ...). */
const char *mm_send_proto_name(enum mm_send_proto p);

enum mm_send_framing { MM_SEND_OCTET, MM_SEND_LF };

struct mm_sender_opts {
	struct mm_send_url url;
	const char *ca_file;     /* TLS: CA certificates the server must chain to (required) */
	const char *cert_file;   /* TLS: client certificate (mutual TLS); NULL: none */
	const char *key_file;    /* TLS: its private key */
	const char *server_name; /* TLS: name the server certificate must carry;
	                            NULL: the URL's host */
	enum mm_send_framing framing; /* tcp, tls; default MM_SEND_OCTET */
	unsigned window;         /* records in flight; default 1024 */
	unsigned backoff_min_ms; /* first reconnect delay; default 100 */
	unsigned backoff_max_ms; /* cap of the delay; default 30000 */
	unsigned timeout_ms;     /* connect, handshake and RELP response timeout; default 10000 */
	unsigned stats_ms;       /* period of the counters log line; 0: never; default 60000 */
};

struct mm_send_counters {
	uint64_t queued;   /* appended to the spool (its counter) */
	uint64_t sent;     /* records transmitted for the first time */
	uint64_t acked;    /* records confirmed and removed from the spool */
	uint64_t resent;   /* records transmitted again after a connection broke */
	uint64_t refused;  /* appends refused because the spool was full (spool's counter) */
	uint64_t dropped;  /* records lost: deleted unsent by drop_oldest, found corrupt,
	                      or too large for the transport (UDP) */
	uint64_t pending;  /* records in the spool not yet confirmed */
	uint64_t connects; /* connections established */
	uint64_t failures; /* connection attempts or connections that failed */
};

struct mm_sender;

void mm_sender_opts_default(struct mm_sender_opts *o);

/*
 * Creates a sender for spool sp (which the caller keeps owning and must
 * close after mm_sender_free()). Checks the options (a TLS scheme needs
 * ca_file; cert_file and key_file go together) and loads nothing yet:
 * files are read at each connect, so renewed certificates are picked up.
 * Returns 0, MM_EINVAL (logged), MM_ENOMEM.
 */
int mm_sender_new(const struct mm_sender_opts *o, struct mm_spool *sp, struct mm_sender **out);

/*
 * Does the sending work that can be done within about timeout_ms: connects
 * when not connected and the backoff delay has passed, sends spooled
 * records up to the window, and collects confirmations (removing those
 * records from the spool). Errors of the connection are logged and handled
 * here (reconnect later, resend). Returns 0, or MM_EIO when the spool
 * failed (fatal for the caller).
 */
int mm_sender_run(struct mm_sender *s, int timeout_ms);

/*
 * Like mm_sender_run(), and also confirms what is in flight (for RELP by
 * closing the session gracefully). Returns 0 when every record of the
 * spool is confirmed, MM_EAGAIN when some are not after timeout_ms, MM_EIO
 * when the spool failed.
 */
int mm_sender_drain(struct mm_sender *s, int timeout_ms);

void mm_sender_counters(const struct mm_sender *s, struct mm_send_counters *c);

/* Logs the counters as one line at level info. */
void mm_sender_log_counters(const struct mm_sender *s, const char *why);

/*
 * 1 when the last connection failed because a certificate was refused (by
 * us: the server's chain or name did not check; or by the server: ours),
 * which retrying will not fix without a change of configuration.
 */
int mm_sender_auth_failed(const struct mm_sender *s);

/* Closes the connection (without waiting) and frees s. NULL is ignored. */
void mm_sender_free(struct mm_sender *s);

#ifdef __cplusplus
}
#endif
#endif
