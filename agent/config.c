/*
 * mamorid's configuration (mamorid.conf(5)): the defaults, then the file,
 * read by libmamori's key table loader (conf.h). What the table cannot say
 * (the words an enum takes, the entries of a list, what a path or address
 * must look like) is checked here after loading, and an error names the line
 * of the key, found by a second pass of inih over the same file.
 */
#define _GNU_SOURCE /* strndup */
#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mamori/conf.h"
#include "mamori/error.h"
#include "mamori/send.h"
#include "mamori/spool.h"

#include "agent.h"
#include "guard.h" /* policy_fstype_known */

#define OS_RELEASE "/etc/os-release"
#define MAX_ENTRY PATH_MAX  /* bytes of one list entry */
#define MAX_DEVICE_ID 255   /* RFC 5424 HOSTNAME */
#define MAX_FIRMWARE 128
#define MAX_COMM 15         /* a process name, as the kernel keeps it */

static char *dup_or_die(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort(); /* at start, before anything runs: nothing to save */
	return d;
}

static void list_or_die(struct agent_list *l, const char *text)
{
	if (conf_list_set(l, text) < 0)
		abort(); /* the built-in lists fit by construction */
}

/* Copies the value of KEY= from an os-release text (quotes removed) into
 * out; "" when absent. */
static void os_release_value(const char *text, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	const char *p = text;

	out[0] = '\0';
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			const char *v = p + klen + 1;
			size_t vlen = len - klen - 1;

			if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
				v++;
				vlen -= 2;
			}
			if (vlen >= size)
				vlen = size - 1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return;
		}
		p = eol ? eol + 1 : NULL;
	}
}

