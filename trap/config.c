/*
 * mamori-trap's configuration (mamori-trap.conf(5)): libmamori's key table
 * loader reads the file; what a range cannot say (a word among several, an
 * address, a URL) is checked here, with the line named where there is one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mamori/conf.h"
#include "mamori/error.h"
#include "mamori/reporter.h"
#include "mamori/send.h"
#include "mamori/spool.h"

#include "trap.h"

/* Installed data first; run from the build tree, the sources' data/. */
static const char *data_path(const char *rel, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", MAMORI_DATADIR, rel);
	if (access(out, F_OK) != 0)
		snprintf(out, cap, "%s/%s", MAMORI_SRC_DATADIR, rel);
	return out;
}

int trap_errf(char *err, size_t size, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && size) {
		va_start(ap, fmt);
		vsnprintf(err, size, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int trap_config_init(struct trap_config *c)
{
	char path[PATH_MAX];

	memset(c, 0, sizeof *c);
	c->port = 2323;
	c->seed = -1;
	c->accept = TRAP_ACCEPT_MIRAI;
	c->accept_after = 0;
	c->max_attempts = 3;
	c->delay_ms = -1;
	c->max_sessions = 20000;
	c->per_address = 16;
	c->rate_per_address = 60;
	c->max_addresses = 65536;
	c->idle_timeout = 180;
	c->session_timeout = 900;
	c->max_line = 4096;
	c->max_fs = 8LL << 20;
	c->max_output = 1LL << 20;
	c->max_output_queue = 256LL << 10;
	c->max_memory = 1LL << 30;
	c->capture_max_bytes = 1LL << 30;
	c->capture_max_file = 32LL << 20;
	c->fetch = 0;
	c->fetch_timeout = 30;
	c->fetch_max = 0;
	c->fetch_concurrent = 16;
	c->fetch_per_session = 8;
	c->record = 1;
	c->record_max_bytes = 1LL << 20;
	c->record_max_total = 1LL << 30;
	c->log_max = 64LL << 20;
	c->log_keep = 4;
	c->spool_max = 64LL << 20;
	if (!(c->listen = strdup("0.0.0.0")) || !(c->dir = strdup("/var/lib/mamori/trap")) ||
	    !(c->persona = strdup("dvr-arm")) || !(c->user = strdup("nobody")) ||
	    !(c->accept_s = strdup("mirai")) ||
	    !(c->fetch_deny = strdup(TRAP_FETCH_DENY_DEFAULT)) ||
	    !(c->personas = strdup(data_path("trap/personas", path, sizeof path))) ||
	    !(c->attack = strdup(data_path("trap/attack.tsv", path, sizeof path))) ||
	    !(c->credentials = strdup(data_path("credentials.tsv", path, sizeof path)))) {
		trap_config_free(c);
		return MM_ENOMEM;
	}
	return 0;
}

void trap_config_free(struct trap_config *c)
{
	char **strs[] = {&c->listen, &c->dir,	 &c->persona,	  &c->personas, &c->user,
			 &c->sensor, &c->attack, &c->credentials, &c->accept_s, &c->url,
			 &c->spool,  &c->spool_sync, &c->ca,	  &c->cert,	&c->key,
			 &c->server_name, &c->hostname, &c->reporter, &c->fetch_deny};
	size_t i;

	for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	free(c->deny);
	c->deny = NULL;
	c->ndeny = 0;
}

/* One block of a list: ADDR or ADDR/N. */
static int cidr_parse(const char *tok, size_t len, struct trap_cidr *out)
{
	char addr[64];
	const char *slash = memchr(tok, '/', len);
	size_t alen = slash ? (size_t)(slash - tok) : len;
	struct in_addr a4;
	long bits = -1;
	int v4;
	unsigned i;

	if (alen == 0 || alen >= sizeof addr)
		return MM_EINVAL;
	memcpy(addr, tok, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		v4 = 1;
		out->b[10] = out->b[11] = 0xff;
		memcpy(out->b + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, addr, out->b) == 1) {
		v4 = 0;
	} else {
		return MM_EINVAL;
	}
	if (slash) {
		char num[8], *end;
		size_t nlen = len - alen - 1;

		if (nlen == 0 || nlen >= sizeof num)
			return MM_EINVAL;
		memcpy(num, slash + 1, nlen);
		num[nlen] = '\0';
		errno = 0;
		bits = strtol(num, &end, 10);
		if (errno || *end || bits < 0 || bits > (v4 ? 32 : 128))
			return MM_EINVAL;
	}
	if (bits < 0)
		bits = v4 ? 32 : 128;
	out->bits = (uint8_t)(v4 ? 96 + bits : bits);
	/* The host bits are cleared, so that 10.1.2.3/8 is 10.0.0.0/8. */
	for (i = out->bits; i < 128; i++)
		out->b[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return 0;
}

int trap_cidr_parse_list(const char *s, struct trap_cidr *out, size_t cap, size_t *n, char *bad,
			 size_t badlen)
{
	const char *p = s;

	*n = 0;
	if (bad && badlen)
		bad[0] = '\0';
	if (strcmp(s, "none") == 0)
		return 0;
	while (*p) {
		size_t len;

		p += strspn(p, " \t,");
		if (!*p)
			break;
		len = strcspn(p, " \t,");
		if (*n == cap) {
			if (bad)
				snprintf(bad, badlen, "more than %zu blocks", cap);
			return MM_EFULL;
		}
		if (cidr_parse(p, len, &out[*n]) < 0) {
			if (bad)
				snprintf(bad, badlen, "%.*s", (int)(len > 64 ? 64 : len), p);
			return MM_EINVAL;
		}
		(*n)++;
		p += len;
	}
	return 0;
}

int trap_cidr_match(const struct trap_cidr *list, size_t n, const struct trap_addr *a)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned full = list[i].bits / 8, rest = list[i].bits % 8;

		if (memcmp(list[i].b, a->b, full) != 0)
			continue;
		if (rest && ((list[i].b[full] ^ a->b[full]) & (uint8_t)(0xff00u >> rest)) != 0)
			continue;
		return 1;
	}
	return 0;
}

int trap_accept_parse(const char *s, enum trap_accept *out)
{
	static const struct {
		const char *word;
		enum trap_accept v;
	} words[] = {
		{"none", TRAP_ACCEPT_NONE},
		{"mirai", TRAP_ACCEPT_MIRAI},
		{"all", TRAP_ACCEPT_ALL},
		{"any", TRAP_ACCEPT_ANY},
	};
	size_t i;

	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(s, words[i].word) == 0) {
			*out = words[i].v;
			return 0;
		}
	return MM_EINVAL;
}

