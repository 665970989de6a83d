/*
 * The reporter: mamorid's unprivileged process. It hashes and YARA-scans
 * files for the guard, turns the findings of the guard and the behaviour
 * watch into the JSON events of docs/formats/events.md, copies executables
 * into the quarantine, and writes each event as one line to
 * STATE/events.jsonl and, with a SOC, as an RFC 5424 message through the
 * spool and the reliable sender.
 *
 * Everything that needs a privilege is opened first (the quarantine folder,
 * the events file, the spool, the YARA rules); then the process drops to
 * the configured user with no capabilities and a seccomp filter, and only
 * then reads a byte from the other processes. Whatever they send is checked
 * field by field (report_finding_check) before it is used: a process that
 * was compromised must not be able to make the reporter write what it likes.
 *
 * One libevent loop serves the sockets from the guard and the watch, the
 * heartbeat, the sender's turns and SIGTERM. The sender's sockets are its
 * own and are served in mm_sender_run(), so with a SOC a timer gives it a
 * turn: every 100 ms while records wait to be confirmed, every second
 * otherwise (RELP's idle close, reconnects). Without a SOC nothing runs
 * while nothing happens.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/hash.h"
#include "mamori/ipc.h"
#include "mamori/log.h"
#include "mamori/sandbox.h"
#include "mamori/send.h"
#include "mamori/spool.h"
#include "mamori/syslog.h"

#include "report.h"

#define MAX_PEERS 8          /* sockets report_run() serves */
#define MSGS_PER_TURN 64     /* messages read from one socket before the others get a turn */
#define EVENT_NAME_MAX 32    /* RFC 5424 MSGID */
#define MSG_MAX (REPORT_LINE_MAX + 1024) /* the RFC 5424 header and the event */
#define SEND_BUSY_MS 100
#define SEND_IDLE_MS 1000
#define DRAIN_MS 2000
#define FACILITY 16          /* local0, as every mamori program */
#define SEV_WARNING 4
#define SEV_NOTICE 5
#define SEV_INFO 6
#define TIME_MS_MAX INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

/*
 * The counters of struct agent_stats by position, per part. A name that is
 * NULL is not reported unless its counter is non-zero (then as "cN").
 */
static const char *const guard_counter_names[16] = {
	"events", "allowed", "denied", "cache_hits", "cache_misses", "scans", "scan_timeouts",
	"pending_full", "fallback_kills", "self_denied", "fallback",
};
static const char *const watch_counter_names[16] = {
	"checks", "findings", "kills", "sweeps", "pconn_events", "pconn_lost", "syns",
};
static const char *const device_counter_names[16] = {
	"intervals", "metrics_errors", "violations", "cleared", "in_violation", "audits",
	"audit_errors", "inventories", "sboms_sent", "inventory_errors",
	"docs_dropped", "custom_dropped",
};

/* ---- the event text ---- */

int report_time(int64_t ms, char out[32])
{
	struct tm tm;
	time_t t;

	if (ms < 0 || ms > TIME_MS_MAX)
		return MM_EINVAL;
	t = (time_t)(ms / 1000);
	/* A 32-bit time_t (armel, mipsel) ends in 2038: a later time is refused. */
	if ((int64_t)t != ms / 1000 || !gmtime_r(&t, &tm))
		return MM_EINVAL;
	if (strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
		return MM_EINVAL;
	snprintf(out + 19, 32 - 19, ".%03uZ", (unsigned)(ms % 1000));
	return 0;
}

/* A JSON string of s; bytes that are not UTF-8 become U+FFFD, so that a
 * file name chosen to be invalid cannot make an event disappear. */
static json_t *ustr(const char *s)
{
	static const char repl[] = "\xEF\xBF\xBD";
	char buf[3 * 1024 + 1];
	size_t len = strlen(s), i = 0, o = 0;

	if (mm_utf8_check(s, len) == len)
		return json_stringn(s, len);
	if (len > 1024)
		return NULL; /* not a field of struct agent_finding */
	while (i < len) {
		size_t ok = mm_utf8_check(s + i, len - i);

		memcpy(buf + o, s + i, ok);
		o += ok;
		i += ok;
		if (i < len) {
			memcpy(buf + o, repl, 3);
			o += 3;
			i++;
		}
	}
	return json_stringn(buf, o);
}

/* Sets key to v (stolen); a NULL v is an allocation failure. */
static int put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0 ? 0 : MM_ENOMEM;
}

static int put_hex(json_t *o, const char *key, const uint8_t sha256[MM_SHA256_LEN])
{
	char hex[MM_SHA256_HEX + 1];

	mm_hex(sha256, MM_SHA256_LEN, hex);
	return put(o, key, json_string(hex));
}

static const char *action_name(uint32_t a)
{
	static const char *const names[] = {"reported", "denied", "killed", "allowed"};

	return a < sizeof names / sizeof names[0] ? names[a] : "reported";
}

