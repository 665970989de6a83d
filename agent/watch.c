/*
 * The behaviour watch: the privileged child that finds what IoT bots do
 * once they run (agent.h, watch_run).
 *
 * Everything is driven by one libevent loop and wakes only when something
 * happens: process connector events (a new exec or a changed name is
 * checked at +100 ms, +1 s and +5 s, when a dropper has had time to delete
 * itself, rename itself and bind), outbound SYNs to the scan ports on a
 * filtered packet socket, signal_generate samples, watchdog opens, and a
 * sweep of every process and /proc/net every sweep_s seconds that catches
 * what no event told us about. Findings go to the reporter once per
 * (process, event); in enforce mode the process and its descendants are
 * killed first and the reporter quarantines the executable.
 *
 * The agent's own processes (the guard, the reporter and this one) are
 * never reported: they share one executable, so every process whose exe is
 * /proc/self/exe's file is the agent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent.h"
#include "behave.h"
#include "mamori/clock.h"
#include "mamori/error.h"
#include "mamori/ipc.h"
#include "mamori/log.h"
#include "proc.h"
#include "sigwatch.h"

#define QUEUE_MAX 1024    /* delayed checks waiting */
#define SEEN_MAX 2048     /* (process, event) already reported */
#define SVC_MAX 256       /* service processes known */
#define SVC_PORTS 64      /* ports a service was seen listening on */
#define WD_MAX 8          /* watchdog devices */
#define ROWS_MAX 1024     /* /proc/net rows looked at in one pass */
#define SYN_BATCH 64      /* packets read per wake-up */
#define STATS_S 10

/* AGENT_MSG_STATS counters, in this order (report.c names them). */
enum {
	C_CHECKS,       /* processes checked */
	C_FINDINGS,     /* findings sent */
	C_KILLS,        /* processes killed */
	C_SWEEPS,
	C_PCONN_EVENTS,
	C_PCONN_LOST,   /* process connector overruns */
	C_SYNS,         /* outbound SYNs to a scan port seen */
	C_SYN_UNKNOWN,  /* SYNs no process could be found for */
	C_QUEUE_FULL,   /* delayed checks dropped */
	C_SEEN_FULL,    /* de-duplication entries evicted early */
	C_SIG_LOST,     /* signal samples lost */
	C_SEND_ERRORS,  /* findings the reporter did not take */
	C_ROWS_FULL,    /* /proc/net rows or socket inodes beyond the bounds */
};

/* Kinds of finding, for the once-per-process rule. */
enum kind { K_DELETED, K_MASQ, K_LISTEN, K_RAW, K_SCAN, K_WATCHDOG, K_KILLED, K_REPLACED };

struct watch;

struct wd {
	struct watch *w;
	char dev[256];   /* as configured: the device's own path */
	char path[PATH_MAX];
	int fd;          /* its fanotify group, -1 until marked */
	int perm;        /* 1: FAN_OPEN_PERM (can deny); 0: FAN_OPEN notification */
	struct event *ev;
};

struct row {
	struct proc_sock s;
	int raw;
};

struct watch {
	const struct agent_conf *c;
	struct event_base *base;
	int report_fd;
	struct stat self;
	pid_t self_pid, parent_pid;
	struct behave_rules rules;
	struct behave_scan scan;

	int pconn_fd, pkt_fd;
	struct sigwatch *sw;
	struct event *ev_report, *ev_pconn, *ev_pkt, *ev_term, *ev_int;
	struct event *ev_sweep, *ev_stats, *ev_queue;
	struct event *ev_sig[SIGWATCH_MAX_CPUS];
	int logged_no_killer;

	struct wd wd[WD_MAX];
	size_t nwd;

	struct {
		pid_t pid;
		uint64_t due;
	} q[QUEUE_MAX];
	size_t nq;

	struct {
		pid_t pid;
		unsigned long long start;
		uint8_t kind;
	} seen[SEEN_MAX];
	size_t nseen;

	struct {
		pid_t pid;
		char comm[17];
	} svc[SVC_MAX];
	size_t nsvc;

	struct {
		uint16_t port;
		char name[17];
	} ports[SVC_PORTS];
	size_t nports;

	struct row rows[ROWS_MAX];
	size_t nrows;
	struct proc_inode_map inodes;

	uint64_t ctr[16];
	uint64_t id;

	uint64_t scope[AGENT_MAX_LIST]; /* mount ids of --watch; none: every process */
	size_t nscope;
};

/* ---- who is who ---- */

/*
 * 1 when the process's executable is on one of the --watch mounts (always
 * 1 without --watch). With --watch the agent guards those filesystems only
 * (a container, a test's rootfs): the other processes of the machine are
 * neither judged nor killed, as the guard's fanotify mount marks judge only
 * the files on those mounts.
 */
