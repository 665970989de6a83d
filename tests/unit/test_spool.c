/*
 * Unit tests of the spool (lib/spool.c): records come back byte for byte
 * and in seq order, across segments and across close and reopen; acks
 * delete segment files and survive a restart; a full spool refuses or drops
 * exactly what it says; recovery keeps every whole record and cuts torn or
 * corrupt tails at the right offset; stray and broken files are left alone
 * or set aside; the bytes on disk are those of docs/formats/spool.md.
 *
 * Every test works in a fresh mkdtemp directory that is removed afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "mamori/error.h"
#include "mamori/spool.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Fails the test with the case's name and what differed. */
#define EXPECT(cond, ...)                                                                   \
	do {                                                                                \
		if (!(cond)) {                                                              \
			print_error(__VA_ARGS__);                                           \
			print_error("\n");                                                  \
			fail();                                                             \
		}                                                                           \
	} while (0)

#define SEG_HDR 16
#define REC_HDR 8

/* --- Fixture: a fresh directory per test ------------------------------ */

static int setup(void **state)
{
	char *dir = malloc(64);

	if (dir == NULL)
		return -1;
	snprintf(dir, 64, "/tmp/test_spool.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

/* Removes a directory holding files and at most one level of directories. */
static void rm_tree(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (unlink(path) < 0 && depth < 2)
			rm_tree(path, depth + 1);
	}
	closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	rm_tree(*state, 0);
	free(*state);
	return 0;
}

/* --- Helpers ----------------------------------------------------------- */

/* Fast options: no fsync, the ack file only at close. */
static void quiet_opts(struct mm_spool_opts *o)
{
	mm_spool_opts_default(o);
	o->sync = MM_SPOOL_SYNC_NEVER;
	o->sync_ms = 3600000;
}

static struct mm_spool *open_ok(const char *dir, const struct mm_spool_opts *o,
				struct mm_spool_recovery *rec)
{
	struct mm_spool *sp = NULL;
	int rc = mm_spool_open(dir, o, &sp, rec);

	EXPECT(rc == 0, "open %s: %d", dir, rc);
	assert_non_null(sp);
	return sp;
}

/* The payload of record i: 1 to 200 bytes that depend on i. */
static size_t payload(uint64_t i, uint8_t *p)
{
	size_t len = 1 + (size_t)(i * 37 % 200);

	for (size_t k = 0; k < len; k++)
		p[k] = (uint8_t)(i * 7 + k * 13 + (i >> 8));
	return len;
}

/* Appends the records with payloads first..last. */
static void append_range(struct mm_spool *sp, uint64_t first, uint64_t last)
{
	uint8_t p[256];

	for (uint64_t i = first; i <= last; i++) {
		size_t len = payload(i, p);
		int rc = mm_spool_append(sp, p, len);

		EXPECT(rc == 0, "append %" PRIu64 ": %d", i, rc);
	}
}

/* Appends n records of exactly len bytes, all bytes equal to the index. */
static void append_fixed(struct mm_spool *sp, uint64_t first, uint64_t n, size_t len)
{
	uint8_t p[4096];

	assert_true(len <= sizeof p);
	for (uint64_t i = first; i < first + n; i++) {
		memset(p, (int)(i & 0xff), len);
		assert_int_equal(mm_spool_append(sp, p, len), 0);
	}
}

/* Reads the next record and checks it is seq with the payload of record pl. */
static void expect_rec(struct mm_spool *sp, uint64_t seq, uint64_t pl)
{
	struct mm_spool_rec r;
	uint8_t p[256];
	size_t len = payload(pl, p);
	int rc = mm_spool_read(sp, &r);

	EXPECT(rc == 0, "read, want seq %" PRIu64 ": %d", seq, rc);
	EXPECT(r.seq == seq, "read seq %" PRIu64 ", want %" PRIu64, r.seq, seq);
	EXPECT(r.len == len && memcmp(r.data, p, len) == 0,
	       "seq %" PRIu64 ": %u bytes, want %zu, or different bytes", seq, r.len, len);
}

/* Reads records first..last, each with its own payload, and then nothing. */
static void expect_range(struct mm_spool *sp, uint64_t first, uint64_t last)
{
	struct mm_spool_rec r;

	for (uint64_t s = first; s <= last; s++)
		expect_rec(sp, s, s);
	assert_int_equal(mm_spool_read(sp, &r), MM_ENOTFOUND);
}

/* Reads n records of fixed payloads from first on. */
static void expect_fixed(struct mm_spool *sp, uint64_t first, uint64_t n, size_t len)
{
	struct mm_spool_rec r;

	for (uint64_t s = first; s < first + n; s++) {
		int rc = mm_spool_read(sp, &r);

		EXPECT(rc == 0 && r.seq == s, "read %d seq %" PRIu64 ", want %" PRIu64, rc,
		       rc == 0 ? r.seq : 0, s);
		assert_int_equal(r.len, len);
		for (size_t k = 0; k < len; k++)
			assert_int_equal(((const uint8_t *)r.data)[k], s & 0xff);
	}
}

static void path_of(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void seg_path(char *out, size_t n, const char *dir, uint64_t num)
{
	snprintf(out, n, "%s/%016" PRIx64 ".seg", dir, num);
}

/* The segment files of dir as their numbers, ascending, comma separated:
 * "2,3,5". */
static void seg_list(const char *dir, char *out, size_t n)
{
	uint64_t nums[64];
	size_t k = 0, used = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len == 20 && strspn(de->d_name, "0123456789abcdef") == 16 &&
		    strcmp(de->d_name + 16, ".seg") == 0) {
			assert_true(k < NELEM(nums));
			nums[k++] = strtoull(de->d_name, NULL, 16);
		}
	}
	closedir(d);
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && nums[j - 1] > nums[j]; j--) {
			uint64_t t = nums[j];

			nums[j] = nums[j - 1];
			nums[j - 1] = t;
		}
	out[0] = '\0';
	for (size_t i = 0; i < k; i++)
		used += (size_t)snprintf(out + used, n - used, "%s%" PRIx64, i ? "," : "", nums[i]);
}

static void expect_segs(const char *dir, const char *want)
{
	char got[512];

	seg_list(dir, got, sizeof got);
	EXPECT(strcmp(got, want) == 0, "segment files %s, want %s", got, want);
}

static long file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	return (long)st.st_size;
}

/* Reads a whole file into a malloc'ed buffer. */
static uint8_t *read_all(const char *path, size_t *len)
{
	long n = file_size(path);
	uint8_t *p;
	FILE *f;

	assert_true(n >= 0);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void write_all(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Overwrites one byte of a file in place. */
static void poke(const char *path, long off, uint8_t v)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &v, 1, off), 1);
	close(fd);
}

