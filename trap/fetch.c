/*
 * Fetching what the sessions ask to download ([capture] fetch = yes): the
 * shell emulation answers as a device that could not connect (it runs one
 * line at a time and does not wait), and the URL it recorded is fetched
 * here, out of band, in the daemon's libevent loop. http:// goes through
 * libevent's HTTP client, tftp:// through a small RFC 1350 read client on
 * a UDP socket; https and ftp are not fetched (their failed event says
 * so). No redirect is followed: a 3xx answer is a failure that names its
 * Location, so that a fetch reaches only an address the attacker typed and
 * fetch_deny allowed.
 *
 * A host name is resolved with evdns first and the fetch then connects to
 * the address it checked (the Host header keeps the name): a name cannot
 * lead a fetch past fetch_deny. Each fetch keeps a copy of its session's
 * id and addresses, so a fetch that ends after its session closed still
 * reports under that session.
 *
 * Every ending (data, error, deadline) goes through one deferred event, so
 * that no libevent callback frees the connection it is called from and no
 * event is emitted while the session's shell is still running its line.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>
#include <jansson.h>

#include "mamori/error.h"
#include "mamori/hash.h"
#include "mamori/log.h"

#include "capture.h"
#include "event.h"
#include "trap.h"

/* The response headers an HTTP server may send. */
#define HEADERS_MAX (16 * 1024)
#define TFTP_BLOCK 512
#define TFTP_FILE_MAX TRAP_URL_TFTP_FILE_MAX
/* A TFTP packet not answered within TFTP_WAIT_MS is sent again, at most
 * TFTP_RETRIES times (the deadline of the whole fetch still holds). */
#define TFTP_WAIT_MS 1000
#define TFTP_RETRIES 5

struct fetch {
	LIST_ENTRY(fetch) link;
	struct trap_fetch *tf;
	struct trap_session_id id;
	char applet[8];
	char *url, *destfile;
	struct trap_url u;              /* url split */
	struct sockaddr_storage sa;
	socklen_t salen;
	char addr[INET6_ADDRSTRLEN];    /* the address checked and used; "" before */
	struct evdns_getaddrinfo_request *dnsreq;
	struct evhttp_connection *conn;
	int fd;                         /* tftp's socket */
	struct event *ev_io, *ev_deadline, *ev_done;
	uint8_t *data;
	size_t len, cap;
	/* tftp */
	uint16_t block;                 /* the last block taken */
	uint16_t tid;                   /* the server's port for the transfer; 0 before */
	unsigned tries;
	uint8_t pkt[4 + TFTP_FILE_MAX + 8];
	size_t pktlen;                  /* the last packet sent, for retransmission */
	/* the outcome */
	int ended;                      /* ev_done is set off */
	int ok;
	int status;                     /* the HTTP status, 0 when none */
	char location[256];
	char reason[128];
};

LIST_HEAD(fetch_list, fetch);

struct trap_fetch {
	struct event_base *base;
	struct evdns_base *dns;
	const struct trap_config *cfg;
	struct trap_capture *capture;
	struct trap_events *events;
	struct fetch_list list;
	struct trap_fetch_stats st;
	size_t max;
};

static void fetch_free(struct fetch *f)
{
	LIST_REMOVE(f, link);
	f->tf->st.active--;
	if (f->dnsreq)
		evdns_getaddrinfo_cancel(f->dnsreq);
	if (f->conn)
		evhttp_connection_free(f->conn);
	if (f->ev_io)
		event_free(f->ev_io);
	if (f->fd >= 0)
		close(f->fd);
	if (f->ev_deadline)
		event_free(f->ev_deadline);
	if (f->ev_done)
		event_free(f->ev_done);
	free(f->data);
	free(f->url);
	free(f->destfile);
	free(f);
}

/* The fetch has its outcome: it is reported from the loop, later. */
static void end(struct fetch *f, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void end(struct fetch *f, int ok, const char *fmt, ...)
{
	va_list ap;

	if (f->ended)
		return;
	f->ended = 1;
	f->ok = ok;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(f->reason, sizeof f->reason, fmt, ap);
		va_end(ap);
	}
	event_active(f->ev_done, EV_TIMEOUT, 1);
}

