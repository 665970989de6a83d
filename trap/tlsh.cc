/*
 * The C shim over Debian's libtlsh (a C++ library): one function, so that
 * the rest of mamori-trap stays C. No exception crosses into C: an
 * allocation failure is MM_ENOMEM, anything else thrown leaves no digest.
 *
 * libtlsh 3.4 prints the 70 hex digits of the digest alone; TLSH 4 and the
 * services that publish TLSH (MalwareBazaar, VirusTotal) print the same
 * digits after the version marker "T1", which is the form kept here.
 */
#include <cstdio>
#include <new>

#include <tlsh.h>

extern "C" {
#include "capture.h"
#include "mamori/error.h"
}

/* libtlsh takes lengths as unsigned int: larger inputs go in pieces. */
static const size_t CHUNK = 1u << 30;

extern "C" int trap_tlsh(const uint8_t *data, size_t len, char out[TRAP_TLSH_MAX + 1])
{
	char hex[TLSH_STRING_BUFFER_LEN];

	out[0] = '\0';
	if (data == NULL || len == 0)
		return 0;
	try {
		Tlsh t;
		for (size_t off = 0; off < len; off += CHUNK) {
			size_t n = len - off < CHUNK ? len - off : CHUNK;
			t.update(data + off, (unsigned int)n);
		}
		t.final();
		const char *h = t.getHash(hex, sizeof hex);
		if (h != NULL && h[0] != '\0')
			snprintf(out, TRAP_TLSH_MAX + 1, "T1%s", h);
	} catch (const std::bad_alloc &) {
		out[0] = '\0';
		return MM_ENOMEM;
	} catch (...) {
		out[0] = '\0';
	}
	return 0;
}
