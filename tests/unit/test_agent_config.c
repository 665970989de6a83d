/*
 * mamorid's configuration: the built-in defaults are the documented ones,
 * every key of a full file lands in its field, lists are split and checked,
 * enums take only their words, and each bad file is refused with the line
 * of the key at fault. The shipped data/mamorid.conf equals the defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mamori/conf.h"
#include "mamori/error.h"

#include "agent.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[] = "/tmp/test_agent_config.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[256];

	(void)state;
	snprintf(path, sizeof path, "%s/c.conf", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

/* Writes text to a file of the temporary folder and returns its path. */
static const char *write_conf(const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/c.conf", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	return path;
}

static void assert_list(const struct agent_list *l, const char *const *want, size_t n)
{
	size_t i;

	assert_int_equal(l->n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(l->v[i], want[i]);
}

#define ASSERT_LIST(l, ...)                                                                        \
	do {                                                                                       \
		static const char *const w_[] = {__VA_ARGS__};                                     \
		assert_list(&(l), w_, N(w_));                                                      \
	} while (0)

/* The value of VERSION_ID in /etc/os-release, read here independently. */
static void os_version(char *out, size_t size)
{
	char line[512];
	FILE *f = fopen("/etc/os-release", "r");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *v;
		size_t n;

		if (strncmp(line, "VERSION_ID=", 11) != 0)
			continue;
		v = line + 11;
		n = strcspn(v, "\n");
		v[n] = '\0';
		if (n >= 2 && (v[0] == '"' || v[0] == '\'')) {
			v[n - 1] = '\0';
			v++;
		}
		n = strlen(v) < size ? strlen(v) : size - 1;
		memcpy(out, v, n);
		out[n] = '\0';
	}
	fclose(f);
}

static void check_defaults(const struct agent_conf *c)
{
	char host[256] = "", fw[128];

	assert_int_equal(gethostname(host, sizeof host - 1), 0);
	os_version(fw, sizeof fw);
	assert_int_equal(c->mode, AGENT_MONITOR);
	assert_int_equal(c->fallback, AGENT_FALLBACK_AUTO);
	assert_string_equal(c->device_id, host);
	assert_string_equal(c->firmware, fw);
	assert_string_equal(c->state, "/var/lib/mamori");
	assert_null(c->soc);
	assert_string_equal(c->user, "nobody");
	assert_int_equal(c->heartbeat_s, 60);
	assert_int_equal(c->watch.n, 0);
	assert_string_equal(c->root, "/");
	ASSERT_LIST(c->deny_fstypes, "tmpfs", "ramfs");
	ASSERT_LIST(c->deny_paths, "/tmp", "/var/tmp", "/var/run", "/run", "/dev", "/dev/shm");
	assert_int_equal(c->allow_paths.n, 0);
	assert_int_equal(c->deny_overlay_upper, 1);
	assert_null(c->feed);
	assert_null(c->baseline);
	assert_int_equal(c->allowlist, 0);
	assert_null(c->yara_rules);
	assert_int_equal(c->scan_timeout_ms, 500);
	assert_int_equal(c->on_timeout_deny, 0);
	assert_int_equal(c->scan_max_size, 64LL << 20);
	assert_int_equal(c->cache_size, 4096);
	assert_int_equal(c->max_pending, 256);
	assert_int_equal(c->behaviour, 1);
	assert_int_equal(c->sweep_s, 10);
	ASSERT_LIST(c->watchdogs, "/dev/watchdog", "/dev/watchdog0", "/dev/misc/watchdog");
	assert_int_equal(c->watchdog_allow.n, 0);
	assert_int_equal(c->expect_listen.n, 0);
	ASSERT_LIST(c->deny_listen, "*:48101");
	assert_int_equal(c->raw_allow.n, 0);
	ASSERT_LIST(c->scan_ports, "23", "2323");
	assert_int_equal(c->scan_burst, 10);
	assert_int_equal(c->scan_window_s, 10);
	ASSERT_LIST(c->services, "telnetd", "sshd", "dropbear", "mamorid");
	assert_int_equal(c->name_allow.n, 0);
	assert_int_equal(c->detect, 1);
	assert_int_equal(c->detect_interval_s, 60);
	assert_null(c->profile);
	assert_null(c->custom_file);
	assert_null(c->custom_command);
	assert_int_equal(c->custom_timeout_s, 5);
	assert_int_equal(c->report_format, 0);
	assert_int_equal(c->send_metrics, 0);
	assert_int_equal(c->audit, 1);
	assert_int_equal(c->audit_interval_s, 86400);
	assert_null(c->credentials);
	assert_int_equal(c->certs.n, 0);
	assert_int_equal(c->cert_days, 30);
	assert_int_equal(c->setuid_allow.n, 0);
	assert_null(c->support_end);
	assert_int_equal(c->inventory, 1);
	assert_int_equal(c->inventory_interval_s, 3600);
	assert_null(c->quarantine);
	assert_int_equal(c->quarantine_max, 64LL << 20);
	assert_int_equal(c->spool_max, 16LL << 20);
	assert_string_equal(c->spool_sync, "interval=100");
}

