/*
 * Unit tests of mamori-gw's MQTT decoder (gateway/sensor/mqtt.c): real
 * exchanges captured from mosquitto 2.0.11 and its clients, and packets
 * written from the MQTT 3.1.1 and 5.0 standards, fed the way the flow
 * tracker feeds them (whole, byte by byte, split at every offset), with
 * every report checked field by field; every truncation of a valid packet;
 * malformed packets; a PUBLISH larger than the decoder reads whole; and
 * data/errmap/mqtt.map giving each reported code its standard code.
 *
 * The captured vectors come from mosquitto 2.0.11 on loopback with a
 * password file (user "dev", password "secret") and an ACL allowing
 * "sensors/#", recorded with tcpdump and read with tshark -e tcp.payload:
 *	mosquitto_pub -u dev -P wrong -V mqttv311 / -V mqttv5
 *	mosquitto_pub -u dev -P secret -V mqttv5 -q 1 -t denied/t
 *	mosquitto_pub -u dev -P secret -V mqttv311 -q 2 -t sensors/temp
 *	mosquitto_pub -V mqttv31 (anonymous), -V mqttv31 -u dev -P secret -q 1
 *	mosquitto_sub -V mqttv311 / mqttv5 -t sensors/a -t denied/b, -k 5
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

#define C GW_CLIENT
#define S GW_SERVER

/* Reports name their version, "MQTT 3.1.1" or "MQTT 5": each want says which. */
static const struct gw_suite suite = {&gw_decoder_mqtt, NULL, 0, 0, 0};

/* ---- cases ---- */

/* Expected reports. key: hex, or 'text for a literal key. raw: the index
 * of the segment that is the raw bytes; BADHEX gives them in hex. */
#define M3 "MQTT 3.1.1"
#define M5 "MQTT 5"
#define REQ(p, from, key, raw, detail) {'q', p, from, key, raw, NULL, 0, 0, 0, NULL, detail, 0}
#define OK(p, from, key, raw, detail) {'r', p, from, key, raw, NULL, 0, 0, 0, NULL, detail, 0}
#define FAIL(p, from, key, raw, num, text, std, detail)                                     \
	{'r', p, from, key, raw, NULL, MM_REPORTER_ERR_NUM, num, std, text, detail, 0}
#define PER(p, key, raw, detail) {'p', p, C, key, raw, NULL, 0, 0, 0, NULL, detail, 0}
#define ERRN(p, from, raw, num, text, std, detail)                                          \
	{'e', p, from, "", raw, NULL, MM_REPORTER_ERR_NUM, num, std, text, detail, 0}
#define BAD(p, from, raw, detail) {'e', p, from, "", raw, NULL, MM_REPORTER_ERR_STD, 0, 0x30, NULL, detail, 0}
#define BADHEX(p, from, hex, detail)                                                         \
	{'e', p, from, "", GW_RAW_LIT, hex, MM_REPORTER_ERR_STD, 0, 0x30, NULL, detail, 0}

/* Captured from mosquitto 2.0.11 (see the top of the file). */
#define CONNECT311_WRONG "101c00044d51545404c2003c0004633331310003646576000577726f6e67"
#define CONNECT5_WRONG "101e00044d51545405c2003c03210014000263350003646576000577726f6e67"
#define CONNECT5_OK "102000044d51545405c2003c03210014000363356200036465760006736563726574"
#define CONNACK5_OK "200900000622000a210014"
#define CONNECT311_OK "101e00044d51545404c2003c0005633331316200036465760006736563726574"
#define CONNACK311_OK "20020000"

