/*
 * The contract between mamori-gw's flow tracker and its protocol decoders.
 *
 * A decoder sees one flow (one TCP connection, or one UDP address and port
 * pair) at a time through its per-flow state. It is given the bytes one
 * side sent: for TCP, the reassembled stream of that direction, buffered
 * from the start of a message; for UDP, one datagram. It tells the sink
 * what it found: requests, responses with their protocol's status code,
 * malformed messages, and messages a device sends on its own. It knows
 * nothing of addresses, time or X.1367 records; the flow tracker
 * (gateway/flow.c) turns its reports into mm_reporter calls.
 *
 * Decoders parse attacker-controlled bytes: every length is checked against
 * what is there (include/mamori/buf.h's cursor), nothing is allocated per
 * message, and the state holds no more than a few hundred bytes.
 */
#ifndef GW_SENSOR_H
#define GW_SENSOR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "mamori/reporter.h"

/* The two ends of a flow. The client opened it (sent the TCP SYN, or the
 * first UDP datagram); the server is the end on the protocol's port. When
 * the flow tracker did not see the start, the end on the decoder's port is
 * the server. */
enum gw_side {
	GW_CLIENT = 0,
	GW_SERVER = 1,
};

/* Longest key a decoder gives; the flow tracker prefixes the ports. */
#define GW_KEY_MAX 32

/* One message a decoder reports. */
struct gw_msg {
	const char *protocol;   /* X.1367 Protocol and errmap table: "MQTT 5", "CoAP", ... */
	enum gw_side from;      /* the side that sent these bytes */
	const void *key;        /* pairs a response with its request within the flow
	                           (a packet id, a token, a transaction id); <= GW_KEY_MAX */
	size_t key_len;
	const void *raw;        /* the message's bytes (the whole message, or as much of it
	                           as was buffered) */
	size_t raw_len;
	const char *detail;     /* a short remark for the record ("SUBACK for filter 2"),
	                           or NULL */
};

/*
 * Where a decoder reports. arg is the flow tracker's; a decoder passes it
 * through untouched.
 *   request   a request that expects a response; the requester is m->from.
 *             timeout_ms 0: the configured default.
 *   response  the response to a request of the same key; the responder is
 *             m->from. st says success or the protocol's code.
 *   error     a message that is itself the error and gets no response: a
 *             malformed packet, say. m->from sent it; its raw bytes become
 *             that party's Transmitted Code. st holds the code (usually
 *             MM_REPORTER_ERR_STD with 0x30 Invalid Command).
 *   periodic  a message m->from sends on its own, that the other side
 *             expects again (an MQTT PUBLISH from a device, an ECHONET Lite
 *             INF); key names the stream (topic, object and property).
 */
struct gw_sink {
	void (*request)(void *arg, const struct gw_msg *m, unsigned timeout_ms);
	void (*response)(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st);
	void (*error)(void *arg, const struct gw_msg *m, const struct mm_reporter_status *st);
	void (*periodic)(void *arg, const struct gw_msg *m);
	void *arg;
};

/* What a TCP decoder's data() returns besides a count of bytes consumed. */
#define GW_STOP (-1L) /* the stream cannot be decoded any further: stop this flow */

struct gw_decoder {
	const char *name;       /* "mqtt": its key under [ports] in mamori-gw.conf and in logs */
	int ipproto;            /* IPPROTO_TCP or IPPROTO_UDP */
	const char *ports;      /* default server ports, "1883" or "80,8080" */
	size_t state_size;      /* bytes of per-flow state; zeroed when a flow starts */
	/*
	 * TCP: p holds n bytes `from` sent, in order, starting at a message
	 * boundary. Returns how many it consumed: 0 when a message is not yet
	 * whole (the tracker keeps the bytes and calls again with more, up to
	 * its buffer bound, after which it calls gap()); more than n to skip
	 * also the next (return - n) bytes of the stream unseen (the body of a
	 * large message, whose head was enough); or GW_STOP.
	 * UDP: p is one datagram; GW_STOP stops the flow, anything else is
	 * ignored.
	 */
	long (*data)(void *state, enum gw_side from, const uint8_t *p, size_t n,
		     const struct gw_sink *sink);
	/* TCP: bytes of `from` were lost (a hole, or a message larger than the
	 * buffer). The tracker has dropped what it held. Returns 0 when the
	 * decoder can go on from the next bytes, GW_STOP otherwise. NULL: stop. */
	int (*gap)(void *state, enum gw_side from);
	/* Frees what the state holds (nothing, for most). NULL: nothing to do. */
	void (*close)(void *state);
};

