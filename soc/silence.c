/*
 * Expected silence (X.1367 scenario I.3): learns how often each device
 * reports and raises a No Response finding when it stops.
 *
 * Each device keeps its last SILENCE_INTERVALS intervals between reports
 * (a report: messages less than burst_ms apart, so that a device sending
 * three lines at once is not taken for three reports). The period is the
 * median interval, and only when the intervals are regular (longest at
 * most regularity times the shortest): a device that speaks when it likes
 * has no period and can never be "silent". The interval that ends a silence
 * is not learned, so the period survives an outage.
 *
 * Besides the device as a whole, each mamori event type a device sends is a
 * stream of its own ("cam-7" and "cam-7" + "agent.heartbeat"): a device
 * whose events of all kinds together are irregular may still send one kind
 * like clockwork, and that kind stopping is the silence to report. A type's
 * finding is not raised while the device as a whole has a period: then the
 * device's own finding tells the same story.
 *
 * Streams are found through a glibc tsearch tree and kept in a list by last
 * message, so that a full table forgets the least recently heard stream
 * without a period first.
 */
#define _GNU_SOURCE /* tdestroy */
#include <ctype.h>
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <jansson.h>

#include "mamori/error.h"
#include "mamori/log.h"

#include "fleet.h"
#include "silence.h"
#include "store.h"

/* The longest event type kept in a stream's key, in bytes. */
#define TYPE_MAX 128

/* How far the eviction looks for a device without a period before it takes
 * the least recently heard one anyway. */
#define EVICT_SCAN 64

struct dev {
	char *name; /* first: the tree compares names: "DEVICE" or "DEVICE\x1fTYPE" */
	char *device;         /* the device alone */
	const char *type;     /* the event type (inside name), NULL for the device */
	TAILQ_ENTRY(dev) lru;
	int64_t last_seen;    /* receive time of its last message; 0 never */
	int64_t report_start; /* receive time of the current report's first message */
	int64_t iv[SILENCE_INTERVALS];
	int niv, ivpos;       /* intervals known (at most SILENCE_INTERVALS), next slot */
	int64_t period;       /* learned or configured; 0 none */
	int configured;
	int raised;           /* a finding is open */
	char *subject;        /* the open finding's subject */
};

TAILQ_HEAD(dev_list, dev);

struct silence {
	struct silence_opts o;
	struct store *st;
	soc_notify_fn notify;
	void *arg;
	void *tree;
	size_t ndevs;
	struct dev_list lru;
	int64_t start_ms; /* the first tick: when never-heard configured devices start */
	uint64_t evicted;
};

void silence_opts_default(struct silence_opts *o)
{
	memset(o, 0, sizeof *o);
	o->min_reports = 4;
	o->regularity = 2.0;
	o->factor = 3.0;
	o->grace_ms = 2000;
	o->burst_ms = 250;
	o->min_period_ms = 1000;
	o->max_devices = 65536;
}

int silence_period_parse(const char *s, int64_t *ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
		     {"d", 86400000}};
	char *end;
	long long v;

	if (s == NULL)
		return MM_EPARSE;
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return MM_EPARSE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v <= 0)
		return MM_EPARSE;
	while (isspace((unsigned char)*end))
		end++;
	size_t ulen = strlen(end);
	while (ulen > 0 && isspace((unsigned char)end[ulen - 1]))
		ulen--;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strlen(units[i].unit) != ulen || strncasecmp(end, units[i].unit, ulen) != 0)
			continue;
		if (v > INT64_MAX / units[i].ms)
			return MM_EPARSE;
		*ms = (int64_t)v * units[i].ms;
		return 0;
	}
	return MM_EPARSE;
}

static int dev_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dev *)a)->name, ((const struct dev *)b)->name);
}

static size_t cut_utf8(const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);

	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	return len;
}

static void dev_free(struct dev *d)
{
	free(d->subject);
	free(d->device);
	free(d->name);
	free(d);
}

static void dev_forget(struct silence *s, struct dev *d)
{
	tdelete(d, &s->tree, dev_cmp);
	TAILQ_REMOVE(&s->lru, d, lru);
	s->ndevs--;
	dev_free(d);
}

/* Picks the device to forget when the table is full: the least recently
 * heard one without a period, else the least recently heard one that was
 * not configured. */
static struct dev *evict_victim(struct silence *s)
{
	struct dev *d, *fallback = NULL;
	int n = 0;

	TAILQ_FOREACH(d, &s->lru, lru) {
		if (d->configured)
			continue;
		if (fallback == NULL)
			fallback = d;
		if (d->period == 0)
			return d;
		if (++n >= EVICT_SCAN)
			break;
	}
	return fallback;
}

/* Finds the stream of device (and of one event type of it, type not NULL),
 * creating it when create is set. */
