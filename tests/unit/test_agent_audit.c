/*
 * The audit (agent/audit*.c): the shadow and sshd_config parsers, default
 * passwords found with crypt(3) in hashes made here (yescrypt, SHA-512 and
 * MD5 crypt, salts from crypt_gensalt_rn), the finding table (every id has a
 * clause and is documented in docs/formats/audit.md), and a finding as JSON.
 */
#include <crypt.h>
#include <jansson.h>
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

#include "audit.h"
#include "audit_int.h"
#include "mamori/error.h"

/* ---- audit_parse_shadow ---- */

static void collect(const char *user, const char *hash, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 1024 - n, "%s=%s;", user, hash);
}

static void test_parse_shadow(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *want;
	} cases[] = {
		{"root:$6$s$h:19000:0:99999:7:::\n", 1, "root=$6$s$h;"},
		/* passwd lines: the second field is the hash field too. */
		{"root:x:0:0:root:/root:/bin/sh\nbin:*:1:1::/:/bin/false\n", 2, "root=x;bin=*;"},
		{"# a comment\n\nuser::1:2:::\r\n", 1, "user=;"},
		/* No second colon, no user, NIS compat lines, a NUL: skipped. */
		{"lonely:hash\n:nouser:1\n+::::::\n-bad:x:1\nok:h:1", 1, "ok=h;"},
		{"a\0b:h:1\nc:h2:3\n", 1, "c=h2;"},
		{"", 0, ""},
		{"no newline at all", 0, ""},
	};
	char out[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = strlen(cases[i].text);

		if (i == 4)
			len = 15; /* the case with an embedded NUL */
		out[0] = '\0';
		assert_int_equal(audit_parse_shadow(cases[i].text, len, collect, out), cases[i].rc);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_parse_shadow_bounds(void **state)
{
	char *big = malloc(10000), out[1024] = "";
	size_t i;

	(void)state;
	assert_non_null(big);
	/* A user name of 100 bytes and a hash of 5000: both beyond the bounds. */
	for (i = 0; i < 100; i++)
		big[i] = 'u';
	big[100] = ':';
	memcpy(big + 101, "h:1\nx", 5);
	assert_int_equal(audit_parse_shadow(big, 106, collect, out), 0);
	memcpy(big, "v:", 2);
	for (i = 2; i < 5002; i++)
		big[i] = 'h';
	memcpy(big + 5002, ":1\nw:ok:2\n", 10);
	out[0] = '\0';
	assert_int_equal(audit_parse_shadow(big, 5012, collect, out), 1);
	assert_string_equal(out, "w=ok;");
	free(big);
}

/* ---- audit_parse_sshd ---- */

static void test_parse_sshd(void **state)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{"", 0}, /* prohibit-password is the default since OpenSSH 7.0 */
		{"PermitRootLogin yes\n", 1},
		{"permitrootlogin YES\n", 1},
		{"PermitRootLogin=yes\n", 1},
		{"  PermitRootLogin \"yes\"\n", 1},
		{"PermitRootLogin yes\nPasswordAuthentication no\n", 0},
		{"PasswordAuthentication no\nPermitRootLogin yes\n", 0},
		{"PasswordAuthentication yes\nPermitRootLogin yes\n", 1},
		/* The first value wins. */
		{"PermitRootLogin no\nPermitRootLogin yes\n", 0},
		{"PermitRootLogin yes\nPermitRootLogin no\n", 1},
		{"PasswordAuthentication yes\nPasswordAuthentication no\nPermitRootLogin yes\n", 1},
		{"PermitRootLogin prohibit-password\n", 0},
		{"PermitRootLogin without-password\n", 0},
		{"#PermitRootLogin yes\n", 0},
		/* A Match block applies to some connections only. */
		{"Match User root\n  PermitRootLogin yes\n", 0},
		{"PermitRootLogin yes\nMatch Address 10.0.0.0/8\n  PasswordAuthentication no\n", 1},
		{"PermitRootLogin", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rp = -1;

		assert_int_equal(audit_parse_sshd(cases[i].text, strlen(cases[i].text), &rp), 0);
		if (rp != cases[i].want)
			fail_msg("case %zu: %s: got %d", i, cases[i].text, rp);
	}
	assert_int_equal(audit_parse_sshd("a\0b", 3, &(int){0}), MM_EPARSE);
	assert_int_equal(audit_parse_sshd("x", 1, NULL), MM_EINVAL);
}

/* ---- crypt matching over a root folder made here ---- */

struct seen {
	char lines[32][900];
	size_t n;
};

