/*
 * Parsing one received message into a struct soc_event (see ingest.h,
 * ingest_parse()). The order, which is also the order of trust:
 *   1. syslog header: RFC 5424, else RFC 3164 (mm_syslog_parse, lenient 3164);
 *   2. MSGID "X1367": the MSG is an X.1367 record, decoded strictly, else
 *      leniently and marked; a record that not even the lenient decoder takes
 *      is a dead letter (it claims to be a record and is not one);
 *   3. an MSG that is one JSON object with a top-level "event" string is a
 *      mamori event (its name is the event's type);
 *   4. an MSG that is a JSON object with an "Error Code" attribute and
 *      decodes leniently is an X.1367 record sent without the MSGID (marked
 *      lenient: the MSGID was missing);
 *   5. anything else is plain syslog, kept as it is.
 * What is not UTF-8, holds a NUL, or has no syslog shape at all is a dead
 * letter with the reason. This file needs no loop or thread, so that the
 * fuzz target and the unit tests use it alone.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/event.h"
#include "mamori/syslog.h"
#include "mamori/x1367.h"

#include "ingest.h"

/* Returns 1 when MSG is a JSON object or array (filling *k), 0 when it is
 * not JSON, -1 when it nests too deep. Only text that starts like one is
 * looked at: most plain syslog is not. */
static int peek_json(const char *p, size_t n, struct mm_event_peek *k)
{
	memset(k, 0, sizeof *k);
	if (n == 0 || (p[0] != '{' && p[0] != '['))
		return 0;
	if (mm_event_peek(p, n, k) < 0)
		return 0;
	if (k->too_deep)
		return -1;
	return k->json;
}

/* ---- building the event: one allocation for the struct and its strings ---- */

enum { S_PEER, S_PEER_ADDR, S_CERT_FP, S_DEVICE, S_HOSTNAME, S_APP, S_PROCID, S_MSGID, S_TYPE,
       S_PROTOCOL, S_REPORTER, S_REQUESTER, S_RESPONDER, S_MSG, S_COUNT };

struct strs {
	const char *p[S_COUNT];
	size_t n[S_COUNT];
};

static void put(struct strs *s, int i, const char *p, size_t n)
{
	s->p[i] = p;
	s->n[i] = p ? n : 0;
}

static void put_c(struct strs *s, int i, const char *p)
{
	put(s, i, p, p ? strlen(p) : 0);
}

static void put_str(struct strs *s, int i, const struct mm_str *m)
{
	put(s, i, m->p, m->len);
}

static struct soc_event *event_build(const struct strs *s)
{
	const char **dst[S_COUNT];
	struct soc_event *ev;
	size_t total = sizeof *ev;
	char *q;
	int i;

	for (i = 0; i < S_COUNT; i++)
		if (s->p[i])
			total += s->n[i] + 1;
	if ((ev = calloc(1, total)) == NULL)
		return NULL;
	dst[S_PEER] = &ev->peer;
	dst[S_PEER_ADDR] = &ev->peer_addr;
	dst[S_CERT_FP] = &ev->cert_fp;
	dst[S_DEVICE] = &ev->device;
	dst[S_HOSTNAME] = &ev->hostname;
	dst[S_APP] = &ev->app_name;
	dst[S_PROCID] = &ev->procid;
	dst[S_MSGID] = &ev->msgid;
	dst[S_TYPE] = &ev->type;
	dst[S_PROTOCOL] = &ev->protocol;
	dst[S_REPORTER] = &ev->reporter;
	dst[S_REQUESTER] = &ev->requester;
	dst[S_RESPONDER] = &ev->responder;
	dst[S_MSG] = &ev->msg;
	q = (char *)(ev + 1);
	for (i = 0; i < S_COUNT; i++) {
		if (!s->p[i])
			continue;
		memcpy(q, s->p[i], s->n[i]);
		q[s->n[i]] = 0;
		*dst[i] = q;
		q += s->n[i] + 1;
	}
	ev->msg_len = s->n[S_MSG];
	return ev;
}

