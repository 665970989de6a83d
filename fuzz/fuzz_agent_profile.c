/*
 * libFuzzer target for the security profile parser (agent/profile.c).
 *
 * The input is a profile document (docs/formats/profile.md). The target
 * parses it and, when it parses, evaluates one datapoint of an empty
 * metrics set (no ports, connections, custom metrics) twice, the second
 * time with the first as the previous set. It aborts when:
 *   - a parse succeeds with no behaviour or more than PROFILE_MAX_BEHAVIORS,
 *     or leaves the error text set;
 *   - a parse fails with an error code other than the documented ones, or
 *     without saying why, or leaves *out set;
 *   - an evaluation reports more behaviours in violation than the profile
 *     has, or a change whose value is not a number or an array, or whose
 *     datapoints are not 1..10.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"
#include "mamori/log.h"

#include "detect.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)               \
	do {                   \
		if (!(x))      \
			abort(); \
	} while (0)

static struct metrics *empty[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mm_log_init(0, "fuzz_agent_profile");
	for (int i = 0; i < 2; i++) {
		CHECK((empty[i] = calloc(1, sizeof *empty[i])) != NULL);
		empty[i]->mono_ms = 1000 * (i + 1);
	}
	return 0;
}

static void on_change(const struct profile_change *c, void *arg)
{
	(void)arg;
	CHECK(c->behavior != NULL && c->metric != NULL && c->op != NULL);
	CHECK(json_is_number(c->value) || json_is_array(c->value));
	CHECK(c->datapoints >= 1 && c->datapoints <= 10);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = (struct profile *)&p;
	char err[256] = "";
	int rc, n;

	rc = profile_parse((const char *)data, size, &p, err, sizeof err);
	if (rc < 0) {
		CHECK(rc == MM_EPARSE || rc == MM_EINVALID || rc == MM_ETOOBIG || rc == MM_ENOMEM);
		CHECK(err[0] != '\0');
		CHECK(p == NULL);
		return 0;
	}
	CHECK(err[0] == '\0');
	CHECK(profile_count(p) >= 1 && profile_count(p) <= PROFILE_MAX_BEHAVIORS);
	n = profile_eval(p, empty[0], NULL, on_change, NULL);
	CHECK(n >= 0 && (size_t)n <= profile_count(p));
	n = profile_eval(p, empty[1], empty[0], on_change, NULL);
	CHECK(n >= 0 && (size_t)n <= profile_count(p));
	profile_free(p);
	return 0;
}