static int in_scope(struct watch *w, pid_t pid)
{
	char path[64];
	struct statx stx;
	size_t i;

	if (w->nscope == 0)
		return 1;
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	if (statx(AT_FDCWD, path, 0, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	for (i = 0; i < w->nscope; i++)
		if (w->scope[i] == stx.stx_mnt_id)
			return 1;
	return 0;
}

/* 1 for the agent's own processes and for those outside the watched mounts:
 * neither is judged. */
static int is_agent(struct watch *w, pid_t pid)
{
	char path[64];
	struct stat st;

	if (pid == w->self_pid || pid == w->parent_pid)
		return 1;
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	if (stat(path, &st) < 0)
		return 0;
	if (st.st_dev == w->self.st_dev && st.st_ino == w->self.st_ino)
		return 1;
	return !in_scope(w, pid);
}

/* The mount ids of the --watch mountpoints. */
static int scope_init(struct watch *w)
{
	struct statx stx;
	size_t i;

	for (i = 0; i < w->c->watch.n && i < AGENT_MAX_LIST; i++) {
		if (statx(AT_FDCWD, w->c->watch.v[i], 0, STATX_MNT_ID, &stx) < 0 ||
		    !(stx.stx_mask & STATX_MNT_ID)) {
			log_warn("watch: %s", w->c->watch.v[i]);
			return MM_EIO;
		}
		w->scope[w->nscope++] = stx.stx_mnt_id;
	}
	return 0;
}

/* What /proc says about pid. MM_ENOTFOUND when it is gone. */
static int gather(pid_t pid, struct behave_proc *p)
{
	struct proc_status ss;
	struct proc_stat st;

	memset(p, 0, sizeof *p);
	if (proc_read_stat(pid, &st) < 0)
		return MM_ENOTFOUND;
	p->pid = pid;
	p->ppid = st.ppid;
	p->starttime = st.starttime;
	agent_strcpy(p->comm, sizeof p->comm, st.comm);
	if (st.flags & PROC_PF_KTHREAD) {
		p->kthread = 1;
		return 0;
	}
	if (proc_read_exe(pid, p->exe, sizeof p->exe, &p->deleted) < 0)
		p->exe[0] = '\0';
	if (proc_read_status(pid, &ss) == 0)
		p->uid = ss.uid;
	proc_read_cmdline(pid, &p->cmd);
	return 0;
}

/* path as pid sees it: absolute under its root, relative under its cwd. */
static int in_proc(pid_t pid, const char *path, char *out, size_t size)
{
	int n;

	if (path[0] == '/')
		n = snprintf(out, size, "/proc/%d/root%s", (int)pid, path);
	else
		n = snprintf(out, size, "/proc/%d/cwd/%s", (int)pid, path);
	return n > 0 && (size_t)n < size ? 0 : MM_ETOOBIG;
}

/*
 * Opens path (O_PATH) as pid sees it. An absolute path is resolved with
 * pid's root as the root (RESOLVE_IN_ROOT), so that an absolute symlink in
 * a chroot or container ("/usr/sbin/httpd -> /bin/busybox") leads to the
 * file the process itself would reach, not to the agent's. A relative
 * path starts at pid's cwd. Returns the descriptor or -1.
 */
static int open_in_proc(pid_t pid, const char *path)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	char full[PATH_MAX], root[64];
	int dfd, fd;

	if (path[0] != '/') {
		if (in_proc(pid, path, full, sizeof full) < 0)
			return -1;
		return open(full, O_PATH | O_CLOEXEC);
	}
	snprintf(root, sizeof root, "/proc/%d/root", (int)pid);
	dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof how);
	close(dfd);
	return fd;
}

static int same_inode(pid_t pid, const char *path, const struct stat *exe)
{
	struct stat st;
	int fd, ok;

	if ((fd = open_in_proc(pid, path)) < 0)
		return 0;
	ok = fstat(fd, &st) == 0 && st.st_dev == exe->st_dev && st.st_ino == exe->st_ino;
	close(fd);
	return ok;
}

/*
 * 1 when path (as pid sees it) is a regular file starting with "#!". The
 * name is the process's to choose, so it is opened O_PATH and only read
 * once it is known to be a regular file: a device is never opened.
 */
static int is_script(pid_t pid, const char *path)
{
	char again[64], head[2];
	struct stat st;
	int fd, rd, ok = 0;

	fd = open_in_proc(pid, path);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		snprintf(again, sizeof again, "/proc/self/fd/%d", fd);
		rd = open(again, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (rd >= 0) {
			ok = read(rd, head, 2) == 2 && head[0] == '#' && head[1] == '!';
			close(rd);
		}
	}
	close(fd);
	return ok;
}

/* The facts behave_masquerade needs beyond /proc text. */
static void name_facts(struct behave_proc *p)
{
	static const char *const dirs[] = {"/bin", "/sbin", "/usr/bin", "/usr/sbin",
					   "/usr/local/bin", "/usr/local/sbin"};
	const char *a0 = p->cmd.argv[0];
	char path[64], cand[PROC_ARG_MAX + 32];
	struct stat exe;
	size_t i;
	int n;

	snprintf(path, sizeof path, "/proc/%d/exe", (int)p->pid);
	if (stat(path, &exe) < 0)
		return;
	if (p->cmd.argc >= 1 && a0[0] != '\0') {
		if (strchr(a0, '/') != NULL) {
			p->argv0_is_exe = same_inode(p->pid, a0, &exe);
		} else {
			/* A name found through PATH, as a shell runs a busybox applet. */
			for (i = 0; i < sizeof dirs / sizeof dirs[0] && !p->argv0_is_exe; i++) {
				snprintf(cand, sizeof cand, "%s/%s", dirs[i], a0);
				p->argv0_is_exe = same_inode(p->pid, cand, &exe);
			}
		}
	}
	/* "#!/bin/sh -e" puts the option before the script. */
	n = p->cmd.argc > 2 && p->cmd.argv[1][0] == '-' ? 2 : 1;
	if (p->cmd.argc > n && p->cmd.argv[n][0] != '\0' && is_script(p->pid, p->cmd.argv[n]))
		p->script_arg = n;
}