static uint8_t peek(const char *path, long off)
{
	uint8_t v = 0;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, 1, off), 1);
	close(fd);
	return v;
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Builds a segment by hand: magic, first seq, then the given payloads as
 * records. Returns its length. */
static size_t make_seg(uint8_t *out, const char *magic, uint64_t first, const char *const *pl,
		       int n)
{
	size_t off = SEG_HDR;

	memcpy(out, magic, 8);
	le64(out + 8, first);
	for (int i = 0; i < n; i++) {
		uint32_t len = (uint32_t)strlen(pl[i]);

		le32(out + off, len);
		memcpy(out + off + REC_HDR, pl[i], len);
		/* The CRC over the length bytes followed by the payload, in one go. */
		{
			uint8_t tmp[4 + 256];

			memcpy(tmp, out + off, 4);
			memcpy(tmp + 4, pl[i], len);
			le32(out + off + 4, (uint32_t)crc32(0L, tmp, 4 + len));
		}
		off += REC_HDR + len;
	}
	return off;
}

/* --- mm_spool_sync_parse and options ---------------------------------- */

static void test_sync_parse(void **state)
{
	static const struct {
		const char *in;
		int rc;
		enum mm_spool_sync sync;
		unsigned ms;
	} cases[] = {
		{ "always", 0, MM_SPOOL_SYNC_ALWAYS, 777 },
		{ "never", 0, MM_SPOOL_SYNC_NEVER, 777 },
		{ "interval=100", 0, MM_SPOOL_SYNC_INTERVAL, 100 },
		{ "interval=1", 0, MM_SPOOL_SYNC_INTERVAL, 1 },
		{ "interval=3600000", 0, MM_SPOOL_SYNC_INTERVAL, 3600000 },
		{ "interval=0100", 0, MM_SPOOL_SYNC_INTERVAL, 100 },
		{ "interval=0", MM_EINVAL, 0, 0 },
		{ "interval=3600001", MM_EINVAL, 0, 0 },
		{ "interval=99999999999999999999", MM_EINVAL, 0, 0 },
		{ "interval=", MM_EINVAL, 0, 0 },
		{ "interval=abc", MM_EINVAL, 0, 0 },
		{ "interval=10x", MM_EINVAL, 0, 0 },
		{ "interval=-5", MM_EINVAL, 0, 0 },
		{ "interval= 5", MM_EINVAL, 0, 0 },
		{ "interval", MM_EINVAL, 0, 0 },
		{ "sometimes", MM_EINVAL, 0, 0 },
		{ "ALWAYS", MM_EINVAL, 0, 0 },
		{ "always ", MM_EINVAL, 0, 0 },
		{ "", MM_EINVAL, 0, 0 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct mm_spool_opts o;
		int rc;

		mm_spool_opts_default(&o);
		o.sync = MM_SPOOL_SYNC_NEVER + 7; /* a marker: must change on success only */
		o.sync_ms = 777;
		rc = mm_spool_sync_parse(cases[i].in, &o);
		EXPECT(rc == cases[i].rc, "\"%s\": rc %d, want %d", cases[i].in, rc, cases[i].rc);
		if (rc == 0)
			EXPECT(o.sync == cases[i].sync && o.sync_ms == cases[i].ms,
			       "\"%s\": sync %d/%u", cases[i].in, (int)o.sync, o.sync_ms);
		else
			EXPECT((int)o.sync == MM_SPOOL_SYNC_NEVER + 7 && o.sync_ms == 777,
			       "\"%s\": options changed on error", cases[i].in);
	}
}

static void test_defaults(void **state)
{
	struct mm_spool_opts o;

	mm_spool_opts_default(&o);
	assert_int_equal(o.max_bytes, 64u << 20);
	assert_int_equal(o.segment_bytes, 4u << 20);
	assert_int_equal(o.max_record, 1u << 20);
	assert_int_equal(o.sync, MM_SPOOL_SYNC_INTERVAL);
	assert_int_equal(o.sync_ms, 100);
	assert_int_equal(o.drop_oldest, 0);
}

/* Options out of contract are refused before anything is created. */
static void test_bad_opts(void **state)
{
	static const struct {
		const char *name;
		int field;
		uint64_t value;
		int rc;
	} cases[] = {
		{ "max_record 0", 0, 0, MM_EINVAL },
		{ "max_record 1 GiB + 1", 0, (1u << 30) + 1, MM_EINVAL },
		{ "segment_bytes 0", 1, 0, MM_EINVAL },
		{ "max_bytes below one record", 2, 16 + 8 + 1000 - 1, MM_EINVAL },
		{ "max_bytes exactly one record", 2, 16 + 8 + 1000, 0 },
		{ "interval of 0 ms", 3, 0, MM_EINVAL },
		{ "sync_ms over an hour", 4, 3600001, MM_EINVAL },
		{ "unknown policy", 5, 42, MM_EINVAL },
		{ "never with sync_ms 0", 6, 0, 0 },
	};
	char sub[512];

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct mm_spool_opts o;
		struct mm_spool *sp = (struct mm_spool *)(void *)&o;
		int rc;

		mm_spool_opts_default(&o);
		o.max_record = 1000;
		switch (cases[i].field) {
		case 0: o.max_record = (uint32_t)cases[i].value; break;
		case 1: o.segment_bytes = cases[i].value; break;
		case 2: o.max_bytes = cases[i].value; break;
		case 3: o.sync_ms = (unsigned)cases[i].value; break;
		case 4: o.sync_ms = (unsigned)cases[i].value; o.sync = MM_SPOOL_SYNC_NEVER; break;
		case 5: o.sync = (enum mm_spool_sync)cases[i].value; break;
		case 6: o.sync = MM_SPOOL_SYNC_NEVER; o.sync_ms = 0; break;
		}
		snprintf(sub, sizeof sub, "%s/case%zu", (char *)*state, i);
		rc = mm_spool_open(sub, &o, &sp, NULL);
		EXPECT(rc == cases[i].rc, "%s: rc %d, want %d", cases[i].name, rc, cases[i].rc);
		if (rc == 0) {
			mm_spool_close(sp);
		} else {
			EXPECT(sp == NULL, "%s: *out not cleared", cases[i].name);
			EXPECT(file_size(sub) < 0, "%s: directory created", cases[i].name);
		}
	}
}

/* --- Round trips -------------------------------------------------------- */

/* 2000 records over many small segments come back exactly, and the
 * counters agree with the files. */
