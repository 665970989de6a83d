/*
 * bench_parse: how fast mamori turns RFC 5424 syslog carrying X.1367 records
 * into validated records, measured beside what a user would use instead.
 *
 * Modes (bench/run.sh drives them; bench/README.md explains the output):
 *
 *   bench_parse inproc [-n N] [-p PASSES] [-c CPU] [-only WHICH]
 *	In one process pinned to one CPU: RFC 5424 parses per second, the full
 *	pipeline (parse + strict X.1367 decode + free) per second, and a
 *	jansson-only baseline (json_loadb of the same MSG bodies), each over
 *	PASSES passes of a generated corpus of N distinct messages.
 *
 *   bench_parse serve -P PORTFILE -o OUT [-t SECONDS]
 *	The mamori receiver: listens on a random high port of 127.0.0.1 (the
 *	port is written to PORTFILE once listening), accepts one TCP
 *	connection, splits it with mm_frame_feed, parses every message with
 *	mm_syslog_parse and mm_x1367_decode (strict) and writes one JSON line
 *	per message to OUT. At end of stream it prints its counters, peak RSS
 *	and CPU time as key=value on stdout.
 *
 *   bench_parse send -port PORT -w OUT [-n N] [-t SECONDS] [-pid PID]
 *	The sender used for every receiver: generates the same corpus,
 *	octet-counts it (RFC 6587), connects to 127.0.0.1:PORT, writes it as
 *	fast as the socket takes it, then waits until OUT has N lines. Prints
 *	the time from the first byte sent to the N-th line, then checks every
 *	line of OUT against the corpus (see verify()). With -pid it stops
 *	waiting early when that process (the receiver) has exited.
 *
 *   bench_parse sample [-n N]
 *	Prints the first N messages of the corpus, one a line.
 *
 * The corpus depends only on N and a fixed seed, so every mode and every
 * receiver sees byte-identical messages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <yajl/yajl_parse.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/frame.h"
#include "mamori/syslog.h"
#include "mamori/x1367.h"

#define DEFAULT_N 200000
#define DEFAULT_PASSES 5
#define MAX_PASSES 51
#define CORPUS_MAX ((size_t)1 << 31)   /* bytes of generated messages, at most */
#define TARGET_PARSE 1000000.0         /* RFC 5424 parses/s on one core (the issue) */
#define TARGET_PIPELINE 250000.0       /* full X.1367 validations/s on one core */
#define CORPUS_EPOCH 1717200000       /* 2024-06-01T00:00:00Z, message 0's second */
#define PORT_LO 20000
#define PORT_HI 60000

/* ---- small helpers ---- */

#define BENCH_NAME "bench_parse"
#include "bench_util.h"

/* xorshift64*: a fixed seed gives the same corpus in every process. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return (uint32_t)(((x * 0x2545F4914F6CDD1Dull) >> 32) % n);
}

static void rng_reset(void)
{
	rng_state = 0x9E3779B97F4A7C15ull;
}

/* Peak resident set (VmHWM) of this process in KiB, 0 if unknown. */
static long peak_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "VmHWM:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* ---- the corpus ---- */

struct corpus {
	struct mm_buf data; /* every message, back to back */
	size_t n;
	size_t *off;        /* message i is data.data[off[i] .. off[i] + len[i]) */
	uint32_t *len;
	size_t *moff;       /* its MSG (the JSON record) within data */
	uint32_t *mlen;
};

static const char *const apps[] = {
	"iotgw", "mamori-gw", "echonet-bridge", "modbusd", "ids-sensor", "cloud-collector",
	"bacnet-proxy", "coap-relay", "mqtt-bridge", "knx-gw", "fw-forwarder", "zigbee-hub",
};
static const char *const msgids[] = {
	"X1367", "X1367", "X1367", "ERRLOG", "IOTERR", "GWERR", "ALERT", "-",
};
static const char *const protocols[] = {
	"ECHONET Lite", "Modbus/TCP", "BACnet/IP", "ABC company protocol",
	"EEE Company's protocol", "CoAP", "MQTT", "KNXnet/IP", "Zigbee", "DNP3", "OPC UA",
	"Wi-SUN ECHONET",
};
static const char *const remarks[] = {
	"This message was sent from IDS not IoTGW",
	"Request timed out after 3 retries",
	"Device firmware 2.1.7 reported the error",
	"Repeated from gateway cache",
	"IDSが検知した不正なリクエスト",
	"Edge device rebooted during the request",
};
static const char *const sd_origin_sw[] = {"mamori", "vendor-gw", "rsyslog", "busybox"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))


