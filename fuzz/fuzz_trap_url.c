/*
 * libFuzzer target: trap_url_split(), which splits the URLs attackers give
 * wget, curl and tftp before mamori-trap fetches them (when it is told to).
 * The input is the URL (cut at its first NUL). A URL it accepts must give
 * a host, a port, a path and a Host header that are bounded, terminated
 * and free of blanks and control characters.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"

#include "trap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void clean(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trap_url u;
	char url[4096], why[128];
	size_t n = size < sizeof url - 1 ? size : sizeof url - 1;
	int rc;

	memcpy(url, data, n);
	url[n] = '\0';
	memset(&u, 0xa5, sizeof u);
	why[0] = '\0';
	rc = trap_url_split(url, &u, why, sizeof why);
	if (rc < 0) {
		if (rc != MM_EINVAL || why[0] == '\0' || strnlen(why, sizeof why) == sizeof why)
			abort();
		return 0;
	}
	if (rc != 0 || u.port == 0 || u.host[0] == '\0')
		abort();
	clean(u.host, sizeof u.host);
	clean(u.hostport, sizeof u.hostport);
	clean(u.path, sizeof u.path);
	if (u.proto == TRAP_URL_HTTP ? u.path[0] != '/' : u.path[0] == '\0')
		abort();
	return 0;
}
