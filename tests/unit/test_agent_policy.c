/*
 * Unit tests of the guard's policy (agent/policy.c) and of its mountinfo
 * reader (agent/guard.c): the place decision (deny_paths on whole
 * components, the root taken off, allow_paths as exceptions, filesystem
 * magics, the overlay upper flag, V_SCAN only when a hash can matter), the
 * feed and baseline parsers with the line of the first bad line, the hash
 * decision (feed, allowlist by (sha256, size), YARA) and a feed replaced
 * only when the new one is whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mamori/error.h"
#include "mamori/hash.h"

#include "agent.h"
#include "guard.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define EXPECT(cond, ...)                              \
	do {                                           \
		if (!(cond)) {                         \
			print_error(__VA_ARGS__);      \
			print_error("\n");             \
			fail();                        \
		}                                      \
	} while (0)

#define H1 "0000000000000000000000000000000000000000000000000000000000000001"
#define H2 "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789"
#define H3 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void sha(const char *hex, uint8_t out[MM_SHA256_LEN])
{
	assert_int_equal(mm_sha256_parse(hex, strlen(hex), out), 0);
}

/* A configuration with the shipped defaults and the given overrides. */
static void conf(struct agent_conf *c, const char *root, const char *deny, const char *allow,
		 const char *fstypes)
{
	conf_defaults(c);
	if (root != NULL) {
		free(c->root);
		c->root = strdup(root);
	}
	if (deny != NULL)
		assert_int_equal(conf_list_set(&c->deny_paths, deny), 0);
	if (allow != NULL)
		assert_int_equal(conf_list_set(&c->allow_paths, allow), 0);
	if (fstypes != NULL)
		assert_int_equal(conf_list_set(&c->deny_fstypes, fstypes), 0);
}

#define EXT4 0xef53L
#define TMPFS POLICY_TMPFS_MAGIC
#define RAMFS POLICY_RAMFS_MAGIC
#define OVL POLICY_OVERLAYFS_MAGIC

static const struct path_case {
	const char *name, *root, *allow, *path;
	long magic;
	int upper;
	enum verdict v;
	const char *reason;
} path_cases[] = {
	{ "plain binary", NULL, NULL, "/bin/busybox", EXT4, 0, V_ALLOW, "" },
	{ "tmp itself", NULL, NULL, "/tmp", EXT4, 0, V_DENY, "writable" },
	{ "under tmp", NULL, NULL, "/tmp/x/dropper", EXT4, 0, V_DENY, "writable" },
	{ "tmpl is not tmp", NULL, NULL, "/tmpl/x", EXT4, 0, V_ALLOW, "" },
	{ "var/run", NULL, NULL, "/var/run/a", EXT4, 0, V_DENY, "writable" },
	{ "var/running", NULL, NULL, "/var/running", EXT4, 0, V_ALLOW, "" },
	{ "dev/shm", NULL, NULL, "/dev/shm/x", EXT4, 0, V_DENY, "writable" },
	{ "tmpfs anywhere", NULL, NULL, "/opt/x", TMPFS, 0, V_DENY, "volatile" },
	{ "ramfs anywhere", NULL, NULL, "/opt/x", RAMFS, 0, V_DENY, "volatile" },
	{ "tmpfs wins over path", NULL, NULL, "/tmp/x", TMPFS, 0, V_DENY, "volatile" },
	{ "overlay lower", NULL, NULL, "/usr/bin/x", OVL, 0, V_ALLOW, "" },
	{ "overlay upper", NULL, NULL, "/usr/bin/x", OVL, 1, V_DENY, "overlay" },
	{ "root stripped", "/srv/root", NULL, "/srv/root/tmp/x", EXT4, 0, V_DENY, "writable" },
	{ "root with slash", "/srv/root/", NULL, "/srv/root/var/tmp/x", EXT4, 0, V_DENY,
	  "writable" },
	{ "root: bin", "/srv/root", NULL, "/srv/root/bin/sh", EXT4, 0, V_ALLOW, "" },
	{ "root prefix not component", "/srv/root", NULL, "/srv/rootx/bin", EXT4, 0, V_ALLOW, "" },
	{ "outside root as is", "/srv/root", NULL, "/tmp/x", EXT4, 0, V_DENY, "writable" },
	{ "root's tmp is not /srv/tmp", "/srv/root", NULL, "/srv/tmp/x", EXT4, 0, V_ALLOW, "" },
	{ "allow exception path", NULL, "/tmp/ok", "/tmp/ok/run", EXT4, 0, V_ALLOW, "" },
	{ "allow exception fstype", NULL, "/tmp/ok", "/tmp/ok/run", TMPFS, 0, V_ALLOW, "" },
	{ "allow is a component", NULL, "/tmp/ok", "/tmp/okay", EXT4, 0, V_DENY, "writable" },
	{ "allow exception upper", NULL, "/usr", "/usr/bin/x", OVL, 1, V_ALLOW, "" },
	{ "allow under root", "/srv/root", "/tmp/ok", "/srv/root/tmp/ok/a", TMPFS, 0, V_ALLOW,
	  "" },
};

