/*
 * The lenient RFC 3164 ("BSD syslog") parser behind mm_syslog_parse().
 *
 * RFC 3164 describes what was seen on the wire rather than a grammar, and
 * senders vary: no PRI, a year in the stamp, fractions, RFC 3339 stamps,
 * Cisco's sequence numbers and marks, time zone names, no hostname. Each
 * guess is recorded as a bit of m->quirks so that a caller can tell what the
 * message really carried. Once a PRI is accepted (or found missing) the parse
 * cannot fail: whatever is not understood becomes part of MSG.
 *
 * The parse is one pass over an mm_cur; any optional part is tried from a
 * saved position and the cursor is put back when the part does not match.
 */
#include <stdint.h>
#include <string.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/syslog.h"

/* Library-internal functions shared with lib/syslog.c; the same prototypes
 * stand at the top of both files. */
int mm_syslog_parse_3164_(const uint8_t *p, size_t len, struct mm_syslog_msg *m);
int mm_syslog_time_3339_(struct mm_cur *c, struct mm_syslog_time *t, int strict,
			 const char **err);

#define SP ' '
#define DEFAULT_PRI 13  /* user.notice, RFC 3164 section 4.3.3 */
#define MAX_TAG 48      /* the APP-NAME bound of RFC 5424 */
#define MAX_PID 128     /* the PROCID bound of RFC 5424 */

static const uint8_t bom[3] = { 0xEF, 0xBB, 0xBF };

static int is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int is_upper(int ch)
{
	return ch >= 'A' && ch <= 'Z';
}

static int is_alpha(int ch)
{
	return is_upper(ch) || (ch >= 'a' && ch <= 'z');
}

/* Characters of host names and IPv4/IPv6 addresses. */
static int is_host_char(int ch)
{
	return is_alpha(ch) || is_digit(ch) || ch == '.' || ch == '-' || ch == '_' || ch == ':';
}

static int fail(struct mm_syslog_msg *m, size_t off, const char *what)
{
	m->err_off = off;
	m->err = what;
	return MM_EPARSE;
}

/* Reads exactly n digits, or returns -1 and leaves the cursor alone. */
static int take_num(struct mm_cur *c, int n)
{
	int v = 0;

	if (mm_cur_left(c) < (size_t)n)
		return -1;
	for (int i = 0; i < n; i++) {
		if (!is_digit(c->p[c->pos + i]))
			return -1;
		v = v * 10 + (c->p[c->pos + i] - '0');
	}
	c->pos += n;
	return v;
}

/* Reads 1 to max (at most 9) digits, stopping at the first non-digit, or
 * returns -1. */
static int take_upto(struct mm_cur *c, int max)
{
	int v = 0, n = 0;

	while (n < max && is_digit(mm_cur_peek(c))) {
		v = v * 10 + (mm_cur_getc(c) - '0');
		n++;
	}
	return n ? v : -1;
}

/* True when the cursor is at the end of a token: SP or the end of input. */
static int at_token_end(const struct mm_cur *c)
{
	return mm_cur_eof(c) || mm_cur_peek(c) == SP;
}

static size_t token_len(const struct mm_cur *c)
{
	const uint8_t *sp = memchr(c->p + c->pos, SP, mm_cur_left(c));

	return sp ? (size_t)(sp - (c->p + c->pos)) : mm_cur_left(c);
}

/* Trailing LF, CR and NUL come from senders that frame with them or write C
 * strings; they are not part of the message. */
static size_t trim_trailer(const uint8_t *p, size_t len, struct mm_syslog_msg *m)
{
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == '\0')) {
		len--;
		m->quirks |= MM_SYSLOG_Q_TRAILER;
	}
	return len;
}

/*
 * "<PRI>" with 1 to 3 digits, 0..191; leading zeros are tolerated here. A
 * message without '<' has no PRI (RFC 3164 section 4.3.3: assume 13). A '<'
 * that does not start a valid PRI is the one error of this parser.
 */
