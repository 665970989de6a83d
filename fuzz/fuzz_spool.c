/*
 * libFuzzer target for spool recovery and reading (lib/spool.c).
 *
 * The input is a spool directory's worth of files. Byte 0 picks the
 * options (max_record, segment_bytes, max_bytes, drop_oldest, sync) and
 * byte 1 how the reader acknowledges; the rest is cut before every
 * "MMSPOOL1", each piece becoming the next segment file, and before every
 * "MMSPACK1", that piece becoming the ack file. Bytes before the first
 * magic make a segment of their own. So a seed is simply the files of a
 * real spool, concatenated after the two option bytes.
 *
 * The target opens the spool in a fresh temporary directory, reads every
 * record, acknowledges some, rewinds and reads again, appends one record,
 * closes, reopens and reads once more, and aborts when:
 *   - open fails, or its recovery report disagrees with the stats;
 *   - a record is empty or over max_record, or seqs do not increase;
 *   - the second reading after the rewind differs from the first;
 *   - mm_spool_fits() says a record fits and appending it refuses or drops,
 *     or says it does not and appending it neither refuses nor drops;
 *   - the reopened spool finds anything to repair (the first open must
 *     have left only whole records and good headers), or its records are
 *     not exactly the unacknowledged ones of the first session.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mamori/error.h"
#include "mamori/log.h"
#include "mamori/spool.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)               \
	do {                   \
		if (!(x))      \
			abort(); \
	} while (0)

#define MAX_FILES 64

/* One record seen: its seq and a digest of its bytes. */
struct seen {
	uint64_t seq;
	uint64_t hash;
};

static uint64_t digest(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ n;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static const char *tmp_base(void)
{
	struct stat st;

	/* tmpfs when there is one: the target creates and deletes many files. */
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return "/tmp";
}

static void write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[256];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK(n == 0 || write(fd, p, n) == (ssize_t)n);
	close(fd);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	CHECK(d != NULL);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			CHECK(unlinkat(dirfd(d), de->d_name, 0) == 0);
	closedir(d);
	CHECK(rmdir(dir) == 0);
}

/* The offset of the next file's magic after pos, or n. */
static size_t next_cut(const uint8_t *p, size_t n, size_t pos)
{
	for (size_t i = pos + 1; i + 8 <= n; i++)
		if (p[i] == 'M' && (memcmp(p + i, "MMSPOOL1", 8) == 0 ||
				    memcmp(p + i, "MMSPACK1", 8) == 0))
			return i;
	return n;
}

/* Writes the files of the input into dir; returns 1 if a stray file was added. */
static int lay_out(const char *dir, const uint8_t *p, size_t n, int reverse, int junk)
{
	size_t cuts[MAX_FILES + 1], nf = 0, pos = 0;
	unsigned nseg = 0;

	while (pos < n && nf < MAX_FILES) {
		size_t end = nf + 1 < MAX_FILES ? next_cut(p, n, pos) : n;

		cuts[nf++] = pos;
		pos = end;
	}
	cuts[nf] = n;
	for (size_t i = 0; i < nf; i++) {
		const uint8_t *f = p + cuts[i];
		size_t len = cuts[i + 1] - cuts[i];
		char name[32];

		if (len >= 8 && memcmp(f, "MMSPACK1", 8) == 0) {
			write_file(dir, "ack", f, len);
			continue;
		}
		nseg++;
		snprintf(name, sizeof name, "%016x.seg", reverse ? MAX_FILES + 1 - nseg : nseg);
		write_file(dir, name, f, len);
	}
	if (junk)
		write_file(dir, "junk", p, n < 8 ? n : 8);
	return junk;
}

static void options(uint8_t b, struct mm_spool_opts *o)
{
	static const uint32_t recs[4] = { 16, 64, 255, 4096 };
	static const uint64_t segs[4] = { 40, 100, 1000, 1 << 20 };
	static const uint64_t room[4] = { 0, 200, 5000, 1u << 30 };

	mm_spool_opts_default(o);
	o->max_record = recs[b & 3];
	o->drop_oldest = (b >> 2) & 1;
	o->segment_bytes = segs[(b >> 3) & 3];
	o->max_bytes = 16 + 8 + o->max_record + room[(b >> 5) & 3];
	o->sync = (b & 0x80) ? MM_SPOOL_SYNC_ALWAYS : MM_SPOOL_SYNC_NEVER;
	o->sync_ms = 0; /* the ack file at every ack */
}

/* Reads everything left, checking it against seen[0..n) when check is set,
 * else recording it there. Returns how many records were read. */
