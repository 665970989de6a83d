/*
 * Unit tests of the Modbus/TCP decoder (gateway/sensor/modbus.c): every
 * request, response, exception and malformed ADU is reported exactly
 * (side, key, raw bytes, status, detail); every truncation of a valid ADU
 * waits for more; a stream fed whole, in one call for several ADUs, or byte
 * by byte gives the same reports; a gap is survived only at a boundary; and
 * data/errmap/modbus.map maps each exception code the tests produce.
 *
 * The ADUs are written out from MODBUS Application Protocol V1.1b3 (the
 * read holding registers example of section 6.3, the exception example of
 * section 7) inside the MBAP header of the Messaging on TCP/IP
 * Implementation Guide V1.0b, section 3.1.3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_decoder_check.h"

/* An ADU is at most 260 bytes, and the decoder never skips unseen bytes. */
static const struct gw_suite suite = {&gw_decoder_modbus, "Modbus/TCP", 0, 260, 1};

/* ---- the cases ---- */

/* Read holding registers 108..110 of unit 1 (V1.1b3 section 6.3). */
#define REQ_03 "0001 0000 0006 01 03 006B 0003"
#define REQ_03_RAW "0001000000060103006B0003"
#define RESP_03 "0001 0000 0009 01 03 06 022B 0000 0064"
#define RESP_03_RAW "000100000009010306022B00000064"
/* Read input register 9 (V1.1b3 section 6.4's example) of unit 0x11,
 * answered with exception 0x02, illegal data address (section 7). */
#define REQ_04 "0002 0000 0006 11 04 0008 0001"
#define REQ_04_RAW "000200000006110400080001"
#define EXC_04 "0002 0000 0003 11 84 02"
#define EXC_04_RAW "000200000003118402"
#define EXC_04_LINE                                                                         \
	"RESP S key=000211 raw=" EXC_04_RAW " NUM 2 text=0x02 d=exception 0x02 (illegal data " \
	"address) to function 0x04 read input registers"

static const struct gw_line_case cases[] = {
	{"read holding registers, answered",
	 {{GW_CLIENT, REQ_03}, {GW_SERVER, RESP_03}, {0, NULL}},
	 {"REQ C key=000101 raw=" REQ_03_RAW, "RESP S key=000101 raw=" RESP_03_RAW " OK", NULL}},
	{"illegal data address",
	 {{GW_CLIENT, REQ_04}, {GW_SERVER, EXC_04}, {0, NULL}},
	 {"REQ C key=000211 raw=" REQ_04_RAW, EXC_04_LINE, NULL}},
	{"function 0x41 has no name; illegal function",
	 {{GW_CLIENT, "1234 0000 0002 FF 41"}, {GW_SERVER, "1234 0000 0003 FF C1 01"}, {0, NULL}},
	 {"REQ C key=1234FF raw=123400000002FF41",
	  "RESP S key=1234FF raw=123400000003FFC101 NUM 1 text=0x01 d=exception 0x01 (illegal "
	  "function) to function 0x41",
	  NULL}},
	{"gateway target failed; an exception code with no name",
	 {{GW_CLIENT, "0007 0000 0006 05 06 0001 0003"},
	  {GW_SERVER, "0007 0000 0003 05 86 0B"},
	  {GW_SERVER, "0008 0000 0003 05 86 0C"},
	  {0, NULL}},
	 {"REQ C key=000705 raw=000700000006050600010003",
	  "RESP S key=000705 raw=00070000000305860B NUM 11 text=0x0B d=exception 0x0B (gateway "
	  "target device failed to respond) to function 0x06 write single register",
	  "RESP S key=000805 raw=00080000000305860C NUM 12 text=0x0C d=exception 0x0C to "
	  "function 0x06 write single register",
	  NULL}},
	{"two requests in one segment, answered out of order in one segment",
	 {{GW_CLIENT, REQ_03 REQ_04}, {GW_SERVER, EXC_04 RESP_03}, {0, NULL}},
	 {"REQ C key=000101 raw=" REQ_03_RAW, "REQ C key=000211 raw=" REQ_04_RAW, EXC_04_LINE,
	  "RESP S key=000101 raw=" RESP_03_RAW " OK", NULL}},
	{"protocol identifier not 0 stops the flow",
	 {{GW_CLIENT, "0001 0001 0006 01 03 006B 0003"}, {GW_CLIENT, REQ_04}, {0, NULL}},
	 {"ERR C key= raw=00010001000601 STD 30 d=protocol identifier 0x0001, not 0",
	  NULL}},
	{"length 1 (no function code)",
	 {{GW_SERVER, "0001 0000 0001 01"}, {GW_SERVER, RESP_03}, {0, NULL}},
	 {"ERR S key= raw=00010000000101 STD 30 d=MBAP length 1 out of 2..254", NULL}},
	{"length 255",
	 {{GW_CLIENT, "0001 0000 00FF 01 03"}, {0, NULL}},
	 {"ERR C key= raw=0001000000FF01 STD 30 d=MBAP length 255 out of 2..254", NULL}},
	{"exception without its code, after a good response in the same segment",
	 {{GW_CLIENT, REQ_03}, {GW_SERVER, RESP_03 "0003 0000 0002 01 83"}, {0, NULL}},
	 {"REQ C key=000101 raw=" REQ_03_RAW, "RESP S key=000101 raw=" RESP_03_RAW " OK",
	  "ERR S key= raw=0003000000020183 STD 30 d=exception response to function 0x03 "
	  "without its exception code",
	  NULL}},
	{"a malformed server does not stop the client's direction's reports before it",
	 {{GW_CLIENT, REQ_03}, {GW_SERVER, "0001 0000 0000 01 03"}, {0, NULL}},
	 {"REQ C key=000101 raw=" REQ_03_RAW,
	  "ERR S key= raw=00010000000001 STD 30 d=MBAP length 0 out of 2..254", NULL}},
};