static const struct gw_case cases[] = {
	{"3.1.1 wrong password: mosquitto answers 5, read as 4",
	 {{C, CONNECT311_WRONG}, {S, "20020005"}},
	 {REQ(M3, C, "43", 0, NULL),
	  FAIL(M3, S, "43", 1, 4, "0x05", 0x20,
	       "return code 5 (not authorized) to a CONNECT with a password: read as 4 (bad "
	       "user name or password)")},
	 0},
	{"5 wrong password: mosquitto answers 0x87, read as 0x86",
	 {{C, CONNECT5_WRONG}, {S, "2003008700"}},
	 {REQ(M5, C, "43", 0, NULL),
	  FAIL(M5, S, "43", 1, 0x86, "0x87", 0x20,
	       "reason 0x87 (Not authorized) to a CONNECT with a password: read as 0x86 (Bad "
	       "User Name or Password)")},
	 0},
	{"5 QoS 1 publish to a denied topic: PUBACK 0x87",
	 {{C, CONNECT5_OK}, {S, CONNACK5_OK}, {C, "320f000864656e6965642f740001006869"},
	  {S, "4003000187"}, {C, "e000"}},
	 {REQ(M5, C, "43", 0, NULL), OK(M5, S, "43", 1, NULL), REQ(M5, C, "50630001", 2, NULL),
	  PER(M5, "'denied/t", 2, NULL), FAIL(M5, S, "50630001", 3, 0x87, "0x87", 0x23, NULL)},
	 0},
	{"3.1.1 QoS 2 publish: PUBREC, PUBREL, PUBCOMP",
	 {{C, CONNECT311_OK}, {S, CONNACK311_OK},
	  {C, "3414000c73656e736f72732f74656d70000132312e35"}, {S, "50020001"}, {C, "62020001"},
	  {S, "70020001"}, {C, "e000"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL), REQ(M3, C, "50630001", 2, NULL),
	  PER(M3, "'sensors/temp", 2, NULL), OK(M3, S, "50630001", 3, NULL),
	  REQ(M3, C, "52630001", 4, NULL), OK(M3, S, "52630001", 5, NULL)},
	 0},
	{"5 QoS 2 publish",
	 {{C, "101f00044d51545405c2003c032100140002703500036465760006736563726574"},
	  {S, CONNACK5_OK}, {C, "3415000c73656e736f72732f74656d7000010032312e35"},
	  {S, "50020001"}, {C, "62020001"}, {S, "70020001"}, {C, "e000"}},
	 {REQ(M5, C, "43", 0, NULL), OK(M5, S, "43", 1, NULL), REQ(M5, C, "50630001", 2, NULL),
	  PER(M5, "'sensors/temp", 2, NULL), OK(M5, S, "50630001", 3, NULL),
	  REQ(M5, C, "52630001", 4, NULL), OK(M5, S, "52630001", 5, NULL)},
	 0},
	{"3.1 anonymous client refused: 5, not an authentication",
	 {{C, "101100064d51497364700302003c0003633331"}, {S, "20020005"}},
	 {REQ(M3, C, "43", 0, "MQTT 3.1"), FAIL(M3, S, "43", 1, 5, "0x05", 0x23, "MQTT 3.1")},
	 0},
	{"3.1 with a password, QoS 1 publish",
	 {{C, "101f00064d514973647003c2003c00046333316200036465760006736563726574"},
	  {S, "20020000"}, {C, "320f000973656e736f72732f7400016869"}, {S, "40020001"},
	  {C, "e000"}},
	 {REQ(M3, C, "43", 0, "MQTT 3.1"), OK(M3, S, "43", 1, "MQTT 3.1"),
	  REQ(M3, C, "50630001", 2, "MQTT 3.1"), PER(M3, "'sensors/t", 2, "MQTT 3.1"),
	  OK(M3, S, "50630001", 3, "MQTT 3.1")},
	 0},
	{"3.1.1 subscribe, granted; ping",
	 {{C, "101d00044d51545404c2000500046b33313100036465760006736563726574"},
	  {S, "20020000"}, {C, "820e0001000973656e736f72732f7800"}, {S, "9003000100"},
	  {C, "c000"}, {S, "d000"}, {C, "e000"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL), REQ(M3, C, "530001", 2, NULL),
	  OK(M3, S, "530001", 3, NULL), REQ(M3, C, "49", 4, NULL), OK(M3, S, "49", 5, NULL)},
	 0},
	{"5 subscribe two filters, granted",
	 {{C, "101f00044d51545405c2003c032100140002733500036465760006736563726574"},
	  {S, CONNACK5_OK}, {C, "821a000100000973656e736f72732f6102000864656e6965642f6202"},
	  {S, "90050001000202"}, {C, "e00104"}},
	 {REQ(M5, C, "43", 0, NULL), OK(M5, S, "43", 1, NULL), REQ(M5, C, "530001", 2, NULL),
	  OK(M5, S, "530001", 3, NULL)},
	 0},
	/* Written from MQTT 3.1.1 sections 3.8 and 3.9. */
	{"3.1.1 SUBACK refuses the second of three filters",
	 {{C, CONNECT311_OK}, {S, CONNACK311_OK},
	  {C, "8217 000a 0003612f62 01 00087365637265742f23 00 000163 02"},
	  {S, "9005 000a 01 80 02"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL), REQ(M3, C, "53000a", 2, NULL),
	  FAIL(M3, S, "53000a", 3, 0x80, "0x80", 0x3F, "filter 2 of 3 refused")},
	 0},
	/* Written from MQTT 5.0 sections 3.8 to 3.11. */
	{"5 SUBACK 0x87 and UNSUBACK 0x8F",
	 {{C, CONNECT5_OK}, {S, CONNACK5_OK}, {C, "820d 0007 00 0003612f62 01 000178 00"},
	  {S, "9005 0007 00 01 87"}, {C, "a208 0008 00 0003612f62"}, {S, "b004 0008 00 11"},
	  {C, "a206 0009 00 000178"}, {S, "b004 0009 00 8f"}},
	 {REQ(M5, C, "43", 0, NULL), OK(M5, S, "43", 1, NULL), REQ(M5, C, "530007", 2, NULL),
	  FAIL(M5, S, "530007", 3, 0x87, "0x87", 0x23, "filter 2 of 2 refused"),
	  REQ(M5, C, "550008", 4, NULL), OK(M5, S, "550008", 5, NULL),
	  REQ(M5, C, "550009", 6, NULL),
	  FAIL(M5, S, "550009", 7, 0x8F, "0x8F", 0x31, "filter 1 of 1 refused")},
	 0},
	{"3.1.1 UNSUBACK has no codes",
	 {{C, CONNECT311_OK}, {S, CONNACK311_OK}, {C, "a205 0002 000178"}, {S, "b002 0002"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL), REQ(M3, C, "550002", 2, NULL),
	  OK(M3, S, "550002", 3, NULL)},
	 0},
	{"5 DISCONNECT 0x8E from the server, with a reason string",
	 {{C, CONNECT5_OK}, {S, CONNACK5_OK}, {S, "e00f 8e 0d 1f000a74616b656e206f766572"}},
	 {REQ(M5, C, "43", 0, NULL), OK(M5, S, "43", 1, NULL),
	  ERRN(M5, S, 2, 0x8E, "0x8E", 0x11, "reason string \"taken over\"")},
	 0},
	{"5 CONNACK refusal carries its reason string",
	 {{C, CONNECT5_OK}, {S, "2009 00 88 06 1f0003 6f6666"}},
	 {REQ(M5, C, "43", 0, NULL),
	  FAIL(M5, S, "43", 1, 0x88, "0x88", 0x41, "reason string \"off\"")},
	 0},
	{"server PUBLISH QoS 1 answered by the client; not periodic",
	 {{C, CONNECT311_OK}, {S, CONNACK311_OK}, {S, "3207 0001 74 1234 6869"},
	  {C, "4002 1234"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL), REQ(M3, S, "50731234", 2, NULL),
	  OK(M3, C, "50731234", 3, NULL)},
	 0},
	{"no CONNECT: MQTT 3.1.1 assumed, QoS 0 publish is periodic only",
	 {{C, "3005 0001 74 6869"}},
	 {PER(M3, "'t", 0, "no CONNECT seen, MQTT 3.1.1 assumed")},
	 0},
	{"no CONNECT: a DISCONNECT with a reason shows MQTT 5",
	 {{S, "e002 81 00"}},
	 {ERRN(M5, S, 0, 0x81, "0x81", 0x30, "no CONNECT seen, MQTT 5 from the packet's shape")},
	 0},
	{"no CONNECT: a CONNACK of 2 bytes shows MQTT 3.1.1",
	 {{S, "20020004"}, {C, "c000"}},
	 {FAIL(M3, S, "43", 0, 4, "0x04", 0x20, "no CONNECT seen, MQTT 3.1.1 from the packet's shape"),
	  REQ(M3, C, "49", 1, "no CONNECT seen, MQTT 3.1.1 from the packet's shape")},
	 0},
	{"long topic: prefix and hash",
	 {{C, "3024 0022 612f" "6262626262626262626262626262626262626262626262626262626262626262"}},
	 {PER(M3, "612f6262626262626262626262626262626262626262626277bc5baee848eaf9", 0,
	      "no CONNECT seen, MQTT 3.1.1 assumed")},
	 0},
	{"5 publish by topic alias",
	 {{C, CONNECT5_OK}, {S, CONNACK5_OK}, {C, "3007 0000 03 230007 41"}},
	 {REQ(M5, C, "43", 0, NULL), OK(M5, S, "43", 1, NULL), PER(M5, "00410007", 2, NULL)},
	 0},
	/* Malformed. */
	{"reserved type 0", {{C, "0000"}}, {BAD(M3, C, 0, "reserved packet type 0; no CONNECT seen, MQTT 3.1.1 assumed")}, 1},
	{"remaining length over 4 bytes",
	 {{C, "30 ffffffff01 00"}},
	 {BADHEX(M3, C, "30ffffffff", "PUBLISH remaining length over 4 bytes; no CONNECT seen, MQTT 3.1.1 assumed")},
	 1},
	{"HTTP sent to the MQTT port",
	 {{C, "474554202f20485454502f312e310d0a0d0a"}},
	 {BADHEX(M3, C, "474554202f20485454502f312e310d0a0d0a",
		 "PUBACK fixed-header flags 0x7, must be 0x0; no CONNECT seen, MQTT 3.1.1 assumed")},
	 1},
	{"SUBSCRIBE with fixed-header flags 0",
	 {{C, CONNECT311_OK}, {S, CONNACK311_OK}, {C, "8006 0001 000178 00"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL),
	  BAD(M3, C, 2, "SUBSCRIBE fixed-header flags 0x0, must be 0x2")},
	 1},
	{"AUTH in MQTT 3.1.1",
	 {{C, CONNECT311_OK}, {S, CONNACK311_OK}, {C, "f000"}},
	 {REQ(M3, C, "43", 0, NULL), OK(M3, S, "43", 1, NULL),
	  BAD(M3, C, 2, "AUTH (type 15) in MQTT 3.1.1")},
	 1},
	{"topic length runs past the packet",
	 {{C, CONNECT311_OK}, {C, "3005 0009 616263"}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, C, 1, "PUBLISH topic name runs past the packet")},
	 1},
	{"CONNECT protocol level 6",
	 {{C, "100e 00044d515454 06 02 003c 00026162"}},
	 {BAD(M3, C, 0,
	      "CONNECT protocol name \"MQTT\" level 6 is not MQTT 3.1, 3.1.1 or 5; no CONNECT "
	      "seen, MQTT 3.1.1 assumed")},
	 1},
	{"CONNECT protocol name of bytes",
	 {{C, "100e 0004 4d51ff22 04 02 003c 00026162"}},
	 {BAD(M3, C, 0,
	      "CONNECT protocol name \"MQ\\xFF\\x22\" level 4 is not MQTT 3.1, 3.1.1 or 5; no "
	      "CONNECT seen, MQTT 3.1.1 assumed")},
	 1},
	{"PUBLISH QoS 3",
	 {{C, CONNECT311_OK}, {C, "3605 0001 74 0001"}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, C, 1, "PUBLISH QoS 3")},
	 1},
	{"CONNACK sent by the client",
	 {{C, "20020000"}},
	 {BAD(M3, C, 0, "CONNACK sent by the client; no CONNECT seen, MQTT 3.1.1 assumed")},
	 1},
	{"second CONNECT",
	 {{C, CONNECT311_OK}, {C, CONNECT311_OK}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, C, 1, "second CONNECT on the connection")},
	 1},
	{"5 unknown property",
	 {{C, CONNECT5_OK}, {S, "4005 0001 00 01 ff"}},
	 {REQ(M5, C, "43", 0, NULL), BAD(M5, S, 1, "PUBACK unknown property 0xFF")},
	 1},
	{"5 property runs past its section",
	 {{C, CONNECT5_OK}, {S, "4006 0001 00 02 1f00"}},
	 {REQ(M5, C, "43", 0, NULL),
	  BAD(M5, S, 1, "PUBACK property 0x1F runs past the property length")},
	 1},
	{"3.1.1 PUBACK longer than 2",
	 {{C, CONNECT311_OK}, {S, "4003 0001 00"}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, S, 1, "PUBACK remaining length 3, not 2")},
	 1},
	{"3.1.1 SUBACK with an undefined return code",
	 {{C, CONNECT311_OK}, {S, "9003 0001 05"}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, S, 1, "SUBACK return code 0x05 of filter 1")},
	 1},
	{"SUBSCRIBE without a filter",
	 {{C, CONNECT311_OK}, {C, "8202 0001"}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, C, 1, "SUBSCRIBE without a topic filter")},
	 1},
	{"SUBSCRIBE with requested QoS 3",
	 {{C, CONNECT311_OK}, {C, "8206 0001 000178 03"}},
	 {REQ(M3, C, "43", 0, NULL), BAD(M3, C, 1, "SUBSCRIBE filter 1 QoS 3")},
	 1},
	{"CONNECT password without a user name in 3.1.1",
	 {{C, "1012 00044d515454 04 42 003c 00026162 0002 7878"}},
	 {BAD(M3, C, 0, "CONNECT password without a user name")},
	 1},
	{"bytes after the CONNECT payload",
	 {{C, "100f 00044d515454 04 02 003c 00026162 00"}},
	 {BAD(M3, C, 0, "CONNECT has trailing bytes (1)")},
	 1},
	{"a large SUBSCRIBE",
	 {{C, "82a09c01 0001"}},
	 {BADHEX(M3, C, "82a09c010001",
		 "SUBSCRIBE remaining length 20000 over 16384; no CONNECT seen, MQTT 3.1.1 assumed")},
	 1},
};

