/*
 * The HTTP JSON API: evhttp in the main loop, one read handle of the store.
 *
 * Every request goes through one handler: it refuses what is not GET (405),
 * looks the path up in a table that also lists the parameters the endpoint
 * takes, refuses any other parameter, a parameter given twice or a value
 * that does not parse (400, naming the parameter), builds a struct
 * store_filter and answers with the store's JSON. Queries are bounded by
 * the store (limit at most 10000 rows) and run synchronously: the store
 * handle is for the API alone, and SQLite in WAL mode does not wait for the
 * writer thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "http.h"
#include "soc.h"
#include "store.h"
#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/x1367.h"

#define PARAM_MAX 256       /* bytes of one parameter value */
#define LIMIT_MAX 10000
#define METRICS_MAX (256 * 1024)
#define TIMEOUT_S 30

struct http {
	struct evhttp *ev;
	struct evhttp_bound_socket *bound;
	struct store *st;
	char addr[80];
	json_t *stats;       /* the store's row counts, kept for STATS_CACHE_MS */
	int64_t stats_ms;
};

/* Counting every table's rows takes a while on a large store, and runs on
 * the loop the listeners share: frequent scrapes reuse the last count. */
#define STATS_CACHE_MS 10000

struct reply {
	int status;
	json_t *body;   /* answered as JSON */
	char *text;     /* or as Prometheus text */
};

/* One parameter of a request; the names an endpoint takes are its table row. */
struct param {
	const char *name;
	const char *value;
};
#define MAX_PARAMS 24

struct request {
	struct http *h;
	const char *path;
	struct param p[MAX_PARAMS];
	int np;
	struct reply r;
};

static const char *const categories[8] = {"no-error", "communication", "security", "command",
					  "device",   "reserved",      "private",  "others"};

/* ---- replies ---- */

static void reply_error(struct request *q, int status, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void reply_error(struct request *q, int status, const char *param, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_decref(q->r.body);
	q->r.status = status;
	q->r.body = json_pack("{s:s}", "error", msg);
	if (param && q->r.body)
		json_object_set_new(q->r.body, "parameter", json_string(param));
}

static void reply_store_error(struct request *q, int rc)
{
	reply_error(q, 500, NULL, "store: %s", rc == MM_EIO ? store_error(q->h->st) : mm_strerror(rc));
}

/* Wraps a store array as {"NAME": [...], "count": N}. */
static void reply_list(struct request *q, const char *name, json_t *rows)
{
	q->r.status = 200;
	q->r.body = json_pack("{s:o, s:I}", name, rows, "count", (json_int_t)json_array_size(rows));
}

/* ---- parameters ---- */

static const char *param(const struct request *q, const char *name)
{
	int i;

	for (i = 0; i < q->np; i++)
		if (strcmp(q->p[i].name, name) == 0)
			return q->p[i].value;
	return NULL;
}

static int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (*s == '\0' || *s == '+' || *s == ' ')
		return MM_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return MM_EINVAL;
	*out = v;
	return 0;
}

/* A time: RFC 3339 ("2026-01-02T03:04:05Z", an offset, a fraction) or
 * milliseconds since the epoch. */
static int parse_time(const char *s, int64_t *ms)
{
	struct timespec ts;

	if (strspn(s, "0123456789") == strlen(s))
		return parse_i64(s, 0, INT64_MAX / 2, ms);
	if (mm_x1367_time_parse(s, &ts) < 0)
		return MM_EINVAL;
	*ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return 0;
}

/* A standard code in hexadecimal as X.1367 writes it: "30", "0x30", "3f". */
static int parse_code(const char *s, int *code)
{
	size_t i = 0, n = strlen(s);
	int v = 0, d;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		i = 2;
	if (n - i < 1 || n - i > 2)
		return MM_EINVAL;
	for (; i < n; i++) {
		if ((d = mm_hex_digit((unsigned char)s[i])) < 0)
			return MM_EINVAL;
		v = v * 16 + d;
	}
	*code = v;
	return 0;
}

