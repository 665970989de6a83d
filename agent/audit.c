/*
 * The audit's frame: options, the table of finding ids with their severity
 * and the baseline clauses they come from, the run that calls each check in
 * turn, and a finding as JSON. docs/formats/audit.md is written from the
 * table below; tests/unit/test_agent_audit.c checks that every id has a
 * clause.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "audit_int.h"
#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define JP "Terminal Equipment Rules Art. 34-10 "
#define PSTI_PW "Schedule 1 para 1"
#define PSTI_SUPPORT "Schedule 1 para 3"

/*
 * EN 303 645 V2.1.1 provisions: 5.1-1 no universal default passwords,
 * 5.1-5 brute force on network authentication impracticable, 5.3-2 a secure
 * update mechanism, 5.3-13 the support period published, 5.4-1 security
 * parameters stored securely, 5.5-1 best-practice cryptography, 5.6-1
 * unused interfaces disabled, 5.6-7 least privilege, 5.9-2 recover cleanly
 * after a loss of power. PSTI Schedule 1: para 1 passwords, para 3 the
 * security update period. Japan's Terminal Equipment Rules Art. 34-10:
 * (1) access control, (2) the initial identification code changed, (3)
 * software update, (4) settings kept when power is lost.
 */
const struct audit_rule audit_rules[] = {
	{"credential.empty", AUDIT_CRITICAL, "5.1-1", PSTI_PW, JP "(1)(2)"},
	{"credential.default", AUDIT_CRITICAL, "5.1-1", PSTI_PW, JP "(2)"},
	{"service.telnet", AUDIT_HIGH, "5.5-1, 5.6-1", "", JP "(1)"},
	{"service.cleartext", AUDIT_HIGH, "5.5-1, 5.6-1", "", JP "(1)"},
	{"service.telnet.enabled", AUDIT_MEDIUM, "5.6-1", "", JP "(1)"},
	{"ssh.root_password", AUDIT_HIGH, "5.1-5, 5.6-7", "", JP "(1)"},
	{"path.world_writable", AUDIT_HIGH, "5.6-7", "", JP "(1)"},
	{"file.setuid", AUDIT_MEDIUM, "5.6-7", "", ""},
	{"cert.expired", AUDIT_HIGH, "5.5-1", "", ""},
	{"cert.expiring", AUDIT_MEDIUM, "5.5-1", "", ""},
	{"cert.weak_key", AUDIT_HIGH, "5.5-1", "", ""},
	{"cert.weak_signature", AUDIT_MEDIUM, "5.5-1", "", ""},
	{"cert.missing", AUDIT_LOW, "5.5-1", "", ""},
	{"key.readable", AUDIT_HIGH, "5.4-1", "", JP "(1)"},
	{"key.weak", AUDIT_HIGH, "5.5-1", "", ""},
	{"device.firmware_unknown", AUDIT_MEDIUM, "5.3-2", "", JP "(3)"},
	{"device.support_undeclared", AUDIT_HIGH, "5.3-13", PSTI_SUPPORT, ""},
	{"device.support_ended", AUDIT_HIGH, "5.3-13", PSTI_SUPPORT, JP "(3)"},
	{"persist.volatile_state", AUDIT_MEDIUM, "5.9-2", "", JP "(4)"},
	{"persist.interrupted_write", AUDIT_LOW, "5.9-2", "", JP "(4)"},
	{"persist.config", AUDIT_LOW, "5.9-2", "", JP "(4)"},
};
const size_t audit_nrules = sizeof audit_rules / sizeof audit_rules[0];

/* The setuid and setgid programs a Linux device is expected to carry. */
static const char *const default_setuid[] = {
	"/bin/su",	 "/usr/bin/su",	    "/usr/bin/passwd", "/usr/bin/sudo",
	"/bin/mount",	 "/usr/bin/mount",  "/bin/umount",     "/usr/bin/umount",
	"/usr/bin/newgrp", "/usr/bin/chsh", "/usr/bin/chfn",   "/usr/bin/gpasswd",
};

