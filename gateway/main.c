/*
 * mamori-gw: the X.1367 reporter on the wire. Captures on the IoT LAN (or
 * reads a pcap file), follows flows, decodes MQTT, Modbus/TCP, CoAP,
 * ECHONET Lite and HTTP, pairs requests with error responses, and sends
 * standard records and flow statistics to the SOC through the spool and
 * the reliable sender.
 *
 * One loop does everything: poll(2) on the capture descriptors with a short
 * timeout, then the timers (request timeouts, silence, flow expiry,
 * statistics) and a turn of the sender. The sender's sockets are its own
 * and are served in mm_sender_run(), which is why this is not a libevent
 * loop.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/send.h"
#include "mamori/spool.h"

#include "capture.h"
#include "config.h"
#include "gw.h"

#define DEFAULT_CONF "/etc/mamori/mamori-gw.conf"
#define DEFAULT_URL "relp://127.0.0.1:2514"
#define TICK_MS 100
#define DRAIN_MS 5000

struct gw {
	struct gw_config cfg;
	struct mm_errmap *map;
	struct mm_reporter *rep;
	struct gw_flows *flows;
	struct gw_stats *stats;
	struct mm_spool *spool;
	struct mm_sender *sender;
	struct gw_source *src[GW_MAX_IFACES];
	unsigned nsrc;
	int file_mode;   /* -r: time is the packets' */
	int print;       /* print records as JSON lines */
	int events;      /* ... and events */
	struct timespec now;  /* the latest time known (packet or clock) */
	uint64_t printed;
	char hostname[256];
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mamori-gw [-dnv] [-f FILE] [-i IFACE]... [-r FILE.pcap] [--filter BPF]\n"
		"                 [--soc URL|none] [--spool DIR] [--reporter KIND:ID]\n"
		"                 [--timeout MS] [--stats-interval SEC] [--print] [--events]\n"
		"\n"
		"The X.1367 reporter on the wire: decodes MQTT, Modbus/TCP, CoAP, ECHONET\n"
		"Lite and HTTP, pairs requests with error responses and sends standard\n"
		"records and flow statistics to the SOC.\n"
		"\n"
		"  -f FILE         configuration (default " DEFAULT_CONF " if it exists)\n"
		"  -i IFACE        capture live on IFACE; repeatable (replaces [capture]\n"
		"                  interfaces)\n"
		"  -r FILE         read a pcap or pcapng file instead and print each record as\n"
		"                  a JSON line; time is the capture's; sends only with --soc\n"
		"  --filter BPF    a capture filter (default: none)\n"
		"  --soc URL       udp://, tcp://, tls://, relp:// or relp+tls://HOST:PORT, or\n"
		"                  none (default " DEFAULT_URL "; with -r none)\n"
		"  --spool DIR     records waiting to be sent (default /var/spool/mamori/gw)\n"
		"  --reporter ip:ADDR|name:NAME|id:ID|mac:MAC\n"
		"                  the X.1367 Reporter (default the first interface's\n"
		"                  address; with -r the host name as Unique Name)\n"
		"  --timeout MS    how long a request waits for its response (default 5000)\n"
		"  --stats-interval SEC  flow statistics period (default 60)\n"
		"  --print         live: also print records as JSON lines on stdout\n"
		"  --events        with -r or --print: print gw.flow.stats events too\n"
		"  -d              stay in the foreground and log to stderr\n"
		"  -n              check the configuration and exit (0 good, 1 bad)\n"
		"  -v              more logging; -r prints its counters at the end anyway\n"
		"  -h, --help      this text     -V, --version   the version\n"
		"\n"
		"See mamori-gw(8) and mamori-gw.conf(5).\n");
}

/* ---- where records go ---- */

static void on_record(void *arg, const struct mm_x1367_record *rec, const char *json,
		      size_t len)
{
	struct gw *g = arg;

	if (!g->print || (!rec && !g->events))
		return;
	fwrite(json, 1, len, stdout);
	fputc('\n', stdout);
	if (!g->file_mode)
		fflush(stdout);
	g->printed++;
}

static void emit_event(void *arg, const char *json, size_t len)
{
	struct gw *g = arg;
	int rc = mm_reporter_event(g->rep, json, len);

	if (rc < 0 && rc != MM_EFULL)
		log_warnx("flow statistics event not sent: %s", mm_strerror(rc));
}

/* ---- the time ---- */