static void test_path(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(path_cases); i++) {
		const struct path_case *t = &path_cases[i];
		struct agent_conf c;
		struct policy *p;
		const char *reason = "unset";
		enum verdict v;

		conf(&c, t->root, NULL, t->allow, NULL);
		assert_int_equal(policy_new(&c, &p), 0);
		v = policy_path(p, t->path, t->magic, t->upper, &reason);
		EXPECT(v == t->v && strcmp(reason, t->reason) == 0, "%s: %s -> %d %s, want %d %s",
		       t->name, t->path, v, reason, t->v, t->reason);
		policy_free(p);
		conf_free(&c);
	}
}

static void test_path_options(void **state)
{
	struct agent_conf c;
	struct policy *p;
	const char *r;

	(void)state;
	/* No overlay upper check when it is off; devtmpfs is a tmpfs; "/" denies all. */
	conf(&c, NULL, "/", NULL, "devtmpfs");
	c.deny_overlay_upper = 0;
	assert_int_equal(policy_new(&c, &p), 0);
	assert_int_equal(policy_path(p, "/bin/sh", EXT4, 0, &r), V_DENY);
	assert_string_equal(r, "writable");
	assert_int_equal(policy_path(p, "/bin/sh", TMPFS, 0, &r), V_DENY);
	assert_string_equal(r, "volatile");
	policy_free(p);
	conf_free(&c);

	conf(&c, NULL, "/data", NULL, "ramfs");
	c.deny_overlay_upper = 0;
	assert_int_equal(policy_new(&c, &p), 0);
	assert_int_equal(policy_path(p, "/usr/x", OVL, 1, &r), V_ALLOW);
	assert_int_equal(policy_path(p, "/usr/x", TMPFS, 0, &r), V_ALLOW);
	assert_int_equal(policy_path(p, "/usr/x", RAMFS, 0, &r), V_DENY);
	policy_free(p);
	conf_free(&c);

	/* "overlay" among the fstypes turns the upper check on. */
	conf(&c, NULL, "/data", NULL, "overlay");
	c.deny_overlay_upper = 0;
	assert_int_equal(policy_new(&c, &p), 0);
	assert_int_equal(policy_path(p, "/usr/x", OVL, 1, &r), V_DENY);
	assert_string_equal(r, "overlay");
	assert_int_equal(policy_path(p, "/usr/x", OVL, 0, &r), V_ALLOW);
	policy_free(p);
	conf_free(&c);

	/* Unknown filesystem names and relative paths are refused. */
	conf(&c, NULL, NULL, NULL, "tmpfs nosuchfs");
	assert_int_equal(policy_new(&c, &p), MM_EINVALID);
	conf_free(&c);
	conf(&c, NULL, "tmp", NULL, NULL);
	assert_int_equal(policy_new(&c, &p), MM_EINVALID);
	conf_free(&c);
	assert_true(policy_fstype_known("devtmpfs"));
	assert_false(policy_fstype_known("nosuchfs"));
}

