/*
 * Alert rules: matching and counting in the writer thread, actions in their
 * own thread.
 *
 * Each rule keeps a table of groups (one per distinct value of its group_by
 * fields), bounded by max_groups. A group remembers the receive times of the
 * matching events of the last window (at most count of them: once count are
 * inside the window the rule fires and the group starts over), when its
 * suppression ends, and short summaries of its latest events. Firing builds
 * the alert JSON once and hands it to the action thread through a bounded
 * queue, so that a slow webhook or command never holds up the writer.
 */
#define _GNU_SOURCE /* pipe2, posix_spawn_file_actions_addclosefrom_np, environ */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alert.h"
#include "mamori/buf.h"
#include "mamori/clock.h"
#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/send.h"
#include "mamori/syslog.h"
#include "mamori/x1367.h"

#define QUEUE_MAX 256             /* alerts waiting for their actions */
#define STOP_DEADLINE_MS 5000     /* alert_free() waits this long for queued actions */
#define COUNT_MAX 1000            /* a rule's count at most (each group keeps count times) */
#define WINDOW_MAX_S (7 * 86400)
#define GROUPS_DEFAULT 1024
#define GROUPS_MAX 100000
#define TIMEOUT_DEFAULT_S 10
#define TIMEOUT_MAX_S 300
#define ARGV_MAX 32               /* words of a command action */
#define KEY_MAX 1024              /* bytes of one group key */
#define SYSLOG_MAX (64 * 1024)    /* one forwarded alert message */
#define FACILITY_AUDIT 13         /* "log audit", as mamori send uses */

/* The fields an alert can be grouped by, in the order of their names. */
enum gb_field {
	GB_DEVICE,
	GB_REQUESTER,
	GB_REPORTER,
	GB_RESPONDER,
	GB_PEER,
	GB_TYPE,
	GB_CODE,
	GB_PROTOCOL,
	GB_KEY,
	GB_COUNT,
};
static const char *const gb_names[GB_COUNT] = {"device",    "requester", "reporter",
					       "responder", "peer",      "type",
					       "code",      "protocol",  "key"};

static const char *const severities[8] = {"emerg",   "alert",  "crit", "err",
					  "warning", "notice", "info", "debug"};

static const char *const categories[8] = {"no-error", "communication", "security", "command",
					  "device",   "reserved",      "private",  "others"};

enum action_kind { ACT_LOG, ACT_SYSLOG, ACT_WEBHOOK, ACT_COMMAND };

struct action {
	enum action_kind kind;
	char *text;               /* the value as configured, for messages */
	struct mm_send_url url;   /* syslog */
	char *webhook;            /* webhook URL */
	char *words;              /* command: the words, NUL-separated */
	char *argv[ARGV_MAX + 1]; /* command: pointers into words */
};

struct group {
	struct group *next; /* hash chain */
	uint64_t hash;
	char *key;
	json_t *fields;     /* the group_by fields as the alert shows them */
	int64_t *times;     /* ring of receive times, capacity rule->count */
	unsigned head, n;
	int64_t last_ms;
	int64_t suppress_until;
	json_t *events;     /* summaries of the latest events, at most ALERT_MAX_EVENTS */
};

/* Which scalar keys were given, to refuse a key given twice. */
enum rule_key {
	K_TYPE,
	K_CODE,
	K_CATEGORY,
	K_DEVICE,
	K_PROTOCOL,
	K_KIND,
	K_COUNT,
	K_WINDOW,
	K_GROUP_BY,
	K_SUPPRESS,
	K_SEVERITY,
	K_MAX_GROUPS,
	K_TIMEOUT,
	K_NKEYS,
};
static const char *const key_names[K_NKEYS] = {
	"type",  "code",   "category", "device",   "protocol",   "kind",   "count",
	"window", "group_by", "suppress", "severity", "max_groups", "timeout"};

struct rule {
	char *name;
	unsigned given; /* bits of enum rule_key */
	char *type, *device, *protocol, *kind;
	uint8_t codes[32]; /* bitmap of the code condition */
	int has_codes;
	int category;      /* -1: any */
	int count;
	int64_t window_ms;
	int64_t suppress_ms;
	int severity;
	int max_groups;
	int timeout_s;
	uint8_t group_by[GB_COUNT];
	int ngroup_by;
	struct action actions[ALERT_MAX_ACTIONS];
	int nactions;
	char *headers[ALERT_MAX_HEADERS];
	int nheaders;
	struct group **buckets;
	size_t nbuckets;
	size_t ngroups;
};

struct job {
	const struct rule *rule;
	char *json;
};

struct alert {
	struct rule *rules[ALERT_MAX_RULES];
	int nrules;
	char hostname[256];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job queue[QUEUE_MAX];
	unsigned qhead, qlen;
	int stopping;
	int started;
	int curl_inited;
	pthread_t thread;
	uint64_t groups_dropped;        /* writer thread only */
	_Atomic uint64_t queue_dropped; /* written under lock, read anywhere */
};

