/*
 * libFuzzer target for the ECHONET Lite decoder (gateway/sensor/echonet.c):
 * datagrams of one flow, each in a heap block of exactly its size, with
 * every report read and checked, and a bad datagram reported without
 * stopping the flow (fuzz_gw_feed.h).
 */
#include "fuzz_gw_feed.h"

static const char *const protocols[] = {"ECHONET Lite", NULL};

/* Errors are malformed messages only (0x30). */
static const struct fz_target target = {.decoder = &gw_decoder_echonet, .protocols = protocols};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_udp(&target, data, size);
}
