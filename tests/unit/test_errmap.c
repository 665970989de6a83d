/*
 * Unit tests of the errmap module: the shipped tables load and answer as
 * their comments say, every loader rule refuses what it must with the line
 * it must, lookups follow the documented order, and a table near the size
 * limits still loads and answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mamori/buf.h"
#include "mamori/errmap.h"
#include "mamori/error.h"

#ifndef MAMORI_SRCDIR
#define MAMORI_SRCDIR "."
#endif

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Fails the test with the case's name and what differed. */
#define EXPECT(cond, ...)                                                                   \
	do {                                                                                \
		if (!(cond)) {                                                              \
			print_error(__VA_ARGS__);                                           \
			print_error("\n");                                                  \
			fail();                                                             \
		}                                                                           \
	} while (0)

static struct mm_errmap *load_str(const char *text)
{
	struct mm_errmap *map = NULL;
	struct mm_errmap_err err;
	int rc = mm_errmap_load(&map, text, strlen(text), &err);

	EXPECT(rc == 0, "load failed: %d at %d:%d: %s", rc, err.line, err.col, err.msg);
	return map;
}

static struct mm_errmap *load_shipped(const char *file)
{
	char path[512];
	struct mm_errmap *map = NULL;
	struct mm_errmap_err err;
	int rc;

	snprintf(path, sizeof path, "%s/data/errmap/%s", MAMORI_SRCDIR, file);
	rc = mm_errmap_load_file(&map, path, &err);
	EXPECT(rc == 0, "%s:%d:%d: %s (%d)", path, err.line, err.col, err.msg, rc);
	return map;
}

/* ---- the shipped tables ---- */

static const struct {
	const char *file;
	size_t ntables, nentries;
} shipped[] = {
	{"modbus.map", 1, 10},
	{"mqtt.map", 2, 36},
	{"coap.map", 1, 25},
	{"echonet.map", 1, 8},
	{"http.map", 1, 42},
	{"abc.map", 3, 28},
};

static void test_shipped_load(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(shipped); i++) {
		struct mm_errmap *map = load_shipped(shipped[i].file);

		EXPECT(mm_errmap_ntables(map) == shipped[i].ntables, "%s: %zu tables",
		       shipped[i].file, mm_errmap_ntables(map));
		EXPECT(mm_errmap_nentries(map) == shipped[i].nentries, "%s: %zu entries",
		       shipped[i].file, mm_errmap_nentries(map));
		mm_errmap_free(map);
	}
}

struct lookup_case {
	const char *file;
	const char *protocol;
	const char *vendor; /* asked for */
	const char *code;   /* as given to mm_errmap_lookup */
	int rc;
	uint8_t std;
	const char *message;
	enum mm_errmap_match match;
	int line;
	const char *answered_by; /* vendor of the table that answered, NULL for any */
};

#define E MM_ERRMAP_EXACT
#define R MM_ERRMAP_RANGE
#define D MM_ERRMAP_DEFAULT
#define F MM_ERRMAP_FALLBACK