static void keep(const struct audit_finding *f, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < 32);
	snprintf(s->lines[s->n++], sizeof s->lines[0], "%s %s %s", f->id, f->subject, f->detail);
}

static void make_hash(const char *prefix, const char *pw, char *out, size_t n)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;

	assert_non_null(crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof salt));
	memset(&cd, 0, sizeof cd);
	assert_non_null(crypt_rn(pw, salt, &cd, sizeof cd));
	assert_int_not_equal(cd.output[0], '*');
	assert_int_equal(strncmp(cd.output, prefix, strlen(prefix)), 0);
	assert_true(strlen(cd.output) < n);
	memcpy(out, cd.output, strlen(cd.output) + 1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static const char *find(const struct seen *s, const char *prefix)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strncmp(s->lines[i], prefix, strlen(prefix)) == 0)
			return s->lines[i];
	return NULL;
}

static void test_crypt_match(void **state)
{
	char dir[] = "/tmp/test_audit.XXXXXX", path[512], shadow[4096], creds[512];
	char hy[256], h6[256], h1[256], hstrong[256], hlocked[256];
	struct audit_opts o;
	struct seen s;
	const char *l;
	int n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/etc", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	make_hash("$y$", "xc3511", hy, sizeof hy);
	make_hash("$6$", "admin", h6, sizeof h6);
	make_hash("$1$", "ubnt", h1, sizeof h1);
	make_hash("$6$", "Kq7#pW2-zR9!vT4m", hstrong, sizeof hstrong);
	make_hash("$6$", "xc3511", hlocked, sizeof hlocked);
	/* camera's password is a Mirai one paired with another user name in the
	 * dictionary: bots try every password with every user. */
	snprintf(shadow, sizeof shadow,
		 "root:%s:19000:0:99999:7:::\nadmin:%s:19000::::::\ncamera:%s:1::::::\n"
		 "guest::19000::::::\nowner:%s:1::::::\nold:!%s:1::::::\ndaemon:*:1::::::\n",
		 hy, h6, h1, hstrong, hlocked);
	snprintf(path, sizeof path, "%s/etc/shadow", dir);
	write_file(path, shadow);
	snprintf(creds, sizeof creds, "%s/creds.tsv", dir);
	write_file(creds, "# test dictionary\nroot\txc3511\t10\tmirai\nadmin\tadmin\t5\tvendor\n"
			  "ubnt\tubnt\t3\tvendor\nbad line\nroot\tadmin\t1\tmirai\n");

	audit_opts_defaults(&o);
	o.root = dir;
	o.credentials = creds;
	o.listeners = 0;
	o.firmware = "1.0";
	o.support_end = "2999-12-31";
	memset(&s, 0, sizeof s);
	n = audit_run(&o, keep, &s);
	assert_int_equal(n, (int)s.n);

	l = find(&s, "credential.default root ");
	assert_non_null(l);
	assert_non_null(strstr(l, "\"password\":\"xc3511\""));
	assert_non_null(strstr(l, "\"source\":\"mirai\""));
	assert_non_null(strstr(l, "\"same_user\":true"));
	l = find(&s, "credential.default admin ");
	assert_non_null(l);
	assert_non_null(strstr(l, "\"password\":\"admin\""));
	/* The line with the account's own user name is named, not root/admin. */
	assert_non_null(strstr(l, "\"source\":\"vendor\""));
	l = find(&s, "credential.default camera ");
	assert_non_null(l);
	assert_non_null(strstr(l, "\"password\":\"ubnt\""));
	assert_non_null(strstr(l, "\"same_user\":false"));
	l = find(&s, "credential.empty guest ");
	assert_non_null(l);
	assert_null(find(&s, "credential.default owner"));
	assert_null(find(&s, "credential.default old"));
	assert_null(find(&s, "credential.default daemon"));
	assert_null(find(&s, "credential.empty daemon"));
	/* Nothing else in this root: four findings in all, in shadow's order. */
	assert_int_equal(s.n, 4);
	assert_non_null(strstr(s.lines[0], "credential.default root"));
	assert_non_null(strstr(s.lines[3], "credential.empty guest"));

	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

/* ---- the table ---- */

static void test_table(void **state)
{
	char path[512], *doc;
	FILE *f;
	size_t i, j, n;

	(void)state;
	snprintf(path, sizeof path, "%s/docs/formats/audit.md", MAMORI_SRCDIR);
	f = fopen(path, "r");
	assert_non_null(f);
	doc = calloc(1, 256 * 1024);
	assert_non_null(doc);
	n = fread(doc, 1, 256 * 1024 - 1, f);
	fclose(f);
	assert_true(n > 0);
	assert_true(audit_nrules >= 20);
	for (i = 0; i < audit_nrules; i++) {
		const struct audit_rule *r = &audit_rules[i];
		char head[64];

		assert_true(r->en303645[0] || r->psti[0] || r->jp[0]);
		assert_true(strlen(r->id) < sizeof((struct audit_finding *)0)->id);
		assert_true(strlen(r->en303645) < sizeof((struct audit_finding *)0)->en303645);
		assert_true(strlen(r->psti) < sizeof((struct audit_finding *)0)->psti);
		assert_true(strlen(r->jp) < sizeof((struct audit_finding *)0)->jp);
		assert_true(r->severity >= AUDIT_LOW && r->severity <= AUDIT_CRITICAL);
		for (j = 0; j < i; j++)
			assert_string_not_equal(r->id, audit_rules[j].id);
		assert_ptr_equal(audit_rule_find(r->id), r);
		/* Each id has its own section in the document, with its severity. */
		snprintf(head, sizeof head, "### `%s`", r->id);
		if (strstr(doc, head) == NULL)
			fail_msg("%s: no section in audit.md", r->id);
		snprintf(head, sizeof head, "| `%s` | %s |", r->id, audit_severity_name(r->severity));
		if (strstr(doc, head) == NULL)
			fail_msg("%s: not in audit.md's table with severity %s", r->id,
				 audit_severity_name(r->severity));
	}
	assert_null(audit_rule_find("no.such"));
	free(doc);
}

/* ---- JSON ---- */

static void test_json(void **state)
{
	struct audit_finding f;
	char out[1024];
	json_t *j, *cl;

	(void)state;
	memset(&f, 0, sizeof f);
	snprintf(f.id, sizeof f.id, "credential.default");
	f.severity = AUDIT_CRITICAL;
	snprintf(f.en303645, sizeof f.en303645, "5.1-1");
	snprintf(f.jp, sizeof f.jp, "Terminal Equipment Rules Art. 34-10 (2)");
	snprintf(f.subject, sizeof f.subject, "ro\xffot");
	snprintf(f.text, sizeof f.text, "account has a default password");
	snprintf(f.detail, sizeof f.detail,
		 "{\"user\":\"root\",\"password\":\"xc3511\",\"id\":\"spoof\"}");
	assert_int_equal(audit_finding_json(&f, out, sizeof out), 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "credential.default");
	assert_string_equal(json_string_value(json_object_get(j, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(j, "subject")), "ro?ot");
	assert_string_equal(json_string_value(json_object_get(j, "password")), "xc3511");
	assert_string_equal(json_string_value(json_object_get(j, "user")), "root");
	cl = json_object_get(j, "clauses");
	assert_non_null(cl);
	assert_int_equal(json_object_size(cl), 2); /* psti is empty: left out */
	assert_string_equal(json_string_value(json_object_get(cl, "en303645")), "5.1-1");
	assert_null(json_object_get(cl, "psti"));
	assert_string_equal(json_string_value(json_object_get(cl, "jp")),
			    "Terminal Equipment Rules Art. 34-10 (2)");
	json_decref(j);

	assert_int_equal(audit_finding_json(&f, out, 40), MM_ETOOBIG);
	snprintf(f.detail, sizeof f.detail, "[1]");
	assert_int_equal(audit_finding_json(&f, out, sizeof out), MM_EPARSE);
	f.detail[0] = '\0';
	f.en303645[0] = f.jp[0] = '\0';
	assert_int_equal(audit_finding_json(&f, out, sizeof out), 0);
	assert_null(strstr(out, "clauses"));

	assert_string_equal(audit_severity_name(AUDIT_LOW), "low");
	assert_string_equal(audit_severity_name(AUDIT_MEDIUM), "medium");
	assert_string_equal(audit_severity_name(AUDIT_HIGH), "high");
}

static void test_defaults(void **state)
{
	struct audit_opts o;
	size_t i;

	(void)state;
	audit_opts_defaults(&o);
	assert_string_equal(o.root, "/");
	assert_int_equal(o.cert_days, 30);
	assert_int_equal(o.listeners, 1);
	assert_int_equal(o.max_files, 200000);
	assert_null(o.certs[0]);
	for (i = 0; o.setuid_allow[i] != NULL; i++)
		assert_int_equal(o.setuid_allow[i][0], '/');
	assert_true(i >= 9 && i < AUDIT_MAX_PATHS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_shadow), cmocka_unit_test(test_parse_shadow_bounds),
		cmocka_unit_test(test_parse_sshd),   cmocka_unit_test(test_crypt_match),
		cmocka_unit_test(test_table),	     cmocka_unit_test(test_json),
		cmocka_unit_test(test_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
