/*
 * Unit tests of trap/persona.c and trap/elf.c: each shipped persona loads;
 * its /proc/cpuinfo names its CPU with the placeholders filled, its
 * /proc/mounts has a read-only squashfs root and the writable mounts
 * Mirai's loader probes (whose directories exist), and /bin/echo starts
 * with an ELF header of the persona's class, byte order and machine; two
 * seeds give two devices (host name, serial, MAC, BogoMIPS) and one seed
 * the same device again; escapes and quotes in persona.conf are decoded;
 * broken personas are refused with the file named.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mamori/error.h"

#include "fs.h"
#include "persona.h"

#define PERSONAS MAMORI_SRCDIR "/data/trap/personas"

struct want {
	const char *name;
	const char *cpuinfo_word;    /* a line cpuinfo must have */
	const char *uname_m;
	uint8_t ei_data;
	uint16_t e_machine;
	uint32_t e_flags;
	const char *host_prefix;
	const char *writable[4];     /* mount points where a file can be made */
	int has_wget, has_tftp;
};

static const struct want personas[] = {
	{"dvr-arm", "Processor\t: ARMv7 Processor rev 1 (v7l)", "armv7l", ELFDATA2LSB, EM_ARM,
	 0x5000200, "dvr", {"/var", "/dev", "/mnt/mtd", "/tmp"}, 0, 1},
	{"ipcam-arm", "Processor\t: ARM926EJ-S rev 5 (v5l)", "armv5tejl", ELFDATA2LSB, EM_ARM,
	 0x5000000, "ipcam", {"/tmp", "/var", "/dev", "/mnt/config"}, 1, 0},
	{"router-mips", "cpu model\t\t: MIPS 24Kc V7.4", "mips", ELFDATA2MSB, EM_MIPS,
	 0x70001007, "router", {"/tmp", "/var", "/dev", NULL}, 1, 1},
};

/* The whole of a file of the view, NUL-terminated. */
static size_t slurp(struct trap_fs *fs, const char *path, char *buf, size_t cap)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = trap_fs_read(fs, "/", path, got, buf + got, cap - 1 - got);

		assert_true(n >= 0);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

