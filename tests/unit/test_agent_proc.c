/*
 * The /proc parsers of the behaviour watch (agent/proc.c): stat with hostile
 * names (") " and newlines inside the comm), status, comm, cmdline, the exe
 * link with " (deleted)", socket links, the /proc/net tables in both widths,
 * the signal_generate format file and sample (agent/sigwatch.c), and the
 * readers against this process's own /proc.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "mamori/error.h"
#include "proc.h"
#include "sigwatch.h"

#define TAIL " 1 1 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 1000 200"

static void test_stat(void **state)
{
	static const struct {
		const char *text;
		int rc;
		int pid, ppid;
		const char *comm;
		char st;
		unsigned flags;
		unsigned long long start;
	} cases[] = {
		{"42 (sshd) S 1" TAIL, 0, 42, 1, "sshd", 'S', 4194560, 987654},
		/* The name may hold ") " and look like fields: only the last ')' ends it. */
		{"7 (a) R 99 (b) Z 5" TAIL, 0, 7, 5, "a) R 99 (b", 'Z', 4194560, 987654},
		{"8 (x\ny) S 3" TAIL, 0, 8, 3, "x\ny", 'S', 4194560, 987654},
		{"9 () S 3" TAIL, 0, 9, 3, "", 'S', 4194560, 987654},
		{"10 (0123456789abcdefXYZ) S 3" TAIL, 0, 10, 3, "0123456789abcdef", 'S', 4194560,
		 987654},
		{"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 12", 0, 2, 0, "kthreadd",
		 'S', 2129984, 12},
		{"11 (x) S 3 1 1", MM_EPARSE, 0, 0, "", 0, 0, 0},
		{"11 x) S 3" TAIL, MM_EPARSE, 0, 0, "", 0, 0, 0},
		{"11 (x S 3" TAIL, MM_EPARSE, 0, 0, "", 0, 0, 0},
		{"(x) S 3" TAIL, MM_EPARSE, 0, 0, "", 0, 0, 0},
		{"12 (x) S -3" TAIL, MM_EPARSE, 0, 0, "", 0, 0, 0},
		{"13 (x)S 3" TAIL, MM_EPARSE, 0, 0, "", 0, 0, 0},
		{"99999999999999999999 (x) S 3" TAIL, MM_EPARSE, 0, 0, "", 0, 0, 0},
		{"", MM_EPARSE, 0, 0, "", 0, 0, 0},
	};
	struct proc_stat st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = proc_parse_stat(cases[i].text, strlen(cases[i].text), &st);

		assert_int_equal(rc, cases[i].rc);
		if (rc != 0)
			continue;
		assert_int_equal(st.pid, cases[i].pid);
		assert_int_equal(st.ppid, cases[i].ppid);
		assert_string_equal(st.comm, cases[i].comm);
		assert_int_equal(st.state, cases[i].st);
		assert_int_equal(st.flags, cases[i].flags);
		assert_int_equal(st.starttime, cases[i].start);
	}
}

