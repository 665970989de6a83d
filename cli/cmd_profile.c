/*
 * mamori profile: security profiles for mamorid's detect part
 * (docs/formats/profile.md). `check` says whether mamorid would accept a
 * profile and lists its behaviours; `learn` watches this device for a while
 * and writes a profile that what it saw passes; `test` evaluates a profile
 * here, every interval, and prints the events mamorid would send, so that a
 * profile can be tried on a device before it is deployed.
 *
 * The metrics are gathered as mamorid gathers them (agent/metrics.c), in
 * the caller's network namespace. Signals only set a flag: learn then
 * writes what it learnt so far, test stops after the datapoint under way.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "detect.h"
#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/path.h"

#define INTERVAL_MAX 3600              /* seconds between two datapoints */
#define LEARN_MAX_S (90LL * 24 * 3600) /* --for */
#define PATH_BYTES 4096

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void profile_usage(FILE *out)
{
	fprintf(out,
		"usage: mamori profile check FILE\n"
		"       mamori profile learn --for DURATION [--interval SECONDS] [-o FILE]\n"
		"                            [--custom-file FILE] [--custom-command CMD]\n"
		"       mamori profile test FILE [--interval SECONDS] [--count N]\n"
		"                            [--custom-file FILE] [--custom-command CMD]\n"
		"\n"
		"check: reads a security profile (AWS IoT Device Defender's behaviors\n"
		"document) and prints its behaviours, one a line: name, metric, operator,\n"
		"value, the datapoints to alarm and to clear. Exit status: 0 valid,\n"
		"1 invalid (the behaviour and member at fault on stderr), 2 unreadable.\n"
		"\n"
		"learn: gathers this device's metrics every interval for DURATION (30s, 10m,\n"
		"2h, 1d) and writes a profile that they pass, to FILE (by FILE.tmp and a\n"
		"rename) or standard output. SIGINT or SIGTERM ends the learning early;\n"
		"what was learnt is still written. Exit status: 0 written, 1 metrics could\n"
		"not be read or the profile not written, 2 bad command line.\n"
		"\n"
		"test: evaluates FILE on this device's metrics every interval and prints\n"
		"each detect.violation and detect.cleared as a JSON line, N datapoints\n"
		"(default: until SIGINT or SIGTERM). Exit status: 0 no behaviour in\n"
		"violation after the last datapoint, 1 some are (or metrics could not be\n"
		"read), 2 bad command line, or FILE unreadable or invalid.\n"
		"\n"
		"  --interval, -i SECONDS  between datapoints (default 10, 1..3600)\n"
		"  --for, -t DURATION      how long to learn (1s .. 90d)\n"
		"  --output, -o FILE       where learn writes the profile\n"
		"  --count, -c N           datapoints test evaluates\n"
		"  --custom-file FILE      custom metrics from a JSON object file\n"
		"  --custom-command CMD    custom metrics from CMD's output (/bin/sh -c)\n");
}

/* A whole number in [min, max]; -1 when it is not one. */
static long long parse_num(const char *s, long long min, long long max)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

/* "30s", "10m", "2h", "1d" or plain seconds; -1 when it is none of them. */
static long long parse_duration(const char *s)
{
	char num[24];
	size_t n = strlen(s);
	long long unit = 1, v;

	if (n == 0 || n >= sizeof num)
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: unit = 0; break;
	}
	if (unit != 0)
		num[n - 1] = '\0';
	else
		unit = 1;
	if ((v = parse_num(num, 1, LEARN_MAX_S)) < 0 || v > LEARN_MAX_S / unit)
		return -1;
	return v * unit;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps until start + k * interval (CLOCK_MONOTONIC, no drift), or a signal. */
