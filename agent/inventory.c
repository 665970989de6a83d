/*
 * mamorid's inventory (inventory.h): a CycloneDX 1.5 JSON SBOM of the
 * device, built from what its root file system says about itself.
 *
 * Everything comes from files the device's software can write, so every
 * read is bounded (file sizes, field lengths, entries per directory, the
 * number of components) and every text goes through the checks of
 * text_ok() before it becomes a JSON string: a status file with bytes that
 * are not UTF-8 loses that field or that package, never the whole BOM.
 *
 * Files are opened with the root folder as "/" (openat2 RESOLVE_IN_ROOT),
 * so that a firmware tree whose /etc/os-release is an absolute symbolic
 * link (as on Debian) is read inside the tree, not on the machine that
 * builds the BOM.
 *
 * The BOM is deterministic: packages are sorted by their bom-ref, applets
 * by name, and the serialNumber is a UUID made from the SHA-256 of the
 * content (RFC 9562 version 8, the name-based form of its appendix B.2),
 * so that the same device state gives the same BOM apart from the
 * timestamp. docs/formats/inventory.md describes every field.
 */
#define _GNU_SOURCE /* qsort_r, memmem, O_PATH */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <crypt.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <seccomp.h>
#include <yajl/yajl_version.h>
#include <zlib.h>
#ifdef MAMORI_WITH_YARA
#include <yara/libyara.h>
#endif

#include "inventory.h"
#include "mamori/error.h"
#include "mamori/log.h"

#ifndef MAMORI_VERSION
#define MAMORI_VERSION "0"
#endif

#define STATUS_MAX ((size_t)64 << 20)  /* a dpkg or opkg status file */
#define OSREL_MAX ((size_t)64 << 10)   /* os-release */
#define OSREL_KEYS 64                  /* os-release variables kept */
#define OSREL_VALUE_MAX 512            /* bytes of one os-release value */
#define BUSYBOX_MAX ((off_t)32 << 20)  /* a BusyBox binary read for its version */
#define BB_VERSION_MAX 64              /* bytes of a BusyBox version */
#define APPLETS_MAX 2048               /* applet names kept */
#define DIR_ENTRIES_MAX 100000         /* entries looked at in one bin directory */
#define NAME_MAX_BYTES 255             /* an applet (file) name */
#define CHUNK (64 * 1024)              /* read size of the BusyBox scan */

/* ---- text checks ---- */

/*
 * 1 when s[0..n) is UTF-8 as jansson accepts it (no overlong forms, no
 * surrogates, nothing above U+10FFFF) and holds no control character, so
 * that json_stringn() cannot fail on it and a terminal or log never gets
 * an escape sequence from a BOM.
 */
static int text_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], cp, need, k;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i <= need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		if (cp >= 0x80 && cp < 0xa0) /* C1 controls */
			return 0;
		i += need + 1;
	}
	return 1;
}

/* The longest prefix of s[0..n) that ends on a UTF-8 character boundary and is at most max. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* ---- the status file parser ---- */

/* Where each field we keep lies in the text; len 0 with p NULL: absent. */
struct para {
	const char *p[8];
	size_t n[8];
	int any;
};

enum { F_PACKAGE, F_VERSION, F_ARCH, F_SOURCE, F_MAINTAINER, F_HOMEPAGE, F_DESCRIPTION, F_STATUS };

static const struct {
	const char *name;
	size_t max; /* longer: the field is dropped (the package, for name/version/arch) */
} fields[8] = {
	[F_PACKAGE] = {"Package", 255},     [F_VERSION] = {"Version", 255},
	[F_ARCH] = {"Architecture", 63},    [F_SOURCE] = {"Source", 511},
	[F_MAINTAINER] = {"Maintainer", 511}, [F_HOMEPAGE] = {"Homepage", 1023},
	[F_DESCRIPTION] = {"Description", 1023}, [F_STATUS] = {"Status", 127},
};

/* Field names are compared without regard to case (deb822). */
static int field_is(const char *p, size_t n, const char *name)
{
	size_t i;

	if (strlen(name) != n)
		return 0;
	for (i = 0; i < n; i++) {
		char a = p[i], b = name[i];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return 0;
	}
	return 1;
}

/* 1 when the Status value's third word is "installed" ("install ok installed",
 * "hold ok installed", opkg's "install user installed"). */
static int status_installed(const char *p, size_t n)
{
	size_t i = 0, words = 0, ws = 0, we = 0;

	while (i < n) {
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i == n)
			break;
		ws = i;
		while (i < n && p[i] != ' ' && p[i] != '\t')
			i++;
		we = i;
		words++;
		if (words == 3 && !(we - ws == 9 && memcmp(p + ws, "installed", 9) == 0))
			return 0;
	}
	return words == 3;
}

/* Copies field f of the paragraph into buf (NUL-terminated) when it passes
 * the checks; NULL when absent, too long or not clean text. The description
 * is cut to its bound instead. */
static const char *take(const struct para *pa, int f, char *buf, size_t size)
{
	size_t n = pa->n[f];

	if (pa->p[f] == NULL || n == 0)
		return NULL;
	if (n > fields[f].max) {
		if (f != F_DESCRIPTION)
			return NULL;
		n = utf8_cut(pa->p[f], n, fields[f].max);
	}
	if (n >= size || !text_ok(pa->p[f], n))
		return NULL;
	memcpy(buf, pa->p[f], n);
	buf[n] = '\0';
	return buf;
}

/* A name or version with a blank in it is not one. */
static int has_blank(const char *s)
{
	return strpbrk(s, " \t") != NULL;
}

/*
 * Hands one finished paragraph to fn when it is an installed package; 1
 * when it was, 0 when it was not a package to list, MM_ETOOBIG when it was
 * one but full (fn already had INVENTORY_MAX_COMPONENTS).
 */
static int flush(const struct para *pa, int full,
		 void (*fn)(const struct inventory_pkg *p, void *arg), void *arg)
{
	char name[256], version[256], arch[64], source[512], maint[512], home[1024], desc[1024];
	struct inventory_pkg pkg;

	if (!pa->any || pa->p[F_STATUS] == NULL ||
	    !status_installed(pa->p[F_STATUS], pa->n[F_STATUS]))
		return 0;
	memset(&pkg, 0, sizeof pkg);
	pkg.name = take(pa, F_PACKAGE, name, sizeof name);
	if (pkg.name == NULL || has_blank(pkg.name))
		return 0;
	/* A version or architecture that is there but unreadable makes the
	 * package unidentifiable: left out rather than listed as another one. */
	pkg.version = take(pa, F_VERSION, version, sizeof version);
	if ((pa->p[F_VERSION] != NULL && pkg.version == NULL) ||
	    (pkg.version != NULL && has_blank(pkg.version)))
		return 0;
	pkg.arch = take(pa, F_ARCH, arch, sizeof arch);
	if ((pa->p[F_ARCH] != NULL && pkg.arch == NULL) || (pkg.arch != NULL && has_blank(pkg.arch)))
		return 0;
	pkg.source = take(pa, F_SOURCE, source, sizeof source);
	pkg.maintainer = take(pa, F_MAINTAINER, maint, sizeof maint);
	pkg.homepage = take(pa, F_HOMEPAGE, home, sizeof home);
	pkg.description = take(pa, F_DESCRIPTION, desc, sizeof desc);
	if (full)
		return MM_ETOOBIG;
	fn(&pkg, arg);
	return 1;
}

