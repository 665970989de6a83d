/*
 * mamori audit: mamorid's audit run on demand, against this machine or a
 * firmware tree (--root). One line per finding, or one JSON object per line
 * with --json (docs/formats/audit.md); the exit status says whether there
 * was any finding.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "mamori/error.h"
#include "mamori/log.h"

struct out {
	int json;
	int failed;
};

static void audit_usage(FILE *out)
{
	fprintf(out,
		"usage: mamori audit [--root DIR] [--json] [--cert FILE]... [--credentials FILE]\n"
		"                    [--days N] [--support-end YYYY-MM-DD] [--firmware VERSION]\n"
		"                    [--no-listeners] [--allow-setuid PATH]... [--state DIR]\n"
		"                    [--config FILE]\n"
		"\n"
		"Audits the device's root folder (/ by default) for default or empty passwords,\n"
		"cleartext login services, root password logins over SSH, world-writable\n"
		"programs, unexpected setuid files, weak or expiring certificates and keys, an\n"
		"undeclared firmware version or support end, and settings that power loss could\n"
		"lose. Paths given to --cert, --allow-setuid, --state and --config are inside\n"
		"the root. Prints one line per finding: SEVERITY ID SUBJECT: TEXT [CLAUSES],\n"
		"or with --json one JSON object per line.\n"
		"  --no-listeners   do not look at this network namespace's listening sockets\n"
		"  --days N         a certificate expiring within N days is a finding (30)\n"
		"Exit status: 0 no finding, 1 findings, 2 usage error or unreadable root.\n");
}

static void print_finding(const struct audit_finding *f, void *arg)
{
	struct out *o = arg;
	char line[2048], cl[200];
	size_t k = 0;
	int rc;

	if (o->json) {
		if ((rc = audit_finding_json(f, line, sizeof line)) != 0) {
			log_warnx("audit: %s %s: %s", f->id, f->subject, mm_strerror(rc));
			o->failed = 1;
			return;
		}
		printf("%s\n", line);
		return;
	}
	/* The three fields are at most 32, 48 and 64 bytes: cl cannot be cut. */
	cl[0] = '\0';
	if (f->en303645[0])
		k += (size_t)snprintf(cl + k, sizeof cl - k, "EN 303 645 %s", f->en303645);
	if (f->psti[0])
		k += (size_t)snprintf(cl + k, sizeof cl - k, "%sPSTI %s", k ? "; " : "", f->psti);
	if (f->jp[0])
		snprintf(cl + k, sizeof cl - k, "%s%s", k ? "; " : "", f->jp);
	printf("%s %s %s: %s [%s]\n", audit_severity_name(f->severity), f->id, f->subject,
	       f->text, cl);
}

/* Appends v to a NULL-ended list of AUDIT_MAX_PATHS; -1 when full. */
static int add_path(const char **list, const char *v)
{
	size_t i;

	for (i = 0; i < AUDIT_MAX_PATHS && list[i] != NULL; i++)
		;
	if (i + 1 >= AUDIT_MAX_PATHS)
		return -1;
	list[i] = v;
	list[i + 1] = NULL;
	return 0;
}

int cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"cert", required_argument, NULL, 'c'},
		{"credentials", required_argument, NULL, 'C'},
		{"days", required_argument, NULL, 'd'},
		{"support-end", required_argument, NULL, 's'},
		{"firmware", required_argument, NULL, 'f'},
		{"no-listeners", no_argument, NULL, 'n'},
		{"allow-setuid", required_argument, NULL, 'a'},
		{"state", required_argument, NULL, 'S'},
		{"config", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct audit_opts o;
	struct out out = {0, 0};
	char *end;
	long long days;
	int ch, n;

	audit_opts_defaults(&o);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:jc:C:d:s:f:na:S:k:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			o.root = optarg;
			break;
		case 'j':
			out.json = 1;
			break;
		case 'c':
			if (add_path(o.certs, optarg) != 0) {
				log_warnx("audit: at most %d --cert", AUDIT_MAX_PATHS - 1);
				return CLI_USAGE;
			}
			break;
		case 'C':
			o.credentials = optarg;
			break;
		case 'd':
			errno = 0;
			days = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || days < 0 ||
			    days > 36500) {
				log_warnx("audit: --days %s: not a number of days", optarg);
				return CLI_USAGE;
			}
			o.cert_days = days;
			break;
		case 's':
			o.support_end = optarg;
			break;
		case 'f':
			o.firmware = optarg;
			break;
		case 'n':
			o.listeners = 0;
			break;
		case 'a':
			if (add_path(o.setuid_allow, optarg) != 0) {
				log_warnx("audit: too many --allow-setuid");
				return CLI_USAGE;
			}
			break;
		case 'S':
			o.state_dir = optarg;
			break;
		case 'k':
			o.conf_path = optarg;
			break;
		case 'h':
			audit_usage(stdout);
			return CLI_OK;
		default:
			audit_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		audit_usage(stderr);
		return CLI_USAGE;
	}
	n = audit_run(&o, print_finding, &out);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_warn("audit: standard output");
		return CLI_USAGE;
	}
	if (n < 0) {
		log_warnx("audit: %s: %s", o.root, mm_strerror(n));
		return CLI_USAGE;
	}
	if (out.failed)
		return CLI_USAGE;
	return n > 0 ? CLI_INVALID : CLI_OK;
}
