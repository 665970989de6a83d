/*
 * The RELP transport of the sender, over librelp (plain or TLS).
 *
 * librelp tells its caller nothing about single acknowledgements, but two of
 * its rules make them known anyway. relpCltSendSyslog() hands a message out
 * only while fewer than `window` messages are unacknowledged, and a RELP
 * server answers the commands of a session in order. So once a message has
 * been handed out, every message older than the newest `window` has been
 * acknowledged. The newest ones are confirmed by closing the session: the
 * server answers "close" only after everything before it, and librelp
 * reports through the error callback when that answer does not come.
 *
 * librelp would resend its unacknowledged messages itself on reconnect;
 * the spool already does that, so a broken session is thrown away whole
 * and the core resends from the oldest unconfirmed record.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <librelp.h>

#include "mamori/error.h"
#include "mamori/log.h"
#include "send_int.h"

struct relp {
	relpEngine_t *eng;
	relpClt_t *clt;
	int err;        /* librelp reported an error since the last check */
	uint64_t *ring; /* seqs handed to librelp, oldest first */
	size_t cap, head, count;
};

static struct relp *rp_of(struct mm_sender *s)
{
	return s->tp;
}

static void on_err(void *usr, char *objinfo, char *errmsg, relpRetVal code)
{
	struct mm_sender *s = usr;

	if (s != NULL && s->tp != NULL)
		rp_of(s)->err = 1;
	log_warnx("send: relp %s: %s (librelp %d)", objinfo ? objinfo : "", errmsg ? errmsg : "",
		  (int)code);
}

static void on_auth_err(void *usr, char *authinfo, char *errmsg, relpRetVal code)
{
	struct mm_sender *s = usr;

	if (s != NULL && s->tp != NULL) {
		rp_of(s)->err = 1;
		s->auth_failed = 1;
	}
	log_warnx("send: relp peer %s not accepted: %s (librelp %d)", authinfo ? authinfo : "",
		  errmsg ? errmsg : "", (int)code);
}

static void on_generic_err(char *objinfo, char *errmsg, relpRetVal code)
{
	log_warnx("send: relp %s: %s (librelp %d)", objinfo ? objinfo : "", errmsg ? errmsg : "",
		  (int)code);
}

/* librelp calls its debug hook unconditionally and has no default one. */
static void relp_dbg(char *fmt, ...)
{
	(void)fmt;
}

static int relp_init(struct mm_sender *s)
{
	struct relp *rp;

	if ((rp = calloc(1, sizeof *rp)) == NULL)
		return MM_ENOMEM;
	rp->cap = (size_t)s->o.window + 1;
	if ((rp->ring = calloc(rp->cap, sizeof *rp->ring)) == NULL) {
		free(rp);
		return MM_ENOMEM;
	}
	if (relpEngineConstruct(&rp->eng) != RELP_RET_OK) {
		free(rp->ring);
		free(rp);
		return MM_ENOMEM;
	}
	relpEngineSetDbgprint(rp->eng, relp_dbg);
	relpEngineSetEnableCmd(rp->eng, (unsigned char *)"syslog", eRelpCmdState_Required);
	relpEngineSetOnErr(rp->eng, on_err);
	relpEngineSetOnAuthErr(rp->eng, on_auth_err);
	relpEngineSetOnGenericErr(rp->eng, on_generic_err);
	/* librelp's OpenSSL driver does not free the peer certificate it
	 * checks (one X509 per connection); its GnuTLS driver does. */
	if (s->o.url.proto == MM_SEND_RELP_TLS &&
	    relpEngineSetTLSLibByName(rp->eng, "gnutls") != RELP_RET_OK)
		log_warnx("send: librelp has no GnuTLS support; using its default TLS library");
	s->tp = rp;
	return 0;
}

static void relp_close(struct mm_sender *s)
{
	struct relp *rp = rp_of(s);

	if (rp == NULL || rp->clt == NULL)
		return;
	/* Destructing a session that is not broken sends "close" and waits for
	 * the answer; a broken one is just dropped. Either way what is still in
	 * the ring is resent by the core. */
	relpEngineCltDestruct(rp->eng, &rp->clt);
	rp->clt = NULL;
	rp->count = rp->head = 0;
}

