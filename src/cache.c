/*
 * A page may still be on its way to a slow client when the index changes or
 * the budget pushes it out: each page counts the buffers that reference it and
 * is freed when the last lets go. Eviction is oldest first; the budget bounds
 * memory, not the hit rate, which for a capsule's few hot pages stays high.
 */
#include "cache.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "strmap.h"

struct page {
	TAILQ_ENTRY(page) entry;
	int refs;		/* buffers still sending it */
	bool cached;		/* still in the map */
	int status;
	size_t len;
	char *key;
	char data[];
};

TAILQ_HEAD(page_list, page);

struct cache {
	struct strmap map;
	struct page_list order;	/* oldest first */
	size_t bytes, budget;
	unsigned long version;
};

struct cache *
cache_new(size_t budget)
{
	struct cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	strmap_init(&c->map);
	TAILQ_INIT(&c->order);
	c->budget = budget;
	return c;
}

static void
page_release(struct page *p)
{
	if (p->refs == 0 && !p->cached)
		free(p);
}

static void
evict(struct cache *c, struct page *p)
{
	strmap_del(&c->map, p->key);
	TAILQ_REMOVE(&c->order, p, entry);
	c->bytes -= p->len;
	p->cached = false;
	page_release(p);
}

static void
clear(struct cache *c)
{
	struct page *p;

	while ((p = TAILQ_FIRST(&c->order)) != NULL)
		evict(c, p);
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	clear(c);
	strmap_clear(&c->map);
	free(c);
}

/* libevent calls this when a buffer has sent or dropped the referenced bytes. */
static void
unref(const void *data, size_t len, void *arg)
{
	struct page *p = arg;

	(void)data;
	(void)len;
	p->refs--;
	page_release(p);
}

int
cache_send(struct cache *c, unsigned long version, const char *key, struct evbuffer *out)
{
	struct page *p;

	if (version != c->version) {
		clear(c);
		c->version = version;
		return -1;
	}
	if ((p = strmap_get(&c->map, key)) == NULL)
		return -1;
	if (evbuffer_add_reference(out, p->data, p->len, unref, p) == -1)
		return -1;
	p->refs++;
	return p->status;
}

void
cache_put(struct cache *c, unsigned long version, const char *key, int status,
    const struct evbuffer *page)
{
	size_t len = evbuffer_get_length(page), klen = strlen(key);
	struct page *p;

	if (version != c->version || len > c->budget || strmap_get(&c->map, key) != NULL)
		return;
	while (c->bytes + len > c->budget && !TAILQ_EMPTY(&c->order))
		evict(c, TAILQ_FIRST(&c->order));
	if ((p = malloc(sizeof(*p) + len + klen + 1)) == NULL)
		return;
	p->refs = 0;
	p->cached = true;
	p->status = status;
	p->len = len;
	p->key = p->data + len;
	memcpy(p->key, key, klen + 1);
	if (evbuffer_copyout((struct evbuffer *)page, p->data, len) != (ev_ssize_t)len ||
	    strmap_put(&c->map, p->key, p) == -1) {
		free(p);
		return;
	}
	TAILQ_INSERT_TAIL(&c->order, p, entry);
	c->bytes += len;
}