static int parse_pri(struct mm_cur *c, struct mm_syslog_msg *m)
{
	size_t start;
	int v;

	if (!mm_cur_accept(c, '<')) {
		m->quirks |= MM_SYSLOG_Q_NO_PRI;
		v = DEFAULT_PRI;
	} else {
		start = c->pos;
		if ((v = take_upto(c, 3)) < 0)
			return fail(m, start, "PRI has no digits");
		if (!mm_cur_accept(c, '>'))
			return fail(m, c->pos, "PRI is not closed by '>' after 3 digits");
		if (v > 191)
			return fail(m, start, "PRI is out of range 0..191");
	}
	m->pri = v;
	m->facility = v / 8;
	m->severity = v % 8;
	return 0;
}

/* Cisco IOS: "<189>123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: ..." puts a
 * message sequence number and ": " before the stamp. */
static void skip_cisco_seq(struct mm_cur *c, struct mm_syslog_msg *m)
{
	size_t save = c->pos, n = 0;

	/* Only the digits' count matters; their value may exceed an int. */
	while (n < 10 && is_digit(mm_cur_peek(c))) {
		c->pos++;
		n++;
	}
	if (n > 0 && mm_cur_accept(c, ':') && mm_cur_accept(c, SP)) {
		m->quirks |= MM_SYSLOG_Q_CISCO;
		return;
	}
	c->pos = save;
}

/* "Jan".."Dec", in any case; returns 1..12 or 0. */
static int take_month(struct mm_cur *c)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	char s[3];

	if (mm_cur_left(c) < 3)
		return 0;
	for (int i = 0; i < 3; i++)
		s[i] = (char)(c->p[c->pos + i] | 0x20);
	for (int i = 0; i < 12; i++) {
		if (memcmp(names + 3 * i, s, 3) == 0) {
			c->pos += 3;
			return i + 1;
		}
	}
	return 0;
}

/* ".123" after the seconds: up to 9 digits kept, more are dropped. */
static void take_fraction(struct mm_cur *c, struct mm_syslog_msg *m)
{
	long scale = 100000000;
	int n = 0;

	if (mm_cur_left(c) < 2 || c->p[c->pos] != '.' || !is_digit(c->p[c->pos + 1]))
		return;
	c->pos++;
	while (is_digit(mm_cur_peek(c))) {
		int ch = mm_cur_getc(c);

		if (n < 9) {
			m->time.nsec += (ch - '0') * scale;
			scale /= 10;
		}
		n++;
	}
	m->time.frac_digits = n > 9 ? 9 : n;
	m->quirks |= MM_SYSLOG_Q_FRACTION;
}

/* "hh:mm:ss"; a leap second is let through, RFC 3164 does not rule on it. */
static int take_clock(struct mm_cur *c, struct mm_syslog_time *t)
{
	if ((t->hour = take_num(c, 2)) < 0 || !mm_cur_accept(c, ':') ||
	    (t->minute = take_num(c, 2)) < 0 || !mm_cur_accept(c, ':') ||
	    (t->second = take_num(c, 2)) < 0)
		return -1;
	return t->hour > 23 || t->minute > 59 || t->second > 60 ? -1 : 0;
}

/* A four-digit year followed by SP (or, after the time, by ':' or the end). */
static int take_year(struct mm_cur *c, struct mm_syslog_msg *m)
{
	size_t save = c->pos;
	int y = take_num(c, 4);

	if (y < 0 || !(at_token_end(c) || mm_cur_peek(c) == ':')) {
		c->pos = save;
		return -1;
	}
	m->time.year = y;
	m->quirks |= MM_SYSLOG_Q_YEAR;
	return 0;
}

