/*
 * The file systems of mamori-trap: the persona's base tree, loaded once and
 * shared, and each session's copy-on-write overlay on top of it (fs.h).
 *
 * The base is a tree of nodes whose children are kept sorted by name, so
 * that a path is found one component at a time by binary search. The
 * overlay is a table of entries sorted by absolute path: an entry is a file,
 * directory, link or device the session made or changed, or a whiteout that
 * hides what the base has at that path and below. An overlay directory made
 * by the session is opaque (the base's entries below it are not seen), one
 * copied up for a chmod is not. A session that never writes has no table.
 *
 * Path resolution walks the components, keeping for each level the base
 * node there (NULL when the base has nothing there or it is hidden), and
 * follows symbolic links by putting the target in front of what is left.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mamori/error.h"

#include "fs.h"

#define BASE_MAX (16u * 1024 * 1024) /* bytes a base may hold */
#define BASE_DEPTH 32                /* directory levels loaded from root/ */
#define LINKS_MAX 8                  /* symbolic links followed in one resolution */
#define MNT_MAX 32                   /* mount points read from proc/mounts */
#define LIST_MAX 65536               /* entries one directory listing may hold */

struct bnode {
	char *name;
	struct bnode *parent;
	struct bnode **kids; /* sorted by name */
	size_t nkids, capkids;
	enum trap_fs_type type;
	enum trap_fs_gen gen;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	time_t mtime;
	uint64_t ino;
	uint8_t *data; /* a file's bytes or a link's target */
	size_t len;
};

struct mnt {
	char path[128];
	int ro;
	int pseudo;   /* proc, sysfs: no new files */
	int volatile_; /* its entries date from the boot */
};

struct trap_fs_base {
	struct bnode *root;
	size_t bytes;
	struct trap_fs_elf elf;
	time_t boot_time;
	uint64_t next_ino;
	struct mnt mnts[MNT_MAX];
	size_t nmnts;
};

enum { OV_WHITEOUT = 0 };

struct oent {
	char *path;
	uint64_t id;
	int type;            /* enum trap_fs_type, or OV_WHITEOUT */
	int opaque;          /* a directory that hides the base below it */
	int dirty;           /* written since the last trap_fs_changed */
	int own;             /* bytes the session wrote (not only a copied-up base file) */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	time_t mtime;
	uint8_t *data;
	size_t len, cap;
	const struct bnode *src; /* copied up lazily: the bytes are still the base's */
};

struct trap_fs {
	const struct trap_fs_base *b;
	size_t max, used;
	struct oent **ents; /* sorted by path */
	size_t n, cap;
	uint64_t next_id;
};

/* ---- the base ---- */

static void bnode_free(struct bnode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nkids; i++)
		bnode_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->data);
	free(n);
}

static struct bnode *bnode_child(const struct bnode *d, const char *name, size_t len)
{
	size_t lo = 0, hi = d ? d->nkids : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *k = d->kids[mid]->name;
		int c = strncmp(k, name, len);

		if (c == 0 && k[len] != '\0')
			c = 1;
		if (c == 0)
			return d->kids[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int base_charge(struct trap_fs_base *b, size_t n)
{
	if (n > BASE_MAX || b->bytes > BASE_MAX - n)
		return -EFBIG;
	b->bytes += n;
	return 0;
}

/* Adds a child to d (which keeps its kids sorted); the name is copied. */
static int bnode_add(struct trap_fs_base *b, struct bnode *d, const char *name,
		     enum trap_fs_type type, struct bnode **out)
{
	struct bnode *n;
	size_t lo = 0, hi = d->nkids, len = strlen(name);
	int rc;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(d->kids[mid]->name, name);

		if (c == 0)
			return -EEXIST;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if ((rc = base_charge(b, sizeof *n + len + 1 + sizeof n)) < 0)
		return rc;
	if (d->nkids == d->capkids) {
		size_t nc = d->capkids ? 2 * d->capkids : 8;
		struct bnode **k = realloc(d->kids, nc * sizeof *k);

		if (!k)
			return -ENOMEM;
		d->kids = k;
		d->capkids = nc;
	}
	if ((n = calloc(1, sizeof *n)) == NULL || (n->name = strdup(name)) == NULL) {
		free(n);
		return -ENOMEM;
	}
	n->parent = d;
	n->type = type;
	n->mode = type == TRAP_FS_DIR ? 0755 : type == TRAP_FS_LNK ? 0777 : 0644;
	memmove(d->kids + lo + 1, d->kids + lo, (d->nkids - lo) * sizeof *d->kids);
	d->kids[lo] = n;
	d->nkids++;
	*out = n;
	return 0;
}

/* The next name of a path: skips the slashes at *p, leaves *p at the name
 * and returns its length (0 at the end). Every walk over a path uses it. */
static size_t path_part(const char **p)
{
	const char *e;

	while (**p == '/')
		(*p)++;
	e = strchr(*p, '/');
	return e ? (size_t)(e - *p) : strlen(*p);
}

/* The node at an absolute, link-free path, or NULL. */
static struct bnode *base_find(const struct trap_fs_base *b, const char *path)
{
	struct bnode *n = b->root;
	size_t len;

	while (n && (len = path_part(&path)) > 0) {
		n = bnode_child(n, path, len);
		path += len;
	}
	return n;
}

/* Makes every directory of an absolute path (for fs.meta and applets). */
static int base_mkdirs(struct trap_fs_base *b, const char *path, struct bnode **out)
{
	struct bnode *n = b->root, *k;
	char name[256];
	size_t len;
	int rc;

	while ((len = path_part(&path)) > 0) {
		if (len >= sizeof name)
			return -ENAMETOOLONG;
		memcpy(name, path, len);
		name[len] = '\0';
		if ((k = bnode_child(n, name, len)) == NULL) {
			if ((rc = bnode_add(b, n, name, TRAP_FS_DIR, &k)) < 0)
				return rc;
		} else if (k->type != TRAP_FS_DIR) {
			return -ENOTDIR;
		}
		n = k;
		path += len;
	}
	*out = n;
	return 0;
}

static int read_whole(const char *path, struct trap_fs_base *b, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = 0;
	struct stat st;
	uint8_t *p = NULL;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > BASE_MAX) {
		rc = -EFBIG;
		goto fail;
	}
	if ((rc = base_charge(b, (size_t)st.st_size)) < 0)
		goto fail;
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*out = p;
	*len = got;
	return 0;
fail:
	free(p);
	close(fd);
	return rc;
}

static int load_dir(struct trap_fs_base *b, struct bnode *d, const char *dir, int depth,
		    char *err, size_t errlen)
{
	DIR *dh;
	struct dirent *de;
	char p[PATH_MAX];
	int rc = 0;

	if (depth > BASE_DEPTH) {
		snprintf(err, errlen, "%s: too deep", dir);
		return -ELOOP;
	}
	if ((dh = opendir(dir)) == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return rc;
	}
	while ((de = readdir(dh)) != NULL) {
		struct stat st;
		struct bnode *n;
		enum trap_fs_type t;

		/* .keep files only make git keep a directory. */
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, ".keep"))
			continue;
		if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= sizeof p) {
			rc = -ENAMETOOLONG;
			goto fail_at;
		}
		if (lstat(p, &st) < 0) {
			rc = -errno;
			goto fail_at;
		}
		if (S_ISDIR(st.st_mode))
			t = TRAP_FS_DIR;
		else if (S_ISREG(st.st_mode))
			t = TRAP_FS_REG;
		else if (S_ISLNK(st.st_mode))
			t = TRAP_FS_LNK;
		else
			continue; /* sockets and fifos have no place in a persona */
		if ((rc = bnode_add(b, d, de->d_name, t, &n)) < 0)
			goto fail_at;
		n->mode = st.st_mode & 07777;
		if (t == TRAP_FS_REG) {
			if ((rc = read_whole(p, b, &n->data, &n->len)) < 0)
				goto fail_at;
		} else if (t == TRAP_FS_LNK) {
			char tgt[PATH_MAX];
			ssize_t l = readlink(p, tgt, sizeof tgt - 1);

			if (l < 0) {
				rc = -errno;
				goto fail_at;
			}
			if ((rc = base_charge(b, (size_t)l + 1)) < 0)
				goto fail_at;
			if ((n->data = malloc((size_t)l + 1)) == NULL) {
				rc = -ENOMEM;
				goto fail_at;
			}
			memcpy(n->data, tgt, (size_t)l);
			n->data[l] = '\0';
			n->len = (size_t)l;
		} else if ((rc = load_dir(b, n, p, depth + 1, err, errlen)) < 0) {
			goto fail;
		}
	}
	closedir(dh);
	return 0;
