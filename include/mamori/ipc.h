/*
 * Privilege-separation messages (OpenBSD imsg in spirit): fixed, typed,
 * length-checked messages over a SOCK_SEQPACKET socketpair, each carrying
 * at most one file descriptor (SCM_RIGHTS).
 *
 * One datagram is one message: a struct mm_ipc_hdr followed by exactly
 * hdr.len payload bytes (at most MM_IPC_MAX_PAYLOAD). The receiver checks
 * that the datagram is neither short nor truncated nor longer than its
 * header says, and that at most one descriptor came with it; anything else
 * is MM_EPARSE and whatever descriptors arrived are closed. The type is the
 * caller's; the caller also checks that hdr.len equals the size of the
 * payload struct that the type names (mm_ipc_payload() does both).
 *
 *	int sv[2];
 *	mm_ipc_pair(sv);                             parent keeps sv[0], child sv[1]
 *	struct scan_req q = {...};
 *	mm_ipc_send(sv[0], MSG_SCAN, 7, &q, sizeof q, fd);   fd -1: none; not closed
 *	struct mm_ipc_msg m;
 *	if (mm_ipc_recv(sv[1], &m) == 0) {
 *		const struct scan_req *r = mm_ipc_payload(&m, MSG_SCAN, sizeof *r);
 *		...                                  m.fd is the caller's to close
 *	}
 */
#ifndef MAMORI_IPC_H
#define MAMORI_IPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MM_IPC_MAX_PAYLOAD 4096

struct mm_ipc_hdr {
	uint32_t type;
	uint32_t len; /* payload bytes after the header */
	uint64_t id;  /* the caller's: pairs a request with its answer */
};

struct mm_ipc_msg {
	struct mm_ipc_hdr hdr;
	int fd; /* the descriptor that came with it, or -1 */
	/* Aligned so that mm_ipc_payload()'s pointer suits any payload struct. */
	unsigned char payload[MM_IPC_MAX_PAYLOAD] __attribute__((aligned(16)));
};

/* A connected SOCK_SEQPACKET pair, both ends close-on-exec. 0 or MM_EIO. */
int mm_ipc_pair(int sv[2]);

/*
 * Sends one message: type, id, len payload bytes (len <= MM_IPC_MAX_PAYLOAD,
 * else MM_EINVAL) and fd when fd >= 0 (the caller keeps its own copy).
 * Blocks only as a blocking socket does; on a non-blocking socket whose
 * buffer is full it returns MM_EAGAIN and nothing was sent.
 * Returns 0, MM_EAGAIN, MM_EINVAL or MM_EIO (the peer is gone: EPIPE).
 */
int mm_ipc_send(int sock, uint32_t type, uint64_t id, const void *payload, size_t len, int fd);

/*
 * Receives one message into *m (m->fd is -1 unless one came; the caller
 * closes it). Returns 0; MM_EAGAIN (non-blocking, nothing there); MM_EIO
 * with errno 0 when the peer closed the connection, or another error;
 * MM_EPARSE for a malformed message (short, truncated, length mismatch,
 * more than one descriptor or other control data), in which case every
 * descriptor that came with it is already closed.
 */
int mm_ipc_recv(int sock, struct mm_ipc_msg *m);

/*
 * The payload of m when m's type is `type` and its length is exactly
 * `size`; NULL otherwise. The pointer is into m (aligned for any struct).
 */
const void *mm_ipc_payload(const struct mm_ipc_msg *m, uint32_t type, size_t size);

/*
 * Checks that a fixed char array field received from a peer holds a
 * NUL-terminated string (a NUL within its n bytes). 1 yes, 0 no.
 */
int mm_ipc_str_ok(const char *field, size_t n);

#ifdef __cplusplus
}
#endif
#endif
