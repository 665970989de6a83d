/*
 * The security profile: AWS IoT Device Defender's "behaviors" document
 * (docs/formats/profile.md), checked on the device against each datapoint
 * set of metrics.c, and learnt from what the device did.
 *
 * The parser takes a profile written for Device Defender as it is (a
 * behaviors document or a whole create-security-profile request), so that
 * users carry their profiles over; what mamori cannot do the same way
 * (metric dimensions, statistical thresholds, ML Detect, cloud-side
 * metrics) is refused by name rather than silently evaluated otherwise.
 *
 * Each behaviour keeps its own state (in violation or not, and how many
 * consecutive datapoints were bad or good), so that one profile is one
 * device's: the caller keeps one struct profile per metrics stream.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mamori/error.h"
#include "mamori/log.h"

#include "detect.h"

/* Bounds of one behaviour's value (docs/formats/profile.md says them). */
#define PROFILE_MAX_PORTS 1024    /* value.ports */
#define PROFILE_MAX_CIDRS 256     /* value.cidrs */
#define PROFILE_MAX_STRINGS 64    /* value.strings */
#define PROFILE_MAX_NUMBERS 64    /* value.numbers */
#define PROFILE_NAME_MAX 128      /* a behaviour's or metric's name, as Device Defender */
#define PROFILE_FILE_MAX (1 << 20) /* profile_load */
#define PROFILE_MAX_DURATION 3600 /* durationSeconds, as Device Defender's largest */
#define PROFILE_RING_MAX 4096     /* datapoints of one durationSeconds window */
#define PROFILE_MAX_CONSECUTIVE 10

/* The offending value of an event: few entries, so that it fits 1 KiB of detail. */
#define VALUE_MAX_ENTRIES 16
#define VALUE_MAX_BYTES 480

/* jansson's json_int_t is long long on every platform Debian builds it for. */
#define JSON_INT_MAX LLONG_MAX

enum mkind {
	MK_LISTEN_TCP,     /* port set */
	MK_LISTEN_UDP,
	MK_REMOTE_PORTS,
	MK_NUM_LISTEN_TCP, /* gauge counts */
	MK_NUM_LISTEN_UDP,
	MK_NUM_ESTAB,
	MK_NUM_PROCS,
	MK_DEST_IP,        /* cidr set */
	MK_BYTES_IN,       /* counters */
	MK_BYTES_OUT,
	MK_PKTS_IN,
	MK_PKTS_OUT,
	MK_CUSTOM,
};

enum op {
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_IN_CIDR,
	OP_NOT_IN_CIDR,
	OP_IN_PORT,
	OP_NOT_IN_PORT,
	OP_IN_SET,
	OP_NOT_IN_SET,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"less-than", "less-than-equals", "greater-than", "greater-than-equals",
	"in-cidr-set", "not-in-cidr-set", "in-port-set", "not-in-port-set",
	"in-set", "not-in-set",
};

#define OPS_NUM ((1u << OP_LT) | (1u << OP_LE) | (1u << OP_GT) | (1u << OP_GE))
#define OPS_PORT ((1u << OP_IN_PORT) | (1u << OP_NOT_IN_PORT))
#define OPS_CIDR ((1u << OP_IN_CIDR) | (1u << OP_NOT_IN_CIDR))
#define OPS_SET ((1u << OP_IN_SET) | (1u << OP_NOT_IN_SET))

static const struct mdef {
	const char *name;
	enum mkind kind;
	unsigned ops;
} mdefs[] = {
	{"aws:listening-tcp-ports", MK_LISTEN_TCP, OPS_PORT},
	{"aws:listening-udp-ports", MK_LISTEN_UDP, OPS_PORT},
	{"aws:num-listening-tcp-ports", MK_NUM_LISTEN_TCP, OPS_NUM},
	{"aws:num-listening-udp-ports", MK_NUM_LISTEN_UDP, OPS_NUM},
	{"aws:num-established-tcp-connections", MK_NUM_ESTAB, OPS_NUM},
	{"aws:destination-ip-addresses", MK_DEST_IP, OPS_CIDR},
	{"aws:all-bytes-in", MK_BYTES_IN, OPS_NUM},
	{"aws:all-bytes-out", MK_BYTES_OUT, OPS_NUM},
	{"aws:all-packets-in", MK_PKTS_IN, OPS_NUM},
	{"aws:all-packets-out", MK_PKTS_OUT, OPS_NUM},
	{"mamori:remote-ports", MK_REMOTE_PORTS, OPS_PORT},
	{"mamori:num-processes", MK_NUM_PROCS, OPS_NUM},
};

struct cidr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix;
	uint8_t addr[16];
};

/* One datapoint of a counter behaviour with durationSeconds. */
struct sample {
	int64_t end_ms;
	uint64_t v;
};

struct behavior {
	char name[PROFILE_NAME_MAX + 1];
	char metric[PROFILE_NAME_MAX + 1];
	enum mkind kind;
	enum op op;
	int custom_num; /* a custom metric compared as a number (value.number) */
	uint64_t count; /* value.count */
	double number;  /* value.number */
	uint16_t *ports; /* sorted */
	size_t n_ports;
	struct cidr *cidrs;
	size_t n_cidrs;
	char (*strings)[METRICS_STR_MAX];
	size_t n_strings;
	double *numbers;
	size_t n_numbers;
	int64_t duration_s; /* 0: none */
	int to_alarm, to_clear;
	int suppress;

	/* state */
	int violated;
	int64_t run_bad, run_good;
	struct sample *ring; /* durationSeconds window, oldest at head */
	size_t ring_cap, ring_head, ring_n;
	int64_t first_start_ms; /* the start of the first delta, -1 none yet */
};

struct profile {
	size_t n;
	struct behavior *b;
	uint64_t ring_dropped; /* window datapoints dropped past PROFILE_RING_MAX */
};

/* ---- errors ---- */

struct pctx {
	char *err;
	size_t errlen;
	size_t idx; /* the behaviour being parsed, SIZE_MAX for the document */
	const char *name;
};

__attribute__((format(printf, 3, 4))) static int perr(struct pctx *c, int rc, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	if (c->err == NULL || c->errlen == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->idx == SIZE_MAX)
		snprintf(c->err, c->errlen, "%s", msg);
	else if (c->name != NULL)
		snprintf(c->err, c->errlen, "behaviors[%zu] \"%s\": %s", c->idx, c->name, msg);
	else
		snprintf(c->err, c->errlen, "behaviors[%zu]: %s", c->idx, msg);
	return rc;
}

