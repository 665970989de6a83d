/*
 * Device personas (persona.h): persona.conf read with inih (lists such as
 * the applets go on over indented lines, which conf.h's loader refuses as
 * keys given twice, hence a keys table of this file's own), its values
 * unquoted and unescaped, the instance's own values drawn from the seed
 * (host name suffix, MAC address, serial number, BogoMIPS, time since
 * boot), the CPU turned into the ELF header the
 * busybox binary gets, and the base tree loaded with the placeholders of
 * its files filled in.
 *
 * Everything drawn from the seed comes from one splitmix64 stream in a
 * fixed order, so that an instance started with the same seed is the same
 * device again, and two seeds are two devices of the same model.
 */
#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mamori/error.h"

#include "persona.h"

#define APPLETS_MAX 512        /* names one busybox may list */
#define PS_MAX (64 * 1024)     /* bytes of ps.txt */
#define NAME_MAX_LEN 64        /* a persona's folder name */

struct conf_vals {
	char *name, *description;
	char *banner, *login_prompt, *password_prompt, *login_failed, *motd, *shell_prompt;
	long long login_delay_ms;
	char *hostname, *uname_s, *uname_r, *uname_v, *uname_m, *cpu, *busybox_version;
	char *applets, *applet_dirs, *users, *bogomips;
	long long elf_flags, busybox_size, boot_age;
};

/* What the seed gives one instance. */
struct instance {
	char suffix[7];
	char mac[18];
	char serial[17];
	char bogomips[32];
};

static uint64_t next_rand(uint64_t *s)
{
	uint64_t x = (*s += 0x9e3779b97f4a7c15ULL);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Unquotes and unescapes a value in place: a value in double quotes keeps
 * its blanks (inih trims them otherwise); \n \r \t \\ \e \" and \xHH are
 * turned into their bytes; any other backslash is kept with its letter,
 * since shell_prompt's \u \h \w \$ are the shell's to expand. Returns 0 or
 * MM_EINVAL (a NUL byte).
 */
static int unescape(char *v)
{
	size_t n = strlen(v), i, o = 0;

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		memmove(v, v + 1, n - 2);
		n -= 2;
		v[n] = '\0';
	}
	for (i = 0; i < n; i++) {
		int hi, lo;

		if (v[i] != '\\' || i + 1 >= n) {
			v[o++] = v[i];
			continue;
		}
		switch (v[i + 1]) {
		case 'n': v[o++] = '\n'; i++; break;
		case 'r': v[o++] = '\r'; i++; break;
		case 't': v[o++] = '\t'; i++; break;
		case 'e': v[o++] = '\033'; i++; break;
		case '\\': v[o++] = '\\'; i++; break;
		case '"': v[o++] = '"'; i++; break;
		case 'x':
			if (i + 2 < n && (hi = hexval((unsigned char)v[i + 2])) >= 0) {
				int val = hi;

				i += 2;
				if (i + 1 < n && (lo = hexval((unsigned char)v[i + 1])) >= 0) {
					val = val * 16 + lo;
					i++;
				}
				if (val == 0)
					return MM_EINVAL;
				v[o++] = (char)val;
				break;
			}
			v[o++] = v[i];
			break;
		default:
			v[o++] = v[i];
			break;
		}
	}
	v[o] = '\0';
	return 0;
}

/* Replaces every occurrence of key in *s by val (a new string). */
static int replace_all(char **s, const char *key, const char *val)
{
	size_t kl = strlen(key), vl = strlen(val), count = 0, len;
	const char *p;
	char *out, *o;

	for (p = *s; (p = strstr(p, key)) != NULL; p += kl)
		count++;
	if (!count)
		return 0;
	len = strlen(*s) + count * vl;
	if ((out = malloc(len + 1)) == NULL)
		return MM_ENOMEM;
	o = out;
	for (p = *s;;) {
		const char *h = strstr(p, key);

		if (!h) {
			memcpy(o, p, strlen(p) + 1);
			break;
		}
		memcpy(o, p, (size_t)(h - p));
		o += h - p;
		memcpy(o, val, vl);
		o += vl;
		p = h + kl;
	}
	free(*s);
	*s = out;
	return 0;
}

