/*
 * Device Defender's device-side metrics, gathered on the device (detect.h).
 *
 * Sockets come from NETLINK_SOCK_DIAG rather than /proc/net/{tcp,udp}: one
 * dump per family and protocol, filtered by state in the kernel, with the
 * bound device in each record. Counters come from /proc/net/dev, the
 * process count from /proc, custom metrics from a file or a command that
 * the administrator configured. The parsers are pure functions over a
 * buffer so that the unit tests and the fuzz target drive them alone.
 */
#define _GNU_SOURCE /* pipe2, close_range */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "detect.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define CUSTOM_MAX_BYTES (64 * 1024)  /* a custom metrics document, file or command output */
#define NETDEV_MAX_BYTES (1024 * 1024) /* /proc/net/dev; a line is about 130 bytes */
#define IFADDR_MAX 256                 /* local addresses looked at for a socket's interface */
#define DIAG_MAX_RECV 4096             /* recv() calls of one dump */
#define DIAG_RCVBUF 32768

/* The kernel's TCP states as sock_diag numbers them (include/net/tcp_states.h). */
enum { ST_ESTABLISHED = 1, ST_CLOSE = 7, ST_LISTEN = 10 };

/* Copies src into a fixed field, cut to fit, always terminated. */
static void field_copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Allocates a zeroed set on the heap (it is a few hundred KiB).
 *	struct metrics *m;
 *	if (metrics_new(&m) == 0) { metrics_collect(&o, m); ...; metrics_free(m); }
 */
int metrics_new(struct metrics **out)
{
	*out = calloc(1, sizeof **out);
	return *out == NULL ? MM_ENOMEM : 0;
}

/* Frees a set from metrics_new; NULL is allowed. */
void metrics_free(struct metrics *m)
{
	free(m);
}

/* ---- /proc/net/dev ---- */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* One decimal token of a netdev line; 0, or MM_EPARSE on a non-digit or overflow. */
static int netdev_num(const char **pp, const char *end, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p < '0' || *p > '9')
		return MM_EPARSE;
	while (p < end && *p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return MM_EPARSE;
		v = v * 10 + d;
		p++;
	}
	if (p < end && *p != ' ' && *p != '\t')
		return MM_EPARSE;
	*pp = p;
	*out = v;
	return 0;
}

/*
 * One "  eth0: rx_bytes rx_packets ... tx_bytes tx_packets ..." line. The
 * kernel writes 16 counters; fewer than 10 (up to tx_packets) or any
 * non-numeric token makes the line malformed. 1 when it is an interface
 * line that was added (or is lo), 0 for a header line, MM_EPARSE otherwise.
 */
static int netdev_line(const char *p, const char *end, struct metrics *m)
{
	const char *colon = memchr(p, ':', (size_t)(end - p));
	const char *ns, *ne;
	uint64_t v[16];
	size_t n = 0;

	if (colon == NULL)
		return 0;
	for (ns = p; ns < colon && (*ns == ' ' || *ns == '\t'); ns++)
		;
	for (ne = colon; ne > ns && (ne[-1] == ' ' || ne[-1] == '\t'); ne--)
		;
	if (ne == ns || (size_t)(ne - ns) >= IFNAMSIZ)
		return MM_EPARSE;
	p = colon + 1;
	while (n < 16) {
		const char *q = p;

		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q == end)
			break;
		if (netdev_num(&p, end, &v[n]) < 0)
			return MM_EPARSE;
		n++;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (n < 10 || p != end)
		return MM_EPARSE;
	if ((size_t)(ne - ns) == 2 && memcmp(ns, "lo", 2) == 0)
		return 1;
	m->bytes_in = sat_add(m->bytes_in, v[0]);
	m->packets_in = sat_add(m->packets_in, v[1]);
	m->bytes_out = sat_add(m->bytes_out, v[8]);
	m->packets_out = sat_add(m->packets_out, v[9]);
	return 1;
}

/*
 * Parses /proc/net/dev text: m's four counters are set to the sums over
 * every interface but "lo" (a sum that would overflow stays at UINT64_MAX).
 * Header lines (no ':') are passed over; a malformed interface line is
 * skipped. Returns 0 when at least one interface line parsed (lo counts),
 * MM_EPARSE otherwise (the counters are then zero).
 */