/* The party's identifier the SOC groups by: an address first. */
static const char *party_id(const struct mm_x1367_record *r, enum mm_x1367_party p)
{
	static const enum mm_x1367_idkind order[] = {MM_X1367_ID_IP, MM_X1367_ID_UNIQUE_ID,
						     MM_X1367_ID_UNIQUE_NAME, MM_X1367_ID_MAC};
	size_t i;

	for (i = 0; i < sizeof order / sizeof order[0]; i++)
		if (r->party[p].id[order[i]] && r->party[p].id[order[i]][0])
			return r->party[p].id[order[i]];
	return NULL;
}

static int64_t ts_ms(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

/* The syslog header's time in ms, or 0 when it has none usable. A 3164
 * header has no year (the receive year is taken, or the year before when
 * that puts the time more than a day ahead) and no zone (UTC is assumed). */
static int64_t header_ms(const struct mm_syslog_msg *m, int64_t recv_ms)
{
	struct tm tm = {0};
	time_t t;
	int64_t ms;

	if (!m->time.present)
		return 0;
	if (m->time.year) {
		tm.tm_year = m->time.year - 1900;
	} else {
		time_t now = (time_t)(recv_ms / 1000);
		struct tm cur;
		gmtime_r(&now, &cur);
		tm.tm_year = cur.tm_year;
	}
	tm.tm_mon = m->time.month - 1;
	tm.tm_mday = m->time.day;
	tm.tm_hour = m->time.hour;
	tm.tm_min = m->time.minute;
	tm.tm_sec = m->time.second;
	if ((t = timegm(&tm)) == (time_t)-1)
		return 0;
	if (m->time.has_offset)
		t -= (time_t)m->time.offset_min * 60;
	ms = (int64_t)t * 1000 + m->time.nsec / 1000000;
	if (!m->time.year && ms > recv_ms + 86400000LL) {
		tm.tm_year--;
		if ((t = timegm(&tm)) == (time_t)-1)
			return 0;
		ms = (int64_t)t * 1000 + m->time.nsec / 1000000;
	}
	return ms;
}

static int str_eq(const struct mm_str *s, const char *lit)
{
	size_t n = strlen(lit);
	return s->p && s->len == n && memcmp(s->p, lit, n) == 0;
}

int ingest_parse(const struct soc_origin *o, const uint8_t *msg, size_t len, int64_t recv_ms,
		 struct soc_event **out, const char **why)
{
	struct mm_syslog_msg m;
	struct mm_x1367_record *r = NULL;
	struct soc_event *ev;
	struct strs s;
	struct mm_event_peek k;
	int rc, lenient = 0, is_x = 0, is_event = 0, pj = 0;
	int64_t tms = 0;

	*out = NULL;
	*why = NULL;
	memset(&s, 0, sizeof s);
	if (len == 0) {
		*why = "empty message";
		return MM_EPARSE;
	}
	if (memchr(msg, 0, len)) {
		*why = "NUL byte in the message";
		return MM_EPARSE;
	}
	if (mm_utf8_check(msg, len) != len) {
		*why = "not valid UTF-8";
		return MM_EPARSE;
	}
	rc = mm_syslog_parse(msg, len, MM_SYSLOG_AUTO, &m);
	if (rc < 0) {
		*why = m.err ? m.err : "not syslog";
		return MM_EPARSE;
	}
	if (!m.msg.p && !m.msgid.p && !m.app_name.p && m.format == MM_SYSLOG_RFC3164) {
		*why = "not syslog: no message";
		return MM_EPARSE;
	}

	if (m.msg.p)
		pj = peek_json(m.msg.p, m.msg.len, &k);
	if (str_eq(&m.msgid, "X1367")) {
		if (!m.msg.p) {
			*why = "X1367 message without a record";
			return MM_EPARSE;
		}
		if (pj < 0) {
			*why = "X1367 record nests too deep";
			return MM_EPARSE;
		}
		rc = mm_x1367_decode(m.msg.p, m.msg.len, MM_X1367_STRICT, &r, NULL);
		if (rc == MM_ENOMEM)
			return rc;
		if (rc < 0) {
			lenient = 1;
			rc = mm_x1367_decode(m.msg.p, m.msg.len, MM_X1367_LENIENT, &r, NULL);
			if (rc == MM_ENOMEM)
				return rc;
			if (rc < 0) {
				*why = rc == MM_EPARSE ? "X1367 record is not JSON"
						       : "X1367 record not valid even leniently";
				return MM_EPARSE;
			}
		}
		is_x = 1;
	} else if (pj > 0 && k.event_string && k.name_len > 0 && k.name_len <= MM_EVENT_NAME_MAX &&
		   strlen(k.name) == k.name_len) {
		is_event = 1;
	} else if (pj > 0 && k.has_error_code) {
		rc = mm_x1367_decode(m.msg.p, m.msg.len, MM_X1367_LENIENT, &r, NULL);
		if (rc == MM_ENOMEM)
			return rc;
		if (rc == 0) {
			is_x = 1;
			lenient = 1;
		}
	}

	put_c(&s, S_PEER, o->peer);
	put_c(&s, S_PEER_ADDR, o->peer_addr);
	if (o->cert_fp[0])
		put_c(&s, S_CERT_FP, o->cert_fp);
	put_str(&s, S_HOSTNAME, &m.hostname);
	if (o->cert_cn[0])
		put_c(&s, S_DEVICE, o->cert_cn);
	else if (m.hostname.p)
		put_str(&s, S_DEVICE, &m.hostname);
	else
		put_c(&s, S_DEVICE, o->peer_addr);
	put_str(&s, S_APP, &m.app_name);
	put_str(&s, S_PROCID, &m.procid);
	put_str(&s, S_MSGID, &m.msgid);
	if (m.msg.p)
		put_str(&s, S_MSG, &m.msg);
	if (is_x) {
		put_c(&s, S_TYPE, "x1367");
		put_c(&s, S_PROTOCOL, r->protocol);
		put_c(&s, S_REPORTER, party_id(r, MM_X1367_REPORTER));
		put_c(&s, S_REQUESTER, party_id(r, MM_X1367_REQUESTER));
		put_c(&s, S_RESPONDER, party_id(r, MM_X1367_RESPONDER));
		if (r->time.tv_sec || r->time.tv_nsec)
			tms = ts_ms(&r->time);
	} else if (is_event) {
		put_c(&s, S_TYPE, k.name);
	} else {
		put_c(&s, S_TYPE, "syslog");
	}
	if ((ev = event_build(&s)) == NULL) {
		mm_x1367_free(r);
		return MM_ENOMEM;
	}
	ev->recv_ms = recv_ms;
	ev->transport = o->transport;
	ev->cert_not_after = o->cert_fp[0] ? o->cert_not_after : 0;
	ev->format = m.format;
	ev->facility = m.facility;
	ev->severity = m.severity;
	ev->kind = is_x ? SOC_KIND_X1367 : is_event ? SOC_KIND_EVENT : SOC_KIND_SYSLOG;
	ev->code = -1;
	ev->category = -1;
	if (is_x) {
		if (r->has_code) {
			ev->code = r->code;
			ev->category = (int)mm_x1367_range_of(r->code)->category;
		}
		ev->forgiven = r->forgiven;
		if (lenient)
			ev->flags |= SOC_F_LENIENT;
	}
	if (!tms)
		tms = header_ms(&m, recv_ms);
	if (!tms) {
		tms = recv_ms;
		ev->flags |= SOC_F_NO_TIME;
	}
	ev->time_ms = tms;
	if (o->cert_cn[0] && m.hostname.p &&
	    (m.hostname.len != strlen(o->cert_cn) ||
	     strncasecmp(m.hostname.p, o->cert_cn, m.hostname.len) != 0))
		ev->flags |= SOC_F_IDENTITY_MISMATCH;
	mm_x1367_free(r);
	*out = ev;
	return 0;
}