static void test_status_comm_cmdline(void **state)
{
	static const char status[] = "Name:\tfake\nUmask:\t0022\nState:\tS\nTgid:\t5\nPid:\t5\n"
				     "PPid:\t77\nUid:\t1000\t1001\t1002\t1003\nGid:\t0\t0\t0\t0\n";
	/* A name that holds "\nUid:\t0" cannot fake the real line: Name comes first
	 * and the real Uid line wins because it is read after. */
	static const char evil[] = "Name:\tx\\nUid:\t0\nPPid:\t1\nUid:\t65534\t0\t0\t0\n";
	static const char cmd[] = "/bin/sh\0-e\0/etc/init.d/rc\0start\0";
	struct proc_cmdline c;
	struct proc_status s;
	char comm[17];

	(void)state;
	assert_int_equal(proc_parse_status(status, sizeof status - 1, &s), 0);
	assert_int_equal(s.uid, 1000);
	assert_int_equal(s.ppid, 77);
	assert_int_equal(proc_parse_status(evil, sizeof evil - 1, &s), 0);
	assert_int_equal(s.uid, 65534);
	assert_int_equal(proc_parse_status("Name:\tx\n", 8, &s), MM_EPARSE);

	assert_int_equal(proc_parse_comm("telnetd\n", 8, comm), 0);
	assert_string_equal(comm, "telnetd");
	assert_int_equal(proc_parse_comm("a\nb\n", 4, comm), 0);
	assert_string_equal(comm, "a\nb");
	assert_int_equal(proc_parse_comm("\n", 1, comm), MM_EPARSE);
	assert_int_equal(proc_parse_comm("a\0b\n", 4, comm), MM_EPARSE);

	assert_int_equal(proc_parse_cmdline(cmd, sizeof cmd - 1, &c), 0);
	assert_int_equal(c.argc, 4);
	assert_string_equal(c.argv[0], "/bin/sh");
	assert_string_equal(c.argv[1], "-e");
	assert_string_equal(c.argv[2], "/etc/init.d/rc");
	/* No final NUL (a process may rewrite its arguments) still ends the last one. */
	assert_int_equal(proc_parse_cmdline("busybox\0sh", 10, &c), 0);
	assert_int_equal(c.argc, 2);
	assert_string_equal(c.argv[1], "sh");
	assert_int_equal(proc_parse_cmdline("", 0, &c), 0);
	assert_int_equal(c.argc, 0);
	assert_string_equal(c.argv[0], "");
}

static void test_exe_and_socket_links(void **state)
{
	static const struct {
		const char *link;
		int rc, deleted;
		const char *path;
	} exes[] = {
		{"/usr/sbin/telnetd", 0, 0, "/usr/sbin/telnetd"},
		{"/tmp/.x (deleted)", 0, 1, "/tmp/.x"},
		{"/memfd:x (deleted)", 0, 1, "/memfd:x"},
		{"/a (deleted) (deleted)", 0, 1, "/a (deleted)"},
		{" (deleted)", MM_EPARSE, 1, ""},
		{"", MM_EPARSE, 0, ""},
		{"/0123456789abcdef0123456789abcdef", MM_ETOOBIG, 0, ""},
	};
	static const struct {
		const char *link;
		int rc;
		uint64_t inode;
	} socks[] = {
		{"socket:[12345]", 0, 12345},
		{"socket:[18446744073709551615]", 0, UINT64_MAX},
		{"socket:[18446744073709551616]", MM_EPARSE, 0},
		{"socket:[]", MM_EPARSE, 0},
		{"socket:[1]x", MM_EPARSE, 0},
		{"pipe:[12345]", MM_EPARSE, 0},
		{"anon_inode:[eventfd]", MM_EPARSE, 0},
	};
	char path[32];
	uint64_t inode;
	size_t i;
	int del;

	(void)state;
	for (i = 0; i < sizeof exes / sizeof exes[0]; i++) {
		int rc = proc_parse_exe(exes[i].link, strlen(exes[i].link), path, sizeof path, &del);

		assert_int_equal(rc, exes[i].rc);
		if (rc == 0) {
			assert_string_equal(path, exes[i].path);
			assert_int_equal(del, exes[i].deleted);
		}
	}
	for (i = 0; i < sizeof socks / sizeof socks[0]; i++) {
		inode = 0;
		assert_int_equal(proc_parse_socket_link(socks[i].link, strlen(socks[i].link), &inode),
				 socks[i].rc);
		if (socks[i].rc == 0)
			assert_true(inode == socks[i].inode);
	}
}

static struct {
	struct proc_sock r[8];
	size_t n;
} Rows;

static void keep(const struct proc_sock *s, void *arg)
{
	(void)arg;
	assert_true(Rows.n < 8);
	Rows.r[Rows.n++] = *s;
}

/* "%08X" of each 32-bit word as it lies in memory: what the kernel prints. */
static void word_hex(char *out, const void *addr, size_t words)
{
	size_t i;

	for (i = 0; i < words; i++) {
		uint32_t w;

		memcpy(&w, (const uint8_t *)addr + 4 * i, 4);
		sprintf(out + 8 * i, "%08X", w);
	}
}

