/*
 * mamori-soc: the types every part of the SOC collector shares.
 *
 * The flow, one process:
 *
 *   listeners (listen.c: UDP, TCP, TLS; relp.c: RELP in its own thread)
 *     └─ raw message + struct soc_origin ─► ingest.c: frame/parse/classify
 *          └─ struct soc_event (or struct soc_dead) in batches ─► writer thread
 *               store (store.h) ─► fleet.c (devices, certificates)
 *                              ─► correlate.c (incidents)  silence.c (No Response)
 *                              ─► alert.c (rules, actions in their own thread)
 *   http.c answers the API from a second, read-only store handle.
 *
 * A struct soc_event owns all of its strings: it is one allocation
 * (soc_event_free() frees it), so that it can cross from the listener thread
 * to the writer thread without copying.
 */
#ifndef MAMORI_SOC_H
#define MAMORI_SOC_H

#include <stddef.h>
#include <stdint.h>

enum soc_transport {
	SOC_UDP = 0,
	SOC_TCP = 1,
	SOC_TLS = 2,
	SOC_RELP = 3,
	SOC_RELP_TLS = 4,
	SOC_TRANSPORT_COUNT = 5,
};
/* "udp", "tcp", "tls", "relp", "relp+tls" */
const char *soc_transport_name(enum soc_transport t);

/* Where one message came from. */
struct soc_origin {
	enum soc_transport transport;
	char peer[64];      /* "192.0.2.1:5140", "[2001:db8::1]:5140" */
	char peer_addr[48]; /* the address alone: "192.0.2.1", "2001:db8::1" */
	/* Mutual TLS: the verified client certificate; cert_fp[0] == 0 when none. */
	char cert_cn[128];      /* subject CN: the device id the certificate names */
	char cert_fp[65];       /* SHA-256 of the DER certificate, lower-case hex */
	int64_t cert_not_after; /* seconds since the epoch */
};

/* What a stored message is. */
enum soc_kind {
	SOC_KIND_SYSLOG = 0, /* plain syslog (RFC 5424 or 3164) of anything else */
	SOC_KIND_X1367 = 1,  /* MSGID X1367 (or an MSG that decodes as a record) */
	SOC_KIND_EVENT = 2,  /* a mamori event: MSG is a JSON object with "event" */
};
/* "syslog", "x1367", "event" */
const char *soc_kind_name(enum soc_kind k);

/* Event flags (struct soc_event.flags). */
enum soc_event_flag {
	SOC_F_LENIENT = 1 << 0,           /* X.1367 record accepted only by the lenient decoder */
	SOC_F_IDENTITY_MISMATCH = 1 << 1, /* HOSTNAME claims another device than the certificate */
	SOC_F_NO_TIME = 1 << 2,           /* the message had no usable time; time_ms = recv_ms */
	SOC_F_BAD_UTF8 = 1 << 3,          /* MSG was not valid UTF-8 (stored with U+FFFD) */
};

/* One received message, parsed. Every string is NUL-terminated valid UTF-8
 * or NULL when absent. */
struct soc_event {
	int64_t id;          /* set by store_add_event() */
	int64_t recv_ms;     /* when the SOC received it (ms since the epoch) */
	int64_t time_ms;     /* the time the message itself gives (X.1367 Timestamp,
				else the syslog header), else recv_ms */
	enum soc_transport transport;
	const char *peer;    /* "addr:port" */
	const char *peer_addr;
	const char *cert_fp; /* the client certificate's fingerprint, NULL without mutual TLS */
	int64_t cert_not_after; /* its expiry (seconds since the epoch), 0 without */
	const char *device;  /* who sent it, as the SOC believes: the certificate's CN
				with mutual TLS, else HOSTNAME, else peer_addr */
	const char *hostname;/* HOSTNAME as the message claims it */
	int format;          /* 5424 or 3164 */
	int facility, severity;
	const char *app_name, *procid, *msgid;
	enum soc_kind kind;
	const char *type;    /* "x1367", the mamori event name ("guard.exec.denied"),
				or "syslog" */
	unsigned flags;      /* enum soc_event_flag */
	unsigned forgiven;   /* enum mm_x1367_forgive bits of a lenient record */
	/* X.1367 fields (kind X1367); code -1 and the rest NULL otherwise. */
	int code;            /* Error Code 0..255 */
	int category;        /* enum mm_x1367_category of code */
	const char *protocol;
	const char *reporter, *requester, *responder; /* the party's first identifier,
				in the order IP Address, Unique ID, Unique Name, MAC Address */
	const char *msg;     /* MSG as text */
	size_t msg_len;
	/* The allocation continues with the strings above. */
};

