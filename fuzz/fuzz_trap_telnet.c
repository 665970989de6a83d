/*
 * libFuzzer target for mamori-trap's telnet layer (trap/telnet.c). The
 * first byte picks how the rest is fed: bit 7 set sends the greeting first,
 * the low six bits give a chunk size of 1..64. The rest is fed in one call,
 * in chunks of that size and one byte at a time, and every way must give
 * the same data, the same replies and the same state, within the bounds
 * telnet.h promises. The rest, NUL bytes left out, is also escaped and fed
 * back: it must come out as written with bare LF made CR LF.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telnet.h"

/* Options each side may end up with: what the greeting offers and asks
 * (0 where fewer than three are allowed: option 0 is never one). */
static int only(const uint8_t *map, unsigned a, unsigned b, unsigned c)
{
	unsigned i;

	for (i = 0; i < 256; i++)
		if (((map[i >> 3] >> (i & 7)) & 1) && i != a && i != b && i != c)
			return 0;
	return 1;
}

static void check_state(const struct trap_telnet *t, size_t fed)
{
	const char *end = memchr(t->term, '\0', sizeof t->term);
	size_t n, i;

	if (end == NULL)
		abort();
	n = (size_t)(end - t->term);
	for (i = 0; i < n; i++)
		if (t->term[i] < 0x20 || t->term[i] > 0x7e)
			abort();
	/* ECHO and SGA on our side; on the peer's, NAWS and TERMINAL-TYPE, and
	 * ECHO, which BusyBox's greeting asks of it (DO ECHO). */
	if (!only(t->us, 1, 3, 0) || !only(t->asked_us, 1, 3, 0) || !only(t->him, 1, 24, 31) ||
	    !only(t->asked_him, 1, 31, 0))
		abort();
	/* telnet.c keeps a cut subnegotiation as one past the limit, and has
	 * six states. */
	if (t->sb_len > TRAP_TELNET_SB_MAX + 1 || t->state > 5)
		abort();
	if (t->commands > fed || t->refused > t->commands)
		abort();
}

struct run {
	struct trap_telnet t;
	uint8_t *data, *reply; /* everything so far */
	size_t nd, nr, fed;
	uint8_t *chunk_data, *chunk_reply;
};

/* Feeds n bytes in one call; the replies must continue ref's (NULL for
 * the run that is the reference). */
static void feed(struct run *r, const uint8_t *in, size_t n, const struct run *ref)
{
	size_t nd, nr;

	if (trap_telnet_input(&r->t, in, n, r->chunk_data, &nd, r->chunk_reply,
			      n + TRAP_TELNET_REPLY_SLACK, &nr) != 0)
		abort();
	if (nd > n || nr > n + TRAP_TELNET_REPLY_SLACK)
		abort();
	r->fed += n;
	check_state(&r->t, r->fed);
	if (ref != NULL) {
		if (nd > ref->nd - r->nd || nr > ref->nr - r->nr ||
		    memcmp(ref->data + r->nd, r->chunk_data, nd) != 0 ||
		    memcmp(ref->reply + r->nr, r->chunk_reply, nr) != 0)
			abort();
	} else {
		memcpy(r->data + r->nd, r->chunk_data, nd);
		memcpy(r->reply + r->nr, r->chunk_reply, nr);
	}
	r->nd += nd;
	r->nr += nr;
}

static void start(struct run *r, int greet, uint8_t *bufs, size_t size)
{
	uint8_t g[32];

	memset(r, 0, sizeof *r);
	trap_telnet_init(&r->t);
	if (greet && trap_telnet_greeting(&r->t, g, sizeof g) != 12)
		abort();
	r->data = bufs;
	r->reply = bufs + size;
	r->chunk_data = bufs + 2 * size + TRAP_TELNET_REPLY_SLACK;
	r->chunk_reply = bufs + 3 * size + TRAP_TELNET_REPLY_SLACK;
}

static void same_end(const struct run *a, const struct run *b)
{
	if (a->nd != b->nd || a->nr != b->nr || memcmp(&a->t, &b->t, sizeof a->t) != 0)
		abort();
}

/* escape() then input() gives back what was escaped, bare LF made CR LF. */
static void round_trip(const uint8_t *in, size_t size, uint8_t *bufs)
{
	uint8_t *x = bufs, *esc = bufs + size, *want = bufs + 3 * size;
	uint8_t *got = bufs + 5 * size, *reply = bufs + 7 * size;
	struct trap_telnet t;
	size_t n = 0, ne, nw = 0, ng, nr, i, ff = 0;

	for (i = 0; i < size; i++)
		if (in[i] != '\0')
			x[n++] = in[i];
	for (i = 0; i < n; i++) {
		if (x[i] == '\n' && (i == 0 || x[i - 1] != '\r'))
			want[nw++] = '\r';
		want[nw++] = x[i];
		ff += x[i] == 0xff;
	}
	ne = trap_telnet_escape(x, n, esc);
	if (ne != nw + ff || ne > 2 * n)
		abort();
	trap_telnet_init(&t);
	if (trap_telnet_input(&t, esc, ne, got, &ng, reply, ne + TRAP_TELNET_REPLY_SLACK, &nr) != 0)
		abort();
	if (ng != nw || memcmp(got, want, nw) != 0 || nr != 0 || t.commands != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, chunked, bytes;
	uint8_t *bufs;
	size_t chunk, i, n, region;
	int greet;

	if (size == 0)
		return 0;
	greet = data[0] >> 7;
	chunk = (size_t)(data[0] & 0x3f) + 1;
	data++;
	size--;
	/* Room for each run's data, replies, one call's data and one call's
	 * replies; the round trip needs 9 * size and the slack. */
	region = 4 * size + 2 * TRAP_TELNET_REPLY_SLACK + 1;
	bufs = malloc(3 * region + 9 * size + TRAP_TELNET_REPLY_SLACK + 1);
	if (bufs == NULL)
		return 0;

	start(&whole, greet, bufs, size);
	feed(&whole, data, size, NULL);
	if (whole.nd > size || whole.nr > size + TRAP_TELNET_REPLY_SLACK)
		abort();

	start(&chunked, greet, bufs + region, size);
	for (i = 0; i < size; i += n) {
		n = size - i < chunk ? size - i : chunk;
		feed(&chunked, data + i, n, &whole);
	}
	same_end(&chunked, &whole);

	start(&bytes, greet, bufs + 2 * region, size);
	for (i = 0; i < size; i++)
		feed(&bytes, data + i, 1, &whole);
	same_end(&bytes, &whole);

	round_trip(data, size, bufs + 3 * region);
	free(bufs);
	return 0;
}
