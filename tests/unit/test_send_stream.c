/*
 * Unit tests of the TCP transport of the sender (lib/send_stream.c) against
 * a listener in this process: a record is confirmed only once the
 * receiver's TCP stack has taken its bytes (a receiver that does not read
 * holds the rest back), everything arrives intact and in order, and when
 * the receiver drops the connection the sender reconnects and resends what
 * was not confirmed, so every record arrives at least once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/frame.h"
#include "mamori/send.h"
#include "mamori/spool.h"

#define NREC 12000
#define RECLEN 1000 /* 12 MB in all: more than loopback socket buffers hold */

struct rig {
	char dir[64];
	int lfd, cfd;
	struct mm_spool *sp;
	struct mm_sender *s;
	struct mm_frame_dec dec;
	unsigned char *seen; /* how often each record arrived */
	uint64_t frames, next_expected, out_of_order;
};

static void make_record(char *buf, unsigned i)
{
	int n = snprintf(buf, RECLEN + 1, "<13>1 - host app - REC record %u ", i);

	memset(buf + n, 'a' + (char)(i % 26), RECLEN - (size_t)n);
}

static int on_frame(void *arg, const uint8_t *msg, size_t len, int status)
{
	struct rig *r = arg;
	char want[RECLEN + 1];
	unsigned i;

	assert_int_equal(status, 0);
	assert_int_equal(len, RECLEN);
	assert_int_equal(sscanf((const char *)msg, "<13>1 - host app - REC record %u ", &i), 1);
	assert_true(i < NREC);
	make_record(want, i);
	assert_memory_equal(msg, want, RECLEN);
	if (i != r->next_expected)
		r->out_of_order++;
	r->next_expected = i + 1;
	if (r->seen[i] < 255)
		r->seen[i]++;
	r->frames++;
	return 0;
}

static int rig_setup(void **state)
{
	struct rig *r = calloc(1, sizeof *r);
	struct sockaddr_in a;
	socklen_t alen = sizeof a;
	struct mm_spool_opts so;
	struct mm_sender_opts o;
	char rec[RECLEN + 1];
	unsigned i;

	assert_non_null(r);
	snprintf(r->dir, sizeof r->dir, "/tmp/mamori-test-send.XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(r->lfd >= 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(r->lfd, 4), 0);
	assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&a, &alen), 0);
	r->cfd = -1;

	mm_spool_opts_default(&so);
	so.sync = MM_SPOOL_SYNC_NEVER;
	assert_int_equal(mm_spool_open(r->dir, &so, &r->sp, NULL), 0);
	for (i = 0; i < NREC; i++) {
		make_record(rec, i);
		assert_int_equal(mm_spool_append(r->sp, rec, RECLEN), 0);
	}
	mm_sender_opts_default(&o);
	o.url.proto = MM_SEND_TCP;
	snprintf(o.url.host, sizeof o.url.host, "127.0.0.1");
	snprintf(o.url.port, sizeof o.url.port, "%u", ntohs(a.sin_port));
	o.window = NREC;
	o.backoff_min_ms = 10;
	o.backoff_max_ms = 50;
	o.stats_ms = 0;
	assert_int_equal(mm_sender_new(&o, r->sp, &r->s), 0);
	mm_frame_init(&r->dec, MM_FRAME_OCTET, RECLEN + 16);
	r->seen = calloc(NREC, 1);
	assert_non_null(r->seen);
	*state = r;
	return 0;
}

static int rig_teardown(void **state)
{
	struct rig *r = *state;
	char cmd[128];

	mm_sender_free(r->s);
	mm_spool_close(r->sp);
	mm_frame_free(&r->dec);
	if (r->cfd >= 0)
		close(r->cfd);
	close(r->lfd);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
	assert_int_equal(system(cmd), 0);
	free(r->seen);
	free(r);
	return 0;
}

/* Accepts the sender's connection once it has been made. */
static void accept_conn(struct rig *r)
{
	int i;

	for (i = 0; i < 100 && r->cfd < 0; i++) {
		struct pollfd p = { .fd = r->lfd, .events = POLLIN };
		if (poll(&p, 1, 0) == 1)
			r->cfd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		else
			assert_int_equal(mm_sender_run(r->s, 20), 0);
	}
	assert_true(r->cfd >= 0);
}

