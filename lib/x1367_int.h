/*
 * Internal to the x1367 module: the checks shared by the builder's
 * mm_x1367_validate() and the JSON decoder, and how they report.
 */
#ifndef MAMORI_X1367_INT_H
#define MAMORI_X1367_INT_H

#include "mamori/x1367.h"

/* Where the checks report to. pos (may be NULL) finds the line and column of
 * an attribute path ("Requester/IP Address") in the decoded text. */
struct x1367_ctx {
	enum mm_x1367_mode mode;
	struct mm_x1367_diags *d;
	void (*pos)(void *arg, const char *attr, int *line, int *col);
	void *arg;
	unsigned forgiven; /* forgive bits used */
	unsigned errors;   /* errors found, kept in d or not */
	unsigned bad;      /* X_BAD_* bits: present but unusable, so not "missing" */
	struct timespec time; /* Timestamp as x1367_check() read it, 0 if it could not */
};

/* Attributes the decoder found present but of the wrong type or form. */
#define X_BAD_TIMESTAMP (1u << 0)
#define X_BAD_PROTOCOL (1u << 1)
#define X_BAD_PARTY(p) (1u << (2 + (p)))       /* Reporter, Requester, Responder */
#define X_BAD_TRANSMITTED(p) (1u << (5 + (p)))
#define X_BAD_CODE (1u << 8)
#define X_BAD_MESSAGE (1u << 9)

/*
 * Reports a problem with attr. forgive is the enum mm_x1367_forgive bit a
 * lenient decode may accept it under, or 0 for a problem no mode accepts.
 */
void x1367_report(struct x1367_ctx *c, const char *attr, unsigned forgive, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));
/* Same, at an explicit position (for problems found before attributes exist). */
void x1367_report_at(struct x1367_ctx *c, int line, int col, const char *attr, unsigned forgive,
		     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Runs every content rule of the standard on r. */
void x1367_check(const struct mm_x1367_record *r, struct x1367_ctx *c);

/* The standard's attribute names. */
#define X_TIMESTAMP "Timestamp"
#define X_REPORTER "Reporter"
#define X_PROTOCOL "Protocol"
#define X_REQUESTER "Requester"
#define X_RESPONDER "Responder"
#define X_ERROR_CODE "Error Code"
#define X_ERROR_MESSAGE "Error Message"
#define X_DESCRIPTION "Description"
#define X_TRANSMITTED "Transmitted Code"

extern const char *const x1367_party_names[3];

#endif
