/*
 * bench_tcp_send: writes a corpus of octet-counted syslog frames (RFC 6587)
 * to a TCP receiver as fast as it takes them, and times how long the
 * receiver needs to finish with them. bench/soc.sh uses it to feed
 * mamori-soc and rsyslog the same bytes (bench/README.md, part 5).
 *
 *   bench_tcp_send make -n N [-s SEED] -o FILE
 *	Writes N frames to FILE: RFC 5424 messages with MSGID X1367 whose MSG is
 *	an X.1367 record, valid under the strict decoder (each one is checked),
 *	varied in gateway, requester, responder, protocol and code from SEED.
 *	Prints "frames=N bytes=B msg_bytes=M" (M: the bytes of all the MSGs,
 *	the records, which a receiver can be checked against).
 *
 *   bench_tcp_send send -port PORT [-host ADDR] [-c CONNS] [-t SECONDS]
 *		(-f FILE | -n N [-s SEED])
 *		[-until-stored ADDR:PORT | -until-lines FILE [-want N]] [-pid PID]
 *		[-poll-ms MS]
 *	Connects CONNS (default 1) TCP connections to ADDR:PORT (default
 *	127.0.0.1), gives each a contiguous share of the frames (cut at frame
 *	boundaries), and writes them all as fast as the sockets take them, then
 *	half-closes. The frames come from FILE (as made above) or are made in
 *	memory first; either way before the clock starts. The clock starts at
 *	the first byte written and stops when the receiver is done:
 *	  -until-stored ADDR:PORT  mamori-soc's counter "stored" (GET
 *	                           /api/v1/counters on its HTTP API) reaches N;
 *	  -until-lines FILE        FILE holds N lines (rsyslog's omfile);
 *	  neither                  the last byte is written.
 *	-want N waits for N instead of the number of frames sent. -pid PID stops
 *	waiting when that process (the receiver) has exited. -poll-ms MS is how
 *	often the receiver is asked (default 2 ms for a file, 50 ms for the API,
 *	whose every answer costs mamori-soc a query of its store; the time is
 *	thus late by up to one interval). -t bounds the whole run (default 120 s). Prints one line of key=value: frames, bytes, conns,
 *	send_secs (first to last byte), secs (first byte to done), rate
 *	(frames / secs), done (1 when the receiver finished in time), and the
 *	last "stored" or line count seen. Exit 0 when done, 1 otherwise.
 *
 * The corpus depends only on N and SEED, so a corpus made twice is the same.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/frame.h"
#include "mamori/x1367.h"

#define BENCH_NAME "bench_tcp_send"
#include "bench_util.h"

#define CORPUS_MAX ((size_t)1 << 32)  /* bytes of frames, at most */
#define CORPUS_EPOCH 1717200000       /* 2024-06-01T00:00:00Z, message 0's second */
#define MAX_CONNS 64
#define WRITE_CHUNK (1u << 20)        /* bytes handed to one write(2) at most */
#define DEFAULT_POLL_LINES_MS 2        /* how often the output file is looked at */
#define DEFAULT_POLL_STORED_MS 50      /* how often mamori-soc's counters are asked for */
#define HTTP_MAX (1u << 20)           /* the longest counters answer read */
#define GATEWAYS 200
#define REQUESTERS 4096
#define SCANNERS 16

/* ---- the corpus ---- */

/* xorshift64*, seeded through splitmix64 so that nearby seeds differ. */
static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
	uint64_t z = seed + 0x9E3779B97F4A7C15ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	rng_state = (z ^ (z >> 31)) | 1;
}

static uint32_t rnd(uint32_t n)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return (uint32_t)(((x * 0x2545F4914F6CDD1Dull) >> 32) % n);
}

static const char *const protocols[] = {
	"ECHONET Lite", "Modbus/TCP", "BACnet/IP", "CoAP", "MQTT", "KNXnet/IP",
	"Zigbee", "DNP3", "OPC UA", "HTTP", "ABC company protocol", "Wi-SUN ECHONET",
};
#define NPROTO (sizeof protocols / sizeof protocols[0])

