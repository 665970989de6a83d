/*
 * Table-driven configuration loading on top of inih. inih splits the file
 * into (section, name, value) and tells the line of the first failure; this
 * file decides what each value means and why it is refused.
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mamori/conf.h"
#include "mamori/error.h"

struct conf_run {
	const struct mm_conf_key *keys;
	size_t nkeys;
	unsigned char seen[MM_CONF_MAX_KEYS];
	struct mm_conf_err *err;
	int failed;
};

static int fail(struct conf_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct conf_run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(run->err->msg, sizeof run->err->msg, fmt, ap);
	va_end(ap);
	run->failed = 1;
	return 0; /* inih: stop, and report this line */
}

static int parse_int(const char *v, int with_suffix, long long *out)
{
	char *end;
	long long n, mul = 1;

	errno = 0;
	n = strtoll(v, &end, 0);
	if (end == v || errno == ERANGE)
		return -1;
	if (with_suffix && *end) {
		switch (*end) {
		case 'k': case 'K': mul = 1024LL; break;
		case 'm': case 'M': mul = 1024LL * 1024; break;
		case 'g': case 'G': mul = 1024LL * 1024 * 1024; break;
		default: return -1;
		}
		end++;
		if (n < 0 || n > __LONG_LONG_MAX__ / mul)
			return -1;
		n *= mul;
	}
	if (*end)
		return -1;
	*out = n;
	return 0;
}

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_run *run = user;
	const struct mm_conf_key *k = NULL;
	long long n;
	size_t i;
	char *copy;

	for (i = 0; i < run->nkeys; i++)
		if (strcmp(run->keys[i].section, section) == 0 &&
		    strcmp(run->keys[i].name, name) == 0) {
			k = &run->keys[i];
			break;
		}
	if (!k)
		return fail(run, "unknown key '%s' in section [%s]", name, section);
	if (run->seen[i])
		return fail(run, "key '%s' in section [%s] given twice", name, section);
	run->seen[i] = 1;
	switch (k->type) {
	case MM_CONF_STR:
		if ((copy = strdup(value)) == NULL)
			return fail(run, "out of memory");
		free(*(char **)k->dst);
		*(char **)k->dst = copy;
		return 1;
	case MM_CONF_BOOL:
		if (parse_bool(value, (int *)k->dst) < 0)
			return fail(run, "%s: '%s' is not yes or no", name, value);
		return 1;
	case MM_CONF_INT:
	case MM_CONF_SIZE:
		if (parse_int(value, k->type == MM_CONF_SIZE, &n) < 0)
			return fail(run, "%s: '%s' is not a %s", name, value,
				    k->type == MM_CONF_SIZE ? "size" : "number");
		if ((k->min || k->max) && (n < k->min || n > k->max))
			return fail(run, "%s: %s is out of range %lld..%lld", name, value, k->min,
				    k->max);
		*(long long *)k->dst = n;
		return 1;
	}
	return fail(run, "%s: bad key type", name);
}

static int finish(struct conf_run *run, int rc)
{
	if (rc == 0)
		return 0;
	if (rc == -1) {
		run->err->line = 0;
		snprintf(run->err->msg, sizeof run->err->msg, "%s", strerror(errno));
		return MM_EIO;
	}
	if (rc == -2) {
		run->err->line = 0;
		snprintf(run->err->msg, sizeof run->err->msg, "out of memory");
		return MM_ENOMEM;
	}
	run->err->line = rc;
	if (!run->failed)
		snprintf(run->err->msg, sizeof run->err->msg,
			 "not a [section], key = value, or comment line");
	return MM_EPARSE;
}

int mm_conf_load(const char *path, const struct mm_conf_key *keys, size_t nkeys,
		 struct mm_conf_err *err)
{
	struct conf_run run = {.keys = keys, .nkeys = nkeys, .err = err};

	if (nkeys > MM_CONF_MAX_KEYS)
		return MM_EINVAL;
	memset(err, 0, sizeof *err);
	errno = 0;
	return finish(&run, ini_parse(path, handler, &run));
}

int mm_conf_parse(const char *text, const struct mm_conf_key *keys, size_t nkeys,
		  struct mm_conf_err *err)
{
	struct conf_run run = {.keys = keys, .nkeys = nkeys, .err = err};

	if (nkeys > MM_CONF_MAX_KEYS)
		return MM_EINVAL;
	memset(err, 0, sizeof *err);
	return finish(&run, ini_parse_string(text, handler, &run));
}
