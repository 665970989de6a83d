/*
 * libFuzzer target for the guard's feed parser (agent/policy.c).
 *
 * The input is a feed file's text. The target parses it into a policy that
 * already holds one known feed, and aborts when:
 *   - a parse succeeds with more entries than the text has lines;
 *   - a parse fails without a line number within the text, or changes the
 *     feed in force (the old one must stay whole);
 *   - a hash the parse accepted is not denied, or one it could not have
 *     seen (the old feed's, when replaced) still is.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

#define OLD_HEX "1111111111111111111111111111111111111111111111111111111111111111"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mm_log_init(0, "fuzz_agent_feed");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_conf c;
	struct policy *p;
	uint8_t old[MM_SHA256_LEN], d[MM_SHA256_LEN];
	const char *r;
	size_t lines = 1, pos = 0;
	int rc;

	memset(&c, 0, sizeof c);
	CHECK(policy_new(&c, &p) == 0);
	CHECK(mm_sha256_parse(OLD_HEX, 64, old) == 0);
	CHECK(policy_parse_feed(p, OLD_HEX "\n", 65) == 0);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	rc = policy_parse_feed(p, (const char *)data, size);
	if (rc == 0) {
		CHECK(policy_feed_count(p) <= lines);
		/* The first line's hash, when it is one, is denied. */
		while (pos < size && (data[pos] == ' ' || data[pos] == '\t'))
			pos++;
		if (size - pos >= 64 && data[pos] != '#' &&
		    mm_sha256_parse((const char *)data + pos, 64, d) == 0)
			CHECK(policy_hash(p, d, 0, 0, &r) == V_DENY);
		if (policy_hash(p, old, 0, 0, &r) == V_DENY)
			CHECK(memmem(data, size, "11111111", 8) != NULL);
	} else {
		CHECK(rc == MM_EPARSE || rc == MM_ETOOBIG);
		CHECK(policy_error_line(p) >= 1 && policy_error_line(p) <= lines);
		CHECK(policy_feed_count(p) == 1 && policy_hash(p, old, 0, 0, &r) == V_DENY);
	}
	policy_free(p);
	return 0;
}
