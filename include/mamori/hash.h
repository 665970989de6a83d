/*
 * SHA-256 of files and descriptors (OpenSSL EVP), and its hex form.
 *
 *	uint8_t d[MM_SHA256_LEN]; char hex[MM_SHA256_HEX + 1];
 *	if (mm_sha256_fd(fd, 64 << 20, d, &size) == 0)
 *		mm_hex(d, sizeof d, hex);
 */
#ifndef MAMORI_HASH_H
#define MAMORI_HASH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MM_SHA256_LEN 32
#define MM_SHA256_HEX 64

/*
 * Hashes what fd holds from offset 0 (pread, so the fd's offset is not
 * moved) to its end. Files longer than max bytes (0: no bound) are refused
 * with MM_ETOOBIG without reading them. *size (may be NULL) gets the length
 * hashed. Returns 0, MM_ETOOBIG or MM_EIO.
 */
int mm_sha256_fd(int fd, uint64_t max, uint8_t out[MM_SHA256_LEN], uint64_t *size);

/* The same for a path (opened O_RDONLY|O_NOFOLLOW|O_CLOEXEC). */
int mm_sha256_file(const char *path, uint64_t max, uint8_t out[MM_SHA256_LEN], uint64_t *size);

/* n bytes as lower-case hex into out (2n + 1 bytes with the NUL). */
void mm_hex(const uint8_t *in, size_t n, char *out);

/* Parses exactly 64 hex digits (either case). 0 or MM_EINVAL. */
int mm_sha256_parse(const char *hex, size_t len, uint8_t out[MM_SHA256_LEN]);

#ifdef __cplusplus
}
#endif
#endif
