/*
 * The reporter (lib/reporter.c): pairing, mapping, the records it makes
 * (every attribute checked after parsing them back), timeouts, silence of
 * periodic streams, its bounds and counters, and what it spools.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "mamori/error.h"
#include "mamori/event.h"
#include "mamori/reporter.h"
#include "mamori/spool.h"
#include "mamori/syslog.h"

#define T0 1700000000 /* 2023-11-14T22:13:20Z */
#define MAXREC 16

/* What on_record was given. */
struct sink {
	int n;          /* calls */
	int events;     /* calls with rec NULL */
	char *json[MAXREC];
};

static void on_rec(void *arg, const struct mm_x1367_record *rec, const char *json, size_t len)
{
	struct sink *s = arg;

	assert_int_equal(strlen(json), len);
	if (s->n < MAXREC)
		s->json[s->n] = strdup(json);
	s->n++;
	if (!rec)
		s->events++;
}

static void sink_free(struct sink *s)
{
	int i;

	for (i = 0; i < s->n && i < MAXREC; i++)
		free(s->json[i]);
	memset(s, 0, sizeof *s);
}

static struct mm_errmap *load_maps(void)
{
	static const char *const files[] = {"modbus.map", "abc.map", "mqtt.map"};
	struct mm_buf text;
	struct mm_errmap *map;
	struct mm_errmap_err err;
	size_t i;

	mm_buf_init(&text, 1 << 20);
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[512], chunk[4096];
		size_t n;
		FILE *f;

		snprintf(path, sizeof path, MAMORI_SRCDIR "/data/errmap/%s", files[i]);
		f = fopen(path, "r");
		assert_non_null(f);
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
			assert_int_equal(mm_buf_append(&text, chunk, n), 0);
		fclose(f);
		assert_int_equal(mm_buf_putc(&text, '\n'), 0);
	}
	if (mm_errmap_load(&map, text.data, text.len, &err) < 0)
		fail_msg("maps: line %d: %s", err.line, err.msg);
	mm_buf_free(&text);
	return map;
}

static struct mm_reporter *new_rep(struct mm_reporter_opts *o, const struct mm_errmap *map,
				   struct sink *s)
{
	struct mm_reporter *r;

	o->reporter.kind = MM_X1367_ID_IP;
	o->reporter.id = "192.168.2.11";
	o->map = map;
	o->on_record = on_rec;
	o->arg = s;
	o->hostname = "gw1";
	assert_int_equal(mm_reporter_new(o, &r), 0);
	return r;
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	if (!j)
		fail_msg("not JSON (%s): %s", e.text, text);
	return j;
}

/* A reporter under test and what on_record gave it: rig_init() sets the
 * default options, which the test may change before rig_start(). */
struct rig {
	struct mm_reporter_opts o;
	struct sink s;
	struct mm_reporter *r;
	struct mm_reporter_stats st; /* as of the last rig_stats() */
};

static void rig_init(struct rig *g)
{
	memset(g, 0, sizeof *g);
	mm_reporter_opts_default(&g->o);
}

static void rig_start(struct rig *g, const struct mm_errmap *map)
{
	g->r = new_rep(&g->o, map, &g->s);
}

/* rig_init() and rig_start() for a test that keeps the default options. */
static void rig_open(struct rig *g, const struct mm_errmap *map)
{
	rig_init(g);
	rig_start(g, map);
}

/* Record i as parsed JSON (json_decref() it); there must be exactly n. */
static json_t *rig_record(const struct rig *g, int i, int n)
{
	if (g->s.n != n)
		fail_msg("%d records, want %d", g->s.n, n);
	assert_true(i < n && i < MAXREC);
	return parse(g->s.json[i]);
}

static void rig_stats(struct rig *g)
{
	mm_reporter_stats(g->r, &g->st);
}

/* Tells the reporter it is T0 + sec seconds and nsec nanoseconds. */
static void rig_tick(struct rig *g, time_t sec, long nsec)
{
	assert_int_equal(mm_reporter_tick(g->r, &(struct timespec){T0 + sec, nsec}), 0);
}

static void rig_stop(struct rig *g)
{
	mm_reporter_free(g->r);
	g->r = NULL;
	sink_free(&g->s);
}

static struct timespec at_ms(long long ms)
{
	struct timespec t = {(time_t)(T0 + ms / 1000), (long)(ms % 1000) * 1000000L};

	return t;
}

/* A Modbus/TCP message between the gateway and a device. */
static struct mm_reporter_msg modbus_msg(const uint16_t *tid, const void *raw, size_t len,
					 long long ms)
{
	struct mm_reporter_msg m = {0};

	m.protocol = "Modbus/TCP";
	m.requester = (struct mm_reporter_party){MM_X1367_ID_IP, "192.168.2.11"};
	m.responder = (struct mm_reporter_party){MM_X1367_ID_IP, "192.168.2.50"};
	m.key = tid;
	m.key_len = sizeof *tid;
	m.raw = raw;
	m.raw_len = len;
	m.time = at_ms(ms);
	return m;
}

static void expect_member(json_t *obj, const char *path, const char *want)
{
	char buf[128], *slash;
	json_t *v = obj;
	const char *p = path;

	while ((slash = strchr(p, '/')) != NULL) {
		snprintf(buf, sizeof buf, "%.*s", (int)(slash - p), p);
		v = json_object_get(v, buf);
		p = slash + 1;
	}
	v = json_object_get(v, p);
	if (!want) {
		if (v)
			fail_msg("%s: expected absent", path);
		return;
	}
	if (!json_is_string(v))
		fail_msg("%s: expected \"%s\", got none", path, want);
	if (strcmp(json_string_value(v), want) != 0)
		fail_msg("%s: expected \"%s\", got \"%s\"", path, want, json_string_value(v));
}

/* expect_member() for each pair of path and value (NULL-ended). */
static void expect_members(json_t *obj, const char *const *kv)
{
	for (size_t i = 0; kv[i]; i += 2)
		expect_member(obj, kv[i], kv[i + 1]);
}

/* Checks Description: exactly these members, in this order (NULL-ended
 * pairs of name and value). */