static int event_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > EVENT_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static int attack_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '.'))
			return 0;
	return 1;
}

/* The finding's detail as an object: a new empty one for "", NULL when it is
 * not one JSON object. */
static json_t *detail_parse(const char *detail)
{
	json_t *d;

	if (!*detail)
		return json_object();
	d = json_loads(detail, JSON_REJECT_DUPLICATES, NULL);
	if (d && !json_is_object(d)) {
		json_decref(d);
		return NULL;
	}
	return d;
}

int report_finding_check(const struct agent_finding *f)
{
	json_t *d;
	size_t i;

#define STR_OK(field) mm_ipc_str_ok((field), sizeof(field))
	if (!STR_OK(f->event) || !STR_OK(f->reason) || !STR_OK(f->comm) || !STR_OK(f->exe) ||
	    !STR_OK(f->path) || !STR_OK(f->detail))
		return MM_EINVALID;
	for (i = 0; i < AGENT_ATTACK_MAX; i++)
		if (!STR_OK(f->attack[i]) || !attack_ok(f->attack[i]))
			return MM_EINVALID;
#undef STR_OK
	if (!event_name_ok(f->event) || f->action > AGENT_ACT_ALLOWED || f->quarantine > 1 ||
	    f->has_sha256 > 1)
		return MM_EINVALID;
	if (!(d = detail_parse(f->detail)))
		return MM_EINVALID;
	json_decref(d);
	return 0;
}

static int dump_cb(const char *p, size_t n, void *arg)
{
	return mm_buf_append(arg, p, n) == 0 ? 0 : -1;
}

static json_t *build(const struct report_ctx *cx, const struct agent_finding *f,
		     const struct report_file *file, json_t *extra, int *err)
{
	const uint8_t *sha = f->has_sha256 ? f->sha256 : file && file->hashed ? file->sha256 : NULL;
	json_t *o = json_object(), *dev = NULL, *att = NULL, *d = NULL, *sub = NULL;
	char when[32];
	size_t i;
	int rc = MM_ENOMEM;

	*err = MM_ENOMEM;
	if (!o)
		return NULL;
	if (f->time_ms <= 0 || report_time(f->time_ms, when) < 0) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		report_time((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, when);
	}
	if (put(o, "event", json_string(f->event)) < 0 || put(o, "time", json_string(when)) < 0 ||
	    put(o, "host", ustr(cx->device_id)) < 0)
		goto fail;
	if (!(dev = json_object()) || put(dev, "id", ustr(cx->device_id)) < 0 ||
	    put(dev, "fw", ustr(cx->firmware ? cx->firmware : "")) < 0)
		goto fail;
	rc = put(o, "device", dev);
	dev = NULL;
	if (rc < 0 ||
	    put(o, "mode", json_string(cx->mode == AGENT_ENFORCE ? "enforce" : "monitor")) < 0 ||
	    put(o, "action", json_string(action_name(f->action))) < 0)
		goto fail;
	if (f->reason[0] && put(o, "reason", ustr(f->reason)) < 0)
		goto fail;
	if (!(att = json_array()))
		goto fail;
	for (i = 0; i < AGENT_ATTACK_MAX; i++)
		if (f->attack[i][0] && json_array_append_new(att, json_string(f->attack[i])) < 0)
			goto fail;
	rc = put(o, "attack", att);
	att = NULL;
	if (rc < 0)
		goto fail;

	/* The process, unless nothing at all is known of it (the agent's own events). */
	if (f->pid || f->comm[0] || f->exe[0]) {
		if (!(sub = json_object()) || put(sub, "pid", json_integer(f->pid)) < 0 ||
		    put(sub, "ppid", json_integer(f->ppid)) < 0 ||
		    put(sub, "uid", json_integer(f->uid)) < 0 ||
		    put(sub, "name", ustr(f->comm)) < 0 || put(sub, "exe", ustr(f->exe)) < 0)
			goto fail;
		if (!f->path[0] && sha && put_hex(sub, "sha256", sha) < 0)
			goto fail;
		rc = put(o, "process", sub);
		sub = NULL;
		if (rc < 0)
			goto fail;
	}
	if (f->path[0]) {
		if (!(sub = json_object()) || put(sub, "path", ustr(f->path)) < 0)
			goto fail;
		if (sha && put_hex(sub, "sha256", sha) < 0)
			goto fail;
		if (file && file->size >= 0 && put(sub, "size", json_integer(file->size)) < 0)
			goto fail;
		rc = put(o, "file", sub);
		sub = NULL;
		if (rc < 0)
			goto fail;
	}
	if (file && file->quarantined && sha) {
		char hex[MM_SHA256_HEX + 1], path[PATH_MAX];

		mm_hex(sha, MM_SHA256_LEN, hex);
		snprintf(path, sizeof path, "%s/%s", cx->quarantine_dir ? cx->quarantine_dir : ".",
			 hex);
		if (!(sub = json_object()) || put(sub, "sha256", json_string(hex)) < 0 ||
		    put(sub, "path", ustr(path)) < 0)
			goto fail;
		rc = put(o, "quarantine", sub);
		sub = NULL;
		if (rc < 0)
			goto fail;
	}
	if (f->killed > 0 && put(o, "killed", json_integer(f->killed)) < 0)
		goto fail;
	if (f->latency_us >= 0 && put(o, "latency_us", json_integer(f->latency_us)) < 0)
		goto fail;

	if (!(d = detail_parse(f->detail))) {
		rc = MM_EINVALID;
		goto fail;
	}
	if (extra && json_is_object(extra) && json_object_update(d, extra) < 0)
		goto fail;
	if (json_object_size(d) > 0) {
		rc = put(o, "detail", d);
		d = NULL;
		if (rc < 0)
			goto fail;
	}
	json_decref(d);
	*err = 0;
	return o;
fail:
	*err = rc < 0 ? rc : MM_ENOMEM;
	json_decref(sub);
	json_decref(d);
	json_decref(att);
	json_decref(dev);
	json_decref(o);
	return NULL;
}