/* The cases are fed whole and cut every way (gw_test_cases_whole and
 * gw_test_cases_cut). A malformed packet found from its fixed header
 * alone carries what was at hand, so in cut runs only a prefix of an
 * error's raw bytes is required. */
static const struct gw_case_set case_set = {&suite, cases, NELEM(cases)};

/* Every proper prefix of a valid packet is incomplete: data() returns 0,
 * reports nothing, and reads only what it was given (the bytes are in an
 * allocation of exactly that size). */
static void test_truncations(void **state)
{
	static const struct {
		int side;
		const char *hex;
	} packets[] = {
		{C, CONNECT311_WRONG}, {C, CONNECT5_WRONG}, {C, CONNECT5_OK},
		{S, CONNACK5_OK}, {S, "2003008700"}, {C, "320f000864656e6965642f740001006869"},
		{S, "4003000187"}, {C, "821a000100000973656e736f72732f6102000864656e6965642f6202"},
		{S, "90050001000202"}, {S, "e00f8e0d1f000a74616b656e206f766572"},
		{C, "101f00064d514973647003c2003c00046333316200036465760006736563726574"},
		{C, "a2080008000003612f62"}, {S, "b00400080011"},
	};

	(void)state;
	for (size_t i = 0; i < NELEM(packets); i++)
		gw_check_prefixes_wait(&suite, packets[i].side, packets[i].hex);
}

