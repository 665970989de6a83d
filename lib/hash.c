/*
 * SHA-256 of files and descriptors through OpenSSL's EVP interface (see
 * include/mamori/hash.h). The file is read with pread(2) from offset 0, so a
 * descriptor shared with a process that also reads it keeps its offset, and
 * through one fixed 64 KiB buffer on the stack, so hashing a file of any size
 * costs no allocation beyond the digest context.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mamori/error.h"
#include "mamori/hash.h"

#define READ_CHUNK (64u * 1024)

int mm_sha256_fd(int fd, uint64_t max, uint8_t out[MM_SHA256_LEN], uint64_t *size)
{
	unsigned char buf[READ_CHUNK];
	EVP_MD_CTX *ctx = NULL;
	struct stat st;
	uint64_t off = 0;
	unsigned int dlen = 0;
	int rc = MM_EIO, saved = 0;

	if (fd < 0 || out == NULL) {
		errno = EBADF;
		return MM_EIO;
	}
	if (fstat(fd, &st) == -1)
		return MM_EIO;
	/* A file known to be too big is refused before a byte of it is read. */
	if (max > 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
		return MM_ETOOBIG;
	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		saved = ENOMEM;
		goto fail;
	}
	/* Read to the end that pread finds, not to st_size: the file may grow. */
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, (off_t)off);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			goto fail;
		}
		if (n == 0)
			break;
		off += (uint64_t)n;
		if (max > 0 && off > max) {
			rc = MM_ETOOBIG;
			goto fail;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			saved = EIO;
			goto fail;
		}
	}
	if (EVP_DigestFinal_ex(ctx, out, &dlen) != 1 || dlen != MM_SHA256_LEN) {
		saved = EIO;
		goto fail;
	}
	EVP_MD_CTX_free(ctx);
	if (size)
		*size = off;
	return 0;
fail:
	EVP_MD_CTX_free(ctx);
	if (saved)
		errno = saved;
	return rc;
}

/*
 * O_NONBLOCK as well as the flags the contract names: a FIFO put where a
 * file was expected must not hang the caller in open(2); pread on it then
 * fails (ESPIPE) and the caller gets MM_EIO.
 */
int mm_sha256_file(const char *path, uint64_t max, uint8_t out[MM_SHA256_LEN], uint64_t *size)
{
	int fd, rc, saved;

	if (path == NULL) {
		errno = EINVAL;
		return MM_EIO;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) == -1)
		return MM_EIO;
	rc = mm_sha256_fd(fd, max, out, size);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

void mm_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mm_sha256_parse(const char *hex, size_t len, uint8_t out[MM_SHA256_LEN])
{
	uint8_t d[MM_SHA256_LEN];
	size_t i;

	if (hex == NULL || len != MM_SHA256_HEX)
		return MM_EINVAL;
	for (i = 0; i < MM_SHA256_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return MM_EINVAL;
		d[i] = (uint8_t)(hi << 4 | lo);
	}
	/* out is written only on success, so a caller's old value survives an error. */
	memcpy(out, d, sizeof d);
	return 0;
}