/* ---- small parsers ---- */

/* Device Defender's name pattern [a-zA-Z0-9:_-]+, 1..max characters. */
static int valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == ':' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

/*
 * An address, with an IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a
 * dual-stack socket reports an IPv4 peer) taken as the IPv4 address, so
 * that 192.0.2.0/24 covers it. 0 or MM_EPARSE.
 */
static int parse_addr(const char *s, uint8_t *family, uint8_t addr[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		if (memcmp(addr, mapped, sizeof mapped) == 0) {
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*family = AF_INET;
		} else {
			*family = AF_INET6;
		}
		return 0;
	}
	return MM_EPARSE;
}

/* "ADDR/PREFIX", or a bare address (a /32 or /128). Host bits are cleared. */
static int parse_cidr(const char *s, struct cidr *c)
{
	char a[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max, prefix;

	if (alen == 0 || alen >= sizeof a)
		return MM_EPARSE;
	memcpy(a, s, alen);
	a[alen] = '\0';
	memset(c, 0, sizeof *c);
	if (inet_pton(AF_INET, a, c->addr) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, a, c->addr) == 1)
		c->family = AF_INET6;
	else
		return MM_EPARSE;
	max = c->family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash != NULL) {
		const char *p = slash + 1;

		if (*p == '\0' || strlen(p) > 3)
			return MM_EPARSE;
		prefix = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return MM_EPARSE;
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
		if (prefix > max)
			return MM_EPARSE;
	}
	c->prefix = (uint8_t)prefix;
	for (unsigned i = 0; i < 16; i++) {
		unsigned lo = i * 8;

		if (lo >= prefix)
			c->addr[i] = 0;
		else if (lo + 8 > prefix)
			c->addr[i] &= (uint8_t)(0xff00u >> (prefix - lo));
	}
	return 0;
}

static int cidr_match(const struct cidr *c, uint8_t family, const uint8_t addr[16])
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (c->family != family)
		return 0;
	if (memcmp(c->addr, addr, full) != 0)
		return 0;
	if (rest != 0 && (addr[full] & (uint8_t)(0xff00u >> rest)) != c->addr[full])
		return 0;
	return 1;
}

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

static int port_in(const struct behavior *b, uint16_t port)
{
	return bsearch(&port, b->ports, b->n_ports, sizeof *b->ports, cmp_u16) != NULL;
}

/* ---- parsing ---- */

static const char *const top_ignored[] = {
	"securityProfileName", "securityProfileDescription", "alertTargets",
	"additionalMetricsToRetain", "additionalMetricsToRetainV2", "tags", "metricsExportConfig",
	/* describe-security-profile's output, so that it can be saved and used as it is */
	"securityProfileArn", "version", "creationDate", "lastModifiedDate",
};

static int in_list(const char *k, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(k, list[i]) == 0)
			return 1;
	return 0;
}

/* value.count: a non-negative integer, or its decimal digits as a string
 * (CloudFormation writes Count as a string). */
static int parse_count(struct pctx *c, json_t *v, uint64_t *out)
{
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return perr(c, MM_EINVALID, "criteria.value.count: must not be negative");
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		unsigned long long n;

		if (*s < '0' || *s > '9')
			return perr(c, MM_EINVALID, "criteria.value.count: \"%.32s\" is not a number",
				    s);
		errno = 0;
		n = strtoull(s, &end, 10);
		if (errno != 0 || *end != '\0' || n > (unsigned long long)INT64_MAX)
			return perr(c, MM_EINVALID, "criteria.value.count: \"%.32s\" is not a number",
				    s);
		*out = n;
		return 0;
	}
	return perr(c, MM_EINVALID, "criteria.value.count: must be a non-negative integer");
}

static int parse_ports(struct pctx *c, struct behavior *b, json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return perr(c, MM_EINVALID, "criteria.value.ports: must be an array of ports");
	if (json_array_size(v) > PROFILE_MAX_PORTS)
		return perr(c, MM_ETOOBIG, "criteria.value.ports: more than %d ports",
			    PROFILE_MAX_PORTS);
	if ((b->ports = calloc(json_array_size(v) + 1, sizeof *b->ports)) == NULL)
		return MM_ENOMEM;
	json_array_foreach(v, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 0 ||
		    json_integer_value(e) > 65535)
			return perr(c, MM_EINVALID,
				    "criteria.value.ports[%zu]: not a port (an integer 0..65535)", i);
		b->ports[b->n_ports++] = (uint16_t)json_integer_value(e);
	}
	qsort(b->ports, b->n_ports, sizeof *b->ports, cmp_u16);
	return 0;
}

static int parse_cidrs(struct pctx *c, struct behavior *b, json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return perr(c, MM_EINVALID, "criteria.value.cidrs: must be an array of CIDRs");
	if (json_array_size(v) > PROFILE_MAX_CIDRS)
		return perr(c, MM_ETOOBIG, "criteria.value.cidrs: more than %d CIDRs",
			    PROFILE_MAX_CIDRS);
	if ((b->cidrs = calloc(json_array_size(v) + 1, sizeof *b->cidrs)) == NULL)
		return MM_ENOMEM;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || parse_cidr(json_string_value(e), &b->cidrs[b->n_cidrs]) < 0)
			return perr(c, MM_EINVALID,
				    "criteria.value.cidrs[%zu]: not an IPv4 or IPv6 CIDR", i);
		b->n_cidrs++;
	}
	return 0;
}

static int parse_strings(struct pctx *c, struct behavior *b, json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return perr(c, MM_EINVALID, "criteria.value.strings: must be an array of strings");
	if (json_array_size(v) > PROFILE_MAX_STRINGS)
		return perr(c, MM_ETOOBIG, "criteria.value.strings: more than %d strings",
			    PROFILE_MAX_STRINGS);
	if ((b->strings = calloc(json_array_size(v) + 1, sizeof *b->strings)) == NULL)
		return MM_ENOMEM;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return perr(c, MM_EINVALID, "criteria.value.strings[%zu]: not a string", i);
		if (json_string_length(e) >= METRICS_STR_MAX ||
		    strlen(json_string_value(e)) != json_string_length(e))
			return perr(c, MM_ETOOBIG,
				    "criteria.value.strings[%zu]: longer than %d bytes or with a NUL",
				    i, METRICS_STR_MAX - 1);
		memcpy(b->strings[b->n_strings++], json_string_value(e), json_string_length(e) + 1);
	}
	return 0;
}

