/*
 * The X.1367 record: builder, time handling, and the content rules that
 * both the builder's validation and the JSON decoder apply.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/clock.h"
#include "mamori/x1367.h"
#include "x1367_int.h"

const char *const x1367_party_names[3] = {X_REPORTER, X_REQUESTER, X_RESPONDER};

static const char *const idkind_names[MM_X1367_ID_COUNT] = {
	"Unique ID", "Unique Name", "IP Address", "MAC Address",
};

static const char *const forgive_names[MM_X1367_F_COUNT] = {
	"trailing-comma", "non-hex-transmitted-code", "extra-attribute",
	"timestamp-form", "error-code-form", "error-message",
	"duplicate-attribute", "identifier", "description-form",
};

const char *mm_x1367_idkind_name(enum mm_x1367_idkind k)
{
	return (unsigned)k < MM_X1367_ID_COUNT ? idkind_names[k] : NULL;
}

const char *mm_x1367_forgive_name(unsigned bit)
{
	unsigned i;

	for (i = 0; i < MM_X1367_F_COUNT; i++)
		if (bit == 1u << i)
			return forgive_names[i];
	return NULL;
}

/* ---- time ---- */

static int digits(const char *s, int n, int *v)
{
	int i, x = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return 0;
}

int mm_x1367_time_parse(const char *s, struct timespec *ts)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, exact = 1;
	long nsec = 0;
	long long secs;
	size_t i;

	/* YYYY-MM-DDTHH:MM:SS: fixed positions */
	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || digits(s + 11, 2, &h) || s[13] != ':' ||
	    digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
		return MM_EPARSE;
	if (s[10] != 'T') {
		if (s[10] != 't' && s[10] != ' ')
			return MM_EPARSE;
		exact = 0;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > mm_clock_mdays(y, mo) || h > 23 || mi > 59 ||
	    sec > 59)
		return MM_EPARSE;
	i = 19;
	if (s[i] == '.') {
		long scale = 100000000;
		size_t start = ++i;

		while (s[i] >= '0' && s[i] <= '9') {
			if (i - start >= 9)
				return MM_EPARSE; /* finer than a nanosecond */
			nsec += (s[i] - '0') * scale;
			scale /= 10;
			i++;
		}
		if (i == start)
			return MM_EPARSE;
	} else {
		exact = 0;
	}
	if (s[i] == 'Z' || s[i] == 'z') {
		if (s[i] == 'z')
			exact = 0;
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '-' ? -1 : 1;
		if (digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || digits(s + i + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return MM_EPARSE;
		i += 6;
		exact = 0;
	} else {
		return MM_EPARSE;
	}
	if (s[i] != '\0')
		return MM_EPARSE;
	secs = mm_clock_days(y, mo, d) * 86400LL + h * 3600 + mi * 60 + sec -
	       sign * (oh * 3600 + om * 60);
	/* A 32-bit time_t (armel, mipsel) ends in 2038: a later time is refused, not wrapped. */
	if ((long long)(time_t)secs != secs)
		return MM_EPARSE;
	ts->tv_sec = (time_t)secs;
	ts->tv_nsec = nsec;
	return exact ? 0 : 1;
}

int mm_x1367_time_format(const struct timespec *ts, char *out, size_t size)
{
	struct tm tm;
	char frac[16];
	time_t t = ts->tv_sec;
	int n;
	long ns = ts->tv_nsec;

	if (ns < 0 || ns > 999999999 || !gmtime_r(&t, &tm))
		return MM_EINVAL;
	/* Nine digits, then drop trailing zeros but keep one: 0 -> ".0". */
	snprintf(frac, sizeof frac, "%09ld", ns);
	for (n = 9; n > 1 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	n = snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%sZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return n > 0 && (size_t)n < size ? 0 : MM_ETOOBIG;
}

/* ---- reporting ---- */

static void vreport(struct x1367_ctx *c, int line, int col, const char *attr, unsigned forgive,
		    const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

static void vreport(struct x1367_ctx *c, int line, int col, const char *attr, unsigned forgive,
		    const char *fmt, va_list ap)
{
	struct mm_x1367_diag *g;
	int lenient = forgive && c->mode == MM_X1367_LENIENT;

	if (lenient)
		c->forgiven |= forgive;
	else
		c->errors++;
	if (!c->d)
		return;
	if (!lenient)
		c->d->errors++;
	if (c->d->n >= MM_X1367_MAX_DIAGS) {
		c->d->dropped++;
		return;
	}
	g = &c->d->v[c->d->n++];
	g->line = line;
	g->col = col;
	g->forgiven = lenient;
	snprintf(g->attr, sizeof g->attr, "%s", attr);
	vsnprintf(g->msg, sizeof g->msg, fmt, ap);
}

void x1367_report(struct x1367_ctx *c, const char *attr, unsigned forgive, const char *fmt, ...)
{
	va_list ap;
	int line = 0, col = 0;

	/* Positions cost a scan of the text: only when someone reads them. */
	if (c->pos && c->d)
		c->pos(c->arg, attr, &line, &col);
	va_start(ap, fmt);
	vreport(c, line, col, attr, forgive, fmt, ap);
	va_end(ap);
}

void x1367_report_at(struct x1367_ctx *c, int line, int col, const char *attr, unsigned forgive,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, line, col, attr, forgive, fmt, ap);
	va_end(ap);
}

/* ---- content rules ---- */

static int mac_valid(const char *s)
{
	int i;
	char sep;

	if (strlen(s) != 17)
		return 0;
	sep = s[2];
	if (sep != ':' && sep != '-')
		return 0;
	for (i = 0; i < 17; i++) {
		char ch = s[i];
		if (i % 3 == 2) {
			if (ch != sep)
				return 0;
		} else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
			     (ch >= 'A' && ch <= 'F'))) {
			return 0;
		}
	}
	return 1;
}

