/*
 * The telnet layer of mamori-trap (RFC 854 and RFC 855 option negotiation,
 * RFC 1073 NAWS, RFC 1091 TERMINAL-TYPE), tolerant of what bots send: a
 * bare IAC at the end of a read, options the trap never offered, answers
 * to questions never asked, CR NUL and CR LF and lone CR or LF line ends,
 * subnegotiations that never end (cut at TRAP_TELNET_SB_MAX bytes).
 *
 * It never answers an acknowledgement with another (RFC 854's rule against
 * loops): the state of each option on both sides is kept in two bitmaps.
 * The greeting is BusyBox telnetd's, byte for byte: DO ECHO, DO NAWS, WILL
 * ECHO, WILL SUPPRESS-GO-AHEAD. The trap agrees to echo and suppress
 * go-ahead on its side and to the peer's window size and terminal type
 * (kept when the peer sends them); it refuses everything else.
 *
 * The state is a plain struct with no pointers, embedded in the session, so
 * an idle session costs no allocation here.
 *
 *	struct trap_telnet t;
 *	uint8_t data[4096], reply[4096 + TRAP_TELNET_REPLY_SLACK];
 *	size_t nd, nr;
 *	trap_telnet_init(&t);
 *	send(fd, reply, trap_telnet_greeting(&t, reply, sizeof reply), 0);
 *	n = recv(fd, buf, sizeof data, 0);
 *	trap_telnet_input(&t, buf, n, data, &nd, reply, sizeof reply, &nr);
 *	... nd bytes of user data (line ends as the client sent them, CR NUL
 *	    made CR), nr bytes of replies to send back ...
 */
#ifndef TRAP_TELNET_H
#define TRAP_TELNET_H

#include <stddef.h>
#include <stdint.h>

/* Longest subnegotiation kept; longer ones are consumed and ignored. */
#define TRAP_TELNET_SB_MAX 64
/* trap_telnet_input() writes at most in_len + this many reply bytes. */
#define TRAP_TELNET_REPLY_SLACK 16

struct trap_telnet {
	uint8_t state;          /* the parser's state (private) */
	uint8_t verb;           /* WILL/WONT/DO/DONT being read (private) */
	uint8_t sb_opt;         /* option of the subnegotiation being read (private) */
	uint8_t sb_len;         /* bytes of it kept (private) */
	uint8_t sb[TRAP_TELNET_SB_MAX];
	uint8_t us[32];         /* bitmap: options enabled on our side */
	uint8_t him[32];        /* bitmap: options enabled on the peer's side */
	uint8_t asked_us[32];   /* bitmap: WILL sent, answer pending */
	uint8_t asked_him[32];  /* bitmap: DO sent, answer pending */
	uint8_t last_cr;        /* the previous data byte was CR (for CR NUL) */
	uint16_t width, height; /* from NAWS; 0 until the peer sends it */
	char term[24];          /* from TERMINAL-TYPE IS, NUL-terminated; "" until sent */
	uint32_t commands;      /* IAC commands seen (counters for the session's event) */
	uint32_t refused;       /* options refused */
};

void trap_telnet_init(struct trap_telnet *t);

/* Writes the trap's opening negotiation (at most 32 bytes) into out and
 * marks those options as asked. Returns its length, 0 when cap is short. */
size_t trap_telnet_greeting(struct trap_telnet *t, uint8_t *out, size_t cap);

/*
 * Consumes in_len bytes from the peer. The user data they carry goes to
 * data (at most in_len bytes: the caller gives room for in_len), with IAC
 * IAC made one 0xFF, CR NUL made CR, and every command and subnegotiation
 * removed. Replies go to reply (at most in_len + TRAP_TELNET_REPLY_SLACK
 * bytes; reply_cap must be at least that). A partial command at the end is
 * kept in the state for the next call. Returns 0; -1 only when reply_cap is
 * too small (nothing consumed).
 */
int trap_telnet_input(struct trap_telnet *t, const uint8_t *in, size_t in_len, uint8_t *data,
		      size_t *data_len, uint8_t *reply, size_t reply_cap, size_t *reply_len);

/*
 * Escapes len bytes of terminal output for the wire: 0xFF doubled, a LF not
 * preceded by CR made CR LF (as a tty's ONLCR does). out needs 2 * len
 * bytes. Returns the bytes written.
 */
size_t trap_telnet_escape(const void *in, size_t len, uint8_t *out);

#endif