static const struct lookup_case shipped_lookups[] = {
	/* Modbus/TCP: every exception code of V1.1b3 section 7. */
	{"modbus.map", "Modbus/TCP", NULL, "0x01", 0, 0x30, "Invalid Command", E, 18, NULL},
	{"modbus.map", "Modbus/TCP", NULL, "2", 0, 0x31, "Invalid Argument", R, 22, NULL},
	{"modbus.map", "Modbus/TCP", NULL, "0x03", 0, 0x31, "Invalid Argument", R, 22, NULL},
	{"modbus.map", "Modbus/TCP", NULL, "4", 0, 0x41, "Device Failed", E, 28, NULL},
	{"modbus.map", "Modbus/TCP", NULL, "5", 0, 0x00, "No Error", E, 33, NULL},
	{"modbus.map", "Modbus/TCP", NULL, "6", 0, 0x42, "Out of Resources", E, 38, NULL},
	{"modbus.map", "Modbus/TCP", NULL, "7", 0, 0x3F, "Other Command Reasons", E, 42, NULL},
	{"modbus.map", "Modbus/TCP", NULL, "8", 0, 0x40, "Device Broken", E, 48, NULL},
	{"modbus.map", "Modbus/TCP", NULL, "0x0a", 0, 0x11, "Communication Failed", E, 53, NULL},
	{"modbus.map", "Modbus/TCP", NULL, "0x0B", 0, 0x10, "No Response", E, 58, NULL},
	{"modbus.map", "Modbus/TCP", NULL, "9", 0, 0x3F, "Other Command Reasons", D, 63, NULL},
	{"modbus.map", "Modbus/TCP", NULL, "0xFFFFFFFFFFFFFFFF", 0, 0x3F, "Other Command Reasons",
	 D, 63, NULL},
	/* A vendor without its own table gets the any-vendor one. */
	{"modbus.map", "Modbus/TCP", "Schneider", "1", 0, 0x30, "Invalid Command", E, 18, NULL},
	/* Protocol names compare exactly. */
	{"modbus.map", "modbus/tcp", NULL, "1", MM_ENOTFOUND, 0, NULL, 0, 0, NULL},
	{"modbus.map", "Modbus/TCP ", NULL, "1", MM_ENOTFOUND, 0, NULL, 0, 0, NULL},

	/* MQTT: the two versions are two tables. */
	{"mqtt.map", "MQTT 3.1.1", NULL, "0", 0, 0x00, "No Error", E, 20, NULL},
	{"mqtt.map", "MQTT 3.1.1", NULL, "4", 0, 0x20, "Authentication Failed", E, 37, NULL},
	{"mqtt.map", "MQTT 3.1.1", NULL, "5", 0, 0x23, "Authorization Failed", E, 40, NULL},
	{"mqtt.map", "MQTT 3.1.1", NULL, "0x80", 0, 0x3F, "Other Command Reasons", E, 45, NULL},
	{"mqtt.map", "MQTT 3.1.1", NULL, "6", 0, 0xFF, "Other Reasons", D, 49, NULL},
	{"mqtt.map", "MQTT 5", NULL, "0x80", 0, 0xFF, "Other Reasons", E, 59, NULL},
	{"mqtt.map", "MQTT 5", NULL, "0x81", 0, 0x30, "Invalid Command", R, 63, NULL},
	{"mqtt.map", "MQTT 5", NULL, "0x86", 0, 0x20, "Authentication Failed", E, 74, NULL},
	{"mqtt.map", "MQTT 5", NULL, "0x87", 0, 0x23, "Authorization Failed", E, 79, NULL},
	{"mqtt.map", "MQTT 5", NULL, "0x8D", 0, 0x10, "No Response", E, 94, NULL},
	{"mqtt.map", "MQTT 5", NULL, "0x90", 0, 0x31, "Invalid Argument", R, 104, NULL},
	{"mqtt.map", "MQTT 5", NULL, "0x97", 0, 0x42, "Out of Resources", R, 115, NULL},
	{"mqtt.map", "MQTT 5", NULL, "0x10", 0, 0x00, "No Error", R, 56, NULL},
	{"mqtt.map", "MQTT 5", NULL, "0xA2", 0, 0x30, "Invalid Command", R, 146, NULL},
	{"mqtt.map", "MQTT 5", NULL, "0xA3", 0, 0xFF, "Other Reasons", D, 149, NULL},
	{"mqtt.map", "MQTT", NULL, "4", MM_ENOTFOUND, 0, NULL, 0, 0, NULL},

	/* CoAP: class * 100 + detail, exact entries inside class ranges. */
	{"coap.map", "CoAP", NULL, "205", 0, 0x00, "No Error", R, 19, NULL},
	{"coap.map", "CoAP", NULL, "400", 0, 0x30, "Invalid Command", E, 26, NULL},
	{"coap.map", "CoAP", NULL, "401", 0, 0x20, "Authentication Failed", E, 31, NULL},
	{"coap.map", "CoAP", NULL, "403", 0, 0x23, "Authorization Failed", E, 38, NULL},
	{"coap.map", "CoAP", NULL, "404", 0, 0x31, "Invalid Argument", E, 42, NULL},
	{"coap.map", "CoAP", NULL, "420", 0, 0x3F, "Other Command Reasons", R, 23, NULL},
	{"coap.map", "CoAP", NULL, "503", 0, 0x42, "Out of Resources", E, 89, NULL},
	{"coap.map", "CoAP", NULL, "504", 0, 0x10, "No Response", E, 92, NULL},
	{"coap.map", "CoAP", NULL, "505", 0, 0x30, "Invalid Command", E, 98, NULL},
	{"coap.map", "CoAP", NULL, "531", 0, 0x4F, "Other Device Reasons", R, 75, NULL},
	{"coap.map", "CoAP", NULL, "432", 0, 0xFF, "Other Reasons", D, 106, NULL},

	/* ECHONET Lite: exact SNA entries override the 0x5x range. */
	{"echonet.map", "ECHONET Lite", NULL, "0x50", 0, 0x31, "Invalid Argument", E, 34, NULL},
	{"echonet.map", "ECHONET Lite", NULL, "0x52", 0, 0x31, "Invalid Argument", E, 36, NULL},
	{"echonet.map", "ECHONET Lite", NULL, "0x53", 0, 0x31, "Invalid Argument", E, 40, NULL},
	{"echonet.map", "ECHONET Lite", NULL, "0x5E", 0, 0x31, "Invalid Argument", E, 44, NULL},
	{"echonet.map", "ECHONET Lite", NULL, "0x5A", 0, 0x3F, "Other Command Reasons", R, 25,
	 NULL},
	{"echonet.map", "ECHONET Lite", NULL, "0x72", 0, 0x00, "No Error", R, 20, NULL},
	{"echonet.map", "ECHONET Lite", NULL, "0x62", 0, 0xFF, "Other Reasons", D, 47, NULL},

	/* HTTP. */
	{"http.map", "HTTP", NULL, "200", 0, 0x00, "No Error", R, 19, NULL},
	{"http.map", "HTTP", NULL, "401", 0, 0x20, "Authentication Failed", E, 31, NULL},
	{"http.map", "HTTP", NULL, "403", 0, 0x23, "Authorization Failed", E, 36, NULL},
	{"http.map", "HTTP", NULL, "407", 0, 0x20, "Authentication Failed", E, 32, NULL},
	{"http.map", "HTTP", NULL, "418", 0, 0x3F, "Other Command Reasons", R, 23, NULL},
	{"http.map", "HTTP", NULL, "495", 0, 0x21, "Certification Failed", E, 91, NULL},
	{"http.map", "HTTP", NULL, "496", 0, 0x21, "Certification Failed", E, 92, NULL},
	{"http.map", "HTTP", NULL, "497", 0, 0x22, "Encryption Failed", E, 96, NULL},
	{"http.map", "HTTP", NULL, "502", 0, 0x11, "Communication Failed", E, 112, NULL},
	{"http.map", "HTTP", NULL, "504", 0, 0x10, "No Response", E, 118, NULL},
	{"http.map", "HTTP", NULL, "599", 0, 0x4F, "Other Device Reasons", R, 102, NULL},
	{"http.map", "HTTP", NULL, "600", 0, 0xFF, "Other Reasons", D, 137, NULL},

	/* ABC: the published example, private codes, names, and layering. */
	{"abc.map", "ABC company protocol", "ABC Corp", "0x000003FF", 0, 0x30, "Invalid Command", E,
	 48, "ABC Corp"},
	{"abc.map", "ABC company protocol", "ABC Corp", "1023", 0, 0x30, "Invalid Command", E, 48,
	 "ABC Corp"},
	{"abc.map", "ABC company protocol", NULL, "0x3FF", 0, 0x30, "Invalid Command", E, 36, NULL},
	{"abc.map", "ABC company protocol", "ABC Corp", "0x9001", 0, 0xE3, "Battery cover open", E,
	 67, "ABC Corp"},
	{"abc.map", "ABC company protocol", "ABC Corp", "0x9000", 0, 0xE0, "Battery low", E, 66,
	 "ABC Corp"},
	{"abc.map", "ABC company protocol", "ABC Corp", "0x900F", 0, 0xEF, "Maintenance required",
	 R, 69, "ABC Corp"},
	{"abc.map", "ABC company protocol", "ABC Corp", "0x410", 0, 0x41, "Device Failed", E, 73,
	 "ABC Corp"},
	{"abc.map", "ABC company protocol", "ABC Corp", "E_AUTH", 0, 0x20, "Authentication Failed",
	 E, 60, "ABC Corp"},
	{"abc.map", "ABC company protocol", "ABC Corp", "E_NO_MEMORY", 0, 0x42, "Out of Resources",
	 E, 62, "ABC Corp"},
	/* ABC Corp has no default: what it lacks, the any-vendor table answers. */
	{"abc.map", "ABC company protocol", "ABC Corp", "0x101", 0, 0x10, "No Response", E, 27,
	 NULL},
	{"abc.map", "ABC company protocol", "ABC Corp", "0x1F0", 0, 0x11, "Communication Failed",
	 R, 26, NULL},
	{"abc.map", "ABC company protocol", "ABC Corp", "0x12345", 0, 0xFF, "Other Reasons", D, 42,
	 NULL},
	{"abc.map", "ABC company protocol", "ABC Corp", "E_UNKNOWN", 0, 0xFF, "Other Reasons", D,
	 42, NULL},
	/* The any-vendor table does not see ABC Corp's codes. */
	{"abc.map", "ABC company protocol", NULL, "0x201", 0, 0x2F, "Other Security Reasons", R, 31,
	 NULL},
	{"abc.map", "ABC company protocol", NULL, "E_AUTH", 0, 0xFF, "Other Reasons", D, 42, NULL},
	/* DEF Ltd has a default: it answers everything itself. */
	{"abc.map", "ABC company protocol", "DEF Ltd", "0x101", 0, 0x4F, "Other Device Reasons", D,
	 89, "DEF Ltd"},
	{"abc.map", "ABC company protocol", "DEF Ltd", "1", 0, 0x30, "Invalid Command", E, 82,
	 "DEF Ltd"},
	{"abc.map", "ABC company protocol", "DEF Ltd", "HUMIDITY", 0, 0xE2,
	 "Humidity above the rated range", E, 85, "DEF Ltd"},
	/* Vendor names compare exactly too; an unknown vendor gets the generic table. */
	{"abc.map", "ABC company protocol", "abc corp", "0x9001", 0, 0xFF, "Other Reasons", D, 42,
	 NULL},
	{"abc.map", "ABC company protocol", "", "0x101", 0, 0x10, "No Response", E, 27, NULL},
};