static void expect_description(json_t *rec, const char *const *kv)
{
	json_t *d = json_object_get(rec, "Description");
	void *it;
	size_t i = 0;

	if (!kv[0]) {
		if (d)
			fail_msg("Description: expected none");
		return;
	}
	assert_true(json_is_object(d));
	for (it = json_object_iter(d); it; it = json_object_iter_next(d, it), i += 2) {
		json_t *v = json_object_iter_value(it);
		if (!kv[i])
			fail_msg("Description: unexpected member \"%s\"", json_object_iter_key(it));
		if (strcmp(json_object_iter_key(it), kv[i]) != 0)
			fail_msg("Description member %zu: expected \"%s\", got \"%s\"", i / 2, kv[i],
				 json_object_iter_key(it));
		if (!json_is_string(v) || strcmp(json_string_value(v), kv[i + 1]) != 0)
			fail_msg("Description \"%s\": expected \"%s\", got \"%s\"", kv[i],
				 kv[i + 1], json_is_string(v) ? json_string_value(v) : "?");
	}
	if (kv[i])
		fail_msg("Description: \"%s\" missing", kv[i]);
}

/* The top-level attributes of a record, in the standard's order. */
static void expect_keys(json_t *rec, int with_description)
{
	static const char *const keys[] = {"Timestamp", "Reporter",   "Protocol",
					   "Requester", "Responder",  "Error Code",
					   "Error Message", "Description"};
	void *it;
	size_t i = 0;

	for (it = json_object_iter(rec); it; it = json_object_iter_next(rec, it), i++) {
		assert_true(i < 8);
		assert_string_equal(json_object_iter_key(it), keys[i]);
	}
	assert_int_equal(i, with_description ? 8 : 7);
}

/* ---- pairing ---- */

/* An error response to a held request gives one record whose every
 * attribute comes from the two messages and the table. */
static void test_pair_error(void **state)
{
	static const struct {
		const char *protocol, *vendor;
		struct mm_reporter_status st;
		const char *code, *message, *prop;
	} t[] = {
		{"Modbus/TCP", NULL, {MM_REPORTER_ERR_NUM, .num = 2, .text = "0x02"}, "31",
		 "Invalid Argument", "0x02"},
		{"Modbus/TCP", NULL, {MM_REPORTER_ERR_NUM, .num = 1}, "30", "Invalid Command", "1"},
		{"Modbus/TCP", NULL, {MM_REPORTER_ERR_NUM, .num = 4}, "41", "Device Failed", "4"},
		{"Modbus/TCP", NULL, {MM_REPORTER_ERR_NUM, .num = 0x77}, "3F",
		 "Other Command Reasons", "119"},
		{"ABC company protocol", "ABC Corp", {MM_REPORTER_ERR_NAME, .name = "E_AUTH"}, "20",
		 "Authentication Failed", "E_AUTH"},
		{"ABC company protocol", "ABC Corp", {MM_REPORTER_ERR_NUM, .num = 0x9000}, "E0",
		 "Battery low", "36864"},
		{"ABC company protocol", "DEF Ltd",
		 {MM_REPORTER_ERR_NAME, .name = "HUMIDITY", .text = "HUMIDITY!"}, "E2",
		 "Humidity above the rated range", "HUMIDITY!"},
		{"MQTT 5", NULL, {MM_REPORTER_ERR_NUM, .num = 0x87, .text = "0x87"}, "23",
		 "Authorization Failed", "0x87"},
		{"Modbus/TCP", NULL, {MM_REPORTER_ERR_STD, .std = 0x30}, "30", "Invalid Command",
		 NULL},
		{"Modbus/TCP", NULL, {MM_REPORTER_ERR_STD, .std = 0x13}, "13", "Communication",
		 NULL},
		{"Modbus/TCP", NULL, {MM_REPORTER_ERR_STD, .std = 0x60, .text = "bad frame"}, "60",
		 "Reserved for future extension", "bad frame"},
	};
	static const uint8_t req[] = {0x00, 0x07, 0x00, 0x00, 0x00, 0x06,
				      0x01, 0x03, 0x00, 0x6B, 0x00, 0x03};
	static const uint8_t resp[] = {0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x02};
	struct mm_errmap *map = load_maps();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct rig g;
		struct mm_reporter_msg m;
		uint16_t tid = 7;
		json_t *j;

		rig_init(&g);
		g.o.status = "This message was sent from IDS not IoTGW";
		rig_start(&g, map);
		m = modbus_msg(&tid, req, sizeof req, 0);
		m.protocol = t[i].protocol;
		m.vendor = t[i].vendor;
		m.detail = "request detail";
		m.flow = "192.168.2.11 50000 -> 192.168.2.50 502/tcp";
		assert_int_equal(mm_reporter_request(g.r, &m, 0), 0);
		m.raw = resp;
		m.raw_len = sizeof resp;
		m.time = at_ms(1250);
		m.detail = "exception response";
		m.flow = NULL; /* the request's is used */
		m.vendor = NULL; /* the request's is used */
		assert_int_equal(mm_reporter_response(g.r, &m, &t[i].st), 0);
		if (g.s.n != 1)
			fail_msg("case %zu: %d records", i, g.s.n);
		j = parse(g.s.json[0]);
		expect_keys(j, 1);
		expect_members(j, (const char *const[]){"Timestamp", "2023-11-14T22:13:21.25Z",
				"Reporter/IP Address", "192.168.2.11",
				"Protocol", t[i].protocol,
				"Requester/IP Address", "192.168.2.11",
				"Requester/Transmitted Code", "0007000000060103006B0003",
				"Responder/IP Address", "192.168.2.50",
				"Responder/Transmitted Code", "000700000003018302",
				"Error Code", t[i].code,
				"Error Message", t[i].message, NULL});
		{
			/* Proprietary Code is last, and absent for a standard code. */
			const char *kv[] = {"Status", "This message was sent from IDS not IoTGW",
					    "Detail", "exception response",
					    "Flow", "192.168.2.11 50000 -> 192.168.2.50 502/tcp",
					    "Proprietary Code", t[i].prop, NULL};

			if (!t[i].prop)
				kv[6] = NULL;
			expect_description(j, kv);
		}
		json_decref(j);
		rig_stats(&g);
		assert_int_equal(g.st.requests, 1);
		assert_int_equal(g.st.responses, 1);
		assert_int_equal(g.st.paired, 1);
		assert_int_equal(g.st.error_records, 1);
		assert_int_equal(g.st.pending, 0);
		assert_int_equal(g.st.unmapped, 0);
		/* settled: nothing left to time out */
		rig_tick(&g, 3600, 0);
		assert_int_equal(g.s.n, 1);
		rig_stop(&g);
	}
	mm_errmap_free(map);
}

