/*
 * Unit tests of the CoAP decoder (gateway/sensor/coap.c): requests,
 * piggybacked and separate responses, resets, pings, Observe
 * notifications and every message format error of RFC 7252 sections 3 and
 * 4 are reported exactly (side, key, raw bytes, status, detail); every
 * truncation of a real datagram is either a shorter valid message or an
 * error, never a read past its end; data/errmap/coap.map maps each code
 * the tests produce.
 *
 * The datagrams marked "captured" were sent by libcoap3-bin 4.3.1
 * (coap-client-notls to coap-server-notls, on the loopback interface of a
 * network namespace) and captured with tcpdump; the others are written
 * out from RFC 7252.
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

static const struct gw_suite suite = {&gw_decoder_coap, "CoAP", 0, 0, 0};

/* ---- the cases ---- */

/* Captured: GET /nothere (CON, mid 0x699D, token 01) and its piggybacked
 * 4.04 Not Found. */
#define GET_NOTHERE "4101699d01b76e6f7468657265"
#define NOTFOUND "6184699d01ff4e6f7420466f756e64"
/* Captured: DELETE / answered 4.05 Method Not Allowed. */
#define DELETE_ROOT "41042d9301"
#define NOTALLOWED "61852d9301ff4d6574686f64204e6f7420416c6c6f776564"
/* Captured: GET /time answered 2.05 Content (Max-Age 1). */
#define GET_TIME "410149a501b474696d65"
#define CONTENT "614549a501d10101ff4e6f762032322030383a33303a3138"
/* Captured: coap-client -N: a NON GET /nothere and a NON 4.04. */
#define NON_GET "5101ef9e01b76e6f7468657265"
#define NON_NOTFOUND "5184ef9e01ff4e6f7420466f756e64"

#define OPTIONAL " t=4294967295"
#define ERR(raw, d) "ERR C key= raw=" raw " STD 30 d=" d