static void emit(struct fetch *f, const char *eventid, json_t *ev)
{
	int rc;

	if ((rc = trap_events_emit(f->tf->events, &f->id, eventid, ev)) < 0 && rc != MM_EFULL)
		log_debug("fetch %s: %s: %s", f->id.session, eventid, mm_strerror(rc));
}

/* The members both events of a fetch carry. */
static json_t *event_base_members(struct fetch *f)
{
	json_t *ev = json_object(), *a;

	if (!ev)
		return NULL;
	json_object_set_new(ev, "url", trap_json_text(f->url, strlen(f->url)));
	json_object_set_new(ev, "applet", json_string(f->applet));
	if (f->destfile && *f->destfile)
		json_object_set_new(ev, "destfile",
				    trap_json_text(f->destfile, strlen(f->destfile)));
	if (f->addr[0])
		json_object_set_new(ev, "address", json_string(f->addr));
	json_object_set_new(ev, "fetched", json_boolean(f->ok));
	if ((a = json_array())) {
		json_array_append_new(a, json_string("T1105"));
		json_object_set_new(ev, "attack", a);
	}
	return ev;
}

static void report(struct fetch *f)
{
	struct trap_fetch *tf = f->tf;
	struct trap_capture_file cf;
	json_t *ev;
	int rc;

	if (f->ok) {
		memset(&cf, 0, sizeof cf);
		rc = trap_capture_add(tf->capture, f->data, f->len, &cf);
		if (rc < 0 && rc != MM_ETOOBIG) {
			f->ok = 0;
			snprintf(f->reason, sizeof f->reason, "capture: %s", mm_strerror(rc));
		} else {
			tf->st.fetched++;
			if ((ev = event_base_members(f))) {
				trap_file_members(ev, rc, &cf);
				emit(f, "cowrie.session.file_download", ev);
			}
			return;
		}
	}
	tf->st.failed++;
	if (!(ev = event_base_members(f)))
		return;
	json_object_set_new(ev, "reason", json_string(f->reason[0] ? f->reason : "failed"));
	if (f->status)
		json_object_set_new(ev, "http_status", json_integer(f->status));
	if (f->location[0])
		json_object_set_new(ev, "location",
				    trap_json_text(f->location, strlen(f->location)));
	emit(f, "cowrie.session.file_download.failed", ev);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct fetch *f = arg;

	(void)fd;
	(void)what;
	report(f);
	fetch_free(f);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct fetch *f = arg;

	(void)fd;
	(void)what;
	end(f, 0, "timeout");
}

/* Appends to the fetch's bounded data. 0, or -1 past the bound. */
static int take(struct fetch *f, const uint8_t *p, size_t n)
{
	if (n > f->tf->max - f->len)
		return -1;
	if (f->len + n > f->cap) {
		size_t cap = f->cap ? f->cap : 4096;
		uint8_t *d;

		while (cap < f->len + n)
			cap *= 2;
		if (cap > f->tf->max)
			cap = f->tf->max;
		if (!(d = realloc(f->data, cap)))
			return -2;
		f->data = d;
		f->cap = cap;
	}
	memcpy(f->data + f->len, p, n);
	f->len += n;
	return 0;
}

/* ---- http ---- */

static void on_http_error(enum evhttp_request_error e, void *arg)
{
	struct fetch *f = arg;
	const char *why;

	switch (e) {
	case EVREQ_HTTP_TIMEOUT: why = "timeout"; break;
	case EVREQ_HTTP_EOF: why = "connection closed"; break;
	case EVREQ_HTTP_INVALID_HEADER: why = "invalid answer"; break;
	case EVREQ_HTTP_BUFFER_ERROR: why = "read error"; break;
	case EVREQ_HTTP_REQUEST_CANCEL: why = "cancelled"; break;
	case EVREQ_HTTP_DATA_TOO_LONG: why = "too big"; break;
	default: why = "failed"; break;
	}
	if (!f->reason[0])
		snprintf(f->reason, sizeof f->reason, "%s", why);
}

