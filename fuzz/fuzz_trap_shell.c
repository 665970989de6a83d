/*
 * libFuzzer target for mamori-trap's shell language (trap/sh_parse.c and
 * trap/sh_expand.c): arbitrary bytes parsed in a bounded arena, then every
 * word, assignment and redirection target expanded with variables of fixed
 * values and a command substitution that parses its text again and appends
 * a fixed string. Nothing may crash, leak or pass a bound; what the parser
 * hands out must lie inside the input or the arena.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/buf.h"

#include "sh.h"

#define ARENA_MAX (64 << 10)
#define OUT_MAX (16 << 10)

static const char *fz_var(void *arg, const char *name, size_t n)
{
	(void)arg;
	if (n == 1 && name[0] == '?')
		return "0";
	if (n == 1 && name[0] == 'E')
		return "";
	if (n > 0 && name[0] == 'W')
		return " a  b\t*c ";
	return n % 3 == 0 ? NULL : "value";
}

static int fz_subst(void *arg, const char *text, size_t n, struct mm_buf *out);
static const struct trap_sh_env fz_env = {fz_var, fz_subst, NULL};

static void fz_expand_list(const struct trap_sh_list *l);

/* Parses the body again (each level expands its words, so nested
 * substitutions recurse as a shell's would) and appends a fixed text. */
static int fz_subst(void *arg, const char *text, size_t n, struct mm_buf *out)
{
	struct trap_sh_arena a;
	struct trap_sh_list *l;

	(void)arg;
	trap_sh_arena_init(&a, ARENA_MAX);
	if (trap_sh_parse(&a, text, n, &l, NULL, 0) == 0)
		fz_expand_list(l);
	trap_sh_arena_free(&a);
	return mm_buf_puts(out, "out put\n\n");
}

static void fz_word(const struct trap_sh_word *w, int one)
{
	struct mm_buf b;
	size_t nf = 0, i, nul = 0;
	int glob = 0;

	mm_buf_init(&b, OUT_MAX);
	if (one) {
		if (trap_sh_expand_one(w, &fz_env, &b) == 0 && memchr(b.data != NULL ? b.data : "",
								       '\0', b.len) != NULL)
			abort(); /* one field holds no NUL */
	} else if (trap_sh_expand(w, &fz_env, &b, &nf, &glob) == 0) {
		for (i = 0; i < b.len; i++)
			nul += b.data[i] == '\0';
		if (nul != nf || (b.len > 0 && b.data[b.len - 1] != '\0'))
			abort(); /* every field ends with one NUL */
	}
	if (b.len > OUT_MAX)
		abort();
	mm_buf_free(&b);
}

static void fz_expand_list(const struct trap_sh_list *l)
{
	size_t i, j, k;

	for (i = 0; i < l->n; i++) {
		const struct trap_sh_pipeline *p = &l->item[i].pipe;

		for (j = 0; j < p->ncmd; j++) {
			const struct trap_sh_cmd *c = &p->cmd[j];

			if (c->nassign + c->nword + c->nredir == 0)
				abort(); /* a command has at least one item */
			for (k = 0; k < c->nassign; k++)
				fz_word(&c->assign[k], 1);
			for (k = 0; k < c->nword; k++)
				fz_word(&c->word[k], 0);
			for (k = 0; k < c->nredir; k++)
				fz_word(&c->redir[k].target, 1);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trap_sh_arena a;
	struct trap_sh_list *l;
	char err[128];
	int rc;

	trap_sh_arena_init(&a, ARENA_MAX);
	rc = trap_sh_parse(&a, (const char *)data, size, &l, err, sizeof err);
	if (rc == 0)
		fz_expand_list(l);
	else if (rc != TRAP_SH_ESYNTAX && rc != TRAP_SH_EINCOMPLETE && rc != TRAP_SH_ETOOBIG)
		abort();
	else if (rc == TRAP_SH_ESYNTAX && strncmp(err, "syntax error: ", 14) != 0)
		abort();
	if (a.used > a.max)
		abort();
	trap_sh_arena_free(&a);
	return 0;
}
