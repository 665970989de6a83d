/*
 * X.1367 records as JSON: decode with positions, validate, encode.
 *
 * yajl parses the JSON and its events fill the record directly. When a
 * problem has to be pointed at, a light scanner walks the same text once to
 * learn the line and column of every attribute; when yajl refuses the text,
 * the scanner also finds trailing commas (which the published examples
 * carry), and the text is read again without them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/x1367.h"
#include "x1367_int.h"

/* ---- the position scanner ---- */

#define SCAN_MAX_KEYS 64 /* attributes of depth 1 and 2 whose position is kept */
#define SCAN_MAX_MARKS 16
#define SCAN_MAX_DEPTH 3 /* keys are tracked in the record and its party objects */

/* Two levels of 63-byte keys and a '/' fit in a path. */
#define SCAN_PATH 136

struct scan_key {
	char path[SCAN_PATH]; /* "Requester/IP Address" */
	size_t off;    /* byte offset of the key */
	int kline, kcol, vline, vcol;
};

struct scan_mark {
	char path[SCAN_PATH];
	int line, col;
};

struct scan {
	struct scan_key keys[SCAN_MAX_KEYS];
	unsigned nkeys;
	struct scan_mark commas[SCAN_MAX_MARKS]; /* trailing commas */
	unsigned ncommas;
	struct scan_mark dups[SCAN_MAX_MARKS];   /* keys given twice */
	unsigned ndups;
	int obj_line, obj_col; /* the record's '{' */
	char *clean;           /* the text with trailing commas blanked, or NULL */
};

struct scan_level {
	char type;       /* '{' or '[' */
	int expect_key;  /* in an object, the next string is a key */
	char key[64];    /* the last key at this level */
};

static void scan_add_key(struct scan *s, struct scan_level *lv, int depth, size_t off, int line,
			 int col)
{
	struct scan_key *k;
	char path[SCAN_PATH];
	unsigned i;

	if (depth == 1)
		snprintf(path, sizeof path, "%s", lv[1].key);
	else
		snprintf(path, sizeof path, "%s/%s", lv[1].key, lv[2].key);
	for (i = 0; i < s->nkeys; i++) {
		if (strcmp(s->keys[i].path, path) == 0) {
			if (s->ndups < SCAN_MAX_MARKS) {
				struct scan_mark *m = &s->dups[s->ndups++];
				snprintf(m->path, sizeof m->path, "%s", path);
				m->line = line;
				m->col = col;
			}
			return;
		}
	}
	if (s->nkeys >= SCAN_MAX_KEYS)
		return;
	k = &s->keys[s->nkeys++];
	snprintf(k->path, sizeof k->path, "%s", path);
	k->off = off;
	k->kline = k->vline = line;
	k->kcol = k->vcol = col;
}

/*
 * One pass over the text. It never fails: on text that is not JSON it stops
 * learning and leaves the verdict to jansson. Columns count characters, not
 * bytes, as jansson's do.
 */
static int scan_text(struct scan *s, const char *t, size_t len)
{
	struct scan_level lv[SCAN_MAX_DEPTH + 1];
	int depth = 0, line = 1, col = 0;
	int last_line = 0, last_col = 0, after_key = 0, pending_value = 0;
	char last = 0;
	size_t i, last_off = 0;

	memset(s, 0, sizeof *s);
	memset(lv, 0, sizeof lv);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)t[i];

		if (ch < 0x80 || ch >= 0xC0)
			col++;
		if (ch == '\n') {
			line++;
			col = 0;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r')
			continue;
		if (pending_value) {
			/* The first character after "key": is where the value starts. */
			s->keys[s->nkeys - 1].vline = line;
			s->keys[s->nkeys - 1].vcol = col;
			pending_value = 0;
		}
		if (ch == '"') {
			size_t start = i + 1;
			int kline = line, kcol = col;

			for (i++; i < len && t[i] != '"'; i++) {
				unsigned char c2 = (unsigned char)t[i];
				if (c2 == '\\' && i + 1 < len)
					i++, col++;
				else if (c2 == '\n')
					return 0; /* not JSON; jansson will say so */
				if (c2 < 0x80 || c2 >= 0xC0)
					col++;
			}
			if (i >= len)
				return 0;
			col++; /* the closing quote */
			if (depth >= 1 && depth <= SCAN_MAX_DEPTH && lv[depth].type == '{' &&
			    lv[depth].expect_key) {
				size_t n = i - start;
				if (n >= sizeof lv[depth].key)
					n = sizeof lv[depth].key - 1;
				memcpy(lv[depth].key, t + start, n);
				lv[depth].key[n] = '\0';
				lv[depth].expect_key = 0;
				if (depth <= 2) {
					unsigned before = s->nkeys;
					scan_add_key(s, lv, depth, start - 1, kline, kcol);
					after_key = s->nkeys > before;
				}
			}
		} else if (ch == ':') {
			pending_value = after_key;
			after_key = 0;
		} else if (ch == '{' || ch == '[') {
			depth++;
			if (depth == 1 && ch == '{') {
				s->obj_line = line;
				s->obj_col = col;
			}
			if (depth <= SCAN_MAX_DEPTH) {
				lv[depth].type = (char)ch;
				lv[depth].expect_key = ch == '{';
				lv[depth].key[0] = '\0';
			}
		} else if (ch == '}' || ch == ']') {
			if (last == ',' && s->ncommas < SCAN_MAX_MARKS) {
				struct scan_mark *m = &s->commas[s->ncommas++];
				/* Name the attribute the comma follows. */
				if (depth == 2)
					snprintf(m->path, sizeof m->path, "%s/%s", lv[1].key, lv[2].key);
				else if (depth == 1 || depth == 3)
					snprintf(m->path, sizeof m->path, "%s", lv[depth].key);
				else
					m->path[0] = '\0';
				m->line = last_line;
				m->col = last_col;
				if (!s->clean && (s->clean = malloc(len ? len : 1)) != NULL)
					memcpy(s->clean, t, len);
				if (s->clean)
					s->clean[last_off] = ' ';
			}
			if (depth > 0)
				depth--;
		} else if (ch == ',') {
			if (depth >= 1 && depth <= SCAN_MAX_DEPTH && lv[depth].type == '{')
				lv[depth].expect_key = 1;
		}
		last = (char)ch;
		last_line = line;
		last_col = col;
		last_off = i;
	}
	return 0;
}

