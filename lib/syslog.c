/*
 * RFC 5424 syslog: the strict parser, the format dispatch of
 * mm_syslog_parse(), SD-PARAM unescaping and the encoder.
 * See include/mamori/syslog.h for the contracts and lib/syslog3164.c for the
 * lenient RFC 3164 parser.
 *
 * The parser is a single pass over the input through an mm_cur; it records
 * slices of the input and allocates nothing, so a parse is cheap enough to
 * run on every message a gateway receives.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/syslog.h"

/*
 * Library-internal functions shared with lib/syslog3164.c. There is no
 * private header for the two files, so the same prototypes stand at the top
 * of both; keep them in step.
 */
int mm_syslog_parse_3164_(const uint8_t *p, size_t len, struct mm_syslog_msg *m);
int mm_syslog_time_3339_(struct mm_cur *c, struct mm_syslog_time *t, int strict,
			 const char **err);

#define SP ' '
#define NILVALUE '-'

static const uint8_t bom[3] = { 0xEF, 0xBB, 0xBF };

/* One RFC 5424 header field after the TIMESTAMP: its name for error texts
 * and its maximum length (RFC 5424 section 6). */
struct hdr_field {
	size_t max;
	const char *too_long;
	const char *bad_char;
	const char *empty;
};

static const struct hdr_field f_hostname = { 255, "HOSTNAME is longer than 255 characters",
	"HOSTNAME holds a character outside PRINTUSASCII", "HOSTNAME is empty" };
static const struct hdr_field f_app_name = { 48, "APP-NAME is longer than 48 characters",
	"APP-NAME holds a character outside PRINTUSASCII", "APP-NAME is empty" };
static const struct hdr_field f_procid = { 128, "PROCID is longer than 128 characters",
	"PROCID holds a character outside PRINTUSASCII", "PROCID is empty" };
static const struct hdr_field f_msgid = { 32, "MSGID is longer than 32 characters",
	"MSGID holds a character outside PRINTUSASCII", "MSGID is empty" };

static int is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int is_printusascii(int ch)
{
	return ch >= 33 && ch <= 126;
}

/* SD-NAME characters: PRINTUSASCII except '=', SP, ']' and '"'. */
static int is_sdname_char(int ch)
{
	return is_printusascii(ch) && ch != '=' && ch != ']' && ch != '"';
}

/*
 * Returns the offset of the first byte that is not valid UTF-8, or len.
 * Most syslog text is ASCII, so eight bytes at a time are first checked for
 * a high bit and mm_utf8_check() only sees what follows the first one.
 */
static size_t utf8_bad(const void *p, size_t len)
{
	const uint8_t *s = p;
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		if (w & 0x8080808080808080ULL)
			break;
	}
	return i + mm_utf8_check(s + i, len - i);
}

static int fail(struct mm_syslog_msg *m, size_t off, int rc, const char *what)
{
	m->err_off = off;
	m->err = what;
	return rc;
}

/* Clears what a parse sets. The SD tables are left alone: nelements and
 * nparams say how much of them is valid, and clearing their 3 KiB on every
 * message would be a sizeable share of the cost of a parse. */
static void msg_reset(struct mm_syslog_msg *m)
{
	m->format = MM_SYSLOG_RFC5424;
	m->pri = m->facility = m->severity = m->version = 0;
	m->timestamp = (struct mm_str){ NULL, 0 };
	memset(&m->time, 0, sizeof m->time);
	m->hostname = m->app_name = m->procid = m->msgid = (struct mm_str){ NULL, 0 };
	m->nelements = m->nparams = 0;
	m->msg = (struct mm_str){ NULL, 0 };
	m->msg_bom = 0;
	m->msg_utf8 = 1; /* no MSG is empty text, which is valid UTF-8 */
	m->quirks = 0;
	m->err_off = 0;
	m->err = NULL;
}

/* Reads n digits as a number, or returns -1 if any of them is not a digit. */
static int take_num(struct mm_cur *c, int n)
{
	int v = 0;

	if (mm_cur_left(c) < (size_t)n)
		return -1;
	for (int i = 0; i < n; i++) {
		int ch = c->p[c->pos + i];

		if (!is_digit(ch))
			return -1;
		v = v * 10 + (ch - '0');
	}
	c->pos += n;
	return v;
}

