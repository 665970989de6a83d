/*
 * Expected silence (X.1367 scenario I.3): a device that reports
 * periodically and then stays quiet is broken, cut off or taken away. Its
 * silence is the error, reported as a No Response finding (X.1367 code
 * 0x10, SOC_FIND_NO_RESPONSE).
 *
 * Runs in the writer thread. For every device (soc_event.device) the module
 * keeps the receive times of its reports. Messages closer than burst_ms to
 * the previous one belong to the same report. Once min_reports intervals
 * are known, the period is the median of the last SILENCE_INTERVALS
 * intervals, provided they are regular: the longest at most regularity
 * times the shortest. A device with a period whose last message is older
 * than factor x period + grace_ms gets one finding; its next message
 * resolves it and learning goes on. A configured expectation (struct
 * silence_expect: device and period) needs no learning; its deadline runs
 * from its last message, or from the first tick when it was never heard.
 *
 * Each mamori event type of a device (SOC_KIND_EVENT, soc_event.type) is
 * also a stream of its own, learned the same way, so that a heartbeat that
 * stops is found while the device goes on sending other events. Its
 * finding's subject names the type; it is not raised while the device as a
 * whole has a period (the device's own finding covers it).
 *
 *	struct silence_opts o;
 *	struct silence_expect ex[] = {{"meter-1", 60000}};
 *	silence_opts_default(&o);
 *	o.expect = ex; o.nexpect = 1;    (copied by silence_new)
 *	silence_new(&o, st, on_notify, arg, &s);
 *	silence_event(s, ev);            (each stored event)
 *	silence_tick(s, now_ms);         (once a second, in a transaction)
 *	silence_free(s);
 *
 * At most max_devices streams (devices and device event types) are
 * tracked; past that the least recently heard one that has no period is
 * forgotten (counted by silence_evicted()).
 */
#ifndef MAMORI_SOC_SILENCE_H
#define MAMORI_SOC_SILENCE_H

#include <stddef.h>
#include <stdint.h>

#include "soc.h"

struct store;
struct silence;

/* Intervals kept per device to learn its period. */
#define SILENCE_INTERVALS 8
/* The longest device name tracked, in bytes; longer names are cut. */
#define SILENCE_DEVICE_MAX 255

/* A configured expectation: device reports every period_ms. */
struct silence_expect {
	const char *device;
	int64_t period_ms;
};

struct silence_opts {
	int min_reports;     /* intervals needed before a period is trusted (default 4) */
	double regularity;   /* longest / shortest interval allowed (default 2.0) */
	double factor;       /* silence longer than factor x period ... (default 3.0) */
	int64_t grace_ms;    /* ... + grace_ms raises the finding (default 2000) */
	int64_t burst_ms;    /* messages this close belong to one report (default 250) */
	int64_t min_period_ms; /* shorter learned periods are ignored (default 1000) */
	size_t max_devices;  /* streams (devices, device event types) tracked at most
				(default 65536) */
	const struct silence_expect *expect; /* configured devices (copied), may be NULL */
	size_t nexpect;
};
void silence_opts_default(struct silence_opts *o);

/*
 * Parses a period: a number with an optional unit "ms", "s", "m", "h", "d"
 * (no unit: seconds), e.g. "60s", "1500ms", "5m". Returns 0 and *ms, or
 * MM_EPARSE. For the "DEVICE = PERIOD" lines of the configuration.
 */
int silence_period_parse(const char *s, int64_t *ms);

/*
 * Creates the module. st is the writer's store (not owned). notify (may be
 * NULL) gets "soc.finding.opened" with the device, group key "device=DEV"
 * and the finding as a JSON object ("kind", "device", "subject",
 * "severity", "id" and the evidence: "period_ms", "last_seen",
 * "silent_for_ms", "event" for an event type's stream...). Returns 0, MM_EINVAL, MM_ENOMEM.
 */
int silence_new(const struct silence_opts *o, struct store *st, soc_notify_fn notify, void *arg,
		struct silence **out);

/* Takes one stored event; resolves the device's open finding if it had one
 * (a store call inside the writer's transaction). Returns 0 or MM_EIO. */
int silence_event(struct silence *s, const struct soc_event *ev);

/* Raises a finding for each device past its deadline (once per silence).
 * now_ms is on the clock of soc_event.recv_ms. Returns 0 or MM_EIO. */
int silence_tick(struct silence *s, int64_t now_ms);

/* Streams tracked now, and how many were forgotten to keep the bound. */
size_t silence_devices(const struct silence *s);
uint64_t silence_evicted(const struct silence *s);

void silence_free(struct silence *s);

#endif
