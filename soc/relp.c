/*
 * The RELP listener: librelp's server in a thread of its own, a journal on
 * disk between it and the main loop. See relp.h for the contract.
 *
 * Three threads touch a listener, each for one thing, and the journal (a
 * libmamori spool, which is used by one thread at a time) only under mu:
 *   - the RELP thread appends what librelp received (rcv), and waits while
 *     the journal is full;
 *   - the main loop reads new records and offers them to ingest (pump);
 *   - the writer thread acknowledges records once they are committed
 *     (acked), which frees journal space and wakes a waiting RELP thread.
 * The writer acknowledges in the order things were offered, so one
 * cumulative mm_spool_ack() per message is exact.
 *
 * A journal record is [version 1][transport][address length][address][MSG].
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <librelp.h>

#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/spool.h"

#include "ingest.h"
#include "relp.h"
#include "soc.h"

#define REC_VERSION 1
#define REC_HDR 3
/* How long relp_stop() waits for the writer's acknowledgements. */
#define STOP_WAIT_S 10

struct relp_listener {
	struct event_base *base;
	struct ingest *in;
	enum soc_transport t;
	size_t max_msg;
	char host[64];   /* empty: all addresses */
	unsigned port;
	relpEngine_t *eng;
	pthread_t thr;
	int thr_started;

	pthread_mutex_t mu;     /* guards sp, stopping, inflight */
	pthread_cond_t cond;    /* journal space freed, or inflight reached 0 */
	struct mm_spool *sp;
	int stopping;
	long inflight;          /* offered to ingest, not yet acknowledged */

	/* RELP thread only */
	uint8_t *jbuf;
	size_t jcap;

	/* main loop only */
	int wake_fd;            /* eventfd: the RELP thread journaled something */
	struct event *wake_ev, *tick_ev;
	uint8_t *rec;           /* the record being offered, copied out of the journal */
	size_t rec_len;
	uint64_t rec_seq;
	int have_rec;
	int waiting_room;
	struct soc_origin origin;
	const uint8_t *msg;
	size_t msg_len;
};

/* librelp calls its debug hook unconditionally and has no default one. */
static void relp_dbg(char *fmt, ...)
{
	(void)fmt;
}

static void on_err(void *usr, char *objinfo, char *errmsg, relpRetVal code)
{
	(void)usr;
	log_warnx("relp: %s: %s (librelp %d)", objinfo ? objinfo : "", errmsg ? errmsg : "",
		  (int)code);
}

static void on_auth_err(void *usr, char *authinfo, char *errmsg, relpRetVal code)
{
	(void)usr;
	soc_count(SOC_C_TLS_FAILED, 1);
	log_warnx("relp: peer %s refused: %s (librelp %d)", authinfo ? authinfo : "",
		  errmsg ? errmsg : "", (int)code);
}

static void on_generic_err(char *objinfo, char *errmsg, relpRetVal code)
{
	log_warnx("relp: %s: %s (librelp %d)", objinfo ? objinfo : "", errmsg ? errmsg : "",
		  (int)code);
}

static void wake_main(struct relp_listener *r)
{
	uint64_t one = 1;
	ssize_t n;

	/* A full counter (never in practice) means a wake-up is pending anyway. */
	n = write(r->wake_fd, &one, sizeof one);
	(void)n;
}

/*
 * librelp's receive callback, in the RELP thread. The message is
 * acknowledged to the sender when this returns RELP_RET_OK, so it returns
 * only once the message is in the journal. A full journal makes it wait
 * (the sender's window fills); only shutdown or a write error make it
 * refuse, and then the sender keeps the message and sends it again.
 */
