/*
 * The inventory (agent/inventory.c): the dpkg/opkg status parser (fields,
 * continuation lines, missing fields, bytes that are not text, packages
 * that are not installed, the bound on packages), the BusyBox version scan,
 * the BOM built from a temporary root (purls, the OS, the serialNumber),
 * the digest that leaves the timestamp out, and the split into parts.
 */
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

#include "inventory.h"
#include "mamori/error.h"

/* ---- the status parser ---- */

/* What the callback saw: one line per package, fields joined by '|', "-" for NULL. */
struct seen {
	char text[4096];
	size_t len;
	int calls;
};

static void collect(const struct inventory_pkg *p, void *arg)
{
	struct seen *s = arg;
	const char *f[7] = {p->name, p->version, p->arch, p->source, p->maintainer, p->homepage,
			    p->description};
	int i, n;

	s->calls++;
	for (i = 0; i < 7; i++) {
		n = snprintf(s->text + s->len, sizeof s->text - s->len, "%s%s", f[i] ? f[i] : "-",
			     i < 6 ? "|" : "\n");
		assert_true(n > 0 && (size_t)n < sizeof s->text - s->len);
		s->len += (size_t)n;
	}
}

static void test_parse_status(void **state)
{
#define T(lit) lit, sizeof lit - 1
	static const struct {
		const char *text;
		size_t len;
		int rc;
		const char *want;
	} cases[] = {
		{T("Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\n"
		 "Architecture: amd64\nSource: zlib\nMaintainer: Mark Brown <broonie@debian.org>\n"
		 "Homepage: https://zlib.net/\nDescription: compression library - runtime\n"
		 " zlib is a library implementing the deflate compression method.\n"),
		 1,
		 "zlib1g|1:1.2.13.dfsg-1|amd64|zlib|Mark Brown <broonie@debian.org>|"
		 "https://zlib.net/|compression library - runtime\n"},
		/* Continuation lines are never fields, however they look. */
		{T("Package: a\nStatus: install ok installed\nDescription: short\n Package: evil\n"
		 "\tVersion: 6.6.6\n .\nVersion: 1\n"),
		 1, "a|1|-|-|-|-|short\n"},
		/* Missing fields: no Version is listed without one; no Status or no Package is not. */
		{T("Package: nover\nStatus: install ok installed\n\nPackage: nostatus\nVersion: 1\n\n"
		 "Status: install ok installed\nVersion: 2\n"),
		 1, "nover|-|-|-|-|-|-\n"},
		/* Not installed: removed, half-installed, not-installed, a fourth word. */
		{T("Package: a\nStatus: deinstall ok config-files\n\nPackage: b\n"
		 "Status: install ok half-installed\n\nPackage: c\nStatus: purge ok not-installed\n\n"
		 "Package: d\nStatus: install ok installed extra\n\nPackage: e\n"
		 "Status: install reinstreq unpacked\n"),
		 0, ""},
		/* Installed in every want state; opkg's "user" flag. */
		{T("Package: held\nStatus: hold ok installed\n\nPackage: leaving\n"
		 "Status: deinstall ok installed\n\nPackage: o\nStatus: install user installed\n"),
		 3, "held|-|-|-|-|-|-\nleaving|-|-|-|-|-|-\no|-|-|-|-|-|-\n"},
		/* Bad bytes: a description that is not UTF-8 is dropped, a name or a
		 * version that is not text drops the package, a control character too. */
		{T("Package: p1\nStatus: install ok installed\nDescription: bad \xff\xfe bytes\n"
		 "Maintainer: Jos\xc3\xa9 <j@example.org>\n\n"
		 "Package: p\xc0\xafx\nStatus: install ok installed\n\n"
		 "Package: p3\nStatus: install ok installed\nVersion: 1\x1b[31m\n\n"
		 "Package: p4\nStatus: install ok installed\nSource: a\x7f\n"),
		 2, "p1|-|-|-|Jos\xc3\xa9 <j@example.org>|-|-\np4|-|-|-|-|-|-\n"},
		/* A NUL inside a value. */
		{T("Package: n\0ul\nStatus: install ok installed\n\nPackage: ok\n"
		 "Status: install ok installed\n"),
		 1, "ok|-|-|-|-|-|-\n"},
		/* CRLF, lower-case field names, blanks around values, no final newline,
		 * a blank line of spaces, comments, lines without a colon, repeated fields. */
		{T("package:  crlf  \r\nSTATUS: install ok installed\r\nversion:\t2.0 \r\n   \t\n"
		 "# comment: ignored\nPackage: second\nnot a field\nStatus: install ok installed\n"
		 "Version: 1\nVersion: 9\nPackage: third"),
		 2, "crlf|2.0|-|-|-|-|-\nsecond|1|-|-|-|-|-\n"},
		/* Names and versions with blanks are not names or versions. */
		{T("Package: two words\nStatus: install ok installed\n\nPackage: v\n"
		 "Status: install ok installed\nVersion: 1 2\n"),
		 0, ""},
		/* An empty text, blank lines only, a paragraph of continuations. */
		{T(""), 0, ""},
		{T("\n\n \n"), 0, ""},
		{T(" Package: x\n Status: install ok installed\n"), 0, ""},
	};
	struct seen s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc;

		memset(&s, 0, sizeof s);
		rc = inventory_parse_status(cases[i].text, cases[i].len, collect, &s);
		if (rc != cases[i].rc || strcmp(s.text, cases[i].want) != 0)
			fail_msg("case %zu: rc %d want %d, got:\n%s\nwant:\n%s", i, rc, cases[i].rc,
				 s.text, cases[i].want);
		assert_int_equal(s.calls, cases[i].rc);
	}
	assert_int_equal(inventory_parse_status(NULL, 5, collect, &s), MM_EINVAL);
	assert_int_equal(inventory_parse_status("x", 1, NULL, &s), MM_EINVAL);
}

