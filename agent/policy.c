/*
 * The guard's decision: where a file lives (policy_path) and what it is
 * (policy_hash).
 *
 * Where: the path as the agent sees it, with the configured root stripped,
 * is matched against deny_paths (folder prefixes on whole components, so
 * that /tmp does not catch /tmpl), the filesystem's magic against
 * deny_fstypes, and the overlay upper flag; allow_paths are exceptions to
 * all three. What: the feed (a set of SHA-256 that are refused), the
 * baseline (the (SHA-256, size) pairs of the firmware, the only ones that
 * may run in allowlist mode) and the YARA verdict the reporter found.
 *
 * The feed and the baseline are hash sets with open addressing over the
 * digests' own bytes (a SHA-256 is already uniform, so it needs no hash of
 * its own), bounded by POLICY_MAX_ENTRIES. A feed is parsed into a new set
 * and replaces the old one only when every line is good, so that a broken
 * update never leaves the device with half a feed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mamori/error.h"
#include "mamori/hash.h"
#include "mamori/log.h"

#include "guard.h"

#define MAX_PREFIXES AGENT_MAX_LIST
#define MAX_FSTYPES AGENT_MAX_LIST

/* One entry of a set: a digest and, for the baseline, the size. A size's
 * top bit (no file is 2^63 bytes) marks the slot used, keeping an entry at
 * 40 bytes. */
struct hentry {
	uint8_t sha[MM_SHA256_LEN];
	uint64_t size;
};

#define USED (UINT64_C(1) << 63)

struct hset {
	struct hentry *v;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

struct policy {
	char *root;                      /* without a trailing '/'; NULL: none */
	size_t root_len;
	char *deny[MAX_PREFIXES];
	size_t ndeny;
	char *allow[MAX_PREFIXES];
	size_t nallow;
	long fstypes[MAX_FSTYPES];
	size_t nfstypes;
	int deny_upper;
	int allowlist;
	int yara;
	struct hset feed;
	struct hset baseline;
	char err[96];
	size_t err_line;
};

/* Known filesystem names and their f_type. devtmpfs is a tmpfs (or ramfs)
 * to statfs(2); overlay stands for its upper layer only (the upper flag). */
static const struct {
	const char *name;
	long magic;
} fstype_names[] = {
	{ "tmpfs", POLICY_TMPFS_MAGIC },    { "ramfs", POLICY_RAMFS_MAGIC },
	{ "devtmpfs", POLICY_TMPFS_MAGIC }, { "overlay", POLICY_OVERLAYFS_MAGIC },
	{ "squashfs", 0x73717368L },        { "ext4", 0xef53L },
	{ "ext3", 0xef53L },                { "ext2", 0xef53L },
	{ "vfat", 0x4d44L },                { "fuse", 0x65735546L },
	{ "nfs", 0x6969L },                 { "9p", 0x01021997L },
	{ "cramfs", 0x28cd3d45L },          { "jffs2", 0x72b6L },
	{ "ubifs", 0x24051905L },           { "btrfs", 0x9123683eL },
	{ "xfs", 0x58465342L },             { "f2fs", 0xf2f52010L },
};

static long fstype_magic(const char *name)
{
	for (size_t i = 0; i < sizeof fstype_names / sizeof fstype_names[0]; i++)
		if (strcmp(fstype_names[i].name, name) == 0)
			return fstype_names[i].magic;
	return 0;
}

int policy_fstype_known(const char *name)
{
	return name != NULL && fstype_magic(name) != 0;
}

static void set_err(struct policy *p, size_t line, const char *msg)
{
	snprintf(p->err, sizeof p->err, "%s", msg);
	p->err_line = line;
}

const char *policy_error(const struct policy *p)
{
	return p->err;
}

size_t policy_error_line(const struct policy *p)
{
	return p->err_line;
}

size_t policy_feed_count(const struct policy *p)
{
	return p->feed.n;
}

size_t policy_baseline_count(const struct policy *p)
{
	return p->baseline.n;
}

/* ---- hash sets ---------------------------------------------------------- */

static size_t slot_of(const uint8_t sha[MM_SHA256_LEN], uint64_t size, size_t cap)
{
	uint64_t h;

	memcpy(&h, sha, sizeof h);
	h ^= size * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h & (cap - 1));
}

