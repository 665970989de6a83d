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
	long long max_memory;     /* bytes all sessions' files and queued output may hold */
	/* [capture] */
	long long capture_max_bytes, capture_max_file;
	int fetch;                /* 1: downloads the sessions ask for are fetched */
	long long fetch_timeout;  /* seconds, the whole of one fetch */
	long long fetch_max;      /* bytes of one fetched file; 0: capture_max_file */
	long long fetch_concurrent, fetch_per_session;
	char *fetch_deny;         /* as written: CIDR blocks, commas or spaces between */
	struct trap_cidr *deny;   /* fetch_deny parsed (by the checks) */
	size_t ndeny;
	/* [record] */
	int record;
	long long record_max_bytes;
	long long record_max_total; /* bytes tty/ may hold; 0: no bound */
	long long log_max, log_keep; /* [trap]: events.json rotated past log_max (0: never) */
	/* [soc] */
	char *url;                /* NULL: TRAP_DEFAULT_URL; "none": no sending */
	char *spool;              /* NULL: DIR/spool */
	long long spool_max;
	char *spool_sync;
	char *ca, *cert, *key, *server_name;
	char *hostname;           /* RFC 5424 HOSTNAME; NULL: the host name */
	char *reporter;           /* X.1367 Reporter "ip:ADDR" / "name:NAME"; NULL: see main.c */
};

/* An address block: an address (IPv4 as IPv4-mapped IPv6) and the
 * length of its prefix, 0 to 128 (an IPv4 /N is 96 + N). */
struct trap_cidr {
	uint8_t b[16];
	uint8_t bits;
};

/* The most blocks fetch_deny may list. */
#define TRAP_CIDR_MAX 64
/* The default of fetch_deny: the places a fetch must not reach from a
 * honeypot (this host, its networks, what is not an address of anyone). */
#define TRAP_FETCH_DENY_DEFAULT                                                                   \
	"0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12 "           \
	"192.0.0.0/24 192.168.0.0/16 198.18.0.0/15 224.0.0.0/3 ::/128 ::1/128 fc00::/7 "          \
	"fe80::/10 ff00::/8"

/*
 * Parses a list of CIDR blocks ("10.0.0.0/8, ::1/128 192.0.2.1": commas
 * or blanks between; an address without /N is one address; "" and "none"
 * are the empty list) into out (cap blocks). Returns 0 with *n the count,
 * MM_EINVAL with bad (badlen bytes) the block that is not one, or
 * MM_EFULL past cap. The bits below the prefix are cleared.
 */
int trap_cidr_parse_list(const char *s, struct trap_cidr *out, size_t cap, size_t *n, char *bad,
			 size_t badlen);

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

/* 1 when a lies in one of the n blocks of list (config.c, beside the
 * parser of the blocks). */
int trap_cidr_match(const struct trap_cidr *list, size_t n, const struct trap_addr *a);

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

/* ---- fetching what sessions ask to download (fetch.c) ---- */

struct event_base;
struct trap_persona;
struct trap_attack;
struct trap_events;
struct trap_capture;
struct trap_capture_file;
struct trap_session_id;
/* Writes fmt's text into err (size bytes; err may be NULL) and returns rc:
 * the one way the daemon's loaders say what they refused (config.c). */
