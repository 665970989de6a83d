/*
 * MQTT decoder for mamori-gw's sensor: MQTT 3.1 ("MQIsdp" level 3), 3.1.1
 * (OASIS Standard 2014) and 5.0 (OASIS Standard 2019) over TCP.
 *
 * What it reports (sensor.h's sink), per connection:
 *   - CONNECT (key "C") answered by CONNACK: return code 0, or a v5 reason
 *     code below 0x80, is success; anything else is the proprietary code,
 *     looked up in data/errmap/mqtt.map's "MQTT 3.1.1" or "MQTT 5" table.
 *   - SUBSCRIBE and UNSUBSCRIBE (key "S" or "U" + packet id) answered by
 *     SUBACK and UNSUBACK: the first code of 0x80 or above is the error
 *     ("filter 2 of 3 refused"); an MQTT 3.1.1 UNSUBACK has no codes.
 *   - PUBLISH QoS 1 and 2 from either side (key "P", the publisher's side,
 *     packet id) answered by PUBACK or PUBREC; PUBREL (key "R", side,
 *     packet id) answered by PUBCOMP. Only MQTT 5 gives these a reason code.
 *   - PINGREQ (key "I") answered by PINGRESP.
 *   - Every PUBLISH from the client also as a periodic message of the
 *     stream named by its topic (see periodic_key()).
 *   - An MQTT 5 DISCONNECT with a reason code of 0x80 or above, from
 *     either side, as an error of the side that sent it.
 *   - A malformed packet as an error (0x30 Invalid Command) with a detail
 *     naming what is wrong; the stream then stops, since a byte stream
 *     cannot be trusted past a frame whose length or type is wrong.
 *
 * The version comes from the CONNECT. When the tracker joined a connection
 * after it, the decoder reads packets as MQTT 3.1.1 until a packet shape
 * that only MQTT 5 has (a CONNACK, PUBACK, PUBREC, PUBREL or PUBCOMP longer
 * than 2 bytes, a DISCONNECT with a body, an AUTH) shows otherwise; each
 * report then says in its detail that the version was assumed.
 *
 * A packet whose remaining length is at most MQTT_MAX_WHOLE is decoded
 * whole. A larger PUBLISH is decoded from its head (topic, packet id,
 * properties) and its payload skipped; a larger packet of any other type
 * is refused as malformed, since no control packet needs that much.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/reporter.h"
#include "sensor.h"

/* The largest remaining length decoded whole (see above). */
#define MQTT_MAX_WHOLE 16384

/* Periodic keys longer than GW_KEY_MAX keep this many bytes of the topic,
 * then a 64-bit hash of the whole topic. */
#define TOPIC_PREFIX (GW_KEY_MAX - 8)

enum mqtt_type {
	T_CONNECT = 1, T_CONNACK, T_PUBLISH, T_PUBACK, T_PUBREC, T_PUBREL, T_PUBCOMP,
	T_SUBSCRIBE, T_SUBACK, T_UNSUBSCRIBE, T_UNSUBACK, T_PINGREQ, T_PINGRESP,
	T_DISCONNECT, T_AUTH,
};

static const char *const type_name[16] = {
	"reserved type 0", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL",
	"PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP",
	"DISCONNECT", "AUTH",
};

/* Who may send each type: bit 0 the client, bit 1 the server. */
#define BY_C 1
#define BY_S 2
static const uint8_t type_senders[16] = {
	0, BY_C, BY_S, BY_C | BY_S, BY_C | BY_S, BY_C | BY_S, BY_C | BY_S, BY_C | BY_S,
	BY_C, BY_S, BY_C, BY_S, BY_C, BY_S, BY_C | BY_S, BY_C | BY_S,
};

enum mqtt_version {
	V_UNKNOWN = 0, /* no CONNECT seen: read as 3.1.1 */
	V_31 = 3,
	V_311 = 4,
	V_5 = 5,
};

struct mqtt_state {
	uint8_t version;   /* enum mqtt_version */
	uint8_t guessed;   /* version taken from a packet's shape, not a CONNECT */
	uint8_t connected; /* a CONNECT was seen */
	uint8_t password;  /* ... and it carried a password */
};

