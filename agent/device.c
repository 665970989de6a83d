/*
 * mamorid's device process: what Device Defender does for a device, done on
 * the device itself and offline.
 *
 *   detect     every interval: the metrics (metrics.c), checked against the
 *              security profile (profile.c); each change of a behaviour's
 *              state is a detect.violation or detect.cleared event. The last
 *              report is kept in STATE/device/metrics.json in the configured
 *              format (mamori's, or Device Defender's long or short form),
 *              and every send_metrics-th one goes to the SOC.
 *   audit      at start and every audit interval, in a short-lived child:
 *              crypt(3) of a dictionary against every account takes seconds,
 *              and the metrics must not wait for it. The child sends one
 *              audit.finding per finding and an audit.completed itself (one
 *              SEQPACKET message is one write, so it shares the socket
 *              safely) and keeps the findings in STATE/device/audit.json.
 *   inventory  at start and when it changed (looked at every interval): the
 *              CycloneDX SBOM in STATE/device/sbom.cdx.json and, split into
 *              parts that each fit one event, to the SOC.
 *
 * Findings travel as struct agent_finding (AGENT_MSG_FINDING); documents
 * (metrics, SBOM parts) as a sealed memfd (AGENT_MSG_DOC), so that their size
 * is not bound by the IPC message. The process stays root, for /etc/shadow
 * and the device's keys, but keeps only CAP_DAC_READ_SEARCH and
 * CAP_SYS_PTRACE (to name the program behind a listening socket), with
 * no_new_privs. It has no seccomp filter: custom_metrics_command is run
 * from here.
 */
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "mamori/error.h"
#include "mamori/hash.h"
#include "mamori/ipc.h"
#include "mamori/log.h"
#include "mamori/path.h"
#include "mamori/sandbox.h"

#include "agent.h"
#include "audit.h"
#include "detect.h"
#include "inventory.h"

#define DOC_ROOM 1024      /* what the event wraps around a document's detail */
#define AUDIT_START_S 1    /* the first audit waits for the first metrics */

/* The counters of the heartbeat (report.c names them in this order). */
enum {
	N_INTERVALS,
	N_METRICS_ERRORS,
	N_VIOLATIONS,
	N_CLEARED,
	N_IN_VIOLATION,
	N_AUDITS,
	N_AUDIT_ERRORS,
	N_INVENTORIES,
	N_SBOMS_SENT,
	N_INVENTORY_ERRORS,
	N_DOCS_DROPPED,
	N_CUSTOM_DROPPED,
};

struct device {
	const struct agent_conf *c;
	struct event_base *base;
	int report_fd;
	char dir[PATH_MAX]; /* STATE/device */

	struct event *detect_ev, *audit_ev, *inventory_ev, *stats_ev;
	struct event *sigterm, *sigint, *sigchld;

	struct metrics_opts mo;
	struct metrics *prev, *cur; /* two buffers, swapped every interval */
	struct profile *profile;

	pid_t audit_pid;
	uint8_t sbom_digest[MM_SHA256_LEN];
	int sbom_sent;

	uint64_t n[16];
};

static int64_t wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void finding_init(struct agent_finding *f, const char *event)
{
	memset(f, 0, sizeof *f);
	agent_strcpy(f->event, sizeof f->event, event);
	f->action = AGENT_ACT_REPORTED;
	f->latency_us = -1;
	f->time_ms = wall_ms();
}

/* Puts o (compact JSON) into f->detail; "" and 0 when it does not fit. */
static int set_detail(struct agent_finding *f, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc = MM_ETOOBIG;

	f->detail[0] = '\0';
	if (s && strlen(s) < sizeof f->detail) {
		agent_strcpy(f->detail, sizeof f->detail, s);
		rc = 0;
	}
	free(s);
	return rc;
}

static void send_finding(struct device *d, const struct agent_finding *f)
{
	int rc = mm_ipc_send(d->report_fd, AGENT_MSG_FINDING, 0, f, sizeof *f, -1);

	if (rc < 0)
		log_warnx("%s: not sent to the reporter: %s", f->event, mm_strerror(rc));
}

/*
 * Sends one document as the detail of an event: the JSON text in a sealed
 * memfd that the reporter reads. MM_ETOOBIG when it is larger than
 * AGENT_DOC_MAX.
 */
