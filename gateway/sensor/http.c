/*
 * HTTP/1.0 and HTTP/1.1 decoder for mamori-gw's sensor (RFC 9110, message
 * syntax RFC 9112).
 *
 * What it reports, per connection:
 *   - each request as a request whose key is its number in the connection
 *     (a 32-bit big-endian count from 1), raw its head (request line and
 *     header fields) , and for a response its body too when that has a
 *     Content-Length of at most 1 KiB (the decoder waits for the whole of it);
 *   - each final response as the response of the same number, since
 *     HTTP/1.1 answers pipelined requests in order (RFC 9112 section 9.3.2):
 *     a status of 400 or more is the proprietary code of data/errmap/
 *     http.map's "HTTP" table, anything below is success. Interim 1xx
 *     responses answer nothing, except 101 Switching Protocols, after which
 *     the connection speaks another protocol and decoding stops (as it does
 *     after a 2xx answer to CONNECT, which opens a tunnel);
 *   - a request or response whose start line or header section breaks the
 *     syntax as an error (0x30 Invalid Command) of the side that sent it,
 *     with a detail saying what is wrong; decoding then stops, since the
 *     message boundaries after it are unknown.
 *
 * Bodies are skipped, never read: by Content-Length, by walking chunk sizes
 * for chunked coding, or to the end of the connection for a response that
 * has neither. The methods of the last RING requests are kept so that a
 * response to HEAD is known to have no body (RFC 9112 section 6.3).
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/reporter.h"
#include "sensor.h"

/* The longest head (start line and header section) and trailer section
 * decoded; a longer one is malformed. */
#define HEAD_MAX 16384
/* The longest chunk size line (with its extensions). */
#define CHUNK_LINE_MAX 4096
/* Requests whose method is remembered while they wait for their response. */
#define RING 16
/* A body longer than this is refused as malformed: 2^53, far past anything
 * sent, and safe in every signed type the skip count passes through. */
#define BODY_MAX (1ULL << 53)

enum dir_state {
	S_HEAD = 0,   /* at the start of a message */
	S_CHUNK_SIZE, /* at a chunk size line */
	S_CHUNK_END,  /* at the line end after a chunk's data */
	S_TRAILER,    /* in the trailer section after the last chunk */
	S_TO_CLOSE,   /* a response body that ends with the connection */
};

enum method_kind {
	M_OTHER = 0,
	M_HEAD,
	M_CONNECT,
	M_UNKNOWN, /* not remembered: the ring was full */
};

struct http_state {
	uint8_t dir[2];              /* enum dir_state of each side */
	uint8_t ring_method[RING];   /* enum method_kind of request n at n % RING */
	uint32_t ring_num[RING];     /* ... and n itself, to know the slot is its */
	uint32_t nreq;               /* requests seen */
	uint32_t nresp;              /* final responses seen */
	uint32_t forgotten;          /* requests whose method the ring could not hold */
};

/* What one head's handlers share. */
struct head {
	struct http_state *st;
	const struct gw_sink *sink;
	enum gw_side from;
	const uint8_t *p;
	size_t len;        /* head bytes, when whole */
	size_t avail;      /* bytes at hand */
	char note[192];
	/* From the header fields. */
	int has_cl, has_te, te_chunked;
	uint64_t cl;
};

#define R_OK 0
#define R_AGAIN 1
#define R_STOP (-1)
/* So that malformed() ends both a syntax check and what data() returns. */
_Static_assert(R_STOP == GW_STOP, "R_STOP must be GW_STOP");

/* ---- reporting ---- */

/* Sets h up over the n bytes at p that `from` sent. */
static void head_init(struct head *h, struct http_state *st, enum gw_side from, const uint8_t *p,
		      size_t n, const struct gw_sink *sink)
{
	memset(h, 0, sizeof *h);
	h->st = st;
	h->sink = sink;
	h->from = from;
	h->p = p;
	h->avail = n;
}

static void fill_msg(struct head *h, struct gw_msg *m, const uint8_t *key)
{
	gw_msg_init(m, "HTTP", h->from, h->p, h->len);
	m->key = key;
	m->key_len = 4;
	m->detail = h->note[0] ? h->note : NULL;
}

static void put_key(uint8_t *key, uint32_t n)
{
	key[0] = (uint8_t)(n >> 24);
	key[1] = (uint8_t)(n >> 16);
	key[2] = (uint8_t)(n >> 8);
	key[3] = (uint8_t)n;
}

