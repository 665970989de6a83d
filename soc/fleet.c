/*
 * The fleet audit: devices, their addresses and client certificates, and
 * the device-certificate checks of AWS IoT Device Defender's audit
 * (shared, expiring, never authenticated), plus identity mismatches.
 *
 * The module keeps no table of its own: the store has the devices and the
 * certificates, and store_put_finding() says whether a finding is new, so
 * a restart neither forgets a finding nor reports it twice.
 */
#define _GNU_SOURCE /* tdestroy */
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "mamori/error.h"
#include "mamori/log.h"

#include "fleet.h"
#include "store.h"

#define DAY_S 86400
/* The most findings of one kind an audit keeps track of to resolve the
 * ones it no longer sees; past that it resolves nothing of that kind. */
#define SEEN_MAX 100000

/* What the current transaction saw of one (device, address, certificate):
 * written once at fleet_flush() instead of once per event. */
struct touch {
	char *device, *addr, *cert_fp, *cert_cn;
	int64_t first_ms, last_ms, count, cert_not_after;
	uint32_t hash;
	int used;
};

/* Distinct (device, address, certificate) kept per transaction before an
 * early flush; a power of two. */
#define TOUCH_MAX 4096

struct fleet {
	struct touch *touch; /* TOUCH_MAX slots, open addressing */
	size_t ntouch;
	struct fleet_opts o;
	struct store *st;
	soc_notify_fn notify;
	void *arg;
	int started;        /* the first tick has set next_ms */
	int64_t next_ms;    /* when the next audit is due */
	int64_t now_ms;     /* the audit's time, for the callbacks */
	void *seen;         /* "device\x1fsubject" of what this audit check found */
	size_t nseen;
	int seen_overflow;
	int auditing;       /* seen is being filled (fleet_tick) */
};

void fleet_opts_default(struct fleet_opts *o)
{
	memset(o, 0, sizeof *o);
	o->audit_ms = 60000;
	o->first_audit_ms = 5000;
	o->expire_days = 30;
	o->never_auth = 0;
}

int fleet_new(const struct fleet_opts *o, struct store *st, soc_notify_fn notify, void *arg,
	      struct fleet **out)
{
	struct fleet *f;

	*out = NULL;
	if (o == NULL || st == NULL || o->audit_ms <= 0 || o->first_audit_ms < 0 ||
	    o->expire_days < 0)
		return MM_EINVAL;
	if ((f = calloc(1, sizeof *f)) == NULL)
		return MM_ENOMEM;
	if ((f->touch = calloc(TOUCH_MAX, sizeof *f->touch)) == NULL) {
		free(f);
		return MM_ENOMEM;
	}
	f->o = *o;
	f->st = st;
	f->notify = notify;
	f->arg = arg;
	*out = f;
	return 0;
}

void fleet_audit_now(struct fleet *f)
{
	f->started = 1;
	f->next_ms = INT64_MIN;
}

