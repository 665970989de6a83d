/*
 * The expansion of a word at the moment its command runs, as ash does it:
 * quote removal, backslashes, parameters, command substitution through the
 * shell that runs the command, arithmetic, and field splitting of what
 * unquoted expansions produced. Globs are only flagged (the caller matches
 * them against its file system with trap_sh_glob_match).
 *
 * Fields are built in the caller's bounded buffer. Each byte written is
 * either literal (written in the word, or quoted) or the result of an
 * unquoted expansion, which alone splits on space, tab and newline.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"

#include "sh.h"

/* How deep command substitutions nest, counted across the shell's own
 * recursion (a $(...) runs a line whose words are expanded again): deeper
 * ones expand to nothing, so that a line cannot recurse without end. */
#define SUBST_DEPTH 8
static _Thread_local int subst_depth;

/* Where the text between quotes or braces is expanded. */
enum mode {
	M_WORD,    /* unquoted: literal bytes stay, expansion results split */
	M_DQ,      /* inside "..": nothing splits */
	M_DEFAULT, /* ${X:-word} unquoted: word's unquoted bytes split too */
};

struct fields {
	struct mm_buf *out;
	const struct trap_sh_env *env;
	int split;      /* 0 for trap_sh_expand_one: one field, nothing splits */
	int have;       /* the current field exists (has a byte, or a quote) */
	size_t nfields;
	int glob;
};

static int expand_range(struct fields *f, const char *t, size_t lo, size_t hi, enum mode m);