static void on_http_done(struct evhttp_request *req, void *arg)
{
	struct fetch *f = arg;
	struct evbuffer *body;
	const char *loc;
	size_t n;
	int code, err = EVUTIL_SOCKET_ERROR();

	if (!req || (code = evhttp_request_get_response_code(req)) == 0) {
		if (f->reason[0])
			end(f, 0, NULL);
		else if (err == ECONNREFUSED)
			end(f, 0, "connection refused");
		else
			end(f, 0, "connection failed");
		return;
	}
	if (code != 200) {
		f->status = code;
		loc = evhttp_find_header(evhttp_request_get_input_headers(req), "Location");
		if (code >= 300 && code < 400 && loc)
			snprintf(f->location, sizeof f->location, "%s", loc);
		end(f, 0, "http status %d", code);
		return;
	}
	body = evhttp_request_get_input_buffer(req);
	n = body ? evbuffer_get_length(body) : 0;
	if (n == 0) {
		end(f, 0, "empty");
		return;
	}
	if (n > f->tf->max) {
		end(f, 0, "too big");
		return;
	}
	if (!(f->data = malloc(n))) {
		end(f, 0, "out of memory");
		return;
	}
	f->cap = n;
	f->len = (size_t)evbuffer_remove(body, f->data, n);
	end(f, f->len == n, f->len == n ? NULL : "read error");
}

static void http_start(struct fetch *f)
{
	struct trap_fetch *tf = f->tf;
	struct evhttp_request *req;
	struct evkeyvalq *h;

	f->conn = evhttp_connection_base_new(tf->base, NULL, f->addr, f->u.port);
	if (!f->conn) {
		end(f, 0, "out of memory");
		return;
	}
	evhttp_connection_set_timeout(f->conn, (int)tf->cfg->fetch_timeout);
	evhttp_connection_set_retries(f->conn, 0);
	evhttp_connection_set_max_body_size(f->conn, (ev_ssize_t)tf->max);
	evhttp_connection_set_max_headers_size(f->conn, HEADERS_MAX);
	if (!(req = evhttp_request_new(on_http_done, f))) {
		end(f, 0, "out of memory");
		return;
	}
	evhttp_request_set_error_cb(req, on_http_error);
	h = evhttp_request_get_output_headers(req);
	/* What BusyBox's wget sends; curl gives its own name. */
	evhttp_add_header(h, "Host", f->u.hostport);
	evhttp_add_header(h, "User-Agent", strcmp(f->applet, "curl") == 0 ? "curl/7.88.1" : "Wget");
	if (strcmp(f->applet, "curl") == 0)
		evhttp_add_header(h, "Accept", "*/*");
	evhttp_add_header(h, "Connection", "close");
	/* On failure the request is freed by libevent. */
	if (evhttp_make_request(f->conn, req, EVHTTP_REQ_GET, f->u.path) < 0)
		end(f, 0, "connection failed");
}

/* ---- tftp (RFC 1350: read request, octet mode) ---- */

static void tftp_send(struct fetch *f)
{
	struct sockaddr_storage to = f->sa;

	/* The request goes to the server's port, the rest to the port it
	 * answered from (its transfer id). */
	if (f->tid) {
		if (to.ss_family == AF_INET)
			((struct sockaddr_in *)&to)->sin_port = htons(f->tid);
		else
			((struct sockaddr_in6 *)&to)->sin6_port = htons(f->tid);
	}
	if (sendto(f->fd, f->pkt, f->pktlen, MSG_DONTWAIT, (struct sockaddr *)&to, f->salen) < 0 &&
	    errno != EAGAIN && errno != EWOULDBLOCK)
		end(f, 0, "%s", errno == ECONNREFUSED ? "connection refused" : strerror(errno));
}

