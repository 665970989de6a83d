/*
 * The file systems of mamori-trap.
 *
 * A persona's base tree (struct trap_fs_base) is loaded once from
 * data/trap/personas/NAME/root/ (files, directories and symbolic links as
 * stored) plus what the persona generates: a link for each BusyBox applet
 * (bin/sh -> busybox ...), and the files of TRAP_FS_GEN kind whose bytes
 * are made when read (the busybox binary: an ELF header for the persona's
 * CPU followed by a deterministic body of the persona's size, so that
 * `cat /bin/echo` shows Mirai's loader the architecture it expects;
 * /proc/uptime and /proc/loadavg, which move with time). The base is
 * shared by all sessions and never changes.
 *
 * Each session gets a copy-on-write view (struct trap_fs) on top of it:
 * created, written, removed, renamed and chmod-ed entries live in the
 * session's overlay (with whiteouts for removed base entries); everything
 * else is read from the base. The overlay's bytes (names and contents)
 * are bounded (max_bytes): a write past it fails with ENOSPC as a full
 * device would. A view costs nothing until it is first written.
 *
 * Paths are resolved like the kernel does: absolute or relative to the
 * session's cwd, "." and "..", symbolic links followed (at most 8) except
 * where the call says not to (lstat, unlink, readlink). Errors are
 * negative errno values (-ENOENT, -ENOTDIR, -EISDIR, -EEXIST, -ENOSPC,
 * -ENOTEMPTY, -EACCES, -ELOOP, -ENAMETOOLONG, -EINVAL) so that the applets
 * print what BusyBox prints for them (strerror's words).
 *
 * Writes under a mount point that the persona's proc/mounts lists with
 * the "ro" option (the squashfs root of most devices) fail with -EROFS
 * ("Read-only file system"), as they do on the device.
 */
#ifndef TRAP_FS_H
#define TRAP_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define TRAP_FS_PATH_MAX 1024

enum trap_fs_type { TRAP_FS_REG = 1, TRAP_FS_DIR, TRAP_FS_LNK, TRAP_FS_CHR };

enum trap_fs_gen {
	TRAP_FS_GEN_NONE = 0,
	TRAP_FS_GEN_ELF,      /* the persona's busybox binary */
	TRAP_FS_GEN_UPTIME,   /* /proc/uptime: seconds since the persona's boot */
	TRAP_FS_GEN_LOADAVG,  /* /proc/loadavg */
};

struct trap_fs_stat {
	enum trap_fs_type type;
	mode_t mode;           /* permission bits (07777) */
	uid_t uid;
	gid_t gid;
	uint64_t size;
	time_t mtime;
	uint64_t ino;          /* stable per path for the base, fresh for overlay entries */
	uint32_t nlink;
	int overlay;           /* 1: the entry is the session's own (created or changed) */
};

/* What the base needs to know about the persona's CPU to make its ELF. */
struct trap_fs_elf {
	uint8_t cls;           /* ELFCLASS32 / ELFCLASS64 */
	uint8_t data;          /* ELFDATA2LSB / ELFDATA2MSB */
	uint16_t machine;      /* EM_ARM, EM_MIPS, EM_386, EM_X86_64 ... */
	uint32_t flags;        /* e_flags (EABI5 soft-float for ARM, ...) */
	uint64_t size;         /* the binary's size in bytes */
};

struct trap_fs_base;
struct trap_fs;

/*
 * Loads root (a directory) into a base. Owners and modes come from the
 * stored files unless root/../fs.meta lists "PATH MODE UID GID" lines
 * (octal mode) that override them (git keeps neither owners nor most
 * modes). A MODE with file type bits (020666: a character device,
 * 040755: a directory) makes the entry when root/ lacks it, so that git
 * need not keep empty directories or device nodes; a line "@mtime EPOCH"
 * gives the time of the stored files (the firmware's build), while the
 * entries under mounts of a volatile kind (tmpfs, proc, sysfs, jffs2 ...)
 * get boot_time. busybox_path ("/bin/busybox") is made TRAP_FS_GEN_ELF with elf;
 * applets (NUL-separated names, napplets of them) become symbolic links to
 * it in bin/, sbin/, usr/bin/ or usr/sbin/ as applet_dirs says (one
 * "name dir" pair per line; an applet not listed goes to bin/). boot_time
 * is the persona's boot (for /proc/uptime and mtimes of /proc). Returns 0
 * or a negative errno (with err naming the path), -ENOMEM.
 */
int trap_fs_base_load(const char *root, const char *busybox_path, const struct trap_fs_elf *elf,
		      const char *applets, size_t napplets, const char *applet_dirs,
		      time_t boot_time, struct trap_fs_base **out, char *err, size_t errlen);
void trap_fs_base_free(struct trap_fs_base *b);
/* Bytes the base holds (for the bench's figures). */
size_t trap_fs_base_bytes(const struct trap_fs_base *b);

