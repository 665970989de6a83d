/*
 * libFuzzer target for the syslog parsers (lib/syslog.c, lib/syslog3164.c).
 *
 * Every input is parsed in AUTO, 5424-only and 3164-only mode. Besides
 * memory errors, which the sanitizers catch, it aborts when a promise of the
 * API breaks: a field points outside the input, an SD value cannot be
 * unescaped, the 3164 parser fails after a valid PRI, or an RFC 5424 message
 * re-encoded with mm_syslog_encode() does not parse back to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/syslog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)               \
	do {                   \
		if (!(x))      \
			abort(); \
	} while (0)

static void check_slice(const struct mm_str *s, const uint8_t *data, size_t size)
{
	if (s->p == NULL)
		return;
	CHECK((const uint8_t *)s->p >= data);
	CHECK(s->len <= size && (const uint8_t *)s->p + s->len <= data + size);
}

/* Every field lies inside the input and every SD value unescapes. */
static void check_msg(const struct mm_syslog_msg *m, const uint8_t *data, size_t size)
{
	struct mm_buf b;

	CHECK(m->pri >= 0 && m->pri <= 191);
	CHECK(m->facility == m->pri / 8 && m->severity == m->pri % 8);
	check_slice(&m->timestamp, data, size);
	check_slice(&m->hostname, data, size);
	check_slice(&m->app_name, data, size);
	check_slice(&m->procid, data, size);
	check_slice(&m->msgid, data, size);
	check_slice(&m->msg, data, size);
	CHECK(m->nelements <= MM_SYSLOG_MAX_SD_ELEMENTS);
	CHECK(m->nparams <= MM_SYSLOG_MAX_SD_PARAMS);
	CHECK(m->time.nsec >= 0 && m->time.nsec < 1000000000);
	if (m->msg.p && m->msg_utf8)
		CHECK(mm_utf8_check(m->msg.p, m->msg.len) == m->msg.len);
	mm_buf_init(&b, size + 1);
	for (unsigned i = 0; i < m->nelements; i++) {
		const struct mm_sd_element *e = &m->elements[i];

		check_slice(&e->id, data, size);
		CHECK(e->first_param + e->nparams <= m->nparams);
	}
	for (unsigned i = 0; i < m->nparams; i++) {
		check_slice(&m->params[i].name, data, size);
		check_slice(&m->params[i].value, data, size);
		mm_buf_reset(&b);
		CHECK(mm_syslog_sd_unescape(&m->params[i].value, &b) == 0);
		CHECK(b.len <= m->params[i].value.len);
		CHECK(mm_utf8_check(b.data ? b.data : "", b.len) == b.len);
	}
	mm_buf_free(&b);
}

/* Copies a field into a C string; header fields hold no NUL. */
static char *cstr(const struct mm_str *s)
{
	char *p;

	if (s->p == NULL)
		return NULL;
	p = malloc(s->len + 1);
	CHECK(p != NULL);
	memcpy(p, s->p, s->len);
	p[s->len] = '\0';
	return p;
}

