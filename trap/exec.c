/*
 * The BusyBox ash emulation: runs what trap_sh_parse made of a line, with
 * ash's order of work (expansion, redirections, then the command found as
 * a builtin or along $PATH in the session's file system), its variables
 * and its prompt. Applets live in applets_*.c; this file finds and runs
 * them, and owns everything a session's shell holds (all of it bounded).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"

#include "applet.h"
#include "exec.h"

#define FIELDS_MAX (64u << 10)  /* bytes of one command's expanded words */
#define ARGV_MAX 512            /* words of one command */
#define REDIR_MAX 10            /* file descriptors 0-9, as ash has */
#define GLOB_MAX 256            /* names one pattern may expand to */
#define SCRIPT_MAX (256u << 10) /* bytes of a script run by sh FILE or ./FILE */
#define BUSYBOX_PATH "/bin/busybox"

static int run_list(struct trap_exec *x, const struct trap_sh_list *l, struct trap_io *io);

/* ---- sinks ---- */

int trap_sink_write(struct trap_sink *s, const void *p, size_t len)
{
	size_t n = len;

	switch (s->kind) {
	case TRAP_SINK_NULL:
		return 0;
	case TRAP_SINK_FILE:
		/* File sinks are staged in a BUF while a command runs
		 * (flush_redirs); none reaches here. */
		return 0;
	case TRAP_SINK_BUF:
		break;
	}
	if (n > s->room)
		n = s->room;
	if (n > s->buf->max - s->buf->len)
		n = s->buf->max - s->buf->len;
	if (n && mm_buf_append(s->buf, p, n) < 0)
		n = 0;
	s->room -= n;
	if (n < len) {
		s->dropped += len - n;
		return MM_ETOOBIG;
	}
	return 0;
}

int trap_sink_puts(struct trap_sink *s, const char *str)
{
	return trap_sink_write(s, str, strlen(str));
}

int trap_sink_printf(struct trap_sink *s, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MM_EINVAL;
	if ((size_t)n < sizeof small)
		return trap_sink_write(s, small, (size_t)n);
	/* Long lines (an attacker's argument echoed in a message) are rare:
	 * they get one exact allocation. */
	if ((size_t)n > FIELDS_MAX * 2 || !(big = malloc((size_t)n + 1)))
		return MM_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = trap_sink_write(s, big, (size_t)n);
	free(big);
	return rc;
}

/* Writes staged bytes to the session's file system, keeping the first error. */
static int sink_file_write(struct trap_exec *x, struct trap_sink *s, const void *p, size_t len)
{
	int rc;

	if (s->err || !len)
		return 0;
	rc = trap_fs_write(x->o.fs, s->id, p, len);
	if (rc < 0)
		s->err = rc;
	return 0;
}

/* A redirection to a file: what the command writes is staged in a buffer
 * and written once the command has run (flush_redirs). */
struct staged {
	struct trap_sink sink;   /* BUF kind while the command runs */
	struct mm_buf buf;
	uint64_t id;
	int used;
};

/* ---- variables ---- */

static struct trap_var *var_find(struct trap_exec *x, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < x->nvar; i++)
		if (strlen(x->var[i].name) == len && memcmp(x->var[i].name, name, len) == 0)
			return &x->var[i];
	return NULL;
}

const char *trap_exec_getvar(struct trap_exec *x, const char *name)
{
	struct trap_var *v = var_find(x, name, strlen(name));

	return v ? v->value : NULL;
}

int trap_exec_setvar(struct trap_exec *x, const char *name, const char *value, int exported)
{
	size_t nlen = strlen(name), vlen = strlen(value);
	struct trap_var *v = var_find(x, name, nlen);
	char *copy;

	if (nlen == 0 || nlen >= TRAP_VAR_NAME_MAX)
		return MM_EINVAL;
	if (vlen > TRAP_VAR_VALUE_MAX)
		vlen = TRAP_VAR_VALUE_MAX;
	if (!v) {
		if (x->nvar == TRAP_VARS_MAX) {
			x->vars_dropped++;
			return MM_EFULL;
		}
		v = &x->var[x->nvar++];
		memcpy(v->name, name, nlen + 1);
		v->value = NULL;
		v->exported = 0;
	}
	if (!(copy = strndup(value, vlen)))
		return MM_ENOMEM;
	free(v->value);
	v->value = copy;
	v->exported |= exported;
	if (strcmp(name, "HOME") == 0)
		snprintf(x->home, sizeof x->home, "%s", copy);
	return 0;
}

void trap_exec_unsetvar(struct trap_exec *x, const char *name)
{
	struct trap_var *v = var_find(x, name, strlen(name));

	if (!v)
		return;
	free(v->value);
	*v = x->var[--x->nvar];
}