static int parse_numbers(struct pctx *c, struct behavior *b, json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return perr(c, MM_EINVALID, "criteria.value.numbers: must be an array of numbers");
	if (json_array_size(v) > PROFILE_MAX_NUMBERS)
		return perr(c, MM_ETOOBIG, "criteria.value.numbers: more than %d numbers",
			    PROFILE_MAX_NUMBERS);
	if ((b->numbers = calloc(json_array_size(v) + 1, sizeof *b->numbers)) == NULL)
		return MM_ENOMEM;
	json_array_foreach(v, i, e) {
		if (!json_is_number(e))
			return perr(c, MM_EINVALID, "criteria.value.numbers[%zu]: not a number", i);
		b->numbers[b->n_numbers++] = json_number_value(e);
	}
	return 0;
}

static int is_counter(enum mkind k)
{
	return k == MK_BYTES_IN || k == MK_BYTES_OUT || k == MK_PKTS_IN || k == MK_PKTS_OUT;
}

/* The member of value that the metric and operator take. */
static const char *value_member(const struct behavior *b, json_t *value)
{
	unsigned bit = 1u << b->op;

	if (bit & OPS_NUM)
		return b->kind == MK_CUSTOM ? "number" : "count";
	if (bit & OPS_PORT)
		return "ports";
	if (bit & OPS_CIDR)
		return "cidrs";
	/* in-set / not-in-set: a number-list or a string-list custom metric */
	return json_object_get(value, "strings") != NULL ? "strings" : "numbers";
}

static int parse_value(struct pctx *c, struct behavior *b, json_t *value)
{
	static const char *const members[] = {"count", "number", "numbers", "ports", "strings",
					      "cidrs"};
	const char *want, *k;
	json_t *v;

	if (!json_is_object(value))
		return perr(c, MM_EINVALID, "criteria.value: missing or not an object");
	want = value_member(b, value);
	json_object_foreach(value, k, v) {
		if (!in_list(k, members, sizeof members / sizeof members[0]))
			return perr(c, MM_EINVALID, "criteria.value.%.40s: unknown member", k);
		if (strcmp(k, want) != 0)
			return perr(c, MM_EINVALID,
				    "criteria.value.%s: does not apply to %s with %s (it takes "
				    "value.%s)", k, b->metric, op_names[b->op], want);
	}
	if ((v = json_object_get(value, want)) == NULL && (b->op == OP_IN_SET ||
							       b->op == OP_NOT_IN_SET))
		return perr(c, MM_EINVALID, "criteria.value: missing strings or numbers (%s with %s "
			    "takes one)", b->metric, op_names[b->op]);
	if (v == NULL)
		return perr(c, MM_EINVALID, "criteria.value.%s: missing (%s with %s takes it)", want,
			    b->metric, op_names[b->op]);
	if (strcmp(want, "count") == 0)
		return parse_count(c, v, &b->count);
	if (strcmp(want, "number") == 0) {
		if (!json_is_number(v))
			return perr(c, MM_EINVALID, "criteria.value.number: not a number");
		b->number = json_number_value(v);
		b->custom_num = 1;
		return 0;
	}
	if (strcmp(want, "ports") == 0)
		return parse_ports(c, b, v);
	if (strcmp(want, "cidrs") == 0)
		return parse_cidrs(c, b, v);
	if (strcmp(want, "strings") == 0)
		return parse_strings(c, b, v);
	return parse_numbers(c, b, v);
}

/* consecutiveDatapointsTo*: 1..10, default 1. */
static int parse_consecutive(struct pctx *c, json_t *crit, const char *key, int *out)
{
	json_t *v = json_object_get(crit, key);

	*out = 1;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > PROFILE_MAX_CONSECUTIVE)
		return perr(c, MM_EINVALID, "criteria.%s: must be an integer 1..%d", key,
			    PROFILE_MAX_CONSECUTIVE);
	*out = (int)json_integer_value(v);
	return 0;
}

static int parse_metric(struct pctx *c, struct behavior *b, json_t *jm)
{
	const char *m;

	if (!json_is_string(jm))
		return perr(c, MM_EINVALID, "metric: missing or not a string");
	m = json_string_value(jm);
	if (!valid_name(m, PROFILE_NAME_MAX))
		return perr(c, MM_EINVALID,
			    "metric: \"%.40s\" is not 1..%d characters of a-z A-Z 0-9 : _ -", m,
			    PROFILE_NAME_MAX);
	snprintf(b->metric, sizeof b->metric, "%s", m);
	for (size_t i = 0; i < sizeof mdefs / sizeof mdefs[0]; i++) {
		if (strcmp(m, mdefs[i].name) == 0) {
			b->kind = mdefs[i].kind;
			return 0;
		}
	}
	if (strncmp(m, "aws:", 4) == 0)
		return perr(c, MM_EINVALID,
			    "metric: %s is not a device-side metric that mamori measures", m);
	if (strncmp(m, "mamori:", 7) == 0)
		return perr(c, MM_EINVALID, "metric: %s is not a mamori metric", m);
	if (strlen(m) >= METRICS_NAME_MAX)
		return perr(c, MM_EINVALID, "metric: a custom metric's name is at most %d characters",
			    METRICS_NAME_MAX - 1);
	b->kind = MK_CUSTOM;
	return 0;
}

static int parse_op(struct pctx *c, struct behavior *b, json_t *crit)
{
	json_t *jo = json_object_get(crit, "comparisonOperator");
	unsigned allowed = OPS_NUM | OPS_CIDR | OPS_SET;
	size_t i;

	if (!json_is_string(jo))
		return perr(c, MM_EINVALID, "criteria.comparisonOperator: missing or not a string");
	for (i = 0; i < OP_COUNT; i++)
		if (strcmp(json_string_value(jo), op_names[i]) == 0)
			break;
	if (i == OP_COUNT)
		return perr(c, MM_EINVALID, "criteria.comparisonOperator: unknown operator \"%.32s\"",
			    json_string_value(jo));
	b->op = (enum op)i;
	if (b->kind != MK_CUSTOM) {
		for (size_t k = 0; k < sizeof mdefs / sizeof mdefs[0]; k++)
			if (mdefs[k].kind == b->kind)
				allowed = mdefs[k].ops;
	}
	if (!(allowed & (1u << b->op)))
		return perr(c, MM_EINVALID, "criteria.comparisonOperator: %s does not apply to %s",
			    op_names[b->op], b->metric);
	return 0;
}

