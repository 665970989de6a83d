/*
 * The harness of mamori-gw's decoder fuzz targets (fuzz_gw_<decoder>.c):
 * each target names its decoder in a struct fz_target and hands its input
 * to fz_tcp() or fz_udp().
 *
 * fz_tcp() reads the input as a conversation of chunks, each a header byte
 * and its bytes. The header's low bit says who sent the chunk (0 client,
 * 1 server), the other seven bits its length, as the target's seeds write
 * it (enum fz_lengths). The chunks are fed the way the flow tracker
 * (gateway/flow.c) feeds a TCP flow: each side keeps its unconsumed bytes
 * in a buffer of buf_max bytes, data() is called again while it consumes,
 * a return past the bytes given skips that many more of the stream unseen,
 * a full buffer whose message is still not whole is dropped and reported
 * with gap(), and GW_STOP (from data(), or from gap() or its absence) ends
 * the flow.
 *
 * fz_udp() reads it as datagrams of one flow, each a control byte, a length
 * byte and data: bit 0 of the control byte says which side sent the
 * datagram, bits 1..3 and the length byte its length (0..2047, cut to what
 * is left). A UDP decoder reports a bad datagram and goes on: data() must
 * never stop the flow.
 *
 * Each data() call gets a heap block of exactly the bytes at hand, and the
 * sink reads every byte of every report, so that AddressSanitizer sees a
 * read past the input or a report that points outside it. The target
 * aborts on a report or a return value outside sensor.h's contract.
 */
#ifndef FUZZ_GW_FEED_H
#define FUZZ_GW_FEED_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/sensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How a TCP target's chunk header gives the chunk's length. */
enum fz_lengths {
	FZ_LEN_0_382, /* 0..126; 127 adds the next byte, for 127..382 */
	FZ_LEN_1_128, /* the seven bits plus one: 1..128 */
};

/* What a target fuzzes and what its reports may be. */
struct fz_target {
	const struct gw_decoder *decoder;
	const char *const *protocols; /* NULL-terminated: every report names one */
	int error_codes;              /* error() may carry the protocol's own code (an
	                                 MQTT 5 DISCONNECT); otherwise only 0x30 */
	size_t buf_max;               /* TCP: each side's buffer (the tracker's max_buffer) */
	enum fz_lengths lengths;      /* TCP: how chunk lengths are written */
};

/* One input's run: what the sink checks reports against. */
struct fz_run {
	const struct fz_target *t;
	size_t raw_min; /* a TCP report's raw bytes are never empty: data() had some */
};

/* An abort() that libFuzzer reports as a crash with its stack. */
static void fz_check(int ok)
{
	if (!ok)
		abort();
}

/* ---- a sink that reads every byte it is given ---- */

static volatile uint64_t fz_sum;

static void fz_touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t s = 0;

	fz_check(n == 0 || p != NULL);
	for (size_t i = 0; i < n; i++)
		s += b[i];
	fz_sum += s;
}

static void fz_touch_msg(const struct fz_run *run, const struct gw_msg *m)
{
	const char *const *pr = run->t->protocols;

	fz_check(m->protocol != NULL);
	while (*pr && strcmp(*pr, m->protocol) != 0)
		pr++;
	fz_check(*pr != NULL);
	fz_touch(m->protocol, strlen(m->protocol) + 1);
	fz_check(m->from == GW_CLIENT || m->from == GW_SERVER);
	fz_check(m->key_len <= GW_KEY_MAX);
	fz_touch(m->key, m->key_len);
	fz_check(m->raw_len >= run->raw_min);
	fz_touch(m->raw, m->raw_len);
	if (m->detail)
		fz_touch(m->detail, strlen(m->detail) + 1);
}

static void fz_touch_status(const struct mm_reporter_status *st)
{
	fz_check(st->outcome == MM_REPORTER_OK || st->outcome == MM_REPORTER_ERR_NUM ||
		 st->outcome == MM_REPORTER_ERR_STD);
	if (st->text)
		fz_touch(st->text, strlen(st->text) + 1);
}

static void fz_on_request(void *arg, const struct gw_msg *m, unsigned timeout_ms)
{
	(void)timeout_ms;
	fz_touch_msg(arg, m);
}

static void fz_on_response(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st)
{
	fz_touch_msg(arg, m);
	fz_touch_status(st);
}

static void fz_on_error(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st)
{
	const struct fz_run *run = arg;

	fz_touch_msg(run, m);
	fz_touch_status(st);
	fz_check(st->outcome != MM_REPORTER_OK);
	/* A decoder's own errors are malformed messages: Invalid Command, and
	 * a detail saying what is wrong. */
	if (st->outcome == MM_REPORTER_ERR_STD)
		fz_check(st->std == 0x30 && m->detail != NULL);
	else
		fz_check(run->t->error_codes);
}

