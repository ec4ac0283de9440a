/*
 * Rendered pages, kept in memory until the post index changes: a generated
 * page is built and rendered once per index version and protocol, then sent
 * from here by reference, without a copy.
 */
#ifndef GAZETTE_CACHE_H
#define GAZETTE_CACHE_H

#include <stddef.h>
#include <event2/buffer.h>

struct cache;

/* A cache holding at most budget bytes of pages. */
struct cache *cache_new(size_t budget);
void cache_free(struct cache *c);

/*
 * Adds the page cached under key for this index version to out, by
 * reference, and returns its status; -1 when there is none. A different
 * version than the cache holds empties it first.
 */
int cache_send(struct cache *c, unsigned long version, const char *key,
    struct evbuffer *out);

/* Keeps a copy of page (the whole response) under key, if it fits the budget. */
void cache_put(struct cache *c, unsigned long version, const char *key, int status,
    const struct evbuffer *page);

#endif