void audit_opts_defaults(struct audit_opts *o)
{
	size_t i;

	memset(o, 0, sizeof *o);
	o->root = "/";
	o->cert_days = 30;
	o->listeners = 1;
	o->max_files = 200000;
	for (i = 0; i < sizeof default_setuid / sizeof default_setuid[0]; i++)
		o->setuid_allow[i] = default_setuid[i];
}

const char *audit_severity_name(enum audit_severity s)
{
	switch (s) {
	case AUDIT_LOW:
		return "low";
	case AUDIT_MEDIUM:
		return "medium";
	case AUDIT_HIGH:
		return "high";
	case AUDIT_CRITICAL:
		return "critical";
	}
	return "unknown";
}

const struct audit_rule *audit_rule_find(const char *id)
{
	size_t i;

	for (i = 0; i < audit_nrules; i++)
		if (strcmp(audit_rules[i].id, id) == 0)
			return &audit_rules[i];
	return NULL;
}

void audit_copy(char *dst, size_t size, const char *src)
{
	if (size == 0)
		return;
	snprintf(dst, size, "%s", src);
}

/*
 * Copies src into dst (size bytes) keeping whole UTF-8 sequences; a byte
 * that does not start one, and every control character, becomes '?', so
 * that a file or user name chosen to be odd still gives valid JSON.
 */
static void clean_copy(char *dst, size_t size, const char *src, size_t max)
{
	size_t len = strlen(src), i = 0, o = 0;

	if (size == 0)
		return;
	if (len > max)
		len = max;
	while (i < len && o + 1 < size) {
		unsigned char ch = (unsigned char)src[i];
		size_t ok;

		if (ch < 0x80) {
			dst[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
			i++;
			continue;
		}
		/* The longest valid prefix from here, then keep one sequence of it. */
		ok = mm_utf8_check(src + i, len - i);
		if (ok == 0) {
			dst[o++] = '?';
			i++;
			continue;
		}
		{
			size_t seq = ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 : 2;

			if (seq > ok || o + seq + 1 > size)
				break;
			memcpy(dst + o, src + i, seq);
			o += seq;
			i += seq;
		}
	}
	dst[o] = '\0';
}

json_t *audit_jstr(const char *s, size_t max)
{
	char buf[1024];

	if (max >= sizeof buf)
		max = sizeof buf - 1;
	clean_copy(buf, max + 1, s, max);
	return json_string(buf);
}

void audit_emit(struct audit_ctx *c, const char *id, const char *subject, json_t *detail,
		const char *fmt, ...)
{
	const struct audit_rule *r = audit_rule_find(id);
	struct audit_finding f;
	va_list ap;
	char *d = NULL;

	if (r == NULL) {
		/* Only a bug of this module gets here: the table is the list of ids. */
		log_warnx("audit: finding id %s is not in the table", id);
		json_decref(detail);
		return;
	}
	memset(&f, 0, sizeof f);
	audit_copy(f.id, sizeof f.id, r->id);
	f.severity = r->severity;
	audit_copy(f.en303645, sizeof f.en303645, r->en303645);
	audit_copy(f.psti, sizeof f.psti, r->psti);
	audit_copy(f.jp, sizeof f.jp, r->jp);
	clean_copy(f.subject, sizeof f.subject, subject, sizeof f.subject - 1);
	va_start(ap, fmt);
	vsnprintf(f.text, sizeof f.text, fmt, ap);
	va_end(ap);
	if (detail != NULL) {
		d = json_dumps(detail, JSON_COMPACT);
		if (d != NULL && strlen(d) < sizeof f.detail)
			audit_copy(f.detail, sizeof f.detail, d);
		else
			log_warnx("audit: %s %s: detail left out (%zu bytes)", id, f.subject,
				  d != NULL ? strlen(d) : (size_t)0);
		free(d);
		json_decref(detail);
	}
	c->count++;
	c->fn(&f, c->arg);
}

int audit_open(const struct audit_ctx *c, const char *path, int flags)
{
	struct open_how how;
	int fd;

	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, c->rootfd, path, &how, sizeof how);
	if (fd == -1 && errno == ENOSYS) {
		/* Kernels before 5.6: no symbolic link is followed at all. */
		fd = openat(c->rootfd, path, flags | O_CLOEXEC | O_NOFOLLOW);
	}
	return fd;
}

