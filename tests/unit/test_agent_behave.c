/*
 * The behaviour checks (agent/behave.c), table-driven: names against
 * executables (busybox applets, scripts, kernel threads, name_allow, 15-byte
 * comms), listeners against deny_listen and expect_listen (wildcards, v6,
 * v4-mapped), the scan window, fatal signals and killed or replaced
 * services, SYN packets, the JSON of each detail and its escaping.
 */
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "behave.h"
#include "mamori/error.h"

static void list(struct agent_list *l, const char *text)
{
	assert_int_equal(conf_list_set(l, text), 0);
}

static struct agent_conf C;

static int setup(void **state)
{
	(void)state;
	conf_defaults(&C);
	list(&C.name_allow, "/usr/lib/chromium/chromium");
	list(&C.services, "telnetd sshd dropbear mamorid");
	free(C.root);
	C.root = strdup("/srv/rootfs/");
	return C.root == NULL;
}

static int teardown(void **state)
{
	(void)state;
	conf_free(&C);
	return 0;
}

static void test_masquerade(void **state)
{
	static const struct {
		const char *comm, *exe, *a0, *a1, *a2;
		int argv0_is_exe, script, kthread, want;
	} cases[] = {
		{"sshd", "/usr/sbin/sshd", "/usr/sbin/sshd", "-D", NULL, 0, 0, 0, 0},
		/* 15 bytes of a longer name are all a comm keeps. */
		{"averyveryverylo", "/opt/averyveryverylongname", "x", NULL, NULL, 0, 0, 0, 0},
		{"averyveryverylo", "/opt/averyveryverylXngname", "x", NULL, NULL, 0, 0, 0, 1},
		/* busybox applets: the name is argv[0]'s when argv[0] is the same file. */
		{"sh", "/bin/busybox", "/bin/sh", NULL, NULL, 1, 0, 0, 0},
		{"telnetd", "/bin/busybox", "telnetd", "-F", NULL, 1, 0, 0, 0},
		{"telnetd", "/tmp/.x", "telnetd", NULL, NULL, 0, 0, 0, 1},
		/* argv[0] says telnetd but is not the exe: a renamed bot. */
		{"telnetd", "/bin/busybox", "telnetd", NULL, NULL, 0, 0, 0, 1},
		/* Scripts run by an interpreter carry the script's name. */
		{"rcS", "/bin/busybox", "/bin/sh", "/etc/init.d/rcS", NULL, 0, 1, 0, 0},
		{"rc", "/bin/busybox", "/bin/sh", "-e", "/etc/init.d/rc", 0, 2, 0, 0},
		{"rc", "/bin/busybox", "/bin/sh", "-e", "/etc/init.d/rc", 0, 0, 0, 1},
		{"rcX", "/bin/busybox", "/bin/sh", "/etc/init.d/rcS", NULL, 0, 1, 0, 1},
		/* Kernel threads and allowed executables are never checked. */
		{"kworker/0:1", "", NULL, NULL, NULL, 0, 0, 1, 0},
		{"kworker/0:1", "/tmp/x", NULL, NULL, NULL, 0, 0, 1, 0},
		{"chrome", "/usr/lib/chromium/chromium", "chrome", NULL, NULL, 0, 0, 0, 0},
		/* name_allow holds the device's path; the agent sees it under root. */
		{"chrome", "/srv/rootfs/usr/lib/chromium/chromium", "x", NULL, NULL, 0, 0, 0, 0},
		{"dvrHelper", "/var/tmp/a", "/var/tmp/a", NULL, NULL, 1, 0, 0, 1},
		{"", "/bin/x", NULL, NULL, NULL, 0, 0, 0, 0},
		{"x", "", NULL, NULL, NULL, 0, 0, 0, 0},
	};
	struct behave_proc p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&p, 0, sizeof p);
		snprintf(p.comm, sizeof p.comm, "%s", cases[i].comm);
		snprintf(p.exe, sizeof p.exe, "%s", cases[i].exe);
		if (cases[i].a0) {
			snprintf(p.cmd.argv[0], PROC_ARG_MAX, "%s", cases[i].a0);
			p.cmd.argc = 1;
		}
		if (cases[i].a1) {
			snprintf(p.cmd.argv[1], PROC_ARG_MAX, "%s", cases[i].a1);
			p.cmd.argc = 2;
		}
		if (cases[i].a2) {
			snprintf(p.cmd.argv[2], PROC_ARG_MAX, "%s", cases[i].a2);
			p.cmd.argc = 3;
		}
		p.argv0_is_exe = cases[i].argv0_is_exe;
		p.script_arg = cases[i].script;
		p.kthread = cases[i].kthread;
		if (behave_masquerade(&p, &C) != cases[i].want)
			fail_msg("case %zu: %s / %s", i, cases[i].comm, cases[i].exe);
	}
	memset(&p, 0, sizeof p);
	snprintf(p.exe, sizeof p.exe, "/tmp/x");
	p.deleted = 1;
	assert_int_equal(behave_deleted_exe(&p), 1);
	p.kthread = 1;
	assert_int_equal(behave_deleted_exe(&p), 0);
	p.kthread = 0;
	p.deleted = 0;
	assert_int_equal(behave_deleted_exe(&p), 0);
}

