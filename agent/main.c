/*
 * mamorid: the device guard. Reads the configuration, checks the command
 * line, and splits into three processes joined by socketpairs (agent.h):
 *
 *   guard   this process, root: fanotify exec permission events, the policy
 *   report  a child that drops to `user` under seccomp: hashes, YARA, events,
 *           quarantine, spool and sender
 *   watch   a child, root with few capabilities: the behaviour watch
 *   device  a child, root with few capabilities: detect (metrics against the
 *           security profile), audit and inventory
 *
 * The reporter is forked first so that the watch and the device process,
 * forked next, can be given their sockets; the guard is the parent so that the agent's pid is the one that
 * answers permission events (and is the one the init system watches). When
 * the guard returns on SIGTERM or SIGINT, the parent stops the children, each
 * within a bounded time, and exits.
 */
#define _GNU_SOURCE /* daemon, sigtimedwait */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mamori/conf.h"
#include "mamori/error.h"
#include "mamori/ipc.h"
#include "mamori/log.h"
#include "mamori/path.h"
#include "mamori/sandbox.h"
#include "mamori/send.h"

#include "agent.h"
#include "detect.h"

#define DEFAULT_CONF "/etc/mamori/mamorid.conf"
#define MOUNTINFO "/proc/self/mountinfo"
#define STOP_WAIT_MS 3000 /* a child's time to stop after SIGTERM (the reporter drains) */
#define KILL_WAIT_MS 1000 /* and to be reaped after SIGKILL */

/* The children, as the SIGCHLD handler sees them. */
struct child {
	const char *name;
	pid_t pid;                  /* 0: not started */
	volatile sig_atomic_t done; /* reaped; status holds how it ended */
	int status;
	int logged;                 /* its end was logged */
};

enum { CH_REPORT, CH_WATCH, CH_DEVICE, CH_N };

static struct child children[CH_N] = {
	{"reporter", 0, 0, 0, 0}, {"watch", 0, 0, 0, 0}, {"device process", 0, 0, 0, 0}};
static volatile sig_atomic_t g_child_exited;

/* Reaps whatever child ended; the log is written outside the handler. */
static void on_sigchld(int sig)
{
	int saved = errno, st;
	pid_t p;
	size_t i;

	(void)sig;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		for (i = 0; i < CH_N; i++)
			if (children[i].pid == p) {
				children[i].status = st;
				children[i].done = 1;
			}
	g_child_exited = 1;
	errno = saved;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mamorid [-dnv] [-f FILE] [--mode monitor|enforce] [--watch MOUNTPOINT]...\n"
		"               [--state DIR] [--soc URL|none] [--fallback] [--no-behaviour]\n"
		"               [--no-detect] [--no-audit] [--no-inventory] [--user USER]\n"
		"\n"
		"The device guard: denies executables from volatile and writable places, by\n"
		"SHA-256 feed, firmware baseline or YARA rule, watches what running processes\n"
		"do, checks the device's metrics against a security profile, audits its\n"
		"credentials, services and certificates, keeps its SBOM, and reports to\n"
		"STATE/events.jsonl and the SOC.\n"
		"\n"
		"  -f FILE          configuration (default " DEFAULT_CONF " if it exists,\n"
		"                   else the built-in policy)\n"
		"  --mode MODE      monitor (report only) or enforce (deny, kill, quarantine)\n"
		"  --watch MOUNT    guard only this mountpoint; repeatable (default: every\n"
		"                   mounted file system)\n"
		"  --state DIR      events.jsonl, spool and quarantine (default /var/lib/mamori)\n"
		"  --soc URL        udp://, tcp://, tls://, relp:// or relp+tls://HOST:PORT, or\n"
		"                   none (default none)\n"
		"  --fallback       use the process connector's exec events (kill after exec)\n"
		"                   instead of fanotify exec permission events\n"
		"  --no-behaviour   do not start the behaviour watch\n"
		"  --no-detect      do not gather metrics or check the security profile\n"
		"  --no-audit       do not audit at start and daily\n"
		"  --no-inventory   do not build and send the SBOM\n"
		"  --user USER      the reporter's user (default nobody)\n"
		"  -d               stay in the foreground and log to stderr\n"
		"  -n               check the configuration (with the feed, baseline, rules,\n"
		"                   mountpoints and URL) and exit: 0 good, 1 bad; needs no root\n"
		"  -v               more logging\n"
		"  -h, --help       this text     -V, --version   the version\n"
		"\n"
		"Runs as root. SIGHUP reloads the feed; SIGTERM or SIGINT stops.\n"
		"See mamorid(8) and mamorid.conf(5).\n");
}

