/*
 * Unit tests of mamori-trap's telnet layer (trap/telnet.c): a table of
 * inputs with the exact data, replies, window size, terminal type and
 * counters each must give, every case fed whole, byte by byte and split at
 * every offset; the greeting; escaping; a subnegotiation longer than the
 * limit; and whole conversations with a Mirai-like client and a naive one
 * that must converge to the exact bytes listed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "telnet.h"

/* A byte string literal and its length (it may hold NUL bytes). */
#define B(s) (const uint8_t *)(s), sizeof(s) - 1

#define IN_MAX 256

struct tcase {
	const char *name;
	int greet; /* call trap_telnet_greeting() first */
	const uint8_t *in;
	size_t in_len;
	const uint8_t *data;
	size_t data_len;
	const uint8_t *reply;
	size_t reply_len;
	uint16_t width, height;
	const char *term;
	uint32_t commands, refused;
};

static const struct tcase cases[] = {
	{"plain line", 0, B("root\r\n"), B("root\r\n"), B(""), 0, 0, "", 0, 0},
	{"IAC IAC is one 0xff", 0, B("a\xff\xff" "b"), B("a\xff" "b"), B(""), 0, 0, "", 0, 0},
	{"CR NUL is CR", 0, B("ls\r\0"), B("ls\r"), B(""), 0, 0, "", 0, 0},
	{"only the first NUL after CR goes", 0, B("a\r\0\0"), B("a\r\0"), B(""), 0, 0, "", 0, 0},
	{"NUL not after CR stays", 0, B("\0x\0"), B("\0x\0"), B(""), 0, 0, "", 0, 0},
	{"CR LF and LF stay", 0, B("a\r\nb\nc\r"), B("a\r\nb\nc\r"), B(""), 0, 0, "", 0, 0},
	{"0xff CR is not CR", 0, B("\xff\xff\0"), B("\xff\0"), B(""), 0, 0, "", 0, 0},
	{"CR, a command, NUL", 0, B("x\r\xff\xf1\0y"), B("x\ry"), B(""), 0, 0, "", 1, 0},
	{"two-byte commands are dropped", 0,
	 B("a\xff\xf1" "b\xff\xf2\xff\xf3\xff\xf4\xff\xf5"
	   "c\xff\xf6\xff\xf7\xff\xf8\xff\xf9\xff\xef" "d\xff\xf0"),
	 B("abcd"), B(""), 0, 0, "", 11, 0},
	{"IAC before a non-command byte drops both", 0, B("a\xffxb"), B("ab"), B(""), 0, 0, "", 1,
	 0},
	{"greeting acknowledged: nothing more said", 1,
	 B("\xff\xfb\x01\xff\xfb\x1f\xff\xfd\x01\xff\xfd\x03"), B(""), B(""), 0, 0, "", 4, 0},
	{"greeting refused: nothing said", 1,
	 B("\xff\xfc\x01\xff\xfc\x1f\xff\xfe\x01\xff\xfe\x03"), B(""), B(""), 0, 0, "", 4, 0},
	{"DO unknown is WONT", 0, B("\xff\xfd\x05"), B(""), B("\xff\xfc\x05"), 0, 0, "", 1, 1},
	{"WILL unknown is DONT", 0, B("\xff\xfb\x22"), B(""), B("\xff\xfe\x22"), 0, 0, "", 1, 1},
	{"DO TTYPE is WONT (ours)", 1, B("\xff\xfd\x18"), B(""), B("\xff\xfc\x18"), 0, 0, "", 1,
	 1},
	{"unasked WILL ECHO is DONT (his)", 0, B("\xff\xfb\x01"), B(""), B("\xff\xfe\x01"), 0, 0, "", 1,
	 1},
	{"DONT and WONT of what is off: nothing", 0, B("\xff\xfe\x05\xff\xfc\x22\xff\xfe\x01"),
	 B(""), B(""), 0, 0, "", 3, 0},
	{"unasked DO ECHO agreed once", 0, B("\xff\xfd\x01\xff\xfd\x01"), B(""),
	 B("\xff\xfb\x01"), 0, 0, "", 2, 0},
	{"unasked WILL NAWS agreed once", 0, B("\xff\xfb\x1f\xff\xfb\x1f"), B(""),
	 B("\xff\xfd\x1f"), 0, 0, "", 2, 0},
	{"unasked WILL TTYPE: DO, no SEND", 0, B("\xff\xfb\x18"), B(""), B("\xff\xfd\x18"), 0, 0,
	 "", 1, 0},
	{"disable ECHO: one WONT", 1, B("\xff\xfd\x01\xff\xfe\x01\xff\xfe\x01\xff\xfc\x01"), B(""),
	 B("\xff\xfc\x01"), 0, 0, "", 4, 0},
	{"disable NAWS: one DONT", 1, B("\xff\xfb\x1f\xff\xfc\x1f\xff\xfc\x1f\xff\xfe\x1f"), B(""),
	 B("\xff\xfe\x1f"), 0, 0, "", 4, 0},
	{"TTYPE on, off and on again: DO, DONT, DO", 1,
	 B("\xff\xfb\x18\xff\xfc\x18\xff\xfb\x18"), B(""),
	 B("\xff\xfd\x18\xff\xfe\x18\xff\xfd\x18"), 0, 0, "", 3, 0},
	{"NAWS 80x24", 0, B("\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0"), B(""), B(""), 80, 24, "", 1,
	 0},
	{"NAWS with a doubled IAC", 0, B("\xff\xfa\x1f\x00\xff\xff\x01\x00\xff\xf0"), B(""), B(""),
	 255, 256, "", 1, 0},
	{"NAWS of 3 bytes ignored", 0, B("\xff\xfa\x1f\x00\x50\x00\xff\xf0x"), B("x"), B(""), 0, 0,
	 "", 1, 0},
	{"NAWS of 5 bytes ignored", 0, B("\xff\xfa\x1f\x00\x50\x00\x18\x00\xff\xf0"), B(""), B(""),
	 0, 0, "", 1, 0},
	{"TTYPE IS XTERM", 0, B("\xff\xfa\x18\x00XTERM\xff\xf0$ "), B("$ "), B(""), 0, 0, "XTERM",
	 1, 0},
	{"TTYPE IS empty ignored", 0, B("\xff\xfa\x18\x00\xff\xf0"), B(""), B(""), 0, 0, "", 1, 0},
	{"TTYPE SEND from the peer ignored", 0, B("\xff\xfa\x18\x01\xff\xf0"), B(""), B(""), 0, 0,
	 "", 1, 0},
	{"TTYPE with a control byte ignored", 0, B("\xff\xfa\x18\x00VT\x1b[\xff\xf0"), B(""),
	 B(""), 0, 0, "", 1, 0},
	{"TTYPE cut to 23 bytes", 0,
	 B("\xff\xfa\x18\x00" "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123\xff\xf0"), B(""), B(""), 0, 0,
	 "ABCDEFGHIJKLMNOPQRSTUVW", 1, 0},
	{"data inside a subnegotiation is not data", 0, B("a\xff\xfa\x05hello\r\n\xff\xf0" "b"),
	 B("ab"), B(""), 0, 0, "", 1, 0},
	{"IAC DO inside a subnegotiation ends it", 0,
	 B("\xff\xfa\x1f\x00\x50\xff\xfd\x05z"), B("z"), B("\xff\xfc\x05"), 0, 0, "", 2, 1},
	{"IAC NOP inside a subnegotiation ends it", 0,
	 B("\xff\xfa\x1f\x00\x50\x00\x18\xff\xf1z\xff\xf0"), B("z"), B(""), 0, 0, "", 3, 0},
	{"stray SE is dropped", 0, B("\xff\xf0ok"), B("ok"), B(""), 0, 0, "", 1, 0},
	{"unfinished subnegotiation swallows the rest", 0, B("\xff\xfa\x18\x00VT100\r\nroot\r\n"),
	 B(""), B(""), 0, 0, "", 1, 0},
	{"trailing IAC waits", 0, B("abc\xff"), B("abc"), B(""), 0, 0, "", 0, 0},
	{"trailing IAC DO waits", 0, B("abc\xff\xfd"), B("abc"), B(""), 0, 0, "", 1, 0},
};

