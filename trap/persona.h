/*
 * Device personas: what a mamori-trap instance looks like to the attacker.
 * Each is a folder data/trap/personas/NAME/ holding persona.conf (INI, the
 * keys below), root/ (its file tree: etc/passwd, proc/cpuinfo, proc/mounts,
 * ...), fs.meta (modes and owners), and ps.txt (the process list that ps
 * prints, one "PID USER VSZ STAT COMMAND" line per process, as BusyBox ps
 * prints them).
 *
 * persona.conf:
 *   [persona]  name, description
 *   [telnet]   banner (shown before login; may be empty), login_prompt
 *              ("login: "), password_prompt ("Password: "), login_failed
 *              ("Login incorrect"), motd (after login), shell_prompt (with
 *              \h host, \u user, \w cwd, \$ # or $: "\u@\h:\w\$ "),
 *              login_delay_ms (answer to a wrong password after this long)
 *   [system]   hostname, uname_s, uname_r, uname_v, uname_m (what uname -a
 *              prints), cpu (arm | mips | mipsel | x86 | x86_64), elf_flags,
 *              busybox_size, busybox_version ("v1.19.4 (2013-11-29 17:10:56 CST)"),
 *              applets (space-separated: what `busybox` lists and what the
 *              shell finds), applet_dirs (space-separated name:dir pairs),
 *              boot_age (seconds the device has been up when the trap starts),
 *              users (for ps and ls: root=0 ...), bogomips (the model's
 *              nominal BogoMIPS; each instance's {{bogomips}} is within 2%)
 * Values may be quoted ("# ") to keep leading or trailing blanks. In
 * banner, login_prompt and motd, {{hostname}} is the instance's host name.
 * Escapes in values: \n \r \t \\ \e (ESC) \xHH.
 *
 * Each instance varies what a fleet of the same product varies: the host
 * name's suffix (when hostname ends in "%s": six hex digits from the
 * instance seed), the cpuinfo BogoMIPS and Serial lines and the MAC
 * addresses in root/ files with the placeholder "{{mac}}"/"{{serial}}"/
 * "{{bogomips}}". The seed is given by the caller (from the config, or
 * random at start), so that tests can pin it.
 */
#ifndef TRAP_PERSONA_H
#define TRAP_PERSONA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs.h"

struct trap_persona {
	char *name;
	char *description;
	char *banner, *login_prompt, *password_prompt, *login_failed, *motd, *shell_prompt;
	unsigned login_delay_ms;
	char *hostname;          /* with the suffix filled in */
	char *uname_s, *uname_n, *uname_r, *uname_v, *uname_m; /* uname_n = hostname */
	char *cpu;
	struct trap_fs_elf elf;
	char *busybox_version;   /* as BusyBox prints it after "BusyBox " */
	char *applets;           /* NUL-separated, sorted */
	size_t napplets;
	char *ps;                /* ps.txt's lines after the header */
	time_t boot_time;        /* now - boot_age at load */
	struct trap_fs_base *base;
	char *users;             /* "root=0 daemon=1 ...": names of uids for ls and ps */
};

/*
 * Loads the persona NAME from dir (data/trap/personas), with seed for the
 * per-instance values. Returns 0, or MM_ENOTFOUND / MM_EINVAL / MM_EIO /
 * MM_ENOMEM with err saying which file and line.
 */
int trap_persona_load(const char *dir, const char *name, uint64_t seed,
		      struct trap_persona **out, char *err, size_t errlen);
void trap_persona_free(struct trap_persona *p);

/* Whether the persona's busybox has applet name (name_len bytes). */
int trap_persona_has_applet(const struct trap_persona *p, const char *name, size_t name_len);

/* Lists the persona names under dir (NUL-separated into out); returns how
 * many, or a negative MM_ error. */
int trap_persona_list(const char *dir, char *out, size_t cap);

#endif