/* Long values: a long name drops the package, a long description is cut on a
 * UTF-8 character boundary, a long homepage is dropped. */
static void test_parse_status_bounds(void **state)
{
	char text[8192], longname[300], desc[1100], home[1100];
	struct seen s;
	size_t i;
	int n, rc;

	(void)state;
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	/* 1022 ASCII bytes, then a two-byte character across the 1023-byte bound. */
	memset(desc, 'd', 1022);
	memcpy(desc + 1022, "\xc3\xa9tail", 7);
	memset(home, 'h', sizeof home - 1);
	memcpy(home, "https://", 8);
	home[sizeof home - 1] = '\0';
	n = snprintf(text, sizeof text,
		     "Package: %s\nStatus: install ok installed\n\n"
		     "Package: cut\nStatus: install ok installed\nDescription: %s\nHomepage: %s\n",
		     longname, desc, home);
	assert_true(n > 0 && (size_t)n < sizeof text);
	memset(&s, 0, sizeof s);
	rc = inventory_parse_status(text, (size_t)n, collect, &s);
	assert_int_equal(rc, 1);
	assert_memory_equal(s.text, "cut|-|-|-|-|-|", 14);
	/* 1022 'd's and nothing of the cut character. */
	for (i = 0; i < 1022; i++)
		assert_int_equal(s.text[14 + i], 'd');
	assert_string_equal(s.text + 14 + 1022, "\n");
}

static void count_only(const struct inventory_pkg *p, void *arg)
{
	(void)p;
	(*(int *)arg)++;
}

/* More than INVENTORY_MAX_COMPONENTS packages: the first ones, then MM_ETOOBIG. */
static void test_parse_status_limit(void **state)
{
	const size_t per = 64, n = INVENTORY_MAX_COMPONENTS + 1;
	char *text = malloc(per * n), *p, *last = NULL;
	int calls = 0, rc;
	size_t i;

	(void)state;
	assert_non_null(text);
	for (i = 0, p = text; i < n; i++) {
		int k = snprintf(p, per, "Package: p%zu\nStatus: install ok installed\n\n", i);

		last = p;
		assert_true(k > 0 && (size_t)k < per);
		p += k;
	}
	rc = inventory_parse_status(text, (size_t)(p - text), count_only, &calls);
	assert_int_equal(rc, MM_ETOOBIG);
	assert_int_equal(calls, INVENTORY_MAX_COMPONENTS);
	/* Exactly the bound is fine. */
	calls = 0;
	rc = inventory_parse_status(text, (size_t)(last - text), count_only, &calls);
	assert_int_equal(rc, INVENTORY_MAX_COMPONENTS);
	assert_int_equal(calls, INVENTORY_MAX_COMPONENTS);
	free(text);
}