int fleet_report_finding(struct store *st, soc_notify_fn notify, void *arg,
			 struct soc_finding *f, void *evidence, const char *group_key,
			 int *is_new)
{
	json_t *ev = evidence, *j = NULL;
	char *text = NULL;
	char gk[320];
	int fresh = 0, rc;

	if ((text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		rc = MM_ENOMEM;
		goto fail;
	}
	f->detail = text;
	if ((rc = store_put_finding(st, f, &fresh)) < 0)
		goto fail;
	if (is_new != NULL)
		*is_new = fresh;
	if (!fresh)
		goto done;
	soc_count(SOC_C_FINDINGS, 1);
	log_info("finding %lld: %s%s%s%s%s", (long long)f->id, f->kind,
		 f->device ? " device " : "", f->device ? f->device : "",
		 f->subject ? " subject " : "", f->subject ? f->subject : "");
	if (notify == NULL)
		goto done;
	if ((j = json_deep_copy(ev)) == NULL ||
	    json_object_set_new(j, "id", json_integer(f->id)) < 0 ||
	    json_object_set_new(j, "kind", json_string(f->kind)) < 0 ||
	    json_object_set_new(j, "device", f->device ? json_string(f->device) : json_null()) < 0 ||
	    json_object_set_new(j, "subject", f->subject ? json_string(f->subject) : json_null()) < 0 ||
	    json_object_set_new(j, "severity", json_integer(f->severity)) < 0) {
		rc = MM_ENOMEM;
		goto fail;
	}
	if (group_key == NULL) {
		if (f->device != NULL)
			snprintf(gk, sizeof gk, "device=%s", f->device);
		else
			snprintf(gk, sizeof gk, "subject=%s", f->subject ? f->subject : "");
		group_key = gk;
	}
	notify(arg, "soc.finding.opened", f->device, group_key, j);
done:
	rc = 0;
fail:
	json_decref(j);
	free(text);
	f->detail = NULL;
	return rc;
}

/* "a,b,c" as a JSON array of strings. */
static json_t *split_list(const char *s)
{
	json_t *a = json_array();
	const char *p = s, *q;

	if (a == NULL || s == NULL || *s == '\0')
		return a;
	for (;;) {
		q = strchr(p, ',');
		if (json_array_append_new(a, json_stringn(p, q ? (size_t)(q - p) : strlen(p))) < 0)
			break;
		if (q == NULL)
			break;
		p = q + 1;
	}
	return a;
}

static char *seen_key(const char *device, const char *subject)
{
	char *k = NULL;

	if (asprintf(&k, "%s\x1f%s", device ? device : "", subject ? subject : "") < 0)
		return NULL;
	return k;
}

static int seen_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Remembers that the current audit check found (device, subject). */
static void seen_add(struct fleet *fl, const char *device, const char *subject)
{
	char *k;
	void *slot;

	if (fl->seen_overflow)
		return;
	if (fl->nseen >= SEEN_MAX || (k = seen_key(device, subject)) == NULL) {
		fl->seen_overflow = 1;
		return;
	}
	slot = tsearch(k, &fl->seen, seen_cmp);
	if (slot == NULL) {
		free(k);
		fl->seen_overflow = 1;
	} else if (*(char **)slot != k) {
		free(k); /* already there */
	} else {
		fl->nseen++;
	}
}

static void seen_clear(struct fleet *fl)
{
	tdestroy(fl->seen, free);
	fl->seen = NULL;
	fl->nseen = 0;
	fl->seen_overflow = 0;
}

/* Resolves the open findings of kind that the check just run did not find
 * again: a device that has since authenticated, a certificate no longer in
 * the store. */
static int resolve_unseen(struct fleet *fl, const char *kind)
{
	struct store_filter q;
	json_t *rows = NULL, *row;
	size_t i;
	int rc = 0;

	if (fl->seen_overflow)
		goto done;
	store_filter_init(&q);
	q.kind = kind;
	q.state = "open";
	q.limit = 10000;
	if ((rc = store_query_findings(fl->st, &q, &rows)) < 0)
		goto done;
	json_array_foreach(rows, i, row) {
		const char *dev = json_string_value(json_object_get(row, "device"));
		const char *sub = json_string_value(json_object_get(row, "subject"));
		char *k = seen_key(dev, sub);
		int found;

		if (k == NULL) {
			rc = MM_ENOMEM;
			goto done;
		}
		found = tfind(k, &fl->seen, seen_cmp) != NULL;
		free(k);
		if (found)
			continue;
		if ((rc = store_resolve_finding(fl->st, kind, dev, sub ? sub : "", fl->now_ms)) < 0)
			goto done;
		log_info("finding resolved: %s%s%s subject %s", kind, dev ? " device " : "",
			 dev ? dev : "", sub ? sub : "");
	}
done:
	json_decref(rows);
	seen_clear(fl);
	return rc;
}

static int put(struct fleet *fl, const char *kind, const char *device, const char *subject,
	       int severity, json_t *evidence, const char *group_key)
{
	struct soc_finding f = {0};
	int rc;

	if (evidence == NULL)
		return MM_ENOMEM;
	f.first_ms = f.last_ms = fl->now_ms;
	f.kind = kind;
	f.device = device;
	f.subject = subject;
	f.severity = severity;
	f.open = 1;
	rc = fleet_report_finding(fl->st, fl->notify, fl->arg, &f, evidence, group_key, NULL);
	json_decref(evidence);
	if (rc == 0 && fl->auditing)
		seen_add(fl, device, subject);
	return rc;
}

static uint32_t touch_hash(const char *a, const char *b, const char *c)
{
	uint32_t h = 2166136261u; /* FNV-1a over the three, with separators */
	const char *v[3] = {a, b, c};

	for (int i = 0; i < 3; i++) {
		for (const char *p = v[i] ? v[i] : ""; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		h = (h ^ 0x1f) * 16777619u;
	}
	return h;
}

static int same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void touch_clear(struct fleet *f)
{
	for (size_t i = 0; i < TOUCH_MAX && f->ntouch > 0; i++) {
		struct touch *t = &f->touch[i];
		if (!t->used)
			continue;
		free(t->device);
		free(t->addr);
		free(t->cert_fp);
		free(t->cert_cn);
		memset(t, 0, sizeof *t);
		f->ntouch--;
	}
	f->ntouch = 0;
}

static int by_last(const void *a, const void *b)
{
	const struct touch *x = *(const struct touch *const *)a, *y = *(const struct touch *const *)b;
	return x->last_ms < y->last_ms ? -1 : x->last_ms > y->last_ms;
}

int fleet_flush(struct fleet *f)
{
	struct touch *order[TOUCH_MAX];
	size_t i, n = 0;
	int rc = 0;

	for (i = 0; i < TOUCH_MAX && n < f->ntouch; i++)
		if (f->touch[i].used)
			order[n++] = &f->touch[i];
	/* Oldest first, so that a device's last address is its latest one. */
	qsort(order, n, sizeof order[0], by_last);
	for (i = 0; i < n && rc == 0; i++) {
		const struct touch *t = order[i];
		struct store_device_seen s = {
			.device = t->device, .addr = t->addr, .time_ms = t->last_ms,
			.first_ms = t->first_ms, .count = t->count, .cert_fp = t->cert_fp,
			.cert_cn = t->cert_cn, .cert_not_after = t->cert_not_after,
		};
		rc = store_touch_device(f->st, &s);
	}
	touch_clear(f);
	return rc;
}

void fleet_rollback(struct fleet *f)
{
	touch_clear(f);
}

/* Notes one event of (device, addr, certificate) for the next flush. */
static int touch_add(struct fleet *f, const struct soc_event *ev, const char *fp)
{
	uint32_t h = touch_hash(ev->device, ev->peer_addr, fp);
	size_t i = h & (TOUCH_MAX - 1);
	struct touch *t;
	int rc;

	for (;;) {
		t = &f->touch[i];
		if (!t->used)
			break;
		if (t->hash == h && same(t->device, ev->device) && same(t->addr, ev->peer_addr) &&
		    same(t->cert_fp, fp)) {
			if (ev->recv_ms < t->first_ms)
				t->first_ms = ev->recv_ms;
			if (ev->recv_ms > t->last_ms)
				t->last_ms = ev->recv_ms;
			t->count++;
			if (fp)
				t->cert_not_after = ev->cert_not_after;
			return 0;
		}
		i = (i + 1) & (TOUCH_MAX - 1);
	}
	/* Keep the table at most three quarters full: flush early past that. */
	if (f->ntouch >= TOUCH_MAX * 3 / 4) {
		if ((rc = fleet_flush(f)) < 0)
			return rc;
		return touch_add(f, ev, fp);
	}
	t->device = strdup(ev->device);
	t->addr = ev->peer_addr ? strdup(ev->peer_addr) : NULL;
	t->cert_fp = fp ? strdup(fp) : NULL;
	t->cert_cn = fp ? strdup(ev->device) : NULL;
	if (!t->device || (ev->peer_addr && !t->addr) || (fp && (!t->cert_fp || !t->cert_cn))) {
		free(t->device);
		free(t->addr);
		free(t->cert_fp);
		free(t->cert_cn);
		memset(t, 0, sizeof *t);
		return MM_ENOMEM;
	}
	t->first_ms = t->last_ms = ev->recv_ms;
	t->count = 1;
	t->cert_not_after = fp ? ev->cert_not_after : 0;
	t->hash = h;
	t->used = 1;
	f->ntouch++;
	return 0;
}

int fleet_event(struct fleet *f, const struct soc_event *ev)
{
	const char *fp = NULL;
	int rc;

	if (ev->device == NULL)
		return 0;
	/* With mutual TLS the device is the certificate's CN (soc.h). */
	if (ev->cert_fp != NULL && ev->cert_fp[0] != '\0')
		fp = ev->cert_fp;
	if ((rc = touch_add(f, ev, fp)) < 0)
		return rc;
	if (!(ev->flags & SOC_F_IDENTITY_MISMATCH))
		return 0;
	/* One finding per (device, claimed name): the store refreshes an open one. */
	f->now_ms = ev->recv_ms;
	return put(f, SOC_FIND_IDENTITY, ev->device, ev->hostname ? ev->hostname : "", 3,
		   json_pack("{s:s?, s:s?, s:s?, s:s?}", "claimed", ev->hostname, "certificate",
			     ev->cert_fp, "peer", ev->peer_addr, "transport",
			     soc_transport_name(ev->transport)),
		   NULL);
}

static int on_shared(void *arg, const struct store_cert_use *u)
{
	struct fleet *f = arg;
	char gk[128];

	snprintf(gk, sizeof gk, "certificate=%s", u->fp);
	/* Two devices behind one certificate is a cloned identity; one device
	 * from two addresses may also be a device that moved. */
	return put(f, SOC_FIND_CERT_SHARED, NULL, u->fp, u->ndevices >= 2 ? 2 : 3,
		   json_pack("{s:s?, s:o, s:o, s:i, s:i}", "cn", u->cn, "devices",
			     split_list(u->devices), "addresses", split_list(u->addrs),
			     "ndevices", u->ndevices, "naddrs", u->naddrs),
		   gk);
}

static int on_expiring(void *arg, const struct store_cert_use *u)
{
	struct fleet *f = arg;
	int64_t now_s = f->now_ms / 1000, left = u->not_after - now_s;
	int64_t days = left / DAY_S; /* whole days, towards zero either side */
	char when[40];

	soc_time_text(u->not_after * 1000, when, sizeof when);
	return put(f, SOC_FIND_CERT_EXPIRING, u->cn, u->fp, left <= 0 ? 3 : 4,
		   json_pack("{s:s, s:I, s:I, s:b, s:s?, s:o}", "not_after", when,
			     "not_after_s", (json_int_t)u->not_after, "days_left",
			     (json_int_t)days, "expired", left <= 0, "cn", u->cn, "devices",
			     split_list(u->devices)),
		   NULL);
}

static int on_never_auth(void *arg, const char *device, int64_t first_ms, int64_t last_ms)
{
	struct fleet *f = arg;

	return put(f, SOC_FIND_NEVER_AUTH, device, "", 4,
		   json_pack("{s:I, s:I}", "first_seen_ms", (json_int_t)first_ms,
			     "last_seen_ms", (json_int_t)last_ms),
		   NULL);
}

int fleet_tick(struct fleet *f, int64_t now_ms)
{
	int rc;

	if (!f->started) {
		f->started = 1;
		f->next_ms = now_ms + f->o.first_audit_ms;
	}
	if (now_ms < f->next_ms)
		return 0;
	f->next_ms = now_ms + f->o.audit_ms;
	f->now_ms = now_ms;
	seen_clear(f);
	f->auditing = 1;
	if ((rc = store_certs_shared(f->st, on_shared, f)) < 0 ||
	    (rc = resolve_unseen(f, SOC_FIND_CERT_SHARED)) < 0)
		goto fail;
	if ((rc = store_certs_expiring(f->st, now_ms / 1000 + (int64_t)f->o.expire_days * DAY_S,
				       on_expiring, f)) < 0 ||
	    (rc = resolve_unseen(f, SOC_FIND_CERT_EXPIRING)) < 0)
		goto fail;
	if (f->o.never_auth && ((rc = store_devices_never_auth(f->st, on_never_auth, f)) < 0 ||
				(rc = resolve_unseen(f, SOC_FIND_NEVER_AUTH)) < 0))
		goto fail;
	f->auditing = 0;
	return 0;
fail:
	f->auditing = 0;
	seen_clear(f);
	log_warnx("fleet audit: %s", store_error(f->st));
	return rc;
}

void fleet_free(struct fleet *f)
{
	if (f == NULL)
		return;
	seen_clear(f);
	touch_clear(f);
	free(f->touch);
	free(f);
}