/* ---- once per (process, event) ---- */

static int seen(struct watch *w, pid_t pid, unsigned long long start, enum kind k)
{
	size_t i;

	for (i = 0; i < w->nseen; i++)
		if (w->seen[i].pid == pid && w->seen[i].start == start && w->seen[i].kind == k)
			return 1;
	if (w->nseen == SEEN_MAX) {
		/* The oldest goes; it may be reported again, which is better than never. */
		memmove(&w->seen[0], &w->seen[1], (SEEN_MAX - 1) * sizeof w->seen[0]);
		w->nseen--;
		w->ctr[C_SEEN_FULL]++;
	}
	w->seen[w->nseen].pid = pid;
	w->seen[w->nseen].start = start;
	w->seen[w->nseen].kind = (uint8_t)k;
	w->nseen++;
	return 0;
}

static void forget(struct watch *w, pid_t pid)
{
	size_t i, k;

	for (i = 0, k = 0; i < w->nseen; i++)
		if (w->seen[i].pid != pid)
			w->seen[k++] = w->seen[i];
	w->nseen = k;
	behave_scan_forget(&w->scan, pid);
}

/* Drops entries of processes that are gone (or whose pid was reused). */
static void prune(struct watch *w)
{
	struct proc_stat st;
	size_t i, k;

	for (i = 0, k = 0; i < w->nseen; i++) {
		if (proc_read_stat(w->seen[i].pid, &st) == 0 && st.starttime == w->seen[i].start)
			w->seen[k++] = w->seen[i];
	}
	w->nseen = k;
	for (i = 0, k = 0; i < w->nsvc; i++) {
		if (proc_read_stat(w->svc[i].pid, &st) == 0 && strcmp(st.comm, w->svc[i].comm) == 0)
			w->svc[k++] = w->svc[i];
	}
	w->nsvc = k;
}

/* ---- services ---- */

static void svc_note(struct watch *w, pid_t pid, const char *comm)
{
	size_t i;

	for (i = 0; i < w->nsvc; i++)
		if (w->svc[i].pid == pid) {
			agent_strcpy(w->svc[i].comm, sizeof w->svc[i].comm, comm);
			return;
		}
	if (w->nsvc == SVC_MAX)
		return;
	w->svc[w->nsvc].pid = pid;
	agent_strcpy(w->svc[w->nsvc].comm, sizeof w->svc[w->nsvc].comm, comm);
	w->nsvc++;
}

static void port_note(struct watch *w, uint16_t port, const char *name)
{
	size_t i;

	for (i = 0; i < w->nports; i++)
		if (w->ports[i].port == port) {
			agent_strcpy(w->ports[i].name, sizeof w->ports[i].name, name);
			return;
		}
	if (w->nports == SVC_PORTS)
		return;
	w->ports[w->nports].port = port;
	agent_strcpy(w->ports[w->nports].name, sizeof w->ports[w->nports].name, name);
	w->nports++;
}

static const char *port_held(const struct watch *w, uint16_t port)
{
	size_t i;

	for (i = 0; i < w->nports; i++)
		if (w->ports[i].port == port)
			return w->ports[i].name;
	return NULL;
}

/* ---- findings ---- */

