/*
 * Unit tests of mamori-soc's store (soc/store.c, store_sqlite.c,
 * store_pg.c): the schema is made at open and a reopen changes nothing; a
 * database of a newer schema is refused; events come back field by field
 * through every filter; dead letters keep their raw bytes; devices and
 * certificates are upserted and the fleet questions find exactly the right
 * ones; incidents are linked to exactly the right events; a finding put
 * twice is one row; retention by age and by size deletes the oldest events
 * and their links, nothing else.
 *
 * The same suite runs against SQLite (a fresh file per test) and, when
 * MAMORI_PG_URL names a PostgreSQL database, against it (its tables are
 * dropped before each test): tests/integration/soc_store_pg.sh starts a
 * throwaway server and runs this program with that variable set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "mamori/error.h"
#include "mamori/x1367.h"
#include "store.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define EXPECT(cond, ...)                                                                   \
	do {                                                                                \
		if (!(cond)) {                                                              \
			print_error("[%s] ", g.backend);                                    \
			print_error(__VA_ARGS__);                                           \
			print_error("\n");                                                  \
			fail();                                                             \
		}                                                                           \
	} while (0)

/* ---- the back end under test ---- */

static struct {
	const char *backend; /* "sqlite" or "postgresql" */
	char dir[64];        /* sqlite: the directory of the test files */
	const char *pg_url;
	char url[1024];      /* the store URL of the current test */
	char path[256];      /* sqlite: its file */
	int n;
} g;

static int is_pg(void)
{
	return strcmp(g.backend, "postgresql") == 0;
}

/* Runs SQL on the test database beside the store (to look at or tamper with
 * what it wrote). Returns the first column of the first row, or -1. */
