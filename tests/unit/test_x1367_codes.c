/*
 * The Annex A table: every assigned code with its exact message, every range,
 * and the status of all 256 codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mamori/error.h"
#include "mamori/x1367.h"

/* Annex A, restated here so that the library's table is checked against an
 * independent copy. */
static const struct {
	uint8_t code;
	const char *message;
	const char *description_start;
} annex_a[] = {
	{0x00, "No Error", "No error occurs."},
	{0x10, "No Response", "No response even though"},
	{0x11, "Communication Failed", "Some problems for failing communication."},
	{0x12, "Link Down", "A network interface link is down."},
	{0x1E, "Extended Reasons", "Prefix code for extended reasons."},
	{0x1F, "Other Communication Reasons", "Other reasons related to communication."},
	{0x20, "Authentication Failed", "Some problems of the authentication."},
	{0x21, "Certification Failed", "Some problems of the certification."},
	{0x22, "Encryption Failed", "Some problems of the encryption."},
	{0x23, "Authorization Failed", "Some problems of the authorization."},
	{0x2E, "Extended Reasons", "Prefix code for extended reasons."},
	{0x2F, "Other Security Reasons", "Other reasons related to the authentication"},
	{0x30, "Invalid Command", "The command is undefined or invalid."},
	{0x31, "Invalid Argument", "The argument is out of range or invalid."},
	{0x3E, "Extended Reasons", "Prefix code for extended reasons."},
	{0x3F, "Other Command Reasons", "Other reasons related to the command."},
	{0x40, "Device Broken", "A part of the device has unrecoverably broken."},
	{0x41, "Device Failed", "A part of the device has failed but is recoverable."},
	{0x42, "Out of Resources", "Running out of storage, memory"},
	{0x4E, "Extended Reasons", "Prefix code for extended reasons."},
	{0x4F, "Other Device Reasons", "Other reasons related to the device."},
	{0xFF, "Other Reasons", "Other reasons except for the above reasons."},
};

static const struct {
	uint8_t lo, hi;
	enum mm_x1367_category cat;
	const char *name;
} annex_ranges[] = {
	{0x00, 0x0F, MM_X1367_CAT_NO_ERROR, "No Error"},
	{0x10, 0x1F, MM_X1367_CAT_COMMUNICATION, "Communication"},
	{0x20, 0x2F, MM_X1367_CAT_SECURITY, "Security"},
	{0x30, 0x3F, MM_X1367_CAT_COMMAND, "Command"},
	{0x40, 0x4F, MM_X1367_CAT_DEVICE, "Device"},
	{0x50, 0xDF, MM_X1367_CAT_RESERVED, "Reserved for future extension"},
	{0xE0, 0xEF, MM_X1367_CAT_PRIVATE, "Reserved for private applications"},
	{0xF0, 0xFF, MM_X1367_CAT_OTHERS, "Others"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void every_assigned_code(void **state)
{
	size_t i, n;
	const struct mm_x1367_code *tab = mm_x1367_codes(&n);

	(void)state;
	assert_int_equal(n, N(annex_a));
	for (i = 0; i < N(annex_a); i++) {
		const struct mm_x1367_code *c = mm_x1367_code_info(annex_a[i].code);
		assert_non_null(c);
		assert_int_equal(c->code, annex_a[i].code);
		assert_string_equal(c->message, annex_a[i].message);
		assert_memory_equal(c->description, annex_a[i].description_start,
				    strlen(annex_a[i].description_start));
		assert_int_equal(mm_x1367_code_status(annex_a[i].code), MM_X1367_ASSIGNED);
		/* The exported table is in ascending order. */
		if (i)
			assert_true(tab[i - 1].code < tab[i].code);
	}
}

static void every_range(void **state)
{
	size_t i, n;
	const struct mm_x1367_range *r = mm_x1367_ranges(&n);

	(void)state;
	assert_int_equal(n, N(annex_ranges));
	for (i = 0; i < n; i++) {
		assert_int_equal(r[i].lo, annex_ranges[i].lo);
		assert_int_equal(r[i].hi, annex_ranges[i].hi);
		assert_int_equal(r[i].category, annex_ranges[i].cat);
		assert_string_equal(r[i].name, annex_ranges[i].name);
	}
}

/* All 256 codes: the right range, and assigned / unassigned / reserved /
 * private exactly as Annex A lays them out. */
static void every_code_status(void **state)
{
	unsigned code;

	(void)state;
	for (code = 0; code < 256; code++) {
		enum mm_x1367_status want = MM_X1367_UNASSIGNED;
		const struct mm_x1367_range *r = mm_x1367_range_of((uint8_t)code);
		size_t i;

		for (i = 0; i < N(annex_a); i++)
			if (annex_a[i].code == code)
				want = MM_X1367_ASSIGNED;
		if (want != MM_X1367_ASSIGNED && code >= 0x50 && code <= 0xDF)
			want = MM_X1367_RESERVED;
		if (code >= 0xE0 && code <= 0xEF)
			want = MM_X1367_PRIVATE;
		assert_int_equal(mm_x1367_code_status((uint8_t)code), want);
		assert_true(code >= r->lo && code <= r->hi);
		if (want != MM_X1367_ASSIGNED)
			assert_null(mm_x1367_code_info((uint8_t)code));
	}
}

static void named_examples(void **state)
{
	(void)state;
	/* X1367.md: 0x13 is inside Communication but unassigned. */
	assert_int_equal(mm_x1367_code_status(0x13), MM_X1367_UNASSIGNED);
	assert_string_equal(mm_x1367_range_of(0x13)->name, "Communication");
	assert_int_equal(mm_x1367_code_status(0xE5), MM_X1367_PRIVATE);
	assert_int_equal(mm_x1367_code_status(0x50), MM_X1367_RESERVED);
	assert_int_equal(mm_x1367_code_status(0xDF), MM_X1367_RESERVED);
	assert_int_equal(mm_x1367_code_status(0xF0), MM_X1367_UNASSIGNED);
	assert_string_equal(mm_x1367_range_of(0xF0)->name, "Others");
	assert_string_equal(mm_x1367_status_name(MM_X1367_PRIVATE), "private");
}

static void code_parse(void **state)
{
	static const struct {
		const char *text;
		int rc;
		uint8_t code;
	} cases[] = {
		{"30", 0, 0x30}, {"2f", 0, 0x2F}, {"FF", 0, 0xFF}, {"00", 0, 0x00},
		{"E3", 0, 0xE3}, {"3", MM_EPARSE, 0}, {"300", MM_EPARSE, 0},
		{"0x", MM_EPARSE, 0}, {"G0", MM_EPARSE, 0}, {"", MM_EPARSE, 0},
		{" 3", MM_EPARSE, 0}, {"-1", MM_EPARSE, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		uint8_t c = 0xAA;
		assert_int_equal(mm_x1367_code_parse(cases[i].text, &c), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(c, cases[i].code);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_assigned_code),
		cmocka_unit_test(every_range),
		cmocka_unit_test(every_code_status),
		cmocka_unit_test(named_examples),
		cmocka_unit_test(code_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