static void put_hostname(struct mm_buf *b, size_t i)
{
	switch (rnd(5)) {
	case 0:
		put(b, "gw-%03u", (unsigned)(i % 997));
		break;
	case 1:
		put(b, "edge%u.plant%u.example.net", rnd(500), rnd(40));
		break;
	case 2:
		put(b, "10.%u.%u.%u", rnd(256), rnd(256), 1 + rnd(254));
		break;
	case 3:
		put(b, "sensor-%05u", rnd(100000));
		break;
	default:
		put(b, "fw%u.soc.example.org", rnd(8));
		break;
	}
}

static void put_sd(struct mm_buf *b, size_t i)
{
	unsigned n = rnd(3), k, first = rnd(4);

	if (n == 0) {
		put(b, "-");
		return;
	}
	/* n distinct SD-IDs, since an SD-ID may appear only once per message. */
	for (k = 0; k < n; k++) {
		switch ((first + k) % 4) {
		case 0:
			put(b, "[origin ip=\"192.168.%u.%u\" software=\"%s\" swVersion=\"1.%u.%u\"]",
			    rnd(256), 1 + rnd(254), sd_origin_sw[rnd(NELEM(sd_origin_sw))], rnd(10),
			    rnd(30));
			break;
		case 1:
			put(b, "[meta sequenceId=\"%zu\" sysUpTime=\"%u\"]", i + 1, rnd(1000000));
			break;
		case 2:
			/* Sometimes an escaped quote and bracket, as the RFC allows. */
			if (rnd(4) == 0)
				put(b, "[x1367@32473 ecosystem=\"vendor \\\"%c\\\" [lab\\]\" zone=\"%u\"]",
				    'A' + rnd(26), rnd(64));
			else
				put(b, "[x1367@32473 ecosystem=\"vendor-%c\" zone=\"%u\"]",
				    'A' + rnd(26), rnd(64));
			break;
		default:
			put(b, "[timeQuality tzKnown=\"1\" isSynced=\"%u\" syncAccuracy=\"%u\"]",
			    rnd(2), rnd(1000000));
			break;
		}
	}
}

/* One identifier of a requester or responder, varied over the four kinds. */
static void put_id(struct mm_buf *b, const char *sep, size_t i)
{
	switch (rnd(4)) {
	case 0:
		put(b, "\"Unique ID\":%s\"%04X\"", sep, (unsigned)(rnd(65536) ^ (i & 0xffff)));
		break;
	case 1:
		put(b, "\"Unique Name\":%s\"dev-%u-%c\"", sep, rnd(100000), 'a' + rnd(26));
		break;
	case 2:
		if (rnd(3) == 0)
			put(b, "\"IP Address\":%s\"fd00::%x:%x\"", sep, 1 + rnd(0xffff),
			    1 + rnd(0xffff));
		else
			put(b, "\"IP Address\":%s\"192.168.%u.%u\"", sep, rnd(256), 1 + rnd(254));
		break;
	default: {
		char c = rnd(2) ? ':' : '-';
		put(b, "\"MAC Address\":%s\"02%c%02x%c%02x%c%02x%c%02x%c%02x\"", sep, c, rnd(256), c,
		    rnd(256), c, rnd(256), c, rnd(256), c, rnd(256));
		break;
	}
	}
}

/* A Transmitted Code: 1 to 64 raw bytes as hex, upper or lower case. */
static void put_hex(struct mm_buf *b)
{
	static const char up[] = "0123456789ABCDEF", lo[] = "0123456789abcdef";
	const char *d = rnd(4) ? up : lo;
	unsigned n = 1 + rnd(rnd(4) ? 16 : 64), k;
	uint32_t v;

	for (k = 0; k < n; k++) {
		v = rnd(256);
		if (mm_buf_putc(b, d[v >> 4]) < 0 || mm_buf_putc(b, d[v & 15]) < 0)
			die("corpus: too big");
	}
}

/* The X.1367 record (the MSG), strictly valid, on one line. */
static void put_record(struct mm_buf *b, size_t i, const struct tm *tm, unsigned frac,
		       unsigned fdigits)
{
	const struct mm_x1367_code *codes, *c;
	size_t ncodes;
	const char *sep = rnd(2) ? " " : "", *comma = sep[0] ? ", " : ",";

	codes = mm_x1367_codes(&ncodes);
	c = &codes[rnd((uint32_t)ncodes)];
	put(b, "{\"Timestamp\":%s\"%04d-%02d-%02dT%02d:%02d:%02d.%0*uZ\"%s", sep,
	    tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec,
	    (int)fdigits, frac, comma);
	put(b, "\"Reporter\":%s{\"IP Address\":%s\"192.168.%u.%u\"}%s", sep, sep, rnd(256),
	    1 + rnd(254), comma);
	put(b, "\"Protocol\":%s\"%s\"%s", sep, protocols[rnd(NELEM(protocols))], comma);
	put(b, "\"Requester\":%s{", sep);
	put_id(b, sep, i);
	put(b, "%s\"Transmitted Code\":%s\"", comma, sep);
	put_hex(b);
	put(b, "\"}%s\"Responder\":%s{", comma, sep);
	put_id(b, sep, i + 1);
	put(b, "%s\"Transmitted Code\":%s\"", comma, sep);
	put_hex(b);
	put(b, "\"}%s\"Error Code\":%s\"%02X\"%s\"Error Message\":%s\"%s\"", comma, sep,
	    (unsigned)c->code, comma, sep, c->message);
	if (rnd(3) == 0)
		put(b, "%s\"Description\":%s{\"Status\":%s\"%s\"}", comma, sep, sep,
		    remarks[rnd(NELEM(remarks))]);
	put(b, "}");
}

