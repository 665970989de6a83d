/*
 * The behaviour checks (behave.h). Nothing here touches /proc or the file
 * system: watch.c hands in what it read, so each rule is a table-driven
 * unit test away from being checked.
 */
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "behave.h"
#include "mamori/error.h"

const char *behave_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

void behave_comm_of(const char *path, char comm[16])
{
	const char *b = behave_basename(path);
	size_t n = strlen(b);

	/* TASK_COMM_LEN is 16: the kernel keeps 15 bytes of the exec'd file's name. */
	if (n > 15)
		n = 15;
	memcpy(comm, b, n);
	comm[n] = '\0';
}

int behave_name_eq(const char *comm, const char *path)
{
	char c[16];

	if (path == NULL || path[0] == '\0')
		return 0;
	behave_comm_of(path, c);
	return c[0] != '\0' && strcmp(comm, c) == 0;
}

const char *behave_strip_root(const char *exe, const char *root)
{
	size_t n;

	if (root == NULL)
		return exe;
	n = strlen(root);
	while (n > 0 && root[n - 1] == '/')
		n--;
	if (n == 0)
		return exe;
	if (strncmp(exe, root, n) == 0 && exe[n] == '/')
		return exe + n;
	return exe;
}

int behave_list_has(const struct agent_list *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] != NULL && strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

int behave_list_has_exe(const struct agent_list *l, const char *exe, const char *root)
{
	return behave_list_has(l, exe) || behave_list_has(l, behave_strip_root(exe, root));
}

int behave_deleted_exe(const struct behave_proc *p)
{
	return !p->kthread && p->exe[0] != '\0' && p->deleted;
}

int behave_masquerade(const struct behave_proc *p, const struct agent_conf *c)
{
	int n = p->script_arg;

	if (p->kthread || p->exe[0] == '\0' || p->comm[0] == '\0')
		return 0;
	if (behave_list_has_exe(&c->name_allow, p->exe, c->root))
		return 0;
	if (behave_name_eq(p->comm, p->exe))
		return 0;
	if (p->argv0_is_exe && p->cmd.argc >= 1 && behave_name_eq(p->comm, p->cmd.argv[0]))
		return 0;
	if (n >= 1 && n <= 2 && p->cmd.argc > n && behave_name_eq(p->comm, p->cmd.argv[n]))
		return 0;
	return 1;
}

/* ---- listeners ---- */

int behave_parse_addr(const char *text, struct behave_addr *a)
{
	const char *colon, *host = text;
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned long port = 0;
	size_t hlen;
	const char *q;

	memset(a, 0, sizeof *a);
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			return MM_EPARSE;
		host = text + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
		a->family = AF_INET6;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL)
			return MM_EPARSE;
		hlen = (size_t)(colon - text);
		a->family = AF_INET;
	}
	if (colon[1] == '\0')
		return MM_EPARSE;
	for (q = colon + 1; *q != '\0'; q++) {
		if (*q < '0' || *q > '9')
			return MM_EPARSE;
		port = port * 10 + (unsigned long)(*q - '0');
		if (port > 65535)
			return MM_EPARSE;
	}
	if (port == 0)
		return MM_EPARSE;
	a->port = (uint16_t)port;
	if (hlen == 1 && host[0] == '*' && a->family == AF_INET) {
		a->family = 0;
		return 0;
	}
	if (hlen == 0 || hlen >= sizeof buf)
		return MM_EPARSE;
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	if (inet_pton(a->family, buf, a->addr) != 1)
		return MM_EPARSE;
	return 0;
}

