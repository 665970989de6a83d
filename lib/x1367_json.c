/*
 * X.1367 records as JSON: decode with positions, validate, encode.
 *
 * jansson parses the JSON; a light scanner runs over the same text first to
 * learn what jansson does not tell: the line and column of every attribute
 * (so that a problem found in the content can be pointed at), trailing
 * commas (which the published examples carry and jansson rejects), and
 * attributes given twice (which jansson silently collapses).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

/* ---- JSON to record ---- */

static int dup_json_string(json_t *v, char **dst)
{
	char *c = strndup(json_string_value(v), json_string_length(v));

	if (!c)
		return MM_ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

/* Adds key: value to the object *extra, creating it. */
static int keep_extra(void **extra, const char *key, json_t *value)
{
	if (!*extra && (*extra = json_object()) == NULL)
		return MM_ENOMEM;
	return json_object_set(*extra, key, value) ? MM_ENOMEM : 0;
}

static void key_pos(const struct scan *s, const char *path, int *line, int *col)
{
	const struct scan_key *k = scan_find(s, path);

	*line = k ? k->kline : s->obj_line;
	*col = k ? k->kcol : s->obj_col;
}

static int convert_party(json_t *obj, struct mm_x1367_record *r, enum mm_x1367_party p,
			 struct x1367_ctx *c, const struct scan *s)
{
	struct mm_x1367_party_info *pi = &r->party[p];
	const char *pname = x1367_party_names[p];
	const char *key;
	json_t *v;
	char path[160];
	int k, rc, line, col;

	json_object_foreach(obj, key, v) {
		snprintf(path, sizeof path, "%s/%s", pname, key);
		for (k = 0; k < MM_X1367_ID_COUNT; k++)
			if (strcmp(key, mm_x1367_idkind_name((enum mm_x1367_idkind)k)) == 0)
				break;
		if (k < MM_X1367_ID_COUNT) {
			if (json_is_string(v)) {
				if ((rc = dup_json_string(v, &pi->id[k])) < 0)
					return rc;
			} else if (json_is_integer(v)) {
				/* Some senders write a numeric ID as a number. */
				char num[32];
				snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
				x1367_report(c, path, MM_X1367_F_IDENTIFIER,
					     "a number where a string is required");
				free(pi->id[k]);
				if ((pi->id[k] = strdup(num)) == NULL)
					return MM_ENOMEM;
			} else {
				x1367_report(c, path, 0, "must be a string");
			}
		} else if (p != MM_X1367_REPORTER && strcmp(key, X_TRANSMITTED) == 0) {
			if (!json_is_string(v)) {
				x1367_report(c, path, 0, "must be a string of hex digits");
				c->bad |= X_BAD_TRANSMITTED(p);
			}
			else if ((rc = dup_json_string(v, &pi->transmitted)) < 0)
				return rc;
		} else {
			key_pos(s, path, &line, &col);
			x1367_report_at(c, line, col, path, MM_X1367_F_EXTRA_ATTR,
					"unknown attribute");
			if ((rc = keep_extra(&pi->extra, key, v)) < 0)
				return rc;
		}
	}
	return 0;
}

/* Error Code: two hex digits; leniently also "0x30", "0X3" or one digit. */
static void convert_code(json_t *v, struct mm_x1367_record *r, struct x1367_ctx *c)
{
	const char *s;
	char *end;
	unsigned long n;

	c->bad |= X_BAD_CODE; /* cleared below once the code is read */
	if (!json_is_string(v)) {
		x1367_report(c, X_ERROR_CODE, 0, "must be a string of two hex digits, like \"30\"");
		return;
	}
	s = json_string_value(v);
	if (json_string_length(v) == 2 && mm_x1367_code_parse(s, &r->code) == 0) {
		r->has_code = 1;
		c->bad &= ~X_BAD_CODE;
		return;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strtoul(s, &end, 16);
	if (*s && *s != '-' && *s != '+' && *s != ' ' && *end == '\0' && end - s <= 2 && n <= 0xFF) {
		r->code = (uint8_t)n;
		r->has_code = 1;
		c->bad &= ~X_BAD_CODE;
		x1367_report(c, X_ERROR_CODE, MM_X1367_F_CODE_FORM,
			     "\"%s\" is not two hex digits", json_string_value(v));
		return;
	}
	x1367_report(c, X_ERROR_CODE, 0, "\"%s\" is not two hex digits", json_string_value(v));
}

static int convert(json_t *root, struct mm_x1367_record *r, struct x1367_ctx *c,
		   const struct scan *s)
{
	static const struct {
		const char *name;
		enum mm_x1367_party p;
	} parties[] = {
		{X_REPORTER, MM_X1367_REPORTER},
		{X_REQUESTER, MM_X1367_REQUESTER},
		{X_RESPONDER, MM_X1367_RESPONDER},
	};
	const char *key;
	json_t *v;
	int rc, line, col;
	size_t i;

	json_object_foreach(root, key, v) {
		for (i = 0; i < 3; i++)
			if (strcmp(key, parties[i].name) == 0)
				break;
		if (i < 3) {
			if (!json_is_object(v)) {
				x1367_report(c, key, 0, "must be an object");
				c->bad |= X_BAD_PARTY(parties[i].p);
			} else if ((rc = convert_party(v, r, parties[i].p, c, s)) < 0)
				return rc;
		} else if (strcmp(key, X_TIMESTAMP) == 0 || strcmp(key, X_PROTOCOL) == 0 ||
			   strcmp(key, X_ERROR_MESSAGE) == 0) {
			char **dst = key[0] == 'T' ? &r->timestamp
				     : key[0] == 'P' ? &r->protocol
						     : &r->message;
			if (!json_is_string(v)) {
				x1367_report(c, key, 0, "must be a string");
				c->bad |= key[0] == 'T' ? X_BAD_TIMESTAMP
					  : key[0] == 'P' ? X_BAD_PROTOCOL
							  : X_BAD_MESSAGE;
			} else if ((rc = dup_json_string(v, dst)) < 0)
				return rc;
		} else if (strcmp(key, X_ERROR_CODE) == 0) {
			convert_code(v, r, c);
		} else if (strcmp(key, X_DESCRIPTION) == 0) {
			json_decref(r->description);
			r->description = json_incref(v);
		} else {
			key_pos(s, key, &line, &col);
			x1367_report_at(c, line, col, key, MM_X1367_F_EXTRA_ATTR,
					"unknown attribute");
			if ((rc = keep_extra(&r->extra, key, v)) < 0)
				return rc;
		}
	}
	if (r->timestamp && mm_x1367_time_parse(r->timestamp, &r->time) < 0)
		memset(&r->time, 0, sizeof r->time);
	return 0;
}

int mm_x1367_decode(const char *text, size_t len, enum mm_x1367_mode mode,
		    struct mm_x1367_record **out, struct mm_x1367_diags *d)
{
	struct scan *s = NULL;
	struct x1367_ctx c = {.mode = mode, .d = d};
	struct mm_x1367_record *r = NULL;
	json_error_t jerr;
	json_t *root = NULL;
	unsigned i;
	int rc = MM_EINVALID, flags;

	*out = NULL;
	if (d)
		memset(d, 0, sizeof *d);
	if (len > MM_X1367_MAX_TEXT) {
		x1367_report_at(&c, 1, 1, "", 0, "record of %zu bytes is over the %d byte limit", len,
				MM_X1367_MAX_TEXT);
		return MM_ETOOBIG;
	}
	if ((s = malloc(sizeof *s)) == NULL)
		return MM_ENOMEM;
	scan_text(s, text, len);
	c.pos = scan_pos;
	c.arg = s;
	for (i = 0; i < s->ncommas; i++)
		x1367_report_at(&c, s->commas[i].line, s->commas[i].col, s->commas[i].path,
				MM_X1367_F_TRAILING_COMMA, "trailing comma before the closing bracket");
	for (i = 0; i < s->ndups; i++)
		x1367_report_at(&c, s->dups[i].line, s->dups[i].col, s->dups[i].path,
				MM_X1367_F_DUPLICATE, "given more than once%s",
				mode == MM_X1367_LENIENT ? "; the last one is kept" : "");

	/* Duplicates deeper than the scanner looks are jansson's to refuse. */
	flags = mode == MM_X1367_STRICT && s->ndups == 0 ? JSON_REJECT_DUPLICATES : 0;
	root = json_loadb(s->clean ? s->clean : text, len, flags, &jerr);
	if (!root) {
		/* jansson names a bad byte without saying what rule it breaks. */
		x1367_report_at(&c, jerr.line, jerr.column, scan_attr_at(s, (size_t)jerr.position),
				0, "%s%s",
				strncmp(jerr.text, "unable to decode byte", 21) == 0 ? "invalid UTF-8: "
										     : "",
				jerr.text);
		rc = MM_EPARSE;
		goto done;
	}
	if (!json_is_object(root)) {
		x1367_report_at(&c, 1, 1, "", 0, "a record must be a JSON object");
		goto done;
	}
	if ((r = mm_x1367_new()) == NULL) {
		rc = MM_ENOMEM;
		goto done;
	}
	if ((rc = convert(root, r, &c, s)) < 0)
		goto done;
	x1367_check(r, &c);
	if (c.errors) {
		rc = MM_EINVALID;
		goto done;
	}
	r->forgiven = c.forgiven;
	*out = r;
	r = NULL;
	rc = 0;
done:
	mm_x1367_free(r);
	json_decref(root);
	free(s->clean);
	free(s);
	return rc;
}

/* ---- record to JSON ---- */

static int put_str(json_t *o, const char *key, const char *v)
{
	json_t *j;

	if (!v)
		return 0;
	if ((j = json_string(v)) == NULL)
		return -1;
	return json_object_set_new(o, key, j);
}

/* Copies the extra attributes of src into o, after the standard ones. */
static int put_extra(json_t *o, void *src)
{
	return src ? json_object_update_missing(o, src) : 0;
}

static json_t *party_json(const struct mm_x1367_party_info *pi, int with_code)
{
	json_t *o = json_object();
	int k, bad = !o;

	for (k = 0; !bad && k < MM_X1367_ID_COUNT; k++)
		bad = put_str(o, mm_x1367_idkind_name((enum mm_x1367_idkind)k), pi->id[k]);
	if (!bad && with_code)
		bad = put_str(o, X_TRANSMITTED, pi->transmitted);
	if (!bad)
		bad = put_extra(o, pi->extra);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *mm_x1367_encode(const struct mm_x1367_record *r, int flags)
{
	json_t *o = NULL, *p;
	char code[3], *text = NULL;
	int bad;

	if (r->forgiven == 0 && mm_x1367_validate(r, NULL) < 0)
		return NULL;
	if (!r->timestamp || !r->protocol || !r->has_code || !r->message)
		return NULL;
	snprintf(code, sizeof code, "%02X", r->code);
	if ((o = json_object()) == NULL)
		return NULL;
	bad = put_str(o, X_TIMESTAMP, r->timestamp);
	bad = bad || (p = party_json(&r->party[MM_X1367_REPORTER], 0)) == NULL ||
	      json_object_set_new(o, X_REPORTER, p);
	bad = bad || put_str(o, X_PROTOCOL, r->protocol);
	bad = bad || (p = party_json(&r->party[MM_X1367_REQUESTER], 1)) == NULL ||
	      json_object_set_new(o, X_REQUESTER, p);
	bad = bad || (p = party_json(&r->party[MM_X1367_RESPONDER], 1)) == NULL ||
	      json_object_set_new(o, X_RESPONDER, p);
	bad = bad || put_str(o, X_ERROR_CODE, code);
	bad = bad || put_str(o, X_ERROR_MESSAGE, r->message);
	bad = bad || (r->description && json_object_set(o, X_DESCRIPTION, r->description));
	bad = bad || put_extra(o, r->extra);
	if (!bad)
		text = json_dumps(o, (flags & MM_X1367_ENC_PRETTY ? JSON_INDENT(2) : JSON_COMPACT) |
					     JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}