static void draw_instance(const char *name, uint64_t seed, double bogomips, struct instance *in)
{
	uint64_t s = seed, oui = 0, r;
	const char *p;

	/* The maker's prefix is the model's (a hash of its name), with the
	 * unicast, globally administered bits a vendor's address has; the
	 * rest is the instance's. */
	for (p = name; *p; p++)
		oui = oui * 131 + (unsigned char)*p;
	/* The same seed on two models is still two devices. */
	s ^= oui * 0x9e3779b97f4a7c15ULL;
	r = next_rand(&s);
	snprintf(in->mac, sizeof in->mac, "%02X:%02X:%02X:%02X:%02X:%02X",
		 (unsigned)((oui >> 16) & 0xfc), (unsigned)((oui >> 8) & 0xff),
		 (unsigned)(oui & 0xff), (unsigned)((r >> 16) & 0xff), (unsigned)((r >> 8) & 0xff),
		 (unsigned)(r & 0xff));
	/* Devices name themselves after the end of their MAC address. */
	snprintf(in->suffix, sizeof in->suffix, "%06llx", (unsigned long long)(r & 0xffffff));
	r = next_rand(&s);
	snprintf(in->serial, sizeof in->serial, "%016llx", (unsigned long long)r);
	r = next_rand(&s);
	snprintf(in->bogomips, sizeof in->bogomips, "%.2f",
		 bogomips * (1.0 + ((double)(r % 4001) - 2000.0) / 100000.0));
}

struct fill {
	const struct instance *in;
	const char *hostname;
	char *err;
	size_t errlen;
};

/* Fills {{hostname}} {{mac}} {{serial}} {{bogomips}} in one base file;
 * another {{word}} is a mistake in the persona. */
static int fill_file(void *arg, const char *path, const uint8_t *data, size_t len, uint8_t **out,
		     size_t *outlen)
{
	struct fill *f = arg;
	const struct {
		const char *key;
		const char *val;
	} subst[] = {
		{"{{hostname}}", f->hostname}, {"{{mac}}", f->in->mac},
		{"{{serial}}", f->in->serial}, {"{{bogomips}}", f->in->bogomips},
	};
	size_t i, o = 0, cap, longest = 0;
	uint8_t *buf;

	for (i = 0; i + 1 < len && !(data[i] == '{' && data[i + 1] == '{'); i++)
		;
	if (i + 1 >= len)
		return 0;
	/* Each key is at least 7 bytes; no value is longer than the longest. */
	for (i = 0; i < sizeof subst / sizeof subst[0]; i++)
		if (strlen(subst[i].val) > longest)
			longest = strlen(subst[i].val);
	cap = len + (len / 7 + 1) * longest;
	if ((buf = malloc(cap)) == NULL)
		return MM_ENOMEM;
	for (i = 0; i < len;) {
		size_t k;

		if (len - i >= 2 && data[i] == '{' && data[i + 1] == '{') {
			for (k = 0; k < sizeof subst / sizeof subst[0]; k++) {
				size_t kl = strlen(subst[k].key);

				if (len - i >= kl && memcmp(data + i, subst[k].key, kl) == 0) {
					size_t vl = strlen(subst[k].val);

					memcpy(buf + o, subst[k].val, vl);
					o += vl;
					i += kl;
					break;
				}
			}
			if (k < sizeof subst / sizeof subst[0])
				continue;
			snprintf(f->err, f->errlen, "%s: unknown placeholder at byte %zu", path, i);
			free(buf);
			return MM_EINVAL;
		}
		buf[o++] = data[i++];
	}
	*out = buf;
	*outlen = o;
	return 1;
}

static int applet_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == '[' || c == ']';
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits, checks, sorts and de-duplicates the applet names into a
 * NUL-separated list. */
static int parse_applets(const char *v, char **out, size_t *n, char *err, size_t errlen)
{
	char *copy = strdup(v), *names[APPLETS_MAX], *p, *list = NULL;
	size_t count = 0, i, used = 0;

	if (!copy)
		return MM_ENOMEM;
	for (p = copy; *p;) {
		char *s;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && *p != ' ' && *p != '\t') {
			if (!applet_char((unsigned char)*p)) {
				snprintf(err, errlen, "applets: bad name at '%.16s'", s);
				free(copy);
				return MM_EINVAL;
			}
			p++;
		}
		if (*p)
			*p++ = '\0';
		if (count == APPLETS_MAX) {
			snprintf(err, errlen, "applets: more than %d", APPLETS_MAX);
			free(copy);
			return MM_EINVAL;
		}
		names[count++] = s;
	}
	if (count > 1)
		qsort(names, count, sizeof names[0], cmp_str);
	if ((list = malloc(strlen(v) + 2)) == NULL) {
		free(copy);
		return MM_ENOMEM;
	}
	*n = 0;
	for (i = 0; i < count; i++) {
		size_t l = strlen(names[i]);

		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		memcpy(list + used, names[i], l + 1);
		used += l + 1;
		(*n)++;
	}
	list[used] = '\0';
	free(copy);
	*out = list;
	return 0;
}

