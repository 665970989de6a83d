/*
 * The guard: the privileged process that answers every exec permission
 * event (fanotify FAN_OPEN_EXEC_PERM) on the watched mounts.
 *
 * One libevent loop. An event is answered at once when the process is the
 * agent's own, when the verdict cache knows the file, or when the place
 * decides (policy_path); what needs the file's SHA-256 or a YARA scan goes
 * to the reporter with the file's descriptor and stays pending, bounded by
 * max_pending and by scan_timeout, until the answer comes back. Nothing in
 * that path logs or writes to a file: what happens is counted, and findings
 * go to the reporter as messages on a non-blocking socket (a full socket
 * drops the finding and counts it, it never stalls an exec).
 *
 * Around it: the feed is reloaded when its file is replaced (inotify on its
 * folder) or on SIGHUP; the mounts are re-marked when the mount table
 * changes (every-mount mode); the agent's own files carry FAN_OPEN_PERM
 * inode marks so that other processes cannot open them; and without exec
 * permission events the process connector's exec event takes their place
 * (fallback), where a refused program is killed as soon as it is seen.
 *
 * The guard must never open a file it marked itself: its own open would
 * wait for an answer that only it can give. Reloading the feed therefore
 * takes the feed's mark off while it reads, and the fallback looks at an
 * executable with stat(2) before it opens it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mamori/buf.h"
#include "mamori/clock.h"
#include "mamori/error.h"
#include "mamori/hash.h"
#include "mamori/ipc.h"
#include "mamori/log.h"

#include "guard.h"

#define STATS_S 10
#define SELF_MAX 8           /* the agent's own files */
#define RECENT_MAX 16        /* execs of the agent's own binary, for the open that follows */
#define OVERLAY_MAX 64       /* overlay mounts remembered for the upper check */
#define MOUNTINFO_MAX (4u << 20)
#define PENDING_LIMIT 65535u /* the slot is the low 16 bits of a scan's id */
#define FAN_READS 16         /* reads of the fanotify queue per wakeup */
#define REP_READS 64         /* messages from the reporter per wakeup */
#define FEED_DELAY_MS 20     /* a replaced feed is read after this quiet time */
#define FEED_CREATE_DELAY_MS 500 /* ... or this after a bare create, still being written */

/* One scan in flight. */
struct pending {
	uint64_t id;       /* 0: the slot is free */
	int fd;            /* the event's file, or /proc/PID/exe in the fallback */
	pid_t pid;
	int fallback;
	struct vkey k;
	uint64_t deadline_ms;
	uint64_t ts_ns;    /* fallback: the exec's kernel time */
	char path[512];
};

/* An inode the agent protects. */
struct self_file {
	uint64_t dev, ino;
	const char *path;
	int marked;
};

struct recent_exec {
	pid_t pid;
	uint64_t dev, ino;
};

struct guard {
	const struct agent_conf *c;
	const pid_t *pids;
	size_t npids;
	struct event_base *base;
	struct policy *pol;
	struct vcache *cache;
	int fan, pconn, rep, rep_gone;
	int mi_fd, mi_ep, ino_fd, feed_wd;
	const char *feed_name; /* basename of c->feed */
	char self_exe[PATH_MAX];
	struct pending *pend;
	size_t pend_max, npend;
	uint64_t gen;
	struct event *ev_fan, *ev_pconn, *ev_rep, *ev_mi, *ev_ino, *ev_timer, *ev_stats,
		*ev_reload, *ev_sig[3];
	struct mnt_info overlay[OVERLAY_MAX];
	size_t noverlay;
	int watch_ids[AGENT_MAX_LIST]; /* mount ids of the --watch mounts */
	size_t nwatch_ids;
	struct self_file self[SELF_MAX];
	size_t nself;
	struct recent_exec recent[RECENT_MAX];
	size_t recent_next;
	uint64_t cnt[GC_COUNT];
	int fallback;
	int enforce;
	int stopping;
	pid_t fb_last_pid;      /* fallback: the last process judged ... */
	struct vkey fb_last_key; /* ... and its file */
};

/* ---- small helpers ------------------------------------------------------ */

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int own_pid(const struct guard *g, pid_t pid)
{
	for (size_t i = 0; i < g->npids; i++)
		if (g->pids[i] == pid)
			return 1;
	return pid == getpid();
}

/* path as the device sees it: the configured root taken off. */
static const char *device_path(const struct guard *g, const char *path)
{
	const char *r = g->c->root;
	size_t n;

	if (r == NULL || r[0] == '\0' || strcmp(r, "/") == 0)
		return path;
	n = strlen(r);
	while (n > 1 && r[n - 1] == '/')
		n--;
	if (strncmp(path, r, n) == 0 && path[n] == '/')
		return path + n;
	return path;
}

/* readlink(2) into buf, NUL-terminated; "" on error or truncation. */
static void read_link(const char *link, char *buf, size_t n)
{
	ssize_t r = readlink(link, buf, n - 1);

	buf[r > 0 && (size_t)r < n - 1 ? r : 0] = '\0';
}

static void fd_path(int fd, char *buf, size_t n)
{
	char link[64];

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	read_link(link, buf, n);
}

static void vkey_of(const struct stat *st, struct vkey *k)
{
	k->dev = (uint64_t)st->st_dev;
	k->ino = (uint64_t)st->st_ino;
	k->size = (uint64_t)st->st_size;
	k->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	k->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

/* Appends s to b as a JSON string; bytes that are not UTF-8 as \u00XX. */
static int json_str(struct mm_buf *b, const char *s)
{
	size_t n = strlen(s);
	int utf8 = mm_utf8_check(s, n) == n;
	int rc = mm_buf_putc(b, '"');

	for (size_t i = 0; rc == 0 && i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			rc = mm_buf_printf(b, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && !utf8))
			rc = mm_buf_printf(b, "\\u%04x", ch);
		else
			rc = mm_buf_putc(b, (char)ch);
	}
	return rc == 0 ? mm_buf_putc(b, '"') : rc;
}

/* ---- the caller, for a finding ------------------------------------------ */

static void proc_read(pid_t pid, const char *what, char *buf, size_t n)
{
	char path[64];
	ssize_t r;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	r = read(fd, buf, n - 1);
	close(fd);
	buf[r > 0 ? r : 0] = '\0';
}