static void hset_free(struct hset *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

static int hset_find(const struct hset *s, const uint8_t sha[MM_SHA256_LEN], uint64_t size)
{
	size_t i;

	if (s->cap == 0)
		return 0;
	/* The table is never more than half full, so the probe ends at a hole. */
	for (i = slot_of(sha, size, s->cap);; i = (i + 1) & (s->cap - 1)) {
		const struct hentry *e = &s->v[i];

		if (!(e->size & USED))
			return 0;
		if (e->size == (size | USED) && memcmp(e->sha, sha, MM_SHA256_LEN) == 0)
			return 1;
	}
}

static void hset_place(struct hset *s, const uint8_t sha[MM_SHA256_LEN], uint64_t size)
{
	size_t i = slot_of(sha, size, s->cap);

	while (s->v[i].size & USED)
		i = (i + 1) & (s->cap - 1);
	memcpy(s->v[i].sha, sha, MM_SHA256_LEN);
	s->v[i].size = size | USED;
	s->n++;
}

/* Adds (sha, size) unless it is there: 0, MM_ETOOBIG past the bound, MM_ENOMEM. */
static int hset_add(struct hset *s, const uint8_t sha[MM_SHA256_LEN], uint64_t size)
{
	if (hset_find(s, sha, size))
		return 0;
	if (s->n >= POLICY_MAX_ENTRIES)
		return MM_ETOOBIG;
	if ((s->n + 1) * 2 > s->cap) {
		struct hset bigger = { NULL, s->cap ? s->cap * 2 : 1024, 0 };

		bigger.v = calloc(bigger.cap, sizeof *bigger.v);
		if (bigger.v == NULL)
			return MM_ENOMEM;
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i].size & USED)
				hset_place(&bigger, s->v[i].sha, s->v[i].size & ~USED);
		free(s->v);
		*s = bigger;
	}
	hset_place(s, sha, size);
	return 0;
}

/* ---- the text of a feed and of a baseline ------------------------------ */

/* One line of text at a time: *line and *n, without the '\n' (and a '\r'). */
struct lines {
	const char *p, *end;
	size_t no;
};

static int next_line(struct lines *l, const char **line, size_t *n)
{
	const char *nl;

	if (l->p >= l->end)
		return 0;
	nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	*line = l->p;
	*n = (size_t)((nl ? nl : l->end) - l->p);
	l->p = nl ? nl + 1 : l->end;
	l->no++;
	if (*n > 0 && (*line)[*n - 1] == '\r')
		(*n)--;
	return 1;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* 1 for a line that is empty, blanks or a '#' comment. */
static int skip_line(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && is_blank(s[i]))
		i++;
	return i == n || s[i] == '#';
}

/* "SHA256HEX [name]": 64 hex digits, then the end or a blank and any name. */
static int feed_line(const char *s, size_t n, uint8_t sha[MM_SHA256_LEN])
{
	size_t i = 0;

	while (i < n && is_blank(s[i]))
		i++;
	if (n - i < MM_SHA256_HEX || mm_sha256_parse(s + i, MM_SHA256_HEX, sha) < 0)
		return MM_EPARSE;
	i += MM_SHA256_HEX;
	if (i < n && !is_blank(s[i]))
		return MM_EPARSE;
	if (memchr(s, '\0', n) != NULL)
		return MM_EPARSE;
	return 0;
}

int policy_parse_feed(struct policy *p, const char *text, size_t len)
{
	struct lines l = { text, text + len, 0 };
	struct hset s = { NULL, 0, 0 };
	uint8_t sha[MM_SHA256_LEN];
	const char *line;
	size_t n;
	int rc;

	set_err(p, 0, "");
	if (text == NULL && len > 0)
		return MM_EINVAL;
	while (next_line(&l, &line, &n)) {
		if (skip_line(line, n))
			continue;
		if (feed_line(line, n, sha) < 0) {
			set_err(p, l.no, "not a SHA-256 (64 hex digits, then a blank and a name)");
			rc = MM_EPARSE;
			goto fail;
		}
		if ((rc = hset_add(&s, sha, 0)) < 0) {
			set_err(p, l.no, rc == MM_ETOOBIG ? "too many entries" : "out of memory");
			goto fail;
		}
	}
	hset_free(&p->feed);
	p->feed = s;
	return 0;
fail:
	hset_free(&s);
	return rc;
}

