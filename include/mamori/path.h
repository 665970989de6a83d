/*
 * Paths on the local file system.
 *
 *	if (mm_mkdir_p("/var/spool/mamori/gw", 0700) < 0)
 *		log_warn("mkdir %s", dir);
 */
#ifndef MAMORI_PATH_H
#define MAMORI_PATH_H

#ifdef __cplusplus
extern "C" {
#endif

/* Makes dir and every missing parent with mode (the parents too, so that a
 * spool's or state folder's path is not readable by others on the way).
 * Returns 0 (also when it exists), MM_EINVAL for an empty or overlong path,
 * MM_EIO with errno set (ENOTDIR when a file stands in the way). */
int mm_mkdir_p(const char *dir, unsigned mode);

/*
 * Replaces the file path with len bytes of data so that a crash or power
 * cut leaves either the old file or the new one whole, never a part: the
 * bytes go to "PATH.tmp" (created with mode, not through a symlink), are
 * synced when sync is set, and the temporary file is renamed over path.
 * On failure the temporary file is removed and path is as it was.
 * Returns 0, MM_ETOOBIG (path too long), MM_EIO with errno set.
 *
 *	if (mm_write_atomic("/var/lib/mamori/device/sbom.json", text, len, 1, 0644) < 0)
 *		log_warn("sbom");
 */
#include <stddef.h>
int mm_write_atomic(const char *path, const void *data, size_t len, int sync, unsigned mode);

#ifdef __cplusplus
}
#endif
#endif
