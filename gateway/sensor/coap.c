/*
 * CoAP decoder (UDP port 5683), RFC 7252 with the Observe option of
 * RFC 7641.
 *
 * A message (RFC 7252 section 3):
 *
 *	Ver (2 bits, 1)  Type (2: CON NON ACK RST)  TKL (4, 0..8)
 *	Code (8: class.detail)  Message ID (16)
 *	Token (TKL bytes)  Options (delta/length nibbles, 13 and 14 extend,
 *	15 reserved)  0xFF and the payload (not empty when the marker is there)
 *
 * Requests (class 0, detail 1..31) are paired with their responses by token
 * (section 5.3.2). A piggybacked response travels in the ACK of the
 * request's CON message and carries its message id: a small ring of the
 * CON requests seen keeps message id -> token, so that the ACK is checked
 * against the message it acknowledges, a retransmitted request or ACK is
 * reported once, and a Reset (RST) of a request is reported as that
 * request's (refused) answer.
 *
 * Responses of class 2 are successes; 4.xx and 5.xx are errors, given to
 * the reporter as class * 100 + detail ("CoAP" table of
 * data/errmap/coap.map: 4.04 is 404).
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mamori/buf.h"
#include "mamori/reporter.h"
#include "sensor.h"

#define COAP_PROTOCOL "CoAP"
#define COAP_TOKEN_MAX 8
#define COAP_RING 16     /* CON requests remembered per flow */
#define COAP_OBSERVED 8  /* tokens with an observation running, per flow */

enum { COAP_CON = 0, COAP_NON = 1, COAP_ACK = 2, COAP_RST = 3 };

#define COAP_OPT_OBSERVE 6
#define COAP_OPT_URI_PATH 11

/* A CON request seen: its message id and token, who sent it. */
struct coap_req {
	uint16_t mid;
	uint8_t used;      /* 1 when the slot holds a request */
	uint8_t side;      /* enum gw_side of the requester */
	uint8_t answered;  /* an ACK or RST came for it: a second one is a duplicate */
	uint8_t tkl;
	uint8_t token[COAP_TOKEN_MAX];
};

/* A token whose first Observe response was reported: later ones are periodic. */
struct coap_obs {
	uint8_t used;
	uint8_t tkl;
	uint8_t token[COAP_TOKEN_MAX];
};

struct coap_state {
	struct coap_req ring[COAP_RING];
	unsigned ring_next;
	struct coap_obs obs[COAP_OBSERVED];
	unsigned obs_next;
	/* The last separate (CON) response each side sent: the same message
	 * id again is a retransmission, already reported. */
	uint16_t con_resp_mid[2];
	uint8_t con_resp_seen[2];
};

/* One parsed message. */
struct coap_msg {
	unsigned type, tkl, code, mid;
	const uint8_t *token;
	int observe;              /* the Observe option is present */
	char path[80];            /* the Uri-Path, "/a/b", cut to fit */
};

/* Appends one Uri-Path segment, printable ASCII only, cut to fit. */
static void coap_path_add(char *path, size_t size, const uint8_t *v, size_t len)
{
	size_t at = strlen(path);

	if (at + 1 >= size)
		return;
	path[at++] = '/';
	for (size_t i = 0; i < len && at + 1 < size; i++)
		path[at++] = v[i] >= 0x20 && v[i] < 0x7F ? (char)v[i] : '?';
	path[at] = '\0';
}

/* Reads an option's delta or length nibble and its extension (section 3.1). */
static int coap_opt_ext(struct mm_cur *c, unsigned nib, unsigned *out)
{
	int a, b;

	if (nib < 13) {
		*out = nib;
		return 0;
	}
	if (nib == 13) {
		if ((a = mm_cur_getc(c)) < 0)
			return -1;
		*out = (unsigned)a + 13;
		return 0;
	}
	if ((a = mm_cur_getc(c)) < 0 || (b = mm_cur_getc(c)) < 0)
		return -1;
	*out = ((unsigned)a << 8 | (unsigned)b) + 269;
	return 0;
}

