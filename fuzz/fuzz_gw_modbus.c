/*
 * libFuzzer target for the Modbus/TCP decoder (gateway/sensor/modbus.c).
 *
 * The input is a list of chunks, each a control byte and data: bit 0 of
 * the control byte says which side sent the chunk, the other bits its
 * length (1..128, cut to what is left). The chunks are fed the way the
 * flow tracker feeds a TCP flow: each direction keeps its unconsumed bytes
 * in a bounded buffer, data() is called again while it consumes, a full
 * buffer is dropped and reported with gap(), a return past the bytes given
 * skips that many more of the stream, and GW_STOP ends the flow. Each call
 * gets a heap copy of exactly the bytes held, and the sink reads every byte
 * it is given, so that ASan sees any read past them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/sensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

#define PROTOCOL "Modbus/TCP"
#define DECODER gw_decoder_modbus
#define BUF_MAX 1024 /* per direction, as the tracker's max_buffer (scaled down) */

/* ---- a sink that reads every byte it is given ---- */

static volatile uint8_t sink_sum;

static void touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t x = 0;

	CHECK(n == 0 || p != NULL);
	for (size_t i = 0; i < n; i++)
		x ^= b[i];
	sink_sum ^= x;
}

static void touch_msg(const struct gw_msg *m)
{
	CHECK(m->protocol != NULL && strcmp(m->protocol, PROTOCOL) == 0);
	CHECK(m->from == GW_CLIENT || m->from == GW_SERVER);
	CHECK(m->key_len <= GW_KEY_MAX);
	touch(m->key, m->key_len);
	touch(m->raw, m->raw_len);
	if (m->detail)
		touch(m->detail, strlen(m->detail) + 1);
}

static void touch_status(const struct mm_reporter_status *st)
{
	CHECK(st->outcome == MM_REPORTER_OK || st->outcome == MM_REPORTER_ERR_NUM ||
	      st->outcome == MM_REPORTER_ERR_STD);
	if (st->text)
		touch(st->text, strlen(st->text) + 1);
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
	/* A decoder's own errors are malformed messages: Invalid Command. */
	CHECK(st->outcome == MM_REPORTER_ERR_STD && st->std == 0x30);
	CHECK(m->detail != NULL);
}

static void on_periodic(void *arg, const struct gw_msg *m)
{
	(void)arg;
	touch_msg(m);
}

static const struct gw_sink sink = {on_request, on_response, on_error, on_periodic, NULL};

/* ---- a flow as the tracker drives it ---- */

struct dir {
	uint8_t buf[BUF_MAX];
	size_t len;
	size_t skip;
};

/* Returns 0, or -1 when the decoder stopped the flow. */
static int feed(void *state, enum gw_side from, struct dir *d, const uint8_t *p, size_t n)
{
	/* Bytes the decoder asked to skip are dropped unseen. */
	if (d->skip) {
		size_t s = d->skip < n ? d->skip : n;

		d->skip -= s;
		p += s;
		n -= s;
	}
	while (n > 0) {
		size_t take = BUF_MAX - d->len < n ? BUF_MAX - d->len : n;

		memcpy(d->buf + d->len, p, take);
		d->len += take;
		p += take;
		n -= take;
		while (d->len > 0) {
			uint8_t *copy = malloc(d->len);
			long rc;

			CHECK(copy != NULL);
			memcpy(copy, d->buf, d->len);
			rc = DECODER.data(state, from, copy, d->len, &sink);
			free(copy);
			if (rc == GW_STOP)
				return -1;
			CHECK(rc >= 0);
			if (rc == 0) {
				if (d->len < BUF_MAX)
					break;
				/* The buffer is full and the message still not whole. */
				d->len = 0;
				if (!DECODER.gap || DECODER.gap(state, from) != 0)
					return -1;
				break;
			}
			if ((size_t)rc >= d->len) {
				size_t extra = (size_t)rc - d->len;

				d->len = 0;
				if (extra > n) {
					d->skip = extra - n;
					n = 0;
				} else {
					p += extra;
					n -= extra;
				}
				break;
			}
			memmove(d->buf, d->buf + rc, d->len - (size_t)rc);
			d->len -= (size_t)rc;
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dir *dirs = calloc(2, sizeof *dirs);
	void *state = calloc(1, DECODER.state_size ? DECODER.state_size : 1);
	size_t off = 0;

	CHECK(dirs != NULL && state != NULL);
	while (off < size) {
		uint8_t ctl = data[off++];
		enum gw_side from = ctl & 1 ? GW_SERVER : GW_CLIENT;
		size_t n = (size_t)(ctl >> 1) + 1;

		if (n > size - off)
			n = size - off;
		if (feed(state, from, &dirs[from == GW_SERVER], data + off, n) < 0)
			break;
		off += n;
	}
	if (DECODER.close)
		DECODER.close(state);
	free(state);
	free(dirs);
	return 0;
}
