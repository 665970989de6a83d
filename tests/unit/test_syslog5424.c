/*
 * Unit tests of the RFC 5424 parser, the AUTO dispatch, SD-PARAM unescaping
 * and the RFC 5424 encoder (lib/syslog.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/syslog.h"
#include "syslog_check.h"

/* Compares a parsed slice with the expected text; NULL means absent. */
static void check_str(const struct mm_str *s, const char *want, const char *what)
{
	expect_slice(s, want, what, NULL);
}

static int parse_str(const char *s, enum mm_syslog_parse_mode mode, struct mm_syslog_msg *m,
		     char **keep)
{
	return parse_copy(s, strlen(s), mode, m, keep);
}

/* The value of SD-PARAM i, unescaped. */
static void check_param(const struct mm_syslog_msg *m, unsigned i, const char *name,
			const char *value)
{
	struct mm_buf b;

	assert_true(i < m->nparams);
	check_str(&m->params[i].name, name, "PARAM-NAME");
	mm_buf_init(&b, 4096);
	assert_int_equal(mm_syslog_sd_unescape(&m->params[i].value, &b), 0);
	assert_int_equal(b.len, strlen(value));
	assert_memory_equal(b.len ? b.data : "", value, b.len);
	mm_buf_free(&b);
}

/* RFC 5424 section 6.5. */
struct example {
	const char *in;
	int pri, facility, severity;
	const char *ts;
	int year, month, day, hour, minute, second;
	long nsec;
	int offset_min;
	const char *host, *app, *procid, *msgid;
	unsigned nelements, nparams;
	const char *msg;
	int bom;
};

static const struct example examples[] = {
	{ "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " BOM
	  "'su root' failed for lonvick on /dev/pts/8",
	  34, 4, 2, "2003-10-11T22:14:15.003Z", 2003, 10, 11, 22, 14, 15, 3000000, 0,
	  "mymachine.example.com", "su", NULL, "ID47", 0, 0,
	  "'su root' failed for lonvick on /dev/pts/8", 1 },
	{ "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time "
	  "to make the do-nuts.",
	  165, 20, 5, "2003-08-24T05:14:15.000003-07:00", 2003, 8, 24, 5, 14, 15, 3000, -420,
	  "192.0.2.1", "myproc", "8710", NULL, 0, 0, "%% It's time to make the do-nuts.", 0 },
	{ "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
	  "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] " BOM
	  "An application event log entry...",
	  165, 20, 5, "2003-10-11T22:14:15.003Z", 2003, 10, 11, 22, 14, 15, 3000000, 0,
	  "mymachine.example.com", "evntslog", NULL, "ID47", 1, 3,
	  "An application event log entry...", 1 },
	{ "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
	  "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
	  "[examplePriority@32473 class=\"high\"]",
	  165, 20, 5, "2003-10-11T22:14:15.003Z", 2003, 10, 11, 22, 14, 15, 3000000, 0,
	  "mymachine.example.com", "evntslog", NULL, "ID47", 2, 4, NULL, 0 },
};

static void test_rfc_examples(void **state)
{
	for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
		const struct example *x = &examples[i];
		struct mm_syslog_msg m;
		char *keep;

		for (int mode = MM_SYSLOG_AUTO; mode <= MM_SYSLOG_ONLY_5424; mode++) {
			assert_int_equal(parse_str(x->in, mode, &m, &keep), 0);
			assert_int_equal(m.format, MM_SYSLOG_RFC5424);
			assert_int_equal(m.version, 1);
			assert_int_equal(m.pri, x->pri);
			assert_int_equal(m.facility, x->facility);
			assert_int_equal(m.severity, x->severity);
			check_str(&m.timestamp, x->ts, "TIMESTAMP");
			assert_int_equal(m.time.present, 1);
			assert_int_equal(m.time.year, x->year);
			assert_int_equal(m.time.month, x->month);
			assert_int_equal(m.time.day, x->day);
			assert_int_equal(m.time.hour, x->hour);
			assert_int_equal(m.time.minute, x->minute);
			assert_int_equal(m.time.second, x->second);
			assert_int_equal(m.time.nsec, x->nsec);
			assert_int_equal(m.time.has_offset, 1);
			assert_int_equal(m.time.offset_min, x->offset_min);
			check_str(&m.hostname, x->host, "HOSTNAME");
			check_str(&m.app_name, x->app, "APP-NAME");
			check_str(&m.procid, x->procid, "PROCID");
			check_str(&m.msgid, x->msgid, "MSGID");
			assert_int_equal(m.nelements, x->nelements);
			assert_int_equal(m.nparams, x->nparams);
			check_str(&m.msg, x->msg, "MSG");
			assert_int_equal(m.msg_bom, x->bom);
			assert_int_equal(m.msg_utf8, 1);
			assert_int_equal(m.quirks, 0);
			free(keep);
		}
	}
}

static void test_rfc_example_sd(void **state)
{
	struct mm_syslog_msg m;
	char *keep;

	assert_int_equal(parse_str(examples[3].in, MM_SYSLOG_AUTO, &m, &keep), 0);
	check_str(&m.elements[0].id, "exampleSDID@32473", "SD-ID");
	assert_int_equal(m.elements[0].first_param, 0);
	assert_int_equal(m.elements[0].nparams, 3);
	check_param(&m, 0, "iut", "3");
	check_param(&m, 1, "eventSource", "Application");
	check_param(&m, 2, "eventID", "1011");
	check_str(&m.elements[1].id, "examplePriority@32473", "SD-ID");
	assert_int_equal(m.elements[1].first_param, 3);
	assert_int_equal(m.elements[1].nparams, 1);
	check_param(&m, 3, "class", "high");
	free(keep);
}

/* RFC 5424 section 6.2.3.1 and the range rules of 6.2.3. */
struct ts_case {
	const char *ts;
	int rc;
	int year, month, day, hour, minute, second;
	long nsec;
	int frac, offset;
};

