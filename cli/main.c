/*
 * mamori: one command line for the whole suite. Each noun lives in its own
 * cmd_*.c file; this file dispatches and holds the small shared helpers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mamori/error.h"
#include "mamori/log.h"

static const struct {
	const char *noun;
	int (*fn)(int, char **);
	const char *what;
} nouns[] = {
	{"x1367", cmd_x1367, "the standard IoT error log: codes, validate, map, build"},
	{"syslog", cmd_syslog, "syslog messages: parse (RFC 5424, RFC 3164, RFC 6587 framing)"},
	{"send", cmd_send, "send events reliably: spool, then RELP, TLS, TCP or UDP syslog"},
	{"query", cmd_query, "ask mamori-soc's API: events, incidents, findings, devices"},
	{"baseline", cmd_baseline, "the firmware baseline for mamorid's allowlist: build, check"},
	{"metrics", cmd_metrics, "this device's Device Defender metrics, as mamorid gathers them"},
	{"profile", cmd_profile, "security profiles for mamorid's detect: check, learn, test"},
	{"audit", cmd_audit, "audit a device or firmware root: credentials, services, certificates"},
	{"inventory", cmd_inventory, "the device's CycloneDX SBOM"},
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: mamori [--version] [--help] NOUN VERB [ARGS...]\n\n"
		     "nouns:\n");
	for (i = 0; i < sizeof nouns / sizeof nouns[0]; i++)
		fprintf(out, "  %-10s %s\n", nouns[i].noun, nouns[i].what);
	fprintf(out, "\n'mamori NOUN --help' lists a noun's verbs; see mamori(1).\n");
}

FILE *cli_open(const char *path)
{
	FILE *f;

	if (strcmp(path, "-") == 0)
		return stdin;
	if ((f = fopen(path, "r")) == NULL)
		log_warn("%s", path);
	return f;
}

void cli_close(FILE *f)
{
	if (f && f != stdin)
		fclose(f);
}

int cli_read_line(FILE *f, struct mm_buf *b)
{
	char chunk[4096];
	int toolong = 0, got = 0;

	mm_buf_reset(b);
	while (fgets(chunk, sizeof chunk, f)) {
		size_t n = strlen(chunk);
		int eol = n > 0 && chunk[n - 1] == '\n';

		got = 1;
		if (eol)
			n--;
		if (!toolong && mm_buf_append(b, chunk, n) < 0)
			toolong = 1;
		if (eol)
			break;
	}
	if (ferror(f))
		return MM_EIO;
	if (toolong)
		return MM_ETOOBIG;
	return got;
}

int main(int argc, char **argv)
{
	size_t i;

	mm_log_init(1, "mamori");
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("mamori %s\n", MAMORI_VERSION);
		return CLI_OK;
	}
	for (i = 0; i < sizeof nouns / sizeof nouns[0]; i++)
		if (strcmp(argv[1], nouns[i].noun) == 0)
			return nouns[i].fn(argc - 1, argv + 1);
	log_warnx("unknown noun '%s'", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