/* What one way of feeding a case gave. */
struct result {
	struct trap_telnet t;
	uint8_t data[IN_MAX];
	size_t nd;
	uint8_t reply[IN_MAX * 2 + TRAP_TELNET_REPLY_SLACK];
	size_t nr;
};

static void start(struct result *r, int greet)
{
	uint8_t g[32];

	memset(r, 0, sizeof *r);
	trap_telnet_init(&r->t);
	if (greet)
		assert_int_equal(trap_telnet_greeting(&r->t, g, sizeof g), 12);
}

/* Feeds n bytes in one call, appending data and replies to r, and checks
 * the per-call bounds of the contract. */
static void feed(struct result *r, const uint8_t *in, size_t n)
{
	uint8_t reply[IN_MAX + TRAP_TELNET_REPLY_SLACK];
	size_t nd = 99, nr = 99;

	assert_true(n <= IN_MAX);
	assert_int_equal(trap_telnet_input(&r->t, in, n, r->data + r->nd, &nd, reply,
					   n + TRAP_TELNET_REPLY_SLACK, &nr),
			 0);
	assert_true(nd <= n);
	assert_true(nr <= n + TRAP_TELNET_REPLY_SLACK);
	assert_true(r->nd + nd <= sizeof r->data);
	assert_true(r->nr + nr <= sizeof r->reply);
	memcpy(r->reply + r->nr, reply, nr);
	r->nd += nd;
	r->nr += nr;
}