/* "name:dir name:dir" -> "name dir\n..." for trap_fs_base_load. */
static int parse_dirs(const char *v, char **out, char *err, size_t errlen)
{
	size_t len = strlen(v), o = 0;
	char *res = malloc(len + 2);
	const char *p = v;

	if (!res)
		return MM_ENOMEM;
	while (*p) {
		const char *s, *colon = NULL;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		for (s = p; *p && *p != ' ' && *p != '\t'; p++)
			if (*p == ':' && !colon)
				colon = p;
		if (!colon || colon == s || colon + 1 == p) {
			snprintf(err, errlen, "applet_dirs: '%.*s' is not name:dir", (int)(p - s),
				 s);
			free(res);
			return MM_EINVAL;
		}
		memcpy(res + o, s, (size_t)(colon - s));
		o += (size_t)(colon - s);
		res[o++] = ' ';
		memcpy(res + o, colon + 1, (size_t)(p - colon - 1));
		o += (size_t)(p - colon - 1);
		res[o++] = '\n';
	}
	res[o] = '\0';
	*out = res;
	return 0;
}

static int check_users(const char *v, char *err, size_t errlen)
{
	const char *p = v;

	while (*p) {
		const char *s;
		char *end;
		unsigned long uid;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		for (s = p; *p && *p != '=' && *p != ' '; p++)
			;
		if (*p != '=' || p == s)
			goto bad;
		uid = strtoul(p + 1, &end, 10);
		if (end == p + 1 || (*end && *end != ' ') || uid > 65535)
			goto bad;
		p = end;
		continue;
bad:
		snprintf(err, errlen, "users: '%.16s' is not name=uid", s);
		return MM_EINVAL;
	}
	return 0;
}

static int cpu_elf(const char *cpu, struct trap_fs_elf *e)
{
	static const struct {
		const char *cpu;
		uint8_t cls, data;
		uint16_t machine;
		uint32_t flags;
	} map[] = {
		/* EABI version 5, soft float: what ARM devices' toolchains emit. */
		{"arm", ELFCLASS32, ELFDATA2LSB, EM_ARM, 0x5000200},
		/* o32, MIPS32 release 2, non-PIC executable. */
		{"mips", ELFCLASS32, ELFDATA2MSB, EM_MIPS, 0x70001007},
		{"mipsel", ELFCLASS32, ELFDATA2LSB, EM_MIPS, 0x70001007},
		{"x86", ELFCLASS32, ELFDATA2LSB, EM_386, 0},
		{"x86_64", ELFCLASS64, ELFDATA2LSB, EM_X86_64, 0},
	};
	size_t i;

	for (i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(cpu, map[i].cpu)) {
			e->cls = map[i].cls;
			e->data = map[i].data;
			e->machine = map[i].machine;
			e->flags = map[i].flags;
			return 0;
		}
	return MM_EINVAL;
}

static int read_ps(const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf, *body;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? MM_ENOTFOUND : MM_EIO;
	}
	if ((buf = malloc(PS_MAX + 1)) == NULL) {
		fclose(f);
		return MM_ENOMEM;
	}
	n = fread(buf, 1, PS_MAX + 1, f);
	fclose(f);
	if (n > PS_MAX || memchr(buf, '\0', n)) {
		snprintf(err, errlen, "%s: over %d bytes or not text", path, PS_MAX);
		free(buf);
		return MM_EINVAL;
	}
	buf[n] = '\0';
	body = buf;
	/* The header is ps's own; the persona keeps the processes. */
	if (strstr(buf, "PID") && strchr(buf, '\n') && strstr(buf, "PID") < strchr(buf, '\n'))
		body = strchr(buf, '\n') + 1;
	memmove(buf, body, strlen(body) + 1);
	*out = buf;
	return 0;
}

static int valid_name(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_' &&
		    name[i] != '.')
			return 0;
	return 1;
}