/*
 * The BSD stamp "Mmm dd hh:mm:ss" (RFC 3164 section 4.1.2) with its
 * variants: the day padded with a space ("Feb  5") or not ("Feb 5"), a year
 * before the month ("1990 Oct 22 10:52:01", RFC 3164 section 5.4 example 4)
 * or after the day ("Oct 11 2023 22:14:15", Cisco "show-year"), and a
 * fraction of a second ("18:46:11.123", Cisco "msec").
 */
static int take_bsd_stamp(struct mm_cur *c, struct mm_syslog_msg *m)
{
	struct mm_syslog_time *t = &m->time;

	if (is_digit(mm_cur_peek(c)) && (take_year(c, m) < 0 || !mm_cur_accept(c, SP)))
		return -1;
	if ((t->month = take_month(c)) == 0 || !mm_cur_accept(c, SP))
		return -1;
	mm_cur_accept(c, SP);
	if ((t->day = take_upto(c, 2)) < 1 || t->day > 31 || !mm_cur_accept(c, SP))
		return -1;
	if (!(m->quirks & MM_SYSLOG_Q_YEAR) && mm_cur_left(c) > 4 && c->p[c->pos + 4] == SP &&
	    (take_year(c, m) < 0 || !mm_cur_accept(c, SP)))
		return -1;
	if (take_clock(c, t) < 0)
		return -1;
	take_fraction(c, m);
	return 0;
}

/* Zone names that stand alone. Names followed by an offset ("TZ-6",
 * "UTC+2", "GMT-05:00") are recognised by their form instead. */
static int known_zone(const uint8_t *p, size_t n)
{
	static const char *const zones[] = {
		"UTC", "UT", "GMT", "CST", "CDT", "EST", "EDT", "MST", "MDT", "PST", "PDT",
		"AKST", "AKDT", "HST", "CET", "CEST", "EET", "EEST", "WET", "WEST", "BST",
		"IST", "JST", "KST", "MSK", "AEST", "AEDT", "ACST", "ACDT", "AWST", "NZST",
		"NZDT", "HKT", "SGT",
	};

	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++)
		if (strlen(zones[i]) == n && memcmp(zones[i], p, n) == 0)
			return 1;
	return 0;
}

/* "+h", "-hh", "+hh:mm", "-hhmm" after a zone name, as minutes east. */
static int take_zone_offset(struct mm_cur *c, int *minutes)
{
	int sign = mm_cur_peek(c) == '-' ? -1 : 1, h, mi = 0;

	c->pos++;
	if ((h = take_upto(c, 2)) < 0 || h > 23)
		return -1;
	if (mm_cur_left(c) >= 3 && c->p[c->pos] == ':' && is_digit(c->p[c->pos + 1]))
		c->pos++;
	if (is_digit(mm_cur_peek(c)) && ((mi = take_num(c, 2)) < 0 || mi > 59))
		return -1;
	*minutes = sign * (h * 60 + mi);
	return 0;
}

/*
 * A time zone after the time: "CST" (RFC 3164 section 5.4 example 3), "TZ-6"
 * (example 4), "UTC", "GMT+2" (Cisco "show-timezone"). A bare name must be
 * one of the well-known abbreviations, so that a short upper-case host name
 * is not taken for a zone. UTC, GMT and UT set the offset; other names do
 * not, since "CST" alone may be China or Central; a numeric suffix is read
 * as the offset from UTC as people write it (TZ-6 is six hours west).
 */
static int take_zone(struct mm_cur *c, struct mm_syslog_msg *m)
{
	size_t save = c->pos, n = 0;
	int off = 0, has_num = 0, utc;

	while (n < 5 && is_upper(mm_cur_peek(c))) {
		c->pos++;
		n++;
	}
	utc = (n == 2 && memcmp(c->p + save, "UT", 2) == 0) ||
	      (n == 3 && (memcmp(c->p + save, "UTC", 3) == 0 || memcmp(c->p + save, "GMT", 3) == 0));
	if (n > 0 && (mm_cur_peek(c) == '+' || mm_cur_peek(c) == '-')) {
		if (take_zone_offset(c, &off) < 0)
			goto no;
		has_num = 1;
	}
	if (n == 0 || (!has_num && !known_zone(c->p + save, n)) ||
	    !(at_token_end(c) || mm_cur_peek(c) == ':'))
		goto no;
	m->quirks |= MM_SYSLOG_Q_TZ;
	if (utc || has_num) {
		m->time.has_offset = 1;
		m->time.offset_min = off;
	}
	return 0;
no:
	c->pos = save;
	return -1;
}

