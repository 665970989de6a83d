/*
 * The reporter (agent/report.c): the check of a finding received from
 * another process, the JSON event it becomes (every member of
 * docs/formats/events.md, byte for byte), and the whole process driven over
 * its sockets: a scan answered, a finding hashed, quarantined and written,
 * a bad message counted, start, heartbeat and stop events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "mamori/error.h"
#include "mamori/hash.h"
#include "mamori/ipc.h"
#include "report.h"

/* SHA-256 of "abc" (FIPS 180-2). */
#define ABC_HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static const struct report_ctx cx_enforce = {"dev-1", "1.2.3", AGENT_ENFORCE, "/q"};
static const struct report_ctx cx_monitor = {"dev-1", "", AGENT_MONITOR, "/q"};

static void base_finding(struct agent_finding *f, const char *event)
{
	memset(f, 0, sizeof *f);
	snprintf(f->event, sizeof f->event, "%s", event);
	f->time_ms = INT64_C(1795341600123); /* 2026-11-22T10:00:00.123Z */
	f->latency_us = -1;
}

static void abc_file(struct report_file *file, int quarantined)
{
	memset(file, 0, sizeof *file);
	assert_int_equal(mm_sha256_parse(ABC_HEX, 64, file->sha256), 0);
	file->hashed = 1;
	file->size = 3;
	file->quarantined = quarantined;
}

static void expect_json(const struct report_ctx *cx, const struct agent_finding *f,
			const struct report_file *file, json_t *extra, const char *want)
{
	struct mm_buf b;

	mm_buf_init(&b, REPORT_LINE_MAX);
	assert_int_equal(report_event_json(cx, f, file, extra, &b), 0);
	assert_string_equal(b.data, want);
	assert_int_equal(b.len, strlen(want));
	mm_buf_free(&b);
}

/* An exec denied in enforce mode: every member, in the documented order. */
static void test_exec_denied_enforce(void **state)
{
	struct agent_finding f;
	struct report_file file;

	(void)state;
	base_finding(&f, "guard.exec.denied");
	snprintf(f.reason, sizeof f.reason, "volatile");
	snprintf(f.attack[0], sizeof f.attack[0], "T1105");
	f.action = AGENT_ACT_DENIED;
	f.quarantine = 1;
	f.pid = 4242;
	f.ppid = 1;
	f.uid = 0;
	snprintf(f.comm, sizeof f.comm, "sh");
	snprintf(f.exe, sizeof f.exe, "/bin/busybox");
	snprintf(f.path, sizeof f.path, "/tmp/x \"q\"");
	snprintf(f.detail, sizeof f.detail, "{\"fstype\": \"tmpfs\"}");
	abc_file(&file, 1);
	expect_json(&cx_enforce, &f, &file, NULL,
		    "{\"event\":\"guard.exec.denied\",\"time\":\"2026-11-22T10:00:00.123Z\","
		    "\"host\":\"dev-1\",\"device\":{\"id\":\"dev-1\",\"fw\":\"1.2.3\"},"
		    "\"mode\":\"enforce\",\"action\":\"denied\",\"reason\":\"volatile\","
		    "\"attack\":[\"T1105\"],"
		    "\"process\":{\"pid\":4242,\"ppid\":1,\"uid\":0,\"name\":\"sh\","
		    "\"exe\":\"/bin/busybox\"},"
		    "\"file\":{\"path\":\"/tmp/x \\\"q\\\"\",\"sha256\":\"" ABC_HEX "\",\"size\":3},"
		    "\"quarantine\":{\"sha256\":\"" ABC_HEX "\",\"path\":\"/q/" ABC_HEX "\"},"
		    "\"detail\":{\"fstype\":\"tmpfs\"}}");
}

/* Monitor mode, a behaviour finding whose descriptor was the exe: the hash
 * goes to process.sha256, no file member, killed and latency when set. */
