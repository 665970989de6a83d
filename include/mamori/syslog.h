/*
 * Syslog messages: RFC 5424 parse and encode, RFC 3164 parse.
 *
 * Parsing is zero-copy: every field of struct mm_syslog_msg points into the
 * caller's input, which must outlive the parsed message. Nothing is
 * allocated, so a parse costs no malloc. Structured-data parameter values are
 * kept escaped as they were on the wire; mm_syslog_sd_unescape() decodes one.
 *
 *	struct mm_syslog_msg m;
 *	int rc = mm_syslog_parse(buf, len, MM_SYSLOG_AUTO, &m);
 *	if (rc < 0)
 *		printf("bad syslog at byte %zu: %s\n", m.err_off, m.err);
 *	else if (m.msgid.len == 5 && memcmp(m.msgid.p, "X1367", 5) == 0)
 *		... m.msg.p, m.msg.len is the X.1367 record ...
 */
#ifndef MAMORI_SYSLOG_H
#define MAMORI_SYSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mamori/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed bounds of one parsed message; a message past them is MM_ETOOBIG. */
#define MM_SYSLOG_MAX_SD_ELEMENTS 16
#define MM_SYSLOG_MAX_SD_PARAMS 64 /* over all elements of one message */

/* A slice of the input. p is NULL when the field is absent or NILVALUE ("-"). */
struct mm_str {
	const char *p;
	size_t len;
};

struct mm_sd_param {
	struct mm_str name;
	struct mm_str value; /* as on the wire, still escaped */
	int escaped;         /* 1 if value holds a backslash escape */
};

struct mm_sd_element {
	struct mm_str id;
	unsigned first_param; /* index into mm_syslog_msg.params */
	unsigned nparams;
};

/* A point in time as a syslog header carried it. */
struct mm_syslog_time {
	int present;       /* 0 when NILVALUE or missing */
	int year;          /* 0 when the format did not carry a year (RFC 3164) */
	int month, day, hour, minute, second;
	long nsec;         /* fraction of a second, in nanoseconds */
	int frac_digits;   /* how many fraction digits were given (0..9) */
	int has_offset;    /* 1 if a UTC offset or Z was given */
	int offset_min;    /* offset from UTC in minutes (Z is 0) */
};

enum mm_syslog_format {
	MM_SYSLOG_RFC5424 = 5424,
	MM_SYSLOG_RFC3164 = 3164,
};

/* Lenient RFC 3164 parses note what they had to guess, as bits of .quirks. */
enum mm_syslog_quirk {
	MM_SYSLOG_Q_NO_PRI = 1 << 0,       /* no <PRI>; the default 13 was assumed */
	MM_SYSLOG_Q_NO_TIMESTAMP = 1 << 1, /* no timestamp */
	MM_SYSLOG_Q_NO_HOSTNAME = 1 << 2,  /* no HOSTNAME: the token after the time was
					      the tag or content, or there was no time */
	MM_SYSLOG_Q_YEAR = 1 << 3,         /* the timestamp carried a year */
	MM_SYSLOG_Q_FRACTION = 1 << 4,     /* the time had a fraction of a second */
	MM_SYSLOG_Q_RFC3339 = 1 << 5,      /* RFC 3339 timestamp in a 3164 header */
	MM_SYSLOG_Q_CISCO = 1 << 6,        /* Cisco-style sequence number, '*' or '.' mark,
					      or ':' after the time */
	MM_SYSLOG_Q_TZ = 1 << 7,           /* a time zone name followed the time */
	MM_SYSLOG_Q_TRAILER = 1 << 8,      /* trailing LF, CR or NUL removed */
};

struct mm_syslog_msg {
	enum mm_syslog_format format;
	int pri;      /* 0..191 */
	int facility; /* pri / 8 */
	int severity; /* pri % 8 */
	int version;  /* RFC 5424 VERSION, 0 for RFC 3164 */
	struct mm_str timestamp; /* the timestamp text as received */
	struct mm_syslog_time time;
	struct mm_str hostname, app_name, procid, msgid;
	unsigned nelements;
	struct mm_sd_element elements[MM_SYSLOG_MAX_SD_ELEMENTS];
	unsigned nparams;
	struct mm_sd_param params[MM_SYSLOG_MAX_SD_PARAMS];
	struct mm_str msg;  /* MSG without the BOM; p is NULL when there is no MSG */
	int msg_bom;        /* 1 if MSG began with the UTF-8 BOM */
	int msg_utf8;       /* 1 if MSG is valid UTF-8 */
	unsigned quirks;    /* enum mm_syslog_quirk bits (RFC 3164 only) */
	/* On error: where (byte offset into the input) and what went wrong. */
	size_t err_off;
	const char *err;
};

enum mm_syslog_parse_mode {
	MM_SYSLOG_AUTO = 0, /* RFC 5424 when the header says VERSION, else RFC 3164 */
	MM_SYSLOG_ONLY_5424 = 1,
	MM_SYSLOG_ONLY_3164 = 2,
};

/*
 * Parses one syslog message of len bytes (not NUL-terminated).
 * Returns 0 and fills *m, or a negative MM_E* code with m->err and m->err_off
 * set: MM_EPARSE for a malformed header, MM_EUTF8 when a BOM-marked MSG or an
 * SD parameter value is not valid UTF-8, MM_ETOOBIG past the SD bounds above.
 * RFC 5424 is parsed strictly; RFC 3164 leniently (see enum mm_syslog_quirk).
 */
int mm_syslog_parse(const void *buf, size_t len, enum mm_syslog_parse_mode mode,
		    struct mm_syslog_msg *m);

/* Decodes an escaped SD-PARAM value ("\\\"", "\\\\", "\\]" become the
 * character; any other backslash stays) into out. Returns 0 or MM_ETOOBIG. */
int mm_syslog_sd_unescape(const struct mm_str *value, struct mm_buf *out);

/* The fields of a message to encode as RFC 5424. NULL or empty strings are
 * written as NILVALUE. */
struct mm_syslog_out_param {
	const char *name;
	const char *value; /* unescaped; the encoder escapes '"', '\\' and ']' */
};
struct mm_syslog_out_element {
	const char *id;
	const struct mm_syslog_out_param *params;
	unsigned nparams;
};
struct mm_syslog_out {
	int pri;                      /* 0..191 */
	const struct timespec *time;  /* NULL: NILVALUE; written in UTC with microseconds */
	const char *hostname, *app_name, *procid, *msgid;
	const struct mm_syslog_out_element *elements;
	unsigned nelements;
	const void *msg;              /* may be NULL */
	size_t msg_len;
	int msg_bom;                  /* 1: write the UTF-8 BOM before MSG (MSG must be UTF-8) */
};

/*
 * Appends the RFC 5424 form of *o to out (no framing, no trailing LF).
 * Returns 0, MM_EINVAL when a field breaks RFC 5424 (PRI range, header field
 * length or characters, SD-NAME characters, a non-UTF-8 value or BOM MSG),
 * MM_ETOOBIG when out's maximum is reached. On error out is unchanged.
 */
int mm_syslog_encode(const struct mm_syslog_out *o, struct mm_buf *out);

#ifdef __cplusplus
}
#endif
#endif
