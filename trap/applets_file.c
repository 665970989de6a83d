/*
 * The file applets of the ash emulation: cat, cp, mv, rm, mkdir, chmod,
 * ls, cd, pwd, head, tail, wc, grep and dd, on the session's copy-on-write
 * file system. Messages are BusyBox 1.35's; errno values come from the file
 * system as negative numbers and read as strerror's words (trap_errstr).
 */
#define _GNU_SOURCE /* strcasestr for grep -Fi */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mamori/error.h"

#include "applet.h"

#define LS_MAX 1024          /* entries one directory listing shows */
#define RM_DEPTH 16          /* rm -r goes this deep at most */
#define TEXT_MAX (256u << 10) /* bytes head, tail, wc, grep take from one file */

#define USAGE_CP "Usage: cp [-arPLHpfinlsTu] SOURCE DEST\nor: cp [-arPLHpfinlsu] SOURCE... " \
	"{ -t DIRECTORY | DIRECTORY }\n\nCopy SOURCEs to DEST\n\n\t-a\tSame as -dpR\n" \
	"\t-R,-r\tRecurse\n\t-d,-P\tPreserve symlinks (default if -R)\n\t-L\tFollow all " \
	"symlinks\n\t-H\tFollow symlinks on command line\n\t-p\tPreserve file attributes if " \
	"possible\n\t-f\tOverwrite\n\t-i\tPrompt before overwrite\n\t-n\tDon't overwrite\n" \
	"\t-l,-s\tCreate (sym)links\n\t-T\tRefuse to copy if DEST is a directory\n\t-t DIR\t" \
	"Copy all SOURCEs into DIR\n\t-u\tCopy only newer files\n"
#define USAGE_CHMOD "Usage: chmod [-Rcvf] MODE[,MODE]... FILE...\n\nMODE is octal number " \
	"(bit pattern sstrwxrwxrwx) or [ugoa]{+|-|=}[rwxXst]\n\n\t-R\tRecurse\n\t-c\tList " \
	"changed files\n\t-v\tVerbose\n\t-f\tHide errors\n"
#define USAGE_MV "Usage: mv [-fin] SOURCE DEST\nor: mv [-fin] SOURCE... DIRECTORY\n\n" \
	"Rename SOURCE to DEST, or move SOURCEs to DIRECTORY\n\n\t-f\tDon't prompt before " \
	"overwriting\n\t-i\tInteractive, prompt before overwrite\n\t-n\tDon't overwrite an " \
	"existing file\n"
#define USAGE_RM "Usage: rm [-irf] FILE...\n\nRemove (unlink) FILEs\n\n\t-i\tAlways prompt " \
	"before removing\n\t-f\tNever prompt\n\t-R,-r\tRecurse\n"
#define USAGE_MKDIR "Usage: mkdir [-m MODE] [-p] DIRECTORY...\n\nCreate DIRECTORY\n\n" \
	"\t-m MODE\tMode\n\t-p\tNo error if exists; make parent directories as needed\n"

static int usage(struct trap_exec *x, struct trap_io *io, const char *text)
{
	trap_busybox_banner(x, io->err);
	trap_sink_printf(io->err, "\n%s", text);
	return 1;
}

/* Leading options (-abc) into flags; returns the first operand's index. */
static int opts(int argc, char **argv, const char *known, unsigned *flags)
{
	int i;

	*flags = 0;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *p;

		if (strcmp(argv[i], "--") == 0)
			return i + 1;
		for (p = argv[i] + 1; *p; p++) {
			const char *k = strchr(known, *p);

			if (k)
				*flags |= 1u << (k - known);
		}
	}
	return i;
}

static int out_full(const struct trap_io *io)
{
	return io->out->kind == TRAP_SINK_BUF && io->out->room == 0;
}

/* Sends a file's bytes to out; 0 or a negative errno. */
static int cat_file(struct trap_exec *x, struct trap_io *io, const char *path)
{
	char chunk[8192];
	uint64_t off = 0;
	ssize_t n;

	while (!out_full(io)) {
		n = trap_fs_read(x->o.fs, x->cwd, path, off, chunk, sizeof chunk);
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		trap_sink_write(io->out, chunk, (size_t)n);
		off += (uint64_t)n;
	}
	return 0;
}

