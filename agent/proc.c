/*
 * Bounded readers of /proc text (proc.h). The parsers are pure functions
 * over a buffer so that the fuzz target and the unit tests drive them
 * without a /proc; the readers below them only fetch the bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "proc.h"

/* A slice of the input the parsers walk. */
struct span {
	const char *p;
	size_t len, pos;
};

static int sp_peek(const struct span *s)
{
	return s->pos < s->len ? (unsigned char)s->p[s->pos] : -1;
}

static void sp_blanks(struct span *s)
{
	while (sp_peek(s) == ' ' || sp_peek(s) == '\t')
		s->pos++;
}

/* An unsigned decimal of at most max; 0 or MM_EPARSE (no digits, overflow). */
static int sp_udec(struct span *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t start = s->pos;
	int ch;

	while ((ch = sp_peek(s)) >= '0' && ch <= '9') {
		if (v > (max - (unsigned)(ch - '0')) / 10)
			return MM_EPARSE;
		v = v * 10 + (unsigned)(ch - '0');
		s->pos++;
	}
	if (s->pos == start)
		return MM_EPARSE;
	*out = v;
	return 0;
}

/* A signed decimal (stat has negative fields). */
static int sp_sdec(struct span *s, long long *out)
{
	unsigned long long v;
	int neg = 0;

	if (sp_peek(s) == '-') {
		neg = 1;
		s->pos++;
	}
	if (sp_udec(s, (unsigned long long)LLONG_MAX, &v) < 0)
		return MM_EPARSE;
	*out = neg ? -(long long)v : (long long)v;
	return 0;
}

/* Skips one space-separated field. */
static int sp_skip_field(struct span *s)
{
	size_t start;

	sp_blanks(s);
	start = s->pos;
	while (sp_peek(s) > ' ')
		s->pos++;
	return s->pos > start ? 0 : MM_EPARSE;
}

/* Up to n hex digits; 0 or MM_EPARSE when there were none. */
static int sp_hex(struct span *s, size_t n, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t k = 0;
	int d;

	/* Stops after n digits: an IPv6 address is four 8-digit words in a row. */
	while (k < n && (d = mm_hex_digit(sp_peek(s))) >= 0) {
		v = v << 4 | (unsigned)d;
		s->pos++;
		k++;
	}
	if (k == 0)
		return MM_EPARSE;
	*out = v;
	return 0;
}

int proc_parse_stat(const char *buf, size_t len, struct proc_stat *st)
{
	struct span s = {buf, len, 0};
	const char *open, *close = NULL;
	unsigned long long u;
	long long v;
	size_t i, n;
	int field;

	memset(st, 0, sizeof *st);
	if (sp_udec(&s, INT_MAX, &u) < 0)
		return MM_EPARSE;
	st->pid = (pid_t)u;
	if (sp_peek(&s) != ' ' || s.pos + 1 >= len || buf[s.pos + 1] != '(')
		return MM_EPARSE;
	open = buf + s.pos + 1;
	/* The name is the process's to choose: only the last ')' ends it. */
	for (i = len; i > (size_t)(open - buf) + 1; i--) {
		if (buf[i - 1] == ')') {
			close = buf + i - 1;
			break;
		}
	}
	if (close == NULL)
		return MM_EPARSE;
	n = (size_t)(close - open - 1);
	if (n > sizeof st->comm - 1)
		n = sizeof st->comm - 1;
	memcpy(st->comm, open + 1, n);
	st->comm[n] = '\0';
	s.pos = (size_t)(close - buf) + 1;
	if (sp_peek(&s) != ' ')
		return MM_EPARSE;
	s.pos++;
	if (sp_peek(&s) <= ' ')
		return MM_EPARSE;
	st->state = (char)sp_peek(&s);
	s.pos++;
	/* Fields 4 (ppid) .. 22 (starttime), numbered as in proc(5). */
	for (field = 4; field <= 22; field++) {
		if (sp_peek(&s) != ' ')
			return MM_EPARSE;
		s.pos++;
		if (sp_sdec(&s, &v) < 0)
			return MM_EPARSE;
		if (field == 4) {
			if (v < 0 || v > INT_MAX)
				return MM_EPARSE;
			st->ppid = (pid_t)v;
		} else if (field == 9) {
			if (v < 0 || v > UINT_MAX)
				return MM_EPARSE;
			st->flags = (unsigned)v;
		} else if (field == 22) {
			if (v < 0)
				return MM_EPARSE;
			st->starttime = (unsigned long long)v;
		}
	}
	return 0;
}

