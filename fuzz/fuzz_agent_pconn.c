/*
 * libFuzzer target for the process connector parser (agent/procconn.c).
 *
 * The input is one datagram as read from the connector socket, copied into
 * a buffer of exactly its size so that any read past its end is seen. The
 * target aborts when:
 *   - the parser returns anything but 0 or MM_EPARSE;
 *   - an event has a kind other than fork, exec, comm or exit, or a comm
 *     that is not NUL-terminated within its 17 bytes;
 *   - more events come out than whole messages could hold (one per 52
 *     bytes: netlink header, connector header and the shortest event);
 *   - parsing the same bytes twice gives other events.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)               \
	do {                   \
		if (!(x))      \
			abort(); \
	} while (0)

struct seen {
	size_t n;
	uint64_t digest;
};

static void on_ev(const struct pconn_ev *ev, void *arg)
{
	struct seen *s = arg;

	CHECK(ev->kind == PCONN_FORK || ev->kind == PCONN_EXEC || ev->kind == PCONN_COMM ||
	      ev->kind == PCONN_EXIT);
	CHECK(memchr(ev->comm, '\0', sizeof ev->comm) != NULL);
	s->n++;
	s->digest = s->digest * 1000003u ^ (uint64_t)ev->kind ^ (uint64_t)ev->pid << 8 ^
		    (uint64_t)ev->tgid << 24 ^ ev->ts_ns ^ (uint64_t)ev->exit_code << 40;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen a = { 0, 0 }, b = { 0, 0 };
	uint8_t *copy = malloc(size ? size : 1);
	int rc;

	CHECK(copy != NULL);
	memcpy(copy, data, size);
	rc = pconn_parse(copy, size, on_ev, &a);
	CHECK(rc == 0 || rc == MM_EPARSE);
	CHECK(a.n <= size / 52);
	CHECK(pconn_parse(copy, size, on_ev, &b) == rc);
	CHECK(a.n == b.n && a.digest == b.digest);
	free(copy);
	return 0;
}