static void test_round_trip(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool *sp;
	uint64_t want_bytes = 0, sum = 0;
	uint8_t p[256];
	char list[512], path[512];

	quiet_opts(&o);
	o.segment_bytes = 4096;
	sp = open_ok(dir, &o, NULL);
	append_range(sp, 1, 2000);
	expect_range(sp, 1, 2000);
	for (uint64_t i = 1; i <= 2000; i++)
		want_bytes += REC_HDR + payload(i, p);
	mm_spool_stats(sp, &st);
	assert_int_equal(st.queued, 2000);
	assert_int_equal(st.records, 2000);
	assert_int_equal(st.acked, 0);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.syncs, 0);
	assert_int_equal(st.bytes, want_bytes + SEG_HDR * st.segments);
	assert_true(st.segments > 50);
	seg_list(dir, list, sizeof list);
	for (uint64_t n = 1; n <= st.segments; n++) {
		seg_path(path, sizeof path, dir, n);
		assert_true(file_size(path) > 0);
		assert_true(file_size(path) <= 4096 || n == st.segments);
		sum += (uint64_t)file_size(path);
	}
	assert_int_equal(sum, st.bytes);
	assert_int_equal(mm_spool_next_seq(sp), 2001);
	assert_int_equal(mm_spool_first_unacked(sp), 1);
	mm_spool_close(sp);
}

/* A record larger than segment_bytes goes alone into its own segment. */
static void test_big_record_alone(void **state)
{
	const char *dir = *state;
	static const size_t lens[] = { 50, 200, 50, 40 };
	static const long sizes[] = { 16 + 58, 16 + 208, 16 + 58 + 48 };
	struct mm_spool_opts o;
	struct mm_spool *sp;
	char path[512];

	quiet_opts(&o);
	o.segment_bytes = 140;
	sp = open_ok(dir, &o, NULL);
	for (size_t i = 0; i < NELEM(lens); i++)
		append_fixed(sp, i + 1, 1, lens[i]);
	expect_segs(dir, "1,2,3");
	for (size_t i = 0; i < NELEM(sizes); i++) {
		seg_path(path, sizeof path, dir, i + 1);
		assert_int_equal(file_size(path), sizes[i]);
	}
	for (size_t i = 0; i < NELEM(lens); i++)
		expect_fixed(sp, i + 1, 1, lens[i]);
	mm_spool_close(sp);
}

/* Seqs go on across close and reopen, and the old records are all there. */
static void test_reopen_continues(void **state)
{
	const char *dir = *state;
	struct mm_spool_recovery rec;
	struct mm_spool_opts o;
	struct mm_spool *sp;

	quiet_opts(&o);
	sp = open_ok(dir, &o, NULL);
	append_range(sp, 1, 10);
	mm_spool_close(sp);

	sp = open_ok(dir, &o, &rec);
	assert_int_equal(rec.segments, 1);
	assert_int_equal(rec.records, 10);
	assert_int_equal(rec.acked, 0);
	assert_int_equal(rec.torn_bytes, 0);
	assert_int_equal(rec.torn_segments, 0);
	assert_int_equal(rec.bad_files, 0);
	assert_int_equal(mm_spool_next_seq(sp), 11);
	assert_int_equal(mm_spool_first_unacked(sp), 1);
	append_range(sp, 11, 15);
	expect_range(sp, 1, 15);
	mm_spool_close(sp);
}

/* Appends after recovery go to a new segment; the recovered file is never
 * written again, even when its tail was cut. */
static void test_new_segment_after_recovery(void **state)
{
	const char *dir = *state;
	struct mm_spool_recovery rec;
	struct mm_spool_opts o;
	struct mm_spool *sp;
	uint8_t *seg1;
	size_t len1, len;
	char p1[512], p2[512];

	quiet_opts(&o);
	seg_path(p1, sizeof p1, dir, 1);
	seg_path(p2, sizeof p2, dir, 2);
	sp = open_ok(dir, &o, NULL);
	append_range(sp, 1, 3);
	mm_spool_close(sp);
	seg1 = read_all(p1, &len1);

	sp = open_ok(dir, &o, NULL);
	append_range(sp, 4, 4);
	expect_segs(dir, "1,2");
	assert_int_equal(file_size(p1), (long)len1);
	assert_int_equal(peek(p2, 8), 4); /* the new header's first seq */
	expect_range(sp, 1, 4);
	mm_spool_close(sp);

	/* Cut record 4 in half: seq 4 is free again and goes into segment 3. */
	assert_int_equal(truncate(p2, file_size(p2) - 5), 0);
	sp = open_ok(dir, &o, &rec);
	assert_int_equal(rec.torn_segments, 1);
	assert_int_equal(rec.records, 3);
	assert_int_equal(mm_spool_next_seq(sp), 4);
	expect_segs(dir, "1");
	append_range(sp, 4, 4);
	expect_segs(dir, "1,3");
	expect_range(sp, 1, 4);
	mm_spool_close(sp);
	free(read_all(p1, &len));
	assert_int_equal(len, len1);
	free(seg1);
}

/* --- Reading, rewinding, acknowledging -------------------------------- */

static void test_rewind(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool_rec r;
	struct mm_spool *sp;

	quiet_opts(&o);
	o.segment_bytes = 300; /* a few records per segment */
	sp = open_ok(dir, &o, NULL);
	append_range(sp, 1, 10);
	for (uint64_t s = 1; s <= 4; s++)
		expect_rec(sp, s, s);
	mm_spool_rewind(sp);
	for (uint64_t s = 1; s <= 6; s++)
		expect_rec(sp, s, s);
	assert_int_equal(mm_spool_ack(sp, 4), 0); /* acknowledges 1..3 */
	mm_spool_rewind(sp);
	expect_range(sp, 4, 10);
	mm_spool_rewind(sp);
	expect_rec(sp, 4, 4);
	/* After a rewind only what was handed out again can be acknowledged. */
	mm_spool_rewind(sp);
	assert_int_equal(mm_spool_ack(sp, 100), 0);
	assert_int_equal(mm_spool_first_unacked(sp), 4);
	expect_rec(sp, 4, 4);
	expect_rec(sp, 5, 5);
	assert_int_equal(mm_spool_ack(sp, 100), 0);
	assert_int_equal(mm_spool_first_unacked(sp), 6);
	/* A rewind right after an ack of everything read starts there. */
	mm_spool_rewind(sp);
	expect_range(sp, 6, 10);
	assert_int_equal(mm_spool_ack(sp, 11), 0);
	mm_spool_rewind(sp);
	assert_int_equal(mm_spool_read(sp, &r), MM_ENOTFOUND);
	mm_spool_close(sp);
}

/* next_seq and first_unacked through appends, reads and acks, including
 * acks that go backwards or past what was read. */
