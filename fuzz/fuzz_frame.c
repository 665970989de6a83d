/*
 * libFuzzer target for the RFC 6587 frame decoder (lib/frame.c).
 *
 * The first byte picks the framing, a small max_msg (1..256) and a seed for
 * where the rest of the input is cut into feeds. The stream is decoded twice,
 * once whole and once in those pieces, and the target aborts when a frame is
 * longer than max_msg, an oversized frame is not exactly max_msg bytes, a
 * status is outside the contract, the counters disagree with the frames, or
 * the two decodings deliver different frames.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"
#include "mamori/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)               \
	do {                   \
		if (!(x))      \
			abort(); \
	} while (0)

/* A digest of the frames delivered, to compare two decodings. */
struct seen {
	enum mm_frame_mode mode;
	size_t max;
	uint64_t hash;
	uint64_t n, ok, big, bad;
};

static void mix(struct seen *s, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		s->hash = (s->hash ^ b[i]) * 0x100000001b3ULL;
}

static int on_msg(void *arg, const uint8_t *msg, size_t len, int status)
{
	struct seen *s = arg;

	CHECK(msg != NULL);
	CHECK(len <= s->max);
	switch (status) {
	case 0:
		s->ok++;
		CHECK(len > 0);
		/* A whole LF-framed message never holds its terminator. */
		if (s->mode == MM_FRAME_LF)
			CHECK(memchr(msg, '\n', len) == NULL);
		break;
	case MM_ETOOBIG:
		s->big++;
		CHECK(len == s->max);
		break;
	case MM_EPARSE:
		s->bad++;
		break;
	default:
		abort();
	}
	s->n++;
	mix(s, &status, sizeof status);
	mix(s, &len, sizeof len);
	mix(s, msg, len);
	return 0;
}

static void decode(const uint8_t *p, size_t n, enum mm_frame_mode mode, size_t max,
		   uint32_t seed, struct seen *s)
{
	struct mm_frame_dec d;
	size_t off = 0;

	memset(s, 0, sizeof *s);
	s->mode = mode;
	s->max = max;
	s->hash = 0xcbf29ce484222325ULL;
	mm_frame_init(&d, mode, max);
	while (off < n) {
		size_t piece = n - off;

		/* seed 0: all at once; else pieces of 1 to 16 bytes. */
		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			piece = 1 + (seed >> 16) % 16;
			if (piece > n - off)
				piece = n - off;
		}
		CHECK(mm_frame_feed(&d, p + off, piece, on_msg, s) == 0);
		off += piece;
	}
	CHECK(mm_frame_finish(&d, on_msg, s) == 0);
	CHECK(d.stats.bytes == n);
	CHECK(d.stats.frames == s->ok && d.stats.oversized == s->big &&
	      d.stats.malformed == s->bad);
	mm_frame_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum mm_frame_mode modes[3] = { MM_FRAME_AUTO, MM_FRAME_OCTET,
						     MM_FRAME_LF };
	struct seen whole, split;
	enum mm_frame_mode mode;
	size_t max;

	if (size < 1)
		return 0;
	mode = modes[data[0] % 3];
	max = 1 + (size_t)(data[0] / 3) * 3; /* 1..256 */
	decode(data + 1, size - 1, mode, max, 0, &whole);
	decode(data + 1, size - 1, mode, max, data[0] | 0x100u, &split);
	CHECK(whole.n == split.n && whole.hash == split.hash);
	return 0;
}
