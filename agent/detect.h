/*
 * mamorid's detect part: Device Defender's device-side metrics, gathered on
 * the device itself (metrics.c), written in Device Defender's report format
 * (ddreport.c), and checked against a security profile (profile.c) every
 * interval, offline. The device process (device.c) runs the loop; the
 * command line (`mamori metrics`, `mamori profile`) uses the same code.
 *
 *	struct metrics *prev = NULL, *cur;
 *	struct metrics_opts mo = {.custom_file = "/run/app/metrics.json"};
 *	struct profile *p;
 *	profile_load("/etc/mamori/profile.json", &p, err, sizeof err);
 *	for (;;) {
 *		metrics_new(&cur);
 *		metrics_collect(&mo, cur);
 *		profile_eval(p, cur, prev, on_change, arg);   on_change: violation or cleared
 *		metrics_free(prev);
 *		prev = cur;
 *		sleep(interval);
 *	}
 */
#ifndef MAMORI_AGENT_DETECT_H
#define MAMORI_AGENT_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Bounds: what is past them is counted in the totals and *_dropped, not listed. */
#define METRICS_MAX_PORTS 512   /* listening ports per protocol */
#define METRICS_MAX_CONNS 1024  /* established TCP connections */
#define METRICS_MAX_CUSTOM 32   /* custom metrics */
#define METRICS_MAX_VALUES 32   /* values of one list-valued custom metric */
#define METRICS_NAME_MAX 128    /* a custom metric's name, with the NUL */
#define METRICS_STR_MAX 256     /* one string value, with the NUL */

/* One listening socket (TCP LISTEN or bound UDP). */
struct metric_port {
	uint16_t port;
	uint8_t family;         /* AF_INET or AF_INET6 */
	char addr[46];          /* the local address, "0.0.0.0" / "::" for any */
	char ifname[16];        /* the interface: bound device, else the one holding
				   addr; "" for any address */
};

/* One established TCP connection. */
struct metric_conn {
	uint8_t family;
	char remote[46];        /* the remote address, no brackets */
	uint16_t rport, lport;
	char ifname[16];        /* the interface holding the local address, "" unknown */
};

enum metric_custom_type {
	METRIC_NUMBER = 0,      /* num[0] */
	METRIC_NUMBER_LIST = 1, /* num[0..n) */
	METRIC_STRING_LIST = 2, /* str[0..n) */
	METRIC_IP_LIST = 3,     /* str[0..n), each an IPv4 or IPv6 address */
};

struct metric_custom {
	char name[METRICS_NAME_MAX];
	enum metric_custom_type type;
	size_t n;
	double num[METRICS_MAX_VALUES];
	char str[METRICS_MAX_VALUES][METRICS_STR_MAX];
};

/*
 * One datapoint set. Counters are the kernel's totals since boot over every
 * interface but loopback; the report and the profile use the difference
 * between two sets (metrics_delta).
 */
struct metrics {
	int64_t time_ms;        /* wall clock when collected, ms since the epoch */
	int64_t mono_ms;        /* CLOCK_MONOTONIC, ms, for the time between two sets */
	size_t n_tcp, n_udp, n_conn;              /* listed */
	uint64_t total_tcp, total_udp, total_conn; /* seen (>= listed) */
	struct metric_port tcp[METRICS_MAX_PORTS];
	struct metric_port udp[METRICS_MAX_PORTS];
	struct metric_conn conn[METRICS_MAX_CONNS];
	uint64_t bytes_in, bytes_out, packets_in, packets_out;
	uint64_t processes;     /* entries of /proc that are processes */
	size_t n_custom;
	struct metric_custom custom[METRICS_MAX_CUSTOM];
	uint64_t custom_dropped; /* custom metrics past the bound or malformed */
};

struct metrics_opts {
	const char *custom_file;    /* a JSON object of custom metrics (docs/formats/metrics.md), or NULL */
	const char *custom_command; /* run with /bin/sh -c; its stdout is the same JSON, or NULL */
	int command_timeout_s;      /* the command is killed after this (default 5 when 0) */
	const char *proc;           /* "/proc" when NULL (tests point it elsewhere) */
};

/* Allocates a zeroed set (it is large: keep it on the heap). 0 or MM_ENOMEM. */
int metrics_new(struct metrics **out);
void metrics_free(struct metrics *m);