static const char *env_var(void *arg, const char *name, size_t len)
{
	struct trap_exec *x = arg;
	struct trap_var *v;

	if (len == 1) {
		switch (name[0]) {
		case '?':
			snprintf(x->status_text, sizeof x->status_text, "%d", x->status);
			return x->status_text;
		case '$':
			snprintf(x->pid_text, sizeof x->pid_text, "%u", x->shell_pid);
			return x->pid_text;
		case '!':
			if (!x->last_bg)
				return NULL;
			snprintf(x->bang_text, sizeof x->bang_text, "%u", x->last_bg);
			return x->bang_text;
		case '#':
			return "0";
		case '0':
			return "-sh";
		case '-':
			return "smi";
		}
		if (name[0] >= '1' && name[0] <= '9')
			return NULL;
	}
	v = var_find(x, name, len);
	return v ? v->value : NULL;
}

/* $(...) and `...`: the body runs one level deeper with its standard output
 * captured; its errors go where the command's own go. */
static int env_subst(void *arg, const char *text, size_t len, struct mm_buf *out)
{
	struct trap_exec *x = arg;
	struct trap_sink so = { .kind = TRAP_SINK_BUF, .buf = out };
	struct trap_sink null = { .kind = TRAP_SINK_NULL };
	struct trap_io io = { .out = &so, .err = x->cur_err ? x->cur_err : &null };

	so.room = out->max - out->len;
	trap_exec_run_script(x, &io, text, len);
	x->cut += so.dropped;
	return 0;
}

/* ---- pids ---- */

unsigned trap_exec_newpid(struct trap_exec *x)
{
	unsigned pid = x->next_pid;

	/* A busy device's pids move on between two commands of an attacker. */
	x->next_pid += 1 + (x->next_pid * 2654435761u >> 29);
	if (x->next_pid > 32000)
		x->next_pid = 300;
	return pid;
}

/* The largest pid of the persona's ps list: the session's shell comes
 * after it, as a login shell started late does. */
