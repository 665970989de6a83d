/*
 * libFuzzer target for the ECHONET Lite decoder (gateway/sensor/echonet.c).
 *
 * The input is a list of datagrams of one flow, each a control byte, a
 * length byte and data: bit 0 of the control byte says which side sent
 * the datagram, bits 1..3 and the length byte its length (0..2047, cut to
 * what is left). Each datagram is given in a heap block of exactly its
 * size, and the sink reads every byte it is given, so that ASan sees any
 * read past it. A UDP decoder reports a bad datagram and goes on: it must
 * never stop the flow.
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

#define PROTOCOL "ECHONET Lite"
#define DECODER gw_decoder_echonet

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *state = calloc(1, DECODER.state_size ? DECODER.state_size : 1);
	size_t off = 0;

	CHECK(state != NULL);
	while (size - off >= 2) {
		uint8_t ctl = data[off];
		enum gw_side from = ctl & 1 ? GW_SERVER : GW_CLIENT;
		size_t n = (size_t)((ctl >> 1) & 7) << 8 | data[off + 1];
		uint8_t *copy;

		off += 2;
		if (n > size - off)
			n = size - off;
		copy = malloc(n ? n : 1);
		CHECK(copy != NULL);
		memcpy(copy, data + off, n);
		CHECK(DECODER.data(state, from, copy, n, &sink) == 0);
		free(copy);
		off += n;
	}
	if (DECODER.close)
		DECODER.close(state);
	free(state);
	return 0;
}