/* A PUBLISH whose remaining length is over 16 KiB: its head is decoded,
 * its payload skipped, and the packet after it decoded. */
static void test_large_publish(void **state)
{
	static const uint8_t head[] = {0x32, 0xa0, 0x9c, 0x01, 0x00, 0x05, 'b', 'i',
				       'g', '/', 't', 0x00, 0x02};
	size_t total = 4 + 20000, cuts[] = {1, 7, 13, 100, 9000, total, total + 2};
	uint8_t *stream = malloc(total + 2);

	(void)state;
	assert_non_null(stream);
	memcpy(stream, head, sizeof head);
	for (size_t i = sizeof head; i < total; i++)
		stream[i] = (uint8_t)(i * 7);
	stream[total] = 0xc0; /* PINGREQ */
	stream[total + 1] = 0x00;
	for (size_t c = 0; c < NELEM(cuts); c++) {
		struct gw_feeder *f = gw_feeder_new(&suite);

		/* In pieces of cuts[c] bytes. */
		for (size_t at = 0; at < total + 2; at += cuts[c]) {
			size_t n = total + 2 - at < cuts[c] ? total + 2 - at : cuts[c];

			gw_feed(f, C, stream + at, n);
		}
		assert_int_equal(f->n, 3);
		assert_int_equal(f->r[0].kind, 'q');
		assert_int_equal(f->r[0].key_len, 4);
		assert_memory_equal(f->r[0].key, "Pc\x00\x02", 4);
		assert_int_equal(f->r[0].raw_len, sizeof head);
		assert_memory_equal(f->r[0].raw, head, sizeof head);
		assert_int_equal(f->r[1].kind, 'p');
		assert_int_equal(f->r[1].key_len, 5);
		assert_memory_equal(f->r[1].key, "big/t", 5);
		assert_int_equal(f->r[1].raw_len, sizeof head);
		assert_int_equal(f->r[2].kind, 'q');
		assert_memory_equal(f->r[2].key, "I", 1);
		assert_false(f->stopped);
		gw_feeder_free(f);
	}
	free(stream);
}

