/* Paths on the local file system (include/mamori/path.h). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "mamori/error.h"
#include "mamori/path.h"

int mm_mkdir_p(const char *dir, unsigned mode)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(dir);
	struct stat st;

	if (n == 0 || n >= sizeof buf)
		return MM_EINVAL;
	memcpy(buf, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] == '/' || buf[i] == '\0') {
			char c = buf[i];
			buf[i] = '\0';
			if (mkdir(buf, (mode_t)mode) < 0 &&
			    (errno != EEXIST || stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))) {
				if (errno == EEXIST)
					errno = ENOTDIR; /* a file stands where a folder must */
				return MM_EIO;
			}
			buf[i] = c;
		}
	}
	return 0;
}
