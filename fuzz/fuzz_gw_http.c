/*
 * libFuzzer target for mamori-gw's HTTP/1.x decoder (gateway/sensor/http.c).
 *
 * The input is a conversation: chunks, each a header byte and its bytes.
 * The header's low bit says who sent the chunk (0 client, 1 server), the
 * other seven bits its length (0-126; 127 takes the next byte too, for
 * 127-382 bytes). The chunks are handed to the decoder the way the flow
 * tracker does: appended to a bounded buffer per side, data() called while
 * it consumes, bytes it asks to skip dropped unseen, gap() called when the
 * buffer is full. The sink reads every byte of every report, so that
 * AddressSanitizer sees a report that points outside the input, and the
 * target aborts on a report or a return value outside the contract.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/sensor.h"

#define DECODER gw_decoder_http
#define BUF_MAX 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

static volatile uint64_t sink_sum;

static void touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t s = 0;

	CHECK(n == 0 || p != NULL);
	for (size_t i = 0; i < n; i++)
		s += b[i];
	sink_sum += s;
}

static void touch_msg(const struct gw_msg *m)
{
	CHECK(m->protocol != NULL);
	touch(m->protocol, strlen(m->protocol));
	CHECK(m->from == GW_CLIENT || m->from == GW_SERVER);
	CHECK(m->key_len <= GW_KEY_MAX);
	touch(m->key, m->key_len);
	CHECK(m->raw_len > 0);
	touch(m->raw, m->raw_len);
	if (m->detail)
		touch(m->detail, strlen(m->detail));
}

static void touch_status(const struct mm_reporter_status *st)
{
	CHECK(st->outcome <= MM_REPORTER_ERR_STD);
	if (st->text)
		touch(st->text, strlen(st->text));
}

static void on_request(void *arg, const struct gw_msg *m, unsigned timeout_ms)
{
	(void)arg;
	(void)timeout_ms;
	touch_msg(m);
}

static void on_response(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st)
{
	(void)arg;
	touch_msg(m);
	touch_status(st);
}

static void on_error(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st)
{
	(void)arg;
	touch_msg(m);
	touch_status(st);
	CHECK(st->outcome != MM_REPORTER_OK);
}

static void on_periodic(void *arg, const struct gw_msg *m)
{
	(void)arg;
	touch_msg(m);
}

struct side {
	uint8_t *buf;
	size_t len;
	uint64_t skip;
};

/* Hands n bytes of one side to the decoder; returns 1 once it stopped. */
static int feed(void *state, struct side *s, enum gw_side from, const uint8_t *p, size_t n,
		const struct gw_sink *sink)
{
	uint64_t k = s->skip < n ? s->skip : n;

	s->skip -= k;
	p += k;
	n -= k;
	if (s->len + n > BUF_MAX) {
		/* The tracker's bound: what it held is dropped, and the
		 * decoder told. */
		s->len = 0;
		if (!DECODER.gap || DECODER.gap(state, from) != 0)
			return 1;
		if (n > BUF_MAX)
			return 0;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	while (s->len > 0) {
		/* An allocation of exactly the bytes at hand, so that a read
		 * past them is caught. */
		uint8_t *copy = malloc(s->len);
		long r;

		CHECK(copy != NULL);
		memcpy(copy, s->buf, s->len);
		r = DECODER.data(state, from, copy, s->len, sink);
		free(copy);
		if (r == GW_STOP)
			return 1;
		CHECK(r >= 0);
		if (r == 0)
			return 0;
		if ((uint64_t)r >= s->len) {
			s->skip = (uint64_t)r - s->len;
			s->len = 0;
			return 0;
		}
		memmove(s->buf, s->buf + r, s->len - (size_t)r);
		s->len -= (size_t)r;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bufs[2][BUF_MAX];
	struct gw_sink sink = {on_request, on_response, on_error, on_periodic, NULL};
	struct side sides[2] = {{bufs[0], 0, 0}, {bufs[1], 0, 0}};
	void *state = calloc(1, DECODER.state_size);
	size_t pos = 0;

	CHECK(state != NULL);
	while (pos < size) {
		unsigned h = data[pos++];
		enum gw_side from = (h & 1) ? GW_SERVER : GW_CLIENT;
		size_t n = h >> 1;

		if (n == 127 && pos < size)
			n += data[pos++];
		if (n > size - pos)
			n = size - pos;
		if (feed(state, &sides[from], from, data + pos, n, &sink))
			break;
		pos += n;
	}
	if (DECODER.close)
		DECODER.close(state);
	free(state);
	return 0;
}