static void test_seq_values(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool *sp;

	quiet_opts(&o);
	sp = open_ok(dir, &o, NULL);
	assert_int_equal(mm_spool_next_seq(sp), 1);
	assert_int_equal(mm_spool_first_unacked(sp), 1);
	append_range(sp, 1, 3);
	assert_int_equal(mm_spool_next_seq(sp), 4);
	assert_int_equal(mm_spool_first_unacked(sp), 1);
	assert_int_equal(mm_spool_ack(sp, 3), 0); /* nothing read yet */
	assert_int_equal(mm_spool_first_unacked(sp), 1);
	expect_rec(sp, 1, 1);
	expect_rec(sp, 2, 2);
	assert_int_equal(mm_spool_ack(sp, 2), 0);
	assert_int_equal(mm_spool_first_unacked(sp), 2);
	assert_int_equal(mm_spool_ack(sp, 10), 0); /* clamped to 3 */
	assert_int_equal(mm_spool_first_unacked(sp), 3);
	assert_int_equal(mm_spool_ack(sp, 1), 0); /* backwards: no change */
	assert_int_equal(mm_spool_first_unacked(sp), 3);
	mm_spool_stats(sp, &st);
	assert_int_equal(st.acked, 2);
	assert_int_equal(st.records, 1);
	expect_rec(sp, 3, 3);
	assert_int_equal(mm_spool_ack(sp, 4), 0);
	assert_int_equal(mm_spool_first_unacked(sp), 4);
	assert_int_equal(mm_spool_next_seq(sp), 4);
	mm_spool_stats(sp, &st);
	assert_int_equal(st.acked, 3);
	assert_int_equal(st.records, 0);
	mm_spool_close(sp);
}

/* Acks delete the segments they cover, and the directory shows it: 100-byte
 * records, 5 to a segment. */
static void test_ack_deletes_segments(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool *sp;

	quiet_opts(&o);
	o.segment_bytes = SEG_HDR + 5 * (REC_HDR + 100);
	sp = open_ok(dir, &o, NULL);
	append_fixed(sp, 1, 23, 100); /* 1-5 6-10 11-15 16-20 21-23 */
	expect_segs(dir, "1,2,3,4,5");
	expect_fixed(sp, 1, 23, 100);
	assert_int_equal(mm_spool_ack(sp, 8), 0);
	expect_segs(dir, "2,3,4,5");
	assert_int_equal(mm_spool_ack(sp, 16), 0);
	expect_segs(dir, "4,5");
	mm_spool_stats(sp, &st);
	assert_int_equal(st.segments, 2);
	assert_int_equal(st.bytes, 2 * SEG_HDR + 8 * (REC_HDR + 100));
	assert_int_equal(st.records, 8);
	/* The segment being written holds 3 records, more than half of
	 * segment_bytes: once acknowledged it goes too. */
	assert_int_equal(mm_spool_ack(sp, 24), 0);
	expect_segs(dir, "");
	mm_spool_stats(sp, &st);
	assert_int_equal(st.segments, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.acked, 23);
	assert_int_equal(mm_spool_first_unacked(sp), 24);
	append_fixed(sp, 24, 1, 100);
	expect_segs(dir, "6");
	/* One record (less than half) acknowledged: the file stays, and is
	 * written on. */
	expect_fixed(sp, 24, 1, 100);
	assert_int_equal(mm_spool_ack(sp, 25), 0);
	expect_segs(dir, "6");
	append_fixed(sp, 25, 1, 100);
	expect_segs(dir, "6");
	expect_fixed(sp, 25, 1, 100);
	mm_spool_close(sp);
}

/* The ack survives a restart: records below it are not handed out again;
 * and the ack file holds exactly what the format says. */
static void test_ack_persists(void **state)
{
	const char *dir = *state;
	struct mm_spool_recovery rec;
	struct mm_spool_opts o;
	struct mm_spool *sp;
	uint8_t want[20], *got;
	size_t len;
	char ack[512];

	quiet_opts(&o);
	path_of(ack, sizeof ack, dir, "ack");
	sp = open_ok(dir, &o, NULL);
	append_range(sp, 1, 10);
	for (uint64_t s = 1; s <= 4; s++)
		expect_rec(sp, s, s);
	assert_int_equal(mm_spool_ack(sp, 5), 0);
	/* sync_ms is an hour: the file is not written yet. */
	assert_int_equal(file_size(ack), -1);
	mm_spool_close(sp);

	memcpy(want, "MMSPACK1", 8);
	le64(want + 8, 5);
	le32(want + 16, (uint32_t)crc32(0L, want, 16));
	got = read_all(ack, &len);
	assert_int_equal(len, 20);
	assert_memory_equal(got, want, 20);
	free(got);

	sp = open_ok(dir, &o, &rec);
	assert_int_equal(rec.acked, 4);
	assert_int_equal(rec.records, 6);
	assert_int_equal(mm_spool_first_unacked(sp), 5);
	expect_range(sp, 5, 10);
	mm_spool_close(sp);
}

/* With sync_ms 0 the ack file follows every ack at once. */
static void test_ack_file_immediate(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool *sp;
	char ack[512];

	quiet_opts(&o);
	o.sync_ms = 0;
	path_of(ack, sizeof ack, dir, "ack");
	sp = open_ok(dir, &o, NULL);
	append_range(sp, 1, 5);
	expect_rec(sp, 1, 1);
	expect_rec(sp, 2, 2);
	assert_int_equal(mm_spool_ack(sp, 3), 0);
	assert_int_equal(file_size(ack), 20);
	assert_int_equal(peek(ack, 8), 3);
	assert_int_equal(peek(ack, 9), 0);
	mm_spool_close(sp);
}

/* When every segment is gone, the ack file alone carries the seq on. */
static void test_seq_kept_when_empty(void **state)
{
	const char *dir = *state;
	struct mm_spool_recovery rec;
	struct mm_spool_opts o;
	struct mm_spool *sp;

	quiet_opts(&o);
	sp = open_ok(dir, &o, NULL);
	append_range(sp, 1, 3);
	expect_range(sp, 1, 3);
	assert_int_equal(mm_spool_ack(sp, 4), 0);
	expect_segs(dir, "1"); /* small: still the segment being written */
	mm_spool_close(sp);

	sp = open_ok(dir, &o, &rec);
	assert_int_equal(rec.acked, 3);
	assert_int_equal(rec.records, 0);
	assert_int_equal(rec.segments, 0);
	expect_segs(dir, "");
	assert_int_equal(mm_spool_next_seq(sp), 4);
	assert_int_equal(mm_spool_first_unacked(sp), 4);
	append_range(sp, 4, 4);
	expect_segs(dir, "2");
	expect_range(sp, 4, 4);
	mm_spool_close(sp);
}

/* --- Full spool --------------------------------------------------------- */