static const char *const remarks[] = {
	"Request timed out after 3 retries",
	"Device firmware 2.1.7 reported the error",
	"Repeated from gateway cache",
	"IDSが検知した不正なリクエスト",
};


static void put_hex(struct mm_buf *b, unsigned nbytes)
{
	static const char d[] = "0123456789ABCDEF";
	unsigned k;
	uint32_t v;

	for (k = 0; k < nbytes; k++) {
		v = rnd(256);
		if (mm_buf_putc(b, d[v >> 4]) < 0 || mm_buf_putc(b, d[v & 15]) < 0)
			die("corpus: too big");
	}
}

/* The responder: the device that answered with the error, named in one of
 * the four ways X.1367 allows. */
static void put_responder(struct mm_buf *b)
{
	unsigned dev = rnd(20000);

	switch (dev % 4) {
	case 0:
		put(b, "\"Unique ID\":\"%04X\"", dev);
		break;
	case 1:
		put(b, "\"Unique Name\":\"dev-%u\"", dev);
		break;
	case 2:
		put(b, "\"IP Address\":\"10.%u.%u.%u\"", 100 + dev / 65536, (dev / 256) % 256,
		    dev % 256);
		break;
	default:
		put(b, "\"MAC Address\":\"02:00:00:%02x:%02x:%02x\"", (dev >> 16) & 255,
		    (dev >> 8) & 255, dev & 255);
		break;
	}
}

/*
 * Message i: "<PRI>1 TIMESTAMP gw-G mamori-gw PROCID X1367 - RECORD".
 *
 * The corpus is a fleet's error log of some days: message i happened i
 * seconds after the corpus epoch (its header and record carry that time,
 * with i's last three digits as milliseconds, so no two messages are the
 * same). Each of GATEWAYS gateways bridges one protocol and reports its own
 * address; each of REQUESTERS LAN devices talks through one gateway. In one
 * block of 1000 messages out of 50 a scanner (one of SCANNERS) sends a fifth
 * of them, through every gateway: the attacker across several ecosystems
 * that mamori-soc's correlation turns into an incident (X.1367 scenario I.4).
 */
static void put_message(struct mm_buf *b, size_t i, const struct mm_x1367_code *codes,
			size_t ncodes)
{
	time_t t = CORPUS_EPOCH + (time_t)i;
	unsigned ms = (unsigned)(i % 1000), gw, req;
	const struct mm_x1367_code *c = &codes[rnd((uint32_t)ncodes)];
	char ts[80];
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	if ((i / 1000) % 50 == 10 && rnd(5) == 0) {
		req = REQUESTERS + (unsigned)(i / 50000) % SCANNERS;
		gw = rnd(GATEWAYS);
	} else {
		req = rnd(REQUESTERS);
		gw = req % GATEWAYS;
	}
	put(b, "<%u>1 %s gw-%03u mamori-gw %u X1367 - ", 13 * 8 + 3 + rnd(4), ts, gw,
	    1000 + gw);
	put(b, "{\"Timestamp\":\"%s\",\"Reporter\":{\"IP Address\":\"10.0.%u.%u\"},"
	       "\"Protocol\":\"%s\",\"Requester\":{\"IP Address\":\"192.168.%u.%u\","
	       "\"Transmitted Code\":\"",
	    ts, gw / 250, 1 + gw % 250, protocols[gw % NPROTO], req / 250, 1 + req % 250);
	put_hex(b, 2 + rnd(14));
	put(b, "\"},\"Responder\":{");
	put_responder(b);
	put(b, ",\"Transmitted Code\":\"");
	put_hex(b, 1 + rnd(8));
	put(b, "\"},\"Error Code\":\"%02X\",\"Error Message\":\"%s\"", (unsigned)c->code,
	    c->message);
	if (rnd(4) == 0)
		put(b, ",\"Description\":{\"Status\":\"%s\"}",
		    remarks[rnd(sizeof remarks / sizeof remarks[0])]);
	put(b, "}");
}

