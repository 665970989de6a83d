/*
 * mamori-soc's configuration: inih splits the file, a table says what each
 * key means. Keys that may repeat (listen, expect) and the [alert NAME]
 * sections are why this is not lib/conf.c's fixed table.
 */
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mamori/error.h"

#include "alert.h"
#include "config.h"

enum ktype { K_STR, K_INT, K_SIZE, K_SECS, K_BOOL, K_VERIFY, K_TRI, K_DOUBLE };

struct key {
	const char *section, *name;
	enum ktype type;
	size_t off;
	long long min, max;
};

#define O(f) offsetof(struct soc_config, f)
static const struct key keys[] = {
	{"soc", "store", K_STR, O(store), 0, 0},
	{"soc", "state_dir", K_STR, O(state_dir), 0, 0},
	{"soc", "http", K_STR, O(http), 0, 0},
	{"soc", "queue", K_INT, O(queue), 16, 16 * 1024 * 1024},
	{"soc", "batch", K_INT, O(batch), 1, 100000},
	{"soc", "max_msg", K_SIZE, O(max_msg), 480, 16 * 1024 * 1024},
	{"tls", "cert", K_STR, O(tls_cert), 0, 0},
	{"tls", "key", K_STR, O(tls_key), 0, 0},
	{"tls", "ca", K_STR, O(tls_ca), 0, 0},
	{"tls", "verify", K_VERIFY, O(tls_verify), 0, 0},
	{"limits", "max_clients", K_INT, O(max_clients), 1, 1000000},
	{"limits", "max_per_addr", K_INT, O(max_per_addr), 1, 1000000},
	{"limits", "conn_buffer", K_SIZE, O(conn_buffer), 4096, 1LL << 30},
	{"limits", "udp_buffer", K_SIZE, O(udp_buffer), 0, 1LL << 30},
	{"limits", "idle", K_SECS, O(idle_s), 1, 86400 * 7},
	{"limits", "first_message", K_SECS, O(first_msg_s), 1, 86400},
	{"retention", "max_age", K_SECS, O(retain_age_s), 0, 1LL << 40},
	{"retention", "max_size", K_SIZE, O(retain_bytes), 0, 1LL << 50},
	{"retention", "interval", K_SECS, O(retain_every_s), 1, 86400},
	{"retention", "max_dead_letters", K_INT, O(dead_max), 0, 1LL << 40},
	{"correlate", "window", K_SECS, O(corr_window_s), 1, 86400 * 7},
	{"correlate", "protocols", K_INT, O(corr_protocols), 2, 100},
	{"correlate", "threshold", K_INT, O(corr_threshold), 0, 1000000},
	{"correlate", "by_reporter", K_BOOL, O(corr_by_reporter), 0, 0},
	{"silence", "factor", K_DOUBLE, O(sil_factor), 0, 0},
	{"silence", "min_reports", K_INT, O(sil_min_reports), 2, 1000},
	{"silence", "grace", K_SECS, O(sil_grace_s), 0, 86400},
	{"fleet", "expire_days", K_INT, O(fleet_expire_days), 0, 3650},
	{"fleet", "audit_interval", K_SECS, O(fleet_audit_s), 1, 86400 * 7},
	{"fleet", "never_authenticated", K_TRI, O(fleet_never_auth), 0, 0},
};
#undef O

void soc_config_init(struct soc_config *c)
{
	memset(c, 0, sizeof *c);
	c->queue = 65536;
	c->batch = 16384;
	c->max_msg = 64 * 1024;
	c->tls_verify = 0;
	c->max_clients = 1024;
	c->max_per_addr = 256;
	c->conn_buffer = 256 * 1024;
	c->udp_buffer = 0;
	c->idle_s = 300;
	c->first_msg_s = 30;
	c->retain_age_s = 0;
	c->retain_bytes = 0;
	c->retain_every_s = 60;
	c->dead_max = 100000;
	c->corr_window_s = 300;
	c->corr_protocols = 2;
	c->corr_threshold = 5;
	c->corr_by_reporter = 1;
	c->sil_factor = 3.0;
	c->sil_min_reports = 4;
	c->sil_grace_s = 2;
	c->fleet_expire_days = 30;
	c->fleet_audit_s = 60;
	c->fleet_never_auth = -1;
}

