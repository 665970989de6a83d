/*
 * RFC 6587 framing of syslog over a byte stream (TCP, TLS): an incremental
 * decoder that takes bytes as they arrive, in pieces of any size.
 *
 * Two framings exist: octet counting ("MSG-LEN SP SYSLOG-MSG") and
 * non-transparent framing with a trailer (LF). In MM_FRAME_AUTO mode each
 * frame's framing is decided by its first byte, as rsyslog does: a digit
 * starts an octet-counted frame, anything else a LF-terminated one.
 *
 * The decoder never holds more than max_msg bytes of one message. A larger
 * frame is reported to the callback with status MM_ETOOBIG and its first
 * max_msg bytes, and the rest of it is skipped without being stored; the
 * stream stays in sync. A malformed octet count is reported with MM_EPARSE
 * and the decoder resynchronises at the next LF.
 *
 *	static int on_msg(void *arg, const uint8_t *msg, size_t len, int status);
 *	struct mm_frame_dec d;
 *	mm_frame_init(&d, MM_FRAME_AUTO, 64 * 1024);
 *	while ((n = read(fd, buf, sizeof buf)) > 0)
 *		if ((rc = mm_frame_feed(&d, buf, n, on_msg, arg)) < 0)
 *			break;                  (the callback asked to stop)
 *	mm_frame_finish(&d, on_msg, arg);       (end of stream)
 *	mm_frame_free(&d);
 */
#ifndef MAMORI_FRAME_H
#define MAMORI_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "mamori/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MM_FRAME_DEFAULT_MAX (64 * 1024)

enum mm_frame_mode {
	MM_FRAME_AUTO = 0,
	MM_FRAME_OCTET = 1, /* RFC 6587 3.4.1 octet counting only */
	MM_FRAME_LF = 2,    /* RFC 6587 3.4.2 LF trailer only */
};

/*
 * Called once per frame. status is 0 for a whole message (msg, len is it,
 * without count or LF), MM_ETOOBIG for an oversized frame (msg, len is its
 * first max_msg bytes), MM_EPARSE for a malformed octet count or a stream
 * that ended inside a frame (msg, len is what was read of it, at most
 * max_msg bytes). msg is valid only during the call. Return 0 to go on, any
 * negative value to make mm_frame_feed() stop and return it.
 */
typedef int (*mm_frame_cb)(void *arg, const uint8_t *msg, size_t len, int status);

struct mm_frame_stats {
	uint64_t frames;    /* whole messages delivered */
	uint64_t oversized; /* frames reported MM_ETOOBIG */
	uint64_t malformed; /* frames reported MM_EPARSE */
	uint64_t bytes;     /* bytes fed */
};

struct mm_frame_dec {
	enum mm_frame_mode mode;
	size_t max_msg;
	/* Internal state; read only through the functions below. */
	int state;
	enum mm_frame_mode cur;  /* framing of the frame in progress */
	uint64_t want;           /* octet counting: bytes of MSG still to come */
	uint64_t skip;           /* bytes of an oversized frame still to skip */
	size_t ndigits;
	struct mm_buf part;      /* the partial frame, at most max_msg bytes */
	struct mm_frame_stats stats;
};

/* max_msg 0 means MM_FRAME_DEFAULT_MAX. Allocates nothing yet. */
void mm_frame_init(struct mm_frame_dec *d, enum mm_frame_mode mode, size_t max_msg);
void mm_frame_free(struct mm_frame_dec *d);
/* Feeds len bytes. Returns 0, the negative value a callback returned (the
 * bytes after that frame are not decoded), or MM_ENOMEM when a frame split
 * across feeds could not be stored. Empty LF-terminated frames carry no
 * message and are passed over without a call. */
int mm_frame_feed(struct mm_frame_dec *d, const void *data, size_t len, mm_frame_cb cb,
		  void *arg);
/* Ends the stream: a last LF frame without its LF is delivered as a whole
 * message; a partial octet-counted frame is reported MM_EPARSE. */
int mm_frame_finish(struct mm_frame_dec *d, mm_frame_cb cb, void *arg);
/* Appends the octet-counted frame of msg to out ("LEN SP MSG"). */
int mm_frame_encode_octet(struct mm_buf *out, const void *msg, size_t len);

#ifdef __cplusplus
}
#endif
#endif