/* Fills f from the request's parameters (each already known to be one the
 * endpoint takes). Returns 0 or answers 400 and returns MM_EINVAL. */
static int build_filter(struct request *q, struct store_filter *f, const char *const *states)
{
	static const struct {
		const char *name;
		size_t off;
	} strs[] = {
		{"device", offsetof(struct store_filter, device)},
		{"reporter", offsetof(struct store_filter, reporter)},
		{"requester", offsetof(struct store_filter, requester)},
		{"responder", offsetof(struct store_filter, responder)},
		{"type", offsetof(struct store_filter, type)},
		{"protocol", offsetof(struct store_filter, protocol)},
		{"kind", offsetof(struct store_filter, kind)},
		{"addr", offsetof(struct store_filter, addr)},
	};
	const char *v;
	int64_t n;
	size_t i;

	store_filter_init(f);
	for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		if ((v = param(q, strs[i].name)) == NULL)
			continue;
		if (*v == '\0' || strlen(v) > PARAM_MAX ||
		    mm_utf8_check(v, strlen(v)) != strlen(v)) {
			reply_error(q, 400, strs[i].name,
				    "bad value for parameter '%s': empty, longer than %d bytes or "
				    "not UTF-8", strs[i].name, PARAM_MAX);
			return MM_EINVAL;
		}
		*(const char **)((char *)f + strs[i].off) = v;
	}
	if ((v = param(q, "code")) && parse_code(v, &f->code) < 0) {
		reply_error(q, 400, "code",
			    "bad value for parameter 'code': '%s' (hexadecimal 00..ff, as \"30\" "
			    "or \"0x30\")", v);
		return MM_EINVAL;
	}
	if ((v = param(q, "category"))) {
		for (i = 0; i < 8 && strcmp(categories[i], v) != 0; i++)
			;
		if (i == 8) {
			reply_error(q, 400, "category",
				    "bad value for parameter 'category': '%s' (no-error, "
				    "communication, security, command, device, reserved, private, "
				    "others)", v);
			return MM_EINVAL;
		}
		f->category = (int)i;
	}
	if ((v = param(q, "lenient"))) {
		if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
			reply_error(q, 400, "lenient", "bad value for parameter 'lenient': '%s' (0 or 1)", v);
			return MM_EINVAL;
		}
		f->lenient = v[0] - '0';
	}
	if ((v = param(q, "incident"))) {
		if (parse_i64(v, 1, INT64_MAX, &f->incident) < 0) {
			reply_error(q, 400, "incident", "bad value for parameter 'incident': '%s' (an incident id)", v);
			return MM_EINVAL;
		}
	}
	if ((v = param(q, "since")) && parse_time(v, &f->since_ms) < 0) {
		reply_error(q, 400, "since", "bad value for parameter 'since': '%s' (RFC 3339 or milliseconds)", v);
		return MM_EINVAL;
	}
	if ((v = param(q, "until")) && parse_time(v, &f->until_ms) < 0) {
		reply_error(q, 400, "until", "bad value for parameter 'until': '%s' (RFC 3339 or milliseconds)", v);
		return MM_EINVAL;
	}
	if ((v = param(q, "after_id")) && parse_i64(v, 0, INT64_MAX, &f->after_id) < 0) {
		reply_error(q, 400, "after_id", "bad value for parameter 'after_id': '%s'", v);
		return MM_EINVAL;
	}
	if ((v = param(q, "limit"))) {
		if (parse_i64(v, 1, LIMIT_MAX, &n) < 0) {
			reply_error(q, 400, "limit", "bad value for parameter 'limit': '%s' (1..%d)", v, LIMIT_MAX);
			return MM_EINVAL;
		}
		f->limit = (int)n;
	}
	if ((v = param(q, "state"))) {
		for (i = 0; states && states[i] && strcmp(states[i], v) != 0; i++)
			;
		if (states == NULL || states[i] == NULL) {
			reply_error(q, 400, "state", "bad value for parameter 'state': '%s' (%s or %s)", v,
				    states ? states[0] : "?", states ? states[1] : "?");
			return MM_EINVAL;
		}
		f->state = v;
	}
	return 0;
}