/* ---- checks ---- */

/* Undoes mountinfo's octal escapes (\040 for a space ...) in place. */
static void unescape_mountinfo(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* 1 when path (absolute, resolved) is the mount point of a line of
 * /proc/self/mountinfo, 0 when not, MM_EIO when it cannot be read. */
static int is_mountpoint(const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(MOUNTINFO, "r");
	int found = 0;

	if (!f)
		return MM_EIO;
	while (!found && getline(&line, &cap, f) > 0) {
		/* id parent major:minor root MOUNTPOINT options ... */
		char *p = line;
		size_t i;

		for (i = 0; i < 4 && p; i++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (!p)
			continue;
		p[strcspn(p, " \n")] = '\0';
		unescape_mountinfo(p);
		found = strcmp(p, path) == 0;
	}
	free(line);
	fclose(f);
	return found;
}

/* Replaces each watch entry by its resolved path and checks that it is a
 * mountpoint; prints what is wrong. */
static int check_watch(struct agent_conf *c)
{
	size_t i;

	for (i = 0; i < c->watch.n; i++) {
		char *real = realpath(c->watch.v[i], NULL);
		int rc;

		if (!real) {
			fprintf(stderr, "mamorid: watch: %s: %s\n", c->watch.v[i], strerror(errno));
			return -1;
		}
		free(c->watch.v[i]);
		c->watch.v[i] = real;
		if ((rc = is_mountpoint(real)) < 0) {
			fprintf(stderr, "mamorid: %s: %s\n", MOUNTINFO, strerror(errno));
			return -1;
		}
		if (!rc) {
			fprintf(stderr, "mamorid: watch: %s is not a mountpoint\n", real);
			return -1;
		}
	}
	return 0;
}

/* An absolute form of a command line path: mamorid works from / once
 * detached. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *s;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof cwd))
		return NULL;
	if (asprintf(&s, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path) < 0)
		return NULL;
	return s;
}

static int replace(char **dst, char *value)
{
	if (!value)
		return MM_ENOMEM;
	free(*dst);
	*dst = value;
	return 0;
}

/* ---- start ---- */

/*
 * Makes dir (0700) for the reporter's user. An existing folder that others
 * may read or enter is not the agent's alone (/, /tmp, a home): it is left
 * as it is rather than handed to the user.
 */
static int make_dir(const char *dir, uid_t uid, gid_t gid)
{
	struct stat st;

	if (mm_mkdir_p(dir, 0700) < 0) {
		log_warn("cannot make %s", dir);
		return -1;
	}
	if (stat(dir, &st) < 0) {
		log_warn("%s", dir);
		return -1;
	}
	if (st.st_uid == uid && st.st_gid == gid)
		return 0;
	if (st.st_mode & 077) {
		log_warnx("%s is open to others: left owned by uid %u", dir, (unsigned)st.st_uid);
		return 0;
	}
	if (chown(dir, uid, gid) < 0) {
		log_warn("chown %s", dir);
		return -1;
	}
	return 0;
}

static int make_dirs(const struct agent_conf *c)
{
	char spool[PATH_MAX];
	uid_t uid = 0;
	gid_t gid = 0;

	if (mm_sandbox_user(c->user, &uid, &gid) < 0) {
		log_warnx("user %s does not exist: the reporter stays root", c->user);
		uid = 0;
		gid = 0;
	}
	if ((size_t)snprintf(spool, sizeof spool, "%s/spool", c->state) >= sizeof spool) {
		log_warnx("state %s: path too long", c->state);
		return -1;
	}
	if (make_dir(c->state, uid, gid) < 0 || make_dir(spool, uid, gid) < 0 ||
	    make_dir(c->quarantine, uid, gid) < 0)
		return -1;
	return 0;
}

/* What every child does first: the parent's SIGCHLD handling is not its
 * own, and it must not outlive the guard. */
static void child_begin(const char *name, pid_t parent)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() != parent) /* the guard died before the line above */
		_exit(1);
}