/* What one event or notification offers to the rules. */
struct subject {
	const char *type;
	const char *f[GB_COUNT]; /* string fields by enum gb_field; NULL when absent */
	const char *kind;
	int code;                /* -1: none */
	int64_t t_ms;
	const struct soc_event *ev;
	json_t *detail;
};

/* ---- small helpers ---- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A whole decimal number in [min, max]. */
static int parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return MM_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return MM_EINVAL;
	*out = v;
	return 0;
}

/* One code in hexadecimal, as X.1367 writes them: "0x2f", "2F", "2f". */
static int parse_code(const char *s, size_t len, int *out)
{
	int v = 0, d;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		i = 2;
	if (len - i < 1 || len - i > 2)
		return MM_EINVAL;
	for (; i < len; i++) {
		if ((d = mm_hex_digit((unsigned char)s[i])) < 0)
			return MM_EINVAL;
		v = v * 16 + d;
	}
	*out = v;
	return 0;
}

/* A list of codes and ranges: "0x20", "20,21", "0x20-0x2f, 0x30". */
static int parse_codes(const char *s, uint8_t bits[32])
{
	const char *p = s;
	int any = 0;

	memset(bits, 0, 32);
	while (*p) {
		const char *start, *dash, *end;
		int lo, hi, c;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		end = p;
		dash = memchr(start, '-', (size_t)(end - start));
		if (dash) {
			if (parse_code(start, (size_t)(dash - start), &lo) < 0 ||
			    parse_code(dash + 1, (size_t)(end - dash - 1), &hi) < 0 || lo > hi)
				return MM_EINVAL;
		} else {
			if (parse_code(start, (size_t)(end - start), &lo) < 0)
				return MM_EINVAL;
			hi = lo;
		}
		for (c = lo; c <= hi; c++)
			bits[c / 8] |= (uint8_t)(1u << (c % 8));
		any = 1;
	}
	return any ? 0 : MM_EINVAL;
}