int behave_rules_init(struct behave_rules *r, const struct agent_conf *c, unsigned *bad)
{
	size_t i;

	memset(r, 0, sizeof *r);
	for (i = 0; i < c->deny_listen.n && i < AGENT_MAX_LIST; i++) {
		if (behave_parse_addr(c->deny_listen.v[i], &r->deny[r->ndeny]) == 0)
			r->ndeny++;
		else if (bad != NULL)
			(*bad)++;
	}
	for (i = 0; i < c->expect_listen.n && i < AGENT_MAX_LIST; i++) {
		if (behave_parse_addr(c->expect_listen.v[i], &r->expect[r->nexpect]) == 0)
			r->nexpect++;
		else if (bad != NULL)
			(*bad)++;
	}
	for (i = 0; i < c->scan_ports.n && i < AGENT_MAX_LIST; i++) {
		struct behave_addr a;
		char tmp[16];

		snprintf(tmp, sizeof tmp, "*:%s", c->scan_ports.v[i]);
		if (behave_parse_addr(tmp, &a) == 0)
			r->scan_ports[r->nports++] = a.port;
		else if (bad != NULL)
			(*bad)++;
	}
	return 0;
}

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* The socket's local address as (family, 16 bytes), a v4-mapped v6 one as v4. */
static int sock_local(const struct proc_sock *s, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (s->family == AF_INET6 && memcmp(s->laddr, v4mapped, 12) == 0) {
		memcpy(addr, s->laddr + 12, 4);
		return AF_INET;
	}
	memcpy(addr, s->laddr, s->family == AF_INET6 ? 16 : 4);
	return s->family;
}

static int all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* A wildcard socket (0.0.0.0 or ::) accepts on every address: a deny rule
 * for any one of them is broken by it. */
static int deny_match(const struct behave_addr *a, int fam, const uint8_t addr[16])
{
	if (a->family == 0)
		return 1;
	if (all_zero(addr, 16))
		return fam == a->family || fam == AF_INET6;
	return fam == a->family && memcmp(addr, a->addr, 16) == 0;
}

static int expect_match(const struct behave_addr *a, int fam, const uint8_t addr[16])
{
	if (a->family == 0)
		return 1;
	return fam == a->family && memcmp(addr, a->addr, 16) == 0;
}

int behave_listener(const struct behave_rules *r, const struct proc_sock *s, const char **rule)
{
	uint8_t addr[16];
	int fam = sock_local(s, addr);
	size_t i;

	for (i = 0; i < r->ndeny; i++) {
		if (r->deny[i].port == s->lport && deny_match(&r->deny[i], fam, addr)) {
			*rule = "deny_listen";
			return 1;
		}
	}
	if (r->nexpect == 0)
		return 0;
	for (i = 0; i < r->nexpect; i++)
		if (r->expect[i].port == s->lport && expect_match(&r->expect[i], fam, addr))
			return 0;
	*rule = "expect_listen";
	return 1;
}

int behave_scan_port(const struct behave_rules *r, uint16_t port)
{
	size_t i;

	for (i = 0; i < r->nports; i++)
		if (r->scan_ports[i] == port)
			return 1;
	return 0;
}

void behave_addr_text(const struct proc_sock *s, int local, char *out, size_t size)
{
	const uint8_t *a = local ? s->laddr : s->raddr;
	uint8_t tmp[16];

	if (s->family == AF_INET6 && memcmp(a, v4mapped, 12) == 0) {
		memcpy(tmp, a + 12, 4);
		a = tmp;
	} else if (s->family == AF_INET6) {
		if (inet_ntop(AF_INET6, a, out, (socklen_t)size) == NULL && size > 0)
			out[0] = '\0';
		return;
	}
	if (inet_ntop(AF_INET, a, out, (socklen_t)size) == NULL && size > 0)
		out[0] = '\0';
}

/* ---- scan bursts ---- */

