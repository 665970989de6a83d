/*
 * Unit tests of what mamori-soc concludes from its events: correlation into
 * incidents (soc/correlate.c), expected-silence No Response findings
 * (soc/silence.c) and the fleet audit (soc/fleet.c).
 *
 * Every test stores synthetic events in a real SQLite store in a fresh
 * temporary directory, the way the writer thread does (store_add_event,
 * then the module, inside a transaction), and checks the rows the store then
 * holds (incidents, their linked events, findings) and what the modules
 * reported through their notify callback.
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
#include "mamori/x1367.h"

#include "correlate.h"
#include "fleet.h"
#include "silence.h"
#include "store.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Fails the test with the case's name and what differed. */
#define EXPECT(cond, ...)                                                                   \
	do {                                                                                \
		if (!(cond)) {                                                              \
			print_error(__VA_ARGS__);                                           \
			print_error("\n");                                                  \
			fail();                                                             \
		}                                                                           \
	} while (0)

/* A fixed "now": 2026-01-01T00:00:00Z. */
#define T0 1767225600000LL
#define WINDOW 300000
#define ATTACKER "192.0.2.66"
#define DAY_S 86400LL

/* ---- fixture: a store in a temporary directory, a notify recorder ---- */

struct note {
	char type[64], device[128], group_key[320];
	json_t *detail;
};

#define MAX_EVENTS 128
#define MAX_NOTES 64

struct fix {
	char dir[64], path[96];
	struct store *st;
	struct soc_event *ev[MAX_EVENTS];
	int nev;
	struct note notes[MAX_NOTES];
	int nnotes;
};

static void on_notify(void *arg, const char *type, const char *device, const char *group_key,
		      void *detail)
{
	struct fix *fx = arg;
	struct note *n;

	assert_true(fx->nnotes < MAX_NOTES);
	n = &fx->notes[fx->nnotes++];
	snprintf(n->type, sizeof n->type, "%s", type);
	snprintf(n->device, sizeof n->device, "%s", device ? device : "");
	snprintf(n->group_key, sizeof n->group_key, "%s", group_key ? group_key : "");
	n->detail = json_incref(detail);
}