int report_event_json(const struct report_ctx *cx, const struct agent_finding *f,
		      const struct report_file *file, json_t *extra, struct mm_buf *out)
{
	json_t *o;
	int rc;

	mm_buf_reset(out);
	if (!(o = build(cx, f, file, extra, &rc)))
		return rc;
	rc = json_dump_callback(o, dump_cb, out, JSON_COMPACT) == 0 ? 0 : MM_ETOOBIG;
	json_decref(o);
	if (rc == 0 && out->len > REPORT_LINE_MAX)
		rc = MM_ETOOBIG;
	if (rc < 0)
		mm_buf_reset(out);
	return rc;
}

/* ---- the process ---- */

struct counters {
	uint64_t findings;        /* findings received and checked */
	uint64_t invalid;         /* messages that did not check, dropped */
	uint64_t scans;           /* scan requests answered */
	uint64_t scan_errors;     /* ... that could not be hashed or scanned */
	uint64_t replies_dropped; /* answers the guard's socket did not take */
	uint64_t quarantined;     /* copies stored (or found already there) */
	uint64_t quarantine_full; /* refused: larger than the whole quarantine */
	uint64_t quarantine_errors;
	uint64_t events;          /* lines written */
	uint64_t event_errors;    /* events not built or not written */
	uint64_t spooled;         /* messages appended to the spool */
	uint64_t spool_refused;   /* refused: the spool was full */
	uint64_t spool_errors;
	uint64_t docs;            /* documents (metrics, SBOM parts) received */
	uint64_t docs_invalid;    /* ... refused: no descriptor, too large, not a JSON object */
};

struct peer {
	int fd;
	struct event *ev;
};

struct reporter {
	const struct agent_conf *c;
	struct event_base *base;
	struct peer peers[MAX_PEERS];
	size_t npeers, nopen;
	struct event *sigterm, *sigint, *heartbeat, *send_timer;

	struct scanner *scan;
	struct quarantine *q;
	FILE *events;
	struct mm_spool *spool;
	struct mm_sender *sender;
	char pid[24];

	struct report_ctx cx;
	struct mm_buf line, msg;
	struct agent_stats guard, watch, device;
	int have_guard, have_watch, have_device;
	struct counters n;
	const char *stop_reason;
	struct mm_ipc_msg m;
};

/* The first warning of a kind, then at 2, 4, 8 ... of them: enough to see a
 * problem without letting a peer flood the log. */
static int log_due(uint64_t count)
{
	return (count & (count - 1)) == 0;
}

static void now_finding(struct agent_finding *f, const char *event)
{
	struct timespec now;

	memset(f, 0, sizeof *f);
	snprintf(f->event, sizeof f->event, "%s", event);
	clock_gettime(CLOCK_REALTIME, &now);
	f->time_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	f->latency_us = -1;
}

static int severity(const struct agent_finding *f)
{
	if (strcmp(f->event, "detect.violation") == 0 || strcmp(f->event, "audit.finding") == 0)
		return SEV_WARNING;
	if (strncmp(f->event, "detect.", 7) == 0 || strncmp(f->event, "audit.", 6) == 0 ||
	    strncmp(f->event, "inventory.", 10) == 0)
		return SEV_INFO;
	if (strncmp(f->event, "guard.agent.", 12) == 0 || strncmp(f->event, "guard.feed.", 11) == 0)
		return strcmp(f->event, "guard.feed.refused") == 0 ? SEV_WARNING : SEV_INFO;
	return f->action == AGENT_ACT_REPORTED || f->action == AGENT_ACT_ALLOWED ? SEV_NOTICE
										  : SEV_WARNING;
}