void soc_config_free(struct soc_config *c)
{
	int i;

	free(c->store);
	free(c->state_dir);
	free(c->http);
	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_ca);
	for (i = 0; i < c->nexpect; i++)
		free(c->sil_expect_dev[i]);
	memset(c, 0, sizeof *c);
}

int soc_parse_duration_ms(const char *s, long long *ms)
{
	char *end;
	long long n, mul = 1000;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end == s || errno == ERANGE || n < 0)
		return MM_EINVAL;
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (*end == 0 || strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mul = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		mul = 86400LL * 1000;
	else
		return MM_EINVAL;
	if (n > (1LL << 52) / mul)
		return MM_EINVAL;
	*ms = n * mul;
	return 0;
}

static int parse_size(const char *v, long long *out)
{
	char *end;
	long long n, mul = 1;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (end == v || errno == ERANGE || n < 0)
		return -1;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': mul = 1024LL; break;
		case 'm': case 'M': mul = 1024LL * 1024; break;
		case 'g': case 'G': mul = 1024LL * 1024 * 1024; break;
		default: return -1;
		}
		if (end[1] && !(end[1] == 'B' && !end[2]) && !(end[1] == 'i' && end[2] == 'B' && !end[3]))
			return -1;
	}
	if (n > (1LL << 53) / mul)
		return -1;
	*out = n * mul;
	return 0;
}

int soc_config_add_listen(struct soc_config *c, const char *url)
{
	static const char *const schemes[] = {"udp://", "tcp://", "tls://", "relp://",
					      "relp+tls://"};
	size_t i;

	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (strncmp(url, schemes[i], strlen(schemes[i])) == 0)
			break;
	if (i == sizeof schemes / sizeof schemes[0])
		return MM_EINVAL;
	if (c->nlisten >= SOC_MAX_LISTEN)
		return MM_ETOOBIG;
	if ((c->listen[c->nlisten] = strdup(url)) == NULL)
		return MM_ENOMEM;
	c->nlisten++;
	return 0;
}

struct run {
	struct soc_config *c;
	struct alert *a;
	char msg[256];
	int failed;
};

static int failf(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	va_end(ap);
	r->failed = 1;
	return 0;
}