/* The line "Name:\t..." starting at s->pos, when it is `name`: points s after the colon. */
static int sp_key(struct span *s, const char *name)
{
	size_t n = strlen(name);

	if (s->len - s->pos < n + 1 || memcmp(s->p + s->pos, name, n) != 0 ||
	    s->p[s->pos + n] != ':')
		return 0;
	s->pos += n + 1;
	return 1;
}

static void sp_next_line(struct span *s)
{
	const char *nl = memchr(s->p + s->pos, '\n', s->len - s->pos);

	s->pos = nl ? (size_t)(nl - s->p) + 1 : s->len;
}

int proc_parse_status(const char *buf, size_t len, struct proc_status *st)
{
	struct span s = {buf, len, 0};
	unsigned long long v;

	memset(st, 0, sizeof *st);
	while (s.pos < s.len) {
		if (sp_key(&s, "Uid")) {
			sp_blanks(&s);
			if (sp_udec(&s, UINT32_MAX, &v) == 0) {
				st->uid = (uint32_t)v;
				st->has_uid = 1;
			}
		} else if (sp_key(&s, "PPid")) {
			sp_blanks(&s);
			if (sp_udec(&s, INT_MAX, &v) == 0) {
				st->ppid = (pid_t)v;
				st->has_ppid = 1;
			}
		}
		sp_next_line(&s);
	}
	return st->has_uid ? 0 : MM_EPARSE;
}

int proc_parse_comm(const char *buf, size_t len, char comm[17])
{
	size_t n = len;

	/* Only the kernel's trailing newline goes; one inside the name stays. */
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n == 0)
		return MM_EPARSE;
	if (n > 16)
		n = 16;
	memcpy(comm, buf, n);
	comm[n] = '\0';
	if (strlen(comm) != n)
		return MM_EPARSE;
	return 0;
}

int proc_parse_cmdline(const char *buf, size_t len, struct proc_cmdline *c)
{
	size_t pos = 0;

	memset(c, 0, sizeof *c);
	while (pos < len) {
		const char *nul = memchr(buf + pos, '\0', len - pos);
		size_t n = nul ? (size_t)(nul - buf) - pos : len - pos;

		if (c->argc < 3) {
			size_t k = n < PROC_ARG_MAX - 1 ? n : PROC_ARG_MAX - 1;

			memcpy(c->argv[c->argc], buf + pos, k);
			c->argv[c->argc][k] = '\0';
		}
		if (c->argc < INT_MAX)
			c->argc++;
		pos += n + 1;
	}
	return 0;
}

int proc_parse_exe(const char *link, size_t len, char *path, size_t size, int *deleted)
{
	static const char suffix[] = " (deleted)";
	size_t n = len, sl = sizeof suffix - 1;

	*deleted = 0;
	if (n > sl && memcmp(link + n - sl, suffix, sl) == 0) {
		n -= sl;
		*deleted = 1;
	}
	/* A process's executable is always an absolute path (memfds too: "/memfd:x"). */
	if (n == 0 || link[0] != '/' || memchr(link, '\0', n) != NULL)
		return MM_EPARSE;
	if (n >= size)
		return MM_ETOOBIG;
	memcpy(path, link, n);
	path[n] = '\0';
	return 0;
}

int proc_parse_socket_link(const char *link, size_t len, uint64_t *inode)
{
	struct span s = {link, len, 0};
	unsigned long long v;

	if (len < 10 || memcmp(link, "socket:[", 8) != 0)
		return MM_EPARSE;
	s.pos = 8;
	if (sp_udec(&s, UINT64_MAX, &v) < 0 || sp_peek(&s) != ']' || s.pos + 1 != len)
		return MM_EPARSE;
	*inode = v;
	return 0;
}

/*
 * "0100007F:1F90": the kernel prints each 32-bit word of the address as a
 * host-order number, so the word's value stored back in host order gives
 * the address's bytes in network order on either endianness.
 */