static void check_result(const char *what, const struct lookup_case *k, int rc,
			 const struct mm_errmap_result *r)
{
	EXPECT(rc == k->rc, "%s: rc %d, want %d", what, rc, k->rc);
	if (rc != 0)
		return;
	EXPECT(r->code == k->std, "%s: code %02X, want %02X", what, r->code, k->std);
	EXPECT(strcmp(r->message, k->message) == 0, "%s: message \"%s\", want \"%s\"", what,
	       r->message, k->message);
	EXPECT(r->match == k->match, "%s: match %d, want %d", what, r->match, k->match);
	EXPECT(r->line == k->line, "%s: line %d, want %d", what, r->line, k->line);
	EXPECT(strcmp(r->protocol, k->protocol) == 0, "%s: protocol %s", what, r->protocol);
	if (k->answered_by == NULL)
		EXPECT(r->vendor == NULL, "%s: answered by vendor %s, want any", what, r->vendor);
	else
		EXPECT(r->vendor != NULL && strcmp(r->vendor, k->answered_by) == 0,
		       "%s: answered by %s, want %s", what, r->vendor ? r->vendor : "(any)",
		       k->answered_by);
}

static void test_shipped_lookups(void **state)
{
	struct mm_errmap_result r;
	struct mm_errmap *map = NULL;
	const char *loaded = NULL;
	char what[256];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(shipped_lookups); i++) {
		const struct lookup_case *k = &shipped_lookups[i];

		if (loaded == NULL || strcmp(loaded, k->file) != 0) {
			mm_errmap_free(map);
			map = load_shipped(k->file);
			loaded = k->file;
		}
		snprintf(what, sizeof what, "%s [%s/%s] %s", k->file, k->protocol,
			 k->vendor ? k->vendor : "-", k->code);
		memset(&r, 0, sizeof r);
		rc = mm_errmap_lookup(map, k->protocol, k->vendor, k->code, &r);
		check_result(what, k, rc, &r);
	}
	mm_errmap_free(map);
}

/* ---- lookups on small tables written here ---- */

static const char small_map[] =
	"# line 1\n"
	"[protocol \"P\"]\n"                              /* 2 */
	"0x10..0x1F = 31\n"                               /* 3 */
	"0x15 = 30                # overrides the range\n" /* 4 */
	"0x20 .. 0x2F = 13 \"Vendor link reason\"\n"      /* 5: unassigned, with its text */
	"\"42\" = 23\n"                                   /* 6: a name that looks numeric */
	"\"A\\\"B\\\\C\" = 20\n"                          /* 7: escapes in a name */
	"18446744073709551615 = F0 \"Max\"\n"             /* 8 */
	"\n"                                              /* 9 */
	"[protocol \"P\" vendor \"V\"]\n"                 /* 10 */
	"0x15 = E5 \"V's own\"\n"                         /* 11 */
	"[protocol \"Q\" vendor \"V\"]\n"                 /* 12: no any-vendor table for Q */
	"1 = 30\n"                                        /* 13 */
	"[protocol \"R\"]\n"                              /* 14: no entries, no default */
	"[protocol \"p\"]\n"                              /* 15: another protocol, by case */
	"1 = 31\n";                                       /* 16 */

static const struct lookup_case small_lookups[] = {
	{NULL, "P", NULL, "0x10", 0, 0x31, "Invalid Argument", R, 3, NULL},
	{NULL, "P", NULL, "0x14", 0, 0x31, "Invalid Argument", R, 3, NULL},
	{NULL, "P", NULL, "0x15", 0, 0x30, "Invalid Command", E, 4, NULL},
	{NULL, "P", NULL, "0x16", 0, 0x31, "Invalid Argument", R, 3, NULL},
	{NULL, "P", NULL, "31", 0, 0x31, "Invalid Argument", R, 3, NULL},
	{NULL, "P", NULL, "0x1f", 0, 0x31, "Invalid Argument", R, 3, NULL},
	{NULL, "P", NULL, "0X20", 0, 0x13, "Vendor link reason", R, 5, NULL},
	{NULL, "P", NULL, "0x2F", 0, 0x13, "Vendor link reason", R, 5, NULL},
	{NULL, "P", NULL, "0x30", 0, 0xFF, "Other Reasons", F, 0, NULL},
	{NULL, "P", NULL, "0x0F", 0, 0xFF, "Other Reasons", F, 0, NULL},
	{NULL, "P", NULL, "0", 0, 0xFF, "Other Reasons", F, 0, NULL},
	{NULL, "P", NULL, "18446744073709551615", 0, 0xF0, "Max", E, 8, NULL},
	{NULL, "P", NULL, "0xFFFFFFFFFFFFFFFF", 0, 0xF0, "Max", E, 8, NULL},
	/* Too big for 64 bits, so not a number: a name, which the table lacks. */
	{NULL, "P", NULL, "18446744073709551616", 0, 0xFF, "Other Reasons", F, 0, NULL},
	/* "42" is a number to mm_errmap_lookup; the name needs lookup_name. */
	{NULL, "P", NULL, "42", 0, 0x13, "Vendor link reason", R, 5, NULL},
	{NULL, "P", NULL, "A\"B\\C", 0, 0x20, "Authentication Failed", E, 7, NULL},
	{NULL, "P", NULL, "0x15 ", 0, 0xFF, "Other Reasons", F, 0, NULL},
	{NULL, "P", NULL, "0x", 0, 0xFF, "Other Reasons", F, 0, NULL},
	{NULL, "P", "V", "0x15", 0, 0xE5, "V's own", E, 11, "V"},
	{NULL, "P", "V", "0x16", 0, 0x31, "Invalid Argument", R, 3, NULL},
	/* No entry in either table: the fallback names the vendor's table. */
	{NULL, "P", "V", "0x30", 0, 0xFF, "Other Reasons", F, 0, "V"},
	{NULL, "Q", "V", "1", 0, 0x30, "Invalid Command", E, 13, "V"},
	{NULL, "Q", "V", "2", 0, 0xFF, "Other Reasons", F, 0, "V"},
	{NULL, "Q", NULL, "1", MM_ENOTFOUND, 0, NULL, 0, 0, NULL},
	{NULL, "Q", "W", "1", MM_ENOTFOUND, 0, NULL, 0, 0, NULL},
	{NULL, "R", NULL, "1", 0, 0xFF, "Other Reasons", F, 0, NULL},
	{NULL, "p", NULL, "1", 0, 0x31, "Invalid Argument", E, 16, NULL},
	{NULL, "S", NULL, "1", MM_ENOTFOUND, 0, NULL, 0, 0, NULL},
	{NULL, "P", NULL, "", MM_EINVAL, 0, NULL, 0, 0, NULL},
};

static void test_small_lookups(void **state)
{
	struct mm_errmap *map = load_str(small_map);
	struct mm_errmap_result r;
	char what[256];
	size_t i;
	int rc;

	(void)state;
	assert_int_equal(mm_errmap_ntables(map), 5);
	assert_int_equal(mm_errmap_nentries(map), 9);
	for (i = 0; i < NELEM(small_lookups); i++) {
		const struct lookup_case *k = &small_lookups[i];

		snprintf(what, sizeof what, "[%s/%s] \"%s\"", k->protocol,
			 k->vendor ? k->vendor : "-", k->code);
		memset(&r, 0, sizeof r);
		rc = mm_errmap_lookup(map, k->protocol, k->vendor, k->code, &r);
		check_result(what, k, rc, &r);
	}
	mm_errmap_free(map);
}

