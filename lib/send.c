/*
 * The sender core: moves records from the spool to a transport, keeps the
 * window, counts, and reconnects with backoff and jitter when a connection
 * breaks. See include/mamori/send.h for what "confirmed" means for each
 * protocol, and send_int.h for the contract between core and transports.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <unistd.h>

#include "mamori/clock.h"
#include "mamori/error.h"
#include "mamori/log.h"
#include "send_int.h"

/* RELP confirms the newest window only by closing the session; do that
 * once no record has been handed out for this long. */
#define IDLE_FINISH_MS 1000

void mm_sender_opts_default(struct mm_sender_opts *o)
{
	memset(o, 0, sizeof *o);
	o->url.proto = MM_SEND_RELP;
	memcpy(o->url.host, "localhost", sizeof "localhost");
	memcpy(o->url.port, "2514", sizeof "2514");
	o->framing = MM_SEND_OCTET;
	o->window = 1024;
	o->backoff_min_ms = 100;
	o->backoff_max_ms = 30000;
	o->timeout_ms = 10000;
	o->stats_ms = 60000;
}

static int is_tls(enum mm_send_proto p)
{
	return p == MM_SEND_TLS || p == MM_SEND_RELP_TLS;
}

static int dup_opt(char **dst, const char *src)
{
	if (src == NULL)
		return 0;
	if ((*dst = strdup(src)) == NULL)
		return MM_ENOMEM;
	return 0;
}

int mm_sender_new(const struct mm_sender_opts *o, struct mm_spool *sp, struct mm_sender **out)
{
	struct mm_sender *s;
	struct sigaction sa;

	if (o->window == 0 || o->window > 1000000 || o->backoff_min_ms == 0 ||
	    o->backoff_max_ms < o->backoff_min_ms || o->timeout_ms < 1000) {
		log_warnx("send: window must be 1..1000000, backoff 0 < min <= max, "
			  "timeout at least 1000 ms");
		return MM_EINVAL;
	}
	if (is_tls(o->url.proto) && o->ca_file == NULL) {
		log_warnx("send: %s:// needs the CA certificates that the server's "
			  "certificate must chain to (--ca)", mm_send_proto_name(o->url.proto));
		return MM_EINVAL;
	}
	if ((o->cert_file == NULL) != (o->key_file == NULL)) {
		log_warnx("send: a client certificate and its key go together (--cert and --key)");
		return MM_EINVAL;
	}
	if (o->cert_file != NULL && !is_tls(o->url.proto)) {
		log_warnx("send: a client certificate needs tls:// or relp+tls://");
		return MM_EINVAL;
	}
	if ((s = calloc(1, sizeof *s)) == NULL)
		return MM_ENOMEM;
	s->o = *o;
	if (dup_opt(&s->ca_file, o->ca_file) < 0 || dup_opt(&s->cert_file, o->cert_file) < 0 ||
	    dup_opt(&s->key_file, o->key_file) < 0 ||
	    dup_opt(&s->server_name, o->server_name ? o->server_name : o->url.host) < 0) {
		mm_sender_free(s);
		return MM_ENOMEM;
	}
	s->o.ca_file = s->ca_file;
	s->o.cert_file = s->cert_file;
	s->o.key_file = s->key_file;
	s->o.server_name = s->server_name;
	s->sp = sp;
	s->t = (o->url.proto == MM_SEND_RELP || o->url.proto == MM_SEND_RELP_TLS)
		       ? &mm_transport_relp
		       : &mm_transport_stream;
	s->confirmed_upto = mm_spool_first_unacked(sp);
	s->max_sent_seq = 0;
	s->last_stats_ms = mm_clock_ms();

	/* A peer that closes while we write must be an error return, not the
	 * death of the process: OpenSSL and librelp write with plain write(). */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	*out = s;
	return 0;
}

int sender_confirm(struct mm_sender *s, uint64_t upto, uint64_t ndropped)
{
	uint64_t n;

	if (upto <= s->confirmed_upto)
		return 0;
	n = upto - s->confirmed_upto;
	if (n > s->inflight)
		n = s->inflight;
	if (ndropped > n)
		ndropped = n;
	s->inflight -= n;
	s->acked += n - ndropped;
	s->dropped += ndropped;
	s->confirmed_upto = upto;
	/* A confirmation proves the connection works: the next failure starts
	 * the backoff from the beginning again. */
	s->failures_in_row = 0;
	return mm_spool_ack(s->sp, upto);
}

