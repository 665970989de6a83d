/*
 * The spool: a disk-backed FIFO of events that every mamori sender writes to
 * first, so that nothing is lost while a receiver is down or slow.
 *
 * A spool is a directory of append-only segment files. Each record carries
 * its length and a CRC, so that recovery at open keeps every whole record
 * and cuts a torn tail (a write cut short by a crash or power loss) instead
 * of sending garbage. Records get a sequence number (seq) that only grows;
 * a record is deleted (its whole segment, once every record in it is
 * acknowledged) only after mm_spool_ack() has covered it. The point up to
 * which records are acknowledged is kept in the file "ack" in the directory
 * (written with atomic rename), so a restart resends at most what was
 * acknowledged after the last time that file was written: duplicates are
 * possible, loss is not.
 *
 * The on-disk format is documented in docs/formats/spool.md.
 *
 * A spool is used by one process at a time (mm_spool_open() takes an
 * exclusive lock on DIR/lock) and by one thread at a time.
 *
 * Example:
 *	struct mm_spool_opts o;
 *	struct mm_spool *sp;
 *	struct mm_spool_rec r;
 *	mm_spool_opts_default(&o);
 *	if (mm_spool_open("/var/spool/mamori", &o, &sp, NULL) < 0) ...
 *	mm_spool_append(sp, "event", 5);
 *	while (mm_spool_read(sp, &r) == 0) {
 *		send(r.data, r.len);          // r.data is valid until the next call
 *		mm_spool_ack(sp, r.seq + 1);  // once the receiver confirmed it
 *	}
 *	mm_spool_close(sp);
 */
#ifndef MAMORI_SPOOL_H
#define MAMORI_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mm_spool_sync {
	MM_SPOOL_SYNC_ALWAYS,   /* fdatasync after every append */
	MM_SPOOL_SYNC_INTERVAL, /* fdatasync when sync_ms have passed since the last one */
	MM_SPOOL_SYNC_NEVER,    /* leave it to the kernel (survives a process crash, not power loss) */
};

struct mm_spool_opts {
	uint64_t max_bytes;      /* bound on all segment files together, headers
	                            included; default 64 MiB; at least
	                            24 + max_record */
	uint64_t segment_bytes;  /* a new segment is started past this size; default 4 MiB */
	uint32_t max_record;     /* largest record accepted, 1..1 GiB; default 1 MiB.
	                            Recovery takes a longer record for a corrupt one:
	                            do not lower it on a spool that holds longer ones */
	enum mm_spool_sync sync; /* default MM_SPOOL_SYNC_INTERVAL */
	unsigned sync_ms;        /* for MM_SPOOL_SYNC_INTERVAL (1..3600000), and for
	                            every policy the least time between two writes of
	                            the "ack" file (0: at every ack); default 100 */
	int drop_oldest;         /* 1: when full, delete the oldest segment even if it
	                            holds unacknowledged records (counted as dropped);
	                            0 (default): refuse the new record (counted as refused) */
};

/* What mm_spool_open() found and repaired. */
struct mm_spool_recovery {
	uint64_t segments;     /* segment files kept */
	uint64_t records;      /* whole, unacknowledged records found */
	uint64_t acked;        /* whole records skipped because "ack" already covered them */
	uint64_t torn_bytes;   /* bytes cut from the ends of segments (torn or corrupt tails) */
	unsigned torn_segments;/* segments that had such a tail */
	unsigned bad_files;    /* files in DIR that are not the spool's (left in place),
	                          and segments with an unusable header or seqs going
	                          backwards (renamed NAME.bad, never read again); each
	                          is named in the log */
};

/* Counters; all only grow, except records/bytes/segments, which are the current size. */
struct mm_spool_stats {
	uint64_t queued;   /* records appended */
	uint64_t acked;    /* records acknowledged (mm_spool_ack) */
	uint64_t refused;  /* appends refused because the spool was full */
	uint64_t dropped;  /* unacknowledged records deleted by drop_oldest */
	uint64_t records;  /* records in the spool not yet acknowledged */
	uint64_t bytes;    /* bytes of all segment files */
	uint64_t segments; /* segment files */
	uint64_t syncs;    /* fdatasync calls made on segment files */
};

struct mm_spool_rec {
	uint64_t seq;
	const void *data; /* valid until the next call on the spool */
	uint32_t len;
};

struct mm_spool;

/* Fills o with the defaults above. */
void mm_spool_opts_default(struct mm_spool_opts *o);

