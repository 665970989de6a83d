/*
 * The spool: a directory of append-only segment files holding records in
 * seq order, an "ack" file saying where the unacknowledged records begin,
 * and a lock file. See include/mamori/spool.h for the contract and
 * docs/formats/spool.md for the bytes on disk.
 *
 * In memory the spool is the list of its segments, oldest first, each with
 * the seq of its first record, how many records it holds and its size. Only
 * the newest segment is ever written and only the oldest is ever deleted,
 * so the list is a deque kept in one array (segs[head..n)). Records are not
 * indexed: the reader walks a segment through one read buffer, and a rewind
 * starts again from the position of the last acknowledgement it remembers.
 *
 * Invariants kept by every function below:
 *   - acked <= rseq <= next_seq: nothing is acknowledged that was not handed
 *     out, and the read cursor never runs past the last record;
 *   - head <= rseg <= n; rseg == n means "no segment yet", and the next
 *     segment pushed starts exactly where the cursor waits;
 *   - st.records is the number of records in segs with seq >= acked, and
 *     st.bytes the sum of their sizes;
 *   - the write fd (wfd) is open only on the newest segment.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <zlib.h>

#include "mamori/clock.h"
#include "mamori/error.h"
#include "mamori/path.h"
#include "mamori/log.h"
#include "mamori/spool.h"

#define SEG_MAGIC "MMSPOOL1"
#define ACK_MAGIC "MMSPACK1"
#define MAGIC_LEN 8
#define SEG_HDR 16u  /* magic, seq of the first record */
#define REC_HDR 8u   /* length, CRC-32 */
#define ACK_SIZE 20u /* magic, first unacknowledged seq, CRC-32 */
#define SEG_DIGITS 16
#define SEG_NAME_MAX 32 /* "0123456789abcdef.seg.bad" and its NUL */

#define RECORD_LIMIT (1u << 30)        /* largest max_record accepted */
#define SYNC_MS_LIMIT 3600000u         /* as mm_spool_sync_parse() allows */
#define NUM_LIMIT (UINT64_C(1) << 62)  /* seqs and segment numbers stay below */
#define READ_BUF (256u * 1024)         /* the read buffer, unless a record needs more */
#define NAMES_LOGGED 10                /* stray files named in the log at open */

struct seg {
	uint64_t num;   /* file number: the name is it in 16 hex digits + ".seg" */
	uint64_t first; /* seq of the first record */
	uint64_t count; /* records that can be read */
	uint64_t size;  /* bytes of the header and those records */
	int dirty;      /* written since its last fdatasync */
};

struct mm_spool {
	struct mm_spool_opts o;
	char *dir; /* for the log */
	int dfd, lockfd;

	struct seg *segs; /* segs[head..n): oldest first */
	size_t head, n, cap;
	size_t ndirty;   /* segments with dirty set */
	int wfd;         /* the newest segment, while it is being written; else -1 */
	uint64_t next_num;

	uint64_t next_seq;
	uint64_t acked;    /* every record below is acknowledged or gone */
	uint64_t ack_disk; /* what the ack file says; 0: no valid file */
	int ack_durable;   /* the ack file was synced when last written */
	int dir_dirty;     /* names created or deleted without fsync of the directory */
	uint64_t last_sync_ms, last_ack_ms;

	/* The read cursor: the record with seq rseq at offset roff of segs[rseg]. */
	size_t rseg;
	uint64_t roff, rseq;
	int rfd; /* open on segment number rfd_num, or -1 */
	uint64_t rfd_num;

	/* Where the last acknowledgement ended, for mm_spool_rewind(). */
	int hint;
	size_t hseg;
	uint64_t hoff, hseq;

	/* The read buffer: blen bytes of segment bnum from offset boff. */
	uint8_t *buf;
	size_t bcap, blen;
	uint64_t bnum, boff;
	int bvalid;

	struct mm_spool_stats st;
};

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* The CRC-32 of a record: its 4 length bytes, then its payload. */
static uint32_t rec_crc(const uint8_t *lenbytes, const void *payload, uint32_t len)
{
	uLong c = crc32(0L, lenbytes, 4);

	return (uint32_t)crc32(c, payload, len);
}

static uint64_t seg_end(const struct seg *s)
{
	return s->first + s->count;
}

/* How many records of s are not acknowledged. */
static uint64_t unacked_in(const struct mm_spool *sp, const struct seg *s)
{
	uint64_t from = s->first > sp->acked ? s->first : sp->acked;

	return seg_end(s) > from ? seg_end(s) - from : 0;
}

static void seg_name(char *out, uint64_t num)
{
	snprintf(out, SEG_NAME_MAX, "%016" PRIx64 ".seg", num);
}

/* Returns 1 when name is exactly 16 lower-case hex digits and suffix. Upper
 * case is refused so that one number has one name. */