/* Responses that make no record: success, and codes the table maps to the
 * No Error range (Modbus ACKNOWLEDGE 0x05 -> 00). */
static void test_no_record(void **state)
{
	static const struct {
		struct mm_reporter_status st;
		uint64_t no_error;
	} t[] = {
		{{MM_REPORTER_OK, .num = 0}, 0},
		{{MM_REPORTER_ERR_NUM, .num = 5}, 1},
		{{MM_REPORTER_ERR_STD, .std = 0x00}, 1},
	};
	struct mm_errmap *map = load_maps();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct rig g;
		struct mm_reporter_msg m;
		uint16_t tid = 1;

		rig_open(&g, map);
		m = modbus_msg(&tid, "\x01\x02", 2, 0);
		assert_int_equal(mm_reporter_request(g.r, &m, 0), 0);
		m.time = at_ms(10);
		assert_int_equal(mm_reporter_response(g.r, &m, &t[i].st), 0);
		rig_tick(&g, 3600, 0);
		rig_stats(&g);
		assert_int_equal(g.s.n, 0);
		assert_int_equal(g.st.paired, 1);
		assert_int_equal(g.st.pending, 0);
		assert_int_equal(g.st.no_error, t[i].no_error);
		assert_int_equal(g.st.error_records + g.st.timeout_records, 0);
		rig_stop(&g);
	}
	mm_errmap_free(map);
}

/* A code no table knows becomes FF Other Reasons and is counted, with or
 * without a map. */
static void test_unmapped(void **state)
{
	struct mm_errmap *map = load_maps();
	int with_map;

	(void)state;
	for (with_map = 0; with_map <= 1; with_map++) {
		struct rig g;
		struct mm_reporter_msg m;
		struct mm_reporter_status es = {MM_REPORTER_ERR_NUM, .num = 3};
		uint16_t tid = 1;
		json_t *j;

		rig_open(&g, with_map ? map : NULL);
		m = modbus_msg(&tid, "\x01", 1, 0);
		m.protocol = "Acme Bus";
		assert_int_equal(mm_reporter_request(g.r, &m, 0), 0);
		assert_int_equal(mm_reporter_response(g.r, &m, &es), 0);
		j = rig_record(&g, 0, 1);
		expect_members(j, (const char *const[]){"Protocol", "Acme Bus",
				"Error Code", "FF",
				"Error Message", "Other Reasons",
				"Description/Proprietary Code", "3", NULL});
		json_decref(j);
		rig_stats(&g);
		assert_int_equal(g.st.unmapped, 1);
		rig_stop(&g);
	}
	mm_errmap_free(map);
}

/* An error response with no request held: a record with an empty Requester
 * Transmitted Code and Request "not seen"; a success one only counts. */
static void test_unpaired(void **state)
{
	struct mm_errmap *map = load_maps();
	struct rig g;
	struct mm_reporter_msg m;
	struct mm_reporter_status ok = {MM_REPORTER_OK, .num = 0};
	struct mm_reporter_status es = {MM_REPORTER_ERR_NUM, .num = 1, .text = "0x01"};
	uint16_t tid = 9;
	json_t *j;

	(void)state;
	rig_open(&g, map);
	m = modbus_msg(&tid, "\x00\x09\x00\x00\x00\x03\x01\x81\x01", 9, 500);
	assert_int_equal(mm_reporter_response(g.r, &m, &ok), 0);
	assert_int_equal(g.s.n, 0);
	assert_int_equal(mm_reporter_response(g.r, &m, &es), 0);
	j = rig_record(&g, 0, 1);
	expect_keys(j, 1);
	expect_members(j, (const char *const[]){"Timestamp", "2023-11-14T22:13:20.5Z",
			"Requester/IP Address", "192.168.2.11",
			"Requester/Transmitted Code", "",
			"Responder/Transmitted Code", "000900000003018101",
			"Error Code", "30", NULL});
	expect_description(j, (const char *const[]){"Proprietary Code", "0x01", "Request", "not seen", NULL});
	json_decref(j);
	rig_stats(&g);
	assert_int_equal(g.st.responses, 2);
	assert_int_equal(g.st.unpaired, 2);
	assert_int_equal(g.st.paired, 0);
	assert_int_equal(g.st.error_records, 1);
	rig_stop(&g);
	mm_errmap_free(map);
}

/* mm_reporter_report() makes the record from both byte strings at once. */
static void test_report(void **state)
{
	struct rig g;
	struct mm_reporter_msg m;
	struct mm_reporter_status es = {MM_REPORTER_ERR_STD, .std = 0x30};
	uint16_t tid = 1;
	json_t *j;

	(void)state;
	rig_open(&g, NULL);
	m = modbus_msg(&tid, "\xde\xad", 2, 0);
	m.detail = "malformed MBAP header";
	assert_int_equal(mm_reporter_report(g.r, &m, NULL, 0, &es), 0);
	assert_int_equal(mm_reporter_report(g.r, &m, "\x01", 1, &(struct mm_reporter_status){0}), 0);
	j = rig_record(&g, 0, 1);
	expect_members(j, (const char *const[]){"Requester/Transmitted Code", "DEAD",
			"Responder/Transmitted Code", "",
			"Error Code", "30", NULL});
	expect_description(j, (const char *const[]){"Detail", "malformed MBAP header", NULL});
	json_decref(j);
	rig_stop(&g);
}

/* ---- timeouts ---- */

/* A request with no answer becomes one No Response record, timestamped
 * when its timeout ran out, not before and only once. */
