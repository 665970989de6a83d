/*
 * The standard IoT error log of ITU-T X.1367: the Annex A code table, the
 * record, a builder for gateway makers, JSON decode with validation, and
 * JSON encode.
 *
 * Building a record at a gateway:
 *
 *	struct mm_x1367_record *r = mm_x1367_new();
 *	mm_x1367_set_time(r, &now);
 *	mm_x1367_set_id(r, MM_X1367_REPORTER, MM_X1367_ID_IP, "192.168.2.11");
 *	mm_x1367_set_protocol(r, "ECHONET Lite");
 *	mm_x1367_set_id(r, MM_X1367_REQUESTER, MM_X1367_ID_UNIQUE_ID, "0000");
 *	mm_x1367_set_transmitted(r, MM_X1367_REQUESTER, req, req_len);
 *	mm_x1367_set_id(r, MM_X1367_RESPONDER, MM_X1367_ID_UNIQUE_ID, "0001");
 *	mm_x1367_set_transmitted(r, MM_X1367_RESPONDER, resp, resp_len);
 *	mm_x1367_set_code(r, 0x30, NULL);
 *	char *json = mm_x1367_encode(r, 0);   (validated; NULL if incomplete)
 *	...
 *	free(json);
 *	mm_x1367_free(r);
 *
 * Receiving one:
 *
 *	struct mm_x1367_diags d;
 *	struct mm_x1367_record *r;
 *	if (mm_x1367_decode(text, len, MM_X1367_STRICT, &r, &d) < 0)
 *		for (i = 0; i < d.n; i++)
 *			printf("%d:%d: %s: %s\n", d.v[i].line, d.v[i].col,
 *			       d.v[i].attr, d.v[i].msg);
 */
#ifndef MAMORI_X1367_H
#define MAMORI_X1367_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Annex A: the code table ---- */

/* What a code is, by where it stands in Annex A. */
enum mm_x1367_status {
	MM_X1367_ASSIGNED = 0,   /* listed in Annex A with a message */
	MM_X1367_UNASSIGNED = 1, /* inside a category but not listed (e.g. 0x13) */
	MM_X1367_RESERVED = 2,   /* 0x50-0xDF, reserved for future extension */
	MM_X1367_PRIVATE = 3,    /* 0xE0-0xEF, the sender's own meaning */
};

/* The categories (ranges) of Annex A. */
enum mm_x1367_category {
	MM_X1367_CAT_NO_ERROR = 0,      /* 0x00-0x0F */
	MM_X1367_CAT_COMMUNICATION = 1, /* 0x10-0x1F */
	MM_X1367_CAT_SECURITY = 2,      /* 0x20-0x2F */
	MM_X1367_CAT_COMMAND = 3,       /* 0x30-0x3F */
	MM_X1367_CAT_DEVICE = 4,        /* 0x40-0x4F */
	MM_X1367_CAT_RESERVED = 5,      /* 0x50-0xDF */
	MM_X1367_CAT_PRIVATE = 6,       /* 0xE0-0xEF */
	MM_X1367_CAT_OTHERS = 7,        /* 0xF0-0xFF */
};

struct mm_x1367_range {
	uint8_t lo, hi;
	enum mm_x1367_category category;
	const char *name; /* "Communication", "Reserved for future extension", ... */
};

struct mm_x1367_code {
	uint8_t code;
	const char *message;     /* "Invalid Command" */
	const char *description; /* Annex A's description */
};

/* The ranges in order (8 of them). */
const struct mm_x1367_range *mm_x1367_ranges(size_t *n);
/* The assigned codes in ascending order. */
const struct mm_x1367_code *mm_x1367_codes(size_t *n);
/* The range a code falls in (never NULL). */
const struct mm_x1367_range *mm_x1367_range_of(uint8_t code);
/* The assigned code's entry, or NULL if the code is not assigned. */
const struct mm_x1367_code *mm_x1367_code_info(uint8_t code);
enum mm_x1367_status mm_x1367_code_status(uint8_t code);
/* "assigned", "unassigned", "reserved", "private" */
const char *mm_x1367_status_name(enum mm_x1367_status s);
/* Parses a standard code as two hex digits ("30", "2f"). Returns 0 or MM_EPARSE. */
int mm_x1367_code_parse(const char *s, uint8_t *code);

