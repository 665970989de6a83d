/*
 * Unit tests of the alert rules (soc/alert.c): rules read from their config
 * lines and bad ones refused with a message that names rule and key;
 * counting in a sliding window per group with explicit receive times, one
 * alert per group, suppression; and the actions against real receivers in
 * this process: an HTTP server that takes the webhook POSTs, a command that
 * writes its standard input to a file, a UDP socket that takes the syslog
 * message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "alert.h"
#include "soc.h"
#include "mamori/error.h"
#include "mamori/syslog.h"

/* ---- helpers ---- */

/* Sets the rule's keys from "key=value" lines; fails the test on an error. */
static void rule(struct alert *a, const char *name, const char *const *lines)
{
	char err[256];
	int i;

	for (i = 0; lines[i]; i++) {
		char key[64];
		const char *eq = strchr(lines[i], '=');

		assert_non_null(eq);
		assert_true((size_t)(eq - lines[i]) < sizeof key);
		memcpy(key, lines[i], (size_t)(eq - lines[i]));
		key[eq - lines[i]] = '\0';
		if (alert_rule_set(a, name, key, eq + 1, err, sizeof err) < 0)
			fail_msg("%s: %s", lines[i], err);
	}
}

/* An X.1367 event as the writer hands it over. */
static struct soc_event x1367(int64_t id, int64_t recv_ms, const char *device,
			      const char *requester, int code)
{
	struct soc_event ev;

	memset(&ev, 0, sizeof ev);
	ev.id = id;
	ev.recv_ms = ev.time_ms = recv_ms;
	ev.transport = SOC_TCP;
	ev.peer = "192.0.2.9:5140";
	ev.peer_addr = "192.0.2.9";
	ev.device = device;
	ev.hostname = device;
	ev.format = 5424;
	ev.kind = SOC_KIND_X1367;
	ev.type = "x1367";
	ev.code = code;
	ev.category = code >> 4 <= 4 ? code >> 4 : 5;
	ev.protocol = "Modbus/TCP";
	ev.reporter = "192.0.2.9";
	ev.requester = requester;
	ev.responder = "0001";
	ev.msg = "{}";
	ev.msg_len = 2;
	return ev;
}

static void feed(struct alert *a, int64_t id, int64_t sec, const char *device,
		 const char *requester, int code)
{
	struct soc_event ev = x1367(id, 1700000000000LL + sec * 1000, device, requester, code);

	alert_event(a, &ev);
}

/* ---- rules from text ---- */

static void test_rules_refused(void **state)
{
	static const struct {
		const char *key, *value, *want;
	} bad[] = {
		{"colour", "red", "alert r: unknown key 'colour'"},
		{"code", "0x1g", "bad code list '0x1g'"},
		{"code", "0x30-0x20", "bad code list"},
		{"code", "0x100", "bad code list"},
		{"category", "secure", "unknown category 'secure'"},
		{"count", "0", "count must be 1.."},
		{"count", "3x", "count must be 1.."},
		{"window", "-5", "window must be"},
		{"suppress", "soon", "suppress must be"},
		{"group_by", "device,colour", "bad group_by"},
		{"group_by", "device,device", "bad group_by"},
		{"severity", "loud", "unknown severity 'loud'"},
		{"action", "email root", "unknown action 'email'"},
		{"action", "syslog tls://127.0.0.1:6514", "syslog wants udp://"},
		{"action", "webhook ftp://x/y", "webhook wants an http://"},
		{"action", "command bin/true", "absolute path"},
		{"action", "command /nonexistent/prog", "/nonexistent/prog"},
		{"action", "command /bin/sh -c 'x", "unterminated quote"},
		{"action", "log now", "log takes no argument"},
		{"webhook_header", "NoColon", "webhook_header wants 'Name: value'"},
	};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct alert *a;

		assert_int_equal(alert_new(&a), 0);
		err[0] = '\0';
		assert_int_equal(alert_rule_set(a, "r", bad[i].key, bad[i].value, err, sizeof err),
				 MM_EINVAL);
		if (strstr(err, bad[i].want) == NULL || strstr(err, "alert r") == NULL)
			fail_msg("%s = %s: got '%s', want '%s'", bad[i].key, bad[i].value, err,
				 bad[i].want);
		alert_free(a);
	}

	/* A key given twice, a rule without action, a header without webhook. */
	{
		struct alert *a;

		assert_int_equal(alert_new(&a), 0);
		assert_int_equal(alert_rule_set(a, "twice", "count", "2", err, sizeof err), 0);
		assert_int_equal(alert_rule_set(a, "twice", "count", "3", err, sizeof err),
				 MM_EINVAL);
		assert_string_equal(err, "alert twice: count given twice");
		assert_int_equal(alert_check(a, err, sizeof err), MM_EINVAL);
		assert_non_null(strstr(err, "alert twice: no action"));
		alert_free(a);

		assert_int_equal(alert_new(&a), 0);
		rule(a, "hdr", (const char *const[]){"action=log", "webhook_header=X-A: b", NULL});
		assert_int_equal(alert_check(a, err, sizeof err), MM_EINVAL);
		assert_non_null(strstr(err, "webhook_header without a webhook"));
		alert_free(a);
	}
}

