/*
 * mamori send: reads events, one per line, wraps each in RFC 5424, puts it
 * in a spool and delivers it with the reliable sender (lib/send.c).
 *
 * A line is an X.1367 record (MSGID "X1367", the MSG is the record exactly)
 * or a mamori event object ({"event": "part.noun.verb", ...}; MSGID is the
 * event name). Anything else is reported with its line number and not sent.
 *
 * Input is read ahead of sending, as fast as the spool takes it, so that a
 * sender killed in the middle finds everything it had read in the spool
 * when it is started again on the same --spool directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include "cli.h"
#include "mamori/buf.h"
#include "mamori/clock.h"
#include "mamori/error.h"
#include "mamori/event.h"
#include "mamori/log.h"
#include "mamori/send.h"
#include "mamori/spool.h"
#include "mamori/syslog.h"
#include "mamori/x1367.h"

#define LINE_MAX_BYTES (256 * 1024)
#define READ_CHUNK 65536
#define MSGID_MAX 32

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void send_usage(FILE *out)
{
	fprintf(out,
		"usage: mamori send --to URL [--spool DIR] [--ca FILE] [--cert FILE --key FILE]\n"
		"                   [--server-name NAME] [--framing octet|lf] [--window N]\n"
		"                   [--sync always|interval=MS|never] [--spool-max BYTES]\n"
		"                   [--drop-oldest] [--hostname NAME] [--app-name NAME]\n"
		"                   [--facility N] [--severity N] [--give-up SECONDS]\n"
		"                   [--stats SECONDS] [--follow] [-v] [FILE|-]\n"
		"\n"
		"Reads one event per line from FILE (default: standard input): X.1367\n"
		"records or mamori event objects. Wraps each in RFC 5424, spools it and\n"
		"sends it to URL:\n"
		"  relp://HOST[:PORT]      RELP (default port 2514); each event acknowledged\n"
		"  relp+tls://HOST[:PORT]  RELP over TLS (needs --ca)\n"
		"  tls://HOST[:PORT]       syslog over TLS, RFC 5425 (default port 6514; needs --ca)\n"
		"  tcp://HOST[:PORT]       syslog over TCP, RFC 6587 (default port 514)\n"
		"  udp://HOST[:PORT]       syslog over UDP, RFC 5426 (default port 514)\n"
		"\n"
		"  --spool DIR         keep the spool here (kept between runs; default: a\n"
		"                      temporary directory removed when everything was sent)\n"
		"  --ca FILE           CA certificates the server's certificate must chain to\n"
		"  --cert, --key FILE  client certificate and key (mutual TLS)\n"
		"  --server-name NAME  name the server's certificate must carry (default: HOST)\n"
		"  --framing octet|lf  TCP/TLS framing (default octet counting)\n"
		"  --window N          events in flight (default 1024)\n"
		"  --sync POLICY       spool fsync policy (default interval=100)\n"
		"  --spool-max BYTES   spool size bound (default 64 MiB; K, M, G suffixes)\n"
		"  --drop-oldest       when the spool is full, drop the oldest events instead\n"
		"                      of waiting for room\n"
		"  --hostname NAME     HOSTNAME of the messages (default: this host's name)\n"
		"  --app-name NAME     APP-NAME of the messages (default: mamori)\n"
		"  --facility N        syslog facility 0..23 (default 13, log audit)\n"
		"  --severity N        syslog severity 0..7 (default 5, notice)\n"
		"  --give-up SECONDS   stop when nothing was confirmed for this long at the\n"
		"                      end of the input (default 60; 0: never)\n"
		"  --stats SECONDS     log the counters this often (default 10; 0: never)\n"
		"  --follow            at the end of the input wait for more lines, until\n"
		"                      interrupted (SIGINT, SIGTERM)\n"
		"  -v                  more log output\n"
		"\n"
		"Exit status: 0 when every event was acknowledged (RELP) or written (TCP,\n"
		"TLS, UDP); 1 when some line was not an event, or some events were not\n"
		"confirmed (they stay in the --spool directory); 2 usage or input error.\n");
}

/* A line reader over a file descriptor that never blocks the sender for
 * long: the caller polls before reading. Lines are handed out in place;
 * the buffer is compacted only before it is filled again. */
struct reader {
	int fd;
	struct mm_buf buf;
	size_t start; /* the first byte not handed out yet */
	size_t scan;  /* bytes of buf already searched for a LF */
	int eof;
	unsigned long line;
};

/* Returns 1 with a line in *p and *n (valid until fill_reader()), 0 when no
 * whole line is buffered. */
static int next_line(struct reader *rd, const char **p, size_t *n)
{
	char *nl = NULL;

	if (rd->buf.len > rd->scan)
		nl = memchr(rd->buf.data + rd->scan, '\n', rd->buf.len - rd->scan);
	if (nl == NULL) {
		rd->scan = rd->buf.len;
		if (!rd->eof || rd->start == rd->buf.len)
			return 0;
		/* the last line had no LF */
		*p = rd->buf.data + rd->start;
		*n = rd->buf.len - rd->start;
		rd->start = rd->scan = rd->buf.len;
		rd->line++;
		return 1;
	}
	*p = rd->buf.data + rd->start;
	*n = (size_t)(nl - *p);
	rd->start = rd->scan = (size_t)(nl - rd->buf.data) + 1;
	rd->line++;
	return 1;
}

/* Reads what is there; 0, or MM_ETOOBIG for a line longer than the buffer. */
static int fill_reader(struct reader *rd)
{
	ssize_t n;

	if (rd->start > 0) {
		mm_buf_consume(&rd->buf, rd->start);
		rd->scan -= rd->start;
		rd->start = 0;
	}
	if (mm_buf_reserve(&rd->buf, READ_CHUNK) < 0)
		return MM_ETOOBIG;
	n = read(rd->fd, rd->buf.data + rd->buf.len, READ_CHUNK);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return MM_EIO;
	}
	if (n == 0) {
		rd->eof = 1;
		return 0;
	}
	rd->buf.len += (size_t)n;
	rd->buf.data[rd->buf.len] = '\0';
	return 0;
}

struct wrap {
	const char *hostname, *app_name;
	char procid[16];
	int pri;
	struct mm_x1367_diags diags; /* why a line was not an X.1367 record */
	char why[320];
};

/* An event name is also the MSGID: "part.noun.verb", printable, at most 32. */
static int event_name_ok(const char *e)
{
	size_t i, n = strlen(e);

	if (n == 0 || n > MSGID_MAX || strchr(e, '.') == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!((e[i] >= 'a' && e[i] <= 'z') || (e[i] >= '0' && e[i] <= '9') ||
		      e[i] == '.' || e[i] == '_' || e[i] == '-'))
			return 0;
	return 1;
}

/* Decides the MSGID of a line. 0, or MM_EINVAL with why set. One quick
 * pass checks the JSON and finds a top-level "event"; only a line without
 * one is decoded as an X.1367 record. */
static int classify(struct wrap *w, const char *p, size_t n, char *msgid, const char **why)
{
	struct mm_x1367_record *rec = NULL;
	struct mm_event_peek k;

	if (mm_event_peek(p, n, &k) < 0) {
		*why = "out of memory";
		return MM_EINVAL;
	}
	if (!k.json) {
		*why = k.too_deep ? "JSON nested too deep" : "not JSON";
		return MM_EINVAL;
	}
	if (k.has_event) {
		if (!k.event_string || k.name_len > MSGID_MAX || strlen(k.name) != k.name_len ||
		    !event_name_ok(k.name)) {
			*why = "\"event\" must be a name like \"part.noun.verb\" of at most 32 "
			       "characters a-z 0-9 . _ -";
			return MM_EINVAL;
		}
		memcpy(msgid, k.name, k.name_len + 1);
		return 0;
	}
	if (mm_x1367_decode(p, n, MM_X1367_LENIENT, &rec, NULL) == 0) {
		mm_x1367_free(rec);
		memcpy(msgid, "X1367", sizeof "X1367");
		return 0;
	}
	/* Rare: decode again for the first problem, so the user learns why. */
	mm_x1367_decode(p, n, MM_X1367_LENIENT, &rec, &w->diags);
	mm_x1367_free(rec);
	snprintf(w->why, sizeof w->why,
		 "neither a mamori event (no \"event\") nor an X.1367 record (%s%s%s)",
		 w->diags.v[0].attr, w->diags.v[0].attr[0] ? ": " : "", w->diags.v[0].msg);
	*why = w->why;
	return MM_EINVAL;
}

static int wrap_line(struct wrap *w, const char *p, size_t n, struct mm_buf *out,
		     const char **why)
{
	char msgid[MSGID_MAX + 1];
	struct timespec now;
	struct mm_syslog_out o;
	int rc;

	if ((rc = classify(w, p, n, msgid, why)) < 0)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	memset(&o, 0, sizeof o);
	o.pri = w->pri;
	o.time = &now;
	o.hostname = w->hostname;
	o.app_name = w->app_name;
	o.procid = w->procid;
	o.msgid = msgid;
	o.msg = p;
	o.msg_len = n;
	mm_buf_reset(out);
	if ((rc = mm_syslog_encode(&o, out)) < 0)
		*why = rc == MM_ETOOBIG ? "too long" : "not valid UTF-8";
	return rc;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return MM_EINVAL;
	*v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *v > max)
		return MM_EINVAL;
	return 0;
}

static int parse_size(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	if (*s < '0' || *s > '9')
		return MM_EINVAL;
	x = strtoull(s, &end, 10);
	if (errno != 0)
		return MM_EINVAL;
	switch (*end) {
	case 'K': x *= 1024ULL; end++; break;
	case 'M': x *= 1024ULL * 1024; end++; break;
	case 'G': x *= 1024ULL * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end != '\0' || x == 0 || x > (1ULL << 40))
		return MM_EINVAL;
	*v = x;
	return 0;
}

/* Removes a temporary spool directory and what the spool put in it. */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path)
			unlink(path);
	}
	closedir(d);
	if (rmdir(dir) < 0)
		log_warn("%s", dir);
}

struct send_args {
	struct mm_sender_opts so;
	struct mm_spool_opts spo;
	const char *spool_dir, *input;
	unsigned long give_up_s, stats_s;
	int follow, verbose;
	struct wrap w;
};

static int parse_args(int argc, char **argv, struct send_args *a)
{
	enum { OPT_TO = 256, OPT_SPOOL, OPT_CA, OPT_CERT, OPT_KEY, OPT_NAME, OPT_FRAMING, OPT_WINDOW, OPT_SYNC,
	       OPT_MAX, OPT_DROP, OPT_HOST, OPT_APP, OPT_FAC, OPT_SEV, OPT_GIVEUP, OPT_STATS, OPT_FOLLOW };
	static const struct option opts[] = {
		{ "to", required_argument, NULL, OPT_TO },
		{ "spool", required_argument, NULL, OPT_SPOOL },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "server-name", required_argument, NULL, OPT_NAME },
		{ "framing", required_argument, NULL, OPT_FRAMING },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "sync", required_argument, NULL, OPT_SYNC },
		{ "spool-max", required_argument, NULL, OPT_MAX },
		{ "drop-oldest", no_argument, NULL, OPT_DROP },
		{ "hostname", required_argument, NULL, OPT_HOST },
		{ "app-name", required_argument, NULL, OPT_APP },
		{ "facility", required_argument, NULL, OPT_FAC },
		{ "severity", required_argument, NULL, OPT_SEV },
		{ "give-up", required_argument, NULL, OPT_GIVEUP },
		{ "stats", required_argument, NULL, OPT_STATS },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v, facility = 13, severity = 5;
	int c, have_to = 0;

	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TO:
			if (mm_send_url_parse(optarg, &a->so.url) < 0) {
				log_warnx("--to: '%s' is not relp|relp+tls|tls|tcp|udp://HOST[:PORT]",
					  optarg);
				return CLI_USAGE;
			}
			have_to = 1;
			break;
		case OPT_SPOOL: a->spool_dir = optarg; break;
		case OPT_CA: a->so.ca_file = optarg; break;
		case OPT_CERT: a->so.cert_file = optarg; break;
		case OPT_KEY: a->so.key_file = optarg; break;
		case OPT_NAME: a->so.server_name = optarg; break;
		case OPT_FRAMING:
			if (strcmp(optarg, "octet") == 0)
				a->so.framing = MM_SEND_OCTET;
			else if (strcmp(optarg, "lf") == 0)
				a->so.framing = MM_SEND_LF;
			else {
				log_warnx("--framing: octet or lf, not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case OPT_WINDOW:
			if (parse_uint(optarg, 1000000, &v) < 0 || v == 0) {
				log_warnx("--window: a number 1..1000000, not '%s'", optarg);
				return CLI_USAGE;
			}
			a->so.window = (unsigned)v;
			break;
		case OPT_SYNC:
			if (mm_spool_sync_parse(optarg, &a->spo) < 0) {
				log_warnx("--sync: always, never or interval=MS, not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case OPT_MAX:
			if (parse_size(optarg, &a->spo.max_bytes) < 0) {
				log_warnx("--spool-max: a size like 1048576, 64M or 1G, not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case OPT_DROP: a->spo.drop_oldest = 1; break;
		case OPT_HOST: a->w.hostname = optarg; break;
		case OPT_APP: a->w.app_name = optarg; break;
		case OPT_FAC:
			if (parse_uint(optarg, 23, &facility) < 0) {
				log_warnx("--facility: a number 0..23, not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case OPT_SEV:
			if (parse_uint(optarg, 7, &severity) < 0) {
				log_warnx("--severity: a number 0..7, not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case OPT_GIVEUP:
			if (parse_uint(optarg, 86400 * 365, &a->give_up_s) < 0) {
				log_warnx("--give-up: seconds, not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case OPT_STATS:
			if (parse_uint(optarg, 86400, &a->stats_s) < 0) {
				log_warnx("--stats: seconds, not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case OPT_FOLLOW: a->follow = 1; break;
		case 'v': a->verbose++; break;
		case 'h': send_usage(stdout); return CLI_OK;
		default: send_usage(stderr); return CLI_USAGE;
		}
	}
	if (!have_to) {
		log_warnx("--to URL is required");
		send_usage(stderr);
		return CLI_USAGE;
	}
	if (argc - optind > 1) {
		log_warnx("one input file at most");
		send_usage(stderr);
		return CLI_USAGE;
	}
	a->input = optind < argc ? argv[optind] : "-";
	a->w.pri = (int)(facility * 8 + severity);
	a->so.stats_ms = (unsigned)(a->stats_s * 1000);
	return -1;
}

/* Everything one run holds, so that the end is one function. */
struct run {
	struct send_args *a;
	struct reader rd;
	struct mm_spool *sp;
	struct mm_sender *s;
	struct mm_buf msg;   /* the wrapped line waiting for room in the spool */
	int have_msg;
	char tmpdir[PATH_MAX];
	unsigned long invalid;
	uint64_t spooled;
};

/* Moves input lines into the spool until the input has nothing more right
 * now or the spool is full. Returns 1 when it moved something, 0 when not,
 * MM_EIO on a read or spool error. */
static int spool_input(struct run *r)
{
	const char *p, *why = NULL;
	size_t n;
	int rc, rounds = 0, moved = 0;

	for (;;) {
		if (r->have_msg) {
			/* Wait for the sender to make room rather than refuse: this
			 * producer can wait, and the input keeps what it has not read. */
			if (!r->a->spo.drop_oldest && !mm_spool_fits(r->sp, r->msg.len))
				return moved;
			rc = mm_spool_append(r->sp, r->msg.data, r->msg.len);
			if (rc < 0) {
				log_warnx("spool: cannot append: %s", mm_strerror(rc));
				return MM_EIO;
			}
			r->have_msg = 0;
			r->spooled++;
			moved = 1;
		}
		if (next_line(&r->rd, &p, &n)) {
			if (n > 0 && p[n - 1] == '\r')
				n--;
			if (n == 0 || strspn(p, " \t") >= n)
				continue;
			if (wrap_line(&r->a->w, p, n, &r->msg, &why) < 0) {
				log_warnx("%s:%lu: %s; not sent", r->a->input, r->rd.line, why);
				r->invalid++;
				continue;
			}
			r->have_msg = 1;
			continue;
		}
		if (r->rd.eof || rounds++ > 16)
			return moved;
		{
			struct pollfd pfd = { .fd = r->rd.fd, .events = POLLIN };
			if (poll(&pfd, 1, 0) != 1)
				return moved;
		}
		moved = 1;
		if ((rc = fill_reader(&r->rd)) == MM_ETOOBIG) {
			log_warnx("%s:%lu: line longer than %d bytes", r->a->input, r->rd.line + 1,
				  LINE_MAX_BYTES);
			return MM_EIO;
		} else if (rc < 0) {
			log_warn("%s", r->a->input);
			return MM_EIO;
		}
	}
}

static int open_spool(struct run *r)
{
	struct mm_spool_recovery rec;
	const char *dir = r->a->spool_dir;
	int rc;

	if (dir == NULL) {
		const char *t = getenv("TMPDIR");
		if ((size_t)snprintf(r->tmpdir, sizeof r->tmpdir, "%s/mamori-send.XXXXXX",
				     t && *t ? t : "/tmp") >= sizeof r->tmpdir ||
		    mkdtemp(r->tmpdir) == NULL) {
			log_warn("cannot make a temporary spool directory");
			return MM_EIO;
		}
		dir = r->tmpdir;
	}
	memset(&rec, 0, sizeof rec);
	if ((rc = mm_spool_open(dir, &r->a->spo, &r->sp, &rec)) < 0) {
		log_warnx("spool %s: %s", dir, rc == MM_EAGAIN ? "in use by another process"
							      : mm_strerror(rc));
		return rc;
	}
	if (rec.records > 0 || rec.torn_bytes > 0)
		log_info("spool %s: %llu events waiting from before; %llu torn bytes cut from %u "
			 "segment(s)", dir, (unsigned long long)rec.records,
			 (unsigned long long)rec.torn_bytes, rec.torn_segments);
	return 0;
}

static int spool_empty(struct mm_spool *sp)
{
	return mm_spool_first_unacked(sp) == mm_spool_next_seq(sp);
}

/* Runs until the input is done (or forever with --follow) and then drains.
 * Returns the exit status. */
static int run_loop(struct run *r)
{
	uint64_t last_progress = mm_clock_ms(), last_acked = 0;
	struct mm_send_counters c;
	int rc, moved, reported = 0;

	while (!stop_flag) {
		int input_done = r->rd.eof && !r->have_msg && !r->a->follow;
		if ((moved = spool_input(r)) < 0)
			return CLI_USAGE;
		if (r->rd.eof && r->a->follow) {
			r->rd.eof = 0; /* look again for lines appended meanwhile */
			if (mm_sender_run(r->s, 100) < 0)
				return CLI_INVALID;
			continue;
		}
		if (input_done && !reported) {
			log_info("input: %llu events spooled, %lu lines not events",
				 (unsigned long long)r->spooled, r->invalid);
			reported = 1;
		}
		rc = input_done ? mm_sender_drain(r->s, 200)
				: mm_sender_run(r->s, moved ? 0 : 20);
		if (rc == MM_EIO)
			return CLI_INVALID;
		if (input_done && rc == 0)
			return CLI_OK;
		mm_sender_counters(r->s, &c);
		if (c.acked + c.dropped != last_acked) {
			last_acked = c.acked + c.dropped;
			last_progress = mm_clock_ms();
		}
		if (mm_sender_auth_failed(r->s) && !r->a->follow) {
			log_warnx("giving up: a certificate was refused (see above)");
			return CLI_INVALID;
		}
		if (input_done && r->a->give_up_s > 0 &&
		    mm_clock_ms() - last_progress >= r->a->give_up_s * 1000) {
			log_warnx("giving up: nothing confirmed for %lu s", r->a->give_up_s);
			return CLI_INVALID;
		}
	}
	/* Interrupted: a last short try to deliver what is spooled. */
	log_info("interrupted; delivering what is spooled");
	stop_flag = 0;
	rc = mm_sender_drain(r->s, 5000);
	return rc == 0 && !r->have_msg ? CLI_OK : CLI_INVALID;
}

int cmd_send(int argc, char **argv)
{
	struct send_args a;
	struct run r;
	char host[256];
	int rc, status;
	struct sigaction sa;

	memset(&a, 0, sizeof a);
	mm_sender_opts_default(&a.so);
	mm_spool_opts_default(&a.spo);
	a.give_up_s = 60;
	a.stats_s = 10;
	a.w.app_name = "mamori";
	optind = 1;
	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	mm_log_verbose(a.verbose);
	if (a.w.hostname == NULL) {
		if (gethostname(host, sizeof host) < 0)
			memcpy(host, "-", 2);
		host[sizeof host - 1] = '\0';
		a.w.hostname = host;
	}
	snprintf(a.w.procid, sizeof a.w.procid, "%ld", (long)getpid());

	memset(&r, 0, sizeof r);
	r.a = &a;
	mm_buf_init(&r.rd.buf, LINE_MAX_BYTES);
	mm_buf_init(&r.msg, a.spo.max_record);
	if (strcmp(a.input, "-") == 0) {
		r.rd.fd = STDIN_FILENO;
	} else if ((r.rd.fd = open(a.input, O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("%s", a.input);
		status = CLI_USAGE;
		goto out;
	}
	if (open_spool(&r) < 0) {
		status = CLI_USAGE;
		goto out;
	}
	if (mm_sender_new(&a.so, r.sp, &r.s) < 0) {
		status = CLI_USAGE;
		goto out;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	status = run_loop(&r);
	mm_sender_log_counters(r.s, "done");
	if (status == CLI_OK && r.invalid > 0)
		status = CLI_INVALID;
out:
	if (r.s != NULL)
		mm_sender_free(r.s);
	if (r.sp != NULL) {
		int empty = spool_empty(r.sp);
		mm_spool_close(r.sp);
		if (r.tmpdir[0] != '\0') {
			if (empty)
				remove_dir(r.tmpdir);
			else
				log_warnx("events not confirmed are kept in %s; send them with "
					  "--spool %s", r.tmpdir, r.tmpdir);
		}
	}
	if (r.rd.fd > STDIN_FILENO)
		close(r.rd.fd);
	mm_buf_free(&r.rd.buf);
	mm_buf_free(&r.msg);
	return status;
}