static relpRetVal rcv(void *usr, unsigned char *hostname, unsigned char *ip, unsigned char *msg,
		      size_t len)
{
	struct relp_listener *r = usr;
	size_t alen = ip ? strnlen((const char *)ip, sizeof r->origin.peer_addr - 1) : 0;
	size_t n;
	int rc = 0, waited = 0;
	struct timespec ts;

	(void)hostname;
	if (len > r->max_msg) {
		/* Kept one byte longer than max_msg, so that ingest makes it a
		 * dead letter as too long. */
		soc_count(SOC_C_FRAME_OVERSIZED, 1);
		len = r->max_msg + 1;
	}
	n = REC_HDR + alen + len;
	if (n > r->jcap)
		return RELP_RET_INVALID_PARAM; /* cannot be: jcap is max_msg + 1 + header */
	r->jbuf[0] = REC_VERSION;
	r->jbuf[1] = (uint8_t)r->t;
	r->jbuf[2] = (uint8_t)alen;
	memcpy(r->jbuf + REC_HDR, ip, alen);
	memcpy(r->jbuf + REC_HDR + alen, msg, len);

	pthread_mutex_lock(&r->mu);
	while (!r->stopping && r->sp != NULL && !mm_spool_fits(r->sp, n)) {
		if (!waited++)
			soc_count(SOC_C_PUSHBACK, 1);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&r->cond, &r->mu, &ts);
	}
	if (r->stopping || r->sp == NULL)
		rc = MM_EAGAIN;
	else
		rc = mm_spool_append(r->sp, r->jbuf, n);
	pthread_mutex_unlock(&r->mu);
	if (rc < 0) {
		if (rc != MM_EAGAIN)
			log_warnx("relp: journal: %s; message from %s not acknowledged",
				  mm_strerror(rc), ip ? (const char *)ip : "?");
		return RELP_RET_IO_ERR;
	}
	wake_main(r);
	return RELP_RET_OK;
}

