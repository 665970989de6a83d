/*
 * mamori-gw.conf (mamori-gw.conf(5)): what the file and the command line
 * set, and how it becomes the options of the parts.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include "mamori/errmap.h"
#include "mamori/reporter.h"
#include "mamori/send.h"
#include "mamori/spool.h"

#include "gw.h"

#define GW_MAX_DECODERS 8
#define GW_MAX_IFACES 8

struct gw_config {
	/* [capture] */
	char *interfaces;         /* "eth0, eth1" */
	char *filter;             /* BPF */
	long long snaplen;
	int promiscuous;
	long long buffer;         /* the kernel capture buffer, bytes */
	/* [reporter] */
	char *reporter;           /* "ip:192.168.2.11", "name:gw1", ...; NULL: default */
	char *status;             /* Description "Status" */
	long long timeout_ms, max_pending, max_raw;
	/* [tables] */
	char *errmap;             /* files or directories of *.map, comma-separated */
	/* [ports] */
	char *ports[GW_MAX_DECODERS];
	/* [flows] */
	long long max_flows, max_memory, max_buffer, tcp_idle_s, half_open_s, udp_idle_s;
	/* [silence] */
	int silence[GW_MAX_DECODERS];
	long long sil_samples, sil_factor, sil_min_ms, max_periodic;
	/* [stats] */
	long long stats_interval_s, max_devices, max_peers;
	char *devices;            /* CIDRs, comma-separated; NULL: private addresses */
	/* [soc] */
	char *url;                /* NULL: the mode's default */
	char *spool;
	long long spool_max;
	char *spool_sync;
	char *ca, *cert, *key, *server_name;
	char *hostname;
};

/* Fills the defaults. */
void gw_config_init(struct gw_config *c);
void gw_config_free(struct gw_config *c);
/* Reads path into c. Returns 0 or an MM_E* code with err (size bytes) saying
 * where and why. */
int gw_config_load(struct gw_config *c, const char *path, char *err, size_t size);

/* The parts' options from c. Each returns 0 or MM_EINVAL/MM_EPARSE with err. */
int gw_config_flows(const struct gw_config *c, struct gw_flow_opts *o, char *err, size_t size);
int gw_config_stats(const struct gw_config *c, struct gw_stats_opts *o, char *err, size_t size);
/* Loads every table c->errmap names (a directory: its *.map files in name order). */
int gw_config_errmap(const struct gw_config *c, struct mm_errmap **out, char *err, size_t size);

#endif