static void close_all(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* How a child ended, in words. */
static void describe(int status, char *out, size_t size)
{
	if (WIFEXITED(status))
		snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, size, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(out, size, "ended (status 0x%x)", (unsigned)status);
}

/* Logs each child that ended while the guard ran; SIGCHLD is blocked. */
static void log_ended(void)
{
	char how[128];
	size_t i;

	for (i = 0; i < CH_N; i++)
		if (children[i].pid && children[i].done && !children[i].logged) {
			describe(children[i].status, how, sizeof how);
			log_warnx("the %s (pid %d) %s", children[i].name, (int)children[i].pid,
				  how);
			children[i].logged = 1;
		}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to ms for ch to end (SIGCHLD blocked). 1 when it did. */
static int wait_child(struct child *ch, long long ms)
{
	long long deadline = now_ms() + ms;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		long long left;
		struct timespec ts;
		int st;
		pid_t p = waitpid(ch->pid, &st, WNOHANG);

		if (p == ch->pid) {
			ch->status = st;
			ch->done = 1;
			return 1;
		}
		if (p < 0 && errno != EINTR)
			return 1; /* not ours any more: nothing to wait for */
		if ((left = deadline - now_ms()) <= 0)
			return 0;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		sigtimedwait(&set, NULL, &ts); /* any child's end, or the time */
	}
}

/* SIGTERM, then SIGKILL after STOP_WAIT_MS. */
static void stop_child(struct child *ch)
{
	char how[128];

	if (!ch->pid || ch->done)
		return;
	kill(ch->pid, SIGTERM);
	if (!wait_child(ch, STOP_WAIT_MS)) {
		log_warnx("the %s (pid %d) did not stop within %d ms: killed", ch->name,
			  (int)ch->pid, STOP_WAIT_MS);
		kill(ch->pid, SIGKILL);
		if (!wait_child(ch, KILL_WAIT_MS)) {
			log_warnx("the %s (pid %d) is still there", ch->name, (int)ch->pid);
			return;
		}
	}
	if (ch->done) {
		describe(ch->status, how, sizeof how);
		log_debug("the %s (pid %d) %s", ch->name, (int)ch->pid, how);
		ch->logged = 1;
	}
}

/*
 * Forks the reporter and the watch, then runs the guard here. Returns the
 * process's exit status.
 */
static int run(const struct agent_conf *c)
{
	int rep[2] = {-1, -1}, wat[2] = {-1, -1}, dev[2] = {-1, -1}; /* [0] the producer's end,
									[1] the reporter's */
	int device = c->detect || c->audit || c->inventory;
	pid_t pids[1 + CH_N], self = getpid();
	size_t npids = 0;
	struct sigaction sa;
	sigset_t chld, old;
	int rc, status = 1;

	if (mm_ipc_pair(rep) < 0 || (c->behaviour && mm_ipc_pair(wat) < 0) ||
	    (device && mm_ipc_pair(dev) < 0)) {
		log_warn("socketpair");
		goto out;
	}
	/* A peer that is gone is an error to handle, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	/* Until a child's pid is in the table, its end must wait to be seen. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);

	if ((children[CH_REPORT].pid = fork()) < 0) {
		log_warn("fork");
		children[CH_REPORT].pid = 0;
		goto stop;
	}
	if (children[CH_REPORT].pid == 0) {
		int fds[3] = {rep[1], wat[1], dev[1]};
		int others[2] = {wat[0], dev[0]};

		child_begin("mamorid-report", self);
		close(rep[0]);
		close_all(others, 2);
		rc = report_run(c, fds, 3);
		_exit(rc < 0 ? 1 : 0);
	}
	if (c->behaviour) {
		if ((children[CH_WATCH].pid = fork()) < 0) {
			log_warn("fork");
			children[CH_WATCH].pid = 0;
			goto stop;
		}
		if (children[CH_WATCH].pid == 0) {
			int others[5] = {rep[0], rep[1], wat[1], dev[0], dev[1]};

			child_begin("mamorid-watch", self);
			close_all(others, 5);
			rc = watch_run(c, wat[0]);
			_exit(rc < 0 ? 1 : 0);
		}
	}
	if (device) {
		if ((children[CH_DEVICE].pid = fork()) < 0) {
			log_warn("fork");
			children[CH_DEVICE].pid = 0;
			goto stop;
		}
		if (children[CH_DEVICE].pid == 0) {
			int others[5] = {rep[0], rep[1], wat[0], wat[1], dev[1]};

			child_begin("mamorid-device", self);
			close_all(others, 5);
			rc = device_run(c, dev[0]);
			_exit(rc < 0 ? 1 : 0);
		}
	}
	/* The guard keeps its own end alone. */
	close(rep[1]);
	rep[1] = -1;
	close_all(wat, 2);
	close_all(dev, 2);

	pids[npids++] = self;
	pids[npids++] = children[CH_REPORT].pid;
	if (children[CH_WATCH].pid)
		pids[npids++] = children[CH_WATCH].pid;
	if (children[CH_DEVICE].pid)
		pids[npids++] = children[CH_DEVICE].pid;
	log_info("started (%s mode): guard %d, reporter %d, watch %d, device %d",
		 c->mode == AGENT_ENFORCE ? "enforce" : "monitor", (int)self,
		 (int)children[CH_REPORT].pid, (int)children[CH_WATCH].pid,
		 (int)children[CH_DEVICE].pid);
	sigprocmask(SIG_SETMASK, &old, NULL);

	rc = guard_run(c, rep[0], pids, npids);
	status = rc < 0 ? 1 : 0;
	if (rc < 0)
		log_warnx("the guard stopped: %s", mm_strerror(rc));

	sigprocmask(SIG_BLOCK, &chld, NULL);
stop:
	log_ended();
	/* The producers first, so that the reporter still records their last findings. */
	stop_child(&children[CH_WATCH]);
	stop_child(&children[CH_DEVICE]);
	stop_child(&children[CH_REPORT]);
	log_ended();
	log_info("stopped");
out:
	close_all(rep, 2);
	close_all(wat, 2);
	close_all(dev, 2);
	return status;
}

/* -n also reads what the guard and the reporter will read at start: the
 * feed, the baseline and the YARA rules. Their loaders say what is wrong. */
static int check_files(const struct agent_conf *c)
{
	struct policy *p;
	struct scanner *sc;
	int rc;

	if ((rc = policy_new(c, &p)) < 0)
		return rc;
	policy_free(p);
	if (c->yara_rules) {
		if ((rc = scan_new(c->yara_rules, &sc)) < 0) {
			if (rc == MM_EINVAL)
				fprintf(stderr, "mamorid: yara_rules: this build has no YARA\n");
			return rc;
		}
		scan_free(sc);
	}
	if (c->detect && c->profile) {
		struct profile *pr;
		char err[256];

		if ((rc = profile_load(c->profile, &pr, err, sizeof err)) < 0) {
			fprintf(stderr, "mamorid: profile %s: %s\n", c->profile, err);
			return rc;
		}
		profile_free(pr);
	}
	return 0;
}

/* What -n found: the settings that decide what runs, on one line. */
static void print_check(const struct agent_conf *c)
{
	size_t i;

	printf("mamorid: configuration good: %s mode, ",
	       c->mode == AGENT_ENFORCE ? "enforce" : "monitor");
	if (c->watch.n == 0)
		printf("every mount");
	for (i = 0; i < c->watch.n; i++)
		printf("%s%s", i == 0 ? "watching " : " ", c->watch.v[i]);
	printf(", state %s, quarantine %s, soc %s\n", c->state, c->quarantine,
	       c->soc ? c->soc : "none");
}

enum {
	O_MODE = 256,
	O_WATCH,
	O_STATE,
	O_SOC,
	O_FALLBACK,
	O_NO_BEHAVIOUR,
	O_NO_DETECT,
	O_NO_AUDIT,
	O_NO_INVENTORY,
	O_USER
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"mode", required_argument, NULL, O_MODE},
		{"watch", required_argument, NULL, O_WATCH},
		{"state", required_argument, NULL, O_STATE},
		{"soc", required_argument, NULL, O_SOC},
		{"fallback", no_argument, NULL, O_FALLBACK},
		{"no-behaviour", no_argument, NULL, O_NO_BEHAVIOUR},
		{"no-detect", no_argument, NULL, O_NO_DETECT},
		{"no-audit", no_argument, NULL, O_NO_AUDIT},
		{"no-inventory", no_argument, NULL, O_NO_INVENTORY},
		{"user", required_argument, NULL, O_USER},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct agent_conf c;
	struct mm_conf_err e;
	struct agent_list watch;
	const char *conf = NULL, *mode = NULL, *state = NULL, *soc = NULL, *user = NULL;
	int foreground = 0, check = 0, verbose = 0, fallback = 0, no_behaviour = 0;
	int no_detect = 0, no_audit = 0, no_inventory = 0;
	int ch, rc, status = 1;
	char *s;

	conf_defaults(&c);
	memset(&watch, 0, sizeof watch);
	/* getopt's own messages would name the program by its path. */
	while ((ch = getopt_long(argc, argv, ":dnvf:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': foreground = 1; break;
		case 'n': check = 1; break;
		case 'v': verbose++; break;
		case 'f': conf = optarg; break;
		case O_MODE: mode = optarg; break;
		case O_WATCH:
			if (watch.n == AGENT_MAX_LIST) {
				fprintf(stderr, "mamorid: at most %d --watch\n", AGENT_MAX_LIST);
				goto out;
			}
			if (!(watch.v[watch.n] = strdup(optarg)))
				goto nomem;
			watch.n++;
			break;
		case O_STATE: state = optarg; break;
		case O_SOC: soc = optarg; break;
		case O_FALLBACK: fallback = 1; break;
		case O_NO_BEHAVIOUR: no_behaviour = 1; break;
		case O_NO_DETECT: no_detect = 1; break;
		case O_NO_AUDIT: no_audit = 1; break;
		case O_NO_INVENTORY: no_inventory = 1; break;
		case O_USER: user = optarg; break;
		case 'h': usage(stdout); status = 0; goto out;
		case 'V': printf("mamorid %s\n", MAMORI_VERSION); status = 0; goto out;
		case ':':
			fprintf(stderr, "mamorid: %s needs an argument\n", argv[optind - 1]);
			status = 2;
			goto out;
		default:
			if (strncmp(argv[optind - 1], "--", 2) == 0 || !optopt)
				fprintf(stderr, "mamorid: unknown option: %s\n", argv[optind - 1]);
			else
				fprintf(stderr, "mamorid: unknown option: -%c\n", optopt);
			fprintf(stderr, "Try 'mamorid --help'.\n");
			status = 2;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mamorid: unexpected argument: %s\nTry 'mamorid --help'.\n",
			argv[optind]);
		status = 2;
		goto out;
	}
	if (mode && strcmp(mode, "monitor") != 0 && strcmp(mode, "enforce") != 0) {
		fprintf(stderr, "mamorid: --mode: expected monitor or enforce: %s\n", mode);
		status = 2;
		goto out;
	}
	/* Errors go to stderr until the process detaches. */
	mm_log_init(1, "mamorid");
	mm_log_verbose(verbose);
	if (!check && geteuid() != 0) {
		fprintf(stderr, "mamorid: must run as root (fanotify and the process connector "
				"need it); -n checks a configuration without\n");
		goto out;
	}

	if (!conf && access(DEFAULT_CONF, F_OK) == 0)
		conf = DEFAULT_CONF;
	if (conf && (rc = conf_load(&c, conf, &e)) < 0) {
		if (e.line > 0)
			fprintf(stderr, "mamorid: %s:%d: %s\n", conf, e.line, e.msg);
		else
			fprintf(stderr, "mamorid: %s: %s\n", conf, e.msg);
		goto out;
	}
	/* The command line wins over the file. */
	if (mode)
		c.mode = strcmp(mode, "enforce") == 0 ? AGENT_ENFORCE : AGENT_MONITOR;
	if (fallback)
		c.fallback = AGENT_FALLBACK_YES;
	if (no_behaviour)
		c.behaviour = 0;
	if (no_detect)
		c.detect = 0;
	if (no_audit)
		c.audit = 0;
	if (no_inventory)
		c.inventory = 0;
	if (watch.n) {
		conf_list_free(&c.watch);
		c.watch = watch;
		memset(&watch, 0, sizeof watch);
	}
	if (state && replace(&c.state, absolute(state)) < 0)
		goto nomem;
	if (user && replace(&c.user, strdup(user)) < 0)
		goto nomem;
	if (soc) {
		free(c.soc);
		c.soc = NULL;
		if (strcmp(soc, "none") != 0 && !(c.soc = strdup(soc)))
			goto nomem;
	}
	if (!c.user[0]) {
		fprintf(stderr, "mamorid: --user: a user name is needed\n");
		goto out;
	}
	if (c.soc) {
		struct mm_send_url u;

		if (mm_send_url_parse(c.soc, &u) < 0) {
			fprintf(stderr,
				"mamorid: --soc: expected udp://, tcp://, tls://, relp:// or "
				"relp+tls://HOST:PORT or none: %s\n",
				c.soc);
			goto out;
		}
	}
	/* The quarantine follows the state folder unless it was given. */
	if (!c.quarantine) {
		if (asprintf(&s, "%s/quarantine", c.state) < 0)
			goto nomem;
		c.quarantine = s;
	}
	if (check_watch(&c) < 0)
		goto out;
	if (check) {
		if (check_files(&c) < 0)
			goto out;
		print_check(&c);
		status = 0;
		goto out;
	}

	if (make_dirs(&c) < 0)
		goto out;
	if (!foreground) {
		if (daemon(0, 0) < 0) {
			fprintf(stderr, "mamorid: cannot detach: %s\n", strerror(errno));
			goto out;
		}
		mm_log_init(0, "mamorid");
	}
	status = run(&c);
	goto out;
nomem:
	fprintf(stderr, "mamorid: out of memory\n");
out:
	conf_list_free(&watch);
	conf_free(&c);
	return status;
}