static void *relp_thread(void *arg)
{
	struct relp_listener *r = arg;
	sigset_t all;

	/* Signals are the main loop's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	relpEngineRun(r->eng);
	return NULL;
}

/* ---- the main loop's side ---- */

/* Called by the writer thread once the record token is committed. */
static void acked(void *arg, uint64_t token)
{
	struct relp_listener *r = arg;

	pthread_mutex_lock(&r->mu);
	if (r->sp != NULL && mm_spool_ack(r->sp, token + 1) < 0)
		log_warnx("relp: journal acknowledgement failed; records may come again");
	r->inflight--;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
}

/* Takes the next journal record into r->rec and decodes its origin.
 * Returns 0, MM_ENOTFOUND when there is none, MM_EIO. */
static int next_record(struct relp_listener *r)
{
	struct mm_spool_rec jr;
	const uint8_t *p;
	size_t alen;
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = r->sp != NULL ? mm_spool_read(r->sp, &jr) : MM_ENOTFOUND;
	if (rc == 0 && jr.len <= r->jcap) {
		memcpy(r->rec, jr.data, jr.len);
		r->rec_len = jr.len;
		r->rec_seq = jr.seq;
	} else if (rc == 0) {
		rc = MM_ETOOBIG;
	}
	pthread_mutex_unlock(&r->mu);
	if (rc == MM_ETOOBIG) {
		/* Written by a run with a larger max_msg: offer its head, which
		 * ingest makes a dead letter. */
		log_warnx("relp: journal record %llu longer than this run's limit",
			  (unsigned long long)jr.seq);
		memcpy(r->rec, jr.data, r->jcap);
		r->rec_len = r->jcap;
		r->rec_seq = jr.seq;
		rc = 0;
	}
	if (rc < 0)
		return rc;
	p = r->rec;
	memset(&r->origin, 0, sizeof r->origin);
	r->origin.transport = r->t;
	if (r->rec_len >= REC_HDR && p[0] == REC_VERSION && p[1] < SOC_TRANSPORT_COUNT &&
	    (alen = p[2]) < sizeof r->origin.peer_addr && REC_HDR + alen <= r->rec_len) {
		r->origin.transport = (enum soc_transport)p[1];
		memcpy(r->origin.peer_addr, p + REC_HDR, alen);
		r->origin.peer_addr[alen] = '\0';
		memcpy(r->origin.peer, p + REC_HDR, alen);
		r->origin.peer[alen] = '\0';
		r->msg = p + REC_HDR + alen;
		r->msg_len = r->rec_len - REC_HDR - alen;
	} else {
		/* Not a record of ours (the CRC held, the layout did not): kept
		 * whole, ingest decides. */
		r->msg = p;
		r->msg_len = r->rec_len;
	}
	r->have_rec = 1;
	return 0;
}

static void pump(struct relp_listener *r);

static void room(void *arg)
{
	struct relp_listener *r = arg;

	r->waiting_room = 0;
	pump(r);
}

/* Offers journal records to ingest until there are none or ingest is full. */
static void pump(struct relp_listener *r)
{
	struct ingest_ack ack;
	int rc;

	if (r->waiting_room)
		return;
	for (;;) {
		if (!r->have_rec && (rc = next_record(r)) < 0) {
			if (rc != MM_ENOTFOUND)
				log_warnx("relp: journal read: %s", mm_strerror(rc));
			return;
		}
		ack.fn = acked;
		ack.arg = r;
		ack.token = r->rec_seq;
		pthread_mutex_lock(&r->mu);
		r->inflight++;
		pthread_mutex_unlock(&r->mu);
		rc = ingest_offer(r->in, &r->origin, r->msg, r->msg_len, &ack);
		if (rc < 0) {
			pthread_mutex_lock(&r->mu);
			r->inflight--;
			pthread_mutex_unlock(&r->mu);
			if (rc == MM_EFULL && ingest_on_room(r->in, room, r) == 0) {
				soc_count(SOC_C_PUSHBACK, 1);
				r->waiting_room = 1;
			} else if (rc != MM_EFULL) {
				log_warnx("relp: %s: %s; offered again in a second", r->origin.peer,
					  mm_strerror(rc));
			}
			return; /* else the tick tries again */
		}
		r->have_rec = 0;
	}
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;
	ssize_t got;

	(void)what;
	got = read(fd, &n, sizeof n);
	(void)got;
	pump(arg);
}

/* Once a second: the journal's "ack" file, and another try after an error. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct relp_listener *r = arg;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&r->mu);
	if (r->sp != NULL)
		mm_spool_tick(r->sp);
	pthread_mutex_unlock(&r->mu);
	pump(r);
}

/* ---- start and stop ---- */

/* librelp cannot tell which port it bound: port 0 is resolved here by
 * binding a socket of our own to any free port and handing that on. */
static int free_port(const char *host, unsigned *port, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = -1, rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, "0", &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve \"%s\": %s", host ? host : "*",
			 gai_strerror(rc));
		return MM_EINVAL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(err, errlen, "cannot find a free port: %s", strerror(errno));
		rc = MM_EIO;
	} else {
		*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port);
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

/* relpEngineRun() sleeps in epoll_wait() until a socket is ready: a
 * connection to its own listening socket wakes it to see the stop flag. */
static void wake_engine(const struct relp_listener *r)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *host = r->host[0] ? r->host : "localhost";
	char port[8];
	int fd;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof port, "%u", r->port);
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			close(fd);
			break;
		}
		close(fd);
	}
	freeaddrinfo(res);
}

