/*
 * libFuzzer target for the X.1367 decoder: any bytes, both modes. What
 * decodes must encode, and decode again to the same code and message
 * (strictly if it was strict, leniently otherwise).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/x1367.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct mm_x1367_record *r, enum mm_x1367_mode mode)
{
	struct mm_x1367_record *back;
	char *json = mm_x1367_encode(r, 0);

	if (!json)
		abort(); /* a decoded record always encodes */
	if (mm_x1367_decode(json, strlen(json), mode, &back, NULL) != 0)
		abort();
	if (back->code != r->code || strcmp(back->message, r->message) != 0 ||
	    strcmp(back->timestamp, r->timestamp) != 0 || strcmp(back->protocol, r->protocol) != 0)
		abort();
	mm_x1367_free(back);
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_x1367_diags d;
	struct mm_x1367_record *r;

	if (mm_x1367_decode((const char *)data, size, MM_X1367_STRICT, &r, &d) == 0) {
		if (r->forgiven || d.n)
			abort(); /* strict forgives nothing */
		round_trip(r, MM_X1367_STRICT);
		mm_x1367_free(r);
	}
	if (mm_x1367_decode((const char *)data, size, MM_X1367_LENIENT, &r, &d) == 0) {
		if (d.errors)
			abort();
		round_trip(r, MM_X1367_LENIENT);
		mm_x1367_free(r);
	}
	return 0;
}