/* Makes n frames into out; every record is checked with the strict decoder,
 * so that what a receiver is timed on is valid X.1367 from end to end. */
static void corpus_make(struct mm_buf *out, size_t n, uint64_t seed, uint64_t *msg_bytes)
{
	const struct mm_x1367_code *codes;
	struct mm_x1367_record *r;
	struct mm_buf msg;
	size_t ncodes, i;
	const char *rec;
	int rc;

	*msg_bytes = 0;
	codes = mm_x1367_codes(&ncodes);
	rng_seed(seed);
	mm_buf_init(&msg, 64 * 1024);
	mm_buf_init(out, CORPUS_MAX);
	if (mm_buf_reserve(out, n < CORPUS_MAX / 512 ? n * 512 : CORPUS_MAX) < 0)
		die("corpus: out of memory");
	for (i = 0; i < n; i++) {
		mm_buf_reset(&msg);
		put_message(&msg, i, codes, ncodes);
		rec = strchr(msg.data, '{');
		if ((rc = mm_x1367_decode(rec, msg.len - (size_t)(rec - msg.data), MM_X1367_STRICT,
					  &r, NULL)) < 0)
			die("corpus: message %zu is not a valid record (%s): %s", i, mm_strerror(rc),
			    msg.data);
		mm_x1367_free(r);
		*msg_bytes += msg.len - (size_t)(rec - msg.data);
		if ((rc = mm_frame_encode_octet(out, msg.data, msg.len)) < 0)
			die("corpus: %s", mm_strerror(rc));
	}
	mm_buf_free(&msg);
}

/* Counts the frames of an octet-counted corpus and checks that it is one,
 * so that a damaged file is refused before anything is timed. */
static size_t frames_count(const uint8_t *p, size_t len)
{
	size_t off = 0, n = 0, flen;

	while (off < len) {
		flen = 0;
		if (p[off] < '1' || p[off] > '9')
			die("corpus: no octet count at byte %zu", off);
		while (off < len && p[off] >= '0' && p[off] <= '9') {
			flen = flen * 10 + (size_t)(p[off++] - '0');
			if (flen > MM_FRAME_DEFAULT_MAX)
				die("corpus: frame at byte %zu is too long", off);
		}
		if (off >= len || p[off] != ' ' || len - off - 1 < flen)
			die("corpus: bad or truncated frame at byte %zu", off);
		off += 1 + flen;
		n++;
	}
	return n;
}

/* The end of the frame that holds byte 'at' (or the end of the corpus):
 * where the next connection's share begins. */
static size_t frame_boundary(const uint8_t *p, size_t len, size_t at)
{
	size_t off = 0, flen;

	while (off < len && off < at) {
		for (flen = 0; p[off] != ' '; off++)
			flen = flen * 10 + (size_t)(p[off] - '0');
		off += 1 + flen;
	}
	return off < len ? off : len;
}

static int cmd_make(int argc, char **argv)
{
	size_t n = 0;
	uint64_t seed = 1, msg_bytes;
	const char *path = NULL;
	struct mm_buf c;
	FILE *f;
	int a;

	for (a = 0; a < argc; a++) {
		if (strcmp(argv[a], "-n") == 0 && a + 1 < argc)
			n = opt_num(argv[++a], 1, 100000000, "-n");
		else if (strcmp(argv[a], "-s") == 0 && a + 1 < argc)
			seed = opt_num(argv[++a], 0, 0xffffffffUL, "-s");
		else if (strcmp(argv[a], "-o") == 0 && a + 1 < argc)
			path = argv[++a];
		else
			die("make: unknown argument '%s'", argv[a]);
	}
	if (!n || !path)
		die("make: need -n N and -o FILE");
	corpus_make(&c, n, seed, &msg_bytes);
	if ((f = fopen(path, "w")) == NULL)
		die("%s: %s", path, strerror(errno));
	if (fwrite(c.data, 1, c.len, f) != c.len || fclose(f) != 0)
		die("%s: cannot write: %s", path, strerror(errno));
	printf("frames=%zu bytes=%zu msg_bytes=%" PRIu64 "\n", n, c.len, msg_bytes);
	mm_buf_free(&c);
	return 0;
}