/* Without drop_oldest, appends past max_bytes are refused and counted;
 * acknowledged space is reused. 100-byte records, 5 to a segment. */
static void test_full_refuse(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool *sp;
	uint8_t p[100];

	quiet_opts(&o);
	o.segment_bytes = SEG_HDR + 5 * (REC_HDR + 100);
	o.max_bytes = 3 * o.segment_bytes;
	o.max_record = 100;
	memset(p, 0xee, sizeof p);
	sp = open_ok(dir, &o, NULL);
	assert_int_equal(mm_spool_fits(sp, 100), 1);
	assert_int_equal(mm_spool_fits(sp, 101), 0); /* over max_record */
	assert_int_equal(mm_spool_fits(sp, 0), 0);
	append_fixed(sp, 1, 15, 100);
	assert_int_equal(mm_spool_fits(sp, 100), 0);
	assert_int_equal(mm_spool_fits(sp, 1), 0); /* would need a new segment */
	for (int i = 0; i < 4; i++)
		assert_int_equal(mm_spool_append(sp, p, sizeof p), MM_EFULL);
	mm_spool_stats(sp, &st);
	assert_int_equal(st.refused, 4);
	assert_int_equal(st.queued, 15);
	assert_int_equal(st.records, 15);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.bytes, o.max_bytes);
	assert_int_equal(mm_spool_next_seq(sp), 16);
	expect_segs(dir, "1,2,3");
	/* Acknowledging the first segment makes room for five more. */
	expect_fixed(sp, 1, 5, 100);
	assert_int_equal(mm_spool_fits(sp, 100), 0);
	assert_int_equal(mm_spool_ack(sp, 6), 0);
	assert_int_equal(mm_spool_fits(sp, 100), 1);
	append_fixed(sp, 16, 5, 100);
	assert_int_equal(mm_spool_fits(sp, 100), 0);
	assert_int_equal(mm_spool_append(sp, p, sizeof p), MM_EFULL);
	mm_spool_stats(sp, &st);
	assert_int_equal(st.refused, 5);
	expect_segs(dir, "2,3,4");
	expect_fixed(sp, 6, 15, 100);
	mm_spool_close(sp);
}

/* One segment larger than max_bytes: once its records are acknowledged it
 * is retired so that the next record fits, and nothing is dropped. */
static void test_full_single_segment(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool *sp;
	uint8_t p[100];

	quiet_opts(&o);
	o.max_bytes = SEG_HDR + 10 * (REC_HDR + 100);
	o.max_record = 100;
	memset(p, 0, sizeof p);
	sp = open_ok(dir, &o, NULL);
	append_fixed(sp, 1, 10, 100);
	assert_int_equal(mm_spool_fits(sp, 1), 0);
	assert_int_equal(mm_spool_append(sp, p, sizeof p), MM_EFULL);
	expect_fixed(sp, 1, 10, 100);
	assert_int_equal(mm_spool_ack(sp, 10), 0); /* one record left */
	assert_int_equal(mm_spool_fits(sp, 1), 0);
	assert_int_equal(mm_spool_ack(sp, 11), 0);
	expect_segs(dir, "1"); /* acknowledged, but small next to segment_bytes */
	assert_int_equal(mm_spool_fits(sp, 100), 1);
	append_fixed(sp, 11, 1, 100);
	expect_segs(dir, "2");
	mm_spool_stats(sp, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.records, 1);
	expect_fixed(sp, 11, 1, 100);
	mm_spool_close(sp);
}

/* With drop_oldest the oldest segments go, unread or read but not
 * acknowledged, and are counted; the rest come back in order. */
static void test_drop_oldest(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool_rec r;
	struct mm_spool *sp;

	quiet_opts(&o);
	o.segment_bytes = SEG_HDR + 5 * (REC_HDR + 100);
	o.max_bytes = 3 * o.segment_bytes;
	o.max_record = 100;
	o.drop_oldest = 1;
	sp = open_ok(dir, &o, NULL);
	append_fixed(sp, 1, 5, 100);
	expect_fixed(sp, 1, 2, 100); /* handed out, not acknowledged */
	append_fixed(sp, 6, 10, 100);
	/* Full: fits says no, since only dropping makes room. */
	assert_int_equal(mm_spool_fits(sp, 100), 0);
	append_fixed(sp, 16, 8, 100); /* 1-5 and 6-10 make room for 16-23 */
	mm_spool_stats(sp, &st);
	assert_int_equal(st.dropped, 10);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.queued, 23);
	assert_int_equal(st.records, 13);
	expect_segs(dir, "3,4,5");
	assert_int_equal(mm_spool_first_unacked(sp), 11);
	expect_fixed(sp, 11, 13, 100);
	assert_int_equal(mm_spool_read(sp, &r), MM_ENOTFOUND);
	mm_spool_close(sp);
}

/* drop_oldest with one segment: writing moves to a new segment so that the
 * old one can go. */
static void test_drop_single_segment(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool *sp;

	quiet_opts(&o);
	o.max_bytes = SEG_HDR + 10 * (REC_HDR + 100);
	o.max_record = 100;
	o.drop_oldest = 1;
	sp = open_ok(dir, &o, NULL);
	append_fixed(sp, 1, 11, 100);
	mm_spool_stats(sp, &st);
	assert_int_equal(st.dropped, 10);
	assert_int_equal(st.records, 1);
	expect_segs(dir, "2");
	assert_int_equal(mm_spool_first_unacked(sp), 11);
	expect_fixed(sp, 11, 1, 100);
	mm_spool_close(sp);
}

/* --- Recovery ------------------------------------------------------------ */

/* For every cut inside the last record of a segment, reopening keeps the
 * whole records before it and reports the cut tail exactly. */
static void test_torn_tail(void **state)
{
	const char *dir = *state;
	struct mm_spool_recovery rec;
	struct mm_spool_opts o;
	struct mm_spool *sp;
	uint8_t *orig;
	size_t len, last;
	char path[512];

	quiet_opts(&o);
	seg_path(path, sizeof path, dir, 1);
	sp = open_ok(dir, &o, NULL);
	append_range(sp, 1, 3);
	mm_spool_close(sp);
	orig = read_all(path, &len);
	{
		uint8_t p[256];

		last = SEG_HDR + 2 * REC_HDR + payload(1, p) + payload(2, p);
		assert_int_equal(len, last + REC_HDR + payload(3, p));
	}
	for (size_t cut = last; cut < len; cut++) {
		struct mm_spool_rec r;

		write_all(path, orig, cut);
		sp = open_ok(dir, &o, &rec);
		EXPECT(rec.torn_bytes == cut - last, "cut at %zu: %" PRIu64 " torn bytes", cut,
		       rec.torn_bytes);
		EXPECT(rec.torn_segments == (cut > last), "cut at %zu: %u torn segments", cut,
		       rec.torn_segments);
		EXPECT(rec.records == 2 && rec.segments == 1, "cut at %zu: %" PRIu64 " records",
		       cut, rec.records);
		assert_int_equal(file_size(path), (long)last);
		assert_int_equal(mm_spool_next_seq(sp), 3);
		expect_rec(sp, 1, 1);
		expect_rec(sp, 2, 2);
		assert_int_equal(mm_spool_read(sp, &r), MM_ENOTFOUND);
		mm_spool_close(sp);
	}
	free(orig);
}

