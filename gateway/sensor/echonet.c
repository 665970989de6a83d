/*
 * ECHONET Lite decoder (UDP port 3610 on both ends).
 *
 * Reference: ECHONET Lite Specification Version 1.14, Part II, chapter 3
 * (frame format, section 3.2; services, section 3.2.5).
 *
 * A frame of the specified message format (EHD2 0x81):
 *
 *	EHD1 0x10  EHD2 0x81  TID (2)  SEOJ (3)  DEOJ (3)  ESV (1)  OPC (1)
 *	OPC x { EPC (1)  PDC (1)  EDT (PDC bytes) }
 *
 * SetGet services (ESV 0x6E, 0x7E, 0x5E) carry two lists: OPCSet and its
 * properties, then OPCGet and its properties. Frames of the arbitrary
 * message format (EHD2 0x82) have no structure the decoder can use: they
 * are counted and skipped.
 *
 * Both ends use port 3610, so which end the flow tracker calls client says
 * nothing about roles: each frame is reported by what its ESV says it is,
 * with `from` the side that sent it. The key pairing a response with its
 * request is the TID. "Not possible" responses (ESV 0x50-0x5F) are errors
 * keyed by their ESV in data/errmap/echonet.map.
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mamori/buf.h"
#include "mamori/reporter.h"
#include "sensor.h"

#define EL_PROTOCOL "ECHONET Lite"
#define EL_EHD1 0x10
#define EL_FORMAT1 0x81 /* specified message format */
#define EL_FORMAT2 0x82 /* arbitrary message format */
#define EL_HDR 12        /* EHD1 .. OPC */
#define EL_EPC_MAX 16    /* properties named in one detail */

/* Per flow: frames of the arbitrary message format seen and skipped. */
struct el_state {
	uint64_t arbitrary;
};

/* What a parsed frame's property lists hold, as far as details need. */
struct el_list {
	unsigned opc;      /* properties in the list */
	unsigned nepc;     /* of them, kept in epc[] (the first EL_EPC_MAX) */
	uint8_t epc[EL_EPC_MAX];
	uint8_t pdc0[EL_EPC_MAX]; /* 1 where that property's PDC is 0 */
};

struct el_frame {
	unsigned tid;
	const uint8_t *seoj, *deoj;
	unsigned esv;
	struct el_list set; /* the only list, or OPCSet's for SetGet */
	struct el_list get; /* OPCGet's for SetGet */
};

/* Writes with snprintf at *at, never past size; the text is cut when full. */
static void el_put(char *out, size_t size, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void el_put(char *out, size_t size, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*at + 1 >= size)
		return;
	va_start(ap, fmt);
	w = vsnprintf(out + *at, size - *at, fmt, ap);
	va_end(ap);
	if (w < 0)
		return;
	*at = (size_t)w >= size - *at ? size - 1 : *at + (size_t)w;
}

static int el_is_setget(unsigned esv)
{
	return esv == 0x6E || esv == 0x7E || esv == 0x5E;
}

/* Whether the specification defines the ESV (section 3.2.5); every 0x5x
 * value is taken as a not-possible response, as echonet.map does. */
static int el_esv_known(unsigned esv)
{
	if (esv >= 0x50 && esv <= 0x5F)
		return 1;
	switch (esv) {
	case 0x60: case 0x61: case 0x62: case 0x63: case 0x6E:
	case 0x71: case 0x72: case 0x73: case 0x74: case 0x7A: case 0x7E:
		return 1;
	default:
		return 0;
	}
}

static const char *el_esv_name(unsigned esv)
{
	switch (esv) {
	case 0x50: return "SetI_SNA";
	case 0x51: return "SetC_SNA";
	case 0x52: return "Get_SNA";
	case 0x53: return "INF_SNA";
	case 0x5E: return "SetGet_SNA";
	case 0x60: return "SetI";
	case 0x61: return "SetC";
	case 0x62: return "Get";
	case 0x63: return "INF_REQ";
	case 0x6E: return "SetGet";
	case 0x71: return "Set_Res";
	case 0x72: return "Get_Res";
	case 0x73: return "INF";
	case 0x74: return "INFC";
	case 0x7A: return "INFC_Res";
	case 0x7E: return "SetGet_Res";
	default: return NULL;
	}
}

