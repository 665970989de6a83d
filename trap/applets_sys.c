/*
 * The system applets of the ash emulation: echo, printf, ps, kill, uname,
 * id, whoami, hostname, true, false, sleep, export, unset, exit, sh and
 * busybox itself. Their messages are BusyBox 1.35's, byte for byte; the
 * ones that are ash builtins print "sh: " before their errors as ash does.
 *
 * enable, system and shell (the first words of Mirai's login sequence) are
 * the commands of vendors' own CLIs, not of BusyBox: a BusyBox device's
 * shell has none of them and answers "-sh: enable: not found", which is
 * what the emulation's command lookup (exec.c) says for them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"

#include "applet.h"

#define USAGE_SLEEP "Usage: sleep [N]...\n\nPause for a time equal to the total of the args " \
	"given, where each arg can\nhave an optional suffix of (s)econds, (m)inutes, (h)ours, " \
	"or (d)ays\n"
#define USAGE_UNAME "Usage: uname [-amnrspvio]\n\nPrint system information\n\n" \
	"\t-a\tPrint all\n\t-m\tMachine (hardware) type\n\t-n\tHostname\n" \
	"\t-r\tKernel release\n\t-s\tKernel name (default)\n\t-p\tProcessor type\n" \
	"\t-v\tKernel version\n\t-i\tHardware platform\n\t-o\tOS name\n"

int trap_busybox_banner(struct trap_exec *x, struct trap_sink *s)
{
	return trap_sink_printf(s, "BusyBox %s multi-call binary.\n",
				x->o.persona->busybox_version);
}

/* An applet's usage text after the banner, to standard error, status 1. */
static int usage(struct trap_exec *x, struct trap_io *io, const char *text)
{
	trap_busybox_banner(x, io->err);
	trap_sink_printf(io->err, "\n%s", text);
	return 1;
}

static int octal(int c)
{
	return c >= '0' && c <= '7';
}

int trap_escapes(const char *s, struct mm_buf *out, int printf_style)
{
	while (*s) {
		int c = (unsigned char)*s++, v, n;

		if (c != '\\' || !*s) {
			if (mm_buf_putc(out, (char)c) < 0)
				return MM_ETOOBIG;
			continue;
		}
		c = (unsigned char)*s++;
		switch (c) {
		case 'a': c = '\a'; break;
		case 'b': c = '\b'; break;
		case 'e': c = 033; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'v': c = '\v'; break;
		case '\\': c = '\\'; break;
		case 'c':
			return 1;
		case 'x':
			if (mm_hex_digit((unsigned char)*s) < 0) {
				s -= 1;
				c = '\\';
				break;
			}
			v = 0;
			for (n = 0; n < 2 && mm_hex_digit((unsigned char)*s) >= 0; n++)
				v = v * 16 + mm_hex_digit((unsigned char)*s++);
			c = v;
			break;
		default:
			if (!octal(c)) {
				/* An escape BusyBox does not know is kept as written. */
				if (mm_buf_putc(out, '\\') < 0)
					return MM_ETOOBIG;
				break;
			}
			/* echo takes \0NNN (the 0 then up to three digits) and \NNN;
			 * printf takes up to three digits, the 0 among them. */
			if (!printf_style && c == '0' && octal(*s))
				c = *s++;
			v = c - '0';
			for (n = 1; n < 3 && octal(*s); n++)
				v = v * 8 + (*s++ - '0');
			c = v & 0xff;
		}
		if (mm_buf_putc(out, (char)c) < 0)
			return MM_ETOOBIG;
	}
	return 0;
}

/* echo as ash's builtin: leading -n -e -E (combined too); anything else is
 * a word to print. */