static const char *line_of(const char *text, const char *prefix, char *out, size_t cap)
{
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			snprintf(out, cap, "%.*s", (int)len, p);
			return out;
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static void test_shipped(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof personas / sizeof personas[0]; i++) {
		const struct want *w = &personas[i];
		struct trap_persona *p = NULL;
		struct trap_fs *fs = NULL;
		struct trap_fs_stat st;
		char err[256], buf[8192], line[256];
		uint8_t hdr[64], want_hdr[128];
		uint64_t id;

		if (trap_persona_load(PERSONAS, w->name, 42, &p, err, sizeof err) != 0)
			fail_msg("%s: %s", w->name, err);
		assert_string_equal(p->name, w->name);
		assert_string_equal(p->uname_m, w->uname_m);
		assert_string_equal(p->uname_n, p->hostname);
		assert_int_equal(strncmp(p->hostname, w->host_prefix, strlen(w->host_prefix)), 0);
		assert_int_equal(strlen(p->hostname), strlen(w->host_prefix) + 6);
		assert_true(trap_persona_has_applet(p, "echo", 4));
		assert_true(trap_persona_has_applet(p, "cat", 3));
		assert_false(trap_persona_has_applet(p, "MIRAI", 5));
		assert_false(trap_persona_has_applet(p, "ec", 2));
		assert_int_equal(trap_persona_has_applet(p, "wget", 4), w->has_wget);
		assert_int_equal(trap_persona_has_applet(p, "tftp", 4), w->has_tftp);
		assert_non_null(strstr(p->ps, "init"));
		assert_null(strstr(p->ps, "PID"));
		assert_true(p->boot_time < time(NULL));
		assert_int_equal(trap_fs_new(p->base, 1 << 20, &fs), 0);

		/* cpuinfo: the CPU's line, the placeholders filled. */
		slurp(fs, "/proc/cpuinfo", buf, sizeof buf);
		assert_non_null(strstr(buf, w->cpuinfo_word));
		assert_null(strstr(buf, "{{"));
		assert_non_null(line_of(buf, "BogoMIPS", line, sizeof line));
		assert_null(strstr(buf, "GenuineIntel"));
		if (p->elf.machine == EM_ARM)
			assert_non_null(line_of(buf, "Serial", line, sizeof line));
		else
			assert_non_null(line_of(buf, "system type", line, sizeof line));

		/* mounts: root read-only; each writable mount takes a file. */
		slurp(fs, "/proc/mounts", buf, sizeof buf);
		assert_non_null(strstr(buf, "/dev/root / squashfs ro"));
		assert_non_null(strstr(buf, "proc /proc proc"));
		assert_int_equal(trap_fs_open_write(fs, "/", "/.nippon", 0, 0644, &id), -EROFS);
		assert_int_equal(trap_fs_open_write(fs, "/", "/bin/.nippon", 0, 0644, &id), -EROFS);
		for (k = 0; k < 4 && w->writable[k]; k++) {
			char f[64];

			assert_int_equal(trap_fs_stat(fs, "/", w->writable[k], &st), 0);
			assert_int_equal(st.type, TRAP_FS_DIR);
			snprintf(f, sizeof f, "%s/.nippon", w->writable[k]);
			assert_int_equal(trap_fs_open_write(fs, "/", f, 0, 0644, &id), 0);
			assert_int_equal(trap_fs_unlink(fs, "/", f), 0);
		}

		/* /bin/echo: a link to busybox, whose bytes start with the header. */
		assert_int_equal(trap_fs_lstat(fs, "/", "/bin/echo", &st), 0);
		assert_int_equal(st.type, TRAP_FS_LNK);
		assert_int_equal(trap_fs_stat(fs, "/", "/bin/echo", &st), 0);
		assert_int_equal(st.type, TRAP_FS_REG);
		assert_int_equal(st.size, p->elf.size);
		assert_int_equal(trap_fs_read(fs, "/", "/bin/echo", 0, hdr, sizeof hdr),
				 sizeof hdr);
		assert_memory_equal(hdr, ELFMAG, SELFMAG);
		assert_int_equal(hdr[EI_CLASS], ELFCLASS32);
		assert_int_equal(hdr[EI_DATA], w->ei_data);
		if (w->ei_data == ELFDATA2LSB) {
			assert_int_equal(hdr[18] | hdr[19] << 8, w->e_machine);
			assert_int_equal((uint32_t)hdr[36] | (uint32_t)hdr[37] << 8 |
					 (uint32_t)hdr[38] << 16 | (uint32_t)hdr[39] << 24,
					 w->e_flags);
		} else {
			assert_int_equal(hdr[18] << 8 | hdr[19], w->e_machine);
			assert_int_equal((uint32_t)hdr[36] << 24 | (uint32_t)hdr[37] << 16 |
					 (uint32_t)hdr[38] << 8 | (uint32_t)hdr[39], w->e_flags);
		}
		assert_int_equal(hdr[16 + (w->ei_data == ELFDATA2MSB)], ET_EXEC);
		trap_fs_elf_header(&p->elf, want_hdr);
		assert_memory_equal(hdr, want_hdr, sizeof hdr);

		/* /etc/hostname where there is one is the host name. */
		if (trap_fs_stat(fs, "/", "/etc/hostname", &st) == 0) {
			slurp(fs, "/etc/hostname", buf, sizeof buf);
			assert_int_equal(strncmp(buf, p->hostname, strlen(p->hostname)), 0);
		}
		slurp(fs, "/etc/passwd", buf, sizeof buf);
		assert_int_equal(strncmp(buf, "root:", 5), 0);
		assert_null(strstr(buf, "phil:"));
		assert_null(strstr(buf, "richard:"));
		assert_int_equal(trap_fs_stat(fs, "/", "/etc/shadow", &st), 0);
		assert_int_equal(st.mode, 0600);
		assert_int_equal(trap_fs_stat(fs, "/", "/dev/null", &st), 0);
		assert_int_equal(st.type, TRAP_FS_CHR);
		assert_int_equal(trap_fs_stat(fs, "/", "/var/run", &st), 0);
		assert_int_equal(trap_fs_stat(fs, "/", "/usr/sbin", &st), 0);
		assert_int_equal(trap_fs_stat(fs, "/", "/.keep", &st), -ENOENT);
		trap_fs_free(fs);
		trap_persona_free(p);
	}
}

/* The lines of cpuinfo that a seed decides. */
static void seeded(const char *name, uint64_t seed, char *host, char *cpu, size_t cap)
{
	struct trap_persona *p = NULL;
	struct trap_fs *fs = NULL;
	char err[256];

	if (trap_persona_load(PERSONAS, name, seed, &p, err, sizeof err) != 0)
		fail_msg("%s: %s", name, err);
	snprintf(host, 64, "%s", p->hostname);
	assert_int_equal(trap_fs_new(p->base, 1 << 16, &fs), 0);
	slurp(fs, "/proc/cpuinfo", cpu, cap);
	trap_fs_free(fs);
	trap_persona_free(p);
}