static int send_doc(struct device *d, const char *event, json_t *doc)
{
	struct agent_finding f;
	char *s = json_dumps(doc, JSON_COMPACT);
	size_t len, off = 0;
	ssize_t w;
	int fd = -1, rc = MM_ENOMEM;

	if (!s)
		goto out;
	if ((len = strlen(s)) > AGENT_DOC_MAX) {
		rc = MM_ETOOBIG;
		goto out;
	}
	rc = MM_EIO;
	if ((fd = memfd_create("mamorid-doc", MFD_CLOEXEC | MFD_ALLOW_SEALING)) < 0)
		goto out;
	while (off < len) {
		if ((w = write(fd, s + off, len - off)) < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	/* The reporter reads what was written, and nothing can change it after. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		goto out;
	finding_init(&f, event);
	rc = mm_ipc_send(d->report_fd, AGENT_MSG_DOC, 0, &f, sizeof f, fd);
out:
	if (rc < 0) {
		d->n[N_DOCS_DROPPED]++;
		log_warnx("%s: not sent to the reporter: %s", event, mm_strerror(rc));
	}
	if (fd >= 0)
		close(fd);
	free(s);
	return rc;
}

/* Replaces DIR/name with o's JSON text (libmamori's mm_write_atomic: the
 * old file or the new one, whole, whatever a power cut interrupts). */
static int write_atomic(struct device *d, const char *name, json_t *o, int sync, size_t flags)
{
	char path[PATH_MAX], *text;
	int rc;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", d->dir, name) >= sizeof path)
		return MM_ETOOBIG;
	if (!(text = json_dumps(o, flags)))
		return MM_ENOMEM;
	if ((rc = mm_write_atomic(path, text, strlen(text), sync, 0644)) < 0)
		log_warn("%s", path);
	free(text);
	return rc;
}

/* ---- detect ---- */

static void on_change(const struct profile_change *ch, void *arg)
{
	struct device *d = arg;
	struct agent_finding f;
	json_t *o;

	finding_init(&f, ch->violated ? "detect.violation" : "detect.cleared");
	agent_strcpy(f.reason, sizeof f.reason, ch->behavior);
	d->n[ch->violated ? N_VIOLATIONS : N_CLEARED]++;
	o = json_pack("{ss ss ss sI}", "behavior", ch->behavior, "metric", ch->metric, "operator",
		      ch->op, "datapoints", (json_int_t)ch->datapoints);
	if (o && ch->value)
		json_object_set(o, "value", ch->value);
	/* A long list of ports or addresses is cut rather than the event lost. */
	if (o && set_detail(&f, o) < 0) {
		json_object_set_new(o, "value", json_string("(too long for the event)"));
		set_detail(&f, o);
	}
	json_decref(o);
	send_finding(d, &f);
}

/* prev is NULL on the first interval: the counters' change is then 0, not
 * everything since boot. */
static void write_report(struct device *d, const struct metrics *prev)
{
	json_t *o;

	if (d->c->report_format == 0)
		o = metrics_json(d->cur, prev);
	else
		o = ddreport_json(d->cur, prev, (uint64_t)d->cur->time_ms,
				  d->c->report_format == 2);
	if (!o) {
		d->n[N_METRICS_ERRORS]++;
		return;
	}
	write_atomic(d, "metrics.json", o, 0, JSON_COMPACT);
	json_decref(o);
}

static void on_detect(evutil_socket_t fd, short what, void *arg)
{
	struct device *d = arg;
	const struct metrics *prev;
	struct metrics *t;
	int rc;

	(void)fd;
	(void)what;
	if ((rc = metrics_collect(&d->mo, d->cur)) < 0) {
		if (d->n[N_METRICS_ERRORS]++ == 0)
			log_warnx("metrics: %s", mm_strerror(rc));
		return;
	}
	d->n[N_INTERVALS]++;
	d->n[N_CUSTOM_DROPPED] = d->cur->custom_dropped;
	prev = d->n[N_INTERVALS] > 1 ? d->prev : NULL;
	if (d->profile) {
		rc = profile_eval(d->profile, d->cur, prev, on_change, d);
		d->n[N_IN_VIOLATION] = rc > 0 ? (uint64_t)rc : 0;
	}
	write_report(d, prev);
	if (d->c->send_metrics > 0 && d->n[N_INTERVALS] % (uint64_t)d->c->send_metrics == 0) {
		json_t *o = metrics_json(d->cur, prev);

		if (o)
			send_doc(d, "detect.metrics", o);
		json_decref(o);
	}
	t = d->prev;
	d->prev = d->cur;
	d->cur = t;
}

/* ---- audit (in a child) ---- */

struct audit_run {
	struct device *d;
	json_t *all;
	uint64_t by_sev[4];
};

static void on_audit_finding(const struct audit_finding *af, void *arg)
{
	struct audit_run *ar = arg;
	struct agent_finding f;
	json_t *o;

	finding_init(&f, "audit.finding");
	agent_strcpy(f.reason, sizeof f.reason, af->id);
	if (audit_finding_json(af, f.detail, sizeof f.detail) < 0) {
		/* The finding is reported without its longer fields. */
		o = json_pack("{ss ss ss s{ss ss ss}}", "id", af->id, "severity",
			      audit_severity_name(af->severity), "subject", af->subject, "clauses",
			      "en303645", af->en303645, "psti", af->psti, "jp", af->jp);
		set_detail(&f, o);
		json_decref(o);
	}
	if ((unsigned)af->severity < 4)
		ar->by_sev[af->severity]++;
	if (ar->all && f.detail[0] && (o = json_loads(f.detail, 0, NULL)))
		json_array_append_new(ar->all, o);
	send_finding(ar->d, &f);
}

/* path as seen from root ("/" + the rest), or NULL when it is not under root. */
static const char *in_root(const char *root, const char *path)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n == 1 && root[0] == '/')
		return path;
	if (strncmp(path, root, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return NULL;
	return path[n] ? path + n : "/";
}

/* The child's whole life: audit, report, keep the result, exit. */
static void audit_child(struct device *d)
{
	const struct agent_conf *c = d->c;
	struct audit_run ar = {.d = d};
	struct audit_opts o;
	struct agent_finding f;
	json_t *res;
	int64_t t0 = wall_ms();
	size_t i;
	int n;

	audit_opts_defaults(&o);
	o.root = c->root;
	o.credentials = c->credentials;
	for (i = 0; i < c->certs.n && i + 1 < AUDIT_MAX_PATHS; i++)
		o.certs[i] = c->certs.v[i];
	o.certs[i] = NULL;
	o.cert_days = c->cert_days;
	for (i = 0; i < c->setuid_allow.n && i + 1 < AUDIT_MAX_PATHS; i++)
		o.setuid_allow[i] = c->setuid_allow.v[i];
	o.setuid_allow[i] = NULL;
	o.firmware = c->firmware && c->firmware[0] ? c->firmware : NULL;
	o.support_end = c->support_end;
	/* The audit reads everything inside the root: the agent's own folder
	 * and file are judged when they are in the device's tree. */
	o.state_dir = in_root(c->root, c->state);
	o.conf_path = c->conf_path ? in_root(c->root, c->conf_path) : NULL;
	o.listeners = 1;

	ar.all = json_array();
	n = audit_run(&o, on_audit_finding, &ar);
	finding_init(&f, "audit.completed");
	res = json_pack("{sI sI sI sI sI sI}", "findings", (json_int_t)(n < 0 ? 0 : n), "critical",
			(json_int_t)ar.by_sev[AUDIT_CRITICAL], "high", (json_int_t)ar.by_sev[AUDIT_HIGH],
			"medium", (json_int_t)ar.by_sev[AUDIT_MEDIUM], "low",
			(json_int_t)ar.by_sev[AUDIT_LOW], "duration_ms", (json_int_t)(wall_ms() - t0));
	if (res && n < 0)
		json_object_set_new(res, "error", json_string(mm_strerror(n)));
	set_detail(&f, res);
	send_finding(d, &f);
	if (res && ar.all) {
		json_object_set(res, "list", ar.all);
		write_atomic(d, "audit.json", res, 1, JSON_INDENT(1));
	}
	json_decref(res);
	json_decref(ar.all);
	_exit(n < 0 ? 1 : 0);
}

static void on_audit(evutil_socket_t fd, short what, void *arg)
{
	struct device *d = arg;
	pid_t p;

	(void)fd;
	(void)what;
	if (d->audit_pid > 0) {
		log_warnx("audit: the last one (pid %d) is still running; this one is skipped",
			  (int)d->audit_pid);
		return;
	}
	if ((p = fork()) < 0) {
		log_warn("audit: fork");
		d->n[N_AUDIT_ERRORS]++;
		return;
	}
	if (p == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		audit_child(d);
	}
	d->audit_pid = p;
	d->n[N_AUDITS]++;
}

static void on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct device *d = arg;
	int st;

	(void)sig;
	(void)what;
	/* Only the audit child: a custom metrics command is waited for by metrics.c. */
	if (d->audit_pid > 0 && waitpid(d->audit_pid, &st, WNOHANG) == d->audit_pid) {
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			d->n[N_AUDIT_ERRORS]++;
			log_warnx("audit: the child ended with status 0x%x", (unsigned)st);
		}
		d->audit_pid = 0;
	}
}

/* ---- inventory ---- */

static void on_inventory(evutil_socket_t fd, short what, void *arg)
{
	struct device *d = arg;
	struct inventory_opts o = {0};
	uint8_t dig[MM_SHA256_LEN];
	char hex[MM_SHA256_HEX + 1];
	json_t *bom = NULL, **parts = NULL;
	size_t n = 0, i;
	int rc;

	(void)fd;
	(void)what;
	o.root = d->c->root;
	o.device_id = d->c->device_id;
	o.firmware = d->c->firmware && d->c->firmware[0] ? d->c->firmware : NULL;
	d->n[N_INVENTORIES]++;
	if ((rc = inventory_build(&o, &bom)) < 0 || (rc = inventory_digest(bom, dig)) < 0) {
		d->n[N_INVENTORY_ERRORS]++;
		log_warnx("inventory: %s", mm_strerror(rc));
		goto out;
	}
	if (d->sbom_sent && memcmp(dig, d->sbom_digest, sizeof dig) == 0)
		goto out; /* nothing changed */
	write_atomic(d, "sbom.cdx.json", bom, 1, JSON_INDENT(1));
	if ((rc = inventory_split(bom, AGENT_DOC_MAX - DOC_ROOM, &parts, &n)) < 0) {
		d->n[N_INVENTORY_ERRORS]++;
		log_warnx("inventory: the SBOM cannot be split into events: %s",
			  mm_strerror(rc));
		goto out;
	}
	mm_hex(dig, sizeof dig, hex);
	for (i = 0; i < n; i++) {
		json_t *doc = json_pack("{sI sI ss sO}", "part", (json_int_t)(i + 1), "parts",
					(json_int_t)n, "sha256", hex, "bom", parts[i]);

		if (!doc || send_doc(d, "inventory.sbom", doc) < 0)
			rc = MM_EIO;
		json_decref(doc);
	}
	if (rc == 0) {
		memcpy(d->sbom_digest, dig, sizeof dig);
		d->sbom_sent = 1;
		d->n[N_SBOMS_SENT]++;
	}
out:
	for (i = 0; i < n; i++)
		json_decref(parts[i]);
	free(parts);
	json_decref(bom);
	/* A package database makes many small allocations; give the pages
	 * back rather than keep them resident until the next look. */
	malloc_trim(0);
}

/* ---- the loop ---- */

static void on_stats(evutil_socket_t fd, short what, void *arg)
{
	struct device *d = arg;
	struct agent_stats st;

	(void)fd;
	(void)what;
	memset(&st, 0, sizeof st);
	agent_strcpy(st.part, sizeof st.part, "device");
	memcpy(st.counters, d->n, sizeof st.counters);
	if (mm_ipc_send(d->report_fd, AGENT_MSG_STATS, 0, &st, sizeof st, -1) < 0)
		log_debug("device: stats not sent");
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(((struct device *)arg)->base);
}

/* Runs the timer's callback, then arms it again for the next period. */
struct periodic {
	struct device *d;
	struct event *ev;
	event_callback_fn fn;
	long long every_s;
};

static void on_periodic(evutil_socket_t fd, short what, void *arg)
{
	struct periodic *p = arg;
	struct timeval tv = {(time_t)p->every_s, 0};

	/* Armed first, so that the period does not drift by the work's time. */
	event_add(p->ev, &tv);
	p->fn(fd, what, p->d);
}

static int add_periodic(struct device *d, struct periodic *p, event_callback_fn fn,
			long long first_s, long long every_s)
{
	struct timeval first = {(time_t)first_s, 0};

	p->d = d;
	p->fn = fn;
	p->every_s = every_s;
	if (!(p->ev = event_new(d->base, -1, 0, on_periodic, p)) || event_add(p->ev, &first) < 0)
		return MM_ENOMEM;
	return 0;
}

static int drop_privileges(void)
{
	static const int keep[] = {CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE};
	struct mm_sandbox_opts o;

	mm_sandbox_opts_default(&o);
	o.user = NULL;
	o.keep_caps = keep;
	o.nkeep_caps = sizeof keep / sizeof keep[0];
	o.seccomp = 0;
	return mm_sandbox_enter(&o);
}

int device_run(const struct agent_conf *c, int report_fd)
{
	struct periodic per[3];
	struct device *d;
	char err[256];
	size_t i;
	int rc = MM_ENOMEM, np = 0;

	memset(per, 0, sizeof per);
	if (!(d = calloc(1, sizeof *d)))
		return MM_ENOMEM;
	d->c = c;
	d->report_fd = report_fd;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if ((size_t)snprintf(d->dir, sizeof d->dir, "%s/device", c->state) >= sizeof d->dir) {
		rc = MM_ETOOBIG;
		goto fail;
	}
	if (mkdir(d->dir, 0755) < 0 && errno != EEXIST) {
		log_warn("%s", d->dir);
		rc = MM_EIO;
		goto fail;
	}
	if (c->detect) {
		if ((rc = metrics_new(&d->prev)) < 0 || (rc = metrics_new(&d->cur)) < 0)
			goto fail;
		d->mo.custom_file = c->custom_file;
		d->mo.custom_command = c->custom_command;
		d->mo.command_timeout_s = (int)c->custom_timeout_s;
		if (c->profile && (rc = profile_load(c->profile, &d->profile, err, sizeof err)) < 0) {
			log_warnx("profile %s: %s", c->profile, err);
			goto fail;
		}
	}
	if ((rc = drop_privileges()) < 0) {
		log_warnx("device: cannot drop its privileges: %s", mm_strerror(rc));
		goto fail;
	}
	rc = MM_ENOMEM;
	if (!(d->base = event_base_new()))
		goto fail;
	if (!(d->sigterm = evsignal_new(d->base, SIGTERM, on_term, d)) ||
	    !(d->sigint = evsignal_new(d->base, SIGINT, on_term, d)) ||
	    !(d->sigchld = evsignal_new(d->base, SIGCHLD, on_sigchld, d)) ||
	    evsignal_add(d->sigterm, NULL) < 0 || evsignal_add(d->sigint, NULL) < 0 ||
	    evsignal_add(d->sigchld, NULL) < 0)
		goto fail;
	if (c->detect && add_periodic(d, &per[np++], on_detect, 0, c->detect_interval_s) < 0)
		goto fail;
	if (c->inventory && add_periodic(d, &per[np++], on_inventory, 0, c->inventory_interval_s) < 0)
		goto fail;
	if (c->audit && add_periodic(d, &per[np++], on_audit, AUDIT_START_S, c->audit_interval_s) < 0)
		goto fail;
	if (c->heartbeat_s > 0) {
		struct timeval hb = {(time_t)c->heartbeat_s, 0};

		if (!(d->stats_ev = event_new(d->base, -1, EV_PERSIST, on_stats, d)) ||
		    evtimer_add(d->stats_ev, &hb) < 0)
			goto fail;
	}
	log_info("device: detect %s (every %llds, profile %s), audit %s, inventory %s",
		 c->detect ? "on" : "off", c->detect_interval_s, c->profile ? c->profile : "none",
		 c->audit ? "on" : "off", c->inventory ? "on" : "off");
	if (event_base_dispatch(d->base) < 0)
		log_warnx("device: event loop failed");
	on_stats(-1, 0, d);
	rc = 0;
fail:
	if (d->audit_pid > 0) {
		kill(d->audit_pid, SIGTERM);
		waitpid(d->audit_pid, NULL, 0);
	}
	for (i = 0; i < 3; i++)
		if (per[i].ev)
			event_free(per[i].ev);
	if (d->stats_ev)
		event_free(d->stats_ev);
	if (d->sigterm)
		event_free(d->sigterm);
	if (d->sigint)
		event_free(d->sigint);
	if (d->sigchld)
		event_free(d->sigchld);
	if (d->base)
		event_base_free(d->base);
	profile_free(d->profile);
	metrics_free(d->prev);
	metrics_free(d->cur);
	free(d);
	return rc;
}
