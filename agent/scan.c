/*
 * What the reporter does for the guard when a file must be judged by what it
 * is: its SHA-256 and, when asked and rules were given, a YARA scan. The
 * YARA half lives in scan_yara.c, or in scan_noyara.c when mamorid is built
 * without libyara, so that this file has no #ifdef.
 */
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"
#include "mamori/hash.h"
#include "mamori/log.h"

#include "report.h"

#define SCAN_TIMEOUT_DEFAULT 1

struct scanner {
	struct scan_yara *yara; /* NULL: no rules */
	int timeout_s;
};

/*
 * Creates a scanner; yara_rules names a rules source file to compile now
 * (NULL: hashing only). Returns 0 with *out set, MM_EPARSE when the rules do
 * not compile (the compiler's messages are logged), MM_EIO when the file
 * cannot be read, MM_EINVAL when rules are given to a build without YARA,
 * MM_ENOMEM.
 */
int scan_new(const char *yara_rules, struct scanner **out)
{
	struct scanner *s;
	int rc;

	*out = NULL;
	if (!(s = calloc(1, sizeof *s)))
		return MM_ENOMEM;
	s->timeout_s = SCAN_TIMEOUT_DEFAULT;
	if (yara_rules && *yara_rules && (rc = scan_yara_new(yara_rules, &s->yara)) < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void scan_free(struct scanner *s)
{
	if (!s)
		return;
	scan_yara_free(s->yara);
	free(s);
}

void scan_set_timeout(struct scanner *s, int seconds)
{
	s->timeout_s = seconds > 0 ? seconds : SCAN_TIMEOUT_DEFAULT;
}

/* 1 when rules were compiled, so that a YARA request can be honoured. */
int scan_has_yara(const struct scanner *s)
{
	return s && s->yara != NULL;
}

/*
 * Hashes what fd holds (at most max bytes, 0: no bound) and, when yara is 1
 * and rules exist, scans it. res is always filled: status AGENT_SCAN_OK with
 * sha256, size and the YARA outcome; AGENT_SCAN_TOOBIG (nothing read);
 * AGENT_SCAN_ERROR (unreadable, or the YARA scan failed or timed out).
 * Returns 0, MM_ETOOBIG, MM_EIO accordingly, or MM_EINVAL for a bad fd.
 */
int scan_fd(struct scanner *s, int fd, uint64_t max, int yara, struct agent_scan_res *res)
{
	uint64_t size = 0;
	int rc;

	memset(res, 0, sizeof *res);
	if (fd < 0) {
		res->status = AGENT_SCAN_ERROR;
		return MM_EINVAL;
	}
	rc = mm_sha256_fd(fd, max, res->sha256, &size);
	if (rc == MM_ETOOBIG) {
		res->status = AGENT_SCAN_TOOBIG;
		return rc;
	}
	if (rc < 0) {
		memset(res->sha256, 0, sizeof res->sha256);
		res->status = AGENT_SCAN_ERROR;
		return MM_EIO;
	}
	res->size = size;
	if (yara && scan_has_yara(s)) {
		rc = scan_yara_fd(s->yara, fd, size, s->timeout_s, res->yara_rule, sizeof res->yara_rule);
		if (rc < 0) {
			res->status = AGENT_SCAN_ERROR;
			return MM_EIO;
		}
		res->yara_match = rc == 1;
	}
	res->status = AGENT_SCAN_OK;
	return 0;
}
