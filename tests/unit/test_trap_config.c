/*
 * mamori-trap.conf: the defaults of mamori-trap.conf(5), every key landing
 * where it belongs, and bad values refused with the file's line named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/error.h"

#include "trap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void defaults(void **state)
{
	struct trap_config c;
	char err[512] = "";

	(void)state;
	assert_int_equal(trap_config_init(&c), 0);
	assert_string_equal(c.listen, "0.0.0.0");
	assert_int_equal(c.port, 2323);
	assert_string_equal(c.dir, "/var/lib/mamori/trap");
	assert_string_equal(c.persona, "dvr-arm");
	assert_string_equal(c.user, "nobody");
	assert_int_equal(c.seed, -1);
	assert_int_equal(c.accept, TRAP_ACCEPT_MIRAI);
	assert_int_equal(c.max_attempts, 3);
	assert_int_equal(c.delay_ms, -1);
	assert_int_equal(c.max_sessions, 20000);
	assert_int_equal(c.per_address, 16);
	assert_int_equal(c.rate_per_address, 60);
	assert_int_equal(c.idle_timeout, 180);
	assert_int_equal(c.session_timeout, 900);
	assert_int_equal(c.max_line, 4096);
	assert_int_equal(c.max_fs, 8 << 20);
	assert_int_equal(c.capture_max_bytes, 1LL << 30);
	assert_int_equal(c.capture_max_file, 32 << 20);
	assert_int_equal(c.record, 1);
	assert_int_equal(c.record_max_bytes, 1 << 20);
	assert_null(c.url);
	/* The data files are found (installed or the sources'). */
	assert_non_null(strstr(c.credentials, "credentials.tsv"));
	assert_non_null(strstr(c.personas, "trap/personas"));
	assert_non_null(strstr(c.attack, "trap/attack.tsv"));
	/* An empty file is a working configuration. */
	assert_int_equal(trap_config_parse(&c, "", "t.conf", err, sizeof err), 0);
	assert_int_equal(trap_config_check(&c, err, sizeof err), 0);
	trap_config_free(&c);
}

static void every_key(void **state)
{
	const char *text = "[trap]\n"
			   "listen = ::1\n"
			   "port = 23\n"
			   "dir = /srv/trap\n"
			   "persona = ipcam-arm\n"
			   "personas = /srv/personas\n"
			   "seed = 12345\n"
			   "user = trap\n"
			   "sensor = s1\n"
			   "attack = /srv/attack.tsv\n"
			   "[login]\n"
			   "credentials = /srv/creds.tsv\n"
			   "accept = all\n"
			   "accept_after = 4\n"
			   "max_attempts = 5\n"
			   "delay_ms = 250\n"
			   "[limits]\n"
			   "max_sessions = 100\n"
			   "per_address = 2\n"
			   "rate_per_address = 10\n"
			   "max_addresses = 1024\n"
			   "idle_timeout = 30\n"
			   "session_timeout = 60\n"
			   "max_line = 1K\n"
			   "max_fs = 1M\n"
			   "max_output = 64K\n"
			   "max_output_queue = 128K\n"
			   "[capture]\n"
			   "max_bytes = 2G\n"
			   "max_file = 4M\n"
			   "[record]\n"
			   "enabled = no\n"
			   "max_bytes = 64K\n"
			   "[soc]\n"
			   "url = tcp://127.0.0.1:6514\n"
			   "spool = /srv/spool\n"
			   "spool_max = 2M\n"
			   "spool_sync = always\n"
			   "ca = /srv/ca.pem\n"
			   "cert = /srv/c.pem\n"
			   "key = /srv/k.pem\n"
			   "server_name = soc\n"
			   "hostname = trap1\n"
			   "reporter = ip:192.0.2.1\n";
	struct trap_config c;
	char err[512] = "";

	(void)state;
	assert_int_equal(trap_config_init(&c), 0);
	assert_int_equal(trap_config_parse(&c, text, "t.conf", err, sizeof err), 0);
	assert_int_equal(trap_config_check(&c, err, sizeof err), 0);
	assert_string_equal(c.listen, "::1");
	assert_int_equal(c.port, 23);
	assert_string_equal(c.dir, "/srv/trap");
	assert_string_equal(c.persona, "ipcam-arm");
	assert_string_equal(c.personas, "/srv/personas");
	assert_int_equal(c.seed, 12345);
	assert_string_equal(c.user, "trap");
	assert_string_equal(c.sensor, "s1");
	assert_string_equal(c.attack, "/srv/attack.tsv");
	assert_string_equal(c.credentials, "/srv/creds.tsv");
	assert_int_equal(c.accept, TRAP_ACCEPT_ALL);
	assert_int_equal(c.accept_after, 4);
	assert_int_equal(c.max_attempts, 5);
	assert_int_equal(c.delay_ms, 250);
	assert_int_equal(c.max_sessions, 100);
	assert_int_equal(c.per_address, 2);
	assert_int_equal(c.rate_per_address, 10);
	assert_int_equal(c.max_addresses, 1024);
	assert_int_equal(c.idle_timeout, 30);
	assert_int_equal(c.session_timeout, 60);
	assert_int_equal(c.max_line, 1024);
	assert_int_equal(c.max_fs, 1 << 20);
	assert_int_equal(c.max_output, 64 << 10);
	assert_int_equal(c.max_output_queue, 128 << 10);
	assert_int_equal(c.capture_max_bytes, 2LL << 30);
	assert_int_equal(c.capture_max_file, 4 << 20);
	assert_int_equal(c.record, 0);
	assert_int_equal(c.record_max_bytes, 64 << 10);
	assert_string_equal(c.url, "tcp://127.0.0.1:6514");
	assert_string_equal(c.spool, "/srv/spool");
	assert_int_equal(c.spool_max, 2 << 20);
	assert_string_equal(c.spool_sync, "always");
	assert_string_equal(c.ca, "/srv/ca.pem");
	assert_string_equal(c.cert, "/srv/c.pem");
	assert_string_equal(c.key, "/srv/k.pem");
	assert_string_equal(c.server_name, "soc");
	assert_string_equal(c.hostname, "trap1");
	assert_string_equal(c.reporter, "ip:192.0.2.1");
	trap_config_free(&c);
}

