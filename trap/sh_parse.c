/*
 * The shell language's parser: an arena of chunks, a tokenizer that keeps
 * each word's source text (quotes and substitutions included) and a
 * recursive-descent parser for the grammar in sh.h, with BusyBox ash's
 * rules and error messages.
 *
 * Where ash would accept a construct the emulation does not run (if, for,
 * while, case, subshells, functions, here-documents), the parser refuses it
 * with the syntax error ash prints for that token when it is misplaced, so
 * the attacker sees an answer worded as a real ash would word one.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sh.h"

/* Chunks are at least this big, so that a parse of a typical line takes one
 * or two allocations. */
#define CHUNK_MIN 2048
/* How deep parts ($(..), "..", ${..}) may nest inside each other. */
#define SCAN_DEPTH 32
/* How deep the parser follows $(...) inside $(...) to check its syntax. */
#define PARSE_DEPTH 16

struct trap_sh_chunk {
	struct trap_sh_chunk *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
};

void trap_sh_arena_init(struct trap_sh_arena *a, size_t max)
{
	a->head = NULL;
	a->used = 0;
	a->max = max;
}

void *trap_sh_alloc(struct trap_sh_arena *a, size_t n)
{
	const size_t align = alignof(max_align_t);
	struct trap_sh_chunk *c = a->head;
	size_t size, left;
	void *p;

	if (n == 0)
		n = 1;
	if (n > a->max)
		return NULL;
	n = (n + align - 1) & ~(align - 1);
	if (c != NULL && c->size - c->used >= n) {
		p = c->data + c->used;
		c->used += n;
		return p; /* a fresh chunk is zeroed and nothing is handed out twice */
	}
	/* A new chunk: the bound counts what is allocated, headers included, so
	 * that a session's memory is what max says. */
	left = a->max - a->used;
	if (left < sizeof(*c) + n)
		return NULL;
	size = n < CHUNK_MIN ? CHUNK_MIN : n;
	if (c != NULL && c->size > size && c->size <= a->max / 4)
		size = c->size * 2; /* lines that need many chunks get fewer, bigger ones */
	if (size > left - sizeof(*c))
		size = left - sizeof(*c);
	c = calloc(1, sizeof(*c) + size);
	if (c == NULL)
		return NULL;
	c->size = size;
	c->used = n;
	c->next = a->head;
	a->head = c;
	a->used += sizeof(*c) + size;
	return c->data;
}

void trap_sh_arena_free(struct trap_sh_arena *a)
{
	struct trap_sh_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->used = 0;
}

static int scan(const char *t, size_t len, size_t i, size_t *end, int depth, int in_dq);

/* Whether c ends an unquoted word (or, in a $(...) body, starts a new one). */
static int is_meta(char c)
{
	return c != '\0' && strchr(" \t\n;&|<>()", c) != NULL;
}

/* Whether text[i] starts a part that scan() follows. */
static int part_start(const char *t, size_t len, size_t i, int in_dq)
{
	char c = t[i];

	if (c == '"' || c == '`' || (c == '\'' && !in_dq))
		return 1;
	return c == '$' && i + 1 < len && (t[i + 1] == '(' || t[i + 1] == '{');
}

/* Scans the body of $(...) from text[i] (just past the '(') to its ')'. A
 * '(' inside counts, so that $((1+2)) and a subshell's parentheses match;
 * a comment's ')' does not. */
static int scan_paren(const char *t, size_t len, size_t i, size_t *end, int depth)
{
	size_t parens = 0;
	int word_start = 1;
	int rc;

	while (i < len) {
		char c = t[i];

		if (c == '\\') {
			i += 2;
			word_start = 0;
			continue;
		}
		if (part_start(t, len, i, 0)) {
			rc = scan(t, len, i, &i, depth + 1, 0);
			if (rc < 0)
				return rc;
			word_start = 0;
			continue;
		}
		if (c == '#' && word_start) {
			while (i < len && t[i] != '\n')
				i++;
			continue;
		}
		if (c == ')') {
			if (parens == 0) {
				*end = i + 1;
				return 0;
			}
			parens--;
		} else if (c == '(') {
			parens++;
		}
		word_start = is_meta(c);
		i++;
	}
	return TRAP_SH_EINCOMPLETE;
}

/* Scans from text[i] (just past an opening character) to the closing one,
 * following the parts inside that the context allows: a ${..} body and a
 * ".." string hold parts, '..' and `..` only backslashes. */