static void test_behaviour_monitor(void **state)
{
	struct agent_finding f;
	struct report_file file;

	(void)state;
	base_finding(&f, "guard.behaviour.listener");
	snprintf(f.attack[0], sizeof f.attack[0], "T1571");
	f.pid = 77;
	f.ppid = 76;
	f.uid = 1000;
	snprintf(f.comm, sizeof f.comm, "dvrHelper");
	snprintf(f.exe, sizeof f.exe, "/tmp/.x (deleted)");
	f.killed = 3;
	f.latency_us = 0;
	snprintf(f.detail, sizeof f.detail,
		 "{\"addr\":\"127.0.0.1\",\"port\":48101,\"rule\":\"deny_listen\"}");
	abc_file(&file, 0);
	expect_json(&cx_monitor, &f, &file, NULL,
		    "{\"event\":\"guard.behaviour.listener\",\"time\":\"2026-11-22T10:00:00.123Z\","
		    "\"host\":\"dev-1\",\"device\":{\"id\":\"dev-1\",\"fw\":\"\"},"
		    "\"mode\":\"monitor\",\"action\":\"reported\",\"attack\":[\"T1571\"],"
		    "\"process\":{\"pid\":77,\"ppid\":76,\"uid\":1000,\"name\":\"dvrHelper\","
		    "\"exe\":\"/tmp/.x (deleted)\",\"sha256\":\"" ABC_HEX "\"},"
		    "\"killed\":3,\"latency_us\":0,"
		    "\"detail\":{\"addr\":\"127.0.0.1\",\"port\":48101,\"rule\":\"deny_listen\"}}");
}

/* The agent's own events: no process, no detail when empty, attack []. */
static void test_minimal(void **state)
{
	struct agent_finding f;

	(void)state;
	base_finding(&f, "guard.agent.stop");
	expect_json(&cx_monitor, &f, NULL, NULL,
		    "{\"event\":\"guard.agent.stop\",\"time\":\"2026-11-22T10:00:00.123Z\","
		    "\"host\":\"dev-1\",\"device\":{\"id\":\"dev-1\",\"fw\":\"\"},"
		    "\"mode\":\"monitor\",\"action\":\"reported\",\"attack\":[]}");
}

/* A hash the finding carries wins over the descriptor's; every action name;
 * several ATT&CK ids in order, unused slots skipped. */
static void test_fields_table(void **state)
{
	static const struct {
		uint32_t action;
		const char *name;
	} acts[] = {
		{AGENT_ACT_REPORTED, "\"action\":\"reported\""},
		{AGENT_ACT_DENIED, "\"action\":\"denied\""},
		{AGENT_ACT_KILLED, "\"action\":\"killed\""},
		{AGENT_ACT_ALLOWED, "\"action\":\"allowed\""},
	};
	struct agent_finding f;
	struct report_file file;
	struct mm_buf b;
	size_t i;

	(void)state;
	mm_buf_init(&b, REPORT_LINE_MAX);
	for (i = 0; i < sizeof acts / sizeof acts[0]; i++) {
		base_finding(&f, "guard.exec.undecided");
		f.action = acts[i].action;
		snprintf(f.attack[0], sizeof f.attack[0], "T1070.004");
		snprintf(f.attack[2], sizeof f.attack[2], "T1562");
		snprintf(f.path, sizeof f.path, "/a");
		memset(f.sha256, 0x11, sizeof f.sha256);
		f.has_sha256 = 1;
		abc_file(&file, 0);
		assert_int_equal(report_event_json(&cx_enforce, &f, &file, NULL, &b), 0);
		assert_non_null(strstr(b.data, acts[i].name));
		assert_non_null(strstr(b.data, "\"attack\":[\"T1070.004\",\"T1562\"]"));
		assert_non_null(strstr(b.data, "\"file\":{\"path\":\"/a\",\"sha256\":\"1111111111"
					       "111111111111111111111111111111111111111111111111111"
					       "111\",\"size\":3}"));
		assert_null(strstr(b.data, ABC_HEX));
	}
	mm_buf_free(&b);
}

/* The reporter's own detail members follow the finding's and replace one of
 * the same name; a quarantine that did not happen is not claimed. */
