/*
 * Captured files of mamori-trap: every file a session creates or writes
 * (echo/printf chains reassembled byte for byte in the session's file
 * system) is hashed (SHA-256 and TLSH), classified (ELF class, machine,
 * endianness, or a script / text / data) and stored content-addressed as
 * DIR/downloads/<sha256> (written to a temporary name, synced, renamed;
 * mode 0400), once whatever the number of sessions that made it. The store
 * is bounded in total bytes: a file that does not fit is hashed and
 * reported but not stored (stored = 0, and why).
 *
 * TLSH comes from Debian's libtlsh (a C++ library; tlsh.cc is the C shim).
 * TLSH needs enough varied bytes: below its minimum the hash is "" and the
 * event carries no tlsh member.
 */
#ifndef TRAP_CAPTURE_H
#define TRAP_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "mamori/hash.h"

#define TRAP_TLSH_MAX 80    /* "T1" + 70 hex digits, and room */

struct trap_capture_file {
	char sha256[MM_SHA256_HEX + 1];
	char tlsh[TRAP_TLSH_MAX + 1];   /* "" when the data is too short or too uniform */
	uint64_t size;
	char kind[16];         /* "elf", "script" (#!), "text", "data", "empty" */
	/* For an ELF: */
	int elf_class;         /* 32 or 64; 0 when not ELF */
	char elf_machine[16];  /* "ARM", "MIPS", "x86", "x86-64", "PowerPC", "SPARC",
				  "SuperH", "m68k", "ARC", "AArch64", or "0xNNNN" */
	char elf_endian[8];    /* "little" / "big" */
	int stored;            /* 1: in the store (now or before) */
	int duplicate;         /* 1: it was already in the store */
	char why[48];          /* when not stored: "store full", "empty", an I/O error */
};

/* The C shim over libtlsh: the TLSH digest of len bytes ("T1"-prefixed
 * hex), or "" when TLSH gives none. Returns 0 (even for ""), MM_ENOMEM. */
int trap_tlsh(const uint8_t *data, size_t len, char out[TRAP_TLSH_MAX + 1]);

/* Classifies len bytes into f's kind and ELF fields (no hashing). */
void trap_capture_classify(const uint8_t *data, size_t len, struct trap_capture_file *f);

struct trap_capture;

/* dir_fd: DIR opened O_DIRECTORY (downloads/ is made in it); max_bytes:
 * the store's bound (the files already there count); max_file: the
 * largest file hashed at all. */
int trap_capture_open(int dir_fd, uint64_t max_bytes, uint64_t max_file,
		      struct trap_capture **out);
void trap_capture_close(struct trap_capture *c);

/* Hashes, classifies and stores len bytes; fills *f. Returns 0 (stored or
 * not: f->stored says), MM_ETOOBIG (over max_file: only size and kind are
 * filled), MM_ENOMEM. */
int trap_capture_add(struct trap_capture *c, const uint8_t *data, size_t len,
		     struct trap_capture_file *f);

/* Bytes and files in the store. */
void trap_capture_usage(const struct trap_capture *c, uint64_t *bytes, uint64_t *files);

#endif
