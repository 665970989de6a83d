/*
 * bench_spool: how many events a second go through mamori's spool
 * (include/mamori/spool.h) with each fsync policy, measured beside a plain
 * append-only file written with write(2) under the same sync policy.
 *
 *   bench_spool [-n N] [-r REPS] [-d DIR] [-b BATCH]
 *
 * For each policy (always, interval=100, never) and each of REPS runs, in a
 * fresh mkdtemp directory under DIR (default $TMPDIR, else /tmp):
 *
 *   spool  mm_spool_open, N x mm_spool_append (timed: "append"), then
 *          mm_spool_read of every record, compared byte for byte and seq
 *          for seq with what was appended, mm_spool_ack every BATCH records
 *          (default 1024, the sender's default window) and mm_spool_close
 *          (timed together: "read + ack").
 *   file   the same records, back to back, written with one write(2) each
 *          to one file: fdatasync after each for always, when 100 ms have
 *          passed since the last one for interval=100, never for never
 *          (timed: "append"); then the file read back with read(2) in
 *          256 KiB pieces and compared with what was written ("read").
 *
 * `always` syncs every record, so it uses N/50 records (at least 1000, at
 * most N). The records are generated before any timing: RFC 5424 messages
 * of about 450 bytes carrying an X.1367 record, each with its own numbers.
 *
 * A record read back that differs from what was appended, comes out of
 * order or is missing is a bug of the spool: it is printed and the program
 * exits 1. Speed never changes the exit status.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "mamori/error.h"
#include "mamori/spool.h"

#define DEFAULT_N 200000
#define DEFAULT_REPS 3
#define MAX_REPS 51
#define DEFAULT_BATCH 1024
#define ALWAYS_DIVISOR 50
#define ALWAYS_MIN 1000
#define INTERVAL_MS 100
#define READ_CHUNK (256 * 1024)
#define REC_MAX 1024
#define TARGET_INTERVAL 100000.0 /* events/s end to end with interval=100 (the issue) */

#define BENCH_NAME "bench_spool"
#include "bench_util.h"

/* ---- the records ---- */

struct corpus {
	char *data;     /* every record, back to back */
	size_t bytes;
	size_t n;
	size_t *off;    /* record i is data[off[i] .. off[i] + len[i]) */
	uint32_t *len;
};

/*
 * Record i: what `mamori send` puts in the spool for an X.1367 line, an RFC
 * 5424 message with the record as MSG. Every number that varies comes from
 * i, so each record is distinct and some lengths differ.
 */
static void corpus_make(struct corpus *c, size_t n)
{
	char rec[REC_MAX];
	size_t i, cap = n * 480 + REC_MAX;

	c->n = n;
	c->bytes = 0;
	c->data = malloc(cap);
	c->off = calloc(n, sizeof *c->off);
	c->len = calloc(n, sizeof *c->len);
	if (!c->data || !c->off || !c->len)
		die("out of memory for %zu records", n);
	for (i = 0; i < n; i++) {
		unsigned u = (unsigned)i;
		int l = snprintf(
			rec, sizeof rec,
			"<109>1 2026-11-22T10:%02u:%02u.%06uZ gw-%03u.plant3.example.net mamori %u "
			"X1367 - {\"Timestamp\":\"2026-11-22T10:%02u:%02u.%03uZ\",\"Reporter\":"
			"{\"IP Address\":\"192.168.2.11\"},\"Protocol\":\"ECHONET Lite\",\"Requester\":"
			"{\"IP Address\":\"192.168.%u.%u\",\"Transmitted Code\":\"1081%08X0288\"},"
			"\"Responder\":{\"IP Address\":\"192.168.2.40\",\"Transmitted Code\":"
			"\"1081000102880105FF0151018001\"},\"Error Code\":\"31\",\"Error Message\":"
			"\"Invalid Argument\",\"Description\":\"event %u from the east wing\"}",
			(u / 60000) % 60, (u / 1000) % 60, (u % 1000) * 1000 + u % 997, u % 1000,
			1000 + u % 30000, (u / 60000) % 60, (u / 1000) % 60, u % 1000, 2 + u % 3,
			1 + u % 250, u * 2654435761u, u);
		if (l < 0 || (size_t)l >= sizeof rec)
			die("record %zu does not fit %d bytes", i, REC_MAX);
		if (c->bytes + (size_t)l > cap)
			die("corpus larger than planned");
		memcpy(c->data + c->bytes, rec, (size_t)l);
		c->off[i] = c->bytes;
		c->len[i] = (uint32_t)l;
		c->bytes += (size_t)l;
	}
}