/* Decimal digits into *v without overflow: 0 or MM_EPARSE. */
static int parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 20)
		return MM_EPARSE;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return MM_EPARSE;
		if (x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return MM_EPARSE;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

/* The n-th tab-separated field of a line. */
static int field(const char *s, size_t n, unsigned k, const char **f, size_t *fn)
{
	size_t start = 0;

	for (size_t i = 0;; i++) {
		if (i == n || s[i] == '\t') {
			if (k == 0) {
				*f = s + start;
				*fn = i - start;
				return 0;
			}
			if (i == n)
				return MM_EPARSE;
			k--;
			start = i + 1;
		}
	}
}

/* "PATH\tSIZE\tSHA256\tMODE", exactly four fields (docs/formats/baseline.md). */
static int baseline_line(const char *s, size_t n, uint8_t sha[MM_SHA256_LEN], uint64_t *size)
{
	const char *f;
	size_t fn;

	if (memchr(s, '\0', n) != NULL)
		return MM_EPARSE;
	if (field(s, n, 0, &f, &fn) < 0 || fn == 0 || f[0] != '/')
		return MM_EPARSE;
	if (field(s, n, 1, &f, &fn) < 0 || parse_u64(f, fn, size) < 0)
		return MM_EPARSE;
	if (field(s, n, 2, &f, &fn) < 0 || mm_sha256_parse(f, fn, sha) < 0)
		return MM_EPARSE;
	if (field(s, n, 3, &f, &fn) < 0 || fn == 0 || fn > 6)
		return MM_EPARSE;
	for (size_t i = 0; i < fn; i++)
		if (f[i] < '0' || f[i] > '7')
			return MM_EPARSE;
	if (field(s, n, 4, &f, &fn) == 0)
		return MM_EPARSE;
	return 0;
}

int policy_parse_baseline(struct policy *p, const char *text, size_t len)
{
	static const char magic[] = "# mamori baseline 1";
	struct lines l = { text, text + len, 0 };
	struct hset s = { NULL, 0, 0 };
	uint8_t sha[MM_SHA256_LEN];
	const char *line;
	uint64_t size;
	size_t n;
	int rc;

	set_err(p, 0, "");
	if (text == NULL && len > 0)
		return MM_EINVAL;
	if (!next_line(&l, &line, &n) || n != sizeof magic - 1 || memcmp(line, magic, n) != 0) {
		set_err(p, 1, "not a mamori baseline (\"# mamori baseline 1\" missing)");
		return MM_EPARSE;
	}
	while (next_line(&l, &line, &n)) {
		if (n == 0 || line[0] == '#')
			continue;
		if (baseline_line(line, n, sha, &size) < 0) {
			set_err(p, l.no, "not PATH<TAB>SIZE<TAB>SHA256<TAB>MODE");
			rc = MM_EPARSE;
			goto fail;
		}
		if (size & USED) {
			set_err(p, l.no, "size out of range");
			rc = MM_EPARSE;
			goto fail;
		}
		if ((rc = hset_add(&s, sha, size)) < 0) {
			set_err(p, l.no, rc == MM_ETOOBIG ? "too many entries" : "out of memory");
			goto fail;
		}
	}
	hset_free(&p->baseline);
	p->baseline = s;
	return 0;
fail:
	hset_free(&s);
	return rc;
}

/* Reads a whole file of at most POLICY_MAX_FILE bytes into a malloc'd buffer. */
static int read_file(struct policy *p, const char *path, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc = MM_EIO;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		set_err(p, 0, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(p, 0, "not a regular file");
		rc = MM_EINVAL;
		goto fail;
	}
	if ((uint64_t)st.st_size > POLICY_MAX_FILE) {
		set_err(p, 0, "file too large");
		rc = MM_ETOOBIG;
		goto fail;
	}
	/* One byte more than the size says, to see a file that grew meanwhile. */
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		set_err(p, 0, "out of memory");
		rc = MM_ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			set_err(p, 0, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > (size_t)st.st_size) {
			set_err(p, 0, "file changed while read");
			rc = MM_EAGAIN;
			goto fail;
		}
	}
	close(fd);
	*out = buf;
	*len = got;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

int policy_reload_feed(struct policy *p, const char *path)
{
	char *text;
	size_t len;
	int rc;

	if ((rc = read_file(p, path, &text, &len)) < 0)
		return rc;
	rc = policy_parse_feed(p, text, len);
	free(text);
	return rc;
}

static int load_baseline(struct policy *p, const char *path)
{
	char *text;
	size_t len;
	int rc;

	if ((rc = read_file(p, path, &text, &len)) < 0)
		return rc;
	rc = policy_parse_baseline(p, text, len);
	free(text);
	return rc;
}

/* ---- construction ------------------------------------------------------ */

/* A copy of a folder path without trailing slashes ("/" stays "/"). */
static char *prefix_dup(const char *s)
{
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		n--;
	return strndup(s, n);
}

static int prefixes(char **dst, size_t *nd, const struct agent_list *l)
{
	for (size_t i = 0; i < l->n && i < MAX_PREFIXES; i++) {
		if (l->v[i] == NULL || l->v[i][0] != '/') {
			log_warnx("policy: \"%s\" is not an absolute path", l->v[i] ? l->v[i] : "");
			return MM_EINVALID;
		}
		if ((dst[*nd] = prefix_dup(l->v[i])) == NULL)
			return MM_ENOMEM;
		(*nd)++;
	}
	return 0;
}

int policy_new(const struct agent_conf *c, struct policy **out)
{
	struct policy *p;
	int rc = MM_ENOMEM;

	*out = NULL;
	if ((p = calloc(1, sizeof *p)) == NULL)
		return MM_ENOMEM;
	if (c->root != NULL && c->root[0] != '\0' && strcmp(c->root, "/") != 0) {
		if ((p->root = prefix_dup(c->root)) == NULL)
			goto fail;
		p->root_len = strlen(p->root);
	}
	if ((rc = prefixes(p->deny, &p->ndeny, &c->deny_paths)) < 0 ||
	    (rc = prefixes(p->allow, &p->nallow, &c->allow_paths)) < 0)
		goto fail;
	p->deny_upper = c->deny_overlay_upper;
	for (size_t i = 0; i < c->deny_fstypes.n; i++) {
		long m = fstype_magic(c->deny_fstypes.v[i]);

		if (m == 0) {
			log_warnx("policy: unknown filesystem type \"%s\"", c->deny_fstypes.v[i]);
			rc = MM_EINVALID;
			goto fail;
		}
		/* An overlay's lower layers are the firmware: only its upper
		 * layer is writable, and that is what the upper flag says. */
		if (m == POLICY_OVERLAYFS_MAGIC)
			p->deny_upper = 1;
		else if (p->nfstypes < MAX_FSTYPES)
			p->fstypes[p->nfstypes++] = m;
	}
	p->allowlist = c->allowlist;
	p->yara = c->yara_rules != NULL && c->yara_rules[0] != '\0';
	if (c->feed != NULL && (rc = policy_reload_feed(p, c->feed)) < 0) {
		log_warnx("feed %s:%zu: %s", c->feed, p->err_line, p->err);
		goto fail;
	}
	if (c->baseline != NULL && (rc = load_baseline(p, c->baseline)) < 0) {
		log_warnx("baseline %s:%zu: %s", c->baseline, p->err_line, p->err);
		goto fail;
	}
	if (p->allowlist && c->baseline == NULL) {
		log_warnx("policy: allowlist needs a baseline");
		rc = MM_EINVALID;
		goto fail;
	}
	*out = p;
	return 0;
fail:
	policy_free(p);
	return rc;
}

void policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	free(p->root);
	for (size_t i = 0; i < p->ndeny; i++)
		free(p->deny[i]);
	for (size_t i = 0; i < p->nallow; i++)
		free(p->allow[i]);
	hset_free(&p->feed);
	hset_free(&p->baseline);
	free(p);
}

