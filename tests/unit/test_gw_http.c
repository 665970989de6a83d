/*
 * Unit tests of mamori-gw's HTTP/1.x decoder (gateway/sensor/http.c):
 * exchanges written from RFC 9112 (requests in the form curl 7.88 sends
 * them), fed the way the flow tracker feeds them (whole, byte by byte,
 * split at every offset, a side's messages together), with every report
 * checked field by field; pipelining and the ring of remembered methods;
 * bodies by Content-Length, chunked coding and connection close; every
 * truncation of a valid head; malformed start lines and header sections;
 * and data/errmap/http.map giving each reported status its standard code.
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

static const struct gw_suite suite = {&gw_decoder_http, "HTTP", 1, 0, 0};

/* ---- cases ---- */

/* A request's key is its number on the connection, 4 bytes big-endian. */
#define K1 "00000001"
#define K2 "00000002"
#define K3 "00000003"

/* Expected reports: raw is the index of the segment that is the raw bytes;
 * the T forms give the raw bytes as text instead. */
#define REQ(key, raw, detail) {'q', NULL, C, key, raw, NULL, 0, 0, 0, NULL, detail, 0}
#define REQT(key, txt, detail) {'q', NULL, C, key, GW_RAW_LIT, txt, 0, 0, 0, NULL, detail, 0}
#define OK(key, raw, detail) {'r', NULL, S, key, raw, NULL, 0, 0, 0, NULL, detail, 0}
#define OKT(key, txt) {'r', NULL, S, key, GW_RAW_LIT, txt, 0, 0, 0, NULL, NULL, 0}
#define FAIL(key, raw, num, text, std)                                                       \
	{'r', NULL, S, key, raw, NULL, MM_REPORTER_ERR_NUM, num, std, text, NULL, 0}
#define FAILT(key, txt, num, text, std)                                                      \
	{'r', NULL, S, key, GW_RAW_LIT, txt, MM_REPORTER_ERR_NUM, num, std, text, NULL, 0}
#define BAD(from, raw, detail)                                                               \
	{'e', NULL, from, "", raw, NULL, MM_REPORTER_ERR_STD, 0, 0x30, NULL, detail, 0}
#define BADT(from, txt, detail)                                                              \
	{'e', NULL, from, "", GW_RAW_LIT, txt, MM_REPORTER_ERR_STD, 0, 0x30, NULL, detail, 0}

#define CURL_GET "GET / HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"