static int parse_criteria(struct pctx *c, struct behavior *b, json_t *crit)
{
	static const char *const members[] = {"comparisonOperator", "value", "durationSeconds",
					      "consecutiveDatapointsToAlarm",
					      "consecutiveDatapointsToClear"};
	const char *k;
	json_t *v;
	int rc;

	if (!json_is_object(crit))
		return perr(c, MM_EINVALID, "criteria: missing or not an object");
	json_object_foreach(crit, k, v) {
		if (strcmp(k, "statisticalThreshold") == 0)
			return perr(c, MM_EINVALID,
				    "criteria.statisticalThreshold: statistical thresholds compare "
				    "devices with each other and are not supported on a device");
		if (strcmp(k, "mlDetectionConfig") == 0)
			return perr(c, MM_EINVALID,
				    "criteria.mlDetectionConfig: ML Detect is not supported");
		if (!in_list(k, members, sizeof members / sizeof members[0]))
			return perr(c, MM_EINVALID, "criteria.%.40s: unknown member", k);
	}
	if ((rc = parse_op(c, b, crit)) < 0)
		return rc;
	if ((rc = parse_value(c, b, json_object_get(crit, "value"))) < 0)
		return rc;
	if ((rc = parse_consecutive(c, crit, "consecutiveDatapointsToAlarm", &b->to_alarm)) < 0 ||
	    (rc = parse_consecutive(c, crit, "consecutiveDatapointsToClear", &b->to_clear)) < 0)
		return rc;
	if ((v = json_object_get(crit, "durationSeconds")) != NULL) {
		if (!is_counter(b->kind))
			return perr(c, MM_EINVALID,
				    "criteria.durationSeconds: applies only to the counter metrics "
				    "(aws:all-bytes-in, aws:all-bytes-out, aws:all-packets-in, "
				    "aws:all-packets-out)");
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > PROFILE_MAX_DURATION)
			return perr(c, MM_EINVALID,
				    "criteria.durationSeconds: must be an integer 1..%d",
				    PROFILE_MAX_DURATION);
		b->duration_s = json_integer_value(v);
	}
	return 0;
}

static int parse_behavior(struct pctx *c, struct profile *p, json_t *jb)
{
	static const char *const members[] = {"name", "metric", "criteria", "suppressAlerts",
					      "exportMetric"};
	struct behavior *b = &p->b[p->n];
	json_t *jn, *v;
	const char *k;
	int rc;

	if (!json_is_object(jb))
		return perr(c, MM_EINVALID, "not an object");
	jn = json_object_get(jb, "name");
	if (!json_is_string(jn))
		return perr(c, MM_EINVALID, "name: missing or not a string");
	if (!valid_name(json_string_value(jn), PROFILE_NAME_MAX))
		return perr(c, MM_EINVALID,
			    "name: \"%.40s\" is not 1..%d characters of a-z A-Z 0-9 : _ -",
			    json_string_value(jn), PROFILE_NAME_MAX);
	snprintf(b->name, sizeof b->name, "%s", json_string_value(jn));
	c->name = b->name;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->b[i].name, b->name) == 0)
			return perr(c, MM_EINVALID, "name: the same as behaviors[%zu]'s", i);
	json_object_foreach(jb, k, v) {
		if (strcmp(k, "metricDimension") == 0)
			return perr(c, MM_EINVALID,
				    "metricDimension: metric dimensions (topic filters, client ids) "
				    "are not supported");
		if (!in_list(k, members, sizeof members / sizeof members[0]))
			return perr(c, MM_EINVALID, "%.40s: unknown member", k);
	}
	if ((rc = parse_metric(c, b, json_object_get(jb, "metric"))) < 0)
		return rc;
	if ((rc = parse_criteria(c, b, json_object_get(jb, "criteria"))) < 0)
		return rc;
	if ((v = json_object_get(jb, "suppressAlerts")) != NULL) {
		if (!json_is_boolean(v))
			return perr(c, MM_EINVALID, "suppressAlerts: not true or false");
		b->suppress = json_is_true(v);
	}
	if ((v = json_object_get(jb, "exportMetric")) != NULL && !json_is_boolean(v))
		return perr(c, MM_EINVALID, "exportMetric: not true or false");
	b->first_start_ms = -1;
	p->n++;
	return 0;
}

static int parse_doc(struct pctx *c, struct profile *p, json_t *root)
{
	json_t *jbs, *jb, *v;
	const char *k;
	size_t i;
	int rc;

	if (!json_is_object(root))
		return perr(c, MM_EPARSE, "the profile is not a JSON object");
	json_object_foreach(root, k, v) {
		if (strcmp(k, "behaviors") != 0 &&
		    !in_list(k, top_ignored, sizeof top_ignored / sizeof top_ignored[0]))
			return perr(c, MM_EINVALID, "%.40s: unknown member", k);
	}
	jbs = json_object_get(root, "behaviors");
	if (!json_is_array(jbs))
		return perr(c, MM_EINVALID, "behaviors: missing or not an array");
	if (json_array_size(jbs) == 0)
		return perr(c, MM_EINVALID, "behaviors: empty, nothing to check");
	if (json_array_size(jbs) > PROFILE_MAX_BEHAVIORS)
		return perr(c, MM_ETOOBIG, "behaviors: more than %d behaviours",
			    PROFILE_MAX_BEHAVIORS);
	if ((p->b = calloc(json_array_size(jbs), sizeof *p->b)) == NULL)
		return MM_ENOMEM;
	json_array_foreach(jbs, i, jb) {
		c->idx = i;
		c->name = NULL;
		if ((rc = parse_behavior(c, p, jb)) < 0) {
			/* the half-parsed behaviour's lists are freed with the profile */
			p->n++;
			return rc;
		}
	}
	return 0;
}

