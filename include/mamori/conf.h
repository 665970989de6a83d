/*
 * Configuration files (INI, read with inih), described by a table of keys.
 *
 * Every key a program reads is listed once, with its type, bounds and where
 * to store it; the loader refuses unknown keys, keys given twice and values
 * out of bounds, and names the line. Defaults are whatever the destinations
 * hold before loading.
 *
 *	char *spool = strdup("/var/spool/mamori");
 *	long long max = 64 * 1024;
 *	int enforce = 0;
 *	const struct mm_conf_key keys[] = {
 *		{"spool", "dir", MM_CONF_STR, &spool, 0, 0},
 *		{"spool", "max_size", MM_CONF_SIZE, &max, 4096, 1LL << 40},
 *		{"guard", "enforce", MM_CONF_BOOL, &enforce, 0, 0},
 *	};
 *	struct mm_conf_err err;
 *	if (mm_conf_load("/etc/mamori/mamorid.conf", keys, 3, &err) < 0)
 *		fatalx("%s:%d: %s", path, err.line, err.msg);
 */
#ifndef MAMORI_CONF_H
#define MAMORI_CONF_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MM_CONF_MAX_KEYS 256

enum mm_conf_type {
	MM_CONF_STR = 0,  /* char **: the old value is freed, the new one malloc'd */
	MM_CONF_INT = 1,  /* long long *: decimal or 0x hex, within [min, max] */
	MM_CONF_BOOL = 2, /* int *: yes/no, true/false, on/off, 1/0 */
	MM_CONF_SIZE = 3, /* long long *: bytes with an optional K, M, G suffix (1024s) */
};

struct mm_conf_key {
	const char *section; /* "" for keys before any [section] */
	const char *name;
	enum mm_conf_type type;
	void *dst;
	long long min, max;  /* for INT and SIZE; both 0 means no bound */
};

struct mm_conf_err {
	int line; /* 1-based; 0 when the file could not be read */
	char msg[256];
};

/* Reads path. Returns 0, MM_EIO (unreadable; err->msg says why), MM_EPARSE. */
int mm_conf_load(const char *path, const struct mm_conf_key *keys, size_t nkeys,
		 struct mm_conf_err *err);
/* The same from a NUL-terminated string. */
int mm_conf_parse(const char *text, const struct mm_conf_key *keys, size_t nkeys,
		  struct mm_conf_err *err);

#ifdef __cplusplus
}
#endif
#endif
