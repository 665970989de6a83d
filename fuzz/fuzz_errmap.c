/*
 * libFuzzer target for the errmap loader and its lookups.
 *
 * The input is loaded as a mapping table. When it loads, this target reads
 * the same text again with a small scanner of its own (it may trust the
 * syntax, since the loader accepted it) and checks every entry against the
 * map:
 *  - an exact numeric or named entry is found by its own code, as EXACT,
 *    with its own line and standard code;
 *  - both ends of a range answer with that range, or with an exact entry
 *    that overrides it;
 *  - the codes just outside a range and codes of no entry answer sanely;
 *  - mm_errmap_lookup() on the code written out as text agrees;
 *  - every result is well formed: never a reserved code, the standard
 *    message for an assigned code, a message of the table's own for the
 *    others, a line that exists, the protocol asked for.
 * Anything else aborts, which libFuzzer reports as a crash.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/errmap.h"
#include "mamori/error.h"
#include "mamori/x1367.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "fuzz_errmap: check failed at line %d: %s\n",      \
				__LINE__, #cond);                                           \
			abort();                                                            \
		}                                                                           \
	} while (0)

/* Entries checked per input; lookups are cheap, but an input may have many. */
#define MAX_CHECKED 2000

/* A line of the input, as the scanner walks it. */
struct line {
	const char *p;
	size_t len, pos;
	int no;
};

struct scan {
	const char *text;
	size_t len, off;
	int nlines; /* lines walked so far */
	int total;  /* lines in the text */
	char protocol[MM_ERRMAP_MAX_LINE + 1];
	char vendor[MM_ERRMAP_MAX_LINE + 1];
	int has_vendor, in_section;
};

static int peek(const struct line *l)
{
	return l->pos < l->len ? (unsigned char)l->p[l->pos] : -1;
}

