/*
 * The reporter's internals (report.c, scan.c, scan_yara.c / scan_noyara.c,
 * quarantine.c), for its unit tests and fuzz target. The contract with the
 * other processes is agent/agent.h.
 */
#ifndef MAMORI_AGENT_REPORT_H
#define MAMORI_AGENT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "agent.h"
#include "mamori/buf.h"

/* The longest event line written; a longer one is refused (MM_ETOOBIG).
 * With the RFC 5424 header it stays under mamori-soc's max_msg (64 KiB), and
 * it holds a document of AGENT_DOC_MAX bytes with the event around it. */
#define REPORT_LINE_MAX (60 * 1024)

/* What does not change from one event to the next. */
struct report_ctx {
	const char *device_id;      /* "host" and device.id */
	const char *firmware;       /* device.fw ("" when unknown) */
	enum agent_mode mode;       /* "mode" */
	const char *quarantine_dir; /* the folder quarantine.path is under */
};

/* What the reporter learnt from the descriptor that came with a finding. */
struct report_file {
	int hashed;                     /* sha256 and size hold the descriptor's hash */
	uint8_t sha256[MM_SHA256_LEN];
	int64_t size;                   /* bytes, -1 unknown */
	int quarantined;                /* the bytes are in the quarantine under sha256 */
};

/*
 * Checks a finding received from another process: every char array holds a
 * NUL-terminated string, the event name is 1..32 of [a-z0-9._-] (it becomes
 * the RFC 5424 MSGID), ATT&CK ids are [A-Za-z0-9.], action and the flags are
 * in range, and detail is "" or one JSON object. Returns 0 or MM_EINVALID.
 */
int report_finding_check(const struct agent_finding *f);

/*
 * Builds the JSON event for finding f (already checked) as one line without
 * the LF into out (reset first), as docs/formats/events.md describes: file
 * (NULL: no descriptor came) says what the descriptor's hash and quarantine
 * gave; a hash the finding carries (has_sha256) wins over it. extra (may be
 * NULL; borrowed) holds members the reporter adds to "detail", after the
 * finding's own (an extra member replaces one of the same name). Strings that
 * are not UTF-8 have each bad byte replaced by U+FFFD.
 * Returns 0, MM_EINVALID (detail is not a JSON object), MM_ETOOBIG (longer
 * than REPORT_LINE_MAX or out's maximum) or MM_ENOMEM.
 *
 *	struct mm_buf b;
 *	mm_buf_init(&b, REPORT_LINE_MAX);
 *	if (report_event_json(&cx, &f, &file, NULL, &b) == 0)
 *		puts(b.data);
 */
int report_event_json(const struct report_ctx *cx, const struct agent_finding *f,
		      const struct report_file *file, json_t *extra, struct mm_buf *out);

/* Formats ms since the epoch as "2026-11-22T10:00:00.123Z" (25 bytes with the
 * NUL). Times before 1970 or after 9999 are refused: MM_EINVAL. */
int report_time(int64_t ms, char out[32]);

/* ---- scan.c and its YARA half (scan_yara.c or scan_noyara.c) ---- */

/* Seconds a YARA scan may take before it is given up (AGENT_SCAN_ERROR);
 * the guard stops waiting at scan_timeout anyway. Default 1. */
void scan_set_timeout(struct scanner *s, int seconds);

struct scan_yara;
/* Compiles the rules file (NULL: none, *out NULL). Compiler messages are
 * logged with file and line. 0, MM_EPARSE, MM_EIO, MM_ENOMEM; MM_EINVAL
 * when built without YARA and rules are given. */
int scan_yara_new(const char *rules, struct scan_yara **out);
void scan_yara_free(struct scan_yara *y);
/* Scans the first size bytes of fd (read from offset 0; the fd's offset is
 * not moved). 1 and the first matching rule's identifier in rule (truncated
 * to n), 0 no match, MM_EIO (unreadable, or timed out), MM_ENOMEM. */
int scan_yara_fd(struct scan_yara *y, int fd, uint64_t size, int timeout_s, char *rule,
		 size_t n);

/* ---- quarantine.c ---- */

struct quarantine_stats {
	uint64_t files;   /* copies held now */
	uint64_t bytes;   /* their total size */
	uint64_t stored;  /* copies written since open */
	uint64_t evicted; /* copies deleted to make room */
};
void quarantine_stats(const struct quarantine *q, struct quarantine_stats *st);
/* The folder (as given to quarantine_open). */
const char *quarantine_dir(const struct quarantine *q);

#endif