/*
 * Fills m (reset first) from netlink sock_diag (listening TCP and UDP,
 * established TCP, IPv4 and IPv6, in the caller's network namespace),
 * /proc/net/dev, /proc and the custom sources. A custom source that fails
 * is logged and counted (custom_dropped); the rest is still collected.
 * Returns 0, MM_EIO when sock_diag or /proc/net/dev cannot be read.
 */
int metrics_collect(const struct metrics_opts *o, struct metrics *m);

/* Parsers, also for the unit tests and fuzz targets. */
/* /proc/net/dev text: sums every interface but "lo" into m's counters. */
int metrics_parse_netdev(const char *text, size_t len, struct metrics *m);
/* A custom metrics JSON object (docs/formats/metrics.md) into m->custom. */
int metrics_parse_custom(const char *text, size_t len, struct metrics *m);

/* Counter differences cur - prev (0 when a counter went backwards: a reset). */
struct metrics_delta {
	uint64_t bytes_in, bytes_out, packets_in, packets_out;
	int64_t ms; /* time between the two sets */
};
void metrics_delta(const struct metrics *prev, const struct metrics *cur, struct metrics_delta *d);

/*
 * ddreport.c: AWS IoT Device Defender's device metrics report (the
 * "header"/"metrics"/"custom_metrics" document, or with short_names the
 * "hed"/"met"/"cmet" one). network_stats is cur - prev (prev NULL: zeros).
 * report_id must grow from one report to the next (the time in ms suits).
 * Returns a new reference or NULL (no memory).
 */
json_t *ddreport_json(const struct metrics *cur, const struct metrics *prev, uint64_t report_id,
		      int short_names);
/* mamori's own metrics document (docs/formats/metrics.md): the same facts with
 * Device Defender's metric names ("aws:listening-tcp-ports" ...). */
json_t *metrics_json(const struct metrics *cur, const struct metrics *prev);

/* ---- profile.c: the security profile ---- */

/*
 * A profile is Device Defender's "behaviors" document (docs/formats/profile.md):
 *   {"behaviors": [{"name": "no-telnet", "metric": "aws:listening-tcp-ports",
 *     "criteria": {"comparisonOperator": "in-port-set", "value": {"ports": [22, 80]},
 *                  "consecutiveDatapointsToAlarm": 1, "consecutiveDatapointsToClear": 1}}]}
 * with the device-side metrics, mamori:remote-ports, and custom metric names.
 */
struct profile;

#define PROFILE_MAX_BEHAVIORS 100

/* Parses text; on error returns MM_EPARSE/MM_EINVALID/MM_ETOOBIG with a
 * sentence in err naming the behaviour and member at fault. */
int profile_parse(const char *text, size_t len, struct profile **out, char *err, size_t errlen);
/* Reads and parses a file (at most 1 MiB). */
int profile_load(const char *path, struct profile **out, char *err, size_t errlen);
void profile_free(struct profile *p);
size_t profile_count(const struct profile *p);

/* A change of state of one behaviour. */
struct profile_change {
	const char *behavior;   /* its name */
	const char *metric;     /* its metric */
	const char *op;         /* its comparisonOperator */
	int violated;           /* 1: detect.violation, 0: detect.cleared */
	int64_t datapoints;     /* consecutive datapoints that made the change */
	json_t *value;          /* borrowed: the offending value (a number, or the
				   ports / addresses outside the set), for the event */
};

/*
 * Evaluates one datapoint of every behaviour on cur (prev for counter
 * deltas; NULL on the first set: counter behaviours wait for the second).
 * A behaviour raises a violation after consecutiveDatapointsToAlarm
 * violating datapoints and clears after consecutiveDatapointsToClear good
 * ones; fn is called for each such change. With durationSeconds, a counter
 * metric's value is its sum over that many seconds of datapoints.
 * Returns the number of behaviours in violation after this datapoint.
 */
int profile_eval(struct profile *p, const struct metrics *cur, const struct metrics *prev,
		 void (*fn)(const struct profile_change *c, void *arg), void *arg);

/*
 * Learning: feed every datapoint of the learning period to profile_learn_add,
 * then profile_learn_json writes a profile that the observed behaviour
 * passes (listening ports in-port-set, remote addresses in-cidr-set /32 or
 * /128, remote ports in-port-set, connection and port counts, byte and packet
 * counts per interval with a margin). NULL on no memory.
 */
struct profile_learner;
int profile_learn_new(struct profile_learner **out);
void profile_learn_add(struct profile_learner *l, const struct metrics *cur, const struct metrics *prev);
json_t *profile_learn_json(const struct profile_learner *l);
void profile_learn_free(struct profile_learner *l);

#endif