static const struct gw_line_case cases[] = {
	{"captured: GET of an unknown resource, 4.04 piggybacked",
	 {{GW_CLIENT, GET_NOTHERE}, {GW_SERVER, NOTFOUND}, {0, NULL}},
	 {"REQ C key=01 raw=4101699D01B76E6F7468657265 d=GET /nothere",
	  "RESP S key=01 raw=6184699D01FF4E6F7420466F756E64 NUM 404 text=4.04", NULL}},
	{"captured: DELETE refused, 4.05",
	 {{GW_CLIENT, DELETE_ROOT}, {GW_SERVER, NOTALLOWED}, {0, NULL}},
	 {"REQ C key=01 raw=41042D9301 d=DELETE /",
	  "RESP S key=01 raw=61852D9301FF4D6574686F64204E6F7420416C6C6F776564 NUM 405 text=4.05",
	  NULL}},
	{"captured: GET answered 2.05",
	 {{GW_CLIENT, GET_TIME}, {GW_SERVER, CONTENT}, {0, NULL}},
	 {"REQ C key=01 raw=410149A501B474696D65 d=GET /time",
	  "RESP S key=01 raw=614549A501D10101FF4E6F762032322030383A33303A3138 OK text=2.05", NULL}},
	{"captured: NON request may go unanswered; NON response by token",
	 {{GW_CLIENT, NON_GET}, {GW_SERVER, NON_NOTFOUND}, {0, NULL}},
	 {"REQ C key=01 raw=5101EF9E01B76E6F7468657265" OPTIONAL " d=GET /nothere",
	  "RESP S key=01 raw=5184EF9E01FF4E6F7420466F756E64 NUM 404 text=4.04", NULL}},
	{"captured: Observe registration, three notifications, deregistration",
	 {{GW_CLIENT, "4101cff201605474696d65"},
	  {GW_SERVER, "6145cff20161028101ff4e6f762032322030383a33303a3138"},
	  {GW_SERVER, "414521fd0161038101ff4e6f762032322030383a33303a3139"},
	  {GW_CLIENT, "600021fd"},
	  {GW_SERVER, "414521fe0161048101ff4e6f762032322030383a33303a3230"},
	  {GW_CLIENT, "600021fe"},
	  {GW_SERVER, "414521ff0161058101ff4e6f762032322030383a33303a3231"},
	  {GW_CLIENT, "600021ff"},
	  {GW_CLIENT, "4101cff30161015474696d65"},
	  {GW_SERVER, "6145cff301d10101ff4e6f762032322030383a33303a3231"},
	  {0, NULL}},
	 {"REQ C key=01 raw=4101CFF201605474696D65 d=GET /time",
	  "PER S key=01 raw=6145CFF20161028101FF4E6F762032322030383A33303A3138",
	  "RESP S key=01 raw=6145CFF20161028101FF4E6F762032322030383A33303A3138 OK text=2.05",
	  "PER S key=01 raw=414521FD0161038101FF4E6F762032322030383A33303A3139",
	  "PER S key=01 raw=414521FE0161048101FF4E6F762032322030383A33303A3230",
	  "PER S key=01 raw=414521FF0161058101FF4E6F762032322030383A33303A3231",
	  "REQ C key=01 raw=4101CFF30161015474696D65 d=GET /time",
	  "RESP S key=01 raw=6145CFF301D10101FF4E6F762032322030383A33303A3231 OK text=2.05", NULL}},
	{"retransmitted request and ACK are reported once",
	 {{GW_CLIENT, GET_NOTHERE}, {GW_CLIENT, GET_NOTHERE}, {GW_SERVER, NOTFOUND},
	  {GW_CLIENT, GET_NOTHERE}, {GW_SERVER, NOTFOUND}, {0, NULL}},
	 {"REQ C key=01 raw=4101699D01B76E6F7468657265 d=GET /nothere",
	  "RESP S key=01 raw=6184699D01FF4E6F7420466F756E64 NUM 404 text=4.04", NULL}},
	{"a reset of a request is its refusal",
	 {{GW_CLIENT, "4102 1234 AA B1 78"}, {GW_SERVER, "7000 1234"}, {GW_SERVER, "7000 1234"},
	  {0, NULL}},
	 {"REQ C key=AA raw=41021234AAB178 d=POST /x",
	  "RESP S key=AA raw=70001234 STD 30 text=RST d=Reset", NULL}},
	{"empty ACK, then a separate CON response (retransmitted once), ACKed",
	 {{GW_CLIENT, "4103 1235 AA"},
	  {GW_SERVER, "6000 1235"},
	  {GW_SERVER, "4184 7777 AA"},
	  {GW_SERVER, "4184 7777 AA"},
	  {GW_CLIENT, "6000 7777"},
	  {0, NULL}},
	 {"REQ C key=AA raw=41031235AA d=PUT /",
	  "RESP S key=AA raw=41847777AA NUM 404 text=4.04", NULL}},
	{"piggybacked response to a message id never seen",
	 {{GW_SERVER, "6145 9999 BB"}, {0, NULL}},
	 {"RESP S key=BB raw=61459999BB OK text=2.05 d=piggybacked response to message id "
	  "0x9999, which matches no request seen; paired by token",
	  NULL}},
	{"piggybacked response with another token than its request's",
	 {{GW_CLIENT, "4101 0101 11"}, {GW_SERVER, "61A0 0101 22"}, {0, NULL}},
	 {"REQ C key=11 raw=4101010111 d=GET /",
	  "RESP S key=11 raw=61A0010122 NUM 500 text=5.00 d=piggybacked response to message id "
	  "0x0101 carries a token other than its request's",
	  NULL}},
	{"ping (empty CON) and its reset are nothing",
	 {{GW_CLIENT, "4000 0202"}, {GW_SERVER, "7000 0202"}, {0, NULL}},
	 {NULL}},
	{"unknown method, empty token, request from the server side",
	 {{GW_CLIENT, "4008 0303"}, {GW_CLIENT, "6045 0404"}, {GW_SERVER, "4002 0404"},
	  {GW_CLIENT, "6044 0404"}, {0, NULL}},
	 {"REQ C key= raw=40080303 d=method 0.08 /",
	  "RESP C key= raw=60450404 OK text=2.05 d=piggybacked response to message id 0x0404, "
	  "which matches no request seen; paired by token",
	  "REQ S key= raw=40020404 d=POST /", "RESP C key= raw=60440404 OK text=2.04", NULL}},
	{"extended option deltas and lengths: a 15-byte path, No-Response, option 527",
	 {{GW_CLIENT, "5101 0505 CC BD02 6162636465666768696A6B6C6D6E6F D1EA1A E00000"},
	  {0, NULL}},
	 {"REQ C key=CC raw=51010505CCBD026162636465666768696A6B6C6D6E6FD1EA1AE00000" OPTIONAL
	  " d=GET /abcdefghijklmno",
	  NULL}},
	{"a path with bytes that are not printable",
	 {{GW_CLIENT, "5001 0506 B3 610A62"}, {0, NULL}},
	 {"REQ C key= raw=50010506B3610A62" OPTIONAL " d=GET /a?b", NULL}},
	{"message format errors, each ignored, the flow goes on",
	 {{GW_CLIENT, "40"},
	  {GW_CLIENT, "8101 0001"},
	  {GW_CLIENT, "4901 0001 0102030405060708 09"},
	  {GW_CLIENT, "4000 0001 FF"},
	  {GW_CLIENT, "4161 0001 01"},
	  {GW_CLIENT, "41E1 0001 01"},
	  {GW_CLIENT, "7045 0001"},
	  {GW_CLIENT, "6101 0001 01"},
	  {GW_CLIENT, "5000 0001"},
	  {GW_CLIENT, "4801 0001 0102"},
	  {GW_CLIENT, GET_TIME},
	  {0, NULL}},
	 {ERR("40", "1-byte datagram, shorter than the 4-byte header"),
	  ERR("81010001", "version 2, not 1"),
	  ERR("49010001010203040506070809", "token length 9 (9 to 15 are reserved)"),
	  ERR("40000001FF", "empty message (0.00) with 1 byte(s) after the message id"),
	  ERR("4161000101", "code 3.01 in a reserved class"),
	  ERR("41E1000101", "code 7.01 in a reserved class"),
	  ERR("70450001", "reset carrying code 2.05 (a reset is empty)"),
	  ERR("6101000101", "acknowledgement carrying request 0.01"),
	  ERR("50000001", "empty non-confirmable message"),
	  ERR("480100010102", "token of 8 bytes runs past the datagram"),
	  "REQ C key=01 raw=410149A501B474696D65 d=GET /time", NULL}},
	{"option format errors",
	 {{GW_CLIENT, "4101 0001 01 FF"},
	  {GW_CLIENT, "4101 0001 01 F0"},
	  {GW_CLIENT, "4101 0001 01 B1 61 0F"},
	  {GW_CLIENT, "4101 0001 01 D1"},
	  {GW_CLIENT, "4101 0001 01 E1 00"},
	  {GW_CLIENT, "4101 0001 01 B5 6162"},
	  {GW_CLIENT, "4101 0001 01 E0FFFF"},
	  {GW_SERVER, "6184 0001 01 FF"},
	  {0, NULL}},
	 {ERR("4101000101FF", "payload marker with no payload"),
	  ERR("4101000101F0", "option delta 15 (reserved) after option 0"),
	  ERR("4101000101B1610F", "option length 15 (reserved) after option 11"),
	  ERR("4101000101D1", "option header extension runs past the datagram"),
	  ERR("4101000101E100", "option header extension runs past the datagram"),
	  ERR("4101000101B56162", "option 11 value of 5 bytes runs past the datagram"),
	  ERR("4101000101E0FFFF", "option number 65804 over 65535"),
	  "ERR S key= raw=6184000101FF STD 30 d=payload marker with no payload", NULL}},
};