static void test_rules_accepted(void **state)
{
	char err[256];
	struct alert *a;

	(void)state;
	assert_int_equal(alert_new(&a), 0);
	rule(a, "auth", (const char *const[]){
		"type=x1367", "code=0x20, 21,0x2e-0x2f", "category=security", "device=cam-*",
		"protocol=Modbus/TCP", "count=5", "window=300", "group_by=requester, protocol",
		"suppress=600", "severity=crit", "max_groups=10", "timeout=3",
		"action=log", "action=syslog udp://127.0.0.1:514",
		"action=webhook http://127.0.0.1:9/hook", "webhook_header=Authorization: Bearer x",
		"action=command /bin/sh -c \"cat > /dev/null\"", NULL});
	rule(a, "guard", (const char *const[]){"type=guard.*", "severity=3", "action=log", NULL});
	assert_int_equal(alert_check(a, err, sizeof err), 0);
	alert_free(a);
}

/* ---- counting, windows, groups, suppression ---- */

static void test_count_window_suppress(void **state)
{
	uint64_t alerts0 = soc_counter_get(SOC_C_ALERTS);
	uint64_t supp0 = soc_counter_get(SOC_C_ALERTS_SUPPRESSED);
	char err[256];
	struct alert *a;

	(void)state;
	assert_int_equal(alert_new(&a), 0);
	rule(a, "sec", (const char *const[]){"type=x1367", "category=security", "count=3",
					     "window=10", "group_by=requester", "action=log",
					     NULL});
	assert_int_equal(alert_check(a, err, sizeof err), 0);

	/* A: 0 s, 4 s, then 11 s: the first left the window, only two remain. */
	feed(a, 1, 0, "cam-1", "10.0.0.66", 0x20);
	feed(a, 2, 4, "cam-1", "10.0.0.66", 0x21);
	feed(a, 3, 11, "cam-2", "10.0.0.66", 0x20);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS) - alerts0, 0);
	/* A Command error of A does not count for a Security rule. */
	feed(a, 4, 12, "cam-1", "10.0.0.66", 0x30);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS) - alerts0, 0);
	/* 4 s, 11 s, 12 s: three inside 10 s: one alert. */
	feed(a, 5, 12, "cam-1", "10.0.0.66", 0x22);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS) - alerts0, 1);
	/* Three more of A within the suppression (until 22 s): none raised. */
	feed(a, 6, 13, "cam-1", "10.0.0.66", 0x20);
	feed(a, 7, 14, "cam-1", "10.0.0.66", 0x20);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS_SUPPRESSED) - supp0, 0);
	feed(a, 8, 15, "cam-1", "10.0.0.66", 0x20);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS) - alerts0, 1);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS_SUPPRESSED) - supp0, 1);
	/* Another requester is another group. */
	feed(a, 9, 15, "cam-1", "10.0.0.77", 0x20);
	feed(a, 10, 15, "cam-1", "10.0.0.77", 0x20);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS) - alerts0, 1);
	feed(a, 11, 16, "cam-3", "10.0.0.77", 0x23);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS) - alerts0, 2);
	/* After the suppression A alerts again. */
	alert_tick(a, 1700000000000LL + 40000);
	feed(a, 12, 41, "cam-1", "10.0.0.66", 0x20);
	feed(a, 13, 42, "cam-1", "10.0.0.66", 0x20);
	feed(a, 14, 43, "cam-1", "10.0.0.66", 0x20);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS) - alerts0, 3);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS_SUPPRESSED) - supp0, 1);
	alert_free(a);
}

