/*
 * libFuzzer target for what the reporter does with a finding another
 * process sent it (agent/report.c): report_finding_check() and, for a
 * finding that passes, report_event_json().
 *
 * The input is the bytes of one struct agent_finding as they arrive in an
 * AGENT_MSG_FINDING (shorter inputs are padded with zeros), followed by up
 * to three bytes that say what the descriptor gave: hashed, quarantined,
 * and whether the reporter adds a detail member of its own. A seed is a
 * finding written by its producer, as it travels.
 *
 * The target aborts when a finding that passed the check:
 *   - does not build (every field fits in REPORT_LINE_MAX however it is
 *     escaped);
 *   - builds into text that is not one JSON object, or whose "event",
 *     "mode", "action" or "attack" do not say what the finding said;
 *   - has a path and no "file" member, or a detail whose members are not
 *     all in the event's "detail".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent.h"
#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/log.h"
#include "report.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)          \
	do {              \
		if (!(x))     \
			abort(); \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mm_log_init(1, "fuzz_agent_finding");
	return 0;
}

static size_t attack_count(const struct agent_finding *f)
{
	size_t i, n = 0;

	for (i = 0; i < AGENT_ATTACK_MAX; i++)
		n += f->attack[i][0] != '\0';
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const actions[] = {"reported", "denied", "killed", "allowed"};
	const struct report_ctx cx = {"fuzz-dev", "1.0", AGENT_ENFORCE, "/var/lib/mamori/q"};
	struct agent_finding f;
	struct report_file file;
	const uint8_t *tail = data + sizeof f;
	size_t ntail = size > sizeof f ? size - sizeof f : 0;
	json_t *o, *extra = NULL, *d, *want, *v;
	struct mm_buf b;
	const char *key;

	memset(&f, 0, sizeof f);
	memcpy(&f, data, size < sizeof f ? size : sizeof f);
	if (report_finding_check(&f) < 0)
		return 0;

	memset(&file, 0, sizeof file);
	file.size = -1;
	if (ntail > 0 && (tail[0] & 1)) {
		memset(file.sha256, 0xab, sizeof file.sha256);
		file.hashed = 1;
		file.size = tail[0];
	}
	file.quarantined = ntail > 1 && (tail[1] & 1);
	if (ntail > 2 && (tail[2] & 1))
		extra = json_pack("{ss}", "quarantine_error", "larger than the quarantine");

	mm_buf_init(&b, REPORT_LINE_MAX);
	CHECK(report_event_json(&cx, &f, &file, extra, &b) == 0);
	CHECK(strlen(b.data) == b.len);
	CHECK((o = json_loads(b.data, 0, NULL)) != NULL);
	CHECK(json_is_object(o));
	CHECK(strcmp(json_string_value(json_object_get(o, "event")), f.event) == 0);
	CHECK(strcmp(json_string_value(json_object_get(o, "mode")), "enforce") == 0);
	CHECK(strcmp(json_string_value(json_object_get(o, "action")), actions[f.action]) == 0);
	CHECK(json_array_size(json_object_get(o, "attack")) == attack_count(&f));
	CHECK(!f.path[0] || json_is_object(json_object_get(o, "file")));
	CHECK(f.path[0] || !json_object_get(o, "file"));
	if (f.detail[0]) {
		CHECK((want = json_loads(f.detail, 0, NULL)) != NULL);
		d = json_object_get(o, "detail");
		json_object_foreach(want, key, v)
			CHECK(json_object_get(d, key) != NULL);
		json_decref(want);
	}
	json_decref(o);
	json_decref(extra);
	mm_buf_free(&b);
	return 0;
}