static int setup(void **state)
{
	struct fix *fx = calloc(1, sizeof *fx);
	char url[128], err[256];

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof fx->dir, "/tmp/test_soc_logic.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->path, sizeof fx->path, "%s/soc.db", fx->dir);
	snprintf(url, sizeof url, "sqlite:%s", fx->path);
	if (store_open(url, &fx->st, err, sizeof err) < 0) {
		print_error("store_open: %s\n", err);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fix *fx = *state;
	char p[160];

	store_close(fx->st);
	for (int i = 0; i < fx->nev; i++)
		free(fx->ev[i]);
	for (int i = 0; i < fx->nnotes; i++)
		json_decref(fx->notes[i].detail);
	const char *suffix[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < NELEM(suffix); i++) {
		snprintf(p, sizeof p, "%s%s", fx->path, suffix[i]);
		unlink(p);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* ---- synthetic events ---- */

/* What one synthetic event is. kind SOC_KIND_X1367 with code, protocol,
 * reporter and requester; anything else is plain syslog from peer. */
struct evspec {
	int64_t t; /* offset from T0 in ms: both its time and its receive time */
	enum soc_kind kind;
	const char *protocol;
	int code;
	const char *reporter, *requester;
	const char *peer;   /* peer address (NULL: the reporter) */
	const char *device; /* NULL: "gw-" + reporter, or the peer */
	int64_t skew;       /* the record's time minus its receive time */
};

/* An event with its strings in one allocation, like ingest makes them. */
struct tev {
	struct soc_event ev;
	char device[128], peer[80], msg[768];
};

static struct soc_event *make_event(struct fix *fx, const struct evspec *s)
{
	struct tev *t = calloc(1, sizeof *t);
	struct soc_event *ev = &t->ev;
	const char *peer = s->peer ? s->peer : s->reporter;

	assert_non_null(t);
	assert_true(fx->nev < MAX_EVENTS);
	fx->ev[fx->nev++] = ev;
	ev->recv_ms = T0 + s->t;
	ev->time_ms = ev->recv_ms + s->skew;
	ev->transport = SOC_TCP;
	snprintf(t->peer, sizeof t->peer, "%s:5140", peer);
	ev->peer = t->peer;
	ev->peer_addr = peer;
	if (s->device != NULL)
		snprintf(t->device, sizeof t->device, "%s", s->device);
	else if (s->kind == SOC_KIND_X1367)
		snprintf(t->device, sizeof t->device, "gw-%s", s->reporter);
	else
		snprintf(t->device, sizeof t->device, "%s", peer);
	ev->device = ev->hostname = t->device;
	ev->format = 5424;
	ev->facility = 4;
	ev->severity = 4;
	ev->kind = s->kind;
	ev->code = -1;
	ev->category = -1;
	if (s->kind == SOC_KIND_X1367) {
		const struct mm_x1367_code *ci = mm_x1367_code_info((uint8_t)s->code);

		ev->app_name = "mamori-gw";
		ev->msgid = "X1367";
		ev->type = "x1367";
		ev->code = s->code;
		ev->category = (int)mm_x1367_range_of((uint8_t)s->code)->category;
		ev->protocol = s->protocol;
		ev->reporter = s->reporter;
		ev->requester = s->requester;
		ev->responder = "0001";
		snprintf(t->msg, sizeof t->msg,
			 "{\"Timestamp\":\"2026-01-01T00:00:00.0Z\",\"Reporter\":{\"IP Address\":"
			 "\"%s\"},\"Protocol\":\"%s\",\"Requester\":{\"IP Address\":\"%s\","
			 "\"Transmitted Code\":\"00\"},\"Responder\":{\"Unique ID\":\"0001\","
			 "\"Transmitted Code\":\"FF\"},\"Error Code\":\"%02X\",\"Error Message\":"
			 "\"%s\"}",
			 s->reporter, s->protocol ? s->protocol : "", s->requester ? s->requester : "",
			 (unsigned)s->code, ci ? ci->message : "Unassigned");
	} else {
		ev->app_name = "sshd";
		ev->msgid = "-";
		ev->type = "syslog";
		snprintf(t->msg, sizeof t->msg, "connection from %s", peer);
	}
	ev->msg = t->msg;
	ev->msg_len = strlen(t->msg);
	return ev;
}

/* ---- reading the store back ---- */

static json_t *query(struct fix *fx, int (*q)(struct store *, const struct store_filter *,
					      json_t **))
{
	struct store_filter f;
	json_t *rows = NULL;

	store_filter_init(&f);
	f.limit = 10000;
	assert_int_equal(q(fx->st, &f, &rows), 0);
	assert_true(json_is_array(rows));
	return rows;
}

static const char *jstr(json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s ? s : "";
}

static int64_t jint(json_t *o, const char *name)
{
	return (int64_t)json_integer_value(json_object_get(o, name));
}

/* A finding's detail as an object, whether the store gives text or JSON. */
static json_t *finding_detail(json_t *f)
{
	json_t *d = json_object_get(f, "detail");

	if (json_is_string(d))
		return json_loads(json_string_value(d), 0, NULL);
	return json_incref(d);
}

/* Whether a finding row is open ("state": "open", or "open": 1/true). */
static int finding_open(json_t *f)
{
	json_t *o = json_object_get(f, "open");

	if (o != NULL)
		return json_is_true(o) || json_integer_value(o) == 1;
	return strcmp(jstr(f, "state"), "open") == 0;
}

/* The findings of one kind (a new reference to an array). */
static json_t *findings_of(struct fix *fx, const char *kind)
{
	json_t *all = query(fx, store_query_findings), *out = json_array(), *f;
	size_t i;

	json_array_foreach(all, i, f)
		if (strcmp(jstr(f, "kind"), kind) == 0)
			json_array_append(out, f);
	json_decref(all);
	return out;
}

/* Whether the incident's linked events include event id. */
static int incident_links(struct fix *fx, int64_t inc, int64_t ev)
{
	json_t *o = NULL, *evs, *e;
	size_t i;
	int found = 0;

	assert_int_equal(store_get_incident(fx->st, inc, &o), 0);
	evs = json_object_get(o, "events");
	assert_true(json_is_array(evs));
	json_array_foreach(evs, i, e)
		if (jint(e, "id") == ev)
			found = 1;
	json_decref(o);
	return found;
}

static size_t incident_nlinks(struct fix *fx, int64_t inc)
{
	json_t *o = NULL;
	size_t n;

	assert_int_equal(store_get_incident(fx->st, inc, &o), 0);
	n = json_array_size(json_object_get(o, "events"));
	json_decref(o);
	return n;
}

static int count_notes(struct fix *fx, const char *type)
{
	int n = 0;

	for (int i = 0; i < fx->nnotes; i++)
		n += strcmp(fx->notes[i].type, type) == 0;
	return n;
}

/* Stores the events and feeds them to the correlator, one transaction. */
static void feed_corr(struct fix *fx, struct correlate *c, const struct evspec *s, int n,
		      struct soc_event **out)
{
	assert_int_equal(store_begin(fx->st), 0);
	for (int i = 0; i < n; i++) {
		struct soc_event *ev = make_event(fx, &s[i]);

		assert_int_equal(store_add_event(fx->st, ev), 0);
		assert_true(ev->id > 0);
		assert_int_equal(correlate_event(c, ev), 0);
		if (out != NULL)
			out[i] = ev;
	}
	assert_int_equal(store_commit(fx->st), 0);
	correlate_commit(c);
}

static void tick_corr(struct fix *fx, struct correlate *c, int64_t t)
{
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(correlate_tick(c, T0 + t), 0);
	assert_int_equal(store_commit(fx->st), 0);
}

/* ---- correlation, table-driven ---- */

#define X(t, proto, code, rep, req) {t, SOC_KIND_X1367, proto, code, rep, req, NULL, NULL, 0}
#define XSKEW(t, skew, proto, code, rep, req)                                              \
	{t, SOC_KIND_X1367, proto, code, rep, req, NULL, NULL, skew}
#define SYSLOG(t, peer) {t, SOC_KIND_SYSLOG, NULL, -1, NULL, NULL, peer, NULL, 0}
#define REP1 "192.168.1.10"
#define REP2 "192.168.1.20"

struct corr_case {
	const char *name;
	int by_reporter;
	struct evspec ev[16];
	int nev;
	int nincidents;       /* incidents expected in the store */
	const char *key_kind; /* of the (first) incident */
	const char *key;
	const char *protocols;
	const char *reason;   /* a part of its reason */
	int linked[8];        /* indices of events linked to it, -1 ends */
	int unlinked[8];      /* indices of events not linked to it, -1 ends */
};

static const struct corr_case corr_cases[] = {
	{"one attacker, MQTT and Modbus/TCP errors through two reporters: one incident",
	 1,
	 {SYSLOG(-400000, ATTACKER), SYSLOG(-1000, ATTACKER), X(0, "MQTT", 0x20, REP1, ATTACKER),
	  X(1000, "Modbus/TCP", 0x30, REP2, ATTACKER),
	  X(500, "MQTT", 0x20, REP1, "198.51.100.7")},
	 5, 1, "requester", ATTACKER, "Modbus/TCP,MQTT", "2 protocols: Modbus/TCP, MQTT",
	 {1, 2, 3, -1}, {0, 4, -1}},
	{"six Security errors in one protocol: one incident (the reporter's would repeat it)",
	 1,
	 {X(0, "MQTT", 0x20, REP1, ATTACKER), X(10, "MQTT", 0x21, REP1, ATTACKER),
	  X(20, "MQTT", 0x22, REP1, ATTACKER), X(30, "MQTT", 0x23, REP1, ATTACKER),
	  X(40, "MQTT", 0x2F, REP1, ATTACKER), X(50, "MQTT", 0x20, REP1, ATTACKER)},
	 6, 1, "requester", ATTACKER, "MQTT", "6 Security errors in 300 s",
	 {0, 1, 2, 3, 4, 5, -1}, {-1}},
	{"exactly five Security errors: no incident",
	 1,
	 {X(0, "MQTT", 0x20, REP1, ATTACKER), X(10, "MQTT", 0x21, REP1, ATTACKER),
	  X(20, "MQTT", 0x22, REP1, ATTACKER), X(30, "MQTT", 0x23, REP1, ATTACKER),
	  X(40, "MQTT", 0x2F, REP1, ATTACKER)},
	 5, 0, NULL, NULL, NULL, NULL, {-1}, {-1}},
	{"three Security and three Command errors together: one incident",
	 0,
	 {X(0, "CoAP", 0x20, REP1, ATTACKER), X(10, "CoAP", 0x30, REP1, ATTACKER),
	  X(20, "CoAP", 0x21, REP1, ATTACKER), X(30, "CoAP", 0x31, REP1, ATTACKER),
	  X(40, "CoAP", 0x20, REP1, ATTACKER), X(50, "CoAP", 0x3F, REP1, ATTACKER)},
	 6, 1, "requester", ATTACKER, "CoAP", "3 Security and 3 Command errors", {0, 5, -1},
	 {-1}},
	{"eight Communication errors in one protocol: no incident",
	 1,
	 {X(0, "MQTT", 0x10, REP1, ATTACKER), X(1, "MQTT", 0x11, REP1, ATTACKER),
	  X(2, "MQTT", 0x12, REP1, ATTACKER), X(3, "MQTT", 0x10, REP1, ATTACKER),
	  X(4, "MQTT", 0x10, REP1, ATTACKER), X(5, "MQTT", 0x10, REP1, ATTACKER),
	  X(6, "MQTT", 0x10, REP1, ATTACKER), X(7, "MQTT", 0x10, REP1, ATTACKER)},
	 8, 0, NULL, NULL, NULL, NULL, {-1}, {-1}},
	{"No Error records in two protocols: no incident",
	 1,
	 {X(0, "MQTT", 0x00, REP1, ATTACKER), X(10, "Modbus/TCP", 0x00, REP2, ATTACKER)},
	 2, 0, NULL, NULL, NULL, NULL, {-1}, {-1}},
	{"two protocols further apart than the window: no incident",
	 1,
	 {X(0, "MQTT", 0x20, REP1, ATTACKER), X(WINDOW + 1, "Modbus/TCP", 0x30, REP2, ATTACKER)},
	 2, 0, NULL, NULL, NULL, NULL, {-1}, {-1}},
	{"six Security errors spread over three windows: no incident",
	 1,
	 {X(0, "MQTT", 0x20, REP1, ATTACKER), X(150001, "MQTT", 0x20, REP1, ATTACKER),
	  X(300002, "MQTT", 0x20, REP1, ATTACKER), X(450003, "MQTT", 0x20, REP1, ATTACKER),
	  X(600004, "MQTT", 0x20, REP1, ATTACKER), X(750005, "MQTT", 0x20, REP1, ATTACKER)},
	 6, 0, NULL, NULL, NULL, NULL, {-1}, {-1}},
	{"one protocol spelt two ways is one protocol: no incident",
	 1,
	 {X(0, "MQTT", 0x20, REP1, ATTACKER), X(10, "mqtt", 0x30, REP2, ATTACKER)},
	 2, 0, NULL, NULL, NULL, NULL, {-1}, {-1}},
	{"one gateway reports errors of six requesters: the reporter's incident",
	 1,
	 {X(0, "MQTT", 0x20, REP1, "10.1.0.1"), X(1, "MQTT", 0x20, REP1, "10.1.0.2"),
	  X(2, "MQTT", 0x20, REP1, "10.1.0.3"), X(3, "MQTT", 0x20, REP1, "10.1.0.4"),
	  X(4, "MQTT", 0x20, REP1, "10.1.0.5"), X(5, "MQTT", 0x20, REP1, "10.1.0.6")},
	 6, 1, "reporter", REP1, "MQTT", "6 Security errors", {0, 5, -1}, {-1}},
	{"the same without grouping by reporter: no incident",
	 0,
	 {X(0, "MQTT", 0x20, REP1, "10.1.0.1"), X(1, "MQTT", 0x20, REP1, "10.1.0.2"),
	  X(2, "MQTT", 0x20, REP1, "10.1.0.3"), X(3, "MQTT", 0x20, REP1, "10.1.0.4"),
	  X(4, "MQTT", 0x20, REP1, "10.1.0.5"), X(5, "MQTT", 0x20, REP1, "10.1.0.6")},
	 6, 0, NULL, NULL, NULL, NULL, {-1}, {-1}},
	{"a record dated a year ahead does not hide the errors after it",
	 1,
	 {XSKEW(0, 365 * DAY_S * 1000, "MQTT", 0x20, REP1, ATTACKER),
	  X(1000, "MQTT", 0x30, REP1, ATTACKER), X(2000, "Modbus/TCP", 0x31, REP2, ATTACKER)},
	 3, 1, "requester", ATTACKER, "Modbus/TCP,MQTT", "2 protocols", {0, 1, 2, -1}, {-1}},
	{"records out of order still open the incident",
	 1,
	 {X(5000, "MQTT", 0x20, REP1, ATTACKER), X(1000, "ECHONET Lite", 0x30, REP2, ATTACKER)},
	 2, 1, "requester", ATTACKER, "ECHONET Lite,MQTT", "2 protocols", {0, 1, -1}, {-1}},
};

static void run_corr_case(const struct corr_case *k)
{
	struct fix *fx;
	struct correlate_opts o;
	struct correlate *c;
	struct soc_event *evs[16];
	json_t *incs, *inc;
	void *state;

	assert_int_equal(setup(&state), 0);
	fx = state;
	correlate_opts_default(&o);
	o.by_reporter = k->by_reporter;
	assert_int_equal(correlate_new(&o, fx->st, on_notify, fx, &c), 0);
	feed_corr(fx, c, k->ev, k->nev, evs);
	tick_corr(fx, c, 2000); /* writes the counts; closes nothing yet */

	incs = query(fx, store_query_incidents);
	EXPECT(json_array_size(incs) == (size_t)k->nincidents, "%s: %zu incidents, want %d",
	       k->name, json_array_size(incs), k->nincidents);
	EXPECT(count_notes(fx, "soc.incident.opened") == k->nincidents,
	       "%s: %d notifications, want %d", k->name, count_notes(fx, "soc.incident.opened"),
	       k->nincidents);
	if (k->nincidents > 0) {
		char gk[128];

		inc = json_array_get(incs, 0);
		EXPECT(strcmp(jstr(inc, "key_kind"), k->key_kind) == 0, "%s: key_kind %s", k->name,
		       jstr(inc, "key_kind"));
		EXPECT(strcmp(jstr(inc, "key"), k->key) == 0, "%s: key %s", k->name,
		       jstr(inc, "key"));
		EXPECT(strcmp(jstr(inc, "protocols"), k->protocols) == 0, "%s: protocols %s",
		       k->name, jstr(inc, "protocols"));
		EXPECT(strstr(jstr(inc, "reason"), k->reason) != NULL, "%s: reason %s", k->name,
		       jstr(inc, "reason"));
		EXPECT(strcmp(jstr(inc, "state"), "open") == 0, "%s: state %s", k->name,
		       jstr(inc, "state"));
		for (int i = 0; i < 8 && k->linked[i] >= 0; i++)
			EXPECT(incident_links(fx, jint(inc, "id"), evs[k->linked[i]]->id),
			       "%s: event %d not linked", k->name, k->linked[i]);
		for (int i = 0; i < 8 && k->unlinked[i] >= 0; i++)
			EXPECT(!incident_links(fx, jint(inc, "id"), evs[k->unlinked[i]]->id),
			       "%s: event %d linked", k->name, k->unlinked[i]);
		/* What the alert rules receive. */
		snprintf(gk, sizeof gk, "%s=%s", k->key_kind, k->key);
		EXPECT(strcmp(fx->notes[0].group_key, gk) == 0, "%s: group key %s", k->name,
		       fx->notes[0].group_key);
		EXPECT(jint(fx->notes[0].detail, "id") == jint(inc, "id"), "%s: notified id",
		       k->name);
		EXPECT(strcmp(jstr(fx->notes[0].detail, "protocols"), k->protocols) == 0,
		       "%s: notified protocols %s", k->name,
		       jstr(fx->notes[0].detail, "protocols"));
	}
	json_decref(incs);
	correlate_free(c);
	teardown(&state);
}

static void test_correlate_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(corr_cases); i++)
		run_corr_case(&corr_cases[i]);
}

static const struct evspec burst6[] = {
	X(0, "MQTT", 0x20, REP1, ATTACKER),  X(100, "MQTT", 0x20, REP1, ATTACKER),
	X(200, "MQTT", 0x20, REP1, ATTACKER), X(300, "MQTT", 0x20, REP1, ATTACKER),
	X(400, "MQTT", 0x20, REP1, ATTACKER), X(500, "MQTT", 0x20, REP1, ATTACKER),
};

/* Shifts a burst by dt ms. */
static void shifted(const struct evspec *in, int n, int64_t dt, struct evspec *out)
{
	for (int i = 0; i < n; i++) {
		out[i] = in[i];
		out[i].t += dt;
	}
}

/* The incident closes when a window passes without errors (at the tick);
 * a later burst opens a second one. */
static void test_correlate_close_reopen(void **state)
{
	struct fix *fx = *state;
	struct correlate_opts o;
	struct correlate *c;
	struct evspec later[6];
	json_t *incs;

	correlate_opts_default(&o);
	assert_int_equal(correlate_new(&o, fx->st, on_notify, fx, &c), 0);
	feed_corr(fx, c, burst6, 6, NULL);
	tick_corr(fx, c, 500 + WINDOW); /* exactly one window: still open */
	incs = query(fx, store_query_incidents);
	assert_int_equal(json_array_size(incs), 1);
	assert_string_equal(jstr(json_array_get(incs, 0), "state"), "open");
	json_decref(incs);

	tick_corr(fx, c, 500 + WINDOW + 1);
	incs = query(fx, store_query_incidents);
	assert_int_equal(json_array_size(incs), 1);
	assert_string_equal(jstr(json_array_get(incs, 0), "state"), "closed");
	assert_int_equal(jint(json_array_get(incs, 0), "nerrors"), 6);
	json_decref(incs);
	assert_int_equal(correlate_groups(c), 0);

	shifted(burst6, 6, 2 * WINDOW, later);
	feed_corr(fx, c, later, 6, NULL);
	incs = query(fx, store_query_incidents);
	assert_int_equal(json_array_size(incs), 2);
	/* newest first */
	assert_string_equal(jstr(json_array_get(incs, 0), "state"), "open");
	assert_string_equal(jstr(json_array_get(incs, 1), "state"), "closed");
	assert_int_equal(incident_nlinks(fx, jint(json_array_get(incs, 0), "id")), 6);
	json_decref(incs);
	assert_int_equal(count_notes(fx, "soc.incident.opened"), 2);
	correlate_free(c);
}

/* One transaction in which a group opens an incident, closes it (a record a
 * window later) and opens another: both are reported at the commit, each
 * once, with its own id. */
static void test_correlate_two_opens_in_one_batch(void **state)
{
	struct fix *fx = *state;
	struct correlate_opts o;
	struct correlate *c;
	struct evspec both[12];
	json_t *incs;

	correlate_opts_default(&o);
	assert_int_equal(correlate_new(&o, fx->st, on_notify, fx, &c), 0);
	memcpy(both, burst6, sizeof burst6);
	shifted(burst6, 6, 2 * WINDOW, both + 6);
	feed_corr(fx, c, both, 12, NULL);
	incs = query(fx, store_query_incidents);
	assert_int_equal(json_array_size(incs), 2);
	assert_int_equal(count_notes(fx, "soc.incident.opened"), 2);
	assert_int_equal(jint(fx->notes[0].detail, "id"), jint(json_array_get(incs, 1), "id"));
	assert_int_equal(jint(fx->notes[1].detail, "id"), jint(json_array_get(incs, 0), "id"));
	json_decref(incs);
	correlate_free(c);
}

/* Without a tick in between, a record after a quiet window closes the open
 * incident itself; errors of an open incident are linked and counted. */
static void test_correlate_grow_and_close_by_event(void **state)
{
	struct fix *fx = *state;
	struct correlate_opts o;
	struct correlate *c;
	struct evspec more[3], later[6];
	json_t *incs, *inc;

	correlate_opts_default(&o);
	assert_int_equal(correlate_new(&o, fx->st, on_notify, fx, &c), 0);
	feed_corr(fx, c, burst6, 6, NULL);
	shifted(burst6, 3, 10000, more);
	more[2].protocol = "CoAP";
	more[2].code = 0x31;
	feed_corr(fx, c, more, 3, NULL);
	tick_corr(fx, c, 20000);
	incs = query(fx, store_query_incidents);
	assert_int_equal(json_array_size(incs), 1);
	inc = json_array_get(incs, 0);
	assert_int_equal(jint(inc, "nerrors"), 9);
	assert_int_equal(jint(inc, "nsecurity"), 8);
	assert_int_equal(jint(inc, "ncommand"), 1);
	assert_string_equal(jstr(inc, "protocols"), "CoAP,MQTT");
	assert_int_equal(incident_nlinks(fx, jint(inc, "id")), 9);
	json_decref(incs);

	shifted(burst6, 6, 10200 + WINDOW + 1, later);
	feed_corr(fx, c, later, 6, NULL);
	incs = query(fx, store_query_incidents);
	assert_int_equal(json_array_size(incs), 2);
	assert_string_equal(jstr(json_array_get(incs, 1), "state"), "closed");
	assert_string_equal(jstr(json_array_get(incs, 0), "state"), "open");
	assert_int_equal(incident_nlinks(fx, jint(json_array_get(incs, 0), "id")), 6);
	json_decref(incs);
	correlate_free(c);
}

/* A batch rolled back after it opened an incident: nothing is reported,
 * and the same events stored again open exactly one incident whose id is
 * a real row with all of them linked. */
static void test_correlate_rollback(void **state)
{
	struct fix *fx = *state;
	struct correlate_opts o;
	struct correlate *c;
	json_t *incs;

	correlate_opts_default(&o);
	assert_int_equal(correlate_new(&o, fx->st, on_notify, fx, &c), 0);
	assert_int_equal(store_begin(fx->st), 0);
	for (int i = 0; i < 6; i++) {
		struct soc_event *ev = make_event(fx, &burst6[i]);

		assert_int_equal(store_add_event(fx->st, ev), 0);
		assert_int_equal(correlate_event(c, ev), 0);
	}
	assert_int_equal(count_notes(fx, "soc.incident.opened"), 0);
	assert_int_equal(store_rollback(fx->st), 0);
	correlate_rollback(c);
	tick_corr(fx, c, 600);
	assert_int_equal(count_notes(fx, "soc.incident.opened"), 0);

	feed_corr(fx, c, burst6, 6, NULL);
	assert_int_equal(count_notes(fx, "soc.incident.opened"), 1);
	incs = query(fx, store_query_incidents);
	assert_int_equal(json_array_size(incs), 1);
	assert_int_equal(jint(json_array_get(incs, 0), "id"), jint(fx->notes[0].detail, "id"));
	assert_int_equal(jint(json_array_get(incs, 0), "nerrors"), 6);
	assert_int_equal(incident_nlinks(fx, jint(json_array_get(incs, 0), "id")), 6);
	json_decref(incs);
	correlate_free(c);
}

/* The bounds: groups and remembered errors are capped, the excess counted;
 * an overlong key is cut. */
static void test_correlate_bounds(void **state)
{
	struct fix *fx = *state;
	struct correlate_opts o;
	struct correlate *c;
	struct evspec s[5];
	char longkey[1001];
	json_t *incs;

	correlate_opts_default(&o);
	o.max_groups = 2;
	o.max_errors = 4;
	o.threshold = 3;
	o.by_reporter = 0;
	assert_int_equal(correlate_new(&o, fx->st, on_notify, fx, &c), 0);
	for (int i = 0; i < 5; i++)
		s[i] = (struct evspec)X(i, "MQTT", 0x20, REP1, ATTACKER);
	/* five errors, four remembered: the fifth forgets the first, and the
	 * incident (more than 3) opened at the fourth */
	feed_corr(fx, c, s, 5, NULL);
	assert_int_equal(correlate_evicted(c), 1);
	s[0].requester = "10.9.9.1";
	s[1].requester = "10.9.9.2";
	feed_corr(fx, c, s, 2, NULL);
	assert_int_equal(correlate_groups(c), 2);
	assert_int_equal(correlate_evicted(c), 2);

	memset(longkey, 'a', 1000);
	longkey[1000] = '\0';
	for (int i = 0; i < 4; i++)
		s[i].requester = longkey;
	feed_corr(fx, c, s, 4, NULL);
	incs = query(fx, store_query_incidents);
	assert_int_equal(json_array_size(incs), 2);
	assert_int_equal(strlen(jstr(json_array_get(incs, 0), "key")), CORRELATE_KEY_MAX);
	/* the attacker's group was evicted: its incident was closed */
	assert_string_equal(jstr(json_array_get(incs, 1), "state"), "closed");
	json_decref(incs);
	correlate_free(c);
}

/* ---- silence ---- */

/* One device's messages at the given offsets, then ticks with how many
 * no-response findings (open or not) must exist after each. */
struct sil_case {
	const char *name;
	int64_t at[24];
	int nat;
	int64_t tick[4];
	int nfind[4];
	int64_t period; /* the finding's period_ms, when one is expected */
};

static const struct sil_case sil_cases[] = {
	{"every second eight times, then quiet: found after the deadline, not before",
	 {0, 1000, 2000, 3000, 4000, 5000, 6000, 7000},
	 8, {11000, 12000, 12001, 20000}, {0, 0, 1, 1}, 1000},
	{"a bit of jitter is still periodic (the median: the lower middle of six)",
	 {0, 1100, 1900, 3050, 3950, 5000, 6100},
	 7, {11000, 11250, 11251, 14000}, {0, 0, 1, 1}, 1050},
	{"three messages per report, every second: the bursts are one report",
	 {0, 20, 40, 1000, 1020, 1040, 2000, 2020, 2040, 3000, 3020, 3040, 4000, 4020, 4040},
	 15, {9040, 9041, 10000, 20000}, {0, 1, 1, 1}, 1000},
	{"an irregular sender is never silent",
	 {0, 300, 5000, 5600, 12000, 30000, 31000, 60000},
	 8, {100000, 1000000, 10000000, 100000000}, {0, 0, 0, 0}, 0},
	{"too few intervals to learn a period",
	 {0, 1000, 2000, 3000},
	 4, {10000, 100000, 1000000, 10000000}, {0, 0, 0, 0}, 0},
	{"faster than min_period is not learned",
	 {0, 300, 600, 900, 1200, 1500, 1800},
	 7, {10000, 100000, 1000000, 10000000}, {0, 0, 0, 0}, 0},
};

static void feed_sil(struct fix *fx, struct silence *s, const char *device, int64_t t)
{
	struct evspec sp = SYSLOG(t, "10.0.0.5");
	struct soc_event *ev;

	sp.device = device;
	ev = make_event(fx, &sp);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_add_event(fx->st, ev), 0);
	assert_int_equal(silence_event(s, ev), 0);
	assert_int_equal(store_commit(fx->st), 0);
}