/* Fills the finding's process fields (best effort; 0 and "" when gone). */
static void fill_process(const struct guard *g, struct agent_finding *f, pid_t pid)
{
	char path[64], buf[PATH_MAX];
	struct stat st;

	f->pid = pid;
	if (pid <= 0)
		return;
	f->ppid = proc_ppid(pid);
	if (f->ppid < 0)
		f->ppid = 0;
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	if (stat(path, &st) == 0)
		f->uid = (uint32_t)st.st_uid;
	proc_read(pid, "comm", buf, sizeof f->comm);
	buf[strcspn(buf, "\n")] = '\0';
	agent_strcpy(f->comm, sizeof f->comm, buf);
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	read_link(path, buf, sizeof buf);
	agent_strcpy(f->exe, sizeof f->exe, device_path(g, buf));
}

static void finding_init(struct agent_finding *f, const char *event, const char *reason,
			 const char *attack)
{
	memset(f, 0, sizeof *f);
	agent_strcpy(f->event, sizeof f->event, event);
	agent_strcpy(f->reason, sizeof f->reason, reason);
	if (attack != NULL)
		agent_strcpy(f->attack[0], sizeof f->attack[0], attack);
	f->time_ms = wall_ms();
	f->latency_us = -1;
}

/* ---- messages to the reporter -------------------------------------------- */

static void answer_all(struct guard *g, int timeout, const char *cause);

static void reporter_gone(struct guard *g)
{
	if (g->rep_gone)
		return;
	g->rep_gone = 1;
	if (g->ev_rep != NULL)
		event_del(g->ev_rep);
	/* Nothing will answer the scans in flight: each gets the default now. */
	answer_all(g, 0, "reporter_gone");
}

static int to_reporter(struct guard *g, uint32_t type, uint64_t id, const void *p, size_t n, int fd)
{
	int rc;

	if (g->rep_gone)
		return MM_EIO;
	rc = mm_ipc_send(g->rep, type, id, p, n, fd);
	if (rc == MM_EIO)
		reporter_gone(g);
	if (rc < 0 && type != AGENT_MSG_SCAN)
		g->cnt[GC_SEND_DROPPED]++;
	return rc;
}

static void send_finding(struct guard *g, const struct agent_finding *f, int fd)
{
	(void)to_reporter(g, AGENT_MSG_FINDING, 0, f, sizeof *f, fd);
}

static void send_stats(struct guard *g)
{
	struct agent_stats s;

	memset(&s, 0, sizeof s);
	agent_strcpy(s.part, sizeof s.part, "guard");
	g->cnt[GC_FALLBACK] = (uint64_t)g->fallback;
	g->cnt[GC_FEED_ENTRIES] = policy_feed_count(g->pol);
	for (size_t i = 0; i < GC_COUNT && i < sizeof s.counters / sizeof s.counters[0]; i++)
		s.counters[i] = g->cnt[i];
	(void)to_reporter(g, AGENT_MSG_STATS, 0, &s, sizeof s, -1);
}

/* ---- answers ------------------------------------------------------------- */

/* Answers a permission event without closing its descriptor. */
static void respond(struct guard *g, int fd, int allow)
{
	struct fanotify_response r = { .fd = fd, .response = allow ? FAN_ALLOW : FAN_DENY };

	if (write(g->fan, &r, sizeof r) != (ssize_t)sizeof r)
		g->cnt[GC_SEND_DROPPED]++;
}

/* Answers a permission event (nothing to answer in the fallback) and
 * closes its descriptor. */
static void answer(struct guard *g, int fd, int allow, int fallback)
{
	if (!fallback)
		respond(g, fd, allow);
	g->cnt[allow ? GC_ALLOWED : GC_DENIED]++;
	close(fd);
}

/* The exe of pid is still the file the decision was about (pid reuse). */
static int same_exe(pid_t pid, const struct vkey *k)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	return stat(path, &st) == 0 && (uint64_t)st.st_dev == k->dev &&
	       (uint64_t)st.st_ino == k->ino;
}

/* Kills what a fallback refused, when pid still runs that file. */
static void fallback_kill(struct guard *g, struct agent_finding *f, pid_t pid,
			  const struct vkey *k, uint64_t ts_ns)
{
	int exe_fd, n;

	if (k != NULL && !same_exe(pid, k))
		return;
	n = respond_kill_tree(pid, &exe_fd);
	if (exe_fd >= 0)
		close(exe_fd);
	f->action = AGENT_ACT_KILLED;
	f->killed = n > 0 ? (uint32_t)n : 0;
	f->latency_us = (int64_t)((mono_ns() - ts_ns) / 1000);
	g->cnt[GC_FALLBACK_KILLS] += f->killed;
}

/*
 * A refused exec: the answer, then the finding with the file's descriptor
 * (for the hash and the quarantine), then the descriptor is closed. In the
 * fallback the program already runs, and enforce mode kills it and its
 * children; the descriptor there is /proc/PID/exe's, opened before, so the
 * reporter gets the bytes even of a program that is gone.
 */
static void deny_exec(struct guard *g, int fd, pid_t pid, const char *path, const char *reason,
		      const char *detail, const uint8_t *sha, int fallback, uint64_t ts_ns,
		      const struct vkey *k)
{
	struct agent_finding f;

	finding_init(&f, "guard.exec.denied", reason, "T1105");
	fill_process(g, &f, pid);
	agent_strcpy(f.path, sizeof f.path, device_path(g, path));
	agent_strcpy(f.detail, sizeof f.detail, detail);
	if (sha != NULL) {
		memcpy(f.sha256, sha, MM_SHA256_LEN);
		f.has_sha256 = 1;
	}
	f.quarantine = (uint8_t)g->enforce;
	f.action = g->enforce ? AGENT_ACT_DENIED : AGENT_ACT_REPORTED;
	/* The caller waits in execve(2) for this answer: it goes first. In
	 * the fallback a program that already ended was not stopped: only
	 * reported. */
	if (!fallback)
		respond(g, fd, !g->enforce);
	else if (g->enforce) {
		f.action = AGENT_ACT_REPORTED;
		fallback_kill(g, &f, pid, k, ts_ns);
	}
	g->cnt[g->enforce ? GC_DENIED : GC_ALLOWED]++;
	send_finding(g, &f, fd);
	close(fd);
}

/* What could not be decided in time: the configured default and a report. */
static void undecided(struct guard *g, int fd, pid_t pid, const char *path, const char *reason,
		      const char *cause, int fallback, uint64_t ts_ns, const struct vkey *k)
{
	int deny = g->c->on_timeout_deny && g->enforce;
	struct agent_finding f;

	finding_init(&f, "guard.exec.undecided", reason, NULL);
	fill_process(g, &f, pid);
	agent_strcpy(f.path, sizeof f.path, device_path(g, path));
	if (cause != NULL)
		snprintf(f.detail, sizeof f.detail, "{\"cause\": \"%s\"}", cause);
	if (g->c->on_timeout_deny)
		f.action = g->enforce ? (fallback ? AGENT_ACT_KILLED : AGENT_ACT_DENIED)
				      : AGENT_ACT_REPORTED;
	else
		f.action = AGENT_ACT_ALLOWED;
	if (!fallback)
		respond(g, fd, !deny);
	else if (deny)
		fallback_kill(g, &f, pid, k, ts_ns);
	g->cnt[deny ? GC_DENIED : GC_ALLOWED]++;
	send_finding(g, &f, fd);
	close(fd);
}