static int relp_open(struct mm_sender *s)
{
	struct relp *rp;
	relpRetVal r;
	int rc;
	unsigned tmo = (s->o.timeout_ms + 999) / 1000;

	if (s->tp == NULL && (rc = relp_init(s)) < 0)
		return rc;
	rp = rp_of(s);
	rp->err = 0;
	rp->count = rp->head = 0;
	if (relpEngineCltConstruct(rp->eng, &rp->clt) != RELP_RET_OK)
		return MM_ENOMEM;
	relpCltSetUsrPtr(rp->clt, s);
	relpCltSetTimeout(rp->clt, tmo);
	relpCltSetConnTimeout(rp->clt, (int)tmo);
	relpCltSetWindowSize(rp->clt, (int)s->o.window);
	if (s->o.url.proto == MM_SEND_RELP_TLS) {
		if (relpCltEnableTLS(rp->clt) != RELP_RET_OK ||
		    relpCltSetCACert(rp->clt, (char *)s->o.ca_file) != RELP_RET_OK ||
		    (s->o.cert_file != NULL &&
		     (relpCltSetOwnCert(rp->clt, (char *)s->o.cert_file) != RELP_RET_OK ||
		      relpCltSetPrivKey(rp->clt, (char *)s->o.key_file) != RELP_RET_OK)) ||
		    relpCltSetAuthMode(rp->clt, (char *)"name") != RELP_RET_OK ||
		    relpCltAddPermittedPeer(rp->clt, (char *)s->o.server_name) != RELP_RET_OK) {
			log_warnx("send: relp+tls setup failed");
			goto fail;
		}
	}
	r = relpCltConnect(rp->clt, AF_UNSPEC, (unsigned char *)s->o.url.port,
			   (unsigned char *)s->o.url.host);
	if (r != RELP_RET_OK || rp->err) {
		log_warnx("send: relp connection to %s port %s failed (librelp %d)", s->o.url.host,
			  s->o.url.port, (int)r);
		goto fail;
	}
	return 0;
fail:
	relpEngineCltDestruct(rp->eng, &rp->clt);
	rp->clt = NULL;
	return MM_EIO;
}

static int relp_room(struct mm_sender *s)
{
	(void)s;
	return 1; /* relpCltSendSyslog() itself waits while the window is full */
}

static int relp_send(struct mm_sender *s, const struct mm_spool_rec *r)
{
	struct relp *rp = rp_of(s);
	relpRetVal ret;
	uint64_t upto = 0;

	ret = relpCltSendSyslog(rp->clt, (unsigned char *)r->data, r->len);
	if (ret != RELP_RET_OK || rp->err) {
		log_warnx("send: relp send to %s port %s failed (librelp %d)", s->o.url.host,
			  s->o.url.port, (int)ret);
		return MM_EIO;
	}
	rp->ring[(rp->head + rp->count) % rp->cap] = r->seq;
	rp->count++;
	/* librelp holds at most `window` unacknowledged: older ones are done. */
	while (rp->count > s->o.window) {
		upto = rp->ring[rp->head] + 1;
		rp->head = (rp->head + 1) % rp->cap;
		rp->count--;
	}
	return upto > 0 ? sender_confirm(s, upto, 0) : 0;
}

/* librelp reads acknowledgements only while sending; there is nothing to
 * move here. (Its burst hint, which corks the socket, made each window wait
 * for the cork timeout, so it is not used.) */
static int relp_pump(struct mm_sender *s, int timeout_ms)
{
	(void)s;
	if (timeout_ms > 0)
		poll(NULL, 0, timeout_ms);
	return 0;
}

/* Closes the session gracefully: a "close" answered means every message
 * before it was acknowledged. */
static int relp_finish(struct mm_sender *s, int timeout_ms)
{
	struct relp *rp = rp_of(s);
	uint64_t upto;

	(void)timeout_ms; /* librelp waits up to its own timeout */
	if (rp->count == 0)
		return 0;
	upto = rp->ring[(rp->head + rp->count - 1) % rp->cap] + 1;
	rp->err = 0;
	relp_close(s);
	s->connected = 0;
	if (rp->err) {
		log_warnx("send: relp session close was not answered; resending what it held");
		s->inflight = 0;
		mm_spool_rewind(s->sp);
		return MM_EIO;
	}
	return sender_confirm(s, upto, 0);
}

static void relp_free(struct mm_sender *s)
{
	struct relp *rp = rp_of(s);

	if (rp == NULL)
		return;
	relp_close(s);
	relpEngineDestruct(&rp->eng);
	free(rp->ring);
	free(rp);
	s->tp = NULL;
}

const struct mm_transport mm_transport_relp = {
	.open = relp_open,
	.room = relp_room,
	.send = relp_send,
	.pump = relp_pump,
	.finish = relp_finish,
	.close = relp_close,
	.free = relp_free,
	.confirm_by_finish = 1,
};