static int open_exe(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/*
 * Sends f with the process's executable attached. stop: in enforce mode
 * the process and its descendants are killed first (respond.c keeps the
 * executable open for the quarantine).
 */
static void report(struct watch *w, struct agent_finding *f, pid_t pid, int stop)
{
	int fd = -1, n, rc;

	if (stop && pid > 0 && w->c->mode == AGENT_ENFORCE) {
		n = respond_kill_tree(pid, &fd);
		if (n > 0) {
			f->action = AGENT_ACT_KILLED;
			f->killed = (uint32_t)n;
			w->ctr[C_KILLS] += (uint64_t)n;
		}
		f->quarantine = fd >= 0;
	}
	if (fd < 0 && pid > 0)
		fd = open_exe(pid);
	rc = mm_ipc_send(w->report_fd, AGENT_MSG_FINDING, ++w->id, f, sizeof *f, fd);
	if (rc < 0)
		w->ctr[C_SEND_ERRORS]++;
	else
		w->ctr[C_FINDINGS]++;
	if (fd >= 0)
		close(fd);
	/* The (process, event) entry stays until the sweep finds the pid gone, so that
	 * what was already queued about a killed process is not reported again. */
}

/* ---- checks of one process ---- */

static void check_rows(struct watch *w, pid_t only);

/* Returns 1 when the process was killed. */
static int check_proc(struct watch *w, pid_t pid, int net)
{
	const struct agent_conf *c = w->c;
	struct agent_finding f;
	struct behave_proc p;

	if (is_agent(w, pid) || gather(pid, &p) < 0 || p.kthread || p.exe[0] == '\0')
		return 0;
	w->ctr[C_CHECKS]++;
	if (behave_list_has(&c->services, p.comm))
		svc_note(w, pid, p.comm);
	if (behave_deleted_exe(&p) && !seen(w, pid, p.starttime, K_DELETED)) {
		behave_finding(&f, "guard.behaviour.deleted_exe", "T1070.004", &p, c->root);
		report(w, &f, pid, 1);
		if (f.action == AGENT_ACT_KILLED)
			return 1;
	}
	if (!behave_name_eq(p.comm, p.exe)) {
		name_facts(&p);
		if (behave_masquerade(&p, c) && !seen(w, pid, p.starttime, K_MASQ)) {
			behave_finding(&f, "guard.behaviour.masquerade", "T1036.005", &p, c->root);
			behave_detail_masquerade(&f, p.comm, p.exe);
			report(w, &f, pid, 1);
			if (f.action == AGENT_ACT_KILLED)
				return 1;
		}
	}
	if (net)
		check_rows(w, pid);
	return 0;
}

/* ---- sockets ---- */

struct collect {
	struct watch *w;
	int raw;
	unsigned state; /* 0: any */
};

static void collect_row(const struct proc_sock *s, void *arg)
{
	struct collect *c = arg;
	struct watch *w = c->w;

	if (c->state != 0 && s->state != c->state)
		return;
	if (s->inode == 0)
		return;
	if (w->nrows == ROWS_MAX) {
		w->ctr[C_ROWS_FULL]++;
		return;
	}
	w->rows[w->nrows].s = *s;
	w->rows[w->nrows].raw = c->raw;
	w->nrows++;
}

static int want_row(uint64_t inode, void *arg)
{
	struct watch *w = arg;
	size_t i;

	for (i = 0; i < w->nrows; i++)
		if (w->rows[i].s.inode == inode)
			return 1;
	return 0;
}

/* Listeners and raw sockets, from all four tables. */
static void load_rows(struct watch *w)
{
	struct collect c = {w, 0, PROC_TCP_LISTEN};

	w->nrows = 0;
	proc_read_net("tcp", collect_row, &c);
	proc_read_net("tcp6", collect_row, &c);
	c.raw = 1;
	c.state = 0;
	proc_read_net("raw", collect_row, &c);
	proc_read_net("raw6", collect_row, &c);
}

static void check_sock(struct watch *w, const struct row *r, pid_t pid)
{
	const struct agent_conf *c = w->c;
	const char *rule, *service;
	struct agent_finding f;
	struct behave_proc p;

	if (is_agent(w, pid) || gather(pid, &p) < 0 || p.kthread)
		return;
	if (r->raw) {
		if (behave_list_has_exe(&c->raw_allow, p.exe, c->root) ||
		    seen(w, pid, p.starttime, K_RAW))
			return;
		behave_finding(&f, "guard.behaviour.raw_socket", "T1498", &p, c->root);
		behave_detail_raw(&f, r->s.lport);
		report(w, &f, pid, 1);
		return;
	}
	if (behave_listener(&w->rules, &r->s, &rule) && !seen(w, pid, p.starttime, K_LISTEN)) {
		behave_finding(&f, "guard.behaviour.listener", "T1571", &p, c->root);
		behave_detail_listener(&f, &r->s, rule);
		report(w, &f, pid, 1);
		if (f.action == AGENT_ACT_KILLED)
			return;
	}
	if (behave_list_has(&c->services, p.comm)) {
		port_note(w, r->s.lport, p.comm);
		return;
	}
	if (behave_service_replaced(c, p.comm, r->s.lport, port_held(w, r->s.lport), &service) &&
	    !seen(w, pid, p.starttime, K_REPLACED)) {
		behave_finding(&f, "guard.behaviour.service_replaced", "T1489", &p, c->root);
		behave_detail_service_replaced(&f, service, r->s.lport);
		report(w, &f, pid, 1);
	}
}

/* Checks the listeners and raw sockets of one process (only > 0) or of all. */
static void check_rows(struct watch *w, pid_t only)
{
	size_t i;
	pid_t pid;

	load_rows(w);
	if (w->nrows == 0)
		return;
	if (only > 0) {
		w->inodes.n = 0;
		w->inodes.overflow = 0;
		proc_inode_scan_pid(&w->inodes, only, want_row, w);
	} else {
		proc_inode_scan(&w->inodes, want_row, w);
	}
	if (w->inodes.overflow > 0)
		w->ctr[C_ROWS_FULL]++;
	for (i = 0; i < w->nrows; i++) {
		pid = proc_inode_pid(&w->inodes, w->rows[i].s.inode);
		if (pid > 0)
			check_sock(w, &w->rows[i], pid);
	}
}

/* ---- delayed checks after exec ---- */

static void arm_queue(struct watch *w)
{
	uint64_t now = mm_clock_ms(), first = UINT64_MAX, wait;
	struct timeval tv;
	size_t i;

	for (i = 0; i < w->nq; i++)
		if (w->q[i].due < first)
			first = w->q[i].due;
	if (first == UINT64_MAX)
		return;
	wait = first > now ? first - now : 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(w->ev_queue, &tv);
}

static void enqueue(struct watch *w, pid_t pid)
{
	static const unsigned delays[] = {100, 1000, 5000};
	uint64_t now = mm_clock_ms();
	size_t i;

	for (i = 0; i < sizeof delays / sizeof delays[0]; i++) {
		if (w->nq == QUEUE_MAX) {
			w->ctr[C_QUEUE_FULL]++;
			continue;
		}
		w->q[w->nq].pid = pid;
		w->q[w->nq].due = now + delays[i];
		w->nq++;
	}
	arm_queue(w);
}

static void on_queue(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	uint64_t now = mm_clock_ms();
	pid_t due[QUEUE_MAX];
	size_t i, k, n = 0;

	(void)fd;
	(void)what;
	for (i = 0, k = 0; i < w->nq; i++) {
		if (w->q[i].due <= now)
			due[n++] = w->q[i].pid;
		else
			w->q[k++] = w->q[i];
	}
	w->nq = k;
	for (i = 0; i < n; i++)
		check_proc(w, due[i], 1);
	arm_queue(w);
}

/* ---- process connector ---- */

static void service_exit(struct watch *w, pid_t pid, int status)
{
	struct agent_finding f;
	size_t i;

	for (i = 0; i < w->nsvc; i++) {
		if (w->svc[i].pid != pid)
			continue;
		/* Without the tracepoint the exit status is all there is: a fatal signal, sender unknown. */
		if (w->sw == NULL && WIFSIGNALED(status) && behave_fatal_signal(WTERMSIG(status))) {
			if (!w->logged_no_killer) {
				log_warnx("watch: no signal tracepoint: a killed service is reported "
					  "without its killer");
				w->logged_no_killer = 1;
			}
			behave_finding(&f, "guard.behaviour.service_killed", "T1489", NULL, NULL);
			behave_detail_service_killed(&f, w->svc[i].comm, WTERMSIG(status), pid);
			report(w, &f, 0, 0);
		}
		w->svc[i] = w->svc[--w->nsvc];
		return;
	}
}

static void on_pconn_ev(const struct pconn_ev *ev, void *arg)
{
	struct watch *w = arg;

	w->ctr[C_PCONN_EVENTS]++;
	switch (ev->kind) {
	case PCONN_EXEC:
	case PCONN_COMM:
		enqueue(w, ev->tgid);
		break;
	case PCONN_EXIT:
		if (ev->pid == ev->tgid) {
			service_exit(w, ev->tgid, ev->exit_code);
			forget(w, ev->tgid);
		}
		break;
	default:
		break;
	}
}

static void on_pconn(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	int rc;

	(void)what;
	rc = pconn_read(fd, on_pconn_ev, w);
	if (rc == MM_EIO) {
		/* Overrun (ENOBUFS): events were lost, so look at everything now. */
		w->ctr[C_PCONN_LOST]++;
		event_active(w->ev_sweep, 0, 0);
	}
}

/* ---- outbound SYNs ---- */

static int open_packet(struct watch *w)
{
	struct sock_filter prog[AGENT_MAX_LIST + 32];
	struct sock_fprog fprog;
	struct sockaddr_ll sll;
	int fd, n;

	n = behave_syn_filter(&w->rules, prog, sizeof prog / sizeof prog[0]);
	if (n < 0)
		return n;
	/* Protocol 0 receives nothing until bound, so no packet arrives unfiltered. */
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("watch: packet socket");
		return MM_EIO;
	}
	fprog.len = (unsigned short)n;
	fprog.filter = prog;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) < 0) {
		log_warn("watch: SO_ATTACH_FILTER");
		goto fail;
	}
	memset(&sll, 0, sizeof sll);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
		log_warn("watch: bind packet socket");
		goto fail;
	}
	w->pkt_fd = fd;
	return 0;