/* Message i: "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG". Its timestamp
 * carries i in whole milliseconds, so no two messages are the same. */
static void put_message(struct corpus *c, size_t i)
{
	struct mm_buf *b = &c->data;
	time_t base = CORPUS_EPOCH + (time_t)(i / 1000);
	unsigned ms = (unsigned)(i % 1000), frac, fdigits = 1 + rnd(6), k;
	struct tm tm;
	size_t start = b->len;

	gmtime_r(&base, &tm);
	frac = ms;
	if (fdigits < 3)
		fdigits = 3;
	for (k = 3; k < fdigits; k++)
		frac = frac * 10 + rnd(10);
	put(b, "<%u>1 %04d-%02d-%02dT%02d:%02d:%02d.%0*u", rnd(192), tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)fdigits, frac);
	if (rnd(3) == 0)
		put(b, "+09:00 ");
	else
		put(b, "Z ");
	put_hostname(b, i);
	put(b, " %s ", apps[rnd(NELEM(apps))]);
	switch (rnd(3)) {
	case 0:
		put(b, "%u ", 100 + rnd(60000));
		break;
	case 1:
		put(b, "worker-%u ", rnd(16));
		break;
	default:
		put(b, "- ");
		break;
	}
	put(b, "%s ", msgids[rnd(NELEM(msgids))]);
	put_sd(b, i);
	put(b, " ");
	c->moff[i] = b->len;
	put_record(b, i, &tm, frac, fdigits);
	c->mlen[i] = (uint32_t)(b->len - c->moff[i]);
	c->off[i] = start;
	c->len[i] = (uint32_t)(b->len - start);
}

static void corpus_make(struct corpus *c, size_t n)
{
	size_t i;

	rng_reset();
	memset(c, 0, sizeof *c);
	mm_buf_init(&c->data, CORPUS_MAX);
	c->n = n;
	c->off = calloc(n, sizeof *c->off);
	c->len = calloc(n, sizeof *c->len);
	c->moff = calloc(n, sizeof *c->moff);
	c->mlen = calloc(n, sizeof *c->mlen);
	if (!c->off || !c->len || !c->moff || !c->mlen ||
	    mm_buf_reserve(&c->data, n < CORPUS_MAX / 512 ? n * 512 : CORPUS_MAX) < 0)
		die("corpus: out of memory");
	for (i = 0; i < n; i++)
		put_message(c, i);
}

static void corpus_free(struct corpus *c)
{
	mm_buf_free(&c->data);
	free(c->off);
	free(c->len);
	free(c->moff);
	free(c->mlen);
}

/* ---- in-process ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct result {
	double best, median; /* messages per second */
};

static struct result summarise(double *secs, unsigned passes, size_t n)
{
	struct result r;

	qsort(secs, passes, sizeof *secs, cmp_double);
	r.best = (double)n / secs[0];
	r.median = (double)n / secs[passes / 2];
	return r;
}

/* Parses every message once. Any failure is a bug (the corpus is valid):
 * it prints the message and where it failed and exits 1. */
static uint64_t pass_parse(const struct corpus *c)
{
	struct mm_syslog_msg m;
	uint64_t sum = 0;
	size_t i;
	int rc;

	for (i = 0; i < c->n; i++) {
		rc = mm_syslog_parse(c->data.data + c->off[i], c->len[i], MM_SYSLOG_ONLY_5424, &m);
		if (rc < 0)
			die("message %zu did not parse (%s at byte %zu: %s):\n%.*s", i,
			    mm_strerror(rc), m.err_off, m.err ? m.err : "?", (int)c->len[i],
			    c->data.data + c->off[i]);
		sum += m.msg.len + (uint64_t)m.nparams + (uint64_t)m.pri;
	}
	return sum;
}

static void decode_failed(const struct corpus *c, size_t i, int rc,
			  const struct mm_x1367_diags *d)
{
	unsigned k;

	fprintf(stderr, "bench_parse: message %zu: X.1367 strict decode failed: %s\n", i,
		mm_strerror(rc));
	for (k = 0; k < d->n; k++)
		fprintf(stderr, "  %d:%d: %s: %s\n", d->v[k].line, d->v[k].col, d->v[k].attr,
			d->v[k].msg);
	fprintf(stderr, "  MSG: %.*s\n", (int)c->mlen[i], c->data.data + c->moff[i]);
	exit(1);
}