/* A mamori event of the given type from device at t. */
static void feed_sil_event(struct fix *fx, struct silence *s, const char *device,
			   const char *type, int64_t t)
{
	struct evspec sp = SYSLOG(t, "10.0.0.6");
	struct soc_event *ev;

	sp.device = device;
	ev = make_event(fx, &sp);
	ev->kind = SOC_KIND_EVENT;
	ev->type = type;
	ev->app_name = "mamorid";
	ev->msgid = type;
	snprintf((char *)ev->msg, 768, "{\"event\":\"%s\"}", type);
	ev->msg_len = strlen(ev->msg);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_add_event(fx->st, ev), 0);
	assert_int_equal(silence_event(s, ev), 0);
	assert_int_equal(store_commit(fx->st), 0);
}

static void tick_sil(struct fix *fx, struct silence *s, int64_t t)
{
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(silence_tick(s, T0 + t), 0);
	assert_int_equal(store_commit(fx->st), 0);
}

static void run_sil_case(const struct sil_case *k)
{
	struct silence_opts o;
	struct silence *s;
	struct fix *fx;
	void *state;
	json_t *fs;

	assert_int_equal(setup(&state), 0);
	fx = state;
	silence_opts_default(&o);
	assert_int_equal(silence_new(&o, fx->st, on_notify, fx, &s), 0);
	for (int i = 0; i < k->nat; i++)
		feed_sil(fx, s, "sensor-1", k->at[i]);
	for (int i = 0; i < 4; i++) {
		tick_sil(fx, s, k->tick[i]);
		fs = findings_of(fx, SOC_FIND_NO_RESPONSE);
		EXPECT(json_array_size(fs) == (size_t)k->nfind[i],
		       "%s: tick %d: %zu findings, want %d", k->name, i, json_array_size(fs),
		       k->nfind[i]);
		json_decref(fs);
	}
	EXPECT(count_notes(fx, "soc.finding.opened") == k->nfind[3], "%s: %d notifications",
	       k->name, count_notes(fx, "soc.finding.opened"));
	if (k->nfind[3] > 0) {
		json_t *f, *d;
		int64_t last = k->at[k->nat - 1];

		fs = findings_of(fx, SOC_FIND_NO_RESPONSE);
		f = json_array_get(fs, 0);
		d = finding_detail(f);
		EXPECT(strcmp(jstr(f, "device"), "sensor-1") == 0, "%s: device", k->name);
		EXPECT(finding_open(f), "%s: not open", k->name);
		EXPECT(jint(d, "period_ms") == k->period, "%s: period %lld", k->name,
		       (long long)jint(d, "period_ms"));
		EXPECT(jint(d, "last_seen_ms") == T0 + last, "%s: last_seen", k->name);
		json_decref(d);
		json_decref(fs);
		d = fx->notes[0].detail;
		EXPECT(strcmp(jstr(d, "kind"), SOC_FIND_NO_RESPONSE) == 0, "%s: notified kind",
		       k->name);
		EXPECT(strcmp(fx->notes[0].group_key, "device=sensor-1") == 0, "%s: group key %s",
		       k->name, fx->notes[0].group_key);
		EXPECT(jint(d, "silent_for_ms") > 3 * k->period, "%s: silent_for %lld", k->name,
		       (long long)jint(d, "silent_for_ms"));
	}
	silence_free(s);
	teardown(&state);
}

