/*
 * The download applets of the ash emulation: wget, tftp, ftpget and curl.
 * Nothing is fetched and no name is resolved: each parses its options as
 * BusyBox 1.35 does, tells the session which URL it was asked for and where
 * it would write (hooks.download), and answers as a device whose
 * connection fails: an address literal is refused ("can't connect to
 * remote host (1.2.3.4): Connection refused"; tftp, over UDP, times out),
 * a host name does not resolve ("bad address 'host'"), as on a device
 * behind a network that lets nothing out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applet.h"

#define USAGE_WGET "Usage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n" \
	"\t[--post-data STR | --post-file FILE] [-Y on/off]\n" \
	"\t[--no-check-certificate] [-P DIR] [-U AGENT] URL...\n\n" \
	"Retrieve files via HTTP or FTP\n\n" \
	"\t--spider\tOnly check URL existence: $? is 0 if exists\n" \
	"\t--header STR\tAdd STR (of form 'header: value') to headers\n" \
	"\t--post-data STR\tSend STR using POST method\n" \
	"\t--post-file FILE\tSend FILE using POST method\n" \
	"\t--no-check-certificate\tDon't validate the server's certificate\n" \
	"\t-c\t\tContinue retrieval of aborted transfer\n" \
	"\t-q\t\tQuiet\n" \
	"\t-P DIR\t\tSave to DIR (default .)\n" \
	"\t-S    \t\tShow server response\n" \
	"\t-O FILE\t\tSave to FILE ('-' for stdout)\n" \
	"\t-o LOGFILE\tLog messages to FILE\n" \
	"\t-U STR\t\tUse STR for User-Agent header\n" \
	"\t-Y on/off\tUse proxy\n"
#define USAGE_TFTP "Usage: tftp [OPTIONS] HOST [PORT]\n\n" \
	"Transfer a file from/to tftp server\n\n" \
	"\t-l FILE\tLocal FILE\n\t-r FILE\tRemote FILE\n\t-g\tGet file\n\t-p\tPut file\n" \
	"\t-b SIZE\tTransfer blocks in bytes\n"
#define USAGE_FTPGET "Usage: ftpget [OPTIONS] HOST [LOCAL_FILE] REMOTE_FILE\n\n" \
	"Download a file via FTP\n\n" \
	"\t-c\tContinue previous transfer\n\t-v\tVerbose\n\t-u USER\tUsername\n" \
	"\t-p PASS\tPassword\n\t-P PORT\n"

static int usage(struct trap_exec *x, struct trap_io *io, const char *text)
{
	trap_busybox_banner(x, io->err);
	trap_sink_printf(io->err, "\n%s", text);
	return 1;
}

/* Whether host is a dotted IPv4 address (what needs no resolver). */
static int ipv4_literal(const char *h)
{
	int parts = 0;

	while (*h) {
		char *end;
		unsigned long v = strtoul(h, &end, 10);

		if (end == h || v > 255 || end - h > 3)
			return 0;
		parts++;
		h = end;
		if (*h == '.')
			h++;
		else if (*h)
			return 0;
	}
	return parts == 4;
}

static void download(struct trap_exec *x, const char *applet, const char *url, const char *out)
{
	char abs[TRAP_FS_PATH_MAX] = "";

	if (out && *out && strcmp(out, "-") != 0 && trap_fs_abspath(x->cwd, out, abs) < 0)
		abs[0] = '\0';
	if (x->o.hooks.download)
		x->o.hooks.download(x->o.hooks.arg, applet, url, abs);
}

struct url {
	char scheme[8];
	char host[256];     /* as written, with [] for IPv6 */
	char hostport[270]; /* host[:port] as written */
	unsigned port;
	char path[TRAP_FS_PATH_MAX];
};

/* Splits an http/https/ftp URL; -1 when the scheme is another. */
static int url_parse(const char *u, struct url *p)
{
	const char *h, *e, *colon;
	size_t hl;

	memset(p, 0, sizeof *p);
	if (strncmp(u, "http://", 7) == 0) {
		snprintf(p->scheme, sizeof p->scheme, "http");
		p->port = 80;
		h = u + 7;
	} else if (strncmp(u, "https://", 8) == 0) {
		snprintf(p->scheme, sizeof p->scheme, "https");
		p->port = 443;
		h = u + 8;
	} else if (strncmp(u, "ftp://", 6) == 0) {
		snprintf(p->scheme, sizeof p->scheme, "ftp");
		p->port = 21;
		h = u + 6;
	} else {
		return -1;
	}
	if (strchr(h, '@') && strchr(h, '@') < h + strcspn(h, "/"))
		h = strchr(h, '@') + 1;
	e = h + strcspn(h, "/?#");
	hl = (size_t)(e - h);
	snprintf(p->hostport, sizeof p->hostport, "%.*s", (int)hl, h);
	colon = h[0] == '[' ? memchr(h, ']', hl) : memchr(h, ':', hl);
	if (colon && *colon == ']')
		colon = colon + 1 < e && colon[1] == ':' ? colon + 1 : NULL;
	if (colon) {
		p->port = (unsigned)strtoul(colon + 1, NULL, 10);
		hl = (size_t)(colon - h);
	}
	snprintf(p->host, sizeof p->host, "%.*s", (int)hl, h);
	snprintf(p->path, sizeof p->path, "%s", *e ? e : "/");
	return 0;
}