/* A flipped byte anywhere in a middle record cuts the segment there. */
static void test_corrupt_middle(void **state)
{
	static const struct {
		const char *what;
		long off; /* inside record 3 */
		uint8_t x;
	} cases[] = {
		{ "length, low byte", 0, 0x01 },
		{ "length, high byte", 3, 0x80 },
		{ "length to 0", 0, 40 },
		{ "CRC", 5, 0x10 },
		{ "first payload byte", 8, 0x01 },
		{ "last payload byte", 8 + 39, 0xff },
	};
	const char *dir = *state;
	const long rec3 = SEG_HDR + 2 * (REC_HDR + 40), size = SEG_HDR + 5 * (REC_HDR + 40);
	struct mm_spool_recovery rec;
	struct mm_spool_opts o;
	struct mm_spool *sp;
	char path[512];

	quiet_opts(&o);
	seg_path(path, sizeof path, dir, 1);
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct mm_spool_rec r;

		sp = open_ok(dir, &o, NULL);
		append_fixed(sp, 1, 5, 40);
		mm_spool_close(sp);
		assert_int_equal(file_size(path), size);
		poke(path, rec3 + cases[i].off, peek(path, rec3 + cases[i].off) ^ cases[i].x);
		sp = open_ok(dir, &o, &rec);
		EXPECT(rec.records == 2 && rec.torn_bytes == (uint64_t)(size - rec3) &&
			       rec.torn_segments == 1,
		       "%s: %" PRIu64 " records, %" PRIu64 " torn bytes", cases[i].what,
		       rec.records, rec.torn_bytes);
		assert_int_equal(file_size(path), rec3);
		expect_fixed(sp, 1, 2, 40);
		assert_int_equal(mm_spool_read(sp, &r), MM_ENOTFOUND);
		mm_spool_close(sp);
		unlink(path);
		path_of(path, sizeof path, dir, "ack");
		unlink(path);
		seg_path(path, sizeof path, dir, 1);
	}
}

/* Corruption found while reading (after open) drops the rest of that
 * segment, counted, and reading goes on with the next one; in the segment
 * being written it also moves writing to a new segment. */
static void test_corrupt_on_read(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool_rec r;
	struct mm_spool *sp;
	char p1[512], p3[512];

	quiet_opts(&o);
	o.segment_bytes = SEG_HDR + 5 * (REC_HDR + 100);
	seg_path(p1, sizeof p1, dir, 1);
	seg_path(p3, sizeof p3, dir, 3);
	sp = open_ok(dir, &o, NULL);
	append_fixed(sp, 1, 12, 100); /* 1-5 6-10 11-12 */
	poke(p1, SEG_HDR + (REC_HDR + 100) + REC_HDR + 50, 0x55); /* seq 2 */
	poke(p3, SEG_HDR + (REC_HDR + 100) + REC_HDR, 0x55);      /* seq 12 */
	expect_fixed(sp, 1, 1, 100);
	expect_fixed(sp, 6, 6, 100);
	assert_int_equal(mm_spool_read(sp, &r), MM_ENOTFOUND);
	mm_spool_stats(sp, &st);
	assert_int_equal(st.dropped, 4 + 1);
	assert_int_equal(st.records, 12 - 5);
	append_fixed(sp, 13, 1, 100);
	expect_segs(dir, "1,2,3,4");
	expect_fixed(sp, 13, 1, 100);
	assert_int_equal(mm_spool_ack(sp, 14), 0);
	mm_spool_stats(sp, &st);
	assert_int_equal(st.acked, 8);
	assert_int_equal(st.records, 0);
	expect_segs(dir, "4");
	mm_spool_close(sp);
}

/* Files that are not named like segments are counted and left alone. */
static void test_garbage_names(void **state)
{
	static const char *const names[] = {
		"foo",
		"0000000000000001.seg.txt",
		"000000000000000g.seg",
		"00000000000000001.seg",
		"000000000000001.seg",
		"000000000000000A.seg",
		"0000000000000002.SEG",
		".hidden",
	};
	const char *dir = *state;
	struct mm_spool_recovery rec;
	struct mm_spool_opts o;
	struct mm_spool *sp;
	char path[512];

	quiet_opts(&o);
	sp = open_ok(dir, &o, NULL);
	append_range(sp, 1, 3);
	mm_spool_close(sp);
	for (size_t i = 0; i < NELEM(names); i++) {
		path_of(path, sizeof path, dir, names[i]);
		write_all(path, names[i], strlen(names[i]));
	}
	path_of(path, sizeof path, dir, "0000000000000009.sub");
	assert_int_equal(mkdir(path, 0700), 0);

	sp = open_ok(dir, &o, &rec);
	assert_int_equal(rec.bad_files, NELEM(names) + 1);
	assert_int_equal(rec.records, 3);
	expect_range(sp, 1, 3);
	append_range(sp, 4, 4);
	mm_spool_close(sp);
	for (size_t i = 0; i < NELEM(names); i++) {
		path_of(path, sizeof path, dir, names[i]);
		EXPECT(file_size(path) == (long)strlen(names[i]), "%s was touched", names[i]);
	}
	expect_segs(dir, "1,2");
}

/* A segment whose header cannot be used is renamed NAME.bad, kept as it
 * was, and not read; one whose seqs skip ahead is kept. */
