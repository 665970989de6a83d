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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

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
	assert_int_equal(c.fetch, 0);
	assert_int_equal(c.fetch_timeout, 30);
	assert_int_equal(c.fetch_max, 0);
	assert_int_equal(c.fetch_concurrent, 16);
	assert_int_equal(c.fetch_per_session, 8);
	assert_string_equal(c.fetch_deny, TRAP_FETCH_DENY_DEFAULT);
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
	/* The checks parsed the default deny list: loopback is in it. */
	assert_int_equal(c.ndeny, 15);
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
			   "fetch = yes\n"
			   "fetch_timeout = 7\n"
			   "fetch_max = 1M\n"
			   "fetch_concurrent = 3\n"
			   "fetch_per_session = 2\n"
			   "fetch_deny = 10.0.0.0/8, 2001:db8::/32\n"
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
	assert_int_equal(c.fetch, 1);
	assert_int_equal(c.fetch_timeout, 7);
	assert_int_equal(c.fetch_max, 1 << 20);
	assert_int_equal(c.fetch_concurrent, 3);
	assert_int_equal(c.fetch_per_session, 2);
	assert_string_equal(c.fetch_deny, "10.0.0.0/8, 2001:db8::/32");
	assert_int_equal(c.ndeny, 2);
	assert_int_equal(c.deny[0].bits, 96 + 8);
	assert_int_equal(c.deny[1].bits, 32);
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
	{"[capture]\nfetch = sometimes\n", "t.conf:2:", "fetch"},
	{"[capture]\nfetch_timeout = 0\n", "t.conf:2:", "fetch_timeout"},
	{"[capture]\nfetch_timeout = 3601\n", "t.conf:2:", "fetch_timeout"},
	{"[capture]\nfetch_concurrent = 0\n", "t.conf:2:", "fetch_concurrent"},
	{"[capture]\nfetch_per_session = 0\n", "t.conf:2:", "fetch_per_session"},
	{"[capture]\nmax_file = 1M\n\nfetch_max = 2M\n", "t.conf:4:", "fetch_max"},
	{"[capture]\nfetch_max = 64M\n", "t.conf:2:", "max_file"},
	{"[capture]\n# c\nfetch_deny = 10.0.0.0/8 nowhere\n", "t.conf:3:", "nowhere"},
	{"[capture]\nfetch_deny = 10.0.0.0/33\n", "t.conf:2:", "10.0.0.0/33"},
	{"[capture]\nfetch_deny = ::/129\n", "t.conf:2:", "::/129"},
	{"[capture]\nfetch_deny = 10.0.0.0/\n", "t.conf:2:", "fetch_deny"},
	{"[soc]\n\nspool_sync = sometimes\n", "t.conf:3:", "spool_sync"},
	{"[soc]\nreporter = mac:00:11:22:33:44\n", "t.conf:2:", "reporter"},
	{"[soc]\nreporter = host:trap-1\n", "t.conf:2:", "reporter"},
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
	assert_int_equal(c.fetch, d.fetch);
	assert_int_equal(c.fetch_timeout, d.fetch_timeout);
	assert_int_equal(c.fetch_max, d.fetch_max);
	assert_int_equal(c.fetch_concurrent, d.fetch_concurrent);
	assert_int_equal(c.fetch_per_session, d.fetch_per_session);
	assert_string_equal(c.fetch_deny, d.fetch_deny);
	assert_int_equal(c.spool_max, d.spool_max);
	assert_string_equal(c.url, TRAP_DEFAULT_URL);
	trap_config_free(&c);
	trap_config_free(&d);
}

