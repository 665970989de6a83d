/*
 * X.1367 records: the two published examples, every validation rule in
 * strict and lenient mode with the line, column and attribute it names,
 * the builder, encode/decode round trips, and timestamps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "mamori/error.h"
#include "mamori/x1367.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *slurp(const char *rel, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof path, "%s/%s", MAMORI_SRCDIR, rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static const struct mm_x1367_diag *find_diag(const struct mm_x1367_diags *d, const char *attr)
{
	unsigned i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].attr, attr) == 0)
			return &d->v[i];
	return NULL;
}

static void assert_diag(const struct mm_x1367_diags *d, const char *attr, int line, int col,
			const char *msg_part, int forgiven)
{
	const struct mm_x1367_diag *g = find_diag(d, attr);

	if (!g) {
		unsigned i;
		for (i = 0; i < d->n; i++)
			print_message("have %d:%d %s: %s\n", d->v[i].line, d->v[i].col,
				      d->v[i].attr, d->v[i].msg);
		fail_msg("no diagnostic for attribute '%s'", attr);
	}
	assert_int_equal(g->line, line);
	assert_int_equal(g->col, col);
	assert_non_null(strstr(g->msg, msg_part));
	assert_int_equal(g->forgiven, forgiven);
}

/* Published example 1: strict refuses the trailing comma on line 14, column
 * 37, after "Error Message"; lenient accepts it and says so. */
static void published_example_1(void **state)
{
	struct mm_x1367_diags d;
	struct mm_x1367_record *r;
	size_t len;
	char *text = slurp("data/samples/x1367-example-1.json", &len);

	(void)state;
	assert_int_equal(mm_x1367_decode(text, len, MM_X1367_STRICT, &r, &d), MM_EINVALID);
	assert_null(r);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.errors, 1);
	assert_diag(&d, "Error Message", 14, 37, "trailing comma", 0);

	assert_int_equal(mm_x1367_decode(text, len, MM_X1367_LENIENT, &r, &d), 0);
	assert_non_null(r);
	assert_int_equal(d.errors, 0);
	assert_diag(&d, "Error Message", 14, 37, "trailing comma", 1);
	assert_int_equal(r->forgiven, MM_X1367_F_TRAILING_COMMA);
	assert_string_equal(r->timestamp, "2018-08-28T09:34:55.0Z");
	assert_int_equal(r->time.tv_sec, 1535448895);
	assert_string_equal(r->party[MM_X1367_REPORTER].id[MM_X1367_ID_IP], "192.168.2.11");
	assert_string_equal(r->protocol, "ABC company protocol");
	assert_string_equal(r->party[MM_X1367_REQUESTER].id[MM_X1367_ID_UNIQUE_ID], "0000");
	assert_string_equal(r->party[MM_X1367_REQUESTER].transmitted, "010000013A459187F43CdDE5");
	assert_string_equal(r->party[MM_X1367_RESPONDER].id[MM_X1367_ID_UNIQUE_ID], "0001");
	assert_string_equal(r->party[MM_X1367_RESPONDER].transmitted, "000003FF");
	assert_int_equal(r->code, 0x30);
	assert_string_equal(r->message, "Invalid Command");
	assert_null(r->description);
	mm_x1367_free(r);
	free(text);
}

/* Published example 2: trailing comma after Description (17:4) and two
 * Transmitted Codes that are not hex (7:25, 11:25). */
static void published_example_2(void **state)
{
	struct mm_x1367_diags d;
	struct mm_x1367_record *r;
	size_t len;
	char *text = slurp("data/samples/x1367-example-2.json", &len);
	json_t *status;

	(void)state;
	assert_int_equal(mm_x1367_decode(text, len, MM_X1367_STRICT, &r, &d), MM_EINVALID);
	assert_int_equal(d.errors, 3);
	assert_diag(&d, "Description", 17, 4, "trailing comma", 0);
	assert_diag(&d, "Requester/Transmitted Code", 7, 25, "hex", 0);
	assert_diag(&d, "Responder/Transmitted Code", 11, 25, "hex", 0);

	assert_int_equal(mm_x1367_decode(text, len, MM_X1367_LENIENT, &r, &d), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.errors, 0);
	assert_int_equal(r->forgiven, MM_X1367_F_TRAILING_COMMA | MM_X1367_F_NONHEX_CODE);
	assert_string_equal(r->party[MM_X1367_REQUESTER].id[MM_X1367_ID_UNIQUE_NAME], "0000");
	assert_string_equal(r->party[MM_X1367_RESPONDER].transmitted, "0000000000010000c ");
	assert_int_equal(r->code, 0x21);
	assert_string_equal(r->message, "Certification Failed");
	status = json_object_get(r->description, "Status");
	assert_string_equal(json_string_value(status), "This message was sent from IDS not IoTGW");
	mm_x1367_free(r);
	free(text);
}

