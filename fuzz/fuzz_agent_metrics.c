/*
 * libFuzzer target for the metrics parsers that read what other programs
 * write (agent/metrics.c): /proc/net/dev text and the custom metrics JSON
 * from an application's file or command. The first byte picks the parser
 * (even: netdev, odd: custom); the rest is its input. Past "no crash", the
 * results are checked against the contract: custom metrics within their
 * bounds, names of the allowed characters and terminated, a type's values
 * within METRICS_MAX_VALUES, and both documents buildable from the set.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "mamori/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "fuzz_agent_metrics: check failed at line %d: %s\n", \
				__LINE__, #cond);                                             \
			abort();                                                              \
		}                                                                             \
	} while (0)

static struct metrics *M;

static void check_custom(const struct metrics *m)
{
	size_t i, k;

	CHECK(m->n_custom <= METRICS_MAX_CUSTOM);
	for (i = 0; i < m->n_custom; i++) {
		const struct metric_custom *c = &m->custom[i];
		size_t len = strnlen(c->name, sizeof c->name);

		CHECK(len > 0 && len < sizeof c->name);
		CHECK(strspn(c->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				      "0123456789_:.-") == len);
		CHECK(c->type <= METRIC_IP_LIST);
		CHECK(c->n <= METRICS_MAX_VALUES);
		CHECK(c->type != METRIC_NUMBER || c->n == 1);
		for (k = 0; k < c->n; k++)
			if (c->type == METRIC_STRING_LIST || c->type == METRIC_IP_LIST)
				CHECK(strnlen(c->str[k], METRICS_STR_MAX) < METRICS_STR_MAX);
		for (k = 0; k < i; k++)
			CHECK(strcmp(m->custom[k].name, c->name) != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	json_t *doc;
	int rc;

	if (size < 1)
		return 0;
	if (M == NULL && metrics_new(&M) < 0)
		abort();
	memset(M, 0, sizeof *M);
	if ((data[0] & 1) == 0) {
		rc = metrics_parse_netdev(text, size - 1, M);
		CHECK(rc == 0 || rc == MM_EPARSE);
		if (rc < 0)
			CHECK(M->bytes_in == 0 && M->bytes_out == 0 && M->packets_in == 0 &&
			      M->packets_out == 0);
		return 0;
	}
	rc = metrics_parse_custom(text, size - 1, M);
	CHECK(rc == 0 || rc == MM_EPARSE || rc == MM_ETOOBIG);
	if (rc < 0) {
		CHECK(M->n_custom == 0);
		return 0;
	}
	check_custom(M);
	doc = ddreport_json(M, NULL, 1, data[0] & 2);
	CHECK(doc != NULL);
	json_decref(doc);
	doc = metrics_json(M, NULL);
	CHECK(doc != NULL);
	json_decref(doc);
	return 0;
}