static void test_strip_root(void **state)
{
	(void)state;
	assert_string_equal(behave_strip_root("/srv/rootfs/bin/sh", "/srv/rootfs"), "/bin/sh");
	assert_string_equal(behave_strip_root("/srv/rootfs/bin/sh", "/srv/rootfs/"), "/bin/sh");
	assert_string_equal(behave_strip_root("/srv/rootfsX/bin/sh", "/srv/rootfs"),
			    "/srv/rootfsX/bin/sh");
	assert_string_equal(behave_strip_root("/bin/sh", "/"), "/bin/sh");
	assert_string_equal(behave_strip_root("/bin/sh", NULL), "/bin/sh");
	assert_string_equal(behave_basename("/a/b/c"), "c");
	assert_string_equal(behave_basename("c"), "c");
}

static void sock(struct proc_sock *s, const char *addr, unsigned port)
{
	memset(s, 0, sizeof *s);
	if (strchr(addr, ':')) {
		s->family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, addr, s->laddr), 1);
	} else {
		s->family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, s->laddr), 1);
	}
	s->lport = (uint16_t)port;
	s->state = PROC_TCP_LISTEN;
}

static void test_listeners(void **state)
{
	static const struct {
		const char *deny, *expect, *addr;
		unsigned port;
		const char *rule; /* NULL: no finding */
	} cases[] = {
		{"*:48101", "", "127.0.0.1", 48101, "deny_listen"},
		{"*:48101", "", "::1", 48101, "deny_listen"},
		{"*:48101", "", "127.0.0.1", 48102, NULL},
		{"127.0.0.1:48101", "", "127.0.0.1", 48101, "deny_listen"},
		{"127.0.0.1:48101", "", "10.0.0.1", 48101, NULL},
		/* A socket on every address also listens on the denied one. */
		{"127.0.0.1:48101", "", "0.0.0.0", 48101, "deny_listen"},
		{"127.0.0.1:48101", "", "::", 48101, "deny_listen"},
		{"127.0.0.1:48101", "", "::ffff:127.0.0.1", 48101, "deny_listen"},
		{"[::1]:22", "", "::1", 22, "deny_listen"},
		{"[::1]:22", "", "127.0.0.1", 22, NULL},
		/* expect_listen: everything else is a finding. */
		{"", "*:23 127.0.0.1:8080", "0.0.0.0", 23, NULL},
		{"", "*:23 127.0.0.1:8080", "127.0.0.1", 8080, NULL},
		{"", "*:23 127.0.0.1:8080", "0.0.0.0", 8080, "expect_listen"},
		{"", "*:23 127.0.0.1:8080", "127.0.0.1", 2323, "expect_listen"},
		{"", "[::]:22", "::", 22, NULL},
		{"", "[::]:22", "0.0.0.0", 22, "expect_listen"},
		{"*:23", "*:23", "0.0.0.0", 23, "deny_listen"},
	};
	struct behave_rules r;
	struct proc_sock s;
	const char *rule;
	unsigned bad;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		list(&C.deny_listen, cases[i].deny);
		list(&C.expect_listen, cases[i].expect);
		bad = 0;
		assert_int_equal(behave_rules_init(&r, &C, &bad), 0);
		assert_int_equal(bad, 0);
		sock(&s, cases[i].addr, cases[i].port);
		rule = NULL;
		if (behave_listener(&r, &s, &rule) != (cases[i].rule != NULL))
			fail_msg("case %zu: %s %u", i, cases[i].addr, cases[i].port);
		if (cases[i].rule)
			assert_string_equal(rule, cases[i].rule);
	}
	list(&C.deny_listen, "*:48101 nonsense 1.2.3.4:0 [::1]22 *:99999");
	list(&C.expect_listen, "");
	bad = 0;
	behave_rules_init(&r, &C, &bad);
	assert_int_equal(r.ndeny, 1);
	assert_int_equal(bad, 4);
}