/*
 * What may follow the clock: a zone name, a year ("Aug 24 05:34:00 CST 1987",
 * RFC 3164 section 5.4 example 3) and Cisco's ':' before the message text
 * ("18:46:11.123: %SYS-..."). The ':' is not part of the stamp text.
 */
static void take_stamp_tail(struct mm_cur *c, struct mm_syslog_msg *m, size_t *end)
{
	size_t save = c->pos;

	if (mm_cur_accept(c, SP) && take_zone(c, m) == 0)
		save = c->pos;
	c->pos = save;
	if (!(m->quirks & MM_SYSLOG_Q_YEAR) && mm_cur_accept(c, SP) && take_year(c, m) == 0)
		save = c->pos;
	c->pos = save;
	*end = c->pos;
	if (mm_cur_accept(c, ':'))
		m->quirks |= MM_SYSLOG_Q_CISCO;
}

/*
 * The timestamp, if there is one: an RFC 3339 stamp (rsyslog's
 * RSYSLOG_ForwardFormat, "2023-10-11T22:14:15.003+02:00") or a BSD stamp,
 * either possibly after Cisco's '*' (clock not synchronised) or '.' (sync
 * lost) mark. It must end at SP or the end of the message; otherwise the
 * cursor is put back and the text becomes part of the content.
 */
static void parse_stamp(struct mm_cur *c, struct mm_syslog_msg *m)
{
	size_t save = c->pos, start, end;
	unsigned q = m->quirks;
	const char *err;
	int mark = 0;

	if (mm_cur_peek(c) == '*' || mm_cur_peek(c) == '.') {
		c->pos++;
		mark = 1;
	}
	start = c->pos;
	if (mm_cur_left(c) > 4 && c->p[c->pos + 4] == '-') {
		if (mm_syslog_time_3339_(c, &m->time, 0, &err) < 0)
			goto none;
		m->quirks |= MM_SYSLOG_Q_RFC3339 | MM_SYSLOG_Q_YEAR;
		if (m->time.frac_digits > 0)
			m->quirks |= MM_SYSLOG_Q_FRACTION;
		end = c->pos;
	} else {
		memset(&m->time, 0, sizeof m->time);
		if (take_bsd_stamp(c, m) < 0)
			goto none;
		take_stamp_tail(c, m, &end);
	}
	if (!at_token_end(c))
		goto none;
	m->time.present = 1;
	m->timestamp = (struct mm_str){ (const char *)c->p + start, end - start };
	if (mark)
		m->quirks |= MM_SYSLOG_Q_CISCO;
	return;
none:
	c->pos = save;
	m->quirks = q | MM_SYSLOG_Q_NO_TIMESTAMP;
	memset(&m->time, 0, sizeof m->time);
}

static void skip_spaces(struct mm_cur *c)
{
	while (mm_cur_accept(c, SP))
		;
}

/* Tags are printable ASCII, as RFC 3164 section 4.1.3 has them; a token
 * with other bytes is content. This also keeps APP-NAME and PROCID within
 * what RFC 5424 allows, so that a relay can forward them as they are. */
static int printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 33 || p[i] > 126)
			return 0;
	return 1;
}

/*
 * Splits a tag token into APP-NAME and PROCID. The forms are "name:",
 * "name[pid]:" and "name[pid]" (some daemons omit the colon); the name is
 * at most MAX_TAG bytes and the pid MAX_PID. Returns the bytes of the token
 * that the tag used, or 0 when the token is not a tag.
 */