static int ap_echo(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	int i = 1, nl = 1, esc = 0, stop = 0;
	struct mm_buf b;

	(void)x;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *p = argv[i] + 1;

		if (strspn(p, "neE") != strlen(p))
			break;
		for (; *p; p++) {
			if (*p == 'n')
				nl = 0;
			else if (*p == 'e')
				esc = 1;
			else
				esc = 0;
		}
	}
	mm_buf_init(&b, io->out->kind == TRAP_SINK_BUF ? (256u << 10) : (256u << 10));
	for (; i < argc && !stop; i++) {
		if (esc)
			stop = trap_escapes(argv[i], &b, 0) == 1;
		else
			mm_buf_puts(&b, argv[i]);
		if (i + 1 < argc && !stop)
			mm_buf_putc(&b, ' ');
	}
	if (nl && !stop)
		mm_buf_putc(&b, '\n');
	if (b.len)
		trap_sink_write(io->out, b.data, b.len);
	mm_buf_free(&b);
	return 0;
}

/* A number argument of printf or kill, as BusyBox reads it: decimal, 0x
 * hex, 0 octal, or 'c / "c for a character's value. */
static int number(const char *s, long long *v)
{
	char *end;

	if ((s[0] == '\'' || s[0] == '"') && s[1]) {
		*v = (unsigned char)s[1];
		return 0;
	}
	errno = 0;
	*v = strtoll(s, &end, 0);
	if (end == s || *end || errno)
		return -1;
	return 0;
}

/* One conversion of printf's format into b; spec holds "%...c". The format
 * handed to mm_buf_printf is built here from a spec ap_printf checked
 * (flags, width, precision and one conversion of ours), never the
 * attacker's text as it came. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int printf_one(struct trap_io *io, struct mm_buf *b, const char *spec, size_t speclen,
		      char conv, const char *arg, int *stop, int *bad)
{
	char fmt[40];
	long long v;

	if (speclen + 3 >= sizeof fmt)
		return 0;
	memcpy(fmt, spec, speclen - 1);
	fmt[speclen - 1] = '\0';
	switch (conv) {
	case 's':
		snprintf(fmt + speclen - 1, sizeof fmt - speclen + 1, "s");
		return mm_buf_printf(b, fmt, arg ? arg : "");
	case 'b': {
		struct mm_buf e;
		int rc;

		mm_buf_init(&e, b->max);
		*stop = trap_escapes(arg ? arg : "", &e, 0) == 1;
		snprintf(fmt + speclen - 1, sizeof fmt - speclen + 1, "s");
		rc = mm_buf_printf(b, fmt, e.data ? e.data : "");
		mm_buf_free(&e);
		return rc;
	}
	case 'c':
		snprintf(fmt + speclen - 1, sizeof fmt - speclen + 1, "c");
		return mm_buf_printf(b, fmt, arg ? arg[0] : '\0');
	case 'd': case 'i': case 'o': case 'u': case 'x': case 'X':
		if (number(arg ? arg : "", &v) < 0) {
			/* Errors go out after what printf made so far. */
			trap_sink_write(io->out, b->data ? b->data : "", b->len);
			mm_buf_reset(b);
			trap_sink_printf(io->err, "sh: invalid number '%s'\n", arg ? arg : "");
			*bad = 1;
			v = 0;
		}
		snprintf(fmt + speclen - 1, sizeof fmt - speclen + 1, "ll%c", conv == 'i' ? 'd' : conv);
		return mm_buf_printf(b, fmt, v);
	case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': {
		char *end;
		double d = strtod(arg ? arg : "0", &end);

		snprintf(fmt + speclen - 1, sizeof fmt - speclen + 1, "%c", conv);
		return mm_buf_printf(b, fmt, d);
	}
	}
	return 0;
}
#pragma GCC diagnostic pop