static int parse_seg_name(const char *name, const char *suffix, uint64_t *num)
{
	uint64_t v = 0;

	for (int i = 0; i < SEG_DIGITS; i++) {
		char c = name[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return 0;
	}
	if (strcmp(name + SEG_DIGITS, suffix) != 0)
		return 0;
	*num = v;
	return 1;
}

static int sync_ms_ok(enum mm_spool_sync sync, unsigned ms)
{
	switch (sync) {
	case MM_SPOOL_SYNC_INTERVAL:
		return ms >= 1 && ms <= SYNC_MS_LIMIT;
	case MM_SPOOL_SYNC_ALWAYS:
	case MM_SPOOL_SYNC_NEVER:
		return ms <= SYNC_MS_LIMIT;
	}
	return 0;
}

void mm_spool_opts_default(struct mm_spool_opts *o)
{
	memset(o, 0, sizeof *o);
	o->max_bytes = UINT64_C(64) << 20;
	o->segment_bytes = UINT64_C(4) << 20;
	o->max_record = 1u << 20;
	o->sync = MM_SPOOL_SYNC_INTERVAL;
	o->sync_ms = 100;
	o->drop_oldest = 0;
}

int mm_spool_sync_parse(const char *s, struct mm_spool_opts *o)
{
	static const char iv[] = "interval=";
	unsigned long ms = 0;
	const char *p;

	if (s == NULL || o == NULL)
		return MM_EINVAL;
	if (strcmp(s, "always") == 0) {
		o->sync = MM_SPOOL_SYNC_ALWAYS;
		return 0;
	}
	if (strcmp(s, "never") == 0) {
		o->sync = MM_SPOOL_SYNC_NEVER;
		return 0;
	}
	if (strncmp(s, iv, sizeof iv - 1) != 0)
		return MM_EINVAL;
	p = s + sizeof iv - 1;
	if (*p == '\0')
		return MM_EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return MM_EINVAL;
		ms = ms * 10 + (unsigned long)(*p - '0');
		if (ms > SYNC_MS_LIMIT)
			return MM_EINVAL;
	}
	if (ms == 0)
		return MM_EINVAL;
	o->sync = MM_SPOOL_SYNC_INTERVAL;
	o->sync_ms = (unsigned)ms;
	return 0;
}

static int opts_ok(const struct mm_spool_opts *o)
{
	if (o->max_record == 0 || o->max_record > RECORD_LIMIT || o->segment_bytes == 0)
		return 0;
	/* A record of max_record must fit in an otherwise empty spool. */
	if (o->max_bytes < (uint64_t)SEG_HDR + REC_HDR + o->max_record)
		return 0;
	return sync_ms_ok(o->sync, o->sync_ms);
}

/* --- Files ------------------------------------------------------------ */

