/*
 * libFuzzer target for mamori-gw's HTTP/1.x decoder (gateway/sensor/http.c):
 * a conversation fed as the flow tracker feeds a TCP flow, with a buffer of
 * the default max_buffer per side, and every report read and checked
 * (fuzz_gw_feed.h). The seeds write chunk lengths of 0..382.
 */
#include "fuzz_gw_feed.h"

static const char *const protocols[] = {"HTTP", NULL};

/* Errors are malformed messages only (0x30). */
static const struct fz_target target = {
	.decoder = &gw_decoder_http, .protocols = protocols, .buf_max = 65536,
	.lengths = FZ_LEN_0_382,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_tcp(&target, data, size);
}