void soc_event_free(struct soc_event *ev);

/* Writes ms since the epoch as RFC 3339 UTC with milliseconds
 * ("2026-11-22T06:45:38.123Z") into out (at least 32 bytes), as the store,
 * the API and alerts show times. Returns 0, or MM_EINVAL ("invalid") for a
 * time gmtime cannot represent. */
int soc_time_text(int64_t ms, char *out, size_t size);
/* The wall clock in ms since the epoch: the time events are received at. */
int64_t soc_now_ms(void);

/* The most raw bytes kept of one dead letter. */
#define SOC_DEAD_MAX 4096

/* A message that could not be parsed or was refused. */
struct soc_dead {
	int64_t recv_ms;
	enum soc_transport transport;
	const char *peer;
	const char *reason;    /* "not syslog: ...", "frame too large", "invalid UTF-8 ..." */
	const uint8_t *raw;    /* the first raw_len bytes of it */
	size_t raw_len;        /* at most SOC_DEAD_MAX */
	size_t orig_len;       /* how long it really was */
};

/* Incident states. */
enum soc_incident_state {
	SOC_INC_OPEN = 0,
	SOC_INC_CLOSED = 1, /* its window passed with no new error */
};

/* A group of standard errors by one requester (or reporter) in a window. */
struct soc_incident {
	int64_t id;            /* set by store_add_incident() */
	int64_t opened_ms;     /* when it was opened (receive time of the event that did) */
	int64_t first_ms, last_ms; /* time of the first and last error in it */
	const char *key_kind;  /* "requester" or "reporter" */
	const char *key;       /* the address or id */
	const char *reason;    /* "2 protocols: MQTT, Modbus/TCP", "6 Security errors in 300 s" */
	const char *protocols; /* comma-separated, sorted */
	int nerrors, nsecurity, ncommand;
	enum soc_incident_state state;
};

/* Finding kinds. */
#define SOC_FIND_NO_RESPONSE "no-response"
#define SOC_FIND_CERT_SHARED "certificate-shared"
#define SOC_FIND_CERT_EXPIRING "certificate-expiring"
#define SOC_FIND_NEVER_AUTH "never-authenticated"
#define SOC_FIND_IDENTITY "identity-mismatch"

/* A finding about the fleet: one row per (kind, device, subject) while open. */
struct soc_finding {
	int64_t id;           /* set by store_put_finding() */
	int64_t first_ms, last_ms;
	const char *kind;     /* SOC_FIND_* */
	const char *device;   /* the device concerned, or NULL (e.g. a shared certificate) */
	const char *subject;  /* what it is about: a certificate fingerprint, a period */
	int severity;         /* syslog severity: 2 critical .. 6 info */
	const char *detail;   /* JSON object text with the evidence */
	int open;             /* 1 open, 0 resolved */
};

/*
 * Counters: every accepted, refused, dropped and stored thing is counted
 * here, by any thread (relaxed atomics), and shown by the HTTP API's
 * /counters and /metrics. soc_counter_name() gives the metric name
 * ("mamori_soc_received_total{transport=\"udp\"}" style names are built by
 * http.c from the name and the help text).
 */