static int ap_printf(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	struct mm_buf b;
	const char *f;
	int ai = 2, stop = 0, bad = 0, used;

	(void)x;
	if (argc < 2) {
		trap_sink_puts(io->err, "sh: usage: printf FORMAT [ARGUMENT...]\n");
		return 2;
	}
	mm_buf_init(&b, 256u << 10);
	do {
		used = 0;
		for (f = argv[1]; *f && !stop;) {
			const char *start = f;

			if (*f == '\\') {
				char esc[5] = { 0 };
				size_t n = 1;

				esc[0] = *f++;
				/* One escape: the backslash and what it takes. */
				if (*f == 'x' || octal(*f)) {
					esc[n++] = *f++;
					while (n < 4 && (mm_hex_digit((unsigned char)*f) >= 0 &&
							 (esc[1] == 'x' ? 1 : octal(*f))))
						esc[n++] = *f++;
				} else if (*f) {
					esc[n++] = *f++;
				}
				if (trap_escapes(esc, &b, 1) == 1)
					stop = 1;
				continue;
			}
			if (*f != '%') {
				mm_buf_putc(&b, *f++);
				continue;
			}
			f++;
			if (*f == '%') {
				mm_buf_putc(&b, '%');
				f++;
				continue;
			}
			f += strspn(f, "-+ #0");
			f += strspn(f, "0123456789");
			if (*f == '.') {
				f++;
				f += strspn(f, "0123456789");
			}
			f += strspn(f, "hlLqjzt");
			if (!*f || !strchr("sbcdiouxXeEfFgG", *f)) {
				/* An unknown conversion: BusyBox says so and stops. */
				trap_sink_write(io->out, b.data ? b.data : "", b.len);
				mm_buf_reset(&b);
				trap_sink_printf(io->err, "printf: %%%c: invalid format\n",
						 *f ? *f : ' ');
				mm_buf_free(&b);
				return 1;
			}
			{
				/* The spec without length modifiers, for snprintf. */
				char spec[32];
				size_t sl = 0;
				const char *p;

				for (p = start; p <= f && sl + 1 < sizeof spec; p++)
					if (!strchr("hlLqjzt", *p))
						spec[sl++] = *p;
				spec[sl] = '\0';
				printf_one(io, &b, spec, sl, *f, ai < argc ? argv[ai] : NULL, &stop,
					   &bad);
			}
			if (ai < argc) {
				ai++;
				used = 1;
			}
			f++;
		}
	} while (used && ai < argc && !stop);
	if (b.len)
		trap_sink_write(io->out, b.data, b.len);
	mm_buf_free(&b);
	return bad;
}

static int ap_true(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	(void)x, (void)io, (void)argc, (void)argv;
	return 0;
}

static int ap_false(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	(void)x, (void)io, (void)argc, (void)argv;
	return 1;
}

/* sleep does not wait: the session's timeouts keep time, and a bot that
 * sleeps between two commands sends the next one anyway. */
static int ap_sleep(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return usage(x, io, USAGE_SLEEP);
	for (i = 1; i < argc; i++) {
		char *end;

		strtod(argv[i], &end);
		if (end == argv[i] || (*end && (!strchr("smhd", *end) || end[1]))) {
			trap_sink_printf(io->err, "sleep: invalid number '%s'\n", argv[i]);
			return 1;
		}
	}
	return 0;
}

/* Whether pid is one of the persona's processes or the session's own. */
static int pid_exists(struct trap_exec *x, long pid)
{
	const char *p = x->o.persona->ps;

	if (pid == (long)x->shell_pid)
		return 1;
	while (p && *p) {
		char *end;
		long v;

		while (*p == ' ')
			p++;
		v = strtol(p, &end, 10);
		if (end != p && v == pid)
			return 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

static const char *const signames[] = {
	"HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
	"USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
	"TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "POLL", "PWR", "SYS",
};

static int ap_kill(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	int i = 1, status = 0;
	size_t s;

	if (argc > 1 && strcmp(argv[1], "-l") == 0) {
		for (s = 0; s < sizeof signames / sizeof signames[0]; s++)
			trap_sink_printf(io->out, "%zu) %s\n", s + 1, signames[s]);
		return 0;
	}
	if (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "-n") == 0)
			i++;
		i++;
	}
	if (i >= argc) {
		trap_sink_puts(io->err, "sh: you need to specify whom to kill\n");
		return 1;
	}
	for (; i < argc; i++) {
		long long pid;

		if (number(argv[i], &pid) < 0 || argv[i][0] == '\'' || argv[i][0] == '"') {
			trap_sink_printf(io->err, "sh: invalid number '%s'\n", argv[i]);
			return 1;
		}
		if (!pid_exists(x, (long)pid)) {
			trap_sink_printf(io->err, "sh: can't kill pid %s: No such process\n",
					 argv[i]);
			status = 1;
		}
	}
	return status;
}

