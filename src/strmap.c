/*
 * Keys come from the content author (post file names), never from requests,
 * so an ordinary hash is enough: a request can only look keys up, and lookups
 * cannot make probe chains longer.
 */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A deleted slot keeps probing alive until the next resize. */
static const char tombstone[] = "";

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

void
strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
strmap_clear(struct strmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static struct strmap_slot *
find(const struct strmap *m, const char *key)
{
	size_t i, mask;

	if (m->cap == 0)
		return NULL;
	mask = m->cap - 1;
	for (i = hash(key) & mask;; i = (i + 1) & mask) {
		struct strmap_slot *s = &m->slots[i];
		if (s->key == NULL)
			return NULL;
		if (s->key != tombstone && strcmp(s->key, key) == 0)
			return s;
	}
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_slot *s = find(m, key);

	return s ? s->value : NULL;
}

/* Moves the entries into cap slots, which sweeps the tombstones. */
static int
rehash(struct strmap *m, size_t cap)
{
	struct strmap_slot *old = m->slots, *slots;
	size_t oldcap = m->cap, i, j;

	if ((slots = calloc(cap, sizeof(*slots))) == NULL)
		return -1;
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == NULL || old[i].key == tombstone)
			continue;
		for (j = hash(old[i].key) & (cap - 1); slots[j].key != NULL; j = (j + 1) & (cap - 1))
			;
		slots[j] = old[i];
	}
	free(old);
	m->slots = slots;
	m->cap = cap;
	m->used = m->n;
	return 0;
}

static int
grow(struct strmap *m)
{
	/* Double when full of live entries, else just sweep the tombstones. */
	return rehash(m, m->n * 2 >= m->cap ? (m->cap ? m->cap * 2 : 16) : m->cap);
}

int
strmap_reserve(struct strmap *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 16;

	while ((m->n + n) * 4 > cap * 3)
		cap *= 2;
	return cap == m->cap ? 0 : rehash(m, cap);
}

int
strmap_put(struct strmap *m, const char *key, void *value)
{
	struct strmap_slot *s;
	size_t i, mask;

	if ((s = find(m, key)) != NULL) {
		s->key = key;
		s->value = value;
		return 0;
	}
	/* Keep the load under 3/4, so probes stay short. */
	if ((m->used + 1) * 4 > m->cap * 3 && grow(m) == -1)
		return -1;
	mask = m->cap - 1;
	for (i = hash(key) & mask; m->slots[i].key != NULL && m->slots[i].key != tombstone;
	    i = (i + 1) & mask)
		;
	if (m->slots[i].key == NULL)
		m->used++;
	m->slots[i].key = key;
	m->slots[i].value = value;
	m->n++;
	return 0;
}

void *
strmap_del(struct strmap *m, const char *key)
{
	struct strmap_slot *s = find(m, key);
	void *v;

	if (s == NULL)
		return NULL;
	v = s->value;
	s->key = tombstone;
	s->value = NULL;
	m->n--;
	return v;
}

int
strmap_next(const struct strmap *m, size_t *i, const char **key, void **value)
{
	for (; *i < m->cap; (*i)++) {
		const struct strmap_slot *s = &m->slots[*i];
		if (s->key != NULL && s->key != tombstone) {
			*key = s->key;
			*value = s->value;
			(*i)++;
			return 1;
		}
	}
	return 0;
}
