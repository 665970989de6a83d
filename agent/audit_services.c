/*
 * Login services: cleartext ones listening in this network namespace
 * (telnet, ftp, the r-commands), telnetd configured to start, and SSH
 * servers that let root log in with a password (OpenSSH's sshd_config,
 * dropbear's arguments).
 *
 * Listening sockets come from /proc/net/tcp and tcp6 of this process's
 * network namespace; the program that owns one is found through the
 * socket links of /proc/PID/fd, both bounded. The configuration files are
 * read inside the audited root.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "audit_int.h"
#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define NET_MAX (4 * 1024 * 1024)  /* one /proc/net table */
#define MAX_LISTEN 64              /* matching listening sockets kept */
#define SCAN_PIDS 8192             /* processes looked at for socket owners */
#define SCAN_FDS 4096              /* descriptors looked at per process */
#define MAX_SCRIPTS 512            /* files of /etc/init.d read */
#define SCRIPT_MAX (256 * 1024)    /* an init script read whole */
#define SSHD_MAX (1024 * 1024)     /* sshd_config with its included files */
#define MAX_INCLUDED 64            /* sshd_config.d files */

struct listener {
	unsigned port;
	unsigned long long inode;
	char addr[48];
	char program[17];
};

struct listeners {
	struct listener l[MAX_LISTEN];
	size_t n;
	unsigned dropped;
};

static int port_of_interest(unsigned port)
{
	return port == 23 || port == 2323 || port == 21 || port == 512 || port == 513 ||
	       port == 514;
}