/* ---- scans in flight ------------------------------------------------------ */

static void arm_timer(struct guard *g)
{
	uint64_t now = mm_clock_ms(), first = UINT64_MAX;
	struct timeval tv;

	for (size_t i = 0; i < g->pend_max; i++)
		if (g->pend[i].id != 0 && g->pend[i].deadline_ms < first)
			first = g->pend[i].deadline_ms;
	if (first == UINT64_MAX) {
		evtimer_del(g->ev_timer);
		return;
	}
	first = first > now ? first - now : 0;
	tv.tv_sec = (time_t)(first / 1000);
	tv.tv_usec = (suseconds_t)(first % 1000) * 1000;
	evtimer_add(g->ev_timer, &tv);
}

static void pend_free(struct guard *g, struct pending *p)
{
	p->id = 0;
	p->fd = -1;
	g->npend--;
}

/* Hands a file to the reporter; the event waits for the answer. */
static void start_scan(struct guard *g, int fd, pid_t pid, const struct vkey *k, const char *path,
		       int fallback, uint64_t ts_ns)
{
	struct agent_scan_req req;
	struct pending *p = NULL;
	size_t slot;
	int rc;

	if (g->rep_gone || g->npend >= g->pend_max) {
		g->cnt[GC_PENDING_FULL]++;
		undecided(g, fd, pid, path, "error", g->rep_gone ? "reporter_gone" : "pending_full",
			  fallback, ts_ns, k);
		return;
	}
	for (slot = 0; slot < g->pend_max; slot++)
		if (g->pend[slot].id == 0)
			break;
	p = &g->pend[slot];
	memset(&req, 0, sizeof req);
	req.size = k->size;
	req.yara = g->c->yara_rules != NULL && g->c->yara_rules[0] != '\0';
	g->gen++;
	p->id = (g->gen << 16) | slot;
	rc = to_reporter(g, AGENT_MSG_SCAN, p->id, &req, sizeof req, fd);
	if (rc < 0) {
		p->id = 0;
		g->cnt[GC_PENDING_FULL]++;
		undecided(g, fd, pid, path, "error", rc == MM_EAGAIN ? "reporter_busy" : "reporter_gone",
			  fallback, ts_ns, k);
		return;
	}
	g->npend++;
	g->cnt[GC_SCANS]++;
	p->fd = fd;
	p->pid = pid;
	p->fallback = fallback;
	p->k = *k;
	p->ts_ns = ts_ns;
	p->deadline_ms = mm_clock_ms() + (uint64_t)g->c->scan_timeout_ms;
	agent_strcpy(p->path, sizeof p->path, path);
	/* Deadlines only grow: an armed timer is already the earliest. */
	if (!evtimer_pending(g->ev_timer, NULL))
		arm_timer(g);
}

/* Answers every scan in flight (timeout: only those past their deadline)
 * with the default; cause goes into the finding. */
static void answer_all(struct guard *g, int timeout, const char *cause)
{
	uint64_t now = mm_clock_ms();

	for (size_t i = 0; i < g->pend_max; i++) {
		struct pending *p = &g->pend[i];

		if (p->id == 0 || (timeout && p->deadline_ms > now))
			continue;
		if (timeout)
			g->cnt[GC_SCAN_TIMEOUTS]++;
		undecided(g, p->fd, p->pid, p->path, timeout ? "timeout" : "error", cause,
			  p->fallback, p->ts_ns, &p->k);
		pend_free(g, p);
	}
	if (g->ev_timer != NULL)
		arm_timer(g);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	answer_all(arg, 1, NULL);
}

/* A YARA rule's name as a JSON detail, when it is a plain identifier. */
static void rule_detail(const char *rule, char *out, size_t n)
{
	size_t i;

	for (i = 0; rule[i] != '\0'; i++)
		if (!(rule[i] == '_' || (rule[i] >= '0' && rule[i] <= '9') ||
		      ((rule[i] | 0x20) >= 'a' && (rule[i] | 0x20) <= 'z')))
			break;
	if (rule[i] != '\0' || i == 0)
		rule = "?";
	snprintf(out, n, "{\"rule\": \"%s\"}", rule);
}

static void on_scan_result(struct guard *g, const struct mm_ipc_msg *m)
{
	const struct agent_scan_res *res = mm_ipc_payload(m, AGENT_MSG_SCAN_RESULT, sizeof *res);
	size_t slot = (size_t)(m->hdr.id & 0xffff);
	struct pending *p;
	const char *reason;
	char detail[128] = "";

	if (res == NULL || slot >= g->pend_max || g->pend[slot].id != m->hdr.id ||
	    m->hdr.id == 0)
		return; /* late (already timed out) or not ours */
	p = &g->pend[slot];
	if (res->status != AGENT_SCAN_OK) {
		undecided(g, p->fd, p->pid, p->path,
			  res->status == AGENT_SCAN_TOOBIG ? "toobig" : "error", NULL, p->fallback,
			  p->ts_ns, &p->k);
	} else if (policy_hash(g->pol, res->sha256, res->size, res->yara_match, &reason) ==
		   V_DENY) {
		if (strcmp(reason, "yara") == 0 && mm_ipc_str_ok(res->yara_rule, sizeof res->yara_rule))
			rule_detail(res->yara_rule, detail, sizeof detail);
		deny_exec(g, p->fd, p->pid, p->path, reason, detail, res->sha256, p->fallback,
			  p->ts_ns, &p->k);
	} else {
		/* Cached only when the bytes hashed are those the key was made for. */
		if (res->size == p->k.size)
			vcache_put(g->cache, &p->k, V_ALLOW);
		answer(g, p->fd, 1, p->fallback);
	}
	pend_free(g, p);
	arm_timer(g);
}

static void on_reporter(evutil_socket_t fd, short what, void *arg)
{
	struct guard *g = arg;
	struct mm_ipc_msg *m = malloc(sizeof *m);

	(void)what;
	if (m == NULL)
		return;
	for (int i = 0; i < REP_READS && !g->rep_gone; i++) {
		int rc = mm_ipc_recv(fd, m);

		if (rc == MM_EAGAIN)
			break;
		if (rc == MM_EIO) {
			reporter_gone(g);
			break;
		}
		if (rc < 0)
			continue;
		if (m->fd >= 0)
			close(m->fd);
		if (m->hdr.type == AGENT_MSG_SCAN_RESULT)
			on_scan_result(g, m);
	}
	free(m);
}

