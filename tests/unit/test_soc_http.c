/*
 * Unit tests of the HTTP API (soc/http.c) and of `mamori query`: the API runs
 * on a real event_base on 127.0.0.1:0 (its loop in a thread) against a
 * temporary SQLite store filled through store.h, and is asked with libcurl:
 * each filter returns exactly the rows it should, bad parameters give 400
 * naming the parameter, unknown paths 404 and other methods 405, /metrics
 * carries HELP and TYPE lines and the counters' values. The built
 * `mamori query` is run against the same server and its table, JSON and
 * exit statuses checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "http.h"
#include "soc.h"
#include "store.h"
#include "mamori/buf.h"
#include "mamori/error.h"

#define T0 1790000000000LL /* 2026-09-21T14:13:20.000Z */

struct rig {
	char dir[64];
	char url[128];
	struct event_base *base;
	struct http *h;
	pthread_t loop;
	char api[128];
	int64_t incident;
	int64_t ids[5];
};

static struct rig R;

/* ---- filling the store ---- */

static void add_event(struct store *st, int i, int64_t t, enum soc_kind kind, const char *device,
		      const char *requester, int code, const char *protocol, unsigned flags)
{
	struct soc_event ev;

	memset(&ev, 0, sizeof ev);
	ev.recv_ms = ev.time_ms = t;
	ev.transport = SOC_TCP;
	ev.peer = "192.168.2.11:40000";
	ev.peer_addr = "192.168.2.11";
	ev.device = device;
	ev.hostname = device;
	ev.format = 5424;
	ev.facility = 13;
	ev.severity = 4;
	ev.app_name = "mamori-gw";
	ev.kind = kind;
	ev.type = kind == SOC_KIND_X1367 ? "x1367" : "syslog";
	ev.msgid = kind == SOC_KIND_X1367 ? "X1367" : NULL;
	ev.flags = flags;
	ev.code = code;
	ev.category = code >= 0 ? code >> 4 : -1;
	ev.protocol = protocol;
	ev.reporter = kind == SOC_KIND_X1367 ? "192.168.2.11" : NULL;
	ev.requester = requester;
	ev.responder = kind == SOC_KIND_X1367 ? "0001" : NULL;
	ev.msg = kind == SOC_KIND_X1367 ? "{\"Error Code\": \"30\"}" : "link up on port 3";
	ev.msg_len = strlen(ev.msg);
	assert_int_equal(store_add_event(st, &ev), 0);
	R.ids[i] = ev.id;
}

static void fill(void)
{
	struct soc_dead d = {.recv_ms = T0, .transport = SOC_UDP, .peer = "192.0.2.5:514",
			     .reason = "not syslog: no PRI", .raw = (const uint8_t *)"\x01\x02junk",
			     .raw_len = 6, .orig_len = 6};
	struct store_device_seen s1 = {.device = "cam-1", .addr = "192.168.2.11", .time_ms = T0};
	struct store_device_seen s2 = {.device = "cam-2", .addr = "192.168.2.12", .time_ms = T0};
	struct soc_incident inc = {.opened_ms = T0 + 1000, .first_ms = T0, .last_ms = T0 + 1000,
				   .key_kind = "requester", .key = "10.0.0.66",
				   .reason = "2 protocols: MQTT, Modbus/TCP",
				   .protocols = "MQTT,Modbus/TCP", .nerrors = 2, .nsecurity = 1,
				   .ncommand = 1, .state = SOC_INC_OPEN};
	struct soc_finding f = {.first_ms = T0, .last_ms = T0, .kind = SOC_FIND_NO_RESPONSE,
				.device = "cam-3", .subject = "60s", .severity = 3,
				.detail = "{\"period_s\": 60}", .open = 1};
	char err[256];
	struct store *st;
	int is_new;

	if (store_open(R.url, &st, err, sizeof err) < 0)
		fail_msg("store_open: %s", err);
	assert_int_equal(store_begin(st), 0);
	add_event(st, 1, T0, SOC_KIND_X1367, "cam-1", "10.0.0.66", 0x30, "Modbus/TCP", 0);
	add_event(st, 2, T0 + 1000, SOC_KIND_X1367, "cam-2", "10.0.0.66", 0x21, "MQTT",
		  SOC_F_LENIENT);
	add_event(st, 3, T0 + 2000, SOC_KIND_SYSLOG, "router", NULL, -1, NULL, 0);
	add_event(st, 4, T0 + 3000, SOC_KIND_X1367, "cam-1", "10.0.0.99", 0x20, "Modbus/TCP", 0);
	assert_int_equal(store_add_dead(st, &d), 0);
	assert_int_equal(store_touch_device(st, &s1), 0);
	assert_int_equal(store_touch_device(st, &s2), 0);
	assert_int_equal(store_add_incident(st, &inc), 0);
	R.incident = inc.id;
	assert_int_equal(store_link(st, inc.id, R.ids[1]), 0);
	assert_int_equal(store_link(st, inc.id, R.ids[2]), 0);
	assert_int_equal(store_put_finding(st, &f, &is_new), 0);
	assert_int_equal(is_new, 1);
	assert_int_equal(store_commit(st), 0);
	store_close(st);
}