static void send_soon(struct reporter *r, int ms);

/* Appends the event in r->line to the spool as an RFC 5424 message. */
static void spool_event(struct reporter *r, const struct agent_finding *f)
{
	struct mm_syslog_out so = {0};
	struct timespec t;
	int rc;

	if (f->time_ms > 0 && f->time_ms <= TIME_MS_MAX) {
		t.tv_sec = (time_t)(f->time_ms / 1000);
		t.tv_nsec = (long)(f->time_ms % 1000) * 1000000;
	} else {
		clock_gettime(CLOCK_REALTIME, &t);
	}
	so.pri = FACILITY * 8 + severity(f);
	so.time = &t;
	so.hostname = r->c->device_id;
	so.app_name = "mamorid";
	so.procid = r->pid;
	so.msgid = f->event;
	so.msg = r->line.data;
	so.msg_len = r->line.len;
	mm_buf_reset(&r->msg);
	if ((rc = mm_syslog_encode(&so, &r->msg)) < 0) {
		if (log_due(++r->n.spool_errors))
			log_warnx("%s: not sent to the SOC: %s", f->event, mm_strerror(rc));
		return;
	}
	rc = mm_spool_append(r->spool, r->msg.data, r->msg.len);
	if (rc == MM_EFULL) {
		if (log_due(++r->n.spool_refused))
			log_warnx("spool full: %s not sent (%llu so far)", f->event,
				  (unsigned long long)r->n.spool_refused);
		return;
	}
	if (rc < 0) {
		if (log_due(++r->n.spool_errors))
			log_warnx("%s: spool: %s", f->event, mm_strerror(rc));
		return;
	}
	r->n.spooled++;
	send_soon(r, 0);
}

/* Builds the event and writes it everywhere it goes. */
static void emit(struct reporter *r, const struct agent_finding *f, const struct report_file *file,
		 json_t *extra)
{
	int rc;

	if ((rc = report_event_json(&r->cx, f, file, extra, &r->line)) < 0) {
		if (log_due(++r->n.event_errors))
			log_warnx("%s: event not built: %s", f->event, mm_strerror(rc));
		return;
	}
	if (r->events) {
		if (fwrite(r->line.data, 1, r->line.len, r->events) != r->line.len ||
		    fputc('\n', r->events) == EOF || fflush(r->events) != 0) {
			if (log_due(++r->n.event_errors))
				log_warn("events file");
			clearerr(r->events);
		} else {
			r->n.events++;
		}
	}
	if (r->spool)
		spool_event(r, f);
}

/* Sets key to a number in o; allocation failures only thin the event. */
static void put_count(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)(v > INT64_MAX ? INT64_MAX : v)));
}

static json_t *part_counters(const struct agent_stats *st, const char *const names[16])
{
	json_t *o = json_object();
	char key[8];
	int i;

	for (i = 0; o && i < 16; i++) {
		if (names[i]) {
			put_count(o, names[i], st->counters[i]);
		} else if (st->counters[i]) {
			snprintf(key, sizeof key, "c%d", i);
			put_count(o, key, st->counters[i]);
		}
	}
	return o;
}

static json_t *own_counters(struct reporter *r)
{
	json_t *o = json_object();
	struct quarantine_stats qs;

	if (!o)
		return NULL;
	put_count(o, "findings", r->n.findings);
	put_count(o, "invalid", r->n.invalid);
	put_count(o, "scans", r->n.scans);
	put_count(o, "scan_errors", r->n.scan_errors);
	put_count(o, "replies_dropped", r->n.replies_dropped);
	put_count(o, "quarantined", r->n.quarantined);
	put_count(o, "quarantine_full", r->n.quarantine_full);
	put_count(o, "quarantine_errors", r->n.quarantine_errors);
	if (r->q) {
		quarantine_stats(r->q, &qs);
		put_count(o, "quarantine_files", qs.files);
		put_count(o, "quarantine_bytes", qs.bytes);
		put_count(o, "quarantine_evicted", qs.evicted);
	}
	put_count(o, "events", r->n.events);
	put_count(o, "event_errors", r->n.event_errors);
	put_count(o, "spooled", r->n.spooled);
	put_count(o, "spool_refused", r->n.spool_refused);
	put_count(o, "spool_errors", r->n.spool_errors);
	put_count(o, "docs", r->n.docs);
	put_count(o, "docs_invalid", r->n.docs_invalid);
	return o;
}