static void fz_on_periodic(void *arg, const struct gw_msg *m)
{
	fz_touch_msg(arg, m);
}

static void fz_sink_init(struct gw_sink *sink, struct fz_run *run)
{
	sink->request = fz_on_request;
	sink->response = fz_on_response;
	sink->error = fz_on_error;
	sink->periodic = fz_on_periodic;
	sink->arg = run;
}

/* The decoder's zeroed per-flow state, as the tracker gives it. */
static void *fz_state_new(const struct gw_decoder *dec)
{
	void *state = calloc(1, dec->state_size ? dec->state_size : 1);

	fz_check(state != NULL);
	return state;
}

static void fz_state_free(const struct gw_decoder *dec, void *state)
{
	if (dec->close)
		dec->close(state);
	free(state);
}

/* data() on a heap copy of exactly the n bytes at p. */
static long fz_data(const struct gw_decoder *dec, void *state, enum gw_side from,
		    const uint8_t *p, size_t n, const struct gw_sink *sink)
{
	uint8_t *copy = malloc(n ? n : 1);
	long rc;

	fz_check(copy != NULL);
	memcpy(copy, p, n);
	rc = dec->data(state, from, copy, n, sink);
	free(copy);
	return rc;
}

/* ---- a TCP flow as the tracker drives it ---- */

struct fz_dir {
	uint8_t *buf; /* buf_max bytes */
	size_t len;
	size_t skip;
};

/* Hands n bytes of one side to the decoder. Returns 0, or -1 when the
 * decoder stopped the flow. */
static int fz_feed(const struct fz_target *t, void *state, const struct gw_sink *sink,
		   enum gw_side from, struct fz_dir *d, const uint8_t *p, size_t n)
{
	const struct gw_decoder *dec = t->decoder;

	/* Bytes the decoder asked to skip are dropped unseen. */
	if (d->skip) {
		size_t s = d->skip < n ? d->skip : n;

		d->skip -= s;
		p += s;
		n -= s;
	}
	while (n > 0) {
		size_t take = t->buf_max - d->len < n ? t->buf_max - d->len : n;

		memcpy(d->buf + d->len, p, take);
		d->len += take;
		p += take;
		n -= take;
		while (d->len > 0) {
			long rc = fz_data(dec, state, from, d->buf, d->len, sink);

			if (rc == GW_STOP)
				return -1;
			fz_check(rc >= 0);
			if (rc == 0) {
				if (d->len < t->buf_max)
					break;
				/* The buffer is full and the message still not whole. */
				d->len = 0;
				if (!dec->gap || dec->gap(state, from) != 0)
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

/* Runs t's TCP decoder over one input (see the top of this file). */
__attribute__((unused)) static int fz_tcp(const struct fz_target *t, const uint8_t *data,
					  size_t size)
{
	struct fz_run run = {t, 1};
	struct fz_dir dirs[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
	struct gw_sink sink;
	void *state = fz_state_new(t->decoder);
	size_t off = 0;

	fz_sink_init(&sink, &run);
	dirs[0].buf = malloc(t->buf_max);
	dirs[1].buf = malloc(t->buf_max);
	fz_check(dirs[0].buf != NULL && dirs[1].buf != NULL);
	while (off < size) {
		unsigned h = data[off++];
		enum gw_side from = h & 1 ? GW_SERVER : GW_CLIENT;
		size_t n = h >> 1;

		if (t->lengths == FZ_LEN_1_128)
			n++;
		else if (n == 127 && off < size)
			n += data[off++];
		if (n > size - off)
			n = size - off;
		if (fz_feed(t, state, &sink, from, &dirs[from], data + off, n) < 0)
			break;
		off += n;
	}
	fz_state_free(t->decoder, state);
	free(dirs[0].buf);
	free(dirs[1].buf);
	return 0;
}

/* Runs t's UDP decoder over one input (see the top of this file). */
__attribute__((unused)) static int fz_udp(const struct fz_target *t, const uint8_t *data,
					  size_t size)
{
	struct fz_run run = {t, 0};
	struct gw_sink sink;
	void *state = fz_state_new(t->decoder);
	size_t off = 0;

	fz_sink_init(&sink, &run);
	while (size - off >= 2) {
		uint8_t ctl = data[off];
		enum gw_side from = ctl & 1 ? GW_SERVER : GW_CLIENT;
		size_t n = (size_t)((ctl >> 1) & 7) << 8 | data[off + 1];

		off += 2;
		if (n > size - off)
			n = size - off;
		fz_check(fz_data(t->decoder, state, from, data + off, n, &sink) == 0);
		off += n;
	}
	fz_state_free(t->decoder, state);
	return 0;
}

#endif