static int days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* TIME-SECFRAC after its '.': at most 6 digits when strict (RFC 5424), up
 * to 9 otherwise, and further digits of a lenient sender are dropped. */
static int take_fraction(struct mm_cur *c, struct mm_syslog_time *t, int strict,
			 const char **err)
{
	long scale = 100000000;
	int n = 0;

	while (is_digit(mm_cur_peek(c))) {
		int ch = mm_cur_getc(c);

		if (n < 9) {
			t->nsec += (ch - '0') * scale;
			scale /= 10;
		}
		n++;
	}
	if (n == 0) {
		*err = "TIME-SECFRAC has no digits";
		return MM_EPARSE;
	}
	if (strict && n > 6) {
		*err = "TIME-SECFRAC has more than 6 digits";
		return MM_EPARSE;
	}
	t->frac_digits = n > 9 ? 9 : n;
	return 0;
}

/* TIME-OFFSET: "Z" or "+hh:mm"/"-hh:mm". Lenient parses also take a lower
 * case 'z' and "+hhmm", which some RFC 3164 senders write. */
static int take_offset(struct mm_cur *c, struct mm_syslog_time *t, int strict,
		       const char **err)
{
	int ch = mm_cur_peek(c), sign, h, mi;

	if (ch == 'Z' || (!strict && ch == 'z')) {
		c->pos++;
		t->has_offset = 1;
		return 0;
	}
	if (ch != '+' && ch != '-') {
		*err = "TIME-OFFSET is not Z, +hh:mm or -hh:mm";
		return MM_EPARSE;
	}
	c->pos++;
	sign = ch == '-' ? -1 : 1;
	h = take_num(c, 2);
	if (!mm_cur_accept(c, ':') && strict)
		h = -1;
	mi = take_num(c, 2);
	if (h < 0 || mi < 0) {
		*err = "TIME-OFFSET is not Z, +hh:mm or -hh:mm";
		return MM_EPARSE;
	}
	if (h > 23 || mi > 59) {
		*err = "TIME-OFFSET out of range";
		return MM_EPARSE;
	}
	t->has_offset = 1;
	t->offset_min = sign * (h * 60 + mi);
	return 0;
}

/*
 * Parses an RFC 3339 date-time as RFC 5424 section 6.2.3 restricts it:
 * "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)" with every field range
 * checked, the day against its month, and no leap second. strict 0 is for
 * RFC 3339 stamps inside RFC 3164 headers (rsyslog's high-precision format):
 * it also takes 't', 'z', up to 9 fraction digits, "+hhmm" and second 60.
 * Returns 0 with the cursor after the stamp, or MM_EPARSE with *err set and
 * the cursor where the stamp went wrong.
 */
int mm_syslog_time_3339_(struct mm_cur *c, struct mm_syslog_time *t, int strict,
			 const char **err)
{
	int rc, ch;

	memset(t, 0, sizeof *t);
	*err = "TIMESTAMP is not YYYY-MM-DDThh:mm:ss";
	if ((t->year = take_num(c, 4)) < 0 || !mm_cur_accept(c, '-') ||
	    (t->month = take_num(c, 2)) < 0 || !mm_cur_accept(c, '-') ||
	    (t->day = take_num(c, 2)) < 0)
		return MM_EPARSE;
	ch = mm_cur_getc(c);
	if (ch != 'T' && (strict || ch != 't'))
		return MM_EPARSE;
	if ((t->hour = take_num(c, 2)) < 0 || !mm_cur_accept(c, ':') ||
	    (t->minute = take_num(c, 2)) < 0 || !mm_cur_accept(c, ':') ||
	    (t->second = take_num(c, 2)) < 0)
		return MM_EPARSE;
	if (t->month < 1 || t->month > 12 || t->day < 1 ||
	    t->day > days_in_month(t->year, t->month)) {
		*err = "TIMESTAMP date out of range";
		return MM_EPARSE;
	}
	/* RFC 5424 forbids leap seconds; RFC 3164 senders may still send one. */
	if (t->hour > 23 || t->minute > 59 || t->second > (strict ? 59 : 60)) {
		*err = "TIMESTAMP time out of range";
		return MM_EPARSE;
	}
	if (mm_cur_accept(c, '.') && (rc = take_fraction(c, t, strict, err)) < 0)
		return rc;
	if ((rc = take_offset(c, t, strict, err)) < 0)
		return rc;
	t->present = 1;
	return 0;
}