static void test_silence_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(sil_cases); i++)
		run_sil_case(&sil_cases[i]);
}

/* The device speaks again: its finding is resolved, the period is kept
 * (the outage is not learned), and a second silence raises a new one. */
static void test_silence_resolve_and_again(void **state)
{
	struct fix *fx = *state;
	struct silence_opts o;
	struct silence *s;
	json_t *fs;

	silence_opts_default(&o);
	assert_int_equal(silence_new(&o, fx->st, on_notify, fx, &s), 0);
	for (int i = 0; i < 8; i++)
		feed_sil(fx, s, "sensor-2", i * 1000);
	feed_sil(fx, s, "other", 0); /* a device heard once has no period */
	tick_sil(fx, s, 12001);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 1);
	feed_sil(fx, s, "sensor-2", 30000);
	fs = findings_of(fx, SOC_FIND_NO_RESPONSE);
	assert_int_equal(json_array_size(fs), 1);
	assert_false(finding_open(json_array_get(fs, 0)));
	json_decref(fs);

	feed_sil(fx, s, "sensor-2", 31000);
	tick_sil(fx, s, 36000); /* 31000 + 3 x 1000 + 2000 */
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 1);
	tick_sil(fx, s, 36001);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 2);
	fs = findings_of(fx, SOC_FIND_NO_RESPONSE);
	assert_int_equal(json_array_size(fs), 2);
	assert_true(finding_open(json_array_get(fs, 0)));
	assert_false(finding_open(json_array_get(fs, 1)));
	json_decref(fs);
	assert_int_equal(silence_devices(s), 2);
	silence_free(s);
}