static int ap_cat(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	unsigned f;
	int i = opts(argc, argv, "uvetA", &f), status = 0;

	if (i >= argc) {
		trap_sink_write(io->out, io->in ? io->in : "", io->in ? io->inlen : 0);
		return 0;
	}
	for (; i < argc; i++) {
		struct trap_fs_stat st;
		int rc;

		if (strcmp(argv[i], "-") == 0) {
			trap_sink_write(io->out, io->in ? io->in : "", io->in ? io->inlen : 0);
			continue;
		}
		rc = trap_fs_stat(x->o.fs, x->cwd, argv[i], &st);
		if (rc == 0 && st.type == TRAP_FS_DIR) {
			trap_sink_puts(io->err, "cat: read error: Is a directory\n");
			status = 1;
			continue;
		}
		if (rc == 0)
			rc = cat_file(x, io, argv[i]);
		if (rc < 0) {
			trap_sink_printf(io->err, "cat: can't open '%s': %s\n", argv[i],
					 trap_errstr(rc));
			status = 1;
		}
	}
	return status;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	while (s && !s[1] && s != p) {
		/* "dir/" names dir. */
		const char *q = s;

		while (q > p && q[-1] != '/')
			q--;
		return q;
	}
	return s ? s + 1 : p;
}

/* dst, or dst/basename(src) when dst is a directory. */
static int target_path(struct trap_exec *x, const char *src, const char *dst, char *out)
{
	struct trap_fs_stat st;
	int n;

	if (trap_fs_stat(x->o.fs, x->cwd, dst, &st) == 0 && st.type == TRAP_FS_DIR) {
		n = snprintf(out, TRAP_FS_PATH_MAX, "%s/%.*s", dst,
			     (int)strcspn(base_name(src), "/"), base_name(src));
	} else {
		n = snprintf(out, TRAP_FS_PATH_MAX, "%s", dst);
	}
	return (n < 0 || n >= TRAP_FS_PATH_MAX) ? -ENAMETOOLONG : 0;
}

static int ap_cp(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	unsigned f;
	int i = opts(argc, argv, "arRPLHpfinlsTud", &f), status = 0;
	const char *dst;
	struct trap_fs_stat dst_st;

	if (argc - i < 2)
		return usage(x, io, USAGE_CP);
	dst = argv[argc - 1];
	if (argc - i > 2 && (trap_fs_stat(x->o.fs, x->cwd, dst, &dst_st) < 0 ||
			     dst_st.type != TRAP_FS_DIR)) {
		trap_sink_printf(io->err, "cp: '%s' is not a directory\n", dst);
		return 1;
	}
	for (; i < argc - 1; i++) {
		char to[TRAP_FS_PATH_MAX];
		struct trap_fs_stat st;
		int rc = trap_fs_stat(x->o.fs, x->cwd, argv[i], &st);

		if (rc < 0) {
			trap_sink_printf(io->err, "cp: can't stat '%s': %s\n", argv[i],
					 trap_errstr(rc));
			status = 1;
			continue;
		}
		if (st.type == TRAP_FS_DIR) {
			trap_sink_printf(io->err, "cp: omitting directory '%s'\n", argv[i]);
			status = 1;
			continue;
		}
		if ((rc = target_path(x, argv[i], dst, to)) == 0)
			rc = trap_fs_copy(x->o.fs, x->cwd, argv[i], to);
		if (rc < 0) {
			trap_sink_printf(io->err, "cp: can't create '%s': %s\n", to,
					 trap_errstr(rc));
			status = 1;
		}
	}
	return status;
}

static int ap_mv(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	unsigned f;
	int i = opts(argc, argv, "fin", &f), status = 0;

	if (argc - i < 2)
		return usage(x, io, USAGE_MV);
	for (; i < argc - 1; i++) {
		char to[TRAP_FS_PATH_MAX];
		struct trap_fs_stat st;
		int rc = trap_fs_lstat(x->o.fs, x->cwd, argv[i], &st);

		if (rc == 0 && (rc = target_path(x, argv[i], argv[argc - 1], to)) == 0)
			rc = trap_fs_rename(x->o.fs, x->cwd, argv[i], to);
		if (rc < 0) {
			trap_sink_printf(io->err, "mv: can't rename '%s': %s\n", argv[i],
					 trap_errstr(rc));
			status = 1;
		}
	}
	return status;
}

struct rm_ctx {
	struct trap_exec *x;
	char names[LS_MAX][256];
	size_t n;
};

static int rm_collect(void *arg, const char *name, const struct trap_fs_stat *st)
{
	struct rm_ctx *c = arg;

	(void)st;
	if (c->n == LS_MAX || strlen(name) >= sizeof c->names[0])
		return 0;
	snprintf(c->names[c->n++], sizeof c->names[0], "%s", name);
	return 0;
}

/* Removes path and, for a directory, what it holds (depth-first). */
static int rm_tree(struct trap_exec *x, const char *path, int depth)
{
	struct trap_fs_stat st;
	struct rm_ctx *c;
	size_t i;
	int rc = trap_fs_lstat(x->o.fs, x->cwd, path, &st);

	if (rc < 0)
		return rc;
	if (st.type != TRAP_FS_DIR)
		return trap_fs_unlink(x->o.fs, x->cwd, path);
	if (depth > RM_DEPTH)
		return -ENAMETOOLONG;
	if (!(c = calloc(1, sizeof *c)))
		return -ENOMEM;
	trap_fs_list(x->o.fs, x->cwd, path, rm_collect, c);
	for (i = 0; i < c->n; i++) {
		char sub[TRAP_FS_PATH_MAX];

		if (snprintf(sub, sizeof sub, "%s/%s", path, c->names[i]) < (int)sizeof sub)
			rm_tree(x, sub, depth + 1);
	}
	free(c);
	return trap_fs_rmdir(x->o.fs, x->cwd, path);
}