static int scan_until(const char *t, size_t len, size_t i, char close, int nested, int in_dq,
		      size_t *end, int depth)
{
	int rc;

	while (i < len) {
		if (t[i] == '\\' && close != '\'') {
			i += 2;
			continue;
		}
		if (t[i] == close) {
			*end = i + 1;
			return 0;
		}
		if (nested && part_start(t, len, i, in_dq)) {
			rc = scan(t, len, i, &i, depth + 1, in_dq);
			if (rc < 0)
				return rc;
			continue;
		}
		i++;
	}
	return TRAP_SH_EINCOMPLETE;
}

static int scan(const char *t, size_t len, size_t i, size_t *end, int depth, int in_dq)
{
	if (depth > SCAN_DEPTH)
		return TRAP_SH_ETOOBIG;
	if (i >= len)
		return TRAP_SH_EINCOMPLETE;
	switch (t[i]) {
	case '\'':
		return scan_until(t, len, i + 1, '\'', 0, 0, end, depth);
	case '"':
		return scan_until(t, len, i + 1, '"', 1, 1, end, depth);
	case '`':
		return scan_until(t, len, i + 1, '`', 0, 0, end, depth);
	case '$':
		if (i + 1 < len && t[i + 1] == '(')
			return scan_paren(t, len, i + 2, end, depth);
		if (i + 1 < len && t[i + 1] == '{')
			return scan_until(t, len, i + 2, '}', 1, in_dq, end, depth);
		break;
	}
	*end = i + 1;
	return 0;
}

int trap_sh_scan_part(const char *text, size_t len, size_t i, size_t *end)
{
	return scan(text, len, i, end, 0, 0);
}

/*
 * The tokenizer.
 */

enum tok {
	T_EOF, T_NL, T_SEMI, T_DSEMI, T_AMP, T_AND, T_OR, T_PIPE, T_LPAREN, T_RPAREN,
	T_REDIR, T_HEREDOC, T_WORD,
};

struct token {
	enum tok type;
	const char *text;  /* a word's source, or the operator as written */
	size_t len;
	int quoted;        /* a word holds a quote, a backslash or a substitution */
	enum trap_sh_redir_op op;
	int fd;            /* a redirection's fd */
	int has_fd;        /* written before the operator (2>&1), not its default */
};

struct parser {
	struct trap_sh_arena *a;
	const char *s;
	size_t len, pos;
	int depth;            /* $(...) bodies being checked around this one */
	const char *end_name; /* what a message calls the text's end: "unexpected newline" */
	char *err;
	size_t errlen;
	struct token tok;
	int have_tok;
};

static int is_reserved(const struct token *t);

/* Fills err with "syntax error: " what [" (expecting " expecting ")"]. */
static int syntax(struct parser *p, const char *what, const char *expecting)
{
	if (p->err != NULL && p->errlen > 0)
		snprintf(p->err, p->errlen, "syntax error: %s%s%s%s", what,
			 expecting != NULL ? " (expecting " : "",
			 expecting != NULL ? expecting : "", expecting != NULL ? ")" : "");
	return TRAP_SH_ESYNTAX;
}

/* The token as ash names it in "unexpected ...": operators and reserved
 * words in double quotes, the rest by kind. */
static const char *tok_name(struct parser *p, const struct token *t, char *buf, size_t n)
{
	switch (t->type) {
	case T_EOF:
		return p->end_name;
	case T_NL:
		return "unexpected newline";
	case T_REDIR:
	case T_HEREDOC:
		return "unexpected redirection";
	case T_WORD:
		if (!is_reserved(t))
			return "unexpected word";
		break; /* a reserved word or "!" is named as written */
	default:
		break;
	}
	snprintf(buf, n, "unexpected \"%.*s\"", (int)(t->len > 16 ? 16 : t->len), t->text);
	return buf;
}

static int unexpected(struct parser *p, const struct token *t, const char *expecting)
{
	char buf[48];

	return syntax(p, tok_name(p, t, buf, sizeof buf), expecting);
}

static int parse_text(struct parser *p, const char *s, size_t len, const char *end_name,
		      struct trap_sh_list **out);

/* The length of the parameter name at b (n bytes): a NAME, a number, or
 * one special character; 0 when there is none. */
