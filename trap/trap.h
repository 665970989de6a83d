/*
 * The mamori-trap daemon's own parts, between config.c, login.c, limit.c,
 * session.c and main.c: the configuration (mamori-trap.conf(5)), the login
 * policy, the per-address limits, and the sessions served by one libevent
 * loop. The engine parts (telnet, shell, file systems, personas, capture,
 * events, recordings) have their own headers.
 */
#ifndef TRAP_TRAP_H
#define TRAP_TRAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- configuration (config.c) ---- */

#define TRAP_DEFAULT_CONF "/etc/mamori/mamori-trap.conf"
#define TRAP_DEFAULT_URL "relp://127.0.0.1:2514"

enum trap_accept {
	TRAP_ACCEPT_NONE = 0, /* no pair is accepted for itself (only accept_after) */
	TRAP_ACCEPT_MIRAI,    /* the dictionary's pairs whose SOURCE is "mirai" */
	TRAP_ACCEPT_ALL,      /* every pair of the dictionary */
	TRAP_ACCEPT_ANY,      /* whatever is typed */
};

struct trap_config {
	/* [trap] */
	char *listen;             /* an address to bind ("0.0.0.0", "::", "127.0.0.1") */
	long long port;
	char *dir;                /* events, recordings, captures, spool */
	char *persona;
	char *personas;           /* the folder of personas */
	long long seed;           /* -1: random at start */
	char *user;               /* the user the daemon runs as after binding */
	char *sensor;             /* Cowrie's "sensor"; NULL: the host name */
	char *attack;             /* the ATT&CK table */
	/* [login] */
	char *credentials;        /* the dictionary (credentials.tsv) */
	char *accept_s;           /* as written: mirai, all, any, none */
	enum trap_accept accept;
	long long accept_after;   /* 0: off */
	long long max_attempts;   /* per connection */
	long long delay_ms;       /* -1: the persona's login_delay_ms */
	/* [limits] */
	long long max_sessions, per_address, rate_per_address, max_addresses;
	long long idle_timeout, session_timeout;  /* seconds */
	long long max_line, max_fs, max_output_queue, max_output;
	/* [capture] */
	long long capture_max_bytes, capture_max_file;
	/* [record] */
	int record;
	long long record_max_bytes;
	/* [soc] */
	char *url;                /* NULL: TRAP_DEFAULT_URL; "none": no sending */
	char *spool;              /* NULL: DIR/spool */
	long long spool_max;
	char *spool_sync;
	char *ca, *cert, *key, *server_name;
	char *hostname;           /* RFC 5424 HOSTNAME; NULL: the host name */
	char *reporter;           /* X.1367 Reporter "ip:ADDR" / "name:NAME"; NULL: see main.c */
};

/* Fills the defaults (the data files from MAMORI_DATADIR when installed,
 * else the source tree's data/). Returns 0 or MM_ENOMEM. */
int trap_config_init(struct trap_config *c);
void trap_config_free(struct trap_config *c);
/*
 * Reads path (INI, every key of mamori-trap.conf(5)) into c and checks the
 * values that need more than a range. Returns 0, or MM_EIO / MM_EPARSE /
 * MM_EINVAL with err ("FILE:LINE: why", errlen bytes).
 */
int trap_config_load(struct trap_config *c, const char *path, char *err, size_t errlen);
/* The same from text (for tests; name is used in err). */
int trap_config_parse(struct trap_config *c, const char *text, const char *name, char *err,
		      size_t errlen);
/* Checks what ties keys together (after the command line changed c).
 * Returns 0 or MM_EINVAL with err. */
int trap_config_check(struct trap_config *c, char *err, size_t errlen);
/* "mirai" -> TRAP_ACCEPT_MIRAI ...; MM_EINVAL for another word. */
int trap_accept_parse(const char *s, enum trap_accept *out);

/* ---- a bounded table of addresses (limit.c) ---- */

/* An address as 16 bytes: IPv4 as IPv4-mapped IPv6. */
struct trap_addr {
	uint8_t b[16];
};

/* Makes a trap_addr of a sockaddr (AF_INET or AF_INET6). 0 or MM_EINVAL. */
int trap_addr_from(const struct sockaddr *sa, struct trap_addr *out);

/* What the table keeps per address, for the login policy and the limits. */
struct trap_addr_val {
	uint32_t attempts;      /* login attempts since the last acceptance */
	uint32_t active;        /* sessions open now */
	uint64_t tokens;        /* rate bucket, in thousandths of a connection */
	uint64_t refill_ms;     /* when tokens were last refilled */
};

struct trap_addrtab;