/* The typed lookups and their argument checks. */
static void test_typed_lookups(void **state)
{
	struct mm_errmap *map = load_str(small_map);
	struct mm_errmap_result r;

	(void)state;
	assert_int_equal(mm_errmap_lookup_name(map, "P", NULL, "42", &r), 0);
	assert_int_equal(r.code, 0x23);
	assert_int_equal(r.match, MM_ERRMAP_EXACT);
	assert_int_equal(r.line, 6);
	/* A name never matches a numeric entry or range. */
	assert_int_equal(mm_errmap_lookup_name(map, "P", NULL, "0x15", &r), 0);
	assert_int_equal(r.match, MM_ERRMAP_FALLBACK);
	assert_int_equal(mm_errmap_lookup_num(map, "P", NULL, 0x15, &r), 0);
	assert_int_equal(r.code, 0x30);
	assert_int_equal(mm_errmap_lookup_num(map, "P", NULL, UINT64_MAX, &r), 0);
	assert_int_equal(r.code, 0xF0);

	assert_int_equal(mm_errmap_lookup_num(NULL, "P", NULL, 1, &r), MM_EINVAL);
	assert_int_equal(mm_errmap_lookup_num(map, NULL, NULL, 1, &r), MM_EINVAL);
	assert_int_equal(mm_errmap_lookup_num(map, "P", NULL, 1, NULL), MM_EINVAL);
	assert_int_equal(mm_errmap_lookup_name(map, "P", NULL, NULL, &r), MM_EINVAL);
	assert_int_equal(mm_errmap_lookup(map, "P", NULL, NULL, &r), MM_EINVAL);
	mm_errmap_free(map);
}

/* A default in a table wins over the any-vendor table's entries. */
static void test_vendor_default(void **state)
{
	static const char text[] = "[protocol \"P\"]\n"
				   "1 = 30\n"
				   "default = 3F\n"
				   "[protocol \"P\" vendor \"V\"]\n"
				   "2 = 31\n"
				   "default = 41\n";
	struct mm_errmap *map = load_str(text);
	struct mm_errmap_result r;

	(void)state;
	assert_int_equal(mm_errmap_lookup_num(map, "P", "V", 1, &r), 0);
	assert_int_equal(r.code, 0x41);
	assert_int_equal(r.match, MM_ERRMAP_DEFAULT);
	assert_int_equal(r.line, 6);
	assert_string_equal(r.vendor, "V");
	assert_int_equal(mm_errmap_lookup_num(map, "P", NULL, 1, &r), 0);
	assert_int_equal(r.code, 0x30);
	assert_null(r.vendor);
	assert_int_equal(mm_errmap_lookup_num(map, "P", NULL, 2, &r), 0);
	assert_int_equal(r.code, 0x3F);
	assert_int_equal(r.line, 3);
	mm_errmap_free(map);
}

/* ---- texts that load ---- */

static const struct {
	const char *name;
	const char *text;
	size_t ntables, nentries;
} good[] = {
	{"empty", "", 0, 0},
	{"only comments", "# a\n   # b\n\t\n", 0, 0},
	{"section without entries", "[protocol \"P\"]\n", 1, 0},
	{"no final newline", "[protocol \"P\"]\n1 = 30", 1, 1},
	{"CRLF", "[protocol \"P\"]\r\n1 = 30\r\n\"N\" = 31 \"Invalid Argument\"\r\n", 1, 2},
	{"BOM", "\xEF\xBB\xBF[protocol \"P\"]\n1 = 30\n", 1, 1},
	{"blanks everywhere",
	 "  [ protocol\t\"P\"   vendor \"V\" ]  # c\n\t1\t=\t0x30\t#c\n", 1, 1},
	{"trailing comment after message", "[protocol \"P\"]\n1 = E0 \"x # y\" # z\n", 1, 1},
	{"comment after section", "[protocol \"P\"] # any vendor\n", 1, 0},
	{"hash inside quotes", "[protocol \"P#1\"]\n\"#\" = 30\n", 1, 1},
	{"standard message repeated", "[protocol \"P\"]\n1 = 30 \"Invalid Command\"\n", 1, 1},
	{"0xNN standard code", "[protocol \"P\"]\n1 = 0x30\n2 = 0Xff\n3 = e0 \"p\"\n", 1, 3},
	{"unassigned with message",
	 "[protocol \"P\"]\n1 = 13 \"Line noise\"\n2 = 01 \"x\"\n", 1, 2},
	{"F0-FE with message", "[protocol \"P\"]\n1 = F0 \"x\"\n2 = FE \"y\"\n", 1, 2},
	{"No Error as a target", "[protocol \"P\"]\n0 = 00\n", 1, 1},
	{"one-code range", "[protocol \"P\"]\n5..5 = 30\n", 1, 1},
	{"adjacent ranges", "[protocol \"P\"]\n1..5 = 30\n6..9 = 31\n0..0 = 3F\n", 1, 3},
	{"same code in two tables", "[protocol \"P\"]\n1 = 30\n[protocol \"Q\"]\n1 = 31\n", 2, 2},
	{"same protocol, two vendors",
	 "[protocol \"P\"]\n[protocol \"P\" vendor \"V\"]\n[protocol \"P\" vendor \"W\"]\n", 3, 0},
	{"exact inside range", "[protocol \"P\"]\n1..9 = 31\n5 = 30\n", 1, 2},
	{"leading zeros are decimal", "[protocol \"P\"]\n010 = 30\n10..11 = 31\n", 1, 2},
	{"64-bit limits", "[protocol \"P\"]\n0xFFFFFFFFFFFFFFFF = 30\n0x0000000000000000001 = 31\n",
	 1, 2},
	{"UTF-8 names",
	 "[protocol \"\xE3\x83\x97\" vendor \"\xC3\xA9\"]\n"
	 "\"\xF0\x9F\x94\x8B\" = E0 \"\xE9\x9B\xBB\xE6\xB1\xA0\"\n",
	 1, 1},
	{"default with a private code", "[protocol \"P\"]\ndefault = EF \"vendor's catch-all\"\n",
	 1, 1},
	{"quoted default is a name", "[protocol \"P\"]\n\"default\" = 30\ndefault = 31\n", 1, 2},
};

static void test_good(void **state)
{
	struct mm_errmap *map;
	struct mm_errmap_err err;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(good); i++) {
		map = NULL;
		rc = mm_errmap_load(&map, good[i].text, strlen(good[i].text), &err);
		EXPECT(rc == 0, "%s: rc %d at %d:%d: %s", good[i].name, rc, err.line, err.col,
		       err.msg);
		EXPECT(mm_errmap_ntables(map) == good[i].ntables, "%s: %zu tables", good[i].name,
		       mm_errmap_ntables(map));
		EXPECT(mm_errmap_nentries(map) == good[i].nentries, "%s: %zu entries",
		       good[i].name, mm_errmap_nentries(map));
		mm_errmap_free(map);
	}
}

