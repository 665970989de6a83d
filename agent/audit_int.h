/*
 * What the parts of the audit share (agent/audit*.c): the run's context,
 * the one table of finding ids, the helper that turns a check's result into
 * a struct audit_finding and hands it to the caller, and file access that
 * stays inside the audited root.
 *
 * Every file of the root is opened through audit_open(), which resolves the
 * path with the root folder as "/" (openat2 RESOLVE_IN_ROOT): a firmware
 * tree whose /etc/shadow is an absolute symbolic link is read inside the
 * tree, never on the machine that audits it.
 */
#ifndef MAMORI_AGENT_AUDIT_INT_H
#define MAMORI_AGENT_AUDIT_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"

#define AUDIT_FILE_MAX (1024 * 1024) /* a configuration or credential file read whole */

/* One run of audit_run(). */
struct audit_ctx {
	const struct audit_opts *o;
	void (*fn)(const struct audit_finding *f, void *arg);
	void *arg;
	int rootfd;       /* O_PATH descriptor of o->root */
	int64_t now;      /* seconds since the epoch the run judges against */
	int count;        /* findings passed to fn */
};

/* A row of the finding table (audit.c). */
struct audit_rule {
	const char *id;
	enum audit_severity severity;
	const char *en303645;
	const char *psti;
	const char *jp;
};

extern const struct audit_rule audit_rules[];
extern const size_t audit_nrules;

/* The row of id, or NULL. */
const struct audit_rule *audit_rule_find(const char *id);

/*
 * Fills a finding from the table row of id, subject (bytes that are not
 * UTF-8 or are control characters become '?'), the formatted text and
 * detail (a JSON object, stolen, may be NULL), and calls the run's fn.
 */
void audit_emit(struct audit_ctx *c, const char *id, const char *subject, json_t *detail,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A JSON string of s cut to at most max bytes, with the same replacement as
 * audit_emit's subject; NULL only when out of memory. */
json_t *audit_jstr(const char *s, size_t max);

/*
 * Opens path (absolute as the device sees it, "/etc/shadow") inside the
 * root. flags are open(2) flags; O_NOFOLLOW applies to the last component.
 * A file descriptor, or -1 with errno set.
 */
int audit_open(const struct audit_ctx *c, const char *path, int flags);

/*
 * Reads the regular file path of the root into a malloc'd NUL-terminated
 * buffer of at most max bytes. 0, MM_ENOTFOUND (no such file), MM_ETOOBIG,
 * MM_EIO (logged), MM_EINVALID (not a regular file), MM_ENOMEM.
 */
int audit_read(const struct audit_ctx *c, const char *path, size_t max, char **out,
	       size_t *len);

/* The checks, in the order audit_run() calls them. */
void audit_check_accounts(struct audit_ctx *c);
void audit_check_services(struct audit_ctx *c);
void audit_check_files(struct audit_ctx *c);
void audit_check_certs(struct audit_ctx *c);
void audit_check_device(struct audit_ctx *c);

/* Copies src into dst (size bytes), cut and NUL-terminated. */
void audit_copy(char *dst, size_t size, const char *src);

#endif