static char *firmware_version(void)
{
	char text[4096], v[MAX_FIRMWARE + 1];
	size_t n = 0;
	FILE *f = fopen(OS_RELEASE, "r");

	if (f) {
		n = fread(text, 1, sizeof text - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	os_release_value(text, "VERSION_ID", v, sizeof v);
	return dup_or_die(v);
}

static char *host_name(void)
{
	char h[MAX_DEVICE_ID + 1];

	if (gethostname(h, sizeof h) < 0 || h[0] == '\0')
		return dup_or_die("localhost");
	h[sizeof h - 1] = '\0';
	return dup_or_die(h);
}

static char *spool_sync_default(void)
{
	struct mm_spool_opts o;
	char s[64];

	/* The spool's own interval, written so that mm_spool_sync_parse()
	 * takes it as it is. */
	mm_spool_opts_default(&o);
	snprintf(s, sizeof s, "interval=%u", o.sync_ms);
	return dup_or_die(s);
}

/*
 * Fills c with the built-in policy (the values data/mamorid.conf shows).
 * Aborts when memory runs out: it runs once, at start.
 */
void conf_defaults(struct agent_conf *c)
{
	memset(c, 0, sizeof *c);
	c->mode = AGENT_MONITOR;
	c->fallback = AGENT_FALLBACK_AUTO;
	c->device_id = host_name();
	c->firmware = firmware_version();
	c->state = dup_or_die("/var/lib/mamori");
	c->soc = NULL; /* none */
	c->user = dup_or_die("nobody");
	c->heartbeat_s = 60;

	c->root = dup_or_die("/");
	list_or_die(&c->deny_fstypes, "tmpfs ramfs");
	list_or_die(&c->deny_paths, "/tmp /var/tmp /var/run /run /dev /dev/shm");
	c->deny_overlay_upper = 1;
	c->allowlist = 0;
	c->scan_timeout_ms = 500;
	c->on_timeout_deny = 0;
	c->scan_max_size = 64LL * 1024 * 1024;
	c->cache_size = 4096;
	c->max_pending = 256;

	c->behaviour = 1;
	c->sweep_s = 10;
	list_or_die(&c->watchdogs, "/dev/watchdog /dev/watchdog0 /dev/misc/watchdog");
	list_or_die(&c->deny_listen, "*:48101");
	list_or_die(&c->scan_ports, "23 2323");
	c->scan_burst = 10;
	c->scan_window_s = 10;
	list_or_die(&c->services, "telnetd sshd dropbear mamorid");

	c->detect = 1;
	c->detect_interval_s = 60;
	c->custom_timeout_s = 5;
	c->audit = 1;
	c->audit_interval_s = 86400;
	c->cert_days = 30;
	c->inventory = 1;
	c->inventory_interval_s = 3600;

	c->quarantine = NULL; /* STATE/quarantine, once STATE is known */
	c->quarantine_max = 64LL * 1024 * 1024;

	c->spool_max = 16LL * 1024 * 1024;
	c->spool_sync = spool_sync_default();
}

/*
 * Splits text on blanks and commas into l. On success l's old entries are
 * freed; on error (more than AGENT_MAX_LIST entries or one longer than
 * PATH_MAX: MM_ETOOBIG; MM_ENOMEM) l is unchanged.
 *
 *	conf_list_set(&c->scan_ports, "23, 2323");   -> {"23", "2323"}
 */
int conf_list_set(struct agent_list *l, const char *text)
{
	struct agent_list n;
	const char *p = text ? text : "";
	int rc = 0;

	memset(&n, 0, sizeof n);
	for (;;) {
		size_t len;

		p += strspn(p, ", \t\r\n");
		if (!*p)
			break;
		len = strcspn(p, ", \t\r\n");
		if (n.n == AGENT_MAX_LIST || len > MAX_ENTRY) {
			rc = MM_ETOOBIG;
			goto fail;
		}
		if (!(n.v[n.n] = strndup(p, len))) {
			rc = MM_ENOMEM;
			goto fail;
		}
		n.n++;
		p += len;
	}
	conf_list_free(l);
	*l = n;
	return 0;
fail:
	conf_list_free(&n);
	return rc;
}

/* Frees l's entries and leaves it empty. */
void conf_list_free(struct agent_list *l)
{
	size_t i;

	for (i = 0; i < l->n && i < AGENT_MAX_LIST; i++)
		free(l->v[i]);
	memset(l, 0, sizeof *l);
}

/* Frees every string and list of c; c may then be filled again. */
void conf_free(struct agent_conf *c)
{
	char **strs[] = {&c->device_id, &c->firmware, &c->state,      &c->soc,
			 &c->user,      &c->root,     &c->feed,       &c->baseline,
			 &c->yara_rules, &c->quarantine, &c->spool_sync, &c->conf_path,
			 &c->profile,   &c->custom_file, &c->custom_command, &c->credentials,
			 &c->support_end};
	struct agent_list *lists[] = {&c->watch,       &c->deny_fstypes,   &c->deny_paths,
				      &c->allow_paths, &c->watchdogs,      &c->watchdog_allow,
				      &c->expect_listen, &c->deny_listen,  &c->raw_allow,
				      &c->scan_ports,  &c->services,       &c->name_allow,
				      &c->certs,       &c->setuid_allow};
	size_t i;

	for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (i = 0; i < sizeof lists / sizeof lists[0]; i++)
		conf_list_free(lists[i]);
}

/* ---- finding the line of a key ---- */

struct line_find {
	FILE *f;
	const char *section, *name;
	int newlines; /* '\n' read so far */
	int cur;      /* the line the last chunk began on */
	int line;     /* the answer, 0 until found */
};

/* inih reads through this: it counts the lines, so that the handler knows
 * which one inih is on (also when a line is longer than inih's buffer). */
static char *count_lines(char *str, int num, void *stream)
{
	struct line_find *lf = stream;
	size_t n;

	if (!fgets(str, num, lf->f))
		return NULL;
	lf->cur = lf->newlines + 1;
	n = strlen(str);
	if (n > 0 && str[n - 1] == '\n')
		lf->newlines++;
	return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct line_find *lf = user;

	(void)value;
	if (lf->line == 0 && strcmp(section, lf->section) == 0 && strcmp(name, lf->name) == 0)
		lf->line = lf->cur;
	return 1;
}

/* The line where [section] name is set in path; 0 when it cannot be told. */
static int key_line(const char *path, const char *section, const char *name)
{
	struct line_find lf = {.section = section, .name = name};

	if (!(lf.f = fopen(path, "r")))
		return 0;
	ini_parse_stream(count_lines, &lf, on_key, &lf);
	fclose(lf.f);
	return lf.line;
}

/* ---- checks of values ---- */

struct check_ctx {
	const char *path;
	struct mm_conf_err *err;
};

static int bad(struct check_ctx *x, const char *section, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int bad(struct check_ctx *x, const char *section, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(x->err->msg, sizeof x->err->msg, "%s: ", name);
	if (n < 0 || (size_t)n >= sizeof x->err->msg)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(x->err->msg + n, sizeof x->err->msg - (size_t)n, fmt, ap);
	va_end(ap);
	x->err->line = key_line(x->path, section, name);
	return MM_EINVALID;
}

/* An entry check: 1 when good. */
typedef int (*entry_ok_fn)(const char *s);

static int is_abs_path(const char *s)
{
	return s[0] == '/';
}

/* A type the policy can tell by fstatfs(2)'s f_type. */
static int is_fstype(const char *s)
{
	return policy_fstype_known(s);
}

static int is_comm(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= MAX_COMM;
}

static int is_port(const char *s)
{
	long v = 0;
	const char *p;

	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (*p - '0');
		if (v > 65535)
			return 0;
	}
	return p > s && v >= 1;
}

/* ADDR:PORT with ADDR an IPv4 address, [IPv6] or * (any). */
static int is_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	char addr[INET6_ADDRSTRLEN + 2];
	unsigned char bin[16];
	size_t alen;

	if (!colon || !is_port(colon + 1))
		return 0;
	alen = (size_t)(colon - s);
	if (alen == 0 || alen >= sizeof addr)
		return 0;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (strcmp(addr, "*") == 0)
		return 1;
	if (addr[0] == '[' && addr[alen - 1] == ']') {
		addr[alen - 1] = '\0';
		return inet_pton(AF_INET6, addr + 1, bin) == 1;
	}
	return inet_pton(AF_INET, addr, bin) == 1;
}

struct list_key {
	const char *section, *name;
	struct agent_list *dst;
	entry_ok_fn ok;
	const char *what; /* what an entry must be, for the message */
	char *text;       /* the value read, or NULL when the key was not given */
};

/* Splits and checks a list key that the file gave. */
static int set_list(struct check_ctx *x, struct list_key *k)
{
	size_t i;
	int rc;

	if (!k->text)
		return 0;
	rc = conf_list_set(k->dst, k->text);
	if (rc == MM_ENOMEM)
		return rc;
	if (rc < 0)
		return bad(x, k->section, k->name,
			   "more than %d entries, or one longer than %d bytes", AGENT_MAX_LIST,
			   MAX_ENTRY);
	for (i = 0; i < k->dst->n; i++)
		if (!k->ok(k->dst->v[i]))
			return bad(x, k->section, k->name, "'%s' is not %s", k->dst->v[i], k->what);
	return 0;
}

struct enum_word {
	const char *word;
	int value;
};

/* Sets *dst from a word of words[]; the message lists them all. */
static int set_enum(struct check_ctx *x, const char *section, const char *name, const char *text,
		    const struct enum_word *words, size_t n, int *dst)
{
	char list[128] = "";
	size_t i, len = 0;

	if (!text)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(text, words[i].word) == 0) {
			*dst = words[i].value;
			return 0;
		}
	for (i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : i + 1 < n ? ", " : " or ";
		int w = snprintf(list + len, sizeof list - len, "%s%s", sep, words[i].word);
		if (w < 0 || (size_t)w >= sizeof list - len)
			break;
		len += (size_t)w;
	}
	return bad(x, section, name, "'%s' is not %s", text, list);
}