/* ---- the server ---- */

static void *loop_thread(void *arg)
{
	event_base_loop(arg, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static int setup(void **state)
{
	char err[256];

	(void)state;
	memset(&R, 0, sizeof R);
	snprintf(R.dir, sizeof R.dir, "/tmp/mamori-http-XXXXXX");
	assert_non_null(mkdtemp(R.dir));
	snprintf(R.url, sizeof R.url, "sqlite:%s/soc.db", R.dir);
	fill();
	assert_int_equal(evthread_use_pthreads(), 0);
	assert_non_null(R.base = event_base_new());
	if (http_start(R.base, "127.0.0.1:0", R.url, &R.h, err, sizeof err) < 0)
		fail_msg("http_start: %s", err);
	assert_int_equal(strncmp(http_address(R.h), "127.0.0.1:", 10), 0);
	assert_string_not_equal(http_address(R.h), "127.0.0.1:0");
	snprintf(R.api, sizeof R.api, "http://%s", http_address(R.h));
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), 0);
	assert_int_equal(pthread_create(&R.loop, NULL, loop_thread, R.base), 0);
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	event_base_loopbreak(R.base);
	pthread_join(R.loop, NULL);
	http_stop(R.h);
	event_base_free(R.base);
	curl_global_cleanup();
	libevent_global_shutdown();
	snprintf(path, sizeof path, "%s/soc.db", R.dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/soc.db-wal", R.dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/soc.db-shm", R.dir);
	unlink(path);
	rmdir(R.dir);
	return 0;
}

/* ---- asking it ---- */

struct answer {
	long status;
	char ctype[128];
	struct mm_buf body;
	json_t *json;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	return mm_buf_append(arg, p, size * n) == 0 ? size * n : 0;
}

static void ask(const char *method, const char *path, struct answer *a)
{
	char url[1024];
	char *ct = NULL;
	CURL *c = curl_easy_init();

	assert_non_null(c);
	memset(a, 0, sizeof *a);
	mm_buf_init(&a->body, 16 * 1024 * 1024);
	snprintf(url, sizeof url, "%s%s", R.api, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a->body);
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (curl_easy_perform(c) != CURLE_OK)
		fail_msg("%s %s failed", method, url);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(a->ctype, sizeof a->ctype, "%s", ct ? ct : "");
	curl_easy_cleanup(c);
	if (strcmp(a->ctype, "application/json") == 0) {
		a->json = json_loadb(a->body.data ? a->body.data : "", a->body.len, 0, NULL);
		if (a->json == NULL)
			fail_msg("%s: not JSON: %s", path, a->body.data);
	}
}

static void done(struct answer *a)
{
	json_decref(a->json);
	mm_buf_free(&a->body);
}

/* GET path must answer 200 with list member name holding exactly the rows
 * whose ids are want[] (R.ids indexes, newest first), n of them. */
static void expect_ids(const char *path, const char *name, const int *want, size_t n)
{
	struct answer a;
	json_t *rows;
	size_t i;

	ask("GET", path, &a);
	if (a.status != 200)
		fail_msg("%s: status %ld: %s", path, a.status, a.body.data);
	rows = json_object_get(a.json, name);
	assert_true(json_is_array(rows));
	if (json_array_size(rows) != n)
		fail_msg("%s: %zu rows, want %zu: %s", path, json_array_size(rows), n, a.body.data);
	assert_int_equal(json_integer_value(json_object_get(a.json, "count")), n);
	for (i = 0; i < n; i++) {
		int64_t got = json_integer_value(json_object_get(json_array_get(rows, i), "id"));

		if (got != R.ids[want[i]])
			fail_msg("%s: row %zu has id %lld, want %lld", path, i, (long long)got,
				 (long long)R.ids[want[i]]);
	}
	done(&a);
}

#define IDS(...) (const int[]){__VA_ARGS__}, sizeof((const int[]){__VA_ARGS__}) / sizeof(int)