/* The file wget saves URL's body in: the last path component, or index.html. */
static void wget_name(const struct url *u, char *out, size_t cap)
{
	const char *p = u->path, *s;
	size_t n;

	n = strcspn(p, "?#");
	s = p + n;
	while (s > p && s[-1] != '/')
		s--;
	n = (size_t)(p + strcspn(p, "?#") - s);
	if (n == 0)
		snprintf(out, cap, "index.html");
	else
		snprintf(out, cap, "%.*s", (int)n, s);
}

static int ap_wget(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	const char *outfile = NULL, *dir = NULL;
	int i, quiet = 0, nurl = 0, status = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || !a[1]) {
			nurl++;
			continue;
		}
		if (strcmp(a, "-O") == 0 || strcmp(a, "--output-document") == 0) {
			if (++i < argc)
				outfile = argv[i];
		} else if (strncmp(a, "-O", 2) == 0 && a[1] == 'O') {
			outfile = a + 2;
		} else if (strcmp(a, "-P") == 0 || strcmp(a, "--directory-prefix") == 0) {
			if (++i < argc)
				dir = argv[i];
		} else if (strcmp(a, "-o") == 0 || strcmp(a, "-U") == 0 ||
			   strcmp(a, "-Y") == 0 || strcmp(a, "-T") == 0 ||
			   strcmp(a, "--header") == 0 || strcmp(a, "--post-data") == 0 ||
			   strcmp(a, "--post-file") == 0 || strcmp(a, "--user-agent") == 0) {
			i++;
		} else if (a[1] != '-' && strchr(a, 'q')) {
			quiet = 1;
		} else if (strcmp(a, "--quiet") == 0) {
			quiet = 1;
		}
	}
	if (!nurl)
		return usage(x, io, USAGE_WGET);
	for (i = 1; i < argc; i++) {
		struct url u;
		char name[TRAP_FS_PATH_MAX], path[TRAP_FS_PATH_MAX];
		const char *a = argv[i];

		if (a[0] == '-' && a[1]) {
			if (strcmp(a, "-O") == 0 || strcmp(a, "-P") == 0 || strcmp(a, "-o") == 0 ||
			    strcmp(a, "-U") == 0 || strcmp(a, "-Y") == 0 || strcmp(a, "-T") == 0 ||
			    strcmp(a, "--header") == 0 || strcmp(a, "--post-data") == 0 ||
			    strcmp(a, "--post-file") == 0 || strcmp(a, "--output-document") == 0 ||
			    strcmp(a, "--directory-prefix") == 0 || strcmp(a, "--user-agent") == 0)
				i++;
			continue;
		}
		if (url_parse(a, &u) < 0) {
			/* BusyBox takes a URL without a scheme as http. */
			char fixed[TRAP_FS_PATH_MAX];

			if (strstr(a, "://") || snprintf(fixed, sizeof fixed, "http://%s", a) >=
						       (int)sizeof fixed || url_parse(fixed, &u) < 0) {
				download(x, "wget", a, "");
				trap_sink_printf(io->err, "wget: not an http or ftp url: %s\n", a);
				return 1;
			}
		}
		wget_name(&u, name, sizeof name);
		if (outfile)
			snprintf(path, sizeof path, "%s", outfile);
		else if (dir && snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
			path[0] = '\0'; /* too long to be a path: no file */
		else
			snprintf(path, sizeof path, "%s", name);
		download(x, "wget", a, path);
		if (!ipv4_literal(u.host) && u.host[0] != '[') {
			trap_sink_printf(io->err, "wget: bad address '%s'\n", u.host);
			return 1;
		}
		if (!quiet)
			trap_sink_printf(io->err, "Connecting to %s (%s:%u)\n", u.hostport, u.host,
					 u.port);
		if (u.host[0] == '[')
			trap_sink_puts(io->err, "wget: can't connect to remote host: "
				       "Connection refused\n");
		else
			trap_sink_printf(io->err, "wget: can't connect to remote host (%s): "
					 "Connection refused\n", u.host);
		status = 1;
		break;
	}
	return status;
}

