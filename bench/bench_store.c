/*
 * bench_store: how many X.1367 events a second mamori-soc's store takes
 * (soc/store.h), inserted through store_add_event() in batches of one
 * transaction each, with every index of the schema in place: what the
 * writer thread does for a stream of X.1367 records.
 *
 *   bench_store [-n N] [-b BATCH] [-r REPS] [-u URL] [-d DIR]
 *
 * N events (default 500000) in transactions of BATCH (default 2048), REPS
 * times (default 3; the median is reported), each run into a fresh store:
 * a new SQLite file in a mkdtemp directory under DIR (default $TMPDIR, else
 * /tmp), or, with -u postgresql://..., the given database, whose store
 * tables are emptied before each run (never point it at a real store).
 *
 * The events are made before any timing: 16384 distinct RFC 5424 X.1367
 * records of about 430 bytes (1000 gateways, 250 requesters, six codes,
 * four protocols), reused round robin, each stored event with its own
 * time. After each run the store is read back: the event count must be N,
 * and the newest event must come back with the fields it was given; a
 * difference is printed and the program exits 1. Speed never changes the
 * exit status.
 *
 * Prints events/s (median, min, max), the store's size per event and the
 * process's peak RSS, beside the target of 150,000 events/s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mamori/error.h"
#include "mamori/x1367.h"
#include "store.h"

#define BENCH_NAME "bench_store"
#include "bench_util.h"

#define DEFAULT_N 500000
#define DEFAULT_BATCH 2048
#define DEFAULT_REPS 3
#define MAX_REPS 51
#define POOL 16384
#define MSG_MAX 1024
#define TARGET 150000.0 /* X.1367 records stored per second (issue 4) */

/* ---- the events ---- */

struct pool_ev {
	char msg[MSG_MAX];
	char device[32], peer[32], peer_addr[24], reporter[24], requester[24], responder[24];
	const char *protocol;
	int code;
	struct soc_event ev;
};

static const struct {
	int code;
	const char *message;
} codes[] = {
	{0x30, "Invalid Command"}, {0x31, "Invalid Argument"},   {0x20, "Authentication Failed"},
	{0x21, "Certification Failed"}, {0x10, "No Response"}, {0x42, "Out of Resources"},
};
static const char *const protocols[] = {"ECHONET Lite", "Modbus/TCP", "MQTT", "CoAP"};

static void pool_make(struct pool_ev *p, size_t n, int64_t t0)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct pool_ev *e = &p[i];
		unsigned u = (unsigned)i, gw = u % 1000, c = u % 6;
		int l;

		snprintf(e->device, sizeof e->device, "gw-%03u.plant3.example.net", gw);
		snprintf(e->peer_addr, sizeof e->peer_addr, "10.3.%u.%u", gw / 250, 1 + gw % 250);
		snprintf(e->peer, sizeof e->peer, "%s:%u", e->peer_addr, 40000 + u % 20000);
		snprintf(e->reporter, sizeof e->reporter, "192.168.%u.11", 2 + gw % 50);
		snprintf(e->requester, sizeof e->requester, "192.168.%u.%u", 2 + u % 3,
			 1 + u % 250);
		snprintf(e->responder, sizeof e->responder, "192.168.2.%u", 30 + u % 40);
		e->protocol = protocols[u % 4];
		e->code = codes[c].code;
		l = snprintf(e->msg, sizeof e->msg,
			     "{\"Timestamp\":\"2026-11-22T10:%02u:%02u.%03uZ\",\"Reporter\":"
			     "{\"IP Address\":\"%s\"},\"Protocol\":\"%s\",\"Requester\":"
			     "{\"IP Address\":\"%s\",\"Transmitted Code\":\"1081%08X0288\"},"
			     "\"Responder\":{\"IP Address\":\"%s\",\"Transmitted Code\":"
			     "\"1081000102880105FF0151018001\"},\"Error Code\":\"%02X\","
			     "\"Error Message\":\"%s\",\"Description\":{\"Status\":"
			     "\"event %u from the east wing\"}}",
			     (u / 60000) % 60, (u / 1000) % 60, u % 1000, e->reporter, e->protocol,
			     e->requester, u * 2654435761u, e->responder, codes[c].code,
			     codes[c].message, u);
		if (l < 0 || (size_t)l >= sizeof e->msg)
			die("event %zu does not fit %d bytes", i, MSG_MAX);
		e->ev = (struct soc_event){
			.recv_ms = t0, .time_ms = t0, .transport = SOC_TCP, .peer = e->peer,
			.peer_addr = e->peer_addr, .device = e->device, .hostname = e->device,
			.format = 5424, .facility = 4, .severity = 3, .app_name = "mamori-gw",
			.procid = "1234", .msgid = "X1367", .kind = SOC_KIND_X1367, .type = "x1367",
			.code = e->code, .category = mm_x1367_range_of((uint8_t)e->code)->category,
			.protocol = e->protocol, .reporter = e->reporter,
			.requester = e->requester, .responder = e->responder, .msg = e->msg,
			.msg_len = (size_t)l};
	}
}