static void test_detail_merge(void **state)
{
	struct agent_finding f;
	struct report_file file;
	json_t *extra = json_pack("{sssi}", "b", "mine", "c", 2);

	(void)state;
	base_finding(&f, "guard.behaviour.scan");
	snprintf(f.detail, sizeof f.detail, "{\"a\":1,\"b\":\"theirs\",\"n\":{\"x\":[1,2]}}");
	abc_file(&file, 0);
	file.hashed = 0;
	expect_json(&cx_enforce, &f, &file, extra,
		    "{\"event\":\"guard.behaviour.scan\",\"time\":\"2026-11-22T10:00:00.123Z\","
		    "\"host\":\"dev-1\",\"device\":{\"id\":\"dev-1\",\"fw\":\"1.2.3\"},"
		    "\"mode\":\"enforce\",\"action\":\"reported\",\"attack\":[],"
		    "\"detail\":{\"a\":1,\"b\":\"mine\",\"n\":{\"x\":[1,2]},\"c\":2}}");
	json_decref(extra);
}

/* Bytes that are not UTF-8 in a path or name become U+FFFD; a time out of
 * range becomes the time of writing, not an error. */
static void test_not_utf8(void **state)
{
	struct agent_finding f;
	struct mm_buf b;
	json_t *o;

	(void)state;
	base_finding(&f, "guard.exec.denied");
	snprintf(f.path, sizeof f.path, "/tmp/a\xff\xc3z");
	snprintf(f.comm, sizeof f.comm, "\x80x");
	f.time_ms = -5;
	mm_buf_init(&b, REPORT_LINE_MAX);
	assert_int_equal(report_event_json(&cx_enforce, &f, NULL, NULL, &b), 0);
	assert_non_null(strstr(b.data, "\"path\":\"/tmp/a\xEF\xBF\xBD\xEF\xBF\xBDz\""));
	assert_non_null(strstr(b.data, "\"name\":\"\xEF\xBF\xBDx\""));
	assert_non_null(o = json_loads(b.data, 0, NULL));
	assert_int_equal(strlen(json_string_value(json_object_get(o, "time"))), 24);
	json_decref(o);
	mm_buf_free(&b);
}

static void test_time(void **state)
{
	static const struct {
		int64_t ms;
		const char *want;
	} t[] = {
		{0, "1970-01-01T00:00:00.000Z"},
		{INT64_C(1795341600123), "2026-11-22T10:00:00.123Z"},
		{INT64_C(2147483647000), "2038-01-19T03:14:07.000Z"},
		{INT64_C(253402300799999), "9999-12-31T23:59:59.999Z"},
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		/* Where time_t is 32-bit, what is past 2038 is refused, not wrapped. */
		if (sizeof(time_t) < 8 && t[i].ms / 1000 > INT32_MAX) {
			assert_int_equal(report_time(t[i].ms, out), MM_EINVAL);
			continue;
		}
		assert_int_equal(report_time(t[i].ms, out), 0);
		assert_string_equal(out, t[i].want);
	}
	assert_int_equal(report_time(-1, out), MM_EINVAL);
	assert_int_equal(report_time(INT64_C(253402300800000), out), MM_EINVAL);
}

/* Each way a peer can send a bad finding is refused; the good ones pass. */
enum bad {
	OK_PLAIN, OK_DETAIL, OK_EMPTY_OBJ, OK_LONGEST,
	BAD_EVENT_UNTERM, BAD_REASON_UNTERM, BAD_ATTACK_UNTERM, BAD_COMM_UNTERM, BAD_EXE_UNTERM,
	BAD_PATH_UNTERM, BAD_DETAIL_UNTERM, BAD_EVENT_EMPTY, BAD_EVENT_CHARS, BAD_EVENT_LONG,
	BAD_ATTACK_CHARS, BAD_ACTION, BAD_QUARANTINE, BAD_HAS_SHA, BAD_DETAIL_ARRAY,
	BAD_DETAIL_TRUNC, BAD_DETAIL_TRAIL, BAD_DETAIL_DUP, BAD_DETAIL_STRING, BAD_DETAIL_UTF8,
	BAD_COUNT
};

