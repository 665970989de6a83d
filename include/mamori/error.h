/*
 * Error codes shared by every libmamori module.
 *
 * Functions return 0 on success or one of the negative MM_E* values below;
 * callers pass the value up unchanged. mm_strerror() gives the short text.
 */
#ifndef MAMORI_ERROR_H
#define MAMORI_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum mm_err {
	MM_OK = 0,
	MM_ENOMEM = -1,    /* an allocation failed */
	MM_EINVAL = -2,    /* a caller passed an argument out of contract */
	MM_EPARSE = -3,    /* input is malformed */
	MM_ETOOBIG = -4,   /* input or output is larger than its configured maximum */
	MM_EIO = -5,       /* a system call failed; errno holds why */
	MM_ENOTFOUND = -6, /* the thing looked up does not exist */
	MM_EAGAIN = -7,    /* more input is needed */
	MM_EUTF8 = -8,     /* text is not valid UTF-8 */
	MM_EFULL = -9,     /* a bounded table or queue is full */
	MM_EINVALID = -10, /* input parsed but breaks the format's rules */
};

/* Returns a static, human-readable text for an MM_E* code. */
const char *mm_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