static const struct ts_case ts_cases[] = {
	/* The valid examples of section 6.2.3.1. */
	{ "1985-04-12T23:20:50.52Z", 0, 1985, 4, 12, 23, 20, 50, 520000000, 2, 0 },
	{ "1985-04-12T19:20:50.52-04:00", 0, 1985, 4, 12, 19, 20, 50, 520000000, 2, -240 },
	{ "2003-10-11T22:14:15.003Z", 0, 2003, 10, 11, 22, 14, 15, 3000000, 3, 0 },
	{ "2003-08-24T05:14:15.000003-07:00", 0, 2003, 8, 24, 5, 14, 15, 3000, 6, -420 },
	/* The invalid ones: too many fraction digits, and lower case t and z
	 * (section 6.2.3: "T" and "Z" MUST be upper case). */
	{ .ts = "2003-08-24T05:14:15.000000003-07:00", .rc = MM_EPARSE },
	{ .ts = "1985-04-12t23:20:50.52Z", .rc = MM_EPARSE },
	{ .ts = "1985-04-12T23:20:50.52z", .rc = MM_EPARSE },
	/* Ranges and shapes. */
	{ "2003-10-11T22:14:15Z", 0, 2003, 10, 11, 22, 14, 15, 0, 0, 0 },
	{ "2003-10-11T22:14:15.1+14:00", 0, 2003, 10, 11, 22, 14, 15, 100000000, 1, 840 },
	{ "2004-02-29T00:00:00Z", 0, 2004, 2, 29, 0, 0, 0, 0, 0, 0 },
	{ "2000-02-29T00:00:00Z", 0, 2000, 2, 29, 0, 0, 0, 0, 0, 0 },
	{ "2003-12-31T23:59:59.999999+23:59", 0, 2003, 12, 31, 23, 59, 59, 999999000, 6, 1439 },
	{ .ts = "2003-02-29T00:00:00Z", .rc = MM_EPARSE },
	{ .ts = "1900-02-29T00:00:00Z", .rc = MM_EPARSE },
	{ .ts = "2003-04-31T00:00:00Z", .rc = MM_EPARSE },
	{ .ts = "2003-00-11T22:14:15Z", .rc = MM_EPARSE },
	{ .ts = "2003-13-11T22:14:15Z", .rc = MM_EPARSE },
	{ .ts = "2003-10-00T22:14:15Z", .rc = MM_EPARSE },
	{ .ts = "2003-10-32T22:14:15Z", .rc = MM_EPARSE },
	{ .ts = "2003-10-11T24:00:00Z", .rc = MM_EPARSE },
	{ .ts = "2003-10-11T22:60:00Z", .rc = MM_EPARSE },
	{ .ts = "2016-12-31T23:59:60Z", .rc = MM_EPARSE }, /* leap seconds are not allowed */
	{ .ts = "2003-10-11T22:14:15.0000000Z", .rc = MM_EPARSE },
	{ .ts = "2003-10-11T22:14:15.Z", .rc = MM_EPARSE },
	{ .ts = "2003-10-11T22:14:15", .rc = MM_EPARSE },
	{ .ts = "2003-10-11T22:14:15+24:00", .rc = MM_EPARSE },
	{ .ts = "2003-10-11T22:14:15+05:60", .rc = MM_EPARSE },
	{ .ts = "2003-10-11T22:14:15+0500", .rc = MM_EPARSE },
	{ .ts = "2003-10-11T22:14:15+5:00", .rc = MM_EPARSE },
	{ .ts = "2003-10-11 22:14:15Z", .rc = MM_EPARSE },
	{ .ts = "03-10-11T22:14:15Z", .rc = MM_EPARSE },
	{ .ts = "2003-1-11T22:14:15Z", .rc = MM_EPARSE },
	{ .ts = "2003-10-11T2:14:15Z", .rc = MM_EPARSE },
	{ .ts = "2003-10-11T22:14:15ZZ", .rc = MM_EPARSE },
	{ .ts = "--", .rc = MM_EPARSE },
};

static void test_timestamps(void **state)
{
	for (size_t i = 0; i < sizeof ts_cases / sizeof ts_cases[0]; i++) {
		const struct ts_case *t = &ts_cases[i];
		struct mm_syslog_msg m;
		char in[256], *keep;
		int rc;

		snprintf(in, sizeof in, "<13>1 %s host app - - - hello", t->ts);
		rc = parse_str(in, MM_SYSLOG_ONLY_5424, &m, &keep);
		if (rc != t->rc)
			fail_msg("%s: rc %d, want %d (%s)", t->ts, rc, t->rc, m.err ? m.err : "");
		if (rc == 0) {
			check_str(&m.timestamp, t->ts, "TIMESTAMP");
			assert_int_equal(m.time.present, 1);
			assert_int_equal(m.time.year, t->year);
			assert_int_equal(m.time.month, t->month);
			assert_int_equal(m.time.day, t->day);
			assert_int_equal(m.time.hour, t->hour);
			assert_int_equal(m.time.minute, t->minute);
			assert_int_equal(m.time.second, t->second);
			assert_int_equal(m.time.nsec, t->nsec);
			assert_int_equal(m.time.frac_digits, t->frac);
			assert_int_equal(m.time.has_offset, 1);
			assert_int_equal(m.time.offset_min, t->offset);
			check_str(&m.msg, "hello", "MSG");
		} else {
			assert_non_null(m.err);
			assert_true(m.err_off >= 6 && m.err_off <= 6 + strlen(t->ts));
		}
		free(keep);
	}
}

static void test_nil_timestamp(void **state)
{
	struct mm_syslog_msg m;
	char *keep;

	assert_int_equal(parse_str("<13>1 - - - - - -", MM_SYSLOG_AUTO, &m, &keep), 0);
	assert_int_equal(m.time.present, 0);
	assert_null(m.timestamp.p);
	assert_null(m.hostname.p);
	assert_null(m.app_name.p);
	assert_null(m.procid.p);
	assert_null(m.msgid.p);
	assert_int_equal(m.nelements, 0);
	assert_null(m.msg.p);
	free(keep);
}

/* PRI: 0..191, no leading zero, closed by '>'. */
struct pri_case {
	const char *in;
	int rc;
	int pri;
	size_t err_off;
};