/* A UTF-8 name and its message come back byte for byte. */
static void test_utf8_roundtrip(void **state)
{
	struct mm_errmap_result r;
	struct mm_errmap *map;
	size_t i;

	(void)state;
	for (i = 0; strcmp(good[i].name, "UTF-8 names") != 0; i++)
		;
	map = load_str(good[i].text);
	assert_int_equal(mm_errmap_lookup(map, "\xE3\x83\x97", "\xC3\xA9", "\xF0\x9F\x94\x8B", &r),
			 0);
	assert_int_equal(r.code, 0xE0);
	assert_string_equal(r.message, "\xE9\x9B\xBB\xE6\xB1\xA0");
	mm_errmap_free(map);
}

/* ---- texts that must not load ---- */

static const struct bad_case {
	const char *name;
	const char *text;
	int rc, line, col; /* col 0: not checked */
	const char *msg;   /* a substring of err.msg */
} bad[] = {
	/* Entries outside a section. */
	{"entry before any section", "# x\n0x01 = 30\n", MM_EPARSE, 2, 1, "outside a section"},
	{"default before any section", "default = FF\n", MM_EPARSE, 1, 1, "outside a section"},

	/* Section syntax. */
	{"no keyword", "[\"P\"]\n", MM_EPARSE, 1, 2, "expected 'protocol'"},
	{"wrong keyword", "[proto \"P\"]\n", MM_EPARSE, 1, 2, "expected 'protocol'"},
	{"keyword with a suffix", "[protocols \"P\"]\n", MM_EPARSE, 1, 2, "expected 'protocol'"},
	{"keyword in capitals", "[Protocol \"P\"]\n", MM_EPARSE, 1, 2, "expected 'protocol'"},
	{"no name", "[protocol]\n", MM_EPARSE, 1, 10, "quoted protocol name"},
	{"unquoted name", "[protocol P]\n", MM_EPARSE, 1, 11, "quoted protocol name"},
	{"empty name", "[protocol \"\"]\n", MM_EPARSE, 1, 11, "empty protocol name"},
	{"unterminated name", "[protocol \"P]\n", MM_EPARSE, 1, 11, "unterminated protocol name"},
	{"no closing bracket", "[protocol \"P\"\n", MM_EPARSE, 1, 14, "expected 'vendor' or ']'"},
	{"no closing bracket after vendor", "[protocol \"P\" vendor \"V\" \n", MM_EPARSE, 1, 26,
	 "expected ']'"},
	{"wrong second keyword", "[protocol \"P\" maker \"V\"]\n", MM_EPARSE, 1, 15,
	 "expected 'vendor' or ']'"},
	{"vendor glued to name", "[protocol \"P\"vendor \"V\"]\n", MM_EPARSE, 1, 14,
	 "expected 'vendor' or ']'"},
	{"vendor without name", "[protocol \"P\" vendor]\n", MM_EPARSE, 1, 21,
	 "quoted vendor name"},
	{"empty vendor", "[protocol \"P\" vendor \"\"]\n", MM_EPARSE, 1, 22, "empty vendor name"},
	{"text after section", "[protocol \"P\"] x\n", MM_EPARSE, 1, 16, "unexpected text"},
	{"hash glued to section", "[protocol \"P\"]# x\n", MM_EPARSE, 1, 15, "after whitespace"},
	{"bad escape", "[protocol \"P\\n\"]\n", MM_EPARSE, 1, 13, "unknown escape"},
	{"tab inside a name", "[protocol \"P\tQ\"]\n", MM_EPARSE, 1, 13, "control character"},
	{"escape at end of line", "[protocol \"P\\", MM_EPARSE, 1, 11, "unterminated"},
	{"second section bad", "[protocol \"P\"]\n1 = 30\n[protocol \"Q\" vendor \"V\" x]\n",
	 MM_EPARSE, 3, 26, "expected ']'"},

	/* The same section twice. */
	{"same protocol twice", "[protocol \"P\"]\n1 = 30\n[protocol \"P\"]\n", MM_EPARSE, 3, 1,
	 "already on line 1"},
	{"same vendor twice",
	 "[protocol \"P\" vendor \"V\"]\n[protocol \"Q\"]\n[protocol \"P\" vendor \"V\"]\n",
	 MM_EPARSE, 3, 1, "already on line 1"},

	/* Numeric codes. */
	{"hex overflow", "[protocol \"P\"]\n0x10000000000000000 = 30\n", MM_EPARSE, 2, 1,
	 "overflows 64 bits"},
	{"decimal overflow", "[protocol \"P\"]\n18446744073709551616 = 30\n", MM_EPARSE, 2, 1,
	 "overflows 64 bits"},
	{"range end overflow", "[protocol \"P\"]\n1..99999999999999999999 = 30\n", MM_EPARSE, 2, 4,
	 "overflows 64 bits"},
	{"letters after digits", "[protocol \"P\"]\n12abc = 30\n", MM_EPARSE, 2, 3,
	 "bad character in a numeric code"},
	{"bad hex digit", "[protocol \"P\"]\n0x1G = 30\n", MM_EPARSE, 2, 4,
	 "bad character in a numeric code"},
	{"0x without digits", "[protocol \"P\"]\n0x = 30\n", MM_EPARSE, 2, 2,
	 "bad character in a numeric code"},
	{"negative", "[protocol \"P\"]\n-1 = 30\n", MM_EPARSE, 2, 1, "expected a code"},
	{"bare word", "[protocol \"P\"]\nE_AUTH = 20\n", MM_EPARSE, 2, 1, "expected a code"},
	{"keyword in capitals", "[protocol \"P\"]\nDEFAULT = 20\n", MM_EPARSE, 2, 1,
	 "expected a code"},
	{"keyword as a prefix", "[protocol \"P\"]\ndefaultx = 20\n", MM_EPARSE, 2, 1,
	 "expected a code"},
	{"single dot", "[protocol \"P\"]\n1.5 = 30\n", MM_EPARSE, 2, 2, "expected '='"},
	{"range without end", "[protocol \"P\"]\n1.. = 30\n", MM_EPARSE, 2, 5, "expected a code"},
	{"empty name", "[protocol \"P\"]\n\"\" = 30\n", MM_EPARSE, 2, 1, "empty code name"},

	/* Ranges. */
	{"range lo > hi", "[protocol \"P\"]\n0x10..0x0F = 30\n", MM_EPARSE, 2, 1, "is empty"},
	{"overlapping ranges", "[protocol \"P\"]\n1..5 = 30\n# x\n5..9 = 31\n", MM_EPARSE, 4, 1,
	 "overlaps range 0x1..0x5 on line 2"},
	{"nested ranges", "[protocol \"P\"]\n1..100 = 30\n10..20 = 31\n", MM_EPARSE, 3, 1,
	 "on line 2"},
	{"overlap out of order", "[protocol \"P\"]\n50..60 = 30\n1..2 = 31\n40..50 = 31\n",
	 MM_EPARSE, 4, 1, "overlaps range 0x32..0x3C on line 2"},
	{"same range twice", "[protocol \"P\"]\n1..5 = 30\n1..5 = 30\n", MM_EPARSE, 3, 1,
	 "on line 2"},
	{"overlap of an earlier table, found at the next header",
	 "[protocol \"P\"]\n1..5 = 30\n3..4 = 31\n[protocol \"Q\"]\n1 = 30\n", MM_EPARSE, 3, 1,
	 "on line 2"},
	{"overlap at end of text", "[protocol \"P\"]\n0..0xFFFFFFFFFFFFFFFF = 30\n7..8 = 31",
	 MM_EPARSE, 3, 1, "on line 2"},
	{"earliest clash wins",
	 "[protocol \"P\"]\n1 = 30\n10..20 = 31\n15..16 = 31\n1 = 30\n", MM_EPARSE, 4, 1,
	 "on line 3"},

	/* Exact codes and names twice. */
	{"same code twice", "[protocol \"P\"]\n0x01 = 30\n0x02 = 30\n0x01 = 31\n", MM_EPARSE, 4, 1,
	 "code 0x1 is already mapped on line 2"},
	{"same code, hex and decimal", "[protocol \"P\"]\n10 = 30\n0xA = 30\n", MM_EPARSE, 3, 1,
	 "already mapped on line 2"},
	{"leading zero is still decimal", "[protocol \"P\"]\n010 = 30\n0xA = 31\n", MM_EPARSE, 3,
	 1, "already mapped on line 2"},
	{"same code three times", "[protocol \"P\"]\n7 = 30\n7 = 30\n7 = 30\n", MM_EPARSE, 3, 1,
	 "on line 2"},
	{"same name twice", "[protocol \"P\"]\n\"E\" = 30\n\"F\" = 30\n\"E\" = 31\n", MM_EPARSE, 4,
	 1, "name is already mapped on line 2"},

	/* The standard code. */
	{"one digit", "[protocol \"P\"]\n1 = 3\n", MM_EPARSE, 2, 5, "two hex digits"},
	{"three digits", "[protocol \"P\"]\n1 = 300\n", MM_EPARSE, 2, 5, "two hex digits"},
	{"0x and one digit", "[protocol \"P\"]\n1 = 0x3\n", MM_EPARSE, 2, 5, "two hex digits"},
	{"0x and three digits", "[protocol \"P\"]\n1 = 0x300\n", MM_EPARSE, 2, 5,
	 "two hex digits"},
	{"not hex", "[protocol \"P\"]\n1 = G0\n", MM_EPARSE, 2, 5, "two hex digits"},
	{"missing", "[protocol \"P\"]\n1 =\n", MM_EPARSE, 2, 4, "two hex digits"},
	{"quoted", "[protocol \"P\"]\n1 = \"30\"\n", MM_EPARSE, 2, 5, "two hex digits"},
	{"no equals sign", "[protocol \"P\"]\n1 30\n", MM_EPARSE, 2, 3, "expected '='"},
	{"reserved 50", "[protocol \"P\"]\n1 = 50\n", MM_EPARSE, 2, 5,
	 "reserved for future extension"},
	{"reserved DF", "[protocol \"P\"]\n1 = DF \"x\"\n", MM_EPARSE, 2, 5,
	 "reserved for future extension"},
	{"reserved default", "[protocol \"P\"]\ndefault = 0x80\n", MM_EPARSE, 2, 11,
	 "reserved for future extension"},
	{"private without message", "[protocol \"P\"]\n0x9001 = E3\n", MM_EPARSE, 2, 10,
	 "private code E3"},
	{"private EF without message", "[protocol \"P\"]\n\"X\" = EF # c\n", MM_EPARSE, 2, 7,
	 "needs the vendor's own message"},
	{"unassigned without message", "[protocol \"P\"]\n1 = 13\n", MM_EPARSE, 2, 5,
	 "unassigned"},
	{"unassigned F0 without message", "[protocol \"P\"]\n1..2 = F0\n", MM_EPARSE, 2, 8,
	 "unassigned"},
	{"message on an assigned code", "[protocol \"P\"]\n1 = 30 \"Bad request\"\n", MM_EPARSE, 2,
	 8, "differs from the standard message of 30"},
	{"standard message in other case", "[protocol \"P\"]\n1 = 30 \"invalid command\"\n",
	 MM_EPARSE, 2, 8, "differs"},
	{"unquoted message", "[protocol \"P\"]\n1 = E0 Battery low\n", MM_EPARSE, 2, 8,
	 "a message must be quoted"},
	{"empty message", "[protocol \"P\"]\n1 = E0 \"\"\n", MM_EPARSE, 2, 8, "empty message"},
	{"unterminated message", "[protocol \"P\"]\n1 = E0 \"abc\n", MM_EPARSE, 2, 8,
	 "unterminated message"},
	{"control character in message", "[protocol \"P\"]\n1 = E0 \"a\x1b[0m\"\n", MM_EPARSE, 2,
	 10, "control character"},
	{"DEL in message", "[protocol \"P\"]\n1 = E0 \"a\x7f\"\n", MM_EPARSE, 2, 10,
	 "control character"},
	{"two messages", "[protocol \"P\"]\n1 = E0 \"a\" \"b\"\n", MM_EPARSE, 2, 12,
	 "unexpected text"},
	{"hash glued to code", "[protocol \"P\"]\n1 = 30#x\n", MM_EPARSE, 2, 7, "after whitespace"},
	{"stray carriage return", "[protocol \"P\"]\n1 = 30\r \n", MM_EPARSE, 2, 7,
	 "unexpected text"},

	/* Defaults. */
	{"two defaults", "[protocol \"P\"]\ndefault = 3F\n1 = 30\ndefault = FF\n", MM_EPARSE, 4, 1,
	 "second default; the first is on line 2"},
	{"default as a range end", "[protocol \"P\"]\n1..default = 30\n", MM_EPARSE, 2, 4,
	 "expected a code"},

	/* Bytes. */
	{"invalid UTF-8 in a comment", "[protocol \"P\"]\n# caf\xE9\n", MM_EPARSE, 2, 6,
	 "invalid UTF-8"},
	{"invalid UTF-8 in a message", "[protocol \"P\"]\n1 = E0 \"\xC0\xAF\"\n", MM_EPARSE, 2, 9,
	 "invalid UTF-8"},
	{"surrogate", "[protocol \"\xED\xA0\x80\"]\n", MM_EPARSE, 1, 12, "invalid UTF-8"},
	{"truncated sequence at end", "[protocol \"P\"]\n\xE3\x81", MM_EPARSE, 2, 1,
	 "invalid UTF-8"},
	{"lone continuation byte", "\x80\n", MM_EPARSE, 1, 1, "invalid UTF-8"},
	{"invalid UTF-8 on a line that would also be a syntax error", "x\xFF\n", MM_EPARSE, 1, 2,
	 "invalid UTF-8"},
	{"BOM not first", "[protocol \"P\"]\n\xEF\xBB\xBF" "1 = 30\n", MM_EPARSE, 2, 1,
	 "expected a code"},
};