static int ap_rm(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	unsigned f;
	int i = opts(argc, argv, "ifrR", &f), status = 0;
	int force = f & 2, rec = f & 12;

	if (i >= argc) {
		if (force)
			return 0;
		return usage(x, io, USAGE_RM);
	}
	for (; i < argc; i++) {
		struct trap_fs_stat st;
		int rc = trap_fs_lstat(x->o.fs, x->cwd, argv[i], &st);

		if (rc == 0 && st.type == TRAP_FS_DIR && !rec) {
			trap_sink_printf(io->err, "rm: '%s' is a directory\n", argv[i]);
			status = 1;
			continue;
		}
		if (rc == 0)
			rc = rec ? rm_tree(x, argv[i], 0) : trap_fs_unlink(x->o.fs, x->cwd, argv[i]);
		if (rc == -ENOENT && force)
			continue;
		if (rc < 0) {
			trap_sink_printf(io->err, "rm: can't remove '%s': %s\n", argv[i],
					 trap_errstr(rc));
			status = 1;
		}
	}
	return status;
}

static int ap_mkdir(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	int i, parents = 0, status = 0;
	mode_t mode = 0777;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "-p") == 0) {
			parents = 1;
		} else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) {
			mode = (mode_t)strtoul(argv[++i], NULL, 8) & 07777;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
	}
	if (i >= argc)
		return usage(x, io, USAGE_MKDIR);
	for (; i < argc; i++) {
		int rc;

		if (parents) {
			char p[TRAP_FS_PATH_MAX];
			size_t k, len = strlen(argv[i]);

			if (len >= sizeof p) {
				rc = -ENAMETOOLONG;
				goto err;
			}
			memcpy(p, argv[i], len + 1);
			rc = 0;
			for (k = 1; k <= len && rc == 0; k++) {
				if (p[k] != '/' && p[k] != '\0')
					continue;
				p[k] = '\0';
				rc = trap_fs_mkdir(x->o.fs, x->cwd, p, mode);
				if (rc == -EEXIST) {
					struct trap_fs_stat st;

					rc = (trap_fs_stat(x->o.fs, x->cwd, p, &st) == 0 &&
					      st.type == TRAP_FS_DIR) ? 0 : -EEXIST;
				}
				if (k < len)
					p[k] = '/';
			}
		} else {
			rc = trap_fs_mkdir(x->o.fs, x->cwd, argv[i], mode);
		}
err:
		if (rc < 0) {
			trap_sink_printf(io->err, "mkdir: can't create directory '%s': %s\n",
					 argv[i], trap_errstr(rc));
			status = 1;
		}
	}
	return status;
}

/* A chmod MODE applied to old: octal, or [ugoa]*[+-=][rwxXst]* clauses
 * separated by commas. Returns the new mode or -1 when MODE is invalid. */
static long chmod_mode(const char *m, mode_t old, int isdir)
{
	long mode = old & 07777;
	char *end;

	if (*m >= '0' && *m <= '7') {
		long v = strtol(m, &end, 8);

		return (*end || v > 07777) ? -1 : v;
	}
	while (*m) {
		unsigned who = 0;
		char op;

		for (; *m && strchr("ugoa", *m); m++)
			who |= *m == 'u' ? 04700 : *m == 'g' ? 02070 : *m == 'o' ? 01007 : 07777;
		if (!who)
			who = 07777;
		if (!*m || !strchr("+-=", *m))
			return -1;
		while (*m && strchr("+-=", *m)) {
			unsigned bits = 0;

			op = *m++;
			for (; *m && strchr("rwxXst", *m); m++) {
				switch (*m) {
				case 'r': bits |= 0444; break;
				case 'w': bits |= 0222; break;
				case 'x': bits |= 0111; break;
				case 'X':
					if (isdir || (old & 0111))
						bits |= 0111;
					break;
				case 's': bits |= 06000; break;
				case 't': bits |= 01000; break;
				}
			}
			bits &= who;
			if (op == '+')
				mode |= bits;
			else if (op == '-')
				mode &= ~(long)bits;
			else
				mode = (mode & ~(long)(who & 0777)) | bits;
		}
		if (*m == ',')
			m++;
		else if (*m)
			return -1;
	}
	return mode;
}