static const struct scan_key *scan_find(const struct scan *s, const char *path)
{
	unsigned i;

	for (i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i].path, path) == 0)
			return &s->keys[i];
	return NULL;
}

/* Where to point for attr: its value; for a missing attribute, the object
 * that should have held it; for the record itself, its '{'. */
static void scan_pos(void *arg, const char *attr, int *line, int *col)
{
	const struct scan *s = arg;
	const struct scan_key *k;
	char parent[SCAN_PATH];
	char *slash;

	if ((k = scan_find(s, attr)) != NULL) {
		*line = k->vline;
		*col = k->vcol;
		return;
	}
	snprintf(parent, sizeof parent, "%s", attr);
	if ((slash = strrchr(parent, '/')) != NULL) {
		*slash = '\0';
		if ((k = scan_find(s, parent)) != NULL) {
			*line = k->vline;
			*col = k->vcol;
			return;
		}
	}
	*line = s->obj_line;
	*col = s->obj_col;
}

/* The attribute whose key comes last at or before byte offset off. */
static const char *scan_attr_at(const struct scan *s, size_t off)
{
	const char *best = "";
	size_t best_off = 0;
	unsigned i;

	for (i = 0; i < s->nkeys; i++)
		if (s->keys[i].off <= off && s->keys[i].off >= best_off) {
			best = s->keys[i].path;
			best_off = s->keys[i].off;
		}
	return best;
}

/* ---- JSON to record ----
 *
 * yajl's parser hands over the document as events, and the events go
 * straight into the record: no tree is built for the attributes the
 * standard defines. Only Description and attributes the standard lacks are
 * kept as jansson values, built from the same events. This is several times
 * faster than building a jansson tree first (see bench/), which matters to a
 * SOC that validates every record it receives.
 */

#define SAX_MAX_NEST 64 /* nesting of values inside Description or an extra attribute */

enum attr {
	A_NONE = 0, A_TIMESTAMP, A_PROTOCOL, A_MESSAGE, A_CODE,
	A_REPORTER, A_REQUESTER, A_RESPONDER, A_DESCRIPTION, A_EXTRA,
};

/* A party attribute other than the identifiers (0..MM_X1367_ID_COUNT-1). */
#define P_TRANSMITTED MM_X1367_ID_COUNT
#define P_EXTRA (MM_X1367_ID_COUNT + 1)

struct sax {
	struct mm_x1367_record *r;
	struct x1367_ctx *c;
	const char *text;
	size_t len;
	struct scan *scan; /* positions, learnt only when a problem needs one */
	int depth;         /* 1 inside the record, 2 inside a party */
	enum attr top;     /* the record attribute being read */
	int party;         /* the party whose object is open, or -1 */
	int pkey;          /* the party attribute being read */
	char key1[64], key2[64];
	unsigned seen_top;
	unsigned seen_party[3];
	json_t *stack[SAX_MAX_NEST]; /* values being built (Description, extras) */
	char *keys[SAX_MAX_NEST];    /* pending member name at each object level */
	int nstack;
	int rc; /* set when the events must stop: MM_ENOMEM, MM_EINVALID, MM_EPARSE */
};

