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

#include "gw_decoder_check.h"

static const struct gw_suite suite = {&gw_decoder_echonet, "ECHONET Lite", 0, 0, 0};

/* ---- the cases ---- */

#define HDR_REQ(tid) "1081" tid "05FF01 013001"
#define HDR_RES(tid) "1081" tid "013001 05FF01"
#define OPTIONAL " t=4294967295"
#define ERR(raw, d) "ERR C key= raw=" raw " STD 30 d=" d

static const struct gw_line_case cases[] = {
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
	 {"REQ C key=0008 raw=1081000805FF01013001630180 00" OPTIONAL " d=INF_REQ 0x013001 EPC 0x80",
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

/* Expected lines may carry spaces inside raw hex for reading; the check
 * drops them. */
static void test_frames(void **state)
{
	(void)state;
	gw_check_line_cases(&suite, cases, NELEM(cases), GW_WHOLE_CUT);
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
	struct gw_feeder *f = gw_feeder_new(&suite);

	(void)state;
	for (size_t i = 0; i < NELEM(frames); i++) {
		size_t n = gw_unhex(frames[i], bytes, sizeof bytes);

		for (size_t k = 0; k < n; k++) {
			gw_feeder_clear(f);
			gw_feed(f, GW_CLIENT, bytes, k);
			if (f->n != 1 || strncmp(gw_line(f, 0), "ERR C key= raw=", 15) != 0)
				fail_msg("%s cut to %zu bytes: %d reports, first %s", frames[i], k, f->n,
					 f->n ? gw_line(f, 0) : "-");
		}
		gw_feeder_clear(f);
		gw_feed(f, GW_CLIENT, bytes, n);
		assert_true(f->n >= 1 && f->r[0].kind != 'e');
	}
	gw_feeder_free(f);
}

/* A not-possible response with more properties than a detail names. */
static void test_many_properties(void **state)
{
	uint8_t fr[14 + 2 * 20];
	struct gw_feeder *f = gw_feeder_new(&suite);
	const char *d;

	(void)state;
	memcpy(fr, "\x10\x81\x00\x0E\x01\x30\x01\x05\xFF\x01\x52\x14", 12);
	for (unsigned i = 0; i < 20; i++) {
		fr[12 + 2 * i] = (uint8_t)(0x80 + i);
		fr[13 + 2 * i] = 0;
	}
	gw_feed(f, GW_SERVER, fr, 12 + 2 * 20);
	assert_int_equal(f->n, 1);
	d = strstr(gw_line(f, 0), " d=");
	assert_non_null(d);
	assert_string_equal(d, " d=EPC 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, "
			       "0x8A, 0x8B, 0x8C, 0x8D, 0x8E, 0x8F (4 more unread) of 0x013001 not "
			       "possible");
	gw_feeder_free(f);
}

/* Each ESV the tests report maps as data/errmap/echonet.map says. */
static void test_errmap(void **state)
{
	static const struct gw_code want[] = {
		{0x50, 0x31}, {0x51, 0x31}, {0x52, 0x31}, {0x53, 0x31},
		{0x5E, 0x31}, {0x5A, 0x3F}, {0x72, 0x00},
	};

	(void)state;
	gw_check_map("echonet.map", "ECHONET Lite", want, NELEM(want));
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