static void conf_vals_free(struct conf_vals *v)
{
	char **s[] = {&v->name, &v->description, &v->banner, &v->login_prompt,
		      &v->password_prompt, &v->login_failed, &v->motd, &v->shell_prompt,
		      &v->hostname, &v->uname_s, &v->uname_r, &v->uname_v, &v->uname_m, &v->cpu,
		      &v->busybox_version, &v->applets, &v->applet_dirs, &v->users, &v->bogomips};
	size_t i;

	for (i = 0; i < sizeof s / sizeof s[0]; i++) {
		free(*s[i]);
		*s[i] = NULL;
	}
}

static int errno_to_mm(int rc)
{
	switch (rc) {
	case -ENOMEM: return MM_ENOMEM;
	case -ENOENT: return MM_ENOTFOUND;
	case -EIO: case -EACCES: return MM_EIO;
	default: return MM_EINVAL;
	}
}

enum ktype { K_STR, K_INT, K_SIZE };

struct key {
	const char *section, *name;
	enum ktype type;
	size_t off;             /* of the char * or long long in struct conf_vals */
	long long min, max;
	int join;               /* continuation lines are appended (long lists) */
};

#define S(sec, n) {sec, #n, K_STR, offsetof(struct conf_vals, n), 0, 0, 0}
#define J(sec, n) {sec, #n, K_STR, offsetof(struct conf_vals, n), 0, 0, 1}
#define I(sec, n, t, lo, hi) {sec, #n, t, offsetof(struct conf_vals, n), lo, hi, 0}
static const struct key keys[] = {
	S("persona", name), S("persona", description),
	S("telnet", banner), S("telnet", login_prompt), S("telnet", password_prompt),
	S("telnet", login_failed), S("telnet", motd), S("telnet", shell_prompt),
	I("telnet", login_delay_ms, K_INT, 0, 60000),
	S("system", hostname), S("system", uname_s), S("system", uname_r), S("system", uname_v),
	S("system", uname_m), S("system", cpu), I("system", elf_flags, K_INT, 0, 0xffffffffLL),
	I("system", busybox_size, K_SIZE, 4096, 8LL << 20), S("system", busybox_version),
	J("system", applets), J("system", applet_dirs),
	I("system", boot_age, K_INT, 0, 10LL * 365 * 86400), J("system", users),
	S("system", bogomips),
};
#undef S
#undef J
#undef I

#define NKEYS (sizeof keys / sizeof keys[0])
#define VALUE_MAX 8192          /* bytes of one value, continuation lines included */

struct conf_run {
	struct conf_vals *v;
	unsigned char seen[NKEYS];
	const char *last;       /* the key of the line before, for continuations */
	char msg[200];
};

static int conf_fail(struct conf_run *run, const char *what, const char *name)
{
	snprintf(run->msg, sizeof run->msg, "%s '%s'", what, name);
	return 0;
}

/* inih's handler: a key of the table once (a list key may go on over
 * indented lines, which inih hands over as the same key again). */
static int conf_line(void *arg, const char *section, const char *name, const char *value)
{
	struct conf_run *run = arg;
	const struct key *k = NULL;
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, name)) {
			k = &keys[i];
			break;
		}
	if (!k)
		return conf_fail(run, "unknown key", name);
	if (run->seen[i] && !(k->join && run->last == k->name))
		return conf_fail(run, "key given twice:", name);
	run->last = k->name;
	if (k->type == K_STR) {
		char **dst = (char **)((char *)run->v + k->off), *n;
		size_t ol = *dst ? strlen(*dst) : 0, vl = strlen(value);

		if (ol + 1 + vl > VALUE_MAX)
			return conf_fail(run, "value too long:", name);
		if ((n = realloc(*dst, ol + vl + 2)) == NULL)
			return conf_fail(run, "out of memory at", name);
		if (run->seen[i])
			n[ol++] = ' ';
		memcpy(n + ol, value, vl + 1);
		*dst = n;
	} else {
		long long *dst = (long long *)(void *)((char *)run->v + k->off), val, mul = 1;
		char *end;

		errno = 0;
		val = strtoll(value, &end, 0);
		if (k->type == K_SIZE && (tolower((unsigned char)*end) == 'k' ||
					  tolower((unsigned char)*end) == 'm')) {
			mul = tolower((unsigned char)*end) == 'k' ? 1024 : 1024 * 1024;
			end++;
		}
		if (end == value || *end || errno == ERANGE || val < k->min / mul ||
		    val > k->max / mul)
			return conf_fail(run, "bad value for", name);
		*dst = val * mul;
	}
	run->seen[i] = 1;
	return 1;
}