static void test_group_bound(void **state)
{
	uint64_t alerts0 = soc_counter_get(SOC_C_ALERTS);
	struct alert_stats st;
	char err[256];
	struct alert *a;

	(void)state;
	assert_int_equal(alert_new(&a), 0);
	rule(a, "any", (const char *const[]){"code=0x30", "count=2", "window=5", "max_groups=2",
					     "action=log", NULL});
	assert_int_equal(alert_check(a, err, sizeof err), 0);
	feed(a, 1, 0, "d1", "r", 0x30);
	feed(a, 2, 0, "d2", "r", 0x30);
	feed(a, 3, 0, "d3", "r", 0x30); /* a third group does not fit */
	feed(a, 4, 1, "d3", "r", 0x30);
	alert_get_stats(a, &st);
	assert_int_equal(st.groups_dropped, 2);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS) - alerts0, 0);
	/* Once the window passed the tick frees the old groups. */
	alert_tick(a, 1700000000000LL + 6000);
	feed(a, 5, 6, "d3", "r", 0x30);
	feed(a, 6, 7, "d3", "r", 0x30);
	alert_get_stats(a, &st);
	assert_int_equal(st.groups_dropped, 2);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS) - alerts0, 1);
	alert_free(a);
}

static void test_notify(void **state)
{
	uint64_t alerts0 = soc_counter_get(SOC_C_ALERTS);
	char err[256];
	struct alert *a;
	json_t *d;

	(void)state;
	assert_int_equal(alert_new(&a), 0);
	rule(a, "quiet", (const char *const[]){"type=soc.finding.opened", "kind=no-response",
					       "action=log", NULL});
	rule(a, "incident", (const char *const[]){"type=soc.incident.*", "group_by=key",
						  "action=log", NULL});
	assert_int_equal(alert_check(a, err, sizeof err), 0);
	d = json_pack("{s:s}", "kind", "certificate-shared");
	alert_notify(a, "soc.finding.opened", "cam-1", "fp", d);
	json_decref(d);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS) - alerts0, 0);
	d = json_pack("{s:s}", "kind", "no-response");
	alert_notify_fn(a, "soc.finding.opened", "cam-1", "cam-1", d);
	alert_notify(a, "soc.finding.opened", "cam-1", "cam-1", d); /* same group: once */
	alert_notify(a, "soc.finding.opened", "cam-2", "cam-2", d);
	json_decref(d);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS) - alerts0, 2);
	alert_notify(a, "soc.incident.opened", NULL, "10.0.0.66", NULL);
	alert_notify(a, "soc.incident.opened", NULL, "10.0.0.67", NULL);
	assert_int_equal(soc_counter_get(SOC_C_ALERTS) - alerts0, 4);
	alert_free(a);
}

/* ---- a webhook receiver: a small HTTP/1.1 server on loopback ---- */

#define HOOK_MAX 16

struct hook {
	int lfd;
	int port;
	volatile int stop;
	pthread_t thread;
	pthread_mutex_t lock;
	int n;
	char path[HOOK_MAX][64];
	char ctype[HOOK_MAX][128];
	char extra[HOOK_MAX][128];
	char *body[HOOK_MAX];
};

/* The value of header name in the head (NUL-terminated) into out. */
static void header(const char *head, const char *name, char *out, size_t size)
{
	const char *p = head;
	size_t n = strlen(name);

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, size, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
			return;
		}
	}
}

static void hook_serve(struct hook *h, int fd)
{
	char buf[65536], cl[32], path[64] = "";
	size_t len = 0, want = 0;
	char *end = NULL;
	const char *reply;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			goto out;
		r = read(fd, buf + len, sizeof buf - 1 - len);
		if (r <= 0)
			goto out;
		len += (size_t)r;
		buf[len] = '\0';
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			*end = '\0';
			header(buf, "Content-Length", cl, sizeof cl);
			want = (size_t)(end - buf) + 4 + strtoul(cl, NULL, 10);
		}
		if (end && len >= want)
			break;
		if (len == sizeof buf - 1)
			goto out;
	}
	sscanf(buf, "POST %63s", path);
	pthread_mutex_lock(&h->lock);
	if (h->n < HOOK_MAX) {
		snprintf(h->path[h->n], sizeof h->path[0], "%s", path);
		header(buf, "Content-Type", h->ctype[h->n], sizeof h->ctype[0]);
		header(buf, "X-Mamori-Test", h->extra[h->n], sizeof h->extra[0]);
		h->body[h->n] = strndup(end + 4, want - (size_t)(end + 4 - buf));
		h->n++;
	}
	pthread_mutex_unlock(&h->lock);
	reply = strcmp(path, "/fail") == 0
			? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
			: "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
	if (write(fd, reply, strlen(reply)) < 0)
		goto out;
out:
	close(fd);
}