/* A table of at most cap addresses (at least 1). */
int trap_addrtab_new(uint32_t cap, struct trap_addrtab **out);
void trap_addrtab_free(struct trap_addrtab *t);
/*
 * The value of a, or NULL when a is not in the table. With create, a
 * missing address is added (zeroed): when the table is full the entry used
 * least recently is evicted first, preferring one with no active session
 * among the oldest few (evictions are counted). Every lookup makes a the
 * most recently used.
 */
struct trap_addr_val *trap_addrtab_get(struct trap_addrtab *t, const struct trap_addr *a,
				       int create);
uint32_t trap_addrtab_count(const struct trap_addrtab *t);
uint64_t trap_addrtab_evicted(const struct trap_addrtab *t);

/* ---- limits (limit.c) ---- */

enum trap_limit_verdict {
	TRAP_LIMIT_OK = 0,
	TRAP_LIMIT_SESSIONS,    /* max_sessions open */
	TRAP_LIMIT_ADDRESS,     /* per_address open from this address */
	TRAP_LIMIT_RATE,        /* rate_per_address exceeded */
};

struct trap_limits_opts {
	uint32_t max_sessions;
	uint32_t per_address;      /* 0: no bound */
	uint32_t rate_per_minute;  /* 0: no bound; also the bucket's depth */
	uint32_t max_addresses;    /* addresses remembered */
};

struct trap_limits_stats {
	uint64_t admitted, refused_sessions, refused_address, refused_rate, evicted;
	uint32_t active, addresses;
};

struct trap_limits;

int trap_limits_new(const struct trap_limits_opts *o, struct trap_limits **out);
void trap_limits_free(struct trap_limits *l);
/*
 * A new connection from a at now_ms (a monotonic clock in milliseconds).
 * The rate bucket is asked first (an attempt refused for the rate takes no
 * token; one refused for concurrency has taken its token, as it was a
 * connection made), then the concurrent bounds. On TRAP_LIMIT_OK the
 * session is counted until trap_limits_release().
 */
enum trap_limit_verdict trap_limits_admit(struct trap_limits *l, const struct trap_addr *a,
					  uint64_t now_ms);
void trap_limits_release(struct trap_limits *l, const struct trap_addr *a);
void trap_limits_stats(const struct trap_limits *l, struct trap_limits_stats *st);
const char *trap_limit_name(enum trap_limit_verdict v);

/* ---- the login policy (login.c) ---- */

enum trap_login_verdict {
	TRAP_LOGIN_REFUSED = 0,
	TRAP_LOGIN_DICTIONARY,  /* the pair is one the policy accepts */
	TRAP_LOGIN_NTH,         /* the accept_after-th attempt from the address */
};

struct trap_login_opts {
	const char *credentials;   /* the dictionary's path; NULL with accept none or any */
	enum trap_accept accept;
	uint32_t accept_after;     /* 0: off */
	uint32_t max_addresses;
};

struct trap_login;

/* Loads the dictionary (USER TAB PASSWORD TAB WEIGHT TAB SOURCE lines; #
 * comments) keeping the pairs accept selects. Returns 0, MM_EIO, MM_EPARSE
 * (err names the line), MM_ETOOBIG, MM_ENOMEM. */
int trap_login_new(const struct trap_login_opts *o, struct trap_login **out, char *err,
		   size_t errlen);
void trap_login_free(struct trap_login *l);
/*
 * One attempt from a: counts it for the address (across its connections)
 * and says whether it is accepted. An acceptance starts the address's
 * count again.
 */
enum trap_login_verdict trap_login_attempt(struct trap_login *l, const struct trap_addr *a,
					   const char *user, const char *pass);
/* The pairs kept from the dictionary. */
size_t trap_login_pairs(const struct trap_login *l);
uint64_t trap_login_evicted(const struct trap_login *l);

/* ---- sessions (session.c) ---- */

struct event_base;
struct trap_persona;
struct trap_attack;
struct trap_events;
struct trap_capture;

struct trap_server_opts {
	const struct trap_config *cfg;
	const struct trap_persona *persona;
	const struct trap_attack *attack;
	struct trap_events *events;
	struct trap_capture *capture;
	struct trap_login *login;
	struct trap_limits *limits;
	int dir_fd;
	unsigned login_delay_ms;
};

struct trap_server_stats {
	uint64_t accepted, refused, sessions, logins_ok, logins_failed, lines, files, downloads;
	uint64_t timeouts, runs, open;
};

struct trap_server;

/* Serves the listening socket fd (bound, listening, non-blocking) on base. */
int trap_server_new(struct event_base *base, int fd, const struct trap_server_opts *o,
		    struct trap_server **out);
/* Closes every session (each gets its closing events, reason "shutdown")
 * and stops accepting. */
void trap_server_shutdown(struct trap_server *s);
void trap_server_free(struct trap_server *s);
void trap_server_stats(const struct trap_server *s, struct trap_server_stats *st);

#endif