/*
 * Paragraphs separated by blank lines, "Field: value" lines, continuation
 * lines starting with a space or tab (only the first line of a field is
 * kept: the Description's synopsis), '#' comment lines. A line that is none
 * of these is ignored. The first occurrence of a field in a paragraph wins.
 * Returns the number of packages passed to fn, MM_EINVAL, or MM_ETOOBIG
 * when there are more than INVENTORY_MAX_COMPONENTS (the first ones were
 * passed).
 */
int inventory_parse_status(const char *text, size_t len,
			   void (*fn)(const struct inventory_pkg *p, void *arg), void *arg)
{
	struct para pa;
	size_t pos = 0;
	int count = 0, r;

	if ((text == NULL && len > 0) || fn == NULL)
		return MM_EINVAL;
	memset(&pa, 0, sizeof pa);
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos, i, colon, vs, ve;
		int f;

		pos += n + (nl ? 1 : 0);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		for (i = 0; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
			;
		if (i == n) { /* blank: the paragraph ends */
			r = flush(&pa, count >= INVENTORY_MAX_COMPONENTS, fn, arg);
			if (r < 0)
				return r;
			count += r;
			memset(&pa, 0, sizeof pa);
			continue;
		}
		if (i > 0 || line[0] == '#')
			continue; /* continuation or comment */
		for (colon = 0; colon < n && line[colon] != ':'; colon++)
			if (line[colon] == ' ' || line[colon] == '\t')
				break;
		if (colon == 0 || colon >= n || line[colon] != ':')
			continue;
		pa.any = 1;
		for (f = 0; f < 8; f++)
			if (field_is(line, colon, fields[f].name))
				break;
		if (f == 8 || pa.p[f] != NULL)
			continue;
		for (vs = colon + 1; vs < n && (line[vs] == ' ' || line[vs] == '\t'); vs++)
			;
		for (ve = n; ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'); ve--)
			;
		pa.p[f] = line + vs;
		pa.n[f] = ve - vs;
	}
	r = flush(&pa, count >= INVENTORY_MAX_COMPONENTS, fn, arg);
	return r < 0 ? r : count + r;
}

/* ---- BusyBox ---- */

static int version_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '.' || c == '-' || c == '_' || c == '+' || c == '~';
}

/*
 * Finds "BusyBox v<digit>..." in bin[0..len); the version is the run of
 * version characters after the 'v'. *at gets the offset of the match and
 * *vlen the version's length (cut to BB_VERSION_MAX). Returns 1 or 0.
 */
static int bb_scan(const unsigned char *bin, size_t len, size_t *at, size_t *vs, size_t *vlen)
{
	static const char pfx[] = "BusyBox v";
	const size_t pl = sizeof pfx - 1;
	size_t off = 0;

	while (off + pl < len) {
		const unsigned char *m = memmem(bin + off, len - off, pfx, pl);
		size_t s, e;

		if (m == NULL)
			return 0;
		s = (size_t)(m - bin) + pl;
		if (s < len && bin[s] >= '0' && bin[s] <= '9') {
			for (e = s; e < len && e - s < BB_VERSION_MAX && version_char(bin[e]); e++)
				;
			*at = (size_t)(m - bin);
			*vs = s;
			*vlen = e - s;
			return 1;
		}
		off = (size_t)(m - bin) + 1;
	}
	return 0;
}

/*
 * The version of "BusyBox v1.36.1 (...)" in a binary's bytes, copied into
 * out (cut to n - 1 bytes). Returns 1 when found, 0 when not (out is then
 * ""). Only [0-9A-Za-z.+~_-] are taken, so the result is clean text.
 */
int inventory_busybox_version(const unsigned char *bin, size_t len, char *out, size_t n)
{
	size_t at, vs, vl;

	if (out == NULL || n == 0)
		return 0;
	out[0] = '\0';
	if (bin == NULL || !bb_scan(bin, len, &at, &vs, &vl))
		return 0;
	if (vl >= n)
		vl = n - 1;
	memcpy(out, bin + vs, vl);
	out[vl] = '\0';
	return 1;
}

/* ---- the build ---- */

struct inv {
	const struct inventory_opts *o;
	int rootfd;
	json_t *osrel;        /* os-release variables, strings */
	const char *os_id;    /* ID, or "linux" as os-release(5) says */
	const char *codename; /* VERSION_CODENAME or NULL */
	const char *pm;       /* the package manager of the status file being read */
	json_t **pkgs;        /* package components, sorted before they join the BOM */
	size_t *order;        /* the input position of each, for a stable sort */
	size_t npkgs, cap;
	size_t ncomp;         /* components so far, for INVENTORY_MAX_COMPONENTS */
	size_t skipped;       /* packages dropped as duplicates */
	int err;              /* the first error inside a callback */
};

/*
 * Opens rel (relative to the root) with the root folder as "/". Kernels
 * before 5.6 have no openat2: there the path is opened relative to the
 * root as it is (an absolute symbolic link would lead out, which only
 * matters for --root trees on such hosts).
 */
static int open_in_root(int rootfd, const char *rel, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	long fd;

	fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
	if (fd < 0 && errno == ENOSYS)
		fd = openat(rootfd, rel, flags | O_CLOEXEC);
	return (int)fd;
}

/*
 * Reads the regular file rel of the root whole, at most max bytes, into a
 * malloc'd buffer with a NUL after the end. Returns 0, MM_ENOTFOUND (no such
 * file), MM_ETOOBIG, MM_EIO (not a regular file, read error), MM_ENOMEM.
 */
static int read_file(int rootfd, const char *rel, size_t max, char **out, size_t *len)
{
	struct stat st;
	size_t have = 0, cap;
	char *buf = NULL;
	int fd, rc = MM_EIO;

	*out = NULL;
	*len = 0;
	fd = open_in_root(rootfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? MM_ENOTFOUND : MM_EIO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto fail;
	if (st.st_size < 0 || (uint64_t)st.st_size > max) {
		rc = MM_ETOOBIG;
		goto fail;
	}
	/* One byte more than the size, to see a file that grew while read. */
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap + 1)) == NULL) {
		rc = MM_ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, buf + have, cap - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		have += (size_t)r;
		if (have == cap) {
			rc = MM_ETOOBIG; /* grew past its size: read it next time */
			goto fail;
		}
	}
	close(fd);
	buf[have] = '\0';
	*out = buf;
	*len = have;
	return 0;