static void defaults(void **state)
{
	struct agent_conf c;

	(void)state;
	conf_defaults(&c);
	check_defaults(&c);
	assert_null(c.conf_path);
	conf_free(&c);
	assert_null(c.state);
	assert_int_equal(c.deny_paths.n, 0);
}

/* The policy shipped in data/ says exactly what the built-in one does. */
static void shipped_file_is_the_defaults(void **state)
{
	struct agent_conf c;
	struct mm_conf_err e;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, MAMORI_SRCDIR "/data/mamorid.conf", &e), 0);
	check_defaults(&c);
	assert_string_equal(c.conf_path, MAMORI_SRCDIR "/data/mamorid.conf");
	conf_free(&c);
}

static void full_file(void **state)
{
	const char *text = "# every key\n"
			   "[agent]\n"
			   "mode = enforce\n"
			   "fallback = yes\n"
			   "device_id = cam-0042\n"
			   "firmware = 3.1.4 beta\n"
			   "state = /srv/mamori\n"
			   "soc = relp://soc.example:2514\n"
			   "user = mamori\n"
			   "heartbeat = 30\n"
			   "watch = /, /data\n"
			   "[policy]\n"
			   "root = /rootfs\n"
			   "deny_fstypes = tmpfs\n"
			   "deny_paths = /tmp,/data/upload\n"
			   "allow_paths = /tmp/ok\n"
			   "deny_overlay_upper = no\n"
			   "feed = /etc/mamori/feed.txt\n"
			   "baseline = /etc/mamori/baseline.txt\n"
			   "allowlist = yes\n"
			   "yara_rules = /etc/mamori/mirai.yar\n"
			   "scan_timeout = 250\n"
			   "on_timeout = deny\n"
			   "scan_max_size = 8M\n"
			   "cache_size = 0x100\n"
			   "max_pending = 64\n"
			   "[behaviour]\n"
			   "enabled = off\n"
			   "sweep_interval = 5\n"
			   "watchdog_devices = /dev/watchdog1\n"
			   "watchdog_allow = /sbin/watchdogd /usr/sbin/wdt\n"
			   "expect_listen = 0.0.0.0:80 [::1]:8080 *:22\n"
			   "deny_listen = 127.0.0.1:48101\n"
			   "raw_socket_allow = /bin/ping\n"
			   "scan_ports = 23\n"
			   "scan_burst = 20\n"
			   "scan_window = 30\n"
			   "services = telnetd\n"
			   "name_allow = /bin/busybox\n"
			   "[quarantine]\n"
			   "dir = /srv/q\n"
			   "max_size = 1G\n"
			   "[spool]\n"
			   "max_size = 2M\n"
			   "sync = always\n";
	struct agent_conf c;
	struct mm_conf_err e;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, write_conf(text), &e), 0);
	assert_int_equal(c.mode, AGENT_ENFORCE);
	assert_int_equal(c.fallback, AGENT_FALLBACK_YES);
	assert_string_equal(c.device_id, "cam-0042");
	assert_string_equal(c.firmware, "3.1.4 beta");
	assert_string_equal(c.state, "/srv/mamori");
	assert_string_equal(c.soc, "relp://soc.example:2514");
	assert_string_equal(c.user, "mamori");
	assert_int_equal(c.heartbeat_s, 30);
	ASSERT_LIST(c.watch, "/", "/data");
	assert_string_equal(c.root, "/rootfs");
	ASSERT_LIST(c.deny_fstypes, "tmpfs");
	ASSERT_LIST(c.deny_paths, "/tmp", "/data/upload");
	ASSERT_LIST(c.allow_paths, "/tmp/ok");
	assert_int_equal(c.deny_overlay_upper, 0);
	assert_string_equal(c.feed, "/etc/mamori/feed.txt");
	assert_string_equal(c.baseline, "/etc/mamori/baseline.txt");
	assert_int_equal(c.allowlist, 1);
	assert_string_equal(c.yara_rules, "/etc/mamori/mirai.yar");
	assert_int_equal(c.scan_timeout_ms, 250);
	assert_int_equal(c.on_timeout_deny, 1);
	assert_int_equal(c.scan_max_size, 8LL << 20);
	assert_int_equal(c.cache_size, 256);
	assert_int_equal(c.max_pending, 64);
	assert_int_equal(c.behaviour, 0);
	assert_int_equal(c.sweep_s, 5);
	ASSERT_LIST(c.watchdogs, "/dev/watchdog1");
	ASSERT_LIST(c.watchdog_allow, "/sbin/watchdogd", "/usr/sbin/wdt");
	ASSERT_LIST(c.expect_listen, "0.0.0.0:80", "[::1]:8080", "*:22");
	ASSERT_LIST(c.deny_listen, "127.0.0.1:48101");
	ASSERT_LIST(c.raw_allow, "/bin/ping");
	ASSERT_LIST(c.scan_ports, "23");
	assert_int_equal(c.scan_burst, 20);
	assert_int_equal(c.scan_window_s, 30);
	ASSERT_LIST(c.services, "telnetd");
	ASSERT_LIST(c.name_allow, "/bin/busybox");
	assert_string_equal(c.quarantine, "/srv/q");
	assert_int_equal(c.quarantine_max, 1LL << 30);
	assert_int_equal(c.spool_max, 2LL << 20);
	assert_string_equal(c.spool_sync, "always");
	conf_free(&c);
}