/* What a receiver does per message: parse, decode and validate, free; with
 * encode, also mm_x1367_encode of the record, as the TCP receiver writes it.
 * The sum keeps the compiler from dropping the work. */
static uint64_t pass_decode(const struct corpus *c, int encode)
{
	struct mm_syslog_msg m;
	struct mm_x1367_diags d;
	struct mm_x1367_record *r;
	uint64_t sum = 0;
	char *json;
	size_t i;
	int rc;

	for (i = 0; i < c->n; i++) {
		rc = mm_syslog_parse(c->data.data + c->off[i], c->len[i], MM_SYSLOG_ONLY_5424, &m);
		if (rc < 0)
			die("message %zu did not parse (%s at byte %zu: %s)", i, mm_strerror(rc),
			    m.err_off, m.err ? m.err : "?");
		rc = mm_x1367_decode(m.msg.p, m.msg.len, MM_X1367_STRICT, &r, &d);
		if (rc < 0)
			decode_failed(c, i, rc, &d);
		if (encode) {
			if ((json = mm_x1367_encode(r, 0)) == NULL)
				die("message %zu: mm_x1367_encode gave NULL for a valid record", i);
			sum += strlen(json);
			free(json);
		} else {
			sum += r->code;
		}
		mm_x1367_free(r);
	}
	return sum;
}

static uint64_t pass_pipeline(const struct corpus *c)
{
	return pass_decode(c, 0);
}

static uint64_t pass_receiver(const struct corpus *c)
{
	return pass_decode(c, 1);
}

/* yajl, the event parser mamori's decoder is built on, alone on the same
 * MSG bodies with no callbacks: the floor under the decode. */
static uint64_t pass_yajl(const struct corpus *c)
{
	yajl_handle h;
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < c->n; i++) {
		if ((h = yajl_alloc(NULL, NULL, NULL)) == NULL)
			die("yajl_alloc: out of memory");
		if (yajl_parse(h, (const unsigned char *)c->data.data + c->moff[i], c->mlen[i]) !=
			    yajl_status_ok ||
		    yajl_complete_parse(h) != yajl_status_ok)
			die("message %zu: yajl rejected the MSG", i);
		sum += yajl_get_bytes_consumed(h);
		yajl_free(h);
	}
	return sum;
}

/* jansson, a tree parser, alone on the same MSG bodies: what the JSON
 * library costs when the whole document becomes a tree first. */
static uint64_t pass_jansson(const struct corpus *c)
{
	json_error_t err;
	json_t *j;
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < c->n; i++) {
		j = json_loadb(c->data.data + c->moff[i], c->mlen[i], 0, &err);
		if (!j)
			die("message %zu: jansson rejected the MSG: %s", i, err.text);
		sum += json_object_size(j);
		json_decref(j);
	}
	return sum;
}

static struct result run_passes(uint64_t (*fn)(const struct corpus *), const struct corpus *c,
				unsigned passes, volatile uint64_t *sink)
{
	double secs[MAX_PASSES], t0;
	unsigned p;

	*sink += fn(c); /* warm up caches and the allocator, untimed */
	for (p = 0; p < passes; p++) {
		t0 = now_s();
		*sink += fn(c);
		secs[p] = now_s() - t0;
	}
	return summarise(secs, passes, c->n);
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set);
}

static void row(const char *what, struct result r, double target)
{
	char t[32] = "-", v[8] = "-";

	if (target > 0) {
		snprintf(t, sizeof t, "%.0f", target);
		snprintf(v, sizeof v, "%s", r.median >= target ? "PASS" : "BELOW");
	}
	printf("| %-52s | %12.0f | %12.0f | %8.0f | %9s | %-5s |\n", what, r.best, r.median,
	       1e9 / r.median, t, v);
}

/* Runs one of the three loops alone and prints its median, so that a
 * profiler sees only that loop's code. */
static int profile_one(const char *which, size_t n, unsigned passes, int cpu)
{
	uint64_t (*fn)(const struct corpus *);
	struct corpus c;
	struct result r;
	volatile uint64_t sink = 0;

	if (strcmp(which, "parse") == 0)
		fn = pass_parse;
	else if (strcmp(which, "full") == 0)
		fn = pass_pipeline;
	else if (strcmp(which, "receiver") == 0)
		fn = pass_receiver;
	else if (strcmp(which, "yajl") == 0)
		fn = pass_yajl;
	else if (strcmp(which, "jansson") == 0)
		fn = pass_jansson;
	else
		die("-only: parse, full, receiver, yajl or jansson, not '%s'", which);
	if (pin_cpu(cpu) != 0)
		fprintf(stderr, "bench_parse: not pinned: %s\n", strerror(errno));
	corpus_make(&c, n);
	r = run_passes(fn, &c, passes, &sink);
	printf("%s: best %.0f msg/s, median %.0f msg/s\n", which, r.best, r.median);
	corpus_free(&c);
	return 0;
}