static unsigned ps_max_pid(const char *ps)
{
	unsigned max = 0;
	const char *p = ps;

	while (p && *p) {
		char *end;
		unsigned long v;

		while (*p == ' ' || *p == '\t')
			p++;
		v = strtoul(p, &end, 10);
		if (end != p && v > max && v < 32768)
			max = (unsigned)v;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return max;
}

/* ---- files ---- */

const char *trap_errstr(int e)
{
	switch (-e) {
	case ENOENT: return "No such file or directory";
	case ENOTDIR: return "Not a directory";
	case EISDIR: return "Is a directory";
	case EEXIST: return "File exists";
	case ENOSPC: return "No space left on device";
	case ENOTEMPTY: return "Directory not empty";
	case EACCES: return "Permission denied";
	case ELOOP: return "Symbolic link loop";
	case ENAMETOOLONG: return "File name too long";
	case EINVAL: return "Invalid argument";
	case EPERM: return "Operation not permitted";
	case EFBIG: return "File too large";
	case EROFS: return "Read-only file system";
	case EBUSY: return "Resource busy";
	case EXDEV: return "Invalid cross-device link";
	case ENOMEM: return "Out of memory";
	}
	return "I/O error";
}

int trap_exec_slurp(struct trap_exec *x, const char *path, struct mm_buf *out)
{
	char chunk[4096];
	uint64_t off = 0;
	ssize_t n;

	for (;;) {
		n = trap_fs_read(x->o.fs, x->cwd, path, off, chunk, sizeof chunk);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0;
		if (mm_buf_append(out, chunk, (size_t)n) < 0)
			return -EFBIG;
		off += (uint64_t)n;
	}
}

/* Reads /etc/passwd for the user's uid, gid and home. */
static void passwd_lookup(struct trap_exec *x, const char *user)
{
	struct mm_buf b;
	const char *line;

	x->uid = strcmp(user, "root") == 0 ? 0 : 1000;
	x->gid = x->uid;
	snprintf(x->home, sizeof x->home, "%s", x->uid == 0 ? "/root" : "/");
	mm_buf_init(&b, 64 << 10);
	if (trap_exec_slurp(x, "/etc/passwd", &b) < 0 || !b.data)
		goto done;
	for (line = b.data; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *f[7];
		size_t nf = 0, ulen = strlen(user);
		const char *p = line;

		if (strncmp(line, user, ulen) != 0 || line[ulen] != ':')
			continue;
		while (nf < 7) {
			f[nf++] = p;
			p += strcspn(p, ":\n");
			if (*p != ':')
				break;
			p++;
		}
		if (nf < 6)
			break;
		x->uid = (int)strtol(f[2], NULL, 10);
		x->gid = (int)strtol(f[3], NULL, 10);
		snprintf(x->home, sizeof x->home, "%.*s", (int)strcspn(f[5], ":\n"), f[5]);
		if (!x->home[0])
			snprintf(x->home, sizeof x->home, "/");
		break;
	}
done:
	mm_buf_free(&b);
}

/* ---- the shell's life ---- */

int trap_exec_new(const struct trap_exec_opts *o, struct trap_exec **out)
{
	struct trap_exec *x;
	struct trap_fs_stat st;
	unsigned base;

	*out = NULL;
	if (!o || !o->persona || !o->fs)
		return MM_EINVAL;
	if (!(x = calloc(1, sizeof *x)))
		return MM_ENOMEM;
	x->o = *o;
	if (!x->o.user)
		x->o.user = "root";
	if (!x->o.max_output)
		x->o.max_output = 1u << 20;
	if (!x->o.max_pipe)
		x->o.max_pipe = 256u << 10;
	if (!x->o.max_arena)
		x->o.max_arena = 64u << 10;
	mm_buf_init(&x->pending, x->o.max_arena);
	snprintf(x->cwd, sizeof x->cwd, "/");
	passwd_lookup(x, x->o.user);
	if (trap_fs_stat(x->o.fs, "/", x->home, &st) == 0 && st.type == TRAP_FS_DIR)
		snprintf(x->cwd, sizeof x->cwd, "%s", x->home);
	/* What BusyBox's login leaves in a root shell's environment. */
	if (trap_exec_setvar(x, "HOME", x->home, 1) < 0 ||
	    trap_exec_setvar(x, "PATH", "/sbin:/usr/sbin:/bin:/usr/bin", 1) < 0 ||
	    trap_exec_setvar(x, "SHELL", "/bin/sh", 1) < 0 ||
	    trap_exec_setvar(x, "USER", x->o.user, 1) < 0 ||
	    trap_exec_setvar(x, "LOGNAME", x->o.user, 1) < 0 ||
	    trap_exec_setvar(x, "PWD", x->cwd, 1) < 0 ||
	    trap_exec_setvar(x, "IFS", " \t\n", 0) < 0 ||
	    trap_exec_setvar(x, "PS1", "\\w \\$ ", 0) < 0) {
		trap_exec_free(x);
		return MM_ENOMEM;
	}
	base = ps_max_pid(o->persona->ps);
	x->next_pid = (base ? base : 100) + 1 + (unsigned)(o->persona->boot_time % 7);
	x->shell_pid = trap_exec_newpid(x);
	*out = x;
	return 0;
}

void trap_exec_free(struct trap_exec *x)
{
	size_t i;

	if (!x)
		return;
	for (i = 0; i < x->nvar; i++)
		free(x->var[i].value);
	mm_buf_free(&x->pending);
	free(x);
}

int trap_exec_status(const struct trap_exec *x)
{
	return x->status;
}

const char *trap_exec_cwd(const struct trap_exec *x)
{
	return x->cwd;
}

const char *trap_exec_prompt(struct trap_exec *x)
{
	const char *p = x->o.persona->shell_prompt ? x->o.persona->shell_prompt : "\\w \\$ ";
	size_t n = 0, cap = sizeof x->prompt, hl = strlen(x->home);
	char c;

	/* \w shows the home directory as ~, as ash's prompt does. */
	while ((c = *p++) && n + 1 < cap) {
		const char *s = NULL;
		char tmp[TRAP_FS_PATH_MAX + 2];

		if (c != '\\' || !*p) {
			x->prompt[n++] = c;
			continue;
		}
		switch ((c = *p++)) {
		case 'u': s = x->o.user; break;
		case 'h': s = x->o.persona->hostname; break;
		case 'w':
			if (hl > 1 && strncmp(x->cwd, x->home, hl) == 0 &&
			    (x->cwd[hl] == '/' || !x->cwd[hl])) {
				snprintf(tmp, sizeof tmp, "~%s", x->cwd + hl);
				s = tmp;
			} else {
				s = x->cwd;
			}
			break;
		case 'W': s = strrchr(x->cwd, '/'); s = (s && s[1]) ? s + 1 : x->cwd; break;
		case '$': s = x->uid == 0 ? "#" : "$"; break;
		case '\\': s = "\\"; break;
		default:
			tmp[0] = '\\';
			tmp[1] = c;
			tmp[2] = '\0';
			s = tmp;
		}
		n += (size_t)snprintf(x->prompt + n, cap - n, "%s", s ? s : "");
		if (n >= cap)
			n = cap - 1;
	}
	x->prompt[n] = '\0';
	return x->prompt;
}

/* ---- expansion of a command's words ---- */

struct globctx {
	struct trap_exec *x;
	const char *rest;      /* the pattern's components after this one */
	char dir[TRAP_FS_PATH_MAX];
	const char *pat;       /* this component */
	size_t patlen;
	struct mm_buf *names;  /* matches, NUL-separated */
	size_t n;
};

static int glob_walk(struct trap_exec *x, const char *dir, const char *pattern,
		     struct mm_buf *names, size_t *n, int depth);

static int glob_entry(void *arg, const char *name, const struct trap_fs_stat *st)
{
	struct globctx *g = arg;
	char pat[256], path[TRAP_FS_PATH_MAX];
	int len;

	(void)st;
	if (g->patlen >= sizeof pat)
		return 0;
	memcpy(pat, g->pat, g->patlen);
	pat[g->patlen] = '\0';
	if (!trap_sh_glob_match(pat, name))
		return 0;
	len = snprintf(path, sizeof path, "%s%s%s", g->dir,
		       (g->dir[0] && g->dir[strlen(g->dir) - 1] != '/') ? "/" : "", name);
	if (len < 0 || (size_t)len >= sizeof path)
		return 0;
	if (*g->rest)
		return glob_walk(g->x, path, g->rest, g->names, &g->n, 1);
	if (g->n >= GLOB_MAX)
		return 1;
	if (mm_buf_append(g->names, path, (size_t)len + 1) < 0)
		return 1;
	g->n++;
	return 0;
}

/* Matches pattern's components one directory at a time; dir "" is the cwd. */
static int glob_walk(struct trap_exec *x, const char *dir, const char *pattern,
		     struct mm_buf *names, size_t *n, int depth)
{
	struct globctx g = { .x = x, .names = names, .n = *n };
	const char *slash;
	int rc;

	if (depth > 16)
		return 0;
	while (*pattern == '/')
		pattern++;
	slash = strchr(pattern, '/');
	g.pat = pattern;
	g.patlen = slash ? (size_t)(slash - pattern) : strlen(pattern);
	g.rest = slash ? slash : "";
	snprintf(g.dir, sizeof g.dir, "%s", dir);
	if (!strpbrk(pattern, "*?[") || (slash && !memchr(pattern, '*', g.patlen) &&
					  !memchr(pattern, '?', g.patlen) &&
					  !memchr(pattern, '[', g.patlen))) {
		/* A literal component: only the ones after it may match. */
		char path[TRAP_FS_PATH_MAX];
		struct trap_fs_stat st;
		int len = snprintf(path, sizeof path, "%s%s%.*s", dir,
				   (dir[0] && dir[strlen(dir) - 1] != '/') ? "/" : "",
				   (int)g.patlen, pattern);

		if (len < 0 || (size_t)len >= sizeof path ||
		    trap_fs_lstat(x->o.fs, x->cwd, path[0] ? path : ".", &st) < 0)
			return 0;
		if (*g.rest)
			return glob_walk(x, path, g.rest, names, n, depth + 1);
		return 0;
	}
	rc = trap_fs_list(x->o.fs, x->cwd, dir[0] ? dir : ".", glob_entry, &g);
	*n = g.n;
	return rc > 0 ? 0 : 0;
}

struct argv_set {
	struct mm_buf fields;
	size_t n;
	char *v[ARGV_MAX + 1];
};

/* Expands the words into argv, globs matched against the session's files
 * (a pattern that matches nothing stays as written, as in ash). */
static int expand_words(struct trap_exec *x, const struct trap_sh_cmd *c, struct argv_set *a)
{
	struct trap_sh_env env = { env_var, env_subst, x };
	size_t i, off, nf;
	int glob, rc;
	struct mm_buf globbed;

	mm_buf_init(&a->fields, FIELDS_MAX);
	mm_buf_init(&globbed, FIELDS_MAX);
	a->n = 0;
	for (i = 0; i < c->nword; i++) {
		size_t before = a->fields.len;

		glob = 0;
		rc = trap_sh_expand(&c->word[i], &env, &a->fields, &nf, &glob);
		if (rc < 0)
			goto fail;
		if (!glob)
			continue;
		/* Replace the word's fields by their matches, in place. */
		{
			char *copy = NULL;
			size_t clen = a->fields.len - before, p;

			if (clen && !(copy = malloc(clen)))
				goto nomem;
			if (copy)
				memcpy(copy, a->fields.data + before, clen);
			a->fields.len = before;
			a->fields.data[before] = '\0';
			for (p = 0; p < clen; p += strlen(copy + p) + 1) {
				size_t n = 0;
				const char *f = copy + p;

				mm_buf_reset(&globbed);
				if (strpbrk(f, "*?["))
					glob_walk(x, f[0] == '/' ? "/" : "", f, &globbed, &n, 0);
				if (n == 0) {
					rc = mm_buf_append(&a->fields, f, strlen(f) + 1);
				} else {
					rc = mm_buf_append(&a->fields, globbed.data, globbed.len);
				}
				if (rc < 0) {
					free(copy);
					goto fail;
				}
			}
			free(copy);
		}
	}
	for (off = 0; off < a->fields.len; off += strlen(a->fields.data + off) + 1) {
		if (a->n == ARGV_MAX) {
			x->cut++;
			break;
		}
		a->v[a->n++] = a->fields.data + off;
	}
	a->v[a->n] = NULL;
	mm_buf_free(&globbed);
	return 0;
nomem:
	rc = MM_ENOMEM;
fail:
	mm_buf_free(&globbed);
	mm_buf_free(&a->fields);
	a->n = 0;
	a->v[0] = NULL;
	return rc;
}

/* ---- redirections ---- */

struct redirs {
	struct trap_sink *fd[REDIR_MAX];
	struct staged st[REDIR_MAX];
	size_t nst;
	struct mm_buf in;      /* a file given by < */
	struct trap_sink null;
	int in_set;
};

/* ash's words for a redirection that fails: "no such file" when opening,
 * "nonexistent directory" when creating, strerror's otherwise. */
static const char *redir_errstr(int e, int creating)
{
	if (e == -ENOENT || e == -ENOTDIR)
		return creating ? "nonexistent directory" : "no such file";
	return trap_errstr(e);
}

static int apply_redirs(struct trap_exec *x, const struct trap_sh_cmd *c, struct redirs *r,
			struct trap_io *io)
{
	struct trap_sh_env env = { env_var, env_subst, x };
	struct mm_buf t;
	size_t i;
	int rc = 0;

	r->null.kind = TRAP_SINK_NULL;
	mm_buf_init(&t, TRAP_FS_PATH_MAX);
	mm_buf_init(&r->in, x->o.max_pipe);
	for (i = 0; i < c->nredir; i++) {
		const struct trap_sh_redir *d = &c->redir[i];
		char abs[TRAP_FS_PATH_MAX];
		int fd = d->fd;

		mm_buf_reset(&t);
		if (trap_sh_expand_one(&d->target, &env, &t) < 0 || !t.data) {
			trap_sink_puts(io->err, "-sh: ambiguous redirect\n");
			rc = 1;
			goto done;
		}
		if (fd < 0 || fd >= REDIR_MAX)
			continue;
		if (d->op == TRAP_SH_DUP) {
			char *end;
			long m;

			if (strcmp(t.data, "-") == 0) {
				r->fd[fd] = &r->null;
				continue;
			}
			m = strtol(t.data, &end, 10);
			if (end == t.data || *end || m < 0 || m >= REDIR_MAX || !r->fd[m]) {
				trap_sink_printf(io->err, "-sh: %s: bad file descriptor\n", t.data);
				rc = 1;
				goto done;
			}
			r->fd[fd] = r->fd[m];
			continue;
		}
		if (trap_fs_abspath(x->cwd, t.data, abs) < 0)
			snprintf(abs, sizeof abs, "%s", t.data);
		if (d->op == TRAP_SH_IN) {
			int e;

			mm_buf_reset(&r->in);
			if (strcmp(abs, "/dev/null") == 0) {
				r->in_set = 1;
				continue;
			}
			e = trap_exec_slurp(x, t.data, &r->in);
			if (e < 0 && e != -EFBIG) {
				trap_sink_printf(io->err, "-sh: can't open %s: %s\n", t.data,
						 redir_errstr(e, 0));
				rc = 1;
				goto done;
			}
			if (e == -EFBIG)
				x->cut++;
			r->in_set = 1;
			continue;
		}
		if (strcmp(abs, "/dev/null") == 0) {
			r->fd[fd] = &r->null;
			continue;
		} else {
			struct staged *s = &r->st[r->nst];
			uint64_t id;
			int e = trap_fs_open_write(x->o.fs, x->cwd, t.data,
						   d->op == TRAP_SH_APPEND, 0666, &id);

			if (e < 0) {
				trap_sink_printf(io->err, "-sh: can't create %s: %s\n", t.data,
						 redir_errstr(e, 1));
				rc = 1;
				goto done;
			}
			if (r->nst == REDIR_MAX)
				continue;
			r->nst++;
			s->used = 1;
			s->id = id;
			mm_buf_init(&s->buf, x->o.max_pipe);
			s->sink.kind = TRAP_SINK_BUF;
			s->sink.buf = &s->buf;
			s->sink.room = x->o.max_pipe;
			r->fd[fd] = &s->sink;
		}
	}
done:
	mm_buf_free(&t);
	return rc;
}

/* Writes what the command sent to files, in one go per file. */
static void flush_redirs(struct trap_exec *x, struct redirs *r, struct trap_sink *err)
{
	size_t i;

	for (i = 0; i < r->nst; i++) {
		struct staged *s = &r->st[i];
		struct trap_sink fs = { .kind = TRAP_SINK_FILE, .id = s->id };

		if (s->buf.len)
			sink_file_write(x, &fs, s->buf.data, s->buf.len);
		if (fs.err == -ENOSPC)
			trap_sink_puts(err, "-sh: write error: No space left on device\n");
		x->cut += s->sink.dropped;
		mm_buf_free(&s->buf);
	}
	r->nst = 0;
	mm_buf_free(&r->in);
}

/* ---- finding and running commands ---- */

const struct trap_applet *trap_applet_find(const char *name)
{
	const struct trap_applet *tabs[] = { trap_applets_sys, trap_applets_file,
					     trap_applets_net };
	size_t t;
	const struct trap_applet *a;

	for (t = 0; t < sizeof tabs / sizeof tabs[0]; t++)
		for (a = tabs[t]; a->name; a++)
			if (strcmp(a->name, name) == 0)
				return a;
	return NULL;
}

int trap_exec_run_applet(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	const struct trap_applet *a;
	const char *name = argv[0];

	if (!trap_persona_has_applet(x->o.persona, name, strlen(name))) {
		trap_sink_printf(io->err, "%s: applet not found\n", name);
		return 127;
	}
	a = trap_applet_find(name);
	/* An applet the persona has and the emulation does not know runs and
	 * says nothing, as most do when they succeed. */
	return a ? a->fn(x, io, argc, argv) : 0;
}

static int is_elf(const uint8_t *d, size_t len)
{
	return len >= 20 && d[0] == 0x7f && d[1] == 'E' && d[2] == 'L' && d[3] == 'F';
}

/* Whether an ELF header is one the persona's CPU runs. */
static int elf_runs_here(const struct trap_exec *x, const uint8_t *d, size_t len)
{
	const struct trap_fs_elf *e = &x->o.persona->elf;
	uint16_t m;

	if (!is_elf(d, len) || d[4] != e->cls || d[5] != e->data)
		return 0;
	m = d[5] == 2 ? (uint16_t)(d[18] << 8 | d[19]) : (uint16_t)(d[19] << 8 | d[18]);
	return m == e->machine;
}

/* A text file run by its path: with "#!" it is a script of the emulation
 * (whatever the interpreter named: the device has only sh). Without, the
 * kernel says ENOEXEC and BusyBox 1.35's ash answers "not found", as it
 * does for another CPU's binary (both checked against busybox-static). */
static int run_text_file(struct trap_exec *x, struct trap_io *io, const char *name,
			 const char *text, size_t len)
{
	if (len < 2 || text[0] != '#' || text[1] != '!') {
		trap_sink_printf(io->err, "-sh: %s: not found\n", name);
		return 127;
	}
	return trap_exec_run_script(x, io, text, len);
}

/* Runs a file named by path (argv[0] as typed). */
static int run_path(struct trap_exec *x, struct trap_io *io, const char *path, int argc,
		    char **argv)
{
	struct trap_fs_stat st;
	char real[TRAP_FS_PATH_MAX];
	const uint8_t *own;
	size_t len;
	int rc;

	if (trap_fs_stat(x->o.fs, x->cwd, path, &st) < 0) {
		trap_sink_printf(io->err, "-sh: %s: not found\n", argv[0]);
		return 127;
	}
	if (st.type == TRAP_FS_DIR || !(st.mode & 0111)) {
		trap_sink_printf(io->err, "-sh: %s: Permission denied\n", argv[0]);
		return 126;
	}
	if (trap_fs_realpath(x->o.fs, x->cwd, path, real) == 0 && strcmp(real, BUSYBOX_PATH) == 0) {
		/* A link to busybox: the applet is the name it was called by. */
		const char *base = strrchr(argv[0], '/');
		char *saved = argv[0];

		base = base ? base + 1 : argv[0];
		if (strcmp(base, "busybox") == 0) {
			const struct trap_applet *a = trap_applet_find("busybox");

			return a ? a->fn(x, io, argc, argv) : 0;
		}
		argv[0] = (char *)base;
		rc = trap_exec_run_applet(x, io, argc, argv);
		argv[0] = saved;
		return rc;
	}
	own = trap_fs_own(x->o.fs, x->cwd, path, &len);
	if (own) {
		if (x->o.hooks.run)
			x->o.hooks.run(x->o.hooks.arg, real, own, len, argc, argv);
		if (is_elf(own, len)) {
			/* A binary for the persona's CPU runs (in the background, as
			 * bots' do, printing nothing). Another CPU's: execve says
			 * ENOEXEC and BusyBox 1.35's ash answers "not found" (checked
			 * against busybox-static with a foreign e_machine). */
			if (elf_runs_here(x, own, len)) {
				trap_exec_newpid(x);
				return 0;
			}
			trap_sink_printf(io->err, "-sh: %s: not found\n", argv[0]);
			return 127;
		}
		return run_text_file(x, io, argv[0], (const char *)own, len);
	} else {
		struct mm_buf b;
		int status = 0;

		mm_buf_init(&b, SCRIPT_MAX);
		rc = trap_exec_slurp(x, path, &b);
		if (rc == 0 && b.data && !is_elf((const uint8_t *)b.data, b.len))
			status = run_text_file(x, io, argv[0], b.data, b.len);
		mm_buf_free(&b);
		return status;
	}
}

int trap_exec_run_argv(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	const struct trap_applet *a;
	const char *path;
	char full[TRAP_FS_PATH_MAX];

	if (argc < 1)
		return 0;
	if (strchr(argv[0], '/'))
		return run_path(x, io, argv[0], argc, argv);
	a = trap_applet_find(argv[0]);
	if (a && (a->flags & TRAP_AP_BUILTIN))
		return a->fn(x, io, argc, argv);
	path = trap_exec_getvar(x, "PATH");
	while (path && *path) {
		size_t dl = strcspn(path, ":");
		struct trap_fs_stat st;
		int n = snprintf(full, sizeof full, "%.*s/%s", (int)dl, path, argv[0]);

		if (n > 0 && (size_t)n < sizeof full && trap_fs_stat(x->o.fs, "/", full, &st) == 0 &&
		    st.type != TRAP_FS_DIR)
			return run_path(x, io, full, argc, argv);
		path += dl;
		if (*path == ':')
			path++;
	}
	trap_sink_printf(io->err, "-sh: %s: not found\n", argv[0]);
	return 127;
}

/* NAME=value before a command (or alone). */
static int assign(struct trap_exec *x, const struct trap_sh_word *w)
{
	struct trap_sh_env env = { env_var, env_subst, x };
	const char *eq = memchr(w->text, '=', w->len);
	struct trap_sh_word val;
	struct mm_buf b;
	char name[TRAP_VAR_NAME_MAX];
	int rc;

	if (!eq || (size_t)(eq - w->text) >= sizeof name)
		return 0;
	memcpy(name, w->text, (size_t)(eq - w->text));
	name[eq - w->text] = '\0';
	val.text = eq + 1;
	val.len = w->len - (size_t)(eq + 1 - w->text);
	mm_buf_init(&b, TRAP_VAR_VALUE_MAX + 1);
	rc = trap_sh_expand_one(&val, &env, &b);
	if (rc == 0 || rc == MM_ETOOBIG)
		rc = trap_exec_setvar(x, name, b.data ? b.data : "", 0);
	mm_buf_free(&b);
	return rc;
}

static int run_cmd(struct trap_exec *x, const struct trap_sh_cmd *c, const char *in, size_t inlen,
		   struct trap_sink *out, struct trap_sink *err)
{
	struct argv_set *a;
	struct redirs *r;
	struct trap_io io = { .in = in, .inlen = inlen, .out = out, .err = err };
	struct trap_sink *saved_err = x->cur_err;
	size_t i;
	int status, rc;

	if (!(a = calloc(1, sizeof *a)) || !(r = calloc(1, sizeof *r))) {
		free(a);
		return 1;
	}
	x->cur_err = err;
	rc = expand_words(x, c, a);
	if (rc < 0) {
		trap_sink_puts(err, "-sh: out of memory\n");
		status = 1;
		goto done;
	}
	r->fd[0] = NULL;
	r->fd[1] = out;
	r->fd[2] = err;
	if (apply_redirs(x, c, r, &io) != 0) {
		flush_redirs(x, r, err);
		mm_buf_free(&a->fields);
		status = 1;
		goto done;
	}
	io.out = r->fd[1] ? r->fd[1] : &r->null;
	io.err = r->fd[2] ? r->fd[2] : &r->null;
	if (r->in_set) {
		io.in = r->in.data ? r->in.data : "";
		io.inlen = r->in.len;
	}
	if (a->n == 0) {
		for (i = 0; i < c->nassign; i++)
			assign(x, &c->assign[i]);
		status = 0;
	} else {
		/* Assignments before a command are the command's environment; the
		 * emulation keeps them in the shell, which no applet here tells
		 * apart. */
		for (i = 0; i < c->nassign; i++)
			assign(x, &c->assign[i]);
		if (x->o.hooks.command)
			x->o.hooks.command(x->o.hooks.arg, (int)a->n, a->v);
		x->cur_err = io.err;
		status = trap_exec_run_argv(x, &io, (int)a->n, a->v);
	}
	flush_redirs(x, r, err);
	mm_buf_free(&a->fields);
done:
	x->cur_err = saved_err;
	free(a);
	free(r);
	return status;
}

static int run_pipeline(struct trap_exec *x, const struct trap_sh_pipeline *p, struct trap_io *io)
{
	struct mm_buf pipes[2];
	size_t i;
	int status = 0, cur = 0;
	const char *in = io->in;
	size_t inlen = io->inlen;

	mm_buf_init(&pipes[0], x->o.max_pipe);
	mm_buf_init(&pipes[1], x->o.max_pipe);
	for (i = 0; i < p->ncmd && !x->exiting; i++) {
		struct trap_sink ps = { .kind = TRAP_SINK_BUF, .buf = &pipes[cur],
					.room = x->o.max_pipe };
		int last = i + 1 == p->ncmd;

		mm_buf_reset(&pipes[cur]);
		/* Each command of a pipe is a process of its own, with a pid. */
		if (p->ncmd > 1)
			trap_exec_newpid(x);
		status = run_cmd(x, &p->cmd[i], in, inlen, last ? io->out : &ps, io->err);
		x->cut += ps.dropped;
		in = pipes[cur].data ? pipes[cur].data : "";
		inlen = pipes[cur].len;
		cur ^= 1;
	}
	mm_buf_free(&pipes[0]);
	mm_buf_free(&pipes[1]);
	if (p->negate)
		status = !status;
	return status;
}

static int run_list(struct trap_exec *x, const struct trap_sh_list *l, struct trap_io *io)
{
	size_t i;
	enum trap_sh_conn prev = TRAP_SH_SEQ;

	for (i = 0; i < l->n && !x->exiting; i++) {
		int run = prev == TRAP_SH_SEQ || prev == TRAP_SH_BG ||
			  (prev == TRAP_SH_AND && x->status == 0) ||
			  (prev == TRAP_SH_OR && x->status != 0);

		if (run) {
			x->status = run_pipeline(x, &l->item[i].pipe, io);
			if (l->item[i].next == TRAP_SH_BG) {
				x->last_bg = trap_exec_newpid(x);
				x->status = 0;
			}
		}
		prev = l->item[i].next;
	}
	return x->status;
}

/* Parses and runs text at the current depth; prints a syntax error as
 * ash does. Returns 0 or TRAP_SH_EINCOMPLETE (nothing ran). */
static int parse_run(struct trap_exec *x, const char *text, size_t len, struct trap_io *io,
		     int interactive)
{
	struct trap_sh_arena ar;
	struct trap_sh_list *l;
	char err[128];
	int rc;

	trap_sh_arena_init(&ar, x->o.max_arena);
	rc = trap_sh_parse(&ar, text, len, &l, err, sizeof err);
	if (rc == TRAP_SH_EINCOMPLETE && interactive) {
		trap_sh_arena_free(&ar);
		return TRAP_SH_EINCOMPLETE;
	}
	if (rc == TRAP_SH_EINCOMPLETE) {
		trap_sink_puts(io->err, "-sh: syntax error: unexpected end of file\n");
		x->status = 2;
	} else if (rc == TRAP_SH_ESYNTAX) {
		trap_sink_printf(io->err, "-sh: %s\n", err);
		x->status = 2;
	} else if (rc == TRAP_SH_ETOOBIG) {
		/* ash would run it; the emulation's bound refuses it as a shell
		 * out of memory does. */
		trap_sink_puts(io->err, "-sh: out of memory\n");
		x->status = 2;
	} else if (rc == 0) {
		run_list(x, l, io);
	}
	trap_sh_arena_free(&ar);
	return 0;
}

int trap_exec_run_script(struct trap_exec *x, struct trap_io *io, const char *text, size_t len)
{
	int status;

	if (x->depth >= TRAP_DEPTH_MAX) {
		trap_sink_puts(io->err, "-sh: out of memory\n");
		return 2;
	}
	x->depth++;
	parse_run(x, text, len, io, 0);
	status = x->status;
	if (x->exiting) {
		status = x->exit_status;
		x->exiting = 0;
	}
	x->depth--;
	x->status = status;
	return status;
}

int trap_exec_line(struct trap_exec *x, const char *line, size_t len, struct mm_buf *out)
{
	struct trap_sink term = { .kind = TRAP_SINK_BUF, .buf = out, .room = x->o.max_output };
	struct trap_io io = { .in = NULL, .out = &term, .err = &term };
	const char *text = line;
	size_t tlen = len;
	int rc;

	if (x->pending.len) {
		if (mm_buf_append(&x->pending, line, len) < 0) {
			/* A continued line past the parse's bound is dropped whole. */
			mm_buf_reset(&x->pending);
			trap_sink_puts(&term, "-sh: out of memory\n");
			x->status = 2;
			return 0;
		}
		text = x->pending.data;
		tlen = x->pending.len;
	}
	rc = parse_run(x, text, tlen, &io, 1);
	if (rc == TRAP_SH_EINCOMPLETE) {
		if (!x->pending.len && mm_buf_append(&x->pending, line, len) < 0)
			goto toobig;
		if (mm_buf_putc(&x->pending, '\n') < 0)
			goto toobig;
		return TRAP_EXEC_MORE;
	}
	mm_buf_reset(&x->pending);
	x->cut += term.dropped;
	if (x->exiting) {
		x->exiting = 0;
		x->status = x->exit_status;
		if (x->shells > 0) {
			/* exit leaves the sh started by `sh`, not the session. */
			x->shells--;
			return 0;
		}
		return TRAP_EXEC_EXIT;
	}
	return 0;
toobig:
	mm_buf_reset(&x->pending);
	trap_sink_puts(&term, "-sh: out of memory\n");
	x->status = 2;
	return 0;
}