/* A device whose events together are irregular but whose heartbeat events
 * come every second: the heartbeat stopping is found while the device goes
 * on sending other events, and resolved when it comes back. */
static void test_silence_event_type(void **state)
{
	struct fix *fx = *state;
	struct silence_opts o;
	struct silence *s;
	json_t *fs, *d;

	silence_opts_default(&o);
	assert_int_equal(silence_new(&o, fx->st, on_notify, fx, &s), 0);
	for (int i = 0; i < 8; i++) {
		feed_sil_event(fx, s, "cam-7", "agent.heartbeat", i * 1000);
		if (i % 3 == 0)
			feed_sil_event(fx, s, "cam-7", "guard.exec.denied", i * 1000 + 400);
	}
	/* other events go on, the heartbeat does not */
	feed_sil_event(fx, s, "cam-7", "guard.exec.denied", 9000);
	feed_sil_event(fx, s, "cam-7", "guard.exec.denied", 11500);
	tick_sil(fx, s, 12000);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 0);
	tick_sil(fx, s, 12001);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 1);
	assert_string_equal(fx->notes[0].device, "cam-7");
	assert_string_equal(jstr(fx->notes[0].detail, "event"), "agent.heartbeat");
	fs = findings_of(fx, SOC_FIND_NO_RESPONSE);
	assert_int_equal(json_array_size(fs), 1);
	assert_string_equal(jstr(json_array_get(fs, 0), "subject"),
			    "event=agent.heartbeat period=1000ms");
	d = finding_detail(json_array_get(fs, 0));
	assert_int_equal(jint(d, "last_seen_ms"), T0 + 7000);
	json_decref(d);
	json_decref(fs);
	feed_sil_event(fx, s, "cam-7", "agent.heartbeat", 13000);
	fs = findings_of(fx, SOC_FIND_NO_RESPONSE);
	assert_false(finding_open(json_array_get(fs, 0)));
	json_decref(fs);
	silence_free(s);
}