int metrics_parse_netdev(const char *text, size_t len, struct metrics *m)
{
	const char *p = text, *end = text + len;
	int seen = 0;

	m->bytes_in = m->bytes_out = m->packets_in = m->packets_out = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;

		if (netdev_line(p, le, m) == 1)
			seen = 1;
		p = nl != NULL ? nl + 1 : end;
	}
	return seen ? 0 : MM_EPARSE;
}

/* ---- custom metrics ---- */

static int custom_name_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= METRICS_NAME_MAX - 1)
			return 0;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == ':' || c == '.' || c == '-'))
			return 0;
	}
	/* Those prefixes are the names of the built-in metrics in metrics_json(). */
	if (strncmp(s, "aws:", 4) == 0 || strncmp(s, "mamori:", 7) == 0)
		return 0;
	return n > 0;
}

static int is_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* A JSON number (integer or real) as a finite double; 0 or MM_EINVALID. */
static int json_num(const json_t *v, double *out)
{
	if (json_is_integer(v))
		*out = (double)json_integer_value(v);
	else if (json_is_real(v))
		*out = json_real_value(v);
	else
		return MM_EINVALID;
	return isfinite(*out) ? 0 : MM_EINVALID;
}

/*
 * An array of numbers (want METRIC_NUMBER_LIST), of strings (STRING_LIST or
 * IP_LIST), or either (want < 0: the elements decide; an empty array is then
 * a number list). 0 or MM_EINVALID (mixed, too long, a string too long, not
 * an address).
 */
static int custom_list(const json_t *a, int want, struct metric_custom *c)
{
	size_t i, n = json_array_size(a);

	if (n > METRICS_MAX_VALUES)
		return MM_EINVALID;
	if (want < 0)
		want = n > 0 && json_is_string(json_array_get(a, 0)) ? METRIC_STRING_LIST
								      : METRIC_NUMBER_LIST;
	c->type = (enum metric_custom_type)want;
	for (i = 0; i < n; i++) {
		const json_t *e = json_array_get(a, i);

		if (want == METRIC_NUMBER_LIST) {
			if (json_num(e, &c->num[i]) < 0)
				return MM_EINVALID;
			continue;
		}
		if (!json_is_string(e) || json_string_length(e) >= METRICS_STR_MAX ||
		    strlen(json_string_value(e)) != json_string_length(e))
			return MM_EINVALID;
		if (want == METRIC_IP_LIST && !is_ip(json_string_value(e)))
			return MM_EINVALID;
		field_copy(c->str[i], sizeof c->str[i], json_string_value(e));
	}
	c->n = n;
	return 0;
}

/* One member's value into c: the bare forms, or Device Defender's typed objects. */
static int custom_value(const json_t *v, struct metric_custom *c)
{
	static const struct {
		const char *key;
		int type;
	} typed[] = {
		{"number", METRIC_NUMBER},
		{"number_list", METRIC_NUMBER_LIST},
		{"string_list", METRIC_STRING_LIST},
		{"ip_list", METRIC_IP_LIST},
	};
	const char *key;
	json_t *inner;
	size_t i;

	if (json_is_number(v)) {
		c->type = METRIC_NUMBER;
		c->n = 1;
		return json_num(v, &c->num[0]);
	}
	if (json_is_array(v))
		return custom_list(v, -1, c);
	if (!json_is_object(v) || json_object_size(v) != 1)
		return MM_EINVALID;
	json_object_foreach((json_t *)v, key, inner) {
		for (i = 0; i < sizeof typed / sizeof typed[0]; i++) {
			if (strcmp(key, typed[i].key) != 0)
				continue;
			if (typed[i].type == METRIC_NUMBER) {
				c->type = METRIC_NUMBER;
				c->n = 1;
				return json_is_number(inner) ? json_num(inner, &c->num[0])
							     : MM_EINVALID;
			}
			if (!json_is_array(inner))
				return MM_EINVALID;
			return custom_list(inner, typed[i].type, c);
		}
	}
	return MM_EINVALID;
}

static int custom_find(const struct metrics *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_custom; i++)
		if (strcmp(m->custom[i].name, name) == 0)
			return 1;
	return 0;
}