static int net_addr(struct span *s, int family, uint8_t addr[16], uint16_t *port)
{
	unsigned long long v;
	size_t words = family == AF_INET6 ? 4 : 1, i;

	memset(addr, 0, 16);
	for (i = 0; i < words; i++) {
		uint32_t w;
		size_t start = s->pos;

		if (sp_hex(s, 8, &v) < 0 || s->pos - start != 8)
			return MM_EPARSE;
		w = (uint32_t)v;
		memcpy(addr + 4 * i, &w, 4);
	}
	if (sp_peek(s) != ':')
		return MM_EPARSE;
	s->pos++;
	if (sp_hex(s, 4, &v) < 0)
		return MM_EPARSE;
	*port = (uint16_t)v;
	return 0;
}

/* One row: "  0: LOCAL REMOTE ST TXQ:RXQ TR:WHEN RETR UID TIMEOUT INODE ...". */
static int net_row(struct span *s, int family, struct proc_sock *r)
{
	unsigned long long v;
	int i;

	memset(r, 0, sizeof *r);
	r->family = family;
	sp_blanks(s);
	if (sp_udec(s, UINT_MAX, &v) < 0 || sp_peek(s) != ':')
		return MM_EPARSE;
	s->pos++;
	sp_blanks(s);
	if (net_addr(s, family, r->laddr, &r->lport) < 0)
		return MM_EPARSE;
	sp_blanks(s);
	if (net_addr(s, family, r->raddr, &r->rport) < 0)
		return MM_EPARSE;
	sp_blanks(s);
	if (sp_hex(s, 2, &v) < 0)
		return MM_EPARSE;
	r->state = (unsigned)v;
	/* tx_queue:rx_queue, tr:tm->when, retrnsmt */
	for (i = 0; i < 3; i++)
		if (sp_skip_field(s) < 0)
			return MM_EPARSE;
	sp_blanks(s);
	if (sp_udec(s, UINT32_MAX, &v) < 0)
		return MM_EPARSE;
	r->uid = (uint32_t)v;
	if (sp_skip_field(s) < 0) /* timeout */
		return MM_EPARSE;
	sp_blanks(s);
	if (sp_udec(s, UINT64_MAX, &v) < 0)
		return MM_EPARSE;
	r->inode = v;
	return 0;
}

int proc_parse_net(const char *buf, size_t len, int family,
		   void (*fn)(const struct proc_sock *s, void *arg), void *arg, unsigned *bad)
{
	struct span s = {buf, len, 0};
	struct proc_sock r;
	int rows = 0;

	if (family != AF_INET && family != AF_INET6)
		return 0;
	sp_next_line(&s); /* the header */
	while (s.pos < s.len) {
		struct span line = s;
		const char *nl = memchr(s.p + s.pos, '\n', s.len - s.pos);

		line.len = nl ? (size_t)(nl - s.p) : s.len;
		if (net_row(&line, family, &r) == 0) {
			fn(&r, arg);
			rows++;
		} else if (bad != NULL) {
			(*bad)++;
		}
		sp_next_line(&s);
	}
	return rows;
}

/* ---- readers ---- */