static void test_timeout(void **state)
{
	struct rig g;
	struct mm_reporter_msg m;
	uint16_t tid = 3;
	json_t *j;

	(void)state;
	rig_open(&g, NULL);
	m = modbus_msg(&tid, "\x00\x03\x00\x00\x00\x06\x01\x03\x00\x00\x00\x01", 12, 100);
	m.flow = "192.168.2.11 50001 -> 192.168.2.50 502/tcp";
	assert_int_equal(mm_reporter_request(g.r, &m, 2000), 0);
	rig_tick(&g, 2, 99999999);
	assert_int_equal(g.s.n, 0);
	rig_tick(&g, 2, 100000000);
	assert_int_equal(g.s.n, 1);
	rig_tick(&g, 60, 0);
	j = rig_record(&g, 0, 1);
	expect_keys(j, 1);
	expect_members(j, (const char *const[]){"Timestamp", "2023-11-14T22:13:22.1Z",
			"Protocol", "Modbus/TCP",
			"Requester/IP Address", "192.168.2.11",
			"Requester/Transmitted Code", "000300000006010300000001",
			"Responder/IP Address", "192.168.2.50",
			"Responder/Transmitted Code", "",
			"Error Code", "10",
			"Error Message", "No Response", NULL});
	expect_description(j, (const char *const[]){"Flow", "192.168.2.11 50001 -> 192.168.2.50 502/tcp",
				    "Timeout", "no response within 2000 ms", NULL});
	json_decref(j);
	/* a late answer finds nothing to pair with */
	m.time = at_ms(5000);
	assert_int_equal(mm_reporter_response(g.r, &m, &(struct mm_reporter_status){0}), 0);
	rig_stats(&g);
	assert_int_equal(g.st.timeout_records, 1);
	assert_int_equal(g.st.unpaired, 1);
	assert_int_equal(g.st.pending, 0);
	assert_int_equal(g.s.n, 1);
	rig_stop(&g);
}

/* A request that may rightly get no answer is forgotten silently after the
 * default timeout, but still pairs with an error before that. */
static void test_answer_optional(void **state)
{
	struct rig g;
	struct mm_reporter_msg m;
	uint16_t a = 1, b = 2;

	(void)state;
	rig_init(&g);
	g.o.timeout_ms = 1000;
	rig_start(&g, NULL);
	m = modbus_msg(&a, "\x01", 1, 0);
	assert_int_equal(mm_reporter_request(g.r, &m, MM_REPORTER_ANSWER_OPTIONAL), 0);
	m = modbus_msg(&b, "\x02", 1, 0);
	assert_int_equal(mm_reporter_request(g.r, &m, MM_REPORTER_ANSWER_OPTIONAL), 0);
	m.time = at_ms(999);
	assert_int_equal(mm_reporter_response(
				 g.r, &m, &(struct mm_reporter_status){MM_REPORTER_ERR_STD, .std = 0x31}),
			 0);
	assert_int_equal(g.s.n, 1);
	rig_tick(&g, 100, 0);
	rig_stats(&g);
	assert_int_equal(g.s.n, 1);
	assert_int_equal(g.st.paired, 1);
	assert_int_equal(g.st.timeout_records, 0);
	assert_int_equal(g.st.pending, 0);
	rig_stop(&g);
}

/* ---- bounds ---- */

/* The same identity requested again replaces the request; past max_pending
 * the request nearest its deadline is dropped. */
static void test_replace_evict(void **state)
{
	struct rig g;
	struct mm_reporter_msg m;
	uint16_t keys[6] = {1, 2, 3, 4, 5, 6};
	int i;

	(void)state;
	rig_init(&g);
	g.o.max_pending = 3;
	rig_start(&g, NULL);
	for (i = 0; i < 5; i++) {
		m = modbus_msg(&keys[i], "\x01", 1, i * 10);
		assert_int_equal(mm_reporter_request(g.r, &m, 0), 0);
	}
	/* key 3 again, later: replaces, evicts nothing; its deadline moves */
	m = modbus_msg(&keys[2], "\x33", 1, 100);
	assert_int_equal(mm_reporter_request(g.r, &m, 0), 0);
	rig_stats(&g);
	assert_int_equal(g.st.requests, 6);
	assert_int_equal(g.st.replaced, 1);
	assert_int_equal(g.st.evicted, 2);
	assert_int_equal(g.st.pending, 3);
	/* a sixth: key 4 (time 30) is now nearest its deadline */
	m = modbus_msg(&keys[5], "\x01", 1, 110);
	assert_int_equal(mm_reporter_request(g.r, &m, 0), 0);
	rig_stats(&g);
	assert_int_equal(g.st.evicted, 3);
	assert_int_equal(g.st.pending, 3);
	/* what is held: keys 3, 5, 6; keys 1, 2, 4 are gone */
	for (i = 0; i < 6; i++) {
		uint64_t before;
		m = modbus_msg(&keys[i], "\x01", 1, 200);
		rig_stats(&g);
		before = g.st.paired;
		assert_int_equal(mm_reporter_response(g.r, &m, &(struct mm_reporter_status){0}), 0);
		rig_stats(&g);
		assert_int_equal(g.st.paired - before, i == 2 || i == 4 || i == 5);
	}
	assert_int_equal(g.s.n, 0);
	rig_stop(&g);
}

/* The replaced request's bytes are gone: a timeout reports the new one's. */
static void test_replace_bytes(void **state)
{
	struct rig g;
	struct mm_reporter_msg m;
	uint16_t k = 1;
	json_t *j;

	(void)state;
	rig_open(&g, NULL);
	m = modbus_msg(&k, "\xAA", 1, 0);
	assert_int_equal(mm_reporter_request(g.r, &m, 1000), 0);
	m = modbus_msg(&k, "\xBB", 1, 500);
	assert_int_equal(mm_reporter_request(g.r, &m, 1000), 0);
	rig_tick(&g, 1, 499000000);
	assert_int_equal(g.s.n, 0);
	rig_tick(&g, 10, 0);
	j = rig_record(&g, 0, 1);
	expect_members(j, (const char *const[]){"Requester/Transmitted Code", "BB",
			"Timestamp", "2023-11-14T22:13:21.5Z", NULL});
	json_decref(j);
	rig_stop(&g);
}

