/*
 * Privilege-separation messages over SOCK_SEQPACKET (see
 * include/mamori/ipc.h). A sequenced-packet socket keeps message boundaries
 * and delivers a datagram whole or not at all, so one recvmsg(2) is one
 * message and there is no stream reassembly to get wrong: the receiver only
 * has to check what the kernel tells it about the datagram and its control
 * data.
 *
 * The receiver trusts nothing in the header until it has checked it against
 * what arrived. Descriptors are received close-on-exec (MSG_CMSG_CLOEXEC),
 * so that a descriptor from a peer never leaks into a program the receiver
 * starts, and every descriptor of a message that is refused is closed before
 * the call returns, so that a hostile peer cannot fill the receiver's
 * descriptor table.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mamori/error.h"
#include "mamori/ipc.h"

/*
 * Room for more descriptors than a message may carry, so that a message
 * with several is seen as such (and its descriptors closed) rather than
 * cut by the kernel with MSG_CTRUNC. The kernel closes what does not fit.
 */
#define CMSG_FDS 8

int mm_ipc_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return MM_EIO;
	return 0;
}

int mm_ipc_send(int sock, uint32_t type, uint64_t id, const void *payload, size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct mm_ipc_hdr h;
	struct iovec iov[2];
	struct msghdr mh;
	ssize_t n;

	if (len > MM_IPC_MAX_PAYLOAD || (len > 0 && payload == NULL))
		return MM_EINVAL;
	memset(&h, 0, sizeof h);
	h.type = type;
	h.len = (uint32_t)len;
	h.id = id;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof h;
	iov[1].iov_base = (void *)(uintptr_t)payload;
	iov[1].iov_len = len;
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = iov;
	mh.msg_iovlen = len > 0 ? 2 : 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof ctl.buf;
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? MM_EAGAIN : MM_EIO;
	/* A sequenced packet goes whole or not at all; anything else is a kernel surprise. */
	if ((size_t)n != sizeof h + len) {
		errno = EIO;
		return MM_EIO;
	}
	return 0;
}

/*
 * Collects the descriptors of every SCM_RIGHTS block into fds (at most
 * max) and returns how many; *other is set when any other control data
 * came, which a message may not carry.
 */
static size_t take_fds(struct msghdr *mh, int *fds, size_t max, int *other)
{
	struct cmsghdr *c;
	size_t n = 0;

	*other = 0;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t k, cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			*other = 1;
			continue;
		}
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < cnt && n < max; k++)
			memcpy(&fds[n++], CMSG_DATA(c) + k * sizeof(int), sizeof(int));
	}
	return n;
}

static void close_all(const int *fds, size_t n)
{
	int saved = errno;
	size_t i;

	for (i = 0; i < n; i++)
		close(fds[i]);
	errno = saved;
}

int mm_ipc_recv(int sock, struct mm_ipc_msg *m)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * CMSG_FDS)];
	} ctl;
	int fds[CMSG_FDS];
	struct iovec iov[2];
	struct msghdr mh;
	size_t nfds, got;
	ssize_t n;
	int other;

	m->fd = -1;
	memset(&m->hdr, 0, sizeof m->hdr);
	iov[0].iov_base = &m->hdr;
	iov[0].iov_len = sizeof m->hdr;
	iov[1].iov_base = m->payload;
	iov[1].iov_len = sizeof m->payload;
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof ctl.buf;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? MM_EAGAIN : MM_EIO;
	nfds = take_fds(&mh, fds, CMSG_FDS, &other);
	if (n == 0) {
		/* The end of the connection (an empty datagram is no message either). */
		close_all(fds, nfds);
		errno = 0;
		return MM_EIO;
	}
	got = (size_t)n;
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || other || nfds > 1 ||
	    got < sizeof m->hdr || m->hdr.len > MM_IPC_MAX_PAYLOAD ||
	    m->hdr.len != got - sizeof m->hdr) {
		close_all(fds, nfds);
		memset(&m->hdr, 0, sizeof m->hdr);
		errno = EBADMSG;
		return MM_EPARSE;
	}
	if (nfds == 1)
		m->fd = fds[0];
	return 0;
}

const void *mm_ipc_payload(const struct mm_ipc_msg *m, uint32_t type, size_t size)
{
	if (m == NULL || m->hdr.type != type || size > MM_IPC_MAX_PAYLOAD || m->hdr.len != size)
		return NULL;
	return m->payload;
}

int mm_ipc_str_ok(const char *field, size_t n)
{
	return field != NULL && n > 0 && memchr(field, '\0', n) != NULL;
}