static void corpus_free(struct corpus *c)
{
	free(c->data);
	free(c->off);
	free(c->len);
}

/* ---- the directory ---- */

/* The name of the file system type of a statfs f_type, as stat -f says it. */
static const char *fs_name(unsigned long t)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} fs[] = {
		{ 0xEF53, "ext2/ext3/ext4" }, { 0x01021994, "tmpfs" },
		{ 0x58465342, "xfs" },        { 0x9123683E, "btrfs" },
		{ 0x794C7630, "overlayfs" },  { 0xF2F52010, "f2fs" },
		{ 0x6969, "nfs" },            { 0x2FC12FC1, "zfs" },
		{ 0x24051905, "ubifs" },      { 0x72B6, "jffs2" },
		{ 0x4D44, "vfat" },           { 0x73717368, "squashfs" },
		{ 0x858458F6, "ramfs" },      { 0x65735546, "fuse" },
		{ 0x5346544E, "ntfs" },       { 0x2011BAB0, "exfat" },
	};
	size_t i;

	for (i = 0; i < sizeof fs / sizeof fs[0]; i++)
		if (fs[i].magic == t)
			return fs[i].name;
	return "unknown";
}

/* Makes a fresh directory under base, and writes back what earlier runs
 * (or anything else) left dirty on its file system, so that their
 * writeback does not land in the next timed run. */