fail:
	close(fd);
	return MM_EIO;
}

struct synctx {
	struct watch *w;
	const struct behave_syn *syn;
	size_t n;
};

static void collect_syn_sent(const struct proc_sock *s, void *arg)
{
	struct synctx *c = arg;
	struct collect col = {c->w, 0, PROC_TCP_SYN_SENT};
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->syn[i].sport == s->lport) {
			collect_row(s, &col);
			return;
		}
}

static void collect_raw_tcp(const struct proc_sock *s, void *arg)
{
	struct collect col = {arg, 1, 0};

	if (s->lport == IPPROTO_TCP || s->lport == IPPROTO_RAW)
		collect_row(s, &col);
}

static int row_is_syn(const struct row *r, const struct behave_syn *syn)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (r->raw || r->s.lport != syn->sport || r->s.rport != syn->dport)
		return 0;
	if (syn->family == AF_INET6)
		return r->s.family == AF_INET6 && memcmp(r->s.raddr, syn->dst, 16) == 0;
	if (r->s.family == AF_INET)
		return memcmp(r->s.raddr, syn->dst, 4) == 0;
	return memcmp(r->s.raddr, mapped, 12) == 0 && memcmp(r->s.raddr + 12, syn->dst, 4) == 0;
}

/* Which process sent each SYN: its SYN_SENT socket's owner, else a raw TCP socket's. */
static void attribute(struct watch *w, const struct behave_syn *syn, size_t n)
{
	struct synctx ctx = {w, syn, n};
	const struct agent_conf *c = w->c;
	struct agent_finding f;
	struct behave_proc p;
	pid_t pid, raw_pid = 0;
	unsigned count;
	size_t i, j;

	w->nrows = 0;
	proc_read_net("tcp", collect_syn_sent, &ctx);
	proc_read_net("tcp6", collect_syn_sent, &ctx);
	proc_read_net("raw", collect_raw_tcp, w);
	proc_read_net("raw6", collect_raw_tcp, w);
	proc_inode_scan(&w->inodes, want_row, w);
	for (j = 0; j < w->nrows && raw_pid == 0; j++)
		if (w->rows[j].raw)
			raw_pid = proc_inode_pid(&w->inodes, w->rows[j].s.inode);
	for (i = 0; i < n; i++) {
		pid = 0;
		for (j = 0; j < w->nrows && pid == 0; j++)
			if (row_is_syn(&w->rows[j], &syn[i]))
				pid = proc_inode_pid(&w->inodes, w->rows[j].s.inode);
		if (pid == 0)
			pid = raw_pid;
		if (pid == 0) {
			w->ctr[C_SYN_UNKNOWN]++;
			continue;
		}
		if (is_agent(w, pid))
			continue;
		count = behave_scan_syn(&w->scan, pid, syn[i].family, syn[i].dst, syn[i].dport,
					(int64_t)mm_clock_ms(), c->scan_window_s);
		if ((long long)count < c->scan_burst || gather(pid, &p) < 0 ||
		    seen(w, pid, p.starttime, K_SCAN))
			continue;
		behave_finding(&f, "guard.behaviour.scan", "T1046", &p, c->root);
		behave_detail_scan(&f, syn[i].dport, count, c->scan_window_s);
		report(w, &f, pid, 1);
	}
}