/* PRI: "<" then 1 to 3 digits without a leading zero, 0..191, then ">". */
static int parse_pri(struct mm_cur *c, struct mm_syslog_msg *m)
{
	size_t start;
	int v = 0, n = 0;

	if (!mm_cur_accept(c, '<'))
		return fail(m, c->pos, MM_EPARSE, "PRI does not begin with '<'");
	start = c->pos;
	while (n < 3 && is_digit(mm_cur_peek(c))) {
		v = v * 10 + (mm_cur_getc(c) - '0');
		n++;
	}
	if (n == 0)
		return fail(m, c->pos, MM_EPARSE, "PRI has no digits");
	if (n > 1 && c->p[start] == '0')
		return fail(m, start, MM_EPARSE, "PRI has a leading zero");
	if (!mm_cur_accept(c, '>'))
		return fail(m, c->pos, MM_EPARSE, "PRI is not closed by '>' after 3 digits");
	if (v > 191)
		return fail(m, start, MM_EPARSE, "PRI is out of range 0..191");
	m->pri = v;
	m->facility = v / 8;
	m->severity = v % 8;
	return 0;
}

/* VERSION: NONZERO-DIGIT 0*2DIGIT. Only version 1 exists, and the layout of
 * any later version is unknown, so anything else is refused. */
static int parse_version(struct mm_cur *c, struct mm_syslog_msg *m)
{
	size_t start = c->pos;
	int v = 0, n = 0;

	while (n < 3 && is_digit(mm_cur_peek(c))) {
		v = v * 10 + (mm_cur_getc(c) - '0');
		n++;
	}
	if (n == 0 || c->p[start] == '0')
		return fail(m, start, MM_EPARSE, "VERSION is not a number from 1 to 999");
	if (v != 1)
		return fail(m, start, MM_EPARSE, "VERSION is not 1");
	m->version = v;
	return 0;
}

/* Every header field is followed by one SP; a missing one is either the
 * end of a truncated message or a stray character. */
static int expect_sp(struct mm_cur *c, struct mm_syslog_msg *m, const char *what)
{
	if (mm_cur_eof(c))
		return fail(m, c->pos, MM_EPARSE, "message ends inside the header");
	if (!mm_cur_accept(c, SP))
		return fail(m, c->pos, MM_EPARSE, what);
	return 0;
}

static int parse_timestamp(struct mm_cur *c, struct mm_syslog_msg *m)
{
	size_t start = c->pos;
	const char *err;

	if (mm_cur_peek(c) == NILVALUE) {
		c->pos++;
		return expect_sp(c, m, "TIMESTAMP NILVALUE is followed by more characters");
	}
	if (mm_syslog_time_3339_(c, &m->time, 1, &err) < 0)
		return fail(m, c->pos, MM_EPARSE, err);
	m->timestamp = (struct mm_str){ (const char *)c->p + start, c->pos - start };
	return expect_sp(c, m, "TIMESTAMP is followed by more characters");
}

/* HOSTNAME, APP-NAME, PROCID, MSGID: NILVALUE or 1*max PRINTUSASCII, then SP. */
static int parse_field(struct mm_cur *c, struct mm_syslog_msg *m, const struct hdr_field *f,
		       struct mm_str *out)
{
	size_t start = c->pos, n;

	while (is_printusascii(mm_cur_peek(c)))
		c->pos++;
	n = c->pos - start;
	if (n > f->max)
		return fail(m, start + f->max, MM_EPARSE, f->too_long);
	if (n == 0)
		return fail(m, start, MM_EPARSE,
			    mm_cur_eof(c) ? "message ends inside the header" :
			    mm_cur_peek(c) == SP ? f->empty : f->bad_char);
	if (!(n == 1 && c->p[start] == NILVALUE))
		*out = (struct mm_str){ (const char *)c->p + start, n };
	return expect_sp(c, m, f->bad_char);
}

