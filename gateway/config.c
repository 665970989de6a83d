/*
 * mamori-gw's configuration: libmamori's key table loader (conf.h) reads the
 * file; the functions below turn what it read into each part's options and
 * say precisely what is wrong with a value.
 */
#define _GNU_SOURCE /* asprintf */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mamori/buf.h"
#include "mamori/conf.h"
#include "mamori/error.h"
#include "mamori/x1367.h"

#include "config.h"

#define DEFAULT_ERRMAP MAMORI_DATADIR "/errmap"
/* Run from the build tree before `make install`, the tables are the sources'. */
#define SOURCE_ERRMAP MAMORI_SRC_DATADIR "/errmap"
#define DEFAULT_SPOOL "/var/spool/mamori/gw"
#define DEFAULT_STATUS "This message was sent from IDS not IoTGW"

static int errf(char *err, size_t size, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int errf(char *err, size_t size, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return rc;
}

static char *dup_or_die(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort(); /* at start, before anything runs: nothing to save */
	return d;
}

void gw_config_init(struct gw_config *c)
{
	unsigned i;

	memset(c, 0, sizeof *c);
	c->snaplen = 65535;
	c->promiscuous = 1;
	c->buffer = 32 * 1024 * 1024;
	c->status = dup_or_die(DEFAULT_STATUS);
	c->timeout_ms = 5000;
	c->max_pending = 65536;
	c->max_raw = 1024;
	c->errmap = dup_or_die(access(DEFAULT_ERRMAP, F_OK) == 0 ? DEFAULT_ERRMAP : SOURCE_ERRMAP);
	c->max_flows = 65536;
	c->max_memory = 64LL * 1024 * 1024;
	c->max_buffer = 65536;
	c->tcp_idle_s = 300;
	c->half_open_s = 10;
	c->udp_idle_s = 60;
	for (i = 0; i < GW_MAX_DECODERS; i++)
		c->silence[i] = 1;
	c->sil_samples = 3;
	c->sil_factor = 3;
	c->sil_min_ms = 1000;
	c->max_periodic = 4096;
	c->stats_interval_s = 60;
	c->max_devices = 4096;
	c->max_peers = 32;
	c->spool = dup_or_die(DEFAULT_SPOOL);
	c->spool_max = 64LL * 1024 * 1024;
}

void gw_config_free(struct gw_config *c)
{
	char **strs[] = {&c->interfaces, &c->filter, &c->reporter, &c->status, &c->errmap,
			 &c->devices, &c->url, &c->spool, &c->spool_sync, &c->ca, &c->cert,
			 &c->key, &c->server_name, &c->hostname};
	size_t i;

	for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (i = 0; i < GW_MAX_DECODERS; i++) {
		free(c->ports[i]);
		c->ports[i] = NULL;
	}
}

int gw_config_load(struct gw_config *c, const char *path, char *err, size_t size)
{
	/* The fixed keys, then one [ports] and one [silence] key per decoder. */
	const struct mm_conf_key fixed[] = {
		{"capture", "interfaces", MM_CONF_STR, &c->interfaces, 0, 0},
		{"capture", "filter", MM_CONF_STR, &c->filter, 0, 0},
		{"capture", "snaplen", MM_CONF_INT, &c->snaplen, 64, 262144},
		{"capture", "promiscuous", MM_CONF_BOOL, &c->promiscuous, 0, 0},
		{"capture", "buffer", MM_CONF_SIZE, &c->buffer, 65536, INT_MAX},
		{"reporter", "id", MM_CONF_STR, &c->reporter, 0, 0},
		{"reporter", "status", MM_CONF_STR, &c->status, 0, 0},
		{"reporter", "timeout", MM_CONF_INT, &c->timeout_ms, 1, 86400000},
		{"reporter", "max_pending", MM_CONF_INT, &c->max_pending, 1, 1 << 24},
		{"reporter", "max_raw", MM_CONF_SIZE, &c->max_raw, 16, 131072},
		{"tables", "errmap", MM_CONF_STR, &c->errmap, 0, 0},
		{"flows", "max_flows", MM_CONF_INT, &c->max_flows, 16, 1 << 24},
		{"flows", "max_memory", MM_CONF_SIZE, &c->max_memory, 1 << 20, 1LL << 40},
		{"flows", "max_buffer", MM_CONF_SIZE, &c->max_buffer, 1024, 1 << 24},
		{"flows", "tcp_idle", MM_CONF_INT, &c->tcp_idle_s, 1, 86400 * 7},
		{"flows", "half_open", MM_CONF_INT, &c->half_open_s, 1, 86400},
		{"flows", "udp_idle", MM_CONF_INT, &c->udp_idle_s, 1, 86400},
		{"silence", "samples", MM_CONF_INT, &c->sil_samples, 1, 64},
		{"silence", "factor", MM_CONF_INT, &c->sil_factor, 1, 1000},
		{"silence", "min", MM_CONF_INT, &c->sil_min_ms, 1, 86400000},
		{"silence", "max_streams", MM_CONF_INT, &c->max_periodic, 1, 1 << 24},
		{"stats", "interval", MM_CONF_INT, &c->stats_interval_s, 1, 86400},
		{"stats", "max_devices", MM_CONF_INT, &c->max_devices, 1, 1 << 20},
		{"stats", "max_peers", MM_CONF_INT, &c->max_peers, 1, 4096},
		{"stats", "devices", MM_CONF_STR, &c->devices, 0, 0},
		{"soc", "url", MM_CONF_STR, &c->url, 0, 0},
		{"soc", "spool", MM_CONF_STR, &c->spool, 0, 0},
		{"soc", "spool_max", MM_CONF_SIZE, &c->spool_max, 1 << 20, 1LL << 40},
		{"soc", "spool_sync", MM_CONF_STR, &c->spool_sync, 0, 0},
		{"soc", "ca", MM_CONF_STR, &c->ca, 0, 0},
		{"soc", "cert", MM_CONF_STR, &c->cert, 0, 0},
		{"soc", "key", MM_CONF_STR, &c->key, 0, 0},
		{"soc", "server_name", MM_CONF_STR, &c->server_name, 0, 0},
		{"soc", "hostname", MM_CONF_STR, &c->hostname, 0, 0},
	};
	struct mm_conf_key keys[sizeof fixed / sizeof fixed[0] + 2 * GW_MAX_DECODERS];
	struct mm_conf_err e;
	size_t n = sizeof fixed / sizeof fixed[0];
	unsigned i;
	int rc;

	memcpy(keys, fixed, sizeof fixed);
	for (i = 0; gw_decoders[i] && i < GW_MAX_DECODERS; i++) {
		keys[n++] = (struct mm_conf_key){"ports", gw_decoders[i]->name, MM_CONF_STR,
						 &c->ports[i], 0, 0};
		keys[n++] = (struct mm_conf_key){"silence", gw_decoders[i]->name, MM_CONF_BOOL,
						 &c->silence[i], 0, 0};
	}
	rc = mm_conf_load(path, keys, n, &e);
	if (rc < 0) {
		if (e.line > 0)
			return errf(err, size, rc, "%s:%d: %s", path, e.line, e.msg);
		return errf(err, size, rc, "%s: %s", path, e.msg);
	}
	return 0;
}

/* Calls fn for each item of a list separated by commas or blanks. */
static int each_item(const char *list, int (*fn)(void *arg, const char *item), void *arg)
{
	char item[256];
	const char *p = list;
	int rc;

	while (p && *p) {
		size_t n;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if (n >= sizeof item)
			return MM_ETOOBIG;
		memcpy(item, p, n);
		item[n] = '\0';
		if ((rc = fn(arg, item)) < 0)
			return rc;
		p += n;
	}
	return 0;
}

struct port_ctx {
	struct gw_flow_opts *o;
	const struct gw_decoder *d;
	char *err;
	size_t size;
};

static int add_port(void *arg, const char *item)
{
	struct port_ctx *pc = arg;
	char *end;
	unsigned long v;
	unsigned i;

	errno = 0;
	v = strtoul(item, &end, 10);
	if (errno || *end || v == 0 || v > 65535 || item[0] < '0' || item[0] > '9')
		return errf(pc->err, pc->size, MM_EINVAL, "[ports] %s: not a port: %s",
			    pc->d->name, item);
	for (i = 0; i < pc->o->nports; i++)
		if (pc->o->ports[i].port == v && pc->o->ports[i].ipproto == pc->d->ipproto)
			return errf(pc->err, pc->size, MM_EINVAL,
				    "[ports] %s: port %lu is already %s's", pc->d->name, v,
				    pc->o->ports[i].decoder->name);
	if (pc->o->nports >= GW_MAX_PORTS)
		return errf(pc->err, pc->size, MM_ETOOBIG, "[ports]: more than %d ports",
			    GW_MAX_PORTS);
	pc->o->ports[pc->o->nports++] =
		(struct gw_port){(uint8_t)pc->d->ipproto, (uint16_t)v, pc->d};
	return 0;
}

int gw_config_flows(const struct gw_config *c, struct gw_flow_opts *o, char *err, size_t size)
{
	unsigned i;
	int rc;

	gw_flow_opts_default(o);
	o->max_flows = (unsigned)c->max_flows;
	o->max_memory = (uint64_t)c->max_memory;
	o->max_buffer = (unsigned)c->max_buffer;
	o->tcp_idle_ms = (unsigned)c->tcp_idle_s * 1000;
	o->half_open_ms = (unsigned)c->half_open_s * 1000;
	o->udp_idle_ms = (unsigned)c->udp_idle_s * 1000;
	o->timeout_ms = (unsigned)c->timeout_ms;
	o->nports = 0;
	/* Ports given for a decoder replace its defaults; "none" turns it off. */
	for (i = 0; gw_decoders[i] && i < GW_MAX_DECODERS; i++) {
		struct port_ctx pc = {o, gw_decoders[i], err, size};
		const char *list = c->ports[i] ? c->ports[i] : gw_decoders[i]->ports;

		o->silence[i] = c->silence[i];
		if (strcmp(list, "none") == 0)
			continue;
		if ((rc = each_item(list, add_port, &pc)) < 0) {
			if (rc == MM_ETOOBIG && !err[0])
				errf(err, size, rc, "[ports] %s: item too long", gw_decoders[i]->name);
			return rc;
		}
	}
	return 0;
}

struct net_ctx {
	struct gw_stats_opts *o;
	char *err;
	size_t size;
};

static int add_net(void *arg, const char *item)
{
	struct net_ctx *nc = arg;

	if (nc->o->nnets >= sizeof nc->o->nets / sizeof nc->o->nets[0])
		return errf(nc->err, nc->size, MM_ETOOBIG, "[stats] devices: more than %zu networks",
			    sizeof nc->o->nets / sizeof nc->o->nets[0]);
	if (gw_stats_net_parse(item, &nc->o->nets[nc->o->nnets].net,
			       &nc->o->nets[nc->o->nnets].bits) < 0)
		return errf(nc->err, nc->size, MM_EPARSE,
			    "[stats] devices: not an address/prefix: %s", item);
	nc->o->nnets++;
	return 0;
}

int gw_config_stats(const struct gw_config *c, struct gw_stats_opts *o, char *err, size_t size)
{
	struct net_ctx nc = {o, err, size};

	gw_stats_opts_default(o);
	o->interval_ms = (unsigned)c->stats_interval_s * 1000;
	o->max_devices = (unsigned)c->max_devices;
	o->max_peers = (unsigned)c->max_peers;
	if (c->devices)
		return each_item(c->devices, add_net, &nc);
	return 0;
}

/* ---- mapping tables ---- */

struct map_ctx {
	struct mm_buf text;
	char *err;
	size_t size;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks one table file alone (so that an error names its own line) and
 * appends it to the text all tables are loaded from. */
static int add_map_file(struct map_ctx *mc, const char *path)
{
	struct mm_errmap *one;
	struct mm_errmap_err e;
	FILE *f;
	char chunk[8192];
	size_t n;
	int rc;

	if ((rc = mm_errmap_load_file(&one, path, &e)) < 0) {
		if (e.line > 0)
			return errf(mc->err, mc->size, rc, "%s:%d: %s", path, e.line, e.msg);
		return errf(mc->err, mc->size, rc, "%s: %s", path, e.msg);
	}
	mm_errmap_free(one);
	if (!(f = fopen(path, "r")))
		return errf(mc->err, mc->size, MM_EIO, "%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (mm_buf_append(&mc->text, chunk, n) < 0) {
			fclose(f);
			return errf(mc->err, mc->size, MM_ETOOBIG, "the tables are larger than %d bytes",
				    MM_ERRMAP_MAX_FILE);
		}
	fclose(f);
	/* A file without a final newline must not join its last line to the next file's first. */
	return mm_buf_append(&mc->text, "\n", 1) < 0
		       ? errf(mc->err, mc->size, MM_ETOOBIG, "the tables are too large")
		       : 0;
}

static int add_map_dir(struct map_ctx *mc, const char *dir)
{
	char *names[1024];
	size_t n = 0, i;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (!(d = opendir(dir)))
		return errf(mc->err, mc->size, MM_EIO, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".map") != 0 || de->d_name[0] == '.')
			continue;
		if (n == sizeof names / sizeof names[0]) {
			rc = errf(mc->err, mc->size, MM_ETOOBIG, "%s: more than %zu tables", dir, n);
			break;
		}
		if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0) {
			rc = MM_ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof names[0], cmp_str);
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rc = add_map_file(mc, names[i]);
		free(names[i]);
	}
	if (rc == 0 && n == 0)
		rc = errf(mc->err, mc->size, MM_ENOTFOUND, "%s: no *.map file", dir);
	return rc;
}

static int add_map(void *arg, const char *item)
{
	struct map_ctx *mc = arg;
	DIR *d = opendir(item);

	if (d) {
		closedir(d);
		return add_map_dir(mc, item);
	}
	return add_map_file(mc, item);
}

int gw_config_errmap(const struct gw_config *c, struct mm_errmap **out, char *err, size_t size)
{
	struct map_ctx mc;
	struct mm_errmap_err e;
	int rc;

	*out = NULL;
	mc.err = err;
	mc.size = size;
	mm_buf_init(&mc.text, MM_ERRMAP_MAX_FILE);
	if ((rc = each_item(c->errmap, add_map, &mc)) < 0)
		goto out;
	/* Each file loaded alone; together they fail only by naming one
	 * protocol and vendor twice. */
	if ((rc = mm_errmap_load(out, mc.text.data, mc.text.len, &e)) < 0)
		errf(err, size, rc, "[tables] errmap: %s (the same table in two files?)", e.msg);
out:
	mm_buf_free(&mc.text);
	return rc;
}
