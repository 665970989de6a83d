/*
 * The collector's counters: one array of relaxed atomics that any thread
 * may bump, named once here for /counters and /metrics.
 */
#include <stdatomic.h>

#include "soc.h"

static _Atomic uint64_t counters[SOC_C_COUNT];

static const struct {
	const char *name, *help;
	int gauge;
} info[SOC_C_COUNT] = {
	[SOC_C_RECEIVED_UDP] = {"received_udp", "messages received over UDP", 0},
	[SOC_C_RECEIVED_TCP] = {"received_tcp", "messages received over TCP", 0},
	[SOC_C_RECEIVED_TLS] = {"received_tls", "messages received over TLS", 0},
	[SOC_C_RECEIVED_RELP] = {"received_relp", "messages received over RELP", 0},
	[SOC_C_RECEIVED_RELP_TLS] = {"received_relp_tls", "messages received over RELP with TLS", 0},
	[SOC_C_BYTES] = {"received_bytes", "bytes received on all listeners", 0},
	[SOC_C_CONN_ACCEPTED] = {"connections_accepted", "stream connections accepted", 0},
	[SOC_C_CONN_REFUSED] = {"connections_refused",
				"connections refused by the client limits", 0},
	[SOC_C_CONN_OPEN] = {"connections_open", "stream connections open now", 1},
	[SOC_C_CONN_TIMEOUT] = {"connections_timed_out",
				"connections closed for idleness or slowness", 0},
	[SOC_C_TLS_FAILED] = {"tls_failed", "TLS handshakes that failed or were refused", 0},
	[SOC_C_FRAME_OVERSIZED] = {"frames_oversized", "frames longer than max_msg", 0},
	[SOC_C_FRAME_MALFORMED] = {"frames_malformed",
				   "malformed octet counts and truncated frames", 0},
	[SOC_C_PUSHBACK] = {"pushback", "times reading paused because the queue was full", 0},
	[SOC_C_UDP_DROPPED] = {"udp_dropped", "datagrams dropped while reading was paused", 0},
	[SOC_C_SYSLOG_5424] = {"parsed_rfc5424", "messages parsed as RFC 5424", 0},
	[SOC_C_SYSLOG_3164] = {"parsed_rfc3164", "messages parsed as RFC 3164", 0},
	[SOC_C_X1367_STRICT] = {"x1367_strict", "X.1367 records valid as received", 0},
	[SOC_C_X1367_LENIENT] = {"x1367_lenient", "X.1367 records stored lenient-marked", 0},
	[SOC_C_EVENTS] = {"mamori_events", "mamori events", 0},
	[SOC_C_PLAIN] = {"plain_syslog", "plain syslog messages", 0},
	[SOC_C_DEAD] = {"dead_letters", "inputs kept as dead letters", 0},
	[SOC_C_IDENTITY_MISMATCH] = {"identity_mismatch",
				     "messages whose HOSTNAME is not their certificate's device", 0},
	[SOC_C_STORED] = {"stored", "events committed to the store", 0},
	[SOC_C_STORE_ERRORS] = {"store_errors", "store operations that failed", 0},
	[SOC_C_BATCHES] = {"store_batches", "store transactions committed", 0},
	[SOC_C_QUEUE] = {"queue", "messages waiting for the writer", 1},
	[SOC_C_INCIDENTS] = {"incidents_opened", "incidents opened", 0},
	[SOC_C_FINDINGS] = {"findings_opened", "findings opened", 0},
	[SOC_C_ALERTS] = {"alerts", "alerts raised", 0},
	[SOC_C_ALERTS_SUPPRESSED] = {"alerts_suppressed",
				     "alerts not raised again within their window", 0},
	[SOC_C_ALERT_ACTIONS_FAILED] = {"alert_actions_failed", "alert actions that failed", 0},
	[SOC_C_ALERT_GROUPS_DROPPED] = {"alert_groups_dropped",
					"events not counted: a rule's group table was full", 0},
	[SOC_C_ALERT_QUEUE_DROPPED] = {"alert_queue_dropped",
				       "alerts dropped: the action queue was full", 0},
	[SOC_C_LOGIC_EVICTED] = {"logic_evicted",
				 "correlation groups or errors and silence streams dropped "
				 "to stay within their limits", 0},
	[SOC_C_RETAINED_DELETED] = {"retention_deleted", "events deleted by retention", 0},
	[SOC_C_HTTP_REQUESTS] = {"http_requests", "API requests answered", 0},
};

void soc_count(enum soc_counter c, uint64_t n)
{
	atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

void soc_gauge_add(enum soc_counter c, int64_t delta)
{
	atomic_fetch_add_explicit(&counters[c], (uint64_t)delta, memory_order_relaxed);
}

uint64_t soc_counter_get(enum soc_counter c)
{
	return atomic_load_explicit(&counters[c], memory_order_relaxed);
}

const char *soc_counter_name(enum soc_counter c)
{
	return info[c].name;
}

const char *soc_counter_help(enum soc_counter c)
{
	return info[c].help;
}

int soc_counter_is_gauge(enum soc_counter c)
{
	return info[c].gauge;
}
