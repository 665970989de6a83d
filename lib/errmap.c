/*
 * Vendor error mapping tables: proprietary error codes, per protocol and
 * vendor, to ITU-T X.1367 standard codes. The contract is in
 * include/mamori/errmap.h, the file format in docs/formats/errmap.md.
 *
 * Loading is one pass over the text, a line at a time, each line read
 * through a bounded cursor. Entries go into their table's arrays in file
 * order. When a table ends (at the next section header or at the end of the
 * text) its arrays are sorted, which puts duplicates and overlapping ranges
 * next to each other where one scan finds them. Once the whole text is read
 * the tables themselves are sorted by (protocol, vendor), so that a lookup is
 * a handful of binary searches and never a scan.
 *
 * A loaded map is never written again; lookups only read it, so one map may
 * serve several threads.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/buf.h"
#include "mamori/errmap.h"
#include "mamori/error.h"
#include "mamori/x1367.h"

/* What one entry maps to. text is owned; NULL stands for the standard message. */
struct target {
	char *text;
	int line;
	uint8_t code;
};

struct xentry {
	uint64_t code;
	struct target t;
};

struct rentry {
	uint64_t lo, hi;
	struct target t;
};

struct nentry {
	char *name;
	struct target t;
};

struct table {
	char *protocol;
	char *vendor; /* NULL: the table serves any vendor */
	int line;     /* of the section header */
	struct xentry *x;
	size_t nx, capx;
	struct rentry *r;
	size_t nr, capr;
	struct nentry *n;
	size_t nn, capn;
	struct target def;
	int has_def;
};

struct mm_errmap {
	struct table *t; /* sorted by (protocol, vendor) once loaded */
	size_t nt, capt;
	size_t nentries;
};

struct parser {
	struct mm_errmap *map;
	struct table *cur; /* the open section, NULL before the first */
	struct mm_errmap_err *err;
	struct mm_cur c; /* the line being read, without its line ending */
	int line;
	struct mm_buf s; /* the last quoted string read */
};

/* How a number failed to scan. */
enum scan {
	SCAN_OK = 0,
	SCAN_NONE = -1,     /* no digit where a number should start */
	SCAN_BAD = -2,      /* digits run into a letter or a digit of the wrong base */
	SCAN_OVERFLOW = -3, /* more than 64 bits */
};