/* SD-NAME: 1 to 32 characters of PRINTUSASCII except '=', SP, ']', '"'. */
static int parse_sd_name(struct mm_cur *c, struct mm_syslog_msg *m, struct mm_str *out,
			 const char *what)
{
	size_t start = c->pos, n;

	while (is_sdname_char(mm_cur_peek(c)))
		c->pos++;
	n = c->pos - start;
	if (n == 0)
		return fail(m, start, MM_EPARSE,
			    mm_cur_eof(c) ? "message ends inside STRUCTURED-DATA" : what);
	if (n > 32)
		return fail(m, start + 32, MM_EPARSE, "SD-NAME is longer than 32 characters");
	*out = (struct mm_str){ (const char *)c->p + start, n };
	return 0;
}

/*
 * PARAM-VALUE up to its closing '"'. '"', '\' and ']' must be escaped with a
 * backslash (RFC 5424 section 6.3.3), so an unescaped ']' is refused; a
 * backslash before any other character is an ordinary backslash. The value
 * must be UTF-8; escapes are ASCII, so checking the escaped form suffices.
 */
static int parse_sd_value(struct mm_cur *c, struct mm_syslog_msg *m, struct mm_sd_param *sp)
{
	size_t start = c->pos, bad;
	int ch;

	sp->escaped = 0;
	for (;;) {
		if ((ch = mm_cur_peek(c)) < 0)
			return fail(m, c->pos, MM_EPARSE, "message ends inside PARAM-VALUE");
		if (ch == '"')
			break;
		if (ch == ']')
			return fail(m, c->pos, MM_EPARSE, "PARAM-VALUE holds an unescaped ']'");
		c->pos++;
		if (ch == '\\') {
			ch = mm_cur_peek(c);
			if (ch == '"' || ch == '\\' || ch == ']') {
				c->pos++;
				sp->escaped = 1;
			}
		}
	}
	sp->value = (struct mm_str){ (const char *)c->p + start, c->pos - start };
	c->pos++; /* the closing '"' */
	if ((bad = utf8_bad(sp->value.p, sp->value.len)) != sp->value.len)
		return fail(m, start + bad, MM_EUTF8, "PARAM-VALUE is not valid UTF-8");
	return 0;
}

static int parse_sd_param(struct mm_cur *c, struct mm_syslog_msg *m)
{
	struct mm_sd_param *sp;
	int rc;

	if (m->nparams == MM_SYSLOG_MAX_SD_PARAMS)
		return fail(m, c->pos, MM_ETOOBIG, "more SD-PARAMs than MM_SYSLOG_MAX_SD_PARAMS");
	sp = &m->params[m->nparams];
	if ((rc = parse_sd_name(c, m, &sp->name, "PARAM-NAME is missing or invalid")) < 0)
		return rc;
	if (!mm_cur_accept(c, '='))
		return fail(m, c->pos, MM_EPARSE, "PARAM-NAME is not followed by '='");
	if (!mm_cur_accept(c, '"'))
		return fail(m, c->pos, MM_EPARSE, "PARAM-VALUE does not begin with '\"'");
	if ((rc = parse_sd_value(c, m, sp)) < 0)
		return rc;
	m->nparams++;
	return 0;
}

/* RFC 5424 section 6.3.2: the same SD-ID must not appear twice. */
static int sd_id_seen(const struct mm_syslog_msg *m, const struct mm_str *id)
{
	for (unsigned i = 0; i < m->nelements; i++)
		if (m->elements[i].id.len == id->len &&
		    memcmp(m->elements[i].id.p, id->p, id->len) == 0)
			return 1;
	return 0;
}

/* SD-ELEMENT: "[" SD-ID *(SP SD-PARAM) "]". */
static int parse_sd_element(struct mm_cur *c, struct mm_syslog_msg *m)
{
	struct mm_sd_element *e;
	size_t start = c->pos;
	int rc;

	if (m->nelements == MM_SYSLOG_MAX_SD_ELEMENTS)
		return fail(m, start, MM_ETOOBIG,
			    "more SD-ELEMENTs than MM_SYSLOG_MAX_SD_ELEMENTS");
	e = &m->elements[m->nelements];
	c->pos++; /* '[' */
	if ((rc = parse_sd_name(c, m, &e->id, "SD-ID is missing or invalid")) < 0)
		return rc;
	if (sd_id_seen(m, &e->id))
		return fail(m, start + 1, MM_EPARSE, "SD-ID appears twice");
	e->first_param = m->nparams;
	for (;;) {
		if (mm_cur_accept(c, ']'))
			break;
		if (mm_cur_eof(c))
			return fail(m, c->pos, MM_EPARSE, "message ends inside STRUCTURED-DATA");
		if (!mm_cur_accept(c, SP))
			return fail(m, c->pos, MM_EPARSE, "SD-ELEMENT holds an invalid character");
		if ((rc = parse_sd_param(c, m)) < 0)
			return rc;
	}
	e->nparams = m->nparams - e->first_param;
	m->nelements++;
	return 0;
}