/* Each bad file and the "FILE:LINE:" its error must begin with, and a
 * word the message must hold. */
static const struct {
	const char *text;
	const char *where;
	const char *word;
} bad[] = {
	{"[trap]\nport = 0\n", "t.conf:2:", "port"},
	{"[trap]\nport = 65536\n", "t.conf:2:", "port"},
	{"[trap]\nport = 23x\n", "t.conf:2:", "port"},
	{"[trap]\nseed = -5\n", "t.conf:2:", "seed"},
	{"[trap]\nlisten = example.org\n", "t.conf:2:", "listen"},
	{"[trap]\nnosuch = 1\n", "t.conf:2:", "nosuch"},
	{"[trap]\nport = 23\nport = 24\n", "t.conf:3:", "port"},
	{"# c\n[login]\n\naccept = some\n", "t.conf:4:", "accept"},
	{"[login]\nmax_attempts = 0\n", "t.conf:2:", "max_attempts"},
	{"[login]\naccept_after = 1001\n", "t.conf:2:", "accept_after"},
	{"[login]\ndelay_ms = 60001\n", "t.conf:2:", "delay_ms"},
	{"[limits]\nmax_sessions = 0\n", "t.conf:2:", "max_sessions"},
	{"[limits]\nper_address = -1\n", "t.conf:2:", "per_address"},
	{"[limits]\nidle_timeout = 0\n", "t.conf:2:", "idle_timeout"},
	{"[limits]\nmax_line = 10\n", "t.conf:2:", "max_line"},
	{"[limits]\nmax_fs = 2G\n", "t.conf:2:", "max_fs"},
	{"[record]\nenabled = perhaps\n", "t.conf:2:", "enabled"},
	{"[capture]\nmax_file = 1\n", "t.conf:2:", "max_file"},
	{"[soc]\nurl = http://x\n", "t.conf:2:", "url"},
	{"[soc]\n\nspool_sync = sometimes\n", "t.conf:3:", "spool_sync"},
	{"[soc]\nreporter = mac:00:11:22:33:44:55\n", "t.conf:2:", "reporter"},
	{"[soc]\nreporter = ip:nowhere\n", "t.conf:2:", "reporter"},
};