static int set_key(struct run *r, const struct key *k, const char *v)
{
	void *dst = (char *)r->c + k->off;
	long long n = 0, ms;
	char *end;

	switch (k->type) {
	case K_STR:
		free(*(char **)dst);
		if ((*(char **)dst = strdup(v)) == NULL)
			return failf(r, "out of memory");
		return 1;
	case K_INT:
		/* Decimal, or hexadecimal with 0x; never octal ("010" is ten). */
		errno = 0;
		n = (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) ? strtoll(v + 2, &end, 16)
								  : strtoll(v, &end, 10);
		if (end == v || *end || errno)
			return failf(r, "%s: not a number: %s", k->name, v);
		break;
	case K_SIZE:
		if (parse_size(v, &n) < 0)
			return failf(r, "%s: not a size (N, NK, NM, NG): %s", k->name, v);
		break;
	case K_SECS:
		if (soc_parse_duration_ms(v, &ms) < 0)
			return failf(r, "%s: not a duration (N, Ns, Nm, Nh, Nd): %s", k->name, v);
		n = ms / 1000;
		break;
	case K_BOOL:
	case K_TRI:
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") ||
		    !strcmp(v, "1"))
			*(int *)dst = 1;
		else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
			 !strcmp(v, "0"))
			*(int *)dst = 0;
		else if (k->type == K_TRI && !strcasecmp(v, "auto"))
			*(int *)dst = -1;
		else
			return failf(r, "%s: expected yes or no%s: %s", k->name,
				     k->type == K_TRI ? " or auto" : "", v);
		return 1;
	case K_VERIFY:
		if (!strcmp(v, "none"))
			*(int *)dst = 0;
		else if (!strcmp(v, "optional"))
			*(int *)dst = 1;
		else if (!strcmp(v, "require"))
			*(int *)dst = 2;
		else
			return failf(r, "verify: expected none, optional or require: %s", v);
		return 1;
	case K_DOUBLE: {
		double d;
		errno = 0;
		d = strtod(v, &end);
		if (end == v || *end || errno || d < 1.0 || d > 1000.0)
			return failf(r, "%s: expected a number from 1 to 1000: %s", k->name, v);
		*(double *)dst = d;
		return 1;
	}
	}
	if (k->min != k->max && (n < k->min || n > k->max))
		return failf(r, "%s: %s is outside %lld..%lld", k->name, v, k->min, k->max);
	*(long long *)dst = n;
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct run *r = user;
	size_t i;

	if (r->failed)
		return 0;
	if (strncmp(section, "alert ", 6) == 0) {
		const char *rule = section + 6;
		while (*rule == ' ')
			rule++;
		if (!*rule)
			return failf(r, "[alert NAME]: the rule needs a name");
		if (!r->a)
			return 1;
		if (alert_rule_set(r->a, rule, name, value, r->msg, sizeof r->msg) < 0) {
			r->failed = 1;
			return 0;
		}
		return 1;
	}
	if (!strcmp(section, "soc") && !strcmp(name, "listen")) {
		int rc = soc_config_add_listen(r->c, value);
		if (rc == MM_EINVAL)
			return failf(r, "listen: expected udp://, tcp://, tls://, relp:// or "
					"relp+tls://ADDR:PORT: %s", value);
		if (rc < 0)
			return failf(r, "listen: at most %d listeners", SOC_MAX_LISTEN);
		return 1;
	}
	if (!strcmp(section, "silence") && !strcmp(name, "expect")) {
		/* expect = DEVICE PERIOD */
		const char *sp = strrchr(value, ' ');
		long long ms;
		if (!sp || sp == value)
			return failf(r, "expect: expected DEVICE PERIOD: %s", value);
		if (soc_parse_duration_ms(sp + 1, &ms) < 0 || ms <= 0)
			return failf(r, "expect: not a period: %s", sp + 1);
		if (r->c->nexpect >= SOC_MAX_EXPECT)
			return failf(r, "expect: at most %d", SOC_MAX_EXPECT);
		if ((r->c->sil_expect_dev[r->c->nexpect] = strndup(value, (size_t)(sp - value))) ==
		    NULL)
			return failf(r, "out of memory");
		r->c->sil_expect_ms[r->c->nexpect++] = ms;
		return 1;
	}
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, name))
			return set_key(r, &keys[i], value);
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!strcmp(keys[i].section, section))
			return failf(r, "[%s]: unknown key %s", section, name);
	if (!strcmp(section, "silence"))
		return failf(r, "[%s]: unknown key %s", section, name);
	return failf(r, "unknown section [%s]", section);
}

static int finish(struct run *r, int rc, const char *name, char *err, size_t errlen)
{
	if (rc == 0 && !r->failed)
		return 0;
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", name, strerror(errno));
		return MM_EIO;
	}
	snprintf(err, errlen, "%s:%d: %s", name, rc, r->failed ? r->msg : "syntax error");
	return MM_EPARSE;
}

int soc_config_load(struct soc_config *c, struct alert *a, const char *path, char *err,
		    size_t errlen)
{
	struct run r = {.c = c, .a = a};
	int rc = ini_parse(path, handler, &r);
	return finish(&r, rc, path, err, errlen);
}

int soc_config_parse(struct soc_config *c, struct alert *a, const char *text, const char *name,
		     char *err, size_t errlen)
{
	struct run r = {.c = c, .a = a};
	int rc = ini_parse_string(text, handler, &r);
	return finish(&r, rc, name, err, errlen);
}