/* Transmitted Codes are cut at max_raw and Description says how long the
 * messages were. */
static void test_truncate(void **state)
{
	struct rig g;
	struct mm_reporter_msg m;
	uint8_t req[70], resp[20];
	uint16_t k = 1;
	json_t *j;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof req; i++)
		req[i] = (uint8_t)i;
	memset(resp, 0xEE, sizeof resp);
	rig_init(&g);
	g.o.max_raw = 16;
	rig_start(&g, NULL);
	m = modbus_msg(&k, req, sizeof req, 0);
	assert_int_equal(mm_reporter_request(g.r, &m, 0), 0);
	m.raw = resp;
	m.raw_len = sizeof resp;
	assert_int_equal(mm_reporter_response(
				 g.r, &m, &(struct mm_reporter_status){MM_REPORTER_ERR_STD, .std = 0x41}),
			 0);
	/* a timeout of a long request says it too */
	m = modbus_msg(&k, req, sizeof req, 0);
	assert_int_equal(mm_reporter_request(g.r, &m, 100), 0);
	rig_tick(&g, 1, 0);
	j = rig_record(&g, 0, 2);
	expect_members(j, (const char *const[]){"Requester/Transmitted Code", "000102030405060708090A0B0C0D0E0F",
			"Responder/Transmitted Code", "EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE", NULL});
	expect_description(j, (const char *const[]){"Truncated",
				    "Requester Transmitted Code: first 16 of 70 bytes; "
				    "Responder Transmitted Code: first 16 of 20 bytes",
				    NULL});
	json_decref(j);
	j = parse(g.s.json[1]);
	expect_description(j, (const char *const[]){"Timeout", "no response within 100 ms", "Truncated",
				    "Requester Transmitted Code: first 16 of 70 bytes", NULL});
	json_decref(j);
	rig_stop(&g);
}

/* Many requests never answered: memory stays at max_pending, and every
 * one is counted. */
static void test_many(void **state)
{
	struct mm_reporter_opts o;
	struct mm_reporter_stats st;
	struct mm_reporter *r;
	struct mm_reporter_msg m;
	uint32_t k;

	(void)state;
	mm_reporter_opts_default(&o);
	o.max_pending = 1000;
	o.reporter.kind = MM_X1367_ID_IP;
	o.reporter.id = "10.0.0.1";
	o.hostname = "gw1";
	assert_int_equal(mm_reporter_new(&o, &r), 0);
	for (k = 0; k < 200000; k++) {
		m = modbus_msg(NULL, "\x01\x02\x03", 3, k);
		m.key = &k;
		m.key_len = sizeof k;
		assert_int_equal(mm_reporter_request(r, &m, 0), 0);
		if (k % 1000 == 999) {
			/* nothing is due yet: the default timeout is 5 s */
			assert_int_equal(mm_reporter_tick(r, &m.time), 0);
		}
	}
	mm_reporter_stats(r, &st);
	assert_int_equal(st.requests, 200000);
	assert_int_equal(st.pending, 1000);
	assert_int_equal(st.evicted, 199000);
	assert_int_equal(st.timeout_records, 0);
	/* the newest thousand are the ones held: they time out */
	assert_int_equal(mm_reporter_tick(r, &(struct timespec){T0 + 1000, 0}), 0);
	mm_reporter_stats(r, &st);
	assert_int_equal(st.timeout_records, 1000);
	assert_int_equal(st.pending, 0);
	k = 199999;
	m = modbus_msg(NULL, "", 0, 0);
	m.key = &k;
	m.key_len = sizeof k;
	assert_int_equal(mm_reporter_response(r, &m, &(struct mm_reporter_status){0}), 0);
	mm_reporter_stats(r, &st);
	assert_int_equal(st.unpaired, 1);
	mm_reporter_free(r);
}

/* ---- periodic streams ---- */

static struct mm_reporter_msg stream_msg(const char *topic, const char *device, long long ms)
{
	struct mm_reporter_msg m = {0};

	m.protocol = "MQTT 3.1.1";
	m.requester = (struct mm_reporter_party){MM_X1367_ID_IP, "192.168.2.11"};
	m.responder = (struct mm_reporter_party){MM_X1367_ID_IP, device};
	m.key = topic;
	m.key_len = strlen(topic);
	m.raw = "\x30\x00";
	m.raw_len = 2;
	m.time = at_ms(ms);
	return m;
}

/* Messages every second for four seconds, then nothing: one record three
 * seconds after the last, none before; when the device speaks again the
 * period is learnt anew, the long gap not counted. */