/* What one packet's handlers share. */
struct pkt {
	struct mqtt_state *st;
	const struct gw_sink *sink;
	enum gw_side from;
	unsigned type, flags;
	const uint8_t *p;   /* the packet from its first byte */
	size_t avail;       /* bytes of it at hand */
	size_t hlen;        /* fixed header bytes */
	size_t rl;          /* remaining length */
	int large;          /* a PUBLISH over MQTT_MAX_WHOLE: decoded from its head */
	int partial;        /* ... and its body at hand is cut short */
	struct mm_cur c;    /* over the body at hand */
	char note[256];     /* detail being built */
};

/* Handlers return these; R_STOP after reporting the packet as malformed. */
#define R_OK 0
#define R_AGAIN 1
#define R_STOP (-1)

/* ---- reporting ---- */

static const char *protocol(const struct mqtt_state *st)
{
	return st->version == V_5 ? "MQTT 5" : "MQTT 3.1.1";
}

/* Writes s into out as printable ASCII, each other byte (and the quote and
 * backslash) as \xNN, cut at 48 bytes with "..." after. out holds ESC_SIZE
 * bytes. */
#define ESC_SIZE (48 * 4 + 4)
static void escape(char *out, const uint8_t *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && i < 48; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
			out[o++] = (char)s[i];
		else
			o += (size_t)snprintf(out + o, ESC_SIZE - o, "\\x%02X", s[i]);
	}
	if (len > 48) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static void note_text(struct pkt *k, const char *label, const uint8_t *s, size_t len)
{
	char out[ESC_SIZE];

	escape(out, s, len);
	gw_note(k->note, sizeof k->note, "%s \"%s\"", label, out);
}

/* The remark every report of this flow carries about the version. */
static void note_version(struct pkt *k)
{
	if (k->st->version == V_31)
		gw_note(k->note, sizeof k->note, "MQTT 3.1");
	else if (k->st->version == V_UNKNOWN)
		gw_note(k->note, sizeof k->note, "no CONNECT seen, MQTT 3.1.1 assumed");
	else if (k->st->guessed)
		gw_note(k->note, sizeof k->note, "no CONNECT seen, %s from the packet's shape",
			protocol(k->st));
}

static void fill_msg(struct pkt *k, struct gw_msg *m, const void *key, size_t key_len)
{
	size_t raw = k->hlen + mm_cur_left(&k->c) + k->c.pos;

	/* A large PUBLISH's raw bytes are its head, up to where decoding
	 * stopped: the same bytes however the stream was cut. */
	gw_msg_init(m, protocol(k->st), k->from, k->p, k->large ? k->hlen + k->c.pos : raw);
	m->key = key;
	m->key_len = key_len;
	m->detail = k->note[0] ? k->note : NULL;
}

static void request(struct pkt *k, const void *key, size_t key_len)
{
	struct gw_msg m;

	if (!k->sink->request)
		return;
	fill_msg(k, &m, key, key_len);
	k->sink->request(k->sink->arg, &m, 0);
}

/* A response: code < 0 is success; otherwise code is the wire code and num
 * the one the table is asked for (they differ only where note says why). */
static void response(struct pkt *k, const void *key, size_t key_len, int code, unsigned num)
{
	struct mm_reporter_status st = {MM_REPORTER_OK, 0, NULL, 0, NULL};
	char text[GW_CODE_TEXT];
	struct gw_msg m;

	if (!k->sink->response)
		return;
	if (code >= 0) {
		st.outcome = MM_REPORTER_ERR_NUM;
		st.num = num;
		st.text = gw_code_hex(text, (unsigned)code);
	}
	fill_msg(k, &m, key, key_len);
	k->sink->response(k->sink->arg, &m, &st);
}