/* A session's view; allocation is small (the overlay is made on first write). */
int trap_fs_new(const struct trap_fs_base *b, size_t max_bytes, struct trap_fs **out);
void trap_fs_free(struct trap_fs *fs);
/* Bytes the overlay holds now (names, contents, bookkeeping). */
size_t trap_fs_bytes(const struct trap_fs *fs);

/* Makes path absolute and canonical against cwd without following links
 * ("a/../b" -> "/cwd/b"); out holds TRAP_FS_PATH_MAX. 0 or -ENAMETOOLONG. */
int trap_fs_abspath(const char *cwd, const char *path, char *out);

int trap_fs_stat(struct trap_fs *fs, const char *cwd, const char *path, struct trap_fs_stat *st);
int trap_fs_lstat(struct trap_fs *fs, const char *cwd, const char *path, struct trap_fs_stat *st);
int trap_fs_readlink(struct trap_fs *fs, const char *cwd, const char *path, char *out, size_t cap);
/* The canonical absolute path with every link followed (for cd, pwd). */
int trap_fs_realpath(struct trap_fs *fs, const char *cwd, const char *path, char *out);

/*
 * Reads up to cap bytes at offset off of a regular file (links followed).
 * Returns the bytes read (0 at the end) or a negative errno. Generated
 * files are made for the moment of the call.
 */
ssize_t trap_fs_read(struct trap_fs *fs, const char *cwd, const char *path, uint64_t off,
		     void *buf, size_t cap);

/*
 * Opens a regular file for writing the way a redirection or an applet
 * does: creates it (mode & ~umask 022 when new), truncates it unless
 * append, follows links. Then trap_fs_write appends. Both return 0 or a
 * negative errno. *id names the file for later writes and for capture
 * (it stays valid until the entry is removed).
 */
int trap_fs_open_write(struct trap_fs *fs, const char *cwd, const char *path, int append,
		       mode_t mode, uint64_t *id);
int trap_fs_write(struct trap_fs *fs, uint64_t id, const void *buf, size_t len);

int trap_fs_mkdir(struct trap_fs *fs, const char *cwd, const char *path, mode_t mode);
int trap_fs_unlink(struct trap_fs *fs, const char *cwd, const char *path);  /* not a dir */
int trap_fs_rmdir(struct trap_fs *fs, const char *cwd, const char *path);   /* empty dir */
int trap_fs_rename(struct trap_fs *fs, const char *cwd, const char *from, const char *to);
int trap_fs_symlink(struct trap_fs *fs, const char *cwd, const char *target, const char *path);
int trap_fs_chmod(struct trap_fs *fs, const char *cwd, const char *path, mode_t mode);
/* Copies a regular file's bytes (cp): to is created or truncated. */
int trap_fs_copy(struct trap_fs *fs, const char *cwd, const char *from, const char *to);

/*
 * Lists a directory (links followed): calls fn for each entry with its
 * name and lstat, sorted by name as ls sorts in the C locale, "." and ".."
 * not included. Returns 0, a negative errno, or fn's non-zero return.
 */
int trap_fs_list(struct trap_fs *fs, const char *cwd, const char *path,
		 int (*fn)(void *arg, const char *name, const struct trap_fs_stat *st), void *arg);

/*
 * The session's files created or written since the last call (or since
 * the view was made): fn gets each one's absolute path, id and bytes
 * (the whole content, contiguous). For capture at the end of each command
 * line and when the session closes. Removed files are not listed.
 */
int trap_fs_changed(struct trap_fs *fs,
		    int (*fn)(void *arg, const char *path, uint64_t id, const uint8_t *data,
			      size_t len),
		    void *arg);

/* The bytes of a file the session wrote (links followed), contiguous, or
 * NULL when path is not one of the session's own regular files; for
 * running ./file (its ELF header decides what the shell answers). */
const uint8_t *trap_fs_own(struct trap_fs *fs, const char *cwd, const char *path, size_t *len);

/* Fills an ELF header and program header for elf into out (at most 128
 * bytes); returns the length. Used by the base and by the tests. */
size_t trap_fs_elf_header(const struct trap_fs_elf *elf, uint8_t *out);

/* The bytes of the generated binary for elf at offset off: the header,
 * then a deterministic body (the same bytes at every read). */
void trap_fs_elf_read(const struct trap_fs_elf *elf, uint64_t off, uint8_t *buf, size_t len);

/*
 * Rewrites the stored regular files of a base before it is shared (the
 * persona fills its per-instance placeholders): fn gets each file's
 * absolute path and bytes and returns 0 to keep them, 1 with *out (malloc'd,
 * taken over) and *outlen to replace them, or a negative MM_ error that
 * stops the walk and is returned. The base stays within its bound
 * (MM_ETOOBIG past it).
 */
int trap_fs_base_rewrite(struct trap_fs_base *b,
			 int (*fn)(void *arg, const char *path, const uint8_t *data, size_t len,
				   uint8_t **out, size_t *outlen),
			 void *arg);

#endif