/* ---- the decision for one exec -------------------------------------------- */

/* 1 when path (on an overlay) exists in the upper layer of its mount. */
static int overlay_upper(const struct guard *g, const char *path)
{
	const struct mnt_info *best = NULL;
	size_t blen = 0;
	char up[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < g->noverlay; i++) {
		const struct mnt_info *m = &g->overlay[i];
		size_t n = strlen(m->point);

		if (m->upperdir[0] == '\0')
			continue;
		if (strcmp(m->point, "/") == 0)
			n = 0;
		if (strncmp(path, m->point, n) == 0 && (path[n] == '/' || path[n] == '\0') &&
		    (best == NULL || n >= blen)) {
			best = m;
			blen = n;
		}
	}
	if (best == NULL)
		return 0;
	if ((size_t)snprintf(up, sizeof up, "%s%s", best->upperdir, path + blen) >= sizeof up)
		return 0;
	/* lstat: what the upper layer holds under that name, not where a link goes. */
	return lstat(up, &st) == 0;
}

static int self_index(const struct guard *g, const struct stat *st)
{
	for (size_t i = 0; i < g->nself; i++)
		if (g->self[i].dev == (uint64_t)st->st_dev && g->self[i].ino == (uint64_t)st->st_ino)
			return (int)i;
	return -1;
}

/* The place decision and what follows from it; the descriptor is handed on. */
static void decide(struct guard *g, int fd, pid_t pid, const struct stat *st, const char *path,
		   int fallback, uint64_t ts_ns)
{
	struct statfs sf;
	const char *reason;
	long magic = 0;
	int upper = 0;
	struct vkey k;
	enum verdict v;

	vkey_of(st, &k);
	if (fstatfs(fd, &sf) == 0)
		magic = (long)sf.f_type;
	if (magic == POLICY_OVERLAYFS_MAGIC)
		upper = overlay_upper(g, path);
	v = policy_path(g->pol, path, magic, upper, &reason);
	if (v == V_ALLOW) {
		vcache_put(g->cache, &k, V_ALLOW);
		answer(g, fd, 1, fallback);
	} else if (v == V_DENY) {
		char detail[64] = "";

		if (strcmp(reason, "volatile") == 0)
			snprintf(detail, sizeof detail, "{\"fstype\": \"%s\"}",
				 magic == POLICY_RAMFS_MAGIC ? "ramfs" : "tmpfs");
		deny_exec(g, fd, pid, path, reason, detail, NULL, fallback, ts_ns, &k);
	} else {
		start_scan(g, fd, pid, &k, path, fallback, ts_ns);
	}
}

static void remember_exec(struct guard *g, pid_t pid, const struct stat *st)
{
	struct recent_exec *r = &g->recent[g->recent_next++ % RECENT_MAX];

	r->pid = pid;
	r->dev = (uint64_t)st->st_dev;
	r->ino = (uint64_t)st->st_ino;
}

static void on_exec(struct guard *g, int fd, pid_t pid)
{
	char path[PATH_MAX];
	struct stat st;
	struct vkey k;
	enum verdict v;

	if (own_pid(g, pid) || fstat(fd, &st) < 0) {
		answer(g, fd, 1, 0);
		return;
	}
	/* The agent's own binary runs (mamorid -n, a restart); the open that
	 * the kernel sends right after this exec is let through too. */
	if (self_index(g, &st) >= 0) {
		remember_exec(g, pid, &st);
		answer(g, fd, 1, 0);
		return;
	}
	vkey_of(&st, &k);
	if (vcache_get(g->cache, &k, &v) && v == V_ALLOW) {
		g->cnt[GC_CACHE_HITS]++;
		answer(g, fd, 1, 0);
		return;
	}
	g->cnt[GC_CACHE_MISSES]++;
	fd_path(fd, path, sizeof path);
	decide(g, fd, pid, &st, path, 0, 0);
}

/* An open of one of the agent's own files. */
static void on_self_open(struct guard *g, int fd, pid_t pid)
{
	struct agent_finding f;
	char path[PATH_MAX];
	struct stat st;

	/* pid 0: a process outside the agent's pid namespace, which is not
	 * the device the agent guards (a container's host). */
	if (pid <= 0 || own_pid(g, pid) || fstat(fd, &st) < 0 || self_index(g, &st) < 0) {
		answer(g, fd, 1, 0);
		return;
	}
	for (size_t i = 0; i < RECENT_MAX; i++) {
		struct recent_exec *r = &g->recent[i];

		if (r->pid == pid && r->dev == (uint64_t)st.st_dev && r->ino == (uint64_t)st.st_ino) {
			r->pid = 0;
			answer(g, fd, 1, 0);
			return;
		}
	}
	g->cnt[GC_SELF_DENIED]++;
	finding_init(&f, "guard.self.denied", "", "T1562.001");
	fill_process(g, &f, pid);
	fd_path(fd, path, sizeof path);
	agent_strcpy(f.path, sizeof f.path, device_path(g, path));
	f.action = g->enforce ? AGENT_ACT_DENIED : AGENT_ACT_REPORTED;
	respond(g, fd, !g->enforce);
	g->cnt[g->enforce ? GC_DENIED : GC_ALLOWED]++;
	send_finding(g, &f, fd);
	close(fd);
}

static void on_fanotify(evutil_socket_t fd, short what, void *arg)
{
	struct guard *g = arg;
	char buf[4096] __attribute__((aligned(8)));

	(void)what;
	for (int i = 0; i < FAN_READS; i++) {
		struct fanotify_event_metadata *m;
		ssize_t n = read(fd, buf, sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		m = (struct fanotify_event_metadata *)buf;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->vers != FANOTIFY_METADATA_VERSION || m->fd < 0)
				continue;
			g->cnt[GC_EVENTS]++;
			if (m->mask & FAN_OPEN_EXEC_PERM)
				on_exec(g, m->fd, m->pid);
			else if (m->mask & FAN_OPEN_PERM)
				on_self_open(g, m->fd, m->pid);
			else
				close(m->fd);
		}
	}
}

/* ---- fallback: the process connector's exec event ------------------------ */

/*
 * The connector sees every exec on the machine; with a --watch list only
 * those of files on the watched mounts are the guard's (as with fanotify's
 * mount marks): the executable's mount id must be one of theirs.
 */