/*
 * Parses a custom metrics JSON object (docs/formats/metrics.md) and appends
 * its metrics to m->custom. A member with a bad name or value, a name seen
 * before, or one past METRICS_MAX_CUSTOM is skipped and counted in
 * m->custom_dropped. Returns 0, MM_ETOOBIG (over 64 KiB), MM_EPARSE (not
 * JSON, or not an object).
 */
int metrics_parse_custom(const char *text, size_t len, struct metrics *m)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;

	if (len > CUSTOM_MAX_BYTES)
		return MM_ETOOBIG;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return MM_EPARSE;
	if (!json_is_object(root)) {
		json_decref(root);
		return MM_EPARSE;
	}
	json_object_foreach(root, key, v) {
		struct metric_custom *c;

		if (m->n_custom >= METRICS_MAX_CUSTOM || !custom_name_ok(key) ||
		    custom_find(m, key)) {
			m->custom_dropped++;
			continue;
		}
		c = &m->custom[m->n_custom];
		memset(c, 0, sizeof *c);
		if (custom_value(v, c) < 0) {
			memset(c, 0, sizeof *c);
			m->custom_dropped++;
			continue;
		}
		field_copy(c->name, sizeof c->name, key);
		m->n_custom++;
	}
	json_decref(root);
	return 0;
}

/* ---- counters ---- */

static uint64_t counter_diff(uint64_t prev, uint64_t cur)
{
	return cur >= prev ? cur - prev : 0;
}

/* Counter differences cur - prev; a counter that went backwards gives 0. */
void metrics_delta(const struct metrics *prev, const struct metrics *cur, struct metrics_delta *d)
{
	memset(d, 0, sizeof *d);
	if (prev == NULL || cur == NULL)
		return;
	d->bytes_in = counter_diff(prev->bytes_in, cur->bytes_in);
	d->bytes_out = counter_diff(prev->bytes_out, cur->bytes_out);
	d->packets_in = counter_diff(prev->packets_in, cur->packets_in);
	d->packets_out = counter_diff(prev->packets_out, cur->packets_out);
	d->ms = cur->mono_ms - prev->mono_ms;
}

/* ---- reading files and commands ---- */

/*
 * Reads fd to its end into a malloc'd, NUL-terminated buffer of at most max
 * bytes. 0, MM_ETOOBIG (more than max), MM_EIO, MM_ENOMEM.
 */
static int read_fd(int fd, size_t max, char **out, size_t *outlen)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1), *nb;
	ssize_t r;

	if (buf == NULL)
		return MM_ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap >= max) {
				free(buf);
				return MM_ETOOBIG;
			}
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				free(buf);
				return MM_ENOMEM;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return MM_EIO;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

static int read_path(const char *path, size_t max, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc;

	if (fd < 0)
		return MM_EIO;
	rc = read_fd(fd, max, out, outlen);
	close(fd);
	return rc;
}

/*
 * Runs cmd with /bin/sh -c in a process group of its own, reads at most
 * CUSTOM_MAX_BYTES of its stdout and kills the group when it outlives
 * timeout_s. 0 with a malloc'd buffer when it exited with status 0;
 * MM_ETOOBIG, MM_EAGAIN (timed out), MM_EINVALID (failed), MM_EIO.
 */