/*
 * Parses a profile document. On success *out owns the profile (free it with
 * profile_free). On error *out is NULL, err says which behaviour and member
 * and the return is MM_EPARSE (not JSON), MM_EINVALID (against the format),
 * MM_ETOOBIG (past a bound) or MM_ENOMEM.
 *
 *	char err[256];
 *	if (profile_parse(text, len, &p, err, sizeof err) < 0)
 *		log_warnx("profile: %s", err);
 */
int profile_parse(const char *text, size_t len, struct profile **out, char *err, size_t errlen)
{
	struct pctx c = {err, errlen, SIZE_MAX, NULL};
	struct profile *p;
	json_error_t je;
	json_t *root;
	int rc;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > PROFILE_FILE_MAX)
		return perr(&c, MM_ETOOBIG, "the profile is larger than %d bytes", PROFILE_FILE_MAX);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return perr(&c, MM_EPARSE, "not JSON: line %d column %d: %s", je.line, je.column,
			    je.text);
	if ((p = calloc(1, sizeof *p)) == NULL) {
		json_decref(root);
		return MM_ENOMEM;
	}
	rc = parse_doc(&c, p, root);
	json_decref(root);
	if (rc < 0) {
		if (rc == MM_ENOMEM)
			perr(&c, rc, "out of memory");
		profile_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* Reads a file of at most 1 MiB and parses it; errors as profile_parse, and
 * MM_EIO (err says why) when the file cannot be read. */
int profile_load(const char *path, struct profile **out, char *err, size_t errlen)
{
	struct pctx c = {err, errlen, SIZE_MAX, NULL};
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return perr(&c, MM_EIO, "%s: %s", path, strerror(errno));
	if ((buf = malloc(PROFILE_FILE_MAX + 1)) == NULL) {
		close(fd);
		return MM_ENOMEM;
	}
	for (;;) {
		n = read(fd, buf + len, PROFILE_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = perr(&c, MM_EIO, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > PROFILE_FILE_MAX) {
			rc = perr(&c, MM_ETOOBIG, "%s: larger than %d bytes", path,
				  PROFILE_FILE_MAX);
			goto fail;
		}
	}
	rc = profile_parse(buf, len, out, err, errlen);
fail:
	close(fd);
	free(buf);
	return rc;
}

/* Frees p and everything it holds; NULL is allowed. */
void profile_free(struct profile *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->b[i].ports);
		free(p->b[i].cidrs);
		free(p->b[i].strings);
		free(p->b[i].numbers);
		free(p->b[i].ring);
	}
	free(p->b);
	free(p);
}

/* The number of behaviours of p. */
size_t profile_count(const struct profile *p)
{
	return p->n;
}

/* ---- evaluation ---- */

enum status { ST_MISSING, ST_GOOD, ST_BAD };

/* One datapoint's outcome for one behaviour, and what to put in its event. */
struct outcome {
	enum status st;
	enum { V_NONE, V_UINT, V_REAL, V_PORTS, V_STRS, V_NUMS } vk;
	uint64_t u;
	double d;
	size_t n, bytes;
	uint16_t ports[VALUE_MAX_ENTRIES];
	const char *strs[VALUE_MAX_ENTRIES];
	double nums[VALUE_MAX_ENTRIES];
};

/* Keeps the smallest VALUE_MAX_ENTRIES distinct ports, sorted. */
static void out_port(struct outcome *o, uint16_t port)
{
	size_t i = 0;

	while (i < o->n && o->ports[i] < port)
		i++;
	if (i < o->n && o->ports[i] == port)
		return;
	if (i == VALUE_MAX_ENTRIES)
		return;
	if (o->n == VALUE_MAX_ENTRIES)
		o->n--;
	memmove(o->ports + i + 1, o->ports + i, (o->n - i) * sizeof *o->ports);
	o->ports[i] = port;
	o->n++;
}

/* Keeps the first distinct strings that fit VALUE_MAX_BYTES. */
static void out_str(struct outcome *o, const char *s)
{
	size_t len = strnlen(s, METRICS_STR_MAX);

	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->strs[i], s) == 0)
			return;
	if (o->n == VALUE_MAX_ENTRIES || o->bytes + len + 3 > VALUE_MAX_BYTES)
		return;
	o->strs[o->n++] = s;
	o->bytes += len + 3;
}

static void out_num(struct outcome *o, double d)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->nums[i] == d)
			return;
	if (o->n < VALUE_MAX_ENTRIES)
		o->nums[o->n++] = d;
}

/* Whether a port (or address, string, number) offends the set operator:
 * in-*-set wants every one inside the set, not-in-*-set every one outside. */
static int set_bad(enum op op, int inside)
{
	return (op == OP_IN_PORT || op == OP_IN_CIDR || op == OP_IN_SET) ? !inside : inside;
}

static int addr_bad(const struct behavior *b, const char *s)
{
	uint8_t fam, addr[16];
	int inside = 0;

	if (parse_addr(s, &fam, addr) < 0)
		return 0; /* not an address: nothing to compare (metrics.c writes valid ones) */
	for (size_t i = 0; i < b->n_cidrs && !inside; i++)
		inside = cidr_match(&b->cidrs[i], fam, addr);
	return set_bad(b->op, inside);
}

static int cmp_ok_u(enum op op, uint64_t v, uint64_t t)
{
	switch (op) {
	case OP_LT: return v < t;
	case OP_LE: return v <= t;
	case OP_GT: return v > t;
	default: return v >= t;
	}
}

static int cmp_ok_d(enum op op, double v, double t)
{
	switch (op) {
	case OP_LT: return v < t;
	case OP_LE: return v <= t;
	case OP_GT: return v > t;
	default: return v >= t;
	}
}

static uint64_t counter_delta(uint64_t prev, uint64_t cur)
{
	return cur >= prev ? cur - prev : 0;
}

static uint64_t counter_of(enum mkind k, const struct metrics *m)
{
	switch (k) {
	case MK_BYTES_IN: return m->bytes_in;
	case MK_BYTES_OUT: return m->bytes_out;
	case MK_PKTS_IN: return m->packets_in;
	default: return m->packets_out;
	}
}

/* Whether port is a listening TCP port of m: a connection to it was accepted. */
static int listening_tcp(const struct metrics *m, uint16_t port)
{
	for (size_t i = 0; i < m->n_tcp && i < METRICS_MAX_PORTS; i++)
		if (m->tcp[i].port == port)
			return 1;
	return 0;
}