static size_t split_tag(const uint8_t *t, size_t n, struct mm_syslog_msg *m)
{
	const uint8_t *lb = memchr(t, '[', n);
	size_t body = n > 0 && t[n - 1] == ':' ? n - 1 : n;

	if (!printable(t, n))
		return 0;

	if (lb != NULL) {
		size_t name = (size_t)(lb - t), pid;

		if (name == 0 || name > MAX_TAG || body < name + 2 || t[body - 1] != ']')
			return 0;
		pid = body - name - 2;
		if (pid > MAX_PID || memchr(lb + 1, ']', pid) != NULL)
			return 0;
		m->app_name = (struct mm_str){ (const char *)t, name };
		if (pid > 0)
			m->procid = (struct mm_str){ (const char *)lb + 1, pid };
		return n;
	}
	if (body == n || body == 0 || body > MAX_TAG)
		return 0;
	m->app_name = (struct mm_str){ (const char *)t, body };
	return n;
}

/* A host name token: host name or address characters, not ending in ':'
 * (that is a tag), and followed by SP so that a message of one word is
 * taken for content rather than for a host with nothing to say. */
static int is_hostname(const struct mm_cur *c, size_t n)
{
	const uint8_t *t = c->p + c->pos;

	if (n == 0 || n == mm_cur_left(c) || t[n - 1] == ':')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_host_char(t[i]))
			return 0;
	return 1;
}

/*
 * HOSTNAME, then the TAG, then the content. Without a timestamp RFC 3164
 * section 4.3.3 has no HOSTNAME either. A first token that is a tag or
 * cannot be a host name means the sender left the host out ("<13>Feb  5
 * 17:32:18 sshd[99]: hi"). A token that is no tag ("10.1.2.3", "Use") leaves
 * APP-NAME absent and is the start of the content.
 */
static void parse_host_tag(struct mm_cur *c, struct mm_syslog_msg *m)
{
	size_t n, used;

	n = token_len(c);
	if (!(m->quirks & MM_SYSLOG_Q_NO_TIMESTAMP) && is_hostname(c, n)) {
		m->hostname = (struct mm_str){ (const char *)c->p + c->pos, n };
		c->pos += n;
		skip_spaces(c);
		n = token_len(c);
	} else {
		m->quirks |= MM_SYSLOG_Q_NO_HOSTNAME;
	}
	if ((used = split_tag(c->p + c->pos, n, m)) > 0) {
		c->pos += used;
		mm_cur_accept(c, SP);
	}
}

/* The content. A leading BOM is taken off and noted as in RFC 5424, but
 * here bytes that are not UTF-8 only clear msg_utf8. */
static void parse_content(struct mm_cur *c, struct mm_syslog_msg *m)
{
	size_t left = mm_cur_left(c);

	if (left == 0)
		return;
	if (left >= 3 && memcmp(c->p + c->pos, bom, 3) == 0) {
		m->msg_bom = 1;
		c->pos += 3;
		left -= 3;
	}
	m->msg = (struct mm_str){ (const char *)c->p + c->pos, left };
	m->msg_utf8 = mm_utf8_check(m->msg.p, left) == left;
	c->pos = c->len;
}

int mm_syslog_parse_3164_(const uint8_t *p, size_t len, struct mm_syslog_msg *m)
{
	struct mm_cur c;
	int rc;

	m->format = MM_SYSLOG_RFC3164;
	m->version = 0;
	len = trim_trailer(p, len, m);
	mm_cur_init(&c, p, len);
	if ((rc = parse_pri(&c, m)) < 0)
		return rc;
	skip_cisco_seq(&c, m);
	parse_stamp(&c, m);
	skip_spaces(&c);
	parse_host_tag(&c, m);
	parse_content(&c, m);
	return 0;
}
