/*
 * The YARA half of scan.c, with libyara 4.2.
 *
 * Rules are compiled once, while the reporter still has its privileges (the
 * file may be readable by root alone). A file is scanned from memory, not
 * with yr_rules_scan_fd(): that maps the file, and a file truncated by its
 * owner while it is being scanned would kill the reporter with SIGBUS. The
 * copy is bounded by the size that was hashed, itself bounded by
 * scan_max_size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yara.h>

#include "mamori/error.h"
#include "mamori/log.h"

#include "report.h"

struct scan_yara {
	YR_RULES *rules;
};

struct compile_log {
	int errors;
};

static void on_compile(int level, const char *file, int line, const YR_RULE *rule,
		       const char *message, void *arg)
{
	struct compile_log *cl = arg;

	(void)rule;
	if (level == YARA_ERROR_LEVEL_ERROR) {
		cl->errors++;
		log_warnx("%s:%d: %s", file ? file : "yara", line, message);
	} else {
		log_info("%s:%d: warning: %s", file ? file : "yara", line, message);
	}
}

int scan_yara_new(const char *path, struct scan_yara **out)
{
	struct compile_log cl = {0};
	YR_COMPILER *comp = NULL;
	struct scan_yara *y = NULL;
	FILE *f = NULL;
	int rc = MM_ENOMEM, inited = 0;

	*out = NULL;
	if (!path)
		return 0;
	if (yr_initialize() != ERROR_SUCCESS)
		return MM_ENOMEM;
	inited = 1;
	if (!(y = calloc(1, sizeof *y)))
		goto fail;
	if (!(f = fopen(path, "re"))) {
		log_warn("yara rules %s", path);
		rc = MM_EIO;
		goto fail;
	}
	if (yr_compiler_create(&comp) != ERROR_SUCCESS)
		goto fail;
	yr_compiler_set_callback(comp, on_compile, &cl);
	if (yr_compiler_add_file(comp, f, NULL, path) > 0 || cl.errors > 0) {
		log_warnx("yara rules %s: %d error%s", path, cl.errors, cl.errors == 1 ? "" : "s");
		rc = MM_EPARSE;
		goto fail;
	}
	if (yr_compiler_get_rules(comp, &y->rules) != ERROR_SUCCESS)
		goto fail;
	yr_compiler_destroy(comp);
	fclose(f);
	*out = y;
	return 0;
fail:
	if (comp)
		yr_compiler_destroy(comp);
	if (f)
		fclose(f);
	free(y);
	if (inited)
		yr_finalize();
	return rc;
}

void scan_yara_free(struct scan_yara *y)
{
	if (!y)
		return;
	if (y->rules)
		yr_rules_destroy(y->rules);
	free(y);
	yr_finalize();
}

struct match {
	char *rule;
	size_t n;
	int matched;
};

static int on_scan(YR_SCAN_CONTEXT *ctx, int message, void *data, void *arg)
{
	struct match *m = arg;

	(void)ctx;
	if (message != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	m->matched = 1;
	if (m->n > 0)
		snprintf(m->rule, m->n, "%s", ((const YR_RULE *)data)->identifier);
	/* The first rule is all the guard needs: stop scanning. */
	return CALLBACK_ABORT;
}

/* Reads size bytes of fd from offset 0 into buf; returns the bytes read
 * (fewer when the file shrank) or -1. */
static ssize_t read_all(int fd, uint8_t *buf, uint64_t size)
{
	uint64_t off = 0;

	while (off < size) {
		ssize_t n = pread(fd, buf + off, (size_t)(size - off), (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		off += (uint64_t)n;
	}
	return (ssize_t)off;
}

int scan_yara_fd(struct scan_yara *y, int fd, uint64_t size, int timeout_s, char *rule,
		 size_t n)
{
	struct match m = {rule, n, 0};
	uint8_t *buf = NULL;
	ssize_t got;
	int rc;

	if (n > 0)
		rule[0] = '\0';
	if (!y || !y->rules)
		return 0;
	if (size > SIZE_MAX - 1 || !(buf = malloc(size ? (size_t)size : 1)))
		return MM_ENOMEM;
	if ((got = read_all(fd, buf, size)) < 0) {
		free(buf);
		return MM_EIO;
	}
	rc = yr_rules_scan_mem(y->rules, buf, (size_t)got, SCAN_FLAGS_FAST_MODE, on_scan, &m,
			       timeout_s);
	free(buf);
	if (rc != ERROR_SUCCESS && rc != ERROR_CALLBACK_ERROR) {
		if (n > 0)
			rule[0] = '\0';
		return MM_EIO;
	}
	return m.matched;
}