/* ---- the decisions ----------------------------------------------------- */

/* 1 when path is prefix or lies under it (whole components). */
static int under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int any_under(const char *path, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (under(path, v[i]))
			return 1;
	return 0;
}

enum verdict policy_path(const struct policy *p, const char *path, long fs_magic, int upper,
			 const char **reason)
{
	*reason = "";
	if (path == NULL)
		path = "";
	/* The device's own view: ROOT/tmp/x is /tmp/x; a path outside the
	 * root is matched as it is. */
	if (p->root != NULL && strncmp(path, p->root, p->root_len) == 0 &&
	    (path[p->root_len] == '/' || path[p->root_len] == '\0'))
		path = path[p->root_len] == '\0' ? "/" : path + p->root_len;
	if (!any_under(path, p->allow, p->nallow)) {
		for (size_t i = 0; i < p->nfstypes; i++) {
			if (p->fstypes[i] == fs_magic) {
				*reason = "volatile";
				return V_DENY;
			}
		}
		if (any_under(path, p->deny, p->ndeny)) {
			*reason = "writable";
			return V_DENY;
		}
		if (upper && p->deny_upper) {
			*reason = "overlay";
			return V_DENY;
		}
	}
	if (p->feed.n > 0 || p->allowlist || p->yara)
		return V_SCAN;
	return V_ALLOW;
}

enum verdict policy_hash(const struct policy *p, const uint8_t sha256[MM_SHA256_LEN], uint64_t size,
			 int yara_match, const char **reason)
{
	*reason = "";
	if (hset_find(&p->feed, sha256, 0)) {
		*reason = "feed";
		return V_DENY;
	}
	if (p->allowlist && !hset_find(&p->baseline, sha256, size)) {
		*reason = "allowlist";
		return V_DENY;
	}
	if (yara_match) {
		*reason = "yara";
		return V_DENY;
	}
	return V_ALLOW;
}