static int dev_get(struct silence *s, const char *device, const char *type, int create,
		   struct dev **out)
{
	struct dev probe, *d = NULL, **slot;
	char key[SILENCE_DEVICE_MAX + 1 + TYPE_MAX + 1];
	size_t dlen = cut_utf8(device, SILENCE_DEVICE_MAX), tlen = 0;

	memcpy(key, device, dlen);
	key[dlen] = '\0';
	if (type != NULL) {
		tlen = cut_utf8(type, TYPE_MAX);
		key[dlen] = '\x1f';
		memcpy(key + dlen + 1, type, tlen);
		key[dlen + 1 + tlen] = '\0';
	}
	probe.name = key;
	*out = NULL;
	if ((slot = tfind(&probe, &s->tree, dev_cmp)) != NULL) {
		*out = *slot;
		return 0;
	}
	if (!create)
		return MM_ENOTFOUND;
	if (s->ndevs >= s->o.max_devices) {
		struct dev *victim = evict_victim(s);

		if (victim == NULL)
			return MM_EFULL;
		dev_forget(s, victim);
		s->evicted++;
		soc_count(SOC_C_LOGIC_EVICTED, 1);
	}
	if ((d = calloc(1, sizeof *d)) == NULL || (d->name = strdup(key)) == NULL ||
	    (d->device = strndup(device, dlen)) == NULL)
		goto nomem;
	if (type != NULL)
		d->type = d->name + dlen + 1;
	if (tsearch(d, &s->tree, dev_cmp) == NULL)
		goto nomem;
	TAILQ_INSERT_TAIL(&s->lru, d, lru);
	s->ndevs++;
	*out = d;
	return 0;
nomem:
	if (d != NULL)
		dev_free(d);
	return MM_ENOMEM;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Learns the period from the intervals known, or forgets it when they are
 * too few or too irregular. */
static void learn(const struct silence *s, struct dev *d)
{
	int64_t v[SILENCE_INTERVALS];
	int n = d->niv;

	if (d->configured)
		return;
	d->period = 0;
	if (n < s->o.min_reports || n < 1)
		return;
	memcpy(v, d->iv, (size_t)n * sizeof v[0]);
	qsort(v, (size_t)n, sizeof v[0], cmp_i64);
	if (v[0] <= 0 || (double)v[n - 1] > s->o.regularity * (double)v[0])
		return;
	/* The median; for an even count the lower middle, an interval really seen. */
	int64_t median = v[(n - 1) / 2];
	if (median >= s->o.min_period_ms)
		d->period = median;
}

int silence_new(const struct silence_opts *o, struct store *st, soc_notify_fn notify, void *arg,
		struct silence **out)
{
	struct silence *s;
	struct dev *d;
	int rc;

