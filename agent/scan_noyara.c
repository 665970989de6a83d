/*
 * The YARA half of scan.c for a mamorid built without libyara
 * (MAMORI_WITH_YARA=OFF): hashing still works, rules cannot be given.
 */
#include "mamori/error.h"
#include "mamori/log.h"

#include "report.h"

struct scan_yara {
	int unused;
};

int scan_yara_new(const char *path, struct scan_yara **out)
{
	*out = NULL;
	if (!path)
		return 0;
	log_warnx("yara rules %s: this mamorid is built without YARA", path);
	return MM_EINVAL;
}

void scan_yara_free(struct scan_yara *y)
{
	(void)y;
}

int scan_yara_fd(struct scan_yara *y, int fd, uint64_t size, int timeout_s, char *rule,
		 size_t n)
{
	(void)y;
	(void)fd;
	(void)size;
	(void)timeout_s;
	if (n > 0)
		rule[0] = '\0';
	return 0;
}
