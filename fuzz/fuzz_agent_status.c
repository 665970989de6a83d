/*
 * libFuzzer target for what the inventory reads from a device's files
 * (agent/inventory.c): dpkg and opkg status files and BusyBox binaries.
 *
 * The first byte picks the parser; the rest is its input. Beyond "no
 * crash", each result is checked for what the contract promises: every
 * package has a name, no field holds a blank where it must not or a byte
 * that is not clean text (so that it can become a JSON string), fields stay
 * within their bounds, the count returned is the number of calls, and a
 * BusyBox version is a run of version characters that follows
 * "BusyBox v" in the input.
 */
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inventory.h"
#include "mamori/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz_agent_status: check failed at line %d: %s\n", \
				__LINE__, #cond);                                            \
			abort();                                                             \
		}                                                                            \
	} while (0)

static int Calls;

/* Each field must make a JSON string (jansson checks UTF-8) and hold no control bytes. */
static void clean(const char *s, size_t max)
{
	json_t *j;
	size_t i, n;

	if (s == NULL)
		return;
	n = strlen(s);
	CHECK(n > 0 && n <= max);
	for (i = 0; i < n; i++)
		CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
	j = json_string(s);
	CHECK(j != NULL);
	json_decref(j);
}

static void pkg(const struct inventory_pkg *p, void *arg)
{
	(void)arg;
	Calls++;
	CHECK(p->name != NULL);
	CHECK(strpbrk(p->name, " \t") == NULL);
	CHECK(p->version == NULL || strpbrk(p->version, " \t") == NULL);
	CHECK(p->arch == NULL || strpbrk(p->arch, " \t") == NULL);
	clean(p->name, 255);
	clean(p->version, 255);
	clean(p->arch, 63);
	clean(p->source, 511);
	clean(p->maintainer, 511);
	clean(p->homepage, 1023);
	clean(p->description, 1023);
}

static void busybox_case(const uint8_t *p, size_t n, size_t outsz)
{
	char out[80];
	size_t i, vl;

	if (!inventory_busybox_version(p, n, out, outsz)) {
		CHECK(out[0] == '\0');
		return;
	}
	vl = strlen(out);
	CHECK(vl < outsz);
	if (outsz == 1) /* found, but no room for a byte of it */
		return;
	CHECK(vl >= 1 && out[0] >= '0' && out[0] <= '9');
	for (i = 0; i < vl; i++)
		CHECK(strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_+~",
			     out[i]) != NULL);
	/* It is in the input, right after the prefix. */
	{
		char want[96];
		int k = snprintf(want, sizeof want, "BusyBox v%s", out);

		CHECK(k > 0 && (size_t)k < sizeof want);
		CHECK(memmem(p, n, want, (size_t)k) != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int rc;

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		Calls = 0;
		rc = inventory_parse_status((const char *)data + 1, size - 1, pkg, NULL);
		CHECK(rc == Calls || (rc == MM_ETOOBIG && Calls == INVENTORY_MAX_COMPONENTS));
	} else {
		/* The output size varies with the selector byte: cut versions too. */
		busybox_case(data + 1, size - 1, 1 + (size_t)(data[0] >> 1) % 79);
	}
	return 0;
}
