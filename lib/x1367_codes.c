/*
 * Annex A of ITU-T X.1367: the standard error codes, their ranges, messages
 * and descriptions, exactly as the Recommendation spells them.
 */
#include <stddef.h>

#include "mamori/buf.h"
#include "mamori/error.h"
#include "mamori/x1367.h"

static const struct mm_x1367_range ranges[] = {
	{0x00, 0x0F, MM_X1367_CAT_NO_ERROR, "No Error"},
	{0x10, 0x1F, MM_X1367_CAT_COMMUNICATION, "Communication"},
	{0x20, 0x2F, MM_X1367_CAT_SECURITY, "Security"},
	{0x30, 0x3F, MM_X1367_CAT_COMMAND, "Command"},
	{0x40, 0x4F, MM_X1367_CAT_DEVICE, "Device"},
	{0x50, 0xDF, MM_X1367_CAT_RESERVED, "Reserved for future extension"},
	{0xE0, 0xEF, MM_X1367_CAT_PRIVATE, "Reserved for private applications"},
	{0xF0, 0xFF, MM_X1367_CAT_OTHERS, "Others"},
};

static const struct mm_x1367_code codes[] = {
	{0x00, "No Error", "No error occurs."},
	{0x10, "No Response", "No response even though the request requires any responses."},
	{0x11, "Communication Failed", "Some problems for failing communication."},
	{0x12, "Link Down", "A network interface link is down."},
	{0x1E, "Extended Reasons", "Prefix code for extended reasons."},
	{0x1F, "Other Communication Reasons", "Other reasons related to communication."},
	{0x20, "Authentication Failed", "Some problems of the authentication."},
	{0x21, "Certification Failed", "Some problems of the certification."},
	{0x22, "Encryption Failed", "Some problems of the encryption."},
	{0x23, "Authorization Failed", "Some problems of the authorization."},
	{0x2E, "Extended Reasons", "Prefix code for extended reasons."},
	{0x2F, "Other Security Reasons",
	 "Other reasons related to the authentication, the certification, the encryption or "
	 "the authorization."},
	{0x30, "Invalid Command", "The command is undefined or invalid."},
	{0x31, "Invalid Argument", "The argument is out of range or invalid."},
	{0x3E, "Extended Reasons", "Prefix code for extended reasons."},
	{0x3F, "Other Command Reasons", "Other reasons related to the command."},
	{0x40, "Device Broken", "A part of the device has unrecoverably broken."},
	{0x41, "Device Failed", "A part of the device has failed but is recoverable."},
	{0x42, "Out of Resources", "Running out of storage, memory, and any computing resources."},
	{0x4E, "Extended Reasons", "Prefix code for extended reasons."},
	{0x4F, "Other Device Reasons", "Other reasons related to the device."},
	{0xFF, "Other Reasons", "Other reasons except for the above reasons."},
};

const struct mm_x1367_range *mm_x1367_ranges(size_t *n)
{
	if (n)
		*n = sizeof ranges / sizeof ranges[0];
	return ranges;
}

const struct mm_x1367_code *mm_x1367_codes(size_t *n)
{
	if (n)
		*n = sizeof codes / sizeof codes[0];
	return codes;
}

const struct mm_x1367_range *mm_x1367_range_of(uint8_t code)
{
	size_t i;

	for (i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
		if (code >= ranges[i].lo && code <= ranges[i].hi)
			return &ranges[i];
	return &ranges[sizeof ranges / sizeof ranges[0] - 1]; /* not reached: ranges cover 0..255 */
}

const struct mm_x1367_code *mm_x1367_code_info(uint8_t code)
{
	/* codes[] is sorted; a binary search keeps the table the one truth. */
	size_t lo = 0, hi = sizeof codes / sizeof codes[0];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (codes[mid].code == code)
			return &codes[mid];
		if (codes[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

enum mm_x1367_status mm_x1367_code_status(uint8_t code)
{
	if (mm_x1367_code_info(code))
		return MM_X1367_ASSIGNED;
	switch (mm_x1367_range_of(code)->category) {
	case MM_X1367_CAT_RESERVED:
		return MM_X1367_RESERVED;
	case MM_X1367_CAT_PRIVATE:
		return MM_X1367_PRIVATE;
	default:
		return MM_X1367_UNASSIGNED;
	}
}

const char *mm_x1367_status_name(enum mm_x1367_status s)
{
	switch (s) {
	case MM_X1367_ASSIGNED: return "assigned";
	case MM_X1367_UNASSIGNED: return "unassigned";
	case MM_X1367_RESERVED: return "reserved";
	case MM_X1367_PRIVATE: return "private";
	}
	return "unknown";
}

int mm_x1367_code_parse(const char *s, uint8_t *code)
{
	int hi, lo;

	if (!s || (hi = mm_hex_digit(s[0])) < 0 || (lo = mm_hex_digit(s[1])) < 0 || s[2] != '\0')
		return MM_EPARSE;
	*code = (uint8_t)(hi << 4 | lo);
	return 0;
}