static void test_silence(void **state)
{
	struct rig g;
	struct mm_reporter_msg m;
	json_t *j;
	int i;

	(void)state;
	rig_open(&g, NULL);
	for (i = 0; i <= 4; i++) {
		m = stream_msg("sensors/t1", "192.168.2.60", i * 1000);
		m.flow = "192.168.2.60 40000 -> 192.168.2.11 1883/tcp";
		assert_int_equal(mm_reporter_periodic(g.r, &m, 0), 0);
		assert_int_equal(mm_reporter_tick(g.r, &m.time), 0);
	}
	rig_tick(&g, 6, 999999999);
	assert_int_equal(g.s.n, 0);
	rig_tick(&g, 7, 1);
	assert_int_equal(g.s.n, 1);
	rig_tick(&g, 100, 0);
	j = rig_record(&g, 0, 1);
	expect_keys(j, 1);
	expect_members(j, (const char *const[]){"Timestamp", "2023-11-14T22:13:27.0Z",
			"Protocol", "MQTT 3.1.1",
			"Requester/IP Address", "192.168.2.11",
			"Requester/Transmitted Code", "",
			"Responder/IP Address", "192.168.2.60",
			"Responder/Transmitted Code", "",
			"Error Code", "10",
			"Error Message", "No Response", NULL});
	expect_description(j, (const char *const[]){"Flow", "192.168.2.60 40000 -> 192.168.2.11 1883/tcp", "Silence",
				    "no message for 3.0 s; period 1.0 s learnt from 3 intervals",
				    NULL});
	json_decref(j);
	/* it speaks again every 2 s: three messages are two intervals, not
	 * enough to learn (the 196 s gap does not count) */
	for (i = 0; i < 3; i++) {
		m = stream_msg("sensors/t1", "192.168.2.60", 200000 + i * 2000);
		assert_int_equal(mm_reporter_periodic(g.r, &m, 0), 0);
	}
	rig_tick(&g, 300, 0);
	assert_int_equal(g.s.n, 1);
	for (i = 3; i < 5; i++) {
		m = stream_msg("sensors/t1", "192.168.2.60", 300000 + (i - 3) * 2000);
		assert_int_equal(mm_reporter_periodic(g.r, &m, 0), 0);
	}
	/* 300 s and 302 s after 204 s: intervals 2, 96, 2 -> the longest is
	 * 96 s, so the limit is 288 s after 302 s */
	rig_tick(&g, 589, 999000000);
	assert_int_equal(g.s.n, 1);
	rig_tick(&g, 590, 0);
	j = rig_record(&g, 1, 2);
	expect_member(j, "Timestamp", "2023-11-14T22:23:10.0Z");
	expect_description(j, (const char *const[]){"Silence",
				    "no message for 288.0 s; period 96.0 s learnt from 3 intervals",
				    NULL});
	json_decref(j);
	rig_stats(&g);
	assert_int_equal(g.st.silence_records, 2);
	assert_int_equal(g.st.periodic, 1);
	rig_stop(&g);
}

/* A period given is used from the first message; periodic_min_ms is the
 * least silence reported. */
static void test_silence_given(void **state)
{
	static const struct {
		unsigned period_ms, min_ms;
		long long at_ms;
		const char *text;
	} t[] = {
		{500, 1000, 1500, "no message for 1.5 s; period 0.5 s given"},
		{100, 1000, 1000, "no message for 1.0 s; period 0.1 s given"},
		{250, 0, 750, "no message for 0.75 s; period 0.25 s given"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct rig g;
		struct mm_reporter_msg m;
		struct timespec before;
		json_t *j;

		rig_init(&g);
		g.o.periodic_min_ms = t[i].min_ms ? t[i].min_ms : 1; /* 0 means the default */
		rig_start(&g, NULL);
		m = stream_msg("inf/0x0011", "192.168.2.61", 0);
		assert_int_equal(mm_reporter_periodic(g.r, &m, t[i].period_ms), 0);
		before = at_ms(t[i].at_ms - 1);
		assert_int_equal(mm_reporter_tick(g.r, &before), 0);
		assert_int_equal(g.s.n, 0);
		before = at_ms(t[i].at_ms);
		assert_int_equal(mm_reporter_tick(g.r, &before), 0);
		if (g.s.n != 1)
			fail_msg("case %zu: %d records", i, g.s.n);
		j = parse(g.s.json[0]);
		expect_description(j, (const char *const[]){"Silence", t[i].text, NULL});
		json_decref(j);
		rig_stop(&g);
	}
}

/* Past max_periodic the stream heard from least recently is dropped. */
static void test_periodic_evict(void **state)
{
	static const char *const order[] = {"192.168.2.1", "192.168.2.2", "192.168.2.1",
					    "192.168.2.3"};
	struct rig g;
	struct mm_reporter_msg m;
	json_t *j;
	int i;

	(void)state;
	rig_init(&g);
	g.o.max_periodic = 2;
	rig_start(&g, NULL);
	for (i = 0; i < 4; i++) {
		m = stream_msg("t", order[i], i * 10);
		assert_int_equal(mm_reporter_periodic(g.r, &m, 1000), 0);
	}
	rig_stats(&g);
	assert_int_equal(g.st.periodic, 2);
	assert_int_equal(g.st.periodic_evicted, 1);
	rig_tick(&g, 60, 0);
	assert_int_equal(g.s.n, 2);
	/* .2 was dropped; .1 (deadline 3.02 s) comes before .3 (3.03 s) */
	j = parse(g.s.json[0]);
	expect_members(j, (const char *const[]){"Responder/IP Address", "192.168.2.1",
			"Timestamp", "2023-11-14T22:13:23.02Z", NULL});
	json_decref(j);
	j = parse(g.s.json[1]);
	expect_member(j, "Responder/IP Address", "192.168.2.3");
	json_decref(j);
	rig_stop(&g);
}

/* ---- the spool ---- */

struct spool_dir {
	char path[64];
	struct mm_spool *sp;
};

static void spool_open(struct spool_dir *d, const struct mm_spool_opts *so)
{
	snprintf(d->path, sizeof d->path, "/tmp/test_reporter.XXXXXX");
	assert_non_null(mkdtemp(d->path));
	assert_int_equal(mm_spool_open(d->path, so, &d->sp, NULL), 0);
}

static void spool_remove(struct spool_dir *d)
{
	char cmd[128];

	mm_spool_close(d->sp);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
	assert_int_equal(system(cmd), 0);
}

static void expect_slice(const struct mm_str *s, const char *want)
{
	if (!s->p || s->len != strlen(want) || memcmp(s->p, want, s->len) != 0)
		fail_msg("expected \"%s\", got \"%.*s\"", want, s->p ? (int)s->len : 6,
			 s->p ? s->p : "absent");
}

/* Records and events go to the spool as RFC 5424 messages: PRI by the
 * code's category, APP-NAME, HOSTNAME, PROCID, MSGID, and MSG the JSON
 * on_record saw. */
static void test_spooled(void **state)
{
	static const struct {
		int event;
		uint8_t code;
		int pri;
		const char *msgid;
	} t[] = {
		{0, 0x20, 16 * 8 + 4, "X1367"},
		{0, 0x2F, 16 * 8 + 4, "X1367"},
		{0, 0x30, 16 * 8 + 5, "X1367"},
		{0, 0x1F, 16 * 8 + 5, "X1367"},
		{1, 0, 16 * 8 + 6, "gw.flow.stats"},
	};
	struct spool_dir d;
	struct rig g;
	char pid[24];
	size_t i;

	(void)state;
	spool_open(&d, NULL);
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	rig_init(&g);
	g.o.spool = d.sp;
	g.o.app_name = NULL; /* the default */
	rig_start(&g, NULL);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		static const char ev[] = "{\"event\":\"gw.flow.stats\",\"device\":\"192.168.2.50\"}";
		struct mm_spool_rec sr;
		struct mm_syslog_msg sm;
		uint16_t k = (uint16_t)i;

		if (t[i].event) {
			assert_int_equal(mm_reporter_event(g.r, ev, sizeof ev - 1), 0);
		} else {
			struct mm_reporter_msg m = modbus_msg(&k, "\x01", 1, 1500);
			struct mm_reporter_status es = {MM_REPORTER_ERR_STD, .std = t[i].code};
			assert_int_equal(mm_reporter_report(g.r, &m, "\x02", 1, &es), 0);
		}
		assert_int_equal(g.s.n, (int)i + 1);
		assert_int_equal(mm_spool_read(d.sp, &sr), 0);
		assert_int_equal(mm_syslog_parse(sr.data, sr.len, MM_SYSLOG_ONLY_5424, &sm), 0);
		assert_int_equal(sm.pri, t[i].pri);
		assert_int_equal(sm.version, 1);
		expect_slice(&sm.app_name, "mamori-gw");
		expect_slice(&sm.hostname, "gw1");
		expect_slice(&sm.procid, pid);
		expect_slice(&sm.msgid, t[i].msgid);
		expect_slice(&sm.msg, g.s.json[i]);
		assert_true(sm.time.present);
		if (!t[i].event) {
			assert_int_equal(sm.time.year, 2023);
			assert_int_equal(sm.time.hour, 22);
			assert_int_equal(sm.time.second, 21);
			assert_int_equal(sm.time.nsec, 500000000);
		}
	}
	assert_int_equal(g.s.events, 1);
	rig_stats(&g);
	assert_int_equal(g.st.spooled, 5);
	assert_int_equal(g.st.events, 1);
	assert_int_equal(g.st.refused, 0);
	rig_stop(&g);
	spool_remove(&d);
}