static int same(const struct mm_str *a, const struct mm_str *b)
{
	if (a->p == NULL || b->p == NULL)
		return a->p == b->p;
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* The parsed time as a point in UTC. */
static void to_timespec(const struct mm_syslog_time *t, struct timespec *ts)
{
	struct tm tm = { 0 };

	tm.tm_year = t->year - 1900;
	tm.tm_mon = t->month - 1;
	tm.tm_mday = t->day;
	tm.tm_hour = t->hour;
	tm.tm_min = t->minute;
	tm.tm_sec = t->second;
	ts->tv_sec = timegm(&tm) - (time_t)t->offset_min * 60;
	ts->tv_nsec = t->nsec;
}

/* SD values, unescaped, as the encoder takes them, and every C string
 * made for the encoder, to be freed. */
struct sd_copy {
	struct mm_syslog_out_element el[MM_SYSLOG_MAX_SD_ELEMENTS];
	struct mm_syslog_out_param par[MM_SYSLOG_MAX_SD_PARAMS];
	char *strs[MM_SYSLOG_MAX_SD_ELEMENTS + 2 * MM_SYSLOG_MAX_SD_PARAMS + 4];
	int nstrs;
};

static char *keep(struct sd_copy *sd, char *s)
{
	sd->strs[sd->nstrs++] = s;
	return s;
}

/* Returns 0, or -1 when a value holds a NUL, which a C string cannot carry. */
static int copy_sd(const struct mm_syslog_msg *m, struct sd_copy *sd)
{
	int nul = 0;

	for (unsigned i = 0; i < m->nparams; i++) {
		struct mm_buf b;
		struct mm_str v;

		mm_buf_init(&b, m->params[i].value.len + 1);
		CHECK(mm_syslog_sd_unescape(&m->params[i].value, &b) == 0);
		v = (struct mm_str){ b.data ? b.data : "", b.len };
		if (b.len > 0 && memchr(b.data, '\0', b.len) != NULL)
			nul = 1;
		sd->par[i].name = keep(sd, cstr(&m->params[i].name));
		sd->par[i].value = keep(sd, cstr(&v));
		mm_buf_free(&b);
	}
	for (unsigned i = 0; i < m->nelements; i++) {
		sd->el[i].id = keep(sd, cstr(&m->elements[i].id));
		sd->el[i].params = &sd->par[m->elements[i].first_param];
		sd->el[i].nparams = m->elements[i].nparams;
	}
	return nul ? -1 : 0;
}

static void check_same_sd(const struct mm_syslog_msg *a, const struct mm_syslog_msg *b)
{
	struct mm_buf x, y;

	CHECK(a->nelements == b->nelements && a->nparams == b->nparams);
	for (unsigned i = 0; i < a->nelements; i++) {
		CHECK(same(&a->elements[i].id, &b->elements[i].id));
		CHECK(a->elements[i].nparams == b->elements[i].nparams);
	}
	mm_buf_init(&x, 1 << 20);
	mm_buf_init(&y, 1 << 20);
	for (unsigned i = 0; i < a->nparams; i++) {
		CHECK(same(&a->params[i].name, &b->params[i].name));
		mm_buf_reset(&x);
		mm_buf_reset(&y);
		CHECK(mm_syslog_sd_unescape(&a->params[i].value, &x) == 0);
		CHECK(mm_syslog_sd_unescape(&b->params[i].value, &y) == 0);
		CHECK(x.len == y.len && (x.len == 0 || memcmp(x.data, y.data, x.len) == 0));
	}
	mm_buf_free(&x);
	mm_buf_free(&y);
}

/* Encodes what was parsed and parses it again: the fields must survive. */
static void roundtrip(const struct mm_syslog_msg *m)
{
	struct sd_copy *sd = calloc(1, sizeof *sd);
	struct mm_syslog_out o = { 0 };
	struct mm_syslog_msg m2;
	struct timespec ts, ts2;
	struct mm_buf out;
	int rc, with_sd;

	CHECK(sd != NULL);
	with_sd = copy_sd(m, sd) == 0;
	o.pri = m->pri;
	if (m->time.present) {
		to_timespec(&m->time, &ts);
		o.time = &ts;
	}
	o.hostname = keep(sd, cstr(&m->hostname));
	o.app_name = keep(sd, cstr(&m->app_name));
	o.procid = keep(sd, cstr(&m->procid));
	o.msgid = keep(sd, cstr(&m->msgid));
	o.elements = sd->el;
	o.nelements = with_sd ? m->nelements : 0;
	o.msg = m->msg.p;
	o.msg_len = m->msg.len;
	o.msg_bom = m->msg_bom;

	mm_buf_init(&out, 1 << 20);
	rc = mm_syslog_encode(&o, &out);
	/* Only a time moved before year 0 or past 9999 by its offset may be
	 * refused: the encoder writes UTC. */
	if (rc == MM_EINVAL) {
		CHECK(m->time.present && (m->time.year == 0 || m->time.year == 9999));
		goto done;
	}
	CHECK(rc == 0);
	CHECK(mm_syslog_parse(out.data, out.len, MM_SYSLOG_ONLY_5424, &m2) == 0);
	CHECK(m2.pri == m->pri && m2.version == 1);
	CHECK(same(&m2.hostname, &m->hostname) && same(&m2.app_name, &m->app_name));
	CHECK(same(&m2.procid, &m->procid) && same(&m2.msgid, &m->msgid));
	CHECK(m2.time.present == m->time.present);
	if (m->time.present) {
		to_timespec(&m2.time, &ts2);
		CHECK(ts2.tv_sec == ts.tv_sec && ts2.tv_nsec == ts.tv_nsec);
		CHECK(m2.time.offset_min == 0 && m2.time.frac_digits == 6);
	}
	CHECK(m2.msg_bom == m->msg_bom && m2.msg_utf8 == m->msg_utf8);
	CHECK(same(&m2.msg, &m->msg));
	if (with_sd)
		check_same_sd(m, &m2);
done:
	mm_buf_free(&out);
	for (int i = 0; i < sd->nstrs; i++)
		free(sd->strs[i]);
	free(sd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_syslog_msg m;
	int rc;

	if (mm_syslog_parse(data, size, MM_SYSLOG_AUTO, &m) == 0) {
		check_msg(&m, data, size);
		if (m.format == MM_SYSLOG_RFC5424)
			roundtrip(&m);
	} else {
		CHECK(m.err != NULL && m.err_off <= size);
	}
	if (mm_syslog_parse(data, size, MM_SYSLOG_ONLY_5424, &m) == 0) {
		check_msg(&m, data, size);
		CHECK(m.format == MM_SYSLOG_RFC5424 && m.version == 1);
		roundtrip(&m);
	} else {
		CHECK(m.err != NULL && m.err_off <= size);
	}
	rc = mm_syslog_parse(data, size, MM_SYSLOG_ONLY_3164, &m);
	if (rc == 0) {
		check_msg(&m, data, size);
		CHECK(m.format == MM_SYSLOG_RFC3164 && m.nelements == 0);
	} else {
		/* Only a malformed PRI fails. */
		CHECK(rc == MM_EPARSE && size > 0 && data[0] == '<');
		CHECK(m.err != NULL && m.err_off <= size);
	}
	return 0;
}