/* An optional string: "" means none, like the key not given. */
static void empty_is_none(char **s)
{
	if (*s && (*s)[0] == '\0') {
		free(*s);
		*s = NULL;
	}
}

/* YYYY-MM-DD with a month and day that can be. */
static int is_date(const char *s)
{
	int y, m, d, n = 0;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
		return 0;
	return y >= 1970 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static int printable(const char *s, size_t max, int spaces)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++)
		if (*p < (spaces ? 32 : 33) || *p > 126)
			return 0;
	return (size_t)(p - (const unsigned char *)s) <= max;
}

static int check_strings(struct check_ctx *x, struct agent_conf *c)
{
	const struct {
		const char *section, *name;
		char **s;
	} paths[] = {
		{"agent", "state", &c->state},       {"policy", "root", &c->root},
		{"policy", "feed", &c->feed},        {"policy", "baseline", &c->baseline},
		{"policy", "yara_rules", &c->yara_rules}, {"quarantine", "dir", &c->quarantine},
		{"detect", "profile", &c->profile},  {"detect", "custom_metrics_file", &c->custom_file},
		{"audit", "credentials", &c->credentials},
	};
	struct mm_send_url u;
	size_t i;

	empty_is_none(&c->feed);
	empty_is_none(&c->baseline);
	empty_is_none(&c->yara_rules);
	empty_is_none(&c->quarantine);
	empty_is_none(&c->soc);
	empty_is_none(&c->profile);
	empty_is_none(&c->custom_file);
	empty_is_none(&c->custom_command);
	empty_is_none(&c->credentials);
	empty_is_none(&c->support_end);
	if (c->support_end && !is_date(c->support_end))
		return bad(x, "audit", "support_end", "'%s' is not a date YYYY-MM-DD",
			   c->support_end);
	if (c->soc && strcmp(c->soc, "none") == 0) {
		free(c->soc);
		c->soc = NULL;
	}
	/* mamorid runs from / (daemon(3)): a relative path would mean another file. */
	for (i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (*paths[i].s && !is_abs_path(*paths[i].s))
			return bad(x, paths[i].section, paths[i].name,
				   "'%s' is not an absolute path", *paths[i].s);
	if (!c->device_id || !c->device_id[0] || !printable(c->device_id, MAX_DEVICE_ID, 0))
		return bad(x, "agent", "device_id",
			   "'%s' is not 1 to %d printable ASCII characters without spaces",
			   c->device_id ? c->device_id : "", MAX_DEVICE_ID);
	if (!c->firmware || !printable(c->firmware, MAX_FIRMWARE, 1))
		return bad(x, "agent", "firmware",
			   "'%s' is not up to %d printable ASCII characters",
			   c->firmware ? c->firmware : "", MAX_FIRMWARE);
	if (!c->user || !c->user[0])
		return bad(x, "agent", "user", "a user name is needed");
	if (c->soc && mm_send_url_parse(c->soc, &u) < 0)
		return bad(x, "agent", "soc",
			   "'%s' is not udp://, tcp://, tls://, relp:// or "
			   "relp+tls://HOST:PORT or none",
			   c->soc);
	if (c->spool_sync) {
		struct mm_spool_opts so;
		char *d;

		mm_spool_opts_default(&so);
		if (strcmp(c->spool_sync, "interval") == 0) {
			if (!(d = spool_sync_default()))
				return MM_ENOMEM;
			free(c->spool_sync);
			c->spool_sync = d;
		} else if (mm_spool_sync_parse(c->spool_sync, &so) < 0) {
			return bad(x, "spool", "sync",
				   "'%s' is not always, interval, interval=MS or never",
				   c->spool_sync);
		}
	}
	return 0;
}

/*
 * Reads path over what c holds (the defaults, usually). Every key the file
 * gives replaces its value; a list key replaces the whole list. Returns 0;
 * MM_EIO when the file cannot be read (err->line 0, err->msg why);
 * MM_EPARSE or MM_EINVALID with err->line the line at fault and err->msg
 * what is wrong; MM_ENOMEM. After an error c holds some of the file's values
 * and is still only for conf_free().
 *
 *	struct mm_conf_err e;
 *	conf_defaults(&c);
 *	if (conf_load(&c, "/etc/mamori/mamorid.conf", &e) < 0)
 *		fatalx("%s:%d: %s", path, e.line, e.msg);
 */
int conf_load(struct agent_conf *c, const char *path, struct mm_conf_err *err)
{
	static const struct enum_word modes[] = {{"monitor", AGENT_MONITOR},
						 {"enforce", AGENT_ENFORCE}};
	static const struct enum_word fallbacks[] = {
		{"auto", AGENT_FALLBACK_AUTO},
		{"yes", AGENT_FALLBACK_YES},
		{"no", AGENT_FALLBACK_NO},
	};
	static const struct enum_word timeouts[] = {{"allow", 0}, {"deny", 1}};
	static const struct enum_word formats[] = {{"mamori", 0}, {"aws", 1}, {"aws-short", 2}};
	char *mode = NULL, *fallback = NULL, *on_timeout = NULL, *format = NULL;
	struct list_key lists[] = {
		{"agent", "watch", &c->watch, is_abs_path, "an absolute path", NULL},
		{"policy", "deny_fstypes", &c->deny_fstypes, is_fstype,
		 "a file system type mamorid knows", NULL},
		{"policy", "deny_paths", &c->deny_paths, is_abs_path, "an absolute path", NULL},
		{"policy", "allow_paths", &c->allow_paths, is_abs_path, "an absolute path", NULL},
		{"behaviour", "watchdog_devices", &c->watchdogs, is_abs_path, "an absolute path",
		 NULL},
		{"behaviour", "watchdog_allow", &c->watchdog_allow, is_abs_path, "an absolute path",
		 NULL},
		{"behaviour", "expect_listen", &c->expect_listen, is_listen, "ADDR:PORT", NULL},
		{"behaviour", "deny_listen", &c->deny_listen, is_listen, "ADDR:PORT", NULL},
		{"behaviour", "raw_socket_allow", &c->raw_allow, is_abs_path, "an absolute path",
		 NULL},
		{"behaviour", "scan_ports", &c->scan_ports, is_port, "a port", NULL},
		{"behaviour", "services", &c->services, is_comm, "a process name of 1 to 15 bytes",
		 NULL},
		{"behaviour", "name_allow", &c->name_allow, is_abs_path, "an absolute path", NULL},
		{"audit", "certificates", &c->certs, is_abs_path, "an absolute path", NULL},
		{"audit", "setuid_allow", &c->setuid_allow, is_abs_path, "an absolute path", NULL},
	};
	const size_t nlists = sizeof lists / sizeof lists[0];
	const struct mm_conf_key fixed[] = {
		{"agent", "mode", MM_CONF_STR, &mode, 0, 0},
		{"agent", "fallback", MM_CONF_STR, &fallback, 0, 0},
		{"agent", "device_id", MM_CONF_STR, &c->device_id, 0, 0},
		{"agent", "firmware", MM_CONF_STR, &c->firmware, 0, 0},
		{"agent", "state", MM_CONF_STR, &c->state, 0, 0},
		{"agent", "soc", MM_CONF_STR, &c->soc, 0, 0},
		{"agent", "user", MM_CONF_STR, &c->user, 0, 0},
		{"agent", "heartbeat", MM_CONF_INT, &c->heartbeat_s, 1, 86400},
		{"policy", "root", MM_CONF_STR, &c->root, 0, 0},
		{"policy", "deny_overlay_upper", MM_CONF_BOOL, &c->deny_overlay_upper, 0, 0},
		{"policy", "feed", MM_CONF_STR, &c->feed, 0, 0},
		{"policy", "baseline", MM_CONF_STR, &c->baseline, 0, 0},
		{"policy", "allowlist", MM_CONF_BOOL, &c->allowlist, 0, 0},
		{"policy", "yara_rules", MM_CONF_STR, &c->yara_rules, 0, 0},
		{"policy", "scan_timeout", MM_CONF_INT, &c->scan_timeout_ms, 1, 60000},
		{"policy", "on_timeout", MM_CONF_STR, &on_timeout, 0, 0},
		{"policy", "scan_max_size", MM_CONF_SIZE, &c->scan_max_size, 4096, 1LL << 32},
		{"policy", "cache_size", MM_CONF_INT, &c->cache_size, 16, 1 << 20},
		{"policy", "max_pending", MM_CONF_INT, &c->max_pending, 1, 65536},
		{"behaviour", "enabled", MM_CONF_BOOL, &c->behaviour, 0, 0},
		{"behaviour", "sweep_interval", MM_CONF_INT, &c->sweep_s, 1, 3600},
		{"behaviour", "scan_burst", MM_CONF_INT, &c->scan_burst, 2, 65536},
		{"behaviour", "scan_window", MM_CONF_INT, &c->scan_window_s, 1, 3600},
		{"detect", "enabled", MM_CONF_BOOL, &c->detect, 0, 0},
		{"detect", "interval", MM_CONF_INT, &c->detect_interval_s, 1, 86400},
		{"detect", "profile", MM_CONF_STR, &c->profile, 0, 0},
		{"detect", "custom_metrics_file", MM_CONF_STR, &c->custom_file, 0, 0},
		{"detect", "custom_metrics_command", MM_CONF_STR, &c->custom_command, 0, 0},
		{"detect", "custom_metrics_timeout", MM_CONF_INT, &c->custom_timeout_s, 1, 300},
		{"detect", "report_format", MM_CONF_STR, &format, 0, 0},
		{"detect", "send_metrics", MM_CONF_INT, &c->send_metrics, 0, 1000000},
		{"audit", "enabled", MM_CONF_BOOL, &c->audit, 0, 0},
		{"audit", "interval", MM_CONF_INT, &c->audit_interval_s, 60, 365LL * 86400},
		{"audit", "credentials", MM_CONF_STR, &c->credentials, 0, 0},
		{"audit", "cert_expiry_days", MM_CONF_INT, &c->cert_days, 0, 3650},
		{"audit", "support_end", MM_CONF_STR, &c->support_end, 0, 0},
		{"inventory", "enabled", MM_CONF_BOOL, &c->inventory, 0, 0},
		{"inventory", "interval", MM_CONF_INT, &c->inventory_interval_s, 60, 365LL * 86400},
		{"quarantine", "dir", MM_CONF_STR, &c->quarantine, 0, 0},
		{"quarantine", "max_size", MM_CONF_SIZE, &c->quarantine_max, 65536, 1LL << 40},
		{"spool", "max_size", MM_CONF_SIZE, &c->spool_max, 1 << 20, 1LL << 40},
		{"spool", "sync", MM_CONF_STR, &c->spool_sync, 0, 0},
	};
	const size_t nfixed = sizeof fixed / sizeof fixed[0];
	struct mm_conf_key keys[sizeof fixed / sizeof fixed[0] + sizeof lists / sizeof lists[0]];
	struct check_ctx x = {path, err};
	int m = (int)c->mode, fb = (int)c->fallback, rc;
	size_t i;

	memcpy(keys, fixed, sizeof fixed);
	for (i = 0; i < nlists; i++)
		keys[nfixed + i] = (struct mm_conf_key){lists[i].section, lists[i].name,
							MM_CONF_STR, &lists[i].text, 0, 0};
	if ((rc = mm_conf_load(path, keys, nfixed + nlists, err)) < 0)
		goto out;
	if ((rc = set_enum(&x, "agent", "mode", mode, modes, 2, &m)) < 0 ||
	    (rc = set_enum(&x, "agent", "fallback", fallback, fallbacks, 3, &fb)) < 0 ||
	    (rc = set_enum(&x, "policy", "on_timeout", on_timeout, timeouts, 2,
			   &c->on_timeout_deny)) < 0 ||
	    (rc = set_enum(&x, "detect", "report_format", format, formats, 3,
			   &c->report_format)) < 0)
		goto out;
	c->mode = (enum agent_mode)m;
	c->fallback = (enum agent_fallback)fb;
	for (i = 0; i < nlists; i++)
		if ((rc = set_list(&x, &lists[i])) < 0)
			goto out;
	if ((rc = check_strings(&x, c)) < 0)
		goto out;
	if (c->allowlist && !c->baseline) {
		rc = bad(&x, "policy", "allowlist", "yes needs a baseline");
		goto out;
	}
	free(c->conf_path);
	/* The guard protects this file by its name, after daemon(3) moved to /. */
	if (!(c->conf_path = realpath(path, NULL)) && !(c->conf_path = strdup(path)))
		rc = MM_ENOMEM;
out:
	if (rc == MM_ENOMEM && err->msg[0] == '\0')
		snprintf(err->msg, sizeof err->msg, "out of memory");
	free(mode);
	free(fallback);
	free(on_timeout);
	free(format);
	for (i = 0; i < nlists; i++)
		free(lists[i].text);
	return rc;
}

void agent_strcpy(char *dst, size_t size, const char *src)
{
	size_t l = 0;

	if (size == 0)
		return;
	while (l + 1 < size && src[l] != '\0') {
		dst[l] = src[l];
		l++;
	}
	dst[l] = '\0';
}