static void on_packet(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	struct behave_syn syn[SYN_BATCH];
	struct sockaddr_ll sll;
	uint8_t buf[256];
	socklen_t sl;
	size_t n = 0, i;
	ssize_t r;

	(void)what;
	for (i = 0; i < SYN_BATCH; i++) {
		sl = sizeof sll;
		r = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&sll, &sl);
		if (r < 0)
			break;
		/* The filter already keeps only outgoing packets; the address says so too. */
		if (sll.sll_pkttype != PACKET_OUTGOING)
			continue;
		if (behave_parse_syn(buf, (size_t)r, &syn[n]) < 0 ||
		    !behave_scan_port(&w->rules, syn[n].dport))
			continue;
		w->ctr[C_SYNS]++;
		n++;
	}
	if (n > 0)
		attribute(w, syn, n);
}

/* ---- signals ---- */

/* The victim in our pid namespace: the tracepoint names it in the initial one. */
struct victim_find {
	const char *comm;
	size_t n;
	pid_t pid;
};

static void victim_by_name(pid_t pid, void *arg)
{
	struct victim_find *vf = arg;
	struct proc_stat st;

	if (proc_read_stat(pid, &st) == 0 && strcmp(st.comm, vf->comm) == 0) {
		vf->n++;
		vf->pid = pid;
	}
}

static pid_t find_victim(struct watch *w, const struct sigwatch_ev *ev)
{
	struct victim_find vf;
	struct proc_stat st;
	pid_t found = 0, dead = 0;
	size_t i, n = 0, ndead = 0;

	if (ev->target > 0 && proc_read_stat(ev->target, &st) == 0 && strcmp(st.comm, ev->comm) == 0)
		return ev->target;
	/* One service of that name, or one of them already dead (a zombie or
	 * gone): that is the victim. Two live ones: do not guess. */
	for (i = 0; i < w->nsvc; i++) {
		if (strcmp(w->svc[i].comm, ev->comm) != 0)
			continue;
		n++;
		found = w->svc[i].pid;
		if (proc_read_stat(found, &st) < 0 || st.state == 'Z') {
			ndead++;
			dead = found;
		}
	}
	if (n == 1)
		return found;
	if (n > 1)
		return ndead == 1 ? dead : 0;
	/* A service that started since the last sweep is not in the list yet:
	 * look for it by name now (the signal was just generated, so the victim
	 * is still there, alive or a zombie). */
	vf.comm = ev->comm;
	vf.n = 0;
	vf.pid = 0;
	proc_each_pid(victim_by_name, &vf);
	return vf.n == 1 ? vf.pid : 0;
}

static void on_signal_ev(const struct sigwatch_ev *ev, void *arg)
{
	struct watch *w = arg;
	const struct agent_conf *c = w->c;
	struct agent_finding f;
	struct behave_proc p;
	pid_t victim;

	/* Most signals are of no interest: decide that before any /proc read. */
	if (!behave_fatal_signal(ev->sig) || !behave_list_has(&c->services, ev->comm) ||
	    ev->sender <= 1 || is_agent(w, ev->sender))
		return;
	victim = find_victim(w, ev);
	if (!behave_service_killed(c, ev->sig, ev->result, ev->comm, ev->sender, victim))
		return;
	if (gather(ev->sender, &p) < 0) {
		memset(&p, 0, sizeof p);
		p.pid = ev->sender;
	}
	if (seen(w, ev->sender, p.starttime, K_KILLED))
		return;
	behave_finding(&f, "guard.behaviour.service_killed", "T1489", &p, c->root);
	behave_detail_service_killed(&f, ev->comm, ev->sig, victim);
	report(w, &f, ev->sender, 1);
}

static void on_sigwatch(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	size_t i;

	(void)what;
	for (i = 0; i < sigwatch_nfds(w->sw); i++)
		if (sigwatch_fd(w->sw, i) == fd)
			sigwatch_read(w->sw, i, on_signal_ev, w);
	w->ctr[C_SIG_LOST] = sigwatch_lost(w->sw);
}

/* ---- watchdog devices ---- */