static int ap_chmod(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	int i = 1, status = 0;

	while (i < argc && argv[i][0] == '-' && strchr("Rcvf", argv[i][1]) && argv[i][1])
		i++;
	if (argc - i < 2)
		return usage(x, io, USAGE_CHMOD);
	for (int k = i + 1; k < argc; k++) {
		struct trap_fs_stat st;
		long mode;
		int rc = trap_fs_stat(x->o.fs, x->cwd, argv[k], &st);

		if (rc == 0) {
			mode = chmod_mode(argv[i], st.mode, st.type == TRAP_FS_DIR);
			if (mode < 0) {
				trap_sink_printf(io->err, "chmod: invalid mode '%s'\n", argv[i]);
				return 1;
			}
			rc = trap_fs_chmod(x->o.fs, x->cwd, argv[k], (mode_t)mode);
		}
		if (rc < 0) {
			trap_sink_printf(io->err, "chmod: %s: %s\n", argv[k], trap_errstr(rc));
			status = 1;
		}
	}
	return status;
}

/* ---- ls ---- */

struct ls_ent {
	char name[256];
	struct trap_fs_stat st;
};

struct ls_ctx {
	struct ls_ent *e;
	size_t n, dropped;
	int all;
};

static int ls_collect(void *arg, const char *name, const struct trap_fs_stat *st)
{
	struct ls_ctx *c = arg;

	if (name[0] == '.' && !c->all)
		return 0;
	if (c->n == LS_MAX || strlen(name) >= sizeof c->e[0].name) {
		c->dropped++;
		return 0;
	}
	snprintf(c->e[c->n].name, sizeof c->e[0].name, "%s", name);
	c->e[c->n++].st = *st;
	return 0;
}

static void mode_string(const struct trap_fs_stat *st, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	out[0] = st->type == TRAP_FS_DIR ? 'd' : st->type == TRAP_FS_LNK ? 'l' :
		 st->type == TRAP_FS_CHR ? 'c' : '-';
	for (i = 0; i < 9; i++)
		out[i + 1] = (st->mode & (0400 >> i)) ? rwx[i] : '-';
	if (st->mode & 04000)
		out[3] = out[3] == 'x' ? 's' : 'S';
	if (st->mode & 02000)
		out[6] = out[6] == 'x' ? 's' : 'S';
	if (st->mode & 01000)
		out[9] = out[9] == 'x' ? 't' : 'T';
	out[10] = '\0';
}

/* A user or group name by id from /etc/passwd or /etc/group, cached by
 * the caller for one listing. */
static void owner_name(struct trap_exec *x, const char *file, unsigned id, char *out, size_t cap)
{
	struct mm_buf b;
	const char *line;

	snprintf(out, cap, "%u", id);
	mm_buf_init(&b, 64u << 10);
	if (trap_exec_slurp(x, file, &b) < 0 || !b.data)
		goto done;
	for (line = b.data; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		size_t nl = strcspn(line, ":\n");
		const char *f = line + nl;
		char *end;

		if (*f != ':' || !(f = strchr(f + 1, ':')))
			continue;
		if (strtoul(f + 1, &end, 10) == id && end != f + 1) {
			snprintf(out, cap, "%.*s", (int)(nl < 64 ? nl : 64), line);
			break;
		}
	}
done:
	mm_buf_free(&b);
}