ssize_t proc_read_file(const char *path, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	if (size == 0)
		return MM_EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? MM_ENOTFOUND : MM_EIO;
	while (got < size - 1) {
		n = read(fd, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			close(fd);
			return err == ESRCH ? MM_ENOTFOUND : MM_EIO;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got == size - 1) {
		char c;

		n = read(fd, &c, 1);
		if (n > 0) {
			close(fd);
			return MM_ETOOBIG;
		}
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

static ssize_t read_pid_file(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	return proc_read_file(path, buf, size);
}

int proc_read_stat(pid_t pid, struct proc_stat *st)
{
	char buf[1024];
	ssize_t n = read_pid_file(pid, "stat", buf, sizeof buf);

	return n < 0 ? (int)n : proc_parse_stat(buf, (size_t)n, st);
}

int proc_read_status(pid_t pid, struct proc_status *st)
{
	char buf[PROC_FILE_MAX];
	ssize_t n = read_pid_file(pid, "status", buf, sizeof buf);

	return n < 0 ? (int)n : proc_parse_status(buf, (size_t)n, st);
}

int proc_read_cmdline(pid_t pid, struct proc_cmdline *c)
{
	char buf[PROC_FILE_MAX];
	ssize_t n = read_pid_file(pid, "cmdline", buf, sizeof buf);

	/* A long command line is still useful: its first arguments came first. */
	if (n == MM_ETOOBIG) {
		char path[64];
		int fd;

		snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return MM_ENOTFOUND;
		n = read(fd, buf, sizeof buf);
		close(fd);
		if (n < 0)
			return MM_EIO;
	}
	return n < 0 ? (int)n : proc_parse_cmdline(buf, (size_t)n, c);
}

int proc_read_exe(pid_t pid, char *path, size_t size, int *deleted)
{
	char link[64], buf[PATH_MAX + 16];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
	n = readlink(link, buf, sizeof buf);
	if (n < 0)
		return errno == EACCES || errno == EPERM ? MM_EIO : MM_ENOTFOUND;
	if ((size_t)n >= sizeof buf)
		return MM_ETOOBIG;
	return proc_parse_exe(buf, (size_t)n, path, size, deleted);
}

int proc_read_net(const char *name, void (*fn)(const struct proc_sock *s, void *arg), void *arg)
{
	static char buf[PROC_NET_MAX];
	char path[64];
	ssize_t n;
	int family = strchr(name, '6') ? AF_INET6 : AF_INET;

	snprintf(path, sizeof path, "/proc/net/%s", name);
	n = proc_read_file(path, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	return proc_parse_net(buf, (size_t)n, family, fn, arg, NULL);
}

static int numeric(const char *s, pid_t *pid)
{
	struct span sp = {s, strlen(s), 0};
	unsigned long long v;

	if (sp_udec(&sp, INT_MAX, &v) < 0 || sp.pos != sp.len || v == 0)
		return 0;
	*pid = (pid_t)v;
	return 1;
}

int proc_each_pid(void (*fn)(pid_t pid, void *arg), void *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	pid_t pid;

	if (d == NULL)
		return MM_EIO;
	while (n < PROC_SCAN_PIDS && (e = readdir(d)) != NULL) {
		if (!numeric(e->d_name, &pid))
			continue;
		fn(pid, arg);
		n++;
	}
	closedir(d);
	return n;
}

static void scan_fds(struct proc_inode_map *m, pid_t pid,
		     int (*want)(uint64_t inode, void *arg), void *arg)
{
	char dir[64], link[320], target[64];
	struct dirent *e;
	uint64_t inode;
	ssize_t n;
	int fds = 0;
	pid_t fd;
	DIR *d;

	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!numeric(e->d_name, &fd) && strcmp(e->d_name, "0") != 0)
			continue;
		if (++fds > PROC_SCAN_FDS) {
			m->overflow++;
			break;
		}
		snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
		n = readlink(link, target, sizeof target);
		if (n <= 0 || (size_t)n >= sizeof target)
			continue;
		if (proc_parse_socket_link(target, (size_t)n, &inode) < 0)
			continue;
		if (want != NULL && !want(inode, arg))
			continue;
		if (m->n == PROC_INODES) {
			m->overflow++;
			continue;
		}
		m->v[m->n].inode = inode;
		m->v[m->n].pid = pid;
		m->n++;
	}
	closedir(d);
}

struct scan_ctx {
	struct proc_inode_map *m;
	int (*want)(uint64_t inode, void *arg);
	void *arg;
};

static void scan_one(pid_t pid, void *arg)
{
	struct scan_ctx *c = arg;

	scan_fds(c->m, pid, c->want, c->arg);
}

int proc_inode_scan(struct proc_inode_map *m, int (*want)(uint64_t inode, void *arg), void *arg)
{
	struct scan_ctx c = {m, want, arg};

	m->n = 0;
	m->overflow = 0;
	return proc_each_pid(scan_one, &c) < 0 ? MM_EIO : 0;
}

void proc_inode_scan_pid(struct proc_inode_map *m, pid_t pid,
			 int (*want)(uint64_t inode, void *arg), void *arg)
{
	scan_fds(m, pid, want, arg);
}

pid_t proc_inode_pid(const struct proc_inode_map *m, uint64_t inode)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->v[i].inode == inode)
			return m->v[i].pid;
	return 0;
}
