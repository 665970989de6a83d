/*
 * The UDP, TCP and TLS listeners, on the main thread's event loop; RELP is
 * in relp.c. See listen.h for the contract.
 *
 * A stream connection is cut into frames by mm_frame. The decoder cannot
 * take a frame back once it has handed it out, so the bytes are fed one
 * chunk (at most CHUNK bytes) at a time, and when ingest refuses a frame
 * (its queue is full), that frame and every later frame of the same chunk
 * are kept in the connection ("held", bounded by max_msg plus the chunk)
 * and reading stops. When ingest has room again, the held frames are
 * offered first, in order, then the rest of the input buffer, and only then
 * is reading resumed. (ingest_offer() counts what it takes, received
 * messages and bytes; the listeners count what never reaches it.) The
 * input buffer itself never holds more than
 * conn_buffer bytes (its read high-water mark), so the sender's TCP window
 * fills: that is the pushback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/frame.h"
#include "mamori/log.h"

#include "ingest.h"
#include "listen.h"
#include "relp.h"
#include "soc.h"

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

/* Bytes of the input buffer given to the frame decoder at a time: a refused
 * frame keeps at most this much of the rest of its chunk. */
#define CHUNK 16384
/* Datagrams read per readiness event, so that one busy socket cannot keep
 * the loop from the others. */
#define UDP_BURST 256
/* The largest datagram (IPv4 and IPv6 without jumbograms). */
#define UDP_MAX 65535
/* How long accepting pauses after the process ran out of descriptors. */
#define ACCEPT_PAUSE_MS 1000
/* Bytes of a held frame's header: status (1) and length (4). */
#define HELD_HDR 5

enum held_status { HELD_MSG = 0, HELD_OVERSIZED = 1, HELD_MALFORMED = 2 };

struct listener;

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct listener *l;
	struct bufferevent *bev;
	struct soc_origin origin;
	struct mm_frame_dec dec;
	struct mm_buf held;   /* frames cut but not yet taken: [status][len32][bytes]... */
	size_t held_off;      /* where the next held frame starts */
	struct event *first_timer;
	int got_msg;          /* a whole message has arrived */
	int waiting_room;     /* registered with ingest_on_room() */
	int eof;              /* the peer closed (or the connection failed) */
	int connected;        /* TLS handshake done (TCP: always) */
};

TAILQ_HEAD(conn_list, conn);

/* Every stream connection of every listener: max_clients and max_per_addr
 * count across listeners. Main thread only. */
static struct conn_list all_conns = TAILQ_HEAD_INITIALIZER(all_conns);
static size_t nconns;

struct listener {
	struct event_base *base;
	struct ingest *in;
	enum soc_transport transport;
	struct listen_limits lim;
	char url[160];
	/* TCP and TLS */
	struct evconnlistener *evl;
	struct event *accept_timer;
	SSL_CTX *ssl;
	/* UDP */
	int fd;
	struct event *ev;
	uint8_t *dgram;        /* the receive buffer, UDP_MAX + 1 bytes */
	size_t held_len;       /* a refused datagram is kept in dgram */
	int held;
	int waiting_room;
	uint32_t ovfl_last;    /* the socket's drop count when last read */
	struct soc_origin held_origin;
	/* RELP */
	struct relp_listener *relp;
};

void listen_limits_default(struct listen_limits *l)
{
	memset(l, 0, sizeof *l);
	l->max_clients = 1024;
	l->max_per_addr = 256;
	l->max_msg = 64 * 1024;
	l->conn_buffer = 256 * 1024;
	l->udp_buffer = 0;
	l->idle_s = 300;
	l->first_msg_s = 30;
}

/* ---- addresses ---- */

/* Writes "addr" and "addr:port" ("[v6]:port") of sa into o; IPv4-mapped
 * IPv6 addresses are shown as IPv4, as the peer itself knows them. */
static void origin_of(struct soc_origin *o, const struct sockaddr *sa)
{
	char a[INET6_ADDRSTRLEN];
	unsigned port = 0;

	a[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
		port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], a, sizeof a);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
		port = ntohs(s6->sin6_port);
	}
	snprintf(o->peer_addr, sizeof o->peer_addr, "%s", a);
	if (strchr(a, ':') != NULL)
		snprintf(o->peer, sizeof o->peer, "[%s]:%u", a, port);
	else
		snprintf(o->peer, sizeof o->peer, "%s:%u", a, port);
}