/* ---- endpoints ---- */

typedef int (*store_query_fn)(struct store *, const struct store_filter *, json_t **);

static void list(struct request *q, store_query_fn fn, const char *name, const char *const *states)
{
	struct store_filter f;
	json_t *rows = NULL;
	int rc;

	if (build_filter(q, &f, states) < 0)
		return;
	if ((rc = fn(q->h->st, &f, &rows)) < 0) {
		soc_count(SOC_C_STORE_ERRORS, 1);
		reply_store_error(q, rc);
		return;
	}
	reply_list(q, name, rows);
}

static void ep_events(struct request *q)
{
	list(q, store_query_events, "events", NULL);
}

static void ep_incidents(struct request *q)
{
	static const char *const states[] = {"open", "closed", NULL};

	list(q, store_query_incidents, "incidents", states);
}

static void ep_findings(struct request *q)
{
	static const char *const states[] = {"open", "resolved", NULL};

	list(q, store_query_findings, "findings", states);
}

static void ep_devices(struct request *q)
{
	list(q, store_query_devices, "devices", NULL);
}

static void ep_dead(struct request *q)
{
	list(q, store_query_dead, "dead_letters", NULL);
}

static void ep_incident(struct request *q)
{
	const char *id = q->path + strlen("/api/v1/incidents/");
	json_t *o = NULL;
	int64_t n;
	int rc;

	if (strspn(id, "0123456789") != strlen(id) || parse_i64(id, 1, INT64_MAX, &n) < 0) {
		reply_error(q, 404, NULL, "no such incident: '%s'", id);
		return;
	}
	if ((rc = store_get_incident(q->h->st, n, &o)) == MM_ENOTFOUND) {
		reply_error(q, 404, NULL, "no such incident: %lld", (long long)n);
		return;
	}
	if (rc < 0) {
		soc_count(SOC_C_STORE_ERRORS, 1);
		reply_store_error(q, rc);
		return;
	}
	q->r.status = 200;
	q->r.body = o;
}

/* The store's statistics (a new reference), at most STATS_CACHE_MS old. */
static int cached_stats(struct http *h, json_t **out)
{
	struct timespec ts;
	int64_t now;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (h->stats == NULL || now - h->stats_ms >= STATS_CACHE_MS) {
		json_t *fresh = NULL;
		if ((rc = store_stats(h->st, &fresh)) < 0)
			return rc;
		json_decref(h->stats);
		h->stats = fresh;
		h->stats_ms = now;
	}
	*out = json_incref(h->stats);
	return 0;
}

static void ep_counters(struct request *q)
{
	json_t *c = json_object(), *stats = NULL;
	int i, rc;

	if (c == NULL)
		return;
	for (i = 0; i < SOC_C_COUNT; i++) {
		uint64_t v = soc_counter_get(i);

		json_object_set_new(c, soc_counter_name(i),
				    json_integer(soc_counter_is_gauge(i) ? (json_int_t)(int64_t)v
									 : (json_int_t)v));
	}
	if ((rc = cached_stats(q->h, &stats)) < 0) {
		json_decref(c);
		soc_count(SOC_C_STORE_ERRORS, 1);
		reply_store_error(q, rc);
		return;
	}
	q->r.status = 200;
	q->r.body = json_pack("{s:o, s:o, s:s}", "counters", c, "store", stats, "backend",
			      store_backend(q->h->st));
}

/* A Prometheus metric name of [a-zA-Z0-9_] from a store statistic's key. */
static int metric_name(struct mm_buf *b, const char *key)
{
	for (; *key; key++) {
		char ch = *key;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9')))
			ch = '_';
		if (mm_buf_putc(b, ch) < 0)
			return MM_ETOOBIG;
	}
	return 0;
}