/* What a key is left out of the file keeps, and what "none" or "" mean. */
static void partial_and_none(void **state)
{
	static const struct {
		const char *text;
		int soc_null, feed_null, deny_paths_n, mode;
		const char *sync;
	} cases[] = {
		{"", 1, 1, 6, AGENT_MONITOR, "interval=100"},
		{"[agent]\nsoc = none\n", 1, 1, 6, AGENT_MONITOR, "interval=100"},
		{"[agent]\nsoc = udp://10.0.0.1:514\nmode = monitor\n", 0, 1, 6, AGENT_MONITOR,
		 "interval=100"},
		{"[policy]\nfeed =\ndeny_paths =\n", 1, 1, 0, AGENT_MONITOR, "interval=100"},
		{"[policy]\nfeed = /f\n[spool]\nsync = interval\n", 1, 0, 6, AGENT_MONITOR,
		 "interval=100"},
		{"[spool]\nsync = interval=2500\n[agent]\nmode=enforce\n", 1, 1, 6, AGENT_ENFORCE,
		 "interval=2500"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct agent_conf c;
		struct mm_conf_err e;

		conf_defaults(&c);
		assert_int_equal(conf_load(&c, write_conf(cases[i].text), &e), 0);
		assert_int_equal(c.soc == NULL, cases[i].soc_null);
		assert_int_equal(c.feed == NULL, cases[i].feed_null);
		assert_int_equal(c.deny_paths.n, (size_t)cases[i].deny_paths_n);
		assert_int_equal(c.mode, cases[i].mode);
		assert_string_equal(c.spool_sync, cases[i].sync);
		assert_int_equal(c.heartbeat_s, 60);
		conf_free(&c);
	}
}

static void bad_files(void **state)
{
	static const struct {
		const char *text;
		int rc, line;
		const char *msg;
	} cases[] = {
		{"[agent]\n\nmode = block\n", MM_EINVALID, 3,
		 "mode: 'block' is not monitor or enforce"},
		{"[agent]\nmode = Enforce\n", MM_EINVALID, 2,
		 "mode: 'Enforce' is not monitor or enforce"},
		{"# x\n[agent]\nuser = a\nfallback = maybe\n", MM_EINVALID, 4,
		 "fallback: 'maybe' is not auto, yes or no"},
		{"[policy]\n; c\n; c\non_timeout = kill\n", MM_EINVALID, 4,
		 "on_timeout: 'kill' is not allow or deny"},
		/* the same key name in another section is not the one at fault */
		{"[spool]\nmax_size = 2M\n[quarantine]\nmax_size = 1M\n"
		 "[policy]\ndeny_paths = tmp\n",
		 MM_EINVALID, 6, "deny_paths: 'tmp' is not an absolute path"},
		{"[behaviour]\nscan_ports = 23, 0\n", MM_EINVALID, 2,
		 "scan_ports: '0' is not a port"},
		{"[behaviour]\nscan_ports = 23 65536\n", MM_EINVALID, 2,
		 "scan_ports: '65536' is not a port"},
		{"[behaviour]\ndeny_listen = 127.0.0.1\n", MM_EINVALID, 2,
		 "deny_listen: '127.0.0.1' is not ADDR:PORT"},
		{"[behaviour]\nexpect_listen = ::1:80\n", MM_EINVALID, 2,
		 "expect_listen: '::1:80' is not ADDR:PORT"},
		{"[behaviour]\nexpect_listen = 300.1.1.1:80\n", MM_EINVALID, 2,
		 "expect_listen: '300.1.1.1:80' is not ADDR:PORT"},
		{"[behaviour]\nservices = telnetd a-name-of-sixteen\n", MM_EINVALID, 2,
		 "services: 'a-name-of-sixteen' is not a process name of 1 to 15 bytes"},
		{"[policy]\ndeny_fstypes = tmpfs Ramfs\n", MM_EINVALID, 2,
		 "deny_fstypes: 'Ramfs' is not a file system type mamorid knows"},
		{"[policy]\nallowlist = yes\n\n", MM_EINVALID, 2,
		 "allowlist: yes needs a baseline"},
		{"[behaviour]\nwatchdog_allow = watchdogd\n", MM_EINVALID, 2,
		 "watchdog_allow: 'watchdogd' is not an absolute path"},
		{"[agent]\nwatch = /mnt ./x\n", MM_EINVALID, 2,
		 "watch: './x' is not an absolute path"},
		{"[agent]\nstate = var/lib\n", MM_EINVALID, 2,
		 "state: 'var/lib' is not an absolute path"},
		{"[policy]\nfeed = feed.txt\n", MM_EINVALID, 2,
		 "feed: 'feed.txt' is not an absolute path"},
		{"[quarantine]\ndir = q\n", MM_EINVALID, 2, "dir: 'q' is not an absolute path"},
		{"[agent]\nsoc = http://soc\n", MM_EINVALID, 2,
		 "soc: 'http://soc' is not udp://, tcp://, tls://, relp:// or "
		 "relp+tls://HOST:PORT or none"},
		{"[agent]\ndevice_id = my cam\n", MM_EINVALID, 2,
		 "device_id: 'my cam' is not 1 to 255 printable ASCII characters without spaces"},
		{"[agent]\nuser =\n", MM_EINVALID, 2, "user: a user name is needed"},
		{"[spool]\nsync = sometimes\n", MM_EINVALID, 2,
		 "sync: 'sometimes' is not always, interval, interval=MS or never"},
		/* what the table loader refuses, with its own words */
		{"[agent]\nheartbeat = 0\n", MM_EPARSE, 2, "heartbeat: 0 is out of range 1..86400"},
		{"[policy]\nscan_timeout = soon\n", MM_EPARSE, 2,
		 "scan_timeout: 'soon' is not a number"},
		{"[policy]\nallowlist = perhaps\n", MM_EPARSE, 2,
		 "allowlist: 'perhaps' is not yes or no"},
		{"[agent]\nmode = monitor\nmode = enforce\n", MM_EPARSE, 3,
		 "key 'mode' in section [agent] given twice"},
		{"[agent]\nwatchdog_devices = /dev/x\n", MM_EPARSE, 2,
		 "unknown key 'watchdog_devices' in section [agent]"},
		{"mode = enforce\n", MM_EPARSE, 1, "unknown key 'mode' in section []"},
		{"[agent\n", MM_EPARSE, 1, "not a [section], key = value, or comment line"},
		/* detect, audit, inventory */
		{"[detect]\nreport_format = json\n", MM_EINVALID, 2,
		 "report_format: 'json' is not mamori, aws or aws-short"},
		{"[detect]\nprofile = p.json\n", MM_EINVALID, 2,
		 "profile: 'p.json' is not an absolute path"},
		{"[detect]\ninterval = 0\n", MM_EPARSE, 2, "interval: 0 is out of range 1..86400"},
		{"[audit]\n\nsupport_end = 2030-13-01\n", MM_EINVALID, 3,
		 "support_end: '2030-13-01' is not a date YYYY-MM-DD"},
		{"[audit]\ncertificates = /etc/a.pem cert.pem\n", MM_EINVALID, 2,
		 "certificates: 'cert.pem' is not an absolute path"},
		{"[inventory]\ninterval = 59\n", MM_EPARSE, 2,
		 "interval: 59 is out of range 60..31536000"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct agent_conf c;
		struct mm_conf_err e;

		conf_defaults(&c);
		assert_int_equal(conf_load(&c, write_conf(cases[i].text), &e), cases[i].rc);
		assert_int_equal(e.line, cases[i].line);
		assert_string_equal(e.msg, cases[i].msg);
		conf_free(&c);
	}
}

static void too_many_entries(void **state)
{
	/* one more than AGENT_MAX_LIST, within inih's 200 bytes a line */
	char text[256] = "[policy]\ndeny_fstypes =";
	struct agent_conf c;
	struct mm_conf_err e;
	size_t i, n = strlen(text);

	(void)state;
	for (i = 0; i <= AGENT_MAX_LIST; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, " x");
	snprintf(text + n, sizeof text - n, "\n");
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, write_conf(text), &e), MM_EINVALID);
	assert_int_equal(e.line, 2);
	assert_string_equal(e.msg,
			    "deny_fstypes: more than 64 entries, or one longer than 4096 bytes");
	/* the list that could not be set is left as it was */
	ASSERT_LIST(c.deny_fstypes, "tmpfs", "ramfs");
	conf_free(&c);
}

