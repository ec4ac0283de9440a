/* A hash table from strings to pointers (open addressing, linear probing). */
#ifndef GAZETTE_STRMAP_H
#define GAZETTE_STRMAP_H

#include <stddef.h>

struct strmap_slot {
	const char *key;	/* NULL: empty; the caller owns the key's memory */
	void *value;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap;		/* a power of two, or 0 */
	size_t n;
	size_t used;		/* n plus deleted slots still occupying probes */
};

void strmap_init(struct strmap *m);
void strmap_clear(struct strmap *m);
void *strmap_get(const struct strmap *m, const char *key);
/* Inserts or replaces; key must live as long as the entry. -1 when out of memory. */
int strmap_put(struct strmap *m, const char *key, void *value);
/* Makes room for n more entries at once (no growing as they come); -1 when out of memory. */
int strmap_reserve(struct strmap *m, size_t n);
/* Removes key; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);
/* Iterates: start with *i = 0; returns 0 at the end. */
int strmap_next(const struct strmap *m, size_t *i, const char **key, void **value);

#endif
