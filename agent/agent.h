/*
 * mamorid, the device agent: the contracts between its parts.
 *
 * Four processes, joined by SOCK_SEQPACKET socketpairs carrying the fixed
 * messages below (lib/ipc, include/mamori/ipc.h):
 *
 *   guard   (main.c forks nothing before it; it is the parent, root)
 *           fanotify FAN_OPEN_EXEC_PERM on the watched mounts, the policy
 *           (policy.c) and the verdict cache (cache.c). It answers every
 *           permission event itself; what needs a file's SHA-256 or a YARA
 *           scan goes to the reporter as AGENT_MSG_SCAN with the file's
 *           descriptor and is answered when AGENT_MSG_SCAN_RESULT comes back
 *           or scan_timeout passes, whichever is first. It logs nothing and
 *           writes nothing in that path. Without exec permission events
 *           (fallback) it takes the process connector's exec event instead
 *           and kills what the policy denies. Self-protection: FAN_OPEN_PERM
 *           on the agent's binary, configuration, feed and baseline.
 *   watch   (child, root with only the capabilities it needs)
 *           the behaviour watch (behave.c): process connector events,
 *           /proc, a packet socket for outbound TCP SYNs to the scan ports,
 *           the signal_generate tracepoint for who kills a service,
 *           FAN_OPEN_PERM on the watchdog devices; kills in enforce mode.
 *   device  (child, root without most capabilities) detect: Device
 *           Defender's metrics every interval checked against the security
 *           profile; audit at start and daily (in a short-lived child, as
 *           crypt(3) of a dictionary takes seconds); inventory (the SBOM) at
 *           start and when it changes. Documents go to the reporter by
 *           descriptor (AGENT_MSG_DOC).
 *   report  (child, the unprivileged `user`, seccomp)
 *           hashes and YARA-scans files for the guard (scan.c), builds the
 *           events (report.c), copies executables into the quarantine
 *           (quarantine.c), writes them as JSON lines to STATE/events.jsonl
 *           and through the spool and sender to the SOC.
 *
 * Everything a finding says travels in struct agent_finding; the reporter
 * turns it into the JSON event documented in docs/formats/events.md.
 */
#ifndef MAMORI_AGENT_H
#define MAMORI_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mamori/hash.h"

enum agent_mode { AGENT_MONITOR = 0, AGENT_ENFORCE = 1 };
enum agent_fallback { AGENT_FALLBACK_AUTO = 0, AGENT_FALLBACK_YES = 1, AGENT_FALLBACK_NO = 2 };

#define AGENT_MAX_LIST 64 /* entries in any list key */

/* A list key: "a b c" split on blanks and commas, each entry malloc'd. */
struct agent_list {
	size_t n;
	char *v[AGENT_MAX_LIST];
};

/*
 * The whole configuration (mamorid.conf(5)); config.c fills it with the
 * defaults, the file, then the command line. Strings are malloc'd.
 */
struct agent_conf {
	/* [agent] */
	enum agent_mode mode;          /* mode = monitor | enforce (default monitor) */
	enum agent_fallback fallback;  /* fallback = auto | yes | no */
	char *device_id;               /* device_id (default: the host name) */
	char *firmware;                /* firmware (default: VERSION_ID of os-release, or "") */
	char *state;                   /* state (default /var/lib/mamori) */
	char *soc;                     /* soc = URL or none (default none) */
	char *user;                    /* user (default nobody): the reporter runs as it */
	long long heartbeat_s;         /* heartbeat (default 60) */
	struct agent_list watch;       /* --watch MOUNTPOINT...: empty = every mount */

	/* [policy] */
	char *root;                    /* root (default /): the device's / as seen by the agent */
	struct agent_list deny_fstypes;/* deny_fstypes (default tmpfs ramfs) */
	struct agent_list deny_paths;  /* deny_paths (default /tmp /var/tmp /var/run /run /dev /dev/shm) */
	struct agent_list allow_paths; /* allow_paths: exceptions to the two above (default none) */
	int deny_overlay_upper;        /* deny_overlay_upper (default yes) */
	char *feed;                    /* feed: SHA-256 deny list (docs/formats/feed.md) */
	char *baseline;                /* baseline: `mamori baseline build` output */
	int allowlist;                 /* allowlist (default no): only baseline files run */
	char *yara_rules;              /* yara_rules: a rules source file (default none) */
	long long scan_timeout_ms;     /* scan_timeout (default 500, ms) */
	int on_timeout_deny;           /* on_timeout = allow | deny (default allow) */
	long long scan_max_size;       /* scan_max_size (default 64M): larger is undecided */
	long long cache_size;          /* cache_size (default 4096 verdicts) */
	long long max_pending;         /* max_pending (default 256 scans in flight) */

