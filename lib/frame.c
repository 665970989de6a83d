/*
 * RFC 6587 framing: an incremental decoder for octet-counted and
 * LF-terminated syslog streams, and the octet-counting encoder.
 * See include/mamori/frame.h for the contract.
 *
 * The decoder is a small state machine over the bytes of each feed. A frame
 * that lies whole inside one feed is handed to the callback straight from
 * the caller's bytes; only a frame split across feeds is copied into the
 * bounded d->part, which never grows past max_msg.
 */
#include <stdint.h>
#include <string.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/frame.h"

enum {
	ST_START,      /* between frames */
	ST_COUNT,      /* reading MSG-LEN */
	ST_OCTET,      /* reading an octet-counted MSG */
	ST_OCTET_SKIP, /* dropping the tail of an oversized octet-counted MSG */
	ST_LF,         /* reading a LF-terminated MSG */
	ST_LF_SKIP,    /* dropping the tail of an oversized LF-terminated MSG */
	ST_BAD,        /* dropping a malformed frame up to the next LF */
};

void mm_frame_init(struct mm_frame_dec *d, enum mm_frame_mode mode, size_t max_msg)
{
	memset(d, 0, sizeof *d);
	d->mode = mode;
	d->max_msg = max_msg ? max_msg : MM_FRAME_DEFAULT_MAX;
	d->state = ST_START;
	d->cur = mode;
	mm_buf_init(&d->part, d->max_msg);
}

void mm_frame_free(struct mm_frame_dec *d)
{
	mm_buf_free(&d->part);
	d->state = ST_START;
	d->want = d->skip = 0;
	d->ndigits = 0;
}

/* Hands one frame to the callback, counts it, and forgets the partial
 * frame. Returns the callback's value when it asks to stop, else 0. */
static int deliver(struct mm_frame_dec *d, const uint8_t *p, size_t n, int status,
		   mm_frame_cb cb, void *arg)
{
	static const uint8_t none[1];
	int rc;

	if (p == NULL)
		p = none; /* an empty malformed frame; callbacks need not check */
	if (status == 0)
		d->stats.frames++;
	else if (status == MM_ETOOBIG)
		d->stats.oversized++;
	else
		d->stats.malformed++;
	rc = cb(arg, p, n, status);
	mm_buf_reset(&d->part);
	return rc < 0 ? rc : 0;
}

/* Delivers the partial frame with the n bytes at p appended to it; when it
 * is empty the bytes are handed over without a copy. */
static int deliver_with(struct mm_frame_dec *d, const uint8_t *p, size_t n, int status,
			mm_frame_cb cb, void *arg)
{
	int rc;

	if (d->part.len == 0)
		return deliver(d, p, n, status, cb, arg);
	if ((rc = mm_buf_append(&d->part, p, n)) < 0)
		return rc;
	return deliver(d, (const uint8_t *)d->part.data, d->part.len, status, cb, arg);
}

/* Keeps what still fits under max_msg of a frame that is being dropped, so
 * that the report of a malformed frame shows how it began. */
static int keep_some(struct mm_frame_dec *d, const uint8_t *p, size_t n)
{
	size_t room = d->max_msg - d->part.len;

	return mm_buf_append(&d->part, p, n < room ? n : room);
}

static int is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

/* The first byte of a frame picks its framing: in AUTO mode a digit starts
 * MSG-LEN, anything else a LF-terminated frame, as rsyslog's imtcp does. */
static void start_frame(struct mm_frame_dec *d, uint8_t first)
{
	enum mm_frame_mode m = d->mode;

	if (m == MM_FRAME_AUTO)
		m = is_digit(first) ? MM_FRAME_OCTET : MM_FRAME_LF;
	d->cur = m;
	d->want = d->skip = 0;
	d->ndigits = 0;
	if (m == MM_FRAME_LF)
		d->state = ST_LF;
	else
		d->state = is_digit(first) ? ST_COUNT : ST_BAD;
}

/* A frame whose MSG-LEN is wrong ends at the next LF: with no length to
 * trust, the LF is the only place where the stream can be picked up again. */
static int bad_byte(struct mm_frame_dec *d, uint8_t ch, mm_frame_cb cb, void *arg)
{
	d->state = ST_BAD;
	if (ch != '\n')
		return keep_some(d, &ch, 1);
	d->state = ST_START;
	return deliver(d, (const uint8_t *)d->part.data, d->part.len, MM_EPARSE, cb, arg);
}

/* MSG-LEN = NONZERO-DIGIT *DIGIT, then SP (RFC 6587 section 3.4.1). A
 * length past max_msg is oversized; one past 2^64-1 cannot even be skipped
 * and is malformed. */
static int feed_count(struct mm_frame_dec *d, uint8_t ch, mm_frame_cb cb, void *arg)
{
	int rc;

	if (ch == ' ' && d->ndigits > 0) {
		mm_buf_reset(&d->part);
		if (d->want > d->max_msg) {
			d->skip = d->want - d->max_msg;
			d->want = d->max_msg;
		}
		d->state = ST_OCTET;
		return 0;
	}
	if (!is_digit(ch) || (d->ndigits == 0 && ch == '0') ||
	    d->want > (UINT64_MAX - (uint64_t)(ch - '0')) / 10)
		return bad_byte(d, ch, cb, arg);
	if ((rc = keep_some(d, &ch, 1)) < 0)
		return rc;
	d->want = d->want * 10 + (uint64_t)(ch - '0');
	d->ndigits++;
	return 0;
}