int trap_errf(char *err, size_t size, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A URL a session asked for, split: what a fetch connects to and asks. */
#define TRAP_URL_HOST_MAX 256
#define TRAP_URL_PATH_MAX 2048
#define TRAP_URL_TFTP_FILE_MAX 255
enum trap_url_proto { TRAP_URL_HTTP, TRAP_URL_TFTP };
struct trap_url {
	enum trap_url_proto proto;
	char host[TRAP_URL_HOST_MAX];         /* without the brackets of an IPv6 literal */
	char hostport[TRAP_URL_HOST_MAX + 8]; /* the Host header */
	uint16_t port;
	char path[TRAP_URL_PATH_MAX];         /* http: path and query; tftp: the file */
};

/*
 * Splits url (attacker text) into u: http:// or tftp://, or no scheme (http,
 * as wget and curl take it); a user and password before the host are
 * dropped; an IPv6 literal in brackets; a port 1-65535. Returns 0, or
 * MM_EINVAL with why ("https is not fetched", "ftp is not fetched", "no
 * host", "bad port", a blank or control character, too long).
 */
int trap_url_split(const char *url, struct trap_url *u, char *why, size_t whylen);

struct trap_fetch;

struct trap_fetch_stats {
	uint64_t started;   /* fetches begun */
	uint64_t fetched;   /* ended with a file */
	uint64_t failed;    /* ended without one (denied addresses among them) */
	uint64_t denied;    /* refused by fetch_deny */
	uint64_t dropped;   /* not begun: fetch_concurrent were running */
	uint64_t refused;   /* not begun: a URL that is not fetched (https, ftp ...) */
	uint32_t active;
};

/*
 * Fetches out of band, on base, the URLs the sessions' wget, curl and tftp
 * asked for, when [capture] fetch is yes: http:// with libevent's HTTP
 * client (no redirect is followed: a 3xx is a failure with its status and
 * Location), tftp:// with a read request over UDP (RFC 1350, octet mode).
 * A host name is resolved with evdns; every address is checked against
 * fetch_deny before anything is sent to it. A fetch is bounded by
 * fetch_max bytes and fetch_timeout seconds, and at most fetch_concurrent
 * run at once. What arrives goes through the capture store and becomes a
 * cowrie.session.file_download event (attack T1105), a failure a
 * cowrie.session.file_download.failed event with a "reason", both with
 * the session's id and addresses as they were when it asked: a fetch does
 * not need its session to live. The resolver reads /etc/resolv.conf here,
 * before the sandbox. Returns 0, MM_ENOMEM.
 *
 *	trap_fetch_new(base, &cfg, capture, events, &f);
 *	rc = trap_fetch_start(f, &s->id, "wget", "http://192.0.2.1/x.arm", "/tmp/x.arm",
 *			      why, sizeof why);
 */
int trap_fetch_new(struct event_base *base, const struct trap_config *cfg,
		   struct trap_capture *capture, struct trap_events *events,
		   struct trap_fetch **out);
/*
 * Starts fetching url for the session id (copied). Never emits an event
 * itself before it returns: the outcome comes later from the loop.
 * Returns 0 (started), MM_EINVAL (a URL that is not fetched: https, ftp,
 * no host; why says so), MM_EFULL (fetch_concurrent fetches run; counted
 * as dropped), MM_ENOMEM.
 */
int trap_fetch_start(struct trap_fetch *f, const struct trap_session_id *id, const char *applet,
		     const char *url, const char *destfile, char *why, size_t whylen);
void trap_fetch_stats(const struct trap_fetch *f, struct trap_fetch_stats *st);
/* Ends every fetch still running (each gets its failed event, reason
 * "shutdown") and frees f. */
void trap_fetch_free(struct trap_fetch *f);

/* ---- sessions (session.c) ---- */

/*
 * Adds a captured file's members to ev (shasum, outfile when stored, tlsh,
 * kind, size, elf_*, stored, duplicate, why), as trap_capture_add's rc
 * (0 or MM_ETOOBIG) and f left them: the members every
 * cowrie.session.file_download carries.
 */
struct json_t;
void trap_file_members(struct json_t *ev, int rc, const struct trap_capture_file *f);

struct trap_server_opts {
	const struct trap_config *cfg;
	const struct trap_persona *persona;
	const struct trap_attack *attack;
	struct trap_events *events;
	struct trap_capture *capture;
	struct trap_login *login;
	struct trap_limits *limits;
	struct trap_fetch *fetch;    /* NULL: nothing is fetched */
	int dir_fd;
	unsigned login_delay_ms;
};

struct trap_server_stats {
	uint64_t accepted, refused, sessions, logins_ok, logins_failed, lines, files, downloads;
	uint64_t timeouts, runs, open;
	uint64_t memory;      /* bytes the sessions' files and queued output hold now */
	uint64_t memory_closed; /* sessions closed because max_memory was reached */
	uint64_t unrecorded;  /* sessions not recorded: [record] max_total was reached */
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
