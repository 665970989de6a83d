/*
 * Stream and datagram transports of the sender: UDP (RFC 5426), TCP
 * (RFC 6587 octet counting or LF framing) and TLS (RFC 5425, OpenSSL).
 *
 * Syslog over TCP and TLS has no acknowledgement, so a record counts as
 * confirmed when the receiver's TCP stack has acknowledged its last byte:
 * every record remembers where it ends in the bytes written to the socket,
 * and SIOCOUTQ tells how many written bytes the peer has not acknowledged
 * yet. A record still in our buffer, in our socket buffer or on the wire
 * when the connection breaks is therefore resent. What the receiving
 * process had read (or its kernel had acknowledged) but not yet stored when
 * it died is lost: syslog over TCP cannot tell; RELP can.
 *
 * With TLS 1.3 the server checks our certificate after our side of the
 * handshake has finished; a refused certificate shows up as an alert on
 * the first read. So with a client certificate nothing is confirmed until
 * the server has sent its session ticket (which servers send once the
 * handshake is complete on their side) or a second has passed without an
 * alert.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mamori/buf.h"
#include "mamori/clock.h"
#include "mamori/error.h"
#include "mamori/log.h"
#include "send_int.h"

#define OUT_HIGH (256 * 1024) /* stop taking records past this many buffered bytes */
#define OUT_MAX (64u * 1024 * 1024)
#define UDP_MAX 65507         /* largest UDP payload over IPv4 */
#define TLS13_CONFIRM_MS 1000
#define TLS_CHUNK 16384       /* plaintext per SSL_write(): one TLS record */

struct pos {
	uint64_t seq;
	uint64_t plain_end; /* end of the record in the plaintext stream */
	uint64_t sock_end;  /* end of the bytes that carry it on the socket; 0: not written yet */
	int drop;           /* cannot be carried: counted as dropped when confirmed */
};

struct stream {
	int fd;
	int dgram;
	SSL_CTX *ctx;
	SSL *ssl;
	int tls_confirmed;
	uint64_t handshake_ms;

	struct mm_buf out;      /* framed bytes not yet written */
	uint64_t plain_queued;  /* plaintext bytes ever put into out */
	uint64_t plain_written; /* plaintext bytes written to the socket or SSL */
	uint64_t tcp_written;   /* plain TCP: bytes written to the socket */

	struct pos *ring; /* records in flight, oldest first */
	size_t cap, head, count;
	size_t unassigned; /* ring index (from head) of the first entry with sock_end 0 */
};

static struct stream *st_of(struct mm_sender *s)
{
	return s->tp;
}

/* Logs the OpenSSL error queue and notes whether a certificate was refused. */
static void ssl_log(struct mm_sender *s, const char *what)
{
	unsigned long e;
	char buf[256];
	int any = 0;

	while ((e = ERR_get_error()) != 0) {
		int r = ERR_GET_REASON(e);
		ERR_error_string_n(e, buf, sizeof buf);
		log_warnx("send: %s: %s", what, buf);
		any = 1;
		if (r == SSL_R_CERTIFICATE_VERIFY_FAILED || r == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
		    r == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE || r == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
		    r == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN || r == SSL_R_TLSV1_ALERT_ACCESS_DENIED ||
		    r == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED ||
		    r == SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED ||
		    r == SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE)
			s->auth_failed = 1;
	}
	if (!any)
		log_warnx("send: %s: connection closed", what);
}

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct stream *st = SSL_get_app_data(ssl);

	(void)sess;
	st->tls_confirmed = 1;
	return 0; /* we do not keep the session */
}

static int is_ip_literal(const char *h)
{
	unsigned char a[16];

	return inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1;
}

