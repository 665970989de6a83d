/*
 * libFuzzer target for the Modbus/TCP decoder (gateway/sensor/modbus.c): a
 * conversation fed as the flow tracker feeds a TCP flow, with a buffer of
 * the smallest max_buffer per side (an ADU is at most 260 bytes), and every
 * report read and checked (fuzz_gw_feed.h). The seeds write chunk lengths
 * of 1..128.
 */
#include "fuzz_gw_feed.h"

static const char *const protocols[] = {"Modbus/TCP", NULL};

/* Errors are malformed messages only (0x30). */
static const struct fz_target target = {
	.decoder = &gw_decoder_modbus, .protocols = protocols, .buf_max = 1024,
	.lengths = FZ_LEN_1_128,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_tcp(&target, data, size);
}
