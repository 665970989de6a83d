/*
 * ingest_parse(): what mamori-soc makes of one received message — its kind,
 * type, parties, code, time, device identity and flags — and which inputs
 * become dead letters, and why.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/error.h"
#include "mamori/x1367.h"

#include "ingest.h"

#define RECV 1795330000000LL /* 2026-11-22T06:46:40Z */

static const char rec_ok[] =
	"{\"Timestamp\":\"2026-11-22T06:00:00.5Z\",\"Reporter\":{\"IP Address\":\"192.0.2.1\"},"
	"\"Protocol\":\"MQTT\",\"Requester\":{\"IP Address\":\"198.51.100.7\","
	"\"Transmitted Code\":\"10\"},\"Responder\":{\"Unique ID\":\"cam-1\","
	"\"Transmitted Code\":\"2005\"},\"Error Code\":\"20\",\"Error Message\":"
	"\"Authentication Failed\",\"Description\":{}}";

static struct soc_origin origin(const char *cn)
{
	struct soc_origin o;

	memset(&o, 0, sizeof o);
	o.transport = SOC_TLS;
	snprintf(o.peer, sizeof o.peer, "192.0.2.9:40000");
	snprintf(o.peer_addr, sizeof o.peer_addr, "192.0.2.9");
	if (cn) {
		snprintf(o.cert_cn, sizeof o.cert_cn, "%s", cn);
		memset(o.cert_fp, 'a', 64);
		o.cert_not_after = 1800000000;
	}
	return o;
}

static struct soc_event *parse_ok(const struct soc_origin *o, const char *msg, size_t len)
{
	struct soc_event *ev = NULL;
	const char *why = NULL;
	int rc = ingest_parse(o, (const uint8_t *)msg, len, RECV, &ev, &why);

	if (rc != 0)
		fail_msg("parse failed (%s): %.*s", why ? why : "?", (int)len, msg);
	assert_non_null(ev);
	return ev;
}

static char *frame5424(const char *host, const char *msgid, const char *msg)
{
	char *s = NULL;

	assert_true(asprintf(&s, "<134>1 2026-11-22T06:00:01.250+09:00 %s mamori-gw 42 %s - %s",
			     host, msgid, msg) > 0);
	return s;
}

static void test_x1367_strict(void **state)
{
	struct soc_origin o = origin(NULL);
	char *m = frame5424("gw-1", "X1367", rec_ok);
	struct soc_event *ev = parse_ok(&o, m, strlen(m));

	(void)state;
	assert_int_equal(ev->kind, SOC_KIND_X1367);
	assert_string_equal(ev->type, "x1367");
	assert_int_equal(ev->code, 0x20);
	assert_int_equal(ev->category, MM_X1367_CAT_SECURITY);
	assert_string_equal(ev->protocol, "MQTT");
	assert_string_equal(ev->reporter, "192.0.2.1");
	assert_string_equal(ev->requester, "198.51.100.7");
	assert_string_equal(ev->responder, "cam-1");
	assert_false(ev->flags & SOC_F_LENIENT);
	/* The record's own Timestamp wins over the header's. */
	assert_int_equal(ev->time_ms, 1795327200500LL);
	assert_int_equal(ev->recv_ms, RECV);
	assert_string_equal(ev->device, "gw-1");
	assert_string_equal(ev->hostname, "gw-1");
	assert_string_equal(ev->app_name, "mamori-gw");
	assert_string_equal(ev->procid, "42");
	assert_string_equal(ev->msgid, "X1367");
	assert_int_equal(ev->format, 5424);
	assert_int_equal(ev->facility, 16);
	assert_int_equal(ev->severity, 6);
	assert_null(ev->cert_fp);
	assert_int_equal(ev->msg_len, strlen(rec_ok));
	assert_memory_equal(ev->msg, rec_ok, ev->msg_len);
	soc_event_free(ev);
	free(m);
}