/*
 * Adds one delta to the durationSeconds window and returns 1 with the
 * window's sum once the window has been covered since the first delta (a
 * partial window would make a greater-than behaviour alarm at start).
 */
static int window_sum(struct profile *p, struct behavior *b, const struct metrics *prev,
		      const struct metrics *cur, uint64_t delta, uint64_t *sum)
{
	int64_t from = cur->mono_ms - b->duration_s * 1000;
	size_t i;

	/* drop what left the window */
	while (b->ring_n > 0 && b->ring[b->ring_head].end_ms <= from) {
		b->ring_head = (b->ring_head + 1) % b->ring_cap;
		b->ring_n--;
	}
	if (b->ring_n == b->ring_cap) {
		size_t ncap = b->ring_cap ? b->ring_cap * 2 : 16;
		struct sample *nr;

		if (ncap > PROFILE_RING_MAX)
			ncap = PROFILE_RING_MAX;
		if (ncap > b->ring_cap && (nr = calloc(ncap, sizeof *nr)) != NULL) {
			for (i = 0; i < b->ring_n; i++)
				nr[i] = b->ring[(b->ring_head + i) % b->ring_cap];
			free(b->ring);
			b->ring = nr;
			b->ring_cap = ncap;
			b->ring_head = 0;
		} else if (b->ring_cap == 0) {
			return 0; /* no memory for a first window: this datapoint does not count */
		} else {
			/* at the bound (or no memory): the oldest datapoint goes */
			b->ring_head = (b->ring_head + 1) % b->ring_cap;
			b->ring_n--;
			p->ring_dropped++;
		}
	}
	b->ring[(b->ring_head + b->ring_n) % b->ring_cap] =
		(struct sample){.end_ms = cur->mono_ms, .v = delta};
	b->ring_n++;
	if (b->first_start_ms < 0)
		b->first_start_ms = prev->mono_ms;
	if (cur->mono_ms - b->first_start_ms < b->duration_s * 1000)
		return 0;
	*sum = 0;
	for (i = 0; i < b->ring_n; i++) {
		uint64_t v = b->ring[(b->ring_head + i) % b->ring_cap].v;

		*sum = v > UINT64_MAX - *sum ? UINT64_MAX : *sum + v;
	}
	return 1;
}

static const struct metric_custom *find_custom(const struct metrics *m, const char *name)
{
	for (size_t i = 0; i < m->n_custom && i < METRICS_MAX_CUSTOM; i++)
		if (strncmp(m->custom[i].name, name, METRICS_NAME_MAX) == 0)
			return &m->custom[i];
	return NULL;
}

/* A custom metric: missing when not reported or not of the behaviour's type. */
static void eval_custom(const struct behavior *b, const struct metrics *cur, struct outcome *o)
{
	const struct metric_custom *mc = find_custom(cur, b->metric);
	size_t n;

	if (mc == NULL)
		return;
	n = mc->n < METRICS_MAX_VALUES ? mc->n : METRICS_MAX_VALUES;
	if (b->custom_num) {
		if (mc->type != METRIC_NUMBER || n < 1)
			return;
		o->vk = V_REAL;
		o->d = mc->num[0];
		o->st = cmp_ok_d(b->op, mc->num[0], b->number) ? ST_GOOD : ST_BAD;
		return;
	}
	o->st = ST_GOOD;
	if (b->cidrs != NULL && mc->type == METRIC_IP_LIST) {
		o->vk = V_STRS;
		for (size_t i = 0; i < n; i++)
			if (addr_bad(b, mc->str[i])) {
				o->st = ST_BAD;
				out_str(o, mc->str[i]);
			}
	} else if (b->strings != NULL && mc->type == METRIC_STRING_LIST) {
		o->vk = V_STRS;
		for (size_t i = 0; i < n; i++) {
			int inside = 0;

			for (size_t k = 0; k < b->n_strings && !inside; k++)
				inside = strncmp(mc->str[i], b->strings[k], METRICS_STR_MAX) == 0;
			if (set_bad(b->op, inside)) {
				o->st = ST_BAD;
				out_str(o, mc->str[i]);
			}
		}
	} else if (b->numbers != NULL && mc->type == METRIC_NUMBER_LIST) {
		o->vk = V_NUMS;
		for (size_t i = 0; i < n; i++) {
			int inside = 0;

			for (size_t k = 0; k < b->n_numbers && !inside; k++)
				inside = mc->num[i] == b->numbers[k];
			if (set_bad(b->op, inside)) {
				o->st = ST_BAD;
				out_num(o, mc->num[i]);
			}
		}
	} else {
		o->st = ST_MISSING;
	}
}

static void eval_ports(const struct behavior *b, const struct metrics *cur, struct outcome *o)
{
	const struct metric_port *ports = b->kind == MK_LISTEN_TCP ? cur->tcp : cur->udp;
	size_t n = b->kind == MK_LISTEN_TCP ? cur->n_tcp : cur->n_udp, i;

	o->st = ST_GOOD;
	o->vk = V_PORTS;
	if (b->kind == MK_REMOTE_PORTS) {
		/* Connections the device opened: those accepted on a listening port
		 * have the client's ephemeral port as their remote port. */
		for (i = 0; i < cur->n_conn && i < METRICS_MAX_CONNS; i++) {
			const struct metric_conn *mc = &cur->conn[i];

			if (!listening_tcp(cur, mc->lport) && set_bad(b->op, port_in(b, mc->rport))) {
				o->st = ST_BAD;
				out_port(o, mc->rport);
			}
		}
		return;
	}
	for (i = 0; i < n && i < METRICS_MAX_PORTS; i++) {
		if (set_bad(b->op, port_in(b, ports[i].port))) {
			o->st = ST_BAD;
			out_port(o, ports[i].port);
		}
	}
}