static int watched(const struct guard *g, const char *exe_link)
{
	struct statx stx;

	if (g->c->watch.n == 0)
		return 1;
	if (statx(AT_FDCWD, exe_link, 0, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	for (size_t i = 0; i < g->nwatch_ids; i++)
		if ((uint64_t)g->watch_ids[i] == stx.stx_mnt_id)
			return 1;
	return 0;
}

static void on_pconn_event(const struct pconn_ev *ev, void *arg)
{
	struct guard *g = arg;
	char link[64], path[PATH_MAX];
	struct stat st;
	struct vkey k;
	enum verdict v;
	pid_t pid = ev->tgid;
	int fd;

	if (ev->kind != PCONN_EXEC || pid <= 0 || own_pid(g, pid))
		return;
	g->cnt[GC_EVENTS]++;
	snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
	/* stat(2) first: opening one of the agent's own (marked) files here
	 * would wait for an answer from this very loop. */
	if (stat(link, &st) < 0 || self_index(g, &st) >= 0 || !watched(g, link))
		return;
	vkey_of(&st, &k);
	/* A process that execs several times in a row (chroot, then the
	 * program, then its copy) can be read only after the last exec: every
	 * one of its events then shows the same file. Judge it once. */
	if (pid == g->fb_last_pid && memcmp(&k, &g->fb_last_key, sizeof k) == 0)
		return;
	g->fb_last_pid = pid;
	g->fb_last_key = k;
	if (vcache_get(g->cache, &k, &v) && v == V_ALLOW) {
		g->cnt[GC_CACHE_HITS]++;
		g->cnt[GC_ALLOWED]++;
		return;
	}
	g->cnt[GC_CACHE_MISSES]++;
	if ((fd = open(link, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	read_link(link, path, sizeof path);
	decide(g, fd, pid, &st, path, 1, ev->ts_ns);
}

static void on_pconn(evutil_socket_t fd, short what, void *arg)
{
	struct guard *g = arg;

	(void)what;
	if (pconn_read(fd, on_pconn_event, g) == MM_EIO && errno == ENOBUFS)
		g->cnt[GC_PCONN_LOST]++;
}

/* ---- mounts ----------------------------------------------------------------- */

/* Copies src into dst (n bytes) undoing mountinfo's \ooo escapes; 0, or
 * MM_ETOOBIG when it does not fit. */
static int unescape(char *dst, size_t n, const char *src, size_t len)
{
	size_t w = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = src[i];

		if (ch == '\\' && len - i >= 4 && src[i + 1] >= '0' && src[i + 1] <= '3' &&
		    src[i + 2] >= '0' && src[i + 2] <= '7' && src[i + 3] >= '0' && src[i + 3] <= '7') {
			ch = (char)((src[i + 1] - '0') << 6 | (src[i + 2] - '0') << 3 |
				    (src[i + 3] - '0'));
			i += 3;
		}
		if (w + 1 >= n)
			return MM_ETOOBIG;
		dst[w++] = ch;
	}
	dst[w] = '\0';
	return 0;
}

#define MI_FIELDS 64

/* One line of mountinfo: "ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER". */
static int mount_line(const char *s, size_t n, struct mnt_info *m)
{
	const char *f[MI_FIELDS];
	size_t fl[MI_FIELDS], nf = 0, dash, start = 0;
	long id = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == ' ') {
			if (nf == MI_FIELDS)
				return MM_EPARSE;
			f[nf] = s + start;
			fl[nf++] = i - start;
			start = i + 1;
		}
	}
	for (dash = 6; dash < nf && !(fl[dash] == 1 && f[dash][0] == '-'); dash++)
		;
	if (nf < 10 || dash + 3 >= nf)
		return MM_EPARSE;
	if (fl[0] == 0 || fl[0] > 9)
		return MM_EPARSE;
	for (size_t i = 0; i < fl[0]; i++) {
		if (f[0][i] < '0' || f[0][i] > '9')
			return MM_EPARSE;
		id = id * 10 + (f[0][i] - '0');
	}
	memset(m, 0, sizeof *m);
	m->id = (int)id;
	if (unescape(m->point, sizeof m->point, f[4], fl[4]) < 0 || m->point[0] != '/' ||
	    unescape(m->fstype, sizeof m->fstype, f[dash + 1], fl[dash + 1]) < 0)
		return MM_EPARSE;
	/* Super options: "rw,lowerdir=...,upperdir=...,workdir=...". */
	{
		const char *o = f[dash + 3], *end = o + fl[dash + 3];

		while (o < end) {
			const char *c = memchr(o, ',', (size_t)(end - o));
			size_t ol = (size_t)((c ? c : end) - o);

			if (ol > 9 && memcmp(o, "upperdir=", 9) == 0 &&
			    unescape(m->upperdir, sizeof m->upperdir, o + 9, ol - 9) < 0)
				m->upperdir[0] = '\0';
			o += ol + 1;
		}
	}
	return 0;
}

/*
 * Parses /proc/self/mountinfo text (see guard.h). Lines longer than 8 KiB
 * or not in the format are skipped.
 */
size_t mountinfo_parse(const char *text, size_t len,
		       void (*fn)(const struct mnt_info *m, void *arg), void *arg)
{
	struct mnt_info m;
	size_t pos = 0, good = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = (size_t)((nl ? nl : text + len) - (text + pos));

		if (n <= 8192 && memchr(text + pos, '\0', n) == NULL &&
		    mount_line(text + pos, n, &m) == 0) {
			good++;
			if (fn != NULL)
				fn(&m, arg);
		}
		pos += n + 1;
	}
	return good;
}

/* Reads the whole mount table (bounded) into a malloc'd buffer. */
static int read_mountinfo(char **out, size_t *len)
{
	struct mm_buf b;
	char chunk[4096];
	int fd, rc = 0;

	mm_buf_init(&b, MOUNTINFO_MAX);
	if ((fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) < 0)
		return MM_EIO;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = MM_EIO;
			break;
		}
		if (n == 0 || (rc = mm_buf_append(&b, chunk, (size_t)n)) < 0)
			break;
	}
	close(fd);
	if (rc < 0) {
		mm_buf_free(&b);
		return rc;
	}
	*len = b.len;
	*out = mm_buf_steal(&b);
	if (*out == NULL) {
		*out = strdup("");
		if (*out == NULL)
			return MM_ENOMEM;
	}
	return 0;
}

static const char *const pseudo_fs[] = {
	"proc",     "sysfs",     "cgroup",    "cgroup2",     "devpts",    "mqueue",
	"debugfs",  "tracefs",   "securityfs", "pstore",     "bpf",       "fusectl",
	"configfs", "autofs",    "binfmt_misc", "hugetlbfs", "nsfs",      "efivarfs",
	"selinuxfs", "rpc_pipefs",
};

static int is_pseudo(const char *fstype)
{
	for (size_t i = 0; i < sizeof pseudo_fs / sizeof pseudo_fs[0]; i++)
		if (strcmp(fstype, pseudo_fs[i]) == 0)
			return 1;
	return 0;
}

