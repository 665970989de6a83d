/*
 * Unit tests of the process connector parser (agent/procconn.c) on
 * datagrams built by hand in the kernel's layout: fork, exec, comm and exit
 * come out with their fields, several messages in one datagram each come
 * out, other event kinds and other connector ids are skipped, and a short
 * or truncated datagram (at every length) is MM_EPARSE without reading past
 * its end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#include "mamori/error.h"

#include "agent.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct got {
	struct pconn_ev ev[8];
	size_t n;
};

static void on_ev(const struct pconn_ev *ev, void *arg)
{
	struct got *g = arg;

	if (g->n < NELEM(g->ev))
		g->ev[g->n++] = *ev;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof v);
}

/* Appends one message: nlmsghdr, cn_msg, proc_event with data of dlen
 * bytes; returns the new length. */
static size_t msg(uint8_t *buf, size_t off, uint32_t idx, uint32_t what, uint64_t ts,
		  const uint32_t *data, size_t dlen)
{
	uint8_t *p = buf + off;
	size_t ev_len = 16 + dlen, len = NLMSG_HDRLEN + 20 + ev_len;
	uint16_t type = NLMSG_DONE, clen = (uint16_t)ev_len;

	memset(p, 0, NLMSG_ALIGN(len));
	put32(p, (uint32_t)len);
	memcpy(p + 4, &type, 2);
	put32(p + NLMSG_HDRLEN, idx);
	put32(p + NLMSG_HDRLEN + 4, CN_VAL_PROC);
	memcpy(p + NLMSG_HDRLEN + 16, &clen, 2);
	p += NLMSG_HDRLEN + 20;
	put32(p, what);
	put32(p + 4, 1);
	memcpy(p + 8, &ts, 8);
	memcpy(p + 16, data, dlen);
	return off + NLMSG_ALIGN(len);
}

static void test_kinds(void **state)
{
	static const uint32_t fork_d[4] = { 100, 100, 201, 200 };
	static const uint32_t exec_d[2] = { 300, 300 };
	static const uint32_t exit_d[6] = { 400, 401, 9, 9, 1, 1 };
	uint32_t comm_d[6] = { 500, 500, 0, 0, 0, 0 };
	uint8_t buf[1024];
	struct got g = { .n = 0 };
	size_t len = 0;

	(void)state;
	memcpy(&comm_d[2], "0123456789abcdef", 16); /* 16 bytes, no NUL */
	len = msg(buf, len, CN_IDX_PROC, PROC_EVENT_FORK, 11, fork_d, sizeof fork_d);
	len = msg(buf, len, CN_IDX_PROC, PROC_EVENT_EXEC, 22, exec_d, sizeof exec_d);
	len = msg(buf, len, CN_IDX_PROC, PROC_EVENT_COMM, 33, comm_d, sizeof comm_d);
	len = msg(buf, len, CN_IDX_PROC, PROC_EVENT_EXIT, 44, exit_d, sizeof exit_d);
	/* Not followed: a uid change, and another connector's message. */
	len = msg(buf, len, CN_IDX_PROC, PROC_EVENT_UID, 55, exit_d, 16);
	len = msg(buf, len, CN_IDX_PROC + 1, PROC_EVENT_EXEC, 66, exec_d, sizeof exec_d);
	assert_int_equal(pconn_parse(buf, len, on_ev, &g), 0);
	assert_int_equal(g.n, 4);

	assert_int_equal(g.ev[0].kind, PCONN_FORK);
	assert_int_equal(g.ev[0].parent_tgid, 100);
	assert_int_equal(g.ev[0].pid, 201);
	assert_int_equal(g.ev[0].tgid, 200);
	assert_int_equal(g.ev[0].ts_ns, 11);

	assert_int_equal(g.ev[1].kind, PCONN_EXEC);
	assert_int_equal(g.ev[1].pid, 300);
	assert_int_equal(g.ev[1].tgid, 300);
	assert_int_equal(g.ev[1].ts_ns, 22);

	assert_int_equal(g.ev[2].kind, PCONN_COMM);
	assert_int_equal(g.ev[2].tgid, 500);
	assert_string_equal(g.ev[2].comm, "0123456789abcdef");

	assert_int_equal(g.ev[3].kind, PCONN_EXIT);
	assert_int_equal(g.ev[3].pid, 400);
	assert_int_equal(g.ev[3].tgid, 401);
	assert_int_equal(g.ev[3].exit_code, 9);
	assert_int_equal(g.ev[3].ts_ns, 44);
}

/* Every cut of a datagram is an error or yields only whole events. */
static void test_truncated(void **state)
{
	static const uint32_t exec_d[2] = { 300, 300 };
	static const uint32_t fork_d[4] = { 1, 1, 2, 2 };
	uint8_t buf[256];
	size_t len = 0, first;

	(void)state;
	first = msg(buf, 0, CN_IDX_PROC, PROC_EVENT_EXEC, 1, exec_d, sizeof exec_d);
	len = msg(buf, first, CN_IDX_PROC, PROC_EVENT_FORK, 2, fork_d, sizeof fork_d);
	for (size_t cut = 0; cut < len; cut++) {
		struct got g = { .n = 0 };
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
		int rc;

		memcpy(copy, buf, cut);
		rc = pconn_parse(copy, cut, on_ev, &g);
		if (cut == 0 || cut == first)
			assert_int_equal(rc, 0);
		else
			assert_int_equal(rc, MM_EPARSE);
		assert_int_equal(g.n, cut >= first ? 1 : 0);
		free(copy);
	}
}

/* Lengths that lie: a message longer than the datagram, a cn_msg length
 * longer than its message, an event too short for its kind. */
static void test_lies(void **state)
{
	static const uint32_t exec_d[2] = { 7, 7 };
	uint8_t buf[128];
	struct got g = { .n = 0 };
	size_t len;
	uint16_t clen;

	(void)state;
	len = msg(buf, 0, CN_IDX_PROC, PROC_EVENT_EXEC, 1, exec_d, sizeof exec_d);
	put32(buf, (uint32_t)len + 4);
	assert_int_equal(pconn_parse(buf, len, on_ev, &g), MM_EPARSE);
	put32(buf, 8); /* shorter than a netlink header */
	assert_int_equal(pconn_parse(buf, len, on_ev, &g), MM_EPARSE);

	len = msg(buf, 0, CN_IDX_PROC, PROC_EVENT_EXEC, 1, exec_d, sizeof exec_d);
	clen = 200;
	memcpy(buf + NLMSG_HDRLEN + 16, &clen, 2);
	assert_int_equal(pconn_parse(buf, len, on_ev, &g), MM_EPARSE);

	/* An exec event whose cn_msg says 20 bytes: 16 of header, 4 of data. */
	len = msg(buf, 0, CN_IDX_PROC, PROC_EVENT_EXEC, 1, exec_d, sizeof exec_d);
	clen = 20;
	memcpy(buf + NLMSG_HDRLEN + 16, &clen, 2);
	assert_int_equal(pconn_parse(buf, len, on_ev, &g), MM_EPARSE);
	assert_int_equal(g.n, 0);

	/* The listen acknowledgement (PROC_EVENT_NONE) is no event. */
	len = msg(buf, 0, CN_IDX_PROC, PROC_EVENT_NONE, 0, exec_d, 4);
	assert_int_equal(pconn_parse(buf, len, on_ev, &g), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(pconn_parse(NULL, 0, on_ev, &g), 0);
	assert_int_equal(pconn_parse(NULL, 4, on_ev, &g), MM_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_lies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