static void check_bad(const char *name, const char *text, size_t len, int want_rc,
		      int want_line, int want_col, const char *want_msg)
{
	struct mm_errmap *map = (struct mm_errmap *)&map; /* must be set to NULL */
	struct mm_errmap_err err;
	int rc;

	rc = mm_errmap_load(&map, text, len, &err);
	EXPECT(rc == want_rc, "%s: rc %d, want %d (%d:%d: %s)", name, rc, want_rc, err.line,
	       err.col, err.msg);
	EXPECT(map == NULL, "%s: map not NULL after a failed load", name);
	EXPECT(err.line == want_line, "%s: line %d, want %d (%s)", name, err.line, want_line,
	       err.msg);
	EXPECT(want_col == 0 || err.col == want_col, "%s: col %d, want %d (%s)", name, err.col,
	       want_col, err.msg);
	EXPECT(strstr(err.msg, want_msg) != NULL, "%s: message \"%s\" lacks \"%s\"", name,
	       err.msg, want_msg);
}

static void test_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++)
		check_bad(bad[i].name, bad[i].text, strlen(bad[i].text), bad[i].rc, bad[i].line,
			  bad[i].col, bad[i].msg);
}

/* NUL bytes cannot sit in a C string literal's length, so these give it. */
static void test_nul(void **state)
{
	static const char in_comment[] = "[protocol \"P\"]\n# a\0b\n1 = 30\n";
	static const char in_name[] = "[protocol \"P\"]\n\"a\0b\" = 30\n";
	static const char last[] = "[protocol \"P\"]\n1 = 30\n\0";

	(void)state;
	check_bad("NUL in a comment", in_comment, sizeof in_comment - 1, MM_EPARSE, 2, 4, "NUL");
	check_bad("NUL in a name", in_name, sizeof in_name - 1, MM_EPARSE, 2, 3, "NUL");
	check_bad("NUL as the last byte", last, sizeof last - 1, MM_EPARSE, 3, 1, "NUL");
}