struct url {
	enum soc_transport t;
	char host[INET6_ADDRSTRLEN + 8]; /* empty: all addresses */
	unsigned port;
};

/* Splits SCHEME://HOST:PORT; HOST may be [v6], "*" or empty (all addresses). */
static int url_parse(const char *s, struct url *u, char *err, size_t errlen)
{
	static const struct {
		const char *scheme;
		enum soc_transport t;
	} schemes[] = {{"udp://", SOC_UDP},   {"tcp://", SOC_TCP},
		       {"tls://", SOC_TLS},   {"relp://", SOC_RELP},
		       {"relp+tls://", SOC_RELP_TLS}};
	const char *p = NULL, *colon, *end;
	char *ep;
	size_t i, hl;
	unsigned long port;

	memset(u, 0, sizeof *u);
	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		size_t n = strlen(schemes[i].scheme);
		if (strncmp(s, schemes[i].scheme, n) == 0) {
			u->t = schemes[i].t;
			p = s + n;
			break;
		}
	}
	if (p == NULL)
		goto bad;
	if (*p == '[') {
		end = strchr(p, ']');
		if (end == NULL || end[1] != ':')
			goto bad;
		hl = (size_t)(end - p - 1);
		p++;
		colon = end + 1;
	} else {
		colon = strrchr(p, ':');
		if (colon == NULL || memchr(p, ':', (size_t)(colon - p)) != NULL)
			goto bad;
		hl = (size_t)(colon - p);
	}
	if (hl >= sizeof u->host)
		goto bad;
	memcpy(u->host, p, hl);
	u->host[hl] = '\0';
	if (strcmp(u->host, "*") == 0)
		u->host[0] = '\0';
	if (colon[1] < '0' || colon[1] > '9')
		goto bad;
	errno = 0;
	port = strtoul(colon + 1, &ep, 10);
	if (errno != 0 || *ep != '\0' || port > 65535)
		goto bad;
	u->port = (unsigned)port;
	return 0;
bad:
	snprintf(err, errlen, "bad listen URL \"%s\" (udp|tcp|tls|relp|relp+tls://ADDR:PORT)",
		 s);
	return MM_EINVAL;
}