static const struct gw_case cases[] = {
	{"pipelined GET: 200 with a body, then 401",
	 {{C, CURL_GET},
	  {C, "GET /admin HTTP/1.1\r\nHost: 10.0.0.2\r\nAuthorization: Basic ZGV2Ondyb25n\r\n\r\n"},
	  {S, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
	  {S, "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"dev\"\r\n"
	      "Content-Length: 0\r\n\r\n"}},
	 {REQ(K1, 0, NULL), REQ(K2, 1, NULL), OKT(K1, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
	  FAIL(K2, 3, 401, "401", 0x20)},
	 0},
	{"POST with a body; 500 chunked with extension and trailer; 403",
	 {{C, "POST /api/v1/state HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
	      "Content-Length: 13\r\n\r\n{\"on\": true}\n"},
	  {S, "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "5;x=1\r\nerror\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n"},
	  {C, "DELETE /x HTTP/1.1\r\nHost: d\r\n\r\n"},
	  {S, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"}},
	 {REQT(K1, "POST /api/v1/state HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
		  "Content-Length: 13\r\n\r\n", NULL),
	  FAILT(K1, "HTTP/1.1 500 Internal Server Error\r\n"
				     "Transfer-Encoding: chunked\r\n\r\n", 500, "500", 0x41),
	  REQ(K2, 2, NULL), FAIL(K2, 3, 403, "403", 0x23)},
	 0},
	{"HEAD has no body in its answer; 100 Continue answers nothing",
	 {{C, "HEAD /f HTTP/1.1\r\nHost: d\r\n\r\n"},
	  {C, "PUT /f HTTP/1.1\r\nHost: d\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"},
	  {S, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"},
	  {S, "HTTP/1.1 100 Continue\r\n\r\n"}, {C, "abc"},
	  {S, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"}},
	 {REQ(K1, 0, NULL), REQ(K2, 1, NULL), OK(K1, 2, NULL), FAIL(K2, 5, 404, "404", 0x31)},
	 0},
	{"204 and 304 have no body",
	 {{C, "DELETE /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nIf-None-Match: \"x\"\r\n\r\n"
	      "GET /c HTTP/1.1\r\n\r\n"},
	  {S, "HTTP/1.1 204 No Content\r\n\r\n"},
	  {S, "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"},
	  {S, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"}},
	 {REQT(K1, "DELETE /a HTTP/1.1\r\n\r\n", NULL),
	  REQT(K2, "GET /b HTTP/1.1\r\nIf-None-Match: \"x\"\r\n\r\n", NULL),
	  REQT(K3, "GET /c HTTP/1.1\r\n\r\n", NULL), OK(K1, 1, NULL),
	  OK(K2, 2, NULL), FAIL(K3, 3, 405, "405", 0x30)},
	 0},
	{"HTTP/1.0 response without a length ends with the connection",
	 {{C, "GET /status HTTP/1.0\r\n\r\n"},
	  {S, "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nbusy"},
	  {S, "HTTP/1.1 200 OK\r\n\r\n"}},
	 {REQ(K1, 0, NULL), FAILT(K1, "HTTP/1.0 503 Service Unavailable\r\n"
			       "Content-Type: text/plain\r\n\r\n", 503, "503", 0x42)},
	 0},
	{"101 Switching Protocols ends decoding, without an error",
	 {{C, "GET /ws HTTP/1.1\r\nHost: d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"},
	  {S, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"},
	  {C, "\x81\x85mask!"}},
	 {REQ(K1, 0, NULL), OKT(K1, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")},
	 1},
	{"a 2xx answer to CONNECT opens a tunnel",
	 {{C, "CONNECT d:443 HTTP/1.1\r\nHost: d:443\r\n\r\n"},
	  {S, "HTTP/1.1 200 Connection established\r\n\r\n"}, {C, "\x16\x03\x01\x02"}},
	 {REQ(K1, 0, NULL), OK(K1, 1, NULL)},
	 1},
	{"empty line after a POST body; bare LF line ends",
	 {{C, "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi\r\n"},
	  {C, "GET /b HTTP/1.1\nHost: d\n\n"},
	  {S, "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"},
	  {S, "HTTP/1.1 404 Not Found\nContent-Length: 2\n\nno"}},
	 {REQT(K1, "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n", NULL), REQ(K2, 1, NULL),
	  OKT(K1, "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
	  FAILT(K2, "HTTP/1.1 404 Not Found\nContent-Length: 2\n\nno", 404, "404", 0x31)},
	 0},
	{"a response whose request was not seen; a status line without reason",
	 {{S, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"},
	  {S, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"}},
	 {FAIL(K1, 0, 407, "407", 0x20), OK(K2, 1, NULL)},
	 0},
	{"Transfer-Encoding wins over Content-Length, and is remarked",
	 {{C, "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "0\r\n\r\nGET /next HTTP/1.1\r\n\r\n"}},
	 {REQT(K1, "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
	       "Transfer-Encoding and Content-Length both present"),
	  REQT(K2, "GET /next HTTP/1.1\r\n\r\n", NULL)},
	 0},
	{"Content-Length list of one value; 413 and 505",
	 {{C, "PUT /big HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc"},
	  {C, "GET / HTTP/1.9\r\n\r\n"},
	  {S, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n"},
	  {S, "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Length: 0\r\n\r\n"}},
	 {REQT(K1, "PUT /big HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n", NULL), REQ(K2, 1, NULL),
	  FAIL(K1, 2, 413, "413", 0x31),
	  FAIL(K2, 3, 505, "505", 0x31)},
	 0},
	{"HTTP/2 with prior knowledge: not ours, not an error",
	 {{C, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"}},
	 {{0}},
	 1},
	/* Malformed. */
	{"TLS sent to the HTTP port",
	 {{C, "\x16\x03\x01\x02\x01\x01\x03\x03"}},
	 {BAD(C, 0, "request line starts with byte 0x16, not a method")},
	 1},
	{"a byte that is not a token character in the method",
	 {{C, "G\x01T / HTTP/1.1\r\n\r\n"}},
	 {BAD(C, 0, "request method has byte 0x01, not a token character")},
	 1},
	{"space before the colon",
	 {{C, "GET / HTTP/1.1\r\nHost : d\r\n\r\n"}},
	 {BAD(C, 0, "header field name has byte 0x20")},
	 1},
	{"obsolete line folding",
	 {{C, "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"}},
	 {BAD(C, 0, "obsolete line folding in the header")},
	 1},
	{"control byte in a header value",
	 {{C, "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n"}},
	 {BAD(C, 0, "header field value has byte 0x01")},
	 1},
	{"HTTP/2.0 request line",
	 {{C, "GET / HTTP/2.0\r\n\r\n"}},
	 {BAD(C, 0, "request version HTTP/2.0 is not HTTP/1.x")},
	 1},
	{"request line without a version",
	 {{C, "GET /\r\n\r\n"}},
	 {BAD(C, 0, "request line has no HTTP version")},
	 1},
	{"request line with a space in the target",
	 {{C, "GET /a b HTTP/1.1\r\n\r\n"}},
	 {BAD(C, 0, "request line does not end in HTTP/1.x")},
	 1},
	{"Content-Length values differ",
	 {{C, "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"}},
	 {BAD(C, 0, "Content-Length values 3 and 4 differ")},
	 1},
	{"Content-Length not a number",
	 {{C, "POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n"}},
	 {BAD(C, 0, "Content-Length is not a number")},
	 1},
	{"request Transfer-Encoding not ending in chunked",
	 {{C, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"}},
	 {BAD(C, 0, "request Transfer-Encoding does not end in chunked")},
	 1},
	{"chunk size not hexadecimal",
	 {{C, CURL_GET}, {S, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}},
	 {REQ(K1, 0, NULL), OKT(K1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
	  BADT(S, "zz\r\n", "chunk size is not hexadecimal")},
	 1},
	{"chunk data longer than its size",
	 {{C, CURL_GET}, {S, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n"}},
	 {REQ(K1, 0, NULL), OKT(K1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
	  BADT(S, "c\r", "chunk data not followed by a line end")},
	 1},
	{"status code of letters",
	 {{S, "HTTP/1.1 2x0 OK\r\n\r\n"}},
	 {BAD(S, 0, "status code is not three digits")},
	 1},
	{"status code below 100",
	 {{S, "HTTP/1.1 099 X\r\n\r\n"}},
	 {BAD(S, 0, "status code 099 below 100")},
	 1},
	{"not a status line",
	 {{S, "SSH-2.0-OpenSSH_9.2\r\n"}},
	 {BAD(S, 0, "status line does not start with HTTP/1.x")},
	 1},
};

/* The cases are fed whole and cut every way (gw_test_cases_whole and
 * gw_test_cases_cut). A malformed start line is refused as soon as it
 * cannot become valid, with the bytes then at hand, so in cut runs only a
 * prefix of an error's raw bytes is required. */
static const struct gw_case_set case_set = {&suite, cases, NELEM(cases)};

/* Every proper prefix of a valid head is incomplete: data() returns 0,
 * reports nothing, and reads only what it was given. */
static void test_truncations(void **state)
{
	static const struct {
		int side;
		const char *text;
	} heads[] = {
		{C, CURL_GET},
		{C, "POST /api HTTP/1.1\r\nContent-Length: 13\r\n\r\n"},
		{C, "GET /b HTTP/1.1\nHost: d\n\n"},
		{S, "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"dev\"\r\n\r\n"},
		{S, "HTTP/1.0 200\r\n\r\n"},
	};

	(void)state;
	for (size_t i = 0; i < NELEM(heads); i++)
		gw_check_prefixes_wait(&suite, heads[i].side, heads[i].text);
}

/* Content-Length bodies larger than the buffer are skipped, not held: the
 * count returned runs past the bytes given. */
static void test_skip_large_body(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
	struct gw_feeder *f = gw_feeder_new(&suite);
	long r;

	(void)state;
	r = gw_data(f, GW_SERVER, (const uint8_t *)head, strlen(head));
	assert_int_equal(r, (long)strlen(head) + 1000000);
	assert_int_equal(f->n, 1);
	gw_feeder_free(f);
}

/* A head that does not end within 16 KiB is malformed. */
static void test_head_too_long(void **state)
{
	size_t n = 17000;
	char *p = malloc(n);
	struct gw_feeder *f = gw_feeder_new(&suite);

	(void)state;
	assert_non_null(p);
	memcpy(p, "GET / HTTP/1.1\r\nX: ", 19);
	memset(p + 19, 'a', n - 19);
	gw_feed(f, C, (const uint8_t *)p, 16383);
	assert_int_equal(f->n, 0);
	gw_feed(f, C, (const uint8_t *)p + 16383, n - 16383);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->r[0].kind, 'e');
	assert_string_equal(f->r[0].detail, "request head over 16384 bytes");
	assert_int_equal(f->r[0].raw_len, 16384);
	assert_true(f->stopped);
	gw_feeder_free(f);
	free(p);
}

/* Seventeen pipelined HEAD requests: the ring holds sixteen methods, so
 * the seventeenth answer is read as having a body (its Content-Length),
 * and says so. */
static void test_ring(void **state)
{
	static const char req[] = "HEAD / HTTP/1.1\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n";
	struct gw_feeder *f = gw_feeder_new(&suite);

	(void)state;
	for (int i = 0; i < 17; i++)
		gw_feed(f, C, (const uint8_t *)req, strlen(req));
	for (int i = 0; i < 16; i++)
		gw_feed(f, S, (const uint8_t *)resp, strlen(resp));
	gw_feed(f, S, (const uint8_t *)resp, strlen(resp));
	gw_feed(f, S, (const uint8_t *)"body", 4);
	gw_feed(f, S, (const uint8_t *)"HTTP/1.1 404 Not Found\r\n\r\n", 26);
	assert_int_equal(f->n, 17 + 17 + 1);
	assert_int_equal(f->r[16].kind, 'q');
	assert_memory_equal(f->r[16].key, "\x00\x00\x00\x11", 4);
	assert_string_equal(f->r[32].detail, "");
	assert_string_equal(f->r[33].detail,
			    "request method not remembered (more than 16 requests waiting)");
	assert_int_equal(f->r[34].kind, 'r');
	assert_int_equal(f->r[34].num, 404);
	assert_memory_equal(f->r[34].key, "\x00\x00\x00\x12", 4);
	assert_false(f->stopped);
	gw_feeder_free(f);
}

/* A hole is survivable only inside a body that runs to the connection's
 * end; the state is small. */
static void test_gap_and_state(void **state)
{
	static const char resp[] = "HTTP/1.0 200 OK\r\n\r\n";
	struct gw_feeder *f = gw_feeder_new(&suite);

	(void)state;
	assert_true(gw_decoder_http.state_size <= 256);
	assert_int_equal(gw_decoder_http.gap(f->state, GW_SERVER), GW_STOP);
	gw_feed(f, S, (const uint8_t *)resp, strlen(resp));
	assert_int_equal(gw_decoder_http.gap(f->state, GW_SERVER), 0);
	assert_int_equal(gw_decoder_http.gap(f->state, GW_CLIENT), GW_STOP);
	assert_string_equal(gw_decoder_http.ports, "80,8080");
	gw_feeder_free(f);
}

/* data/errmap/http.map maps every status the cases report to the standard
 * code the case expects (401 and 407 Authentication Failed, 403
 * Authorization Failed, ...). */
static void test_errmap(void **state)
{
	(void)state;
	gw_check_cases_map(&suite, "http.map", cases, NELEM(cases), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(gw_test_cases_whole, (void *)&case_set),
		cmocka_unit_test_prestate(gw_test_cases_cut, (void *)&case_set),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_skip_large_body),
		cmocka_unit_test(test_head_too_long),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_gap_and_state),
		cmocka_unit_test(test_errmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