/* Reports a malformed message (fmt says why) with the bytes at hand up to
 * its head's end. Returns R_STOP, which is also GW_STOP: the syntax checks
 * and the steps of data() both end with it. */
static int malformed(struct head *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int malformed(struct head *h, const char *fmt, ...)
{
	va_list ap;

	h->note[0] = '\0';
	va_start(ap, fmt);
	gw_vnote(h->note, sizeof h->note, fmt, ap);
	va_end(ap);
	gw_report_malformed(h->sink, "HTTP", h->from, h->p,
			    h->len ? h->len : (h->avail < HEAD_MAX ? h->avail : HEAD_MAX), h->note);
	return R_STOP;
}

/* ---- syntax ---- */

/* tchar of RFC 9110 section 5.6.2. */
static int is_tchar(int ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return 1;
	return ch > 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

/* A byte of a field value or reason phrase: HTAB, SP, VCHAR, obs-text. */
static int is_text(int ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/* Where the line at c ends: its length without the line end, and *next
 * past the line end (LF, or CR LF; RFC 9112 section 2.2 lets a recipient
 * take a bare LF as a line end). 0 when no LF is at hand. */
static int line_end(const struct mm_cur *c, size_t *len, size_t *next)
{
	const uint8_t *s = c->p + c->pos;
	const uint8_t *lf = memchr(s, '\n', mm_cur_left(c));

	if (!lf)
		return 0;
	*next = (size_t)(lf - s) + 1;
	*len = (size_t)(lf - s);
	if (*len && s[*len - 1] == '\r')
		(*len)--;
	return 1;
}

/* "HTTP/" DIGIT "." DIGIT at c: 0 and the two digits, R_AGAIN when the
 * bytes so far are a prefix of one, or -1. */
static int version(struct mm_cur *c, int *major, int *minor)
{
	static const char pre[] = "HTTP/";
	size_t i;

	for (i = 0; i < 5; i++) {
		int ch = mm_cur_getc(c);

		if (ch < 0)
			return R_AGAIN;
		if (ch != pre[i])
			return -1;
	}
	*major = mm_cur_getc(c);
	if (*major < 0)
		return R_AGAIN;
	if (!is_digit(*major) || mm_cur_peek(c) != '.')
		return mm_cur_eof(c) && is_digit(*major) ? R_AGAIN : -1;
	c->pos++;
	*minor = mm_cur_getc(c);
	if (*minor < 0)
		return R_AGAIN;
	if (!is_digit(*minor))
		return -1;
	*major -= '0';
	*minor -= '0';
	return 0;
}

/*
 * Checks a request line (the first line at hand; complete says whether its
 * end was seen). Reads left to right and stops at the first fault, so that
 * a fault is reported the same however the bytes arrived. R_OK with the
 * method's kind, R_AGAIN, or R_STOP after reporting.
 */
static int request_line(struct head *h, const uint8_t *s, size_t len, int complete, int *kind)
{
	struct mm_cur c;
	size_t m_end, t_start;
	int ch, major = 0, minor = 0, rc;

	mm_cur_init(&c, s, len);
	while ((ch = mm_cur_peek(&c)) >= 0 && is_tchar(ch))
		c.pos++;
	m_end = c.pos;
	if (ch < 0)
		return complete ? malformed(h, "request line has no target") : R_AGAIN;
	if (m_end == 0)
		return malformed(h, "request line starts with byte 0x%02X, not a method", ch);
	if (ch != ' ')
		return malformed(h, "request method has byte 0x%02X, not a token character", ch);
	c.pos++;
	t_start = c.pos;
	while ((ch = mm_cur_peek(&c)) >= 0 && ch > 0x20 && ch != 0x7f)
		c.pos++;
	if (ch < 0)
		return complete ? malformed(h, "request line has no HTTP version") : R_AGAIN;
	if (c.pos == t_start)
		return malformed(h, "request target is empty");
	if (ch != ' ')
		return malformed(h, "request target has byte 0x%02X", ch);
	c.pos++;
	rc = version(&c, &major, &minor);
	if (rc == R_AGAIN && !complete)
		return R_AGAIN;
	if (rc != 0)
		return malformed(h, "request line does not end in HTTP/1.x");
	if (major != 1) {
		/* An HTTP/2 connection with prior knowledge starts with this
		 * line (RFC 9113 section 3.4): not ours, and not an error. */
		if (m_end == 3 && memcmp(s, "PRI", 3) == 0 && major == 2)
			return R_STOP;
		return malformed(h, "request version HTTP/%d.%d is not HTTP/1.x", major, minor);
	}
	if (!mm_cur_eof(&c))
		return malformed(h, "request line has byte 0x%02X after the version",
				 mm_cur_peek(&c));
	if (!complete)
		return R_AGAIN;
	*kind = M_OTHER;
	if (m_end == 4 && memcmp(s, "HEAD", 4) == 0)
		*kind = M_HEAD;
	else if (m_end == 7 && memcmp(s, "CONNECT", 7) == 0)
		*kind = M_CONNECT;
	return R_OK;
}

/* The same for a status line; R_OK with the status code. */
static int status_line(struct head *h, const uint8_t *s, size_t len, int complete,
		       unsigned *status)
{
	struct mm_cur c;
	int ch, major = 0, minor = 0, rc, i;

	mm_cur_init(&c, s, len);
	rc = version(&c, &major, &minor);
	if (rc == R_AGAIN && !complete)
		return R_AGAIN;
	if (rc != 0)
		return malformed(h, "status line does not start with HTTP/1.x");
	if (major != 1)
		return malformed(h, "status version HTTP/%d.%d is not HTTP/1.x", major, minor);
	if ((ch = mm_cur_getc(&c)) != ' ')
		return ch < 0 && !complete ? R_AGAIN
					   : malformed(h, "status line has no status code");
	*status = 0;
	for (i = 0; i < 3; i++) {
		ch = mm_cur_getc(&c);
		if (ch < 0 && !complete)
			return R_AGAIN;
		if (!is_digit(ch))
			return malformed(h, "status code is not three digits");
		*status = *status * 10 + (unsigned)(ch - '0');
	}
	if (*status < 100)
		return malformed(h, "status code %03u below 100", *status);
	/* RFC 9112 section 4: SP and a reason phrase, which may be empty;
	 * some servers leave out the SP too, which costs nothing to allow. */
	if (!mm_cur_eof(&c) && mm_cur_getc(&c) != ' ')
		return malformed(h, "status code is not three digits");
	while ((ch = mm_cur_getc(&c)) >= 0)
		if (!is_text(ch))
			return malformed(h, "reason phrase has byte 0x%02X", ch);
	return complete ? R_OK : R_AGAIN;
}

static int ieq(const uint8_t *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	if (len != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int a = s[i], b = word[i];

		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (a != b)
			return 0;
	}
	return 1;
}

/* Content-Length (RFC 9110 section 8.6): digits, or a list of the same
 * number repeated; every header of it must agree. */
static int content_length(struct head *h, const uint8_t *v, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint64_t n = 0;
		size_t start = i;

		while (i < len && is_digit(v[i])) {
			n = n * 10 + (uint64_t)(v[i] - '0');
			if (n > BODY_MAX)
				return malformed(h, "Content-Length over %llu",
						 (unsigned long long)BODY_MAX);
			i++;
		}
		if (i == start)
			return malformed(h, "Content-Length is not a number");
		if (h->has_cl && n != h->cl)
			return malformed(h, "Content-Length values %llu and %llu differ",
					 (unsigned long long)h->cl, (unsigned long long)n);
		h->has_cl = 1;
		h->cl = n;
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i < len && v[i++] != ',')
			return malformed(h, "Content-Length is not a number");
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
	}
	if (!h->has_cl)
		return malformed(h, "Content-Length is empty");
	return R_OK;
}

/* Transfer-Encoding: only whether the last coding listed is chunked
 * matters (RFC 9112 section 6.3). */
static void transfer_encoding(struct head *h, const uint8_t *v, size_t len)
{
	size_t end = len, start;

	h->has_te = 1;
	while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t' || v[end - 1] == ','))
		end--;
	start = end;
	while (start > 0 && v[start - 1] != ',' && v[start - 1] != ' ' && v[start - 1] != '\t')
		start--;
	h->te_chunked = ieq(v + start, end - start, "chunked");
}

/* The header (or trailer) fields in s, one per line, each name ":" value
 * (RFC 9112 section 5). */
static int fields(struct head *h, const uint8_t *s, size_t len, int trailer)
{
	struct mm_cur c;
	size_t llen, next;

	mm_cur_init(&c, s, len);
	while (!mm_cur_eof(&c) && line_end(&c, &llen, &next)) {
		const uint8_t *line = c.p + c.pos, *v;
		size_t n = 0, vs, ve;

		c.pos += next;
		if (llen == 0)
			break;
		if (line[0] == ' ' || line[0] == '\t')
			return malformed(h, "obsolete line folding in the %s", trailer ? "trailer"
										  : "header");
		while (n < llen && is_tchar(line[n]))
			n++;
		if (n == 0 || n == llen || line[n] != ':')
			return malformed(h, "%s field name has byte 0x%02X", trailer ? "trailer" : "header",
					 n < llen ? line[n] : '\n');
		for (size_t i = n + 1; i < llen; i++)
			if (!is_text(line[i]))
				return malformed(h, "%s field value has byte 0x%02X",
						 trailer ? "trailer" : "header", line[i]);
		vs = n + 1;
		ve = llen;
		while (vs < ve && (line[vs] == ' ' || line[vs] == '\t'))
			vs++;
		while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
			ve--;
		v = line + vs;
		if (trailer)
			continue;
		if (ieq(line, n, "content-length")) {
			if (content_length(h, v, ve - vs) != R_OK)
				return R_STOP;
		} else if (ieq(line, n, "transfer-encoding")) {
			transfer_encoding(h, v, ve - vs);
		}
	}
	return R_OK;
}

/* The length of the head at p (through its empty line), 0 when its end is
 * not at hand. Only the first HEAD_MAX bytes are looked at. */
static size_t head_end(const uint8_t *p, size_t n)
{
	size_t lim = n < HEAD_MAX ? n : HEAD_MAX;

	for (size_t i = 0; i < lim; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < lim && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < lim && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* ---- messages ---- */

/* Checks a whole head: its start line (a request line from the client, a
 * status line from the server) and its header fields. R_OK with the
 * request method's kind or the response's status, or R_STOP. */
static int head_check(struct head *h, int *kind, unsigned *status)
{
	size_t llen = 0, next = 0;
	struct mm_cur c;
	int rc;

	mm_cur_init(&c, h->p, h->len);
	line_end(&c, &llen, &next);
	rc = h->from == GW_CLIENT ? request_line(h, h->p, llen, 1, kind)
				  : status_line(h, h->p, llen, 1, status);
	if (rc == R_OK)
		rc = fields(h, h->p + next, h->len - next, 0);
	return rc;
}

/* Where the message's body ends, as data() returns it: head plus body
 * length, or the head alone with the side's state set for what follows. */
static long body(struct head *h, int none)
{
	uint8_t *ds = &h->st->dir[h->from];

	if (none)
		return (long)h->len;
	if (h->has_te && h->te_chunked) {
		*ds = S_CHUNK_SIZE;
		return (long)h->len;
	}
	if (h->has_te || (!h->has_cl && h->from == GW_SERVER)) {
		*ds = S_TO_CLOSE;
		return (long)h->len;
	}
	return (long)(h->len + (h->has_cl ? h->cl : 0));
}

/* A short body of known length goes into a response's record with its
 * head: it is where a device says in its own words what went wrong. Returns
 * the body bytes to keep, or -1 to wait until they are all here, so that the
 * record does not depend on how the response was cut into segments. A
 * request keeps its head alone: it must be reported before its response,
 * which may come before the body ("Expect: 100-continue", or a refusal
 * sent on the head alone). */
#define BODY_KEEP 1024
static long short_body(const struct head *h, int none)
{
	if (none || h->from == GW_CLIENT || !h->has_cl || h->has_te || h->cl == 0 ||
	    h->cl > BODY_KEEP)
		return 0;
	if (h->avail - h->len < h->cl)
		return -1;
	return (long)h->cl;
}

static long request(struct head *h)
{
	struct http_state *st = h->st;
	uint8_t key[4];
	struct gw_msg m;
	int kind = M_OTHER;
	long keep;

	if (head_check(h, &kind, NULL) != R_OK)
		return GW_STOP;
	/* RFC 9112 section 6.3: a server must answer 400 to a request whose
	 * final transfer coding is not chunked, since its length is unknown. */
	if (h->has_te && !h->te_chunked)
		return malformed(h, "request Transfer-Encoding does not end in chunked");
	if (h->has_te && h->has_cl)
		gw_note(h->note, sizeof h->note, "Transfer-Encoding and Content-Length both present");
	if ((keep = short_body(h, 0)) < 0)
		return 0;
	st->nreq++;
	if (st->nreq - st->nresp <= RING) {
		st->ring_num[st->nreq % RING] = st->nreq;
		st->ring_method[st->nreq % RING] = (uint8_t)kind;
	} else {
		st->forgotten++;
	}
	put_key(key, st->nreq);
	if (h->sink->request) {
		fill_msg(h, &m, key);
		m.raw_len += (size_t)keep;
		h->sink->request(h->sink->arg, &m, 0);
	}
	return body(h, 0);
}

static long response(struct head *h)
{
	struct mm_reporter_status rs = {MM_REPORTER_OK, 0, NULL, 0, NULL};
	struct http_state *st = h->st;
	unsigned status = 0;
	int kind = M_UNKNOWN;
	uint8_t key[4];
	char text[8];
	struct gw_msg m;
	uint32_t n;
	long keep;

	if (head_check(h, NULL, &status) != R_OK)
		return GW_STOP;
	/* Interim responses answer nothing and have no body. */
	if (status < 200 && status != 101)
		return (long)h->len;
	n = st->nresp + 1;
	if (n <= st->nreq && st->ring_num[n % RING] == n)
		kind = st->ring_method[n % RING];
	else if (n <= st->nreq)
		gw_note(h->note, sizeof h->note,
			"request method not remembered (more than %d requests waiting)", RING);
	if ((keep = short_body(h, kind == M_HEAD || status == 204 || status == 304)) < 0)
		return 0;
	st->nresp = n;
	put_key(key, n);
	if (status >= 400) {
		snprintf(text, sizeof text, "%03u", status % 1000);
		rs.outcome = MM_REPORTER_ERR_NUM;
		rs.num = status;
		rs.text = text;
	}
	if (h->sink->response) {
		fill_msg(h, &m, key);
		m.raw_len += (size_t)keep;
		h->sink->response(h->sink->arg, &m, &rs);
	}
	/* The connection now carries another protocol, or a tunnel. */
	if (status == 101 || (kind == M_CONNECT && status < 300))
		return GW_STOP;
	return body(h, kind == M_HEAD || status == 204 || status == 304);
}

/* A message head at p: R_AGAIN-style 0 until it is whole. */
static long message(struct http_state *st, enum gw_side from, const uint8_t *p, size_t n,
		    const struct gw_sink *sink)
{
	struct head h;
	size_t llen = 0, next;
	unsigned status;
	struct mm_cur c;
	int rc, kind, complete;

	head_init(&h, st, from, p, n, sink);
	/* RFC 9112 section 2.2: empty lines before a request line are
	 * ignored (clients send a CRLF after a POST body). */
	if (from == GW_CLIENT && (p[0] == '\n' || (p[0] == '\r' && n > 1 && p[1] == '\n')))
		return p[0] == '\n' ? 1 : 2;
	if (from == GW_CLIENT && n == 1 && p[0] == '\r')
		return 0;
	h.len = head_end(p, n);
	if (h.len == 0) {
		/* Refuse a start line that cannot become valid as soon as it
		 * is seen, not after HEAD_MAX bytes: random bytes sent to a
		 * device are the first thing the sensor should report. */
		mm_cur_init(&c, p, n < HEAD_MAX ? n : HEAD_MAX);
		complete = line_end(&c, &llen, &next);
		if (!complete) {
			/* A CR at the end may be the start of the line end. */
			llen = mm_cur_left(&c);
			if (p[llen - 1] == '\r')
				llen--;
		}
		rc = from == GW_CLIENT ? request_line(&h, p, llen, complete, &kind)
				       : status_line(&h, p, llen, complete, &status);
		if (rc == R_STOP)
			return GW_STOP;
		if (n >= HEAD_MAX)
			return malformed(&h, "%s head over %d bytes",
					 from == GW_CLIENT ? "request" : "response", HEAD_MAX);
		return 0;
	}
	return from == GW_CLIENT ? request(&h) : response(&h);
}

/* A chunk size line (RFC 9112 section 7.1): hex digits, then optional
 * extensions, then the line end. */
static long chunk_size(struct http_state *st, enum gw_side from, const uint8_t *p, size_t n,
		       const struct gw_sink *sink)
{
	struct head h;
	struct mm_cur c;
	size_t llen, next, i = 0;
	uint64_t size = 0;

	head_init(&h, st, from, p, n, sink);
	mm_cur_init(&c, p, n < CHUNK_LINE_MAX ? n : CHUNK_LINE_MAX);
	if (!line_end(&c, &llen, &next)) {
		if (n >= CHUNK_LINE_MAX) {
			h.len = CHUNK_LINE_MAX;
			return malformed(&h, "chunk size line over %d bytes", CHUNK_LINE_MAX);
		}
		return 0;
	}
	h.len = next;
	while (i < llen && mm_hex_digit(p[i]) >= 0) {
		size = size * 16 + (uint64_t)mm_hex_digit(p[i]);
		if (size > BODY_MAX)
			return malformed(&h, "chunk size over %llu", (unsigned long long)BODY_MAX);
		i++;
	}
	if (i == 0)
		return malformed(&h, "chunk size is not hexadecimal");
	while (i < llen && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < llen && p[i] != ';')
		return malformed(&h, "chunk size line has byte 0x%02X", p[i]);
	for (; i < llen; i++)
		if (!is_text(p[i]))
			return malformed(&h, "chunk extension has byte 0x%02X", p[i]);
	st->dir[from] = size ? S_CHUNK_END : S_TRAILER;
	return (long)(next + size);
}

static long chunk_end(struct http_state *st, enum gw_side from, const uint8_t *p, size_t n,
		      const struct gw_sink *sink)
{
	struct head h;

	if (p[0] == '\n' || (n >= 2 && p[0] == '\r' && p[1] == '\n')) {
		st->dir[from] = S_CHUNK_SIZE;
		return p[0] == '\n' ? 1 : 2;
	}
	if (n < 2 && p[0] == '\r')
		return 0;
	head_init(&h, st, from, p, n, sink);
	h.len = n < 2 ? n : 2;
	return malformed(&h, "chunk data not followed by a line end");
}

/* The trailer section: field lines up to an empty line. */
static long trailer(struct http_state *st, enum gw_side from, const uint8_t *p, size_t n,
		    const struct gw_sink *sink)
{
	struct head h;
	size_t len;

	head_init(&h, st, from, p, n, sink);
	if (n == 1 && p[0] == '\r')
		return 0;
	if (p[0] == '\n' || (p[0] == '\r' && p[1] == '\n')) {
		len = p[0] == '\n' ? 1 : 2;
	} else {
		/* head_end() finds the blank line after at least one field
		 * line, which is what a non-empty trailer section is. */
		len = head_end(p, n);
		if (len == 0) {
			if (n >= HEAD_MAX)
				return malformed(&h, "trailer section over %d bytes", HEAD_MAX);
			return 0;
		}
		h.len = len;
		if (fields(&h, p, len, 1) != R_OK)
			return GW_STOP;
	}
	st->dir[from] = S_HEAD;
	return (long)len;
}

static long step(void *state, enum gw_side from, const uint8_t *p, size_t n,
		 const struct gw_sink *sink)
{
	struct http_state *st = state;

	switch (st->dir[from]) {
	case S_CHUNK_SIZE:
		return chunk_size(st, from, p, n, sink);
	case S_CHUNK_END:
		return chunk_end(st, from, p, n, sink);
	case S_TRAILER:
		return trailer(st, from, p, n, sink);
	case S_TO_CLOSE:
		return (long)n;
	default:
		return message(st, from, p, n, sink);
	}
}

/* Decodes every whole message (and skips every body) at hand; see
 * gw_decoder.data in sensor.h. */
static long http_data(void *state, enum gw_side from, const uint8_t *p, size_t n,
		      const struct gw_sink *sink)
{
	if (from != GW_CLIENT && from != GW_SERVER)
		return GW_STOP;
	return gw_stream_data(state, from, p, n, sink, step);
}

/* Only a body that runs to the connection's end survives a hole: anywhere
 * else the next message's start is unknown. */
static int http_gap(void *state, enum gw_side from)
{
	struct http_state *st = state;

	return st->dir[from] == S_TO_CLOSE ? 0 : GW_STOP;
}

const struct gw_decoder gw_decoder_http = {
	.name = "http",
	.ipproto = IPPROTO_TCP,
	.ports = "80,8080",
	.state_size = sizeof(struct http_state),
	.data = http_data,
	.gap = http_gap,
	.close = NULL,
};