	/* [behaviour] */
	int behaviour;                 /* enabled (default yes) */
	long long sweep_s;             /* sweep_interval (default 10) */
	struct agent_list watchdogs;   /* watchdog_devices (default /dev/watchdog /dev/watchdog0 /dev/misc/watchdog) */
	struct agent_list watchdog_allow; /* watchdog_allow: executables that may open them */
	struct agent_list expect_listen;  /* expect_listen: ADDR:PORT (* for any address); empty = not checked */
	struct agent_list deny_listen;    /* deny_listen (default *:48101) */
	struct agent_list raw_allow;      /* raw_socket_allow: executables that may hold raw sockets */
	struct agent_list scan_ports;     /* scan_ports (default 23 2323) */
	long long scan_burst;          /* scan_burst (default 10 distinct addresses) */
	long long scan_window_s;       /* scan_window (default 10 s) */
	struct agent_list services;    /* services (default telnetd sshd dropbear mamorid) */
	struct agent_list name_allow;  /* name_allow: executables whose process may carry another name */

	/* [detect] (device.c, detect.h) */
	int detect;                    /* enabled (default yes) */
	long long detect_interval_s;   /* interval (default 60 s) */
	char *profile;                 /* profile: a security profile file (default none: metrics only) */
	char *custom_file;             /* custom_metrics_file (default none) */
	char *custom_command;          /* custom_metrics_command (default none) */
	long long custom_timeout_s;    /* custom_metrics_timeout (default 5 s) */
	int report_format;             /* report_format = mamori | aws | aws-short (0, 1, 2; default 0) */
	long long send_metrics;        /* send_metrics: every Nth interval as detect.metrics, 0 never (default 0) */

	/* [audit] (device.c, audit.h) */
	int audit;                     /* enabled (default yes) */
	long long audit_interval_s;    /* interval (default 86400: daily) */
	char *credentials;             /* credentials: the dictionary (default the shipped one) */
	struct agent_list certs;       /* certificates: PEM files to check (default none: the built-in paths) */
	long long cert_days;           /* cert_expiry_days (default 30) */
	struct agent_list setuid_allow;/* setuid_allow (default none: the built-in list) */
	char *support_end;             /* support_end = YYYY-MM-DD (default: SUPPORT_END of os-release) */

	/* [inventory] (device.c, inventory.h) */
	int inventory;                 /* enabled (default yes) */
	long long inventory_interval_s;/* interval (default 3600): looked at again, sent when it changed */

	/* [quarantine] */
	char *quarantine;              /* dir (default STATE/quarantine) */
	long long quarantine_max;      /* max_size (default 64M); the oldest go first */

	/* [spool] */
	long long spool_max;           /* max_size (default 16M) */
	char *spool_sync;              /* sync (default interval) */

	char *conf_path;               /* the file read, or NULL */
};

/* config.c */
void conf_defaults(struct agent_conf *c);
/* Loads path into c; on error fills err (with the line) and returns < 0. */
struct mm_conf_err;
int conf_load(struct agent_conf *c, const char *path, struct mm_conf_err *err);
/* Splits "a b,c" into l (replacing what it held). 0, MM_ETOOBIG or MM_ENOMEM. */
int conf_list_set(struct agent_list *l, const char *text);
void conf_list_free(struct agent_list *l);
/* Copies src into dst (size bytes), cut to fit and always NUL-terminated;
 * src is read no further than size - 1 bytes, so it need not end in a NUL
 * within a fixed field. */
void agent_strcpy(char *dst, size_t size, const char *src);
void conf_free(struct agent_conf *c);

/* ---- messages between the processes (type field of struct mm_ipc_hdr) ---- */