/* ---- one run ---- */

static void empty_pg(struct store *st, const char *url)
{
	/* Nothing in the store's interface drops rows wholesale, and a
	 * benchmark must start from an empty table: TRUNCATE over libpq
	 * would need another connection; deleting through retention with a
	 * size bound of one byte empties it the store's own way. */
	int64_t deleted = 0;
	int rc;

	(void)url;
	if ((rc = store_retain(st, 0, 1, &deleted)) < 0)
		die("emptying %s: %s", url, store_error(st));
}

struct run {
	double secs;
	int64_t bytes;
	int ok;
};

static int check_back(struct store *st, const struct pool_ev *last, int64_t last_id, size_t n,
		      struct run *r)
{
	struct store_filter f;
	json_t *rows = NULL, *stats = NULL, *o;
	int ok = 1;

	if (store_stats(st, &stats) < 0)
		die("store_stats: %s", store_error(st));
	if (json_integer_value(json_object_get(stats, "events")) != (json_int_t)n) {
		printf("MISMATCH: %" JSON_INTEGER_FORMAT " events in the store, %zu inserted\n",
		       json_integer_value(json_object_get(stats, "events")), n);
		ok = 0;
	}
	r->bytes = json_integer_value(json_object_get(stats, "events_bytes"));
	json_decref(stats);
	store_filter_init(&f);
	f.limit = 1;
	if (store_query_events(st, &f, &rows) < 0)
		die("store_query_events: %s", store_error(st));
	o = json_array_get(rows, 0);
	if (o == NULL || json_integer_value(json_object_get(o, "id")) != last_id ||
	    strcmp(json_string_value(json_object_get(o, "requester")) ?: "", last->requester) ||
	    strcmp(json_string_value(json_object_get(o, "device")) ?: "", last->device) ||
	    json_integer_value(json_object_get(o, "code")) != last->code ||
	    !json_is_object(json_object_get(o, "record"))) {
		char *dump = o ? json_dumps(o, JSON_COMPACT) : NULL;

		printf("MISMATCH: the newest event (id %" PRId64 ") came back as %s\n", last_id,
		       dump ? dump : "nothing");
		free(dump);
		ok = 0;
	}
	json_decref(rows);
	return ok;
}

static void one_run(const char *url, struct pool_ev *pool, size_t n, size_t batch, int64_t t0,
		    struct run *r)
{
	struct store *st;
	char err[512];
	size_t i, pi = 0;
	int64_t last_id = 0;
	double a;
	int rc;