/* Reads persona.conf into v and checks that every key is there. */
static int read_conf(const char *path, struct conf_vals *v, char *err, size_t errlen)
{
	struct conf_run run;
	FILE *f;
	size_t i;
	int rc;

	memset(&run, 0, sizeof run);
	run.v = v;
	v->elf_flags = -1;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return MM_EIO;
	}
	rc = ini_parse_file(f, conf_line, &run);
	fclose(f);
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: %s", path, rc,
			 run.msg[0] ? run.msg : "not a [section], key = value, or comment line");
		return rc < 0 ? MM_EIO : MM_EINVAL;
	}
	for (i = 0; i < NKEYS; i++) {
		if (!run.seen[i] && keys[i].off != offsetof(struct conf_vals, elf_flags)) {
			snprintf(err, errlen, "%s: no %s in [%s]", path, keys[i].name,
				 keys[i].section);
			return MM_EINVAL;
		}
		if (keys[i].type == K_STR &&
		    unescape(*(char **)((char *)v + keys[i].off)) < 0) {
			snprintf(err, errlen, "%s: %s: a NUL byte", path, keys[i].name);
			return MM_EINVAL;
		}
	}
	return 0;
}

static int build(struct trap_persona *p, struct conf_vals *v, const char *pdir, uint64_t seed,
		 char *err, size_t errlen)
{
	struct instance in;
	char path[4096], *dirs = NULL, *end;
	double bogo;
	uint64_t s = seed ^ 0x5bd1e995ULL;
	long long age;
	struct fill f;
	int rc;

	bogo = strtod(v->bogomips, &end);
	if (end == v->bogomips || *end || bogo <= 0 || bogo > 1e6) {
		snprintf(err, errlen, "bogomips: '%s' is not a number", v->bogomips);
		return MM_EINVAL;
	}
	if (cpu_elf(v->cpu, &p->elf) < 0) {
		snprintf(err, errlen, "cpu: '%s' is not arm, mips, mipsel, x86 or x86_64", v->cpu);
		return MM_EINVAL;
	}
	if (v->elf_flags >= 0)
		p->elf.flags = (uint32_t)v->elf_flags;
	p->elf.size = (uint64_t)v->busybox_size;
	if ((rc = check_users(v->users, err, errlen)) < 0)
		return rc;
	draw_instance(v->name, seed, bogo, &in);
	/* The host name: "dvr%s" gets the instance's suffix. */
	{
		size_t hl = strlen(v->hostname);

		if (hl >= 2 && strcmp(v->hostname + hl - 2, "%s") == 0) {
			v->hostname[hl - 2] = '\0';
			if ((p->hostname = malloc(hl - 2 + sizeof in.suffix)) == NULL)
				return MM_ENOMEM;
			snprintf(p->hostname, hl - 2 + sizeof in.suffix, "%s%s", v->hostname,
				 in.suffix);
		} else if ((p->hostname = strdup(v->hostname)) == NULL) {
			return MM_ENOMEM;
		}
	}
	if ((p->uname_n = strdup(p->hostname)) == NULL)
		return MM_ENOMEM;
	/* Take the strings over from the conf values. */
#define TAKE(f) do { p->f = v->f; v->f = NULL; } while (0)
	TAKE(name); TAKE(description); TAKE(banner); TAKE(login_prompt); TAKE(password_prompt);
	TAKE(login_failed); TAKE(motd); TAKE(shell_prompt); TAKE(uname_s); TAKE(uname_r);
	TAKE(uname_v); TAKE(uname_m); TAKE(cpu); TAKE(busybox_version); TAKE(users);
#undef TAKE
	p->login_delay_ms = (unsigned)v->login_delay_ms;
	if ((rc = replace_all(&p->banner, "{{hostname}}", p->hostname)) < 0 ||
	    (rc = replace_all(&p->login_prompt, "{{hostname}}", p->hostname)) < 0 ||
	    (rc = replace_all(&p->motd, "{{hostname}}", p->hostname)) < 0)
		return rc;
	if ((rc = parse_applets(v->applets, &p->applets, &p->napplets, err, errlen)) < 0)
		return rc;
	if ((rc = parse_dirs(v->applet_dirs, &dirs, err, errlen)) < 0)
		return rc;
	if ((size_t)snprintf(path, sizeof path, "%s/ps.txt", pdir) >= sizeof path) {
		rc = MM_EINVAL;
		goto out;
	}
	if ((rc = read_ps(path, &p->ps, err, errlen)) < 0)
		goto out;
	/* A fleet was not switched on in the same second: the time since boot
	 * is the model's figure times 0.5 to 1.5. */
	age = v->boot_age / 2 + (v->boot_age ? (long long)(next_rand(&s) %
							  (uint64_t)v->boot_age) : 0);
	p->boot_time = time(NULL) - (time_t)age;
	if ((size_t)snprintf(path, sizeof path, "%s/root", pdir) >= sizeof path) {
		rc = MM_EINVAL;
		goto out;
	}
	if ((rc = trap_fs_base_load(path, "/bin/busybox", &p->elf, p->applets, p->napplets, dirs,
				    p->boot_time, &p->base, err, errlen)) < 0) {
		rc = errno_to_mm(rc);
		goto out;
	}
	f.in = &in;
	f.hostname = p->hostname;
	f.err = err;
	f.errlen = errlen;
	if ((rc = trap_fs_base_rewrite(p->base, fill_file, &f)) < 0)
		goto out;
	rc = 0;
out:
	free(dirs);
	return rc;
}