static void check(const struct tcase *c, const struct result *r, const char *how)
{
	if (r->nd != c->data_len || memcmp(r->data, c->data, c->data_len) != 0)
		fail_msg("%s (%s): data differs (%zu bytes, want %zu)", c->name, how, r->nd,
			 c->data_len);
	if (r->nr != c->reply_len || memcmp(r->reply, c->reply, c->reply_len) != 0)
		fail_msg("%s (%s): reply differs (%zu bytes, want %zu)", c->name, how, r->nr,
			 c->reply_len);
	assert_int_equal(r->t.width, c->width);
	assert_int_equal(r->t.height, c->height);
	assert_string_equal(r->t.term, c->term);
	assert_int_equal(r->t.commands, c->commands);
	assert_int_equal(r->t.refused, c->refused);
}

static void test_cases(void **state)
{
	size_t i, k, j;
	struct result *whole = malloc(sizeof *whole), *r = malloc(sizeof *r);

	(void)state;
	assert_non_null(whole);
	assert_non_null(r);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct tcase *c = &cases[i];

		start(whole, c->greet);
		feed(whole, c->in, c->in_len);
		check(c, whole, "whole");

		start(r, c->greet);
		for (j = 0; j < c->in_len; j++)
			feed(r, c->in + j, 1);
		check(c, r, "byte by byte");
		/* The state is a plain struct: the same bytes leave it the same. */
		assert_memory_equal(&r->t, &whole->t, sizeof r->t);

		for (k = 0; k <= c->in_len; k++) {
			start(r, c->greet);
			feed(r, c->in, k);
			feed(r, c->in + k, c->in_len - k);
			check(c, r, "split");
			assert_memory_equal(&r->t, &whole->t, sizeof r->t);
		}
	}
	free(whole);
	free(r);
}

static void test_greeting(void **state)
{
	/* What busybox-static 1.35's telnetd sends first (seen on the wire). */
	static const uint8_t want[] = {0xff, 0xfd, 0x01, 0xff, 0xfd, 0x1f,
				       0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03};
	struct trap_telnet t;
	uint8_t out[32];

	(void)state;
	trap_telnet_init(&t);
	memset(out, 0xaa, sizeof out);
	assert_int_equal(trap_telnet_greeting(&t, out, sizeof want - 1), 0);
	assert_int_equal(out[0], 0xaa);
	assert_int_equal(trap_telnet_greeting(&t, out, sizeof want), sizeof want);
	assert_memory_equal(out, want, sizeof want);
	assert_int_equal(t.width, 0);
	assert_string_equal(t.term, "");
}

static void test_reply_cap(void **state)
{
	struct trap_telnet t, before;
	uint8_t data[8], reply[8 + TRAP_TELNET_REPLY_SLACK];
	size_t nd = 7, nr = 7;

	(void)state;
	trap_telnet_init(&t);
	before = t;
	assert_int_equal(trap_telnet_input(&t, B("\xff\xfd\x05"), data, &nd, reply,
					   3 + TRAP_TELNET_REPLY_SLACK - 1, &nr),
			 -1);
	assert_int_equal(nd, 0);
	assert_int_equal(nr, 0);
	assert_memory_equal(&t, &before, sizeof t);
	assert_int_equal(trap_telnet_input(&t, B("\xff\xfd\x05"), data, &nd, reply,
					   3 + TRAP_TELNET_REPLY_SLACK, &nr),
			 0);
	assert_int_equal(nr, 3);
	assert_memory_equal(reply, "\xff\xfc\x05", 3);
}