/* ---- BusyBox ---- */

static void test_busybox_version(void **state)
{
	static const struct {
		const char *bin;
		size_t out;
		int found;
		const char *want;
	} cases[] = {
		{"\x7f" "ELF\0\0BusyBox v1.36.1 (2023-05-21 10:00:00 UTC) multi-call binary.", 64, 1,
		 "1.36.1"},
		{"BusyBox v1.35.0 (Debian 1:1.35.0-4+b3)", 64, 1, "1.35.0"},
		/* The first "BusyBox v" without a digit after it is not the banner. */
		{"usage: BusyBox vs. the world; BusyBox v1.37.0.git\n", 64, 1, "1.37.0.git"},
		{"BusyBox v1.36.1", 64, 1, "1.36.1"},
		{"BusyBox v1.36.1", 4, 1, "1.3"},
		{"BusyBox v", 64, 0, ""},
		{"BusyBox 1.36.1", 64, 0, ""},
		{"busybox v1.36.1", 64, 0, ""},
		{"", 64, 0, ""},
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		/* The binary's length: the first case holds NULs. */
		size_t len = i == 0 ? sizeof "\x7f" "ELF\0\0BusyBox v1.36.1 (2023-05-21 10:00:00 UTC) "
					       "multi-call binary." - 1
				    : strlen(cases[i].bin);
		int found;

		memset(out, 'x', sizeof out);
		found = inventory_busybox_version((const unsigned char *)cases[i].bin, len, out,
						  cases[i].out);
		assert_int_equal(found, cases[i].found);
		assert_string_equal(out, cases[i].want);
	}
	assert_int_equal(inventory_busybox_version(NULL, 0, out, sizeof out), 0);
}

/* ---- the BOM from a root ---- */

static char Root[64];
static char Version[32]; /* project(mamori VERSION ...) of the source tree's CMakeLists.txt */

static void read_version(void)
{
	char line[256];
	FILE *f = fopen(MAMORI_SRCDIR "/CMakeLists.txt", "r");

	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "project(mamori VERSION %31[0-9.]", Version) == 1)
			break;
	fclose(f);
	assert_true(Version[0] != '\0');
}

static void put(const char *rel, const char *text)
{
	char path[256], dir[256], *slash;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", Root, rel);
	snprintf(dir, sizeof dir, "%s", path);
	for (slash = strchr(dir + strlen(Root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int setup_root(void **state)
{
	(void)state;
	snprintf(Root, sizeof Root, "/tmp/test_inventory.XXXXXX");
	if (mkdtemp(Root) == NULL)
		return -1;
	read_version();
	put("etc/os-release", "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n"
			      "VERSION_CODENAME=bookworm\nPRETTY_NAME='Debian 12'\n");
	put("var/lib/dpkg/status",
	    "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\n"
	    "Architecture: amd64\nMaintainer: Mark Brown <broonie@debian.org>\n"
	    "Description: compression library - runtime\n\n"
	    "Package: g++\nStatus: install ok installed\nVersion: 4:12.2.0-3\n"
	    "Architecture: amd64\nMaintainer: Debian GCC Maintainers\n\n"
	    "Package: removed\nStatus: deinstall ok config-files\nVersion: 1\n");
	return 0;
}

static int teardown_root(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", Root);
	return system(cmd) == 0 ? 0 : -1;
}

static json_t *find_ref(json_t *bom, const char *ref)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(bom, "components"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "bom-ref")), ref) == 0)
			return c;
	return NULL;
}

static const char *str(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);

	if (path2 != NULL)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