/* ---- the record ---- */

enum mm_x1367_party {
	MM_X1367_REPORTER = 0,
	MM_X1367_REQUESTER = 1,
	MM_X1367_RESPONDER = 2,
};

/* The identifier attributes of Reporter, Requester and Responder. */
enum mm_x1367_idkind {
	MM_X1367_ID_UNIQUE_ID = 0,   /* "Unique ID" */
	MM_X1367_ID_UNIQUE_NAME = 1, /* "Unique Name" */
	MM_X1367_ID_IP = 2,          /* "IP Address" (IPv4 or IPv6) */
	MM_X1367_ID_MAC = 3,         /* "MAC Address" (six octets, ':' or '-') */
	MM_X1367_ID_COUNT = 4,
};
/* The attribute name of an identifier kind, exactly as the standard spells it. */
const char *mm_x1367_idkind_name(enum mm_x1367_idkind k);

/* What the lenient decoder forgave, as bits of mm_x1367_record.forgiven. */
enum mm_x1367_forgive {
	MM_X1367_F_TRAILING_COMMA = 1 << 0, /* a comma before '}' or ']' */
	MM_X1367_F_NONHEX_CODE = 1 << 1,    /* Transmitted Code not an even run of hex digits */
	MM_X1367_F_EXTRA_ATTR = 1 << 2,     /* attributes the standard does not define */
	MM_X1367_F_TIMESTAMP = 1 << 3,      /* timestamp not UTC RFC 3339 with a fraction */
	MM_X1367_F_CODE_FORM = 1 << 4,      /* Error Code not two hex digits ("0x30", "3") */
	MM_X1367_F_MESSAGE = 1 << 5,        /* Error Message differs from the standard one */
	MM_X1367_F_DUPLICATE = 1 << 6,      /* an attribute given twice (the last one kept) */
	MM_X1367_F_IDENTIFIER = 1 << 7,     /* an identifier missing or malformed */
	MM_X1367_F_DESCRIPTION = 1 << 8,    /* Description not an object */
	MM_X1367_F_COUNT = 9,
};
/* A short name for one forgive bit ("trailing-comma", ...), NULL if unknown. */
const char *mm_x1367_forgive_name(unsigned bit);

struct mm_x1367_party_info {
	char *id[MM_X1367_ID_COUNT]; /* NULL where absent */
	char *transmitted;           /* "Transmitted Code" as given; NULL for the reporter */
	void *extra;                 /* json_t object of attributes the standard lacks, or NULL */
};

/* A record. Strings are owned by the record (UTF-8, NUL-terminated). */
struct mm_x1367_record {
	char *timestamp;       /* as given or as set */
	struct timespec time;  /* the same instant, UTC */
	char *protocol;
	struct mm_x1367_party_info party[3]; /* indexed by enum mm_x1367_party */
	uint8_t code;
	int has_code;
	char *message;
	void *description;     /* json_t object (or any value, when lenient), or NULL */
	void *extra;           /* json_t object of attributes the standard lacks, or NULL */
	unsigned forgiven;     /* enum mm_x1367_forgive bits (lenient decode) */
};

/* ---- diagnostics ---- */

#define MM_X1367_MAX_DIAGS 32

struct mm_x1367_diag {
	int line, col;   /* 1-based position in the decoded text; 0 when not known */
	char attr[64];   /* "Requester/Transmitted Code", "" for the document */
	char msg[192];
	int forgiven;    /* 1: a lenient decode accepted this; 0: an error */
};

struct mm_x1367_diags {
	unsigned n;       /* diagnostics kept, at most MM_X1367_MAX_DIAGS */
	unsigned dropped; /* further diagnostics not kept */
	unsigned errors;  /* how many were errors (forgiven == 0), kept or not */
	struct mm_x1367_diag v[MM_X1367_MAX_DIAGS];
};

