/*
 * The verdict cache: a bounded LRU keyed by what identifies a file's
 * content without reading it (device, inode, size, mtime, ctime). A write
 * to the file changes mtime and ctime, a replacement changes the inode, so
 * a cached verdict is never about other bytes than those it was made for.
 *
 * All max nodes are allocated at once; a hash table of chains (indices)
 * finds a node, a doubly linked list (indices) keeps them from the most to
 * the least recently used, and a full cache reuses the tail. Nothing is
 * allocated after vcache_new(), so a lookup in the exec path costs no
 * malloc.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/error.h"

#include "agent.h"

#define NIL UINT32_MAX
#define VCACHE_MAX (1u << 24)

struct vnode {
	struct vkey k;
	uint32_t prev, next; /* LRU list */
	uint32_t chain;      /* next in the bucket */
	uint32_t v;          /* enum verdict */
};

struct vcache {
	struct vnode *nodes;
	uint32_t *buckets;
	size_t max, nbuckets, n;
	uint32_t head, tail; /* most and least recently used */
};

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static size_t bucket_of(const struct vcache *c, const struct vkey *k)
{
	uint64_t h = 0;

	h = mix(h, k->dev);
	h = mix(h, k->ino);
	h = mix(h, k->size);
	h = mix(h, (uint64_t)k->mtime_ns);
	h = mix(h, (uint64_t)k->ctime_ns);
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)(h & (c->nbuckets - 1));
}

static int same(const struct vkey *a, const struct vkey *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

/*
 * Makes a cache of at most max verdicts (1 to 2^24). Returns 0, MM_EINVAL
 * or MM_ENOMEM. Example:
 *
 *	struct vcache *c;
 *	if (vcache_new(4096, &c) == 0) { vcache_put(c, &k, V_ALLOW); ... vcache_free(c); }
 */
int vcache_new(size_t max, struct vcache **out)
{
	struct vcache *c;

	*out = NULL;
	if (max == 0 || max > VCACHE_MAX)
		return MM_EINVAL;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return MM_ENOMEM;
	c->max = max;
	c->nbuckets = 1;
	while (c->nbuckets < max)
		c->nbuckets <<= 1;
	c->nodes = calloc(max, sizeof *c->nodes);
	c->buckets = malloc(c->nbuckets * sizeof *c->buckets);
	if (c->nodes == NULL || c->buckets == NULL) {
		vcache_free(c);
		return MM_ENOMEM;
	}
	vcache_clear(c);
	*out = c;
	return 0;
}

void vcache_free(struct vcache *c)
{
	if (c == NULL)
		return;
	free(c->nodes);
	free(c->buckets);
	free(c);
}

/* Forgets every verdict (a new feed may change any of them). */
void vcache_clear(struct vcache *c)
{
	for (size_t i = 0; i < c->nbuckets; i++)
		c->buckets[i] = NIL;
	c->head = c->tail = NIL;
	c->n = 0;
}

size_t vcache_count(const struct vcache *c)
{
	return c->n;
}

static void unlink_lru(struct vcache *c, uint32_t i)
{
	struct vnode *x = &c->nodes[i];

	if (x->prev != NIL)
		c->nodes[x->prev].next = x->next;
	else
		c->head = x->next;
	if (x->next != NIL)
		c->nodes[x->next].prev = x->prev;
	else
		c->tail = x->prev;
}

static void push_front(struct vcache *c, uint32_t i)
{
	struct vnode *x = &c->nodes[i];

	x->prev = NIL;
	x->next = c->head;
	if (c->head != NIL)
		c->nodes[c->head].prev = i;
	c->head = i;
	if (c->tail == NIL)
		c->tail = i;
}

static uint32_t find(const struct vcache *c, const struct vkey *k, size_t b)
{
	for (uint32_t i = c->buckets[b]; i != NIL; i = c->nodes[i].chain)
		if (same(&c->nodes[i].k, k))
			return i;
	return NIL;
}

/* Takes node i out of its bucket's chain. */
static void unchain(struct vcache *c, uint32_t i)
{
	uint32_t *pp = &c->buckets[bucket_of(c, &c->nodes[i].k)];

	while (*pp != NIL && *pp != i)
		pp = &c->nodes[*pp].chain;
	if (*pp == i)
		*pp = c->nodes[i].chain;
}

int vcache_get(struct vcache *c, const struct vkey *k, enum verdict *v)
{
	uint32_t i = find(c, k, bucket_of(c, k));

	if (i == NIL)
		return 0;
	if (c->head != i) {
		unlink_lru(c, i);
		push_front(c, i);
	}
	*v = (enum verdict)c->nodes[i].v;
	return 1;
}

void vcache_put(struct vcache *c, const struct vkey *k, enum verdict v)
{
	size_t b = bucket_of(c, k);
	uint32_t i = find(c, k, b);

	if (i != NIL) {
		c->nodes[i].v = (uint32_t)v;
		unlink_lru(c, i);
		push_front(c, i);
		return;
	}
	if (c->n < c->max) {
		i = (uint32_t)c->n++;
	} else {
		/* Full: the least recently used node makes room. */
		i = c->tail;
		unlink_lru(c, i);
		unchain(c, i);
	}
	c->nodes[i].k = *k;
	c->nodes[i].v = (uint32_t)v;
	c->nodes[i].chain = c->buckets[b];
	c->buckets[b] = i;
	push_front(c, i);
}