/* A valid record to vary: one attribute is replaced per case. */
#define REC(ts, rep, proto, req, resp, code, msg, tail)                                   \
	"{\"Timestamp\":" ts ",\"Reporter\":" rep ",\"Protocol\":" proto                  \
	",\"Requester\":" req ",\"Responder\":" resp ",\"Error Code\":" code               \
	",\"Error Message\":" msg tail "}"
#define TS "\"2018-08-28T09:34:55.0Z\""
#define REP "{\"IP Address\":\"192.168.2.11\"}"
#define PROTO "\"ABC company protocol\""
#define REQ "{\"Unique ID\":\"0000\",\"Transmitted Code\":\"0A0B\"}"
#define RESP "{\"Unique ID\":\"0001\",\"Transmitted Code\":\"000003FF\"}"
#define CODE "\"30\""
#define MSG "\"Invalid Command\""

static const struct rule_case {
	const char *name;
	const char *text;
	int strict_rc;       /* 0 or the MM_E* decode returns */
	const char *attr;    /* the attribute the first strict problem names */
	int col;             /* its column on line 1 (0: do not check) */
	const char *msg;     /* a part of its text */
	int lenient_rc;
	unsigned forgiven;   /* bits a lenient decode sets */
} rule_cases[] = {
	{"valid", REC(TS, REP, PROTO, REQ, RESP, CODE, MSG, ""), 0, NULL, 0, NULL, 0, 0},
	{"lower-case hex code", REC(TS, REP, PROTO, REQ, RESP, "\"2f\"", "\"Other Security Reasons\"", ""),
	 0, NULL, 0, NULL, 0, 0},
	{"timestamp with offset", REC("\"2018-08-28T18:34:55.0+09:00\"", REP, PROTO, REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Timestamp", 14, "not UTC", 0, MM_X1367_F_TIMESTAMP},
	{"timestamp without fraction", REC("\"2018-08-28T09:34:55Z\"", REP, PROTO, REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Timestamp", 14, "fraction", 0, MM_X1367_F_TIMESTAMP},
	{"timestamp not a date", REC("\"yesterday\"", REP, PROTO, REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Timestamp", 14, "not an RFC 3339", MM_EINVALID, 0},
	{"timestamp 30 February", REC("\"2018-02-30T09:34:55.0Z\"", REP, PROTO, REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Timestamp", 14, "not an RFC 3339", MM_EINVALID, 0},
	{"timestamp a number", REC("1535448895", REP, PROTO, REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Timestamp", 14, "must be a string", MM_EINVALID, 0},
	{"bad reporter IP", REC(TS, "{\"IP Address\":\"192.168.2.300\"}", PROTO, REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Reporter/IP Address", 0, "not an IPv4 or IPv6", 0, MM_X1367_F_IDENTIFIER},
	{"IPv6 reporter", REC(TS, "{\"IP Address\":\"fd00::1\"}", PROTO, REQ, RESP, CODE, MSG, ""),
	 0, NULL, 0, NULL, 0, 0},
	{"MAC address", REC(TS, "{\"MAC Address\":\"00-1B-44-11-3A-B7\"}", PROTO, REQ, RESP, CODE, MSG, ""),
	 0, NULL, 0, NULL, 0, 0},
	{"bad MAC address", REC(TS, "{\"MAC Address\":\"00:1B:44:11:3A\"}", PROTO, REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Reporter/MAC Address", 0, "not a MAC", 0, MM_X1367_F_IDENTIFIER},
	{"one-character MAC address", REC(TS, "{\"MAC Address\":\"0\"}", PROTO, REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Reporter/MAC Address", 0, "not a MAC", 0, MM_X1367_F_IDENTIFIER},
	{"long malformed code", REC(TS, REP, PROTO, REQ, RESP, "\"+31ArgumEnt\"", MSG, ""),
	 MM_EINVALID, "Error Code", 0, "\"+31ArgumEnt\" is not two hex digits", MM_EINVALID, 0},
	{"reporter without identifier", REC(TS, "{}", PROTO, REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Reporter", 50, "no identifier", 0, MM_X1367_F_IDENTIFIER},
	{"numeric unique id", REC(TS, REP, PROTO, "{\"Unique ID\":7,\"Transmitted Code\":\"00\"}", RESP, CODE, MSG, ""),
	 MM_EINVALID, "Requester/Unique ID", 0, "a number", 0, MM_X1367_F_IDENTIFIER},
	{"reporter not an object", REC(TS, "\"192.168.2.11\"", PROTO, REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Reporter", 50, "must be an object", MM_EINVALID, 0},
	{"empty protocol", REC(TS, REP, "\"\"", REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Protocol", 0, "empty", MM_EINVALID, 0},
	{"odd hex", REC(TS, REP, PROTO, "{\"Unique ID\":\"0000\",\"Transmitted Code\":\"0A0\"}", RESP, CODE, MSG, ""),
	 MM_EINVALID, "Requester/Transmitted Code", 0, "hex", 0, MM_X1367_F_NONHEX_CODE},
	{"empty transmitted code", REC(TS, REP, PROTO, "{\"Unique ID\":\"0000\",\"Transmitted Code\":\"\"}", RESP, "\"10\"", "\"No Response\"", ""),
	 0, NULL, 0, NULL, 0, 0},
	{"missing transmitted code", REC(TS, REP, PROTO, "{\"Unique ID\":\"0000\"}", RESP, CODE, MSG, ""),
	 MM_EINVALID, "Requester/Transmitted Code", 0, "missing", MM_EINVALID, 0},
	{"code 0x30", REC(TS, REP, PROTO, REQ, RESP, "\"0x30\"", MSG, ""),
	 MM_EINVALID, "Error Code", 0, "not two hex digits", 0, MM_X1367_F_CODE_FORM},
	{"code 3G", REC(TS, REP, PROTO, REQ, RESP, "\"3G\"", MSG, ""),
	 MM_EINVALID, "Error Code", 0, "not two hex digits", MM_EINVALID, 0},
	{"code a number", REC(TS, REP, PROTO, REQ, RESP, "48", MSG, ""),
	 MM_EINVALID, "Error Code", 0, "must be a string", MM_EINVALID, 0},
	{"message of another code", REC(TS, REP, PROTO, REQ, RESP, CODE, "\"Invalid Argument\"", ""),
	 MM_EINVALID, "Error Message", 0, "does not match code 30", 0, MM_X1367_F_MESSAGE},
	{"unassigned code with own message", REC(TS, REP, PROTO, REQ, RESP, "\"13\"", "\"radio reset\"", ""),
	 0, NULL, 0, NULL, 0, 0},
	{"private code with own message", REC(TS, REP, PROTO, REQ, RESP, "\"E3\"", "\"Battery cover open\"", ""),
	 0, NULL, 0, NULL, 0, 0},
	{"reserved code with own message", REC(TS, REP, PROTO, REQ, RESP, "\"77\"", "\"future\"", ""),
	 0, NULL, 0, NULL, 0, 0},
	{"private code without message", REC(TS, REP, PROTO, REQ, RESP, "\"E3\"", "\"\"", ""),
	 MM_EINVALID, "Error Message", 0, "own message", MM_EINVALID, 0},
	{"unknown attribute", REC(TS, REP, PROTO, REQ, RESP, CODE, MSG, ",\"Severity\":\"high\""),
	 MM_EINVALID, "Severity", 0, "unknown attribute", 0, MM_X1367_F_EXTRA_ATTR},
	{"unknown party attribute", REC(TS, "{\"IP Address\":\"192.168.2.11\",\"Port\":502}", PROTO, REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Reporter/Port", 0, "unknown attribute", 0, MM_X1367_F_EXTRA_ATTR},
	{"description a string", REC(TS, REP, PROTO, REQ, RESP, CODE, MSG, ",\"Description\":\"from IDS\""),
	 MM_EINVALID, "Description", 0, "not an object", 0, MM_X1367_F_DESCRIPTION},
	{"duplicate attribute", REC(TS, REP, PROTO, REQ, RESP, CODE, MSG, ",\"Protocol\":\"X\""),
	 MM_EINVALID, "Protocol", 0, "more than once", 0, MM_X1367_F_DUPLICATE},
	{"missing error code", "{\"Timestamp\":" TS ",\"Reporter\":" REP ",\"Protocol\":" PROTO
			       ",\"Requester\":" REQ ",\"Responder\":" RESP ",\"Error Message\":" MSG "}",
	 MM_EINVALID, "Error Code", 1, "missing", MM_EINVALID, 0},
	{"not an object", "[1,2]", MM_EINVALID, "", 1, "must be a JSON object", MM_EINVALID, 0},
	{"not JSON", "{\"Timestamp\": ", MM_EPARSE, "Timestamp", 0, "", MM_EPARSE, 0},
	{"invalid UTF-8", "{\"Protocol\":\"\xC3\x28\"}", MM_EINVALID, "Protocol", 13, "UTF-8", MM_EINVALID, 0},
	{"overlong UTF-8", REC(TS, REP, PROTO, REQ, RESP, CODE, "\"Inval\xC0\xAFid\"", ""),
	 MM_EINVALID, "Error Message", 0, "UTF-8", MM_EINVALID, 0},
	{"lone surrogate escape", REC(TS, REP, PROTO, REQ, RESP, "\"E0\"", "\"\\udc00\"", ""),
	 MM_EINVALID, "Error Message", 0, "UTF-8", MM_EINVALID, 0},
	{"surrogate pair escape", REC(TS, REP, PROTO, REQ, RESP, "\"E0\"", "\"\\ud83d\\ude00\"", ""),
	 0, NULL, 0, NULL, 0, 0},
	{"invalid UTF-8 in a key", REC(TS, REP, PROTO, REQ, RESP, CODE, MSG, ",\"\xFF\":1"),
	 MM_EINVALID, "Error Message", 0, "UTF-8", MM_EINVALID, 0},
	{"NUL escape", REC(TS, REP, "\"a\\u0000b\"", REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Protocol", 0, "NUL", MM_EINVALID, 0},
	{"NUL in Description", REC(TS, REP, PROTO, REQ, RESP, CODE, MSG, ",\"Description\":{\"a\":\"\\u0000\"}"),
	 MM_EINVALID, "Description", 0, "NUL", MM_EINVALID, 0},
	{"Description nested too deep", REC(TS, REP, PROTO, REQ, RESP, CODE, MSG,
	 ",\"Description\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
	 MM_EINVALID, "Description", 0, "nested deeper", MM_EINVALID, 0},
	{"Description nested arrays and objects", REC(TS, REP, PROTO, REQ, RESP, CODE, MSG,
	 ",\"Description\":{\"a\":[1,2.5,true,null,{\"b\":\"c\"}]}"), 0, NULL, 0, NULL, 0, 0},
	{"duplicate inside Description", REC(TS, REP, PROTO, REQ, RESP, CODE, MSG, ",\"Description\":{\"a\":1,\"a\":2}"),
	 MM_EINVALID, "Description", 0, "more than once", 0, MM_X1367_F_DUPLICATE},
	{"party given twice", REC(TS, REP, PROTO, REQ, RESP, CODE, MSG, ",\"Requester\":{\"Unique ID\":\"9\"}"),
	 MM_EINVALID, "Requester", 0, "more than once", MM_EINVALID, 0},
	{"trailing garbage", REC(TS, REP, PROTO, REQ, RESP, CODE, MSG, "") " x", MM_EPARSE, "Error Message", 0,
	 "trailing garbage", MM_EPARSE, 0},
	{"empty", "", MM_EPARSE, "", 1, "ends before", MM_EPARSE, 0},
	{"trailing comma in party", REC(TS, "{\"IP Address\":\"192.168.2.11\",}", PROTO, REQ, RESP, CODE, MSG, ""),
	 MM_EINVALID, "Reporter/IP Address", 78, "trailing comma", 0, MM_X1367_F_TRAILING_COMMA},
};

static void content_rules(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(rule_cases); i++) {
		const struct rule_case *c = &rule_cases[i];
		struct mm_x1367_diags d;
		struct mm_x1367_record *r;
		int rc;

		print_message("case: %s\n", c->name);
		rc = mm_x1367_decode(c->text, strlen(c->text), MM_X1367_STRICT, &r, &d);
		assert_int_equal(rc, c->strict_rc);
		if (rc == 0) {
			assert_int_equal(d.n, 0);
			assert_int_equal(r->forgiven, 0);
			mm_x1367_free(r);
		} else {
			const struct mm_x1367_diag *g = find_diag(&d, c->attr);
			assert_null(r);
			assert_non_null(g);
			assert_int_equal(g->forgiven, 0);
			assert_int_equal(g->line, 1);
			if (c->col)
				assert_int_equal(g->col, c->col);
			assert_non_null(strstr(g->msg, c->msg));
		}
		rc = mm_x1367_decode(c->text, strlen(c->text), MM_X1367_LENIENT, &r, &d);
		assert_int_equal(rc, c->lenient_rc);
		if (rc == 0) {
			assert_int_equal(r->forgiven, c->forgiven);
			assert_int_equal(d.errors, 0);
			mm_x1367_free(r);
		}
	}
}

/* What lenient mode keeps: extra attributes and the last of a duplicate. */
static void lenient_keeps_content(void **state)
{
	const char *text = REC(TS, "{\"IP Address\":\"192.168.2.11\",\"Port\":502}", PROTO, REQ,
			       RESP, CODE, MSG, ",\"Severity\":\"high\",\"Protocol\":\"Modbus/TCP\"");
	struct mm_x1367_record *r;
	char *out;

	(void)state;
	assert_int_equal(mm_x1367_decode(text, strlen(text), MM_X1367_LENIENT, &r, NULL), 0);
	assert_string_equal(r->protocol, "Modbus/TCP");
	assert_int_equal(r->forgiven, MM_X1367_F_EXTRA_ATTR | MM_X1367_F_DUPLICATE);
	out = mm_x1367_encode(r, 0);
	assert_string_equal(out,
			    "{\"Timestamp\":\"2018-08-28T09:34:55.0Z\",\"Reporter\":{\"IP Address\":"
			    "\"192.168.2.11\",\"Port\":502},\"Protocol\":\"Modbus/TCP\",\"Requester\":"
			    "{\"Unique ID\":\"0000\",\"Transmitted Code\":\"0A0B\"},\"Responder\":"
			    "{\"Unique ID\":\"0001\",\"Transmitted Code\":\"000003FF\"},\"Error Code\":"
			    "\"30\",\"Error Message\":\"Invalid Command\",\"Severity\":\"high\"}");
	free(out);
	mm_x1367_free(r);
}

static void limits_and_hostile_input(void **state)
{
	struct mm_x1367_diags d;
	struct mm_x1367_record *r;
	size_t n = MM_X1367_MAX_TEXT + 1, i;
	char *big = malloc(n);

	(void)state;
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	assert_int_equal(mm_x1367_decode(big, n, MM_X1367_LENIENT, &r, &d), MM_ETOOBIG);
	assert_null(r);
	/* Nesting far deeper than any record: refused, not a crash. */
	for (i = 0; i < 100000; i++)
		big[i] = i < 50000 ? '[' : ']';
	assert_int_equal(mm_x1367_decode(big, 100000, MM_X1367_STRICT, &r, &d), MM_EINVALID);
	big[0] = '{';
	big[1] = '"';
	big[2] = 'a';
	big[3] = '"';
	big[4] = ':';
	assert_int_equal(mm_x1367_decode(big, 100000, MM_X1367_LENIENT, &r, &d), MM_EINVALID);
	assert_int_equal(d.errors, 1);
	assert_non_null(strstr(d.v[1].msg, "nested deeper than 64 levels"));
	/* Many problems: the count is kept even past what is stored. */
	{
		char many[8192];
		size_t off = 0;
		off += (size_t)snprintf(many + off, sizeof many - off, "{");
		for (i = 0; i < 60; i++)
			off += (size_t)snprintf(many + off, sizeof many - off, "\"x%zu\":1,", i);
		snprintf(many + off, sizeof many - off, "\"y\":1}");
		assert_int_equal(mm_x1367_decode(many, strlen(many), MM_X1367_STRICT, &r, &d),
				 MM_EINVALID);
		assert_int_equal(d.n, MM_X1367_MAX_DIAGS);
		assert_true(d.dropped > 0);
		assert_int_equal(d.n + d.dropped, d.errors);
	}
	free(big);
}

/* A gateway builds a record; it encodes to the exact text, and decodes back
 * strictly to the same fields. */
static void builder_round_trip(void **state)
{
	static const uint8_t req[] = {0x01, 0x00, 0x00, 0x01, 0x3A};
	static const uint8_t resp[] = {0x00, 0x00, 0x03, 0xFF};
	struct timespec ts = {1535448895, 0};
	struct mm_x1367_record *r = mm_x1367_new(), *back;
	struct mm_x1367_diags d;
	char *json;

	(void)state;
	/* Incomplete: refused, and validate says what is missing. */
	assert_null(mm_x1367_encode(r, 0));
	assert_int_equal(mm_x1367_validate(r, &d), MM_EINVALID);
	assert_non_null(find_diag(&d, "Timestamp"));
	assert_non_null(find_diag(&d, "Requester/Transmitted Code"));

	assert_int_equal(mm_x1367_set_time(r, &ts), 0);
	assert_int_equal(mm_x1367_set_id(r, MM_X1367_REPORTER, MM_X1367_ID_IP, "192.168.2.11"), 0);
	assert_int_equal(mm_x1367_set_id(r, MM_X1367_REPORTER, MM_X1367_ID_IP, "300.1.1.1"),
			 MM_EINVAL);
	assert_int_equal(mm_x1367_set_protocol(r, "ABC company protocol"), 0);
	assert_int_equal(mm_x1367_set_id(r, MM_X1367_REQUESTER, MM_X1367_ID_UNIQUE_ID, "0000"), 0);
	assert_int_equal(mm_x1367_set_transmitted(r, MM_X1367_REQUESTER, req, sizeof req), 0);
	assert_int_equal(mm_x1367_set_id(r, MM_X1367_RESPONDER, MM_X1367_ID_UNIQUE_ID, "0001"), 0);
	assert_int_equal(mm_x1367_set_transmitted(r, MM_X1367_RESPONDER, resp, sizeof resp), 0);
	assert_int_equal(mm_x1367_set_transmitted(r, MM_X1367_REPORTER, resp, 1), MM_EINVAL);
	assert_int_equal(mm_x1367_set_code(r, 0x30, "Invalid Argument"), MM_EINVAL);
	assert_int_equal(mm_x1367_set_code(r, 0x13, NULL), MM_EINVAL);
	assert_int_equal(mm_x1367_set_code(r, 0x30, NULL), 0);
	assert_int_equal(mm_x1367_set_description(r, "Status", "sent from IDS"), 0);
	assert_int_equal(mm_x1367_validate(r, &d), 0);

	json = mm_x1367_encode(r, 0);
	assert_string_equal(json,
			    "{\"Timestamp\":\"2018-08-28T09:34:55.0Z\",\"Reporter\":{\"IP Address\":"
			    "\"192.168.2.11\"},\"Protocol\":\"ABC company protocol\",\"Requester\":"
			    "{\"Unique ID\":\"0000\",\"Transmitted Code\":\"010000013A\"},"
			    "\"Responder\":{\"Unique ID\":\"0001\",\"Transmitted Code\":\"000003FF\"},"
			    "\"Error Code\":\"30\",\"Error Message\":\"Invalid Command\","
			    "\"Description\":{\"Status\":\"sent from IDS\"}}");
	assert_int_equal(mm_x1367_decode(json, strlen(json), MM_X1367_STRICT, &back, &d), 0);
	assert_int_equal(back->time.tv_sec, ts.tv_sec);
	assert_string_equal(back->party[MM_X1367_REQUESTER].transmitted, "010000013A");
	assert_int_equal(back->code, 0x30);
	free(json);

	/* Pretty output decodes to the same record. */
	json = mm_x1367_encode(back, MM_X1367_ENC_PRETTY);
	assert_non_null(strchr(json, '\n'));
	mm_x1367_free(back);
	assert_int_equal(mm_x1367_decode(json, strlen(json), MM_X1367_STRICT, &back, &d), 0);
	assert_string_equal(back->message, "Invalid Command");
	mm_x1367_free(back);
	free(json);
	mm_x1367_free(r);
}

static void timestamps(void **state)
{
	static const struct {
		const char *text;
		int rc;
		long long sec;
		long nsec;
	} cases[] = {
		{"2018-08-28T09:34:55.0Z", 0, 1535448895, 0},
		{"2018-08-28T09:34:55.123456789Z", 0, 1535448895, 123456789},
		{"2018-08-28T09:34:55.5Z", 0, 1535448895, 500000000},
		{"2018-08-28T18:34:55.0+09:00", 1, 1535448895, 0},
		{"2018-08-28T04:34:55.0-05:00", 1, 1535448895, 0},
		{"2018-08-28T09:34:55Z", 1, 1535448895, 0},
		{"2018-08-28t09:34:55.0z", 1, 1535448895, 0},
		{"2018-08-28 09:34:55.0Z", 1, 1535448895, 0},
		{"2016-02-29T00:00:00.0Z", 0, 1456704000, 0},
		{"1970-01-01T00:00:00.0Z", 0, 0, 0},
		{"2038-01-19T03:14:07.0Z", 0, 2147483647, 0},
		/* After 2038 only where time_t has 64 bits; never a wrapped time. */
		{"2100-01-01T00:00:00.0Z", sizeof(time_t) >= 8 ? 0 : MM_EPARSE, 4102444800LL, 0},
		{"2018-08-28T09:34:55.1234567891Z", MM_EPARSE, 0, 0},
		{"2017-02-29T00:00:00.0Z", MM_EPARSE, 0, 0},
		{"2018-13-01T00:00:00.0Z", MM_EPARSE, 0, 0},
		{"2018-08-28T24:00:00.0Z", MM_EPARSE, 0, 0},
		{"2018-08-28T09:60:00.0Z", MM_EPARSE, 0, 0},
		{"2018-08-28T09:34:55.Z", MM_EPARSE, 0, 0},
		{"2018-08-28T09:34:55.0", MM_EPARSE, 0, 0},
		{"2018-08-28T09:34:55.0+0900", MM_EPARSE, 0, 0},
		{"2018-08-28T09:34:55.0Zjunk", MM_EPARSE, 0, 0},
		{"", MM_EPARSE, 0, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct timespec ts = {0, 0};
		print_message("time: %s\n", cases[i].text);
		assert_int_equal(mm_x1367_time_parse(cases[i].text, &ts), cases[i].rc);
		if (cases[i].rc >= 0) {
			assert_int_equal(ts.tv_sec, cases[i].sec);
			assert_int_equal(ts.tv_nsec, cases[i].nsec);
		}
	}
}

static void time_format(void **state)
{
	static const struct {
		long long sec;
		long nsec;
		const char *text;
	} cases[] = {
		{1535448895, 0, "2018-08-28T09:34:55.0Z"},
		{1535448895, 500000000, "2018-08-28T09:34:55.5Z"},
		{1535448895, 123456789, "2018-08-28T09:34:55.123456789Z"},
		{1535448895, 1000, "2018-08-28T09:34:55.000001Z"},
		{0, 0, "1970-01-01T00:00:00.0Z"},
	};
	size_t i;
	char out[64];

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct timespec ts = {(time_t)cases[i].sec, cases[i].nsec};
		assert_int_equal(mm_x1367_time_format(&ts, out, sizeof out), 0);
		assert_string_equal(out, cases[i].text);
	}
	{
		struct timespec bad = {0, 1000000000};
		assert_int_equal(mm_x1367_time_format(&bad, out, sizeof out), MM_EINVAL);
	}
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(mm_x1367_idkind_name(MM_X1367_ID_UNIQUE_ID), "Unique ID");
	assert_string_equal(mm_x1367_idkind_name(MM_X1367_ID_MAC), "MAC Address");
	assert_null(mm_x1367_idkind_name(MM_X1367_ID_COUNT));
	assert_string_equal(mm_x1367_forgive_name(MM_X1367_F_TRAILING_COMMA), "trailing-comma");
	assert_string_equal(mm_x1367_forgive_name(MM_X1367_F_DESCRIPTION), "description-form");
	assert_null(mm_x1367_forgive_name(3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(published_example_1),
		cmocka_unit_test(published_example_2),
		cmocka_unit_test(content_rules),
		cmocka_unit_test(lenient_keeps_content),
		cmocka_unit_test(limits_and_hostile_input),
		cmocka_unit_test(builder_round_trip),
		cmocka_unit_test(timestamps),
		cmocka_unit_test(time_format),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