static const struct pri_case pri_cases[] = {
	{ "<0>1 - - - - - -", 0, 0, 0 },
	{ "<7>1 - - - - - -", 0, 7, 0 },
	{ "<191>1 - - - - - -", 0, 191, 0 },
	{ "<192>1 - - - - - -", MM_EPARSE, 0, 1 },
	{ "<999>1 - - - - - -", MM_EPARSE, 0, 1 },
	{ "<01>1 - - - - - -", MM_EPARSE, 0, 1 },
	{ "<00>1 - - - - - -", MM_EPARSE, 0, 1 },
	{ "<1000>1 - - - - - -", MM_EPARSE, 0, 4 },
	{ "<13 1 - - - - - -", MM_EPARSE, 0, 3 },
	{ "<13", MM_EPARSE, 0, 3 },
	{ "<>1 - - - - - -", MM_EPARSE, 0, 1 },
	{ "<-1>1 - - - - - -", MM_EPARSE, 0, 1 },
	{ "13>1 - - - - - -", MM_EPARSE, 0, 0 },
	{ "", MM_EPARSE, 0, 0 },
};

static void test_pri(void **state)
{
	for (size_t i = 0; i < sizeof pri_cases / sizeof pri_cases[0]; i++) {
		const struct pri_case *t = &pri_cases[i];
		struct mm_syslog_msg m;
		char *keep;
		int rc = parse_str(t->in, MM_SYSLOG_ONLY_5424, &m, &keep);

		if (rc != t->rc)
			fail_msg("%s: rc %d, want %d", t->in, rc, t->rc);
		if (rc == 0) {
			assert_int_equal(m.pri, t->pri);
			assert_int_equal(m.facility, t->pri / 8);
			assert_int_equal(m.severity, t->pri % 8);
		} else {
			assert_int_equal(m.err_off, t->err_off);
			assert_non_null(m.err);
		}
		free(keep);
	}
}

struct version_case {
	const char *in;
	int rc;
};

static const struct version_case version_cases[] = {
	{ "<13>1 - - - - - -", 0 },
	{ "<13>2 - - - - - -", MM_EPARSE },
	{ "<13>10 - - - - - -", MM_EPARSE },
	{ "<13>01 - - - - - -", MM_EPARSE },
	{ "<13>0 - - - - - -", MM_EPARSE },
	{ "<13>1- - - - - -", MM_EPARSE },
	{ "<13> 1 - - - - - -", MM_EPARSE },
	{ "<13>1  - - - - - -", MM_EPARSE },
};

static void test_version(void **state)
{
	for (size_t i = 0; i < sizeof version_cases / sizeof version_cases[0]; i++) {
		struct mm_syslog_msg m;
		char *keep;

		assert_int_equal(parse_str(version_cases[i].in, MM_SYSLOG_ONLY_5424, &m, &keep),
				 version_cases[i].rc);
		free(keep);
	}
}

/* Every header field at its limit and one past it. */
struct field_case {
	int which; /* 0 HOSTNAME, 1 APP-NAME, 2 PROCID, 3 MSGID */
	size_t max;
};

static const struct field_case field_cases[] = {
	{ 0, 255 },
	{ 1, 48 },
	{ 2, 128 },
	{ 3, 32 },
};

static const struct mm_str *field_of(const struct mm_syslog_msg *m, int which)
{
	const struct mm_str *f[] = { &m->hostname, &m->app_name, &m->procid, &m->msgid };

	return f[which];
}

static void build_fields(char *out, size_t size, int which, const char *val)
{
	const char *v[4] = { "h", "a", "p", "m" };

	v[which] = val;
	snprintf(out, size, "<13>1 - %s %s %s %s - x", v[0], v[1], v[2], v[3]);
}

static void test_field_limits(void **state)
{
	for (size_t i = 0; i < sizeof field_cases / sizeof field_cases[0]; i++) {
		const struct field_case *t = &field_cases[i];
		struct mm_syslog_msg m;
		char val[300], in[600], *keep;
		size_t start;

		/* Every PRINTUSASCII character is allowed, '-' included. */
		for (size_t k = 0; k < t->max + 1; k++)
			val[k] = (char)(33 + k % 94);
		val[t->max] = '\0';
		build_fields(in, sizeof in, t->which, val);
		assert_int_equal(parse_str(in, MM_SYSLOG_ONLY_5424, &m, &keep), 0);
		check_str(field_of(&m, t->which), val, "field at its limit");
		check_str(&m.msg, "x", "MSG");
		free(keep);

		val[t->max] = 'z';
		val[t->max + 1] = '\0';
		build_fields(in, sizeof in, t->which, val);
		assert_int_equal(parse_str(in, MM_SYSLOG_ONLY_5424, &m, &keep), MM_EPARSE);
		start = (size_t)(strstr(in, val) - in);
		assert_int_equal(m.err_off, start + t->max);
		free(keep);

		/* A character outside PRINTUSASCII. */
		build_fields(in, sizeof in, t->which, "a\x7f");
		assert_int_equal(parse_str(in, MM_SYSLOG_ONLY_5424, &m, &keep), MM_EPARSE);
		free(keep);
		build_fields(in, sizeof in, t->which, "a\xc3\xa9");
		assert_int_equal(parse_str(in, MM_SYSLOG_ONLY_5424, &m, &keep), MM_EPARSE);
		free(keep);
		/* An empty field (two SPs). */
		build_fields(in, sizeof in, t->which, "");
		assert_int_equal(parse_str(in, MM_SYSLOG_ONLY_5424, &m, &keep), MM_EPARSE);
		free(keep);
		/* "-" is NILVALUE, "--" is a value. */
		build_fields(in, sizeof in, t->which, "-");
		assert_int_equal(parse_str(in, MM_SYSLOG_ONLY_5424, &m, &keep), 0);
		assert_null(field_of(&m, t->which)->p);
		free(keep);
		build_fields(in, sizeof in, t->which, "--");
		assert_int_equal(parse_str(in, MM_SYSLOG_ONLY_5424, &m, &keep), 0);
		check_str(field_of(&m, t->which), "--", "field");
		free(keep);
	}
}

/* STRUCTURED-DATA: names, escapes and errors. */
struct sd_case {
	const char *sd;
	int rc;
	unsigned nelements, nparams;
	const char *id0, *name0, *value0; /* first element and param, unescaped */
	int escaped0;
};