/* Resolves the URL's address for binding (numeric or a name; empty: any). */
static int url_addr(const struct url *u, int socktype, struct sockaddr_storage *ss,
		    socklen_t *sl, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof port, "%u", u->port);
	rc = getaddrinfo(u->host[0] ? u->host : NULL, port, &hints, &res);
	if (rc != 0 || res == NULL || res->ai_addrlen > sizeof *ss) {
		snprintf(err, errlen, "cannot resolve \"%s\": %s", u->host,
			 rc != 0 ? gai_strerror(rc) : "no address");
		if (res != NULL)
			freeaddrinfo(res);
		return MM_EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Sets l->url from the socket's real address. */
static void set_url(struct listener *l, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	struct soc_origin o;

	memset(&o, 0, sizeof o);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		origin_of(&o, (const struct sockaddr *)&ss);
	snprintf(l->url, sizeof l->url, "%s://%s", soc_transport_name(l->transport), o.peer);
}

/* ---- stream connections ---- */

static void conn_pump(struct conn *c);

static void conn_free(struct conn *c)
{
	struct listener *l = c->l;

	if (c->waiting_room)
		ingest_cancel_room(l->in, c);
	if (c->first_timer != NULL)
		event_free(c->first_timer);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	mm_frame_free(&c->dec);
	mm_buf_free(&c->held);
	TAILQ_REMOVE(&all_conns, c, entry);
	nconns--;
	soc_gauge_add(SOC_C_CONN_OPEN, -1);
	free(c);
}

/* Gives one frame to ingest. Returns 0 when it was taken (or rejected as a
 * dead letter, which is never refused), MM_EFULL when ingest refused it. */
static int conn_offer(struct conn *c, int status, const uint8_t *msg, size_t len)
{
	struct ingest *in = c->l->in;
	size_t keep = len < SOC_DEAD_MAX ? len : SOC_DEAD_MAX;

	switch (status) {
	case HELD_MSG:
		return ingest_offer(in, &c->origin, msg, len, NULL);
	case HELD_OVERSIZED:
		ingest_reject(in, &c->origin, msg, keep, len, "frame too large");
		return 0;
	default:
		ingest_reject(in, &c->origin, msg, keep, len,
			      "malformed frame (bad octet count or truncated)");
		return 0;
	}
}

static int held_push(struct conn *c, int status, const uint8_t *msg, size_t len)
{
	uint8_t hdr[HELD_HDR];
	uint32_t n = (uint32_t)len;
	int rc;

	hdr[0] = (uint8_t)status;
	memcpy(hdr + 1, &n, sizeof n);
	if ((rc = mm_buf_reserve(&c->held, HELD_HDR + len)) < 0)
		return rc;
	mm_buf_append(&c->held, hdr, sizeof hdr);
	return mm_buf_append(&c->held, msg, len);
}

/* mm_frame's callback: counts the frame, then offers it, unless frames are
 * held already (order is kept) or ingest refuses it: then it is held. */
static int on_frame(void *arg, const uint8_t *msg, size_t len, int status)
{
	struct conn *c = arg;
	int hs, rc;

	if (status == 0) {
		hs = HELD_MSG;
		if (!c->got_msg) {
			c->got_msg = 1;
			if (c->first_timer != NULL)
				evtimer_del(c->first_timer);
		}
	} else if (status == MM_ETOOBIG) {
		hs = HELD_OVERSIZED;
		soc_count(SOC_C_FRAME_OVERSIZED, 1);
		log_debug("listen: %s: frame longer than %zu bytes", c->origin.peer,
			  c->l->lim.max_msg);
	} else {
		hs = HELD_MALFORMED;
		soc_count(SOC_C_FRAME_MALFORMED, 1);
		log_debug("listen: %s: malformed frame", c->origin.peer);
	}
	if (c->held.len == 0) {
		rc = conn_offer(c, hs, msg, len);
		if (rc == 0)
			return 0;
		if (rc != MM_EFULL)
			return rc;
	}
	if ((rc = held_push(c, hs, msg, len)) < 0) {
		log_warnx("listen: %s: %s holding a refused frame", c->origin.peer,
			  mm_strerror(rc));
		return rc;
	}
	return 0;
}

/* Offers the held frames in order. Returns 0 when all were taken,
 * MM_EFULL when ingest refused one (it stays first). */
static int held_drain(struct conn *c)
{
	while (c->held_off < c->held.len) {
		const uint8_t *p = (const uint8_t *)c->held.data + c->held_off;
		uint32_t n;
		int rc;

		memcpy(&n, p + 1, sizeof n);
		if ((rc = conn_offer(c, p[0], p + HELD_HDR, n)) < 0)
			return rc;
		c->held_off += HELD_HDR + n;
	}
	mm_buf_reset(&c->held);
	c->held_off = 0;
	return 0;
}

static void conn_room(void *arg)
{
	struct conn *c = arg;

	c->waiting_room = 0;
	conn_pump(c);
}

/* Stops reading until ingest has room again. */
static void conn_pause(struct conn *c)
{
	bufferevent_disable(c->bev, EV_READ);
	if (c->waiting_room)
		return;
	soc_count(SOC_C_PUSHBACK, 1);
	if (ingest_on_room(c->l->in, conn_room, c) < 0) {
		log_warnx("listen: %s: cannot wait for room; closing", c->origin.peer);
		conn_free(c);
		return;
	}
	c->waiting_room = 1;
}

/* Moves what can be moved: held frames first, then the input buffer, chunk
 * by chunk; at the end of the stream the last frame; then reads on, pauses,
 * or closes. */
static void conn_pump(struct conn *c)
{
	struct evbuffer *inb = bufferevent_get_input(c->bev);
	struct evbuffer_iovec v;
	size_t n;
	int rc;

	if ((rc = held_drain(c)) < 0)
		goto stop;
	while (evbuffer_get_length(inb) > 0) {
		if (evbuffer_peek(inb, CHUNK, NULL, &v, 1) < 1)
			break;
		n = v.iov_len < CHUNK ? v.iov_len : CHUNK;
		rc = mm_frame_feed(&c->dec, v.iov_base, n, on_frame, c);
		evbuffer_drain(inb, n);
		if (rc < 0)
			goto fail;
		if (c->held.len > 0) {
			conn_pause(c);
			return;
		}
	}
	if (c->eof) {
		if ((rc = mm_frame_finish(&c->dec, on_frame, c)) < 0)
			goto fail;
		if (c->held.len > 0) {
			conn_pause(c);
			return;
		}
		conn_free(c);
		return;
	}
	if (c->connected)
		bufferevent_enable(c->bev, EV_READ);
	return;
stop:
	if (rc == MM_EFULL) {
		conn_pause(c);
		return;
	}
fail:
	log_warnx("listen: %s: %s; closing", c->origin.peer, mm_strerror(rc));
	conn_free(c);
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	conn_pump(c);
}

/* Copies the verified client certificate's CN, SHA-256 and expiry into the
 * connection's origin. A CN that is not plain text (embedded NUL, too long)
 * is left empty: the fingerprint still identifies the certificate. */
static void conn_cert(struct conn *c, SSL *ssl)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	unsigned char md[EVP_MAX_MD_SIZE], *cn = NULL;
	unsigned mdlen = 0, i;
	const ASN1_TIME *na;
	struct tm tm;
	int idx, n;

	if (x == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
		return;
	if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32) {
		for (i = 0; i < mdlen; i++)
			snprintf(c->origin.cert_fp + 2 * i, 3, "%02x", md[i]);
	}
	idx = X509_NAME_get_index_by_NID(X509_get_subject_name(x), NID_commonName, -1);
	if (idx >= 0) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(X509_get_subject_name(x), idx);
		n = ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(e));
		if (n > 0 && (size_t)n < sizeof c->origin.cert_cn &&
		    memchr(cn, '\0', (size_t)n) == NULL) {
			memcpy(c->origin.cert_cn, cn, (size_t)n);
			c->origin.cert_cn[n] = '\0';
		}
		OPENSSL_free(cn);
	}
	na = X509_get0_notAfter(x);
	memset(&tm, 0, sizeof tm);
	if (na != NULL && ASN1_TIME_to_tm(na, &tm) == 1)
		c->origin.cert_not_after = (int64_t)timegm(&tm);
}