int trap_persona_load(const char *dir, const char *name, uint64_t seed,
		      struct trap_persona **out, char *err, size_t errlen)
{
	struct conf_vals v;
	struct trap_persona *p = NULL;
	char pdir[4096], conf[4200];
	struct stat st;
	int rc;

	memset(&v, 0, sizeof v);
	snprintf(err, errlen, "%s", "");
	if (!valid_name(name)) {
		snprintf(err, errlen, "'%s' is not a persona name", name);
		return MM_EINVAL;
	}
	if ((size_t)snprintf(pdir, sizeof pdir, "%s/%s", dir, name) >= sizeof pdir)
		return MM_EINVAL;
	snprintf(conf, sizeof conf, "%s/persona.conf", pdir);
	if (stat(conf, &st) < 0) {
		snprintf(err, errlen, "%s: %s", conf, strerror(errno));
		return errno == ENOENT || errno == ENOTDIR ? MM_ENOTFOUND : MM_EIO;
	}
	if ((rc = read_conf(conf, &v, err, errlen)) < 0)
		goto fail;
	if ((p = calloc(1, sizeof *p)) == NULL) {
		rc = MM_ENOMEM;
		goto fail;
	}
	if ((rc = build(p, &v, pdir, seed, err, errlen)) < 0)
		goto fail;
	conf_vals_free(&v);
	*out = p;
	return 0;
fail:
	conf_vals_free(&v);
	trap_persona_free(p);
	return rc;
}

void trap_persona_free(struct trap_persona *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->description);
	free(p->banner);
	free(p->login_prompt);
	free(p->password_prompt);
	free(p->login_failed);
	free(p->motd);
	free(p->shell_prompt);
	free(p->hostname);
	free(p->uname_s);
	free(p->uname_n);
	free(p->uname_r);
	free(p->uname_v);
	free(p->uname_m);
	free(p->cpu);
	free(p->busybox_version);
	free(p->applets);
	free(p->ps);
	free(p->users);
	trap_fs_base_free(p->base);
	free(p);
}

int trap_persona_has_applet(const struct trap_persona *p, const char *name, size_t name_len)
{
	const char *a = p->applets;
	size_t i;

	for (i = 0; i < p->napplets; i++) {
		size_t l = strlen(a);

		if (l == name_len && memcmp(a, name, l) == 0)
			return 1;
		a += l + 1;
	}
	return 0;
}

int trap_persona_list(const char *dir, char *out, size_t cap)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	char *names[256], path[4096];
	size_t n = 0, i, used = 0;
	int rc = 0;

	if (!dh)
		return errno == ENOENT ? MM_ENOTFOUND : MM_EIO;
	while ((de = readdir(dh)) != NULL) {
		struct stat st;

		if (!valid_name(de->d_name))
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s/persona.conf", dir, de->d_name) >=
		    sizeof path || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == sizeof names / sizeof names[0]) {
			rc = MM_EFULL;
			break;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			rc = MM_ENOMEM;
			break;
		}
		n++;
	}
	closedir(dh);
	if (n > 1)
		qsort(names, n, sizeof names[0], cmp_str);
	for (i = 0; i < n && rc == 0; i++) {
		size_t l = strlen(names[i]) + 1;

		if (used + l > cap)
			rc = MM_EFULL;
		else {
			memcpy(out + used, names[i], l);
			used += l;
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	return rc < 0 ? rc : (int)n;
}