enum gen {
	GEN_SECTIONS, /* n sections, each for its own protocol and vendor */
	GEN_NUMBERS,  /* one section with n numeric entries */
	GEN_NAMES,    /* one section with n named entries */
};

/* Builds a text of n generated lines. */
static char *generate(enum gen kind, size_t n, size_t *len)
{
	struct mm_buf b;
	size_t i;
	int rc = 0;

	mm_buf_init(&b, 64 * 1024 * 1024);
	if (kind != GEN_SECTIONS)
		assert_int_equal(mm_buf_puts(&b, "[protocol \"P\"]\n"), 0);
	for (i = 0; i < n && rc == 0; i++) {
		switch (kind) {
		case GEN_SECTIONS:
			rc = mm_buf_printf(&b, "[protocol \"P%zu\" vendor \"V%zu\"]\n", i, i);
			break;
		case GEN_NUMBERS:
			rc = mm_buf_printf(&b, "%zu = 30 # entry %zu\n", i, i);
			break;
		case GEN_NAMES:
			rc = mm_buf_printf(&b, "\"N%zu\" = 30\n", i);
			break;
		}
	}
	assert_int_equal(rc, 0);
	*len = b.len;
	return mm_buf_steal(&b);
}

/* The same limit, met while reading a file: the file is refused unread. */
static void check_file_too_big(const char *big)
{
	char path[] = "/tmp/test_errmap.XXXXXX";
	struct mm_errmap *map = NULL;
	struct mm_errmap_err err;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(big, 1, MM_ERRMAP_MAX_FILE + 1, f), MM_ERRMAP_MAX_FILE + 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(mm_errmap_load_file(&map, path, &err), MM_ETOOBIG);
	assert_null(map);
	assert_non_null(strstr(err.msg, "larger than"));
	/* One byte less is a file of comments, which loads. */
	assert_int_equal(truncate(path, MM_ERRMAP_MAX_FILE), 0);
	assert_int_equal(mm_errmap_load_file(&map, path, &err), 0);
	assert_int_equal(mm_errmap_ntables(map), 0);
	mm_errmap_free(map);
	unlink(path);
}

static void test_limits(void **state)
{
	struct mm_errmap *map;
	struct mm_errmap_err err;
	char *text, *big;
	size_t len;
	struct mm_buf b;

	(void)state;
	/* A line of exactly MM_ERRMAP_MAX_LINE bytes loads; one more does not. */
	mm_buf_init(&b, 3 * MM_ERRMAP_MAX_LINE);
	assert_int_equal(mm_buf_puts(&b, "[protocol \"P\"]\n1 = 30 #"), 0);
	while (b.len - 15 < MM_ERRMAP_MAX_LINE)
		assert_int_equal(mm_buf_putc(&b, 'x'), 0);
	assert_int_equal(mm_buf_puts(&b, "\r\n"), 0); /* the CR does not count */
	assert_int_equal(mm_errmap_load(&map, b.data, b.len, &err), 0);
	mm_errmap_free(map);
	b.len -= 2;
	assert_int_equal(mm_buf_puts(&b, "x\n"), 0);
	check_bad("line too long", b.data, b.len, MM_ETOOBIG, 2, MM_ERRMAP_MAX_LINE + 1,
		  "longer than 4096");
	mm_buf_free(&b);

	/* MM_ERRMAP_MAX_TABLES sections load; one more does not. */
	text = generate(GEN_SECTIONS, MM_ERRMAP_MAX_TABLES, &len);
	assert_int_equal(mm_errmap_load(&map, text, len, &err), 0);
	assert_int_equal(mm_errmap_ntables(map), MM_ERRMAP_MAX_TABLES);
	mm_errmap_free(map);
	free(text);
	text = generate(GEN_SECTIONS, MM_ERRMAP_MAX_TABLES + 1, &len);
	check_bad("too many sections", text, len, MM_ETOOBIG, MM_ERRMAP_MAX_TABLES + 1, 1,
		  "more than 1024 sections");
	free(text);

	/* MM_ERRMAP_MAX_ENTRIES entries over all tables load; one more does not. */
	text = generate(GEN_NUMBERS, MM_ERRMAP_MAX_ENTRIES, &len);
	assert_int_equal(mm_errmap_load(&map, text, len, &err), 0);
	assert_int_equal(mm_errmap_nentries(map), MM_ERRMAP_MAX_ENTRIES);
	mm_errmap_free(map);
	free(text);
	text = generate(GEN_NAMES, MM_ERRMAP_MAX_ENTRIES + 1, &len);
	check_bad("too many entries", text, len, MM_ETOOBIG, MM_ERRMAP_MAX_ENTRIES + 2, 1,
		  "more than 100000 entries");
	free(text);

	/* A text over MM_ERRMAP_MAX_FILE is refused before it is read. */
	big = malloc(MM_ERRMAP_MAX_FILE + 1);
	assert_non_null(big);
	for (len = 0; len < MM_ERRMAP_MAX_FILE + 1; len++)
		big[len] = len % 64 == 63 ? '\n' : '#';
	check_bad("text too big", big, MM_ERRMAP_MAX_FILE + 1, MM_ETOOBIG, 0, 0, "larger than");
	check_file_too_big(big);
	free(big);
}