static int run_command(const char *cmd, int timeout_s, char **out, size_t *outlen)
{
	int64_t deadline = clock_ms(CLOCK_MONOTONIC) + (int64_t)timeout_s * 1000;
	size_t cap = CUSTOM_MAX_BYTES, len = 0;
	int pfd[2], status = 0, rc = 0, devnull;
	char *buf;
	pid_t pid;

	buf = malloc(cap + 1);
	if (buf == NULL)
		return MM_ENOMEM;
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		free(buf);
		return MM_EIO;
	}
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		free(buf);
		return MM_EIO;
	}
	if (pid == 0) {
		setpgid(0, 0);
		devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(pfd[1], STDOUT_FILENO);
		/* The agent's sockets and files are none of the command's business. */
		close_range(STDERR_FILENO + 1, ~0U, 0);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(pfd[1]);
	for (;;) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int64_t left = deadline - clock_ms(CLOCK_MONOTONIC);
		ssize_t r;
		int n;

		if (left <= 0) {
			rc = MM_EAGAIN;
			break;
		}
		n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = MM_EIO;
			break;
		}
		if (n == 0)
			continue;
		if (len == cap) {
			rc = MM_ETOOBIG;
			break;
		}
		r = read(pfd[0], buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = MM_EIO;
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(pfd[0]);
	/* The shell may have left children holding nothing we wait for: end the group. */
	if (rc < 0)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		rc = MM_EINVALID;
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* ---- sockets: interface of a local address ---- */

struct ifaddr_ent {
	int family;
	unsigned char addr[16], mask[16];
	char name[IFNAMSIZ];
};

struct ifaddr_tab {
	size_t n;
	struct ifaddr_ent e[IFADDR_MAX];
};

static void ifaddr_load(struct ifaddr_tab *t)
{
	struct ifaddrs *ifa, *i;

	t->n = 0;
	if (getifaddrs(&ifa) != 0) {
		log_warn("metrics: getifaddrs");
		return;
	}
	for (i = ifa; i != NULL && t->n < IFADDR_MAX; i = i->ifa_next) {
		struct ifaddr_ent *e = &t->e[t->n];

		if (i->ifa_addr == NULL || i->ifa_name == NULL)
			continue;
		memset(e, 0, sizeof *e);
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *a = (const struct sockaddr_in *)i->ifa_addr;
			const struct sockaddr_in *k = (const struct sockaddr_in *)i->ifa_netmask;

			e->family = AF_INET;
			memcpy(e->addr, &a->sin_addr, 4);
			if (k != NULL)
				memcpy(e->mask, &k->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)i->ifa_addr;
			const struct sockaddr_in6 *k = (const struct sockaddr_in6 *)i->ifa_netmask;

			e->family = AF_INET6;
			memcpy(e->addr, &a->sin6_addr, 16);
			if (k != NULL)
				memcpy(e->mask, &k->sin6_addr, 16);
		} else {
			continue;
		}
		field_copy(e->name, sizeof e->name, i->ifa_name);
		t->n++;
	}
	freeifaddrs(ifa);
}

/*
 * The interface holding addr: an exact address first, else the first
 * interface whose subnet contains it (127.0.0.5 is on lo's 127.0.0.0/8).
 */
static const char *ifaddr_find(const struct ifaddr_tab *t, int family, const unsigned char *addr)
{
	size_t alen = family == AF_INET ? 4 : 16, i, k;

	for (i = 0; i < t->n; i++)
		if (t->e[i].family == family && memcmp(t->e[i].addr, addr, alen) == 0)
			return t->e[i].name;
	for (i = 0; i < t->n; i++) {
		const struct ifaddr_ent *e = &t->e[i];
		int in = e->family == family;

		for (k = 0; in && k < alen; k++)
			if ((e->addr[k] & e->mask[k]) != (addr[k] & e->mask[k]))
				in = 0;
		if (in)
			return e->name;
	}
	return "";
}