static struct scan *sax_scan(struct sax *x)
{
	if (!x->scan && (x->scan = malloc(sizeof *x->scan)) != NULL)
		scan_text(x->scan, x->text, x->len);
	return x->scan;
}

static void sax_pos(void *arg, const char *attr, int *line, int *col)
{
	struct sax *x = arg;
	struct scan *s = sax_scan(x);

	*line = *col = 0;
	if (s)
		scan_pos(s, attr, line, col);
}

/* The position of attribute path's name: for a repeated one, the repeat. */
static void sax_key_pos(struct sax *x, const char *path, int dup, int *line, int *col)
{
	struct scan *s = sax_scan(x);
	const struct scan_key *k;
	unsigned i;

	*line = *col = 0;
	if (!s)
		return;
	if (dup)
		for (i = 0; i < s->ndups; i++)
			if (strcmp(s->dups[i].path, path) == 0) {
				*line = s->dups[i].line;
				*col = s->dups[i].col;
				return;
			}
	k = scan_find(s, path);
	*line = k ? k->kline : s->obj_line;
	*col = k ? k->kcol : s->obj_col;
}

static void sax_path(const struct sax *x, char *path, size_t size)
{
	if (x->depth >= 2)
		snprintf(path, size, "%s/%s", x->key1, x->key2);
	else
		snprintf(path, size, "%s", x->key1);
}

static void report_key(struct sax *x, unsigned forgive, int dup, const char *what)
{
	char path[SCAN_PATH];
	int line, col;

	sax_path(x, path, sizeof path);
	sax_key_pos(x, path, dup, &line, &col);
	x1367_report_at(x->c, line, col, path, forgive, "%s", what);
}

static void report_value(struct sax *x, unsigned forgive, const char *what)
{
	char path[SCAN_PATH];

	sax_path(x, path, sizeof path);
	x1367_report(x->c, path, forgive, "%s", what);
}

static int stop(struct sax *x, int rc)
{
	if (!x->rc)
		x->rc = rc;
	return 0; /* yajl: cancel */
}

/* Adds key: value (a new reference) to the object *dst, creating it. */
static int keep_member(void **dst, const char *key, json_t *value)
{
	if (!*dst && (*dst = json_object()) == NULL) {
		json_decref(value);
		return MM_ENOMEM;
	}
	return json_object_set_new(*dst, key, value) ? MM_ENOMEM : 0;
}

/* A whole value for an attribute kept as JSON has been built. */
static int deliver(struct sax *x, json_t *v)
{
	int rc = 0;

	if (x->depth == 2 && x->pkey == P_EXTRA)
		rc = keep_member(&x->r->party[x->party].extra, x->key2, v);
	else if (x->depth == 1 && x->top == A_EXTRA)
		rc = keep_member(&x->r->extra, x->key1, v);
	else if (x->depth == 1 && x->top == A_DESCRIPTION) {
		json_decref(x->r->description);
		x->r->description = v;
	} else
		json_decref(v); /* of the wrong type; already reported */
	return rc < 0 ? stop(x, rc) : 1;
}

/* Adds a value to the one being built, or delivers it if it is whole. */
static int build_add(struct sax *x, json_t *v)
{
	json_t *top;
	char *key;

	if (!v)
		return stop(x, MM_ENOMEM);
	if (x->nstack == 0)
		return deliver(x, v);
	top = x->stack[x->nstack - 1];
	if (json_is_array(top))
		return json_array_append_new(top, v) ? stop(x, MM_ENOMEM) : 1;
	key = x->keys[x->nstack - 1];
	x->keys[x->nstack - 1] = NULL;
	if (!key) {
		json_decref(v);
		return stop(x, MM_EPARSE);
	}
	if (json_object_get(top, key))
		report_value(x, MM_X1367_F_DUPLICATE, "a member given more than once");
	if (json_object_set_new(top, key, v)) {
		free(key);
		return stop(x, MM_ENOMEM);
	}
	free(key);
	return 1;
}

static int build_open(struct sax *x, json_t *container)
{
	if (!container)
		return stop(x, MM_ENOMEM);
	if (x->nstack >= SAX_MAX_NEST) {
		json_decref(container);
		report_value(x, 0, "nested deeper than 64 levels");
		return stop(x, MM_EINVALID);
	}
	x->keys[x->nstack] = NULL;
	x->stack[x->nstack++] = container;
	return 1;
}

static int build_close(struct sax *x)
{
	json_t *v;

	if (x->nstack == 0)
		return stop(x, MM_EPARSE);
	v = x->stack[--x->nstack];
	free(x->keys[x->nstack]);
	x->keys[x->nstack] = NULL;
	return build_add(x, v);
}

/* Names are compared by length first: a record has few attributes but a
 * SOC decodes many records, and this runs for every attribute. */
