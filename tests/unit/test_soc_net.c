/*
 * The listeners against real peers on loopback: a real event loop (in a
 * thread of the test), the real ingest and writer on a temporary SQLite
 * store, and clients that write bytes to real sockets. Every test checks
 * what ended up in the store (rows, fields, in order) and the counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <librelp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sqlite3.h>

#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/spool.h"

#include "ingest.h"
#include "listen.h"
#include "soc.h"
#include "writer.h"

/* Bounded waits: long enough for a slow sanitizer build, never a measure. */
#define WAIT_MS 20000

struct env {
	char dir[64];
	char db[128];
	struct event_base *base;
	struct writer *w;
	struct ingest *in;
	struct listener *l[4];
	int nl;
	pthread_t loop;
	int running;
};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void env_init(struct env *e, size_t queue_max, size_t max_msg)
{
	struct writer_opts wo;
	struct ingest_opts io;
	char url[160], err[256];

	memset(e, 0, sizeof *e);
	snprintf(e->dir, sizeof e->dir, "/tmp/mamori-net.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->db, sizeof e->db, "%s/soc.db", e->dir);
	snprintf(url, sizeof url, "sqlite:%s", e->db);
	assert_non_null(e->base = event_base_new());
	writer_opts_default(&wo);
	wo.store_url = url;
	if (writer_new(&wo, &e->w, err, sizeof err) < 0)
		fail_msg("writer: %s", err);
	assert_int_equal(writer_start(e->w), 0);
	ingest_opts_default(&io);
	if (queue_max)
		io.queue_max = queue_max;
	if (max_msg)
		io.max_msg = max_msg;
	assert_int_equal(ingest_new(e->base, e->w, &io, &e->in), 0);
}

static struct listener *env_listen(struct env *e, const char *url, const struct listen_tls *tls,
				   const struct listen_limits *lim)
{
	char err[256];
	struct listener *l = NULL;

	if (listen_start(e->base, e->in, url, tls, lim, e->dir, &l, err, sizeof err) < 0)
		fail_msg("listen %s: %s", url, err);
	e->l[e->nl++] = l;
	return l;
}

static void *loop_main(void *arg)
{
	struct env *e = arg;

	event_base_loop(e->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void env_run(struct env *e)
{
	assert_int_equal(pthread_create(&e->loop, NULL, loop_main, e), 0);
	e->running = 1;
}

/* Stops the loop, then everything in the order mamori-soc does. */
static void env_free(struct env *e)
{
	char cmd[128];
	int i;

	if (e->running) {
		event_base_loopbreak(e->base);
		pthread_join(e->loop, NULL);
	}
	writer_flush(e->w);
	for (i = 0; i < e->nl; i++)
		listen_stop(e->l[i]);
	ingest_free(e->in);
	writer_free(e->w);
	event_base_free(e->base);
	snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- the store ---- */

static sqlite3 *db_open(const struct env *e)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(e->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static long db_long(const struct env *e, const char *sql)
{
	sqlite3 *db = db_open(e);
	sqlite3_stmt *st = NULL;
	long n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* Waits until sql counts at least n; returns the last count. */
static long wait_count(const struct env *e, const char *sql, long n)
{
	long got = -1;
	int i;

	for (i = 0; i < WAIT_MS / 20; i++) {
		if ((got = db_long(e, sql)) >= n)
			return got;
		sleep_ms(20);
	}
	return got;
}

/* The first column of every row of sql, as text, joined with "|". */
static char *db_join(const struct env *e, const char *sql)
{
	sqlite3 *db = db_open(e);
	sqlite3_stmt *st = NULL;
	size_t len = 0, cap = 1 << 20;
	char *out = calloc(1, cap);

	assert_non_null(out);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		int n = snprintf(out + len, cap - len, "%s%s", len ? "|" : "", t ? t : "(null)");
		assert_true(n > 0 && (size_t)n < cap - len);
		len += (size_t)n;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static void assert_rows(const struct env *e, const char *sql, const char *want)
{
	char *got = db_join(e, sql);

	if (strcmp(got, want) != 0)
		fail_msg("%s\n  got:  %s\n  want: %s", sql, got, want);
	free(got);
}

static int wait_counter(enum soc_counter c, uint64_t n)
{
	int i;

	for (i = 0; i < WAIT_MS / 10; i++) {
		if (soc_counter_get(c) >= n)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

/* ---- clients ---- */

static unsigned url_port(const char *url)
{
	return (unsigned)strtoul(strrchr(url, ':') + 1, NULL, 10);
}

static int tcp_connect(const char *url)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)url_port(url));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		c += w;
		n -= (size_t)w;
	}
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* 1 when the server closed fd (read returns 0 or an error) within the wait. */
static int closed_by_server(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	char b[64];

	if (poll(&p, 1, WAIT_MS) != 1)
		return 0;
	return recv(fd, b, sizeof b, 0) <= 0;
}

#define SYSLOG(text) "<13>1 2024-05-01T10:00:00Z dev-a app - - - " text

/* ---- tests ---- */

/* Octet-counted and LF frames on one connection, a frame split across
 * writes, and a last frame without LF at the end of the stream: each one is
 * stored once, in order, with the peer. */
static void test_tcp_framing(void **state)
{
	struct env e;
	const char *a = SYSLOG("one"), *c = SYSLOG("three");
	char buf[512];
	int fd, n;

	(void)state;
	env_init(&e, 0, 0);
	env_listen(&e, "tcp://127.0.0.1:0", NULL, NULL);
	env_run(&e);
	fd = tcp_connect(listen_address(e.l[0]));
	n = snprintf(buf, sizeof buf, "%zu %s", strlen(a), a);
	send_all(fd, buf, (size_t)n);
	send_str(fd, SYSLOG("two") "\n");
	n = snprintf(buf, sizeof buf, "%zu %s", strlen(c), c);
	send_all(fd, buf, 10); /* the count and a piece of the message */
	sleep_ms(100);
	send_all(fd, buf + 10, (size_t)n - 10);
	send_str(fd, SYSLOG("fo"));
	sleep_ms(100);
	send_str(fd, "ur\n\n" SYSLOG("five, no LF"));
	close(fd);
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM events", 5), 5);
	assert_rows(&e, "SELECT msg FROM events ORDER BY id",
		    "one|two|three|four|five, no LF");
	assert_rows(&e, "SELECT DISTINCT transport || ' ' || peer_addr FROM events", "1 127.0.0.1");
	assert_int_equal(db_long(&e, "SELECT count(*) FROM events WHERE peer LIKE '127.0.0.1:%'"),
			 5);
	env_free(&e);
}

/* Oversized frames (LF and octet-counted) and a malformed octet count become
 * dead letters with their reason; the frames after them still arrive. */
static void test_tcp_oversized(void **state)
{
	struct env e;
	struct listen_limits lim;
	uint64_t over0 = soc_counter_get(SOC_C_FRAME_OVERSIZED);
	uint64_t bad0 = soc_counter_get(SOC_C_FRAME_MALFORMED);
	char big[3000];
	int fd;

	(void)state;
	env_init(&e, 0, 512);
	listen_limits_default(&lim);
	lim.max_msg = 512;
	env_listen(&e, "tcp://127.0.0.1:0", NULL, &lim);
	env_run(&e);
	fd = tcp_connect(listen_address(e.l[0]));
	memset(big, 'X', sizeof big);
	send_all(fd, big, 2000);
	send_str(fd, "\n" SYSLOG("after LF oversized") "\n");
	send_str(fd, "3000 ");
	send_all(fd, big, 3000);
	send_str(fd, "12x not a count\n" SYSLOG("after malformed") "\n");
	close(fd);
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM events", 2), 2);
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM dead_letters", 3), 3);
	assert_rows(&e, "SELECT msg FROM events ORDER BY id", "after LF oversized|after malformed");
	assert_rows(&e, "SELECT reason FROM dead_letters ORDER BY id",
		    "frame too large|frame too large|malformed frame (bad octet count or truncated)");
	assert_rows(&e, "SELECT length(raw) FROM dead_letters ORDER BY id", "512|512|15");
	assert_int_equal(soc_counter_get(SOC_C_FRAME_OVERSIZED) - over0, 2);
	assert_int_equal(soc_counter_get(SOC_C_FRAME_MALFORMED) - bad0, 1);
	env_free(&e);
}

/* max_clients refuses the connection past the limit at once (and counts
 * it); the connections already open keep working. max_per_addr likewise. */
static void test_tcp_max_clients(void **state)
{
	struct env e;
	struct listen_limits lim;
	uint64_t ref0 = soc_counter_get(SOC_C_CONN_REFUSED);
	int a, b, c;

	(void)state;
	env_init(&e, 0, 0);
	listen_limits_default(&lim);
	lim.max_clients = 2;
	env_listen(&e, "tcp://127.0.0.1:0", NULL, &lim);
	env_run(&e);
	a = tcp_connect(listen_address(e.l[0]));
	b = tcp_connect(listen_address(e.l[0]));
	send_str(a, SYSLOG("from a") "\n");
	send_str(b, SYSLOG("from b") "\n");
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM events", 2), 2);
	c = tcp_connect(listen_address(e.l[0]));
	assert_true(closed_by_server(c));
	assert_int_equal(soc_counter_get(SOC_C_CONN_REFUSED) - ref0, 1);
	send_str(a, SYSLOG("a again") "\n");
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM events", 3), 3);
	assert_rows(&e, "SELECT msg FROM events ORDER BY id", "from a|from b|a again");
	close(a);
	close(b);
	close(c);
	env_free(&e);

	/* One address, two connections at most; every listener counts. */
	env_init(&e, 0, 0);
	listen_limits_default(&lim);
	lim.max_per_addr = 2;
	env_listen(&e, "tcp://127.0.0.1:0", NULL, &lim);
	env_run(&e);
	a = tcp_connect(listen_address(e.l[0]));
	b = tcp_connect(listen_address(e.l[0]));
	send_str(a, SYSLOG("a") "\n");
	send_str(b, SYSLOG("b") "\n");
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM events", 2), 2);
	c = tcp_connect(listen_address(e.l[0]));
	assert_true(closed_by_server(c));
	assert_int_equal(soc_counter_get(SOC_C_CONN_REFUSED) - ref0, 2);
	close(a);
	close(b);
	close(c);
	env_free(&e);
}

/* With a queue of one message, the reader pauses and resumes many times and
 * nothing is lost or reordered: every one of 3000 frames is stored, in the
 * order sent. */
static void test_tcp_pushback(void **state)
{
	enum { N = 3000 };
	struct env e;
	uint64_t push0 = soc_counter_get(SOC_C_PUSHBACK);
	char *all, line[128];
	size_t len = 0;
	int fd, i, n;

	(void)state;
	env_init(&e, 1, 0);
	env_listen(&e, "tcp://127.0.0.1:0", NULL, NULL);
	env_run(&e);
	assert_non_null(all = malloc((size_t)N * sizeof line));
	for (i = 0; i < N; i++) {
		n = snprintf(line, sizeof line, "<13>1 2024-05-01T10:00:00Z dev-a app - - - seq %05d",
			     i);
		/* octet counting and LF, alternately */
		if (i % 2)
			len += (size_t)snprintf(all + len, sizeof line + 8, "%s\n", line);
		else
			len += (size_t)snprintf(all + len, sizeof line + 8, "%d %s", n, line);
	}
	fd = tcp_connect(listen_address(e.l[0]));
	send_all(fd, all, len);
	close(fd);
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM events", N), N);
	/* In order: the n-th stored row (by id) is frame n. */
	assert_int_equal(db_long(&e, "SELECT count(*) FROM (SELECT msg, row_number() OVER "
				     "(ORDER BY id) - 1 AS k FROM events) WHERE msg = printf("
				     "'seq %05d', k)"),
			 N);
	assert_true(soc_counter_get(SOC_C_PUSHBACK) > push0);
	free(all);
	env_free(&e);
}

/* A connection that does not complete a message within first_msg_s (a slow
 * loris) is closed and counted; a connection that did is not. */
static void test_tcp_first_msg_timeout(void **state)
{
	struct env e;
	struct listen_limits lim;
	uint64_t t0 = soc_counter_get(SOC_C_CONN_TIMEOUT);
	int slow, good;

	(void)state;
	env_init(&e, 0, 0);
	listen_limits_default(&lim);
	lim.first_msg_s = 1;
	env_listen(&e, "tcp://127.0.0.1:0", NULL, &lim);
	env_run(&e);
	good = tcp_connect(listen_address(e.l[0]));
	send_str(good, SYSLOG("in time") "\n");
	slow = tcp_connect(listen_address(e.l[0]));
	send_str(slow, "<13>1 2024");
	assert_true(closed_by_server(slow));
	assert_int_equal(soc_counter_get(SOC_C_CONN_TIMEOUT) - t0, 1);
	send_str(good, SYSLOG("still open") "\n");
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM events", 2), 2);
	assert_rows(&e, "SELECT msg FROM events ORDER BY id", "in time|still open");
	close(slow);
	close(good);
	env_free(&e);
}

/* One datagram is one message; an oversized one is a dead letter. */
static void test_udp(void **state)
{
	struct env e;
	struct listen_limits lim;
	struct sockaddr_in sa;
	char big[2000];
	int fd;

	(void)state;
	env_init(&e, 0, 1024);
	listen_limits_default(&lim);
	lim.max_msg = 1024;
	env_listen(&e, "udp://127.0.0.1:0", NULL, &lim);
	assert_int_equal(strncmp(listen_address(e.l[0]), "udp://127.0.0.1:", 16), 0);
	env_run(&e);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)url_port(listen_address(e.l[0])));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(big, 'Y', sizeof big);
	assert_true(sendto(fd, SYSLOG("udp one"), strlen(SYSLOG("udp one")), 0,
			   (struct sockaddr *)&sa, sizeof sa) > 0);
	assert_true(sendto(fd, big, sizeof big, 0, (struct sockaddr *)&sa, sizeof sa) > 0);
	assert_true(sendto(fd, SYSLOG("udp two"), strlen(SYSLOG("udp two")), 0,
			   (struct sockaddr *)&sa, sizeof sa) > 0);
	close(fd);
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM events", 2), 2);
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM dead_letters", 1), 1);
	assert_rows(&e, "SELECT msg || ' ' || transport FROM events ORDER BY id",
		    "udp one 0|udp two 0");
	assert_rows(&e, "SELECT reason || ' ' || orig_len FROM dead_letters",
		    "datagram too large 2000");
	env_free(&e);
}

/* ---- TLS ---- */

static char pki[96];

static void make_pki(const char *dir)
{
	char cmd[4096];

	snprintf(pki, sizeof pki, "%s/pki", dir);
	snprintf(cmd, sizeof cmd,
		 "set -e; exec 2>/dev/null; mkdir -p %s; cd %s;"
		 "k='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';"
		 "openssl req -x509 $k -days 2 -subj '/CN=test CA' -keyout ca.key -out ca.pem;"
		 "openssl req -x509 $k -days 2 -subj '/CN=rogue CA' -keyout rca.key -out rca.pem;"
		 "issue() { openssl req $k -subj \"/CN=$3\" -keyout $1.key -out $1.csr;"
		 " openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial"
		 " -days 2 -out $1.pem; };"
		 "issue server ca localhost; issue client ca device-1; issue rogue rca device-1",
		 pki, pki);
	assert_int_equal(system(cmd), 0);
}

/* Connects with OpenSSL as the client of certificate NAME (NULL: none),
 * sends line and returns 1 when the server took the connection (it did not
 * close it after the handshake), 0 when it refused it. */
static int tls_send(const char *url, const char *name, const char *line)
{
	char cert[160], key[160], b[16];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	int fd, ok = 0, r;
	struct timeval tv = {2, 0};

	assert_non_null(ctx);
	if (name != NULL) {
		snprintf(cert, sizeof cert, "%s/%s.pem", pki, name);
		snprintf(key, sizeof key, "%s/%s.key", pki, name);
		assert_int_equal(SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
	}
	fd = tcp_connect(url);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) == 1 && SSL_write(ssl, line, (int)strlen(line)) > 0) {
		/* TLS 1.3 finishes the client's side before the server has
		 * checked its certificate: a refusal shows on the next read. A
		 * read that times out means the server kept the connection. */
		r = SSL_read(ssl, b, sizeof b);
		ok = r <= 0 && (SSL_get_error(ssl, r) == SSL_ERROR_SYSCALL ||
				SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ) &&
		     (errno == EAGAIN || errno == EWOULDBLOCK);
	}
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	return ok;
}

/* Mutual TLS: the client certificate's CN, SHA-256 and expiry reach the
 * store; an unknown certificate, or none, fails the handshake and is counted. */
static void test_tls_mutual(void **state)
{
	struct env e;
	struct listen_tls tls;
	char cert[160], key[160], ca[160];
	uint64_t f0 = soc_counter_get(SOC_C_TLS_FAILED);
	char *fp;
	FILE *p;
	char cmd[256], want[80] = "";

	(void)state;
	env_init(&e, 0, 0);
	make_pki(e.dir);
	snprintf(cert, sizeof cert, "%s/server.pem", pki);
	snprintf(key, sizeof key, "%s/server.key", pki);
	snprintf(ca, sizeof ca, "%s/ca.pem", pki);
	tls.cert = cert;
	tls.key = key;
	tls.ca = ca;
	tls.verify = 2;
	env_listen(&e, "tls://127.0.0.1:0", &tls, NULL);
	env_run(&e);
	assert_true(tls_send(listen_address(e.l[0]), "client", SYSLOG("over tls") "\n"));
	assert_false(tls_send(listen_address(e.l[0]), "rogue", SYSLOG("rogue") "\n"));
	assert_false(tls_send(listen_address(e.l[0]), NULL, SYSLOG("anonymous") "\n"));
	assert_true(wait_counter(SOC_C_TLS_FAILED, f0 + 2));
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM events", 1), 1);
	/* The fingerprint as openssl computes it, lower-case without colons. */
	snprintf(cmd, sizeof cmd,
		 "openssl x509 -in %s/client.pem -noout -fingerprint -sha256 | "
		 "sed 's/.*=//; s/://g' | tr A-F a-f",
		 pki);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(fgets(want, sizeof want, p));
	pclose(p);
	want[strcspn(want, "\n")] = '\0';
	assert_int_equal(strlen(want), 64);
	fp = db_join(&e, "SELECT cert_fp FROM events");
	assert_string_equal(fp, want);
	free(fp);
	assert_rows(&e, "SELECT msg || ' ' || transport || ' ' || device FROM events",
		    "over tls 2 device-1");
	assert_true(db_long(&e, "SELECT cert_not_after FROM events") > (long)time(NULL));
	sleep_ms(300); /* the refused ones had time to arrive, had they been taken */
	assert_int_equal(db_long(&e, "SELECT count(*) FROM events"), 1);
	env_free(&e);
}

/* ---- RELP ---- */

static void relp_dbg(char *fmt, ...)
{
	(void)fmt;
}

/* Sends n messages "relp NNN" over RELP and closes the session, which
 * returns only when the server acknowledged every one. */
static void relp_send_n(unsigned port, int n)
{
	relpEngine_t *eng = NULL;
	relpClt_t *clt = NULL;
	char p[8], m[128];
	int i, len;

	assert_int_equal(relpEngineConstruct(&eng), RELP_RET_OK);
	relpEngineSetDbgprint(eng, relp_dbg);
	relpEngineSetEnableCmd(eng, (unsigned char *)"syslog", eRelpCmdState_Required);
	assert_int_equal(relpEngineCltConstruct(eng, &clt), RELP_RET_OK);
	snprintf(p, sizeof p, "%u", port);
	assert_int_equal(relpCltConnect(clt, AF_INET, (unsigned char *)p,
					(unsigned char *)"127.0.0.1"),
			 RELP_RET_OK);
	for (i = 0; i < n; i++) {
		len = snprintf(m, sizeof m, SYSLOG("relp %03d"), i);
		assert_int_equal(relpCltSendSyslog(clt, (unsigned char *)m, (size_t)len),
				 RELP_RET_OK);
	}
	assert_int_equal(relpEngineCltDestruct(eng, &clt), RELP_RET_OK);
	relpEngineDestruct(&eng);
}

static unsigned free_tcp_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Records a previous run left in the journal are stored first; then RELP
 * messages are stored in order; at the end the journal holds nothing
 * unacknowledged. */
static void test_relp(void **state)
{
	struct env e;
	struct mm_spool *sp;
	char url[64], dir[160], rec[160];
	unsigned port = free_tcp_port();
	const char *left = SYSLOG("left from before");
	size_t n;

	(void)state;
	env_init(&e, 2, 0);
	/* A journal as a run killed before committing would leave it. */
	snprintf(dir, sizeof dir, "%s/relp-journal-%u", e.dir, port);
	assert_int_equal(mm_spool_open(dir, NULL, &sp, NULL), 0);
	rec[0] = 1;
	rec[1] = SOC_RELP;
	rec[2] = 9;
	memcpy(rec + 3, "192.0.2.7", 9);
	n = strlen(left);
	memcpy(rec + 12, left, n);
	assert_int_equal(mm_spool_append(sp, rec, 12 + n), 0);
	mm_spool_close(sp);

	snprintf(url, sizeof url, "relp://127.0.0.1:%u", port);
	env_listen(&e, url, NULL, NULL);
	assert_string_equal(listen_address(e.l[0]), url);
	env_run(&e);
	relp_send_n(port, 50);
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM events", 51), 51);
	assert_rows(&e, "SELECT msg || ' ' || peer_addr FROM events WHERE id = 1",
		    "left from before 192.0.2.7");
	assert_int_equal(db_long(&e, "SELECT count(*) FROM (SELECT msg, transport, row_number() "
				     "OVER (ORDER BY id) - 2 AS k FROM events) WHERE k >= 0 AND "
				     "msg = printf('relp %03d', k) AND transport = 3"),
			 50);
	env_free(&e);
}

/* The journal after a clean stop: every record acknowledged. */
static void test_relp_journal_acked(void **state)
{
	struct env e;
	struct mm_spool *sp;
	struct mm_spool_rec r;
	char url[64], dir[160];
	unsigned port = free_tcp_port();
	int i;

	(void)state;
	env_init(&e, 0, 0);
	snprintf(url, sizeof url, "relp://127.0.0.1:%u", port);
	env_listen(&e, url, NULL, NULL);
	env_run(&e);
	relp_send_n(port, 20);
	assert_int_equal(wait_count(&e, "SELECT count(*) FROM events", 20), 20);
	event_base_loopbreak(e.base);
	pthread_join(e.loop, NULL);
	e.running = 0;
	writer_flush(e.w);
	for (i = 0; i < e.nl; i++)
		listen_stop(e.l[i]);
	e.nl = 0;
	snprintf(dir, sizeof dir, "%s/relp-journal-%u", e.dir, port);
	assert_int_equal(mm_spool_open(dir, NULL, &sp, NULL), 0);
	assert_int_equal(mm_spool_read(sp, &r), MM_ENOTFOUND);
	mm_spool_close(sp);
	env_free(&e);
}

static void test_bad_urls(void **state)
{
	static const char *const bad[] = {"tcp:/127.0.0.1:1", "http://127.0.0.1:1",
					  "tcp://127.0.0.1", "tcp://127.0.0.1:70000",
					  "tcp://[::1:5", "tcp://::1:5", "udp://127.0.0.1:x"};
	struct env e;
	struct listener *l = NULL;
	char err[256];
	size_t i;

	(void)state;
	env_init(&e, 0, 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(listen_start(e.base, e.in, bad[i], NULL, NULL, e.dir, &l, err,
					      sizeof err),
				 MM_EINVAL);
		assert_null(l);
		assert_non_null(strstr(err, bad[i]));
	}
	/* TLS without a certificate is refused before anything is bound. */
	assert_int_equal(listen_start(e.base, e.in, "tls://127.0.0.1:0", NULL, NULL, e.dir, &l,
				      err, sizeof err),
			 MM_EINVAL);
	/* IPv6 in brackets, with its real port. */
	env_listen(&e, "tcp://[::1]:0", NULL, NULL);
	assert_int_equal(strncmp(listen_address(e.l[0]), "tcp://[::1]:", 12), 0);
	assert_true(url_port(listen_address(e.l[0])) > 0);
	env_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_urls),
		cmocka_unit_test(test_tcp_framing),
		cmocka_unit_test(test_tcp_oversized),
		cmocka_unit_test(test_tcp_max_clients),
		cmocka_unit_test(test_tcp_pushback),
		cmocka_unit_test(test_tcp_first_msg_timeout),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_tls_mutual),
		cmocka_unit_test(test_relp),
		cmocka_unit_test(test_relp_journal_acked),
	};

	signal(SIGPIPE, SIG_IGN);
	mm_log_init(1, "test_soc_net");
	evthread_use_pthreads();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