/* ---- builder ---- */

struct mm_x1367_record *mm_x1367_new(void);
void mm_x1367_free(struct mm_x1367_record *r);
/* Sets Timestamp from ts (UTC, RFC 3339, nanoseconds trimmed to what is needed
 * but at least one fraction digit). */
int mm_x1367_set_time(struct mm_x1367_record *r, const struct timespec *ts);
int mm_x1367_set_protocol(struct mm_x1367_record *r, const char *protocol);
/* Sets one identifier of a party; value NULL removes it. MM_EINVAL for an IP or
 * MAC address that does not parse. */
int mm_x1367_set_id(struct mm_x1367_record *r, enum mm_x1367_party p,
		    enum mm_x1367_idkind k, const char *value);
/* Sets Transmitted Code of the requester or responder to the hex of raw bytes. */
int mm_x1367_set_transmitted(struct mm_x1367_record *r, enum mm_x1367_party p,
			     const void *raw, size_t len);
/* Sets Error Code and Error Message. message NULL takes the standard message
 * for an assigned code; unassigned, reserved and private codes need one. */
int mm_x1367_set_code(struct mm_x1367_record *r, uint8_t code, const char *message);
/* Adds a string remark to Description. */
int mm_x1367_set_description(struct mm_x1367_record *r, const char *key, const char *value);

/* ---- validate, decode, encode ---- */

enum mm_x1367_mode {
	MM_X1367_STRICT = 0,
	MM_X1367_LENIENT = 1,
};

/* Checks a record built or decoded against the standard's rules (strictly).
 * Returns 0, or MM_EINVALID with the problems in *d (d may be NULL). */
int mm_x1367_validate(const struct mm_x1367_record *r, struct mm_x1367_diags *d);

/*
 * Decodes one record from JSON text of len bytes (need not be NUL-terminated).
 * Strict mode rejects anything the standard does not allow; lenient mode
 * accepts what real senders emit (see enum mm_x1367_forgive) and marks the
 * record. Returns 0 and *out (caller frees), or MM_EPARSE (not JSON),
 * MM_EINVALID (JSON, but not a valid record), MM_ETOOBIG, MM_ENOMEM; on error
 * *out is NULL. *d always holds every problem found, errors and forgiven ones,
 * with line, column and attribute. d may be NULL.
 */
int mm_x1367_decode(const char *text, size_t len, enum mm_x1367_mode mode,
		    struct mm_x1367_record **out, struct mm_x1367_diags *d);

/* Encoding flags. */
#define MM_X1367_ENC_PRETTY 1 /* indented, one attribute a line */

/*
 * Returns the record as JSON (malloc'd, caller frees) with the standard's
 * attributes in the standard's order, then any extra attributes. A record
 * that does not validate gives NULL unless it came from a lenient decode,
 * whose forgiven content is written as received.
 */
char *mm_x1367_encode(const struct mm_x1367_record *r, int flags);

/* Parses an RFC 3339 timestamp into *ts (UTC). Returns 0 when it has the
 * form X.1367 asks for (upper-case 'T', a fraction of 1 to 9 digits, 'Z'),
 * 1 when it is a valid RFC 3339 time of another form (an offset, no
 * fraction, lower-case 't'/'z', a space for 'T'), MM_EPARSE otherwise, and for
 * a time that time_t cannot hold (after 2038 where time_t has 32 bits). */
int mm_x1367_time_parse(const char *s, struct timespec *ts);
/* Writes ts as X.1367 wants it into out (at least 32 bytes):
 * "2018-08-28T09:34:55.0Z", with as many fraction digits as needed (1 to 9). */
int mm_x1367_time_format(const struct timespec *ts, char *out, size_t size);

/* Maximum size of one record's JSON text accepted by mm_x1367_decode(). */
#define MM_X1367_MAX_TEXT (1024 * 1024)

#ifdef __cplusplus
}
#endif
#endif