static void unreadable_file(void **state)
{
	struct agent_conf c;
	struct mm_conf_err e;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, "/nonexistent/mamorid.conf", &e), MM_EIO);
	assert_int_equal(e.line, 0);
	assert_string_equal(e.msg, "No such file or directory");
	assert_null(c.conf_path);
	conf_free(&c);
}

static void lists(void **state)
{
	static const struct {
		const char *text;
		int rc;
		size_t n;
		const char *first, *last;
	} cases[] = {
		{"", 0, 0, NULL, NULL},
		{" ,, \t", 0, 0, NULL, NULL},
		{"a", 0, 1, "a", "a"},
		{"a b,c", 0, 3, "a", "c"},
		{" a,,b\t\tc , d ", 0, 4, "a", "d"},
		{"/x\n/y", 0, 2, "/x", "/y"},
	};
	struct agent_list l;
	char big[4200];
	size_t i;

	(void)state;
	memset(&l, 0, sizeof l);
	for (i = 0; i < N(cases); i++) {
		assert_int_equal(conf_list_set(&l, cases[i].text), cases[i].rc);
		assert_int_equal(l.n, cases[i].n);
		if (cases[i].n) {
			assert_string_equal(l.v[0], cases[i].first);
			assert_string_equal(l.v[l.n - 1], cases[i].last);
		}
	}
	/* a failed set keeps what was there */
	assert_int_equal(conf_list_set(&l, "keep me"), 0);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(conf_list_set(&l, big), MM_ETOOBIG);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1], "me");
	conf_list_free(&l);
	assert_int_equal(l.n, 0);
	assert_int_equal(conf_list_set(&l, NULL), 0);
	assert_int_equal(l.n, 0);
}

/* Loading twice into one configuration replaces and frees (ASan checks). */
static void load_twice(void **state)
{
	struct agent_conf c;
	struct mm_conf_err e;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(
		conf_load(&c, write_conf("[agent]\nstate = /a\n[policy]\nfeed = /f1\n"), &e), 0);
	assert_int_equal(conf_load(&c, write_conf("[policy]\nfeed = /f2\nallow_paths = /x\n"), &e),
			 0);
	assert_string_equal(c.state, "/a");
	assert_string_equal(c.feed, "/f2");
	ASSERT_LIST(c.allow_paths, "/x");
	conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(shipped_file_is_the_defaults),
		cmocka_unit_test(full_file),
		cmocka_unit_test(partial_and_none),
		cmocka_unit_test(bad_files),
		cmocka_unit_test(too_many_entries),
		cmocka_unit_test(unreadable_file),
		cmocka_unit_test(lists),
		cmocka_unit_test(load_twice),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
