/*
 * Bounded buffers, hex and UTF-8 helpers. See include/mamori/buf.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/buf.h"
#include "mamori/error.h"

void mm_buf_init(struct mm_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void mm_buf_free(struct mm_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void mm_buf_reset(struct mm_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

int mm_buf_reserve(struct mm_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (n > b->max || b->len > b->max - n)
		return MM_ETOOBIG;
	need = b->len + n + 1; /* room for the NUL */
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap - 1 > b->max) /* written so that max == SIZE_MAX cannot wrap */
		cap = b->max + 1;
	if ((p = realloc(b->data, cap)) == NULL)
		return MM_ENOMEM;
	b->data = p;
	b->cap = cap;
	b->data[b->len] = '\0';
	return 0;
}

int mm_buf_append(struct mm_buf *b, const void *p, size_t len)
{
	int rc;

	if ((rc = mm_buf_reserve(b, len)) < 0)
		return rc;
	if (len)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int mm_buf_putc(struct mm_buf *b, char c)
{
	return mm_buf_append(b, &c, 1);
}

int mm_buf_puts(struct mm_buf *b, const char *s)
{
	return mm_buf_append(b, s, strlen(s));
}

int mm_buf_vprintf(struct mm_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n, rc;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return MM_EINVAL;
	if ((rc = mm_buf_reserve(b, (size_t)n)) < 0)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int mm_buf_printf(struct mm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = mm_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void mm_buf_consume(struct mm_buf *b, size_t n)
{
	if (n >= b->len) {
		mm_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *mm_buf_steal(struct mm_buf *b)
{
	char *p = b->data;

	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

int mm_hex_encode(struct mm_buf *b, const void *p, size_t len)
{
	static const char digits[] = "0123456789ABCDEF";
	const uint8_t *s = p;
	size_t i;
	int rc;

	if (len > SIZE_MAX / 2)
		return MM_ETOOBIG;
	if ((rc = mm_buf_reserve(b, len * 2)) < 0)
		return rc;
	for (i = 0; i < len; i++) {
		b->data[b->len++] = digits[s[i] >> 4];
		b->data[b->len++] = digits[s[i] & 15];
	}
	b->data[b->len] = '\0';
	return 0;
}

int mm_hex_valid(const char *s, size_t len)
{
	size_t i;

	if (len % 2)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

size_t mm_utf8_check(const void *p, size_t len)
{
	const uint8_t *s = p;
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
			min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
			min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return i;
		}
		if (len - i - 1 < n)
			return i;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += n + 1;
	}
	return len;
}