/* A full spool refuses: the call returns its error and it is counted. */
static void test_spool_full(void **state)
{
	struct spool_dir d;
	struct mm_spool_opts so;
	struct rig g;
	int i, rc = 0;

	(void)state;
	mm_spool_opts_default(&so);
	so.max_record = 1024;
	so.max_bytes = 4096;
	so.segment_bytes = 2048;
	so.sync = MM_SPOOL_SYNC_NEVER;
	spool_open(&d, &so);
	rig_init(&g);
	g.o.spool = d.sp;
	rig_start(&g, NULL);
	for (i = 0; i < 100 && rc == 0; i++) {
		uint16_t k = (uint16_t)i;
		struct mm_reporter_msg m = modbus_msg(&k, "\x01", 1, i);
		rc = mm_reporter_report(g.r, &m, "\x02", 1,
					&(struct mm_reporter_status){MM_REPORTER_ERR_STD, .std = 0x30});
	}
	assert_int_equal(rc, MM_EFULL);
	rig_stats(&g);
	assert_int_equal(g.st.refused, 1);
	assert_int_equal(g.st.spooled, (uint64_t)i - 1);
	assert_int_equal(g.st.error_records, (uint64_t)i);
	rig_stop(&g);
	spool_remove(&d);
}

/* mm_reporter_event() takes one JSON object with a string "event" that can
 * be a MSGID, and nothing else. */
static void test_event(void **state)
{
	static const struct {
		const char *text;
		int rc;
	} t[] = {
		{"{\"event\":\"gw.flow.stats\",\"n\":1}", 0},
		{"{\"n\":1,\"event\":\"a\"}", 0},
		{"{\"event\":\"x2345678901234567890123456789012\"}", 0},         /* 32 */
		{"{\"event\":\"x23456789012345678901234567890123\"}", MM_EINVAL}, /* 33 */
		{"{\"event\":\"has space\"}", MM_EINVAL},
		{"{\"event\":\"\"}", MM_EINVAL},
		{"{\"event\":\"caf\xc3\xa9\"}", MM_EINVAL},
		{"{\"event\":7}", MM_EINVAL},
		{"{\"n\":{\"event\":\"inner\"}}", MM_EINVAL},
		{"[{\"event\":\"a\"}]", MM_EINVAL},
		{"{\"event\":\"a\",}", MM_EINVAL},
		{"not json", MM_EINVAL},
		{"", MM_EINVAL},
	};
	struct rig g;
	size_t i;
	int accepted = 0;

	(void)state;
	rig_open(&g, NULL);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		int rc = mm_reporter_event(g.r, t[i].text, strlen(t[i].text));
		if (rc != t[i].rc)
			fail_msg("case %zu (%s): %d", i, t[i].text, rc);
		accepted += rc == 0;
		assert_int_equal(g.s.n, accepted);
		if (rc == 0)
			assert_string_equal(g.s.json[g.s.n - 1], t[i].text);
	}
	rig_stats(&g);
	assert_int_equal(g.st.events, (uint64_t)accepted);
	assert_int_equal(g.s.events, accepted);
	rig_stop(&g);
}

/* ---- bad input ---- */

