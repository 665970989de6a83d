/*
 * The fleet audit: what the SOC knows of its devices and their client
 * certificates, checked the way AWS IoT Device Defender's audit checks
 * device certificates.
 *
 * Runs in the writer thread. fleet_event() records every stored event's
 * device, address and certificate (store_touch_device) and raises an
 * identity-mismatch finding for an event whose HOSTNAME claimed another
 * device than its certificate (once per device and claimed name).
 * fleet_tick() runs the audit first_audit_ms after the first tick and then
 * every audit_ms:
 *   - a certificate presented by two or more devices or addresses:
 *     SOC_FIND_CERT_SHARED (device NULL, subject the fingerprint);
 *   - a certificate that expires within expire_days, or has expired:
 *     SOC_FIND_CERT_EXPIRING (device the certificate's CN);
 *   - with never_auth set (mutual TLS is offered), a device that sent events
 *     but never over an authenticated connection: SOC_FIND_NEVER_AUTH.
 * A finding is stored with store_put_finding() each time it is seen (its
 * last_ms and evidence refreshed) and reported through notify only when it
 * is new. The meaning of each finding is in docs/formats/soc-findings.md.
 *
 *	struct fleet_opts o;
 *	fleet_opts_default(&o);
 *	o.never_auth = have_mtls_listener;
 *	fleet_new(&o, st, on_notify, arg, &f);
 *	fleet_event(f, ev);          (each stored event)
 *	fleet_tick(f, now_ms);       (once a second, in a transaction)
 *	fleet_free(f);
 */
#ifndef MAMORI_SOC_FLEET_H
#define MAMORI_SOC_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "soc.h"

struct store;
struct fleet;

struct fleet_opts {
	int64_t audit_ms;       /* time between audits (default 60000) */
	int64_t first_audit_ms; /* delay of the first audit after the first tick (default 5000) */
	int expire_days;        /* certificates expiring within this many days (default 30) */
	int never_auth;         /* 1: report devices that never authenticated (default 0) */
};
void fleet_opts_default(struct fleet_opts *o);

/*
 * Creates the module. st is the writer's store (not owned). notify (may be
 * NULL) gets "soc.finding.opened", the device (NULL for a shared
 * certificate), group key "device=DEV" or "certificate=FP", and the finding
 * as a JSON object with "kind". Returns 0, MM_EINVAL, MM_ENOMEM.
 */
int fleet_new(const struct fleet_opts *o, struct store *st, soc_notify_fn notify, void *arg,
	      struct fleet **out);

/* Records the event's device and certificate; raises identity mismatches.
 * Returns 0 or the store's error. */
int fleet_event(struct fleet *f, const struct soc_event *ev);

/* Runs the audit when it is due (now_ms: milliseconds since the epoch, the
 * clock certificate expiry is compared with). Returns 0 or the store's error. */
/* Writes what fleet_event() gathered in this transaction: one device (and
 * certificate) row update per distinct (device, address, certificate), not
 * one per event. Call it before store_commit(); fleet_rollback() forgets
 * it after a store_rollback(). */
int fleet_flush(struct fleet *f);
void fleet_rollback(struct fleet *f);
int fleet_tick(struct fleet *f, int64_t now_ms);

/* Forces the next fleet_tick() to audit. */
void fleet_audit_now(struct fleet *f);

void fleet_free(struct fleet *f);

/*
 * Stores a finding and, when it is new, reports it: the step every module
 * of the writer takes for a finding (silence.c uses it too). f->detail is
 * replaced by evidence's text; the notified object is evidence plus "id",
 * "kind", "device", "subject" and "severity". group_key may be NULL (then
 * "device=DEV", else "subject=SUBJECT"). Sets *is_new (may be NULL) and
 * counts SOC_C_FINDINGS for a new one. Returns 0, MM_EIO, MM_ENOMEM.
 */
int fleet_report_finding(struct store *st, soc_notify_fn notify, void *arg,
			 struct soc_finding *f, void *evidence /* json_t * */,
			 const char *group_key, int *is_new);

#endif