/* Logs why a TLS connection failed, with the peer, and counts it. */
static void conn_tls_failed(struct conn *c)
{
	unsigned long e;
	char buf[256];
	int logged = 0;

	soc_count(SOC_C_TLS_FAILED, 1);
	while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		if (!logged++)
			log_warnx("listen: TLS with %s failed: %s", c->origin.peer, buf);
	}
	if (!logged)
		log_warnx("listen: TLS with %s failed: connection closed in the handshake",
			  c->origin.peer);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		c->connected = 1;
		conn_cert(c, bufferevent_openssl_get_ssl(bev));
		log_debug("listen: %s: TLS %s, client certificate \"%s\"", c->origin.peer,
			  SSL_get_version(bufferevent_openssl_get_ssl(bev)), c->origin.cert_cn);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		soc_count(SOC_C_CONN_TIMEOUT, 1);
		log_info("listen: %s: idle for %d s; closing", c->origin.peer, c->l->lim.idle_s);
		conn_free(c);
		return;
	}
	if (!c->connected) {
		conn_tls_failed(c);
		conn_free(c);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		log_debug("listen: %s: %s", c->origin.peer,
			  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	/* End of stream or an error: what was read is still delivered. */
	c->eof = 1;
	bufferevent_disable(bev, EV_READ);
	conn_pump(c);
}

static void conn_first_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->got_msg)
		return;
	soc_count(SOC_C_CONN_TIMEOUT, 1);
	log_info("listen: %s: no whole message in %d s; closing", c->origin.peer,
		 c->l->lim.first_msg_s);
	conn_free(c);
}

static size_t conns_from(const char *addr)
{
	struct conn *c;
	size_t n = 0;

	TAILQ_FOREACH(c, &all_conns, entry)
		if (strcmp(c->origin.peer_addr, addr) == 0)
			n++;
	return n;
}

static struct bufferevent *conn_bev(struct listener *l, evutil_socket_t fd)
{
	SSL *ssl;
	struct bufferevent *bev;