static void test_bad_header(void **state)
{
	static const char *const one[] = { "x" };
	static const struct {
		const char *what;
		const char *magic;
		uint64_t first;
		int truncate_to; /* 0: whole */
		int kept;
	} cases[] = {
		{ "wrong magic", "MMSPOOL2", 4, 0, 0 },
		{ "short header", "MMSPOOL1", 4, 10, 0 },
		{ "seq 0", "MMSPOOL1", 0, 0, 0 },
		{ "seq going backwards", "MMSPOOL1", 2, 0, 0 },
		{ "seq 2^62", "MMSPOOL1", UINT64_C(1) << 62, 0, 0 },
		{ "seq skipping ahead", "MMSPOOL1", 10, 0, 1 },
	};
	const char *dir = *state;
	struct mm_spool_recovery rec;
	struct mm_spool_opts o;
	struct mm_spool_rec r;
	struct mm_spool *sp;
	uint8_t seg[64], *got;
	size_t len, glen;
	char path[512], bad[512];

	quiet_opts(&o);
	seg_path(path, sizeof path, dir, 7);
	snprintf(bad, sizeof bad, "%s/0000000000000007.seg.bad", dir);
	for (size_t i = 0; i < NELEM(cases); i++) {
		sp = open_ok(dir, &o, NULL);
		append_range(sp, 1, 3);
		mm_spool_close(sp);
		len = make_seg(seg, cases[i].magic, cases[i].first, one, 1);
		if (cases[i].truncate_to)
			len = (size_t)cases[i].truncate_to;
		write_all(path, seg, len);

		sp = open_ok(dir, &o, &rec);
		EXPECT(rec.bad_files == !cases[i].kept, "%s: %u bad files", cases[i].what,
		       rec.bad_files);
		EXPECT(rec.records == 3u + (unsigned)cases[i].kept, "%s: %" PRIu64 " records",
		       cases[i].what, rec.records);
		for (uint64_t s = 1; s <= 3; s++)
			expect_rec(sp, s, s);
		if (cases[i].kept) {
			assert_int_equal(mm_spool_read(sp, &r), 0);
			assert_int_equal(r.seq, 10);
			assert_int_equal(r.len, 1);
			assert_memory_equal(r.data, "x", 1);
			assert_int_equal(mm_spool_next_seq(sp), 11);
		}
		assert_int_equal(mm_spool_read(sp, &r), MM_ENOTFOUND);
		if (!cases[i].kept) {
			assert_int_equal(file_size(path), -1);
			got = read_all(bad, &glen);
			assert_int_equal(glen, len);
			assert_memory_equal(got, seg, len);
			free(got);
			assert_int_equal(mm_spool_next_seq(sp), 4);
		}
		mm_spool_close(sp);
		/* The .bad file is never looked at again, and its number is not
		 * given to a new segment. */
		sp = open_ok(dir, &o, &rec);
		assert_int_equal(rec.bad_files, 0);
		append_fixed(sp, 99, 1, 10);
		expect_segs(dir, cases[i].kept ? "1,7,8" : "1,8");
		mm_spool_close(sp);
		rm_tree(dir, 0);
		assert_int_equal(mkdir(dir, 0700), 0);
	}
}

/* Segments with nothing in them, header only or not even that, are deleted;
 * the header's seq still counts. */
static void test_empty_segments(void **state)
{
	const char *dir = *state;
	struct mm_spool_recovery rec;
	struct mm_spool_opts o;
	struct mm_spool *sp;
	uint8_t seg[SEG_HDR];
	char path[512];

	quiet_opts(&o);
	make_seg(seg, "MMSPOOL1", 50, NULL, 0);
	seg_path(path, sizeof path, dir, 9);
	write_all(path, seg, sizeof seg);
	seg_path(path, sizeof path, dir, 10);
	write_all(path, "", 0);
	sp = open_ok(dir, &o, &rec);
	assert_int_equal(rec.segments, 0);
	assert_int_equal(rec.bad_files, 0);
	expect_segs(dir, "");
	assert_int_equal(mm_spool_next_seq(sp), 50);
	append_range(sp, 50, 50);
	expect_segs(dir, "b");
	expect_range(sp, 50, 50);
	mm_spool_close(sp);
}

/* A missing or corrupt ack file means nothing is acknowledged. */
static void test_ack_file_corrupt(void **state)
{
	static const struct {
		const char *what;
		long off; /* byte to flip; -1: use len */
		uint8_t x;
		size_t len;
	} cases[] = {
		{ "magic", 0, 0x20, 20 },  { "seq", 8, 0x01, 20 },   { "crc", 19, 0x01, 20 },
		{ "19 bytes", -1, 0, 19 }, { "21 bytes", -1, 0, 21 }, { "empty", -1, 0, 0 },
	};
	const char *dir = *state;
	struct mm_spool_recovery rec;
	struct mm_spool_opts o;
	struct mm_spool *sp;
	uint8_t good[20], buf[21];
	char ack[512];

	quiet_opts(&o);
	path_of(ack, sizeof ack, dir, "ack");
	sp = open_ok(dir, &o, NULL);
	append_range(sp, 1, 5);
	expect_range(sp, 1, 5);
	assert_int_equal(mm_spool_ack(sp, 6), 0);
	mm_spool_close(sp);
	memcpy(good, "MMSPACK1", 8);
	le64(good + 8, 6);
	le32(good + 16, (uint32_t)crc32(0L, good, 16));
	for (size_t i = 0; i < NELEM(cases); i++) {
		memset(buf, 0, sizeof buf);
		memcpy(buf, good, sizeof good);
		if (cases[i].off >= 0)
			buf[cases[i].off] ^= cases[i].x;
		write_all(ack, buf, cases[i].len);
		sp = open_ok(dir, &o, &rec);
		EXPECT(rec.acked == 0 && rec.records == 5, "%s: %" PRIu64 " acked", cases[i].what,
		       rec.acked);
		expect_range(sp, 1, 5);
		mm_spool_close(sp);
	}
	/* And the good file again: everything acknowledged. */
	write_all(ack, good, sizeof good);
	sp = open_ok(dir, &o, &rec);
	assert_int_equal(rec.acked, 5);
	assert_int_equal(rec.records, 0);
	mm_spool_close(sp);
}

/* A write that fails (here: past RLIMIT_FSIZE) leaves no partial record
 * behind, uses no seq, and moves writing to a new segment; a new segment
 * whose first write fails is removed. */
static void test_write_error(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool_rec r;
	struct mm_spool *sp;
	struct rlimit old, lim;
	uint8_t big[1500];
	char path[512];

	quiet_opts(&o);
	o.max_record = 2000;
	seg_path(path, sizeof path, dir, 1);
	memset(big, 0xab, sizeof big);
	sp = open_ok(dir, &o, NULL);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 1000;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	append_fixed(sp, 1, 9, 100); /* 16 + 9 * 108 = 988 bytes */
	assert_int_equal(mm_spool_append(sp, big, 100), MM_EIO);
	assert_int_equal(file_size(path), 988);
	/* Segment 1 is no longer written: this one starts segment 2, which
	 * cannot take it and is removed. */
	assert_int_equal(mm_spool_append(sp, big, sizeof big), MM_EIO);
	expect_segs(dir, "1");
	append_fixed(sp, 10, 1, 100); /* into segment 3 */
	expect_segs(dir, "1,3");
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	mm_spool_stats(sp, &st);
	assert_int_equal(st.queued, 10);
	assert_int_equal(st.segments, 2);
	assert_int_equal(st.bytes, 988 + 16 + 108);
	assert_int_equal(mm_spool_next_seq(sp), 11);
	expect_fixed(sp, 1, 10, 100);
	assert_int_equal(mm_spool_read(sp, &r), MM_ENOTFOUND);
	assert_int_equal(mm_spool_append(sp, big, sizeof big), 0);
	expect_segs(dir, "1,3");
	assert_int_equal(mm_spool_read(sp, &r), 0);
	assert_int_equal(r.seq, 11);
	assert_int_equal(r.len, sizeof big);
	mm_spool_close(sp);
}