static void test_datagrams(void **state)
{
	(void)state;
	gw_check_line_cases(&suite, cases, NELEM(cases), GW_WHOLE_CUT);
}

/*
 * Every proper prefix of a real datagram, to a fresh flow: it is either a
 * shorter message that is still valid (cut at an option boundary) or a
 * format error; one report either way (two for a notification: the first
 * of its stream is also a response), and never a read past the prefix.
 */
static void test_truncations(void **state)
{
	static const struct {
		enum gw_side from;
		const char *hex;
	} msgs[] = {
		{GW_CLIENT, GET_NOTHERE}, {GW_SERVER, NOTFOUND}, {GW_CLIENT, DELETE_ROOT},
		{GW_SERVER, NOTALLOWED},  {GW_CLIENT, GET_TIME}, {GW_SERVER, CONTENT},
		{GW_CLIENT, NON_GET},     {GW_SERVER, NON_NOTFOUND},
		{GW_SERVER, "414521fd0161038101ff4e6f762032322030383a33303a3139"},
	};
	uint8_t bytes[128];

	(void)state;
	for (size_t i = 0; i < NELEM(msgs); i++) {
		size_t n = gw_unhex(msgs[i].hex, bytes, sizeof bytes);

		for (size_t k = 0; k < n; k++) {
			struct gw_feeder *f = gw_feeder_new(&suite);

			gw_feed(f, msgs[i].from, bytes, k);
			if (!(f->n == 1 || (f->n == 2 && f->r[0].kind == 'p')))
				fail_msg("%s cut to %zu bytes: %d reports", msgs[i].hex, k, f->n);
			/* Cut inside the header or the token it is always an error. */
			if (k < 5 && f->r[0].kind != 'e')
				fail_msg("%s cut to %zu bytes: %s", msgs[i].hex, k, gw_line(f, 0));
			gw_feeder_free(f);
		}
	}
}

