/*
 * The guard's own declarations, beyond the contracts of agent.h: the
 * policy's error report, its sizes, the mountinfo reader and the guard's
 * counters as they travel in struct agent_stats.
 */
#ifndef MAMORI_AGENT_GUARD_H
#define MAMORI_AGENT_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"

/* The most entries a feed or a baseline may hold; more is MM_ETOOBIG. */
#define POLICY_MAX_ENTRIES 1000000u
/* The largest feed or baseline file read (bytes); larger is MM_ETOOBIG. */
#define POLICY_MAX_FILE (128u << 20)

/* Filesystem magics (linux/magic.h) the policy knows by name. */
#define POLICY_TMPFS_MAGIC 0x01021994L
#define POLICY_RAMFS_MAGIC ((long)0x858458f6) /* f_type is an int on 32-bit CPUs */
#define POLICY_OVERLAYFS_MAGIC 0x794c7630L

/*
 * Why the last parse or reload failed: a short text ("not a SHA-256",
 * "too many entries", ...) and the 1-based line (0: not about a line).
 * Valid until the next parse. Example:
 *
 *	if (policy_reload_feed(p, path) < 0)
 *		log_warnx("%s:%zu: %s", path, policy_error_line(p), policy_error(p));
 */
const char *policy_error(const struct policy *p);
size_t policy_error_line(const struct policy *p);
/* Entries in the feed and in the baseline now in force. */
size_t policy_feed_count(const struct policy *p);
size_t policy_baseline_count(const struct policy *p);
/* 1 when a deny_fstypes name is known (tmpfs, ramfs, devtmpfs, overlay, ...). */
int policy_fstype_known(const char *name);

/* The guard's counters, their index in agent_stats.counters (part "guard"). */
enum guard_counter {
	GC_EVENTS = 0,       /* exec (and self-protection) events seen */
	GC_ALLOWED,          /* answered allow */
	GC_DENIED,           /* answered deny (or killed, in fallback) */
	GC_CACHE_HITS,
	GC_CACHE_MISSES,
	GC_SCANS,            /* sent to the reporter for a hash / YARA */
	GC_SCAN_TIMEOUTS,    /* answered with on_timeout after scan_timeout */
	GC_PENDING_FULL,     /* max_pending reached or the reporter gone */
	GC_FALLBACK_KILLS,   /* processes killed by the fallback */
	GC_SELF_DENIED,      /* opens of the agent's files by others */
	GC_FALLBACK,         /* 1 while the process connector fallback is in use */
	GC_SEND_DROPPED,     /* messages to the reporter dropped (socket full) */
	GC_FEED_ENTRIES,     /* hashes in the feed in force */
	GC_PCONN_LOST,       /* fallback: the connector dropped events (socket full) */
	GC_COUNT
};

/* One line of /proc/self/mountinfo, the fields the guard uses (unescaped). */
struct mnt_info {
	int id;
	char point[512];   /* mount point */
	char fstype[32];
	char upperdir[512]; /* overlay's upperdir= super option, "" none */
};

/*
 * Parses mountinfo text; calls fn for each well-formed line (a line too long
 * or malformed is skipped). Returns the number of lines given to fn.
 */
size_t mountinfo_parse(const char *text, size_t len,
		       void (*fn)(const struct mnt_info *m, void *arg), void *arg);

/* respond.c: the parent of pid from /proc/PID/stat, or -1. */
pid_t proc_ppid(pid_t pid);

#endif