/* --- Lock, limits, sync, format ----------------------------------------- */

static void test_lock(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool *sp, *sp2 = NULL;

	quiet_opts(&o);
	sp = open_ok(dir, &o, NULL);
	assert_int_equal(mm_spool_open(dir, &o, &sp2, NULL), MM_EAGAIN);
	assert_null(sp2);
	append_range(sp, 1, 1);
	mm_spool_close(sp);
	sp = open_ok(dir, &o, NULL);
	expect_range(sp, 1, 1);
	mm_spool_close(sp);
	mm_spool_close(NULL);
}

/* A record of max_record (larger than the read buffer) is taken, one byte
 * more or an empty one is not. */
static void test_max_record(void **state)
{
	const char *dir = *state;
	const uint32_t max = 300 * 1024;
	struct mm_spool_recovery rec;
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool_rec r;
	struct mm_spool *sp;
	uint8_t *big = malloc(max + 1);

	assert_non_null(big);
	for (uint32_t i = 0; i <= max; i++)
		big[i] = (uint8_t)(i * 31 + (i >> 9));
	quiet_opts(&o);
	o.max_record = max;
	o.segment_bytes = 64 * 1024;
	sp = open_ok(dir, &o, NULL);
	append_range(sp, 1, 1);
	assert_int_equal(mm_spool_append(sp, big, max), 0);
	assert_int_equal(mm_spool_append(sp, big, max + 1), MM_ETOOBIG);
	assert_int_equal(mm_spool_append(sp, big, 0), MM_ETOOBIG);
	append_range(sp, 3, 3);
	mm_spool_stats(sp, &st);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.refused, 0);
	for (int pass = 0; pass < 2; pass++) {
		expect_rec(sp, 1, 1);
		assert_int_equal(mm_spool_read(sp, &r), 0);
		assert_int_equal(r.seq, 2);
		assert_int_equal(r.len, max);
		assert_memory_equal(r.data, big, max);
		expect_range(sp, 3, 3);
		mm_spool_close(sp);
		sp = open_ok(dir, &o, &rec);
		assert_int_equal(rec.records, 3);
		assert_int_equal(rec.torn_bytes, 0);
	}
	mm_spool_close(sp);
	free(big);
}

/* How many fdatasyncs each policy makes for three appends, and after
 * mm_spool_sync(). */
static void test_sync_policies(void **state)
{
	static const struct {
		const char *policy;
		uint64_t after_appends, after_sync;
	} cases[] = {
		{ "always", 3, 3 },
		{ "never", 0, 1 },
		{ "interval=3600000", 0, 1 },
	};
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool *sp;
	char sub[512];

	for (size_t i = 0; i < NELEM(cases); i++) {
		mm_spool_opts_default(&o);
		assert_int_equal(mm_spool_sync_parse(cases[i].policy, &o), 0);
		snprintf(sub, sizeof sub, "%s/p%zu", dir, i);
		sp = open_ok(sub, &o, NULL);
		append_range(sp, 1, 3);
		mm_spool_stats(sp, &st);
		EXPECT(st.syncs == cases[i].after_appends, "%s: %" PRIu64 " syncs", cases[i].policy,
		       st.syncs);
		assert_int_equal(mm_spool_tick(sp), 0);
		assert_int_equal(mm_spool_sync(sp), 0);
		mm_spool_stats(sp, &st);
		EXPECT(st.syncs == cases[i].after_sync, "%s: %" PRIu64 " syncs after sync",
		       cases[i].policy, st.syncs);
		mm_spool_close(sp);
	}
}

/* The interval policy syncs once sync_ms have passed, at an append or a
 * tick, and only when something was written. */
static void test_sync_interval(void **state)
{
	const char *dir = *state;
	const struct timespec ms5 = { 0, 5 * 1000 * 1000 };
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool *sp;

	mm_spool_opts_default(&o);
	assert_int_equal(mm_spool_sync_parse("interval=1", &o), 0);
	sp = open_ok(dir, &o, NULL);
	nanosleep(&ms5, NULL);
	append_range(sp, 1, 1);
	mm_spool_stats(sp, &st);
	assert_int_equal(st.syncs, 1);
	assert_int_equal(mm_spool_tick(sp), 0); /* nothing new written */
	mm_spool_stats(sp, &st);
	assert_int_equal(st.syncs, 1);
	append_range(sp, 2, 2);
	nanosleep(&ms5, NULL);
	assert_int_equal(mm_spool_tick(sp), 0);
	mm_spool_stats(sp, &st);
	assert_int_equal(st.syncs, 2);
	mm_spool_close(sp);
}

/* The bytes of a segment are those of docs/formats/spool.md. */
static void test_format_bytes(void **state)
{
	const char *dir = *state;
	struct mm_spool_opts o;
	struct mm_spool *sp;
	uint8_t want[16 + 8 + 3], rec[7] = { 3, 0, 0, 0, 'a', 'b', 'c' }, *got;
	size_t len;
	char path[512];

	quiet_opts(&o);
	sp = open_ok(dir, &o, NULL);
	assert_int_equal(mm_spool_append(sp, "abc", 3), 0);
	mm_spool_close(sp);
	memcpy(want, "MMSPOOL1", 8);
	le64(want + 8, 1);
	le32(want + 16, 3);
	le32(want + 20, (uint32_t)crc32(0L, rec, sizeof rec));
	memcpy(want + 24, "abc", 3);
	seg_path(path, sizeof path, dir, 1);
	got = read_all(path, &len);
	assert_int_equal(len, sizeof want);
	assert_memory_equal(got, want, sizeof want);
	free(got);
	/* The lock and ack files are there, and nothing else. */
	path_of(path, sizeof path, dir, "lock");
	assert_int_equal(file_size(path), 0);
	path_of(path, sizeof path, dir, "ack.tmp");
	assert_int_equal(file_size(path), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_parse),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_bad_opts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_record_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_continues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_segment_after_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_deletes_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_file_immediate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_kept_when_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_refuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_single_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_single_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_on_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_file_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_bytes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
