/*
 * Unit tests of the ECHONET Lite decoder (gateway/sensor/echonet.c): each
 * service (ESV) is reported as what it is (request, response, not-possible
 * response naming the refused properties, INF as response and periodic),
 * whichever side sent it; malformed frames are reported once and the flow
 * goes on; every truncation of a valid frame is an error and never a read
 * past its end; data/errmap/echonet.map maps each ESV the tests report.
 *
 * The frames are written out from the ECHONET Lite Specification Version
 * 1.14, Part II, chapter 3 (section 3.2 frame format, 3.2.5 services), for
 * a controller (node profile side object 0x05FF01) talking to a home air
 * conditioner (0x013001) and a temperature sensor (0x001101).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/errmap.h"
#include "sensor/sensor.h"

#ifndef MAMORI_SRCDIR
#define MAMORI_SRCDIR "."
#endif

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- a sink that writes each report as one line ---- */

#define REC_MAX 32

struct rec {
	char line[REC_MAX][1024];
	size_t n;
	size_t overflow;
};

static void hex(char *out, size_t size, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t at = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && at + 3 <= size; i++) {
		snprintf(out + at, size - at, "%02X", b[i]);
		at += 2;
	}
}

static volatile uint8_t touch;

static void rec_add(void *arg, const char *kind, const struct gw_msg *m,
		    const struct mm_reporter_status *st, unsigned timeout)
{
	struct rec *r = arg;
	char key[2 * GW_KEY_MAX + 1], raw[2 * 300 + 1], status[64] = "";

	/* Every report is this decoder's protocol and its key fits the contract. */
	assert_string_equal(m->protocol, "ECHONET Lite");
	assert_true(m->key_len <= GW_KEY_MAX);
	/* Touch every byte handed over, so that ASan sees a bad pointer. */
	for (size_t i = 0; i < m->raw_len; i++)
		touch ^= ((const uint8_t *)m->raw)[i];
	for (size_t i = 0; i < m->key_len; i++)
		touch ^= ((const uint8_t *)m->key)[i];
	if (r->n >= REC_MAX) {
		r->overflow++;
		return;
	}
	hex(key, sizeof key, m->key, m->key_len);
	hex(raw, sizeof raw, m->raw, m->raw_len);
	if (st) {
		switch (st->outcome) {
		case MM_REPORTER_OK: snprintf(status, sizeof status, " OK"); break;
		case MM_REPORTER_ERR_NUM:
			snprintf(status, sizeof status, " NUM %llu", (unsigned long long)st->num);
			break;
		case MM_REPORTER_ERR_STD: snprintf(status, sizeof status, " STD %02X", st->std); break;
		default: snprintf(status, sizeof status, " ?"); break;
		}
		if (st->text)
			snprintf(status + strlen(status), sizeof status - strlen(status), " text=%s",
				 st->text);
	}
	if (timeout)
		snprintf(status + strlen(status), sizeof status - strlen(status), " t=%u", timeout);
	snprintf(r->line[r->n++], sizeof r->line[0], "%s %s key=%s raw=%s%s%s%s", kind,
		 m->from == GW_CLIENT ? "C" : "S", key, raw, status, m->detail ? " d=" : "",
		 m->detail ? m->detail : "");
}

static void on_request(void *arg, const struct gw_msg *m, unsigned timeout_ms)
{
	rec_add(arg, "REQ", m, NULL, timeout_ms);
}
static void on_response(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st)
{
	rec_add(arg, "RESP", m, st, 0);
}
static void on_error(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st)
{
	rec_add(arg, "ERR", m, st, 0);
}
static void on_periodic(void *arg, const struct gw_msg *m)
{
	rec_add(arg, "PER", m, NULL, 0);
}

static void sink_init(struct gw_sink *s, struct rec *r)
{
	memset(r, 0, sizeof *r);
	s->request = on_request;
	s->response = on_response;
	s->error = on_error;
	s->periodic = on_periodic;
	s->arg = r;
}