	*out = NULL;
	if (o == NULL || st == NULL || o->min_reports < 1 || o->min_reports > SILENCE_INTERVALS ||
	    o->regularity < 1.0 || o->factor < 1.0 || o->grace_ms < 0 || o->burst_ms < 0 ||
	    o->max_devices < 1 || o->nexpect > o->max_devices ||
	    (o->nexpect > 0 && o->expect == NULL))
		return MM_EINVAL;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return MM_ENOMEM;
	s->o = *o;
	s->o.expect = NULL; /* copied into the table below */
	s->o.nexpect = 0;
	s->st = st;
	s->notify = notify;
	s->arg = arg;
	TAILQ_INIT(&s->lru);
	for (size_t i = 0; i < o->nexpect; i++) {
		if (o->expect[i].device == NULL || o->expect[i].period_ms <= 0) {
			rc = MM_EINVAL;
			goto fail;
		}
		if ((rc = dev_get(s, o->expect[i].device, NULL, 1, &d)) < 0)
			goto fail;
		d->configured = 1;
		d->period = o->expect[i].period_ms;
	}
	*out = s;
	return 0;
fail:
	silence_free(s);
	return rc;
}

/* One message of the stream d at now. */
static int stream_seen(struct silence *s, struct dev *d, int64_t now)
{
	TAILQ_REMOVE(&s->lru, d, lru);
	TAILQ_INSERT_TAIL(&s->lru, d, lru);
	if (d->raised) {
		/* It speaks again: the silence is over, and its length is not a
		 * period to learn from. */
		d->raised = 0;
		d->report_start = d->last_seen = now;
		log_info("no-response resolved: device %s%s%s", d->device,
			 d->type ? " event " : "", d->type ? d->type : "");
		return store_resolve_finding(s->st, SOC_FIND_NO_RESPONSE, d->device, d->subject,
					     now);
	}
	if (d->last_seen == 0) {
		d->report_start = d->last_seen = now;
		return 0;
	}
	if (now - d->last_seen < s->o.burst_ms) {
		if (now > d->last_seen)
			d->last_seen = now;
		return 0;
	}
	d->iv[d->ivpos] = now - d->report_start;
	d->ivpos = (d->ivpos + 1) % SILENCE_INTERVALS;
	if (d->niv < SILENCE_INTERVALS)
		d->niv++;
	d->report_start = d->last_seen = now;
	learn(s, d);
	return 0;
}

int silence_event(struct silence *s, const struct soc_event *ev)
{
	struct dev *d;
	int rc;

	if (ev->device == NULL || ev->device[0] == '\0')
		return 0;
	if ((rc = dev_get(s, ev->device, NULL, 1, &d)) < 0)
		return rc == MM_EFULL ? 0 : rc;
	if ((rc = stream_seen(s, d, ev->recv_ms)) < 0)
		return rc;
	/* Only mamori events have types worth a stream: plain syslog is all
	 * "syslog", and X.1367 records are errors, whose stopping is good news. */
	if (ev->kind != SOC_KIND_EVENT || ev->type == NULL || ev->type[0] == '\0')
		return 0;
	if ((rc = dev_get(s, ev->device, ev->type, 1, &d)) < 0)
		return rc == MM_EFULL ? 0 : rc;
	return stream_seen(s, d, ev->recv_ms);
}

static int raise_finding(struct silence *s, struct dev *d, int64_t base, int64_t deadline,
			 int64_t now_ms)
{
	struct soc_finding f = {0};
	char last[48];
	json_t *ev;
	int rc;

	free(d->subject);
	if ((d->type != NULL ? asprintf(&d->subject, "event=%s period=%lldms", d->type,
					(long long)d->period)
			     : asprintf(&d->subject, "period=%lldms", (long long)d->period)) < 0) {
		d->subject = NULL;
		return MM_ENOMEM;
	}
	if (d->last_seen != 0)
		soc_time_text(d->last_seen, last, sizeof last);
	ev = json_pack("{s:i, s:s, s:s?, s:I, s:s?, s:I, s:I, s:I, s:b, s:f}", "code", 0x10,
		       "message", "No Response", "event", d->type, "period_ms",
		       (json_int_t)d->period,
		       "last_seen", d->last_seen != 0 ? last : NULL, "last_seen_ms",
		       (json_int_t)d->last_seen, "silent_for_ms", (json_int_t)(now_ms - base),
		       "deadline_ms", (json_int_t)deadline, "learned", !d->configured, "factor",
		       s->o.factor);
	if (ev == NULL)
		return MM_ENOMEM;
	f.first_ms = f.last_ms = now_ms;
	f.kind = SOC_FIND_NO_RESPONSE;
	f.device = d->device;
	f.subject = d->subject;
	/* An expectation the operator wrote down weighs more than a learned one. */
	f.severity = d->configured ? 3 : 4;
	f.open = 1;
	rc = fleet_report_finding(s->st, s->notify, s->arg, &f, ev, NULL, NULL);
	json_decref(ev);
	if (rc == 0) {
		d->raised = 1;
		log_info("no-response: device %s%s%s silent for %lld ms (period %lld ms)",
			 d->device, d->type ? " event " : "", d->type ? d->type : "",
			 (long long)(now_ms - base), (long long)d->period);
	}
	return rc;
}

/* Whether a type's stream is left to its device's: the device as a whole
 * has a period, so its own finding will tell of the silence. */
static int type_covered(struct silence *s, const struct dev *d)
{
	struct dev *whole;

	if (d->type == NULL)
		return 0;
	return dev_get(s, d->device, NULL, 0, &whole) == 0 && whole->period > 0;
}

int silence_tick(struct silence *s, int64_t now_ms)
{
	struct dev *d;
	int rc = 0, r;

	if (s->start_ms == 0)
		s->start_ms = now_ms;
	TAILQ_FOREACH(d, &s->lru, lru) {
		int64_t base, deadline;

		if (d->period == 0 || d->raised || type_covered(s, d))
			continue;
		base = d->last_seen != 0 ? d->last_seen : s->start_ms;
		deadline = base + (int64_t)(s->o.factor * (double)d->period) + s->o.grace_ms;
		if (now_ms <= deadline)
			continue;
		if ((r = raise_finding(s, d, base, deadline, now_ms)) < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

size_t silence_devices(const struct silence *s)
{
	return s->ndevs;
}

uint64_t silence_evicted(const struct silence *s)
{
	return s->evicted;
}

static void noop_free(void *p)
{
	(void)p;
}

void silence_free(struct silence *s)
{
	struct dev *d;

	if (s == NULL)
		return;
	tdestroy(s->tree, noop_free);
	while ((d = TAILQ_FIRST(&s->lru)) != NULL) {
		TAILQ_REMOVE(&s->lru, d, lru);
		dev_free(d);
	}
	free(s);
}
