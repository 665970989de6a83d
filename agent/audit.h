/*
 * mamorid's audit: Device Defender's Audit done on the device, against the
 * baselines a device maker answers to (ETSI EN 303 645, the UK PSTI
 * regulations, Japan's terminal equipment rules, Article 34-10). One run
 * looks at a root folder (the device's /, or a firmware tree with --root)
 * and calls back once per finding. The device process (device.c) runs it at
 * start and daily; `mamori audit` runs it on demand. docs/formats/audit.md
 * lists every finding id with its severity and clauses.
 *
 *	struct audit_opts o;
 *	audit_opts_defaults(&o);
 *	o.root = "/srv/fw/rootfs";
 *	audit_run(&o, print_finding, NULL);
 */
#ifndef MAMORI_AGENT_AUDIT_H
#define MAMORI_AGENT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_MAX_PATHS 32

enum audit_severity { AUDIT_LOW = 0, AUDIT_MEDIUM = 1, AUDIT_HIGH = 2, AUDIT_CRITICAL = 3 };

struct audit_finding {
	char id[40];            /* "credential.default", "service.telnet" ... (audit.md) */
	enum audit_severity severity;
	char en303645[32];      /* EN 303 645 provision(s): "5.1-1", "" none */
	char psti[48];          /* PSTI requirement: "Schedule 1 para 1", "" none */
	char jp[64];            /* Japan's rule: "Terminal Equipment Rules Art. 34-10 (2)", "" none */
	char subject[256];      /* what it is about: an account, a path, a port */
	char text[256];         /* one sentence for people */
	char detail[512];       /* a JSON object of the finding's own fields, or "" */
};

struct audit_opts {
	const char *root;              /* "/" by default */
	const char *credentials;       /* dictionary file (data/credentials.tsv format), NULL: built-in path */
	const char *certs[AUDIT_MAX_PATHS]; /* PEM files (certificates or keys) under root; NULL-ended */
	long long cert_days;           /* a certificate expiring within this many days is a finding (30) */
	const char *setuid_allow[AUDIT_MAX_PATHS]; /* setuid/setgid files that are expected, NULL-ended */
	const char *firmware;          /* declared version; NULL: VERSION_ID/IMAGE_VERSION of root's os-release */
	const char *support_end;       /* YYYY-MM-DD; NULL: SUPPORT_END of root's os-release */
	const char *state_dir;         /* the agent's state folder (checked for power-loss safety), NULL: skip */
	const char *conf_path;         /* the agent's configuration file, NULL: skip */
	int listeners;                 /* 1: look at the listening sockets of this network namespace */
	int64_t now_s;                 /* the time to judge expiry against; 0: now */
	uint64_t max_files;            /* files walked for setuid and writable checks (default 200000) */
};

/* The defaults above (root "/", cert_days 30, listeners 1, max_files 200000). */
void audit_opts_defaults(struct audit_opts *o);

/*
 * Runs every check; fn is called once per finding, in a stable order.
 * Returns the number of findings, or a negative MM_E* code when the root
 * cannot be read at all (a check that cannot read one file skips it and
 * logs why).
 */
int audit_run(const struct audit_opts *o, void (*fn)(const struct audit_finding *f, void *arg),
	      void *arg);

/* The finding as one JSON object (id, severity, clauses, subject, text,
 * detail members), for `mamori audit --json` and the audit.finding event's
 * detail. Writes at most n bytes with the NUL; MM_ETOOBIG when it does not fit. */
int audit_finding_json(const struct audit_finding *f, char *out, size_t n);
const char *audit_severity_name(enum audit_severity s);

/* Parsers, also for the unit tests and fuzz targets. */
/* Calls fn(user, hash) for each line of a shadow (or passwd) text. */
int audit_parse_shadow(const char *text, size_t len,
		       void (*fn)(const char *user, const char *hash, void *arg), void *arg);
/* sshd_config text: *root_password is 1 when root may log in with a password. */
int audit_parse_sshd(const char *text, size_t len, int *root_password);

#endif