static void eval_one(struct profile *p, struct behavior *b, const struct metrics *cur,
		     const struct metrics *prev, struct outcome *o)
{
	uint64_t v;

	memset(o, 0, sizeof *o);
	o->st = ST_MISSING;
	switch (b->kind) {
	case MK_LISTEN_TCP:
	case MK_LISTEN_UDP:
	case MK_REMOTE_PORTS:
		eval_ports(b, cur, o);
		return;
	case MK_DEST_IP:
		o->st = ST_GOOD;
		o->vk = V_STRS;
		for (size_t i = 0; i < cur->n_conn && i < METRICS_MAX_CONNS; i++) {
			const char *a = cur->conn[i].remote;

			/* a field without its NUL is not an address */
			if (memchr(a, '\0', sizeof cur->conn[i].remote) != NULL && addr_bad(b, a)) {
				o->st = ST_BAD;
				out_str(o, cur->conn[i].remote);
			}
		}
		return;
	case MK_CUSTOM:
		eval_custom(b, cur, o);
		return;
	case MK_NUM_LISTEN_TCP: v = cur->total_tcp; break;
	case MK_NUM_LISTEN_UDP: v = cur->total_udp; break;
	case MK_NUM_ESTAB: v = cur->total_conn; break;
	case MK_NUM_PROCS: v = cur->processes; break;
	default:
		/* counters: the first set has nothing to compare with */
		if (prev == NULL || cur->mono_ms <= prev->mono_ms)
			return;
		v = counter_delta(counter_of(b->kind, prev), counter_of(b->kind, cur));
		if (b->duration_s > 0 && !window_sum(p, b, prev, cur, v, &v))
			return;
		break;
	}
	o->vk = V_UINT;
	o->u = v;
	o->st = cmp_ok_u(b->op, v, b->count) ? ST_GOOD : ST_BAD;
}

static json_t *outcome_json(const struct outcome *o)
{
	json_t *a;
	size_t i;

	switch (o->vk) {
	case V_UINT:
		return json_integer(o->u > (uint64_t)JSON_INT_MAX ? JSON_INT_MAX
								      : (json_int_t)o->u);
	case V_REAL:
		return json_real(isfinite(o->d) ? o->d : 0);
	case V_NONE:
		return json_null();
	default:
		break;
	}
	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < o->n; i++) {
		json_t *e = o->vk == V_PORTS  ? json_integer(o->ports[i])
			    : o->vk == V_NUMS ? json_real(isfinite(o->nums[i]) ? o->nums[i] : 0)
					      : json_string(o->strs[i]);

		/* a string that is not UTF-8 (from a custom source) is left out */
		if (e != NULL)
			json_array_append_new(a, e);
	}
	return a;
}

static void report(const struct behavior *b, const struct outcome *o, int violated,
		   int64_t datapoints, void (*fn)(const struct profile_change *c, void *arg),
		   void *arg)
{
	struct profile_change c;

	if (fn == NULL || b->suppress)
		return;
	c.behavior = b->name;
	c.metric = b->metric;
	c.op = op_names[b->op];
	c.violated = violated;
	c.datapoints = datapoints;
	c.value = outcome_json(o);
	fn(&c, arg);
	json_decref(c.value);
}

/*
 * Evaluates one datapoint of every behaviour (see detect.h). A behaviour
 * whose metric is missing from cur, or a counter without prev, keeps its
 * counts as they were. Suppressed behaviours (suppressAlerts) keep their
 * state and count in the result but fn is not called for them.
 */
int profile_eval(struct profile *p, const struct metrics *cur, const struct metrics *prev,
		 void (*fn)(const struct profile_change *c, void *arg), void *arg)
{
	struct outcome o;
	int in_violation = 0;

	for (size_t i = 0; i < p->n; i++) {
		struct behavior *b = &p->b[i];

		eval_one(p, b, cur, prev, &o);
		if (o.st == ST_BAD) {
			b->run_good = 0;
			if (b->run_bad < INT32_MAX)
				b->run_bad++;
			if (!b->violated && b->run_bad >= b->to_alarm) {
				b->violated = 1;
				report(b, &o, 1, b->run_bad, fn, arg);
			}
		} else if (o.st == ST_GOOD) {
			b->run_bad = 0;
			if (b->violated && ++b->run_good >= b->to_clear) {
				b->violated = 0;
				report(b, &o, 0, b->run_good, fn, arg);
				b->run_good = 0;
			}
		}
		in_violation += b->violated;
	}
	return in_violation;
}

/* ---- learning ---- */

#define LEARN_MAX_ADDRS PROFILE_MAX_CIDRS

struct learn_addr {
	uint8_t family;
	uint8_t addr[16];
};

struct profile_learner {
	uint8_t tcp[65536 / 8], udp[65536 / 8], rport[65536 / 8];
	size_t n_addrs;
	uint64_t addrs_dropped;
	struct learn_addr addrs[LEARN_MAX_ADDRS];
	uint64_t max_tcp, max_udp, max_conn, max_procs;
	uint64_t max_delta[4]; /* bytes in, bytes out, packets in, packets out */
	uint64_t datapoints, deltas;
};

/* Allocates an empty learner: 0 or MM_ENOMEM. */
int profile_learn_new(struct profile_learner **out)
{
	return (*out = calloc(1, sizeof **out)) != NULL ? 0 : MM_ENOMEM;
}

/* Frees l; NULL is allowed. */
void profile_learn_free(struct profile_learner *l)
{
	free(l);
}

static void bit_set(uint8_t *bits, uint16_t port)
{
	bits[port / 8] |= (uint8_t)(1u << (port % 8));
}

static int bit_get(const uint8_t *bits, uint16_t port)
{
	return (bits[port / 8] >> (port % 8)) & 1;
}

static void learn_addr(struct profile_learner *l, const char *s)
{
	char a[sizeof l->addrs[0].addr * 3];
	struct learn_addr la;

	snprintf(a, sizeof a, "%.*s", (int)strnlen(s, 46), s);
	if (parse_addr(a, &la.family, la.addr) < 0)
		return;
	for (size_t i = 0; i < l->n_addrs; i++)
		if (l->addrs[i].family == la.family && memcmp(l->addrs[i].addr, la.addr, 16) == 0)
			return;
	if (l->n_addrs == LEARN_MAX_ADDRS) {
		l->addrs_dropped++;
		return;
	}
	l->addrs[l->n_addrs++] = la;
}

static void max_u(uint64_t *m, uint64_t v)
{
	if (v > *m)
		*m = v;
}