/* Several packets in one call are all decoded, and the count returned
 * covers them and no more (a partial packet stays). */
static void test_several_in_one_call(void **state)
{
	uint8_t b[256];
	size_t n = gw_unhex("c000 c000 c000 c0", b, sizeof b);
	struct gw_feeder *f = gw_feeder_new(&suite);
	long r;

	(void)state;
	r = gw_data(f, GW_CLIENT, b, n);
	assert_int_equal(r, 6);
	assert_int_equal(f->n, 3);
	gw_feeder_free(f);
}

/* A hole in the stream cannot be decoded past; the state is small. */
static void test_gap_and_state(void **state)
{
	uint8_t st[64] = {0};

	(void)state;
	assert_true(gw_decoder_mqtt.state_size <= sizeof st);
	assert_int_equal(gw_decoder_mqtt.gap(st, GW_CLIENT), GW_STOP);
	assert_string_equal(gw_decoder_mqtt.name, "mqtt");
	assert_string_equal(gw_decoder_mqtt.ports, "1883");
}

/* data/errmap/mqtt.map maps every code the cases report to the standard
 * code the case expects: the integration scenarios' codes in particular
 * (a wrong password is Authentication Failed in both versions, a denied
 * publish Authorization Failed). */
static void test_errmap(void **state)
{
	(void)state;
	gw_check_cases_map(&suite, "mqtt.map", cases, NELEM(cases), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(gw_test_cases_whole, (void *)&case_set),
		cmocka_unit_test_prestate(gw_test_cases_cut, (void *)&case_set),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_large_publish),
		cmocka_unit_test(test_several_in_one_call),
		cmocka_unit_test(test_gap_and_state),
		cmocka_unit_test(test_errmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