static void make_case(struct agent_finding *f, int k)
{
	base_finding(f, "guard.exec.denied");
	snprintf(f->attack[0], sizeof f->attack[0], "T1105");
	switch (k) {
	case OK_DETAIL: snprintf(f->detail, sizeof f->detail, "{\"rule\":\"mirai_like\"}"); break;
	case OK_EMPTY_OBJ: snprintf(f->detail, sizeof f->detail, "{}"); break;
	case OK_LONGEST: snprintf(f->event, sizeof f->event, "guard.behaviour.service_replaced"); break;
	case BAD_EVENT_UNTERM: memset(f->event, 'a', sizeof f->event); break;
	case BAD_REASON_UNTERM: memset(f->reason, 'a', sizeof f->reason); break;
	case BAD_ATTACK_UNTERM: memset(f->attack[3], 'T', sizeof f->attack[3]); break;
	case BAD_COMM_UNTERM: memset(f->comm, 'c', sizeof f->comm); break;
	case BAD_EXE_UNTERM: memset(f->exe, 'e', sizeof f->exe); break;
	case BAD_PATH_UNTERM: memset(f->path, 'p', sizeof f->path); break;
	case BAD_DETAIL_UNTERM: memset(f->detail, ' ', sizeof f->detail); f->detail[0] = '{'; break;
	case BAD_EVENT_EMPTY: f->event[0] = '\0'; break;
	case BAD_EVENT_CHARS: snprintf(f->event, sizeof f->event, "guard exec"); break;
	case BAD_EVENT_LONG: snprintf(f->event, sizeof f->event, "guard.behaviour.service_replacedx"); break;
	case BAD_ATTACK_CHARS: snprintf(f->attack[1], sizeof f->attack[1], "T1\"05"); break;
	case BAD_ACTION: f->action = 4; break;
	case BAD_QUARANTINE: f->quarantine = 2; break;
	case BAD_HAS_SHA: f->has_sha256 = 7; break;
	case BAD_DETAIL_ARRAY: snprintf(f->detail, sizeof f->detail, "[1]"); break;
	case BAD_DETAIL_TRUNC: snprintf(f->detail, sizeof f->detail, "{\"a\":"); break;
	case BAD_DETAIL_TRAIL: snprintf(f->detail, sizeof f->detail, "{\"a\":1}x"); break;
	case BAD_DETAIL_DUP: snprintf(f->detail, sizeof f->detail, "{\"a\":1,\"a\":2}"); break;
	case BAD_DETAIL_STRING: snprintf(f->detail, sizeof f->detail, "\"x\""); break;
	case BAD_DETAIL_UTF8: snprintf(f->detail, sizeof f->detail, "{\"a\":\"\xff\"}"); break;
	default: break;
	}
}

static void test_check(void **state)
{
	struct agent_finding f;
	struct mm_buf b;
	int k;

	(void)state;
	mm_buf_init(&b, REPORT_LINE_MAX);
	for (k = 0; k < BAD_COUNT; k++) {
		int want = k < BAD_EVENT_UNTERM ? 0 : MM_EINVALID;

		make_case(&f, k);
		if (report_finding_check(&f) != want)
			fail_msg("case %d: expected %d", k, want);
		/* What passes the check always builds. */
		if (want == 0)
			assert_int_equal(report_event_json(&cx_enforce, &f, NULL, NULL, &b), 0);
	}
	mm_buf_free(&b);
}

/* ---- the whole process, over its sockets ---- */

static char tmpdir[64];

static void rm_rf(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Reads events.jsonl until it holds at least n lines (bounded: 10 s). */
static char *read_events(const char *path, int n)
{
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		FILE *fp = fopen(path, "r");
		static char buf[1 << 16];
		size_t len = 0;
		int lines = 0;

		if (fp) {
			len = fread(buf, 1, sizeof buf - 1, fp);
			fclose(fp);
		}
		buf[len] = '\0';
		for (size_t i = 0; i < len; i++)
			lines += buf[i] == '\n';
		if (lines >= n)
			return buf;
		usleep(10000);
	}
	fail_msg("%s: fewer than %d lines", path, n);
	return NULL;
}