static void *hook_thread(void *arg)
{
	struct hook *h = arg;

	while (!h->stop) {
		struct pollfd p = {.fd = h->lfd, .events = POLLIN};
		int fd;

		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((fd = accept(h->lfd, NULL, NULL)) >= 0)
			hook_serve(h, fd);
	}
	return NULL;
}

static void hook_start(struct hook *h)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof sin;

	memset(h, 0, sizeof *h);
	pthread_mutex_init(&h->lock, NULL);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(h->lfd >= 0);
	assert_int_equal(bind(h->lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(h->lfd, 16), 0);
	assert_int_equal(getsockname(h->lfd, (struct sockaddr *)&sin, &sl), 0);
	h->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&h->thread, NULL, hook_thread, h), 0);
}

static void hook_stop(struct hook *h)
{
	h->stop = 1;
	pthread_join(h->thread, NULL);
	close(h->lfd);
}

static void hook_free(struct hook *h)
{
	int i;

	for (i = 0; i < h->n; i++)
		free(h->body[i]);
	pthread_mutex_destroy(&h->lock);
}

/* Checks one alert body: rule, group, count, window, times and event ids. */
static void check_alert(const char *text, const char *rulename, const char *field,
			const char *value, int count, const int64_t *ids)
{
	json_error_t je;
	json_t *o = json_loads(text, 0, &je), *ev;
	size_t i;

	if (o == NULL)
		fail_msg("alert JSON: %s: %s", je.text, text);
	assert_string_equal(json_string_value(json_object_get(o, "rule")), rulename);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "group"), field)),
			    value);
	assert_int_equal(json_object_size(json_object_get(o, "group")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "count")), count);
	assert_int_equal(json_integer_value(json_object_get(o, "window")), 60);
	assert_string_equal(json_string_value(json_object_get(o, "severity")), "warning");
	assert_true(json_is_string(json_object_get(o, "first_time")));
	assert_true(json_is_string(json_object_get(o, "last_time")));
	ev = json_object_get(o, "events");
	assert_int_equal(json_array_size(ev), (size_t)count);
	for (i = 0; i < json_array_size(ev); i++) {
		json_t *e = json_array_get(ev, i);

		assert_int_equal(json_integer_value(json_object_get(e, "id")), ids[i]);
		assert_string_equal(json_string_value(json_object_get(e, "type")), "x1367");
		assert_string_equal(json_string_value(json_object_get(e, "device")), value);
	}
	json_decref(o);
}

static void test_webhook(void **state)
{
	uint64_t failed0 = soc_counter_get(SOC_C_ALERT_ACTIONS_FAILED);
	char err[256], url[128], furl[128];
	struct hook h;
	struct alert *a;
	int i;

	(void)state;
	hook_start(&h);
	snprintf(url, sizeof url, "action=webhook http://127.0.0.1:%d/hook", h.port);
	snprintf(furl, sizeof furl, "action=webhook http://127.0.0.1:%d/fail", h.port);
	assert_int_equal(alert_new(&a), 0);
	rule(a, "cmd", (const char *const[]){"code=0x30-0x3f", "count=2", url,
					     "webhook_header=X-Mamori-Test: yes", NULL});
	rule(a, "failing", (const char *const[]){"code=0x42", furl, NULL});
	assert_int_equal(alert_check(a, err, sizeof err), 0);
	assert_int_equal(alert_start(a), 0);
	/* cam-1: five errors (an alert at the second, the fourth suppressed);
	 * cam-2: two (an alert); cam-3: one (none). */
	for (i = 0; i < 5; i++)
		feed(a, 100 + i, i, "cam-1", "10.0.0.66", 0x30);
	feed(a, 200, 1, "cam-2", "10.0.0.66", 0x31);
	feed(a, 201, 2, "cam-2", "10.0.0.66", 0x31);
	feed(a, 300, 1, "cam-3", "10.0.0.66", 0x31);
	feed(a, 400, 1, "cam-4", "10.0.0.66", 0x42);
	alert_free(a); /* waits for the queued actions */
	hook_stop(&h);

	assert_int_equal(h.n, 3);
	for (i = 0; i < h.n; i++) {
		if (strcmp(h.path[i], "/fail") == 0)
			continue;
		assert_string_equal(h.path[i], "/hook");
		assert_string_equal(h.ctype[i], "application/json");
		assert_string_equal(h.extra[i], "yes");
	}
	/* The actions run in order: cam-1's alert was queued first. */
	assert_string_equal(h.path[0], "/hook");
	check_alert(h.body[0], "cmd", "device", "cam-1", 2, (const int64_t[]){100, 101});
	assert_string_equal(h.path[1], "/hook");
	check_alert(h.body[1], "cmd", "device", "cam-2", 2, (const int64_t[]){200, 201});
	assert_string_equal(h.path[2], "/fail");
	assert_string_equal(h.extra[2], "");
	assert_int_equal(soc_counter_get(SOC_C_ALERT_ACTIONS_FAILED) - failed0, 1);
	hook_free(&h);
}