extern const struct gw_decoder gw_decoder_mqtt;
extern const struct gw_decoder gw_decoder_modbus;
extern const struct gw_decoder gw_decoder_coap;
extern const struct gw_decoder gw_decoder_echonet;
extern const struct gw_decoder gw_decoder_http;

/* Every decoder, NULL-terminated (gateway/sensor/sensor.c). */
extern const struct gw_decoder *const gw_decoders[];

/* ---- what the decoders share (gateway/sensor/common.c) ---- */

/*
 * Sets *m to a message of `protocol` that `from` sent, its bytes raw_len
 * at raw, with no key and no detail; the decoder adds those it has. m
 * points into raw and protocol, which must outlive the report.
 *
 *	struct gw_msg m;
 *
 *	gw_msg_init(&m, "CoAP", from, p, n);
 *	m.key = token;
 *	m.key_len = tkl;
 *	sink->request(sink->arg, &m, 0);
 */
void gw_msg_init(struct gw_msg *m, const char *protocol, enum gw_side from, const void *raw,
		 size_t raw_len);

/*
 * Reports a malformed message through sink->error, when the sink has one:
 * the raw_len bytes at raw that `from` sent, as the standard code 0x30
 * Invalid Command, with detail (not NULL) saying what is wrong. Nothing is
 * kept past the call.
 *
 *	gw_report_malformed(sink, "Modbus/TCP", from, p, 7, "protocol identifier 0x0001, not 0");
 */
void gw_report_malformed(const struct gw_sink *sink, const char *protocol, enum gw_side from,
			 const void *raw, size_t raw_len, const char *detail);

/* Decodes the message at the start of p (n > 0 bytes at hand); returns as
 * gw_decoder.data does. */
typedef long (*gw_step_fn)(void *state, enum gw_side from, const uint8_t *p, size_t n,
			   const struct gw_sink *sink);

/*
 * A TCP decoder's data() over a stream of messages decoded one at a time:
 * calls step at each message boundary while it consumes, and returns what
 * data() returns: the bytes of the messages decoded (0 when the first is
 * not yet whole), more than n when the last step asked to skip past the
 * bytes at hand, or GW_STOP as soon as a step returns it.
 *
 *	static long mqtt_data(void *state, enum gw_side from, const uint8_t *p,
 *			      size_t n, const struct gw_sink *sink)
 *	{
 *		return gw_stream_data(state, from, p, n, sink, one_packet);
 *	}
 */
long gw_stream_data(void *state, enum gw_side from, const uint8_t *p, size_t n,
		    const struct gw_sink *sink, gw_step_fn step);

/* A gap() for a stream where lost bytes leave no way to find the next
 * message's start: returns GW_STOP, whatever the state. */
int gw_gap_stop(void *state, enum gw_side from);

/*
 * Appends formatted text to the detail being built in note (size bytes,
 * always NUL-terminated; "" to begin with), "; " between parts. Text past
 * the end is cut, never written past it.
 *
 *	char note[128] = "";
 *
 *	gw_note(note, sizeof note, "filter %u of %u refused", 2, 3);
 */
void gw_note(char *note, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void gw_vnote(char *note, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Bytes gw_code_hex() writes at most, its NUL included. */
#define GW_CODE_TEXT 12

/*
 * Writes a protocol's code as the protocols that write their codes in
 * hexadecimal do ("0x87"), for mm_reporter_status.text, into text
 * (GW_CODE_TEXT bytes). Returns text.
 */
const char *gw_code_hex(char text[GW_CODE_TEXT], unsigned code);

#endif
