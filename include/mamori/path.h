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

#ifdef __cplusplus
}
#endif
#endif