static void ls_long(struct trap_exec *x, struct trap_io *io, const char *dir, const char *name,
		    const struct trap_fs_stat *st)
{
	char mode[11], user[72], group[72], when[32], target[TRAP_FS_PATH_MAX];
	struct tm tm;
	time_t now = time(NULL);

	mode_string(st, mode);
	owner_name(x, "/etc/passwd", (unsigned)st->uid, user, sizeof user);
	owner_name(x, "/etc/group", (unsigned)st->gid, group, sizeof group);
	gmtime_r(&st->mtime, &tm);
	/* Older than half a year, or in the future: the year instead of the time. */
	if (st->mtime < now - 15778476 || st->mtime > now + 3600)
		strftime(when, sizeof when, "%b %e  %Y", &tm);
	else
		strftime(when, sizeof when, "%b %e %H:%M", &tm);
	trap_sink_printf(io->out, "%s %4u %-8.8s %-8.8s %9llu %s %s", mode, st->nlink ? st->nlink : 1,
			 user, group, (unsigned long long)st->size, when, name);
	if (st->type == TRAP_FS_LNK) {
		char path[TRAP_FS_PATH_MAX];

		if (dir && snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
			path[0] = '\0';
		if (trap_fs_readlink(x->o.fs, x->cwd, dir ? path : name, target, sizeof target) >= 0)
			trap_sink_printf(io->out, " -> %s", target);
	}
	trap_sink_puts(io->out, "\n");
}

/* Names in columns, as ls does on a terminal 80 wide; one a line elsewhere. */
static void ls_names(struct trap_io *io, struct ls_ent *e, size_t n)
{
	size_t i, r, c, maxlen = 0, width, ncols, nrows;

	if (io->out->kind != TRAP_SINK_BUF || io->out != io->err) {
		for (i = 0; i < n; i++)
			trap_sink_printf(io->out, "%s\n", e[i].name);
		return;
	}
	for (i = 0; i < n; i++)
		if (strlen(e[i].name) > maxlen)
			maxlen = strlen(e[i].name);
	width = maxlen + 2;
	ncols = 80 / width ? 80 / width : 1;
	nrows = (n + ncols - 1) / ncols;
	if (!nrows)
		return;
	ncols = (n + nrows - 1) / nrows;
	for (r = 0; r < nrows; r++) {
		for (c = 0; c < ncols; c++) {
			size_t k = c * nrows + r;

			if (k >= n)
				break;
			if (c + 1 < ncols && k + nrows < n)
				trap_sink_printf(io->out, "%-*s", (int)width, e[k].name);
			else
				trap_sink_puts(io->out, e[k].name);
		}
		trap_sink_puts(io->out, "\n");
	}
}

static void ls_dir(struct trap_exec *x, struct trap_io *io, const char *path, int lng, int all)
{
	struct ls_ctx c = { .all = all };
	size_t i;

	if (!(c.e = calloc(LS_MAX, sizeof *c.e)))
		return;
	if (all) {
		char up[TRAP_FS_PATH_MAX];

		snprintf(c.e[c.n].name, sizeof c.e[0].name, ".");
		if (trap_fs_stat(x->o.fs, x->cwd, path, &c.e[c.n].st) == 0)
			c.n++;
		snprintf(up, sizeof up, "%s/..", path);
		snprintf(c.e[c.n].name, sizeof c.e[0].name, "..");
		if (trap_fs_stat(x->o.fs, x->cwd, up, &c.e[c.n].st) == 0)
			c.n++;
	}
	trap_fs_list(x->o.fs, x->cwd, path, ls_collect, &c);
	if (lng) {
		unsigned long long blocks = 0;

		/* 1 KiB blocks of 4 KiB allocations, as on the devices' file systems. */
		for (i = 0; i < c.n; i++)
			if (c.e[i].st.type == TRAP_FS_REG || c.e[i].st.type == TRAP_FS_DIR)
				blocks += (c.e[i].st.size + 4095) / 4096 * 4;
		trap_sink_printf(io->out, "total %llu\n", blocks);
		for (i = 0; i < c.n; i++)
			ls_long(x, io, path, c.e[i].name, &c.e[i].st);
	} else {
		ls_names(io, c.e, c.n);
	}
	free(c.e);
}

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ls_ent *)a)->name, ((const struct ls_ent *)b)->name);
}

static int ap_ls(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	unsigned f;
	int i = opts(argc, argv, "laA1dh", &f), status = 0, k, ndirs = 0, nfiles = 0, shown = 0;
	int lng = f & 1, all = f & 6, nops;
	struct ls_ent *files;
	char *dflt[] = { ".", NULL };
	char **ops = argv + i;

	nops = argc - i;
	if (nops == 0) {
		ops = dflt;
		nops = 1;
	}
	if (!(files = calloc((size_t)nops, sizeof *files)))
		return 1;
	/* Operands that are not directories first, then each directory. */
	for (k = 0; k < nops; k++) {
		struct trap_fs_stat st;
		int rc = trap_fs_stat(x->o.fs, x->cwd, ops[k], &st);

		if (rc == -ENOENT && trap_fs_lstat(x->o.fs, x->cwd, ops[k], &st) == 0)
			rc = 0;
		if (rc < 0) {
			trap_sink_printf(io->err, "ls: %s: %s\n", ops[k], trap_errstr(rc));
			status = 1;
			continue;
		}
		if (st.type == TRAP_FS_DIR && !(f & 16)) {
			ndirs++;
			continue;
		}
		if (lng)
			trap_fs_lstat(x->o.fs, x->cwd, ops[k], &st);
		snprintf(files[nfiles].name, sizeof files[0].name, "%s", ops[k]);
		files[nfiles++].st = st;
	}
	if (nfiles) {
		/* BusyBox lists the operands that are not folders sorted by name. */
		qsort(files, (size_t)nfiles, sizeof *files, ent_cmp);
		if (lng)
			for (k = 0; k < nfiles; k++)
				ls_long(x, io, NULL, files[k].name, &files[k].st);
		else
			ls_names(io, files, (size_t)nfiles);
		shown = 1;
	}
	for (k = 0; k < nops; k++) {
		struct trap_fs_stat st;

		if (trap_fs_stat(x->o.fs, x->cwd, ops[k], &st) < 0 || st.type != TRAP_FS_DIR ||
		    (f & 16))
			continue;
		if (nops > 1 || status)
			trap_sink_printf(io->out, "%s%s:\n", shown ? "\n" : "", ops[k]);
		ls_dir(x, io, ops[k], lng, all);
		shown = 1;
	}
	free(files);
	return status;
}

