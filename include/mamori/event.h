/*
 * mamori events: the JSON objects that every part of mamori sends as the
 * MSG of an RFC 5424 message, named by their top-level "event" member
 * ("guard.exec.denied"; see docs/ARCHITECTURE.md, Events).
 *
 * mm_event_peek() is the one quick pass that tells, without building the
 * document, whether a text is JSON and what its top level holds: the
 * event's name, and whether it looks like an X.1367 record ("Error Code").
 * `mamori send` uses it to choose a line's MSGID and mamori-soc to classify
 * what it receives.
 *
 *	struct mm_event_peek k;
 *	if (mm_event_peek(text, len, &k) == 0 && k.json && k.event_string)
 *		printf("a mamori event named %s\n", k.name);
 */
#ifndef MAMORI_EVENT_H
#define MAMORI_EVENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The longest event name kept; longer ones are reported by name_len only. */
#define MM_EVENT_NAME_MAX 127
/* Deeper nesting is refused (too_deep), so that no input costs unbounded work. */
#define MM_EVENT_MAX_DEPTH 64

struct mm_event_peek {
	int json;            /* 1: the text is one whole, valid JSON value */
	int too_deep;        /* it nests deeper than MM_EVENT_MAX_DEPTH (json is 0) */
	int has_event;       /* the top-level object has an "event" member */
	int event_string;    /* ... whose value is a string */
	size_t name_len;     /* that string's length in bytes */
	char name[MM_EVENT_NAME_MAX + 1]; /* the string when name_len <= MM_EVENT_NAME_MAX
					     (it may hold a NUL: compare name_len) */
	int has_error_code;  /* the top-level object has an "Error Code" member */
};

/* Looks at len bytes of text in one pass. Returns 0 with *k filled (k->json
 * says whether it was JSON at all), or MM_ENOMEM. */
int mm_event_peek(const char *text, size_t len, struct mm_event_peek *k);

#ifdef __cplusplus
}
#endif
#endif