enum agent_msg {
	AGENT_MSG_SCAN = 1,        /* guard -> report, fd: the file; struct agent_scan_req */
	AGENT_MSG_SCAN_RESULT = 2, /* report -> guard; struct agent_scan_res, same id */
	AGENT_MSG_FINDING = 3,     /* guard|watch -> report, fd optional: the file or
				      /proc/PID/exe to hash and quarantine; struct agent_finding */
	AGENT_MSG_STATS = 4,       /* guard|watch -> report; struct agent_stats (for the heartbeat) */
	AGENT_MSG_DOC = 5,         /* device -> report, fd (required): a sealed memfd holding one
				      JSON object of at most AGENT_DOC_MAX bytes, which becomes the
				      event's "detail"; struct agent_finding with detail "" */
};

/* The largest document (a metrics report, a part of the SBOM) one event carries. */
#define AGENT_DOC_MAX (48 * 1024)

struct agent_scan_req {
	uint64_t size;   /* st_size the guard saw */
	uint8_t yara;    /* 1: also run the YARA rules */
	uint8_t pad[7];
};

enum agent_scan_status {
	AGENT_SCAN_OK = 0,
	AGENT_SCAN_TOOBIG = 1, /* larger than scan_max_size: not hashed */
	AGENT_SCAN_ERROR = 2,  /* could not be read */
};

struct agent_scan_res {
	uint32_t status;          /* enum agent_scan_status */
	uint8_t yara_match;       /* 1: a rule matched */
	uint8_t pad[3];
	uint64_t size;            /* bytes hashed */
	uint8_t sha256[MM_SHA256_LEN];
	char yara_rule[64];       /* the first matching rule's identifier */
};

enum agent_action {
	AGENT_ACT_REPORTED = 0, /* monitor mode: seen and reported, not stopped */
	AGENT_ACT_DENIED = 1,   /* the exec or open was refused */
	AGENT_ACT_KILLED = 2,   /* the process (and its children) were killed */
	AGENT_ACT_ALLOWED = 3,  /* undecided, and the default let it run */
};

#define AGENT_ATTACK_MAX 4

struct agent_finding {
	char event[48];         /* "guard.exec.denied", "guard.behaviour.listener" ... */
	char reason[32];        /* "volatile", "feed", "allowlist", "yara", "timeout" ... */
	char attack[AGENT_ATTACK_MAX][16]; /* ATT&CK ids, "" = unused */
	uint32_t action;        /* enum agent_action */
	uint8_t quarantine;     /* 1: copy the attached fd's bytes into the quarantine */
	uint8_t has_sha256;     /* 1: sha256 below is the attached file's; else report hashes fd */
	uint8_t pad[2];
	uint8_t sha256[MM_SHA256_LEN];
	int64_t time_ms;        /* wall clock, ms since the epoch, when it was seen */
	int32_t pid, ppid;      /* in the agent's pid namespace; 0 unknown */
	uint32_t uid;
	uint32_t killed;        /* processes killed (the process and its children) */
	int64_t latency_us;     /* fallback: exec to kill; -1 not measured */
	char comm[17];          /* the process's name (/proc/PID/comm) */
	char pad2[7];
	char exe[512];          /* its executable (/proc/PID/exe), "" unknown */
	char path[512];         /* the file the event is about (exec, open), "" none */
	char detail[1024];      /* a JSON object of the event's own fields, or "" */
};

struct agent_stats {
	char part[16];          /* "guard" | "watch" */
	uint64_t counters[16];  /* named in report.c per part; 0 unused */
};

/* ---- guard (guard.c, policy.c, cache.c) ---- */

enum verdict { V_ALLOW = 0, V_DENY = 1, V_SCAN = 2 /* needs the hash / YARA */ };

struct policy;

/*
 * policy.c: the decision. policy_new() reads the feed and baseline named in
 * c (either may be NULL: none); policy_reload_feed() replaces the feed
 * (the old one stays on error). The path decision looks at where a file
 * lives; the hash decision at what it is.
 */
int policy_new(const struct agent_conf *c, struct policy **out);
void policy_free(struct policy *p);
int policy_reload_feed(struct policy *p, const char *path);
/*
 * Where: path as the agent sees it (root is stripped before matching),
 * fs_magic from fstatfs(2) (f_type), upper: 1 when the file is in an overlay
 * upper layer. V_DENY with *reason = "volatile" | "writable" | "overlay";
 * V_SCAN when the hash or YARA must decide; else V_ALLOW.
 */