static int ap_uname(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	const struct trap_persona *p = x->o.persona;
	/* The order uname prints in: s n r v m, then o for -a. */
	const char *val[6] = { p->uname_s, p->uname_n ? p->uname_n : p->hostname, p->uname_r,
			       p->uname_v, p->uname_m, "GNU/Linux" };
	int want[6] = { 0 }, any = 0, i, first = 1;
	size_t k;

	for (i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (o[0] != '-' || !o[1]) {
			return usage(x, io, USAGE_UNAME);
		}
		for (o++; *o; o++) {
			const char *pos = strchr("snrvmo", *o);

			if (*o == 'a') {
				for (k = 0; k < 6; k++)
					want[k] = 1;
			} else if (pos) {
				want[pos - "snrvmo"] = 1;
			} else if (*o == 'p' || *o == 'i') {
				continue;
			} else {
				trap_sink_printf(io->err, "uname: invalid option -- '%c'\n", *o);
				return usage(x, io, USAGE_UNAME);
			}
			any = 1;
		}
	}
	if (!any)
		want[0] = 1;
	for (k = 0; k < 6; k++) {
		if (!want[k])
			continue;
		trap_sink_printf(io->out, "%s%s", first ? "" : " ", val[k] ? val[k] : "");
		first = 0;
	}
	trap_sink_puts(io->out, "\n");
	return 0;
}

/* The name of id in /etc/passwd (kind 'u') or /etc/group ('g'), into out. */
static void id_name(struct trap_exec *x, int kind, int id, char *out, size_t cap)
{
	struct mm_buf b;
	const char *line;

	snprintf(out, cap, "%d", id);
	mm_buf_init(&b, 64u << 10);
	if (trap_exec_slurp(x, kind == 'u' ? "/etc/passwd" : "/etc/group", &b) < 0 || !b.data)
		goto done;
	for (line = b.data; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		size_t nl = strcspn(line, ":\n");
		const char *f = line + nl;

		if (*f != ':' || !(f = strchr(f + 1, ':')))
			continue;
		if (strtol(f + 1, NULL, 10) == id && (f[1] >= '0' && f[1] <= '9')) {
			snprintf(out, cap, "%.*s", (int)nl, line);
			break;
		}
	}
done:
	mm_buf_free(&b);
}

static int ap_id(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	char un[64], gn[64];
	int u = 0, g = 0, n = 0, i;

	for (i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (o[0] != '-')
			break;
		for (o++; *o; o++) {
			if (*o == 'u')
				u = 1;
			else if (*o == 'g')
				g = 1;
			else if (*o == 'n')
				n = 1;
		}
	}
	id_name(x, 'u', x->uid, un, sizeof un);
	id_name(x, 'g', x->gid, gn, sizeof gn);
	if (u || g) {
		if (n)
			trap_sink_printf(io->out, "%s\n", u ? un : gn);
		else
			trap_sink_printf(io->out, "%d\n", u ? x->uid : x->gid);
		return 0;
	}
	trap_sink_printf(io->out, "uid=%d(%s) gid=%d(%s)\n", x->uid, un, x->gid, gn);
	return 0;
}

static int ap_whoami(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	char un[64];

	(void)argc, (void)argv;
	id_name(x, 'u', x->uid, un, sizeof un);
	trap_sink_printf(io->out, "%s\n", un);
	return 0;
}