enum soc_counter {
	SOC_C_RECEIVED_UDP = 0, /* messages received, by transport (keep the order of */
	SOC_C_RECEIVED_TCP,     /* enum soc_transport: SOC_C_RECEIVED_UDP + t) */
	SOC_C_RECEIVED_TLS,
	SOC_C_RECEIVED_RELP,
	SOC_C_RECEIVED_RELP_TLS,
	SOC_C_BYTES,              /* bytes received, all transports */
	SOC_C_CONN_ACCEPTED,      /* stream connections accepted */
	SOC_C_CONN_REFUSED,       /* refused: max_clients or per-address limit reached */
	SOC_C_CONN_OPEN,          /* gauge: stream connections open now */
	SOC_C_CONN_TIMEOUT,       /* closed for idleness or a too slow first message */
	SOC_C_TLS_FAILED,         /* TLS handshakes that failed (incl. refused certificates) */
	SOC_C_FRAME_OVERSIZED,    /* frames longer than max_msg (dead-lettered) */
	SOC_C_FRAME_MALFORMED,    /* bad octet counts, streams ending inside a frame */
	SOC_C_PUSHBACK,           /* times reading was paused because the queue was full */
	SOC_C_UDP_DROPPED,        /* datagrams the kernel dropped while reading was paused */
	SOC_C_SYSLOG_5424,        /* parsed as RFC 5424 */
	SOC_C_SYSLOG_3164,        /* parsed as RFC 3164 */
	SOC_C_X1367_STRICT,       /* X.1367 records valid as they are */
	SOC_C_X1367_LENIENT,      /* X.1367 records stored lenient-marked */
	SOC_C_EVENTS,             /* mamori events */
	SOC_C_PLAIN,              /* plain syslog of anything else */
	SOC_C_DEAD,               /* dead letters */
	SOC_C_IDENTITY_MISMATCH,  /* HOSTNAME claimed another device than the certificate */
	SOC_C_STORED,             /* events committed to the store */
	SOC_C_STORE_ERRORS,       /* store calls that failed */
	SOC_C_BATCHES,            /* store transactions committed */
	SOC_C_QUEUE,              /* gauge: messages waiting for the writer */
	SOC_C_INCIDENTS,          /* incidents opened */
	SOC_C_FINDINGS,           /* findings opened */
	SOC_C_ALERTS,             /* alerts raised */
	SOC_C_ALERTS_SUPPRESSED,  /* alerts not raised again inside their window */
	SOC_C_ALERT_ACTIONS_FAILED, /* actions that failed (webhook status, command exit) */
	SOC_C_ALERT_GROUPS_DROPPED, /* events not counted: a rule's group table was full */
	SOC_C_ALERT_QUEUE_DROPPED,  /* alerts whose actions never ran: the action queue was full */
	SOC_C_LOGIC_EVICTED,      /* correlation groups/errors and silence streams dropped
				     to stay within their limits */
	SOC_C_RETAINED_DELETED,   /* events deleted by retention */
	SOC_C_HTTP_REQUESTS,      /* API requests answered */
	SOC_C_COUNT,
};
void soc_count(enum soc_counter c, uint64_t n);
void soc_gauge_add(enum soc_counter c, int64_t delta);
uint64_t soc_counter_get(enum soc_counter c);
/* The counter's name ("received_udp", "conn_open"...) and a one-line help text. */
const char *soc_counter_name(enum soc_counter c);
const char *soc_counter_help(enum soc_counter c);
/* 1 for gauges (conn_open, queue), 0 for counters that only grow. */
int soc_counter_is_gauge(enum soc_counter c);

/*
 * What the writer's modules (correlate, silence, fleet) report upward when
 * they open an incident or a finding: an internal event that alert rules can
 * match like any other ("soc.incident.opened", "soc.finding.opened").
 * detail is a JSON object the callee may keep a reference to (json_incref).
 */
typedef void (*soc_notify_fn)(void *arg, const char *type, const char *device,
			      const char *group_key, void *detail /* json_t * */);

#endif