static int cmd_inproc(int argc, char **argv)
{
	size_t n = DEFAULT_N;
	unsigned passes = DEFAULT_PASSES;
	int cpu = 0, i, pinned;
	struct corpus c;
	struct result rp, rf, rr, ry, rj;
	volatile uint64_t sink = 0;
	double t0, mean_len, mean_msg;
	size_t k, msgbytes = 0;
	const char *only = NULL;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			n = opt_num(argv[++i], 1000, 10000000, "-n");
		else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
			passes = (unsigned)opt_num(argv[++i], 1, MAX_PASSES, "-p");
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cpu = (int)opt_num(argv[++i], 0, CPU_SETSIZE - 1, "-c");
		else if (strcmp(argv[i], "-only") == 0 && i + 1 < argc)
			only = argv[++i];
		else
			die("inproc: unknown argument '%s'", argv[i]);
	}
	if (only) /* for profiling: perf record bench_parse inproc -only full */
		return profile_one(only, n, passes, cpu);
	pinned = pin_cpu(cpu) == 0;
	t0 = now_s();
	corpus_make(&c, n);
	for (k = 0; k < n; k++)
		msgbytes += c.mlen[k];
	mean_len = (double)c.data.len / (double)n;
	mean_msg = (double)msgbytes / (double)n;
	printf("corpus: %zu distinct RFC 5424 messages, %.1f MB, mean %.0f bytes "
	       "(MSG mean %.0f bytes), generated in %.2f s\n",
	       n, (double)c.data.len / 1e6, mean_len, mean_msg, now_s() - t0);
	printf("timing: CLOCK_MONOTONIC, %u timed passes after one warm-up pass, %s\n\n",
	       passes, pinned ? "pinned to one CPU" : "NOT pinned (sched_setaffinity failed)");
	if (pinned)
		printf("cpu: %d\n\n", cpu);

	fflush(stdout);
	rp = run_passes(pass_parse, &c, passes, &sink);
	rf = run_passes(pass_pipeline, &c, passes, &sink);
	rr = run_passes(pass_receiver, &c, passes, &sink);
	ry = run_passes(pass_yajl, &c, passes, &sink);
	rj = run_passes(pass_jansson, &c, passes, &sink);

	printf("| %-52s | %12s | %12s | %8s | %9s | %-5s |\n", "what (one core)", "best msg/s",
	       "median msg/s", "ns/msg", "target", "vs target");
	printf("|------------------------------------------------------|--------------|"
	       "--------------|----------|-----------|-----------|\n");
	row("RFC 5424 parse (mm_syslog_parse)", rp, TARGET_PARSE);
	row("full: parse + mm_x1367_decode STRICT + free", rf, TARGET_PIPELINE);
	row("receiver work: full + mm_x1367_encode + free", rr, 0);
	row("baseline: yajl_parse of MSG, no callbacks", ry, 0);
	row("baseline: jansson json_loadb + json_decref of MSG", rj, 0);
	/* Time shares from the medians: t(x) / t(full) = full rate / x rate. */
	printf("\nper message (medians): the JSON parser alone takes %.0f%% of the full "
	       "pipeline's time with yajl (the decoder's parser) and %.0f%% with jansson (a "
	       "tree parser); encoding the record for output adds %.0f%% on top of the full "
	       "pipeline.\n",
	       100.0 * rf.median / ry.median, 100.0 * rf.median / rj.median,
	       100.0 * (rf.median / rr.median - 1.0));
	printf("targets (informational): %s RFC 5424 parses/s: %s; %s X.1367 validations/s: "
	       "%s\n",
	       "1,000,000", rp.median >= TARGET_PARSE ? "PASS" : "BELOW", "250,000",
	       rf.median >= TARGET_PIPELINE ? "PASS" : "BELOW");
	printf("(checksum %" PRIu64 ")\n", (uint64_t)sink);
	corpus_free(&c);
	return 0;
}

/* ---- the mamori receiver ---- */

struct serve {
	FILE *out;
	struct mm_buf line;
	uint64_t msgs, bad_syslog, bad_record, bad_frame, write_err;
};

/* Writes s[0..len) as the inside of a JSON string. Header fields are
 * PRINTUSASCII by RFC 5424, so only '"' and '\\' need escaping. */
static int put_json_str(struct mm_buf *b, const struct mm_str *s)
{
	size_t i, from = 0;
	int rc;

	if (!s->p)
		return mm_buf_putc(b, '-');
	for (i = 0; i < s->len; i++) {
		if (s->p[i] != '"' && s->p[i] != '\\')
			continue;
		if ((rc = mm_buf_append(b, s->p + from, i - from)) < 0 ||
		    (rc = mm_buf_putc(b, '\\')) < 0)
			return rc;
		from = i;
	}
	return mm_buf_append(b, s->p + from, s->len - from);
}