/*
 * Parses a datagram into *m. Returns 0, or -1 with detail saying what is
 * wrong (a message format error of RFC 7252 section 3 or 4).
 */
static int coap_parse(const uint8_t *p, size_t n, struct coap_msg *m, char *detail,
		      size_t size)
{
	struct mm_cur c;
	const uint8_t *h, *val;
	unsigned number = 0, delta, len, cls;
	int b;

	memset(m, 0, sizeof *m);
	mm_cur_init(&c, p, n);
	if (mm_cur_take(&c, 4, &h) < 0) {
		snprintf(detail, size, "%zu-byte datagram, shorter than the 4-byte header", n);
		return -1;
	}
	if (h[0] >> 6 != 1) {
		snprintf(detail, size, "version %u, not 1", (unsigned)h[0] >> 6);
		return -1;
	}
	m->type = (h[0] >> 4) & 3;
	m->tkl = h[0] & 0x0F;
	m->code = h[1];
	m->mid = (unsigned)h[2] << 8 | h[3];
	cls = m->code >> 5;
	if (m->tkl > COAP_TOKEN_MAX) {
		snprintf(detail, size, "token length %u (9 to 15 are reserved)", m->tkl);
		return -1;
	}
	if (m->code == 0 && n > 4) {
		snprintf(detail, size, "empty message (0.00) with %zu byte(s) after the message id",
			 n - 4);
		return -1;
	}
	if (cls == 1 || cls == 3 || cls > 5) {
		snprintf(detail, size, "code %u.%02u in a reserved class", cls, m->code & 31);
		return -1;
	}
	if (m->type == COAP_RST && m->code != 0) {
		snprintf(detail, size, "reset carrying code %u.%02u (a reset is empty)", cls,
			 m->code & 31);
		return -1;
	}
	if (m->type == COAP_ACK && cls == 0 && m->code != 0) {
		snprintf(detail, size, "acknowledgement carrying request 0.%02u", m->code & 31);
		return -1;
	}
	if (m->type == COAP_NON && m->code == 0) {
		snprintf(detail, size, "empty non-confirmable message");
		return -1;
	}
	if (mm_cur_take(&c, m->tkl, &m->token) < 0) {
		snprintf(detail, size, "token of %u bytes runs past the datagram", m->tkl);
		return -1;
	}
	while ((b = mm_cur_getc(&c)) >= 0) {
		if (b == 0xFF) {
			if (mm_cur_eof(&c)) {
				snprintf(detail, size, "payload marker with no payload");
				return -1;
			}
			break;
		}
		if ((unsigned)b >> 4 == 15) {
			snprintf(detail, size, "option delta 15 (reserved) after option %u", number);
			return -1;
		}
		if ((b & 0x0F) == 15) {
			snprintf(detail, size, "option length 15 (reserved) after option %u", number);
			return -1;
		}
		if (coap_opt_ext(&c, (unsigned)b >> 4, &delta) < 0 ||
		    coap_opt_ext(&c, (unsigned)b & 0x0F, &len) < 0) {
			snprintf(detail, size, "option header extension runs past the datagram");
			return -1;
		}
		number += delta;
		if (number > 0xFFFF) {
			snprintf(detail, size, "option number %u over 65535", number);
			return -1;
		}
		if (mm_cur_take(&c, len, &val) < 0) {
			snprintf(detail, size, "option %u value of %u bytes runs past the datagram",
				 number, len);
			return -1;
		}
		if (number == COAP_OPT_OBSERVE)
			m->observe = 1;
		else if (number == COAP_OPT_URI_PATH)
			coap_path_add(m->path, sizeof m->path, val, len);
	}
	return 0;
}