/* ---- sending ---- */


/* Resolves "ADDR" and PORT (numeric only: this is a loopback benchmark). */
static void sockaddr_of(const char *host, unsigned port, struct sockaddr_storage *ss,
			socklen_t *sl)
{
	struct addrinfo hints, *res;
	char ps[16];
	int rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(ps, sizeof ps, "%u", port);
	if ((rc = getaddrinfo(host, ps, &hints, &res)) != 0)
		die("%s: %s", host, gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = res->ai_addrlen;
	freeaddrinfo(res);
}

static int connect_to(const struct sockaddr_storage *ss, socklen_t sl, unsigned timeout)
{
	double deadline = now_s() + timeout;
	struct timespec pause = {0, 20 * 1000 * 1000};
	int fd;

	for (;;) {
		if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			die("socket: %s", strerror(errno));
		if (connect(fd, (const struct sockaddr *)ss, sl) == 0)
			return fd;
		close(fd);
		if (now_s() > deadline)
			die("connect: %s", strerror(errno));
		nanosleep(&pause, NULL);
	}
}

/* Splits "ADDR:PORT" ("[::1]:8514" for IPv6). */
static void split_hostport(const char *s, char *host, size_t hsize, unsigned *port)
{
	const char *colon = strrchr(s, ':');
	const char *h = s;
	size_t hl;

	if (!colon)
		die("expected ADDR:PORT, got '%s'", s);
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		h = s + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= hsize)
		die("expected ADDR:PORT, got '%s'", s);
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (unsigned)opt_num(colon + 1, 1, 65535, "port");
}

/* The first integer member named key anywhere in v (depth first), or -1. */
static long long find_count(json_t *v, const char *key)
{
	const char *k;
	json_t *m;
	size_t i;
	long long r;

	if (json_is_object(v)) {
		m = json_object_get(v, key);
		if (json_is_integer(m))
			return json_integer_value(m);
		json_object_foreach(v, k, m)
			if ((r = find_count(m, key)) >= 0)
				return r;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if ((r = find_count(m, key)) >= 0)
				return r;
	}
	return -1;
}

/* Asks mamori-soc's API for its counters and returns "stored", or -1 when
 * the answer is missing or not understood. One short connection a call. */
static long long http_stored(const struct sockaddr_storage *ss, socklen_t sl, const char *host)
{
	static char buf[HTTP_MAX];
	char req[256];
	size_t len = 0;
	ssize_t got;
	const char *body;
	json_t *j;
	long long v = -1;
	int fd, n;

	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, sl) < 0)
		goto out;
	n = snprintf(req, sizeof req,
		     "GET /api/v1/counters HTTP/1.0\r\nHost: %s\r\nAccept: application/json\r\n\r\n",
		     host);
	if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n)
		goto out;
	while (len < sizeof buf - 1 && (got = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 200", 4) != 0 ||
	    (body = strstr(buf, "\r\n\r\n")) == NULL)
		goto out;
	body += 4;
	if ((j = json_loadb(body, len - (size_t)(body - buf), 0, NULL)) != NULL) {
		v = find_count(j, "stored");
		json_decref(j);
	}
out:
	close(fd);
	return v;
}


struct conn {
	int fd;
	size_t off, end; /* the share still to write: corpus[off .. end) */
};

/* Writes every connection's share, each socket as fast as it takes bytes,
 * and half-closes each when its share is written. Returns 0, or -1 past the
 * deadline. */
