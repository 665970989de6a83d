/*
 * Bounded buffers and a length-checked read cursor.
 *
 * Every dynamic buffer in mamori is created with a maximum size and fails
 * cleanly (MM_ETOOBIG) past it. Untrusted bytes are read through an mm_cur,
 * which never hands out a byte beyond its end.
 *
 *	struct mm_buf b;
 *	mm_buf_init(&b, 64 * 1024);
 *	if (mm_buf_append(&b, data, len) < 0)
 *		goto fail;
 *	...
 *	mm_buf_free(&b);
 */
#ifndef MAMORI_BUF_H
#define MAMORI_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mm_buf {
	char *data;  /* always NUL-terminated when non-NULL */
	size_t len;  /* bytes used, not counting the terminating NUL */
	size_t cap;  /* bytes allocated */
	size_t max;  /* the most len may ever be */
};

/* Prepares an empty buffer that may grow up to max bytes. Allocates nothing. */
void mm_buf_init(struct mm_buf *b, size_t max);
/* Releases the memory; the buffer is empty and usable again afterwards. */
void mm_buf_free(struct mm_buf *b);
/* Forgets the content and keeps the allocation. */
void mm_buf_reset(struct mm_buf *b);
/* Makes room for n more bytes: 0, MM_ETOOBIG past max, MM_ENOMEM. */
int mm_buf_reserve(struct mm_buf *b, size_t n);
/* Appends len bytes: 0, MM_ETOOBIG (nothing appended), MM_ENOMEM. */
int mm_buf_append(struct mm_buf *b, const void *p, size_t len);
int mm_buf_putc(struct mm_buf *b, char c);
int mm_buf_puts(struct mm_buf *b, const char *s);
/* Appends formatted text; on failure the buffer is left as it was. */
int mm_buf_printf(struct mm_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int mm_buf_vprintf(struct mm_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Removes the first n bytes (n <= len), moving the rest to the front. */
void mm_buf_consume(struct mm_buf *b, size_t n);
/* Hands the allocation to the caller (NUL-terminated, may be NULL when empty)
 * and leaves the buffer empty. */
char *mm_buf_steal(struct mm_buf *b);

/* A read cursor over bytes it does not own. */
struct mm_cur {
	const uint8_t *p;
	size_t len;
	size_t pos;
};

static inline void mm_cur_init(struct mm_cur *c, const void *p, size_t len)
{
	c->p = (const uint8_t *)p;
	c->len = len;
	c->pos = 0;
}
static inline size_t mm_cur_left(const struct mm_cur *c) { return c->len - c->pos; }
static inline int mm_cur_eof(const struct mm_cur *c) { return c->pos >= c->len; }
/* The next byte, or -1 at the end. */
static inline int mm_cur_peek(const struct mm_cur *c)
{
	return c->pos < c->len ? c->p[c->pos] : -1;
}
/* Takes the next byte, or returns -1 at the end. */
static inline int mm_cur_getc(struct mm_cur *c)
{
	return c->pos < c->len ? c->p[c->pos++] : -1;
}
/* Takes the next byte if it equals ch; returns 1 if it did. */
static inline int mm_cur_accept(struct mm_cur *c, int ch)
{
	if (c->pos < c->len && c->p[c->pos] == (uint8_t)ch) {
		c->pos++;
		return 1;
	}
	return 0;
}
/* Points *out at the next n bytes and skips them: 0, or MM_EPARSE if fewer remain. */
static inline int mm_cur_take(struct mm_cur *c, size_t n, const uint8_t **out)
{
	if (n > c->len - c->pos)
		return -3; /* MM_EPARSE */
	*out = c->p + c->pos;
	c->pos += n;
	return 0;
}

/* The value of one hex digit (either case), or -1 if ch is not one. */
static inline int mm_hex_digit(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Writes len bytes as upper-case hex into b. */
int mm_hex_encode(struct mm_buf *b, const void *p, size_t len);
/* Returns 1 if s[0..len) is an even number of hex digits (either case). */
int mm_hex_valid(const char *s, size_t len);

/* Validates UTF-8 (RFC 3629: no overlongs, no surrogates, max U+10FFFF).
 * Returns the byte offset of the first invalid sequence, or len if all valid. */
size_t mm_utf8_check(const void *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif
