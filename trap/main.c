/*
 * mamori-trap: the telnet honeypot (mamori-trap(8)). Reads its
 * configuration, loads the persona, the ATT&CK table and the credential
 * dictionary, opens its folder, the capture store, the event log and the
 * spool, binds its port, and then gives up root (user, capabilities,
 * seccomp without fork) before it reads a byte from anyone. One libevent
 * loop serves every session (session.c), turns the sender every 100 ms and
 * logs the counters.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/path.h"
#include "mamori/reporter.h"
#include "mamori/sandbox.h"
#include "mamori/send.h"
#include "mamori/spool.h"
#include "mamori/x1367.h"

#include "capture.h"
#include "event.h"
#include "exec.h"
#include "persona.h"
#include "trap.h"

#define SENDER_TICK_MS 100
#define STATS_S 60
#define DRAIN_MS 5000

struct trap {
	struct trap_config cfg;
	struct trap_persona *persona;
	struct trap_attack *attack;
	struct trap_login *login;
	struct trap_limits *limits;
	struct trap_capture *capture;
	struct trap_events *events;
	struct mm_spool *spool;
	struct mm_sender *sender;
	struct mm_reporter *rep;
	struct trap_server *server;
	struct trap_fetch *fetch;
	struct event_base *base;
	struct event *ev_sender, *ev_stats, *ev_int, *ev_term;
	int dir_fd, lfd;
	int verbose;
	char hostname[256];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mamori-trap [-dnv] [-f CONF] [-p PORT] [-s DIR] [--persona NAME]\n"
		"                   [--listen ADDR] [--soc URL|none] [--seed N]\n"
		"       mamori-trap --shell ...\n"
		"\n"
		"A telnet honeypot that answers as IoT devices do, records every login\n"
		"and command, and captures the files bots drop.\n"
		"\n"
		"  -f CONF         configuration (default " TRAP_DEFAULT_CONF " if it exists)\n"
		"  -p PORT         telnet port (default 2323)\n"
		"  -s DIR          events, recordings, captures, spool (default\n"
		"                  /var/lib/mamori/trap)\n"
		"  --persona NAME  the device to be (default dvr-arm)\n"
		"  --listen ADDR   the address to bind (default 0.0.0.0)\n"
		"  --soc URL       udp://, tcp://, tls://, relp:// or relp+tls://HOST:PORT, or\n"
		"                  none (default " TRAP_DEFAULT_URL ")\n"
		"  --seed N        the persona's instance seed (default random, logged)\n"
		"  --shell ...     the shell emulation on standard input, without the network\n"
		"  -d              foreground, log to stderr, events copied to stdout\n"
		"  -n              check the configuration and exit (0 good, 1 bad)\n"
		"  -v              more logging, and the counters every minute\n"
		"  -h, --help      this text     -V, --version   the version\n"
		"\n"
		"See mamori-trap(8) and mamori-trap.conf(5).\n");
}

static int parse_num(const char *opt, const char *s, long long min, long long max,
		     long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno || *end || end == s || *v < min || *v > max) {
		fprintf(stderr, "mamori-trap: %s: expected a number from %lld to %lld: %s\n", opt,
			min, max, s);
		return -1;
	}
	return 0;
}

static int set_str(char **dst, const char *v)
{
	char *d = strdup(v);

	if (!d)
		return MM_ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

/* ---- start ---- */

/* DIR and its folders, given to the user the trap becomes. */
static int open_dir(struct trap *t, uid_t uid, gid_t gid, int chown_them)
{
	static const char *const sub[] = {"log", "tty", "downloads", "spool"};
	char path[4096];
	size_t i;

	if (mm_mkdir_p(t->cfg.dir, 0750) < 0) {
		log_warn("%s", t->cfg.dir);
		return MM_EIO;
	}
	if (chown_them && chown(t->cfg.dir, uid, gid) < 0)
		log_warn("chown %s", t->cfg.dir);
	for (i = 0; i < sizeof sub / sizeof sub[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", t->cfg.dir, sub[i]);
		if (mkdir(path, 0750) < 0 && errno != EEXIST) {
			log_warn("%s", path);
			return MM_EIO;
		}
		if (chown_them && chown(path, uid, gid) < 0) {
			log_warn("chown %s", path);
			return MM_EIO;
		}
	}
	if (t->cfg.spool && chown_them) {
		if (mm_mkdir_p(t->cfg.spool, 0750) < 0 || chown(t->cfg.spool, uid, gid) < 0) {
			log_warn("%s", t->cfg.spool);
			return MM_EIO;
		}
	}
	t->dir_fd = open(t->cfg.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dir_fd < 0) {
		log_warn("%s", t->cfg.dir);
		return MM_EIO;
	}
	return 0;
}

static int open_sender(struct trap *t, const char *url, const char *spool)
{
	struct mm_spool_opts so;
	struct mm_sender_opts o;
	struct mm_spool_recovery rec;
	int rc;

	mm_spool_opts_default(&so);
	so.max_bytes = (uint64_t)t->cfg.spool_max;
	if (t->cfg.spool_sync && mm_spool_sync_parse(t->cfg.spool_sync, &so) < 0)
		return MM_EINVAL; /* checked with the configuration */
	mm_sender_opts_default(&o);
	if (mm_send_url_parse(url, &o.url) < 0)
		return MM_EINVAL;
	o.ca_file = t->cfg.ca;
	o.cert_file = t->cfg.cert;
	o.key_file = t->cfg.key;
	o.server_name = t->cfg.server_name;
	if ((rc = mm_spool_open(spool, &so, &t->spool, &rec)) < 0) {
		log_warnx("spool %s: %s", spool, mm_strerror(rc));
		return rc;
	}
	if (rec.records > 0)
		log_info("spool %s: %llu records from before are sent first", spool,
			 (unsigned long long)rec.records);
	if ((rc = mm_sender_new(&o, t->spool, &t->sender)) < 0)
		log_warnx("sender %s: %s", url, mm_strerror(rc));
	return rc;
}

/* The X.1367 Reporter: the configured one, the listen address when it is a
 * real address, else the host name. */
static int open_reporter(struct trap *t)
{
	struct mm_reporter_opts o;
	char buf[300];
	const char *r = t->cfg.reporter;
	int rc;

	if (!r) {
		if (strcmp(t->cfg.listen, "0.0.0.0") != 0 && strcmp(t->cfg.listen, "::") != 0)
			snprintf(buf, sizeof buf, "ip:%s", t->cfg.listen);
		else
			snprintf(buf, sizeof buf, "name:%s",
				 t->cfg.hostname ? t->cfg.hostname : t->hostname);
		r = buf;
	}
	mm_reporter_opts_default(&o);
	if ((rc = mm_reporter_party_parse(r, &o.reporter)) < 0) {
		log_warnx("reporter %s: expected ip:ADDR, name:NAME, id:ID or mac:MAC", r);
		return rc;
	}
	o.spool = t->spool;
	o.hostname = t->cfg.hostname ? t->cfg.hostname : t->hostname;
	o.app_name = "mamori-trap";
	if ((rc = mm_reporter_new(&o, &t->rep)) < 0)
		log_warnx("reporter %s: %s", r, mm_strerror(rc));
	return rc;
}

static int bind_listener(struct trap *t)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, zero = 0, fam;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, t->cfg.listen, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)t->cfg.port);
		len = sizeof *s4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		if (inet_pton(AF_INET6, t->cfg.listen, &s6->sin6_addr) != 1)
			return MM_EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)t->cfg.port);
		len = sizeof *s6;
	}
	fam = ss.ss_family;
	if ((fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("socket");
		return MM_EIO;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* "::" takes IPv4 too, as the man page says. */
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0) {
		log_warn("%s port %lld", t->cfg.listen, t->cfg.port);
		close(fd);
		return MM_EIO;
	}
	t->lfd = fd;
	return 0;
}

/* The file limit the sessions (and the fetches, when there are) need,
 * raised while still root. */
static unsigned long long raise_files(long long max_sessions, long long fetches)
{
	unsigned long long want = 2ULL * (unsigned long long)max_sessions + 64 +
				  (unsigned long long)fetches;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max >= want && rl.rlim_cur >= want)
		return want;
	rl.rlim_cur = rl.rlim_max = (rlim_t)want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		return want;
	getrlimit(RLIMIT_NOFILE, &rl);
	log_warnx("the file limit stays %llu (max_sessions %lld wants %llu)",
		  (unsigned long long)rl.rlim_max, max_sessions, want);
	return (unsigned long long)rl.rlim_max;
}

/* ---- the loop's timers ---- */

static void log_counters(struct trap *t)
{
	struct trap_server_stats ss;
	struct trap_limits_stats ls;
	struct trap_events_stats es;
	uint64_t cbytes = 0, cfiles = 0;

	trap_server_stats(t->server, &ss);
	trap_limits_stats(t->limits, &ls);
	trap_events_stats(t->events, &es);
	trap_capture_usage(t->capture, &cbytes, &cfiles);
	log_info("sessions %llu (open %llu, refused %llu: max_sessions %llu, per_address %llu, "
		 "rate %llu), logins %llu (failed %llu), lines %llu, downloads %llu, runs %llu, "
		 "files %llu, timeouts %llu, memory %llu bytes (closed for it %llu), "
		 "not recorded %llu",
		 (unsigned long long)ss.sessions, (unsigned long long)ss.open,
		 (unsigned long long)ss.refused, (unsigned long long)ls.refused_sessions,
		 (unsigned long long)ls.refused_address, (unsigned long long)ls.refused_rate,
		 (unsigned long long)ss.logins_ok, (unsigned long long)ss.logins_failed,
		 (unsigned long long)ss.lines, (unsigned long long)ss.downloads,
		 (unsigned long long)ss.runs, (unsigned long long)ss.files,
		 (unsigned long long)ss.timeouts, (unsigned long long)ss.memory,
		 (unsigned long long)ss.memory_closed, (unsigned long long)ss.unrecorded);
	log_info("addresses %u (evicted %llu, login table evicted %llu), store %llu files "
		 "%llu bytes, events %llu (spooled %llu, refused %llu, errors %llu, log rotated "
		 "%llu)",
		 ls.addresses, (unsigned long long)ls.evicted,
		 (unsigned long long)trap_login_evicted(t->login), (unsigned long long)cfiles,
		 (unsigned long long)cbytes, (unsigned long long)es.lines,
		 (unsigned long long)es.spooled, (unsigned long long)es.refused,
		 (unsigned long long)es.errors, (unsigned long long)es.rotations);
	if (t->fetch) {
		struct trap_fetch_stats fs;

		trap_fetch_stats(t->fetch, &fs);
		log_info("fetches %llu (running %u, fetched %llu, failed %llu, denied %llu), not "
			 "begun %llu (fetch_concurrent %llu, not fetched URLs %llu)",
			 (unsigned long long)fs.started, fs.active, (unsigned long long)fs.fetched,
			 (unsigned long long)fs.failed, (unsigned long long)fs.denied,
			 (unsigned long long)(fs.dropped + fs.refused),
			 (unsigned long long)fs.dropped, (unsigned long long)fs.refused);
	}
}

static void on_sender(evutil_socket_t fd, short what, void *arg)
{
	struct trap *t = arg;

	(void)fd;
	(void)what;
	if (mm_sender_run(t->sender, 0) < 0) {
		log_warnx("the spool failed; stopping");
		event_base_loopbreak(t->base);
	}
}

static void on_stats(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	log_counters(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct trap *t = arg;

	(void)what;
	log_info("signal %d: closing the sessions", (int)sig);
	event_base_loopbreak(t->base);
}

static int add_timer(struct trap *t, struct event **ev, unsigned ms, event_callback_fn fn)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	if (!(*ev = event_new(t->base, -1, EV_PERSIST, fn, t)) || event_add(*ev, &tv) < 0)
		return MM_ENOMEM;
	return 0;
}

/* ---- main ---- */

enum { O_PERSONA = 256, O_LISTEN, O_SOC, O_SEED, O_SHELL };

static int has_shell(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--shell") == 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"persona", required_argument, NULL, O_PERSONA},
		{"listen", required_argument, NULL, O_LISTEN},
		{"soc", required_argument, NULL, O_SOC},
		{"seed", required_argument, NULL, O_SEED},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct trap *t;
	const char *conf = NULL, *url;
	long long port = -1, seed = -1;
	const char *dir = NULL, *persona = NULL, *listen_addr = NULL, *soc = NULL;
	int foreground = 0, check = 0, ch, rc, status = 1, chown_them = 0, sandboxed = 0;
	char err[512] = "", spool_path[4096];
	uid_t uid = 0;
	gid_t gid = 0;
	unsigned long long max_files;
	struct trap_login_opts lo;
	struct trap_limits_opts mo;
	struct trap_events_opts eo;
	struct trap_server_opts so;
	struct mm_sandbox_opts sb;
	uint64_t useed;

	if (has_shell(argc, argv))
		return trap_shell_main(argc, argv);
	if (!(t = calloc(1, sizeof *t))) {
		fprintf(stderr, "mamori-trap: out of memory\n");
		return 1;
	}
	t->dir_fd = t->lfd = -1;
	if (trap_config_init(&t->cfg) < 0) {
		fprintf(stderr, "mamori-trap: out of memory\n");
		free(t);
		return 1;
	}
	while ((ch = getopt_long(argc, argv, "dnvf:p:s:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': foreground = 1; break;
		case 'n': check = 1; break;
		case 'v': t->verbose++; break;
		case 'f': conf = optarg; break;
		case 'p':
			if (parse_num("-p", optarg, 1, 65535, &port) < 0) {
				status = 2;
				goto out;
			}
			break;
		case 's': dir = optarg; break;
		case O_PERSONA: persona = optarg; break;
		case O_LISTEN: listen_addr = optarg; break;
		case O_SOC: soc = optarg; break;
		case O_SEED:
			if (parse_num("--seed", optarg, 0, INT64_MAX, &seed) < 0) {
				status = 2;
				goto out;
			}
			break;
		case 'h': usage(stdout); status = 0; goto out;
		case 'V': printf("mamori-trap %s\n", MAMORI_VERSION); status = 0; goto out;
		default: usage(stderr); status = 2; goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mamori-trap: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		status = 2;
		goto out;
	}
	mm_log_init(foreground || check, "mamori-trap");
	mm_log_verbose(t->verbose);

	if (!conf && access(TRAP_DEFAULT_CONF, F_OK) == 0)
		conf = TRAP_DEFAULT_CONF;
	if (conf && trap_config_load(&t->cfg, conf, err, sizeof err) < 0) {
		fprintf(stderr, "mamori-trap: %s\n", err);
		goto out;
	}
	/* The command line wins over the file. */
	if (port > 0)
		t->cfg.port = port;
	if (seed >= 0)
		t->cfg.seed = seed;
	if ((dir && set_str(&t->cfg.dir, dir) < 0) ||
	    (persona && set_str(&t->cfg.persona, persona) < 0) ||
	    (listen_addr && set_str(&t->cfg.listen, listen_addr) < 0) ||
	    (soc && set_str(&t->cfg.url, soc) < 0))
		goto nomem;
	if (trap_config_check(&t->cfg, err, sizeof err) < 0) {
		fprintf(stderr, "mamori-trap: %s\n", err);
		goto out;
	}
	url = t->cfg.url ? t->cfg.url : TRAP_DEFAULT_URL;
	if (gethostname(t->hostname, sizeof t->hostname - 1) < 0)
		snprintf(t->hostname, sizeof t->hostname, "mamori-trap");

	if (t->cfg.seed >= 0) {
		useed = (uint64_t)t->cfg.seed;
	} else {
		if (getrandom(&useed, sizeof useed, 0) != sizeof useed)
			useed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
		useed &= (uint64_t)INT64_MAX;
	}
	if ((rc = trap_persona_load(t->cfg.personas, t->cfg.persona, useed, &t->persona, err,
				    sizeof err)) < 0) {
		fprintf(stderr, "mamori-trap: persona %s: %s\n", t->cfg.persona, err);
		goto out;
	}
	if ((rc = trap_attack_load(t->cfg.attack, &t->attack, err, sizeof err)) < 0) {
		fprintf(stderr, "mamori-trap: %s\n", err);
		goto out;
	}
	memset(&lo, 0, sizeof lo);
	lo.credentials = t->cfg.credentials;
	lo.accept = t->cfg.accept;
	lo.accept_after = (uint32_t)t->cfg.accept_after;
	lo.max_addresses = (uint32_t)t->cfg.max_addresses;
	if ((rc = trap_login_new(&lo, &t->login, err, sizeof err)) < 0) {
		fprintf(stderr, "mamori-trap: [login] credentials: %s\n",
			err[0] ? err : mm_strerror(rc));
		goto out;
	}
	mo.max_sessions = (uint32_t)t->cfg.max_sessions;
	mo.per_address = (uint32_t)t->cfg.per_address;
	mo.rate_per_minute = (uint32_t)t->cfg.rate_per_address;
	mo.max_addresses = (uint32_t)t->cfg.max_addresses;
	if (trap_limits_new(&mo, &t->limits) < 0)
		goto nomem;
	if (check) {
		printf("mamori-trap: configuration good (persona %s, %zu pairs accepted by the "
		       "dictionary)\n",
		       t->persona->name ? t->persona->name : t->cfg.persona,
		       trap_login_pairs(t->login));
		status = 0;
		goto out;
	}

	/* Root gives DIR to the user it becomes; anyone else keeps its own. */
	if (geteuid() == 0 && t->cfg.user && *t->cfg.user) {
		if (mm_sandbox_user(t->cfg.user, &uid, &gid) < 0) {
			fprintf(stderr, "mamori-trap: [trap] user: no user %s\n", t->cfg.user);
			goto out;
		}
		chown_them = 1;
	}
	snprintf(spool_path, sizeof spool_path, "%s/spool", t->cfg.dir);
	if (open_dir(t, uid, gid, chown_them) < 0) {
		fprintf(stderr, "mamori-trap: %s cannot be made or opened\n", t->cfg.dir);
		goto out;
	}
	if ((rc = trap_capture_open(t->dir_fd, (uint64_t)t->cfg.capture_max_bytes,
				    (uint64_t)t->cfg.capture_max_file, &t->capture)) < 0) {
		fprintf(stderr, "mamori-trap: capture store: %s\n", mm_strerror(rc));
		goto out;
	}
	if (strcmp(url, "none") != 0 &&
	    open_sender(t, url, t->cfg.spool ? t->cfg.spool : spool_path) < 0) {
		fprintf(stderr, "mamori-trap: cannot send to %s\n", url);
		goto out;
	}
	if (t->spool && open_reporter(t) < 0) {
		fprintf(stderr, "mamori-trap: the reporter cannot be made\n");
		goto out;
	}
	memset(&eo, 0, sizeof eo);
	eo.dir_fd = t->dir_fd;
	eo.sensor = t->cfg.sensor ? t->cfg.sensor : t->hostname;
	eo.attack = t->attack;
	eo.rep = t->rep;
	eo.quiet = !foreground;
	eo.log_max = (uint64_t)t->cfg.log_max;
	eo.log_keep = (unsigned)t->cfg.log_keep;
	if ((rc = trap_events_open(&eo, &t->events)) < 0) {
		fprintf(stderr, "mamori-trap: %s/log/events.json: %s\n", t->cfg.dir,
			mm_strerror(rc));
		goto out;
	}
	if (bind_listener(t) < 0) {
		fprintf(stderr, "mamori-trap: cannot listen on %s port %lld\n", t->cfg.listen,
			t->cfg.port);
		goto out;
	}
	/* A fetch holds one socket; the resolver a few. */
	max_files = raise_files(t->cfg.max_sessions,
				t->cfg.fetch ? t->cfg.fetch_concurrent + 8 : 0);
	if (!foreground && daemon(0, 0) < 0) {
		fprintf(stderr, "mamori-trap: cannot detach: %s\n", strerror(errno));
		goto out;
	}
	if (!(t->base = event_base_new()))
		goto nomem;
	memset(&so, 0, sizeof so);
	so.cfg = &t->cfg;
	so.persona = t->persona;
	so.attack = t->attack;
	so.events = t->events;
	so.capture = t->capture;
	so.login = t->login;
	so.limits = t->limits;
	so.dir_fd = t->dir_fd;
	if (t->cfg.fetch) {
		if (trap_fetch_new(t->base, &t->cfg, t->capture, t->events, &t->fetch) < 0)
			goto nomem;
		so.fetch = t->fetch;
	}
	so.login_delay_ms =
		t->cfg.delay_ms >= 0 ? (unsigned)t->cfg.delay_ms : t->persona->login_delay_ms;
	if (trap_server_new(t->base, t->lfd, &so, &t->server) < 0) {
		fprintf(stderr, "mamori-trap: cannot serve the listening socket\n");
		goto out;
	}
	t->lfd = -1; /* the listener owns it */
	if ((t->sender && add_timer(t, &t->ev_sender, SENDER_TICK_MS, on_sender) < 0) ||
	    (t->verbose && add_timer(t, &t->ev_stats, STATS_S * 1000, on_stats) < 0))
		goto nomem;
	t->ev_int = evsignal_new(t->base, SIGINT, on_signal, t);
	t->ev_term = evsignal_new(t->base, SIGTERM, on_signal, t);
	if (!t->ev_int || !t->ev_term || event_add(t->ev_int, NULL) < 0 ||
	    event_add(t->ev_term, NULL) < 0)
		goto nomem;
	signal(SIGPIPE, SIG_IGN);

	mm_sandbox_opts_default(&sb);
	sb.user = chown_them ? t->cfg.user : NULL;
	sb.seccomp = 1;
	sb.no_fork = 1;
	sb.max_files = max_files;
	if (mm_sandbox_enter(&sb) < 0) {
		fprintf(stderr, "mamori-trap: cannot drop privileges\n");
		goto out;
	}
	sandboxed = 1;
	log_info("listening on %s port %lld as %s, persona %s (host %s, seed %llu), sending "
		 "to %s",
		 t->cfg.listen, t->cfg.port, chown_them ? t->cfg.user : "the starting user",
		 t->cfg.persona, t->persona->hostname ? t->persona->hostname : "?",
		 (unsigned long long)useed, url);

	event_base_dispatch(t->base);

	trap_server_shutdown(t->server);
	/* The counters first, with the fetches still running; those end now,
	 * each with its event. */
	log_counters(t);
	trap_fetch_free(t->fetch);
	t->fetch = NULL;
	fflush(stdout);
	if (t->sender) {
		rc = mm_sender_drain(t->sender, DRAIN_MS);
		if (rc == MM_EAGAIN)
			log_warnx("%s: events not yet confirmed stay in the spool", url);
	}
	status = 0;
	goto out;
nomem:
	fprintf(stderr, "mamori-trap: out of memory\n");
out:
	if (t->server)
		trap_server_free(t->server);
	trap_fetch_free(t->fetch);
	if (t->ev_sender)
		event_free(t->ev_sender);
	if (t->ev_stats)
		event_free(t->ev_stats);
	if (t->ev_int)
		event_free(t->ev_int);
	if (t->ev_term)
		event_free(t->ev_term);
	if (t->base)
		event_base_free(t->base);
	if (t->lfd >= 0)
		close(t->lfd);
	trap_events_close(t->events);
	if (t->rep)
		mm_reporter_free(t->rep);
	if (t->sender)
		mm_sender_free(t->sender);
	if (t->spool)
		mm_spool_close(t->spool);
	if (t->capture)
		trap_capture_close(t->capture);
	trap_limits_free(t->limits);
	trap_login_free(t->login);
	if (t->attack)
		trap_attack_free(t->attack);
	if (t->persona)
		trap_persona_free(t->persona);
	if (t->dir_fd >= 0)
		close(t->dir_fd);
	trap_config_free(&t->cfg);
	free(t);
	if (sandboxed) {
		/* Everything is freed; what is left is the C library's exit,
		 * whose leak check (in sanitizer builds) would ptrace the
		 * process, which the filter refuses. */
		fflush(stdout);
		fflush(stderr);
		_exit(status);
	}
	return status;
}