	if (l->ssl == NULL)
		return bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if ((ssl = SSL_new(l->ssl)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(l->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* A sender that closes without close_notify has still sent whole
	 * frames; its end is an end of stream, not an error. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static void on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
		      int sl, void *arg)
{
	struct listener *l = arg;
	struct conn *c = NULL;
	struct soc_origin o;
	struct timeval tv;

	(void)evl;
	(void)sl;
	memset(&o, 0, sizeof o);
	o.transport = l->transport;
	origin_of(&o, sa);
	if (nconns >= l->lim.max_clients || conns_from(o.peer_addr) >= l->lim.max_per_addr) {
		soc_count(SOC_C_CONN_REFUSED, 1);
		log_debug("listen: %s refused: %zu connections open", o.peer, nconns);
		evutil_closesocket(fd);
		return;
	}
	if ((c = calloc(1, sizeof *c)) == NULL)
		goto fail;
	c->l = l;
	c->origin = o;
	c->connected = l->ssl == NULL;
	mm_frame_init(&c->dec, MM_FRAME_AUTO, l->lim.max_msg);
	/* The refused frame (max_msg) and the rest of its chunk, each frame of
	 * which takes at least two bytes and a header. */
	mm_buf_init(&c->held, l->lim.max_msg + (CHUNK / 2 + 2) * (HELD_HDR + 2));
	TAILQ_INSERT_TAIL(&all_conns, c, entry);
	nconns++;
	soc_gauge_add(SOC_C_CONN_OPEN, 1);
	soc_count(SOC_C_CONN_ACCEPTED, 1);
	if ((c->bev = conn_bev(l, fd)) == NULL) {
		evutil_closesocket(fd);
		conn_free(c);
		log_warnx("listen: %s: out of memory for the connection", o.peer);
		return;
	}
	fd = -1;
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, l->lim.conn_buffer);
	if (l->lim.idle_s > 0) {
		tv.tv_sec = l->lim.idle_s;
		tv.tv_usec = 0;
		bufferevent_set_timeouts(c->bev, &tv, NULL);
	}
	if (l->lim.first_msg_s > 0) {
		c->first_timer = evtimer_new(l->base, conn_first_timeout, c);
		if (c->first_timer == NULL) {
			conn_free(c);
			return;
		}
		tv.tv_sec = l->lim.first_msg_s;
		tv.tv_usec = 0;
		evtimer_add(c->first_timer, &tv);
	}
	bufferevent_enable(c->bev, EV_READ);
	return;
fail:
	log_warnx("listen: %s: out of memory for the connection", o.peer);
	evutil_closesocket(fd);
}

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->evl);
}

/* accept() failed. Out of descriptors or memory, the listening socket stays
 * readable and would spin the loop: accepting pauses for a moment. */
static void on_accept_error(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {ACCEPT_PAUSE_MS / 1000, (ACCEPT_PAUSE_MS % 1000) * 1000};

	log_warnx("listen: %s: accept: %s; pausing for %d ms", l->url,
		  evutil_socket_error_to_string(e), ACCEPT_PAUSE_MS);
	evconnlistener_disable(evl);
	evtimer_add(l->accept_timer, &tv);
}

