/*
 * What the device declares about itself and whether its settings survive a
 * power loss: the firmware version and the end of security-update support
 * (os-release VERSION_ID or IMAGE_VERSION, SUPPORT_END, as systemd's
 * os-release(5) defines them, unless the options give them), the agent's
 * state folder on a file system that keeps its content (not tmpfs or
 * ramfs), no leftovers of an interrupted write in it, and the agent's
 * configuration file in place.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "audit_int.h"
#include "mamori/clock.h"
#include "mamori/error.h"
#include "mamori/log.h"

#define OSREL_MAX (64 * 1024)
#define VALUE_MAX 128
#define STATE_ENTRIES_MAX 100000

#define TMPFS_MAGIC_ 0x01021994
#define RAMFS_MAGIC_ 0x858458f6

/*
 * The value of KEY in os-release text, unquoted ("..." or '...', with
 * backslash escapes for the double-quoted form). 1 found, 0 not.
 */
static int osrel_get(const char *text, size_t len, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key), pos = 0;

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos), *v, *end;
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - pos, o = 0;

		pos += ll + (nl != NULL);
		if (ll <= kl || memcmp(line, key, kl) != 0 || line[kl] != '=')
			continue;
		v = line + kl + 1;
		end = line + ll;
		if (end > v && end[-1] == '\r')
			end--;
		if (v < end && (*v == '"' || *v == '\'')) {
			char q = *v++;

			if (end > v && end[-1] == q)
				end--;
		}
		while (v < end && o + 1 < n) {
			if (*v == '\\' && v + 1 < end)
				v++;
			out[o++] = *v++;
		}
		out[o] = '\0';
		return 1;
	}
	return 0;
}

/* "YYYY-MM-DD" to the first second of that day (UTC). 0 or MM_EPARSE. */
static int parse_date(const char *s, int64_t *out)
{
	int y, m, d;
	char tail;

	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return MM_EPARSE;
	/* 2023-02-30 is not a date; 64-bit arithmetic keeps 2040 a date on
	 * a CPU whose time_t ends in 2038. */
	if (s[4] != '-' || s[7] != '-' || y < 1970 || d < 1 || d > mm_clock_mdays(y, m))
		return MM_EPARSE;
	*out = mm_clock_days(y, m, d) * 86400;
	return 0;
}

static void check_declared(struct audit_ctx *c)
{
	char *text = NULL, fw[VALUE_MAX] = "", end[VALUE_MAX] = "";
	const char *from = "/etc/os-release";
	size_t len = 0;
	int64_t t;

	if (audit_read(c, from, OSREL_MAX, &text, &len) != 0) {
		from = "/usr/lib/os-release";
		if (audit_read(c, from, OSREL_MAX, &text, &len) != 0) {
			text = NULL;
			len = 0;
		}
	}
	if (c->o->firmware != NULL)
		audit_copy(fw, sizeof fw, c->o->firmware);
	else if (text != NULL && !osrel_get(text, len, "VERSION_ID", fw, sizeof fw))
		osrel_get(text, len, "IMAGE_VERSION", fw, sizeof fw);
	if (c->o->support_end != NULL)
		audit_copy(end, sizeof end, c->o->support_end);
	else if (text != NULL)
		osrel_get(text, len, "SUPPORT_END", end, sizeof end);
	free(text);

	if (fw[0] == '\0')
		audit_emit(c, "device.firmware_unknown", "firmware",
			   json_pack("{s:s}", "file", from),
			   "no firmware version declared (VERSION_ID or IMAGE_VERSION of %s)",
			   from);
	if (end[0] == '\0') {
		audit_emit(c, "device.support_undeclared", "support_end",
			   json_pack("{s:s}", "file", from),
			   "no end of security-update support declared (SUPPORT_END of %s)", from);
	} else if (parse_date(end, &t) != 0) {
		audit_emit(c, "device.support_undeclared", "support_end",
			   json_pack("{s:s, s:o}", "file", from, "value", audit_jstr(end, 64)),
			   "the declared end of support is not a YYYY-MM-DD date");
	} else if (t + 86400 <= c->now) {
		/* Support lasts through the whole declared day. */
		audit_emit(c, "device.support_ended", "support_end",
			   json_pack("{s:s, s:s}", "support_end", end, "firmware", fw),
			   "security-update support ended on %s", end);
	}
}

static int tmp_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".tmp") == 0;
}

static void check_state(struct audit_ctx *c)
{
	const char *dir = c->o->state_dir;
	struct statfs sf;
	DIR *d;
	struct dirent *de;
	char path[4096];
	unsigned long seen = 0;
	int fd;

	fd = audit_open(c, dir, O_RDONLY | O_DIRECTORY);
	if (fd == -1) {
		log_warn("audit: state folder %s", dir);
		return;
	}
	if (fstatfs(fd, &sf) == 0 &&
	    ((unsigned long)sf.f_type == TMPFS_MAGIC_ || (unsigned long)sf.f_type == RAMFS_MAGIC_))
		audit_emit(c, "persist.volatile_state", dir,
			   json_pack("{s:o, s:s}", "path", audit_jstr(dir, 200), "fstype",
				     (unsigned long)sf.f_type == TMPFS_MAGIC_ ? "tmpfs" : "ramfs"),
			   "the agent's state folder is in memory and is lost with power");
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	/* Every file is written to NAME.tmp or .NAME.tmp and renamed over NAME:
	 * one left behind is a write that power loss or a crash cut short. */
	while ((de = readdir(d)) != NULL && seen++ < STATE_ENTRIES_MAX) {
		if (!tmp_name(de->d_name))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		audit_emit(c, "persist.interrupted_write", path,
			   json_pack("{s:o}", "path", audit_jstr(path, 300)),
			   "leftover of an interrupted write in the state folder");
	}
	closedir(d);
}

static void check_conf(struct audit_ctx *c)
{
	const char *p = c->o->conf_path;
	struct stat st;
	int fd = audit_open(c, p, O_PATH | O_NOFOLLOW);
	int rc = fd == -1 ? -1 : fstat(fd, &st);

	if (fd != -1)
		close(fd);
	if (rc == -1 || !S_ISREG(st.st_mode))
		audit_emit(c, "persist.config", p,
			   json_pack("{s:o, s:s}", "path", audit_jstr(p, 300), "state",
				     rc == -1 ? "missing" : "not a regular file"),
			   "the agent's configuration file is %s",
			   rc == -1 ? "missing" : "not a regular file");
}

void audit_check_device(struct audit_ctx *c)
{
	check_declared(c);
	if (c->o->state_dir != NULL)
		check_state(c);
	if (c->o->conf_path != NULL)
		check_conf(c);
}