static int ap_tftp(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	const char *local = NULL, *remote = NULL, *host = NULL, *port = NULL;
	char url[TRAP_FS_PATH_MAX + 300];
	int i, get = 0, put = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '-' && a[1]) {
			const char *p;

			for (p = a + 1; *p; p++) {
				if (*p == 'g')
					get = 1;
				else if (*p == 'p')
					put = 1;
				else if (*p == 'l' || *p == 'r' || *p == 'b') {
					const char *v = p[1] ? p + 1 : (i + 1 < argc ? argv[++i] : NULL);

					if (*p == 'l')
						local = v;
					else if (*p == 'r')
						remote = v;
					break;
				}
			}
			continue;
		}
		if (!host)
			host = a;
		else if (!port)
			port = a;
	}
	/* BusyBox wants exactly one of -g and -p, and a host. */
	if (!host || get == put || (!local && !remote))
		return usage(x, io, USAGE_TFTP);
	if (!remote)
		remote = local;
	if (!local) {
		local = strrchr(remote, '/');
		local = local ? local + 1 : remote;
	}
	snprintf(url, sizeof url, "tftp://%s%s%s/%s", host, port ? ":" : "", port ? port : "",
		 remote[0] == '/' ? remote + 1 : remote);
	download(x, "tftp", url, get ? local : "");
	if (!ipv4_literal(host)) {
		trap_sink_printf(io->err, "tftp: bad address '%s'\n", host);
		return 1;
	}
	/* UDP to a host that never answers: BusyBox waits, then says so. */
	trap_sink_puts(io->err, "tftp: timeout\n");
	return 1;
}

static int ap_ftpget(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	const char *ops[3] = { NULL, NULL, NULL }, *port = NULL, *local, *remote;
	char url[TRAP_FS_PATH_MAX + 300];
	int i, n = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '-' && a[1]) {
			if (strcmp(a, "-u") == 0 || strcmp(a, "-p") == 0)
				i++;
			else if (strcmp(a, "-P") == 0 && i + 1 < argc)
				port = argv[++i];
			continue;
		}
		if (n < 3)
			ops[n++] = a;
	}
	if (n < 2)
		return usage(x, io, USAGE_FTPGET);
	remote = ops[n - 1];
	local = n == 3 ? ops[1] : remote;
	snprintf(url, sizeof url, "ftp://%s%s%s/%s", ops[0], port ? ":" : "", port ? port : "",
		 remote[0] == '/' ? remote + 1 : remote);
	download(x, "ftpget", url, local);
	if (!ipv4_literal(ops[0])) {
		trap_sink_printf(io->err, "ftpget: bad address '%s'\n", ops[0]);
		return 1;
	}
	trap_sink_printf(io->err, "ftpget: can't connect to remote host (%s): Connection refused\n",
			 ops[0]);
	return 1;
}

/* curl is not BusyBox's; a persona that ships it gets curl's own words. */
static int ap_curl(struct trap_exec *x, struct trap_io *io, int argc, char **argv)
{
	const char *out = NULL, *urlarg = NULL;
	int i, remote_name = 0, silent = 0;
	struct url u;
	char name[TRAP_FS_PATH_MAX];

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			if (++i < argc)
				out = argv[i];
		} else if (strcmp(a, "-O") == 0 || strcmp(a, "--remote-name") == 0) {
			remote_name = 1;
		} else if (a[0] == '-' && a[1] && a[1] != '-') {
			if (strchr(a, 's'))
				silent = 1;
			if (strchr("HdAeuXrTxmw", a[strlen(a) - 1]))
				i++;
		} else if (a[0] != '-' && !urlarg) {
			urlarg = a;
		}
	}
	if (!urlarg) {
		trap_sink_puts(io->err, "curl: try 'curl --help' or 'curl --manual' for more "
			       "information\n");
		return 2;
	}
	if (url_parse(urlarg, &u) < 0) {
		char fixed[TRAP_FS_PATH_MAX];

		if (snprintf(fixed, sizeof fixed, "http://%s", urlarg) >= (int)sizeof fixed ||
		    url_parse(fixed, &u) < 0) {
			download(x, "curl", urlarg, out ? out : "");
			return 1;
		}
	}
	wget_name(&u, name, sizeof name);
	download(x, "curl", urlarg, out ? out : remote_name ? name : "");
	if (!ipv4_literal(u.host)) {
		if (!silent)
			trap_sink_printf(io->err, "curl: (6) Could not resolve host: %s\n", u.host);
		return 6;
	}
	if (!silent)
		trap_sink_printf(io->err, "curl: (7) Failed to connect to %s port %u: "
				 "Connection refused\n", u.host, u.port);
	return 7;
}

const struct trap_applet trap_applets_net[] = {
	{ "wget", ap_wget, 0 },
	{ "tftp", ap_tftp, 0 },
	{ "ftpget", ap_ftpget, 0 },
	{ "curl", ap_curl, 0 },
	{ NULL, NULL, 0 },
};