fail:
	free(buf);
	close(fd);
	return rc;
}

/* A JSON string of s, which the caller has checked; MM_ENOMEM or MM_EINVAL when it is not text. */
static int set_str(json_t *obj, const char *key, const char *s)
{
	json_t *v;

	if (s == NULL)
		return 0;
	if (!text_ok(s, strlen(s)))
		return MM_EINVAL;
	if ((v = json_string(s)) == NULL || json_object_set_new(obj, key, v) != 0)
		return MM_ENOMEM;
	return 0;
}

/* Appends {"name": name, "value": value} to the "properties" array of obj. */
static int add_prop(json_t *obj, const char *name, const char *value)
{
	json_t *arr = json_object_get(obj, "properties"), *p;

	if (value == NULL || !text_ok(value, strlen(value)))
		return 0;
	if (arr == NULL) {
		if ((arr = json_array()) == NULL || json_object_set_new(obj, "properties", arr) != 0)
			return MM_ENOMEM;
	}
	p = json_pack("{s:s, s:s}", "name", name, "value", value);
	if (p == NULL || json_array_append_new(arr, p) != 0)
		return MM_ENOMEM;
	return 0;
}

/* A new component {"type", "bom-ref", "name"}; NULL when out of memory or not text. */
static json_t *component(const char *type, const char *ref, const char *name)
{
	if (!text_ok(ref, strlen(ref)) || !text_ok(name, strlen(name)))
		return NULL;
	return json_pack("{s:s, s:s, s:s}", "type", type, "bom-ref", ref, "name", name);
}

/* Appends a component to the BOM's list, counting it against the bound. */
static int add_component(struct inv *iv, json_t *comps, json_t *c)
{
	if (c == NULL)
		return MM_ENOMEM;
	if (iv->ncomp >= INVENTORY_MAX_COMPONENTS) {
		json_decref(c);
		return MM_ETOOBIG;
	}
	if (json_array_append_new(comps, c) != 0)
		return MM_ENOMEM;
	iv->ncomp++;
	return 0;
}

/* ---- purl ---- */

/*
 * Appends s percent-encoded as the purl specification says: letters,
 * digits, ".-_~" and ':' stay, every other byte (UTF-8 included) becomes
 * %XX. Returns 0 or MM_ETOOBIG.
 */
static int purl_put(char *out, size_t size, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		int keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_' ||
			   *p == '~' || *p == ':';

		if (*pos + (keep ? 1 : 3) >= size)
			return MM_ETOOBIG;
		if (keep) {
			out[(*pos)++] = (char)*p;
		} else {
			out[(*pos)++] = '%';
			out[(*pos)++] = hex[*p >> 4];
			out[(*pos)++] = hex[*p & 15];
		}
	}
	out[*pos] = '\0';
	return 0;
}

static int purl_lit(char *out, size_t size, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos + n >= size)
		return MM_ETOOBIG;
	memcpy(out + *pos, s, n + 1);
	*pos += n;
	return 0;
}

/*
 * pkg:TYPE/[NS/]NAME[@VERSION][?arch=ARCH[&distro=DISTRO]]: qualifiers
 * sorted by key, as the specification's canonical form has them. The type
 * and namespace are lower-cased (deb and generic both say so for the
 * namespace; the type always).
 */
static int purl(char *out, size_t size, const char *type, const char *ns, const char *name,
		const char *version, const char *arch, const char *distro)
{
	char lns[128];
	size_t pos = 0, i;
	int rc = 0;

	rc |= purl_lit(out, size, &pos, "pkg:");
	rc |= purl_lit(out, size, &pos, type);
	rc |= purl_lit(out, size, &pos, "/");
	if (ns != NULL) {
		for (i = 0; ns[i] && i < sizeof lns - 1; i++)
			lns[i] = (ns[i] >= 'A' && ns[i] <= 'Z') ? (char)(ns[i] - 'A' + 'a') : ns[i];
		lns[i] = '\0';
		rc |= purl_put(out, size, &pos, lns);
		rc |= purl_lit(out, size, &pos, "/");
	}
	rc |= purl_put(out, size, &pos, name);
	if (version != NULL) {
		rc |= purl_lit(out, size, &pos, "@");
		rc |= purl_put(out, size, &pos, version);
	}
	if (arch != NULL) {
		rc |= purl_lit(out, size, &pos, "?arch=");
		rc |= purl_put(out, size, &pos, arch);
	}
	if (distro != NULL) {
		rc |= purl_lit(out, size, &pos, arch != NULL ? "&distro=" : "?distro=");
		rc |= purl_put(out, size, &pos, distro);
	}
	return rc ? MM_ETOOBIG : 0;
}

/* ---- packages ---- */

/*
 * "Name <email>" into a supplier entity: the name, and a contact with the
 * email when it looks like one (local@domain, no blanks or angle brackets).
 */
