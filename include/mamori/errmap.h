/*
 * Vendor error mapping tables: a device maker's proprietary error codes,
 * per protocol and vendor, to X.1367 standard codes.
 *
 * The file format is described in docs/formats/errmap.md and mamori-errmap(5).
 * A loaded map answers a lookup in O(log n): exact codes and ranges are kept
 * in sorted arrays and found by binary search.
 *
 *	struct mm_errmap *map;
 *	struct mm_errmap_err err;
 *	if (mm_errmap_load_file(&map, "data/errmap/modbus.map", &err) < 0)
 *		fprintf(stderr, "%s:%d: %s\n", path, err.line, err.msg);
 *	struct mm_errmap_result r;
 *	if (mm_errmap_lookup_num(map, "Modbus/TCP", NULL, 0x02, &r) == 0)
 *		printf("%02X %s\n", r.code, r.message);
 *	mm_errmap_free(map);
 */
#ifndef MAMORI_ERRMAP_H
#define MAMORI_ERRMAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds on what one map may hold; a file past them is refused. */
#define MM_ERRMAP_MAX_TABLES 1024
#define MM_ERRMAP_MAX_ENTRIES 100000 /* over all tables */
#define MM_ERRMAP_MAX_LINE 4096
#define MM_ERRMAP_MAX_FILE (16 * 1024 * 1024)

struct mm_errmap;

/* Where and why loading failed. line is 1-based, 0 when not about a line. */
struct mm_errmap_err {
	int line;
	int col; /* 1-based column, 0 when unknown */
	char msg[256];
};

enum mm_errmap_match {
	MM_ERRMAP_EXACT = 1,    /* an exact code entry */
	MM_ERRMAP_RANGE = 2,    /* a range entry */
	MM_ERRMAP_DEFAULT = 3,  /* the table's default */
	MM_ERRMAP_FALLBACK = 4, /* no entry and no default: 0xFF Other Reasons */
};

struct mm_errmap_result {
	uint8_t code;            /* the standard code */
	const char *message;     /* standard message, or the table's text for a private code */
	enum mm_errmap_match match;
	int line;                /* line of the entry that matched, 0 for FALLBACK */
	const char *protocol;    /* of the table that answered */
	const char *vendor;      /* of the table that answered, NULL for any vendor */
};

/* Parses a map from text. Returns 0 and *out, or MM_EPARSE / MM_ETOOBIG /
 * MM_ENOMEM with *err filled (err may be NULL), and *out NULL; MM_EINVAL for
 * a NULL out, or a NULL text with len > 0. The caller frees *out with
 * mm_errmap_free(). */
int mm_errmap_load(struct mm_errmap **out, const char *text, size_t len,
		   struct mm_errmap_err *err);
/* Reads a file and calls mm_errmap_load(). MM_EIO with err->msg on a read error. */
int mm_errmap_load_file(struct mm_errmap **out, const char *path, struct mm_errmap_err *err);
void mm_errmap_free(struct mm_errmap *map);

/*
 * Finds the standard code for a numeric proprietary code. The table for
 * exactly this protocol and vendor is asked first (exact entry, range,
 * default), then the protocol's table for any vendor (the same), then the
 * answer is FALLBACK 0xFF. A vendor table with a default therefore answers
 * every code itself; one without a default is a layer over the any-vendor
 * table. vendor may be NULL or "" (only the any-vendor table is asked).
 * Protocol and vendor names compare exactly, case included.
 * Returns 0 with *r filled, MM_ENOTFOUND when neither table exists, or
 * MM_EINVAL for a NULL map, protocol or r.
 * Results point into the map and live as long as it does.
 */
int mm_errmap_lookup_num(const struct mm_errmap *map, const char *protocol,
			 const char *vendor, uint64_t code, struct mm_errmap_result *r);
/* The same for a symbolic proprietary code (a quoted name in the table). */
int mm_errmap_lookup_name(const struct mm_errmap *map, const char *protocol,
			  const char *vendor, const char *code, struct mm_errmap_result *r);
/*
 * Parses a code as written on a command line or in a table and looks it up:
 * "0x1F" or "31" are numeric, anything else is a name. Same returns as above,
 * plus MM_EINVAL for an empty code.
 */
int mm_errmap_lookup(const struct mm_errmap *map, const char *protocol, const char *vendor,
		     const char *code, struct mm_errmap_result *r);

/* How many tables and entries the map holds (for tests and logs). */
size_t mm_errmap_ntables(const struct mm_errmap *map);
size_t mm_errmap_nentries(const struct mm_errmap *map);

#ifdef __cplusplus
}
#endif
#endif
