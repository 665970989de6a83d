/*
 * The netlink process connector (NETLINK_CONNECTOR, CN_IDX_PROC): the
 * kernel's fork, exec, comm and exit events for every process.
 *
 * A datagram holds one or more netlink messages, each a struct nlmsghdr, a
 * struct cn_msg and a struct proc_event. Every length in it is checked
 * through one cursor before a field is read, and the fields are copied out
 * at the offsets of the kernel's layout (linux/cn_proc.h) rather than by
 * casting the buffer, so that a short or odd datagram is an error and never
 * a read past its end. Only datagrams from the kernel (nl_pid 0) are taken.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#include "mamori/buf.h"
#include "mamori/error.h"

#include "agent.h"

/* Offsets in struct proc_event (what, cpu, timestamp_ns, event_data). */
#define EV_WHAT 0
#define EV_TS 8
#define EV_DATA 16
#define CN_HDR 20 /* struct cn_msg without data */
#define READ_MAX 64 /* datagrams taken per pconn_read() */

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

/*
 * Decodes one proc_event of n bytes. Returns 1 and fills *ev for the kinds
 * the agent follows, 0 for the others (uid, sid, ptrace, coredump, ack),
 * MM_EPARSE when the event is shorter than its kind needs.
 */
static int decode(const uint8_t *p, size_t n, struct pconn_ev *ev)
{
	const uint8_t *d = p + EV_DATA;
	uint32_t what;

	if (n < EV_DATA)
		return MM_EPARSE;
	memset(ev, 0, sizeof *ev);
	what = get32(p + EV_WHAT);
	ev->ts_ns = get64(p + EV_TS);
	n -= EV_DATA;
	switch (what) {
	case PROC_EVENT_FORK:
		if (n < 16)
			return MM_EPARSE;
		ev->kind = PCONN_FORK;
		ev->parent_tgid = (pid_t)get32(d + 4);
		ev->pid = (pid_t)get32(d + 8);
		ev->tgid = (pid_t)get32(d + 12);
		return 1;
	case PROC_EVENT_EXEC:
		if (n < 8)
			return MM_EPARSE;
		ev->kind = PCONN_EXEC;
		ev->pid = (pid_t)get32(d);
		ev->tgid = (pid_t)get32(d + 4);
		return 1;
	case PROC_EVENT_COMM:
		if (n < 24)
			return MM_EPARSE;
		ev->kind = PCONN_COMM;
		ev->pid = (pid_t)get32(d);
		ev->tgid = (pid_t)get32(d + 4);
		memcpy(ev->comm, d + 8, 16);
		ev->comm[16] = '\0';
		return 1;
	case PROC_EVENT_EXIT:
		if (n < 12)
			return MM_EPARSE;
		ev->kind = PCONN_EXIT;
		ev->pid = (pid_t)get32(d);
		ev->tgid = (pid_t)get32(d + 4);
		ev->exit_code = (int)get32(d + 8);
		return 1;
	default:
		return 0;
	}
}

/*
 * Parses one datagram as read from the connector socket and calls fn for
 * each fork, exec, comm and exit event in it. Returns 0 (also when it held
 * no such event) or MM_EPARSE at the first malformed message; the events
 * before it were given to fn. Example:
 *
 *	n = recv(fd, buf, sizeof buf, 0);
 *	if (n > 0 && pconn_parse(buf, (size_t)n, on_event, ctx) < 0)
 *		bad++;
 */