/* An observation table full of tokens forgets the oldest: its next
 * notification is a response again (and starts a stream anew). */
static void test_observe_bound(void **state)
{
	static const char *const want[] = {"PER S key=01 raw=51450021016102",
					   "RESP S key=01 raw=51450021016102 OK text=2.05",
					   "PER S key=09 raw=51450022096102", NULL};
	struct gw_feeder *f = gw_feeder_new(&suite);
	uint8_t notif[] = {0x51, 0x45, 0x00, 0x00, 0x00, 0x61, 0x02};

	(void)state;
	/* Nine tokens each get a first notification: a PER and a RESP each. */
	for (uint8_t t = 1; t <= 9; t++) {
		notif[3] = t;
		notif[4] = t;
		gw_feed(f, GW_SERVER, notif, sizeof notif);
	}
	assert_int_equal(f->n, 18);
	/* Token 1 was dropped to make room for token 9; token 9 is still known. */
	gw_feeder_clear(f);
	notif[3] = 0x21;
	notif[4] = 1;
	gw_feed(f, GW_SERVER, notif, sizeof notif);
	notif[3] = 0x22;
	notif[4] = 9;
	gw_feed(f, GW_SERVER, notif, sizeof notif);
	gw_expect_lines(f, "observe bound", want, NELEM(want));
	gw_feeder_free(f);
}

/* The ring remembers the last 16 CON requests: the ACK of an older one is
 * still reported, paired by token, with a detail saying the message id was
 * not matched. */
static void test_ring_bound(void **state)
{
	static const char *const want[] = {
		"RESP S key=01 raw=6145000101 OK text=2.05 d=piggybacked response to message id "
		"0x0001, which matches no request seen; paired by token",
		"RESP S key=02 raw=6145000202 OK text=2.05", NULL};
	struct gw_feeder *f = gw_feeder_new(&suite);
	uint8_t req[] = {0x41, 0x01, 0x00, 0x00, 0x00};
	uint8_t ack[] = {0x61, 0x45, 0x00, 0x00, 0x00};

	(void)state;
	for (uint8_t i = 1; i <= 17; i++) {
		req[3] = req[4] = i;
		gw_feed(f, GW_CLIENT, req, sizeof req);
	}
	assert_int_equal(f->n, 17);
	gw_feeder_clear(f);
	for (uint8_t i = 1; i <= 2; i++) {
		ack[3] = ack[4] = i;
		gw_feed(f, GW_SERVER, ack, sizeof ack);
	}
	gw_expect_lines(f, "ring bound", want, NELEM(want));
	gw_feeder_free(f);
}

/* Each code the tests report maps as data/errmap/coap.map says. */
static void test_errmap(void **state)
{
	static const struct gw_code want[] = {
		{404, 0x31}, {405, 0x30}, {500, 0x41}, {205, 0x00}, {204, 0x00},
	};

	(void)state;
	gw_check_map("coap.map", "CoAP", want, NELEM(want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_datagrams),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_observe_bound),
		cmocka_unit_test(test_ring_bound),
		cmocka_unit_test(test_errmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