static void test_parse_addr(void **state)
{
	static const struct {
		const char *text;
		int rc, family;
		unsigned port;
	} cases[] = {
		{"127.0.0.1:48101", 0, AF_INET, 48101}, {"*:23", 0, 0, 23},
		{"[::1]:22", 0, AF_INET6, 22},          {"[::]:65535", 0, AF_INET6, 65535},
		{"[*]:22", MM_EPARSE, 0, 0},            {"::1:22", MM_EPARSE, 0, 0},
		{"1.2.3.4:", MM_EPARSE, 0, 0},          {":80", MM_EPARSE, 0, 0},
		{"1.2.3.4:65536", MM_EPARSE, 0, 0},     {"1.2.3.4:8x", MM_EPARSE, 0, 0},
		{"1.2.3.4", MM_EPARSE, 0, 0},           {"[::1:22", MM_EPARSE, 0, 0},
	};
	struct behave_addr a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = behave_parse_addr(cases[i].text, &a);

		if (rc != cases[i].rc)
			fail_msg("case %zu: %s", i, cases[i].text);
		if (rc == 0) {
			assert_int_equal(a.family, cases[i].family);
			assert_int_equal(a.port, cases[i].port);
		}
	}
}

static void addr4(uint8_t a[16], unsigned last)
{
	memset(a, 0, 16);
	a[0] = 10;
	a[1] = 66;
	a[3] = (uint8_t)last;
}

static void test_scan_window(void **state)
{
	static struct behave_scan t;
	uint8_t a[16];
	unsigned n = 0, i;

	(void)state;
	memset(&t, 0, sizeof t);
	for (i = 1; i <= 9; i++) {
		addr4(a, i);
		n = behave_scan_syn(&t, 100, AF_INET, a, 23, 1000 + i, 10);
	}
	assert_int_equal(n, 9);
	/* A retransmission to an address already counted adds nothing. */
	addr4(a, 3);
	assert_int_equal(behave_scan_syn(&t, 100, AF_INET, a, 23, 2000, 10), 9);
	/* Another process counts apart. */
	assert_int_equal(behave_scan_syn(&t, 200, AF_INET, a, 2323, 2000, 10), 1);
	/* 11 s later only address 3 (refreshed at 2000) is still in the 10 s window. */
	addr4(a, 50);
	assert_int_equal(behave_scan_syn(&t, 100, AF_INET, a, 23, 11500, 10), 2);
	/* The same four bytes as IPv6 are another address. */
	assert_int_equal(behave_scan_syn(&t, 100, AF_INET6, a, 23, 11500, 10), 3);
	/* The address list is bounded. */
	for (i = 0; i < 200; i++) {
		addr4(a, i);
		a[2] = 1;
		n = behave_scan_syn(&t, 300, AF_INET, a, 23, 20000, 10);
	}
	assert_int_equal(n, BEHAVE_SCAN_ADDRS);
	behave_scan_forget(&t, 300);
	assert_int_equal(behave_scan_syn(&t, 300, AF_INET, a, 23, 20000, 10), 1);
	/* The process table is bounded: the least recent goes. */
	for (i = 0; i < BEHAVE_SCAN_PIDS + 5; i++)
		behave_scan_syn(&t, 1000 + (pid_t)i, AF_INET, a, 23, 30000 + i, 10);
	assert_true(t.evicted >= 5);
}