/* ---- command ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

static void test_command(void **state)
{
	uint64_t failed0 = soc_counter_get(SOC_C_ALERT_ACTIONS_FAILED);
	char dir[] = "/tmp/mamori-alert-XXXXXX", out[128], line[256], err[256];
	struct alert *a;
	char *text;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(out, sizeof out, "%s/alert.json", dir);
	snprintf(line, sizeof line, "action=command /bin/sh -c \"cat > '%s'\"", out);
	assert_int_equal(alert_new(&a), 0);
	rule(a, "write", (const char *const[]){"code=0x21", "group_by=device,requester", line,
					       NULL});
	rule(a, "exit3", (const char *const[]){"code=0x40", "action=command /bin/sh -c 'exit 3'",
					       NULL});
	rule(a, "slow", (const char *const[]){"code=0x41", "timeout=1",
					      "action=command /bin/sleep 30", NULL});
	assert_int_equal(alert_check(a, err, sizeof err), 0);
	assert_int_equal(alert_start(a), 0);
	feed(a, 7, 0, "gw-2", "10.0.0.66", 0x21);
	feed(a, 8, 0, "gw-2", "10.0.0.66", 0x40);
	feed(a, 9, 0, "gw-2", "10.0.0.66", 0x41);
	alert_free(a);

	text = slurp(out);
	assert_non_null(text);
	{
		json_t *o = json_loads(text, 0, NULL), *g;

		assert_non_null(o);
		assert_string_equal(json_string_value(json_object_get(o, "rule")), "write");
		g = json_object_get(o, "group");
		assert_string_equal(json_string_value(json_object_get(g, "device")), "gw-2");
		assert_string_equal(json_string_value(json_object_get(g, "requester")),
				    "10.0.0.66");
		assert_int_equal(json_integer_value(json_object_get(
				     json_array_get(json_object_get(o, "events"), 0), "id")),
				 7);
		assert_string_equal(json_string_value(json_object_get(
					    json_array_get(json_object_get(o, "events"), 0), "code")),
				    "0x21");
		json_decref(o);
	}
	free(text);
	/* exit 3 and the killed sleep both failed. */
	assert_int_equal(soc_counter_get(SOC_C_ALERT_ACTIONS_FAILED) - failed0, 2);
	unlink(out);
	rmdir(dir);
}

/* ---- syslog over UDP ---- */

static void test_syslog_udp(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof sin;
	char line[128], err[256], buf[65536];
	struct mm_syslog_msg m;
	struct pollfd p;
	struct alert *a;
	json_t *o;
	ssize_t n;
	int fd;

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(line, sizeof line, "action=syslog udp://127.0.0.1:%d", ntohs(sin.sin_port));
	assert_int_equal(alert_new(&a), 0);
	rule(a, "fwd", (const char *const[]){"type=x1367", "severity=crit",
					     "group_by=protocol", line, NULL});
	assert_int_equal(alert_check(a, err, sizeof err), 0);
	assert_int_equal(alert_start(a), 0);
	feed(a, 55, 0, "cam-9", "10.0.0.66", 0x10);
	alert_free(a);

	p = (struct pollfd){.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 5000), 1);
	n = recv(fd, buf, sizeof buf, 0);
	assert_true(n > 0);
	close(fd);
	assert_int_equal(mm_syslog_parse(buf, (size_t)n, MM_SYSLOG_ONLY_5424, &m), 0);
	assert_int_equal(m.facility, 13);
	assert_int_equal(m.severity, 2);
	assert_int_equal(m.msgid.len, 9);
	assert_memory_equal(m.msgid.p, "soc.alert", 9);
	assert_int_equal(m.app_name.len, 10);
	assert_memory_equal(m.app_name.p, "mamori-soc", 10);
	o = json_loadb(m.msg.p, m.msg.len, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "rule")), "fwd");
	assert_string_equal(json_string_value(json_object_get(o, "severity")), "crit");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(o, "group"), "protocol")),
		"Modbus/TCP");
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_refused),
		cmocka_unit_test(test_rules_accepted),
		cmocka_unit_test(test_count_window_suppress),
		cmocka_unit_test(test_group_bound),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_webhook),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_syslog_udp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
