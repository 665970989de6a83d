/*
 * mamori query: reads mamori-soc's HTTP API (docs/formats/soc-api.md) and
 * prints events, incidents, findings or devices as an aligned table, or the
 * API's JSON as it came (--json).
 *
 * The rows hold what devices and attackers sent: every string is shown with
 * control characters replaced, so that a crafted field cannot drive the
 * terminal, and long cells are cut.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"
#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define DEFAULT_SOC "http://127.0.0.1:8514"
#define BODY_MAX (256 * 1024 * 1024) /* 10,000 rows with their records fit */
#define URL_MAX 8192
#define CELL_MAX 60                   /* characters of one table cell */
#define TIMEOUT_S 60

/* The filters, by option name; the query parameter has the same name with
 * '_' for '-'. */
enum qopt {
	O_DEVICE,
	O_TYPE,
	O_CODE,
	O_CATEGORY,
	O_REQUESTER,
	O_REPORTER,
	O_RESPONDER,
	O_PROTOCOL,
	O_ADDR,
	O_KIND,
	O_INCIDENT,
	O_SINCE,
	O_UNTIL,
	O_STATE,
	O_LIMIT,
	O_AFTER_ID,
	O_COUNT,
};
static const char *const opt_names[O_COUNT] = {
	"device",   "type", "code", "category", "requester", "reporter", "responder", "protocol",
	"addr",     "kind", "incident", "since", "until",    "state",    "limit",     "after-id"};

#define B(o) (1u << (o))

struct column {
	const char *title;
	const char *field;
};

static const struct noun {
	const char *name;
	const char *path;
	const char *list; /* the array's member in the answer */
	unsigned opts;    /* B(enum qopt) bits it takes */
	struct column cols[10];
} nouns[] = {
	{"events", "/api/v1/events", "events",
	 B(O_DEVICE) | B(O_TYPE) | B(O_CODE) | B(O_CATEGORY) | B(O_REQUESTER) | B(O_REPORTER) |
		 B(O_RESPONDER) | B(O_PROTOCOL) | B(O_ADDR) | B(O_KIND) | B(O_INCIDENT) |
		 B(O_SINCE) | B(O_UNTIL) | B(O_LIMIT) | B(O_AFTER_ID),
	 {{"ID", "id"},
	  {"TIME", "time"},
	  {"DEVICE", "device"},
	  {"TYPE", "type"},
	  {"CODE", "code_hex"},
	  {"PROTOCOL", "protocol"},
	  {"REQUESTER", "requester"},
	  {"REPORTER", "reporter"},
	  {"RESPONDER", "responder"},
	  {"LENIENT", "lenient"}}},
	{"incidents", "/api/v1/incidents", "incidents",
	 B(O_STATE) | B(O_SINCE) | B(O_UNTIL) | B(O_LIMIT) | B(O_AFTER_ID),
	 {{"ID", "id"},
	  {"OPENED", "opened_time"},
	  {"LAST", "last_time"},
	  {"STATE", "state"},
	  {"BY", "key_kind"},
	  {"KEY", "key"},
	  {"ERRORS", "nerrors"},
	  {"PROTOCOLS", "protocols"},
	  {"REASON", "reason"}}},
	{"findings", "/api/v1/findings", "findings",
	 B(O_KIND) | B(O_DEVICE) | B(O_STATE) | B(O_SINCE) | B(O_UNTIL) | B(O_LIMIT) |
		 B(O_AFTER_ID),
	 {{"ID", "id"},
	  {"FIRST", "first_time"},
	  {"LAST", "last_time"},
	  {"STATE", "state"},
	  {"KIND", "kind"},
	  {"DEVICE", "device"},
	  {"SUBJECT", "subject"},
	  {"SEVERITY", "severity"}}},
	{"devices", "/api/v1/devices", "devices", B(O_DEVICE) | B(O_LIMIT) | B(O_AFTER_ID),
	 {{"DEVICE", "device"},
	  {"FIRST", "first_time"},
	  {"LAST", "last_time"},
	  {"ADDRESS", "last_addr"},
	  {"EVENTS", "count"},
	  {"AUTH", "authenticated"},
	  {"CERT", "cert_cn"}}},
};
#define NNOUNS (sizeof nouns / sizeof nouns[0])