static void test_event_filters(void **state)
{
	char path[256];

	(void)state;
	expect_ids("/api/v1/events", "events", IDS(4, 3, 2, 1));
	expect_ids("/api/v1/events?device=cam-1", "events", IDS(4, 1));
	expect_ids("/api/v1/events?code=30", "events", IDS(1));
	expect_ids("/api/v1/events?code=0x30", "events", IDS(1));
	expect_ids("/api/v1/events?code=0x21", "events", IDS(2));
	expect_ids("/api/v1/events?category=security", "events", IDS(4, 2));
	expect_ids("/api/v1/events?requester=10.0.0.66", "events", IDS(2, 1));
	expect_ids("/api/v1/events?reporter=192.168.2.11&device=cam-2", "events", IDS(2));
	expect_ids("/api/v1/events?responder=0001&protocol=MQTT", "events", IDS(2));
	expect_ids("/api/v1/events?protocol=Modbus%2FTCP", "events", IDS(4, 1));
	expect_ids("/api/v1/events?lenient=1", "events", IDS(2));
	expect_ids("/api/v1/events?lenient=0&kind=x1367", "events", IDS(4, 1));
	expect_ids("/api/v1/events?type=syslog", "events", IDS(3));
	expect_ids("/api/v1/events?addr=10.0.0.99", "events", IDS(4));
	expect_ids("/api/v1/events?limit=1", "events", IDS(4));
	snprintf(path, sizeof path, "/api/v1/events?after_id=%lld", (long long)R.ids[2]);
	expect_ids(path, "events", IDS(4, 3));
	snprintf(path, sizeof path, "/api/v1/events?incident=%lld", (long long)R.incident);
	expect_ids(path, "events", IDS(2, 1));
	/* RFC 3339 and milliseconds, both bounds inclusive. */
	snprintf(path, sizeof path, "/api/v1/events?since=2026-09-21T14:13:21Z&until=%lld",
		 T0 + 2000);
	expect_ids(path, "events", IDS(3, 2));
	expect_ids("/api/v1/events?since=2026-09-21T16:13:21%2B02:00", "events", IDS(4, 3, 2));
	expect_ids("/api/v1/events?device=nobody", "events", NULL, 0);
}

static void test_event_content(void **state)
{
	struct answer a;
	json_t *e;

	(void)state;
	ask("GET", "/api/v1/events?code=30", &a);
	assert_int_equal(a.status, 200);
	e = json_array_get(json_object_get(a.json, "events"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "device")), "cam-1");
	assert_string_equal(json_string_value(json_object_get(e, "requester")), "10.0.0.66");
	assert_string_equal(json_string_value(json_object_get(e, "protocol")), "Modbus/TCP");
	assert_string_equal(json_string_value(json_object_get(e, "time")),
			    "2026-09-21T14:13:20.000Z");
	assert_int_equal(json_integer_value(json_object_get(e, "code")), 0x30);
	done(&a);
}

