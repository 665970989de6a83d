/*
 * Unit tests of trap/record.c: a recording is an asciicast v2 file that
 * Debian's asciinema reads, whose output (`asciinema cat`) is byte for
 * byte what the session sent, with U+FFFD for what was not UTF-8 and
 * characters split between writes joined again; input is recorded as "i"
 * events; the file stays within its bound and ends with a note saying
 * so; a session id that could name another file is refused.
 */
#include <fcntl.h>
#include <limits.h>
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
#include <jansson.h>

#include "event.h"
#include "mamori/error.h"

#define FFFD "\xef\xbf\xbd"

static void make_dir(char *path, size_t n)
{
	snprintf(path, n, "/tmp/test_trap_record.XXXXXX");
	assert_non_null(mkdtemp(path));
}

static void remove_dir(const char *path)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* The whole file in a malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* What the session does, write by write. */
struct step {
	char type;
	const char *data;
	size_t len;
};

#define S(t, lit) {t, lit, sizeof lit - 1}

static const struct step session[] = {
	S('o', "\xff\xfb\x01login: "), /* IAC WILL ECHO is the telnet layer's; here just bytes */
	S('i', "root\r"),
	S('o', "Password: "),
	S('i', "xc3511\r"),
	S('o', "\r\nBusyBox v1.22.1 (2017-01-10 14:24:50 CST) built-in shell (ash)\r\n"),
	S('o', "\x1b[1;32m# \x1b[0m"),
	S('i', "/bin/busybox MIRAI\r"),
	S('o', "MIRAI: applet not found\r\n"),
	S('o', "bad \xc0\xaf bytes \xed\xa0\x80\r\n"),
	S('o', "caf\xc3"), /* a character split between two writes */
	S('o', "\xa9 \xe2\x82"),
	S('o', "\xac\r\n"),
	S('o', "cut \xe2\x82"), /* begun, and not continued */
	S('o', "A\r\n"),
	S('o', "tab\tquote\" backslash\\ nul\0end\r\n"),
	S('o', "last \xf0\x9f"), /* cut at the very end */
};

/* What asciinema prints for the "o" steps above. */
static const char want_output[] =
	FFFD FFFD "\x01login: "
	"Password: "
	"\r\nBusyBox v1.22.1 (2017-01-10 14:24:50 CST) built-in shell (ash)\r\n"
	"\x1b[1;32m# \x1b[0m"
	"MIRAI: applet not found\r\n"
	"bad " FFFD FFFD " bytes " FFFD FFFD FFFD "\r\n"
	"caf\xc3\xa9 \xe2\x82\xac\r\n"
	"cut " FFFD "A\r\n"
	"tab\tquote\" backslash\\ nul\0end\r\n"
	"last " FFFD;

static const char *want_input[] = {"root\r", "xc3511\r", "/bin/busybox MIRAI\r"};

static void record_session(int dfd, const char *id, char *path, uint64_t *bytes)
{
	struct trap_record *r;
	size_t i;

	assert_int_equal(trap_record_open(dfd, id, 100, 30, "xterm-256color", 1 << 20, &r), 0);
	for (i = 0; i < sizeof session / sizeof session[0]; i++)
		assert_int_equal(trap_record_write(r, session[i].type, session[i].data, session[i].len),
				 0);
	trap_record_close(r, bytes, path);
}

/* The file parsed line by line: the header's members, the events in order
 * with times that never go back, and the text of each direction. */
static void test_file(void **state)
{
	char dir[64], path[64], full[PATH_MAX];
	char *buf, *line, *next;
	size_t len, out_len = 0, n_in = 0;
	char out[4096];
	uint64_t bytes;
	double last = 0;
	int dfd, first = 1;
	struct stat st;

	(void)state;
	make_dir(dir, sizeof dir);
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	record_session(dfd, "0123456789ab", path, &bytes);
	assert_string_equal(path, "tty/0123456789ab.cast");
	snprintf(full, sizeof full, "%s/%s", dir, path);
	assert_int_equal(stat(full, &st), 0);
	assert_int_equal((uint64_t)st.st_size, bytes);
	assert_int_equal(st.st_mode & 0777, 0600);
	buf = slurp(full, &len);
	assert_int_equal(buf[len - 1], '\n');
	for (line = buf; line < buf + len; line = next) {
		json_error_t je;
		json_t *j;

		next = strchr(line, '\n');
		assert_non_null(next);
		*next++ = '\0';
		if ((j = json_loads(line, JSON_ALLOW_NUL, &je)) == NULL)
			fail_msg("not JSON: %s: %s", je.text, line);
		if (first) {
			json_t *env = json_object_get(j, "env");

			assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
			assert_int_equal(json_integer_value(json_object_get(j, "width")), 100);
			assert_int_equal(json_integer_value(json_object_get(j, "height")), 30);
			assert_true(json_integer_value(json_object_get(j, "timestamp")) > 1600000000);
			assert_string_equal(json_string_value(json_object_get(env, "TERM")),
					    "xterm-256color");
			assert_string_equal(json_string_value(json_object_get(env, "SHELL")),
					    "/bin/sh");
			assert_string_equal(json_string_value(json_object_get(j, "title")),
					    "session 0123456789ab");
			first = 0;
		} else {
			double t = json_number_value(json_array_get(j, 0));
			const char *type = json_string_value(json_array_get(j, 1));
			json_t *text = json_array_get(j, 2);

			assert_int_equal(json_array_size(j), 3);
			assert_true(json_is_real(json_array_get(j, 0)));
			assert_true(t >= last);
			last = t;
			assert_non_null(type);
			assert_true(json_is_string(text));
			if (strcmp(type, "o") == 0) {
				assert_true(out_len + json_string_length(text) <= sizeof out);
				memcpy(out + out_len, json_string_value(text), json_string_length(text));
				out_len += json_string_length(text);
			} else {
				assert_string_equal(type, "i");
				assert_true(n_in < 3);
				assert_string_equal(json_string_value(text), want_input[n_in]);
				n_in++;
			}
		}
		json_decref(j);
	}
	assert_int_equal(n_in, 3);
	assert_int_equal(out_len, sizeof want_output - 1);
	assert_memory_equal(out, want_output, out_len);
	free(buf);
	close(dfd);
	remove_dir(dir);
}