static void sleep_until(int64_t at_ms)
{
	struct timespec ts = {.tv_sec = at_ms / 1000, .tv_nsec = (at_ms % 1000) * 1000000};

	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ---- check ---- */

static int check(const char *path)
{
	struct profile *p;
	json_t *root, *bs, *b;
	json_error_t je;
	char err[512];
	size_t i;
	int rc;

	if ((rc = profile_load(path, &p, err, sizeof err)) < 0) {
		log_warnx("profile: %s%s%s", rc == MM_EIO ? "" : path, rc == MM_EIO ? "" : ": ",
			  err[0] ? err : mm_strerror(rc));
		return rc == MM_EIO ? CLI_USAGE : CLI_INVALID;
	}
	profile_free(p);
	/* valid: the document is read again only to print it as it was written */
	if ((root = json_load_file(path, 0, &je)) == NULL) {
		log_warnx("profile: %s: %s", path, je.text);
		return CLI_USAGE;
	}
	bs = json_object_get(root, "behaviors");
	json_array_foreach(bs, i, b) {
		json_t *c = json_object_get(b, "criteria");
		json_t *d = json_object_get(c, "durationSeconds");
		json_t *a = json_object_get(c, "consecutiveDatapointsToAlarm");
		json_t *cl = json_object_get(c, "consecutiveDatapointsToClear");
		char *v = json_dumps(json_object_get(c, "value"), JSON_COMPACT);

		printf("%s %s %s %s alarm=%lld clear=%lld", json_string_value(json_object_get(b, "name")),
		       json_string_value(json_object_get(b, "metric")),
		       json_string_value(json_object_get(c, "comparisonOperator")), v ? v : "?",
		       a ? (long long)json_integer_value(a) : 1LL,
		       cl ? (long long)json_integer_value(cl) : 1LL);
		if (d != NULL)
			printf(" durationSeconds=%lld", (long long)json_integer_value(d));
		if (json_is_true(json_object_get(b, "suppressAlerts")))
			printf(" suppressed");
		putchar('\n');
		free(v);
	}
	json_decref(root);
	return fflush(stdout) == 0 ? CLI_OK : CLI_INVALID;
}

/* ---- learn ---- */

/* Writes doc to path through path.tmp, synced and renamed (mm_write_atomic). */
static int write_atomic(const char *path, json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2));
	size_t len;
	int rc;

	if (text == NULL) {
		log_warnx("profile: out of memory");
		return -1;
	}
	len = strlen(text);
	text[len++] = '\n'; /* json_dumps' NUL becomes the last line's end */
	if ((rc = mm_write_atomic(path, text, len, 1, 0644)) < 0)
		log_warn("profile: %s", path);
	free(text);
	return rc < 0 ? -1 : 0;
}

static int learn(long long for_s, long interval, const char *out, const struct metrics_opts *o)
{
	struct profile_learner *l = NULL;
	struct metrics *prev = NULL, *cur = NULL, *t;
	json_t *doc = NULL;
	int64_t start, k = 0;
	int rc = CLI_INVALID;

	if (profile_learn_new(&l) < 0 || metrics_new(&prev) < 0 || metrics_new(&cur) < 0) {
		log_warnx("profile: out of memory");
		goto fail;
	}
	catch_signals();
	start = mono_ms();
	for (;;) {
		if (metrics_collect(o, cur) < 0) {
			log_warnx("profile: the sockets or /proc/net/dev could not be read");
			goto fail;
		}
		profile_learn_add(l, cur, k > 0 ? prev : NULL);
		t = prev;
		prev = cur;
		cur = t;
		k++;
		if (stop || mono_ms() - start >= for_s * 1000)
			break;
		sleep_until(start + k * interval * 1000);
		if (stop)
			break;
	}
	if ((doc = profile_learn_json(l)) == NULL) {
		log_warnx("profile: out of memory");
		goto fail;
	}
	log_info("profile: learnt from %lld datapoints in %lld s", (long long)k,
		 (long long)((mono_ms() - start) / 1000));
	if (out != NULL) {
		if (write_atomic(out, doc) < 0)
			goto fail;
	} else if (json_dumpf(doc, stdout, JSON_INDENT(2)) != 0 || putchar('\n') == EOF ||
		   fflush(stdout) != 0) {
		log_warn("profile: writing the profile");
		goto fail;
	}
	rc = CLI_OK;
fail:
	json_decref(doc);
	metrics_free(prev);
	metrics_free(cur);
	profile_learn_free(l);
	return rc;
}

/* ---- test ---- */

struct test_ctx {
	int64_t time_ms;
};

/* One event line as mamorid's reporter would put its detail. */
static void print_change(const struct profile_change *c, void *arg)
{
	const struct test_ctx *tc = arg;
	char when[64];
	struct tm tm;
	time_t s = (time_t)(tc->time_ms / 1000);
	json_t *line;

	gmtime_r(&s, &tm);
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(tc->time_ms % 1000));
	line = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:O, s:I}}", "event",
			 c->violated ? "detect.violation" : "detect.cleared", "time", when,
			 "detail", "behavior", c->behavior, "metric", c->metric, "operator", c->op,
			 "value", c->value ? c->value : json_null(), "datapoints",
			 (json_int_t)c->datapoints);
	if (line == NULL || json_dumpf(line, stdout, JSON_COMPACT) != 0)
		log_warnx("profile: an event could not be written");
	putchar('\n');
	fflush(stdout);
	json_decref(line);
}