struct scan_ctx {
	struct guard *g;
	const char *want;  /* a --watch mountpoint looked for, or NULL: all */
	int found, found_id;
	size_t marked, failed;
};

static int mark_mount(struct guard *g, const char *point)
{
	return fanotify_mark(g->fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_EXEC_PERM, AT_FDCWD,
			     point) == 0
		       ? 0
		       : MM_EIO;
}

static void on_mount(const struct mnt_info *m, void *arg)
{
	struct scan_ctx *x = arg;
	struct guard *g = x->g;

	if (strcmp(m->fstype, "overlay") == 0 && g->noverlay < OVERLAY_MAX)
		g->overlay[g->noverlay++] = *m;
	if (x->want != NULL) {
		/* Of mounts stacked on one point the last is the one seen. */
		if (strcmp(m->point, x->want) == 0) {
			x->found = 1;
			x->found_id = m->id;
		}
		return;
	}
	if (g->fan < 0 || is_pseudo(m->fstype))
		return;
	if (mark_mount(g, m->point) == 0)
		x->marked++;
	else
		x->failed++;
}

/*
 * Reads the mount table again: the overlay mounts for the upper check and,
 * with no --watch list, a mark on every mount that is not a pseudo
 * filesystem (adding a mark twice is harmless; a mount that went away took
 * its mark with it). want: a mountpoint whose presence is reported.
 */
static int scan_mounts(struct guard *g, const char *want, int mark, struct scan_ctx *x)
{
	char *text;
	size_t len;
	int rc;

	memset(x, 0, sizeof *x);
	x->g = g;
	x->want = want;
	if ((rc = read_mountinfo(&text, &len)) < 0)
		return rc;
	g->noverlay = 0;
	if (!mark && want == NULL)
		x->want = ""; /* no mount is named "": only the overlays are kept */
	(void)mountinfo_parse(text, len, on_mount, x);
	free(text);
	return 0;
}

static void on_mountinfo(evutil_socket_t fd, short what, void *arg)
{
	struct guard *g = arg;
	struct epoll_event ev[4];
	struct scan_ctx x;

	(void)fd;
	(void)what;
	/* epoll_wait() takes the change; the next one wakes the loop again. */
	(void)epoll_wait(g->mi_ep, ev, 4, 0);
	(void)scan_mounts(g, NULL, g->c->watch.n == 0, &x);
}

/* "/a/b/" and "/a/b" are the same mountpoint. */
static void norm_point(const char *in, char *out, size_t n)
{
	size_t l = strlen(in);

	while (l > 1 && in[l - 1] == '/')
		l--;
	if (l >= n)
		l = n - 1;
	memcpy(out, in, l);
	out[l] = '\0';
}

/* Marks the --watch mountpoints (each must be one) or every mount; with
 * mark 0 only checks the --watch list and learns its mount ids. */
static int mark_mounts(struct guard *g, int mark)
{
	struct scan_ctx x;
	int rc;

	g->nwatch_ids = 0;
	if (g->c->watch.n == 0) {
		if (!mark)
			return 0;
		if ((rc = scan_mounts(g, NULL, 1, &x)) < 0)
			return rc;
		log_info("guard: exec permission marks on %zu mounts (%zu could not be marked)",
			 x.marked, x.failed);
		return x.marked > 0 ? 0 : MM_EIO;
	}
	for (size_t i = 0; i < g->c->watch.n; i++) {
		char point[PATH_MAX];

		norm_point(g->c->watch.v[i], point, sizeof point);
		if ((rc = scan_mounts(g, point, 0, &x)) < 0)
			return rc;
		if (!x.found) {
			log_warnx("guard: --watch %s is not a mountpoint", point);
			return MM_EINVALID;
		}
		if (g->nwatch_ids < AGENT_MAX_LIST)
			g->watch_ids[g->nwatch_ids++] = x.found_id;
		if (mark && mark_mount(g, point) < 0) {
			log_warn("guard: fanotify_mark %s", point);
			return MM_EIO;
		}
	}
	if (mark)
		log_info("guard: exec permission marks on %zu watched mounts", g->c->watch.n);
	return 0;
}

/* Watches the mount table for changes: epoll's EPOLLPRI, which libevent
 * cannot wait for itself, behind an epoll descriptor it can. */
static int watch_mountinfo(struct guard *g)
{
	struct epoll_event ev = { .events = EPOLLPRI };

	g->mi_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	g->mi_ep = epoll_create1(EPOLL_CLOEXEC);
	if (g->mi_fd < 0 || g->mi_ep < 0 || epoll_ctl(g->mi_ep, EPOLL_CTL_ADD, g->mi_fd, &ev) < 0)
		return MM_EIO;
	g->ev_mi = event_new(g->base, g->mi_ep, EV_READ | EV_PERSIST, on_mountinfo, g);
	if (g->ev_mi == NULL || event_add(g->ev_mi, NULL) < 0)
		return MM_ENOMEM;
	return 0;
}

/* ---- the agent's own files ---------------------------------------------------- */

static int self_mark(struct guard *g, struct self_file *s, int add)
{
	uint64_t mask = FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM;

	if (g->fan < 0)
		return MM_EIO;
	if (fanotify_mark(g->fan, (add ? FAN_MARK_ADD : FAN_MARK_REMOVE) | FAN_MARK_INODE, mask,
			  AT_FDCWD, s->path) < 0)
		return MM_EIO;
	s->marked = add;
	return 0;
}

static void self_add(struct guard *g, const char *path)
{
	struct self_file *s;
	struct stat st;

	if (path == NULL || path[0] == '\0' || g->nself >= SELF_MAX || stat(path, &st) < 0)
		return;
	s = &g->self[g->nself++];
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	s->path = path;
	if (self_mark(g, s, 1) < 0)
		log_warn("guard: cannot protect %s", path);
}

static void protect_self(struct guard *g)
{
	read_link("/proc/self/exe", g->self_exe, sizeof g->self_exe);
	self_add(g, g->self_exe);
	self_add(g, g->c->conf_path);
	self_add(g, g->c->feed);
	self_add(g, g->c->baseline);
	self_add(g, g->c->yara_rules);
}

/* ---- the feed, without a restart --------------------------------------------- */

