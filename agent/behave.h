/*
 * The behaviour checks: pure functions over what proc.c parsed and the
 * configuration, so that each rule is unit-tested alone. watch.c gathers
 * the facts (which needs /proc and the file system) and acts on the answer.
 *
 *	struct behave_rules r;
 *	if (behave_rules_init(&r, conf) < 0) ...        the configured listen rules
 *	const char *rule;
 *	if (behave_listener(&r, &sock, &rule))
 *		... a finding, detail rule = "deny_listen" or "expect_listen"
 */
#ifndef MAMORI_AGENT_BEHAVE_H
#define MAMORI_AGENT_BEHAVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent.h"
#include "proc.h"

/* ---- names and executables ---- */

/* basename(path), and that name as the kernel would keep it as a comm (15 bytes). */
const char *behave_basename(const char *path);
void behave_comm_of(const char *path, char comm[16]);
/* 1 when comm is what the kernel would make of a file named like path. */
int behave_name_eq(const char *comm, const char *path);
/* exe as the device sees it: root ("/" or "" for none) stripped from the front. */
const char *behave_strip_root(const char *exe, const char *root);
/* 1 when list holds s exactly. */
int behave_list_has(const struct agent_list *l, const char *s);
/* 1 when list holds exe, either as the agent sees it or as the device does. */
int behave_list_has_exe(const struct agent_list *l, const char *exe, const char *root);

/* What watch.c learnt about one process. */
struct behave_proc {
	pid_t pid, ppid;
	uint32_t uid;
	unsigned long long starttime;
	int kthread;                /* PF_KTHREAD, or no executable at all */
	char comm[17];
	char exe[512];              /* the agent's view of /proc/PID/exe, "" unknown */
	int deleted;                /* exe ended in " (deleted)" */
	struct proc_cmdline cmd;
	/* Facts that need the file system, filled only when the comm is not the exe's name: */
	int argv0_is_exe;           /* argv[0] resolves, in the process's root, to the exe's inode */
	int script_arg;             /* 1 or 2: argv[n] is a "#!" script run by the exe; 0 none */
};

/* 1: the executable was deleted (and the process is not a kernel thread). */
int behave_deleted_exe(const struct behave_proc *p);

/*
 * 1: the process's name does not match its executable. It matches when
 * comm equals the exe's base name (as a 15-byte comm), or argv[0]'s base
 * name when argv[0] is the same file (multi-call binaries such as busybox),
 * or the script's base name when an interpreter runs a script. Kernel
 * threads, unknown executables and those in name_allow never masquerade.
 */
int behave_masquerade(const struct behave_proc *p, const struct agent_conf *c);

/* ---- listeners ---- */

/* One ADDR:PORT rule: family 0 is "*" (any address, either family). */
struct behave_addr {
	int family;
	uint8_t addr[16];
	uint16_t port;
};

/* Parses "127.0.0.1:48101", "*:23", "[::1]:22", "[::]:22". 0 or MM_EPARSE. */
int behave_parse_addr(const char *text, struct behave_addr *a);

struct behave_rules {
	size_t ndeny, nexpect, nports;
	struct behave_addr deny[AGENT_MAX_LIST];
	struct behave_addr expect[AGENT_MAX_LIST];
	uint16_t scan_ports[AGENT_MAX_LIST];
};

/* From c's deny_listen, expect_listen and scan_ports. MM_EPARSE names nothing: the
 * configuration was checked when it was loaded; a bad entry is skipped and counted. */
int behave_rules_init(struct behave_rules *r, const struct agent_conf *c, unsigned *bad);

/*
 * 1 when the listening socket s breaks a rule: it matches a deny_listen
 * entry (a socket on the wildcard address matches every address), or
 * expect_listen is not empty and no entry names it. *rule is
 * "deny_listen" or "expect_listen".
 */
int behave_listener(const struct behave_rules *r, const struct proc_sock *s, const char **rule);

/* 1 when port is one of the scan ports. */
int behave_scan_port(const struct behave_rules *r, uint16_t port);

/* The address of s as text ("127.0.0.1", "::1"; v4-mapped v6 as v4). */
void behave_addr_text(const struct proc_sock *s, int local, char *out, size_t size);

/* ---- scan bursts ---- */