fail_at:
	snprintf(err, errlen, "%s: %s", p, rc == -EFBIG ? "the base is over 16 MiB" :
		 strerror(-rc));
fail:
	closedir(dh);
	return rc;
}

/* Applies root/../fs.meta: "PATH MODE UID GID" and "@mtime EPOCH" lines. */
static int load_meta(struct trap_fs_base *b, const char *root, time_t *build, char *err,
		     size_t errlen)
{
	char p[PATH_MAX], line[1024];
	FILE *f;
	int lineno = 0, rc = 0;

	if ((size_t)snprintf(p, sizeof p, "%s/../fs.meta", root) >= sizeof p)
		return -ENAMETOOLONG;
	if ((f = fopen(p, "re")) == NULL)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof line, f)) {
		char path[512];
		unsigned long mode, uid, gid;
		long long t;
		struct bnode *n;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "@mtime %lld", &t) == 1) {
			*build = (time_t)t;
			continue;
		}
		if (sscanf(line, "%511s %lo %lu %lu", path, &mode, &uid, &gid) != 4 ||
		    path[0] != '/' || mode > 0177777 || uid > 65535 || gid > 65535) {
			rc = -EINVAL;
			goto bad;
		}
		n = base_find(b, path);
		if (!n && (S_ISDIR(mode) || S_ISCHR(mode))) {
			char *slash = strrchr(path, '/');
			struct bnode *d;

			*slash = '\0';
			rc = base_mkdirs(b, path, &d);
			*slash = '/';
			if (rc < 0)
				goto bad;
			if ((rc = bnode_add(b, d, slash + 1, S_ISDIR(mode) ? TRAP_FS_DIR :
					    TRAP_FS_CHR, &n)) < 0)
				goto bad;
		}
		if (!n) {
			rc = -ENOENT;
			goto bad;
		}
		if (S_ISCHR(mode) && n->type == TRAP_FS_REG && n->len == 0)
			n->type = TRAP_FS_CHR;
		n->mode = (mode_t)(mode & 07777);
		n->uid = (uid_t)uid;
		n->gid = (gid_t)gid;
	}
	fclose(f);
	return 0;
bad:
	snprintf(err, errlen, "%s:%d: %s", p, lineno,
		 rc == -EINVAL ? "not PATH MODE UID GID" : strerror(-rc));
	fclose(f);
	return rc;
}

static int is_word(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return 1;
	return 0;
}

/* Reads the mount points from the base's /proc/mounts; a later line for
 * the same point is the mount on top, as in the kernel's list. */
static void load_mounts(struct trap_fs_base *b)
{
	static const char *const pseudo[] = {"proc", "sysfs", "devpts", "debugfs", "usbfs",
					     "cgroup", NULL};
	static const char *const lasting[] = {"squashfs", "cramfs", "romfs", "ext2", "ext3",
					      "ext4", "rootfs", NULL};
	const struct bnode *n = base_find(b, "/proc/mounts");
	const char *p, *end;

	if (!n || n->type != TRAP_FS_REG)
		return;
	p = (const char *)n->data;
	end = p + n->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char line[512], dev[128], mp[128], type[64], opts[256];
		size_t len = (size_t)((nl ? nl : end) - p), i;

		if (len < sizeof line) {
			memcpy(line, p, len);
			line[len] = '\0';
			if (sscanf(line, "%127s %127s %63s %255s", dev, mp, type, opts) == 4 &&
			    mp[0] == '/') {
				char *o = opts, *comma;
				int ro = 0;

				for (; o; o = comma ? comma + 1 : NULL) {
					if ((comma = strchr(o, ',')) != NULL)
						*comma = '\0';
					if (!strcmp(o, "ro"))
						ro = 1;
				}
				for (i = 0; i < b->nmnts && strcmp(b->mnts[i].path, mp); i++)
					;
				if (i < MNT_MAX) {
					snprintf(b->mnts[i].path, sizeof b->mnts[i].path, "%s", mp);
					b->mnts[i].ro = ro;
					b->mnts[i].pseudo = is_word(type, pseudo);
					b->mnts[i].volatile_ = !is_word(type, lasting);
					if (i == b->nmnts)
						b->nmnts++;
				}
			}
		}
		p += len + 1;
	}
}

/* The mount an absolute path is on: the longest mount point above it. */
static const struct mnt *mount_of(const struct trap_fs_base *b, const char *path)
{
	const struct mnt *best = NULL;
	size_t bestlen = 0, i;

	for (i = 0; i < b->nmnts; i++) {
		size_t l = strlen(b->mnts[i].path);

		if (l == 1)
			l = 0; /* "/" is above everything */
		if (strncmp(path, b->mnts[i].path, l) == 0 && (path[l] == '/' || path[l] == '\0') &&
		    (!best || l >= bestlen)) {
			best = &b->mnts[i];
			bestlen = l;
		}
	}
	return best;
}

static void base_finish(struct trap_fs_base *b, struct bnode *n, const char *path,
			time_t build)
{
	char p[TRAP_FS_PATH_MAX];
	const struct mnt *m = mount_of(b, path[0] ? path : "/");
	size_t i;

	n->ino = b->next_ino++;
	n->mtime = m && m->volatile_ ? b->boot_time : build;
	for (i = 0; i < n->nkids; i++) {
		if ((size_t)snprintf(p, sizeof p, "%s/%s", path, n->kids[i]->name) >= sizeof p)
			continue;
		base_finish(b, n->kids[i], p, build);
	}
}

/* The link target from directory dir to the absolute path target, as
 * BusyBox's installer makes them ("busybox", "../bin/busybox"). */
static int rel_target(const char *dir, const char *target, char *out, size_t cap)
{
	const char *slash = strrchr(target, '/');
	size_t dlen = (size_t)(slash - target), depth = 0, used = 0;
	const char *p;

	if (strlen(dir) == dlen && strncmp(dir, target, dlen) == 0)
		return snprintf(out, cap, "%s", slash + 1) < (int)cap ? 0 : -ENAMETOOLONG;
	for (p = dir; *p; p++)
		if (*p == '/')
			depth++;
	while (depth--) {
		if (used + 3 >= cap)
			return -ENAMETOOLONG;
		memcpy(out + used, "../", 3);
		used += 3;
	}
	if ((size_t)snprintf(out + used, cap - used, "%s", target + 1) >= cap - used)
		return -ENAMETOOLONG;
	return 0;
}

/* The directory an applet goes to: its "name dir" line, or /bin. */
static void applet_dir(const char *dirs, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *p = dirs;

	snprintf(out, cap, "/bin");
	while (p && *p) {
		const char *nl = strchr(p, '\n'), *e = nl ? nl : p + strlen(p);

		if ((size_t)(e - p) > nlen + 1 && strncmp(p, name, nlen) == 0 && p[nlen] == ' ') {
			const char *d = p + nlen + 1;
			size_t dl = (size_t)(e - d);

			if (*d != '/' && cap > 1) {
				out[0] = '/';
				snprintf(out + 1, cap - 1, "%.*s", (int)dl, d);
			} else {
				snprintf(out, cap, "%.*s", (int)dl, d);
			}
			return;
		}
		p = nl ? nl + 1 : NULL;
	}
}