static void feed_finding(struct guard *g, int ok)
{
	struct agent_finding f;
	struct mm_buf b;
	int rc;

	finding_init(&f, ok ? "guard.feed.loaded" : "guard.feed.refused", "", NULL);
	mm_buf_init(&b, sizeof f.detail - 1);
	if (ok)
		rc = mm_buf_printf(&b, "{\"entries\": %zu, \"path\": ", policy_feed_count(g->pol));
	else
		rc = mm_buf_printf(&b, "{\"line\": %zu, \"path\": ", policy_error_line(g->pol));
	if (rc == 0)
		rc = json_str(&b, g->c->feed);
	if (rc == 0 && !ok && (rc = mm_buf_puts(&b, ", \"error\": ")) == 0)
		rc = json_str(&b, policy_error(g->pol));
	if (rc == 0)
		rc = mm_buf_putc(&b, '}');
	if (rc == 0 && b.data != NULL)
		agent_strcpy(f.detail, sizeof f.detail, b.data);
	mm_buf_free(&b);
	f.action = AGENT_ACT_REPORTED;
	f.pid = getpid();
	send_finding(g, &f, -1);
}

static void reload_feed(struct guard *g)
{
	struct self_file *feed = NULL;
	struct stat st;
	int rc;

	if (g->c->feed == NULL)
		return;
	for (size_t i = 0; i < g->nself; i++)
		if (g->self[i].path == g->c->feed)
			feed = &g->self[i];
	/* The guard's own open of a file it marked would wait for itself:
	 * a mark on the inode now at the feed's path comes off while it reads. */
	if (stat(g->c->feed, &st) == 0) {
		for (size_t i = 0; i < g->nself; i++)
			if (g->self[i].marked && g->self[i].dev == (uint64_t)st.st_dev &&
			    g->self[i].ino == (uint64_t)st.st_ino) {
				struct self_file tmp = g->self[i];

				tmp.path = g->c->feed;
				(void)self_mark(g, &tmp, 0);
				g->self[i].marked = 0;
			}
	}
	rc = policy_reload_feed(g->pol, g->c->feed);
	if (rc == 0) {
		vcache_clear(g->cache);
		log_info("guard: feed %s: %zu entries", g->c->feed, policy_feed_count(g->pol));
	} else {
		log_warnx("guard: feed %s:%zu: %s (the previous feed stays)", g->c->feed,
			  policy_error_line(g->pol), policy_error(g->pol));
	}
	feed_finding(g, rc == 0);
	/* Protect what is there now (a replaced feed is a new inode), and put
	 * back any other mark taken off above. */
	for (size_t i = 0; i < g->nself; i++)
		if (!g->self[i].marked && &g->self[i] != feed)
			(void)self_mark(g, &g->self[i], 1);
	if (feed != NULL && stat(g->c->feed, &st) == 0) {
		feed->dev = (uint64_t)st.st_dev;
		feed->ino = (uint64_t)st.st_ino;
		(void)self_mark(g, feed, 1);
	}
}

static void on_reload(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reload_feed(arg);
}

static void schedule_reload(struct guard *g, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(g->ev_reload, &tv);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct guard *g = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	unsigned delay = 0;

	(void)what;
	for (int r = 0; r < 16; r++) {
		ssize_t n = read(fd, buf, sizeof buf);
		size_t off = 0;

		if (n <= 0)
			break;
		while (off + sizeof(struct inotify_event) <= (size_t)n) {
			const struct inotify_event *e = (const struct inotify_event *)(buf + off);

			if (e->len > (size_t)n - off - sizeof *e)
				break;
			if (e->len > 0 && strncmp(e->name, g->feed_name, e->len) == 0 &&
			    strlen(g->feed_name) < e->len) {
				/* A bare create is a file still being written:
				 * its close or a rename follows. */
				unsigned d = (e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
						     ? FEED_DELAY_MS
						     : FEED_CREATE_DELAY_MS;

				if (delay == 0 || d < delay)
					delay = d;
			}
			off += sizeof *e + e->len;
		}
	}
	if (delay > 0)
		schedule_reload(g, delay);
}

static int watch_feed(struct guard *g)
{
	char dir[PATH_MAX];
	const char *slash;

	if (g->c->feed == NULL)
		return 0;
	slash = strrchr(g->c->feed, '/');
	g->feed_name = slash ? slash + 1 : g->c->feed;
	if (slash == NULL)
		agent_strcpy(dir, sizeof dir, ".");
	else if (slash == g->c->feed)
		agent_strcpy(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - g->c->feed), g->c->feed);
	g->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (g->ino_fd < 0)
		return MM_EIO;
	g->feed_wd = inotify_add_watch(g->ino_fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
	if (g->feed_wd < 0) {
		log_warn("guard: inotify %s (the feed is reloaded on SIGHUP only)", dir);
		return 0;
	}
	g->ev_ino = event_new(g->base, g->ino_fd, EV_READ | EV_PERSIST, on_inotify, g);
	if (g->ev_ino == NULL || event_add(g->ev_ino, NULL) < 0)
		return MM_ENOMEM;
	return 0;
}

/* ---- signals, statistics ------------------------------------------------------- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct guard *g = arg;

	(void)what;
	if (sig == SIGHUP) {
		schedule_reload(g, 0);
		return;
	}
	g->stopping = 1;
	event_base_loopbreak(g->base);
}

static void on_stats(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_stats(arg);
}

/* ---- start and stop -------------------------------------------------------------- */

/* Exec permission events, or why not (errno). */
static int fan_open(struct guard *g)
{
	g->fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
			       O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (g->fan < 0)
		return MM_EIO;
	return mark_mounts(g, 1);
}

/* 1 when this process lives in a pid namespace below the first one: the
 * kernel gives the first one a fixed inode (PROC_PID_INIT_INO). */
static int nested_pid_ns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != 0xeffffffcu;
}

static int fallback_open(struct guard *g)
{
	int rc;

	if ((rc = mark_mounts(g, 0)) < 0)
		return rc;
	/* The kernel ignores a subscription from inside a pid namespace and
	 * has no connector in another network namespace: say so rather than
	 * guard nothing. */
	if (nested_pid_ns()) {
		log_warnx("guard: the process connector sends no events into a pid namespace");
		return MM_EIO;
	}
	if (pconn_open(&g->pconn) < 0) {
		log_warn("guard: process connector");
		return MM_EIO;
	}
	g->fallback = 1;
	g->ev_pconn = event_new(g->base, g->pconn, EV_READ | EV_PERSIST, on_pconn, g);
	if (g->ev_pconn == NULL || event_add(g->ev_pconn, NULL) < 0)
		return MM_ENOMEM;
	return 0;
}

/* Exec permission events when they work, else (fallback = auto) the
 * process connector; fallback = yes goes to the connector at once. The
 * FAN_OPEN_PERM marks on the agent's files work without exec events, so
 * the fanotify group stays when it exists. */