/* The trap's form of a textual IPv4 or IPv6 address, as accept gives it. */
static void addr_of(const char *text, struct trap_addr *a)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	memset(&s4, 0, sizeof s4);
	memset(&s6, 0, sizeof s6);
	if (inet_pton(AF_INET, text, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		assert_int_equal(trap_addr_from((struct sockaddr *)&s4, a), 0);
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &s6.sin6_addr), 1);
		s6.sin6_family = AF_INET6;
		assert_int_equal(trap_addr_from((struct sockaddr *)&s6, a), 0);
	}
}
/* Address blocks: parsed, host bits cleared, and matched. */
static void cidr_lists(void **state)
{
	static const struct {
		const char *list;
		int rc;
		size_t n;
		const char *addr;   /* an address to match against the list */
		int match;
	} t[] = {
		{"", 0, 0, "127.0.0.1", 0},
		{"none", 0, 0, "127.0.0.1", 0},
		{"127.0.0.0/8", 0, 1, "127.255.1.2", 1},
		{"127.0.0.0/8", 0, 1, "128.0.0.1", 0},
		{"10.1.2.3/8", 0, 1, "10.200.0.1", 1},
		{"192.0.2.1", 0, 1, "192.0.2.1", 1},
		{"192.0.2.1", 0, 1, "192.0.2.2", 0},
		{"172.16.0.0/12", 0, 1, "172.31.255.255", 1},
		{"172.16.0.0/12", 0, 1, "172.32.0.0", 0},
		{"0.0.0.0/0", 0, 1, "203.0.113.9", 1},
		{"0.0.0.0/0", 0, 1, "2001:db8::1", 0},
		{"::1/128, fe80::/10", 0, 2, "fe80::1", 1},
		{"::1/128,fe80::/10", 0, 2, "fec0::1", 0},
		{"fc00::/7", 0, 1, "fdff::1", 1},
		{" 10.0.0.0/8 ,\t::1 ", 0, 2, "::1", 1},
		/* IPv4 blocks match IPv4-mapped IPv6 addresses, as trap_addr holds them. */
		{"127.0.0.0/8", 0, 1, "::ffff:127.0.0.1", 1},
		{"127.0.0.0/8 x", MM_EINVAL, 0, NULL, 0},
		{"1.2.3.4/-1", MM_EINVAL, 0, NULL, 0},
		{"1.2.3.4/8x", MM_EINVAL, 0, NULL, 0},
		{"/8", MM_EINVAL, 0, NULL, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(t); i++) {
		struct trap_cidr list[4];
		struct trap_addr a;
		char why[80];
		size_t n = 99;
		int rc = trap_cidr_parse_list(t[i].list, list, N(list), &n, why, sizeof why);

		if (rc != t[i].rc)
			fail_msg("case %zu (%s): rc %d", i, t[i].list, rc);
		if (rc < 0) {
			assert_true(why[0] != '\0');
			continue;
		}
		assert_int_equal(n, t[i].n);
		addr_of(t[i].addr, &a);
		if (trap_cidr_match(list, n, &a) != t[i].match)
			fail_msg("case %zu: %s in %s: want %d", i, t[i].addr, t[i].list,
				 t[i].match);
	}
}

/* More blocks than the table holds are refused, not cut. */
static void cidr_full(void **state)
{
	struct trap_cidr list[2];
	char why[80] = "";
	size_t n;

	(void)state;
	assert_int_equal(trap_cidr_parse_list("10.0.0.0/8 ::1 192.0.2.0/24", list, 2, &n, why,
					      sizeof why),
			 MM_EFULL);
	assert_non_null(strstr(why, "more than 2"));
}

/* The default deny list keeps fetches off this host and its networks. */
static void default_deny(void **state)
{
	static const struct {
		const char *addr;
		int denied;
	} t[] = {
		{"127.0.0.1", 1}, {"10.1.1.1", 1},   {"192.168.0.1", 1}, {"172.20.0.1", 1},
		{"169.254.169.254", 1}, {"0.0.0.0", 1}, {"224.0.0.1", 1}, {"255.255.255.255", 1},
		{"100.64.0.1", 1}, {"::1", 1},       {"fe80::1", 1},     {"fd00::1", 1},
		{"::", 1},         {"203.0.113.5", 0}, {"8.8.8.8", 0},   {"2001:db8::5", 0},
	};
	struct trap_config c;
	char err[512] = "";
	size_t i;

	(void)state;
	assert_int_equal(trap_config_init(&c), 0);
	assert_int_equal(trap_config_check(&c, err, sizeof err), 0);
	for (i = 0; i < N(t); i++) {
		struct trap_addr a;

		addr_of(t[i].addr, &a);
		if (trap_cidr_match(c.deny, c.ndeny, &a) != t[i].denied)
			fail_msg("%s: denied %d, want %d", t[i].addr, !t[i].denied, t[i].denied);
	}
	trap_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),	cmocka_unit_test(every_key),
		cmocka_unit_test(bad_values),	cmocka_unit_test(accept_words),
		cmocka_unit_test(check_command_line), cmocka_unit_test(missing_file),
		cmocka_unit_test(shipped_file), cmocka_unit_test(cidr_lists),
		cmocka_unit_test(cidr_full),	cmocka_unit_test(default_deny),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