/* Exponential backoff from backoff_min_ms to backoff_max_ms; the delay is
 * drawn uniformly from its upper half, so that many devices that lost the
 * same SOC do not all come back in the same second. */
static void schedule_retry(struct mm_sender *s)
{
	uint64_t d = s->o.backoff_min_ms;
	unsigned i, r = 0;

	for (i = 0; i < s->failures_in_row && d < s->o.backoff_max_ms; i++)
		d *= 2;
	if (d > s->o.backoff_max_ms)
		d = s->o.backoff_max_ms;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
		r = (unsigned)rand();
	d = d / 2 + (d / 2 > 0 ? r % (d / 2 + 1) : 0);
	s->failures_in_row++;
	s->next_try_ms = mm_clock_ms() + d;
	log_debug("send: next connection attempt in %llu ms", (unsigned long long)d);
}

static void disconnect(struct mm_sender *s, int failed)
{
	if (s->connected)
		s->t->close(s);
	s->connected = 0;
	s->inflight = 0;
	mm_spool_rewind(s->sp);
	if (failed) {
		s->failures++;
		schedule_retry(s);
	}
}

static int try_connect(struct mm_sender *s)
{
	int rc;

	if (mm_clock_ms() < s->next_try_ms)
		return MM_EAGAIN;
	s->auth_failed = 0;
	rc = s->t->open(s);
	if (rc < 0) {
		s->failures++;
		schedule_retry(s);
		return rc;
	}
	s->connected = 1;
	s->connects++;
	s->inflight = 0;
	mm_spool_rewind(s->sp);
	log_debug("send: connected to %s://%s:%s", mm_send_proto_name(s->o.url.proto),
		  s->o.url.host, s->o.url.port);
	return 0;
}

#define BROKEN 2 /* fill(): the transport failed */

/* Hands records to the transport while it has room. 1 when the spool has
 * nothing more to hand out, 0 when the transport is full, BROKEN when the
 * connection failed, MM_EIO when the spool did. */
static int fill(struct mm_sender *s)
{
	struct mm_spool_rec r;
	unsigned n;
	int rc = 0;

	/* At most a window per round, so that a caller that also reads input
	 * gets its turn between rounds. */
	for (n = 0; n < s->o.window && s->t->room(s); n++) {
		rc = mm_spool_read(s->sp, &r);
		if (rc == MM_ENOTFOUND) {
			rc = 1;
			break;
		}
		if (rc < 0)
			return MM_EIO;
		s->inflight++;
		if (r.seq <= s->max_sent_seq) {
			s->resent++;
		} else {
			s->sent++;
			s->max_sent_seq = r.seq;
		}
		if (s->t->send(s, &r) < 0)
			return BROKEN;
	}
	if (n > 0) /* the clock once per round, not per record */
		s->last_send_ms = mm_clock_ms();
	return rc;
}

static void maybe_log_stats(struct mm_sender *s)
{
	uint64_t now;

	if (s->o.stats_ms == 0)
		return;
	now = mm_clock_ms();
	if (now - s->last_stats_ms >= s->o.stats_ms) {
		s->last_stats_ms = now;
		mm_sender_log_counters(s, "periodic");
	}
}

/* One round of work; *idle is set when the spool has nothing more to send. */
static int step(struct mm_sender *s, int wait_ms, int *idle)
{
	int rc;

	*idle = 0;
	if (!s->connected) {
		rc = try_connect(s);
		if (rc == MM_EAGAIN) {
			uint64_t now = mm_clock_ms();
			uint64_t w = s->next_try_ms > now ? s->next_try_ms - now : 0;
			if (wait_ms > 0)
				poll(NULL, 0, (int)(w < (uint64_t)wait_ms ? w : (uint64_t)wait_ms));
			return 0;
		}
		if (rc < 0)
			return 0;
	}
	rc = fill(s);
	if (rc < 0)
		return rc;
	if (rc == BROKEN) {
		disconnect(s, 1);
		return 0;
	}
	*idle = rc == 1;
	/* Wait only when there is nothing to hand out or no room for it. */
	if ((rc = s->t->pump(s, *idle || !s->t->room(s) ? wait_ms : 0)) < 0) {
		disconnect(s, 1);
		return 0;
	}
	if (*idle && s->t->confirm_by_finish && s->inflight > 0 &&
	    mm_clock_ms() - s->last_send_ms >= IDLE_FINISH_MS) {
		rc = s->t->finish(s, (int)s->o.timeout_ms);
		if (rc < 0 && rc != MM_EAGAIN)
			disconnect(s, 1);
	}
	return 0;
}