static void test_net_tables(void **state)
{
	static const char head[] = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
				   "retrnsmt   uid  timeout inode\n";
	char text[2048], a[33], b[33], c6[33];
	struct in_addr lo, dst;
	struct in6_addr v6;
	unsigned bad = 0;
	int n;

	(void)state;
	inet_pton(AF_INET, "127.0.0.1", &lo);
	inet_pton(AF_INET, "10.66.0.7", &dst);
	inet_pton(AF_INET6, "fe80::1:2", &v6);
	word_hex(a, &lo, 1);
	word_hex(b, &dst, 1);
	snprintf(text, sizeof text,
		 "%s"
		 "   0: %s:BBE5 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0\n"
		 "   1: %s:9C40 %s:0017 02 00000001:00000000 01:00000064 00000002     0        0 777 2 0000000000000000 200 0 0 10 -1\n"
		 "   2: garbage\n"
		 "   3: %s:0017 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0\n",
		 head, a, a, b, a);
	memset(&Rows, 0, sizeof Rows);
	n = proc_parse_net(text, strlen(text), AF_INET, keep, NULL, &bad);
	assert_int_equal(n, 2);
	assert_int_equal(bad, 2);
	assert_int_equal(Rows.r[0].state, PROC_TCP_LISTEN);
	assert_int_equal(Rows.r[0].lport, 48101);
	assert_memory_equal(Rows.r[0].laddr, &lo, 4);
	assert_int_equal(Rows.r[0].uid, 1000);
	assert_true(Rows.r[0].inode == 4242);
	assert_int_equal(Rows.r[1].state, PROC_TCP_SYN_SENT);
	assert_int_equal(Rows.r[1].lport, 40000);
	assert_int_equal(Rows.r[1].rport, 23);
	assert_memory_equal(Rows.r[1].raddr, &dst, 4);
	assert_true(Rows.r[1].inode == 777);

	/* IPv6, and a raw6 row whose "port" is the protocol (255). */
	word_hex(c6, &v6, 4);
	snprintf(text, sizeof text,
		 "%s  0: %s:00FF 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99 2 0000000000000000 0\n"
		 "  1: %s:0017 0000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 98\n",
		 head, c6, c6);
	memset(&Rows, 0, sizeof Rows);
	bad = 0;
	n = proc_parse_net(text, strlen(text), AF_INET6, keep, NULL, &bad);
	assert_int_equal(n, 1); /* the second row's remote address is one digit short */
	assert_int_equal(bad, 1);
	assert_int_equal(Rows.r[0].family, AF_INET6);
	assert_memory_equal(Rows.r[0].laddr, &v6, 16);
	assert_int_equal(Rows.r[0].lport, 255);
	assert_true(Rows.r[0].inode == 99);
	/* An unknown family and an empty table give no rows. */
	assert_int_equal(proc_parse_net(text, strlen(text), AF_UNIX, keep, NULL, NULL), 0);
	assert_int_equal(proc_parse_net("", 0, AF_INET, keep, NULL, NULL), 0);
}