static void make_dir(const char *base, char *out, size_t outsz)
{
	int fd;

	if ((size_t)snprintf(out, outsz, "%s/mamori-bench-spool.XXXXXX", base) >= outsz)
		die("directory name too long: %s", base);
	if (mkdtemp(out) == NULL)
		die("mkdtemp %s: %s", out, strerror(errno));
	if ((fd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		syncfs(fd);
		close(fd);
	}
}

/* Removes dir and the files in it (the spool's segments, ack and lock
 * files, the plain file: a spool directory has no subdirectories). */
static void remove_dir(const char *dir)
{
	char path[4096 + 256];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	if (rmdir(dir) < 0)
		fprintf(stderr, "bench_spool: could not remove %s: %s\n", dir, strerror(errno));
}

/* ---- one run ---- */

struct policy {
	const char *name; /* as mm_spool_sync_parse() and `mamori send --sync` take it */
	size_t n;
};

struct run {
	double append_s, read_s;
	uint64_t syncs;    /* fdatasync calls made */
	uint64_t segments; /* spool: segment files at the end of appending */
	uint64_t disk;     /* bytes on disk at the end of appending */
	size_t verified;   /* records read back identical, in order */
};

/* Prints what differs between record i and what came back, once per run. */
static void report_mismatch(const char *what, size_t i, uint64_t seq, uint64_t want_seq,
			    const void *got, size_t got_len, const struct corpus *c)
{
	printf("MISMATCH %s: record %zu (seq %" PRIu64 ", expected seq %" PRIu64 "), %zu bytes "
	       "read, %u expected\n  read:     %.*s\n  expected: %.*s\n",
	       what, i, seq, want_seq, got_len, c->len[i], (int)(got_len > 600 ? 600 : got_len),
	       (const char *)got, (int)c->len[i], c->data + c->off[i]);
}

static int spool_run(const char *dir, const struct policy *p, const struct corpus *c,
		     unsigned batch, struct run *r)
{
	struct mm_spool_opts o;
	struct mm_spool_stats st;
	struct mm_spool *sp;
	struct mm_spool_rec rec;
	uint64_t first, want;
	size_t i, bytes = c->off[p->n - 1] + c->len[p->n - 1];
	double t0, t1, t2;
	int rc, bad = 0;

	mm_spool_opts_default(&o);
	if (mm_spool_sync_parse(p->name, &o) < 0)
		die("policy %s", p->name);
	/* Every record is appended before the first is read, so the spool must
	 * hold them all; a sender reads while it appends and needs far less. */
	o.max_bytes = bytes + 8 * (uint64_t)p->n + 2 * o.segment_bytes + (1u << 20);
	if ((rc = mm_spool_open(dir, &o, &sp, NULL)) < 0)
		die("mm_spool_open %s: %s", dir, mm_strerror(rc));
	first = mm_spool_next_seq(sp);

	t0 = now_s();
	for (i = 0; i < p->n; i++)
		if ((rc = mm_spool_append(sp, c->data + c->off[i], c->len[i])) < 0)
			die("mm_spool_append record %zu (%s): %s", i, p->name, mm_strerror(rc));
	t1 = now_s();
	mm_spool_stats(sp, &st);
	r->syncs = st.syncs;
	r->segments = st.segments;
	r->disk = st.bytes;

	want = first;
	i = 0;
	while ((rc = mm_spool_read(sp, &rec)) == 0) {
		if (!bad && (i >= p->n || rec.seq != want || rec.len != c->len[i] ||
			     memcmp(rec.data, c->data + c->off[i], rec.len) != 0)) {
			if (i < p->n)
				report_mismatch(p->name, i, rec.seq, want, rec.data, rec.len, c);
			else
				printf("MISMATCH %s: record seq %" PRIu64 " read after all %zu\n",
				       p->name, rec.seq, p->n);
			bad = 1;
		}
		if (!bad)
			r->verified++;
		i++;
		want = rec.seq + 1;
		if (i % batch == 0 && (rc = mm_spool_ack(sp, want)) < 0)
			die("mm_spool_ack: %s", mm_strerror(rc));
	}
	if (rc != MM_ENOTFOUND)
		die("mm_spool_read after %zu records: %s", i, mm_strerror(rc));
	if ((rc = mm_spool_ack(sp, want)) < 0)
		die("mm_spool_ack: %s", mm_strerror(rc));
	mm_spool_stats(sp, &st);
	mm_spool_close(sp);
	t2 = now_s();
	if (i != p->n)
		printf("MISMATCH %s: %zu records read back, %zu appended\n", p->name, i, p->n);
	if (st.acked != p->n || st.records != 0)
		printf("MISMATCH %s: the spool counts %" PRIu64 " acknowledged and %" PRIu64
		       " left after acknowledging all %zu\n",
		       p->name, st.acked, st.records, p->n);
	if (i != p->n || st.acked != p->n || st.records != 0)
		r->verified = 0;
	r->append_s = t1 - t0;
	r->read_s = t2 - t1;
	return r->verified == p->n ? 0 : -1;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write: %s", w < 0 ? strerror(errno) : "wrote nothing");
		p += w;
		n -= (size_t)w;
	}
}

static int plain_run(const char *dir, const struct policy *p, const struct corpus *c,
		     struct run *r)
{
	char path[4096 + 16];
	static char buf[READ_CHUNK];
	size_t i, bytes = c->off[p->n - 1] + c->len[p->n - 1], got = 0;
	int fd, dfd, always = strcmp(p->name, "always") == 0, never = strcmp(p->name, "never") == 0;
	double t0, t1, t2, last;

	snprintf(path, sizeof path, "%s/plain.dat", dir);
	t0 = now_s();
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	/* A durable policy also makes the new file's name durable, as the
	 * spool does for a new segment. */
	if (!never) {
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) < 0)
			die("%s: fsync: %s", dir, strerror(errno));
		close(dfd);
		r->syncs++;
	}
	last = now_s();
	for (i = 0; i < p->n; i++) {
		write_all(fd, c->data + c->off[i], c->len[i]);
		if (never)
			continue;
		if (always || now_s() - last >= INTERVAL_MS / 1000.0) {
			if (fdatasync(fd) < 0)
				die("fdatasync: %s", strerror(errno));
			r->syncs++;
			last = now_s();
		}
	}
	t1 = now_s();
	r->disk = bytes;
	close(fd);

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		die("%s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		if (got + (size_t)n > bytes || memcmp(buf, c->data + got, (size_t)n) != 0) {
			printf("MISMATCH plain file %s: bytes from offset %zu differ\n", p->name, got);
			got = 0;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	unlink(path);
	t2 = now_s();
	r->verified = got == bytes ? p->n : 0;
	r->append_s = t1 - t0;
	r->read_s = t2 - t1;
	return r->verified == p->n ? 0 : -1;
}