static int add_applets(struct trap_fs_base *b, const char *busybox_path, const char *applets,
		       size_t napplets, const char *dirs, char *err, size_t errlen)
{
	const char *a = applets;
	size_t i;
	int rc;

	for (i = 0; i < napplets; i++, a += strlen(a) + 1) {
		char dir[256], tgt[512];
		struct bnode *d, *n;

		if (!*a || strchr(a, '/') || !strcmp(a, ".") || !strcmp(a, ".."))
			continue;
		applet_dir(dirs ? dirs : "", a, dir, sizeof dir);
		if ((rc = base_mkdirs(b, dir, &d)) < 0)
			goto fail;
		if (bnode_child(d, a, strlen(a)))
			continue; /* a stored file or busybox itself */
		rc = rel_target(strcmp(dir, "/") ? dir : "", busybox_path, tgt, sizeof tgt);
		if (rc < 0)
			goto fail;
		if ((rc = bnode_add(b, d, a, TRAP_FS_LNK, &n)) < 0)
			goto fail;
		if ((rc = base_charge(b, strlen(tgt) + 1)) < 0)
			goto fail;
		if ((n->data = (uint8_t *)strdup(tgt)) == NULL)
			return -ENOMEM;
		n->len = strlen(tgt);
	}
	return 0;
fail:
	snprintf(err, errlen, "applet %s: %s", a, strerror(-rc));
	return rc;
}

