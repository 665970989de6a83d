/*
 * libFuzzer target for the privilege-separation message receiver
 * (lib/ipc.c): what a compromised peer could put on the socket.
 *
 * The first byte's low two bits say how many descriptors (0..3) travel with
 * the datagram; the rest of the input is the datagram itself, sent as one
 * message through a SOCK_SEQPACKET socketpair and received with
 * mm_ipc_recv(). The target aborts when a status is outside the contract, an
 * accepted message's header disagrees with the bytes sent, mm_ipc_payload()
 * accepts a wrong type or size, or any received descriptor is left open
 * after a refused message (the lowest free descriptor number moves).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mamori/error.h"
#include "mamori/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)               \
	do {                   \
		if (!(x))      \
			abort(); \
	} while (0)

#define MAX_DATAGRAM (sizeof(struct mm_ipc_hdr) + MM_IPC_MAX_PAYLOAD + 64)

static int sv[2] = {-1, -1};
static int devnull = -1;

static int lowest_free(void)
{
	int fd = dup(devnull);

	CHECK(fd >= 0);
	close(fd);
	return fd;
}

static void send_datagram(const uint8_t *p, size_t n, int nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 3)];
	} ctl;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)p, .iov_len = n};
	struct msghdr mh;
	struct cmsghdr *c;
	int fds[3] = {devnull, devnull, devnull};

	memset(&mh, 0, sizeof mh);
	memset(&ctl, 0, sizeof ctl);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	CHECK(sendmsg(sv[0], &mh, 0) == (ssize_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mm_ipc_msg m;
	int nfds, before, rc;
	size_t n;

	if (sv[0] < 0) {
		CHECK(mm_ipc_pair(sv) == 0);
		CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
		CHECK((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
	}
	if (size < 1)
		return 0;
	nfds = data[0] & 3;
	data++;
	n = size - 1 < MAX_DATAGRAM ? size - 1 : MAX_DATAGRAM;
	before = lowest_free();
	send_datagram(data, n, nfds);

	rc = mm_ipc_recv(sv[1], &m);
	switch (rc) {
	case 0:
		CHECK(n >= sizeof m.hdr && nfds <= 1);
		CHECK(m.hdr.len == n - sizeof m.hdr && m.hdr.len <= MM_IPC_MAX_PAYLOAD);
		CHECK(memcmp(&m.hdr, data, sizeof m.hdr) == 0);
		CHECK(memcmp(m.payload, data + sizeof m.hdr, m.hdr.len) == 0);
		CHECK((m.fd >= 0) == (nfds == 1));
		CHECK(mm_ipc_payload(&m, m.hdr.type, m.hdr.len) == m.payload);
		CHECK(mm_ipc_payload(&m, m.hdr.type + 1, m.hdr.len) == NULL);
		CHECK(mm_ipc_payload(&m, m.hdr.type, m.hdr.len + 1) == NULL);
		if (m.hdr.len > 0)
			CHECK(mm_ipc_payload(&m, m.hdr.type, m.hdr.len - 1) == NULL);
		CHECK(mm_ipc_str_ok((const char *)m.payload, m.hdr.len) ==
		      (m.hdr.len > 0 && memchr(m.payload, 0, m.hdr.len) != NULL));
		if (m.fd >= 0)
			close(m.fd);
		break;
	case MM_EPARSE:
		CHECK(m.fd == -1);
		break;
	case MM_EIO:
		/* Only an empty datagram reads as the end of the connection. */
		CHECK(n == 0 && m.fd == -1);
		break;
	default:
		abort();
	}
	CHECK(lowest_free() == before);
	/* Nothing is left over for the next input. */
	CHECK(mm_ipc_recv(sv[1], &m) == MM_EAGAIN);
	return 0;
}