/* V_SCAN exactly when a feed entry, the allowlist or YARA can matter. */
static void test_path_scan(void **state)
{
	static const char base[] = "# mamori baseline 1\n/bin/sh\t5\t" H3 "\t0755\n";
	struct agent_conf c;
	struct policy *p;
	const char *r;

	(void)state;
	conf(&c, NULL, NULL, NULL, NULL);
	assert_int_equal(policy_new(&c, &p), 0);
	assert_int_equal(policy_path(p, "/bin/sh", EXT4, 0, &r), V_ALLOW);
	assert_int_equal(policy_parse_feed(p, "# only a comment\n\n", 18), 0);
	assert_int_equal(policy_path(p, "/bin/sh", EXT4, 0, &r), V_ALLOW);
	assert_int_equal(policy_parse_feed(p, H1 "\n", 65), 0);
	assert_int_equal(policy_path(p, "/bin/sh", EXT4, 0, &r), V_SCAN);
	/* A place that denies still denies without a hash. */
	assert_int_equal(policy_path(p, "/tmp/x", EXT4, 0, &r), V_DENY);
	policy_free(p);

	c.yara_rules = strdup("/etc/mamori/rules.yar");
	assert_int_equal(policy_new(&c, &p), 0);
	assert_int_equal(policy_path(p, "/bin/sh", EXT4, 0, &r), V_SCAN);
	policy_free(p);
	free(c.yara_rules);
	c.yara_rules = NULL;

	/* allowlist without a baseline is refused; with one, everything scans. */
	c.allowlist = 1;
	assert_int_equal(policy_new(&c, &p), MM_EINVALID);
	c.allowlist = 0;
	assert_int_equal(policy_new(&c, &p), 0);
	assert_int_equal(policy_parse_baseline(p, base, sizeof base - 1), 0);
	assert_int_equal(policy_path(p, "/bin/sh", EXT4, 0, &r), V_ALLOW);
	policy_free(p);
	conf_free(&c);
}

static const struct feed_case {
	const char *name, *text;
	int rc;
	size_t line, count;
} feed_cases[] = {
	{ "empty", "", 0, 0, 0 },
	{ "one", H1 "\n", 0, 0, 1 },
	{ "no final newline", H1, 0, 0, 1 },
	{ "name after blank", H1 " mirai.arm7\n" H2 "\tx86 bot\n", 0, 0, 2 },
	{ "comments and blanks", "# feed\n\n   \n\t# x\n" H1 "\r\n", 0, 0, 1 },
	{ "leading blanks", "  " H1 "\n", 0, 0, 1 },
	{ "duplicates once", H1 "\n" H1 " again\n", 0, 0, 1 },
	{ "short hash", "# x\n0123\n", MM_EPARSE, 2, 0 },
	{ "long hash", H1 "0\n", MM_EPARSE, 1, 0 },
	{ "not hex", H1 "\n" "g000000000000000000000000000000000000000000000000000000000000000\n",
	  MM_EPARSE, 2, 0 },
	{ "name without blank", H1 "name\n", MM_EPARSE, 1, 0 },
	{ "third line bad", H1 "\n" H2 "\nxyz\n", MM_EPARSE, 3, 0 },
};

static void test_feed_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(feed_cases); i++) {
		const struct feed_case *t = &feed_cases[i];
		struct agent_conf c;
		struct policy *p;
		int rc;

		conf(&c, NULL, NULL, NULL, NULL);
		assert_int_equal(policy_new(&c, &p), 0);
		rc = policy_parse_feed(p, t->text, strlen(t->text));
		EXPECT(rc == t->rc, "%s: rc %d, want %d", t->name, rc, t->rc);
		if (rc == 0)
			EXPECT(policy_feed_count(p) == t->count, "%s: %zu entries, want %zu",
			       t->name, policy_feed_count(p), t->count);
		else
			EXPECT(policy_error_line(p) == t->line && policy_error(p)[0] != '\0',
			       "%s: line %zu (%s), want %zu", t->name, policy_error_line(p),
			       policy_error(p), t->line);
		policy_free(p);
		conf_free(&c);
	}
}

