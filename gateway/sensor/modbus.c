/*
 * Modbus/TCP decoder (TCP port 502).
 *
 * References: MODBUS Messaging on TCP/IP Implementation Guide V1.0b
 * (section 3.1.3, the MBAP header) and MODBUS Application Protocol
 * Specification V1.1b3 (section 4.1 the PDU, section 6 the function codes,
 * section 7 the exception responses).
 *
 * An ADU is the 7-byte MBAP header followed by the PDU:
 *
 *	transaction id (2)  protocol id (2, always 0)  length (2)  unit id (1)
 *	function code (1)  data (length - 2)
 *
 * length counts the unit id and the PDU. A PDU is 1..253 bytes, so a valid
 * length is 2..254 and an ADU is at most 260 bytes: a whole ADU always fits
 * the tracker's buffer and nothing is ever skipped.
 *
 * The client sends requests; the server answers each with the same
 * transaction id and unit id, which together are the key. A response whose
 * function code has bit 0x80 set is an exception response: its one data
 * byte is the exception code, mapped by data/errmap/modbus.map.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mamori/buf.h"
#include "mamori/reporter.h"
#include "sensor.h"

#define MB_PROTOCOL "Modbus/TCP"
#define MB_HDR 7         /* MBAP header bytes, unit id included */
#define MB_LEN_MIN 2     /* unit id + function code */
#define MB_LEN_MAX 254   /* unit id + the longest PDU (253) */
#define MB_KEY_LEN 3     /* transaction id + unit id */
#define MB_EXCEPTION 0x80

/*
 * Per flow: after the tracker reports a gap in one direction, the next
 * bytes may begin anywhere inside an ADU. The first header after a gap is
 * checked quietly: when it is not a plausible MBAP header the flow stops
 * without blaming the peer for bytes the capture lost.
 */
struct mb_state {
	uint8_t resync[2];
};

/* Names of the public function codes (V1.1b3 section 6), for details. */
static const char *mb_function_name(unsigned fc)
{
	switch (fc) {
	case 0x01: return "read coils";
	case 0x02: return "read discrete inputs";
	case 0x03: return "read holding registers";
	case 0x04: return "read input registers";
	case 0x05: return "write single coil";
	case 0x06: return "write single register";
	case 0x07: return "read exception status";
	case 0x08: return "diagnostics";
	case 0x0B: return "get comm event counter";
	case 0x0C: return "get comm event log";
	case 0x0F: return "write multiple coils";
	case 0x10: return "write multiple registers";
	case 0x11: return "report server id";
	case 0x14: return "read file record";
	case 0x15: return "write file record";
	case 0x16: return "mask write register";
	case 0x17: return "read/write multiple registers";
	case 0x18: return "read fifo queue";
	case 0x2B: return "encapsulated interface transport";
	default: return NULL;
	}
}

/* Names an exception code (V1.1b3 section 7), for details. */
static const char *mb_exception_name(unsigned code)
{
	switch (code) {
	case 0x01: return "illegal function";
	case 0x02: return "illegal data address";
	case 0x03: return "illegal data value";
	case 0x04: return "server device failure";
	case 0x05: return "acknowledge";
	case 0x06: return "server device busy";
	case 0x07: return "negative acknowledge";
	case 0x08: return "memory parity error";
	case 0x0A: return "gateway path unavailable";
	case 0x0B: return "gateway target device failed to respond";
	default: return NULL;
	}
}

