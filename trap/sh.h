/*
 * The shell language of mamori-trap's BusyBox ash emulation: a real parser
 * (not a split on spaces) for the subset bots use, and the expansion of a
 * word at the moment its command runs.
 *
 * Grammar (POSIX shell, cut down):
 *   list      := and_or ((';' | '&' | NEWLINE) and_or)* [';' | '&']
 *   and_or    := pipeline (('&&' | '||') linebreak pipeline)*
 *   pipeline  := ['!'] command ('|' linebreak command)*
 *   command   := (assignment)* (word | redirection)*     at least one item
 *   redirection := [N] ('>' | '>>' | '<' | '2>&1'-style 'N>&M') word
 * Words keep their source text, quotes included ('..', "..", \x, $VAR,
 * ${VAR}, $?, $$, $(...) and `...` are recognised, so that ';' inside
 * quotes does not end a command). Comments (#) end at the line's end.
 * Not supported, and refused with a syntax error in ash's words: if/for/
 * while/case/functions/subshells/here-documents; they are rare in bots and
 * the emulation answers like ash to a syntax error.
 *
 * Every allocation of a parse comes from one arena (struct trap_sh_arena),
 * bounded in bytes: a line that needs more is refused (TRAP_SH_ETOOBIG).
 *
 *	struct trap_sh_arena a;
 *	struct trap_sh_list *l;
 *	char err[128];
 *	trap_sh_arena_init(&a, 64 << 10);
 *	if (trap_sh_parse(&a, line, len, &l, err, sizeof err) == 0)
 *		for (i = 0; i < l->n; i++) ... l->item[i].pipe ...
 *	trap_sh_arena_free(&a);
 */
#ifndef TRAP_SH_H
#define TRAP_SH_H

#include <stddef.h>
#include <stdint.h>

#include "mamori/buf.h"

#define TRAP_SH_ESYNTAX (-1)  /* err says why, as ash would: "syntax error: unexpected \"|\"" */
#define TRAP_SH_ETOOBIG (-2)  /* the arena's bound was reached */
#define TRAP_SH_EINCOMPLETE (-3) /* an open quote or a trailing && | \ : more lines needed
				    (ash prints its PS2 "> " and reads on) */

struct trap_sh_arena {
	struct trap_sh_chunk *head; /* private */
	size_t used, max;
};
void trap_sh_arena_init(struct trap_sh_arena *a, size_t max);
void *trap_sh_alloc(struct trap_sh_arena *a, size_t n);   /* zeroed; NULL past max */
void trap_sh_arena_free(struct trap_sh_arena *a);

/* A word as written: text is the source bytes (quotes and all), len long. */
struct trap_sh_word {
	const char *text;
	size_t len;
};

enum trap_sh_redir_op {
	TRAP_SH_OUT,     /* [n]>word   (n default 1) */
	TRAP_SH_APPEND,  /* [n]>>word */
	TRAP_SH_IN,      /* [n]<word   (n default 0) */
	TRAP_SH_DUP,     /* n>&m       (word is m's digits, or "-" to close) */
};

struct trap_sh_redir {
	enum trap_sh_redir_op op;
	int fd;
	struct trap_sh_word target;
};

struct trap_sh_cmd {
	size_t nassign;                /* NAME=value words before the command */
	struct trap_sh_word *assign;
	size_t nword;                  /* argv, unexpanded; may be 0 (only assignments
					  or redirections) */
	struct trap_sh_word *word;
	size_t nredir;
	struct trap_sh_redir *redir;
};

struct trap_sh_pipeline {
	int negate;                    /* '!' */
	size_t ncmd;
	struct trap_sh_cmd *cmd;
};

enum trap_sh_conn {
	TRAP_SH_SEQ,   /* ';', newline, or the end */
	TRAP_SH_AND,   /* '&&': the next runs if this one succeeded */
	TRAP_SH_OR,    /* '||': the next runs if this one failed */
	TRAP_SH_BG,    /* '&': run as if ';' (the emulation has no jobs), $! set */
};

struct trap_sh_item {
	struct trap_sh_pipeline pipe;
	enum trap_sh_conn next;        /* how it joins the item after it */
};

struct trap_sh_list {
	size_t n;
	struct trap_sh_item *item;
};

/*
 * Parses len bytes (need not be NUL-terminated; NUL bytes are deleted,
 * as ash deletes them). On success *out points into the arena.
 * Returns 0, TRAP_SH_ESYNTAX (err filled), TRAP_SH_EINCOMPLETE or
 * TRAP_SH_ETOOBIG. An empty or all-comment line gives a list with n == 0.
 */
int trap_sh_parse(struct trap_sh_arena *a, const char *line, size_t len,
		  struct trap_sh_list **out, char *err, size_t errlen);

/* What expansion asks of the shell that runs the command. */
struct trap_sh_env {
	/* The value of a variable (name is name_len bytes: letters, digits, _, or
	 * one of ? $ ! # 0-9), or NULL when unset. */
	const char *(*var)(void *arg, const char *name, size_t name_len);
	/* Runs text (a $(...) or `...` body, text_len bytes) and appends its
	 * standard output to out. Returns 0, or <0 to make expansion fail. NULL:
	 * command substitution expands to nothing. */
	int (*subst)(void *arg, const char *text, size_t text_len, struct mm_buf *out);
	void *arg;
};

/*
 * Expands one word as ash does before running a command: quote removal,
 * backslash escapes, parameters ($X ${X} $? $$ ...; ${X:-default} and
 * ${#X} too), command substitution (trailing newlines removed), and field
 * splitting of unquoted expansions on space, tab and newline. Pathname
 * expansion (globs) is not done here: a field with an unquoted * ? or [
 * has its flag set in *glob so the caller can match it against its file
 * system.
 *
 * The fields are appended to out, each followed by one NUL byte (a field
 * may hold no NUL, so the caller can split on NUL). *nfields gets how many
 * were added (0 for "$EMPTY" unquoted; 1 for "" quoted). Returns 0, <0 from
 * subst, or MM_ENOMEM / MM_ETOOBIG when out's bound is reached.
 */
int trap_sh_expand(const struct trap_sh_word *w, const struct trap_sh_env *env,
		   struct mm_buf *out, size_t *nfields, int *glob);

/* Expands a word that must give one field (a redirection target, an
 * assignment's value): the expansion without field splitting, as ash does
 * there (X="a  b"; Y=$X keeps both spaces). */
int trap_sh_expand_one(const struct trap_sh_word *w, const struct trap_sh_env *env,
		       struct mm_buf *out);

/* Whether name (NUL-terminated) matches the glob pattern (* ? [..] [!..]),
 * as fnmatch(3) without flags would; a leading '.' is matched only by a
 * leading '.' in the pattern. */
int trap_sh_glob_match(const char *pattern, const char *name);

/*
 * Where the quoted or substituted part that starts at text[i] ends: one of
 * '..' ".." `..` $(..) $((..)) ${..}. *end gets the index just past its
 * closing character. Returns 0, TRAP_SH_EINCOMPLETE when text ends first,
 * or TRAP_SH_ETOOBIG when parts nest deeper than the scanner follows (32).
 * The parser and the expander both find a part's end with it, so that they
 * agree on where a word's $(...) ends.
 */
int trap_sh_scan_part(const char *text, size_t len, size_t i, size_t *end);

#endif