static void test_sigwatch_format(void **state)
{
	static const char fmt[] =
		"name: signal_generate\nID: 261\nformat:\n"
		"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
		"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
		"\tfield:int sig;\toffset:8;\tsize:4;\tsigned:1;\n"
		"\tfield:int errno;\toffset:12;\tsize:4;\tsigned:1;\n"
		"\tfield:char comm[16];\toffset:20;\tsize:16;\tsigned:0;\n"
		"\tfield:pid_t pid;\toffset:36;\tsize:4;\tsigned:1;\n"
		"\tfield:int result;\toffset:44;\tsize:4;\tsigned:1;\n\n"
		"print fmt: \"sig=%d\"\n";
	struct sigwatch_fmt f;
	struct sigwatch_ev ev;
	uint8_t body[12 + 48];
	uint32_t rawlen = 48;
	int32_t v;

	(void)state;
	assert_int_equal(sigwatch_parse_format(fmt, sizeof fmt - 1, &f), 0);
	assert_int_equal(f.sig_off, 8);
	assert_int_equal(f.comm_off, 20);
	assert_int_equal(f.comm_size, 16);
	assert_int_equal(f.pid_off, 36);
	assert_int_equal(f.result_off, 44);
	/* Without pid the record cannot be used. */
	assert_int_equal(sigwatch_parse_format(fmt, (size_t)(strstr(fmt, "\tfield:pid_t") - fmt), &f),
			 MM_EPARSE);
	assert_int_equal(sigwatch_parse_format(fmt, sizeof fmt - 1, &f), 0);

	memset(body, 0, sizeof body);
	v = 321;
	memcpy(body, &v, 4); /* sender pid */
	v = 322;
	memcpy(body + 4, &v, 4);
	memcpy(body + 8, &rawlen, 4);
	v = 9;
	memcpy(body + 12 + 8, &v, 4);
	memcpy(body + 12 + 20, "telnetdtelnetdXY", 16); /* no NUL inside */
	v = 4000;
	memcpy(body + 12 + 36, &v, 4);
	v = 2;
	memcpy(body + 12 + 44, &v, 4);
	assert_int_equal(sigwatch_parse_sample(&f, body, sizeof body, &ev), 0);
	assert_int_equal(ev.sender, 321);
	assert_int_equal(ev.sender_tid, 322);
	assert_int_equal(ev.sig, 9);
	assert_int_equal(ev.target, 4000);
	assert_int_equal(ev.result, 2);
	assert_string_equal(ev.comm, "telnetdtelnetdXY");
	/* A raw record shorter than the fields, or longer than the sample. */
	rawlen = 40;
	memcpy(body + 8, &rawlen, 4);
	assert_int_equal(sigwatch_parse_sample(&f, body, 12 + 40, &ev), MM_EPARSE);
	rawlen = 49;
	memcpy(body + 8, &rawlen, 4);
	assert_int_equal(sigwatch_parse_sample(&f, body, sizeof body, &ev), MM_EPARSE);
	assert_int_equal(sigwatch_parse_sample(&f, body, 11, &ev), MM_EPARSE);
}

/* The readers on this very process: what the kernel says must come back. */
static void test_readers_self(void **state)
{
	struct proc_cmdline c;
	struct proc_stat st;
	struct proc_status ss;
	char exe[512];
	int del;

	(void)state;
	assert_int_equal(proc_read_stat(getpid(), &st), 0);
	assert_int_equal(st.pid, getpid());
	assert_int_equal(st.ppid, getppid());
	assert_string_equal(st.comm, "test_agent_proc");
	assert_int_equal(proc_read_status(getpid(), &ss), 0);
	assert_int_equal(ss.uid, getuid());
	assert_int_equal(proc_read_cmdline(getpid(), &c), 0);
	assert_true(c.argc >= 1);
	assert_non_null(strstr(c.argv[0], "test_agent_proc"));
	assert_int_equal(proc_read_exe(getpid(), exe, sizeof exe, &del), 0);
	assert_int_equal(del, 0);
	assert_non_null(strstr(exe, "/test_agent_proc"));
	assert_int_equal(proc_read_stat(0, &st), MM_ENOTFOUND);
}

/* A socket of ours is found by its inode. */
static void test_inode_scan_self(void **state)
{
	static struct proc_inode_map m;
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	char link[64], target[64];
	uint64_t inode;
	ssize_t n;
	int fd;

	(void)state;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof target);
	assert_true(n > 0);
	assert_int_equal(proc_parse_socket_link(target, (size_t)n, &inode), 0);
	m.n = 0;
	proc_inode_scan_pid(&m, getpid(), NULL, NULL);
	assert_int_equal(proc_inode_pid(&m, inode), getpid());
	assert_int_equal(proc_inode_pid(&m, inode + 1000000), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat),
		cmocka_unit_test(test_status_comm_cmdline),
		cmocka_unit_test(test_exe_and_socket_links),
		cmocka_unit_test(test_net_tables),
		cmocka_unit_test(test_sigwatch_format),
		cmocka_unit_test(test_readers_self),
		cmocka_unit_test(test_inode_scan_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