static ssize_t pread_full(int fd, uint8_t *p, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int pwritev_full(int fd, struct iovec *iov, int cnt, uint64_t off)
{
	while (cnt > 0) {
		ssize_t w = pwritev(fd, iov, cnt, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		off += (uint64_t)w;
		while (cnt > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int dir_sync(struct mm_spool *sp, int durable)
{
	if (!durable) {
		sp->dir_dirty = 1;
		return 0;
	}
	if (fsync(sp->dfd) < 0) {
		log_warn("spool: %s: fsync", sp->dir);
		return MM_EIO;
	}
	sp->dir_dirty = 0;
	return 0;
}

static int policy_durable(const struct mm_spool *sp)
{
	return sp->o.sync != MM_SPOOL_SYNC_NEVER;
}

/*
 * Writes the ack file through ack.tmp and rename(2), so that a reader sees
 * either the old or the new file. durable: fdatasync the file and fsync the
 * directory. Does nothing when the file already says the same.
 */
static int write_ack(struct mm_spool *sp, int durable)
{
	uint8_t b[ACK_SIZE];
	struct iovec iov = { b, sizeof b };
	int fd;

	if (sp->ack_disk == sp->acked && (sp->ack_durable || !durable))
		return 0;
	memcpy(b, ACK_MAGIC, MAGIC_LEN);
	put_le64(b + 8, sp->acked);
	put_le32(b + 16, (uint32_t)crc32(0L, b, 16));
	fd = openat(sp->dfd, "ack.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0600);
	if (fd < 0) {
		log_warn("spool: %s/ack.tmp: open", sp->dir);
		return MM_EIO;
	}
	if (pwritev_full(fd, &iov, 1, 0) < 0 || (durable && fdatasync(fd) < 0)) {
		log_warn("spool: %s/ack.tmp: write", sp->dir);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		log_warn("spool: %s/ack.tmp: close", sp->dir);
		goto fail;
	}
	fd = -1;
	if (renameat(sp->dfd, "ack.tmp", sp->dfd, "ack") < 0) {
		log_warn("spool: %s/ack: rename", sp->dir);
		goto fail;
	}
	sp->ack_disk = sp->acked;
	sp->ack_durable = durable;
	sp->last_ack_ms = mm_clock_ms();
	return dir_sync(sp, durable);
fail:
	if (fd >= 0)
		close(fd);
	return MM_EIO;
}

/* Reads the ack file: the first unacknowledged seq, or 0 when there is no
 * usable file (which means nothing is acknowledged). */
static uint64_t read_ack(struct mm_spool *sp)
{
	uint8_t b[ACK_SIZE + 1];
	ssize_t got;
	uint64_t v;
	int fd;

	fd = openat(sp->dfd, "ack", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("spool: %s/ack: open; taken as nothing acknowledged", sp->dir);
		return 0;
	}
	got = pread_full(fd, b, sizeof b, 0);
	close(fd);
	if (got != (ssize_t)ACK_SIZE || memcmp(b, ACK_MAGIC, MAGIC_LEN) != 0 ||
	    get_le32(b + 16) != (uint32_t)crc32(0L, b, 16) || (v = get_le64(b + 8)) == 0 ||
	    v > NUM_LIMIT) {
		log_warnx("spool: %s/ack: corrupt; taken as nothing acknowledged", sp->dir);
		return 0;
	}
	return v;
}

/* --- The segment list ------------------------------------------------- */

/* Makes room for one more segment at the end. */
static int segs_reserve(struct mm_spool *sp)
{
	struct seg *p;
	size_t cap;

	if (sp->n < sp->cap)
		return 0;
	if (sp->head > 0) {
		memmove(sp->segs, sp->segs + sp->head, (sp->n - sp->head) * sizeof *sp->segs);
		sp->n -= sp->head;
		sp->rseg -= sp->head;
		if (sp->hint)
			sp->hseg -= sp->head;
		sp->head = 0;
		return 0;
	}
	cap = sp->cap ? sp->cap * 2 : 16;
	if ((p = realloc(sp->segs, cap * sizeof *p)) == NULL)
		return MM_ENOMEM;
	sp->segs = p;
	sp->cap = cap;
	return 0;
}

static void close_rfd(struct mm_spool *sp)
{
	if (sp->rfd >= 0)
		close(sp->rfd);
	sp->rfd = -1;
}

static void mark_dirty(struct mm_spool *sp, struct seg *s)
{
	if (!s->dirty) {
		s->dirty = 1;
		sp->ndirty++;
	}
}

/* fdatasyncs one segment, through the write fd or a new one. */
static int sync_seg(struct mm_spool *sp, struct seg *s, int is_write)
{
	char name[SEG_NAME_MAX];
	int fd = sp->wfd, rc = 0;

	seg_name(name, s->num);
	if (!is_write && (fd = openat(sp->dfd, name, O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("spool: %s/%s: open", sp->dir, name);
		return MM_EIO;
	}
	if (fdatasync(fd) < 0) {
		log_warn("spool: %s/%s: fdatasync", sp->dir, name);
		rc = MM_EIO;
	} else {
		sp->st.syncs++;
		s->dirty = 0;
		sp->ndirty--;
	}
	if (!is_write)
		close(fd);
	return rc;
}

/* fdatasyncs every segment written since its last sync; newest first,
 * since those are the ones that can be dirty. */
static int sync_dirty(struct mm_spool *sp)
{
	int rc;

	for (size_t i = sp->n; i > sp->head && sp->ndirty > 0; i--) {
		struct seg *s = &sp->segs[i - 1];

		if (s->dirty && (rc = sync_seg(sp, s, sp->wfd >= 0 && i == sp->n)) < 0)
			return rc;
	}
	sp->last_sync_ms = mm_clock_ms();
	return 0;
}

/* Stops writing the newest segment; the next append starts a new one. */
static void retire_write(struct mm_spool *sp)
{
	if (sp->wfd >= 0)
		close(sp->wfd);
	sp->wfd = -1;
}

/*
 * Deletes the oldest segment. Records in it that were not acknowledged are
 * counted as dropped, and acked moves past it. When it is the last segment,
 * the ack file is written first: with no segment left, only that file
 * keeps the seq from starting again at 1 after a restart. The caller syncs
 * the directory.
 */
static int delete_front(struct mm_spool *sp)
{
	struct seg *s = &sp->segs[sp->head];
	uint64_t end = seg_end(s), lost = unacked_in(sp, s);
	char name[SEG_NAME_MAX];
	int rc;

	if (lost > 0) {
		log_warnx("spool: %s: full, dropped records %" PRIu64 "..%" PRIu64, sp->dir,
			  end - lost, end - 1);
		sp->st.dropped += lost;
		sp->st.records -= lost;
	}
	if (sp->acked < end)
		sp->acked = end;
	if (sp->n - sp->head == 1 && (rc = write_ack(sp, policy_durable(sp))) < 0)
		return rc;
	if (sp->head == sp->n - 1)
		retire_write(sp);
	if (sp->rfd >= 0 && sp->rfd_num == s->num)
		close_rfd(sp);
	if (sp->bvalid && sp->bnum == s->num)
		sp->bvalid = 0;
	seg_name(name, s->num);
	if (unlinkat(sp->dfd, name, 0) < 0 && errno != ENOENT) {
		/* It stays on the list, fully acknowledged, to be tried again. */
		log_warn("spool: %s/%s: unlink", sp->dir, name);
		return MM_EIO;
	}
	if (s->dirty)
		sp->ndirty--;
	sp->st.bytes -= s->size;
	sp->st.segments--;
	if (sp->hint && sp->hseg == sp->head)
		sp->hint = 0;
	sp->head++;
	if (sp->rseg < sp->head) {
		sp->rseg = sp->head;
		sp->roff = SEG_HDR;
		sp->rseq = sp->head < sp->n ? sp->segs[sp->head].first : sp->next_seq;
	}
	if (sp->head == sp->n)
		sp->head = sp->n = sp->rseg = 0;
	return 0;
}

/*
 * Deletes the segments that are fully acknowledged, oldest first. The one
 * being written goes too once it holds at least half of segment_bytes, so
 * that an idle spool does not keep a large acknowledged file around; a
 * smaller one is kept and written on.
 */
static int free_acked(struct mm_spool *sp)
{
	int rc = 0, deleted = 0;

	while (sp->head < sp->n) {
		struct seg *s = &sp->segs[sp->head];

		if (seg_end(s) > sp->acked)
			break;
		if (sp->wfd >= 0 && sp->head == sp->n - 1 && s->size * 2 < sp->o.segment_bytes)
			break;
		if ((rc = delete_front(sp)) < 0)
			break;
		deleted = 1;
	}
	if (deleted) {
		int rc2 = dir_sync(sp, policy_durable(sp));

		if (rc == 0)
			rc = rc2;
	}
	return rc;
}

/* --- Reading ---------------------------------------------------------- */

/*
 * Makes the n bytes at offset pos of segment num (open as fd, size bytes
 * long, pos + n <= size) readable at *p. The buffer is refilled from pos
 * with as much of the segment as fits, so that most calls cost nothing.
 * Returns MM_EPARSE when the file is shorter than size.
 */
static int fill(struct mm_spool *sp, int fd, uint64_t num, uint64_t size, uint64_t pos, size_t n,
		const uint8_t **p)
{
	size_t want;
	ssize_t got;

	if (sp->bvalid && sp->bnum == num && pos >= sp->boff && pos - sp->boff <= sp->blen &&
	    n <= sp->blen - (size_t)(pos - sp->boff)) {
		*p = sp->buf + (pos - sp->boff);
		return 0;
	}
	sp->bvalid = 0;
	if (n > sp->bcap) {
		uint8_t *nb = malloc(n);

		if (nb == NULL)
			return MM_ENOMEM;
		free(sp->buf);
		sp->buf = nb;
		sp->bcap = n;
	}
	want = size - pos < sp->bcap ? (size_t)(size - pos) : sp->bcap;
	if ((got = pread_full(fd, sp->buf, want, pos)) < 0) {
		log_warn("spool: %s/%016" PRIx64 ".seg: read", sp->dir, num);
		return MM_EIO;
	}
	sp->bvalid = 1;
	sp->bnum = num;
	sp->boff = pos;
	sp->blen = (size_t)got;
	if ((size_t)got < n)
		return MM_EPARSE;
	*p = sp->buf;
	return 0;
}

/*
 * Reads the record at offset pos of a segment of size bytes. Returns 0 with
 * its payload and length; MM_EPARSE when its length is 0, above max_record
 * or past the end, or its CRC is wrong; MM_EIO, MM_ENOMEM.
 */
static int rec_at(struct mm_spool *sp, int fd, uint64_t num, uint64_t size, uint64_t pos,
		  const uint8_t **payload, uint32_t *len)
{
	const uint8_t *p;
	uint32_t l;
	int rc;

	if (pos > size || size - pos < REC_HDR)
		return MM_EPARSE;
	if ((rc = fill(sp, fd, num, size, pos, REC_HDR, &p)) < 0)
		return rc;
	l = get_le32(p);
	if (l == 0 || l > sp->o.max_record || l > size - pos - REC_HDR)
		return MM_EPARSE;
	if ((rc = fill(sp, fd, num, size, pos, REC_HDR + (size_t)l, &p)) < 0)
		return rc;
	if (rec_crc(p, p + REC_HDR, l) != get_le32(p + 4))
		return MM_EPARSE;
	*payload = p + REC_HDR;
	*len = l;
	return 0;
}

/*
 * A record found corrupt after open ends its segment: the rest of it is
 * dropped, and if it is the segment being written, writing moves to a new
 * one so that the seqs in this file stay what its header says.
 */
static void cut_at_cursor(struct mm_spool *sp, struct seg *s)
{
	uint64_t end = seg_end(s), from = sp->rseq > sp->acked ? sp->rseq : sp->acked;

	log_warnx("spool: %s/%016" PRIx64 ".seg: record %" PRIu64 " at offset %" PRIu64
		  " is corrupt; records %" PRIu64 "..%" PRIu64 " (the rest of the segment) dropped",
		  sp->dir, s->num, sp->rseq, sp->roff, sp->rseq, end - 1);
	if (end > from) {
		sp->st.dropped += end - from;
		sp->st.records -= end - from;
	}
	s->count = sp->rseq - s->first;
	if (sp->rseg == sp->n - 1)
		retire_write(sp);
}

int mm_spool_read(struct mm_spool *sp, struct mm_spool_rec *r)
{
	char name[SEG_NAME_MAX];
	const uint8_t *payload;
	uint32_t len;
	int rc;

	for (;;) {
		struct seg *s;

		if (sp->rseg >= sp->n)
			return MM_ENOTFOUND;
		s = &sp->segs[sp->rseg];
		if (sp->rseq >= seg_end(s)) {
			if (sp->rseg + 1 >= sp->n)
				return MM_ENOTFOUND;
			sp->rseg++;
			sp->roff = SEG_HDR;
			sp->rseq = sp->segs[sp->rseg].first;
			continue;
		}
		if (sp->rfd < 0 || sp->rfd_num != s->num) {
			close_rfd(sp);
			seg_name(name, s->num);
			if ((sp->rfd = openat(sp->dfd, name, O_RDONLY | O_CLOEXEC)) < 0) {
				log_warn("spool: %s/%s: open", sp->dir, name);
				return MM_EIO;
			}
			sp->rfd_num = s->num;
		}
		rc = rec_at(sp, sp->rfd, s->num, s->size, sp->roff, &payload, &len);
		if (rc == MM_EPARSE) {
			cut_at_cursor(sp, s);
			continue;
		}
		if (rc < 0)
			return rc;
		sp->roff += REC_HDR + len;
		sp->rseq++;
		if (sp->rseq - 1 < sp->acked)
			continue; /* after a rewind: acknowledged, not handed out again */
		r->seq = sp->rseq - 1;
		r->data = payload;
		r->len = len;
		return 0;
	}
}

void mm_spool_rewind(struct mm_spool *sp)
{
	if (sp->hint && sp->hseg >= sp->head && sp->hseg < sp->n && sp->hseq <= sp->acked) {
		sp->rseg = sp->hseg;
		sp->roff = sp->hoff;
		sp->rseq = sp->hseq;
		return;
	}
	sp->rseg = sp->head;
	sp->roff = SEG_HDR;
	sp->rseq = sp->head < sp->n ? sp->segs[sp->head].first : sp->next_seq;
}

/* --- Acknowledging ---------------------------------------------------- */

static int ack_due(const struct mm_spool *sp, uint64_t now)
{
	return sp->ack_disk != sp->acked && now - sp->last_ack_ms >= sp->o.sync_ms;
}

int mm_spool_ack(struct mm_spool *sp, uint64_t upto)
{
	int rc;

	if (upto > sp->rseq)
		upto = sp->rseq;
	if (upto > sp->acked) {
		uint64_t covered = 0;

		/* Count the records that exist in [acked, upto): seqs may have gaps
		 * where recovery or a corrupt record removed some. */
		for (size_t i = sp->head; i < sp->n && sp->segs[i].first < upto; i++) {
			const struct seg *s = &sp->segs[i];
			uint64_t lo = s->first > sp->acked ? s->first : sp->acked;
			uint64_t hi = seg_end(s) < upto ? seg_end(s) : upto;

			if (hi > lo)
				covered += hi - lo;
		}
		sp->st.records -= covered;
		sp->st.acked += covered;
		sp->acked = upto;
		if (upto == sp->rseq && sp->rseg < sp->n) {
			sp->hint = 1;
			sp->hseg = sp->rseg;
			sp->hoff = sp->roff;
			sp->hseq = sp->rseq;
		}
	}
	if ((rc = free_acked(sp)) < 0)
		return rc;
	if (ack_due(sp, mm_clock_ms()))
		return write_ack(sp, policy_durable(sp));
	return 0;
}

uint64_t mm_spool_next_seq(const struct mm_spool *sp)
{
	return sp->next_seq;
}

uint64_t mm_spool_first_unacked(const struct mm_spool *sp)
{
	/* acked may lie in a gap between segments or past a segment being
	 * written; the answer is the first record that exists. */
	for (size_t i = sp->head; i < sp->n; i++) {
		const struct seg *s = &sp->segs[i];

		if (seg_end(s) > sp->acked)
			return s->first > sp->acked ? s->first : sp->acked;
	}
	return sp->next_seq;
}

/* --- Appending -------------------------------------------------------- */

/*
 * Works out how a record of need bytes (header included) fits under
 * max_bytes: whether it starts a new segment (*newseg) and how many of the
 * oldest segments must be deleted first (*ndel). Fully acknowledged
 * segments can go at no loss; with drop, unacknowledged ones too. When only
 * the segment being written is left, writing moves to a new segment so
 * that the old one can go as well. Returns 1 when the record fits that
 * way, 0 when it does not. Changes nothing, so that mm_spool_fits() and
 * mm_spool_append() cannot disagree.
 */
static int plan_room(const struct mm_spool *sp, uint64_t need, int drop, int *newseg,
		     size_t *ndel)
{
	uint64_t bytes = sp->st.bytes;
	size_t i = sp->head;

	*newseg = sp->wfd < 0 || sp->segs[sp->n - 1].size + need > sp->o.segment_bytes;
	*ndel = 0;
	for (;;) {
		const struct seg *old;

		if (bytes + need + (*newseg ? SEG_HDR : 0) <= sp->o.max_bytes)
			return 1;
		if (i == sp->n)
			return 0;
		old = &sp->segs[i];
		if (unacked_in(sp, old) > 0 && !drop)
			return 0;
		if (!*newseg && sp->wfd >= 0 && i == sp->n - 1) {
			*newseg = 1;
			continue;
		}
		bytes -= old->size;
		i++;
		(*ndel)++;
	}
}

int mm_spool_fits(const struct mm_spool *sp, size_t len)
{
	size_t ndel;
	int newseg;

	if (len == 0 || len > sp->o.max_record || sp->next_seq >= NUM_LIMIT)
		return 0;
	return plan_room(sp, REC_HDR + (uint64_t)len, 0, &newseg, &ndel);
}

/* Creates the next segment file and puts it at the end of the list. Its
 * header goes out with its first record. */
static int start_segment(struct mm_spool *sp)
{
	char name[SEG_NAME_MAX];
	struct seg *s;
	int fd, rc;

	retire_write(sp);
	if ((rc = segs_reserve(sp)) < 0)
		return rc;
	if (sp->next_num >= NUM_LIMIT) {
		log_warnx("spool: %s: segment numbers used up", sp->dir);
		return MM_EIO;
	}
	seg_name(name, sp->next_num);
	fd = openat(sp->dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_warn("spool: %s/%s: create", sp->dir, name);
		return MM_EIO;
	}
	s = &sp->segs[sp->n++];
	memset(s, 0, sizeof *s);
	s->num = sp->next_num++;
	s->first = sp->next_seq;
	sp->wfd = fd;
	sp->st.segments++;
	return 0;
}

/* Undoes a write that failed: a new segment is removed, an older one cut
 * back to its last whole record and no longer written. */
static void undo_write(struct mm_spool *sp, struct seg *s)
{
	char name[SEG_NAME_MAX];

	seg_name(name, s->num);
	if (s->size == 0) {
		retire_write(sp);
		if (unlinkat(sp->dfd, name, 0) < 0)
			log_warn("spool: %s/%s: unlink", sp->dir, name);
		sp->n--;
		sp->st.segments--;
		if (sp->head == sp->n)
			sp->head = sp->n = sp->rseg = 0;
		return;
	}
	if (ftruncate(sp->wfd, (off_t)s->size) < 0)
		log_warn("spool: %s/%s: ftruncate", sp->dir, name);
	retire_write(sp);
}

int mm_spool_append(struct mm_spool *sp, const void *data, size_t len)
{
	uint8_t sh[SEG_HDR], rh[REC_HDR];
	struct iovec iov[3];
	uint64_t need, add;
	int cnt = 0, newseg, rc;
	size_t ndel;
	struct seg *s;

	if (len == 0 || len > sp->o.max_record)
		return MM_ETOOBIG;
	if (sp->next_seq >= NUM_LIMIT) {
		sp->st.refused++;
		return MM_EFULL; /* 2^62 seqs used up: not in this universe, but bounded */
	}
	need = REC_HDR + (uint64_t)len;
	if (!plan_room(sp, need, sp->o.drop_oldest, &newseg, &ndel)) {
		sp->st.refused++;
		return MM_EFULL;
	}
	for (size_t i = 0; i < ndel; i++)
		if ((rc = delete_front(sp)) < 0)
			return rc;
	if (ndel > 0 && !newseg && (rc = dir_sync(sp, policy_durable(sp))) < 0)
		return rc;
	if (newseg && (rc = start_segment(sp)) < 0)
		return rc;
	s = &sp->segs[sp->n - 1];
	if (s->size == 0) {
		memcpy(sh, SEG_MAGIC, MAGIC_LEN);
		put_le64(sh + MAGIC_LEN, s->first);
		iov[cnt++] = (struct iovec){ sh, sizeof sh };
	}
	put_le32(rh, (uint32_t)len);
	put_le32(rh + 4, rec_crc(rh, data, (uint32_t)len));
	iov[cnt++] = (struct iovec){ rh, sizeof rh };
	iov[cnt++] = (struct iovec){ (void *)(uintptr_t)data, len };
	add = need + (s->size == 0 ? SEG_HDR : 0);
	if (pwritev_full(sp->wfd, iov, cnt, s->size) < 0) {
		log_warn("spool: %s/%016" PRIx64 ".seg: write", sp->dir, s->num);
		undo_write(sp, s);
		return MM_EIO;
	}
	s->size += add;
	s->count++;
	sp->next_seq++;
	sp->st.bytes += add;
	sp->st.records++;
	sp->st.queued++;
	mark_dirty(sp, s);
	/* A new file's name must be on disk before its data is worth syncing. */
	if (add > need && (rc = dir_sync(sp, policy_durable(sp))) < 0)
		return rc;
	if (sp->o.sync == MM_SPOOL_SYNC_ALWAYS)
		return sync_dirty(sp);
	if (sp->o.sync == MM_SPOOL_SYNC_INTERVAL && mm_clock_ms() - sp->last_sync_ms >= sp->o.sync_ms)
		return sync_dirty(sp);
	return 0;
}

/* --- Periodic work, sync, stats --------------------------------------- */

int mm_spool_tick(struct mm_spool *sp)
{
	uint64_t now = mm_clock_ms();
	int rc = 0;

	if (sp->o.sync == MM_SPOOL_SYNC_INTERVAL && sp->ndirty > 0 &&
	    now - sp->last_sync_ms >= sp->o.sync_ms)
		rc = sync_dirty(sp);
	if (rc == 0)
		rc = free_acked(sp);
	if (rc == 0 && ack_due(sp, now))
		rc = write_ack(sp, policy_durable(sp));
	return rc;
}

int mm_spool_sync(struct mm_spool *sp)
{
	int rc;

	if ((rc = sync_dirty(sp)) < 0)
		return rc;
	if (sp->dir_dirty && (rc = dir_sync(sp, 1)) < 0)
		return rc;
	return write_ack(sp, 1);
}

void mm_spool_stats(const struct mm_spool *sp, struct mm_spool_stats *st)
{
	*st = sp->st;
}

/* --- Open and recovery ------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Lists the segment files in the directory, sorted by number, and finds the
 * highest number in use (.bad files included); counts and names (the first
 * few) anything else that is not the spool's own. */
static int list_segments(struct mm_spool *sp, uint64_t **out, size_t *nout, uint64_t *max_num,
			 struct mm_spool_recovery *rec)
{
	uint64_t *v = NULL, num;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = NULL;
	int fd, rc = MM_EIO;

	if ((fd = dup(sp->dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		log_warn("spool: %s: opendir", sp->dir);
		if (fd >= 0)
			close(fd);
		return MM_EIO;
	}
	rewinddir(d);
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		size_t len = strlen(nm);

		if (parse_seg_name(nm, ".seg", &num)) {
			if (n == cap) {
				size_t c = cap ? cap * 2 : 64;
				uint64_t *p = realloc(v, c * sizeof *p);

				if (p == NULL) {
					rc = MM_ENOMEM;
					goto fail;
				}
				v = p;
				cap = c;
			}
			v[n++] = num;
			if (num < NUM_LIMIT && num > *max_num)
				*max_num = num;
		} else if (parse_seg_name(nm, ".seg.bad", &num)) {
			/* Set aside earlier: its number is not given again. */
			if (num < NUM_LIMIT && num > *max_num)
				*max_num = num;
		} else if (strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0 &&
			   strcmp(nm, "lock") != 0 && strcmp(nm, "ack") != 0 &&
			   !(len > 4 && strcmp(nm + len - 4, ".bad") == 0)) {
			if (rec->bad_files < NAMES_LOGGED)
				log_warnx("spool: %s/%s: not a spool file; left alone", sp->dir,
					  nm);
			rec->bad_files++;
		}
		errno = 0;
	}
	if (errno != 0) {
		log_warn("spool: %s: readdir", sp->dir);
		goto fail;
	}
	closedir(d);
	if (rec->bad_files > NAMES_LOGGED)
		log_warnx("spool: %s: %u files in all that are not the spool's", sp->dir,
			  rec->bad_files);
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_u64);
	*out = v;
	*nout = n;
	return 0;
fail:
	closedir(d);
	free(v);
	return rc;
}

/* Renames an unusable segment NAME.bad, so that it is kept for a human
 * but never read again. */
static void set_aside(struct mm_spool *sp, const char *name, const char *why,
		      struct mm_spool_recovery *rec)
{
	char bad[SEG_NAME_MAX + 8];

	/* name is a segment name (20 characters), so this always fits */
	snprintf(bad, sizeof bad, "%.*s.bad", SEG_NAME_MAX - 5, name);
	log_warnx("spool: %s/%s: %s; renamed %s", sp->dir, name, why, bad);
	if (renameat(sp->dfd, name, sp->dfd, bad) < 0)
		log_warn("spool: %s/%s: rename", sp->dir, name);
	rec->bad_files++;
}

/* What recovery carries from one segment to the next. */
struct recov {
	uint64_t ack;      /* from the ack file; 0: none */
	uint64_t prev_end; /* end seq of the last segment with a good header; 0: none */
	int changed;       /* a name was deleted or renamed */
};

/*
 * Checks one segment file and keeps it, cuts its torn tail, deletes it
 * when it holds nothing unacknowledged, or sets it aside. Returns 0 or
 * MM_EIO, MM_ENOMEM.
 */
static int recover_segment(struct mm_spool *sp, uint64_t num, struct recov *rv,
			   struct mm_spool_recovery *rec)
{
	char name[SEG_NAME_MAX];
	uint8_t h[SEG_HDR];
	uint64_t first = 0, seq, pos, size, want, want_off = 0;
	const uint8_t *payload;
	struct stat st;
	uint32_t len;
	int fd, rc = MM_EIO;

	seg_name(name, num);
	if ((fd = openat(sp->dfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ELOOP) {
			set_aside(sp, name, "a symbolic link", rec);
			rv->changed = 1;
			return 0;
		}
		log_warn("spool: %s/%s: open", sp->dir, name);
		return MM_EIO;
	}
	if (fstat(fd, &st) < 0) {
		log_warn("spool: %s/%s: fstat", sp->dir, name);
		goto fail;
	}
	size = (uint64_t)st.st_size;
	if (S_ISREG(st.st_mode) && size == 0)
		goto empty; /* created, then the process died before the first write */
	if (!S_ISREG(st.st_mode) || size < SEG_HDR || num >= NUM_LIMIT ||
	    pread_full(fd, h, SEG_HDR, 0) != (ssize_t)SEG_HDR ||
	    memcmp(h, SEG_MAGIC, MAGIC_LEN) != 0 || (first = get_le64(h + MAGIC_LEN)) == 0 ||
	    first >= NUM_LIMIT) {
		set_aside(sp, name, "not a segment (header)", rec);
		rv->changed = 1;
		close(fd);
		return 0;
	}
	if (first < rv->prev_end) {
		set_aside(sp, name, "its seqs go backwards", rec);
		rv->changed = 1;
		close(fd);
		return 0;
	}
	if (rv->prev_end != 0 && first > rv->prev_end)
		log_warnx("spool: %s/%s: records %" PRIu64 "..%" PRIu64 " are missing", sp->dir,
			  name, rv->prev_end, first - 1);

	/* Each step moves at least REC_HDR + 1 bytes on, so this ends. A
	 * record whose seq would reach NUM_LIMIT cannot have been written and
	 * ends the segment like a corrupt one. */
	want = rv->ack > first ? rv->ack : first;
	sp->bvalid = 0;
	for (pos = SEG_HDR, seq = first;; seq++) {
		if (seq == want)
			want_off = pos;
		if (pos == size || seq >= NUM_LIMIT)
			break;
		rc = rec_at(sp, fd, num, size, pos, &payload, &len);
		if (rc == MM_EPARSE)
			break;
		if (rc < 0)
			goto fail;
		pos += REC_HDR + len;
	}
	sp->bvalid = 0;
	if (pos < size) {
		log_warnx("spool: %s/%s: cut %" PRIu64 " torn bytes at offset %" PRIu64, sp->dir,
			  name, size - pos, pos);
		if (ftruncate(fd, (off_t)pos) < 0 ||
		    (policy_durable(sp) && fdatasync(fd) < 0)) {
			log_warn("spool: %s/%s: ftruncate", sp->dir, name);
			rc = MM_EIO;
			goto fail;
		}
		rec->torn_bytes += size - pos;
		rec->torn_segments++;
		size = pos;
	}
	rv->prev_end = seq;
	if (seq == first)
		goto empty;
	if (seq <= rv->ack) {
		rec->acked += seq - first;
		goto drop;
	}
	if ((rc = segs_reserve(sp)) < 0)
		goto fail;
	sp->segs[sp->n] = (struct seg){ .num = num, .first = first, .count = seq - first,
					.size = size };
	if (sp->n == sp->head) {
		/* The first kept segment: reading starts at its first unacknowledged record. */
		sp->hint = 1;
		sp->hseg = sp->n;
		sp->hoff = want_off;
		sp->hseq = want;
	}
	sp->n++;
	sp->st.segments++;
	sp->st.bytes += size;
	sp->st.records += seq - want;
	rec->segments++;
	rec->records += seq - want;
	rec->acked += want - first;
	close(fd);
	return 0;
empty:
drop:
	close(fd);
	if (unlinkat(sp->dfd, name, 0) < 0) {
		log_warn("spool: %s/%s: unlink", sp->dir, name);
		return MM_EIO;
	}
	rv->changed = 1;
	return 0;
fail:
	close(fd);
	return rc;
}

/* Takes the lock on DIR/lock, for as long as the spool is open. */
static int take_lock(struct mm_spool *sp)
{
	sp->lockfd = openat(sp->dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (sp->lockfd < 0) {
		log_warn("spool: %s/lock: open", sp->dir);
		return MM_EIO;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			log_warnx("spool: %s is in use by another process", sp->dir);
			return MM_EAGAIN;
		}
		log_warn("spool: %s/lock: flock", sp->dir);
		return MM_EIO;
	}
	return 0;
}

static int recover(struct mm_spool *sp, struct mm_spool_recovery *rec)
{
	struct recov rv = { 0 };
	uint64_t *nums = NULL, max_num = 0;
	size_t nnums = 0;
	int rc;

	if (unlinkat(sp->dfd, "ack.tmp", 0) < 0 && errno != ENOENT) {
		log_warn("spool: %s/ack.tmp: unlink", sp->dir);
		return MM_EIO;
	}
	rv.ack = read_ack(sp);
	sp->ack_disk = rv.ack;
	sp->ack_durable = 1;
	if ((rc = list_segments(sp, &nums, &nnums, &max_num, rec)) < 0)
		return rc;
	for (size_t i = 0; i < nnums; i++)
		if ((rc = recover_segment(sp, nums[i], &rv, rec)) < 0)
			goto fail;
	sp->next_num = max_num + 1;
	sp->next_seq = 1;
	if (rv.prev_end > sp->next_seq)
		sp->next_seq = rv.prev_end;
	if (rv.ack > sp->next_seq)
		sp->next_seq = rv.ack;
	sp->acked = rv.ack > 1 ? rv.ack : 1;
	if (sp->head < sp->n && sp->segs[sp->head].first > sp->acked)
		sp->acked = sp->segs[sp->head].first;
	if (sp->head == sp->n)
		sp->acked = sp->next_seq;
	mm_spool_rewind(sp);
	if (rv.changed && (rc = dir_sync(sp, policy_durable(sp))) < 0)
		goto fail;
	rc = 0;
fail:
	free(nums);
	return rc;
}

static void spool_free(struct mm_spool *sp)
{
	retire_write(sp);
	close_rfd(sp);
	if (sp->lockfd >= 0)
		close(sp->lockfd); /* releases the lock */
	if (sp->dfd >= 0)
		close(sp->dfd);
	free(sp->segs);
	free(sp->buf);
	free(sp->dir);
	free(sp);
}

int mm_spool_open(const char *dir, const struct mm_spool_opts *o, struct mm_spool **out,
		  struct mm_spool_recovery *rec)
{
	struct mm_spool_recovery scratch;
	struct mm_spool *sp;
	int rc = MM_EIO;

	if (out == NULL || dir == NULL || *dir == '\0')
		return MM_EINVAL;
	*out = NULL;
	if (rec == NULL)
		rec = &scratch;
	memset(rec, 0, sizeof *rec);
	if ((sp = calloc(1, sizeof *sp)) == NULL)
		return MM_ENOMEM;
	sp->dfd = sp->lockfd = sp->wfd = sp->rfd = -1;
	if (o == NULL)
		mm_spool_opts_default(&sp->o);
	else
		sp->o = *o;
	if (!opts_ok(&sp->o)) {
		rc = MM_EINVAL;
		goto fail;
	}
	sp->bcap = REC_HDR + (size_t)sp->o.max_record;
	if (sp->bcap > READ_BUF)
		sp->bcap = READ_BUF;
	if ((sp->dir = strdup(dir)) == NULL || (sp->buf = malloc(sp->bcap)) == NULL) {
		rc = MM_ENOMEM;
		goto fail;
	}
	if (mm_mkdir_p(dir, 0700) < 0) {
		log_warn("spool: %s: mkdir", dir);
		goto fail;
	}
	if ((sp->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		log_warn("spool: %s: open", dir);
		goto fail;
	}
	if ((rc = take_lock(sp)) < 0 || (rc = recover(sp, rec)) < 0)
		goto fail;
	sp->last_sync_ms = sp->last_ack_ms = mm_clock_ms();
	*out = sp;
	return 0;
fail:
	spool_free(sp);
	return rc;
}

void mm_spool_close(struct mm_spool *sp)
{
	if (sp == NULL)
		return;
	mm_spool_sync(sp); /* a failure is in the log; there is no one left to tell */
	spool_free(sp);
}