/* Hex address of /proc/net/tcp (32-bit words in host order) to text. */
static void addr_text(const char *hex, size_t n, char *out, size_t size)
{
	unsigned char b[16];
	size_t i, words = n / 8;

	if (n != 8 && n != 32) {
		audit_copy(out, size, "?");
		return;
	}
	for (i = 0; i < words; i++) {
		char w[9];
		unsigned long v;

		memcpy(w, hex + i * 8, 8);
		w[8] = '\0';
		v = strtoul(w, NULL, 16);
		/* The kernel prints each word as a host-order integer. */
		memcpy(b + i * 4, &(uint32_t){(uint32_t)v}, 4);
	}
	if (words == 1) {
		snprintf(out, size, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	} else {
		size_t o = 0;

		out[0] = '\0';
		for (i = 0; i < 16 && o < size; i += 2)
			o += (size_t)snprintf(out + o, size - o, "%s%x", i ? ":" : "",
					      (unsigned)(b[i] << 8 | b[i + 1]));
	}
}

/* One row: "sl local rem st tx:rx tr:when retr uid timeout inode". */
static void net_row(const char *line, size_t n, struct listeners *t)
{
	char f[10][72];
	size_t i = 0, k = 0;
	char *e;
	unsigned long port, st;
	unsigned long long inode;
	const char *colon;

	while (k < 10) {
		size_t s;

		while (i < n && line[i] == ' ')
			i++;
		if (i == n)
			break;
		s = i;
		while (i < n && line[i] != ' ')
			i++;
		if (i - s >= sizeof f[0])
			return;
		memcpy(f[k], line + s, i - s);
		f[k][i - s] = '\0';
		k++;
	}
	if (k < 10)
		return;
	colon = strchr(f[1], ':');
	if (colon == NULL)
		return;
	errno = 0;
	port = strtoul(colon + 1, &e, 16);
	if (errno || *e || port > 65535)
		return;
	st = strtoul(f[3], &e, 16);
	if (errno || *e || st != 0x0A)
		return;
	inode = strtoull(f[9], &e, 10);
	if (errno || *e)
		return;
	if (!port_of_interest((unsigned)port))
		return;
	if (t->n == MAX_LISTEN) {
		t->dropped++;
		return;
	}
	t->l[t->n].port = (unsigned)port;
	t->l[t->n].inode = inode;
	addr_text(f[1], (size_t)(colon - f[1]), t->l[t->n].addr, sizeof t->l[t->n].addr);
	t->l[t->n].program[0] = '\0';
	t->n++;
}

static void read_net(const char *path, struct listeners *t)
{
	FILE *f = fopen(path, "re");
	char line[512];
	size_t rows = 0;

	if (f == NULL) {
		if (errno != ENOENT)
			log_warn("audit: %s", path);
		return;
	}
	/* The header line, then one row per socket; a row is shorter than 200 bytes. */
	if (fgets(line, sizeof line, f) != NULL) {
		while (fgets(line, sizeof line, f) != NULL && rows++ < NET_MAX / 150) {
			size_t n = strlen(line);

			if (n > 0 && line[n - 1] == '\n')
				n--;
			net_row(line, n, t);
		}
	}
	fclose(f);
}

/* Names the owners of the kept sockets from /proc/PID/fd links. */
static void find_owners(struct listeners *t)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	size_t pids = 0, named = 0;

	if (proc == NULL)
		return;
	while (named < t->n && pids < SCAN_PIDS && (de = readdir(proc)) != NULL) {
		char path[64], link[64], comm[32];
		DIR *fds;
		struct dirent *fe;
		size_t nfd = 0, i;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pids++;
		snprintf(path, sizeof path, "/proc/%.16s/fd", de->d_name);
		if ((fds = opendir(path)) == NULL)
			continue;
		while (nfd++ < SCAN_FDS && (fe = readdir(fds)) != NULL) {
			ssize_t ln;
			unsigned long long ino;

			if (fe->d_name[0] == '.')
				continue;
			ln = readlinkat(dirfd(fds), fe->d_name, link, sizeof link - 1);
			if (ln <= 0)
				continue;
			link[ln] = '\0';
			if (sscanf(link, "socket:[%llu]", &ino) != 1)
				continue;
			for (i = 0; i < t->n; i++) {
				FILE *cf;

				if (t->l[i].inode != ino || t->l[i].program[0])
					continue;
				snprintf(comm, sizeof comm, "/proc/%.16s/comm", de->d_name);
				if ((cf = fopen(comm, "re")) != NULL) {
					if (fgets(link, sizeof link, cf) != NULL) {
						link[strcspn(link, "\n")] = '\0';
						audit_copy(t->l[i].program, sizeof t->l[i].program,
							   link);
					}
					fclose(cf);
				}
				named++;
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

static void check_listeners(struct audit_ctx *c)
{
	struct listeners *t = calloc(1, sizeof *t);
	unsigned done[8];
	size_t ndone = 0, i, j;

	if (t == NULL)
		return;
	read_net("/proc/net/tcp", t);
	read_net("/proc/net/tcp6", t);
	if (t->dropped)
		log_warnx("audit: %u listening sockets beyond %d not looked at", t->dropped,
			  MAX_LISTEN);
	find_owners(t);
	/* One finding per port: an IPv4 and an IPv6 socket are one service. */
	for (i = 0; i < t->n; i++) {
		const struct listener *l = &t->l[i];
		char subject[32];
		const char *id, *name;
		json_t *d;

		for (j = 0; j < ndone; j++)
			if (done[j] == l->port)
				break;
		if (j < ndone || ndone == sizeof done / sizeof done[0])
			continue;
		done[ndone++] = l->port;
		switch (l->port) {
		case 23:
		case 2323:
			id = "service.telnet";
			name = "telnet";
			break;
		case 21:
			id = "service.cleartext";
			name = "ftp";
			break;
		case 512:
			id = "service.cleartext";
			name = "rexec";
			break;
		case 513:
			id = "service.cleartext";
			name = "rlogin";
			break;
		default:
			id = "service.cleartext";
			name = "rsh";
			break;
		}
		snprintf(subject, sizeof subject, "tcp/%u", l->port);
		d = json_pack("{s:i, s:s, s:s, s:o}", "port", (int)l->port, "service", name,
			      "address", l->addr, "program", audit_jstr(l->program, 16));
		if (l->program[0])
			audit_emit(c, id, subject, d, "%s listens on TCP port %u (%s)", name,
				   l->port, l->program);
		else
			audit_emit(c, id, subject, d, "%s listens on TCP port %u", name, l->port);
	}
	free(t);
}

/* 1 when word occurs in s[0..n) with no letter, digit, '_' or '-' around it. */
static int has_word(const char *s, size_t n, const char *word)
{
	size_t wl = strlen(word), i;

	if (wl == 0 || n < wl)
		return 0;
	for (i = 0; i + wl <= n; i++) {
		int before, after;

		if (memcmp(s + i, word, wl) != 0)
			continue;
		before = i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_' ||
				   s[i - 1] == '-');
		after = i + wl < n && (isalnum((unsigned char)s[i + wl]) || s[i + wl] == '_' ||
				       s[i + wl] == '-');
		if (!before && !after)
			return 1;
	}
	return 0;
}

/*
 * Calls fn for each line of text that is not a comment (leading blanks
 * skipped); stops and returns 1 when fn does.
 */
static int each_line(const char *text, size_t len,
		     int (*fn)(const char *line, size_t n, void *arg), void *arg)
{
	size_t pos = 0;

	while (pos < len) {
		const char *line = text + pos, *nl;
		size_t ll;

		nl = memchr(line, '\n', len - pos);
		ll = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += ll + (nl != NULL);
		while (ll > 0 && (*line == ' ' || *line == '\t')) {
			line++;
			ll--;
		}
		if (ll == 0 || *line == '#')
			continue;
		if (fn(line, ll, arg))
			return 1;
	}
	return 0;
}

static int telnetd_line(const char *line, size_t n, void *arg)
{
	(void)arg;
	return has_word(line, n, "telnetd") || has_word(line, n, "in.telnetd");
}

/* inetd.conf: "telnet stream tcp nowait root /usr/sbin/telnetd telnetd". */
static int inetd_line(const char *line, size_t n, void *arg)
{
	(void)arg;
	if (n > 6 && memcmp(line, "telnet", 6) == 0 && (line[6] == ' ' || line[6] == '\t'))
		return 1;
	return telnetd_line(line, n, arg);
}

static void telnet_file(struct audit_ctx *c, const char *path,
			int (*fn)(const char *line, size_t n, void *arg))
{
	char *text;
	size_t len;

	if (audit_read(c, path, SCRIPT_MAX, &text, &len) != 0)
		return;
	if (each_line(text, len, fn, NULL))
		audit_emit(c, "service.telnet.enabled", path,
			   json_pack("{s:o}", "file", audit_jstr(path, 200)),
			   "telnetd is configured to start in %.200s", path);
	free(text);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names in folder dir of the root that pass keep(), sorted; at most max.
 * Returns how many, or -1 when the folder cannot be opened.
 */
static int list_dir(struct audit_ctx *c, const char *dir, int (*keep)(const char *name),
		    char **names, int max)
{
	int fd = audit_open(c, dir, O_RDONLY | O_DIRECTORY);
	DIR *d;
	struct dirent *de;
	int n = 0;
	unsigned dropped = 0;

	if (fd == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !keep(de->d_name))
			continue;
		if (n == max) {
			dropped++;
			continue;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			break;
		n++;
	}
	closedir(d);
	if (dropped)
		log_warnx("audit: %s: %u entries beyond %d not read", dir, dropped, max);
	qsort(names, (size_t)n, sizeof *names, name_cmp);
	return n;
}

static int any_name(const char *name)
{
	(void)name;
	return 1;
}

static int conf_name(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

static void check_telnet_enabled(struct audit_ctx *c)
{
	char **names = calloc(MAX_SCRIPTS, sizeof *names);
	char path[300];
	int n, i;

	telnet_file(c, "/etc/inetd.conf", inetd_line);
	telnet_file(c, "/etc/xinetd.d/telnet", telnetd_line);
	telnet_file(c, "/etc/inittab", telnetd_line);
	if (names == NULL)
		return;
	n = list_dir(c, "/etc/init.d", any_name, names, MAX_SCRIPTS);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "/etc/init.d/%.255s", names[i]);
		telnet_file(c, path, telnetd_line);
		free(names[i]);
	}
	free(names);
}

/* ---- sshd_config ---- */

struct sshd_state {
	int permit;    /* -1 unset, 1 yes, 0 anything else */
	int password;  /* -1 unset, 0 no, 1 yes */
	int in_match;  /* a Match block began: the rest is conditional */
};

static int sshd_line(const char *line, size_t n, void *arg)
{
	struct sshd_state *s = arg;
	char key[64], val[64];
	size_t i = 0, k = 0, v = 0;

	while (i < n && !isspace((unsigned char)line[i]) && line[i] != '=') {
		if (k + 1 < sizeof key)
			key[k++] = line[i];
		i++;
	}
	key[k] = '\0';
	while (i < n && (isspace((unsigned char)line[i]) || line[i] == '='))
		i++;
	if (i < n && line[i] == '"')
		i++;
	while (i < n && !isspace((unsigned char)line[i]) && line[i] != '"') {
		if (v + 1 < sizeof val)
			val[v++] = line[i];
		i++;
	}
	val[v] = '\0';
	if (strcasecmp(key, "Match") == 0) {
		/* Settings inside a Match block apply only to some connections; the
		 * global values above it are what every connection gets. */
		s->in_match = 1;
		return 1;
	}
	/* sshd takes the first value of a keyword and ignores the later ones. */
	if (strcasecmp(key, "PermitRootLogin") == 0 && s->permit == -1)
		s->permit = strcasecmp(val, "yes") == 0;
	else if (strcasecmp(key, "PasswordAuthentication") == 0 && s->password == -1)
		s->password = strcasecmp(val, "no") != 0;
	return 0;
}

int audit_parse_sshd(const char *text, size_t len, int *root_password)
{
	struct sshd_state s = {-1, -1, 0};

	if (root_password == NULL || (text == NULL && len > 0))
		return MM_EINVAL;
	if (len > 0 && memchr(text, '\0', len) != NULL)
		return MM_EPARSE;
	each_line(text, len, sshd_line, &s);
	/* OpenSSH's defaults: PermitRootLogin prohibit-password (since 7.0),
	 * PasswordAuthentication yes. */
	*root_password = s.permit == 1 && s.password != 0;
	return 0;
}

/* Is this an Include of the sshd_config.d folder (Debian's and OpenSSH's layout)? */
static int include_line(const char *line, size_t n)
{
	static const char inc[] = "Include";

	if (n <= sizeof inc || strncasecmp(line, inc, sizeof inc - 1) != 0 ||
	    !isspace((unsigned char)line[sizeof inc - 1]))
		return 0;
	return memmem(line, n, "sshd_config.d/", 14) != NULL;
}

/* sshd_config with the .conf files of sshd_config.d put where it includes them. */
static int sshd_text(struct audit_ctx *c, struct mm_buf *b)
{
	char *text, *inc;
	size_t len, ilen, pos = 0;
	int rc;

	if ((rc = audit_read(c, "/etc/ssh/sshd_config", SSHD_MAX, &text, &len)) != 0)
		return rc;
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - line) + 1 : len - pos;

		pos += ll;
		if (include_line(line, ll)) {
			char **names = calloc(MAX_INCLUDED, sizeof *names);
			char path[300];
			int n, i;

			if (names == NULL) {
				rc = MM_ENOMEM;
				break;
			}
			n = list_dir(c, "/etc/ssh/sshd_config.d", conf_name, names, MAX_INCLUDED);
			for (i = 0; i < n; i++) {
				snprintf(path, sizeof path, "/etc/ssh/sshd_config.d/%.255s",
					 names[i]);
				if (rc == 0 && audit_read(c, path, SSHD_MAX, &inc, &ilen) == 0) {
					rc = mm_buf_append(b, inc, ilen);
					if (rc == 0)
						rc = mm_buf_putc(b, '\n');
					free(inc);
				}
				free(names[i]);
			}
			free(names);
			if (rc != 0)
				break;
			continue;
		}
		if ((rc = mm_buf_append(b, line, ll)) != 0)
			break;
	}
	free(text);
	if (rc != 0)
		log_warnx("audit: sshd_config: %s", mm_strerror(rc));
	return rc;
}

static void check_sshd(struct audit_ctx *c)
{
	struct mm_buf b;
	int rp = 0;

	mm_buf_init(&b, SSHD_MAX);
	if (sshd_text(c, &b) == 0 && audit_parse_sshd(b.data, b.len, &rp) == 0 && rp)
		audit_emit(c, "ssh.root_password", "sshd",
			   json_pack("{s:s, s:s}", "server", "openssh", "file",
				     "/etc/ssh/sshd_config"),
			   "sshd lets root log in with a password (PermitRootLogin yes)");
	mm_buf_free(&b);
}

/* 1 when text holds a dropbear option word with -w or -g (root password logins off). */
static int dropbear_no_root_pw(const char *text, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t s;

		while (i < len && (isspace((unsigned char)text[i]) || text[i] == '"' ||
				   text[i] == '\'' || text[i] == '='))
			i++;
		s = i;
		while (i < len && !isspace((unsigned char)text[i]) && text[i] != '"' &&
		       text[i] != '\'' && text[i] != '=')
			i++;
		/* Dropbear takes grouped flags ("-sgw"); an option with an argument
		 * ("-p") ends the group. */
		if (i - s >= 2 && text[s] == '-' && text[s + 1] != '-') {
			size_t k;

			for (k = s + 1; k < i && isalpha((unsigned char)text[k]); k++) {
				if (text[k] == 'w' || text[k] == 'g')
					return 1;
				if (strchr("bcpPrKIWTJ", text[k]) != NULL)
					break;
			}
		}
	}
	return 0;
}