#define NAME(s) s, sizeof(s) - 1

static enum attr classify_top(const char *key, size_t len)
{
	static const struct {
		const char *name;
		size_t len;
		enum attr a;
	} names[] = {
		{NAME(X_TIMESTAMP), A_TIMESTAMP},     {NAME(X_PROTOCOL), A_PROTOCOL},
		{NAME(X_ERROR_MESSAGE), A_MESSAGE},   {NAME(X_ERROR_CODE), A_CODE},
		{NAME(X_REPORTER), A_REPORTER},       {NAME(X_REQUESTER), A_REQUESTER},
		{NAME(X_RESPONDER), A_RESPONDER},     {NAME(X_DESCRIPTION), A_DESCRIPTION},
	};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].len == len && memcmp(key, names[i].name, len) == 0)
			return names[i].a;
	return A_EXTRA;
}

/* The party attribute named key: an identifier kind, P_TRANSMITTED or P_EXTRA. */
static int classify_party(const char *key, size_t len, int party)
{
	static const struct {
		const char *name;
		size_t len;
		int kind;
	} names[] = {
		{NAME("Unique ID"), MM_X1367_ID_UNIQUE_ID},
		{NAME("Unique Name"), MM_X1367_ID_UNIQUE_NAME},
		{NAME("IP Address"), MM_X1367_ID_IP},
		{NAME("MAC Address"), MM_X1367_ID_MAC},
		{NAME(X_TRANSMITTED), P_TRANSMITTED},
	};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].len == len && memcmp(key, names[i].name, len) == 0)
			return party == MM_X1367_REPORTER && names[i].kind == P_TRANSMITTED
				       ? P_EXTRA
				       : names[i].kind;
	return P_EXTRA;
}

static int party_of(enum attr a)
{
	return a == A_REPORTER ? MM_X1367_REPORTER
	       : a == A_REQUESTER ? MM_X1367_REQUESTER
	       : a == A_RESPONDER ? MM_X1367_RESPONDER
				  : -1;
}

/* Empties a party before a repeated party object replaces it. */
static void clear_party(struct mm_x1367_party_info *pi)
{
	int k;

	for (k = 0; k < MM_X1367_ID_COUNT; k++) {
		free(pi->id[k]);
		pi->id[k] = NULL;
	}
	free(pi->transmitted);
	pi->transmitted = NULL;
	json_decref(pi->extra);
	pi->extra = NULL;
}