static int ip_valid(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* Returns 0 when value is acceptable for identifier kind k, else why not. */
static const char *id_problem(enum mm_x1367_idkind k, const char *v)
{
	if (v[0] == '\0')
		return "is empty";
	if (k == MM_X1367_ID_IP && !ip_valid(v))
		return "is not an IPv4 or IPv6 address";
	if (k == MM_X1367_ID_MAC && !mac_valid(v))
		return "is not a MAC address (six hex octets separated by ':' or '-')";
	return NULL;
}

/* Reports a problem with attribute name of party p ("Requester/IP Address"). */
static void report_party(struct x1367_ctx *c, enum mm_x1367_party p, const char *name,
			 unsigned forgive, const char *what)
{
	char path[64];

	snprintf(path, sizeof path, "%s/%s", x1367_party_names[p], name);
	x1367_report(c, path, forgive, "%s", what);
}

static void check_party(const struct mm_x1367_record *r, enum mm_x1367_party p,
			struct x1367_ctx *c)
{
	const struct mm_x1367_party_info *pi = &r->party[p];
	int k, nid = 0;

	for (k = 0; k < MM_X1367_ID_COUNT; k++) {
		const char *why;

		if (!pi->id[k])
			continue;
		nid++;
		if ((why = id_problem((enum mm_x1367_idkind)k, pi->id[k])) != NULL)
			report_party(c, p, idkind_names[k], MM_X1367_F_IDENTIFIER, why);
	}
	if (nid == 0 && !(c->bad & X_BAD_PARTY(p)))
		x1367_report(c, x1367_party_names[p], MM_X1367_F_IDENTIFIER,
			     "no identifier (Unique ID, Unique Name, IP Address or MAC Address)");
	if (p == MM_X1367_REPORTER)
		return;
	if (!pi->transmitted) {
		if (!(c->bad & (X_BAD_TRANSMITTED(p) | X_BAD_PARTY(p))))
			report_party(c, p, X_TRANSMITTED, 0, "missing");
	} else if (!mm_hex_valid(pi->transmitted, strlen(pi->transmitted))) {
		report_party(c, p, X_TRANSMITTED, MM_X1367_F_NONHEX_CODE,
			     "not an even number of hex digits");
	}
}

static void check_code(const struct mm_x1367_record *r, struct x1367_ctx *c)
{
	const struct mm_x1367_code *info;

	if (!r->has_code) {
		if (!(c->bad & X_BAD_CODE))
			x1367_report(c, X_ERROR_CODE, 0, "missing");
		return;
	}
	if (!r->message) {
		if (!(c->bad & X_BAD_MESSAGE))
			x1367_report(c, X_ERROR_MESSAGE, 0, "missing");
		return;
	}
	info = mm_x1367_code_info(r->code);
	if (info && strcmp(info->message, r->message) != 0)
		x1367_report(c, X_ERROR_MESSAGE, MM_X1367_F_MESSAGE,
			     "\"%s\" does not match code %02X, whose message is \"%s\"",
			     r->message, r->code, info->message);
	else if (!info && r->message[0] == '\0')
		x1367_report(c, X_ERROR_MESSAGE, 0,
			     "empty, but %s code %02X needs the sender's own message",
			     mm_x1367_status_name(mm_x1367_code_status(r->code)), r->code);
}

void x1367_check(const struct mm_x1367_record *r, struct x1367_ctx *c)
{
	struct timespec ts = {0, 0};

	if (!r->timestamp) {
		if (!(c->bad & X_BAD_TIMESTAMP))
			x1367_report(c, X_TIMESTAMP, 0, "missing");
	} else {
		int rc = mm_x1367_time_parse(r->timestamp, &ts);
		if (rc < 0)
			x1367_report(c, X_TIMESTAMP, 0, "\"%s\" is not an RFC 3339 date and time",
				     r->timestamp);
		else if (rc > 0)
			x1367_report(c, X_TIMESTAMP, MM_X1367_F_TIMESTAMP,
				     "\"%s\" is not UTC with a fraction of a second "
				     "(e.g. 2018-08-28T09:34:55.0Z)",
				     r->timestamp);
		if (rc >= 0)
			c->time = ts;
	}
	if (!r->protocol) {
		if (!(c->bad & X_BAD_PROTOCOL))
			x1367_report(c, X_PROTOCOL, 0, "missing");
	}
	else if (r->protocol[0] == '\0')
		x1367_report(c, X_PROTOCOL, 0, "empty");
	check_party(r, MM_X1367_REPORTER, c);
	check_party(r, MM_X1367_REQUESTER, c);
	check_party(r, MM_X1367_RESPONDER, c);
	check_code(r, c);
	if (r->description && !json_is_object((json_t *)r->description))
		x1367_report(c, X_DESCRIPTION, MM_X1367_F_DESCRIPTION, "not an object");
}

int mm_x1367_validate(const struct mm_x1367_record *r, struct mm_x1367_diags *d)
{
	struct x1367_ctx c = {.mode = MM_X1367_STRICT, .d = d};

	if (d)
		memset(d, 0, sizeof *d);
	x1367_check(r, &c);
	return c.errors ? MM_EINVALID : 0;
}

/* ---- builder ---- */

struct mm_x1367_record *mm_x1367_new(void)
{
	return calloc(1, sizeof(struct mm_x1367_record));
}

void mm_x1367_free(struct mm_x1367_record *r)
{
	int p, k;

	if (!r)
		return;
	free(r->timestamp);
	free(r->protocol);
	free(r->message);
	for (p = 0; p < 3; p++) {
		for (k = 0; k < MM_X1367_ID_COUNT; k++)
			free(r->party[p].id[k]);
		free(r->party[p].transmitted);
		json_decref(r->party[p].extra);
	}
	json_decref(r->description);
	json_decref(r->extra);
	free(r);
}

/* Replaces *dst with a copy of s (NULL clears). */
static int set_str(char **dst, const char *s)
{
	char *c = NULL;

	if (s && (c = strdup(s)) == NULL)
		return MM_ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

int mm_x1367_set_time(struct mm_x1367_record *r, const struct timespec *ts)
{
	char text[64];
	int rc;

	if ((rc = mm_x1367_time_format(ts, text, sizeof text)) < 0)
		return rc;
	if ((rc = set_str(&r->timestamp, text)) < 0)
		return rc;
	r->time = *ts;
	return 0;
}

int mm_x1367_set_protocol(struct mm_x1367_record *r, const char *protocol)
{
	if (!protocol || !*protocol)
		return MM_EINVAL;
	return set_str(&r->protocol, protocol);
}

int mm_x1367_set_id(struct mm_x1367_record *r, enum mm_x1367_party p, enum mm_x1367_idkind k,
		    const char *value)
{
	if ((unsigned)p > MM_X1367_RESPONDER || (unsigned)k >= MM_X1367_ID_COUNT)
		return MM_EINVAL;
	if (value && id_problem(k, value))
		return MM_EINVAL;
	return set_str(&r->party[p].id[k], value);
}

int mm_x1367_set_transmitted(struct mm_x1367_record *r, enum mm_x1367_party p, const void *raw,
			     size_t len)
{
	struct mm_buf b;
	int rc;

	if (p != MM_X1367_REQUESTER && p != MM_X1367_RESPONDER)
		return MM_EINVAL;
	mm_buf_init(&b, MM_X1367_MAX_TEXT / 2);
	if ((rc = mm_hex_encode(&b, raw, len)) < 0 || (rc = mm_buf_reserve(&b, 0)) < 0) {
		mm_buf_free(&b);
		return rc;
	}
	free(r->party[p].transmitted);
	r->party[p].transmitted = mm_buf_steal(&b);
	return 0;
}

int mm_x1367_set_code(struct mm_x1367_record *r, uint8_t code, const char *message)
{
	const struct mm_x1367_code *info = mm_x1367_code_info(code);
	int rc;

	if (!message) {
		if (!info)
			return MM_EINVAL; /* an unassigned code has no standard message */
		message = info->message;
	} else if (info && strcmp(message, info->message) != 0) {
		return MM_EINVAL;
	} else if (!*message) {
		return MM_EINVAL;
	}
	if ((rc = set_str(&r->message, message)) < 0)
		return rc;
	r->code = code;
	r->has_code = 1;
	return 0;
}

int mm_x1367_set_description(struct mm_x1367_record *r, const char *key, const char *value)
{
	json_t *v;

	if (!key || !value)
		return MM_EINVAL;
	if (!r->description && (r->description = json_object()) == NULL)
		return MM_ENOMEM;
	if (!json_is_object((json_t *)r->description))
		return MM_EINVAL;
	if ((v = json_string(value)) == NULL)
		return MM_EINVAL; /* not UTF-8 */
	return json_object_set_new(r->description, key, v) ? MM_ENOMEM : 0;
}