enum verdict policy_path(const struct policy *p, const char *path, long fs_magic, int upper,
			 const char **reason);
/* What: V_DENY with *reason "feed" | "allowlist" | "yara", else V_ALLOW. */
enum verdict policy_hash(const struct policy *p, const uint8_t sha256[MM_SHA256_LEN], uint64_t size,
			 int yara_match, const char **reason);
/* Parsers, also for the fuzz targets: one feed or baseline text. */
int policy_parse_feed(struct policy *p, const char *text, size_t len);
int policy_parse_baseline(struct policy *p, const char *text, size_t len);

/* cache.c: bounded LRU of verdicts keyed by (dev, ino, size, mtime, ctime). */
struct vcache;
struct vkey {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};
int vcache_new(size_t max, struct vcache **out);
void vcache_free(struct vcache *c);
/* 1 and *v when found, 0 when not. */
int vcache_get(struct vcache *c, const struct vkey *k, enum verdict *v);
void vcache_put(struct vcache *c, const struct vkey *k, enum verdict v);
void vcache_clear(struct vcache *c);
size_t vcache_count(const struct vcache *c);

/* guard.c: runs until SIGTERM/SIGINT; report_fd is the socket to the reporter. */
int guard_run(const struct agent_conf *c, int report_fd, const pid_t *agent_pids, size_t npids);

/* ---- watch (watch.c, behave.c, procconn.c, proc.c, sigwatch.c, respond.c) ---- */
int watch_run(const struct agent_conf *c, int report_fd);

/*
 * respond.c, shared by guard and watch: opens /proc/PID/exe (O_RDONLY) for
 * the quarantine, then stops and kills the process and every descendant.
 * Returns the number killed; *exe_fd gets the descriptor or -1.
 */
int respond_kill_tree(pid_t pid, int *exe_fd);

/* procconn.c: the netlink process connector (shared by guard fallback and watch). */
enum pconn_kind { PCONN_NONE, PCONN_FORK, PCONN_EXEC, PCONN_COMM, PCONN_EXIT };
struct pconn_ev {
	enum pconn_kind kind;
	pid_t pid, tgid;       /* the process (exec, comm, exit) or the child (fork) */
	pid_t parent_tgid;     /* fork only */
	uint64_t ts_ns;        /* the kernel's CLOCK_MONOTONIC time of the event */
	int exit_code;         /* exit only: wait(2)-style status */
	char comm[17];         /* comm only */
};
/* Opens, binds and subscribes; the fd is non-blocking. */
int pconn_open(int *fd);
/* Reads what is waiting; calls fn for each event. 0, MM_EAGAIN when none, MM_EIO. */
int pconn_read(int fd, void (*fn)(const struct pconn_ev *ev, void *arg), void *arg);
/* Parses one datagram (for the fuzz target and pconn_read). */
int pconn_parse(const void *buf, size_t len, void (*fn)(const struct pconn_ev *ev, void *arg), void *arg);

/* ---- device (device.c): detect, audit and inventory ---- */

/* Runs until SIGTERM/SIGINT; report_fd is the socket to the reporter. */
int device_run(const struct agent_conf *c, int report_fd);

/* ---- report (report.c, scan.c, quarantine.c) ---- */
int report_run(const struct agent_conf *c, const int *fds, size_t nfds);

/* scan.c: SHA-256 and YARA for one descriptor; stub when YARA is off. */
struct scanner;
int scan_new(const char *yara_rules, struct scanner **out); /* NULL: no rules */
void scan_free(struct scanner *s);
int scan_fd(struct scanner *s, int fd, uint64_t max, int yara, struct agent_scan_res *res);
int scan_has_yara(const struct scanner *s);

/* quarantine.c: content-addressed copies under dir, total at most max bytes. */
struct quarantine;
int quarantine_open(const char *dir, uint64_t max, struct quarantine **out);
void quarantine_close(struct quarantine *q);
/* Copies fd's bytes to DIR/<sha256 hex>; the oldest copies go to make room.
 * Returns 0 (also when already there), MM_ETOOBIG when larger than max. */
int quarantine_put(struct quarantine *q, int fd, const uint8_t sha256[MM_SHA256_LEN]);

#endif
