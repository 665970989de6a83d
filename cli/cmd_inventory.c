/*
 * mamori inventory: the CycloneDX 1.5 SBOM that mamorid sends as
 * inventory.sbom (agent/inventory.c, docs/formats/inventory.md), built on
 * demand from a root file system: the running device's own (/) or a
 * firmware tree. The same code as the agent's, so what this prints is what
 * the SOC receives.
 *
 * With -o the BOM is written to FILE.tmp, flushed to disk and renamed over
 * FILE, so that a reader (or a power cut) never sees half a BOM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "inventory.h"
#include "mamori/error.h"
#include "mamori/hash.h"
#include "mamori/log.h"
#include "mamori/path.h"

#define SPLIT_MIN 512 /* a part smaller than this cannot hold the BOM's frame */

static void inventory_usage(FILE *out)
{
	fprintf(out,
		"usage: mamori inventory [--root DIR] [--device ID] [--firmware V] [-o FILE]\n"
		"                        [--compact] [--split BYTES]\n"
		"\n"
		"Prints the CycloneDX 1.5 JSON SBOM of the root file system DIR (default /):\n"
		"the operating system (os-release), the installed dpkg or opkg packages,\n"
		"BusyBox with its version and applets, and mamorid's own components.\n"
		"  --root DIR      the device's / (a firmware tree); default /\n"
		"  --device ID     the device's name in metadata.component (default the host name)\n"
		"  --firmware V    its firmware version (default VERSION_ID of os-release)\n"
		"  -o FILE         write to FILE (through FILE.tmp and a rename) instead of stdout\n"
		"  --compact       one line instead of an indented document\n"
		"  --split BYTES   the parts mamorid would send, one compact BOM per line, each\n"
		"                  at most BYTES long\n"
		"Exit status: 0 written; 1 the BOM could not be built or written; 2 bad usage.\n");
}

/* Writes each document of docs as JSON (one per line when compact). */
static int write_docs(FILE *f, json_t **docs, size_t n, size_t flags)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (json_dumpf(docs[i], f, flags) != 0 || fputc('\n', f) == EOF)
			return MM_EIO;
	return 0;
}

/* The documents into FILE through FILE.tmp, synced and renamed
 * (mm_write_atomic): the old FILE stays until the new one is whole. */
static int write_file(const char *path, json_t **docs, size_t n, size_t flags)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if ((f = open_memstream(&text, &len)) == NULL) {
		log_warn("inventory: %s", path);
		return MM_ENOMEM;
	}
	rc = write_docs(f, docs, n, flags);
	if (fclose(f) != 0 && rc == 0)
		rc = MM_ENOMEM;
	if (rc == 0 && (rc = mm_write_atomic(path, text, len, 1, 0644)) < 0)
		log_warn("inventory: writing %s", path);
	free(text);
	return rc;
}

static int parse_size(const char *s, size_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < SPLIT_MIN ||
	    v > (unsigned long long)SIZE_MAX)
		return MM_EINVAL;
	*out = (size_t)v;
	return 0;
}

int cmd_inventory(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"root", required_argument, NULL, 'r'},
		{"device", required_argument, NULL, 'd'},
		{"firmware", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"compact", no_argument, NULL, 'c'},
		{"split", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct inventory_opts o = {.root = "/"};
	const char *output = NULL;
	size_t flags = JSON_INDENT(2), split = 0, n = 0, i;
	json_t *bom = NULL, **parts = NULL;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			o.root = optarg;
			break;
		case 'd':
			o.device_id = optarg;
			break;
		case 'f':
			o.firmware = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'c':
			flags = JSON_COMPACT;
			break;
		case 's':
			if (parse_size(optarg, &split) != 0) {
				log_warnx("inventory: --split %s: a size of at least %d bytes", optarg,
					  SPLIT_MIN);
				return CLI_USAGE;
			}
			break;
		case 'h':
			inventory_usage(stdout);
			return CLI_OK;
		default:
			inventory_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		log_warnx("inventory: unexpected argument %s", argv[optind]);
		inventory_usage(stderr);
		return CLI_USAGE;
	}
	rc = inventory_build(&o, &bom);
	if (rc == MM_EIO)
		return CLI_USAGE; /* the root could not be opened (said by inventory_build) */
	if (rc < 0) {
		log_warnx("inventory: %s", mm_strerror(rc));
		return CLI_INVALID;
	}
	if (split > 0) {
		if ((rc = inventory_split(bom, split, &parts, &n)) < 0) {
			if (rc == MM_ETOOBIG)
				log_warnx("inventory: --split %zu: a component with the BOM's "
					  "metadata is larger than that", split);
			else
				log_warnx("inventory: --split %zu: %s", split, mm_strerror(rc));
			json_decref(bom);
			return CLI_INVALID;
		}
		flags = JSON_COMPACT;
	} else {
		parts = &bom;
		n = 1;
	}
	if (output != NULL)
		rc = write_file(output, parts, n, flags);
	else if ((rc = write_docs(stdout, parts, n, flags)) == 0 && fflush(stdout) != 0)
		rc = MM_EIO;
	if (rc != 0 && output == NULL)
		log_warn("inventory: standard output");
	if (split > 0) {
		for (i = 0; i < n; i++)
			json_decref(parts[i]);
		free(parts);
	}
	json_decref(bom);
	return rc == 0 ? CLI_OK : CLI_INVALID;
}