static void watchdog_open(struct watch *w, struct wd *d, pid_t pid, int *allow)
{
	const struct agent_conf *c = w->c;
	struct agent_finding f;
	struct behave_proc p;

	*allow = 1;
	if (pid <= 0 || is_agent(w, pid) || gather(pid, &p) < 0)
		return;
	if (behave_list_has_exe(&c->watchdog_allow, p.exe, c->root))
		return;
	*allow = c->mode != AGENT_ENFORCE;
	if (seen(w, pid, p.starttime, K_WATCHDOG))
		return;
	behave_finding(&f, "guard.behaviour.watchdog", "T1562", &p, c->root);
	behave_detail_watchdog(&f, d->dev);
	/* path stays "": the attached descriptor is the process's executable. */
	report(w, &f, pid, 1);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct wd *d = arg;
	struct watch *w = d->w;
	char buf[4096] __attribute__((aligned(8)));
	struct fanotify_event_metadata *m;
	ssize_t len;
	int allow;

	(void)what;
	len = read(fd, buf, sizeof buf);
	if (len <= 0)
		return;
	for (m = (struct fanotify_event_metadata *)buf; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
		if (m->vers != FANOTIFY_METADATA_VERSION)
			break;
		if (d->perm && (m->mask & FAN_OPEN_PERM)) {
			struct fanotify_response r;

			/* Answer first: the opener waits on us. Only then report (and kill). */
			allow = 1;
			if (m->pid > 0 && !is_agent(w, m->pid)) {
				struct behave_proc p;

				if (gather(m->pid, &p) == 0 &&
				    !behave_list_has_exe(&w->c->watchdog_allow, p.exe, w->c->root))
					allow = w->c->mode != AGENT_ENFORCE;
			}
			r.fd = m->fd;
			r.response = allow ? FAN_ALLOW : FAN_DENY;
			if (write(fd, &r, sizeof r) < 0)
				log_warn("watch: fanotify response");
			if (m->fd >= 0)
				close(m->fd);
			watchdog_open(w, d, m->pid, &allow);
		} else {
			if (m->fd >= 0)
				close(m->fd);
			if (m->mask & FAN_OPEN)
				watchdog_open(w, d, m->pid, &allow);
		}
	}
}

static void watchdog_mark(struct watch *w, struct wd *d)
{
	struct stat st;
	int fd;

	if (d->fd >= 0 || stat(d->path, &st) < 0)
		return;
	/*
	 * A permission event makes fanotify open the file for us, and opening a
	 * real watchdog starts it (and may reboot the device when we close it).
	 * Recent kernels send no permission events for device nodes anyway. So a
	 * device gets a notification with a file handle (nothing opened): it can
	 * be reported and killed, not denied. Anything else can be denied.
	 */
	d->perm = !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode);
	if (d->perm)
		fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
				   O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	else
		fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_FID,
				   O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	if (fd < 0) {
		log_warn("watch: fanotify_init for %s", d->path);
		return;
	}
	if (fanotify_mark(fd, FAN_MARK_ADD, d->perm ? FAN_OPEN_PERM : FAN_OPEN, AT_FDCWD,
			  d->path) < 0) {
		log_warn("watch: fanotify_mark %s", d->path);
		close(fd);
		return;
	}
	d->ev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_watchdog, d);
	if (d->ev == NULL || event_add(d->ev, NULL) < 0) {
		if (d->ev != NULL)
			event_free(d->ev);
		d->ev = NULL;
		close(fd);
		return;
	}
	d->fd = fd;
	log_info("watch: watching %s (%s)", d->path, d->perm ? "open permission" : "open");
}

/* ---- sweep, stats, reporter ---- */

static void sweep_one(pid_t pid, void *arg)
{
	check_proc(arg, pid, 0);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	size_t i;

	(void)fd;
	(void)what;
	w->ctr[C_SWEEPS]++;
	/* Signal records waiting in the rings are read first: a service killed
	 * since the last sweep must still be in the list when its killer's
	 * record names it. */
	for (i = 0; w->sw != NULL && i < sigwatch_nfds(w->sw); i++)
		on_sigwatch(sigwatch_fd(w->sw, i), EV_READ, w);
	prune(w);
	proc_each_pid(sweep_one, w);
	check_rows(w, 0);
	for (i = 0; i < w->nwd; i++)
		watchdog_mark(w, &w->wd[i]);
}

static void on_stats(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	struct agent_stats s;

	(void)fd;
	(void)what;
	memset(&s, 0, sizeof s);
	agent_strcpy(s.part, sizeof s.part, "watch");
	memcpy(s.counters, w->ctr, sizeof s.counters);
	if (mm_ipc_send(w->report_fd, AGENT_MSG_STATS, ++w->id, &s, sizeof s, -1) < 0)
		w->ctr[C_SEND_ERRORS]++;
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	struct mm_ipc_msg *m;
	int rc;

	(void)what;
	m = malloc(sizeof *m);
	if (m == NULL)
		return;
	rc = mm_ipc_recv(fd, m);
	if (rc == 0 && m->fd >= 0)
		close(m->fd);
	free(m);
	/* Nothing is expected from the reporter; its end closing means the agent stops. */
	if (rc == MM_EIO) {
		log_debug("watch: reporter gone");
		event_base_loopbreak(w->base);
	}
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(((struct watch *)arg)->base);
}

/* ---- setup ---- */

static void watchdogs_init(struct watch *w)
{
	const struct agent_conf *c = w->c;
	const char *root = c->root != NULL ? c->root : "";
	size_t i, rl = strlen(root);
	int n;

	while (rl > 0 && root[rl - 1] == '/')
		rl--;
	for (i = 0; i < c->watchdogs.n && w->nwd < WD_MAX; i++) {
		struct wd *d = &w->wd[w->nwd];

		n = snprintf(d->path, sizeof d->path, "%.*s%s", (int)rl, root, c->watchdogs.v[i]);
		if (n < 0 || (size_t)n >= sizeof d->path || c->watchdogs.v[i][0] != '/')
			continue;
		agent_strcpy(d->dev, sizeof d->dev, c->watchdogs.v[i]);
		d->w = w;
		d->fd = -1;
		w->nwd++;
	}
}