static void emit_heartbeat(struct reporter *r)
{
	struct agent_finding f;
	json_t *d = json_object();

	now_finding(&f, "guard.agent.heartbeat");
	if (d && r->have_guard)
		json_object_set_new(d, "guard", part_counters(&r->guard, guard_counter_names));
	if (d && r->have_watch)
		json_object_set_new(d, "watch", part_counters(&r->watch, watch_counter_names));
	if (d && r->have_device)
		json_object_set_new(d, "device", part_counters(&r->device, device_counter_names));
	if (d)
		json_object_set_new(d, "report", own_counters(r));
	emit(r, &f, NULL, d);
	json_decref(d);
}

static void emit_start(struct reporter *r)
{
	static const char *const fb[] = {"auto", "yes", "no"};
	const struct agent_conf *c = r->c;
	struct agent_finding f;
	json_t *d = json_object(), *w = json_array();
	size_t i;

	now_finding(&f, "guard.agent.start");
	for (i = 0; w && i < c->watch.n; i++)
		json_array_append_new(w, ustr(c->watch.v[i]));
	if (d) {
		json_object_set_new(d, "version", json_string(MAMORI_VERSION));
		json_object_set_new(d, "mode",
				    json_string(c->mode == AGENT_ENFORCE ? "enforce" : "monitor"));
		json_object_set_new(d, "watch", w ? json_incref(w) : json_array());
		json_object_set_new(d, "fallback", json_boolean(c->fallback == AGENT_FALLBACK_YES));
		json_object_set_new(d, "fallback_setting",
				    json_string(c->fallback <= AGENT_FALLBACK_NO ? fb[c->fallback]
										 : "auto"));
		json_object_set_new(d, "yara", json_boolean(scan_has_yara(r->scan)));
		json_object_set_new(d, "soc", json_boolean(r->spool != NULL));
	}
	emit(r, &f, NULL, d);
	json_decref(w);
	json_decref(d);
}

static void emit_stop(struct reporter *r)
{
	struct agent_finding f;
	json_t *d = json_object();

	now_finding(&f, "guard.agent.stop");
	if (d) {
		json_object_set_new(d, "reason", json_string(r->stop_reason ? r->stop_reason
									  : "signal"));
		json_object_set_new(d, "report", own_counters(r));
	}
	emit(r, &f, NULL, d);
	json_decref(d);
}

/* ---- messages ---- */

static void on_scan(struct reporter *r, int sock, int fd)
{
	const struct agent_scan_req *q = mm_ipc_payload(&r->m, AGENT_MSG_SCAN, sizeof *q);
	struct agent_scan_res res;
	int rc;

	if (!q) {
		r->n.invalid++;
		return;
	}
	r->n.scans++;
	if (fd < 0) {
		memset(&res, 0, sizeof res);
		res.status = AGENT_SCAN_ERROR;
		r->n.scan_errors++;
	} else if (scan_fd(r->scan, fd, (uint64_t)r->c->scan_max_size, q->yara, &res) < 0 &&
		   res.status == AGENT_SCAN_ERROR) {
		r->n.scan_errors++;
	}
	/* The guard waits at most scan_timeout for this; when its socket is full
	 * it has already given up on some, so dropping the answer is safe. */
	rc = mm_ipc_send(sock, AGENT_MSG_SCAN_RESULT, r->m.hdr.id, &res, sizeof res, -1);
	if (rc < 0 && log_due(++r->n.replies_dropped))
		log_warnx("scan answer not sent: %s (%llu so far)", mm_strerror(rc),
			  (unsigned long long)r->n.replies_dropped);
}

/* A producer that did not say when gets the time of arrival, the same in
 * the line and in the RFC 5424 header. */
static void arrival_time(struct agent_finding *f)
{
	struct timespec now;

	if (f->time_ms > 0 && f->time_ms <= TIME_MS_MAX)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	f->time_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void on_finding(struct reporter *r, int fd)
{
	const struct agent_finding *p = mm_ipc_payload(&r->m, AGENT_MSG_FINDING, sizeof *p);
	struct report_file file = {.size = -1};
	struct agent_finding f;
	json_t *extra = NULL;
	struct stat st;
	uint64_t size;
	int rc;

	if (!p) {
		r->n.invalid++;
		return;
	}
	memcpy(&f, p, sizeof f);
	if (report_finding_check(&f) < 0) {
		if (log_due(++r->n.invalid))
			log_warnx("a finding that does not check was dropped (%llu so far)",
				  (unsigned long long)r->n.invalid);
		return;
	}
	r->n.findings++;
	arrival_time(&f);
	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			file.size = st.st_size;
		if (f.has_sha256) {
			memcpy(file.sha256, f.sha256, sizeof file.sha256);
			file.hashed = 1;
		} else if ((rc = mm_sha256_fd(fd, (uint64_t)r->c->scan_max_size, file.sha256,
					      &size)) == 0) {
			file.hashed = 1;
			file.size = (int64_t)size;
		} else {
			extra = json_pack("{ss}", "hash_error",
					  rc == MM_ETOOBIG ? "larger than scan_max_size"
							   : mm_strerror(rc));
		}
	}
	if (f.quarantine && fd >= 0 && r->q && file.hashed) {
		rc = quarantine_put(r->q, fd, file.sha256);
		if (rc == 0) {
			file.quarantined = 1;
			r->n.quarantined++;
		} else {
			if (rc == MM_ETOOBIG)
				r->n.quarantine_full++;
			else
				r->n.quarantine_errors++;
			if (!extra)
				extra = json_object();
			if (extra)
				json_object_set_new(extra, "quarantine_error",
						    json_string(rc == MM_ETOOBIG
								? "larger than the quarantine"
								: mm_strerror(rc)));
		}
	}
	emit(r, &f, &file, extra);
	json_decref(extra);
}