static int put_field(struct mm_buf *b, const char *name, const struct mm_str *s)
{
	int rc;

	if ((rc = mm_buf_printf(b, "\"%s\":\"", name)) < 0 || (rc = put_json_str(b, s)) < 0)
		return rc;
	return mm_buf_puts(b, "\",");
}

/* One line per message: the header fields and the decoded record, or the
 * reason it was rejected, so that the line count always reaches N. */
static int on_frame(void *arg, const uint8_t *msg, size_t len, int status)
{
	struct serve *s = arg;
	struct mm_syslog_msg m;
	struct mm_x1367_record *r = NULL;
	struct mm_x1367_diags d;
	char *json = NULL;
	int rc;

	mm_buf_reset(&s->line);
	s->msgs++;
	if (status < 0) {
		s->bad_frame++;
		rc = mm_buf_printf(&s->line, "{\"error\":\"frame: %s\"}\n", mm_strerror(status));
		goto write;
	}
	if (mm_syslog_parse(msg, len, MM_SYSLOG_ONLY_5424, &m) < 0) {
		s->bad_syslog++;
		rc = mm_buf_printf(&s->line, "{\"error\":\"syslog at byte %zu\"}\n", m.err_off);
		goto write;
	}
	if ((rc = mm_buf_putc(&s->line, '{')) < 0 ||
	    (rc = put_field(&s->line, "host", &m.hostname)) < 0 ||
	    (rc = put_field(&s->line, "app", &m.app_name)) < 0 ||
	    (rc = put_field(&s->line, "procid", &m.procid)) < 0 ||
	    (rc = put_field(&s->line, "msgid", &m.msgid)) < 0 ||
	    (rc = put_field(&s->line, "time", &m.timestamp)) < 0)
		goto write;
	if (mm_x1367_decode(m.msg.p, m.msg.len, MM_X1367_STRICT, &r, &d) < 0 ||
	    (json = mm_x1367_encode(r, 0)) == NULL) {
		s->bad_record++;
		rc = mm_buf_printf(&s->line, "\"error\":\"X.1367: %u errors\"}\n", d.errors);
		goto write;
	}
	if ((rc = mm_buf_puts(&s->line, "\"record\":")) == 0 &&
	    (rc = mm_buf_puts(&s->line, json)) == 0)
		rc = mm_buf_puts(&s->line, "}\n");
write:
	free(json);
	if (r)
		mm_x1367_free(r);
	if (rc < 0 || fwrite(s->line.data, 1, s->line.len, s->out) != s->line.len)
		s->write_err++;
	return 0;
}

/* Binds a listening socket to a random free port of 127.0.0.1 in
 * [PORT_LO, PORT_HI), trying up to 50 ports. */
static int listen_random(unsigned *port)
{
	struct sockaddr_in sa;
	int fd, try, one = 1;

	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	for (try = 0; try < 50; try++) {
		*port = PORT_LO + (unsigned)rand() % (PORT_HI - PORT_LO);
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			die("socket: %s", strerror(errno));
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		memset(&sa, 0, sizeof sa);
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)*port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 4) == 0)
			return fd;
		close(fd);
	}
	die("no free port on 127.0.0.1 in %d..%d after 50 tries", PORT_LO, PORT_HI);
}

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int rc;

	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	return rc;
}