static int tls_ctx(struct listener *l, const struct listen_tls *t, char *err, size_t errlen)
{
	static const unsigned char sid[] = "mamori-soc";
	unsigned long e;
	char why[256] = "";
	int mode;

	if (t == NULL || t->cert == NULL || t->key == NULL) {
		snprintf(err, errlen, "%s needs a certificate and a key", l->url);
		return MM_EINVAL;
	}
	if (t->verify != 0 && t->ca == NULL) {
		snprintf(err, errlen, "%s verifies clients but has no CA file", l->url);
		return MM_EINVAL;
	}
	ERR_clear_error();
	if ((l->ssl = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	if (SSL_CTX_set_min_proto_version(l->ssl, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(l->ssl, t->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(l->ssl, t->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(l->ssl) != 1)
		goto fail;
	/* Resumed sessions keep the verified client identity; they need an id
	 * context when client certificates are asked for. */
	SSL_CTX_set_session_id_context(l->ssl, sid, sizeof sid - 1);
	if (t->verify != 0) {
		STACK_OF(X509_NAME) *names;

		if (SSL_CTX_load_verify_locations(l->ssl, t->ca, NULL) != 1)
			goto fail;
		if ((names = SSL_load_client_CA_file(t->ca)) != NULL)
			SSL_CTX_set_client_CA_list(l->ssl, names);
		mode = SSL_VERIFY_PEER;
		if (t->verify >= 2)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_verify(l->ssl, mode, NULL);
	}
	return 0;
fail:
	if ((e = ERR_get_error()) != 0)
		ERR_error_string_n(e, why, sizeof why);
	snprintf(err, errlen, "%s: TLS setup (cert %s, key %s, ca %s): %s", l->url,
		 t->cert, t->key, t->ca ? t->ca : "-", why);
	return MM_EIO;
}

static int stream_start(struct listener *l, const struct url *u, const struct listen_tls *t,
			char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int rc;

	if (l->transport == SOC_TLS && (rc = tls_ctx(l, t, err, errlen)) < 0)
		return rc;
	if ((rc = url_addr(u, SOCK_STREAM, &ss, &sl, err, errlen)) < 0)
		return rc;
	l->evl = evconnlistener_new_bind(l->base, on_accept, l,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						 LEV_OPT_CLOSE_ON_EXEC,
					 SOMAXCONN, (struct sockaddr *)&ss, (int)sl);
	if (l->evl == NULL) {
		snprintf(err, errlen, "cannot listen on %s://%s:%u: %s",
			 soc_transport_name(l->transport), u->host[0] ? u->host : "*", u->port,
			 strerror(errno));
		return MM_EIO;
	}
	evconnlistener_set_error_cb(l->evl, on_accept_error);
	if ((l->accept_timer = evtimer_new(l->base, accept_resume, l)) == NULL)
		return MM_ENOMEM;
	set_url(l, evconnlistener_get_fd(l->evl));
	return 0;
}

/* ---- UDP ---- */

static void udp_read(evutil_socket_t fd, short what, void *arg);

/* Adds what the kernel dropped on this socket since the last datagram. */
static void udp_drops(struct listener *l, struct msghdr *mh)
{
	struct cmsghdr *cm;
	uint32_t now;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SO_RXQ_OVFL ||
		    cm->cmsg_len < CMSG_LEN(sizeof now))
			continue;
		memcpy(&now, CMSG_DATA(cm), sizeof now);
		if (now != l->ovfl_last)
			soc_count(SOC_C_UDP_DROPPED, (uint32_t)(now - l->ovfl_last));
		l->ovfl_last = now;
	}
}

static void udp_room(void *arg)
{
	struct listener *l = arg;
	int rc;

	l->waiting_room = 0;
	if (l->held) {
		rc = ingest_offer(l->in, &l->held_origin, l->dgram, l->held_len, NULL);
		if (rc == MM_EFULL) {
			if (ingest_on_room(l->in, udp_room, l) == 0)
				l->waiting_room = 1;
			return;
		}
		l->held = 0;
	}
	event_add(l->ev, NULL);
	udp_read(l->fd, EV_READ, l);
}

/* Offers one datagram of n bytes (real length; the buffer holds at most
 * UDP_MAX). Returns MM_EFULL when ingest refused it: it is kept in dgram. */
static int udp_offer(struct listener *l, const struct soc_origin *o, size_t n)
{
	size_t have = n < UDP_MAX ? n : UDP_MAX;
	int rc;

	if (n > l->lim.max_msg) {
		soc_count(SOC_C_FRAME_OVERSIZED, 1);
		ingest_reject(l->in, o, l->dgram, have < SOC_DEAD_MAX ? have : SOC_DEAD_MAX, n,
			      "datagram too large");
		return 0;
	}
	rc = ingest_offer(l->in, o, l->dgram, n, NULL);
	if (rc == MM_EFULL) {
		l->held = 1;
		l->held_len = n;
		l->held_origin = *o;
		return rc;
	}
	if (rc < 0)
		log_warnx("listen: %s: datagram lost: %s", o->peer, mm_strerror(rc));
	return 0;
}

static void udp_read(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl;
	struct sockaddr_storage ss;
	struct soc_origin o;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < UDP_BURST; i++) {
		memset(&mh, 0, sizeof mh);
		iov.iov_base = l->dgram;
		iov.iov_len = UDP_MAX;
		mh.msg_name = &ss;
		mh.msg_namelen = sizeof ss;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof ctl.buf;
		n = recvmsg(fd, &mh, MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("listen: %s: recvmsg", l->url);
			return;
		}
		udp_drops(l, &mh);
		if (n == 0)
			continue;
		memset(&o, 0, sizeof o);
		o.transport = SOC_UDP;
		origin_of(&o, (const struct sockaddr *)&ss);
		if (udp_offer(l, &o, (size_t)n) == MM_EFULL) {
			/* The kernel drops what comes meanwhile; SO_RXQ_OVFL
			 * counts it and the next read adds it up. */
			event_del(l->ev);
			soc_count(SOC_C_PUSHBACK, 1);
			if (!l->waiting_room && ingest_on_room(l->in, udp_room, l) == 0)
				l->waiting_room = 1;
			return;
		}
	}
}

static int udp_start(struct listener *l, const struct url *u, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, rc;

	if ((rc = url_addr(u, SOCK_DGRAM, &ss, &sl, err, errlen)) < 0)
		return rc;
	if ((l->dgram = malloc(UDP_MAX + 1)) == NULL)
		return MM_ENOMEM;
	l->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		goto fail;
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (setsockopt(l->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0)
		log_warn("listen: udp: SO_RXQ_OVFL (kernel drops will not be counted)");
	if (l->lim.udp_buffer > 0 &&
	    setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &l->lim.udp_buffer,
		       sizeof l->lim.udp_buffer) < 0)
		log_warn("listen: udp: SO_RCVBUF %d", l->lim.udp_buffer);
	if (bind(l->fd, (struct sockaddr *)&ss, sl) < 0)
		goto fail;
	if ((l->ev = event_new(l->base, l->fd, EV_READ | EV_PERSIST, udp_read, l)) == NULL)
		return MM_ENOMEM;
	event_add(l->ev, NULL);
	set_url(l, l->fd);
	return 0;
fail:
	snprintf(err, errlen, "cannot listen on udp://%s:%u: %s", u->host[0] ? u->host : "*",
		 u->port, strerror(errno));
	return MM_EIO;
}

/* ---- the listener ---- */

int listen_start(struct event_base *base, struct ingest *in, const char *url,
		 const struct listen_tls *tls, const struct listen_limits *lim,
		 const char *state_dir, struct listener **out, char *err, size_t errlen)
{
	struct listener *l;
	struct url u;
	int rc;

	*out = NULL;
	if ((rc = url_parse(url, &u, err, errlen)) < 0)
		return rc;
	if ((l = calloc(1, sizeof *l)) == NULL)
		return MM_ENOMEM;
	l->base = base;
	l->in = in;
	l->fd = -1;
	l->transport = u.t;
	if (lim != NULL)
		l->lim = *lim;
	else
		listen_limits_default(&l->lim);
	if (l->lim.max_msg == 0)
		l->lim.max_msg = 64 * 1024;
	if (l->lim.conn_buffer == 0)
		l->lim.conn_buffer = 256 * 1024;
	snprintf(l->url, sizeof l->url, "%s", url);
	switch (u.t) {
	case SOC_UDP:
		rc = udp_start(l, &u, err, errlen);
		break;
	case SOC_TCP:
	case SOC_TLS:
		rc = stream_start(l, &u, tls, err, errlen);
		break;
	default:
		if (state_dir == NULL) {
			snprintf(err, errlen, "%s needs a state directory for its journal", url);
			rc = MM_EINVAL;
			break;
		}
		rc = relp_start(base, in, u.t, u.host[0] ? u.host : NULL, u.port, tls, &l->lim,
				state_dir, &l->relp, err, errlen);
		if (rc == 0) {
			if (strchr(u.host, ':') != NULL)
				snprintf(l->url, sizeof l->url, "%s://[%s]:%u",
					 soc_transport_name(u.t), u.host, relp_port(l->relp));
			else
				snprintf(l->url, sizeof l->url, "%s://%s:%u",
					 soc_transport_name(u.t), u.host[0] ? u.host : "*",
					 relp_port(l->relp));
		}
		break;
	}
	if (rc < 0) {
		if (rc == MM_ENOMEM)
			snprintf(err, errlen, "%s: out of memory", url);
		listen_stop(l);
		return rc;
	}
	log_debug("listen: %s", l->url);
	*out = l;
	return 0;
}

const char *listen_address(const struct listener *l)
{
	return l->url;
}

enum soc_transport listen_transport(const struct listener *l)
{
	return l->transport;
}

void listen_stop(struct listener *l)
{
	struct conn *c, *next;

	if (l == NULL)
		return;
	for (c = TAILQ_FIRST(&all_conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->l == l)
			conn_free(c);
	}
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	if (l->accept_timer != NULL)
		event_free(l->accept_timer);
	if (l->ssl != NULL)
		SSL_CTX_free(l->ssl);
	if (l->waiting_room)
		ingest_cancel_room(l->in, l);
	if (l->ev != NULL)
		event_free(l->ev);
	if (l->fd >= 0)
		close(l->fd);
	free(l->dgram);
	relp_stop(l->relp);
	free(l);
}
