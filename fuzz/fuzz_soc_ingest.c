/*
 * mamori-soc's input paths, end to end without the sockets: the bytes a peer
 * sends go through what the listener does with them and are stored.
 *   fuzz_soc_stream:   TCP/TLS — RFC 6587 framing (auto-detected per frame),
 *                      each frame parsed, stored as an event or a dead letter;
 *   fuzz_soc_datagram: UDP and RELP — the input is one message.
 * Parsing covers syslog (5424/3164), the X.1367 strict and lenient decoders
 * and the mamori event classifier; storing is a real SQLite store in memory.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"
#include "mamori/frame.h"

#include "ingest.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *st;
static const struct soc_origin origin = {
	.transport = SOC_TCP,
	.peer = "192.0.2.7:40000",
	.peer_addr = "192.0.2.7",
	.cert_cn = "fuzz-device",
	.cert_fp = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	.cert_not_after = 1800000000,
};

static void store_one(const uint8_t *msg, size_t len, const char *why_frame)
{
	struct soc_event *ev = NULL;
	const char *why = why_frame;
	struct soc_dead d;

	if (!why_frame && ingest_parse(&origin, msg, len, 1795330000000LL, &ev, &why) == 0) {
		if (store_add_event(st, ev) < 0)
			abort(); /* a parsed event must always be storable */
		soc_event_free(ev);
		return;
	}
	memset(&d, 0, sizeof d);
	d.recv_ms = 1795330000000LL;
	d.transport = origin.transport;
	d.peer = origin.peer;
	d.reason = why ? why : "unparsable";
	d.raw = msg;
	d.raw_len = len < SOC_DEAD_MAX ? len : SOC_DEAD_MAX;
	d.orig_len = len;
	if (store_add_dead(st, &d) < 0)
		abort();
}

#ifdef SOC_FUZZ_STREAM
static int on_frame(void *arg, const uint8_t *msg, size_t len, int status)
{
	(void)arg;
	store_one(msg, len, status == 0 ? NULL
			   : status == MM_ETOOBIG ? "frame too large" : "malformed frame");
	return 0;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];

	if (!st && store_open("sqlite::memory:", &st, err, sizeof err) < 0)
		abort();
	if (store_begin(st) < 0)
		abort();
#ifdef SOC_FUZZ_STREAM
	{
		struct mm_frame_dec d;
		/* Split the input in two feeds at a point the input picks, so that
		 * frames crossing reads are exercised too. */
		size_t cut = size ? data[0] % (size + 1) : 0;

		mm_frame_init(&d, MM_FRAME_AUTO, 4096);
		mm_frame_feed(&d, data, cut, on_frame, NULL);
		mm_frame_feed(&d, data + cut, size - cut, on_frame, NULL);
		mm_frame_finish(&d, on_frame, NULL);
		mm_frame_free(&d);
	}
#else
	store_one(data, size, NULL);
#endif
	/* Roll back so that the in-memory database does not grow run after run. */
	store_rollback(st);
	return 0;
}
