/*
 * What the ash emulation (exec.c) and its applets (applets_*.c) share; not
 * part of mamori-trap's contract (exec.h is).
 *
 * An applet gets its argv after expansion and a struct trap_io: standard
 * input as bytes read in advance (a pipe's or a file's, bounded), and two
 * sinks for standard output and standard error. A sink is the terminal (the
 * line's output), the next command of a pipe, a file of the session's file
 * system, or nothing (/dev/null); two descriptors that point at the same
 * place share one sink, so that their bytes keep their order. What does
 * not fit a sink's bound is counted and dropped.
 *
 *	static int ap_true(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
 *	{
 *		return 0;
 *	}
 *	const struct trap_applet trap_applets_sys[] = { { "true", ap_true, TRAP_AP_BUILTIN }, ...
 */
#ifndef TRAP_APPLET_H
#define TRAP_APPLET_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "mamori/buf.h"

#include "exec.h"

enum trap_sink_kind { TRAP_SINK_BUF = 1, TRAP_SINK_FILE, TRAP_SINK_NULL };

struct trap_sink {
	enum trap_sink_kind kind;
	struct mm_buf *buf;  /* BUF: the terminal or a pipe */
	size_t room;         /* BUF: bytes it may still take */
	uint64_t id;         /* FILE: trap_fs_open_write's id */
	int err;             /* FILE: the first write error (negative errno) */
	size_t dropped;      /* bytes cut at the bound */
};

struct trap_io {
	const char *in;      /* standard input, all of it; NULL: the terminal (nothing) */
	size_t inlen;
	struct trap_sink *out, *err;
};

#define TRAP_VARS_MAX 48
#define TRAP_VAR_NAME_MAX 32
#define TRAP_VAR_VALUE_MAX 512
#define TRAP_DEPTH_MAX 8     /* nested sh, scripts, $(...) */

struct trap_var {
	char name[TRAP_VAR_NAME_MAX];
	char *value;
	int exported;
};

struct trap_exec {
	struct trap_exec_opts o;
	char cwd[TRAP_FS_PATH_MAX];
	char home[TRAP_FS_PATH_MAX];
	char prompt[512];
	char status_text[12];  /* $? as text, for the expansion's var() */
	char pid_text[12];     /* $$ */
	char bang_text[12];    /* $! */
	int status;
	int uid, gid;
	int shells;            /* nested interactive sh started by `sh` */
	int depth;             /* scripts and substitutions running now */
	int exiting;           /* exit was run; exit_status is what it asked */
	int exit_status;
	unsigned shell_pid;    /* the session's own shell */
	unsigned next_pid;     /* the pid the next process gets */
	unsigned last_bg;
	size_t nvar;
	struct trap_var var[TRAP_VARS_MAX];
	size_t vars_dropped;   /* assignments refused because the table was full */
	struct mm_buf pending; /* an incomplete line, waiting for the next one */
	struct trap_sink *cur_err; /* where a $(...) being expanded prints its errors */
	size_t cut;            /* bytes dropped at a bound (output, pipes, argv) */
};

typedef int (*trap_applet_fn)(struct trap_exec *x, struct trap_io *io, int argc, char **argv);

/* An applet the emulation knows. BUILTIN: an ash builtin, found whatever
 * the file system holds (cd, echo, printf, kill, exit ...). */
#define TRAP_AP_BUILTIN 1
struct trap_applet {
	const char *name;
	trap_applet_fn fn;
	unsigned flags;
};
extern const struct trap_applet trap_applets_file[];
extern const struct trap_applet trap_applets_sys[];
extern const struct trap_applet trap_applets_net[];

/* The applet called name, or NULL. */
const struct trap_applet *trap_applet_find(const char *name);

/* Writes to a sink within its bound; 0, or MM_ETOOBIG when bytes were cut. */
int trap_sink_write(struct trap_sink *s, const void *p, size_t len);
int trap_sink_printf(struct trap_sink *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int trap_sink_puts(struct trap_sink *s, const char *str);

/* The value of a shell variable, or NULL. */
const char *trap_exec_getvar(struct trap_exec *x, const char *name);
/* Sets a variable (a copy of value, cut at TRAP_VAR_VALUE_MAX); 0 or MM_EFULL / MM_ENOMEM. */
int trap_exec_setvar(struct trap_exec *x, const char *name, const char *value, int exported);
void trap_exec_unsetvar(struct trap_exec *x, const char *name);

/* Runs text as a script of the emulation (sh -c, sh FILE, ./script) with
 * io's sinks, one level deeper; returns the exit status. exit inside ends
 * only the script. */
int trap_exec_run_script(struct trap_exec *x, struct trap_io *io, const char *text, size_t len);

/* Runs argv as a command found by name, as ash does after expansion (the
 * busybox applet uses it for `busybox APPLET`); returns the status. */
int trap_exec_run_argv(struct trap_exec *x, struct trap_io *io, int argc, char **argv);

/* Runs the persona's applet called argv[0] (no path search); answers
 * "NAME: applet not found" when the persona has no such applet. */
int trap_exec_run_applet(struct trap_exec *x, struct trap_io *io, int argc, char **argv);

/* Reads a whole regular file of the session's view into out (bounded by
 * out's max). Returns 0 or a negative errno (-EFBIG when it does not fit). */
int trap_exec_slurp(struct trap_exec *x, const char *path, struct mm_buf *out);

/* The pid the next process gets (ps, $!, background jobs). */
unsigned trap_exec_newpid(struct trap_exec *x);

/* The persona's banner line: "BusyBox v1.19.4 (...) multi-call binary.\n". */
int trap_busybox_banner(struct trap_exec *x, struct trap_sink *s);

/* Decodes echo -e / printf %b escapes of s into out; returns 1 when \c
 * asked to stop all output. printf_style: \0NNN vs \NNN. */
int trap_escapes(const char *s, struct mm_buf *out, int printf_style);

/* strerror's words for a negative errno as BusyBox prints them. */
const char *trap_errstr(int neg_errno);

#endif