static size_t param_len(const char *b, size_t n)
{
	static const char specials[] = "?$!#@*-";
	size_t k = 0;

	if (n == 0)
		return 0;
	if (b[0] == '_' || ((b[0] | 0x20) >= 'a' && (b[0] | 0x20) <= 'z')) {
		while (k < n && (b[k] == '_' || (b[k] >= '0' && b[k] <= '9') ||
				 ((b[k] | 0x20) >= 'a' && (b[k] | 0x20) <= 'z')))
			k++;
	} else if (b[0] >= '0' && b[0] <= '9') {
		while (k < n && b[k] >= '0' && b[k] <= '9')
			k++;
	} else if (b[0] != '\0' && strchr(specials, b[0]) != NULL) {
		k = 1;
	}
	return k;
}

/* Checks ${...}'s body (between the braces) as ash does when it reads it:
 * an optional '#', a name, then the end or an operator. */
static int check_brace(struct parser *p, const char *b, size_t n)
{
	size_t k;

	/* ${#NAME}: the length; otherwise '#' is $# itself (${#:-x}). */
	if (n > 1 && b[0] == '#' && 1 + param_len(b + 1, n - 1) == n)
		return 0;
	if ((k = param_len(b, n)) == 0)
		goto bad;
	if (k == n || (b[k] != '\0' && strchr(":-=?+#%/", b[k]) != NULL))
		return 0;
bad:
	return syntax(p, "bad substitution", NULL);
}

/* Checks the syntax of a $(...) body as ash does when it reads the word.
 * A body that ends where more is needed ($(echo |)) meets the ')'. */
static int check_subst(struct parser *p, const char *b, size_t n)
{
	struct parser sub;
	struct trap_sh_list *l;
	int rc;

	if (p->depth >= PARSE_DEPTH)
		return TRAP_SH_ETOOBIG;
	memset(&sub, 0, sizeof sub);
	sub.a = p->a;
	sub.depth = p->depth + 1;
	sub.err = p->err;
	sub.errlen = p->errlen;
	rc = parse_text(&sub, b, n, "unexpected \")\"", &l);
	if (rc == TRAP_SH_EINCOMPLETE)
		rc = syntax(p, "unexpected \")\"", NULL);
	return rc;
}

/* Reads a word from s[pos]: up to an unquoted operator or blank. */
static int lex_word(struct parser *p, struct token *t)
{
	size_t start = p->pos, i = p->pos, e;
	int rc;

	t->type = T_WORD;
	t->quoted = 0;
	while (i < p->len && !is_meta(p->s[i])) {
		char c = p->s[i];

		if (c == '\\') {
			if (i + 1 >= p->len)
				return TRAP_SH_EINCOMPLETE; /* a line continues after '\' */
			t->quoted = 1;
			i += 2;
			continue;
		}
		if (!part_start(p->s, p->len, i, 0)) {
			i++;
			continue;
		}
		t->quoted = 1;
		rc = scan(p->s, p->len, i, &e, 0, 0);
		if (rc < 0)
			return rc;
		if (c == '$' && p->s[i + 1] == '{')
			rc = check_brace(p, p->s + i + 2, e - i - 3);
		else if (c == '$' && !(i + 2 < p->len && p->s[i + 2] == '('))
			rc = check_subst(p, p->s + i + 2, e - i - 3);
		if (rc < 0)
			return rc;
		i = e;
	}
	t->text = p->s + start;
	t->len = i - start;
	p->pos = i;
	return 0;
}

/* Reads a redirection operator at s[pos]; fd is its number or -1. */
static void lex_redir(struct parser *p, struct token *t, int fd)
{
	const char *s = p->s + p->pos;
	size_t left = p->len - p->pos, n = 1;
	char c2 = left > 1 ? s[1] : '\0';

	t->type = T_REDIR;
	t->has_fd = fd >= 0;
	if (s[0] == '>') {
		t->op = TRAP_SH_OUT;
		if (c2 == '>') {
			t->op = TRAP_SH_APPEND;
			n = 2;
		} else if (c2 == '&') {
			t->op = TRAP_SH_DUP;
			n = 2;
		} else if (c2 == '|') {
			n = 2; /* >| : no noclobber here, the same as > */
		}
		t->fd = fd < 0 ? 1 : fd;
	} else {
		t->op = TRAP_SH_IN;
		if (c2 == '<') {
			t->type = T_HEREDOC;
			n = left > 2 && s[2] == '-' ? 3 : 2;
		} else if (c2 == '&') {
			t->op = TRAP_SH_DUP;
			n = 2;
		} else if (c2 == '>') {
			n = 2; /* <> : read and write; the emulation reads */
		}
		t->fd = fd < 0 ? 0 : fd;
	}
	t->text = s;
	t->len = n;
	p->pos += n;
}