static void tftp_ack(struct fetch *f, uint16_t block)
{
	f->pkt[0] = 0;
	f->pkt[1] = 4;
	f->pkt[2] = (uint8_t)(block >> 8);
	f->pkt[3] = (uint8_t)block;
	f->pktlen = 4;
	tftp_send(f);
}

/* Tells the server the transfer ends here (error 3: disk full). */
static void tftp_abort(struct fetch *f)
{
	static const uint8_t msg[] = "Disk full or allocation exceeded";

	f->pkt[0] = 0;
	f->pkt[1] = 5;
	f->pkt[2] = 0;
	f->pkt[3] = 3;
	memcpy(f->pkt + 4, msg, sizeof msg);
	f->pktlen = 4 + sizeof msg;
	tftp_send(f);
}

/* Whether a datagram came from the server (its address; its port once
 * the transfer has one). */
static int tftp_from_server(const struct fetch *f, const struct sockaddr_storage *from)
{
	uint16_t port;

	if (from->ss_family != f->sa.ss_family)
		return 0;
	if (from->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)from;
		const struct sockaddr_in *b = (const struct sockaddr_in *)&f->sa;
		if (a->sin_addr.s_addr != b->sin_addr.s_addr)
			return 0;
		port = ntohs(a->sin_port);
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
		const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&f->sa;
		if (memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) != 0)
			return 0;
		port = ntohs(a->sin6_port);
	}
	return !f->tid || port == f->tid;
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* One datagram of the server's. */
static void tftp_packet(struct fetch *f, const uint8_t *p, size_t n,
			const struct sockaddr_storage *from)
{
	uint16_t op, block;
	int rc;

	if (n < 4)
		return;
	op = (uint16_t)(p[0] << 8 | p[1]);
	if (op == 5) {
		char msg[64];
		size_t i, k = 0;

		/* The server's message, printable bytes only, bounded. */
		for (i = 4; i < n && p[i] && k + 1 < sizeof msg; i++)
			msg[k++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
		msg[k] = '\0';
		end(f, 0, "tftp error %u: %s", (unsigned)(p[2] << 8 | p[3]), msg);
		return;
	}
	if (op != 3)
		return;
	block = (uint16_t)(p[2] << 8 | p[3]);
	if (!f->tid) {
		if (block != 1)
			return;
		f->tid = sa_port(from);
	}
	if (block == f->block) {
		/* Our ACK was lost: the server sent the block again. */
		tftp_ack(f, block);
		return;
	}
	if (block != (uint16_t)(f->block + 1))
		return;
	if ((rc = take(f, p + 4, n - 4)) < 0) {
		if (rc == -1)
			tftp_abort(f);
		end(f, 0, rc == -1 ? "too big" : "out of memory");
		return;
	}
	f->block = block;
	f->tries = 0;
	tftp_ack(f, block);
	if (n - 4 < TFTP_BLOCK)
		end(f, f->len > 0, f->len > 0 ? NULL : "empty");
}

static void on_tftp(evutil_socket_t fd, short what, void *arg)
{
	struct fetch *f = arg;
	struct timeval tv = {TFTP_WAIT_MS / 1000, (TFTP_WAIT_MS % 1000) * 1000};
	uint8_t buf[4 + TFTP_BLOCK + 1];
	int got = 0, turns;

	if (f->ended)
		return;
	if (what & EV_TIMEOUT) {
		if (++f->tries > TFTP_RETRIES) {
			end(f, 0, "timeout");
			return;
		}
		tftp_send(f);
		return;
	}
	/* A bounded number of datagrams per turn, so one fetch cannot hold
	 * the loop. */
	for (turns = 0; turns < 64 && !f->ended; turns++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from,
				     &fl);

		if (n < 0) {
			if (errno == ECONNREFUSED)
				end(f, 0, "connection refused");
			break;
		}
		if (!tftp_from_server(f, &from))
			continue;
		got = 1;
		/* A datagram longer than a block is not TFTP's: dropped. */
		if ((size_t)n > 4 + TFTP_BLOCK)
			continue;
		tftp_packet(f, buf, (size_t)n, &from);
	}
	/* The server answered: its next packet has a fresh wait. */
	if (got && !f->ended)
		event_add(f->ev_io, &tv);
}

