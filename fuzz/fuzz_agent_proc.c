/*
 * libFuzzer target for what the behaviour watch reads from other processes:
 * /proc/PID/stat, status, comm, cmdline, the exe and fd links, the
 * /proc/net tables (agent/proc.c), the signal_generate format file and
 * samples (agent/sigwatch.c) and outbound SYN packets (agent/behave.c).
 *
 * The first byte picks the parser; the rest is its input. Beyond "no crash",
 * each result is checked for what the contract promises: strings
 * terminated and within their fields, numbers within range, the comm of a
 * stat line taken up to the last ')', rows only with the address width
 * asked for, field offsets within the raw record.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "behave.h"
#include "mamori/error.h"
#include "proc.h"
#include "sigwatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "fuzz_agent_proc: check failed at line %d: %s\n", \
				__LINE__, #cond);                                           \
			abort();                                                            \
		}                                                                           \
	} while (0)

static int Family;
static unsigned Rows;

static void row(const struct proc_sock *s, void *arg)
{
	size_t i;

	(void)arg;
	CHECK(s->family == Family);
	if (s->family == AF_INET)
		for (i = 4; i < 16; i++)
			CHECK(s->laddr[i] == 0 && s->raddr[i] == 0);
	CHECK(s->state <= 0xff);
	Rows++;
}

static void stat_case(const char *p, size_t n)
{
	struct proc_stat st;
	const char *open, *close;

	if (proc_parse_stat(p, n, &st) != 0)
		return;
	CHECK(memchr(st.comm, '\0', sizeof st.comm) != NULL);
	CHECK(st.pid >= 0 && st.ppid >= 0);
	/* The comm is what lies between the first '(' and the last ')'. */
	open = memchr(p, '(', n);
	CHECK(open != NULL);
	for (close = p + n - 1; close > open && *close != ')'; close--)
		;
	CHECK(close > open);
	CHECK(strlen(st.comm) <= (size_t)(close - open - 1));
	CHECK(memcmp(st.comm, open + 1, strlen(st.comm)) == 0);
}

static void link_case(const char *p, size_t n)
{
	char path[64];
	uint64_t inode;
	int del;

	if (proc_parse_exe(p, n, path, sizeof path, &del) == 0) {
		CHECK(strlen(path) < sizeof path && path[0] == '/');
		CHECK(strlen(path) + (del ? 10 : 0) == n);
	}
	if (proc_parse_socket_link(p, n, &inode) == 0)
		CHECK(n >= 10 && memcmp(p, "socket:[", 8) == 0 && p[n - 1] == ']');
}

static void sig_case(const char *p, size_t n)
{
	struct sigwatch_fmt f;
	struct sigwatch_ev ev;
	size_t half = n / 2;

	if (sigwatch_parse_format(p, half, &f) != 0)
		return;
	CHECK(f.sig_off >= 0 && f.sig_off + 4 <= SIGWATCH_RAW_MAX);
	CHECK(f.pid_off >= 0 && f.pid_off + 4 <= SIGWATCH_RAW_MAX);
	CHECK(f.comm_off >= 0 && f.comm_off + f.comm_size <= SIGWATCH_RAW_MAX);
	if (sigwatch_parse_sample(&f, p + half, n - half, &ev) == 0)
		CHECK(strlen(ev.comm) < sizeof ev.comm);
}

static void syn_case(const uint8_t *p, size_t n)
{
	struct behave_syn s;

	if (behave_parse_syn(p, n, &s) != 0)
		return;
	CHECK(s.family == AF_INET || s.family == AF_INET6);
	CHECK(n >= (s.family == AF_INET ? 40u : 60u));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	struct proc_status ss;
	struct proc_cmdline c;
	char comm[17];
	unsigned bad = 0;
	int rc, i;

	if (size < 1)
		return 0;
	switch (data[0] % 8) {
	case 0:
		stat_case(p, n);
		break;
	case 1:
		if (proc_parse_status(p, n, &ss) == 0)
			CHECK(ss.has_uid);
		break;
	case 2:
		if (proc_parse_comm(p, n, comm) == 0)
			CHECK(strlen(comm) >= 1 && strlen(comm) <= 16);
		break;
	case 3:
		CHECK(proc_parse_cmdline(p, n, &c) == 0);
		CHECK(c.argc >= 0);
		for (i = 0; i < 3; i++)
			CHECK(strlen(c.argv[i]) < PROC_ARG_MAX);
		break;
	case 4:
		link_case(p, n);
		break;
	case 5:
	case 6:
		Family = data[0] % 8 == 5 ? AF_INET : AF_INET6;
		Rows = 0;
		rc = proc_parse_net(p, n, Family, row, NULL, &bad);
		CHECK(rc >= 0 && (unsigned)rc == Rows);
		break;
	default:
		if (data[0] & 0x80)
			syn_case(data + 1, n);
		else
			sig_case(p, n);
		break;
	}
	return 0;
}
