/*
 * mamorid's inventory: a CycloneDX 1.5 JSON SBOM of the device, so that a
 * PSIRT can match vulnerabilities to devices later. What it lists: the
 * operating system (os-release), the packages (dpkg or opkg status), BusyBox
 * (its version, read from the binary, and the applets linked to it), and
 * mamorid's own components. docs/formats/inventory.md says which fields.
 *
 *	struct inventory_opts o = {.root = "/", .device_id = "cam-0042"};
 *	json_t *bom;
 *	if (inventory_build(&o, &bom) == 0) {
 *		json_dumpf(bom, stdout, JSON_INDENT(2));
 *		json_decref(bom);
 *	}
 */
#ifndef MAMORI_AGENT_INVENTORY_H
#define MAMORI_AGENT_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mamori/hash.h"

#define INVENTORY_MAX_COMPONENTS 20000

struct inventory_opts {
	const char *root;       /* "/" when NULL */
	const char *device_id;  /* metadata.component name (the device); NULL: the host name */
	const char *firmware;   /* metadata.component version; NULL: os-release VERSION_ID */
	int64_t time_s;         /* metadata.timestamp; 0: now */
};

/*
 * Builds the BOM. The serialNumber is a UUID derived from the content, so
 * that the same device state gives the same BOM apart from the timestamp.
 * Returns 0, MM_ENOMEM, MM_ETOOBIG (more than INVENTORY_MAX_COMPONENTS).
 */
int inventory_build(const struct inventory_opts *o, json_t **bom);

/*
 * SHA-256 of what the BOM says, leaving out metadata.timestamp: equal
 * digests mean nothing changed (the device sends a new BOM when it differs).
 */
int inventory_digest(json_t *bom, uint8_t out[MM_SHA256_LEN]);

/*
 * Splits bom into parts whose JSON text is at most max_bytes each, so that
 * each fits one event: every part is itself a valid BOM with the same
 * serialNumber and metadata and a share of the components. *parts is a
 * malloc'd array of n new references.
 */
int inventory_split(json_t *bom, size_t max_bytes, json_t ***parts, size_t *n);

/* Parsers, also for the unit tests and fuzz target. Each calls fn once per package. */
struct inventory_pkg {
	const char *name, *version, *arch, *source, *maintainer, *homepage, *description;
};
int inventory_parse_status(const char *text, size_t len,
			   void (*fn)(const struct inventory_pkg *p, void *arg), void *arg);
/* The "BusyBox vX.Y.Z" version in a BusyBox binary's bytes; 1 found, 0 not. */
int inventory_busybox_version(const unsigned char *bin, size_t len, char *out, size_t n);

#endif