/* Reads OPC and its properties; which names the count: "OPC", "OPCSet", "OPCGet". */
static int el_list_parse(struct mm_cur *c, struct el_list *l, const char *which, char *detail,
			 size_t size)
{
	const uint8_t *edt;
	int opc, epc, pdc;

	memset(l, 0, sizeof *l);
	if ((opc = mm_cur_getc(c)) < 0) {
		snprintf(detail, size, "frame ends before its %s", which);
		return -1;
	}
	l->opc = (unsigned)opc;
	for (unsigned i = 0; i < l->opc; i++) {
		if ((epc = mm_cur_getc(c)) < 0 || (pdc = mm_cur_getc(c)) < 0) {
			snprintf(detail, size, "%s %u but the frame ends after %u properties",
				 which, l->opc, i);
			return -1;
		}
		if (mm_cur_take(c, (size_t)pdc, &edt) < 0) {
			snprintf(detail, size,
				 "property %u of %s %u (EPC 0x%02X) has PDC %d, past the end of the frame",
				 i + 1, which, l->opc, (unsigned)epc, pdc);
			return -1;
		}
		if (l->nepc < EL_EPC_MAX) {
			l->epc[l->nepc] = (uint8_t)epc;
			l->pdc0[l->nepc] = pdc == 0;
			l->nepc++;
		}
	}
	return 0;
}

/*
 * Parses a frame of the specified message format. Returns 0, 1 for a frame
 * of the arbitrary format (nothing more to read), or -1 with detail filled.
 */
static int el_parse(const uint8_t *p, size_t n, struct el_frame *f, char *detail, size_t size)
{
	struct mm_cur c;
	const uint8_t *h;
	int esv;

	memset(f, 0, sizeof *f);
	mm_cur_init(&c, p, n);
	if (mm_cur_take(&c, 4, &h) < 0) {
		snprintf(detail, size, "%zu-byte frame, shorter than the 4-byte header", n);
		return -1;
	}
	if (h[0] != EL_EHD1) {
		snprintf(detail, size, "EHD1 0x%02X, not 0x10 (ECHONET Lite)", h[0]);
		return -1;
	}
	if (h[1] == EL_FORMAT2)
		return 1;
	if (h[1] != EL_FORMAT1) {
		snprintf(detail, size, "EHD2 0x%02X, neither 0x81 nor 0x82", h[1]);
		return -1;
	}
	f->tid = (unsigned)h[2] << 8 | h[3];
	if (mm_cur_take(&c, 3, &f->seoj) < 0 || mm_cur_take(&c, 3, &f->deoj) < 0 ||
	    (esv = mm_cur_getc(&c)) < 0 || mm_cur_peek(&c) < 0) {
		snprintf(detail, size, "%zu-byte frame, shorter than the %d-byte header", n, EL_HDR);
		return -1;
	}
	f->esv = (unsigned)esv;
	if (!el_esv_known(f->esv)) {
		snprintf(detail, size, "unknown ESV 0x%02X", f->esv);
		return -1;
	}
	if (el_is_setget(f->esv)) {
		if (el_list_parse(&c, &f->set, "OPCSet", detail, size) < 0 ||
		    el_list_parse(&c, &f->get, "OPCGet", detail, size) < 0)
			return -1;
	} else if (el_list_parse(&c, &f->set, "OPC", detail, size) < 0) {
		return -1;
	}
	if (!mm_cur_eof(&c)) {
		snprintf(detail, size, "%zu byte(s) after the last property", mm_cur_left(&c));
		return -1;
	}
	return 0;
}

/* Appends " EPC 0x80, 0xB0" for the properties of l that match: want_pdc0
 * 1 those with PDC 0, 0 those with data, -1 all. Returns how many. */
static unsigned el_put_epcs(char *out, size_t size, size_t *at, const struct el_list *l,
			    int want_pdc0)
{
	unsigned k = 0;

	for (unsigned i = 0; i < l->nepc; i++) {
		if (want_pdc0 >= 0 && l->pdc0[i] != want_pdc0)
			continue;
		el_put(out, size, at, "%s0x%02X", k ? ", " : " EPC ", l->epc[i]);
		k++;
	}
	if (l->opc > l->nepc)
		el_put(out, size, at, " (%u more unread)", l->opc - l->nepc);
	return k;
}

/*
 * Says which properties a not-possible response refused (section 3.2.5):
 * a write (SetI_SNA, SetC_SNA, and the Set part of SetGet_SNA) returns the
 * properties it accepted with PDC 0 and the refused ones with the data of
 * the request; a read or notification (Get_SNA, INF_SNA, the Get part of
 * SetGet_SNA) returns the refused ones with PDC 0 and the others with
 * their data.
 */
