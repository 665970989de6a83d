/* Names of the shared enums, freeing an event (one allocation), and the
 * collector's one way of writing a time. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mamori/error.h"

#include "soc.h"

const char *soc_transport_name(enum soc_transport t)
{
	static const char *const names[SOC_TRANSPORT_COUNT] = {"udp", "tcp", "tls", "relp",
							       "relp+tls"};
	return (unsigned)t < SOC_TRANSPORT_COUNT ? names[t] : "?";
}

const char *soc_kind_name(enum soc_kind k)
{
	switch (k) {
	case SOC_KIND_SYSLOG: return "syslog";
	case SOC_KIND_X1367: return "x1367";
	case SOC_KIND_EVENT: return "event";
	}
	return "?";
}

void soc_event_free(struct soc_event *ev)
{
	free(ev);
}

int soc_time_text(int64_t ms, char *out, size_t size)
{
	int64_t s = ms / 1000, frac = ms % 1000;
	time_t t;
	struct tm tm;

	if (frac < 0) {
		frac += 1000;
		s--;
	}
	t = (time_t)s;
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, size, "invalid");
		return MM_EINVAL;
	}
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
	return 0;
}

int64_t soc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