/* A NUL inside a line is a bad line, not the end of the text. */
static void test_feed_nul(void **state)
{
	static const char text[] = H1 " a\0b\n";
	struct agent_conf c;
	struct policy *p;

	(void)state;
	conf(&c, NULL, NULL, NULL, NULL);
	assert_int_equal(policy_new(&c, &p), 0);
	assert_int_equal(policy_parse_feed(p, text, sizeof text - 1), MM_EPARSE);
	assert_int_equal(policy_error_line(p), 1);
	policy_free(p);
	conf_free(&c);
}

static const struct base_case {
	const char *name, *text;
	int rc;
	size_t line, count;
} base_cases[] = {
	{ "header only", "# mamori baseline 1\n", 0, 0, 0 },
	{ "two files", "# mamori baseline 1\n/bin/busybox\t1024\t" H1 "\t0755\n/etc/x\t0\t" H3
		       "\t0644\n",
	  0, 0, 2 },
	{ "escaped path", "# mamori baseline 1\n/a\\tb\\n\\\\c\\001\t7\t" H2 "\t4755\n", 0, 0, 1 },
	{ "no header", "/bin/sh\t1\t" H1 "\t0755\n", MM_EPARSE, 1, 0 },
	{ "wrong version", "# mamori baseline 2\n", MM_EPARSE, 1, 0 },
	{ "three fields", "# mamori baseline 1\n/bin/sh\t1\t" H1 "\n", MM_EPARSE, 2, 0 },
	{ "five fields", "# mamori baseline 1\n/bin/sh\t1\t" H1 "\t0755\tx\n", MM_EPARSE, 2, 0 },
	{ "relative path", "# mamori baseline 1\nbin/sh\t1\t" H1 "\t0755\n", MM_EPARSE, 2, 0 },
	{ "size not decimal", "# mamori baseline 1\n/bin/sh\t1k\t" H1 "\t0755\n", MM_EPARSE, 2,
	  0 },
	{ "size overflows", "# mamori baseline 1\n/bin/sh\t99999999999999999999\t" H1 "\t0755\n",
	  MM_EPARSE, 2, 0 },
	{ "mode not octal", "# mamori baseline 1\n/bin/sh\t1\t" H1 "\t0789\n", MM_EPARSE, 2, 0 },
	{ "bad hash", "# mamori baseline 1\n\n/bin/sh\t1\t" H1 "0\t0755\n", MM_EPARSE, 3, 0 },
};

static void test_baseline_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(base_cases); i++) {
		const struct base_case *t = &base_cases[i];
		struct agent_conf c;
		struct policy *p;
		int rc;

		conf(&c, NULL, NULL, NULL, NULL);
		assert_int_equal(policy_new(&c, &p), 0);
		rc = policy_parse_baseline(p, t->text, strlen(t->text));
		EXPECT(rc == t->rc, "%s: rc %d, want %d", t->name, rc, t->rc);
		if (rc == 0)
			EXPECT(policy_baseline_count(p) == t->count, "%s: %zu entries, want %zu",
			       t->name, policy_baseline_count(p), t->count);
		else
			EXPECT(policy_error_line(p) == t->line, "%s: line %zu, want %zu", t->name,
			       policy_error_line(p), t->line);
		policy_free(p);
		conf_free(&c);
	}
}