static const struct sd_case sd_cases[] = {
	{ "-", 0, 0, 0, NULL, NULL, NULL, 0 },
	{ "[a]", 0, 1, 0, "a", NULL, NULL, 0 },
	{ "[a@1 b=\"\"]", 0, 1, 1, "a@1", "b", "", 0 },
	{ "[a b=\"x\\\"y\"]", 0, 1, 1, "a", "b", "x\"y", 1 },
	{ "[a b=\"x\\\\y\"]", 0, 1, 1, "a", "b", "x\\y", 1 },
	{ "[a b=\"x\\]y\"]", 0, 1, 1, "a", "b", "x]y", 1 },
	{ "[a b=\"x\\ny\"]", 0, 1, 1, "a", "b", "x\\ny", 0 }, /* other escapes stay */
	{ "[a b=\"\\\\\"]", 0, 1, 1, "a", "b", "\\", 1 },
	{ "[a b=\"caf\xc3\xa9 \xe2\x82\xac\"]", 0, 1, 1, "a", "b", "caf\xc3\xa9 \xe2\x82\xac", 0 },
	{ .sd = "[a b=\"[x=y]\"]", .rc = MM_EPARSE }, /* ']' must be escaped */
	{ "[a b=\"1\" b=\"2\"]", 0, 1, 2, "a", "b", "1", 0 },
	{ "[a b=\"1\"][c d=\"2\"]", 0, 2, 2, "a", "b", "1", 0 },
	{ "[0123456789abcdef0123456789abcdef x=\"1\"]", 0, 1, 1,
	  "0123456789abcdef0123456789abcdef", "x", "1", 0 },
	{ .sd = "[0123456789abcdef0123456789abcdef0 x=\"1\"]", .rc = MM_EPARSE },
	{ "[a 0123456789abcdef0123456789abcdef=\"1\"]", 0, 1, 1, "a",
	  "0123456789abcdef0123456789abcdef", "1", 0 },
	{ .sd = "[a 0123456789abcdef0123456789abcdef0=\"1\"]", .rc = MM_EPARSE },
	{ .sd = "[a b=\"1\"][a c=\"2\"]", .rc = MM_EPARSE }, /* the same SD-ID twice */
	{ .sd = "[]", .rc = MM_EPARSE },
	{ .sd = "[ a]", .rc = MM_EPARSE },
	{ .sd = "[a ]", .rc = MM_EPARSE },
	{ .sd = "[a  b=\"1\"]", .rc = MM_EPARSE },
	{ .sd = "[a b=1]", .rc = MM_EPARSE },
	{ .sd = "[a b]", .rc = MM_EPARSE },
	{ .sd = "[a =\"1\"]", .rc = MM_EPARSE },
	{ .sd = "[a b=\"1\"c=\"2\"]", .rc = MM_EPARSE },
	{ .sd = "[a\"b x=\"1\"]", .rc = MM_EPARSE },
	{ .sd = "[a b=\"1\"", .rc = MM_EPARSE },
	{ .sd = "[a b=\"1", .rc = MM_EPARSE },
	{ .sd = "[a b=\"1\\\"]", .rc = MM_EPARSE },
	{ .sd = "[a\x01 x=\"1\"]", .rc = MM_EPARSE },
	{ "[a b=\"1\"] [c]", 0, 1, 1, "a", "b", "1", 0 }, /* "[c]" is MSG */
	{ .sd = "[a b=\"1\"]x", .rc = MM_EPARSE },
	{ .sd = "-x", .rc = MM_EPARSE },
	{ .sd = "x", .rc = MM_EPARSE },
	{ .sd = "[a b=\"\xff\"]", .rc = MM_EUTF8 },
	{ .sd = "[a b=\"\xc0\xaf\"]", .rc = MM_EUTF8 },     /* overlong '/' */
	{ .sd = "[a b=\"\xed\xa0\x80\"]", .rc = MM_EUTF8 }, /* a surrogate */
	{ .sd = "[a b=\"\xe2\x82\"]", .rc = MM_EUTF8 },     /* cut short */
};

static void test_sd(void **state)
{
	for (size_t i = 0; i < sizeof sd_cases / sizeof sd_cases[0]; i++) {
		const struct sd_case *t = &sd_cases[i];
		struct mm_syslog_msg m;
		char in[512], *keep;
		int rc;

		snprintf(in, sizeof in, "<13>1 - h a p m %s", t->sd);
		rc = parse_str(in, MM_SYSLOG_ONLY_5424, &m, &keep);
		if (rc != t->rc)
			fail_msg("%s: rc %d, want %d (%s)", t->sd, rc, t->rc, m.err ? m.err : "");
		if (rc == 0) {
			assert_int_equal(m.nelements, t->nelements);
			assert_int_equal(m.nparams, t->nparams);
			if (t->id0)
				check_str(&m.elements[0].id, t->id0, "SD-ID");
			if (t->name0) {
				check_param(&m, 0, t->name0, t->value0);
				assert_int_equal(m.params[0].escaped, t->escaped0);
			}
		} else {
			assert_non_null(m.err);
			assert_true(m.err_off >= 16 && m.err_off <= strlen(in));
		}
		free(keep);
	}
}

/* MM_SYSLOG_MAX_SD_ELEMENTS and MM_SYSLOG_MAX_SD_PARAMS. */
static void sd_bounds_case(unsigned nel, unsigned per, int want)
{
	struct mm_buf b;
	struct mm_syslog_msg m;

	mm_buf_init(&b, 1 << 16);
	assert_int_equal(mm_buf_puts(&b, "<13>1 - h a p m "), 0);
	for (unsigned e = 0; e < nel; e++) {
		assert_int_equal(mm_buf_printf(&b, "[e%u", e), 0);
		for (unsigned k = 0; k < per; k++)
			assert_int_equal(mm_buf_printf(&b, " p%u=\"%u\"", k, e * per + k), 0);
		assert_int_equal(mm_buf_putc(&b, ']'), 0);
	}
	assert_int_equal(mm_buf_puts(&b, " msg"), 0);
	assert_int_equal(mm_syslog_parse(b.data, b.len, MM_SYSLOG_AUTO, &m), want);
	if (want == 0) {
		assert_int_equal(m.nelements, nel);
		assert_int_equal(m.nparams, nel * per);
		check_str(&m.elements[nel - 1].id, "e15", "last SD-ID");
		check_str(&m.msg, "msg", "MSG");
		if (per > 0)
			assert_int_equal(m.elements[nel - 1].first_param, (nel - 1) * per);
	} else {
		assert_non_null(m.err);
	}
	mm_buf_free(&b);
}