static void blanks(struct line *l)
{
	while (peek(l) == ' ' || peek(l) == '\t')
		l->pos++;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A quoted string the loader accepted: only \" and \\ escapes. */
static void quoted(struct line *l, char *out)
{
	size_t n = 0;
	int ch;

	CHECK(peek(l) == '"');
	l->pos++;
	while ((ch = peek(l)) != '"') {
		CHECK(ch >= 0);
		if (ch == '\\')
			ch = (unsigned char)l->p[++l->pos];
		out[n++] = (char)ch;
		l->pos++;
	}
	l->pos++;
	out[n] = '\0';
}

static uint64_t number(struct line *l)
{
	uint64_t v = 0;

	if (l->len - l->pos >= 2 && l->p[l->pos] == '0' &&
	    (l->p[l->pos + 1] == 'x' || l->p[l->pos + 1] == 'X')) {
		l->pos += 2;
		while (hexval(peek(l)) >= 0)
			v = v << 4 | (uint64_t)hexval(l->p[l->pos++]);
		return v;
	}
	while (peek(l) >= '0' && peek(l) <= '9')
		v = v * 10 + (uint64_t)(l->p[l->pos++] - '0');
	return v;
}

/* "= CODE": the standard code of the entry. */
static uint8_t std_code(struct line *l)
{
	blanks(l);
	CHECK(peek(l) == '=');
	l->pos++;
	blanks(l);
	if (peek(l) == '0' && l->pos + 1 < l->len && (l->p[l->pos + 1] | 0x20) == 'x')
		l->pos += 2;
	CHECK(l->pos + 2 <= l->len);
	return (uint8_t)(hexval(l->p[l->pos]) << 4 | hexval(l->p[l->pos + 1]));
}

/* What any result must look like. */
static void sane(const struct scan *s, const struct mm_errmap_result *r, const char *protocol,
		 const char *vendor)
{
	const struct mm_x1367_code *info = mm_x1367_code_info(r->code);

	CHECK(mm_x1367_code_status(r->code) != MM_X1367_RESERVED);
	CHECK(r->message != NULL && r->message[0] != '\0');
	if (info != NULL)
		CHECK(strcmp(r->message, info->message) == 0);
	CHECK(r->match >= MM_ERRMAP_EXACT && r->match <= MM_ERRMAP_FALLBACK);
	if (r->match == MM_ERRMAP_FALLBACK)
		CHECK(r->code == 0xFF && r->line == 0);
	else
		CHECK(r->line >= 1 && r->line <= s->total);
	CHECK(r->protocol != NULL && strcmp(r->protocol, protocol) == 0);
	CHECK(r->vendor == NULL || (vendor != NULL && strcmp(r->vendor, vendor) == 0));
}

static const char *vendor_of(const struct scan *s)
{
	return s->has_vendor ? s->vendor : NULL;
}

/* Looks a number up both ways and checks they agree. */
static void lookup_num(const struct mm_errmap *map, const struct scan *s, uint64_t code,
		       struct mm_errmap_result *r)
{
	struct mm_errmap_result t;
	char text[32];

	CHECK(mm_errmap_lookup_num(map, s->protocol, vendor_of(s), code, r) == 0);
	sane(s, r, s->protocol, vendor_of(s));
	snprintf(text, sizeof text, (code & 1) ? "0x%" PRIX64 : "%" PRIu64, code);
	CHECK(mm_errmap_lookup(map, s->protocol, vendor_of(s), text, &t) == 0);
	CHECK(t.code == r->code && t.line == r->line && t.match == r->match &&
	      t.message == r->message);
}

/* An exact entry of the table being walked, overriding one of its ranges. */
static int in_table(const struct scan *s, const struct mm_errmap_result *r)
{
	if (r->match != MM_ERRMAP_EXACT)
		return 0;
	if (!s->has_vendor)
		return r->vendor == NULL;
	return r->vendor != NULL && strcmp(r->vendor, s->vendor) == 0;
}

static void check_entry(const struct mm_errmap *map, const struct scan *s, struct line *l)
{
	static char name[MM_ERRMAP_MAX_LINE + 1];
	struct mm_errmap_result r;
	uint64_t lo, hi;
	uint8_t code;

	if (peek(l) == '"') {
		quoted(l, name);
		code = std_code(l);
		CHECK(mm_errmap_lookup_name(map, s->protocol, vendor_of(s), name, &r) == 0);
		sane(s, &r, s->protocol, vendor_of(s));
		CHECK(r.match == MM_ERRMAP_EXACT && r.line == l->no && r.code == code);
		return;
	}
	if (l->len - l->pos >= 7 && memcmp(l->p + l->pos, "default", 7) == 0) {
		/* The default answers only codes without an entry; nothing to ask by it. */
		return;
	}
	lo = hi = number(l);
	blanks(l);
	if (l->len - l->pos >= 2 && memcmp(l->p + l->pos, "..", 2) == 0) {
		l->pos += 2;
		blanks(l);
		hi = number(l);
		CHECK(lo <= hi);
		code = std_code(l);
		lookup_num(map, s, lo, &r);
		CHECK((r.match == MM_ERRMAP_RANGE && r.line == l->no && r.code == code) ||
		      in_table(s, &r));
		lookup_num(map, s, hi, &r);
		CHECK((r.match == MM_ERRMAP_RANGE && r.line == l->no && r.code == code) ||
		      in_table(s, &r));
		lookup_num(map, s, lo + (hi - lo) / 2, &r);
		CHECK((r.match == MM_ERRMAP_RANGE && r.line == l->no && r.code == code) ||
		      in_table(s, &r));
		if (lo > 0)
			lookup_num(map, s, lo - 1, &r);
		if (hi < UINT64_MAX)
			lookup_num(map, s, hi + 1, &r);
		return;
	}
	code = std_code(l);
	lookup_num(map, s, lo, &r);
	CHECK(r.match == MM_ERRMAP_EXACT && r.line == l->no && r.code == code);
	lookup_num(map, s, lo + 1, &r);
}

/* [protocol "P"] or [protocol "P" vendor "V"], as the loader accepted it. */
static void section(const struct mm_errmap *map, struct scan *s, struct line *l)
{
	struct mm_errmap_result r;

	l->pos++;
	blanks(l);
	l->pos += strlen("protocol");
	blanks(l);
	quoted(l, s->protocol);
	blanks(l);
	s->has_vendor = 0;
	if (peek(l) == 'v') {
		l->pos += strlen("vendor");
		blanks(l);
		quoted(l, s->vendor);
		s->has_vendor = 1;
	}
	s->in_section = 1;
	/* A table exists for this pair, so a lookup never says ENOTFOUND. */
	CHECK(mm_errmap_lookup_name(map, s->protocol, vendor_of(s), "", &r) == 0);
	sane(s, &r, s->protocol, vendor_of(s));
}

static int next_line(struct scan *s, struct line *l)
{
	const char *nl;
	size_t end;

	if (s->off >= s->len)
		return 0;
	nl = memchr(s->text + s->off, '\n', s->len - s->off);
	end = nl ? (size_t)(nl - s->text) : s->len;
	l->p = s->text + s->off;
	l->len = end - s->off;
	l->pos = 0;
	l->no = ++s->nlines;
	if (l->len > 0 && l->p[l->len - 1] == '\r')
		l->len--;
	if (l->no == 1 && l->len >= 3 && memcmp(l->p, "\xEF\xBB\xBF", 3) == 0)
		l->pos = 3;
	s->off = nl ? end + 1 : s->len;
	return 1;
}

static int count_lines(const char *text, size_t len)
{
	int n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n += text[i] == '\n';
	return n + (len > 0 && text[len - 1] != '\n');
}

static void check_map(const struct mm_errmap *map, const char *text, size_t len)
{
	static struct scan s;
	struct mm_errmap_result r;
	struct line l;
	int checked = 0;

	memset(&s, 0, sizeof s);
	s.text = text;
	s.len = len;
	s.total = count_lines(text, len);
	while (checked < MAX_CHECKED && next_line(&s, &l)) {
		blanks(&l);
		if (peek(&l) == '[') {
			section(map, &s, &l);
		} else if (peek(&l) != -1 && peek(&l) != '#') {
			CHECK(s.in_section);
			check_entry(map, &s, &l);
			checked++;
		}
	}
	/* Lookups outside every table, and argument checks. */
	CHECK(mm_errmap_lookup_num(map, "\x01 no such protocol", NULL, 1, &r) == MM_ENOTFOUND);
	CHECK(mm_errmap_lookup(map, "P", NULL, "", &r) == MM_EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_errmap *map = NULL;
	struct mm_errmap_err err;
	int rc;

	rc = mm_errmap_load(&map, (const char *)data, size, &err);
	if (rc < 0) {
		CHECK(map == NULL);
		CHECK(rc == MM_EPARSE || rc == MM_ETOOBIG || rc == MM_ENOMEM);
		CHECK(err.line >= 0 && err.col >= 0 && err.msg[0] != '\0');
		CHECK(memchr(err.msg, '\0', sizeof err.msg) != NULL);
		return 0;
	}
	CHECK(map != NULL);
	CHECK(mm_errmap_nentries(map) <= MM_ERRMAP_MAX_ENTRIES);
	CHECK(mm_errmap_ntables(map) <= MM_ERRMAP_MAX_TABLES);
	check_map(map, (const char *)data, size);
	mm_errmap_free(map);
	return 0;
}