unsigned behave_scan_syn(struct behave_scan *t, pid_t pid, int family, const uint8_t addr[16],
			 uint16_t port, int64_t now_ms, long long window_s)
{
	int64_t window = (int64_t)window_s * 1000;
	size_t i, k, slot = BEHAVE_SCAN_PIDS, oldest = 0;
	uint8_t key[16];

	/* An IPv4 and an IPv6 address never compare equal: v4 keys carry a marker. */
	memset(key, 0, sizeof key);
	memcpy(key, addr, family == AF_INET ? 4 : 16);
	if (family == AF_INET)
		key[15] = 0x04;
	for (i = 0; i < BEHAVE_SCAN_PIDS && slot == BEHAVE_SCAN_PIDS; i++)
		if (t->e[i].pid == pid)
			slot = i;
	for (i = 0; i < BEHAVE_SCAN_PIDS && slot == BEHAVE_SCAN_PIDS; i++)
		if (t->e[i].pid == 0)
			slot = i;
	if (slot == BEHAVE_SCAN_PIDS) {
		for (i = 1; i < BEHAVE_SCAN_PIDS; i++)
			if (t->e[i].last_ms < t->e[oldest].last_ms)
				oldest = i;
		slot = oldest;
		t->evicted++;
		t->e[slot].pid = 0;
	}
	if (t->e[slot].pid != pid) {
		memset(&t->e[slot], 0, sizeof t->e[slot]);
		t->e[slot].pid = pid;
	}
	/* Forget what left the window. */
	for (i = 0, k = 0; i < t->e[slot].n; i++) {
		if (now_ms - t->e[slot].v[i].ms < window)
			t->e[slot].v[k++] = t->e[slot].v[i];
	}
	t->e[slot].n = k;
	t->e[slot].port = port;
	t->e[slot].last_ms = now_ms;
	for (i = 0; i < k; i++) {
		if (memcmp(t->e[slot].v[i].a, key, 16) == 0) {
			t->e[slot].v[i].ms = now_ms;
			return (unsigned)k;
		}
	}
	if (k == BEHAVE_SCAN_ADDRS) {
		/* Full: the oldest address makes room; the count stays at the bound. */
		size_t o = 0;

		for (i = 1; i < k; i++)
			if (t->e[slot].v[i].ms < t->e[slot].v[o].ms)
				o = i;
		memcpy(t->e[slot].v[o].a, key, 16);
		t->e[slot].v[o].ms = now_ms;
		return (unsigned)k;
	}
	memcpy(t->e[slot].v[k].a, key, 16);
	t->e[slot].v[k].ms = now_ms;
	t->e[slot].n = k + 1;
	return (unsigned)(k + 1);
}

void behave_scan_forget(struct behave_scan *t, pid_t pid)
{
	size_t i;

	for (i = 0; i < BEHAVE_SCAN_PIDS; i++)
		if (t->e[i].pid == pid)
			memset(&t->e[i], 0, sizeof t->e[i]);
}

/* ---- outbound SYNs ---- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int behave_parse_syn(const uint8_t *pkt, size_t len, struct behave_syn *s)
{
	const uint8_t *tcp;
	size_t ihl;

	memset(s, 0, sizeof *s);
	if (len < 1)
		return MM_EPARSE;
	if (pkt[0] >> 4 == 4) {
		ihl = (size_t)(pkt[0] & 0x0f) * 4;
		if (ihl < 20 || len < ihl + 20 || pkt[9] != IPPROTO_TCP || (be16(pkt + 6) & 0x1fff) != 0)
			return MM_EPARSE;
		s->family = AF_INET;
		memcpy(s->src, pkt + 12, 4);
		memcpy(s->dst, pkt + 16, 4);
		tcp = pkt + ihl;
	} else if (pkt[0] >> 4 == 6) {
		if (len < 40 + 20 || pkt[6] != IPPROTO_TCP)
			return MM_EPARSE;
		s->family = AF_INET6;
		memcpy(s->src, pkt + 8, 16);
		memcpy(s->dst, pkt + 24, 16);
		tcp = pkt + 40;
	} else {
		return MM_EPARSE;
	}
	/* SYN set, ACK clear: a new connection asked for, not an answer to one. */
	if ((tcp[13] & 0x12) != 0x02)
		return MM_EPARSE;
	s->sport = be16(tcp);
	s->dport = be16(tcp + 2);
	return 0;
}

/* jt/jf are relative to the next instruction. */
#define REL(to, at) ((uint8_t)((to) - (at) - 1))