static int parse_sd(struct mm_cur *c, struct mm_syslog_msg *m)
{
	int rc;

	if (mm_cur_accept(c, NILVALUE))
		return 0;
	if (mm_cur_peek(c) != '[')
		return fail(m, c->pos, MM_EPARSE,
			    mm_cur_eof(c) ? "message ends before STRUCTURED-DATA" :
			    "STRUCTURED-DATA is neither '-' nor '['");
	while (mm_cur_peek(c) == '[')
		if ((rc = parse_sd_element(c, m)) < 0)
			return rc;
	return 0;
}

/* MSG: what follows SP. A leading BOM promises UTF-8 (RFC 5424 section
 * 6.4), so a BOM-marked MSG that is not UTF-8 is an error; otherwise MSG is
 * any octets and msg_utf8 only reports what it holds. */
static int parse_msg(struct mm_cur *c, struct mm_syslog_msg *m)
{
	size_t start, bad;

	if (mm_cur_eof(c))
		return 0;
	if (!mm_cur_accept(c, SP))
		return fail(m, c->pos, MM_EPARSE, "STRUCTURED-DATA is not followed by SP or the end");
	if (mm_cur_left(c) >= 3 && memcmp(c->p + c->pos, bom, 3) == 0) {
		m->msg_bom = 1;
		c->pos += 3;
	}
	start = c->pos;
	m->msg = (struct mm_str){ (const char *)c->p + start, c->len - start };
	bad = utf8_bad(m->msg.p, m->msg.len);
	m->msg_utf8 = bad == m->msg.len;
	if (m->msg_bom && !m->msg_utf8)
		return fail(m, start + bad, MM_EUTF8, "MSG after a BOM is not valid UTF-8");
	c->pos = c->len;
	return 0;
}

static int parse_5424(const uint8_t *p, size_t len, struct mm_syslog_msg *m)
{
	struct mm_cur c;
	int rc;

	mm_cur_init(&c, p, len);
	m->format = MM_SYSLOG_RFC5424;
	if ((rc = parse_pri(&c, m)) < 0 || (rc = parse_version(&c, m)) < 0 ||
	    (rc = expect_sp(&c, m, "VERSION is followed by more characters")) < 0 ||
	    (rc = parse_timestamp(&c, m)) < 0 ||
	    (rc = parse_field(&c, m, &f_hostname, &m->hostname)) < 0 ||
	    (rc = parse_field(&c, m, &f_app_name, &m->app_name)) < 0 ||
	    (rc = parse_field(&c, m, &f_procid, &m->procid)) < 0 ||
	    (rc = parse_field(&c, m, &f_msgid, &m->msgid)) < 0 ||
	    (rc = parse_sd(&c, m)) < 0 || (rc = parse_msg(&c, m)) < 0)
		return rc;
	return 0;
}

/*
 * The AUTO rule: after a well-formed "<PRI>", a VERSION (1 to 3 digits, the
 * first not 0) followed by SP means RFC 5424. "<0>1990 Oct 22" has four
 * digits and so stays RFC 3164, as does "<30>2023-10-11T..." where the
 * digits are followed by '-'.
 */
static int looks_5424(const uint8_t *p, size_t len)
{
	size_t i = 1, n;

	if (len == 0 || p[0] != '<')
		return 0;
	while (i < len && i <= 4 && is_digit(p[i]))
		i++;
	if (i == 1 || i >= len || p[i] != '>')
		return 0;
	i++;
	if (i >= len || p[i] < '1' || p[i] > '9')
		return 0;
	for (n = 0; i < len && n < 3 && is_digit(p[i]); n++)
		i++;
	return i < len && p[i] == SP;
}