/* ---- cd and pwd (ash builtins) ---- */

static int ap_cd(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	const char *to = argc > 1 ? argv[1] : trap_exec_getvar(x, "HOME");
	char abs[TRAP_FS_PATH_MAX], old[TRAP_FS_PATH_MAX];
	struct trap_fs_stat st;
	int rc;

	if (!to || !*to)
		return 0;
	if (strcmp(to, "-") == 0) {
		to = trap_exec_getvar(x, "OLDPWD");
		if (!to)
			to = x->cwd;
		trap_sink_printf(io->out, "%s\n", to);
	}
	rc = trap_fs_abspath(x->cwd, to, abs);
	if (rc == 0)
		rc = trap_fs_stat(x->o.fs, x->cwd, to, &st);
	if (rc == 0 && st.type != TRAP_FS_DIR)
		rc = -ENOTDIR;
	if (rc < 0) {
		trap_sink_printf(io->err, "-sh: cd: can't cd to %s: %s\n", to, trap_errstr(rc));
		return 2;
	}
	snprintf(old, sizeof old, "%s", x->cwd);
	snprintf(x->cwd, sizeof x->cwd, "%s", abs);
	trap_exec_setvar(x, "OLDPWD", old, 1);
	trap_exec_setvar(x, "PWD", x->cwd, 1);
	return 0;
}

static int ap_pwd(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	(void)argc, (void)argv;
	trap_sink_printf(io->out, "%s\n", x->cwd);
	return 0;
}

/* ---- text: head, tail, wc, grep ---- */

/* The bytes of operand name ("-" or none: standard input) into b. */
static int text_of(struct trap_exec *x, struct trap_io *io, const char *name, struct mm_buf *b)
{
	int rc;

	mm_buf_reset(b);
	if (!name || strcmp(name, "-") == 0)
		return mm_buf_append(b, io->in ? io->in : "", io->in ? io->inlen : 0) < 0 ? 0 : 0;
	rc = trap_exec_slurp(x, name, b);
	return rc == -EFBIG ? 0 : rc;
}

/* -n N, -N or -nN: how many lines. */
static int lines_opt(int argc, char **argv, long *n, int *plus)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *v = NULL;
		char *end;

		if (argv[i][1] == 'n')
			v = argv[i][2] ? argv[i] + 2 : (i + 1 < argc ? argv[++i] : "");
		else if (argv[i][1] >= '0' && argv[i][1] <= '9')
			v = argv[i] + 1;
		else
			continue;
		*plus = v[0] == '+';
		*n = strtol(v, &end, 10);
		if (end == v || *end)
			return -1;
		if (*n < 0)
			*n = -*n;
	}
	return i;
}

static int head_tail(struct trap_exec *x, struct trap_io *io, int argc, char **argv, int tail)
{
	long n = 10;
	int plus = 0, i = lines_opt(argc, argv, &n, &plus), status = 0, k, nf;
	struct mm_buf b;

	if (i < 0) {
		trap_sink_printf(io->err, "%s: invalid number '%s'\n", argv[0], argv[argc - 1]);
		return 1;
	}
	nf = argc - i;
	mm_buf_init(&b, TEXT_MAX);
	for (k = i; k < argc || (k == i && nf == 0); k++) {
		const char *name = nf ? argv[k] : NULL;
		int rc = text_of(x, io, name, &b);
		size_t pos, start = 0;
		long lines = 0;

		if (rc < 0) {
			trap_sink_printf(io->err, "%s: can't open '%s': %s\n", argv[0], name,
					 trap_errstr(rc));
			status = 1;
			continue;
		}
		if (nf > 1)
			trap_sink_printf(io->out, "%s==> %s <==\n", k > i ? "\n" : "", name);
		if (!tail) {
			for (pos = 0; pos < b.len && lines < n; pos++)
				if (b.data[pos] == '\n')
					lines++;
			trap_sink_write(io->out, b.data ? b.data : "", pos);
		} else if (plus) {
			for (pos = 0; pos < b.len && lines < n - 1; pos++)
				if (b.data[pos] == '\n')
					lines++;
			trap_sink_write(io->out, b.data + pos, b.len - pos);
		} else {
			pos = b.len;
			if (pos && b.data[pos - 1] == '\n')
				pos--;
			while (pos > 0) {
				if (b.data[pos - 1] == '\n' && ++lines == n)
					break;
				pos--;
			}
			start = pos;
			if (n > 0)
				trap_sink_write(io->out, b.data ? b.data + start : "", b.len - start);
		}
		if (!nf)
			break;
	}
	mm_buf_free(&b);
	return status;
}