static int is_ifs(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Appends a byte that does not split. NUL bytes are dropped, as ash drops
 * them, so that the caller can split fields on NUL. */
static int put_lit(struct fields *f, char c, int unquoted)
{
	f->have = 1;
	if (c == '\0')
		return 0;
	if (unquoted && (c == '*' || c == '?' || c == '['))
		f->glob = 1;
	return mm_buf_putc(f->out, c);
}

static int end_field(struct fields *f)
{
	int rc;

	if (!f->have)
		return 0;
	rc = mm_buf_putc(f->out, '\0');
	if (rc < 0)
		return rc;
	f->nfields++;
	f->have = 0;
	return 0;
}

/* Appends an expansion's result: quoted, it is one piece of the field;
 * unquoted, blanks end fields and other bytes join the current one. */
static int put_value(struct fields *f, const char *v, size_t n, int quoted)
{
	size_t i;
	int rc = 0;

	if (quoted)
		f->have = 1;
	for (i = 0; i < n && rc == 0; i++) {
		if (!quoted && f->split && is_ifs(v[i]))
			rc = end_field(f);
		else if (v[i] != '\0')
			rc = put_lit(f, v[i], !quoted);
	}
	return rc;
}

/* The end of the part at t[i] within t[0..hi), or hi when it is not closed
 * there (an expander takes any text, not only what the parser accepted). */
static size_t part_end(const char *t, size_t hi, size_t i, int *closed)
{
	size_t e;

	if (trap_sh_scan_part(t, hi, i, &e) == 0) {
		*closed = 1;
		return e;
	}
	*closed = 0;
	return hi;
}

static const char *lookup(const struct fields *f, const char *name, size_t n)
{
	if (f->env == NULL || f->env->var == NULL)
		return NULL;
	return f->env->var(f->env->arg, name, n);
}

/* Expands t[lo..hi) into one string, nothing split (a pattern, an
 * arithmetic expression). */
static int expand_flat(const struct fields *f, const char *t, size_t lo, size_t hi,
		       struct mm_buf *out)
{
	struct fields g;

	memset(&g, 0, sizeof g);
	g.out = out;
	g.env = f->env;
	return expand_range(&g, t, lo, hi, M_DQ);
}

/*
 * Arithmetic ($((...))): signed 64-bit integers, names read as numbers,
 * the C operators of ash's arithmetic without assignments. An error gives
 * no value.
 */
struct arith {
	const struct fields *f;
	const char *s;
	size_t n, i;
	int err;
	int depth;
};

static long long arith_expr(struct arith *a, int prec);

static void arith_blank(struct arith *a)
{
	while (a->i < a->n && isspace((unsigned char)a->s[a->i]))
		a->i++;
}

static long long arith_number(const char *s, size_t n, int *err)
{
	char buf[32];
	char *end;
	long long v;

	if (n == 0)
		return 0;
	if (n >= sizeof buf) {
		*err = 1;
		return 0;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	v = strtoll(buf, &end, 0);
	if (*end != '\0')
		*err = 1;
	return v;
}

static long long arith_primary(struct arith *a)
{
	size_t start;
	char c;

	arith_blank(a);
	if (a->i >= a->n || ++a->depth > 64) {
		a->err = 1;
		return 0;
	}
	c = a->s[a->i];
	if (c == '(') {
		long long v;

		a->i++;
		v = arith_expr(a, 0);
		arith_blank(a);
		if (a->i >= a->n || a->s[a->i] != ')')
			a->err = 1;
		a->i++;
		a->depth--;
		return v;
	}
	a->i++;
	switch (c) {
	case '-': a->depth--; return -(unsigned long long)arith_primary(a);
	case '+': a->depth--; return arith_primary(a);
	case '!': a->depth--; return !arith_primary(a);
	case '~': a->depth--; return ~arith_primary(a);
	}
	a->depth--;
	start = a->i - 1;
	if (isdigit((unsigned char)c)) {
		while (a->i < a->n && isalnum((unsigned char)a->s[a->i]))
			a->i++;
		return arith_number(a->s + start, a->i - start, &a->err);
	}
	if (isalpha((unsigned char)c) || c == '_') {
		const char *v;
		int verr = 0;
		long long x;

		while (a->i < a->n && (isalnum((unsigned char)a->s[a->i]) || a->s[a->i] == '_'))
			a->i++;
		v = lookup(a->f, a->s + start, a->i - start);
		if (v == NULL)
			return 0;
		while (isspace((unsigned char)*v))
			v++;
		x = arith_number(v, strlen(v), &verr);
		a->err |= verr;
		return x;
	}
	a->err = 1;
	return 0;
}

/* Binary operators by precedence, lowest first. */
static const struct {
	const char *op;
	int prec;
} arith_ops[] = {
	{"||", 1}, {"&&", 2}, {"|", 3}, {"^", 4}, {"&", 5}, {"==", 6}, {"!=", 6},
	{"<=", 7}, {">=", 7}, {"<<", 8}, {">>", 8}, {"<", 7}, {">", 7},
	{"+", 9}, {"-", 9}, {"*", 10}, {"/", 10}, {"%", 10},
};

static long long arith_apply(struct arith *a, const char *op, long long l, long long r)
{
	unsigned long long ul = (unsigned long long)l, ur = (unsigned long long)r;

	switch (op[0]) {
	case '|': return op[1] == '|' ? (l || r) : (long long)(ul | ur);
	case '&': return op[1] == '&' ? (l && r) : (long long)(ul & ur);
	case '^': return (long long)(ul ^ ur);
	case '=': return l == r;
	case '!': return l != r;
	case '<':
		if (op[1] == '<')
			return (long long)(ul << (ur & 63));
		return op[1] == '=' ? l <= r : l < r;
	case '>':
		if (op[1] == '>')
			return l >> (ur & 63);
		return op[1] == '=' ? l >= r : l > r;
	case '+': return (long long)(ul + ur);
	case '-': return (long long)(ul - ur);
	case '*': return (long long)(ul * ur);
	}
	/* / and %: ash refuses a zero divisor; so does the overflow of the
	 * smallest number by -1. */
	if (r == 0 || (r == -1 && l == (long long)(1ULL << 63))) {
		a->err = 1;
		return 0;
	}
	return op[0] == '/' ? l / r : l % r;
}

static long long arith_expr(struct arith *a, int prec)
{
	long long l = arith_primary(a), r;
	size_t k, n;

	if (++a->depth > 64) {
		a->err = 1;
		return 0;
	}
	while (!a->err) {
		arith_blank(a);
		for (k = 0; k < sizeof arith_ops / sizeof arith_ops[0]; k++) {
			n = strlen(arith_ops[k].op);
			if (a->n - a->i >= n && memcmp(a->s + a->i, arith_ops[k].op, n) == 0)
				break;
		}
		if (k == sizeof arith_ops / sizeof arith_ops[0] || arith_ops[k].prec <= prec)
			break;
		a->i += strlen(arith_ops[k].op);
		r = arith_expr(a, arith_ops[k].prec);
		l = arith_apply(a, arith_ops[k].op, l, r);
	}
	a->depth--;
	return l;
}

static int expand_arith(struct fields *f, const char *t, size_t lo, size_t hi, int quoted)
{
	struct mm_buf e;
	struct arith a;
	char num[24];
	long long v;
	int rc;

	mm_buf_init(&e, f->out->max);
	rc = expand_flat(f, t, lo, hi, &e);
	if (rc < 0)
		goto done;
	memset(&a, 0, sizeof a);
	a.f = f;
	a.s = e.data != NULL ? e.data : "";
	a.n = e.len;
	v = arith_expr(&a, 0);
	arith_blank(&a);
	if (a.err || a.i != a.n)
		goto done; /* ash prints an error; the line gets no value */
	snprintf(num, sizeof num, "%lld", v);
	rc = put_value(f, num, strlen(num), quoted);
done:
	mm_buf_free(&e);
	return rc;
}

/* Runs a command substitution's body through the shell and appends what it
 * printed, less its trailing newlines. */
static int expand_subst(struct fields *f, const char *body, size_t n, int quoted)
{
	struct mm_buf o;
	int rc;

	if (f->env == NULL || f->env->subst == NULL || subst_depth >= SUBST_DEPTH) {
		if (quoted)
			f->have = 1;
		return 0;
	}
	mm_buf_init(&o, f->out->max);
	subst_depth++;
	rc = f->env->subst(f->env->arg, body, n, &o);
	subst_depth--;
	if (rc == 0) {
		while (o.len > 0 && o.data[o.len - 1] == '\n')
			o.len--;
		rc = put_value(f, o.data, o.len, quoted);
	}
	mm_buf_free(&o);
	return rc;
}

/* `...`: a backslash before $ ` \ (and " inside "..") is removed first. */
static int expand_backquote(struct fields *f, const char *t, size_t lo, size_t hi, enum mode m)
{
	struct mm_buf body;
	size_t i;
	int rc = 0;

	mm_buf_init(&body, f->out->max);
	for (i = lo; i < hi && rc == 0; i++) {
		if (t[i] == '\\' && i + 1 < hi &&
		    (t[i + 1] == '$' || t[i + 1] == '`' || t[i + 1] == '\\' ||
		     (m == M_DQ && t[i + 1] == '"')))
			i++;
		rc = mm_buf_putc(&body, t[i]);
	}
	if (rc == 0)
		rc = expand_subst(f, body.data != NULL ? body.data : "", body.len, m == M_DQ);
	mm_buf_free(&body);
	return rc;
}

/* The length of the parameter name at t[i..hi): NAME, digits in braces
 * (one digit without), or one special character. */
static size_t name_len(const char *t, size_t i, size_t hi, int braced)
{
	size_t k = i;

	if (i >= hi)
		return 0;
	if (t[i] == '_' || isalpha((unsigned char)t[i])) {
		while (k < hi && (t[k] == '_' || isalnum((unsigned char)t[k])))
			k++;
		return k - i;
	}
	if (isdigit((unsigned char)t[i])) {
		if (!braced)
			return 1;
		while (k < hi && isdigit((unsigned char)t[k]))
			k++;
		return k - i;
	}
	return t[i] != '\0' && strchr("?$!#@*-", t[i]) != NULL ? 1 : 0;
}

/* Removes the shortest or longest prefix (#, ##) or suffix (%, %%) of v
 * that the pattern matches, and appends the rest. */
static int expand_trim(struct fields *f, const char *v, const char *pat, int suffix,
		       int longest, int quoted)
{
	size_t n = strlen(v), k, keep_lo = 0, keep_hi = n;
	char *tmp = malloc(n + 1);
	int found = 0;

	if (tmp == NULL)
		return MM_ENOMEM;
	for (k = 0; k <= n && !found; k++) {
		size_t cut = longest ? n - k : k;

		if (suffix) {
			memcpy(tmp, v + n - cut, cut);
			tmp[cut] = '\0';
		} else {
			memcpy(tmp, v, cut);
			tmp[cut] = '\0';
		}
		if (trap_sh_glob_match(pat, tmp)) {
			found = 1;
			if (suffix)
				keep_hi = n - cut;
			else
				keep_lo = cut;
		}
	}
	free(tmp);
	return put_value(f, v + keep_lo, keep_hi - keep_lo, quoted);
}

/* ${...}: body is t[lo..hi) between the braces. */
static int expand_brace(struct fields *f, const char *t, size_t lo, size_t hi, enum mode m)
{
	int quoted = m == M_DQ;
	const char *v;
	char num[24];
	size_t k, n;
	int colon = 0, rc, isset, use_word;
	char op;

	if (hi - lo > 1 && t[lo] == '#' && name_len(t, lo + 1, hi, 1) == hi - lo - 1) {
		v = lookup(f, t + lo + 1, hi - lo - 1);
		snprintf(num, sizeof num, "%zu", v != NULL ? strlen(v) : 0);
		return put_value(f, num, strlen(num), quoted);
	}
	n = name_len(t, lo, hi, 1);
	if (n == 0)
		return 0; /* a bad substitution: the parser refused it already */
	v = lookup(f, t + lo, n);
	k = lo + n;
	if (k == hi)
		return put_value(f, v != NULL ? v : "", v != NULL ? strlen(v) : 0, quoted);
	if (t[k] == ':' && k + 1 < hi && strchr("-=?+", t[k + 1]) != NULL) {
		colon = 1;
		k++;
	}
	op = t[k++];
	isset = v != NULL && (!colon || v[0] != '\0');
	switch (op) {
	case '-':
	case '=': /* no assignment from here: the same as - */
	case '?': /* ash would stop the line; here the value is empty */
		use_word = !isset && op != '?';
		break;
	case '+':
		use_word = isset;
		if (!use_word)
			return put_value(f, "", 0, quoted);
		break;
	case '#':
	case '%': {
		int longest = k < hi && t[k] == op;
		struct mm_buf pat;

		k += longest;
		if (v == NULL)
			return put_value(f, "", 0, quoted);
		mm_buf_init(&pat, f->out->max);
		rc = expand_flat(f, t, k, hi, &pat);
		if (rc == 0)
			rc = expand_trim(f, v, pat.data != NULL ? pat.data : "", op == '%',
					 longest, quoted);
		mm_buf_free(&pat);
		return rc;
	}
	default:
		/* Substrings and replacements are not done: the value as it is. */
		use_word = 0;
		break;
	}
	if (use_word) {
		if (quoted)
			f->have = 1;
		return expand_range(f, t, k, hi, quoted ? M_DQ : M_DEFAULT);
	}
	return put_value(f, v != NULL ? v : "", v != NULL ? strlen(v) : 0, quoted);
}

/* A '$' at t[i]: sets *next past what it expanded. */
static int expand_dollar(struct fields *f, const char *t, size_t i, size_t hi, enum mode m,
			 size_t *next)
{
	int quoted = m == M_DQ, closed;
	size_t e, n;
	const char *v;

	if (i + 1 < hi && (t[i + 1] == '(' || t[i + 1] == '{')) {
		e = part_end(t, hi, i, &closed);
		*next = e;
		if (closed)
			e--; /* the closing ) or } */
		if (t[i + 1] == '{')
			return expand_brace(f, t, i + 2, e, m);
		if (i + 2 < e && t[i + 2] == '(' && e - 1 > i + 2 && t[e - 1] == ')')
			return expand_arith(f, t, i + 3, e - 1, quoted);
		return expand_subst(f, t + i + 2, e - i - 2, quoted);
	}
	n = name_len(t, i + 1, hi, 0);
	if (n == 0) {
		*next = i + 1;
		return put_lit(f, '$', 0); /* a '$' that starts nothing is itself */
	}
	*next = i + 1 + n;
	v = lookup(f, t + i + 1, n);
	if (v == NULL) {
		if (quoted)
			f->have = 1;
		return 0;
	}
	return put_value(f, v, strlen(v), quoted);
}

static int expand_range(struct fields *f, const char *t, size_t lo, size_t hi, enum mode m)
{
	size_t i = lo, e;
	int rc = 0, closed;

	while (i < hi && rc == 0) {
		char c = t[i];

		if (c == '\\') {
			char d = i + 1 < hi ? t[i + 1] : '\0';

			if (i + 1 >= hi) {
				rc = put_lit(f, c, 0);
				i++;
			} else if (d == '\n') {
				i += 2; /* a line continues */
			} else if (m == M_DQ && strchr("$`\"\\", d) == NULL) {
				rc = put_lit(f, c, 0); /* kept inside ".." before others */
				i++;
			} else {
				rc = put_lit(f, d, 0);
				i += 2;
			}
		} else if ((c == '\'' && m != M_DQ) || c == '"') {
			e = part_end(t, hi, i, &closed);
			f->have = 1;
			if (c == '\'') {
				size_t k;

				for (k = i + 1; k < e - closed && rc == 0; k++)
					rc = put_lit(f, t[k], 0);
			} else {
				rc = expand_range(f, t, i + 1, e - closed, M_DQ);
			}
			i = e;
		} else if (c == '`') {
			e = part_end(t, hi, i, &closed);
			rc = expand_backquote(f, t, i + 1, e - closed, m);
			i = e;
		} else if (c == '$') {
			rc = expand_dollar(f, t, i, hi, m, &i);
		} else if (m == M_DEFAULT) {
			rc = put_value(f, &c, 1, 0);
			i++;
		} else {
			rc = put_lit(f, c, m == M_WORD);
			i++;
		}
	}
	return rc;
}

static int expand(const struct trap_sh_word *w, const struct trap_sh_env *env,
		  struct mm_buf *out, int split, size_t *nfields, int *glob)
{
	struct fields f;
	size_t start = out->len;
	int rc;

	memset(&f, 0, sizeof f);
	f.out = out;
	f.env = env;
	f.split = split;
	rc = expand_range(&f, w->text, 0, w->len, M_WORD);
	if (rc == 0 && split)
		rc = end_field(&f);
	if (rc < 0) {
		/* Nothing half-done stays in out. */
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return rc;
	}
	if (nfields != NULL)
		*nfields = f.nfields;
	if (glob != NULL)
		*glob = f.glob;
	return 0;
}

int trap_sh_expand(const struct trap_sh_word *w, const struct trap_sh_env *env,
		   struct mm_buf *out, size_t *nfields, int *glob)
{
	return expand(w, env, out, 1, nfields, glob);
}

/* ash neither splits a redirection's target nor an assignment's value:
 * X="a  b"; Y=$X keeps both blanks, and > $X writes the file "a  b". So the
 * one field is the word expanded without splitting. */
int trap_sh_expand_one(const struct trap_sh_word *w, const struct trap_sh_env *env,
		       struct mm_buf *out)
{
	return expand(w, env, out, 0, NULL, NULL);
}

/* Matches a bracket expression at p (just past '['): sets *len to its
 * length up to and including ']', or 0 when it is not closed (then '[' is
 * an ordinary character). Returns whether c is in it. */
static int bracket(const char *p, unsigned char c, size_t *len)
{
	static const struct {
		const char *name;
		int (*fn)(int);
	} classes[] = {
		{"alnum", isalnum}, {"alpha", isalpha}, {"blank", isblank}, {"cntrl", iscntrl},
		{"digit", isdigit}, {"graph", isgraph}, {"lower", islower}, {"print", isprint},
		{"punct", ispunct}, {"space", isspace}, {"upper", isupper}, {"xdigit", isxdigit},
	};
	const char *s = p;
	int neg = 0, match = 0;

	if (*s == '!' || *s == '^') {
		neg = 1;
		s++;
	}
	if (*s == ']') {
		match |= c == ']';
		s++;
	}
	while (*s != '\0' && *s != ']') {
		unsigned char lo = (unsigned char)*s, hi;

		if (s[0] == '[' && s[1] == ':') {
			const char *e = strstr(s + 2, ":]");
			size_t k;

			if (e != NULL) {
				size_t cl = (size_t)(e - s - 2);

				for (k = 0; k < sizeof classes / sizeof classes[0]; k++)
					if (strlen(classes[k].name) == cl &&
					    memcmp(classes[k].name, s + 2, cl) == 0)
						match |= classes[k].fn(c) != 0;
				s = e + 2;
				continue;
			}
		}
		if (lo == '\\' && s[1] != '\0')
			lo = (unsigned char)*++s;
		s++;
		if (s[0] == '-' && s[1] != ']' && s[1] != '\0') {
			s++;
			if (*s == '\\' && s[1] != '\0')
				s++;
			hi = (unsigned char)*s++;
			match |= c >= lo && c <= hi;
		} else {
			match |= c == lo;
		}
	}
	if (*s != ']') {
		*len = 0;
		return 0;
	}
	*len = (size_t)(s - p) + 1;
	return match != neg;
}

int trap_sh_glob_match(const char *pattern, const char *name)
{
	const char *p = pattern, *n = name;
	const char *star_p = NULL, *star_n = NULL;
	size_t blen;

	if (*n == '.' && *p != '.')
		return 0; /* a leading dot is matched only by a leading dot */
	while (*n != '\0') {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_n = n;
			continue;
		}
		if (*p == '?') {
			p++;
			n++;
			continue;
		}
		if (*p == '[') {
			int in = bracket(p + 1, (unsigned char)*n, &blen);

			if (blen > 0) {
				if (in) {
					p += 1 + blen;
					n++;
					continue;
				}
				goto backtrack;
			}
		}
		if (*p == '\\' && p[1] != '\0')
			p++;
		if (*p != '\0' && *p == *n) {
			p++;
			n++;
			continue;
		}
backtrack:
		/* Only the last '*' needs to take more: an earlier one's choice
		 * never blocks a later match. */
		if (star_p == NULL)
			return 0;
		p = star_p;
		n = ++star_n;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}