/* asciinema itself reads the file and prints the output as written.
 * `asciinema cat` wants a terminal, which script(1) gives it; its output
 * goes to a file, past the terminal's line discipline. */
static void test_asciinema_cat(void **state)
{
	char dir[64], path[64], cmd[PATH_MAX * 3];
	char *got;
	size_t len;
	uint64_t bytes;
	int dfd;

	(void)state;
	if (access("/usr/bin/asciinema", X_OK) != 0 || access("/usr/bin/script", X_OK) != 0)
		skip();
	make_dir(dir, sizeof dir);
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	record_session(dfd, "fedcba987654", path, &bytes);
	snprintf(cmd, sizeof cmd,
		 "ASCIINEMA_CONFIG_HOME='%s/cfg' script -q -e -c "
		 "\"asciinema cat '%s/%s' > '%s/out'\" /dev/null < /dev/null > /dev/null 2>&1",
		 dir, dir, path, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "%s/out", dir);
	got = slurp(cmd, &len);
	assert_int_equal(len, sizeof want_output - 1);
	assert_memory_equal(got, want_output, len);
	free(got);
	close(dfd);
	remove_dir(dir);
}

/* Past max_bytes nothing more is recorded; the last line says why, and the
 * file is within the bound. */
static void test_bound(void **state)
{
	static const uint64_t bounds[] = {600, 1000, 4096};
	char dir[64], path[64], full[PATH_MAX];
	size_t b;
	int dfd;

	(void)state;
	make_dir(dir, sizeof dir);
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	for (b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
		struct trap_record *r;
		char id[16], *buf, *last;
		uint64_t bytes;
		size_t len;
		int i;

		snprintf(id, sizeof id, "bound%zu", b);
		assert_int_equal(trap_record_open(dfd, id, 80, 24, NULL, bounds[b], &r), 0);
		for (i = 0; i < 200; i++)
			assert_int_equal(trap_record_write(r, 'o', "0123456789abcdefghij\r\n", 22),
					 0);
		trap_record_close(r, &bytes, path);
		snprintf(full, sizeof full, "%s/%s", dir, path);
		buf = slurp(full, &len);
		assert_int_equal(len, bytes);
		assert_true(bytes <= bounds[b]);
		assert_true(bytes > bounds[b] - 200); /* it was filled, not stopped early */
		buf[len - 1] = '\0';
		last = strrchr(buf, '\n');
		assert_non_null(last);
		assert_non_null(strstr(last, "recording stopped"));
		assert_non_null(strstr(buf, "\"TERM\":\"vt100\"")); /* no TERM given */
		free(buf);
	}
	close(dfd);
	remove_dir(dir);
}

static void test_refused(void **state)
{
	static const struct {
		const char *session;
		uint64_t max;
	} t[] = {
		{"../escape", 4096}, {"a/b", 4096}, {"", 4096},
		{"0123456789abcdef0123456789abcdef0", 4096}, {"ok", 0},
	};
	struct trap_record *r;
	char dir[64];
	size_t i;
	int dfd;

	(void)state;
	make_dir(dir, sizeof dir);
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		assert_int_equal(trap_record_open(dfd, t[i].session, 80, 24, "vt100", t[i].max, &r),
				 MM_EINVAL);
	/* A session's recording is never overwritten. */
	assert_int_equal(trap_record_open(dfd, "same", 80, 24, "vt100", 4096, &r), 0);
	assert_int_equal(trap_record_write(r, 'x', "a", 1), MM_EINVAL);
	trap_record_close(r, NULL, NULL);
	assert_int_equal(trap_record_open(dfd, "same", 80, 24, "vt100", 4096, &r), MM_EIO);
	close(dfd);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_asciinema_cat),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