static void test_streams(void **state)
{
	(void)state;
	gw_check_line_cases(&suite, cases, NELEM(cases), GW_WHOLE_CUT);
}

static void check_cut(const void *ctx, struct gw_feeder *f, const char *how)
{
	const struct gw_line_case *tc = ctx;
	char name[200];

	snprintf(name, sizeof name, "%s (%s)", tc->name, how);
	gw_expect_lines(f, name, tc->want, GW_WANTS);
}

/* The same streams fed one byte at a time, in pieces of 5 bytes, with a
 * side's consecutive segments in one call, and cut in two at every offset
 * of every segment. */
static void test_streams_split(void **state)
{
	(void)state;
	gw_check_line_cases(&suite, cases, NELEM(cases), (struct gw_cut){GW_STEP, 1, 0, 0});
	gw_check_line_cases(&suite, cases, NELEM(cases), (struct gw_cut){GW_STEP, 5, 0, 0});
	for (size_t i = 0; i < NELEM(cases); i++)
		gw_each_cut(&suite, cases[i].in, GW_SEGS, check_cut, &cases[i]);
}

/* Every proper prefix of a valid ADU: data() wants more and reports nothing. */
static void test_truncations(void **state)
{
	static const char *const adus[] = {REQ_03, RESP_03, REQ_04, EXC_04};
	uint8_t bytes[64];
	struct gw_feeder *f = gw_feeder_new(&suite);

	(void)state;
	for (size_t i = 0; i < NELEM(adus); i++) {
		size_t n = gw_unhex(adus[i], bytes, sizeof bytes);

		for (size_t k = 0; k < n; k++) {
			assert_int_equal(gw_data(f, GW_SERVER, bytes, k), 0);
			assert_int_equal(gw_data(f, GW_CLIENT, bytes, k), 0);
		}
		/* Whole, it is consumed. */
		assert_int_equal(gw_data(f, GW_CLIENT, bytes, n), (long)n);
	}
	assert_int_equal(f->n, NELEM(adus));
	gw_feeder_free(f);
}

/* The longest ADU (length 254, 260 bytes) is one message; 255 is refused. */
static void test_longest(void **state)
{
	uint8_t adu[261];
	struct gw_feeder *f = gw_feeder_new(&suite);

	(void)state;
	memset(adu, 0xAB, sizeof adu);
	memcpy(adu, "\x00\x09\x00\x00\x00\xFE\x01\x10", 8);
	assert_int_equal(gw_data(f, GW_CLIENT, adu, 259), 0);
	assert_int_equal(gw_data(f, GW_CLIENT, adu, 261), 260);
	assert_int_equal(f->n, 1);
	assert_true(strncmp(gw_line(f, 0), "REQ C key=000901 raw=0009000000FE0110ABAB", 40) == 0);
	assert_int_equal(strlen(strstr(gw_line(f, 0), "raw=")), 4 + 2 * 260);
	adu[5] = 0xFF;
	assert_int_equal(gw_data(f, GW_CLIENT, adu, 261), GW_STOP);
	assert_int_equal(f->n, 2);
	assert_string_equal(strstr(gw_line(f, 1), " STD"), " STD 30 d=MBAP length 255 out of 2..254");
	/* The error's raw is the MBAP header that is wrong. */
	assert_true(strncmp(gw_line(f, 1), "ERR C key= raw=0009000000FF01 STD", 33) == 0);
	gw_feeder_free(f);
}

/*
 * After a gap the next bytes are tried as a header: a plausible one goes
 * on, an implausible one stops the flow without an error report (the lost
 * bytes are the capture's fault, not the peer's).
 */
static void test_gap(void **state)
{
	uint8_t bytes[64];
	size_t n;
	struct gw_feeder *f = gw_feeder_new(&suite);

	(void)state;
	assert_int_equal(gw_decoder_modbus.gap(f->state, GW_CLIENT), 0);
	n = gw_unhex(REQ_03, bytes, sizeof bytes);
	assert_int_equal(gw_data(f, GW_CLIENT, bytes, n), (long)n);
	assert_int_equal(f->n, 1);
	/* Resynchronised: a bad header now is the peer's and is reported. */
	n = gw_unhex("0001 0007 0006 01 03 006B 0003", bytes, sizeof bytes);
	assert_int_equal(gw_data(f, GW_CLIENT, bytes, n), GW_STOP);
	assert_int_equal(f->n, 2);
	gw_feeder_free(f);

	f = gw_feeder_new(&suite);
	assert_int_equal(gw_decoder_modbus.gap(f->state, GW_SERVER), 0);
	/* The tail of a read response: 0x6400 is no MBAP length. */
	n = gw_unhex("2B 0000 0064 0000 0001 00", bytes, sizeof bytes);
	assert_int_equal(gw_data(f, GW_SERVER, bytes, n), GW_STOP);
	assert_int_equal(f->n, 0);
	gw_feeder_free(f);
}

/* Each exception code the tests report maps as data/errmap/modbus.map says. */
static void test_errmap(void **state)
{
	static const struct gw_code want[] = {
		{0x01, 0x30}, {0x02, 0x31}, {0x0B, 0x10}, {0x0C, 0x3F},
	};

	(void)state;
	gw_check_map("modbus.map", "Modbus/TCP", want, NELEM(want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streams),     cmocka_unit_test(test_streams_split),
		cmocka_unit_test(test_truncations), cmocka_unit_test(test_longest),
		cmocka_unit_test(test_gap),         cmocka_unit_test(test_errmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