static json_t *supplier(const char *m)
{
	const char *lt = strchr(m, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	char name[512], email[512];
	size_t nl, el, i;
	json_t *s;

	if (lt == NULL || gt == NULL)
		return json_pack("{s:s}", "name", m);
	for (nl = (size_t)(lt - m); nl > 0 && (m[nl - 1] == ' ' || m[nl - 1] == '\t'); nl--)
		;
	el = (size_t)(gt - lt - 1);
	if (nl == 0 || nl >= sizeof name || el == 0 || el >= sizeof email)
		return json_pack("{s:s}", "name", m);
	memcpy(name, m, nl);
	name[nl] = '\0';
	memcpy(email, lt + 1, el);
	email[el] = '\0';
	for (i = 0; i < el; i++)
		if (email[i] == ' ' || email[i] == '\t' || email[i] == '<')
			return json_pack("{s:s}", "name", m);
	if (strchr(email, '@') == NULL || email[0] == '@' || email[el - 1] == '@' ||
	    strchr(email, '@') != strrchr(email, '@'))
		return json_pack("{s:s}", "name", m);
	s = json_pack("{s:s, s:[{s:s, s:s}]}", "name", name, "contact", "name", name, "email",
		      email);
	return s;
}

/* An absolute http(s) URL without blanks: what a Homepage should be. */
static int url_ok(const char *u)
{
	return (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) &&
	       strpbrk(u, " \t\"<>\\^`{|}") == NULL;
}

static json_t *pkg_component(struct inv *iv, const struct inventory_pkg *p)
{
	char ref[1600];
	json_t *c = NULL, *s;
	int rc;

	if (strcmp(iv->pm, "dpkg") == 0)
		rc = purl(ref, sizeof ref, "deb", iv->os_id, p->name, p->version, p->arch,
			  iv->codename);
	else
		rc = purl(ref, sizeof ref, "generic", NULL, p->name, p->version, p->arch, NULL);
	if (rc != 0 || (c = component("library", ref, p->name)) == NULL)
		return NULL;
	if (set_str(c, "version", p->version) != 0 || set_str(c, "description", p->description) != 0 ||
	    set_str(c, "purl", ref) != 0)
		goto fail;
	if (p->maintainer != NULL) {
		if ((s = supplier(p->maintainer)) == NULL || json_object_set_new(c, "supplier", s) != 0)
			goto fail;
	}
	if (p->homepage != NULL && url_ok(p->homepage)) {
		s = json_pack("[{s:s, s:s}]", "type", "website", "url", p->homepage);
		if (s == NULL || json_object_set_new(c, "externalReferences", s) != 0)
			goto fail;
	}
	if (add_prop(c, "mamori:package-manager", iv->pm) != 0 ||
	    add_prop(c, "mamori:source", p->source) != 0)
		goto fail;
	return c;
fail:
	json_decref(c);
	return NULL;
}

static void on_pkg(const struct inventory_pkg *p, void *arg)
{
	struct inv *iv = arg;
	json_t *c;

	if (iv->err != 0)
		return;
	if (iv->ncomp + iv->npkgs >= INVENTORY_MAX_COMPONENTS) {
		iv->err = MM_ETOOBIG;
		return;
	}
	if (iv->npkgs == iv->cap) {
		size_t ncap = iv->cap ? iv->cap * 2 : 256;
		json_t **np;
		size_t *no;

		if ((np = realloc(iv->pkgs, ncap * sizeof *np)) == NULL) {
			iv->err = MM_ENOMEM;
			return;
		}
		iv->pkgs = np;
		if ((no = realloc(iv->order, ncap * sizeof *no)) == NULL) {
			iv->err = MM_ENOMEM;
			return;
		}
		iv->order = no;
		iv->cap = ncap;
	}
	if ((c = pkg_component(iv, p)) == NULL) {
		iv->err = MM_ENOMEM;
		return;
	}
	iv->order[iv->npkgs] = iv->npkgs;
	iv->pkgs[iv->npkgs++] = c;
}

static int read_status(struct inv *iv, const char *rel, const char *pm)
{
	char *text;
	size_t len;
	int rc;

	rc = read_file(iv->rootfd, rel, STATUS_MAX, &text, &len);
	if (rc == MM_ENOTFOUND)
		return 0;
	if (rc < 0) {
		log_warnx("inventory: /%s: %s, its packages are left out", rel, mm_strerror(rc));
		return rc == MM_ENOMEM ? rc : 0;
	}
	iv->pm = pm;
	rc = inventory_parse_status(text, len, on_pkg, iv);
	free(text);
	if (iv->err != 0)
		return iv->err;
	return rc < 0 ? rc : 0;
}

/* Sorting packages by bom-ref, then by where they were read, for a stable result. */
static int by_ref(const void *a, const void *b, void *arg)
{
	const struct inv *iv = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const char *ra = json_string_value(json_object_get(iv->pkgs[i], "bom-ref"));
	const char *rb = json_string_value(json_object_get(iv->pkgs[j], "bom-ref"));
	int c = strcmp(ra, rb);

	return c != 0 ? c : (i > j) - (i < j);
}

/* Adds the packages, sorted; a second entry with the same purl is dropped. */
static int add_packages(struct inv *iv, json_t *comps)
{
	const char *last = NULL;
	size_t k;
	int rc = 0;

	if (iv->npkgs > 1) /* a root without packages has no order array at all */
		qsort_r(iv->order, iv->npkgs, sizeof *iv->order, by_ref, iv);
	for (k = 0; k < iv->npkgs; k++) {
		json_t *c = iv->pkgs[iv->order[k]];
		const char *ref = json_string_value(json_object_get(c, "bom-ref"));

		iv->pkgs[iv->order[k]] = NULL;
		if (rc != 0 || (last != NULL && strcmp(last, ref) == 0)) {
			if (rc == 0)
				iv->skipped++;
			json_decref(c);
			continue;
		}
		last = ref; /* stays valid: the component is held by comps */
		rc = add_component(iv, comps, c);
	}
	if (iv->skipped > 0)
		log_info("inventory: %zu packages listed twice, once kept", iv->skipped);
	return rc;
}

/* ---- os-release ---- */

/*
 * One VALUE of os-release(5): shell-like, either 'single quoted' (as is),
 * "double quoted" (backslash escapes \" \\ \$ \`) or bare (backslash escapes
 * the next character). Returns its length in out, or -1 when it is
 * malformed or too long.
 */
static int osrel_value(const char *p, size_t n, char *out, size_t size)
{
	size_t i = 0, o = 0;
	char q = 0;

	if (n > 0 && (p[0] == '"' || p[0] == '\'')) {
		q = p[0];
		i = 1;
	}
	for (; i < n; i++) {
		char c = p[i];

		if (q != 0 && c == q) {
			i++;
			while (i < n && (p[i] == ' ' || p[i] == '\t'))
				i++;
			if (i != n)
				return -1;
			q = 0;
			break;
		}
		if (c == '\\' && q != '\'' && i + 1 < n) {
			char d = p[i + 1];

			if (q == 0 || d == '"' || d == '\\' || d == '$' || d == '`') {
				c = d;
				i++;
			}
		} else if (q == 0 && (c == ' ' || c == '\t')) {
			break;
		}
		if (o + 1 >= size)
			return -1;
		out[o++] = c;
	}
	if (q != 0)
		return -1;
	out[o] = '\0';
	return (int)o;
}

/* Reads os-release (etc/, then usr/lib/) into iv->osrel: at most OSREL_KEYS variables. */
static int read_osrel(struct inv *iv)
{
	static const char *const paths[] = {"etc/os-release", "usr/lib/os-release"};
	char *text = NULL, val[OSREL_VALUE_MAX], key[64];
	size_t len = 0, pos = 0, i;
	int rc = MM_ENOTFOUND;

	if ((iv->osrel = json_object()) == NULL)
		return MM_ENOMEM;
	for (i = 0; i < 2 && rc == MM_ENOTFOUND; i++)
		rc = read_file(iv->rootfd, paths[i], OSREL_MAX, &text, &len);
	if (rc == MM_ENOMEM)
		return rc;
	if (rc < 0) {
		if (rc != MM_ENOTFOUND)
			log_warnx("inventory: os-release: %s", mm_strerror(rc));
		return 0;
	}
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos), *eq;
		size_t n = nl ? (size_t)(nl - line) : len - pos, k;
		int vl;

		pos += n + (nl ? 1 : 0);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0 || line[0] == '#' || (eq = memchr(line, '=', n)) == NULL)
			continue;
		k = (size_t)(eq - line);
		if (k == 0 || k > 63)
			continue;
		for (i = 0; i < k; i++)
			if (!((line[i] >= 'A' && line[i] <= 'Z') || (line[i] >= '0' && line[i] <= '9') ||
			      line[i] == '_'))
				break;
		if (i != k)
			continue;
		vl = osrel_value(eq + 1, n - k - 1, val, sizeof val);
		if (vl <= 0 || !text_ok(val, (size_t)vl))
			continue;
		memcpy(key, line, k);
		key[k] = '\0';
		if (json_object_get(iv->osrel, key) != NULL)
			continue;
		if (json_object_size(iv->osrel) >= OSREL_KEYS)
			break;
		if (json_object_set_new(iv->osrel, key, json_string(val)) != 0) {
			free(text);
			return MM_ENOMEM;
		}
	}
	free(text);
	return 0;
}