static int name_index(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* Exact, or a shell glob when the pattern has one of * ? [. */
static int pattern_match(const char *pattern, const char *s)
{
	if (pattern == NULL)
		return 1;
	if (s == NULL)
		return 0;
	if (strpbrk(pattern, "*?[") != NULL)
		return fnmatch(pattern, s, 0) == 0;
	return strcmp(pattern, s) == 0;
}

/* ---- rule set up ---- */

static struct rule *rule_find(struct alert *a, const char *name)
{
	int i;

	for (i = 0; i < a->nrules; i++)
		if (strcmp(a->rules[i]->name, name) == 0)
			return a->rules[i];
	return NULL;
}

static struct rule *rule_create(struct alert *a, const char *name)
{
	struct rule *r;

	if (a->nrules >= ALERT_MAX_RULES || (r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	if ((r->name = strdup(name)) == NULL) {
		free(r);
		return NULL;
	}
	r->category = -1;
	r->count = 1;
	r->window_ms = 60000;
	r->suppress_ms = -1;
	r->severity = 4;
	r->max_groups = GROUPS_DEFAULT;
	r->timeout_s = TIMEOUT_DEFAULT_S;
	r->group_by[0] = GB_DEVICE;
	r->ngroup_by = 1;
	a->rules[a->nrules++] = r;
	return r;
}

/* Splits a command line into words without a shell: blanks separate words,
 * single or double quotes keep blanks inside one word. */
static int split_command(struct action *act, const char *line, char *err, size_t errlen)
{
	size_t n = strlen(line), o = 0;
	const char *p = line;
	int argc = 0;

	if ((act->words = malloc(n + 1)) == NULL)
		return MM_ENOMEM;
	while (*p) {
		char quote = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (argc == ARGV_MAX) {
			seterr(err, errlen, "more than %d words", ARGV_MAX);
			return MM_EINVAL;
		}
		act->argv[argc++] = act->words + o;
		while (*p && (quote || (*p != ' ' && *p != '\t'))) {
			if (quote && *p == quote)
				quote = 0;
			else if (!quote && (*p == '"' || *p == '\''))
				quote = *p;
			else
				act->words[o++] = *p;
			p++;
		}
		if (quote) {
			seterr(err, errlen, "unterminated quote");
			return MM_EINVAL;
		}
		act->words[o++] = '\0';
	}
	act->argv[argc] = NULL;
	if (argc == 0 || act->argv[0][0] != '/') {
		seterr(err, errlen, "the program must be an absolute path");
		return MM_EINVAL;
	}
	if (access(act->argv[0], X_OK) != 0) {
		seterr(err, errlen, "%s: %s", act->argv[0], strerror(errno));
		return MM_EINVAL;
	}
	return 0;
}

static int action_parse(struct action *act, const char *value, char *err, size_t errlen)
{
	const char *arg;
	size_t kl;

	while (*value == ' ' || *value == '\t')
		value++;
	kl = strcspn(value, " \t");
	arg = value + kl;
	while (*arg == ' ' || *arg == '\t')
		arg++;
	if ((act->text = strdup(value)) == NULL)
		return MM_ENOMEM;
	if (kl == 3 && strncmp(value, "log", 3) == 0) {
		act->kind = ACT_LOG;
		if (*arg) {
			seterr(err, errlen, "log takes no argument");
			return MM_EINVAL;
		}
		return 0;
	}
	if (kl == 6 && strncmp(value, "syslog", 6) == 0) {
		act->kind = ACT_SYSLOG;
		if (mm_send_url_parse(arg, &act->url) < 0 ||
		    (act->url.proto != MM_SEND_UDP && act->url.proto != MM_SEND_TCP)) {
			seterr(err, errlen, "syslog wants udp://HOST:PORT or tcp://HOST:PORT, not '%s'",
			       arg);
			return MM_EINVAL;
		}
		return 0;
	}
	if (kl == 7 && strncmp(value, "webhook", 7) == 0) {
		act->kind = ACT_WEBHOOK;
		if ((strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0) ||
		    strpbrk(arg, " \t") != NULL) {
			seterr(err, errlen, "webhook wants an http:// or https:// URL, not '%s'", arg);
			return MM_EINVAL;
		}
		if ((act->webhook = strdup(arg)) == NULL)
			return MM_ENOMEM;
		return 0;
	}
	if (kl == 7 && strncmp(value, "command", 7) == 0) {
		act->kind = ACT_COMMAND;
		return split_command(act, arg, err, errlen);
	}
	seterr(err, errlen, "unknown action '%.*s' (log, syslog, webhook, command)", (int)kl, value);
	return MM_EINVAL;
}

static int group_by_parse(struct rule *r, const char *value)
{
	const char *p = value;
	unsigned seen = 0;

	r->ngroup_by = 0;
	while (*p) {
		char word[16];
		size_t n;
		int f;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, ", \t");
		if (n >= sizeof word)
			return MM_EINVAL;
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		if ((f = name_index(gb_names, GB_COUNT, word)) < 0 || (seen & (1u << f)))
			return MM_EINVAL;
		seen |= 1u << f;
		r->group_by[r->ngroup_by++] = (uint8_t)f;
	}
	return r->ngroup_by > 0 ? 0 : MM_EINVAL;
}

static int set_string(char **dst, const char *value)
{
	char *s = strdup(value);

	if (s == NULL)
		return MM_ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

/* Sets one scalar key; the caller has checked that it was not given before. */
static int rule_set_scalar(struct rule *r, int k, const char *value, char *err, size_t errlen)
{
	long long v;

	switch (k) {
	case K_TYPE: return set_string(&r->type, value);
	case K_DEVICE: return set_string(&r->device, value);
	case K_PROTOCOL: return set_string(&r->protocol, value);
	case K_KIND: return set_string(&r->kind, value);
	case K_CODE:
		if (parse_codes(value, r->codes) < 0)
			goto bad;
		r->has_codes = 1;
		return 0;
	case K_CATEGORY:
		if ((r->category = name_index(categories, 8, value)) < 0)
			goto bad;
		return 0;
	case K_COUNT:
		if (parse_int(value, 1, COUNT_MAX, &v) < 0)
			goto bad;
		r->count = (int)v;
		return 0;
	case K_WINDOW:
		if (parse_int(value, 1, WINDOW_MAX_S, &v) < 0)
			goto bad;
		r->window_ms = v * 1000;
		return 0;
	case K_SUPPRESS:
		if (parse_int(value, 0, WINDOW_MAX_S, &v) < 0)
			goto bad;
		r->suppress_ms = v * 1000;
		return 0;
	case K_MAX_GROUPS:
		if (parse_int(value, 1, GROUPS_MAX, &v) < 0)
			goto bad;
		r->max_groups = (int)v;
		return 0;
	case K_TIMEOUT:
		if (parse_int(value, 1, TIMEOUT_MAX_S, &v) < 0)
			goto bad;
		r->timeout_s = (int)v;
		return 0;
	case K_SEVERITY:
		if ((r->severity = name_index(severities, 8, value)) < 0) {
			if (parse_int(value, 0, 7, &v) < 0)
				goto bad;
			r->severity = (int)v;
		}
		return 0;
	case K_GROUP_BY:
		if (group_by_parse(r, value) < 0)
			goto bad;
		return 0;
	}
bad:
	switch (k) {
	case K_CODE: seterr(err, errlen, "bad code list '%s' (hex codes or ranges: 0x20, 0x20-0x2f)", value); break;
	case K_CATEGORY:
		seterr(err, errlen,
		       "unknown category '%s' (no-error, communication, security, command, device, "
		       "reserved, private, others)", value);
		break;
	case K_COUNT: seterr(err, errlen, "count must be 1..%d, not '%s'", COUNT_MAX, value); break;
	case K_WINDOW: seterr(err, errlen, "window must be 1..%d seconds, not '%s'", WINDOW_MAX_S, value); break;
	case K_SUPPRESS: seterr(err, errlen, "suppress must be 0..%d seconds, not '%s'", WINDOW_MAX_S, value); break;
	case K_MAX_GROUPS: seterr(err, errlen, "max_groups must be 1..%d, not '%s'", GROUPS_MAX, value); break;
	case K_TIMEOUT: seterr(err, errlen, "timeout must be 1..%d seconds, not '%s'", TIMEOUT_MAX_S, value); break;
	case K_SEVERITY: seterr(err, errlen, "unknown severity '%s' (emerg .. debug, or 0..7)", value); break;
	case K_GROUP_BY:
		seterr(err, errlen,
		       "bad group_by '%s' (a comma list of device, requester, reporter, responder, "
		       "peer, type, code, protocol, key; each once)", value);
		break;
	default: seterr(err, errlen, "bad value '%s'", value); break;
	}
	return MM_EINVAL;
}

int alert_new(struct alert **out)
{
	struct alert *a = calloc(1, sizeof *a);

	*out = NULL;
	if (a == NULL)
		return MM_ENOMEM;
	if (gethostname(a->hostname, sizeof a->hostname - 1) != 0 || a->hostname[0] == '\0')
		snprintf(a->hostname, sizeof a->hostname, "mamori-soc");
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	*out = a;
	return 0;
}

int alert_rule_set(struct alert *a, const char *rule, const char *key, const char *value,
		   char *err, size_t errlen)
{
	char why[256] = "";
	struct rule *r;
	int k, rc;

	if (a->started) {
		seterr(err, errlen, "alert %s: rules cannot change once started", rule);
		return MM_EINVAL;
	}
	if (rule == NULL || *rule == '\0') {
		seterr(err, errlen, "alert: a rule needs a name ([alert NAME])");
		return MM_EINVAL;
	}
	if ((r = rule_find(a, rule)) == NULL && (r = rule_create(a, rule)) == NULL) {
		if (a->nrules >= ALERT_MAX_RULES) {
			seterr(err, errlen, "alert %s: more than %d rules", rule, ALERT_MAX_RULES);
			return MM_EINVAL;
		}
		return MM_ENOMEM;
	}
	if (strcmp(key, "action") == 0) {
		struct action *act;

		if (r->nactions == ALERT_MAX_ACTIONS) {
			seterr(err, errlen, "alert %s: more than %d actions", rule, ALERT_MAX_ACTIONS);
			return MM_EINVAL;
		}
		act = &r->actions[r->nactions];
		memset(act, 0, sizeof *act);
		if ((rc = action_parse(act, value, why, sizeof why)) < 0) {
			free(act->text);
			free(act->webhook);
			free(act->words);
			memset(act, 0, sizeof *act);
			seterr(err, errlen, "alert %s: action: %s", rule, why);
			return rc;
		}
		r->nactions++;
		return 0;
	}
	if (strcmp(key, "webhook_header") == 0) {
		const char *colon = strchr(value, ':');

		if (r->nheaders == ALERT_MAX_HEADERS) {
			seterr(err, errlen, "alert %s: more than %d webhook headers", rule,
			       ALERT_MAX_HEADERS);
			return MM_EINVAL;
		}
		if (colon == NULL || colon == value || strpbrk(value, "\r\n") != NULL ||
		    strcspn(value, " \t") < (size_t)(colon - value)) {
			seterr(err, errlen, "alert %s: webhook_header wants 'Name: value', not '%s'",
			       rule, value);
			return MM_EINVAL;
		}
		if ((r->headers[r->nheaders] = strdup(value)) == NULL)
			return MM_ENOMEM;
		r->nheaders++;
		return 0;
	}
	if ((k = name_index(key_names, K_NKEYS, key)) < 0) {
		seterr(err, errlen, "alert %s: unknown key '%s'", rule, key);
		return MM_EINVAL;
	}
	if (r->given & (1u << k)) {
		seterr(err, errlen, "alert %s: %s given twice", rule, key);
		return MM_EINVAL;
	}
	if ((rc = rule_set_scalar(r, k, value, why, sizeof why)) < 0) {
		seterr(err, errlen, "alert %s: %s", rule, why);
		return rc;
	}
	r->given |= 1u << k;
	return 0;
}

int alert_check(struct alert *a, char *err, size_t errlen)
{
	int i, j, webhooks;

	for (i = 0; i < a->nrules; i++) {
		struct rule *r = a->rules[i];

		if (r->nactions == 0) {
			seterr(err, errlen, "alert %s: no action (action = log | syslog URL | "
					    "webhook URL | command PATH ARGS)", r->name);
			return MM_EINVAL;
		}
		for (j = 0, webhooks = 0; j < r->nactions; j++)
			webhooks += r->actions[j].kind == ACT_WEBHOOK;
		if (r->nheaders > 0 && webhooks == 0) {
			seterr(err, errlen, "alert %s: webhook_header without a webhook action",
			       r->name);
			return MM_EINVAL;
		}
		if (r->suppress_ms < 0)
			r->suppress_ms = r->window_ms;
	}
	return 0;
}

/* ---- matching and counting (writer thread) ---- */

static int rule_matches(const struct rule *r, const struct subject *s)
{
	if (!pattern_match(r->type, s->type))
		return 0;
	if (r->has_codes || r->category >= 0) {
		if (s->code < 0 || s->code > 255)
			return 0;
		if (r->has_codes && !(r->codes[s->code / 8] & (1u << (s->code % 8))))
			return 0;
		if (r->category >= 0 &&
		    (int)mm_x1367_range_of((uint8_t)s->code)->category != r->category)
			return 0;
	}
	return pattern_match(r->device, s->f[GB_DEVICE]) &&
	       pattern_match(r->protocol, s->f[GB_PROTOCOL]) && pattern_match(r->kind, s->kind);
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The group's key: its fields joined by a separator no field contains
 * (0x1f; UTF-8 text from the store holds no C0 control characters that
 * matter here, and a clash would only merge two groups). */
static int group_key(const struct rule *r, const struct subject *s, struct mm_buf *k)
{
	int i;

	for (i = 0; i < r->ngroup_by; i++) {
		const char *v = s->f[r->group_by[i]];

		if (i > 0 && mm_buf_putc(k, '\x1f') < 0)
			return MM_ETOOBIG;
		if (v && mm_buf_puts(k, v) < 0)
			return MM_ETOOBIG;
		if (v == NULL && mm_buf_putc(k, '\x1e') < 0)
			return MM_ETOOBIG;
	}
	return 0;
}

static void group_free(struct group *g)
{
	json_decref(g->fields);
	json_decref(g->events);
	free(g->times);
	free(g->key);
	free(g);
}

static struct group *group_new(const struct rule *r, const struct subject *s, const char *key,
			       uint64_t hash)
{
	struct group *g = calloc(1, sizeof *g);
	int i;

	if (g == NULL)
		return NULL;
	g->hash = hash;
	g->key = strdup(key);
	g->times = calloc((size_t)r->count, sizeof *g->times);
	g->fields = json_object();
	g->events = json_array();
	if (!g->key || !g->times || !g->fields || !g->events)
		goto fail;
	for (i = 0; i < r->ngroup_by; i++) {
		const char *v = s->f[r->group_by[i]];

		if (json_object_set_new(g->fields, gb_names[r->group_by[i]],
					v ? json_string(v) : json_null()) < 0)
			goto fail;
	}
	return g;
fail:
	group_free(g);
	return NULL;
}

/* Finds or makes the subject's group; NULL when the table is full (counted)
 * or memory ran out. */
static struct group *group_get(struct alert *a, struct rule *r, const struct subject *s)
{
	struct mm_buf k;
	struct group *g = NULL;
	uint64_t h;
	size_t b;

	mm_buf_init(&k, KEY_MAX);
	if (group_key(r, s, &k) < 0 || mm_buf_putc(&k, '\0') < 0)
		goto fail;
	if (r->buckets == NULL) {
		size_t n = 16;

		while (n < (size_t)r->max_groups)
			n <<= 1;
		if ((r->buckets = calloc(n, sizeof *r->buckets)) == NULL)
			goto fail;
		r->nbuckets = n;
	}
	h = fnv1a(k.data, k.len - 1);
	b = (size_t)(h & (r->nbuckets - 1));
	for (g = r->buckets[b]; g; g = g->next)
		if (g->hash == h && strcmp(g->key, k.data) == 0)
			goto done;
	if (r->ngroups >= (size_t)r->max_groups) {
		soc_count(SOC_C_ALERT_GROUPS_DROPPED, 1);
		if (a->groups_dropped++ == 0)
			log_warnx("alert %s: more than %d groups; events not counted until "
				  "old groups expire", r->name, r->max_groups);
		goto fail;
	}
	if ((g = group_new(r, s, k.data, h)) == NULL)
		goto fail;
	g->next = r->buckets[b];
	r->buckets[b] = g;
	r->ngroups++;
done:
	mm_buf_free(&k);
	return g;
fail:
	mm_buf_free(&k);
	return NULL;
}

static json_t *summary(const struct subject *s)
{
	char t[40];
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	soc_time_text(s->t_ms, t, sizeof t);
	if (s->ev) {
		const struct soc_event *ev = s->ev;

		json_object_set_new(o, "id", json_integer(ev->id));
		soc_time_text(ev->time_ms, t, sizeof t);
		json_object_set_new(o, "time", json_string(t));
		json_object_set_new(o, "type", json_string(ev->type ? ev->type : "?"));
		if (ev->device)
			json_object_set_new(o, "device", json_string(ev->device));
		if (ev->code >= 0) {
			char c[16];

			snprintf(c, sizeof c, "0x%02x", ev->code);
			json_object_set_new(o, "code", json_string(c));
		}
		if (ev->peer_addr)
			json_object_set_new(o, "peer", json_string(ev->peer_addr));
		return o;
	}
	json_object_set_new(o, "time", json_string(t));
	json_object_set_new(o, "type", json_string(s->type ? s->type : "?"));
	if (s->f[GB_DEVICE])
		json_object_set_new(o, "device", json_string(s->f[GB_DEVICE]));
	if (s->f[GB_KEY])
		json_object_set_new(o, "key", json_string(s->f[GB_KEY]));
	if (s->detail)
		json_object_set(o, "detail", s->detail);
	return o;
}

static void enqueue(struct alert *a, const struct rule *r, char *json)
{
	pthread_mutex_lock(&a->lock);
	if (a->qlen == QUEUE_MAX || a->stopping) {
		pthread_mutex_unlock(&a->lock);
		soc_count(SOC_C_ALERT_QUEUE_DROPPED, 1);
		if (a->queue_dropped++ == 0)
			log_warnx("alert %s: action queue full; alert dropped", r->name);
		free(json);
		return;
	}
	a->queue[(a->qhead + a->qlen) % QUEUE_MAX] = (struct job){r, json};
	a->qlen++;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static void fire(struct alert *a, const struct rule *r, struct group *g, int64_t first_ms)
{
	char t1[40], t2[40];
	json_t *o;
	char *text;

	soc_time_text(first_ms, t1, sizeof t1);
	soc_time_text(g->last_ms, t2, sizeof t2);
	o = json_pack("{s:s, s:s, s:O, s:i, s:I, s:s, s:s, s:O}", "rule", r->name, "severity",
		      severities[r->severity], "group", g->fields, "count", (int)g->n, "window",
		      (json_int_t)(r->window_ms / 1000), "first_time", t1, "last_time", t2,
		      "events", g->events);
	if (o == NULL)
		return;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return;
	soc_count(SOC_C_ALERTS, 1);
	enqueue(a, r, text);
}

static void rule_feed(struct alert *a, struct rule *r, const struct subject *s)
{
	struct group *g;
	json_t *sum;
	int64_t first;

	if ((g = group_get(a, r, s)) == NULL)
		return;
	/* Forget the times that left the window (times arrive in order, or
	 * nearly: the ring is kept as it came). */
	while (g->n > 0 && s->t_ms - g->times[g->head] >= r->window_ms) {
		g->head = (g->head + 1) % (unsigned)r->count;
		g->n--;
	}
	while (json_array_size(g->events) > g->n)
		json_array_remove(g->events, 0);
	g->times[(g->head + g->n) % (unsigned)r->count] = s->t_ms;
	g->n++;
	if (s->t_ms > g->last_ms || g->n == 1)
		g->last_ms = s->t_ms;
	if ((sum = summary(s)) != NULL) {
		if (json_array_size(g->events) >= ALERT_MAX_EVENTS)
			json_array_remove(g->events, 0);
		json_array_append_new(g->events, sum);
	}
	if (g->n < (unsigned)r->count)
		return;
	first = g->times[g->head];
	if (s->t_ms < g->suppress_until)
		soc_count(SOC_C_ALERTS_SUPPRESSED, 1);
	else {
		fire(a, r, g, first);
		/* alert_check() sets the default; a rule set never checked
		 * still suppresses for one window. */
		g->suppress_until = s->t_ms + (r->suppress_ms < 0 ? r->window_ms : r->suppress_ms);
	}
	/* The group starts over: the next alert needs count new events. */
	g->n = 0;
	g->head = 0;
	json_array_clear(g->events);
}

static void feed(struct alert *a, const struct subject *s)
{
	int i;

	for (i = 0; i < a->nrules; i++)
		if (rule_matches(a->rules[i], s))
			rule_feed(a, a->rules[i], s);
}

void alert_event(struct alert *a, const struct soc_event *ev)
{
	struct subject s;
	char code[16];

	if (a == NULL || a->nrules == 0)
		return;
	memset(&s, 0, sizeof s);
	s.type = ev->type;
	s.code = ev->kind == SOC_KIND_X1367 ? ev->code : -1;
	s.t_ms = ev->recv_ms;
	s.ev = ev;
	s.f[GB_DEVICE] = ev->device;
	s.f[GB_REQUESTER] = ev->requester;
	s.f[GB_REPORTER] = ev->reporter;
	s.f[GB_RESPONDER] = ev->responder;
	s.f[GB_PEER] = ev->peer_addr;
	s.f[GB_TYPE] = ev->type;
	s.f[GB_PROTOCOL] = ev->protocol;
	if (s.code >= 0) {
		snprintf(code, sizeof code, "0x%02x", s.code);
		s.f[GB_CODE] = code;
	}
	feed(a, &s);
}

/* A string member of detail, or NULL. */
static const char *detail_str(json_t *detail, const char *name)
{
	json_t *v = detail ? json_object_get(detail, name) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

void alert_notify(struct alert *a, const char *type, const char *device, const char *group_key,
		  json_t *detail)
{
	struct subject s;
	char code[16];
	json_t *c;
	int f;

	if (a == NULL || a->nrules == 0 || type == NULL)
		return;
	if (!json_is_object(detail))
		detail = NULL;
	memset(&s, 0, sizeof s);
	s.type = type;
	s.code = -1;
	s.t_ms = soc_now_ms();
	s.detail = detail;
	for (f = 0; f < GB_COUNT; f++)
		s.f[f] = detail_str(detail, gb_names[f]);
	s.f[GB_TYPE] = type;
	s.f[GB_KEY] = group_key;
	if (device)
		s.f[GB_DEVICE] = device;
	s.kind = detail_str(detail, "kind");
	c = detail ? json_object_get(detail, "code") : NULL;
	if (json_is_integer(c) && json_integer_value(c) >= 0 && json_integer_value(c) <= 255)
		s.code = (int)json_integer_value(c);
	else if (json_is_string(c))
		parse_code(json_string_value(c), strlen(json_string_value(c)), &s.code);
	s.f[GB_CODE] = NULL;
	if (s.code >= 0) {
		snprintf(code, sizeof code, "0x%02x", s.code);
		s.f[GB_CODE] = code;
	}
	feed(a, &s);
}

void alert_notify_fn(void *arg, const char *type, const char *device, const char *group_key,
		     void *detail)
{
	alert_notify(arg, type, device, group_key, detail);
}

void alert_tick(struct alert *a, int64_t now_ms)
{
	int i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nrules; i++) {
		struct rule *r = a->rules[i];
		size_t b;

		for (b = 0; b < r->nbuckets; b++) {
			struct group **pp = &r->buckets[b];

			while (*pp) {
				struct group *g = *pp;

				if (now_ms - g->last_ms >= r->window_ms &&
				    now_ms >= g->suppress_until) {
					*pp = g->next;
					group_free(g);
					r->ngroups--;
				} else {
					pp = &g->next;
				}
			}
		}
	}
}

void alert_get_stats(struct alert *a, struct alert_stats *st)
{
	st->groups_dropped = a->groups_dropped;
	st->queue_dropped = a->queue_dropped;
}

/* ---- actions (action thread) ---- */

/* Waits until fd is ready for events or the deadline (mm_clock_ms) passes. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	uint64_t now;
	int rc;

	for (;;) {
		now = mm_clock_ms();
		if (now >= deadline)
			return MM_EIO;
		rc = poll(&p, 1, (int)(deadline - now));
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return MM_EIO;
	}
}

/* Writes all of p to a non-blocking fd before the deadline. */
static int write_all(int fd, const char *p, size_t n, uint64_t deadline, int sock)
{
	while (n > 0) {
		ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline) < 0)
				return MM_EIO;
			continue;
		}
		return MM_EIO;
	}
	return 0;
}

static int run_syslog(struct alert *a, const struct rule *r, const struct action *act,
		      const char *json)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	struct mm_syslog_out o = {0};
	struct timespec now;
	struct mm_buf msg;
	int tcp = act->url.proto == MM_SEND_TCP;
	uint64_t deadline = mm_clock_ms() + (uint64_t)r->timeout_s * 1000;
	int fd = -1, rc = MM_EIO;

	mm_buf_init(&msg, SYSLOG_MAX);
	clock_gettime(CLOCK_REALTIME, &now);
	o.pri = FACILITY_AUDIT * 8 + r->severity;
	o.time = &now;
	o.hostname = a->hostname;
	o.app_name = "mamori-soc";
	o.msgid = "soc.alert";
	o.msg = json;
	o.msg_len = strlen(json);
	if (tcp) {
		/* RFC 6587 octet counting: the length is known once encoded. */
		struct mm_buf body;

		mm_buf_init(&body, SYSLOG_MAX);
		if (mm_syslog_encode(&o, &body) < 0 ||
		    mm_buf_printf(&msg, "%zu ", body.len) < 0 ||
		    mm_buf_append(&msg, body.data, body.len) < 0) {
			mm_buf_free(&body);
			log_warnx("alert %s: %s: message too large", r->name, act->text);
			goto done;
		}
		mm_buf_free(&body);
	} else if (mm_syslog_encode(&o, &msg) < 0) {
		log_warnx("alert %s: %s: message too large", r->name, act->text);
		goto done;
	}
	hints.ai_socktype = tcp ? SOCK_STREAM : SOCK_DGRAM;
	if ((rc = getaddrinfo(act->url.host, act->url.port, &hints, &res)) != 0) {
		log_warnx("alert %s: %s: %s", r->name, act->text, gai_strerror(rc));
		rc = MM_EIO;
		goto done;
	}
	rc = MM_EIO;
	for (ai = res; ai && rc < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (!tcp) {
			if (sendto(fd, msg.data, msg.len, 0, ai->ai_addr, ai->ai_addrlen) ==
			    (ssize_t)msg.len)
				rc = 0;
		} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
			   (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0)) {
			int soerr = 0;
			socklen_t sl = sizeof soerr;

			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0 &&
			    write_all(fd, msg.data, msg.len, deadline, 1) == 0)
				rc = 0;
		}
		close(fd);
	}
	if (rc < 0)
		log_warn("alert %s: %s", r->name, act->text);
done:
	if (res)
		freeaddrinfo(res);
	mm_buf_free(&msg);
	return rc;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int run_webhook(const struct rule *r, const struct action *act, const char *json)
{
	struct curl_slist *hdr = NULL, *t;
	CURL *c = curl_easy_init();
	long status = 0;
	CURLcode cc;
	int i, rc = MM_EIO;

	if (c == NULL)
		return MM_ENOMEM;
	if ((hdr = curl_slist_append(NULL, "Content-Type: application/json")) == NULL)
		goto done;
	for (i = 0; i < r->nheaders; i++) {
		if ((t = curl_slist_append(hdr, r->headers[i])) == NULL)
			goto done;
		hdr = t;
	}
	curl_easy_setopt(c, CURLOPT_URL, act->webhook);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)r->timeout_s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mamori-soc");
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		log_warnx("alert %s: %s: %s", r->name, act->text, curl_easy_strerror(cc));
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		log_warnx("alert %s: %s: HTTP status %ld", r->name, act->text, status);
		goto done;
	}
	rc = 0;
done:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return rc;
}

static int run_command(const struct rule *r, const struct action *act, const char *json)
{
	static const int reset[] = {SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, def;
	uint64_t deadline = mm_clock_ms() + (uint64_t)r->timeout_s * 1000;
	int p[2] = {-1, -1}, status = 0, rc = MM_EIO, timed_out = 0;
	size_t i;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_warn("alert %s: pipe", r->name);
		return MM_EIO;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	sigemptyset(&none);
	sigemptyset(&def);
	for (i = 0; i < sizeof reset / sizeof reset[0]; i++)
		sigaddset(&def, reset[i]);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, act->argv[0], &fa, &attr, act->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(p[0]);
	if (rc != 0) {
		errno = rc;
		log_warn("alert %s: %s", r->name, act->argv[0]);
		close(p[1]);
		return MM_EIO;
	}
	/* A program that does not read its input only loses it (EPIPE: the
	 * action thread blocks SIGPIPE). */
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	write_all(p[1], json, strlen(json), deadline, 0);
	close(p[1]);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			log_warn("alert %s: waitpid", r->name);
			return MM_EIO;
		}
		if (mm_clock_ms() >= deadline) {
			timed_out = 1;
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		poll(NULL, 0, 10);
	}
	if (timed_out) {
		log_warnx("alert %s: %s: killed after %d s", r->name, act->argv[0], r->timeout_s);
		return MM_EIO;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_warnx("alert %s: %s: %s %d", r->name, act->argv[0],
			  WIFEXITED(status) ? "exit status" : "killed by signal",
			  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return MM_EIO;
	}
	return 0;
}

static void run_job(struct alert *a, const struct job *j)
{
	const struct rule *r = j->rule;
	int i, rc;

	for (i = 0; i < r->nactions; i++) {
		const struct action *act = &r->actions[i];

		switch (act->kind) {
		case ACT_LOG:
			log_warnx("alert %s: %s", r->name, j->json);
			rc = 0;
			break;
		case ACT_SYSLOG: rc = run_syslog(a, r, act, j->json); break;
		case ACT_WEBHOOK: rc = run_webhook(r, act, j->json); break;
		case ACT_COMMAND: rc = run_command(r, act, j->json); break;
		default: rc = MM_EINVAL; break;
		}
		if (rc < 0)
			soc_count(SOC_C_ALERT_ACTIONS_FAILED, 1);
	}
}

static void *action_thread(void *arg)
{
	struct alert *a = arg;
	uint64_t deadline = 0;
	struct job j;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (a->qlen == 0 && !a->stopping)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->qlen == 0)
			break;
		if (a->stopping) {
			if (deadline == 0)
				deadline = mm_clock_ms() + STOP_DEADLINE_MS;
			if (mm_clock_ms() >= deadline)
				break;
		}
		j = a->queue[a->qhead];
		a->qhead = (a->qhead + 1) % QUEUE_MAX;
		a->qlen--;
		pthread_mutex_unlock(&a->lock);
		run_job(a, &j);
		free(j.json);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int alert_start(struct alert *a)
{
	sigset_t all, old;
	int rc;

	if (a->started)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return MM_EIO;
	a->curl_inited = 1;
	/* The thread inherits a mask that blocks every signal: the main loop
	 * handles them, and a command that exits early gives EPIPE, not SIGPIPE. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&a->thread, NULL, action_thread, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		log_warn("alert: thread");
		return MM_EIO;
	}
	a->started = 1;
	return 0;
}

static void rule_free(struct rule *r)
{
	size_t b;
	int i;

	for (b = 0; b < r->nbuckets; b++) {
		struct group *g = r->buckets[b], *n;

		for (; g; g = n) {
			n = g->next;
			group_free(g);
		}
	}
	free(r->buckets);
	for (i = 0; i < r->nactions; i++) {
		free(r->actions[i].text);
		free(r->actions[i].webhook);
		free(r->actions[i].words);
	}
	for (i = 0; i < r->nheaders; i++)
		free(r->headers[i]);
	free(r->type);
	free(r->device);
	free(r->protocol);
	free(r->kind);
	free(r->name);
	free(r);
}

void alert_free(struct alert *a)
{
	int i;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (a->started)
		pthread_join(a->thread, NULL);
	if (a->qlen > 0) {
		log_warnx("alert: %u alerts dropped at shutdown", a->qlen);
		a->queue_dropped += a->qlen;
		soc_count(SOC_C_ALERT_QUEUE_DROPPED, a->qlen);
	}
	while (a->qlen > 0) {
		const struct job *j = &a->queue[a->qhead];

		free(j->json);
		a->qhead = (a->qhead + 1) % QUEUE_MAX;
		a->qlen--;
	}
	for (i = 0; i < a->nrules; i++)
		rule_free(a->rules[i]);
	if (a->curl_inited)
		curl_global_cleanup();
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	free(a);
}