static int copy_key(char *dst, size_t size, const unsigned char *s, size_t len)
{
	if (memchr(s, 0, len))
		return -1;
	if (len >= size)
		len = size - 1; /* no attribute name of the standard is this long */
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/*
 * yajl is told not to check UTF-8: it lets overlong forms through, and a
 * \u escape of a lone surrogate decodes to bytes that are not UTF-8. Every
 * decoded string is checked here instead, against RFC 3629.
 */
static int utf8_ok(struct sax *x, const unsigned char *s, size_t len)
{
	if (mm_utf8_check(s, len) == len)
		return 1;
	report_value(x, 0, "not valid UTF-8");
	return stop(x, MM_EINVALID);
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
	struct sax *x = ctx;
	char *key;

	if (!utf8_ok(x, s, len))
		return 0;

	if (x->nstack) {
		if (memchr(s, 0, len)) {
			report_value(x, 0, "a member name contains \\u0000 (NUL)");
			return stop(x, MM_EINVALID);
		}
		if ((key = strndup((const char *)s, len)) == NULL)
			return stop(x, MM_ENOMEM);
		free(x->keys[x->nstack - 1]);
		x->keys[x->nstack - 1] = key;
		return 1;
	}
	if (x->depth == 1) {
		int dup;
		if (copy_key(x->key1, sizeof x->key1, s, len) < 0) {
			report_value(x, 0, "an attribute name contains \\u0000 (NUL)");
			return stop(x, MM_EINVALID);
		}
		x->top = classify_top((const char *)s, len);
		if (x->top == A_EXTRA) {
			dup = x->r->extra && json_object_get(x->r->extra, x->key1);
			report_key(x, MM_X1367_F_EXTRA_ATTR, 0, "unknown attribute");
		} else {
			dup = (x->seen_top >> x->top) & 1;
			x->seen_top |= 1u << x->top;
		}
		if (dup) {
			report_key(x, MM_X1367_F_DUPLICATE, 1,
				   x->c->mode == MM_X1367_LENIENT
					   ? "given more than once; the last one is kept"
					   : "given more than once");
			if (party_of(x->top) >= 0)
				clear_party(&x->r->party[party_of(x->top)]);
		}
		return 1;
	}
	if (x->depth == 2) {
		int k, dup;
		if (copy_key(x->key2, sizeof x->key2, s, len) < 0) {
			report_value(x, 0, "an attribute name contains \\u0000 (NUL)");
			return stop(x, MM_EINVALID);
		}
		k = x->pkey = classify_party((const char *)s, len, x->party);
		if (k == P_EXTRA) {
			dup = x->r->party[x->party].extra &&
			      json_object_get(x->r->party[x->party].extra, x->key2);
			report_key(x, MM_X1367_F_EXTRA_ATTR, 0, "unknown attribute");
		} else {
			dup = (x->seen_party[x->party] >> k) & 1;
			x->seen_party[x->party] |= 1u << k;
		}
		if (dup)
			report_key(x, MM_X1367_F_DUPLICATE, 1, "given more than once");
		return 1;
	}
	return stop(x, MM_EPARSE);
}

/* Error Code: two hex digits; leniently also "0x30", "0X3" or one digit. */
static void read_code(struct sax *x, const char *s, size_t len)
{
	struct mm_x1367_record *r = x->r;
	char text[8], *end;
	const char *p = text;
	unsigned long n;

	if (len >= sizeof text || memchr(s, 0, len)) {
		/* yajl's strings are not NUL-terminated: print at most len bytes. */
		x1367_report(x->c, X_ERROR_CODE, 0, "\"%.*s\" is not two hex digits",
			     (int)(len < 16 ? len : 16), s);
		x->c->bad |= X_BAD_CODE;
		return;
	}
	memcpy(text, s, len);
	text[len] = '\0';
	if (len == 2 && mm_x1367_code_parse(text, &r->code) == 0) {
		r->has_code = 1;
		return;
	}
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	n = strtoul(p, &end, 16);
	if (*p && *p != '-' && *p != '+' && *p != ' ' && *end == '\0' && end - p <= 2 && n <= 0xFF) {
		r->code = (uint8_t)n;
		r->has_code = 1;
		x1367_report(x->c, X_ERROR_CODE, MM_X1367_F_CODE_FORM,
			     "\"%s\" is not two hex digits", text);
		return;
	}
	x1367_report(x->c, X_ERROR_CODE, 0, "\"%s\" is not two hex digits", text);
	x->c->bad |= X_BAD_CODE;
}

static int set_text(struct sax *x, char **dst, const unsigned char *s, size_t len)
{
	char *c;

	if ((c = strndup((const char *)s, len)) == NULL)
		return stop(x, MM_ENOMEM);
	free(*dst);
	*dst = c;
	return 1;
}

/* The value of a record attribute was not of its type. */
static void wrong_type(struct sax *x)
{
	static const char *const want[] = {
		[A_TIMESTAMP] = "must be a string", [A_PROTOCOL] = "must be a string",
		[A_MESSAGE] = "must be a string",
		[A_CODE] = "must be a string of two hex digits, like \"30\"",
		[A_REPORTER] = "must be an object", [A_REQUESTER] = "must be an object",
		[A_RESPONDER] = "must be an object",
	};
	static const unsigned bad[] = {
		[A_TIMESTAMP] = X_BAD_TIMESTAMP, [A_PROTOCOL] = X_BAD_PROTOCOL,
		[A_MESSAGE] = X_BAD_MESSAGE, [A_CODE] = X_BAD_CODE,
		[A_REPORTER] = X_BAD_PARTY(0), [A_REQUESTER] = X_BAD_PARTY(1),
		[A_RESPONDER] = X_BAD_PARTY(2),
	};

	report_value(x, 0, want[x->top]);
	x->c->bad |= bad[x->top];
}

static void wrong_party_type(struct sax *x)
{
	if (x->pkey == P_TRANSMITTED) {
		report_value(x, 0, "must be a string of hex digits");
		x->c->bad |= X_BAD_TRANSMITTED(x->party);
	} else {
		report_value(x, 0, "must be a string");
	}
}

/* Every scalar comes here: s/len for a string, v for what jansson keeps. */
static int on_scalar(struct sax *x, const unsigned char *s, size_t len, json_t *v, int is_int,
		     long long n)
{
	if (s && memchr(s, 0, len)) {
		json_decref(v);
		report_value(x, 0, "contains \\u0000 (NUL), which is not allowed");
		return stop(x, MM_EINVALID);
	}
	if (x->nstack)
		return build_add(x, v);
	if (x->depth == 0) {
		json_decref(v);
		x1367_report_at(x->c, 1, 1, "", 0, "a record must be a JSON object");
		return stop(x, MM_EINVALID);
	}
	if (x->depth == 1) {
		if (x->top == A_DESCRIPTION || x->top == A_EXTRA)
			return build_add(x, v);
		json_decref(v);
		if (!s) {
			wrong_type(x);
			return 1;
		}
		switch (x->top) {
		case A_TIMESTAMP: return set_text(x, &x->r->timestamp, s, len);
		case A_PROTOCOL: return set_text(x, &x->r->protocol, s, len);
		case A_MESSAGE: return set_text(x, &x->r->message, s, len);
		case A_CODE: read_code(x, (const char *)s, len); return 1;
		default: wrong_type(x); return 1;
		}
	}
	/* depth 2: inside a party */
	if (x->pkey == P_EXTRA)
		return build_add(x, v);
	json_decref(v);
	if (x->pkey == P_TRANSMITTED) {
		if (!s) {
			wrong_party_type(x);
			return 1;
		}
		return set_text(x, &x->r->party[x->party].transmitted, s, len);
	}
	if (s)
		return set_text(x, &x->r->party[x->party].id[x->pkey], s, len);
	if (is_int) {
		/* Some senders write a numeric ID as a number. */
		char num[32];
		int k = snprintf(num, sizeof num, "%lld", n);
		report_value(x, MM_X1367_F_IDENTIFIER, "a number where a string is required");
		return set_text(x, &x->r->party[x->party].id[x->pkey], (unsigned char *)num,
				(size_t)k);
	}
	wrong_party_type(x);
	return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct sax *x = ctx;
	json_t *v = NULL;

	if (!utf8_ok(x, s, len))
		return 0;

	/* Only values kept as JSON need a jansson string. */
	if (x->nstack || (x->depth == 1 && (x->top == A_DESCRIPTION || x->top == A_EXTRA)) ||
	    (x->depth == 2 && x->pkey == P_EXTRA)) {
		if (memchr(s, 0, len) == NULL && (v = json_stringn((const char *)s, len)) == NULL)
			return stop(x, MM_ENOMEM);
	}
	return on_scalar(x, s, len, v, 0, 0);
}

static int on_integer(void *ctx, long long n)
{
	return on_scalar(ctx, NULL, 0, json_integer(n), 1, n);
}

static int on_double(void *ctx, double d)
{
	return on_scalar(ctx, NULL, 0, json_real(d), 0, 0);
}

static int on_boolean(void *ctx, int b)
{
	return on_scalar(ctx, NULL, 0, json_boolean(b), 0, 0);
}

static int on_null(void *ctx)
{
	return on_scalar(ctx, NULL, 0, json_null(), 0, 0);
}

static int on_open(struct sax *x, int is_map)
{
	if (x->nstack)
		return build_open(x, is_map ? json_object() : json_array());
	if (x->depth == 0) {
		if (!is_map) {
			x1367_report_at(x->c, 1, 1, "", 0, "a record must be a JSON object");
			return stop(x, MM_EINVALID);
		}
		x->depth = 1;
		return 1;
	}
	if (x->depth == 1) {
		if (is_map && party_of(x->top) >= 0) {
			x->depth = 2;
			x->party = party_of(x->top);
			return 1;
		}
		if (x->top != A_DESCRIPTION && x->top != A_EXTRA)
			wrong_type(x);
	} else if (x->pkey != P_EXTRA) {
		wrong_party_type(x);
	}
	/* Kept as JSON, or built only to be dropped (the wrong type). */
	return build_open(x, is_map ? json_object() : json_array());
}

static int on_start_map(void *ctx)
{
	return on_open(ctx, 1);
}

static int on_start_array(void *ctx)
{
	return on_open(ctx, 0);
}

static int on_end_map(void *ctx)
{
	struct sax *x = ctx;

	if (x->nstack)
		return build_close(x);
	if (x->depth == 2) {
		x->depth = 1;
		x->party = -1;
	} else {
		x->depth = 0;
	}
	return 1;
}

static int on_end_array(void *ctx)
{
	return build_close(ctx);
}

static const yajl_callbacks sax_callbacks = {
	on_null, on_boolean, on_integer, on_double, NULL, on_string,
	on_start_map, on_key, on_end_map, on_start_array, on_end_array,
};

static void sax_reset(struct sax *x, struct mm_x1367_record *r)
{
	while (x->nstack > 0) {
		x->nstack--;
		json_decref(x->stack[x->nstack]);
		free(x->keys[x->nstack]);
	}
	x->r = r;
	x->depth = 0;
	x->top = A_NONE;
	x->party = -1;
	x->pkey = 0;
	x->key1[0] = x->key2[0] = '\0';
	x->seen_top = 0;
	memset(x->seen_party, 0, sizeof x->seen_party);
	x->rc = 0;
}

/* Line and column (in characters) of byte offset off. */
static void offset_pos(const char *t, size_t len, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		unsigned char ch = (unsigned char)t[i];
		if (ch == '\n') {
			(*line)++;
			*col = 1;
		} else if (ch < 0x80 || ch >= 0xC0) {
			(*col)++;
		}
	}
}

