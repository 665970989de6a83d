/*
 * Unit tests of the lenient RFC 3164 parser (lib/syslog3164.c): the
 * examples of RFC 3164 section 5.4, each vendor variant it accepts, and the
 * promise that it never fails after a valid PRI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/syslog.h"
#include "syslog_check.h"

#define Q_NO_PRI MM_SYSLOG_Q_NO_PRI
#define Q_NO_TS MM_SYSLOG_Q_NO_TIMESTAMP
#define Q_NO_HOST MM_SYSLOG_Q_NO_HOSTNAME
#define Q_YEAR MM_SYSLOG_Q_YEAR
#define Q_FRAC MM_SYSLOG_Q_FRACTION
#define Q_3339 MM_SYSLOG_Q_RFC3339
#define Q_CISCO MM_SYSLOG_Q_CISCO
#define Q_TZ MM_SYSLOG_Q_TZ
#define Q_TRAILER MM_SYSLOG_Q_TRAILER

static void check_str(const struct mm_str *s, const char *want, const char *what,
		      const char *in)
{
	expect_slice(s, want, what, in);
}

struct c3164 {
	const char *in;
	size_t in_len; /* 0: strlen(in) */
	int pri;
	unsigned quirks;
	const char *ts;
	int year, month, day, hour, minute, second;
	long nsec;
	int has_offset, offset_min;
	const char *host, *app, *procid, *msg;
	int bom, utf8;
};

