/*
 * libFuzzer target for mamori-gw's MQTT decoder (gateway/sensor/mqtt.c): a
 * conversation fed as the flow tracker feeds a TCP flow, with a buffer of
 * the default max_buffer per side, and every report read and checked
 * (fuzz_gw_feed.h). The seeds write chunk lengths of 0..382.
 */
#include "fuzz_gw_feed.h"

static const char *const protocols[] = {"MQTT 3.1.1", "MQTT 5", NULL};

/* An MQTT 5 DISCONNECT's reason code of 0x80 or above is an error with the
 * protocol's own code. */
static const struct fz_target target = {
	.decoder = &gw_decoder_mqtt, .protocols = protocols, .error_codes = 1,
	.buf_max = 65536, .lengths = FZ_LEN_0_382,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_tcp(&target, data, size);
}