static void el_sna_detail(const struct el_frame *f, char *out, size_t size)
{
	size_t at = 0;
	unsigned k = 0;
	const char *name = el_esv_name(f->esv);

	out[0] = '\0';
	switch (f->esv) {
	case 0x50:
	case 0x51:
		k = el_put_epcs(out, size, &at, &f->set, 0);
		break;
	case 0x52:
	case 0x53:
		k = el_put_epcs(out, size, &at, &f->set, 1);
		break;
	case 0x5E: {
		/* Name only the parts that refused something. */
		char part[2][96];
		size_t pa[2] = {0, 0};
		unsigned ks = el_put_epcs(part[0], sizeof part[0], &pa[0], &f->set, 0);
		unsigned kg = el_put_epcs(part[1], sizeof part[1], &pa[1], &f->get, 1);

		part[0][pa[0]] = part[1][pa[1]] = '\0';
		if (ks)
			el_put(out, size, &at, " set%s", part[0]);
		if (ks && kg)
			el_put(out, size, &at, " and");
		if (kg)
			el_put(out, size, &at, " get%s", part[1]);
		k = ks + kg;
		break;
	}
	default:
		el_put(out, size, &at, "ESV 0x%02X (a reserved not-possible response) from 0x%02X%02X%02X",
		       f->esv, f->seoj[0], f->seoj[1], f->seoj[2]);
		return;
	}
	if (k == 0) {
		at = 0;
		el_put(out, size, &at, "%s from 0x%02X%02X%02X marks no property not possible",
		       name, f->seoj[0], f->seoj[1], f->seoj[2]);
		return;
	}
	el_put(out, size, &at, " of 0x%02X%02X%02X not possible", f->seoj[0], f->seoj[1],
	       f->seoj[2]);
	/* Drop the leading space the lists begin with. */
	memmove(out, out + 1, strlen(out));
}

/* "Get 0x013001 EPC 0x80, 0xB0": what a request asks of which object. */
static void el_request_detail(const struct el_frame *f, char *out, size_t size)
{
	size_t at = 0;

	out[0] = '\0';
	el_put(out, size, &at, "%s 0x%02X%02X%02X", el_esv_name(f->esv), f->deoj[0], f->deoj[1],
	       f->deoj[2]);
	if (el_is_setget(f->esv)) {
		el_put(out, size, &at, " set");
		el_put_epcs(out, size, &at, &f->set, -1);
		el_put(out, size, &at, " get");
		el_put_epcs(out, size, &at, &f->get, -1);
	} else {
		el_put_epcs(out, size, &at, &f->set, -1);
	}
}

static void el_report(const struct el_frame *f, enum gw_side from, const uint8_t *p, size_t n,
		      const struct gw_sink *sink)
{
	struct gw_msg m;
	struct mm_reporter_status st = {0};
	uint8_t tid[2] = {(uint8_t)(f->tid >> 8), (uint8_t)f->tid};
	uint8_t stream[4];
	char detail[160], text[GW_CODE_TEXT];

	gw_msg_init(&m, EL_PROTOCOL, from, p, n);
	m.key = tid;
	m.key_len = sizeof tid;
	st.text = gw_code_hex(text, f->esv);

	switch (f->esv) {
	case 0x60: /* SetI: answered only when it fails (SetI_SNA) */
	case 0x61:
	case 0x62:
	case 0x63:
	case 0x6E:
	case 0x74: /* INFC: a notification that wants INFC_Res */
		el_request_detail(f, detail, sizeof detail);
		m.detail = detail;
		/* SetI is answered only when it fails; the INF that answers INF_REQ
		 * is usually sent to the multicast group, on another flow. */
		sink->request(sink->arg, &m, f->esv == 0x60 || f->esv == 0x63
						     ? MM_REPORTER_ANSWER_OPTIONAL : 0);
		return;
	case 0x71:
	case 0x72:
	case 0x7A:
	case 0x7E:
		st.outcome = MM_REPORTER_OK;
		sink->response(sink->arg, &m, &st);
		return;
	case 0x73:
		/* INF answers an INF_REQ of the same TID when there was one, and
		 * is a reading the device sends on its own: the stream is the
		 * object and its first property. */
		st.outcome = MM_REPORTER_OK;
		sink->response(sink->arg, &m, &st);
		memcpy(stream, f->seoj, 3);
		stream[3] = f->set.nepc ? f->set.epc[0] : 0;
		m.key = stream;
		m.key_len = f->set.nepc ? 4 : 3;
		sink->periodic(sink->arg, &m);
		return;
	default: /* 0x50..0x5F, the only others el_esv_known() lets through */
		el_sna_detail(f, detail, sizeof detail);
		m.detail = detail;
		st.outcome = MM_REPORTER_ERR_NUM;
		st.num = f->esv;
		sink->response(sink->arg, &m, &st);
		return;
	}
}

/* One datagram: a bad one is reported and dropped, the flow goes on. */
static long el_data(void *state, enum gw_side from, const uint8_t *p, size_t n,
		    const struct gw_sink *sink)
{
	struct el_state *s = state;
	struct el_frame f;
	char detail[112];
	int rc = el_parse(p, n, &f, detail, sizeof detail);

	if (rc == 1) {
		s->arbitrary++;
		return 0;
	}
	if (rc < 0) {
		gw_report_malformed(sink, EL_PROTOCOL, from, p, n, detail);
		return 0;
	}
	el_report(&f, from, p, n, sink);
	return 0;
}

const struct gw_decoder gw_decoder_echonet = {
	.name = "echonet",
	.ipproto = IPPROTO_UDP,
	.ports = "3610",
	.state_size = sizeof(struct el_state),
	.data = el_data,
	.gap = NULL,
	.close = NULL,
};