/* Takes up to the rest of an octet-counted MSG from p; returns the bytes
 * used in *used. */
static int feed_octet(struct mm_frame_dec *d, const uint8_t *p, size_t n, size_t *used,
		      mm_frame_cb cb, void *arg)
{
	size_t take = d->want < n ? (size_t)d->want : n;
	int status = d->skip > 0 ? MM_ETOOBIG : 0;

	*used = take;
	if (take < d->want) {
		d->want -= take;
		return mm_buf_append(&d->part, p, take);
	}
	d->want = 0;
	d->state = d->skip > 0 ? ST_OCTET_SKIP : ST_START;
	return deliver_with(d, p, take, status, cb, arg);
}

/* Takes bytes of a LF-terminated MSG from p, up to and including its LF.
 * Empty lines carry no message and are passed over. */
static int feed_lf(struct mm_frame_dec *d, const uint8_t *p, size_t n, size_t *used,
		   mm_frame_cb cb, void *arg)
{
	const uint8_t *lf = memchr(p, '\n', n);
	size_t seg = lf ? (size_t)(lf - p) : n;
	size_t room = d->max_msg - d->part.len;

	if (seg > room) {
		/* Oversized: report the first max_msg bytes now and drop the
		 * rest of the line, which may still be arriving. */
		*used = lf ? seg + 1 : n;
		d->state = lf ? ST_START : ST_LF_SKIP;
		return deliver_with(d, p, room, MM_ETOOBIG, cb, arg);
	}
	if (lf == NULL) {
		*used = n;
		return mm_buf_append(&d->part, p, n);
	}
	*used = seg + 1;
	d->state = ST_START;
	if (d->part.len + seg == 0)
		return 0;
	return deliver_with(d, p, seg, 0, cb, arg);
}

/* Drops bytes up to and including the next LF. Returns 1 if the LF came. */
static int skip_line(const uint8_t *p, size_t n, size_t *used)
{
	const uint8_t *lf = memchr(p, '\n', n);

	*used = lf ? (size_t)(lf - p) + 1 : n;
	return lf != NULL;
}

static int feed_bad(struct mm_frame_dec *d, const uint8_t *p, size_t n, size_t *used,
		    mm_frame_cb cb, void *arg)
{
	int lf = skip_line(p, n, used), rc;

	if ((rc = keep_some(d, p, lf ? *used - 1 : *used)) < 0)
		return rc;
	if (!lf)
		return 0;
	d->state = ST_START;
	return deliver(d, (const uint8_t *)d->part.data, d->part.len, MM_EPARSE, cb, arg);
}

/* Runs the state machine over n > 0 bytes; *used says how many it took. */
static int step(struct mm_frame_dec *d, const uint8_t *p, size_t n, size_t *used,
		mm_frame_cb cb, void *arg)
{
	size_t take;

	switch (d->state) {
	case ST_START:
		start_frame(d, p[0]);
		*used = 0;
		return 0;
	case ST_COUNT:
		*used = 1;
		return feed_count(d, p[0], cb, arg);
	case ST_OCTET:
		return feed_octet(d, p, n, used, cb, arg);
	case ST_OCTET_SKIP:
		take = d->skip < n ? (size_t)d->skip : n;
		d->skip -= take;
		*used = take;
		if (d->skip == 0)
			d->state = ST_START;
		return 0;
	case ST_LF:
		return feed_lf(d, p, n, used, cb, arg);
	case ST_LF_SKIP:
		if (skip_line(p, n, used))
			d->state = ST_START;
		return 0;
	default:
		return feed_bad(d, p, n, used, cb, arg);
	}
}

int mm_frame_feed(struct mm_frame_dec *d, const void *data, size_t len, mm_frame_cb cb,
		  void *arg)
{
	const uint8_t *p = data;
	size_t off = 0, used;
	int rc;

	d->stats.bytes += len;
	while (off < len) {
		used = 0;
		rc = step(d, p + off, len - off, &used, cb, arg);
		off += used;
		if (rc < 0)
			return rc;
	}
	return 0;
}

int mm_frame_finish(struct mm_frame_dec *d, mm_frame_cb cb, void *arg)
{
	int state = d->state;

	d->state = ST_START;
	switch (state) {
	case ST_LF:
		if (d->part.len == 0)
			return 0;
		return deliver(d, (const uint8_t *)d->part.data, d->part.len, 0, cb, arg);
	case ST_COUNT:
	case ST_OCTET:
	case ST_BAD:
		return deliver(d, (const uint8_t *)d->part.data, d->part.len, MM_EPARSE, cb,
			       arg);
	default:
		/* Between frames, or in the tail of an oversized frame that was
		 * reported already. */
		mm_buf_reset(&d->part);
		return 0;
	}
}

int mm_frame_encode_octet(struct mm_buf *out, const void *msg, size_t len)
{
	size_t start = out->len;
	int rc;

	if (len == 0)
		return MM_EINVAL; /* MSG-LEN starts with a non-zero digit */
	if ((rc = mm_buf_printf(out, "%zu ", len)) < 0)
		return rc;
	if ((rc = mm_buf_append(out, msg, len)) < 0) {
		out->len = start;
		out->data[start] = '\0';
	}
	return rc;
}
