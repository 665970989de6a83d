/*
 * The decoders mamori-gw knows, in the order their default ports are
 * assigned (a port given to one is not given to a later one).
 */
#include <stddef.h>

#include "sensor.h"

const struct gw_decoder *const gw_decoders[] = {
	&gw_decoder_mqtt, &gw_decoder_modbus, &gw_decoder_coap,
	&gw_decoder_echonet, &gw_decoder_http, NULL,
};