/* Writes text to a temporary file; returns its malloc'd name. */
static char *tmp_file(const char *text)
{
	char *path = strdup("/tmp/test_agent_policy.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_hash(void **state)
{
	static const char base[] = "# mamori baseline 1\n/bin/sh\t5\t" H3 "\t0755\n/bin/x\t9\t" H2
				   "\t0755\n";
	uint8_t h1[MM_SHA256_LEN], h2[MM_SHA256_LEN], h3[MM_SHA256_LEN];
	char *feed = tmp_file("# test feed\n" H1 " evil\n");
	char *bl = tmp_file(base);
	struct agent_conf c;
	struct policy *p;
	const char *r;

	(void)state;
	sha(H1, h1);
	sha(H2, h2);
	sha(H3, h3);
	conf(&c, NULL, NULL, NULL, NULL);
	c.feed = strdup(feed);
	c.baseline = strdup(bl);
	assert_int_equal(policy_new(&c, &p), 0);
	assert_int_equal(policy_feed_count(p), 1);
	assert_int_equal(policy_baseline_count(p), 2);
	/* Without the allowlist only the feed and YARA deny. */
	assert_int_equal(policy_hash(p, h1, 123, 0, &r), V_DENY);
	assert_string_equal(r, "feed");
	assert_int_equal(policy_hash(p, h3, 77, 0, &r), V_ALLOW);
	assert_string_equal(r, "");
	assert_int_equal(policy_hash(p, h3, 77, 1, &r), V_DENY);
	assert_string_equal(r, "yara");
	policy_free(p);

	/* With it, the (sha256, size) pair must be in the baseline. */
	c.allowlist = 1;
	assert_int_equal(policy_new(&c, &p), 0);
	assert_int_equal(policy_hash(p, h3, 5, 0, &r), V_ALLOW);
	assert_int_equal(policy_hash(p, h2, 9, 0, &r), V_ALLOW);
	assert_int_equal(policy_hash(p, h3, 6, 0, &r), V_DENY);
	assert_string_equal(r, "allowlist");
	assert_int_equal(policy_hash(p, h2, 5, 0, &r), V_DENY);
	assert_string_equal(r, "allowlist");
	/* The feed comes first, even for a file the baseline holds. */
	assert_int_equal(policy_parse_feed(p, H3 "\n", 65), 0);
	assert_int_equal(policy_hash(p, h3, 5, 0, &r), V_DENY);
	assert_string_equal(r, "feed");
	policy_free(p);

	unlink(feed);
	unlink(bl);
	free(feed);
	free(bl);
	conf_free(&c);
}

/* A reload replaces the feed when whole, and keeps the old one otherwise. */
static void test_reload(void **state)
{
	uint8_t h1[MM_SHA256_LEN], h2[MM_SHA256_LEN];
	char *good = tmp_file(H1 "\n" H2 "\n");
	char *bad = tmp_file(H2 "\n# fine\nnot a hash\n");
	struct agent_conf c;
	struct policy *p;
	const char *r;

	(void)state;
	sha(H1, h1);
	sha(H2, h2);
	conf(&c, NULL, NULL, NULL, NULL);
	assert_int_equal(policy_new(&c, &p), 0);
	assert_int_equal(policy_reload_feed(p, good), 0);
	assert_int_equal(policy_feed_count(p), 2);
	assert_int_equal(policy_reload_feed(p, bad), MM_EPARSE);
	assert_int_equal(policy_error_line(p), 3);
	assert_int_equal(policy_feed_count(p), 2);
	assert_int_equal(policy_hash(p, h1, 0, 0, &r), V_DENY);
	assert_int_equal(policy_reload_feed(p, "/nonexistent/feed"), MM_EIO);
	assert_int_equal(policy_feed_count(p), 2);
	assert_int_equal(policy_parse_feed(p, H2 "\n", 65), 0);
	assert_int_equal(policy_hash(p, h1, 0, 0, &r), V_ALLOW);
	assert_int_equal(policy_hash(p, h2, 0, 0, &r), V_DENY);
	policy_free(p);

	/* policy_new refuses a bad feed outright. */
	c.feed = strdup(bad);
	assert_int_equal(policy_new(&c, &p), MM_EPARSE);
	unlink(good);
	unlink(bad);
	free(good);
	free(bad);
	conf_free(&c);
}

/* Many entries: the set grows and finds every one, and no other. */
static void test_feed_many(void **state)
{
	const size_t n = 5000;
	char *text = malloc(n * 65 + 1), hex[MM_SHA256_HEX + 1];
	uint8_t d[MM_SHA256_LEN];
	struct agent_conf c;
	struct policy *p;
	const char *r;

	(void)state;
	assert_non_null(text);
	for (size_t i = 0; i < n; i++) {
		memset(d, 0, sizeof d);
		memcpy(d, &i, sizeof i);
		d[31] = 0xaa;
		mm_hex(d, sizeof d, hex);
		memcpy(text + i * 65, hex, 64);
		text[i * 65 + 64] = '\n';
	}
	conf(&c, NULL, NULL, NULL, NULL);
	assert_int_equal(policy_new(&c, &p), 0);
	assert_int_equal(policy_parse_feed(p, text, n * 65), 0);
	assert_int_equal(policy_feed_count(p), n);
	for (size_t i = 0; i < n + 100; i++) {
		memset(d, 0, sizeof d);
		memcpy(d, &i, sizeof i);
		d[31] = 0xaa;
		EXPECT(policy_hash(p, d, 0, 0, &r) == (i < n ? V_DENY : V_ALLOW), "entry %zu", i);
	}
	policy_free(p);
	conf_free(&c);
	free(text);
}

struct mounts {
	struct mnt_info m[8];
	size_t n;
};

static void collect(const struct mnt_info *m, void *arg)
{
	struct mounts *ms = arg;

	if (ms->n < NELEM(ms->m))
		ms->m[ms->n++] = *m;
}

static void test_mountinfo(void **state)
{
	static const char text[] =
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
		"30 22 0:25 / /tmp rw,nosuid shared:5 master:2 - tmpfs tmpfs rw,size=100k\n"
		"31 22 0:26 / /srv/my\\040root rw - overlay overlay "
		"rw,lowerdir=/lo,upperdir=/up\\054per,workdir=/work\n"
		"bad line\n"
		"32 22 0:27 / /x rw - \n"
		"33 22 0:28 / relative rw - ext4 /dev/sdb rw\n"
		"34 22 0:29 / /proc rw,nosuid - proc proc rw";
	struct mounts ms = { .n = 0 };

	(void)state;
	assert_int_equal(mountinfo_parse(text, sizeof text - 1, collect, &ms), 4);
	assert_int_equal(ms.n, 4);
	assert_int_equal(ms.m[0].id, 22);
	assert_string_equal(ms.m[0].point, "/");
	assert_string_equal(ms.m[0].fstype, "ext4");
	assert_string_equal(ms.m[0].upperdir, "");
	assert_string_equal(ms.m[1].point, "/tmp");
	assert_string_equal(ms.m[1].fstype, "tmpfs");
	assert_string_equal(ms.m[2].point, "/srv/my root");
	assert_string_equal(ms.m[2].fstype, "overlay");
	assert_string_equal(ms.m[2].upperdir, "/up,per");
	assert_int_equal(ms.m[3].id, 34);
	assert_string_equal(ms.m[3].fstype, "proc");
	/* Every prefix of the text parses without reading past it. */
	for (size_t i = 0; i < sizeof text - 1; i++)
		(void)mountinfo_parse(text, i, NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),        cmocka_unit_test(test_path_options),
		cmocka_unit_test(test_path_scan),   cmocka_unit_test(test_feed_parse),
		cmocka_unit_test(test_feed_nul),    cmocka_unit_test(test_baseline_parse),
		cmocka_unit_test(test_hash),        cmocka_unit_test(test_reload),
		cmocka_unit_test(test_feed_many),   cmocka_unit_test(test_mountinfo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