static void ep_metrics(struct request *q)
{
	struct mm_buf b;
	json_t *stats = NULL, *v;
	const char *key;
	int i, rc = 0;

	mm_buf_init(&b, METRICS_MAX);
	for (i = 0; i < SOC_C_COUNT && rc == 0; i++) {
		const char *name = soc_counter_name(i);
		uint64_t val = soc_counter_get(i);

		if (soc_counter_is_gauge(i))
			rc = mm_buf_printf(&b,
					   "# HELP mamori_soc_%s %s\n# TYPE mamori_soc_%s gauge\n"
					   "mamori_soc_%s %lld\n",
					   name, soc_counter_help(i), name, name,
					   (long long)(int64_t)val);
		else
			rc = mm_buf_printf(&b,
					   "# HELP mamori_soc_%s_total %s\n"
					   "# TYPE mamori_soc_%s_total counter\n"
					   "mamori_soc_%s_total %llu\n",
					   name, soc_counter_help(i), name, name,
					   (unsigned long long)val);
	}
	/* The store's row counts and size are gauges; a store that cannot say
	 * leaves them out rather than failing the scrape of the counters. */
	if (rc == 0 && cached_stats(q->h, &stats) == 0) {
		json_object_foreach(stats, key, v) {
			if (!json_is_integer(v) || rc < 0)
				continue;
			rc = mm_buf_puts(&b, "# HELP mamori_soc_store_");
			if (rc == 0)
				rc = metric_name(&b, key);
			if (rc == 0)
				rc = mm_buf_printf(&b, " store %s (rows, or bytes for \"bytes\")\n"
						       "# TYPE mamori_soc_store_", key);
			if (rc == 0)
				rc = metric_name(&b, key);
			if (rc == 0)
				rc = mm_buf_puts(&b, " gauge\nmamori_soc_store_");
			if (rc == 0)
				rc = metric_name(&b, key);
			if (rc == 0)
				rc = mm_buf_printf(&b, " %lld\n", (long long)json_integer_value(v));
		}
	} else if (rc == 0) {
		soc_count(SOC_C_STORE_ERRORS, 1);
	}
	json_decref(stats);
	if (rc < 0) {
		mm_buf_free(&b);
		reply_error(q, 500, NULL, "metrics larger than %d bytes", METRICS_MAX);
		return;
	}
	q->r.status = 200;
	q->r.text = mm_buf_steal(&b);
	if (q->r.text == NULL)
		q->r.text = strdup("");
}

static void ep_health(struct request *q)
{
	q->r.status = 200;
	q->r.body = json_pack("{s:s, s:s, s:i}", "status", "ok", "backend",
			      store_backend(q->h->st), "schema", store_schema_version());
}

/* The endpoints, with the parameters each takes. */
static const struct endpoint {
	const char *path;
	int prefix; /* path is a prefix followed by an id */
	void (*fn)(struct request *);
	const char *const params[MAX_PARAMS];
} endpoints[] = {
	{"/api/v1/events", 0, ep_events,
	 {"device", "reporter", "requester", "responder", "type", "protocol", "kind", "addr",
	  "code", "category", "lenient", "incident", "since", "until", "after_id", "limit", NULL}},
	{"/api/v1/incidents", 0, ep_incidents, {"state", "since", "until", "after_id", "limit", NULL}},
	{"/api/v1/incidents/", 1, ep_incident, {NULL}},
	{"/api/v1/findings", 0, ep_findings,
	 {"kind", "device", "state", "since", "until", "after_id", "limit", NULL}},
	{"/api/v1/devices", 0, ep_devices, {"device", "after_id", "limit", NULL}},
	{"/api/v1/dead-letters", 0, ep_dead, {"since", "until", "after_id", "limit", NULL}},
	{"/api/v1/counters", 0, ep_counters, {NULL}},
	{"/metrics", 0, ep_metrics, {NULL}},
	{"/health", 0, ep_health, {NULL}},
};