/* Reads what has arrived, at most limit bytes (0: no limit). */
static size_t read_some(struct rig *r, size_t limit)
{
	uint8_t buf[65536];
	size_t total = 0;

	for (;;) {
		size_t want = sizeof buf;
		ssize_t n;
		if (limit > 0 && limit - total < want)
			want = limit - total;
		if (want == 0)
			break;
		n = read(r->cfd, buf, want);
		if (n <= 0)
			break;
		assert_int_equal(mm_frame_feed(&r->dec, buf, (size_t)n, on_frame, r), 0);
		total += (size_t)n;
	}
	return total;
}

static struct mm_send_counters counters(struct rig *r)
{
	struct mm_send_counters c;

	mm_sender_counters(r->s, &c);
	return c;
}

static void test_confirmed_only_when_taken(void **state)
{
	struct rig *r = *state;
	struct mm_send_counters c;
	uint64_t held;
	int i;

	accept_conn(r);
	/* The receiver reads nothing: its buffers fill and the rest waits. */
	for (i = 0; i < 20; i++)
		assert_int_equal(mm_sender_run(r->s, 10), 0);
	c = counters(r);
	assert_int_equal(c.queued, NREC);
	assert_true(c.acked < NREC);
	assert_int_equal(c.acked + c.pending, NREC);
	assert_true(c.sent > c.acked); /* more went out than the receiver took */
	held = c.pending;
	assert_true(held > 0);
	assert_int_equal(r->frames, 0);
	/* What is confirmed is in the receiver's kernel; what sits in the
	 * sender's own socket buffer is written but not confirmed. */
	{
		int inq = 0;
		assert_int_equal(ioctl(r->cfd, FIONREAD, &inq), 0);
		assert_true(c.acked > 0);
		assert_true(c.acked * (RECLEN + 5) <= (uint64_t)inq);
		assert_true((c.acked + 1) * (RECLEN + 5) > (uint64_t)inq - (RECLEN + 5));
	}

	/* Now read everything while the sender goes on. */
	for (i = 0; i < 2000 && counters(r).pending > 0; i++) {
		read_some(r, 0);
		assert_true(mm_sender_drain(r->s, 5) == 0 || counters(r).pending > 0);
	}
	assert_int_equal(mm_sender_drain(r->s, 1000), 0);
	read_some(r, 0);
	c = counters(r);
	assert_int_equal(c.acked, NREC);
	assert_int_equal(c.pending, 0);
	assert_int_equal(c.resent, 0);
	assert_int_equal(c.connects, 1);
	assert_int_equal(r->frames, NREC);
	assert_int_equal(r->out_of_order, 0);
	for (i = 0; i < NREC; i++)
		assert_int_equal(r->seen[i], 1);
	/* Nothing is left in the spool to send after a restart. */
	assert_int_equal(mm_spool_first_unacked(r->sp), mm_spool_next_seq(r->sp));
}

static void test_resend_after_drop(void **state)
{
	struct rig *r = *state;
	struct mm_send_counters c;
	int i, dup = 0;

	accept_conn(r);
	for (i = 0; i < 10; i++)
		assert_int_equal(mm_sender_run(r->s, 10), 0);
	/* Take a part, then drop the connection with data unread (a reset). */
	read_some(r, 3 * 1024 * 1024 + 17);
	assert_true(r->frames > 0 && r->frames < NREC);
	{
		struct linger l = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(r->cfd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	}
	close(r->cfd);
	r->cfd = -1;
	/* A new frame decoder: the cut frame of the old connection is gone. */
	mm_frame_free(&r->dec);
	mm_frame_init(&r->dec, MM_FRAME_OCTET, RECLEN + 16);
	r->next_expected = 0;

	accept_conn(r);
	for (i = 0; i < 3000 && counters(r).pending > 0; i++) {
		read_some(r, 0);
		(void)mm_sender_drain(r->s, 5);
	}
	read_some(r, 0);
	c = counters(r);
	assert_int_equal(c.pending, 0);
	assert_int_equal(c.acked, NREC);
	assert_true(c.resent > 0);
	assert_true(c.connects >= 2);
	assert_true(c.failures >= 1);
	for (i = 0; i < NREC; i++) {
		if (r->seen[i] == 0)
			fail_msg("record %d never arrived", i);
		dup += r->seen[i] - 1;
	}
	/* Each duplicate was a resend. */
	assert_true((uint64_t)dup <= c.resent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_confirmed_only_when_taken, rig_setup,
						rig_teardown),
		cmocka_unit_test_setup_teardown(test_resend_after_drop, rig_setup, rig_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
