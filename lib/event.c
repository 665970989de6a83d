/*
 * mm_event_peek(): one pass of yajl's event parser over a text, keeping only
 * what the top level says (see mamori/event.h). Nothing is built.
 */
#include <string.h>

#include <yajl/yajl_parse.h>

#include "mamori/error.h"
#include "mamori/event.h"

struct peek {
	struct mm_event_peek *k;
	int depth;
	int at_event; /* the last top-level key was "event" */
};

static int pk_value(void *ctx)
{
	((struct peek *)ctx)->at_event = 0;
	return 1;
}
static int pk_null(void *ctx) { return pk_value(ctx); }
static int pk_bool(void *ctx, int b) { (void)b; return pk_value(ctx); }
static int pk_number(void *ctx, const char *v, size_t n)
{
	(void)v;
	(void)n;
	return pk_value(ctx);
}

static int pk_string(void *ctx, const unsigned char *v, size_t n)
{
	struct peek *p = ctx;

	if (p->at_event && p->depth == 1) {
		p->k->event_string = 1;
		p->k->name_len = n;
		if (n <= MM_EVENT_NAME_MAX) {
			memcpy(p->k->name, v, n);
			p->k->name[n] = '\0';
		}
	}
	p->at_event = 0;
	return 1;
}

static int pk_key(void *ctx, const unsigned char *key, size_t n)
{
	struct peek *p = ctx;

	p->at_event = p->depth == 1 && n == 5 && memcmp(key, "event", 5) == 0;
	if (p->at_event)
		p->k->has_event = 1;
	if (p->depth == 1 && n == 10 && memcmp(key, "Error Code", 10) == 0)
		p->k->has_error_code = 1;
	return 1;
}

static int pk_open(void *ctx)
{
	struct peek *p = ctx;

	p->at_event = 0;
	if (++p->depth > MM_EVENT_MAX_DEPTH) {
		p->k->too_deep = 1;
		return 0; /* stops the parse */
	}
	return 1;
}

static int pk_close(void *ctx)
{
	((struct peek *)ctx)->depth--;
	return 1;
}

static const yajl_callbacks peek_callbacks = {
	.yajl_null = pk_null,
	.yajl_boolean = pk_bool,
	.yajl_number = pk_number,
	.yajl_string = pk_string,
	.yajl_start_map = pk_open,
	.yajl_map_key = pk_key,
	.yajl_end_map = pk_close,
	.yajl_start_array = pk_open,
	.yajl_end_array = pk_close,
};

int mm_event_peek(const char *text, size_t len, struct mm_event_peek *k)
{
	struct peek p = {.k = k};
	yajl_handle h;

	memset(k, 0, sizeof *k);
	if ((h = yajl_alloc(&peek_callbacks, NULL, &p)) == NULL)
		return MM_ENOMEM;
	k->json = yajl_parse(h, (const unsigned char *)text, len) == yajl_status_ok &&
		  yajl_complete_parse(h) == yajl_status_ok && !k->too_deep;
	yajl_free(h);
	return 0;
}
