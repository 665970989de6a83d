/*
 * mamori metrics: this device's Device Defender metrics, gathered the way
 * mamorid gathers them every interval (agent/metrics.c), printed as one
 * JSON document: mamori's own (docs/formats/metrics.md) or AWS IoT Device
 * Defender's report, long or short names, ready to publish as it is.
 *
 * The counters (bytes and packets in and out) are differences between two
 * samples, so the command samples twice, --interval seconds apart; with
 * --interval 0 it samples once and the counters are zero (aws) or absent
 * (mamori). Custom metrics are read only for the second sample.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "detect.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define INTERVAL_MAX 3600 /* seconds between the two samples */

enum fmt { FMT_MAMORI, FMT_AWS, FMT_AWS_SHORT };

static void metrics_usage(FILE *out)
{
	fprintf(out,
		"usage: mamori metrics [--format mamori|aws|aws-short] [--interval SECONDS]\n"
		"                      [--custom-file FILE] [--custom-command CMD] [--pretty]\n"
		"\n"
		"Prints this device's metrics (listening TCP and UDP ports, established TCP\n"
		"connections, bytes and packets in and out, processes, custom metrics) as\n"
		"one JSON document, in this network namespace.\n"
		"  --format, -f          mamori (default): mamori's document with Device\n"
		"                        Defender's metric names; aws: Device Defender's\n"
		"                        metrics report; aws-short: the same, short names\n"
		"  --interval, -i SECS   seconds between the two samples whose difference\n"
		"                        gives the counters (default 1; 0: one sample)\n"
		"  --custom-file FILE    custom metrics from a JSON object file\n"
		"  --custom-command CMD  custom metrics from CMD's output (/bin/sh -c, 5 s)\n"
		"  --pretty, -p          indent the document\n"
		"Exit status: 0 printed; 1 the sockets or counters could not be read;\n"
		"2 bad command line.\n");
}

/* A whole number of seconds in [0, INTERVAL_MAX]; -1 when it is not one. */
static long parse_interval(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INTERVAL_MAX)
		return -1;
	return v;
}

static void sleep_s(long s)
{
	struct timespec ts = {.tv_sec = s, .tv_nsec = 0};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int print_doc(json_t *doc, int pretty)
{
	size_t flags = pretty ? JSON_INDENT(2) : JSON_COMPACT;

	if (json_dumpf(doc, stdout, flags) != 0 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) != 0) {
		log_warn("metrics: writing the document");
		return CLI_INVALID;
	}
	return CLI_OK;
}

static int run(enum fmt fmt, long interval, const struct metrics_opts *o, int pretty)
{
	struct metrics_opts first = {.proc = o->proc};
	struct metrics *prev = NULL, *cur = NULL;
	json_t *doc = NULL;
	int rc = CLI_INVALID;

	if (metrics_new(&cur) < 0 || (interval > 0 && metrics_new(&prev) < 0)) {
		log_warnx("metrics: out of memory");
		goto fail;
	}
	if (prev != NULL) {
		if (metrics_collect(&first, prev) < 0) {
			log_warnx("metrics: the sockets or /proc/net/dev could not be read");
			goto fail;
		}
		sleep_s(interval);
	}
	if (metrics_collect(o, cur) < 0) {
		log_warnx("metrics: the sockets or /proc/net/dev could not be read");
		goto fail;
	}
	if (fmt == FMT_MAMORI)
		doc = metrics_json(cur, prev);
	else
		doc = ddreport_json(cur, prev, (uint64_t)cur->time_ms, fmt == FMT_AWS_SHORT);
	if (doc == NULL) {
		log_warnx("metrics: out of memory");
		goto fail;
	}
	rc = print_doc(doc, pretty);
fail:
	json_decref(doc);
	metrics_free(prev);
	metrics_free(cur);
	return rc;
}

/* mamori metrics [options]: see metrics_usage() and mamori(1). */
int cmd_metrics(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"interval", required_argument, NULL, 'i'},
		{"custom-file", required_argument, NULL, 'F'},
		{"custom-command", required_argument, NULL, 'C'},
		{"pretty", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct metrics_opts o = {0};
	enum fmt fmt = FMT_MAMORI;
	long interval = 1;
	int ch, pretty = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:i:ph", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (strcmp(optarg, "mamori") == 0) {
				fmt = FMT_MAMORI;
			} else if (strcmp(optarg, "aws") == 0) {
				fmt = FMT_AWS;
			} else if (strcmp(optarg, "aws-short") == 0) {
				fmt = FMT_AWS_SHORT;
			} else {
				log_warnx("metrics: unknown format '%s' (mamori, aws, aws-short)",
					  optarg);
				return CLI_USAGE;
			}
			break;
		case 'i':
			if ((interval = parse_interval(optarg)) < 0) {
				log_warnx("metrics: --interval takes whole seconds from 0 to %d, "
					  "not '%s'", INTERVAL_MAX, optarg);
				return CLI_USAGE;
			}
			break;
		case 'F':
			o.custom_file = optarg;
			break;
		case 'C':
			o.custom_command = optarg;
			break;
		case 'p':
			pretty = 1;
			break;
		case 'h':
			metrics_usage(stdout);
			return CLI_OK;
		default:
			metrics_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		log_warnx("metrics: unexpected argument '%s'", argv[optind]);
		metrics_usage(stderr);
		return CLI_USAGE;
	}
	return run(fmt, interval, &o, pretty);
}
