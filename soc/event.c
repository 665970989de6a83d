/* Names of the shared enums, and freeing an event (one allocation). */
#include <stdlib.h>

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