static void tick(struct gw *g, int final)
{
	int rc;

	if ((rc = mm_reporter_tick(g->rep, &g->now)) < 0 && rc != MM_EFULL)
		log_warnx("reporter: %s", mm_strerror(rc));
	gw_flows_tick(g->flows, &g->now);
	gw_stats_tick(g->stats, &g->now, final, emit_event, g);
}

static int later(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

static void on_packet(void *arg, const struct gw_packet *pk)
{
	struct gw *g = arg;

	/* In a file the packets are the clock: what timed out before this
	 * packet is judged before it, as it would have been live. */
	if (g->file_mode && later(&pk->ts, &g->now)) {
		g->now = pk->ts;
		tick(g, 0);
	} else if (!g->file_mode) {
		/* Live, each packet still counts in the interval of its own time. */
		gw_stats_tick(g->stats, &pk->ts, 0, emit_event, g);
	}
	gw_stats_packet(g->stats, pk);
	gw_flows_packet(g->flows, pk);
}

/* ---- start ---- */

static int open_sender(struct gw *g, const char *url)
{
	struct mm_spool_opts so;
	struct mm_sender_opts o;
	struct mm_spool_recovery rec;
	int rc;

	mm_spool_opts_default(&so);
	so.max_bytes = (uint64_t)g->cfg.spool_max;
	if (g->cfg.spool_sync && mm_spool_sync_parse(g->cfg.spool_sync, &so) < 0) {
		log_warnx("[soc] spool_sync: expected always, interval or never: %s",
			  g->cfg.spool_sync);
		return MM_EINVAL;
	}
	mm_sender_opts_default(&o);
	if (mm_send_url_parse(url, &o.url) < 0) /* checked at start */
		return MM_EINVAL;
	o.ca_file = g->cfg.ca;
	o.cert_file = g->cfg.cert;
	o.key_file = g->cfg.key;
	o.server_name = g->cfg.server_name;
	if ((rc = mm_spool_open(g->cfg.spool, &so, &g->spool, &rec)) < 0) {
		log_warnx("spool %s: %s", g->cfg.spool, mm_strerror(rc));
		return rc;
	}
	if (rec.records > 0)
		log_info("spool %s: %llu records from before are sent first", g->cfg.spool,
			 (unsigned long long)rec.records);
	return mm_sender_new(&o, g->spool, &g->sender);
}

static int open_reporter(struct gw *g, const char *reporter_id)
{
	struct mm_reporter_opts o;

	mm_reporter_opts_default(&o);
	if (mm_reporter_party_parse(reporter_id, &o.reporter) < 0) {
		log_warnx("reporter: expected ip:ADDR, name:NAME, id:ID or mac:MAC: %s",
			  reporter_id);
		return MM_EINVAL;
	}
	o.map = g->map;
	o.max_pending = (unsigned)g->cfg.max_pending;
	o.timeout_ms = (unsigned)g->cfg.timeout_ms;
	o.max_raw = (unsigned)g->cfg.max_raw;
	o.status = g->cfg.status && *g->cfg.status ? g->cfg.status : NULL;
	o.max_periodic = (unsigned)g->cfg.max_periodic;
	o.periodic_samples = (unsigned)g->cfg.sil_samples;
	o.periodic_factor = (unsigned)g->cfg.sil_factor;
	o.periodic_min_ms = (unsigned)g->cfg.sil_min_ms;
	o.spool = g->spool;
	o.hostname = g->cfg.hostname ? g->cfg.hostname : g->hostname;
	o.app_name = "mamori-gw";
	o.on_record = on_record;
	o.arg = g;
	return mm_reporter_new(&o, &g->rep);
}

/* Splits the [capture] interfaces list in place into names; returns how
 * many, or -1 when there are more than GW_MAX_IFACES. */
static int split_ifaces(char *list, const char *names[GW_MAX_IFACES])
{
	unsigned n = 0;
	char *p = list;

	for (;;) {
		size_t len;

		p += strspn(p, ", \t");
		if (!*p)
			return (int)n;
		if (n == GW_MAX_IFACES)
			return -1;
		len = strcspn(p, ", \t");
		names[n++] = p;
		p += len;
		if (*p)
			*p++ = '\0';
	}
}

/* ---- the loops ---- */

static int run_file(struct gw *g)
{
	char err[512];
	int rc;

	while (!g_stop) {
		rc = gw_source_read(g->src[0], 4096, on_packet, g, err, sizeof err);
		if (rc == MM_ENOTFOUND)
			break;
		if (rc < 0) {
			log_warnx("%s", err);
			return 1;
		}
		if (g->sender && mm_sender_run(g->sender, 0) < 0) {
			log_warnx("spool failed");
			return 1;
		}
	}
	/* The end of the capture: statistics of the last partial interval. */
	tick(g, 1);
	return 0;
}

static int run_live(struct gw *g)
{
	struct pollfd pfd[GW_MAX_IFACES];
	char err[512];
	unsigned i;
	int rc;

	for (i = 0; i < g->nsrc; i++) {
		pfd[i].fd = gw_source_fd(g->src[i]);
		pfd[i].events = POLLIN;
	}
	while (!g_stop) {
		int n = poll(pfd, g->nsrc, TICK_MS);
		if (n < 0 && errno != EINTR) {
			log_warn("poll");
			return 1;
		}
		for (i = 0; i < g->nsrc && n > 0; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			rc = gw_source_read(g->src[i], 4096, on_packet, g, err, sizeof err);
			if (rc < 0 && rc != MM_ENOTFOUND) {
				log_warnx("%s", err);
				return 1;
			}
		}
		clock_gettime(CLOCK_REALTIME, &g->now);
		tick(g, 0);
		if (g->sender && mm_sender_run(g->sender, 0) < 0) {
			log_warnx("spool failed");
			return 1;
		}
	}
	clock_gettime(CLOCK_REALTIME, &g->now);
	tick(g, 1);
	return 0;
}

static void log_counters(struct gw *g)
{
	struct gw_flow_counters fc;
	struct mm_reporter_stats rs;
	struct gw_capture_counters cc, sum;
	unsigned i;

	memset(&sum, 0, sizeof sum);
	for (i = 0; i < g->nsrc; i++) {
		gw_source_counters(g->src[i], &cc);
		sum.frames += cc.frames;
		sum.ip += cc.ip;
		sum.other += cc.other;
		sum.malformed += cc.malformed;
		sum.kernel_drop += cc.kernel_drop;
		sum.if_drop += cc.if_drop;
	}
	gw_flows_counters(g->flows, &fc);
	mm_reporter_stats(g->rep, &rs);
	log_info("frames %llu (ip %llu, other %llu, malformed %llu, dropped %llu)",
		 (unsigned long long)sum.frames, (unsigned long long)sum.ip,
		 (unsigned long long)sum.other, (unsigned long long)sum.malformed,
		 (unsigned long long)(sum.kernel_drop + sum.if_drop));
	log_info("flows %llu (active %llu, decoded %llu, evicted %llu, expired %llu, "
		 "gaps %llu, stopped %llu, memory_peak %llu of max_memory %llu)",
		 (unsigned long long)fc.flows, (unsigned long long)fc.active,
		 (unsigned long long)fc.decoded, (unsigned long long)fc.evicted,
		 (unsigned long long)fc.expired, (unsigned long long)fc.gaps,
		 (unsigned long long)fc.stopped, (unsigned long long)fc.memory_peak,
		 (unsigned long long)g->cfg.max_memory);
	log_info("records %llu (error %llu, timeout %llu, silence %llu, invalid %llu), "
		 "requests %llu, responses %llu (paired %llu, unpaired %llu), pending %llu, "
		 "evicted %llu, events %llu, spooled %llu, refused %llu",
		 (unsigned long long)(rs.error_records + rs.timeout_records +
				      rs.silence_records),
		 (unsigned long long)rs.error_records, (unsigned long long)rs.timeout_records,
		 (unsigned long long)rs.silence_records, (unsigned long long)rs.invalid,
		 (unsigned long long)rs.requests, (unsigned long long)rs.responses,
		 (unsigned long long)rs.paired, (unsigned long long)rs.unpaired,
		 (unsigned long long)rs.pending, (unsigned long long)rs.evicted,
		 (unsigned long long)rs.events, (unsigned long long)rs.spooled,
		 (unsigned long long)rs.refused);
}

enum {
	O_FILTER = 256, O_SOC, O_SPOOL, O_REPORTER, O_TIMEOUT, O_STATS, O_PRINT, O_EVENTS,
};

static int parse_num(const char *opt, const char *s, long long min, long long max,
		     long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno || *end || end == s || *v < min || *v > max) {
		fprintf(stderr, "mamori-gw: %s: expected a number from %lld to %lld: %s\n", opt,
			min, max, s);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"filter", required_argument, NULL, O_FILTER},
		{"soc", required_argument, NULL, O_SOC},
		{"spool", required_argument, NULL, O_SPOOL},
		{"reporter", required_argument, NULL, O_REPORTER},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"stats-interval", required_argument, NULL, O_STATS},
		{"print", no_argument, NULL, O_PRINT},
		{"events", no_argument, NULL, O_EVENTS},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct gw *g;
	const char *conf = NULL, *file = NULL, *url = NULL, *filter = NULL, *spool = NULL;
	const char *reporter = NULL;
	const char *ifaces[GW_MAX_IFACES];
	unsigned nifaces = 0, i;
	long long timeout = -1, interval = -1;
	int foreground = 0, check = 0, verbose = 0, ch, rc, status = 1;
	struct gw_flow_opts fo;
	struct gw_stats_opts so;
	char err[512] = "", reporter_buf[300], addr[64];
	struct sigaction sa;

	if (!(g = calloc(1, sizeof *g))) {
		fprintf(stderr, "mamori-gw: out of memory\n");
		return 1;
	}
	gw_config_init(&g->cfg);
	while ((ch = getopt_long(argc, argv, "dnvf:i:r:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': foreground = 1; break;
		case 'n': check = 1; break;
		case 'v': verbose++; break;
		case 'f': conf = optarg; break;
		case 'i':
			if (nifaces == GW_MAX_IFACES) {
				fprintf(stderr, "mamori-gw: at most %d -i\n", GW_MAX_IFACES);
				goto out;
			}
			ifaces[nifaces++] = optarg;
			break;
		case 'r': file = optarg; break;
		case O_FILTER: filter = optarg; break;
		case O_SOC: url = optarg; break;
		case O_SPOOL: spool = optarg; break;
		case O_REPORTER: reporter = optarg; break;
		case O_TIMEOUT:
			if (parse_num("--timeout", optarg, 1, 86400000, &timeout) < 0)
				goto out;
			break;
		case O_STATS:
			if (parse_num("--stats-interval", optarg, 1, 86400, &interval) < 0)
				goto out;
			break;
		case O_PRINT: g->print = 1; break;
		case O_EVENTS: g->events = 1; break;
		case 'h': usage(stdout); status = 0; goto out;
		case 'V': printf("mamori-gw %s\n", MAMORI_VERSION); status = 0; goto out;
		default: usage(stderr); status = 2; goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mamori-gw: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		status = 2;
		goto out;
	}
	if (file && nifaces > 0) {
		fprintf(stderr, "mamori-gw: -r and -i do not go together\n");
		status = 2;
		goto out;
	}
	g->file_mode = file != NULL;
	if (g->file_mode) {
		g->print = 1;
		foreground = 1;
	}
	mm_log_init(foreground || check, "mamori-gw");
	mm_log_verbose(verbose);

	if (!conf && access(DEFAULT_CONF, F_OK) == 0)
		conf = DEFAULT_CONF;
	if (conf && gw_config_load(&g->cfg, conf, err, sizeof err) < 0) {
		fprintf(stderr, "mamori-gw: %s\n", err);
		goto out;
	}
	/* The command line wins over the file. */
	if (timeout > 0)
		g->cfg.timeout_ms = timeout;
	if (interval > 0)
		g->cfg.stats_interval_s = interval;
	if (spool) {
		free(g->cfg.spool);
		if (!(g->cfg.spool = strdup(spool)))
			goto nomem;
	}
	if (!filter)
		filter = g->cfg.filter;
	if (!url)
		url = g->cfg.url ? g->cfg.url : g->file_mode ? "none" : DEFAULT_URL;
	if (!reporter)
		reporter = g->cfg.reporter;
	if (gethostname(g->hostname, sizeof g->hostname - 1) < 0)
		snprintf(g->hostname, sizeof g->hostname, "mamori-gw");

	if (gw_config_flows(&g->cfg, &fo, err, sizeof err) < 0 ||
	    gw_config_stats(&g->cfg, &so, err, sizeof err) < 0 ||
	    gw_config_errmap(&g->cfg, &g->map, err, sizeof err) < 0) {
		fprintf(stderr, "mamori-gw: %s\n", err);
		goto out;
	}
	if (reporter) {
		struct mm_reporter_party p;
		if (mm_reporter_party_parse(reporter, &p) < 0) {
			fprintf(stderr, "mamori-gw: reporter: expected ip:ADDR, name:NAME, id:ID or "
					"mac:MAC that X.1367 accepts: %s\n", reporter);
			goto out;
		}
	}
	if (!g->file_mode && nifaces == 0 && g->cfg.interfaces) {
		int n = split_ifaces(g->cfg.interfaces, ifaces);
		if (n < 0) {
			fprintf(stderr, "mamori-gw: [capture] interfaces: more than %d\n",
				GW_MAX_IFACES);
			goto out;
		}
		nifaces = (unsigned)n;
	}
	if (!g->file_mode && nifaces == 0) {
		fprintf(stderr, "mamori-gw: nothing to capture: give -i IFACE, -r FILE or "
				"[capture] interfaces\n");
		status = 2;
		goto out;
	}
	if (strcmp(url, "none") != 0) {
		struct mm_send_url u;
		if (mm_send_url_parse(url, &u) < 0) {
			fprintf(stderr, "mamori-gw: --soc: expected udp://, tcp://, tls://, relp:// or "
					"relp+tls://HOST:PORT or none: %s\n", url);
			goto out;
		}
	}
	if (check) {
		printf("mamori-gw: configuration good (%zu tables, %zu entries)\n",
		       mm_errmap_ntables(g->map), mm_errmap_nentries(g->map));
		status = 0;
		goto out;
	}

	/* Sources first: a wrong interface or file is the likeliest mistake. */
	if (g->file_mode) {
		if (gw_source_open_file(&g->src[0], file, filter, err, sizeof err) < 0) {
			fprintf(stderr, "mamori-gw: %s\n", err);
			goto out;
		}
		g->nsrc = 1;
	} else {
		for (i = 0; i < nifaces; i++) {
			if (gw_source_open_live(&g->src[i], ifaces[i], filter, (int)g->cfg.snaplen,
						g->cfg.promiscuous, (int)g->cfg.buffer, err,
						sizeof err) < 0) {
				fprintf(stderr, "mamori-gw: %s\n", err);
				goto out;
			}
			g->nsrc++;
		}
	}
	if (!reporter) {
		if (!g->file_mode && gw_source_address(g->src[0], addr, sizeof addr) == 0)
			snprintf(reporter_buf, sizeof reporter_buf, "ip:%s", addr);
		else
			snprintf(reporter_buf, sizeof reporter_buf, "name:%s",
				 g->cfg.hostname ? g->cfg.hostname : g->hostname);
		reporter = reporter_buf;
	}
	if (strcmp(url, "none") != 0 && open_sender(g, url) < 0)
		goto out;
	if ((rc = open_reporter(g, reporter)) < 0) {
		fprintf(stderr, "mamori-gw: reporter: %s\n", mm_strerror(rc));
		goto out;
	}
	if (gw_flows_new(&fo, g->rep, &g->flows) < 0 || gw_stats_new(&so, &g->stats) < 0)
		goto nomem;

	if (!foreground && daemon(0, 0) < 0) {
		fprintf(stderr, "mamori-gw: cannot detach: %s\n", strerror(errno));
		goto out;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!g->file_mode)
		log_info("capturing on %u interface%s, reporter %s, sending to %s", g->nsrc,
			 g->nsrc == 1 ? "" : "s", reporter, url);

	status = g->file_mode ? run_file(g) : run_live(g);
	if (g->sender) {
		rc = mm_sender_drain(g->sender, DRAIN_MS);
		if (rc == MM_EAGAIN)
			log_warnx("%s: records not yet confirmed stay in the spool %s", url,
				  g->cfg.spool);
	}
	fflush(stdout);
	if (g->file_mode || verbose)
		log_counters(g);
	goto out;
nomem:
	fprintf(stderr, "mamori-gw: out of memory\n");
out:
	for (i = 0; i < g->nsrc; i++)
		gw_source_close(g->src[i]);
	if (g->flows)
		gw_flows_free(g->flows);
	if (g->stats)
		gw_stats_free(g->stats);
	if (g->rep)
		mm_reporter_free(g->rep);
	if (g->sender)
		mm_sender_free(g->sender);
	if (g->spool)
		mm_spool_close(g->spool);
	mm_errmap_free(g->map);
	gw_config_free(&g->cfg);
	free(g);
	return status;
}