	if ((rc = store_open(url, &st, err, sizeof err)) < 0)
		die("store_open %s: %s", url, err);
	if (strcmp(store_backend(st), "postgresql") == 0)
		empty_pg(st, url);
	a = now_s();
	for (i = 0; i < n;) {
		size_t end = i + batch < n ? i + batch : n;

		if ((rc = store_begin(st)) < 0)
			die("store_begin: %s", store_error(st));
		for (; i < end; i++) {
			struct soc_event *ev = &pool[pi].ev;

			ev->recv_ms = t0 + (int64_t)(i / 100);
			ev->time_ms = ev->recv_ms - 5;
			if ((rc = store_add_event(st, ev)) < 0)
				die("store_add_event %zu: %s", i, store_error(st));
			last_id = ev->id;
			if (++pi == POOL)
				pi = 0;
		}
		if ((rc = store_commit(st)) < 0)
			die("store_commit: %s", store_error(st));
	}
	r->secs = now_s() - a;
	r->ok = check_back(st, &pool[(n - 1) % POOL], last_id, n, r);
	store_close(st);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static void rm_sqlite(const char *path)
{
	char p[4300];

	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

int main(int argc, char **argv)
{
	const char *url = NULL, *base = getenv("TMPDIR");
	size_t n = DEFAULT_N, batch = DEFAULT_BATCH;
	unsigned reps = DEFAULT_REPS, k, bad = 0;
	double rate[MAX_REPS];
	int64_t bytes = 0, t0 = (int64_t)time(NULL) * 1000;
	struct pool_ev *pool;
	struct rusage ru;
	char dir[4096], path[4200], urlbuf[4300];
	int c;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	while ((c = getopt(argc, argv, "n:b:r:u:d:")) != -1) {
		switch (c) {
		case 'n': n = opt_num(optarg, 1, 100000000, "-n"); break;
		case 'b': batch = opt_num(optarg, 1, 1000000, "-b"); break;
		case 'r': reps = (unsigned)opt_num(optarg, 1, MAX_REPS, "-r"); break;
		case 'u': url = optarg; break;
		case 'd': base = optarg; break;
		default:
			fprintf(stderr, "usage: bench_store [-n N] [-b BATCH] [-r REPS] [-u URL]"
					" [-d DIR]\n");
			return 2;
		}
	}
	if ((pool = calloc(POOL, sizeof *pool)) == NULL)
		die("out of memory");
	pool_make(pool, POOL, t0);
	dir[0] = '\0';
	if (url == NULL) {
		if ((size_t)snprintf(dir, sizeof dir, "%s/mamori-bench-store.XXXXXX", base) >=
		    sizeof dir)
			die("directory name too long");
		if (mkdtemp(dir) == NULL)
			die("mkdtemp %s: %s", dir, strerror(errno));
	}
	for (k = 0; k < reps; k++) {
		struct run r = {0};
		const char *u = url;

		if (u == NULL) {
			snprintf(path, sizeof path, "%s/soc-%u.db", dir, k);
			snprintf(urlbuf, sizeof urlbuf, "sqlite:%s", path);
			u = urlbuf;
		}
		one_run(u, pool, n, batch, t0, &r);
		if (url == NULL)
			rm_sqlite(path);
		rate[k] = (double)n / r.secs;
		bytes = r.bytes;
		if (!r.ok)
			bad++;
		printf("run %u: %zu events in %.3f s: %.0f events/s\n", k + 1, n, r.secs, rate[k]);
	}
	if (dir[0])
		rmdir(dir);
	getrusage(RUSAGE_SELF, &ru);
	qsort(rate, reps, sizeof rate[0], cmp_double);
	printf("\nstore %s, %zu X.1367 events per run in transactions of %zu, all indexes, "
	       "%u runs\n",
	       url ? (strncmp(url, "sqlite:", 7) == 0 ? "sqlite" : "postgresql") : "sqlite (new file)",
	       n, batch, reps);
	printf("%-28s %12s %12s %12s\n", "", "median", "min", "max");
	printf("%-28s %12.0f %12.0f %12.0f\n", "events/s", rate[reps / 2], rate[0],
	       rate[reps - 1]);
	printf("%-28s %12.0f\n", "target events/s", TARGET);
	printf("%-28s %12.2f\n", "ratio median / target", rate[reps / 2] / TARGET);
	printf("%-28s %12.0f\n", "store bytes per event", n ? (double)bytes / (double)n : 0.0);
	printf("%-28s %12ld\n", "peak RSS (KiB)", ru.ru_maxrss);
	free(pool);
	if (bad) {
		printf("%u run(s) did not read back what was stored\n", bad);
		return 1;
	}
	return 0;
}