static void test_build(void **state)
{
	struct inventory_opts o = {.root = Root, .device_id = "cam-0042", .time_s = 1700000000};
	json_t *bom = NULL, *c;
	const char *serial;
	size_t i, n = 0;

	(void)state;
	assert_int_equal(inventory_build(&o, &bom), 0);
	assert_string_equal(str(bom, "bomFormat", NULL), "CycloneDX");
	assert_string_equal(str(bom, "specVersion", NULL), "1.5");
	assert_string_equal(str(json_object_get(bom, "metadata"), "timestamp", NULL),
			    "2023-11-14T22:13:20Z");
	c = json_object_get(json_object_get(bom, "metadata"), "component");
	assert_string_equal(str(c, "type", NULL), "device");
	assert_string_equal(str(c, "name", NULL), "cam-0042");
	assert_string_equal(str(c, "version", NULL), "12"); /* VERSION_ID without --firmware */

	/* The serialNumber: urn:uuid, version 8, RFC 4122 variant. */
	serial = str(bom, "serialNumber", NULL);
	assert_non_null(serial);
	assert_int_equal(strlen(serial), 45);
	assert_memory_equal(serial, "urn:uuid:", 9);
	assert_int_equal(serial[9 + 14], '8');
	assert_non_null(strchr("89ab", serial[9 + 19]));

	c = find_ref(bom, "os");
	assert_non_null(c);
	assert_string_equal(str(c, "type", NULL), "operating-system");
	assert_string_equal(str(c, "name", NULL), "debian");
	assert_string_equal(str(c, "description", NULL), "Debian 12");

	c = find_ref(bom, "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=bookworm");
	assert_non_null(c);
	assert_string_equal(str(c, "purl", NULL),
			    "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=bookworm");
	assert_string_equal(str(c, "supplier", "name"), "Mark Brown");
	/* '+' is percent-encoded; a maintainer without an address is a name only. */
	c = find_ref(bom, "pkg:deb/debian/g%2B%2B@4:12.2.0-3?arch=amd64&distro=bookworm");
	assert_non_null(c);
	assert_string_equal(str(c, "name", NULL), "g++");
	assert_string_equal(str(c, "supplier", "name"), "Debian GCC Maintainers");
	assert_null(json_object_get(json_object_get(c, "supplier"), "contact"));

	json_array_foreach(json_object_get(bom, "components"), i, c)
		if (strcmp(str(c, "name", NULL), "removed") == 0)
			fail_msg("a removed package is listed");
	json_array_foreach(json_object_get(bom, "components"), i, c)
		if (strncmp(str(c, "bom-ref", NULL), "pkg:deb/", 8) == 0)
			n++;
	assert_int_equal(n, 2);
	c = find_ref(bom, "mamori");
	assert_non_null(c);
	assert_string_equal(str(c, "version", NULL), Version);
	assert_non_null(find_ref(bom, "mamori/openssl"));
	assert_null(find_ref(bom, "busybox")); /* there is none in this root */
	json_decref(bom);
}

/* The digest leaves the timestamp out and sees everything else. */
static void test_digest(void **state)
{
	struct inventory_opts o = {.root = Root, .device_id = "cam-0042", .time_s = 1000};
	uint8_t d1[MM_SHA256_LEN], d2[MM_SHA256_LEN], d3[MM_SHA256_LEN];
	json_t *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(inventory_build(&o, &a), 0);
	o.time_s = 2000000000;
	assert_int_equal(inventory_build(&o, &b), 0);
	assert_string_not_equal(str(json_object_get(a, "metadata"), "timestamp", NULL),
				str(json_object_get(b, "metadata"), "timestamp", NULL));
	assert_string_equal(str(a, "serialNumber", NULL), str(b, "serialNumber", NULL));
	assert_int_equal(inventory_digest(a, d1), 0);
	assert_int_equal(inventory_digest(b, d2), 0);
	assert_memory_equal(d1, d2, sizeof d1);
	/* The timestamp is still in the BOM after the digest. */
	assert_non_null(json_object_get(json_object_get(b, "metadata"), "timestamp"));
	/* Anything else changes it: a description, the device's name. */
	json_object_set_new(find_ref(b, "os"), "description", json_string("Debian 12.1"));
	assert_int_equal(inventory_digest(b, d3), 0);
	assert_memory_not_equal(d1, d3, sizeof d1);
	json_decref(b);
	o.device_id = "cam-0043";
	assert_int_equal(inventory_build(&o, &b), 0);
	assert_string_not_equal(str(a, "serialNumber", NULL), str(b, "serialNumber", NULL));
	json_decref(a);
	a = json_array();
	assert_int_equal(inventory_digest(a, d3), MM_EINVAL);
	json_decref(a);
	json_decref(b);
}