int behave_syn_filter(const struct behave_rules *r, struct sock_filter *prog, size_t max)
{
	/* Layout: 0-4 direction and protocol, 5-14 IPv4, 15-20 IPv6, then one jeq per port. */
	const size_t v4 = 5, v6 = 15, ports = 21;
	size_t drop, accept, n = 0, i;

	if (r->nports == 0)
		return MM_ENOTFOUND;
	drop = ports + r->nports;
	accept = drop + 1;
	if (accept + 1 > max || drop - ports > 250 || accept > 255)
		return MM_ETOOBIG;
#define OP(c, t, f, k) (prog[n] = (struct sock_filter){(c), (t), (f), (k)}, n++)
	OP(BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE));
	OP(BPF_JMP | BPF_JEQ | BPF_K, 0, REL(drop, 1), PACKET_OUTGOING);
	OP(BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL));
	OP(BPF_JMP | BPF_JEQ | BPF_K, REL(v4, 3), 0, 0x0800);
	OP(BPF_JMP | BPF_JEQ | BPF_K, REL(v6, 4), REL(drop, 4), 0x86dd);
	/* IPv4: TCP, first fragment, SYN without ACK; A = destination port. */
	OP(BPF_LD | BPF_B | BPF_ABS, 0, 0, 9);
	OP(BPF_JMP | BPF_JEQ | BPF_K, 0, REL(drop, 6), IPPROTO_TCP);
	OP(BPF_LD | BPF_H | BPF_ABS, 0, 0, 6);
	OP(BPF_JMP | BPF_JSET | BPF_K, REL(drop, 8), 0, 0x1fff);
	OP(BPF_LDX | BPF_B | BPF_MSH, 0, 0, 0);
	OP(BPF_LD | BPF_B | BPF_IND, 0, 0, 13);
	OP(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0x12);
	OP(BPF_JMP | BPF_JEQ | BPF_K, 0, REL(drop, 12), 0x02);
	OP(BPF_LD | BPF_H | BPF_IND, 0, 0, 2);
	OP(BPF_JMP | BPF_JA, 0, 0, (uint32_t)(ports - 14 - 1));
	/* IPv6: TCP as the first next header. */
	OP(BPF_LD | BPF_B | BPF_ABS, 0, 0, 6);
	OP(BPF_JMP | BPF_JEQ | BPF_K, 0, REL(drop, 16), IPPROTO_TCP);
	OP(BPF_LD | BPF_B | BPF_ABS, 0, 0, 40 + 13);
	OP(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0x12);
	OP(BPF_JMP | BPF_JEQ | BPF_K, 0, REL(drop, 19), 0x02);
	OP(BPF_LD | BPF_H | BPF_ABS, 0, 0, 40 + 2);
	for (i = 0; i < r->nports; i++)
		OP(BPF_JMP | BPF_JEQ | BPF_K, REL(accept, ports + i), 0, r->scan_ports[i]);
	OP(BPF_RET | BPF_K, 0, 0, 0);
	/* Enough for an IPv4 header with options or an IPv6 header, and the TCP header. */
	OP(BPF_RET | BPF_K, 0, 0, 128);
#undef OP
	return (int)n;
}

/* ---- services ---- */

int behave_fatal_signal(int sig)
{
	switch (sig) {
	case SIGKILL:
	case SIGTERM:
	case SIGINT:
	case SIGHUP:
	case SIGQUIT:
	case SIGABRT:
	case SIGSEGV:
	case SIGBUS:
	case SIGILL:
	case SIGFPE:
	case SIGSYS:
		return 1;
	default:
		return 0;
	}
}

int behave_service_killed(const struct agent_conf *c, int sig, int result, const char *comm,
			  pid_t sender, pid_t victim)
{
	if (!behave_fatal_signal(sig))
		return 0;
	/* TRACE_SIGNAL_DELIVERED and TRACE_SIGNAL_ALREADY_PENDING: it will arrive. */
	if (result != 0 && result != 2)
		return 0;
	if (!behave_list_has(&c->services, comm))
		return 0;
	if (sender <= 1 || sender == victim)
		return 0;
	return 1;
}

int behave_service_replaced(const struct agent_conf *c, const char *owner, uint16_t port,
			    const char *held_by, const char **service)
{
	if (behave_list_has(&c->services, owner))
		return 0;
	if (held_by != NULL && held_by[0] != '\0')
		*service = held_by;
	else if (port == 22)
		*service = "sshd";
	else if (port == 23)
		*service = "telnetd";
	else
		return 0;
	return 1;
}

/* ---- findings ---- */