static const char *coap_method(unsigned detail)
{
	static const char *const names[] = {NULL,     "GET",   "POST",  "PUT",
					    "DELETE", "FETCH", "PATCH", "iPATCH"};

	return detail < sizeof names / sizeof names[0] ? names[detail] : NULL;
}

/* The ring slot of the CON message mid that side sent, or NULL. */
static struct coap_req *coap_ring_find(struct coap_state *s, enum gw_side side, unsigned mid)
{
	for (unsigned i = 0; i < COAP_RING; i++)
		if (s->ring[i].used && s->ring[i].side == side && s->ring[i].mid == mid)
			return &s->ring[i];
	return NULL;
}

static int coap_same_token(const uint8_t *a, unsigned alen, const uint8_t *b, unsigned blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* The observation slot of a token, or NULL. */
static struct coap_obs *coap_obs_find(struct coap_state *s, const struct coap_msg *m)
{
	for (unsigned i = 0; i < COAP_OBSERVED; i++)
		if (s->obs[i].used &&
		    coap_same_token(s->obs[i].token, s->obs[i].tkl, m->token, m->tkl))
			return &s->obs[i];
	return NULL;
}

static void coap_request(struct coap_state *s, enum gw_side from, const uint8_t *p, size_t n,
			 const struct coap_msg *m, const struct gw_sink *sink)
{
	struct gw_msg g;
	struct coap_req *r;
	struct coap_obs *o;
	char detail[112];
	const char *name = coap_method(m->code & 31);

	if (m->type == COAP_CON) {
		r = coap_ring_find(s, from, m->mid);
		/* A retransmission (same message id and token) was reported already. */
		if (r && coap_same_token(r->token, r->tkl, m->token, m->tkl))
			return;
		if (!r) {
			r = &s->ring[s->ring_next];
			s->ring_next = (s->ring_next + 1) % COAP_RING;
		}
		r->used = 1;
		r->side = (uint8_t)from;
		r->mid = (uint16_t)m->mid;
		r->answered = 0;
		r->tkl = (uint8_t)m->tkl;
		memcpy(r->token, m->token, m->tkl);
	}
	/* A new request on a token ends whatever observation ran on it: the
	 * next response with Observe answers this request. */
	if ((o = coap_obs_find(s, m)) != NULL)
		o->used = 0;

	if (name)
		snprintf(detail, sizeof detail, "%s %s", name, m->path[0] ? m->path : "/");
	else
		snprintf(detail, sizeof detail, "method 0.%02u %s", m->code & 31,
			 m->path[0] ? m->path : "/");
	gw_msg_init(&g, COAP_PROTOCOL, from, p, n);
	g.key = m->token;
	g.key_len = m->tkl;
	g.detail = detail;
	sink->request(sink->arg, &g, m->type == COAP_NON ? MM_REPORTER_ANSWER_OPTIONAL : 0);
}

static void coap_response(struct coap_state *s, enum gw_side from, const uint8_t *p, size_t n,
			  const struct coap_msg *m, const struct gw_sink *sink)
{
	struct gw_msg g;
	struct mm_reporter_status st = {0};
	struct coap_req *r = NULL;
	struct coap_obs *o;
	char detail[128], text[16];
	unsigned cls = m->code >> 5, det = m->code & 31;

	if (m->type == COAP_CON) {
		int i = from == GW_SERVER;

		if (s->con_resp_seen[i] && s->con_resp_mid[i] == m->mid)
			return;
		s->con_resp_seen[i] = 1;
		s->con_resp_mid[i] = (uint16_t)m->mid;
	}
	gw_msg_init(&g, COAP_PROTOCOL, from, p, n);
	g.key = m->token;
	g.key_len = m->tkl;

	if (m->type == COAP_ACK) {
		r = coap_ring_find(s, from == GW_CLIENT ? GW_SERVER : GW_CLIENT, m->mid);
		if (r && r->answered)
			return; /* the same ACK again, for a retransmitted request */
		if (r) {
			r->answered = 1;
			if (!coap_same_token(r->token, r->tkl, m->token, m->tkl)) {
				/* The ACK answers the message by its id; pair it with the
				 * request that id belongs to and say the token is wrong. */
				g.key = r->token;
				g.key_len = r->tkl;
				snprintf(detail, sizeof detail,
					 "piggybacked response to message id 0x%04X carries a token "
					 "other than its request's",
					 m->mid);
				g.detail = detail;
			}
		} else {
			snprintf(detail, sizeof detail,
				 "piggybacked response to message id 0x%04X, which matches no "
				 "request seen; paired by token",
				 m->mid);
			g.detail = detail;
		}
	}

	o = coap_obs_find(s, m);
	if (m->observe && cls == 2) {
		if (o) {
			/* A notification after the first: the device sends these on its
			 * own, and the observer expects them again. */
			sink->periodic(sink->arg, &g);
			return;
		}
		/* The first notification answers the registration, and is also
		 * the first message of the stream the observer now expects. */
		o = &s->obs[s->obs_next];
		s->obs_next = (s->obs_next + 1) % COAP_OBSERVED;
		o->used = 1;
		o->tkl = (uint8_t)m->tkl;
		memcpy(o->token, m->token, m->tkl);
		sink->periodic(sink->arg, &g);
	} else if (o) {
		/* A response without Observe (or an error) ends the observation
		 * (RFC 7641 section 3.2). */
		o->used = 0;
	}

	snprintf(text, sizeof text, "%u.%02u", cls, det);
	st.text = text;
	if (cls == 2) {
		st.outcome = MM_REPORTER_OK;
	} else {
		st.outcome = MM_REPORTER_ERR_NUM;
		st.num = cls * 100 + det;
	}
	sink->response(sink->arg, &g, &st);
}

/* An empty ACK or a RST: settles a CON request of the other side. */
static void coap_empty(struct coap_state *s, enum gw_side from, const uint8_t *p, size_t n,
		       const struct coap_msg *m, const struct gw_sink *sink)
{
	struct gw_msg g;
	struct mm_reporter_status st = {0};
	struct coap_req *r;

	if (m->type != COAP_ACK && m->type != COAP_RST)
		return; /* an empty CON is a ping: not a request */
	r = coap_ring_find(s, from == GW_CLIENT ? GW_SERVER : GW_CLIENT, m->mid);
	if (!r || r->answered)
		return;
	r->answered = 1;
	if (m->type == COAP_ACK)
		return; /* a separate response is to come, by token */
	gw_msg_init(&g, COAP_PROTOCOL, from, p, n);
	g.key = r->token;
	g.key_len = r->tkl;
	g.detail = "Reset";
	st.outcome = MM_REPORTER_ERR_STD;
	st.std = 0x30;
	st.text = "RST";
	sink->response(sink->arg, &g, &st);
}

/* One datagram: never stops the flow, a bad datagram is reported and dropped. */
static long coap_data(void *state, enum gw_side from, const uint8_t *p, size_t n,
		      const struct gw_sink *sink)
{
	struct coap_state *s = state;
	struct coap_msg m;
	char detail[112];

	if (coap_parse(p, n, &m, detail, sizeof detail) < 0) {
		gw_report_malformed(sink, COAP_PROTOCOL, from, p, n, detail);
		return 0;
	}
	if (m.code == 0)
		coap_empty(s, from, p, n, &m, sink);
	else if (m.code >> 5 == 0)
		coap_request(s, from, p, n, &m, sink);
	else
		coap_response(s, from, p, n, &m, sink);
	return 0;
}

const struct gw_decoder gw_decoder_coap = {
	.name = "coap",
	.ipproto = IPPROTO_UDP,
	.ports = "5683",
	.state_size = sizeof(struct coap_state),
	.data = coap_data,
	.gap = NULL,
	.close = NULL,
};