/*
 * Runs the parser over text. Returns 0, the rc a callback stopped with, or
 * MM_EPARSE with *err (free with yajl_free_error) and *err_off set.
 */
static int sax_run(struct sax *x, const char *text, size_t len, unsigned char **err,
		   size_t *err_off)
{
	yajl_handle h = yajl_alloc(&sax_callbacks, NULL, x);
	yajl_status st;

	*err = NULL;
	if (!h)
		return MM_ENOMEM;
	yajl_config(h, yajl_dont_validate_strings, 1);
	st = yajl_parse(h, (const unsigned char *)text, len);
	*err_off = yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(h);
		*err_off = len;
	}
	if (st == yajl_status_error) {
		*err = yajl_get_error(h, 0, NULL, 0);
		x->rc = MM_EPARSE;
	}
	if (*err == NULL && st == yajl_status_error)
		x->rc = MM_ENOMEM;
	if (x->rc != MM_EPARSE && *err) {
		yajl_free_error(h, *err);
		*err = NULL;
	}
	if (*err) {
		/* Keep the text; the handle goes. yajl's default allocator is malloc. */
		char *copy = strdup((const char *)*err);
		yajl_free_error(h, *err);
		*err = (unsigned char *)copy;
		if (!copy)
			x->rc = MM_ENOMEM;
	}
	yajl_free(h);
	return x->rc;
}

