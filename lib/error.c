#include "mamori/error.h"

const char *mm_strerror(int err)
{
	switch (err) {
	case MM_OK: return "success";
	case MM_ENOMEM: return "out of memory";
	case MM_EINVAL: return "invalid argument";
	case MM_EPARSE: return "malformed input";
	case MM_ETOOBIG: return "too large";
	case MM_EIO: return "input/output error";
	case MM_ENOTFOUND: return "not found";
	case MM_EAGAIN: return "more input needed";
	case MM_EUTF8: return "invalid UTF-8";
	case MM_EFULL: return "table full";
	case MM_EINVALID: return "invalid content";
	default: return "unknown error";
	}
}