static size_t dumped_len(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	size_t n;

	assert_non_null(s);
	n = strlen(s);
	free(s);
	return n;
}

/* A BOM of many packages split at several bounds. */
static void test_split(void **state)
{
	static const size_t bounds[] = {2000, 3000, 8000, 1 << 20};
	struct inventory_opts o = {.root = Root, .device_id = "cam-0042", .time_s = 1000};
	char status[64 * 1024];
	size_t len = 0, b, i, k, total;
	json_t *bom = NULL, **parts = NULL, *whole;
	int n;

	(void)state;
	for (i = 0; i < 80; i++) {
		n = snprintf(status + len, sizeof status - len,
			     "Package: pkg%zu\nStatus: install ok installed\nVersion: 1.%zu\n"
			     "Architecture: armel\nDescription: package number %zu\n\n",
			     i, i, i);
		assert_true(n > 0 && (size_t)n < sizeof status - len);
		len += (size_t)n;
	}
	put("var/lib/opkg/status", status);
	assert_int_equal(inventory_build(&o, &bom), 0);
	snprintf(status, sizeof status, "%s/var/lib/opkg/status", Root);
	assert_int_equal(unlink(status), 0);
	whole = json_object_get(bom, "components");
	assert_true(json_array_size(whole) > 80);

	for (b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
		size_t np = 0;

		assert_int_equal(inventory_split(bom, bounds[b], &parts, &np), 0);
		if (bounds[b] == 1 << 20)
			assert_int_equal(np, 1);
		else
			assert_true(np > 1);
		total = 0;
		for (i = 0; i < np; i++) {
			json_t *props = json_object_get(parts[i], "properties"), *pc;
			char want[32];

			assert_true(dumped_len(parts[i]) <= bounds[b]);
			assert_true(json_equal(json_object_get(parts[i], "metadata"),
					       json_object_get(bom, "metadata")));
			assert_string_equal(str(parts[i], "serialNumber", NULL),
					    str(bom, "serialNumber", NULL));
			snprintf(want, sizeof want, "%zu/%zu", i + 1, np);
			assert_string_equal(str(json_array_get(props, 0), "name", NULL),
					    "mamori:part");
			assert_string_equal(str(json_array_get(props, 0), "value", NULL), want);
			/* The parts' components, in order, are the whole's. */
			pc = json_object_get(parts[i], "components");
			for (k = 0; k < json_array_size(pc); k++)
				assert_true(json_equal(json_array_get(pc, k),
						       json_array_get(whole, total + k)));
			total += json_array_size(pc);
			/* mamori's dependency entry travels with mamori. */
			if (json_object_get(parts[i], "dependencies") != NULL) {
				json_t *d = json_array_get(json_object_get(parts[i], "dependencies"), 0);

				assert_string_equal(str(d, "ref", NULL), "mamori");
				for (k = 0; k < json_array_size(pc); k++)
					if (strcmp(str(json_array_get(pc, k), "bom-ref", NULL), "mamori") == 0)
						break;
				assert_true(k < json_array_size(pc));
			}
			json_decref(parts[i]);
		}
		assert_int_equal(total, json_array_size(whole));
		free(parts);
	}

	/* A component larger than the bound cannot be sent in any part. */
	{
		char big[6000];
		size_t np = 99;

		memset(big, 'x', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		json_object_set_new(json_array_get(whole, 3), "description", json_string(big));
		parts = NULL;
		assert_int_equal(inventory_split(bom, 5000, &parts, &np), MM_ETOOBIG);
		assert_null(parts);
		assert_int_equal(np, 0);
		assert_int_equal(inventory_split(bom, 1 << 20, &parts, &np), 0);
		for (i = 0; i < np; i++)
			json_decref(parts[i]);
		free(parts);
	}
	json_decref(bom);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_status),
		cmocka_unit_test(test_parse_status_bounds),
		cmocka_unit_test(test_parse_status_limit),
		cmocka_unit_test(test_busybox_version),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, setup_root, teardown_root);
}
