/*
 * mamori-soc's configuration file (INI; every key in mamori-soc.conf(5)).
 * Every key has a safe default, so that the program also runs with no file.
 * [alert NAME] sections are handed to the alert rules as they are read.
 */
#ifndef MAMORI_SOC_CONFIG_H
#define MAMORI_SOC_CONFIG_H

#include <stdint.h>

#define SOC_MAX_LISTEN 16
#define SOC_MAX_EXPECT 256

struct alert;

struct soc_config {
	/* [soc] */
	char *store;                 /* store URL; default sqlite:STATE_DIR/soc.db */
	char *state_dir;             /* RELP journals, the default store */
	char *http;                  /* API address, "none" to disable */
	char *listen[SOC_MAX_LISTEN];
	int nlisten;
	long long queue, batch, max_msg;
	/* [tls] */
	char *tls_cert, *tls_key, *tls_ca;
	int tls_verify;              /* 0 none, 1 optional, 2 require */
	/* [limits] */
	long long max_clients, max_per_addr, conn_buffer, udp_buffer, idle_s, first_msg_s;
	/* [retention] */
	long long retain_age_s, retain_bytes, retain_every_s, dead_max;
	/* [correlate] */
	long long corr_window_s, corr_protocols, corr_threshold;
	int corr_by_reporter;
	/* [silence] */
	long long sil_min_reports, sil_grace_s;
	double sil_factor;
	char *sil_expect_dev[SOC_MAX_EXPECT];
	long long sil_expect_ms[SOC_MAX_EXPECT];
	int nexpect;
	/* [fleet] */
	long long fleet_expire_days, fleet_audit_s;
	int fleet_never_auth;        /* -1 auto (on with a mutual-TLS listener), 0, 1 */
};

/* Fills the defaults. */
void soc_config_init(struct soc_config *c);
void soc_config_free(struct soc_config *c);

/*
 * Reads path into c, sending the keys of [alert NAME] sections to a with
 * alert_rule_set() (a NULL a skips them). Returns 0, or MM_EIO / MM_EPARSE with "FILE:LINE: reason" in err.
 */
int soc_config_load(struct soc_config *c, struct alert *a, const char *path, char *err,
		    size_t errlen);
/* The same from text (tests); name is used in messages. */
int soc_config_parse(struct soc_config *c, struct alert *a, const char *text, const char *name,
		     char *err, size_t errlen);

/* Adds a --listen URL (MM_ETOOBIG past SOC_MAX_LISTEN, MM_EINVAL for an
 * unknown scheme). */
int soc_config_add_listen(struct soc_config *c, const char *url);

/* Parses "300", "5m", "2h", "30d", "500ms" into milliseconds. */
int soc_parse_duration_ms(const char *s, long long *ms);

#endif