static void query_usage(FILE *out)
{
	fprintf(out,
		"usage: mamori query [--soc URL] events|incidents|findings|devices [FILTERS] [--json]\n"
		"\n"
		"Asks mamori-soc's HTTP API and prints the rows, newest first, as a table\n"
		"(or the API's JSON as it came, with --json).\n"
		"\n"
		"  --soc URL          the API (default " DEFAULT_SOC ")\n"
		"  --json             print the API's JSON answer instead of a table\n"
		"  --limit N          at most N rows (1..10000; default 100)\n"
		"  --after-id N       only rows with an id greater than N\n"
		"  --since T, --until T\n"
		"                     time bounds, inclusive: RFC 3339 (2026-01-02T03:04:05Z)\n"
		"                     or milliseconds since the epoch\n"
		"events:\n"
		"  --device D  --type T  --protocol P  --requester A  --reporter A\n"
		"  --responder A      exact matches (type: x1367, syslog, or an event name)\n"
		"  --addr A           reporter, requester or sender address equals A\n"
		"  --code C           X.1367 code in hex: 30 or 0x30\n"
		"  --category NAME    no-error, communication, security, command, device,\n"
		"                     reserved, private, others\n"
		"  --kind K           syslog, x1367 or event\n"
		"  --incident ID      events linked to incident ID\n"
		"incidents:\n"
		"  --state open|closed\n"
		"findings:\n"
		"  --kind K           no-response, certificate-shared, certificate-expiring,\n"
		"                     never-authenticated, identity-mismatch\n"
		"  --device D  --state open|resolved\n"
		"devices:\n"
		"  --device D\n"
		"\n"
		"Exit status: 0 answered; 1 the request failed (the HTTP status and the\n"
		"API's error are printed); 2 usage.\n");
}

/* ---- HTTP ---- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct mm_buf *b = arg;

	if (mm_buf_append(b, p, size * n) < 0)
		return 0; /* past BODY_MAX: curl stops with a write error */
	return size * n;
}

/* GETs url into body; *status gets the HTTP status. Prints why on failure. */
static int http_get(const char *url, struct mm_buf *body, long *status)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_init();
	CURLcode cc;

	if (c == NULL)
		return MM_ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mamori-query");
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		if (cc == CURLE_WRITE_ERROR)
			log_warnx("%s: answer larger than %d bytes", url, BODY_MAX);
		else
			log_warnx("%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		curl_easy_cleanup(c);
		return MM_EIO;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	return 0;
}

/* ---- the table ---- */

/* Appends s to b as one cell: control characters become '?', and at most
 * CELL_MAX characters are kept (cut at a character boundary, "..." added). */
static int cell_text(struct mm_buf *b, const char *s)
{
	size_t chars = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch & 0xc0) != 0x80 && ++chars > CELL_MAX)
			return mm_buf_puts(b, "...");
		if (ch < 0x20 || ch == 0x7f)
			ch = '?';
		if (mm_buf_putc(b, (char)ch) < 0)
			return MM_ETOOBIG;
	}
	return 0;
}

static char *cell(json_t *row, const char *field)
{
	json_t *v = json_object_get(row, field);
	struct mm_buf b;

	mm_buf_init(&b, 4 * CELL_MAX + 8);
	if (json_is_string(v))
		cell_text(&b, json_string_value(v));
	else if (json_is_integer(v))
		mm_buf_printf(&b, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		mm_buf_puts(&b, json_is_true(v) ? "yes" : "no");
	else if (json_is_real(v))
		mm_buf_printf(&b, "%g", json_real_value(v));
	else
		mm_buf_puts(&b, "-");
	return mm_buf_steal(&b);
}

/* Display width: characters, not bytes (UTF-8 continuation bytes do not count). */
static size_t width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int print_table(const struct noun *nn, json_t *rows)
{
	size_t ncols = 0, nrows = json_array_size(rows), r, c;
	size_t w[10] = {0};
	char **cells;

	while (ncols < 10 && nn->cols[ncols].title)
		ncols++;
	if ((cells = calloc(nrows * ncols + 1, sizeof *cells)) == NULL)
		return MM_ENOMEM;
	for (c = 0; c < ncols; c++)
		w[c] = strlen(nn->cols[c].title);
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++) {
			char *s = cell(json_array_get(rows, r), nn->cols[c].field);

			cells[r * ncols + c] = s;
			if (s && width(s) > w[c])
				w[c] = width(s);
		}
	for (c = 0; c < ncols; c++)
		printf("%s%-*s", c ? "  " : "", c + 1 < ncols ? (int)w[c] : 0, nn->cols[c].title);
	printf("\n");
	for (r = 0; r < nrows; r++) {
		for (c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c] ? cells[r * ncols + c] : "-";
			size_t pad = c + 1 < ncols ? w[c] - width(s) : 0;

			printf("%s%s%*s", c ? "  " : "", s, (int)pad, "");
		}
		printf("\n");
	}
	for (r = 0; r < nrows * ncols; r++)
		free(cells[r]);
	free(cells);
	return 0;
}

/* ---- the command ---- */

static int add_param(struct mm_buf *url, CURL *c, int *first, const char *name, const char *value)
{
	char *esc = curl_easy_escape(c, value, 0);
	int rc;

	if (esc == NULL)
		return MM_ENOMEM;
	rc = mm_buf_printf(url, "%c%s=%s", *first ? '?' : '&', name, esc);
	curl_free(esc);
	*first = 0;
	return rc;
}