static void set_err(struct mm_errmap_err *err, int line, int col, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static void set_err(struct mm_errmap_err *err, int line, int col, const char *fmt, va_list ap)
{
	err->line = line;
	err->col = col;
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

/* Records an error at column col (1-based, 0 for none) of the current line
 * and returns rc, so that a caller can write `return fail(...)`. */
static int fail(struct parser *ps, int rc, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct parser *ps, int rc, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_err(ps->err, ps->line, col, fmt, ap);
	va_end(ap);
	return rc;
}

static int nomem(struct parser *ps)
{
	return fail(ps, MM_ENOMEM, 0, "out of memory");
}

/* The 1-based column of the cursor. Lines are at most MM_ERRMAP_MAX_LINE
 * bytes, so the cast cannot lose anything. */
static int column(const struct parser *ps)
{
	return (int)ps->c.pos + 1;
}

static int is_word(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       ch == '_';
}

static size_t skip_ws(struct mm_cur *c)
{
	size_t n = 0;

	while (mm_cur_peek(c) == ' ' || mm_cur_peek(c) == '\t') {
		c->pos++;
		n++;
	}
	return n;
}

/* Takes the keyword w if the cursor is on it as a whole word. */
static int accept_word(struct mm_cur *c, const char *w)
{
	size_t n = strlen(w);

	if (mm_cur_left(c) < n || memcmp(c->p + c->pos, w, n) != 0)
		return 0;
	if (mm_cur_left(c) > n && is_word(c->p[c->pos + n]))
		return 0;
	c->pos += n;
	return 1;
}

/*
 * Scans a proprietary numeric code: 0x or 0X and 1 or more hex digits, or
 * decimal digits. Leading zeros are only zeros; there is no octal, because
 * nobody writing a mapping table today means 010 to be eight.
 */
static enum scan scan_number(struct mm_cur *c, uint64_t *out)
{
	uint64_t v = 0;
	int ch, d, any = 0;

	if (mm_cur_left(c) >= 3 && c->p[c->pos] == '0' &&
	    (c->p[c->pos + 1] == 'x' || c->p[c->pos + 1] == 'X') && mm_hex_digit(c->p[c->pos + 2]) >= 0) {
		c->pos += 2;
		while ((d = mm_hex_digit(mm_cur_peek(c))) >= 0) {
			if (v > UINT64_MAX >> 4)
				return SCAN_OVERFLOW;
			v = v << 4 | (uint64_t)d;
			c->pos++;
		}
	} else {
		while ((ch = mm_cur_peek(c)) >= '0' && ch <= '9') {
			d = ch - '0';
			if (v > (UINT64_MAX - (uint64_t)d) / 10)
				return SCAN_OVERFLOW;
			v = v * 10 + (uint64_t)d;
			c->pos++;
			any = 1;
		}
		if (!any)
			return SCAN_NONE;
	}
	/* "12abc" or "0x1G" is a typo, not a number followed by a word. */
	if (is_word(mm_cur_peek(c)))
		return SCAN_BAD;
	*out = v;
	return SCAN_OK;
}

static int parse_number(struct parser *ps, uint64_t *out)
{
	int start = column(ps);

	switch (scan_number(&ps->c, out)) {
	case SCAN_OK:
		return 0;
	case SCAN_OVERFLOW:
		return fail(ps, MM_EPARSE, start, "numeric code overflows 64 bits");
	case SCAN_BAD:
		return fail(ps, MM_EPARSE, column(ps),
			    "bad character in a numeric code (hex needs 0x, decimal only digits)");
	case SCAN_NONE:
		break;
	}
	return fail(ps, MM_EPARSE, start,
		    "expected a code: a number (0x.. or decimal), a quoted name, or 'default'");
}

/*
 * Reads a quoted string into ps->s; the cursor is on the opening quote.
 * Only \" and \\ are escapes, so that what a vendor writes is what the SOC
 * reads. Control characters are refused because the text ends up in a JSON
 * record and a syslog line, where they would only do harm.
 */
static int parse_quoted(struct parser *ps, const char *what)
{
	struct mm_cur *c = &ps->c;
	int start = column(ps), ch, rc;

	mm_buf_reset(&ps->s);
	mm_cur_getc(c);
	for (;;) {
		if ((ch = mm_cur_getc(c)) < 0)
			return fail(ps, MM_EPARSE, start, "unterminated %s: no closing '\"'", what);
		if (ch == '"')
			break;
		if (ch == '\\') {
			if ((ch = mm_cur_getc(c)) < 0)
				return fail(ps, MM_EPARSE, start,
					    "unterminated %s: no closing '\"'", what);
			if (ch != '"' && ch != '\\')
				return fail(ps, MM_EPARSE, column(ps) - 2,
					    "unknown escape in %s: only \\\" and \\\\ are allowed",
					    what);
		} else if (ch < 0x20 || ch == 0x7F) {
			return fail(ps, MM_EPARSE, column(ps) - 1, "control character in %s", what);
		}
		if ((rc = mm_buf_putc(&ps->s, (char)ch)) < 0)
			return rc == MM_ENOMEM ? nomem(ps)
					       : fail(ps, rc, start, "%s too long", what);
	}
	if (ps->s.len == 0)
		return fail(ps, MM_EPARSE, start, "empty %s", what);
	return 0;
}

/* A copy of the last quoted string (never empty, never holding a NUL). */
static char *scratch_dup(const struct parser *ps)
{
	char *p;

	if ((p = malloc(ps->s.len + 1)) == NULL)
		return NULL;
	memcpy(p, ps->s.data, ps->s.len + 1);
	return p;
}

/*
 * After the last token of a line only blanks and a trailing comment may
 * follow. A '#' must come after a blank, so that a '#' stuck to a token is
 * reported instead of silently cutting the token short.
 */
static int end_of_line(struct parser *ps, const char *after)
{
	struct mm_cur *c = &ps->c;

	skip_ws(c);
	if (mm_cur_eof(c))
		return 0;
	if (mm_cur_peek(c) == '#') {
		if (c->pos > 0 && (c->p[c->pos - 1] == ' ' || c->p[c->pos - 1] == '\t'))
			return 0;
		return fail(ps, MM_EPARSE, column(ps),
			    "'#' starts a comment only after whitespace");
	}
	return fail(ps, MM_EPARSE, column(ps), "unexpected text after %s", after);
}

/* Makes room for element n of an array of size-byte elements. The map's
 * limits bound n, so the doubling cannot overflow. */
static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 8;
	if ((p = realloc(arr, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return p;
}

/* ---- checks when a table ends ---- */

/* Keeps the error on the earliest line, so that a table with several
 * clashes reports the one a reader meets first. */
static void note(struct mm_errmap_err *best, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note(struct mm_errmap_err *best, int line, const char *fmt, ...)
{
	va_list ap;

	if (best->line != 0 && best->line <= line)
		return;
	va_start(ap, fmt);
	set_err(best, line, 1, fmt, ap);
	va_end(ap);
}

static int cmp_x(const void *a, const void *b)
{
	const struct xentry *p = a, *q = b;

	if (p->code != q->code)
		return p->code < q->code ? -1 : 1;
	return (p->t.line > q->t.line) - (p->t.line < q->t.line);
}

static int cmp_r(const void *a, const void *b)
{
	const struct rentry *p = a, *q = b;

	if (p->lo != q->lo)
		return p->lo < q->lo ? -1 : 1;
	return (p->t.line > q->t.line) - (p->t.line < q->t.line);
}

static int cmp_n(const void *a, const void *b)
{
	const struct nentry *p = a, *q = b;
	int d = strcmp(p->name, q->name);

	if (d != 0)
		return d;
	return (p->t.line > q->t.line) - (p->t.line < q->t.line);
}

/* Sorting by (code, line) puts a repeated code next to its first use. */
static void check_exact(const struct table *t, struct mm_errmap_err *best)
{
	size_t i;

	for (i = 1; i < t->nx; i++)
		if (t->x[i].code == t->x[i - 1].code)
			note(best, t->x[i].t.line,
			     "code 0x%" PRIX64 " is already mapped on line %d", t->x[i].code,
			     t->x[i - 1].t.line);
}

static void check_names(const struct table *t, struct mm_errmap_err *best)
{
	size_t i;

	for (i = 1; i < t->nn; i++)
		if (strcmp(t->n[i].name, t->n[i - 1].name) == 0)
			note(best, t->n[i].t.line, "code name is already mapped on line %d",
			     t->n[i - 1].t.line);
}

/*
 * With ranges sorted by their low end, a range overlaps an earlier one
 * exactly when it starts at or below the highest end seen so far; the
 * range holding that end is the one named in the error.
 */
static void check_ranges(const struct table *t, struct mm_errmap_err *best)
{
	const struct rentry *a, *b, *first, *last;
	size_t i, m = 0;

	for (i = 1; i < t->nr; i++) {
		a = &t->r[m];
		b = &t->r[i];
		if (b->lo <= a->hi) {
			first = a->t.line < b->t.line ? a : b;
			last = first == a ? b : a;
			note(best, last->t.line,
			     "range 0x%" PRIX64 "..0x%" PRIX64 " overlaps range 0x%" PRIX64
			     "..0x%" PRIX64 " on line %d",
			     last->lo, last->hi, first->lo, first->hi, first->t.line);
		}
		if (b->hi > a->hi)
			m = i;
	}
}

/* Sorts the open table for lookups and refuses duplicates and overlaps. */
static int end_table(struct parser *ps)
{
	struct table *t = ps->cur;
	struct mm_errmap_err best = {0};

	if (t == NULL)
		return 0;
	ps->cur = NULL;
	if (t->nx > 1)
		qsort(t->x, t->nx, sizeof *t->x, cmp_x);
	if (t->nr > 1)
		qsort(t->r, t->nr, sizeof *t->r, cmp_r);
	if (t->nn > 1)
		qsort(t->n, t->nn, sizeof *t->n, cmp_n);
	check_exact(t, &best);
	check_names(t, &best);
	check_ranges(t, &best);
	if (best.line == 0)
		return 0;
	*ps->err = best;
	return MM_EPARSE;
}

/* ---- sections ---- */

static int same_key(const struct table *t, const char *protocol, const char *vendor)
{
	if (strcmp(t->protocol, protocol) != 0)
		return 0;
	if (t->vendor == NULL || vendor == NULL)
		return t->vendor == vendor;
	return strcmp(t->vendor, vendor) == 0;
}

/* Adds a table; takes protocol and vendor on success only. */
static int open_table(struct parser *ps, char *protocol, char *vendor)
{
	struct mm_errmap *map = ps->map;
	struct table *t;
	size_t i;

	/* At most MM_ERRMAP_MAX_TABLES headers, so this scan stays small. */
	for (i = 0; i < map->nt; i++)
		if (same_key(&map->t[i], protocol, vendor))
			return fail(ps, MM_EPARSE, 1,
				    "a section for this protocol and vendor is already on line %d",
				    map->t[i].line);
	if (map->nt >= MM_ERRMAP_MAX_TABLES)
		return fail(ps, MM_ETOOBIG, 1, "more than %d sections", MM_ERRMAP_MAX_TABLES);
	if ((t = grow(map->t, &map->capt, map->nt, sizeof *map->t)) == NULL)
		return nomem(ps);
	map->t = t;
	t = &map->t[map->nt++];
	memset(t, 0, sizeof *t);
	t->protocol = protocol;
	t->vendor = vendor;
	t->line = ps->line;
	ps->cur = t;
	return 0;
}

/* A quoted name after a keyword, with the blanks between them required. */
static int keyword_string(struct parser *ps, const char *what, char **out)
{
	if (skip_ws(&ps->c) == 0 || mm_cur_peek(&ps->c) != '"')
		return fail(ps, MM_EPARSE, column(ps), "expected a quoted %s", what);
	if (parse_quoted(ps, what) < 0)
		return MM_EPARSE;
	if ((*out = scratch_dup(ps)) == NULL)
		return nomem(ps);
	return 0;
}

/* [protocol "NAME"] or [protocol "NAME" vendor "VENDOR"] */
static int parse_section(struct parser *ps)
{
	struct mm_cur *c = &ps->c;
	char *protocol = NULL, *vendor = NULL;
	size_t blanks;
	int rc;

	/* The table before this header ends here, and its lines come first. */
	if ((rc = end_table(ps)) < 0)
		return rc;
	mm_cur_getc(c);
	skip_ws(c);
	if (!accept_word(c, "protocol")) {
		rc = fail(ps, MM_EPARSE, column(ps), "expected 'protocol' after '['");
		goto fail;
	}
	if ((rc = keyword_string(ps, "protocol name", &protocol)) < 0)
		goto fail;
	blanks = skip_ws(c);
	if (mm_cur_peek(c) != ']') {
		if (blanks == 0 || !accept_word(c, "vendor")) {
			rc = fail(ps, MM_EPARSE, column(ps),
				  "expected 'vendor' or ']' after the protocol name");
			goto fail;
		}
		if ((rc = keyword_string(ps, "vendor name", &vendor)) < 0)
			goto fail;
		skip_ws(c);
	}
	if (!mm_cur_accept(c, ']')) {
		rc = fail(ps, MM_EPARSE, column(ps), "expected ']' to close the section header");
		goto fail;
	}
	if ((rc = end_of_line(ps, "the section header")) < 0)
		goto fail;
	if ((rc = open_table(ps, protocol, vendor)) < 0)
		goto fail;
	return 0;
fail:
	free(protocol);
	free(vendor);
	return rc;
}

/* ---- entries ---- */

/*
 * The standard code of an entry: two hex digits or 0x and two hex digits.
 * It is always hex, even written without 0x, because that is how X.1367
 * writes its codes ("Error Code": "30").
 */
static int parse_std_code(struct parser *ps, uint8_t *code)
{
	struct mm_cur *c = &ps->c;
	size_t start = c->pos, n;
	const uint8_t *tok;

	while (is_word(mm_cur_peek(c)))
		c->pos++;
	tok = c->p + start;
	n = c->pos - start;
	if (n == 4 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X')) {
		tok += 2;
		n = 2;
	}
	if (n != 2 || mm_hex_digit(tok[0]) < 0 || mm_hex_digit(tok[1]) < 0)
		return fail(ps, MM_EPARSE, (int)start + 1,
			    "standard code must be two hex digits, like 30 or 0x30");
	*code = (uint8_t)(mm_hex_digit(tok[0]) << 4 | mm_hex_digit(tok[1]));
	return 0;
}

/*
 * Applies Annex A to what an entry maps to. Reserved codes are refused: no
 * receiver can know what they mean yet. Private and unassigned codes are
 * legal to carry but mean nothing by themselves, so the table must say what
 * they mean. An assigned code already has its message; a table may repeat
 * it for readability but not change it, since the record's Error Message
 * must be the standard one.
 */
static int check_target(struct parser *ps, struct target *t, int ccol, int mcol)
{
	const struct mm_x1367_code *info;

	switch (mm_x1367_code_status(t->code)) {
	case MM_X1367_RESERVED:
		return fail(ps, MM_EPARSE, ccol,
			    "standard code %02X is reserved for future extension (50-DF)", t->code);
	case MM_X1367_PRIVATE:
		if (t->text == NULL)
			return fail(ps, MM_EPARSE, ccol,
				    "private code %02X (E0-EF) needs the vendor's own message "
				    "in quotes",
				    t->code);
		return 0;
	case MM_X1367_UNASSIGNED:
		if (t->text == NULL)
			return fail(ps, MM_EPARSE, ccol,
				    "standard code %02X is unassigned in Annex A and needs a "
				    "message saying what it means",
				    t->code);
		return 0;
	case MM_X1367_ASSIGNED:
		break;
	}
	info = mm_x1367_code_info(t->code);
	if (t->text != NULL && strcmp(t->text, info->message) != 0)
		return fail(ps, MM_EPARSE, mcol,
			    "message differs from the standard message of %02X (\"%s\"); only "
			    "private and unassigned codes carry their own text",
			    t->code, info->message);
	/* The same words as the standard: keep the standard's string. */
	free(t->text);
	t->text = NULL;
	return 0;
}

/* "= CODE [MESSAGE]" up to the end of the line. On failure t->text is
 * left for the caller to free. */
static int parse_target(struct parser *ps, struct target *t)
{
	struct mm_cur *c = &ps->c;
	int ccol, mcol = 0, rc;

	skip_ws(c);
	if (!mm_cur_accept(c, '='))
		return fail(ps, MM_EPARSE, column(ps), "expected '=' after the code");
	skip_ws(c);
	ccol = column(ps);
	if ((rc = parse_std_code(ps, &t->code)) < 0)
		return rc;
	skip_ws(c);
	if (mm_cur_peek(c) == '"') {
		mcol = column(ps);
		if ((rc = parse_quoted(ps, "message")) < 0)
			return rc;
		if ((t->text = scratch_dup(ps)) == NULL)
			return nomem(ps);
	}
	if ((rc = end_of_line(ps, "the standard code (a message must be quoted)")) < 0)
		return rc;
	t->line = ps->line;
	return check_target(ps, t, ccol, mcol);
}

enum kind {
	K_EXACT,
	K_RANGE,
	K_NAME,
	K_DEFAULT,
};

/* Files a parsed entry in the open table; on success the table owns
 * t->text and name. */
static int store(struct parser *ps, enum kind k, uint64_t lo, uint64_t hi, char *name,
		 const struct target *t)
{
	struct table *tb = ps->cur;
	void *p;

	if (ps->map->nentries >= MM_ERRMAP_MAX_ENTRIES)
		return fail(ps, MM_ETOOBIG, 1, "more than %d entries", MM_ERRMAP_MAX_ENTRIES);
	switch (k) {
	case K_EXACT:
		if ((p = grow(tb->x, &tb->capx, tb->nx, sizeof *tb->x)) == NULL)
			return nomem(ps);
		tb->x = p;
		tb->x[tb->nx].code = lo;
		tb->x[tb->nx++].t = *t;
		break;
	case K_RANGE:
		if ((p = grow(tb->r, &tb->capr, tb->nr, sizeof *tb->r)) == NULL)
			return nomem(ps);
		tb->r = p;
		tb->r[tb->nr].lo = lo;
		tb->r[tb->nr].hi = hi;
		tb->r[tb->nr++].t = *t;
		break;
	case K_NAME:
		if ((p = grow(tb->n, &tb->capn, tb->nn, sizeof *tb->n)) == NULL)
			return nomem(ps);
		tb->n = p;
		tb->n[tb->nn].name = name;
		tb->n[tb->nn++].t = *t;
		break;
	case K_DEFAULT:
		if (tb->has_def)
			return fail(ps, MM_EPARSE, 1, "a second default; the first is on line %d",
				    tb->def.line);
		tb->def = *t;
		tb->has_def = 1;
		break;
	}
	ps->map->nentries++;
	return 0;
}

/* CODE = STD [MESSAGE], where CODE is a number, LO..HI, "NAME" or default. */
static int parse_entry(struct parser *ps)
{
	struct mm_cur *c = &ps->c;
	struct target t = {0};
	uint64_t lo = 0, hi = 0;
	char *name = NULL;
	enum kind k;
	int rc, start = column(ps);

	if (ps->cur == NULL)
		return fail(ps, MM_EPARSE, start,
			    "entry outside a section: a [protocol \"...\"] line must come first");
	if (mm_cur_peek(c) == '"') {
		if ((rc = parse_quoted(ps, "code name")) < 0)
			goto fail;
		if ((name = scratch_dup(ps)) == NULL) {
			rc = nomem(ps);
			goto fail;
		}
		k = K_NAME;
	} else if (accept_word(c, "default")) {
		k = K_DEFAULT;
	} else {
		if ((rc = parse_number(ps, &lo)) < 0)
			goto fail;
		k = K_EXACT;
		skip_ws(c);
		if (mm_cur_left(c) >= 2 && memcmp(c->p + c->pos, "..", 2) == 0) {
			c->pos += 2;
			skip_ws(c);
			if ((rc = parse_number(ps, &hi)) < 0)
				goto fail;
			if (lo > hi) {
				rc = fail(ps, MM_EPARSE, start,
					  "range 0x%" PRIX64 "..0x%" PRIX64
					  " is empty: low end above high end",
					  lo, hi);
				goto fail;
			}
			k = K_RANGE;
		}
	}
	if ((rc = parse_target(ps, &t)) < 0)
		goto fail;
	if ((rc = store(ps, k, lo, hi, name, &t)) < 0)
		goto fail;
	return 0;
fail:
	free(name);
	free(t.text);
	return rc;
}

static int parse_line(struct parser *ps)
{
	struct mm_cur *c = &ps->c;

	/* A byte order mark is what some editors put first; it says nothing. */
	if (ps->line == 1 && mm_cur_left(c) >= 3 && memcmp(c->p, "\xEF\xBB\xBF", 3) == 0)
		c->pos = 3;
	skip_ws(c);
	if (mm_cur_eof(c) || mm_cur_peek(c) == '#')
		return 0;
	if (mm_cur_peek(c) == '[')
		return parse_section(ps);
	return parse_entry(ps);
}

/*
 * Refuses NUL bytes and invalid UTF-8 in a line before anything else looks
 * at it, comments included: names and messages go into JSON records, and a
 * NUL would cut a C string short of what the file says. No UTF-8 sequence
 * holds a '\n', so checking line by line checks the whole text.
 */
static int check_bytes(struct parser *ps, const char *p, size_t n)
{
	const char *nul = memchr(p, '\0', n);
	size_t bad = mm_utf8_check(p, n);

	if (nul != NULL && (size_t)(nul - p) < bad)
		return fail(ps, MM_EPARSE, (int)(nul - p) + 1, "NUL byte in the text");
	if (bad < n)
		return fail(ps, MM_EPARSE, (int)bad + 1, "invalid UTF-8");
	return 0;
}

static int parse_text(struct parser *ps, const char *text, size_t len)
{
	size_t off = 0, n;
	const char *nl;
	int rc;

	while (off < len) {
		nl = memchr(text + off, '\n', len - off);
		n = (nl ? (size_t)(nl - text) : len) - off;
		ps->line++;
		/* Files written on Windows end their lines with CR LF. */
		if (n > 0 && text[off + n - 1] == '\r')
			n--;
		if (n > MM_ERRMAP_MAX_LINE)
			return fail(ps, MM_ETOOBIG, MM_ERRMAP_MAX_LINE + 1,
				    "line longer than %d bytes", MM_ERRMAP_MAX_LINE);
		if ((rc = check_bytes(ps, text + off, n)) < 0)
			return rc;
		mm_cur_init(&ps->c, text + off, n);
		if ((rc = parse_line(ps)) < 0)
			return rc;
		off = nl ? (size_t)(nl - text) + 1 : len;
	}
	return end_table(ps);
}

/* Orders tables by protocol, then vendor, with the any-vendor table first. */
static int cmp_key(const char *protocol, const char *vendor, const struct table *t)
{
	int d = strcmp(protocol, t->protocol);

	if (d != 0)
		return d;
	if (vendor == NULL || t->vendor == NULL)
		return (vendor != NULL) - (t->vendor != NULL);
	return strcmp(vendor, t->vendor);
}

static int cmp_table(const void *a, const void *b)
{
	const struct table *p = a;

	return cmp_key(p->protocol, p->vendor, b);
}

int mm_errmap_load(struct mm_errmap **out, const char *text, size_t len,
		   struct mm_errmap_err *err)
{
	struct mm_errmap_err dummy;
	struct parser ps;
	int rc;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof *err);
	if (out == NULL || (text == NULL && len > 0)) {
		snprintf(err->msg, sizeof err->msg, "invalid argument");
		return MM_EINVAL;
	}
	*out = NULL;
	memset(&ps, 0, sizeof ps);
	ps.err = err;
	mm_buf_init(&ps.s, MM_ERRMAP_MAX_LINE);
	if (len > MM_ERRMAP_MAX_FILE) {
		rc = fail(&ps, MM_ETOOBIG, 0, "text larger than %d bytes", MM_ERRMAP_MAX_FILE);
		goto fail;
	}
	if ((ps.map = calloc(1, sizeof *ps.map)) == NULL) {
		rc = nomem(&ps);
		goto fail;
	}
	if ((rc = parse_text(&ps, text ? text : "", len)) < 0)
		goto fail;
	if (ps.map->nt > 1)
		qsort(ps.map->t, ps.map->nt, sizeof *ps.map->t, cmp_table);
	mm_buf_free(&ps.s);
	*out = ps.map;
	return 0;
fail:
	mm_buf_free(&ps.s);
	mm_errmap_free(ps.map);
	return rc;
}

int mm_errmap_load_file(struct mm_errmap **out, const char *path, struct mm_errmap_err *err)
{
	struct mm_errmap_err dummy;
	struct mm_buf b;
	char chunk[16384];
	FILE *f = NULL;
	size_t n;
	int rc;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof *err);
	mm_buf_init(&b, MM_ERRMAP_MAX_FILE);
	if (out == NULL || path == NULL) {
		snprintf(err->msg, sizeof err->msg, "invalid argument");
		return MM_EINVAL;
	}
	*out = NULL;
	if ((f = fopen(path, "rb")) == NULL) {
		rc = MM_EIO;
		snprintf(err->msg, sizeof err->msg, "%s", strerror(errno));
		goto fail;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if ((rc = mm_buf_append(&b, chunk, n)) < 0) {
			if (rc == MM_ETOOBIG)
				snprintf(err->msg, sizeof err->msg, "file larger than %d bytes",
					 MM_ERRMAP_MAX_FILE);
			else
				snprintf(err->msg, sizeof err->msg, "out of memory");
			goto fail;
		}
	}
	if (ferror(f)) {
		rc = MM_EIO;
		snprintf(err->msg, sizeof err->msg, "%s", strerror(errno));
		goto fail;
	}
	rc = mm_errmap_load(out, b.data, b.len, err);
fail:
	if (f != NULL)
		fclose(f);
	mm_buf_free(&b);
	return rc;
}

void mm_errmap_free(struct mm_errmap *map)
{
	struct table *t;
	size_t i, j;

	if (map == NULL)
		return;
	for (i = 0; i < map->nt; i++) {
		t = &map->t[i];
		for (j = 0; j < t->nx; j++)
			free(t->x[j].t.text);
		for (j = 0; j < t->nr; j++)
			free(t->r[j].t.text);
		for (j = 0; j < t->nn; j++) {
			free(t->n[j].name);
			free(t->n[j].t.text);
		}
		free(t->def.text);
		free(t->x);
		free(t->r);
		free(t->n);
		free(t->protocol);
		free(t->vendor);
	}
	free(map->t);
	free(map);
}

size_t mm_errmap_ntables(const struct mm_errmap *map)
{
	return map ? map->nt : 0;
}

size_t mm_errmap_nentries(const struct mm_errmap *map)
{
	return map ? map->nentries : 0;
}

/* ---- lookups ---- */

static const struct table *find_table(const struct mm_errmap *map, const char *protocol,
				      const char *vendor)
{
	size_t lo = 0, hi = map->nt, mid;
	int d;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((d = cmp_key(protocol, vendor, &map->t[mid])) == 0)
			return &map->t[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const struct target *match_exact(const struct table *t, uint64_t code)
{
	size_t lo = 0, hi = t->nx, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->x[mid].code == code)
			return &t->x[mid].t;
		if (t->x[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The ranges do not overlap, so only the last one starting at or below
 * code can hold it. */
static const struct target *match_range(const struct table *t, uint64_t code)
{
	size_t lo = 0, hi = t->nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->r[mid].lo <= code)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && code <= t->r[lo - 1].hi)
		return &t->r[lo - 1].t;
	return NULL;
}

static const struct target *match_name(const struct table *t, const char *name)
{
	size_t lo = 0, hi = t->nn, mid;
	int d;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((d = strcmp(name, t->n[mid].name)) == 0)
			return &t->n[mid].t;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* What is looked up: a name, or a number when name is NULL. */
struct key {
	const char *name;
	uint64_t num;
};

/* The entry of table t for key k, or its default, or NULL. */
static const struct target *match(const struct table *t, const struct key *k,
				  enum mm_errmap_match *m)
{
	const struct target *tg;

	if (k->name != NULL) {
		if ((tg = match_name(t, k->name)) != NULL) {
			*m = MM_ERRMAP_EXACT;
			return tg;
		}
	} else {
		if ((tg = match_exact(t, k->num)) != NULL) {
			*m = MM_ERRMAP_EXACT;
			return tg;
		}
		if ((tg = match_range(t, k->num)) != NULL) {
			*m = MM_ERRMAP_RANGE;
			return tg;
		}
	}
	*m = MM_ERRMAP_DEFAULT;
	return t->has_def ? &t->def : NULL;
}

static void fill(struct mm_errmap_result *r, const struct table *t, const struct target *tg,
		 enum mm_errmap_match m)
{
	r->code = tg->code;
	r->message = tg->text ? tg->text : mm_x1367_code_info(tg->code)->message;
	r->match = m;
	r->line = tg->line;
	r->protocol = t->protocol;
	r->vendor = t->vendor;
}

/*
 * The vendor's table first, default included: a vendor table with a
 * default answers every code by itself. One without a default is a layer
 * over the protocol's table for any vendor, which answers what the vendor's
 * does not list.
 */
static int lookup(const struct mm_errmap *map, const char *protocol, const char *vendor,
		  const struct key *k, struct mm_errmap_result *r)
{
	const struct table *tv = NULL, *tg, *t;
	const struct target *hit;
	enum mm_errmap_match m;

	if (map == NULL || protocol == NULL || r == NULL)
		return MM_EINVAL;
	if (vendor != NULL && vendor[0] != '\0')
		tv = find_table(map, protocol, vendor);
	tg = find_table(map, protocol, NULL);
	if (tv == NULL && tg == NULL)
		return MM_ENOTFOUND;
	if (tv != NULL && (hit = match(tv, k, &m)) != NULL) {
		fill(r, tv, hit, m);
		return 0;
	}
	if (tg != NULL && (hit = match(tg, k, &m)) != NULL) {
		fill(r, tg, hit, m);
		return 0;
	}
	t = tv ? tv : tg;
	r->code = 0xFF;
	r->message = mm_x1367_code_info(0xFF)->message;
	r->match = MM_ERRMAP_FALLBACK;
	r->line = 0;
	r->protocol = t->protocol;
	r->vendor = t->vendor;
	return 0;
}

int mm_errmap_lookup_num(const struct mm_errmap *map, const char *protocol,
			 const char *vendor, uint64_t code, struct mm_errmap_result *r)
{
	struct key k = {NULL, code};

	return lookup(map, protocol, vendor, &k, r);
}

int mm_errmap_lookup_name(const struct mm_errmap *map, const char *protocol,
			  const char *vendor, const char *code, struct mm_errmap_result *r)
{
	struct key k = {code, 0};

	if (code == NULL)
		return MM_EINVAL;
	return lookup(map, protocol, vendor, &k, r);
}

int mm_errmap_lookup(const struct mm_errmap *map, const char *protocol, const char *vendor,
		     const char *code, struct mm_errmap_result *r)
{
	struct mm_cur c;
	uint64_t v;

	if (code == NULL || code[0] == '\0')
		return MM_EINVAL;
	/* Only a code that is a number from end to end is one; "0x1F " or
	 * "404a" are looked up as names, as a table would have to quote them. */
	mm_cur_init(&c, code, strlen(code));
	if (scan_number(&c, &v) == SCAN_OK && mm_cur_eof(&c))
		return mm_errmap_lookup_num(map, protocol, vendor, v, r);
	return mm_errmap_lookup_name(map, protocol, vendor, code, r);
}
