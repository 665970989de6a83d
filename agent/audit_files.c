/*
 * Files: world-writable folders and files on the executable path (anyone
 * could put a program there that root later runs), and setuid or setgid
 * programs that the device is not expected to carry.
 *
 * The setuid walk looks at the whole root with lstat semantics (fstatat
 * AT_SYMLINK_NOFOLLOW; folders are opened relative to their parent with
 * O_NOFOLLOW), skips /proc, /sys, /dev and /run, stays on the root folder's
 * file system, descends at most MAX_DEPTH folders and looks at no more than
 * max_files entries; when that bound cuts the walk it says so. Entries are
 * sorted per folder so that two runs report in the same order.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_int.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define MAX_DEPTH 64          /* folders below the root */
#define DIR_MAX 65536         /* entries of one folder looked at */
#define MAX_EXEC_DIRS 32      /* folders of the executable path */
#define PATH_BYTES 4096

struct walk {
	struct audit_ctx *c;
	dev_t dev;
	uint64_t seen;
	int cut;
	char path[PATH_BYTES];
	size_t plen;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the open folder fd (consumed); at most DIR_MAX. */
static int read_names(int fd, char ***out, size_t *n)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	*out = NULL;
	if (d == NULL) {
		close(fd);
		return MM_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == DIR_MAX)
			break;
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **nv = realloc(v, nc * sizeof *nv);

			if (nv == NULL)
				break;
			v = nv;
			cap = nc;
		}
		if ((v[*n] = strdup(de->d_name)) == NULL)
			break;
		(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof *v, name_cmp);
	*out = v;
	return 0;
}

static void free_names(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static json_t *owner_json(uid_t uid)
{
	/* The owner as a number: the auditing machine's user names are not the
	 * device's, and the device's passwd is not read for this. */
	return json_integer((json_int_t)uid);
}

static int allowed(const struct audit_opts *o, const char *path)
{
	size_t i;

	for (i = 0; i < AUDIT_MAX_PATHS && o->setuid_allow[i] != NULL; i++)
		if (strcmp(o->setuid_allow[i], path) == 0)
			return 1;
	return 0;
}

static void setuid_found(struct walk *w, const struct stat *st)
{
	char mode[8];
	json_t *d;

	if (allowed(w->c->o, w->path))
		return;
	snprintf(mode, sizeof mode, "%04o", (unsigned)(st->st_mode & 07777));
	d = json_pack("{s:o, s:s, s:o, s:i}", "path", audit_jstr(w->path, 300), "mode", mode,
		      "owner", owner_json(st->st_uid), "gid", (int)st->st_gid);
	audit_emit(w->c, "file.setuid", w->path, d, "%s%s program that is not expected (mode %s)",
		   (st->st_mode & S_ISUID) ? "setuid" : "setgid",
		   (st->st_mode & S_ISUID) && (st->st_mode & S_ISGID) ? "/setgid" : "", mode);
}

static int skip_top(const char *name)
{
	return strcmp(name, "proc") == 0 || strcmp(name, "sys") == 0 ||
	       strcmp(name, "dev") == 0 || strcmp(name, "run") == 0;
}

/* Walks the open folder dfd (consumed), whose path is w->path[0..plen). */
static void walk_dir(struct walk *w, int dfd, int depth)
{
	char **names;
	size_t n, i, plen = w->plen;
	int lfd = dup(dfd);

	/* One descriptor lists the folder, the other stays open to look at
	 * each entry relative to it, never following a link. */
	if (lfd == -1 || read_names(lfd, &names, &n) != 0) {
		close(dfd);
		return;
	}
	for (i = 0; i < n && !w->cut; i++) {
		struct stat st;
		size_t nl = strlen(names[i]);

		if (depth == 0 && skip_top(names[i]))
			continue;
		if (w->seen >= w->c->o->max_files) {
			w->cut = 1;
			break;
		}
		w->seen++;
		if (plen + 1 + nl + 1 > sizeof w->path)
			continue;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		w->path[plen] = '/';
		memcpy(w->path + plen + 1, names[i], nl + 1);
		w->plen = plen + 1 + nl;
		if (S_ISREG(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)))
			setuid_found(w, &st);
		if (S_ISDIR(st.st_mode) && st.st_dev == w->dev && depth + 1 < MAX_DEPTH) {
			int cfd = openat(dfd, names[i],
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (cfd != -1)
				walk_dir(w, cfd, depth + 1);
		}
		w->plen = plen;
		w->path[plen] = '\0';
	}
	close(dfd);
	free_names(names, n);
}

static void check_setuid(struct audit_ctx *c)
{
	struct walk *w = calloc(1, sizeof *w);
	struct stat st;
	int fd;

	if (w == NULL)
		return;
	w->c = c;
	fd = audit_open(c, "/", O_RDONLY | O_DIRECTORY);
	if (fd == -1 || fstat(fd, &st) == -1) {
		log_warn("audit: %s", c->o->root);
		if (fd != -1)
			close(fd);
		free(w);
		return;
	}
	w->dev = st.st_dev;
	walk_dir(w, fd, 0);
	if (w->cut)
		log_warnx("audit: setuid walk stopped after %llu entries (max_files): the rest of "
			  "%s was not looked at",
			  (unsigned long long)w->seen, c->o->root);
	free(w);
}

/* ---- the executable path ---- */

struct exec_dirs {
	char path[MAX_EXEC_DIRS][256];
	dev_t dev[MAX_EXEC_DIRS];
	ino_t ino[MAX_EXEC_DIRS];
	size_t n;
};

/* PATH entries of a simple assignment: absolute folders, "$PATH" and the like skipped. */
static void profile_paths(const char *text, size_t len, const char **out, char store[][256],
			  size_t *n, size_t max)
{
	size_t pos = 0;

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos), *v, *end;
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - pos;

		pos += ll + (nl != NULL);
		while (ll > 0 && (*line == ' ' || *line == '\t')) {
			line++;
			ll--;
		}
		if (ll > 7 && memcmp(line, "export ", 7) == 0) {
			line += 7;
			ll -= 7;
		}
		if (ll < 6 || memcmp(line, "PATH=", 5) != 0)
			continue;
		v = line + 5;
		end = line + ll;
		if (*v == '"' || *v == '\'') {
			const char *q = memchr(v + 1, *v, (size_t)(end - v - 1));

			if (q == NULL)
				continue;
			v++;
			end = q;
		}
		while (v < end && *n < max) {
			const char *colon = memchr(v, ':', (size_t)(end - v));
			const char *fe = colon != NULL ? colon : end;
			size_t fl = (size_t)(fe - v);

			/* Only plain absolute folders: a word with $, ` or blanks is code. */
			if (fl > 1 && fl < 256 && v[0] == '/' && !memchr(v, '$', fl) &&
			    !memchr(v, '`', fl) && !memchr(v, ' ', fl) && !memchr(v, ';', fl)) {
				memcpy(store[*n], v, fl);
				store[*n][fl] = '\0';
				out[*n] = store[*n];
				(*n)++;
			}
			v = colon != NULL ? colon + 1 : end;
		}
	}
}