static const struct endpoint *endpoint_find(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
		const struct endpoint *e = &endpoints[i];
		size_t n = strlen(e->path);

		if (e->prefix ? strncmp(path, e->path, n) == 0 && path[n] != '\0'
			      : strcmp(path, e->path) == 0)
			return e;
	}
	return NULL;
}

/* Takes the query's parameters: each must be one the endpoint lists, once. */
static int take_params(struct request *q, const struct endpoint *e, struct evkeyvalq *kv)
{
	struct evkeyval *p;
	int i, j;

	TAILQ_FOREACH(p, kv, next) {
		for (i = 0; e->params[i] && strcmp(e->params[i], p->key) != 0; i++)
			;
		if (e->params[i] == NULL) {
			reply_error(q, 400, p->key, "unknown parameter '%.64s' for %s", p->key, e->path);
			return MM_EINVAL;
		}
		for (j = 0; j < q->np; j++)
			if (strcmp(q->p[j].name, p->key) == 0) {
				reply_error(q, 400, p->key, "parameter '%s' given twice", p->key);
				return MM_EINVAL;
			}
		q->p[q->np++] = (struct param){e->params[i], p->value};
	}
	return 0;
}

static void send_reply(struct evhttp_request *req, struct request *q)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = evbuffer_new();
	char *text = NULL;
	const char *reason;

	if (q->r.text == NULL && q->r.body == NULL) {
		q->r.status = 500;
		q->r.body = json_pack("{s:s}", "error", "out of memory");
	}
	if (q->r.text) {
		evhttp_add_header(out, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		if (buf)
			evbuffer_add(buf, q->r.text, strlen(q->r.text));
	} else {
		evhttp_add_header(out, "Content-Type", "application/json");
		if (q->r.body)
			text = json_dumps(q->r.body, JSON_COMPACT);
		if (buf && text) {
			evbuffer_add(buf, text, strlen(text));
			evbuffer_add(buf, "\n", 1);
		} else if (buf) {
			q->r.status = 500;
			evbuffer_add_printf(buf, "{\"error\":\"out of memory\"}\n");
		}
	}
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	if (q->r.status == 405)
		evhttp_add_header(out, "Allow", "GET");
	switch (q->r.status) {
	case 200: reason = "OK"; break;
	case 400: reason = "Bad Request"; break;
	case 404: reason = "Not Found"; break;
	case 405: reason = "Method Not Allowed"; break;
	case 414: reason = "URI Too Long"; break;
	default: reason = "Internal Server Error"; break;
	}
	evhttp_send_reply(req, q->r.status, reason, buf);
	if (buf)
		evbuffer_free(buf);
	free(text);
}

/* Finds the endpoint of uri, takes its parameters and runs it; the answer
 * is left in q->r. */
static void answer(struct request *q, const struct evhttp_uri *uri)
{
	struct evkeyvalq kv;
	const struct endpoint *e;
	const char *qs;
	int have_kv = 0;

	TAILQ_INIT(&kv);
	if (uri == NULL || (q->path = evhttp_uri_get_path(uri)) == NULL || *q->path == '\0')
		q->path = "/";
	if ((e = endpoint_find(q->path)) == NULL) {
		reply_error(q, 404, NULL, "not found: %.200s", q->path);
		return;
	}
	if ((qs = evhttp_uri_get_query(uri)) != NULL) {
		have_kv = 1;
		if (evhttp_parse_query_str(qs, &kv) < 0) {
			reply_error(q, 400, NULL, "malformed query string");
			goto done;
		}
		if (take_params(q, e, &kv) < 0)
			goto done;
	}
	e->fn(q);
done:
	if (have_kv)
		evhttp_clear_headers(&kv);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct request q;
	const char *raw = evhttp_request_get_uri(req);

	memset(&q, 0, sizeof q);
	q.h = arg;
	soc_count(SOC_C_HTTP_REQUESTS, 1);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET)
		reply_error(&q, 405, NULL, "method not allowed: only GET");
	else if (raw == NULL || strlen(raw) > HTTP_URI_MAX)
		reply_error(&q, 414, NULL, "request URI longer than %d bytes", HTTP_URI_MAX);
	else
		answer(&q, evhttp_request_get_evhttp_uri(req));
	send_reply(req, &q);
	json_decref(q.r.body);
	free(q.r.text);
}