static void test_other_lists(void **state)
{
	struct answer a;
	char path[64];
	json_t *o, *ev;

	(void)state;
	ask("GET", "/api/v1/incidents", &a);
	assert_int_equal(a.status, 200);
	assert_int_equal(json_array_size(json_object_get(a.json, "incidents")), 1);
	o = json_array_get(json_object_get(a.json, "incidents"), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "id")), R.incident);
	assert_string_equal(json_string_value(json_object_get(o, "key")), "10.0.0.66");
	assert_string_equal(json_string_value(json_object_get(o, "state")), "open");
	done(&a);
	ask("GET", "/api/v1/incidents?state=closed", &a);
	assert_int_equal(a.status, 200);
	assert_int_equal(json_array_size(json_object_get(a.json, "incidents")), 0);
	done(&a);

	snprintf(path, sizeof path, "/api/v1/incidents/%lld", (long long)R.incident);
	ask("GET", path, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(json_string_value(json_object_get(a.json, "reason")),
			    "2 protocols: MQTT, Modbus/TCP");
	ev = json_object_get(a.json, "events");
	assert_int_equal(json_array_size(ev), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ev, 0), "id")), R.ids[2]);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ev, 1), "id")), R.ids[1]);
	done(&a);
	ask("GET", "/api/v1/incidents/99999", &a);
	assert_int_equal(a.status, 404);
	assert_non_null(strstr(json_string_value(json_object_get(a.json, "error")), "99999"));
	done(&a);

	ask("GET", "/api/v1/findings?kind=no-response&state=open", &a);
	assert_int_equal(a.status, 200);
	assert_int_equal(json_array_size(json_object_get(a.json, "findings")), 1);
	o = json_array_get(json_object_get(a.json, "findings"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "device")), "cam-3");
	done(&a);
	ask("GET", "/api/v1/findings?kind=certificate-shared", &a);
	assert_int_equal(json_array_size(json_object_get(a.json, "findings")), 0);
	done(&a);

	ask("GET", "/api/v1/devices", &a);
	assert_int_equal(a.status, 200);
	assert_int_equal(json_array_size(json_object_get(a.json, "devices")), 2);
	done(&a);

	ask("GET", "/api/v1/dead-letters", &a);
	assert_int_equal(a.status, 200);
	assert_int_equal(json_array_size(json_object_get(a.json, "dead_letters")), 1);
	o = json_array_get(json_object_get(a.json, "dead_letters"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "not syslog: no PRI");
	done(&a);

	ask("GET", "/health", &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(json_string_value(json_object_get(a.json, "status")), "ok");
	assert_string_equal(json_string_value(json_object_get(a.json, "backend")), "sqlite");
	done(&a);
}

static void test_bad_requests(void **state)
{
	static const struct {
		const char *method, *path;
		long status;
		const char *param; /* the parameter the 400 must name */
	} bad[] = {
		{"GET", "/api/v1/events?code=zz", 400, "code"},
		{"GET", "/api/v1/events?code=0x123", 400, "code"},
		{"GET", "/api/v1/events?category=evil", 400, "category"},
		{"GET", "/api/v1/events?limit=0", 400, "limit"},
		{"GET", "/api/v1/events?limit=10001", 400, "limit"},
		{"GET", "/api/v1/events?limit=12abc", 400, "limit"},
		{"GET", "/api/v1/events?since=yesterday", 400, "since"},
		{"GET", "/api/v1/events?until=2026-13-01T00:00:00Z", 400, "until"},
		{"GET", "/api/v1/events?lenient=2", 400, "lenient"},
		{"GET", "/api/v1/events?incident=-1", 400, "incident"},
		{"GET", "/api/v1/events?after_id=x", 400, "after_id"},
		{"GET", "/api/v1/events?device=", 400, "device"},
		{"GET", "/api/v1/events?colour=red", 400, "colour"},
		{"GET", "/api/v1/events?state=open", 400, "state"},
		{"GET", "/api/v1/events?device=a&device=b", 400, "device"},
		{"GET", "/api/v1/incidents?state=maybe", 400, "state"},
		{"GET", "/api/v1/findings?state=closed", 400, "state"},
		{"GET", "/api/v1/counters?x=1", 400, "x"},
		{"GET", "/api/v1/nothing", 404, NULL},
		{"GET", "/", 404, NULL},
		{"GET", "/api/v1/incidents/abc", 404, NULL},
		{"POST", "/api/v1/events", 405, NULL},
		{"DELETE", "/api/v1/incidents/1", 405, NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct answer a;
		json_t *p;

		ask(bad[i].method, bad[i].path, &a);
		if (a.status != bad[i].status)
			fail_msg("%s %s: status %ld, want %ld: %s", bad[i].method, bad[i].path,
				 a.status, bad[i].status, a.body.data);
		assert_string_equal(a.ctype, "application/json");
		assert_true(json_is_string(json_object_get(a.json, "error")));
		p = json_object_get(a.json, "parameter");
		if (bad[i].param) {
			if (!json_is_string(p) || strcmp(json_string_value(p), bad[i].param) != 0)
				fail_msg("%s: does not name '%s': %s", bad[i].path, bad[i].param,
					 a.body.data);
			assert_non_null(strstr(json_string_value(json_object_get(a.json, "error")),
					       bad[i].param));
		} else {
			assert_null(p);
		}
		done(&a);
	}
}

static void test_counters_metrics(void **state)
{
	struct answer a;
	char line[128];
	uint64_t req;

	(void)state;
	soc_count(SOC_C_DEAD, 7);
	soc_gauge_add(SOC_C_CONN_OPEN, 3);
	ask("GET", "/api/v1/counters", &a);
	assert_int_equal(a.status, 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a.json, "counters"),
							    "dead_letters")), 7);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a.json, "counters"),
							    "connections_open")), 3);
	req = (uint64_t)json_integer_value(
		json_object_get(json_object_get(a.json, "counters"), "http_requests"));
	assert_true(req > 1);
	assert_int_equal(json_object_size(json_object_get(a.json, "counters")), SOC_C_COUNT);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a.json, "store"),
							    "events")), 4);
	done(&a);

	ask("GET", "/metrics", &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.ctype, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(a.body.data, "# HELP mamori_soc_dead_letters_total inputs kept as "
					    "dead letters\n# TYPE mamori_soc_dead_letters_total "
					    "counter\nmamori_soc_dead_letters_total 7\n"));
	assert_non_null(strstr(a.body.data, "# TYPE mamori_soc_connections_open gauge\n"
					    "mamori_soc_connections_open 3\n"));
	/* This request was counted before the text was written. */
	snprintf(line, sizeof line, "\nmamori_soc_http_requests_total %llu\n",
		 (unsigned long long)req + 1);
	assert_non_null(strstr(a.body.data, line));
	assert_non_null(strstr(a.body.data, "# TYPE mamori_soc_store_events gauge\n"
					    "mamori_soc_store_events 4\n"));
	done(&a);
	soc_gauge_add(SOC_C_CONN_OPEN, -3);
}