/*
 * Parses an fsync policy: "always", "never" or "interval=MS" (1..3600000).
 * Returns 0, or MM_EINVAL for anything else (o unchanged).
 */
int mm_spool_sync_parse(const char *s, struct mm_spool_opts *o);

/*
 * Opens (creating it, mode 0700, if missing; not its parents) the spool in
 * dir, takes its lock, and recovers it: every segment is scanned, a record
 * whose length or CRC does not check ends that segment, and the file is
 * truncated there (the cut is logged with file name and offset, and counted
 * in *rec when rec is not NULL). Fully acknowledged and empty segments are
 * deleted. Records already there are all kept, even past max_bytes. New
 * records always go to a new segment, never after a recovered tail.
 * o NULL means the defaults. Returns 0 with *out set, MM_EINVAL for bad
 * options, MM_EAGAIN when another process (or another open handle) holds
 * the lock, MM_EIO for a file system error (logged), MM_ENOMEM.
 */
int mm_spool_open(const char *dir, const struct mm_spool_opts *o, struct mm_spool **out,
		  struct mm_spool_recovery *rec);

/*
 * Appends one record of len bytes (1..max_record). Returns 0; MM_ETOOBIG
 * for a record that is empty or larger than max_record; MM_EFULL when the
 * spool is full and drop_oldest is off (the record is refused and counted;
 * acknowledged segments are freed first, the one being written included),
 * or, never in practice, when 2^62 seqs have been used; MM_EIO on a write
 * error (logged; the record is not in the spool, and writing moves to a new
 * segment) or when the record was written but its fdatasync failed (it is
 * in the spool, not known to be on stable storage). With
 * MM_SPOOL_SYNC_ALWAYS the record is on stable storage when 0 is returned;
 * otherwise it has been written to the file (it survives the death of this
 * process).
 */
int mm_spool_append(struct mm_spool *sp, const void *data, size_t len);

/*
 * 1 when a record of len bytes would be appended now without refusing or
 * dropping anything, else 0 (also for a len outside 1..max_record, which
 * waiting does not help). A producer that can wait (it reads from a file
 * or pipe) checks this first, so that waiting is not counted as refusals.
 */
int mm_spool_fits(const struct mm_spool *sp, size_t len);

/*
 * Gives the next record not yet handed out by mm_spool_read() since open or
 * the last mm_spool_rewind(). Returns 0 with *r set, MM_ENOTFOUND when there
 * is none, MM_EIO on a read error. A record found corrupt on disk after open
 * ends its segment: the rest of that segment is skipped, logged and counted
 * as dropped.
 */
int mm_spool_read(struct mm_spool *sp, struct mm_spool_rec *r);

/* Makes mm_spool_read() start again at the oldest unacknowledged record. */
void mm_spool_rewind(struct mm_spool *sp);

/*
 * Acknowledges every record with seq < upto (upto beyond the last record
 * handed out since open or the last rewind is clamped to it; an upto at or
 * below the current point changes nothing). Segments whose records are all
 * acknowledged are deleted, except the one being written while it holds
 * less than half of segment_bytes (it is deleted later, when it grows past
 * that or when its space is needed). The "ack" file is rewritten at most
 * every sync_ms (and at sync and close), never more often, so that
 * acknowledging is cheap; it is also written just before the last segment
 * is deleted, so that seqs never start again lower after a restart.
 * Returns 0, or MM_EIO (logged).
 */
int mm_spool_ack(struct mm_spool *sp, uint64_t upto);

/* The seq the next mm_spool_append() will get. */
uint64_t mm_spool_next_seq(const struct mm_spool *sp);
/* The seq of the oldest unacknowledged record (== next_seq when none). */
uint64_t mm_spool_first_unacked(const struct mm_spool *sp);

/*
 * Does the periodic work: the interval fsync and the "ack" file update when
 * they are due. Call it every now and then (at least every sync_ms) when
 * appends may pause. Returns 0 or MM_EIO.
 */
int mm_spool_tick(struct mm_spool *sp);

/* Writes everything and fdatasyncs it (whatever the policy), and the "ack" file.
 * Returns 0 or MM_EIO (logged). */
int mm_spool_sync(struct mm_spool *sp);

void mm_spool_stats(const struct mm_spool *sp, struct mm_spool_stats *st);

/* Syncs as mm_spool_sync() does, releases the lock and frees sp. NULL is ignored. */
void mm_spool_close(struct mm_spool *sp);

#ifdef __cplusplus
}
#endif
#endif