static const char *osrel(const struct inv *iv, const char *key)
{
	return json_string_value(json_object_get(iv->osrel, key));
}

/* The operating system: name ID, version VERSION_ID, every variable as a property. */
static int add_os(struct inv *iv, json_t *comps)
{
	const char *keys[OSREL_KEYS], *key, *cpe = osrel(iv, "CPE_NAME");
	const char *desc = osrel(iv, "PRETTY_NAME") ? osrel(iv, "PRETTY_NAME") : osrel(iv, "NAME");
	size_t nk = 0, i;
	char name[96];
	json_t *c, *v;

	if ((c = component("operating-system", "os", iv->os_id)) == NULL)
		return MM_ENOMEM;
	if (set_str(c, "version", osrel(iv, "VERSION_ID")) != 0 ||
	    set_str(c, "description", desc) != 0)
		goto fail;
	if (cpe != NULL && strncmp(cpe, "cpe:", 4) == 0 && set_str(c, "cpe", cpe) != 0)
		goto fail;
	/* Sorted, so that the same file in another order gives the same BOM. */
	json_object_foreach(iv->osrel, key, v) {
		if (nk == OSREL_KEYS)
			break;
		for (i = nk; i > 0 && strcmp(keys[i - 1], key) > 0; i--)
			keys[i] = keys[i - 1];
		keys[i] = key;
		nk++;
	}
	for (i = 0; i < nk; i++) {
		snprintf(name, sizeof name, "mamori:os-release:%s", keys[i]);
		if (add_prop(c, name, osrel(iv, keys[i])) != 0)
			goto fail;
	}
	return add_component(iv, comps, c);
fail:
	json_decref(c);
	return MM_ENOMEM;
}

/* ---- BusyBox ---- */

struct bb {
	int found;
	char path[32];              /* where the binary is, as the device sees it */
	dev_t dev;
	ino_t ino;
	char version[BB_VERSION_MAX + 1];
	char sha[MM_SHA256_HEX + 1];
	char *applets[APPLETS_MAX];
	size_t napplets;
	size_t left_out;            /* applets past APPLETS_MAX */
};

/*
 * Reads the binary in chunks: the SHA-256 of all of it and the version
 * string. A match near the end of a chunk is looked for again once the
 * next chunk is there, so that a version cut by the chunk border is not
 * taken short.
 */
static int bb_read(int fd, struct bb *b)
{
	enum { KEEP = 128 };
	unsigned char *win;
	size_t have = 0;
	EVP_MD_CTX *md;
	uint8_t d[MM_SHA256_LEN];
	unsigned dl = 0;
	int rc = MM_EIO, eof = 0;

	if ((win = malloc(KEEP + CHUNK)) == NULL)
		return MM_ENOMEM;
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = MM_ENOMEM;
		goto fail;
	}
	while (!eof) {
		ssize_t r = read(fd, win + have, CHUNK);
		size_t at, vs, vl;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		eof = r == 0;
		if (r > 0 && EVP_DigestUpdate(md, win + have, (size_t)r) != 1)
			goto fail;
		have += (size_t)r;
		if (b->version[0] == '\0' && bb_scan(win, have, &at, &vs, &vl) &&
		    (eof || vs + vl < have)) {
			memcpy(b->version, win + vs, vl);
			b->version[vl] = '\0';
		}
		if (have > KEEP) {
			memmove(win, win + have - KEEP, KEEP);
			have = KEEP;
		}
	}
	if (EVP_DigestFinal_ex(md, d, &dl) != 1 || dl != MM_SHA256_LEN)
		goto fail;
	mm_hex(d, sizeof d, b->sha);
	rc = 0;
fail:
	EVP_MD_CTX_free(md);
	free(win);
	return rc;
}

static int bb_find(struct inv *iv, struct bb *b)
{
	static const char *const where[] = {"bin/busybox", "usr/bin/busybox", "sbin/busybox",
					    "usr/sbin/busybox"};
	struct stat st;
	size_t i;
	int fd, rc;

	for (i = 0; i < sizeof where / sizeof where[0]; i++) {
		fd = open_in_root(iv->rootfd, where[i], O_RDONLY | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > BUSYBOX_MAX) {
			close(fd);
			continue;
		}
		rc = bb_read(fd, b);
		close(fd);
		if (rc == MM_ENOMEM)
			return rc;
		if (rc < 0 || b->version[0] == '\0')
			continue; /* not a BusyBox, or unreadable: try the next place */
		b->found = 1;
		b->dev = st.st_dev;
		b->ino = st.st_ino;
		snprintf(b->path, sizeof b->path, "/%s", where[i]);
		return 0;
	}
	return 0;
}

static int add_applet(struct bb *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->napplets; i++)
		if (strcmp(b->applets[i], name) == 0)
			return 0;
	if (b->napplets == APPLETS_MAX) {
		b->left_out++;
		return 0;
	}
	if ((b->applets[b->napplets] = strdup(name)) == NULL)
		return MM_ENOMEM;
	b->napplets++;
	return 0;
}

/* 1 when dir/name (a symbolic link) leads, inside the root, to the BusyBox binary. */
static int links_to_bb(struct inv *iv, const struct bb *b, const char *dir, const char *name)
{
	char rel[PATH_MAX];
	struct stat st;
	int fd, n, same;

	n = snprintf(rel, sizeof rel, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof rel)
		return 0;
	if ((fd = open_in_root(iv->rootfd, rel, O_PATH)) < 0)
		return 0;
	same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == b->dev &&
	       st.st_ino == b->ino;
	close(fd);
	return same;
}

/*
 * The applets: names in bin, sbin, usr/bin and usr/sbin that are the
 * BusyBox binary, by a hard link (same inode) or a symbolic link that
 * leads to it. A directory reached twice (merged /usr: bin -> usr/bin) is
 * read once.
 */
