/*
 * What the decoders share: building and reporting messages, walking a
 * stream message by message, and writing details and codes
 * (gateway/sensor/sensor.h). Apart from the table of decoders in sensor.c,
 * so that a program may list decoders of its own (the flow table's unit
 * tests do) and still use these.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mamori/reporter.h"
#include "sensor.h"

void gw_msg_init(struct gw_msg *m, const char *protocol, enum gw_side from, const void *raw,
		 size_t raw_len)
{
	memset(m, 0, sizeof *m);
	m->protocol = protocol;
	m->from = from;
	m->raw = raw;
	m->raw_len = raw_len;
}

void gw_report_malformed(const struct gw_sink *sink, const char *protocol, enum gw_side from,
			 const void *raw, size_t raw_len, const char *detail)
{
	struct mm_reporter_status st = {0};
	struct gw_msg m;

	if (!sink->error)
		return;
	gw_msg_init(&m, protocol, from, raw, raw_len);
	m.detail = detail;
	st.outcome = MM_REPORTER_ERR_STD;
	st.std = 0x30;
	sink->error(sink->arg, &m, &st);
}

long gw_stream_data(void *state, enum gw_side from, const uint8_t *p, size_t n,
		    const struct gw_sink *sink, gw_step_fn step)
{
	size_t pos = 0;

	while (pos < n) {
		long r = step(state, from, p + pos, n - pos, sink);

		if (r < 0)
			return GW_STOP;
		if (r == 0)
			break;
		/* A step that skips past the bytes at hand ends the walk: the
		 * tracker drops the rest of what it skips unseen. */
		if ((size_t)r > n - pos)
			return (long)pos + r;
		pos += (size_t)r;
	}
	return (long)pos;
}

int gw_gap_stop(void *state, enum gw_side from)
{
	(void)state;
	(void)from;
	return GW_STOP;
}

void gw_vnote(char *note, size_t size, const char *fmt, va_list ap)
{
	size_t used = strlen(note);

	if (used && used + 2 < size) {
		memcpy(note + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= size)
		return;
	vsnprintf(note + used, size - used, fmt, ap);
}

void gw_note(char *note, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gw_vnote(note, size, fmt, ap);
	va_end(ap);
}

const char *gw_code_hex(char text[GW_CODE_TEXT], unsigned code)
{
	snprintf(text, GW_CODE_TEXT, "0x%02X", code);
	return text;
}