/* Reports one whole ADU (adu_len bytes at p, header already checked). */
static int mb_report(const struct gw_sink *sink, enum gw_side from, const uint8_t *p,
		     size_t adu_len)
{
	struct mm_cur c;
	const uint8_t *tid, *pid_len;
	uint8_t key[MB_KEY_LEN];
	struct gw_msg m;
	struct mm_reporter_status st = {0};
	char detail[128], text[GW_CODE_TEXT];
	const char *fname, *ename;
	int uid, fc, code;

	mm_cur_init(&c, p, adu_len);
	if (mm_cur_take(&c, 2, &tid) < 0 || mm_cur_take(&c, 4, &pid_len) < 0)
		return -1;
	uid = mm_cur_getc(&c);
	fc = mm_cur_getc(&c);
	if (uid < 0 || fc < 0)
		return -1;
	key[0] = tid[0];
	key[1] = tid[1];
	key[2] = (uint8_t)uid;

	gw_msg_init(&m, MB_PROTOCOL, from, p, adu_len);
	m.key = key;
	m.key_len = sizeof key;

	if (from == GW_CLIENT) {
		/* Every request is answered, by data or by an exception: even a
		 * function code the server does not know gets ILLEGAL FUNCTION. */
		sink->request(sink->arg, &m, 0);
		return 0;
	}
	if (!(fc & MB_EXCEPTION)) {
		st.outcome = MM_REPORTER_OK;
		sink->response(sink->arg, &m, &st);
		return 0;
	}
	code = mm_cur_getc(&c);
	if (code < 0) {
		snprintf(detail, sizeof detail,
			 "exception response to function 0x%02X without its exception code",
			 (unsigned)fc & 0x7F);
		gw_report_malformed(sink, MB_PROTOCOL, from, p, adu_len, detail);
		return -1;
	}
	fname = mb_function_name((unsigned)fc & 0x7F);
	ename = mb_exception_name((unsigned)code);
	snprintf(detail, sizeof detail, "exception 0x%02X%s%s%s to function 0x%02X%s%s",
		 (unsigned)code, ename ? " (" : "", ename ? ename : "", ename ? ")" : "",
		 (unsigned)fc & 0x7F, fname ? " " : "", fname ? fname : "");
	m.detail = detail;
	st.outcome = MM_REPORTER_ERR_NUM;
	st.num = (uint64_t)code;
	st.text = gw_code_hex(text, (unsigned)code);
	sink->response(sink->arg, &m, &st);
	return 0;
}

/*
 * Checks the MBAP header at p (n >= 7 bytes). Returns the ADU's length, or
 * 0 with detail filled when the header is malformed.
 */
static size_t mb_header(const uint8_t *p, size_t n, char *detail, size_t size)
{
	struct mm_cur c;
	const uint8_t *h;
	unsigned pid, len;

	mm_cur_init(&c, p, n);
	if (mm_cur_take(&c, 6, &h) < 0) {
		snprintf(detail, size, "MBAP header of %zu bytes", n);
		return 0;
	}
	pid = (unsigned)h[2] << 8 | h[3];
	len = (unsigned)h[4] << 8 | h[5];
	if (pid != 0) {
		snprintf(detail, size, "protocol identifier 0x%04X, not 0", pid);
		return 0;
	}
	if (len < MB_LEN_MIN || len > MB_LEN_MAX) {
		snprintf(detail, size, "MBAP length %u out of %u..%u", len, MB_LEN_MIN,
			 MB_LEN_MAX);
		return 0;
	}
	return 6 + (size_t)len;
}

/*
 * Decodes every whole ADU in p and returns the bytes they take: the tracker
 * may call once per segment or again after each consumption, and both give
 * the same reports. A malformed header stops the flow, since the stream has
 * no other way to find the next boundary.
 */
static long mb_data(void *state, enum gw_side from, const uint8_t *p, size_t n,
		    const struct gw_sink *sink)
{
	struct mb_state *s = state;
	size_t off = 0, adu;
	char detail[96];
	int side = from == GW_SERVER;

	while (n - off >= MB_HDR) {
		adu = mb_header(p + off, n - off, detail, sizeof detail);
		if (adu == 0) {
			/* raw is the MBAP header alone: the same bytes however
			 * the stream was cut into segments. */
			if (!s->resync[side])
				gw_report_malformed(sink, MB_PROTOCOL, from, p + off, MB_HDR,
						    detail);
			return GW_STOP;
		}
		if (n - off < adu)
			break;
		s->resync[side] = 0;
		if (mb_report(sink, from, p + off, adu) < 0)
			return GW_STOP;
		off += adu;
	}
	return (long)off;
}

/* After lost bytes the next ones are tried as a header (see mb_state). */
static int mb_gap(void *state, enum gw_side from)
{
	struct mb_state *s = state;

	s->resync[from == GW_SERVER] = 1;
	return 0;
}

const struct gw_decoder gw_decoder_modbus = {
	.name = "modbus",
	.ipproto = IPPROTO_TCP,
	.ports = "502",
	.state_size = sizeof(struct mb_state),
	.data = mb_data,
	.gap = mb_gap,
	.close = NULL,
};