static void test_bad_input(void **state)
{
	static const uint8_t long_key[MM_REPORTER_KEY_MAX + 1] = {0};
	char long_id[300];
	struct rig g;
	uint16_t k = 1;
	int i;

	(void)state;
	memset(long_id, 'a', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	rig_open(&g, NULL);
	for (i = 0; i < 12; i++) {
		struct mm_reporter_msg m = modbus_msg(&k, "\x01", 1, 0);
		struct mm_reporter_status es = {MM_REPORTER_ERR_STD, .std = 0x30};

		switch (i) {
		case 0: m.protocol = NULL; break;
		case 1: m.protocol = ""; break;
		case 2: m.requester.id = "300.1.1.1"; break;
		case 3: m.responder = (struct mm_reporter_party){MM_X1367_ID_MAC, "00:11:22:33:44"}; break;
		case 4: m.responder.id = NULL; break;
		case 5: m.requester.kind = (enum mm_x1367_idkind)7; break;
		case 6: m.key = long_key; m.key_len = sizeof long_key; break;
		case 7: m.raw = NULL; break;
		case 8: m.time.tv_nsec = 1000000000; break;
		case 9: m.responder = (struct mm_reporter_party){MM_X1367_ID_UNIQUE_NAME, long_id}; break;
		case 10: m.protocol = "\xff\xfe"; break;
		case 11: m.responder = (struct mm_reporter_party){MM_X1367_ID_UNIQUE_ID, ""}; break;
		}
		if (mm_reporter_request(g.r, &m, 0) != MM_EINVAL)
			fail_msg("case %d: request taken", i);
		if (mm_reporter_response(g.r, &m, &es) != MM_EINVAL)
			fail_msg("case %d: response taken", i);
		if (mm_reporter_report(g.r, &m, NULL, 0, &es) != MM_EINVAL)
			fail_msg("case %d: report taken", i);
		if (mm_reporter_periodic(g.r, &m, 0) != MM_EINVAL)
			fail_msg("case %d: periodic taken", i);
	}
	{
		/* a good message with a bad status */
		struct mm_reporter_msg m = modbus_msg(&k, "\x01", 1, 0);
		struct mm_reporter_status bad_name = {MM_REPORTER_ERR_NAME, .name = NULL};
		struct mm_reporter_status bad_outcome = {(enum mm_reporter_outcome)9, .num = 0};
		assert_int_equal(mm_reporter_response(g.r, &m, &bad_name), MM_EINVAL);
		assert_int_equal(mm_reporter_response(g.r, &m, &bad_outcome), MM_EINVAL);
		assert_int_equal(mm_reporter_response(g.r, &m, NULL), MM_EINVAL);
	}
	rig_stats(&g);
	assert_int_equal(g.st.requests + g.st.responses + g.st.periodic + g.st.pending, 0);
	assert_int_equal(g.s.n, 0);
	/* a MAC address in either form is an identifier X.1367 takes */
	{
		struct mm_reporter_msg m = modbus_msg(&k, "\x01", 1, 0);
		m.responder = (struct mm_reporter_party){MM_X1367_ID_MAC, "00-11-22-33-44-55"};
		assert_int_equal(mm_reporter_request(g.r, &m, 0), 0);
	}
	rig_stop(&g);

	/* options */
	{
		static const struct {
			enum mm_x1367_idkind kind;
			const char *id, *hostname, *app_name;
			unsigned max_raw, samples;
			int rc;
		} t[] = {
			{MM_X1367_ID_IP, "192.168.2.11", "gw1", "mamori-gw", 0, 0, 0},
			{MM_X1367_ID_IP, "192.168.2.256", "gw1", "mamori-gw", 0, 0, MM_EINVAL},
			{MM_X1367_ID_IP, NULL, "gw1", "mamori-gw", 0, 0, MM_EINVAL},
			{MM_X1367_ID_UNIQUE_ID, "", "gw1", "mamori-gw", 0, 0, MM_EINVAL},
			{MM_X1367_ID_COUNT, "x", "gw1", "mamori-gw", 0, 0, MM_EINVAL},
			{MM_X1367_ID_IP, "::1", "gw 1", "mamori-gw", 0, 0, MM_EINVAL},
			{MM_X1367_ID_IP, "::1", "gw1", "mamori gw", 0, 0, MM_EINVAL},
			{MM_X1367_ID_IP, "::1", "gw1", "mamori-gw", 1u << 30, 0, MM_EINVAL},
			{MM_X1367_ID_IP, "::1", "gw1", "mamori-gw", 0, 65, MM_EINVAL},
		};
		size_t j;

		for (j = 0; j < sizeof t / sizeof t[0]; j++) {
			struct mm_reporter *r2 = NULL;
			rig_init(&g);
			g.o.reporter.kind = t[j].kind;
			g.o.reporter.id = t[j].id;
			g.o.hostname = t[j].hostname;
			g.o.app_name = t[j].app_name;
			g.o.max_raw = t[j].max_raw;
			g.o.periodic_samples = t[j].samples;
			if (mm_reporter_new(&g.o, &r2) != t[j].rc)
				fail_msg("options case %zu", j);
			mm_reporter_free(r2);
		}
	}
}

/* A message with no time takes the wall clock's. */
static void test_wall_clock(void **state)
{
	struct rig g;
	struct mm_reporter_msg m;
	struct timespec before, after;
	struct mm_x1367_record *rec;
	uint16_t k = 1;

	(void)state;
	rig_open(&g, NULL);
	m = modbus_msg(&k, "\x01", 1, 0);
	m.time = (struct timespec){0, 0};
	clock_gettime(CLOCK_REALTIME, &before);
	assert_int_equal(mm_reporter_report(
				 g.r, &m, NULL, 0, &(struct mm_reporter_status){MM_REPORTER_ERR_STD, .std = 0x11}),
			 0);
	clock_gettime(CLOCK_REALTIME, &after);
	assert_int_equal(g.s.n, 1);
	assert_int_equal(mm_x1367_decode(g.s.json[0], strlen(g.s.json[0]), MM_X1367_STRICT, &rec, NULL), 0);
	assert_true(rec->time.tv_sec > before.tv_sec ||
		    (rec->time.tv_sec == before.tv_sec && rec->time.tv_nsec >= before.tv_nsec));
	assert_true(rec->time.tv_sec < after.tv_sec ||
		    (rec->time.tv_sec == after.tv_sec && rec->time.tv_nsec <= after.tv_nsec));
	mm_x1367_free(rec);
	rig_stop(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_error),
		cmocka_unit_test(test_no_record),
		cmocka_unit_test(test_unmapped),
		cmocka_unit_test(test_unpaired),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_answer_optional),
		cmocka_unit_test(test_replace_evict),
		cmocka_unit_test(test_replace_bytes),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_silence),
		cmocka_unit_test(test_silence_given),
		cmocka_unit_test(test_periodic_evict),
		cmocka_unit_test(test_spooled),
		cmocka_unit_test(test_spool_full),
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_wall_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