#define BEHAVE_SCAN_PIDS 32
#define BEHAVE_SCAN_ADDRS 64

struct behave_scan {
	struct {
		pid_t pid;      /* 0: free */
		uint16_t port;  /* the port of the latest SYN */
		size_t n;
		int64_t last_ms;
		struct {
			uint8_t a[16];
			int64_t ms;
		} v[BEHAVE_SCAN_ADDRS];
	} e[BEHAVE_SCAN_PIDS];
	unsigned evicted; /* processes forgotten to make room */
};

/*
 * Counts one outbound SYN from pid to addr (16 bytes, v4 in the first 4
 * with family AF_INET) at now_ms. Addresses older than window_s are
 * forgotten first. Returns the distinct addresses pid reached within the
 * window, this one included (at most BEHAVE_SCAN_ADDRS).
 */
unsigned behave_scan_syn(struct behave_scan *t, pid_t pid, int family, const uint8_t addr[16],
			 uint16_t port, int64_t now_ms, long long window_s);
void behave_scan_forget(struct behave_scan *t, pid_t pid);

/* An outbound SYN as the packet socket saw it. */
struct behave_syn {
	int family;
	uint8_t src[16], dst[16]; /* v4 in the first 4 bytes */
	uint16_t sport, dport;
};

/*
 * Parses an IP packet from its network header: 0 when it is a TCP SYN
 * without ACK (IPv4 first fragment, or IPv6 with TCP as the first next
 * header), MM_EPARSE for anything else or a short packet.
 */
int behave_parse_syn(const uint8_t *pkt, size_t len, struct behave_syn *s);

/*
 * Writes the classic BPF program for a SOCK_DGRAM packet socket (data from
 * the network header) that keeps only outgoing TCP SYNs without ACK, IPv4
 * and IPv6, to one of r's scan ports. prog holds max instructions (struct
 * sock_filter). Returns the count, MM_ETOOBIG, or MM_ENOTFOUND without ports.
 */
struct sock_filter;
int behave_syn_filter(const struct behave_rules *r, struct sock_filter *prog, size_t max);

/* ---- services ---- */

/* 1 for a signal whose default action ends a process and that is used to stop one. */
int behave_fatal_signal(int sig);

/*
 * 1 when a signal_generate record means a service was killed: a fatal
 * signal, delivered (result 0) or already pending (2), to a process whose
 * comm is in services, sent by a known process of our pid namespace other
 * than init (sender > 1) and other than the victim itself.
 */
int behave_service_killed(const struct agent_conf *c, int sig, int result, const char *comm,
			  pid_t sender, pid_t victim);

/*
 * 1 when a listener on port owned by a process named owner (not a service)
 * takes the place of a service: held_by is the service seen on that port
 * before (NULL none); 22 and 23 belong to sshd and telnetd even unseen.
 * *service names the one replaced.
 */
int behave_service_replaced(const struct agent_conf *c, const char *owner, uint16_t port,
			    const char *held_by, const char **service);

/* ---- findings ---- */

/* Writes s as a JSON string (with quotes) into out; bytes >= 0x80 and controls become
 * \u00XX so the text is ASCII. Truncates cleanly; returns 0 or MM_ETOOBIG. */
int behave_json_str(char *out, size_t size, const char *s);

/*
 * Starts a finding about p: event, one ATT&CK id, the process fields (exe
 * with root stripped), action reported, latency -1, time now.
 */
void behave_finding(struct agent_finding *f, const char *event, const char *attack,
		    const struct behave_proc *p, const char *root);

/* The detail objects of the catalogue (docs/formats/events.md). 0 or MM_ETOOBIG. */
int behave_detail_masquerade(struct agent_finding *f, const char *comm, const char *exe);
int behave_detail_listener(struct agent_finding *f, const struct proc_sock *s, const char *rule);
int behave_detail_raw(struct agent_finding *f, unsigned protocol);
int behave_detail_scan(struct agent_finding *f, uint16_t port, unsigned addresses, long long window_s);
int behave_detail_watchdog(struct agent_finding *f, const char *device);
int behave_detail_service_killed(struct agent_finding *f, const char *service, int sig, pid_t victim);
int behave_detail_service_replaced(struct agent_finding *f, const char *service, uint16_t port);

#endif