static void test_sd_bounds(void **state)
{
	assert_int_equal(MM_SYSLOG_MAX_SD_ELEMENTS, 16);
	assert_int_equal(MM_SYSLOG_MAX_SD_PARAMS, 64);
	sd_bounds_case(16, 0, 0);
	sd_bounds_case(16, 4, 0);
	sd_bounds_case(17, 0, MM_ETOOBIG);
	sd_bounds_case(16, 5, MM_ETOOBIG);
	sd_bounds_case(1, 65, MM_ETOOBIG);
}

/* MSG: BOM, UTF-8 and absence. */
struct msg_case {
	const char *tail; /* after the SD */
	size_t tail_len;
	int rc;
	const char *msg;
	size_t msg_len;
	int bom, utf8;
};

#define T(s) s, sizeof(s) - 1
static const struct msg_case msg_cases[] = {
	{ T(""), 0, NULL, 0, 0, 1 },
	{ T(" "), 0, "", 0, 0, 1 },
	{ T(" " BOM), 0, "", 0, 1, 1 },
	{ T(" " BOM "caf\xc3\xa9"), 0, "caf\xc3\xa9", 5, 1, 1 },
	{ T(" caf\xc3\xa9"), 0, "caf\xc3\xa9", 5, 0, 1 },
	{ T(" " BOM "bad \xff here"), MM_EUTF8, NULL, 0, 1, 0 },
	{ T(" " BOM "\xe2\x82"), MM_EUTF8, NULL, 0, 1, 0 },
	{ T(" latin1 caf\xe9"), 0, "latin1 caf\xe9", 11, 0, 0 },
	{ T(" a\0b"), 0, "a\0b", 3, 0, 1 },
	{ T(" \xEF\xBB"), 0, "\xEF\xBB", 2, 0, 0 },
	{ T("  two spaces"), 0, " two spaces", 11, 0, 1 },
	{ T(" " BOM BOM "x"), 0, BOM "x", 4, 1, 1 },
};
#undef T

static void test_msg(void **state)
{
	for (size_t i = 0; i < sizeof msg_cases / sizeof msg_cases[0]; i++) {
		const struct msg_case *t = &msg_cases[i];
		struct mm_syslog_msg m;
		char in[128], *keep;
		size_t n = strlen("<13>1 - h a p m -");
		int rc;

		memcpy(in, "<13>1 - h a p m -", n);
		memcpy(in + n, t->tail, t->tail_len);
		rc = parse_copy(in, n + t->tail_len, MM_SYSLOG_AUTO, &m, &keep);
		if (rc != t->rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, t->rc);
		assert_int_equal(m.msg_bom, t->bom);
		if (rc == 0) {
			assert_int_equal(m.msg_utf8, t->utf8);
			if (t->msg == NULL) {
				assert_null(m.msg.p);
			} else {
				assert_non_null(m.msg.p);
				assert_int_equal(m.msg.len, t->msg_len);
				assert_memory_equal(m.msg.p, t->msg, t->msg_len);
			}
		} else {
			/* The offset points at the first bad byte. */
			assert_true(m.err_off >= n + 4 && m.err_off < n + t->tail_len);
			assert_true((uint8_t)keep[m.err_off] >= 0x80);
		}
		free(keep);
	}
}

/* AUTO: a VERSION after PRI means RFC 5424, anything else RFC 3164. */
struct auto_case {
	const char *in;
	int rc;
	enum mm_syslog_format format;
};

static const struct auto_case auto_cases[] = {
	{ "<13>1 - - - - - -", 0, MM_SYSLOG_RFC5424 },
	{ "<13>1 2003-10-11T22:14:15.003Z h a - - - m", 0, MM_SYSLOG_RFC5424 },
	{ "<13>2 - - - - - -", MM_EPARSE, MM_SYSLOG_RFC5424 },
	{ "<13>999 x", MM_EPARSE, MM_SYSLOG_RFC5424 },
	{ "<13>1 not a 5424 header", MM_EPARSE, MM_SYSLOG_RFC5424 },
	{ "<0>1990 Oct 22 10:52:01 TZ-6 host app: x", 0, MM_SYSLOG_RFC3164 },
	{ "<30>2023-10-11T22:14:15.003+02:00 host app: m", 0, MM_SYSLOG_RFC3164 },
	{ "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!", 0, MM_SYSLOG_RFC3164 },
	{ "<13>0 x", 0, MM_SYSLOG_RFC3164 },
	{ "<13>1", 0, MM_SYSLOG_RFC3164 },
	{ "<13>12345 x", 0, MM_SYSLOG_RFC3164 },
	{ "<13>", 0, MM_SYSLOG_RFC3164 },
	{ "plain text", 0, MM_SYSLOG_RFC3164 },
	{ "<999>1 - - - - - -", MM_EPARSE, MM_SYSLOG_RFC5424 },
	{ "<999>Oct 11 22:14:15 h a: m", MM_EPARSE, MM_SYSLOG_RFC3164 },
};

static void test_auto(void **state)
{
	for (size_t i = 0; i < sizeof auto_cases / sizeof auto_cases[0]; i++) {
		const struct auto_case *t = &auto_cases[i];
		struct mm_syslog_msg m;
		char *keep;
		int rc = parse_str(t->in, MM_SYSLOG_AUTO, &m, &keep);

		if (rc != t->rc)
			fail_msg("%s: rc %d, want %d", t->in, rc, t->rc);
		assert_int_equal(m.format, t->format);
		free(keep);
	}
}

/* Every prefix of a valid message parses without reading past its end.
 * Cut inside the header it must fail; cut after it, it may succeed. */
static void test_truncation(void **state)
{
	for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
		const char *in = examples[i].in;
		size_t len = strlen(in), hdr = (size_t)(strstr(in, " - ") - in);

		for (size_t n = 0; n < len; n++) {
			struct mm_syslog_msg m;
			char *keep;
			int rc;

			rc = parse_copy(in, n, MM_SYSLOG_ONLY_5424, &m, &keep);
			assert_true(rc == 0 || rc == MM_EPARSE || rc == MM_EUTF8);
			if (n <= hdr)
				assert_int_not_equal(rc, 0);
			if (rc < 0)
				assert_true(m.err_off <= n);
			else
				assert_true(m.msg.p == NULL ||
					    m.msg.p + m.msg.len <= keep + n);
			free(keep);
			rc = parse_copy(in, n, MM_SYSLOG_AUTO, &m, &keep);
			assert_true(rc == 0 || rc < 0);
			free(keep);
		}
	}
}

