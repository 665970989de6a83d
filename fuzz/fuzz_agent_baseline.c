/*
 * libFuzzer target for the guard's baseline parser (agent/policy.c).
 *
 * The input is a baseline file's text (docs/formats/baseline.md). The
 * target parses it into an allowlist policy that starts from an empty
 * baseline, and aborts when:
 *   - a parse succeeds with more entries than the text has lines, or
 *     without the "# mamori baseline 1" first line;
 *   - a parse fails without a line number within the text, or leaves
 *     anything in the baseline;
 *   - the (sha256, size) of the second line, when that is a file line of
 *     a baseline that parsed, is not allowed to run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mamori/error.h"
#include "mamori/hash.h"
#include "mamori/log.h"

#include "agent.h"
#include "guard.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)               \
	do {                   \
		if (!(x))      \
			abort(); \
	} while (0)

static const char magic[] = "# mamori baseline 1\n";
static char empty_baseline[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *f;
	int fd;

	(void)argc;
	(void)argv;
	mm_log_init(0, "fuzz_agent_baseline");
	/* An allowlist policy needs a baseline to start from. */
	snprintf(empty_baseline, sizeof empty_baseline, "/tmp/fuzz_agent_baseline.XXXXXX");
	fd = mkstemp(empty_baseline);
	CHECK(fd >= 0 && (f = fdopen(fd, "w")) != NULL);
	CHECK(fputs(magic, f) >= 0 && fclose(f) == 0);
	return 0;
}

/* The second line's sha256 and size, when it has the fields of a file line. */
static int second_line(const uint8_t *data, size_t size, uint8_t d[MM_SHA256_LEN], uint64_t *sz)
{
	const char *s = (const char *)data + sizeof magic - 1, *end = (const char *)data + size;
	const char *nl = memchr(s, '\n', (size_t)(end - s)), *t1, *t2;
	uint64_t v = 0;

	if (nl == NULL)
		nl = end;
	if (nl > s && nl[-1] == '\r')
		nl--;
	if ((t1 = memchr(s, '\t', (size_t)(nl - s))) == NULL ||
	    (t2 = memchr(t1 + 1, '\t', (size_t)(nl - t1 - 1))) == NULL || nl - t2 < 66 ||
	    mm_sha256_parse(t2 + 1, 64, d) < 0)
		return 0;
	for (const char *q = t1 + 1; q < t2; q++)
		v = v * 10 + (uint64_t)(*q - '0');
	*sz = v;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_conf c;
	struct policy *p;
	uint8_t d[MM_SHA256_LEN];
	uint64_t sz;
	const char *r;
	size_t lines = 1;
	int rc;

	memset(&c, 0, sizeof c);
	c.allowlist = 1;
	c.baseline = empty_baseline;
	CHECK(policy_new(&c, &p) == 0);
	CHECK(policy_baseline_count(p) == 0);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	rc = policy_parse_baseline(p, (const char *)data, size);
	if (rc == 0) {
		CHECK(size >= sizeof magic - 2 && memcmp(data, magic, sizeof magic - 2) == 0);
		CHECK(policy_baseline_count(p) <= lines);
		if (size > sizeof magic - 1 && data[sizeof magic - 1] != '#' &&
		    second_line(data, size, d, &sz))
			CHECK(policy_hash(p, d, sz, 0, &r) == V_ALLOW);
	} else {
		CHECK(rc == MM_EPARSE || rc == MM_ETOOBIG);
		CHECK(policy_error_line(p) >= 1 && policy_error_line(p) <= lines);
		CHECK(policy_baseline_count(p) == 0);
	}
	policy_free(p);
	return 0;
}