static void test_services(void **state)
{
	static const struct {
		int sig, result;
		const char *comm;
		pid_t sender, victim;
		int want;
	} cases[] = {
		{SIGKILL, 0, "telnetd", 300, 20, 1},
		{SIGTERM, 2, "sshd", 300, 20, 1},
		{SIGKILL, 1, "telnetd", 300, 20, 0}, /* ignored */
		{SIGUSR1, 0, "telnetd", 300, 20, 0},
		{SIGCHLD, 0, "telnetd", 300, 20, 0},
		{SIGKILL, 0, "bash", 300, 20, 0},
		{SIGKILL, 0, "telnetd", 0, 20, 0}, /* outside our pid namespace */
		{SIGKILL, 0, "telnetd", 1, 20, 0}, /* init */
		{SIGSEGV, 0, "telnetd", 20, 20, 0}, /* its own fault */
		{SIGKILL, 0, "telnetd", 300, 0, 1}, /* victim unknown */
	};
	const char *svc = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (behave_service_killed(&C, cases[i].sig, cases[i].result, cases[i].comm,
					  cases[i].sender, cases[i].victim) != cases[i].want)
			fail_msg("case %zu", i);
	assert_int_equal(behave_service_replaced(&C, "sim_lock", 23, NULL, &svc), 1);
	assert_string_equal(svc, "telnetd");
	assert_int_equal(behave_service_replaced(&C, "sim_lock", 22, NULL, &svc), 1);
	assert_string_equal(svc, "sshd");
	assert_int_equal(behave_service_replaced(&C, "sim_lock", 2323, "dropbear", &svc), 1);
	assert_string_equal(svc, "dropbear");
	assert_int_equal(behave_service_replaced(&C, "sim_lock", 2323, NULL, &svc), 0);
	assert_int_equal(behave_service_replaced(&C, "telnetd", 23, NULL, &svc), 0);
}

/* A SYN as IPv4 (with options) or IPv6, flags and ports set as asked. */
static size_t packet(uint8_t *p, int v6, uint8_t flags, uint16_t dport)
{
	size_t ip = v6 ? 40 : 24;

	memset(p, 0, 128);
	if (v6) {
		p[0] = 0x60;
		p[6] = IPPROTO_TCP;
		p[8] = 0xfd;
		p[24] = 0xfd;
		p[39] = 7;
	} else {
		p[0] = 0x46;
		p[9] = IPPROTO_TCP;
		p[12] = 10;
		p[16] = 10;
		p[19] = 7;
	}
	p[ip] = 0x9c;
	p[ip + 1] = 0x40;
	p[ip + 2] = (uint8_t)(dport >> 8);
	p[ip + 3] = (uint8_t)dport;
	p[ip + 13] = flags;
	return ip + 20;
}

static void test_syn(void **state)
{
	struct sock_filter prog[AGENT_MAX_LIST + 32];
	struct behave_rules r;
	struct behave_syn s;
	uint8_t p[128];
	size_t len;

	(void)state;
	len = packet(p, 0, 0x02, 23);
	assert_int_equal(behave_parse_syn(p, len, &s), 0);
	assert_int_equal(s.family, AF_INET);
	assert_int_equal(s.sport, 40000);
	assert_int_equal(s.dport, 23);
	assert_int_equal(s.dst[0], 10);
	assert_int_equal(s.dst[3], 7);
	assert_int_equal(behave_parse_syn(p, len - 1, &s), MM_EPARSE);
	len = packet(p, 0, 0x12, 23); /* SYN-ACK: an answer */
	assert_int_equal(behave_parse_syn(p, len, &s), MM_EPARSE);
	len = packet(p, 0, 0x02, 23);
	p[7] = 5; /* not the first fragment */
	assert_int_equal(behave_parse_syn(p, len, &s), MM_EPARSE);
	len = packet(p, 1, 0x02 | 0x08, 2323);
	assert_int_equal(behave_parse_syn(p, len, &s), 0);
	assert_int_equal(s.family, AF_INET6);
	assert_int_equal(s.dport, 2323);
	assert_int_equal(s.dst[0], 0xfd);
	assert_int_equal(s.dst[15], 7);
	p[6] = 0; /* hop-by-hop first: not parsed */
	assert_int_equal(behave_parse_syn(p, len, &s), MM_EPARSE);
	assert_int_equal(behave_parse_syn(p, 0, &s), MM_EPARSE);

	/* The filter: 21 fixed instructions, one per port, drop and accept. */
	list(&C.scan_ports, "23 2323");
	behave_rules_init(&r, &C, NULL);
	assert_int_equal(behave_syn_filter(&r, prog, sizeof prog / sizeof prog[0]), 25);
	assert_int_equal(prog[21].k, 23);
	assert_int_equal(prog[22].k, 2323);
	assert_int_equal(prog[21].jt, 2); /* to accept */
	assert_int_equal(prog[23].code, BPF_RET | BPF_K);
	assert_int_equal(prog[23].k, 0);
	assert_int_equal(prog[24].k, 128);
	assert_int_equal(prog[1].jf, 23 - 2); /* not outgoing: drop */
	assert_int_equal(behave_syn_filter(&r, prog, 10), MM_ETOOBIG);
	assert_true(behave_scan_port(&r, 2323));
	assert_false(behave_scan_port(&r, 22));
	list(&C.scan_ports, "");
	behave_rules_init(&r, &C, NULL);
	assert_int_equal(behave_syn_filter(&r, prog, 64), MM_ENOTFOUND);
}