/* Finds the line of key in section in text, so that an error found after
 * the loader names it as the loader would; 0 when not found. */
static int key_line(const char *text, const char *section, const char *key)
{
	char cur[64] = "";
	int line = 0;
	const char *p = text;

	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		size_t i = 0, n;

		line++;
		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i < len && p[i] == '[') {
			n = 0;
			for (i++; i < len && p[i] != ']' && n + 1 < sizeof cur; i++)
				cur[n++] = p[i];
			cur[n] = '\0';
		} else if (strcmp(cur, section) == 0) {
			n = strlen(key);
			if (len - i >= n && strncmp(p + i, key, n) == 0 &&
			    (i + n == len || strchr(" \t=", p[i + n])))
				return line;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* The checks a table of ranges cannot make. */
static int check_values(struct trap_config *c, const char *text, const char *name, char *err,
			size_t errlen)
{
	struct in6_addr a6;
	struct in_addr a4;
	struct mm_send_url u;
	struct mm_spool_opts so;
	struct mm_reporter_party party;
	int line;

	if (c->accept_s && trap_accept_parse(c->accept_s, &c->accept) < 0) {
		line = text ? key_line(text, "login", "accept") : 0;
		return trap_errf(err, errlen, MM_EINVAL,
			    "%s:%d: [login] accept: expected mirai, all, any or none: %s", name,
			    line, c->accept_s);
	}
	if (c->listen && inet_pton(AF_INET, c->listen, &a4) != 1 &&
	    inet_pton(AF_INET6, c->listen, &a6) != 1) {
		line = text ? key_line(text, "trap", "listen") : 0;
		return trap_errf(err, errlen, MM_EINVAL, "%s:%d: [trap] listen: not an IP address: %s",
			    name, line, c->listen);
	}
	if (c->url && strcmp(c->url, "none") != 0 && mm_send_url_parse(c->url, &u) < 0) {
		line = text ? key_line(text, "soc", "url") : 0;
		return trap_errf(err, errlen, MM_EINVAL,
			    "%s:%d: [soc] url: expected udp://, tcp://, tls://, relp:// or "
			    "relp+tls://HOST:PORT or none: %s",
			    name, line, c->url);
	}
	mm_spool_opts_default(&so);
	if (c->spool_sync && mm_spool_sync_parse(c->spool_sync, &so) < 0) {
		line = text ? key_line(text, "soc", "spool_sync") : 0;
		return trap_errf(err, errlen, MM_EINVAL,
			    "%s:%d: [soc] spool_sync: expected always, interval or never: %s", name,
			    line, c->spool_sync);
	}
	if (c->reporter && mm_reporter_party_parse(c->reporter, &party) < 0) {
		line = text ? key_line(text, "soc", "reporter") : 0;
		return trap_errf(err, errlen, MM_EINVAL,
				 "%s:%d: [soc] reporter: expected ip:ADDR, name:NAME, id:ID or "
				 "mac:MAC: %s",
				 name, line, c->reporter);
	}
	if (c->fetch_deny) {
		struct trap_cidr tmp[TRAP_CIDR_MAX];
		char bad[80];
		size_t n;

		if (trap_cidr_parse_list(c->fetch_deny, tmp, TRAP_CIDR_MAX, &n, bad, sizeof bad) <
		    0) {
			line = text ? key_line(text, "capture", "fetch_deny") : 0;
			return trap_errf(err, errlen, MM_EINVAL,
				    "%s:%d: [capture] fetch_deny: not an address block: %s", name,
				    line, bad);
		}
		free(c->deny);
		c->deny = NULL;
		c->ndeny = 0;
		if (n > 0) {
			if (!(c->deny = malloc(n * sizeof *c->deny)))
				return trap_errf(err, errlen, MM_ENOMEM, "out of memory");
			memcpy(c->deny, tmp, n * sizeof *c->deny);
			c->ndeny = n;
		}
	}
	if (c->fetch_max > c->capture_max_file) {
		line = text ? key_line(text, "capture", "fetch_max") : 0;
		return trap_errf(err, errlen, MM_EINVAL,
			    "%s:%d: [capture] fetch_max: larger than [capture] max_file (%lld)",
			    name, line, c->capture_max_file);
	}
	if (c->reporter && strncmp(c->reporter, "ip:", 3) == 0 &&
	    inet_pton(AF_INET, c->reporter + 3, &a4) != 1 &&
	    inet_pton(AF_INET6, c->reporter + 3, &a6) != 1) {
		line = text ? key_line(text, "soc", "reporter") : 0;
		return trap_errf(err, errlen, MM_EINVAL, "%s:%d: [soc] reporter: not an IP address: %s",
			    name, line, c->reporter + 3);
	}
	return 0;
}

int trap_config_parse(struct trap_config *c, const char *text, const char *name, char *err,
		      size_t errlen)
{
	const struct mm_conf_key keys[] = {
		{"trap", "listen", MM_CONF_STR, &c->listen, 0, 0},
		{"trap", "port", MM_CONF_INT, &c->port, 1, 65535},
		{"trap", "dir", MM_CONF_STR, &c->dir, 0, 0},
		{"trap", "persona", MM_CONF_STR, &c->persona, 0, 0},
		{"trap", "personas", MM_CONF_STR, &c->personas, 0, 0},
		{"trap", "seed", MM_CONF_INT, &c->seed, 0, LLONG_MAX},
		{"trap", "user", MM_CONF_STR, &c->user, 0, 0},
		{"trap", "sensor", MM_CONF_STR, &c->sensor, 0, 0},
		{"trap", "attack", MM_CONF_STR, &c->attack, 0, 0},
		{"trap", "log_max", MM_CONF_SIZE, &c->log_max, 0, 1LL << 40},
		{"trap", "log_keep", MM_CONF_INT, &c->log_keep, 1, 100},
		{"login", "credentials", MM_CONF_STR, &c->credentials, 0, 0},
		{"login", "accept", MM_CONF_STR, &c->accept_s, 0, 0},
		{"login", "accept_after", MM_CONF_INT, &c->accept_after, 0, 1000},
		{"login", "max_attempts", MM_CONF_INT, &c->max_attempts, 1, 100},
		{"login", "delay_ms", MM_CONF_INT, &c->delay_ms, 0, 60000},
		{"limits", "max_sessions", MM_CONF_INT, &c->max_sessions, 1, 1000000},
		{"limits", "per_address", MM_CONF_INT, &c->per_address, 0, 1000000},
		{"limits", "rate_per_address", MM_CONF_INT, &c->rate_per_address, 0, 1000000},
		{"limits", "max_addresses", MM_CONF_INT, &c->max_addresses, 16, 1 << 24},
		{"limits", "idle_timeout", MM_CONF_INT, &c->idle_timeout, 1, 86400},
		{"limits", "session_timeout", MM_CONF_INT, &c->session_timeout, 1, 604800},
		{"limits", "max_line", MM_CONF_SIZE, &c->max_line, 64, 1 << 20},
		{"limits", "max_fs", MM_CONF_SIZE, &c->max_fs, 4096, 1LL << 30},
		{"limits", "max_output", MM_CONF_SIZE, &c->max_output, 4096, 64LL << 20},
		{"limits", "max_output_queue", MM_CONF_SIZE, &c->max_output_queue, 4096,
		 64LL << 20},
		{"limits", "max_memory", MM_CONF_SIZE, &c->max_memory, 1 << 20, 1LL << 40},
		{"capture", "max_bytes", MM_CONF_SIZE, &c->capture_max_bytes, 1 << 20, 1LL << 40},
		{"capture", "max_file", MM_CONF_SIZE, &c->capture_max_file, 4096, 1LL << 30},
		{"capture", "fetch", MM_CONF_BOOL, &c->fetch, 0, 0},
		{"capture", "fetch_timeout", MM_CONF_INT, &c->fetch_timeout, 1, 3600},
		{"capture", "fetch_max", MM_CONF_SIZE, &c->fetch_max, 0, 1LL << 30},
		{"capture", "fetch_concurrent", MM_CONF_INT, &c->fetch_concurrent, 1, 4096},
		{"capture", "fetch_per_session", MM_CONF_INT, &c->fetch_per_session, 1, 1000},
		{"capture", "fetch_deny", MM_CONF_STR, &c->fetch_deny, 0, 0},
		{"record", "enabled", MM_CONF_BOOL, &c->record, 0, 0},
		{"record", "max_bytes", MM_CONF_SIZE, &c->record_max_bytes, 4096, 1LL << 30},
		{"record", "max_total", MM_CONF_SIZE, &c->record_max_total, 0, 1LL << 40},
		{"soc", "url", MM_CONF_STR, &c->url, 0, 0},
		{"soc", "spool", MM_CONF_STR, &c->spool, 0, 0},
		{"soc", "spool_max", MM_CONF_SIZE, &c->spool_max, 1 << 20, 1LL << 40},
		{"soc", "spool_sync", MM_CONF_STR, &c->spool_sync, 0, 0},
		{"soc", "ca", MM_CONF_STR, &c->ca, 0, 0},
		{"soc", "cert", MM_CONF_STR, &c->cert, 0, 0},
		{"soc", "key", MM_CONF_STR, &c->key, 0, 0},
		{"soc", "server_name", MM_CONF_STR, &c->server_name, 0, 0},
		{"soc", "hostname", MM_CONF_STR, &c->hostname, 0, 0},
		{"soc", "reporter", MM_CONF_STR, &c->reporter, 0, 0},
	};
	struct mm_conf_err e;
	int rc;

	rc = mm_conf_parse(text, keys, sizeof keys / sizeof keys[0], &e);
	if (rc < 0) {
		if (e.line > 0)
			return trap_errf(err, errlen, rc, "%s:%d: %s", name, e.line, e.msg);
		return trap_errf(err, errlen, rc, "%s: %s", name, e.msg);
	}
	return check_values(c, text, name, err, errlen);
}

/* The largest configuration file read. */
#define CONF_MAX (1 << 20)

int trap_config_load(struct trap_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text;
	size_t n;
	int rc;

	if (!f)
		return trap_errf(err, errlen, MM_EIO, "%s: cannot be read", path);
	if (!(text = malloc(CONF_MAX + 1))) {
		fclose(f);
		return MM_ENOMEM;
	}
	n = fread(text, 1, CONF_MAX + 1, f);
	if (ferror(f)) {
		rc = trap_errf(err, errlen, MM_EIO, "%s: read error", path);
		goto out;
	}
	if (n > CONF_MAX) {
		rc = trap_errf(err, errlen, MM_ETOOBIG, "%s: larger than %d bytes", path, CONF_MAX);
		goto out;
	}
	text[n] = '\0';
	rc = trap_config_parse(c, text, path, err, errlen);
out:
	fclose(f);
	free(text);
	return rc;
}

int trap_config_check(struct trap_config *c, char *err, size_t errlen)
{
	int rc;

	if ((rc = check_values(c, NULL, "command line", err, errlen)) < 0) {
		/* Without a file there is no line to name. */
		char *colon = strstr(err, ":0: ");
		if (colon) {
			colon[1] = ' ';
			memmove(colon + 2, colon + 4, strlen(colon + 4) + 1);
		}
		return rc;
	}
	if (!c->dir || !c->dir[0])
		return trap_errf(err, errlen, MM_EINVAL, "[trap] dir: empty");
	if (!c->persona || !c->persona[0] || strchr(c->persona, '/'))
		return trap_errf(err, errlen, MM_EINVAL, "[trap] persona: not a persona name: %s",
			    c->persona ? c->persona : "");
	if (c->accept != TRAP_ACCEPT_NONE && c->accept != TRAP_ACCEPT_ANY &&
	    (!c->credentials || !c->credentials[0]))
		return trap_errf(err, errlen, MM_EINVAL, "[login] credentials: needed by accept %s",
			    c->accept_s);
	return 0;
}
