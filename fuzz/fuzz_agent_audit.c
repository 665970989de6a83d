/*
 * libFuzzer target for the text the audit reads from a device's root
 * folder: shadow and passwd files (audit_parse_shadow) and sshd_config
 * (audit_parse_sshd), and a finding built from such text as JSON
 * (audit_finding_json).
 *
 * The first byte picks the parser; the rest is its input. Beyond "no
 * crash", each result is checked for what the contract promises: a user
 * and a hash are taken from one line of the input, the user is not empty
 * and holds no ':' or newline, the count returned is the number of calls,
 * and the JSON of a finding with any subject parses back.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "mamori/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz_agent_audit: check failed at line %d: %s\n", \
				__LINE__, #cond);                                            \
			abort();                                                             \
		}                                                                            \
	} while (0)

struct shadow_seen {
	const char *text;
	size_t len;
	int calls;
};

static void shadow_row(const char *user, const char *hash, void *arg)
{
	struct shadow_seen *s = arg;
	char line[600];
	int n;

	s->calls++;
	CHECK(user[0] != '\0' && user[0] != '#');
	CHECK(strpbrk(user, ":\n") == NULL && strpbrk(hash, ":\n") == NULL);
	/* "user:hash:" was a line of the input. */
	n = snprintf(line, sizeof line, "%s:%s:", user, hash);
	CHECK(n > 0 && (size_t)n < sizeof line);
	CHECK(memmem(s->text, s->len, line, (size_t)n) != NULL);
}

static void finding_case(const char *p, size_t n)
{
	struct audit_finding f;
	char out[2048];
	json_t *j;
	int rc;

	memset(&f, 0, sizeof f);
	snprintf(f.id, sizeof f.id, "credential.default");
	f.severity = (enum audit_severity)(n % 4);
	snprintf(f.en303645, sizeof f.en303645, "5.1-1");
	memcpy(f.subject, p, n < sizeof f.subject - 1 ? n : sizeof f.subject - 1);
	if (n > sizeof f.subject)
		memcpy(f.detail, p + sizeof f.subject,
		       n - sizeof f.subject < sizeof f.detail - 1 ? n - sizeof f.subject
								  : sizeof f.detail - 1);
	rc = audit_finding_json(&f, out, sizeof out);
	if (rc != 0) {
		CHECK(rc == MM_EPARSE || rc == MM_ETOOBIG);
		return;
	}
	j = json_loads(out, 0, NULL);
	CHECK(j != NULL);
	CHECK(strcmp(json_string_value(json_object_get(j, "id")), "credential.default") == 0);
	CHECK(json_is_string(json_object_get(j, "subject")));
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	size_t n;
	struct shadow_seen s;
	int rc, rp;

	if (size < 1)
		return 0;
	n = size - 1;
	switch (data[0] % 3) {
	case 0:
		s.text = p;
		s.len = n;
		s.calls = 0;
		rc = audit_parse_shadow(p, n, shadow_row, &s);
		CHECK(rc >= 0 && rc == s.calls);
		break;
	case 1:
		rp = -1;
		rc = audit_parse_sshd(p, n, &rp);
		CHECK(rc == 0 || rc == MM_EPARSE);
		if (rc == 0) {
			CHECK(rp == 0 || rp == 1);
			/* Root with a password needs "PermitRootLogin" somewhere. */
			if (rp)
				CHECK(n >= 15);
		}
		break;
	default:
		finding_case(p, n);
		break;
	}
	return 0;
}