int mm_syslog_parse(const void *buf, size_t len, enum mm_syslog_parse_mode mode,
		    struct mm_syslog_msg *m)
{
	const uint8_t *p = buf;

	msg_reset(m);
	if (p == NULL && len > 0)
		return fail(m, 0, MM_EINVAL, "no input");
	switch (mode) {
	case MM_SYSLOG_ONLY_5424:
		return parse_5424(p, len, m);
	case MM_SYSLOG_ONLY_3164:
		return mm_syslog_parse_3164_(p, len, m);
	case MM_SYSLOG_AUTO:
		if (looks_5424(p, len))
			return parse_5424(p, len, m);
		return mm_syslog_parse_3164_(p, len, m);
	}
	return fail(m, 0, MM_EINVAL, "unknown parse mode");
}

/* Whether value->p[i] starts one of the three escapes of PARAM-VALUE. */
static int is_escape(const struct mm_str *value, size_t i)
{
	char next;

	if (value->p[i] != '\\' || i + 1 >= value->len)
		return 0;
	next = value->p[i + 1];
	return next == '"' || next == '\\' || next == ']';
}

int mm_syslog_sd_unescape(const struct mm_str *value, struct mm_buf *out)
{
	size_t i, n = 0;
	int rc;

	if (value->p == NULL || value->len == 0)
		return 0;
	/* Measure first, so that out is bounded by the decoded length and the
	 * copy below cannot fail half-way. */
	for (i = 0; i < value->len; i++, n++)
		i += is_escape(value, i);
	if ((rc = mm_buf_reserve(out, n)) < 0)
		return rc;
	for (i = 0; i < value->len; i++) {
		i += is_escape(value, i);
		out->data[out->len++] = value->p[i];
	}
	out->data[out->len] = '\0';
	return 0;
}

/* Encoder. Everything is validated before the first byte is written, so a
 * caller's mistake is MM_EINVAL whatever room out has. */

static int valid_field(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL)
		return 1;
	for (; s[n] != '\0'; n++)
		if (n == max || !is_printusascii((unsigned char)s[n]))
			return 0;
	return 1;
}

static int valid_sd_name(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (n == 32 || !is_sdname_char((unsigned char)s[n]))
			return 0;
	return n > 0;
}

static int valid_element(const struct mm_syslog_out_element *e)
{
	if (!valid_sd_name(e->id) || (e->nparams > 0 && e->params == NULL))
		return 0;
	for (unsigned i = 0; i < e->nparams; i++) {
		const struct mm_syslog_out_param *sp = &e->params[i];

		if (!valid_sd_name(sp->name) || sp->value == NULL)
			return 0;
		if (mm_utf8_check(sp->value, strlen(sp->value)) != strlen(sp->value))
			return 0;
	}
	return 1;
}

static int valid_sd(const struct mm_syslog_out *o)
{
	if (o->nelements > 0 && o->elements == NULL)
		return 0;
	for (unsigned i = 0; i < o->nelements; i++) {
		if (!valid_element(&o->elements[i]))
			return 0;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(o->elements[i].id, o->elements[j].id) == 0)
				return 0;
	}
	return 1;
}

static int valid_out(const struct mm_syslog_out *o)
{
	if (o->pri < 0 || o->pri > 191)
		return 0;
	if (o->time && (o->time->tv_nsec < 0 || o->time->tv_nsec > 999999999))
		return 0;
	if (!valid_field(o->hostname, 255) || !valid_field(o->app_name, 48) ||
	    !valid_field(o->procid, 128) || !valid_field(o->msgid, 32))
		return 0;
	if (!valid_sd(o))
		return 0;
	if (o->msg == NULL && o->msg_len > 0)
		return 0;
	if (o->msg_bom && mm_utf8_check(o->msg, o->msg_len) != o->msg_len)
		return 0;
	/* MSG-ANY must not begin with a BOM, or a reader takes it for MSG-UTF8. */
	if (!o->msg_bom && o->msg_len >= 3 && memcmp(o->msg, bom, 3) == 0)
		return 0;
	return 1;
}