static int ap_hostname(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	/* Setting the name is accepted and forgotten: it would change what
	 * every later session of the instance sees. */
	if (argc > 1 && argv[1][0] != '-')
		return 0;
	trap_sink_printf(io->out, "%s\n", x->o.persona->hostname);
	return 0;
}

/* ps: the persona's processes, then the session's shell and ps itself. */
static int ap_ps(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	const char *ps = x->o.persona->ps ? x->o.persona->ps : "";
	size_t len = strlen(ps);

	(void)argc, (void)argv;
	trap_sink_puts(io->out, "  PID USER       VSZ STAT COMMAND\n");
	trap_sink_write(io->out, ps, len);
	if (len && ps[len - 1] != '\n')
		trap_sink_puts(io->out, "\n");
	trap_sink_printf(io->out, "%5u %-8.8s  1540 S    -sh\n", x->shell_pid, x->o.user);
	trap_sink_printf(io->out, "%5u %-8.8s  1536 R    ps\n", trap_exec_newpid(x), x->o.user);
	return 0;
}

static int var_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct trap_var *const *)a)->name,
		      (*(const struct trap_var *const *)b)->name);
}

static int valid_name(const char *s, size_t len)
{
	size_t i;

	if (!len || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < len; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static int ap_export(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	int i, status = 0;

	if (argc < 2 || strcmp(argv[1], "-p") == 0) {
		const struct trap_var *v[TRAP_VARS_MAX];
		size_t n = 0, k;

		for (k = 0; k < x->nvar; k++)
			if (x->var[k].exported)
				v[n++] = &x->var[k];
		if (n > 1)
			qsort(v, n, sizeof v[0], var_cmp);
		for (k = 0; k < n; k++)
			trap_sink_printf(io->out, "export %s='%s'\n", v[k]->name, v[k]->value);
		return 0;
	}
	for (i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t nl = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		char name[TRAP_VAR_NAME_MAX];

		if (!valid_name(argv[i], nl) || nl >= sizeof name) {
			trap_sink_printf(io->err, "-sh: export: bad variable name\n");
			status = 1;
			continue;
		}
		memcpy(name, argv[i], nl);
		name[nl] = '\0';
		if (eq) {
			trap_exec_setvar(x, name, eq + 1, 1);
		} else {
			const char *old = trap_exec_getvar(x, name);

			if (old)
				trap_exec_setvar(x, name, old, 1);
		}
	}
	return status;
}

static int ap_unset(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	int i;

	(void)io;
	for (i = 1; i < argc; i++)
		if (argv[i][0] != '-')
			trap_exec_unsetvar(x, argv[i]);
	return 0;
}

static int ap_exit(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	long long v = x->status;

	if (argc > 1) {
		char *end;

		v = strtoll(argv[1], &end, 10);
		if (end == argv[1] || *end || v < 0) {
			trap_sink_printf(io->err, "-sh: exit: Illegal number: %s\n", argv[1]);
			return 2;
		}
	}
	x->exiting = 1;
	x->exit_status = (int)(v & 0xff);
	return x->exit_status;
}

/* sh: with no argument a nested interactive shell (exit leaves it); -c
 * STRING runs STRING; FILE runs the file as a script. */
static int ap_sh(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	struct mm_buf b;
	int i = 1, status;

	if (argc > 1 && strcmp(argv[1], "-c") == 0) {
		if (argc < 3) {
			trap_sink_puts(io->err, "sh: -c requires an argument\n");
			return 2;
		}
		return trap_exec_run_script(x, io, argv[2], strlen(argv[2]));
	}
	while (i < argc && argv[i][0] == '-' && argv[i][1])
		i++;
	if (i >= argc) {
		/* A device's terminal makes the new shell interactive: it greets. */
		if (x->shells < TRAP_DEPTH_MAX)
			x->shells++;
		trap_sink_printf(io->err, "\n\nBusyBox %s built-in shell (ash)\n"
			       "Enter 'help' for a list of built-in commands.\n\n",
			       x->o.persona->busybox_version);
		return 0;
	}
	mm_buf_init(&b, 256u << 10);
	status = trap_exec_slurp(x, argv[i], &b);
	if (status < 0 && status != -EFBIG) {
		trap_sink_printf(io->err, "sh: can't open '%s': %s\n", argv[i], trap_errstr(status));
		mm_buf_free(&b);
		return 2;
	}
	status = trap_exec_run_script(x, io, b.data ? b.data : "", b.len);
	mm_buf_free(&b);
	return status;
}

/* busybox alone: the banner, the usage and the persona's applets in
 * BusyBox's columns (wrapped before 80). */
static int busybox_help(struct trap_exec *x, struct trap_io *io)
{
	const struct trap_persona *p = x->o.persona;
	const char *a = p->applets;
	size_t i, col = 0;

	trap_busybox_banner(x, io->out);
	trap_sink_puts(io->out,
		       "BusyBox is copyrighted by many authors between 1998-2015.\n"
		       "Licensed under GPLv2. See source distribution for detailed\n"
		       "copyright notices.\n\n"
		       "Usage: busybox [function [arguments]...]\n"
		       "   or: busybox --list[-full]\n"
		       "   or: busybox --install [-s] [DIR]\n"
		       "   or: function [arguments]...\n\n"
		       "\tBusyBox is a multi-call binary that combines many common Unix\n"
		       "\tutilities into a single executable.  The shell in this build\n"
		       "\tis configured to run built-in utilities without $PATH search.\n"
		       "\tYou don't need to install a link to busybox for each utility.\n"
		       "\tTo run external program, use full path (/sbin/ip instead of ip).\n\n"
		       "Currently defined functions:\n");
	for (i = 0; a && i < p->napplets; i++) {
		size_t l2 = strlen(a) + 2;

		if (col + l2 > 80) {
			trap_sink_puts(io->out, ",\n");
			col = 0;
		}
		if (col == 0) {
			col = 8;
			trap_sink_puts(io->out, "\t");
		} else {
			trap_sink_puts(io->out, ", ");
		}
		trap_sink_puts(io->out, a);
		col += l2;
		a += l2 - 1;
	}
	trap_sink_puts(io->out, "\n");
	return 0;
}

static int ap_busybox(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	const struct trap_persona *p = x->o.persona;

	if (argc < 2 || strcmp(argv[1], "--help") == 0)
		return busybox_help(x, io);
	if (strcmp(argv[1], "--list") == 0 || strcmp(argv[1], "--list-full") == 0) {
		const char *a = p->applets;
		size_t i;

		for (i = 0; a && i < p->napplets; i++, a += strlen(a) + 1)
			trap_sink_printf(io->out, "%s\n", a);
		return 0;
	}
	return trap_exec_run_applet(x, io, argc - 1, argv + 1);
}

const struct trap_applet trap_applets_sys[] = {
	{ "echo", ap_echo, TRAP_AP_BUILTIN },
	{ "printf", ap_printf, TRAP_AP_BUILTIN },
	{ "true", ap_true, TRAP_AP_BUILTIN },
	{ ":", ap_true, TRAP_AP_BUILTIN },
	{ "false", ap_false, TRAP_AP_BUILTIN },
	{ "kill", ap_kill, TRAP_AP_BUILTIN },
	{ "export", ap_export, TRAP_AP_BUILTIN },
	{ "unset", ap_unset, TRAP_AP_BUILTIN },
	{ "exit", ap_exit, TRAP_AP_BUILTIN },
	{ "logout", ap_exit, TRAP_AP_BUILTIN },
	{ "sleep", ap_sleep, 0 },
	{ "uname", ap_uname, 0 },
	{ "id", ap_id, 0 },
	{ "whoami", ap_whoami, 0 },
	{ "hostname", ap_hostname, 0 },
	{ "ps", ap_ps, 0 },
	{ "sh", ap_sh, 0 },
	{ "ash", ap_sh, 0 },
	{ "busybox", ap_busybox, 0 },
	{ NULL, NULL, 0 },
};