static int test(const char *path, long interval, long long count, const struct metrics_opts *o)
{
	struct profile *p = NULL;
	struct metrics *prev = NULL, *cur = NULL, *t;
	struct test_ctx tc;
	char err[512];
	int64_t start, k = 0;
	int rc, in_violation = 0;

	if ((rc = profile_load(path, &p, err, sizeof err)) < 0) {
		log_warnx("profile: %s%s%s", rc == MM_EIO ? "" : path, rc == MM_EIO ? "" : ": ",
			  err[0] ? err : mm_strerror(rc));
		return CLI_USAGE;
	}
	rc = CLI_INVALID;
	if (metrics_new(&prev) < 0 || metrics_new(&cur) < 0) {
		log_warnx("profile: out of memory");
		goto fail;
	}
	catch_signals();
	start = mono_ms();
	while (!stop && (count == 0 || k < count)) {
		if (metrics_collect(o, cur) < 0) {
			log_warnx("profile: the sockets or /proc/net/dev could not be read");
			goto fail;
		}
		tc.time_ms = cur->time_ms;
		in_violation = profile_eval(p, cur, k > 0 ? prev : NULL, print_change, &tc);
		t = prev;
		prev = cur;
		cur = t;
		k++;
		if (count == 0 || k < count)
			sleep_until(start + k * interval * 1000);
	}
	rc = in_violation > 0 ? CLI_INVALID : CLI_OK;
fail:
	metrics_free(prev);
	metrics_free(cur);
	profile_free(p);
	return rc;
}

/* mamori profile check|learn|test ...: see profile_usage() and mamori(1). */
int cmd_profile(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"interval", required_argument, NULL, 'i'},
		{"for", required_argument, NULL, 't'},
		{"output", required_argument, NULL, 'o'},
		{"count", required_argument, NULL, 'c'},
		{"custom-file", required_argument, NULL, 'F'},
		{"custom-command", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct metrics_opts o = {0};
	const char *verb, *out = NULL;
	long long for_s = -1, count = 0;
	long interval = 10;
	int ch;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		profile_usage(stdout);
		return CLI_OK;
	}
	if (argc < 2) {
		profile_usage(stderr);
		return CLI_USAGE;
	}
	verb = argv[1];
	if (strcmp(verb, "check") != 0 && strcmp(verb, "learn") != 0 && strcmp(verb, "test") != 0) {
		log_warnx("profile: unknown command '%s' (check, learn, test)", verb);
		return CLI_USAGE;
	}
	optind = 1;
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "i:t:o:c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			if ((interval = (long)parse_num(optarg, 1, INTERVAL_MAX)) < 0) {
				log_warnx("profile: --interval takes whole seconds from 1 to %d, "
					  "not '%s'", INTERVAL_MAX, optarg);
				return CLI_USAGE;
			}
			break;
		case 't':
			if ((for_s = parse_duration(optarg)) < 0) {
				log_warnx("profile: --for takes a duration like 30s, 10m, 2h or 1d "
					  "(at most 90d), not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'c':
			if ((count = parse_num(optarg, 1, INT32_MAX)) < 0) {
				log_warnx("profile: --count takes a number of datapoints, not '%s'",
					  optarg);
				return CLI_USAGE;
			}
			break;
		case 'F':
			o.custom_file = optarg;
			break;
		case 'C':
			o.custom_command = optarg;
			break;
		case 'h':
			profile_usage(stdout);
			return CLI_OK;
		default:
			profile_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (strcmp(verb, "learn") == 0) {
		if (optind != argc) {
			log_warnx("profile: unexpected argument '%s'", argv[optind]);
			return CLI_USAGE;
		}
		if (for_s < 0) {
			log_warnx("profile: learn needs --for DURATION");
			return CLI_USAGE;
		}
		return learn(for_s, interval, out, &o);
	}
	if (optind + 1 != argc) {
		log_warnx("profile: %s takes one FILE", verb);
		profile_usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(verb, "check") == 0)
		return check(argv[optind]);
	return test(argv[optind], interval, count, &o);
}