/* ---- mamori query ---- */

/* Runs the built mamori with args; its stdout and stderr into out. */
static int run_cli(const char *args, struct mm_buf *out)
{
	char exe[PATH_MAX], cmd[2048], chunk[4096];
	const char *bin = getenv("MAMORI_BIN");
	ssize_t n;
	FILE *p;
	int st;

	if (bin == NULL) {
		/* The tests are built beside the programs (bin/). */
		n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		assert_true(n > 0);
		exe[n] = '\0';
		bin = dirname(exe);
	}
	snprintf(cmd, sizeof cmd, "%s/mamori", bin);
	if (access(cmd, X_OK) != 0)
		fail_msg("%s: %s (build the mamori-cli target)", cmd, strerror(errno));
	snprintf(cmd, sizeof cmd, "%s/mamori query --soc %s %s 2>&1", bin, R.api, args);
	assert_non_null(p = popen(cmd, "r"));
	mm_buf_reset(out);
	while ((n = (ssize_t)fread(chunk, 1, sizeof chunk, p)) > 0)
		assert_int_equal(mm_buf_append(out, chunk, (size_t)n), 0);
	st = pclose(p);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_cli(void **state)
{
	struct mm_buf out;
	json_t *j;
	char want[256];

	(void)state;
	mm_buf_init(&out, 1024 * 1024);
	assert_int_equal(run_cli("events --device cam-1", &out), 0);
	/* A header and two rows, columns aligned: every line starts its DEVICE
	 * column at the same place. */
	{
		const char *l1 = out.data, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
		size_t col = (size_t)(strstr(l1, "DEVICE") - l1);

		assert_int_equal(strncmp(l1, "ID", 2), 0);
		assert_int_equal(strncmp(l2 + col, "cam-1", 5), 0);
		assert_int_equal(strncmp(l3 + col, "cam-1", 5), 0);
		assert_null(strchr(l3, '\n') ? strchr(strchr(l3, '\n') + 1, '\n') : NULL);
		snprintf(want, sizeof want, "%lld ", (long long)R.ids[4]);
		assert_int_equal(strncmp(l2, want, strlen(want)), 0);
		assert_non_null(strstr(l2, "2026-09-21T14:13:23.000Z"));
		assert_non_null(strstr(l2, "10.0.0.99"));
		assert_non_null(strstr(l3, "Modbus/TCP"));
	}
	assert_int_equal(run_cli("events --code 0x21 --json", &out), 0);
	assert_non_null(j = json_loads(out.data, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "events"), 0), "device")),
			    "cam-2");
	json_decref(j);
	assert_int_equal(run_cli("incidents --state open", &out), 0);
	assert_non_null(strstr(out.data, "10.0.0.66"));
	assert_non_null(strstr(out.data, "2 protocols: MQTT, Modbus/TCP"));
	assert_int_equal(run_cli("findings --kind no-response", &out), 0);
	assert_non_null(strstr(out.data, "cam-3"));
	assert_int_equal(run_cli("devices", &out), 0);
	assert_non_null(strstr(out.data, "192.168.2.12"));
	/* The API refuses: exit 1 with the status and its message. */
	assert_int_equal(run_cli("events --code zz", &out), 1);
	assert_non_null(strstr(out.data, "HTTP 400"));
	assert_non_null(strstr(out.data, "parameter 'code'"));
	/* Usage errors: exit 2, nothing asked. */
	assert_int_equal(run_cli("events --state open", &out), 2);
	assert_int_equal(run_cli("everything", &out), 2);
	assert_int_equal(run_cli("--help", &out), 0);
	assert_non_null(strstr(out.data, "usage: mamori query"));
	mm_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_filters),
		cmocka_unit_test(test_event_content),
		cmocka_unit_test(test_other_lists),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_counters_metrics),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