static int64_t raw_sql(const char *sql)
{
	int64_t v = -1;

	if (is_pg()) {
		PGconn *c = PQconnectdb(g.pg_url);
		PGresult *r;

		EXPECT(PQstatus(c) == CONNECTION_OK, "raw connect: %s", PQerrorMessage(c));
		r = PQexec(c, sql);
		EXPECT(PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK,
		       "%s: %s", sql, PQresultErrorMessage(r));
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
			v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *db;
		sqlite3_stmt *q;

		EXPECT(sqlite3_open(g.path, &db) == SQLITE_OK, "raw open %s", g.path);
		sqlite3_busy_timeout(db, 5000);
		EXPECT(sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK, "%s: %s", sql,
		       sqlite3_errmsg(db));
		if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
			v = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
	return v;
}

static int setup(void **state)
{
	g.n++;
	if (is_pg()) {
		static const char *const drop =
			"DROP TABLE IF EXISTS events, dead_letters, devices, certs, incidents,"
			" incident_events, findings, schema_version CASCADE";
		PGconn *c = PQconnectdb(g.pg_url);
		PGresult *r;
		int ok;

		if (PQstatus(c) != CONNECTION_OK) {
			PQfinish(c);
			return -1;
		}
		r = PQexec(c, "SET client_min_messages = warning");
		PQclear(r);
		r = PQexec(c, drop);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		PQfinish(c);
		snprintf(g.url, sizeof g.url, "%s", g.pg_url);
		return ok ? 0 : -1;
	}
	snprintf(g.path, sizeof g.path, "%s/t%d.db", g.dir, g.n);
	snprintf(g.url, sizeof g.url, "sqlite:%s", g.path);
	return 0;
}

static int teardown(void **state)
{
	char p[300];

	if (!is_pg()) {
		unlink(g.path);
		snprintf(p, sizeof p, "%s-wal", g.path);
		unlink(p);
		snprintf(p, sizeof p, "%s-shm", g.path);
		unlink(p);
	}
	return 0;
}

static struct store *open_ok(void)
{
	struct store *st = NULL;
	char err[256] = "";
	int rc = store_open(g.url, &st, err, sizeof err);

	EXPECT(rc == 0, "store_open %s: %d %s", g.url, rc, err);
	EXPECT(strcmp(store_backend(st), g.backend) == 0, "backend %s", store_backend(st));
	return st;
}

#define OK(call)                                                                            \
	do {                                                                                \
		int rc_ = (call);                                                           \
		EXPECT(rc_ == 0, "%s: %d %s", #call, rc_, store_error(st));                \
	} while (0)

/* ---- JSON helpers ---- */

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int64_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	EXPECT(json_is_integer(v), "\"%s\" is not an integer", key);
	return json_integer_value(v);
}

static int jbool(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	EXPECT(json_is_boolean(v), "\"%s\" is not a boolean", key);
	return json_is_true(v);
}

static void expect_str(json_t *o, const char *key, const char *want)
{
	const char *got = jstr(o, key);

	if (want == NULL) {
		EXPECT(json_object_get(o, key) == NULL, "\"%s\" should be absent", key);
		return;
	}
	EXPECT(got != NULL && strcmp(got, want) == 0, "\"%s\": got \"%s\", want \"%s\"", key,
	       got ? got : "(none)", want);
}

/* ---- the events ---- */

#define T0 INT64_C(1795000000000) /* 2026-11-18T11:06:40.000Z */

static const char rec_strict[] =
	"{\"Timestamp\":\"2026-11-18T11:06:41.0Z\",\"Reporter\":{\"IP Address\":"
	"\"192.168.2.11\"},\"Protocol\":\"Modbus/TCP\",\"Requester\":{\"IP Address\":"
	"\"192.168.2.99\",\"Transmitted Code\":\"0103\"},\"Responder\":{\"Unique ID\":\"0001\","
	"\"Transmitted Code\":\"8301\"},\"Error Code\":\"30\",\"Error Message\":"
	"\"Invalid Command\"}";
static const char rec_lenient[] =
	"{\"Timestamp\":\"2026-11-18T11:06:42.0Z\",\"Reporter\":{\"IP Address\":"
	"\"192.168.2.11\"},\"Protocol\":\"MQTT\",\"Requester\":{\"IP Address\":"
	"\"192.168.2.99\",\"Transmitted Code\":\"10ff\"},\"Responder\":{\"Unique ID\":\"0002\","
	"\"Transmitted Code\":\"2002\"},\"Error Code\":\"21\",\"Error Message\":"
	"\"Certification Failed\",}";
static const char rec_gw2[] =
	"{\"Timestamp\":\"2026-11-18T11:06:44.0Z\",\"Reporter\":{\"IP Address\":\"10.0.0.2\"},"
	"\"Protocol\":\"ECHONET Lite\",\"Requester\":{\"IP Address\":\"192.168.2.50\","
	"\"Transmitted Code\":\"1081\"},\"Responder\":{\"IP Address\":\"192.168.2.40\","
	"\"Transmitted Code\":\"1082\"},\"Error Code\":\"30\",\"Error Message\":"
	"\"Invalid Command\"}";
static const char ev_json[] = "{\"event\":\"guard.exec.denied\",\"path\":\"/tmp/x\"}";
static const char fp_a[] = "aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11";

/* Six events that differ in every field a filter looks at. */
static const struct soc_event events[] = {
	{.recv_ms = T0 + 10, .time_ms = T0, .transport = SOC_UDP, .peer = "10.0.0.7:514",
	 .peer_addr = "10.0.0.7", .device = "cam-7", .hostname = "cam-7", .format = 5424,
	 .facility = 1, .severity = 6, .app_name = "sshd", .procid = "42", .msgid = "-",
	 .kind = SOC_KIND_SYSLOG, .type = "syslog", .code = -1, .category = -1,
	 .msg = "hello world", .msg_len = 11},
	{.recv_ms = T0 + 1010, .time_ms = T0 + 1000, .transport = SOC_TLS,
	 .peer = "10.0.0.1:40000", .peer_addr = "10.0.0.1", .cert_fp = fp_a,
	 .cert_not_after = 1800000000, .device = "gw-1", .hostname = "gw-1", .format = 5424,
	 .facility = 4, .severity = 3, .app_name = "mamori-gw", .procid = "7", .msgid = "X1367",
	 .kind = SOC_KIND_X1367, .type = "x1367", .code = 0x30, .category = MM_X1367_CAT_COMMAND,
	 .protocol = "Modbus/TCP", .reporter = "192.168.2.11", .requester = "192.168.2.99",
	 .responder = "0001", .msg = rec_strict, .msg_len = sizeof rec_strict - 1},
	{.recv_ms = T0 + 2010, .time_ms = T0 + 2000, .transport = SOC_RELP,
	 .peer = "10.0.0.1:40001", .peer_addr = "10.0.0.1", .device = "gw-1", .hostname = "gw-1",
	 .format = 5424, .facility = 4, .severity = 3, .app_name = "mamori-gw", .msgid = "X1367",
	 .kind = SOC_KIND_X1367, .type = "x1367", .flags = SOC_F_LENIENT,
	 .forgiven = MM_X1367_F_TRAILING_COMMA, .code = 0x21, .category = MM_X1367_CAT_SECURITY,
	 .protocol = "MQTT", .reporter = "192.168.2.11", .requester = "192.168.2.99",
	 .responder = "0002", .msg = rec_lenient, .msg_len = sizeof rec_lenient - 1},
	{.recv_ms = T0 + 3010, .time_ms = T0 + 3000, .transport = SOC_TLS,
	 .peer = "10.0.0.7:40002", .peer_addr = "10.0.0.7", .cert_fp = fp_a,
	 .cert_not_after = 1800000000, .device = "cam-7", .hostname = "cam-8", .format = 5424,
	 .facility = 10, .severity = 4, .app_name = "mamorid", .msgid = "guard.exec.denied",
	 .kind = SOC_KIND_EVENT, .type = "guard.exec.denied", .flags = SOC_F_IDENTITY_MISMATCH,
	 .code = -1, .category = -1, .msg = ev_json, .msg_len = sizeof ev_json - 1},
	{.recv_ms = T0 + 4010, .time_ms = T0 + 4000, .transport = SOC_TCP,
	 .peer = "10.0.0.2:40003", .peer_addr = "10.0.0.2", .device = "gw-2", .hostname = "gw-2",
	 .format = 5424, .facility = 4, .severity = 3, .app_name = "mamori-gw", .msgid = "X1367",
	 .kind = SOC_KIND_X1367, .type = "x1367", .code = 0x30, .category = MM_X1367_CAT_COMMAND,
	 .protocol = "ECHONET Lite", .reporter = "10.0.0.2", .requester = "192.168.2.50",
	 .responder = "192.168.2.40", .msg = rec_gw2, .msg_len = sizeof rec_gw2 - 1},
	{.recv_ms = T0 + 5010, .time_ms = T0 + 5010, .transport = SOC_UDP,
	 .peer = "192.168.2.99:514", .peer_addr = "192.168.2.99", .device = "192.168.2.99",
	 .format = 3164, .facility = 0, .severity = 2, .kind = SOC_KIND_SYSLOG, .type = "syslog",
	 .flags = SOC_F_NO_TIME, .code = -1, .category = -1, .msg = "kernel: oops",
	 .msg_len = 12},
};
#define NEV NELEM(events)

/* Stores the events (in one batch) and returns their ids in ids[]. */
static void add_events(struct store *st, int64_t *ids)
{
	size_t i;

	OK(store_begin(st));
	for (i = 0; i < NEV; i++) {
		struct soc_event ev = events[i];

		ev.id = 0;
		OK(store_add_event(st, &ev));
		EXPECT(ev.id > 0 && (i == 0 || ev.id > ids[i - 1]), "event %zu id %lld", i,
		       (long long)ev.id);
		ids[i] = ev.id;
	}
	OK(store_commit(st));
}

static void time_of(int64_t ms, char *out)
{
	soc_time_text(ms, out, 32);
}

/* Compares one event of the API with what was stored, field by field. */
static void check_event(json_t *o, const struct soc_event *e, int64_t id)
{
	char t[32];
	json_t *rec;

	EXPECT(jint(o, "id") == id, "id %lld, want %lld", (long long)jint(o, "id"), (long long)id);
	time_of(e->time_ms, t);
	expect_str(o, "time", t);
	EXPECT(jint(o, "time_ms") == e->time_ms, "time_ms");
	time_of(e->recv_ms, t);
	expect_str(o, "recv_time", t);
	EXPECT(jint(o, "recv_ms") == e->recv_ms, "recv_ms");
	expect_str(o, "transport", soc_transport_name(e->transport));
	expect_str(o, "peer", e->peer);
	expect_str(o, "peer_addr", e->peer_addr);
	expect_str(o, "cert_fp", e->cert_fp);
	if (e->cert_fp) {
		EXPECT(jint(o, "cert_not_after") == e->cert_not_after, "cert_not_after");
		expect_str(o, "cert_expires", "2027-01-15T08:00:00.000Z");
	} else {
		EXPECT(json_object_get(o, "cert_not_after") == NULL, "cert_not_after present");
	}
	expect_str(o, "device", e->device);
	expect_str(o, "hostname", e->hostname);
	EXPECT(jint(o, "format") == e->format, "format");
	EXPECT(jint(o, "facility") == e->facility, "facility");
	EXPECT(jint(o, "severity") == e->severity, "severity");
	expect_str(o, "app_name", e->app_name);
	expect_str(o, "procid", e->procid);
	expect_str(o, "msgid", e->msgid);
	expect_str(o, "kind", soc_kind_name(e->kind));
	expect_str(o, "type", e->type);
	EXPECT(jint(o, "flags") == (int64_t)e->flags, "flags");
	EXPECT(jbool(o, "lenient") == !!(e->flags & SOC_F_LENIENT), "lenient");
	EXPECT(jbool(o, "identity_mismatch") == !!(e->flags & SOC_F_IDENTITY_MISMATCH),
	       "identity_mismatch");
	EXPECT(jbool(o, "no_time") == !!(e->flags & SOC_F_NO_TIME), "no_time");
	if (e->forgiven) {
		EXPECT(jint(o, "forgiven") == (int64_t)e->forgiven, "forgiven");
		EXPECT(json_array_size(json_object_get(o, "forgiven_names")) == 1 &&
			       strcmp(json_string_value(json_array_get(
					      json_object_get(o, "forgiven_names"), 0)),
				      "trailing-comma") == 0,
		       "forgiven_names");
	}
	if (e->code >= 0) {
		char hex[12];

		snprintf(hex, sizeof hex, "%02X", e->code);
		EXPECT(jint(o, "code") == e->code, "code");
		expect_str(o, "code_hex", hex);
		EXPECT(jint(o, "category") == e->category, "category");
		expect_str(o, "category_name", e->category == MM_X1367_CAT_COMMAND ? "Command"
										  : "Security");
		expect_str(o, "code_message",
			   e->code == 0x30 ? "Invalid Command" : "Certification Failed");
	} else {
		EXPECT(json_object_get(o, "code") == NULL, "code present on a non-X.1367 event");
		EXPECT(json_object_get(o, "category") == NULL, "category present");
	}
	expect_str(o, "protocol", e->protocol);
	expect_str(o, "reporter", e->reporter);
	expect_str(o, "requester", e->requester);
	expect_str(o, "responder", e->responder);
	/* X.1367 records and mamori events that parse come as JSON; the
	 * lenient record with its trailing comma does not, and stays text. */
	if (e->kind == SOC_KIND_X1367 && !(e->flags & SOC_F_LENIENT)) {
		rec = json_object_get(o, "record");
		EXPECT(json_is_object(rec), "record missing");
		expect_str(rec, "Error Code", e->code == 0x30 ? "30" : "21");
		expect_str(o, "msg", NULL);
	} else if (e->kind == SOC_KIND_EVENT) {
		rec = json_object_get(o, "data");
		EXPECT(json_is_object(rec), "data missing");
		expect_str(rec, "event", "guard.exec.denied");
		expect_str(rec, "path", "/tmp/x");
		expect_str(o, "msg", NULL);
	} else {
		char msg[1024];

		snprintf(msg, sizeof msg, "%.*s", (int)e->msg_len, e->msg);
		expect_str(o, "msg", msg);
		EXPECT(json_object_get(o, "record") == NULL, "record present");
	}
}

/* ---- tests: schema ---- */

static void test_open_creates_schema(void **state)
{
	struct store *st = open_ok();
	json_t *s = NULL;
	int64_t ids[NEV];

	EXPECT(store_schema_version() == 1, "schema version %d", store_schema_version());
	OK(store_stats(st, &s));
	EXPECT(jint(s, "events") == 0 && jint(s, "devices") == 0 && jint(s, "findings") == 0,
	       "new store not empty");
	EXPECT(jint(s, "schema_version") == 1 && jint(s, "bytes") > 0, "stats");
	json_decref(s);
	add_events(st, ids);
	store_close(st);
	EXPECT(raw_sql("SELECT COUNT(*) FROM schema_version") == 1, "schema_version rows");
	EXPECT(raw_sql("SELECT MAX(version) FROM schema_version") == 1, "version");

	/* Reopening migrates nothing and keeps everything. */
	st = open_ok();
	OK(store_stats(st, &s));
	EXPECT(jint(s, "events") == (int64_t)NEV, "events after reopen: %lld",
	       (long long)jint(s, "events"));
	json_decref(s);
	store_close(st);
	EXPECT(raw_sql("SELECT COUNT(*) FROM schema_version") == 1, "schema_version rows");
	if (!is_pg())
		EXPECT(raw_sql("SELECT COUNT(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'")
			       == 1,
		       "not in WAL mode");
	/* The indexes the issue asks for exist. */
	if (is_pg())
		EXPECT(raw_sql("SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'events'") == 8,
		       "events indexes");
	else
		EXPECT(raw_sql("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND"
			       " tbl_name = 'events'") == 7,
		       "events indexes");
}

static void test_newer_schema_refused(void **state)
{
	struct store *st = open_ok(), *st2 = NULL;
	char err[256] = "";
	int rc;

	store_close(st);
	raw_sql("INSERT INTO schema_version (version, applied_ms) VALUES (2, 0)");
	rc = store_open(g.url, &st2, err, sizeof err);
	EXPECT(rc == MM_EINVAL && st2 == NULL, "open of a newer schema: %d", rc);
	EXPECT(strstr(err, "schema version 2") && strstr(err, "newer"), "message: %s", err);
}

static void test_bad_urls(void **state)
{
	static const char *const urls[] = {"mysql://x", "sqlite", "", "file:/tmp/x.db"};
	struct store *st;
	char err[256];
	size_t i;

	for (i = 0; i < NELEM(urls); i++) {
		st = NULL;
		EXPECT(store_open(urls[i], &st, err, sizeof err) == MM_EINVAL && st == NULL,
		       "url \"%s\" accepted", urls[i]);
	}
	st = NULL;
	EXPECT(store_open("sqlite:", &st, err, sizeof err) < 0 && st == NULL, "empty path");
	EXPECT(store_open("sqlite:/nonexistent-dir/x/y.db", &st, err, sizeof err) == MM_EIO,
	       "unwritable path");
	EXPECT(strstr(err, "/nonexistent-dir/x/y.db") != NULL, "message: %s", err);
}

/* ---- tests: events ---- */

struct filter_case {
	const char *name;
	void (*set)(struct store_filter *f, const int64_t *ids);
	int want[NEV + 1]; /* indexes into events[], newest first, ending with -1 */
};

#define F(name_, body)                                                                      \
	static void set_##name_(struct store_filter *f, const int64_t *ids)                 \
	{                                                                                   \
		(void)ids;                                                                  \
		body;                                                                       \
	}
F(all, )
F(device, f->device = "cam-7")
F(reporter, f->reporter = "192.168.2.11")
F(requester, f->requester = "192.168.2.99")
F(responder, f->responder = "0002")
F(type, f->type = "x1367")
F(code, f->code = 0x30)
F(category, f->category = MM_X1367_CAT_SECURITY)
F(addr, f->addr = "192.168.2.99")
F(addr_peer, f->addr = "10.0.0.7")
F(since, f->since_ms = T0 + 2000)
F(until, f->until_ms = T0 + 1000)
F(window, f->since_ms = T0 + 1000; f->until_ms = T0 + 3000)
F(after_id, f->after_id = ids[3])
F(lenient, f->lenient = 1)
F(strict, f->lenient = 0)
F(kind, f->kind = "event")
F(protocol, f->protocol = "MQTT")
F(limit, f->limit = 2)
F(device_code, f->device = "gw-1"; f->code = 0x21)
F(injection, f->device = "x' OR '1'='1")
F(injection2, f->type = "syslog\" OR 1=1 --")
F(nothing, f->requester = "203.0.113.1")

static const struct filter_case filter_cases[] = {
	{"no filter", set_all, {5, 4, 3, 2, 1, 0, -1}},
	{"device", set_device, {3, 0, -1}},
	{"reporter", set_reporter, {2, 1, -1}},
	{"requester", set_requester, {2, 1, -1}},
	{"responder", set_responder, {2, -1}},
	{"type", set_type, {4, 2, 1, -1}},
	{"code", set_code, {4, 1, -1}},
	{"category", set_category, {2, -1}},
	{"addr as requester and as peer", set_addr, {5, 2, 1, -1}},
	{"addr as peer only", set_addr_peer, {3, 0, -1}},
	{"since", set_since, {5, 4, 3, 2, -1}},
	{"until", set_until, {1, 0, -1}},
	{"since and until", set_window, {3, 2, 1, -1}},
	{"after_id", set_after_id, {5, 4, -1}},
	{"lenient only", set_lenient, {2, -1}},
	{"not lenient", set_strict, {5, 4, 3, 1, 0, -1}},
	{"kind", set_kind, {3, -1}},
	{"protocol", set_protocol, {2, -1}},
	{"limit", set_limit, {5, 4, -1}},
	{"device and code", set_device_code, {2, -1}},
	{"quote in a value", set_injection, {-1}},
	{"SQL in a value", set_injection2, {-1}},
	{"no match", set_nothing, {-1}},
};

static void test_events_filters(void **state)
{
	struct store *st = open_ok();
	int64_t ids[NEV];
	size_t c, k;

	add_events(st, ids);
	for (c = 0; c < NELEM(filter_cases); c++) {
		const struct filter_case *fc = &filter_cases[c];
		struct store_filter f;
		json_t *rows = NULL;

		store_filter_init(&f);
		fc->set(&f, ids);
		OK(store_query_events(st, &f, &rows));
		for (k = 0; fc->want[k] >= 0; k++) {
			json_t *o = json_array_get(rows, k);

			EXPECT(o != NULL, "%s: %zu rows, want more", fc->name,
			       json_array_size(rows));
			check_event(o, &events[fc->want[k]], ids[fc->want[k]]);
		}
		EXPECT(json_array_size(rows) == k, "%s: %zu rows, want %zu", fc->name,
		       json_array_size(rows), k);
		json_decref(rows);
	}
	store_close(st);
}

static void test_events_incident_filter_and_kinds(void **state)
{
	struct store *st = open_ok();
	struct store_filter f;
	int64_t ids[NEV];
	json_t *rows = NULL;
	struct soc_incident inc = {.opened_ms = T0, .first_ms = T0, .last_ms = T0,
				   .key_kind = "requester", .key = "192.168.2.99"};

	add_events(st, ids);
	OK(store_begin(st));
	OK(store_add_incident(st, &inc));
	OK(store_link(st, inc.id, ids[4]));
	OK(store_link(st, inc.id, ids[1]));
	OK(store_link(st, inc.id, ids[1]));
	OK(store_commit(st));
	store_filter_init(&f);
	f.incident = inc.id;
	OK(store_query_events(st, &f, &rows));
	EXPECT(json_array_size(rows) == 2, "incident filter: %zu rows", json_array_size(rows));
	check_event(json_array_get(rows, 0), &events[4], ids[4]);
	check_event(json_array_get(rows, 1), &events[1], ids[1]);
	json_decref(rows);

	f.incident = 0;
	f.kind = "nonsense";
	EXPECT(store_query_events(st, &f, &rows) == MM_EINVAL && rows == NULL, "unknown kind");
	store_close(st);
}

static void test_rollback_and_nul(void **state)
{
	struct store *st = open_ok();
	struct store_filter f;
	struct soc_event ev = events[0];
	static const char withnul[] = "before\0after";
	json_t *rows = NULL;

	OK(store_begin(st));
	OK(store_add_event(st, &ev));
	OK(store_rollback(st));
	store_filter_init(&f);
	OK(store_query_events(st, &f, &rows));
	EXPECT(json_array_size(rows) == 0, "rolled back event stored");
	json_decref(rows);

	/* A NUL in MSG: both back ends keep what comes before it. */
	ev.msg = withnul;
	ev.msg_len = sizeof withnul - 1;
	OK(store_begin(st));
	OK(store_add_event(st, &ev));
	OK(store_commit(st));
	OK(store_query_events(st, &f, &rows));
	EXPECT(json_array_size(rows) == 1, "%zu rows", json_array_size(rows));
	expect_str(json_array_get(rows, 0), "msg", "before");
	json_decref(rows);
	store_close(st);
}

/* Limits: 0 means 100, more than 10000 means 10000. */
static void test_query_limits(void **state)
{
	struct store *st = open_ok();
	struct store_filter f;
	json_t *rows = NULL;
	int i;

	OK(store_begin(st));
	for (i = 0; i < 150; i++) {
		struct soc_event ev = events[0];

		ev.time_ms += i;
		OK(store_add_event(st, &ev));
	}
	OK(store_commit(st));
	store_filter_init(&f);
	OK(store_query_events(st, &f, &rows));
	EXPECT(json_array_size(rows) == 100, "default limit: %zu", json_array_size(rows));
	EXPECT(jint(json_array_get(rows, 0), "time_ms") == T0 + 149, "newest first");
	json_decref(rows);
	f.limit = 1000000;
	OK(store_query_events(st, &f, &rows));
	EXPECT(json_array_size(rows) == 150, "large limit: %zu", json_array_size(rows));
	json_decref(rows);
	store_close(st);
}

/* ---- tests: dead letters ---- */

static void test_dead_letters_raw(void **state)
{
	static const uint8_t raw1[] = {'<', '1', '>', 0x00, 0xff, 0xc3, 0x28, 'x', 0x00};
	struct store *st = open_ok();
	struct soc_dead d1 = {.recv_ms = T0, .transport = SOC_TCP, .peer = "10.1.1.1:600",
			      .reason = "invalid UTF-8 at byte 4", .raw = raw1,
			      .raw_len = sizeof raw1, .orig_len = sizeof raw1};
	uint8_t big[SOC_DEAD_MAX];
	struct soc_dead d2 = {.recv_ms = T0 + 1, .transport = SOC_UDP, .peer = "10.1.1.2:601",
			      .reason = "frame too large", .raw = big, .raw_len = sizeof big,
			      .orig_len = 100000};
	struct store_filter f;
	json_t *rows = NULL, *o;
	const char *hex;
	size_t i;

	for (i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7);
	OK(store_begin(st));
	OK(store_add_dead(st, &d1));
	OK(store_add_dead(st, &d2));
	OK(store_commit(st));
	store_filter_init(&f);
	OK(store_query_dead(st, &f, &rows));
	EXPECT(json_array_size(rows) == 2, "%zu dead letters", json_array_size(rows));
	o = json_array_get(rows, 1);
	expect_str(o, "raw_hex", "3C313E00FFC3287800");
	EXPECT(jint(o, "raw_len") == 9 && jint(o, "orig_len") == 9 && !jbool(o, "truncated"),
	       "lengths");
	expect_str(o, "reason", "invalid UTF-8 at byte 4");
	expect_str(o, "peer", "10.1.1.1:600");
	expect_str(o, "transport", "tcp");
	expect_str(o, "recv_time", "2026-11-18T11:06:40.000Z");
	o = json_array_get(rows, 0);
	hex = jstr(o, "raw_hex");
	EXPECT(hex && strlen(hex) == 2 * SOC_DEAD_MAX, "big raw");
	for (i = 0; hex && i < sizeof big; i++) {
		char b[3];

		snprintf(b, sizeof b, "%02X", big[i]);
		EXPECT(hex[2 * i] == b[0] && hex[2 * i + 1] == b[1], "byte %zu differs", i);
	}
	EXPECT(jint(o, "orig_len") == 100000 && jbool(o, "truncated"), "truncated");
	json_decref(rows);
	f.since_ms = T0 + 1;
	OK(store_query_dead(st, &f, &rows));
	EXPECT(json_array_size(rows) == 1 && jint(json_array_get(rows, 0), "raw_len") ==
						    SOC_DEAD_MAX,
	       "since filter");
	json_decref(rows);
	store_close(st);
}

/* ---- tests: devices and certificates ---- */

static void touch(struct store *st, const char *dev, const char *addr, int64_t t, const char *fp,
		  int64_t not_after)
{
	struct store_device_seen s = {.device = dev, .addr = addr, .time_ms = t, .cert_fp = fp,
				      .cert_cn = fp ? dev : NULL,
				      .cert_not_after = fp ? not_after : 0};

	OK(store_touch_device(st, &s));
}

struct cert_seen {
	int n;
	char fp[8][80], devices[8][200], addrs[8][200];
	int ndev[8], naddr[8];
	int64_t not_after[8];
};

static int cert_cb(void *arg, const struct store_cert_use *u)
{
	struct cert_seen *c = arg;

	if (c->n >= 8)
		return MM_EFULL;
	snprintf(c->fp[c->n], sizeof c->fp[0], "%s", u->fp);
	snprintf(c->devices[c->n], sizeof c->devices[0], "%s", u->devices);
	snprintf(c->addrs[c->n], sizeof c->addrs[0], "%s", u->addrs);
	c->ndev[c->n] = u->ndevices;
	c->naddr[c->n] = u->naddrs;
	c->not_after[c->n] = u->not_after;
	c->n++;
	return 0;
}

struct dev_seen {
	int n;
	char name[8][64];
	int64_t first[8], last[8];
};

static int dev_cb(void *arg, const char *device, int64_t first_ms, int64_t last_ms)
{
	struct dev_seen *d = arg;

	if (d->n >= 8)
		return MM_EFULL;
	snprintf(d->name[d->n], sizeof d->name[0], "%s", device);
	d->first[d->n] = first_ms;
	d->last[d->n] = last_ms;
	d->n++;
	return 0;
}

static void test_devices_and_certs(void **state)
{
	struct store *st = open_ok();
	struct cert_seen c = {0};
	struct dev_seen d = {0};
	struct store_filter f;
	json_t *rows = NULL, *o;

	OK(store_begin(st));
	/* plain-1 never authenticates; cam-1 does on its second event; A is
	 * shared by two devices; B by one device from two addresses; C is
	 * used by one device from one address, twice. */
	touch(st, "plain-1", "10.0.0.9", T0 + 500, NULL, 0);
	touch(st, "plain-1", "10.0.0.10", T0 + 100, NULL, 0);
	touch(st, "cam-1", "10.0.0.1", T0, NULL, 0);
	touch(st, "cam-1", "10.0.0.1", T0 + 1000, "A", 1800000000);
	touch(st, "cam-2", "10.0.0.2", T0 + 2000, "A", 1800000000);
	touch(st, "cam-3", "10.0.0.3", T0 + 3000, "B", 1790000000);
	touch(st, "cam-3", "10.0.0.33", T0 + 4000, "B", 1790000000);
	touch(st, "cam-4", "10.0.0.4", T0 + 5000, "C", 1700000000);
	touch(st, "cam-4", "10.0.0.4", T0 + 6000, "C", 1700000000);
	OK(store_commit(st));

	OK(store_certs_shared(st, cert_cb, &c));
	EXPECT(c.n == 2, "%d shared certificates", c.n);
	EXPECT(strcmp(c.fp[0], "A") == 0 && c.ndev[0] == 2 && c.naddr[0] == 2 &&
		       strcmp(c.devices[0], "cam-1,cam-2") == 0 &&
		       strcmp(c.addrs[0], "10.0.0.1,10.0.0.2") == 0,
	       "A: %s %d %s %d %s", c.fp[0], c.ndev[0], c.devices[0], c.naddr[0], c.addrs[0]);
	EXPECT(strcmp(c.fp[1], "B") == 0 && c.ndev[1] == 1 && c.naddr[1] == 2 &&
		       strcmp(c.devices[1], "cam-3") == 0 &&
		       strcmp(c.addrs[1], "10.0.0.3,10.0.0.33") == 0 && c.not_after[1] == 1790000000,
	       "B: %s %d %s %d %s", c.fp[1], c.ndev[1], c.devices[1], c.naddr[1], c.addrs[1]);

	memset(&c, 0, sizeof c);
	OK(store_certs_expiring(st, 1795000000, cert_cb, &c));
	EXPECT(c.n == 2 && strcmp(c.fp[0], "B") == 0 && strcmp(c.fp[1], "C") == 0,
	       "expiring: %d (%s %s)", c.n, c.fp[0], c.fp[1]);
	EXPECT(c.ndev[1] == 1 && c.naddr[1] == 1 && strcmp(c.devices[1], "cam-4") == 0, "C");
	memset(&c, 0, sizeof c);
	OK(store_certs_expiring(st, 1600000000, cert_cb, &c));
	EXPECT(c.n == 0, "nothing expires before 2020: %d", c.n);

	OK(store_devices_never_auth(st, dev_cb, &d));
	EXPECT(d.n == 1 && strcmp(d.name[0], "plain-1") == 0 && d.first[0] == T0 + 100 &&
		       d.last[0] == T0 + 500,
	       "never authenticated: %d %s", d.n, d.name[0]);

	store_filter_init(&f);
	f.device = "cam-1";
	OK(store_query_devices(st, &f, &rows));
	EXPECT(json_array_size(rows) == 1, "%zu devices", json_array_size(rows));
	o = json_array_get(rows, 0);
	expect_str(o, "device", "cam-1");
	EXPECT(jint(o, "count") == 2 && jbool(o, "authenticated"), "cam-1 count/auth");
	EXPECT(jint(o, "first_ms") == T0 && jint(o, "last_ms") == T0 + 1000, "cam-1 times");
	expect_str(o, "first_time", "2026-11-18T11:06:40.000Z");
	expect_str(o, "cert_fp", "A");
	expect_str(o, "cert_cn", "cam-1");
	EXPECT(jint(o, "cert_not_after") == 1800000000, "cert_not_after");
	json_decref(rows);
	f.device = "plain-1";
	OK(store_query_devices(st, &f, &rows));
	o = json_array_get(rows, 0);
	EXPECT(o && jint(o, "count") == 2 && !jbool(o, "authenticated"), "plain-1");
	expect_str(o, "last_addr", "10.0.0.10");
	expect_str(o, "cert_fp", NULL);
	json_decref(rows);
	store_filter_init(&f);
	OK(store_query_devices(st, &f, &rows));
	EXPECT(json_array_size(rows) == 5, "all devices: %zu", json_array_size(rows));
	expect_str(json_array_get(rows, 0), "device", "cam-4");
	json_decref(rows);
	store_close(st);
}

/* ---- tests: incidents ---- */

static void test_incidents(void **state)
{
	struct store *st = open_ok();
	struct soc_incident inc = {.opened_ms = T0 + 2010, .first_ms = T0 + 1000,
				   .last_ms = T0 + 2000, .key_kind = "requester",
				   .key = "192.168.2.99", .reason = "2 protocols: MQTT, Modbus/TCP",
				   .protocols = "MQTT,Modbus/TCP", .nerrors = 2, .nsecurity = 1,
				   .ncommand = 1, .state = SOC_INC_OPEN};
	struct soc_incident other = inc;
	struct store_filter f;
	int64_t ids[NEV], n = -1;
	json_t *o = NULL, *evs, *rows = NULL;

	add_events(st, ids);
	OK(store_begin(st));
	OK(store_add_incident(st, &inc));
	EXPECT(inc.id > 0, "incident id");
	/* The window holds events 1, 2 (requester) and 5 (peer address); 0, 3
	 * and 4 are from others; a narrower window leaves 5 out. */
	OK(store_link_window(st, inc.id, "192.168.2.99", T0 + 1000, T0 + 3000, &n));
	EXPECT(n == 2, "linked %lld, want 2", (long long)n);
	OK(store_link_window(st, inc.id, "192.168.2.99", T0, T0 + 6000, &n));
	EXPECT(n == 1, "linked again %lld, want 1 (the pairs exist)", (long long)n);
	OK(store_link_window(st, inc.id, "192.168.2.11", T0 + 1500, T0 + 1600, &n));
	EXPECT(n == 0, "empty window linked %lld", (long long)n);
	other.key = "10.0.0.2";
	other.key_kind = "reporter";
	other.state = SOC_INC_CLOSED;
	OK(store_add_incident(st, &other));
	OK(store_link_window(st, other.id, "10.0.0.2", T0, T0 + 9000, &n));
	EXPECT(n == 1, "reporter window linked %lld", (long long)n);
	inc.last_ms = T0 + 5000;
	inc.nerrors = 3;
	inc.state = SOC_INC_CLOSED;
	inc.reason = "3 errors";
	OK(store_update_incident(st, &inc));
	OK(store_commit(st));
	other.id = 999999;
	EXPECT(store_update_incident(st, &other) == MM_ENOTFOUND, "update of a missing incident");

	OK(store_get_incident(st, inc.id, &o));
	EXPECT(jint(o, "id") == inc.id && jint(o, "nerrors") == 3 && jint(o, "nsecurity") == 1 &&
		       jint(o, "ncommand") == 1,
	       "counters");
	expect_str(o, "state", "closed");
	expect_str(o, "reason", "3 errors");
	expect_str(o, "key", "192.168.2.99");
	expect_str(o, "key_kind", "requester");
	expect_str(o, "protocols", "MQTT,Modbus/TCP");
	expect_str(o, "first_time", "2026-11-18T11:06:41.000Z");
	EXPECT(jint(o, "last_ms") == T0 + 5000 && jint(o, "opened_ms") == T0 + 2010, "times");
	evs = json_object_get(o, "events");
	EXPECT(json_array_size(evs) == 3 && jint(o, "nevents") == 3, "%zu linked events",
	       json_array_size(evs));
	check_event(json_array_get(evs, 0), &events[5], ids[5]);
	check_event(json_array_get(evs, 1), &events[2], ids[2]);
	check_event(json_array_get(evs, 2), &events[1], ids[1]);
	json_decref(o);
	o = NULL;
	EXPECT(store_get_incident(st, 424242, &o) == MM_ENOTFOUND && o == NULL, "missing");

	store_filter_init(&f);
	OK(store_query_incidents(st, &f, &rows));
	EXPECT(json_array_size(rows) == 2 && jint(json_array_get(rows, 0), "id") > inc.id,
	       "incidents newest first");
	json_decref(rows);
	f.requester = "192.168.2.99";
	OK(store_query_incidents(st, &f, &rows));
	EXPECT(json_array_size(rows) == 1 && jint(json_array_get(rows, 0), "id") == inc.id,
	       "by requester");
	json_decref(rows);
	store_filter_init(&f);
	f.reporter = "10.0.0.2";
	OK(store_query_incidents(st, &f, &rows));
	EXPECT(json_array_size(rows) == 1, "by reporter");
	json_decref(rows);
	f.reporter = NULL;
	f.state = "open";
	OK(store_query_incidents(st, &f, &rows));
	EXPECT(json_array_size(rows) == 0, "no open incidents");
	json_decref(rows);
	f.state = "bogus";
	EXPECT(store_query_incidents(st, &f, &rows) == MM_EINVAL, "bad state");
	store_close(st);
}

/* ---- tests: findings ---- */

static void test_findings(void **state)
{
	struct store *st = open_ok();
	struct soc_finding f1 = {.first_ms = T0, .last_ms = T0, .kind = SOC_FIND_CERT_SHARED,
				 .device = NULL, .subject = "A", .severity = 4,
				 .detail = "{\"devices\":[\"cam-1\",\"cam-2\"]}"};
	struct soc_finding f2 = {.first_ms = T0, .last_ms = T0, .kind = SOC_FIND_NO_RESPONSE,
				 .device = "sensor-1", .subject = "60s", .severity = 3,
				 .detail = "not json"};
	struct store_filter f;
	json_t *rows = NULL, *o;
	int64_t first;
	int is_new = -1;

	OK(store_begin(st));
	OK(store_put_finding(st, &f1, &is_new));
	EXPECT(is_new == 1 && f1.id > 0, "first put: is_new %d", is_new);
	first = f1.id;
	f1.last_ms = T0 + 60000;
	f1.detail = "{\"devices\":[\"cam-1\",\"cam-2\",\"cam-3\"]}";
	OK(store_put_finding(st, &f1, &is_new));
	EXPECT(is_new == 0 && f1.id == first, "second put: is_new %d id %lld", is_new,
	       (long long)f1.id);
	OK(store_put_finding(st, &f2, &is_new));
	EXPECT(is_new == 1 && f2.id != first, "other finding");
	OK(store_commit(st));
	EXPECT(raw_sql("SELECT COUNT(*) FROM findings") == 2, "rows");

	store_filter_init(&f);
	f.kind = SOC_FIND_CERT_SHARED;
	OK(store_query_findings(st, &f, &rows));
	EXPECT(json_array_size(rows) == 1, "%zu findings", json_array_size(rows));
	o = json_array_get(rows, 0);
	EXPECT(jint(o, "first_ms") == T0 && jint(o, "last_ms") == T0 + 60000, "times");
	EXPECT(json_array_size(json_object_get(json_object_get(o, "detail"), "devices")) == 3,
	       "detail updated");
	EXPECT(jbool(o, "open"), "open");
	expect_str(o, "state", "open");
	expect_str(o, "subject", "A");
	expect_str(o, "device", NULL);
	json_decref(rows);

	OK(store_resolve_finding(st, SOC_FIND_NO_RESPONSE, "sensor-1", "60s", T0 + 90000));
	OK(store_resolve_finding(st, SOC_FIND_NO_RESPONSE, "sensor-9", "60s", T0 + 90000));
	store_filter_init(&f);
	f.state = "resolved";
	OK(store_query_findings(st, &f, &rows));
	EXPECT(json_array_size(rows) == 1, "resolved: %zu", json_array_size(rows));
	o = json_array_get(rows, 0);
	EXPECT(jint(o, "id") == f2.id && !jbool(o, "open") && jint(o, "resolved_ms") == T0 + 90000,
	       "resolved finding");
	expect_str(o, "detail_text", "not json");
	json_decref(rows);

	/* Once resolved, the same finding opens a new row. */
	OK(store_put_finding(st, &f2, &is_new));
	EXPECT(is_new == 1, "put after resolve: is_new %d", is_new);
	f.state = "open";
	f.device = "sensor-1";
	OK(store_query_findings(st, &f, &rows));
	EXPECT(json_array_size(rows) == 1 && jint(json_array_get(rows, 0), "id") == f2.id,
	       "the new open one");
	json_decref(rows);
	EXPECT(raw_sql("SELECT COUNT(*) FROM findings") == 3, "rows after reopen");
	store_close(st);
}

/* ---- tests: retention ---- */

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define DAY INT64_C(86400000)

static void test_retain_age(void **state)
{
	struct store *st = open_ok();
	struct soc_incident inc = {.key_kind = "requester", .key = "x"};
	struct store_filter f;
	int64_t now = wall_ms(), ids[20], deleted = -1;
	json_t *rows = NULL;
	struct soc_dead d = {.transport = SOC_UDP, .reason = "r", .raw = (const uint8_t *)"x",
			     .raw_len = 1, .orig_len = 1};
	int i;

	OK(store_begin(st));
	OK(store_add_incident(st, &inc));
	for (i = 0; i < 20; i++) {
		struct soc_event ev = events[1];

		/* 8 events 10 days old, then 12 from the last hour. */
		ev.recv_ms = i < 8 ? now - 10 * DAY + i : now - 3600000 + i;
		OK(store_add_event(st, &ev));
		ids[i] = ev.id;
		OK(store_link(st, inc.id, ev.id));
	}
	d.recv_ms = now - 10 * DAY;
	OK(store_add_dead(st, &d));
	d.recv_ms = now;
	OK(store_add_dead(st, &d));
	OK(store_commit(st));

	OK(store_retain(st, now - 5 * DAY, 0, &deleted));
	EXPECT(deleted == 8, "deleted %lld, want 8", (long long)deleted);
	store_filter_init(&f);
	f.limit = 100;
	OK(store_query_events(st, &f, &rows));
	EXPECT(json_array_size(rows) == 12, "%zu left", json_array_size(rows));
	EXPECT(jint(json_array_get(rows, 11), "id") == ids[8], "oldest kept is the 9th");
	json_decref(rows);
	EXPECT(raw_sql("SELECT COUNT(*) FROM incident_events") == 12, "links left");
	EXPECT(raw_sql("SELECT MIN(event) FROM incident_events") == ids[8], "links of the kept");
	EXPECT(raw_sql("SELECT COUNT(*) FROM dead_letters") == 1, "old dead letter kept");
	OK(store_retain(st, now - 5 * DAY, 0, &deleted));
	EXPECT(deleted == 0, "second pass deleted %lld", (long long)deleted);
	EXPECT(store_begin(st) == 0 && store_retain(st, now - DAY, 0, &deleted) < 0,
	       "retention inside a batch accepted");
	OK(store_rollback(st));
	store_close(st);
}

/* At most N dead letters are kept: the newest. */
static void test_cap_dead(void **state)
{
	struct store *st = open_ok();
	struct soc_dead d = {.transport = SOC_UDP, .reason = "r", .raw = (const uint8_t *)"x",
			     .raw_len = 1, .orig_len = 1};
	int64_t deleted = -1, first;
	int i;

	(void)state;
	OK(store_begin(st));
	for (i = 0; i < 5; i++) {
		d.recv_ms = wall_ms() + i;
		OK(store_add_dead(st, &d));
	}
	OK(store_commit(st));
	first = raw_sql("SELECT MIN(id) FROM dead_letters");
	OK(store_cap_dead(st, 2, &deleted));
	EXPECT(deleted == 3, "deleted %lld, want 3", (long long)deleted);
	EXPECT(raw_sql("SELECT COUNT(*) FROM dead_letters") == 2, "dead letters left");
	EXPECT(raw_sql("SELECT MIN(id) FROM dead_letters") == first + 3, "the newest are kept");
	OK(store_cap_dead(st, 2, &deleted));
	EXPECT(deleted == 0, "second pass deleted %lld", (long long)deleted);
	OK(store_cap_dead(st, 0, &deleted));
	EXPECT(raw_sql("SELECT COUNT(*) FROM dead_letters") == 2, "keep 0 bounds nothing");
	store_close(st);
}

static void test_retain_size(void **state)
{
	enum { N = 3000 };
	struct store *st = open_ok();
	struct soc_incident inc = {.key_kind = "requester", .key = "x"};
	char msg[600];
	int64_t before = 0, after = 0, deleted = -1, first_id = 0, last_id = 0, left, minid;
	json_t *s = NULL;
	int i;

	memset(msg, 'm', sizeof msg - 1);
	msg[sizeof msg - 1] = '\0';
	OK(store_begin(st));
	OK(store_add_incident(st, &inc));
	for (i = 0; i < N; i++) {
		struct soc_event ev = events[0];

		ev.msg = msg;
		ev.msg_len = sizeof msg - 1;
		ev.time_ms = T0 + i;
		ev.recv_ms = wall_ms();
		OK(store_add_event(st, &ev));
		if (i == 0)
			first_id = ev.id;
		last_id = ev.id;
		if (i % 10 == 0)
			OK(store_link(st, inc.id, ev.id));
	}
	OK(store_commit(st));
	OK(store_stats(st, &s));
	before = jint(s, "events_bytes");
	json_decref(s);

	OK(store_retain(st, 0, before / 2, &deleted));
	left = raw_sql("SELECT COUNT(*) FROM events");
	minid = raw_sql("SELECT MIN(id) FROM events");
	EXPECT(deleted > N / 4 && deleted < N, "deleted %lld of %d", (long long)deleted, N);
	EXPECT(left == N - deleted, "left %lld", (long long)left);
	/* The oldest went, the newest stayed, nothing in between is missing. */
	EXPECT(raw_sql("SELECT MAX(id) FROM events") == last_id, "newest kept");
	EXPECT(minid > first_id, "oldest deleted");
	EXPECT(raw_sql("SELECT MAX(id) - MIN(id) + 1 FROM events") == left, "a hole in the kept");
	EXPECT(raw_sql("SELECT COUNT(*) FROM incident_events WHERE event < (SELECT MIN(id)"
		       " FROM events)") == 0,
	       "links of deleted events left");
	EXPECT(raw_sql("SELECT COUNT(*) FROM incident_events") > 0, "links of kept events gone");
	if (!is_pg()) {
		/* SQLite measures again after each chunk: the bound holds. */
		OK(store_stats(st, &s));
		after = jint(s, "events_bytes");
		json_decref(s);
		EXPECT(after <= before / 2, "size %lld > %lld", (long long)after,
		       (long long)before / 2);
	}
	store_close(st);
}

/* ---- tests: time text ---- */

static void test_time_text(void **state)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
		{0, "1970-01-01T00:00:00.000Z"},
		{1535448895000, "2018-08-28T09:34:55.000Z"},
		{1535448895123, "2018-08-28T09:34:55.123Z"},
		{1795000000001, "2026-11-18T11:06:40.001Z"},
		{-1, "1969-12-31T23:59:59.999Z"},
		{951782400000, "2000-02-29T00:00:00.000Z"},
	};
	char out[32];
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		EXPECT(soc_time_text(cases[i].ms, out, sizeof out) == 0, "rc");
		EXPECT(strcmp(out, cases[i].want) == 0, "%lld: %s, want %s",
		       (long long)cases[i].ms, out, cases[i].want);
	}
}

