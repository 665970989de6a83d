/*
 * Destination URLs of the sender: SCHEME://HOST[:PORT].
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"
#include "mamori/send.h"

static const struct {
	const char *name;
	enum mm_send_proto proto;
	const char *port;
} schemes[] = {
	{ "udp", MM_SEND_UDP, "514" },
	{ "tcp", MM_SEND_TCP, "514" },
	{ "tls", MM_SEND_TLS, "6514" },
	{ "relp", MM_SEND_RELP, "2514" },
	{ "relp+tls", MM_SEND_RELP_TLS, "2514" },
};

const char *mm_send_proto_name(enum mm_send_proto p)
{
	size_t i;

	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (schemes[i].proto == p)
			return schemes[i].name;
	return "?";
}

/* A host name or address: letters, digits, '-', '.', '_' (names), ':' (IPv6). */
static int host_ok(const char *h, size_t n, int v6)
{
	size_t i;

	if (n == 0 || n > MM_SEND_HOST_MAX)
		return 0;
	if (v6 && memchr(h, ':', n) == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		char c = h[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_')
			continue;
		if (v6 && (c == ':' || c == '%'))
			continue;
		return 0;
	}
	return 1;
}

static int port_ok(const char *p)
{
	char *end;
	long v;

	if (*p < '0' || *p > '9' || strlen(p) > 5)
		return 0;
	errno = 0;
	v = strtol(p, &end, 10);
	return errno == 0 && *end == '\0' && v >= 1 && v <= 65535;
}

int mm_send_url_parse(const char *s, struct mm_send_url *u)
{
	struct mm_send_url r;
	const char *sep, *h, *hend, *port;
	size_t i, n;
	int v6 = 0;

	if (s == NULL || (sep = strstr(s, "://")) == NULL)
		return MM_EINVAL;
	memset(&r, 0, sizeof r);
	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (strlen(schemes[i].name) == (size_t)(sep - s) &&
		    strncmp(s, schemes[i].name, (size_t)(sep - s)) == 0)
			break;
	if (i == sizeof schemes / sizeof schemes[0])
		return MM_EINVAL;
	r.proto = schemes[i].proto;
	port = schemes[i].port;

	h = sep + 3;
	if (*h == '[') {
		v6 = 1;
		h++;
		if ((hend = strchr(h, ']')) == NULL)
			return MM_EINVAL;
		if (hend[1] == ':')
			port = hend + 2;
		else if (hend[1] != '\0')
			return MM_EINVAL;
	} else {
		hend = strchr(h, ':');
		if (hend != NULL)
			port = hend + 1;
		else
			hend = h + strlen(h);
	}
	n = (size_t)(hend - h);
	if (!host_ok(h, n, v6) || !port_ok(port))
		return MM_EINVAL;
	memcpy(r.host, h, n);
	r.host[n] = '\0';
	memcpy(r.port, port, strlen(port) + 1);
	*u = r;
	return 0;
}