int mm_sender_run(struct mm_sender *s, int timeout_ms)
{
	uint64_t end = mm_clock_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	int idle, rc;

	do {
		uint64_t now = mm_clock_ms();
		int left = now < end ? (int)(end - now) : 0;
		if ((rc = step(s, left, &idle)) < 0)
			return rc;
	} while (!idle && mm_clock_ms() < end);
	maybe_log_stats(s);
	if (mm_spool_tick(s->sp) < 0)
		return MM_EIO;
	return 0;
}

int mm_sender_drain(struct mm_sender *s, int timeout_ms)
{
	uint64_t end = mm_clock_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	int idle, rc;

	for (;;) {
		uint64_t now = mm_clock_ms();
		int left = now < end ? (int)(end - now) : 0;
		if (mm_spool_first_unacked(s->sp) == mm_spool_next_seq(s->sp))
			break;
		if (now >= end)
			break;
		if ((rc = step(s, left < 100 ? left : 100, &idle)) < 0)
			return rc;
		if (s->connected && idle && s->inflight > 0) {
			rc = s->t->finish(s, left);
			if (rc < 0 && rc != MM_EAGAIN)
				disconnect(s, 1);
		}
	}
	maybe_log_stats(s);
	if (mm_spool_tick(s->sp) < 0)
		return MM_EIO;
	return mm_spool_first_unacked(s->sp) == mm_spool_next_seq(s->sp) ? 0 : MM_EAGAIN;
}

void mm_sender_counters(const struct mm_sender *s, struct mm_send_counters *c)
{
	struct mm_spool_stats st;

	mm_spool_stats(s->sp, &st);
	memset(c, 0, sizeof *c);
	c->queued = st.queued;
	c->sent = s->sent;
	c->acked = s->acked;
	c->resent = s->resent;
	c->refused = st.refused;
	c->dropped = st.dropped + s->dropped;
	c->pending = mm_spool_next_seq(s->sp) - mm_spool_first_unacked(s->sp);
	c->connects = s->connects;
	c->failures = s->failures;
}

void mm_sender_log_counters(const struct mm_sender *s, const char *why)
{
	struct mm_send_counters c;

	mm_sender_counters(s, &c);
	log_info("send %s://%s:%s (%s): queued %llu, sent %llu, acknowledged %llu, "
		 "resent %llu, refused %llu, dropped %llu, pending %llu, connections %llu, "
		 "failures %llu",
		 mm_send_proto_name(s->o.url.proto), s->o.url.host, s->o.url.port, why,
		 (unsigned long long)c.queued, (unsigned long long)c.sent,
		 (unsigned long long)c.acked, (unsigned long long)c.resent,
		 (unsigned long long)c.refused, (unsigned long long)c.dropped,
		 (unsigned long long)c.pending, (unsigned long long)c.connects,
		 (unsigned long long)c.failures);
}

int mm_sender_auth_failed(const struct mm_sender *s)
{
	return s->auth_failed;
}

void mm_sender_free(struct mm_sender *s)
{
	if (s == NULL)
		return;
	if (s->connected)
		s->t->close(s);
	if (s->t != NULL && s->t->free != NULL)
		s->t->free(s);
	free(s->ca_file);
	free(s->cert_file);
	free(s->key_file);
	free(s->server_name);
	free(s);
}

int mm_send_connect(const struct mm_send_url *u, int type, int timeout_ms)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc, err = 0;
	socklen_t len = sizeof err;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = type;
	if ((rc = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
		log_warnx("send: %s: %s", u->host, gai_strerror(rc));
		return MM_EIO;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, timeout_ms) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
				break;
			if (err != 0)
				errno = err;
			else
				errno = ETIMEDOUT;
		}
		log_warn("send: connect to %s port %s", u->host, u->port);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : MM_EIO;
}