static const struct c3164 cases[] = {
	/* RFC 3164 section 5.4, example 1. */
	{ .in = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
	  .pri = 34, .ts = "Oct 11 22:14:15", .month = 10, .day = 11, .hour = 22,
	  .minute = 14, .second = 15, .host = "mymachine", .app = "su",
	  .msg = "'su root' failed for lonvick on /dev/pts/8", .utf8 = 1 },
	/* Example 2: a host address and no tag, so the rest is the content. */
	{ .in = "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!", .pri = 13,
	  .ts = "Feb  5 17:32:18", .month = 2, .day = 5, .hour = 17, .minute = 32,
	  .second = 18, .host = "10.0.0.99", .msg = "Use the BFG!", .utf8 = 1 },
	/* Example 3: a zone name and a year after the time. */
	{ .in = "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the "
		"do-nuts.  %%  Ingredients: Mix=OK, Jam=OK Use=OK",
	  .pri = 165, .quirks = Q_TZ | Q_YEAR, .ts = "Aug 24 05:34:00 CST 1987", .year = 1987,
	  .month = 8, .day = 24, .hour = 5, .minute = 34, .second = 0, .host = "mymachine",
	  .app = "myproc", .procid = "10",
	  .msg = "%% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jam=OK Use=OK",
	  .utf8 = 1 },
	/* Example 4: year before the month, "TZ-6", and a token after the
	 * host that is no tag, so APP-NAME stays absent. */
	{ .in = "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: "
		"That's All Folks!",
	  .pri = 0, .quirks = Q_YEAR | Q_TZ, .ts = "1990 Oct 22 10:52:01 TZ-6", .year = 1990,
	  .month = 10, .day = 22, .hour = 10, .minute = 52, .second = 1, .has_offset = 1,
	  .offset_min = -360, .host = "scapegoat.dmz.example.org",
	  .msg = "10.1.2.3 sched[0]: That's All Folks!", .utf8 = 1 },
	/* Cisco IOS: sequence number, '*' mark, msec and ':' after the time. */
	{ .in = "<189>123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console",
	  .pri = 189, .quirks = Q_CISCO | Q_FRAC | Q_NO_HOST, .ts = "Mar  1 18:46:11.123",
	  .month = 3, .day = 1, .hour = 18, .minute = 46, .second = 11, .nsec = 123000000,
	  .app = "%SYS-5-CONFIG_I", .msg = "Configured from console", .utf8 = 1 },
	/* Cisco: '.' mark (sync lost) and a zone before the ':'. */
	{ .in = "<187>45: .Mar  1 18:46:11.123 UTC: %LINK-3-UPDOWN: Interface up",
	  .pri = 187, .quirks = Q_CISCO | Q_FRAC | Q_TZ | Q_NO_HOST,
	  .ts = "Mar  1 18:46:11.123 UTC", .month = 3, .day = 1, .hour = 18, .minute = 46,
	  .second = 11, .nsec = 123000000, .has_offset = 1, .app = "%LINK-3-UPDOWN",
	  .msg = "Interface up", .utf8 = 1 },
	/* Cisco "show-year": the year after the day. */
	{ .in = "<189>Oct 11 2023 22:14:15 router1 app: m", .pri = 189, .quirks = Q_YEAR,
	  .ts = "Oct 11 2023 22:14:15", .year = 2023, .month = 10, .day = 11, .hour = 22,
	  .minute = 14, .second = 15, .host = "router1", .app = "app", .msg = "m", .utf8 = 1 },
	/* Cisco sequence number with no timestamp at all. */
	{ .in = "<189>12: %SYS-5-X: text", .pri = 189, .quirks = Q_CISCO | Q_NO_TS | Q_NO_HOST,
	  .app = "%SYS-5-X", .msg = "text", .utf8 = 1 },
	/* A sequence number of 10 digits is the most taken; one longer than
	 * an int once overflowed the parser (a fuzzer find). */
	{ .in = "<189>1234567890: x", .pri = 189, .quirks = Q_CISCO | Q_NO_TS | Q_NO_HOST,
	  .msg = "x", .utf8 = 1 },
	{ .in = "<189>22222222222222222222: x", .pri = 189, .quirks = Q_NO_TS | Q_NO_HOST,
	  .app = "22222222222222222222", .msg = "x", .utf8 = 1 },
	/* No PRI: 13 is assumed. */
	{ .in = "Oct 11 22:14:15 mymachine su: hi", .pri = 13, .quirks = Q_NO_PRI,
	  .ts = "Oct 11 22:14:15", .month = 10, .day = 11, .hour = 22, .minute = 14,
	  .second = 15, .host = "mymachine", .app = "su", .msg = "hi", .utf8 = 1 },
	{ .in = "plain words", .pri = 13, .quirks = Q_NO_PRI | Q_NO_TS | Q_NO_HOST,
	  .msg = "plain words", .utf8 = 1 },
	/* No hostname: the first token is the tag. */
	{ .in = "<13>Feb  5 17:32:18 sshd[99]: hi", .pri = 13, .quirks = Q_NO_HOST,
	  .ts = "Feb  5 17:32:18", .month = 2, .day = 5, .hour = 17, .minute = 32,
	  .second = 18, .app = "sshd", .procid = "99", .msg = "hi", .utf8 = 1 },
	{ .in = "<13>Feb  5 17:32:18 kernel: oops", .pri = 13, .quirks = Q_NO_HOST,
	  .ts = "Feb  5 17:32:18", .month = 2, .day = 5, .hour = 17, .minute = 32,
	  .second = 18, .app = "kernel", .msg = "oops", .utf8 = 1 },
	/* No hostname and no tag: a word that cannot be a host name. */
	{ .in = "<13>Feb  5 17:32:18 Hello, world", .pri = 13, .quirks = Q_NO_HOST,
	  .ts = "Feb  5 17:32:18", .month = 2, .day = 5, .hour = 17, .minute = 32,
	  .second = 18, .msg = "Hello, world", .utf8 = 1 },
	/* One word after the time is content, not a host with nothing to say. */
	{ .in = "<13>Feb  5 17:32:18 word", .pri = 13, .quirks = Q_NO_HOST,
	  .ts = "Feb  5 17:32:18", .month = 2, .day = 5, .hour = 17, .minute = 32,
	  .second = 18, .msg = "word", .utf8 = 1 },
	/* RFC 3339 stamp in a 3164 header (rsyslog's high-precision format). */
	{ .in = "<30>2023-10-11T22:14:15.003+02:00 host app: m", .pri = 30,
	  .quirks = Q_3339 | Q_YEAR | Q_FRAC, .ts = "2023-10-11T22:14:15.003+02:00",
	  .year = 2023, .month = 10, .day = 11, .hour = 22, .minute = 14, .second = 15,
	  .nsec = 3000000, .has_offset = 1, .offset_min = 120, .host = "host", .app = "app",
	  .msg = "m", .utf8 = 1 },
	{ .in = "<30>2023-10-11T22:14:15Z host app: m", .pri = 30, .quirks = Q_3339 | Q_YEAR,
	  .ts = "2023-10-11T22:14:15Z", .year = 2023, .month = 10, .day = 11, .hour = 22,
	  .minute = 14, .second = 15, .has_offset = 1, .host = "host", .app = "app",
	  .msg = "m", .utf8 = 1 },
	/* Lenient RFC 3339: 't', 'z', nine and more fraction digits, +hhmm,
	 * leap second. */
	{ .in = "<30>2016-12-31t23:59:60.123456789123z h a: m", .pri = 30,
	  .quirks = Q_3339 | Q_YEAR | Q_FRAC, .ts = "2016-12-31t23:59:60.123456789123z",
	  .year = 2016, .month = 12, .day = 31, .hour = 23, .minute = 59, .second = 60,
	  .nsec = 123456789, .has_offset = 1, .host = "h", .app = "a", .msg = "m", .utf8 = 1 },
	{ .in = "<30>2023-10-11T22:14:15-0530 h a: m", .pri = 30, .quirks = Q_3339 | Q_YEAR,
	  .ts = "2023-10-11T22:14:15-0530", .year = 2023, .month = 10, .day = 11, .hour = 22,
	  .minute = 14, .second = 15, .has_offset = 1, .offset_min = -330, .host = "h",
	  .app = "a", .msg = "m", .utf8 = 1 },
	/* A broken RFC 3339 stamp is content. */
	{ .in = "<30>2023-13-11T22:14:15Z h a: m", .pri = 30, .quirks = Q_NO_TS | Q_NO_HOST,
	  .msg = "2023-13-11T22:14:15Z h a: m", .utf8 = 1 },
	/* Day forms: unpadded, zero-padded. */
	{ .in = "<13>Feb 5 17:32:18 h a: m", .pri = 13, .ts = "Feb 5 17:32:18", .month = 2,
	  .day = 5, .hour = 17, .minute = 32, .second = 18, .host = "h", .app = "a",
	  .msg = "m", .utf8 = 1 },
	{ .in = "<13>feb 05 17:32:18 h a: m", .pri = 13, .ts = "feb 05 17:32:18", .month = 2,
	  .day = 5, .hour = 17, .minute = 32, .second = 18, .host = "h", .app = "a",
	  .msg = "m", .utf8 = 1 },
	/* A year right after the time, without a zone. */
	{ .in = "<13>Oct 11 22:14:15 2023 host app: m", .pri = 13, .quirks = Q_YEAR,
	  .ts = "Oct 11 22:14:15 2023", .year = 2023, .month = 10, .day = 11, .hour = 22,
	  .minute = 14, .second = 15, .host = "host", .app = "app", .msg = "m", .utf8 = 1 },
	/* Zones with offsets, and a short upper-case host that is no zone. */
	{ .in = "<13>Oct 11 22:14:15 UTC+05:30 host app: m", .pri = 13, .quirks = Q_TZ,
	  .ts = "Oct 11 22:14:15 UTC+05:30", .month = 10, .day = 11, .hour = 22,
	  .minute = 14, .second = 15, .has_offset = 1, .offset_min = 330, .host = "host",
	  .app = "app", .msg = "m", .utf8 = 1 },
	{ .in = "<13>Oct 11 22:14:15 GMT host app: m", .pri = 13, .quirks = Q_TZ,
	  .ts = "Oct 11 22:14:15 GMT", .month = 10, .day = 11, .hour = 22, .minute = 14,
	  .second = 15, .has_offset = 1, .host = "host", .app = "app", .msg = "m", .utf8 = 1 },
	{ .in = "<13>Oct 11 22:14:15 ROUTER app: m", .pri = 13, .ts = "Oct 11 22:14:15",
	  .month = 10, .day = 11, .hour = 22, .minute = 14, .second = 15, .host = "ROUTER",
	  .app = "app", .msg = "m", .utf8 = 1 },
	/* Leap second in a BSD stamp. */
	{ .in = "<13>Dec 31 23:59:60 h a: m", .pri = 13, .ts = "Dec 31 23:59:60", .month = 12,
	  .day = 31, .hour = 23, .minute = 59, .second = 60, .host = "h", .app = "a",
	  .msg = "m", .utf8 = 1 },
	/* Broken BSD stamps are content. */
	{ .in = "<13>Oct 11 25:14:15 host app: m", .pri = 13, .quirks = Q_NO_TS | Q_NO_HOST,
	  .msg = "Oct 11 25:14:15 host app: m", .utf8 = 1 },
	{ .in = "<13>Foo 11 22:14:15 host app: m", .pri = 13, .quirks = Q_NO_TS | Q_NO_HOST,
	  .msg = "Foo 11 22:14:15 host app: m", .utf8 = 1 },
	{ .in = "<13>Oct 32 22:14:15 host app: m", .pri = 13, .quirks = Q_NO_TS | Q_NO_HOST,
	  .msg = "Oct 32 22:14:15 host app: m", .utf8 = 1 },
	{ .in = "<13>Oct 11 22:14:15x host", .pri = 13, .quirks = Q_NO_TS | Q_NO_HOST,
	  .msg = "Oct 11 22:14:15x host", .utf8 = 1 },
	/* Tag forms. */
	{ .in = "<13>Oct 11 22:14:15 host sshd[1] no colon", .pri = 13, .ts = "Oct 11 22:14:15",
	  .month = 10, .day = 11, .hour = 22, .minute = 14, .second = 15, .host = "host",
	  .app = "sshd", .procid = "1", .msg = "no colon", .utf8 = 1 },
	{ .in = "<13>Oct 11 22:14:15 host app[]: m", .pri = 13, .ts = "Oct 11 22:14:15",
	  .month = 10, .day = 11, .hour = 22, .minute = 14, .second = 15, .host = "host",
	  .app = "app", .msg = "m", .utf8 = 1 },
	{ .in = "<13>Oct 11 22:14:15 host postfix/smtpd[123]: connect", .pri = 13,
	  .ts = "Oct 11 22:14:15", .month = 10, .day = 11, .hour = 22, .minute = 14,
	  .second = 15, .host = "host", .app = "postfix/smtpd", .procid = "123",
	  .msg = "connect", .utf8 = 1 },
	{ .in = "<13>Oct 11 22:14:15 host app:", .pri = 13, .ts = "Oct 11 22:14:15",
	  .month = 10, .day = 11, .hour = 22, .minute = 14, .second = 15, .host = "host",
	  .app = "app", .utf8 = 1 },
	{ .in = "<13>Oct 11 22:14:15 host app:  two spaces", .pri = 13, .ts = "Oct 11 22:14:15",
	  .month = 10, .day = 11, .hour = 22, .minute = 14, .second = 15, .host = "host",
	  .app = "app", .msg = " two spaces", .utf8 = 1 },
	/* A 49-byte name is longer than APP-NAME may be: no tag. */
	{ .in = "<13>Oct 11 22:14:15 host aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: m",
	  .pri = 13, .ts = "Oct 11 22:14:15", .month = 10, .day = 11, .hour = 22,
	  .minute = 14, .second = 15, .host = "host",
	  .msg = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: m", .utf8 = 1 },
	{ .in = "<13>Oct 11 22:14:15 host aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: m",
	  .pri = 13, .ts = "Oct 11 22:14:15", .month = 10, .day = 11, .hour = 22,
	  .minute = 14, .second = 15, .host = "host",
	  .app = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", .msg = "m", .utf8 = 1 },
	{ .in = "<13>Oct 11 22:14:15 host [x]: m", .pri = 13, .ts = "Oct 11 22:14:15",
	  .month = 10, .day = 11, .hour = 22, .minute = 14, .second = 15, .host = "host",
	  .msg = "[x]: m", .utf8 = 1 },
	/* A tag holds printable ASCII only. */
	{ .in = "<13>Oct 11 22:14:15 host \xff" "app: m", .pri = 13, .ts = "Oct 11 22:14:15",
	  .month = 10, .day = 11, .hour = 22, .minute = 14, .second = 15, .host = "host",
	  .msg = "\xff" "app: m", .utf8 = 0 },
	/* No timestamp: no hostname either (RFC 3164 section 4.3.3). */
	{ .in = "<13>sshd[99]: hi", .pri = 13, .quirks = Q_NO_TS | Q_NO_HOST, .app = "sshd",
	  .procid = "99", .msg = "hi", .utf8 = 1 },
	{ .in = "<13>hello world", .pri = 13, .quirks = Q_NO_TS | Q_NO_HOST,
	  .msg = "hello world", .utf8 = 1 },
	{ .in = "<13>", .pri = 13, .quirks = Q_NO_TS | Q_NO_HOST, .utf8 = 1 },
	{ .in = "", .pri = 13, .quirks = Q_NO_PRI | Q_NO_TS | Q_NO_HOST, .utf8 = 1 },
	/* Leading zeros in PRI are tolerated here. */
	{ .in = "<013>x", .pri = 13, .quirks = Q_NO_TS | Q_NO_HOST, .msg = "x", .utf8 = 1 },
	{ .in = "<191>x", .pri = 191, .quirks = Q_NO_TS | Q_NO_HOST, .msg = "x", .utf8 = 1 },
	/* Trailing LF, CR and NUL. */
	{ .in = "<13>Oct 11 22:14:15 host app: m\r\n\0", .in_len = 34, .pri = 13,
	  .quirks = Q_TRAILER, .ts = "Oct 11 22:14:15", .month = 10, .day = 11, .hour = 22,
	  .minute = 14, .second = 15, .host = "host", .app = "app", .msg = "m", .utf8 = 1 },
	/* BOM and UTF-8 in the content; bad UTF-8 is kept, not refused. */
	{ .in = "<13>Oct 11 22:14:15 host app: " BOM "caf\xc3\xa9", .pri = 13,
	  .ts = "Oct 11 22:14:15", .month = 10, .day = 11, .hour = 22, .minute = 14,
	  .second = 15, .host = "host", .app = "app", .msg = "caf\xc3\xa9", .bom = 1,
	  .utf8 = 1 },
	{ .in = "<13>Oct 11 22:14:15 host app: " BOM "caf\xe9", .pri = 13,
	  .ts = "Oct 11 22:14:15", .month = 10, .day = 11, .hour = 22, .minute = 14,
	  .second = 15, .host = "host", .app = "app", .msg = "caf\xe9", .bom = 1, .utf8 = 0 },
	{ .in = "<13>Oct 11 22:14:15 host app: ctl\x01\x7f", .pri = 13,
	  .ts = "Oct 11 22:14:15", .month = 10, .day = 11, .hour = 22, .minute = 14,
	  .second = 15, .host = "host", .app = "app", .msg = "ctl\x01\x7f", .utf8 = 1 },
	/* Several spaces between fields. */
	{ .in = "<13>Oct 11 22:14:15  host   app: m", .pri = 13, .ts = "Oct 11 22:14:15",
	  .month = 10, .day = 11, .hour = 22, .minute = 14, .second = 15, .host = "host",
	  .app = "app", .msg = "m", .utf8 = 1 },
};

static void check_case(const struct c3164 *t, enum mm_syslog_parse_mode mode)
{
	size_t len = t->in_len ? t->in_len : strlen(t->in);
	struct mm_syslog_msg m;
	char *keep;
	int rc = parse_copy(t->in, len, mode, &m, &keep);

	if (rc != 0)
		fail_msg("%s: rc %d (%s)", t->in, rc, m.err ? m.err : "");
	assert_int_equal(m.format, MM_SYSLOG_RFC3164);
	assert_int_equal(m.version, 0);
	assert_int_equal(m.pri, t->pri);
	assert_int_equal(m.facility, t->pri / 8);
	assert_int_equal(m.severity, t->pri % 8);
	if (m.quirks != t->quirks)
		fail_msg("%s: quirks 0x%x, want 0x%x", t->in, m.quirks, t->quirks);
	check_str(&m.timestamp, t->ts, "timestamp", t->in);
	assert_int_equal(m.time.present, t->ts != NULL);
	assert_int_equal(m.time.year, t->year);
	assert_int_equal(m.time.month, t->month);
	assert_int_equal(m.time.day, t->day);
	assert_int_equal(m.time.hour, t->hour);
	assert_int_equal(m.time.minute, t->minute);
	assert_int_equal(m.time.second, t->second);
	assert_int_equal(m.time.nsec, t->nsec);
	assert_int_equal(m.time.has_offset, t->has_offset);
	assert_int_equal(m.time.offset_min, t->offset_min);
	check_str(&m.hostname, t->host, "hostname", t->in);
	check_str(&m.app_name, t->app, "app_name", t->in);
	check_str(&m.procid, t->procid, "procid", t->in);
	assert_null(m.msgid.p);
	assert_int_equal(m.nelements, 0);
	check_str(&m.msg, t->msg, "msg", t->in);
	assert_int_equal(m.msg_bom, t->bom);
	assert_int_equal(m.msg_utf8, t->utf8);
	free(keep);
}

static void test_cases(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		check_case(&cases[i], MM_SYSLOG_ONLY_3164);
		check_case(&cases[i], MM_SYSLOG_AUTO);
	}
}

/* A malformed PRI is the only error. */
struct bad_pri {
	const char *in;
	size_t err_off;
};

static const struct bad_pri bad_pris[] = {
	{ "<999>Oct 11 22:14:15 h a: m", 1 },
	{ "<192>x", 1 },
	{ "<12", 3 },
	{ "<12 Oct 11 22:14:15 h a: m", 3 },
	{ "<", 1 },
	{ "<>x", 1 },
	{ "<1000>x", 4 },
	{ "<12a>x", 3 },
	{ "<-1>x", 1 },
};

static void test_bad_pri(void **state)
{
	for (size_t i = 0; i < sizeof bad_pris / sizeof bad_pris[0]; i++) {
		const struct bad_pri *t = &bad_pris[i];
		struct mm_syslog_msg m;
		char *keep;

		assert_int_equal(parse_copy(t->in, strlen(t->in), MM_SYSLOG_ONLY_3164, &m, &keep),
				 MM_EPARSE);
		assert_non_null(m.err);
		if (m.err_off != t->err_off)
			fail_msg("%s: err_off %zu, want %zu", t->in, m.err_off, t->err_off);
		free(keep);
	}
}

/* Every prefix of every case parses, and only a cut inside "<PRI>" fails. */
static void test_prefixes(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *in = cases[i].in;
		size_t len = cases[i].in_len ? cases[i].in_len : strlen(in);
		const char *gt = in[0] == '<' ? memchr(in, '>', len) : NULL;
		size_t pri_end = gt ? (size_t)(gt - in) + 1 : 0;

		for (size_t n = 0; n <= len; n++) {
			struct mm_syslog_msg m;
			char *keep;
			int rc = parse_copy(in, n, MM_SYSLOG_ONLY_3164, &m, &keep);

			if (n > 0 && n < pri_end)
				assert_int_equal(rc, MM_EPARSE);
			else
				assert_int_equal(rc, 0);
			if (rc == 0 && m.msg.p != NULL)
				assert_true(m.msg.p >= keep && m.msg.p + m.msg.len <= keep + n);
			free(keep);
		}
	}
}

/* Printable text after a valid PRI never fails, whatever it looks like. */
static void test_never_fails(void **state)
{
	static const char alphabet[] = "0123456789 :.*[]-+TZzOctFebUTC<>abc\t\"\\=";
	uint32_t seed = 12345;

	for (int i = 0; i < 20000; i++) {
		char in[64];
		size_t n = 4 + (size_t)(seed % 56);
		struct mm_syslog_msg m;

		memcpy(in, "<13>", 4);
		for (size_t k = 4; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			in[k] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
		}
		seed = seed * 1103515245u + 12345u;
		if (mm_syslog_parse(in, n, MM_SYSLOG_ONLY_3164, &m) != 0)
			fail_msg("failed on \"%.*s\": %s", (int)n, in, m.err);
		assert_int_equal(m.pri, 13);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_bad_pri),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_never_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