/*
 * Reads the JSON object a document descriptor holds (from offset 0, at most
 * AGENT_DOC_MAX bytes). NULL when it is larger, unreadable or not one object.
 */
static json_t *doc_read(int fd)
{
	char *buf = NULL;
	json_t *o = NULL;
	struct stat st;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > AGENT_DOC_MAX || !(buf = malloc((size_t)st.st_size)))
		goto out;
	while (got < (size_t)st.st_size) {
		n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	o = json_loadb(buf, got, JSON_REJECT_DUPLICATES, NULL);
	if (o && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
out:
	free(buf);
	return o;
}

/* A document from the device process: its JSON object becomes the detail. */
static void on_doc(struct reporter *r, int fd)
{
	const struct agent_finding *p = mm_ipc_payload(&r->m, AGENT_MSG_DOC, sizeof *p);
	struct agent_finding f;
	json_t *doc;

	if (!p || fd < 0) {
		r->n.docs_invalid++;
		return;
	}
	memcpy(&f, p, sizeof f);
	if (report_finding_check(&f) < 0 || f.detail[0] || !(doc = doc_read(fd))) {
		if (log_due(++r->n.docs_invalid))
			log_warnx("a document that does not check was dropped (%llu so far)",
				  (unsigned long long)r->n.docs_invalid);
		return;
	}
	r->n.docs++;
	arrival_time(&f);
	emit(r, &f, NULL, doc);
	json_decref(doc);
}

static void on_stats(struct reporter *r)
{
	const struct agent_stats *p = mm_ipc_payload(&r->m, AGENT_MSG_STATS, sizeof *p);

	if (!p || !mm_ipc_str_ok(p->part, sizeof p->part)) {
		r->n.invalid++;
		return;
	}
	if (strcmp(p->part, "guard") == 0) {
		r->guard = *p;
		r->have_guard = 1;
	} else if (strcmp(p->part, "watch") == 0) {
		r->watch = *p;
		r->have_watch = 1;
	} else if (strcmp(p->part, "device") == 0) {
		r->device = *p;
		r->have_device = 1;
	} else {
		r->n.invalid++;
	}
}

static void peer_closed(struct reporter *r, struct peer *pe)
{
	event_del(pe->ev);
	close(pe->fd);
	pe->fd = -1;
	if (--r->nopen == 0) {
		r->stop_reason = "peers closed";
		event_base_loopbreak(r->base);
	}
}

static void on_peer(evutil_socket_t sock, short what, void *arg)
{
	struct reporter *r = arg;
	struct peer *pe = NULL;
	size_t i;
	int k, rc;

	(void)what;
	for (i = 0; i < r->npeers; i++)
		if (r->peers[i].fd == sock)
			pe = &r->peers[i];
	if (!pe)
		return;
	for (k = 0; k < MSGS_PER_TURN; k++) {
		rc = mm_ipc_recv(pe->fd, &r->m);
		if (rc == MM_EAGAIN)
			return;
		if (rc == MM_EPARSE) {
			r->n.invalid++;
			continue;
		}
		if (rc < 0) {
			if (errno)
				log_warn("peer socket");
			peer_closed(r, pe);
			return;
		}
		switch (r->m.hdr.type) {
		case AGENT_MSG_SCAN:
			on_scan(r, pe->fd, r->m.fd);
			break;
		case AGENT_MSG_FINDING:
			on_finding(r, r->m.fd);
			break;
		case AGENT_MSG_STATS:
			on_stats(r);
			break;
		case AGENT_MSG_DOC:
			on_doc(r, r->m.fd);
			break;
		default:
			r->n.invalid++;
			break;
		}
		if (r->m.fd >= 0)
			close(r->m.fd);
	}
}

/* ---- timers and signals ---- */

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	emit_heartbeat(arg);
}