static int ap_head(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	return head_tail(x, io, argc, argv, 0);
}

static int ap_tail(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	return head_tail(x, io, argc, argv, 1);
}

static void wc_line(struct trap_io *io, const unsigned long long v[3], const int want[3],
		    const char *name)
{
	int k, n = 0, first = 1;

	for (k = 0; k < 3; k++)
		n += want[k];
	for (k = 0; k < 3; k++) {
		if (!want[k])
			continue;
		/* One count alone is printed without padding, as BusyBox does. */
		trap_sink_printf(io->out, n == 1 && !name ? "%s%llu" : "%s%9llu", first ? "" : " ",
				 v[k]);
		first = 0;
	}
	if (name)
		trap_sink_printf(io->out, " %s", name);
	trap_sink_puts(io->out, "\n");
}

static int ap_wc(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	unsigned f;
	int i = opts(argc, argv, "lwc", &f), status = 0, k, nf = argc - i;
	int want[3] = { f & 1 ? 1 : 0, f & 2 ? 1 : 0, f & 4 ? 1 : 0 };
	unsigned long long tot[3] = { 0 };
	struct mm_buf b;

	if (!f)
		want[0] = want[1] = want[2] = 1;
	mm_buf_init(&b, TEXT_MAX);
	for (k = i; k < argc || (k == i && nf == 0); k++) {
		const char *name = nf ? argv[k] : NULL;
		unsigned long long v[3] = { 0, 0, 0 };
		int rc = text_of(x, io, name, &b), inword = 0;
		size_t p;

		if (rc < 0) {
			trap_sink_printf(io->err, "wc: can't open '%s': %s\n", name, trap_errstr(rc));
			status = 1;
			continue;
		}
		for (p = 0; p < b.len; p++) {
			char c = b.data[p];
			int space = c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' ||
				    c == '\f';

			if (c == '\n')
				v[0]++;
			if (!space && !inword)
				v[1]++;
			inword = !space;
		}
		v[2] = b.len;
		wc_line(io, v, want, name);
		for (p = 0; p < 3; p++)
			tot[p] += v[p];
		if (!nf)
			break;
	}
	if (nf > 1)
		wc_line(io, tot, want, "total");
	mm_buf_free(&b);
	return status;
}

static int ap_grep(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	int i, status = 1, k, nf, prefix, hadfile = 0;
	int inv = 0, cnt = 0, quiet = 0, icase = 0, fixed = 0, ere = 0, num = 0, list = 0;
	int noname = 0, withname = 0, sflag = 0;
	const char *pat = NULL;
	regex_t re;
	struct mm_buf b;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *p;

		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (p = argv[i] + 1; *p; p++) {
			switch (*p) {
			case 'v': inv = 1; break;
			case 'c': cnt = 1; break;
			case 'q': quiet = 1; break;
			case 'i': icase = 1; break;
			case 'F': fixed = 1; break;
			case 'E': ere = 1; break;
			case 'n': num = 1; break;
			case 'l': list = 1; break;
			case 'h': noname = 1; break;
			case 'H': withname = 1; break;
			case 's': sflag = 1; break;
			case 'e':
				if (p[1]) {
					pat = p + 1;
				} else if (i + 1 < argc) {
					pat = argv[++i];
				}
				p = " ";
				break;
			}
			if (*p == ' ')
				break;
		}
	}
	if (!pat) {
		if (i >= argc) {
			trap_busybox_banner(x, io->err);
			trap_sink_puts(io->err, "\nUsage: grep [-HhnlLoqvsrRiwFEz] [-m N] "
				       "[-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } "
				       "[FILE]...\n");
			return 2;
		}
		pat = argv[i++];
	}
	if (!fixed && regcomp(&re, pat, (ere ? REG_EXTENDED : 0) | (icase ? REG_ICASE : 0) |
				   REG_NOSUB) != 0) {
		trap_sink_printf(io->err, "grep: bad regex '%s'\n", pat);
		return 2;
	}
	nf = argc - i;
	prefix = (nf > 1 || withname) && !noname;
	mm_buf_init(&b, TEXT_MAX);
	for (k = i; k < argc || (k == i && nf == 0); k++) {
		const char *name = nf ? argv[k] : NULL;
		int rc = text_of(x, io, name, &b);
		size_t p = 0;
		unsigned long matches = 0, ln = 0;

		if (rc < 0) {
			if (!sflag)
				trap_sink_printf(io->err, "grep: %s: %s\n", name, trap_errstr(rc));
			hadfile = 1;
			continue;
		}
		while (p < b.len) {
			size_t e = p;
			char save;
			int m;

			while (e < b.len && b.data[e] != '\n')
				e++;
			ln++;
			save = b.data[e];
			b.data[e] = '\0';
			if (fixed)
				m = icase ? strcasestr(b.data + p, pat) != NULL :
					    strstr(b.data + p, pat) != NULL;
			else
				m = regexec(&re, b.data + p, 0, NULL, 0) == 0;
			b.data[e] = save;
			if (m != inv) {
				matches++;
				if (!cnt && !quiet && !list) {
					if (prefix)
						trap_sink_printf(io->out, "%s:", name ? name : "(standard input)");
					if (num)
						trap_sink_printf(io->out, "%lu:", ln);
					trap_sink_write(io->out, b.data + p, e - p);
					trap_sink_puts(io->out, "\n");
				}
			}
			p = e + 1;
		}
		if (matches)
			status = 0;
		if (cnt && !quiet) {
			if (prefix)
				trap_sink_printf(io->out, "%s:", name ? name : "(standard input)");
			trap_sink_printf(io->out, "%lu\n", matches);
		}
		if (list && matches && !quiet)
			trap_sink_printf(io->out, "%s\n", name ? name : "(standard input)");
		if (!nf)
			break;
	}
	if (!fixed)
		regfree(&re);
	mm_buf_free(&b);
	if (hadfile && status != 0)
		return 2;
	return status;
}