static int bb_applets(struct inv *iv, struct bb *b)
{
	static const char *const dirs[] = {"bin", "sbin", "usr/bin", "usr/sbin"};
	struct stat seen[4], st;
	size_t nseen = 0, i, k;
	int rc = 0;

	for (i = 0; i < 4 && rc == 0; i++) {
		struct dirent *de;
		size_t entries = 0;
		DIR *d;
		int dfd = open_in_root(iv->rootfd, dirs[i], O_RDONLY | O_DIRECTORY);

		if (dfd < 0)
			continue;
		if (fstat(dfd, &st) != 0) {
			close(dfd);
			continue;
		}
		for (k = 0; k < nseen; k++)
			if (seen[k].st_dev == st.st_dev && seen[k].st_ino == st.st_ino)
				break;
		if (k < nseen) {
			close(dfd);
			continue;
		}
		seen[nseen++] = st;
		if ((d = fdopendir(dfd)) == NULL) {
			close(dfd);
			continue;
		}
		while (rc == 0 && (de = readdir(d)) != NULL) {
			size_t nl = strlen(de->d_name);
			struct stat lst;

			if (++entries > DIR_ENTRIES_MAX) {
				log_warnx("inventory: /%s: more than %d entries, the rest not looked at",
					  dirs[i], DIR_ENTRIES_MAX);
				break;
			}
			if (de->d_name[0] == '.' || strcmp(de->d_name, "busybox") == 0 ||
			    nl > NAME_MAX_BYTES || !text_ok(de->d_name, nl))
				continue;
			if (fstatat(dirfd(d), de->d_name, &lst, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			if ((S_ISREG(lst.st_mode) && lst.st_dev == b->dev && lst.st_ino == b->ino) ||
			    (S_ISLNK(lst.st_mode) && links_to_bb(iv, b, dirs[i], de->d_name)))
				rc = add_applet(b, de->d_name);
		}
		closedir(d);
	}
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_busybox(struct inv *iv, json_t *comps)
{
	struct bb *b;
	json_t *c = NULL;
	char ref[160], cpe[160], n[32];
	size_t i;
	int rc;

	if ((b = calloc(1, sizeof *b)) == NULL)
		return MM_ENOMEM;
	if ((rc = bb_find(iv, b)) < 0 || !b->found)
		goto done;
	if ((rc = bb_applets(iv, b)) < 0)
		goto done;
	if (b->napplets > 1)
		qsort(b->applets, b->napplets, sizeof b->applets[0], cmp_str);
	rc = MM_ENOMEM;
	if (purl(ref, sizeof ref, "generic", NULL, "busybox", b->version, NULL, NULL) != 0)
		goto done;
	/* NVD's name for BusyBox, so that a CVE feed matches without a mapping. */
	snprintf(cpe, sizeof cpe, "cpe:2.3:a:busybox:busybox:%s:*:*:*:*:*:*:*", b->version);
	if ((c = component("application", "busybox", "busybox")) == NULL ||
	    set_str(c, "version", b->version) != 0 || set_str(c, "purl", ref) != 0 ||
	    set_str(c, "cpe", cpe) != 0)
		goto done;
	if (json_object_set_new(c, "hashes",
				json_pack("[{s:s, s:s}]", "alg", "SHA-256", "content", b->sha)) != 0)
		goto done;
	if (add_prop(c, "mamori:path", b->path) != 0)
		goto done;
	for (i = 0; i < b->napplets; i++)
		if (add_prop(c, "mamori:busybox:applet", b->applets[i]) != 0)
			goto done;
	if (b->left_out > 0) {
		snprintf(n, sizeof n, "%zu", b->left_out);
		if (add_prop(c, "mamori:busybox:applets-left-out", n) != 0)
			goto done;
	}
	rc = add_component(iv, comps, c);
	c = NULL;
done:
	json_decref(c);
	for (i = 0; i < b->napplets; i++)
		free(b->applets[i]);
	free(b);
	return rc;
}

/* ---- mamorid's own components ---- */

#define STR_(x) #x
#define STR(x) STR_(x)

/* What mamorid was built with: versions from the headers it was compiled against. */
static const struct {
	const char *name, *version, *cpe_vendor;
} built_with[] = {
	{"jansson", JANSSON_VERSION, "jansson_project"},
	{"openssl", OPENSSL_VERSION_STR, "openssl"},
	{"libevent", LIBEVENT_VERSION, "libevent_project"},
	{"zlib", ZLIB_VERSION, "zlib"},
#ifdef MAMORI_WITH_YARA
	{"yara", STR(YR_MAJOR_VERSION) "." STR(YR_MINOR_VERSION) "." STR(YR_MICRO_VERSION),
	 "virustotal"},
#endif
	{"libseccomp", STR(SCMP_VER_MAJOR) "." STR(SCMP_VER_MINOR) "." STR(SCMP_VER_MICRO),
	 "libseccomp_project"},
	{"libxcrypt", XCRYPT_VERSION_STR, NULL},
	{"yajl", STR(YAJL_MAJOR) "." STR(YAJL_MINOR) "." STR(YAJL_MICRO), NULL},
	{"inih", NULL, NULL},
	{"librelp", NULL, NULL},
	{"libcap", NULL, NULL},
};

static int add_self(struct inv *iv, json_t *comps, json_t *deps)
{
	json_t *c, *on;
	char ref[128], p[160], cpe[200];
	size_t i;
	int rc;

	if ((c = component("application", "mamori", "mamori")) == NULL)
		return MM_ENOMEM;
	if (set_str(c, "version", MAMORI_VERSION) != 0 ||
	    set_str(c, "description", "mamorid, the device agent of mamori") != 0 ||
	    purl(p, sizeof p, "generic", NULL, "mamori", MAMORI_VERSION, NULL, NULL) != 0 ||
	    set_str(c, "purl", p) != 0) {
		json_decref(c);
		return MM_ENOMEM;
	}
	if ((rc = add_component(iv, comps, c)) < 0)
		return rc;
	if ((on = json_array()) == NULL)
		return MM_ENOMEM;
	if (json_array_append_new(deps, json_pack("{s:s, s:o}", "ref", "mamori", "dependsOn", on)))
		return MM_ENOMEM;
	for (i = 0; i < sizeof built_with / sizeof built_with[0]; i++) {
		const char *v = built_with[i].version;

		snprintf(ref, sizeof ref, "mamori/%s", built_with[i].name);
		if ((c = component("library", ref, built_with[i].name)) == NULL)
			return MM_ENOMEM;
		rc = set_str(c, "version", v);
		if (rc == 0 && v != NULL &&
		    (purl(p, sizeof p, "generic", NULL, built_with[i].name, v, NULL, NULL) != 0 ||
		     set_str(c, "purl", p) != 0))
			rc = MM_ENOMEM;
		if (rc == 0 && v != NULL && built_with[i].cpe_vendor != NULL) {
			/* NVD's versions are the release numbers: "2.1.12", not "2.1.12-stable". */
			snprintf(cpe, sizeof cpe, "cpe:2.3:a:%s:%s:%.*s:*:*:*:*:*:*:*",
				 built_with[i].cpe_vendor, built_with[i].name, (int)strcspn(v, "-"),
				 v);
			rc = set_str(c, "cpe", cpe);
		}
		if (rc == 0)
			rc = add_prop(c, "mamori:version-from", v ? "build" : "unknown");
		if (rc != 0) {
			json_decref(c);
			return MM_ENOMEM;
		}
		if ((rc = add_component(iv, comps, c)) < 0)
			return rc;
		if (json_array_append_new(on, json_string(ref)) != 0)
			return MM_ENOMEM;
	}
	return 0;
}

/* ---- metadata and the BOM ---- */

static json_t *metadata(struct inv *iv)
{
	const struct inventory_opts *o = iv->o;
	char host[256], ts[32];
	const char *name = o->device_id, *fw = o->firmware;
	time_t t = o->time_s > 0 ? (time_t)o->time_s : time(NULL);
	struct tm tm;
	json_t *m, *dev;

	if (name == NULL) {
		if (gethostname(host, sizeof host) != 0)
			host[0] = '\0';
		host[sizeof host - 1] = '\0';
		name = host[0] && text_ok(host, strlen(host)) ? host : "unknown";
	}
	if (fw == NULL)
		fw = osrel(iv, "VERSION_ID");
	if (gmtime_r(&t, &tm) == NULL || strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	if ((dev = component("device", "device", name)) == NULL)
		return NULL;
	if (fw != NULL && fw[0] != '\0' && set_str(dev, "version", fw) != 0) {
		json_decref(dev);
		return NULL;
	}
	m = json_pack("{s:s, s:{s:[{s:s, s:s, s:s}]}, s:o}", "timestamp", ts, "tools", "components",
		      "type", "application", "name", "mamorid", "version", MAMORI_VERSION,
		      "component", dev);
	return m;
}

/* The RFC 9562 version 8 UUID of a SHA-256: its first 16 bytes with the
 * version and variant bits set. */
static void uuid_of(const uint8_t d[MM_SHA256_LEN], char out[46])
{
	uint8_t u[16];
	char h[33];

	memcpy(u, d, 16);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x80);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	mm_hex(u, 16, h);
	snprintf(out, 46, "urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/*
 * Builds the BOM (inventory.h); MM_EINVAL also for a device id or firmware
 * that is not UTF-8 text, MM_EIO when the root cannot be opened. The order
 * of work: os-release first (the purls need its ID), then the operating
 * system, BusyBox, mamorid's own components and the packages; the
 * serialNumber last, from the digest of everything else.
 */
int inventory_build(const struct inventory_opts *o, json_t **bom)
{
	struct inv iv;
	json_t *body = NULL, *comps = NULL, *deps = NULL, *meta, *out = NULL;
	uint8_t d[MM_SHA256_LEN];
	char serial[46];
	size_t i;
	int rc;

	if (o == NULL || bom == NULL)
		return MM_EINVAL;
	*bom = NULL;
	/* The caller's names must be text: they become JSON strings. */
	if ((o->device_id != NULL && !text_ok(o->device_id, strlen(o->device_id))) ||
	    (o->firmware != NULL && !text_ok(o->firmware, strlen(o->firmware))))
		return MM_EINVAL;
	memset(&iv, 0, sizeof iv);
	iv.o = o;
	iv.rootfd = open(o->root ? o->root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (iv.rootfd < 0) {
		log_warn("inventory: %s", o->root ? o->root : "/");
		return MM_EIO;
	}
	if ((rc = read_osrel(&iv)) < 0)
		goto fail;
	iv.os_id = osrel(&iv, "ID") ? osrel(&iv, "ID") : "linux";
	iv.codename = osrel(&iv, "VERSION_CODENAME");
	rc = MM_ENOMEM;
	if ((comps = json_array()) == NULL || (deps = json_array()) == NULL)
		goto fail;
	if ((rc = add_os(&iv, comps)) < 0 || (rc = add_busybox(&iv, comps)) < 0 ||
	    (rc = add_self(&iv, comps, deps)) < 0)
		goto fail;
	if ((rc = read_status(&iv, "var/lib/dpkg/status", "dpkg")) < 0 ||
	    (rc = read_status(&iv, "usr/lib/opkg/status", "opkg")) < 0 ||
	    (rc = read_status(&iv, "var/lib/opkg/status", "opkg")) < 0)
		goto fail;
	if ((rc = add_packages(&iv, comps)) < 0)
		goto fail;
	rc = MM_ENOMEM;
	if ((meta = metadata(&iv)) == NULL)
		goto fail;
	body = json_pack("{s:s, s:s, s:i, s:o, s:O, s:O}", "bomFormat", "CycloneDX", "specVersion",
			 "1.5", "version", 1, "metadata", meta, "components", comps, "dependencies",
			 deps);
	if (body == NULL || (rc = inventory_digest(body, d)) < 0)
		goto fail;
	uuid_of(d, serial);
	out = json_pack("{s:s, s:s, s:s, s:i, s:O, s:O, s:O}", "bomFormat", "CycloneDX",
			"specVersion", "1.5", "serialNumber", serial, "version", 1, "metadata",
			json_object_get(body, "metadata"), "components", comps, "dependencies", deps);
	if (out == NULL) {
		rc = MM_ENOMEM;
		goto fail;
	}
	*bom = out;
	rc = 0;
fail:
	if (rc == MM_ETOOBIG)
		log_warnx("inventory: more than %d components", INVENTORY_MAX_COMPONENTS);
	for (i = 0; i < iv.npkgs; i++)
		json_decref(iv.pkgs[i]);
	free(iv.pkgs);
	free(iv.order);
	json_decref(body);
	json_decref(comps);
	json_decref(deps);
	json_decref(iv.osrel);
	close(iv.rootfd);
	return rc;
}

/* ---- digest and split ---- */

static int hash_cb(const char *buf, size_t size, void *data)
{
	return EVP_DigestUpdate(data, buf, size) == 1 ? 0 : -1;
}

/*
 * SHA-256 of json_dump(bom, JSON_SORT_KEYS | JSON_COMPACT) with
 * metadata.timestamp left out, streamed so that no copy of the text is
 * made. bom itself is not changed: a shallow copy of it and of its
 * metadata stands in. Returns 0, MM_EINVAL (not an object), MM_ENOMEM.
 */
int inventory_digest(json_t *bom, uint8_t out[MM_SHA256_LEN])
{
	json_t *top = NULL, *meta;
	EVP_MD_CTX *md = NULL;
	unsigned dl = 0;
	int rc = MM_ENOMEM;

	if (!json_is_object(bom) || out == NULL)
		return MM_EINVAL;
	if ((top = json_copy(bom)) == NULL)
		goto fail;
	meta = json_object_get(bom, "metadata");
	if (json_is_object(meta)) {
		json_t *m = json_copy(meta);

		if (m == NULL || json_object_set_new(top, "metadata", m) != 0)
			goto fail;
		json_object_del(m, "timestamp");
	}
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto fail;
	if (json_dump_callback(top, hash_cb, md, JSON_SORT_KEYS | JSON_COMPACT) != 0)
		goto fail;
	if (EVP_DigestFinal_ex(md, out, &dl) != 1 || dl != MM_SHA256_LEN)
		goto fail;
	rc = 0;
fail:
	EVP_MD_CTX_free(md);
	json_decref(top);
	return rc;
}

static int count_cb(const char *buf, size_t size, void *data)
{
	(void)buf;
	*(size_t *)data += size;
	return 0;
}

/* Bytes of json_dumps(j, JSON_COMPACT), without making the text. */
static size_t dumped(json_t *j)
{
	size_t n = 0;

	if (json_dump_callback(j, count_cb, &n, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
		return SIZE_MAX;
	return n;
}

/* The dependency entry of ref in deps, or NULL. */
static json_t *dep_of(json_t *deps, const char *ref)
{
	size_t i;
	json_t *d;

	if (ref == NULL)
		return NULL;
	json_array_foreach(deps, i, d) {
		const char *r = json_string_value(json_object_get(d, "ref"));

		if (r != NULL && strcmp(r, ref) == 0)
			return d;
	}
	return NULL;
}

/* One part: base's members, the components [from, to), their dependency
 * entries, and the part's number among the properties. */
static json_t *make_part(json_t *base, json_t *props, json_t *comps, json_t *deps, size_t from,
			 size_t to, size_t i, size_t n)
{
	json_t *p = json_copy(base), *pc = json_array(), *pd = json_array(), *pp = json_copy(props);
	char v[48];
	size_t k;
	int bad = p == NULL || pc == NULL || pd == NULL || pp == NULL;

	for (k = from; k < to && !bad; k++) {
		json_t *c = json_array_get(comps, k);
		json_t *d = dep_of(deps, json_string_value(json_object_get(c, "bom-ref")));

		bad = json_array_append(pc, c) != 0 || (d != NULL && json_array_append(pd, d) != 0);
	}
	snprintf(v, sizeof v, "%zu/%zu", i, n);
	if (!bad)
		bad = json_array_append_new(pp, json_pack("{s:s, s:s}", "name", "mamori:part",
							  "value", v)) != 0 ||
		      json_object_set(p, "components", pc) != 0 ||
		      (json_array_size(pd) > 0 && json_object_set(p, "dependencies", pd) != 0) ||
		      json_object_set(p, "properties", pp) != 0;
	json_decref(pc);
	json_decref(pd);
	json_decref(pp);
	if (bad) {
		json_decref(p);
		return NULL;
	}
	return p;
}

/*
 * Splits bom into parts of at most max_bytes (as json_dumps(part,
 * JSON_COMPACT) writes them): components in their order, as many per part
 * as fit, each with its dependency entry. The size of a part is worked out
 * from the sizes of its members with the widest part number, then checked
 * on the finished part. Returns 0, MM_EINVAL, MM_ENOMEM, or MM_ETOOBIG when
 * a component with the BOM's other members does not fit max_bytes alone.
 */
int inventory_split(json_t *bom, size_t max_bytes, json_t ***parts, size_t *n)
{
	json_t *comps, *deps, *base = NULL, *props = NULL, *probe = NULL, *wide = NULL, **out = NULL;
	size_t nc, i, np = 0, base_len, cur, *start = NULL;
	int rc = MM_ENOMEM;

	if (!json_is_object(bom) || parts == NULL || n == NULL)
		return MM_EINVAL;
	*parts = NULL;
	*n = 0;
	comps = json_object_get(bom, "components");
	deps = json_object_get(bom, "dependencies");
	nc = json_is_array(comps) ? json_array_size(comps) : 0;
	if ((base = json_copy(bom)) == NULL)
		goto fail;
	json_object_del(base, "components");
	json_object_del(base, "dependencies");
	json_object_del(base, "properties");
	props = json_is_array(json_object_get(bom, "properties"))
			? json_copy(json_object_get(bom, "properties"))
			: json_array();
	if (props == NULL)
		goto fail;
	/* The frame of a part, with the widest "i/n" and both lists empty. */
	if ((probe = json_copy(base)) == NULL ||
	    json_object_set_new(probe, "components", json_array()) != 0 ||
	    json_object_set_new(probe, "dependencies", json_array()) != 0 ||
	    json_object_set(probe, "properties", props) != 0)
		goto fail;
	wide = json_pack("{s:s, s:s}", "name", "mamori:part", "value",
			 "18446744073709551615/18446744073709551615");
	if (wide == NULL)
		goto fail;
	base_len = dumped(probe) + dumped(wide) + 1;
	if ((start = malloc((nc + 1) * sizeof *start)) == NULL)
		goto fail;
	cur = base_len;
	start[np++] = 0;
	for (i = 0; i < nc; i++) {
		json_t *c = json_array_get(comps, i);
		json_t *d = dep_of(deps, json_string_value(json_object_get(c, "bom-ref")));
		size_t cost = dumped(c) + 1 + (d != NULL ? dumped(d) + 1 : 0);

		if (base_len + cost > max_bytes) {
			rc = MM_ETOOBIG;
			goto fail;
		}
		if (cur + cost > max_bytes && i > start[np - 1]) {
			start[np++] = i;
			cur = base_len;
		}
		cur += cost;
	}
	start[np] = nc;
	if ((out = calloc(np, sizeof *out)) == NULL)
		goto fail;
	for (i = 0; i < np; i++) {
		if ((out[i] = make_part(base, props, comps, deps, start[i], start[i + 1], i + 1, np)) ==
		    NULL)
			goto fail;
		if (dumped(out[i]) > max_bytes) {
			rc = MM_ETOOBIG; /* the frame alone is larger than the bound */
			goto fail;
		}
	}
	*parts = out;
	*n = np;
	out = NULL;
	rc = 0;
fail:
	if (out != NULL) {
		for (i = 0; i < np; i++)
			json_decref(out[i]);
		free(out);
	}
	free(start);
	json_decref(wide);
	json_decref(probe);
	json_decref(props);
	json_decref(base);
	return rc;
}