int http_answer(struct store *st, const char *uri_text, int *status, char **body)
{
	struct http h;
	struct request q;
	struct evhttp_uri *uri = NULL;

	memset(&h, 0, sizeof h);
	memset(&q, 0, sizeof q);
	h.st = st;
	q.h = &h;
	if (strlen(uri_text) > HTTP_URI_MAX)
		reply_error(&q, 414, NULL, "request URI longer than %d bytes", HTTP_URI_MAX);
	else if ((uri = evhttp_uri_parse_with_flags(uri_text, 0)) == NULL)
		reply_error(&q, 400, NULL, "malformed request URI");
	else
		answer(&q, uri);
	if (uri)
		evhttp_uri_free(uri);
	json_decref(h.stats);
	*status = q.r.status;
	if (q.r.text) {
		*body = q.r.text;
		q.r.text = NULL;
	} else {
		*body = q.r.body ? json_dumps(q.r.body, JSON_COMPACT) : NULL;
	}
	json_decref(q.r.body);
	free(q.r.text);
	return *body ? 0 : MM_ENOMEM;
}

/* ---- start and stop ---- */

static int split_addr(const char *addr, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon, *h = addr, *hend;
	int64_t p;

	if (addr[0] == '[') {
		h = addr + 1;
		if ((hend = strchr(h, ']')) == NULL || hend[1] != ':')
			return MM_EINVAL;
		colon = hend + 1;
	} else {
		if ((colon = strrchr(addr, ':')) == NULL || memchr(addr, ':', (size_t)(colon - addr)))
			return MM_EINVAL;
		hend = colon;
	}
	if (hend == h || (size_t)(hend - h) >= hostlen || parse_i64(colon + 1, 0, 65535, &p) < 0)
		return MM_EINVAL;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*port = (uint16_t)p;
	return 0;
}

int http_start(struct event_base *base, const char *addr, const char *store_url,
	       struct http **out, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[64], ip[INET6_ADDRSTRLEN];
	struct http *h;
	uint16_t port;
	int rc;

	*out = NULL;
	if (split_addr(addr, host, sizeof host, &port) < 0) {
		snprintf(err, errlen, "bad address '%s' (ADDR:PORT or [ADDR6]:PORT)", addr);
		return MM_EINVAL;
	}
	if ((h = calloc(1, sizeof *h)) == NULL)
		return MM_ENOMEM;
	if ((rc = store_open(store_url, &h->st, err, errlen)) < 0)
		goto fail;
	rc = MM_EIO;
	if ((h->ev = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		goto fail;
	}
	evhttp_set_max_headers_size(h->ev, HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(h->ev, HTTP_BODY_MAX);
	evhttp_set_timeout(h->ev, TIMEOUT_S);
	/* Every method reaches the handler, which answers 405 with JSON. */
	evhttp_set_allowed_methods(h->ev, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						  EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						  EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						  EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->ev, on_request, h);
	if ((h->bound = evhttp_bind_socket_with_handle(h->ev, host, port)) == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
		goto fail;
	}
	if (getsockname(evhttp_bound_socket_get_fd(h->bound), (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		goto fail;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
		snprintf(h->addr, sizeof h->addr, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
		snprintf(h->addr, sizeof h->addr, "%s:%u", ip, ntohs(s4->sin_port));
	}
	*out = h;
	return 0;
fail:
	http_stop(h);
	return rc;
}

const char *http_address(const struct http *h)
{
	return h->addr;
}

void http_stop(struct http *h)
{
	if (h == NULL)
		return;
	if (h->ev)
		evhttp_free(h->ev);
	if (h->st)
		store_close(h->st);
	json_decref(h->stats);
	free(h);
}