int audit_read(const struct audit_ctx *c, const char *path, size_t max, char **out,
	       size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd, rc;

	*out = NULL;
	*len = 0;
	fd = audit_open(c, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return MM_ENOTFOUND;
		log_warn("audit: %s", path);
		return MM_EIO;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("audit: %s", path);
		rc = MM_EIO;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = MM_EINVALID;
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		log_warnx("audit: %s: larger than %zu bytes, not read", path, max);
		rc = MM_ETOOBIG;
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = MM_ENOMEM;
		goto fail;
	}
	/* Read what fstat promised and no more: a file that grows meanwhile is cut. */
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			log_warn("audit: %s", path);
			rc = MM_EIO;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	close(fd);
	*out = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	close(fd);
	return rc;
}

int audit_run(const struct audit_opts *o, void (*fn)(const struct audit_finding *f, void *arg),
	      void *arg)
{
	struct audit_ctx c;
	const char *root = o->root != NULL ? o->root : "/";

	memset(&c, 0, sizeof c);
	c.o = o;
	c.fn = fn;
	c.arg = arg;
	c.now = o->now_s != 0 ? o->now_s : (int64_t)time(NULL);
	c.rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c.rootfd == -1) {
		log_warn("audit: root %s", root);
		return errno == ENOENT || errno == ENOTDIR ? MM_ENOTFOUND : MM_EIO;
	}
	audit_check_accounts(&c);
	audit_check_services(&c);
	audit_check_files(&c);
	audit_check_certs(&c);
	audit_check_device(&c);
	close(c.rootfd);
	return c.count;
}

int audit_finding_json(const struct audit_finding *f, char *out, size_t n)
{
	json_t *o = NULL, *cl = NULL, *d = NULL, *s;
	char *txt = NULL;
	int rc = MM_ENOMEM;

	if (n == 0)
		return MM_ETOOBIG;
	if ((o = json_object()) == NULL || (cl = json_object()) == NULL)
		goto fail;
	if (json_object_set_new(o, "id", json_string(f->id)) == -1 ||
	    json_object_set_new(o, "severity", json_string(audit_severity_name(f->severity))) ==
		    -1)
		goto fail;
	if (f->en303645[0] && json_object_set_new(cl, "en303645", json_string(f->en303645)) == -1)
		goto fail;
	if (f->psti[0] && json_object_set_new(cl, "psti", json_string(f->psti)) == -1)
		goto fail;
	if (f->jp[0] && json_object_set_new(cl, "jp", json_string(f->jp)) == -1)
		goto fail;
	if (json_object_size(cl) > 0) {
		if (json_object_set(o, "clauses", cl) == -1)
			goto fail;
	}
	/* The struct may have been filled by someone else: clean its text again. */
	if ((s = audit_jstr(f->subject, sizeof f->subject - 1)) == NULL ||
	    json_object_set_new(o, "subject", s) == -1)
		goto fail;
	if ((s = audit_jstr(f->text, sizeof f->text - 1)) == NULL ||
	    json_object_set_new(o, "text", s) == -1)
		goto fail;
	if (f->detail[0]) {
		d = json_loadb(f->detail, strnlen(f->detail, sizeof f->detail), 0, NULL);
		if (d == NULL || !json_is_object(d)) {
			rc = MM_EPARSE;
			goto fail;
		}
		/* Detail members sit beside id and subject and never replace them. */
		if (json_object_update_missing(o, d) == -1)
			goto fail;
	}
	if ((txt = json_dumps(o, JSON_COMPACT)) == NULL)
		goto fail;
	if (strlen(txt) >= n) {
		rc = MM_ETOOBIG;
		goto fail;
	}
	memcpy(out, txt, strlen(txt) + 1);
	rc = 0;
fail:
	free(txt);
	json_decref(d);
	json_decref(cl);
	json_decref(o);
	return rc;
}