int behave_json_str(char *out, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (size < 3)
		return MM_ETOOBIG;
	out[n++] = '"';
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[7];
		size_t k;

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			k = 2;
		} else if (ch < 0x20 || ch >= 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			k = 6;
		} else {
			esc[0] = (char)ch;
			k = 1;
		}
		if (n + k + 2 > size) {
			out[n++] = '"';
			out[n] = '\0';
			return MM_ETOOBIG;
		}
		memcpy(out + n, esc, k);
		n += k;
	}
	out[n++] = '"';
	out[n] = '\0';
	return 0;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void behave_finding(struct agent_finding *f, const char *event, const char *attack,
		    const struct behave_proc *p, const char *root)
{
	memset(f, 0, sizeof *f);
	agent_strcpy(f->event, sizeof f->event, event);
	if (attack != NULL)
		agent_strcpy(f->attack[0], sizeof f->attack[0], attack);
	f->action = AGENT_ACT_REPORTED;
	f->time_ms = wall_ms();
	f->latency_us = -1;
	if (p == NULL)
		return;
	f->pid = p->pid;
	f->ppid = p->ppid;
	f->uid = p->uid;
	agent_strcpy(f->comm, sizeof f->comm, p->comm);
	agent_strcpy(f->exe, sizeof f->exe, behave_strip_root(p->exe, root));
}

/* snprintf into the detail; a detail that does not fit is left empty, never cut. */
static int detail_put(struct agent_finding *f, int n)
{
	if (n < 0 || (size_t)n >= sizeof f->detail) {
		f->detail[0] = '\0';
		return MM_ETOOBIG;
	}
	return 0;
}

int behave_detail_masquerade(struct agent_finding *f, const char *comm, const char *exe)
{
	char a[128], b[512];

	if (behave_json_str(a, sizeof a, comm) < 0 ||
	    behave_json_str(b, sizeof b, behave_basename(exe)) < 0)
		return detail_put(f, -1);
	return detail_put(f, snprintf(f->detail, sizeof f->detail,
				      "{\"name\": %s, \"exe_name\": %s}", a, b));
}

int behave_detail_listener(struct agent_finding *f, const struct proc_sock *s, const char *rule)
{
	char addr[INET6_ADDRSTRLEN];

	behave_addr_text(s, 1, addr, sizeof addr);
	return detail_put(f, snprintf(f->detail, sizeof f->detail,
				      "{\"addr\": \"%s\", \"port\": %u, \"rule\": \"%s\"}", addr,
				      (unsigned)s->lport, rule));
}

int behave_detail_raw(struct agent_finding *f, unsigned protocol)
{
	return detail_put(f, snprintf(f->detail, sizeof f->detail, "{\"protocol\": %u}",
				      protocol));
}

int behave_detail_scan(struct agent_finding *f, uint16_t port, unsigned addresses, long long window_s)
{
	return detail_put(f, snprintf(f->detail, sizeof f->detail,
				      "{\"port\": %u, \"addresses\": %u, \"window_s\": %lld}",
				      (unsigned)port, addresses, window_s));
}

int behave_detail_watchdog(struct agent_finding *f, const char *device)
{
	char d[600];

	if (behave_json_str(d, sizeof d, device) < 0)
		return detail_put(f, -1);
	return detail_put(f, snprintf(f->detail, sizeof f->detail, "{\"device\": %s}", d));
}

int behave_detail_service_killed(struct agent_finding *f, const char *service, int sig, pid_t victim)
{
	char s[128];

	if (behave_json_str(s, sizeof s, service) < 0)
		return detail_put(f, -1);
	return detail_put(f, snprintf(f->detail, sizeof f->detail,
				      "{\"service\": %s, \"signal\": %d, \"victim_pid\": %d}", s, sig,
				      (int)victim));
}

int behave_detail_service_replaced(struct agent_finding *f, const char *service, uint16_t port)
{
	char s[128];

	if (behave_json_str(s, sizeof s, service) < 0)
		return detail_put(f, -1);
	return detail_put(f, snprintf(f->detail, sizeof f->detail,
				      "{\"service\": %s, \"port\": %u}", s, (unsigned)port));
}