static int add_ev(struct watch *w, struct event **ev, int fd, short what, event_callback_fn fn,
		  void *arg)
{
	*ev = event_new(w->base, fd, what, fn, arg);
	if (*ev == NULL || event_add(*ev, NULL) < 0)
		return MM_ENOMEM;
	return 0;
}

static void watch_free(struct watch *w)
{
	size_t i;

	for (i = 0; i < w->nwd; i++) {
		if (w->wd[i].ev != NULL)
			event_free(w->wd[i].ev);
		if (w->wd[i].fd >= 0)
			close(w->wd[i].fd);
	}
	for (i = 0; i < SIGWATCH_MAX_CPUS; i++)
		if (w->ev_sig[i] != NULL)
			event_free(w->ev_sig[i]);
	if (w->ev_report)
		event_free(w->ev_report);
	if (w->ev_pconn)
		event_free(w->ev_pconn);
	if (w->ev_pkt)
		event_free(w->ev_pkt);
	if (w->ev_term)
		event_free(w->ev_term);
	if (w->ev_int)
		event_free(w->ev_int);
	if (w->ev_sweep)
		event_free(w->ev_sweep);
	if (w->ev_stats)
		event_free(w->ev_stats);
	if (w->ev_queue)
		event_free(w->ev_queue);
	sigwatch_close(w->sw);
	if (w->pconn_fd >= 0)
		close(w->pconn_fd);
	if (w->pkt_fd >= 0)
		close(w->pkt_fd);
	if (w->base)
		event_base_free(w->base);
	free(w);
}

int watch_run(const struct agent_conf *c, int report_fd)
{
	struct timeval sweep_tv = {c->sweep_s > 0 ? (time_t)c->sweep_s : 10, 0};
	struct timeval stats_tv = {STATS_S, 0};
	unsigned bad = 0;
	struct watch *w;
	size_t i;
	int rc = MM_ENOMEM;

	w = calloc(1, sizeof *w);
	if (w == NULL)
		return MM_ENOMEM;
	w->c = c;
	w->report_fd = report_fd;
	w->pconn_fd = w->pkt_fd = -1;
	w->self_pid = getpid();
	w->parent_pid = getppid();
	signal(SIGPIPE, SIG_IGN);
	if (stat("/proc/self/exe", &w->self) < 0) {
		log_warn("watch: /proc/self/exe");
		rc = MM_EIO;
		goto out;
	}
	if ((rc = scope_init(w)) < 0)
		goto out;
	rc = MM_ENOMEM;
	behave_rules_init(&w->rules, c, &bad);
	if (bad > 0)
		log_warnx("watch: %u listen or port entries could not be read", bad);
	w->base = event_base_new();
	if (w->base == NULL)
		goto out;
	if (add_ev(w, &w->ev_report, report_fd, EV_READ | EV_PERSIST, on_report, w) < 0)
		goto out;
	w->ev_term = evsignal_new(w->base, SIGTERM, on_term, w);
	w->ev_int = evsignal_new(w->base, SIGINT, on_term, w);
	if (w->ev_term == NULL || w->ev_int == NULL || evsignal_add(w->ev_term, NULL) < 0 ||
	    evsignal_add(w->ev_int, NULL) < 0)
		goto out;
	w->ev_sweep = event_new(w->base, -1, EV_PERSIST, on_sweep, w);
	w->ev_stats = event_new(w->base, -1, EV_PERSIST, on_stats, w);
	w->ev_queue = evtimer_new(w->base, on_queue, w);
	if (w->ev_sweep == NULL || w->ev_stats == NULL || w->ev_queue == NULL ||
	    event_add(w->ev_sweep, &sweep_tv) < 0 || event_add(w->ev_stats, &stats_tv) < 0)
		goto out;

	if (pconn_open(&w->pconn_fd) == 0) {
		if (add_ev(w, &w->ev_pconn, w->pconn_fd, EV_READ | EV_PERSIST, on_pconn, w) < 0)
			goto out;
	} else {
		w->pconn_fd = -1;
		log_warnx("watch: no process connector: new processes are seen by the sweep alone");
	}
	if (open_packet(w) == 0) {
		if (add_ev(w, &w->ev_pkt, w->pkt_fd, EV_READ | EV_PERSIST, on_packet, w) < 0)
			goto out;
	} else {
		log_warnx("watch: no packet socket: scans are not detected");
	}
	if (sigwatch_open(&w->sw) == 0) {
		for (i = 0; i < sigwatch_nfds(w->sw); i++)
			if (add_ev(w, &w->ev_sig[i], sigwatch_fd(w->sw, i), EV_READ | EV_PERSIST,
				   on_sigwatch, w) < 0)
				goto out;
	} else {
		w->sw = NULL;
		log_warnx("watch: no signal_generate tracepoint: the killer of a service cannot "
			  "be named");
		w->logged_no_killer = 1;
	}
	watchdogs_init(w);
	for (i = 0; i < w->nwd; i++)
		watchdog_mark(w, &w->wd[i]);

	/* The first sweep at once: what ran before the agent is checked too.
	 * Not as EV_TIMEOUT: libevent would then count the next period from the
	 * pending timeout instead of from now, and skip one sweep. */
	event_active(w->ev_sweep, 0, 0);
	log_info("watch: running (%s)", c->mode == AGENT_ENFORCE ? "enforce" : "monitor");
	rc = event_base_dispatch(w->base) < 0 ? MM_EIO : 0;
out:
	watch_free(w);
	return rc;
}