static void test_seed(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof personas / sizeof personas[0]; i++) {
		char h1[64], h2[64], h3[64], c1[4096], c2[4096], c3[4096], l1[128], l2[128];

		seeded(personas[i].name, 101, h1, c1, sizeof c1);
		seeded(personas[i].name, 202, h2, c2, sizeof c2);
		seeded(personas[i].name, 101, h3, c3, sizeof c3);
		assert_string_not_equal(h1, h2);
		assert_string_equal(h1, h3);
		assert_string_equal(c1, c3);
		assert_string_not_equal(c1, c2);
		assert_non_null(line_of(c1, "BogoMIPS", l1, sizeof l1));
		assert_non_null(line_of(c2, "BogoMIPS", l2, sizeof l2));
		assert_string_not_equal(l1, l2);
		if (line_of(c1, "Serial", l1, sizeof l1)) {
			assert_non_null(line_of(c2, "Serial", l2, sizeof l2));
			assert_string_not_equal(l1, l2);
		}
	}
}

static void test_bogomips_near(void **state)
{
	struct trap_persona *p = NULL;
	struct trap_fs *fs = NULL;
	char err[256], cpu[4096], line[128];
	uint64_t seed;

	(void)state;
	for (seed = 1; seed < 40; seed += 3) {
		double v;

		assert_int_equal(trap_persona_load(PERSONAS, "ipcam-arm", seed, &p, err,
						   sizeof err), 0);
		assert_int_equal(trap_fs_new(p->base, 1 << 16, &fs), 0);
		slurp(fs, "/proc/cpuinfo", cpu, sizeof cpu);
		assert_non_null(line_of(cpu, "BogoMIPS", line, sizeof line));
		v = strtod(strchr(line, ':') + 1, NULL);
		assert_true(v > 218.72 * 0.98 && v < 218.72 * 1.02);
		trap_fs_free(fs);
		trap_persona_free(p);
	}
}

static void test_list(void **state)
{
	char names[256];
	int n;

	(void)state;
	n = trap_persona_list(PERSONAS, names, sizeof names);
	assert_int_equal(n, 3);
	assert_string_equal(names, "dvr-arm");
	assert_string_equal(names + 8, "ipcam-arm");
	assert_string_equal(names + 18, "router-mips");
	assert_int_equal(trap_persona_list(PERSONAS, names, 10), MM_EFULL);
	assert_int_equal(trap_persona_list("/nonexistent-personas", names, sizeof names),
			 MM_ENOTFOUND);
}

/* A persona of our own in a temporary folder. */
static char tmpdir[] = "/tmp/mamori-test-persona.XXXXXX";

static void put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static const char conf_head[] =
	"[persona]\nname = t\ndescription = test\n"
	"[telnet]\nbanner = \"\\n  Welcome to {{hostname}}\\x21\\n\"\n"
	"login_prompt = \"login: \"\npassword_prompt = \"Password: \"\n"
	"login_failed = Login incorrect\nmotd = \\e[0m\\tok\\\\\n"
	"shell_prompt = \"\\u@\\h:\\w\\$ \"\n"
	"login_delay_ms = 10\n";
static const char conf_sys[] =
	"[system]\nhostname = box%s\nuname_s = Linux\nuname_r = 4.4\nuname_v = #1\n"
	"uname_m = mips\ncpu = mipsel\nbusybox_size = 64K\nbusybox_version = v1.2\n"
	"bogomips = 100.5\nboot_age = 100\nusers = root=0\n"
	"applets = sh ls cat sh [ ifconfig\napplet_dirs = ifconfig:sbin [:usr/bin\n";

static void make_persona(const char *extra_sys)
{
	char conf[2048];

	snprintf(conf, sizeof conf, "%s%s%s", conf_head, conf_sys, extra_sys);
	put("t/persona.conf", conf);
}

static int setup_tmp(void **state)
{
	char p[512];

	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "%s", "/tmp/mamori-test-persona.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(p, sizeof p, "%s/t", tmpdir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/t/root", tmpdir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/t/root/etc", tmpdir);
	assert_int_equal(mkdir(p, 0755), 0);
	put("t/root/etc/motd", "host {{hostname}} mac {{mac}}\n");
	put("t/ps.txt", "  PID USER       VSZ STAT COMMAND\n    1 root      1000 S    init\n");
	put("t/fs.meta", "/dev/null 020666 0 0\n/tmp 041777 0 0\n");
	return 0;
}