/* ---- main ---- */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const struct CMUnitTest tests[] = {
	T(test_time_text),
	T(test_open_creates_schema),
	T(test_newer_schema_refused),
	T(test_bad_urls),
	T(test_events_filters),
	T(test_events_incident_filter_and_kinds),
	T(test_rollback_and_nul),
	T(test_query_limits),
	T(test_dead_letters_raw),
	T(test_devices_and_certs),
	T(test_incidents),
	T(test_findings),
	T(test_retain_age),
	T(test_retain_size),
	T(test_cap_dead),
};

int main(void)
{
	int failed;

	snprintf(g.dir, sizeof g.dir, "/tmp/test_soc_store.XXXXXX");
	if (mkdtemp(g.dir) == NULL)
		return 1;
	g.backend = "sqlite";
	failed = cmocka_run_group_tests_name("store sqlite", tests, NULL, NULL);
	rmdir(g.dir);
	g.pg_url = getenv("MAMORI_PG_URL");
	if (g.pg_url != NULL && g.pg_url[0] != '\0') {
		g.backend = "postgresql";
		failed += cmocka_run_group_tests_name("store postgresql", tests, NULL, NULL);
	} else {
		printf("MAMORI_PG_URL not set: the PostgreSQL back end was not tested here "
		       "(tests/integration/soc_store_pg.sh tests it)\n");
	}
	return failed ? 1 : 0;
}