/* Reports a yajl error at its place, in words a reader of the record knows. */
static void report_parse_error(struct sax *x, const char *text, size_t len, const char *err,
			       size_t off)
{
	struct scan *s = sax_scan(x);
	char msg[160];
	size_t n;
	int line, col;

	/* "parse error: premature EOF" reads better as what it means. */
	if (err && (strncmp(err, "parse error: ", 13) == 0 || strncmp(err, "lexical error: ", 15) == 0))
		err = strchr(err, ':') + 2;
	if (err && strncmp(err, "premature EOF", 13) == 0)
		err = "the record ends before its JSON is complete";
	snprintf(msg, sizeof msg, "%s", err ? err : "malformed JSON");
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ' || msg[n - 1] == '.'))
		msg[--n] = '\0';
	offset_pos(text, len, off, &line, &col);
	x1367_report_at(x->c, line, col, s ? scan_attr_at(s, off) : "", 0, "%s%s",
			strstr(msg, "UTF8") ? "invalid UTF-8: " : "", msg);
}

int mm_x1367_decode(const char *text, size_t len, enum mm_x1367_mode mode,
		    struct mm_x1367_record **out, struct mm_x1367_diags *d)
{
	struct x1367_ctx c = {.mode = mode, .d = d};
	struct mm_x1367_record *r;
	unsigned char *err = NULL;
	struct sax *x;
	size_t off = 0;
	unsigned i;
	int rc;

	*out = NULL;
	if (d) /* only the counts: clearing all 32 entries costs more than a decode */
		d->n = d->dropped = d->errors = 0;
	if (len > MM_X1367_MAX_TEXT) {
		x1367_report_at(&c, 1, 1, "", 0, "record of %zu bytes is over the %d byte limit", len,
				MM_X1367_MAX_TEXT);
		return MM_ETOOBIG;
	}
	if ((x = calloc(1, sizeof *x)) == NULL || (r = mm_x1367_new()) == NULL) {
		free(x);
		return MM_ENOMEM;
	}
	x->c = &c;
	x->text = text;
	x->len = len;
	c.pos = sax_pos;
	c.arg = x;
	sax_reset(x, r);
	rc = sax_run(x, text, len, &err, &off);
	if (rc == MM_EPARSE && sax_scan(x) && x->scan->clean) {
		/* Trailing commas, as in the published examples: say so, and read
		 * the text again without them (same positions). The first run's
		 * reports would all come again, so they are forgotten. */
		if (d)
			d->n = d->dropped = d->errors = 0;
		c.errors = c.forgiven = c.bad = 0;
		for (i = 0; i < x->scan->ncommas; i++)
			x1367_report_at(&c, x->scan->commas[i].line, x->scan->commas[i].col,
					x->scan->commas[i].path, MM_X1367_F_TRAILING_COMMA,
					"trailing comma before the closing bracket");
		mm_x1367_free(r);
		if ((r = mm_x1367_new()) == NULL) {
			rc = MM_ENOMEM;
			goto done;
		}
		sax_reset(x, r);
		free(err);
		x->text = x->scan->clean;
		rc = sax_run(x, x->text, len, &err, &off);
	}
	if (rc == MM_EPARSE)
		report_parse_error(x, x->text, len, (const char *)err, off);
	if (rc == 0) {
		x1367_check(r, &c);
		if (c.errors)
			rc = MM_EINVALID;
	}
	if (rc == 0) {
		r->time = c.time; /* read once, by the check */
		r->forgiven = c.forgiven;
		*out = r;
		r = NULL;
	}
done:
	free(err);
	sax_reset(x, NULL);
	mm_x1367_free(r);
	if (x->scan)
		free(x->scan->clean);
	free(x->scan);
	free(x);
	return rc;
}

