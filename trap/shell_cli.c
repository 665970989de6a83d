/*
 * `mamori-trap --shell`: the ash emulation on standard input and output,
 * with no network and no session around it. Persona authors try what an
 * attacker would see; the differential test (tests/integration/
 * trap_diff.sh) feeds the same lines to it and to a real BusyBox.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mamori/buf.h"
#include "mamori/error.h"

#include "exec.h"

#define LINE_MAX_BYTES (64u << 10)   /* a longer input line is cut here */
#define SESSION_FS_MAX (8u << 20)    /* the session's own files */

static void cli_usage(FILE *f)
{
	fprintf(f,
		"usage: mamori-trap --shell [--persona NAME] [--personas DIR] [--seed N]\n"
		"                   [--no-prompt] [--trace]\n"
		"Runs the BusyBox ash emulation of a persona on standard input, one command\n"
		"line a line, and writes what it prints to standard output. Nothing is\n"
		"executed on this host and nothing is fetched.\n"
		"  --persona NAME  the persona (default: the first under DIR)\n"
		"  --personas DIR  where personas are (default: " MAMORI_DATADIR
		"/trap/personas,\n"
		"                  else the source tree's data/trap/personas)\n"
		"  --seed N        the instance's seed (host name suffix, MAC, serial);\n"
		"                  default: random\n"
		"  --no-prompt     print no prompt (for comparing outputs)\n"
		"  --trace         print each command, download and run to standard error\n");
}

static void trace_command(void *arg, int argc, char **argv)
{
	int i;

	(void)arg;
	fprintf(stderr, "command:");
	for (i = 0; i < argc; i++)
		fprintf(stderr, " [%s]", argv[i]);
	fprintf(stderr, "\n");
}

static void trace_download(void *arg, const char *applet, const char *url, const char *outfile)
{
	(void)arg;
	fprintf(stderr, "download: %s %s -> %s\n", applet, url, outfile);
}

static void trace_run(void *arg, const char *path, const uint8_t *data, size_t len, int argc,
		      char **argv)
{
	(void)arg, (void)data, (void)argc, (void)argv;
	fprintf(stderr, "run: %s (%zu bytes)\n", path, len);
}

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int write_all(const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(1, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int trap_shell_main(int argc, char **argv)
{
	const char *pname = NULL, *pdir = NULL;
	char err[256], names[4096], *line = NULL;
	uint64_t seed = 0;
	int i, prompt = 1, trace = 0, seeded = 0, status = 0, rc;
	struct trap_persona *p = NULL;
	struct trap_fs *fs = NULL;
	struct trap_exec *x = NULL;
	struct trap_exec_opts o;
	struct mm_buf out;
	size_t cap = 0;
	ssize_t got;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--shell") == 0) {
			continue;
		} else if (strcmp(a, "--persona") == 0 && i + 1 < argc) {
			pname = argv[++i];
		} else if (strcmp(a, "--personas") == 0 && i + 1 < argc) {
			pdir = argv[++i];
		} else if (strcmp(a, "--seed") == 0 && i + 1 < argc) {
			char *end;

			errno = 0;
			seed = strtoull(argv[++i], &end, 0);
			if (errno || end == argv[i] || *end) {
				fprintf(stderr, "mamori-trap: bad seed '%s'\n", argv[i]);
				return 2;
			}
			seeded = 1;
		} else if (strcmp(a, "--no-prompt") == 0) {
			prompt = 0;
		} else if (strcmp(a, "--trace") == 0) {
			trace = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cli_usage(stdout);
			return 0;
		} else {
			cli_usage(stderr);
			return 2;
		}
	}
	if (!pdir)
		pdir = is_dir(MAMORI_DATADIR "/trap/personas") ? MAMORI_DATADIR "/trap/personas" :
								  MAMORI_SRC_DATADIR "/trap/personas";
	if (!seeded && getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
		seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL;
	if (!pname) {
		rc = trap_persona_list(pdir, names, sizeof names);
		if (rc <= 0) {
			fprintf(stderr, "mamori-trap: no persona in %s\n", pdir);
			return 1;
		}
		pname = names;
	}
	rc = trap_persona_load(pdir, pname, seed, &p, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "mamori-trap: persona %s: %s\n", pname, err);
		return 1;
	}
	if (trap_fs_new(p->base, SESSION_FS_MAX, &fs) < 0)
		goto nomem;
	memset(&o, 0, sizeof o);
	o.persona = p;
	o.fs = fs;
	o.user = "root";
	if (trace) {
		o.hooks.command = trace_command;
		o.hooks.download = trace_download;
		o.hooks.run = trace_run;
	}
	if (trap_exec_new(&o, &x) < 0)
		goto nomem;
	mm_buf_init(&out, (1u << 20) + 4096);
	if (prompt)
		write_all(trap_exec_prompt(x), strlen(trap_exec_prompt(x)));
	while ((got = getline(&line, &cap, stdin)) >= 0) {
		size_t len = (size_t)got;

		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len > LINE_MAX_BYTES)
			len = LINE_MAX_BYTES;
		mm_buf_reset(&out);
		rc = trap_exec_line(x, line, len, &out);
		if (out.len)
			write_all(out.data, out.len);
		if (rc == TRAP_EXEC_EXIT)
			break;
		if (prompt) {
			const char *pr = rc == TRAP_EXEC_MORE ? "> " : trap_exec_prompt(x);

			write_all(pr, strlen(pr));
		}
	}
	status = trap_exec_status(x);
	mm_buf_free(&out);
	free(line);
	trap_exec_free(x);
	trap_fs_free(fs);
	trap_persona_free(p);
	return status;
nomem:
	fprintf(stderr, "mamori-trap: %s\n", mm_strerror(MM_ENOMEM));
	trap_fs_free(fs);
	trap_persona_free(p);
	return 1;
}