static int tls_setup(struct mm_sender *s, struct stream *st)
{
	const char *name = s->o.server_name;

	if ((st->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(st->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(st->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(st->ctx, s->o.ca_file, NULL) != 1) {
		log_warnx("send: cannot load CA certificates from %s", s->o.ca_file);
		goto fail;
	}
	if (s->o.cert_file != NULL) {
		if (SSL_CTX_use_certificate_chain_file(st->ctx, s->o.cert_file) != 1) {
			log_warnx("send: cannot load client certificate %s", s->o.cert_file);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(st->ctx, s->o.key_file, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(st->ctx) != 1) {
			log_warnx("send: cannot load key %s, or it does not match %s",
				  s->o.key_file, s->o.cert_file);
			goto fail;
		}
	}
	SSL_CTX_set_session_cache_mode(st->ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(st->ctx, new_session_cb);
	SSL_CTX_set_mode(st->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

	if ((st->ssl = SSL_new(st->ctx)) == NULL)
		goto fail;
	SSL_set_app_data(st->ssl, st);
	if (is_ip_literal(name)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(st->ssl), name) != 1)
			goto fail;
	} else {
		if (SSL_set_tlsext_host_name(st->ssl, name) != 1 || SSL_set1_host(st->ssl, name) != 1)
			goto fail;
	}
	if (SSL_set_fd(st->ssl, st->fd) != 1)
		goto fail;
	return 0;
fail:
	ssl_log(s, "TLS setup");
	return MM_EINVAL;
}

/* Waits for fd to become readable or writable as SSL asked; 0 or MM_EIO on timeout. */
static int ssl_wait(struct stream *st, int err, uint64_t end)
{
	struct pollfd pfd;
	uint64_t now = mm_clock_ms();

	if (now >= end)
		return MM_EIO;
	pfd.fd = st->fd;
	pfd.events = err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
	return poll(&pfd, 1, (int)(end - now)) == 1 ? 0 : MM_EIO;
}

static int tls_handshake(struct mm_sender *s, struct stream *st)
{
	uint64_t end = mm_clock_ms() + s->o.timeout_ms;
	int rc, err;
	long vr;

	ERR_clear_error();
	while ((rc = SSL_connect(st->ssl)) != 1) {
		err = SSL_get_error(st->ssl, rc);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
			break;
		if (ssl_wait(st, err, end) < 0) {
			log_warnx("send: TLS handshake with %s timed out", s->o.url.host);
			return MM_EIO;
		}
	}
	if (rc != 1) {
		vr = SSL_get_verify_result(st->ssl);
		if (vr != X509_V_OK) {
			log_warnx("send: the certificate of %s was not accepted: %s (expected name %s)",
				  s->o.url.host, X509_verify_cert_error_string(vr), s->o.server_name);
			s->auth_failed = 1;
		}
		ssl_log(s, "TLS handshake");
		return MM_EIO;
	}
	st->handshake_ms = mm_clock_ms();
	st->tls_confirmed = s->o.cert_file == NULL || SSL_version(st->ssl) < TLS1_3_VERSION;
	log_debug("send: %s with %s", SSL_get_version(st->ssl), s->o.url.host);
	return 0;
}

static void stream_close(struct mm_sender *s)
{
	struct stream *st = st_of(s);

	if (st == NULL)
		return;
	if (st->ssl != NULL)
		SSL_free(st->ssl);
	if (st->ctx != NULL)
		SSL_CTX_free(st->ctx);
	if (st->fd >= 0)
		close(st->fd);
	st->ssl = NULL;
	st->ctx = NULL;
	st->fd = -1;
	mm_buf_reset(&st->out);
	st->count = st->head = st->unassigned = 0;
	st->plain_queued = st->plain_written = st->tcp_written = 0;
}

static int stream_open(struct mm_sender *s)
{
	struct stream *st = st_of(s);
	int one = 1;

	if (st == NULL) {
		if ((st = calloc(1, sizeof *st)) == NULL)
			return MM_ENOMEM;
		st->fd = -1;
		st->cap = s->o.window;
		if ((st->ring = calloc(st->cap, sizeof *st->ring)) == NULL) {
			free(st);
			return MM_ENOMEM;
		}
		mm_buf_init(&st->out, OUT_MAX);
		s->tp = st;
	}
	st->dgram = s->o.url.proto == MM_SEND_UDP;
	st->fd = mm_send_connect(&s->o.url, st->dgram ? SOCK_DGRAM : SOCK_STREAM,
				 (int)s->o.timeout_ms);
	if (st->fd < 0)
		return st->fd;
	if (!st->dgram) {
		setsockopt(st->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(st->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	}
	if (s->o.url.proto == MM_SEND_TLS &&
	    (tls_setup(s, st) < 0 || tls_handshake(s, st) < 0)) {
		stream_close(s);
		return MM_EIO;
	}
	return 0;
}

static int stream_room(struct mm_sender *s)
{
	struct stream *st = st_of(s);

	return st->dgram || (st->count < st->cap && st->out.len < OUT_HIGH);
}

static int udp_send(struct mm_sender *s, struct stream *st, const struct mm_spool_rec *r)
{
	struct pollfd pfd = { .fd = st->fd, .events = POLLOUT };

	if (r->len > UDP_MAX) {
		log_warnx("send: record %llu has %u bytes, more than a UDP datagram carries",
			  (unsigned long long)r->seq, r->len);
		return sender_confirm(s, r->seq + 1, 1);
	}
	for (;;) {
		if (send(st->fd, r->data, r->len, MSG_NOSIGNAL) == (ssize_t)r->len)
			return sender_confirm(s, r->seq + 1, 0);
		if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
			break;
		if (poll(&pfd, 1, (int)s->o.timeout_ms) != 1)
			break;
	}
	log_warn("send: udp to %s port %s", s->o.url.host, s->o.url.port);
	return MM_EIO;
}

static int stream_send(struct mm_sender *s, const struct mm_spool_rec *r)
{
	struct stream *st = st_of(s);
	struct pos *p;
	size_t before = st->out.len;
	int drop = 0, rc = 0;

	if (st->dgram)
		return udp_send(s, st, r);
	if (s->o.framing == MM_SEND_LF) {
		if (memchr(r->data, '\n', r->len) != NULL) {
			log_warnx("send: record %llu holds a line feed, which LF framing cannot carry",
				  (unsigned long long)r->seq);
			drop = 1;
		} else if ((rc = mm_buf_append(&st->out, r->data, r->len)) == 0) {
			rc = mm_buf_putc(&st->out, '\n');
		}
	} else {
		rc = mm_buf_printf(&st->out, "%u ", r->len);
		if (rc == 0)
			rc = mm_buf_append(&st->out, r->data, r->len);
	}
	if (rc < 0) {
		st->out.len = before; /* cannot happen below OUT_MAX; keep out consistent */
		return rc;
	}
	st->plain_queued += st->out.len - before;
	p = &st->ring[(st->head + st->count) % st->cap];
	p->seq = r->seq;
	p->plain_end = st->plain_queued;
	p->sock_end = 0;
	p->drop = drop;
	st->count++;
	return 0;
}

/* Bytes ever written to the socket, TLS records included. */
static uint64_t sock_pos(const struct stream *st)
{
	return st->ssl != NULL ? (uint64_t)BIO_number_written(SSL_get_wbio(st->ssl))
			       : st->tcp_written;
}

/* Gives every record whose plaintext has been written the socket position
 * its bytes end at: over TCP the plaintext is the stream; over TLS it is the
 * end of what the SSL_write() that carried its last byte put on the socket
 * (writes are at most one TLS record, so that is close). */
static void assign_ends(struct stream *st)
{
	uint64_t sp = sock_pos(st);

	while (st->unassigned < st->count) {
		struct pos *p = &st->ring[(st->head + st->unassigned) % st->cap];
		if (p->plain_end > st->plain_written)
			break;
		p->sock_end = st->ssl != NULL ? sp : p->plain_end;
		st->unassigned++;
	}
}

/* With a client certificate over TLS 1.3, whether the server accepted it is
 * known only from what it sends next: hold back until then. */
static int tls_pending(struct stream *st)
{
	if (st->ssl == NULL || st->tls_confirmed)
		return 0;
	if (mm_clock_ms() - st->handshake_ms < TLS13_CONFIRM_MS)
		return 1;
	st->tls_confirmed = 1;
	return 0;
}

/* Writes what is buffered until the socket would block. */
static int flush_out(struct mm_sender *s, struct stream *st)
{
	if (tls_pending(st))
		return 0;
	while (st->out.len > 0) {
		ssize_t n;
		if (st->ssl != NULL) {
			int rc, err;
			ERR_clear_error();
			rc = SSL_write(st->ssl, st->out.data,
				       (int)(st->out.len > TLS_CHUNK ? TLS_CHUNK : st->out.len));
			if (rc <= 0) {
				err = SSL_get_error(st->ssl, rc);
				if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ)
					return 0;
				ssl_log(s, "TLS write");
				return MM_EIO;
			}
			n = rc;
		} else {
			n = send(st->fd, st->out.data, st->out.len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return 0;
				log_warn("send: write to %s port %s", s->o.url.host, s->o.url.port);
				return MM_EIO;
			}
			st->tcp_written += (uint64_t)n;
		}
		mm_buf_consume(&st->out, (size_t)n);
		st->plain_written += (uint64_t)n;
		assign_ends(st);
	}
	return 0;
}

/* Reads and discards what the receiver sends (syslog receivers send
 * nothing but TLS alerts and tickets); EOF means the connection is gone. */
static int read_peer(struct mm_sender *s, struct stream *st)
{
	char buf[4096];

	for (;;) {
		if (st->ssl != NULL) {
			int rc, err;
			ERR_clear_error();
			rc = SSL_read(st->ssl, buf, sizeof buf);
			if (rc > 0)
				continue;
			err = SSL_get_error(st->ssl, rc);
			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
				return 0;
			ssl_log(s, "TLS read");
			if (!st->tls_confirmed && !s->auth_failed) {
				/* Closed right after the handshake, before the
				 * session was confirmed: the server did not take
				 * our certificate, even if it did not say so. */
				log_warnx("send: %s closed the TLS connection without accepting "
					  "the client certificate", s->o.url.host);
				s->auth_failed = 1;
			}
			return MM_EIO;
		} else {
			ssize_t n = recv(st->fd, buf, sizeof buf, 0);
			if (n > 0)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n == 0)
				log_warnx("send: %s port %s closed the connection", s->o.url.host,
					  s->o.url.port);
			else
				log_warn("send: read from %s port %s", s->o.url.host, s->o.url.port);
			return MM_EIO;
		}
	}
}

/* Confirms the records whose bytes the peer's TCP has acknowledged. */
static int confirm_acked(struct mm_sender *s, struct stream *st)
{
	uint64_t acked_to, upto = 0, ndrop = 0;
	int outq = 0;

	if (st->count == 0 || tls_pending(st))
		return 0;
	if (ioctl(st->fd, SIOCOUTQ, &outq) < 0 || outq < 0)
		return 0;
	acked_to = sock_pos(st) - (uint64_t)outq;
	while (st->unassigned > 0) {
		struct pos *p = &st->ring[st->head];
		if (p->sock_end > acked_to)
			break;
		upto = p->seq + 1;
		ndrop += (uint64_t)p->drop;
		st->head = (st->head + 1) % st->cap;
		st->count--;
		st->unassigned--;
	}
	return upto > 0 ? sender_confirm(s, upto, ndrop) : 0;
}

/* Moves bytes and confirmations until end; with until_empty, returns as
 * soon as nothing is in flight any more. */
static int pump_until(struct mm_sender *s, struct stream *st, uint64_t end, int until_empty)
{
	struct pollfd pfd;
	int rc;

	for (;;) {
		int wait, held;
		uint64_t now;
		if ((rc = flush_out(s, st)) < 0 || (rc = confirm_acked(s, st)) < 0)
			return rc;
		if (until_empty && st->count == 0)
			return 0;
		now = mm_clock_ms();
		if (now >= end)
			return 0;
		wait = (int)(end - now);
		/* TCP acknowledgements do not wake poll(): look again soon while
		 * records wait for them. */
		held = tls_pending(st);
		if (st->count > 0 && (st->out.len == 0 || held) && wait > 5)
			wait = 5;
		pfd.fd = st->fd;
		pfd.events = POLLIN | (st->out.len > 0 && !held ? POLLOUT : 0);
		pfd.revents = 0;
		if (poll(&pfd, 1, wait) < 0 && errno != EINTR)
			return MM_EIO;
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && (rc = read_peer(s, st)) < 0)
			return rc;
	}
}

static int stream_pump(struct mm_sender *s, int timeout_ms)
{
	struct stream *st = st_of(s);

	if (st->dgram) {
		if (timeout_ms > 0)
			poll(NULL, 0, timeout_ms);
		return 0;
	}
	return pump_until(s, st, mm_clock_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0), 0);
}

static int stream_finish(struct mm_sender *s, int timeout_ms)
{
	struct stream *st = st_of(s);
	int rc;

	if (st->dgram)
		return 0;
	rc = pump_until(s, st, mm_clock_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0), 1);
	if (rc < 0)
		return rc;
	return st->count == 0 ? 0 : MM_EAGAIN;
}

static void stream_free(struct mm_sender *s)
{
	struct stream *st = st_of(s);

	if (st == NULL)
		return;
	stream_close(s);
	mm_buf_free(&st->out);
	free(st->ring);
	free(st);
	s->tp = NULL;
}

const struct mm_transport mm_transport_stream = {
	.open = stream_open,
	.room = stream_room,
	.send = stream_send,
	.pump = stream_pump,
	.finish = stream_finish,
	.close = stream_close,
	.free = stream_free,
	.confirm_by_finish = 0,
};