int cmd_query(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"device", required_argument, NULL, O_DEVICE},
		{"type", required_argument, NULL, O_TYPE},
		{"code", required_argument, NULL, O_CODE},
		{"category", required_argument, NULL, O_CATEGORY},
		{"requester", required_argument, NULL, O_REQUESTER},
		{"reporter", required_argument, NULL, O_REPORTER},
		{"responder", required_argument, NULL, O_RESPONDER},
		{"protocol", required_argument, NULL, O_PROTOCOL},
		{"addr", required_argument, NULL, O_ADDR},
		{"kind", required_argument, NULL, O_KIND},
		{"incident", required_argument, NULL, O_INCIDENT},
		{"since", required_argument, NULL, O_SINCE},
		{"until", required_argument, NULL, O_UNTIL},
		{"state", required_argument, NULL, O_STATE},
		{"limit", required_argument, NULL, O_LIMIT},
		{"after-id", required_argument, NULL, O_AFTER_ID},
		{"soc", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *vals[O_COUNT] = {NULL};
	const char *soc = DEFAULT_SOC;
	const struct noun *nn = NULL;
	struct mm_buf url, body;
	json_error_t je;
	json_t *doc = NULL;
	CURL *esc = NULL;
	int ch, json = 0, first = 1, rc = CLI_USAGE, curl_up = 0;
	long status = 0;
	size_t i, sl;

	mm_buf_init(&url, URL_MAX);
	mm_buf_init(&body, BODY_MAX);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (ch >= 0 && ch < O_COUNT) {
			vals[ch] = optarg;
		} else if (ch == 's') {
			soc = optarg;
		} else if (ch == 'j') {
			json = 1;
		} else if (ch == 'h') {
			query_usage(stdout);
			rc = CLI_OK;
			goto done;
		} else {
			query_usage(stderr);
			goto done;
		}
	}
	if (optind != argc - 1) {
		log_warnx("query: name one of events, incidents, findings, devices");
		query_usage(stderr);
		goto done;
	}
	for (i = 0; i < NNOUNS; i++)
		if (strcmp(argv[optind], nouns[i].name) == 0)
			nn = &nouns[i];
	if (nn == NULL) {
		log_warnx("query: unknown '%s' (events, incidents, findings, devices)", argv[optind]);
		goto done;
	}
	for (i = 0; i < O_COUNT; i++)
		if (vals[i] && !(nn->opts & B(i))) {
			log_warnx("query %s: --%s does not apply", nn->name, opt_names[i]);
			goto done;
		}
	if (strncmp(soc, "http://", 7) != 0 && strncmp(soc, "https://", 8) != 0) {
		log_warnx("query: --soc wants an http:// or https:// URL, not '%s'", soc);
		goto done;
	}
	rc = CLI_INVALID;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		curl_up = 1;
	if (!curl_up || (esc = curl_easy_init()) == NULL) {
		log_warnx("query: libcurl could not start");
		goto done;
	}
	sl = strlen(soc);
	while (sl > 0 && soc[sl - 1] == '/')
		sl--;
	if (mm_buf_append(&url, soc, sl) < 0 || mm_buf_puts(&url, nn->path) < 0)
		goto toolong;
	for (i = 0; i < O_COUNT; i++) {
		char name[16];
		size_t k;

		if (vals[i] == NULL)
			continue;
		snprintf(name, sizeof name, "%s", opt_names[i]);
		for (k = 0; name[k]; k++)
			if (name[k] == '-')
				name[k] = '_';
		if (add_param(&url, esc, &first, name, vals[i]) < 0)
			goto toolong;
	}
	if (http_get(url.data, &body, &status) < 0)
		goto done;
	doc = json_loadb(body.data ? body.data : "", body.len, 0, &je);
	if (status != 200) {
		json_t *e = json_object_get(doc, "error");

		log_warnx("query: HTTP %ld: %s", status,
			  json_is_string(e) ? json_string_value(e) : "(no error message)");
		goto done;
	}
	if (json) {
		fwrite(body.data ? body.data : "", 1, body.len, stdout);
		if (body.len == 0 || body.data[body.len - 1] != '\n')
			putchar('\n');
		rc = CLI_OK;
		goto done;
	}
	if (!json_is_array(json_object_get(doc, nn->list))) {
		log_warnx("query: the answer has no \"%s\" list%s%s", nn->list,
			  doc ? "" : ": ", doc ? "" : je.text);
		goto done;
	}
	if (print_table(nn, json_object_get(doc, nn->list)) < 0)
		goto done;
	rc = fflush(stdout) == 0 ? CLI_OK : CLI_INVALID;
	goto done;
toolong:
	log_warnx("query: URL longer than %d bytes", URL_MAX);
	rc = CLI_USAGE;
done:
	json_decref(doc);
	if (esc)
		curl_easy_cleanup(esc);
	if (curl_up)
		curl_global_cleanup();
	mm_buf_free(&url);
	mm_buf_free(&body);
	return rc;
}