static int engine_setup(struct relp_listener *r, const struct listen_tls *tls, char *err,
			size_t errlen)
{
	relpSrv_t *srv = NULL;
	char port[8];
	relpRetVal rr;

	if (relpEngineConstruct(&r->eng) != RELP_RET_OK)
		return MM_ENOMEM;
	relpEngineSetDbgprint(r->eng, relp_dbg);
	relpEngineSetEnableCmd(r->eng, (unsigned char *)"syslog", eRelpCmdState_Required);
	relpEngineSetDnsLookupMode(r->eng, 0);
	relpEngineSetOnErr(r->eng, on_err);
	relpEngineSetOnAuthErr(r->eng, on_auth_err);
	relpEngineSetOnGenericErr(r->eng, on_generic_err);
	relpEngineSetSyslogRcv2(r->eng, rcv);
	/* librelp's OpenSSL driver does not free the peer certificate it
	 * checks (one X509 per connection); its GnuTLS driver does. */
	if (r->t == SOC_RELP_TLS && relpEngineSetTLSLibByName(r->eng, "gnutls") != RELP_RET_OK)
		log_warnx("relp: librelp has no GnuTLS support; using its default TLS library");
	if (relpEngineListnerConstruct(r->eng, &srv) != RELP_RET_OK)
		return MM_ENOMEM;
	snprintf(port, sizeof port, "%u", r->port);
	relpSrvSetUsrPtr(srv, r);
	relpSrvSetLstnPort(srv, (unsigned char *)port);
	if (r->host[0])
		relpSrvSetLstnAddr(srv, (unsigned char *)r->host);
	relpSrvSetMaxDataSize(srv, r->max_msg + 1 < 128 ? 128 : r->max_msg + 1);
	relpSrvSetOversizeMode(srv, RELP_OVERSIZE_TRUNCATE);
	if (r->t == SOC_RELP_TLS) {
		if (tls == NULL || tls->cert == NULL || tls->key == NULL ||
		    (tls->verify != 0 && tls->ca == NULL)) {
			snprintf(err, errlen, "relp+tls needs a certificate, a key%s",
				 tls && tls->verify ? " and a CA" : "");
			return MM_EINVAL;
		}
		if (relpSrvEnableTLS2(srv) != RELP_RET_OK ||
		    (tls->ca != NULL && relpSrvSetCACert(srv, (char *)tls->ca) != RELP_RET_OK) ||
		    relpSrvSetOwnCert(srv, (char *)tls->cert) != RELP_RET_OK ||
		    relpSrvSetPrivKey(srv, (char *)tls->key) != RELP_RET_OK ||
		    (tls->verify != 0 &&
		     relpSrvSetAuthMode(srv, (char *)"certvalid") != RELP_RET_OK)) {
			snprintf(err, errlen, "relp+tls setup failed (cert %s, key %s, ca %s)",
				 tls->cert, tls->key, tls->ca ? tls->ca : "-");
			return MM_EIO;
		}
	}
	/* On the failures below the server object stays with librelp, which has
	 * no public way to free one that was never started. */
	if ((rr = relpEngineListnerConstructFinalize(r->eng, srv)) != RELP_RET_OK) {
		snprintf(err, errlen, "cannot listen on relp %s port %u (librelp %d)",
			 r->host[0] ? r->host : "*", r->port, (int)rr);
		return MM_EIO;
	}
	return 0;
}

static int journal_open(struct relp_listener *r, const char *state_dir, char *err,
			size_t errlen)
{
	struct mm_spool_opts o;
	struct mm_spool_recovery rec;
	char dir[4096];
	int rc;

	mm_spool_opts_default(&o);
	o.sync = MM_SPOOL_SYNC_NEVER; /* write() survives the process; see relp.h */
	o.max_record = (uint32_t)r->jcap;
	if (o.max_bytes < 24 + (uint64_t)o.max_record * 4)
		o.max_bytes = 24 + (uint64_t)o.max_record * 4;
	if ((size_t)snprintf(dir, sizeof dir, "%s/relp-journal-%u", state_dir, r->port) >=
	    sizeof dir) {
		snprintf(err, errlen, "state directory path too long");
		return MM_EINVAL;
	}
	memset(&rec, 0, sizeof rec);
	if ((rc = mm_spool_open(dir, &o, &r->sp, &rec)) < 0) {
		snprintf(err, errlen, "relp journal %s: %s", dir, mm_strerror(rc));
		return rc;
	}
	if (rec.records > 0)
		log_info("relp: journal %s: %llu records from before are offered first", dir,
			 (unsigned long long)rec.records);
	return 0;
}