static void writable_found(struct audit_ctx *c, const char *path, const struct stat *st,
			   int dir)
{
	char mode[8];

	snprintf(mode, sizeof mode, "%04o", (unsigned)(st->st_mode & 07777));
	audit_emit(c, "path.world_writable", path,
		   json_pack("{s:o, s:s, s:s, s:o}", "path", audit_jstr(path, 300), "mode", mode,
			     "type", dir ? "folder" : "file", "owner", owner_json(st->st_uid)),
		   "world-writable %s on the executable path (mode %s)", dir ? "folder" : "file",
		   mode);
}

static void check_exec_dir(struct audit_ctx *c, struct exec_dirs *seen, const char *dir,
			   uint64_t *budget)
{
	struct stat st;
	char **names, path[PATH_BYTES];
	size_t n, i;
	int fd;

	fd = audit_open(c, dir, O_RDONLY | O_DIRECTORY);
	if (fd == -1)
		return;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return;
	}
	/* /bin may be a link to /usr/bin: look at each folder once. */
	for (i = 0; i < seen->n; i++)
		if (seen->dev[i] == st.st_dev && seen->ino[i] == st.st_ino) {
			close(fd);
			return;
		}
	if (seen->n < MAX_EXEC_DIRS) {
		seen->dev[seen->n] = st.st_dev;
		seen->ino[seen->n] = st.st_ino;
		seen->n++;
	}
	/* The sticky bit keeps others' files from being removed, not new
	 * programs from being added: still a finding on an executable path. */
	if (st.st_mode & S_IWOTH)
		writable_found(c, dir, &st, 1);
	{
		int dfd = dup(fd);

		if (dfd == -1 || read_names(dfd, &names, &n) != 0) {
			close(fd);
			return;
		}
	}
	for (i = 0; i < n; i++) {
		struct stat fst;

		if (*budget == 0)
			break;
		(*budget)--;
		if (fstatat(fd, names[i], &fst, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		/* A symbolic link's own mode means nothing; its target is checked
		 * where it lives when that is on the path. */
		if (S_ISLNK(fst.st_mode) || !(fst.st_mode & S_IWOTH))
			continue;
		snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "", names[i]);
		writable_found(c, path, &fst, S_ISDIR(fst.st_mode));
	}
	free_names(names, n);
	close(fd);
}

static void check_exec_path(struct audit_ctx *c)
{
	static const char *const fixed[] = {"/bin",	    "/sbin",	      "/usr/bin",
					    "/usr/sbin",    "/usr/local/bin", "/usr/local/sbin"};
	const char *dirs[MAX_EXEC_DIRS];
	char(*store)[256] = calloc(MAX_EXEC_DIRS, 256);
	struct exec_dirs *seen = calloc(1, sizeof *seen);
	uint64_t budget = c->o->max_files;
	size_t n = 0, i;
	char *text;
	size_t len;

	if (store == NULL || seen == NULL)
		goto done;
	for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		dirs[n++] = fixed[i];
	if (audit_read(c, "/etc/profile", AUDIT_FILE_MAX, &text, &len) == 0) {
		profile_paths(text, len, dirs, store, &n, MAX_EXEC_DIRS);
		free(text);
	}
	for (i = 0; i < n; i++)
		check_exec_dir(c, seen, dirs[i], &budget);
	if (budget == 0)
		log_warnx("audit: executable path: stopped after %llu entries (max_files)",
			  (unsigned long long)c->o->max_files);
done:
	free(seen);
	free(store);
}

void audit_check_files(struct audit_ctx *c)
{
	check_exec_path(c);
	check_setuid(c);
}