static void tftp_start(struct fetch *f)
{
	struct timeval tv = {TFTP_WAIT_MS / 1000, (TFTP_WAIT_MS % 1000) * 1000};
	size_t flen = strlen(f->u.path);

	f->fd = socket(f->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0) {
		end(f, 0, "socket: %s", strerror(errno));
		return;
	}
	f->ev_io = event_new(f->tf->base, f->fd, EV_READ | EV_PERSIST, on_tftp, f);
	if (!f->ev_io || event_add(f->ev_io, &tv) < 0) {
		end(f, 0, "out of memory");
		return;
	}
	/* RRQ: opcode 1, the file, NUL, the mode, NUL. */
	f->pkt[0] = 0;
	f->pkt[1] = 1;
	memcpy(f->pkt + 2, f->u.path, flen + 1);
	memcpy(f->pkt + 2 + flen + 1, "octet", 6);
	f->pktlen = 2 + flen + 1 + 6;
	tftp_send(f);
}

/* ---- addresses ---- */

/* Checks an address against fetch_deny and, when allowed, makes it the
 * fetch's. 0, or -1 when denied. */
static int use_address(struct fetch *f, const struct sockaddr *sa)
{
	struct trap_addr a;
	const struct trap_config *cfg = f->tf->cfg;

	if (trap_addr_from(sa, &a) < 0)
		return -1;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&f->sa;
		memcpy(s4, sa, sizeof *s4);
		s4->sin_port = htons(f->u.port);
		f->salen = sizeof *s4;
		inet_ntop(AF_INET, &s4->sin_addr, f->addr, sizeof f->addr);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&f->sa;
		memcpy(s6, sa, sizeof *s6);
		s6->sin6_port = htons(f->u.port);
		f->salen = sizeof *s6;
		inet_ntop(AF_INET6, &s6->sin6_addr, f->addr, sizeof f->addr);
	}
	if (trap_cidr_match(cfg->deny, cfg->ndeny, &a))
		return -1;
	return 0;
}

static void connect_now(struct fetch *f)
{
	if (f->u.proto == TRAP_URL_HTTP)
		http_start(f);
	else
		tftp_start(f);
}

static void denied(struct fetch *f)
{
	f->tf->st.denied++;
	end(f, 0, "address denied by fetch_deny");
}

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct fetch *f;
	struct evutil_addrinfo *ai;
	char first[INET6_ADDRSTRLEN] = "";

	/* A cancelled lookup's fetch is gone: arg is not touched. */
	if (result == EVUTIL_EAI_CANCEL)
		return;
	f = arg;
	f->dnsreq = NULL;
	if (f->ended) {
		/* The deadline came first: the outcome is already set. */
		if (res)
			evutil_freeaddrinfo(res);
		return;
	}
	if (result != 0) {
		end(f, 0, "cannot resolve: %s", evutil_gai_strerror(result));
		return;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (use_address(f, ai->ai_addr) == 0) {
			evutil_freeaddrinfo(res);
			connect_now(f);
			return;
		}
		if (!first[0])
			snprintf(first, sizeof first, "%s", f->addr);
	}
	evutil_freeaddrinfo(res);
	if (first[0]) {
		snprintf(f->addr, sizeof f->addr, "%s", first);
		denied(f);
	} else {
		end(f, 0, "cannot resolve: no address");
	}
}