int relp_start(struct event_base *base, struct ingest *in, enum soc_transport t,
	       const char *host, unsigned port, const struct listen_tls *tls,
	       const struct listen_limits *lim, const char *state_dir,
	       struct relp_listener **out, char *err, size_t errlen)
{
	struct relp_listener *r;
	struct timeval sec = {1, 0};
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof *r)) == NULL)
		return MM_ENOMEM;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->base = base;
	r->in = in;
	r->t = t;
	r->wake_fd = -1;
	r->max_msg = lim->max_msg;
	r->jcap = REC_HDR + 255 + r->max_msg + 1;
	if (host != NULL && strlen(host) >= sizeof r->host) {
		snprintf(err, errlen, "address too long");
		rc = MM_EINVAL;
		goto fail;
	}
	snprintf(r->host, sizeof r->host, "%s", host ? host : "");
	r->port = port;
	if (port == 0 && (rc = free_port(host, &r->port, err, errlen)) < 0)
		goto fail;
	rc = MM_ENOMEM;
	if ((r->jbuf = malloc(r->jcap)) == NULL || (r->rec = malloc(r->jcap)) == NULL)
		goto fail;
	if ((rc = journal_open(r, state_dir, err, errlen)) < 0)
		goto fail;
	if ((r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		rc = MM_EIO;
		goto fail;
	}
	rc = MM_ENOMEM;
	if ((r->wake_ev = event_new(base, r->wake_fd, EV_READ | EV_PERSIST, on_wake, r)) == NULL ||
	    (r->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, r)) == NULL)
		goto fail;
	event_add(r->wake_ev, NULL);
	event_add(r->tick_ev, &sec);
	if ((rc = engine_setup(r, tls, err, errlen)) < 0)
		goto fail;
	if ((rc = pthread_create(&r->thr, NULL, relp_thread, r)) != 0) {
		snprintf(err, errlen, "cannot start the RELP thread: %s", strerror(rc));
		rc = MM_EIO;
		goto fail;
	}
	r->thr_started = 1;
	/* What the journal kept from before goes first. */
	pump(r);
	*out = r;
	return 0;
fail:
	relp_stop(r);
	return rc;
}

unsigned relp_port(const struct relp_listener *r)
{
	return r->port;
}

void relp_stop(struct relp_listener *r)
{
	struct timespec ts;
	int leak = 0;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
	if (r->thr_started) {
		relpEngineSetStop(r->eng);
		wake_engine(r);
		pthread_join(r->thr, NULL);
	}
	if (r->eng != NULL)
		relpEngineDestruct(&r->eng);
	if (r->waiting_room)
		ingest_cancel_room(r->in, r);
	if (r->wake_ev != NULL)
		event_free(r->wake_ev);
	if (r->tick_ev != NULL)
		event_free(r->tick_ev);
	/* The writer still holds what was offered and will acknowledge it. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += STOP_WAIT_S;
	pthread_mutex_lock(&r->mu);
	while (r->inflight > 0)
		if (pthread_cond_timedwait(&r->cond, &r->mu, &ts) == ETIMEDOUT)
			break;
	if (r->inflight > 0) {
		/* acked() may still come: it must find the listener, without its
		 * journal. The records stay unacknowledged and come again. */
		log_warnx("relp: %ld records not committed in %d s; they are offered again "
			  "at the next start", r->inflight, STOP_WAIT_S);
		leak = 1;
	}
	mm_spool_close(r->sp);
	r->sp = NULL;
	pthread_mutex_unlock(&r->mu);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	free(r->jbuf);
	free(r->rec);
	r->jbuf = r->rec = NULL;
	if (leak)
		return;
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