static void test_findings_json(void **state)
{
	struct agent_finding f;
	struct behave_proc p;
	struct proc_sock s;
	char out[16];

	(void)state;
	memset(&p, 0, sizeof p);
	p.pid = 42;
	p.ppid = 1;
	p.uid = 7;
	snprintf(p.comm, sizeof p.comm, "a\"b\\c\n\xff");
	snprintf(p.exe, sizeof p.exe, "/srv/rootfs/tmp/x");
	behave_finding(&f, "guard.behaviour.masquerade", "T1036.005", &p, C.root);
	assert_string_equal(f.event, "guard.behaviour.masquerade");
	assert_string_equal(f.attack[0], "T1036.005");
	assert_string_equal(f.attack[1], "");
	assert_int_equal(f.pid, 42);
	assert_int_equal(f.ppid, 1);
	assert_int_equal(f.uid, 7);
	assert_int_equal(f.action, AGENT_ACT_REPORTED);
	assert_true(f.latency_us == -1);
	assert_true(f.time_ms > 1700000000000LL);
	assert_string_equal(f.exe, "/tmp/x");
	assert_int_equal(behave_detail_masquerade(&f, p.comm, p.exe), 0);
	assert_string_equal(f.detail,
			    "{\"name\": \"a\\\"b\\\\c\\u000a\\u00ff\", \"exe_name\": \"x\"}");
	sock(&s, "::ffff:127.0.0.1", 48101);
	assert_int_equal(behave_detail_listener(&f, &s, "deny_listen"), 0);
	assert_string_equal(f.detail,
			    "{\"addr\": \"127.0.0.1\", \"port\": 48101, \"rule\": \"deny_listen\"}");
	sock(&s, "fd00::1", 22);
	behave_detail_listener(&f, &s, "expect_listen");
	assert_string_equal(f.detail,
			    "{\"addr\": \"fd00::1\", \"port\": 22, \"rule\": \"expect_listen\"}");
	behave_detail_raw(&f, 255);
	assert_string_equal(f.detail, "{\"protocol\": 255}");
	behave_detail_scan(&f, 23, 12, 10);
	assert_string_equal(f.detail, "{\"port\": 23, \"addresses\": 12, \"window_s\": 10}");
	behave_detail_watchdog(&f, "/dev/watchdog");
	assert_string_equal(f.detail, "{\"device\": \"/dev/watchdog\"}");
	behave_detail_service_killed(&f, "telnetd", 9, 31);
	assert_string_equal(f.detail, "{\"service\": \"telnetd\", \"signal\": 9, \"victim_pid\": 31}");
	behave_detail_service_replaced(&f, "telnetd", 23);
	assert_string_equal(f.detail, "{\"service\": \"telnetd\", \"port\": 23}");

	assert_int_equal(behave_json_str(out, sizeof out, "0123456789abcdef"), MM_ETOOBIG);
	assert_int_equal(out[strlen(out) - 1], '"');
	assert_int_equal(behave_json_str(out, sizeof out, "ok"), 0);
	assert_string_equal(out, "\"ok\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_masquerade),  cmocka_unit_test(test_strip_root),
		cmocka_unit_test(test_listeners),   cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_scan_window), cmocka_unit_test(test_services),
		cmocka_unit_test(test_syn),         cmocka_unit_test(test_findings_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