static char *read_sample(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf = calloc(1, 65536);

	snprintf(path, sizeof path, "%s/data/samples/%s", MAMORI_SRCDIR, name);
	assert_non_null(f = fopen(path, "rb"));
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

/* The two examples the Recommendation publishes are not valid as printed:
 * they are stored lenient-marked, with what was forgiven. */
static void test_published_examples_lenient(void **state)
{
	static const struct {
		const char *file;
		const char *protocol, *reporter, *requester, *responder;
		int code;
		unsigned forgiven;
	} t[] = {
		{"x1367-example-1.json", "ABC company protocol", "192.168.2.11", "0000", "0001",
		 0x30, MM_X1367_F_TRAILING_COMMA},
		{"x1367-example-2.json", NULL, NULL, NULL, NULL, -2,
		 MM_X1367_F_TRAILING_COMMA | MM_X1367_F_NONHEX_CODE},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct soc_origin o = origin(NULL);
		size_t n;
		char *rec = read_sample(t[i].file, &n);
		char *m = frame5424("gw-1", "X1367", rec);
		struct soc_event *ev = parse_ok(&o, m, strlen(m));

		assert_int_equal(ev->kind, SOC_KIND_X1367);
		assert_true(ev->flags & SOC_F_LENIENT);
		assert_int_equal(ev->forgiven & t[i].forgiven, t[i].forgiven);
		if (t[i].protocol) {
			assert_string_equal(ev->protocol, t[i].protocol);
			assert_string_equal(ev->reporter, t[i].reporter);
			assert_string_equal(ev->requester, t[i].requester);
			assert_string_equal(ev->responder, t[i].responder);
			assert_int_equal(ev->code, t[i].code);
		} else {
			assert_true(ev->code >= 0);
		}
		soc_event_free(ev);
		free(m);
		free(rec);
	}
}

static void test_kinds(void **state)
{
	static const struct {
		const char *msg;
		enum soc_kind kind;
		const char *type;
		int format;
		unsigned flags;
	} t[] = {
		/* a mamori event: its name is the type */
		{"<14>1 2026-11-22T06:00:01Z dev-1 mamorid - guard.exec.denied - "
		 "{\"event\":\"guard.exec.denied\",\"path\":\"/tmp/x\",\"attack\":[\"T1105\"]}",
		 SOC_KIND_EVENT, "guard.exec.denied", 5424, 0},
		/* plain RFC 5424 */
		{"<13>1 2026-11-22T06:00:01Z host app - - - hello", SOC_KIND_SYSLOG, "syslog", 5424, 0},
		/* plain RFC 3164 */
		{"<13>Nov 22 06:00:01 host app[7]: hello world", SOC_KIND_SYSLOG, "syslog", 3164, 0},
		/* a record sent without MSGID X1367 is recognised, and marked lenient */
		{"<13>Nov 22 06:00:01 gw reporter: {\"Timestamp\":\"2026-11-22T06:00:00.5Z\","
		 "\"Reporter\":{\"IP Address\":\"192.0.2.1\"},\"Protocol\":\"Modbus/TCP\","
		 "\"Requester\":{\"IP Address\":\"198.51.100.7\",\"Transmitted Code\":\"00\"},"
		 "\"Responder\":{\"IP Address\":\"192.0.2.50\",\"Transmitted Code\":\"8101\"},"
		 "\"Error Code\":\"30\",\"Error Message\":\"Invalid Command\",\"Description\":{}}",
		 SOC_KIND_X1367, "x1367", 3164, SOC_F_LENIENT},
		/* JSON without "event" or "Error Code" is plain syslog */
		{"<13>1 2026-11-22T06:00:01Z host app - - - {\"a\":1}", SOC_KIND_SYSLOG, "syslog",
		 5424, 0},
		/* no time at all: the receive time, flagged */
		{"<13>1 - host app - - - no time", SOC_KIND_SYSLOG, "syslog", 5424, SOC_F_NO_TIME},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct soc_origin o = origin(NULL);
		struct soc_event *ev = parse_ok(&o, t[i].msg, strlen(t[i].msg));

		assert_int_equal(ev->kind, t[i].kind);
		assert_string_equal(ev->type, t[i].type);
		assert_int_equal(ev->format, t[i].format);
		assert_int_equal(ev->flags, t[i].flags);
		if (t[i].flags & SOC_F_NO_TIME)
			assert_int_equal(ev->time_ms, RECV);
		else
			assert_int_not_equal(ev->time_ms, RECV);
		soc_event_free(ev);
	}
}

/* With mutual TLS the certificate names the device; a HOSTNAME that claims
 * another device is kept beside it and flagged. */
static void test_identity(void **state)
{
	struct soc_origin o = origin("sensor-7");
	const char *same = "<13>1 2026-11-22T06:00:01Z SENSOR-7 app - - - x";
	const char *other = "<13>1 2026-11-22T06:00:01Z sensor-8 app - - - x";
	const char *none = "<13>1 2026-11-22T06:00:01Z - app - - - x";
	struct soc_event *ev;

	(void)state;
	ev = parse_ok(&o, same, strlen(same));
	assert_string_equal(ev->device, "sensor-7");
	assert_false(ev->flags & SOC_F_IDENTITY_MISMATCH);
	assert_non_null(ev->cert_fp);
	assert_int_equal(strlen(ev->cert_fp), 64);
	assert_int_equal(ev->cert_not_after, 1800000000);
	soc_event_free(ev);

	ev = parse_ok(&o, other, strlen(other));
	assert_string_equal(ev->device, "sensor-7");
	assert_string_equal(ev->hostname, "sensor-8");
	assert_true(ev->flags & SOC_F_IDENTITY_MISMATCH);
	soc_event_free(ev);

	ev = parse_ok(&o, none, strlen(none));
	assert_string_equal(ev->device, "sensor-7");
	assert_null(ev->hostname);
	assert_false(ev->flags & SOC_F_IDENTITY_MISMATCH);
	soc_event_free(ev);

	/* Without a certificate: HOSTNAME, else the peer's address. */
	o = origin(NULL);
	ev = parse_ok(&o, none, strlen(none));
	assert_string_equal(ev->device, "192.0.2.9");
	soc_event_free(ev);
}

static void test_dead_letters(void **state)
{
	static char deep[4096];
	static const struct {
		const char *msg;
		size_t len; /* 0: strlen */
		const char *why;
	} t[] = {
		{"", 1, "NUL byte in the message"},
		{"<13>1 2026-11-22T06:00:01Z h a - - - bad \xff\xfe utf8", 0, "not valid UTF-8"},
		{"<13>1 2026-11-22T06:00:01Z h a - - - overlong \xc0\xaf", 0, "not valid UTF-8"},
		{"<13>1 2026-11-22T06:00:01Z h a - X1367 - not json", 0,
		 "X1367 record is not JSON"},
		{"<13>1 2026-11-22T06:00:01Z h a - X1367 - {\"Protocol\":3}", 0,
		 "X1367 record not valid even leniently"},
		{"<13>1 2026-11-22T06:00:01Z h a - X1367 -", 0, "X1367 message without a record"},
		{deep, 0, "X1367 record nests too deep"},
	};
	size_t i, n;

	(void)state;
	n = (size_t)snprintf(deep, sizeof deep, "<13>1 2026-11-22T06:00:01Z h a - X1367 - ");
	for (i = 0; i < 200; i++)
		deep[n++] = '[';
	deep[n] = 0;
	assert_int_equal(ingest_parse(&(struct soc_origin){0}, (const uint8_t *)"x", 0, RECV,
				      &(struct soc_event *){NULL}, &(const char *){NULL}),
			 MM_EPARSE);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct soc_origin o = origin(NULL);
		struct soc_event *ev = (void *)1;
		const char *why = NULL;
		size_t len = t[i].len ? t[i].len : strlen(t[i].msg);

		assert_int_equal(ingest_parse(&o, (const uint8_t *)t[i].msg, len, RECV, &ev, &why),
				 MM_EPARSE);
		assert_null(ev);
		assert_non_null(why);
		if (strcmp(why, t[i].why) != 0)
			fail_msg("case %zu: why \"%s\", want \"%s\"", i, why, t[i].why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x1367_strict),
		cmocka_unit_test(test_published_examples_lenient),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_dead_letters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