/* The line'th line (0-based) parsed. */
static json_t *line_json(const char *text, int line)
{
	const char *p = text, *e;
	int i;

	for (i = 0; i < line; i++) {
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	e = strchr(p, '\n');
	assert_non_null(e);
	return json_loadb(p, (size_t)(e - p), 0, NULL);
}

static const char *jstr(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);

	if (path2)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

static void test_run(void **state)
{
	struct agent_conf c;
	struct agent_finding f;
	struct agent_scan_req q = {3, 0, {0}};
	const struct agent_scan_res *res;
	struct mm_ipc_msg m;
	struct pollfd pfd;
	char path[128], qpath[160], *text;
	int g[2], w[2], fds[2], file, status;
	pid_t pid;
	json_t *o;

	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_agent_report.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	memset(&c, 0, sizeof c);
	c.mode = AGENT_ENFORCE;
	c.device_id = "dev-1";
	c.firmware = "fw9";
	c.state = tmpdir;
	c.user = "";
	c.heartbeat_s = 1;
	c.scan_max_size = 1 << 20;
	c.scan_timeout_ms = 500;
	c.quarantine_max = 1 << 20;
	snprintf(path, sizeof path, "%s/abc", tmpdir);
	file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(file >= 0);
	assert_int_equal(write(file, "abc", 3), 3);

	assert_int_equal(mm_ipc_pair(g), 0);
	assert_int_equal(mm_ipc_pair(w), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(g[0]);
		close(w[0]);
		fds[0] = g[1];
		fds[1] = w[1];
		/* _exit: the sandbox forbids what the leak checker does at exit. */
		_exit(report_run(&c, fds, 2) == 0 ? 0 : 1);
	}
	close(g[1]);
	close(w[1]);

	/* A scan is answered with the same id and the file's hash. */
	assert_int_equal(mm_ipc_send(g[0], AGENT_MSG_SCAN, 99, &q, sizeof q, file), 0);
	pfd.fd = g[0];
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(mm_ipc_recv(g[0], &m), 0);
	assert_int_equal(m.hdr.id, 99);
	assert_non_null(res = mm_ipc_payload(&m, AGENT_MSG_SCAN_RESULT, sizeof *res));
	assert_int_equal(res->status, AGENT_SCAN_OK);
	assert_int_equal(res->size, 3);
	{
		char hex[65];
		mm_hex(res->sha256, 32, hex);
		assert_string_equal(hex, ABC_HEX);
	}

	/* A bad finding is dropped; a good one is hashed and quarantined. */
	base_finding(&f, "guard.exec.denied");
	f.action = 9;
	assert_int_equal(mm_ipc_send(w[0], AGENT_MSG_FINDING, 0, &f, sizeof f, -1), 0);
	assert_int_equal(mm_ipc_send(w[0], AGENT_MSG_FINDING, 0, &f, 10, -1), 0);
	base_finding(&f, "guard.exec.denied");
	f.action = AGENT_ACT_DENIED;
	f.quarantine = 1;
	snprintf(f.reason, sizeof f.reason, "writable");
	snprintf(f.attack[0], sizeof f.attack[0], "T1105");
	snprintf(f.path, sizeof f.path, "%s", path);
	f.pid = 5;
	assert_int_equal(mm_ipc_send(g[0], AGENT_MSG_FINDING, 0, &f, sizeof f, file), 0);
	{
		struct agent_stats st;
		memset(&st, 0, sizeof st);
		snprintf(st.part, sizeof st.part, "guard");
		st.counters[2] = 17;
		assert_int_equal(mm_ipc_send(g[0], AGENT_MSG_STATS, 0, &st, sizeof st, -1), 0);
	}

	/* start, finding, heartbeat (after a second) */
	snprintf(qpath, sizeof qpath, "%s/events.jsonl", tmpdir);
	text = read_events(qpath, 3);
	o = line_json(text, 0);
	assert_string_equal(jstr(o, "event", NULL), "guard.agent.start");
	assert_string_equal(jstr(o, "detail", "mode"), "enforce");
	assert_true(json_is_false(json_object_get(json_object_get(o, "detail"), "yara")));
	json_decref(o);
	o = line_json(text, 1);
	assert_string_equal(jstr(o, "event", NULL), "guard.exec.denied");
	assert_string_equal(jstr(o, "host", NULL), "dev-1");
	assert_string_equal(jstr(o, "device", "fw"), "fw9");
	assert_string_equal(jstr(o, "file", "sha256"), ABC_HEX);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "file"), "size")), 3);
	assert_string_equal(jstr(o, "quarantine", "sha256"), ABC_HEX);
	snprintf(qpath, sizeof qpath, "%s/quarantine/%s", tmpdir, ABC_HEX);
	assert_string_equal(jstr(o, "quarantine", "path"), qpath);
	json_decref(o);
	{
		struct stat st;
		assert_int_equal(stat(qpath, &st), 0);
		assert_int_equal(st.st_size, 3);
		assert_int_equal(st.st_mode & 0777, 0400);
	}
	o = line_json(text, 2);
	assert_string_equal(jstr(o, "event", NULL), "guard.agent.heartbeat");
	{
		json_t *d = json_object_get(o, "detail");
		json_t *gd = json_object_get(d, "guard"), *rp = json_object_get(d, "report");
		assert_int_equal(json_integer_value(json_object_get(gd, "denied")), 17);
		assert_int_equal(json_integer_value(json_object_get(gd, "allowed")), 0);
		assert_int_equal(json_integer_value(json_object_get(rp, "invalid")), 2);
		assert_int_equal(json_integer_value(json_object_get(rp, "findings")), 1);
		assert_int_equal(json_integer_value(json_object_get(rp, "scans")), 1);
		assert_int_equal(json_integer_value(json_object_get(rp, "quarantined")), 1);
		assert_null(json_object_get(d, "watch"));
	}
	json_decref(o);

	/* One peer gone, the other still served; both gone: stop. */
	close(w[0]);
	assert_int_equal(mm_ipc_send(g[0], AGENT_MSG_SCAN, 100, &q, sizeof q, file), 0);
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(mm_ipc_recv(g[0], &m), 0);
	assert_int_equal(m.hdr.id, 100);
	close(g[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	snprintf(qpath, sizeof qpath, "%s/events.jsonl", tmpdir);
	text = read_events(qpath, 4);
	{
		const char *last = text + strlen(text) - 1;
		while (last > text && last[-1] != '\n')
			last--;
		assert_non_null(o = json_loads(last, 0, NULL));
	}
	assert_string_equal(jstr(o, "event", NULL), "guard.agent.stop");
	assert_string_equal(jstr(o, "detail", "reason"), "peers closed");
	json_decref(o);
	close(file);
	rm_rf(tmpdir);
}

/* SIGTERM stops it with a stop event whose reason says so. */
static void test_run_sigterm(void **state)
{
	struct agent_conf c;
	char path[128], *text, *last;
	int g[2], status;
	pid_t pid;
	json_t *o;

	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_agent_report.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	memset(&c, 0, sizeof c);
	c.device_id = "dev-2";
	c.state = tmpdir;
	c.heartbeat_s = 3600;
	c.quarantine_max = 1 << 20;
	assert_int_equal(mm_ipc_pair(g), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(g[0]);
		_exit(report_run(&c, &g[1], 1) == 0 ? 0 : 1);
	}
	close(g[1]);
	snprintf(path, sizeof path, "%s/events.jsonl", tmpdir);
	text = read_events(path, 1);
	assert_non_null(strstr(text, "\"event\":\"guard.agent.start\""));
	assert_non_null(strstr(text, "\"mode\":\"monitor\""));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	text = read_events(path, 2);
	last = strchr(text, '\n') + 1;
	assert_non_null(o = json_loads(last, JSON_DISABLE_EOF_CHECK, NULL));
	assert_string_equal(jstr(o, "event", NULL), "guard.agent.stop");
	assert_string_equal(jstr(o, "detail", "reason"), "signal");
	json_decref(o);
	close(g[0]);
	rm_rf(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_denied_enforce),
		cmocka_unit_test(test_behaviour_monitor),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_fields_table),
		cmocka_unit_test(test_detail_merge),
		cmocka_unit_test(test_not_utf8),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_run_sigterm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
