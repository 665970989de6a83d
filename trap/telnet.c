/*
 * The telnet layer of mamori-trap: a byte-at-a-time state machine over what
 * the peer sends, with RFC 855 option negotiation. See telnet.h for the
 * contract.
 *
 * Everything a session holds here is in struct trap_telnet, so a command
 * split across reads (an IAC at the end of one, its verb or option in the
 * next, a subnegotiation without its IAC SE) resumes where it stopped, and
 * feeding the same bytes whole or one at a time gives the same data, the
 * same replies and the same state.
 *
 * Why replies stay within in_len + TRAP_TELNET_REPLY_SLACK: only a 3-byte
 * WILL, WONT, DO or DONT is ever answered, always with one 3-byte command.
 * At most one command per call started in an earlier call, so a call
 * writes at most 2 bytes more than it reads.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "telnet.h"

/* RFC 854 commands, each after an IAC. */
enum {
	T_EOR = 239, /* RFC 885 */
	T_SE = 240,
	T_NOP = 241,
	T_DM = 242,
	T_BRK = 243,
	T_IP = 244,
	T_AO = 245,
	T_AYT = 246,
	T_EC = 247,
	T_EL = 248,
	T_GA = 249,
	T_SB = 250,
	T_WILL = 251,
	T_WONT = 252,
	T_DO = 253,
	T_DONT = 254,
	T_IAC = 255,
};

/* The options the trap knows. */
enum {
	OPT_ECHO = 1,   /* RFC 857 */
	OPT_SGA = 3,    /* RFC 858 */
	OPT_TTYPE = 24, /* RFC 1091 */
	OPT_NAWS = 31,  /* RFC 1073 */
};

/* RFC 1091's subnegotiation codes. */
enum { TTYPE_IS = 0 };

/* The parser's states (struct trap_telnet.state). */
enum {
	ST_DATA,   /* user data */
	ST_IAC,    /* after IAC */
	ST_OPT,    /* after IAC WILL/WONT/DO/DONT: the option comes next */
	ST_SB_OPT, /* after IAC SB: the option comes next */
	ST_SB,     /* inside a subnegotiation */
	ST_SB_IAC, /* after IAC inside a subnegotiation */
};

/* sb_len of a subnegotiation that outgrew sb: the rest is consumed, then
 * the whole is ignored. */
#define SB_CUT (TRAP_TELNET_SB_MAX + 1)

/* Where replies go: reply_cap was checked against the bound above, so a
 * put that would not fit is a bug; it is dropped rather than written past
 * the end. */
struct out {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct out *o, const uint8_t *b, size_t n)
{
	if (n > o->cap - o->len)
		return;
	memcpy(o->p + o->len, b, n);
	o->len += n;
}

static void put_cmd(struct out *o, uint8_t verb, uint8_t opt)
{
	const uint8_t b[3] = {T_IAC, verb, opt};

	put(o, b, sizeof b);
}

static int bit_get(const uint8_t *map, uint8_t opt)
{
	return (map[opt >> 3] >> (opt & 7)) & 1;
}

static void bit_set(uint8_t *map, uint8_t opt)
{
	map[opt >> 3] = (uint8_t)(map[opt >> 3] | (1u << (opt & 7)));
}

static void bit_clr(uint8_t *map, uint8_t opt)
{
	map[opt >> 3] = (uint8_t)(map[opt >> 3] & ~(1u << (opt & 7)));
}

/* What the trap agrees to: to echo and to suppress go-ahead on its side,
 * like BusyBox telnetd; window size and terminal type on the peer's. */
static int ours_ok(uint8_t opt)
{
	return opt == OPT_ECHO || opt == OPT_SGA;
}

static int his_ok(uint8_t opt)
{
	return opt == OPT_NAWS || opt == OPT_TTYPE;
}

/*
 * One WILL, WONT, DO or DONT from the peer. RFC 855's rule against loops:
 * a request for a state already in effect is not answered, an answer to
 * our own request is not answered, and a refusal of something that is off
 * is not answered either (Mirai's scanner sends every WONT and DONT it gets
 * straight back).
 */
static void negotiate(struct trap_telnet *t, uint8_t verb, uint8_t opt, struct out *o)
{
	switch (verb) {
	case T_DO:
		if (bit_get(t->us, opt)) {
			bit_clr(t->asked_us, opt);
		} else if (bit_get(t->asked_us, opt)) {
			bit_clr(t->asked_us, opt);
			bit_set(t->us, opt);
		} else if (ours_ok(opt)) {
			bit_set(t->us, opt);
			put_cmd(o, T_WILL, opt);
		} else {
			put_cmd(o, T_WONT, opt);
			t->refused++;
		}
		break;
	case T_DONT:
		bit_clr(t->asked_us, opt);
		if (bit_get(t->us, opt)) {
			bit_clr(t->us, opt);
			put_cmd(o, T_WONT, opt);
		}
		break;
	case T_WILL:
		if (bit_get(t->him, opt)) {
			bit_clr(t->asked_him, opt);
		} else if (bit_get(t->asked_him, opt)) {
			bit_clr(t->asked_him, opt);
			bit_set(t->him, opt);
		} else if (his_ok(opt)) {
			bit_set(t->him, opt);
			put_cmd(o, T_DO, opt);
		} else {
			put_cmd(o, T_DONT, opt);
			t->refused++;
		}
		break;
	case T_WONT:
		bit_clr(t->asked_him, opt);
		if (bit_get(t->him, opt)) {
			bit_clr(t->him, opt);
			put_cmd(o, T_DONT, opt);
		}
		break;
	}
}