/* ---- record to JSON ----
 *
 * Written with yajl's generator in the standard's order. Building a jansson
 * object and dumping it cost three times a whole decode (see bench/).
 */

static int gen_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) == yajl_gen_status_ok;
}

static int gen_member(yajl_gen g, const char *key, const char *value)
{
	return !value || (gen_str(g, key) && gen_str(g, value));
}

/* Writes a jansson value (Description, an extra attribute). */
static int gen_json(yajl_gen g, json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (yajl_gen_map_open(g) != yajl_gen_status_ok)
			return 0;
		json_object_foreach(v, key, m)
			if (!gen_str(g, key) || !gen_json(g, m))
				return 0;
		return yajl_gen_map_close(g) == yajl_gen_status_ok;
	case JSON_ARRAY:
		if (yajl_gen_array_open(g) != yajl_gen_status_ok)
			return 0;
		json_array_foreach(v, i, m)
			if (!gen_json(g, m))
				return 0;
		return yajl_gen_array_close(g) == yajl_gen_status_ok;
	case JSON_STRING:
		return yajl_gen_string(g, (const unsigned char *)json_string_value(v),
				       json_string_length(v)) == yajl_gen_status_ok;
	case JSON_INTEGER:
		return yajl_gen_integer(g, json_integer_value(v)) == yajl_gen_status_ok;
	case JSON_REAL:
		return yajl_gen_double(g, json_real_value(v)) == yajl_gen_status_ok;
	case JSON_TRUE:
	case JSON_FALSE:
		return yajl_gen_bool(g, json_is_true(v)) == yajl_gen_status_ok;
	case JSON_NULL:
		return yajl_gen_null(g) == yajl_gen_status_ok;
	}
	return 0;
}

/* Writes the members of an object of extra attributes. */
static int gen_extra(yajl_gen g, void *extra)
{
	const char *key;
	json_t *m;

	if (!extra)
		return 1;
	json_object_foreach((json_t *)extra, key, m)
		if (!gen_str(g, key) || !gen_json(g, m))
			return 0;
	return 1;
}

static int gen_party(yajl_gen g, const char *name, const struct mm_x1367_party_info *pi,
		     int with_code)
{
	int k;

	if (!gen_str(g, name) || yajl_gen_map_open(g) != yajl_gen_status_ok)
		return 0;
	for (k = 0; k < MM_X1367_ID_COUNT; k++)
		if (!gen_member(g, mm_x1367_idkind_name((enum mm_x1367_idkind)k), pi->id[k]))
			return 0;
	if (with_code && !gen_member(g, X_TRANSMITTED, pi->transmitted))
		return 0;
	return gen_extra(g, pi->extra) && yajl_gen_map_close(g) == yajl_gen_status_ok;
}

char *mm_x1367_encode(const struct mm_x1367_record *r, int flags)
{
	const unsigned char *buf;
	char code[3], *text = NULL;
	yajl_gen g;
	size_t len;
	int ok;

	if (r->forgiven == 0 && mm_x1367_validate(r, NULL) < 0)
		return NULL;
	if (!r->timestamp || !r->protocol || !r->has_code || !r->message)
		return NULL;
	if ((g = yajl_gen_alloc(NULL)) == NULL)
		return NULL;
	if (flags & MM_X1367_ENC_PRETTY) {
		yajl_gen_config(g, yajl_gen_beautify, 1);
		yajl_gen_config(g, yajl_gen_indent_string, "  ");
	}
	snprintf(code, sizeof code, "%02X", r->code);
	ok = yajl_gen_map_open(g) == yajl_gen_status_ok &&
	     gen_member(g, X_TIMESTAMP, r->timestamp) &&
	     gen_party(g, X_REPORTER, &r->party[MM_X1367_REPORTER], 0) &&
	     gen_member(g, X_PROTOCOL, r->protocol) &&
	     gen_party(g, X_REQUESTER, &r->party[MM_X1367_REQUESTER], 1) &&
	     gen_party(g, X_RESPONDER, &r->party[MM_X1367_RESPONDER], 1) &&
	     gen_member(g, X_ERROR_CODE, code) && gen_member(g, X_ERROR_MESSAGE, r->message) &&
	     (!r->description || (gen_str(g, X_DESCRIPTION) && gen_json(g, r->description))) &&
	     gen_extra(g, r->extra) && yajl_gen_map_close(g) == yajl_gen_status_ok &&
	     yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok;
	if (ok)
		text = strndup((const char *)buf, len);
	yajl_gen_free(g);
	return text;
}