static void bad_values(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(bad); i++) {
		struct trap_config c;
		char err[512] = "";
		int rc;

		assert_int_equal(trap_config_init(&c), 0);
		rc = trap_config_parse(&c, bad[i].text, "t.conf", err, sizeof err);
		if (rc == 0 || strncmp(err, bad[i].where, strlen(bad[i].where)) != 0 ||
		    !strstr(err, bad[i].word))
			fail_msg("case %zu (%s): rc %d, err \"%s\"", i, bad[i].text, rc, err);
		trap_config_free(&c);
	}
}

static void accept_words(void **state)
{
	static const struct {
		const char *s;
		int rc;
		enum trap_accept v;
	} t[] = {
		{"none", 0, TRAP_ACCEPT_NONE}, {"mirai", 0, TRAP_ACCEPT_MIRAI},
		{"all", 0, TRAP_ACCEPT_ALL},   {"any", 0, TRAP_ACCEPT_ANY},
		{"Mirai", MM_EINVAL, 0},       {"", MM_EINVAL, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		enum trap_accept v = TRAP_ACCEPT_NONE;
		assert_int_equal(trap_accept_parse(t[i].s, &v), t[i].rc);
		if (t[i].rc == 0)
			assert_int_equal(v, t[i].v);
	}
}

/* What the command line set is checked without a line to name. */
static void check_command_line(void **state)
{
	struct trap_config c;
	char err[512] = "";

	(void)state;
	assert_int_equal(trap_config_init(&c), 0);
	free(c.listen);
	c.listen = strdup("256.1.1.1");
	assert_int_equal(trap_config_check(&c, err, sizeof err), MM_EINVAL);
	assert_string_equal(err, "command line: [trap] listen: not an IP address: 256.1.1.1");
	free(c.listen);
	c.listen = strdup("::");
	free(c.persona);
	c.persona = strdup("../etc");
	assert_int_equal(trap_config_check(&c, err, sizeof err), MM_EINVAL);
	assert_non_null(strstr(err, "persona"));
	trap_config_free(&c);
}

static void missing_file(void **state)
{
	struct trap_config c;
	char err[512] = "";

	(void)state;
	assert_int_equal(trap_config_init(&c), 0);
	assert_int_equal(trap_config_load(&c, "/nonexistent/trap.conf", err, sizeof err), MM_EIO);
	assert_non_null(strstr(err, "/nonexistent/trap.conf"));
	trap_config_free(&c);
}

/* data/mamori-trap.conf says it holds the defaults: loading it changes nothing. */
static void shipped_file(void **state)
{
	struct trap_config d, c;
	char err[512] = "";

	(void)state;
	assert_int_equal(trap_config_init(&d), 0);
	assert_int_equal(trap_config_init(&c), 0);
	if (trap_config_load(&c, MAMORI_SRCDIR "/data/mamori-trap.conf", err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.listen, d.listen);
	assert_string_equal(c.dir, d.dir);
	assert_string_equal(c.persona, d.persona);
	assert_string_equal(c.user, d.user);
	assert_int_equal(c.port, d.port);
	assert_int_equal(c.accept, d.accept);
	assert_int_equal(c.accept_after, d.accept_after);
	assert_int_equal(c.max_attempts, d.max_attempts);
	assert_int_equal(c.max_sessions, d.max_sessions);
	assert_int_equal(c.per_address, d.per_address);
	assert_int_equal(c.rate_per_address, d.rate_per_address);
	assert_int_equal(c.max_addresses, d.max_addresses);
	assert_int_equal(c.idle_timeout, d.idle_timeout);
	assert_int_equal(c.session_timeout, d.session_timeout);
	assert_int_equal(c.max_line, d.max_line);
	assert_int_equal(c.max_fs, d.max_fs);
	assert_int_equal(c.max_output, d.max_output);
	assert_int_equal(c.max_output_queue, d.max_output_queue);
	assert_int_equal(c.capture_max_bytes, d.capture_max_bytes);
	assert_int_equal(c.capture_max_file, d.capture_max_file);
	assert_int_equal(c.record, d.record);
	assert_int_equal(c.record_max_bytes, d.record_max_bytes);
	assert_int_equal(c.spool_max, d.spool_max);
	assert_string_equal(c.url, TRAP_DEFAULT_URL);
	trap_config_free(&c);
	trap_config_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),	cmocka_unit_test(every_key),
		cmocka_unit_test(bad_values),	cmocka_unit_test(accept_words),
		cmocka_unit_test(check_command_line), cmocka_unit_test(missing_file),
		cmocka_unit_test(shipped_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
