/*
 * mamori-soc: the SOC collector. Receives syslog, X.1367 records and mamori
 * events over UDP, TCP, TLS and RELP, stores them (SQLite or PostgreSQL),
 * correlates them into incidents, finds silent devices and fleet problems,
 * raises alerts, and answers an HTTP JSON API.
 *
 * One libevent loop in the main thread runs the listeners and the API; the
 * writer thread stores and concludes; librelp runs its own thread per RELP
 * listener; alert actions run in theirs.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "mamori/error.h"
#include "mamori/path.h"
#include "mamori/log.h"

#include "alert.h"
#include "config.h"
#include "http.h"
#include "ingest.h"
#include "listen.h"
#include "writer.h"

#define DEFAULT_CONF "/etc/mamori/mamori-soc.conf"
#define DEFAULT_STATE "/var/lib/mamori/soc"
#define DEFAULT_HTTP "127.0.0.1:8514"

static const char *const default_listen[] = {
	"udp://127.0.0.1:5514",
	"tcp://127.0.0.1:5514",
	"relp://127.0.0.1:2514",
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mamori-soc [-dnv] [-f FILE] [--store URL] [--listen URL]...\n"
		"                  [--http ADDR:PORT|none] [--state DIR]\n"
		"\n"
		"The SOC collector: receives syslog, X.1367 records and mamori events,\n"
		"stores them, correlates incidents, audits the fleet and raises alerts.\n"
		"\n"
		"  -f FILE          configuration file (default " DEFAULT_CONF
		" if it exists;\n"
		"                   without one every key has its default)\n"
		"  -d               stay in the foreground and log to stderr\n"
		"  -n               check the configuration and exit (0 good, 1 bad)\n"
		"  -v               more logging (repeat for more)\n"
		"  --store URL      sqlite:PATH or postgresql://... (default\n"
		"                   sqlite:STATE/soc.db)\n"
		"  --listen URL     udp://, tcp://, tls://, relp:// or relp+tls://ADDR:PORT;\n"
		"                   repeatable; replaces the configured listeners (default\n"
		"                   udp and tcp on 127.0.0.1:5514, relp on 127.0.0.1:2514)\n"
		"  --http ADDR:PORT the HTTP API (default " DEFAULT_HTTP "); none: no API\n"
		"  --state DIR      RELP journals and the default store (default\n"
		"                   " DEFAULT_STATE ")\n"
		"  --tls-cert F --tls-key F --tls-ca F --tls-verify none|optional|require\n"
		"                   the TLS listeners' certificate, key, and client CA\n"
		"  -h, --help       this text     -V, --version   the version\n"
		"\n"
		"See mamori-soc(8) and mamori-soc.conf(5).\n");
}

static struct event_base *g_base;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	log_info("signal %d, stopping", (int)sig);
	event_base_loopexit(g_base, NULL);
}

enum { O_STORE = 256, O_LISTEN, O_HTTP, O_STATE, O_CERT, O_KEY, O_CA, O_VERIFY };

struct cmdline {
	const char *conf;
	int foreground, check, verbose;
	const char *store, *http, *state, *cert, *key, *ca, *verify;
	const char *listen[SOC_MAX_LISTEN];
	int nlisten;
};

static int parse_args(int argc, char **argv, struct cmdline *cl)
{
	static const struct option lo[] = {
		{"store", required_argument, NULL, O_STORE},
		{"listen", required_argument, NULL, O_LISTEN},
		{"http", required_argument, NULL, O_HTTP},
		{"state", required_argument, NULL, O_STATE},
		{"tls-cert", required_argument, NULL, O_CERT},
		{"tls-key", required_argument, NULL, O_KEY},
		{"tls-ca", required_argument, NULL, O_CA},
		{"tls-verify", required_argument, NULL, O_VERIFY},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "f:dnvhV", lo, NULL)) != -1) {
		switch (c) {
		case 'f': cl->conf = optarg; break;
		case 'd': cl->foreground = 1; break;
		case 'n': cl->check = 1; break;
		case 'v': cl->verbose++; break;
		case O_STORE: cl->store = optarg; break;
		case O_HTTP: cl->http = optarg; break;
		case O_STATE: cl->state = optarg; break;
		case O_CERT: cl->cert = optarg; break;
		case O_KEY: cl->key = optarg; break;
		case O_CA: cl->ca = optarg; break;
		case O_VERIFY: cl->verify = optarg; break;
		case O_LISTEN:
			if (cl->nlisten >= SOC_MAX_LISTEN) {
				fprintf(stderr, "mamori-soc: at most %d --listen\n", SOC_MAX_LISTEN);
				return 2;
			}
			cl->listen[cl->nlisten++] = optarg;
			break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("mamori-soc %s\n", MAMORI_VERSION); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mamori-soc: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return 0;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : MM_ENOMEM;
}

/* Makes *path absolute (after prefix, e.g. "sqlite:") when it is relative.
 * Other values (NULL, another scheme, an absolute path) are left alone. */