/* mm_syslog_sd_unescape(). */
struct unescape_case {
	const char *in, *out;
};

static const struct unescape_case unescape_cases[] = {
	{ "", "" },
	{ "plain", "plain" },
	{ "a\\\"b", "a\"b" },
	{ "a\\\\b", "a\\b" },
	{ "a\\]b", "a]b" },
	{ "a\\nb", "a\\nb" },
	{ "\\\\\\\"\\]", "\\\"]" },
	{ "end\\", "end\\" },
	{ "\\\\\\", "\\\\" },
};

static void test_unescape(void **state)
{
	for (size_t i = 0; i < sizeof unescape_cases / sizeof unescape_cases[0]; i++) {
		struct mm_str v = { unescape_cases[i].in, strlen(unescape_cases[i].in) };
		struct mm_buf b;

		mm_buf_init(&b, 64);
		assert_int_equal(mm_buf_puts(&b, ">"), 0);
		assert_int_equal(mm_syslog_sd_unescape(&v, &b), 0);
		assert_int_equal(b.data[0], '>');
		assert_string_equal(b.data + 1, unescape_cases[i].out);
		mm_buf_free(&b);
	}
}

static void test_unescape_bounds(void **state)
{
	struct mm_str v = { "a\\\"b", 4 }, nil = { NULL, 0 };
	struct mm_buf b;

	mm_buf_init(&b, 2);
	assert_int_equal(mm_syslog_sd_unescape(&nil, &b), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(mm_syslog_sd_unescape(&v, &b), MM_ETOOBIG);
	assert_int_equal(b.len, 0);
	mm_buf_free(&b);
	/* The escaped value is 4 bytes, the result 3, and 3 is enough. */
	mm_buf_init(&b, 3);
	assert_int_equal(mm_syslog_sd_unescape(&v, &b), 0);
	assert_int_equal(b.len, 3);
	assert_string_equal(b.data, "a\"b");
	mm_buf_free(&b);
}

/* The encoder. 2003-10-11T22:14:15.003Z is 1065910455 s and 3 ms. */
static const struct timespec t_example = { 1065910455, 3000000 };

static void test_encode_example(void **state)
{
	static const struct mm_syslog_out_param params[] = {
		{ "iut", "3" }, { "eventSource", "Application" }, { "eventID", "1011" },
	};
	static const struct mm_syslog_out_element el = { "exampleSDID@32473", params, 3 };
	static const char text[] = "An application event log entry...";
	struct mm_syslog_out o = {
		.pri = 165, .time = &t_example, .hostname = "mymachine.example.com",
		.app_name = "evntslog", .procid = NULL, .msgid = "ID47",
		.elements = &el, .nelements = 1, .msg = text, .msg_len = sizeof text - 1,
		.msg_bom = 1,
	};
	const char *want = "<165>1 2003-10-11T22:14:15.003000Z mymachine.example.com "
			   "evntslog - ID47 [exampleSDID@32473 iut=\"3\" "
			   "eventSource=\"Application\" eventID=\"1011\"] " BOM
			   "An application event log entry...";
	struct mm_syslog_msg m;
	struct mm_buf b;

	mm_buf_init(&b, 1024);
	assert_int_equal(mm_syslog_encode(&o, &b), 0);
	assert_string_equal(b.data, want);
	assert_int_equal(mm_syslog_parse(b.data, b.len, MM_SYSLOG_ONLY_5424, &m), 0);
	assert_int_equal(m.time.nsec, 3000000);
	assert_int_equal(m.time.frac_digits, 6);
	check_param(&m, 1, "eventSource", "Application");
	mm_buf_free(&b);
}

struct enc_case {
	int pri;
	const struct timespec *time;
	const char *host, *app, *procid, *msgid;
	const void *msg;
	size_t msg_len;
	int bom;
	int rc;
	const char *want;
};

/* The ends of the years 0 to 9999 need a 64-bit time_t. Where time_t has 32 bits
 * (armel and mipsel in Debian 12) no caller can pass them: WIDE() gives 0 there and
 * the cases with these times are left out; the ends of a 32-bit time_t are tested
 * everywhere. */
#define WIDE(s) ((time_t)(sizeof(time_t) >= 8 ? (s) : 0))
static const struct timespec t_zero = { 0, 0 };
static const struct timespec t_max = { WIDE(253402300799LL), 999999999 };
static const struct timespec t_year1 = { WIDE(-62135596800LL), 0 };
static const struct timespec t_year0 = { WIDE(-62167219200LL), 0 };
static const struct timespec t_before0 = { WIDE(-62167219201LL), 0 };
static const struct timespec t_after9999 = { WIDE(253402300800LL), 0 };
static const struct timespec t_min32 = { INT32_MIN, 0 };
static const struct timespec t_max32 = { INT32_MAX, 999999999 };
static const struct timespec t_badns = { 0, 1000000000 };
static const struct timespec t_negns = { 0, -1 };

static const char s255[] =
	"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
	"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
	"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh";
static const char s48[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char s32[] = "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm";

static int wide(const struct timespec *t)
{
	return t == &t_max || t == &t_year1 || t == &t_year0 || t == &t_before0 ||
	       t == &t_after9999;
}

static const struct enc_case enc_cases[] = {
	{ 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "<0>1 - - - - - -" },
	{ 191, &t_zero, "", "", "", "", NULL, 0, 0, 0,
	  "<191>1 1970-01-01T00:00:00.000000Z - - - - -" },
	{ 13, &t_max, "h", "a", "p", "m", "x", 1, 0, 0,
	  "<13>1 9999-12-31T23:59:59.999999Z h a p m - x" },
	{ 13, &t_year1, "h", "a", "p", "m", "", 0, 0, 0,
	  "<13>1 0001-01-01T00:00:00.000000Z h a p m - " },
	{ 13, &t_min32, NULL, NULL, NULL, NULL, NULL, 0, 0, 0,
	  "<13>1 1901-12-13T20:45:52.000000Z - - - - -" },
	{ 13, &t_max32, NULL, NULL, NULL, NULL, NULL, 0, 0, 0,
	  "<13>1 2038-01-19T03:14:07.999999Z - - - - -" },
	{ 13, NULL, NULL, NULL, NULL, NULL, "", 0, 1, 0, "<13>1 - - - - - - " BOM },
	{ 13, NULL, NULL, NULL, NULL, NULL, "a\0b", 3, 0, 0, "<13>1 - - - - - - a" },
	{ 13, NULL, s255, s48, NULL, s32, NULL, 0, 0, 0, NULL },
	{ -1, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, MM_EINVAL, NULL },
	{ 192, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, MM_EINVAL, NULL },
	{ 13, &t_year0, NULL, NULL, NULL, NULL, NULL, 0, 0, 0,
	  "<13>1 0000-01-01T00:00:00.000000Z - - - - -" },
	{ 13, &t_before0, NULL, NULL, NULL, NULL, NULL, 0, 0, MM_EINVAL, NULL },
	{ 13, &t_after9999, NULL, NULL, NULL, NULL, NULL, 0, 0, MM_EINVAL, NULL },
	{ 13, &t_badns, NULL, NULL, NULL, NULL, NULL, 0, 0, MM_EINVAL, NULL },
	{ 13, &t_negns, NULL, NULL, NULL, NULL, NULL, 0, 0, MM_EINVAL, NULL },
	{ 13, NULL, "a b", NULL, NULL, NULL, NULL, 0, 0, MM_EINVAL, NULL },
	{ 13, NULL, NULL, "caf\xc3\xa9", NULL, NULL, NULL, 0, 0, MM_EINVAL, NULL },
	{ 13, NULL, NULL, NULL, "tab\t", NULL, NULL, 0, 0, MM_EINVAL, NULL },
	{ 13, NULL, NULL, NULL, NULL, "m\x7f", NULL, 0, 0, MM_EINVAL, NULL },
	{ 13, NULL, NULL, NULL, NULL, NULL, NULL, 3, 0, MM_EINVAL, NULL },
	{ 13, NULL, NULL, NULL, NULL, NULL, "\xff", 1, 1, MM_EINVAL, NULL },
	{ 13, NULL, NULL, NULL, NULL, NULL, BOM "x", 4, 0, MM_EINVAL, NULL },
};

/* A field one past its limit: the strings above with one more byte. */
static void test_encode_limits(void **state)
{
	char h[257], a[50], p[130], m[34];
	struct mm_syslog_out o = { .pri = 13 };
	struct mm_buf b;

	memset(h, 'h', sizeof h - 1);
	h[256] = '\0';
	memset(a, 'a', sizeof a - 1);
	a[49] = '\0';
	memset(p, 'p', sizeof p - 1);
	p[129] = '\0';
	memset(m, 'm', sizeof m - 1);
	m[33] = '\0';
	mm_buf_init(&b, 4096);
	o.hostname = h;
	assert_int_equal(mm_syslog_encode(&o, &b), MM_EINVAL);
	h[255] = '\0';
	assert_int_equal(mm_syslog_encode(&o, &b), 0);
	o.app_name = a;
	assert_int_equal(mm_syslog_encode(&o, &b), MM_EINVAL);
	a[48] = '\0';
	o.procid = p;
	assert_int_equal(mm_syslog_encode(&o, &b), MM_EINVAL);
	p[128] = '\0';
	o.msgid = m;
	assert_int_equal(mm_syslog_encode(&o, &b), MM_EINVAL);
	m[32] = '\0';
	mm_buf_reset(&b);
	assert_int_equal(mm_syslog_encode(&o, &b), 0);
	assert_int_equal(b.len, strlen("<13>1 - ") + 255 + 1 + 48 + 1 + 128 + 1 + 32 + 2);
	mm_buf_free(&b);
}

static void test_encode_table(void **state)
{
	for (size_t i = 0; i < sizeof enc_cases / sizeof enc_cases[0]; i++) {
		const struct enc_case *t = &enc_cases[i];
		struct mm_syslog_out o = {
			.pri = t->pri, .time = t->time, .hostname = t->host, .app_name = t->app,
			.procid = t->procid, .msgid = t->msgid, .msg = t->msg,
			.msg_len = t->msg_len, .msg_bom = t->bom,
		};
		struct mm_syslog_msg m;
		struct mm_buf b;
		int rc;

		if (wide(t->time) && sizeof(time_t) < 8)
			continue;
		mm_buf_init(&b, 4096);
		assert_int_equal(mm_buf_puts(&b, "keep"), 0);
		rc = mm_syslog_encode(&o, &b);
		if (rc != t->rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, t->rc);
		if (rc < 0) {
			assert_int_equal(b.len, 4);
			assert_string_equal(b.data, "keep");
			mm_buf_free(&b);
			continue;
		}
		if (t->want)
			assert_memory_equal(b.data + 4, t->want, strlen(t->want));
		/* What the encoder writes, the parser reads back. */
		assert_int_equal(mm_syslog_parse(b.data + 4, b.len - 4, MM_SYSLOG_ONLY_5424, &m),
				 0);
		assert_int_equal(m.pri, t->pri);
		assert_int_equal(m.time.present, t->time != NULL);
		if (t->time)
			assert_int_equal(m.time.nsec, t->time->tv_nsec / 1000 * 1000);
		check_str(&m.hostname, t->host && *t->host ? t->host : NULL, "HOSTNAME");
		check_str(&m.app_name, t->app && *t->app ? t->app : NULL, "APP-NAME");
		check_str(&m.procid, t->procid && *t->procid ? t->procid : NULL, "PROCID");
		check_str(&m.msgid, t->msgid && *t->msgid ? t->msgid : NULL, "MSGID");
		assert_int_equal(m.msg_bom, t->bom);
		if (t->msg) {
			assert_int_equal(m.msg.len, t->msg_len);
			assert_memory_equal(m.msg.p, t->msg, t->msg_len);
		} else {
			assert_null(m.msg.p);
		}
		mm_buf_free(&b);
	}
}

/* SD values survive encode, parse and unescape unchanged. */
static const char *const roundtrip_values[] = {
	"",
	"plain",
	"a\"b",
	"back\\slash",
	"br]ack]et",
	"\"\\]",
	"all \" \\ ] three \\\" \\] \\\\",
	"ends with \\",
	"\\",
	"[not an element]",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac",
	"line\nbreak\ttab",
	"x=\"y\" [z]",
};

static void test_sd_roundtrip(void **state)
{
	size_t n = sizeof roundtrip_values / sizeof roundtrip_values[0];
	struct mm_syslog_out_param params[sizeof roundtrip_values / sizeof roundtrip_values[0]];
	struct mm_syslog_out_element el[2] = { { "rt@32473", params, 0 }, { "second", params, 1 } };
	struct mm_syslog_out o = { .pri = 14, .elements = el, .nelements = 2 };
	struct mm_syslog_msg m;
	struct mm_buf b;

	for (size_t i = 0; i < n; i++) {
		params[i].name = "v";
		params[i].value = roundtrip_values[i];
	}
	el[0].nparams = (unsigned)n;
	mm_buf_init(&b, 8192);
	assert_int_equal(mm_syslog_encode(&o, &b), 0);
	assert_int_equal(mm_syslog_parse(b.data, b.len, MM_SYSLOG_ONLY_5424, &m), 0);
	assert_int_equal(m.nelements, 2);
	assert_int_equal(m.nparams, n + 1);
	check_str(&m.elements[0].id, "rt@32473", "SD-ID");
	check_str(&m.elements[1].id, "second", "SD-ID");
	for (size_t i = 0; i < n; i++) {
		const char *v = roundtrip_values[i];

		check_param(&m, (unsigned)i, "v", v);
		assert_int_equal(m.params[i].escaped, strpbrk(v, "\"\\]") != NULL);
	}
	check_param(&m, (unsigned)n, "v", roundtrip_values[0]);
	mm_buf_free(&b);
}

struct sd_enc_case {
	const char *id, *name, *value;
	int rc;
};

static const struct sd_enc_case sd_enc_cases[] = {
	{ "ok@1", "n", "v", 0 },
	{ "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef", "v", 0 },
	{ "0123456789abcdef0123456789abcdef0", "n", "v", MM_EINVAL },
	{ "id", "0123456789abcdef0123456789abcdef0", "v", MM_EINVAL },
	{ "", "n", "v", MM_EINVAL },
	{ NULL, "n", "v", MM_EINVAL },
	{ "id", "", "v", MM_EINVAL },
	{ "id", NULL, "v", MM_EINVAL },
	{ "id", "n", NULL, MM_EINVAL },
	{ "a=b", "n", "v", MM_EINVAL },
	{ "a b", "n", "v", MM_EINVAL },
	{ "a]b", "n", "v", MM_EINVAL },
	{ "a\"b", "n", "v", MM_EINVAL },
	{ "id", "n=", "v", MM_EINVAL },
	{ "id", "caf\xc3\xa9", "v", MM_EINVAL },
	{ "id", "n", "bad \xff", MM_EINVAL },
	{ "id", "n", "\xed\xa0\x80", MM_EINVAL },
};

static void test_encode_sd_invalid(void **state)
{
	for (size_t i = 0; i < sizeof sd_enc_cases / sizeof sd_enc_cases[0]; i++) {
		const struct sd_enc_case *t = &sd_enc_cases[i];
		struct mm_syslog_out_param p = { t->name, t->value };
		struct mm_syslog_out_element el = { t->id, &p, 1 };
		struct mm_syslog_out o = { .pri = 13, .elements = &el, .nelements = 1 };
		struct mm_buf b;
		int rc;

		mm_buf_init(&b, 4096);
		rc = mm_syslog_encode(&o, &b);
		if (rc != t->rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, t->rc);
		assert_int_equal(b.len, rc == 0 ? b.len : 0);
		mm_buf_free(&b);
	}
}

static void test_encode_sd_duplicate(void **state)
{
	struct mm_syslog_out_param p = { "n", "v" };
	struct mm_syslog_out_element el[2] = { { "id", &p, 1 }, { "id", &p, 1 } };
	struct mm_syslog_out o = { .pri = 13, .elements = el, .nelements = 2 };
	struct mm_buf b;

	mm_buf_init(&b, 4096);
	assert_int_equal(mm_syslog_encode(&o, &b), MM_EINVAL);
	el[1].id = "id2";
	assert_int_equal(mm_syslog_encode(&o, &b), 0);
	assert_string_equal(b.data, "<13>1 - - - - - [id n=\"v\"][id2 n=\"v\"]");
	mm_buf_free(&b);
}

/* Past out's maximum: MM_ETOOBIG and out as it was, at every maximum. */
static void test_encode_toobig(void **state)
{
	struct mm_syslog_out_param p = { "n", "q\"uote" };
	struct mm_syslog_out_element el = { "id", &p, 1 };
	struct mm_syslog_out o = {
		.pri = 13, .time = &t_example, .hostname = "h", .app_name = "a",
		.elements = &el, .nelements = 1, .msg = "hello", .msg_len = 5, .msg_bom = 1,
	};
	const char *want = "<13>1 2003-10-11T22:14:15.003000Z h a - - [id n=\"q\\\"uote\"] "
			   BOM "hello";
	size_t full = strlen(want);

	for (size_t max = 2; max <= full + 2; max++) {
		struct mm_buf b;
		int rc;

		mm_buf_init(&b, max);
		assert_int_equal(mm_buf_puts(&b, "k:"), 0);
		rc = mm_syslog_encode(&o, &b);
		if (max < full + 2) {
			assert_int_equal(rc, MM_ETOOBIG);
			assert_int_equal(b.len, 2);
			assert_memory_equal(b.data, "k:", 3);
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(b.data + 2, want);
		}
		mm_buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_rfc_example_sd),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_nil_timestamp),
		cmocka_unit_test(test_pri),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_field_limits),
		cmocka_unit_test(test_sd),
		cmocka_unit_test(test_sd_bounds),
		cmocka_unit_test(test_msg),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_unescape),
		cmocka_unit_test(test_unescape_bounds),
		cmocka_unit_test(test_encode_example),
		cmocka_unit_test(test_encode_table),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_sd_roundtrip),
		cmocka_unit_test(test_encode_sd_invalid),
		cmocka_unit_test(test_encode_sd_duplicate),
		cmocka_unit_test(test_encode_toobig),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