static int write_all(struct conn *cs, unsigned nc, const uint8_t *p, double deadline)
{
	struct pollfd pfd[MAX_CONNS];
	unsigned i, left = 0, np;
	ssize_t w;
	size_t chunk;

	for (i = 0; i < nc; i++)
		left += cs[i].off < cs[i].end;
	while (left > 0) {
		for (i = 0, np = 0; i < nc; i++)
			if (cs[i].off < cs[i].end) {
				pfd[np].fd = cs[i].fd;
				pfd[np].events = POLLOUT;
				np++;
			}
		if (poll(pfd, np, 100) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; i < nc; i++) {
			if (cs[i].off >= cs[i].end)
				continue;
			chunk = cs[i].end - cs[i].off;
			if (chunk > WRITE_CHUNK)
				chunk = WRITE_CHUNK;
			w = write(cs[i].fd, p + cs[i].off, chunk);
			if (w < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (w < 0)
				die("write: %s (connection %u, at byte %zu)", strerror(errno), i,
				    cs[i].off);
			cs[i].off += (size_t)w;
			if (cs[i].off == cs[i].end) {
				shutdown(cs[i].fd, SHUT_WR);
				left--;
			}
		}
		if (left > 0 && now_s() > deadline)
			return -1;
	}
	return 0;
}

static int cmd_send(int argc, char **argv)
{
	const char *host = "127.0.0.1", *file = NULL, *until_stored = NULL, *until_lines = NULL;
	unsigned port = 0, nc = 1, timeout = 120, i, api_port = 0, poll_ms = 0;
	size_t n = 0, frames, len, want = 0;
	uint64_t seed = 1, msg_bytes;
	long pid = 0;
	struct mm_buf made;
	const uint8_t *p;
	void *map = NULL;
	struct conn cs[MAX_CONNS];
	struct sockaddr_storage ss, api;
	socklen_t sl, apil = 0;
	struct linecount lc = {.fd = -1, .off = 0, .lines = 0};
	struct timespec pause;
	char api_host[256] = "";
	double t0, t_sent, t_done, deadline;
	long long seen = -1;
	int a, done = 0, fd;
	struct stat st;

	for (a = 0; a < argc; a++) {
		if (strcmp(argv[a], "-port") == 0 && a + 1 < argc)
			port = (unsigned)opt_num(argv[++a], 1, 65535, "-port");
		else if (strcmp(argv[a], "-host") == 0 && a + 1 < argc)
			host = argv[++a];
		else if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
			nc = (unsigned)opt_num(argv[++a], 1, MAX_CONNS, "-c");
		else if (strcmp(argv[a], "-t") == 0 && a + 1 < argc)
			timeout = (unsigned)opt_num(argv[++a], 1, 3600, "-t");
		else if (strcmp(argv[a], "-f") == 0 && a + 1 < argc)
			file = argv[++a];
		else if (strcmp(argv[a], "-n") == 0 && a + 1 < argc)
			n = opt_num(argv[++a], 1, 100000000, "-n");
		else if (strcmp(argv[a], "-s") == 0 && a + 1 < argc)
			seed = opt_num(argv[++a], 0, 0xffffffffUL, "-s");
		else if (strcmp(argv[a], "-until-stored") == 0 && a + 1 < argc)
			until_stored = argv[++a];
		else if (strcmp(argv[a], "-until-lines") == 0 && a + 1 < argc)
			until_lines = argv[++a];
		else if (strcmp(argv[a], "-want") == 0 && a + 1 < argc)
			want = opt_num(argv[++a], 1, 100000000, "-want");
		else if (strcmp(argv[a], "-pid") == 0 && a + 1 < argc)
			pid = (long)opt_num(argv[++a], 1, 1u << 30, "-pid");
		else if (strcmp(argv[a], "-poll-ms") == 0 && a + 1 < argc)
			poll_ms = (unsigned)opt_num(argv[++a], 1, 10000, "-poll-ms");
		else
			die("send: unknown argument '%s'", argv[a]);
	}
	if (!port || (!file) == (!n))
		die("send: need -port PORT and one of -f FILE or -n N");
	if (until_stored && until_lines)
		die("send: -until-stored or -until-lines, not both");
	/* Counting the lines of a file costs the receiver nothing, so it is
	 * looked at often; each answer of mamori-soc's API costs its main loop
	 * a query of the store, so that is asked less often. */
	if (!poll_ms)
		poll_ms = until_stored ? DEFAULT_POLL_STORED_MS : DEFAULT_POLL_LINES_MS;
	pause.tv_sec = poll_ms / 1000;
	pause.tv_nsec = (long)(poll_ms % 1000) * 1000000L;
	signal(SIGPIPE, SIG_IGN);

	/* The corpus is in memory (and its pages touched) before the clock runs. */
	if (file) {
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
			die("%s: %s", file, strerror(errno));
		len = (size_t)st.st_size;
		if (len == 0)
			die("%s: empty", file);
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		close(fd);
		if (map == MAP_FAILED)
			die("%s: mmap: %s", file, strerror(errno));
		p = map;
	} else {
		corpus_make(&made, n, seed, &msg_bytes);
		p = (const uint8_t *)made.data;
		len = made.len;
	}
	frames = frames_count(p, len);
	if (!want)
		want = frames;
	if (until_stored) {
		split_hostport(until_stored, api_host, sizeof api_host, &api_port);
		sockaddr_of(api_host, api_port, &api, &apil);
	}

	sockaddr_of(host, port, &ss, &sl);
	for (i = 0; i < nc; i++) {
		cs[i].fd = connect_to(&ss, sl, 10);
		if (fcntl(cs[i].fd, F_SETFL, O_NONBLOCK) < 0)
			die("fcntl: %s", strerror(errno));
		cs[i].off = frame_boundary(p, len, len / nc * i);
		cs[i].end = i + 1 == nc ? len : frame_boundary(p, len, len / nc * (i + 1));
		/* More connections than frames leaves some without a share. */
		if (cs[i].off == cs[i].end)
			shutdown(cs[i].fd, SHUT_WR);
	}

	t0 = now_s();
	deadline = t0 + timeout;
	if (write_all(cs, nc, p, deadline) < 0) {
		t_done = t_sent = now_s();
		goto report;
	}
	t_sent = now_s();

	for (;;) {
		if (until_stored)
			seen = http_stored(&api, apil, api_host);
		else if (until_lines) {
			linecount_poll(&lc, until_lines);
			seen = (long long)lc.lines;
		}
		if (!until_stored && !until_lines) {
			done = 1;
			break;
		}
		if (seen >= (long long)want) {
			done = 1;
			break;
		}
		if (now_s() > deadline)
			break;
		if (pid && !proc_alive(pid))
			break;
		nanosleep(&pause, NULL);
	}
	t_done = now_s();
report:
	printf("frames=%zu bytes=%zu conns=%u send_secs=%.4f secs=%.4f rate=%.0f done=%d", frames,
	       len, nc, t_sent - t0, t_done - t0,
	       done && t_done > t0 ? (double)frames / (t_done - t0) : 0.0, done);
	if (until_stored)
		printf(" stored=%lld", seen);
	if (until_lines)
		printf(" lines=%lld", seen);
	printf("\n");
	for (i = 0; i < nc; i++)
		close(cs[i].fd);
	if (lc.fd >= 0)
		close(lc.fd);
	if (map)
		munmap(map, len);
	else
		mm_buf_free(&made);
	return done ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "make") == 0)
		return cmd_make(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "send") == 0)
		return cmd_send(argc - 2, argv + 2);
	fprintf(stderr,
		"usage: bench_tcp_send make -n N [-s SEED] -o FILE\n"
		"       bench_tcp_send send -port PORT [-host ADDR] [-c CONNS] [-t SECONDS]\n"
		"              (-f FILE | -n N [-s SEED])\n"
		"              [-until-stored ADDR:PORT | -until-lines FILE [-want N]] [-pid PID]\n"
		"              [-poll-ms MS]\n");
	return 2;
}