/* Keeps a terminal type name of printable ASCII, cut to what term holds;
 * a name with any other byte is ignored whole. */
static void take_ttype(struct trap_telnet *t, const uint8_t *name, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		if (name[i] < 0x20 || name[i] > 0x7e)
			return;
	if (n > sizeof t->term - 1)
		n = sizeof t->term - 1;
	memcpy(t->term, name, n);
	t->term[n] = '\0';
}

/* A subnegotiation ended with IAC SE. Window sizes and terminal types are
 * taken whether or not the option was agreed: bots send them unasked. */
static void sb_done(struct trap_telnet *t)
{
	if (t->sb_len > TRAP_TELNET_SB_MAX)
		return;
	if (t->sb_opt == OPT_NAWS && t->sb_len == 4) {
		t->width = (uint16_t)(t->sb[0] << 8 | t->sb[1]);
		t->height = (uint16_t)(t->sb[2] << 8 | t->sb[3]);
	} else if (t->sb_opt == OPT_TTYPE && t->sb_len >= 1 && t->sb[0] == TTYPE_IS) {
		take_ttype(t, t->sb + 1, t->sb_len - 1u);
	}
}

static void sb_byte(struct trap_telnet *t, uint8_t c)
{
	if (t->sb_len < TRAP_TELNET_SB_MAX)
		t->sb[t->sb_len++] = c;
	else
		t->sb_len = SB_CUT;
}

/* The byte after an IAC outside a subnegotiation. */
static void command(struct trap_telnet *t, uint8_t c, uint8_t *data, size_t *nd)
{
	t->state = ST_DATA;
	if (c == T_IAC) {
		data[(*nd)++] = T_IAC;
		t->last_cr = 0;
		return;
	}
	t->commands++;
	switch (c) {
	case T_WILL:
	case T_WONT:
	case T_DO:
	case T_DONT:
		t->verb = c;
		t->state = ST_OPT;
		break;
	case T_SB:
		t->state = ST_SB_OPT;
		break;
	default:
		/* NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, EOR, a stray SE and
		 * bytes that name no command: BusyBox telnetd drops them all
		 * without a word (it does not answer AYT), and so does the
		 * trap. */
		break;
	}
}

void trap_telnet_init(struct trap_telnet *t)
{
	memset(t, 0, sizeof *t);
	t->state = ST_DATA;
}

size_t trap_telnet_greeting(struct trap_telnet *t, uint8_t *out, size_t cap)
{
	/* BusyBox telnetd's, byte for byte and in its order: a scanner that
	 * compares the first bytes with a real device's sees no difference. */
	static const uint8_t greeting[] = {
		T_IAC, T_DO, OPT_ECHO, T_IAC, T_DO, OPT_NAWS,
		T_IAC, T_WILL, OPT_ECHO, T_IAC, T_WILL, OPT_SGA,
	};

	if (cap < sizeof greeting)
		return 0;
	memcpy(out, greeting, sizeof greeting);
	bit_set(t->asked_him, OPT_ECHO);
	bit_set(t->asked_him, OPT_NAWS);
	bit_set(t->asked_us, OPT_ECHO);
	bit_set(t->asked_us, OPT_SGA);
	return sizeof greeting;
}

int trap_telnet_input(struct trap_telnet *t, const uint8_t *in, size_t in_len, uint8_t *data,
		      size_t *data_len, uint8_t *reply, size_t reply_cap, size_t *reply_len)
{
	struct out o = {reply, 0, reply_cap};
	size_t i, nd = 0;

	*data_len = 0;
	*reply_len = 0;
	if (in_len > SIZE_MAX - TRAP_TELNET_REPLY_SLACK ||
	    reply_cap < in_len + TRAP_TELNET_REPLY_SLACK)
		return -1;
	for (i = 0; i < in_len; i++) {
		uint8_t c = in[i];

		switch (t->state) {
		case ST_IAC:
			command(t, c, data, &nd);
			break;
		case ST_OPT:
			t->state = ST_DATA;
			negotiate(t, t->verb, c, &o);
			break;
		case ST_SB_OPT:
			t->sb_opt = c;
			t->sb_len = 0;
			t->state = ST_SB;
			break;
		case ST_SB:
			if (c == T_IAC)
				t->state = ST_SB_IAC;
			else
				sb_byte(t, c);
			break;
		case ST_SB_IAC:
			if (c == T_IAC) {
				sb_byte(t, c);
				t->state = ST_SB;
			} else if (c == T_SE) {
				sb_done(t);
				t->state = ST_DATA;
			} else {
				/* An IAC inside a subnegotiation must be doubled
				 * or end it. Anything else ends it unfinished:
				 * it is dropped and the byte read as the command
				 * after the IAC, as BSD telnetd does. */
				command(t, c, data, &nd);
			}
			break;
		default:
			t->state = ST_DATA;
			if (c == T_IAC) {
				t->state = ST_IAC;
			} else if (c == '\0' && t->last_cr) {
				t->last_cr = 0; /* CR NUL is a bare CR */
			} else {
				data[nd++] = c;
				t->last_cr = c == '\r';
			}
			break;
		}
	}
	*data_len = nd;
	*reply_len = o.len;
	return 0;
}

size_t trap_telnet_escape(const void *in, size_t len, uint8_t *out)
{
	const uint8_t *p = in;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == T_IAC)
			out[n++] = T_IAC;
		else if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = p[i];
	}
	return n;
}