/* ---- dd ---- */

static int dd_num(const char *s, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	if (end == s || errno)
		return -1;
	if (*end == 'k' || *end == 'K')
		*v *= 1024, end++;
	else if (*end == 'M')
		*v *= 1024 * 1024, end++;
	else if (*end == 'b')
		*v *= 512, end++;
	return *end ? -1 : 0;
}

static int ap_dd(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	const char *in = NULL, *of = NULL;
	unsigned long long bs = 512, count = ~0ull, skip = 0, full = 0, part = 0, total = 0;
	struct mm_buf b;
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		unsigned long long v = 0;
		int bad = 0;

		if (strncmp(a, "if=", 3) == 0)
			in = a + 3;
		else if (strncmp(a, "of=", 3) == 0)
			of = a + 3;
		else if (strncmp(a, "bs=", 3) == 0)
			bad = dd_num(a + 3, &v) < 0 || !v, bs = v;
		else if (strncmp(a, "count=", 6) == 0)
			bad = dd_num(a + 6, &v) < 0, count = v;
		else if (strncmp(a, "skip=", 5) == 0)
			bad = dd_num(a + 5, &v) < 0, skip = v;
		if (bad) {
			trap_sink_printf(io->err, "dd: invalid number '%s'\n", strchr(a, '=') + 1);
			return 1;
		}
	}
	if (bs > TEXT_MAX)
		bs = TEXT_MAX;
	mm_buf_init(&b, TEXT_MAX);
	rc = text_of(x, io, in, &b);
	if (rc < 0) {
		trap_sink_printf(io->err, "dd: can't open '%s': %s\n", in, trap_errstr(rc));
		mm_buf_free(&b);
		return 1;
	}
	{
		size_t off = skip * bs < b.len ? (size_t)(skip * bs) : b.len;
		size_t left = b.len - off;
		uint64_t id = 0;

		while (left && full + part < count) {
			size_t n = left < bs ? left : (size_t)bs;

			if (n == bs)
				full++;
			else
				part++;
			total += n;
			left -= n;
		}
		if (of) {
			rc = trap_fs_open_write(x->o.fs, x->cwd, of, 0, 0666, &id);
			if (rc == 0 && total)
				rc = trap_fs_write(x->o.fs, id, b.data + off, (size_t)total);
			if (rc < 0) {
				trap_sink_printf(io->err, "dd: can't open '%s': %s\n", of,
						 trap_errstr(rc));
				mm_buf_free(&b);
				return 1;
			}
		} else if (total) {
			trap_sink_write(io->out, b.data + off, (size_t)total);
		}
	}
	trap_sink_printf(io->err, "%llu+%llu records in\n%llu+%llu records out\n", full, part,
			 full, part);
	mm_buf_free(&b);
	return 0;
}

const struct trap_applet trap_applets_file[] = {
	{ "cd", ap_cd, TRAP_AP_BUILTIN },
	{ "chdir", ap_cd, TRAP_AP_BUILTIN },
	{ "pwd", ap_pwd, TRAP_AP_BUILTIN },
	{ "cat", ap_cat, 0 },
	{ "cp", ap_cp, 0 },
	{ "mv", ap_mv, 0 },
	{ "rm", ap_rm, 0 },
	{ "mkdir", ap_mkdir, 0 },
	{ "chmod", ap_chmod, 0 },
	{ "ls", ap_ls, 0 },
	{ "head", ap_head, 0 },
	{ "tail", ap_tail, 0 },
	{ "wc", ap_wc, 0 },
	{ "grep", ap_grep, 0 },
	{ "egrep", ap_grep, 0 },
	{ "fgrep", ap_grep, 0 },
	{ "dd", ap_dd, 0 },
	{ NULL, NULL, 0 },
};