static size_t read_all(struct mm_spool *sp, const struct mm_spool_opts *o, struct seen *seen,
		       size_t cap, int check, unsigned ack_every, int ack_far)
{
	struct mm_spool_rec r;
	uint64_t last = 0;
	size_t n = 0;
	int rc;

	while ((rc = mm_spool_read(sp, &r)) == 0) {
		CHECK(r.len >= 1 && r.len <= o->max_record && r.data != NULL);
		CHECK(r.seq > last && r.seq < mm_spool_next_seq(sp));
		CHECK(r.seq >= mm_spool_first_unacked(sp));
		last = r.seq;
		CHECK(n < cap);
		if (check) {
			CHECK(seen[n].seq == r.seq && seen[n].hash == digest(r.data, r.len));
		} else {
			seen[n].seq = r.seq;
			seen[n].hash = digest(r.data, r.len);
		}
		n++;
		if (ack_every && n % ack_every == 0) {
			CHECK(mm_spool_ack(sp, r.seq + 1 + (ack_far ? 1000 : 0)) == 0);
			CHECK(mm_spool_first_unacked(sp) > r.seq);
		}
	}
	CHECK(rc == MM_ENOTFOUND);
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	mm_log_init(0, "fuzz_spool"); /* to syslog, out of libFuzzer's output */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_spool_recovery rec;
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool *sp = NULL;
	struct seen *seen, *again;
	size_t cap, n, n2, keep = 0;
	uint64_t fu, appended = 0, app_hash = 0, dropped;
	uint8_t extra[64];
	size_t extra_len;
	char dir[64];
	int junk, fits, rc;

	if (size < 2)
		return 0;
	options(data[0], &o);
	snprintf(dir, sizeof dir, "%s/fuzz_spool.XXXXXX", tmp_base());
	CHECK(mkdtemp(dir) != NULL);
	junk = lay_out(dir, data + 2, size - 2, (data[1] >> 6) & 1, data[1] >> 7);

	/* Every record takes at least 9 bytes of input; one more is appended. */
	cap = size / 9 + 2;
	seen = calloc(cap, sizeof *seen);
	again = calloc(cap, sizeof *again);
	CHECK(seen != NULL && again != NULL);

	CHECK(mm_spool_open(dir, &o, &sp, &rec) == 0);
	mm_spool_stats(sp, &st);
	CHECK(st.records == rec.records && st.segments == rec.segments);
	CHECK(mm_spool_first_unacked(sp) <= mm_spool_next_seq(sp));
	CHECK(rec.bad_files >= (unsigned)junk);

	/* Read everything, acknowledging as byte 1 says; then rewind: what
	 * comes again is exactly the unacknowledged tail of the first pass. */
	n = read_all(sp, &o, seen, cap, 0, data[1] & 7, data[1] & 8);
	CHECK(n == rec.records);
	fu = mm_spool_first_unacked(sp);
	while (keep < n && seen[keep].seq < fu)
		keep++;
	mm_spool_stats(sp, &st);
	CHECK(st.records == n - keep && st.acked == keep);
	mm_spool_rewind(sp);
	n2 = read_all(sp, &o, seen + keep, n - keep, 1, 0, 0);
	CHECK(n2 == n - keep);

	/* One more record, from the input's own bytes. */
	extra_len = 1 + data[1] % (o.max_record < sizeof extra ? o.max_record : sizeof extra);
	for (size_t i = 0; i < extra_len; i++)
		extra[i] = data[(i * 7) % size] ^ (uint8_t)i;
	fits = mm_spool_fits(sp, extra_len);
	mm_spool_stats(sp, &st);
	dropped = st.dropped;
	rc = mm_spool_append(sp, extra, extra_len);
	mm_spool_stats(sp, &st);
	/* mm_spool_fits() and mm_spool_append() agree. */
	if (fits)
		CHECK(rc == 0 && st.dropped == dropped);
	else if (rc == 0)
		CHECK(o.drop_oldest && st.dropped > dropped);
	if (rc == 0) {
		struct mm_spool_rec r;

		appended = mm_spool_next_seq(sp) - 1;
		app_hash = digest(extra, extra_len);
		CHECK(mm_spool_read(sp, &r) == 0 && r.seq == appended);
		CHECK(digest(r.data, r.len) == app_hash);
	} else {
		/* Refused when full, or when the seqs are used up (2^62). */
		CHECK(rc == MM_EFULL &&
		      (!o.drop_oldest || mm_spool_next_seq(sp) >= (UINT64_C(1) << 62)));
	}
	fu = mm_spool_first_unacked(sp);
	mm_spool_stats(sp, &st);
	mm_spool_close(sp);

	/* What the reopened spool must hand out: the first session's records
	 * from fu on (dropping may have moved fu), then the new one. */
	n2 = 0;
	for (size_t i = keep; i < n; i++)
		if (seen[i].seq >= fu)
			again[n2++] = seen[i];
	if (appended)
		again[n2++] = (struct seen){ appended, app_hash };
	CHECK(st.records == n2);
	CHECK(mm_spool_open(dir, &o, &sp, &rec) == 0);
	CHECK(rec.torn_bytes == 0 && rec.torn_segments == 0);
	CHECK(rec.bad_files == (unsigned)junk);
	CHECK(rec.records == n2);
	CHECK(read_all(sp, &o, again, n2, 1, 0, 0) == n2);
	mm_spool_close(sp);

	remove_dir(dir);
	free(seen);
	free(again);
	return 0;
}