/* A subnegotiation longer than TRAP_TELNET_SB_MAX is consumed to its IAC
 * SE and ignored; one of exactly the limit is kept. */
static void test_sb_limit(void **state)
{
	static const struct {
		size_t name_len;
		size_t term_len;
	} rows[] = {
		{TRAP_TELNET_SB_MAX - 1, 23}, /* IS + name fill the limit exactly */
		{TRAP_TELNET_SB_MAX, 0},
		{TRAP_TELNET_SB_MAX * 3, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		uint8_t in[4 + 3 * TRAP_TELNET_SB_MAX + 3], data[sizeof in];
		uint8_t reply[sizeof in + TRAP_TELNET_REPLY_SLACK];
		struct trap_telnet t;
		size_t n = 0, nd, nr;

		in[n++] = 0xff;
		in[n++] = 0xfa;
		in[n++] = 24;
		in[n++] = 0;
		memset(in + n, 'A', rows[i].name_len);
		n += rows[i].name_len;
		in[n++] = 0xff;
		in[n++] = 0xf0;
		in[n++] = 'z';
		trap_telnet_init(&t);
		assert_int_equal(trap_telnet_input(&t, in, n, data, &nd, reply, sizeof reply, &nr),
				 0);
		assert_int_equal(nd, 1);
		assert_int_equal(data[0], 'z');
		assert_int_equal(nr, 0);
		assert_int_equal(strlen(t.term), rows[i].term_len);
		assert_int_equal(t.commands, 1);
	}
}

static void test_escape(void **state)
{
	static const struct {
		const uint8_t *in;
		size_t in_len;
		const uint8_t *out;
		size_t out_len;
	} rows[] = {
		{B(""), B("")},
		{B("a\nb"), B("a\r\nb")},
		{B("a\r\nb"), B("a\r\nb")},
		{B("\n\n"), B("\r\n\r\n")},
		{B("\r"), B("\r")},
		{B("\r\r\n"), B("\r\r\n")},
		{B("\xff"), B("\xff\xff")},
		{B("\xff\n\xff\xff"), B("\xff\xff\r\n\xff\xff\xff\xff")},
		{B("\0\x7f"), B("\0\x7f")},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		uint8_t out[32];
		size_t n = trap_telnet_escape(rows[i].in, rows[i].in_len, out);

		assert_true(n <= 2 * rows[i].in_len);
		assert_int_equal(n, rows[i].out_len);
		assert_memory_equal(out, rows[i].out, n);
	}
}

/*
 * Conversations. A client is a function from what the trap sent to what it
 * answers; the trap speaks first with its greeting, then the two take turns
 * until one has nothing to say. Each turn's bytes are listed exactly.
 */
typedef size_t (*client_fn)(const uint8_t *in, size_t n, int first, uint8_t *out);

/*
 * Answers as Mirai's scanner and loader do (read from their published
 * source, rewritten here): every 3-byte IAC command is answered with the
 * same three bytes, DO made WONT and WILL made DO (WONT and DONT go back
 * unchanged), except DO NAWS, answered WILL NAWS and an 80x24 window size.
 * IAC IAC is skipped; anything else is not looked at.
 */
static size_t mirai_like(const uint8_t *in, size_t n, int first, uint8_t *out)
{
	static const uint8_t naws[] = {0xff, 0xfb, 0x1f, 0xff, 0xfa, 0x1f, 0x00,
				       0x50, 0x00, 0x18, 0xff, 0xf0};
	size_t i = 0, o = 0, k;

	(void)first;
	while (i < n) {
		if (in[i] != 0xff) {
			i++;
			continue;
		}
		if (i + 1 < n && in[i + 1] == 0xff) {
			i += 2;
			continue;
		}
		if (i + 2 >= n)
			break;
		if (in[i + 1] == 0xfd && in[i + 2] == 0x1f) {
			memcpy(out + o, naws, sizeof naws);
			o += sizeof naws;
		} else {
			for (k = 0; k < 3; k++) {
				uint8_t b = in[i + k];

				out[o++] = b == 0xfd ? 0xfc : b == 0xfb ? 0xfd : b;
			}
		}
		i += 3;
	}
	return o;
}

/* Wants everything and knows no rule against loops: WILL for DO, DO for
 * WILL, WONT for DONT, DONT for WONT, the name VT100 for SB TTYPE SEND;
 * it opens with DO STATUS and WILL LINEMODE of its own. */
static size_t naive(const uint8_t *in, size_t n, int first, uint8_t *out)
{
	static const uint8_t opening[] = {0xff, 0xfd, 0x05, 0xff, 0xfb, 0x22};
	static const uint8_t is[] = {0xff, 0xfa, 0x18, 0x00, 'V', 'T', '1', '0', '0', 0xff, 0xf0};
	static const uint8_t send[] = {0xff, 0xfa, 0x18, 0x01, 0xff, 0xf0};
	size_t i = 0, o = 0;

	while (i + 2 < n) {
		uint8_t v = in[i + 1];

		if (i + sizeof send <= n && memcmp(in + i, send, sizeof send) == 0) {
			memcpy(out + o, is, sizeof is);
			o += sizeof is;
			i += sizeof send;
			continue;
		}
		out[o++] = 0xff;
		out[o++] = v == 0xfd ? 0xfb : v == 0xfb ? 0xfd : v == 0xfe ? 0xfc : 0xfe;
		out[o++] = in[i + 2];
		i += 3;
	}
	if (first) {
		memcpy(out + o, opening, sizeof opening);
		o += sizeof opening;
	}
	return o;
}

struct turn {
	const uint8_t *b;
	size_t len;
};

#define TURNS_MAX 8

struct convo {
	const char *name;
	client_fn client;
	struct turn turns[TURNS_MAX]; /* trap, client, trap, ...; ends with an empty turn */
	uint16_t width, height;
	const char *term;
	uint32_t refused;
};

#define GREETING "\xff\xfd\x01\xff\xfd\x1f\xff\xfb\x01\xff\xfb\x03"

static const struct convo convos[] = {
	{"Mirai-like client",
	 mirai_like,
	 {{B(GREETING)},
	  {B("\xff\xfc\x01\xff\xfb\x1f\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0"
	     "\xff\xfd\x01\xff\xfd\x03")},
	  {B("")}},
	 80, 24, "", 0},
	{"naive client",
	 naive,
	 {{B(GREETING)},
	  {B("\xff\xfb\x01\xff\xfb\x1f\xff\xfd\x01\xff\xfd\x03\xff\xfd\x05\xff\xfb\x22")},
	  {B("\xff\xfc\x05\xff\xfe\x22")},
	  {B("\xff\xfe\x05\xff\xfc\x22")},
	  {B("")}},
	 0, 0, "", 2},
};

static void test_conversations(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof convos / sizeof convos[0]; i++) {
		const struct convo *c = &convos[i];
		struct trap_telnet t;
		uint8_t said[IN_MAX], data[IN_MAX], answer[IN_MAX];
		size_t n, nd, turn = 0;

		trap_telnet_init(&t);
		n = trap_telnet_greeting(&t, said, sizeof said);
		for (;;) {
			const struct turn *w = &c->turns[turn];

			if (n != w->len || memcmp(said, w->b, n) != 0)
				fail_msg("%s: turn %zu differs (%zu bytes, want %zu)", c->name,
					 turn, n, w->len);
			if (n == 0)
				break; /* converged where the table says */
			assert_true(++turn < TURNS_MAX);
			if (turn % 2) {
				n = c->client(said, n, turn == 1, answer);
				assert_true(n <= IN_MAX - TRAP_TELNET_REPLY_SLACK);
				memcpy(said, answer, n);
			} else {
				memcpy(answer, said, n);
				assert_int_equal(trap_telnet_input(&t, answer, n, data, &nd, said,
								   sizeof said, &n),
						 0);
				assert_int_equal(nd, 0);
			}
		}
		assert_int_equal(t.width, c->width);
		assert_int_equal(t.height, c->height);
		assert_string_equal(t.term, c->term);
		assert_int_equal(t.refused, c->refused);
		for (k = turn + 1; k < TURNS_MAX; k++)
			assert_int_equal(c->turns[k].len, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),        cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_reply_cap),    cmocka_unit_test(test_sb_limit),
		cmocka_unit_test(test_escape),       cmocka_unit_test(test_conversations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