static void test_args_and_files(void **state)
{
	struct mm_errmap *map = NULL;
	struct mm_errmap_err err;

	(void)state;
	assert_int_equal(mm_errmap_load(NULL, "", 0, &err), MM_EINVAL);
	assert_int_equal(mm_errmap_load(&map, NULL, 1, &err), MM_EINVAL);
	assert_int_equal(mm_errmap_load(&map, NULL, 0, NULL), 0);
	assert_int_equal(mm_errmap_ntables(map), 0);
	mm_errmap_free(map);
	/* err may be NULL even when loading fails. */
	assert_int_equal(mm_errmap_load(&map, "x", 1, NULL), MM_EPARSE);
	assert_null(map);

	assert_int_equal(mm_errmap_load_file(&map, MAMORI_SRCDIR "/data/errmap/none.map", &err),
			 MM_EIO);
	assert_null(map);
	assert_int_equal(err.line, 0);
	assert_non_null(strstr(err.msg, "No such file"));
	assert_int_equal(mm_errmap_load_file(&map, MAMORI_SRCDIR "/data/errmap", &err), MM_EIO);
	assert_null(map);
	assert_int_equal(mm_errmap_load_file(&map, "/dev/null", &err), 0);
	assert_int_equal(mm_errmap_ntables(map), 0);
	mm_errmap_free(map);

	assert_int_equal(mm_errmap_load_file(NULL, "/dev/null", &err), MM_EINVAL);
	assert_int_equal(mm_errmap_load_file(&map, NULL, NULL), MM_EINVAL);

	mm_errmap_free(NULL);
	assert_int_equal(mm_errmap_ntables(NULL), 0);
	assert_int_equal(mm_errmap_nentries(NULL), 0);
}

/*
 * A generated table of 50,000 entries, written in descending order so the
 * loader must sort: 30,000 exact codes, 19,999 ranges with gaps between them,
 * and a default. Every exact code, both ends and the middle of every range,
 * and every gap must answer right.
 */
#define BIG_EXACT 30000
#define BIG_RANGES 19999
#define RANGE_BASE 1000000000000ULL

static void test_big(void **state)
{
	static const uint8_t stdc[] = {0x10, 0x11, 0x20, 0x21, 0x30, 0x31, 0x40, 0x41};
	struct mm_errmap_result r;
	struct mm_errmap_err err;
	struct mm_errmap *map;
	struct mm_buf b;
	uint64_t lo;
	size_t i;
	int rc;

	(void)state;
	mm_buf_init(&b, 8 * 1024 * 1024);
	assert_int_equal(mm_buf_puts(&b, "[protocol \"Big\"]\ndefault = FF\n"), 0);
	for (i = BIG_RANGES; i-- > 0;) {
		lo = RANGE_BASE + i * 10;
		assert_int_equal(mm_buf_printf(&b, "0x%" PRIX64 "..%" PRIu64 " = %02X\n", lo,
					       lo + 4, stdc[i % 8]),
				 0);
	}
	for (i = BIG_EXACT; i-- > 0;)
		assert_int_equal(mm_buf_printf(&b, "%zu = %02X\n", i * 7, stdc[(i + 3) % 8]), 0);
	rc = mm_errmap_load(&map, b.data, b.len, &err);
	EXPECT(rc == 0, "big: %d at %d:%d: %s", rc, err.line, err.col, err.msg);
	assert_int_equal(mm_errmap_nentries(map), BIG_EXACT + BIG_RANGES + 1);

	for (i = 0; i < BIG_EXACT; i++) {
		assert_int_equal(mm_errmap_lookup_num(map, "Big", NULL, i * 7, &r), 0);
		EXPECT(r.code == stdc[(i + 3) % 8] && r.match == MM_ERRMAP_EXACT &&
			       r.line == (int)(2 + BIG_RANGES + BIG_EXACT - i),
		       "exact %zu: %02X match %d line %d", i * 7, r.code, r.match, r.line);
		/* i * 7 + 1 is no entry's code and lies below every range. */
		assert_int_equal(mm_errmap_lookup_num(map, "Big", NULL, i * 7 + 1, &r), 0);
		EXPECT(r.match == MM_ERRMAP_DEFAULT && r.line == 2, "gap %zu", i * 7 + 1);
	}
	for (i = 0; i < BIG_RANGES; i++) {
		uint64_t probe[3] = {0, 2, 4};
		size_t k;

		lo = RANGE_BASE + i * 10;
		for (k = 0; k < 3; k++) {
			assert_int_equal(
				mm_errmap_lookup_num(map, "Big", NULL, lo + probe[k], &r), 0);
			EXPECT(r.code == stdc[i % 8] && r.match == MM_ERRMAP_RANGE &&
				       r.line == (int)(2 + BIG_RANGES - i),
			       "range %zu+%d: %02X match %d line %d", i, (int)probe[k], r.code,
			       r.match, r.line);
		}
		assert_int_equal(mm_errmap_lookup_num(map, "Big", NULL, lo + 5, &r), 0);
		EXPECT(r.match == MM_ERRMAP_DEFAULT, "after range %zu", i);
		assert_int_equal(mm_errmap_lookup_num(map, "Big", NULL, lo - 1, &r), 0);
		EXPECT(r.match == MM_ERRMAP_DEFAULT, "before range %zu", i);
	}
	assert_int_equal(mm_errmap_lookup_num(map, "Big", NULL, UINT64_MAX, &r), 0);
	assert_int_equal(r.match, MM_ERRMAP_DEFAULT);
	mm_errmap_free(map);
	mm_buf_free(&b);
}

/* Many tables: each protocol and vendor pair finds its own. */
static void test_many_tables(void **state)
{
	struct mm_errmap_result r;
	struct mm_errmap_err err;
	struct mm_errmap *map;
	struct mm_buf b;
	char p[32], v[32];
	size_t i;

	(void)state;
	mm_buf_init(&b, 1024 * 1024);
	for (i = MM_ERRMAP_MAX_TABLES / 2; i-- > 0;)
		assert_int_equal(mm_buf_printf(&b, "[protocol \"P%zu\"]\n1 = E0 \"any %zu\"\n"
						   "[protocol \"P%zu\" vendor \"V%zu\"]\n"
						   "2 = E1 \"vendor %zu\"\n",
					       i, i, i, i % 3, i),
				 0);
	assert_int_equal(mm_errmap_load(&map, b.data, b.len, &err), 0);
	assert_int_equal(mm_errmap_ntables(map), MM_ERRMAP_MAX_TABLES);
	for (i = 0; i < MM_ERRMAP_MAX_TABLES / 2; i++) {
		char want[32];

		snprintf(p, sizeof p, "P%zu", i);
		snprintf(v, sizeof v, "V%zu", i % 3);
		assert_int_equal(mm_errmap_lookup_num(map, p, v, 2, &r), 0);
		snprintf(want, sizeof want, "vendor %zu", i);
		assert_string_equal(r.message, want);
		assert_string_equal(r.vendor, v);
		assert_int_equal(mm_errmap_lookup_num(map, p, v, 1, &r), 0);
		snprintf(want, sizeof want, "any %zu", i);
		assert_string_equal(r.message, want);
		assert_null(r.vendor);
		assert_string_equal(r.protocol, p);
		snprintf(v, sizeof v, "V%zu", (i + 1) % 3);
		assert_int_equal(mm_errmap_lookup_num(map, p, v, 2, &r), 0);
		assert_int_equal(r.match, MM_ERRMAP_FALLBACK);
	}
	mm_errmap_free(map);
	mm_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_load),
		cmocka_unit_test(test_shipped_lookups),
		cmocka_unit_test(test_small_lookups),
		cmocka_unit_test(test_typed_lookups),
		cmocka_unit_test(test_vendor_default),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_utf8_roundtrip),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_args_and_files),
		cmocka_unit_test(test_big),
		cmocka_unit_test(test_many_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