static int teardown_tmp(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_conf_values(void **state)
{
	struct trap_persona *p = NULL;
	struct trap_fs *fs = NULL;
	struct trap_fs_stat st;
	char err[256], buf[256], mac[32];
	const char *a;
	uint8_t hdr[20];

	(void)state;
	make_persona("");
	if (trap_persona_load(tmpdir, "t", 7, &p, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(strlen(p->hostname), 9);
	snprintf(buf, sizeof buf, "\n  Welcome to %s!\n", p->hostname);
	assert_string_equal(p->banner, buf);
	assert_string_equal(p->login_prompt, "login: ");
	assert_string_equal(p->motd, "\033[0m\tok\\");
	assert_string_equal(p->shell_prompt, "\\u@\\h:\\w\\$ ");
	assert_int_equal(p->login_delay_ms, 10);
	assert_int_equal(p->elf.size, 65536);
	assert_int_equal(p->elf.data, ELFDATA2LSB);
	assert_int_equal(p->elf.machine, EM_MIPS);
	assert_string_equal(p->users, "root=0");
	/* Sorted, without the repeated sh. */
	assert_int_equal(p->napplets, 5);
	a = p->applets;
	assert_string_equal(a, "[");
	a += strlen(a) + 1;
	assert_string_equal(a, "cat");
	assert_int_equal(strcmp(p->ps, "    1 root      1000 S    init\n"), 0);
	assert_int_equal(trap_fs_new(p->base, 4096, &fs), 0);
	slurp(fs, "/etc/motd", buf, sizeof buf);
	assert_int_equal(sscanf(buf, "host %*s mac %31s", mac), 1);
	assert_int_equal(strlen(mac), 17);
	assert_int_equal(strncmp(buf + 5, p->hostname, strlen(p->hostname)), 0);
	/* The host name ends with the end of the MAC address. */
	assert_int_equal(strncasecmp(p->hostname + 3, "", 0), 0);
	{
		char tail[7];

		snprintf(tail, sizeof tail, "%c%c%c%c%c%c", mac[9], mac[10], mac[12], mac[13],
			 mac[15], mac[16]);
		assert_int_equal(strcasecmp(p->hostname + 3, tail), 0);
	}
	assert_int_equal(trap_fs_readlink(fs, "/", "/sbin/ifconfig", buf, sizeof buf), 0);
	assert_string_equal(buf, "../bin/busybox");
	assert_int_equal(trap_fs_readlink(fs, "/", "/usr/bin/[", buf, sizeof buf), 0);
	assert_string_equal(buf, "../../bin/busybox");
	assert_int_equal(trap_fs_readlink(fs, "/", "/bin/ls", buf, sizeof buf), 0);
	assert_string_equal(buf, "busybox");
	assert_int_equal(trap_fs_stat(fs, "/", "/tmp", &st), 0);
	assert_int_equal(st.mode, 01777);
	assert_int_equal(trap_fs_read(fs, "/", "/bin/sh", 0, hdr, sizeof hdr), sizeof hdr);
	assert_int_equal(hdr[EI_DATA], ELFDATA2LSB);
	assert_int_equal(hdr[18], EM_MIPS);
	trap_fs_free(fs);
	trap_persona_free(p);
}

static void test_refused(void **state)
{
	static const struct {
		const char *extra;
		int rc;
	} cases[] = {
		{"cpu = sparc\n", MM_EINVAL},          /* given twice */
		{"frobnicate = 1\n", MM_EINVAL},       /* unknown key */
		{"elf_flags = 0x1ffffffff\n", MM_EINVAL},
	};
	struct trap_persona *p = NULL;
	char err[256], conf[2048];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		make_persona(cases[i].extra);
		assert_int_equal(trap_persona_load(tmpdir, "t", 1, &p, err, sizeof err),
				 cases[i].rc);
		assert_non_null(strstr(err, "persona.conf"));
	}
	/* An unknown CPU, and a placeholder nobody fills. */
	snprintf(conf, sizeof conf, "%s%s", conf_head, conf_sys);
	*strstr(conf, "cpu = mipsel") = '#';
	strncat(conf, "cpu = sparc\n", sizeof conf - strlen(conf) - 1);
	put("t/persona.conf", conf);
	assert_int_equal(trap_persona_load(tmpdir, "t", 1, &p, err, sizeof err), MM_EINVAL);
	assert_non_null(strstr(err, "sparc"));
	make_persona("");
	put("t/root/etc/issue", "{{vendor}}\n");
	assert_int_equal(trap_persona_load(tmpdir, "t", 1, &p, err, sizeof err), MM_EINVAL);
	assert_non_null(strstr(err, "/etc/issue"));
	put("t/root/etc/issue", "plain\n");
	assert_int_equal(trap_persona_load(tmpdir, "t", 1, &p, err, sizeof err), 0);
	trap_persona_free(p);
	assert_int_equal(trap_persona_load(tmpdir, "nope", 1, &p, err, sizeof err), MM_ENOTFOUND);
	assert_int_equal(trap_persona_load(tmpdir, "../t", 1, &p, err, sizeof err), MM_EINVAL);
	/* A missing key. */
	put("t/persona.conf", conf_head);
	assert_int_equal(trap_persona_load(tmpdir, "t", 1, &p, err, sizeof err), MM_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_bogomips_near),
		cmocka_unit_test(test_list),
		cmocka_unit_test_setup_teardown(test_conf_values, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_refused, setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