static int lex(struct parser *p, struct token *t)
{
	static const struct {
		const char *op;
		enum tok type;
	} ops[] = {
		{"&&", T_AND}, {"||", T_OR}, {";;", T_DSEMI}, {";", T_SEMI}, {"&", T_AMP},
		{"|", T_PIPE}, {"(", T_LPAREN}, {")", T_RPAREN},
	};
	size_t i, n;
	int rc;

	memset(t, 0, sizeof *t);
	for (;;) {
		if (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t')) {
			p->pos++;
		} else if (p->pos + 1 < p->len && p->s[p->pos] == '\\' &&
			   p->s[p->pos + 1] == '\n') {
			p->pos += 2;
		} else if (p->pos < p->len && p->s[p->pos] == '#') {
			while (p->pos < p->len && p->s[p->pos] != '\n')
				p->pos++;
		} else {
			break;
		}
	}
	t->text = p->s + p->pos;
	if (p->pos >= p->len) {
		t->type = T_EOF;
		return 0;
	}
	if (p->s[p->pos] == '\n') {
		t->type = T_NL;
		t->len = 1;
		p->pos++;
		return 0;
	}
	if (p->s[p->pos] == '<' || p->s[p->pos] == '>') {
		lex_redir(p, t, -1);
		return 0;
	}
	for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		n = strlen(ops[i].op);
		if (p->len - p->pos >= n && memcmp(p->s + p->pos, ops[i].op, n) == 0) {
			t->type = ops[i].type;
			t->len = n;
			p->pos += n;
			return 0;
		}
	}
	rc = lex_word(p, t);
	if (rc < 0)
		return rc;
	/* Up to nine unquoted digits right before < or > are the fd it redirects. */
	if (!t->quoted && t->len <= 9 && p->pos < p->len &&
	    (p->s[p->pos] == '<' || p->s[p->pos] == '>')) {
		int fd = 0;

		for (i = 0; i < t->len && t->text[i] >= '0' && t->text[i] <= '9'; i++)
			fd = fd * 10 + (t->text[i] - '0');
		if (i == t->len)
			lex_redir(p, t, fd);
	}
	return 0;
}

static int peek(struct parser *p, struct token **t)
{
	int rc;

	if (!p->have_tok) {
		rc = lex(p, &p->tok);
		if (rc < 0)
			return rc;
		p->have_tok = 1;
	}
	*t = &p->tok;
	return 0;
}

static void consume(struct parser *p)
{
	p->have_tok = 0;
}

/*
 * The parser.
 */

/* Makes room for one more element in an array that lives in the arena: it
 * doubles, leaving the old copy behind (at most as much again). */
static int grow(struct parser *p, void **arr, size_t *cap, size_t n, size_t elem)
{
	void *na;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 4 : *cap * 2;
	if (ncap > p->a->max / elem)
		return TRAP_SH_ETOOBIG;
	na = trap_sh_alloc(p->a, ncap * elem);
	if (na == NULL)
		return TRAP_SH_ETOOBIG;
	if (n > 0)
		memcpy(na, *arr, n * elem);
	*arr = na;
	*cap = ncap;
	return 0;
}

static int is_word(const struct token *t, const char *w)
{
	return t->type == T_WORD && !t->quoted && t->len == strlen(w) &&
	       memcmp(t->text, w, t->len) == 0;
}

/* Words that ash reads as reserved where a command begins. */
static int is_reserved(const struct token *t)
{
	static const char *const words[] = {
		"!", "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done",
		"case", "esac", "in", "{", "}", "function",
	};
	size_t i;

	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		if (is_word(t, words[i]))
			return 1;
	return 0;
}

