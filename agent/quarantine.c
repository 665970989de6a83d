/*
 * The quarantine: copies of what was stopped, for the analyst, kept under
 * their SHA-256 so that the same program stopped a thousand times is one
 * file. Each copy is written under a temporary name, synced and renamed, so
 * that a name in the folder always means the whole file; a crash leaves at
 * most a ".tmp." file, removed at the next open. Copies are read-only
 * (0400): nothing should run them or change them.
 *
 * The folder is bounded by max bytes. The total is recovered from the folder
 * at open and kept up to date; to make room, the copies seen longest ago
 * (oldest mtime: a copy stored again gets its mtime renewed) are deleted.
 * A file larger than max is refused, not stored partly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mamori/error.h"
#include "mamori/hash.h"
#include "mamori/log.h"

#include "report.h"

#define TMP_PREFIX ".tmp."
#define COPY_BUF (64 * 1024)
#define LIST_MAX (1u << 20) /* copies looked at when making room */

struct quarantine {
	char *dir;
	int dfd;
	uint64_t max;
	uint64_t total;
	struct quarantine_stats st;
};

struct entry {
	char name[MM_SHA256_HEX + 1];
	struct timespec mtime;
	uint64_t size;
};

/* 1 when name is a copy's name: 64 lower-case hex digits. */
static int copy_name(const char *name)
{
	size_t i;

	for (i = 0; i < MM_SHA256_HEX; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return name[MM_SHA256_HEX] == '\0';
}

/*
 * Lists the copies in the folder into *out (malloc'd, *n of them); with
 * clean, removes temporary files left by a crash. 0, MM_EIO, MM_ENOMEM.
 */
static int list_copies(struct quarantine *q, int clean, struct entry **out, size_t *n)
{
	struct entry *v = NULL, *nv;
	size_t cap = 0, cnt = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	*out = NULL;
	*n = 0;
	if ((fd = dup(q->dfd)) < 0)
		return MM_EIO;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return MM_EIO;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (clean && strncmp(de->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1) == 0) {
			if (unlinkat(q->dfd, de->d_name, 0) < 0)
				log_warn("quarantine %s: %s", q->dir, de->d_name);
			continue;
		}
		if (!copy_name(de->d_name) || cnt == LIST_MAX)
			continue;
		if (fstatat(q->dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if (!(nv = realloc(v, cap * sizeof *v))) {
				free(v);
				closedir(d);
				return MM_ENOMEM;
			}
			v = nv;
		}
		memcpy(v[cnt].name, de->d_name, MM_SHA256_HEX + 1);
		v[cnt].mtime = st.st_mtim;
		v[cnt].size = (uint64_t)st.st_size;
		cnt++;
	}
	closedir(d);
	*out = v;
	*n = cnt;
	return 0;
}

/*
 * Opens the quarantine in dir (created, mode 0700, when missing; not its
 * parents), bounded by max bytes (at least 1). Temporary files of an
 * interrupted copy are removed and the size of the copies already there is
 * counted; when they exceed max, the oldest are deleted at the next put.
 * Returns 0 with *out set, MM_EINVAL, MM_EIO (logged), MM_ENOMEM.
 */
int quarantine_open(const char *dir, uint64_t max, struct quarantine **out)
{
	struct quarantine *q;
	struct entry *v;
	size_t n, i;
	int rc;

	*out = NULL;
	if (!dir || !*dir || max == 0)
		return MM_EINVAL;
	if (!(q = calloc(1, sizeof *q)))
		return MM_ENOMEM;
	q->dfd = -1;
	q->max = max;
	if (!(q->dir = strdup(dir))) {
		rc = MM_ENOMEM;
		goto fail;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_warn("quarantine %s", dir);
		rc = MM_EIO;
		goto fail;
	}
	if ((q->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_warn("quarantine %s", dir);
		rc = MM_EIO;
		goto fail;
	}
	if ((rc = list_copies(q, 1, &v, &n)) < 0) {
		log_warn("quarantine %s", dir);
		goto fail;
	}
	for (i = 0; i < n; i++)
		q->total += v[i].size;
	q->st.files = n;
	free(v);
	*out = q;
	return 0;
fail:
	quarantine_close(q);
	return rc;
}

void quarantine_close(struct quarantine *q)
{
	if (!q)
		return;
	if (q->dfd >= 0)
		close(q->dfd);
	free(q->dir);
	free(q);
}

const char *quarantine_dir(const struct quarantine *q)
{
	return q->dir;
}

void quarantine_stats(const struct quarantine *q, struct quarantine_stats *st)
{
	*st = q->st;
	st->bytes = q->total;
}

static int older(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Deletes the oldest copies until need more bytes fit under max. */
static int make_room(struct quarantine *q, uint64_t need)
{
	struct entry *v;
	size_t n, i;
	int rc;

	if (q->total + need <= q->max)
		return 0;
	if ((rc = list_copies(q, 0, &v, &n)) < 0)
		return rc;
	/* The folder is the truth: a copy deleted by hand no longer counts. */
	q->total = 0;
	for (i = 0; i < n; i++)
		q->total += v[i].size;
	q->st.files = n;
	qsort(v, n, sizeof *v, older);
	for (i = 0; i < n && q->total + need > q->max; i++) {
		if (unlinkat(q->dfd, v[i].name, 0) < 0 && errno != ENOENT) {
			log_warn("quarantine %s: %s", q->dir, v[i].name);
			continue;
		}
		q->total -= v[i].size;
		q->st.files--;
		q->st.evicted++;
	}
	free(v);
	return q->total + need <= q->max ? 0 : MM_EIO;
}

/* Copies size bytes of fd to out, hashing them into md. 0 or MM_EIO. */
static int copy_bytes(int fd, int out, uint64_t size, uint8_t md[MM_SHA256_LEN])
{
	EVP_MD_CTX *ctx;
	uint8_t *buf;
	uint64_t off = 0;
	int rc = MM_EIO;

	if (!(buf = malloc(COPY_BUF)))
		return MM_ENOMEM;
	if (!(ctx = EVP_MD_CTX_new()) || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while (off < size) {
		size_t want = size - off < COPY_BUF ? (size_t)(size - off) : COPY_BUF;
		ssize_t r = pread(fd, buf, want, (off_t)off);
		size_t w = 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out; /* an error, or the file shrank under us */
		EVP_DigestUpdate(ctx, buf, (size_t)r);
		while (w < (size_t)r) {
			ssize_t k = write(out, buf + w, (size_t)r - w);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				goto out;
			w += (size_t)k;
		}
		off += (uint64_t)r;
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

/*
 * Copies fd's bytes (from offset 0; the fd's offset is not moved) to
 * DIR/<sha256 hex>, deleting the oldest copies first when they would not
 * fit. A copy already there is not written again: its mtime is renewed, so
 * that what keeps coming back is kept longest. The bytes are hashed while
 * they are copied; when they do not give sha256 (the file changed since it
 * was hashed) nothing is stored and MM_EINVALID is returned.
 * Returns 0, MM_ETOOBIG (larger than max), MM_EINVALID, MM_EIO (logged),
 * MM_ENOMEM.
 */
int quarantine_put(struct quarantine *q, int fd, const uint8_t sha256[MM_SHA256_LEN])
{
	char name[MM_SHA256_HEX + 1], tmp[sizeof TMP_PREFIX + MM_SHA256_HEX];
	uint8_t md[MM_SHA256_LEN];
	struct stat st;
	uint64_t size;
	int out = -1, rc;

	mm_hex(sha256, MM_SHA256_LEN, name);
	if (fstatat(q->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
		if (utimensat(q->dfd, name, NULL, AT_SYMLINK_NOFOLLOW) < 0)
			log_warn("quarantine %s: %s", q->dir, name);
		return 0;
	}
	if (fstat(fd, &st) < 0 || st.st_size < 0)
		return MM_EIO;
	size = (uint64_t)st.st_size;
	if (size > q->max)
		return MM_ETOOBIG;
	if ((rc = make_room(q, size)) < 0)
		return rc;
	snprintf(tmp, sizeof tmp, "%s%s", TMP_PREFIX, name);
	unlinkat(q->dfd, tmp, 0);
	if ((out = openat(q->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			  0400)) < 0) {
		log_warn("quarantine %s: %s", q->dir, tmp);
		return MM_EIO;
	}
	if ((rc = copy_bytes(fd, out, size, md)) < 0) {
		log_warn("quarantine %s: copy of %s", q->dir, name);
		goto fail;
	}
	if (memcmp(md, sha256, MM_SHA256_LEN) != 0) {
		rc = MM_EINVALID;
		goto fail;
	}
	if (fsync(out) < 0 || renameat(q->dfd, tmp, q->dfd, name) < 0) {
		log_warn("quarantine %s: %s", q->dir, name);
		rc = MM_EIO;
		goto fail;
	}
	close(out);
	/* The name must survive a power loss as well as the bytes. */
	if (fsync(q->dfd) < 0)
		log_warn("quarantine %s: fsync", q->dir);
	q->total += size;
	q->st.files++;
	q->st.stored++;
	return 0;
fail:
	close(out);
	unlinkat(q->dfd, tmp, 0);
	return rc;
}
