/*
 * The RELP listener (relp:// and relp+tls://), started by listen_start().
 *
 * librelp runs its own loop, so each RELP listener has a thread of its own.
 * RELP acknowledges a message when the receive callback returns, and the
 * rule is that nothing acknowledged is ever lost, not even to kill -9. So
 * the callback only appends the message (with the peer's address) to a
 * journal on disk, a libmamori spool in STATE_DIR/relp-journal-PORT/ whose
 * write() survives the death of the process, and wakes the main loop. The
 * main loop reads the journal and offers each record to ingest with an
 * acknowledgement that the writer thread calls once the record is committed
 * to the store; only then is the record acknowledged in the journal.
 * Records left in the journal by a previous run are offered first.
 *
 * When the journal is full the callback waits (the sender's RELP window
 * fills: pushback) instead of refusing or dropping.
 *
 * librelp gives the receive callback the peer's address but neither its
 * port nor its certificate: RELP origins carry the address alone.
 */
#ifndef MAMORI_SOC_RELP_H
#define MAMORI_SOC_RELP_H

#include <stddef.h>

#include "listen.h"
#include "soc.h"

struct event_base;
struct ingest;
struct relp_listener;

/*
 * Starts a RELP listener (t is SOC_RELP or SOC_RELP_TLS) on host (NULL: all
 * addresses) and port (0: a free port picked now). Returns 0 with *out set,
 * MM_EINVAL, MM_EIO (bind, journal, TLS files), MM_EAGAIN (the journal is in
 * use by another process), MM_ENOMEM; err gets the reason.
 */
int relp_start(struct event_base *base, struct ingest *in, enum soc_transport t,
	       const char *host, unsigned port, const struct listen_tls *tls,
	       const struct listen_limits *lim, const char *state_dir,
	       struct relp_listener **out, char *err, size_t errlen);

/* The port it listens on. */
unsigned relp_port(const struct relp_listener *r);

/* Stops the thread, waits for the writer's acknowledgements of what was
 * offered (up to 10 s), closes the journal and frees r. NULL is ignored. */
void relp_stop(struct relp_listener *r);

#endif