/* NAME=...: a name that starts with a letter or '_', unquoted. */
static int is_assignment(const struct token *t)
{
	size_t i;

	if (t->len == 0 || !(t->text[0] == '_' || ((t->text[0] | 0x20) >= 'a' &&
						      (t->text[0] | 0x20) <= 'z')))
		return 0;
	for (i = 1; i < t->len; i++) {
		char c = t->text[i];

		if (c == '=')
			return 1;
		if (!(c == '_' || (c >= '0' && c <= '9') ||
		      ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
			return 0;
	}
	return 0;
}

static int digits_or_dash(const struct trap_sh_word *w)
{
	size_t i;

	if (w->len == 1 && w->text[0] == '-')
		return 1;
	for (i = 0; i < w->len; i++)
		if (w->text[i] < '0' || w->text[i] > '9')
			return 0;
	return w->len > 0;
}

struct cmd_build {
	struct trap_sh_cmd c;
	size_t cap_assign, cap_word, cap_redir;
};

static int add_redir(struct parser *p, struct cmd_build *b, enum trap_sh_redir_op op, int fd,
		     const struct trap_sh_word *target)
{
	int rc = grow(p, (void **)&b->c.redir, &b->cap_redir, b->c.nredir, sizeof(*b->c.redir));

	if (rc < 0)
		return rc;
	b->c.redir[b->c.nredir].op = op;
	b->c.redir[b->c.nredir].fd = fd;
	b->c.redir[b->c.nredir].target = *target;
	b->c.nredir++;
	return 0;
}

static int parse_redir(struct parser *p, struct cmd_build *b, const struct token *op)
{
	struct trap_sh_word w;
	struct token *t;
	enum trap_sh_redir_op kind = op->op;
	int rc;

	if (op->type == T_HEREDOC)
		return unexpected(p, op, NULL); /* here-documents are not run */
	rc = peek(p, &t);
	if (rc < 0)
		return rc;
	if (t->type != T_WORD)
		return unexpected(p, t, NULL);
	w.text = t->text;
	w.len = t->len;
	consume(p);
	/* >&FILE (no fd, a plain name) sends both outputs to FILE, as ash's
	 * bash-compatible mode does: one redirection to the file and 2>&1. */
	if (kind == TRAP_SH_DUP && !op->has_fd && op->text[0] == '>' && !t->quoted &&
	    !digits_or_dash(&w)) {
		static const struct trap_sh_word one = {"1", 1};

		rc = add_redir(p, b, TRAP_SH_OUT, 1, &w);
		if (rc == 0)
			rc = add_redir(p, b, TRAP_SH_DUP, 2, &one);
		return rc;
	}
	return add_redir(p, b, kind, op->fd, &w);
}

static int add_word(struct parser *p, struct trap_sh_word **arr, size_t *n, size_t *cap,
		    const struct token *t)
{
	int rc = grow(p, (void **)arr, cap, *n, sizeof(**arr));

	if (rc < 0)
		return rc;
	(*arr)[*n].text = t->text;
	(*arr)[*n].len = t->len;
	(*n)++;
	return 0;
}

static int parse_command(struct parser *p, struct trap_sh_cmd *out)
{
	struct cmd_build b;
	struct token *t;
	int rc;

	memset(&b, 0, sizeof b);
	rc = peek(p, &t);
	if (rc < 0)
		return rc;
	if (t->type == T_WORD ? is_reserved(t) : t->type != T_REDIR && t->type != T_HEREDOC)
		return unexpected(p, t, NULL); /* also '(' : subshells are not run */
	for (;;) {
		rc = peek(p, &t);
		if (rc < 0)
			return rc;
		if (t->type == T_WORD) {
			if (b.c.nword == 0 && is_assignment(t))
				rc = add_word(p, &b.c.assign, &b.c.nassign, &b.cap_assign, t);
			else
				rc = add_word(p, &b.c.word, &b.c.nword, &b.cap_word, t);
			if (rc < 0)
				return rc;
			consume(p);
		} else if (t->type == T_REDIR || t->type == T_HEREDOC) {
			struct token op = *t;

			consume(p);
			rc = parse_redir(p, &b, &op);
			if (rc < 0)
				return rc;
		} else if (t->type == T_LPAREN && b.c.nword == 1 && b.c.nassign == 0 &&
			   b.c.nredir == 0) {
			/* NAME ( ) : a function definition, which is not run. */
			consume(p);
			rc = peek(p, &t);
			if (rc < 0)
				return rc;
			if (t->type != T_RPAREN)
				return unexpected(p, t, "\")\"");
			return syntax(p, "unexpected \"(\"", NULL);
		} else if (t->type == T_LPAREN) {
			return unexpected(p, t, NULL);
		} else {
			break;
		}
	}
	*out = b.c;
	return 0;
}

/* Skips newlines (and the comments before them) where the grammar allows a
 * line break: after && || | and between commands. */
static int linebreak(struct parser *p, struct token **t)
{
	int rc;

	for (;;) {
		rc = peek(p, t);
		if (rc < 0 || (*t)->type != T_NL)
			return rc;
		consume(p);
	}
}

/* Takes a | && or || : a command must follow it, on this line or after
 * newlines; the end of the text there means more lines are needed. */
static int operand_follows(struct parser *p)
{
	struct token *t;
	int rc;

	consume(p);
	if ((rc = linebreak(p, &t)) < 0)
		return rc;
	return t->type == T_EOF ? TRAP_SH_EINCOMPLETE : 0;
}

static int parse_pipeline(struct parser *p, struct trap_sh_pipeline *pl)
{
	struct token *t;
	size_t cap = 0;
	int rc;

	memset(pl, 0, sizeof *pl);
	rc = peek(p, &t);
	if (rc < 0)
		return rc;
	if (is_word(t, "!")) {
		pl->negate = 1;
		consume(p);
	}
	for (;;) {
		rc = grow(p, (void **)&pl->cmd, &cap, pl->ncmd, sizeof(*pl->cmd));
		if (rc < 0)
			return rc;
		rc = parse_command(p, &pl->cmd[pl->ncmd]);
		if (rc < 0)
			return rc;
		pl->ncmd++;
		rc = peek(p, &t);
		if (rc < 0)
			return rc;
		if (t->type != T_PIPE)
			return 0;
		if ((rc = operand_follows(p)) < 0)
			return rc;
	}
}

static int parse_list(struct parser *p, struct trap_sh_list *l)
{
	struct trap_sh_item *it;
	struct token *t;
	size_t cap = 0;
	int rc;

	memset(l, 0, sizeof *l);
	for (;;) {
		rc = linebreak(p, &t);
		if (rc < 0)
			return rc;
		if (t->type == T_EOF)
			return 0;
		/* and_or: pipelines joined by && and ||. */
		for (;;) {
			rc = grow(p, (void **)&l->item, &cap, l->n, sizeof(*l->item));
			if (rc < 0)
				return rc;
			it = &l->item[l->n];
			rc = parse_pipeline(p, &it->pipe);
			if (rc < 0)
				return rc;
			it->next = TRAP_SH_SEQ;
			l->n++;
			rc = peek(p, &t);
			if (rc < 0)
				return rc;
			if (t->type != T_AND && t->type != T_OR)
				break;
			it->next = t->type == T_AND ? TRAP_SH_AND : TRAP_SH_OR;
			if ((rc = operand_follows(p)) < 0)
				return rc;
		}
		switch (t->type) {
		case T_AMP:
			it->next = TRAP_SH_BG;
			consume(p);
			break;
		case T_SEMI:
		case T_NL:
			consume(p);
			break;
		case T_EOF:
			return 0;
		default:
			return unexpected(p, t, NULL);
		}
	}
}

static int parse_text(struct parser *p, const char *s, size_t len, const char *end_name,
		      struct trap_sh_list **out)
{
	struct trap_sh_list *l;
	int rc;

	p->s = s;
	p->len = len;
	p->pos = 0;
	p->end_name = end_name;
	p->have_tok = 0;
	l = trap_sh_alloc(p->a, sizeof *l);
	if (l == NULL)
		return TRAP_SH_ETOOBIG;
	rc = parse_list(p, l);
	if (rc < 0)
		return rc;
	*out = l;
	return 0;
}

int trap_sh_parse(struct trap_sh_arena *a, const char *line, size_t len,
		  struct trap_sh_list **out, char *err, size_t errlen)
{
	struct parser p;
	const char *nul;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/* ash drops NUL bytes from what it reads; the words point into a copy
	 * without them. */
	nul = memchr(line, '\0', len);
	if (nul != NULL) {
		char *copy = trap_sh_alloc(a, len);
		size_t i, n = 0;

		if (copy == NULL)
			return TRAP_SH_ETOOBIG;
		for (i = 0; i < len; i++)
			if (line[i] != '\0')
				copy[n++] = line[i];
		line = copy;
		len = n;
	}
	memset(&p, 0, sizeof p);
	p.a = a;
	p.err = err;
	p.errlen = errlen;
	return parse_text(&p, line, len, "unexpected newline", out);
}