static int absolute(char **path, const char *prefix)
{
	size_t np = strlen(prefix);
	char cwd[4096], *p;
	const char *rel;

	if (*path == NULL || strncmp(*path, prefix, np) != 0)
		return 0;
	rel = *path + np;
	if (rel[0] == '/' || rel[0] == '\0' || !strcmp(rel, ":memory:"))
		return 0;
	if (getcwd(cwd, sizeof cwd) == NULL)
		return -1;
	if (asprintf(&p, "%s%s/%s", prefix, cwd, rel) < 0)
		return -1;
	free(*path);
	*path = p;
	return 0;
}

/* Applies the command line over the file, then the defaults that depend on
 * other keys. Returns 0 or 1 with the reason printed. */
static int settle(struct soc_config *c, const struct cmdline *cl)
{
	char buf[4200];
	int i, has_tls = 0;

	if (cl->store && set_str(&c->store, cl->store) < 0)
		return 1;
	if (cl->http && set_str(&c->http, cl->http) < 0)
		return 1;
	if (cl->state && set_str(&c->state_dir, cl->state) < 0)
		return 1;
	if (cl->cert && set_str(&c->tls_cert, cl->cert) < 0)
		return 1;
	if (cl->key && set_str(&c->tls_key, cl->key) < 0)
		return 1;
	if (cl->ca && set_str(&c->tls_ca, cl->ca) < 0)
		return 1;
	if (cl->verify) {
		if (!strcmp(cl->verify, "none"))
			c->tls_verify = 0;
		else if (!strcmp(cl->verify, "optional"))
			c->tls_verify = 1;
		else if (!strcmp(cl->verify, "require"))
			c->tls_verify = 2;
		else {
			fprintf(stderr, "mamori-soc: --tls-verify: expected none, optional or "
					"require: %s\n", cl->verify);
			return 1;
		}
	}
	if (cl->nlisten) {
		for (i = 0; i < c->nlisten; i++)
			free(c->listen[i]);
		c->nlisten = 0;
		for (i = 0; i < cl->nlisten; i++)
			if (soc_config_add_listen(c, cl->listen[i]) < 0) {
				fprintf(stderr, "mamori-soc: --listen: expected udp://, tcp://, "
						"tls://, relp:// or relp+tls://ADDR:PORT: %s\n",
					cl->listen[i]);
				return 1;
			}
	}
	if (c->nlisten == 0)
		for (i = 0; i < (int)(sizeof default_listen / sizeof default_listen[0]); i++)
			soc_config_add_listen(c, default_listen[i]);
	if (!c->state_dir && set_str(&c->state_dir, DEFAULT_STATE) < 0)
		return 1;
	if (!c->store) {
		snprintf(buf, sizeof buf, "sqlite:%s/soc.db", c->state_dir);
		if (set_str(&c->store, buf) < 0)
			return 1;
	}
	if (!c->http && set_str(&c->http, DEFAULT_HTTP) < 0)
		return 1;
	/* Detached, the daemon runs in /: relative paths are made absolute now. */
	if (absolute(&c->state_dir, "") < 0 || absolute(&c->store, "sqlite:") < 0 ||
	    absolute(&c->tls_cert, "") < 0 || absolute(&c->tls_key, "") < 0 ||
	    absolute(&c->tls_ca, "") < 0) {
		fprintf(stderr, "mamori-soc: cannot make a path absolute: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < c->nlisten; i++)
		if (!strncmp(c->listen[i], "tls://", 6) || !strncmp(c->listen[i], "relp+tls://", 11))
			has_tls = 1;
	if (has_tls && (!c->tls_cert || !c->tls_key)) {
		fprintf(stderr, "mamori-soc: a TLS listener needs [tls] cert and key "
				"(--tls-cert, --tls-key)\n");
		return 1;
	}
	if (c->tls_verify && !c->tls_ca) {
		fprintf(stderr, "mamori-soc: verifying client certificates needs [tls] ca "
				"(--tls-ca)\n");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cmdline cl = {0};
	struct soc_config c;
	struct alert *alert = NULL;
	struct writer_opts wo;
	struct writer *w = NULL;
	struct ingest_opts io;
	struct ingest *in = NULL;
	struct listen_tls tls;
	struct listen_limits lim;
	struct listener *ls[SOC_MAX_LISTEN] = {0};
	struct http *http = NULL;
	struct silence_expect expect[SOC_MAX_EXPECT];
	struct event *sigint = NULL, *sigterm = NULL;
	char err[512];
	int rc, i, ret = 1, mutual = 0;

	if ((rc = parse_args(argc, argv, &cl)) != 0)
		return rc;
	mm_log_init(1, "mamori-soc");
	mm_log_verbose(cl.verbose);
	soc_config_init(&c);
	if (alert_new(&alert) < 0) {
		fprintf(stderr, "mamori-soc: out of memory\n");
		return 1;
	}
	if (cl.conf || access(DEFAULT_CONF, F_OK) == 0) {
		const char *path = cl.conf ? cl.conf : DEFAULT_CONF;
		if (soc_config_load(&c, alert, path, err, sizeof err) < 0) {
			fprintf(stderr, "mamori-soc: %s\n", err);
			goto out;
		}
	}
	if (settle(&c, &cl) != 0)
		goto out;
	if (alert_check(alert, err, sizeof err) < 0) {
		fprintf(stderr, "mamori-soc: %s\n", err);
		goto out;
	}
	if (cl.check) {
		printf("mamori-soc: configuration OK\n");
		ret = 0;
		goto out;
	}

	if (!cl.foreground) {
		if (daemon(0, 0) < 0) {
			fprintf(stderr, "mamori-soc: cannot detach: %s\n", strerror(errno));
			goto out;
		}
		mm_log_init(0, "mamori-soc");
	}
	signal(SIGPIPE, SIG_IGN);
	if (mm_mkdir_p(c.state_dir, 0700) < 0)
		log_warn("cannot create the state directory %s", c.state_dir);
	if (evthread_use_pthreads() < 0 || (g_base = event_base_new()) == NULL) {
		log_warnx("cannot make the event loop");
		goto out;
	}

	writer_opts_default(&wo);
	wo.store_url = c.store;
	wo.batch_max = (size_t)c.batch;
	wo.retain_age_ms = c.retain_age_s * 1000;
	wo.retain_bytes = c.retain_bytes;
	wo.retain_every_ms = c.retain_every_s * 1000;
	wo.dead_max = c.dead_max;
	wo.corr.window_ms = c.corr_window_s * 1000;
	wo.corr.min_protocols = (int)c.corr_protocols;
	wo.corr.threshold = (int)c.corr_threshold;
	wo.corr.by_reporter = c.corr_by_reporter;
	wo.silence.factor = c.sil_factor;
	wo.silence.min_reports = (int)c.sil_min_reports;
	wo.silence.grace_ms = c.sil_grace_s * 1000;
	for (i = 0; i < c.nexpect; i++) {
		expect[i].device = c.sil_expect_dev[i];
		expect[i].period_ms = c.sil_expect_ms[i];
	}
	wo.silence.expect = c.nexpect ? expect : NULL;
	wo.silence.nexpect = (size_t)c.nexpect;
	wo.fleet.expire_days = (int)c.fleet_expire_days;
	wo.fleet.audit_ms = c.fleet_audit_s * 1000;
	for (i = 0; i < c.nlisten; i++)
		if (c.tls_verify && (!strncmp(c.listen[i], "tls://", 6) ||
				     !strncmp(c.listen[i], "relp+tls://", 11)))
			mutual = 1;
	wo.fleet.never_auth = c.fleet_never_auth < 0 ? mutual : c.fleet_never_auth;
	wo.alert = alert;

	if (writer_new(&wo, &w, err, sizeof err) < 0) {
		log_warnx("store %s: %s", c.store, err);
		goto out;
	}
	if (alert_start(alert) < 0 || writer_start(w) < 0)
		goto out;
	ingest_opts_default(&io);
	io.queue_max = (size_t)c.queue;
	io.max_msg = (size_t)c.max_msg;
	if (ingest_new(g_base, w, &io, &in) < 0)
		goto out;

	tls.cert = c.tls_cert;
	tls.key = c.tls_key;
	tls.ca = c.tls_ca;
	tls.verify = c.tls_verify;
	listen_limits_default(&lim);
	lim.max_clients = (size_t)c.max_clients;
	lim.max_per_addr = (size_t)c.max_per_addr;
	lim.max_msg = (size_t)c.max_msg;
	lim.conn_buffer = (size_t)c.conn_buffer;
	lim.udp_buffer = (int)c.udp_buffer;
	lim.idle_s = (int)c.idle_s;
	lim.first_msg_s = (int)c.first_msg_s;
	for (i = 0; i < c.nlisten; i++) {
		if (listen_start(g_base, in, c.listen[i], &tls, &lim, c.state_dir, &ls[i], err,
				 sizeof err) < 0) {
			log_warnx("listen %s: %s", c.listen[i], err);
			goto out;
		}
		log_info("listening on %s", listen_address(ls[i]));
	}
	if (strcmp(c.http, "none") != 0) {
		if (http_start(g_base, c.http, c.store, &http, err, sizeof err) < 0) {
			log_warnx("http %s: %s", c.http, err);
			goto out;
		}
		log_info("API on http://%s", http_address(http));
	}
	log_info("store %s", c.store);

	sigint = evsignal_new(g_base, SIGINT, on_signal, NULL);
	sigterm = evsignal_new(g_base, SIGTERM, on_signal, NULL);
	if (!sigint || !sigterm || event_add(sigint, NULL) < 0 || event_add(sigterm, NULL) < 0)
		goto out;
	event_base_dispatch(g_base);
	ret = 0;
out:
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	http_stop(http);
	/* Store what is queued first: its acknowledgements go to the RELP
	 * listeners, which must still be there. The loop no longer runs, so
	 * nothing new reaches the queue meanwhile. */
	if (w)
		writer_flush(w);
	for (i = 0; i < SOC_MAX_LISTEN; i++)
		if (ls[i])
			listen_stop(ls[i]);
	ingest_free(in);
	writer_free(w);
	alert_free(alert);
	if (g_base)
		event_base_free(g_base);
	soc_config_free(&c);
	return ret;
}
