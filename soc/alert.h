/*
 * Alert rules and their actions (the rule language: docs/formats/soc-alerts.md).
 *
 * A rule names a condition on events (type, X.1367 code or category, device,
 * protocol, finding kind), a threshold (count matching events within window
 * seconds, per group of group_by fields) and actions (log, syslog, webhook,
 * command). Each rule fires at most once per group until its suppress time
 * has passed.
 *
 * The rules are matched in the writer thread: it calls alert_event() for
 * every stored event, alert_notify() for the SOC's own events (incidents and
 * findings opened) and alert_tick() once a second. Those calls never block:
 * an alert that fires is put on a bounded queue that a dedicated action
 * thread empties (a full queue drops the alert and counts it).
 *
 *	struct alert *a;
 *	char err[256];
 *	alert_new(&a);
 *	alert_rule_set(a, "auth", "type", "x1367", err, sizeof err);
 *	alert_rule_set(a, "auth", "category", "security", err, sizeof err);
 *	alert_rule_set(a, "auth", "count", "5", err, sizeof err);
 *	alert_rule_set(a, "auth", "action", "webhook http://127.0.0.1:9000/hook", err, sizeof err);
 *	if (alert_check(a, err, sizeof err) < 0) fatalx("%s", err);
 *	alert_start(a);
 *	...  alert_event(a, ev);  alert_tick(a, now_ms);  ...
 *	alert_free(a);
 */
#ifndef MAMORI_SOC_ALERT_H
#define MAMORI_SOC_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "soc.h"

struct alert;

/* The most rules, actions per rule and webhook headers per rule. */
#define ALERT_MAX_RULES 256
#define ALERT_MAX_ACTIONS 8
#define ALERT_MAX_HEADERS 8
/* The most event summaries an alert carries in "events". */
#define ALERT_MAX_EVENTS 10

/* Creates an empty rule set (no rules, no thread). Returns 0 or MM_ENOMEM. */
int alert_new(struct alert **out);

/*
 * Sets one key of the rule named rule (one line of an [alert NAME] section),
 * creating the rule on its first key. Keys: type, code, category, device,
 * protocol, kind, count, window, group_by, suppress, severity, max_groups,
 * timeout, action (repeatable: "log", "syslog udp://HOST:PORT",
 * "syslog tcp://HOST:PORT", "webhook URL", "command /path/prog ARGS") and
 * webhook_header (repeatable: "Name: value").
 * Returns 0, or MM_EINVAL with a message in err naming the rule and the key
 * (unknown key, bad value, a key given twice, too many rules or actions),
 * or MM_ENOMEM. Only before alert_start().
 */
int alert_rule_set(struct alert *a, const char *rule, const char *key, const char *value,
		   char *err, size_t errlen);

/* Checks that every rule is complete (at least one action). Returns 0 or
 * MM_EINVAL with the first problem in err. */
int alert_check(struct alert *a, char *err, size_t errlen);

/* Starts the action thread. Returns 0 or MM_EIO. A rule set that is never
 * started still matches (the alerts wait in the queue until it is full). */
int alert_start(struct alert *a);

/* Matches one stored event (ev->id set) against every rule. Writer thread. */
void alert_event(struct alert *a, const struct soc_event *ev);

/*
 * Matches one of the SOC's own events ("soc.incident.opened",
 * "soc.finding.opened"). device and group_key may be NULL; detail is a JSON
 * object (may be NULL) that is only read during the call (its "kind",
 * "code", "protocol", "requester", "reporter", "responder" and "peer"
 * members are used for matching and grouping when present). The time is the
 * wall clock. Writer thread.
 */
void alert_notify(struct alert *a, const char *type, const char *device, const char *group_key,
		  json_t *detail);

/* The same with the shape of soc_notify_fn (arg is the struct alert). */
void alert_notify_fn(void *arg, const char *type, const char *device, const char *group_key,
		     void *detail);

/* Forgets groups whose window and suppression are over. Writer thread,
 * about once a second. */
void alert_tick(struct alert *a, int64_t now_ms);

/* What was dropped for lack of room (soc.h has no counters for these). */
struct alert_stats {
	uint64_t groups_dropped; /* events not counted: the rule's group table was full */
	uint64_t queue_dropped;  /* alerts whose actions never ran: the queue was full */
};
void alert_get_stats(struct alert *a, struct alert_stats *st);

/* Stops the action thread once the queued alerts ran or a short deadline
 * (5 s) passed (the rest are dropped and counted), then frees everything.
 * NULL is allowed. */
void alert_free(struct alert *a);

#endif