/* A device that sends only heartbeats and dies raises one finding, the
 * device's, not a second one for its event type. */
static void test_silence_event_type_covered(void **state)
{
	struct fix *fx = *state;
	struct silence_opts o;
	struct silence *s;
	json_t *fs;

	silence_opts_default(&o);
	assert_int_equal(silence_new(&o, fx->st, on_notify, fx, &s), 0);
	for (int i = 0; i < 8; i++)
		feed_sil_event(fx, s, "cam-8", "agent.heartbeat", i * 1000);
	assert_int_equal(silence_devices(s), 2);
	tick_sil(fx, s, 12001);
	tick_sil(fx, s, 13000);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 1);
	fs = findings_of(fx, SOC_FIND_NO_RESPONSE);
	assert_int_equal(json_array_size(fs), 1);
	assert_string_equal(jstr(json_array_get(fs, 0), "subject"), "period=1000ms");
	json_decref(fs);
	silence_free(s);
}

/* A configured expectation needs no learning: a device never heard is
 * silent from the first tick on, and one heard from its last message. */
static void test_silence_configured(void **state)
{
	struct fix *fx = *state;
	struct silence_opts o;
	struct silence_expect ex[] = {{"meter-1", 5000}, {"meter-2", 60000}};
	struct silence *s;
	json_t *fs, *d;

	silence_opts_default(&o);
	o.expect = ex;
	o.nexpect = NELEM(ex);
	assert_int_equal(silence_new(&o, fx->st, on_notify, fx, &s), 0);
	tick_sil(fx, s, 0);
	feed_sil(fx, s, "meter-2", 1000);
	tick_sil(fx, s, 17000);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 0);
	tick_sil(fx, s, 17001);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 1);
	assert_string_equal(fx->notes[0].device, "meter-1");
	fs = findings_of(fx, SOC_FIND_NO_RESPONSE);
	assert_int_equal(json_array_size(fs), 1);
	d = finding_detail(json_array_get(fs, 0));
	assert_int_equal(jint(d, "period_ms"), 5000);
	assert_false(json_is_true(json_object_get(d, "learned")));
	assert_int_equal(jint(json_array_get(fs, 0), "severity"), 3);
	json_decref(d);
	json_decref(fs);
	tick_sil(fx, s, 1000 + 180000 + 2000 + 1);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 2);
	assert_string_equal(fx->notes[1].device, "meter-2");
	silence_free(s);
}

static void test_silence_period_parse(void **state)
{
	static const struct {
		const char *in;
		int rc;
		int64_t ms;
	} cases[] = {
		{"60", 0, 60000},  {"60s", 0, 60000}, {"1500ms", 0, 1500}, {"5m", 0, 300000},
		{" 2h ", 0, 7200000}, {"1d", 0, 86400000}, {"0", MM_EPARSE, 0},
		{"-5s", MM_EPARSE, 0}, {"5x", MM_EPARSE, 0}, {"", MM_EPARSE, 0},
		{"s", MM_EPARSE, 0}, {"99999999999999999999", MM_EPARSE, 0},
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		int64_t ms = -1;
		int rc = silence_period_parse(cases[i].in, &ms);

		EXPECT(rc == cases[i].rc, "\"%s\": rc %d", cases[i].in, rc);
		if (rc == 0)
			EXPECT(ms == cases[i].ms, "\"%s\": %lld ms", cases[i].in, (long long)ms);
	}
}

/* The table of tracked devices is bounded; a device with a period is kept
 * over devices without one. */
static void test_silence_bound(void **state)
{
	struct fix *fx = *state;
	struct silence_opts o;
	struct silence *s;
	char name[32];

	silence_opts_default(&o);
	o.max_devices = 3;
	assert_int_equal(silence_new(&o, fx->st, on_notify, fx, &s), 0);
	for (int i = 0; i < 6; i++)
		feed_sil(fx, s, "periodic", i * 1000);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "chatty-%d", i);
		feed_sil(fx, s, name, 6000 + i);
	}
	assert_int_equal(silence_devices(s), 3);
	assert_int_equal(silence_evicted(s), 3);
	tick_sil(fx, s, 5000 + 5001);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 1);
	assert_string_equal(fx->notes[0].device, "periodic");
	silence_free(s);
}

/* ---- fleet ---- */

#define FP_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define FP_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

/* Feeds one event of device from addr, with certificate fp (may be NULL)
 * expiring at not_after (seconds). */