/* Adds one datapoint set (prev: the one before, NULL for the first). */
void profile_learn_add(struct profile_learner *l, const struct metrics *cur,
		       const struct metrics *prev)
{
	size_t i;

	l->datapoints++;
	for (i = 0; i < cur->n_tcp && i < METRICS_MAX_PORTS; i++)
		bit_set(l->tcp, cur->tcp[i].port);
	for (i = 0; i < cur->n_udp && i < METRICS_MAX_PORTS; i++)
		bit_set(l->udp, cur->udp[i].port);
	for (i = 0; i < cur->n_conn && i < METRICS_MAX_CONNS; i++) {
		learn_addr(l, cur->conn[i].remote);
		if (!listening_tcp(cur, cur->conn[i].lport))
			bit_set(l->rport, cur->conn[i].rport);
	}
	max_u(&l->max_tcp, cur->total_tcp);
	max_u(&l->max_udp, cur->total_udp);
	max_u(&l->max_conn, cur->total_conn);
	max_u(&l->max_procs, cur->processes);
	if (prev != NULL && cur->mono_ms > prev->mono_ms) {
		static const enum mkind k[4] = {MK_BYTES_IN, MK_BYTES_OUT, MK_PKTS_IN, MK_PKTS_OUT};

		for (i = 0; i < 4; i++)
			max_u(&l->max_delta[i],
			      counter_delta(counter_of(k[i], prev), counter_of(k[i], cur)));
		l->deltas++;
	}
}

/* One behaviour of a learnt profile; NULL on no memory (value is stolen). */
static json_t *learnt(const char *name, const char *metric, const char *op, json_t *value)
{
	if (value == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:{s:s, s:o, s:i, s:i}}", "name", name, "metric", metric,
			 "criteria", "comparisonOperator", op, "value", value,
			 "consecutiveDatapointsToAlarm", 1, "consecutiveDatapointsToClear", 1);
}

/* Ports of a bitmap as value.ports, NULL when more than a behaviour holds. */
static json_t *ports_value(const uint8_t *bits)
{
	json_t *a = json_array();
	size_t n = 0;

	if (a == NULL)
		return NULL;
	for (unsigned p = 0; p < 65536; p++) {
		if (!bit_get(bits, (uint16_t)p))
			continue;
		if (++n > PROFILE_MAX_PORTS || json_array_append_new(a, json_integer(p)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return json_pack("{s:o}", "ports", a);
}

static json_t *count_value(uint64_t v)
{
	return json_pack("{s:I}", "count",
			 (json_int_t)(v > (uint64_t)JSON_INT_MAX ? JSON_INT_MAX : v));
}

/* max plus half of it, rounded up: the margin for what varies from one interval to the next. */
static uint64_t margin(uint64_t max)
{
	uint64_t half = max / 2 + (max & 1);

	return max > UINT64_MAX - half ? UINT64_MAX : max + half;
}

static int add_behavior(json_t *bs, json_t *b)
{
	return b != NULL ? json_array_append_new(bs, b) : MM_ENOMEM;
}

/*
 * Writes a profile that every datapoint given to l passes (see
 * docs/formats/profile.md for the behaviours and their thresholds).
 * Returns a new reference, or NULL on no memory.
 */
json_t *profile_learn_json(const struct profile_learner *l)
{
	static const char *const cnames[4] = {"aws:all-bytes-in", "aws:all-bytes-out",
					      "aws:all-packets-in", "aws:all-packets-out"};
	static const char *const cbnames[4] = {"learned-all-bytes-in", "learned-all-bytes-out",
					       "learned-all-packets-in", "learned-all-packets-out"};
	json_t *root, *bs = json_array(), *v;
	char desc[128];
	int rc = 0;

	if (bs == NULL)
		return NULL;
	v = ports_value(l->tcp);
	if (v != NULL)
		rc |= add_behavior(bs, learnt("learned-listening-tcp-ports",
					      "aws:listening-tcp-ports", "in-port-set", v));
	v = ports_value(l->udp);
	if (v != NULL)
		rc |= add_behavior(bs, learnt("learned-listening-udp-ports",
					      "aws:listening-udp-ports", "in-port-set", v));
	v = ports_value(l->rport);
	if (v != NULL)
		rc |= add_behavior(bs, learnt("learned-remote-ports", "mamori:remote-ports",
					      "in-port-set", v));
	if (l->addrs_dropped == 0) {
		json_t *a = json_array();

		for (size_t i = 0; a != NULL && i < l->n_addrs; i++) {
			char s[INET6_ADDRSTRLEN + 8], t[INET6_ADDRSTRLEN];

			inet_ntop(l->addrs[i].family, l->addrs[i].addr, t, sizeof t);
			snprintf(s, sizeof s, "%s/%d", t, l->addrs[i].family == AF_INET ? 32 : 128);
			if (json_array_append_new(a, json_string(s)) < 0)
				rc = MM_ENOMEM;
		}
		rc |= add_behavior(bs, learnt("learned-destination-ip-addresses",
					      "aws:destination-ip-addresses", "in-cidr-set",
					      a ? json_pack("{s:o}", "cidrs", a) : NULL));
	}
	rc |= add_behavior(bs, learnt("learned-num-listening-tcp-ports",
				      "aws:num-listening-tcp-ports", "less-than-equals",
				      count_value(l->max_tcp)));
	rc |= add_behavior(bs, learnt("learned-num-listening-udp-ports",
				      "aws:num-listening-udp-ports", "less-than-equals",
				      count_value(l->max_udp)));
	rc |= add_behavior(bs, learnt("learned-num-established-tcp-connections",
				      "aws:num-established-tcp-connections", "less-than-equals",
				      count_value(margin(l->max_conn))));
	rc |= add_behavior(bs, learnt("learned-num-processes", "mamori:num-processes",
				      "less-than-equals", count_value(margin(l->max_procs))));
	for (size_t i = 0; l->deltas > 0 && i < 4; i++)
		rc |= add_behavior(bs, learnt(cbnames[i], cnames[i], "less-than-equals",
					      count_value(margin(l->max_delta[i]))));
	if (rc != 0) {
		json_decref(bs);
		return NULL;
	}
	snprintf(desc, sizeof desc, "learnt by mamori profile learn from %llu datapoints",
		 (unsigned long long)l->datapoints);
	root = json_pack("{s:s, s:s, s:o}", "securityProfileName", "learned",
			 "securityProfileDescription", desc, "behaviors", bs);
	return root;
}