static void on_send(evutil_socket_t fd, short what, void *arg)
{
	struct reporter *r = arg;
	struct mm_send_counters sc;

	(void)fd;
	(void)what;
	if (mm_sender_run(r->sender, 0) < 0) {
		log_warnx("spool failed: events are kept in the events file only");
		mm_sender_free(r->sender);
		r->sender = NULL;
		mm_spool_close(r->spool);
		r->spool = NULL;
		return;
	}
	mm_sender_counters(r->sender, &sc);
	send_soon(r, sc.pending > 0 ? SEND_BUSY_MS : SEND_IDLE_MS);
}

static void send_soon(struct reporter *r, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	if (!r->send_timer)
		return;
	/* An earlier turn is never postponed by a later request. */
	if (ms > 0 && evtimer_pending(r->send_timer, NULL))
		return;
	evtimer_add(r->send_timer, &tv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct reporter *r = arg;

	(void)what;
	r->stop_reason = sig == SIGINT ? "interrupt" : "signal";
	event_base_loopbreak(r->base);
}

/* ---- start and end ---- */

static int open_soc(struct reporter *r)
{
	const struct agent_conf *c = r->c;
	struct mm_spool_recovery rec;
	struct mm_spool_opts so;
	struct mm_sender_opts o;
	char dir[PATH_MAX];
	int rc;

	mm_spool_opts_default(&so);
	if (c->spool_max > 0)
		so.max_bytes = (uint64_t)c->spool_max;
	/* No message is longer than MSG_MAX, so a small device's spool need not
	 * have room for the default 1 MiB record; segments of a quarter of the
	 * bound let acknowledged space be freed before the spool is full. */
	so.max_record = MSG_MAX;
	if (so.segment_bytes > so.max_bytes / 4)
		so.segment_bytes = so.max_bytes / 4 > MSG_MAX ? so.max_bytes / 4 : MSG_MAX;
	/* "interval" alone keeps the default period. */
	if (c->spool_sync && strcmp(c->spool_sync, "interval") != 0 &&
	    mm_spool_sync_parse(c->spool_sync, &so) < 0) {
		log_warnx("[spool] sync: expected always, interval, interval=MS or never: %s",
			  c->spool_sync);
		return MM_EINVAL;
	}
	mm_sender_opts_default(&o);
	if (mm_send_url_parse(c->soc, &o.url) < 0) {
		log_warnx("soc: expected udp://, tcp://, tls://, relp:// or relp+tls://HOST:PORT: %s",
			  c->soc);
		return MM_EINVAL;
	}
	if ((size_t)snprintf(dir, sizeof dir, "%s/spool", c->state) >= sizeof dir)
		return MM_EINVAL;
	if ((rc = mm_spool_open(dir, &so, &r->spool, &rec)) < 0) {
		log_warnx("spool %s: %s", dir, mm_strerror(rc));
		return rc;
	}
	if (rec.records > 0)
		log_info("spool %s: %llu events from before are sent first", dir,
			 (unsigned long long)rec.records);
	if ((rc = mm_sender_new(&o, r->spool, &r->sender)) < 0)
		return rc;
	if (!(r->send_timer = evtimer_new(r->base, on_send, r)))
		return MM_ENOMEM;
	return 0;
}

static int open_events(struct reporter *r)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof path, "%s/events.jsonl", r->c->state) >= sizeof path)
		return MM_EINVAL;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || !(r->events = fdopen(fd, "a"))) {
		log_warn("%s", path);
		if (fd >= 0)
			close(fd);
		return MM_EIO;
	}
	return 0;
}

static int open_all(struct reporter *r)
{
	const struct agent_conf *c = r->c;
	char qdir[PATH_MAX];
	const char *dir = c->quarantine;
	int rc;

	if (!c->state || !*c->state || !c->device_id)
		return MM_EINVAL;
	if (!dir || !*dir) {
		if ((size_t)snprintf(qdir, sizeof qdir, "%s/quarantine", c->state) >= sizeof qdir)
			return MM_EINVAL;
		dir = qdir;
	}
	if ((rc = quarantine_open(dir, c->quarantine_max > 0 ? (uint64_t)c->quarantine_max
							      : UINT64_C(64) << 20,
				  &r->q)) < 0) {
		log_warnx("quarantine %s: %s", dir, mm_strerror(rc));
		return rc;
	}
	if ((rc = open_events(r)) < 0)
		return rc;
	if (c->soc && *c->soc && strcmp(c->soc, "none") != 0 && (rc = open_soc(r)) < 0)
		return rc;
	if ((rc = scan_new(c->yara_rules, &r->scan)) < 0) {
		log_warnx("yara rules %s: %s", c->yara_rules, mm_strerror(rc));
		return rc;
	}
	scan_set_timeout(r->scan, (int)((c->scan_timeout_ms + 999) / 1000));
	return 0;
}