static void feed_fleet(struct fix *fx, struct fleet *f, const char *device, const char *addr,
		       const char *fp, int64_t not_after, const char *claimed)
{
	struct evspec sp = SYSLOG(0, addr);
	struct soc_event *ev;

	sp.device = device;
	ev = make_event(fx, &sp);
	ev->cert_fp = fp;
	ev->cert_not_after = fp ? not_after : 0;
	ev->transport = fp ? SOC_TLS : SOC_UDP;
	if (claimed != NULL) {
		ev->hostname = claimed;
		ev->flags |= SOC_F_IDENTITY_MISMATCH;
	}
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_add_event(fx->st, ev), 0);
	assert_int_equal(fleet_event(f, ev), 0);
	assert_int_equal(fleet_flush(f), 0);
	assert_int_equal(store_commit(fx->st), 0);
}

/* Many events of one device in one transaction make one row update with
 * their count, the first and last times and the latest address; a rollback
 * forgets what was gathered. */
static void test_fleet_coalesce(void **state)
{
	static const struct {
		int64_t t;
		const char *addr;
	} seen[] = {{300, "192.0.2.1"}, {100, "192.0.2.1"}, {900, "192.0.2.2"}, {500, "192.0.2.1"}};
	struct fix *fx = *state;
	struct fleet_opts o;
	struct fleet *f;
	json_t *devs, *d;
	size_t i;

	fleet_opts_default(&o);
	assert_int_equal(fleet_new(&o, fx->st, on_notify, fx, &f), 0);
	assert_int_equal(store_begin(fx->st), 0);
	for (i = 0; i < sizeof seen / sizeof seen[0]; i++) {
		struct evspec sp = SYSLOG(seen[i].t, seen[i].addr);
		struct soc_event *ev;

		sp.device = "meter-1";
		ev = make_event(fx, &sp);
		assert_int_equal(store_add_event(fx->st, ev), 0);
		assert_int_equal(fleet_event(f, ev), 0);
	}
	assert_int_equal(fleet_flush(f), 0);
	assert_int_equal(store_commit(fx->st), 0);
	devs = query(fx, store_query_devices);
	assert_int_equal(json_array_size(devs), 1);
	d = json_array_get(devs, 0);
	assert_string_equal(jstr(d, "device"), "meter-1");
	assert_int_equal(jint(d, "count"), 4);
	assert_int_equal(jint(d, "first_ms"), T0 + 100);
	assert_int_equal(jint(d, "last_ms"), T0 + 900);
	assert_string_equal(jstr(d, "last_addr"), "192.0.2.2");
	json_decref(devs);

	/* Gathered, then rolled back: the row stays as it was. */
	assert_int_equal(store_begin(fx->st), 0);
	{
		struct evspec sp = SYSLOG(2000, "192.0.2.3");
		struct soc_event *ev;

		sp.device = "meter-1";
		ev = make_event(fx, &sp);
		assert_int_equal(fleet_event(f, ev), 0);
	}
	assert_int_equal(store_rollback(fx->st), 0);
	fleet_rollback(f);
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(fleet_flush(f), 0);
	assert_int_equal(store_commit(fx->st), 0);
	devs = query(fx, store_query_devices);
	assert_int_equal(jint(json_array_get(devs, 0), "count"), 4);
	assert_string_equal(jstr(json_array_get(devs, 0), "last_addr"), "192.0.2.2");
	json_decref(devs);
	fleet_free(f);
}

static void audit(struct fix *fx, struct fleet *f, int64_t t)
{
	assert_int_equal(store_begin(fx->st), 0);
	fleet_audit_now(f);
	assert_int_equal(fleet_tick(f, T0 + t), 0);
	assert_int_equal(store_commit(fx->st), 0);
}

static size_t nfindings(struct fix *fx, const char *kind)
{
	json_t *fs = findings_of(fx, kind);
	size_t n = json_array_size(fs);

	json_decref(fs);
	return n;
}

static void test_fleet_shared(void **state)
{
	struct fix *fx = *state;
	struct fleet_opts o;
	struct fleet *f;
	int64_t na = T0 / 1000 + 365 * DAY_S;
	json_t *fs, *d;

	fleet_opts_default(&o);
	assert_int_equal(fleet_new(&o, fx->st, on_notify, fx, &f), 0);
	feed_fleet(fx, f, "cam-1", "10.0.0.1", FP_A, na, NULL);
	feed_fleet(fx, f, "cam-2", "10.0.0.2", FP_A, na, NULL);
	feed_fleet(fx, f, "cam-3", "10.0.0.3", FP_B, na, NULL);
	feed_fleet(fx, f, "cam-3", "10.0.0.3", FP_B, na, NULL);
	audit(fx, f, 0);
	audit(fx, f, 60000);
	fs = findings_of(fx, SOC_FIND_CERT_SHARED);
	assert_int_equal(json_array_size(fs), 1);
	assert_string_equal(jstr(json_array_get(fs, 0), "subject"), FP_A);
	assert_true(json_is_null(json_object_get(json_array_get(fs, 0), "device")) ||
		    strcmp(jstr(json_array_get(fs, 0), "device"), "") == 0);
	d = finding_detail(json_array_get(fs, 0));
	assert_int_equal(json_array_size(json_object_get(d, "devices")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(d, "devices"), 0)),
			    "cam-1");
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(d, "addresses"), 1)), "10.0.0.2");
	json_decref(d);
	json_decref(fs);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 1);
	assert_string_equal(fx->notes[0].group_key, "certificate=" FP_A);
	assert_string_equal(jstr(fx->notes[0].detail, "kind"), SOC_FIND_CERT_SHARED);
	assert_int_equal(nfindings(fx, SOC_FIND_CERT_EXPIRING), 0);
	fleet_free(f);
}

static void test_fleet_expiring(void **state)
{
	struct fix *fx = *state;
	struct fleet_opts o;
	struct fleet *f;
	json_t *fs, *fi, *d;
	size_t i;
	int seen10 = 0, seenexp = 0;

	fleet_opts_default(&o);
	assert_int_equal(o.expire_days, 30);
	assert_int_equal(fleet_new(&o, fx->st, on_notify, fx, &f), 0);
	feed_fleet(fx, f, "cam-10", "10.0.0.10", FP_A, T0 / 1000 + 10 * DAY_S, NULL);
	feed_fleet(fx, f, "cam-60", "10.0.0.60", FP_B, T0 / 1000 + 60 * DAY_S, NULL);
	feed_fleet(fx, f, "cam-old", "10.0.0.99", FP_C, T0 / 1000 - DAY_S, NULL);
	audit(fx, f, 0);
	audit(fx, f, 1000);
	fs = findings_of(fx, SOC_FIND_CERT_EXPIRING);
	assert_int_equal(json_array_size(fs), 2);
	json_array_foreach(fs, i, fi) {
		d = finding_detail(fi);
		if (strcmp(jstr(fi, "device"), "cam-10") == 0) {
			seen10 = 1;
			assert_string_equal(jstr(fi, "subject"), FP_A);
			assert_int_equal(jint(d, "days_left"), 9); /* a second has passed */
			assert_false(json_is_true(json_object_get(d, "expired")));
			assert_int_equal(jint(fi, "severity"), 4);
		} else {
			seenexp = 1;
			assert_string_equal(jstr(fi, "device"), "cam-old");
			assert_true(json_is_true(json_object_get(d, "expired")));
			assert_int_equal(jint(d, "days_left"), -1);
			assert_int_equal(jint(fi, "severity"), 3);
		}
		json_decref(d);
	}
	assert_true(seen10 && seenexp);
	json_decref(fs);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 2);
	fleet_free(f);
}