static int cmd_serve(int argc, char **argv)
{
	const char *portfile = NULL, *outpath = NULL;
	unsigned timeout = 120, port;
	int i, lfd, fd, rc;
	struct serve s;
	struct mm_frame_dec dec;
	static char rbuf[256 * 1024];
	static char obuf[64 * 1024];
	ssize_t got;
	FILE *pf;
	struct rusage ru;
	double deadline;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-P") == 0 && i + 1 < argc)
			portfile = argv[++i];
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			outpath = argv[++i];
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			timeout = (unsigned)opt_num(argv[++i], 1, 3600, "-t");
		else
			die("serve: unknown argument '%s'", argv[i]);
	}
	if (!portfile || !outpath)
		die("serve: need -P PORTFILE and -o OUT");
	memset(&s, 0, sizeof s);
	if ((s.out = fopen(outpath, "w")) == NULL)
		die("%s: %s", outpath, strerror(errno));
	setvbuf(s.out, obuf, _IOFBF, sizeof obuf);
	mm_buf_init(&s.line, 1024 * 1024);

	lfd = listen_random(&port);
	if ((pf = fopen(portfile, "w")) == NULL)
		die("%s: %s", portfile, strerror(errno));
	fprintf(pf, "%u\n", port);
	if (fclose(pf) != 0)
		die("%s: %s", portfile, strerror(errno));
	if (wait_readable(lfd, (int)timeout * 1000) <= 0)
		die("serve: no connection within %u s", timeout);
	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0)
		die("accept: %s", strerror(errno));
	close(lfd);

	mm_frame_init(&dec, MM_FRAME_AUTO, MM_FRAME_DEFAULT_MAX);
	deadline = now_s() + timeout;
	for (;;) {
		got = read(fd, rbuf, sizeof rbuf);
		if (got > 0) {
			if ((rc = mm_frame_feed(&dec, rbuf, (size_t)got, on_frame, &s)) < 0)
				die("mm_frame_feed: %s", mm_strerror(rc));
			continue;
		}
		if (got == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			die("read: %s", strerror(errno));
		/* Nothing more queued: make what we have visible, as a log
		 * server does when its input goes idle, then wait. */
		fflush(s.out);
		if (now_s() > deadline)
			die("serve: stream not finished within %u s", timeout);
		wait_readable(fd, 1000);
	}
	mm_frame_finish(&dec, on_frame, &s);
	if (fflush(s.out) != 0 || fclose(s.out) != 0)
		s.write_err++;
	close(fd);
	getrusage(RUSAGE_SELF, &ru);
	printf("msgs=%" PRIu64 " frames=%" PRIu64 " bad_frame=%" PRIu64 " bad_syslog=%" PRIu64
	       " bad_record=%" PRIu64 " write_err=%" PRIu64 " bytes=%" PRIu64
	       " peak_rss_kb=%ld cpu_s=%.3f\n",
	       s.msgs, dec.stats.frames, s.bad_frame, s.bad_syslog, s.bad_record, s.write_err,
	       dec.stats.bytes, peak_rss_kb(),
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	mm_frame_free(&dec);
	mm_buf_free(&s.line);
	return (s.bad_frame || s.bad_syslog || s.bad_record || s.write_err) ? 1 : 0;
}

/* ---- the sender ---- */


/* The corpus index of a record's Timestamp ("2024-06-01T00:00:07.123...Z"
 * is message 7123, see put_message), or -1. */
static long record_index(const char *ts, size_t n)
{
	int y, mo, d, h, mi, sec;
	unsigned ms;
	struct tm tm;
	time_t t;
	long i;

	if (sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3u", &y, &mo, &d, &h, &mi, &sec, &ms) != 7)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t < CORPUS_EPOCH || ms > 999)
		return -1;
	i = (long)(t - CORPUS_EPOCH) * 1000 + (long)ms;
	return (size_t)i < n ? i : -1;
}

/* 1 if the header of message i holds " host app " as the line says. */
static int header_matches(const struct corpus *c, size_t i, json_t *line)
{
	const char *host = json_string_value(json_object_get(line, "host"));
	const char *app = json_string_value(json_object_get(line, "app"));
	char want[512];
	int n;

	if (!host || !app)
		return 0;
	n = snprintf(want, sizeof want, " %s %s ", host, app);
	if (n < 0 || (size_t)n >= sizeof want)
		return 0;
	return memmem(c->data.data + c->off[i], c->moff[i] - c->off[i], want, (size_t)n) != NULL;
}

/*
 * Reads OUT back after the timing and checks every line against the corpus:
 * the line is a JSON object, its "record" is the message whose Timestamp it
 * carries, equal as JSON to that message's MSG (any key order or spacing),
 * its host and app are that message's, and no message appears twice.
 * Returns how many lines pass; *lines is how many there were.
 */
static uint64_t verify(const struct corpus *c, const char *path, uint64_t *lines,
		       uint64_t *dups)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	uint64_t ok = 0;
	unsigned char *seen;
	json_t *j, *rec, *want;
	json_error_t err;
	const char *ts;
	long i;

	*lines = *dups = 0;
	if (!f)
		return 0;
	if ((seen = calloc(c->n, 1)) == NULL)
		die("verify: out of memory");
	while ((len = getline(&line, &cap, f)) > 0) {
		(*lines)++;
		if ((j = json_loadb(line, (size_t)len, 0, &err)) == NULL)
			continue;
		rec = json_object_get(j, "record");
		ts = json_string_value(json_object_get(rec, "Timestamp"));
		if (ts && (i = record_index(ts, c->n)) >= 0) {
			want = json_loadb(c->data.data + c->moff[i], c->mlen[i], 0, &err);
			if (seen[i])
				(*dups)++;
			else if (want && json_equal(rec, want) && header_matches(c, (size_t)i, j))
				ok++;
			seen[i] = 1;
			json_decref(want);
		}
		json_decref(j);
	}
	free(seen);
	free(line);
	fclose(f);
	return ok;
}


static int connect_port(unsigned port, unsigned timeout)
{
	struct sockaddr_in sa;
	double deadline = now_s() + timeout;
	int fd;
	struct timespec pause = {0, 20 * 1000 * 1000};

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (;;) {
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return fd;
		close(fd);
		if (now_s() > deadline)
			die("connect 127.0.0.1:%u: %s", port, strerror(errno));
		nanosleep(&pause, NULL);
	}
}

static int cmd_send(int argc, char **argv)
{
	size_t n = DEFAULT_N, i, sent = 0;
	unsigned port = 0, timeout = 120;
	const char *wait_path = NULL;
	long pid = 0;
	struct corpus c;
	struct mm_buf framed;
	struct linecount lc = {.fd = -1, .off = 0, .lines = 0};
	struct timespec pause = {0, 1000 * 1000};
	double t0, t_sent, t_done, deadline;
	uint64_t ok, lines, dups;
	ssize_t w;
	int fd, a, rc, done;

	for (a = 0; a < argc; a++) {
		if (strcmp(argv[a], "-n") == 0 && a + 1 < argc)
			n = opt_num(argv[++a], 1, 10000000, "-n");
		else if (strcmp(argv[a], "-port") == 0 && a + 1 < argc)
			port = (unsigned)opt_num(argv[++a], 1, 65535, "-port");
		else if (strcmp(argv[a], "-w") == 0 && a + 1 < argc)
			wait_path = argv[++a];
		else if (strcmp(argv[a], "-t") == 0 && a + 1 < argc)
			timeout = (unsigned)opt_num(argv[++a], 1, 3600, "-t");
		else if (strcmp(argv[a], "-pid") == 0 && a + 1 < argc)
			pid = (long)opt_num(argv[++a], 1, 1u << 30, "-pid");
		else
			die("send: unknown argument '%s'", argv[a]);
	}
	if (!port || !wait_path)
		die("send: need -port PORT and -w OUT");
	signal(SIGPIPE, SIG_IGN);

	/* Build and frame the corpus before connecting: untimed. */
	corpus_make(&c, n);
	mm_buf_init(&framed, CORPUS_MAX);
	for (i = 0; i < n; i++)
		if ((rc = mm_frame_encode_octet(&framed, c.data.data + c.off[i], c.len[i])) < 0)
			die("framing: %s", mm_strerror(rc));

	fd = connect_port(port, 10);
	t0 = now_s();
	while (sent < framed.len) {
		w = write(fd, framed.data + sent, framed.len - sent);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("write: %s (after %zu of %zu bytes)", strerror(errno), sent, framed.len);
		sent += (size_t)w;
	}
	t_sent = now_s();
	shutdown(fd, SHUT_WR);

	deadline = t0 + timeout;
	done = 0;
	for (;;) {
		linecount_poll(&lc, wait_path);
		if (lc.lines >= n) {
			done = 1;
			break;
		}
		if (now_s() > deadline)
			break;
		/* A receiver that has exited will write no more lines. */
		if (pid && !proc_alive(pid)) {
			linecount_poll(&lc, wait_path);
			done = lc.lines >= n;
			break;
		}
		nanosleep(&pause, NULL);
	}
	t_done = now_s();
	close(fd);
	if (lc.fd >= 0)
		close(lc.fd);
	ok = verify(&c, wait_path, &lines, &dups);
	printf("done=%d msgs=%zu bytes=%zu secs=%.4f send_secs=%.4f rate=%.0f lines=%" PRIu64
	       " verified=%" PRIu64 " duplicates=%" PRIu64 "\n",
	       done, n, framed.len, t_done - t0, t_sent - t0,
	       done ? (double)n / (t_done - t0) : 0.0, lines, ok, dups);
	mm_buf_free(&framed);
	corpus_free(&c);
	return done && ok == n ? 0 : 1;
}

static int cmd_sample(int argc, char **argv)
{
	size_t n = 5, i;
	struct corpus c;

	if (argc == 2 && strcmp(argv[0], "-n") == 0)
		n = opt_num(argv[1], 1, 10000000, "-n");
	else if (argc != 0)
		die("sample: usage: sample [-n N]");
	corpus_make(&c, n);
	for (i = 0; i < n; i++)
		printf("%.*s\n", (int)c.len[i], c.data.data + c.off[i]);
	corpus_free(&c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "inproc") == 0)
		return cmd_inproc(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "send") == 0)
		return cmd_send(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "sample") == 0)
		return cmd_sample(argc - 2, argv + 2);
	fprintf(stderr, "usage: bench_parse inproc [-n N] [-p PASSES] [-c CPU] "
			"[-only WHICH]\n"
			"       bench_parse serve -P PORTFILE -o OUT [-t SECONDS]\n"
			"       bench_parse send -port PORT -w OUT [-n N] [-t SECONDS] [-pid PID]\n"
			"       bench_parse sample [-n N]\n");
	return 2;
}