static int drop_privileges(const struct agent_conf *c)
{
	struct mm_sandbox_opts o;
	uid_t uid;
	gid_t gid;

	mm_sandbox_opts_default(&o);
	o.no_fork = 1;
	if (c->user && *c->user) {
		if (geteuid() != 0)
			log_info("not root: the reporter keeps uid %ld", (long)geteuid());
		else if (mm_sandbox_user(c->user, &uid, &gid) < 0)
			log_warnx("user %s does not exist: the reporter stays root", c->user);
		else
			o.user = c->user;
	}
	return mm_sandbox_enter(&o);
}

static void cleanup(struct reporter *r)
{
	size_t i;

	for (i = 0; i < r->npeers; i++) {
		if (r->peers[i].ev)
			event_free(r->peers[i].ev);
		if (r->peers[i].fd >= 0)
			close(r->peers[i].fd);
	}
	if (r->sigterm)
		event_free(r->sigterm);
	if (r->sigint)
		event_free(r->sigint);
	if (r->heartbeat)
		event_free(r->heartbeat);
	if (r->send_timer)
		event_free(r->send_timer);
	mm_sender_free(r->sender);
	mm_spool_close(r->spool);
	if (r->events)
		fclose(r->events);
	quarantine_close(r->q);
	scan_free(r->scan);
	mm_buf_free(&r->line);
	mm_buf_free(&r->msg);
	if (r->base)
		event_base_free(r->base);
	free(r);
}

/*
 * The reporter's life: called by main.c right after fork, as root, with the
 * sockets from the guard and the watch (fds, nfds of them; it owns and
 * closes them). Opens what needs privileges, drops them (mm_sandbox_enter),
 * writes guard.agent.start, serves the sockets until SIGTERM or SIGINT, or
 * until every socket is closed, then writes guard.agent.stop and gives the
 * sender up to 2 s to deliver what waits. Returns 0, or a negative MM_E*
 * when it could not start (logged).
 */
int report_run(const struct agent_conf *c, const int *fds, size_t nfds)
{
	struct reporter *r;
	struct timeval hb;
	size_t i;
	int rc = MM_ENOMEM;

	if (nfds > MAX_PEERS)
		return MM_EINVAL;
	if (!(r = calloc(1, sizeof *r)))
		return MM_ENOMEM;
	r->c = c;
	for (i = 0; i < MAX_PEERS; i++)
		r->peers[i].fd = -1;
	for (i = 0; i < nfds; i++)
		r->peers[i].fd = fds[i];
	r->npeers = nfds;
	mm_buf_init(&r->line, REPORT_LINE_MAX);
	mm_buf_init(&r->msg, MSG_MAX);
	snprintf(r->pid, sizeof r->pid, "%ld", (long)getpid());
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN); /* the guard reloads the feed; nothing to do here */
	if (!(r->base = event_base_new()))
		goto fail;
	if ((rc = open_all(r)) < 0)
		goto fail;
	r->cx.device_id = c->device_id;
	r->cx.firmware = c->firmware ? c->firmware : "";
	r->cx.mode = c->mode;
	r->cx.quarantine_dir = quarantine_dir(r->q);

	if ((rc = drop_privileges(c)) < 0) {
		log_warnx("reporter: cannot enter its sandbox: %s", mm_strerror(rc));
		goto fail;
	}

	rc = MM_ENOMEM;
	for (i = 0; i < r->npeers; i++) {
		if (r->peers[i].fd < 0)
			continue;
		if (evutil_make_socket_nonblocking(r->peers[i].fd) < 0 ||
		    !(r->peers[i].ev = event_new(r->base, r->peers[i].fd, EV_READ | EV_PERSIST,
						 on_peer, r)) ||
		    event_add(r->peers[i].ev, NULL) < 0)
			goto fail;
		r->nopen++;
	}
	if (!(r->sigterm = evsignal_new(r->base, SIGTERM, on_signal, r)) ||
	    !(r->sigint = evsignal_new(r->base, SIGINT, on_signal, r)) ||
	    evsignal_add(r->sigterm, NULL) < 0 || evsignal_add(r->sigint, NULL) < 0)
		goto fail;
	if (c->heartbeat_s > 0) {
		hb.tv_sec = (time_t)c->heartbeat_s;
		hb.tv_usec = 0;
		if (!(r->heartbeat = event_new(r->base, -1, EV_PERSIST, on_heartbeat, r)) ||
		    evtimer_add(r->heartbeat, &hb) < 0)
			goto fail;
	}

	emit_start(r);
	if (r->nopen == 0)
		r->stop_reason = "no peers";
	else if (event_base_dispatch(r->base) < 0)
		log_warnx("reporter: event loop failed");
	emit_stop(r);
	if (r->sender && mm_sender_drain(r->sender, DRAIN_MS) == MM_EAGAIN)
		log_warnx("%s: events not yet confirmed stay in the spool", c->soc);
	cleanup(r);
	return 0;
fail:
	cleanup(r);
	return rc;
}