/* Compares what was reported with the expected lines (NULL-terminated). */
static void rec_expect(const struct rec *r, const char *name, const char *const *want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		if (i >= r->n)
			fail_msg("%s: report %zu missing, want\n  %s", name, i, want[i]);
		if (strcmp(r->line[i], want[i]) != 0)
			fail_msg("%s: report %zu\n  got  %s\n  want %s", name, i, r->line[i], want[i]);
	}
	if (r->n != i)
		fail_msg("%s: %zu reports, want %zu; extra: %s", name, r->n, i, r->line[i]);
	assert_int_equal(r->overflow, 0);
}

/* ---- feeding datagrams ---- */

struct dgram {
	enum gw_side from;
	const char *hex;
};

static size_t unhex(const char *s, uint8_t *out, size_t size)
{
	size_t n = 0;

	for (;;) {
		unsigned v;

		while (*s == ' ')
			s++;
		if (!s[0] || !s[1])
			break;
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		assert_true(n < size);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

/* Gives one datagram in a heap block of exactly its size (ASan sees a
 * read past it); UDP decoders never stop the flow. */
static void send_dgram(void *state, enum gw_side from, const uint8_t *p, size_t n,
		       const struct gw_sink *sink)
{
	uint8_t *copy = malloc(n ? n : 1);

	assert_non_null(copy);
	memcpy(copy, p, n);
	assert_int_equal(gw_decoder_echonet.data(state, from, copy, n, sink), 0);
	free(copy);
}

static void run(const struct dgram *d, struct rec *r)
{
	struct gw_sink sink;
	void *state = calloc(1, gw_decoder_echonet.state_size);
	uint8_t bytes[512];

	assert_non_null(state);
	sink_init(&sink, r);
	for (; d->hex; d++) {
		size_t n = unhex(d->hex, bytes, sizeof bytes);

		send_dgram(state, d->from, bytes, n, &sink);
	}
	free(state);
}

/* ---- the cases ---- */

#define HDR_REQ(tid) "1081" tid "05FF01 013001"
#define HDR_RES(tid) "1081" tid "013001 05FF01"
#define OPTIONAL " t=4294967295"
#define ERR(raw, d) "ERR C key= raw=" raw " STD 30 d=" d

struct dgram_case {
	const char *name;
	struct dgram in[12];
	const char *want[12];
};

static const struct dgram_case cases[] = {
	{"Get answered by Get_Res",
	 {{GW_CLIENT, HDR_REQ("0001") "62 01 80 00"}, {GW_SERVER, HDR_RES("0001") "72 01 80 01 30"},
	  {0, NULL}},
	 {"REQ C key=0001 raw=1081000105FF01013001620180 00 d=Get 0x013001 EPC 0x80",
	  "RESP S key=0001 raw=1081000101300105FF0172018001 30 OK text=0x72", NULL}},
	{"Get_SNA: the property returned with PDC 0 was not readable",
	 {{GW_CLIENT, HDR_REQ("0002") "62 02 80 00 F0 00"},
	  {GW_SERVER, HDR_RES("0002") "52 02 80 01 30 F0 00"},
	  {0, NULL}},
	 {"REQ C key=0002 raw=1081000205FF0101300162028000F000 d=Get 0x013001 EPC 0x80, 0xF0",
	  "RESP S key=0002 raw=1081000201300105FF015202800130F000 NUM 82 text=0x52 d=EPC 0xF0 of "
	  "0x013001 not possible",
	  NULL}},
	{"SetC_SNA: the property returned with its data was not written",
	 {{GW_CLIENT, HDR_REQ("0003") "61 02 80 01 30 B0 01 45"},
	  {GW_SERVER, HDR_RES("0003") "51 02 80 00 B0 01 45"},
	  {0, NULL}},
	 {"REQ C key=0003 raw=1081000305FF01013001610280013 0B00145 d=SetC 0x013001 EPC 0x80, 0xB0",
	  "RESP S key=0003 raw=1081000301300105FF01510280 00B00145 NUM 81 text=0x51 d=EPC 0xB0 of "
	  "0x013001 not possible",
	  NULL}},
	{"SetI needs no answer; SetI_SNA when it fails",
	 {{GW_CLIENT, HDR_REQ("0004") "60 01 80 01 31"},
	  {GW_SERVER, HDR_RES("0004") "50 01 80 01 31"},
	  {0, NULL}},
	 {"REQ C key=0004 raw=1081000405FF0101300160018001 31" OPTIONAL
	  " d=SetI 0x013001 EPC 0x80",
	  "RESP S key=0004 raw=1081000401300105FF015001800131 NUM 80 text=0x50 d=EPC 0x80 of "
	  "0x013001 not possible",
	  NULL}},
	{"SetGet and SetGet_SNA, each part refusing, then only the get part",
	 {{GW_CLIENT, HDR_REQ("0005") "6E 01 80 01 30 01 B0 00"},
	  {GW_SERVER, HDR_RES("0005") "5E 01 80 01 30 01 B0 00"},
	  {GW_SERVER, HDR_RES("0006") "5E 01 80 00 02 B0 00 B3 01 14"},
	  {GW_SERVER, HDR_RES("0007") "7E 01 80 00 01 B0 01 42"},
	  {0, NULL}},
	 {"REQ C key=0005 raw=1081000505FF010130016E0180013001B000 d=SetGet 0x013001 set EPC "
	  "0x80 get EPC 0xB0",
	  "RESP S key=0005 raw=1081000501300105FF015E0180013001B000 NUM 94 text=0x5E d=set EPC "
	  "0x80 and get EPC 0xB0 of 0x013001 not possible",
	  "RESP S key=0006 raw=1081000601300105FF015E01800002B000B30114 NUM 94 text=0x5E d=get "
	  "EPC 0xB0 of 0x013001 not possible",
	  "RESP S key=0007 raw=1081000701300105FF017E01800001B00142 OK text=0x7E", NULL}},
	{"INF_REQ answered by INF, which is also a reading of the stream SEOJ+EPC",
	 {{GW_CLIENT, HDR_REQ("0008") "63 01 80 00"},
	  {GW_SERVER, HDR_RES("0008") "73 01 80 01 30"},
	  {0, NULL}},
	 {"REQ C key=0008 raw=1081000805FF01013001630180 00 d=INF_REQ 0x013001 EPC 0x80",
	  "RESP S key=0008 raw=1081000801300105FF0173018001 30 OK text=0x73",
	  "PER S key=01300180 raw=1081000801300105FF017301800130", NULL}},
	{"a sensor's own INF, sent first (so from the client side) to the multicast group",
	 {{GW_CLIENT, "1081 0000 001101 0EF001 73 01 E0 02 00FA"},
	  {GW_CLIENT, "1081 0000 001101 0EF001 73 00"},
	  {0, NULL}},
	 {"RESP C key=0000 raw=10810000001101 0EF0017301E00200FA OK text=0x73",
	  "PER C key=001101E0 raw=108100000011010EF0017301E00200FA",
	  "RESP C key=0000 raw=108100000011010EF0017300 OK text=0x73",
	  "PER C key=001101 raw=108100000011010EF0017300", NULL}},
	{"INFC is a request answered by INFC_Res, whoever sends it",
	 {{GW_SERVER, "1081 0009 001101 05FF01 74 01 E0 02 00FA"},
	  {GW_CLIENT, "1081 0009 05FF01 001101 7A 01 E0 00"},
	  {0, NULL}},
	 {"REQ S key=0009 raw=10810009001101 05FF017401E00200FA d=INFC 0x05FF01 EPC 0xE0",
	  "RESP C key=0009 raw=1081000905FF010011017A01E000 OK text=0x7A", NULL}},
	{"INF_SNA, a reserved SNA, an SNA marking nothing, and a Get of no property",
	 {{GW_SERVER, HDR_RES("000A") "53 01 F0 00"},
	  {GW_SERVER, HDR_RES("000B") "5A 00"},
	  {GW_SERVER, HDR_RES("000C") "52 01 80 01 30"},
	  {GW_CLIENT, HDR_REQ("000D") "62 00"},
	  {0, NULL}},
	 {"RESP S key=000A raw=1081000A01300105FF015301F000 NUM 83 text=0x53 d=EPC 0xF0 of "
	  "0x013001 not possible",
	  "RESP S key=000B raw=1081000B01300105FF015A00 NUM 90 text=0x5A d=ESV 0x5A (a reserved "
	  "not-possible response) from 0x013001",
	  "RESP S key=000C raw=1081000C01300105FF015201800130 NUM 82 text=0x52 d=Get_SNA from "
	  "0x013001 marks no property not possible",
	  "REQ C key=000D raw=1081000D05FF010130016200 d=Get 0x013001", NULL}},
	{"arbitrary message format (EHD2 0x82) is skipped, but not without its TID",
	 {{GW_CLIENT, "1082 0001 DEADBEEF"}, {GW_CLIENT, "1082 0002"}, {GW_CLIENT, "1082"},
	  {0, NULL}},
	 {ERR("1082", "2-byte frame, shorter than the 4-byte header"), NULL}},
	{"malformed frames, each reported, the flow goes on",
	 {{GW_CLIENT, "10"},
	  {GW_CLIENT, "8081 0001 05FF01 013001 62 01 80 00"},
	  {GW_CLIENT, "1083 0001"},
	  {GW_CLIENT, "1081 0001 05FF01 0130"},
	  {GW_CLIENT, HDR_REQ("0001") "62"},
	  {GW_CLIENT, HDR_REQ("0001") "64 01 80 00"},
	  {GW_CLIENT, HDR_REQ("0001") "62 02 80 00"},
	  {GW_SERVER, HDR_RES("0001") "72 01 80 02 30"},
	  {GW_CLIENT, HDR_REQ("0001") "6E 01 80 01 30"},
	  {GW_CLIENT, HDR_REQ("0001") "62 01 80 00 FF"},
	  {GW_CLIENT, HDR_REQ("0001") "62 01 80 00"},
	  {0, NULL}},
	 {ERR("10", "1-byte frame, shorter than the 4-byte header"),
	  ERR("8081000105FF0101300162018000", "EHD1 0x80, not 0x10 (ECHONET Lite)"),
	  ERR("10830001", "EHD2 0x83, neither 0x81 nor 0x82"),
	  ERR("1081000105FF010130", "9-byte frame, shorter than the 12-byte header"),
	  ERR("1081000105FF0101300162", "11-byte frame, shorter than the 12-byte header"),
	  ERR("1081000105FF0101300164018000", "unknown ESV 0x64"),
	  ERR("1081000105FF0101300162028000", "OPC 2 but the frame ends after 1 properties"),
	  "ERR S key= raw=1081000101300105FF0172018002 30 STD 30 d=property 1 of OPC 1 (EPC "
	  "0x80) has PDC 2, past the end of the frame",
	  ERR("1081000105FF010130016E01800130", "frame ends before its OPCGet"),
	  ERR("1081000105FF0101300162018000FF", "1 byte(s) after the last property"),
	  "REQ C key=0001 raw=1081000105FF0101300162018000 d=Get 0x013001 EPC 0x80", NULL}},
};

/* Expected lines may carry spaces inside raw hex for reading: squeeze them. */
static void squeeze_raw(const char *in, char *out, size_t size)
{
	const char *raw = strstr(in, "raw=");
	size_t at = 0;

	for (const char *s = in; *s && at + 1 < size; s++) {
		/* Inside raw, a space followed by more hex and then a space or the
		 * end is part of the hex. */
		if (raw && s > raw && *s == ' ') {
			const char *t = s + 1;

			while ((*t >= '0' && *t <= '9') || (*t >= 'A' && *t <= 'F'))
				t++;
			if (t > s + 1 && (*t == ' ' || *t == '\0'))
				continue;
			raw = NULL;
		}
		out[at++] = *s;
	}
	out[at] = '\0';
}

static void test_frames(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct rec r;
		char want[12][1024];
		const char *wp[13];
		size_t k;

		for (k = 0; cases[i].want[k]; k++) {
			squeeze_raw(cases[i].want[k], want[k], sizeof want[k]);
			wp[k] = want[k];
		}
		wp[k] = NULL;
		run(cases[i].in, &r);
		rec_expect(&r, cases[i].name, wp);
	}
}

/* Every proper prefix of a valid frame is one error, never a read past it. */
static void test_truncations(void **state)
{
	static const char *const frames[] = {
		HDR_REQ("0001") "62 02 80 00 F0 00",
		HDR_RES("0003") "51 02 80 00 B0 01 45",
		HDR_REQ("0005") "6E 01 80 01 30 01 B0 00",
		"1081 0000 001101 0EF001 73 01 E0 02 00FA",
	};
	uint8_t bytes[64];
	struct gw_sink sink;
	struct rec r;
	void *st = calloc(1, gw_decoder_echonet.state_size);

	(void)state;
	assert_non_null(st);
	for (size_t i = 0; i < NELEM(frames); i++) {
		size_t n = unhex(frames[i], bytes, sizeof bytes);

		for (size_t k = 0; k < n; k++) {
			sink_init(&sink, &r);
			send_dgram(st, GW_CLIENT, bytes, k, &sink);
			if (r.n != 1 || strncmp(r.line[0], "ERR C key= raw=", 15) != 0)
				fail_msg("%s cut to %zu bytes: %zu reports, first %s", frames[i], k, r.n,
					 r.n ? r.line[0] : "-");
		}
		sink_init(&sink, &r);
		send_dgram(st, GW_CLIENT, bytes, n, &sink);
		assert_true(r.n >= 1 && strncmp(r.line[0], "ERR", 3) != 0);
	}
	free(st);
}

/* A not-possible response with more properties than a detail names. */
static void test_many_properties(void **state)
{
	uint8_t f[14 + 2 * 20];
	struct gw_sink sink;
	struct rec r;
	void *st = calloc(1, gw_decoder_echonet.state_size);
	const char *d;

	(void)state;
	assert_non_null(st);
	memcpy(f, "\x10\x81\x00\x0E\x01\x30\x01\x05\xFF\x01\x52\x14", 12);
	for (unsigned i = 0; i < 20; i++) {
		f[12 + 2 * i] = (uint8_t)(0x80 + i);
		f[13 + 2 * i] = 0;
	}
	sink_init(&sink, &r);
	send_dgram(st, GW_SERVER, f, 12 + 2 * 20, &sink);
	assert_int_equal(r.n, 1);
	d = strstr(r.line[0], " d=");
	assert_non_null(d);
	assert_string_equal(d, " d=EPC 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, "
			       "0x8A, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F (4 more unread) of 0x013001 not "
			       "possible");
	free(st);
}

/* Each ESV the tests report maps as data/errmap/echonet.map says. */
static void test_errmap(void **state)
{
	static const struct {
		uint64_t esv;
		uint8_t std;
	} want[] = {{0x50, 0x31}, {0x51, 0x31}, {0x52, 0x31}, {0x53, 0x31},
		    {0x5E, 0x31}, {0x5A, 0x3F}, {0x72, 0x00}};
	struct mm_errmap *map = NULL;
	struct mm_errmap_err err;
	struct mm_errmap_result res;

	(void)state;
	assert_int_equal(
		mm_errmap_load_file(&map, MAMORI_SRCDIR "/data/errmap/echonet.map", &err), 0);
	for (size_t i = 0; i < NELEM(want); i++) {
		assert_int_equal(mm_errmap_lookup_num(map, "ECHONET Lite", NULL, want[i].esv, &res),
				 0);
		if (res.code != want[i].std)
			fail_msg("ESV 0x%02llX maps to %02X, want %02X",
				 (unsigned long long)want[i].esv, res.code, want[i].std);
	}
	mm_errmap_free(map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_many_properties),
		cmocka_unit_test(test_errmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