/* ---- summary ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return v[n / 2];
}

#define NPOL 3

struct tally {
	double app[MAX_REPS], rd[MAX_REPS], e2e[MAX_REPS];
	unsigned ok;      /* runs whose records all verified */
	size_t least;     /* fewest records verified in a run */
};

static void tally_add(struct tally *t, unsigned rep, size_t n, const struct run *r)
{
	t->app[rep] = (double)n / r->append_s;
	t->rd[rep] = (double)n / r->read_s;
	t->e2e[rep] = (double)n / (r->append_s + r->read_s);
	if (r->verified == n)
		t->ok++;
	if (rep == 0 || r->verified < t->least)
		t->least = r->verified;
}

int main(int argc, char **argv)
{
	static struct policy pol[NPOL] = { { "always", 0 }, { "interval=100", 0 }, { "never", 0 } };
	struct tally ts[NPOL], tf[NPOL];
	struct corpus c;
	struct statfs sf;
	const char *base = NULL;
	unsigned long n = DEFAULT_N, reps = DEFAULT_REPS, batch = DEFAULT_BATCH;
	char dir[4096];
	unsigned rep, k;
	int i, fail = 0;
	double t0, target = 0;

	for (i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "-n") == 0)
			n = opt_num(argv[++i], ALWAYS_MIN, 100000000, "-n");
		else if (i + 1 < argc && strcmp(argv[i], "-r") == 0)
			reps = opt_num(argv[++i], 1, MAX_REPS, "-r");
		else if (i + 1 < argc && strcmp(argv[i], "-b") == 0)
			batch = opt_num(argv[++i], 1, 1000000, "-b");
		else if (i + 1 < argc && strcmp(argv[i], "-d") == 0)
			base = argv[++i];
		else
			die("usage: bench_spool [-n N (>= %d)] [-r REPS] [-d DIR] [-b BATCH]",
			    ALWAYS_MIN);
	}
	if (base == NULL || *base == '\0')
		base = getenv("TMPDIR");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	pol[0].n = n / ALWAYS_DIVISOR < ALWAYS_MIN ? ALWAYS_MIN : n / ALWAYS_DIVISOR;
	pol[1].n = n;
	pol[2].n = n;

	t0 = now_s();
	corpus_make(&c, n);
	make_dir(base, dir, sizeof dir);
	if (statfs(dir, &sf) < 0)
		die("statfs %s: %s", dir, strerror(errno));
	printf("directory: fresh mkdtemp directories under %s, on %s (statfs f_type 0x%lx)\n",
	       base, fs_name((unsigned long)sf.f_type), (unsigned long)sf.f_type);
	if ((unsigned long)sf.f_type == 0x01021994 || (unsigned long)sf.f_type == 0x858458F6)
		printf("NOTE: %s is in memory, fdatasync costs nothing there; set BENCH_SPOOL_DIR "
		       "(or -d) to a directory on the device the spool will live on\n", base);
	remove_dir(dir);
	printf("records: %lu RFC 5424 messages carrying an X.1367 record, mean %.0f bytes, "
	       "%.1f MB, generated in %.2f s before any timing\n",
	       n, (double)c.bytes / (double)n, (double)c.bytes / 1e6, now_s() - t0);
	printf("always: %zu records (N/%d, at least %d), since each append waits for its "
	       "fdatasync; interval=100 and never: %lu records\n",
	       pol[0].n, ALWAYS_DIVISOR, ALWAYS_MIN, n);
	printf("spool: default options (4 MiB segments) but max_bytes raised to hold every "
	       "record, since all are appended before the first is read; acknowledged every "
	       "%lu records and at the end\n", batch);
	printf("plain file: the same bytes, one write(2) per record to one file, fdatasync "
	       "after each (always) / every 100 ms (interval=100) / never; read back with "
	       "read(2) in 256 KiB pieces\n");
	printf("runs: %lu per policy, spool and plain file alternating, each in a fresh "
	       "directory after a syncfs; figures are medians\n\n", reps);
	fflush(stdout);

	memset(ts, 0, sizeof ts);
	memset(tf, 0, sizeof tf);
	for (rep = 0; rep < reps; rep++) {
		for (k = 0; k < NPOL; k++) {
			struct run rs, rf;
			int s_first = rep % 2 == 0;

			memset(&rs, 0, sizeof rs);
			memset(&rf, 0, sizeof rf);
			for (int which = 0; which < 2; which++) {
				make_dir(base, dir, sizeof dir);
				if ((which == 0) == s_first) {
					if (spool_run(dir, &pol[k], &c, (unsigned)batch, &rs) < 0)
						fail = 1;
				} else {
					plain_run(dir, &pol[k], &c, &rf);
				}
				remove_dir(dir);
			}
			tally_add(&ts[k], rep, pol[k].n, &rs);
			tally_add(&tf[k], rep, pol[k].n, &rf);
			printf("  run %u %-12s spool: append %.3f s, read+ack+close %.3f s, "
			       "%" PRIu64 " fdatasyncs, %" PRIu64 " segments, %.1f MB on disk, "
			       "verified %zu/%zu | plain file: append %.3f s, read %.3f s, "
			       "%" PRIu64 " fdatasyncs, verified %zu/%zu\n",
			       rep + 1, pol[k].name, rs.append_s, rs.read_s, rs.syncs, rs.segments,
			       (double)rs.disk / 1e6, rs.verified, pol[k].n, rf.append_s, rf.read_s,
			       rf.syncs, rf.verified, pol[k].n);
			fflush(stdout);
		}
	}

	printf("\n| %-14s | %-24s | %14s | %14s | %-28s |\n", "fsync policy", "events/s (median)",
	       "spool", "plain file", "ratio");
	printf("|----------------|--------------------------|----------------|----------------|"
	       "------------------------------|\n");
	for (k = 0; k < NPOL; k++) {
		const char *phase[3] = { "append", "read + ack (file: read)", "end to end" };
		double s[3], f[3];
		char ratio[64];

		s[0] = median(ts[k].app, (unsigned)reps);
		s[1] = median(ts[k].rd, (unsigned)reps);
		s[2] = median(ts[k].e2e, (unsigned)reps);
		f[0] = median(tf[k].app, (unsigned)reps);
		f[1] = median(tf[k].rd, (unsigned)reps);
		f[2] = median(tf[k].e2e, (unsigned)reps);
		for (int j = 0; j < 3; j++) {
			snprintf(ratio, sizeof ratio, "%.2fx (spool/file)", s[j] / f[j]);
			printf("| %-14s | %-24s | %14.0f | %14.0f | %-28s |\n",
			       j == 0 ? pol[k].name : "", phase[j], s[j], f[j], ratio);
		}
		if (k == 1)
			target = s[2];
	}
	printf("ratios: spool/plain file, >1: the spool is faster; below 1 it is what the "
	       "spool's framing, CRC, segments and acknowledgements cost\n");
	printf("spool interval=100 end to end: %.0f events/s (target %.0f: %s)\n\n", target,
	       TARGET_INTERVAL, target >= TARGET_INTERVAL ? "met" : "not met");
	for (k = 0; k < NPOL; k++)
		printf("verified policy=%s: %zu of %zu records byte-identical and in order, in %u "
		       "of %lu runs\n",
		       pol[k].name, ts[k].least, pol[k].n, ts[k].ok, reps);
	for (k = 0; k < NPOL; k++)
		if (tf[k].ok != reps)
			printf("plain file %s: read back differed in %lu of %lu runs\n", pol[k].name,
			       reps - tf[k].ok, reps);
	corpus_free(&c);
	return fail;
}
