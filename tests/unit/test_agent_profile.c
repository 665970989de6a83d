/*
 * The security profile (agent/profile.c): every refusal of the parser with
 * its message naming the behaviour and member; Device Defender documents
 * accepted as they are; evaluation sequences on synthetic datapoint sets
 * (alarm after N bad datapoints, clear after M good ones, durationSeconds
 * sums, IPv4 and IPv6 CIDRs, port sets, counts, custom metrics, a custom
 * metric that is not reported); the shipped default profile; and a learnt
 * profile that parses again and passes the datapoints it was learnt from.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "mamori/error.h"

#include "detect.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- parse errors ---- */

#define B1(crit) "{\"behaviors\":[{\"name\":\"b\",\"metric\":\"aws:listening-tcp-ports\"," \
	"\"criteria\":" crit "}]}"
#define BM(metric, crit) "{\"behaviors\":[{\"name\":\"b\",\"metric\":\"" metric "\"," \
	"\"criteria\":" crit "}]}"
#define PORTS "\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[22]}"

static const struct bad {
	const char *text;
	int rc;
	const char *err; /* the whole message, or its start when it ends in '*' */
} bad[] = {
	{"{", MM_EPARSE, "not JSON: line 1 column *"}, /* then jansson's own words */
	{"[]", MM_EPARSE, "the profile is not a JSON object"},
	{"{\"behaviours\":[]}", MM_EINVALID, "behaviours: unknown member"},
	{"{\"securityProfileName\":\"x\"}", MM_EINVALID, "behaviors: missing or not an array"},
	{"{\"behaviors\":[]}", MM_EINVALID, "behaviors: empty, nothing to check"},
	{"{\"behaviors\":[1]}", MM_EINVALID, "behaviors[0]: not an object"},
	{"{\"behaviors\":[{\"metric\":\"aws:listening-tcp-ports\"}]}", MM_EINVALID,
	 "behaviors[0]: name: missing or not a string"},
	{"{\"behaviors\":[{\"name\":\"no telnet\"}]}", MM_EINVALID,
	 "behaviors[0]: name: \"no telnet\" is not 1..128 characters of a-z A-Z 0-9 : _ -"},
	{"{\"behaviors\":[{\"name\":\"a\",\"metric\":\"aws:listening-tcp-ports\",\"criteria\":{" PORTS
	 "}},{\"name\":\"a\"}]}",
	 MM_EINVALID, "behaviors[1] \"a\": name: the same as behaviors[0]'s"},
	{"{\"behaviors\":[{\"name\":\"b\",\"metric\":\"aws:listening-tcp-ports\","
	 "\"metricDimension\":{\"dimensionName\":\"TopicFilter\"}}]}",
	 MM_EINVALID,
	 "behaviors[0] \"b\": metricDimension: metric dimensions (topic filters, client ids) are not "
	 "supported"},
	{"{\"behaviors\":[{\"name\":\"b\",\"metrics\":\"x\"}]}", MM_EINVALID,
	 "behaviors[0] \"b\": metrics: unknown member"},
	{"{\"behaviors\":[{\"name\":\"b\"}]}", MM_EINVALID,
	 "behaviors[0] \"b\": metric: missing or not a string"},
	{BM("aws:num-messages-sent", "{}"), MM_EINVALID,
	 "behaviors[0] \"b\": metric: aws:num-messages-sent is not a device-side metric that mamori "
	 "measures"},
	{BM("mamori:open-files", "{}"), MM_EINVALID,
	 "behaviors[0] \"b\": metric: mamori:open-files is not a mamori metric"},
	{BM("temp/c", "{}"), MM_EINVALID,
	 "behaviors[0] \"b\": metric: \"temp/c\" is not 1..128 characters of a-z A-Z 0-9 : _ -"},
	{"{\"behaviors\":[{\"name\":\"b\",\"metric\":\"aws:listening-tcp-ports\"}]}", MM_EINVALID,
	 "behaviors[0] \"b\": criteria: missing or not an object"},
	{B1("{\"comparisonOperator\":\"less-than-equals\",\"statisticalThreshold\":{\"statistic\":"
	    "\"p90\"}}"),
	 MM_EINVALID,
	 "behaviors[0] \"b\": criteria.statisticalThreshold: statistical thresholds compare devices "
	 "with each other and are not supported on a device"},
	{B1("{\"mlDetectionConfig\":{\"confidenceLevel\":\"HIGH\"}}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.mlDetectionConfig: ML Detect is not supported"},
	{B1("{" PORTS ",\"valu\":1}"), MM_EINVALID, "behaviors[0] \"b\": criteria.valu: unknown member"},
	{B1("{\"value\":{\"ports\":[22]}}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.comparisonOperator: missing or not a string"},
	{B1("{\"comparisonOperator\":\"within\"}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.comparisonOperator: unknown operator \"within\""},
	{B1("{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":2}}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.comparisonOperator: less-than does not apply to "
	 "aws:listening-tcp-ports"},
	{BM("aws:num-established-tcp-connections", "{\"comparisonOperator\":\"in-set\"}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.comparisonOperator: in-set does not apply to "
	 "aws:num-established-tcp-connections"},
	{B1("{\"comparisonOperator\":\"in-port-set\"}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.value: missing or not an object"},
	{B1("{\"comparisonOperator\":\"in-port-set\",\"value\":{}}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.value.ports: missing (aws:listening-tcp-ports with "
	 "in-port-set takes it)"},
	{B1("{\"comparisonOperator\":\"in-port-set\",\"value\":{\"count\":1}}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.value.count: does not apply to aws:listening-tcp-ports with "
	 "in-port-set (it takes value.ports)"},
	{B1("{\"comparisonOperator\":\"in-port-set\",\"value\":{\"portz\":[1]}}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.value.portz: unknown member"},
	{B1("{\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[22,70000]}}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.value.ports[1]: not a port (an integer 0..65535)"},
	{B1("{\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":22}}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.value.ports: must be an array of ports"},
	{BM("aws:num-listening-tcp-ports",
	    "{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":-1}}"),
	 MM_EINVALID, "behaviors[0] \"b\": criteria.value.count: must not be negative"},
	{BM("aws:num-listening-tcp-ports",
	    "{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1.5}}"),
	 MM_EINVALID, "behaviors[0] \"b\": criteria.value.count: must be a non-negative integer"},
	{BM("aws:num-listening-tcp-ports",
	    "{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":\"12x\"}}"),
	 MM_EINVALID, "behaviors[0] \"b\": criteria.value.count: \"12x\" is not a number"},
	{BM("aws:num-listening-tcp-ports",
	    "{\"comparisonOperator\":\"less-than\",\"value\":{\"number\":3}}"),
	 MM_EINVALID,
	 "behaviors[0] \"b\": criteria.value.number: does not apply to aws:num-listening-tcp-ports "
	 "with less-than (it takes value.count)"},
	{BM("aws:destination-ip-addresses",
	    "{\"comparisonOperator\":\"in-cidr-set\",\"value\":{\"cidrs\":[\"192.0.2.0/33\"]}}"),
	 MM_EINVALID, "behaviors[0] \"b\": criteria.value.cidrs[0]: not an IPv4 or IPv6 CIDR"},
	{BM("aws:destination-ip-addresses",
	    "{\"comparisonOperator\":\"in-cidr-set\",\"value\":{\"cidrs\":[\"::/0\",\"host\"]}}"),
	 MM_EINVALID, "behaviors[0] \"b\": criteria.value.cidrs[1]: not an IPv4 or IPv6 CIDR"},
	{B1("{" PORTS ",\"consecutiveDatapointsToAlarm\":0}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.consecutiveDatapointsToAlarm: must be an integer 1..10"},
	{B1("{" PORTS ",\"consecutiveDatapointsToClear\":11}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.consecutiveDatapointsToClear: must be an integer 1..10"},
	{B1("{" PORTS ",\"durationSeconds\":300}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.durationSeconds: applies only to the counter metrics "
	 "(aws:all-bytes-in, aws:all-bytes-out, aws:all-packets-in, aws:all-packets-out)"},
	{BM("aws:all-bytes-out", "{\"comparisonOperator\":\"less-than\",\"value\":{\"count\":1},"
				 "\"durationSeconds\":3601}"),
	 MM_EINVALID, "behaviors[0] \"b\": criteria.durationSeconds: must be an integer 1..3600"},
	{"{\"behaviors\":[{\"name\":\"b\",\"metric\":\"aws:listening-tcp-ports\",\"criteria\":{" PORTS
	 "},\"suppressAlerts\":\"yes\"}]}",
	 MM_EINVALID, "behaviors[0] \"b\": suppressAlerts: not true or false"},
	{BM("app:mode", "{\"comparisonOperator\":\"in-set\",\"value\":{}}"), MM_EINVALID,
	 "behaviors[0] \"b\": criteria.value: missing strings or numbers (app:mode with in-set takes "
	 "one)"},
	{BM("app:mode", "{\"comparisonOperator\":\"in-set\",\"value\":{\"strings\":[\"a\",2]}}"),
	 MM_EINVALID, "behaviors[0] \"b\": criteria.value.strings[1]: not a string"},
	{BM("app:temp", "{\"comparisonOperator\":\"less-than\",\"value\":{\"number\":\"hot\"}}"),
	 MM_EINVALID, "behaviors[0] \"b\": criteria.value.number: not a number"},
	{BM("app:temp", "{\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[1]}}"),
	 MM_EINVALID, "behaviors[0] \"b\": criteria.comparisonOperator: in-port-set does not apply to "
		      "app:temp"},
	{BM("app:temp", "{\"comparisonOperator\":\"less-than\",\"value\":{\"number\":3},"
			"\"durationSeconds\":300}"),
	 MM_EINVALID,
	 "behaviors[0] \"b\": criteria.durationSeconds: applies only to the counter metrics "
	 "(aws:all-bytes-in, aws:all-bytes-out, aws:all-packets-in, aws:all-packets-out)"},
};

static void parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		struct profile *p = (struct profile *)1;
		char err[512];
		int rc = profile_parse(bad[i].text, strlen(bad[i].text), &p, err, sizeof err);
		size_t wl = strlen(bad[i].err);
		int same = bad[i].err[wl - 1] == '*' ? strncmp(err, bad[i].err, wl - 1) == 0
						     : strcmp(err, bad[i].err) == 0;

		if (rc != bad[i].rc || !same)
			fail_msg("case %zu: rc %d err \"%s\", want %d \"%s\"", i, rc, err, bad[i].rc,
				 bad[i].err);
		assert_null(p);
	}
}

/* A document of n copies of one behaviour, named b0, b1, ... */
static char *many_behaviors(size_t n, const char *rest)
{
	size_t cap = 64 + n * (strlen(rest) + 32), len = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	len += (size_t)snprintf(s + len, cap - len, "{\"behaviors\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s{\"name\":\"b%zu\",%s}", i ? "," : "",
					i, rest);
	snprintf(s + len, cap - len, "]}");
	return s;
}

/* The bounds: 100 behaviours, 1024 ports, 256 CIDRs, strings of 255 bytes. */
static void parse_bounds(void **state)
{
	static const char rest[] = "\"metric\":\"aws:listening-tcp-ports\",\"criteria\":{" PORTS "}";
	struct profile *p;
	char err[512], *s, *list;
	size_t len;

	(void)state;
	s = many_behaviors(PROFILE_MAX_BEHAVIORS, rest);
	assert_int_equal(profile_parse(s, strlen(s), &p, err, sizeof err), 0);
	assert_int_equal(profile_count(p), PROFILE_MAX_BEHAVIORS);
	profile_free(p);
	free(s);
	s = many_behaviors(PROFILE_MAX_BEHAVIORS + 1, rest);
	assert_int_equal(profile_parse(s, strlen(s), &p, err, sizeof err), MM_ETOOBIG);
	assert_string_equal(err, "behaviors: more than 100 behaviours");
	free(s);

	for (int n = 1024; n <= 1025; n++) {
		list = malloc(16 * 1100 + 256);
		len = (size_t)snprintf(list, 256, "{\"behaviors\":[{\"name\":\"b\",\"metric\":\"aws:"
					  "listening-udp-ports\",\"criteria\":{\"comparisonOperator\":"
					  "\"not-in-port-set\",\"value\":{\"ports\":[");
		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(list + len, 16, "%s%d", i ? "," : "", i);
		snprintf(list + len, 16, "]}}}]}");
		err[0] = '\0';
		assert_int_equal(profile_parse(list, strlen(list), &p, err, sizeof err),
				 n == 1024 ? 0 : MM_ETOOBIG);
		if (n == 1025)
			assert_string_equal(err,
					    "behaviors[0] \"b\": criteria.value.ports: more than 1024 ports");
		profile_free(p);
		free(list);
	}

	list = malloc(300 + 256);
	len = (size_t)snprintf(list, 256, "{\"behaviors\":[{\"name\":\"b\",\"metric\":\"m\",\"criteria"
				  "\":{\"comparisonOperator\":\"in-set\",\"value\":{\"strings\":[\"");
	memset(list + len, 'x', 256);
	snprintf(list + len + 256, 32, "\"]}}}]}");
	assert_int_equal(profile_parse(list, strlen(list), &p, err, sizeof err), MM_ETOOBIG);
	assert_string_equal(err, "behaviors[0] \"b\": criteria.value.strings[0]: longer than 255 "
				 "bytes or with a NUL");
	snprintf(list + len + 255, 32, "\"]}}}]}");
	assert_int_equal(profile_parse(list, strlen(list), &p, err, sizeof err), 0);
	profile_free(p);
	free(list);
}

/* Device Defender documents as they are: a create-security-profile request with
 * the members mamori ignores, CloudFormation's string count, every operator. */
static void parse_accepts(void **state)
{
	static const char doc[] =
		"{\"securityProfileName\":\"cams\",\"securityProfileDescription\":\"d\","
		"\"alertTargets\":{\"SNS\":{\"alertTargetArn\":\"arn:a\",\"roleArn\":\"arn:r\"}},"
		"\"additionalMetricsToRetainV2\":[{\"metric\":\"aws:num-listening-tcp-ports\"}],"
		"\"tags\":[{\"Key\":\"k\",\"Value\":\"v\"}],\"metricsExportConfig\":{},"
		"\"behaviors\":["
		"{\"name\":\"TCP_outbound\",\"metric\":\"aws:all-bytes-out\",\"criteria\":{"
		"\"comparisonOperator\":\"less-than-equals\",\"value\":{\"count\":4096},"
		"\"durationSeconds\":300,\"consecutiveDatapointsToAlarm\":1,"
		"\"consecutiveDatapointsToClear\":1},\"suppressAlerts\":true,\"exportMetric\":false},"
		"{\"name\":\"lp\",\"metric\":\"aws:num-listening-udp-ports\",\"criteria\":{"
		"\"comparisonOperator\":\"greater-than-equals\",\"value\":{\"count\":\"2\"}}},"
		"{\"name\":\"dst\",\"metric\":\"aws:destination-ip-addresses\",\"criteria\":{"
		"\"comparisonOperator\":\"not-in-cidr-set\",\"value\":{\"cidrs\":[\"10.0.0.1\","
		"\"fe80::/10\"]}}},"
		"{\"name\":\"n\",\"metric\":\"app:temp\",\"criteria\":{\"comparisonOperator\":"
		"\"greater-than\",\"value\":{\"number\":-4.5}}},"
		"{\"name\":\"l\",\"metric\":\"app:codes\",\"criteria\":{\"comparisonOperator\":"
		"\"not-in-set\",\"value\":{\"numbers\":[1,2.5]}}},"
		"{\"name\":\"ip\",\"metric\":\"app:peers\",\"criteria\":{\"comparisonOperator\":"
		"\"in-cidr-set\",\"value\":{\"cidrs\":[]}}},"
		"{\"name\":\"rp\",\"metric\":\"mamori:remote-ports\",\"criteria\":{\"comparisonOperator\":"
		"\"in-port-set\",\"value\":{\"ports\":[]}}},"
		"{\"name\":\"pr\",\"metric\":\"mamori:num-processes\",\"criteria\":{\"comparisonOperator\":"
		"\"less-than\",\"value\":{\"count\":400}}}]}";
	struct profile *p;
	char err[512] = "";

	(void)state;
	if (profile_parse(doc, strlen(doc), &p, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(profile_count(p), 8);
	profile_free(p);
}

/* ---- evaluation ---- */

struct event {
	char behavior[130];
	int violated;
	int64_t datapoints;
	char value[600];
};

static struct {
	size_t n;
	struct event e[32];
} rec;

static void record(const struct profile_change *c, void *arg)
{
	struct event *e;
	char *v;

	(void)arg;
	assert_true(rec.n < N(rec.e));
	e = &rec.e[rec.n++];
	snprintf(e->behavior, sizeof e->behavior, "%s", c->behavior);
	e->violated = c->violated;
	e->datapoints = c->datapoints;
	v = json_dumps(c->value, JSON_ENCODE_ANY | JSON_COMPACT);
	assert_non_null(v);
	snprintf(e->value, sizeof e->value, "%s", v);
	free(v);
}

static struct profile *load(const char *text)
{
	struct profile *p;
	char err[512] = "";

	if (profile_parse(text, strlen(text), &p, err, sizeof err) != 0)
		fail_msg("%s: %s", text, err);
	return p;
}

static struct metrics *mnew(int64_t ms)
{
	struct metrics *m = calloc(1, sizeof *m);

	assert_non_null(m);
	m->mono_ms = ms;
	m->time_ms = 1700000000000 + ms;
	return m;
}

static void add_tcp(struct metrics *m, uint16_t port)
{
	m->tcp[m->n_tcp].port = port;
	m->tcp[m->n_tcp].family = AF_INET;
	snprintf(m->tcp[m->n_tcp].addr, sizeof m->tcp[0].addr, "0.0.0.0");
	m->n_tcp++;
	m->total_tcp++;
}

static void add_conn(struct metrics *m, const char *remote, uint16_t rport, uint16_t lport)
{
	struct metric_conn *c = &m->conn[m->n_conn++];

	c->family = strchr(remote, ':') ? AF_INET6 : AF_INET;
	snprintf(c->remote, sizeof c->remote, "%s", remote);
	c->rport = rport;
	c->lport = lport;
	m->total_conn++;
}

/* Evaluates one set and checks how many events it made and the return. */
static void step(struct profile *p, const struct metrics *cur, const struct metrics *prev,
		 size_t events, int in_violation)
{
	size_t before = rec.n;
	int rc = profile_eval(p, cur, prev, record, NULL);

	assert_int_equal(rec.n - before, events);
	assert_int_equal(rc, in_violation);
}

static void expect_event(size_t i, const char *behavior, int violated, int64_t dp,
			 const char *value)
{
	assert_true(i < rec.n);
	assert_string_equal(rec.e[i].behavior, behavior);
	assert_int_equal(rec.e[i].violated, violated);
	assert_int_equal(rec.e[i].datapoints, dp);
	assert_string_equal(rec.e[i].value, value);
}

static int reset(void **state)
{
	(void)state;
	memset(&rec, 0, sizeof rec);
	return 0;
}

/* Alarm after 3 bad datapoints, clear after 2 good ones in a row. */
static void alarm_and_clear(void **state)
{
	struct profile *p = load(
		"{\"behaviors\":[{\"name\":\"ports\",\"metric\":\"aws:listening-tcp-ports\","
		"\"criteria\":{\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[443,80,22]},"
		"\"consecutiveDatapointsToAlarm\":3,\"consecutiveDatapointsToClear\":2}}]}");
	struct metrics *good = mnew(0), *badm = mnew(0);
	/* good/bad, events expected, in violation after */
	static const struct {
		int bad;
		size_t events;
		int viol;
	} seq[] = {{1, 0, 0}, {1, 0, 0}, {0, 0, 0}, {1, 0, 0}, {1, 0, 0}, {1, 1, 1},
		   {1, 0, 1}, {0, 0, 1}, {1, 0, 1}, {0, 0, 1}, {0, 1, 0}, {0, 0, 0}};

	(void)state;
	add_tcp(good, 22);
	add_tcp(good, 443);
	add_tcp(badm, 22);
	add_tcp(badm, 2323);
	add_tcp(badm, 23);
	add_tcp(badm, 23); /* IPv4 and IPv6 sockets on one port: listed once */
	add_tcp(badm, 80);
	for (size_t i = 0; i < N(seq); i++)
		step(p, seq[i].bad ? badm : good, NULL, seq[i].events, seq[i].viol);
	assert_int_equal(rec.n, 2);
	expect_event(0, "ports", 1, 3, "[23,2323]");
	expect_event(1, "ports", 0, 2, "[]");
	profile_free(p);
	free(good);
	free(badm);
}

/* durationSeconds: the sum of the deltas of the window, once it is covered. */
static void duration_sums(void **state)
{
	struct profile *p = load(
		"{\"behaviors\":[{\"name\":\"out\",\"metric\":\"aws:all-bytes-out\",\"criteria\":{"
		"\"comparisonOperator\":\"less-than-equals\",\"value\":{\"count\":1000},"
		"\"durationSeconds\":3}},"
		"{\"name\":\"pin\",\"metric\":\"aws:all-packets-in\",\"criteria\":{"
		"\"comparisonOperator\":\"greater-than\",\"value\":{\"count\":5}}}]}");
	/* bytes_out totals at t = 0, 1, 2, 3, 4, 5, 6 s; packets_in every second */
	static const uint64_t out[] = {100, 500, 900, 1300, 1300, 1300, 1400};
	static const uint64_t pin[] = {0, 10, 20, 22, 24, 20, 30};
	static const struct {
		size_t events;
		int viol;
	} want[] = {{0, 0}, {0, 0}, {0, 0}, {2, 2}, {1, 1}, {0, 1}, {1, 0}};
	struct metrics *m[N(out)];

	(void)state;
	for (size_t i = 0; i < N(out); i++) {
		m[i] = mnew((int64_t)i * 1000);
		m[i]->bytes_out = out[i];
		m[i]->packets_in = pin[i];
		step(p, m[i], i ? m[i - 1] : NULL, want[i].events, want[i].viol);
	}
	/* t=3: the window (0, 3] holds 400+400+400; packets in grew by 2 */
	expect_event(0, "out", 1, 1, "1200");
	expect_event(1, "pin", 1, 1, "2");
	/* t=4: (1, 4] holds 400+400+0 */
	expect_event(2, "out", 0, 1, "800");
	/* t=5: packets in went backwards (a reset): the delta is 0, still too few */
	/* t=6: 10 packets in a second: cleared */
	expect_event(3, "pin", 0, 1, "10");
	assert_int_equal(rec.n, 4);
	profile_free(p);
	for (size_t i = 0; i < N(out); i++)
		free(m[i]);
}

/* IPv4 and IPv6 CIDRs, IPv4-mapped addresses, and both operators. */
static void cidr_sets(void **state)
{
	struct profile *p = load(
		"{\"behaviors\":[{\"name\":\"in\",\"metric\":\"aws:destination-ip-addresses\","
		"\"criteria\":{\"comparisonOperator\":\"in-cidr-set\",\"value\":{\"cidrs\":["
		"\"192.0.2.0/24\",\"2001:db8::/32\",\"198.51.100.7\",\"203.0.113.128/25\"]}}},"
		"{\"name\":\"out\",\"metric\":\"aws:destination-ip-addresses\",\"criteria\":{"
		"\"comparisonOperator\":\"not-in-cidr-set\",\"value\":{\"cidrs\":[\"2001:db8:1::/48\","
		"\"10.0.0.0/8\"]}}}]}");
	struct metrics *m = mnew(0), *ok = mnew(1000);

	(void)state;
	add_conn(m, "192.0.2.7", 443, 40000);
	add_conn(m, "::ffff:192.0.2.9", 443, 40001);
	add_conn(m, "2001:db8:1::5", 443, 40002);
	add_conn(m, "198.51.100.7", 443, 40003);
	add_conn(m, "198.51.100.8", 443, 40004);
	add_conn(m, "203.0.113.9", 443, 40005);
	add_conn(m, "203.0.113.9", 8883, 40006);
	add_conn(m, "203.0.113.200", 443, 40007);
	add_conn(m, "2001:db9::1", 443, 40008);
	add_conn(m, "10.1.2.3", 443, 40009);
	step(p, m, NULL, 2, 2);
	expect_event(0, "in", 1, 1, "[\"198.51.100.8\",\"203.0.113.9\",\"2001:db9::1\",\"10.1.2.3\"]");
	expect_event(1, "out", 1, 1, "[\"2001:db8:1::5\",\"10.1.2.3\"]");
	add_conn(ok, "192.0.2.255", 443, 1);
	add_conn(ok, "2001:db8:ffff::1", 443, 2);
	step(p, ok, m, 2, 0);
	expect_event(2, "in", 0, 1, "[]");
	expect_event(3, "out", 0, 1, "[]");
	profile_free(p);
	free(m);
	free(ok);
}

/* The default profile: telnet listening and connections to telnet ports;
 * a connection accepted on a listening port has a client's port as its
 * remote port and is not one the device opened. */
static void default_profile(void **state)
{
	struct profile *p;
	struct metrics *m = mnew(0);
	char err[512] = "";

	(void)state;
	if (profile_load(MAMORI_SRCDIR "/data/profiles/default.json", &p, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(profile_count(p), 3);
	add_tcp(m, 80);
	add_tcp(m, 2323);
	add_conn(m, "192.0.2.1", 23, 80);       /* accepted on 80 from port 23 */
	add_conn(m, "203.0.113.5", 48101, 51000); /* opened by the device */
	add_conn(m, "203.0.113.6", 443, 51001);
	step(p, m, NULL, 2, 2);
	expect_event(0, "no-telnet-listening", 1, 1, "[2323]");
	expect_event(1, "no-telnet-remote-ports", 1, 1, "[48101]");
	/* 65 connections: 2 datapoints to alarm */
	while (m->total_conn < 65)
		add_conn(m, "192.0.2.1", 1000, 80);
	step(p, m, NULL, 0, 2);
	step(p, m, NULL, 1, 3);
	expect_event(2, "established-connections", 1, 2, "65");
	profile_free(p);
	free(m);
}

/* Counts, custom metrics of every type, a custom metric missing from a
 * datapoint (the counts stay as they were), and suppressAlerts. */
static void counts_and_custom(void **state)
{
	struct profile *p = load(
		"{\"behaviors\":["
		"{\"name\":\"temp\",\"metric\":\"temp_c\",\"criteria\":{\"comparisonOperator\":"
		"\"less-than\",\"value\":{\"number\":70.5},\"consecutiveDatapointsToAlarm\":2}},"
		"{\"name\":\"codes\",\"metric\":\"codes\",\"criteria\":{\"comparisonOperator\":"
		"\"in-set\",\"value\":{\"numbers\":[0,1,2]}}},"
		"{\"name\":\"mode\",\"metric\":\"mode\",\"criteria\":{\"comparisonOperator\":"
		"\"not-in-set\",\"value\":{\"strings\":[\"debug\",\"factory\"]}}},"
		"{\"name\":\"peers\",\"metric\":\"peers\",\"criteria\":{\"comparisonOperator\":"
		"\"in-cidr-set\",\"value\":{\"cidrs\":[\"fd00::/8\"]}}},"
		"{\"name\":\"procs\",\"metric\":\"mamori:num-processes\",\"criteria\":{"
		"\"comparisonOperator\":\"less-than-equals\",\"value\":{\"count\":50}},"
		"\"suppressAlerts\":true}]}");
	struct metrics *m = mnew(0), *none = mnew(0);
	struct metric_custom *c;

	(void)state;
	c = &m->custom[m->n_custom++];
	snprintf(c->name, sizeof c->name, "temp_c");
	c->type = METRIC_NUMBER;
	c->n = 1;
	c->num[0] = 80.25;
	c = &m->custom[m->n_custom++];
	snprintf(c->name, sizeof c->name, "codes");
	c->type = METRIC_NUMBER_LIST;
	c->n = 3;
	c->num[0] = 1;
	c->num[1] = 7;
	c->num[2] = 2;
	c = &m->custom[m->n_custom++];
	snprintf(c->name, sizeof c->name, "mode");
	c->type = METRIC_STRING_LIST;
	c->n = 2;
	snprintf(c->str[0], sizeof c->str[0], "normal");
	snprintf(c->str[1], sizeof c->str[1], "factory");
	c = &m->custom[m->n_custom++];
	snprintf(c->name, sizeof c->name, "peers");
	c->type = METRIC_IP_LIST;
	c->n = 2;
	snprintf(c->str[0], sizeof c->str[0], "fd12::1");
	snprintf(c->str[1], sizeof c->str[1], "192.0.2.1");
	m->processes = 51;
	none->processes = 51;

	/* temp needs two datapoints; the others alarm at once; procs is suppressed */
	step(p, m, NULL, 3, 4);
	expect_event(0, "codes", 1, 1, "[7.0]");
	expect_event(1, "mode", 1, 1, "[\"factory\"]");
	expect_event(2, "peers", 1, 1, "[\"192.0.2.1\"]");
	/* not reported: nothing changes, not even the temp's count */
	step(p, none, NULL, 0, 4);
	step(p, m, NULL, 1, 5);
	expect_event(3, "temp", 1, 2, "80.25");
	/* a number-list reported as a string-list is not the metric the behaviour wants */
	m->custom[1].type = METRIC_STRING_LIST;
	m->custom[0].num[0] = 20;
	m->processes = 3;
	step(p, m, NULL, 1, 3);
	expect_event(4, "temp", 0, 1, "20.0");
	profile_free(p);
	free(m);
	free(none);
}

/* An offending value is at most 16 entries. */
static void value_bounded(void **state)
{
	struct profile *p = load(
		"{\"behaviors\":[{\"name\":\"rp\",\"metric\":\"mamori:remote-ports\",\"criteria\":{"
		"\"comparisonOperator\":\"in-port-set\",\"value\":{\"ports\":[443]}}}]}");
	struct metrics *m = mnew(0);

	(void)state;
	for (uint16_t i = 0; i < 100; i++)
		add_conn(m, "192.0.2.1", (uint16_t)(2000 - i), (uint16_t)(30000 + i));
	step(p, m, NULL, 1, 1);
	expect_event(0, "rp", 1, 1,
		     "[1901,1902,1903,1904,1905,1906,1907,1908,1909,1910,1911,1912,1913,1914,1915,"
		     "1916]");
	profile_free(p);
	free(m);
}

/* ---- learning ---- */

static void learn_round_trip(void **state)
{
	struct profile_learner *l;
	struct profile *p;
	struct metrics *m[3];
	json_t *doc, *bs, *b;
	char *text, err[512] = "";
	size_t i, seen = 0;

	(void)state;
	for (i = 0; i < N(m); i++) {
		m[i] = mnew((int64_t)i * 10000);
		add_tcp(m[i], 22);
		m[i]->processes = 40 + i;
		m[i]->bytes_out = 1000 * i * i; /* deltas 1000, 3000 */
		m[i]->bytes_in = 77;
	}
	add_tcp(m[1], 8080);
	add_conn(m[1], "192.0.2.7", 8883, 41000);
	add_conn(m[2], "2001:db8::1", 443, 41001);
	add_conn(m[2], "198.51.100.2", 50123, 22); /* accepted on 22: its port is a client's */
	m[1]->udp[m[1]->n_udp++].port = 5353;
	m[1]->total_udp = 1;

	assert_int_equal(profile_learn_new(&l), 0);
	for (i = 0; i < N(m); i++)
		profile_learn_add(l, m[i], i ? m[i - 1] : NULL);
	doc = profile_learn_json(l);
	assert_non_null(doc);
	bs = json_object_get(doc, "behaviors");
	json_array_foreach(bs, i, b) {
		const char *name = json_string_value(json_object_get(b, "name"));
		json_t *v = json_object_get(json_object_get(b, "criteria"), "value");
		char *vs = json_dumps(v, JSON_COMPACT);
		static const char *const want[][2] = {
			{"learned-listening-tcp-ports", "{\"ports\":[22,8080]}"},
			{"learned-listening-udp-ports", "{\"ports\":[5353]}"},
			{"learned-remote-ports", "{\"ports\":[443,8883]}"},
			{"learned-destination-ip-addresses",
			 "{\"cidrs\":[\"192.0.2.7/32\",\"2001:db8::1/128\",\"198.51.100.2/32\"]}"},
			{"learned-num-listening-tcp-ports", "{\"count\":2}"},
			{"learned-num-listening-udp-ports", "{\"count\":1}"},
			{"learned-num-established-tcp-connections", "{\"count\":3}"},
			{"learned-num-processes", "{\"count\":63}"},
			{"learned-all-bytes-in", "{\"count\":0}"},
			{"learned-all-bytes-out", "{\"count\":4500}"},
			{"learned-all-packets-in", "{\"count\":0}"},
			{"learned-all-packets-out", "{\"count\":0}"},
		};

		for (size_t k = 0; k < N(want); k++) {
			if (strcmp(want[k][0], name) == 0) {
				if (strcmp(want[k][1], vs) != 0)
					fail_msg("%s: %s, want %s", name, vs, want[k][1]);
				seen++;
			}
		}
		free(vs);
	}
	assert_int_equal(seen, 12);
	assert_int_equal(json_array_size(bs), 12);
	text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (profile_parse(text, strlen(text), &p, err, sizeof err) != 0)
		fail_msg("%s", err);
	free(text);
	for (i = 0; i < N(m); i++)
		step(p, m[i], i ? m[i - 1] : NULL, 0, 0);
	/* and it is not a profile that passes everything: a new port fails, and
	 * a third listening socket is more than were seen at once */
	add_tcp(m[2], 8080);
	add_tcp(m[2], 23);
	step(p, m[2], m[1], 2, 2);
	expect_event(0, "learned-listening-tcp-ports", 1, 1, "[23]");
	expect_event(1, "learned-num-listening-tcp-ports", 1, 1, "3");
	profile_free(p);
	profile_learn_free(l);
	for (i = 0; i < N(m); i++)
		free(m[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_errors),
		cmocka_unit_test(parse_bounds),
		cmocka_unit_test(parse_accepts),
		cmocka_unit_test_setup(alarm_and_clear, reset),
		cmocka_unit_test_setup(duration_sums, reset),
		cmocka_unit_test_setup(cidr_sets, reset),
		cmocka_unit_test_setup(default_profile, reset),
		cmocka_unit_test_setup(counts_and_custom, reset),
		cmocka_unit_test_setup(value_bounded, reset),
		cmocka_unit_test_setup(learn_round_trip, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