static int dropbear_script(const char *name)
{
	return strstr(name, "dropbear") != NULL;
}

static void check_dropbear(struct audit_ctx *c)
{
	char *names[8], *text, path[300];
	const char *where = NULL;
	size_t len;
	int n, i, present = 0, off = 0;

	if (audit_read(c, "/etc/default/dropbear", SCRIPT_MAX, &text, &len) == 0) {
		present = 1;
		where = "/etc/default/dropbear";
		off |= dropbear_no_root_pw(text, len);
		free(text);
	}
	/* OpenWrt: option RootPasswordAuth 'off' in /etc/config/dropbear. */
	if (audit_read(c, "/etc/config/dropbear", SCRIPT_MAX, &text, &len) == 0) {
		char *p = memmem(text, len, "RootPasswordAuth", 16);

		present = 1;
		where = "/etc/config/dropbear";
		if (p != NULL) {
			/* Only the rest of that line: "option RootPasswordAuth 'off'". */
			p[strcspn(p, "\n")] = '\0';
			if (strstr(p, "off") != NULL || strstr(p, "'0'") != NULL ||
			    strstr(p, " 0") != NULL)
				off = 1;
		}
		free(text);
	}
	n = list_dir(c, "/etc/init.d", dropbear_script, names, 8);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "/etc/init.d/%.255s", names[i]);
		if (audit_read(c, path, SCRIPT_MAX, &text, &len) == 0) {
			present = 1;
			if (where == NULL)
				where = "/etc/init.d";
			off |= dropbear_no_root_pw(text, len);
			free(text);
		}
		free(names[i]);
	}
	if (present && !off)
		audit_emit(c, "ssh.root_password", "dropbear",
			   json_pack("{s:s, s:s}", "server", "dropbear", "file", where),
			   "dropbear starts without -w or -g: root may log in with a password");
}

void audit_check_services(struct audit_ctx *c)
{
	if (c->o->listeners)
		check_listeners(c);
	check_telnet_enabled(c);
	check_sshd(c);
	check_dropbear(c);
}