/* Reports the packet as malformed (fmt says why) and returns R_STOP. */
static int malformed(struct pkt *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int malformed(struct pkt *k, const char *fmt, ...)
{
	va_list ap;

	k->note[0] = '\0';
	va_start(ap, fmt);
	gw_vnote(k->note, sizeof k->note, fmt, ap);
	va_end(ap);
	note_version(k);
	gw_report_malformed(k->sink, protocol(k->st), k->from, k->p,
			    k->avail < k->hlen + k->rl ? k->avail : k->hlen + k->rl, k->note);
	return R_STOP;
}

/* ---- bounded reads ---- */

/* A field that does not fit: more bytes will come (a large PUBLISH's head
 * not yet whole), or the field runs past the packet. */
static int short_field(struct pkt *k, const char *what)
{
	if (k->partial)
		return R_AGAIN;
	return malformed(k, "%s %s runs past the packet", type_name[k->type], what);
}

static int get_u8(struct pkt *k, const char *what, unsigned *v)
{
	int ch = mm_cur_getc(&k->c);

	if (ch < 0)
		return short_field(k, what);
	*v = (unsigned)ch;
	return R_OK;
}

static int get_u16(struct pkt *k, const char *what, unsigned *v)
{
	const uint8_t *b;

	if (mm_cur_take(&k->c, 2, &b) < 0)
		return short_field(k, what);
	*v = (unsigned)b[0] << 8 | b[1];
	return R_OK;
}

/* A two-byte length and that many bytes (UTF-8 strings and binary data). */
static int get_str(struct pkt *k, const char *what, const uint8_t **s, size_t *len)
{
	unsigned n = 0;
	int rc = get_u16(k, what, &n);

	if (rc != R_OK)
		return rc;
	if (mm_cur_take(&k->c, n, s) < 0)
		return short_field(k, what);
	*len = n;
	return R_OK;
}

/* A Variable Byte Integer (MQTT 5 section 1.5.5) from the cursor. */
static int get_vbi(struct pkt *k, const char *what, size_t *v)
{
	size_t val = 0;

	for (int i = 0; i < 4; i++) {
		int ch = mm_cur_getc(&k->c);

		if (ch < 0)
			return short_field(k, what);
		val |= (size_t)(ch & 0x7f) << (7 * i);
		if (!(ch & 0x80)) {
			*v = val;
			return R_OK;
		}
	}
	return malformed(k, "%s %s over 4 bytes", type_name[k->type], what);
}

/* What a v5 property section told us. */
struct props {
	int alias;             /* Topic Alias, -1 when absent */
	const uint8_t *reason; /* Reason String */
	size_t reason_len;
};

/* The size of a property's value by identifier (MQTT 5 section 2.2.2.2):
 * 1, 2 or 4 bytes, 'v' a VBI, 's' a string or binary, 'p' a string pair,
 * 0 no such property. */
static int prop_kind(unsigned id)
{
	switch (id) {
	case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29:
	case 0x2A:
		return 1;
	case 0x13: case 0x21: case 0x22: case 0x23:
		return 2;
	case 0x02: case 0x11: case 0x18: case 0x27:
		return 4;
	case 0x0B:
		return 'v';
	case 0x03: case 0x08: case 0x09: case 0x12: case 0x15: case 0x16: case 0x1A:
	case 0x1C: case 0x1F:
		return 's';
	case 0x26:
		return 'p';
	default:
		return 0;
	}
}

/* Skips one property's value of the given kind; 0, or -1 when it does not
 * fit in what is left of the section. */
static int skip_value(struct mm_cur *c, int kind, unsigned *u, const uint8_t **s, size_t *slen)
{
	const uint8_t *b;
	int ch, i;

	switch (kind) {
	case 1:
	case 2:
	case 4:
		if (mm_cur_take(c, (size_t)kind, &b) < 0)
			return -1;
		*u = kind == 2 ? (unsigned)b[0] << 8 | b[1] : b[0];
		return 0;
	case 'v':
		for (i = 0; i < 4; i++) {
			if ((ch = mm_cur_getc(c)) < 0)
				return -1;
			if (!(ch & 0x80))
				return 0;
		}
		return -1;
	case 'p':
		if (skip_value(c, 's', u, s, slen) < 0)
			return -1;
		return skip_value(c, 's', u, s, slen);
	default: /* 's' */
		if (mm_cur_take(c, 2, &b) < 0)
			return -1;
		*slen = (size_t)b[0] << 8 | b[1];
		return mm_cur_take(c, *slen, s);
	}
}

/* Reads an MQTT 5 property section: its length, then each property, all
 * inside that length (a property that overruns the section is malformed
 * even when the packet goes on). */
static int get_props(struct pkt *k, struct props *pr)
{
	const uint8_t *sec, *s = NULL;
	struct mm_cur c;
	size_t len = 0, slen = 0;
	unsigned id, u = 0;
	int rc, kind;

	pr->alias = -1;
	pr->reason = NULL;
	pr->reason_len = 0;
	if ((rc = get_vbi(k, "property length", &len)) != R_OK)
		return rc;
	if (mm_cur_take(&k->c, len, &sec) < 0)
		return short_field(k, "property length");
	mm_cur_init(&c, sec, len);
	while (!mm_cur_eof(&c)) {
		id = (unsigned)mm_cur_getc(&c);
		if ((kind = prop_kind(id)) == 0)
			return malformed(k, "%s unknown property 0x%02X", type_name[k->type], id);
		if (skip_value(&c, kind, &u, &s, &slen) < 0)
			return malformed(k, "%s property 0x%02X runs past the property length",
					 type_name[k->type], id);
		if (id == 0x23)
			pr->alias = (int)u;
		if (id == 0x1F) {
			pr->reason = s;
			pr->reason_len = slen;
		}
	}
	return R_OK;
}

/* A body that must be fully read: bytes left over are malformed. */
static int no_more(struct pkt *k)
{
	if (!mm_cur_eof(&k->c))
		return malformed(k, "%s has trailing bytes (%zu)", type_name[k->type],
				 mm_cur_left(&k->c));
	return R_OK;
}

/* ---- the packets ---- */

static void set_guess(struct mqtt_state *st, enum mqtt_version v)
{
	if (st->version == V_UNKNOWN) {
		st->version = (uint8_t)v;
		st->guessed = 1;
	}
}

static int is_v5(const struct pkt *k)
{
	return k->st->version == V_5;
}

static int do_connect(struct pkt *k)
{
	const uint8_t *name, *s;
	size_t name_len, slen;
	unsigned level = 0, flags = 0, u, v;
	struct props pr;
	int rc;

	if (k->st->connected)
		return malformed(k, "second CONNECT on the connection");
	if ((rc = get_str(k, "protocol name", &name, &name_len)) != R_OK ||
	    (rc = get_u8(k, "protocol level", &level)) != R_OK ||
	    (rc = get_u8(k, "connect flags", &flags)) != R_OK ||
	    (rc = get_u16(k, "keep alive", &u)) != R_OK)
		return rc;
	if (name_len == 4 && memcmp(name, "MQTT", 4) == 0 && (level == 4 || level == 5))
		v = level;
	else if (name_len == 6 && memcmp(name, "MQIsdp", 6) == 0 && level == 3)
		v = V_31;
	else {
		char esc[ESC_SIZE];

		escape(esc, name, name_len);
		return malformed(k, "CONNECT protocol name \"%s\" level %u is not MQTT 3.1, "
				 "3.1.1 or 5", esc, level);
	}
	k->st->version = (uint8_t)v;
	k->st->guessed = 0;
	k->st->connected = 1;
	if (flags & 0x01)
		return malformed(k, "CONNECT reserved flag set");
	if ((flags >> 3 & 3) == 3)
		return malformed(k, "CONNECT will QoS 3");
	if (!(flags & 0x04) && (flags & 0x38))
		return malformed(k, "CONNECT will QoS or retain set without a will");
	if (v != V_5 && (flags & 0x40) && !(flags & 0x80))
		return malformed(k, "CONNECT password without a user name");
	if (v == V_5 && (rc = get_props(k, &pr)) != R_OK)
		return rc;
	if ((rc = get_str(k, "client identifier", &s, &slen)) != R_OK)
		return rc;
	if (flags & 0x04) {
		if (v == V_5 && (rc = get_props(k, &pr)) != R_OK)
			return rc;
		if ((rc = get_str(k, "will topic", &s, &slen)) != R_OK ||
		    (rc = get_str(k, "will payload", &s, &slen)) != R_OK)
			return rc;
	}
	if ((flags & 0x80) && (rc = get_str(k, "user name", &s, &slen)) != R_OK)
		return rc;
	if ((flags & 0x40) && (rc = get_str(k, "password", &s, &slen)) != R_OK)
		return rc;
	if ((rc = no_more(k)) != R_OK)
		return rc;
	k->st->password = (flags & 0x40) != 0;
	note_version(k);
	request(k, "C", 1);
	return R_OK;
}

static int do_connack(struct pkt *k)
{
	unsigned ack = 0, code = 0, num;
	struct props pr = {-1, NULL, 0};
	int rc;

	set_guess(k->st, k->rl > 2 ? V_5 : V_311);
	if (!is_v5(k) && k->rl != 2)
		return malformed(k, "CONNACK remaining length %zu, not 2", k->rl);
	if ((rc = get_u8(k, "acknowledge flags", &ack)) != R_OK ||
	    (rc = get_u8(k, "return code", &code)) != R_OK)
		return rc;
	if (ack & 0xfe)
		return malformed(k, "CONNACK reserved acknowledge flags 0x%02X", ack);
	if (is_v5(k) && k->rl > 2 && (rc = get_props(k, &pr)) != R_OK)
		return rc;
	if ((rc = no_more(k)) != R_OK)
		return rc;
	note_version(k);
	num = code;
	/*
	 * Brokers refuse a wrong password with "not authorized" rather than
	 * "bad user name or password": mosquitto 2.0.11 answers return code 5
	 * in MQTT 3.1.1 and reason 0x87 in MQTT 5 (seen on the wire), and it
	 * answers the same to a client that may not connect at all. The code
	 * alone cannot tell them apart, the CONNECT can: a refusal of a
	 * CONNECT that carried a password is a failed authentication, so the
	 * table is asked for 4 (0x86 in MQTT 5). The record keeps the code on
	 * the wire as its proprietary code, and the detail says so.
	 */
	if (k->st->password && !is_v5(k) && code == 5) {
		num = 4;
		gw_note(k->note, sizeof k->note,
			"return code 5 (not authorized) to a CONNECT with a password: "
			"read as 4 (bad user name or password)");
	} else if (k->st->password && is_v5(k) && code == 0x87) {
		num = 0x86;
		gw_note(k->note, sizeof k->note,
			"reason 0x87 (Not authorized) to a CONNECT with a password: "
			"read as 0x86 (Bad User Name or Password)");
	}
	if (pr.reason)
		note_text(k, "reason string", pr.reason, pr.reason_len);
	if (is_v5(k) ? code < 0x80 : code == 0)
		response(k, "C", 1, -1, 0);
	else
		response(k, "C", 1, (int)code, num);
	return R_OK;
}

/* The stream name of a client's PUBLISH: the topic when it fits in
 * GW_KEY_MAX bytes; otherwise its first TOPIC_PREFIX bytes and the FNV-1a
 * 64-bit hash of the whole topic, big-endian, so that two long topics
 * sharing a prefix stay two streams. An MQTT 5 PUBLISH that names its
 * topic by alias only is the stream 0x00 'A' and the alias (a topic never
 * holds U+0000, so no topic collides with it). */
static size_t periodic_key(const uint8_t *topic, size_t len, int alias, uint8_t *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	if (len == 0) {
		key[0] = 0;
		key[1] = 'A';
		key[2] = (uint8_t)(alias >> 8);
		key[3] = (uint8_t)alias;
		return 4;
	}
	if (len <= GW_KEY_MAX) {
		memcpy(key, topic, len);
		return len;
	}
	for (size_t i = 0; i < len; i++)
		h = (h ^ topic[i]) * 0x100000001b3ULL;
	memcpy(key, topic, TOPIC_PREFIX);
	for (int i = 0; i < 8; i++)
		key[TOPIC_PREFIX + i] = (uint8_t)(h >> (56 - 8 * i));
	return GW_KEY_MAX;
}

static void flow_key(uint8_t *key, char kind, enum gw_side requester, unsigned pid)
{
	key[0] = (uint8_t)kind;
	key[1] = requester == GW_CLIENT ? 'c' : 's';
	key[2] = (uint8_t)(pid >> 8);
	key[3] = (uint8_t)pid;
}

static int do_publish(struct pkt *k)
{
	unsigned qos = k->flags >> 1 & 3, pid = 0;
	struct props pr = {-1, NULL, 0};
	uint8_t key[GW_KEY_MAX];
	const uint8_t *topic;
	size_t topic_len;
	int rc;

	if (qos == 3)
		return malformed(k, "PUBLISH QoS 3");
	if ((rc = get_str(k, "topic name", &topic, &topic_len)) != R_OK)
		return rc;
	if (qos && (rc = get_u16(k, "packet identifier", &pid)) != R_OK)
		return rc;
	if (qos && pid == 0)
		return malformed(k, "PUBLISH packet identifier 0");
	if (is_v5(k) && (rc = get_props(k, &pr)) != R_OK)
		return rc;
	if (memchr(topic, '#', topic_len) || memchr(topic, '+', topic_len))
		return malformed(k, "PUBLISH topic name with a wildcard");
	if (topic_len == 0 && pr.alias < 0)
		return malformed(k, "PUBLISH empty topic name without a topic alias");
	note_version(k);
	if (qos) {
		flow_key(key, 'P', k->from, pid);
		request(k, key, 4);
	}
	if (k->from == GW_CLIENT && k->sink->periodic) {
		struct gw_msg m;

		fill_msg(k, &m, key, periodic_key(topic, topic_len, pr.alias, key));
		k->sink->periodic(k->sink->arg, &m);
	}
	return R_OK;
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP: a packet id, and in MQTT 5 an optional
 * reason code and properties (section 3.4.2.1: a remaining length of 2
 * means Success). */
static int do_pubresp(struct pkt *k)
{
	unsigned pid = 0, code = 0;
	struct props pr = {-1, NULL, 0};
	enum gw_side other = k->from == GW_CLIENT ? GW_SERVER : GW_CLIENT;
	uint8_t key[4];
	int rc;

	if (k->rl > 2)
		set_guess(k->st, V_5);
	if (!is_v5(k) && k->rl != 2)
		return malformed(k, "%s remaining length %zu, not 2", type_name[k->type], k->rl);
	if ((rc = get_u16(k, "packet identifier", &pid)) != R_OK)
		return rc;
	if (k->rl > 2 && (rc = get_u8(k, "reason code", &code)) != R_OK)
		return rc;
	if (k->rl > 3 && (rc = get_props(k, &pr)) != R_OK)
		return rc;
	if ((rc = no_more(k)) != R_OK)
		return rc;
	note_version(k);
	if (pr.reason)
		note_text(k, "reason string", pr.reason, pr.reason_len);
	if (k->type == T_PUBREL) {
		flow_key(key, 'R', k->from, pid);
		request(k, key, 4);
		return R_OK;
	}
	flow_key(key, k->type == T_PUBCOMP ? 'R' : 'P', other, pid);
	response(k, key, 4, code < 0x80 ? -1 : (int)code, code);
	return R_OK;
}

/* SUBSCRIBE and UNSUBSCRIBE: a packet id, (v5) properties, then one or
 * more topic filters, each followed by its options in SUBSCRIBE. */
static int do_subscribe(struct pkt *k)
{
	unsigned pid = 0, opt = 0, nfilters = 0;
	struct props pr;
	const uint8_t *s;
	uint8_t key[3];
	size_t slen;
	int rc;

	if ((rc = get_u16(k, "packet identifier", &pid)) != R_OK)
		return rc;
	if (pid == 0)
		return malformed(k, "%s packet identifier 0", type_name[k->type]);
	if (is_v5(k) && (rc = get_props(k, &pr)) != R_OK)
		return rc;
	while (!mm_cur_eof(&k->c)) {
		nfilters++;
		if ((rc = get_str(k, "topic filter", &s, &slen)) != R_OK)
			return rc;
		if (k->type == T_UNSUBSCRIBE)
			continue;
		if ((rc = get_u8(k, "subscription options", &opt)) != R_OK)
			return rc;
		if ((opt & 3) == 3)
			return malformed(k, "SUBSCRIBE filter %u QoS 3", nfilters);
		if (is_v5(k) ? (opt & 0xc0) || (opt >> 4 & 3) == 3 : (opt & 0xfc) != 0)
			return malformed(k, "SUBSCRIBE filter %u reserved option bits 0x%02X",
					 nfilters, opt);
	}
	if (nfilters == 0)
		return malformed(k, "%s without a topic filter", type_name[k->type]);
	note_version(k);
	key[0] = k->type == T_SUBSCRIBE ? 'S' : 'U';
	key[1] = (uint8_t)(pid >> 8);
	key[2] = (uint8_t)pid;
	request(k, key, 3);
	return R_OK;
}

/* SUBACK and UNSUBACK: a packet id, (v5) properties, one code per filter.
 * An MQTT 3.1.1 UNSUBACK is the packet id alone. */
static int do_suback(struct pkt *k)
{
	unsigned pid = 0, code, n = 0, bad = 0, bad_code = 0;
	struct props pr = {-1, NULL, 0};
	uint8_t key[3];
	int rc;

	if ((rc = get_u16(k, "packet identifier", &pid)) != R_OK)
		return rc;
	if (is_v5(k) && (rc = get_props(k, &pr)) != R_OK)
		return rc;
	if (k->type == T_UNSUBACK && !is_v5(k)) {
		if ((rc = no_more(k)) != R_OK)
			return rc;
	} else {
		while (!mm_cur_eof(&k->c)) {
			code = (unsigned)mm_cur_getc(&k->c);
			n++;
			if (!is_v5(k) && code > 2 && code != 0x80)
				return malformed(k, "SUBACK return code 0x%02X of filter %u", code, n);
			if (code >= 0x80 && !bad) {
				bad = n;
				bad_code = code;
			}
		}
		if (n == 0)
			return malformed(k, "%s without a %s code", type_name[k->type],
					 is_v5(k) ? "reason" : "return");
	}
	note_version(k);
	if (bad)
		gw_note(k->note, sizeof k->note, "filter %u of %u refused", bad, n);
	if (pr.reason)
		note_text(k, "reason string", pr.reason, pr.reason_len);
	key[0] = k->type == T_SUBACK ? 'S' : 'U';
	key[1] = (uint8_t)(pid >> 8);
	key[2] = (uint8_t)pid;
	response(k, key, 3, bad ? (int)bad_code : -1, bad_code);
	return R_OK;
}

static int do_ping(struct pkt *k)
{
	if (k->rl != 0)
		return malformed(k, "%s remaining length %zu, not 0", type_name[k->type], k->rl);
	note_version(k);
	if (k->type == T_PINGREQ)
		request(k, "I", 1);
	else
		response(k, "I", 1, -1, 0);
	return R_OK;
}

/* DISCONNECT, and MQTT 5 AUTH: a reason code and properties, both optional
 * (a remaining length of 0 means reason 0x00). */
static int do_disconnect(struct pkt *k)
{
	struct mm_reporter_status st = {MM_REPORTER_ERR_NUM, 0, NULL, 0, NULL};
	struct props pr = {-1, NULL, 0};
	unsigned code = 0;
	struct gw_msg m;
	char text[GW_CODE_TEXT];
	int rc;

	if (k->rl > 0 || k->type == T_AUTH)
		set_guess(k->st, V_5);
	if (!is_v5(k)) {
		if (k->type == T_AUTH)
			return malformed(k, "AUTH (type 15) in MQTT 3.1.1");
		if (k->from == GW_SERVER)
			return malformed(k, "DISCONNECT sent by the server in MQTT 3.1.1");
		if (k->rl != 0)
			return malformed(k, "DISCONNECT remaining length %zu, not 0", k->rl);
	}
	if (k->rl > 0 && (rc = get_u8(k, "reason code", &code)) != R_OK)
		return rc;
	if (k->rl > 1 && (rc = get_props(k, &pr)) != R_OK)
		return rc;
	if ((rc = no_more(k)) != R_OK)
		return rc;
	if (k->type == T_AUTH && code != 0x00 && code != 0x18 && code != 0x19)
		return malformed(k, "AUTH reason code 0x%02X", code);
	if (code < 0x80)
		return R_OK;
	note_version(k);
	if (pr.reason)
		note_text(k, "reason string", pr.reason, pr.reason_len);
	st.num = code;
	st.text = gw_code_hex(text, code);
	if (k->sink->error) {
		fill_msg(k, &m, NULL, 0);
		k->sink->error(k->sink->arg, &m, &st);
	}
	return R_OK;
}

/* ---- framing ---- */

/*
 * Decodes the packet at p (n bytes at hand). Returns its length when it
 * was decoded (which may be more than n for a large PUBLISH: the rest is
 * to be skipped), 0 when more bytes are needed, GW_STOP after a malformed
 * packet.
 */
static long one_packet(void *state, enum gw_side from, const uint8_t *p, size_t n,
		       const struct gw_sink *sink)
{
	struct pkt k;
	size_t rl = 0, body;
	int rc = R_OK, i;

	memset(&k, 0, sizeof k);
	k.st = state;
	k.sink = sink;
	k.from = from;
	k.p = p;
	k.avail = n;
	k.type = p[0] >> 4;
	k.flags = p[0] & 0x0f;
	/* The remaining length: a Variable Byte Integer of at most 4 bytes
	 * (3.1.1 section 2.2.3, 5.0 section 1.5.5). */
	for (i = 1; i <= 4; i++) {
		if ((size_t)i >= n)
			return 0;
		rl |= (size_t)(p[i] & 0x7f) << (7 * (i - 1));
		if (!(p[i] & 0x80))
			break;
	}
	k.hlen = (size_t)i + 1;
	if (i > 4) {
		k.hlen = 5;
		return malformed(&k, "%s remaining length over 4 bytes", type_name[k.type]);
	}
	k.rl = rl;
	if (k.type == 0)
		return malformed(&k, "reserved packet type 0");
	if (!(type_senders[k.type] & (from == GW_CLIENT ? BY_C : BY_S)))
		return malformed(&k, "%s sent by the %s", type_name[k.type],
				 from == GW_CLIENT ? "client" : "server");
	if (k.type == T_PUBLISH) {
		/* DUP, QoS and RETAIN; QoS 3 is checked with the rest. */
	} else if (k.type == T_PUBREL || k.type == T_SUBSCRIBE || k.type == T_UNSUBSCRIBE) {
		if (k.flags != 2)
			return malformed(&k, "%s fixed-header flags 0x%X, must be 0x2",
					 type_name[k.type], k.flags);
	} else if (k.flags != 0) {
		return malformed(&k, "%s fixed-header flags 0x%X, must be 0x0", type_name[k.type],
				 k.flags);
	}
	if (rl > MQTT_MAX_WHOLE && k.type != T_PUBLISH)
		return malformed(&k, "%s remaining length %zu over %u", type_name[k.type], rl,
				 MQTT_MAX_WHOLE);
	if (rl <= MQTT_MAX_WHOLE && n - k.hlen < rl)
		return 0;
	body = n - k.hlen < rl ? n - k.hlen : rl;
	k.large = rl > MQTT_MAX_WHOLE;
	k.partial = body < rl;
	mm_cur_init(&k.c, p + k.hlen, body);
	switch (k.type) {
	case T_CONNECT:
		rc = do_connect(&k);
		break;
	case T_CONNACK:
		rc = do_connack(&k);
		break;
	case T_PUBLISH:
		rc = do_publish(&k);
		break;
	case T_PUBACK:
	case T_PUBREC:
	case T_PUBREL:
	case T_PUBCOMP:
		rc = do_pubresp(&k);
		break;
	case T_SUBSCRIBE:
	case T_UNSUBSCRIBE:
		rc = do_subscribe(&k);
		break;
	case T_SUBACK:
	case T_UNSUBACK:
		rc = do_suback(&k);
		break;
	case T_PINGREQ:
	case T_PINGRESP:
		rc = do_ping(&k);
		break;
	default: /* DISCONNECT, AUTH */
		rc = do_disconnect(&k);
		break;
	}
	if (rc == R_STOP)
		return GW_STOP;
	if (rc == R_AGAIN)
		return 0;
	return (long)(k.hlen + rl);
}

/* Decodes every whole packet at hand; see gw_decoder.data in sensor.h. */
static long mqtt_data(void *state, enum gw_side from, const uint8_t *p, size_t n,
		      const struct gw_sink *sink)
{
	return gw_stream_data(state, from, p, n, sink, one_packet);
}

const struct gw_decoder gw_decoder_mqtt = {
	.name = "mqtt",
	.ipproto = IPPROTO_TCP,
	.ports = "1883",
	.state_size = sizeof(struct mqtt_state),
	.data = mqtt_data,
	/* A hole in an MQTT stream leaves no way to find the next packet's
	 * start. */
	.gap = gw_gap_stop,
	.close = NULL,
};