static void test_fleet_never_auth(void **state)
{
	static const int settings[] = {0, 1};

	(void)state;
	for (size_t k = 0; k < NELEM(settings); k++) {
		struct fleet_opts o;
		struct fleet *f;
		struct fix *fx;
		void *st;
		json_t *fs;

		assert_int_equal(setup(&st), 0);
		fx = st;
		fleet_opts_default(&o);
		o.never_auth = settings[k];
		assert_int_equal(fleet_new(&o, fx->st, on_notify, fx, &f), 0);
		feed_fleet(fx, f, "plain-1", "10.0.0.7", NULL, 0, NULL);
		feed_fleet(fx, f, "cam-1", "10.0.0.1", FP_A, T0 / 1000 + 365 * DAY_S, NULL);
		audit(fx, f, 0);
		fs = findings_of(fx, SOC_FIND_NEVER_AUTH);
		EXPECT(json_array_size(fs) == (size_t)settings[k], "never_auth %d: %zu findings",
		       settings[k], json_array_size(fs));
		if (settings[k])
			assert_string_equal(jstr(json_array_get(fs, 0), "device"), "plain-1");
		json_decref(fs);
		fleet_free(f);
		teardown(&st);
	}
}

/* A device that never authenticated and then does: its finding is
 * resolved by the next audit. */
static void test_fleet_never_auth_resolved(void **state)
{
	struct fix *fx = *state;
	struct fleet_opts o;
	struct fleet *f;
	json_t *fs;

	fleet_opts_default(&o);
	o.never_auth = 1;
	assert_int_equal(fleet_new(&o, fx->st, on_notify, fx, &f), 0);
	feed_fleet(fx, f, "plain-1", "10.0.0.7", NULL, 0, NULL);
	feed_fleet(fx, f, "plain-2", "10.0.0.8", NULL, 0, NULL);
	audit(fx, f, 0);
	fs = findings_of(fx, SOC_FIND_NEVER_AUTH);
	assert_int_equal(json_array_size(fs), 2);
	json_decref(fs);
	feed_fleet(fx, f, "plain-1", "10.0.0.7", FP_A, T0 / 1000 + 365 * DAY_S, NULL);
	audit(fx, f, 60000);
	fs = findings_of(fx, SOC_FIND_NEVER_AUTH);
	assert_int_equal(json_array_size(fs), 2);
	/* newest first: plain-2's is the second row, still open */
	for (size_t i = 0; i < 2; i++) {
		json_t *fi = json_array_get(fs, i);

		if (strcmp(jstr(fi, "device"), "plain-1") == 0)
			assert_false(finding_open(fi));
		else
			assert_true(finding_open(fi));
	}
	json_decref(fs);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 2);
	fleet_free(f);
}

static void test_fleet_identity(void **state)
{
	struct fix *fx = *state;
	struct fleet_opts o;
	struct fleet *f;
	json_t *fs, *d;

	fleet_opts_default(&o);
	assert_int_equal(fleet_new(&o, fx->st, on_notify, fx, &f), 0);
	feed_fleet(fx, f, "cam-1", "10.0.0.1", FP_A, T0 / 1000 + 365 * DAY_S, "cam-2");
	feed_fleet(fx, f, "cam-1", "10.0.0.1", FP_A, T0 / 1000 + 365 * DAY_S, "cam-2");
	feed_fleet(fx, f, "cam-1", "10.0.0.1", FP_A, T0 / 1000 + 365 * DAY_S, NULL);
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 1);
	assert_string_equal(fx->notes[0].device, "cam-1");
	assert_string_equal(jstr(fx->notes[0].detail, "claimed"), "cam-2");
	assert_string_equal(jstr(fx->notes[0].detail, "kind"), SOC_FIND_IDENTITY);
	feed_fleet(fx, f, "cam-1", "10.0.0.1", FP_A, T0 / 1000 + 365 * DAY_S, "cam-3");
	assert_int_equal(count_notes(fx, "soc.finding.opened"), 2);
	fs = findings_of(fx, SOC_FIND_IDENTITY);
	assert_int_equal(json_array_size(fs), 2);
	d = finding_detail(json_array_get(fs, 0));
	assert_string_equal(jstr(d, "claimed"), "cam-3");
	assert_string_equal(jstr(d, "certificate"), FP_A);
	json_decref(d);
	json_decref(fs);
	fleet_free(f);
}

/* The first audit waits first_audit_ms after the first tick, the next ones
 * audit_ms. */
static void test_fleet_schedule(void **state)
{
	struct fix *fx = *state;
	struct fleet_opts o;
	struct fleet *f;
	int64_t na = T0 / 1000 + 365 * DAY_S;

	fleet_opts_default(&o);
	o.first_audit_ms = 5000;
	o.audit_ms = 60000;
	assert_int_equal(fleet_new(&o, fx->st, on_notify, fx, &f), 0);
	feed_fleet(fx, f, "cam-1", "10.0.0.1", FP_A, na, NULL);
	feed_fleet(fx, f, "cam-2", "10.0.0.2", FP_A, na, NULL);
	assert_int_equal(fleet_tick(f, T0), 0);
	assert_int_equal(fleet_tick(f, T0 + 4999), 0);
	assert_int_equal(nfindings(fx, SOC_FIND_CERT_SHARED), 0);
	assert_int_equal(fleet_tick(f, T0 + 5000), 0);
	assert_int_equal(nfindings(fx, SOC_FIND_CERT_SHARED), 1);
	feed_fleet(fx, f, "cam-3", "10.0.0.3", FP_B, na, NULL);
	feed_fleet(fx, f, "cam-4", "10.0.0.4", FP_B, na, NULL);
	assert_int_equal(fleet_tick(f, T0 + 64999), 0);
	assert_int_equal(nfindings(fx, SOC_FIND_CERT_SHARED), 1);
	assert_int_equal(fleet_tick(f, T0 + 65000), 0);
	assert_int_equal(nfindings(fx, SOC_FIND_CERT_SHARED), 2);
	fleet_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_correlate_table),
		cmocka_unit_test_setup_teardown(test_fleet_coalesce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_correlate_two_opens_in_one_batch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_correlate_close_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_correlate_grow_and_close_by_event, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_correlate_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_correlate_bounds, setup, teardown),
		cmocka_unit_test(test_silence_table),
		cmocka_unit_test_setup_teardown(test_silence_resolve_and_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silence_event_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silence_event_type_covered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silence_configured, setup, teardown),
		cmocka_unit_test(test_silence_period_parse),
		cmocka_unit_test_setup_teardown(test_silence_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fleet_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fleet_expiring, setup, teardown),
		cmocka_unit_test(test_fleet_never_auth),
		cmocka_unit_test_setup_teardown(test_fleet_never_auth_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fleet_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fleet_schedule, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