int pconn_parse(const void *buf, size_t len, void (*fn)(const struct pconn_ev *ev, void *arg),
		void *arg)
{
	struct mm_cur c;

	if (buf == NULL && len > 0)
		return MM_EINVAL;
	mm_cur_init(&c, buf, len);
	while (!mm_cur_eof(&c)) {
		const uint8_t *nh, *cn, *body;
		uint32_t nlen, idx, val;
		uint16_t type, clen;
		struct pconn_ev ev;
		size_t msg_left;

		if (mm_cur_take(&c, NLMSG_HDRLEN, &nh) < 0)
			return MM_EPARSE;
		nlen = get32(nh);
		memcpy(&type, nh + 4, sizeof type);
		if (nlen < NLMSG_HDRLEN || nlen - NLMSG_HDRLEN > mm_cur_left(&c))
			return MM_EPARSE;
		msg_left = nlen - NLMSG_HDRLEN;
		if (type == NLMSG_ERROR || type == NLMSG_NOOP || type == NLMSG_OVERRUN) {
			if (mm_cur_take(&c, msg_left, &body) < 0)
				return MM_EPARSE;
		} else {
			/* The connector sends its messages as NLMSG_DONE. */
			if (msg_left < CN_HDR || mm_cur_take(&c, CN_HDR, &cn) < 0)
				return MM_EPARSE;
			idx = get32(cn);
			val = get32(cn + 4);
			memcpy(&clen, cn + 16, sizeof clen);
			if (clen > msg_left - CN_HDR || mm_cur_take(&c, msg_left - CN_HDR, &body) < 0)
				return MM_EPARSE;
			if (idx == CN_IDX_PROC && val == CN_VAL_PROC) {
				int rc = decode(body, clen, &ev);

				if (rc < 0)
					return rc;
				if (rc == 1 && fn != NULL)
					fn(&ev, arg);
			}
		}
		/* Messages are padded to 4 bytes; the last one may not be. */
		if (NLMSG_ALIGN(nlen) > nlen) {
			size_t pad = NLMSG_ALIGN(nlen) - nlen;

			c.pos += pad < mm_cur_left(&c) ? pad : mm_cur_left(&c);
		}
	}
	return 0;
}

/* Sends the subscription (op PROC_CN_MCAST_LISTEN or _IGNORE) to the kernel:
 * a netlink header, a cn_msg header and the op, laid out by hand because
 * struct cn_msg ends in a flexible array. */
static int subscribe(int fd, uint32_t op)
{
	uint8_t m[NLMSG_HDRLEN + CN_HDR + sizeof(uint32_t)] __attribute__((aligned(8)));
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	struct nlmsghdr nh;
	uint32_t id[2] = { CN_IDX_PROC, CN_VAL_PROC };
	uint16_t len = sizeof op;

	memset(m, 0, sizeof m);
	memset(&nh, 0, sizeof nh);
	nh.nlmsg_len = sizeof m;
	nh.nlmsg_type = NLMSG_DONE;
	nh.nlmsg_pid = (uint32_t)getpid();
	memcpy(m, &nh, sizeof nh);
	memcpy(m + NLMSG_HDRLEN, id, sizeof id);
	memcpy(m + NLMSG_HDRLEN + 16, &len, sizeof len);
	memcpy(m + NLMSG_HDRLEN + CN_HDR, &op, sizeof op);
	if (sendto(fd, m, sizeof m, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)sizeof m)
		return MM_EIO;
	return 0;
}

/*
 * Opens a connector socket bound to the proc group and subscribes to its
 * events (root only). *fd is non-blocking and close-on-exec. Returns 0 or
 * MM_EIO with errno set.
 */
int pconn_open(int *fd)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	int s, rcvbuf = 4 << 20, saved;

	*fd = -1;
	s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	if (s < 0)
		return MM_EIO;
	/* A burst of forks must not overflow the queue while the loop is busy;
	 * SO_RCVBUFFORCE needs CAP_NET_ADMIN, which a root agent has. */
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
		(void)setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	sa.nl_pid = 0; /* the kernel picks a unique port */
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || subscribe(s, PROC_CN_MCAST_LISTEN) < 0)
		goto fail;
	*fd = s;
	return 0;
fail:
	saved = errno;
	close(s);
	errno = saved;
	return MM_EIO;
}

/*
 * Reads up to READ_MAX datagrams waiting on fd and calls fn for each event.
 * Returns 0 when at least one datagram was read, MM_EAGAIN when none was
 * waiting, MM_EIO on an error; errno ENOBUFS then says that the kernel
 * dropped events because the socket's buffer was full (the caller counts a
 * loss, looks at what it may have missed, and goes on reading). Datagrams
 * not from the kernel and malformed ones are skipped.
 */
int pconn_read(int fd, void (*fn)(const struct pconn_ev *ev, void *arg), void *arg)
{
	uint8_t buf[8192] __attribute__((aligned(8)));
	int got = 0;

	for (int i = 0; i < READ_MAX; i++) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof from;
		ssize_t n;

		n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return MM_EIO;
		}
		got = 1;
		if (fl != sizeof from || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue;
		(void)pconn_parse(buf, (size_t)n, fn, arg);
	}
	return got ? 0 : MM_EAGAIN;
}