static int put_field(struct mm_buf *out, const char *s)
{
	int rc;

	if ((rc = mm_buf_putc(out, SP)) < 0)
		return rc;
	return mm_buf_puts(out, s && *s ? s : "-");
}

/* Writes v as exactly width decimal digits, zero-padded, at p. */
static char *put_digits(char *p, long v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/* " YYYY-MM-DDThh:mm:ss.uuuuuuZ", without printf: it is written once per
 * message sent. */
static int put_time(struct mm_buf *out, const struct timespec *ts)
{
	struct tm tm;
	char t[32], *p = t;

	if (ts == NULL)
		return mm_buf_puts(out, " -");
	if (gmtime_r(&ts->tv_sec, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900 ||
	    ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
		return MM_EINVAL;
	*p++ = ' ';
	p = put_digits(p, tm.tm_year + 1900, 4);
	*p++ = '-';
	p = put_digits(p, tm.tm_mon + 1, 2);
	*p++ = '-';
	p = put_digits(p, tm.tm_mday, 2);
	*p++ = 'T';
	p = put_digits(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_min, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_sec, 2);
	*p++ = '.';
	p = put_digits(p, ts->tv_nsec / 1000, 6);
	*p++ = 'Z';
	return mm_buf_append(out, t, (size_t)(p - t));
}

/* PARAM-VALUE with '"', '\' and ']' escaped by a backslash. */
static int put_value(struct mm_buf *out, const char *v)
{
	size_t n = 0;
	int rc;

	for (const char *s = v; *s; s++)
		n += (*s == '"' || *s == '\\' || *s == ']') ? 2 : 1;
	if ((rc = mm_buf_reserve(out, n + 2)) < 0)
		return rc;
	out->data[out->len++] = '"';
	for (const char *s = v; *s; s++) {
		if (*s == '"' || *s == '\\' || *s == ']')
			out->data[out->len++] = '\\';
		out->data[out->len++] = *s;
	}
	out->data[out->len++] = '"';
	out->data[out->len] = '\0';
	return 0;
}

static int put_element(struct mm_buf *out, const struct mm_syslog_out_element *e)
{
	int rc;

	if ((rc = mm_buf_putc(out, '[')) < 0 || (rc = mm_buf_puts(out, e->id)) < 0)
		return rc;
	for (unsigned i = 0; i < e->nparams; i++) {
		if ((rc = mm_buf_putc(out, SP)) < 0 ||
		    (rc = mm_buf_puts(out, e->params[i].name)) < 0 ||
		    (rc = mm_buf_putc(out, '=')) < 0 ||
		    (rc = put_value(out, e->params[i].value)) < 0)
			return rc;
	}
	return mm_buf_putc(out, ']');
}

static int put_msg(struct mm_buf *out, const struct mm_syslog_out *o)
{
	int rc;

	if (o->msg == NULL && !o->msg_bom)
		return 0;
	if ((rc = mm_buf_putc(out, SP)) < 0)
		return rc;
	if (o->msg_bom && (rc = mm_buf_append(out, bom, sizeof bom)) < 0)
		return rc;
	return mm_buf_append(out, o->msg, o->msg_len);
}

static int put_all(const struct mm_syslog_out *o, struct mm_buf *out)
{
	int rc;

	if ((rc = mm_buf_printf(out, "<%d>1", o->pri)) < 0 || (rc = put_time(out, o->time)) < 0 ||
	    (rc = put_field(out, o->hostname)) < 0 || (rc = put_field(out, o->app_name)) < 0 ||
	    (rc = put_field(out, o->procid)) < 0 || (rc = put_field(out, o->msgid)) < 0 ||
	    (rc = mm_buf_putc(out, SP)) < 0)
		return rc;
	if (o->nelements == 0 && (rc = mm_buf_putc(out, NILVALUE)) < 0)
		return rc;
	for (unsigned i = 0; i < o->nelements; i++)
		if ((rc = put_element(out, &o->elements[i])) < 0)
			return rc;
	return put_msg(out, o);
}

int mm_syslog_encode(const struct mm_syslog_out *o, struct mm_buf *out)
{
	size_t start = out->len;
	int rc;

	if (!valid_out(o))
		return MM_EINVAL;
	if ((rc = put_all(o, out)) < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return rc;
}
