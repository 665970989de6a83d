/*
 * The BusyBox ash emulation of mamori-trap: runs parsed command lines
 * against the session's copy-on-write file system and the persona, with
 * the applets bots use. Nothing is ever executed on the host and nothing
 * is fetched: wget, tftp, curl and ftpget record their URL (through the
 * hooks) and answer as a device whose connection fails would.
 *
 * Applets: enable, system, shell, sh (the Mirai "enable/system/shell/sh"
 * sequence answers as the device does), echo (-e -n, \xHH \0NNN \n ...),
 * printf, cat, cp, mv, chmod, rm (-r -f), cd, pwd, ls (-l -a), ps, mkdir
 * (-p), kill, uname (-a -s -n -r -v -m), id, whoami, hostname, true,
 * false, exit, export, wget, tftp, curl, ftpget, busybox (alone: the
 * banner and applet list; `busybox APPLET ...` runs APPLET when the
 * persona has it and answers "APPLET: applet not found" otherwise), head,
 * tail (-n), wc, grep (fixed strings, -v -c), sleep (does not wait),
 * dd (if= of= bs= count=). An applet the persona lacks, or a
 * name the emulation does not know, answers "-sh: NAME: not found" with
 * status 127, as ash does.
 *
 * Output goes to the session's terminal as bytes (LF line ends: the telnet
 * layer makes them CR LF). Standard error and standard output are the same
 * terminal unless redirected. Pipes run each command in turn, the output of
 * one being the input of the next (bounded by max_pipe bytes).
 */
#ifndef TRAP_EXEC_H
#define TRAP_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "mamori/buf.h"

#include "fs.h"
#include "persona.h"
#include "sh.h"

/* What the shell tells its session about, as it happens. */
struct trap_exec_hooks {
	/* A command ran: argv[0..argc) after expansion (for ATT&CK tagging of
	 * the input line and counts). May be NULL. */
	void (*command)(void *arg, int argc, char **argv);
	/* A download was asked for: the applet ("wget"), the URL as given
	 * (tftp: "tftp://HOST/FILE"), and the file it would write (absolute;
	 * "" when none). */
	void (*download)(void *arg, const char *applet, const char *url, const char *outfile);
	/* A session file was run (./dvrHelper): its path, its bytes, argv. The
	 * shell answers as the device would (nothing, status 0, for an ELF of
	 * the persona's CPU; "Illegal instruction" / "not found" for others). */
	void (*run)(void *arg, const char *path, const uint8_t *data, size_t len, int argc,
		    char **argv);
	void *arg;
};

struct trap_exec_opts {
	const struct trap_persona *persona;
	struct trap_fs *fs;        /* the session's view; borrowed */
	const char *user;          /* the user logged in as ("root") */
	struct trap_exec_hooks hooks;
	size_t max_output;         /* bytes one command line may print; default 1 MiB */
	size_t max_pipe;           /* bytes held between two commands of a pipe; default 256 KiB */
	size_t max_arena;          /* bytes of one parse; default 64 KiB */
};

struct trap_exec;

int trap_exec_new(const struct trap_exec_opts *o, struct trap_exec **out);
void trap_exec_free(struct trap_exec *x);

/* The prompt to print now (the persona's shell_prompt with \u \h \w \$). */
const char *trap_exec_prompt(struct trap_exec *x);

/*
 * Runs one line the attacker typed (without its line end). What it prints
 * is appended to out. Returns:
 *   0                 the line ran (or failed as ash would; out says so)
 *   TRAP_EXEC_MORE    the line is incomplete (open quote, trailing |):
 *                     print "> " and give the next line; the shell keeps
 *                     what it has and joins them
 *   TRAP_EXEC_EXIT    `exit` (or logout): close the session after out
 * A line that would print more than max_output is cut there.
 */
#define TRAP_EXEC_MORE 1
#define TRAP_EXEC_EXIT 2
int trap_exec_line(struct trap_exec *x, const char *line, size_t len, struct mm_buf *out);

/* $? after the last line. */
int trap_exec_status(const struct trap_exec *x);
/* The current directory (absolute). */
const char *trap_exec_cwd(const struct trap_exec *x);

/*
 * `mamori-trap --shell [--persona NAME] [--personas DIR] [--seed N]
 * [--no-prompt]`: the emulation on standard input and output, for persona
 * authors and the differential test. Loads the persona, runs each line of
 * standard input with trap_exec_line and writes what it prints. Returns
 * the exit status for main() (the last command's, as a shell's).
 */
int trap_shell_main(int argc, char **argv);

#endif
