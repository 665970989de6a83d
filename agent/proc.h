/*
 * Bounded readers of the /proc text the behaviour watch relies on.
 *
 * Every parser takes a buffer and its length (the fuzz target feeds them
 * directly) and never reads past it; the proc_read_* wrappers read the file
 * into a fixed buffer (at most PROC_FILE_MAX bytes, more is MM_ETOOBIG) and
 * call the parser. What a process writes into its own name or command line
 * is hostile: a comm may hold ") ", spaces and newlines, a command line may
 * hold anything but NUL inside an argument.
 *
 *	struct proc_stat st;
 *	if (proc_read_stat(pid, &st) == 0 && !(st.flags & PROC_PF_KTHREAD))
 *		...
 */
#ifndef MAMORI_AGENT_PROC_H
#define MAMORI_AGENT_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_FILE_MAX 8192         /* stat, status, cmdline: larger is MM_ETOOBIG */
#define PROC_NET_MAX (1024 * 1024) /* one /proc/net table */
#define PROC_ARG_MAX 256           /* argv entries kept, NUL included */
#define PROC_PF_KTHREAD 0x00200000u

/* /proc/PID/stat: the fields the watch uses. */
struct proc_stat {
	pid_t pid;
	char comm[17]; /* up to 16 bytes as the kernel printed them, NUL-terminated */
	char state;
	pid_t ppid;
	unsigned flags;                /* PF_* */
	unsigned long long starttime;  /* clock ticks after boot: tells reused pids apart */
};

/* /proc/PID/status: Uid (real) and PPid. */
struct proc_status {
	uint32_t uid;
	pid_t ppid;
	int has_uid, has_ppid;
};

/* /proc/PID/cmdline: the first three arguments (truncated, NUL-terminated). */
struct proc_cmdline {
	int argc; /* arguments seen (all of them, not only those kept) */
	char argv[3][PROC_ARG_MAX];
};

/* One row of /proc/net/{tcp,tcp6,raw,raw6}. */
struct proc_sock {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t laddr[16];   /* network byte order; IPv4 in the first 4 bytes */
	uint8_t raddr[16];
	uint16_t lport;      /* host order; for raw sockets, the IP protocol */
	uint16_t rport;
	unsigned state;      /* TCP state (0x0A LISTEN, 0x02 SYN_SENT), raw: 0x07 */
	uint32_t uid;
	uint64_t inode;
};

#define PROC_TCP_SYN_SENT 0x02
#define PROC_TCP_LISTEN 0x0A

/*
 * Parses /proc/PID/stat text. The comm runs from the first '(' to the LAST
 * ')' so that a name holding ") " cannot shift the fields after it.
 * 0 or MM_EPARSE.
 */
int proc_parse_stat(const char *buf, size_t len, struct proc_stat *st);

/* Parses /proc/PID/status text for Uid and PPid. 0, MM_EPARSE when Uid is missing. */
int proc_parse_status(const char *buf, size_t len, struct proc_status *st);

/* /proc/PID/comm: the name without its newline (at most 16 bytes kept). 0 or MM_EPARSE. */
int proc_parse_comm(const char *buf, size_t len, char comm[17]);

/* /proc/PID/cmdline (NUL-separated). An empty buffer is argc 0. Always 0. */
int proc_parse_cmdline(const char *buf, size_t len, struct proc_cmdline *c);

/*
 * The target of /proc/PID/exe (link, len bytes, not NUL-terminated) into
 * path (size bytes) with a " (deleted)" suffix removed and *deleted set.
 * 0, MM_ETOOBIG when it does not fit, MM_EPARSE when empty or not absolute.
 */
int proc_parse_exe(const char *link, size_t len, char *path, size_t size, int *deleted);

/* "socket:[12345]" -> 12345. 0, or MM_EPARSE for any other link. */
int proc_parse_socket_link(const char *link, size_t len, uint64_t *inode);

/*
 * Parses a /proc/net/tcp, tcp6, raw or raw6 table (family AF_INET or
 * AF_INET6 says which address width to expect) and calls fn for each row.
 * Addresses are printed by the kernel as 32-bit words in host order; they
 * come back in network order. The header line is skipped; malformed rows
 * are skipped and counted in *bad (may be NULL). Returns the rows passed to fn.
 */
int proc_parse_net(const char *buf, size_t len, int family,
		   void (*fn)(const struct proc_sock *s, void *arg), void *arg, unsigned *bad);

/* ---- file readers (the same parsers over /proc) ---- */

/* Reads a whole small file into buf (size bytes, NUL-terminated): bytes read, or MM_EIO,
 * MM_ENOTFOUND (gone) or MM_ETOOBIG. */
ssize_t proc_read_file(const char *path, char *buf, size_t size);
int proc_read_stat(pid_t pid, struct proc_stat *st);
int proc_read_status(pid_t pid, struct proc_status *st);
int proc_read_cmdline(pid_t pid, struct proc_cmdline *c);
/* readlink /proc/PID/exe: 0, MM_ENOTFOUND (gone or a kernel thread), MM_ETOOBIG. */
int proc_read_exe(pid_t pid, char *path, size_t size, int *deleted);
/* Reads /proc/net/NAME ("tcp", "tcp6", "raw", "raw6") through proc_parse_net. */
int proc_read_net(const char *name, void (*fn)(const struct proc_sock *s, void *arg), void *arg);

/*
 * Socket inode -> pid, filled by scanning /proc/PID/fd links: at most
 * PROC_INODES entries, PROC_SCAN_PIDS processes and PROC_SCAN_FDS
 * descriptors each; what does not fit is counted in overflow.
 */
#define PROC_INODES 4096
#define PROC_SCAN_PIDS 8192
#define PROC_SCAN_FDS 4096
struct proc_inode_map {
	size_t n;
	unsigned overflow;
	struct {
		uint64_t inode;
		pid_t pid;
	} v[PROC_INODES];
};
/* Scans every process; only inodes for which want(inode, arg) says 1 are kept
 * (want NULL: all). 0 or MM_EIO when /proc cannot be read. */
int proc_inode_scan(struct proc_inode_map *m, int (*want)(uint64_t inode, void *arg), void *arg);
/* Adds pid's socket inodes to m (not cleared first). */
void proc_inode_scan_pid(struct proc_inode_map *m, pid_t pid,
			 int (*want)(uint64_t inode, void *arg), void *arg);
/* The pid holding inode, or 0. */
pid_t proc_inode_pid(const struct proc_inode_map *m, uint64_t inode);

/* Calls fn for each numeric entry of /proc (at most PROC_SCAN_PIDS). Returns the count. */
int proc_each_pid(void (*fn)(pid_t pid, void *arg), void *arg);

#endif