static int add_generated(struct trap_fs_base *b, const char *path, enum trap_fs_gen gen,
			 mode_t mode, uint64_t size)
{
	char dir[TRAP_FS_PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct bnode *d, *n;
	int rc;

	if (!slash || (size_t)(slash - path) >= sizeof dir)
		return -EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if ((rc = base_mkdirs(b, dir, &d)) < 0)
		return rc;
	if ((n = bnode_child(d, slash + 1, strlen(slash + 1))) == NULL &&
	    (rc = bnode_add(b, d, slash + 1, TRAP_FS_REG, &n)) < 0)
		return rc;
	if (n->type != TRAP_FS_REG)
		return -EEXIST;
	free(n->data);
	n->data = NULL;
	n->len = (size_t)size;
	n->gen = gen;
	n->mode = mode;
	return 0;
}

int trap_fs_base_load(const char *root, const char *busybox_path, const struct trap_fs_elf *elf,
		      const char *applets, size_t napplets, const char *applet_dirs,
		      time_t boot_time, struct trap_fs_base **out, char *err, size_t errlen)
{
	struct trap_fs_base *b;
	time_t build = boot_time;
	int rc;

	snprintf(err, errlen, "%s", "");
	if (!busybox_path || busybox_path[0] != '/' || !elf)
		return -EINVAL;
	if ((b = calloc(1, sizeof *b)) == NULL || (b->root = calloc(1, sizeof *b->root)) == NULL ||
	    (b->root->name = strdup("")) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	b->root->type = TRAP_FS_DIR;
	b->root->mode = 0755;
	b->elf = *elf;
	b->boot_time = boot_time;
	b->next_ino = 1;
	b->bytes = sizeof *b + sizeof *b->root;
	if ((rc = load_dir(b, b->root, root, 0, err, errlen)) < 0)
		goto fail;
	if ((rc = load_meta(b, root, &build, err, errlen)) < 0)
		goto fail;
	if ((rc = add_generated(b, busybox_path, TRAP_FS_GEN_ELF, 0755, elf->size)) < 0) {
		snprintf(err, errlen, "%s: %s", busybox_path, strerror(-rc));
		goto fail;
	}
	if (base_find(b, "/proc") &&
	    ((rc = add_generated(b, "/proc/uptime", TRAP_FS_GEN_UPTIME, 0444, 0)) < 0 ||
	     (rc = add_generated(b, "/proc/loadavg", TRAP_FS_GEN_LOADAVG, 0444, 0)) < 0)) {
		snprintf(err, errlen, "/proc: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = add_applets(b, busybox_path, applets, napplets, applet_dirs, err, errlen)) < 0)
		goto fail;
	load_mounts(b);
	base_finish(b, b->root, "", build);
	*out = b;
	return 0;
fail:
	trap_fs_base_free(b);
	return rc;
}

void trap_fs_base_free(struct trap_fs_base *b)
{
	if (!b)
		return;
	bnode_free(b->root);
	free(b);
}

size_t trap_fs_base_bytes(const struct trap_fs_base *b)
{
	return b ? b->bytes : 0;
}

static int rewrite_walk(struct trap_fs_base *b, struct bnode *n, char *path, size_t plen,
			int (*fn)(void *, const char *, const uint8_t *, size_t, uint8_t **,
				  size_t *),
			void *arg)
{
	size_t i;
	int rc;

	if (n->type == TRAP_FS_REG && n->gen == TRAP_FS_GEN_NONE) {
		uint8_t *o = NULL;
		size_t olen = 0;

		const uint8_t *d = n->data ? n->data : (const uint8_t *)"";

		if ((rc = fn(arg, plen ? path : "/", d, n->len, &o, &olen)) < 0)
			return rc;
		if (rc == 1) {
			if (olen > n->len && base_charge(b, olen - n->len) < 0) {
				free(o);
				return MM_ETOOBIG;
			}
			if (olen < n->len)
				b->bytes -= n->len - olen;
			free(n->data);
			n->data = o;
			n->len = olen;
		}
	}
	for (i = 0; i < n->nkids; i++) {
		size_t l = strlen(n->kids[i]->name);

		if (plen + 1 + l >= TRAP_FS_PATH_MAX)
			continue;
		path[plen] = '/';
		memcpy(path + plen + 1, n->kids[i]->name, l + 1);
		if ((rc = rewrite_walk(b, n->kids[i], path, plen + 1 + l, fn, arg)) < 0)
			return rc;
		path[plen] = '\0';
	}
	return 0;
}

int trap_fs_base_rewrite(struct trap_fs_base *b,
			 int (*fn)(void *arg, const char *path, const uint8_t *data, size_t len,
				   uint8_t **out, size_t *outlen),
			 void *arg)
{
	char path[TRAP_FS_PATH_MAX] = "";

	return rewrite_walk(b, b->root, path, 0, fn, arg);
}

/* ---- paths ---- */

int trap_fs_abspath(const char *cwd, const char *path, char *out)
{
	char tmp[2 * TRAP_FS_PATH_MAX];
	size_t len = 0, cl;
	const char *p;
	int n;

	if (path[0] == '/')
		n = snprintf(tmp, sizeof tmp, "%s", path);
	else
		n = snprintf(tmp, sizeof tmp, "%s/%s", cwd && *cwd ? cwd : "/", path);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return -ENAMETOOLONG;
	p = tmp;
	while ((cl = path_part(&p)) > 0) {
		if (cl == 1 && p[0] == '.') {
			/* nothing */
		} else if (cl == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
		} else {
			if (len + 1 + cl >= TRAP_FS_PATH_MAX)
				return -ENAMETOOLONG;
			out[len++] = '/';
			memcpy(out + len, p, cl);
			len += cl;
		}
		p += cl;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

/* ---- the overlay table ---- */

static size_t ov_lower(const struct trap_fs *fs, const char *path)
{
	size_t lo = 0, hi = fs->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(fs->ents[mid]->path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct oent *ov_find(const struct trap_fs *fs, const char *path)
{
	size_t i = ov_lower(fs, path);

	return i < fs->n && strcmp(fs->ents[i]->path, path) == 0 ? fs->ents[i] : NULL;
}

static struct oent *ov_by_id(const struct trap_fs *fs, uint64_t id)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		if (fs->ents[i]->id == id && fs->ents[i]->type != OV_WHITEOUT)
			return fs->ents[i];
	return NULL;
}

static size_t ov_cost(const struct oent *e)
{
	return sizeof *e + strlen(e->path) + 1 + e->cap;
}

/* Charges n bytes to the overlay; whiteouts are charged but never refused,
 * since removing must work on a full device (and they are bounded by the
 * base's entries). */
static int ov_charge(struct trap_fs *fs, size_t n, int force)
{
	if (!force && (n > fs->max || fs->used > fs->max - n))
		return -ENOSPC;
	fs->used += n;
	return 0;
}

static void ov_release(struct trap_fs *fs, struct oent *e)
{
	size_t c = ov_cost(e);

	fs->used = fs->used > c ? fs->used - c : 0;
	free(e->data);
	free(e->path);
	free(e);
}

static void ov_remove_at(struct trap_fs *fs, size_t i)
{
	ov_release(fs, fs->ents[i]);
	memmove(fs->ents + i, fs->ents + i + 1, (fs->n - i - 1) * sizeof *fs->ents);
	fs->n--;
}

/* Drops every overlay entry below path (not path itself). */
static void ov_remove_below(struct trap_fs *fs, const char *path)
{
	size_t plen = strcmp(path, "/") ? strlen(path) : 0;
	char pre[TRAP_FS_PATH_MAX + 1];
	size_t i;

	memcpy(pre, path, plen);
	pre[plen] = '/';
	pre[plen + 1] = '\0';
	i = ov_lower(fs, pre);
	while (i < fs->n && strncmp(fs->ents[i]->path, pre, plen + 1) == 0)
		ov_remove_at(fs, i);
}

/* A new entry at path (which has none), or -ENOSPC. */
static int ov_add(struct trap_fs *fs, const char *path, int type, int force, struct oent **out)
{
	struct oent *e;
	size_t i, need;

	/* The table's own growth is charged when it happens and kept. */
	if (fs->n == fs->cap) {
		size_t nc = fs->cap ? 2 * fs->cap : 8;
		struct oent **n;

		if (ov_charge(fs, (nc - fs->cap) * sizeof *n, force) < 0)
			return -ENOSPC;
		if ((n = realloc(fs->ents, nc * sizeof *n)) == NULL) {
			fs->used -= (nc - fs->cap) * sizeof *n;
			return -ENOMEM;
		}
		fs->ents = n;
		fs->cap = nc;
	}
	need = sizeof *e + strlen(path) + 1;
	if (ov_charge(fs, need, force) < 0)
		return -ENOSPC;
	if ((e = calloc(1, sizeof *e)) == NULL || (e->path = strdup(path)) == NULL) {
		free(e);
		fs->used -= need;
		return -ENOMEM;
	}
	e->type = type;
	e->id = ++fs->next_id;
	e->mtime = time(NULL);
	i = ov_lower(fs, path);
	memmove(fs->ents + i + 1, fs->ents + i, (fs->n - i) * sizeof *fs->ents);
	fs->ents[i] = e;
	fs->n++;
	*out = e;
	return 0;
}

/* Grows e's buffer to hold at least n bytes within the bound. */
static int ov_reserve(struct trap_fs *fs, struct oent *e, size_t n)
{
	size_t nc;
	uint8_t *d;

	if (n <= e->cap)
		return 0;
	nc = e->cap ? e->cap : 64;
	while (nc < n)
		nc = nc > SIZE_MAX / 2 ? n : 2 * nc;
	if (ov_charge(fs, nc - e->cap, 0) < 0) {
		nc = n; /* no room for slack: exactly what is needed */
		if (ov_charge(fs, nc - e->cap, 0) < 0)
			return -ENOSPC;
	}
	if ((d = realloc(e->data, nc)) == NULL) {
		fs->used -= nc - e->cap;
		return -ENOMEM;
	}
	e->data = d;
	e->cap = nc;
	return 0;
}

/* ---- resolution ---- */

struct res {
	char path[TRAP_FS_PATH_MAX]; /* canonical: the entry's key */
	struct oent *oe;             /* the overlay entry (not a whiteout), or NULL */
	const struct bnode *bn;      /* the base node seen there when oe is NULL */
	const struct bnode *bvis;    /* the base node at this path, even under oe */
	struct oent *wo;             /* a whiteout at this path */
	int exists;
	int type;
};

struct level {
	size_t len;                  /* length of the path up to this level */
	const struct bnode *bn;      /* base node here, NULL when none or hidden */
};

static void look(const struct trap_fs *fs, const char *path, const struct bnode *bparent,
		 const char *name, size_t nlen, struct res *r, const struct bnode **bnext)
{
	struct oent *e = fs->n ? ov_find(fs, path) : NULL;
	const struct bnode *bn = bparent ? bnode_child(bparent, name, nlen) : NULL;

	r->oe = NULL;
	r->wo = NULL;
	r->bn = NULL;
	r->bvis = bn;
	r->exists = 0;
	*bnext = NULL;
	if (e && e->type == OV_WHITEOUT) {
		r->wo = e;
		return;
	}
	if (e) {
		r->oe = e;
		r->exists = 1;
		r->type = e->type;
		*bnext = e->type == TRAP_FS_DIR && !e->opaque ? bn : NULL;
		return;
	}
	if (bn) {
		r->bn = bn;
		r->exists = 1;
		r->type = bn->type;
		*bnext = bn;
	}
}

static const uint8_t *link_target(const struct res *r, size_t *len)
{
	if (r->oe) {
		if (r->oe->data) {
			*len = r->oe->len;
			return r->oe->data;
		}
		if (r->oe->src) {
			*len = r->oe->src->len;
			return r->oe->src->data;
		}
		*len = 0;
		return (const uint8_t *)"";
	}
	*len = r->bn->len;
	return r->bn->data;
}

/*
 * Resolves path against cwd. follow: whether a link in the last component
 * is followed. On 0, r describes the last component (r->exists says
 * whether it is there; its parent is a directory that exists). Returns a
 * negative errno when a component before the last is missing or not a
 * directory, or on a loop or a name too long.
 */
static int resolve(const struct trap_fs *fs, const char *cwd, const char *path, int follow,
		   struct res *r)
{
	struct level lv[TRAP_FS_PATH_MAX / 2 + 2];
	char rest[2 * TRAP_FS_PATH_MAX], tmp[2 * TRAP_FS_PATH_MAX];
	size_t depth = 0, plen = 0, links = 0, pos = 0;
	int n, must_dir;

	if (!path || !*path)
		return -ENOENT;
	if (path[0] == '/')
		n = snprintf(rest, sizeof rest, "%s", path);
	else
		n = snprintf(rest, sizeof rest, "%s/%s", cwd && *cwd ? cwd : "/", path);
	if (n < 0 || (size_t)n >= sizeof rest)
		return -ENAMETOOLONG;
	must_dir = rest[n - 1] == '/';
	if (must_dir)
		follow = 1;
	lv[0].len = 0;
	lv[0].bn = fs->b->root;
	r->path[0] = '\0';
	r->oe = fs->n ? ov_find(fs, "/") : NULL;
	r->bn = fs->b->root;
	r->bvis = fs->b->root;
	r->wo = NULL;
	r->exists = 1;
	r->type = TRAP_FS_DIR;
	for (;;) {
		const char *p = rest + pos, *e;
		size_t cl;
		int last;
		const struct bnode *bnext;

		if ((cl = path_part(&p)) == 0)
			break;
		e = p + cl;
		pos = (size_t)(e - rest);
		{
			const char *q = e;

			while (*q == '/')
				q++;
			last = *q == '\0';
		}
		if (cl == 1 && p[0] == '.')
			continue;
		if (cl == 2 && p[0] == '.' && p[1] == '.') {
			if (depth > 0)
				depth--;
			plen = lv[depth].len;
			r->path[plen] = '\0';
			if (depth == 0) {
				r->oe = fs->n ? ov_find(fs, "/") : NULL;
				r->bn = r->bvis = fs->b->root;
				r->wo = NULL;
				r->exists = 1;
				r->type = TRAP_FS_DIR;
			} else {
				struct res tr;
				const struct bnode *bparent = depth > 0 ? lv[depth - 1].bn : NULL;
				const char *nm = strrchr(r->path, '/') + 1;

				look(fs, r->path, bparent, nm, strlen(nm), &tr, &bnext);
				r->oe = tr.oe;
				r->bn = tr.bn;
				r->bvis = tr.bvis;
				r->wo = tr.wo;
				r->exists = tr.exists;
				r->type = tr.type;
			}
			continue;
		}
		if (cl > 255)
			return -ENAMETOOLONG;
		if (plen + 1 + cl >= TRAP_FS_PATH_MAX || depth + 1 >= sizeof lv / sizeof lv[0])
			return -ENAMETOOLONG;
		r->path[plen] = '/';
		memcpy(r->path + plen + 1, p, cl);
		r->path[plen + 1 + cl] = '\0';
		look(fs, r->path, lv[depth].bn, p, cl, r, &bnext);
		if (!r->exists) {
			if (!last)
				return -ENOENT;
			break;
		}
		if (r->type == TRAP_FS_LNK && (!last || follow)) {
			size_t tl;
			const uint8_t *t = link_target(r, &tl);

			if (++links > LINKS_MAX)
				return -ELOOP;
			n = snprintf(tmp, sizeof tmp, "%.*s/%s", (int)tl, (const char *)t, e);
			if (n < 0 || (size_t)n >= sizeof tmp || tl == 0)
				return tl == 0 ? -ENOENT : -ENAMETOOLONG;
			memcpy(rest, tmp, (size_t)n + 1);
			pos = 0;
			if (t[0] == '/') {
				depth = 0;
				plen = 0;
			}
			r->path[plen] = '\0';
			/* Back at the link's directory: describe it again in case
			 * the target is "." or empty after the walk. */
			if (depth == 0) {
				r->oe = fs->n ? ov_find(fs, "/") : NULL;
				r->bn = r->bvis = fs->b->root;
			} else {
				struct res tr;
				const char *nm = strrchr(r->path, '/') + 1;

				look(fs, r->path, lv[depth - 1].bn, nm, strlen(nm), &tr, &bnext);
				r->oe = tr.oe;
				r->bn = tr.bn;
				r->bvis = tr.bvis;
			}
			r->wo = NULL;
			r->exists = 1;
			r->type = TRAP_FS_DIR;
			continue;
		}
		if (!last && r->type != TRAP_FS_DIR)
			return -ENOTDIR;
		if (last)
			break;
		depth++;
		plen += 1 + cl;
		lv[depth].len = plen;
		lv[depth].bn = bnext;
	}
	if (plen == 0 && r->path[0] == '\0') {
		r->path[0] = '/';
		r->path[1] = '\0';
	}
	if (must_dir && r->exists && r->type != TRAP_FS_DIR)
		return -ENOTDIR;
	return 0;
}

/* ---- views ---- */

int trap_fs_new(const struct trap_fs_base *b, size_t max_bytes, struct trap_fs **out)
{
	struct trap_fs *fs = calloc(1, sizeof *fs);

	if (!fs)
		return -ENOMEM;
	fs->b = b;
	fs->max = max_bytes;
	*out = fs;
	return 0;
}

void trap_fs_free(struct trap_fs *fs)
{
	size_t i;

	if (!fs)
		return;
	for (i = 0; i < fs->n; i++) {
		free(fs->ents[i]->data);
		free(fs->ents[i]->path);
		free(fs->ents[i]);
	}
	free(fs->ents);
	free(fs);
}

size_t trap_fs_bytes(const struct trap_fs *fs)
{
	return fs ? sizeof *fs + fs->used : 0;
}

static uint64_t gen_size(const struct bnode *n)
{
	return n->gen == TRAP_FS_GEN_UPTIME || n->gen == TRAP_FS_GEN_LOADAVG ? 0 : n->len;
}

static void fill_stat(const struct trap_fs *fs, const struct res *r, struct trap_fs_stat *st)
{
	memset(st, 0, sizeof *st);
	if (r->oe) {
		const struct oent *e = r->oe;

		st->type = (enum trap_fs_type)e->type;
		st->mode = e->mode;
		st->uid = e->uid;
		st->gid = e->gid;
		st->mtime = e->mtime;
		st->size = e->data || !e->src ? e->len : gen_size(e->src);
		st->ino = 0x100000 + e->id;
		st->overlay = 1;
	} else {
		const struct bnode *n = r->bn;

		st->type = n->type;
		st->mode = n->mode;
		st->uid = n->uid;
		st->gid = n->gid;
		st->mtime = n->mtime;
		st->size = n->type == TRAP_FS_DIR ? 0 : gen_size(n);
		st->ino = n->ino;
	}
	if (st->type == TRAP_FS_DIR) {
		const struct mnt *m = mount_of(fs->b, r->path);

		/* Directory sizes as the kinds of file system report them. */
		st->size = m && m->pseudo ? 0 : m && m->volatile_ ? 40 : 3 + 32 * (uint64_t)
			(r->bn ? r->bn->nkids : 1);
		st->nlink = 2;
	} else {
		st->nlink = 1;
	}
}

/* stat and lstat: the same but for following a last link. */
static int stat_path(struct trap_fs *fs, const char *cwd, const char *path, int follow,
		     struct trap_fs_stat *st)
{
	struct res r;
	int rc = resolve(fs, cwd, path, follow, &r);

	if (rc < 0)
		return rc;
	if (!r.exists)
		return -ENOENT;
	fill_stat(fs, &r, st);
	return 0;
}

int trap_fs_stat(struct trap_fs *fs, const char *cwd, const char *path, struct trap_fs_stat *st)
{
	return stat_path(fs, cwd, path, 1, st);
}

int trap_fs_lstat(struct trap_fs *fs, const char *cwd, const char *path,
		  struct trap_fs_stat *st)
{
	return stat_path(fs, cwd, path, 0, st);
}

int trap_fs_readlink(struct trap_fs *fs, const char *cwd, const char *path, char *out,
		     size_t cap)
{
	struct res r;
	const uint8_t *t;
	size_t tl;
	int rc = resolve(fs, cwd, path, 0, &r);

	if (rc < 0)
		return rc;
	if (!r.exists)
		return -ENOENT;
	if (r.type != TRAP_FS_LNK)
		return -EINVAL;
	t = link_target(&r, &tl);
	if (cap == 0 || tl >= cap)
		return -ENAMETOOLONG;
	memcpy(out, t, tl);
	out[tl] = '\0';
	return 0;
}

int trap_fs_realpath(struct trap_fs *fs, const char *cwd, const char *path, char *out)
{
	struct res r;
	int rc = resolve(fs, cwd, path, 1, &r);

	if (rc < 0)
		return rc;
	if (!r.exists)
		return -ENOENT;
	memcpy(out, r.path, strlen(r.path) + 1);
	return 0;
}

/* ---- reading ---- */

static size_t gen_text(const struct trap_fs_base *b, enum trap_fs_gen gen, char *out, size_t cap)
{
	struct timespec ts;
	double up, idle;
	unsigned long long s;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	up = (double)(ts.tv_sec - b->boot_time) + (double)ts.tv_nsec / 1e9;
	if (up < 1)
		up = 1;
	s = (unsigned long long)up;
	if (gen == TRAP_FS_GEN_UPTIME) {
		/* A device that mostly waits: idle a little under uptime. */
		idle = up * (0.93 + 0.04 * (double)((s / 600) % 7) / 7.0);
		n = snprintf(out, cap, "%.2f %.2f\n", up, idle);
	} else {
		/* Load that wanders with the minutes, and a last pid that grows
		 * with the time since boot, as a device's own daemons fork. */
		unsigned a = (unsigned)((s / 60 * 2654435761u) % 37);
		unsigned c = (unsigned)((s / 300 * 40503u) % 29);
		unsigned d = (unsigned)((s / 900 * 9973u) % 23);

		n = snprintf(out, cap, "0.%02u 0.%02u 0.%02u 1/%u %llu\n", a, c + 4, d + 6,
			     40 + (unsigned)(s % 7), 300 + (s / 97) % 32000);
	}
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

static ssize_t read_node(const struct trap_fs_base *b, const struct bnode *n, uint64_t off,
			 void *buf, size_t cap)
{
	char text[128];
	size_t len, k;

	if (n->type == TRAP_FS_CHR) {
		if (!strcmp(n->name, "zero")) {
			memset(buf, 0, cap);
			return (ssize_t)cap;
		}
		if (!strcmp(n->name, "urandom") || !strcmp(n->name, "random")) {
			struct trap_fs_elf e = b->elf;
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			e.size = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
			trap_fs_elf_read(&e, 4096 + off, buf, cap);
			return (ssize_t)cap;
		}
		return 0;
	}
	switch (n->gen) {
	case TRAP_FS_GEN_ELF:
		if (off >= n->len)
			return 0;
		k = (size_t)(n->len - off < cap ? n->len - off : cap);
		trap_fs_elf_read(&b->elf, off, buf, k);
		return (ssize_t)k;
	case TRAP_FS_GEN_UPTIME:
	case TRAP_FS_GEN_LOADAVG:
		len = gen_text(b, n->gen, text, sizeof text);
		if (off >= len)
			return 0;
		k = len - (size_t)off < cap ? len - (size_t)off : cap;
		memcpy(buf, text + off, k);
		return (ssize_t)k;
	default:
		if (off >= n->len)
			return 0;
		k = (size_t)(n->len - off < cap ? n->len - off : cap);
		memcpy(buf, n->data + off, k);
		return (ssize_t)k;
	}
}

ssize_t trap_fs_read(struct trap_fs *fs, const char *cwd, const char *path, uint64_t off,
		     void *buf, size_t cap)
{
	struct res r;
	int rc = resolve(fs, cwd, path, 1, &r);
	size_t k;

	if (rc < 0)
		return rc;
	if (!r.exists)
		return -ENOENT;
	if (r.type == TRAP_FS_DIR)
		return -EISDIR;
	if (r.oe) {
		if (!r.oe->data && r.oe->src)
			return read_node(fs->b, r.oe->src, off, buf, cap);
		if (r.oe->type == TRAP_FS_CHR)
			return 0;
		if (off >= r.oe->len)
			return 0;
		k = (size_t)(r.oe->len - off < cap ? r.oe->len - off : cap);
		memcpy(buf, r.oe->data + off, k);
		return (ssize_t)k;
	}
	return read_node(fs->b, r.bn, off, buf, cap);
}

/* ---- writing ---- */

/* Whether the file system under path takes writes: -EROFS for a read-only
 * mount, and no new entries on proc or sysfs. */
static int writable(const struct trap_fs *fs, const char *path, int creating)
{
	const struct mnt *m = mount_of(fs->b, path);

	if (m && m->ro)
		return -EROFS;
	if (m && m->pseudo)
		return creating ? -ENOENT : -EACCES;
	return 0;
}

/* The bytes of a copied-up entry made the session's own, so that it can be
 * appended to or handed out whole. */
static int materialize(struct trap_fs *fs, struct oent *e)
{
	const struct bnode *src = e->src;
	uint64_t size;
	int rc;

	if (e->data || !src)
		return 0;
	size = src->gen == TRAP_FS_GEN_UPTIME || src->gen == TRAP_FS_GEN_LOADAVG ? 128 : src->len;
	if ((rc = ov_reserve(fs, e, (size_t)size ? (size_t)size : 1)) < 0)
		return rc;
	rc = (int)read_node(fs->b, src, 0, e->data, (size_t)size);
	e->len = rc > 0 ? (size_t)rc : 0;
	e->src = NULL;
	return 0;
}

/* The overlay entry for an existing base entry (copied up lazily). */
static int copy_up(struct trap_fs *fs, struct res *r)
{
	struct oent *e;
	int rc;

	if (r->oe)
		return 0;
	if ((rc = ov_add(fs, r->path, r->bn->type, 0, &e)) < 0)
		return rc;
	e->mode = r->bn->mode;
	e->uid = r->bn->uid;
	e->gid = r->bn->gid;
	e->mtime = r->bn->mtime;
	e->len = r->bn->type == TRAP_FS_REG ? r->bn->len : 0;
	e->src = r->bn;
	if (r->bn->type == TRAP_FS_LNK) {
		e->src = NULL;
		if ((rc = ov_reserve(fs, e, r->bn->len + 1)) < 0) {
			ov_remove_at(fs, ov_lower(fs, r->path));
			return rc;
		}
		memcpy(e->data, r->bn->data, r->bn->len);
		e->len = r->bn->len;
	}
	r->oe = e;
	return 0;
}

/* A new entry at r->path, replacing a whiteout there. */
static int create_at(struct trap_fs *fs, struct res *r, int type, mode_t mode,
		     struct oent **out)
{
	int rc;

	if (r->wo)
		ov_remove_at(fs, ov_lower(fs, r->path));
	if ((rc = ov_add(fs, r->path, type, 0, out)) < 0) {
		struct oent *w;

		/* Put the whiteout back: the base must stay hidden. */
		if (r->wo && ov_add(fs, r->path, OV_WHITEOUT, 1, &w) == 0)
			r->wo = w;
		return rc;
	}
	r->wo = NULL;
	(*out)->mode = mode & 07777;
	(*out)->opaque = type == TRAP_FS_DIR;
	return 0;
}

int trap_fs_open_write(struct trap_fs *fs, const char *cwd, const char *path, int append,
		       mode_t mode, uint64_t *id)
{
	struct res r;
	struct oent *e;
	int rc = resolve(fs, cwd, path, 1, &r);

	if (rc < 0)
		return rc;
	if (r.exists && r.type == TRAP_FS_DIR)
		return -EISDIR;
	if (r.exists && r.type == TRAP_FS_CHR) {
		*id = 0; /* a device: what is written to it goes nowhere */
		return 0;
	}
	if ((rc = writable(fs, r.path, !r.exists)) < 0)
		return rc;
	if (!r.exists) {
		if ((rc = create_at(fs, &r, TRAP_FS_REG, mode & ~(mode_t)022, &e)) < 0)
			return rc;
	} else {
		if ((rc = copy_up(fs, &r)) < 0)
			return rc;
		e = r.oe;
		if (append) {
			if ((rc = materialize(fs, e)) < 0)
				return rc;
		} else {
			/* Truncated: its bytes go back to the bound. */
			fs->used -= e->cap;
			free(e->data);
			e->data = NULL;
			e->cap = 0;
			e->src = NULL;
			e->len = 0;
		}
		e->mtime = time(NULL);
	}
	e->own = 1;
	e->dirty = 1;
	*id = e->id;
	return 0;
}

int trap_fs_write(struct trap_fs *fs, uint64_t id, const void *buf, size_t len)
{
	struct oent *e;
	size_t room;
	int rc;

	if (id == 0)
		return 0;
	if ((e = ov_by_id(fs, id)) == NULL || e->type != TRAP_FS_REG)
		return -EBADF;
	if (len == 0)
		return 0;
	if (len > SIZE_MAX - e->len)
		return -EFBIG;
	if ((rc = ov_reserve(fs, e, e->len + len)) < 0) {
		/* A full device takes what fits, then says ENOSPC. */
		room = e->cap - e->len + (fs->max > fs->used ? fs->max - fs->used : 0);
		if (room > len)
			room = len;
		if (room && ov_reserve(fs, e, e->len + room) == 0) {
			memcpy(e->data + e->len, buf, room);
			e->len += room;
			e->dirty = 1;
		}
		return rc;
	}
	memcpy(e->data + e->len, buf, len);
	e->len += len;
	e->dirty = 1;
	e->mtime = time(NULL);
	return 0;
}

int trap_fs_mkdir(struct trap_fs *fs, const char *cwd, const char *path, mode_t mode)
{
	struct res r;
	struct oent *e;
	int rc = resolve(fs, cwd, path, 0, &r);

	if (rc < 0)
		return rc;
	if (r.exists)
		return -EEXIST;
	if ((rc = writable(fs, r.path, 1)) < 0)
		return rc;
	return create_at(fs, &r, TRAP_FS_DIR, mode & ~(mode_t)022, &e);
}

/* Removes what r names: the overlay entry goes, and a whiteout hides the
 * base's entry when there is one. */
static int remove_res(struct trap_fs *fs, struct res *r)
{
	struct oent *w;
	int rc;

	if (r->oe) {
		if (r->oe->type == TRAP_FS_DIR)
			ov_remove_below(fs, r->path);
		ov_remove_at(fs, ov_lower(fs, r->path));
		r->oe = NULL;
	}
	if (r->bvis && !r->wo) {
		if ((rc = ov_add(fs, r->path, OV_WHITEOUT, 1, &w)) < 0)
			return rc;
		r->wo = w;
	}
	r->exists = 0;
	return 0;
}

int trap_fs_unlink(struct trap_fs *fs, const char *cwd, const char *path)
{
	struct res r;
	int rc = resolve(fs, cwd, path, 0, &r);

	if (rc < 0)
		return rc;
	if (!r.exists)
		return -ENOENT;
	if (r.type == TRAP_FS_DIR)
		return -EISDIR;
	if ((rc = writable(fs, r.path, 0)) < 0)
		return rc;
	return remove_res(fs, &r);
}

static int count_fn(void *arg, const char *name, const struct trap_fs_stat *st)
{
	(void)name;
	(void)st;
	(*(size_t *)arg)++;
	return 1; /* one is enough */
}

int trap_fs_rmdir(struct trap_fs *fs, const char *cwd, const char *path)
{
	struct res r;
	size_t n = 0;
	int rc = resolve(fs, cwd, path, 0, &r);

	if (rc < 0)
		return rc;
	if (!r.exists)
		return -ENOENT;
	if (r.type != TRAP_FS_DIR)
		return -ENOTDIR;
	if (!strcmp(r.path, "/"))
		return -EBUSY;
	if ((rc = trap_fs_list(fs, "/", r.path, count_fn, &n)) < 0)
		return rc;
	if (n)
		return -ENOTEMPTY;
	if ((rc = writable(fs, r.path, 0)) < 0)
		return rc;
	return remove_res(fs, &r);
}

/* Copies the entry r names to the empty place t (and, for a directory,
 * everything below it) as overlay entries. */
static int move_tree(struct trap_fs *fs, struct res *r, struct res *t, int depth);

struct tree_walk {
	struct trap_fs *fs;
	const char *from, *to;
	int depth;
	int rc;
};

static int tree_fn(void *arg, const char *name, const struct trap_fs_stat *st)
{
	struct tree_walk *w = arg;
	char fp[TRAP_FS_PATH_MAX], tp[TRAP_FS_PATH_MAX];
	struct res fr, tr;
	int rc;

	(void)st;
	if ((size_t)snprintf(fp, sizeof fp, "%s/%s", w->from, name) >= sizeof fp ||
	    (size_t)snprintf(tp, sizeof tp, "%s/%s", w->to, name) >= sizeof tp)
		return -ENAMETOOLONG;
	if ((rc = resolve(w->fs, "/", fp, 0, &fr)) < 0 ||
	    (rc = resolve(w->fs, "/", tp, 0, &tr)) < 0)
		return rc;
	if (!fr.exists)
		return 0;
	return move_tree(w->fs, &fr, &tr, w->depth + 1);
}

static int move_tree(struct trap_fs *fs, struct res *r, struct res *t, int depth)
{
	struct oent *e;
	struct tree_walk w;
	int rc;

	if (depth > 64)
		return -ELOOP;
	if ((rc = create_at(fs, t, r->type, 0, &e)) < 0)
		return rc;
	if (r->oe) {
		e->mode = r->oe->mode;
		e->uid = r->oe->uid;
		e->gid = r->oe->gid;
		e->mtime = r->oe->mtime;
		e->src = r->oe->src;
		e->own = r->oe->own;
		e->dirty = r->oe->own;
		if (r->oe->data) {
			if ((rc = ov_reserve(fs, e, r->oe->len ? r->oe->len : 1)) < 0)
				return rc;
			memcpy(e->data, r->oe->data, r->oe->len);
		}
		e->len = r->oe->len;
	} else {
		e->mode = r->bn->mode;
		e->uid = r->bn->uid;
		e->gid = r->bn->gid;
		e->mtime = r->bn->mtime;
		if (r->bn->type == TRAP_FS_LNK) {
			if ((rc = ov_reserve(fs, e, r->bn->len + 1)) < 0)
				return rc;
			memcpy(e->data, r->bn->data, r->bn->len);
			e->len = r->bn->len;
		} else if (r->bn->type == TRAP_FS_REG) {
			e->src = r->bn;
			e->len = r->bn->len;
		}
	}
	if (r->type != TRAP_FS_DIR)
		return 0;
	w.fs = fs;
	w.from = r->path;
	w.to = t->path;
	w.depth = depth;
	w.rc = 0;
	return trap_fs_list(fs, "/", r->path, tree_fn, &w);
}

int trap_fs_rename(struct trap_fs *fs, const char *cwd, const char *from, const char *to)
{
	struct res fr, tr;
	size_t fl;
	int rc;

	if ((rc = resolve(fs, cwd, from, 0, &fr)) < 0)
		return rc;
	if (!fr.exists)
		return -ENOENT;
	if ((rc = resolve(fs, cwd, to, 0, &tr)) < 0)
		return rc;
	if (!strcmp(fr.path, tr.path))
		return 0;
	fl = strlen(fr.path);
	if (!strcmp(fr.path, "/") || (strncmp(tr.path, fr.path, fl) == 0 && tr.path[fl] == '/'))
		return -EINVAL;
	if ((rc = writable(fs, fr.path, 0)) < 0 || (rc = writable(fs, tr.path, !tr.exists)) < 0)
		return rc;
	if (tr.exists) {
		if (fr.type == TRAP_FS_DIR && tr.type != TRAP_FS_DIR)
			return -ENOTDIR;
		if (fr.type != TRAP_FS_DIR && tr.type == TRAP_FS_DIR)
			return -EISDIR;
		if (tr.type == TRAP_FS_DIR) {
			size_t n = 0;

			if ((rc = trap_fs_list(fs, "/", tr.path, count_fn, &n)) < 0)
				return rc;
			if (n)
				return -ENOTEMPTY;
		}
		if ((rc = remove_res(fs, &tr)) < 0)
			return rc;
	}
	if (fr.type != TRAP_FS_DIR && fr.oe) {
		/* The session's own file keeps its entry (and id) under the new
		 * name. */
		struct oent *e = fr.oe;
		char *np = strdup(tr.path);
		size_t i;

		if (!np)
			return -ENOMEM;
		if (tr.wo)
			ov_remove_at(fs, ov_lower(fs, tr.path));
		i = ov_lower(fs, fr.path);
		memmove(fs->ents + i, fs->ents + i + 1, (fs->n - i - 1) * sizeof *fs->ents);
		fs->n--;
		fs->used = fs->used - strlen(e->path) + strlen(np);
		free(e->path);
		e->path = np;
		i = ov_lower(fs, np);
		memmove(fs->ents + i + 1, fs->ents + i, (fs->n - i) * sizeof *fs->ents);
		fs->ents[i] = e;
		fs->n++;
		if (e->own)
			e->dirty = 1;
		fr.oe = NULL;
		if (fr.bvis) {
			struct oent *w;

			return ov_add(fs, fr.path, OV_WHITEOUT, 1, &w);
		}
		return 0;
	}
	/* Resolve the target again: removing what was there changed the table. */
	if ((rc = resolve(fs, cwd, to, 0, &tr)) < 0)
		return rc;
	if ((rc = move_tree(fs, &fr, &tr, 0)) < 0)
		return rc;
	if ((rc = resolve(fs, cwd, from, 0, &fr)) < 0)
		return rc;
	return remove_res(fs, &fr);
}

int trap_fs_symlink(struct trap_fs *fs, const char *cwd, const char *target, const char *path)
{
	struct res r;
	struct oent *e;
	size_t tl = strlen(target);
	int rc = resolve(fs, cwd, path, 0, &r);

	if (rc < 0)
		return rc;
	if (r.exists)
		return -EEXIST;
	if (tl == 0)
		return -ENOENT;
	if (tl >= TRAP_FS_PATH_MAX)
		return -ENAMETOOLONG;
	if ((rc = writable(fs, r.path, 1)) < 0)
		return rc;
	if ((rc = create_at(fs, &r, TRAP_FS_LNK, 0777, &e)) < 0)
		return rc;
	if ((rc = ov_reserve(fs, e, tl + 1)) < 0) {
		ov_remove_at(fs, ov_lower(fs, r.path));
		return rc;
	}
	memcpy(e->data, target, tl);
	e->len = tl;
	return 0;
}

int trap_fs_chmod(struct trap_fs *fs, const char *cwd, const char *path, mode_t mode)
{
	struct res r;
	int rc = resolve(fs, cwd, path, 1, &r);

	if (rc < 0)
		return rc;
	if (!r.exists)
		return -ENOENT;
	if ((rc = writable(fs, r.path, 0)) < 0)
		return rc;
	if ((rc = copy_up(fs, &r)) < 0)
		return rc;
	r.oe->mode = mode & 07777;
	return 0;
}

int trap_fs_copy(struct trap_fs *fs, const char *cwd, const char *from, const char *to)
{
	struct trap_fs_stat st;
	struct res fr, tr;
	uint8_t chunk[16384];
	uint64_t id, off = 0;
	int rc;

	if ((rc = resolve(fs, cwd, from, 1, &fr)) < 0)
		return rc;
	if (!fr.exists)
		return -ENOENT;
	if (fr.type == TRAP_FS_DIR)
		return -EISDIR;
	if ((rc = resolve(fs, cwd, to, 1, &tr)) < 0)
		return rc;
	if (tr.exists && !strcmp(fr.path, tr.path))
		return -EINVAL;
	fill_stat(fs, &fr, &st);
	if ((rc = trap_fs_open_write(fs, "/", tr.path, 0, st.mode, &id)) < 0)
		return rc;
	/* The size is known: hold exactly that (as much as fits), not the
	 * doubling slack of a file that grows by appends. */
	if (fr.type == TRAP_FS_REG && st.size > 0 && id != 0) {
		struct oent *e = ov_by_id(fs, id);
		size_t room = fs->max > fs->used ? fs->max - fs->used : 0;

		if (e && ov_reserve(fs, e, (size_t)st.size < room ? (size_t)st.size : room) < 0)
			return -ENOSPC;
	}
	for (;;) {
		ssize_t n = trap_fs_read(fs, "/", fr.path, off, chunk, sizeof chunk);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0;
		if ((rc = trap_fs_write(fs, id, chunk, (size_t)n)) < 0)
			return rc;
		off += (uint64_t)n;
		if (fr.type == TRAP_FS_CHR && off >= sizeof chunk)
			return 0; /* cp from an endless device stops somewhere */
	}
}

/* ---- listing ---- */

struct lent {
	char *name;
	struct trap_fs_stat st;
};

static int lent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lent *)a)->name, ((const struct lent *)b)->name);
}

int trap_fs_list(struct trap_fs *fs, const char *cwd, const char *path,
		 int (*fn)(void *arg, const char *name, const struct trap_fs_stat *st), void *arg)
{
	struct res r, cr;
	const struct bnode *bdir;
	struct lent *l = NULL;
	size_t n = 0, cap = 0, i, plen, pre_len;
	char pre[TRAP_FS_PATH_MAX + 1];
	int rc = resolve(fs, cwd, path, 1, &r);

	if (rc < 0)
		return rc;
	if (!r.exists)
		return -ENOENT;
	if (r.type != TRAP_FS_DIR)
		return -ENOTDIR;
	bdir = r.oe ? (r.oe->opaque ? NULL : r.bvis) : r.bn;
	plen = strcmp(r.path, "/") ? strlen(r.path) : 0;
	memcpy(pre, r.path, plen);
	pre[plen] = '/';
	pre[plen + 1] = '\0';
	pre_len = plen + 1;
	/* Collect first: fn may change the view (rm -r removes as it goes). */
	for (i = 0; bdir && i < bdir->nkids; i++) {
		struct oent *e;
		const char *nm = bdir->kids[i]->name;

		if (plen + 1 + strlen(nm) >= TRAP_FS_PATH_MAX)
			continue;
		memcpy(cr.path, pre, pre_len);
		memcpy(cr.path + pre_len, nm, strlen(nm) + 1);
		if (fs->n && (e = ov_find(fs, cr.path)) != NULL)
			continue; /* the overlay's entry (or whiteout) is listed below */
		if (n == cap) {
			struct lent *nl;

			cap = cap ? 2 * cap : 32;
			if (cap > LIST_MAX || (nl = realloc(l, cap * sizeof *l)) == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			l = nl;
		}
		cr.oe = NULL;
		cr.bn = cr.bvis = bdir->kids[i];
		cr.type = cr.bn->type;
		fill_stat(fs, &cr, &l[n].st);
		l[n].name = bdir->kids[i]->name;
		n++;
	}
	for (i = ov_lower(fs, pre); i < fs->n && strncmp(fs->ents[i]->path, pre, pre_len) == 0;
	     i++) {
		struct oent *e = fs->ents[i];
		const char *nm = e->path + pre_len;

		if (strchr(nm, '/') || e->type == OV_WHITEOUT)
			continue;
		if (n == cap) {
			struct lent *nl;

			cap = cap ? 2 * cap : 32;
			if (cap > LIST_MAX || (nl = realloc(l, cap * sizeof *l)) == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			l = nl;
		}
		memcpy(cr.path, e->path, strlen(e->path) + 1);
		cr.oe = e;
		cr.bn = NULL;
		cr.type = e->type;
		fill_stat(fs, &cr, &l[n].st);
		l[n].name = (char *)nm;
		n++;
	}
	/* Names point into the base and the table; copy them before fn runs. */
	for (i = 0; i < n; i++)
		if ((l[i].name = strdup(l[i].name)) == NULL) {
			n = i;
			rc = -ENOMEM;
			goto out;
		}
	if (n)
		qsort(l, n, sizeof *l, lent_cmp);
	for (i = 0; i < n && rc == 0; i++)
		rc = fn(arg, l[i].name, &l[i].st);
out:
	for (i = 0; i < n && l; i++)
		free(l[i].name);
	free(l);
	return rc;
}

/* ---- the session's files ---- */

int trap_fs_changed(struct trap_fs *fs,
		    int (*fn)(void *arg, const char *path, uint64_t id, const uint8_t *data,
			      size_t len),
		    void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i < fs->n; i++) {
		struct oent *e = fs->ents[i];

		if (!e->dirty || e->type != TRAP_FS_REG)
			continue;
		e->dirty = 0;
		if ((rc = fn(arg, e->path, e->id, e->data ? e->data : (const uint8_t *)"",
			     e->len)) != 0)
			return rc;
	}
	return 0;
}

const uint8_t *trap_fs_own(struct trap_fs *fs, const char *cwd, const char *path, size_t *len)
{
	struct res r;

	if (resolve(fs, cwd, path, 1, &r) < 0 || !r.exists || !r.oe ||
	    r.oe->type != TRAP_FS_REG || !r.oe->own)
		return NULL;
	if (!r.oe->data && r.oe->src && materialize(fs, r.oe) < 0)
		return NULL;
	*len = r.oe->len;
	return r.oe->data ? r.oe->data : (const uint8_t *)"";
}