static int open_sources(struct guard *g)
{
	int rc = MM_EIO;

	if (g->c->fallback != AGENT_FALLBACK_YES) {
		rc = fan_open(g);
		if (rc == MM_EINVALID || (rc < 0 && g->c->fallback == AGENT_FALLBACK_NO)) {
			if (rc != MM_EINVALID)
				log_warn("guard: fanotify exec permission events");
			return rc;
		}
		if (rc < 0)
			log_warn("guard: no fanotify exec permission events, the process connector "
				 "takes their place");
	}
	if (rc < 0) {
		if (g->fan < 0)
			g->fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK |
						       FAN_UNLIMITED_QUEUE,
					       O_RDONLY | O_LARGEFILE | O_CLOEXEC);
		if ((rc = fallback_open(g)) < 0)
			return rc;
	}
	if (g->fan >= 0) {
		g->ev_fan = event_new(g->base, g->fan, EV_READ | EV_PERSIST, on_fanotify, g);
		if (g->ev_fan == NULL || event_add(g->ev_fan, NULL) < 0)
			return MM_ENOMEM;
	}
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	/* Each pending event holds a descriptor. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int setup(struct guard *g)
{
	struct timeval stats = { STATS_S, 0 };
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	size_t cache = g->c->cache_size > 0 ? (size_t)g->c->cache_size : 4096;
	int rc, flags, sndbuf = 1 << 20;

	g->enforce = g->c->mode == AGENT_ENFORCE;
	g->pend_max = g->c->max_pending > 0 ? (size_t)g->c->max_pending : 256;
	if (g->pend_max > PENDING_LIMIT)
		g->pend_max = PENDING_LIMIT;
	if ((g->pend = calloc(g->pend_max, sizeof *g->pend)) == NULL)
		return MM_ENOMEM;
	if ((rc = policy_new(g->c, &g->pol)) < 0)
		return rc;
	if ((rc = vcache_new(cache, &g->cache)) < 0)
		return rc;
	raise_nofile();
	/* Messages to the reporter never block the loop: a full socket drops
	 * one and counts it. */
	flags = fcntl(g->rep, F_GETFL);
	if (flags < 0 || fcntl(g->rep, F_SETFL, flags | O_NONBLOCK) < 0)
		return MM_EIO;
	(void)setsockopt(g->rep, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	if ((g->base = event_base_new()) == NULL)
		return MM_ENOMEM;
	g->ev_timer = evtimer_new(g->base, on_timer, g);
	g->ev_reload = evtimer_new(g->base, on_reload, g);
	g->ev_stats = event_new(g->base, -1, EV_PERSIST, on_stats, g);
	g->ev_rep = event_new(g->base, g->rep, EV_READ | EV_PERSIST, on_reporter, g);
	if (g->ev_timer == NULL || g->ev_reload == NULL || g->ev_stats == NULL || g->ev_rep == NULL ||
	    event_add(g->ev_stats, &stats) < 0 || event_add(g->ev_rep, NULL) < 0)
		return MM_ENOMEM;
	for (int i = 0; i < 3; i++) {
		g->ev_sig[i] = evsignal_new(g->base, sigs[i], on_signal, g);
		if (g->ev_sig[i] == NULL || event_add(g->ev_sig[i], NULL) < 0)
			return MM_ENOMEM;
	}
	if ((rc = open_sources(g)) < 0)
		return rc;
	if ((rc = watch_mountinfo(g)) < 0)
		log_warn("guard: the mount table cannot be watched");
	{
		struct scan_ctx x;

		(void)scan_mounts(g, NULL, 0, &x); /* the overlays, for the upper check */
	}
	protect_self(g);
	if ((rc = watch_feed(g)) < 0)
		return rc;
	return 0;
}

static void teardown(struct guard *g)
{
	/* Whatever waits is let through: the guard is going away. */
	for (size_t i = 0; g->pend != NULL && i < g->pend_max; i++) {
		if (g->pend[i].id != 0) {
			answer(g, g->pend[i].fd, 1, g->pend[i].fallback);
			pend_free(g, &g->pend[i]);
		}
	}
	if (g->fan >= 0) {
		/* Events read but not answered would be allowed by close()
		 * anyway; read what is queued and allow it explicitly. */
		char buf[4096] __attribute__((aligned(8)));
		ssize_t n;

		for (int r = 0; r < 64 && (n = read(g->fan, buf, sizeof buf)) > 0; r++) {
			struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;

			for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n))
				if (m->fd >= 0) {
					if (m->mask & (FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM))
						respond(g, m->fd, 1);
					close(m->fd);
				}
		}
	}
	struct event *evs[] = { g->ev_fan,   g->ev_pconn,  g->ev_rep,    g->ev_mi,
				g->ev_ino,   g->ev_timer,  g->ev_stats,  g->ev_reload,
				g->ev_sig[0], g->ev_sig[1], g->ev_sig[2] };
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	if (g->base != NULL)
		event_base_free(g->base);
	int fds[] = { g->fan, g->pconn, g->mi_fd, g->mi_ep, g->ino_fd };
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	vcache_free(g->cache);
	policy_free(g->pol);
	free(g->pend);
}

/*
 * Runs the guard until SIGTERM or SIGINT (see agent.h): c is the whole
 * configuration, report_fd the socket to the reporter (made non-blocking
 * here), agent_pids the agent's processes, whose execs and opens are never
 * refused. Returns 0 after a signal, or a negative MM_E* when it cannot
 * start (no exec events and no fallback, a --watch path that is not a
 * mountpoint, a feed or baseline that does not parse).
 *
 *	pid_t pids[3] = { getpid(), report_pid, watch_pid };
 *	rc = guard_run(&conf, sv[0], pids, 3);
 */
int guard_run(const struct agent_conf *c, int report_fd, const pid_t *agent_pids, size_t npids)
{
	struct guard *g;
	int rc;

	if (c == NULL || report_fd < 0 || (npids > 0 && agent_pids == NULL))
		return MM_EINVAL;
	if ((g = calloc(1, sizeof *g)) == NULL)
		return MM_ENOMEM;
	g->c = c;
	g->rep = report_fd;
	g->pids = agent_pids;
	g->npids = npids;
	g->fan = g->pconn = g->mi_fd = g->mi_ep = g->ino_fd = g->feed_wd = -1;
	if ((rc = setup(g)) < 0)
		goto done;
	log_info("guard: %s mode, %s, feed %zu entries, baseline %zu entries",
		 g->enforce ? "enforce" : "monitor",
		 g->fallback ? "process connector fallback" : "fanotify exec permission events",
		 policy_feed_count(g->pol), policy_baseline_count(g->pol));
	send_stats(g);
	rc = event_base_dispatch(g->base) < 0 ? MM_EIO : 0;
	if (rc == 0 && !g->stopping)
		rc = MM_EIO;
done:
	teardown(g);
	free(g);
	return rc;
}