static void resolve(struct fetch *f)
{
	struct evutil_addrinfo hints;
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	memset(&s4, 0, sizeof s4);
	memset(&s6, 0, sizeof s6);
	if (inet_pton(AF_INET, f->u.host, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		if (use_address(f, (struct sockaddr *)&s4) < 0)
			denied(f);
		else
			connect_now(f);
		return;
	}
	if (inet_pton(AF_INET6, f->u.host, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		if (use_address(f, (struct sockaddr *)&s6) < 0)
			denied(f);
		else
			connect_now(f);
		return;
	}
	if (!f->tf->dns) {
		end(f, 0, "cannot resolve: no resolver");
		return;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = f->u.proto == TRAP_URL_HTTP ? SOCK_STREAM : SOCK_DGRAM;
	/* The answer may come before this returns (an error, /etc/hosts):
	 * then the request is NULL and the callback has run. */
	f->dnsreq = evdns_getaddrinfo(f->tf->dns, f->u.host, NULL, &hints, on_resolved, f);
}

/* ---- URLs ---- */

/* A URL without a scheme is http, as wget and curl take it (trap.h). */
int trap_url_split(const char *url, struct trap_url *u, char *why, size_t whylen)
{
	const char *h, *e, *at, *colon, *hend;
	size_t hl, i;
	unsigned long port;

	if (strncmp(url, "http://", 7) == 0) {
		u->proto = TRAP_URL_HTTP;
		u->port = 80;
		h = url + 7;
	} else if (strncmp(url, "tftp://", 7) == 0) {
		u->proto = TRAP_URL_TFTP;
		u->port = 69;
		h = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		snprintf(why, whylen, "https is not fetched");
		return MM_EINVAL;
	} else if (strncmp(url, "ftp://", 6) == 0) {
		snprintf(why, whylen, "ftp is not fetched");
		return MM_EINVAL;
	} else if (strstr(url, "://")) {
		snprintf(why, whylen, "not an http or tftp URL");
		return MM_EINVAL;
	} else {
		u->proto = TRAP_URL_HTTP;
		u->port = 80;
		h = url;
	}
	for (i = 0; url[i]; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f) {
			snprintf(why, whylen, "a control character or a blank in the URL");
			return MM_EINVAL;
		}
	e = h + strcspn(h, "/?#");
	at = memchr(h, '@', (size_t)(e - h));
	while (at) {
		/* The user and password are not sent: the host follows the last @. */
		h = at + 1;
		at = memchr(h, '@', (size_t)(e - h));
	}
	if (h[0] == '[') {
		hend = memchr(h, ']', (size_t)(e - h));
		if (!hend) {
			snprintf(why, whylen, "no host");
			return MM_EINVAL;
		}
		hl = (size_t)(hend - h - 1);
		colon = hend + 1 < e && hend[1] == ':' ? hend + 1 : NULL;
		if (hend + 1 < e && !colon) {
			snprintf(why, whylen, "no host");
			return MM_EINVAL;
		}
		h++;
	} else {
		colon = memchr(h, ':', (size_t)(e - h));
		hl = colon ? (size_t)(colon - h) : (size_t)(e - h);
	}
	if (hl == 0 || hl >= sizeof u->host) {
		snprintf(why, whylen, "no host");
		return MM_EINVAL;
	}
	memcpy(u->host, h, hl);
	u->host[hl] = '\0';
	if (colon && colon + 1 < e) {
		char num[8], *end;
		size_t nl = (size_t)(e - colon - 1);

		if (nl >= sizeof num) {
			snprintf(why, whylen, "bad port");
			return MM_EINVAL;
		}
		memcpy(num, colon + 1, nl);
		num[nl] = '\0';
		errno = 0;
		port = strtoul(num, &end, 10);
		if (errno || *end || port == 0 || port > 65535) {
			snprintf(why, whylen, "bad port");
			return MM_EINVAL;
		}
		u->port = (uint16_t)port;
	}
	snprintf(u->hostport, sizeof u->hostport, "%s%s%s", strchr(u->host, ':') ? "[" : "",
		 u->host, strchr(u->host, ':') ? "]" : "");
	if (u->port != (u->proto == TRAP_URL_HTTP ? 80 : 69)) {
		size_t n = strlen(u->hostport);
		snprintf(u->hostport + n, sizeof u->hostport - n, ":%u", (unsigned)u->port);
	}
	if (u->proto == TRAP_URL_HTTP) {
		size_t pl = strcspn(e, "#");

		if (pl + 2 > sizeof u->path) {
			snprintf(why, whylen, "the URL is too long");
			return MM_EINVAL;
		}
		snprintf(u->path, sizeof u->path, "%s%.*s", *e == '/' ? "" : "/", (int)pl, e);
	} else {
		const char *file = *e == '/' ? e + 1 : e;

		if (!*file || strlen(file) > TFTP_FILE_MAX) {
			snprintf(why, whylen, "no file or a file name too long for tftp");
			return MM_EINVAL;
		}
		snprintf(u->path, sizeof u->path, "%s", file);
	}
	return 0;
}

/* ---- the module ---- */

int trap_fetch_new(struct event_base *base, const struct trap_config *cfg,
		   struct trap_capture *capture, struct trap_events *events,
		   struct trap_fetch **out)
{
	struct trap_fetch *tf;

	*out = NULL;
	if (!(tf = calloc(1, sizeof *tf)))
		return MM_ENOMEM;
	tf->base = base;
	tf->cfg = cfg;
	tf->capture = capture;
	tf->events = events;
	tf->max = (size_t)(cfg->fetch_max > 0 ? cfg->fetch_max : cfg->capture_max_file);
	LIST_INIT(&tf->list);
	/* The resolver reads resolv.conf and hosts now, while it can. Without
	 * one, names are not fetched (their events say so) but addresses are. */
	tf->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
					       EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (!tf->dns)
		log_warnx("fetch: no resolver (/etc/resolv.conf): host names are not fetched");
	*out = tf;
	return 0;
}

int trap_fetch_start(struct trap_fetch *tf, const struct trap_session_id *id, const char *applet,
		     const char *url, const char *destfile, char *why, size_t whylen)
{
	struct fetch *f;
	struct timeval tv;
	int rc;

	if (whylen)
		why[0] = '\0';
	if (tf->st.active >= (uint32_t)tf->cfg->fetch_concurrent) {
		tf->st.dropped++;
		snprintf(why, whylen, "fetch_concurrent fetches are running");
		return MM_EFULL;
	}
	if (!(f = calloc(1, sizeof *f)))
		return MM_ENOMEM;
	f->fd = -1;
	f->tf = tf;
	f->id = *id;
	snprintf(f->applet, sizeof f->applet, "%s", applet);
	if ((rc = trap_url_split(url, &f->u, why, whylen)) < 0) {
		tf->st.refused++;
		free(f);
		return rc;
	}
	f->url = strdup(url);
	f->destfile = strdup(destfile ? destfile : "");
	f->ev_deadline = evtimer_new(tf->base, on_deadline, f);
	f->ev_done = evtimer_new(tf->base, on_done, f);
	if (!f->url || !f->destfile || !f->ev_deadline || !f->ev_done) {
		if (f->ev_deadline)
			event_free(f->ev_deadline);
		if (f->ev_done)
			event_free(f->ev_done);
		free(f->url);
		free(f->destfile);
		free(f);
		return MM_ENOMEM;
	}
	LIST_INSERT_HEAD(&tf->list, f, link);
	tf->st.active++;
	tf->st.started++;
	tv.tv_sec = (time_t)tf->cfg->fetch_timeout;
	tv.tv_usec = 0;
	event_add(f->ev_deadline, &tv);
	resolve(f);
	return 0;
}

void trap_fetch_stats(const struct trap_fetch *tf, struct trap_fetch_stats *st)
{
	*st = tf->st;
}

void trap_fetch_free(struct trap_fetch *tf)
{
	if (!tf)
		return;
	while (!LIST_EMPTY(&tf->list)) {
		struct fetch *f = LIST_FIRST(&tf->list);

		if (!f->ended) {
			f->ended = 1;
			f->ok = 0;
			snprintf(f->reason, sizeof f->reason, "shutdown");
		}
		report(f);
		fetch_free(f);
	}
	if (tf->dns)
		evdns_base_free(tf->dns, 0);
	free(tf);
}