static int addr_is_any(int family, const unsigned char *a)
{
	static const unsigned char zero[16];

	return memcmp(a, zero, family == AF_INET ? 4 : 16) == 0;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is looked up and written as IPv4. */
static int addr_unmap(int family, const unsigned char *a, unsigned char *out)
{
	static const unsigned char pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (family == AF_INET6 && memcmp(a, pre, 12) == 0) {
		memcpy(out, a + 12, 4);
		return AF_INET;
	}
	memcpy(out, a, family == AF_INET ? 4 : 16);
	return family;
}

/* ---- sockets: sock_diag ---- */

struct diag_ctx {
	struct metrics *m;
	const struct ifaddr_tab *ifs;
	int proto;
};

static void sock_ifname(const struct diag_ctx *c, const struct inet_diag_msg *d, int family,
			const unsigned char *addr, char *out, size_t outlen)
{
	char name[IF_NAMESIZE];

	if (d->id.idiag_if != 0 && if_indextoname(d->id.idiag_if, name) != NULL) {
		field_copy(out, outlen, name);
		return;
	}
	if (addr_is_any(family, addr)) {
		out[0] = '\0';
		return;
	}
	field_copy(out, outlen, ifaddr_find(c->ifs, family, addr));
}

static void diag_record(struct diag_ctx *c, const struct inet_diag_msg *d)
{
	struct metrics *m = c->m;
	unsigned char src[16], dst[16];
	int fam_s, fam_d;

	if (d->idiag_family != AF_INET && d->idiag_family != AF_INET6)
		return;
	fam_s = addr_unmap(d->idiag_family, (const unsigned char *)d->id.idiag_src, src);
	fam_d = addr_unmap(d->idiag_family, (const unsigned char *)d->id.idiag_dst, dst);
	if (d->idiag_state == ST_ESTABLISHED && c->proto == IPPROTO_TCP) {
		struct metric_conn *k;

		m->total_conn++;
		if (m->n_conn >= METRICS_MAX_CONNS)
			return;
		k = &m->conn[m->n_conn++];
		memset(k, 0, sizeof *k);
		k->family = (uint8_t)fam_d;
		inet_ntop(fam_d, dst, k->remote, sizeof k->remote);
		k->rport = ntohs(d->id.idiag_dport);
		k->lport = ntohs(d->id.idiag_sport);
		sock_ifname(c, d, fam_s, src, k->ifname, sizeof k->ifname);
		return;
	}
	if ((c->proto == IPPROTO_TCP && d->idiag_state == ST_LISTEN) ||
	    (c->proto == IPPROTO_UDP && d->idiag_state == ST_CLOSE && d->id.idiag_sport != 0)) {
		struct metric_port *p;
		size_t *n = c->proto == IPPROTO_TCP ? &m->n_tcp : &m->n_udp;
		uint64_t *total = c->proto == IPPROTO_TCP ? &m->total_tcp : &m->total_udp;

		(*total)++;
		if (*n >= METRICS_MAX_PORTS)
			return;
		p = c->proto == IPPROTO_TCP ? &m->tcp[*n] : &m->udp[*n];
		(*n)++;
		memset(p, 0, sizeof *p);
		p->port = ntohs(d->id.idiag_sport);
		p->family = (uint8_t)fam_s;
		inet_ntop(fam_s, src, p->addr, sizeof p->addr);
		sock_ifname(c, d, fam_s, src, p->ifname, sizeof p->ifname);
	}
}

/*
 * One SOCK_DIAG_BY_FAMILY dump. Every message is length-checked before
 * its body is read; the loop ends at NLMSG_DONE, an error, or after
 * DIAG_MAX_RECV datagrams. 0 or MM_EIO.
 */
static int diag_dump(int fd, int family, int proto, uint32_t states, struct diag_ctx *c)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
	static uint32_t seq;
	long buf[DIAG_RCVBUF / sizeof(long)];
	int i;

	memset(&req, 0, sizeof req);
	req.nlh.nlmsg_len = sizeof req;
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = ++seq;
	req.r.sdiag_family = (uint8_t)family;
	req.r.sdiag_protocol = (uint8_t)proto;
	req.r.idiag_states = states;
	c->proto = proto;
	if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&nl, sizeof nl) < 0) {
		log_warn("metrics: sock_diag request");
		return MM_EIO;
	}
	for (i = 0; i < DIAG_MAX_RECV; i++) {
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
		size_t left;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			log_warn("metrics: sock_diag receive");
			return MM_EIO;
		}
		left = (size_t)r;
		for (; left >= sizeof *h && NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != req.nlh.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				/* A kernel without IPv6 or UDP diag answers ENOENT:
				 * no sockets of that kind, not a failure. */
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) &&
				    (e->error == -ENOENT || e->error == -EOPNOTSUPP))
					return 0;
				log_warnx("metrics: sock_diag error %d",
					  h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) ? e->error : 0);
				return MM_EIO;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				continue;
			diag_record(c, NLMSG_DATA(h));
		}
	}
	log_warnx("metrics: sock_diag dump did not end after %d reads", DIAG_MAX_RECV);
	return MM_EIO;
}

static int collect_sockets(struct metrics *m)
{
	static const int fams[] = {AF_INET, AF_INET6};
	struct ifaddr_tab *ifs;
	struct diag_ctx c;
	struct timeval tv = {.tv_sec = 2};
	int fd, rc = 0;
	size_t i;

	ifs = malloc(sizeof *ifs);
	if (ifs == NULL)
		return MM_ENOMEM;
	ifaddr_load(ifs);
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0) {
		log_warn("metrics: sock_diag socket");
		free(ifs);
		return MM_EIO;
	}
	/* A dump that stalls must not stall the interval. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	c.m = m;
	c.ifs = ifs;
	for (i = 0; i < 2 && rc == 0; i++) {
		rc = diag_dump(fd, fams[i], IPPROTO_TCP,
			       (1u << ST_LISTEN) | (1u << ST_ESTABLISHED), &c);
		if (rc == 0)
			rc = diag_dump(fd, fams[i], IPPROTO_UDP, 1u << ST_CLOSE, &c);
	}
	close(fd);
	free(ifs);
	return rc;
}

/* ---- /proc ---- */

static uint64_t count_processes(const char *proc)
{
	DIR *d = opendir(proc);
	struct dirent *e;
	uint64_t n = 0;

	if (d == NULL) {
		log_warn("metrics: %s", proc);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		const char *s = e->d_name;

		if (*s == '\0')
			continue;
		while (*s >= '0' && *s <= '9')
			s++;
		if (*s == '\0')
			n++;
	}
	closedir(d);
	return n;
}

static void collect_custom(const struct metrics_opts *o, struct metrics *m)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (o->custom_file != NULL) {
		rc = read_path(o->custom_file, CUSTOM_MAX_BYTES, &text, &len);
		if (rc == 0)
			rc = metrics_parse_custom(text, len, m);
		if (rc < 0) {
			log_warnx("metrics: custom file %s: %s", o->custom_file, mm_strerror(rc));
			m->custom_dropped++;
		}
		free(text);
		text = NULL;
	}
	if (o->custom_command != NULL) {
		rc = run_command(o->custom_command,
				 o->command_timeout_s > 0 ? o->command_timeout_s : 5, &text, &len);
		if (rc == 0)
			rc = metrics_parse_custom(text, len, m);
		if (rc < 0) {
			log_warnx("metrics: custom command: %s",
				  rc == MM_EAGAIN     ? "timed out"
				  : rc == MM_EINVALID ? "failed"
						      : mm_strerror(rc));
			m->custom_dropped++;
		}
		free(text);
	}
}

/*
 * Fills m (reset first) from sock_diag, /proc/net/dev, /proc and the custom
 * sources of o (o may be NULL). 0, or MM_EIO when the sockets or the
 * counters could not be read (what could be read is still in m).
 */
/*
 * Empties m without touching its arrays: each entry is cleared when it is
 * taken, and a set is some 500 KiB of which a device fills a few pages, so
 * that clearing it all every interval would keep all of it resident.
 */
static void metrics_reset(struct metrics *m)
{
	m->time_ms = m->mono_ms = 0;
	m->n_tcp = m->n_udp = m->n_conn = 0;
	m->total_tcp = m->total_udp = m->total_conn = 0;
	m->bytes_in = m->bytes_out = m->packets_in = m->packets_out = 0;
	m->processes = 0;
	m->n_custom = 0;
	m->custom_dropped = 0;
}

int metrics_collect(const struct metrics_opts *o, struct metrics *m)
{
	static const struct metrics_opts none;
	const char *proc;
	char path[4096], *text = NULL;
	size_t len = 0;
	int rc = 0, r;

	if (o == NULL)
		o = &none;
	proc = o->proc != NULL ? o->proc : "/proc";
	metrics_reset(m);
	m->time_ms = clock_ms(CLOCK_REALTIME);
	m->mono_ms = clock_ms(CLOCK_MONOTONIC);
	if (collect_sockets(m) < 0)
		rc = MM_EIO;
	r = snprintf(path, sizeof path, "%s/net/dev", proc);
	if (r < 0 || (size_t)r >= sizeof path)
		return MM_EINVAL;
	r = read_path(path, NETDEV_MAX_BYTES, &text, &len);
	if (r == 0)
		r = metrics_parse_netdev(text, len, m);
	free(text);
	if (r < 0) {
		log_warnx("metrics: %s: %s", path, mm_strerror(r));
		rc = MM_EIO;
	}
	m->processes = count_processes(proc);
	collect_custom(o, m);
	return rc;
}
